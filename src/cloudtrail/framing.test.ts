import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import {
  DEFAULT_FRAME_LIMITS,
  detectLayout,
  frameBuffer,
  frameStream,
  type FrameItem,
  type FrameLimits,
  type Layout,
} from './framing.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/framing/', import.meta.url));

interface Framed {
  items: FrameItem[];
  layout: Layout;
}

function runBuffer(buf: Buffer | string, limits: FrameLimits = DEFAULT_FRAME_LIMITS): Framed {
  const gen = frameBuffer(typeof buf === 'string' ? Buffer.from(buf) : buf, limits);
  const items: FrameItem[] = [];
  for (;;) {
    const r = gen.next();
    if (r.done) return { items, layout: r.value.layout };
    items.push(r.value);
  }
}

async function runChunks(
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>,
  limits = DEFAULT_FRAME_LIMITS,
): Promise<Framed> {
  const gen = frameStream(chunks as AsyncIterable<Buffer>, limits);
  const items: FrameItem[] = [];
  for (;;) {
    const r = await gen.next();
    if (r.done) return { items, layout: r.value.layout };
    items.push(r.value);
  }
}

async function* asAsync(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield c;
}

function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

/** Records as parsed values; fails if any item is bad. */
function records(framed: Framed): unknown[] {
  return framed.items.map((it, i) => {
    assert.equal(it.index, i, 'indexes count every item from 0');
    if (it.kind === 'bad') assert.fail(`unexpected bad item ${i}: ${it.reason}`);
    return JSON.parse(it.bytes.toString('utf8')) as unknown;
  });
}

function summary(framed: Framed): string[] {
  return framed.items.map((it) => (it.kind === 'record' ? it.bytes.toString('utf8') : `BAD ${it.reason}`));
}

// ---------- random documents ----------

/** Deterministic PRNG so a fast-check seed reproduces whitespace, key order and escapes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Style {
  rnd: () => number;
  multiline: boolean;
}

function ws(st: Style): string {
  const opts = st.multiline ? ['', '', ' ', '\t', '\n', '\r\n', '\n  ', ' \n'] : ['', '', '', ' ', '\t', '  '];
  return opts[Math.floor(st.rnd() * opts.length)]!;
}

function serString(s: string, st: Style): string {
  const u = (ch: string): string =>
    [...Array(ch.length).keys()].map((i) => '\\u' + ch.charCodeAt(i).toString(16).padStart(4, '0')).join('');
  let out = '"';
  for (const ch of s) {
    if (ch === '"') out += st.rnd() < 0.2 ? '\\u0022' : '\\"';
    else if (ch === '\\') out += st.rnd() < 0.2 ? '\\u005C' : '\\\\';
    else if (ch === '/') out += st.rnd() < 0.5 ? '\\/' : '/';
    else if (ch.charCodeAt(0) < 0x20) out += ch === '\n' ? '\\n' : u(ch);
    else if (st.rnd() < 0.05) out += u(ch);
    else out += ch;
  }
  return out + '"';
}

function ser(v: unknown, st: Style): string {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'string') return serString(v, st);
  if (Array.isArray(v)) return '[' + ws(st) + v.map((x) => ser(x, st) + ws(st)).join(',' + ws(st)) + ']';
  const entries = Object.entries(v as Record<string, unknown>);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(st.rnd() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return (
    '{' +
    ws(st) +
    entries.map(([k, x]) => serString(k, st) + ws(st) + ':' + ws(st) + ser(x, st) + ws(st)).join(',' + ws(st)) +
    '}'
  );
}

const trickyUnit = fc.oneof(
  {
    arbitrary: fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', '\n', '\r', '\t', '/', '\u2028', '\u0000'),
    weight: 3,
  },
  { arbitrary: fc.constantFrom('é', '€', '😀', 'Records', '\\"', '"}', '\\\\', 'a', ' '), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 2 },
);
const str = fc.string({ unit: trickyUnit, maxLength: 12 });
const RESERVED = new Set([
  'Records',
  'digestStartTime',
  'digestEndTime',
  'digestS3Bucket',
  'digestS3Object',
  '__proto__',
]);
const key = str.filter((k) => !RESERVED.has(k));

const { value: jsonValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    str,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 5 }),
}));

/** CloudTrail-ish objects: always objects, with nested brackets and escapes in strings. */
const record = fc.dictionary(key, jsonValue, { minKeys: 0, maxKeys: 6 });

type Shape = 'records-object' | 'array' | 'json-lines' | 'json-pretty';

interface Doc {
  text: string;
  expected: unknown[];
  layout: Layout;
}

function buildDoc(shape: Shape, groups: unknown[][], extras: [string, unknown][], bom: boolean, seed: number): Doc {
  const multiline = shape === 'json-pretty' || (shape !== 'json-lines' && seed % 2 === 0);
  const st: Style = { rnd: prng(seed), multiline };
  const expected = groups.flat();
  let text = '';
  let layout: Layout;
  if (shape === 'records-object') {
    const wrappers = groups.map((recs) => {
      const members = [
        `"Records"${ws(st)}:${ws(st)}[${ws(st)}${recs.map((r) => ser(r, st) + ws(st)).join(',' + ws(st))}]`,
      ];
      for (const [k, v] of extras) {
        const m = serString(k, st) + ws(st) + ':' + ws(st) + ser(v, st);
        if (st.rnd() < 0.5) members.unshift(m);
        else members.push(m);
      }
      // Multi-line wrappers always hold a newline, else the file would count as line-oriented.
      return '{' + (multiline ? '\n' : '') + ws(st) + members.join(ws(st) + ',' + ws(st)) + ws(st) + '}';
    });
    text = wrappers.join(multiline ? ws(st) : '\n') + (st.rnd() < 0.5 ? '\n' : '');
    layout = 'records-object';
  } else if (shape === 'array') {
    text = ws(st) + '[' + ws(st) + expected.map((r) => ser(r, st) + ws(st)).join(',' + ws(st)) + ']' + ws(st);
    layout = 'array';
  } else {
    const seps = shape === 'json-lines' ? ['\n', '\r\n', '\n\n', '\n  ', '\r\n\r\n'] : ['\n', ' ', '\n\n', ''];
    // A pretty-printed value always spans lines; a one-line first value would make the file line-oriented.
    const one = (r: unknown): string => {
      const t = ser(r, st);
      return shape === 'json-pretty' && !t.includes('\n') ? '{\n' + t.slice(1) : t;
    };
    text = expected.map((r) => one(r) + seps[Math.floor(st.rnd() * seps.length)]!).join('');
    layout = expected.length > 0 ? 'json-lines' : 'empty';
  }
  if (bom) text = '\ufeff' + text;
  return { text, expected: JSON.parse(JSON.stringify(expected)) as unknown[], layout };
}

const docArb = fc
  .record({
    shape: fc.constantFrom<Shape>('records-object', 'array', 'json-lines', 'json-pretty'),
    groups: fc.array(
      fc.array(fc.oneof({ arbitrary: record, weight: 4 }, { arbitrary: jsonValue, weight: 1 }), { maxLength: 5 }),
      {
        minLength: 1,
        maxLength: 3,
      },
    ),
    objectsOnly: fc.array(record, { maxLength: 8 }),
    extras: fc.array(fc.tuple(key, jsonValue), { maxLength: 2 }),
    bom: fc.boolean(),
    seed: fc.integer(),
  })
  .map(({ shape, groups, objectsOnly, extras, bom, seed }) =>
    // JSON lines hold objects only; arrays and Records arrays may hold any value.
    shape === 'json-lines' || shape === 'json-pretty'
      ? buildDoc(shape, [objectsOnly], extras, bom, seed)
      : buildDoc(shape, shape === 'array' ? [groups.flat()] : groups, extras, bom, seed),
  );

describe('framing: property tests', () => {
  test('random documents chunked at random points frame back to exactly the input records', async () => {
    await fc.assert(
      fc.asyncProperty(docArb, fc.array(fc.nat(), { maxLength: 12 }), async (doc, cuts) => {
        const buf = Buffer.from(doc.text, 'utf8');
        const whole = runBuffer(buf);
        assert.deepStrictEqual(records(whole), doc.expected);
        assert.equal(whole.layout, doc.layout);
        const streamed = await runChunks(asAsync(split(buf, cuts)));
        assert.deepStrictEqual(records(streamed), doc.expected);
        assert.equal(streamed.layout, doc.layout);
      }),
      { numRuns: 400 },
    );
  });

  test('one-byte chunks give the same records', async () => {
    await fc.assert(
      fc.asyncProperty(docArb, async (doc) => {
        const buf = Buffer.from(doc.text, 'utf8');
        const chunks = [...buf].map((b) => Buffer.from([b]));
        const streamed = await runChunks(asAsync(chunks));
        assert.deepStrictEqual(records(streamed), doc.expected);
        assert.equal(streamed.layout, doc.layout);
      }),
      { numRuns: 60 },
    );
  });

  test('every prefix of a records-object file: complete records, then at most one truncated item', async () => {
    await fc.assert(
      fc.property(docArb, fc.nat(), (doc, cut) => {
        if (doc.layout !== 'records-object') return;
        const buf = Buffer.from(doc.text, 'utf8');
        const prefix = buf.subarray(0, cut % (buf.length + 1));
        const { items } = runBuffer(prefix);
        const bad = items.filter((it) => it.kind === 'bad');
        assert.ok(bad.length <= 1, summary({ items, layout: 'unknown' }).join('\n'));
        if (bad.length === 1) {
          assert.equal(items.at(-1)!.kind, 'bad');
          assert.match((bad[0] as { reason: string }).reason, /truncated|cut off/);
        }
        const good = items
          .filter((it) => it.kind === 'record')
          .map((it) => JSON.parse((it as { bytes: Buffer }).bytes.toString()));
        assert.deepStrictEqual(good, doc.expected.slice(0, good.length));
      }),
      { numRuns: 300 },
    );
  });
});

describe('framing: every chunk boundary of a tricky document', () => {
  const tricky = [
    { eventName: 'a"b', s: 'back\\slash\\', t: '\\"}]{[', u: 'é😀\u2028', n: [1, -2.5e-3, true, null, { x: '}' }] },
    { Records: 'not an array here', nested: { Records: [1, 2] }, empty: {}, emptyArr: [] },
    { z: '\\\\\\"', y: '"', x: '' },
  ];
  const docs: [string, string, Layout][] = [
    [
      'records-object',
      '\ufeff{ "x" : {"Records":[9]}, "Records" : [ ' +
        tricky.map((r) => JSON.stringify(r)).join(' ,\n ') +
        ' ] , "y": "]}" }\n',
      'records-object',
    ],
    ['array', '[' + tricky.map((r) => JSON.stringify(r, null, 1)).join(',') + ']', 'array'],
    ['json-lines', tricky.map((r) => JSON.stringify(r)).join('\r\n') + '\r\n\r\n', 'json-lines'],
    ['pretty', tricky.map((r) => JSON.stringify(r, null, 2)).join('\n'), 'json-lines'],
  ];
  for (const [name, text, layout] of docs) {
    test(`${name}: two chunks split at every byte`, async () => {
      const buf = Buffer.from(text);
      for (let k = 0; k <= buf.length; k++) {
        const framed = await runChunks(asAsync([buf.subarray(0, k), buf.subarray(k)]));
        assert.deepStrictEqual(records(framed), tricky, `split at ${k}`);
        assert.equal(framed.layout, layout);
      }
    });
  }
});

describe('framing: layouts', () => {
  test('records-object with other top-level keys in any order', () => {
    const framed = runBuffer(
      '{"foo":{"Records":[{"no":1}]},"Records":[{"a":1},{"b":[2]}],"bar":[{"c":3}],"Records2":1}',
    );
    assert.deepStrictEqual(records(framed), [{ a: 1 }, { b: [2] }]);
    assert.equal(framed.layout, 'records-object');
  });

  test('records-object spanning many lines', () => {
    const text = JSON.stringify({ Records: [{ a: 1 }, { b: 2 }] }, null, 4);
    assert.deepStrictEqual(records(runBuffer(text)), [{ a: 1 }, { b: 2 }]);
  });

  test('a Records key whose value is not an array leaves the object a record', () => {
    const framed = runBuffer('{"Records":null,"eventName":"X"}\n');
    assert.deepStrictEqual(records(framed), [{ Records: null, eventName: 'X' }]);
    assert.equal(framed.layout, 'json-lines');
  });

  test('concatenated delivery files, with and without newlines, are expanded', () => {
    const text = '{"Records":[{"a":1}]}{"Records":[{"b":2}]}\n{"Records":[]}\n{"Records":[{"c":3}]}';
    const framed = runBuffer(text);
    assert.deepStrictEqual(records(framed), [{ a: 1 }, { b: 2 }, { c: 3 }]);
    assert.equal(framed.layout, 'records-object');
  });

  test('JSON lines whose later lines are Records wrappers are expanded too', () => {
    const framed = runBuffer('{"eventName":"A"}\n{"Records":[{"eventName":"B"},{"eventName":"C"}]}\n');
    assert.deepStrictEqual(records(framed), [{ eventName: 'A' }, { eventName: 'B' }, { eventName: 'C' }]);
    assert.equal(framed.layout, 'json-lines');
  });

  test('a bare array yields its elements whole, scalars and strings included', () => {
    const cribl = [{ _raw: '{"Records":[{"eventName":"X"}]}', _time: 1 }, 'str"ing', 42, null, [1, [2]]];
    const framed = runBuffer(' [ ' + cribl.map((x) => JSON.stringify(x)).join(' , ') + ' ] ');
    assert.deepStrictEqual(records(framed), cribl);
    assert.equal(framed.layout, 'array');
  });

  test('a digest file yields nothing', () => {
    const digest = {
      awsAccountId: '111122223333',
      digestStartTime: '2024-01-02T00:00:00Z',
      digestEndTime: '2024-01-02T01:00:00Z',
      digestS3Bucket: 'trail-bucket',
      digestS3Object: 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/02/x.json.gz',
      digestPublicKeyFingerprint: 'abc',
      digestSignatureAlgorithm: 'SHA256withRSA',
      newestEventTime: '2024-01-02T00:59:00Z',
      oldestEventTime: '2024-01-02T00:00:01Z',
      previousDigestS3Bucket: 'trail-bucket',
      previousDigestHashValue: 'def',
      previousDigestHashAlgorithm: 'SHA-256',
      previousDigestSignature: 'sig',
      logFiles: [
        {
          s3Bucket: 'trail-bucket',
          s3Object: 'a.json.gz',
          hashValue: '1',
          hashAlgorithm: 'SHA-256',
          newestEventTime: 'x',
          oldestEventTime: 'y',
        },
      ],
    };
    for (const text of [JSON.stringify(digest), JSON.stringify(digest, null, 2)]) {
      const framed = runBuffer(text);
      assert.deepStrictEqual(framed.items, []);
      assert.equal(framed.layout, 'digest');
    }
  });

  test('empty and whitespace-only files', async () => {
    for (const text of ['', ' ', '\n\r\n\t ', '\ufeff', '\ufeff\n']) {
      const framed = runBuffer(text);
      assert.deepStrictEqual(framed.items, []);
      assert.equal(framed.layout, 'empty', JSON.stringify(text));
    }
    const streamed = await runChunks(asAsync([]));
    assert.equal(streamed.layout, 'empty');
  });

  test('a UTF-8 BOM is skipped, also when split across chunks or between concatenated files', async () => {
    const buf = Buffer.from('\ufeff{"Records":[{"a":"é"}]}');
    for (let k = 0; k <= 4; k++) {
      const framed = await runChunks(asAsync([buf.subarray(0, k), buf.subarray(k)]));
      assert.deepStrictEqual(records(framed), [{ a: 'é' }]);
    }
    assert.deepStrictEqual(records(runBuffer('\ufeff{"a":1}\n\ufeff{"b":2}\n')), [{ a: 1 }, { b: 2 }]);
    assert.deepStrictEqual(records(runBuffer('\ufeff{"Records":[{"a":1}]}\ufeff{"Records":[{"b":2}]}')), [
      { a: 1 },
      { b: 2 },
    ]);
  });

  test('JSON lines tolerate CRLF and blank lines; record bytes exclude line endings', () => {
    const framed = runBuffer('\r\n{"a":1}\r\n\r\n   {"b":2}  \r\n');
    assert.deepStrictEqual(summary(framed), ['{"a":1}', '{"b":2}']);
  });

  test('detectLayout reads a head only', () => {
    assert.equal(detectLayout(Buffer.from('{"Records":[{"eventVersion":"1.08","userIdent')), 'records-object');
    assert.equal(detectLayout(Buffer.from('\ufeff  {"awsAccountId":"1","digestStartTime":"x"')), 'digest');
    assert.equal(detectLayout(Buffer.from('{"eventVersion":"1.08"}\n{"eventVer')), 'json-lines');
    assert.equal(detectLayout(Buffer.from('[{"_raw":"x"')), 'array');
    assert.equal(detectLayout(Buffer.from(' \n')), 'empty');
    assert.equal(detectLayout(Buffer.from('PK\u0003\u0004')), 'unknown');
    assert.equal(detectLayout(Buffer.from('{"eventVersion":"1.08","user')), 'unknown');
  });
});

describe('framing: broken input', () => {
  test('a file cut inside a record yields the complete records and one truncated item', async () => {
    const text = '{"Records":[{"a":1},{"b":"x\\"y';
    const framed = await runChunks(asAsync([Buffer.from(text.slice(0, 15)), Buffer.from(text.slice(15))]));
    assert.deepStrictEqual(summary(framed), ['{"a":1}', 'BAD truncated: file ends inside record 1']);
    assert.equal(framed.items[1]!.index, 1);
    assert.equal(framed.layout, 'records-object');
  });

  test('a file cut between records says the array is not closed', () => {
    assert.deepStrictEqual(summary(runBuffer('{"Records":[{"a":1},')), [
      '{"a":1}',
      'BAD truncated: file ends inside the array of records, after record 0',
    ]);
    assert.deepStrictEqual(summary(runBuffer('{"Records":[{"a":1}]')), ['{"a":1}']);
    assert.deepStrictEqual(summary(runBuffer('{"Records"')), [
      'BAD truncated: file ends before the Records array starts',
    ]);
  });

  test('a truncated last JSON line', () => {
    const framed = runBuffer('{"a":1}\n{"b":[1,2');
    assert.deepStrictEqual(summary(framed), ['{"a":1}', 'BAD truncated: file ends inside record 1']);
    const only = runBuffer('{"eventVersion":"1.08","user');
    assert.deepStrictEqual(summary(only), ['BAD truncated: file ends inside record 0']);
    assert.equal(only.layout, 'json-lines', 'a cut-off first object counts as an event, not as unknown');
  });

  test('an unbalanced JSON line is cut off at its end and framing resumes on the next line', () => {
    const framed = runBuffer('{"a":1}\n{"b":[1,2\n{"c":"}"}\n{"d":"unterminated\n{"e":1}\n{"f":{"g":1}}}\n{"h":1}\n');
    assert.deepStrictEqual(summary(framed), [
      '{"a":1}',
      'BAD record 1 is cut off at the end of its line (byte 17)',
      '{"c":"}"}',
      'BAD record 3 is cut off at the end of its line (byte 46)',
      '{"e":1}',
      '{"f":{"g":1}}',
      "BAD unexpected '}' at byte 68: not JSON; skipping to the next record",
      '{"h":1}',
    ]);
    assert.deepStrictEqual(
      framed.items.map((it) => it.index),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
  });

  test('a one-line delivery file cut short is followed by the next one', () => {
    const framed = runBuffer(
      '{"Records":[{"a":1}]}\n{"Records":[{"b":1},{"c":"cut\n{"Records":[{"d":1}]}\n{"Records":[{"e":1}\n{"Records":[{"f":1}]}',
    );
    assert.deepStrictEqual(summary(framed), [
      '{"a":1}',
      '{"b":1}',
      'BAD record 2 is cut off at the end of its line (byte 51)',
      '{"d":1}',
      '{"e":1}',
      'BAD truncated: the line ends before the array of records closes (byte 93)',
      '{"f":1}',
    ]);
    // Before the first value has ended, a newline is only whitespace: the cut-off record swallows the rest.
    assert.deepStrictEqual(summary(runBuffer('{"Records":[{"a":1},{"b":"cut\n{"Records":[{"c":1}]}')), [
      '{"a":1}',
      'BAD truncated: file ends inside record 1',
    ]);
  });

  test('garbage before and between records is reported once and skipped', () => {
    const framed = runBuffer('not json at all\nstill not\n{"a":1}\n<html>\n{"b":2}}}{"c":3}');
    assert.deepStrictEqual(summary(framed), [
      "BAD unexpected 'n' at byte 0: not JSON; skipping to the next record",
      '{"a":1}',
      "BAD unexpected '<' at byte 34: not JSON; skipping to the next record",
      '{"b":2}',
      "BAD unexpected '}' at byte 48: not JSON; skipping to the next record",
      '{"c":3}',
    ]);
    assert.equal(framed.layout, 'json-lines');
  });

  test('a file that is not JSON at all is one bad item and layout unknown', () => {
    const framed = runBuffer('2024-01-02 INFO [main] started {pid 1}\nmore text\n');
    assert.equal(framed.items.length, 1);
    assert.equal(framed.items[0]!.kind, 'bad');
    assert.equal(framed.layout, 'unknown');
    const binary = runBuffer(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x7b, 0x22]));
    assert.equal(binary.items.length, 1);
    assert.equal(binary.layout, 'unknown');
  });

  test('a stray closing brace inside an array of records is skipped', () => {
    const framed = runBuffer('{"Records":[{"a":1}},{"b":2}]}');
    assert.deepStrictEqual(summary(framed), [
      '{"a":1}',
      "BAD unexpected '}' at byte 19 inside an array of records",
      '{"b":2}',
    ]);
  });

  test('an oversize record is bad, counted, and its neighbours survive', async () => {
    const big = { eventName: 'Big', blob: 'x'.repeat(3000) };
    const text = JSON.stringify({ Records: [{ a: 1 }, big, { b: 2 }] });
    const limits = { maxRecordBytes: 1024 };
    const size = JSON.stringify(big).length;
    const expected = ['{"a":1}', `BAD record of ${size} bytes exceeds the 1 KiB record limit`, '{"b":2}'];
    assert.deepStrictEqual(summary(runBuffer(text, limits)), expected);
    const buf = Buffer.from(text);
    for (const chunk of [1, 7, 100, 1000, 5000]) {
      const chunks: Buffer[] = [];
      for (let o = 0; o < buf.length; o += chunk) chunks.push(buf.subarray(o, o + chunk));
      assert.deepStrictEqual(summary(await runChunks(asAsync(chunks), limits)), expected, `chunk ${chunk}`);
    }
    const lines = `{"a":1}\n${JSON.stringify(big)}\n{"b":2}\n`;
    assert.deepStrictEqual(summary(runBuffer(lines, limits)), expected);
    assert.match(summary(runBuffer(JSON.stringify(big)))[0]!, /^\{"eventName"/, 'default limit is 1 MiB');
    assert.match(
      (runBuffer(`{"a":"${'y'.repeat(1024 * 1024)}"}`).items[0] as { reason: string }).reason,
      /exceeds the 1 MiB record limit/,
    );
  });

  test('a record exactly at the limit is accepted', () => {
    const rec = '{"a":"' + 'x'.repeat(94) + '"}';
    assert.equal(rec.length, 102);
    assert.equal(runBuffer(`[${rec}]`, { maxRecordBytes: 102 }).items[0]!.kind, 'record');
    assert.equal(runBuffer(`[${rec}]`, { maxRecordBytes: 101 }).items[0]!.kind, 'bad');
  });

  test('an oversize record or line is skipped without being held in memory', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const chunkSize = 64 * 1024;
    const total = 48 * 1024 * 1024;
    for (const [head, tail] of [
      ['{"Records":[{"a":1},{"big":"', '"},{"b":2}]}'],
      ['{"a":1}\n{"big":"', '"}\n{"b":2}\n'],
    ] as const) {
      let peak = 0;
      gc();
      const baseline = process.memoryUsage().arrayBuffers;
      async function* source(): AsyncGenerator<Buffer> {
        yield Buffer.from(head);
        for (let sent = 0, n = 0; sent < total; sent += chunkSize, n++) {
          if (n % 64 === 0) {
            gc();
            peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
          }
          yield Buffer.alloc(chunkSize, 0x78);
        }
        yield Buffer.from(tail);
      }
      const framed = await runChunks(source());
      assert.deepStrictEqual(
        summary(framed).map((s) => s.replace(/\d{6,}/, 'N')),
        ['{"a":1}', 'BAD record of N bytes exceeds the 1 MiB record limit', '{"b":2}'],
      );
      assert.ok(peak < 8 * 1024 * 1024, `peak ${peak} bytes held while skipping a ${total}-byte record`);
    }
  });

  test('a failing byte source: records before the failure are yielded, then the error', async () => {
    async function* source(): AsyncGenerator<Buffer> {
      yield Buffer.from('{"Records":[{"a":1},{"b":');
      throw new Error('unexpected end of file');
    }
    const seen: FrameItem[] = [];
    await assert.rejects(async () => {
      for await (const it of frameStream(source())) seen.push(it);
    }, /unexpected end of file/);
    assert.deepStrictEqual(summary({ items: seen, layout: 'unknown' }), ['{"a":1}']);
  });

  test('invalid limits are refused', () => {
    assert.throws(() => runBuffer('[]', { maxRecordBytes: 0 }), RangeError);
    assert.throws(() => runBuffer('[]', { maxRecordBytes: Number.NaN }), RangeError);
  });

  test('string chunks are accepted', async () => {
    const framed = await runChunks(
      (async function* () {
        yield '{"Records":[{"a":"é';
        yield '"}]}';
      })() as unknown as AsyncIterable<Buffer>,
    );
    assert.deepStrictEqual(records(framed), [{ a: 'é' }]);
  });
});

describe('framing: real files', () => {
  for (const name of [
    '218007301253_CloudTrail_us-east-1_20230710T1235Z_kboLbHJlz2H6cLyo.json',
    '218007301253_CloudTrail_us-east-1_20230710T1220Z_WMiHxZgr5Hdd6UDc.json',
  ]) {
    test(`Invictus delivery file ${name.slice(-21)}`, async () => {
      const buf = readFileSync(FIXTURES + name);
      const expected = (JSON.parse(buf.toString('utf8')) as { Records: unknown[] }).Records;
      const whole = runBuffer(buf);
      assert.equal(whole.layout, 'records-object');
      assert.deepStrictEqual(records(whole), expected);
      const chunks: Buffer[] = [];
      for (let o = 0; o < buf.length; o += 333) chunks.push(buf.subarray(o, o + 333));
      assert.deepStrictEqual(records(await runChunks(asAsync(chunks))), expected);
      assert.equal(detectLayout(buf.subarray(0, 64)), 'records-object');
    });
  }

  test('OTRF JSON lines (first 10 lines)', async () => {
    const buf = readFileSync(FIXTURES + 'otrf-ec2_proxy_s3_exfiltration.first10.jsonl');
    const expected = buf
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as unknown);
    assert.equal(expected.length, 10);
    const whole = runBuffer(buf);
    assert.equal(whole.layout, 'json-lines');
    assert.deepStrictEqual(records(whole), expected);
    const chunks: Buffer[] = [];
    for (let o = 0; o < buf.length; o += 97) chunks.push(buf.subarray(o, o + 97));
    assert.deepStrictEqual(records(await runChunks(asAsync(chunks))), expected);
  });
});

describe('export shapes', () => {
  const event = (n: number) => ({ eventVersion: '1.08', eventName: `E${n}`, eventSource: 's.amazonaws.com', n });

  test('the arrays of exports are framed element by element, whatever the export’s size', async () => {
    for (const key of ['Events', 'events', 'logEvents', 'QueryResultRows', 'records']) {
      // 3 MiB in one top-level object: far over the record limit, read in bounded pieces.
      const elements = Array.from({ length: 3000 }, (_, n) => ({ ...event(n), pad: 'x'.repeat(1000) }));
      const text = JSON.stringify({ before: { Records: 'no' }, [key]: elements, NextToken: 't' });
      const whole = runBuffer(text);
      assert.equal(whole.layout, 'export-object', key);
      assert.deepStrictEqual(records(whole), elements, key);
      const chunks = split(Buffer.from(text), [7, 4096, 65536, 1_000_001]);
      assert.deepStrictEqual(records(await runChunks(asAsync(chunks))), elements, key);
    }
    assert.equal(detectLayout(Buffer.from('{"Events":[{"EventId":"x"')), 'export-object');
  });

  test('concatenated pages of an export, pretty-printed or back to back', () => {
    const page = (n: number) => JSON.stringify({ QueryStatus: 'FINISHED', QueryResultRows: [[{ eventJson: `${n}` }]] });
    assert.equal(records(runBuffer(page(1) + page(2) + '\n' + page(3))).length, 3);
    const pretty = [1, 2].map((n) => JSON.stringify({ Events: [event(n)], NextToken: 'x' }, null, 4)).join('\n');
    assert.deepStrictEqual(records(runBuffer(pretty)), [event(1), event(2)]);
  });

  test('Firehose concatenation: objects back to back with no separator', () => {
    const text = [1, 2, 3].map((n) => JSON.stringify(event(n))).join('');
    const framed = runBuffer(text);
    assert.equal(framed.layout, 'json-lines');
    assert.deepStrictEqual(records(framed), [event(1), event(2), event(3)]);
  });

  test('CloudWatch Logs export lines: the timestamp before each object is dropped', async () => {
    const lines = [1, 2, 3].map((n) => `2023-07-10T12:05:0${n}.123Z ${JSON.stringify(event(n))}`).join('\n') + '\n';
    const whole = runBuffer(lines);
    assert.equal(whole.layout, 'timestamped-lines');
    assert.deepStrictEqual(records(whole), [event(1), event(2), event(3)]);
    // Every chunk boundary, including inside the timestamp and the blank after it.
    const buf = Buffer.from(lines);
    for (let cut = 1; cut < 60; cut++) {
      assert.deepStrictEqual(records(await runChunks(asAsync(split(buf, [cut])))), [event(1), event(2), event(3)]);
    }
    assert.deepStrictEqual(records(runBuffer('2023-07-10T12:05:01Z\t' + JSON.stringify(event(1)))), [event(1)]);
    assert.deepStrictEqual(records(runBuffer('2023-07-10T12:05:01.123456+00:00 ' + JSON.stringify(event(1)))), [
      event(1),
    ]);
  });

  test('digits that are not a timestamp before an object are one bad item per line, as before', () => {
    const text = `42\n2023-07-10 12:05:01 {"a":1}\n2023-07-10T12:05:01Z START RequestId\n${JSON.stringify(event(1))}\n1}{"b":2}`;
    assert.deepStrictEqual(summary(runBuffer(text)), [
      "BAD unexpected '4' at byte 0: not JSON; skipping to the next record",
      JSON.stringify(event(1)),
      `BAD unexpected '1' at byte ${text.lastIndexOf('1}')}: not JSON; skipping to the next record`,
      '{"b":2}',
    ]);
    assert.deepStrictEqual(summary(runBuffer('2023')), [
      "BAD unexpected '2' at byte 0: not JSON; skipping to the next record",
    ]);
    assert.equal(runBuffer('2023').layout, 'unknown');
  });

  test('an export line whose message is not JSON is one bad item; the lines after it are read', async () => {
    const e = (n: number) => JSON.stringify(event(n));
    const text =
      `2023-07-10T12:05:01Z START RequestId: 1 Version: $LATEST\n2023-07-10T12:05:02Z ${e(1)}\n` +
      `2023-07-10T12:05:03Z END RequestId: 1\n2023-07-10T12:05:04Z ${e(2)}\n`;
    const expected = [
      "BAD unexpected '2' at byte 0: not JSON; skipping to the next record",
      e(1),
      `BAD unexpected '2' at byte ${text.indexOf('2023-07-10T12:05:03Z')}: not JSON; skipping to the next record`,
      e(2),
    ];
    assert.deepStrictEqual(summary(runBuffer(text)), expected);
    for (let cut = 1; cut < text.length; cut += 7) {
      assert.deepStrictEqual(summary(await runChunks(asAsync(split(Buffer.from(text), [cut])))), expected);
    }
  });
});
