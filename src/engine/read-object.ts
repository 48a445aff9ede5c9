import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { EventBuilder, looksLikeDeliveryFile, scanDeliveryFile } from '../cloudtrail/fast-records.js';
import type { CloudTrailEvent } from '../cloudtrail/event.js';
import { frameStream, type FrameLimits } from '../cloudtrail/framing.js';
import { parseRecordBytes, type ParsedItem } from '../cloudtrail/records.js';
import { OffboxError } from '../errors.js';
import type { DecodeLimits, LogObject } from '../sources/log-object.js';
import { isGzipHead, openDecoded, readError } from '../sources/log-object.js';
import { describeContent, DESCRIBE_HEAD_BYTES, EXPECTED_CLOUDTRAIL } from './input-shape.js';

/** Objects up to this size (before decompression) are read whole and decoded in one call. */
export const WHOLE_OBJECT_MAX_BYTES = 64 * 1024 * 1024;
/** Above this decoded size the streaming reader takes over, so memory stays bounded. */
const WHOLE_DECODED_MAX_BYTES = 128 * 1024 * 1024;

/** A problem with one file or one record: reported, skipped, never silent. */
export interface InputWarning {
  file: string;
  /** 0-based position of the record in the file, when the problem is one record. */
  recordIndex?: number;
  reason: string;
}

/** What reading one object produced, besides its events. */
export interface ObjectReadStats {
  /** Decoded bytes. */
  bytes: number;
  /** Records framed (a wrapper that expands into many events counts once). */
  records: number;
  badRecords: number;
  /**
   * The file was unreadable, held no CloudTrail events though it had records, or most of its records
   * were rejected; one warning says which and what the file looks like.
   */
  badFile: boolean;
  /** Records read by the byte-level fast path (the rest were JSON.parsed). */
  fastRecords: number;
  /** Events read from the file. */
  events?: number;
  /** Well-formed parts of an export that are not CloudTrail events (control messages, other services' events). */
  skippedRecords?: number;
  /** Nothing to read: no bytes, only whitespace, a digest file, or an export with no records. */
  emptyFile?: boolean;
  /** When the file gave no events: what it looks like ("Markdown/text", "an empty file"), or why it was unreadable. */
  shape?: string;
  /** The file could not be read to its end (`shape` holds the error). */
  unreadable?: boolean;
}

/** Stats of an object that has not been read (yet). */
export function emptyObjectStats(): ObjectReadStats {
  return { bytes: 0, records: 0, badRecords: 0, badFile: false, fastRecords: 0, events: 0, skippedRecords: 0 };
}

export interface ObjectReadOptions {
  limits: FrameLimits & DecodeLimits;
  /** Rethrow a file's read error instead of reporting it (strict mode). */
  strict?: boolean;
  warn: (warning: InputWarning) => void;
  addEvent: (event: CloudTrailEvent) => void;
  /** Called now and then inside a large file with the events added since the last call. */
  onEvents?: (events: number, bytes: number) => void;
  /** Turn the byte-level fast path off (the differential tests compare both). */
  fastPath?: boolean;
}

/**
 * Reads one log object into `addEvent`: delivery files through the byte-level fast path when
 * they are small enough to hold, everything else (and anything the fast path steps aside for)
 * through the streaming framer and JSON.parse. Both give the same events and warnings.
 */
export async function readObject(object: LogObject, options: ObjectReadOptions): Promise<ObjectReadStats> {
  const stats = emptyObjectStats();
  const counting: ObjectReadOptions = {
    ...options,
    addEvent: (event) => {
      stats.events = (stats.events ?? 0) + 1;
      options.addEvent(event);
    },
  };
  const head: Buffer[] = [];
  await readContent(object, counting, stats, head);
  judgeFile(object.name, Buffer.concat(head), stats, options);
  return stats;
}

/**
 * Never silent: a file that had records but gave no event, or whose records were mostly rejected,
 * is a bad file with one warning saying what it looks like and what offbox reads. Empty files,
 * digests and exports with no records are not: they hold nothing to read.
 */
function judgeFile(name: string, head: Buffer, stats: ObjectReadStats, options: ObjectReadOptions): void {
  if (stats.badFile) return;
  const kept = (stats.events ?? 0) + (stats.skippedRecords ?? 0);
  if (stats.records === 0) {
    stats.emptyFile = true;
    const shape = describeContent(head);
    stats.shape = shape === 'an empty file' ? shape : `${shape} with no records`;
    return;
  }
  if (kept === 0) {
    stats.badFile = true;
    stats.shape = describeContent(head);
    options.warn({
      file: name,
      reason: `no CloudTrail events: this looks like ${stats.shape}; expected ${EXPECTED_CLOUDTRAIL}`,
    });
  } else if (stats.badRecords > kept) {
    stats.badFile = true;
    options.warn({
      file: name,
      reason:
        `most records are not CloudTrail events (${stats.badRecords} of ${stats.badRecords + kept} rejected): ` +
        `this looks like ${describeContent(head)}; expected ${EXPECTED_CLOUDTRAIL}`,
    });
  }
}

async function readContent(
  object: LogObject,
  options: ObjectReadOptions,
  stats: ObjectReadStats,
  head: Buffer[],
): Promise<ObjectReadStats> {
  let decoded: AsyncIterable<Buffer>;
  if (object.size !== undefined && object.size <= WHOLE_OBJECT_MAX_BYTES) {
    let raw: Buffer;
    try {
      raw = await readRaw(object);
    } catch (error) {
      return failed(object, readError(object.name, error), stats, options);
    }
    const whole = decodeWhole(raw, Math.min(options.limits.maxDecodedBytes, WHOLE_DECODED_MAX_BYTES));
    if (whole !== undefined) head.push(Buffer.from(whole.subarray(0, DESCRIBE_HEAD_BYTES)));
    if (whole !== undefined && options.fastPath !== false && looksLikeDeliveryFile(whole)) {
      if (readDelivery(object.name, whole, options, stats)) return stats;
    }
    // Damaged or large content goes through the streaming decoder, which reports it precisely.
    decoded =
      whole !== undefined
        ? Readable.from([whole])
        : openDecoded({ ...object, open: async () => Readable.from([raw]) }, options.limits);
  } else {
    decoded = openDecoded(object, options.limits);
  }
  return readFramed(object, decoded, options, stats, head);
}

/** The object's raw (possibly gzipped) bytes, whole. */
export async function readRaw(object: LogObject): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await object.open()) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** The decoded bytes, or undefined when they are damaged or too large to hold (the streaming reader says why). */
function decodeWhole(raw: Buffer, maxBytes: number): Buffer | undefined {
  if (isGzipHead(raw)) {
    try {
      const once = gunzipSync(raw, { maxOutputLength: maxBytes, chunkSize: 1024 * 1024 });
      // Gzip inside gzip (Firehose compressing CloudWatch Logs records), as the streaming decoder reads it.
      return isGzipHead(once) ? gunzipSync(once, { maxOutputLength: maxBytes, chunkSize: 1024 * 1024 }) : once;
    } catch {
      return undefined;
    }
  }
  return raw.length <= maxBytes ? raw : undefined;
}

/**
 * The fast path over a whole delivery file. Nothing reaches `addEvent` until the file has been
 * read to its end: if the fast path steps aside, the framer reads the file from the start.
 */
function readDelivery(name: string, bytes: Buffer, options: ObjectReadOptions, stats: ObjectReadStats): boolean {
  const builder = new EventBuilder();
  const staged: (CloudTrailEvent | { index: number; items: ParsedItem[] })[] = [];
  let fast = 0;
  const count = scanDeliveryFile(
    bytes,
    (fields, _buffer, start, end, index) => {
      const event = builder.build(fields, bytes);
      if (event !== undefined) {
        staged.push(event);
        fast += 1;
      } else {
        staged.push({ index, items: parseRecordBytes(bytes.subarray(start, end)) });
      }
    },
    options.limits.maxRecordBytes,
    options.limits.maxNestingDepth,
  );
  if (count === undefined) return false;
  stats.bytes += bytes.length;
  stats.records += count;
  stats.fastRecords += fast;
  for (const entry of staged) {
    if ('eventId' in entry) {
      options.addEvent(entry);
      continue;
    }
    for (const item of entry.items) {
      if ('bad' in item) {
        stats.badRecords += 1;
        options.warn({ file: name, recordIndex: entry.index, reason: item.bad });
      } else if ('skipped' in item) {
        stats.skippedRecords = (stats.skippedRecords ?? 0) + 1;
      } else {
        options.addEvent(item.event);
      }
    }
  }
  options.onEvents?.(staged.length, bytes.length);
  return true;
}

async function readFramed(
  object: LogObject,
  decoded: AsyncIterable<Buffer>,
  options: ObjectReadOptions,
  stats: ObjectReadStats,
  head: Buffer[],
): Promise<ObjectReadStats> {
  let itemsInFile = 0;
  let eventsSinceReport = 0;
  let bytesSinceReport = 0;
  // The start of the file, kept to describe it if it holds nothing readable (unless read whole before).
  let headBytes = head.length > 0 ? DESCRIBE_HEAD_BYTES : 0;
  try {
    const counted = countBytes(decoded, (chunk) => {
      stats.bytes += chunk.length;
      bytesSinceReport += chunk.length;
      if (headBytes < DESCRIBE_HEAD_BYTES) {
        const part = Buffer.from(chunk.subarray(0, DESCRIBE_HEAD_BYTES - headBytes));
        head.push(part);
        headBytes += part.length;
      }
    });
    const frames = frameStream(counted, options.limits);
    for (;;) {
      const next = await frames.next();
      if (next.done) {
        // Framing already reported unframeable content as a bad record; one warning per problem.
        if (next.value.layout === 'unknown' && itemsInFile === 0) {
          stats.shape = describeContent(Buffer.concat(head));
          options.warn({
            file: object.name,
            reason: `not CloudTrail JSON: this looks like ${stats.shape}; expected ${EXPECTED_CLOUDTRAIL}`,
          });
          stats.badFile = true;
        }
        break;
      }
      const item = next.value;
      itemsInFile += 1;
      stats.records += 1;
      if (item.kind === 'bad') {
        stats.badRecords += 1;
        options.warn({ file: object.name, recordIndex: item.index, reason: item.reason });
        continue;
      }
      for (const parsed of parseRecordBytes(item.bytes)) {
        if ('bad' in parsed) {
          stats.badRecords += 1;
          options.warn({ file: object.name, recordIndex: item.index, reason: parsed.bad });
          continue;
        }
        if ('skipped' in parsed) {
          stats.skippedRecords = (stats.skippedRecords ?? 0) + 1;
          continue;
        }
        options.addEvent(parsed.event);
        eventsSinceReport += 1;
      }
      if (options.onEvents && eventsSinceReport >= 20000) {
        options.onEvents(eventsSinceReport, bytesSinceReport);
        eventsSinceReport = 0;
        bytesSinceReport = 0;
      }
    }
  } catch (error) {
    // One unreadable object (truncated gzip, access denied on one key) must not end the scan.
    if (!(error instanceof OffboxError) || options.strict) throw error;
    return failed(object, error, stats, options);
  }
  if (options.onEvents && (eventsSinceReport > 0 || bytesSinceReport > 0))
    options.onEvents(eventsSinceReport, bytesSinceReport);
  return stats;
}

function failed(object: LogObject, error: OffboxError, stats: ObjectReadStats, options: ObjectReadOptions) {
  if (options.strict) throw error;
  stats.badFile = true;
  stats.shape = error.message;
  stats.unreadable = true;
  options.warn({ file: object.name, reason: error.message });
  return stats;
}

async function* countBytes(stream: AsyncIterable<Buffer>, add: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    add(chunk);
    yield chunk;
  }
}
