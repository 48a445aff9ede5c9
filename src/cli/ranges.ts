import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { loadAwsRanges, parseAwsRanges } from '../net/aws-ranges.js';
import { AWS_IP_RANGES_URL, resolveRangesFile, userRangesFile } from '../net/user-ranges.js';
import { statusUntrusted } from './io.js';

/** Refuses anything that is not a plausible ranges file before it replaces the current one. */
const MAX_RANGES_BYTES = 64 * 1024 * 1024;

export async function updateRanges(options: { url: string; out?: string }): Promise<void> {
  const target = options.out ?? userRangesFile();
  let response: Response;
  try {
    response = await fetch(options.url, { signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    throw new InputError(
      `cannot download ${options.url}: ${(error as Error).message}`,
      'check the network or pass --url',
    );
  }
  if (!response.ok) {
    throw new InputError(`download of ${options.url} failed: HTTP ${response.status}`, 'check the --url');
  }
  const text = await response.text();
  if (text.length > MAX_RANGES_BYTES) {
    throw new InputError(`${options.url} returned ${text.length} bytes, more than any ranges file`, 'check the --url');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${options.url} did not return JSON: ${(error as Error).message}`, 'check the --url');
  }
  const ranges = parseAwsRanges(json, options.url);
  mkdirSync(dirname(target), { recursive: true });
  // Write then rename: a crash mid-write never leaves a half file that later runs would trust.
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, target);
  // syncToken and createDate come from the downloaded document: escaped like any other untrusted text.
  statusUntrusted(`saved AWS ip-ranges syncToken ${ranges.syncToken} (created ${ranges.createDate}) to ${target}`);
}

export function registerRanges(program: Command): void {
  const ranges = program.command('ranges').description('the AWS published IP ranges offbox judges addresses against');
  ranges
    .command('update')
    .description("download AWS's current ip-ranges.json; later runs use it instead of the built-in snapshot")
    .option('--url <url>', 'where to download from', AWS_IP_RANGES_URL)
    .option('--out <file>', `where to save it (default: ${userRangesFile()})`)
    .action(async (options: { url: string; out?: string }) => {
      await updateRanges(options);
    });
  ranges
    .command('show')
    .description('print which ranges snapshot runs use')
    .option('--ip-ranges <file>', 'a specific ip-ranges.json')
    .action((options: { ipRanges?: string }) => {
      const file = resolveRangesFile(options.ipRanges);
      const loaded = loadAwsRanges(file);
      process.stdout.write(
        `${JSON.stringify({ origin: loaded.origin, syncToken: loaded.syncToken, createDate: loaded.createDate })}\n`,
      );
    });
}
