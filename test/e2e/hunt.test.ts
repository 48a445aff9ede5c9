// offbox hunt: the reading pushed down to SQL gives the findings `offbox scan` gives, ids included.
// DuckDB runs the generated SQL over the same files. Athena does not exist here: its flow is run
// against a mocked client (no local Athena server exists) that answers each query with the rows the
// DuckDB form of the same query returns, so the Athena path from rows to findings is exercised too;
// the Athena SQL text itself is held to a golden file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  type AthenaClient,
} from '@aws-sdk/client-athena';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadConfig } from '../../src/config/config.js';
import { scanCloudTrail, type ScanResult } from '../../src/engine/scan.js';
import { huntWithAthena } from '../../src/hunt/athena-hunt.js';
import { fileGroups, huntWithDuckDb } from '../../src/hunt/duckdb.js';
import { loadInventory } from '../../src/inventory/load.js';
import { simulateOrganisation } from '../../src/simulate/index.js';
import { listLocal } from '../../src/sources/local.js';
import { huntQueries } from '../../src/sql/aggregate.js';
import { athenaCloudTrailDdl } from '../../src/sql/athena-ddl.js';
import { athenaHuntQueries } from '../../src/sql/athena-queries.js';
import { detectorCandidatesSql } from '../../src/sql/detectors.js';
import { DEFAULT_IP_RANGES_FILE } from '../../src/net/aws-ranges.js';
import { cidrContains, parseCidr, parseIp, unmapIpv4 } from '../../src/net/ip.js';
import { duckdb } from '../../src/sql/dialect.js';
import { duckDbEventsSql } from '../../src/sql/events.js';
import { FIXTURES, parseNdjson, runCli } from './cli.test-helpers.js';

const work = mkdtempSync(join(tmpdir(), 'offbox-hunt-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** What must be identical: every finding, whole, in order; and what was read. */
function outcome(result: ScanResult): unknown {
  return { findings: result.findings, events: result.stats.events, usages: result.stats.usages };
}

describe('hunt --engine duckdb gives the findings of scan', () => {
  for (const dataset of ['invictus', 'otrf', 'cribl', 'cribl-capture']) {
    it(`real dataset: ${dataset}`, async () => {
      const dir = join(FIXTURES, 'cloudtrail', dataset);
      const scanned = await scanCloudTrail(listLocal([dir]));
      const hunted = await huntWithDuckDb(listLocal([dir]));
      assert.ok(scanned.stats.events > 0);
      assert.deepEqual(outcome(hunted), outcome(scanned));
    });
  }

  for (const seed of [2, 6]) {
    it(`simulated organisation, seed ${seed}, with inventory and config`, async () => {
      const out = join(work, `seed-${seed}`);
      await simulateOrganisation({ out, seed, events: 25_000 });
      const { map } = loadInventory([join(out, 'inventory')]);
      const config = loadConfig(join(out, 'offbox.yaml'));
      const scanned = await scanCloudTrail(listLocal([join(out, 'cloudtrail')]), { config, inventory: map });
      const hunted = await huntWithDuckDb(listLocal([join(out, 'cloudtrail')]), { config, inventory: map });
      assert.ok(scanned.findings.length > 5, 'the organisation has attacks to find');
      assert.deepEqual(outcome(hunted), outcome(scanned));
    });
  }

  it('the CLI prints the same finding ids as offbox scan', async () => {
    const dir = join(FIXTURES, 'cloudtrail', 'otrf');
    const scan = await runCli(['scan', dir, '--format', 'ndjson', '--fail-on', 'none']);
    const hunt = await runCli(['hunt', '--engine', 'duckdb', dir, '--format', 'ndjson', '--fail-on', 'none']);
    assert.equal(hunt.code, 0, hunt.stderr);
    const ids = (stdout: string) => parseNdjson(stdout).map((f) => (f as { id: string }).id);
    assert.ok(ids(scan.stdout).length > 0);
    assert.deepEqual(ids(hunt.stdout), ids(scan.stdout));
    assert.match(hunt.stderr, /aggregated by DuckDB/);
  });
});

describe('hunt --engine athena (mocked client answered by DuckDB)', () => {
  let out = '';
  before(async () => {
    out = join(work, 'athena-org');
    await simulateOrganisation({ out, seed: 8, events: 15_000 });
  });

  it('sends the Athena SQL, pages through the results and gives the findings of scan', async () => {
    const { map } = loadInventory([join(out, 'inventory')]);
    const config = loadConfig(join(out, 'offbox.yaml'));
    const selection = { database: 'security', table: 'cloudtrail_logs' };
    const athenaSql = athenaHuntQueries(selection);

    // What DuckDB returns for the same three queries over the files, as Athena's text cells.
    const { groups } = await fileGroups(listLocal([join(out, 'cloudtrail')]));
    const events = duckDbEventsSql(duckdb, groups);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const answers = new Map<string, { columns: string[]; rows: (string | null)[][] }>();
    const duckSql = Object.fromEntries(huntQueries(duckdb, events).map((q) => [q.name, q.sql]));
    for (const query of athenaSql) {
      const reader = await connection.runAndReadAll(duckSql[query.name]!);
      const rows = reader.getRowsJson().map((row) => row.map((cell) => (cell === null ? null : String(cell))));
      answers.set(query.sql, { columns: reader.columnNames(), rows });
    }
    connection.closeSync();
    instance.closeSync();

    const started = new Map<string, string>();
    const sent: string[] = [];
    const client = {
      async send(command: unknown): Promise<unknown> {
        if (command instanceof StartQueryExecutionCommand) {
          const sql = command.input.QueryString ?? '';
          sent.push(sql);
          assert.equal(command.input.QueryExecutionContext?.Database, 'security');
          assert.equal(command.input.WorkGroup, 'offbox');
          const id = `q-${started.size}`;
          started.set(id, sql);
          return { QueryExecutionId: id };
        }
        if (command instanceof GetQueryExecutionCommand) {
          return {
            QueryExecution: {
              QueryExecutionId: command.input.QueryExecutionId,
              StatementType: 'DML',
              Status: { State: 'SUCCEEDED' },
              Statistics: { DataScannedInBytes: 50 * 1024 * 1024, EngineExecutionTimeInMillis: 1200 },
            },
          };
        }
        if (command instanceof GetQueryResultsCommand) {
          const answer = answers.get(started.get(command.input.QueryExecutionId ?? '') ?? '');
          assert.ok(answer, 'a query offbox did not say it would send');
          // Athena pages: a header row first, then at most MaxResults rows per page.
          const all = [answer.columns, ...answer.rows];
          const page = command.input.MaxResults ?? 1000;
          const from = Number(command.input.NextToken ?? 0);
          const rows = all.slice(from, from + page).map((row) => ({
            Data: row.map((cell) => (cell === null ? {} : { VarCharValue: cell })),
          }));
          const next = from + page < all.length ? String(from + page) : undefined;
          return {
            ResultSet: {
              ResultSetMetadata: { ColumnInfo: answer.columns.map((name) => ({ Name: name, Type: 'varchar' })) },
              Rows: rows,
            },
            ...(next ? { NextToken: next } : {}),
          };
        }
        throw new Error(`unexpected command ${String(command)}`);
      },
    } as unknown as Pick<AthenaClient, 'send'>;

    const hunted = await huntWithAthena(client, {
      ...selection,
      workgroup: 'offbox',
      config,
      inventory: map,
      sleep: async () => undefined,
    });
    const scanned = await scanCloudTrail(listLocal([join(out, 'cloudtrail')]), { config, inventory: map });
    assert.deepEqual(
      sent,
      athenaSql.map((q) => q.sql),
      'the three Athena queries, in order',
    );
    assert.ok(scanned.findings.length > 3);
    assert.deepEqual(outcome(hunted), outcome(scanned));
    assert.equal(hunted.queries.length, 3);
    assert.ok(hunted.queries.every((q) => q.scannedBytes === 50 * 1024 * 1024 && q.costUsd > 0));
  });
});

describe("each detector's candidate SQL holds every finding scan makes (a necessary condition)", () => {
  const candidateDetectors = [
    'instance-credential-outside-aws',
    'instance-credential-foreign-aws',
    'instance-credential-cross-instance',
    'instance-credential-foreign-vpce',
    'instance-session-name-spoof',
    'instance-credential-role-chain',
    'instance-credential-non-sdk-client',
    'workload-credential-outside-aws',
  ];
  const inputs = [
    ...['invictus', 'otrf', 'cribl', 'cribl-capture'].map((d) => ({ name: d, dir: join(FIXTURES, 'cloudtrail', d) })),
    { name: 'simulated seed 3', seed: 3, dir: join(work, 'candidates-3') },
    { name: 'simulated seed 5', seed: 5, dir: join(work, 'candidates-5') },
  ];
  for (const input of inputs) {
    it(input.name, async () => {
      let trail = input.dir;
      let options = {};
      if ('seed' in input) {
        await simulateOrganisation({ out: input.dir, seed: input.seed, events: 20_000 });
        trail = join(input.dir, 'cloudtrail');
        options = {
          config: loadConfig(join(input.dir, 'offbox.yaml')),
          inventory: loadInventory([join(input.dir, 'inventory')]).map,
        };
      }
      const config = (options as { config?: ReturnType<typeof loadConfig> }).config;
      const scanned = await scanCloudTrail(listLocal([trail]), options);
      const { groups } = await fileGroups(listLocal([trail]));
      const instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      try {
        const queries = detectorCandidatesSql(duckdb, duckDbEventsSql(duckdb, groups), {
          ipRangesFile: DEFAULT_IP_RANGES_FILE,
          allowedSourceCidrs: config?.allowedSourceCidrs ?? [],
        });
        assert.deepEqual(
          queries.map((q) => q.detector),
          candidateDetectors,
        );
        let covered = 0;
        for (const query of queries) {
          const rows = (await connection.runAndReadAll(query.sql)).getRowObjectsJson() as Record<string, unknown>[];
          for (const finding of scanned.findings.filter((f) => f.detector === query.detector)) {
            // A finding folded over an address range (uncorroborated unverifiable sources) covers rows inside it.
            const range = parseCidr(finding.source.ip);
            const atSource = (ip: string): boolean => {
              if (ip === finding.source.ip) return true;
              const parsed = range ? parseIp(ip) : undefined;
              return range !== undefined && parsed !== undefined && cidrContains(range, unmapIpv4(parsed));
            };
            const found = rows.some(
              (row) =>
                atSource(String(row['k_ip'])) &&
                row['k_vpce'] === finding.source.vpcEndpointId &&
                finding.principal.accessKeyIds.includes(String(row['k_key'])),
            );
            assert.ok(found, `${query.detector} finding ${finding.id} (${finding.source.ip}) is among the candidates`);
            covered += 1;
          }
        }
        if ('seed' in input) assert.ok(covered >= 5, `the simulated attacks are covered (${covered})`);
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
    });
  }
});

describe('offbox sql', () => {
  it("prints a candidate query per detector for Athena, each within Athena's query size limit", async () => {
    const result = await runCli(['sql', '--dialect', 'athena', '--detectors', '--database', 'security']);
    assert.equal(result.code, 0, result.stderr);
    const queries = result.stdout.split(/^-- offbox /m).filter((q) => q.trim() !== '');
    assert.equal(queries.length, 8);
    for (const query of queries) {
      assert.ok(Buffer.byteLength(query) < 262_144, 'Athena accepts at most 262,144 bytes of query text');
      assert.match(query, /aws_ranges\(lo, hi\) AS \(VALUES/);
      assert.match(query, /FROM "security"\."cloudtrail_logs"/);
    }
  });

  it('prints the Athena queries (golden file)', async () => {
    const result = await runCli([
      'sql',
      '--dialect',
      'athena',
      '--database',
      'security',
      '--table',
      'cloudtrail_logs',
      '--since',
      '2026-03-01',
      '--accounts',
      '111122223333,444455556666',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const golden = join(FIXTURES, '..', 'test', 'e2e', 'golden', 'athena-hunt.sql');
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(golden, result.stdout);
    assert.equal(result.stdout, readFileSync(golden, 'utf8'));
    assert.match(result.stdout, /"timestamp" >= '2026\/03\/01'/);
    assert.match(result.stdout, /account IN \('111122223333', '444455556666'\)/);
  });

  it('prints the partition-projection table with --ddl', async () => {
    const result = await runCli([
      'sql',
      '--dialect',
      'athena',
      '--ddl',
      '--database',
      'security',
      '--table',
      'cloudtrail_logs',
      '--bucket',
      'my-org-trail',
      '--accounts',
      '111122223333',
      '--regions',
      'us-east-1,eu-west-1',
      '--start-date',
      '2025/01/01',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const expected = athenaCloudTrailDdl({
      database: 'security',
      table: 'cloudtrail_logs',
      bucket: 'my-org-trail',
      accounts: ['111122223333'],
      regions: ['us-east-1', 'eu-west-1'],
      startDate: '2025/01/01',
    });
    assert.equal(result.stdout, `${expected}\n`);
    assert.match(result.stdout, /CREATE EXTERNAL TABLE/);
    assert.match(result.stdout, /'projection\.enabled'\s*=\s*'true'/);
  });

  it('refuses an unknown dialect and a --ddl without a bucket, with hints', async () => {
    const unknown = await runCli(['sql', '--dialect', 'oracle']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--dialect oracle is not known — use one of athena, trino, duckdb/);
    const ddl = await runCli(['sql', '--dialect', 'athena', '--ddl']);
    assert.equal(ddl.code, 2);
    assert.match(ddl.stderr, /--ddl needs --bucket/);
  });
});
