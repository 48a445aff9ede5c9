import assert from 'node:assert/strict';
import { runCommandInProcess } from './run-command.test-helpers.js';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { InputError, UsageError } from '../errors.js';
import { openStore } from '../store/store.js';
import { albLine, nginxLine } from '../weblogs/weblog-lines.test-helpers.js';
import { registerSsrf } from './ssrf.js';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'offbox-ssrf-'));
  await mkdir(join(root, 'logs', 'AWSLogs'), { recursive: true });
  await writeFile(
    join(root, 'logs', 'AWSLogs', 'alb.log.gz'),
    gzipSync(
      `${[
        albLine({
          url: 'https://app.example.com:443/fetch?url=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2Fiam%2Fsecurity-credentials%2Fweb',
        }),
        albLine({ url: 'https://app.example.com:443/index.html' }),
      ].join('\n')}\n`,
    ),
  );
  await writeFile(
    join(root, 'logs', 'access.log'),
    `${nginxLine({ request: 'GET /\x1b[31mred HTTP/1.1' })}\nnot a log line \x1b]0;title\x07\n`,
  );
  await writeFile(join(root, 'logs', 'notes.md'), '# not read: extension not listed\n');
  await mkdir(join(root, 'benign'), { recursive: true });
  await writeFile(join(root, 'benign', 'access.log'), `${nginxLine({ request: 'GET /?id=2852039166 HTTP/1.1' })}\n`);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | undefined; stderr: string }> {
  return runCommandInProcess(registerSsrf, 'ssrf', args);
}

describe('offbox ssrf', () => {
  it('walks a folder (gzip and plain), writes json, stores findings and exits 1 on a high finding', async () => {
    const out = join(root, 'out.json');
    const db = join(root, 'findings.db');
    const { code, stderr } = await run([
      join(root, 'logs'),
      '--format',
      'json',
      '-o',
      out,
      '--db',
      db,
      '--no-progress',
    ]);
    assert.equal(code, 1);
    const doc = JSON.parse(await readFile(out, 'utf8')) as {
      meta: { stats: { files: number; requests: number; badLines: number } };
      findings: { detector: string; severity: string; evidence: { locations: string[] } }[];
    };
    assert.equal(doc.meta.stats.files, 2);
    assert.equal(doc.meta.stats.requests, 3);
    assert.equal(doc.meta.stats.badLines, 1);
    assert.equal(doc.findings.length, 1);
    assert.equal(doc.findings[0]!.detector, 'imds-ssrf-attempt');
    assert.equal(doc.findings[0]!.severity, 'critical');
    assert.deepEqual(doc.findings[0]!.evidence.locations, [`${join(root, 'logs', 'AWSLogs', 'alb.log.gz')}:1`]);
    assert.match(stderr, /access\.log:2: not a line of a known web log format/);
    assert.match(stderr, /scanned 2 files, 3 requests/);
    assert.ok(!stderr.includes('\x1b'), 'no raw escape sequences on stderr');
    const store = openStore(db);
    try {
      assert.equal(store.listFindings().total, 1);
    } finally {
      store.close();
    }
  });

  it('table output escapes log content; a clean run exits 0; --fail-on none always exits 0', async () => {
    const table = join(root, 'out.txt');
    assert.equal(
      (await run([join(root, 'logs'), '--format', 'table', '-o', table, '--fail-on', 'none', '--no-progress'])).code,
      0,
    );
    assert.ok(!(await readFile(table, 'utf8')).includes('\x1b'));
    assert.equal(
      (await run([join(root, 'benign'), '--format', 'ndjson', '-o', join(root, 'b.ndjson'), '--no-progress'])).code,
      0,
    );
    assert.equal(await readFile(join(root, 'b.ndjson'), 'utf8'), '');
  });

  it('--strict turns the first bad line into an InputError (exit 2 in main)', async () => {
    await assert.rejects(
      run([join(root, 'logs', 'access.log'), '--strict', '-o', join(root, 's.json'), '--no-progress']),
      (err: unknown) =>
        err instanceof InputError && /access\.log line 2: not a line of a known web log format/.test(err.message),
    );
  });

  it('usage errors are UsageErrors (exit 2 in main)', async () => {
    await assert.rejects(run([join(root, 'logs'), '--fail-on', 'bogus']), UsageError);
    await assert.rejects(run([join(root, 'logs'), '--format', 'xml']), UsageError);
    await assert.rejects(run([join(root, 'logs'), '--max-line-kib', '0']), UsageError);
  });
});
