import type { Finding } from '../detect/finding.js';
import { escapeCsvCell } from './escape.js';
import { triageOf } from './triage.js';

type Column = readonly [header: string, value: (f: Finding) => string | number];

const COLUMNS: readonly Column[] = [
  ['id', (f) => f.id],
  ['detector', (f) => f.detector],
  ['severity', (f) => f.severity],
  ['confidence', (f) => f.confidence],
  ['title', (f) => f.title],
  ['accountId', (f) => f.accountId],
  ['principal.role', (f) => f.principal.role],
  ['principal.roleArn', (f) => f.principal.roleArn],
  ['principal.sessionName', (f) => f.principal.sessionName],
  ['principal.instanceId', (f) => f.principal.instanceId],
  ['principal.accessKeyIds', (f) => f.principal.accessKeyIds.join(' ')],
  ['principal.credentialKind', (f) => f.principal.credentialKind],
  ['principal.ec2RoleDelivery', (f) => f.principal.ec2RoleDelivery.join(' ')],
  ['source.ip', (f) => f.source.ip],
  ['source.class', (f) => f.source.class],
  ['source.vpcEndpointId', (f) => f.source.vpcEndpointId],
  ['source.vpcEndpointAccountId', (f) => f.source.vpcEndpointAccountId],
  ['source.owner', (f) => f.source.owner],
  ['activity.calls', (f) => f.activity.calls],
  ['activity.actions', (f) => f.activity.actions.join(' ')],
  ['activity.firstSeen', (f) => f.activity.firstSeen],
  ['activity.lastSeen', (f) => f.activity.lastSeen],
  ['activity.userAgents', (f) => f.activity.userAgents.join(' | ')],
  ['activity.regions', (f) => f.activity.regions.join(' ')],
  ['activity.errorCount', (f) => f.activity.errorCount],
  ['evidence.eventIds', (f) => f.evidence.eventIds.join(' ')],
  ['evidence.reasons', (f) => f.evidence.reasons.join(' | ')],
  ['attack.technique', (f) => f.attack.technique],
  ['response.commands', (f) => f.response.commands.join(' ; ')],
];

/** The CSV header, in column order (a contract for scripts: append, never rename). */
export const CSV_COLUMNS: readonly string[] = COLUMNS.map(([header]) => header);

/** Columns appended with `triage: true`, for findings read from the store. */
const TRIAGE_COLUMNS: readonly Column[] = [
  ['status', (f) => triageOf(f).status],
  ['statusNote', (f) => triageOf(f).statusNote],
  ['createdAt', (f) => triageOf(f).createdAt],
  ['updatedAt', (f) => triageOf(f).updatedAt],
];

/** The extra header cells of `triage: true`, after {@link CSV_COLUMNS}. */
export const TRIAGE_CSV_COLUMNS: readonly string[] = TRIAGE_COLUMNS.map(([header]) => header);

const CRLF = '\r\n';

/**
 * Renders a header row and one row per finding, RFC 4180 style with CRLF
 * line endings (including after the last row). Lists are joined into one cell
 * (ids and actions by a space, user agents and reasons by ` | `, commands by
 * ` ; `), and every cell goes through {@link escapeCsvCell}. With `triage: true` the stored
 * status, note and times follow as {@link TRIAGE_CSV_COLUMNS}.
 */
export function renderCsv(findings: readonly Finding[], opts: { triage?: boolean } = {}): string {
  const columns = opts.triage === true ? [...COLUMNS, ...TRIAGE_COLUMNS] : COLUMNS;
  const rows = [columns.map(([header]) => escapeCsvCell(header)).join(',')];
  for (const f of findings) {
    rows.push(columns.map(([, value]) => escapeCsvCell(String(value(f)))).join(','));
  }
  return rows.join(CRLF) + CRLF;
}
