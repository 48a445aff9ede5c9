import { instanceSourceVerdict, scoredSeverity } from './reasons.js';
import type { Detector } from './types.js';

/**
 * An EC2 instance credential used from an address outside every AWS range, outside
 * private and special ranges and outside the configured egress: the credential left the box.
 *
 * A private address on a call without a VPC endpoint cannot come from a real AWS network
 * path (public endpoints only ever see public addresses): it is reported too, with low
 * confidence and low severity, one finding per role and address range, because sanitised
 * datasets and forged logs look like that — unless corroborating signals single it out.
 */
export const instanceCredentialOutsideAws: Detector = {
  id: 'instance-credential-outside-aws',
  title: 'EC2 instance credential used outside AWS',
  description:
    'An instance-profile (or instance identity) credential signed calls from an address outside all AWS ranges, ' +
    'outside private and special-purpose ranges and outside allowedSourceCidrs.',
  attack: { technique: 'T1552.005', analytic: 'AN0960', tactic: 'Credential Access' },

  evaluate(observation, ctx) {
    return instanceSourceVerdict(observation, ['outside', 'unverifiable'], ctx);
  },

  severity(aggregate, ctx) {
    // A public address outside AWS is high confidence from the start; an unverifiable one starts at
    // the configured floor (low) and rises only with corroborating signals.
    return scoredSeverity(aggregate, ctx.unverifiableSeverity, { highConfidence: 'high' });
  },
};
