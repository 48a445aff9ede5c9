import type { FrameLimits } from '../cloudtrail/framing.js';
import { DEFAULT_MAX_NESTING_DEPTH } from '../cloudtrail/nesting.js';
import type { VendingIndex } from '../cloudtrail/vending.js';
import type { OffboxConfig } from '../config/config.js';
import { emptyConfig } from '../config/config.js';
import { cloudTrailDetectors } from '../detect/registry.js';
import type { Finding } from '../detect/finding.js';
import type { Detector } from '../detect/types.js';
import type { Revocation } from '../detect/revocation.js';
import type { OwnershipMap } from '../inventory/ownership.js';
import { loadAwsRanges, type AwsRanges } from '../net/aws-ranges.js';
import { buildSourceClassifier } from '../net/source-class.js';
import type { DecodeLimits, LogObject } from '../sources/log-object.js';
import { readError } from '../sources/log-object.js';
import { warningCollector } from './warnings.js';
import { compileSuppressions, type SuppressedFinding } from './suppress.js';
import { emptyObjectStats, readObject, type InputWarning, type ObjectReadStats } from './read-object.js';
import { poolable, ScanPool } from './scan-pool.js';
import { ScanState } from './scan-state.js';

export type { InputWarning } from './read-object.js';
export { ScanState, type AnalyseOptions, type ScanStateSnapshot } from './scan-state.js';

export interface ScanProgress {
  /** Objects listed so far. */
  files: number;
  /** Objects read to their end. */
  filesDone?: number;
  bytes: number;
  events: number;
  currentFile: string;
}

export interface ScanOptions {
  config?: OffboxConfig;
  /** Path of an ip-ranges.json to use instead of the vendored snapshot. */
  ipRangesFile?: string;
  /** Already loaded ranges (tests, watch): wins over ipRangesFile. */
  awsRanges?: AwsRanges;
  /** The org's inventory; CloudTrail ownership evidence is added to a copy of it. */
  inventory?: OwnershipMap;
  detectors?: readonly Detector[];
  limits?: Partial<FrameLimits & DecodeLimits>;
  /** Turn the first bad file or record into an InputError. */
  strict?: boolean;
  onWarning?: (warning: InputWarning) => void;
  onProgress?: (progress: ScanProgress) => void;
  /**
   * Worker threads to read with (default 1: everything in this thread). With more, the first
   * few objects are still read here, so small inputs never pay for starting workers.
   */
  threads?: number;
  /** Read delivery files with the byte-level fast path (default true); off, every record is JSON.parsed. */
  fastPath?: boolean;
  /** Objects read in this thread before workers start (default 8); tests set 0 to force workers. */
  inProcessFirst?: number;
}

export interface ScanStats {
  files: number;
  bytes: number;
  records: number;
  events: number;
  badRecords: number;
  badFiles: number;
  vendingEvents: number;
  usages: number;
  durationMs: number;
  /** Records read by the byte-level fast path; the others were JSON.parsed. */
  fastRecords?: number;
  /** Worker threads that read objects (0: all were read in this thread). */
  threads?: number;
  /** Files with nothing to read: empty, whitespace, digests, exports with no records (not reported). */
  emptyFiles?: number;
  /** Well-formed parts of exports that are not CloudTrail events: control messages, other services' events. */
  skippedRecords?: number;
}

/** A file that gave no events, and what it looked like: for the message when a whole run reads nothing. */
export interface UnreadFile {
  file: string;
  /** "Markdown/text", "an empty file", or (unreadable) the error that stopped reading it. */
  shape: string;
  unreadable?: boolean;
}

/** Files named in the nothing-read message; the rest are counted. */
const UNREAD_SAMPLES = 5;

export interface ScanResult {
  findings: Finding[];
  stats: ScanStats;
  /** The first 10,000 warnings; stats.badFiles and stats.badRecords count them all. */
  warnings: InputWarning[];
  /** Findings hidden by the config's suppress rules, with the rule's reason. */
  suppressed: SuppressedFinding[];
  /** Suppress rules past their expiry, no longer applied. */
  expiredSuppressions: OffboxConfig['suppress'];
  ipRangesSyncToken: string;
  /** Every credential-vending event read, by access key id (incidents date a stolen key's issue from it). */
  vending?: VendingIndex;
  /** Every AWSRevokeOlderSessions policy put on a role, in reading order. */
  revocations?: readonly Revocation[];
  /** What was read, for commands that look at it another way (exposure). */
  state: ScanState;
  /** The first few files that gave no events (see `unreadCloudTrail` in input-check.ts). */
  unread?: UnreadFile[];
}

/** Stats of a read that has read nothing yet. */
export function emptyScanStats(): ScanStats {
  return {
    files: 0,
    bytes: 0,
    records: 0,
    events: 0,
    badRecords: 0,
    badFiles: 0,
    vendingEvents: 0,
    usages: 0,
    durationMs: 0,
  };
}

export const DEFAULT_LIMITS: FrameLimits & DecodeLimits = {
  maxRecordBytes: 1024 * 1024,
  maxDecodedBytes: 4 * 1024 * 1024 * 1024,
  maxNestingDepth: DEFAULT_MAX_NESTING_DEPTH,
};

/** What reading the logs produced, before detection: the accumulated state and the input accounting. */
export interface ReadResult {
  state: ScanState;
  stats: ScanStats;
  warnings: InputWarning[];
  /** The first few files that gave no events, and what they looked like. */
  unread?: UnreadFile[];
}

/** Objects read in this thread before workers start: small inputs never wait for workers. */
const IN_PROCESS_FIRST = 8;

/**
 * Reads every log object, frames and parses its records and feeds the events to a ScanState
 * (in worker threads when `threads` > 1; their states are merged, in an order-independent way).
 * Bad files and records are reported through onWarning and skipped (or thrown with strict).
 * `exposure` and `scan` share it; `scanCloudTrail` adds the detectors.
 */
export async function readCloudTrail(
  objects: AsyncIterable<LogObject>,
  options: Pick<
    ScanOptions,
    'limits' | 'strict' | 'onWarning' | 'onProgress' | 'threads' | 'fastPath' | 'inProcessFirst'
  > = {},
): Promise<ReadResult> {
  const started = performance.now();
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const { warnings, warn } = warningCollector<InputWarning>({
    strict: options.strict,
    onWarning: options.onWarning,
    where: (w) => (w.recordIndex === undefined ? w.file : `${w.file} record ${w.recordIndex}`),
  });
  const stats: ScanStats = { ...emptyScanStats(), fastRecords: 0, threads: 0, emptyFiles: 0, skippedRecords: 0 };
  const unread: UnreadFile[] = [];
  const state = new ScanState();
  let events = 0;
  let lastProgress = 0;
  let currentFile = '';
  let filesDone = 0;
  let lastProgressMs = 0;
  const progress = (force: boolean): void => {
    if (!options.onProgress || (!force && events - lastProgress < 20000)) return;
    const now = performance.now();
    // Many small files finish faster than a terminal needs redrawing.
    if (force && now - lastProgressMs < 100) return;
    lastProgress = events;
    lastProgressMs = now;
    options.onProgress({ files: stats.files, filesDone, bytes: stats.bytes, events, currentFile });
  };
  const count = (name: string, objectStats: ObjectReadStats): void => {
    stats.records += objectStats.records;
    stats.badRecords += objectStats.badRecords;
    stats.fastRecords = (stats.fastRecords ?? 0) + objectStats.fastRecords;
    stats.skippedRecords = (stats.skippedRecords ?? 0) + (objectStats.skippedRecords ?? 0);
    if (objectStats.badFile) stats.badFiles += 1;
    if (objectStats.emptyFile) stats.emptyFiles = (stats.emptyFiles ?? 0) + 1;
    if ((objectStats.events ?? 0) === 0 && unread.length < UNREAD_SAMPLES) {
      unread.push({
        file: name,
        shape: objectStats.shape ?? 'no CloudTrail events',
        ...(objectStats.unreadable ? { unreadable: true } : {}),
      });
    }
    filesDone += 1;
    currentFile = name;
    progress(true);
  };
  const onEvents = (n: number, bytes: number): void => {
    events += n;
    stats.bytes += bytes;
    progress(false);
  };
  const threads = Math.max(1, Math.floor(options.threads ?? 1));
  const fastPath = options.fastPath !== false;
  let pool: ScanPool | undefined;
  try {
    for await (const object of objects) {
      stats.files += 1;
      if (threads > 1 && stats.files > (options.inProcessFirst ?? IN_PROCESS_FIRST) && poolable(object)) {
        pool ??= new ScanPool(
          threads,
          { limits, strict: options.strict === true, fastPath },
          {
            onWarning: warn,
            onObjectDone: count,
            onPartial: (snapshot) => state.absorb(snapshot),
            onEvents,
            onFetchFailed: (failed, error) => {
              const problem = readError(failed.name, error);
              if (options.strict) throw problem;
              warn({ file: failed.name, reason: problem.message });
              count(failed.name, { ...emptyObjectStats(), badFile: true, shape: problem.message, unreadable: true });
            },
          },
        );
        await pool.submit(object);
        continue;
      }
      currentFile = object.name;
      const objectStats = await readObject(object, {
        limits,
        strict: options.strict,
        fastPath,
        warn,
        addEvent: (event) => state.addEvent(event),
        onEvents,
      });
      count(object.name, objectStats);
    }
    if (pool) {
      stats.threads = threads;
      for (const snapshot of await pool.finish()) state.absorb(snapshot);
    }
  } finally {
    await pool?.close();
  }
  state.finalise();
  stats.events = state.events;
  stats.vendingEvents = state.vending.size;
  stats.usages = state.usages.size;
  stats.durationMs = performance.now() - started;
  return { state, stats, warnings, unread };
}

/**
 * Reads every log object and runs the CloudTrail detectors over all of it. Bad files and
 * records are reported through onWarning and skipped; the good ones still produce their findings.
 */
export async function scanCloudTrail(
  objects: AsyncIterable<LogObject>,
  options: ScanOptions = {},
): Promise<ScanResult> {
  const started = performance.now();
  const awsRanges = options.awsRanges ?? loadAwsRanges(options.ipRangesFile);
  const read = await readCloudTrail(objects, options);
  const result = detectInState(read, { ...options, awsRanges });
  result.stats.durationMs = performance.now() - started;
  return result;
}

/**
 * Runs the CloudTrail detectors over a state however it was read (the native reader, or SQL
 * aggregates from `offbox hunt`) and applies the config's suppress rules.
 */
export function detectInState(
  read: ReadResult,
  options: Pick<ScanOptions, 'config' | 'inventory' | 'detectors' | 'ipRangesFile' | 'awsRanges'>,
): ScanResult {
  const config = options.config ?? emptyConfig;
  const awsRanges = options.awsRanges ?? loadAwsRanges(options.ipRangesFile);
  const sources = buildSourceClassifier({ awsRanges, allowedCidrs: config.allowedSourceCidrs });
  const suppressions = compileSuppressions(config.suppress);
  const { state, stats, warnings, unread } = read;
  const detected = state.detect({
    detectors: options.detectors ?? cloudTrailDetectors,
    sources,
    inventory: options.inventory,
    trustedAccounts: config.trustedAccounts,
    ipRangesSyncToken: awsRanges.syncToken,
    unverifiableSeverity: config.unverifiableSourceSeverity,
  });
  const { kept: findings, suppressed } = suppressions.apply(detected);
  return {
    findings,
    stats,
    warnings,
    suppressed,
    expiredSuppressions: suppressions.expired,
    ipRangesSyncToken: awsRanges.syncToken,
    vending: state.vending,
    revocations: state.revocations,
    state,
    ...(unread ? { unread } : {}),
  };
}
