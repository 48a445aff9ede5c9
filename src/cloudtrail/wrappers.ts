/**
 * The wrappers that exports and delivery paths put around CloudTrail events, one plain object per
 * shape a responder actually has. `records.ts` asks each wrapper, in order, whether a parsed value
 * that is not itself an event is one of them, and expands what the wrapper holds (events, or more
 * wrappers) the same way. Where each shape comes from is in docs/inputs.md and in
 * fixtures/wrappers/PROVENANCE.md.
 *
 * Everything here reads untrusted text: nothing throws, decoded sizes are bounded, and reasons
 * quote at most a short excerpt of a field.
 */
import { gunzipSync } from 'node:zlib';
import { FULL_PARSE_EVENT_NAMES } from './fast-records.js';

export type JsonObject = Record<string, unknown>;

/** What a wrapper holds, item by item. */
export type Unwrapped =
  /** A parsed value: an event, or another wrapper. */
  | { value: unknown }
  /**
   * Text that should hold JSON: one value, or (`many`) several concatenated or one per line, as a
   * decoded Firehose record or CloudWatch Logs payload may. `field` names it in reasons.
   */
  | { json: string; field: string; many?: boolean }
  /** A part that should have held an event and cannot be read. */
  | { bad: string }
  /** A well-formed part that is not a CloudTrail event (a control message, another service's event). */
  | { skipped: string };

/** A wrapper around CloudTrail events: how to tell it, and what it holds. */
export interface ExportWrapper {
  /** Stable name, as docs/inputs.md lists it. */
  readonly id: string;
  /** What a responder calls it. */
  readonly title: string;
  /** True when a parsed JSON object that is not itself an event is this wrapper. */
  recognise(record: JsonObject): boolean;
  /** What the wrapper holds, in order. */
  open(record: JsonObject): Iterable<Unwrapped>;
}

/** A Firehose record or `awslogs.data` decodes to far less: CloudWatch Logs batches are at most about 1 MB. */
export const MAX_INFLATED_PAYLOAD_BYTES = 8 * 1024 * 1024;
const MAX_EXCERPT = 60;

/** A JSON object: not null, not an array. */
export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** At most MAX_EXCERPT characters of an untrusted value, control characters replaced. */
export function excerpt(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  const cut = text.length > MAX_EXCERPT;
  return text.slice(0, MAX_EXCERPT).replace(/\p{Cc}/gu, '?') + (cut ? '…' : '');
}

/** EventBridge detail-types whose `detail` is a CloudTrail record ("AWS API Call via CloudTrail" and its kin). */
export function isCloudTrailDetailType(detailType: string): boolean {
  return detailType.endsWith(' via CloudTrail');
}

/**
 * Base64 text as a Firehose record or a Lambda `awslogs.data` field carries it: gzip (CloudWatch
 * Logs compresses every subscription payload) or plain JSON text.
 */
function decodeBase64Payload(data: string, field: string): Unwrapped {
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length === 0) return { bad: `${field} is empty or not base64` };
  let text: Buffer = bytes;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      text = gunzipSync(bytes, { maxOutputLength: MAX_INFLATED_PAYLOAD_BYTES });
    } catch (error) {
      const reason = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? 'too large' : 'corrupt';
      return {
        bad: `${field} holds gzip data that is ${reason} (at most ${MAX_INFLATED_PAYLOAD_BYTES >> 20} MiB are read)`,
      };
    }
  }
  let start = 0;
  while (start < text.length && (text[start] === 0x20 || text[start] === 0x0a || text[start] === 0x0d)) start++;
  if (text[start] !== 0x7b /* { */ && text[start] !== 0x5b /* [ */) {
    return { bad: `${field} is not base64 of JSON or of gzipped JSON` };
  }
  return { json: text.toString('utf8'), field, many: true };
}

/** `aws cloudtrail lookup-events` output: `{"Events":[…],"NextToken"?}` (the CLI joins every page into one). */
export const lookupEventsOutput: ExportWrapper = {
  id: 'lookup-events',
  title: 'aws cloudtrail lookup-events output',
  recognise: (record) => Array.isArray(record['Events']),
  *open(record) {
    for (const entry of record['Events'] as unknown[]) yield { value: entry };
  },
};

/** One entry of lookup-events output: the event is the `CloudTrailEvent` string. */
export const lookupEventsEntry: ExportWrapper = {
  id: 'lookup-events-entry',
  title: 'a lookup-events entry',
  recognise: (record) => 'CloudTrailEvent' in record,
  *open(record) {
    const event = record['CloudTrailEvent'];
    if (typeof event === 'string') yield { json: event, field: 'CloudTrailEvent' };
    else if (isObject(event)) yield { value: event };
    else yield { bad: 'lookup-events entry whose CloudTrailEvent is not a JSON string' };
  },
};

/**
 * An EventBridge event. "AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail", "AWS
 * Service Event via CloudTrail" … carry the CloudTrail record as `detail`; other detail-types (a bus
 * archived whole) are another service's events, skipped and counted.
 */
export const eventBridgeEvent: ExportWrapper = {
  id: 'eventbridge',
  title: 'EventBridge events',
  recognise: (record) => typeof record['detail-type'] === 'string' && 'detail' in record,
  *open(record) {
    const detailType = record['detail-type'] as string;
    const detail = record['detail'];
    if (!isCloudTrailDetailType(detailType)) {
      yield { skipped: `EventBridge event ${JSON.stringify(excerpt(detailType))}, not from CloudTrail` };
    } else if (isObject(detail)) {
      yield { value: detail };
    } else {
      yield { bad: `EventBridge event ${JSON.stringify(excerpt(detailType))} without a detail object` };
    }
  },
};

/**
 * A CloudWatch Logs subscription payload (decoded): `{"messageType":"DATA_MESSAGE", "logGroup", …,
 * "logEvents":[{"id","timestamp","message"}]}`. CONTROL_MESSAGE payloads test the destination.
 */
export const cloudWatchLogsPayload: ExportWrapper = {
  id: 'cloudwatch-logs-subscription',
  title: 'a CloudWatch Logs subscription payload',
  recognise: (record) =>
    Array.isArray(record['logEvents']) ||
    record['messageType'] === 'DATA_MESSAGE' ||
    record['messageType'] === 'CONTROL_MESSAGE',
  *open(record) {
    if (record['messageType'] === 'CONTROL_MESSAGE') {
      yield { skipped: 'CloudWatch Logs control message' };
      return;
    }
    const logEvents = record['logEvents'];
    if (!Array.isArray(logEvents)) {
      yield { bad: 'CloudWatch Logs DATA_MESSAGE without logEvents' };
      return;
    }
    for (const logEvent of logEvents) yield { value: logEvent };
  },
};

/** `aws logs filter-log-events` / `get-log-events` output: `{"events":[{"timestamp","message",…}],…}`. */
export const cloudWatchLogsEventsOutput: ExportWrapper = {
  id: 'cloudwatch-logs-events',
  title: 'aws logs filter-log-events / get-log-events output',
  recognise: (record) => Array.isArray(record['events']),
  *open(record) {
    for (const logEvent of record['events'] as unknown[]) yield { value: logEvent };
  },
};

/** One CloudWatch Logs event: the CloudTrail record is its `message` text. */
export const cloudWatchLogsEvent: ExportWrapper = {
  id: 'cloudwatch-logs-event',
  title: 'a CloudWatch Logs event',
  recognise: (record) =>
    typeof record['message'] === 'string' &&
    ('timestamp' in record || 'ingestionTime' in record || 'id' in record || 'eventId' in record),
  *open(record) {
    const message = record['message'] as string;
    // CloudWatch Logs writes one into a new subscription's destination to test it.
    if (message.startsWith('CWL CONTROL MESSAGE')) yield { skipped: 'CloudWatch Logs control message' };
    else yield { json: message, field: 'message' };
  },
};

/** A Lambda invocation from a CloudWatch Logs subscription: `{"awslogs":{"data":"<base64 of gzip>"}}`. */
export const lambdaAwslogsEvent: ExportWrapper = {
  id: 'awslogs',
  title: 'a Lambda CloudWatch Logs event (awslogs.data)',
  recognise: (record) => isObject(record['awslogs']),
  *open(record) {
    const data = (record['awslogs'] as JsonObject)['data'];
    if (typeof data !== 'string') yield { bad: 'awslogs without a data string' };
    else yield decodeBase64Payload(data, 'awslogs.data');
  },
};

/** A Firehose transformation event (`{"records":[{"recordId","data"}]}`), as a Lambda receives it. */
export const firehoseRecords: ExportWrapper = {
  id: 'firehose-records',
  title: 'Firehose records',
  recognise: (record) => Array.isArray(record['records']),
  *open(record) {
    for (const item of record['records'] as unknown[]) yield { value: item };
  },
};

/** One Firehose record: `data` is base64 of the payload (gzip for CloudWatch Logs sources). */
export const firehoseRecord: ExportWrapper = {
  id: 'firehose-record',
  title: 'a Firehose record',
  recognise: (record) => typeof record['data'] === 'string' && 'recordId' in record,
  *open(record) {
    yield decodeBase64Payload(record['data'] as string, 'Firehose record data');
  },
};

const SPLUNK_HEC_KEYS = ['time', 'host', 'source', 'sourcetype', 'index', 'fields'];

/** A Splunk HTTP Event Collector event: `{"time","host","source","sourcetype","event":{…} or "<JSON>"}`. */
export const splunkHecEvent: ExportWrapper = {
  id: 'splunk-hec',
  title: 'Splunk HEC events',
  recognise: (record) => 'event' in record && SPLUNK_HEC_KEYS.some((key) => key in record),
  *open(record) {
    const event = record['event'];
    if (typeof event === 'string') yield { json: event, field: 'event' };
    else if (isObject(event) || Array.isArray(event)) yield { value: event };
    else yield { bad: 'Splunk HEC event whose event is neither an object nor JSON text' };
  },
};

/** `aws cloudtrail get-query-results` output: `{"QueryStatus",…,"QueryResultRows":[[{"eventJson":"…"}],…]}`. */
export const lakeQueryResults: ExportWrapper = {
  id: 'lake-results',
  title: 'CloudTrail Lake query results',
  recognise: (record) => Array.isArray(record['QueryResultRows']),
  *open(record) {
    for (const row of record['QueryResultRows'] as unknown[]) yield { value: row };
  },
};

/** Every object wrapper, in the order they are asked. */
export const EXPORT_WRAPPERS: readonly ExportWrapper[] = [
  lookupEventsOutput,
  lookupEventsEntry,
  eventBridgeEvent,
  cloudWatchLogsPayload,
  cloudWatchLogsEventsOutput,
  cloudWatchLogsEvent,
  lambdaAwslogsEvent,
  firehoseRecords,
  firehoseRecord,
  splunkHecEvent,
  lakeQueryResults,
];

/** The first wrapper that recognises `record`, if any. */
export function findWrapper(record: JsonObject): ExportWrapper | undefined {
  for (const wrapper of EXPORT_WRAPPERS) if (wrapper.recognise(record)) return wrapper;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// CloudTrail Lake rows. A row is a list of single-column objects, `[{"eventJson":"…"}]` for
// `SELECT eventJson`; other SELECTs return a projection whose struct and map columns come back as
// Lake's `{key=value, …}` text, not JSON.

/** Top-level CloudTrail record fields, and the userIdentity fields offbox reads, by lower-case name. */
const CANONICAL_FIELDS: ReadonlyMap<string, string> = new Map(
  [
    'eventVersion',
    'userIdentity',
    'eventTime',
    'eventSource',
    'eventName',
    'awsRegion',
    'sourceIPAddress',
    'userAgent',
    'errorCode',
    'errorMessage',
    'requestParameters',
    'responseElements',
    'additionalEventData',
    'requestID',
    'eventID',
    'readOnly',
    'resources',
    'eventType',
    'apiVersion',
    'managementEvent',
    'recipientAccountId',
    'sharedEventID',
    'vpcEndpointId',
    'vpcEndpointAccountId',
    'eventCategory',
    'tlsDetails',
    'sessionCredentialFromConsole',
    'type',
    'principalId',
    'arn',
    'accountId',
    'accessKeyId',
    'userName',
    'invokedBy',
    'sessionContext',
    'sessionIssuer',
    'attributes',
    'creationDate',
    'ec2RoleDelivery',
    'sourceIdentity',
    'webIdFederationData',
    'federatedProvider',
    'inScopeOf',
    'issuerType',
    'credentialsIssuedTo',
  ].map((name) => [name.toLowerCase(), name]),
);
const TOP_LEVEL_COLUMNS = new Set(
  [...CANONICAL_FIELDS.keys()].slice(0, [...CANONICAL_FIELDS.keys()].indexOf('type')).concat('eventjson'),
);

function columnOf(cell: unknown): [string, unknown] | undefined {
  if (!isObject(cell)) return undefined;
  const keys = Object.keys(cell);
  if (keys.length !== 1) return undefined;
  const value = cell[keys[0]!];
  if (value !== null && typeof value === 'object') return undefined;
  return [keys[0]!, value];
}

/**
 * True for a CloudTrail Lake result row: a list of single-column objects, at least one of them a
 * Lake column (`eventJson`, a record field such as `eventName`, or `userIdentity.arn`).
 */
export function isLakeRow(value: unknown[]): boolean {
  if (value.length === 0 || value.length > 200) return false;
  let lakeColumn = false;
  for (const cell of value) {
    const column = columnOf(cell);
    if (column === undefined) return false;
    const name = column[0].toLowerCase();
    if (TOP_LEVEL_COLUMNS.has(name) || name.startsWith('useridentity.')) lakeColumn = true;
  }
  return lakeColumn;
}

/** Lake writes timestamps as `2023-07-10 11:57:22.000` (UTC); events carry ISO-8601. */
function lakeTime(value: string): string {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)$/.exec(value);
  return match ? `${match[1]}T${match[2]}Z` : value;
}

function setPath(target: JsonObject, path: readonly string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (!isObject(next)) node[segment] = {};
    node = node[segment] as JsonObject;
  }
  node[path.at(-1)!] = value;
}

/** A column value that is JSON text of an object or array, parsed; anything else as it is. */
function columnValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trimStart();
  if (!text.startsWith('{"') && !text.startsWith('[')) return value;
  try {
    return JSON.parse(text);
  } catch {
    return value;
  }
}

/** One CloudTrail Lake result row: `eventJson`, or a projection that carries what offbox needs. */
export const lakeRow = {
  id: 'lake-row',
  title: 'a CloudTrail Lake result row',
  *open(row: unknown[]): Iterable<Unwrapped> {
    const columns = row.map((cell) => columnOf(cell)!);
    const eventJson = columns.find(([name]) => name.toLowerCase() === 'eventjson');
    if (eventJson !== undefined) {
      if (typeof eventJson[1] === 'string' && eventJson[1] !== '') yield { json: eventJson[1], field: 'eventJson' };
      else yield { bad: 'CloudTrail Lake row with an empty eventJson' };
      return;
    }
    const record: JsonObject = {};
    for (const [name, value] of columns) {
      if (name.length > 200) continue;
      const path = name.split('.').map((segment) => CANONICAL_FIELDS.get(segment.toLowerCase()) ?? segment);
      if (path.some((segment) => segment === '__proto__' || segment === 'constructor' || segment === 'prototype'))
        continue;
      setPath(
        record,
        path,
        path.length === 1 && path[0] === 'eventTime' ? lakeTime(String(value)) : columnValue(value),
      );
    }
    const shown = columns
      .slice(0, 4)
      .map(([name]) => excerpt(name).slice(0, 24))
      .join(', ');
    const advice = 'SELECT eventJson to read whole events';
    const identity = record['userIdentity'];
    if (typeof identity === 'string') {
      yield { bad: `CloudTrail Lake row whose userIdentity is Lake's {key=value} text (columns ${shown}): ${advice}` };
      return;
    }
    const who = isObject(identity) ? identity : undefined;
    if (!who || !['arn', 'accessKeyId', 'principalId', 'type'].some((key) => typeof who[key] === 'string')) {
      yield {
        bad: `CloudTrail Lake row without userIdentity (columns ${shown}): who made the call is unknown; ${advice}`,
      };
      return;
    }
    const eventName = record['eventName'];
    if (
      typeof eventName === 'string' &&
      FULL_PARSE_EVENT_NAMES.has(eventName) &&
      !(isObject(record['requestParameters']) && isObject(record['responseElements']))
    ) {
      yield { bad: `CloudTrail Lake ${eventName} row without its request and response as JSON: ${advice}` };
      return;
    }
    yield { value: record };
  },
};
