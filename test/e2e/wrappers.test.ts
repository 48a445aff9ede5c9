// The export wrappers a responder actually has, through the built CLI: every file under
// fixtures/wrappers (real Invictus and OTRF events in lookup-events output, EventBridge
// events, CloudWatch Logs payloads and exports, Splunk HEC, CloudTrail Lake results, Firehose
// objects; sources in its PROVENANCE.md) gives exactly the findings the plain events give, whole.
// `hunt --engine duckdb` gives the same for every shape its SQL reads, and refuses the others by
// file and shape (exit 2) instead of reading nothing.
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { FIXTURES, parseNdjson, runCli } from './cli.test-helpers.js';
import type { Finding } from '../../src/detect/finding.js';

const WRAPPERS = join(FIXTURES, 'wrappers');

/** Every wrapped file, with the dataset it holds. */
function wrappedFiles(): { path: string; dataset: 'invictus' | 'otrf' }[] {
  const out: { path: string; dataset: 'invictus' | 'otrf' }[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!name.endsWith('.md') && !path.includes(`${WRAPPERS}/plain/`)) {
        const rel = relative(WRAPPERS, path);
        // Firehose and export objects are named by stream and time: 2020 is OTRF, 2023 Invictus.
        const otrf = rel.includes('otrf') || rel.includes('-2020-09-14-');
        out.push({ path, dataset: otrf ? 'otrf' : 'invictus' });
      }
    }
  };
  walk(WRAPPERS);
  return out;
}

const PLAIN = {
  invictus: join(WRAPPERS, 'plain/invictus.json'),
  otrf: join(FIXTURES, 'cloudtrail/otrf'),
};

/** Shapes `hunt --engine duckdb` refuses, by a part of their path. */
const NOT_SQL = ['cloudwatch-export/', '-awslogs.json', '-firehose-records.json'];

const expected: Record<'invictus' | 'otrf', Finding[]> = { invictus: [], otrf: [] };

before(async () => {
  for (const dataset of ['invictus', 'otrf'] as const) {
    const run = await runCli(['scan', PLAIN[dataset], '--format', 'ndjson', '--fail-on', 'none', '--no-progress']);
    assert.equal(run.code, 0, run.stderr);
    expected[dataset] = parseNdjson(run.stdout);
    assert.ok(expected[dataset].length >= 1, `${dataset}: the plain events give a finding`);
  }
  // The stolen keys of the ground truth are among the findings.
  assert.ok(expected.invictus.some((f) => f.principal.accessKeyIds.includes('ASIATFQR7NSC36DZQP7P')));
  assert.ok(expected.otrf.some((f) => f.principal.accessKeyIds.includes('ASIA5FLZVX4OPVKKVBMX')));
});

describe('offbox scan of every export wrapper', () => {
  const files = wrappedFiles();
  it('has fixtures for every shape', () => {
    const shapes = new Set(files.map((f) => relative(WRAPPERS, f.path).split('/')[0]));
    for (const shape of [
      'lookup-events',
      'eventbridge',
      'cloudwatch-logs',
      'cloudwatch-export',
      'splunk-hec',
      'lake',
      'firehose',
    ]) {
      assert.ok(shapes.has(shape), shape);
    }
  });
  for (const { path, dataset } of files) {
    it(`${relative(WRAPPERS, path)} gives the plain ${dataset} findings`, async () => {
      const run = await runCli(['scan', path, '--format', 'ndjson', '--fail-on', 'none', '--no-progress']);
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(run.stderr, /warning/, 'no bad record in a well-formed export');
      assert.deepEqual(parseNdjson(run.stdout), expected[dataset]);
    });
  }

  it('the whole folder at once, in worker threads, gives both datasets’ findings', async () => {
    const run = await runCli(['scan', WRAPPERS, '--format', 'ndjson', '--fail-on', 'none', '--threads', '2']);
    assert.equal(run.code, 0, run.stderr);
    const ids = (findings: Finding[]) => findings.map((f) => `${f.id} ${f.severity}`).sort();
    assert.deepEqual(ids(parseNdjson(run.stdout)), ids([...expected.invictus, ...expected.otrf]));
    assert.match(run.stderr, new RegExp(`scanned ${files.length + 1} files`), 'Firehose and export objects are walked');
  });
});

describe('offbox hunt --engine duckdb over the export wrappers', () => {
  for (const { path, dataset } of wrappedFiles()) {
    const refused = NOT_SQL.some((part) => path.includes(part));
    it(`${relative(WRAPPERS, path)}: ${refused ? 'refused by file and shape' : `the plain ${dataset} findings`}`, async () => {
      const run = await runCli(['hunt', '--engine', 'duckdb', path, '--format', 'ndjson', '--fail-on', 'none']);
      if (refused) {
        assert.equal(run.code, 2, run.stderr);
        assert.ok(run.stderr.includes(`cannot read ${path}: it holds `), run.stderr);
        assert.equal(run.stdout, '');
        return;
      }
      assert.equal(run.code, 0, run.stderr);
      const ids = (findings: Finding[]) => findings.map((f) => `${f.id} ${f.severity}`).sort();
      assert.deepEqual(ids(parseNdjson(run.stdout)), ids(expected[dataset]));
    });
  }
});
