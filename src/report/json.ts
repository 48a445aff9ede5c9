import type { Finding } from '../detect/finding.js';
import { offboxVersion } from './version.js';

/** Options for {@link renderJson}; both exist for reproducible output in tests. */
export interface JsonOptions {
  version?: string;
  now?: Date;
}

// JSON.stringify leaves these raw. Escaping them is lossless for JSON parsers
// and keeps `cat`-ing the output from driving a terminal (U+009B is an 8-bit
// CSI) or splitting a line for line-based readers (U+2028/U+2029). They can
// only occur inside string literals, so a plain replace is safe. Same set as
// isUnsafeCodePoint in escape.ts minus C0, which JSON.stringify handles.
const RAW_UNSAFE =
  /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}]/gu;

/**
 * Writes the characters JSON.stringify leaves raw (DEL, C1 controls, U+2028/U+2029,
 * bidi and invisible format characters) in `json` as `\uXXXX`; lossless for parsers.
 */
export function escapeRaw(json: string): string {
  return json.replace(RAW_UNSAFE, (c) => {
    let out = '';
    // Astral tag characters become a surrogate pair of \u escapes, as JSON requires.
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}

/**
 * Renders one pretty-printed JSON document
 * `{ tool: "offbox", version, generatedAt, meta, findings }`, ending in a
 * newline. `meta` is passed through as is (ip-ranges syncToken, inputs,
 * warning count …).
 */
export function renderJson(
  findings: readonly Finding[],
  meta: Record<string, unknown> = {},
  opts: JsonOptions = {},
): string {
  const doc = {
    tool: 'offbox',
    version: opts.version ?? offboxVersion(),
    generatedAt: (opts.now ?? new Date()).toISOString(),
    meta,
    findings,
  };
  return escapeRaw(JSON.stringify(doc, null, 2)) + '\n';
}

/** Pretty-prints any value as JSON with the escaping of {@link renderJson}, ending in a newline. */
export function renderJsonValue(value: unknown): string {
  return escapeRaw(JSON.stringify(value, null, 2)) + '\n';
}

/**
 * Renders one finding per line (newline-delimited JSON). Besides the control
 * characters JSON.stringify escapes, U+2028/U+2029, DEL, C1 controls and
 * bidi/invisible format characters are written as `\uXXXX`, so no finding
 * spans two lines for any line splitter. Empty input gives an empty string.
 */
export function renderNdjson(findings: readonly Finding[]): string {
  return findings.map((f) => escapeRaw(JSON.stringify(f)) + '\n').join('');
}
