import type { Confidence } from './finding.js';
import type { Detector, DetectionContext, Observation } from './types.js';

/** Judgements that say, on their own, that the credential is away from its workload. */
const AWAY = new Set(['outside', 'unverifiable', 'cross-instance', 'foreign-vpce']);

/** Where the denied calls come from, in words, and how sure that says "a thief". */
function whoHoldsIt(
  observation: Observation,
  ctx: DetectionContext,
): { confidence: Confidence; onWorkload: boolean; reason: string } {
  const { instance, source, usage } = observation;
  if (instance) {
    const judgement = instance.judgement;
    if (judgement.kind === 'expected') {
      return {
        confidence: 'medium',
        onWorkload: true,
        reason: `the calls come from the instance's own address (${judgement.reasons[0] ?? ''}): its SDK has not fetched new credentials yet — restart the application or wait for the refresh`,
      };
    }
    if (AWAY.has(judgement.kind) || (judgement.kind === 'foreign-aws' && judgement.confidence !== 'low')) {
      return {
        confidence: 'high',
        onWorkload: false,
        reason: `the calls come from ${source.ip}, not the instance (${'reasons' in judgement ? judgement.reasons[0] : judgement.kind}): the revoked credential is in someone else's hands — the revocation is holding; make sure the path it was stolen through is closed`,
      };
    }
    return {
      confidence: 'medium',
      onWorkload: false,
      reason: `cannot tell whether ${source.ip} is the instance's own address (no inventory and no on-box evidence for it; pass --inventory): the caller is either the instance's un-refreshed SDK or the thief`,
    };
  }
  if (
    source.class === 'public' ||
    ((source.class === 'private' || source.class === 'special' || source.class === 'invalid') &&
      usage.vpcEndpointId === '')
  ) {
    return {
      confidence: 'high',
      onWorkload: false,
      reason: `the calls come from ${source.ip}, outside AWS: the revoked credential is in someone else's hands — the revocation is holding; make sure the path it was stolen through is closed`,
    };
  }
  const owners = ctx.ownership
    .ownersAt(source.ip, usage.lastMs)
    .filter((o) => o.accountId === '' || ctx.trustedAccounts.has(o.accountId));
  if (owners.length > 0) {
    return {
      confidence: 'medium',
      onWorkload: true,
      reason: `the calls come from ${source.ip}, an address of the org (${owners[0]!.source}): most likely the workload's own cached credential, denied until it refreshes`,
    };
  }
  return {
    confidence: 'medium',
    onWorkload: false,
    reason: `cannot tell whether ${source.ip} belongs to the workload (no inventory entry for it): the caller is either the workload's cached credential or the thief`,
  };
}

/**
 * Calls denied after an AWSRevokeOlderSessions policy was put on the role, by sessions issued
 * before its cutoff: someone is still holding an old, revoked credential. On the workload's own
 * address that is its SDK not yet refreshed (low); anywhere else it is the thief.
 */
export const revokedSessionUse: Detector = {
  id: 'revoked-session-use',
  title: 'Revoked role session still in use',
  description:
    'Calls denied after an AWSRevokeOlderSessions policy was put on the role, made by a session issued before the ' +
    "policy's aws:TokenIssueTime cutoff. Sessions issued after the cutoff are not reported.",
  attack: { technique: 'T1078.004', analytic: 'AN0960', tactic: 'Persistence' },

  evaluate(observation, ctx) {
    const { usage, credential } = observation;
    if (usage.deniedCalls === 0 || !credential.roleName) return undefined;
    const issuedMs = Number.isNaN(usage.sessionCreatedMs)
      ? (credential.vending?.issuedAtMs ?? Number.NaN)
      : usage.sessionCreatedMs;
    if (Number.isNaN(issuedMs)) return undefined;
    const revocation = ctx.revocations.find(
      (r) =>
        r.roleName === credential.roleName &&
        (r.accountId === '' || r.accountId === usage.accountId) &&
        (r.sessionNames.length === 0 || r.sessionNames.includes(credential.sessionName)) &&
        issuedMs < r.cutoffMs &&
        usage.lastDeniedMs >= r.atMs,
    );
    if (!revocation) return undefined;
    const holder = whoHoldsIt(observation, ctx);
    return {
      confidence: holder.confidence,
      sourceOwner: holder.onWorkload ? 'the workload itself' : '',
      reasons: [
        `${usage.deniedCalls} calls denied for session ${credential.sessionName} (key ${credential.accessKeyId}), issued ${new Date(issuedMs).toISOString()}, before the ${revocation.cutoff} cutoff of the AWSRevokeOlderSessions policy put on ${credential.roleName} at ${revocation.at} (event ${revocation.eventId})`,
        holder.reason,
      ],
    };
  },

  severity({ verdicts }) {
    if (verdicts.some((v) => v.confidence === 'high')) return { severity: 'high', reasons: [] };
    if (verdicts.every((v) => v.sourceOwner === 'the workload itself')) return { severity: 'low', reasons: [] };
    return { severity: 'medium', reasons: [] };
  },
};
