import { open, opendir, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { InputError } from '../errors.js';
import { readError, type LogObject } from './log-object.js';

/** File name endings read when walking a folder (explicitly named files are read whatever their name). */
export const DEFAULT_EXTENSIONS: readonly string[] = Object.freeze([
  '.json',
  '.json.gz',
  '.jsonl',
  '.jsonl.gz',
  '.ndjson',
  '.ndjson.gz',
]);

export interface LocalOptions {
  /** Endings to accept in folder walks, e.g. `.json.gz`; matched case-insensitively. Default DEFAULT_EXTENSIONS. */
  extensions?: readonly string[];
  /** The stream `-` reads; default process.stdin (tests inject their own). */
  stdin?: NodeJS.ReadableStream | Readable;
  /** Real paths already listed; pass the same set to several calls to list each file once. */
  seen?: Set<string>;
  /** Counts what folder walks leave out (digests, other file names). */
  skipped?: SkippedEntries;
}

/** Normalises user-given endings (`json.gz` → `.json.gz`, lower case). */
export function normaliseExtensions(extensions: readonly string[] | undefined): string[] {
  return (extensions ?? DEFAULT_EXTENSIONS)
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '')
    .map((e) => (e.startsWith('.') ? e : `.${e}`));
}

/** True when the name ends with one of the (normalised) endings. */
export function hasExtension(name: string, extensions: readonly string[]): boolean {
  const lower = name.toLowerCase();
  return extensions.some((e) => lower.endsWith(e));
}

/**
 * Objects that Amazon Data Firehose writes to S3 (`stream-1-2023-07-10-12-05-01-<uuid>`, `.gz`
 * when it compresses) and CloudWatch Logs export tasks write (`…/000000.gz`) carry no `.json`
 * ending, but hold logs: EventBridge or CloudWatch Logs payloads, WAF logs, exported trails.
 */
const FIREHOSE_OBJECT_NAME =
  /-\d+-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}(?:\.gz)?$/i;
const LOGS_EXPORT_OBJECT_NAME = /(?:^|[\\/])\d{6}\.gz$/;

/**
 * True for a file a folder walk or S3 listing reads: one of the accepted endings, or a Firehose or
 * CloudWatch Logs export object name.
 */
export function isLogFileName(name: string, extensions: readonly string[]): boolean {
  return hasExtension(name, extensions) || FIREHOSE_OBJECT_NAME.test(name) || LOGS_EXPORT_OBJECT_NAME.test(name);
}

/** What a folder walk or listing left out, so an input that lists nothing can say why. */
export interface SkippedEntries {
  /** CloudTrail digest files and CloudTrail-Digest folders. */
  digests: number;
  /** Files whose names have none of the accepted endings. */
  otherNames: number;
}

/**
 * True for CloudTrail digest files, which hold hashes of log files rather than events: a
 * `CloudTrail-Digest` path segment or a file name containing `_CloudTrail-Digest_`.
 * Accepts local paths and S3 keys.
 */
export function isDigestPath(path: string): boolean {
  const segments = path.split(/[\\/]/);
  if (segments.includes('CloudTrail-Digest')) return true;
  return (segments.at(-1) ?? '').includes('_CloudTrail-Digest_');
}

/** The LogObject for stdin (`-`). */
export function stdinLogObject(stream: NodeJS.ReadableStream | Readable = process.stdin): LogObject {
  let opened = false;
  return {
    name: '-',
    size: undefined,
    open() {
      if (opened) return Promise.reject(new InputError('stdin can be read only once', 'pass - only once'));
      opened = true;
      return Promise.resolve(stream);
    },
  };
}

export function fileObject(path: string, size: number | undefined): LogObject {
  return {
    name: path,
    size,
    localPath: path,
    async open() {
      try {
        const handle = await open(path, 'r');
        return handle.createReadStream({ highWaterMark: 256 * 1024 });
      } catch (err) {
        throw readError(path, err);
      }
    },
  };
}

/** Stats a command-line path; a missing one is an InputError ("no such file or folder"). */
export async function statPath(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new InputError(`no such file or folder: ${path}`, 'check the path', { cause: err });
    }
    if (code === 'ELOOP') {
      throw new InputError(`${path} is a symbolic link that loops`, 'point offbox at the real file or folder', {
        cause: err,
      });
    }
    throw readError(path, err);
  }
}

/** Sorted entries of a folder, by code unit so the order is the same on every machine. */
async function readSortedDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    const handle = await opendir(dir);
    for await (const entry of handle) names.push(entry.name);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new InputError(
        `permission denied reading folder ${dir}`,
        "check the folder's permissions, or leave it out",
        {
          cause: err,
        },
      );
    }
    throw readError(dir, err);
  }
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Lists log files under `paths`: files as given (read whatever their name, digest or not),
 * folders walked recursively in sorted order, following symbolic links but never visiting a
 * folder twice, keeping files whose names end with one of `extensions` and skipping CloudTrail
 * digest files. `-` is stdin. Every path is checked before the first file is listed, so a
 * missing one fails fast with an InputError. A file reached twice is listed once.
 */
export async function* listLocal(paths: readonly string[], opts: LocalOptions = {}): AsyncGenerator<LogObject> {
  const extensions = normaliseExtensions(opts.extensions);
  const checked: { path: string; stats: Stats | undefined }[] = [];
  for (const path of paths) {
    checked.push({ path, stats: path === '-' ? undefined : await statPath(path) });
  }

  const seenFiles = opts.seen ?? new Set<string>();
  // Folders are remembered per call: the same folder named twice still lists nothing twice.
  const seenDirs = new Set<string>();
  const firstVisit = async (set: Set<string>, path: string): Promise<boolean> => {
    let key: string;
    try {
      key = await realpath(path);
    } catch {
      key = path;
    }
    if (set.has(key)) return false;
    set.add(key);
    return true;
  };

  async function* walk(dir: string): AsyncGenerator<LogObject> {
    if (!(await firstVisit(seenDirs, dir))) return;
    for (const name of await readSortedDir(dir)) {
      const path = join(dir, name);
      let stats: Stats;
      try {
        stats = await stat(path);
      } catch {
        // Dangling or looping symbolic links, or files removed while walking: nothing to read.
        continue;
      }
      if (stats.isDirectory()) {
        if (name === 'CloudTrail-Digest') {
          if (opts.skipped) opts.skipped.digests += 1;
          continue;
        }
        yield* walk(path);
      } else if (stats.isFile()) {
        if (isDigestPath(path)) {
          if (opts.skipped) opts.skipped.digests += 1;
        } else if (!isLogFileName(name, extensions)) {
          if (opts.skipped) opts.skipped.otherNames += 1;
        } else if (await firstVisit(seenFiles, path)) {
          yield fileObject(path, stats.size);
        }
      }
    }
  }

  for (const { path, stats } of checked) {
    if (stats === undefined) {
      yield stdinLogObject(opts.stdin);
    } else if (stats.isDirectory()) {
      yield* walk(path);
    } else if (await firstVisit(seenFiles, path)) {
      yield fileObject(path, stats.isFile() ? stats.size : undefined);
    }
  }
}
