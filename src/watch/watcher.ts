import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import { isEvent, normaliseRecord } from '../cloudtrail/event.js';
import type { OffboxConfig } from '../config/config.js';
import type { Finding } from '../detect/finding.js';
import type { Detector } from '../detect/types.js';
import { readRaw } from '../engine/read-object.js';
import {
  detectInState,
  emptyScanStats,
  readCloudTrail,
  ScanState,
  type InputWarning,
  type ScanStats,
} from '../engine/scan.js';
import { OffboxError } from '../errors.js';
import { scanWebLogs, WebFindingAggregator, type SavedWebAggregate } from '../engine/web-scan.js';
import type { WebDetector } from '../detect/web-types.js';
import { webDetectors } from '../detect/registry.js';
import type { OwnershipMap } from '../inventory/ownership.js';
import type { AwsRanges } from '../net/aws-ranges.js';
import type { LogObject } from '../sources/log-object.js';
import type { Store } from '../store/store.js';
import type { FileSink } from './sinks/lines.js';
import type { FindingSink } from './sinks/types.js';
import type { Checkpoints, WatchBatch, WatchItem, WatchSource } from './sources/types.js';
import { WatchStore } from './state.js';

/** Options for {@link watch}. */
export interface WatchOptions {
  source: WatchSource;
  store: Store;
  sinks: readonly (FindingSink | FileSink)[];
  awsRanges: AwsRanges;
  config?: OffboxConfig;
  inventory?: OwnershipMap;
  detectors?: readonly Detector[];
  /** Web logs (ALB, CloudFront, WAF, nginx …) whose SSRF detectors run in the same process. */
  webSource?: WatchSource;
  webDetectors?: readonly WebDetector[];
  /**
   * A finding is emitted once the trail has moved this far past its first call, or once it has
   * waited this long: evidence delivered in other files (the vending event, the instance's own
   * agents) can reach it first and turn it into another finding, or into none. Default 30 minutes;
   * a finding is never withdrawn by evidence delivered later than this.
   */
  settleMs?: number;
  /** Sessions (usages) and vending records with nothing newer than this behind the newest event are dropped. Default 48 h. */
  sessionTtlMs?: number;
  /** Pause between polls that found nothing. Default 30 s. */
  pollIntervalMs?: number;
  /** Items (objects, messages) per batch; one batch is one transaction. Default 200. */
  batchItems?: number;
  /** Compressed bytes fetched per batch at most (one item always fits). Default 256 MiB. */
  batchBytes?: number;
  /** Read until nothing new is left, emit everything raised, and return. */
  once?: boolean;
  /** Worker threads to read a batch with (default 1). */
  threads?: number;
  signal?: AbortSignal;
  /** Every statusIntervalMs, and when a backlog has been caught up. */
  onStatus?: (status: WatchStatus) => void;
  statusIntervalMs?: number;
  onWarning?: (warning: InputWarning) => void;
  /** A source or sink failed; watch tries again in `retryInMs`. */
  onRetry?: (what: string, error: OffboxError, retryInMs: number) => void;
  /** Each finding emitted, after its sinks have it. */
  onEmitted?: (finding: Finding) => void;
  now?: () => number;
}

/** What a status line says. */
export interface WatchStatus {
  batches: number;
  events: number;
  /** Events per second since the last status. */
  eventsPerSecond: number;
  /** Wall time minus the newest event time read; undefined before the first event. */
  lagMs: number | undefined;
  /** Items the last poll found but left for later. */
  backlog: number;
  /** Findings raised but not emitted yet (settling). */
  pending: number;
  emitted: number;
  /** Findings queued for sinks that have not taken them yet. */
  unsent: number;
  liveSessions: number;
}

/** Totals of a watch that ended (graceful stop, or --once). */
export interface WatchSummary extends WatchStatus {
  stopped: 'signal' | 'caught-up';
}

const MINUTE = 60_000;
const MAX_RETRY_MS = 5 * MINUTE;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isFileSink(sink: FindingSink | FileSink): sink is FileSink {
  return typeof (sink as FileSink).recover === 'function';
}

/** A batch's items, fetched: objects in memory, inline records, and the checkpoint keys they cover. */
interface Fetched {
  objects: LogObject[];
  keys: { key: string; size: number | undefined }[];
  records: unknown[];
  /** Items that were inline records only. */
  inline: number;
}

/** Web-log checkpoints share the table with the trail's: the same file named by both is read by both. */
const WEB_KEY_PREFIX = 'web:';

function memoryObject(name: string, bytes: Buffer): LogObject {
  return { name, size: bytes.length, open: () => Promise.resolve(Readable.from([bytes])) };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function asOffboxError(error: unknown): OffboxError {
  if (error instanceof OffboxError) return error;
  return new OffboxError((error as Error)?.message ?? String(error), 'watch tries again', { cause: error });
}

/**
 * Reads a source continuously, batch by batch: each batch's objects are read, the detectors run over
 * the whole live state, and the batch's checkpoints, state changes, findings and the findings to emit
 * are committed in one transaction before its source acknowledges it (SQS deletes its messages).
 * Emission goes through per-sink outboxes, so a process killed at any point re-reads at most its last
 * batch and emits every finding once (exactly once to files, which are checked after a crash).
 */
export async function watch(options: WatchOptions): Promise<WatchSummary> {
  const now = options.now ?? Date.now;
  const settleMs = options.settleMs ?? 30 * MINUTE;
  const ttlMs = options.sessionTtlMs ?? 48 * 60 * MINUTE;
  const pollMs = options.pollIntervalMs ?? 30_000;
  const batchItems = Math.max(1, options.batchItems ?? 200);
  const batchBytes = options.batchBytes ?? 256 * 1024 * 1024;
  const statusMs = options.statusIntervalMs ?? MINUTE;
  const signal = options.signal;
  const store = new WatchStore(options.store);
  store.claim(process.pid, hostname(), isAlive);
  const sinkNames = options.sinks.map((s) => s.name);
  const restored = store.loadState();
  const live = restored.state;
  let watermarkMs = restored.watermarkMs;
  const runId = options.store.beginRun('watch', {
    source: options.source.name,
    ...(options.webSource ? { webSource: options.webSource.name } : {}),
    sinks: sinkNames,
  });
  const webAggregator = options.webSource
    ? new WebFindingAggregator(
        {
          hasInventory: options.inventory !== undefined && !options.inventory.isEmpty,
          ipRangesSyncToken: options.awsRanges.syncToken,
        },
        options.inventory,
      )
    : undefined;
  if (webAggregator) {
    for (const { id, saved } of store.loadWebAggregates()) {
      webAggregator.restore(id, saved as SavedWebAggregate, options.webDetectors ?? webDetectors);
    }
  }
  /** Finding id → when it was first raised and not emitted (wall time). */
  const pending = new Map<string, number>();
  /** Finding id → the body last stored, so unchanged findings are not rewritten every batch. */
  const stored = new Map<string, string>();
  let batches = 0;
  let backlog = 0;
  let eventsAtStatus = live.events;
  let lastStatusAt = now();
  let wasBehind = false;
  let sinkRetryAt = 0;
  let sinkFailures = 0;

  for (const sink of options.sinks) {
    if (isFileSink(sink) && store.position(sink.name) === undefined) store.setPosition(sink.name, sink.size());
  }

  const status = (): WatchStatus => {
    const at = now();
    const seconds = Math.max(0.001, (at - lastStatusAt) / 1000);
    return {
      batches,
      events: live.events,
      eventsPerSecond: (live.events - eventsAtStatus) / seconds,
      lagMs: Number.isFinite(watermarkMs) ? Math.max(0, at - watermarkMs) : undefined,
      backlog,
      pending: pending.size,
      emitted: store.emittedCount(),
      unsent: store.unsentCount(),
      liveSessions: live.usages.size,
    };
  };
  const report = (force: boolean): void => {
    if (!options.onStatus || (!force && now() - lastStatusAt < statusMs)) return;
    options.onStatus(status());
    lastStatusAt = now();
    eventsAtStatus = live.events;
  };

  /** Sends each sink what its outbox holds; a sink that fails keeps its outbox for the next try. */
  const deliver = async (): Promise<void> => {
    if (now() < sinkRetryAt) return;
    for (const sink of options.sinks) {
      const entries = store.outbox(sink.name);
      if (entries.length === 0) continue;
      try {
        let send = entries;
        if (isFileSink(sink)) {
          const written = sink.recover(store.position(sink.name) ?? 0);
          send = entries.filter((entry) => !written.has(entry.findingId));
        }
        const findings = send.map((entry) => JSON.parse(entry.body) as Finding);
        await sink.deliver(findings);
        store.delivered(sink.name, entries.at(-1)!.seq, isFileSink(sink) ? sink.size() : undefined);
        for (const finding of findings) options.onEmitted?.(finding);
        sinkFailures = 0;
      } catch (error) {
        sinkFailures += 1;
        const wait = Math.min(MAX_RETRY_MS, 1000 * 2 ** Math.min(sinkFailures, 10));
        sinkRetryAt = now() + wait;
        options.onRetry?.(sink.name, asOffboxError(error), wait);
        return;
      }
    }
  };

  /** Fetches the batch's bytes; stops at the first item it cannot fetch, which the next poll offers again. */
  const fetchItems = async (items: readonly WatchItem[]): Promise<Fetched> => {
    const objects: LogObject[] = [];
    const keys: { key: string; size: number | undefined }[] = [];
    const records: unknown[] = [];
    let inline = 0;
    let bytes = 0;
    for (const item of items) {
      if (item.object) {
        if (objects.length > 0 && bytes + (item.object.size ?? 0) > batchBytes) break;
        let raw: Buffer;
        try {
          raw = await readRaw(item.object);
        } catch (error) {
          if (keys.length === 0) throw error;
          break;
        }
        bytes += raw.length;
        objects.push(memoryObject(item.object.name, raw));
      } else inline += 1;
      records.push(...item.records);
      keys.push({ key: item.key, size: item.object?.size });
    }
    return { objects, keys, records, inline };
  };

  const detectAndCommit = async (
    keys: { key: string; size: number | undefined }[],
    batchStates: ScanState[],
    stats: ScanStats | undefined,
    final: boolean,
  ): Promise<void> => {
    const changed = new Set<string>();
    const vendingKeys = new Set<string>();
    const ownershipEvents = [];
    const revocations = [];
    for (const batch of batchStates) {
      for (const key of batch.usages.keys()) changed.add(key);
      for (const record of batch.vending.values()) vendingKeys.add(record.accessKeyId);
      ownershipEvents.push(...batch.ownershipEvidence.events());
      revocations.push(...batch.revocations);
      for (const usage of batch.usages.values()) if (usage.lastMs > watermarkMs) watermarkMs = usage.lastMs;
      live.absorb(batch.snapshot());
    }
    const cutoff = watermarkMs - ttlMs;
    const expiredUsages: string[] = [];
    for (const [key, usage] of live.usages) {
      if (usage.lastMs < cutoff) {
        live.usages.delete(key);
        changed.delete(key);
        expiredUsages.push(key);
      }
    }
    const expiredVending = Number.isFinite(cutoff) ? live.vending.expireBefore(cutoff) : [];
    for (const key of expiredVending) vendingKeys.delete(key);
    live.finalise();
    const result = detectInState(
      { state: live, stats: stats ?? emptyScanStats(), warnings: [] },
      {
        awsRanges: options.awsRanges,
        ...(options.config ? { config: options.config } : {}),
        ...(options.inventory ? { inventory: options.inventory } : {}),
        ...(options.detectors ? { detectors: options.detectors } : {}),
      },
    );
    const emit: Finding[] = [];
    const toStore: Finding[] = [];
    const raised = new Set<string>();
    const at = now();
    for (const finding of result.findings) {
      raised.add(finding.id);
      const body = JSON.stringify(finding);
      if (store.isEmitted(finding.id)) {
        if (stored.get(finding.id) !== body) toStore.push(finding);
      } else {
        const since = pending.get(finding.id) ?? at;
        const firstSeenMs = Date.parse(finding.activity.firstSeen);
        const settled =
          final || at - since >= settleMs || (Number.isFinite(firstSeenMs) && watermarkMs - firstSeenMs >= settleMs);
        if (!settled) {
          pending.set(finding.id, since);
          continue;
        }
        pending.delete(finding.id);
        emit.push(finding);
        toStore.push(finding);
      }
      stored.set(finding.id, body);
    }
    // A finding that is no longer raised before it settled was an early reading of partial evidence.
    for (const id of pending.keys()) if (!raised.has(id)) pending.delete(id);
    store.commit({
      keys,
      state: live,
      changedUsages: changed,
      expiredUsages,
      vending: [...vendingKeys].flatMap((key) => live.vending.get(key) ?? []),
      expiredVending,
      ownershipEvents,
      revocations,
      watermarkMs,
      findings: toStore,
      emit,
      sinks: sinkNames,
      runId,
    });
  };

  /** Reads one web-log batch into the web aggregates; their findings are emitted when first raised. */
  const readWebBatch = async (fetched: Fetched): Promise<void> => {
    const web = await scanWebLogs(
      (async function* () {
        yield* fetched.objects;
      })(),
      {
        aggregator: webAggregator!,
        awsRanges: options.awsRanges,
        ...(options.config ? { config: options.config } : {}),
        ...(options.inventory ? { inventory: options.inventory } : {}),
        ...(options.webDetectors ? { detectors: options.webDetectors } : {}),
        ...(options.onWarning
          ? {
              onWarning: (w) =>
                options.onWarning!({
                  file: w.file,
                  reason: w.line === undefined ? w.reason : `line ${w.line}: ${w.reason}`,
                }),
            }
          : {}),
      },
    );
    const emit: Finding[] = [];
    const toStore: Finding[] = [];
    for (const finding of web.findings) {
      const body = JSON.stringify(finding);
      if (stored.get(finding.id) === body) continue;
      stored.set(finding.id, body);
      toStore.push(finding);
      // Web detectors judge each request on its own: nothing delivered later withdraws a finding.
      if (!store.isEmitted(finding.id)) emit.push(finding);
    }
    const webAggregates = webAggregator!.takeChanged().map((id) => ({ id, saved: webAggregator!.save(id) }));
    store.commit({
      keys: fetched.keys.map(({ key, size }) => ({ key: `${WEB_KEY_PREFIX}${key}`, size })),
      state: live,
      changedUsages: [],
      expiredUsages: [],
      vending: [],
      expiredVending: [],
      ownershipEvents: [],
      revocations: [],
      watermarkMs,
      findings: toStore,
      emit,
      sinks: sinkNames,
      runId,
      webAggregates,
    });
  };

  /** Polls one source and reads what it found; says whether it did work, and what is left. */
  const step = async (
    source: WatchSource,
    checkpoints: Checkpoints,
    read: (fetched: Fetched) => Promise<void>,
    failures: { count: number },
  ): Promise<{ worked: boolean; backlog: number; failedWaitMs?: number }> => {
    let batch: WatchBatch;
    let fetched: Fetched;
    try {
      batch = await source.poll(checkpoints, batchItems, signal ?? new AbortController().signal);
      if (batch.items.length === 0 && batch.emptyKeys.length === 0) {
        failures.count = 0;
        return { worked: false, backlog: batch.backlog };
      }
      fetched = await fetchItems(batch.items);
      failures.count = 0;
    } catch (error) {
      if (options.once) throw error;
      failures.count += 1;
      const wait = Math.min(MAX_RETRY_MS, Math.max(1000, pollMs) * 2 ** Math.min(failures.count - 1, 10));
      options.onRetry?.(source.name, asOffboxError(error), wait);
      return { worked: false, backlog: 0, failedWaitMs: wait };
    }
    fetched.keys.push(...batch.emptyKeys.map((key) => ({ key, size: undefined })));
    await read(fetched);
    batches += 1;
    await batch.acknowledge(new Set(fetched.keys.map((k) => k.key)));
    await deliver();
    return { worked: true, backlog: batch.backlog + (batch.items.length - fetched.objects.length - fetched.inline) };
  };

  const readTrailBatch = async (fetched: Fetched): Promise<void> => {
    const read = await readCloudTrail(
      (async function* () {
        yield* fetched.objects;
      })(),
      {
        threads: options.threads ?? 1,
        ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      },
    );
    const inline = new ScanState();
    for (const record of fetched.records) {
      const event = normaliseRecord(record);
      if (isEvent(event)) inline.addEvent(event);
    }
    inline.finalise();
    await detectAndCommit(fetched.keys, [read.state, inline], read.stats, false);
  };

  const webCheckpoints: Checkpoints = {
    isCommitted: (key) => store.isCommitted(`${WEB_KEY_PREFIX}${key}`),
    lastCommitted: (prefix) => store.lastCommitted(`${WEB_KEY_PREFIX}${prefix}`)?.slice(WEB_KEY_PREFIX.length),
  };
  const trailFailures = { count: 0 };
  const webFailures = { count: 0 };

  await deliver();
  let stopped: WatchSummary['stopped'] = 'signal';
  while (!signal?.aborted) {
    const trail = await step(options.source, store, readTrailBatch, trailFailures);
    const web =
      options.webSource && !signal?.aborted
        ? await step(options.webSource, webCheckpoints, readWebBatch, webFailures)
        : { worked: false, backlog: 0 };
    backlog = trail.backlog + web.backlog;
    if (trail.worked || web.worked) {
      const behind = backlog > 0;
      // Say so once when a backlog has been read through: that is when the lag figure means "live".
      report(wasBehind && !behind);
      wasBehind = behind;
      continue;
    }
    const failedWaitMs = Math.max(trail.failedWaitMs ?? 0, web.failedWaitMs ?? 0);
    if (options.once && backlog === 0 && failedWaitMs === 0) {
      await detectAndCommit([], [], undefined, true);
      await deliver();
      stopped = 'caught-up';
      break;
    }
    // Quiet trail: findings still settle by waiting, and failed sinks get their retry.
    if (pending.size > 0) await detectAndCommit([], [], undefined, false);
    await deliver();
    report(false);
    await sleep(failedWaitMs > 0 ? failedWaitMs : pollMs, signal);
  }
  store.release(process.pid);
  const summary: WatchSummary = { ...status(), stopped };
  options.store.finishRun(runId, {
    events: live.events,
    findings: summary.emitted,
    warnings: 0,
    ipRangesSyncToken: options.awsRanges.syncToken,
  });
  return summary;
}
