import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { imdsSsrfAttempt } from '../detect/imds-ssrf-attempt.js';
import type { WebObservation } from '../detect/web-types.js';
import type { LogObject } from '../sources/log-object.js';
import { findMetadataTarget } from './metadata-target.js';
import { readWebLog } from './read.js';
import type { WebRequest } from './request.js';
import { corpusPayloads, crsTests, type CorpusPayload } from './ssrf-corpus.test-helpers.js';

const SOURCE = {
  class: 'public' as const,
  ip: '203.0.113.9',
  awsServices: [],
  awsRegion: '',
  awsCidr: '',
  rangeName: '',
  reason: 'test',
};

function logObject(name: string, text: string): LogObject {
  return { name, size: undefined, open: () => Promise.resolve(Readable.from([Buffer.from(text, 'utf8')])) };
}

async function requests(name: string, lines: string[]): Promise<Map<number, WebRequest>> {
  const out = new Map<number, WebRequest>();
  for await (const item of readWebLog(logObject(name, `${lines.join('\n')}\n`), { probeLines: 1_000_000 })) {
    if (item.kind === 'request') out.set(item.request.line, item.request);
  }
  return out;
}

function detects(request: WebRequest | undefined): boolean {
  if (!request) return false;
  const observation: WebObservation = { request, source: SOURCE, backend: undefined };
  return imdsSsrfAttempt.evaluate(observation, { hasInventory: false, ipRangesSyncToken: '' }) !== undefined;
}

/** What a client could put raw into a request target: spaces, quotes, controls and non-ASCII go percent-encoded. */
function forAlb(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) =>
      b <= 0x20 || b === 0x22 || b >= 0x7f
        ? `%${b.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(b),
    )
    .join('');
}

/** nginx writes `"` and non-printable bytes of $request as \xHH; spaces reach it percent-encoded. */
function forNginx(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) =>
      b === 0x20
        ? '%20'
        : b < 0x20 || b === 0x22 || b === 0x5c || b >= 0x7f
          ? `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`
          : String.fromCharCode(b),
    )
    .join('');
}

/** The payload as an absolute URL (schemeless payloads get `http://`, `http:X` becomes `http://X`). */
function absolute(payload: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(payload)) return payload;
  const slashless = /^([a-z][a-z0-9+.-]*):\/?(?!\/)/i.exec(payload);
  if (slashless && /^[a-z]+$/i.test(slashless[1]!)) return `${slashless[1]}://${payload.slice(slashless[0].length)}`;
  return `http://${payload}`;
}

function authorityAndRest(url: string): { authority: string; rest: string } {
  const start = url.indexOf('://') + 3;
  let end = start;
  while (end < url.length && !'/?#'.includes(url[end]!)) end++;
  const rest = url.slice(end);
  return { authority: url.slice(start, end), rest: rest.startsWith('/') ? rest : `/${rest}` };
}

const POSITIONS = [
  'path segment',
  'query value',
  'query value, URL-encoded once',
  'query value, URL-encoded twice',
  'fragment',
  'absolute-form request line',
  'Host header (proxy request)',
] as const;
type Position = (typeof POSITIONS)[number];

function target(position: Position, payload: string, encode: (s: string) => string): string {
  switch (position) {
    case 'path segment':
      return `/fetch/${encode(payload)}`;
    case 'query value':
      return `/fetch?url=${encode(payload)}`;
    case 'query value, URL-encoded once':
      return `/fetch?url=${encodeURIComponent(payload)}`;
    case 'query value, URL-encoded twice':
      return `/fetch?url=${encodeURIComponent(encodeURIComponent(payload))}`;
    case 'fragment':
      return `/fetch#${encode(payload)}`;
    default:
      return '';
  }
}

function albLine(requestLine: string): string {
  return (
    `http 2024-05-01T10:00:00.123456Z app/web/50dc6c495c0c9188 203.0.113.9:41234 10.0.1.5:80 0.001 0.002 0.000 200 200 230 1400 ` +
    `"${requestLine}" "curl/8.4.0" - - arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067 ` +
    `"Root=1-66320000-000000000000000000000001" "-" "-" 0 2024-05-01T10:00:00.120000Z "forward" "-" "-" "10.0.1.5:80" "200" "-" "-" TID_0`
  );
}

function nginxLine(requestLine: string, vhost = ''): string {
  return `${vhost ? `${vhost} ` : ''}203.0.113.9 - - [01/May/2024:10:00:00 +0000] "${requestLine}" 200 1400 "-" "curl/8.4.0"`;
}

function albRequestLine(position: Position, payload: string): string {
  if (position === 'absolute-form request line') return `GET ${forAlb(absolute(payload))} HTTP/1.1`;
  if (position === 'Host header (proxy request)') {
    const { authority, rest } = authorityAndRest(absolute(payload));
    const withPort = /:\d+$/.test(authority) ? authority : `${authority}:80`;
    return `GET http://${forAlb(withPort)}${forAlb(rest)} HTTP/1.1`;
  }
  return `GET http://app.example.com:80${target(position, payload, forAlb)} HTTP/1.1`;
}

function nginxRequest(position: Position, payload: string): { requestLine: string; vhost: string } {
  if (position === 'absolute-form request line')
    return { requestLine: `GET ${forNginx(absolute(payload))} HTTP/1.1`, vhost: '' };
  if (position === 'Host header (proxy request)') {
    const { authority, rest } = authorityAndRest(absolute(payload));
    // A Host that cannot be a single log token is not something nginx would log as $host.
    return { requestLine: `GET ${forNginx(rest)} HTTP/1.1`, vhost: forNginx(authority).replace(/\s/g, '') };
  }
  return { requestLine: `GET ${target(position, payload, forNginx)} HTTP/1.1`, vhost: 'app.example.com' };
}

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
    const alb: string[] = [];
    const nginx: string[] = [];
    const placements: { payload: CorpusPayload; position: Position; format: 'alb' | 'nginx'; line: number }[] = [];
    for (const payload of metadata) {
      for (const position of POSITIONS) {
        alb.push(albLine(albRequestLine(position, payload.payload)));
        placements.push({ payload, position, format: 'alb', line: alb.length });
        const { requestLine, vhost } = nginxRequest(position, payload.payload);
        nginx.push(nginxLine(requestLine, vhost));
        placements.push({ payload, position, format: 'nginx', line: nginx.length });
      }
    }
    const albRequests = await requests('corpus-alb.log', alb);
    const nginxRequests = await requests('corpus-nginx.log', nginx);
    const missed = placements.filter((p) => !detects((p.format === 'alb' ? albRequests : nginxRequests).get(p.line)));
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
    const wrong = unique(all.filter((p) => !p.metadata && !p.bareValue))
      .map((p) => ({ p, hit: findMetadataTarget(queryRequest(`url=${encodeURIComponent(p.payload)}`)) }))
      .filter((x) => x.hit !== undefined)
      .map((x) => `${x.p.payload} → ${x.hit!.target} ${x.hit!.canonical}`);
    assert.deepEqual(wrong, []);
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
