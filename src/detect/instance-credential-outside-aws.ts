import { isInstanceCredential } from '../cloudtrail/credential.js';
import { escalationReasons, mergeActions, raise } from './activity.js';
import type { Severity } from './finding.js';
import type { Detector, Observation, Verdict } from './types.js';

/** Source classes that no AWS network path can deliver to a public endpoint without a VPC endpoint. */
const UNVERIFIABLE = new Set(['private', 'special', 'invalid']);

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

  evaluate({ usage, credential, source }: Observation, ctx): Verdict | undefined {
    if (!isInstanceCredential(credential.kind)) return undefined;
    if (usage.invokedBy !== '' || source.class === 'aws-service') return undefined;
    const anchor = credential.vending
      ? `key ${credential.accessKeyId} was vended to ${credential.instanceId} by EC2 at ${credential.vending.eventTime} (event ${credential.vending.eventId})`
      : `${credential.basis[0] ?? 'instance session'}`;

    if (source.class === 'public') {
      return {
        confidence: 'high',
        sourceOwner: 'not AWS, not allowlisted',
        reasons: [
          `instance credential of ${credential.instanceId} (role ${credential.roleName}) used from ${source.ip}, which is in no AWS range (ip-ranges syncToken ${ctx.ipRangesSyncToken}), not private and not in allowedSourceCidrs`,
          anchor,
        ],
      };
    }
    if (UNVERIFIABLE.has(source.class) && usage.vpcEndpointId === '') {
      const what =
        source.class === 'invalid'
          ? `source "${source.ip}" is not an IP address`
          : `source ${source.ip} is ${source.rangeName || source.class}`;
      return {
        confidence: 'low',
        sourceOwner: 'unverifiable',
        reasons: [
          `instance credential of ${credential.instanceId} (role ${credential.roleName}) used from an unverifiable source: ${what} and the call carries no vpcEndpointId, so no AWS network path delivered it — the log is sanitised or forged, or the address hides where the call came from`,
          anchor,
        ],
      };
    }
    return undefined;
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
