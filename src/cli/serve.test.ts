// `offbox serve` as a user runs it: the real CLI in a child process, over real HTTP on loopback.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { sampleFinding } from '../report/sample-findings.test-helpers.js';
import { openStore } from '../store/store.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'offbox-serve-cli-'));
const db = join(dir, 'store.db');

before(() => {
  const store = openStore(db);
  store.upsertFindings([sampleFinding({ id: 'f-one' }), sampleFinding({ id: 'f-two', severity: 'low' })]);
  store.close();
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Running {
  child: ChildProcessWithoutNullStreams;
  url: URL;
  stderr: () => string;
  exit: Promise<number | null>;
}

function spawnCli(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Starts `offbox serve ARGS…` and waits for the URL it prints alone on stdout. */
function startServe(args: string[]): Promise<Running> {
  const child = spawnCli(['serve', ...args]);
  let stdout = '';
  let stderr = '';
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no URL within 30 s; stderr: ${stderr}`));
    }, 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((l, i, all) => i < all.length - 1 && l.startsWith('http'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve({ child, url: new URL(line), stderr: () => stderr, exit });
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`offbox serve exited with ${code} before printing its URL; stderr: ${stderr}`));
    });
  });
}

function runToEnd(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawnCli(args);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('offbox serve (the CLI)', () => {
  it('serves the store on 127.0.0.1 with a per-run token, and stops on SIGTERM', async () => {
    const run = await startServe(['--db', db]);
    try {
      assert.equal(run.url.hostname, '127.0.0.1');
      assert.notEqual(run.url.port, '');
      const token = run.url.searchParams.get('token') ?? '';
      assert.match(token, /^[A-Za-z0-9_-]{32}$/, '24 random bytes, base64url');
      assert.match(
        run.stderr(),
        new RegExp(`offbox: serving .*store\\.db at http://127\\.0\\.0\\.1:${run.url.port}/\\?token=`),
      );

      const api = new URL('/api/meta', run.url);
      assert.equal((await fetch(api)).status, 401);
      const meta = await fetch(api, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(meta.status, 200);
      const body = (await meta.json()) as { total: number; store: string };
      assert.equal(body.total, 2);
      assert.equal(body.store, db);

      const redirect = await fetch(run.url, { redirect: 'manual' });
      assert.equal(redirect.status, 302);
      const cookie = (redirect.headers.get('set-cookie') ?? '').split(';')[0]!;
      assert.equal(cookie, `offbox_token=${token}`);
      const findings = await fetch(new URL('/api/findings?limit=1', run.url), { headers: { cookie } });
      assert.equal(((await findings.json()) as { total: number }).total, 2);
    } finally {
      run.child.kill('SIGTERM');
    }
    assert.equal(await run.exit, 0);
    assert.match(run.stderr(), /SIGTERM: stopping/);
  });

  it('a second run gets another token', async () => {
    const [a, b] = await Promise.all([startServe(['--db', db]), startServe(['--db', db])]);
    try {
      assert.notEqual(a.url.searchParams.get('token'), b.url.searchParams.get('token'));
      assert.notEqual(a.url.port, b.url.port);
      // Each answers with its own token only; a request answered also means the server is past start-up,
      // so the signals below reach its handlers rather than a process still loading.
      for (const [run, other] of [
        [a, b],
        [b, a],
      ] as const) {
        const meta = (token: string | null): Promise<Response> =>
          fetch(new URL('/api/meta', run.url), { headers: { authorization: `Bearer ${token}` } });
        assert.equal((await meta(run.url.searchParams.get('token'))).status, 200);
        assert.equal((await meta(other.url.searchParams.get('token'))).status, 401);
      }
    } finally {
      a.child.kill('SIGINT');
      b.child.kill('SIGTERM');
    }
    assert.deepEqual(await Promise.all([a.exit, b.exit]), [0, 0]);
  });

  it('warns when --host is not loopback, and answers for that host name', async () => {
    const run = await startServe(['--db', db, '--host', '127.0.0.2']);
    try {
      assert.match(run.stderr(), /warning: serving on 127\.0\.0\.2/);
      assert.equal(run.url.hostname, '127.0.0.2');
      const token = run.url.searchParams.get('token') ?? '';
      const meta = await fetch(new URL('/api/meta', run.url), { headers: { authorization: `Bearer ${token}` } });
      assert.equal(meta.status, 200);
    } finally {
      run.child.kill('SIGTERM');
    }
    assert.equal(await run.exit, 0);
  });

  it('refuses to start without an existing store or with a bad port (exit 2, with a hint)', async () => {
    const missing = await runToEnd(['serve', '--db', join(dir, 'nope.db')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no store at .*nope\.db — create one with offbox scan/);
    const port = await runToEnd(['serve', '--db', db, '--port', '70000']);
    assert.equal(port.code, 2);
    assert.match(port.stderr, /--port 70000 is not a port/);
  });
});
