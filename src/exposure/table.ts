import pc from 'picocolors';
import type { Severity } from '../detect/finding.js';
import { escapeTokens } from '../report/escape.js';
import type { ExposureItem, ExposureRollup } from './backlog.js';
import type { PrivilegeTier } from './privilege.js';

const DEFAULT_WIDTH = 120;

const SHORT_TIER: Record<PrivilegeTier, string> = {
  'admin-equivalent': 'admin',
  'privilege-escalation': 'escalation',
  'data-access': 'data',
  unknown: 'unknown',
  narrow: 'narrow',
};
const MIN_WIDTH = 60;

/** Escaped and cut to `width` code points; the cut never splits an escape sequence. */
function cell(value: string, width: number): string {
  const tokens = escapeTokens(value);
  let out = '';
  let used = 0;
  for (const [i, token] of tokens.entries()) {
    const remaining = tokens.length - i;
    if (used + token.length > width || (used + token.length === width && remaining > 1)) {
      return used < width ? `${out}…` : out;
    }
    out += token;
    used += token.length;
  }
  return out;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

function paint(c: ReturnType<typeof pc.createColors>, severity: Severity, text: string): string {
  switch (severity) {
    case 'critical':
    case 'high':
      return c.red(text);
    case 'medium':
      return c.yellow(text);
    case 'low':
      return c.cyan(text);
    default:
      return c.dim(text);
  }
}

/**
 * The backlog for a terminal: one line per instance in fix-first order (rank, severity, instance,
 * account, role, tier, 1.0 calls, HttpTokens, the reason), then the per-account roll-up. Every value
 * is escaped for the terminal before it is cut to its column.
 */
export function renderExposureTable(
  items: readonly ExposureItem[],
  accounts: readonly ExposureRollup[],
  opts: { color?: boolean; width?: number } = {},
): string {
  const c = pc.createColors(opts.color ?? false);
  if (items.length === 0)
    return 'No IMDSv1 exposure: no 1.0 delivery seen and no instance allowing IMDSv1 in the inventory.\n';
  const width = Math.max(MIN_WIDTH, Math.floor(opts.width ?? DEFAULT_WIDTH));
  const columns = [
    { title: '#', width: 4 },
    { title: 'SEVERITY', width: 8 },
    { title: 'INSTANCE', width: 19 },
    { title: 'ACCOUNT', width: 12 },
    { title: 'ROLE', width: 28 },
    { title: 'TIER', width: 10 },
    { title: '1.0', width: 6 },
    { title: 'TOKENS', width: 8 },
  ];
  const indent = ' '.repeat(columns[0]!.width + 1);
  const lines: string[] = [];
  lines.push(
    c.bold(
      columns
        .map((col) => pad(col.title, col.width))
        .join(' ')
        .trimEnd(),
    ),
  );
  for (const item of items) {
    const tokens = item.metadata
      ? item.status === 'fixed-verify'
        ? 'fixed?'
        : item.metadata.httpTokens || '?'
      : 'unknown';
    const values = [
      String(item.rank),
      item.severity,
      item.instanceId,
      item.accountId || '-',
      item.role.name || '-',
      SHORT_TIER[item.privilege.tier],
      String(item.imdsv1.calls),
      tokens,
    ];
    const cells = values.map((v, i) => pad(cell(v, columns[i]!.width), columns[i]!.width));
    cells[1] = paint(c, item.severity, cells[1]!);
    lines.push(cells.join(' ').trimEnd());
    lines.push(c.dim(indent + cell(item.privilege.explanation, width - indent.length)));
  }
  lines.push('');
  for (const a of accounts) {
    lines.push(
      cell(
        `account ${a.accountId || 'unknown'}: ${a.instances} instance${a.instances === 1 ? '' : 's'} ` +
          `(${a.imdsv1Seen} with 1.0 seen, ${a.allowsOnly} allowing only, ${a.fixedVerify} fixed: verify), ` +
          `worst ${a.worstTier}, ${a.imdsv1Calls} 1.0 calls`,
        width,
      ),
    );
  }
  lines.push(
    c.dim(
      cell('--format markdown prints the migration plan with every command; --format json adds the details', width),
    ),
  );
  return lines.join('\n') + '\n';
}
