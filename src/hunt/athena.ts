/**
 * Runs one SQL statement on Amazon Athena and returns its rows: StartQueryExecution, GetQueryExecution
 * polled with exponential backoff until the query ends, then GetQueryResults page by page. Ctrl-C
 * (the caller's AbortSignal) stops the query with StopQueryExecution. Every failure is an AwsError whose
 * hint says what to check.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type AthenaClientConfig,
  type QueryExecution,
  type Row,
  type StartQueryExecutionCommandInput,
} from '@aws-sdk/client-athena';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { setTimeout as delay } from 'node:timers/promises';
import { AwsError, isNetworkFailure, OffboxError, sdkFailure } from '../errors.js';

export interface AthenaQueryOptions {
  /** Database the query's unqualified table names resolve in. */
  database: string;
  /** Workgroup to run in; Athena's default (`primary`) when omitted. */
  workgroup?: string;
  /** `s3://…` for the query results; needed unless the workgroup sets one. */
  outputLocation?: string;
  /** Data catalog; Athena's default (`AwsDataCatalog`, the Glue catalog) when omitted. */
  catalog?: string;
  /** Aborting it (Ctrl-C) stops the query with StopQueryExecution and rejects. */
  signal?: AbortSignal;
  /** Delay between GetQueryExecution polls: starts at `initial`, doubles, capped at `max` (250 ms → 5 s). */
  pollMs?: { initial: number; max: number };
  /** Called after every poll with the query's state, the time since it was started and the bytes scanned so far. */
  onProgress?: (p: { state: string; elapsedMs: number; scannedBytes: number }) => void;
  /** Waits between polls (tests inject one that records the delays). */
  sleep?: (ms: number) => Promise<void>;
}

export interface AthenaQueryResult {
  queryExecutionId: string;
  /** Column names, in order. */
  columns: string[];
  /** Data rows (the header row of a SELECT dropped); SQL NULL is null. */
  rows: (string | null)[][];
  /** Statistics.DataScannedInBytes. */
  scannedBytes: number;
  /** Statistics.EngineExecutionTimeInMillis. */
  engineMs: number;
  /** What Athena bills for the scan: see {@link athenaQueryCostUsd}. */
  costUsd: number;
}

/** Athena's price for SQL queries, US dollars per terabyte scanned (https://aws.amazon.com/athena/pricing/). */
export const ATHENA_USD_PER_TB = 5;
/** Athena bills at least 10 MB per query, and rounds the bytes scanned up to the next megabyte (same page). */
export const ATHENA_MIN_BILLED_MB = 10;
const MB = 1024 * 1024;
const TB = 1024 * 1024 * MB;

/** GetQueryResults' largest page. */
export const ATHENA_RESULTS_PAGE = 1000;
/** Default polling backoff: 250 ms, doubling, at most 5 s. */
export const ATHENA_POLL_MS = { initial: 250, max: 5000 } as const;

/**
 * The cost of a query that scanned `scannedBytes`, at {@link ATHENA_USD_PER_TB}: the bytes rounded up
 * to whole megabytes, at least {@link ATHENA_MIN_BILLED_MB}. DDL statements (CREATE TABLE …) are not
 * billed; pass `statementType` to have them cost nothing.
 */
export function athenaQueryCostUsd(scannedBytes: number, statementType?: string): number {
  if (statementType === 'DDL') return 0;
  const billedMb = Math.max(Math.ceil(Math.max(scannedBytes, 0) / MB), ATHENA_MIN_BILLED_MB);
  return ((billedMb * MB) / TB) * ATHENA_USD_PER_TB;
}

/** The query failed or was cancelled outside offbox (Athena's reason is in the message). */
export class AthenaQueryError extends AwsError {
  readonly queryExecutionId: string;
  readonly state: string;
  constructor(message: string, hint: string, queryExecutionId: string, state: string) {
    super(message, hint);
    this.queryExecutionId = queryExecutionId;
    this.state = state;
  }
}

/** The caller aborted (Ctrl-C); the running query was sent StopQueryExecution. */
export class AthenaQueryCancelledError extends AwsError {
  /** Undefined when the signal had aborted before the query was started. */
  readonly queryExecutionId: string | undefined;
  /** Whether StopQueryExecution was accepted (false: the query may still run, or had already ended). */
  readonly stopped: boolean;
  /** Bytes scanned as of the last poll (Athena bills a cancelled query for what it scanned). */
  readonly scannedBytes: number;
  constructor(
    message: string,
    hint: string,
    fields: { queryExecutionId: string | undefined; stopped: boolean; scannedBytes: number },
    cause?: unknown,
  ) {
    super(message, hint, cause === undefined ? undefined : { cause });
    this.queryExecutionId = fields.queryExecutionId;
    this.stopped = fields.stopped;
    this.scannedBytes = fields.scannedBytes;
  }
}

export interface AthenaClientOptions {
  /** Region to run queries in (that of the table's Glue catalog); default from the environment or profile. */
  region?: string;
  /** Named profile for credentials (and region) from the AWS config files. */
  profile?: string;
  /** An Athena-compatible endpoint; implies us-east-1 when no region is configured. */
  endpointUrl?: string;
}

/** An Athena client with the standard credential chain (the named profile when given), as src/sources/s3.ts builds S3's. */
export function createAthenaClient(opts: AthenaClientOptions = {}): AthenaClient {
  const config: AthenaClientConfig = {};
  if (opts.profile !== undefined) {
    config.profile = opts.profile;
    config.credentials = fromNodeProviderChain({ profile: opts.profile });
  }
  if (opts.region !== undefined) config.region = opts.region;
  else if (opts.endpointUrl !== undefined && !process.env['AWS_REGION'] && !process.env['AWS_DEFAULT_REGION']) {
    config.region = 'us-east-1';
  }
  if (opts.endpointUrl !== undefined) config.endpoint = opts.endpointUrl;
  return new AthenaClient(config);
}

/** What an Athena call was about, for error messages and hints. */
interface AthenaContext {
  operation: string;
  database: string;
  workgroup: string | undefined;
  outputLocation: string | undefined;
  catalog: string | undefined;
  queryExecutionId?: string;
}

const PERMISSIONS_HINT =
  'the credentials need athena:StartQueryExecution, athena:GetQueryExecution, athena:GetQueryResults and ' +
  'athena:StopQueryExecution on the workgroup, glue:GetDatabase and glue:GetTable on the table, s3:GetObject and ' +
  's3:ListBucket on the trail bucket (kms:Decrypt for SSE-KMS trails), and s3:PutObject, s3:GetObject, ' +
  's3:ListBucket and s3:GetBucketLocation on the output location (see docs/athena.md)';

const OUTPUT_LOCATION_HINT =
  'pass --output-location s3://bucket/prefix/ (a bucket in the same region that the credentials can write), ' +
  "or set a query result location on the workgroup; the location's bucket must exist";

/** Maps an AWS SDK failure on Athena to an AwsError whose hint says what to do next. */
export function athenaError(err: unknown, ctx: AthenaContext): OffboxError {
  if (err instanceof OffboxError) return err;
  const { name, code, message, status } = sdkFailure(err);
  const what = `Athena ${ctx.operation}${ctx.queryExecutionId !== undefined ? ` (query ${ctx.queryExecutionId})` : ''}`;
  const opts = { cause: err };

  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new AwsError(
      `no AWS credentials found: ${message}`,
      'run `aws configure`, set AWS_PROFILE, or pass --profile (aws sso login --profile NAME for SSO profiles)',
      opts,
    );
  }
  if (name === 'ExpiredToken' || name === 'ExpiredTokenException' || name === 'TokenRefreshRequired') {
    return new AwsError('AWS credentials have expired', 'refresh them (e.g. aws sso login) and run again', opts);
  }
  if (name === 'UnrecognizedClientException' || name === 'InvalidSignatureException') {
    return new AwsError(
      `Athena rejected the credentials (${name})`,
      'check the access key and secret, or pass --profile with working credentials',
      opts,
    );
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || status === 403) {
    return new AwsError(`access denied: ${what}: ${message}`, PERMISSIONS_HINT, opts);
  }
  if (name === 'TooManyRequestsException' || name === 'ThrottlingException' || status === 429) {
    return new AwsError(
      `Athena is throttling requests (${what}): ${message}`,
      'too many queries are running in this account or workgroup: wait a minute and run again, or ask for a higher Athena quota',
      opts,
    );
  }
  if (name === 'InvalidRequestException') {
    let hint = 'check the SQL, --database, --workgroup and --output-location';
    if (/mismatched input|Expecting:|syntax error|MALFORMED/i.test(message)) {
      hint =
        'Athena could not parse the SQL offbox generated: report it as an offbox bug, with `offbox sql --dialect athena` output';
    } else if (/output location|result location|OutputLocation/i.test(message)) hint = OUTPUT_LOCATION_HINT;
    else if (/work ?group/i.test(message)) {
      hint = `check --workgroup${ctx.workgroup !== undefined ? ` (${ctx.workgroup})` : ''}: it must exist and be enabled in this region (aws athena list-work-groups), or pass --region`;
    } else if (/database|schema|catalog/i.test(message)) {
      hint = `check --database (${ctx.database})${ctx.catalog !== undefined ? ` and --catalog (${ctx.catalog})` : ''} in this region`;
    }
    return new AwsError(`Athena refused the request (${what}): ${message}`, hint, opts);
  }
  if (name === 'ResourceNotFoundException') {
    return new AwsError(
      `Athena resource not found (${what}): ${message}`,
      'check --workgroup, --catalog and --region: Athena resources are per region',
      opts,
    );
  }
  if (name === 'MetadataException') {
    return new AwsError(
      `the data catalog failed (${what}): ${message}`,
      `check --database (${ctx.database}) and --catalog, and glue:GetDatabase / glue:GetTable permissions`,
      opts,
    );
  }
  if (/region is missing/i.test(message)) {
    return new AwsError(
      'no AWS region configured',
      "pass --region (the Athena table's region), or set AWS_REGION",
      opts,
    );
  }
  if (isNetworkFailure({ name, code })) {
    return new AwsError(
      `cannot reach Athena: ${code || name} ${message}`.trim(),
      'check the network connection, --region and --endpoint-url',
      opts,
    );
  }
  if (name === 'InternalServerException' || (status !== undefined && status >= 500)) {
    return new AwsError(`Athena had an internal error (${what}): ${message}`, 'run again in a moment', opts);
  }
  return new AwsError(
    `${what} failed: ${name || code || 'error'}${status !== undefined ? ` (HTTP ${status})` : ''}: ${message}`,
    'check the credentials, --region, --workgroup and --output-location; compare with `aws athena list-work-groups` using the same profile',
    opts,
  );
}

/** The hint for a query that Athena ran and failed, from its reason. */
function failureHint(reason: string, ctx: AthenaContext): string {
  if (/TABLE_NOT_FOUND|SCHEMA_NOT_FOUND|does not exist|not found/i.test(reason) && !/s3:\/\//i.test(reason)) {
    return `check --database (${ctx.database}) and --table, and --region; create the table first with the DDL that \`offbox sql --dialect athena --ddl\` prints (docs/athena.md)`;
  }
  if (/CONSTRAINT_VIOLATION.*injected/i.test(reason)) {
    return "the table's account partition is injected, so every query must name its accounts: recreate the table with the accounts listed (enum), see docs/athena.md";
  }
  if (/COLUMN_NOT_FOUND|cannot be resolved|HIVE_BAD_DATA|HIVE_CURSOR_ERROR/i.test(reason)) {
    return "the table's columns or data do not match offbox's: recreate it from `offbox sql --dialect athena --ddl`";
  }
  if (/output|result|write|PutObject/i.test(reason) && /denied|permission|location|bucket/i.test(reason)) {
    return OUTPUT_LOCATION_HINT;
  }
  if (/denied|permission|not authorized|Lake Formation|AccessDenied|KMS/i.test(reason)) return PERMISSIONS_HINT;
  if (/exhausted resources|EXCEEDED|timeout|timed out/i.test(reason)) {
    return 'the query was too large for Athena: pass a later --since (fewer days scanned) and run again';
  }
  return (
    'check the permissions (Athena, Glue, s3:GetObject on the trail bucket, s3:PutObject on the output location), ' +
    'the output location, and that --database and --table name the table created from `offbox sql --dialect athena --ddl`'
  );
}

function queryFailed(execution: QueryExecution, id: string, ctx: AthenaContext): AthenaQueryError {
  const state = execution.Status?.State ?? 'FAILED';
  const reason =
    execution.Status?.StateChangeReason ?? execution.Status?.AthenaError?.ErrorMessage ?? 'Athena gave no reason';
  if (state === 'CANCELLED') {
    return new AthenaQueryError(
      `Athena query ${id} was cancelled: ${reason}`,
      "it was stopped outside offbox, or by the workgroup's per-query data usage limit: pass a later --since or raise the limit, then run again",
      id,
      state,
    );
  }
  return new AthenaQueryError(`Athena query ${id} failed: ${reason}`, failureHint(reason, ctx), id, state);
}

/** Rejects as soon as `signal` aborts, leaving `promise` to settle unobserved. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function formatBytes(bytes: number): string {
  if (bytes < MB) return `${bytes} bytes`;
  if (bytes < 1024 * MB) return `${(bytes / MB).toFixed(1)} MB`;
  return `${(bytes / (1024 * MB)).toFixed(2)} GB`;
}

/**
 * Runs `sql` on Athena and returns its columns and rows, the bytes scanned, the engine time and the
 * cost. See {@link AthenaQueryOptions}; throws AwsErrors (AthenaQueryError when the query failed,
 * AthenaQueryCancelledError when `signal` aborted).
 */
export async function runAthenaQuery(
  client: Pick<AthenaClient, 'send'>,
  sql: string,
  options: AthenaQueryOptions,
): Promise<AthenaQueryResult> {
  const poll = options.pollMs ?? ATHENA_POLL_MS;
  if (!(poll.initial > 0) || !(poll.max >= poll.initial)) {
    throw new RangeError(
      `bad Athena polling interval ${poll.initial}–${poll.max} ms: the initial delay must be positive and at most the maximum`,
    );
  }
  const signal = options.signal;
  const sleep = options.sleep ?? ((ms: number) => delay(ms, undefined, signal ? { signal } : {}));
  const ctx: AthenaContext = {
    operation: 'StartQueryExecution',
    database: options.database,
    workgroup: options.workgroup,
    outputLocation: options.outputLocation,
    catalog: options.catalog,
  };
  if (signal?.aborted) {
    throw new AthenaQueryCancelledError('Athena query cancelled before it was started', 'nothing ran; run again', {
      queryExecutionId: undefined,
      stopped: false,
      scannedBytes: 0,
    });
  }

  const input: StartQueryExecutionCommandInput = {
    QueryString: sql,
    QueryExecutionContext: {
      Database: options.database,
      ...(options.catalog !== undefined ? { Catalog: options.catalog } : {}),
    },
    ...(options.workgroup !== undefined ? { WorkGroup: options.workgroup } : {}),
    ...(options.outputLocation !== undefined
      ? { ResultConfiguration: { OutputLocation: options.outputLocation } }
      : {}),
  };
  const started = Date.now();
  let id: string | undefined;
  try {
    // Not abortable: if Ctrl-C comes now, the query still starts, and is stopped below once its id is known.
    id = (await client.send(new StartQueryExecutionCommand(input))).QueryExecutionId;
  } catch (err) {
    throw athenaError(err, ctx);
  }
  if (id === undefined || id === '') {
    throw new AwsError('Athena started the query but returned no query execution id', 'run again', {});
  }
  const queryId = id;
  ctx.queryExecutionId = queryId;
  let scannedBytes = 0;

  const cancel = async (): Promise<never> => {
    let stopError: unknown;
    try {
      await client.send(new StopQueryExecutionCommand({ QueryExecutionId: queryId }));
    } catch (err) {
      stopError = err;
    }
    const scanned = `after scanning ${formatBytes(scannedBytes)}`;
    if (stopError !== undefined) {
      const why = athenaError(stopError, { ...ctx, operation: 'StopQueryExecution' }).message;
      throw new AthenaQueryCancelledError(
        `cancelled; stopping Athena query ${queryId} failed (${why}), so it may still be running (${scanned})`,
        `stop it with: aws athena stop-query-execution --query-execution-id ${queryId}`,
        { queryExecutionId: queryId, stopped: false, scannedBytes },
        stopError,
      );
    }
    throw new AthenaQueryCancelledError(
      `cancelled: Athena query ${queryId} stopped ${scanned}`,
      'Athena bills a cancelled query for the data it scanned; run again to get findings',
      { queryExecutionId: queryId, stopped: true, scannedBytes },
    );
  };

  let execution: QueryExecution;
  let wait = poll.initial;
  for (;;) {
    if (signal?.aborted) return cancel();
    ctx.operation = 'GetQueryExecution';
    try {
      execution =
        (await abortable(client.send(new GetQueryExecutionCommand({ QueryExecutionId: queryId })), signal))
          .QueryExecution ?? {};
    } catch (err) {
      if (signal?.aborted) return cancel();
      throw athenaError(err, ctx);
    }
    const state = execution.Status?.State ?? 'UNKNOWN';
    scannedBytes = execution.Statistics?.DataScannedInBytes ?? scannedBytes;
    options.onProgress?.({ state, elapsedMs: Date.now() - started, scannedBytes });
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED') throw queryFailed(execution, queryId, ctx);
    try {
      await abortable(sleep(wait), signal);
    } catch (err) {
      if (signal?.aborted) return cancel();
      throw err;
    }
    wait = Math.min(wait * 2, poll.max);
  }

  // A SELECT's first row is its header; DDL and utility statements have none.
  const statementType = execution.StatementType;
  ctx.operation = 'GetQueryResults';
  let columns: string[] = [];
  const rows: (string | null)[][] = [];
  let token: string | undefined;
  let first = true;
  do {
    let page;
    try {
      page = await abortable(
        client.send(
          new GetQueryResultsCommand({ QueryExecutionId: queryId, MaxResults: ATHENA_RESULTS_PAGE, NextToken: token }),
        ),
        signal,
      );
    } catch (err) {
      if (signal?.aborted) {
        throw new AthenaQueryCancelledError(
          `cancelled while reading the results of Athena query ${queryId}`,
          'the query had finished; run again to get findings',
          { queryExecutionId: queryId, stopped: false, scannedBytes },
        );
      }
      throw athenaError(err, ctx);
    }
    let pageRows: Row[] = page.ResultSet?.Rows ?? [];
    if (first) {
      columns = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? c.Label ?? '');
      if (pageRows.length > 0 && isHeader(pageRows[0]!, columns, statementType)) pageRows = pageRows.slice(1);
      first = false;
    }
    for (const row of pageRows) {
      const cells = (row.Data ?? []).map((d) => d.VarCharValue ?? null);
      while (cells.length < columns.length) cells.push(null);
      rows.push(cells);
    }
    token = page.NextToken === '' ? undefined : page.NextToken;
  } while (token !== undefined);

  return {
    queryExecutionId: queryId,
    columns,
    rows,
    scannedBytes,
    engineMs: execution.Statistics?.EngineExecutionTimeInMillis ?? 0,
    costUsd: athenaQueryCostUsd(scannedBytes, statementType),
  };
}

/** DML (SELECT) results start with a header row; when the type is unknown, a row equal to the column names is one. */
function isHeader(row: Row, columns: string[], statementType: string | undefined): boolean {
  if (statementType === 'DML') return true;
  if (statementType !== undefined) return false;
  const cells = (row.Data ?? []).map((d) => d.VarCharValue ?? null);
  return columns.length > 0 && cells.length === columns.length && cells.every((c, i) => c === columns[i]);
}
