import { instanceSourceVerdict, scoredSeverity } from './reasons.js';
import type { Detector } from './types.js';

/**
 * An instance credential used from AWS address space that no org resource holds: the
 * attacker runs the stolen key on their own EC2 instance, where "outside AWS" checks
 * (and GuardDuty's InstanceCredentialExfiltration.OutsideAWS) see nothing wrong.
 */
export const instanceCredentialForeignAws: Detector = {
  id: 'instance-credential-foreign-aws',
  title: 'EC2 instance credential used from foreign AWS address space',
  description:
    'An instance credential signed calls from an AWS address that the inventory and CloudTrail evidence do not attribute ' +
    "to the org (not an own instance, NAT gateway, Elastic IP or interface, not an instance's on-box agent address).",
  attack: { technique: 'T1552.005', analytic: 'AN0960', tactic: 'Credential Access' },

  evaluate(observation, ctx) {
    return instanceSourceVerdict(observation, ['foreign-aws'], ctx);
  },

  severity(aggregate) {
    // Without inventory, on-box evidence or corroborating signals this is a question, not a verdict.
    return scoredSeverity(aggregate, 'low', { highConfidence: 'high' });
  },
};
