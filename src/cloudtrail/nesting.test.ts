import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { readObject } from '../engine/read-object.js';
import { DEFAULT_LIMITS } from '../engine/scan.js';
import { parseQueueMessage } from '../watch/sources/sqs-messages.js';
import type { CloudTrailEvent } from './event.js';
import { scanDeliveryFile } from './fast-records.js';
import { frameBuffer } from './framing.js';
import { DEFAULT_MAX_NESTING_DEPTH, jsonNestingExceeds } from './nesting.js';
import { parseRecordBytes } from './records.js';

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
/** An ownership event: its responseElements are kept, sorted with JSON.stringify and sent between threads. */
const runInstances = (depth: number, id = 'e1'): string =>
  JSON.stringify({
    eventVersion: '1.08',
    eventTime: '2023-07-10T12:00:00Z',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'RunInstances',
    eventID: id,
    userIdentity: { type: 'IAMUser' },
  }).replace(/\}$/, `,"responseElements":{"x":${nested(depth)}}}`);

async function read(text: string, fastPath: boolean) {
  const events: CloudTrailEvent[] = [];
  const warnings: string[] = [];
  const bytes = Buffer.from(text);
  await readObject(
    { name: 'deep.json', size: bytes.length, open: async () => Readable.from([bytes]) },
    { limits: DEFAULT_LIMITS, fastPath, warn: (w) => warnings.push(w.reason), addEvent: (e) => events.push(e) },
  );
  return { events, warnings };
}

describe('JSON nesting depth limit', () => {
  it('jsonNestingExceeds counts arrays and objects, not brackets inside strings', () => {
    assert.equal(jsonNestingExceeds(nested(3), 3), false);
    assert.equal(jsonNestingExceeds(nested(4), 3), true);
    assert.equal(jsonNestingExceeds(`{"a":"${'['.repeat(50)}\\"["}`, 2), false);
    assert.equal(jsonNestingExceeds('{"a":{"b":[1]}}', 2), true);
  });

  it('records nested past the limit are reported and skipped by both readers; their neighbours are read', async () => {
    // 200,000 levels once crashed `offbox scan` (JSON.stringify overflowed the stack sorting ownership evidence).
    for (const deep of [DEFAULT_MAX_NESTING_DEPTH, 200_000]) {
      const file = `{"Records":[${runInstances(5, 'ok1')},${runInstances(deep, 'deep')},${runInstances(5, 'ok2')}]}`;
      for (const fastPath of [true, false]) {
        const { events, warnings } = await read(file, fastPath);
        assert.deepEqual(
          events.map((e) => e.eventId),
          ['ok1', 'ok2'],
        );
        assert.deepEqual(warnings, [
          `record nests arrays and objects more than ${DEFAULT_MAX_NESTING_DEPTH} levels deep`,
        ]);
        JSON.stringify(events);
      }
      const lines = await read(`${runInstances(5, 'ok1')}\n${runInstances(deep, 'deep')}\n`, true);
      assert.deepEqual(
        lines.events.map((e) => e.eventId),
        ['ok1'],
      );
      assert.equal(lines.warnings.length, 1);
    }
  });

  it('the limit is exact: the deepest record allowed is read, one level more is not', () => {
    // The record object is level 1, responseElements 2, "x" 3 and on.
    const limit = 10;
    const at = runInstances(limit - 2);
    const over = runInstances(limit - 1);
    const frame = (text: string) => [
      ...frameBuffer(Buffer.from(text), { maxRecordBytes: 1 << 20, maxNestingDepth: limit }),
    ];
    assert.equal(frame(at)[0]!.kind, 'record');
    assert.equal(frame(over)[0]!.kind, 'bad');
    const fast = (text: string) => scanDeliveryFile(Buffer.from(`{"Records":[${text}]}`), () => {}, 1 << 20, limit);
    assert.equal(fast(at), 1);
    assert.equal(fast(over), undefined);
  });

  it('a _raw string nested past the limit is one bad item', () => {
    const items = parseRecordBytes(JSON.stringify({ _raw: runInstances(100_000) }));
    assert.deepEqual(items, [
      { bad: `_raw field nests arrays and objects more than ${DEFAULT_MAX_NESTING_DEPTH} levels deep` },
    ]);
  });

  it('an SQS message nested past the limit is ignored with a reason', () => {
    const body = JSON.stringify({
      source: 'aws.ec2',
      'detail-type': 'AWS API Call via CloudTrail',
      detail: {},
    }).replace('"detail":{}', `"detail":${runInstances(100_000)}`);
    const content = parseQueueMessage(body);
    assert.deepEqual(content.records, []);
    assert.match(content.ignored[0] ?? '', /nests JSON more than 128 levels deep/);
  });
});
