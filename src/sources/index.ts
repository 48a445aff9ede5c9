import type { Readable } from 'node:stream';
import { UsageError } from '../errors.js';
import type { LogObject } from './log-object.js';
import {
  DEFAULT_EXTENSIONS,
  listLocal,
  normaliseExtensions,
  statPath,
  stdinLogObject,
  type SkippedEntries,
} from './local.js';
import type { S3Options } from './s3.js';

export type { DecodedBytes, DecodeLimits, LogObject } from './log-object.js';
export { DEFAULT_DECODE_LIMITS, openDecoded, readAllDecoded } from './log-object.js';
export {
  DEFAULT_EXTENSIONS,
  isDigestPath,
  isLogFileName,
  listLocal,
  stdinLogObject,
  type LocalOptions,
  type SkippedEntries,
} from './local.js';
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
      yield* listLocal([spec], {
        ...(opts.extensions !== undefined ? { extensions: opts.extensions } : {}),
        ...(opts.skipped ? { skipped: opts.skipped } : {}),
        seen,
      });
    }
  }
}

/**
 * Passes `objects` through, and fails with a UsageError when they end without one: an empty
 * folder, a folder of digests only, a prefix or glob that matched nothing. A scan of nothing must
 * not look like a clean scan. `skipped` (filled by the listing) says what was left out and why.
 */
export async function* requireObjects(
  objects: AsyncIterable<LogObject>,
  specs: readonly string[],
  skipped: SkippedEntries,
  extensions: readonly string[] = DEFAULT_EXTENSIONS,
): AsyncGenerator<LogObject> {
  let listed = 0;
  for await (const object of objects) {
    listed += 1;
    yield object;
  }
  if (listed > 0) return;
  const left: string[] = [];
  if (skipped.digests > 0) left.push(`${skipped.digests} CloudTrail digest file${skipped.digests === 1 ? '' : 's'}`);
  if (skipped.otherNames > 0) {
    left.push(`${skipped.otherNames} file${skipped.otherNames === 1 ? '' : 's'} with other endings`);
  }
  const where = specs.length === 0 ? 'the input' : specs.join(' ');
  throw new UsageError(
    `no log files in ${where}${left.length > 0 ? ` (left out: ${left.join(' and ')})` : ''}`,
    `folders are read for files ending ${normaliseExtensions(extensions).join(', ')} and Firehose or CloudWatch Logs export objects; ` +
      'name a file to read it whatever its name',
  );
}
