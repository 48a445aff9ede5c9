/**
 * Turns the rows of the aggregation queries (sql/aggregate.ts) back into the ScanState the native
 * reader builds, so the same detector model judges it. Rows arrive as text (Athena returns nothing
 * else; DuckDB's are read the same way).
 */
import type { CloudTrailEvent, UserIdentity } from '../cloudtrail/event.js';
import { parseEventTime } from '../cloudtrail/event.js';
import { jsonNestingExceeds } from '../cloudtrail/nesting.js';
import { ScanState } from '../engine/scan-state.js';
import type { ScanStats } from '../engine/scan.js';
import type { Usage } from '../engine/usage.js';
import type { HuntQueryName } from '../sql/aggregate.js';

export type SqlRow = Record<string, string | number | boolean | null | undefined>;

function text(row: SqlRow, column: string): string {
  const value = row[column];
  return value === null || value === undefined ? '' : String(value);
}

function flag(row: SqlRow, column: string): boolean {
  const value = row[column];
  return value === true || value === 'true';
}

function count(row: SqlRow, column: string): number {
  const n = Number(row[column] ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function msOr(row: SqlRow, column: string, fallback: number): number {
  const value = row[column];
  if (value === null || value === undefined || value === '') return fallback;
  const n = Number(value);
  return Number.isFinite(n) ? n : fallback;
}

function jsonList(row: SqlRow, column: string): string[] {
  const value = text(row, column);
  if (value === '') return [];
  const parsed = JSON.parse(value) as unknown;
  return Array.isArray(parsed) ? parsed.map((v) => (typeof v === 'string' ? v : String(v))) : [];
}

function jsonObject(value: string): Record<string, unknown> | undefined {
  // Read like a record from a file: one nested past the limit would overflow the stack later.
  if (value === '' || jsonNestingExceeds(value)) return undefined;
  try {
    const parsed = JSON.parse(value) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function identityOf(row: SqlRow, ec2RoleDeliveryColumn: string): UserIdentity {
  return {
    type: text(row, 'ui_type'),
    principalId: text(row, 'ui_principal'),
    arn: text(row, 'ui_arn'),
    accountId: text(row, 'ui_account'),
    accessKeyId: text(row, 'ui_key'),
    userName: text(row, 'ui_user'),
    invokedBy: text(row, 'ui_invoked_by'),
    sessionIssuer: flag(row, 'is_present')
      ? {
          type: text(row, 'is_type'),
          principalId: text(row, 'is_principal'),
          arn: text(row, 'is_arn'),
          accountId: text(row, 'is_account'),
          userName: text(row, 'is_user'),
        }
      : undefined,
    sessionCreationDate: text(row, 'creation_date'),
    ec2RoleDelivery: text(row, ec2RoleDeliveryColumn),
    sourceIdentity: text(row, 'source_identity'),
    webIdFederatedProvider: text(row, 'web_provider'),
    inScopeOfIssuerType: text(row, 'scope_type'),
    inScopeOfIssuedTo: text(row, 'scope_issued_to'),
  };
}

/** One row of usagesSql → the Usage the native reader would have built and finalised. */
export function usageFromRow(row: SqlRow): Usage {
  const identity = identityOf(row, 'first_ec2_role_delivery');
  const firstSeen = text(row, 'first_seen');
  const firstMs = parseEventTime(firstSeen);
  const lastSeen = text(row, 'last_seen');
  const lastMs = parseEventTime(lastSeen);
  const keyParts = [
    'k_account',
    'k_principal',
    'k_key',
    'k_ip',
    'k_vpce',
    'k_vpce_account',
    'k_invoked_by',
    'k_family',
  ].map((column) => text(row, column));
  const actionsObject = jsonObject(text(row, 'actions')) ?? {};
  const actions = new Map(
    Object.entries(actionsObject)
      .map(([action, n]) => [action, Number(n)] as [string, number])
      .filter(([, n]) => n > 0)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
  );
  return {
    key: keyParts.join('\u0000'),
    accountId: keyParts[0]!,
    identity,
    firstUserAgent: text(row, 'first_user_agent'),
    sourceIp: keyParts[3]!,
    vpcEndpointId: keyParts[4]!,
    vpcEndpointAccountId: keyParts[5]!,
    calls: count(row, 'calls'),
    errorCount: count(row, 'error_count'),
    firstMs: Number.isNaN(firstMs) ? Number.POSITIVE_INFINITY : firstMs,
    lastMs: Number.isNaN(lastMs) ? Number.NEGATIVE_INFINITY : lastMs,
    firstSeen: Number.isNaN(firstMs) ? '' : firstSeen,
    lastSeen: Number.isNaN(lastMs) ? '' : lastSeen,
    actions,
    userAgents: new Set(jsonList(row, 'user_agents')),
    regions: new Set([...new Set(jsonList(row, 'regions'))].sort()),
    ec2RoleDelivery: new Set([...new Set(jsonList(row, 'ec2_role_delivery'))].sort()),
    eventIds: jsonList(row, 'event_ids'),
    eventIdsTruncated: flag(row, 'event_ids_truncated'),
    invokedBy: keyParts[6]!,
    clientFamily: keyParts[7]!,
    sessionCreatedMs: Date.parse(identity.sessionCreationDate),
    deniedCalls: count(row, 'denied_calls'),
    firstDeniedMs: msOr(row, 'first_denied_ms', Number.POSITIVE_INFINITY),
    lastDeniedMs: msOr(row, 'last_denied_ms', Number.NEGATIVE_INFINITY),
    kept: {
      events: new Map(),
      cutoffMs: Number.POSITIVE_INFINITY,
      userAgentMs: new Map(),
      firstId: text(row, 'first_event_id'),
      lastId: '',
      lastUserAgent: '',
    },
  };
}

/** One row of fullEventsSql → the typed event, bodies included. */
export function eventFromRow(row: SqlRow): CloudTrailEvent {
  const eventTime = text(row, 'event_time');
  return {
    eventId: text(row, 'event_id'),
    eventTime,
    timeMs: parseEventTime(eventTime),
    eventVersion: text(row, 'event_version'),
    eventSource: text(row, 'event_source'),
    eventName: text(row, 'event_name'),
    eventType: text(row, 'event_type'),
    awsRegion: text(row, 'aws_region'),
    sourceIp: text(row, 'source_ip'),
    userAgent: text(row, 'user_agent'),
    errorCode: text(row, 'error_code'),
    errorMessage: text(row, 'error_message'),
    accountId: text(row, 'account_id'),
    vpcEndpointId: text(row, 'vpce'),
    vpcEndpointAccountId: text(row, 'vpce_account'),
    identity: identityOf(row, 'ec2_role_delivery'),
    requestParameters: jsonObject(text(row, 'request_json')),
    responseElements: jsonObject(text(row, 'response_json')),
  };
}

/** The three result sets → a finalised ScanState, ready for `analyse`/`detect`. */
export function stateFromSql(results: Record<HuntQueryName, SqlRow[]>): ScanState {
  const state = new ScanState();
  for (const row of results.usages) {
    const usage = usageFromRow(row);
    state.usages.set(usage.key, usage);
  }
  for (const row of results.fullEvents) state.addEvidence(eventFromRow(row));
  const totals = results.totals[0];
  if (totals) {
    state.events = count(totals, 'events');
    for (const account of jsonList(totals, 'accounts')) state.recipientAccounts.add(account);
  }
  state.finalise({ usagesFinal: true });
  return state;
}

/** The input accounting of a hunt: SQL reports no bad records (DuckDB skips them; Athena's SerDe drops them). */
export function sqlScanStats(state: ScanState, read: { files: number; bytes: number }): ScanStats {
  return {
    files: read.files,
    bytes: read.bytes,
    records: state.events,
    events: state.events,
    badRecords: 0,
    badFiles: 0,
    vendingEvents: state.vending.size,
    usages: state.usages.size,
    durationMs: 0,
  };
}
