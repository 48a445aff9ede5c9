import { corroborate, corroboratedConfidence } from './corroboration.js';
import { scoredSeverity, unverifiableRange } from './reasons.js';
import { serviceSideReason } from './service-side.js';
import type { DetectionContext, Detector, Observation, Verdict } from './types.js';

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
    'ranges, private ranges and allowedSourceCidrs (or from a private address without a VPC endpoint: unverifiable); ' +
    'task and pod credentials also when used from AWS address space the inventory does not attribute to the org.',
  attack: { technique: 'T1552.005', analytic: 'AN0960', tactic: 'Credential Access' },

  evaluate(observation, ctx) {
    const verdict = sourceVerdict(observation, ctx);
    if (!verdict) return undefined;
    const { usage, credential, source } = observation;
    const { signals } = corroborate(usage, credential, source, credential.issuedRegion, ctx);
    const corroborated: Verdict = {
      ...verdict,
      confidence: corroboratedConfidence(verdict.confidence, signals.length),
      reasons: [...verdict.reasons, ...signals],
      signals,
    };
    if (verdict.sourceOwner === 'unverifiable' && signals.length === 0) {
      corroborated.aggregateAs = { subject: '', sourceIp: unverifiableRange(source) };
    }
    return corroborated;
  },

  severity(aggregate, ctx) {
    // An unverifiable private source starts at the configured floor, an unattributed AWS address
    // without inventory is a question (low); signals raise both.
    return scoredSeverity(aggregate, ctx.unverifiableSeverity, { highConfidence: 'high' });
  },
};

/** Where the workload credential was used from, judged without the corroborating signals. */
function sourceVerdict({ usage, credential, source }: Observation, ctx: DetectionContext): Verdict | undefined {
  if (!WORKLOADS.has(credential.kind) || serviceSideReason(usage, source, credential.kind === 'lambda') !== '')
    return undefined;
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
  // Lambda functions outside a VPC leave from AWS-owned addresses no inventory lists, so only
  // tasks and pods, which leave through the org's interfaces, NATs and nodes, are judged in AWS space.
  if (source.class !== 'aws' || credential.kind === 'lambda') return undefined;
  const owners = [
    ...ctx.ownership.ownersAt(source.ip, usage.firstMs),
    ...ctx.ownership.ownersAt(source.ip, usage.lastMs),
  ].filter((o) => o.accountId === '' || ctx.trustedAccounts.has(o.accountId));
  if (owners.length > 0 || ctx.onBox.has(source.ip)) return undefined;
  if (ctx.workloadFirstUse.get(credential.subject)?.has(source.ip)) return undefined;
  const where = `${source.ip}, in ${source.rangeName || 'AWS address space'}${source.awsRegion ? ` (${source.awsRegion})` : ''}`;
  if (!ctx.ownership.accounts.has(usage.accountId)) {
    return {
      confidence: 'low',
      sourceOwner: 'unknown',
      reasons: [
        `${what} used from ${where}`,
        `no inventory for account ${usage.accountId || '?'}: cannot tell the workload's own interface or NAT from someone else's EC2 (pass --inventory)`,
        basis,
      ],
    };
  }
  return {
    confidence: 'high',
    sourceOwner: 'AWS address space outside the org',
    reasons: [
      `${what} used from ${where}, which no interface, NAT gateway, Elastic IP or instance of account ${usage.accountId} in the inventory holds: someone else's AWS resource`,
      basis,
    ],
  };
}
