import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ConfigError, UsageError } from '../errors.js';
import { SEVERITIES } from '../detect/finding.js';
import { sampleFinding } from '../report/sample-findings.test-helpers.js';
import { openStore, STORE_SCHEMA_VERSION, type Store } from './store.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'offbox-store-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function clock(start = Date.parse('2025-03-01T00:00:00Z')): () => Date {
  let t = start;
  return () => new Date((t += 1000));
}

describe('openStore', () => {
  it('creates the parent folder, a WAL database and the current schema', () => {
    const file = join(dir, 'nested', 'deeper', 'offbox.db');
    const store = openStore(file);
    store.close();
    assert.ok(statSync(file).isFile());
    assert.equal(statSync(file).mode & 0o077, 0, 'store file is private to its owner');
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('user_version', { simple: true }), STORE_SCHEMA_VERSION);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
      assert.deepEqual(tables, [
        'audit',
        'evidence_revocations',
        'evidence_vending',
        'findings',
        'runs',
        'watch_emitted',
        'watch_evidence',
        'watch_meta',
        'watch_objects',
        'watch_outbox',
        'watch_sink_positions',
        'watch_usages',
        'watch_vending',
      ]);
      const indexes = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'findings'")
        .pluck()
        .all();
      for (const i of ['findings_detector', 'findings_severity_rank', 'findings_last_seen', 'findings_status']) {
        assert.ok(indexes.includes(i), `index ${i}`);
      }
    } finally {
      db.close();
    }
  });

  it('reopens an existing store with its data', () => {
    const file = join(dir, 'reopen.db');
    const first = openStore(file);
    first.upsertFindings([sampleFinding({ id: 'keep-me' })]);
    first.setStatus('keep-me', 'acknowledged', 'looking', 'alice');
    first.close();
    const second = openStore(file);
    try {
      assert.equal(second.getFinding('keep-me')?.status, 'acknowledged');
      assert.equal(second.listAudit('keep-me').length, 1);
    } finally {
      second.close();
    }
  });

  it('refuses a store written by a newer offbox', () => {
    const file = join(dir, 'future.db');
    const db = new Database(file);
    db.pragma(`user_version = ${STORE_SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(
      () => openStore(file),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message.includes(`schema version ${STORE_SCHEMA_VERSION + 1}`) &&
        /upgrade offbox/.test(err.hint ?? ''),
    );
  });

  it('turns a file that is not a database into a ConfigError', () => {
    const file = join(dir, 'not-a-db.db');
    writeFileSync(file, 'this is not sqlite, just text that is long enough to have a header '.repeat(20));
    assert.throws(() => openStore(file), ConfigError);
  });

  it('opens an in-memory store', () => {
    const store = openStore(':memory:');
    assert.deepEqual(store.upsertFindings([sampleFinding()]), { inserted: 1, updated: 0 });
    store.close();
  });
});

describe('Store', () => {
  let store: Store;
  before(() => {
    store = openStore(join(dir, 'api.db'), { now: clock() });
  });
  after(() => store.close());

  it('inserts, then updates while keeping status, note and createdAt', () => {
    const f = sampleFinding({ id: 'up-1', activity: { calls: 3, lastSeen: '2025-01-15T10:00:00Z' } });
    assert.deepEqual(store.upsertFindings([f, sampleFinding({ id: 'up-2' })]), { inserted: 2, updated: 0 });
    const created = store.getFinding('up-1');
    assert.ok(created);
    assert.equal(created.status, 'new');
    assert.equal(created.statusNote, '');
    assert.equal(created.createdAt, created.updatedAt);

    store.setStatus('up-1', 'acknowledged', 'on it', 'alice');
    const grown = sampleFinding({
      id: 'up-1',
      severity: 'critical',
      activity: { calls: 50, lastSeen: '2025-01-16T00:00:00Z', actions: ['iam:CreateUser'] },
    });
    assert.deepEqual(store.upsertFindings([grown, sampleFinding({ id: 'up-3' })]), { inserted: 1, updated: 1 });
    const updated = store.getFinding('up-1');
    assert.ok(updated);
    assert.equal(updated.status, 'acknowledged');
    assert.equal(updated.statusNote, 'on it');
    assert.equal(updated.createdAt, created.createdAt);
    assert.ok(updated.updatedAt > created.updatedAt);
    const body: Partial<typeof updated> = { ...updated };
    for (const key of ['status', 'statusNote', 'createdAt', 'updatedAt'] as const) delete body[key];
    assert.deepEqual(body, grown, 'the new body replaces the old one');
    assert.deepEqual(
      store.listFindings({ minSeverity: 'critical' }).findings.map((x) => x.id),
      ['up-1'],
      'indexed columns follow the new body',
    );
  });

  it('stores a StoredFinding passed back in without its triage fields', () => {
    const stored = store.getFinding('up-1');
    assert.ok(stored);
    store.upsertFindings([{ ...stored, status: 'resolved' } as typeof stored]);
    const again = store.getFinding('up-1');
    assert.equal(again?.status, 'acknowledged');
  });

  it('writes an audit row with each status change', () => {
    const before = store.listAudit('up-2').length;
    const result = store.setStatus('up-2', 'suppressed', 'known CI runner', 'bob');
    assert.equal(result.status, 'suppressed');
    assert.equal(result.statusNote, 'known CI runner');
    const audit = store.listAudit('up-2');
    assert.equal(audit.length, before + 1);
    const last = audit.at(-1);
    assert.equal(last?.actor, 'bob');
    assert.equal(last?.action, 'set-status');
    assert.equal(last?.findingId, 'up-2');
    assert.deepEqual(last?.detail, { from: 'new', to: 'suppressed', note: 'known CI runner' });
  });

  it('rejects unknown ids and statuses without writing audit rows', () => {
    const count = store.listAudit().length;
    assert.throws(() => store.setStatus('nope', 'resolved', '', 'alice'), UsageError);
    assert.throws(() => store.setStatus('up-2', 'gone' as 'resolved', '', 'alice'), UsageError);
    assert.equal(store.listAudit().length, count);
  });

  it('keeps hostile strings intact and treats them as data', () => {
    const evil = "x'); DROP TABLE findings; --";
    store.upsertFindings([sampleFinding({ id: evil, principal: { role: evil } })]);
    assert.equal(store.getFinding(evil)?.principal.role, evil);
    assert.equal(store.listFindings({ role: evil }).total, 1);
    assert.equal(store.listFindings({ search: 'DROP TABLE' }).total, 1);
    assert.equal(store.listFindings({ search: '%' }).total, 0, 'LIKE wildcards are literal');
  });

  it('records runs', () => {
    const runId = store.beginRun('scan', { paths: ['logs/'], since: '7d' });
    assert.deepEqual(store.upsertFindings([sampleFinding({ id: 'from-run' })], runId), { inserted: 1, updated: 0 });
    store.finishRun(runId, { events: 1234, findings: 1, warnings: 2, ipRangesSyncToken: '1787433425' });
    const run = store.getRun(runId);
    assert.ok(run);
    assert.equal(run.command, 'scan');
    assert.deepEqual(run.inputs, { paths: ['logs/'], since: '7d' });
    assert.equal(run.events, 1234);
    assert.equal(run.findings, 1);
    assert.equal(run.warnings, 2);
    assert.equal(run.ipRangesSyncToken, '1787433425');
    assert.ok(run.finishedAt !== null && run.finishedAt > run.startedAt);
    assert.equal(store.getRun(9999), undefined);
  });

  it('appends free-form audit rows', () => {
    const id = store.addAudit({ actor: 'alice', action: 'contain', findingId: 'up-1', detail: { policy: 'deny-all' } });
    assert.ok(id > 0);
    assert.deepEqual(store.listAudit('up-1').at(-1)?.detail, { policy: 'deny-all' });
  });
});

describe('listFindings', () => {
  let store: Store;
  const N = 1000;
  before(() => {
    store = openStore(join(dir, 'list.db'), { now: clock() });
    const findings = Array.from({ length: N }, (_, i) =>
      sampleFinding({
        id: `f-${String(i).padStart(4, '0')}`,
        detector: i % 2 === 0 ? 'ec2-credential-offbox' : 'imdsv1-delivery',
        severity: SEVERITIES[i % SEVERITIES.length],
        accountId: i % 10 === 0 ? '111111111111' : '222222222222',
        title: i === 777 ? 'Needle in the haystack' : 'EC2 instance credentials used outside AWS',
        principal: { role: `role-${i % 4}` },
        activity: {
          calls: i,
          lastSeen: new Date(Date.parse('2025-01-01T00:00:00Z') + i * 60_000).toISOString(),
        },
      }),
    );
    assert.deepEqual(store.upsertFindings(findings), { inserted: N, updated: 0 });
    for (let i = 0; i < 30; i++) store.setStatus(`f-${String(i).padStart(4, '0')}`, 'resolved', '', 'test');
  });
  after(() => store.close());

  it('pages through everything with a correct total', () => {
    const seen = new Set<string>();
    let pages = 0;
    for (let offset = 0; ; offset += 100) {
      const page = store.listFindings({ limit: 100, offset });
      assert.equal(page.total, N);
      if (page.findings.length === 0) break;
      pages++;
      for (const f of page.findings) seen.add(f.id);
    }
    assert.equal(pages, 10);
    assert.equal(seen.size, N);
    assert.equal(store.listFindings().findings.length, 100, 'default page size');
    assert.equal(store.listFindings({ limit: 7, offset: 995 }).findings.length, 5);
  });

  it('sorts by severity then most recent by default', () => {
    const { findings } = store.listFindings({ limit: 1000 });
    for (let i = 1; i < findings.length; i++) {
      const a = findings[i - 1];
      const b = findings[i];
      assert.ok(a && b);
      const ra = SEVERITIES.indexOf(a.severity);
      const rb = SEVERITIES.indexOf(b.severity);
      assert.ok(ra < rb || (ra === rb && a.activity.lastSeen >= b.activity.lastSeen));
    }
    assert.deepEqual(
      store.listFindings({ sort: 'calls', limit: 3 }).findings.map((f) => f.activity.calls),
      [999, 998, 997],
    );
    assert.equal(store.listFindings({ sort: 'firstSeen', limit: 1 }).findings.length, 1);
  });

  it('filters by detector, severity, status, account, role and search', () => {
    assert.equal(store.listFindings({ detector: 'imdsv1-delivery' }).total, 500);
    assert.equal(store.listFindings({ minSeverity: 'critical' }).total, 200);
    assert.equal(store.listFindings({ minSeverity: 'high' }).total, 400);
    assert.equal(store.listFindings({ minSeverity: 'info' }).total, N);
    assert.equal(store.listFindings({ status: 'resolved' }).total, 30);
    assert.equal(store.listFindings({ status: ['new', 'resolved'] }).total, N);
    assert.equal(store.listFindings({ status: [] }).total, 0);
    assert.equal(store.listFindings({ accountId: '111111111111' }).total, 100);
    assert.equal(store.listFindings({ role: 'role-3' }).total, 250);
    assert.deepEqual(
      store.listFindings({ search: 'needle' }).findings.map((f) => f.id),
      ['f-0777'],
    );
    assert.equal(store.listFindings({ search: 'f-00' }).total, 100);
    const combined = store.listFindings({
      detector: 'ec2-credential-offbox',
      minSeverity: 'critical',
      status: 'resolved',
      limit: 2,
    });
    // i even and i % 5 === 0 → i % 10 === 0, and i < 30 → 0, 10, 20.
    assert.equal(combined.total, 3);
    assert.equal(combined.findings.length, 2);
  });

  it('rejects bad paging and filter values', () => {
    assert.throws(() => store.listFindings({ limit: -1 }), UsageError);
    assert.throws(() => store.listFindings({ limit: 1.5 }), UsageError);
    assert.throws(() => store.listFindings({ limit: 1_000_000 }), UsageError);
    assert.throws(() => store.listFindings({ offset: -5 }), UsageError);
    assert.throws(() => store.listFindings({ sort: 'id; DROP TABLE findings' as 'calls' }), UsageError);
    assert.throws(() => store.listFindings({ sort: 'constructor' as 'calls' }), UsageError);
    assert.throws(() => store.listFindings({ status: 'bogus' as 'new' }), UsageError);
    assert.throws(() => store.listFindings({ minSeverity: 'extreme' as 'high' }), UsageError);
  });
});

describe('incident evidence, facets and the findings stamp', () => {
  it('keeps vending records and revocations, replacing known ones', () => {
    const store = openStore(':memory:');
    try {
      const record = {
        accessKeyId: 'ASIAKEY1',
        issuer: 'ec2' as const,
        issuedBy: 'ec2.amazonaws.com',
        callerAccessKeyId: '',
        callerSourceIp: '',
        roleArn: 'arn:aws:iam::123456789012:role/web',
        sessionName: 'i-0123456789abcdef0',
        issuedAtMs: 1,
        eventTime: '2025-01-01T00:00:00Z',
        eventId: 'e1',
        accountId: '123456789012',
        region: 'us-east-1',
      };
      const revocation = {
        accountId: '123456789012',
        roleName: 'web',
        atMs: 2,
        at: '2025-01-02T00:00:00Z',
        cutoffMs: 2,
        cutoff: '2025-01-02T00:00:00Z',
        eventId: 'r1',
        sessionNames: [],
      };
      store.putEvidence({ vending: [record], revocations: [revocation] });
      store.putEvidence({ vending: [{ ...record, region: 'eu-west-1' }], revocations: [revocation] });
      assert.deepEqual(store.listVending(), [{ ...record, region: 'eu-west-1' }]);
      assert.deepEqual(store.listRevocations(), [revocation]);
    } finally {
      store.close();
    }
  });

  it('facets list distinct values; the stamp changes with every write; rank sorts the IMDSv1 backlog', () => {
    const store = openStore(':memory:', { now: clock() });
    try {
      const exposure = (id: string, severity: 'high' | 'low', rank: number) => ({
        ...sampleFinding({ id, severity, detector: 'imdsv1-credential-delivery' }),
        exposure: { rank },
      });
      store.upsertFindings([exposure('x3', 'high', 3), exposure('x1', 'high', 1), exposure('x2', 'low', 2)]);
      store.upsertFindings([sampleFinding({ id: 'other', severity: 'critical', accountId: '210987654321' })]);
      const stamp = store.findingsStamp();
      store.setStatus('x1', 'resolved', '', 'alice');
      assert.notEqual(store.findingsStamp(), stamp);
      assert.deepEqual(store.findingFacets(), {
        total: 4,
        detectors: ['ec2-credential-offbox', 'imdsv1-credential-delivery'],
        accounts: ['123456789012', '210987654321'],
        roles: ['web-app-role'],
        statuses: ['new', 'resolved'],
        severities: ['critical', 'high', 'low'],
      });
      const ranked = store.listFindings({ detector: 'imdsv1-credential-delivery', sort: 'rank' }).findings;
      assert.deepEqual(
        ranked.map((f) => f.id),
        ['x1', 'x3', 'x2'],
      );
      assert.equal(store.allFindings().length, 4);
      assert.equal('status' in store.allFindings()[0]!, false);
    } finally {
      store.close();
    }
  });
});
