import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../errors.js';
import { escapeForTerminal } from '../report/escape.js';

/** Status lines go to stderr, results to stdout: a pipe only ever carries results. */
export function status(message: string): void {
  process.stderr.write(`offbox: ${message}\n`);
}

/** A status line built from untrusted parts (file names, reasons quoting log content). */
export function statusUntrusted(message: string): void {
  status(escapeForTerminal(message));
}

/** Writes results to --output FILE or stdout. */
export function writeResults(text: string, outputFile: string | undefined): void {
  if (outputFile === undefined || outputFile === '-') {
    process.stdout.write(text);
    return;
  }
  try {
    mkdirSync(dirname(outputFile), { recursive: true });
    writeFileSync(outputFile, text);
  } catch (error) {
    throw new InputError(
      `cannot write ${outputFile}: ${(error as Error).message}`,
      'check the --output path and its permissions',
    );
  }
}

/** A one-line progress indicator on stderr that only draws on a terminal. */
export function progressLine(enabled: boolean): { update(text: string): void; done(): void } {
  const active = enabled && process.stderr.isTTY === true;
  let drawn = false;
  return {
    update(text: string) {
      if (!active) return;
      const width = Math.max(20, (process.stderr.columns ?? 100) - 1);
      process.stderr.write(`\r\x1b[2K${escapeForTerminal(text).slice(0, width)}`);
      drawn = true;
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[2K');
      drawn = false;
    },
  };
}

/** The Security Hub region `--format asff` files findings under: AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1. */
export function asffRegionFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || 'us-east-1';
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GB`;
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} B`;
}
