import type { CloudTrailEvent } from '../cloudtrail/event.js';
import { REVOKE_POLICY_NAME } from '../respond/commands.js';

/**
 * An `AWSRevokeOlderSessions` policy put on a role: sessions issued before `cutoffMs` are denied from `atMs`.
 * `sessionNames` narrows it to those sessions (a Deny on `aws:userId` = `ROLEID:i-…`); empty, it covers
 * every session of the role.
 */
export interface Revocation {
  accountId: string;
  roleName: string;
  atMs: number;
  at: string;
  cutoffMs: number;
  cutoff: string;
  eventId: string;
  sessionNames: string[];
}

interface RevokeStatement {
  cutoff: string;
  /** Session names the statement is limited to; empty for the whole role. */
  sessionNames: string[];
}

function parseDocument(document: unknown): unknown {
  if (typeof document !== 'string') return document;
  try {
    return JSON.parse(document.startsWith('%') ? decodeURIComponent(document) : document);
  } catch {
    return undefined;
  }
}

/** The session names an `aws:userId` condition value names (`ROLEID:i-…`, `*:i-…`); undefined when it is not that shape. */
function sessionNamesOf(values: unknown): string[] | undefined {
  const list = Array.isArray(values) ? values : [values];
  const names: string[] = [];
  for (const value of list) {
    if (typeof value !== 'string') return undefined;
    const colon = value.indexOf(':');
    if (colon < 0 || value.slice(colon + 1) === '' || /[*?]/.test(value.slice(colon + 1))) return undefined;
    names.push(value.slice(colon + 1));
  }
  return names.length > 0 ? names : undefined;
}

function revokeStatements(document: unknown): RevokeStatement[] {
  const statements = (parseDocument(document) as { Statement?: unknown } | null)?.Statement;
  const out: RevokeStatement[] = [];
  for (const statement of Array.isArray(statements) ? statements : [statements]) {
    const s = (statement as { Effect?: string; Condition?: Record<string, Record<string, unknown>> } | null) ?? {};
    if (s.Effect !== 'Deny') continue;
    let cutoff = '';
    let sessionNames: string[] = [];
    let other = false;
    for (const [operator, values] of Object.entries(s.Condition ?? {})) {
      for (const [key, value] of Object.entries(values ?? {})) {
        const name = key.toLowerCase();
        if (/^DateLessThan/i.test(operator) && name === 'aws:tokenissuetime' && typeof value === 'string') {
          cutoff = value;
        } else if (/^String(Equals|Like)$/i.test(operator) && name === 'aws:userid' && sessionNamesOf(value)) {
          sessionNames = sessionNamesOf(value)!;
        } else {
          other = true;
        }
      }
    }
    // A statement with conditions offbox cannot weigh is not read as a revocation: better unreported than misread.
    if (cutoff !== '' && !other) out.push({ cutoff, sessionNames });
  }
  return out;
}

/**
 * Reads a PutRolePolicy of the revoke policy (as the IAM console writes it, the commands in a finding,
 * or `offbox contain`): one revocation per Deny statement with an `aws:TokenIssueTime` cutoff.
 */
export function extractRevocations(event: CloudTrailEvent): Revocation[] {
  if (event.eventName !== 'PutRolePolicy' || event.eventSource !== 'iam.amazonaws.com' || event.errorCode !== '')
    return [];
  const request = event.requestParameters ?? {};
  if (request['policyName'] !== REVOKE_POLICY_NAME) return [];
  return revokeStatements(request['policyDocument']).flatMap(({ cutoff, sessionNames }) => {
    const cutoffMs = Date.parse(cutoff);
    if (Number.isNaN(cutoffMs)) return [];
    return [
      {
        accountId: event.accountId,
        roleName: typeof request['roleName'] === 'string' ? request['roleName'] : '',
        atMs: event.timeMs,
        at: event.eventTime,
        cutoffMs,
        cutoff,
        eventId: event.eventId,
        sessionNames,
      },
    ];
  });
}
