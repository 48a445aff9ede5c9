import { escalationReasons, mergeActions, raise } from './activity.js';
import { instanceSourceVerdict } from './reasons.js';
import type { Detector } from './types.js';

/**
 * An instance credential used from an address that belongs to a different instance of the
 * org: the attacker already holds one box and uses another box's role from it. Both
 * addresses are AWS's and the org's, so outside-AWS checks (and GuardDuty) are blind to it.
 * A NAT gateway shared by the instance's own VPC is not another instance.
 */
export const instanceCredentialCrossInstance: Detector = {
  id: 'instance-credential-cross-instance',
  title: 'EC2 instance credential used from another instance',
  description:
    "An instance credential signed calls from an address that the inventory, CloudTrail evidence or the other instance's own " +
    'agent traffic attributes to a different instance (or to a NAT gateway of another VPC).',
  attack: { technique: 'T1552.005', analytic: 'AN0960', tactic: 'Credential Access' },

  evaluate(observation, ctx) {
    return instanceSourceVerdict(observation, ['cross-instance'], ctx);
  },

  severity({ observations }) {
    const reasons = escalationReasons(
      mergeActions(observations.map((o) => o.usage.actions)),
      observations.flatMap((o) => [...o.usage.ec2RoleDelivery]),
    );
    return { severity: reasons.length > 0 ? raise('high') : 'high', reasons };
  },
};
