import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findMetadataTarget } from './metadata-target.js';
import type { WebRequest } from './request.js';
import { corpusPayloads, crsTests, type CorpusPayload } from './ssrf-corpus.test-helpers.js';
import { detects, placeEverywhere, POSITIONS } from './ssrf-placement.test-helpers.js';

function unique(payloads: CorpusPayload[]): CorpusPayload[] {
  const seen = new Map<string, CorpusPayload>();
  for (const p of payloads) if (!seen.has(p.payload)) seen.set(p.payload, p);
  return [...seen.values()];
}

describe('corpus: metadata-directed payloads from PayloadsAllTheThings, SecLists, SSRFmap and the CRS tests', () => {
  const all = corpusPayloads();
  const metadata = unique(all.filter((p) => p.metadata));

  it('extracts every corpus and classifies every payload explicitly', () => {
    const sources = new Set(all.map((p) => p.source));
    for (const s of [
      'PayloadsAllTheThings SSRF-Cloud-Instances.md',
      'PayloadsAllTheThings README.md',
      'SecLists SSRF_hacktricks.txt',
      'SSRFmap modules',
      'OWASP CRS ssrf.data',
      'OWASP CRS regression tests',
    ]) {
      assert.ok(sources.has(s), s);
    }
    assert.ok(metadata.length >= 150, `only ${metadata.length} metadata-directed payloads extracted`);
    for (const p of all) assert.ok(p.justification.length > 0);
  });

  it('detects ≥ 99% of metadata-directed payloads in every position, in ALB and nginx lines', async () => {
    const placements = await placeEverywhere('corpus', metadata, (p) => p.payload);
    const missed = placements.filter((p) => !detects(p.request));
    const missedPayloads = [...new Set(missed.map((m) => m.payload.payload))];
    const placementRate = 1 - missed.length / placements.length;
    const payloadRate = 1 - missedPayloads.length / metadata.length;
    const byPayload = missedPayloads.map((payload) => {
      const where = missed.filter((m) => m.payload.payload === payload).map((m) => `${m.format}/${m.position}`);
      return `  ${JSON.stringify(payload)} — missed in ${where.length}/${placements.length / metadata.length}: ${where.join(', ')}`;
    });
    console.log(
      `metadata-directed payloads: ${metadata.length} unique (from ${all.filter((p) => p.metadata).length} corpus entries); ` +
        `placements: ${placements.length} (${POSITIONS.length} positions × ALB and nginx); ` +
        `detected: ${placements.length - missed.length} (${(placementRate * 100).toFixed(2)}%); ` +
        `payloads detected in every position: ${metadata.length - missedPayloads.length} (${(payloadRate * 100).toFixed(2)}%)` +
        (byPayload.length > 0 ? `\nmissed:\n${byPayload.join('\n')}` : ''),
    );
    assert.ok(placementRate >= 0.99, `placement detection ${placementRate}`);
    assert.ok(payloadRate >= 0.99, `payload detection ${payloadRate}`);
  });

  it('does not take the corpora’s other targets (loopback, private, example hosts, docs links) for a metadata service', () => {
    const hits = unique(all.filter((p) => !p.metadata && !p.bareValue))
      .map((p) => ({ p, hit: findMetadataTarget(queryRequest(`url=${encodeURIComponent(p.payload)}`)) }))
      .filter((x) => x.hit !== undefined);
    // An out-of-band or rebinding domain in a `url=` parameter is a weak helper-service hit (target `unknown`),
    // never a metadata service; the only such entry in these corpora is SecLists' Burp Collaborator name.
    const wrong = hits
      .filter((x) => x.hit!.recognisedBy !== 'helper')
      .map((x) => `${x.p.payload} → ${x.hit!.target} ${x.hit!.canonical}`);
    assert.deepEqual(wrong, []);
    const helperOnly = hits.filter((x) => x.hit!.recognisedBy === 'helper');
    for (const x of helperOnly) {
      assert.equal(x.hit!.target, 'unknown', x.p.payload);
      assert.ok(x.hit!.helper, x.p.payload);
    }
    assert.deepEqual(
      helperOnly.map((x) => `${x.p.payload} → ${x.hit!.helper!.family}`),
      ['spoofed.burpcollaborator.net → Burp Collaborator'],
    );
  });

  it('CRS regression tests in their own positions: every metadata-directed one fires; bare values without URL context do not', () => {
    let judged = 0;
    for (const t of crsTests()) {
      const cookie = t.desc.startsWith('Cookie');
      // Bodies are never logged; header-only stages without a Cookie carry nothing a log shows.
      if (!cookie && !t.uri.includes('?')) continue;
      judged += 1;
      const q = t.uri.indexOf('?');
      const request = cookie
        ? { ...queryRequest('', t.uri), format: 'waf' as const, headers: [['Cookie', `ssrf=${t.payload}`] as const] }
        : queryRequest(q >= 0 ? t.uri.slice(q + 1) : '', q >= 0 ? t.uri.slice(0, q) : t.uri);
      const hit = findMetadataTarget(request);
      if (t.metadata) assert.ok(hit, `${t.rule}-${t.testId} ${t.uri}`);
      else assert.equal(hit, undefined, `${t.rule}-${t.testId} ${t.uri} → ${hit?.target} ${hit?.canonical}`);
    }
    assert.ok(judged >= 80, `only ${judged} CRS tests judged`);
  });
});

function queryRequest(query: string, path = '/fetch'): WebRequest {
  return {
    file: 'x.log',
    line: 1,
    time: '',
    timeMs: Number.NaN,
    clientIp: '203.0.113.9',
    method: 'GET',
    url: `http://app.example.com:80${path}${query ? `?${query}` : ''}`,
    host: 'app.example.com',
    path,
    query,
    fragment: '',
    userAgent: '',
    referer: '',
    status: 200,
    bytes: 10,
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
