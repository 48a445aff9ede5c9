import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { SEVERITIES } from '../detect/finding.js';
import { scanWebLogs, type WebScanResult } from '../engine/web-scan.js';
import { resolveRangesFile } from '../net/user-ranges.js';
import { renderFindings, shouldUseColor } from '../report/index.js';
import { offboxVersion } from '../report/version.js';
import { openSources, requireObjects, type SkippedEntries } from '../sources/index.js';
import { unreadWebLogs } from '../engine/input-check.js';
import { UsageError } from '../errors.js';
import { FORMAT_NAMES, WEB_LOG_FORMATS } from '../weblogs/request.js';
import { asffRegionFromEnv, formatBytes, progressLine, status, writeResults } from './io.js';
import {
  collect,
  loadInventoryWithStatus,
  reportSuppressions,
  s3OptionsFrom,
  storeFindings,
  warningPrinter,
} from './run.js';
import { addOutputOptions, addSourceOptions, exitCodeFor, parseFailOn, parseFormat } from './scan.js';
import { WEB_LOG_EXTENSIONS } from '../weblogs/read.js';

export { WEB_LOG_EXTENSIONS } from '../weblogs/read.js';

export interface SsrfCliOptions {
  inventory?: string[];
  format?: string;
  output?: string;
  failOn: string;
  db?: string;
  config?: string;
  ipRanges?: string;
  strict?: boolean;
  progress: boolean;
  extensions?: string;
  maxLineKib?: string;
  /** Read every file as a text log (application and error logs). */
  text?: boolean;
  endpointUrl?: string;
  profile?: string;
  region?: string;
}

function parseMaxLine(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]{1,7}$/.test(value) || Number(value) < 1) {
    throw new UsageError(`--max-line-kib ${value} is not a positive number`, 'give the limit in KiB, e.g. 64');
  }
  return Number(value) * 1024;
}

function summarise(result: WebScanResult): string {
  const { stats } = result;
  const counts = SEVERITIES.map((s) => [s, result.findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  const found =
    result.findings.length === 0 ? 'no findings' : `${result.findings.length} findings (${counts.join(', ')})`;
  const formats = WEB_LOG_FORMATS.filter((f) => stats.formats[f] > 0)
    .map((f) => `${stats.formats[f]} ${FORMAT_NAMES[f]}`)
    .join(', ');
  const skipped =
    stats.badFiles + stats.badLines > 0
      ? `; skipped ${stats.badFiles} bad files and ${stats.badLines} bad lines (listed above)`
      : '';
  const suppressed =
    result.suppressed.length > 0 ? `; ${result.suppressed.length} suppressed by config (listed above)` : '';
  return (
    `scanned ${stats.files} files, ${stats.requests} requests${formats ? ` (${formats})` : ''}, ` +
    `${formatBytes(stats.bytes)} in ${(stats.durationMs / 1000).toFixed(2)}s — ${found}${suppressed}${skipped}`
  );
}

/** Runs `offbox ssrf`: read, detect, print, store; returns the exit code. */
export async function runSsrf(paths: string[], options: SsrfCliOptions): Promise<number> {
  const failOn = parseFailOn(options.failOn);
  const stdoutIsTty = process.stdout.isTTY === true && options.output === undefined;
  const format = parseFormat(options.format, stdoutIsTty);
  const maxLineBytes = parseMaxLine(options.maxLineKib);
  const config = options.config ? loadConfig(options.config) : undefined;
  const progress = progressLine(options.progress);
  const rangesFile = resolveRangesFile(options.ipRanges);
  const warnings = warningPrinter(progress);
  const inventory = loadInventoryWithStatus(options.inventory);

  const extensions = options.extensions
    ? options.extensions
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '')
    : WEB_LOG_EXTENSIONS;
  const skipped: SkippedEntries = { digests: 0, otherNames: 0 };
  const objects = requireObjects(
    openSources(paths, { extensions, ...s3OptionsFrom(options), skipped }),
    paths,
    skipped,
    extensions,
  );
  const result = await scanWebLogs(objects, {
    ...(config ? { config } : {}),
    ...(rangesFile ? { ipRangesFile: rangesFile } : {}),
    ...(inventory ? { inventory } : {}),
    ...(maxLineBytes !== undefined ? { maxLineBytes } : {}),
    strict: options.strict === true,
    ...(options.text ? { text: true } : {}),
    onWarning: (warning) =>
      warnings.warn(
        warning.file,
        warning.line === undefined ? warning.file : `${warning.file}:${warning.line}`,
        warning.reason,
      ),
    onProgress: (p) =>
      progress.update(`offbox: ${p.files} files, ${p.requests} requests, ${formatBytes(p.bytes)} — ${p.currentFile}`),
  });
  progress.done();
  warnings.flush('lines');
  const unread = unreadWebLogs(result.stats);
  if (unread?.nothingRead) throw unread.error;
  reportSuppressions(result.suppressed, result.expiredSuppressions);

  const text = renderFindings(result.findings, format, {
    color: format === 'table' && options.output === undefined && shouldUseColor(process.stdout, process.env),
    meta: {
      command: 'ssrf',
      inputs: paths,
      ipRangesSyncToken: result.ipRangesSyncToken,
      stats: result.stats,
      warningCount: result.stats.badFiles + result.stats.badLines,
      warnings: result.warnings,
      suppressed: result.suppressed,
    },
    version: offboxVersion(),
    asff: { region: asffRegionFromEnv() },
  });
  writeResults(text, options.output);

  if (options.db) {
    storeFindings(options.db, 'ssrf', paths, result.findings, {
      events: result.stats.requests,
      warnings: result.warnings.length,
      ipRangesSyncToken: result.ipRangesSyncToken,
    });
  }
  status(summarise(result));
  if (unread) throw unread.error;
  return exitCodeFor(result.findings, failOn);
}

/** Registers `offbox ssrf PATH…`: metadata-service SSRF attempts and relayed signed AWS requests in web logs. */
export function registerSsrf(program: Command): void {
  const command = program
    .command('ssrf')
    .description(
      'scan web logs (ALB, Classic ELB, CloudFront, AWS WAF, nginx/Apache access and error logs; any text log with --text) for metadata-service SSRF attempts and relayed signed AWS requests',
    )
    .argument('<paths...>', 'files, folders (recursive), s3://bucket/prefix, or - for stdin; plain or gzip')
    .option('-c, --config <file>', 'offbox.yaml: allowedSourceCidrs, suppress')
    .option(
      '-i, --inventory <dir>',
      'AWS CLI JSON outputs (describe-instances, get-account-authorization-details …): which instance is behind each ALB target; repeatable',
      collect,
      [],
    )
    .option('--ip-ranges <file>', "AWS ip-ranges.json to classify client addresses (default: offbox's snapshot)")
    .option(
      '--extensions <list>',
      `file endings read in folders, comma-separated (default: ${WEB_LOG_EXTENSIONS.join(',')})`,
    )
    .option('--max-line-kib <n>', 'longest line read, in KiB; longer lines are reported and skipped (default: 64)')
    .option(
      '--text',
      'read every file as a text log (application logs, error logs, tracebacks): URLs and hosts in any line',
    )
    .option('--strict', 'treat any bad file or line as an error (exit 2)')
    .option('--no-progress', 'no progress line on stderr');
  addOutputOptions(command);
  addSourceOptions(command);
  command.action(async (paths: string[], options: SsrfCliOptions) => {
    process.exitCode = await runSsrf(paths, options);
  });
}
