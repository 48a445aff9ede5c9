// Reads the body of one SQS message from the queue `offbox watch sqs://…` polls. The queue is fed by
// S3 event notifications for new CloudTrail log objects (directly, or through SNS), by CloudTrail's own
// SNS log-delivery notifications, or by EventBridge (S3 "Object Created" events, or CloudTrail events
// themselves). Anyone who can send to the queue controls the body, so nothing here throws, work is
// capped, and every excerpt of the body that ends up in a reason is short.

import { DEFAULT_MAX_NESTING_DEPTH, jsonNestingExceeds } from '../../cloudtrail/nesting.js';
import { isCloudTrailDetailType, isObject, type JsonObject } from '../../cloudtrail/wrappers.js';

/** An S3 object a queue message announces: a CloudTrail log file to fetch and read. */
export interface QueueObjectRef {
  bucket: string;
  /** The object key, already URL-decoded where the message encodes it. */
  key: string;
  /** Bytes, when the message says. */
  size?: number;
  /** When the object was written, as the message says (ISO 8601). */
  eventTime?: string;
}

/** What one queue message carries. */
export interface QueueMessageContent {
  /** S3 objects to fetch, in message order, without duplicates. */
  objects: QueueObjectRef[];
  /** CloudTrail records delivered whole (EventBridge `detail`), as parsed, not yet normalised. */
  records: Record<string, unknown>[];
  /** One short human reason per part of the message that carries nothing to read. */
  ignored: string[];
}

/** Bounds on the work one message may cause. */
export interface QueueMessageLimits {
  /** Longest body read, in UTF-16 code units; longer bodies are ignored whole. */
  maxBodyChars: number;
  /** Most objects plus records taken from one message; the rest are counted in one ignored reason. */
  maxItems: number;
  /** Most SNS envelopes unwrapped around one message. */
  maxEnvelopeDepth: number;
  /** Most ignored reasons kept; the rest are summed up in a final reason. */
  maxIgnoredReasons: number;
}

/**
 * SQS took up to 256 KiB per message until 2026 and 1 MiB since; SNS and EventBridge still
 * deliver less, so a body past 1 MiB did not come from AWS.
 */
export const DEFAULT_QUEUE_MESSAGE_LIMITS: Readonly<QueueMessageLimits> = {
  maxBodyChars: 1024 * 1024,
  maxItems: 1000,
  maxEnvelopeDepth: 3,
  maxIgnoredReasons: 100,
};

const MAX_EXCERPT = 80;
// S3's own limit on key length (in UTF-8 bytes; checked here in code units, which is never less).
const MAX_KEY_CHARS = 1024;
const MAX_BUCKET_CHARS = 255;
const MAX_TIME_CHARS = 64;

class Collector {
  readonly content: QueueMessageContent = { objects: [], records: [], ignored: [] };
  private readonly seenObjects = new Set<string>();
  private ignoredBeyondLimit = 0;
  private itemsBeyondLimit = 0;

  constructor(readonly limits: QueueMessageLimits) {}

  get full(): boolean {
    return this.content.objects.length + this.content.records.length >= this.limits.maxItems;
  }

  addObject(ref: QueueObjectRef): void {
    if (this.full) {
      this.itemsBeyondLimit++;
      return;
    }
    // Bucket names cannot hold a newline, so this joins without ambiguity.
    const id = `${ref.bucket}\n${ref.key}`;
    if (this.seenObjects.has(id)) return;
    this.seenObjects.add(id);
    this.content.objects.push(ref);
  }

  addRecord(record: JsonObject): void {
    if (this.full) {
      this.itemsBeyondLimit++;
      return;
    }
    this.content.records.push(record);
  }

  /** Counts items a message holds past the limit without looking at them. */
  skipItems(count: number): void {
    this.itemsBeyondLimit += count;
  }

  ignore(reason: string): void {
    if (this.content.ignored.length < this.limits.maxIgnoredReasons) this.content.ignored.push(reason);
    else this.ignoredBeyondLimit++;
  }

  finish(): QueueMessageContent {
    if (this.itemsBeyondLimit > 0) {
      this.content.ignored.push(
        `${this.itemsBeyondLimit} more item(s) past the limit of ${this.limits.maxItems} per message`,
      );
    }
    if (this.ignoredBeyondLimit > 0) this.content.ignored.push(`${this.ignoredBeyondLimit} more ignored part(s)`);
    return this.content;
  }
}

/**
 * Reads one SQS message body: S3 event notifications (ObjectCreated only), S3 → SNS → SQS, CloudTrail's
 * SNS log-delivery notifications, and EventBridge events (S3 "Object Created", and the CloudTrail
 * detail-types whose `detail` is a CloudTrail record). Everything else, including `s3:TestEvent`, is
 * listed in `ignored` with a short reason. Never throws.
 */
export function parseQueueMessage(body: string, limits: Partial<QueueMessageLimits> = {}): QueueMessageContent {
  const collector = new Collector({ ...DEFAULT_QUEUE_MESSAGE_LIMITS, ...limits });
  try {
    readBody(body, 0, collector);
  } catch (err) {
    // Only reachable through a bug or an engine limit (e.g. memory); a message must never stop the watch.
    collector.ignore(`could not read the message: ${excerpt(err instanceof Error ? err.message : err)}`);
  }
  return collector.finish();
}

function readBody(body: unknown, depth: number, out: Collector): void {
  const where = depth === 0 ? 'message' : 'SNS message';
  if (typeof body !== 'string') {
    out.ignore(`${where} is not text`);
    return;
  }
  if (body.length > out.limits.maxBodyChars) {
    out.ignore(`${where} too large (${body.length} characters; at most ${out.limits.maxBodyChars} are read)`);
    return;
  }
  if (body.trim() === '') {
    out.ignore(`empty ${where}`);
    return;
  }
  if (jsonNestingExceeds(body)) {
    // Parsing would succeed, but a record this deep would overflow the stack further on.
    out.ignore(`${where} nests JSON more than ${DEFAULT_MAX_NESTING_DEPTH} levels deep`);
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    out.ignore(`${where} is not JSON (starts ${quote(body)})`);
    return;
  }
  readValue(value, depth, out);
}

function readValue(value: unknown, depth: number, out: Collector): void {
  if (!isObject(value)) {
    out.ignore(`not a JSON object (${describeType(value)})`);
    return;
  }

  const snsType = field(value, 'Type');
  if (
    typeof snsType === 'string' &&
    (field(value, 'TopicArn') !== undefined || field(value, 'Message') !== undefined)
  ) {
    readSnsEnvelope(value, snsType, depth, out);
    return;
  }

  const s3Test = field(value, 'Event');
  if (s3Test === 's3:TestEvent') {
    out.ignore('s3:TestEvent');
    return;
  }

  const records = field(value, 'Records');
  if (Array.isArray(records)) {
    readS3Notification(records, out);
    return;
  }

  const detailType = field(value, 'detail-type');
  if (typeof detailType === 'string' && field(value, 'source') !== undefined) {
    readEventBridgeEvent(value, detailType, out);
    return;
  }

  if (field(value, 's3Bucket') !== undefined && field(value, 's3ObjectKey') !== undefined) {
    readCloudTrailDelivery(value, out);
    return;
  }

  out.ignore(`unrecognised message (fields ${quote(Object.keys(value).slice(0, 8).join(', '))})`);
}

function readSnsEnvelope(envelope: JsonObject, type: string, depth: number, out: Collector): void {
  if (type !== 'Notification') {
    out.ignore(
      type === 'SubscriptionConfirmation'
        ? 'SNS SubscriptionConfirmation: confirm the subscription (its SubscribeURL) to receive notifications'
        : `SNS ${quote(type)} message`,
    );
    return;
  }
  if (depth + 1 > out.limits.maxEnvelopeDepth) {
    out.ignore(`SNS envelopes nested more than ${out.limits.maxEnvelopeDepth} deep`);
    return;
  }
  const message = field(envelope, 'Message');
  if (typeof message !== 'string') {
    out.ignore('SNS notification without a Message');
    return;
  }
  readBody(message, depth + 1, out);
}

function readS3Notification(records: unknown[], out: Collector): void {
  if (records.length === 0) {
    out.ignore('S3 event notification without records');
    return;
  }
  let index = 0;
  for (; index < records.length && !out.full; index++) readS3Record(records[index], out);
  out.skipItems(records.length - index);
}

function readS3Record(record: unknown, out: Collector): void {
  if (!isObject(record)) {
    out.ignore(`S3 event record is not an object (${describeType(record)})`);
    return;
  }
  const source = field(record, 'eventSource');
  const eventName = field(record, 'eventName');
  if (source !== 'aws:s3') {
    out.ignore(`record from ${typeof source === 'string' ? quote(source) : 'an unknown source'}, not S3`);
    return;
  }
  if (typeof eventName !== 'string' || !eventName.startsWith('ObjectCreated:')) {
    out.ignore(`S3 event ${typeof eventName === 'string' ? excerpt(eventName) : 'without an eventName'}`);
    return;
  }
  const s3 = field(record, 's3');
  const bucket = isObject(s3) ? stringField(field(s3, 'bucket'), 'name') : undefined;
  const object = isObject(s3) ? field(s3, 'object') : undefined;
  const encodedKey = stringField(object, 'key');
  if (bucket === undefined || encodedKey === undefined) {
    out.ignore(`S3 event ${excerpt(eventName)} without a bucket name and object key`);
    return;
  }
  // S3 notifications URL-encode keys the form way: spaces as '+', and a literal '+' as %2B.
  let key: string;
  try {
    key = decodeURIComponent(encodedKey.replace(/\+/g, ' '));
  } catch {
    out.ignore(`S3 event with a malformed key encoding: ${quote(encodedKey)}`);
    return;
  }
  addObject(out, bucket, key, field(object, 'size'), field(record, 'eventTime'), 'S3 event');
}

function readEventBridgeEvent(event: JsonObject, detailType: string, out: Collector): void {
  const source = field(event, 'source');
  const detail = field(event, 'detail');
  const from = `EventBridge event from ${typeof source === 'string' ? excerpt(source) : '?'} ${quote(detailType)}`;

  // The same rule as the file readers (cloudtrail/wrappers.ts): "AWS API Call via CloudTrail" and its kin.
  if (isCloudTrailDetailType(detailType)) {
    if (!isObject(detail)) out.ignore(`${from} without a detail object`);
    else out.addRecord(detail);
    return;
  }
  if (source === 'aws.s3' && detailType === 'Object Created') {
    const bucket = stringField(field(detail, 'bucket'), 'name');
    const object = field(detail, 'object');
    // EventBridge carries keys as they are: no URL encoding to undo.
    const key = stringField(object, 'key');
    if (bucket === undefined || key === undefined) {
      out.ignore(`${from} without a bucket name and object key`);
      return;
    }
    addObject(out, bucket, key, field(object, 'size'), field(event, 'time'), from);
    return;
  }
  out.ignore(from);
}

function readCloudTrailDelivery(notification: JsonObject, out: Collector): void {
  const bucket = field(notification, 's3Bucket');
  const keys = field(notification, 's3ObjectKey');
  if (typeof bucket !== 'string' || !Array.isArray(keys)) {
    out.ignore('CloudTrail delivery notification without an s3Bucket name and s3ObjectKey list');
    return;
  }
  let index = 0;
  for (; index < keys.length && !out.full; index++) {
    const key = keys[index];
    if (typeof key !== 'string') out.ignore(`CloudTrail delivery notification key is not text (${describeType(key)})`);
    else addObject(out, bucket, key, undefined, undefined, 'CloudTrail delivery notification');
  }
  out.skipItems(keys.length - index);
}

function addObject(out: Collector, bucket: string, key: string, size: unknown, eventTime: unknown, from: string): void {
  if (bucket === '' || bucket.length > MAX_BUCKET_CHARS || bucket.includes('/') || /\p{Cc}/u.test(bucket)) {
    out.ignore(`${from}: not a valid bucket name: ${quote(bucket)}`);
    return;
  }
  if (key === '' || key.length > MAX_KEY_CHARS) {
    out.ignore(`${from}: not a valid object key (${key.length} characters)`);
    return;
  }
  const ref: QueueObjectRef = { bucket, key };
  const bytes = typeof size === 'string' && /^\d{1,16}$/.test(size) ? Number(size) : size;
  if (typeof bytes === 'number' && Number.isSafeInteger(bytes) && bytes >= 0) ref.size = bytes;
  if (typeof eventTime === 'string' && eventTime !== '' && eventTime.length <= MAX_TIME_CHARS) {
    ref.eventTime = eventTime;
  }
  out.addObject(ref);
}

// Own properties only: a body's "constructor" or "__proto__" must not read through to Object.prototype.
function field(value: unknown, name: string): unknown {
  return isObject(value) && Object.hasOwn(value, name) ? value[name] : undefined;
}

function stringField(value: unknown, name: string): string | undefined {
  const found = field(value, name);
  return typeof found === 'string' ? found : undefined;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** At most MAX_EXCERPT characters of an untrusted value, control characters replaced. */
function excerpt(value: unknown, max = MAX_EXCERPT): string {
  const text = typeof value === 'string' ? value : String(value);
  // Slice before splitting into code points so a huge value costs nothing extra.
  const points = Array.from(text.slice(0, max * 2 + 2));
  const cut = points.length > max || text.length > max * 2 + 2;
  return (
    points
      .slice(0, max)
      .join('')
      .replace(/\p{Cc}/gu, '?') + (cut ? '…' : '')
  );
}

function quote(value: string): string {
  return `'${excerpt(value)}'`;
}
