import type { Detector } from './types.js';

/**
 * Calls denied after an AWSRevokeOlderSessions policy was put on the role, by sessions issued
 * before its cutoff: someone is still holding an old, revoked credential. On the instance's own
 * address that is the instance's SDK not yet refreshed (low); anywhere else it is the thief.
 */
export const revokedSessionUse: Detector = {
  id: 'revoked-session-use',
  title: 'Revoked role session still in use',
  description:
    'Calls denied after an AWSRevokeOlderSessions policy was put on the role, made by a session issued before the ' +
    "policy's aws:TokenIssueTime cutoff. Sessions issued after the cutoff are not reported.",
  attack: { technique: 'T1078.004', analytic: 'AN0960', tactic: 'Persistence' },

  evaluate({ usage, credential, instance }, ctx) {
    if (usage.deniedCalls === 0 || !credential.roleName) return undefined;
    const issuedMs = Number.isNaN(usage.sessionCreatedMs)
      ? (credential.vending?.issuedAtMs ?? Number.NaN)
      : usage.sessionCreatedMs;
    if (Number.isNaN(issuedMs)) return undefined;
    const revocation = ctx.revocations.find(
      (r) =>
        r.roleName === credential.roleName &&
        (r.accountId === '' || r.accountId === usage.accountId) &&
        issuedMs < r.cutoffMs &&
        usage.lastDeniedMs >= r.atMs,
    );
    if (!revocation) return undefined;
    const onBox = instance?.judgement.kind === 'expected';
    return {
      confidence: onBox ? 'medium' : 'high',
      sourceOwner: onBox ? 'the instance itself' : '',
      reasons: [
        `${usage.deniedCalls} calls denied for session ${credential.sessionName} (key ${credential.accessKeyId}), issued ${new Date(issuedMs).toISOString()}, before the ${revocation.cutoff} cutoff of the AWSRevokeOlderSessions policy put on ${credential.roleName} at ${revocation.at} (event ${revocation.eventId})`,
        onBox
          ? `the calls come from the instance's own address (${instance?.judgement.kind === 'expected' ? instance.judgement.reasons[0] : ''}): its SDK has not fetched new credentials yet — restart the application or wait for the refresh`
          : `the calls do not come from an address of the credential's workload: the revoked credential is in someone else's hands — the revocation is holding; make sure the path it was stolen through is closed`,
      ],
    };
  },

  severity({ verdicts }) {
    return { severity: verdicts.some((v) => v.confidence === 'high') ? 'high' : 'low', reasons: [] };
  },
};
