import { escalationReasons, mergeActions, raise } from './activity.js';
import { instanceSourceVerdict } from './reasons.js';
import type { Detector } from './types.js';

/**
 * An instance credential used through a VPC endpoint of another account: the attacker calls
 * AWS from inside their own VPC, so the source is a private address that looks internal.
 * AWS-owned endpoints (console S3 and the like) show public source addresses and are not this.
 */
export const instanceCredentialForeignVpce: Detector = {
  id: 'instance-credential-foreign-vpce',
  title: 'EC2 instance credential used through a foreign VPC endpoint',
  description:
    'An instance credential signed calls that arrived through a VPC endpoint owned by an account outside the org ' +
    "(vpcEndpointAccountId), or through an endpoint the inventory does not list for the credential's account.",
  attack: { technique: 'T1552.005', analytic: 'AN0960', tactic: 'Credential Access' },

  evaluate(observation, ctx) {
    return instanceSourceVerdict(observation, ['foreign-vpce'], ctx);
  },

  severity({ observations, verdicts }) {
    const base = verdicts.some((v) => v.confidence === 'high') ? 'high' : 'medium';
    const reasons = escalationReasons(
      mergeActions(observations.map((o) => o.usage.actions)),
      observations.flatMap((o) => [...o.usage.ec2RoleDelivery]),
    );
    return { severity: reasons.length > 0 ? raise(base) : base, reasons };
  },
};
