import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { SEVERITIES } from '../detect/finding.js';
import { compileSuppressions } from '../engine/suppress.js';
import { UsageError } from '../errors.js';
import { buildExposureReport, rollUp, type ExposureItem } from '../exposure/backlog.js';
import { exposureFinding, type ExposureFinding } from '../exposure/findings.js';
import { renderExposureMarkdown } from '../exposure/markdown.js';
import { exposureReading } from '../exposure/read.js';
import { unreadCloudTrail } from '../engine/input-check.js';
import { readCloudTrail, type ScanOptions } from '../engine/scan.js';
import { renderExposureTable } from '../exposure/table.js';
import { OwnershipMap } from '../inventory/ownership.js';
import { resolveRangesFile } from '../net/user-ranges.js';
import { renderFindings, shouldUseColor } from '../report/index.js';
import { offboxVersion } from '../report/version.js';
import { openSources, requireObjects, type SkippedEntries } from '../sources/index.js';
import { formatBytes, progressLine, status, writeResults } from './io.js';
import { listAhead, parseThreads, scanProgress } from './progress.js';
import {
  collect,
  loadInventoryWithStatus,
  reportSuppressions,
  s3OptionsFrom,
  storeFindings,
  warningPrinter,
} from './run.js';
import { addSourceOptions, exitCodeFor, parseFailOn } from './scan.js';

/** Output formats of `offbox exposure`: the finding formats plus the markdown migration plan. */
export const EXPOSURE_FORMATS = ['table', 'json', 'ndjson', 'csv', 'markdown'] as const;
export type ExposureFormat = (typeof EXPOSURE_FORMATS)[number];

export interface ExposureCliOptions {
  inventory?: string[];
  format?: string;
  output?: string;
  failOn: string;
  config?: string;
  ipRanges?: string;
  strict?: boolean;
  progress: boolean;
  threads?: string;
  endpointUrl?: string;
  profile?: string;
  region?: string;
  db?: string;
}

function parseExposureFormat(value: string | undefined, stdoutIsTty: boolean): ExposureFormat {
  if (value === undefined) return stdoutIsTty ? 'table' : 'ndjson';
  if ((EXPOSURE_FORMATS as readonly string[]).includes(value)) return value as ExposureFormat;
  throw new UsageError(`--format ${value} is not known`, `use one of ${EXPOSURE_FORMATS.join(', ')}`);
}

function summarise(items: readonly ExposureItem[]): string {
  if (items.length === 0) return 'no IMDSv1 exposure';
  const counts = SEVERITIES.map((s) => [s, items.filter((i) => i.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  const seen = items.filter((i) => i.imdsv1.calls > 0).length;
  return `${items.length} instance${items.length === 1 ? '' : 's'} on the IMDSv1 backlog (${counts}; ${seen} with 1.0 deliveries seen)`;
}

/** Runs `offbox exposure`: read logs and inventory, rank the IMDSv1 backlog, print; returns the exit code. */
export async function runExposure(paths: string[], options: ExposureCliOptions): Promise<number> {
  const failOn = parseFailOn(options.failOn);
  const stdoutIsTty = process.stdout.isTTY === true && options.output === undefined;
  const format = parseExposureFormat(options.format, stdoutIsTty);
  const inventoryDirs = options.inventory ?? [];
  if (paths.length === 0 && inventoryDirs.length === 0) {
    throw new UsageError(
      'offbox exposure needs CloudTrail logs, an inventory, or both',
      'give log paths (files, folders, s3://, -) and/or --inventory DIR',
    );
  }
  const config = options.config ? loadConfig(options.config) : undefined;
  const suppressions = compileSuppressions(config?.suppress ?? []);
  const progress = progressLine(options.progress);
  const rangesFile = resolveRangesFile(options.ipRanges);
  const trailProgress = scanProgress(options.progress);
  const warnings = warningPrinter({
    done: () => {
      progress.done();
      trailProgress.done();
    },
  });
  const inventory = loadInventoryWithStatus(inventoryDirs);
  if (inventory) {
    if (inventory.roles.size === 0)
      status('no IAM details in the inventory (iam get-account-authorization-details): role privilege is unknown');
  } else {
    status(
      'no inventory: instances that allow IMDSv1 without using it cannot be listed, and role privilege is unknown',
    );
  }

  const skipped: SkippedEntries = { digests: 0, otherNames: 0 };
  const sources = openSources(paths, { ...s3OptionsFrom(options), skipped });
  // An inventory alone is a valid run; logs named but holding nothing are not.
  const listed = await listAhead(
    paths,
    paths.length > 0 ? requireObjects(sources, paths, skipped) : sources,
    trailProgress.active,
  );
  const objects = listed.objects;
  trailProgress.setTotal(listed.total);
  const readOptions: Omit<ScanOptions, 'detectors'> = {
    ...(config ? { config } : {}),
    ...(rangesFile ? { ipRangesFile: rangesFile } : {}),
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
  };
  const read = await readCloudTrail(objects, readOptions);
  trailProgress.done();
  warnings.flush('records');
  const unread = paths.length > 0 ? unreadCloudTrail(read) : undefined;
  if (unread?.nothingRead) throw unread.error;
  const reading = exposureReading(read.state, read, readOptions);

  const now = new Date();
  const report = buildExposureReport({
    usages: reading.usages,
    vending: reading.vending,
    sourceJudgements: reading.sourceJudgements,
    ownership: reading.ownership ?? new OwnershipMap(),
    now,
  });
  const { kept, suppressed } = suppressions.apply(
    report.items.map((item) => exposureFinding(item, reading.ipRangesSyncToken)),
  );
  const keptIds = new Set(kept.map((f) => f.principal.instanceId));
  const items = report.items.filter((item) => keptIds.has(item.instanceId));
  items.forEach((item, i) => (item.rank = i + 1));
  const findings: ExposureFinding[] = items.map((item) => exposureFinding(item, reading.ipRangesSyncToken));
  const { roles, accounts } = rollUp(items);
  reportSuppressions(suppressed, suppressions.expired);

  const color = format === 'table' && options.output === undefined && shouldUseColor(process.stdout, process.env);
  let text: string;
  switch (format) {
    case 'markdown':
      text = renderExposureMarkdown({
        items,
        roles,
        accounts,
        inputs: paths,
        inventory: inventoryDirs,
        version: offboxVersion(),
        now,
        skipped: report.skipped.length,
      });
      break;
    case 'table':
      text = renderExposureTable(items, accounts, { color, width: process.stdout.columns ?? 120 });
      break;
    default:
      text = renderFindings(findings, format, {
        meta: {
          command: 'exposure',
          inputs: paths,
          inventory: inventoryDirs,
          ipRangesSyncToken: reading.ipRangesSyncToken,
          stats: reading.stats,
          warningCount: reading.stats.badFiles + reading.stats.badRecords,
          warnings: reading.warnings,
          suppressed,
          roles,
          accounts,
          skipped: report.skipped,
        },
        version: offboxVersion(),
        now,
      });
  }
  writeResults(text, options.output);
  if (options.db) {
    storeFindings(options.db, 'exposure', { paths, inventory: inventoryDirs }, findings, {
      events: reading.stats.events,
      warnings: reading.warnings.length,
      ipRangesSyncToken: reading.ipRangesSyncToken,
    });
  }
  const { stats } = reading;
  status(
    `read ${stats.files} files, ${stats.events} events (${formatBytes(stats.bytes)}) — ${summarise(items)}` +
      (report.skipped.length > 0 ? `; ${report.skipped.length} terminated instances left out` : '') +
      (suppressed.length > 0 ? `; ${suppressed.length} suppressed by config` : '') +
      (stats.badFiles + stats.badRecords > 0
        ? `; skipped ${stats.badFiles} bad files and ${stats.badRecords} bad records (listed above)`
        : ''),
  );
  if (unread) throw unread.error;
  return exitCodeFor(findings, failOn);
}

/** Registers `offbox exposure PATH… [--inventory DIR]…`: the IMDSv1 backlog ranked by role privilege. */
export function registerExposure(program: Command): void {
  const command = program
    .command('exposure')
    .description(
      'rank the IMDSv1 backlog: instances whose role credentials are still fetched through IMDSv1, by role privilege',
    )
    .argument('[paths...]', 'CloudTrail files, folders (recursive), s3://bucket/prefix, or - for stdin')
    .option(
      '-i, --inventory <dir>',
      'AWS CLI JSON outputs (describe-instances with MetadataOptions, iam get-account-authorization-details); repeatable',
      collect,
      [],
    )
    .option(
      '-f, --format <format>',
      `output format: ${EXPOSURE_FORMATS.join(', ')} (default: table on a terminal, ndjson otherwise)`,
    )
    .option('-o, --output <file>', 'write results to a file instead of stdout')
    .option(
      '--fail-on <severity>',
      `exit 1 when an item is at or above this severity (${SEVERITIES.join(', ')}, none); a backlog, so none by default`,
      'none',
    )
    .option('-c, --config <file>', 'offbox.yaml: suppress rules for imdsv1-credential-delivery')
    .option('--ip-ranges <file>', "AWS ip-ranges.json (default: offbox's snapshot)")
    .option('--strict', 'treat any bad file or record as an error (exit 2)')
    .option('--threads <n>', 'worker threads reading the trail (default: every core)')
    .option('--no-progress', 'no progress line on stderr')
    .option(
      '--db <file>',
      'also store the backlog as findings in this SQLite file (offbox findings and serve read it)',
    );
  addSourceOptions(command);
  command.action(async (paths: string[], options: ExposureCliOptions) => {
    process.exitCode = await runExposure(paths, options);
  });
}
