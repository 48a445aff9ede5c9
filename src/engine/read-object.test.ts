// Reading one object, never silently: a file with records but no event, or mostly rejected
// records, is one bad-file warning saying what it looks like; empty files, digests and empty exports
// are not. And the byte-level fast path stays a necessary condition whatever wrappers a delivery
// file's records are: it never drops an event that the full parse reads.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { CloudTrailEvent } from '../cloudtrail/event.js';
import { instanceCall, vendingEvent } from '../cloudtrail/events.test-helpers.js';
import { parseRecordBytes } from '../cloudtrail/records.js';
import type { LogObject } from '../sources/log-object.js';
import { readObject, type InputWarning, type ObjectReadStats } from './read-object.js';
import { DEFAULT_LIMITS } from './scan.js';

function object(name: string, content: string | Buffer, size?: number): LogObject {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  return { name, size: size ?? bytes.length, open: async () => Readable.from([bytes]) };
}

async function read(
  content: string | Buffer,
  options: { fastPath?: boolean; strict?: boolean; streamed?: boolean } = {},
): Promise<{ stats: ObjectReadStats; events: CloudTrailEvent[]; warnings: InputWarning[] }> {
  const events: CloudTrailEvent[] = [];
  const warnings: InputWarning[] = [];
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  // size undefined: the streaming reader, as for stdin.
  const stats = await readObject(object('f.json', bytes, options.streamed ? undefined : bytes.length), {
    limits: DEFAULT_LIMITS,
    ...(options.fastPath === undefined ? {} : { fastPath: options.fastPath }),
    strict: options.strict === true,
    warn: (w) => {
      if (options.strict) throw new Error(w.reason);
      warnings.push(w);
    },
    addEvent: (e) => events.push(e),
  });
  return { stats, events, warnings };
}

const fileWarnings = (warnings: InputWarning[]) => warnings.filter((w) => w.recordIndex === undefined);

describe('readObject: never silent', () => {
  it('a file with records but no event is one bad-file warning naming its shape and what offbox reads', async () => {
    for (const [content, shape] of [
      ['# offbox\n\nFind cloud workload credentials.\n', 'Markdown/text'],
      [
        '{"name":"offbox","version":"0.1.0","scripts":{"build":"tsc"}}',
        'a JSON object with keys name, version, scripts',
      ],
      ['version account-id interface-id srcaddr dstaddr\n2 123456789012 eni-0a 1.2.3.4 10.0.0.1\n', 'a VPC flow log'],
      [
        '{"version":"0","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{"state":"running"}}\n' +
          '{"x":1}\n{"y":2}\n',
        'EventBridge events of detail-type "EC2 Instance State-change Notification", not from CloudTrail',
      ],
    ] as const) {
      for (const streamed of [false, true]) {
        const { stats, warnings } = await read(content, { streamed });
        assert.equal(stats.badFile, true, content);
        const [warning, ...more] = fileWarnings(warnings);
        assert.equal(more.length, 0);
        assert.match(warning!.reason, /^(no CloudTrail events|most records are not CloudTrail events)/);
        assert.ok(warning!.reason.includes(`this looks like ${shape}`), warning!.reason);
        assert.match(warning!.reason, /expected CloudTrail events: S3 delivery files/);
      }
    }
  });

  it('mostly rejected records make a bad file; the events read still count', async () => {
    const lines = [JSON.stringify(instanceCall()), '{"a":1}', '{"b":2}', '{"c":3}'].join('\n');
    const { stats, events, warnings } = await read(lines);
    assert.equal(events.length, 1);
    assert.equal(stats.badFile, true);
    assert.match(fileWarnings(warnings)[0]!.reason, /most records are not CloudTrail events \(3 of 4 rejected\)/);
    const fine = await read([JSON.stringify(instanceCall()), JSON.stringify(instanceCall()), '{"a":1}'].join('\n'));
    assert.equal(fine.stats.badFile, false);
    assert.equal(fileWarnings(fine.warnings).length, 0);
  });

  it('empty files, digests and exports with no records hold nothing to read: no warning', async () => {
    for (const content of [
      '',
      '  \n\n',
      '{"Records":[]}',
      '{"Events":[]}',
      '{"QueryStatus":"FINISHED","QueryResultRows":[]}',
      JSON.stringify({
        awsAccountId: '1',
        digestStartTime: 'x',
        digestEndTime: 'y',
        digestS3Bucket: 'b',
        digestS3Object: 'o',
      }),
    ]) {
      const { stats, warnings } = await read(content);
      assert.deepEqual(warnings, [], content);
      assert.equal(stats.badFile, false);
      assert.equal(stats.emptyFile, true, content);
    }
  });

  it('control messages and other services’ events beside CloudTrail are skipped, counted, not reported', async () => {
    const payload = (messageType: string, messages: string[]) =>
      JSON.stringify({ messageType, logEvents: messages.map((message, i) => ({ id: `${i}`, timestamp: 1, message })) });
    const content =
      payload('CONTROL_MESSAGE', ['CWL CONTROL MESSAGE: Checking health of destination Firehose.']) +
      payload('DATA_MESSAGE', [JSON.stringify(instanceCall())]);
    const { stats, events, warnings } = await read(gzipSync(content));
    assert.equal(events.length, 1);
    assert.equal(stats.skippedRecords, 1);
    assert.deepEqual(warnings, []);
    const controlOnly = await read(payload('CONTROL_MESSAGE', ['CWL CONTROL MESSAGE: Checking health']));
    assert.equal(controlOnly.stats.badFile, false);
  });

  it('with strict, the bad-file warning is the error', async () => {
    await assert.rejects(read('# title\n', { strict: true }), /not JSON/);
    await assert.rejects(read('{"name":"x"}', { strict: true }), /neither eventName nor eventSource/);
  });

  it('gzip inside gzip reads as the inner content', async () => {
    const inner = gzipSync(JSON.stringify({ Records: [instanceCall(), vendingEvent()] }));
    for (const streamed of [false, true]) {
      const { events, warnings } = await read(gzipSync(inner), { streamed });
      assert.equal(events.length, 2);
      assert.deepEqual(warnings, []);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The fast path over delivery files whose records are wrappers: necessary condition, differential.

const record = fc.oneof(
  fc.constant(instanceCall()),
  fc.constant(vendingEvent()),
  fc.constant(instanceCall({ sourceIp: '1.2.3.4', ec2RoleDelivery: '1.0' })),
);

/** A record as one of the wrappers puts it, or something that is no event at all. */
const wrapped: fc.Arbitrary<unknown> = fc
  .tuple(
    record,
    fc.constantFrom(
      'plain',
      'eventbridge',
      'lookup',
      'hec',
      'hec-string',
      'cwl',
      'awslogs',
      'lake',
      'lake-row',
      'raw',
      'other',
      'junk',
    ),
  )
  .map(([r, how]) => {
    switch (how) {
      case 'eventbridge':
        return { version: '0', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.sts', detail: r };
      case 'lookup':
        return { EventId: 'x', EventName: 'y', CloudTrailEvent: JSON.stringify(r) };
      case 'hec':
        return { time: 1, sourcetype: 'aws:cloudtrail', event: r };
      case 'hec-string':
        return { time: 1, host: 'h', event: JSON.stringify(r) };
      case 'cwl':
        return { messageType: 'DATA_MESSAGE', logEvents: [{ id: '1', timestamp: 1, message: JSON.stringify(r) }] };
      case 'awslogs':
        return {
          awslogs: {
            data: gzipSync(
              JSON.stringify({
                messageType: 'DATA_MESSAGE',
                logEvents: [{ id: '1', timestamp: 1, message: JSON.stringify(r) }],
              }),
            ).toString('base64'),
          },
        };
      case 'lake':
        return { QueryResultRows: [[{ eventJson: JSON.stringify(r) }]] };
      case 'lake-row':
        return [{ eventJson: JSON.stringify(r) }];
      case 'raw':
        return { _raw: JSON.stringify(r), host: 'h' };
      case 'other':
        return { version: '0', 'detail-type': 'EC2 Spot Instance Interruption Warning', source: 'aws.ec2', detail: {} };
      case 'junk':
        return { name: 'offbox' };
      default:
        return r;
    }
  });

describe('readObject: the fast path never drops a record the full parse reads', () => {
  it('delivery files of wrapped records: the same events and warnings with and without the fast path', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(wrapped, { minLength: 1, maxLength: 12 }), async (records) => {
        const file = JSON.stringify({ Records: records });
        const fast = await read(file);
        const slow = await read(file, { fastPath: false });
        const strip = (e: CloudTrailEvent) => ({ ...e, requestParameters: undefined, responseElements: undefined });
        assert.deepEqual(fast.events.map(strip), slow.events.map(strip));
        assert.deepEqual(fast.warnings, slow.warnings);
        // And both are what parsing the whole file at once reads.
        const reference = parseRecordBytes(file).filter((i) => 'event' in i);
        assert.equal(fast.events.length, reference.length);
      }),
      { numRuns: 150 },
    );
  });
});
