#!/usr/bin/env node
// Writes fixtures/wrappers/: the real events of the Invictus and OTRF datasets (the
// stolen-credential calls, their vending AssumeRole events and the on-box calls around them) in each
// export shape offbox reads, as the producer of each shape writes it. Deterministic: running it
// again writes the same bytes. The source of each shape is in fixtures/wrappers/PROVENANCE.md.
//
//   node scripts/wrapper-fixtures.mjs
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FIXTURES = join(ROOT, 'fixtures/cloudtrail');
const OUT = join(ROOT, 'fixtures/wrappers');

// ---------------------------------------------------------------------------------------------
// The events.

/** Invictus: everything signed by i-0dbc91f429e48eeed's sessions, their two vending events, and the
 * operator's own GetCallerIdentity from the same address a minute before the theft. */
function invictusEvents() {
  const dir = join(FIXTURES, 'invictus');
  const all = readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .flatMap((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')).Records);
  const instance = 'i-0dbc91f429e48eeed';
  const chosen = all.filter(
    (r) =>
      (r.eventName === 'AssumeRole' && JSON.stringify(r.requestParameters ?? {}).includes(instance)) ||
      JSON.stringify(r.userIdentity ?? {}).includes(instance) ||
      r.eventID === 'c51ec284-c59d-4e86-8dc2-a81867b807be',
  );
  return chosen.sort(byTime);
}

/** OTRF: the whole file (103 events, five vending AssumeRole events among them). */
function otrfEvents() {
  const text = readFileSync(join(FIXTURES, 'otrf/ec2_proxy_s3_exfiltration_2020-09-14011940.json'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

function timeOf(record) {
  return record.eventTime ?? record['@timestamp'];
}

function byTime(a, b) {
  const ta = timeOf(a);
  const tb = timeOf(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.eventID < b.eventID ? -1 : a.eventID > b.eventID ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Helpers.

function hex(seed, length) {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

function uuid(seed) {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function ms(record) {
  return Date.parse(timeOf(record));
}

function write(relative, content) {
  const path = join(OUT, relative);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

/** gzip with a fixed header (no time), so the bytes do not change between runs. */
function gzip(content) {
  return gzipSync(Buffer.isBuffer(content) ? content : Buffer.from(content), { level: 9 });
}

/** The `YYYY-MM-DD-HH-MM-SS` of a Firehose object name. */
function firehoseTime(record) {
  return new Date(ms(record)).toISOString().slice(0, 19).replace(/[T:]/g, '-');
}

function chunks(list, size) {
  const out = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The shapes.

/** One entry of `aws cloudtrail lookup-events` output (the CLI prints EventTime as ISO with offset). */
function lookupEntry(record) {
  const time = new Date(ms(record)).toISOString().replace('.000Z', '+00:00');
  return {
    EventId: record.eventID,
    EventName: record.eventName,
    ReadOnly: String(record.readOnly ?? false),
    ...(record.userIdentity?.accessKeyId ? { AccessKeyId: record.userIdentity.accessKeyId } : {}),
    EventTime: time,
    EventSource: record.eventSource,
    ...(record.userIdentity?.arn ? { Username: record.userIdentity.arn.split('/').pop() } : {}),
    Resources: [],
    CloudTrailEvent: JSON.stringify(record),
  };
}

const DETAIL_TYPES = {
  AwsApiCall: 'AWS API Call via CloudTrail',
  AwsServiceEvent: 'AWS Service Event via CloudTrail',
  AwsConsoleSignIn: 'AWS Console Sign In via CloudTrail',
  AwsConsoleAction: 'AWS Console Action via CloudTrail',
};

/** An EventBridge event for a CloudTrail record, as the default bus delivers it. */
function eventBridgeEvent(record) {
  return {
    version: '0',
    id: uuid(`eventbridge ${record.eventID}`),
    'detail-type': DETAIL_TYPES[record.eventType] ?? 'AWS API Call via CloudTrail',
    source: `aws.${record.eventSource.split('.')[0]}`,
    account: record.recipientAccountId ?? record.userIdentity?.accountId,
    time: new Date(ms(record)).toISOString().replace('.000Z', 'Z'),
    region: record.awsRegion,
    resources: [],
    detail: record,
  };
}

/** Another service's event on the same bus: not CloudTrail, skipped by offbox. */
function stateChangeEvent(account, region, time) {
  return {
    version: '0',
    id: uuid(`state-change ${time}`),
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account,
    time,
    region,
    resources: [`arn:aws:ec2:${region}:${account}:instance/i-0dbc91f429e48eeed`],
    detail: { 'instance-id': 'i-0dbc91f429e48eeed', state: 'running' },
  };
}

/** A CloudWatch Logs log event id: 56 decimal digits. */
function logEventId(record) {
  return BigInt(`0x${hex(`log ${record.eventID}`, 46)}`)
    .toString()
    .padStart(56, '0')
    .slice(0, 56);
}

/** A CloudWatch Logs subscription payload (decoded) for records of one trail log group. */
function subscriptionPayload(records, account, region) {
  return {
    messageType: 'DATA_MESSAGE',
    owner: account,
    logGroup: `aws-cloudtrail-logs-${account}-offbox`,
    logStream: `${account}_CloudTrail_${region}`,
    subscriptionFilters: ['offbox-trail-to-firehose'],
    logEvents: records.map((record) => ({
      id: logEventId(record),
      timestamp: ms(record),
      message: JSON.stringify(record),
    })),
  };
}

function controlMessage(account) {
  return {
    messageType: 'CONTROL_MESSAGE',
    owner: 'CloudwatchLogs',
    logGroup: '',
    logStream: '',
    subscriptionFilters: [],
    logEvents: [
      {
        id: '',
        timestamp: 1688989500000,
        message: `CWL CONTROL MESSAGE: Checking health of destination Firehose for ${account}.`,
      },
    ],
  };
}

/** A Splunk HEC event; `asString` sends the record as JSON text, as some forwarders do. */
function hecEvent(record, asString) {
  return {
    time: ms(record) / 1000,
    host: 'cloudtrail',
    source: 'aws_cloudtrail',
    sourcetype: 'aws:cloudtrail',
    index: 'aws',
    event: asString ? JSON.stringify(record) : record,
  };
}

/** `aws cloudtrail get-query-results` pages for `SELECT eventJson FROM <eds> …`. */
function lakePages(records, pageSize) {
  const pages = chunks(records, pageSize);
  return pages.map((page, i) => ({
    QueryStatus: 'FINISHED',
    QueryStatistics: { ResultsCount: page.length, TotalResultsCount: records.length, BytesScanned: 1048576 },
    QueryResultRows: page.map((record) => [{ eventJson: JSON.stringify(record) }]),
    ...(i < pages.length - 1 ? { NextToken: `${hex(`lake ${i}`, 40)}` } : {}),
  }));
}

// ---------------------------------------------------------------------------------------------

const SHAPE_FOLDERS = [
  'plain',
  'lookup-events',
  'eventbridge',
  'cloudwatch-logs',
  'cloudwatch-export',
  'splunk-hec',
  'lake',
  'firehose',
];

function writeAll() {
  // PROVENANCE.md is written by hand and stays; every shape folder is written afresh.
  for (const folder of SHAPE_FOLDERS) rmSync(join(OUT, folder), { recursive: true, force: true, maxRetries: 2 });
  const sets = {
    invictus: { records: invictusEvents(), account: '123837392027', region: 'us-east-1' },
    otrf: { records: otrfEvents(), account: '123456789123', region: 'us-east-1' },
  };
  // The plain events the wrapped files must read as (OTRF's are fixtures/cloudtrail/otrf itself).
  write('plain/invictus.json', JSON.stringify({ Records: sets.invictus.records }));

  for (const [name, { records, account, region }] of Object.entries(sets)) {
    const newestFirst = [...records].reverse();
    // lookup-events: one CLI document (the CLI joins pages), pages saved one by one, and `jq -c '.Events[]'`.
    write(`lookup-events/${name}.json`, JSON.stringify({ Events: newestFirst.map(lookupEntry) }, null, 4) + '\n');
    write(
      `lookup-events/${name}-pages.json`,
      chunks(newestFirst, 50)
        .map((page, i, all) =>
          JSON.stringify(
            {
              Events: page.map(lookupEntry),
              ...(i < all.length - 1 ? { NextToken: hex(`next ${name} ${i}`, 64) } : {}),
            },
            null,
            4,
          ),
        )
        .join('\n') + '\n',
    );
    write(
      `lookup-events/${name}-entries.jsonl`,
      newestFirst.map((r) => JSON.stringify(lookupEntry(r))).join('\n') + '\n',
    );

    // EventBridge: JSON lines, an array, and an EventBridge → Firehose → S3 object (back to back, gzip).
    const bridged = records.map(eventBridgeEvent);
    write(`eventbridge/${name}.jsonl`, bridged.map((e) => JSON.stringify(e)).join('\n') + '\n');
    write(`eventbridge/${name}-array.json`, JSON.stringify(bridged, null, 2) + '\n');
    const withOther = [stateChangeEvent(account, region, bridged[0].time), ...bridged];
    write(
      `eventbridge/firehose/offbox-bus-archive-1-${firehoseTime(records[0])}-${uuid(`firehose ${name}`)}.gz`,
      gzip(withOther.map((e) => JSON.stringify(e)).join('')),
    );

    // CloudWatch Logs: the decoded subscription payload, a Lambda awslogs event, a Firehose
    // transformation event, a Firehose → S3 object of gzip members (no Firehose compression:
    // CloudWatch Logs data is gzip already), and filter-log-events output.
    const batches = chunks(records, 40).map((batch) => subscriptionPayload(batch, account, region));
    write(`cloudwatch-logs/${name}-subscription.json`, batches.map((b) => JSON.stringify(b)).join('\n') + '\n');
    write(
      `cloudwatch-logs/${name}-awslogs.json`,
      // One invocation carries one payload: all the events, as one CloudWatch Logs batch.
      JSON.stringify(
        { awslogs: { data: gzip(JSON.stringify(subscriptionPayload(records, account, region))).toString('base64') } },
        null,
        2,
      ) + '\n',
    );
    write(
      `cloudwatch-logs/${name}-firehose-records.json`,
      JSON.stringify(
        {
          invocationId: uuid(`invocation ${name}`),
          deliveryStreamArn: `arn:aws:firehose:${region}:${account}:deliverystream/offbox-trail`,
          region,
          records: batches.map((batch, i) => ({
            recordId: hex(`record ${name} ${i}`, 56),
            approximateArrivalTimestamp: batch.logEvents[0].timestamp,
            data: gzip(JSON.stringify(batch)).toString('base64'),
          })),
        },
        null,
        2,
      ) + '\n',
    );
    const firehoseName = `offbox-trail-1-${firehoseTime(records[0])}-${uuid(`cwl firehose ${name}`)}`;
    write(
      `cloudwatch-logs/firehose/${firehoseName}`,
      Buffer.concat([gzip(JSON.stringify(controlMessage(account))), ...batches.map((b) => gzip(JSON.stringify(b)))]),
    );
    write(
      `cloudwatch-logs/${name}-filter-log-events.json`,
      JSON.stringify(
        {
          events: records.map((record) => ({
            logStreamName: `${account}_CloudTrail_${region}`,
            timestamp: ms(record),
            message: JSON.stringify(record),
            ingestionTime: ms(record) + 4000,
            eventId: logEventId(record),
          })),
          searchedLogStreams: [],
        },
        null,
        4,
      ) + '\n',
    );

    // CloudWatch Logs export to S3 (create-export-task): `<ISO time> <message>` per line, gzip.
    write(
      `cloudwatch-export/${name}/${uuid(`export ${name}`)}/${account}_CloudTrail_${region}/000000.gz`,
      gzip(records.map((r) => `${new Date(ms(r)).toISOString()} ${JSON.stringify(r)}`).join('\n') + '\n'),
    );

    // Splunk HEC: concatenated with event objects (the /services/collector batch form), and one per
    // line with the event as JSON text.
    write(`splunk-hec/${name}.json`, records.map((r) => JSON.stringify(hecEvent(r, false))).join(''));
    write(`splunk-hec/${name}-string.jsonl`, records.map((r) => JSON.stringify(hecEvent(r, true))).join('\n') + '\n');

    // CloudTrail Lake: get-query-results for SELECT eventJson, one page and pages saved back to back.
    write(`lake/${name}.json`, JSON.stringify({ ...lakePages(records, records.length)[0] }, null, 4) + '\n');
    write(
      `lake/${name}-pages.json`,
      lakePages(records, 40)
        .map((page) => JSON.stringify(page, null, 4))
        .join('\n') + '\n',
    );

    // Firehose concatenation of bare records (e.g. CloudWatch Logs with message extraction).
    write(
      `firehose/offbox-records-1-${firehoseTime(records[0])}-${uuid(`bare ${name}`)}`,
      records.map((r) => JSON.stringify(r)).join(''),
    );
  }
}

writeAll();
