/**
 * Splits a decoded CloudTrail log byte stream into single records without parsing the whole file.
 *
 * The scanner tracks only string state (quotes and backslash escapes) and nesting depth; the
 * JSON inside a record is validated later, when each record is parsed on its own.
 */
import { DEFAULT_MAX_NESTING_DEPTH } from './nesting.js';

/** One framed record, or a record that could not be framed. */
export type FrameItem =
  /**
   * One JSON value that should be one event (or, for a bare array or JSON lines, possibly a
   * `{"Records":[…]}` wrapper the caller expands). `bytes` may be a view into an input chunk.
   */
  | { kind: 'record'; index: number; bytes: Buffer }
  /** A record that could not be framed: truncated, cut off at the end of its line, too large, or garbage. */
  | { kind: 'bad'; index: number; reason: string };

export interface FrameLimits {
  /** Largest record accepted, in bytes; larger ones become `bad` and are skipped without being buffered. */
  maxRecordBytes: number;
  /** Deepest nesting of arrays and objects in one record; deeper ones become `bad`. Default DEFAULT_MAX_NESTING_DEPTH. */
  maxNestingDepth?: number;
}

/**
 * The shape of a file, decided by its first top-level value:
 * - `records-object`: `{"Records":[…]}` (S3 delivery), possibly several concatenated;
 * - `export-object`: an export whose top-level object holds the records in an array under
 *   `Events` (lookup-events), `logEvents` (CloudWatch Logs subscription payload), `events`
 *   (filter-log-events), `QueryResultRows` (CloudTrail Lake) or `records` (Firehose);
 * - `array`: a bare array of records;
 * - `json-lines`: top-level objects one after another (one per line, pretty-printed, or back to
 *   back as Firehose concatenates them), or a first object cut short before its kind showed;
 * - `timestamped-lines`: JSON objects each after an ISO timestamp and a space (a CloudWatch Logs
 *   export to S3);
 * - `digest`: a CloudTrail digest file (no records);
 * - `empty`: nothing but whitespace;
 * - `unknown`: not JSON, or too short to tell.
 */
export type Layout =
  'records-object' | 'export-object' | 'array' | 'json-lines' | 'timestamped-lines' | 'digest' | 'empty' | 'unknown';

/** CloudTrail events are a few KiB; 1 MiB leaves a wide margin. */
export const DEFAULT_FRAME_LIMITS: FrameLimits = Object.freeze({ maxRecordBytes: 1024 * 1024 });

const QUOTE = 0x22;
const BSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACK = 0x5b;
const RBRACK = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const NL = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;

const M_TOP = 0; // between top-level values
const M_VALUE = 1; // inside a value (see kind)
const M_ARRAY = 2; // inside an array of records, between elements
const M_TOKEN = 3; // inside a scalar array element
const M_GARBAGE = 4; // skipping bytes that are not JSON, looking for a record start
const M_AFTER_RKEY = 5; // after a top-level "Records" (or other container) key, looking for `[`
const M_STAMP = 6; // a digit between values: an ISO timestamp before a JSON object, or garbage

const V_ELEMENT = 0; // an element of an array of records
const V_TOPOBJ = 1; // a top-level object: an event, or a wrapper/digest once its keys say so
const V_SKIP = 2; // the rest of a wrapper or a digest: scanned, never buffered

const S_NONE = 0;
const S_PLAIN = 1;
const S_KEY = 2;

const RECORDS_KEY = Buffer.from('Records');
/**
 * Top-level keys whose array holds the records of an export: like `Records`, each element is
 * framed on its own, so an export of any size is read in bounded memory.
 */
const CONTAINER_KEYS = ['Events', 'events', 'logEvents', 'QueryResultRows', 'records'].map((k) => Buffer.from(k));
/** Longest `2023-07-10T12:05:01.123456789+00:00` before a JSON object, and the blanks after it. */
const MAX_STAMP = 40;
const MAX_STAMP_GAP = 8;
const DIGEST_KEYS = ['digestStartTime', 'digestEndTime', 'digestS3Bucket', 'digestS3Object'].map((k) => Buffer.from(k));
const MAX_KEY = 32;

function formatLimit(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes}-byte`;
}

function describeByte(c: number): string {
  if (c >= 0x21 && c <= 0x7e) return `'${String.fromCharCode(c)}'`;
  return `byte 0x${c.toString(16).padStart(2, '0')}`;
}

/**
 * Incremental framer: push a chunk, pull items until `next()` returns undefined, push the
 * next chunk, and call `finish()` at end of input. Shared by frameStream and frameBuffer.
 */
class Framer {
  private readonly max: number;
  private readonly maxDepth: number;
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private base = 0; // absolute offset of buf[0]

  private mode = M_TOP;
  private kind = V_ELEMENT;
  private depth = 0;
  private str = S_NONE;
  private esc = false; // a backslash ended the previous chunk inside a string
  private nextBs = -1; // cached position of the next backslash in buf (buf.length if none)
  private nextNl = -1; // cached position of the next newline in buf (buf.length if none)
  private expectKey = false;
  private keyStart = 0;
  private keyParts: Buffer[] = [];
  private keyLen = 0;
  private arrWrapper = false;
  private containerIsRecords = true;
  private stampLen = 0;
  private stampGap = 0;
  private stampStart = 0;
  private stampFirstByte = 0;
  /** The bad bytes began with a whole timestamp and a blank: lines of a log export, each read on its own. */
  private stampedGarbage = false;

  private recStart = 0;
  private recSize = 0;
  private parts: Buffer[] = [];
  private oversize = false;
  private tooDeep = false;

  private index = 0;
  private layoutSeen: Layout | undefined;
  private sawNonBlank = false;
  private garbageLineStart = false;
  private garbageAfterCloser = false;

  // The first top-level value decides whether newlines end records (JSON lines, one-line delivery files).
  private firstState = 0; // 0 not started, 1 in progress, 2 done
  private firstSegStart = 0;
  private firstSawNl = false;
  private lineOriented = false;

  constructor(limits: FrameLimits) {
    const max = limits.maxRecordBytes;
    if (!Number.isFinite(max) || max < 1) throw new RangeError(`maxRecordBytes must be a positive number, got ${max}`);
    this.max = max;
    const maxDepth = limits.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH;
    if (!(maxDepth >= 1)) throw new RangeError(`maxNestingDepth must be at least 1, got ${maxDepth}`);
    this.maxDepth = maxDepth;
  }

  get layout(): Layout | undefined {
    return this.layoutSeen;
  }

  finalLayout(): Layout {
    if (this.layoutSeen !== undefined) return this.layoutSeen;
    // A first object cut short before its kind showed is most likely an event.
    if (this.firstState !== 0) return 'json-lines';
    return this.sawNonBlank ? 'unknown' : 'empty';
  }

  push(chunk: Buffer): void {
    const old = this.buf;
    const len = old.length;
    if (this.pos < len) throw new Error('Framer.push called before the previous chunk was consumed');
    if (this.mode === M_VALUE || this.mode === M_TOKEN || this.mode === M_AFTER_RKEY) {
      if (this.kind !== V_SKIP) {
        this.recSize += len - this.recStart;
        if (!this.oversize) {
          if (this.recSize > this.max) {
            this.oversize = true;
            this.parts = [];
          } else if (len > this.recStart) {
            this.parts.push(old.subarray(this.recStart));
          }
        }
      }
      if (this.str === S_KEY) {
        if (this.keyLen <= MAX_KEY) this.keyParts.push(old.subarray(this.keyStart));
        this.keyLen += len - this.keyStart;
      }
    }
    if (this.firstState === 1 && !this.firstSawNl && len > this.firstSegStart) {
      if (old.indexOf(NL, this.firstSegStart) >= 0) this.firstSawNl = true;
    }
    this.base += len;
    this.buf = chunk;
    this.pos = 0;
    this.recStart = 0;
    this.keyStart = 0;
    this.firstSegStart = 0;
    this.nextBs = -1;
    this.nextNl = -1;
  }

  /** End of input: returns the one item a cut-off file produces, if any. */
  finish(): FrameItem | undefined {
    const mode = this.mode;
    this.mode = M_TOP;
    if (mode === M_VALUE || mode === M_TOKEN) {
      if (this.kind === V_SKIP) return undefined;
      this.parts = [];
      return this.bad(`truncated: file ends inside record ${this.index}`);
    }
    if (mode === M_AFTER_RKEY) {
      this.layoutSeen ??= this.containerIsRecords ? 'records-object' : 'export-object';
      return this.bad(
        this.containerIsRecords
          ? 'truncated: file ends before the Records array starts'
          : 'truncated: file ends before the array of records starts',
      );
    }
    if (mode === M_STAMP) {
      return this.bad(
        `unexpected ${describeByte(this.stampFirstByte)} at byte ${this.stampStart}: not JSON; skipping to the next record`,
      );
    }
    if (mode === M_ARRAY) {
      return this.bad(
        this.index > 0
          ? `truncated: file ends inside the array of records, after record ${this.index - 1}`
          : 'truncated: file ends inside the array of records',
      );
    }
    return undefined;
  }

  private bad(reason: string): FrameItem {
    return { kind: 'bad', index: this.index++, reason };
  }

  private completeRecord(buf: Buffer, end: number): FrameItem {
    const size = this.recSize + (end - this.recStart);
    if (this.oversize || size > this.max) {
      this.parts = [];
      this.oversize = false;
      return this.bad(`record of ${size} bytes exceeds the ${formatLimit(this.max)} record limit`);
    }
    if (this.tooDeep) {
      this.parts = [];
      this.tooDeep = false;
      return this.bad(`record nests arrays and objects more than ${this.maxDepth} levels deep`);
    }
    let bytes = buf.subarray(this.recStart, end);
    if (this.parts.length > 0) {
      this.parts.push(bytes);
      bytes = Buffer.concat(this.parts, size);
      this.parts = [];
    }
    return { kind: 'record', index: this.index++, bytes };
  }

  private startRecord(at: number): void {
    this.recStart = at;
    this.recSize = 0;
    this.parts = [];
    this.oversize = false;
    this.tooDeep = false;
  }

  /** A top-level value ended at `end` (exclusive) in the current chunk. */
  private endTopValue(end: number): void {
    this.mode = M_TOP;
    if (this.firstState !== 1) return;
    if (!this.firstSawNl) this.firstSawNl = this.buf.subarray(this.firstSegStart, end).indexOf(NL) >= 0;
    this.lineOriented = !this.firstSawNl;
    this.firstState = 2;
  }

  /**
   * Index of the quote closing the string whose content starts at `from`; -1 if the string runs
   * past the chunk; -2 if, in line-oriented input, a newline comes first (its position in nextNl).
   */
  private stringEnd(buf: Buffer, from: number, len: number): number {
    let p = from;
    let q: number;
    for (;;) {
      q = buf.indexOf(QUOTE, p);
      if (q < 0) q = len;
      let b = this.nextBs;
      if (b < p) {
        b = buf.indexOf(BSLASH, p);
        if (b < 0) b = len;
        this.nextBs = b;
      }
      if (b >= q) break;
      p = b + 2;
      if (p > len) {
        this.esc = true;
        q = len;
        break;
      }
    }
    if (this.lineOriented) {
      let n = this.nextNl;
      if (n < from) {
        n = buf.indexOf(NL, from);
        if (n < 0) n = len;
        this.nextNl = n;
      }
      if (n < q) return -2;
    }
    return q < len ? q : -1;
  }

  /** A newline cut the current value short (line-oriented input only). */
  private cutOff(nl: number): FrameItem | undefined {
    this.str = S_NONE;
    this.esc = false;
    this.keyParts = [];
    this.pos = nl;
    this.mode = M_TOP;
    if (this.kind === V_SKIP) return undefined;
    this.parts = [];
    this.oversize = false;
    this.tooDeep = false;
    return this.bad(`record ${this.index} is cut off at the end of its line (byte ${this.base + nl})`);
  }

  private onKey(buf: Buffer, end: number): void {
    let key = buf;
    let start = this.keyStart;
    if (this.keyParts.length > 0) {
      if (this.keyLen > MAX_KEY) {
        this.keyParts = [];
        return;
      }
      this.keyParts.push(buf.subarray(0, end));
      key = Buffer.concat(this.keyParts);
      this.keyParts = [];
      start = 0;
      end = key.length;
    }
    // Compare in place: this runs for every top-level key of every JSON-lines event.
    const first = key[start];
    const n = end - start;
    if (first === 0x52 /* R */) {
      if (n === RECORDS_KEY.length && key.compare(RECORDS_KEY, 0, n, start, end) === 0) {
        this.mode = M_AFTER_RKEY;
        this.containerIsRecords = true;
      }
    } else if (
      (n === 6 || n === 7 || n === 9 || n === 15) &&
      (first === 0x45 /* E */ ||
        first === 0x65 /* e */ ||
        first === 0x6c /* l */ ||
        first === 0x51 /* Q */ ||
        first === 0x72) /* r */
    ) {
      for (const k of CONTAINER_KEYS) {
        if (k.length === n && key.compare(k, 0, n, start, end) === 0) {
          this.mode = M_AFTER_RKEY;
          this.containerIsRecords = false;
          return;
        }
      }
    } else if (first === 0x64 /* d */ && n >= 13 && n <= 15) {
      for (const k of DIGEST_KEYS) {
        if (k.length === n && key.compare(k, 0, n, start, end) === 0) {
          this.kind = V_SKIP;
          this.parts = [];
          this.oversize = false;
          this.layoutSeen ??= 'digest';
          return;
        }
      }
    }
  }

  /** The next item from the current chunk, or undefined when the chunk is used up. */
  next(): FrameItem | undefined {
    const buf = this.buf;
    const len = buf.length;
    let i = this.pos;
    for (;;) {
      if (i >= len) {
        this.pos = len;
        return undefined;
      }
      switch (this.mode) {
        case M_TOP: {
          while (i < len) {
            const c = buf[i]!;
            if (c === SP || c === NL || c === CR || c === TAB || c === COMMA) {
              i++;
              continue;
            }
            if (c === 0xef || c === 0xbb || c === 0xbf) {
              // UTF-8 byte order mark: at the start, or where files with one were concatenated.
              i++;
              continue;
            }
            this.sawNonBlank = true;
            if (c === LBRACE) {
              this.startRecord(i);
              this.mode = M_VALUE;
              this.kind = V_TOPOBJ;
              this.depth = 1;
              this.expectKey = true;
              if (this.firstState === 0) {
                this.firstState = 1;
                this.firstSegStart = i;
              }
              i++;
              break;
            }
            if (c === LBRACK) {
              this.mode = M_ARRAY;
              this.arrWrapper = false;
              this.layoutSeen ??= 'array';
              if (this.firstState === 0) {
                this.firstState = 1;
                this.firstSegStart = i;
              }
              i++;
              break;
            }
            if (c >= 0x30 && c <= 0x39) {
              // Perhaps a CloudWatch Logs export line: `2023-07-10T12:05:01.123Z {…}`.
              this.mode = M_STAMP;
              this.stampLen = 0;
              this.stampGap = 0;
              this.stampStart = this.base + i;
              this.stampFirstByte = c;
              break;
            }
            this.mode = M_GARBAGE;
            this.garbageLineStart = false;
            this.garbageAfterCloser = c === RBRACE || c === RBRACK;
            this.stampedGarbage = false;
            this.pos = i + 1;
            return this.bad(
              `unexpected ${describeByte(c)} at byte ${this.base + i}: not JSON; skipping to the next record`,
            );
          }
          continue;
        }

        case M_STAMP: {
          while (i < len) {
            const c = buf[i]!;
            if (this.stampGap === 0 && this.stampLen < MAX_STAMP && isStampByte(c, this.stampLen)) {
              this.stampLen++;
              i++;
              continue;
            }
            if ((c === SP || c === TAB) && this.stampLen >= 19 && this.stampGap < MAX_STAMP_GAP) {
              this.stampGap++;
              i++;
              continue;
            }
            if (c === LBRACE && this.stampGap > 0) {
              // The object is read as a top-level value, the timestamp before it dropped.
              this.layoutSeen ??= 'timestamped-lines';
              this.mode = M_TOP;
              break;
            }
            // Not a timestamp before an object: the same report as any other byte that is not JSON,
            // and the failing byte is scanned again (a newline there starts the next line).
            this.mode = M_GARBAGE;
            this.garbageLineStart = false;
            this.garbageAfterCloser = false;
            this.stampedGarbage = this.stampGap > 0;
            this.pos = i;
            return this.bad(
              `unexpected ${describeByte(this.stampFirstByte)} at byte ${this.stampStart}: not JSON; skipping to the next record`,
            );
          }
          continue;
        }

        case M_VALUE: {
          const track = this.kind === V_TOPOBJ;
          const lineMode = this.lineOriented;
          let depth = this.depth;
          if (this.str !== S_NONE) {
            // Resume a string that began in an earlier chunk.
            if (this.esc) {
              this.esc = false;
              i++;
              if (i >= len) continue;
            }
            const q = this.stringEnd(buf, i, len);
            if (q === -1) {
              i = len;
              continue;
            }
            if (q === -2) {
              const item = this.cutOff(this.nextNl);
              if (item !== undefined) return item;
              i = this.pos;
              continue;
            }
            i = q + 1;
            const wasKey = this.str === S_KEY;
            this.str = S_NONE;
            if (wasKey) {
              this.onKey(buf, q);
              if (this.mode !== M_VALUE || this.kind !== V_TOPOBJ) continue;
            }
            if (depth === 0) {
              this.mode = M_ARRAY;
              this.pos = i;
              return this.completeRecord(buf, i);
            }
          }
          while (i < len) {
            const c = buf[i]!;
            if (c === QUOTE) {
              const isKey = track && depth === 1 && this.expectKey;
              if (isKey) {
                this.expectKey = false;
                this.keyStart = i + 1;
                this.keyLen = 0;
                if (this.keyParts.length > 0) this.keyParts = [];
              }
              const q = this.stringEnd(buf, i + 1, len);
              if (q === -1) {
                this.str = isKey ? S_KEY : S_PLAIN;
                i = len;
                break;
              }
              if (q === -2) {
                const item = this.cutOff(this.nextNl);
                if (item !== undefined) return item;
                i = this.pos;
                break;
              }
              i = q + 1;
              if (isKey) {
                this.onKey(buf, q);
                if (this.mode !== M_VALUE || this.kind !== V_TOPOBJ) break;
              } else if (depth === 0) {
                this.mode = M_ARRAY;
                this.pos = i;
                return this.completeRecord(buf, i);
              }
              continue;
            }
            if (c === LBRACE || c === LBRACK) {
              // Only flagged here: the record is still framed to its end, then reported and skipped.
              if (++depth > this.maxDepth) this.tooDeep = true;
            } else if (c === RBRACE || c === RBRACK) {
              if (--depth === 0) {
                i++;
                this.depth = 0;
                this.pos = i;
                const kind = this.kind;
                if (kind === V_ELEMENT) {
                  this.mode = M_ARRAY;
                  return this.completeRecord(buf, i);
                }
                this.endTopValue(i);
                if (kind === V_TOPOBJ) {
                  this.layoutSeen ??= 'json-lines';
                  return this.completeRecord(buf, i);
                }
                break;
              }
            } else if (c === COMMA) {
              if (depth === 1) this.expectKey = true;
            } else if (c === NL && lineMode) {
              const item = this.cutOff(i);
              if (item !== undefined) return item;
              i = this.pos;
              break;
            }
            i++;
          }
          this.depth = depth;
          continue;
        }

        case M_ARRAY: {
          while (i < len) {
            const c = buf[i]!;
            if (c === SP || c === CR || c === TAB || c === COMMA) {
              i++;
              continue;
            }
            if (c === NL) {
              if (this.lineOriented) {
                this.mode = M_TOP;
                this.pos = i;
                return this.bad(`truncated: the line ends before the array of records closes (byte ${this.base + i})`);
              }
              i++;
              continue;
            }
            if (c === RBRACK) {
              i++;
              if (this.arrWrapper) {
                this.mode = M_VALUE;
                this.kind = V_SKIP;
                this.depth = 1;
              } else {
                this.endTopValue(i);
              }
              break;
            }
            if (c === LBRACE || c === LBRACK) {
              this.startRecord(i);
              this.mode = M_VALUE;
              this.kind = V_ELEMENT;
              this.depth = 1;
              i++;
              break;
            }
            if (c === QUOTE) {
              // A string element: M_VALUE frames it as a depth-0 value.
              this.startRecord(i);
              this.mode = M_VALUE;
              this.kind = V_ELEMENT;
              this.depth = 0;
              break;
            }
            if (c === RBRACE || c === COLON) {
              this.pos = i + 1;
              return this.bad(`unexpected ${describeByte(c)} at byte ${this.base + i} inside an array of records`);
            }
            this.startRecord(i);
            this.mode = M_TOKEN;
            this.kind = V_ELEMENT;
            break;
          }
          continue;
        }

        case M_TOKEN: {
          while (i < len) {
            const c = buf[i]!;
            if (c === SP || c === NL || c === CR || c === TAB || c === COMMA || c === RBRACK || c === RBRACE) {
              this.mode = M_ARRAY;
              this.pos = i;
              return this.completeRecord(buf, i);
            }
            i++;
          }
          continue;
        }

        case M_GARBAGE: {
          while (i < len) {
            const c = buf[i]!;
            if (c === NL) {
              this.garbageLineStart = true;
            } else if (c === SP || c === CR || c === TAB) {
              // whitespace keeps both resync conditions
            } else if (c === LBRACE && (this.garbageLineStart || this.garbageAfterCloser)) {
              this.mode = M_TOP;
              break;
            } else if (
              c >= 0x30 &&
              c <= 0x39 &&
              this.garbageLineStart &&
              (this.stampedGarbage || this.layoutSeen === 'timestamped-lines')
            ) {
              // The next line of a log export: its timestamp may stand before a record.
              this.mode = M_TOP;
              break;
            } else {
              this.garbageLineStart = false;
              this.garbageAfterCloser = c === RBRACE || c === RBRACK;
            }
            i++;
          }
          continue;
        }

        case M_AFTER_RKEY: {
          while (i < len) {
            const c = buf[i]!;
            if (c === SP || c === CR || c === TAB || c === COLON || (c === NL && !this.lineOriented)) {
              i++;
              continue;
            }
            if (c === LBRACK) {
              // The top-level object is a {"Records":[…]} wrapper: its elements are the records.
              this.parts = [];
              this.oversize = false;
              this.layoutSeen ??= this.containerIsRecords ? 'records-object' : 'export-object';
              this.mode = M_ARRAY;
              this.arrWrapper = true;
              i++;
            } else {
              this.mode = M_VALUE;
            }
            break;
          }
          continue;
        }

        default:
          throw new Error(`framer in impossible mode ${this.mode}`);
      }
    }
  }
}

/**
 * The bytes of an ISO-8601 timestamp, position by position: `dddd-dd-ddT` then time, fraction and
 * zone characters. Loose past the date on purpose: only a blank and `{` after it make it a prefix.
 */
function isStampByte(c: number, at: number): boolean {
  const digit = c >= 0x30 && c <= 0x39;
  if (at < 10) return at === 4 || at === 7 ? c === 0x2d /* - */ : digit;
  if (at === 10) return c === 0x54 /* T */ || c === 0x74; /* t */
  return digit || c === 0x3a /* : */ || c === 0x2e /* . */ || c === 0x5a /* Z */ || c === 0x2b /* + */ || c === 0x2d;
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`expected byte chunks, got ${typeof chunk}`);
}

/**
 * Guesses the layout from the first bytes of a decoded file (for example the first 64 KiB).
 * Returns `unknown` when the head is not JSON or ends before the first value's kind is known
 * (a top-level object whose kind shows only at its end).
 */
export function detectLayout(head: Buffer): Layout {
  const framer = new Framer({ maxRecordBytes: Number.MAX_SAFE_INTEGER });
  framer.push(head);
  while (framer.layout === undefined && framer.next() !== undefined) {
    // keep framing until the first value shows its kind
  }
  if (framer.layout !== undefined) return framer.layout;
  return framer.finalLayout() === 'empty' ? 'empty' : 'unknown';
}

/**
 * Frames a stream of decoded bytes into records. Records may span chunk boundaries; memory
 * stays bounded by `maxRecordBytes` plus one chunk. Returns the file's layout when done.
 * If the byte source fails, every record completed before the failure has been yielded and
 * the source's error is rethrown.
 */
export async function* frameStream(
  decoded: AsyncIterable<Buffer | Uint8Array | string>,
  limits: FrameLimits = DEFAULT_FRAME_LIMITS,
): AsyncGenerator<FrameItem, { layout: Layout }> {
  const framer = new Framer(limits);
  for await (const chunk of decoded) {
    framer.push(toBuffer(chunk));
    for (let item = framer.next(); item !== undefined; item = framer.next()) yield item;
  }
  const last = framer.finish();
  if (last !== undefined) yield last;
  return { layout: framer.finalLayout() };
}

/** Frames a whole decoded file held in memory; records are views into `buf`. */
export function* frameBuffer(
  buf: Buffer,
  limits: FrameLimits = DEFAULT_FRAME_LIMITS,
): Generator<FrameItem, { layout: Layout }> {
  const framer = new Framer(limits);
  framer.push(buf);
  for (let item = framer.next(); item !== undefined; item = framer.next()) yield item;
  const last = framer.finish();
  if (last !== undefined) yield last;
  return { layout: framer.finalLayout() };
}
