import { escalationReasons, mergeActions, raise } from './activity.js';
import type { Detector } from './types.js';

const WORKLOADS = new Set(['ecs-task', 'lambda', 'eks-pod-identity']);
const UNVERIFIABLE = new Set(['private', 'special', 'invalid']);

/**
 * ECS task, Lambda and EKS Pod Identity credentials used from outside AWS. They leak the same
 * way instance credentials do (the ECS credential endpoint through an SSRF, Lambda's
 * environment variables through code injection), and run only inside AWS.
 */
export const workloadCredentialOutsideAws: Detector = {
  id: 'workload-credential-outside-aws',
  title: 'Workload credential (ECS task, Lambda, EKS pod) used outside AWS',
  description:
    'An ECS task role, Lambda execution role or EKS Pod Identity credential signed calls from an address outside all AWS ' +
    'ranges, private ranges and allowedSourceCidrs (or from a private address without a VPC endpoint: unverifiable).',
  attack: { technique: 'T1552.005', analytic: 'AN0960', tactic: 'Credential Access' },

  evaluate({ usage, credential, source }, ctx) {
    if (!WORKLOADS.has(credential.kind) || usage.invokedBy !== '') return undefined;
    const what = `${credential.kind} credential of ${credential.subject} (role ${credential.roleName})`;
    const basis = credential.basis[0] ?? '';
    if (source.class === 'public') {
      return {
        confidence: 'high',
        sourceOwner: 'not AWS, not allowlisted',
        reasons: [
          `${what} used from ${source.ip}, which is in no AWS range (ip-ranges syncToken ${ctx.ipRangesSyncToken}), not private and not in allowedSourceCidrs`,
          basis,
        ],
      };
    }
    if (UNVERIFIABLE.has(source.class) && usage.vpcEndpointId === '') {
      return {
        confidence: 'low',
        sourceOwner: 'unverifiable',
        reasons: [
          `${what} used from ${source.ip}, a ${source.rangeName || source.class} address on a call without vpcEndpointId: no AWS network path delivers that`,
          basis,
        ],
      };
    }
    return undefined;
  },

  severity({ observations, verdicts }) {
    const base = verdicts.every((v) => v.confidence === 'low') ? 'medium' : 'high';
    const reasons = escalationReasons(mergeActions(observations.map((o) => o.usage.actions)), []);
    return { severity: reasons.length > 0 ? raise(base) : base, reasons };
  },
};
