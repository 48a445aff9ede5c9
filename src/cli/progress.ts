import { availableParallelism } from 'node:os';
import cliProgress from 'cli-progress';
import { UsageError } from '../errors.js';
import type { ScanProgress } from '../engine/scan.js';
import type { LogObject } from '../sources/log-object.js';
import { escapeForTerminal } from '../report/escape.js';
import { formatBytes } from './io.js';

/** --threads: a positive whole number; the default is every core. */
export function parseThreads(value: string | undefined): number {
  if (value === undefined) return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new UsageError(
      `--threads ${value} is not a whole number from 1 to 256`,
      'use e.g. --threads 4, or leave it out to use every core',
    );
  }
  return n;
}

/**
 * When a progress bar is shown, local inputs are listed before reading starts, so the bar knows how
 * many files there are; S3 and stdin stream (listing a large bucket first would delay the first result).
 */
export async function listAhead(
  paths: readonly string[],
  objects: AsyncIterable<LogObject>,
  forProgressBar: boolean,
): Promise<{ objects: AsyncIterable<LogObject>; total: number | undefined }> {
  if (!forProgressBar || paths.some((path) => path === '-' || /^s3:\/\//i.test(path))) {
    return { objects, total: undefined };
  }
  const listed: LogObject[] = [];
  for await (const object of objects) listed.push(object);
  return {
    total: listed.length,
    objects: (async function* () {
      yield* listed;
    })(),
  };
}

/**
 * Progress on stderr, on a terminal only: a bar over the files when their number is known,
 * else one status line; both with events, events/s and bytes read.
 */
export function scanProgress(enabled: boolean): {
  /** Whether anything is drawn (enabled, and stderr is a terminal). */
  readonly active: boolean;
  /** The number of files, when they were listed ahead. */
  setTotal(files: number | undefined): void;
  update(progress: ScanProgress): void;
  done(): void;
} {
  let totalFiles: number | undefined;
  const active = enabled && process.stderr.isTTY === true;
  const started = performance.now();
  let bar: cliProgress.SingleBar | undefined;
  const figures = (p: ScanProgress) => {
    const seconds = Math.max(0.001, (performance.now() - started) / 1000);
    return {
      events: p.events.toLocaleString('en-US'),
      rate: Math.round(p.events / seconds).toLocaleString('en-US'),
      read: formatBytes(p.bytes),
    };
  };
  return {
    active,
    setTotal(files) {
      totalFiles = files;
    },
    update(p) {
      if (!active) return;
      if (totalFiles !== undefined && totalFiles > 0) {
        if (!bar) {
          bar = new cliProgress.SingleBar(
            {
              stream: process.stderr,
              format: 'offbox {bar} {value}/{total} files | {events} events | {rate} events/s | {read}',
              hideCursor: true,
              clearOnComplete: true,
              barsize: 24,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(totalFiles, 0, figures(p));
        }
        bar.update(Math.min(p.filesDone ?? p.files, totalFiles), figures(p));
        return;
      }
      const f = figures(p);
      const width = Math.max(20, (process.stderr.columns ?? 100) - 1);
      const line = `offbox: ${p.files} files, ${f.events} events, ${f.rate} events/s, ${f.read} — ${p.currentFile}`;
      process.stderr.write(`\r\x1b[2K${escapeForTerminal(line).slice(0, width)}`);
    },
    done() {
      if (!active) return;
      if (bar) {
        bar.stop();
        bar = undefined;
      } else {
        process.stderr.write('\r\x1b[2K');
      }
    },
  };
}
