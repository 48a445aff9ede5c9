import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { extractRevocations } from '../detect/revocation.js';
import { OWNERSHIP_EVENT_NAMES, OwnershipEvidence } from '../inventory/evidence.js';
import { simulateOrganisation } from '../simulate/index.js';
import { normaliseRecord, type CloudTrailEvent } from './event.js';
import {
  EventBuilder,
  FULL_PARSE_EVENT_NAMES,
  looksLikeDeliveryFile,
  scanDeliveryFile,
  type RecordFields,
} from './fast-records.js';
import { extractVending } from './vending.js';

// ---------------------------------------------------------------------------------------------
// The reference: what JSON.parse + normaliseRecord make of the same bytes.

/** The slow path's event for one parsed record (bodies dropped), or undefined when it is not an event. */
function slowEvent(value: unknown): CloudTrailEvent | undefined {
  const event = normaliseRecord(value);
  if ('reason' in event) return undefined;
  return { ...event, requestParameters: undefined, responseElements: undefined };
}

/**
 * The records of a delivery file as JSON.parse reads it: top-level objects (whitespace between)
 * that each hold only a `Records` array. Undefined when the text is not that, or not JSON.
 *
 * Concatenated values are split where a naive bracket counter returns to depth 0; JSON.parse then
 * judges each piece. On valid input the counter is exact, and if every piece parses the whole is
 * valid, so the split never decides validity.
 */
function referenceRecords(text: string): unknown[] | undefined {
  const records: unknown[] = [];
  const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\n' || c === '\r' || c === '\t';
  let i = 0;
  while (isSpace(text[i])) i++;
  if (i === text.length) return undefined;
  while (i < text.length) {
    if (text[i] !== '{') return undefined;
    let depth = 0;
    let inString = false;
    let j = i;
    for (; j < text.length; j++) {
      const c = text[j];
      if (inString) {
        if (c === '\\') j++;
        else if (c === '"') inString = false;
      } else if (c === '"') {
        inString = true;
      } else if (c === '{' || c === '[') {
        depth++;
      } else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) break;
      }
    }
    if (j >= text.length) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text.slice(i, j + 1));
    } catch {
      return undefined;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const keys = Object.keys(value);
    const inner = (value as Record<string, unknown>)['Records'];
    if (keys.length !== 1 || keys[0] !== 'Records' || !Array.isArray(inner)) return undefined;
    records.push(...(inner as unknown[]));
    i = j + 1;
    while (isSpace(text[i])) i++;
  }
  return records;
}

interface FastRecord {
  start: number;
  end: number;
  index: number;
  needsParse: boolean;
  event: CloudTrailEvent | undefined;
}

function fastRead(
  bytes: Buffer,
  builder: EventBuilder,
  maxRecordBytes?: number,
): { count: number | undefined; records: FastRecord[] } {
  const records: FastRecord[] = [];
  const count = scanDeliveryFile(
    bytes,
    (fields: RecordFields, buffer, start, end, index) => {
      assert.equal(buffer, bytes);
      records.push({ start, end, index, needsParse: fields.needsParse, event: builder.build(fields, bytes) });
    },
    maxRecordBytes,
  );
  return { count, records };
}

interface Tally {
  files: number;
  records: number;
  /** Records the pass read without asking for JSON.parse. */
  read: number;
  /** Records built into events by the fast path. */
  built: number;
}

const newTally = (): Tally => ({ files: 0, records: 0, read: 0, built: 0 });

/**
 * Holds the fast path to the slow one on one decoded file. With `expected`, the reference records
 * are already known (a file JSON.parse reads whole); otherwise they are worked out from the text.
 * `mustAccept`: the file is valid and of the plain delivery shape, so the pass must not step aside.
 */
function checkFile(
  bytes: Buffer,
  builder: EventBuilder,
  tally: Tally,
  options: { mustAccept?: boolean; expected?: unknown[] | undefined } = {},
): number | undefined {
  const expected = 'expected' in options ? options.expected : referenceRecords(bytes.toString('utf8'));
  const { count, records } = fastRead(bytes, builder);
  if (expected === undefined) {
    // Not JSON, or not the delivery shape: the pass must step aside.
    assert.equal(count, undefined, 'the pass accepted a file JSON.parse rejects (or not of the delivery shape)');
    return undefined;
  }
  if (count === undefined) {
    assert.ok(!options.mustAccept, 'the pass stepped aside on a valid delivery file');
    return undefined;
  }
  assert.equal(count, expected.length);
  assert.equal(records.length, expected.length);
  tally.files++;
  records.forEach((record, k) => {
    assert.equal(record.index, k);
    const value: unknown = JSON.parse(bytes.toString('utf8', record.start, record.end));
    assert.deepEqual(value, expected[k], `record ${k} is not the file's record ${k}`);
    tally.records++;
    if (!record.needsParse) tally.read++;
    const slow = slowEvent(value);
    if (record.event !== undefined) {
      tally.built++;
      assert.deepEqual(record.event, slow, `record ${k}: ${bytes.toString('utf8', record.start, record.end)}`);
    } else if (!record.needsParse) {
      // Read but not built: only events the slow path rejects, or whose bodies matter.
      assert.ok(slow === undefined || FULL_PARSE_EVENT_NAMES.has(slow.eventName));
    }
  });
  return count;
}

function decodeFile(path: string): Buffer {
  const raw = readFileSync(path);
  return raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
}

function jsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.json(\.gz)?$/.test(entry.name)) out.push(join(entry.parentPath, entry.name));
  }
  return out.sort();
}

/** The pass's record count for the bytes, or undefined when it steps aside. */
const countRecords = (bytes: Uint8Array): number | undefined => scanDeliveryFile(bytes, () => {});

/** JSON text with the given whitespace around every structural character outside strings. */
function spaceOut(json: string, space: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += json[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else {
      out += '{}[]:,'.includes(c) ? space + c + space : c;
    }
  }
  return out;
}

/** Wraps records (JSON text) into a delivery file. */
const delivery = (...records: string[]): Buffer => Buffer.from(`{"Records":[${records.join(',')}]}`);

/** The fast reading of one record (JSON text) alone in a delivery file. */
function fastOne(record: string, builder = new EventBuilder()): FastRecord {
  const { count, records } = fastRead(delivery(record), builder);
  assert.equal(count, 1);
  return records[0]!;
}

/** Asserts the fast path builds this record, equal to the slow path, and returns the event. */
function expectBuilt(record: string): CloudTrailEvent {
  const fast = fastOne(record);
  assert.equal(fast.needsParse, false);
  assert.ok(fast.event, 'expected the fast path to build the event');
  assert.deepEqual(fast.event, slowEvent(JSON.parse(record)));
  return fast.event;
}

/** Asserts the fast path hands this record to JSON.parse. */
function expectParsed(record: string): void {
  const fast = fastOne(record);
  assert.equal(fast.event, undefined);
  assert.equal(fast.needsParse, true);
}

/** Asserts the bytes are rejected by JSON.parse and by the pass. */
function expectRejected(text: string | Buffer): void {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  assert.throws(() => JSON.parse(bytes.toString('utf8')), SyntaxError, `JSON.parse accepts ${JSON.stringify(text)}`);
  assert.equal(countRecords(bytes), undefined, `the pass accepts ${JSON.stringify(text.toString())}`);
}

const BASE_EVENT = {
  eventVersion: '1.08',
  userIdentity: {
    type: 'AssumedRole',
    principalId: 'AROAEXAMPLE:i-0abc',
    arn: 'arn:aws:sts::111122223333:assumed-role/web/i-0abc',
    accountId: '111122223333',
    accessKeyId: 'ASIAEXAMPLEKEY',
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: 'AROAEXAMPLE',
        arn: 'arn:aws:iam::111122223333:role/web',
        accountId: '111122223333',
        userName: 'web',
      },
      attributes: { creationDate: '2026-03-01T23:09:04Z', mfaAuthenticated: 'false' },
      ec2RoleDelivery: '2.0',
    },
  },
  eventTime: '2026-03-02T00:00:26Z',
  eventSource: 'dynamodb.amazonaws.com',
  eventName: 'GetItem',
  awsRegion: 'us-west-2',
  sourceIPAddress: '54.188.105.25',
  userAgent: 'aws-sdk-js/3.529.1',
  requestParameters: { tableName: 't', key: { pk: 'P#1' } },
  responseElements: null,
  eventID: '95fc66d4-176c-42ea-8e08-89731f05d40d',
  eventType: 'AwsApiCall',
  recipientAccountId: '111122223333',
};
const base = (changes: Record<string, unknown> = {}): string => JSON.stringify({ ...BASE_EVENT, ...changes });

// ---------------------------------------------------------------------------------------------

describe('fast delivery-file reading: real and simulated data', () => {
  let simDir = '';
  before(async () => {
    simDir = mkdtempSync(join(tmpdir(), 'offbox-fast-records-'));
    await simulateOrganisation({ out: simDir, seed: 5, events: 20000 });
  });
  after(() => {
    if (simDir !== '') rmSync(simDir, { recursive: true, force: true });
  });

  it('reads every record of the fixtures exactly as JSON.parse does', () => {
    const tally = newTally();
    const builder = new EventBuilder();
    let skipped = 0;
    for (const path of jsonFiles('fixtures/cloudtrail')) {
      const bytes = decodeFile(path);
      let expected: unknown[] | undefined;
      try {
        const value: unknown = JSON.parse(bytes.toString('utf8'));
        const inner = (value as Record<string, unknown> | null)?.['Records'];
        if (Array.isArray(inner) && Object.keys(value as object).length === 1) expected = inner;
      } catch {
        expected = undefined;
      }
      if (expected === undefined) {
        // Not of the delivery shape (JSON lines, a Cribl capture, ground truth): the general reader's.
        assert.equal(countRecords(bytes), undefined, path);
        skipped++;
        continue;
      }
      checkFile(bytes, builder, tally, { mustAccept: true, expected });
    }
    assert.ok(tally.files >= 50, `only ${tally.files} delivery files in the fixtures`);
    assert.ok(skipped >= 3);
    assert.ok(tally.built > 0.8 * tally.records, `only ${tally.built} of ${tally.records} fixture records built`);
  });

  it('reads every record of a simulated organisation exactly, nearly all without JSON.parse', () => {
    const tally = newTally();
    const builder = new EventBuilder();
    for (const path of jsonFiles(join(simDir, 'cloudtrail'))) {
      const bytes = decodeFile(path);
      if (path.includes('CloudTrail-Digest')) {
        assert.equal(looksLikeDeliveryFile(bytes), false);
        assert.equal(countRecords(bytes), undefined);
        continue;
      }
      assert.equal(looksLikeDeliveryFile(bytes), true);
      const expected = (JSON.parse(bytes.toString('utf8')) as { Records: unknown[] }).Records;
      checkFile(bytes, builder, tally, { mustAccept: true, expected });
    }
    assert.ok(tally.records > 15000, `only ${tally.records} simulated records`);
    assert.ok(tally.read > 0.95 * tally.records, `only ${tally.read} of ${tally.records} read without JSON.parse`);
    assert.ok(tally.built > 0.9 * tally.records, `only ${tally.built} of ${tally.records} built`);
  });

  it('parses in full every event whose bodies the engine reads', () => {
    for (const name of OWNERSHIP_EVENT_NAMES) assert.ok(FULL_PARSE_EVENT_NAMES.has(name), name);
    for (const name of ['AssumeRole', 'AssumeRoleWithWebIdentity', 'AssumeRoleWithSAML', 'PutRolePolicy']) {
      assert.ok(FULL_PARSE_EVENT_NAMES.has(name), name);
    }
    // And behaviourally: every real or simulated event the body readers accept is parsed in full.
    let accepted = 0;
    const paths = [...jsonFiles('fixtures/cloudtrail/invictus'), ...jsonFiles(join(simDir, 'cloudtrail'))];
    for (const path of paths) {
      if (path.includes('CloudTrail-Digest')) continue;
      for (const record of (JSON.parse(decodeFile(path).toString('utf8')) as { Records: unknown[] }).Records) {
        const event = normaliseRecord(record);
        if ('reason' in event) continue;
        if (extractVending(event) || extractRevocations(event).length > 0 || new OwnershipEvidence().consider(event)) {
          accepted++;
          assert.ok(FULL_PARSE_EVENT_NAMES.has(event.eventName), event.eventName);
        }
      }
    }
    assert.ok(accepted > 0);
  });
});

describe('fast delivery-file reading: JSON semantics', () => {
  it('builds a plain event', () => {
    const event = expectBuilt(base());
    assert.equal(event.identity.sessionIssuer?.userName, 'web');
    assert.equal(event.requestParameters, undefined);
  });

  it('takes the last of duplicate keys', () => {
    expectBuilt(base().replace('"eventName":"GetItem"', '"eventName":"First","eventName":"GetItem"'));
    assert.equal(
      expectBuilt(base().replace('{"eventVersion"', '{"awsRegion":null,"eventVersion"')).awsRegion,
      'us-west-2',
    );
    assert.equal(expectBuilt(base().slice(0, -1) + ',"awsRegion":{"a":"b"}}').awsRegion, '');
    assert.equal(expectBuilt(base().slice(0, -1) + ',"awsRegion":"eu-west-1"}').awsRegion, 'eu-west-1');
  });

  it('lets a repeated object key replace the whole earlier object', () => {
    const twice = base().slice(0, -1) + ',"userIdentity":{"type":"IAMUser","userName":"bob"}}';
    const event = expectBuilt(twice);
    assert.equal(event.identity.type, 'IAMUser');
    assert.equal(event.identity.arn, '');
    assert.equal(event.identity.sessionIssuer, undefined);
    assert.equal(event.identity.sessionCreationDate, '');
    assert.equal(expectBuilt(base().slice(0, -1) + ',"userIdentity":"x"}').identity.arn, '');
    const session = base().replace('"ec2RoleDelivery":"2.0"', '"ec2RoleDelivery":"2.0","sessionIssuer":null');
    assert.equal(expectBuilt(session).identity.sessionIssuer, undefined);
    const context = base().replace('"accessKeyId"', '"sessionContext":{"sessionIssuer":{}},"accessKeyId"');
    assert.equal(expectBuilt(context).identity.sessionIssuer?.arn, 'arn:aws:iam::111122223333:role/web');
    const id = (identity: string): string => `{"eventName":"X","userIdentity":${identity}}`;
    const issuer = expectBuilt(
      id('{"sessionContext":{"sessionIssuer":{"arn":"a"}},"sessionContext":{"sessionIssuer":{}}}'),
    );
    assert.equal(issuer.identity.sessionIssuer?.arn, '');
    assert.equal(
      expectBuilt(id('{"sessionContext":{"sessionIssuer":{"arn":"a"}},"sessionContext":{}}')).identity.sessionIssuer,
      undefined,
    );
    assert.equal(
      expectBuilt(id('{"sessionContext":{"sessionIssuer":{"arn":"a"},"sessionIssuer":"no"}}')).identity.sessionIssuer,
      undefined,
    );
    const attributes =
      '{"sessionContext":{"attributes":{"creationDate":"c"}},"sessionContext":{"ec2RoleDelivery":"2.0"}}';
    assert.equal(expectBuilt(id(attributes)).identity.sessionCreationDate, '');
    assert.equal(expectBuilt(id('{"inScopeOf":{"issuerType":"t"},"inScopeOf":null}')).identity.inScopeOfIssuerType, '');
    assert.equal(expectBuilt(id('{"arn":"a","sessionContext":{},"arn":"b"}')).identity.arn, 'b');
  });

  it('tells an empty sessionIssuer (present) from a missing one', () => {
    const empty = expectBuilt('{"eventName":"X","userIdentity":{"sessionContext":{"sessionIssuer":{}}}}');
    assert.deepEqual(empty.identity.sessionIssuer, { type: '', principalId: '', arn: '', accountId: '', userName: '' });
    assert.equal(
      expectBuilt('{"eventName":"X","userIdentity":{"sessionContext":{}}}').identity.sessionIssuer,
      undefined,
    );
    assert.equal(
      expectBuilt('{"eventName":"X","userIdentity":{"sessionContext":[{}]}}').identity.sessionIssuer,
      undefined,
    );
    assert.equal(
      expectBuilt('{"eventName":"X","userIdentity":{"sessionIssuer":{}}}').identity.sessionIssuer,
      undefined,
    );
  });

  it('leaves escaped keys to JSON.parse', () => {
    expectParsed(base().replace('"eventName"', '"event\\u004eame"'));
    expectParsed(base().replace('"arn"', '"\\u0061rn"'));
    expectParsed(base().replace('"creationDate"', '"creation\\u0044ate"'));
    // Escapes in keys no field depends on do not matter.
    expectBuilt(base().replace('"tableName"', '"table\\u004eame"'));
  });

  it('leaves numbers and booleans in text fields to JSON.parse, reads null, objects and arrays as empty', () => {
    expectParsed(base({ awsRegion: 5 }));
    expectParsed(base({ eventVersion: 1.08 }));
    expectParsed(base({ errorCode: true }));
    expectParsed(base({ userIdentity: { type: false } }));
    assert.equal(expectBuilt(base({ awsRegion: null })).awsRegion, '');
    assert.equal(expectBuilt(base({ awsRegion: { a: 1 } })).awsRegion, '');
    assert.equal(expectBuilt(base({ awsRegion: [] })).awsRegion, '');
    assert.equal(expectBuilt(base({ userIdentity: { arn: ['x'] } })).identity.arn, '');
  });

  it('reads @timestamp when eventTime is missing or empty, and the identity account without recipientAccountId', () => {
    assert.equal(
      expectBuilt(base({ eventTime: undefined, '@timestamp': '2020-09-14T01:19:40Z' })).eventTime,
      '2020-09-14T01:19:40Z',
    );
    assert.equal(
      expectBuilt(base({ eventTime: '', '@timestamp': '2020-09-14T01:19:40Z' })).timeMs,
      Date.parse('2020-09-14T01:19:40Z'),
    );
    assert.equal(expectBuilt(base({ eventTime: null, '@timestamp': 'x' })).timeMs, Number.NaN);
    assert.equal(expectBuilt(base({ eventTime: undefined })).timeMs, Number.NaN);
    assert.equal(expectBuilt(base({ recipientAccountId: undefined })).accountId, '111122223333');
    assert.equal(expectBuilt(base({ recipientAccountId: '' })).accountId, '111122223333');
    assert.equal(expectBuilt(base({ recipientAccountId: '444455556666' })).accountId, '444455556666');
  });

  it('parses times exactly as Date.parse, in and out of the canonical form', () => {
    const times = [
      '2026-03-02T00:00:26Z',
      '2024-02-29T23:59:59Z',
      '2026-02-29T00:00:00Z',
      '2026-02-30T00:00:00Z',
      '2026-04-31T12:00:00Z',
      '2026-03-00T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-01T00:00:00Z',
      '2026-03-02T24:00:00Z',
      '2026-03-02T23:60:00Z',
      '2026-03-02T23:59:60Z',
      '1970-01-01T00:00:00Z',
      '1969-12-31T23:59:59Z',
      '0050-01-01T00:00:00Z',
      '9999-12-28T23:59:59Z',
      '2026-03-02T00:00:26.123Z',
      '2026-03-02T00:00:26+01:00',
      '2026-03-02 00:00:26Z',
      '2026-03-02T00:00:2aZ',
      'x026-03-02T00:00:26Z',
      '2026-03-02T00:00:26z',
      'Mon, 02 Mar 2026 00:00:26 GMT',
      '2026',
    ];
    const builder = new EventBuilder();
    for (const time of [...times, ...times.reverse()]) {
      const fast = fastOne(base({ eventTime: time }), builder);
      assert.equal(fast.event?.timeMs, Date.parse(time), time);
      assert.equal(fast.event?.eventTime, time);
    }
  });

  it('hands wrappers and records that are not objects to JSON.parse', () => {
    expectParsed(base({ Records: [] }));
    expectParsed(base({ _raw: 'x' }));
    expectParsed(base({ result: {} }));
    expectParsed(base({ digestStartTime: 'x' }));
    expectParsed('[' + base() + ']');
    expectParsed('"text"');
    expectParsed('12');
    expectParsed('null');
    expectParsed('true');
    // Nested deeper, those keys mean nothing.
    expectBuilt(base({ requestParameters: { Records: [], _raw: 'x', result: 1 } }));
  });

  it('does not build what normaliseRecord rejects, nor events whose bodies matter', () => {
    for (const record of [
      '{}',
      '{"eventName":"","eventSource":""}',
      '{"eventName":null}',
      base({ eventName: 'AssumeRole' }),
    ]) {
      const fast = fastOne(record);
      assert.equal(fast.needsParse, false);
      assert.equal(fast.event, undefined);
    }
    for (const name of FULL_PARSE_EVENT_NAMES) assert.equal(fastOne(base({ eventName: name })).event, undefined);
    expectBuilt('{"eventSource":"s3.amazonaws.com"}');
    expectBuilt('{"eventName":"GetObject"}');
  });

  it('allows whitespace between any tokens', () => {
    const spaced = spaceOut(base(), ' \n\t\r');
    assert.notEqual(spaced, base());
    const event = expectBuilt(spaced);
    assert.equal(event.identity.sessionIssuer?.accountId, '111122223333');
    const file = Buffer.from(
      ` \n{ \t"Records" \r:\n [ ${base()} , \n${base()}\t]\n} \n {"Records":[]}{"Records":[${base()}]}\n\n`,
    );
    const { count, records } = fastRead(file, new EventBuilder());
    assert.equal(count, 3);
    assert.equal(records.filter((r) => r.event !== undefined).length, 3);
  });

  it('decodes escaped values, non-ASCII text and invalid UTF-8 as JSON.parse does', () => {
    const values = [
      'tab\there',
      'quote " and backslash \\ and slash /',
      'é日本😀',
      '\u0000\u001f\u007f\u2028',
      'ends with backslash\\',
      '\\',
      '"',
    ];
    for (const value of values) assert.equal(expectBuilt(base({ userAgent: value })).userAgent, value);
    assert.equal(
      expectBuilt(base().replace('"us-west-2"', '"us-\\u0077est-2\\/\\b\\f\\n\\r\\t\\"\\\\"')).awsRegion,
      'us-west-2/\b\f\n\r\t"\\',
    );
    assert.equal(
      expectBuilt(base().replace('"GetItem"', '"\\ud83d\\ude00 \\uD800 \\udc00x \\u00E9"')).eventName,
      '😀 \ud800 \udc00x é',
    );
    const invalid = Buffer.concat([
      Buffer.from(base().split('"aws-sdk-js/3.529.1"')[0]! + '"a'),
      Buffer.from([0xff, 0xc3, 0x28, 0xe2, 0x82, 0xf0, 0x9f, 0x98, 0xed, 0xa0, 0x80]),
      Buffer.from('b"' + base().split('"aws-sdk-js/3.529.1"')[1]!),
    ]);
    const { records } = fastRead(
      Buffer.from(`{"Records":[${invalid.toString('latin1')}]}`, 'latin1'),
      new EventBuilder(),
    );
    const slow = slowEvent(JSON.parse(invalid.toString('utf8')));
    assert.deepEqual(records[0]!.event, slow);
    assert.match(slow!.userAgent, /^a\ufffd.*b$/);
  });

  it('tells apart cached values that hash alike', () => {
    // Same length, first, middle and last words: only a full comparison separates them.
    const builder = new EventBuilder();
    const agents: string[] = [];
    for (let k = 0; k < 50; k++)
      agents.push(`AAAA${String(k).padStart(4, '0')}BBBBBBBB${String(k % 7).padStart(4, '0')}CCCC`);
    for (const agent of [...agents, ...agents.reverse(), ...agents]) {
      const fast = fastOne(
        base({ userAgent: agent, sourceIPAddress: agent.slice(0, 3), eventVersion: agent.slice(0, 1) }),
        builder,
      );
      assert.equal(fast.event?.userAgent, agent);
      assert.equal(fast.event?.sourceIp, agent.slice(0, 3));
    }
  });

  it('reads files at any alignment, and from plain Uint8Arrays', () => {
    const file = delivery(base(), base({ userAgent: 'x'.repeat(300) }), base({ eventName: 'é' }));
    const expected = (JSON.parse(file.toString()) as { Records: unknown[] }).Records;
    for (let before = 0; before < 8; before++) {
      for (let trailing = 0; trailing < 5; trailing++) {
        const backing = Buffer.alloc(before + file.length + trailing, '"\\\x00');
        file.copy(backing, before);
        const view = backing.subarray(before, before + file.length);
        checkFile(view, new EventBuilder(), newTally(), { mustAccept: true, expected });
        const text = Buffer.from(`${' '.repeat(trailing)}${file.toString()}${'\n'.repeat(before)}`);
        checkFile(text, new EventBuilder(), newTally(), { mustAccept: true, expected });
      }
    }
    const plain = new Uint8Array(file);
    assert.equal(countRecords(plain), 3);
  });

  it('follows deep nesting inside a record when allowed, and steps aside past maxNestingDepth', () => {
    const deep = '['.repeat(5000) + '{"a":' + '{"b":'.repeat(3000) + '1' + '}'.repeat(3000) + '}' + ']'.repeat(5000);
    const record = base().replace('"responseElements":null', `"responseElements":${deep}`);
    const unbounded = (bytes: Buffer) =>
      scanDeliveryFile(bytes, () => {}, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
    let built: CloudTrailEvent | undefined;
    const builder = new EventBuilder();
    const bytes = delivery(record);
    assert.equal(
      scanDeliveryFile(bytes, (fields) => (built = builder.build(fields, bytes)), Infinity, Infinity),
      1,
    );
    assert.deepEqual(built, slowEvent(JSON.parse(record)));
    const unclosed = base().replace('"responseElements":null', `"responseElements":${deep.slice(0, -1)}`);
    assert.equal(unbounded(delivery(unclosed)), undefined, 'one closer short');
    // With the default limit the framer reads the file and reports the record as too deep.
    assert.equal(countRecords(bytes), undefined);
  });

  it('rejects invalid JSON anywhere in the file', () => {
    const record = base();
    const inRecord = [
      record.replace('us-west-2', 'us-west\n2'),
      record.replace('us-west-2', 'us-west\x002'),
      record.replace('us-west-2', 'us-west\x1f2'),
      record.replace('tableName', 'table\tName'),
      record.replace('us-west-2', 'us-west\\x2'),
      record.replace('us-west-2', 'us-west\\u002'),
      record.replace('us-west-2', 'us-west\\u00g2'),
      record.replace('us-west-2', 'us-west\\U0020'),
      record.replace('us-west-2', 'us-west-2\\'),
      record.replace('"responseElements":null', '"responseElements":01'),
      record.replace('"responseElements":null', '"responseElements":1.'),
      record.replace('"responseElements":null', '"responseElements":.5'),
      record.replace('"responseElements":null', '"responseElements":-'),
      record.replace('"responseElements":null', '"responseElements":+1'),
      record.replace('"responseElements":null', '"responseElements":1e'),
      record.replace('"responseElements":null', '"responseElements":1e+'),
      record.replace('"responseElements":null', '"responseElements":-a'),
      record.replace('"responseElements":null', '"responseElements":0x10'),
      record.replace('"responseElements":null', '"responseElements":[1e"x"]'),
      record.replace('"responseElements":null', '"responseElements":[1E+[]]'),
      record.replace('"responseElements":null', '"responseElements":[1.e1]'),
      record.replace('"responseElements":null', '"responseElements":[1."x"]'),
      record.replace('"responseElements":null', '"responseElements":[-"1"]'),
      record.replace('"responseElements":null', '"responseElements":[1.5e-{}]'),
      record.replace('"responseElements":null', '"responseElements":[00]'),
      record.replace('"responseElements":null', '"responseElements":[tru ]'),
      record.replace('"responseElements":null', '"responseElements":[nul ]'),
      record.replace('"responseElements":null', '"responseElements":[fals ]'),
      record.replace('"responseElements":null', '"responseElements":[truE]'),
      record.replace('"responseElements":null', '"responseElements":[-01]'),
      record.replace('"responseElements":null', '"responseElements":NaN'),
      record.replace('"responseElements":null', '"responseElements":nul'),
      record.replace('"responseElements":null', '"responseElements":nulls'),
      record.replace('"responseElements":null', '"responseElements":True'),
      record.replace('"responseElements":null', '"responseElements":fals'),
      record.replace('"responseElements":null', '"responseElements":undefined'),
      record.replace('"responseElements":null', '"responseElements":'),
      record.replace('"responseElements":null', '"responseElements"'),
      record.replace('"responseElements":null', '"responseElements" null'),
      record.replace('"responseElements":null', '"responseElements":null null'),
      record.replace('"responseElements":null', '"responseElements":"a""b"'),
      record.replace('"responseElements":null', '"responseElements":[1,]'),
      record.replace('"responseElements":null', '"responseElements":[,1]'),
      record.replace('"responseElements":null', '"responseElements":[1 2]'),
      record.replace('"responseElements":null', '"responseElements":{"a":1,}'),
      record.replace('"responseElements":null', '"responseElements":{"a" 1}'),
      record.replace('"responseElements":null', '"responseElements":{"a":1 "b":2}'),
      record.replace('"responseElements":null', '"responseElements":{a:1}'),
      record.replace('"responseElements":null', "'responseElements':null"),
      record.replace('"responseElements":null', '"responseElements":[}'),
      record.replace('"responseElements":null', '"responseElements":{]'),
      record.replace('"responseElements":null', '"responseElements":{"a":[1}]'),
      record.replace('"responseElements":null', '"responseElements":{,}'),
      record.replace('"responseElements":null', '"responseElements":[[]'),
      record.replace('"responseElements":null', '"responseElements":[]]'),
      record.replace('"eventTime":', '"eventTime"::'),
      record.replace('"eventTime":', '"eventTime",'),
      record.replace('"eventName":"GetItem",', '"eventName":"GetItem",,'),
      record.replace(',"awsRegion"', '"awsRegion"'),
      record.slice(0, -1) + ',}',
      record.slice(0, -1),
      record + '}',
      record.replace('"userIdentity":{', '"userIdentity":{,'),
      record.replace('"sessionIssuer":{', '"sessionIssuer":{"type"}'),
      record.replace('"creationDate":"', '"creationDate":'),
      '{"eventName":"x" "eventSource":"y"}',
      '{"eventName":"x",}',
      '{,"eventName":"x"}',
      '{"eventName"}',
      '{"eventName":}',
      '{"eventName"::"x"}',
      '{"eventName":"x"',
      '{"eventName":"x"]',
      '["a",]',
      '[',
      '{',
      '}',
      ']',
      ',',
      '"x',
      'x',
      '-',
      '\u00a0{}',
      '{}\u00a0',
    ];
    for (const bad of inRecord) {
      expectRejected(`{"Records":[${bad}]}`);
      expectRejected(`{"Records":[${record},${bad}]}`);
      expectRejected(`{"Records":[${bad},${record}]}`);
    }
    const wrappers = [
      '',
      ' \n',
      '\ufeff{"Records":[]}',
      '{"Records":[]',
      '{"Records":[]}}',
      '{"Records":[]}]',
      '{"Records":[]},{"Records":[]}',
      '{"Records":[]} x',
      '{"Records":[]} {',
      '{"Records":[]} {"Records":[]',
      '{"Records":[]x{"Records":[]}',
      '{"Records":[]]{"Records":[]}',
      `{"Records":[${record}],{"Records":[]}`,
      '{"Records":[],}',
      `{"Records":[${record},]}`,
      `{"Records":[,${record}]}`,
      `{"Records":[${record}${record}]}`,
      `{"Records":[${record} ${record}]}`,
      '{"Records":[}',
      '{"Records":]}',
      '{"Records"[]}',
      '{"Records":[]]}',
      '{"Records"::[]}',
      '{Records:[]}',
      '{"Records":[]}\u0000',
      '{"Records":[]}\u000b',
      '{"Records":["a\nb"]}',
    ];
    for (const bad of wrappers) expectRejected(Buffer.from(bad));
  });

  it('steps aside on valid files of other shapes', () => {
    const others = [
      '{"Records":{}}',
      '{"Records":"x"}',
      '{"Records":null}',
      '{"Records":[],"x":1}',
      '{"x":1,"Records":[]}',
      '{"Records":[],"Records":[]}',
      '{"Rec\\u006frds":[]}',
      '[{"Records":[]}]',
      '{"Records":[]} 1',
      base(),
      '{}',
      '[]',
      '"x"',
    ];
    for (const other of others) {
      JSON.parse(other.replace(/} 1$/, '}'));
      assert.equal(countRecords(Buffer.from(other)), undefined, other);
    }
  });

  it('counts records and steps aside on one longer than maxRecordBytes', () => {
    const small = base();
    const large = base({ userAgent: 'x'.repeat(500) });
    const file = delivery(small, large, small);
    assert.equal(
      scanDeliveryFile(file, () => {}, Buffer.byteLength(large)),
      3,
    );
    assert.equal(
      scanDeliveryFile(file, () => {}, Buffer.byteLength(large) - 1),
      undefined,
    );
    assert.equal(countRecords(Buffer.from('{"Records":[]}')), 0);
    const seen: number[] = [];
    scanDeliveryFile(file, (_fields, _buffer, start, end, index) => {
      seen.push(index);
      assert.equal(file[start], 0x7b);
      assert.equal(file[end - 1], 0x7d);
    });
    assert.deepEqual(seen, [0, 1, 2]);
  });

  it('tells delivery files by their first bytes', () => {
    assert.equal(looksLikeDeliveryFile(Buffer.from('{"Records":[')), true);
    assert.equal(looksLikeDeliveryFile(Buffer.from(' \n{ \t"Records"')), true);
    assert.equal(looksLikeDeliveryFile(Buffer.from('{"Record":[')), false);
    assert.equal(looksLikeDeliveryFile(Buffer.from('[{"Records":[')), false);
    assert.equal(looksLikeDeliveryFile(Buffer.from('')), false);
  });
});

// ---------------------------------------------------------------------------------------------
// Generated records: a JSON tree that keeps key order, duplicates and raw bytes, written with
// random whitespace and escapes.

type Json =
  | { kind: 'object'; entries: [string, Json][] }
  | { kind: 'array'; items: Json[] }
  /** Text, or raw bytes (0x80–0xff: invalid UTF-8 or not) written into the string as they are. */
  | { kind: 'string'; parts: (string | number[])[] }
  /** A number or literal, written as it is. */
  | { kind: 'raw'; text: string };

const str = (text: string): Json => ({ kind: 'string', parts: [text] });
const obj = (entries: [string, Json][]): Json => ({ kind: 'object', entries });

interface Style {
  seed: number;
  /** Chance of whitespace between two tokens. */
  space: number;
  /** Chance of writing a character that needs no escape as an escape. */
  escape: number;
  /** Chance of escaping a character of a key. */
  keyEscape: number;
}

function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

class Writer {
  private readonly chunks: Buffer[] = [];
  private readonly random: () => number;

  constructor(private readonly style: Style) {
    this.random = mulberry32(style.seed);
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  text(text: string): void {
    this.chunks.push(Buffer.from(text, 'utf8'));
  }

  space(): void {
    if (this.random() >= this.style.space) return;
    let out = '';
    const n = 1 + Math.floor(this.random() * 3);
    for (let k = 0; k < n; k++) out += ' \n\r\t'[Math.floor(this.random() * 4)];
    this.text(out);
  }

  private unicodeEscape(unit: number): string {
    const hex = unit.toString(16).padStart(4, '0');
    return '\\u' + (this.random() < 0.5 ? hex : hex.toUpperCase());
  }

  string(parts: (string | number[])[], escapeChance: number): void {
    this.text('"');
    for (const part of parts) {
      if (typeof part !== 'string') {
        this.chunks.push(Buffer.from(part));
        continue;
      }
      let out = '';
      for (const char of part) {
        const code = char.codePointAt(0)!;
        const surrogate = char.length === 1 && code >= 0xd800 && code <= 0xdfff;
        if (char in SHORT_ESCAPES && (code < 0x20 || char === '"' || char === '\\' || this.random() < 0.7)) {
          out += code < 0x20 && this.random() < 0.3 ? this.unicodeEscape(code) : SHORT_ESCAPES[char];
        } else if (code < 0x20 || (surrogate && this.random() < 0.8) || this.random() < escapeChance) {
          for (let k = 0; k < char.length; k++) out += this.unicodeEscape(char.charCodeAt(k));
        } else if (char === '/' && this.random() < 0.5) {
          out += '\\/';
        } else {
          out += char;
        }
      }
      this.text(out);
    }
    this.text('"');
  }

  value(value: Json): void {
    this.space();
    switch (value.kind) {
      case 'raw':
        this.text(value.text);
        break;
      case 'string':
        this.string(value.parts, this.style.escape);
        break;
      case 'array':
        this.text('[');
        value.items.forEach((item, k) => {
          if (k > 0) this.text(',');
          this.value(item);
        });
        this.space();
        this.text(']');
        break;
      case 'object':
        this.text('{');
        value.entries.forEach(([key, item], k) => {
          if (k > 0) this.text(',');
          this.space();
          this.string([key], this.style.keyEscape);
          this.space();
          this.text(':');
          this.value(item);
        });
        this.space();
        this.text('}');
        break;
    }
    this.space();
  }

  /** Delivery objects, concatenated; the Records key as it is (a wrapper the pass must read). */
  file(wrappers: Json[][]): Buffer {
    this.space();
    for (const records of wrappers) {
      this.text('{');
      this.space();
      this.text('"Records"');
      this.space();
      this.text(':');
      this.space();
      this.text('[');
      records.forEach((record, k) => {
        if (k > 0) this.text(',');
        this.value(record);
      });
      this.space();
      this.text(']');
      this.space();
      this.text('}');
      this.space();
    }
    return this.bytes();
  }
}

const styleArb: fc.Arbitrary<Style> = fc.record({
  seed: fc.integer(),
  space: fc.constantFrom(0, 0, 0.1, 0.5, 1),
  escape: fc.constantFrom(0, 0, 0.05, 0.5),
  keyEscape: fc.constantFrom(0, 0, 0, 0, 0.002, 0.3),
});

const textArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'us-west-2',
      'AssumedRole',
      'Role',
      '1.08',
      'arn:aws:iam::111122223333:role/web',
      'ASIAEXAMPLEKEY',
      '2.0',
      'aws-sdk-go/1.44 (go1.20; linux)',
      '10.0.0.1',
      'ec2.amazonaws.com',
      'GetObject',
      'AssumeRole',
      'RunInstances',
      'AccessDenied',
      '111122223333',
      '',
    ),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '"',
      '\\',
      '/',
      '\\"',
      '\u0000',
      '\u001f\n',
      '\u007f',
      '\u2028',
      'é',
      '日本語',
      '😀',
      '\ud800',
      'a\udc00',
      'x'.repeat(300),
    ),
  },
);

const timeArb: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('2026', '2024', '1970', '1969', '0050', '9999', '2100'),
      fc.integer({ min: 0, max: 13 }),
      fc.integer({ min: 0, max: 32 }),
      fc.integer({ min: 0, max: 25 }),
      fc.integer({ min: 0, max: 61 }),
      fc.integer({ min: 0, max: 61 }),
    )
    .map(([y, mo, d, h, mi, s]) => {
      const two = (n: number): string => String(n).padStart(2, '0');
      return `${y}-${two(mo)}-${two(d)}T${two(h)}:${two(mi)}:${two(s)}Z`;
    }),
  fc.constantFrom('2026-03-02T00:00:26Z', '2026-03-02T00:00:26.5Z', '2026-03-02T00:00:26+02:00', 'yesterday', ''),
);

const rawBytesArb = fc.array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 4 });

const stringArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 8, arbitrary: textArb.map(str) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(textArb, rawBytesArb, textArb)
      .map(([a, raw, b]): Json => ({ kind: 'string', parts: [a, raw, b] })),
  },
);

const numberArb: fc.Arbitrary<Json> = fc
  .constantFrom('0', '-0', '1', '-12', '3.25', '1e3', '1E-2', '-0.0e+5', '12345678901234567890', '1.5e308', '2e400')
  .map((text): Json => ({ kind: 'raw', text }));
const literalArb: fc.Arbitrary<Json> = fc
  .constantFrom('true', 'false', 'null')
  .map((text): Json => ({ kind: 'raw', text }));

const keyArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('requestParameters', 'responseElements', 'resources', 'tlsDetails', 'readOnly', 'eventCategory'),
  fc.string({ maxLength: 10 }),
  // Near misses of the keys the pass reads: one character changed, added or dropped.
  fc
    .tuple(
      fc.constantFrom(
        'eventName',
        'eventSource',
        'userIdentity',
        'arn',
        'type',
        'sessionIssuer',
        'recipientAccountId',
        'vpcEndpointAccountId',
        'Records',
        '_raw',
      ),
      fc.nat(),
      fc.constantFrom('', 'x', 'E', 'a', ' ', 'é'),
    )
    .map(([key, at, c]) => {
      const k = at % (key.length + 1);
      return key.slice(0, k) + c + key.slice(k + (c === '' || at % 2 === 0 ? 1 : 0));
    }),
);

const anyJsonArb: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    stringArb,
    numberArb,
    literalArb,
    fc.array(tie('value'), { maxLength: 4 }).map((items): Json => ({ kind: 'array', items })),
    fc.array(fc.tuple(keyArb, tie('value')), { maxLength: 4 }).map(obj),
  ),
})).value;

/** A value for a text field: mostly text, sometimes any other JSON type. */
const fieldArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 12, arbitrary: stringArb },
  { weight: 1, arbitrary: numberArb },
  { weight: 1, arbitrary: literalArb },
  { weight: 1, arbitrary: anyJsonArb },
);

/**
 * An object with the given text fields and child objects: usually each once in a random order,
 * sometimes a random pick with repeats, plus unrelated keys.
 */
function objectArb(
  fields: readonly string[],
  children: Record<string, fc.Arbitrary<Json>> = {},
  text = fieldArb,
): fc.Arbitrary<Json> {
  const entryArb = (key: string): fc.Arbitrary<[string, Json]> =>
    fc.tuple(
      fc.constant(key),
      key in children ? fc.oneof({ weight: 6, arbitrary: children[key]! }, { weight: 1, arbitrary: anyJsonArb }) : text,
    );
  const keys = [...fields, ...Object.keys(children)];
  const pick = (minLength: number): fc.Arbitrary<[string, Json][]> =>
    fc.shuffledSubarray(keys, { minLength }).chain((picked) => fc.tuple(...picked.map(entryArb)));
  const entries = fc.oneof(
    { weight: 3, arbitrary: pick(keys.length) },
    { weight: 2, arbitrary: pick(0) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...keys).chain(entryArb), { maxLength: keys.length + 3 }) },
  );
  return fc
    .tuple(entries, fc.array(fc.tuple(keyArb, anyJsonArb), { maxLength: 3 }), fc.nat())
    .map(([known, extra, at]) => {
      const all: [string, Json][] = [...known];
      for (const entry of extra) all.splice(at % (all.length + 1), 0, entry);
      return obj(all);
    });
}

/** An event record whose text fields take values from `field`. */
function eventArbOf(field: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  const issuer = objectArb(['type', 'principalId', 'arn', 'accountId', 'userName'], {}, field);
  const session = objectArb(
    ['ec2RoleDelivery', 'sourceIdentity'],
    {
      sessionIssuer: fc.oneof({ weight: 5, arbitrary: issuer }, { weight: 1, arbitrary: fc.constant(obj([])) }),
      attributes: objectArb(['creationDate', 'mfaAuthenticated'], {}, fc.oneof(field, timeArb.map(str))),
      webIdFederationData: objectArb(['federatedProvider'], {}, field),
    },
    field,
  );
  const identity = objectArb(
    ['type', 'principalId', 'arn', 'accountId', 'accessKeyId', 'userName', 'invokedBy'],
    { sessionContext: session, inScopeOf: objectArb(['issuerType', 'credentialsIssuedTo'], {}, field) },
    field,
  );
  return objectArb(
    [
      'eventVersion',
      'eventTime',
      '@timestamp',
      'eventSource',
      'eventName',
      'eventType',
      'awsRegion',
      'sourceIPAddress',
      'userAgent',
      'errorCode',
      'errorMessage',
      'recipientAccountId',
      'vpcEndpointId',
      'vpcEndpointAccountId',
      'eventID',
    ],
    { userIdentity: identity },
    fc.oneof({ weight: 4, arbitrary: field }, { weight: 1, arbitrary: timeArb.map(str) }),
  );
}

/** Text fields that are text, null or containers: records the fast path builds. */
const cleanFieldArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 30, arbitrary: stringArb },
  { weight: 1, arbitrary: fc.constant<Json>({ kind: 'raw', text: 'null' }) },
  { weight: 1, arbitrary: fc.array(fc.tuple(keyArb, anyJsonArb), { maxLength: 2 }).map(obj) },
  { weight: 1, arbitrary: fc.array(anyJsonArb, { maxLength: 2 }).map((items): Json => ({ kind: 'array', items })) },
);
const eventArb = fc.oneof(
  { weight: 3, arbitrary: eventArbOf(cleanFieldArb) },
  { weight: 1, arbitrary: eventArbOf(fieldArb) },
);

const recordArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 20, arbitrary: eventArb },
  // Wrappers and things that are not events: JSON.parse's.
  {
    weight: 1,
    arbitrary: fc
      .tuple(eventArb, fc.constantFrom('Records', '_raw', 'result', 'digestStartTime'), anyJsonArb)
      .map(([event, key, value]): Json => (event.kind === 'object' ? obj([...event.entries, [key, value]]) : event)),
  },
  { weight: 1, arbitrary: anyJsonArb },
  { weight: 1, arbitrary: fc.array(eventArb, { maxLength: 2 }).map((items): Json => ({ kind: 'array', items })) },
);

const fileArb = fc.tuple(fc.array(fc.array(recordArb, { maxLength: 5 }), { minLength: 1, maxLength: 3 }), styleArb);

function writeFile([wrappers, style]: [Json[][], Style]): Buffer {
  return new Writer(style).file(wrappers);
}

/** A copy of the bytes inside a larger buffer holding quotes, backslashes and zeros around them. */
function embedded(bytes: Buffer, before: number, after: number): Buffer {
  const backing = Buffer.alloc(before + bytes.length + after, '"\\\x00\x7f');
  bytes.copy(backing, before);
  return backing.subarray(before, before + bytes.length);
}

const INTERESTING_BYTES = [...'"\\{}[],: \n\t0129-.eE+tfnulr/aZ']
  .map((c) => c.charCodeAt(0))
  .concat([0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xff]);

type Mutation = {
  op: 'replace' | 'insert' | 'delete' | 'truncate' | 'repeat';
  at: number;
  byte: number;
  length: number;
};

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom('replace', 'replace', 'insert', 'delete', 'truncate', 'repeat'),
  at: fc.nat(),
  byte: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.integer({ min: 0, max: 255 })),
  length: fc.integer({ min: 1, max: 12 }),
});

function mutate(bytes: Buffer, { op, at, byte, length }: Mutation): Buffer {
  if (bytes.length === 0) return Buffer.from([byte]);
  const i = at % bytes.length;
  switch (op) {
    case 'replace':
      return Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i + 1)]);
    case 'insert':
      return Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + length)]);
    case 'truncate':
      return bytes.subarray(0, i);
    case 'repeat':
      return Buffer.concat([bytes.subarray(0, i + length), bytes.subarray(i)]);
  }
}

describe('fast delivery-file reading: generated records', () => {
  // One builder for all runs: its caches must never carry one file's text into another.
  const builder = new EventBuilder();

  it('reads generated records exactly as JSON.parse does', () => {
    const tally = newTally();
    fc.assert(
      fc.property(fileArb, fc.nat(7), fc.nat(7), (file, before, after) => {
        const bytes = embedded(writeFile(file), before, after);
        checkFile(bytes, builder, tally, { mustAccept: true });
      }),
      { numRuns: 400 },
    );
    // Not vacuous: most generated events are built by the fast path.
    assert.ok(tally.built > 0.25 * tally.records, `only ${tally.built} of ${tally.records} generated records built`);
  });

  it('rejects generated files made invalid by a change of bytes', () => {
    let rejected = 0;
    fc.assert(
      fc.property(
        fileArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        fc.nat(3),
        (file, mutations, before) => {
          let bytes = writeFile(file);
          for (const mutation of mutations) bytes = mutate(bytes, mutation);
          if (checkFile(embedded(bytes, before, 3 - before), builder, newTally()) === undefined) rejected++;
        },
      ),
      { numRuns: 1500 },
    );
    assert.ok(rejected > 500, `only ${rejected} mutated files rejected`);
  });

  it('rejects real files made invalid by a change of bytes', () => {
    const files = jsonFiles('fixtures/cloudtrail/invictus')
      .map(decodeFile)
      .filter((bytes) => bytes.length < 20000);
    assert.ok(files.length >= 10);
    fc.assert(
      fc.property(fc.constantFrom(...files), mutationArb, (bytes, mutation) => {
        checkFile(mutate(bytes, mutation), builder, newTally());
      }),
      { numRuns: 500 },
    );
  });
});
