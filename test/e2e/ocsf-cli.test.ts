import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { instanceCall, vendingEvent } from '../../src/cloudtrail/events.test-helpers.js';
import { loadOcsfValidator } from '../../src/report/ocsf-validate.test-helpers.js';
import { FIXTURES, parseNdjson, runCli } from './cli.test-helpers.js';

const validator = loadOcsfValidator();

interface OcsfLine {
  finding_info: { uid: string };
  evidences?: { http_request?: { user_agent?: string } }[];
}

function ocsfLines(stdout: string): OcsfLine[] {
  assert.ok(stdout === '' || stdout.endsWith('\n'), 'the output ends in a newline');
  return stdout
    .split('\n')
    .slice(0, -1)
    .map((line, i) => {
      const event = JSON.parse(line) as unknown;
      assert.deepEqual(validator.validate(event), [], `line ${i + 1} is not a valid OCSF 1.8.0 Detection Finding`);
      return event as OcsfLine;
    });
}

describe('offbox scan --format ocsf', () => {
  for (const dataset of ['cloudtrail/invictus', 'cloudtrail/otrf']) {
    it(`prints one valid Detection Finding per finding (${dataset})`, async () => {
      const dir = join(FIXTURES, dataset);
      const [ocsf, ndjson] = await Promise.all([
        runCli(['scan', dir, '--format', 'ocsf', '--no-progress']),
        runCli(['scan', dir, '--format', 'ndjson', '--no-progress']),
      ]);
      assert.equal(ocsf.code, ndjson.code, ocsf.stderr);
      const findings = parseNdjson(ndjson.stdout);
      assert.ok(findings.length >= 1, 'the dataset has findings');
      const events = ocsfLines(ocsf.stdout);
      assert.deepEqual(
        events.map((e) => e.finding_info.uid),
        findings.map((f) => f.id),
      );
    });
  }

  it('keeps a hostile user agent on one line, escaped', async () => {
    const userAgent = 'curl/8 \x1b[2J\x1b]0;pwned\x07\u2028\u202egnp.exe\x85';
    const lines = [
      vendingEvent({ accessKeyId: 'ASIASTOLEN' }),
      instanceCall({ accessKeyId: 'ASIASTOLEN', sourceIp: '1.2.3.4', userAgent }),
    ]
      .map((r) => JSON.stringify(r))
      .join('\n');
    const run = await runCli(['scan', '-', '--format', 'ocsf'], { input: lines });
    assert.equal(run.code, 1, run.stderr);
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    assert.doesNotMatch(run.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202e]/u);
    const events = ocsfLines(run.stdout);
    assert.equal(events.length, 1);
    assert.ok(events[0]?.evidences?.some((e) => e.http_request?.user_agent === userAgent));
  });

  it('is offered by --help and named when a format is unknown', async () => {
    const help = await runCli(['scan', '--help']);
    // Commander wraps the help text: compare it as one line.
    assert.match(help.stdout.replace(/\s+/g, ' '), /output format: [^(]*\bocsf\b/);
    const bad = await runCli(['scan', join(FIXTURES, 'cloudtrail/otrf'), '--format', 'ocfs']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /ocsf/);
  });
});
