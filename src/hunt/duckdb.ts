/**
 * `offbox hunt --engine duckdb`: the SQL back end run locally. DuckDB reads the log files and
 * aggregates them (sql/aggregate.ts); the detector model judges the aggregates, as in `offbox scan`.
 */
import { open } from 'node:fs/promises';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sniffExportShape } from '../cloudtrail/sniff.js';
import { InputError } from '../errors.js';
import { describeContent, EXPECTED_CLOUDTRAIL } from '../engine/input-shape.js';
import type { InputWarning } from '../engine/read-object.js';
import { detectInState, type ScanOptions, type ScanResult, type UnreadFile } from '../engine/scan.js';
import { isGzipHead, type LogObject } from '../sources/log-object.js';
import { duckdb } from '../sql/dialect.js';
import { huntQueries, type HuntQueryName } from '../sql/aggregate.js';
import { duckDbEventsSql, type DuckDbFileGroup } from '../sql/events.js';
import { sqlScanStats, stateFromSql, type SqlRow } from './from-sql.js';

export interface DuckDbHuntOptions extends Pick<ScanOptions, 'config' | 'inventory' | 'awsRanges' | 'ipRangesFile'> {
  /** DuckDB worker threads (default: DuckDB's own, every core). */
  threads?: number;
  /** A file that holds no CloudTrail at all: reported and left out, as `offbox scan` does. */
  onWarning?: (warning: InputWarning) => void;
}

/** Raw bytes read to tell a file's shape, and the most they may decode to. */
const HEAD_RAW_BYTES = 256 * 1024;
const HEAD_DECODED_BYTES = 1024 * 1024;

/** Gunzips as much of a gzip prefix as decodes, within `max` bytes (a cut-off stream is fine). */
function gunzipPrefix(gz: Buffer, max: number): Buffer {
  for (let n = gz.length; n >= 512; n >>= 1) {
    try {
      return gunzipSync(gz.subarray(0, n), { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: max });
    } catch {
      // more output than max from this much input, or damage: try a shorter prefix
    }
  }
  return Buffer.alloc(0);
}

/** The decoded start of a file and how many gzip layers it has (DuckDB decodes one). */
async function decodedHead(path: string): Promise<{ head: Buffer; gzipLayers: number }> {
  const handle = await open(path, 'r');
  let raw: Buffer;
  try {
    const buffer = Buffer.alloc(HEAD_RAW_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    raw = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  let gzipLayers = 0;
  while (isGzipHead(raw) && gzipLayers < 2) {
    raw = gunzipPrefix(raw, HEAD_DECODED_BYTES);
    gzipLayers += 1;
  }
  return { head: raw, gzipLayers };
}

const SQL_SHAPES =
  "hunt's SQL reads delivery files, event lines and arrays, and one level of the export wrappers (lookup-events, " +
  'EventBridge, CloudWatch Logs payloads and events, Splunk HEC, Cribl, Lake eventJson); offbox scan reads every shape';

/**
 * The local files to read, split by compression (DuckDB decompresses per call, offbox by magic
 * bytes). Each file's shape is told from its start: a shape the SQL cannot read (CloudWatch Logs
 * export lines, base64 payloads, gzip inside gzip, Lake projections, wrappers in wrappers) is an
 * InputError naming the file, never a file read as nothing; a file of no CloudTrail at all is a
 * warning and left out, as in `offbox scan`.
 */
export async function fileGroups(
  objects: AsyncIterable<LogObject>,
  options: Pick<DuckDbHuntOptions, 'onWarning'> = {},
): Promise<{
  groups: DuckDbFileGroup[];
  bytes: number;
  files: number;
  badFiles: number;
  emptyFiles: number;
  unread: UnreadFile[];
}> {
  const gzip: string[] = [];
  const plain: string[] = [];
  const unread: UnreadFile[] = [];
  let bytes = 0;
  let files = 0;
  let badFiles = 0;
  let emptyFiles = 0;
  for await (const object of objects) {
    if (object.localPath === undefined) {
      throw new InputError(
        `offbox hunt --engine duckdb reads local files; ${object.name} is not one`,
        'download the logs first, or use offbox scan for S3 and stdin',
      );
    }
    files += 1;
    bytes += object.size ?? 0;
    const { head, gzipLayers } = await decodedHead(object.localPath);
    if (gzipLayers > 1) {
      throw new InputError(
        `offbox hunt --engine duckdb cannot read ${object.name}: gzip inside gzip (Firehose compressing CloudWatch Logs data)`,
        SQL_SHAPES,
      );
    }
    const shape = sniffExportShape(head);
    if (shape.id === 'not-cloudtrail') {
      const looks = describeContent(head);
      badFiles += 1;
      if (unread.length < 5) unread.push({ file: object.name, shape: looks });
      options.onWarning?.({
        file: object.name,
        reason: `no CloudTrail events: this looks like ${looks}; expected ${EXPECTED_CLOUDTRAIL}; left out`,
      });
      continue;
    }
    if (!shape.oneLevel) {
      throw new InputError(
        `offbox hunt --engine duckdb cannot read ${object.name}: it holds ${shape.title}`,
        SQL_SHAPES,
      );
    }
    if (shape.id === 'empty' || shape.id === 'digest' || shape.id === 'empty-export') {
      emptyFiles += 1;
      if (unread.length < 5) unread.push({ file: object.name, shape: shape.title });
      continue;
    }
    (gzipLayers === 1 ? gzip : plain).push(object.localPath);
  }
  return {
    groups: [
      { files: gzip, gzip: true },
      { files: plain, gzip: false },
    ],
    bytes,
    files,
    badFiles,
    emptyFiles,
    unread,
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
  const { groups, bytes, files, badFiles, emptyFiles, unread } = await fileGroups(objects, options);
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
    const stats = { ...sqlScanStats(state, { files, bytes }), badFiles, emptyFiles };
    const result = detectInState({ state, stats, warnings: [], unread }, options);
    result.stats.durationMs = performance.now() - started;
    return result;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
