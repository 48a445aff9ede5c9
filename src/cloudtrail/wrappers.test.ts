// The export wrappers, one by one: each is recognised from its own shape (as AWS, Splunk and
// Firehose write it; fixtures/wrappers/PROVENANCE.md), expanded into exactly the events
// inside, and a damaged wrapper is a reported bad record (or a counted skip), never an exception.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { instanceCall, vendingEvent } from './events.test-helpers.js';
import { frameBuffer } from './framing.js';
import { parseRecordBytes, type ParsedItem } from './records.js';
import { EXPORT_WRAPPERS, findWrapper, isCloudTrailDetailType, isLakeRow } from './wrappers.js';

const events = (items: ParsedItem[]) => items.filter((i): i is Extract<ParsedItem, { event: unknown }> => 'event' in i);
const bad = (items: ParsedItem[]) => items.filter((i): i is { bad: string } => 'bad' in i).map((i) => i.bad);
const skipped = (items: ParsedItem[]) => items.filter((i): i is { skipped: string } => 'skipped' in i);
const parse = (value: unknown) => parseRecordBytes(JSON.stringify(value));

const call = instanceCall({ eventId: 'aaaaaaaa-0000-4000-8000-000000000001', sourceIp: '198.51.100.9' });
const vend = vendingEvent({ eventId: 'aaaaaaaa-0000-4000-8000-000000000002' });

function cwlPayload(records: unknown[], messageType = 'DATA_MESSAGE') {
  return {
    messageType,
    owner: '111122223333',
    logGroup: 'aws-cloudtrail-logs-111122223333',
    logStream: '111122223333_CloudTrail_us-east-1',
    subscriptionFilters: ['to-firehose'],
    logEvents: records.map((r, i) => ({ id: String(i), timestamp: 1714557900000, message: JSON.stringify(r) })),
  };
}

describe('export wrappers: each shape is read', () => {
  it('lookup-events output, one entry, and entries one per line', () => {
    const entry = (r: Record<string, unknown>) => ({
      EventId: r['eventID'],
      EventName: r['eventName'],
      EventTime: '2024-05-01T10:05:00+00:00',
      CloudTrailEvent: JSON.stringify(r),
    });
    const output = parse({ Events: [entry(call), entry(vend)], NextToken: 'abc' });
    assert.deepEqual(
      events(output).map((e) => e.event.eventId),
      [call['eventID'], vend['eventID']],
    );
    assert.equal(events(parse(entry(call))).length, 1);
    // The vending event keeps its bodies: the engine reads who was issued which key from them.
    assert.equal(
      (events(output)[1]!.event.responseElements?.['credentials'] as { accessKeyId: string }).accessKeyId,
      'ASIAEXAMPLEKEY000001',
    );
  });

  it('EventBridge events of every CloudTrail detail-type; other detail-types are skipped, not bad', () => {
    for (const detailType of [
      'AWS API Call via CloudTrail',
      'AWS Console Sign In via CloudTrail',
      'AWS Service Event via CloudTrail',
      'AWS Console Action via CloudTrail',
    ]) {
      const items = parse({ version: '0', 'detail-type': detailType, source: 'aws.sts', detail: call });
      assert.equal(events(items).length, 1, detailType);
      assert.ok(isCloudTrailDetailType(detailType));
    }
    const other = parse({
      version: '0',
      'detail-type': 'EC2 Instance State-change Notification',
      source: 'aws.ec2',
      detail: { state: 'running' },
    });
    assert.equal(skipped(other).length, 1);
    assert.equal(bad(other).length, 0);
  });

  it('CloudWatch Logs payloads, events and control messages', () => {
    assert.equal(events(parse(cwlPayload([call, vend]))).length, 2);
    const control = parse({
      ...cwlPayload([]),
      messageType: 'CONTROL_MESSAGE',
      logEvents: [{ id: '', timestamp: 1, message: 'CWL CONTROL MESSAGE: Checking health of destination Firehose.' }],
    });
    assert.deepEqual(bad(control), []);
    assert.equal(skipped(control).length, 1);
    const filterLogEvents = parse({
      events: [{ logStreamName: 's', timestamp: 1, message: JSON.stringify(call), ingestionTime: 2, eventId: '1' }],
      searchedLogStreams: [],
    });
    assert.equal(events(filterLogEvents).length, 1);
  });

  it('gzip + base64 as Lambda awslogs.data and Firehose records carry it', () => {
    const data = gzipSync(JSON.stringify(cwlPayload([call, vend]))).toString('base64');
    assert.equal(events(parse({ awslogs: { data } })).length, 2);
    const firehose = parse({
      invocationId: 'x',
      records: [
        { recordId: '1', approximateArrivalTimestamp: 1, data },
        // A Firehose record of a non-CloudWatch source: plain JSON, back-to-back values.
        { recordId: '2', data: Buffer.from(JSON.stringify(call) + JSON.stringify(call)).toString('base64') },
      ],
    });
    assert.equal(events(firehose).length, 4);
  });

  it('Splunk HEC events with the record as an object or as JSON text', () => {
    assert.equal(events(parse({ time: 1714557900, sourcetype: 'aws:cloudtrail', event: call })).length, 1);
    assert.equal(events(parse({ time: 1714557900, host: 'h', event: JSON.stringify(call) })).length, 1);
  });

  it('CloudTrail Lake results: eventJson rows, in any case', () => {
    const output = parse({
      QueryStatus: 'FINISHED',
      QueryStatistics: { ResultsCount: 2 },
      QueryResultRows: [[{ eventJson: JSON.stringify(call) }], [{ eventjson: JSON.stringify(vend) }]],
    });
    assert.equal(events(output).length, 2);
    assert.deepEqual(bad(output), []);
  });

  it('a Lake projection that carries the identity as JSON columns is read, with Lake times made ISO', () => {
    const row = [
      { eventTime: '2024-05-01 10:05:00.000' },
      { eventName: 'GetCallerIdentity' },
      { eventSource: 'sts.amazonaws.com' },
      { sourceIPAddress: '198.51.100.9' },
      { 'userIdentity.arn': 'arn:aws:sts::111122223333:assumed-role/web-app-role/i-0123456789abcdef0' },
      { 'useridentity.accesskeyid': 'ASIAEXAMPLEKEY000001' },
      { 'userIdentity.type': 'AssumedRole' },
    ];
    const items = parse({ QueryResultRows: [row] });
    assert.deepEqual(bad(items), []);
    const event = events(items)[0]!.event;
    assert.equal(event.eventTime, '2024-05-01T10:05:00.000Z');
    assert.equal(event.timeMs, Date.parse('2024-05-01T10:05:00Z'));
    assert.equal(event.identity.accessKeyId, 'ASIAEXAMPLEKEY000001');
  });

  it('finds each wrapper by its own keys, and never reads an event as a wrapper', () => {
    assert.equal(findWrapper({ Events: [] })?.id, 'lookup-events');
    assert.equal(findWrapper({ 'detail-type': 'x', detail: {} })?.id, 'eventbridge');
    assert.equal(findWrapper({ awslogs: { data: '' } })?.id, 'awslogs');
    assert.equal(findWrapper({ QueryResultRows: [] })?.id, 'lake-results');
    assert.equal(findWrapper({ name: 'offbox', version: '1' }), undefined);
    assert.equal(new Set(EXPORT_WRAPPERS.map((w) => w.id)).size, EXPORT_WRAPPERS.length);
    // An event that happens to carry a wrapper's key is still the event.
    const odd = parse({ ...call, detail: { x: 1 }, 'detail-type': 'AWS API Call via CloudTrail', event: 'x' });
    assert.equal(events(odd).length, 1);
    assert.equal(events(odd)[0]!.event.eventId, call['eventID']);
  });

  it('tells Lake rows from arrays of events and other single-key lists', () => {
    assert.ok(isLakeRow([{ eventJson: '{}' }]));
    assert.ok(isLakeRow([{ eventName: 'X' }, { 'userIdentity.arn': 'a' }]));
    assert.ok(!isLakeRow([call]));
    assert.ok(!isLakeRow([{ _raw: '{}' }]));
    assert.ok(!isLakeRow([]));
  });

  it('wrappers inside wrappers: HEC of an EventBridge event, Cribl of lookup-events output', () => {
    const bridged = { version: '0', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.sts', detail: call };
    assert.equal(events(parse({ time: 1, sourcetype: 'aws:cloudwatch:events', event: bridged })).length, 1);
    const lookup = { Events: [{ EventId: 'x', CloudTrailEvent: JSON.stringify(call) }] };
    assert.equal(events(parse({ _raw: JSON.stringify(lookup) })).length, 1);
  });
});

describe('export wrappers: damage is reported, never thrown', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'lookup entry whose event is not JSON',
      { EventId: 'x', CloudTrailEvent: '{"eventName":' },
      /CloudTrailEvent field is not JSON/,
    ],
    ['lookup entry whose event is a number', { EventId: 'x', CloudTrailEvent: 42 }, /not a JSON string/],
    [
      'EventBridge CloudTrail event without detail',
      { 'detail-type': 'AWS API Call via CloudTrail', detail: 'x' },
      /without a detail object/,
    ],
    ['CloudWatch Logs data without logEvents', { messageType: 'DATA_MESSAGE', logEvents: 'x' }, /without logEvents/],
    [
      'a log event whose message is not JSON',
      { id: '1', timestamp: 1, message: 'START RequestId: 1' },
      /message field is not JSON/,
    ],
    ['awslogs that are not base64 of gzip', { awslogs: { data: '!!!not base64!!!' } }, /awslogs\.data/],
    [
      'awslogs with corrupt gzip',
      { awslogs: { data: Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]).toString('base64') } },
      /corrupt/,
    ],
    [
      'a Firehose record of text',
      { recordId: '1', data: Buffer.from('hello').toString('base64') },
      /not base64 of JSON/,
    ],
    [
      'a HEC event of plain text',
      { time: 1, sourcetype: 'syslog', event: 'Accepted password for root' },
      /event field is not JSON/,
    ],
    ['a HEC event of a number', { time: 1, host: 'h', event: 3 }, /neither an object nor JSON text/],
    [
      'a Lake projection without userIdentity',
      {
        QueryResultRows: [
          [{ eventTime: '2024-05-01 10:05:00.000' }, { eventName: 'ListBuckets' }, { sourceIPAddress: '1.2.3.4' }],
        ],
      },
      /CloudTrail Lake row without userIdentity \(columns eventTime, eventName, sourceIPAddress\).*SELECT eventJson/,
    ],
    [
      "a Lake projection whose userIdentity is Lake's struct text",
      {
        QueryResultRows: [
          [{ eventName: 'ListBuckets' }, { userIdentity: '{type=AssumedRole, arn=arn:aws:sts::1:assumed-role/r/i-1}' }],
        ],
      },
      /userIdentity is Lake's \{key=value\} text/,
    ],
    [
      'a Lake AssumeRole projection without its bodies',
      {
        QueryResultRows: [
          [
            { eventName: 'AssumeRole' },
            { 'userIdentity.type': 'AWSService' },
            { requestParameters: '{rolesessionname=i-1}' },
          ],
        ],
      },
      /AssumeRole row without its request and response/,
    ],
    ['a Lake row with an empty eventJson', { QueryResultRows: [[{ eventJson: '' }]] }, /empty eventJson/],
  ];
  for (const [name, value, reason] of cases) {
    it(name, () => {
      const items = parse(value);
      assert.equal(events(items).length, 0);
      assert.equal(bad(items).length, 1, JSON.stringify(items));
      assert.match(bad(items)[0]!, reason);
      assert.ok(bad(items)[0]!.length < 300);
    });
  }

  it('a bad part does not hide the good parts of the same wrapper', () => {
    const items = parse({
      Events: [
        { EventId: 'a', CloudTrailEvent: 'oops' },
        { EventId: 'b', CloudTrailEvent: JSON.stringify(call) },
      ],
    });
    assert.equal(events(items).length, 1);
    assert.equal(bad(items).length, 1);
  });

  it('stops at absurd wrapper nesting and hostile depth inside embedded JSON', () => {
    let value: unknown = call;
    for (let i = 0; i < 10; i++) value = { time: 1, host: 'h', event: JSON.stringify(value) };
    assert.deepEqual(bad(parse(value)), ['wrapper objects nested too deeply']);
    const deep = `{"eventName":"X","a":${'['.repeat(500)}${']'.repeat(500)}}`;
    assert.match(bad(parse({ Events: [{ CloudTrailEvent: deep }] }))[0]!, /nests arrays and objects/);
  });

  it('bounds what a base64 payload may inflate to', () => {
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20)).toString('base64');
    assert.match(bad(parse({ awslogs: { data: bomb } }))[0]!, /too large/);
  });
});

describe('export wrappers: the fixtures', () => {
  const dir = fileURLToPath(new URL('../../fixtures/wrappers/', import.meta.url));
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!name.endsWith('.md')) files.push(path);
    }
  };
  walk(dir);

  it('every fixture reads as its 18 (Invictus) or 103 (OTRF) events, with nothing bad', () => {
    assert.ok(files.length >= 30);
    for (const path of files) {
      let bytes = readFileSync(path);
      if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
      const items: ParsedItem[] = [];
      for (const frame of frameBuffer(bytes)) {
        assert.equal(frame.kind, 'record', `${path}: ${frame.kind === 'bad' ? frame.reason : ''}`);
        if (frame.kind === 'record') items.push(...parseRecordBytes(frame.bytes));
      }
      assert.deepEqual(bad(items), [], path);
      const otrf = path.includes('otrf') || path.includes('-2020-09-14-');
      assert.equal(events(items).length, otrf ? 103 : 18, path);
    }
  });
});
