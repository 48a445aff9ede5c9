import type { Readable } from 'node:stream';
import { UsageError } from '../errors.js';
import type { LogObject } from './log-object.js';
import { listLocal, statPath, stdinLogObject } from './local.js';
import type { S3Options } from './s3.js';

export type { DecodedBytes, DecodeLimits, LogObject } from './log-object.js';
export { DEFAULT_DECODE_LIMITS, openDecoded, readAllDecoded } from './log-object.js';
export { DEFAULT_EXTENSIONS, isDigestPath, listLocal, stdinLogObject, type LocalOptions } from './local.js';
// The AWS SDK loads only when an s3:// input is named (it adds most of a second to every start).
export type { S3Location, S3Options } from './s3.js';

export interface SourceOptions extends S3Options {
  /** The stream `-` reads; default process.stdin. */
  stdin?: NodeJS.ReadableStream | Readable;
}

function isS3Url(spec: string): boolean {
  return /^s3:\/\//i.test(spec);
}

/**
 * Lists the log objects named by command-line `specs`, in the order given: `s3://…` URLs
 * through listS3, `-` as stdin (at most once), anything else as a local file or folder. Every
 * local path is checked before anything is listed, so a typo fails fast; a local file named
 * twice is listed once. Throws InputError, AwsError or UsageError with hints.
 */
export async function* openSources(specs: readonly string[], opts: SourceOptions = {}): AsyncGenerator<LogObject> {
  if (specs.filter((s) => s === '-').length > 1) {
    throw new UsageError('stdin (-) is named more than once', 'pass - at most once');
  }
  for (const spec of specs) if (spec !== '-' && !isS3Url(spec)) await statPath(spec);
  const seen = new Set<string>();
  for (const spec of specs) {
    if (spec === '-') {
      yield stdinLogObject(opts.stdin);
    } else if (isS3Url(spec)) {
      const { listS3 } = await import('./s3.js');
      yield* listS3(spec, opts);
    } else {
      yield* listLocal([spec], { ...(opts.extensions !== undefined ? { extensions: opts.extensions } : {}), seen });
    }
  }
}
