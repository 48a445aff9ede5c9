/**
 * The fast path for CloudTrail delivery files: one validating pass over the bytes of a
 * `{"Records":[…]}` file that finds every record and reads the fields the engine aggregates
 * without building the JSON tree. It is exact or it steps aside:
 *
 * - A record whose bytes the pass cannot turn into exactly what `JSON.parse` + `normaliseRecord`
 *   would (an escape in a key it looks at, a number where a string belongs, a wrapper instead of
 *   an event, a record that is not an object) is marked for `JSON.parse`.
 * - A record whose event name says its request or response body matters (credential vending,
 *   ownership evidence, revocation: `FULL_PARSE_EVENT_NAMES`) is marked for `JSON.parse` too.
 * - Anything that is not valid JSON of the delivery shape ends the pass with `undefined`: the caller
 *   reads the whole file through the general framer, which reports each bad record precisely.
 *
 * The differential tests in fast-records.test.ts hold it to that: on every record of the real
 * datasets, the simulated organisations and adversarial generated records, the fast result equals
 * the parsed one.
 *
 * Speed comes from doing per byte only what JSON validation needs: the pass is one function with
 * an explicit container stack, keys are identified only in the few objects whose fields are read,
 * and strings are created only for those fields (through a cache, since most values repeat).
 */
import type { CloudTrailEvent, UserIdentity } from './event.js';
import { parseEventTime } from './event.js';
import { DEFAULT_MAX_NESTING_DEPTH } from './nesting.js';

// Field slots. Top-level event fields:
const F_EVENT_VERSION = 0;
const F_EVENT_TIME = 1;
const F_TIMESTAMP = 2;
const F_EVENT_SOURCE = 3;
const F_EVENT_NAME = 4;
const F_EVENT_TYPE = 5;
const F_AWS_REGION = 6;
const F_SOURCE_IP = 7;
const F_USER_AGENT = 8;
const F_ERROR_CODE = 9;
const F_ERROR_MESSAGE = 10;
const F_RECIPIENT = 11;
const F_VPCE = 12;
const F_VPCE_ACCOUNT = 13;
const F_EVENT_ID = 14;
// userIdentity (15–32, the whole subtree):
const F_UI_TYPE = 15;
const F_UI_PRINCIPAL = 16;
const F_UI_ARN = 17;
const F_UI_ACCOUNT = 18;
const F_UI_KEY = 19;
const F_UI_USER = 20;
const F_UI_INVOKED_BY = 21;
// userIdentity.sessionContext (22–30, the whole subtree):
const F_SC_DELIVERY = 22;
const F_SC_SOURCE_IDENTITY = 23;
// userIdentity.sessionContext.sessionIssuer (24–28):
const F_IS_TYPE = 24;
const F_IS_PRINCIPAL = 25;
const F_IS_ARN = 26;
const F_IS_ACCOUNT = 27;
const F_IS_USER = 28;
// userIdentity.sessionContext.attributes, .webIdFederationData; userIdentity.inScopeOf (31–32):
const F_CREATION_DATE = 29;
const F_WEB_PROVIDER = 30;
const F_SCOPE_TYPE = 31;
const F_SCOPE_ISSUED_TO = 32;
const FIELD_COUNT = 33;

// Objects the pass reads keys in.
const O_EVENT = 0;
const O_IDENTITY = 1;
const O_SESSION = 2;
const O_ISSUER = 3;
const O_ATTRIBUTES = 4;
const O_WEB_ID = 5;
const O_SCOPE = 6;
const OBJECT_COUNT = 7;

/**
 * The field slots under each object, as [first, end): a repeated key replaces the earlier value
 * entirely (as in JSON.parse), so everything read from the earlier one is forgotten. The slot
 * numbering above keeps every subtree contiguous for this.
 */
const SUBTREE_FIRST = new Uint8Array(OBJECT_COUNT);
const SUBTREE_END = new Uint8Array(OBJECT_COUNT);
function subtree(object: number, first: number, end: number): void {
  SUBTREE_FIRST[object] = first;
  SUBTREE_END[object] = end;
}
subtree(O_EVENT, 0, FIELD_COUNT);
subtree(O_IDENTITY, F_UI_TYPE, F_SCOPE_ISSUED_TO + 1);
subtree(O_SESSION, F_SC_DELIVERY, F_WEB_PROVIDER + 1);
subtree(O_ISSUER, F_IS_TYPE, F_IS_USER + 1);
subtree(O_ATTRIBUTES, F_CREATION_DATE, F_CREATION_DATE + 1);
subtree(O_WEB_ID, F_WEB_PROVIDER, F_WEB_PROVIDER + 1);
subtree(O_SCOPE, F_SCOPE_TYPE, F_SCOPE_ISSUED_TO + 1);

// What a key means in its object: a field slot (0…FIELD_COUNT-1), ACT_OBJECT + a child object, or
// ACT_PARSE (a key that makes the record a wrapper, not an event: expandValue decides).
const ACT_OBJECT = 64;
const ACT_PARSE = 128;
const ACT_NONE = -1;

const KEY_TABLES: readonly (readonly [number, Record<string, number>])[] = [
  [
    O_EVENT,
    {
      eventVersion: F_EVENT_VERSION,
      eventTime: F_EVENT_TIME,
      '@timestamp': F_TIMESTAMP,
      eventSource: F_EVENT_SOURCE,
      eventName: F_EVENT_NAME,
      eventType: F_EVENT_TYPE,
      awsRegion: F_AWS_REGION,
      sourceIPAddress: F_SOURCE_IP,
      userAgent: F_USER_AGENT,
      errorCode: F_ERROR_CODE,
      errorMessage: F_ERROR_MESSAGE,
      recipientAccountId: F_RECIPIENT,
      vpcEndpointId: F_VPCE,
      vpcEndpointAccountId: F_VPCE_ACCOUNT,
      eventID: F_EVENT_ID,
      userIdentity: ACT_OBJECT + O_IDENTITY,
      Records: ACT_PARSE,
      _raw: ACT_PARSE,
      result: ACT_PARSE,
      digestStartTime: ACT_PARSE,
    },
  ],
  [
    O_IDENTITY,
    {
      type: F_UI_TYPE,
      principalId: F_UI_PRINCIPAL,
      arn: F_UI_ARN,
      accountId: F_UI_ACCOUNT,
      accessKeyId: F_UI_KEY,
      userName: F_UI_USER,
      invokedBy: F_UI_INVOKED_BY,
      sessionContext: ACT_OBJECT + O_SESSION,
      inScopeOf: ACT_OBJECT + O_SCOPE,
    },
  ],
  [
    O_SESSION,
    {
      ec2RoleDelivery: F_SC_DELIVERY,
      sourceIdentity: F_SC_SOURCE_IDENTITY,
      sessionIssuer: ACT_OBJECT + O_ISSUER,
      attributes: ACT_OBJECT + O_ATTRIBUTES,
      webIdFederationData: ACT_OBJECT + O_WEB_ID,
    },
  ],
  [
    O_ISSUER,
    {
      type: F_IS_TYPE,
      principalId: F_IS_PRINCIPAL,
      arn: F_IS_ARN,
      accountId: F_IS_ACCOUNT,
      userName: F_IS_USER,
    },
  ],
  [O_ATTRIBUTES, { creationDate: F_CREATION_DATE }],
  [O_WEB_ID, { federatedProvider: F_WEB_PROVIDER }],
  [O_SCOPE, { issuerType: F_SCOPE_TYPE, credentialsIssuedTo: F_SCOPE_ISSUED_TO }],
];

/**
 * Events whose request or response bodies the engine reads (credential vending, ownership
 * evidence, revocation): always parsed in full. A superset of the names `extractVending`,
 * `OwnershipEvidence.consider` and `extractRevocations` accept; a test holds it to that.
 */
export const FULL_PARSE_EVENT_NAMES: ReadonlySet<string> = new Set([
  'AssumeRole',
  'AssumeRoleWithWebIdentity',
  'AssumeRoleWithSAML',
  'PutRolePolicy',
  'RunInstances',
  'TerminateInstances',
  'AllocateAddress',
  'AssociateAddress',
  'DisassociateAddress',
  'ReleaseAddress',
  'CreateNatGateway',
  'AssociateNatGatewayAddress',
  'DisassociateNatGatewayAddress',
  'DeleteNatGateway',
  'CreateVpcEndpoint',
  'ModifyVpcEndpoint',
  'DeleteVpcEndpoints',
  'AttachNetworkInterface',
  'DetachNetworkInterface',
  'CreateNetworkInterface',
  'DeleteNetworkInterface',
]);

/*
 * Key lookup, done for every key of the objects above (about 35 per record), so it must cost a few
 * operations: the key's first and last 32-bit words (which overlap, or are one masked word, for
 * short keys), its length and the object pick one table slot; the slot's words confirm it, with
 * the middle words of keys longer than 8 bytes. The multiplier is searched at load time so that no
 * two known keys share a slot. A key the pass does not know usually fails on the length.
 */
const KEY_TABLE_BITS = 9;
const KEY_TABLE_SIZE = 1 << KEY_TABLE_BITS;
/**
 * A slot's words, together in one cache line: length (-1 empty), first word, last word, action,
 * then the middle words.
 */
const KEY_SLOT_WORDS = 8;
const KEY_MIDDLE_WORDS = KEY_SLOT_WORDS - 4;
const KEY_SLOTS = new Int32Array(KEY_TABLE_SIZE * KEY_SLOT_WORDS);
for (let slot = 0; slot < KEY_TABLE_SIZE; slot++) KEY_SLOTS[slot * KEY_SLOT_WORDS] = -1;

/** The first word of a key of len ≥ 1 bytes at s, only its own bytes for keys shorter than 4. */
function keyFirstWord(view: DataView, s: number, len: number): number {
  const word = view.getInt32(s, true);
  return len >= 4 ? word : word & ((1 << (len << 3)) - 1);
}

function keySlot(object: number, len: number, first: number, last: number, multiplier: number): number {
  return Math.imul(first ^ Math.imul(last ^ (len << 8) ^ object, 0x85ebca6b), multiplier) >>> (32 - KEY_TABLE_BITS);
}

const KEY_MULTIPLIER = ((): number => {
  const entries: { object: number; len: number; first: number; last: number; middle: number[]; action: number }[] = [];
  for (const [object, table] of KEY_TABLES) {
    for (const [key, action] of Object.entries(table)) {
      const len = key.length;
      if (len === 0 || len > 4 * (KEY_MIDDLE_WORDS + 2)) throw new Error(`key ${key} does not fit the key table`);
      const bytes = Buffer.alloc(len + 4);
      bytes.write(key, 'latin1');
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      const first = keyFirstWord(view, 0, len);
      const middle: number[] = [];
      for (let j = 4; j < len - 4; j += 4) middle.push(view.getInt32(j, true));
      entries.push({ object, len, first, last: len >= 4 ? view.getInt32(len - 4, true) : first, middle, action });
    }
  }
  search: for (let multiplier = 0x9e3779b1; ; multiplier = (multiplier + 0x3c6ef372) | 0) {
    const used = new Set<number>();
    for (const entry of entries) {
      const slot = keySlot(entry.object, entry.len, entry.first, entry.last, multiplier);
      if (used.has(slot)) continue search;
      used.add(slot);
    }
    for (const entry of entries) {
      const at = keySlot(entry.object, entry.len, entry.first, entry.last, multiplier) * KEY_SLOT_WORDS;
      KEY_SLOTS.set([entry.len, entry.first, entry.last, entry.action, ...entry.middle], at);
    }
    return multiplier;
  }
})();

/**
 * The action of the key at [s, s + len) (no escapes, len ≥ 1) in the given object, or ACT_NONE.
 * Reads up to s + 3 even for shorter keys: the caller has seen the colon and the value's first
 * byte after the key, so those bytes exist.
 */
function keyAction(object: number, view: DataView, s: number, len: number): number {
  const first = keyFirstWord(view, s, len);
  const last = len >= 4 ? view.getInt32(s + len - 4, true) : first;
  const at = keySlot(object, len, first, last, KEY_MULTIPLIER) * KEY_SLOT_WORDS;
  const slots = KEY_SLOTS;
  if (slots[at] !== len || slots[at + 1] !== first || slots[at + 2] !== last) return ACT_NONE;
  for (let j = 4, m = at + 4; j < len - 4; j += 4, m++) if (view.getInt32(s + j, true) !== slots[m]) return ACT_NONE;
  return slots[at + 3]!;
}

const QUOTE = 0x22;
const BSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACK = 0x5b;
const RBRACK = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const SP = 0x20;
const NL = 0x0a;
const CR = 0x0d;
const TAB = 0x09;

/** 1 for the bytes that may follow a backslash in JSON (besides `u`). */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;
/** 1 for hex digits. */
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

/** What the pass read from one record. */
export class RecordFields {
  readonly start = new Int32Array(FIELD_COUNT);
  readonly end = new Int32Array(FIELD_COUNT);
  /** 0 absent or not a string (reads as ''), 1 string without escapes, 2 string with escapes. */
  readonly kind = new Uint8Array(FIELD_COUNT);
  sessionIssuerPresent = false;
  /** The record must be parsed with JSON.parse to be read exactly. */
  needsParse = false;

  reset(): void {
    this.kind.fill(0);
    this.sessionIssuerPresent = false;
    this.needsParse = false;
  }
}

/**
 * The rest of a string after the fast loop stopped at a byte other than the closing quote: `i`
 * is at a backslash or a byte below 0x20. Returns the index of the closing quote, or -1 when the
 * string is not valid JSON. No string can close after `lastQuote`, which bounds every read.
 */
function finishString(b: Uint8Array, i: number, lastQuote: number): number {
  for (;;) {
    const c = b[i]!;
    if (c === QUOTE) return i;
    if (c === BSLASH) {
      const e = b[i + 1]!;
      if (SIMPLE_ESCAPE[e] === 1) {
        i += 2;
      } else if (e === 0x75) {
        if (i + 6 > lastQuote) return -1;
        if ((HEX[b[i + 2]!]! & HEX[b[i + 3]!]! & HEX[b[i + 4]!]! & HEX[b[i + 5]!]!) === 0) return -1;
        i += 6;
      } else {
        return -1;
      }
      // Past the last quote, nothing can close the string.
      if (i > lastQuote) return -1;
    } else if (c >= 0x20) {
      i++;
    } else {
      // A control byte, or (never on the paths above) past the end of the buffer.
      return -1;
    }
  }
}

/*
 * Strings hold most of the bytes, so the pass looks for their end four bytes at a time: in a
 * little-endian 32-bit word, the lowest byte that is a quote, a backslash or below 0x20 is found
 * with the classic has-zero-byte / has-less-than arithmetic (exact for the lowest match: a borrow
 * only runs upward from a matching byte). Bytes below the string's start are forced to 0xff, which
 * matches nothing and borrows nothing. On a big-endian machine the word view is empty and the byte
 * loop does it all.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Words of the buffer as a 32-bit view aligned below its start: byte i is byte (i + offset) of the view. */
interface WordView {
  words: Int32Array;
  offset: number;
}

function wordView(b: Uint8Array): WordView {
  const offset = b.byteOffset & 3;
  if (!LITTLE_ENDIAN) return { words: new Int32Array(0), offset };
  // Only whole words inside [byteOffset - offset, byteOffset + length): the view reads no byte
  // past the buffer, and the leading `offset` bytes are masked before they count.
  return { words: new Int32Array(b.buffer, b.byteOffset - offset, (b.length + offset) >> 2), offset };
}

/**
 * The index of the first byte at or after i that is a quote, a backslash or below 0x20. The
 * caller guarantees a quote at or after i (lastQuote), which stops the byte loop.
 */
function stringStop(b: Uint8Array, words: Int32Array, offset: number, i: number): number {
  const p = i + offset;
  let wi = p >> 2;
  const wEnd = words.length;
  if (wi < wEnd) {
    let x = words[wi]! | ((1 << ((p & 3) << 3)) - 1);
    for (;;) {
      // x ^ 0x02 maps the quote to 0x20 and the bytes below 0x20 among themselves: one
      // "less than 0x21" test finds both. The backslash is a "zero after xor" test.
      const q = x ^ 0x02020202;
      const s = x ^ 0x5c5c5c5c;
      const m = (((q - 0x21212121) & ~q) | ((s - 0x01010101) & ~s)) & 0x80808080;
      if (m !== 0) return (wi << 2) + ((31 - Math.clz32(m & -m)) >> 3) - offset;
      if (++wi === wEnd) break;
      x = words[wi]!;
    }
    i = (wi << 2) - offset;
  }
  let c = b[i]!;
  while (c >= 0x20 && c !== QUOTE && c !== BSLASH) c = b[++i]!;
  return i;
}

// Container codes on the pass's stack: arrays, objects whose keys are skipped, and (from
// C_TRACKED on) the objects whose keys are read, C_TRACKED + object.
const C_ARRAY = 0;
const C_OBJECT = 1;
const C_TRACKED = 2;

let containerStack = new Uint8Array(256);

/**
 * Validates one JSON value starting at `i` (not whitespace) and reads the fields of an event
 * record into `f` (whose kinds are all 0). Returns the index after the value, or -1 when the
 * bytes are not valid JSON.
 *
 * Bounds: the caller has checked that the last non-whitespace byte (at end - 1) is `}` and that
 * `lastQuote` is the last `"`; every loop stops at one of these (a string stops at a quote, and
 * one may only open before lastQuote; whitespace, numbers and literals stop at the `}`), so reads
 * stay inside the buffer without a bounds check per byte. After a closer, `i` may reach `end`.
 */
function scanRecord(
  b: Uint8Array,
  view: DataView,
  words: Int32Array,
  offset: number,
  i: number,
  end: number,
  lastQuote: number,
  f: RecordFields,
  maxDepth: number,
): number {
  const start = f.start;
  const stop = f.end;
  const kind = f.kind;
  let stack = containerStack;
  // The stack grows up to maxDepth; a deeper record steps aside to the framer, which reports it.
  let room = Math.min(stack.length, maxDepth);
  let depth = 0;
  let top = -1;
  // The action of the key just read, for the value that follows (ACT_NONE: not a field).
  let pending = ACT_NONE;
  let needsParse = false;
  let issuer = false;
  let atKey = false;
  let c = b[i]!;
  for (;;) {
    if (atKey) {
      atKey = false;
      if (c !== QUOTE || i >= lastQuote) return -1;
      const ks = ++i;
      i = stringStop(b, words, offset, i);
      c = b[i]!;
      let keyEscaped = false;
      if (c !== QUOTE) {
        i = finishString(b, i, lastQuote);
        if (i < 0) return -1;
        keyEscaped = true;
      }
      const ke = i;
      c = b[++i]!;
      if (c <= 0x20) while (c === SP || c === NL || c === CR || c === TAB) c = b[++i]!;
      if (c !== COLON) return -1;
      c = b[++i]!;
      if (c <= 0x20) while (c === SP || c === NL || c === CR || c === TAB) c = b[++i]!;
      if (top >= C_TRACKED) {
        if (keyEscaped) {
          // An escaped key may spell a key read here: JSON.parse decides.
          needsParse = true;
        } else {
          const action = ke > ks ? keyAction(top - C_TRACKED, view, ks, ke - ks) : ACT_NONE;
          if (action >= ACT_PARSE) {
            needsParse = true;
          } else if (action >= ACT_OBJECT) {
            const object = action - ACT_OBJECT;
            for (let s = SUBTREE_FIRST[object]!, e = SUBTREE_END[object]!; s < e; s++) kind[s] = 0;
            if (object <= O_ISSUER) issuer = false;
            pending = action;
          } else {
            pending = action;
          }
        }
      }
    }

    // A value at i, its first byte in c.
    if (c === QUOTE) {
      if (i >= lastQuote) return -1;
      const s = ++i;
      i = stringStop(b, words, offset, i);
      c = b[i]!;
      let k = 1;
      if (c !== QUOTE) {
        i = finishString(b, i, lastQuote);
        if (i < 0) return -1;
        k = 2;
      }
      if (pending !== ACT_NONE) {
        if (pending < ACT_OBJECT) {
          start[pending] = s;
          stop[pending] = i;
          kind[pending] = k;
        }
        pending = ACT_NONE;
      }
      i++;
    } else if (c === LBRACE) {
      let code = C_OBJECT;
      if (depth === 0) {
        code = C_TRACKED + O_EVENT;
      } else if (pending !== ACT_NONE) {
        if (pending >= ACT_OBJECT) {
          code = C_TRACKED + pending - ACT_OBJECT;
          if (pending === ACT_OBJECT + O_ISSUER) issuer = true;
        } else {
          kind[pending] = 0;
        }
        pending = ACT_NONE;
      }
      if (depth === room) {
        if (depth >= maxDepth) return -1;
        const grown = new Uint8Array(stack.length * 2);
        grown.set(stack);
        stack = containerStack = grown;
        room = Math.min(stack.length, maxDepth);
      }
      stack[depth++] = code;
      top = code;
      c = b[++i]!;
      if (c <= 0x20) while (c === SP || c === NL || c === CR || c === TAB) c = b[++i]!;
      if (c !== RBRACE) {
        atKey = true;
        continue;
      }
      i++;
      top = --depth > 0 ? stack[depth - 1]! : -1;
    } else if (c === LBRACK) {
      if (pending !== ACT_NONE) {
        if (pending < ACT_OBJECT) kind[pending] = 0;
        pending = ACT_NONE;
      }
      if (depth === room) {
        if (depth >= maxDepth) return -1;
        const grown = new Uint8Array(stack.length * 2);
        grown.set(stack);
        stack = containerStack = grown;
        room = Math.min(stack.length, maxDepth);
      }
      stack[depth++] = C_ARRAY;
      top = C_ARRAY;
      c = b[++i]!;
      if (c <= 0x20) while (c === SP || c === NL || c === CR || c === TAB) c = b[++i]!;
      if (c !== RBRACK) continue;
      i++;
      top = --depth > 0 ? stack[depth - 1]! : -1;
    } else {
      // A scalar that is not a string. str() turns numbers and booleans into text: rare enough
      // in fields to leave to JSON.parse; null reads as ''.
      if (pending !== ACT_NONE) {
        if (pending < ACT_OBJECT) {
          kind[pending] = 0;
          if (c !== 0x6e) needsParse = true;
        }
        pending = ACT_NONE;
      }
      if (c === 0x6e) {
        if (b[i + 1] !== 0x75 || b[i + 2] !== 0x6c || b[i + 3] !== 0x6c) return -1;
        i += 4;
      } else if (c === 0x74) {
        if (b[i + 1] !== 0x72 || b[i + 2] !== 0x75 || b[i + 3] !== 0x65) return -1;
        i += 4;
      } else if (c === 0x66) {
        if (b[i + 1] !== 0x61 || b[i + 2] !== 0x6c || b[i + 3] !== 0x73 || b[i + 4] !== 0x65) return -1;
        i += 5;
      } else {
        if (c === MINUS) c = b[++i]!;
        if (c === ZERO) {
          c = b[++i]!;
        } else if (c > ZERO && c <= NINE) {
          do c = b[++i]!;
          while (c >= ZERO && c <= NINE);
        } else {
          return -1;
        }
        if (c === DOT) {
          c = b[++i]!;
          if (!(c >= ZERO && c <= NINE)) return -1;
          do c = b[++i]!;
          while (c >= ZERO && c <= NINE);
        }
        if (c === 0x65 || c === 0x45) {
          c = b[++i]!;
          if (c === PLUS || c === MINUS) c = b[++i]!;
          if (!(c >= ZERO && c <= NINE)) return -1;
          do c = b[++i]!;
          while (c >= ZERO && c <= NINE);
        }
      }
    }

    // After a value: a comma, or closers.
    for (;;) {
      if (depth === 0) {
        f.needsParse = needsParse;
        f.sessionIssuerPresent = issuer;
        return i;
      }
      if (i >= end) return -1;
      c = b[i]!;
      if (c <= 0x20) while (c === SP || c === NL || c === CR || c === TAB) c = b[++i]!;
      if (c === COMMA) {
        c = b[++i]!;
        if (c <= 0x20) while (c === SP || c === NL || c === CR || c === TAB) c = b[++i]!;
        atKey = top !== C_ARRAY;
        break;
      }
      if (c !== (top === C_ARRAY ? RBRACK : RBRACE)) return -1;
      i++;
      top = --depth > 0 ? stack[depth - 1]! : -1;
    }
  }
}

const RECORDS = Buffer.from('"Records"', 'latin1');

function isSpace(c: number | undefined): boolean {
  return c === SP || c === NL || c === CR || c === TAB;
}

/** Called for each record of a delivery file, in order, with the fields read (valid until the next call). */
export type RecordVisitor = (
  fields: RecordFields,
  buffer: Uint8Array,
  recordStart: number,
  recordEnd: number,
  index: number,
) => void;

/**
 * Scans a whole decoded file of the delivery shape (`{"Records":[…]}`, possibly several
 * concatenated, with any whitespace). Calls `visit` for every record. Returns the number of
 * records, or undefined (having visited some records already) when the file is not valid JSON of
 * that shape, or a record is longer than `maxRecordBytes` or nests deeper than `maxNestingDepth`: the caller must then discard what the
 * visits produced and use the general framer. `looksLikeDeliveryFile` tells cheaply, up front,
 * whether it is worth trying.
 */
export function scanDeliveryFile(
  buffer: Uint8Array,
  visit: RecordVisitor,
  maxRecordBytes = Number.POSITIVE_INFINITY,
  maxNestingDepth = DEFAULT_MAX_NESTING_DEPTH,
): number | undefined {
  // Plain Uint8Array element access is faster than Buffer's in V8.
  const b = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
  let end = b.length;
  while (end > 0 && isSpace(b[end - 1])) end--;
  // The bounds argument of scanRecord rests on these two.
  if (end === 0 || b[end - 1] !== RBRACE) return undefined;
  const lastQuote = b.lastIndexOf(QUOTE, end - 1);
  if (lastQuote < 0) return undefined;
  const { words, offset } = wordView(b);
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  const fields = new RecordFields();
  let index = 0;
  let i = 0;
  while (isSpace(b[i])) i++;
  while (i < end) {
    // {"Records":[ — only that key: a wrapper with other keys is left to the general reader.
    if (b[i] !== LBRACE) return undefined;
    i++;
    while (isSpace(b[i])) i++;
    if (i + RECORDS.length > end) return undefined;
    for (let j = 0; j < RECORDS.length; j++) if (b[i + j] !== RECORDS[j]) return undefined;
    i += RECORDS.length;
    while (isSpace(b[i])) i++;
    if (b[i] !== COLON) return undefined;
    i++;
    while (isSpace(b[i])) i++;
    if (b[i] !== LBRACK) return undefined;
    i++;
    while (isSpace(b[i])) i++;
    if (i >= end) return undefined;
    if (b[i] !== RBRACK) {
      for (;;) {
        const recordStart = i;
        fields.reset();
        i = scanRecord(b, view, words, offset, i, end, lastQuote, fields, maxNestingDepth);
        if (i < 0 || i - recordStart > maxRecordBytes) return undefined;
        // A record that is not an object is a wrapper or not an event: JSON.parse decides.
        if (b[recordStart] !== LBRACE) fields.needsParse = true;
        visit(fields, buffer, recordStart, i, index++);
        while (i < end && isSpace(b[i])) i++;
        if (i >= end) return undefined;
        if (b[i] === COMMA) {
          i++;
          while (isSpace(b[i])) i++;
          if (i >= end) return undefined;
          continue;
        }
        if (b[i] === RBRACK) break;
        return undefined;
      }
    }
    i++;
    while (isSpace(b[i])) i++;
    if (b[i] !== RBRACE) return undefined;
    i++;
    while (i < end && isSpace(b[i])) i++;
  }
  return index;
}

/** True when the decoded bytes start like a delivery file (`{"Records":`), whitespace allowed. */
export function looksLikeDeliveryFile(buffer: Uint8Array): boolean {
  let i = 0;
  const n = Math.min(buffer.length, 4096);
  const skip = (): void => {
    while (i < n && isSpace(buffer[i])) i++;
  };
  skip();
  if (buffer[i] !== LBRACE) return false;
  i++;
  skip();
  for (let j = 0; j < RECORDS.length; j++) if (buffer[i + j] !== RECORDS[j]) return false;
  return true;
}

/**
 * Buffer's undocumented slicers: `toString(encoding, start, end)` calls them after argument
 * handling that costs more than the slicing for strings as short as field values.
 */
interface Slicer {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
}

/** What each simple escape (`\n`, `\"` …) stands for. */
const ESCAPED_CHAR: string[] = [];
for (const [c, text] of Object.entries({
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
})) {
  ESCAPED_CHAR[c.charCodeAt(0)] = text;
}

/** Whether the len ≥ 4 bytes at view[s…] equal those at other[at…], compared a word at a time. */
function sameBytes(view: DataView, s: number, len: number, other: DataView, at: number): boolean {
  let j = 0;
  while (j < len - 4 && view.getInt32(s + j, true) === other.getInt32(at + j, true)) j += 4;
  return j >= len - 4 && view.getInt32(s + len - 4, true) === other.getInt32(at + len - 4, true);
}

function copyBytes(view: DataView, s: number, len: number, other: DataView, at: number): void {
  for (let j = 0; j < len - 4; j += 4) other.setInt32(at + j, view.getInt32(s + j, true), true);
  other.setInt32(at + len - 4, view.getInt32(s + len - 4, true), true);
}

/** The two-digit number at b[i], or a value above 99 when those are not two digits. */
function twoDigits(b: Uint8Array, i: number): number {
  const hi = b[i]! - ZERO;
  const lo = b[i + 1]! - ZERO;
  return hi >= 0 && hi <= 9 && lo >= 0 && lo <= 9 ? hi * 10 + lo : 1000;
}

/**
 * parseEventTime (Date.parse) of a time in CloudTrail's own form, `YYYY-MM-DDTHH:MM:SSZ`, at a
 * fraction of its cost; -1 for anything else, or any value Date.parse might treat specially
 * (days past the 28th, which it rolls over or rejects by month; hour 24; years before 1970), which
 * then goes to Date.parse. Inside those bounds Date.parse is Date.UTC of the parts, by the spec.
 */
function canonicalTimeMs(b: Uint8Array, s: number, len: number): number {
  if (
    len !== 20 ||
    b[s + 4] !== MINUS ||
    b[s + 7] !== MINUS ||
    b[s + 10] !== 0x54 ||
    b[s + 13] !== COLON ||
    b[s + 16] !== COLON ||
    b[s + 19] !== 0x5a
  ) {
    return -1;
  }
  const century = twoDigits(b, s);
  const yearOfCentury = twoDigits(b, s + 2);
  const month = twoDigits(b, s + 5);
  const day = twoDigits(b, s + 8);
  const hour = twoDigits(b, s + 11);
  const minute = twoDigits(b, s + 14);
  const second = twoDigits(b, s + 17);
  if (century < 19 || century > 99 || yearOfCentury > 99 || month < 1 || month > 12 || day < 1 || day > 28) return -1;
  if (hour > 23 || minute > 59 || second > 59) return -1;
  const year = century * 100 + yearOfCentury;
  if (year < 1970) return -1;
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/** Decodes a JSON string body with escapes at [s, e) exactly as JSON.parse would. */
function decodeEscaped(buffer: Slicer, b: Uint8Array, s: number, e: number): string {
  let out = '';
  let run = s;
  let i = s;
  while (i < e) {
    if (b[i] !== BSLASH) {
      i++;
      continue;
    }
    // Runs end at a backslash (ASCII), so decoding them apart gives the same text as decoding the whole.
    if (run < i) out += buffer.utf8Slice(run, i);
    const c = b[i + 1]!;
    if (c === 0x75) {
      out += String.fromCharCode(
        (hexValue(b[i + 2]!) << 12) | (hexValue(b[i + 3]!) << 8) | (hexValue(b[i + 4]!) << 4) | hexValue(b[i + 5]!),
      );
      i += 6;
    } else {
      out += ESCAPED_CHAR[c];
      i += 2;
    }
    run = i;
  }
  if (run < e) out += buffer.utf8Slice(run, e);
  return out;
}

function hexValue(c: number): number {
  return c <= NINE ? c - ZERO : (c | 0x20) - 0x57;
}

/*
 * Creating a string from bytes costs about as much as scanning a hundred bytes (a call into C++),
 * and a record has some twenty field values, most of which repeat from record to record (regions,
 * sources, identities, user agents). The builder keeps the strings it made in a direct-mapped
 * cache keyed by the bytes: a hash of three 32-bit words picks the entry, and a comparison of all
 * the bytes with the copy kept in the cache confirms it, so a hit is exactly the string the bytes
 * decode to. Values that are nearly always unique (event ids, times) bypass the cache.
 */
const CACHE_BITS = 11;
const CACHE_SIZE = 1 << CACHE_BITS;
/** Longest value cached: user agents run to a few hundred bytes, ARNs to about a hundred. */
const CACHE_MAX = 256;
const CACHE_ENTRY = 4 + CACHE_MAX;
/** Slots read without the cache: nearly always unique values. */
const UNCACHED = new Uint8Array(FIELD_COUNT);
UNCACHED[F_EVENT_ID] = 1;
UNCACHED[F_EVENT_TIME] = 1;
UNCACHED[F_TIMESTAMP] = 1;
/** Longest event time remembered from one record to the next (ISO times are 20–30 bytes). */
const TIME_MAX = 40;

/** The cache's storage; see above. */
class TextCache {
  /** Entry e: int32 byte length (-1 empty) at e * CACHE_ENTRY, then the bytes (for 1–3 bytes, packed in one word). */
  readonly view = new DataView(new ArrayBuffer(CACHE_SIZE * CACHE_ENTRY));
  readonly text: string[] = new Array<string>(CACHE_SIZE).fill('');

  constructor() {
    for (let entry = 0; entry < CACHE_SIZE; entry++) this.view.setInt32(entry * CACHE_ENTRY, -1, true);
  }
}

/**
 * One cache for all builders of a thread: callers make a builder per file, and a cache keyed by
 * the bytes is exact whichever file filled it, so it stays warm from file to file.
 */
let sharedTextCache: TextCache | undefined;

/**
 * Turns the fields of one record into the typed event, with the text decoded as JSON.parse
 * would (UTF-8). Bodies are left undefined: records whose bodies matter are parsed.
 * Returns undefined when the record must be parsed instead.
 */
export class EventBuilder {
  private readonly cache = (sharedTextCache ??= new TextCache());
  private buffer: Buffer | undefined;
  private bytes: Uint8Array = new Uint8Array(0);
  private view: DataView = new DataView(new ArrayBuffer(0));
  private fields = new RecordFields();
  private readonly texts: string[] = new Array<string>(FIELD_COUNT).fill('');
  private readonly timeView = new DataView(new ArrayBuffer(TIME_MAX));
  private timeLength = -1;
  private timeText = '';
  private timeMs = Number.NaN;
  private lastEventName = '';
  private lastEventNameFull = false;

  build(fields: RecordFields, buffer: Buffer): CloudTrailEvent | undefined {
    if (fields.needsParse) return undefined;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
      this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
    }
    this.fields = fields;
    const t = this.texts;
    this.readTexts(fields, t);
    const eventName = t[F_EVENT_NAME]!;
    const eventSource = t[F_EVENT_SOURCE]!;
    // normaliseRecord's "not an event" reason, and the events whose bodies matter, come from JSON.parse.
    if (eventName !== this.lastEventName) {
      this.lastEventName = eventName;
      this.lastEventNameFull = FULL_PARSE_EVENT_NAMES.has(eventName);
    }
    if ((eventName === '' && eventSource === '') || this.lastEventNameFull) return undefined;
    const identity: UserIdentity = {
      type: t[F_UI_TYPE]!,
      principalId: t[F_UI_PRINCIPAL]!,
      arn: t[F_UI_ARN]!,
      accountId: t[F_UI_ACCOUNT]!,
      accessKeyId: t[F_UI_KEY]!,
      userName: t[F_UI_USER]!,
      invokedBy: t[F_UI_INVOKED_BY]!,
      sessionIssuer: fields.sessionIssuerPresent
        ? {
            type: t[F_IS_TYPE]!,
            principalId: t[F_IS_PRINCIPAL]!,
            arn: t[F_IS_ARN]!,
            accountId: t[F_IS_ACCOUNT]!,
            userName: t[F_IS_USER]!,
          }
        : undefined,
      sessionCreationDate: t[F_CREATION_DATE]!,
      ec2RoleDelivery: t[F_SC_DELIVERY]!,
      sourceIdentity: t[F_SC_SOURCE_IDENTITY]!,
      webIdFederatedProvider: t[F_WEB_PROVIDER]!,
      inScopeOfIssuerType: t[F_SCOPE_TYPE]!,
      inScopeOfIssuedTo: t[F_SCOPE_ISSUED_TO]!,
    };
    // eventTime || @timestamp: a string with bytes is never '' (an escape decodes to a character).
    const timeSlot =
      fields.kind[F_EVENT_TIME] !== 0 && fields.end[F_EVENT_TIME]! > fields.start[F_EVENT_TIME]!
        ? F_EVENT_TIME
        : F_TIMESTAMP;
    const eventTime = this.time(timeSlot);
    return {
      eventId: this.uncachedText(F_EVENT_ID),
      eventTime,
      timeMs: this.timeMs,
      eventVersion: t[F_EVENT_VERSION]!,
      eventSource,
      eventName,
      eventType: t[F_EVENT_TYPE]!,
      awsRegion: t[F_AWS_REGION]!,
      sourceIp: t[F_SOURCE_IP]!,
      userAgent: t[F_USER_AGENT]!,
      errorCode: t[F_ERROR_CODE]!,
      errorMessage: t[F_ERROR_MESSAGE]!,
      accountId: t[F_RECIPIENT] || identity.accountId,
      vpcEndpointId: t[F_VPCE]!,
      vpcEndpointAccountId: t[F_VPCE_ACCOUNT]!,
      identity,
      requestParameters: undefined,
      responseElements: undefined,
    };
  }

  /**
   * The event time, and its parse in timeMs. Records of a file come in time order, many within
   * the same second: the last time's bytes, string and parse are kept for the next record.
   */
  private time(slot: number): string {
    const f = this.fields;
    const s = f.start[slot]!;
    const len = f.end[slot]! - s;
    if (f.kind[slot] !== 1 || len > TIME_MAX || len < 4) {
      this.timeLength = -1;
      const text = this.uncachedText(slot);
      this.timeMs = parseEventTime(text);
      return text;
    }
    const view = this.view;
    const last = this.timeView;
    if (len === this.timeLength && sameBytes(view, s, len, last, 0)) return this.timeText;
    copyBytes(view, s, len, last, 0);
    this.timeLength = len;
    this.timeText = (this.buffer as unknown as Slicer).utf8Slice(s, s + len);
    const ms = canonicalTimeMs(this.bytes, s, len);
    this.timeMs = ms >= 0 ? ms : parseEventTime(this.timeText);
    return this.timeText;
  }

  private uncachedText(slot: number): string {
    const f = this.fields;
    const k = f.kind[slot];
    if (k === 0) return '';
    const s = f.start[slot]!;
    const e = f.end[slot]!;
    if (k === 2) return decodeEscaped(this.buffer as unknown as Slicer, this.bytes, s, e);
    return (this.buffer as unknown as Slicer).utf8Slice(s, e);
  }

  /** The text of every field slot whose value repeats (all but the event id and time), through the cache. */
  private readTexts(fields: RecordFields, out: string[]): void {
    const kind = fields.kind;
    const start = fields.start;
    const end = fields.end;
    const view = this.view;
    const cacheView = this.cache.view;
    const cacheText = this.cache.text;
    for (let slot = 0; slot < FIELD_COUNT; slot++) {
      const k = kind[slot];
      if (k === 0 || UNCACHED[slot] === 1) {
        out[slot] = '';
        continue;
      }
      const s = start[slot]!;
      const e = end[slot]!;
      const len = e - s;
      if (k === 2 || len > CACHE_MAX || len === 0) {
        out[slot] = k === 2 ? decodeEscaped(this.buffer as unknown as Slicer, this.bytes, s, e) : this.slice(s, e);
        continue;
      }
      // The last four bytes (or all of a shorter value, packed) and two more words pick the entry.
      let lastWord: number;
      let hash: number;
      if (len >= 4) {
        lastWord = view.getInt32(e - 4, true);
        hash =
          view.getInt32(s, true) ^
          Math.imul(lastWord, 0x85ebca6b) ^
          Math.imul(view.getInt32(s + ((len - 4) >> 1), true), 0xc2b2ae35) ^
          len;
      } else {
        const b = this.bytes;
        lastWord = b[s]! | (len > 1 ? b[s + 1]! << 8 : 0) | (len > 2 ? b[s + 2]! << 16 : 0);
        hash = Math.imul(lastWord, 0x85ebca6b) ^ len;
      }
      const entry = Math.imul(hash, 0x9e3779b1) >>> (32 - CACHE_BITS);
      const base = entry * CACHE_ENTRY;
      const tail = base + 4 + (len >= 4 ? len - 4 : 0);
      if (cacheView.getInt32(base, true) === len && cacheView.getInt32(tail, true) === lastWord) {
        let j = 0;
        while (j < len - 4 && view.getInt32(s + j, true) === cacheView.getInt32(base + 4 + j, true)) j += 4;
        if (j >= len - 4) {
          out[slot] = cacheText[entry]!;
          continue;
        }
      }
      const text = this.slice(s, e);
      cacheText[entry] = text;
      cacheView.setInt32(base, len, true);
      for (let j = 0; j < len - 4; j += 4) cacheView.setInt32(base + 4 + j, view.getInt32(s + j, true), true);
      cacheView.setInt32(tail, lastWord, true);
      out[slot] = text;
    }
  }

  private slice(s: number, e: number): string {
    return (this.buffer as unknown as Slicer).utf8Slice(s, e);
  }
}
