import type { Finding } from '../detect/finding.js';
import { renderAsff } from './asff.js';
import { renderCsv } from './csv.js';
import type { Incident } from '../engine/incidents.js';
import { renderJson, renderNdjson } from './json.js';
import { renderMarkdown } from './markdown.js';
import { renderOcsf } from './ocsf.js';
import { renderTable } from './table.js';

export { renderAsff, toAsff, type AsffFinding, type AsffOptions } from './asff.js';
export { escapeCsvCell, escapeForTerminal, escapeHtml, escapeMarkdown } from './escape.js';
export { CSV_COLUMNS, renderCsv, TRIAGE_CSV_COLUMNS } from './csv.js';
export { renderJson, renderJsonValue, renderNdjson } from './json.js';
export { renderMarkdown, type MarkdownOptions } from './markdown.js';
export { OCSF_VERSION, renderOcsf, toOcsf, type OcsfDetectionFinding, type OcsfOptions } from './ocsf.js';
export { renderTable, shouldUseColor } from './table.js';
export { triageOf, type TriageFields } from './triage.js';

/** Output formats. */
export const FORMATS = ['table', 'json', 'ndjson', 'csv', 'markdown', 'ocsf', 'asff'] as const;
/** One of {@link FORMATS}. */
export type OutputFormat = (typeof FORMATS)[number];

/** True when `value` names a known output format. */
export function isOutputFormat(value: string): value is OutputFormat {
  return (FORMATS as readonly string[]).includes(value);
}

/** `table` for a person at a terminal, `ndjson` for a pipe or file. */
export function defaultFormat(stdoutIsTty: boolean): OutputFormat {
  return stdoutIsTty ? 'table' : 'ndjson';
}

/** Options for {@link renderFindings}; each format reads only what it needs. */
export interface RenderOptions {
  /** table: emit colours (default false). */
  color?: boolean;
  /** table: columns to fit (default 100). */
  width?: number;
  /** json: the opaque `meta` object; markdown: the scope (inputs, webInputs, ipRangesSyncToken, warningCount, suppressed). */
  meta?: Record<string, unknown>;
  /** markdown: findings linked into incidents; without them each finding is its own section. */
  incidents?: readonly Incident[];
  /** json, markdown, ocsf: fixed `version` / `generatedAt` (ocsf: product version, time of undated findings), for reproducible output. */
  version?: string;
  now?: Date;
  /** table, csv, markdown: show the stored status, note and times (findings read from the store). */
  triage?: boolean;
  /** table: keep the given order instead of most severe first. */
  keepOrder?: boolean;
  /** asff: the Security Hub region (default us-east-1), and optionally the account and product ARN to file under. */
  asff?: { region?: string; awsAccountId?: string; productArn?: string };
}

/** Renders `findings` in `format`; the result ends in a newline unless empty ndjson. */
export function renderFindings(findings: readonly Finding[], format: OutputFormat, opts: RenderOptions = {}): string {
  switch (format) {
    case 'table':
      return renderTable(findings, {
        color: opts.color ?? false,
        ...(opts.width !== undefined ? { width: opts.width } : {}),
        ...(opts.triage !== undefined ? { triage: opts.triage } : {}),
        ...(opts.keepOrder !== undefined ? { keepOrder: opts.keepOrder } : {}),
      });
    case 'json':
      return renderJson(findings, opts.meta ?? {}, {
        ...(opts.version !== undefined ? { version: opts.version } : {}),
        ...(opts.now !== undefined ? { now: opts.now } : {}),
      });
    case 'ndjson':
      return renderNdjson(findings);
    case 'csv':
      return renderCsv(findings, opts.triage !== undefined ? { triage: opts.triage } : {});
    case 'markdown':
      return renderMarkdown(findings, {
        meta: opts.meta ?? {},
        ...(opts.incidents !== undefined ? { incidents: opts.incidents } : {}),
        ...(opts.version !== undefined ? { version: opts.version } : {}),
        ...(opts.now !== undefined ? { now: opts.now } : {}),
        ...(opts.triage !== undefined ? { triage: opts.triage } : {}),
      });
    case 'ocsf':
      return renderOcsf(findings, {
        ...(opts.version !== undefined ? { productVersion: opts.version } : {}),
        ...(opts.now !== undefined ? { now: opts.now } : {}),
      });
    case 'asff':
      return renderAsff(findings, {
        region: opts.asff?.region ?? 'us-east-1',
        ...(opts.asff?.awsAccountId !== undefined ? { awsAccountId: opts.asff.awsAccountId } : {}),
        ...(opts.asff?.productArn !== undefined ? { productArn: opts.asff.productArn } : {}),
        ...(opts.now !== undefined ? { now: opts.now } : {}),
      });
    default: {
      const unknown: never = format;
      throw new Error(`unknown output format: ${String(unknown)}`);
    }
  }
}
