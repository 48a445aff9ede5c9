// `offbox ssrf` on logs that are not access logs: application logs with --text, nginx/Apache error logs
// without it, and the "not a web log" warning that points at --text.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FIXTURES, parseNdjson, runCli } from './cli.test-helpers.js';

const TEXT = join(FIXTURES, 'weblogs', 'text');
const APP_LOG = join(TEXT, 'app-ssrf.log');
const NGINX_ERROR = join(TEXT, 'nginx-error-ssrf.log');

describe('offbox ssrf on text logs', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'offbox-ssrf-text-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('--text: an application log gives findings located by path:line, from the client when the line names one', async () => {
    const run = await runCli(['ssrf', '--text', APP_LOG, '--format', 'ndjson', '--no-progress']);
    assert.equal(run.code, 1, run.stderr);
    assert.doesNotMatch(run.stderr, /not a web log/);
    const findings = parseNdjson(run.stdout);
    const locations = findings.flatMap((f) => (f.evidence as { locations: string[] }).locations).sort();
    assert.deepEqual(locations, [2, 9, 11, 14, 15, 16].map((n) => `${APP_LOG}:${n}`).sort());
    assert.ok(findings.every((f) => f.detector === 'imds-ssrf-attempt'));
    const fromClient = findings.find((f) => f.source.ip === '203.0.113.45');
    assert.ok(fromClient, 'the JSON line names its client');
    assert.ok(findings.some((f) => f.source.ip === '' && f.title.endsWith('from an unknown client')));
    assert.ok(
      findings.every((f) =>
        f.evidence.reasons.some((r) => /^a log line \(\S+:\d+\) carries a metadata-service target/.test(r)),
      ),
      'the reason says a log line carried the target, not a query string',
    );
    assert.match(run.stderr, /text log lines/);
  });

  it('an nginx error log is read without --text', async () => {
    const run = await runCli(['ssrf', NGINX_ERROR, '--format', 'ndjson', '--no-progress']);
    assert.equal(run.code, 1, run.stderr);
    const findings = parseNdjson(run.stdout);
    assert.equal(findings.length, 1);
    const [finding] = findings;
    assert.equal(finding!.source.ip, '203.0.113.9');
    assert.equal(finding!.severity, 'high');
    assert.deepEqual((finding!.evidence as { locations: string[] }).locations, [
      `${NGINX_ERROR}:1`,
      `${NGINX_ERROR}:2`,
    ]);
  });

  it('without --text, an application log is "not a web log" (exit 2) and the warning suggests --text', async () => {
    const run = await runCli(['ssrf', APP_LOG, '--format', 'ndjson', '--no-progress']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /app-ssrf\.log: not a web log: .*use --text/);
    assert.doesNotMatch(run.stderr, /169\.254\.169\.254/, 'no line content in warnings');
  });

  it('--text on an empty file is still "empty", exit 2', async () => {
    const empty = join(scratch, 'empty.log');
    writeFileSync(empty, '');
    const run = await runCli(['ssrf', '--text', empty, '--format', 'ndjson', '--no-progress']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /no web requests read: the file is empty/);
  });

  it('terminal escapes in a text log never reach the terminal raw', async () => {
    const hostile = join(scratch, 'hostile.log');
    writeFileSync(hostile, 'Input: http://169.254.169.254/latest/meta-data/\u001b]0;owned\u0007\u001b[2J\n');
    const run = await runCli(['ssrf', '--text', hostile, '--format', 'table', '--no-progress', '--fail-on', 'medium']);
    assert.equal(run.code, 1, run.stderr);
    assert.ok(!(run.stdout + run.stderr).includes('\u001b'), 'no raw ESC');
  });

  it('offbox scan --web-logs --text reads text logs beside the trail; --text alone is a usage error', async () => {
    const trail = join(scratch, 'trail.json');
    writeFileSync(
      trail,
      JSON.stringify({
        Records: [
          {
            eventVersion: '1.08',
            eventTime: '2024-05-13T10:00:00Z',
            eventSource: 'sts.amazonaws.com',
            eventName: 'GetCallerIdentity',
            awsRegion: 'us-east-1',
            sourceIPAddress: '198.51.100.1',
            userAgent: 'aws-cli/2',
            userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/a', accountId: '111122223333' },
            eventID: '00000000-0000-0000-0000-000000000001',
            recipientAccountId: '111122223333',
          },
        ],
      }),
    );
    const run = await runCli(['scan', trail, '--web-logs', APP_LOG, '--text', '--format', 'ndjson', '--no-progress']);
    assert.equal(run.code, 1, run.stderr);
    assert.ok(parseNdjson(run.stdout).some((f) => f.detector === 'imds-ssrf-attempt'));
    const alone = await runCli(['scan', trail, '--text', '--format', 'ndjson', '--no-progress']);
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /--text applies to --web-logs/);
  });
});
