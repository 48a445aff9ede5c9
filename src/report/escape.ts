/**
 * Escaping for strings that come from attacker-controlled logs (user agents,
 * ARNs, session names, event ids …) before they reach a terminal, a CSV cell,
 * markdown or HTML.
 */

const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * True for code points that must never be written raw: C0 controls, DEL, C1
 * controls, bidi embeddings/overrides/isolates and marks, zero-width and other
 * invisible format characters, line/paragraph separators, the BOM, interlinear
 * annotation controls and Unicode tag characters.
 */
export function isUnsafeCodePoint(cp: number): boolean {
  return (
    cp <= 0x1f ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0xad ||
    cp === 0x061c ||
    cp === 0x180e ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x2028 && cp <= 0x202e) ||
    (cp >= 0x2060 && cp <= 0x206f) ||
    cp === 0xfeff ||
    (cp >= 0xfff9 && cp <= 0xfffb) ||
    // Tag characters are invisible and used to smuggle hidden text.
    (cp >= 0xe0000 && cp <= 0xe007f)
  );
}

function visibleEscape(cp: number): string {
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\u{${cp.toString(16)}}`;
}

/**
 * Splits `s` into display tokens after escaping: each token is either one
 * safe code point or one whole visible escape such as `\x1b`. Truncating on
 * token boundaries can never cut an escape sequence in half.
 */
export function escapeTokens(s: string): string[] {
  const tokens: string[] = [];
  // for…of walks code points; a lone surrogate comes out as a single code unit.
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0xd800 && cp <= 0xdfff) tokens.push(REPLACEMENT_CHARACTER);
    else if (isUnsafeCodePoint(cp)) tokens.push(visibleEscape(cp));
    else tokens.push(ch);
  }
  return tokens;
}

/**
 * Makes `s` safe to print on a terminal: every control, bidi and invisible
 * format character becomes a visible escape (`\x1b`, `\u202e`, `\u{e0041}`)
 * and lone surrogates become U+FFFD. Backslashes are left as they are, so a
 * literal `\x1b` in the input looks the same as an escaped ESC.
 */
export function escapeForTerminal(s: string): string {
  return escapeTokens(s).join('');
}

const FORMULA_PREFIXES = new Set(['=', '+', '-', '@', '\t', '\r', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20']);

/**
 * Makes `s` one safe RFC 4180 CSV field: controls are escaped as for the
 * terminal, a cell that a spreadsheet could read as a formula (leading `=`,
 * `+`, `-`, `@`, TAB, CR or their full-width forms) gets a leading `'`
 * (OWASP CSV injection guidance), and the field is quoted when it contains
 * `,`, `"`, CR or LF, with inner quotes doubled.
 */
export function escapeCsvCell(s: string): string {
  const escaped = escapeForTerminal(s);
  const first = s.charAt(0);
  const firstEscaped = escaped.charAt(0);
  const cell = FORMULA_PREFIXES.has(first) || FORMULA_PREFIXES.has(firstEscaped) ? `'${escaped}` : escaped;
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

const MARKDOWN_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '|': '\\|',
  '`': '\\`',
  '*': '\\*',
  _: '\\_',
  '[': '\\[',
  ']': '\\]',
  '~': '\\~',
  '<': '&lt;',
  '>': '&gt;',
  '&': '&amp;',
};

/**
 * Makes `s` safe as inline text in a markdown table cell: controls (including
 * newlines) are escaped as for the terminal, then the table separator `|`,
 * backslash, backticks, emphasis, link brackets and `~` are backslash-escaped
 * and `<`, `>`, `&` become HTML entities. Bare URLs may still be autolinked
 * by GitHub-flavoured renderers.
 */
export function escapeMarkdown(s: string): string {
  return escapeForTerminal(s).replace(/[\\|`*_[\]~<>&]/g, (c) => MARKDOWN_ESCAPES[c] ?? c);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Makes `s` safe as HTML text or a quoted attribute value: `& < > " '` become
 * entities, and controls, bidi and invisible characters become visible
 * escapes as for the terminal so they cannot spoof what is displayed.
 */
export function escapeHtml(s: string): string {
  return escapeForTerminal(s).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}
