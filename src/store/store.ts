import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { VendingRecord } from '../cloudtrail/vending.js';
import { isSeverity, SEVERITIES, severityRank, type Finding, type Severity } from '../detect/finding.js';
import type { Revocation } from '../detect/revocation.js';
import { ConfigError, UsageError } from '../errors.js';

/** Triage states of a stored finding. */
export const FINDING_STATUSES = ['new', 'acknowledged', 'resolved', 'suppressed'] as const;
export type FindingStatus = (typeof FINDING_STATUSES)[number];

/** True when `value` is one of {@link FINDING_STATUSES}. */
export function isFindingStatus(value: string): value is FindingStatus {
  return (FINDING_STATUSES as readonly string[]).includes(value);
}

/** A finding as stored, with its triage state. `statusNote` is '' when none was given. */
export type StoredFinding = Finding & {
  status: FindingStatus;
  statusNote: string;
  createdAt: string;
  updatedAt: string;
};

/**
 * Sort orders for {@link Store.listFindings}; ties break on id.
 * severity: most severe, then most recent · lastSeen / updatedAt / createdAt: newest first ·
 * firstSeen: oldest first · calls: most calls first · rank: most severe, then the IMDSv1 backlog's rank.
 */
export const FINDING_SORTS = ['severity', 'lastSeen', 'firstSeen', 'calls', 'updatedAt', 'createdAt', 'rank'] as const;
export type FindingSort = (typeof FINDING_SORTS)[number];

/** Filter and paging for {@link Store.listFindings}; all given conditions must hold. */
export interface FindingFilter {
  detector?: string;
  /** Only findings at least this severe. */
  minSeverity?: Severity;
  status?: FindingStatus | readonly FindingStatus[];
  accountId?: string;
  role?: string;
  /** Case-insensitive substring of id, detector, title, account, role, role ARN, session, instance, source ip or owner. */
  search?: string;
  /** Page size; default 100, at most 10,000. */
  limit?: number;
  offset?: number;
  /** Default `severity`. */
  sort?: FindingSort;
}

/** Counts recorded when a run finishes. */
export interface RunCounts {
  events: number;
  findings: number;
  warnings: number;
  ipRangesSyncToken?: string;
}

/** One row of the `runs` table. `inputs` is the parsed JSON given to beginRun. */
export interface RunRecord {
  id: number;
  command: string;
  startedAt: string;
  finishedAt: string | null;
  inputs: unknown;
  events: number | null;
  findings: number | null;
  warnings: number | null;
  ipRangesSyncToken: string | null;
}

/** One row of the `audit` table. `detail` is the parsed JSON. */
export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  findingId: string | null;
  detail: unknown;
}

/** A findings database; not safe to share between worker threads. */
export interface Store {
  /** The file this store was opened from. */
  readonly file: string;
  /** The SQLite connection, for modules that keep their own tables in the store (watch state). */
  readonly database: Database.Database;
  /** Inserts new findings and replaces the body of known ones, in one transaction; status, note and createdAt are kept. */
  upsertFindings(findings: readonly Finding[], runId?: number): { inserted: number; updated: number };
  getFinding(id: string): StoredFinding | undefined;
  listFindings(filter?: FindingFilter): { total: number; findings: StoredFinding[] };
  /** Changes a finding's status and writes an audit row in the same transaction; throws UsageError for an unknown id or status. */
  setStatus(id: string, status: FindingStatus, note: string, actor: string): StoredFinding;
  /** Appends an audit row (containment actions and the like); returns its id. */
  addAudit(entry: { actor: string; action: string; findingId?: string; detail?: unknown }): number;
  /** Audit rows, oldest first; only those of `findingId` when given. */
  listAudit(findingId?: string): AuditEntry[];
  /** Every stored finding, in id order, without the triage fields (for incidents). */
  allFindings(): Finding[];
  /** Distinct values of the filterable columns, sorted (severities and statuses most urgent first). */
  findingFacets(): FindingFacets;
  /** Changes whenever a finding is added or changed: the count and the latest updatedAt. */
  findingsStamp(): string;
  /** Keeps the CloudTrail facts incidents are told with (vending events, revocations); replaces known ones. */
  putEvidence(evidence: { vending?: Iterable<VendingRecord>; revocations?: Iterable<Revocation> }): void;
  /** The vending records put with {@link Store.putEvidence}, by access key id order. */
  listVending(): VendingRecord[];
  /** The revocations put with {@link Store.putEvidence}. */
  listRevocations(): Revocation[];
  /** Records the start of a run; returns its id. */
  beginRun(command: string, inputs: unknown): number;
  finishRun(runId: number, counts: RunCounts): void;
  getRun(runId: number): RunRecord | undefined;
  close(): void;
}

/** What the findings table holds, for filters. */
export interface FindingFacets {
  total: number;
  detectors: string[];
  accounts: string[];
  roles: string[];
  statuses: FindingStatus[];
  severities: Severity[];
}

/** Options for {@link openStore}. */
export interface StoreOptions {
  /** Clock for created/updated/audit times; for tests. */
  now?: () => Date;
  /** Milliseconds to wait for another process's lock; default 5000. */
  busyTimeoutMs?: number;
}

// Ordered: MIGRATIONS[i] takes the schema from version i to i + 1. Append, never edit.
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE findings (
    id            TEXT PRIMARY KEY,
    detector      TEXT NOT NULL,
    severity      TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    confidence    TEXT NOT NULL,
    account_id    TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL DEFAULT '',
    instance_id   TEXT NOT NULL DEFAULT '',
    source_ip     TEXT NOT NULL DEFAULT '',
    first_seen    TEXT NOT NULL DEFAULT '',
    last_seen     TEXT NOT NULL DEFAULT '',
    calls         INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'new'
                  CHECK (status IN ('new', 'acknowledged', 'resolved', 'suppressed')),
    status_note   TEXT NOT NULL DEFAULT '',
    body          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    first_run_id  INTEGER,
    last_run_id   INTEGER
  );
  CREATE INDEX findings_detector ON findings (detector);
  CREATE INDEX findings_severity_rank ON findings (severity_rank);
  CREATE INDEX findings_last_seen ON findings (last_seen);
  CREATE INDEX findings_status ON findings (status);

  CREATE TABLE runs (
    id                   INTEGER PRIMARY KEY,
    command              TEXT NOT NULL,
    started_at           TEXT NOT NULL,
    finished_at          TEXT,
    inputs               TEXT NOT NULL DEFAULT 'null',
    events               INTEGER,
    findings             INTEGER,
    warnings             INTEGER,
    ip_ranges_sync_token TEXT
  );

  CREATE TABLE audit (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    finding_id TEXT,
    detail     TEXT NOT NULL DEFAULT '{}'
  );
  CREATE INDEX audit_finding_id ON audit (finding_id);
  `,
  // offbox watch: what was read, the detector state, and what each sink was sent.
  `
  CREATE TABLE watch_objects (
    key          TEXT PRIMARY KEY,
    size         INTEGER,
    committed_at TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE watch_usages (
    key     TEXT PRIMARY KEY,
    last_ms REAL NOT NULL,
    state   BLOB NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX watch_usages_last_ms ON watch_usages (last_ms);

  CREATE TABLE watch_vending (
    access_key_id TEXT PRIMARY KEY,
    issued_at_ms  REAL NOT NULL,
    record        TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE watch_evidence (
    kind     TEXT NOT NULL,
    event_id TEXT NOT NULL,
    body     BLOB NOT NULL,
    PRIMARY KEY (kind, event_id)
  ) WITHOUT ROWID;

  CREATE TABLE watch_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE watch_emitted (
    finding_id TEXT PRIMARY KEY,
    emitted_at TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE watch_outbox (
    seq        INTEGER PRIMARY KEY,
    sink       TEXT NOT NULL,
    finding_id TEXT NOT NULL,
    body       TEXT NOT NULL
  );
  CREATE INDEX watch_outbox_sink ON watch_outbox (sink, seq);

  CREATE TABLE watch_sink_positions (
    sink     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // Incident evidence from scan and hunt (watch keeps its own), and indexes for the dashboard's filters.
  `
  CREATE TABLE evidence_vending (
    access_key_id TEXT PRIMARY KEY,
    record        TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE evidence_revocations (
    id     TEXT PRIMARY KEY,
    record TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE INDEX findings_account_id ON findings (account_id);
  CREATE INDEX findings_role ON findings (role);
  CREATE INDEX findings_updated_at ON findings (updated_at);
  `,
];

/** The schema version this code writes. */
export const STORE_SCHEMA_VERSION = MIGRATIONS.length;

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

const SORT_SQL: Record<FindingSort, string> = {
  severity: 'severity_rank DESC, last_seen DESC, id ASC',
  lastSeen: 'last_seen DESC, id ASC',
  firstSeen: 'first_seen ASC, id ASC',
  calls: 'calls DESC, id ASC',
  updatedAt: 'updated_at DESC, id ASC',
  createdAt: 'created_at DESC, id ASC',
  rank: "severity_rank DESC, CAST(json_extract(body, '$.exposure.rank') AS INTEGER) ASC NULLS LAST, id ASC",
};

const SEARCH_SQL = `(
  id LIKE @search ESCAPE '\\' OR detector LIKE @search ESCAPE '\\' OR account_id LIKE @search ESCAPE '\\'
  OR role LIKE @search ESCAPE '\\' OR instance_id LIKE @search ESCAPE '\\' OR source_ip LIKE @search ESCAPE '\\'
  OR json_extract(body, '$.title') LIKE @search ESCAPE '\\'
  OR json_extract(body, '$.principal.roleArn') LIKE @search ESCAPE '\\'
  OR json_extract(body, '$.principal.sessionName') LIKE @search ESCAPE '\\'
  OR json_extract(body, '$.source.owner') LIKE @search ESCAPE '\\'
)`;

interface FindingRow {
  body: string;
  status: FindingStatus;
  status_note: string;
  created_at: string;
  updated_at: string;
}

interface RunRow {
  id: number;
  command: string;
  started_at: string;
  finished_at: string | null;
  inputs: string;
  events: number | null;
  findings: number | null;
  warnings: number | null;
  ip_ranges_sync_token: string | null;
}

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  finding_id: string | null;
  detail: string;
}

function toStored(row: FindingRow): StoredFinding {
  const finding = JSON.parse(row.body) as Finding;
  return {
    ...finding,
    status: row.status,
    statusNote: row.status_note,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The plain finding, without the triage fields a StoredFinding passed back in would carry. */
function bodyOf(f: Finding): Finding {
  const copy: Partial<StoredFinding> = { ...f };
  delete copy.status;
  delete copy.statusNote;
  delete copy.createdAt;
  delete copy.updatedAt;
  return copy as Finding;
}

function isMemory(file: string): boolean {
  return file === ':memory:' || file === '';
}

function prepareFile(file: string): void {
  if (isMemory(file)) return;
  // Findings name roles, keys and addresses: keep new files private to the user.
  mkdirSync(dirname(resolve(file)), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

function migrate(db: Database.Database, file: string): void {
  const readVersion = (): number => Number(db.pragma('user_version', { simple: true }));
  const refuseNewer = (version: number): void => {
    if (version > STORE_SCHEMA_VERSION) {
      throw new ConfigError(
        `store ${file} has schema version ${version}; this offbox understands up to version ${STORE_SCHEMA_VERSION}`,
        'upgrade offbox to open this store, or point it at another store file',
      );
    }
  };
  refuseNewer(readVersion());
  if (readVersion() === STORE_SCHEMA_VERSION) return;
  // IMMEDIATE takes the write lock first, so two processes opening a new file
  // cannot both run the same migration; the version is re-read under the lock.
  db.transaction(() => {
    const version = readVersion();
    refuseNewer(version);
    for (let v = version; v < STORE_SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v] ?? '');
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}

function checkCount(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new UsageError(`${name} must be a whole number from 0 to ${max}, not ${String(value)}`);
  }
  return value;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Opens (creating when missing, with its parent folder) the SQLite findings
 * store at `file` (`:memory:` for a throwaway one), in WAL mode with a busy
 * timeout, and brings its schema up to {@link STORE_SCHEMA_VERSION}. Throws
 * ConfigError when the file is not a usable store, including one written by a
 * newer offbox.
 */
export function openStore(file: string, opts: StoreOptions = {}): Store {
  const now = (): string => (opts.now ?? (() => new Date()))().toISOString();
  let db: Database.Database | undefined;
  try {
    prepareFile(file);
    db = new Database(file);
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db, file);
  } catch (err) {
    db?.close();
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(
      `cannot open store ${file}: ${(err as Error).message}`,
      'check the path and its permissions; the file must be an offbox store (SQLite)',
      { cause: err },
    );
  }
  return createStore(db, file, now);
}

function createStore(db: Database.Database, file: string, now: () => string): Store {
  const stmt = {
    exists: db.prepare<[string], { found: number }>('SELECT 1 AS found FROM findings WHERE id = ?'),
    insert: db.prepare(`
      INSERT INTO findings (id, detector, severity, severity_rank, confidence, account_id, role, instance_id,
        source_ip, first_seen, last_seen, calls, body, created_at, updated_at, first_run_id, last_run_id)
      VALUES (@id, @detector, @severity, @severityRank, @confidence, @accountId, @role, @instanceId,
        @sourceIp, @firstSeen, @lastSeen, @calls, @body, @now, @now, @runId, @runId)`),
    update: db.prepare(`
      UPDATE findings SET detector = @detector, severity = @severity, severity_rank = @severityRank,
        confidence = @confidence, account_id = @accountId, role = @role, instance_id = @instanceId,
        source_ip = @sourceIp, first_seen = @firstSeen, last_seen = @lastSeen, calls = @calls, body = @body,
        updated_at = @now, last_run_id = COALESCE(@runId, last_run_id)
      WHERE id = @id`),
    get: db.prepare<[string], FindingRow>(
      'SELECT body, status, status_note, created_at, updated_at FROM findings WHERE id = ?',
    ),
    setStatus: db.prepare(
      'UPDATE findings SET status = @status, status_note = @note, updated_at = @now WHERE id = @id',
    ),
    audit: db.prepare(
      'INSERT INTO audit (at, actor, action, finding_id, detail) VALUES (@at, @actor, @action, @findingId, @detail)',
    ),
    auditAll: db.prepare<[], AuditRow>('SELECT * FROM audit ORDER BY id'),
    auditOf: db.prepare<[string], AuditRow>('SELECT * FROM audit WHERE finding_id = ? ORDER BY id'),
    beginRun: db.prepare('INSERT INTO runs (command, started_at, inputs) VALUES (@command, @now, @inputs)'),
    finishRun: db.prepare(`
      UPDATE runs SET finished_at = @now, events = @events, findings = @findings, warnings = @warnings,
        ip_ranges_sync_token = @token
      WHERE id = @id`),
    getRun: db.prepare<[number], RunRow>('SELECT * FROM runs WHERE id = ?'),
    allBodies: db.prepare<[], { body: string }>('SELECT body FROM findings ORDER BY id'),
    stamp: db.prepare<[], { n: number; latest: string | null }>(
      'SELECT COUNT(*) AS n, MAX(updated_at) AS latest FROM findings',
    ),
    putVending: db.prepare('INSERT OR REPLACE INTO evidence_vending (access_key_id, record) VALUES (?, ?)'),
    putRevocation: db.prepare('INSERT OR REPLACE INTO evidence_revocations (id, record) VALUES (?, ?)'),
    listVending: db.prepare<[], { record: string }>('SELECT record FROM evidence_vending ORDER BY access_key_id'),
    listRevocations: db.prepare<[], { record: string }>('SELECT record FROM evidence_revocations ORDER BY id'),
  };
  const distinct = (column: 'detector' | 'account_id' | 'role' | 'status'): string[] =>
    db
      .prepare<[], string>(`SELECT DISTINCT ${column} FROM findings WHERE ${column} != '' ORDER BY ${column}`)
      .pluck()
      .all();
  // listFindings builds its WHERE from fixed fragments only; cache one statement per shape.
  const listStatements = new Map<string, Database.Statement>();
  const prepared = (sql: string): Database.Statement => {
    let s = listStatements.get(sql);
    if (s === undefined) {
      s = db.prepare(sql);
      listStatements.set(sql, s);
    }
    return s;
  };

  const insertAudit = (actor: string, action: string, findingId: string | null, detail: unknown): number =>
    Number(
      stmt.audit.run({ at: now(), actor, action, findingId, detail: JSON.stringify(detail ?? {}) }).lastInsertRowid,
    );

  const upsert = db.transaction((findings: readonly Finding[], runId: number | null) => {
    let inserted = 0;
    let updated = 0;
    const at = now();
    for (const f of findings) {
      if (typeof f.id !== 'string' || f.id === '') throw new TypeError('finding has no id');
      if (!isSeverity(f.severity)) throw new TypeError(`finding ${f.id} has unknown severity ${String(f.severity)}`);
      const params = {
        id: f.id,
        detector: f.detector,
        severity: f.severity,
        severityRank: severityRank(f.severity),
        confidence: f.confidence,
        accountId: f.accountId ?? '',
        role: f.principal?.role ?? '',
        instanceId: f.principal?.instanceId ?? '',
        sourceIp: f.source?.ip ?? '',
        firstSeen: f.activity?.firstSeen ?? '',
        lastSeen: f.activity?.lastSeen ?? '',
        calls: f.activity?.calls ?? 0,
        body: JSON.stringify(bodyOf(f)),
        now: at,
        runId,
      };
      if (stmt.exists.get(f.id) === undefined) {
        stmt.insert.run(params);
        inserted++;
      } else {
        stmt.update.run(params);
        updated++;
      }
    }
    return { inserted, updated };
  });

  const setStatus = db.transaction((id: string, status: FindingStatus, note: string, actor: string) => {
    const before = stmt.get.get(id);
    if (before === undefined) {
      throw new UsageError(`no finding with id ${JSON.stringify(id)}`, 'list findings to find the right id');
    }
    stmt.setStatus.run({ id, status, note, now: now() });
    insertAudit(actor, 'set-status', id, { from: before.status, to: status, note });
    const after = stmt.get.get(id);
    if (after === undefined) throw new Error(`finding ${id} vanished inside a transaction`);
    return toStored(after);
  });

  const putEvidence = db.transaction((vending: Iterable<VendingRecord>, revocations: Iterable<Revocation>) => {
    for (const record of vending) stmt.putVending.run(record.accessKeyId, JSON.stringify(record));
    for (const r of revocations) {
      // One policy can revoke several instances' sessions: a row per statement, as watch keeps them.
      const id = [r.eventId || r.at, r.accountId, r.roleName, r.sessionNames.join(',')].join('#');
      stmt.putRevocation.run(id, JSON.stringify(r));
    }
  });

  const list = db.transaction((filter: FindingFilter) => {
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    if (filter.detector !== undefined) {
      where.push('detector = @detector');
      params['detector'] = filter.detector;
    }
    if (filter.minSeverity !== undefined) {
      if (!isSeverity(filter.minSeverity)) throw new UsageError(`unknown severity ${String(filter.minSeverity)}`);
      where.push('severity_rank >= @minRank');
      params['minRank'] = severityRank(filter.minSeverity);
    }
    if (filter.status !== undefined) {
      const statuses: readonly string[] = typeof filter.status === 'string' ? [filter.status] : filter.status;
      for (const s of statuses) {
        if (!isFindingStatus(s))
          throw new UsageError(`unknown status ${s}`, `use one of ${FINDING_STATUSES.join(', ')}`);
      }
      if (statuses.length === 0) where.push('0');
      else {
        where.push(`status IN (${statuses.map((_, i) => `@status${i}`).join(', ')})`);
        statuses.forEach((s, i) => (params[`status${i}`] = s));
      }
    }
    if (filter.accountId !== undefined) {
      where.push('account_id = @accountId');
      params['accountId'] = filter.accountId;
    }
    if (filter.role !== undefined) {
      where.push('role = @role');
      params['role'] = filter.role;
    }
    if (filter.search !== undefined && filter.search !== '') {
      where.push(SEARCH_SQL);
      params['search'] = `%${escapeLike(filter.search)}%`;
    }
    const sort = filter.sort ?? 'severity';
    // hasOwn: a sort like 'constructor' must not reach the SQL through the prototype.
    const order = Object.hasOwn(SORT_SQL, sort) ? SORT_SQL[sort] : undefined;
    if (order === undefined)
      throw new UsageError(`unknown sort ${String(sort)}`, `use one of ${FINDING_SORTS.join(', ')}`);
    const limit = checkCount('limit', filter.limit, DEFAULT_LIMIT, MAX_LIMIT);
    const offset = checkCount('offset', filter.offset, 0, Number.MAX_SAFE_INTEGER);
    const whereSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';

    const countRow = prepared(`SELECT COUNT(*) AS n FROM findings ${whereSql}`).get(params) as { n: number };
    // The page's rows are chosen first without their bodies: sorting 100k bodies to skip most is slow.
    const rows = prepared(
      `SELECT body, status, status_note, created_at, updated_at FROM findings
       WHERE rowid IN (SELECT rowid FROM findings ${whereSql} ORDER BY ${order} LIMIT @limit OFFSET @offset)
       ORDER BY ${order}`,
    ).all({ ...params, limit, offset }) as FindingRow[];
    return { total: countRow.n, findings: rows.map(toStored) };
  });

  return {
    file,
    database: db,
    upsertFindings(findings, runId) {
      // IMMEDIATE: a deferred transaction that reads and then writes can fail
      // with SQLITE_BUSY at once under WAL instead of waiting out busy_timeout.
      return upsert.immediate(findings, runId ?? null);
    },
    getFinding(id) {
      const row = stmt.get.get(id);
      return row === undefined ? undefined : toStored(row);
    },
    listFindings(filter = {}) {
      return list(filter);
    },
    setStatus(id, status, note, actor) {
      if (!isFindingStatus(status)) {
        throw new UsageError(`unknown status ${String(status)}`, `use one of ${FINDING_STATUSES.join(', ')}`);
      }
      return setStatus.immediate(id, status, note, actor);
    },
    addAudit(entry) {
      return insertAudit(entry.actor, entry.action, entry.findingId ?? null, entry.detail);
    },
    listAudit(findingId) {
      const rows = findingId === undefined ? stmt.auditAll.all() : stmt.auditOf.all(findingId);
      return rows.map((r) => ({
        id: r.id,
        at: r.at,
        actor: r.actor,
        action: r.action,
        findingId: r.finding_id,
        detail: JSON.parse(r.detail) as unknown,
      }));
    },
    allFindings() {
      return stmt.allBodies.all().map((row) => JSON.parse(row.body) as Finding);
    },
    findingFacets() {
      const statuses = new Set(distinct('status'));
      // severity_rank is indexed; severity is not.
      const ranks = new Set(db.prepare<[], number>('SELECT DISTINCT severity_rank FROM findings').pluck().all());
      return {
        total: stmt.stamp.get()?.n ?? 0,
        detectors: distinct('detector'),
        accounts: distinct('account_id'),
        roles: distinct('role'),
        statuses: FINDING_STATUSES.filter((s) => statuses.has(s)),
        severities: SEVERITIES.filter((s) => ranks.has(severityRank(s))),
      };
    },
    findingsStamp() {
      const row = stmt.stamp.get();
      return `${row?.n ?? 0}\n${row?.latest ?? ''}`;
    },
    putEvidence(evidence) {
      putEvidence.immediate(evidence.vending ?? [], evidence.revocations ?? []);
    },
    listVending() {
      return stmt.listVending.all().map((row) => JSON.parse(row.record) as VendingRecord);
    },
    listRevocations() {
      return stmt.listRevocations.all().map((row) => JSON.parse(row.record) as Revocation);
    },
    beginRun(command, inputs) {
      return Number(stmt.beginRun.run({ command, now: now(), inputs: JSON.stringify(inputs ?? null) }).lastInsertRowid);
    },
    finishRun(runId, counts) {
      stmt.finishRun.run({
        id: runId,
        now: now(),
        events: counts.events,
        findings: counts.findings,
        warnings: counts.warnings,
        token: counts.ipRangesSyncToken ?? null,
      });
    },
    getRun(runId) {
      const r = stmt.getRun.get(runId);
      if (r === undefined) return undefined;
      return {
        id: r.id,
        command: r.command,
        startedAt: r.started_at,
        finishedAt: r.finished_at,
        inputs: JSON.parse(r.inputs) as unknown,
        events: r.events,
        findings: r.findings,
        warnings: r.warnings,
        ipRangesSyncToken: r.ip_ranges_sync_token,
      };
    },
    close() {
      if (db.open) db.close();
    },
  };
}
