/**
 * Undoing the encodings an SSRF payload hides behind, one layer at a time: percent-encoding
 * (also `%uXXXX` and overlong UTF-8 `%c0%ae`), HTML character references, backslash escapes
 * (`\xHH` — nginx writes non-printable bytes that way — `\uXXXX`, `\u{…}`, `\/`) and Unicode
 * look-alikes (NFKC folds fullwidth and circled digits and letters; other scripts' decimal
 * digits and ideographic full stops are mapped to ASCII; invisible characters are dropped).
 */

/** The names of the decodings, as they appear in finding reasons. */
export type DecodingStep =
  'percent-decoding' | 'HTML character references' | 'backslash escapes' | 'Unicode look-alikes';

/** A text with every layer that decoding peeled off it. */
export interface DecodedLayers {
  /** layers[0] is the input; layers[i] is the text after i rounds of decoding. */
  layers: string[];
  /** steps[i] lists what round i+1 decoded (one entry per layer after the first). */
  steps: DecodingStep[][];
}

/** Rounds of decoding at most; payloads in the wild nest two or three. */
export const MAX_DECODING_ROUNDS = 8;
/** Longer texts are decoded only as far as this many characters. */
const MAX_DECODED_CHARS = 16 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: false });

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/** Bytes to text: UTF-8, with overlong two-byte forms of ASCII (C0/C1 lead bytes) folded to ASCII as old parsers did. */
function bytesToText(bytes: number[]): string {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const next = bytes[i + 1];
    if ((b === 0xc0 || b === 0xc1) && next !== undefined && (next & 0xc0) === 0x80) {
      out.push(((b & 1) << 6) | (next & 0x3f));
      i++;
      continue;
    }
    out.push(b);
  }
  return utf8.decode(Uint8Array.from(out));
}

/** One round of percent-decoding; invalid sequences stay as they are. */
export function percentDecode(text: string): string {
  if (!text.includes('%')) return text;
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c !== 37) {
      const next = text.indexOf('%', i);
      const end = next < 0 ? n : next;
      out += text.slice(i, end);
      i = end;
      continue;
    }
    if ((text.charCodeAt(i + 1) | 0x20) === 117 && i + 5 < n) {
      const h = [2, 3, 4, 5].map((k) => hexValue(text.charCodeAt(i + k)));
      if (h.every((v) => v >= 0)) {
        out += String.fromCharCode(h[0]! * 4096 + h[1]! * 256 + h[2]! * 16 + h[3]!);
        i += 6;
        continue;
      }
    }
    const bytes: number[] = [];
    while (i + 2 < n + 0 && text.charCodeAt(i) === 37) {
      const hi = hexValue(text.charCodeAt(i + 1));
      const lo = hexValue(text.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) break;
      bytes.push(hi * 16 + lo);
      i += 3;
    }
    if (bytes.length === 0) {
      out += '%';
      i += 1;
    } else {
      out += bytesToText(bytes);
    }
  }
  return out;
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  sol: '/',
  bsol: '\\',
  colon: ':',
  period: '.',
  commat: '@',
  num: '#',
  quest: '?',
  equals: '=',
  percnt: '%',
  lsqb: '[',
  rsqb: ']',
  lbrack: '[',
  rbrack: ']',
  nbsp: ' ',
  tab: '\t',
  newline: '\n',
  excl: '!',
  plus: '+',
  comma: ',',
  semi: ';',
  lpar: '(',
  rpar: ')',
  dollar: '$',
  ast: '*',
  hyphen: '-',
  dash: '-',
  lowbar: '_',
};

/** One round of HTML character-reference decoding (`&#47;`, `&#x2f;`, `&sol;`; `;` optional for numeric ones). */
export function htmlDecode(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(?:#[xX]([0-9a-fA-F]{1,6});?|#([0-9]{1,7});?|([a-zA-Z]{2,8});)/g, (whole, hex, dec, name) => {
    if (hex !== undefined || dec !== undefined) {
      const cp = hex !== undefined ? parseInt(hex as string, 16) : parseInt(dec as string, 10);
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : whole;
    }
    return NAMED_ENTITIES[(name as string).toLowerCase()] ?? whole;
  });
}

/** One round of backslash-escape decoding: runs of `\xHH` as UTF-8 bytes, `\uXXXX`, `\u{…}`, `\/`. */
export function backslashDecode(text: string): string {
  if (!text.includes('\\')) return text;
  let out = text.replace(/(?:\\x[0-9a-fA-F]{2})+/g, (run) => {
    const bytes: number[] = [];
    for (let i = 0; i < run.length; i += 4) bytes.push(parseInt(run.slice(i + 2, i + 4), 16));
    return bytesToText(bytes);
  });
  out = out.replace(/\\u\{([0-9a-fA-F]{1,6})\}|\\u([0-9a-fA-F]{4})/g, (whole, braced, plain) => {
    const cp = parseInt((braced ?? plain) as string, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
  });
  return out.replace(/\\\//g, '/');
}

let digitTable: Map<number, number> | undefined;

/** Code point → decimal value for every Unicode decimal digit (General Category Nd), built on first use. */
function unicodeDigits(): Map<number, number> {
  if (digitTable) return digitTable;
  const table = new Map<number, number>();
  const nd = /\p{Nd}/u;
  let run = 0;
  for (let cp = 0x80; cp <= 0x1fbf9; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (nd.test(String.fromCodePoint(cp))) {
      table.set(cp, run % 10);
      run++;
    } else {
      run = 0;
    }
  }
  // Dingbat and double-circled digits have no compatibility decomposition, so NFKC leaves them.
  const runs: [number, number, number][] = [
    [0x2776, 1, 9],
    [0x2780, 1, 9],
    [0x278a, 1, 9],
    [0x24f5, 1, 9],
  ];
  for (const [start, from, count] of runs) for (let k = 0; k < count; k++) table.set(start + k, from + k);
  table.set(0x24ff, 0);
  table.set(0x1f10b, 0);
  table.set(0x1f10c, 0);
  digitTable = table;
  return table;
}

const DOT_LOOKALIKES = new Set([0x3002, 0xff61, 0xff0e, 0x2024, 0xfe52, 0x0701, 0x0702, 0x2e31, 0x30fb, 0xb7]);
/** Characters URL and IDNA processing drop or ignore: soft hyphen, zero-width and joiner marks, variation selectors, bidi controls. */
function isInvisible(cp: number): boolean {
  return (
    cp === 0xad ||
    cp === 0x34f ||
    cp === 0x61c ||
    cp === 0x115f ||
    cp === 0x1160 ||
    cp === 0x17b4 ||
    cp === 0x17b5 ||
    (cp >= 0x180b && cp <= 0x180e) ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2060 && cp <= 0x206f) ||
    cp === 0x3164 ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    cp === 0xfeff ||
    cp === 0xffa0
  );
}

function dropInvisible(text: string): string {
  let out = '';
  for (const ch of text) if (!isInvisible(ch.codePointAt(0)!)) out += ch;
  return out;
}

/** Folds Unicode look-alikes of ASCII digits, letters and dots (NFKC, decimal digits of any script, ideographic full stops). */
export function foldUnicode(text: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(text)) return text;
  const folded = dropInvisible(text).normalize('NFKC');
  let out = '';
  const digits = unicodeDigits();
  for (const ch of folded) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      out += ch;
      continue;
    }
    const d = digits.get(cp);
    if (d !== undefined) out += String.fromCharCode(48 + d);
    else if (DOT_LOOKALIKES.has(cp)) out += '.';
    else out += ch;
  }
  return out;
}

/** Cheap test: could any decoding change this text? */
export function mayBeEncoded(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 37 || c === 38 || c === 92 || c > 0x7f) return true;
  }
  return false;
}

/**
 * Decodes `text` round by round until nothing changes or {@link MAX_DECODING_ROUNDS} rounds
 * were applied; each round runs every decoding once. Layers are kept so a matcher can look at
 * each one: decoding too far can also destroy structure (`%2526` → `&` splits a parameter).
 */
export function decodeLayers(text: string, maxRounds: number = MAX_DECODING_ROUNDS): DecodedLayers {
  // Both web detectors decode the same query string back to back: remember the last answer.
  if (text === memo.text && maxRounds === memo.maxRounds && memo.result) return memo.result;
  const result = decodeUncached(text, maxRounds);
  memo.text = text;
  memo.maxRounds = maxRounds;
  memo.result = result;
  return result;
}

const memo: { text: string; maxRounds: number; result: DecodedLayers | undefined } = {
  text: '',
  maxRounds: 0,
  result: undefined,
};

function decodeUncached(text: string, maxRounds: number): DecodedLayers {
  const input = text.length > MAX_DECODED_CHARS ? text.slice(0, MAX_DECODED_CHARS) : text;
  const layers = [input];
  const steps: DecodingStep[][] = [];
  let current = input;
  for (let round = 0; round < maxRounds && mayBeEncoded(current); round++) {
    const applied: DecodingStep[] = [];
    let next = percentDecode(current);
    if (next !== current) applied.push('percent-decoding');
    let after = htmlDecode(next);
    if (after !== next) applied.push('HTML character references');
    next = after;
    after = backslashDecode(next);
    if (after !== next) applied.push('backslash escapes');
    next = after;
    after = foldUnicode(next);
    if (after !== next) applied.push('Unicode look-alikes');
    next = after;
    if (next === current) break;
    layers.push(next);
    steps.push(applied);
    current = next;
  }
  return { layers, steps };
}
