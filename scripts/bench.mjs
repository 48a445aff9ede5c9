#!/usr/bin/env node
// npm run bench — offbox scan against its yardsticks on the same CloudTrail files, in one run (SPEC §6).
//
//   a. offbox     `offbox scan` (all detectors) as a child process: wall time and peak RSS.
//   b. DuckDB     the typed Athena-style "seed" query (explicit columns=, UNNEST(Records)), in a child process.
//   c. gunzip     node:zlib on every file across all cores (one worker_thread per core), output discarded.
//
// A benchmark, never a timed test: it reports figures and asserts only that each contender did its work
// (offbox exits 0 and reads every event, the DuckDB query returns rows). Results: a table on stdout and
// bench-data/bench-result.json (plus bench-data/bench-result-<size>.json).
//
// Usage: npm run bench -- [--events N] [--runs K] [--skip-duckdb] [--seed S] [--build] [--regen]
//
// The script runs itself as the DuckDB and gunzip children (--child) and as the gunzip workers
// (worker_threads), so each contender is a fresh process measured the same way.

import { Buffer } from 'node:buffer';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..');
const BENCH_DIR = path.join(ROOT, 'bench-data');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const MB = 1024 * 1024; // the unit offbox itself prints ("313.2 MB")

// The typed record shape the seed query reads: explicit columns, never auto-detection.
const RECORD_TYPE =
  'STRUCT(eventTime VARCHAR, eventSource VARCHAR, eventName VARCHAR, awsRegion VARCHAR, sourceIPAddress VARCHAR, ' +
  'userAgent VARCHAR, errorCode VARCHAR, recipientAccountId VARCHAR, vpcEndpointId VARCHAR, ' +
  'userIdentity STRUCT(type VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR, accessKeyId VARCHAR, ' +
  'sessionContext STRUCT(sessionIssuer STRUCT(arn VARCHAR, userName VARCHAR), ec2RoleDelivery VARCHAR)))[]';

// ---------------------------------------------------------------------------------------------------------------
// children

async function childGunzip(job) {
  const threads = os.availableParallelism();
  const shares = Array.from({ length: threads }, () => []);
  job.files.forEach((f, i) => shares[i % threads].push(f)); // round-robin
  const t0 = performance.now();
  const results = await Promise.all(
    shares.map(
      (files) =>
        new Promise((resolve, reject) => {
          const w = new Worker(SELF, { workerData: { files, inspect: job.inspect } });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  const workMs = performance.now() - t0;
  const sum = (k) => results.reduce((a, r) => a + r[k], 0);
  process.stdout.write(
    JSON.stringify({
      workMs,
      threads,
      bytes: sum('bytes'),
      files: sum('files'),
      multiLine: sum('multiLine'),
      maxFile: Math.max(...results.map((r) => r.maxFile)),
    }) + '\n',
  );
}

function seedQuery(source) {
  // Athena-style seed: instance-profile sessions (session name i-…) grouped by role, instance and source address,
  // leaving out calls AWS services made on the principal's behalf.
  return `WITH ev AS (SELECT UNNEST(Records) AS r FROM ${source})
SELECT r.userIdentity.sessionContext.sessionIssuer.arn AS role,
       split_part(r.userIdentity.arn, '/', 3) AS instance,
       r.sourceIPAddress AS source_ip,
       count(*) AS events,
       count(DISTINCT r.eventName) AS event_names,
       min(r.eventTime) AS first_seen,
       max(r.eventTime) AS last_seen
FROM ev
WHERE r.userIdentity.arn LIKE '%assumed-role/%/i-%'
  AND r.sourceIPAddress NOT LIKE '%.amazonaws.com'
  AND r.sourceIPAddress <> 'AWS Internal'
GROUP BY ALL`;
}

function readJsonSource(job) {
  const list = '[' + job.files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ') + ']';
  return (
    `read_json(${list}, columns={Records: '${RECORD_TYPE}'}, format='${job.format}', ` +
    `maximum_object_size=${job.maximumObjectSize})`
  );
}

async function childDuckdb(job) {
  const { DuckDBInstance } = await loadDuckDb();
  const t0 = performance.now();
  const instance = await DuckDBInstance.create(':memory:', { threads: String(job.threads) });
  const conn = await instance.connect();
  const source = readJsonSource(job);
  const reader = await conn.runAndReadAll(
    job.mode === 'count' ? `SELECT count(*) AS n FROM (SELECT UNNEST(Records) FROM ${source})` : seedQuery(source),
  );
  const workMs = performance.now() - t0;
  const out = { workMs, rows: reader.currentRowCount };
  if (job.mode === 'count') {
    out.events = Number(reader.getRowObjectsJson()[0].n);
    out.version = (await conn.runAndReadAll('SELECT version() AS v')).getRowObjectsJson()[0].v;
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

// ---------------------------------------------------------------------------------------------------------------
// measuring a child process: wall time, peak RSS (GNU time's %M, or VmHWM polled from /proc)

function findGnuTime() {
  if (process.env.OFFBOX_BENCH_NO_TIME) return null; // to exercise the /proc fallback
  try {
    const p = execFileSync('which', ['time'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (!p) return null;
    execFileSync(p, ['-f', '%M', '-o', '/dev/null', 'true'], { stdio: 'ignore' });
    return p;
  } catch {
    return null;
  }
}
let gnuTime;
const gnuTimePath = () => (gnuTime === undefined ? (gnuTime = findGnuTime()) : gnuTime);

function readHwmKb(pid) {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function measure(cmd, args, label) {
  const GNU_TIME = gnuTimePath();
  const rssFile = path.join(BENCH_DIR, `.bench-rss-${process.pid}`);
  const [file, argv] = GNU_TIME ? [GNU_TIME, ['-f', '%M', '-o', rssFile, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let polledKb = 0;
    const poll = GNU_TIME ? null : setInterval(() => (polledKb = Math.max(polledKb, readHwmKb(child.pid))), 10);
    const stdout = [];
    const stderr = [];
    child.stdout.on('data', (d) => stdout.push(d));
    child.stderr.on('data', (d) => stderr.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      if (poll) clearInterval(poll);
      let peakKb = polledKb;
      if (GNU_TIME) {
        const lines = existsSync(rssFile) ? readFileSync(rssFile, 'utf8').trim().split('\n') : [];
        peakKb = Number(lines.at(-1)) || 0;
        rmSync(rssFile, { force: true });
      }
      const err = Buffer.concat(stderr).toString('utf8');
      if (code !== 0) {
        reject(new Error(`${label} exited ${code}:\n${err.slice(-4000)}`));
        return;
      }
      resolve({ wallMs, peakRssBytes: peakKb * 1024, stdout: Buffer.concat(stdout).toString('utf8'), stderr: err });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// the contenders, as runs that return { wallMs, workMs, peakRssBytes, detail }

function offboxArgs(orgDir) {
  return [
    CLI,
    'scan',
    path.join(orgDir, 'cloudtrail'),
    '--inventory',
    path.join(orgDir, 'inventory'),
    '--config',
    path.join(orgDir, 'offbox.yaml'),
    '--format',
    'ndjson',
    '--fail-on',
    'none',
    '--no-progress',
  ];
}

async function runOffbox(ctx) {
  const r = await measure(process.execPath, offboxArgs(ctx.orgDir), 'offbox scan');
  const m = /scanned (\d+) files, (\d+) events \(([^)]*)\).* in ([\d.]+)s/.exec(r.stderr);
  if (!m) throw new Error(`offbox scan: no "scanned …" line on stderr:\n${r.stderr}`);
  const findings = r.stdout.split('\n').filter((l) => l.trim()).length;
  return {
    wallMs: r.wallMs,
    workMs: Number(m[4]) * 1000,
    peakRssBytes: r.peakRssBytes,
    detail: { files: Number(m[1]), events: Number(m[2]), findings },
  };
}

async function runDuckdb(ctx, mode = 'seed') {
  const job = { ...ctx.duckJob, mode };
  writeFileSync(ctx.duckJobFile, JSON.stringify(job));
  const r = await measure(process.execPath, [SELF, '--child', 'duckdb', '--job', ctx.duckJobFile], 'duckdb');
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
  if (mode === 'seed' && !(out.rows > 0)) throw new Error('DuckDB seed query returned no rows: it read nothing');
  return { wallMs: r.wallMs, workMs: out.workMs, peakRssBytes: r.peakRssBytes, detail: out };
}

async function runGunzip(ctx, inspect = false) {
  writeFileSync(ctx.gzJobFile, JSON.stringify({ files: ctx.files, inspect }));
  const r = await measure(process.execPath, [SELF, '--child', 'gunzip', '--job', ctx.gzJobFile], 'gunzip');
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
  return { wallMs: r.wallMs, workMs: out.workMs, peakRssBytes: r.peakRssBytes, detail: out };
}

// ---------------------------------------------------------------------------------------------------------------
// data, build, machine facts

function sizeLabel(n) {
  if (n % 1_000_000 === 0) return `${n / 1_000_000}m`;
  if (n % 1000 === 0) return `${n / 1000}k`;
  return String(n);
}

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function ensureBuilt(force) {
  if (force || !existsSync(CLI)) {
    console.error('bench: building offbox (npm run build)…');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  } else if (newestMtime(path.join(ROOT, 'src')) > statSync(CLI).mtimeMs) {
    console.error('bench: warning: src/ is newer than dist/ — measuring the old build (pass --build to rebuild)');
  }
}

function ensureData(orgDir, seed, events, regen) {
  const marker = path.join(orgDir, '.bench-params.json');
  const want = { seed, events };
  if (!regen && existsSync(marker) && existsSync(path.join(orgDir, 'cloudtrail'))) {
    const have = JSON.parse(readFileSync(marker, 'utf8'));
    if (have.seed === seed && have.events === events) {
      console.error(`bench: reusing ${path.relative(ROOT, orgDir)} (seed ${seed}, ${events} events)`);
      return have;
    }
  }
  rmSync(orgDir, { recursive: true, force: true });
  mkdirSync(BENCH_DIR, { recursive: true });
  const args = [CLI, 'simulate', '--out', orgDir, '--seed', String(seed), '--events', String(events)];
  console.error(
    `bench: generating ${path.relative(ROOT, orgDir)}: node ${args.map((a) => path.relative(ROOT, a) || a).join(' ')}`,
  );
  const t0 = performance.now();
  execFileSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const meta = { ...want, generatedAt: new Date().toISOString(), generateSeconds: (performance.now() - t0) / 1000 };
  writeFileSync(marker, JSON.stringify(meta, null, 2) + '\n');
  return meta;
}

// The CloudTrail delivery files offbox reads: *.json.gz under a CloudTrail/ folder (digests, under
// CloudTrail-Digest/, are not events and offbox skips them).
function listTrailFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.json.gz') && p.split(path.sep).includes('CloudTrail')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

function machineFacts() {
  const GNU_TIME = gnuTimePath();
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const git = (args) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const commit = git(['rev-parse', '--short', 'HEAD']);
  return {
    nproc: os.availableParallelism(),
    cpu: model,
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    offbox: JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version,
    commit: commit ? `${commit}${git(['status', '--porcelain', '--', 'src'])?.length ? ' (src modified)' : ''}` : null,
    peakRssFrom: GNU_TIME ? `${GNU_TIME} -f %M` : '/proc/PID/status VmHWM (polled every 10 ms)',
  };
}

// Cores' worth of CPU time spent (by anything) over one second, from /proc/stat; null where there is none.
async function busyCores() {
  const sample = () => {
    try {
      const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
      const idle = f[3] + (f[4] ?? 0);
      return { idle, total: f.reduce((a, b) => a + b, 0) };
    } catch {
      return null;
    }
  };
  const a = sample();
  if (!a) return null;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const b = sample();
  const total = b.total - a.total;
  return total > 0 ? (1 - (b.idle - a.idle) / total) * os.availableParallelism() : null;
}

// ---------------------------------------------------------------------------------------------------------------

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function summarise(name, runs, totals) {
  const wallS = median(runs.map((r) => r.wallMs)) / 1000;
  const workS = median(runs.map((r) => r.workMs)) / 1000;
  return {
    contender: name,
    runs: runs.length,
    medianWallS: wallS,
    medianWorkS: workS,
    minWallS: Math.min(...runs.map((r) => r.wallMs)) / 1000,
    maxWallS: Math.max(...runs.map((r) => r.wallMs)) / 1000,
    mbPerS: totals.bytes / MB / wallS,
    eventsPerS: totals.events / wallS,
    peakRssMB: Math.max(...runs.map((r) => r.peakRssBytes)) / MB,
    wallsS: runs.map((r) => Number((r.wallMs / 1000).toFixed(3))),
    detail: runs.at(-1).detail,
  };
}

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) =>
    r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.slice(1).map(line)].join('\n');
}

async function main(opts) {
  const events = Number(opts.events);
  const runs = Number(opts.runs);
  const seed = Number(opts.seed);
  if (!Number.isInteger(events) || events <= 0) throw new Error(`--events: not a positive integer: ${opts.events}`);
  if (!Number.isInteger(runs) || runs <= 0) throw new Error(`--runs: not a positive integer: ${opts.runs}`);
  const label = sizeLabel(events);
  const orgDir = path.join(BENCH_DIR, `org-${label}`);

  ensureBuilt(opts.build);
  const data = ensureData(orgDir, seed, events, opts.regen);
  const files = listTrailFiles(path.join(orgDir, 'cloudtrail'));
  if (!files.length) throw new Error(`no CloudTrail .json.gz files under ${orgDir}/cloudtrail`);
  const compressed = files.reduce((a, f) => a + statSync(f).size, 0);
  const ctx = {
    orgDir,
    files,
    gzJobFile: path.join(BENCH_DIR, `.bench-job-gunzip-${label}.json`),
    duckJobFile: path.join(BENCH_DIR, `.bench-job-duckdb-${label}.json`),
  };

  // Warm-up (untimed): read every file once (page cache), learn the decompressed size and the largest file.
  console.error(`bench: warm-up: gunzip ${files.length} files (${(compressed / MB).toFixed(1)} MB compressed)…`);
  const warm = (await runGunzip(ctx, true)).detail;
  const totals = { bytes: warm.bytes, events: null, files: files.length, compressedBytes: compressed };

  const contenders = [{ name: 'offbox scan', run: () => runOffbox(ctx) }];
  let duckdb = null;
  if (!opts['skip-duckdb']) {
    // DuckDB's JSON reader needs maximum_object_size ≥ the largest delivery file (one object per file).
    const maximumObjectSize = Math.max(16 * MB, 2 ** Math.ceil(Math.log2(warm.maxFile * 1.25)));
    ctx.duckJob = {
      files,
      threads: os.availableParallelism(),
      format: warm.multiLine === 0 ? 'newline_delimited' : 'unstructured',
      maximumObjectSize,
    };
    console.error('bench: warm-up: DuckDB count(*) over UNNEST(Records)…');
    const count = (await runDuckdb(ctx, 'count')).detail;
    duckdb = { version: count.version, events: count.events, ...ctx.duckJob, files: undefined };
    totals.events = count.events;
    contenders.push({ name: 'DuckDB typed seed query', run: () => runDuckdb(ctx) });
  }
  contenders.push({ name: 'gunzip floor (node:zlib)', run: () => runGunzip(ctx) });

  const busyBefore = await busyCores();
  const loadBefore = os.loadavg();
  const results = new Map(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < runs; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) {
      const r = await c.run();
      results.get(c.name).push(r);
      console.error(
        `bench: round ${round + 1}/${runs}: ${c.name.padEnd(24)} ${(r.wallMs / 1000).toFixed(2)} s wall, ` +
          `${(r.workMs / 1000).toFixed(2)} s work, peak RSS ${(r.peakRssBytes / MB).toFixed(0)} MB`,
      );
    }
  }

  const offboxEvents = results.get('offbox scan').at(-1).detail.events;
  if (totals.events === null) totals.events = offboxEvents;
  const loadAfter = os.loadavg();
  const warnings = [];
  // The benchmark's own children load the machine (and the load average decays slowly), so what says
  // whether something else was running is the CPU use measured over the second before the first round.
  if (busyBefore !== null && busyBefore > 0.25) {
    warnings.push(
      `${busyBefore.toFixed(2)} of ${os.availableParallelism()} cores were busy with other work just before the ` +
        'first round: some runs may have been slowed',
    );
  }
  if (duckdb && duckdb.events !== offboxEvents) {
    warnings.push(`offbox read ${offboxEvents} events, DuckDB ${duckdb.events}: they did not read the same records`);
  }
  if (results.get('offbox scan').at(-1).detail.files !== files.length) {
    warnings.push(`offbox read ${results.get('offbox scan').at(-1).detail.files} files, the others ${files.length}`);
  }

  const summary = contenders.map((c) => summarise(c.name, results.get(c.name), totals));
  const [off] = summary;
  const duck = summary.find((s) => s.contender.startsWith('DuckDB'));
  const floor = summary.find((s) => s.contender.startsWith('gunzip'));
  const ratio = (a, b) => ({ wall: a.medianWallS / b.medianWallS, work: a.medianWorkS / b.medianWorkS });
  const ratios = {
    offboxOverDuckdb: duck ? ratio(off, duck) : null,
    offboxOverGunzipFloor: ratio(off, floor),
  };
  const targets = {
    // SPEC §6: ≥ 3× DuckDB's throughput (time ratio ≤ 1/3); within 1.6× of the gunzip floor.
    offboxOverDuckdbAtMost: 1 / 3,
    offboxOverGunzipFloorAtMost: 1.6,
  };
  const machine = machineFacts();
  const result = {
    date: new Date().toISOString(),
    machine,
    data: {
      dir: path.relative(ROOT, orgDir),
      seed: data.seed,
      eventsAsked: data.events,
      events: totals.events,
      files: files.length,
      compressedMB: compressed / MB,
      decompressedMB: totals.bytes / MB,
      largestFileMB: warm.maxFile / MB,
    },
    runs,
    busyCoresBefore: busyBefore,
    loadAverage: { before: loadBefore, after: loadAfter },
    duckdb,
    offboxCommand: `node ${offboxArgs(orgDir)
      .map((a) => path.relative(ROOT, a) || a)
      .join(' ')}`,
    contenders: summary,
    ratios,
    targets,
    warnings,
  };
  writeFileSync(path.join(BENCH_DIR, 'bench-result.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(path.join(BENCH_DIR, `bench-result-${label}.json`), JSON.stringify(result, null, 2) + '\n');

  const f = (x, d = 2) => x.toFixed(d);
  console.log(
    `\noffbox benchmark — ${totals.events.toLocaleString('en-US')} events, ${files.length} files, ` +
      `${f(compressed / MB, 1)} MB gzip → ${f(totals.bytes / MB, 1)} MB JSON (seed ${data.seed}); median of ${runs} runs\n`,
  );
  console.log(
    table([
      ['contender', 'median wall s', 'work s', 'MB/s (JSON)', 'events/s', 'peak RSS MB'],
      ...summary.map((s) => [
        s.contender,
        f(s.medianWallS),
        f(s.medianWorkS),
        f(s.mbPerS, 1),
        Math.round(s.eventsPerS).toLocaleString('en-US'),
        f(s.peakRssMB, 0),
      ]),
    ]),
  );
  console.log(
    '\nwall = whole child process (start-up included); work = inside it (offbox: its own "in N s"; DuckDB: ' +
      'instance + query; gunzip: workers start to finish). MB/s and events/s use wall.',
  );
  const show = (name, r, target) =>
    r
      ? `${name}: ${f(r.wall)}× wall, ${f(r.work)}× work (SPEC §6 target ≤ ${f(target)}: ${r.wall <= target ? 'met' : 'not met'})`
      : `${name}: skipped`;
  console.log(show('offbox / DuckDB      ', ratios.offboxOverDuckdb, targets.offboxOverDuckdbAtMost));
  console.log(show('offbox / gunzip floor', ratios.offboxOverGunzipFloor, targets.offboxOverGunzipFloorAtMost));
  console.log(
    `\nmachine: ${machine.nproc} cores (${machine.cpu}), ${machine.memoryGiB} GiB, node ${machine.node}` +
      `${duckdb ? `, DuckDB ${duckdb.version} (${duckdb.threads} threads, format=${duckdb.format})` : ''}` +
      `, offbox ${machine.offbox} @ ${machine.commit ?? '?'}; peak RSS via ${machine.peakRssFrom}` +
      (busyBefore === null ? '' : `; ${busyBefore.toFixed(2)} cores busy just before the first round`),
  );
  for (const w of warnings) console.log(`warning: ${w}`);
  console.log(`\nwrote ${path.relative(ROOT, path.join(BENCH_DIR, 'bench-result.json'))}`);
}

// ---------------------------------------------------------------------------------------------------------------
// entry: gunzip worker (worker_threads), a child (--child), or the benchmark itself.

// gunzip worker: decompress its share of the files, discard the output, count bytes.
function gunzipWorker() {
  const { files, inspect } = workerData;
  let bytes = 0;
  let maxFile = 0;
  let multiLine = 0;
  for (const file of files) {
    const out = gunzipSync(readFileSync(file), { chunkSize: MB }); // 1 MiB chunks: fewer copies than the 16 KiB default
    bytes += out.length;
    if (out.length > maxFile) maxFile = out.length;
    if (inspect) {
      // newline_delimited reading in DuckDB needs each delivery file on one line (as CloudTrail writes them).
      const nl = out.indexOf(10);
      if (nl !== -1 && nl < out.length - 1) multiLine++;
    }
  }
  parentPort.postMessage({ bytes, maxFile, multiLine, files: files.length });
}

if (!isMainThread) {
  gunzipWorker();
} else {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '200000' },
      runs: { type: 'string', default: '5' },
      seed: { type: 'string', default: '11' },
      'skip-duckdb': { type: 'boolean', default: false },
      build: { type: 'boolean', default: false },
      regen: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      child: { type: 'string' },
      job: { type: 'string' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      readFileSync(SELF, 'utf8')
        .split('\n')
        .slice(1, 14)
        .join('\n')
        .replace(/^\/\/ ?/gm, ''),
    );
  } else if (values.child === 'gunzip') {
    await childGunzip(JSON.parse(readFileSync(values.job, 'utf8')));
  } else if (values.child === 'duckdb') {
    await childDuckdb(JSON.parse(readFileSync(values.job, 'utf8')));
  } else {
    await main(values);
  }
}

// @duckdb/node-api stays out of package.json: npm 11 writes a lock file without its other-platform
// binding packages and `npm ci` then refuses it. The benchmark installs it on first use instead.
async function loadDuckDb() {
  return import('@duckdb/node-api');
}
