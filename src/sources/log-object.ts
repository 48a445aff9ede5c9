import { Readable } from 'node:stream';
import { once } from 'node:events';
import { constants as zlibConstants, createGunzip } from 'node:zlib';
import { InputError, OffboxError } from '../errors.js';

/** One log file wherever it lives: a local path, an S3 object, or stdin. */
export interface LogObject {
  /** A local path as given or found, `s3://bucket/key`, or `-` for stdin. */
  name: string;
  /** Size in bytes before decompression, when known. */
  size: number | undefined;
  /** Opens the raw (possibly gzipped) bytes. Rejects with an OffboxError when the object cannot be opened. */
  open(): Promise<NodeJS.ReadableStream | Readable>;
  /** Set for local files: a worker thread can open the file itself. */
  localPath?: string;
}

export interface DecodeLimits {
  /** Most bytes one object may decompress to; more is refused (gzip bombs). Default 4 GiB. */
  maxDecodedBytes: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({ maxDecodedBytes: 4 * 1024 * 1024 * 1024 });

/** What readAllDecoded returns: the bytes decoded, and the error that stopped decoding, if any. */
export interface DecodedBytes {
  bytes: Buffer;
  /** Set when the object was cut short, corrupt, too large or failed mid-read; `bytes` holds what came before. */
  error?: OffboxError;
}

/** True when the bytes start with gzip's magic number (offbox decides by content, never by name). */
export function isGzipHead(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`expected byte chunks, got ${typeof chunk}`);
}

function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1 && v % 1024 === 0) {
    v /= 1024;
    u++;
  }
  return `${v} ${units[u]}`;
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isZlibError(err: unknown): boolean {
  return errorCode(err)?.startsWith('Z_') === true;
}

/** Turns a failure while reading `name` into an OffboxError; OffboxErrors pass through. */
export function readError(name: string, err: unknown): OffboxError {
  if (err instanceof OffboxError) return err;
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ENOENT':
      return new InputError(`no such file or folder: ${name}`, 'check the path', { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new InputError(
        `permission denied reading ${name}`,
        "check the file's permissions, or run as a user who can read it",
        {
          cause: err,
        },
      );
    case 'EISDIR':
      return new InputError(
        `${name} is a folder, not a file`,
        'pass the folder itself to read the log files inside it',
        {
          cause: err,
        },
      );
    default:
      return new InputError(
        `cannot read ${name}: ${message}`,
        'check that the file is readable and not still being written',
        {
          cause: err,
        },
      );
  }
}

/** Stream of decompressed chunks: gzip is detected by its magic bytes (1f 8b), never by extension. */
async function* decodeRaw(name: string, raw: NodeJS.ReadableStream | Readable, max: number): AsyncGenerator<Buffer> {
  const source = (raw as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let sourceDone = false;
  try {
    // Peek until the magic bytes can be seen (stdin may deliver one byte at a time).
    const head: Buffer[] = [];
    let headLen = 0;
    while (headLen < 2) {
      const r = await source.next();
      if (r.done) {
        sourceDone = true;
        break;
      }
      const b = toBuffer(r.value);
      head.push(b);
      headLen += b.length;
    }
    const first = Buffer.concat(head, headLen);
    const rest = async function* (): AsyncGenerator<Buffer> {
      if (first.length > 0) yield first;
      while (!sourceDone) {
        const r = await source.next();
        if (r.done) {
          sourceDone = true;
          return;
        }
        yield toBuffer(r.value);
      }
    };
    const gzipped = isGzipHead(first);
    let total = 0;
    for await (const chunk of gzipped ? gunzipNested(name, gunzip(name, rest())) : rest()) {
      total += chunk.length;
      if (total > max) {
        throw new InputError(
          `${name} ${gzipped ? 'decompresses to' : 'is'} more than ${formatBytes(max)}`,
          gzipped
            ? 'this looks like a decompression bomb; if the file is genuine, split it or raise the decoded-size limit'
            : 'split the file, or raise the decoded-size limit if it is genuine',
        );
      }
      yield chunk;
    }
  } catch (err) {
    throw readError(name, err);
  } finally {
    if (!sourceDone) {
      // Stop reading the raw stream (file handle, socket) when the consumer stops or decoding fails.
      await source.return?.().catch(() => undefined);
      (raw as Partial<Readable>).destroy?.();
    }
  }
}

/**
 * Gunzips `input`, delivering every byte that can be decoded before a truncation or corruption,
 * then failing with an InputError carrying zlib's reason.
 */
async function* gunzip(name: string, input: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  const gz = createGunzip();
  const stop = new AbortController();
  // The feeder settles on its own; awaiting it on early exit could block on a slow source (stdin).
  void (async () => {
    try {
      for await (const chunk of input) {
        if (stop.signal.aborted) return;
        if (!gz.write(chunk)) await once(gz, 'drain', { signal: stop.signal });
      }
      if (stop.signal.aborted) return;
      // A sync flush first makes zlib hand over everything decodable before end() reports truncation.
      gz.flush(zlibConstants.Z_SYNC_FLUSH, () => gz.end());
    } catch (err) {
      if (!stop.signal.aborted) gz.destroy(err as Error);
    }
  })();
  try {
    for await (const out of gz as AsyncIterable<Buffer>) yield out;
  } catch (err) {
    if (isZlibError(err)) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new InputError(
        `${name}: gzip data is truncated or corrupt (${reason})`,
        'the records decoded before the damage were read; re-download or re-copy the file to read the rest',
        { cause: err },
      );
    }
    throw err;
  } finally {
    stop.abort();
    gz.destroy();
  }
}

/**
 * Gzip inside gzip, once: Firehose compressing CloudWatch Logs records, which are gzip already,
 * writes objects whose content is gzip members. Anything else passes through.
 */
async function* gunzipNested(name: string, decoded: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  const head: Buffer[] = [];
  let headLen = 0;
  let done = false;
  while (headLen < 2) {
    const r = await decoded.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    headLen += r.value.length;
  }
  const replay = async function* (): AsyncGenerator<Buffer> {
    yield* head;
    if (!done) yield* decoded;
  };
  if (isGzipHead(Buffer.concat(head, headLen))) yield* gunzip(name, replay());
  else yield* replay();
}

async function openRaw(obj: LogObject): Promise<NodeJS.ReadableStream | Readable> {
  try {
    return await obj.open();
  } catch (err) {
    throw readError(obj.name, err);
  }
}

function maxOf(limits: Partial<DecodeLimits> | undefined): number {
  const max = limits?.maxDecodedBytes ?? DEFAULT_DECODE_LIMITS.maxDecodedBytes;
  if (!(max > 0)) throw new RangeError(`maxDecodedBytes must be positive, got ${max}`);
  return max;
}

/**
 * Returns `obj`'s decompressed bytes as a stream (gzip detected by magic bytes, not by name).
 * The object is opened on first read. The stream fails with an OffboxError naming the object
 * when it cannot be opened or read, when the gzip data is truncated or corrupt (an InputError,
 * after every byte decoded before the damage has been delivered), or when it decodes to more
 * than `maxDecodedBytes` (an InputError).
 */
export function openDecoded(obj: LogObject, limits?: Partial<DecodeLimits>): Readable {
  const max = maxOf(limits);
  async function* decoded(): AsyncGenerator<Buffer> {
    yield* decodeRaw(obj.name, await openRaw(obj), max);
  }
  return Readable.from(decoded(), { objectMode: false });
}

/**
 * Reads all of `obj`'s decompressed bytes. Rejects only when the object cannot be opened; a
 * failure after that (truncated or corrupt gzip, size limit, read error) is returned as `error`
 * together with the bytes decoded before it.
 */
export async function readAllDecoded(obj: LogObject, limits?: Partial<DecodeLimits>): Promise<DecodedBytes> {
  const max = maxOf(limits);
  const chunks: Buffer[] = [];
  let length = 0;
  const raw = await openRaw(obj);
  try {
    for await (const chunk of decodeRaw(obj.name, raw, max)) {
      chunks.push(chunk);
      length += chunk.length;
    }
  } catch (err) {
    return { bytes: Buffer.concat(chunks, length), error: readError(obj.name, err) };
  }
  return { bytes: Buffer.concat(chunks, length) };
}
