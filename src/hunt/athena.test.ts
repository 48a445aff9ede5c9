// Athena is mocked here: no Athena server runs locally (nor any emulator of its query API), so these tests
// drive runAthenaQuery against a hand-written client whose send() answers each command the way Athena's
// API documents, and records every call. The SQL offbox sends is tested on its own against local files
// through the DuckDB engine.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  InvalidRequestException,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  TooManyRequestsException,
  type GetQueryExecutionCommandOutput,
  type GetQueryResultsCommandOutput,
  type QueryExecution,
  type Row,
} from '@aws-sdk/client-athena';
import { AwsError } from '../errors.js';
import {
  ATHENA_MIN_BILLED_MB,
  ATHENA_USD_PER_TB,
  AthenaQueryCancelledError,
  AthenaQueryError,
  athenaQueryCostUsd,
  createAthenaClient,
  runAthenaQuery,
  type AthenaQueryOptions,
} from './athena.js';

const QID = 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111';
const MB = 1024 * 1024;
const TB = 1024 * 1024 * MB;

interface Call {
  command: string;
  input: Record<string, unknown>;
}

type Handler = (input: Record<string, unknown>, calls: Call[]) => unknown;

const COMMANDS = [
  StartQueryExecutionCommand,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StopQueryExecutionCommand,
] as const;

function commandName(command: unknown): string {
  const known = COMMANDS.find((c) => command instanceof c);
  if (known === undefined) throw new Error(`not an Athena command offbox sends: ${String(command)}`);
  return known.name;
}

/** A stand-in for AthenaClient: answers by command class, records every call. */
class MockAthena {
  readonly calls: Call[] = [];
  constructor(private readonly handlers: Partial<Record<string, Handler>>) {}
  async send(command: { input: unknown }): Promise<unknown> {
    const name = commandName(command);
    const input = command.input as Record<string, unknown>;
    this.calls.push({ command: name, input });
    const handler = this.handlers[name];
    if (handler === undefined) throw new Error(`unexpected ${name}`);
    return handler(input, this.calls);
  }
  names(): string[] {
    return this.calls.map((c) => c.command);
  }
  asClient(): Pick<AthenaClient, 'send'> {
    return this as unknown as Pick<AthenaClient, 'send'>;
  }
}

function execution(state: string, extra: Partial<QueryExecution> = {}): GetQueryExecutionCommandOutput {
  return {
    $metadata: {},
    QueryExecution: {
      QueryExecutionId: QID,
      StatementType: 'DML',
      ...extra,
      Status: { State: state as 'RUNNING', ...extra.Status },
      Statistics: { DataScannedInBytes: 123 * MB, EngineExecutionTimeInMillis: 4321, ...extra.Statistics },
    },
  };
}

function row(...cells: (string | null)[]): Row {
  return { Data: cells.map((c) => (c === null ? {} : { VarCharValue: c })) };
}

function page(rows: Row[], nextToken?: string, columns = ['access_key_id', 'calls']): GetQueryResultsCommandOutput {
  return {
    $metadata: {},
    ResultSet: {
      Rows: rows,
      ResultSetMetadata: { ColumnInfo: columns.map((name) => ({ Name: name, Label: name, Type: 'varchar' })) },
    },
    ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
  };
}

/** States GetQueryExecution reports, one per poll; the last repeats. */
function states(...sequence: (string | GetQueryExecutionCommandOutput)[]): Handler {
  let i = 0;
  return () => {
    const s = sequence[Math.min(i, sequence.length - 1)]!;
    i += 1;
    return typeof s === 'string' ? execution(s) : s;
  };
}

const started: Handler = () => ({ $metadata: {}, QueryExecutionId: QID });

function recordingSleep(): { delays: number[]; sleep: (ms: number) => Promise<void> } {
  const delays: number[] = [];
  return { delays, sleep: async (ms) => void delays.push(ms) };
}

/** A service exception the SDK would throw for a response Athena's model does not name (AccessDeniedException). */
function sdkError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

const BASE_OPTIONS: AthenaQueryOptions = { database: 'security', sleep: async () => {} };

describe('runAthenaQuery', () => {
  test('starts the query with database, catalog, workgroup and output location, polls, then reads the results', async () => {
    const athena = new MockAthena({
      StartQueryExecutionCommand: started,
      GetQueryExecutionCommand: states('QUEUED', 'RUNNING', 'SUCCEEDED'),
      GetQueryResultsCommand: () => page([row('access_key_id', 'calls'), row('ASIAEXAMPLE', '12')]),
    });
    const progress: { state: string; scannedBytes: number }[] = [];
    const result = await runAthenaQuery(athena.asClient(), 'SELECT 1', {
      ...BASE_OPTIONS,
      workgroup: 'offbox',
      outputLocation: 's3://athena-results/offbox/',
      catalog: 'AwsDataCatalog',
      onProgress: (p) => {
        assert.ok(p.elapsedMs >= 0);
        progress.push({ state: p.state, scannedBytes: p.scannedBytes });
      },
    });

    assert.deepEqual(athena.names(), [
      'StartQueryExecutionCommand',
      'GetQueryExecutionCommand',
      'GetQueryExecutionCommand',
      'GetQueryExecutionCommand',
      'GetQueryResultsCommand',
    ]);
    const start = athena.calls[0]!.input;
    assert.equal(start['QueryString'], 'SELECT 1');
    assert.deepEqual(start['QueryExecutionContext'], { Database: 'security', Catalog: 'AwsDataCatalog' });
    assert.equal(start['WorkGroup'], 'offbox');
    assert.deepEqual(start['ResultConfiguration'], { OutputLocation: 's3://athena-results/offbox/' });
    for (const call of athena.calls.slice(1)) assert.equal(call.input['QueryExecutionId'], QID);
    assert.equal(athena.calls[4]!.input['MaxResults'], 1000);
    assert.equal(athena.calls[4]!.input['NextToken'], undefined);

    assert.deepEqual(
      progress.map((p) => p.state),
      ['QUEUED', 'RUNNING', 'SUCCEEDED'],
    );
    assert.deepEqual(result, {
      queryExecutionId: QID,
      columns: ['access_key_id', 'calls'],
      rows: [['ASIAEXAMPLE', '12']],
      scannedBytes: 123 * MB,
      engineMs: 4321,
      costUsd: athenaQueryCostUsd(123 * MB),
    });
  });

  test('leaves out the workgroup, catalog and output location when not given', async () => {
    const athena = new MockAthena({
      StartQueryExecutionCommand: started,
      GetQueryExecutionCommand: states('SUCCEEDED'),
      GetQueryResultsCommand: () => page([row('access_key_id', 'calls')]),
    });
    const result = await runAthenaQuery(athena.asClient(), 'SELECT 1', BASE_OPTIONS);
    const start = athena.calls[0]!.input;
    assert.deepEqual(start['QueryExecutionContext'], { Database: 'security' });
    assert.ok(!('WorkGroup' in start));
    assert.ok(!('ResultConfiguration' in start));
    assert.deepEqual(result.rows, [], 'a SELECT with no rows returns only its header, which is dropped');
  });

  test('polls with exponential backoff, doubling from the initial delay and capped at the maximum', async () => {
    const athena = new MockAthena({
      StartQueryExecutionCommand: started,
      GetQueryExecutionCommand: states(...Array<string>(9).fill('RUNNING'), 'SUCCEEDED'),
      GetQueryResultsCommand: () => page([row('access_key_id', 'calls')]),
    });
    const { delays, sleep } = recordingSleep();
    await runAthenaQuery(athena.asClient(), 'SELECT 1', { ...BASE_OPTIONS, sleep });
    assert.deepEqual(delays, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000, 5000]);

    const again = new MockAthena({
      StartQueryExecutionCommand: started,
      GetQueryExecutionCommand: states('QUEUED', 'RUNNING', 'RUNNING', 'RUNNING', 'SUCCEEDED'),
      GetQueryResultsCommand: () => page([row('access_key_id', 'calls')]),
    });
    const custom = recordingSleep();
    await runAthenaQuery(again.asClient(), 'SELECT 1', {
      ...BASE_OPTIONS,
      sleep: custom.sleep,
      pollMs: { initial: 100, max: 300 },
    });
    assert.deepEqual(custom.delays, [100, 200, 300, 300]);
  });

  test('reads every page by NextToken, dropping only the first page’s header row, with NULL cells as null', async () => {
    const pages: Record<string, GetQueryResultsCommandOutput> = {
      first: page([row('access_key_id', 'calls'), row('ASIA1', '1'), row('ASIA2', null)], 'token-2'),
      'token-2': page([row('access_key_id', 'calls'), row(null, '3')], 'token-3'),
      'token-3': page([row('ASIA4', '4')]),
    };
    const athena = new MockAthena({
      StartQueryExecutionCommand: started,
      GetQueryExecutionCommand: states('SUCCEEDED'),
      GetQueryResultsCommand: (input) => pages[(input['NextToken'] as string | undefined) ?? 'first'],
    });
    const result = await runAthenaQuery(athena.asClient(), 'SELECT 1', BASE_OPTIONS);
    const reads = athena.calls.filter((c) => c.command === 'GetQueryResultsCommand');
    assert.deepEqual(
      reads.map((c) => c.input['NextToken']),
      [undefined, 'token-2', 'token-3'],
    );
    for (const read of reads) assert.equal(read.input['MaxResults'], 1000);
    assert.deepEqual(result.columns, ['access_key_id', 'calls']);
    assert.deepEqual(result.rows, [
      ['ASIA1', '1'],
      ['ASIA2', null],
      // A later page's first row is data, even when it reads like the header.
      ['access_key_id', 'calls'],
      [null, '3'],
      ['ASIA4', '4'],
    ]);
  });

  test('keeps the first row of a DDL statement, which has no header, and bills it nothing', async () => {
    const athena = new MockAthena({
      StartQueryExecutionCommand: started,
      GetQueryExecutionCommand: () =>
        execution('SUCCEEDED', { StatementType: 'DDL', Statistics: { DataScannedInBytes: 0 } }),
      GetQueryResultsCommand: () => page([row('created')], undefined, ['result']),
    });
    const result = await runAthenaQuery(athena.asClient(), 'CREATE EXTERNAL TABLE …', BASE_OPTIONS);
    assert.deepEqual(result.rows, [['created']]);
    assert.equal(result.costUsd, 0);
  });

  test('pads short rows with nulls to the column count', async () => {
    const athena = new MockAthena({
      StartQueryExecutionCommand: started,
      GetQueryExecutionCommand: states('SUCCEEDED'),
      GetQueryResultsCommand: () => page([row('access_key_id', 'calls'), { Data: [{ VarCharValue: 'ASIA1' }] }, {}]),
    });
    const result = await runAthenaQuery(athena.asClient(), 'SELECT 1', BASE_OPTIONS);
    assert.deepEqual(result.rows, [
      ['ASIA1', null],
      [null, null],
    ]);
  });

  test('a FAILED query is an AwsError carrying Athena’s reason, with a hint on what to check', async () => {
    const reason = "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.security.cloudtrail_logs' does not exist";
    const athena = new MockAthena({
      StartQueryExecutionCommand: started,
      GetQueryExecutionCommand: states(
        'RUNNING',
        execution('FAILED', {
          Status: { State: 'FAILED', StateChangeReason: reason, AthenaError: { ErrorCategory: 2, ErrorType: 1301 } },
        }),
      ),
    });
    await assert.rejects(runAthenaQuery(athena.asClient(), 'SELECT 1', BASE_OPTIONS), (err: unknown) => {
      assert.ok(err instanceof AwsError);
      assert.ok(err instanceof AthenaQueryError);
      assert.equal(err.queryExecutionId, QID);
      assert.equal(err.state, 'FAILED');
      assert.ok(err.message.includes(reason));
      assert.ok(err.message.includes(QID));
      assert.match(err.hint ?? '', /--database .*--table/);
      return true;
    });
    assert.ok(!athena.names().includes('GetQueryResultsCommand'));
    assert.ok(!athena.names().includes('StopQueryExecutionCommand'));
  });

  test('the failure hint follows the reason: permissions, output location, otherwise the general checklist', async () => {
    const hintFor = async (reason: string): Promise<string> => {
      const athena = new MockAthena({
        StartQueryExecutionCommand: started,
        GetQueryExecutionCommand: () => execution('FAILED', { Status: { State: 'FAILED', StateChangeReason: reason } }),
      });
      try {
        await runAthenaQuery(athena.asClient(), 'SELECT 1', BASE_OPTIONS);
      } catch (err) {
        assert.ok(err instanceof AwsError);
        return err.hint ?? '';
      }
      assert.fail('expected a rejection');
    };
    assert.match(await hintFor('Permission denied on S3 path: s3://trail-bucket/AWSLogs/o-1/'), /s3:GetObject/);
    assert.match(await hintFor('Access denied when writing to location: s3://results/x.csv'), /--output-location/);
    assert.match(await hintFor('Unable to verify/create output bucket results'), /--output-location/);
    assert.match(await hintFor('CONSTRAINT_VIOLATION: For the injected projected partition column account'), /enum/);
    const general = await hintFor('GENERIC_INTERNAL_ERROR: something');
    assert.match(general, /permissions/);
    assert.match(general, /output location/);
    assert.match(general, /--table/);
  });

  test('a query CANCELLED outside offbox is an AwsError with the reason', async () => {
    const athena = new MockAthena({
      StartQueryExecutionCommand: started,
      GetQueryExecutionCommand: () =>
        execution('CANCELLED', {
          Status: { State: 'CANCELLED', StateChangeReason: 'Query cancelled: bytes scanned limit was exceeded' },
        }),
    });
    await assert.rejects(runAthenaQuery(athena.asClient(), 'SELECT 1', BASE_OPTIONS), (err: unknown) => {
      assert.ok(err instanceof AthenaQueryError);
      assert.equal(err.state, 'CANCELLED');
      assert.match(err.message, /cancelled: Query cancelled: bytes scanned limit was exceeded/);
      assert.match(err.hint ?? '', /data usage limit/);
      return true;
    });
  });

  test('aborting while polling sends StopQueryExecution for the running query and rejects as cancelled', async () => {
    const controller = new AbortController();
    let polls = 0;
    const athena = new MockAthena({
      StartQueryExecutionCommand: started,
      GetQueryExecutionCommand: () => {
        polls += 1;
        return execution('RUNNING', { Statistics: { DataScannedInBytes: 40 * MB } });
      },
      StopQueryExecutionCommand: () => ({ $metadata: {} }),
    });
    // Ctrl-C arrives during the second wait between polls; the (never-ending) sleep must not hold the query up.
    const delays: number[] = [];
    const sleep = (ms: number): Promise<void> => {
      delays.push(ms);
      if (delays.length === 2) {
        setImmediate(() => controller.abort());
        return new Promise(() => {});
      }
      return Promise.resolve();
    };
    await assert.rejects(
      runAthenaQuery(athena.asClient(), 'SELECT 1', { ...BASE_OPTIONS, signal: controller.signal, sleep }),
      (err: unknown) => {
        assert.ok(err instanceof AwsError);
        assert.ok(err instanceof AthenaQueryCancelledError);
        assert.match(err.message, /cancelled/);
        assert.equal(err.queryExecutionId, QID);
        assert.equal(err.stopped, true);
        assert.equal(err.scannedBytes, 40 * MB);
        return true;
      },
    );
    assert.equal(polls, 2);
    assert.deepEqual(athena.names(), [
      'StartQueryExecutionCommand',
      'GetQueryExecutionCommand',
      'GetQueryExecutionCommand',
      'StopQueryExecutionCommand',
    ]);
    assert.deepEqual(athena.calls.at(-1)!.input, { QueryExecutionId: QID });
  });

  test('aborting with the default sleep stops the query without waiting out the delay', async () => {
    const controller = new AbortController();
    const athena = new MockAthena({
      StartQueryExecutionCommand: started,
      GetQueryExecutionCommand: () => {
        setImmediate(() => controller.abort());
        return execution('RUNNING');
      },
      StopQueryExecutionCommand: () => ({ $metadata: {} }),
    });
    const begun = Date.now();
    await assert.rejects(
      runAthenaQuery(athena.asClient(), 'SELECT 1', {
        database: 'security',
        signal: controller.signal,
        pollMs: { initial: 60_000, max: 60_000 },
      }),
      AthenaQueryCancelledError,
    );
    assert.ok(Date.now() - begun < 10_000, 'did not wait for the 60 s poll delay');
    assert.equal(athena.names().at(-1), 'StopQueryExecutionCommand');
  });

  test('aborting while StartQueryExecution is in flight still stops the query once its id is known', async () => {
    const controller = new AbortController();
    const athena = new MockAthena({
      StartQueryExecutionCommand: () => {
        controller.abort();
        return { $metadata: {}, QueryExecutionId: QID };
      },
      StopQueryExecutionCommand: () => ({ $metadata: {} }),
    });
    await assert.rejects(
      runAthenaQuery(athena.asClient(), 'SELECT 1', { ...BASE_OPTIONS, signal: controller.signal }),
      AthenaQueryCancelledError,
    );
    assert.deepEqual(athena.names(), ['StartQueryExecutionCommand', 'StopQueryExecutionCommand']);
    assert.equal(athena.calls[1]!.input['QueryExecutionId'], QID);
  });

  test('an already aborted signal starts nothing', async () => {
    const athena = new MockAthena({});
    await assert.rejects(
      runAthenaQuery(athena.asClient(), 'SELECT 1', { ...BASE_OPTIONS, signal: AbortSignal.abort() }),
      (err: unknown) => err instanceof AthenaQueryCancelledError && err.queryExecutionId === undefined,
    );
    assert.deepEqual(athena.calls, []);
  });

  test('when StopQueryExecution fails the error says the query may still run and how to stop it', async () => {
    const controller = new AbortController();
    const athena = new MockAthena({
      StartQueryExecutionCommand: started,
      GetQueryExecutionCommand: () => {
        controller.abort();
        return execution('RUNNING');
      },
      StopQueryExecutionCommand: () => {
        throw sdkError('AccessDeniedException', 'not authorized to perform athena:StopQueryExecution');
      },
    });
    await assert.rejects(
      runAthenaQuery(athena.asClient(), 'SELECT 1', { ...BASE_OPTIONS, signal: controller.signal }),
      (err: unknown) => {
        assert.ok(err instanceof AthenaQueryCancelledError);
        assert.equal(err.stopped, false);
        assert.match(err.message, /may still be running/);
        assert.equal(err.hint, `stop it with: aws athena stop-query-execution --query-execution-id ${QID}`);
        return true;
      },
    );
  });

  test('SDK exceptions become AwsErrors with hints', async () => {
    const failWith = async (operation: string, error: unknown): Promise<AwsError> => {
      const athena = new MockAthena({
        StartQueryExecutionCommand: operation === 'Start' ? () => Promise.reject(error) : started,
        GetQueryExecutionCommand: operation === 'Get' ? () => Promise.reject(error) : states('SUCCEEDED'),
        GetQueryResultsCommand: () => Promise.reject(error),
      });
      try {
        await runAthenaQuery(athena.asClient(), 'SELECT 1', { ...BASE_OPTIONS, workgroup: 'offbox' });
      } catch (err) {
        assert.ok(err instanceof AwsError, `expected an AwsError, got ${String(err)}`);
        assert.ok(err.cause === error, 'keeps the SDK error as its cause');
        return err;
      }
      assert.fail('expected a rejection');
    };

    const denied = await failWith(
      'Start',
      sdkError(
        'AccessDeniedException',
        'User: arn:aws:sts::111122223333:assumed-role/analyst/x is not authorized to perform: athena:StartQueryExecution',
      ),
    );
    assert.match(denied.message, /access denied: Athena StartQueryExecution/);
    assert.match(denied.hint ?? '', /athena:StartQueryExecution.*glue:GetTable.*s3:GetObject.*s3:PutObject/);

    const noOutput = await failWith(
      'Start',
      new InvalidRequestException({
        message:
          'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    assert.match(noOutput.message, /Athena refused the request/);
    assert.match(noOutput.hint ?? '', /--output-location s3:\/\//);

    const noWorkgroup = await failWith(
      'Start',
      new InvalidRequestException({ message: 'WorkGroup offbox is not found.', $metadata: { httpStatusCode: 400 } }),
    );
    assert.match(noWorkgroup.hint ?? '', /--workgroup \(offbox\)/);

    const unparsed = await failWith(
      'Start',
      new InvalidRequestException({
        message: "line 1:8: mismatched input 'FROM'. Expecting: <expression>",
        $metadata: { httpStatusCode: 400 },
      }),
    );
    assert.match(unparsed.hint ?? '', /offbox bug/);

    const throttled = await failWith(
      'Get',
      new TooManyRequestsException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }),
    );
    assert.match(throttled.message, /throttling.*GetQueryExecution.*query a1b2c3d4/);
    assert.match(throttled.hint ?? '', /wait/);

    const reading = await failWith(
      'Results',
      Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET' }),
    );
    assert.match(reading.message, /cannot reach Athena: ECONNRESET/);

    const noCreds = await failWith(
      'Start',
      Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
    );
    assert.match(noCreds.hint ?? '', /--profile/);

    const noRegion = await failWith('Start', new Error('Region is missing'));
    assert.match(noRegion.hint ?? '', /--region/);

    const other = await failWith(
      'Start',
      Object.assign(new Error('boom'), { name: 'SomethingNew', $metadata: { httpStatusCode: 418 } }),
    );
    assert.match(other.message, /Athena StartQueryExecution failed: SomethingNew \(HTTP 418\): boom/);
  });

  test('rejects a bad polling interval', async () => {
    await assert.rejects(
      runAthenaQuery(new MockAthena({}).asClient(), 'SELECT 1', { ...BASE_OPTIONS, pollMs: { initial: 0, max: 10 } }),
      RangeError,
    );
  });
});

describe('athenaQueryCostUsd', () => {
  test(`$${ATHENA_USD_PER_TB} per TB, bytes rounded up to whole megabytes, at least ${ATHENA_MIN_BILLED_MB} MB`, () => {
    const tenMb = (10 * MB * ATHENA_USD_PER_TB) / TB;
    assert.equal(athenaQueryCostUsd(0), tenMb);
    assert.equal(athenaQueryCostUsd(1), tenMb);
    assert.equal(athenaQueryCostUsd(10 * MB), tenMb);
    assert.equal(athenaQueryCostUsd(10 * MB + 1), (11 * MB * 5) / TB, 'rounded up to the next megabyte');
    assert.equal(athenaQueryCostUsd(TB), 5);
    assert.equal(athenaQueryCostUsd(3 * TB), 15);
    assert.equal(athenaQueryCostUsd(5 * TB, 'DDL'), 0, 'DDL statements are free');
  });

  test('a query that scanned 2 MB reports the 10 MB minimum', async () => {
    const athena = new MockAthena({
      StartQueryExecutionCommand: started,
      GetQueryExecutionCommand: () => execution('SUCCEEDED', { Statistics: { DataScannedInBytes: 2 * MB } }),
      GetQueryResultsCommand: () => page([row('access_key_id', 'calls')]),
    });
    const result = await runAthenaQuery(athena.asClient(), 'SELECT 1', BASE_OPTIONS);
    assert.equal(result.scannedBytes, 2 * MB);
    assert.equal(result.costUsd, (10 * MB * 5) / TB);
    assert.ok(Math.abs(result.costUsd - 0.0000476837) < 1e-10);
  });
});

describe('createAthenaClient', () => {
  test('builds a client for the given region and endpoint', async () => {
    const client = createAthenaClient({ region: 'eu-west-1', endpointUrl: 'http://127.0.0.1:9' });
    assert.ok(client instanceof AthenaClient);
    assert.equal(await client.config.region(), 'eu-west-1');
    const endpoint = await client.config.endpoint?.();
    assert.equal(endpoint?.hostname, '127.0.0.1');
    client.destroy();
  });

  test('an endpoint without a configured region defaults to us-east-1', async () => {
    const saved = { r: process.env['AWS_REGION'], d: process.env['AWS_DEFAULT_REGION'] };
    delete process.env['AWS_REGION'];
    delete process.env['AWS_DEFAULT_REGION'];
    try {
      const client = createAthenaClient({ endpointUrl: 'http://127.0.0.1:9' });
      assert.equal(await client.config.region(), 'us-east-1');
      client.destroy();
    } finally {
      if (saved.r !== undefined) process.env['AWS_REGION'] = saved.r;
      if (saved.d !== undefined) process.env['AWS_DEFAULT_REGION'] = saved.d;
    }
  });
});
