import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import type { Finding } from '../../detect/finding.js';
import { InputError } from '../../errors.js';
import { escapeRaw } from '../../report/json.js';
import type { FindingSink } from './types.js';

/** Turns a finding into one line of output (no newline), and finds the finding id in such a line. */
export interface LineFormat {
  name: string;
  line(finding: Finding): string;
  idOf(line: string): string | undefined;
}

/** A sink appending to a file it can check after a crash: what it wrote past a position, and its end. */
export interface FileSink extends FindingSink {
  readonly path: string;
  /** Bytes in the file now. */
  size(): number;
  /**
   * The finding ids on whole lines past `position` (written before a crash, after the last commit).
   * A torn last line is cut off, so the next write starts on a line of its own.
   */
  recover(position: number): Set<string>;
}

function idFromJson(line: string, pick: (value: Record<string, unknown>) => unknown): string | undefined {
  try {
    const value = pick(JSON.parse(line) as Record<string, unknown>);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The finding as one JSON line, escaped as `offbox scan --format ndjson` prints it. */
export const ndjsonLines: LineFormat = {
  name: 'ndjson',
  line: (finding) => escapeRaw(JSON.stringify(finding)),
  idOf: (line) => idFromJson(line, (value) => value['id']),
};

/** A line format from a renderer of one finding to a JSON object carrying the id at `idPath`. */
export function jsonLines(name: string, render: (finding: Finding) => unknown, idPath: readonly string[]): LineFormat {
  return {
    name,
    line: (finding) => escapeRaw(JSON.stringify(render(finding))),
    idOf: (line) =>
      idFromJson(line, (value) => idPath.reduce<unknown>((at, key) => (at as Record<string, unknown>)?.[key], value)),
  };
}

/**
 * Writes each finding as a line to a stream (stdout). A process killed between writing and
 * committing writes those lines again when it restarts: readers key on the finding id.
 */
export function streamSink(stream: NodeJS.WritableStream, format: LineFormat, name = 'stdout'): FindingSink {
  return {
    name,
    async deliver(findings) {
      if (findings.length === 0) return;
      const text = findings.map((f) => `${format.line(f)}\n`).join('');
      await new Promise<void>((resolve, reject) => {
        stream.write(text, (error) => (error ? reject(error) : resolve()));
      });
    },
  };
}

/**
 * Appends each finding as a line to a file, synced to disk before the delivery counts. With
 * {@link FileSink.recover}, a restart after a crash finds what was already written, so every
 * finding reaches the file exactly once.
 */
export function fileSink(path: string, format: LineFormat): FileSink {
  let fd: number;
  try {
    fd = openSync(path, 'a+', 0o600);
  } catch (error) {
    throw new InputError(`cannot open ${path} for writing: ${(error as Error).message}`, 'check the --output path');
  }
  return {
    name: `file ${path}`,
    path,
    size: () => fstatSync(fd).size,
    recover(position) {
      const end = fstatSync(fd).size;
      const ids = new Set<string>();
      if (end <= position) return ids;
      const tail = Buffer.alloc(end - position);
      let read = 0;
      while (read < tail.length) {
        const n = readSync(fd, tail, read, tail.length - read, position + read);
        if (n === 0) break;
        read += n;
      }
      const lastNewline = tail.lastIndexOf(0x0a, read - 1);
      const whole = lastNewline < 0 ? 0 : lastNewline + 1;
      for (const line of tail.subarray(0, whole).toString('utf8').split('\n')) {
        const id = line === '' ? undefined : format.idOf(line);
        if (id !== undefined) ids.add(id);
      }
      if (whole < end - position) ftruncateSync(fd, position + whole);
      return ids;
    },
    async deliver(findings) {
      if (findings.length === 0) return;
      const text = Buffer.from(findings.map((f) => `${format.line(f)}\n`).join(''), 'utf8');
      for (let done = 0; done < text.length;) done += writeSync(fd, text, done, text.length - done);
      fsyncSync(fd);
      return Promise.resolve();
    },
    async close() {
      closeSync(fd);
      return Promise.resolve();
    },
  };
}
