import { escalationReasons, mergeActions, raise } from './activity.js';
import type { Severity } from './finding.js';
import { instanceSourceVerdict } from './reasons.js';
import type { Detector } from './types.js';

/**
 * An EC2 instance credential used from an address outside every AWS range, outside
 * private and special ranges and outside the configured egress: the credential left the box.
 *
 * A private address on a call without a VPC endpoint cannot come from a real AWS network
 * path (public endpoints only ever see public addresses): it is reported too, with low
 * confidence, because sanitised datasets and forged logs look like that.
 */
export const instanceCredentialOutsideAws: Detector = {
  id: 'instance-credential-outside-aws',
  title: 'EC2 instance credential used outside AWS',
  description:
    'An instance-profile (or instance identity) credential signed calls from an address outside all AWS ranges, ' +
    'outside private and special-purpose ranges and outside allowedSourceCidrs.',
  attack: { technique: 'T1552.005', analytic: 'AN0960', tactic: 'Credential Access' },

  evaluate(observation) {
    return instanceSourceVerdict(observation, ['outside', 'unverifiable']);
  },

  severity({ observations, verdicts }) {
    const unverifiable = verdicts.every((verdict) => verdict.confidence === 'low');
    const base: Severity = unverifiable ? 'medium' : 'high';
    const actions = mergeActions(observations.map((o) => o.usage.actions));
    const delivery = observations.flatMap((o) => [...o.usage.ec2RoleDelivery]);
    const reasons = escalationReasons(actions, delivery);
    return { severity: reasons.length > 0 ? raise(base) : base, reasons };
  },
};
