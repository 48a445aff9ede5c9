// Bad input beside good input, through the built CLI: a folder of damaged, hostile, huge and wrong-kind files
// next to one good file. The good file's findings still come out, every bad file is named on stderr (escaped),
// the exit code is 1 (findings), not 2, and peak memory stays under 1.5 GB. `--strict` stops at the first bad
// file with exit 2. The same for `offbox ssrf` over web logs, and `offbox watch --once`, which commits a bad
// file as read and reports it once. The folders are made at test time: nothing large is committed.
//
// Gzip bombs under the decoded-size limit (4 GiB) sit in the folder too: three 500 KB files that inflate to
// 500 MiB each. They hold no records, so nothing is reported, but they must not take memory past the bound.
//
// Never silent: a file of the wrong kind among good ones (package.json, an ALB log) is one warning naming
// what it looks like; a run that reads nothing at all (README.md, package.json, an empty folder, a folder of
// digests, an ALB log given to scan, an empty stdin) is exit 2 with that message, for scan, exposure, hunt
// and ssrf alike — where these runs used to say "no findings" and exit 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Finding } from '../../src/detect/finding.js';
import { escapeForTerminal } from '../../src/report/escape.js';
import { simulateOrganisation } from '../../src/simulate/index.js';
import { CLI, FIXTURES, parseNdjson, ROOT, runCli, type CliRun } from './cli.test-helpers.js';

const PEAK_RSS_LIMIT_KIB = 1.5 * 1024 * 1024;
const HUGE_LINE_BYTES = 50 * 1024 * 1024;
const GOOD_TRAIL = join(FIXTURES, 'cloudtrail/otrf/ec2_proxy_s3_exfiltration_2020-09-14011940.json');
const GNU_TIME = '/usr/bin/time';

const work = mkdtempSync(join(tmpdir(), 'offbox-bad-input-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Deterministic "random" bytes, so a failure can be replayed. */
function noise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

interface MeasuredRun extends CliRun {
  /** Peak resident set size of the CLI process, in KiB. */
  peakKiB: number;
}

/**
 * Runs the built CLI and measures its peak RSS: under GNU time (`%M`, maximum resident set size in KiB)
 * when it is installed, else by polling VmHWM in /proc/PID/status until the process exits.
 */
function runMeasured(args: string[]): Promise<MeasuredRun> {
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build`);
  const timeFile = join(work, `time-${process.hrtime.bigint()}.txt`);
  const viaTime = existsSync(GNU_TIME);
  const [command, argv] = viaTime
    ? [GNU_TIME, ['-o', timeFile, '-f', '%M', process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', OFFBOX_HOME: '/nonexistent-offbox-home' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let polled = 0;
    const poll = viaTime
      ? undefined
      : setInterval(() => {
          try {
            const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (hwm) polled = Math.max(polled, Number(hwm[1]));
          } catch {
            // exited between two polls
          }
        }, 10);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (poll) clearInterval(poll);
      const peakKiB = viaTime ? Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)) : polled;
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        peakKiB,
      });
    });
  });
}

function mib(kib: number): string {
  return `${(kib / 1024).toFixed(0)} MiB`;
}

/** The warning lines on stderr that name `path`, as the CLI escapes it. */
function warningsFor(stderr: string, path: string): string[] {
  const shown = escapeForTerminal(path);
  return stderr.split('\n').filter((line) => line.startsWith('offbox: warning: ') && line.includes(shown));
}

function ids(findings: Finding[]): string[] {
  return findings.map((f) => f.id).sort();
}

const trail = join(work, 'trail');
/** Every file in the trail folder that must be reported, by name. */
const badTrailFiles: string[] = [];
let alone: Finding[] = [];

before(() => {
  mkdirSync(trail);
  const good = readFileSync(GOOD_TRAIL);
  copyFileSync(GOOD_TRAIL, join(trail, 'good.json'));
  const bad = (name: string, content: string | Buffer): void => {
    writeFileSync(join(trail, name), content);
    badTrailFiles.push(name);
  };
  const gzipped = gzipSync(good);
  bad('truncated.json.gz', gzipped.subarray(0, gzipped.length >> 1));
  bad('invalid.json', '{"Records":[{"eventName":');
  // The wrong kind of JSON entirely: one warning saying what it looks like.
  copyFileSync(join(ROOT, 'package.json'), join(trail, 'package.json'));
  badTrailFiles.push('package.json');
  bad('random.json', noise(64 * 1024, 1));
  // Gzip's magic number, then noise: gunzip fails on the header.
  bad('random.json.gz', Buffer.concat([Buffer.from([0x1f, 0x8b]), noise(64 * 1024, 2)]));
  // A gzip stream whose body is noise: a valid header, then corrupt deflate data.
  bad('noise-body.json.gz', Buffer.concat([gzipped.subarray(0, 10), noise(64 * 1024, 3)]));
  bad('huge-line.json', `{"Records":[{"eventName":"X","userAgent":"${'A'.repeat(HUGE_LINE_BYTES)}"}]}`);
  bad(
    'alb-line.json',
    'https 2024-01-01T00:00:00.000000Z app/web/0123456789abcdef 203.0.113.7:5555 10.0.0.1:80 0.001 0.002 0.000 200 200 100 200 ' +
      '"GET https://example.com:443/?url=http://169.254.169.254/latest/meta-data/ HTTP/1.1" "curl/8.5.0" - - ' +
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef "Root=1-65920000-0123456789abcdef01234567" ' +
      '"example.com" "-" 0 2024-01-01T00:00:00.000000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-"\n',
  );
  bad(
    'vpc-flow.json.gz',
    gzipSync(
      'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n' +
        '2 123456789012 eni-0123456789abcdef0 203.0.113.7 10.0.0.1 443 49152 6 10 840 1704067200 1704067260 ACCEPT OK\n',
    ),
  );
  // Nesting that would overflow a recursive walk: refused as a bad record.
  bad('deep.json', `{"Records":[{"eventName":"X","requestParameters":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`);
  // A hostile name: the path itself must reach the terminal escaped.
  bad('name-\u001b[31m-\u202e.json', '{"Records":[{"eventName":]}');
  // Whitespace is valid around records: these are read silently, in bounded memory.
  const bomb = gzipSync(Buffer.alloc(500 * 1024 * 1024, 0x20), { level: 9 });
  for (const n of [1, 2, 3]) writeFileSync(join(trail, `bomb-${n}.json.gz`), bomb);
  // Not bad input, by design: an empty file holds no records, and a digest file (CloudTrail's own integrity
  // files, read when named) holds no events. Both are read silently, as test/e2e/scan-cli.test.ts expects.
  writeFileSync(join(trail, 'empty.json'), '');
  writeFileSync(
    join(trail, 'digest-like.json'),
    JSON.stringify({
      awsAccountId: '123456789012',
      digestStartTime: '2024-01-01T00:00:00Z',
      digestEndTime: '2024-01-01T01:00:00Z',
      digestS3Bucket: 'trail-bucket',
      digestS3Object: 'AWSLogs/123456789012/CloudTrail-Digest/x.json.gz',
      logFiles: [],
    }),
  );
});

describe('a folder of bad CloudTrail input beside a good file', () => {
  it('scanning the good file alone gives findings (the control)', async () => {
    const run = await runCli(['scan', join(trail, 'good.json'), '--format', 'ndjson', '--no-progress']);
    assert.equal(run.code, 1, run.stderr);
    alone = parseNdjson(run.stdout);
    assert.ok(alone.length >= 1, 'the good file yields at least one finding');
    assert.doesNotMatch(run.stderr, /warning/);
  });

  it('offbox scan: the good findings, every bad file named (escaped), exit 1, peak RSS under 1.5 GB', async (t) => {
    const run = await runMeasured(['scan', trail, '--format', 'ndjson', '--no-progress']);
    t.diagnostic(`offbox scan peak RSS ${mib(run.peakKiB)}, exit ${run.code}`);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(parseNdjson(run.stdout), alone, 'exactly the good file’s findings');
    for (const name of badTrailFiles) {
      assert.ok(warningsFor(run.stderr, join(trail, name)).length >= 1, `${JSON.stringify(name)} is reported`);
    }
    for (const name of ['good.json', 'empty.json', 'digest-like.json', 'bomb-1.json.gz']) {
      assert.deepEqual(warningsFor(run.stderr, join(trail, name)), [], `${name} is not reported`);
    }
    assert.ok(!run.stderr.includes('\u001b') && !run.stderr.includes('\u202e'), 'no raw ESC or bidi on stderr');
    assert.match(run.stderr, /record of \d+ bytes exceeds the 1 MiB record limit/);
    assert.match(run.stderr, /truncated\.json\.gz: gzip data is truncated or corrupt/);
    assert.match(run.stderr, /deep\.json record 0: record nests arrays and objects more than \d+ levels deep/);
    assert.match(
      run.stderr,
      /package\.json: no CloudTrail events: this looks like a JSON object with keys name, version/,
    );
    assert.match(run.stderr, /alb-line\.json: no CloudTrail events: this looks like an ALB access log/);
    assert.match(run.stderr, /— \d+ findings? \(.*\); skipped \d+ bad files and \d+ bad records \(listed above\)/);
    assert.ok(run.peakKiB > 0 && run.peakKiB < PEAK_RSS_LIMIT_KIB, `peak RSS ${mib(run.peakKiB)}`);
  });

  it('offbox scan --strict: exit 2, naming the first bad file', async () => {
    const run = await runCli(['scan', trail, '--format', 'ndjson', '--no-progress', '--strict']);
    assert.equal(run.code, 2, run.stderr);
    const first = [...badTrailFiles].sort()[0]!;
    assert.match(run.stderr, /or run without --strict to skip it/);
    assert.ok(run.stderr.includes(`offbox: ${escapeForTerminal(join(trail, first))}`), run.stderr);
  });

  it('offbox watch --once: the same findings, each bad file reported once and committed, never re-read', async (t) => {
    const db = join(work, 'watch.db');
    const first = await runMeasured(['watch', trail, '--once', '--db', db]);
    t.diagnostic(`offbox watch peak RSS ${mib(first.peakKiB)}, exit ${first.code}`);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(ids(parseNdjson(first.stdout)), ids(alone));
    for (const name of badTrailFiles) {
      assert.ok(warningsFor(first.stderr, join(trail, name)).length >= 1, `${JSON.stringify(name)} is reported`);
    }
    assert.ok(first.peakKiB < PEAK_RSS_LIMIT_KIB, `peak RSS ${mib(first.peakKiB)}`);
    const store = new Database(db, { readonly: true });
    try {
      const committed = store.prepare('SELECT key FROM watch_objects').pluck().all() as string[];
      for (const name of [...badTrailFiles, 'good.json']) {
        assert.ok(committed.includes(join(trail, name)), `${JSON.stringify(name)} is committed as read`);
      }
    } finally {
      store.close();
    }
    const again = await runCli(['watch', trail, '--once', '--db', db]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, '', 'nothing emitted twice');
    assert.doesNotMatch(again.stderr, /warning/, 'bad files are not read again');
  });
});

describe('a folder of bad web logs beside good ones', () => {
  const org = join(work, 'org');
  const weblogs = join(org, 'weblogs');
  const badWebFiles: string[] = [];
  let good: Finding[] = [];

  before(async () => {
    await simulateOrganisation({ out: org, seed: 1 });
    const bad = (name: string, content: string | Buffer): void => {
      writeFileSync(join(weblogs, name), content);
      badWebFiles.push(name);
    };
    const albFile = firstFile(join(weblogs, 'alb'), '.log.gz');
    assert.ok(albFile !== undefined, 'the simulated organisation wrote ALB logs');
    const albLine = gunzipSync(readFileSync(albFile)).toString('utf8').split('\n')[0]!;
    bad('random.log', noise(64 * 1024, 4));
    bad('random.log.gz', Buffer.concat([Buffer.from([0x1f, 0x8b]), noise(4096, 5)]));
    bad('huge-line.log', `${albLine}\n${'h'.repeat(HUGE_LINE_BYTES)}\n${albLine}\n`);
    copyFileSync(GOOD_TRAIL, join(weblogs, 'cloudtrail.json'));
    badWebFiles.push('cloudtrail.json');
  });

  it('scanning the good logs alone gives findings (the control)', async () => {
    const run = await runCli(['ssrf', join(weblogs, 'alb'), '--format', 'ndjson', '--no-progress']);
    assert.equal(run.code, 1, run.stderr);
    good = parseNdjson(run.stdout);
    assert.ok(good.length >= 1);
  });

  it('offbox ssrf: the good findings, every bad file named, exit 1, peak RSS under 1.5 GB', async (t) => {
    const run = await runMeasured(['ssrf', weblogs, '--format', 'ndjson', '--no-progress']);
    t.diagnostic(`offbox ssrf peak RSS ${mib(run.peakKiB)}, exit ${run.code}`);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(parseNdjson(run.stdout), good);
    for (const name of badWebFiles) {
      assert.ok(warningsFor(run.stderr, join(weblogs, name)).length >= 1, `${name} is reported`);
    }
    assert.match(run.stderr, /huge-line\.log:2: line of \d+ bytes is longer than the 64 KiB limit/);
    assert.ok(run.peakKiB > 0 && run.peakKiB < PEAK_RSS_LIMIT_KIB, `peak RSS ${mib(run.peakKiB)}`);
  });

  it('offbox ssrf --strict: exit 2, naming a bad file', async () => {
    const run = await runCli(['ssrf', weblogs, '--format', 'ndjson', '--no-progress', '--strict']);
    assert.equal(run.code, 2, run.stderr);
    assert.ok(
      badWebFiles.some((name) => run.stderr.includes(join(weblogs, name))),
      run.stderr,
    );
  });
});

describe('inputs that hold nothing to read are an input error (exit 2), never "no findings"', () => {
  const nothing = join(work, 'nothing');
  const readme = join(ROOT, 'README.md');
  const pkg = join(ROOT, 'package.json');
  const expected =
    /offbox reads CloudTrail events: S3 delivery files \{"Records":\[…\]\}, JSON lines or arrays of events, lookup-events output/;

  before(() => {
    mkdirSync(join(nothing, 'empty'), { recursive: true });
    const digests = join(nothing, 'digests/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/01');
    mkdirSync(digests, { recursive: true });
    writeFileSync(
      join(digests, '111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240101T000000Z.json.gz'),
      gzipSync('{}'),
    );
    writeFileSync(join(nothing, 'empty.json'), '');
    mkdirSync(join(nothing, 'wrong'));
    copyFileSync(readme, join(nothing, 'wrong/readme.json'));
    copyFileSync(pkg, join(nothing, 'wrong/package.json'));
    // The stolen key's vending and use (12 events) among more records that are not events: mostly rejected.
    const good = readFileSync(GOOD_TRAIL, 'utf8')
      .split('\n')
      .filter((l) => l.includes('ASIA5FLZVX4OPVKKVBMX'));
    const junk = Array.from({ length: good.length + 1 }, (_, n) => `{"line":${n}}`);
    writeFileSync(join(nothing, 'mostly-junk.json'), [...good, ...junk].join('\n'));
  });

  const cases: [string, () => string[], RegExp][] = [
    [
      'scan README.md',
      () => ['scan', readme],
      /^offbox: no CloudTrail events read: \S*README\.md looks like Markdown\/text — /m,
    ],
    [
      'scan package.json',
      () => ['scan', pkg],
      /^offbox: no CloudTrail events read: \S*package\.json looks like a JSON object with keys name, version, /m,
    ],
    [
      'scan an empty folder',
      () => ['scan', join(nothing, 'empty')],
      /^offbox: no log files in .*empty — folders are read for files ending \.json, /m,
    ],
    [
      'scan a folder of digests only',
      () => ['scan', join(nothing, 'digests')],
      /no log files in .*digests \(left out: 1 CloudTrail digest file\)/,
    ],
    [
      'scan an ALB log',
      () => ['scan', join(work, 'trail/alb-line.json')],
      /no CloudTrail events read: .*alb-line\.json looks like an ALB access log/,
    ],
    [
      'scan an empty file',
      () => ['scan', join(nothing, 'empty.json')],
      /no CloudTrail events read: .*empty\.json is empty/,
    ],
    [
      'scan a folder of wrong files',
      () => ['scan', join(nothing, 'wrong')],
      /no CloudTrail events in any of the 2 files read: .*package\.json looks like a JSON object.*; .*readme\.json looks like Markdown\/text/,
    ],
    [
      'exposure README.md',
      () => ['exposure', readme],
      /^offbox: no CloudTrail events read: \S*README\.md looks like Markdown\/text/m,
    ],
    [
      'hunt --engine duckdb README.md',
      () => ['hunt', '--engine', 'duckdb', readme],
      /^offbox: no CloudTrail events read: \S*README\.md looks like Markdown\/text/m,
    ],
    [
      'hunt --engine duckdb an empty folder',
      () => ['hunt', '--engine', 'duckdb', join(nothing, 'empty')],
      /no log files in .*empty/,
    ],
  ];
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const run = await runCli([...args(), '--format', 'ndjson']);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, message);
      if (!/no log files/.test(run.stderr)) assert.match(run.stderr, expected);
    });
  }

  it('scan of an empty stdin', async () => {
    const run = await runCli(['scan', '-', '--format', 'ndjson'], { input: '' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /no CloudTrail events read: stdin is empty/);
  });

  it('one file whose records are mostly rejected: its findings are printed, and the run is still exit 2', async () => {
    const run = await runCli(['scan', join(nothing, 'mostly-junk.json'), '--format', 'ndjson']);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(parseNdjson(run.stdout).length, 1, 'the real events still give their finding');
    assert.match(run.stderr, /mostly-junk\.json: most records are not CloudTrail events \(13 of 25 rejected\)/);
    assert.match(
      run.stderr,
      /offbox: no file was read cleanly: the one file with content was unreadable or mostly not CloudTrail events/,
    );
  });

  it('ssrf: README.md, a CloudTrail file and an empty folder are not web logs', async () => {
    const readmeRun = await runCli(['ssrf', readme, '--format', 'ndjson']);
    assert.equal(readmeRun.code, 2, readmeRun.stderr);
    assert.match(readmeRun.stderr, /README\.md: not a web log: .*; this looks like Markdown\/text/);
    assert.match(
      readmeRun.stderr,
      /^offbox: no web requests read: the file is not a web log \(warnings above\) — offbox ssrf reads web logs: ALB/m,
    );
    const trailRun = await runCli(['ssrf', GOOD_TRAIL, '--format', 'ndjson']);
    assert.equal(trailRun.code, 2, trailRun.stderr);
    assert.match(trailRun.stderr, /not a web log: .*; this looks like CloudTrail events/);
    const emptyRun = await runCli(['ssrf', join(nothing, 'empty'), '--format', 'ndjson']);
    assert.equal(emptyRun.code, 2, emptyRun.stderr);
    assert.match(emptyRun.stderr, /no log files in .*empty — folders are read for files ending \.log, /);
  });
});

/** The first file under `dir` (sorted walk) whose name ends with `ending`. */
function firstFile(dir: string, ending: string): string | undefined {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    const found = entry.isDirectory() ? firstFile(path, ending) : entry.name.endsWith(ending) ? path : undefined;
    if (found !== undefined) return found;
  }
  return undefined;
}
