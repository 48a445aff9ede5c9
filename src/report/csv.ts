import type { Finding } from '../detect/finding.js';
import { escapeCsvCell } from './escape.js';

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

const CRLF = '\r\n';

/**
 * Renders a header row and one row per finding, RFC 4180 style with CRLF
 * line endings (including after the last row). Lists are joined into one cell
 * (ids and actions by a space, user agents and reasons by ` | `, commands by
 * ` ; `), and every cell goes through {@link escapeCsvCell}.
 */
export function renderCsv(findings: readonly Finding[]): string {
  const rows = [CSV_COLUMNS.map(escapeCsvCell).join(',')];
  for (const f of findings) {
    rows.push(COLUMNS.map(([, value]) => escapeCsvCell(String(value(f)))).join(','));
  }
  return rows.join(CRLF) + CRLF;
}
