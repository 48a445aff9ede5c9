/**
 * Writes CloudTrail S3 delivery files the way CloudTrail does: per account and region, one
 * or more `{"Records":[…]}` files per 5-minute delivery window, each event in the file of
 * its *delivery* time (event time + 2–15 min, ~2% late by 30–120 min), so files interleave
 * and a key's vending event can arrive after its first use. Also writes hourly digest files.
 *
 * Files are streamed: each is a single gzip member built from independently deflated
 * chunks (sync-flushed raw deflate blocks, compressed on the libuv pool), so memory holds
 * only the open files' last partial chunk, whatever the number of events.
 *
 * An account's trail can instead be written in one of the export shapes a responder also has
 * (`shapes`): a CloudWatch Logs export to S3 (`<ISO time> <record>` lines, `exportedlogs/…/000000.gz`)
 * or EventBridge events archived by Firehose (events back to back, `firehose/…/<stream>-1-<time>-<uuid>.gz`).
 * Those accounts get no digest files: neither path writes any.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw, deflateRawSync } from 'node:zlib';
import type { Rng } from './prng.js';
import { serialise, type EventSpec } from './record.js';
import { HOUR, MINUTE, datePath, fileStamp, fileStampSeconds, isoSeconds } from './time.js';

const deflateRawAsync = promisify(deflateRaw) as (buf: Buffer, options: object) => Promise<Buffer>;

export const WINDOW = 5 * MINUTE;
/** Longest delivery delay: bounds how long a window's files stay open. */
export const MAX_DELAY = 120 * MINUTE + WINDOW;
const CHUNK = 128 * 1024;
const MIN_CHUNK = 32 * 1024;
/** Text waiting in open files, all files together. */
const MAX_PENDING = 8 * 1024 * 1024;
const MAX_IN_FLIGHT = 8 * 1024 * 1024;
// gzip header: magic, deflate, no flags, mtime 0 (reproducible), no extra flags, OS = Unix.
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);

/**
 * gzip with a fixed header (mtime 0, OS = Unix): zlib's own header names the build platform,
 * which would make output differ between operating systems.
 */
export function gzipReproducible(data: string | Buffer, level: number): Buffer {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(buf) >>> 0, 0);
  trailer.writeUInt32LE(buf.length % 2 ** 32, 4);
  return Buffer.concat([GZIP_HEADER, deflateRawSync(buf, { level }), trailer]);
}

/** How an account's trail reaches S3: CloudTrail's own delivery, or an export shape (docs/inputs.md). */
export type TrailShape = 'delivery' | 'cloudwatch-export' | 'eventbridge-firehose';

const DETAIL_TYPES: Readonly<Record<string, string>> = {
  AwsApiCall: 'AWS API Call via CloudTrail',
  AwsServiceEvent: 'AWS Service Event via CloudTrail',
  AwsConsoleSignIn: 'AWS Console Sign In via CloudTrail',
  AwsConsoleAction: 'AWS Console Action via CloudTrail',
};

interface LogFile {
  shape: TrailShape;
  account: string;
  region: string;
  window: number;
  key: string;
  path: string;
  /** Serialised records not yet compressed (bytes [0, pendingLength) of `pending`). */
  pending: Buffer;
  pendingLength: number;
  first: boolean;
  crc: number;
  size: number;
  hash: Hash;
  records: number;
  oldest: number;
  newest: number;
  chain: Promise<unknown>;
  handle?: FileHandle;
}

interface DigestEntry {
  s3Object: string;
  hashValue: string;
  oldest: number;
  newest: number;
}

export interface CloudTrailWriterOptions {
  /** Folder that receives AWSLogs/… */
  root: string;
  start: number;
  /** Every (account, region) pair that has a trail: digests are written for each, even when empty. */
  trails: { account: string; region: string }[];
  bucket: string;
  trailName: string;
  rng: Rng;
  level: number;
  /** Files per account, region and window for on-time events (late ones go to the first). */
  parts: number;
  /** Accounts whose trail is written in an export shape instead of delivery files (default: none). */
  shapes?: Readonly<Record<string, TrailShape>>;
}

export class CloudTrailWriter {
  events = 0;
  files = 0;
  digests = 0;
  private readonly open = new Map<string, LogFile>();
  private readonly pendingDigest = new Map<string, DigestEntry[]>();
  private readonly previousDigest = new Map<string, { object: string; hash: string; signature: string }>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private inFlightBytes = 0;
  private pendingBytes = 0;
  private readonly waiters: (() => void)[] = [];
  private nextDigestHour: number;
  private readonly idRng: Rng;
  private readonly delayRng: Rng;
  /** Envelope ids of export shapes: their own stream, so a shaped trail holds the same event ids as a delivered one. */
  private readonly envelopeRng: Rng;
  private failure: unknown;
  /** Export objects written so far per account and region (CloudWatch Logs numbers them 000000, 000001 …). */
  private readonly exportCounters = new Map<string, number>();

  constructor(private readonly o: CloudTrailWriterOptions) {
    this.idRng = o.rng.fork('event-ids');
    this.delayRng = o.rng.fork('delivery');
    this.envelopeRng = o.rng.fork('envelope-ids');
    this.nextDigestHour = Math.floor(o.start / HOUR) * HOUR;
  }

  /** Window index (relative to start) of an absolute time. */
  windowOf(time: number): number {
    return Math.floor((time - this.o.start) / WINDOW);
  }

  add(spec: EventSpec): void {
    const json = serialise(spec, this.idRng);
    const r = this.delayRng;
    const late = r.chance(0.02);
    // Mostly a few minutes (squared uniform: a long tail towards 15), sometimes hours.
    const delay = late ? r.between(30, 120) * MINUTE : (2 + 13 * r.float() ** 2) * MINUTE;
    const window = this.windowOf(spec.time + delay);
    const part = late || this.o.parts === 1 ? 0 : r.int(this.o.parts);
    const key = `${spec.account}|${spec.region}|${window}|${part}`;
    let file = this.open.get(key);
    if (!file) {
      file = this.create(spec.account, spec.region, window, key, this.o.shapes?.[spec.account] ?? 'delivery');
      this.open.set(key, file);
      if (file.shape === 'delivery') this.append(file, '{"Records":[');
    }
    if (file.shape === 'delivery') {
      if (!file.first) this.append(file, ',');
      this.append(file, json);
    } else {
      this.append(file, this.exported(file.shape, spec, json));
    }
    file.first = false;
    file.records++;
    if (spec.time < file.oldest) file.oldest = spec.time;
    if (spec.time > file.newest) file.newest = spec.time;
    this.events++;
    if (file.pendingLength >= CHUNK) this.flushChunk(file, false);
    else if (this.pendingBytes > MAX_PENDING) this.flushLargest();
  }

  /** One record in an export shape: a CloudWatch Logs export line, or an EventBridge event as Firehose concatenates them. */
  private exported(shape: TrailShape, spec: EventSpec, json: string): string {
    if (shape === 'cloudwatch-export') return `${new Date(spec.time).toISOString()} ${json}\n`;
    const detailType = DETAIL_TYPES[spec.eventType ?? 'AwsApiCall'] ?? DETAIL_TYPES['AwsApiCall'];
    const service = spec.source.split('.')[0];
    return (
      `{"version":"0","id":"${this.envelopeRng.uuid()}","detail-type":"${detailType}","source":"aws.${service}",` +
      `"account":"${spec.account}","time":"${isoSeconds(spec.time)}","region":"${spec.region}","resources":[],"detail":${json}}`
    );
  }

  /** Appends text to a file's pending bytes (writing into a buffer avoids building and flattening long strings). */
  private append(file: LogFile, text: string): void {
    const need = file.pendingLength + text.length * 3;
    if (need > file.pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, file.pending.length * 2));
      file.pending.copy(grown, 0, 0, file.pendingLength);
      file.pending = grown;
    }
    const written = file.pending.write(text, file.pendingLength, 'utf8');
    file.pendingLength += written;
    this.pendingBytes += written;
  }

  /** Keeps the text waiting in open files bounded, whatever the event rate: flushes the fullest files. */
  private flushLargest(): void {
    const files = [...this.open.values()].filter((f) => f.pendingLength >= MIN_CHUNK);
    files.sort((a, b) => b.pendingLength - a.pendingLength);
    for (const file of files) {
      if (this.pendingBytes <= MAX_PENDING / 2) break;
      this.flushChunk(file, false);
    }
  }

  private create(account: string, region: string, window: number, key: string, shape: TrailShape): LogFile {
    const delivered = this.o.start + (window + 1) * WINDOW;
    const [y, m, d] = datePath(delivered);
    const fileRng = this.o.rng.fork(`file:${key}`);
    let path: string;
    if (shape === 'cloudwatch-export') {
      // create-export-task: <prefix>/<task id>/<log stream>/000000.gz, numbered per stream from zero.
      const stream = `${account}|${region}`;
      const n = this.exportCounters.get(stream) ?? 0;
      this.exportCounters.set(stream, n + 1);
      const task = this.o.rng.fork(`export-task:${account}`).uuid();
      path = join('exportedlogs', task, `${account}_CloudTrail_${region}`, `${String(n).padStart(6, '0')}.gz`);
    } else if (shape === 'eventbridge-firehose') {
      // Firehose: <prefix>/YYYY/MM/DD/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>.gz
      const stamp = new Date(delivered).toISOString().slice(0, 19).replace(/[T:]/g, '-');
      const hour = stamp.slice(11, 13);
      path = join('firehose', account, y, m, d, hour, `${account}-cloudtrail-events-1-${stamp}-${fileRng.uuid()}.gz`);
    } else {
      const suffix = fileRng.alnum(16);
      const name = `${account}_CloudTrail_${region}_${fileStamp(delivered)}_${suffix}.json.gz`;
      path = join('AWSLogs', account, 'CloudTrail', region, y, m, d, name);
    }
    return {
      shape,
      account,
      region,
      window,
      key,
      path,
      pending: Buffer.allocUnsafe(CHUNK + 64 * 1024),
      pendingLength: 0,
      first: true,
      crc: 0,
      size: 0,
      hash: createHash('sha256'),
      records: 0,
      oldest: Infinity,
      newest: -Infinity,
      chain: Promise.resolve(),
    };
  }

  private flushChunk(file: LogFile, final: boolean): void {
    if (final && file.shape === 'delivery') this.append(file, ']}');
    const buf = file.pending.subarray(0, file.pendingLength);
    this.pendingBytes -= file.pendingLength;
    file.pending = final ? Buffer.alloc(0) : Buffer.allocUnsafe(CHUNK + 64 * 1024);
    file.pendingLength = 0;
    file.crc = crc32(buf, file.crc);
    file.size += buf.length;
    file.hash.update(buf);
    const compressed = deflateRawAsync(buf, {
      level: this.o.level,
      finishFlush: final ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
    });
    const bytes = buf.length;
    this.inFlightBytes += bytes;
    const full = join(this.o.root, file.path);
    const opening =
      file.handle === undefined && file.size === bytes
        ? mkdir(dirname(full), { recursive: true })
            .then(() => open(full, 'w'))
            .then(async (h) => {
              file.handle = h;
              await h.write(GZIP_HEADER);
            })
        : undefined;
    const step = Promise.all([file.chain, opening, compressed])
      .then(async ([, , data]) => {
        await file.handle!.write(data);
        if (final) {
          const trailer = Buffer.alloc(8);
          trailer.writeUInt32LE(file.crc >>> 0, 0);
          trailer.writeUInt32LE(file.size % 2 ** 32, 4);
          await file.handle!.write(trailer);
          await file.handle!.close();
        }
      })
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.inFlightBytes -= bytes;
        this.inFlight.delete(step);
        if (this.inFlightBytes <= MAX_IN_FLIGHT) this.wake();
      });
    file.chain = step;
    this.inFlight.add(step);
  }

  /** Yields to the event loop (so compression callbacks run) and waits while too much is in flight. */
  async backpressure(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.inFlightBytes > MAX_IN_FLIGHT && this.inFlight.size > 0) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.failure) throw this.failure;
  }

  private wake(): void {
    const waiters = this.waiters.splice(0);
    for (const resolve of waiters) resolve();
  }

  /** Closes every file of windows ≤ `window` (no later event can be delivered into them) and due digests. */
  async completeThrough(window: number): Promise<void> {
    for (const [key, file] of this.open) {
      if (file.window > window) continue;
      this.open.delete(key);
      this.close(file);
      if (this.inFlightBytes > MAX_IN_FLIGHT) await this.backpressure();
    }
    await this.backpressure();
    this.writeDueDigests(this.o.start + (window + 1) * WINDOW);
  }

  private close(file: LogFile): void {
    this.flushChunk(file, true);
    this.files++;
    if (file.shape !== 'delivery') return;
    const digestHour = Math.floor((this.o.start + file.window * WINDOW) / HOUR) * HOUR;
    const key = `${file.account}|${file.region}|${digestHour}`;
    const list = this.pendingDigest.get(key) ?? [];
    list.push({ s3Object: file.path, hashValue: file.hash.digest('hex'), oldest: file.oldest, newest: file.newest });
    this.pendingDigest.set(key, list);
  }

  /** Writes digests of every hour that ends at or before `through`. */
  private writeDueDigests(through: number): void {
    while (this.nextDigestHour + HOUR <= through) {
      const hour = this.nextDigestHour;
      for (const trail of this.o.trails) {
        if ((this.o.shapes?.[trail.account] ?? 'delivery') === 'delivery')
          this.writeDigest(trail.account, trail.region, hour);
      }
      this.nextDigestHour += HOUR;
    }
  }

  private writeDigest(account: string, region: string, hour: number): void {
    const key = `${account}|${region}|${hour}`;
    const files = (this.pendingDigest.get(key) ?? []).sort((a, b) => (a.s3Object < b.s3Object ? -1 : 1));
    this.pendingDigest.delete(key);
    const rng = this.o.rng.fork(`digest:${key}`);
    const written = hour + HOUR + rng.intIn(5, 14) * MINUTE + rng.int(MINUTE);
    const [y, m, d] = datePath(written);
    const name = `${account}_CloudTrail-Digest_${region}_${this.o.trailName}_${region}_${fileStampSeconds(written)}.json.gz`;
    const path = join('AWSLogs', account, 'CloudTrail-Digest', region, y, m, d, name);
    const previous = this.previousDigest.get(`${account}|${region}`);
    const oldest = Math.min(...files.map((f) => f.oldest));
    const newest = Math.max(...files.map((f) => f.newest));
    const body = {
      awsAccountId: account,
      digestStartTime: isoSeconds(hour),
      digestEndTime: isoSeconds(hour + HOUR),
      digestS3Bucket: this.o.bucket,
      digestS3Object: path,
      digestPublicKeyFingerprint: rng.hex(32),
      digestSignatureAlgorithm: 'SHA256withRSA',
      newestEventTime: files.length ? isoSeconds(newest) : null,
      oldestEventTime: files.length ? isoSeconds(oldest) : null,
      previousDigestS3Bucket: previous ? this.o.bucket : null,
      previousDigestS3Object: previous?.object ?? null,
      previousDigestHashValue: previous?.hash ?? null,
      previousDigestHashAlgorithm: previous ? 'SHA-256' : null,
      previousDigestSignature: previous?.signature ?? null,
      logFiles: files.map((f) => ({
        s3Bucket: this.o.bucket,
        s3Object: f.s3Object,
        hashValue: f.hashValue,
        hashAlgorithm: 'SHA-256',
        newestEventTime: isoSeconds(f.newest),
        oldestEventTime: isoSeconds(f.oldest),
      })),
    };
    const text = JSON.stringify(body);
    this.previousDigest.set(`${account}|${region}`, {
      object: path,
      hash: createHash('sha256').update(text).digest('hex'),
      signature: rng.hex(512),
    });
    const full = join(this.o.root, path);
    const step = mkdir(dirname(full), { recursive: true })
      .then(() => writeFile(full, gzipReproducible(text, this.o.level)))
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => this.inFlight.delete(step));
    this.inFlight.add(step);
    this.digests++;
  }

  /** Closes everything still open (late deliveries after the window) and writes the remaining digests. */
  async finish(): Promise<void> {
    const last = Math.max(-1, ...[...this.open.values()].map((f) => f.window));
    await this.completeThrough(last);
    // Digests up to the hour that contains the last delivery.
    const lastDelivery = this.o.start + (last + 1) * WINDOW;
    this.writeDueDigests(Math.ceil(lastDelivery / HOUR) * HOUR);
    await Promise.all([...this.inFlight]);
    if (this.failure) throw this.failure;
  }
}
