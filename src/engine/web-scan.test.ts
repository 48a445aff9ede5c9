import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { InputError } from '../errors.js';
import { loadAwsRanges } from '../net/aws-ranges.js';
import { benignCorpus } from '../weblogs/benign-corpus.test-helpers.js';
import { albLine, logObjects, memoryLog } from '../weblogs/weblog-lines.test-helpers.js';
import { scanWebLogs, type WebLogWarning } from './web-scan.js';

const awsRanges = loadAwsRanges();
const ATTACK = albLine({ url: 'https://app.example.com:443/f?u=http://169.254.169.254/latest/meta-data/' });

describe('scanWebLogs', () => {
  it('a truncated gzip file is one warning; the lines before the damage and the other files still count', async () => {
    const text = Buffer.from(`${ATTACK}\n${benignCorpus(400)[0]!.text}`);
    const gz = gzipSync(text);
    const cut = gz.subarray(0, Math.floor(gz.length / 2));
    const broken = { name: 'cut.log.gz', size: cut.length, open: () => Promise.resolve(Readable.from([cut])) };
    const seen: WebLogWarning[] = [];
    const result = await scanWebLogs(logObjects(broken, memoryLog('ok.log', [ATTACK])), {
      awsRanges,
      onWarning: (w) => seen.push(w),
    });
    assert.equal(result.stats.files, 2);
    assert.equal(result.stats.badFiles, 1);
    assert.ok(result.stats.requests > 50 && result.stats.requests < 401, String(result.stats.requests));
    assert.equal(seen.length, 1);
    assert.match(seen[0]!.reason, /truncated or corrupt/);
    assert.equal(result.findings.length, 1);
    assert.deepEqual(result.findings[0]!.evidence.locations, ['cut.log.gz:1', 'ok.log:1']);
  });

  it('counts lines, requests, formats and skipped lines; bad lines carry file and line', async () => {
    const result = await scanWebLogs(
      logObjects(memoryLog('m.log', [ATTACK, 'tls 2.0 2024-01-01T00:00:00 net/x/y', 'garbage line', ''])),
      { awsRanges },
    );
    assert.equal(result.stats.lines, 4);
    assert.equal(result.stats.requests, 1);
    assert.equal(result.stats.events, 1);
    assert.equal(result.stats.skippedLines, 2);
    assert.equal(result.stats.badLines, 1);
    assert.equal(result.stats.formats.alb, 1);
    assert.deepEqual(result.warnings, [
      {
        file: 'm.log',
        line: 3,
        reason: 'not a line of a known web log format (ALB, Classic ELB, CloudFront, AWS WAF, nginx/Apache)',
      },
    ]);
  });

  it('strict mode stops at the first problem with an InputError', async () => {
    await assert.rejects(
      scanWebLogs(logObjects(memoryLog('m.log', [ATTACK, 'garbage'])), { awsRanges, strict: true }),
      (err: unknown) => err instanceof InputError && /m\.log line 2/.test(err.message),
    );
  });

  it('config suppress rules hide findings and say why', async () => {
    const result = await scanWebLogs(logObjects(memoryLog('m.log', [ATTACK])), {
      awsRanges,
      config: {
        allowedSourceCidrs: [],
        trustedAccounts: [],
        suppress: [{ detector: 'imds-ssrf-attempt', match: { sourceIp: '81.2.69.0/24' }, reason: 'our pentest' }],
      },
    });
    assert.equal(result.findings.length, 0);
    assert.equal(result.suppressed.length, 1);
    assert.equal(result.suppressed[0]!.reason, 'our pentest');
  });
});
