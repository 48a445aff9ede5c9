import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { UsageError } from '../errors.js';
import { huntWithDuckDb } from '../hunt/duckdb.js';
import { loadAwsRanges } from '../net/aws-ranges.js';
import { resolveRangesFile } from '../net/user-ranges.js';
import { unreadCloudTrail } from '../engine/input-check.js';
import { requireObjects, type SkippedEntries } from '../sources/index.js';
import { listLocal } from '../sources/local.js';
import { formatBytes, progressLine } from './io.js';
import { collect, loadInventoryWithStatus, warningPrinter } from './run.js';
import { addOutputOptions, parseFailOn, parseFormat, reportTrail, type ScanCliOptions } from './scan.js';

interface HuntCliOptions extends Pick<
  ScanCliOptions,
  'format' | 'output' | 'failOn' | 'db' | 'config' | 'ipRanges' | 'inventory' | 'progress'
> {
  engine: string;
  database?: string;
  table?: string;
  workgroup?: string;
  outputLocation?: string;
  catalog?: string;
  accounts?: string;
  since?: string;
  until?: string;
  region?: string;
  profile?: string;
  endpointUrl?: string;
  threads?: string;
}

/** An ISO date or date-time for --since/--until. */
export function parseTime(value: string | undefined, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(date.getTime())) {
    throw new UsageError(
      `${flag} ${value} is not a date`,
      'use an ISO date or time, e.g. 2026-03-01 or 2026-03-01T12:00:00Z',
    );
  }
  return date;
}

function required(value: string | undefined, flag: string, what: string): string {
  if (value === undefined || value === '') {
    throw new UsageError(`--engine athena needs ${flag}`, what);
  }
  return value;
}

export async function runHunt(paths: string[], options: HuntCliOptions): Promise<number> {
  const failOn = parseFailOn(options.failOn);
  const format = parseFormat(options.format, process.stdout.isTTY === true && options.output === undefined);
  const config = options.config ? loadConfig(options.config) : undefined;
  const awsRanges = loadAwsRanges(resolveRangesFile(options.ipRanges));
  const inventory = loadInventoryWithStatus(options.inventory);
  const common = { ...(config ? { config } : {}), awsRanges, ...(inventory ? { inventory } : {}) };
  const run = { webLogs: [], format, failOn, command: 'hunt' as const, options };

  if (options.engine === 'duckdb') {
    if (paths.length === 0)
      throw new UsageError(
        '--engine duckdb reads local log files: name them',
        'e.g. offbox hunt --engine duckdb ./cloudtrail',
      );
    if (options.since || options.until) {
      throw new UsageError(
        '--since and --until choose Athena partitions',
        'with --engine duckdb, name the files or folders to read',
      );
    }
    const skipped: SkippedEntries = { digests: 0, otherNames: 0 };
    const warnings = warningPrinter({ done: () => undefined });
    const result = await huntWithDuckDb(requireObjects(listLocal(paths, { skipped }), paths, skipped), {
      ...common,
      ...(options.threads ? { threads: Number(options.threads) } : {}),
      onWarning: (warning) => warnings.warn(warning.file, warning.file, warning.reason),
    });
    warnings.flush('files');
    const unread = unreadCloudTrail(result);
    if (unread?.nothingRead) throw unread.error;
    const code = reportTrail(result, undefined, { ...run, paths, note: 'aggregated by DuckDB' });
    if (unread) throw unread.error;
    return code;
  }
  if (options.engine !== 'athena') {
    throw new UsageError(`--engine ${options.engine} is not known`, 'use duckdb (local files) or athena');
  }
  if (paths.length > 0) {
    throw new UsageError(
      '--engine athena reads the table, not files',
      `leave out ${paths.join(' ')}, or use --engine duckdb for local files`,
    );
  }
  const database = required(
    options.database,
    '--database',
    'the Athena (Glue) database that holds the CloudTrail table',
  );
  const table = required(
    options.table,
    '--table',
    'the CloudTrail table (offbox sql --dialect athena --ddl creates one)',
  );
  const since = parseTime(options.since, '--since');
  const until = parseTime(options.until, '--until');
  // Loaded on use: the AWS SDK takes a while to load, and duckdb hunts do not need it.
  const { huntWithAthena } = await import('../hunt/athena-hunt.js');
  const { createAthenaClient } = await import('../hunt/athena.js');
  const accounts = options.accounts
    ? options.accounts
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean)
    : undefined;
  const client = createAthenaClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.endpointUrl ? { endpointUrl: options.endpointUrl } : {}),
  });
  const progress = progressLine(options.progress);
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  try {
    const result = await huntWithAthena(client, {
      ...common,
      database,
      table,
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(accounts ? { accounts } : {}),
      ...(options.workgroup ? { workgroup: options.workgroup } : {}),
      ...(options.outputLocation ? { outputLocation: options.outputLocation } : {}),
      ...(options.catalog ? { catalog: options.catalog } : {}),
      signal: abort.signal,
      onProgress: (p) =>
        progress.update(
          `offbox: Athena ${p.state.toLowerCase()}, ${formatBytes(p.scannedBytes)} scanned, ${(p.elapsedMs / 1000).toFixed(0)}s`,
        ),
    });
    progress.done();
    const scanned = result.queries.reduce((sum, q) => sum + q.scannedBytes, 0);
    const cost = result.queries.reduce((sum, q) => sum + q.costUsd, 0);
    return reportTrail(result, undefined, {
      ...run,
      paths: [`athena:${database}.${table}`],
      note: `Athena scanned ${formatBytes(scanned)} in ${result.queries.length} queries (about $${cost.toFixed(4)})`,
    });
  } finally {
    progress.done();
    process.removeListener('SIGINT', onSignal);
    client.destroy();
  }
}

export function registerHunt(program: Command): void {
  const command = program
    .command('hunt')
    .description(
      "run the CloudTrail detectors with the reading pushed down to a SQL engine: DuckDB over local files, or Athena over the organisation's table (same findings and ids as scan)",
    )
    .argument('[paths...]', 'log files or folders (--engine duckdb)')
    .requiredOption('--engine <engine>', 'duckdb (local files) or athena (a CloudTrail table)')
    .option('--database <name>', 'Athena: database of the CloudTrail table')
    .option('--table <name>', 'Athena: the CloudTrail table (offbox sql --dialect athena --ddl)')
    .option('--workgroup <name>', 'Athena: workgroup (default: primary)')
    .option('--output-location <s3url>', 'Athena: s3:// location for query results (unless the workgroup sets one)')
    .option('--catalog <name>', 'Athena: data catalog (default: AwsDataCatalog)')
    .option(
      '--accounts <ids>',
      'Athena: comma-separated account ids (needed when the table injects its account partition)',
    )
    .option('--since <time>', 'Athena: read events from this time (partitions before it are not scanned)')
    .option('--until <time>', 'Athena: read events before this time')
    .option('--region <region>', 'Athena: AWS region of the table')
    .option('--profile <name>', 'Athena: AWS profile (standard credential chain otherwise)')
    .option('--endpoint-url <url>', 'Athena: endpoint (Athena-compatible services)')
    .option('--threads <n>', 'DuckDB: threads (default: every core)')
    .option('-i, --inventory <dir>', 'AWS CLI JSON outputs (as for scan); repeatable', collect, [])
    .option('-c, --config <file>', 'offbox.yaml: trusted accounts, allowed source CIDRs, suppress rules')
    .option('--ip-ranges <file>', "AWS ip-ranges.json (default: offbox's snapshot)")
    .option('--no-progress', 'no progress line on stderr');
  addOutputOptions(command);
  command.action(async (paths: string[], options: HuntCliOptions) => {
    process.exitCode = await runHunt(paths, options);
  });
}
