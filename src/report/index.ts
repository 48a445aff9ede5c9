import type { Finding } from '../detect/finding.js';
import { renderCsv } from './csv.js';
import type { Incident } from '../engine/incidents.js';
import { renderJson, renderNdjson } from './json.js';
import { renderMarkdown } from './markdown.js';
import { renderTable } from './table.js';

export { escapeCsvCell, escapeForTerminal, escapeHtml, escapeMarkdown } from './escape.js';
export { CSV_COLUMNS, renderCsv } from './csv.js';
export { renderJson, renderNdjson } from './json.js';
export { renderMarkdown, type MarkdownOptions } from './markdown.js';
export { renderTable, shouldUseColor } from './table.js';

/** Output formats; ocsf and asff will be added. */
export const FORMATS = ['table', 'json', 'ndjson', 'csv', 'markdown'] as const;
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
  /** json, markdown: fixed `version` / `generatedAt`, for reproducible output. */
  version?: string;
  now?: Date;
}

/** Renders `findings` in `format`; the result ends in a newline unless empty ndjson. */
export function renderFindings(findings: readonly Finding[], format: OutputFormat, opts: RenderOptions = {}): string {
  switch (format) {
    case 'table':
      return renderTable(findings, {
        color: opts.color ?? false,
        ...(opts.width !== undefined ? { width: opts.width } : {}),
      });
    case 'json':
      return renderJson(findings, opts.meta ?? {}, {
        ...(opts.version !== undefined ? { version: opts.version } : {}),
        ...(opts.now !== undefined ? { now: opts.now } : {}),
      });
    case 'ndjson':
      return renderNdjson(findings);
    case 'csv':
      return renderCsv(findings);
    case 'markdown':
      return renderMarkdown(findings, {
        meta: opts.meta ?? {},
        ...(opts.incidents !== undefined ? { incidents: opts.incidents } : {}),
        ...(opts.version !== undefined ? { version: opts.version } : {}),
        ...(opts.now !== undefined ? { now: opts.now } : {}),
      });
    default: {
      const unknown: never = format;
      throw new Error(`unknown output format: ${String(unknown)}`);
    }
  }
}
