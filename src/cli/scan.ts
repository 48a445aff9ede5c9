import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { isSeverity, severityRank, SEVERITIES, type Finding, type Severity } from '../detect/finding.js';
import { scanCloudTrail, type ScanResult } from '../engine/scan.js';
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
import { loadInventory } from '../inventory/load.js';
import type { OwnershipMap } from '../inventory/ownership.js';
import { resolveRangesFile } from '../net/user-ranges.js';
import { openSources } from '../sources/index.js';
import { openStore } from '../store/store.js';
import { formatBytes, progressLine, status, statusUntrusted, writeResults } from './io.js';

/** Past this many problems in one file, the rest are counted, not listed. */
const WARNINGS_SHOWN_PER_FILE = 10;

export interface ScanCliOptions {
  inventory?: string[];
  format?: string;
  output?: string;
  failOn: string;
  db?: string;
  config?: string;
  ipRanges?: string;
  strict?: boolean;
  progress: boolean;
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

function summarise(result: ScanResult): string {
  const counts = SEVERITIES.map(
    (severity) => [severity, result.findings.filter((f) => f.severity === severity).length] as const,
  )
    .filter(([, count]) => count > 0)
    .map(([severity, count]) => `${count} ${severity}`);
  const { stats } = result;
  const seconds = (stats.durationMs / 1000).toFixed(2);
  const found =
    result.findings.length === 0 ? 'no findings' : `${result.findings.length} findings (${counts.join(', ')})`;
  const skipped =
    stats.badFiles + stats.badRecords > 0
      ? `; skipped ${stats.badFiles} bad files and ${stats.badRecords} bad records (listed above)`
      : '';
  const suppressed =
    result.suppressed.length > 0 ? `; ${result.suppressed.length} suppressed by config (listed above)` : '';
  return `scanned ${stats.files} files, ${stats.events} events (${formatBytes(stats.bytes)}) in ${seconds}s — ${found}${suppressed}${skipped}`;
}

/** Shared by scan and demo: run, print, store, and return the exit code. */
export async function runScan(paths: string[], options: ScanCliOptions): Promise<number> {
  const failOn = parseFailOn(options.failOn);
  const stdoutIsTty = process.stdout.isTTY === true && options.output === undefined;
  const format = parseFormat(options.format, stdoutIsTty);
  const config = options.config ? loadConfig(options.config) : undefined;
  const progress = progressLine(options.progress);
  const rangesFile = resolveRangesFile(options.ipRanges);
  const warningsPerFile = new Map<string, number>();

  let inventory: OwnershipMap | undefined;
  if (options.inventory && options.inventory.length > 0) {
    const loaded = loadInventory(options.inventory);
    for (const warning of loaded.warnings) statusUntrusted(`warning: inventory ${warning.file}: ${warning.reason}`);
    inventory = loaded.map;
    status(
      `inventory: ${inventory.instances.size} instances, ${inventory.addressCount} addresses, ${inventory.vpcEndpoints.size} VPC endpoints, ` +
        `${inventory.roles.size} roles in ${inventory.accounts.size} accounts`,
    );
  }

  const objects = openSources(paths, {
    ...(options.endpointUrl ? { endpointUrl: options.endpointUrl } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.region ? { region: options.region } : {}),
  });
  const result = await scanCloudTrail(objects, {
    ...(config ? { config } : {}),
    ...(rangesFile ? { ipRangesFile: rangesFile } : {}),
    ...(inventory ? { inventory } : {}),
    strict: options.strict === true,
    onWarning: (warning) => {
      const shown = (warningsPerFile.get(warning.file) ?? 0) + 1;
      warningsPerFile.set(warning.file, shown);
      if (shown > WARNINGS_SHOWN_PER_FILE) return;
      progress.done();
      const where = warning.recordIndex === undefined ? warning.file : `${warning.file} record ${warning.recordIndex}`;
      statusUntrusted(`warning: ${where}: ${warning.reason}`);
    },
    onProgress: (p) =>
      progress.update(`offbox: ${p.files} files, ${p.events} events, ${formatBytes(p.bytes)} — ${p.currentFile}`),
  });
  progress.done();
  for (const [file, count] of warningsPerFile) {
    if (count > WARNINGS_SHOWN_PER_FILE) {
      statusUntrusted(
        `warning: ${file}: ${count - WARNINGS_SHOWN_PER_FILE} more bad records not shown (--format json lists them; --strict stops at the first)`,
      );
    }
  }

  for (const hidden of result.suppressed) {
    statusUntrusted(`suppressed: ${hidden.detector} ${hidden.id} (${hidden.title}) — ${hidden.reason}`);
  }
  for (const rule of result.expiredSuppressions) {
    statusUntrusted(
      `warning: suppress rule for ${rule.detector} expired on ${rule.expires} and no longer applies (${rule.reason})`,
    );
  }

  const text = renderFindings(result.findings, format, {
    color: format === 'table' && options.output === undefined && shouldUseColor(process.stdout, process.env),
    meta: {
      inputs: paths,
      ipRangesSyncToken: result.ipRangesSyncToken,
      stats: result.stats,
      warningCount: result.stats.badFiles + result.stats.badRecords,
      warnings: result.warnings,
      suppressed: result.suppressed,
    },
    version: offboxVersion(),
  });
  writeResults(text, options.output);

  if (options.db) {
    const store = openStore(options.db);
    try {
      const runId = store.beginRun('scan', paths);
      const { inserted, updated } = store.upsertFindings(result.findings, runId);
      store.finishRun(runId, {
        events: result.stats.events,
        findings: result.findings.length,
        warnings: result.warnings.length,
        ipRangesSyncToken: result.ipRangesSyncToken,
      });
      status(`stored findings in ${options.db}: ${inserted} new, ${updated} updated`);
    } finally {
      store.close();
    }
  }
  status(summarise(result));
  return exitCodeFor(result.findings, failOn);
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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
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
    .option('--ip-ranges <file>', "AWS ip-ranges.json to judge addresses against (default: offbox's snapshot)")
    .option('--strict', 'treat any bad file or record as an error (exit 2)')
    .option('--no-progress', 'no progress line on stderr');
  addOutputOptions(command);
  addSourceOptions(command);
  command.action(async (paths: string[], options: ScanCliOptions) => {
    process.exitCode = await runScan(paths, options);
  });
}
