import { deserialize, serialize } from 'node:v8';
import type Database from 'better-sqlite3';
import type { CloudTrailEvent } from '../cloudtrail/event.js';
import type { VendingRecord } from '../cloudtrail/vending.js';
import type { Finding } from '../detect/finding.js';
import type { Revocation } from '../detect/revocation.js';
import { ScanState } from '../engine/scan-state.js';
import { packUsage, unpackUsage, type PackedUsage } from '../engine/usage.js';
import { ConfigError, UsageError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { Checkpoints } from './sources/types.js';

/** Bumped when the serialised detector state changes shape; an older state is refused with a hint. */
const STATE_FORMAT = '1';

/** One finding waiting to be sent to one sink. */
export interface OutboxEntry {
  seq: number;
  findingId: string;
  body: string;
}

/** Everything one batch changes, committed in one transaction. */
export interface BatchCommit {
  /** Checkpoint keys read (or skipped) by the batch, with their size when known. */
  keys: { key: string; size: number | undefined }[];
  state: ScanState;
  /** Usage keys the batch added to or changed. */
  changedUsages: Iterable<string>;
  expiredUsages: readonly string[];
  vending: readonly VendingRecord[];
  expiredVending: readonly string[];
  ownershipEvents: readonly CloudTrailEvent[];
  revocations: readonly Revocation[];
  watermarkMs: number;
  /** Findings to store (new ones, and new versions of emitted ones). */
  findings: readonly Finding[];
  /** Findings raised for the first time: each goes to every sink's outbox. */
  emit: readonly Finding[];
  sinks: readonly string[];
  runId: number;
  /** Web-log finding aggregates the batch changed (SSRF detectors), by finding id. */
  webAggregates?: readonly { id: string; saved: unknown }[];
}

/**
 * The part of the store `offbox watch` owns: checkpoints, the detector state (usages, vending,
 * ownership evidence, revocations), which findings were emitted, and each sink's outbox. One
 * batch is one transaction, so a process killed at any point restarts from the last batch whole.
 */
export class WatchStore implements Checkpoints {
  private readonly db: Database.Database;
  private readonly stmt;

  constructor(private readonly store: Store) {
    this.db = store.database;
    const db = this.db;
    this.stmt = {
      isCommitted: db.prepare<[string], { found: number }>('SELECT 1 AS found FROM watch_objects WHERE key = ?'),
      lastCommitted: db.prepare<[string, string], { key: string }>(
        'SELECT key FROM watch_objects WHERE key >= ? AND key < ? ORDER BY key DESC LIMIT 1',
      ),
      commitKey: db.prepare('INSERT OR IGNORE INTO watch_objects (key, size, committed_at) VALUES (?, ?, ?)'),
      putUsage: db.prepare('INSERT OR REPLACE INTO watch_usages (key, last_ms, state) VALUES (?, ?, ?)'),
      dropUsage: db.prepare('DELETE FROM watch_usages WHERE key = ?'),
      putVending: db.prepare(
        'INSERT OR REPLACE INTO watch_vending (access_key_id, issued_at_ms, record) VALUES (?, ?, ?)',
      ),
      dropVending: db.prepare('DELETE FROM watch_vending WHERE access_key_id = ?'),
      putEvidence: db.prepare('INSERT OR IGNORE INTO watch_evidence (kind, event_id, body) VALUES (?, ?, ?)'),
      replaceEvidence: db.prepare('INSERT OR REPLACE INTO watch_evidence (kind, event_id, body) VALUES (?, ?, ?)'),
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM watch_meta WHERE key = ?'),
      putMeta: db.prepare('INSERT OR REPLACE INTO watch_meta (key, value) VALUES (?, ?)'),
      isEmitted: db.prepare<[string], { found: number }>('SELECT 1 AS found FROM watch_emitted WHERE finding_id = ?'),
      markEmitted: db.prepare('INSERT OR IGNORE INTO watch_emitted (finding_id, emitted_at) VALUES (?, ?)'),
      emittedCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM watch_emitted'),
      queue: db.prepare('INSERT INTO watch_outbox (sink, finding_id, body) VALUES (?, ?, ?)'),
      outbox: db.prepare<[string], { seq: number; finding_id: string; body: string }>(
        'SELECT seq, finding_id, body FROM watch_outbox WHERE sink = ? ORDER BY seq',
      ),
      unsent: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM watch_outbox'),
      sent: db.prepare('DELETE FROM watch_outbox WHERE sink = ? AND seq <= ?'),
      getPosition: db.prepare<[string], { position: number }>(
        'SELECT position FROM watch_sink_positions WHERE sink = ?',
      ),
      putPosition: db.prepare('INSERT OR REPLACE INTO watch_sink_positions (sink, position) VALUES (?, ?)'),
    };
    const format = this.meta('stateFormat');
    if (format === undefined) this.stmt.putMeta.run('stateFormat', STATE_FORMAT);
    else if (format !== STATE_FORMAT) {
      throw new ConfigError(
        `store ${store.file} holds watch state in format ${format}; this offbox writes format ${STATE_FORMAT}`,
        'point watch at a new --db file (findings stay readable in the old one with offbox findings)',
      );
    }
  }

  /**
   * Marks this process as the store's watcher. Two watchers on one store would read the same objects
   * and race on the outboxes; one whose process is gone (killed) is taken over.
   */
  claim(pid: number, host: string, isAlive: (pid: number) => boolean): void {
    this.db
      .transaction(() => {
        const owner = this.meta('watcher');
        if (owner !== undefined) {
          const held = JSON.parse(owner) as { pid: number; host: string; since: string };
          if (held.pid !== pid && (held.host !== host || isAlive(held.pid))) {
            throw new UsageError(
              `store ${this.store.file} is being watched by process ${held.pid} on ${held.host} (since ${held.since})`,
              held.host === host
                ? 'stop that watch first, or give this one another --db'
                : 'one store serves one watcher: stop the other, or give this one another --db',
            );
          }
        }
        this.stmt.putMeta.run('watcher', JSON.stringify({ pid, host, since: new Date().toISOString() }));
      })
      .immediate();
  }

  /** Lets go of the store (a graceful stop). */
  release(pid: number): void {
    const owner = this.meta('watcher');
    if (owner !== undefined && (JSON.parse(owner) as { pid: number }).pid === pid) {
      this.db.prepare("DELETE FROM watch_meta WHERE key = 'watcher'").run();
    }
  }

  isCommitted(key: string): boolean {
    return this.stmt.isCommitted.get(key) !== undefined;
  }

  lastCommitted(prefix: string): string | undefined {
    return this.stmt.lastCommitted.get(prefix, `${prefix}\u{10ffff}`)?.key;
  }

  isEmitted(findingId: string): boolean {
    return this.stmt.isEmitted.get(findingId) !== undefined;
  }

  emittedCount(): number {
    return this.stmt.emittedCount.get()?.n ?? 0;
  }

  unsentCount(): number {
    return this.stmt.unsent.get()?.n ?? 0;
  }

  meta(key: string): string | undefined {
    return this.stmt.getMeta.get(key)?.value;
  }

  /** The detector state as the last committed batch left it. */
  loadState(): { state: ScanState; watermarkMs: number } {
    const state = new ScanState();
    const usages = this.db.prepare<[], { state: Buffer }>('SELECT state FROM watch_usages ORDER BY key').all();
    for (const row of usages) {
      const usage = unpackUsage(deserialize(row.state) as PackedUsage);
      state.usages.set(usage.key, usage);
    }
    const vending = this.db.prepare<[], { record: string }>('SELECT record FROM watch_vending').all();
    for (const row of vending) state.vending.add(JSON.parse(row.record) as VendingRecord);
    const evidence = this.db
      .prepare<[], { kind: string; body: Buffer }>('SELECT kind, body FROM watch_evidence ORDER BY kind, event_id')
      .all();
    for (const row of evidence) {
      if (row.kind === 'ownership') state.ownershipEvidence.consider(deserialize(row.body) as CloudTrailEvent);
      else if (row.kind === 'revocation') state.revocations.push(deserialize(row.body) as Revocation);
    }
    for (const account of JSON.parse(this.meta('recipientAccounts') ?? '[]') as string[]) {
      state.recipientAccounts.add(account);
    }
    state.events = Number(this.meta('events') ?? 0);
    state.finalise();
    return { state, watermarkMs: Number(this.meta('watermarkMs') ?? Number.NEGATIVE_INFINITY) };
  }

  /** Commits one batch: checkpoints, state changes, stored findings and the outboxes, all or nothing. */
  commit(batch: BatchCommit): void {
    const at = new Date().toISOString();
    const write = this.db.transaction(() => {
      for (const { key, size } of batch.keys) this.stmt.commitKey.run(key, size ?? null, at);
      for (const key of batch.changedUsages) {
        const usage = batch.state.usages.get(key);
        if (usage) this.stmt.putUsage.run(key, usage.lastMs, serialize(packUsage(usage)));
      }
      for (const key of batch.expiredUsages) this.stmt.dropUsage.run(key);
      for (const record of batch.vending) {
        this.stmt.putVending.run(record.accessKeyId, record.issuedAtMs, JSON.stringify(record));
      }
      for (const key of batch.expiredVending) this.stmt.dropVending.run(key);
      for (const event of batch.ownershipEvents) {
        this.stmt.putEvidence.run('ownership', evidenceId(event.eventId, event), serialize(event));
      }
      for (const revocation of batch.revocations) {
        // One policy can revoke several instances' sessions: a row per statement.
        const id = evidenceId(revocation.eventId, revocation) + `#${revocation.sessionNames.join(',')}`;
        this.stmt.putEvidence.run('revocation', id, serialize(revocation));
      }
      for (const { id, saved } of batch.webAggregates ?? []) this.stmt.replaceEvidence.run('web', id, serialize(saved));
      this.stmt.putMeta.run('events', String(batch.state.events));
      this.stmt.putMeta.run('watermarkMs', String(batch.watermarkMs));
      this.stmt.putMeta.run('recipientAccounts', JSON.stringify([...batch.state.recipientAccounts].sort()));
      if (batch.findings.length > 0) this.store.upsertFindings(batch.findings, batch.runId);
      for (const finding of batch.emit) {
        this.stmt.markEmitted.run(finding.id, at);
        const body = JSON.stringify(finding);
        for (const sink of batch.sinks) this.stmt.queue.run(sink, finding.id, body);
      }
    });
    write.immediate();
  }

  /** The saved web-log finding aggregates, by finding id. */
  loadWebAggregates(): { id: string; saved: unknown }[] {
    return this.db
      .prepare<[], { event_id: string; body: Buffer }>(
        "SELECT event_id, body FROM watch_evidence WHERE kind = 'web' ORDER BY event_id",
      )
      .all()
      .map((row) => ({ id: row.event_id, saved: deserialize(row.body) }));
  }

  outbox(sink: string): OutboxEntry[] {
    return this.stmt.outbox.all(sink).map((row) => ({ seq: row.seq, findingId: row.finding_id, body: row.body }));
  }

  /** Removes what a sink delivered, up to `seq`, and records where its file now ends. */
  delivered(sink: string, seq: number, position?: number): void {
    this.db
      .transaction(() => {
        this.stmt.sent.run(sink, seq);
        if (position !== undefined) this.stmt.putPosition.run(sink, position);
      })
      .immediate();
  }

  position(sink: string): number | undefined {
    return this.stmt.getPosition.get(sink)?.position;
  }

  setPosition(sink: string, position: number): void {
    this.stmt.putPosition.run(sink, position);
  }
}

/** Events without an id (hand-made logs) are keyed by their content, so a repeat is still one row. */
function evidenceId(eventId: string, value: unknown): string {
  return eventId !== '' ? eventId : `content:${JSON.stringify(value)}`;
}
