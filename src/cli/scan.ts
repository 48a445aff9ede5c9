import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { isSeverity, severityRank, SEVERITIES, type Finding, type Severity } from '../detect/finding.js';
import { buildIncidents } from '../engine/incidents.js';
import { unreadCloudTrail, unreadWebLogs } from '../engine/input-check.js';
import { scanCloudTrail, type ScanResult } from '../engine/scan.js';
import { scanWebLogs, type WebScanResult } from '../engine/web-scan.js';
import { ExitCode, UsageError } from '../errors.js';
import {
  defaultFormat,
  FORMATS,
  isOutputFormat,
  renderFindings,
  shouldUseColor,
  type OutputFormat,
} from '../report/index.js';
import { offboxVersion } from '../report/version.js';
import { loadAwsRanges } from '../net/aws-ranges.js';
import { resolveRangesFile } from '../net/user-ranges.js';
import { openSources, requireObjects, type SkippedEntries } from '../sources/index.js';
import { asffRegionFromEnv, formatBytes, progressLine, status, writeResults } from './io.js';
import { listAhead, parseThreads, scanProgress } from './progress.js';
import {
  collect,
  loadInventoryWithStatus,
  reportSuppressions,
  s3OptionsFrom,
  storeFindings,
  warningPrinter,
} from './run.js';
import { WEB_LOG_EXTENSIONS } from '../weblogs/read.js';

export interface ScanCliOptions {
  inventory?: string[];
  /** Web logs (ALB, ELB, CloudFront, WAF, nginx/Apache) read alongside the trail; repeatable. */
  webLogs?: string[];
  /** Read the --web-logs files as text logs (application and error logs). */
  text?: boolean;
  format?: string;
  output?: string;
  failOn: string;
  db?: string;
  config?: string;
  ipRanges?: string;
  strict?: boolean;
  progress: boolean;
  threads?: string;
  endpointUrl?: string;
  profile?: string;
  region?: string;
}

/** --fail-on: a severity, or `none` to always exit 0 on a clean run. */
export function parseFailOn(value: string): Severity | 'none' {
  if (value === 'none' || isSeverity(value)) return value;
  throw new UsageError(`--fail-on ${value} is not a severity`, `use one of ${SEVERITIES.join(', ')} or none`);
}

export function parseFormat(value: string | undefined, stdoutIsTty: boolean): OutputFormat {
  if (value === undefined) return defaultFormat(stdoutIsTty);
  if (isOutputFormat(value)) return value;
  throw new UsageError(`--format ${value} is not known`, `use one of ${FORMATS.join(', ')}`);
}

/** Exit code for a set of findings against --fail-on. */
export function exitCodeFor(findings: readonly Finding[], failOn: Severity | 'none'): number {
  if (failOn === 'none') return ExitCode.ok;
  const threshold = severityRank(failOn);
  return findings.some((finding) => severityRank(finding.severity) >= threshold) ? ExitCode.findings : ExitCode.ok;
}

function summarise(result: ScanResult, web: WebScanResult | undefined, findings: readonly Finding[]): string {
  const counts = SEVERITIES.map(
    (severity) => [severity, findings.filter((f) => f.severity === severity).length] as const,
  )
    .filter(([, count]) => count > 0)
    .map(([severity, count]) => `${count} ${severity}`);
  const { stats } = result;
  const seconds = ((stats.durationMs + (web?.stats.durationMs ?? 0)) / 1000).toFixed(2);
  const found = findings.length === 0 ? 'no findings' : `${findings.length} findings (${counts.join(', ')})`;
  const webRead = web
    ? ` and ${web.stats.files} web log files, ${web.stats.requests} requests (${formatBytes(web.stats.bytes)})`
    : '';
  const badFiles = stats.badFiles + (web?.stats.badFiles ?? 0);
  const skipped =
    badFiles + stats.badRecords + (web?.stats.badLines ?? 0) > 0
      ? `; skipped ${badFiles} bad files and ${stats.badRecords} bad records${web ? ` and ${web.stats.badLines} bad lines` : ''} (listed above)`
      : '';
  const hidden = result.suppressed.length + (web?.suppressed.length ?? 0);
  const suppressed = hidden > 0 ? `; ${hidden} suppressed by config (listed above)` : '';
  return `scanned ${stats.files} files, ${stats.events} events (${formatBytes(stats.bytes)})${webRead} in ${seconds}s — ${found}${suppressed}${skipped}`;
}

function bySeverity(a: Finding, b: Finding): number {
  return severityRank(b.severity) - severityRank(a.severity);
}

/** Shared by scan and demo: run, print, store, and return the exit code. */
export async function runScan(paths: string[], options: ScanCliOptions): Promise<number> {
  const failOn = parseFailOn(options.failOn);
  const stdoutIsTty = process.stdout.isTTY === true && options.output === undefined;
  const format = parseFormat(options.format, stdoutIsTty);
  const config = options.config ? loadConfig(options.config) : undefined;
  const progress = progressLine(options.progress);
  const rangesFile = resolveRangesFile(options.ipRanges);
  // Loaded once so both kinds of log are judged against the same snapshot.
  const awsRanges = loadAwsRanges(rangesFile);
  const webLogs = options.webLogs ?? [];
  if (paths.includes('-') && webLogs.includes('-')) {
    throw new UsageError('stdin (-) is named both as CloudTrail and as --web-logs', 'read one of them from a file');
  }
  if (options.text === true && webLogs.length === 0) {
    throw new UsageError('--text applies to --web-logs, and none was given', 'name the text logs with --web-logs PATH');
  }
  const trailProgress = scanProgress(options.progress);
  const warnings = warningPrinter({
    done: () => {
      progress.done();
      trailProgress.done();
    },
  });
  const inventory = loadInventoryWithStatus(options.inventory);
  const s3Options = s3OptionsFrom(options);
  const skipped: SkippedEntries = { digests: 0, otherNames: 0 };
  const listed = await listAhead(
    paths,
    requireObjects(openSources(paths, { ...s3Options, skipped }), paths, skipped),
    trailProgress.active,
  );
  const objects = listed.objects;
  trailProgress.setTotal(listed.total);
  const result = await scanCloudTrail(objects, {
    ...(config ? { config } : {}),
    awsRanges,
    ...(inventory ? { inventory } : {}),
    strict: options.strict === true,
    onWarning: (warning) =>
      warnings.warn(
        warning.file,
        warning.recordIndex === undefined ? warning.file : `${warning.file} record ${warning.recordIndex}`,
        warning.reason,
      ),
    threads: parseThreads(options.threads),
    onProgress: (p) => trailProgress.update(p),
  });
  trailProgress.done();
  warnings.flush('records');
  const unreadTrail = unreadCloudTrail(result);
  if (unreadTrail?.nothingRead) throw unreadTrail.error;

  let web: WebScanResult | undefined;
  if (webLogs.length > 0) {
    const webSkipped: SkippedEntries = { digests: 0, otherNames: 0 };
    const webObjects = requireObjects(
      openSources(webLogs, { extensions: WEB_LOG_EXTENSIONS, ...s3Options, skipped: webSkipped }),
      webLogs,
      webSkipped,
      WEB_LOG_EXTENSIONS,
    );
    web = await scanWebLogs(webObjects, {
      ...(config ? { config } : {}),
      awsRanges,
      ...(inventory ? { inventory } : {}),
      strict: options.strict === true,
      ...(options.text ? { text: true } : {}),
      onWarning: (warning) =>
        warnings.warn(
          warning.file,
          warning.line === undefined ? warning.file : `${warning.file}:${warning.line}`,
          warning.reason,
        ),
      onProgress: (p) =>
        progress.update(
          `offbox: web logs: ${p.files} files, ${p.requests} requests, ${formatBytes(p.bytes)} — ${p.currentFile}`,
        ),
    });
    progress.done();
    warnings.flush('lines');
  }
  const unreadWeb = web ? unreadWebLogs(web.stats) : undefined;
  if (unreadWeb?.nothingRead) throw unreadWeb.error;

  const code = reportTrail(result, web, { paths, webLogs, format, failOn, command: 'scan', options });
  // The findings are out; the input error still decides the exit code.
  const partly = unreadTrail ?? unreadWeb;
  if (partly) throw partly.error;
  return code;
}

/**
 * Prints, stores and sums up the findings of a trail read (scan or hunt) and of web logs read
 * beside it; returns the exit code for --fail-on.
 */
export function reportTrail(
  result: ScanResult,
  web: WebScanResult | undefined,
  run: {
    paths: readonly string[];
    webLogs: readonly string[];
    format: OutputFormat;
    failOn: Severity | 'none';
    command: 'scan' | 'hunt';
    options: Pick<ScanCliOptions, 'output' | 'db'>;
    /** Said after the summary (hunt: where the aggregation ran, bytes scanned). */
    note?: string;
  },
): number {
  const { paths, webLogs, format, failOn, options } = run;
  const suppressedAll = [...result.suppressed, ...(web?.suppressed ?? [])];
  // Both scans read the same config, so the expired rules are reported once.
  reportSuppressions(suppressedAll, result.expiredSuppressions);

  const findings = [...result.findings, ...(web?.findings ?? [])].sort(bySeverity);
  const incidents = buildIncidents(findings, {
    ...(result.vending ? { vending: result.vending } : {}),
    ...(result.revocations ? { revocations: result.revocations } : {}),
    ...(web?.clients ? { webClients: web.clients } : {}),
  });
  if (web?.clients && web.clients.droppedRequests > 0) {
    status(
      `web clients beyond the first ${web.clients.size.toLocaleString('en-US')} addresses were not kept for same-address incident links: ` +
        `${web.clients.droppedRequests} requests from ${web.clients.droppedClients} or more addresses`,
    );
  }
  const text = renderFindings(findings, format, {
    color: format === 'table' && options.output === undefined && shouldUseColor(process.stdout, process.env),
    meta: {
      inputs: paths,
      ...(web ? { webInputs: webLogs } : {}),
      ipRangesSyncToken: result.ipRangesSyncToken,
      stats: result.stats,
      ...(web ? { webStats: web.stats } : {}),
      warningCount:
        result.stats.badFiles + result.stats.badRecords + (web ? web.stats.badFiles + web.stats.badLines : 0),
      warnings: result.warnings,
      ...(web ? { webWarnings: web.warnings } : {}),
      suppressed: suppressedAll,
      incidents,
    },
    incidents,
    version: offboxVersion(),
    asff: { region: asffRegionFromEnv() },
  });
  writeResults(text, options.output);

  if (options.db) {
    storeFindings(
      options.db,
      run.command,
      [...paths, ...webLogs],
      findings,
      {
        events: result.stats.events + (web?.stats.requests ?? 0),
        warnings: result.warnings.length + (web?.warnings.length ?? 0),
        ipRangesSyncToken: result.ipRangesSyncToken,
      },
      {
        ...(result.vending ? { vending: result.vending } : {}),
        ...(result.revocations ? { revocations: result.revocations } : {}),
      },
    );
  }
  status(summarise(result, web, findings) + (run.note ? ` — ${run.note}` : ''));
  return exitCodeFor(findings, failOn);
}

export function addSourceOptions(command: Command): Command {
  return command
    .option('--endpoint-url <url>', 'S3-compatible endpoint for s3:// inputs')
    .option('--profile <name>', 'AWS profile for s3:// inputs (standard credential chain otherwise)')
    .option('--region <region>', 'AWS region for s3:// inputs');
}

export function addOutputOptions(command: Command): Command {
  return command
    .option(
      '-f, --format <format>',
      `output format: ${FORMATS.join(', ')} (default: table on a terminal, ndjson otherwise)`,
    )
    .option('-o, --output <file>', 'write results to a file instead of stdout')
    .option(
      '--fail-on <severity>',
      `exit 1 when a finding is at or above this severity (${SEVERITIES.join(', ')}, none)`,
      'high',
    )
    .option('--db <file>', 'also store findings in this SQLite file (used by watch, findings and serve)');
}

export function registerScan(program: Command): void {
  const command = program
    .command('scan')
    .description('scan CloudTrail logs for workload credentials used where they were never issued')
    .argument('<paths...>', 'files, folders (recursive), s3://bucket/prefix, or - for stdin')
    .option('-c, --config <file>', 'offbox.yaml: allowedSourceCidrs, trustedAccounts, suppress')
    .option(
      '-i, --inventory <dir>',
      'AWS CLI JSON outputs (describe-instances, … get-account-authorization-details); repeatable',
      collect,
      [],
    )
    .option(
      '--web-logs <path>',
      'web logs (ALB, Classic ELB, CloudFront, AWS WAF, nginx/Apache access and error logs; file, folder or s3://) to link SSRF attempts and relayed signed requests with the trail; repeatable',
      collect,
      [],
    )
    .option('--text', 'read the --web-logs files as text logs (application logs, error logs, tracebacks)')
    .option('--ip-ranges <file>', "AWS ip-ranges.json to judge addresses against (default: offbox's snapshot)")
    .option('--strict', 'treat any bad file or record as an error (exit 2)')
    .option('--threads <n>', 'worker threads reading the trail (default: every core)')
    .option('--no-progress', 'no progress line on stderr');
  addOutputOptions(command);
  addSourceOptions(command);
  command.action(async (paths: string[], options: ScanCliOptions) => {
    process.exitCode = await runScan(paths, options);
  });
}
