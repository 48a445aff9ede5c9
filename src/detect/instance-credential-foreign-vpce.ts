import { escalationReasons, mergeActions, raise } from './activity.js';
import { anchorReason } from './reasons.js';
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

  evaluate(observation) {
    const instance = observation.instance;
    if (!instance || instance.chain.length > 0 || instance.judgement.kind !== 'foreign-vpce') return undefined;
    const { credential } = observation;
    return {
      confidence: instance.judgement.confidence,
      sourceOwner: instance.judgement.owner,
      reasons: [
        `instance credential of ${credential.instanceId} (role ${credential.roleName}) used from ${observation.source.ip}: ${instance.judgement.reasons[0]}`,
        anchorReason(credential),
        ...instance.judgement.reasons.slice(1),
      ],
    };
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
