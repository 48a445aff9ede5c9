/**
 * Fuzz targets: every reader and parser offbox points at attacker-written bytes, each with the
 * invariant it must keep on any input. `fuzz.test.ts` runs them with a small budget on every test
 * run; `npm run fuzz` (scripts/fuzz.mjs) runs them for longer.
 *
 * Seeds come from the repository's fixtures and from a small simulated organisation, loaded once
 * by {@link loadFuzzCorpus}; arbitraries pick a seed by index and mutate it, so a counterexample
 * names the seed and the edits and replays from fast-check's seed and path.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { normaliseRecord, type CloudTrailEvent } from '../cloudtrail/event.js';
import { EventBuilder, scanDeliveryFile } from '../cloudtrail/fast-records.js';
import { frameBuffer, frameStream, type FrameItem } from '../cloudtrail/framing.js';
import { jsonNestingExceeds } from '../cloudtrail/nesting.js';
import { parseRecordBytes } from '../cloudtrail/records.js';
import { loadConfig } from '../config/config.js';
import { readObject } from '../engine/read-object.js';
import { ConfigError, OffboxError } from '../errors.js';
import { addInventoryDocument } from '../inventory/load.js';
import { OwnershipMap } from '../inventory/ownership.js';
import { formatIp, parseCidr, parseIp } from '../net/ip.js';
import { simulateOrganisation } from '../simulate/index.js';
import { readAllDecoded, type LogObject } from '../sources/log-object.js';
import { parseQueueMessage } from '../watch/sources/sqs-messages.js';
import { parseAlbLine } from '../weblogs/alb.js';
import { CLOUDFRONT_DEFAULT_FIELDS, parseCloudFrontLine } from '../weblogs/cloudfront.js';
import { parseCombinedLine } from '../weblogs/combined.js';
import { decodeLayers } from '../weblogs/decode.js';
import { parseElbLine } from '../weblogs/elb.js';
import { findMetadataTarget, normaliseMetadataPath } from '../weblogs/metadata-target.js';
import { readWebLog } from '../weblogs/read.js';
import type { WebRequest } from '../weblogs/request.js';
import { findSignedAwsRequest } from '../weblogs/signed-url.js';
import { parseWafLine } from '../weblogs/waf.js';
import { cpuMsSince } from './cpu-time.js';

/** One thing to fuzz: how to make inputs, the real inputs to start from, and the invariant. */
export interface FuzzTarget<T = unknown> {
  id: string;
  description: string;
  arbitrary: fc.Arbitrary<T>;
  /** Real inputs (fixtures, simulated data) the target is also run on, whole. */
  seeds(): T[];
  /** Throws when the invariant breaks; resolves when the input was handled as documented. */
  run(input: T): void | Promise<void>;
}

/** Longest time one input of up to 64 KiB may take: far above linear work, far below catastrophic backtracking. */
export const SLOW_INPUT_MS = Number(process.env['OFFBOX_FUZZ_SLOW_MS'] ?? 200);
const MAX_INPUT_BYTES = 64 * 1024;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Corpus {
  cloudTrailFiles: Buffer[];
  cloudTrailRecords: string[];
  webLines: Record<'alb' | 'elb' | 'cloudfront' | 'waf' | 'combined', string[]>;
  ssrfPayloads: string[];
  inventoryDocuments: string[];
  configs: string[];
}

let corpus: Corpus | undefined;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk(dir);
  return out;
}

function readDecoded(path: string): Buffer {
  const raw = readFileSync(path);
  return raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}

/** The first `max` bytes: big fixtures seed the framing targets with a cut-off file, which is a case of its own. */
function head(bytes: Buffer, max = MAX_INPUT_BYTES / 2): Buffer {
  return bytes.length <= max ? bytes : bytes.subarray(0, max);
}

/**
 * Loads the seeds: the repository's CloudTrail, web-log and SSRF fixtures, and a small simulated
 * organisation (seed 1) written to a temporary folder and removed again. Call once before running targets.
 */
export async function loadFuzzCorpus(): Promise<void> {
  if (corpus) return;
  const simDir = mkdtempSync(join(tmpdir(), 'offbox-fuzz-'));
  try {
    await simulateOrganisation({ out: simDir, seed: 1, events: 700, accounts: 2, instances: 9, hours: 1 });
    const ctPaths = [
      ...filesUnder(join(ROOT, 'fixtures/cloudtrail')).filter(
        (p) => /\.jsonl?(\.gz)?$/.test(p) && !/ground-truth/.test(p) && !p.includes('/wrappers/'),
      ),
      // Every export wrapper (lookup-events, EventBridge, CloudWatch Logs payloads and exports, Splunk
      // HEC, Lake results, Firehose objects), whatever their file names.
      ...filesUnder(join(ROOT, 'fixtures/wrappers')).filter((p) => !p.endsWith('.md')),
      ...filesUnder(join(ROOT, 'fixtures/framing')).filter((p) => /\.jsonl?$/.test(p)),
      ...filesUnder(join(simDir, 'cloudtrail'))
        .filter((p) => !p.includes('Digest'))
        .slice(0, 12),
      ...filesUnder(join(simDir, 'cloudtrail'))
        .filter((p) => p.includes('Digest'))
        .slice(0, 1),
    ];
    const cloudTrailFiles = ctPaths.map((p) => head(readDecoded(p)));
    const cloudTrailRecords: string[] = [];
    for (const file of cloudTrailFiles) {
      for (const item of frameBuffer(file)) {
        if (item.kind === 'record' && item.bytes.length < 8 * 1024 && cloudTrailRecords.length < 400)
          cloudTrailRecords.push(item.bytes.toString('utf8'));
      }
    }
    const web = (dir: string): string[] =>
      filesUnder(join(ROOT, 'fixtures/weblogs', dir)).flatMap((p) => lines(readFileSync(p, 'utf8')));
    const simAlb = filesUnder(join(simDir, 'weblogs'))
      .slice(0, 2)
      .flatMap((p) => lines(readDecoded(p).toString('utf8')).slice(0, 50));
    const ssrfPayloads = filesUnder(join(ROOT, 'fixtures/ssrf'))
      .filter((p) => !p.endsWith('.md') || p.includes('payloadsallthethings'))
      .flatMap((p) => lines(readFileSync(p, 'utf8')))
      .filter((line) => line.length < 2048);
    corpus = {
      cloudTrailFiles,
      cloudTrailRecords,
      webLines: {
        alb: [...web('aws-alb'), ...simAlb],
        elb: web('aws-classic-elb'),
        cloudfront: web('aws-cloudfront'),
        waf: web('aws-waf'),
        combined: [...web('nginx'), ...web('apache')],
      },
      ssrfPayloads,
      inventoryDocuments: filesUnder(join(simDir, 'inventory')).map((p) => readDecoded(p).toString('utf8')),
      configs: [readFileSync(join(simDir, 'offbox.yaml'), 'utf8'), ...YAML_SEEDS],
    };
  } finally {
    rmSync(simDir, { recursive: true, force: true });
  }
}

function loaded(): Corpus {
  if (!corpus) throw new Error('call loadFuzzCorpus() before running fuzz targets');
  return corpus;
}

const YAML_SEEDS = [
  'allowedSourceCidrs: [10.0.0.0/8]\ntrustedAccounts: ["111122223333"]\n',
  // Billion laughs: the YAML parser must refuse to expand it.
  'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n',
  'suppress:\n  - detector: x\n    reason: y\n    match: {a: b}\n    expires: "2020-01-01"\n',
  '!!binary AAAA',
  '['.repeat(10000),
  // 2,000 levels of `- ` aborted the process inside the YAML parser before loadConfig refused deep nesting.
  '- '.repeat(2000) + 'x',
  '- '.repeat(5000) + 'x',
];

// ---------------------------------------------------------------------------------------------
// Mutations: what an attacker, a truncated upload or a broken exporter does to good bytes.

type Edit =
  | { op: 'cut'; at: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'delete'; at: number; length: number }
  | { op: 'duplicate'; at: number; length: number }
  | { op: 'nest'; at: number; depth: number; object: boolean }
  | { op: 'set'; at: number; byte: number };

const INTERESTING = [...'"\\{}[],:\n\r\t 0-eE.+tfnul/%@?#&=', '\u0000', '\u00ff'].map((c) => c.charCodeAt(0));

const byteArb = fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 }));

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.array(byteArb, { minLength: 1, maxLength: 8 }),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 256 }) }),
  fc.record({
    op: fc.constant('nest' as const),
    at: fc.nat(),
    depth: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1000, max: 20000 })),
    object: fc.boolean(),
  }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: byteArb }),
);

function applyEdit(bytes: Buffer, edit: Edit): Buffer {
  const at = bytes.length === 0 ? 0 : edit.at % (bytes.length + 1);
  switch (edit.op) {
    case 'cut':
      return bytes.subarray(0, at);
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(edit.bytes), bytes.subarray(at)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + edit.length)]);
    case 'duplicate':
      return Buffer.concat([bytes.subarray(0, at + edit.length), bytes.subarray(at)]);
    case 'nest': {
      const open = edit.object ? '{"a":'.repeat(edit.depth) : '['.repeat(edit.depth);
      const close = (edit.object ? '}' : ']').repeat(edit.depth);
      const end = Math.min(bytes.length, at + ((edit.at >> 4) % 64));
      return Buffer.concat([
        bytes.subarray(0, at),
        Buffer.from(open),
        bytes.subarray(at, end),
        Buffer.from(close),
        bytes.subarray(end),
      ]);
    }
    case 'set': {
      if (at >= bytes.length) return bytes;
      const copy = Buffer.from(bytes);
      copy[at] = edit.byte;
      return copy;
    }
  }
}

function mutate(bytes: Buffer, edits: readonly Edit[]): Buffer {
  let out = bytes;
  for (const edit of edits) out = applyEdit(out, edit);
  return out.length > MAX_INPUT_BYTES * 2 ? out.subarray(0, MAX_INPUT_BYTES * 2) : out;
}

/** A seed (picked by index from `pick()`), mutated; or generated bytes with no seed at all. */
function hostileBytes(pick: () => readonly Buffer[], generated: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.tuple(fc.nat(), fc.array(editArb, { maxLength: 6 })).map(([seed, edits]) => {
        const seeds = pick();
        return mutate(seeds[seed % seeds.length]!, edits);
      }),
    },
    { weight: 1, arbitrary: generated },
  );
}

function hostileText(pick: () => readonly string[], generated: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return hostileBytes(
    () => pick().map((s) => Buffer.from(s, 'utf8')),
    generated.map((s) => Buffer.from(s, 'utf8')),
  ).map((b) => b.toString('utf8'));
}

const jsonishArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.json({ depthSize: 'medium' }).map((s) => Buffer.from(s)),
  fc.array(fc.json(), { maxLength: 5 }).map((v) => Buffer.from(v.join('\n'))),
  fc.array(fc.json(), { maxLength: 5 }).map((v) => Buffer.from(`{"Records":[${v.join(',')}]}`)),
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
  fc.string({ unit: fc.constantFrom(...'{}[]",:\\ \nab0'.split('')), maxLength: 512 }).map((s) => Buffer.from(s)),
);

// ---------------------------------------------------------------------------------------------
// Invariant helpers.

/** Runs `work`, failing when an input of up to 64 KiB takes more than SLOW_INPUT_MS of CPU (cpu-time.ts). */
// A slow run is measured twice more before it counts: a GC pause or a busy CI neighbour is not backtracking.
const TIMING_ATTEMPTS = 3;

function timed<R>(what: string, size: number, work: () => R, limitMs = SLOW_INPUT_MS): R {
  let fastest = Number.POSITIVE_INFINITY;
  let result!: R;
  for (let attempt = 0; attempt < TIMING_ATTEMPTS && fastest > limitMs; attempt++) {
    const started = process.cpuUsage();
    result = work();
    fastest = Math.min(fastest, cpuMsSince(started));
    if (size > MAX_INPUT_BYTES) break;
  }
  if (size <= MAX_INPUT_BYTES && fastest > limitMs)
    assert.fail(`${what} took ${fastest.toFixed(0)} ms on ${size} bytes (limit ${limitMs} ms)`);
  return result;
}

async function timedAsync<R>(what: string, size: number, work: () => Promise<R>): Promise<R> {
  const limit = SLOW_INPUT_MS * 2;
  let fastest = Number.POSITIVE_INFINITY;
  let result!: R;
  for (let attempt = 0; attempt < TIMING_ATTEMPTS && fastest > limit; attempt++) {
    const started = process.cpuUsage();
    result = await work();
    fastest = Math.min(fastest, cpuMsSince(started));
    if (size > MAX_INPUT_BYTES) break;
  }
  if (size <= MAX_INPUT_BYTES && fastest > limit)
    assert.fail(`${what} took ${fastest.toFixed(0)} ms on ${size} bytes (limit ${limit} ms)`);
  return result;
}

function checkFrames(items: readonly FrameItem[], maxRecordBytes: number): void {
  items.forEach((item, i) => {
    assert.equal(item.index, i, 'frame items are numbered in order');
    if (item.kind === 'record') {
      assert.ok(Buffer.isBuffer(item.bytes) && item.bytes.length > 0 && item.bytes.length <= maxRecordBytes);
    } else {
      assert.equal(item.kind, 'bad');
      assert.ok(typeof item.reason === 'string' && item.reason.length > 0 && item.reason.length < 300);
    }
  });
}

const sameFrame = (item: FrameItem): unknown =>
  item.kind === 'record' ? { record: item.bytes.toString('latin1') } : { bad: item.reason };

function checkEvent(event: CloudTrailEvent): void {
  assert.ok(typeof event.eventName === 'string' && typeof event.eventSource === 'string');
  assert.ok(event.eventName !== '' || event.eventSource !== '', 'an event has a name or a source');
  assert.ok(typeof event.timeMs === 'number');
  // Everything kept from a record must survive what the engine does with it later.
  JSON.stringify(event);
  structuredClone(event);
}

function memoryObject(name: string, bytes: Buffer, chunk = 0): LogObject {
  return {
    name,
    size: bytes.length,
    open: async () => {
      if (chunk <= 0) return Readable.from([bytes]);
      const parts: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
      return Readable.from(parts);
    },
  };
}

function checkWebRequest(request: WebRequest): void {
  assert.equal(typeof request.clientIp, 'string');
  assert.equal(typeof request.timeMs, 'number');
  for (const value of Object.values(request)) {
    if (typeof value === 'string') assert.ok(value.length <= MAX_INPUT_BYTES * 4, 'a field is no longer than its line');
  }
  const target = findMetadataTarget(request);
  if (target !== undefined) assert.equal(typeof target.canonical, 'string');
  findSignedAwsRequest(request);
}

// ---------------------------------------------------------------------------------------------
// The targets.

const FRAME_MAX = 16 * 1024;

const framing: FuzzTarget<{ bytes: Buffer; cuts: number[] }> = {
  id: 'cloudtrail-framing',
  description: 'framer on delivery files, arrays and JSON lines, cut, spliced and nested; chunked = whole',
  arbitrary: fc.record({
    bytes: hostileBytes(() => loaded().cloudTrailFiles, jsonishArb),
    cuts: fc.array(fc.nat(), { maxLength: 8 }),
  }),
  seeds: () => loaded().cloudTrailFiles.map((bytes) => ({ bytes, cuts: [] })),
  async run({ bytes, cuts }) {
    const limits = { maxRecordBytes: FRAME_MAX, maxNestingDepth: 64 };
    const whole = timed('frameBuffer', bytes.length, () => [...frameBuffer(bytes, limits)]);
    checkFrames(whole, FRAME_MAX);
    const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const chunks: Buffer[] = [];
    let from = 0;
    for (const cut of [...at, bytes.length]) {
      chunks.push(bytes.subarray(from, cut));
      from = cut;
    }
    const streamed: FrameItem[] = [];
    for await (const item of frameStream(Readable.from(chunks.filter((c) => c.length > 0)), limits))
      streamed.push(item);
    assert.deepEqual(streamed.map(sameFrame), whole.map(sameFrame), 'chunk boundaries change nothing');
  },
};

const fastPath: FuzzTarget<Buffer> = {
  id: 'cloudtrail-fast-path',
  description: 'byte-level delivery-file reader vs JSON.parse + normaliseRecord, record by record',
  arbitrary: hostileBytes(
    () => loaded().cloudTrailFiles,
    fc.array(fc.tuple(fc.nat(), fc.array(editArb, { maxLength: 2 })), { minLength: 1, maxLength: 6 }).map((picks) => {
      const records = loaded().cloudTrailRecords;
      const chosen = picks.map(([i, edits]) =>
        mutate(Buffer.from(records[i % records.length]!), edits).toString('latin1'),
      );
      return Buffer.from(`{"Records":[${chosen.join(',')}]}`, 'latin1');
    }),
  ),
  seeds: () => loaded().cloudTrailFiles,
  run(bytes) {
    const builder = new EventBuilder();
    let visited = 0;
    const count = timed('scanDeliveryFile', bytes.length, () =>
      scanDeliveryFile(
        bytes,
        (fields, _buffer, start, end, index) => {
          assert.equal(index, visited++);
          const event = builder.build(fields, bytes);
          if (event === undefined) return;
          const parsed = normaliseRecord(JSON.parse(bytes.subarray(start, end).toString('utf8')));
          assert.ok(!('reason' in parsed), 'the fast path built an event JSON.parse does not see');
          assert.deepEqual(event, { ...parsed, requestParameters: undefined, responseElements: undefined });
        },
        FRAME_MAX,
        64,
      ),
    );
    if (count === undefined) return;
    assert.equal(count, visited);
    const framed = [...frameBuffer(bytes, { maxRecordBytes: FRAME_MAX, maxNestingDepth: 64 })];
    assert.ok(
      framed.every((item) => item.kind === 'record'),
      'a file the fast path accepts frames cleanly',
    );
    assert.equal(framed.length, count);
  },
};

const readPaths: FuzzTarget<{ bytes: Buffer; gzip: boolean }> = {
  id: 'cloudtrail-read-object',
  description: 'readObject with the fast path on and off: same events, same warnings',
  arbitrary: fc.record({ bytes: hostileBytes(() => loaded().cloudTrailFiles, jsonishArb), gzip: fc.boolean() }),
  seeds: () => loaded().cloudTrailFiles.map((bytes) => ({ bytes, gzip: false })),
  async run({ bytes, gzip }) {
    const raw = gzip ? gzipSync(bytes) : bytes;
    const read = async (fastPath: boolean) => {
      const events: CloudTrailEvent[] = [];
      const warnings: string[] = [];
      const stats = await readObject(memoryObject('fuzz', raw), {
        limits: { maxRecordBytes: FRAME_MAX, maxDecodedBytes: 4 * MAX_INPUT_BYTES, maxNestingDepth: 64 },
        fastPath,
        warn: (w) => warnings.push(`${w.recordIndex ?? '-'} ${w.reason}`),
        addEvent: (event) => events.push(event),
      });
      return { events, warnings, records: stats.records, badRecords: stats.badRecords };
    };
    const fast = await timedAsync('readObject', bytes.length, () => read(true));
    const slow = await read(false);
    for (const event of slow.events) checkEvent(event);
    const strip = (e: CloudTrailEvent) => ({ ...e, requestParameters: undefined, responseElements: undefined });
    assert.deepEqual(fast.events.map(strip), slow.events.map(strip));
    assert.deepEqual(fast.warnings, slow.warnings);
    assert.equal(fast.records, slow.records);
  },
};

const records: FuzzTarget<Buffer> = {
  id: 'cloudtrail-records',
  description:
    'one framed record: events, {"Records":[…]} lines, arrays, Cribl/Splunk _raw, and every export wrapper (lookup-events, EventBridge, CloudWatch Logs, awslogs, Firehose, Splunk HEC, Lake rows)',
  arbitrary: hostileBytes(
    () => loaded().cloudTrailRecords.map((r) => Buffer.from(r)),
    fc
      .tuple(
        fc.nat(),
        fc.constantFrom(
          '_raw',
          'result',
          'Records',
          'array',
          'plain',
          'lookup',
          'eventbridge',
          'cwl',
          'awslogs',
          'firehose',
          'hec',
          'lake',
        ),
        fc.integer({ min: 0, max: 6 }),
        fc.oneof(fc.constant(0), fc.integer({ min: 100, max: 5000 })),
      )
      .map(([i, wrapper, times, depth]) => {
        const all = loaded().cloudTrailRecords;
        let text = all[i % all.length]!;
        if (depth > 0) text = text.replace(/\{/, `{"deep":${'['.repeat(depth)}${']'.repeat(depth)},`);
        for (let n = 0; n < times; n++) {
          if (wrapper === '_raw') text = JSON.stringify({ _raw: text, host: 'h' });
          else if (wrapper === 'result') text = JSON.stringify({ result: { _raw: text } });
          else if (wrapper === 'Records') text = `{"Records":[${text}]}`;
          else if (wrapper === 'array') text = `[${text}]`;
          else if (wrapper !== 'plain') text = wrapForFuzz(wrapper, text);
        }
        return Buffer.from(text);
      }),
  ),
  seeds: () => loaded().cloudTrailRecords.map((r) => Buffer.from(r)),
  run(bytes) {
    const items = timed('parseRecordBytes', bytes.length, () => parseRecordBytes(bytes));
    assert.ok(items.length > 0 || bytes.toString().trim() !== '', 'every record yields an item or is empty');
    for (const item of items) {
      if ('bad' in item) assert.ok(typeof item.bad === 'string' && item.bad.length > 0 && item.bad.length < 300);
      else if ('skipped' in item) assert.ok(item.skipped.length > 0 && item.skipped.length < 300);
      else checkEvent(item.event);
    }
  },
};

/** One record (JSON text) inside one export wrapper, as the shape's producer writes it. */
function wrapForFuzz(wrapper: string, text: string): string {
  const base64Gzip = (payload: string): string => gzipSync(payload).toString('base64');
  switch (wrapper) {
    case 'lookup':
      return JSON.stringify({ Events: [{ EventId: 'x', CloudTrailEvent: text }] });
    case 'eventbridge':
      return `{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.sts","detail":${text}}`;
    case 'cwl':
      return JSON.stringify({ messageType: 'DATA_MESSAGE', logEvents: [{ id: '1', timestamp: 1, message: text }] });
    case 'awslogs':
      return JSON.stringify({
        awslogs: {
          data: base64Gzip(
            JSON.stringify({ messageType: 'DATA_MESSAGE', logEvents: [{ id: '1', timestamp: 1, message: text }] }),
          ),
        },
      });
    case 'firehose':
      return JSON.stringify({ records: [{ recordId: '1', data: Buffer.from(text).toString('base64') }] });
    case 'hec':
      return JSON.stringify({ time: 1, sourcetype: 'aws:cloudtrail', event: text });
    case 'lake':
      return JSON.stringify({ QueryResultRows: [[{ eventJson: text }]] });
    default:
      return text;
  }
}

const nesting: FuzzTarget<string> = {
  id: 'json-nesting-depth',
  description: 'jsonNestingExceeds vs the depth of what JSON.parse builds',
  arbitrary: fc.oneof(
    fc.json({ depthSize: 'large', maxDepth: 12 }),
    fc.tuple(fc.json(), fc.integer({ min: 0, max: 40 })).map(([v, d]) => '['.repeat(d) + v + ']'.repeat(d)),
    fc
      .tuple(fc.string(), fc.integer({ min: 0, max: 40 }))
      .map(([s, d]) => '{"a":'.repeat(d) + JSON.stringify(s) + '}'.repeat(d)),
  ),
  seeds: () => loaded().cloudTrailRecords,
  run(text) {
    const depthOf = (value: unknown): number => {
      let deepest = 0;
      const stack: [unknown, number][] = [[value, 0]];
      while (stack.length > 0) {
        const [v, d] = stack.pop()!;
        if (v !== null && typeof v === 'object') {
          deepest = Math.max(deepest, d + 1);
          for (const child of Object.values(v)) stack.push([child, d + 1]);
        }
      }
      return deepest;
    };
    const depth = depthOf(JSON.parse(text));
    for (const max of [1, 2, 5, 10, 20, 128]) assert.equal(jsonNestingExceeds(text, max), depth > max, `max ${max}`);
  },
};

type WebFormat = 'alb' | 'elb' | 'cloudfront' | 'waf' | 'combined';
const PARSERS: Record<WebFormat, (text: string) => WebRequest | string> = {
  alb: (text) => parseAlbLine(text, 'fuzz', 1),
  elb: (text) => parseElbLine(text, 'fuzz', 1),
  cloudfront: (text) => parseCloudFrontLine(text, 'fuzz', 1, CLOUDFRONT_DEFAULT_FIELDS),
  waf: (text) => parseWafLine(text, 'fuzz', 1),
  combined: (text) => parseCombinedLine(text, 'fuzz', 1),
};

/** Long runs of what each format is made of: quotes, spaces, tabs, escapes, percent signs. */
const lineGarbage = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: fc.constantFrom(...' "\\\t%-:/[]{}?&=.'.split('')), maxLength: 300 }),
  fc
    .tuple(
      fc.constantFrom(' ', '"', '\\', '\t', '%2', '%', '[', '{"a":', 'a', ':'),
      fc.integer({ min: 1000, max: 30000 }),
    )
    .map(([unit, n]) => unit.repeat(n)),
);

function webLineTarget(format: WebFormat): FuzzTarget<string> {
  return {
    id: `weblog-${format}`,
    description: `${format} line parser, then the SSRF and signed-URL detectors on what it returns`,
    arbitrary: hostileText(() => loaded().webLines[format], lineGarbage),
    seeds: () => loaded().webLines[format],
    run(text) {
      timed(`parse ${format}`, Buffer.byteLength(text), () => {
        const parsed = PARSERS[format](text);
        if (typeof parsed === 'string') assert.ok(parsed.length > 0 && parsed.length < 400, 'reasons are short');
        else checkWebRequest(parsed);
      });
    },
  };
}

const webReader: FuzzTarget<{ bytes: Buffer; gzip: boolean; chunk: number }> = {
  id: 'weblog-reader',
  description: 'readWebLog over mixed, cut and gzipped files with a small line limit',
  arbitrary: fc.record({
    bytes: hostileBytes(
      () => Object.values(loaded().webLines).map((l) => Buffer.from(l.slice(0, 20).join('\n'))),
      fc.array(lineGarbage, { maxLength: 5 }).map((l) => Buffer.from(l.join('\n'))),
    ),
    gzip: fc.boolean(),
    // Tiny chunks measure the stream machinery, not the reader: a few hundred bytes is already adversarial.
    chunk: fc.oneof(fc.constant(0), fc.integer({ min: 256, max: 8192 })),
  }),
  seeds: () =>
    Object.values(loaded().webLines).map((l) => ({ bytes: Buffer.from(l.join('\n')), gzip: false, chunk: 0 })),
  async run({ bytes, gzip, chunk }) {
    const raw = gzip ? gzipSync(bytes) : bytes;
    let lastLine = 0;
    await timedAsync('readWebLog', bytes.length, async () => {
      lastLine = 0;
      try {
        for await (const item of readWebLog(memoryObject('fuzz', raw, chunk), {
          maxLineBytes: 2048,
          maxDecodedBytes: 4 * MAX_INPUT_BYTES,
        })) {
          if (item.kind === 'request') {
            assert.ok(item.request.line > lastLine);
            lastLine = item.request.line;
            checkWebRequest(item.request);
          } else if (item.kind === 'bad' || item.kind === 'skipped') {
            assert.ok(item.line > lastLine || item.kind === 'bad');
          } else {
            assert.equal(item.kind, 'not-a-web-log');
          }
        }
      } catch (error) {
        // Documented: damaged gzip and the decoded-size cap end the file with an OffboxError.
        if (!(error instanceof OffboxError)) throw error;
      }
    });
  },
};

const ssrf: FuzzTarget<string> = {
  id: 'ssrf-canonicaliser',
  description: 'metadata-target canonicaliser on URLs, hosts, headers and encoded payloads: never throws, bounded time',
  arbitrary: hostileText(
    () => loaded().ssrfPayloads,
    fc.oneof(
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.string({
        unit: fc.constantFrom(...'%25%32%35%u0069\\x41&#x31;169.254.0x7f.0177:@[]/?#'.split('')),
        maxLength: 400,
      }),
      fc
        .tuple(fc.constantFrom('%25', '%', '\\u00', '&#', '0x', '[::', '@', '.'), fc.integer({ min: 1000, max: 16000 }))
        .map(([unit, n]) => unit.repeat(n)),
    ),
  ),
  seeds: () => loaded().ssrfPayloads,
  run(text) {
    timed('canonicaliser', Buffer.byteLength(text) * 3, () => {
      const request = PARSERS.combined(
        `203.0.113.9 - - [10/Oct/2023:13:55:36 +0000] "GET /fetch?url=${text.replace(/[\s"]/g, '')} HTTP/1.1" 200 5 "${text.replace(/"/g, '')}" "curl/8"`,
      );
      if (typeof request !== 'string') checkWebRequest(request);
      const layers = decodeLayers(text);
      assert.ok(layers.layers.length >= 1);
      normaliseMetadataPath(text);
    });
  },
};

const inventory: FuzzTarget<string> = {
  id: 'inventory-document',
  description: 'AWS CLI inventory documents, mutated: recognised, or left alone, never a crash',
  arbitrary: hostileText(() => loaded().inventoryDocuments, fc.json({ depthSize: 'medium' })),
  seeds: () => loaded().inventoryDocuments,
  run(text) {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      return; // loadInventory reports unparseable files as a warning before this point
    }
    timed('addInventoryDocument', text.length, () => addInventoryDocument(new OwnershipMap(), document, 'fuzz.json'));
  },
};

let configDir: string | undefined;
const config: FuzzTarget<string> = {
  id: 'config',
  description: 'offbox.yaml through loadConfig: a config or a ConfigError, nothing else',
  arbitrary: hostileText(
    () => loaded().configs,
    fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    ),
  ),
  seeds: () => loaded().configs,
  run(text) {
    configDir ??= mkdtempSync(join(tmpdir(), 'offbox-fuzz-config-'));
    const file = join(configDir, 'offbox.yaml');
    writeFileSync(file, text);
    // The file is the operator's, capped at 1 MiB: the bound only catches a blow-up. The YAML parser is
    // linear but slow on odd input (half a second on 36 KiB of brackets in a quoted string under load).
    timed(
      'loadConfig',
      text.length,
      () => {
        try {
          const loaded = loadConfig(file);
          assert.ok(Array.isArray(loaded.allowedSourceCidrs) && Array.isArray(loaded.suppress));
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
        }
      },
      SLOW_INPUT_MS * 10,
    );
  },
};

const ipText = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4Extended(),
  fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: -1, max: 140 })).map(([ip, n]) => `${ip}/${n}`),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF.:/%x[]- '.split('')), maxLength: 60 }),
  fc
    .tuple(fc.constantFrom('1', ':', '.', '0', 'f', '1.'), fc.integer({ min: 100, max: 20000 }))
    .map(([u, n]) => u.repeat(n)),
);

const ip: FuzzTarget<string> = {
  id: 'ip-cidr',
  description: 'parseIp / parseCidr: never throw; what they read formats and re-reads to itself',
  arbitrary: ipText,
  seeds: () => [
    '10.0.0.1',
    '::ffff:10.0.0.1',
    'fe80::1%eth0',
    '169.254.169.254',
    '0.0.0.0/0',
    '::/0',
    '2001:db8::/129',
  ],
  run(text) {
    timed('parseIp', text.length, () => {
      const parsed = parseIp(text);
      if (parsed !== undefined) assert.deepEqual(parseIp(formatIp(parsed)), parsed);
      if (isIP(text) === 4 && !text.includes('/')) assert.ok(parsed !== undefined, `${text} is an IPv4 address`);
      const cidr = parseCidr(text);
      if (cidr !== undefined) {
        assert.ok(cidr.prefixLength >= 0 && cidr.prefixLength <= (cidr.version === 4 ? 32 : 128));
        assert.equal(parseCidr(cidr.cidr)?.cidr, cidr.cidr);
      }
    });
  },
};

const sqs: FuzzTarget<string> = {
  id: 'sqs-message',
  description: 'SQS message bodies (S3, SNS, EventBridge envelopes), mutated: never throws, capped output',
  arbitrary: hostileText(
    () => [
      JSON.stringify({
        Records: [
          {
            eventName: 'ObjectCreated:Put',
            s3: { bucket: { name: 'b' }, object: { key: 'AWSLogs/1/x.json.gz', size: 5 } },
          },
        ],
      }),
      JSON.stringify({
        Type: 'Notification',
        TopicArn: 'arn:aws:sns:us-east-1:1:t',
        Message: JSON.stringify({ s3Bucket: 'b', s3ObjectKey: ['k1', 'k2'] }),
      }),
      JSON.stringify({
        source: 'aws.s3',
        'detail-type': 'Object Created',
        detail: { bucket: { name: 'b' }, object: { key: 'k' } },
      }),
      JSON.stringify({
        source: 'aws.sts',
        'detail-type': 'AWS API Call via CloudTrail',
        detail: JSON.parse(loaded().cloudTrailRecords[0] ?? '{}'),
      }),
    ],
    fc.oneof(fc.json(), fc.string({ maxLength: 300 })),
  ),
  seeds: () => [],
  run(body) {
    const content = timed('parseQueueMessage', body.length, () => parseQueueMessage(body));
    assert.ok(content.objects.length + content.records.length <= 1000);
    for (const reason of content.ignored) assert.ok(reason.length < 400, 'ignored reasons are short');
    for (const record of content.records) {
      const event = normaliseRecord(record);
      if (!('reason' in event)) checkEvent(event);
    }
  },
};

const DECODE_MAX = 64 * 1024;
type DecoderInput = { kind: 'gzip' | 'truncated' | 'corrupt' | 'members' | 'bomb' | 'raw'; data: Buffer; at: number };

const decoder: FuzzTarget<DecoderInput> = {
  id: 'gzip-decoder',
  description: 'readAllDecoded on gzip, truncated, corrupt, multi-member and bomb-like input with a 64 KiB cap',
  arbitrary: fc.record({
    kind: fc.constantFrom('gzip', 'truncated', 'corrupt', 'members', 'bomb', 'raw'),
    data: fc.oneof(
      fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
      fc.integer({ min: 0, max: 200000 }).map((n) => Buffer.alloc(n, 0x61)),
    ),
    at: fc.nat(),
  }),
  seeds: () => [{ kind: 'bomb', data: Buffer.alloc(10 * 1024 * 1024), at: 0 }],
  async run({ kind, data, at }) {
    let raw: Buffer;
    let expected: Buffer | undefined;
    const gz = gzipSync(data);
    switch (kind) {
      case 'gzip':
        raw = gz;
        expected = data;
        break;
      case 'truncated':
        raw = gz.subarray(0, at % gz.length);
        break;
      case 'corrupt':
        raw = Buffer.from(gz);
        {
          const flip = 2 + (at % (raw.length - 2));
          raw[flip] = raw[flip]! ^ (1 + (at % 255));
        }
        break;
      case 'members':
        raw = Buffer.concat([gz, gzipSync(Buffer.from('second'))]);
        expected = Buffer.concat([data, Buffer.from('second')]);
        break;
      case 'bomb':
        raw = gzipSync(Buffer.alloc(DECODE_MAX * 16 + (at % 1000)));
        break;
      case 'raw':
        raw = data;
        expected = data;
        break;
    }
    const result = await timedAsync('readAllDecoded', raw.length, () =>
      readAllDecoded(memoryObject('fuzz.gz', raw, 256 + (at % 8192)), { maxDecodedBytes: DECODE_MAX }),
    );
    assert.ok(result.bytes.length <= DECODE_MAX, 'never more than the cap');
    if (result.error !== undefined) assert.ok(result.error instanceof OffboxError);
    if (kind === 'bomb') assert.ok(result.error !== undefined, 'a bomb is refused');
    if (expected !== undefined) {
      if (expected.length <= DECODE_MAX) {
        assert.equal(result.error, undefined);
        assert.ok(result.bytes.equals(expected));
      } else {
        assert.ok(result.error !== undefined, 'over the cap is an error');
      }
    }
  },
};

/** Every fuzz target, in the order they run. */
export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  framing,
  fastPath,
  readPaths,
  records,
  nesting,
  webLineTarget('alb'),
  webLineTarget('elb'),
  webLineTarget('cloudfront'),
  webLineTarget('waf'),
  webLineTarget('combined'),
  webReader,
  ssrf,
  inventory,
  config,
  ip,
  sqs,
  decoder,
] as FuzzTarget[];

/** Removes what the targets wrote to the temporary folder. */
export function cleanUpFuzzTargets(): void {
  if (configDir !== undefined) rmSync(configDir, { recursive: true, force: true });
  configDir = undefined;
}

export interface FuzzOutcome {
  id: string;
  runs: number;
  seeds: number;
  ms: number;
  /** fast-check's report, with the seed and path to replay, when the target failed. */
  failure?: string;
}

/**
 * Runs one target on its seeds, then on `numRuns` generated inputs (or for `seconds`).
 * `seed`/`path` replay a failure fast-check reported.
 */
export async function runFuzzTarget(
  target: FuzzTarget,
  budget: { numRuns?: number; seconds?: number; seed?: number; path?: string; shrink?: boolean },
): Promise<FuzzOutcome> {
  const started = performance.now();
  const seeds = budget.path === undefined ? target.seeds() : [];
  for (const [i, seed] of seeds.entries()) {
    try {
      await target.run(seed);
    } catch (error) {
      return {
        id: target.id,
        runs: 0,
        seeds: i,
        ms: performance.now() - started,
        failure: `seed input ${i} failed: ${(error as Error).stack ?? error}`,
      };
    }
  }
  let runs = 0;
  const property = fc.asyncProperty(target.arbitrary, async (input) => {
    runs++;
    await target.run(input);
  });
  const details = await fc.check(property, {
    ...(budget.seconds !== undefined
      ? {
          numRuns: Number.MAX_SAFE_INTEGER,
          interruptAfterTimeLimit: budget.seconds * 1000,
          markInterruptAsFailure: false,
        }
      : { numRuns: budget.numRuns ?? 100 }),
    // Shrinking a slow input re-runs it many times: in CI report the first counterexample as found.
    endOnFailure: budget.shrink === false,
    ...(budget.seed !== undefined ? { seed: budget.seed } : {}),
    ...(budget.path !== undefined ? { path: budget.path } : {}),
  });
  const outcome: FuzzOutcome = { id: target.id, runs, seeds: seeds.length, ms: performance.now() - started };
  if (details.failed) {
    // Counterexamples can be megabytes of nesting: keep the report readable.
    const error = details.errorInstance;
    const cause = error instanceof Error ? (error.stack ?? error.message) : String(error);
    const report = `${cause.length > 2000 ? `${cause.slice(0, 2000)}…` : cause}\n${fc.defaultReportMessage(details) ?? 'failed'}`;
    outcome.failure = report.length > 4000 ? `${report.slice(0, 4000)}… (${report.length} characters)` : report;
    outcome.failure += `\nreplay: seed ${details.seed}, path "${details.counterexamplePath ?? ''}"`;
  }
  return outcome;
}
