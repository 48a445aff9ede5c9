/**
 * `offbox hunt --engine athena`: the aggregation (sql/aggregate.ts) run by Athena over the
 * organisation's CloudTrail table; the detector model judges the results here, as in `offbox scan`.
 */
import type { AthenaClient } from '@aws-sdk/client-athena';
import { detectInState, type ScanOptions, type ScanResult, type ScanStats } from '../engine/scan.js';
import { athena } from '../sql/dialect.js';
import { fullEventsSql, totalsSql, usagesSql } from '../sql/aggregate.js';
import { athenaPartitionFilter, athenaTableRef } from '../sql/athena-ddl.js';
import { tableEventsSql } from '../sql/events.js';
import { runAthenaQuery, type AthenaQueryOptions, type AthenaQueryResult } from './athena.js';
import { stateFromSql, type SqlRow } from './from-sql.js';

export interface AthenaHuntOptions
  extends Pick<ScanOptions, 'config' | 'inventory' | 'awsRanges' | 'ipRangesFile'>,
    Omit<AthenaQueryOptions, 'database'> {
  database: string;
  table: string;
  /** Read events from this time on (partitions before it are never scanned). */
  since?: Date;
  until?: Date;
}

export interface AthenaHuntResult extends ScanResult {
  /** One entry per query: what Athena scanned and billed. */
  queries: { name: string; queryExecutionId: string; scannedBytes: number; costUsd: number; engineMs: number }[];
}

/** The events relation of the table, limited to --since/--until (partitions pruned, then exact times). */
export function athenaEventsCte(options: Pick<AthenaHuntOptions, 'database' | 'table' | 'since' | 'until'>): string {
  const filters: string[] = [];
  if (options.since) {
    filters.push(athenaPartitionFilter(options.since, options.until));
    filters.push(`${athena.epochMs('eventtime')} >= ${options.since.getTime()}`);
  }
  if (options.until) filters.push(`${athena.epochMs('eventtime')} < ${options.until.getTime()}`);
  return tableEventsSql(
    athena,
    athenaTableRef(options.table, options.database),
    filters.length > 0 ? filters.join(' AND ') : undefined,
  );
}

/** The three queries `hunt --engine athena` runs, in order. */
export function athenaHuntQueries(
  options: Pick<AthenaHuntOptions, 'database' | 'table' | 'since' | 'until'>,
): { name: 'usages' | 'fullEvents' | 'totals'; sql: string }[] {
  const events = athenaEventsCte(options);
  return [
    { name: 'usages', sql: usagesSql(athena, events) },
    { name: 'fullEvents', sql: fullEventsSql(athena, events) },
    { name: 'totals', sql: totalsSql(athena, events) },
  ];
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
  const results: Record<string, SqlRow[]> = {};
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
  const state = stateFromSql({
    usages: results['usages'] ?? [],
    fullEvents: results['fullEvents'] ?? [],
    totals: results['totals'] ?? [],
  });
  const stats: ScanStats = {
    files: 0,
    bytes: queries.reduce((sum, q) => sum + q.scannedBytes, 0),
    records: state.events,
    events: state.events,
    badRecords: 0,
    badFiles: 0,
    vendingEvents: state.vending.size,
    usages: state.usages.size,
    durationMs: 0,
  };
  const detected = detectInState({ state, stats, warnings: [] }, options);
  detected.stats.durationMs = performance.now() - started;
  return { ...detected, queries };
}
