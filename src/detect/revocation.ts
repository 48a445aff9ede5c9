import type { CloudTrailEvent } from '../cloudtrail/event.js';
import { REVOKE_POLICY_NAME } from '../respond/commands.js';

/** An `AWSRevokeOlderSessions` policy put on a role: sessions issued before `cutoffMs` are denied from `atMs`. */
export interface Revocation {
  accountId: string;
  roleName: string;
  atMs: number;
  at: string;
  cutoffMs: number;
  cutoff: string;
  eventId: string;
}

function tokenIssueCutoff(document: unknown): string {
  let parsed = document;
  if (typeof parsed === 'string') {
    try {
      parsed = JSON.parse(parsed.startsWith('%') ? decodeURIComponent(parsed) : parsed);
    } catch {
      return '';
    }
  }
  const statements = (parsed as { Statement?: unknown } | null)?.Statement;
  for (const statement of Array.isArray(statements) ? statements : [statements]) {
    const condition =
      (statement as { Effect?: string; Condition?: Record<string, Record<string, unknown>> } | null) ?? {};
    if (condition.Effect !== 'Deny') continue;
    for (const [operator, values] of Object.entries(condition.Condition ?? {})) {
      if (!/^DateLessThan/i.test(operator)) continue;
      const value = values?.['aws:TokenIssueTime'] ?? values?.['aws:tokenissuetime'];
      if (typeof value === 'string') return value;
    }
  }
  return '';
}

/** Reads a PutRolePolicy of the revoke policy (as the IAM console writes it, or the commands in a finding). */
export function extractRevocation(event: CloudTrailEvent): Revocation | undefined {
  if (event.eventName !== 'PutRolePolicy' || event.eventSource !== 'iam.amazonaws.com' || event.errorCode !== '')
    return undefined;
  const request = event.requestParameters ?? {};
  if (request['policyName'] !== REVOKE_POLICY_NAME) return undefined;
  const cutoff = tokenIssueCutoff(request['policyDocument']);
  const cutoffMs = Date.parse(cutoff);
  if (Number.isNaN(cutoffMs)) return undefined;
  return {
    accountId: event.accountId,
    roleName: typeof request['roleName'] === 'string' ? request['roleName'] : '',
    atMs: event.timeMs,
    at: event.eventTime,
    cutoffMs,
    cutoff,
    eventId: event.eventId,
  };
}
