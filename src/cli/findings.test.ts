import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { InputError, UsageError } from '../errors.js';
import { CSV_COLUMNS, renderFindings, TRIAGE_CSV_COLUMNS } from '../report/index.js';
import { parseCsv } from '../report/csv-parse.test-helpers.js';
import { sampleFinding } from '../report/sample-findings.test-helpers.js';
import { openStore, type AuditEntry, type StoredFinding } from '../store/store.js';
import { registerFindings } from './findings.js';
import { runCommandInProcess } from './run-command.test-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOSTILE_AGENT = 'curl/8.5\x1b[2J\x1b]0;pwned\x07';

let dir: string;
let stores = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'offbox-findings-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh store per test, so status changes never leak between tests: four open findings of
 * every severity from critical to low, one resolved and one suppressed.
 */
function seededStore(): string {
  const file = join(dir, `store-${++stores}.db`);
  let t = Date.parse('2025-03-01T00:00:00Z');
  const store = openStore(file, { now: () => new Date((t += 1000)) });
  try {
    // One upsert each, so createdAt follows this order.
    for (const finding of [
      sampleFinding({
        id: 'f-critical',
        severity: 'critical',
        detector: 'instance-credential-outside-aws',
        accountId: '111111111111',
        activity: { calls: 5, firstSeen: '2025-01-15T11:00:00Z', lastSeen: '2025-01-15T12:00:00Z' },
      }),
      sampleFinding({ id: 'f-high', severity: 'high', activity: { calls: 50 } }),
      sampleFinding({
        id: 'f-medium',
        severity: 'medium',
        detector: 'instance-credential-foreign-aws',
        principal: { role: 'batch-role', roleArn: 'arn:aws:iam::123456789012:role/batch-role' },
        activity: { calls: 12, firstSeen: '2025-01-14T08:00:00Z', lastSeen: '2025-01-16T08:00:00Z' },
      }),
      sampleFinding({
        id: 'f-low-hostile',
        severity: 'low',
        title: 'Evil \x1b[31mtitle\u202e',
        activity: { calls: 1, userAgents: [HOSTILE_AGENT] },
      }),
      sampleFinding({ id: 'f-resolved', severity: 'high', activity: { calls: 3 } }),
      sampleFinding({ id: 'f-suppressed', severity: 'info', activity: { calls: 2 } }),
    ]) {
      store.upsertFindings([finding]);
    }
    store.setStatus('f-resolved', 'resolved', 'keys rotated', 'alice');
    store.setStatus('f-suppressed', 'suppressed', 'our pentest', 'alice');
  } finally {
    store.close();
  }
  return file;
}

function findings(args: string[]): Promise<{ code: number | undefined; stderr: string }> {
  return runCommandInProcess(registerFindings, 'findings', args);
}

let outputs = 0;
/** Runs `offbox findings ARGS… -o FILE` and returns what was written and said. */
async function listed(args: string[]): Promise<{ text: string; stderr: string }> {
  const output = join(dir, `out-${++outputs}`);
  const { code, stderr } = await findings([...args, '-o', output]);
  assert.equal(code, undefined, `exit code of ${args.join(' ')}`);
  return { text: readFileSync(output, 'utf8'), stderr };
}

async function listedIds(args: string[]): Promise<string[]> {
  const { text } = await listed([...args, '--format', 'ndjson']);
  return parseNdjson(text).map((f) => f.id);
}

function parseNdjson(text: string): StoredFinding[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as StoredFinding);
}

function stored(file: string): { status(id: string): string | undefined; audit(id: string): AuditEntry[] } {
  return {
    status(id) {
      const store = openStore(file);
      try {
        return store.getFinding(id)?.status;
      } finally {
        store.close();
      }
    },
    audit(id) {
      const store = openStore(file);
      try {
        return store.listAudit(id);
      } finally {
        store.close();
      }
    },
  };
}

describe('offbox findings list', () => {
  it('lists new and acknowledged findings by default, most severe first, as ndjson when not on a terminal', async () => {
    const db = seededStore();
    const { text, stderr } = await listed(['--db', db]);
    const rows = parseNdjson(text);
    assert.deepEqual(
      rows.map((f) => f.id),
      ['f-critical', 'f-high', 'f-medium', 'f-low-hostile'],
    );
    assert.match(stderr, /offbox: 4 of 4 findings \(status new, acknowledged; sorted by severity\)\n/);
    const high = rows[1]!;
    const { status, statusNote, createdAt, updatedAt, ...body } = high;
    assert.deepEqual(body, sampleFinding({ id: 'f-high', severity: 'high', activity: { calls: 50 } }));
    assert.equal(status, 'new');
    assert.equal(statusNote, '');
    assert.equal(createdAt, '2025-03-01T00:00:02.000Z');
    assert.equal(updatedAt, createdAt);
  });

  it('takes --db before or after the subcommand', async () => {
    const db = seededStore();
    assert.equal((await listedIds(['list', '--db', db])).length, 4);
    assert.equal((await listedIds(['--db', db, 'list'])).length, 4);
    assert.equal((await listedIds(['--min-severity', 'high', '--db', db])).length, 2);
  });

  it('filters by status: repeatable, comma-separated, or --all', async () => {
    const db = seededStore();
    assert.deepEqual(await listedIds(['--db', db, '--status', 'resolved,suppressed']), ['f-resolved', 'f-suppressed']);
    assert.deepEqual(await listedIds(['--db', db, '--status', 'suppressed', '--status', 'resolved']), [
      'f-resolved',
      'f-suppressed',
    ]);
    assert.equal((await listedIds(['--db', db, '--all'])).length, 6);
    const { stderr } = await listed(['--db', db, '--all', '--format', 'ndjson']);
    assert.match(stderr, /6 of 6 findings \(status any; sorted by severity\)/);
    await assert.rejects(findings(['--db', db, '--status', 'open']), UsageError);
    await assert.rejects(findings(['--db', db, '--status', ',']), UsageError);
    await assert.rejects(findings(['--db', db, '--all', '--status', 'new']), UsageError);
  });

  it('filters by detector, severity, account, role and text', async () => {
    const db = seededStore();
    assert.deepEqual(await listedIds(['--db', db, '--detector', 'instance-credential-foreign-aws']), ['f-medium']);
    assert.deepEqual(await listedIds(['--db', db, '--min-severity', 'high']), ['f-critical', 'f-high']);
    assert.deepEqual(await listedIds(['--db', db, '--min-severity', 'high', '--all']), [
      'f-critical',
      'f-high',
      'f-resolved',
    ]);
    assert.deepEqual(await listedIds(['--db', db, '--account', '111111111111']), ['f-critical']);
    assert.deepEqual(await listedIds(['--db', db, '--role', 'batch-role']), ['f-medium']);
    assert.deepEqual(await listedIds(['--db', db, '--search', 'BATCH']), ['f-medium']);
    assert.deepEqual(await listedIds(['--db', db, '--search', 'no such thing']), []);
    const { stderr } = await listed(['--db', db, '--role', 'batch-role', '--search', 'x\x1b[2J', '--format', 'json']);
    assert.match(stderr, /0 of 0 findings \(status new, acknowledged; role batch-role; matching "x\\u001b\[2J"/);
    await assert.rejects(findings(['--db', db, '--min-severity', 'severe']), UsageError);
  });

  it('pages with --limit and --offset and says how many more there are', async () => {
    const db = seededStore();
    const first = await listed(['--db', db, '--limit', '2', '--format', 'ndjson']);
    assert.deepEqual(
      parseNdjson(first.text).map((f) => f.id),
      ['f-critical', 'f-high'],
    );
    assert.match(first.stderr, /2 of 4 findings \(.*\) — 2 more: --offset 2\n/);
    const second = await listed(['--db', db, '--limit', '2', '--offset', '2', '--format', 'ndjson']);
    assert.deepEqual(
      parseNdjson(second.text).map((f) => f.id),
      ['f-medium', 'f-low-hostile'],
    );
    assert.match(second.stderr, /2 of 4 findings from #3 \([^)]*\)\n/);
    assert.deepEqual(await listedIds(['--db', db, '--offset', '9']), []);
    for (const bad of [
      ['--limit', 'ten'],
      ['--limit', '-1'],
      ['--limit', '10001'],
      ['--offset', '1.5'],
    ]) {
      await assert.rejects(findings(['--db', db, ...bad]), UsageError, bad.join(' '));
    }
  });

  it('sorts by any stored order, and the table keeps that order', async () => {
    const db = seededStore();
    assert.deepEqual(await listedIds(['--db', db, '--sort', 'calls']), [
      'f-high',
      'f-medium',
      'f-critical',
      'f-low-hostile',
    ]);
    assert.deepEqual(await listedIds(['--db', db, '--sort', 'firstSeen']), [
      'f-medium',
      'f-high',
      'f-low-hostile',
      'f-critical',
    ]);
    assert.deepEqual(await listedIds(['--db', db, '--sort', 'lastSeen']), [
      'f-medium',
      'f-critical',
      'f-high',
      'f-low-hostile',
    ]);
    assert.deepEqual(await listedIds(['--db', db, '--sort', 'createdAt']), [
      'f-low-hostile',
      'f-medium',
      'f-high',
      'f-critical',
    ]);
    const { text } = await listed(['--db', db, '--sort', 'calls', '--format', 'table']);
    const order = [...text.matchAll(/^ {2}id {10}(\S+)$/gm)].map((m) => m[1]);
    assert.deepEqual(order, ['f-high', 'f-medium', 'f-critical', 'f-low-hostile']);
    await assert.rejects(findings(['--db', db, '--sort', 'constructor']), UsageError);
  });

  it('shows status and note in the table, escaping stored log content', async () => {
    const db = seededStore();
    await findings(['--db', db, 'ack', 'f-low-hostile', '--note', 'ask \x1b[8mthe CI team', '--actor', 'bob']);
    const { text } = await listed(['--db', db, '--format', 'table']);
    assert.ok(!text.includes('\x1b'), 'no raw ESC in table output');
    assert.ok(!text.includes('\u202e'), 'no raw bidi override in table output');
    assert.match(text, /^LOW {7}Evil \\x1b\[31mtitle\\u202e$/m);
    assert.match(text, /^ {2}status {6}acknowledged {2}updated \S+Z {2}note ask \\x1b\[8mthe CI team$/m);
    assert.match(text, /^ {2}status {6}new {2}updated 2025-03-01T00:00:01\.000Z$/m);
    assert.match(text, /^4 findings: 1 critical, 1 high, 1 medium, 1 low$/m);

    const csv = parseCsv((await listed(['--db', db, '--format', 'csv'])).text);
    assert.deepEqual(csv[0], [...CSV_COLUMNS, ...TRIAGE_CSV_COLUMNS]);
    const hostile = csv.find((row) => row[0] === 'f-low-hostile')!;
    const cell = (name: string): string => hostile[csv[0]!.indexOf(name)]!;
    assert.equal(cell('activity.userAgents'), 'curl/8.5\\x1b[2J\\x1b]0;pwned\\x07');
    assert.equal(cell('status'), 'acknowledged');
    assert.equal(cell('statusNote'), 'ask \\x1b[8mthe CI team');

    const markdown = (await listed(['--db', db, '--format', 'markdown'])).text;
    assert.ok(!markdown.includes('\x1b'));
    // Markdown escapes the backslash of the visible escape, and the bracket, once more.
    assert.match(markdown, /- \*\*Status:\*\* acknowledged \(updated \S+\) — ask \\\\x1b\\\[8mthe CI team/);
  });

  it('escapes a note that a spreadsheet would run as a formula', async () => {
    const db = seededStore();
    await findings(['--db', db, 'resolve', 'f-high', '--note', '=HYPERLINK("http://evil.example","x")']);
    const csv = parseCsv((await listed(['--db', db, '--all', '--format', 'csv'])).text);
    const row = csv.find((r) => r[0] === 'f-high')!;
    assert.equal(row[csv[0]!.indexOf('statusNote')], `'=HYPERLINK("http://evil.example","x")`);
  });

  it('json keeps every field and says what was asked in meta', async () => {
    const db = seededStore();
    const doc = JSON.parse((await listed(['--db', db, '--format', 'json', '--limit', '1'])).text) as {
      meta: { store: string; total: number; filter: { status: string[]; limit: number } };
      findings: StoredFinding[];
    };
    assert.equal(doc.meta.store, db);
    assert.equal(doc.meta.total, 4);
    assert.deepEqual(doc.meta.filter.status, ['new', 'acknowledged']);
    assert.equal(doc.meta.filter.limit, 1);
    assert.equal(doc.findings.length, 1);
    assert.equal(doc.findings[0]!.status, 'new');
    assert.equal(doc.findings[0]!.principal.roleArn, 'arn:aws:iam::123456789012:role/web-app-role');
  });

  it('leaves scan output alone: no status without triage', () => {
    const finding = { ...sampleFinding(), status: 'new', statusNote: 'n', createdAt: 'c', updatedAt: 'u' };
    assert.doesNotMatch(renderFindings([finding], 'table'), /status/);
    assert.equal(renderFindings([finding], 'csv').split('\r\n')[0], CSV_COLUMNS.join(','));
    assert.doesNotMatch(renderFindings([finding], 'markdown', { now: new Date(0) }), /Status/);
  });
});

describe('offbox findings set-status', () => {
  it('changes the status, keeps the note and records who did it', async () => {
    const db = seededStore();
    const { code, stderr } = await findings([
      'set-status',
      'f-high',
      'acknowledged',
      '--db',
      db,
      '--note',
      'paging on-call',
      '--actor',
      'carol',
    ]);
    assert.equal(code, undefined);
    assert.match(stderr, /offbox: f-high: new → acknowledged \(paging on-call\) by carol\n/);
    const store = stored(db);
    assert.equal(store.status('f-high'), 'acknowledged');
    const audit = store.audit('f-high');
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.actor, 'carol');
    assert.equal(audit[0]!.action, 'set-status');
    assert.deepEqual(audit[0]!.detail, { from: 'new', to: 'acknowledged', note: 'paging on-call' });
    const shown = parseNdjson((await listed(['--db', db, '--status', 'acknowledged'])).text);
    assert.equal(shown[0]!.statusNote, 'paging on-call');
  });

  it('takes several ids, and resolved findings leave the default list', async () => {
    const db = seededStore();
    await findings(['--db', db, 'set-status', 'f-critical', 'f-high', 'f-critical', 'resolved']);
    assert.deepEqual(await listedIds(['--db', db]), ['f-medium', 'f-low-hostile']);
    assert.equal(stored(db).audit('f-critical').length, 1, 'a repeated id changes once');
    assert.equal(stored(db).audit('f-high').length, 1);
  });

  it('changes nothing when one id is unknown', async () => {
    const db = seededStore();
    await assert.rejects(
      findings(['--db', db, 'set-status', 'f-high', 'f-nope', 'resolved']),
      (err: unknown) => err instanceof UsageError && /"f-nope"; nothing was changed/.test(err.message),
    );
    assert.equal(stored(db).status('f-high'), 'new');
    assert.deepEqual(stored(db).audit('f-high'), []);
  });

  it('refuses an unknown status, a missing id, and says when the status came first', async () => {
    const db = seededStore();
    await assert.rejects(findings(['--db', db, 'set-status', 'f-high', 'closed']), UsageError);
    await assert.rejects(findings(['--db', db, 'set-status', 'resolved']), UsageError);
    await assert.rejects(
      findings(['--db', db, 'set-status', 'resolved', 'f-high']),
      (err: unknown) => err instanceof UsageError && /status comes last/.test(err.hint ?? ''),
    );
    assert.equal(stored(db).status('f-high'), 'new');
  });

  it('has shortcuts; the actor defaults to $USER, else offbox', async () => {
    const db = seededStore();
    const user = process.env['USER'];
    try {
      process.env['USER'] = 'dave';
      await findings(['--db', db, 'ack', 'f-high']);
      delete process.env['USER'];
      await findings(['--db', db, 'suppress', 'f-medium', '--note', 'known scanner']);
      await findings(['--db', db, 'resolve', 'f-critical']);
      await findings(['--db', db, 'reopen', 'f-resolved']);
    } finally {
      if (user === undefined) delete process.env['USER'];
      else process.env['USER'] = user;
    }
    const store = stored(db);
    assert.equal(store.status('f-high'), 'acknowledged');
    assert.equal(store.audit('f-high')[0]!.actor, 'dave');
    assert.equal(store.status('f-medium'), 'suppressed');
    assert.equal(store.audit('f-medium')[0]!.actor, 'offbox');
    assert.equal(store.status('f-critical'), 'resolved');
    assert.equal(store.status('f-resolved'), 'new');
  });
});

describe('offbox findings show', () => {
  it('writes the whole finding with its audit history as JSON', async () => {
    const db = seededStore();
    await findings(['--db', db, 'reopen', 'f-resolved', '--actor', 'erin', '--note', 'came back']);
    const output = join(dir, 'show.json');
    const { code } = await findings(['show', 'f-resolved', '--db', db, '-o', output]);
    assert.equal(code, undefined);
    const doc = JSON.parse(readFileSync(output, 'utf8')) as { finding: StoredFinding; audit: AuditEntry[] };
    assert.equal(doc.finding.id, 'f-resolved');
    assert.equal(doc.finding.status, 'new');
    assert.equal(doc.finding.statusNote, 'came back');
    assert.deepEqual(doc.finding.evidence, sampleFinding().evidence);
    assert.deepEqual(
      doc.audit.map((a) => [a.actor, a.detail]),
      [
        ['alice', { from: 'new', to: 'resolved', note: 'keys rotated' }],
        ['erin', { from: 'resolved', to: 'new', note: 'came back' }],
      ],
    );
  });

  it('refuses an unknown id', async () => {
    const db = seededStore();
    await assert.rejects(findings(['--db', db, 'show', 'f-nope']), UsageError);
  });
});

describe('offbox findings errors', () => {
  it('needs --db, with a hint', async () => {
    for (const args of [[], ['list'], ['show', 'f-high'], ['ack', 'f-high']]) {
      await assert.rejects(
        findings(args),
        (err: unknown) => err instanceof UsageError && /--db FILE/.test(err.message) && /scan/.test(err.hint ?? ''),
        args.join(' '),
      );
    }
  });

  it('does not create a store that is only read or triaged', async () => {
    const missing = join(dir, 'missing', 'offbox.db');
    for (const args of [['list'], ['show', 'f-high'], ['set-status', 'f-high', 'resolved']]) {
      await assert.rejects(
        findings(['--db', missing, ...args]),
        (err: unknown) =>
          err instanceof InputError &&
          err.message === `no store at ${missing}` &&
          err.hint === `create one with offbox scan … --db ${missing} or offbox watch … --db ${missing}`,
        args.join(' '),
      );
    }
    assert.ok(!existsSync(missing));
    assert.ok(!existsSync(join(dir, 'missing')));
  });
});

describe('offbox findings through the real entry point', () => {
  function offbox(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1', OFFBOX_HOME: '/nonexistent-offbox-home' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('prints the table on stdout and the count on stderr, exit 0; a missing store exits 2', async () => {
    const db = seededStore();
    const listing = await offbox(['findings', '--db', db, '--format', 'table']);
    assert.equal(listing.code, 0);
    assert.ok(!listing.stdout.includes('\x1b') && !listing.stderr.includes('\x1b'));
    assert.match(listing.stdout, /^ {2}id {10}f-low-hostile$/m);
    assert.match(listing.stderr, /^offbox: 4 of 4 findings/m);

    const missing = await offbox(['findings', '--db', join(dir, 'nope.db')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^offbox: no store at .*nope\.db — create one with offbox scan … --db /m);
    const noDb = await offbox(['findings', 'show', 'f-high']);
    assert.equal(noDb.code, 2);
    assert.match(noDb.stderr, /^offbox: offbox findings needs --db FILE — /m);
  });
});
