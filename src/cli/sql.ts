import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { loadConfig } from '../config/config.js';
import { DEFAULT_IP_RANGES_FILE } from '../net/aws-ranges.js';
import { resolveRangesFile } from '../net/user-ranges.js';
import { athenaEventsCte, athenaHuntQueries, type AthenaTableSelection } from '../sql/athena-queries.js';
import { detectorCandidatesSql } from '../sql/detectors.js';
import { huntQueries } from '../sql/aggregate.js';
import { athenaCloudTrailDdl } from '../sql/athena-ddl.js';
import { athena, duckdb, trino, type DialectName } from '../sql/dialect.js';
import { duckDbEventsSql } from '../sql/events.js';
import { parseTime } from './hunt.js';
import { writeResults } from './io.js';

interface SqlCliOptions {
  dialect: string;
  ddl?: boolean;
  detectors?: boolean;
  config?: string;
  ipRanges?: string;
  database?: string;
  table: string;
  bucket?: string;
  prefix?: string;
  orgId?: string;
  accounts?: string;
  regions?: string;
  startDate?: string;
  since?: string;
  until?: string;
  output?: string;
}

const DIALECTS: readonly DialectName[] = ['athena', 'trino', 'duckdb'];

function list(value: string | undefined): string[] | undefined {
  return value === undefined
    ? undefined
    : value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
}

/** The SQL `offbox hunt` runs, for a user to read, review or run by hand. */
export function renderSql(paths: readonly string[], options: SqlCliOptions): string {
  if (!DIALECTS.includes(options.dialect as DialectName)) {
    throw new UsageError(`--dialect ${options.dialect} is not known`, `use one of ${DIALECTS.join(', ')}`);
  }
  const header = (name: string, what: string) => `-- offbox ${name}: ${what}\n`;
  if (options.ddl) {
    if (options.dialect === 'duckdb') {
      throw new UsageError(
        '--ddl is for Athena (and Trino over the same table)',
        'DuckDB reads the files directly: name them instead',
      );
    }
    if (!options.bucket) throw new UsageError('--ddl needs --bucket', "the trail's S3 bucket name (not an s3:// URL)");
    const accounts = list(options.accounts);
    const regions = list(options.regions);
    return `${athenaCloudTrailDdl({
      table: options.table,
      ...(options.database ? { database: options.database } : {}),
      bucket: options.bucket,
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(accounts ? { accounts } : {}),
      ...(options.orgId ? { organizationId: options.orgId } : {}),
      ...(regions ? { regions } : {}),
      startDate: options.startDate ?? '2024/01/01',
    })}\n`;
  }
  if (options.detectors) {
    const config = options.config ? loadConfig(options.config) : undefined;
    const candidateOptions = {
      ipRangesFile: resolveRangesFile(options.ipRanges) ?? DEFAULT_IP_RANGES_FILE,
      allowedSourceCidrs: config?.allowedSourceCidrs ?? [],
    };
    const events = options.dialect === 'duckdb' ? duckDbEvents(paths) : athenaEventsCte(tableSelection(paths, options));
    const dialect = options.dialect === 'duckdb' ? duckdb : options.dialect === 'trino' ? trino : athena;
    return (
      detectorCandidatesSql(dialect, events, candidateOptions)
        .map((q) => header(q.detector, `candidates: ${q.condition}`) + q.sql + ';')
        .join('\n\n') + '\n'
    );
  }
  const queries =
    options.dialect === 'duckdb'
      ? huntQueries(duckdb, duckDbEvents(paths))
      : athenaHuntQueries(tableSelection(paths, options));
  return queries.map((q) => header(q.name, q.description) + q.sql + ';').join('\n\n') + '\n';
}

/** DuckDB reads the files named, or CloudTrail's delivery layout under ./cloudtrail. */
function duckDbEvents(paths: readonly string[]): string {
  return duckDbEventsSql(duckdb, [{ files: paths.length > 0 ? paths : ['cloudtrail/**/*.json.gz'], gzip: true }]);
}

function tableSelection(paths: readonly string[], options: SqlCliOptions): AthenaTableSelection {
  if (paths.length > 0) {
    throw new UsageError(
      `--dialect ${options.dialect} reads a table, not files`,
      'name the table with --table (and --database)',
    );
  }
  const since = parseTime(options.since, '--since');
  const until = parseTime(options.until, '--until');
  const accounts = list(options.accounts);
  return {
    table: options.table,
    database: options.database ?? 'default',
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(accounts ? { accounts } : {}),
  };
}

export function registerSql(program: Command): void {
  program
    .command('sql')
    .description(
      'print the SQL offbox hunt runs (or, with --ddl, the Athena CloudTrail table) for review or to run by hand',
    )
    .argument('[paths...]', 'files or globs DuckDB reads (--dialect duckdb)')
    .requiredOption('--dialect <dialect>', `SQL dialect: ${DIALECTS.join(', ')}`)
    .option('--ddl', 'print the CREATE EXTERNAL TABLE for the trail (partition projection) instead of the queries')
    .option('--detectors', "print each detector's candidate query (usages meeting a necessary condition of it) instead")
    .option('-c, --config <file>', '--detectors: offbox.yaml whose allowedSourceCidrs the candidates leave out')
    .option('--ip-ranges <file>', "--detectors: AWS ip-ranges.json (default: offbox's snapshot)")
    .option('--database <name>', 'database of the CloudTrail table')
    .option('--table <name>', 'the CloudTrail table', 'cloudtrail_logs')
    .option('--bucket <name>', "--ddl: the trail's S3 bucket")
    .option('--prefix <prefix>', "--ddl: the trail's key prefix (the part before AWSLogs/)")
    .option('--org-id <id>', '--ddl: organisation id of an organisation trail (o-…)')
    .option(
      '--accounts <ids>',
      'comma-separated account ids (--ddl: the account partition; queries: the accounts read)',
    )
    .option('--regions <regions>', '--ddl: comma-separated regions the trail logs (default: every commercial region)')
    .option('--start-date <yyyy/MM/dd>', '--ddl: first day of the timestamp partition (default 2024/01/01)')
    .option('--since <time>', 'queries: read events from this time')
    .option('--until <time>', 'queries: read events before this time')
    .option('-o, --output <file>', 'write the SQL to a file instead of stdout')
    .action((paths: string[], options: SqlCliOptions) => {
      writeResults(renderSql(paths, options), options.output);
    });
}
