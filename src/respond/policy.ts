/**
 * The deny statements `offbox contain` puts in a role's `AWSRevokeOlderSessions` inline policy, and how
 * they merge with a policy already there. Shapes are copied from AWS documentation:
 *
 * - Role-wide revoke: what the IAM console's "Revoke active sessions" writes
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html). The console
 *   shows it indented by four spaces with `"aws:TokenIssueTime": "[policy creation time]"` and sends it
 *   compact, with the time as `Date.prototype.toISOString` writes it (CloudTrail records
 *   `…"aws:TokenIssueTime":"2022-02-16T01:36:00.138Z"…` for a console revoke).
 * - Per-instance deny: the session of an instance profile has `aws:userid` = `ROLEID:INSTANCEID`
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#principaltable),
 *   and a Deny on `aws:userid` cuts off that principal's sessions
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_disable-perms.html).
 */

export const POLICY_VERSION = '2012-10-17';

/** One statement of an IAM policy document, as read back from AWS (anything may be there). */
export type PolicyStatement = Record<string, unknown>;

const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/i;
// Unique ids of roles start AROA; anything else cannot be the role part of an instance session's userid.
const ROLE_ID = /^AROA[A-Z0-9]{12,124}$/;

/** True for an EC2 instance id (`i-` and 8 or 17 hex digits, any case). */
export function isInstanceId(value: string): boolean {
  return INSTANCE_ID.test(value);
}

/** True for an IAM role's unique id (`AROA…`). */
export function isRoleId(value: string): boolean {
  return ROLE_ID.test(value);
}

/** The console's revoke statement: deny everything to sessions issued before `issuedBefore`. Key order as AWS writes it. */
export function roleRevokeStatement(issuedBefore: string): PolicyStatement {
  return {
    Effect: 'Deny',
    Action: ['*'],
    Resource: ['*'],
    Condition: { DateLessThan: { 'aws:TokenIssueTime': issuedBefore } },
  };
}

/**
 * Denies the sessions of one instance issued before `issuedBefore`. Without the time condition the
 * instance itself would be denied for as long as the statement stays: IMDS hands the thief and the
 * instance the same credential, so only its issue time tells the stolen copy from the next refresh.
 */
export function instanceRevokeStatement(roleId: string, instanceId: string, issuedBefore: string): PolicyStatement {
  return {
    // IAM wants Sids unique within a policy and alphanumeric: one per instance.
    Sid: instanceStatementSid(instanceId),
    Effect: 'Deny',
    Action: ['*'],
    Resource: ['*'],
    Condition: {
      StringLike: { 'aws:userId': `${roleId}:${instanceId}` },
      DateLessThan: { 'aws:TokenIssueTime': issuedBefore },
    },
  };
}

/** The Sid offbox gives the per-instance statement of `instanceId`. */
export function instanceStatementSid(instanceId: string): string {
  return `OffboxDenySessionsOf${instanceId.replace(/[^A-Za-z0-9]/g, '')}`;
}

/** A policy document of these statements, compact, as the console sends it to PutRolePolicy. */
export function policyDocumentJson(statements: readonly PolicyStatement[]): string {
  return JSON.stringify({ Version: POLICY_VERSION, Statement: statements });
}

/** A compact policy document indented as the IAM console displays it (four spaces). */
export function policyAsShown(documentJson: string): string {
  return JSON.stringify(JSON.parse(documentJson), null, 4);
}

/** Thrown when the policy already on the role cannot be read: offbox never overwrites what it cannot read. */
export class UnreadablePolicyError extends Error {}

/** Reads a policy document as GetRolePolicy returns it (URL-encoded) or as written (plain JSON). */
export function parsePolicyDocument(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    try {
      parsed = JSON.parse(decodeURIComponent(text));
    } catch (error) {
      throw new UnreadablePolicyError(`the policy document is not JSON: ${(error as Error).message}`);
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UnreadablePolicyError('the policy document is not a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function isAll(value: unknown): boolean {
  return value === '*' || (Array.isArray(value) && value.length === 1 && value[0] === '*');
}

function entryOf(record: unknown, key: string): [string, unknown] | undefined {
  if (record === null || typeof record !== 'object') return undefined;
  const entries = Object.entries(record as Record<string, unknown>);
  if (entries.length !== 1) return undefined;
  const [name, value] = entries[0]!;
  // Condition operators and keys are case-insensitive in IAM.
  return name.toLowerCase() === key.toLowerCase() ? [name, value] : undefined;
}

function single(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') return value[0];
  return undefined;
}

/** What a statement is to offbox: a role-wide revoke, a per-instance revoke, or something else to leave alone. */
type StatementKind =
  | { kind: 'role'; cutoff: string; setCutoff(value: string): void }
  | { kind: 'instance'; userId: string; cutoff: string; setCutoff(value: string): void }
  | { kind: 'other' };

function kindOf(statement: PolicyStatement): StatementKind {
  const other = { kind: 'other' } as const;
  if (statement['Effect'] !== 'Deny' || !isAll(statement['Action']) || !isAll(statement['Resource'])) return other;
  if ('NotAction' in statement || 'NotResource' in statement || 'Principal' in statement) return other;
  const condition = statement['Condition'];
  if (condition === null || typeof condition !== 'object' || Array.isArray(condition)) return other;
  const operators = Object.keys(condition);
  const dateOperator = operators.find((o) => o.toLowerCase() === 'datelessthan');
  if (dateOperator === undefined) return other;
  const dates = (condition as Record<string, unknown>)[dateOperator] as Record<string, unknown>;
  const date = entryOf(dates, 'aws:TokenIssueTime');
  const cutoff = date && single(date[1]);
  if (!date || cutoff === undefined) return other;
  const setCutoff = (value: string): void => {
    dates[date[0]] = value;
  };
  if (operators.length === 1) return { kind: 'role', cutoff, setCutoff };
  const likeOperator = operators.find((o) => o.toLowerCase() === 'stringlike');
  if (operators.length !== 2 || likeOperator === undefined) return other;
  const user = entryOf((condition as Record<string, unknown>)[likeOperator], 'aws:userId');
  const userId = user && single(user[1]);
  if (userId === undefined) return other;
  return { kind: 'instance', userId, cutoff, setCutoff };
}

/** True when `a` is at or after `b`; an unreadable time is never "after" anything. */
function atOrAfter(a: string, b: string): boolean {
  const am = Date.parse(a);
  const bm = Date.parse(b);
  return !Number.isNaN(am) && !Number.isNaN(bm) && am >= bm;
}

/** The outcome of {@link mergeRevokeStatement}. */
export interface PolicyMerge {
  /** The document to put (compact JSON); equal to the existing one in meaning when `changed` is false. */
  document: string;
  /** False when the existing policy already denies everything the wanted statement would: nothing to write. */
  changed: boolean;
  /** Why, in words (for the record). */
  reason: string;
  /** The statements of the existing policy offbox did not touch. */
  keptStatements: number;
}

/**
 * Merges `wanted` (a {@link roleRevokeStatement} or {@link instanceRevokeStatement}) into the policy
 * document already on the role (`existing`, undefined when the role has none). Statements offbox does not
 * recognise are kept as they are; a revoke statement of the same kind (and, per instance, the same
 * `aws:userId`) keeps the later of the two cutoffs; a role-wide revoke at or after the wanted cutoff already
 * covers a per-instance one. Nothing is ever removed. Throws {@link UnreadablePolicyError} when `existing`
 * cannot be read.
 */
export function mergeRevokeStatement(existing: string | undefined, wanted: PolicyStatement): PolicyMerge {
  const wantedKind = kindOf(wanted);
  if (wantedKind.kind === 'other') throw new TypeError('mergeRevokeStatement: not a revoke statement');
  if (existing === undefined) {
    return {
      document: policyDocumentJson([wanted]),
      changed: true,
      reason: `new policy: denies sessions issued before ${wantedKind.cutoff}`,
      keptStatements: 0,
    };
  }
  const document = parsePolicyDocument(existing);
  const raw = document['Statement'];
  const statements: unknown[] = raw === undefined ? [] : Array.isArray(raw) ? [...raw] : [raw];
  const kinds = statements.map((s) =>
    s !== null && typeof s === 'object' && !Array.isArray(s)
      ? kindOf(s as PolicyStatement)
      : ({ kind: 'other' } as const),
  );
  const roleWide = kinds.filter((k): k is Extract<StatementKind, { kind: 'role' }> => k.kind === 'role');
  const latestRoleWide = roleWide.find((k) => roleWide.every((o) => atOrAfter(k.cutoff, o.cutoff)));
  const kept = statements.length;
  const unchanged = (reason: string): PolicyMerge => ({
    document: existing,
    changed: false,
    reason,
    keptStatements: kept,
  });
  const updated = (reason: string): PolicyMerge => ({
    document: JSON.stringify({ ...document, Version: document['Version'] ?? POLICY_VERSION, Statement: statements }),
    changed: true,
    reason,
    keptStatements: kept,
  });

  if (latestRoleWide && atOrAfter(latestRoleWide.cutoff, wantedKind.cutoff)) {
    return unchanged(
      `the role already denies every session issued before ${latestRoleWide.cutoff} (at or after ${wantedKind.cutoff})`,
    );
  }
  if (wantedKind.kind === 'role') {
    const target = latestRoleWide ?? roleWide[0];
    if (target) {
      const before = target.cutoff;
      target.setCutoff(wantedKind.cutoff);
      return updated(`moved the cutoff from ${before} to ${wantedKind.cutoff}; ${kept - 1} other statements kept`);
    }
  } else {
    const same = kinds.filter(
      (k): k is Extract<StatementKind, { kind: 'instance' }> => k.kind === 'instance' && k.userId === wantedKind.userId,
    );
    if (same.some((k) => atOrAfter(k.cutoff, wantedKind.cutoff))) {
      return unchanged(
        `${wantedKind.userId} is already denied for sessions issued before ${wantedKind.cutoff} or later`,
      );
    }
    const target = same[0];
    if (target) {
      const before = target.cutoff;
      target.setCutoff(wantedKind.cutoff);
      return updated(
        `moved the cutoff for ${wantedKind.userId} from ${before} to ${wantedKind.cutoff}; ${kept - 1} other statements kept`,
      );
    }
  }
  statements.push(wanted);
  return updated(
    `added a statement denying sessions issued before ${wantedKind.cutoff}; ${kept} existing statements kept`,
  );
}
