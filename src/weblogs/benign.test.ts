import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { scanWebLogs } from '../engine/web-scan.js';
import type { LogObject } from '../sources/log-object.js';
import { benignCorpus, BENIGN_TARGETS } from './benign-corpus.test-helpers.js';
import { findMetadataTarget } from './metadata-target.js';
import type { WebRequest } from './request.js';

const WEBLOG_FIXTURES = new URL('../../fixtures/weblogs/', import.meta.url).pathname;

function memoryObject(name: string, text: string): LogObject {
  return { name, size: undefined, open: () => Promise.resolve(Readable.from([Buffer.from(text, 'utf8')])) };
}

function realSamples(dir = WEBLOG_FIXTURES): LogObject[] {
  const out: LogObject[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...realSamples(path));
    // `*-ssrf.log` (text/) hold planted attacks for the text-log tests; every other sample is benign.
    else if (name.endsWith('.log') && !name.endsWith('-ssrf.log'))
      out.push(memoryObject(path, readFileSync(path, 'utf8')));
  }
  return out;
}

async function* objects(list: LogObject[]): AsyncGenerator<LogObject> {
  yield* list;
}

describe('benign traffic', () => {
  it('produces zero findings on ≥ 2,000 lines of ordinary traffic and the real sample lines', async () => {
    const corpus = benignCorpus(500).map((f) => memoryObject(f.name, f.text));
    const result = await scanWebLogs(objects([...corpus, ...realSamples()]));
    console.log(
      `benign corpus: ${result.stats.requests} requests in ${result.stats.files} files ` +
        `(${Object.entries(result.stats.formats)
          .map(([f, n]) => `${f} ${n}`)
          .join(', ')}), ${result.stats.badLines} bad lines — false positives: ${result.findings.length}`,
    );
    assert.ok(result.stats.requests >= 2000, `${result.stats.requests} requests`);
    assert.equal(result.stats.badLines, 0);
    assert.deepEqual(
      result.findings.map((f) => `${f.detector}: ${f.title} @ ${f.evidence.locations[0]}`),
      [],
    );
  });

  it('holds the near-misses it is meant to: dotless ids equal to 169.254.169.254, docs links, redirects, addresses', () => {
    const all = benignCorpus(500)
      .map((f) => f.text)
      .join('\n');
    for (const nearMiss of [
      'id=2852039166',
      '/orders/2852039166',
      'order=7147006462',
      'hash=0xa9fea9fe',
      'ip=169.254.169.254',
      'q=what+is+169.254.169.254',
      'docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html',
      'redirect=https://www.example.com/account',
      'redirect_uri=https%3A%2F%2Fapp.example.com',
      'next=//example.org/path',
      'X-Amz-Credential=AKIA',
    ]) {
      assert.ok(all.includes(nearMiss), nearMiss);
    }
    assert.ok(BENIGN_TARGETS.length >= 40);
  });

  it('ordinary parameters with numbers, hex, dotted numbers and addresses never name a metadata target', () => {
    const name = fc.constantFrom('id', 'order', 'ts', 'page', 'n', 'hash', 'v', 'ip', 'q', 'ref', 'sku', 'count');
    const value = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String),
      fc.bigInt({ min: 0n, max: 2n ** 64n }).map((n) => `0x${n.toString(16)}`),
      fc.array(fc.nat({ max: 999 }), { minLength: 2, maxLength: 4 }).map((a) => a.join('.')),
      fc.constantFrom('169.254.169.254', '2852039166', '0xa9fea9fe', '[::ffff:a9fe:a9fe]', '169.254.170.2', 'metadata'),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 5 }), (params) => {
        const query = params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
        return (
          findMetadataTarget(request(`/products/${params[0]![1].replace(/[^0-9a-z.]/gi, '')}`, query)) === undefined
        );
      }),
      { numRuns: 500 },
    );
  });
});

function request(path: string, query: string): WebRequest {
  return {
    file: 'x.log',
    line: 1,
    time: '',
    timeMs: Number.NaN,
    clientIp: '198.51.100.1',
    method: 'GET',
    url: `https://www.example.com:443${path}?${query}`,
    host: 'www.example.com',
    path,
    query,
    fragment: '',
    userAgent: 'curl/8.4.0',
    referer: '',
    status: 200,
    bytes: 100,
    bytesIncludeHeaders: true,
    targetAddress: '',
    format: 'alb',
    headers: [],
    requestId: '',
    action: '',
    wafRules: [],
    forwardedFor: [],
    absoluteForm: false,
  };
}
