import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { deliveryFile, instanceCall, vendingEvent } from '../../src/cloudtrail/events.test-helpers.js';
import { FIXTURES, parseNdjson, runCli } from './cli.test-helpers.js';

const created: string[] = [];
after(() => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'offbox-e2e-'));
  created.push(dir);
  return dir;
}

const stolen = () => [
  vendingEvent({ accessKeyId: 'ASIASTOLEN' }),
  instanceCall({ accessKeyId: 'ASIASTOLEN', sourceIp: '1.2.3.4' }),
];

describe('offbox scan, as a user runs it', () => {
  it('reads stdin (-) as JSON lines', async () => {
    const lines = stolen()
      .map((r) => JSON.stringify(r))
      .join('\n');
    const run = await runCli(['scan', '-', '--format', 'ndjson'], { input: lines });
    assert.equal(run.code, 1, run.stderr);
    assert.equal(parseNdjson(run.stdout).length, 1);
  });

  it('defaults to ndjson when stdout is not a terminal', async () => {
    const run = await runCli(['scan', join(FIXTURES, 'cloudtrail/otrf')]);
    assert.ok(parseNdjson(run.stdout).length >= 1);
  });

  it('--fail-on decides the exit code', async () => {
    const dir = join(FIXTURES, 'cloudtrail/otrf');
    assert.equal((await runCli(['scan', dir, '--fail-on', 'critical'])).code, 1);
    assert.equal((await runCli(['scan', dir, '--fail-on', 'none'])).code, 0);
    const bad = await runCli(['scan', dir, '--fail-on', 'severe']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--fail-on severe is not a severity — use one of critical/);
  });

  it('usage errors exit 2 with a hint', async () => {
    assert.equal((await runCli(['scan'])).code, 2);
    const missing = await runCli(['scan', '/nonexistent/trail']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /offbox: .*\/nonexistent\/trail/);
    const format = await runCli(['scan', join(FIXTURES, 'cloudtrail/otrf'), '--format', 'xml']);
    assert.equal(format.code, 2);
  });

  it('a bad file and a bad record are reported with path and index; good files still produce findings', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'good.json.gz'), gzipSync(deliveryFile(stolen())));
    writeFileSync(join(dir, 'truncated.json.gz'), gzipSync(deliveryFile(stolen())).subarray(0, 40));
    writeFileSync(
      join(dir, 'invalid.json'),
      '{"Records":[{"eventName":"ListBuckets",}, ' +
        JSON.stringify(
          instanceCall({ sourceIp: '5.6.7.8', accessKeyId: 'ASIAOTHER', instanceId: 'i-0bbbbbbbbbbbbbbbb' }),
        ) +
        ']}',
    );
    writeFileSync(join(dir, 'empty.json'), '');
    const run = await runCli(['scan', dir, '--format', 'ndjson']);
    assert.equal(run.code, 1, run.stderr);
    const findings = parseNdjson(run.stdout);
    assert.deepEqual(findings.map((f) => f.source.ip).sort(), ['1.2.3.4', '5.6.7.8']);
    assert.match(run.stderr, /warning: .*truncated\.json\.gz/);
    assert.match(run.stderr, /warning: .*invalid\.json record 0: invalid JSON/);
    assert.doesNotMatch(run.stderr, /empty\.json/);
  });

  it('--strict turns bad input into exit 2', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'good.json'), deliveryFile(stolen()));
    writeFileSync(join(dir, 'invalid.json'), '{"Records":[{"eventName":]}');
    const run = await runCli(['scan', dir, '--strict']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /invalid\.json record 0/);
    assert.match(run.stderr, /without --strict/);
  });

  it('hostile strings from logs never reach the terminal or a spreadsheet raw', async () => {
    const dir = tempDir();
    const hostile = instanceCall({
      sourceIp: '1.2.3.4',
      userAgent: '=HYPERLINK("http://evil")\u001b]0;pwned\u0007\u001b[31m',
    });
    writeFileSync(join(dir, 'hostile\u001b[2J.json'), deliveryFile([hostile]));
    const table = await runCli(['scan', dir, '--format', 'table']);
    assert.ok(!table.stdout.includes('\u001b'), 'no raw ESC on stdout');
    assert.ok(!table.stderr.includes('\u001b[2J'), 'no raw ESC from file names on stderr');
    const csv = await runCli(['scan', dir, '--format', 'csv']);
    assert.ok(!csv.stdout.includes('\u001b'));
    assert.ok(!/(^|,)"?=HYPERLINK/m.test(csv.stdout), 'formula must be neutralised');
    assert.ok(csv.stdout.includes(`'=HYPERLINK`));
  });

  it('--output writes the file and --db stores findings in SQLite', async () => {
    const dir = tempDir();
    const out = join(dir, 'out', 'findings.json');
    const db = join(dir, 'offbox.db');
    const run = await runCli([
      'scan',
      join(FIXTURES, 'cloudtrail/otrf'),
      '--format',
      'json',
      '--output',
      out,
      '--db',
      db,
    ]);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stdout, '');
    const document = JSON.parse(readFileSync(out, 'utf8'));
    assert.ok(document.findings.length >= 1);
    assert.equal(document.meta.ipRangesSyncToken, '1787433425');
    const rows = new Database(db, { readonly: true }).prepare('select id, detector, status from findings').all() as {
      id: string;
    }[];
    assert.deepEqual(rows.map((r) => r.id).sort(), document.findings.map((f: { id: string }) => f.id).sort());
    const again = await runCli(['scan', join(FIXTURES, 'cloudtrail/otrf'), '--db', db, '--format', 'ndjson']);
    assert.match(again.stderr, /0 new, 1 updated/);
  });

  it('the same finding gets the same id from every run and input layout', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'a/b'), { recursive: true });
    const records = stolen();
    writeFileSync(join(dir, 'a/b/x.json.gz'), gzipSync(deliveryFile(records)));
    const viaFile = parseNdjson((await runCli(['scan', dir])).stdout);
    const viaStdin = parseNdjson((await runCli(['scan', '-'], { input: JSON.stringify(records) })).stdout);
    assert.equal(viaFile.length, 1);
    assert.equal(viaFile[0]!.id, viaStdin[0]!.id);
  });

  it('--ip-ranges replaces the snapshot and its syncToken is recorded', async () => {
    const dir = tempDir();
    const ranges = join(dir, 'ranges.json');
    writeFileSync(
      ranges,
      JSON.stringify({
        syncToken: '42',
        createDate: '2024-01-01-00-00-00',
        prefixes: [{ ip_prefix: '1.2.3.0/24', region: 'us-east-1', service: 'EC2', network_border_group: 'us-east-1' }],
        ipv6_prefixes: [],
      }),
    );
    const run = await runCli(['scan', join(FIXTURES, 'cloudtrail/otrf'), '--ip-ranges', ranges, '--format', 'ndjson']);
    const findings = parseNdjson(run.stdout);
    assert.deepEqual(
      findings.map((f) => f.detector),
      ['instance-credential-foreign-aws'],
      'with 1.2.3.0/24 inside AWS the address is no longer outside AWS, but still not the instance',
    );
    assert.equal(findings[0]!.evidence.ipRangesSyncToken, '42');
    // IAM user pedro calls from 1.2.3.4 in the same minutes: a person's address raises it to high.
    assert.equal(findings[0]!.severity, 'high');
    assert.equal(run.code, 1);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"prefixes": 3}');
    const bad = await runCli(['scan', join(FIXTURES, 'cloudtrail/otrf'), '--ip-ranges', broken]);
    assert.equal(bad.code, 2);
  });

  it('--config allowedSourceCidrs silences own egress', async () => {
    const dir = tempDir();
    const config = join(dir, 'offbox.yaml');
    writeFileSync(config, 'allowedSourceCidrs:\n  - 1.2.3.4/32\n');
    const run = await runCli(['scan', join(FIXTURES, 'cloudtrail/otrf'), '--config', config]);
    assert.equal(run.code, 0);
    assert.deepEqual(parseNdjson(run.stdout), []);
  });
});

describe('offbox scan with suppressions', () => {
  it('reports what it suppressed and why, and warns about expired rules', async () => {
    const dir = tempDir();
    const config = join(dir, 'offbox.yaml');
    writeFileSync(
      config,
      [
        'suppress:',
        '  - detector: instance-credential-outside-aws',
        '    match: { instanceId: i-0317f6c6b66ae9c40 }',
        '    reason: lab exercise',
        '  - detector: "*"',
        '    match: {}',
        '    reason: stale rule',
        '    expires: 2020-01-01',
      ].join('\n'),
    );
    const run = await runCli(['scan', join(FIXTURES, 'cloudtrail/otrf'), '--config', config, '--format', 'json']);
    assert.equal(run.code, 0);
    const document = JSON.parse(run.stdout);
    assert.equal(document.findings.length, 0);
    assert.equal(document.meta.suppressed[0].reason, 'lab exercise');
    assert.match(run.stderr, /suppressed: instance-credential-outside-aws .* — lab exercise/);
    assert.match(run.stderr, /expired on 2020-01-01/);
    assert.match(run.stderr, /1 suppressed by config/);
  });
});
