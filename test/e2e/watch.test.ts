// offbox watch end to end: the built CLI killed with SIGKILL at arbitrary points while logs keep
// arriving, restarted each time, must emit exactly the findings a one-shot scan of everything finds,
// each once. The folder source and the S3 source (a real s3rver on 127.0.0.1) are both held to it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startS3rver, type LocalS3 } from '../../src/sources/s3rver.test-helpers.js';
import { simulateOrganisation } from '../../src/simulate/index.js';
import { byDelivery } from '../../src/watch/sources/order.js';
import { CLI, parseNdjson, ROOT, runCli } from './cli.test-helpers.js';

const work = mkdtempSync(join(tmpdir(), 'offbox-watch-e2e-'));
const org = join(work, 'org');
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/nonexistent',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
};

/** A small deterministic generator, so a failing kill schedule can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'CloudTrail-Digest') out.push(...listFiles(path));
    } else if (name.endsWith('.json.gz')) out.push(path);
  }
  return out;
}

function committedObjects(db: string): number {
  if (!existsSync(db)) return 0;
  const handle = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return (handle.prepare('SELECT count(*) AS n FROM watch_objects').get() as { n: number }).n;
  } catch {
    return 0; // not migrated yet
  } finally {
    handle.close();
  }
}

function startWatch(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [CLI, 'watch', ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', OFFBOX_HOME: '/nonexistent-offbox-home', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

async function killWhenBusy(child: ChildProcess, db: string, before: number, delayMs: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  // Kill once the watcher is demonstrably inside the round: it committed something of it.
  while (committedObjects(db) <= before && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 15));
  }
  await new Promise((r) => setTimeout(r, delayMs));
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

function emittedIds(file: string): string[] {
  return parseNdjson(readFileSync(file, 'utf8')).map((f) => f.id);
}

let oneShot: string[] = [];
let files: string[] = [];
// The simulator delivers 2% of events 30 to 120 minutes late; a settle window past that lets every
// piece of evidence reach a finding before it is emitted, as a one-shot scan of everything does.
const common = (): string[] => [
  '--inventory',
  join(org, 'inventory'),
  '--config',
  join(org, 'offbox.yaml'),
  '--settle',
  '3h',
];

before(async () => {
  await simulateOrganisation({ out: org, seed: 7 });
  files = listFiles(join(org, 'cloudtrail')).sort(byDelivery);
  const scan = await runCli([
    'scan',
    join(org, 'cloudtrail'),
    ...common().slice(0, 4),
    '--format',
    'ndjson',
    '--fail-on',
    'none',
  ]);
  assert.equal(scan.code, 0, scan.stderr);
  oneShot = parseNdjson(scan.stdout)
    .map((f) => f.id)
    .sort();
  assert.ok(oneShot.length >= 5, `the simulated organisation should give findings, got ${oneShot.length}`);
});

describe('offbox watch, a folder fed in rounds and killed with SIGKILL', () => {
  it('emits exactly the one-shot scan findings, each once', { timeout: 240_000 }, async () => {
    const dir = join(work, 'folder');
    const db = join(work, 'folder.db');
    const out = join(work, 'folder-findings.ndjson');
    mkdirSync(dir, { recursive: true });
    const next = random(20261123);
    const rounds = 6;
    let fed = 0;
    let killedMidway = 0;
    for (let round = 0; round < rounds; round++) {
      const upTo = Math.round((files.length * (round + 1)) / rounds);
      for (const file of files.slice(fed, upTo)) {
        const target = join(dir, relative(join(org, 'cloudtrail'), file));
        mkdirSync(dirname(target), { recursive: true });
        // Written under another name, then renamed: a reader never sees half a file under its final name.
        copyFileSync(file, `${target}.tmp`);
        renameSync(`${target}.tmp`, target);
      }
      fed = upTo;
      const before = committedObjects(db);
      const child = startWatch([
        dir,
        '--db',
        db,
        '--output',
        out,
        '--poll',
        '50ms',
        '--batch',
        '15',
        '--threads',
        '1',
        ...common(),
      ]);
      await killWhenBusy(child, db, before, Math.floor(next() * 400));
      const after = committedObjects(db);
      if (after > before && after < fed) killedMidway += 1;
    }
    assert.ok(killedMidway >= 1, 'at least one kill should land while a backlog was being read');
    const last = await runCli(['watch', dir, '--db', db, '--output', out, '--once', '--poll', '50ms', ...common()]);
    assert.equal(last.code, 0, last.stderr);
    assert.match(last.stderr, /caught up/);
    assert.equal(committedObjects(db), files.length);
    const emitted = emittedIds(out);
    assert.equal(new Set(emitted).size, emitted.length, `a finding was emitted twice: ${emitted.join(' ')}`);
    assert.deepEqual([...emitted].sort(), oneShot);

    // Run again: nothing new, so nothing emitted, and the store holds each finding once.
    const again = await runCli(['watch', dir, '--db', db, '--output', out, '--once', ...common()]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(emittedIds(out), emitted);
    const listed = await runCli(['findings', '--db', db, '--all', '--format', 'ndjson', '--limit', '1000']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      parseNdjson(listed.stdout)
        .map((f) => f.id)
        .sort(),
      oneShot,
    );
  });
});

describe('offbox watch, health', () => {
  it(
    'says when its source is unreachable, keeps trying, and stops cleanly on SIGTERM',
    { timeout: 60_000 },
    async () => {
      const db = join(work, 'unreachable.db');
      // Port 9 on loopback: nothing listens, so the connection is refused at once.
      const child = startWatch(
        [
          's3://nowhere/trail/',
          '--db',
          db,
          '--endpoint-url',
          'http://127.0.0.1:9',
          '--region',
          'us-east-1',
          '--poll',
          '100ms',
        ],
        AWS_ENV,
      );
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const deadline = Date.now() + 30_000;
      while (!/trying again in/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(stderr, /cannot reach S3 at http:\/\/127\.0\.0\.1:9/);
      assert.match(stderr, /check --endpoint-url and that the server is running; trying again in \d+s/);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.match(stderr, /SIGTERM: finishing the current batch/);
      assert.match(stderr, /— stopped/);
    },
  );
});

describe('offbox watch s3://, against s3rver', () => {
  const BUCKET = 'watched-trail';
  let s3: LocalS3;
  let endpoint = '';
  let client: S3Client;

  before(async () => {
    s3 = await startS3rver(BUCKET);
    endpoint = s3.endpoint;
    client = s3.client;
  });

  after(async () => {
    await s3?.close();
  });

  async function upload(list: string[]): Promise<void> {
    for (const file of list) {
      const key = `trail/${relative(join(org, 'cloudtrail'), file)}`;
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: readFileSync(file) }));
    }
  }

  it('emits exactly the one-shot scan findings, each once, across a SIGKILL', { timeout: 240_000 }, async () => {
    const db = join(work, 's3.db');
    const out = join(work, 's3-findings.ndjson');
    const s3 = ['--endpoint-url', endpoint, '--region', 'us-east-1'];
    const third = Math.round(files.length / 3);
    await upload(files.slice(0, third));
    const first = await runCli(
      ['watch', `s3://${BUCKET}/trail/`, '--db', db, '--output', out, '--once', ...s3, ...common()],
      {
        env: AWS_ENV,
      },
    );
    assert.equal(first.code, 0, first.stderr);
    assert.equal(committedObjects(db), third);

    await upload(files.slice(third, 2 * third));
    const before = committedObjects(db);
    const child = startWatch(
      [
        `s3://${BUCKET}/trail/`,
        '--db',
        db,
        '--output',
        out,
        '--poll',
        '50ms',
        '--batch',
        '10',
        '--threads',
        '1',
        ...s3,
        ...common(),
      ],
      AWS_ENV,
    );
    await killWhenBusy(child, db, before, 150);
    assert.ok(committedObjects(db) < 2 * third, 'the kill should land before the second third was read');

    await upload(files.slice(2 * third));
    const last = await runCli(
      ['watch', `s3://${BUCKET}/trail/`, '--db', db, '--output', out, '--once', ...s3, ...common()],
      {
        env: AWS_ENV,
      },
    );
    assert.equal(last.code, 0, last.stderr);
    assert.equal(committedObjects(db), files.length);
    const emitted = emittedIds(out);
    assert.equal(new Set(emitted).size, emitted.length, `a finding was emitted twice: ${emitted.join(' ')}`);
    assert.deepEqual([...emitted].sort(), oneShot);
  });
});
