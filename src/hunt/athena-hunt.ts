/**
 * `offbox hunt --engine athena`: the aggregation (sql/aggregate.ts) run by Athena over the
 * organisation's CloudTrail table; the detector model judges the results here, as in `offbox scan`.
 */
import type { AthenaClient } from '@aws-sdk/client-athena';
import { detectInState, type ScanOptions, type ScanResult } from '../engine/scan.js';
import { athenaHuntQueries, type AthenaTableSelection } from '../sql/athena-queries.js';
import { runAthenaQuery, type AthenaQueryOptions, type AthenaQueryResult } from './athena.js';
import { sqlScanStats, stateFromSql, type SqlRow } from './from-sql.js';
import type { HuntQueryName } from '../sql/aggregate.js';

export interface AthenaHuntOptions
  extends
    Pick<ScanOptions, 'config' | 'inventory' | 'awsRanges' | 'ipRangesFile'>,
    Omit<AthenaQueryOptions, 'database'>,
    AthenaTableSelection {}

export interface AthenaHuntResult extends ScanResult {
  /** One entry per query: what Athena scanned and billed. */
  queries: { name: string; queryExecutionId: string; scannedBytes: number; costUsd: number; engineMs: number }[];
}

function toRows(result: AthenaQueryResult): SqlRow[] {
  return result.rows.map((row) => Object.fromEntries(result.columns.map((column, i) => [column, row[i] ?? null])));
}

/** Runs the aggregation in Athena and the detectors here: the findings `offbox scan` gives on the same logs. */
export async function huntWithAthena(
  client: Pick<AthenaClient, 'send'>,
  options: AthenaHuntOptions,
): Promise<AthenaHuntResult> {
  const started = performance.now();
  const results = { usages: [], fullEvents: [], totals: [] } as Record<HuntQueryName, SqlRow[]>;
  const queries: AthenaHuntResult['queries'] = [];
  for (const query of athenaHuntQueries(options)) {
    const result = await runAthenaQuery(client, query.sql, options);
    results[query.name] = toRows(result);
    queries.push({
      name: query.name,
      queryExecutionId: result.queryExecutionId,
      scannedBytes: result.scannedBytes,
      costUsd: result.costUsd,
      engineMs: result.engineMs,
    });
  }
  const state = stateFromSql(results);
  const stats = sqlScanStats(state, { files: 0, bytes: queries.reduce((sum, q) => sum + q.scannedBytes, 0) });
  const detected = detectInState({ state, stats, warnings: [] }, options);
  detected.stats.durationMs = performance.now() - started;
  return { ...detected, queries };
}
