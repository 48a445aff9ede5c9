import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { loadAwsRanges } from '../net/aws-ranges.js';
import { scanWebLogs } from '../engine/web-scan.js';
import type { LogObject } from '../sources/log-object.js';
import { findMetadataTarget, type MetadataTarget } from './metadata-target.js';
import { readWebLog, sniffLine, type WebLogItem } from './read.js';
import type { WebRequest } from './request.js';
import { parseLogTime, parseTextLine, sniffErrorLog } from './text.js';
import { albLine, logObjects, memoryLog, nginxLine } from './weblog-lines.test-helpers.js';

const FIXTURES = new URL('../../fixtures/weblogs/text/', import.meta.url).pathname;
const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);
const awsRanges = loadAwsRanges();

function line(text: string): WebRequest {
  return parseTextLine(text, 'app.log', 7, NOW);
}

function target(text: string): MetadataTarget | undefined {
  return findMetadataTarget(line(text));
}

function fixtureObject(name: string): LogObject {
  const bytes = readFileSync(`${FIXTURES}${name}`);
  return { name, size: bytes.length, open: () => Promise.resolve(Readable.from([bytes])) };
}

async function readAll(object: LogObject, options = {}): Promise<WebLogItem[]> {
  const out: WebLogItem[] = [];
  for await (const item of readWebLog(object, { nowMs: NOW, ...options })) out.push(item);
  return out;
}

function requestsOf(items: WebLogItem[]): WebRequest[] {
  return items.flatMap((i) => (i.kind === 'request' ? [i.request] : []));
}

/** 1-based lines of a fixture the canonicaliser finds a target on, read as text. */
async function hitLines(name: string): Promise<number[]> {
  const requests = requestsOf(await readAll(fixtureObject(name), { text: true }));
  return requests.filter((r) => findMetadataTarget(r) !== undefined).map((r) => r.line);
}

describe('text logs: timestamps', () => {
  const cases: [string, string][] = [
    ['2024-05-13T10:41:15.123Z INFO x', '2024-05-13T10:41:15.123Z'],
    ['2024-05-13T12:41:15+02:00 INFO x', '2024-05-13T10:41:15.000Z'],
    ['2024-05-13 10:41:15,123 INFO app x', '2024-05-13T10:41:15.123Z'],
    ['[2024-05-13 10:41:15.5] worker: x', '2024-05-13T10:41:15.500Z'],
    ['2024/05/13 10:41:15 [error] 12#12: *1 x', '2024-05-13T10:41:15.000Z'],
    ['May 13 10:41:15 web01 app[1]: x', '2024-05-13T10:41:15.000Z'],
    ['<14>May  3 10:41:15 web01 app[1]: x', '2024-05-03T10:41:15.000Z'],
    ['[Mon May 13 10:41:15.123456 2024] [core:error] [pid 1] x', '2024-05-13T10:41:15.123Z'],
    ['[Mon May 13 10:41:15 2024] [error] x', '2024-05-13T10:41:15.000Z'],
    ['10.0.0.1 said [13/May/2024:12:41:15 +0200] x', '2024-05-13T10:41:15.000Z'],
  ];
  for (const [text, iso] of cases) {
    it(`reads ${text.slice(0, 40)}`, () => assert.equal(line(text).time, iso));
  }

  it('dates syslog lines in the year before when the current year would put them in the future', () => {
    const january = Date.UTC(2025, 0, 2);
    assert.equal(new Date(parseLogTime('Dec 31 23:59:59 host x', january)).toISOString(), '2024-12-31T23:59:59.000Z');
    assert.equal(new Date(parseLogTime('Jan  1 00:00:01 host x', january)).toISOString(), '2025-01-01T00:00:01.000Z');
  });

  it('reads JSON time fields (ISO text, epoch seconds, epoch milliseconds); no time is ""', () => {
    assert.equal(line('{"time":"2024-05-13T10:41:15Z","msg":"x"}').time, '2024-05-13T10:41:15.000Z');
    assert.equal(line('{"ts":1715596875.5,"msg":"x"}').time, '2024-05-13T10:41:15.500Z');
    assert.equal(line('{"timestamp":1715596875123,"msg":"x"}').time, '2024-05-13T10:41:15.123Z');
    const none = line('no time here, order 2852039166');
    assert.equal(none.time, '');
    assert.ok(Number.isNaN(none.timeMs));
  });
});

describe('text logs: client address', () => {
  const cases: [string, string][] = [
    [
      '2024/05/13 10:41:15 [error] 1#1: *3 x failed, client: 203.0.113.9, server: a, request: "GET / HTTP/1.1"',
      '203.0.113.9',
    ],
    ['[Mon May 13 10:41:15.1 2024] [core:error] [pid 1] [client 198.51.100.7:51234] AH00126: x', '198.51.100.7'],
    ['[Mon Dec 26 16:22:08 2016] [error] [client 192.168.33.1] File does not exist', '192.168.33.1'],
    ['[Mon May 13 10:41:15.1 2024] [core:error] [pid 1] [client ::1:54321] x', '::1'],
    ['time=2024-05-13 level=info ip=192.0.2.80 msg=x', '192.0.2.80'],
    ['remote_addr=2001:DB8::7 path=/x', '2001:db8::7'],
    ['{"remote_addr":"203.0.113.45, 10.0.3.17","msg":"x"}', '203.0.113.45'],
    ['{"client_ip":"198.51.100.8","ip":"10.0.0.1"}', '198.51.100.8'],
    ['{"http":{"ip":"198.51.100.9"}}', '198.51.100.9'],
    ['{"clientIp":"::ffff:198.51.100.10"}', '198.51.100.10'],
    ['INFO fetched http://198.51.100.11/ in 20ms', ''],
    ['Input: http://169.254.169.254/latest/meta-data/', ''],
  ];
  for (const [text, ip] of cases) {
    it(`${ip || 'none'} from ${text.slice(0, 50)}`, () => assert.equal(line(text).clientIp, ip));
  }
});

describe('text logs: URL-like tokens', () => {
  const hits: [string, string, string][] = [
    [
      'a scheme URL in prose',
      'INFO [preview] Input: http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      '169.254.169.254',
    ],
    ['a //host form', 'fetching avatar from //169.254.169.254/latest/meta-data/', '169.254.169.254'],
    [
      'a bare address followed by a metadata path',
      'could not load 169.254.169.254/latest/user-data',
      '169.254.169.254',
    ],
    [
      'a bare name followed by a metadata path',
      'GET metadata.google.internal/computeMetadata/v1/ failed',
      'metadata.google.internal',
    ],
    [
      'key=value whose key says URL',
      'ip=192.0.2.80 method=POST callback_url=169.254.169.254 result=error',
      '169.254.169.254',
    ],
    ['key="value" whose key says host', 'dial host="169.254.169.254" port=80', '169.254.169.254'],
    ['a JSON url field with a bare address', '{"level":"warn","url":"169.254.169.254","msg":"x"}', '169.254.169.254'],
    [
      'a JSON field with a URL',
      '{"level":"warn","msg":"hook","webhook":{"target":"http://[::ffff:a9fe:a9fe]/latest/api/token"}}',
      '169.254.169.254',
    ],
    [
      'a JSON message with a URL in its text',
      '{"msg":"preview of http://0xa9fea9fe/latest/meta-data/ failed"}',
      '169.254.169.254',
    ],
    ['a JSON log after a prefix', '2024-05-13T10:41:15Z app {"u":"http://2852039166/"}', '169.254.169.254'],
    ['a percent-encoded URL', 'redirect_uri=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F', '169.254.169.254'],
    [
      'the ECS credential endpoint',
      "ERROR fetch 'http://169.254.170.2/v2/credentials/6d1c2f' refused",
      '169.254.170.2',
    ],
    ['a rebinding DNS name', 'resolving 7f000001.a9fea9fe.rbndr.us for preview', '169.254.169.254'],
    [
      'a Java exception',
      'java.net.ConnectException: Connection refused (Connection refused) while fetching http://169.254.169.254/latest/meta-data/iam/security-credentials/app-role',
      '169.254.169.254',
    ],
    [
      'a Python (urllib3) exception, host and path written apart',
      "requests.exceptions.ConnectTimeout: HTTPConnectionPool(host='169.254.169.254', port=80): Max retries exceeded with url: /latest/meta-data/iam/security-credentials/web-role (Caused by ConnectTimeoutError(<urllib3.connection.HTTPConnection object at 0x7f3a1c2b9d50>, 'Connection to 169.254.169.254 timed out. (connect timeout=2)'))",
      '169.254.169.254',
    ],
    [
      'an nginx error line naming the request',
      '2024/05/13 10:41:15 [error] 2817#2817: *41 upstream timed out, client: 203.0.113.9, server: app, request: "GET /x?u=http://169.254.169.254/ HTTP/1.1", host: "app.example.com"',
      '169.254.169.254',
    ],
    [
      'an nginx error line whose upstream is the service',
      '2024/05/13 10:41:20 [error] 2817#2817: *44 connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.9, server: app, request: "POST /render HTTP/1.1", upstream: "http://169.254.169.254:80/latest/user-data", host: "app.example.com"',
      '169.254.169.254',
    ],
    // A number without a scheme under a URL name is where a request would go (docs/ssrf.md).
    ['a dotless number under a URL name', 'fetching url=2852039166 failed', '169.254.169.254'],
    [
      'an Apache error line',
      '[Mon May 13 10:41:15.123456 2024] [proxy:error] [pid 1234:tid 140] [client 198.51.100.7:51234] AH00898: Error reading from remote server returned by /proxy/http://169.254.169.254/latest/user-data',
      '169.254.169.254',
    ],
  ];
  for (const [what, text, canonical] of hits) {
    it(`finds ${what}`, () => {
      const t = target(text);
      assert.ok(t, `no target in ${text}`);
      assert.equal(t.canonical, canonical);
    });
  }

  it('keeps the credential path when urllib3 writes host and path apart', () => {
    const t = target(
      "requests.exceptions.ConnectionError: HTTPConnectionPool(host='169.254.169.254', port=80): Max retries exceeded with url: /latest/meta-data/iam/security-credentials/ (Caused by x)",
    );
    assert.equal(t?.recognisedBy, 'address');
    assert.equal(t?.credentialPath, true);
  });

  it('reads the method, target and Host an nginx error line names', () => {
    const r = line(
      '2024/05/13 10:41:15 [error] 2817#2817: *41 upstream timed out, client: 203.0.113.9, server: app, request: "GET /fetch?u=x HTTP/1.1", host: "app.example.com:8443", referrer: "https://app.example.com/"',
    );
    assert.equal(r.format, 'text');
    assert.equal(r.method, 'GET');
    assert.equal(r.url, '/fetch?u=x');
    assert.equal(r.path, '/fetch');
    assert.equal(r.host, 'app.example.com');
    assert.equal(r.referer, 'https://app.example.com/');
    assert.match(r.query, /^u=x(?:&|$)/);
  });

  it('one request per line: a line with several targets is one hit, the most telling one', () => {
    const r = line(
      'tried http://169.254.169.254/latest/meta-data/ then http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    );
    assert.equal(findMetadataTarget(r)?.credentialPath, true);
  });

  const benign: [string, string][] = [
    ['a health check', '2024-05-13T10:40:00.001Z INFO GET /healthz 200 0.4ms from 10.0.1.12'],
    ['an order id equal to the address as an integer', 'GET https://api.example.com/v1/orders/2852039166 200 in 35ms'],
    ['hex ids', 'POST https://api.example.com/v1/orders?customer=2852039166&ref=0xa9fea9fe 201'],
    ['a bare address in prose', 'The link-local address 169.254.169.254 is reserved; metadata is served there.'],
    ['a bare address under a name that is no URL', 'whois lookup ip=169.254.169.254 result=link-local'],
    ['a bare address under a generic name', '{"event":"flow","dest":"169.254.169.254","target":"169.254.169.254"}'],
    ['an address in a JSON message', '{"msg":"rejected address 169.254.169.254 in profile field"}'],
    [
      'an AWS SDK debug line naming STS',
      "DEBUG botocore.endpoint Making request with params: {'url_path': '/', 'url': 'https://sts.amazonaws.com/'}",
    ],
    ['urllib3 to STS', 'DEBUG urllib3.connectionpool https://sts.amazonaws.com:443 "POST / HTTP/1.1" 200 1491'],
    [
      'a documentation URL',
      'see https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html (169.254.169.254)',
    ],
    [
      'the address inside a documentation URL path and query',
      'docs: https://docs.aws.amazon.com/search/doc-search.html?searchQuery=169.254.169.254 https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/169.254.169.254.html',
    ],
    ['a Java object hash', 'java.lang.Object@a9fea9fe released, version 1.2.3.4-SNAPSHOT'],
    [
      'an Apache error referer to documentation',
      '[Mon Dec 26 16:22:00 2016] [error] [client 192.168.33.1] File does not exist: /var/www/x, referer: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-metadata.html',
    ],
  ];
  for (const [what, text] of benign) {
    it(`does not fire on ${what}`, () => assert.equal(target(text), undefined));
  }
});

describe('text logs: fixtures', () => {
  it('app-ssrf.log: every planted line and nothing else (tracebacks and stack lines around them stay quiet)', async () => {
    assert.deepEqual(await hitLines('app-ssrf.log'), [2, 9, 11, 14, 15, 16]);
  });

  it('app-benign.log and the real nginx/Apache error-log samples: 0 hits', async () => {
    for (const name of [
      'app-benign.log',
      'beats-nginx-error.log',
      'beats-apache-error-test.log',
      'beats-apache-error-ubuntu-2.2.22.log',
    ]) {
      assert.deepEqual(await hitLines(name), [], name);
    }
  });

  it('nginx-error-ssrf.log: the two SSRF lines, with their clients', async () => {
    const requests = requestsOf(await readAll(fixtureObject('nginx-error-ssrf.log')));
    const hits = requests.filter((r) => findMetadataTarget(r) !== undefined);
    assert.deepEqual(
      hits.map((r) => [r.line, r.clientIp, r.time]),
      [
        [1, '203.0.113.9', '2024-05-13T10:41:15.000Z'],
        [2, '203.0.113.9', '2024-05-13T10:41:20.000Z'],
      ],
    );
  });
});

describe('text logs: reading files', () => {
  it('sniffs nginx and Apache error-log lines', () => {
    assert.equal(sniffErrorLog('2016/10/25 14:49:34 [error] 54053#0: *1 open() failed'), 'nginx-error');
    assert.equal(sniffErrorLog('[Mon Dec 26 16:22:08 2016] [error] [client 192.168.33.1] x'), 'apache-error');
    assert.equal(sniffErrorLog('[Wed Oct 20 19:20:59.121211 2021] [rewrite:trace3] [pid 1:tid 2] x'), 'apache-error');
    assert.equal(sniffLine('2016/10/25 14:49:34 [error] 54053#0: *1 open() failed'), 'error-log');
    assert.equal(sniffLine('2024-05-13 10:41:15 INFO x'), 'unknown');
  });

  it('reads a real nginx error log without --text, continuation lines included', async () => {
    const items = await readAll(fixtureObject('beats-nginx-error.log'));
    const requests = requestsOf(items);
    assert.equal(items.length, 6);
    assert.deepEqual(
      requests.map((r) => [r.line, r.format, r.clientIp]),
      [
        [1, 'text', '127.0.0.1'],
        [2, 'text', '127.0.0.1'],
        [3, 'text', ''],
        [4, 'text', ''],
        [5, 'text', ''],
        [6, 'text', '127.0.0.1'],
      ],
    );
    assert.equal(requests[0]!.time, '2016-10-25T14:49:34.000Z');
    assert.equal(requests[0]!.path, '/favicon.ico');
    assert.equal(requests[0]!.host, 'localhost');
  });

  it('reads real Apache error logs without --text', async () => {
    for (const name of ['beats-apache-error-test.log', 'beats-apache-error-ubuntu-2.2.22.log']) {
      const items = await readAll(fixtureObject(name));
      assert.ok(
        items.every((i) => i.kind === 'request' && i.request.format === 'text'),
        name,
      );
    }
    const ubuntu = requestsOf(await readAll(fixtureObject('beats-apache-error-ubuntu-2.2.22.log')));
    assert.equal(ubuntu[1]!.clientIp, '192.168.33.1');
    assert.equal(ubuntu[1]!.referer, 'http://192.168.33.72/');
    assert.equal(ubuntu[1]!.time, '2016-12-26T16:22:00.000Z');
  });

  it('an error log that starts with continuation lines: they are read as text once the file proves to be one', async () => {
    const items = await readAll(
      memoryLog('e.log', [
        'PHP message: fetch http://169.254.169.254/latest/meta-data/ failed',
        '2024/05/13 10:41:15 [error] 1#1: *1 x, client: 203.0.113.9, server: a',
      ]),
    );
    assert.deepEqual(
      items.map((i) => (i.kind === 'request' ? `${i.request.line}:${i.request.format}` : i.kind)),
      ['1:text', '2:text'],
    );
  });

  it('any other text without --text is still "not a web log"', async () => {
    const items = await readAll(fixtureObject('app-ssrf.log'));
    assert.deepEqual(
      items.map((i) => i.kind),
      ['not-a-web-log'],
    );
  });

  it('--text reads every line of any file; access-log lines keep their readers', async () => {
    const items = await readAll(
      memoryLog('mixed.log', [
        albLine(),
        nginxLine({ request: 'GET / HTTP/1.1' }),
        '# a comment mentioning http://169.254.169.254/latest/meta-data/',
        '2024-05-13T10:41:15Z 12 34 some app line',
        '',
        'plain text',
      ]),
      { text: true },
    );
    assert.deepEqual(
      items.map((i) => (i.kind === 'request' ? i.request.format : `${i.kind}`)),
      ['alb', 'combined', 'text', 'text', 'skipped', 'text'],
    );
    const comment = requestsOf(items)[2]!;
    assert.equal(findMetadataTarget(comment)?.canonical, '169.254.169.254');
  });

  it('--text: an empty file yields nothing; a line over the limit is a bad line and never buffered whole', async () => {
    assert.deepEqual(await readAll(memoryLog('empty.log', []), { text: true }), [
      { kind: 'skipped', line: 1, what: 'blank' },
    ]);
    const long = `x ${'a'.repeat(70 * 1024)} http://169.254.169.254/`;
    const items = await readAll(memoryLog('long.log', ['ok line', long, 'next']), { text: true });
    assert.deepEqual(
      items.map((i) => i.kind),
      ['request', 'bad', 'request'],
    );
    const bad = items[1]!;
    assert.ok(bad.kind === 'bad' && /longer than the 64 KiB limit/.test(bad.reason) && !bad.reason.includes('aaaa'));
  });

  it('a long line within the limit: URL-named fields are read first, within the per-line scan limit', () => {
    const filler = Array.from({ length: 3000 }, (_, i) => `k${i}=v.${i}`).join(' ');
    const r = line(`${filler} url=http://169.254.169.254/latest/meta-data/`);
    assert.ok(r.query.length <= 16 * 1024);
    assert.equal(findMetadataTarget(r)?.canonical, '169.254.169.254');
  });
});

describe('text logs: findings', () => {
  it('a hit without a client address is a finding from an unknown client, located by path:line', async () => {
    const result = await scanWebLogs(logObjects(fixtureObject('app-ssrf.log')), { awsRanges, text: true });
    assert.equal(result.stats.formats.text, 17);
    assert.equal(result.stats.badFiles, 0);
    const anonymous = result.findings.find(
      (f) => f.source.ip === '' && f.evidence.locations.includes('app-ssrf.log:2'),
    );
    assert.ok(anonymous, JSON.stringify(result.findings.map((f) => [f.source.ip, f.evidence.locations])));
    assert.equal(anonymous.detector, 'imds-ssrf-attempt');
    assert.match(anonymous.title, /from an unknown client$/);
    assert.equal(anonymous.severity, 'high');
    assert.ok(anonymous.activity.actions.includes('text log line'));
    assert.ok(anonymous.evidence.reasons.some((r) => r.includes('not in the log line')));
    const withClient = result.findings.find((f) => f.source.ip === '203.0.113.45');
    assert.deepEqual(withClient?.evidence.locations, ['app-ssrf.log:14']);
    assert.equal(withClient?.activity.firstSeen, '2024-05-13T10:43:07.002Z');
  });

  it('without --text, an application log is one "not a web log" warning suggesting --text', async () => {
    const reasons: string[] = [];
    const result = await scanWebLogs(logObjects(fixtureObject('app-ssrf.log')), {
      awsRanges,
      onWarning: (w) => reasons.push(w.reason),
    });
    assert.equal(result.stats.badFiles, 1);
    assert.equal(reasons.length, 1);
    assert.match(reasons[0]!, /^not a web log: .*use --text$/);
    assert.doesNotMatch(reasons[0]!, /169\.254/);
  });
});
