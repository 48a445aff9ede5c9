import pc from 'picocolors';
import { SEVERITIES, severityRank, type Finding, type Severity } from '../detect/finding.js';
import { escapeTokens } from './escape.js';
import { triageOf } from './triage.js';

/** Options for {@link renderTable}. */
export interface TableOptions {
  /** Emit ANSI colours; decide with {@link shouldUseColor}. */
  color: boolean;
  /** Terminal columns to fit; default 100, values below 40 are treated as 40. */
  width?: number;
  /** Show each finding's stored status, update time and note (findings read from the store). */
  triage?: boolean;
  /** Keep the given order instead of most severe first (a store query already sorted them). */
  keepOrder?: boolean;
}

/**
 * Decides whether to colour output written to `stream`: off when `NO_COLOR`
 * is set non-empty, when `FORCE_COLOR` is `0`/`false`, or when the stream is
 * not a TTY (or `TERM=dumb`); any other `FORCE_COLOR` value forces colour on
 * for a non-TTY. `NO_COLOR` wins over `FORCE_COLOR`.
 */
export function shouldUseColor(
  stream: { isTTY?: boolean | undefined },
  env: Record<string, string | undefined>,
): boolean {
  const noColor = env['NO_COLOR'];
  if (noColor !== undefined && noColor !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (stream.isTTY !== true) return false;
  return env['TERM'] !== 'dumb';
}

const DEFAULT_WIDTH = 100;
const MIN_WIDTH = 40;
const ELLIPSIS = '…';
const LABEL_WIDTH = 12;
const INDENT = '  ';
const SEVERITY_LABEL_WIDTH = 10;
const MAX_LISTED_ACTIONS = 8;

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    cp === 0x2329 ||
    cp === 0x232a ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe10 && cp <= 0xfe19) ||
    (cp >= 0xfe30 && cp <= 0xfe6f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x2fffd) ||
    (cp >= 0x30000 && cp <= 0x3fffd)
  );
}

const ZERO_WIDTH = /^[\p{Mn}\p{Me}]$/u;
const EMOJI_PRESENTATION = /^\p{Emoji_Presentation}$/u;

function tokenWidth(token: string): number {
  // Escape tokens such as `\x1b` are plain ASCII, one column per character.
  if (token.length > 2) return token.length;
  const cp = token.codePointAt(0) ?? 0;
  if (token.length === 2 && cp <= 0xffff) return token.length;
  if (ZERO_WIDTH.test(token)) return 0;
  if (isWide(cp) || EMOJI_PRESENTATION.test(token)) return 2;
  return 1;
}

/**
 * Columns `s` occupies on a terminal, ignoring ANSI SGR colour sequences;
 * East Asian wide characters and emoji count 2, combining marks 0.
 */
export function visibleWidth(s: string): number {
  let width = 0;
  for (const ch of stripAnsi(s)) width += tokenWidth(ch);
  return width;
}

/** Removes the ANSI SGR colour sequences that this renderer adds. */
export function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

/** Display tokens for text this module writes itself (already safe). */
function own(text: string): string[] {
  return [...text];
}

/** Joins tokens, cutting at a token boundary with `…` when wider than `max` columns. */
function fit(tokens: readonly string[], max: number): string {
  let total = 0;
  for (const t of tokens) total += tokenWidth(t);
  if (total <= max) return tokens.join('');
  const budget = max - 1;
  let used = 0;
  let out = '';
  for (const t of tokens) {
    const w = tokenWidth(t);
    if (used + w > budget) break;
    used += w;
    out += t;
  }
  return out + ELLIPSIS;
}

function joinTokens(parts: readonly (readonly string[])[], separator: string): string[] {
  const out: string[] = [];
  parts.forEach((p, i) => {
    if (i > 0) out.push(...own(separator));
    out.push(...p);
  });
  return out;
}

function widthOf(tokens: readonly string[]): number {
  let w = 0;
  for (const t of tokens) w += tokenWidth(t);
  return w;
}

type Colors = ReturnType<typeof pc.createColors>;

function paintSeverity(c: Colors, severity: Severity, text: string): string {
  switch (severity) {
    case 'critical':
      return c.bold(c.red(text));
    case 'high':
      return c.red(text);
    case 'medium':
      return c.yellow(text);
    case 'low':
      return c.cyan(text);
    case 'info':
      return c.gray(text);
    default:
      return text;
  }
}

function orDash(tokens: string[]): string[] {
  return tokens.length === 0 ? own('-') : tokens;
}

/** Lists as many items as fit in `max` columns, then `+N more`. */
function listWithMore(items: readonly string[], max: number): string[] {
  const escaped = items.slice(0, MAX_LISTED_ACTIONS).map((a) => escapeTokens(a));
  const shown: string[][] = [];
  for (let i = 0; i < escaped.length; i++) {
    const candidate = [...shown, escaped[i] ?? []];
    const rest = items.length - candidate.length;
    const suffix = rest > 0 ? own(` +${rest} more`) : [];
    if (widthOf(joinTokens(candidate, ', ')) + widthOf(suffix) > max && shown.length > 0) break;
    shown.push(escaped[i] ?? []);
  }
  const rest = items.length - shown.length;
  const out = joinTokens(shown, ', ');
  if (rest > 0) out.push(...own(` +${rest} more`));
  return out;
}

function compareFindings(a: Finding, b: Finding): number {
  const bySeverity = severityRank(b.severity) - severityRank(a.severity);
  if (bySeverity !== 0) return bySeverity;
  if (a.activity.lastSeen !== b.activity.lastSeen) return a.activity.lastSeen < b.activity.lastSeen ? 1 : -1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function renderBlock(f: Finding, width: number, c: Colors, triage: boolean): string[] {
  const lines: string[] = [];
  const valueWidth = width - INDENT.length - LABEL_WIDTH;
  const field = (label: string, value: string[]): void => {
    lines.push(INDENT + c.dim(label.padEnd(LABEL_WIDTH)) + fit(value, valueWidth));
  };

  // Fields are typed, but bodies read back from a store are only as trustworthy as the file.
  const severityLabel = fit(escapeTokens(String(f.severity).toUpperCase()), SEVERITY_LABEL_WIDTH - 1);
  lines.push(
    paintSeverity(c, f.severity, severityLabel) +
      ' '.repeat(SEVERITY_LABEL_WIDTH - visibleWidth(severityLabel)) +
      c.bold(fit(escapeTokens(f.title), width - SEVERITY_LABEL_WIDTH)),
  );

  if (triage) {
    const t = triageOf(f);
    const state = [...orDash(escapeTokens(t.status))];
    if (t.updatedAt) state.push(...own('  updated '), ...escapeTokens(t.updatedAt));
    if (t.statusNote) state.push(...own('  note '), ...escapeTokens(t.statusNote));
    field('status', state);
  }

  const technique = f.attack.technique ? [...own(' ('), ...escapeTokens(f.attack.technique), ...own(')')] : [];
  field('detector', [...orDash(escapeTokens(f.detector)), ...technique]);
  field('confidence', escapeTokens(String(f.confidence)));
  field('account', orDash(escapeTokens(f.accountId)));

  const principal = [...orDash(escapeTokens(f.principal.role))];
  if (f.principal.instanceId) principal.push(...own('  instance '), ...escapeTokens(f.principal.instanceId));
  if (f.principal.sessionName && f.principal.sessionName !== f.principal.instanceId) {
    principal.push(...own('  session '), ...escapeTokens(f.principal.sessionName));
  }
  field('role', principal);

  const source = [...orDash(escapeTokens(f.source.ip)), ...own('  '), ...escapeTokens(f.source.class)];
  if (f.source.vpcEndpointId) source.push(...own('  via '), ...escapeTokens(f.source.vpcEndpointId));
  source.push(...own('  owner '), ...orDash(escapeTokens(f.source.owner)));
  field('source', source);

  const calls = escapeTokens(
    `${f.activity.calls} call${f.activity.calls === 1 ? '' : 's'}` +
      (f.activity.errorCount > 0 ? `, ${f.activity.errorCount} failed` : '') +
      (f.activity.actions.length > 0 ? ': ' : ''),
  );
  field('activity', [...calls, ...listWithMore(f.activity.actions, valueWidth - widthOf(calls))]);

  field('seen', [
    ...orDash(escapeTokens(f.activity.firstSeen)),
    ...own(' → '),
    ...orDash(escapeTokens(f.activity.lastSeen)),
  ]);

  const reasons = f.evidence.reasons;
  if (reasons.length > 0) {
    const more = reasons.length > 1 ? own(` (+${reasons.length - 1} more)`) : [];
    lines.push(
      INDENT +
        c.dim('reason'.padEnd(LABEL_WIDTH)) +
        fit(escapeTokens(reasons[0] ?? ''), valueWidth - widthOf(more)) +
        more.join(''),
    );
  }
  // Comment lines are hints for the commands below them; the table shows the first thing to run.
  const command = f.response.commands.find((c) => !c.startsWith('#'));
  if (command !== undefined) field('respond', escapeTokens(command));
  field('id', escapeTokens(f.id));
  return lines;
}

function summary(findings: readonly Finding[], width: number, c: Colors): string {
  const counts = new Map<Severity, number>();
  for (const f of findings) counts.set(f.severity, (counts.get(f.severity) ?? 0) + 1);
  const present = SEVERITIES.filter((s) => (counts.get(s) ?? 0) > 0);
  const n = findings.length;
  const head = `${n} finding${n === 1 ? '' : 's'}: `;
  const plain = head + present.map((s) => `${counts.get(s) ?? 0} ${s}`).join(', ');
  if (visibleWidth(plain) > width) return fit(own(plain), width);
  return head + present.map((s) => paintSeverity(c, s, `${counts.get(s) ?? 0} ${s}`)).join(', ');
}

/**
 * Renders findings as human-readable blocks, most severe and most recent
 * first, every line fitting `opts.width` columns, followed by a summary line
 * with counts per severity. Attacker-controlled strings are escaped before
 * truncation, and truncation never splits an escape. Returns text ending in a
 * newline; `No findings.` when `findings` is empty.
 */
export function renderTable(findings: readonly Finding[], opts: TableOptions): string {
  const c = pc.createColors(opts.color);
  if (findings.length === 0) return 'No findings.\n';
  const width = Math.max(MIN_WIDTH, Math.floor(opts.width ?? DEFAULT_WIDTH));
  const sorted = opts.keepOrder === true ? [...findings] : [...findings].sort(compareFindings);
  const out: string[] = [];
  for (const f of sorted) {
    out.push(...renderBlock(f, width, c, opts.triage === true), '');
  }
  out.push(summary(sorted, width, c));
  return out.join('\n') + '\n';
}
