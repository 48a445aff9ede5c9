/**
 * `offbox hunt --engine duckdb`: the SQL back end run locally. DuckDB reads the log files and
 * aggregates them (sql/aggregate.ts); the detector model judges the aggregates, as in `offbox scan`.
 */
import { open } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../errors.js';
import { detectInState, type ScanOptions, type ScanResult } from '../engine/scan.js';
import { isGzipHead, type LogObject } from '../sources/log-object.js';
import { duckdb } from '../sql/dialect.js';
import { huntQueries, type HuntQueryName } from '../sql/aggregate.js';
import { duckDbEventsSql, type DuckDbFileGroup } from '../sql/events.js';
import { sqlScanStats, stateFromSql, type SqlRow } from './from-sql.js';

export interface DuckDbHuntOptions extends Pick<ScanOptions, 'config' | 'inventory' | 'awsRanges' | 'ipRangesFile'> {
  /** DuckDB worker threads (default: DuckDB's own, every core). */
  threads?: number;
}

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return isGzipHead(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** The local files to read, split by compression (DuckDB decompresses per call, offbox by magic bytes). */
export async function fileGroups(
  objects: AsyncIterable<LogObject>,
): Promise<{ groups: DuckDbFileGroup[]; bytes: number; files: number }> {
  const gzip: string[] = [];
  const plain: string[] = [];
  let bytes = 0;
  for await (const object of objects) {
    if (object.localPath === undefined) {
      throw new InputError(
        `offbox hunt --engine duckdb reads local files; ${object.name} is not one`,
        'download the logs first, or use offbox scan for S3 and stdin',
      );
    }
    bytes += object.size ?? 0;
    ((await isGzip(object.localPath)) ? gzip : plain).push(object.localPath);
  }
  return {
    groups: [
      { files: gzip, gzip: true },
      { files: plain, gzip: false },
    ],
    bytes,
    files: gzip.length + plain.length,
  };
}

async function rows(connection: DuckDBConnection, sql: string): Promise<SqlRow[]> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowObjectsJson() as SqlRow[];
}

/** Reads and aggregates the files with DuckDB, then runs the detectors: the same findings as `scanCloudTrail`. */
export async function huntWithDuckDb(
  objects: AsyncIterable<LogObject>,
  options: DuckDbHuntOptions = {},
): Promise<ScanResult> {
  const started = performance.now();
  const { groups, bytes, files } = await fileGroups(objects);
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', options.threads ? { threads: String(options.threads) } : {});
  const connection = await instance.connect();
  try {
    const events = duckDbEventsSql(duckdb, groups);
    // The events are read once into a table; the three queries then share it.
    await connection.run(`CREATE TEMP TABLE offbox_events AS WITH ${events} SELECT * FROM events`);
    const fromTable = 'events AS (SELECT * FROM offbox_events)';
    const results = { usages: [], fullEvents: [], totals: [] } as Record<HuntQueryName, SqlRow[]>;
    for (const query of huntQueries(duckdb, fromTable)) results[query.name] = await rows(connection, query.sql);
    const state = stateFromSql(results);
    const stats = sqlScanStats(state, { files, bytes });
    const result = detectInState({ state, stats, warnings: [] }, options);
    result.stats.durationMs = performance.now() - started;
    return result;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
