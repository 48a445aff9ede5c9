import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Finding } from '../../detect/finding.js';
import { UsageError } from '../../errors.js';
import { sampleFinding } from '../../report/sample-findings.test-helpers.js';
import {
  createWebhookSink,
  escapeSlackText,
  findingSummary,
  RETRY_AFTER_CAP_MS,
  retryAfterMs,
  WebhookDeliveryError,
} from './webhook.js';

/** How the test server answers one request. */
type Reply =
  | { status: number; headers?: Record<string, string>; body?: string }
  | 'hang' // never answers: the client's timeout must fire
  | 'reset'; // drops the connection without an answer

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let baseUrl: string;
let replies: Reply[] = [];
let received: Received[] = [];

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const reply = replies.shift() ?? { status: 200, body: 'ok' };
      if (reply === 'hang') return;
      if (reply === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  replies = [];
  received = [];
});

function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

const HOSTILE = sampleFinding({
  id: 'f-hostile',
  severity: 'critical',
  title: 'Stolen creds <script>alert(1)</script> & <!channel> \x1b[31mred\x1b[0m \u202eevil',
  accountId: '123456789012',
  source: { ip: '203.0.113.7\x1b]8;;http://evil\x07' },
  principal: { roleArn: 'arn:aws:iam::123456789012:role/<img src=x onerror=alert(1)>' },
  activity: { userAgents: ['\x1b[2J<script>steal()</script>'] },
});

describe('createWebhookSink', () => {
  it('POSTs one JSON body per finding with content-type and Idempotency-Key', async () => {
    const sink = createWebhookSink({ url: `${baseUrl}/hooks/abc`, headers: { authorization: 'Bearer t0ken' } });
    const findings = [sampleFinding({ id: 'f-1' }), sampleFinding({ id: 'f-2', severity: 'low' })];
    await sink.deliver(findings);
    assert.equal(received.length, 2);
    received.forEach((r, i) => {
      assert.equal(r.method, 'POST');
      assert.equal(r.url, '/hooks/abc');
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['idempotency-key'], findings[i]!.id);
      assert.equal(r.headers['authorization'], 'Bearer t0ken');
      const body = JSON.parse(r.body) as { text: string; finding: Finding };
      assert.deepEqual(Object.keys(body), ['text', 'finding']);
      assert.deepEqual(body.finding, findings[i]);
      assert.equal(body.text, findingSummary(findings[i]!));
    });
    assert.match(
      JSON.parse(received[0]!.body).text as string,
      /^offbox HIGH: EC2 instance credentials used outside AWS — account 123456789012 — from 203\.0\.113\.7 — finding f-1$/,
    );
  });

  it('sends Slack only a text, with log strings escaped and inert', async () => {
    await createWebhookSink({ url: `${baseUrl}/services/T/B/secret`, style: 'slack' }).deliver([HOSTILE]);
    const body = JSON.parse(received[0]!.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['text']);
    const text = body['text'] as string;
    // Slack's three control characters are entities; no raw tag, link or mention survives.
    assert.ok(text.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt;'), text);
    assert.doesNotMatch(text, /[<>]/);
    assert.doesNotMatch(text, /&(?!amp;|lt;|gt;)/);
    // Terminal escapes and bidi overrides show as text, never as raw control characters.
    assert.ok(text.includes('\\x1b[31mred\\x1b[0m') && text.includes('\\u202eevil'), text);
    assert.ok(text.includes('203.0.113.7\\x1b]8;;http://evil\\x07'), text);
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    assert.doesNotMatch(text, /[\u0000-\u001f\u007f-\u009f\u202e]/);
    assert.match(text, /^offbox CRITICAL: /);
    assert.match(text, /finding f-hostile$/);
  });

  it('keeps the text escaped in the json style too, and the finding itself intact', async () => {
    await createWebhookSink({ url: baseUrl }).deliver([HOSTILE]);
    const body = JSON.parse(received[0]!.body) as { text: string; finding: Finding };
    assert.doesNotMatch(body.text, /[<>]/);
    assert.deepEqual(body.finding, HOSTILE);
  });

  it('retries 5xx answers and dropped connections with backoff, then delivers', async () => {
    replies = [{ status: 503 }, 'reset', { status: 500, body: 'oops' }, { status: 204 }];
    const { sleep, waits } = recordingSleep();
    await createWebhookSink({ url: baseUrl, sleep }).deliver([sampleFinding()]);
    assert.equal(received.length, 4);
    assert.ok(received.every((r) => r.headers['idempotency-key'] === 'f-0123456789abcdef'));
    assert.equal(new Set(received.map((r) => r.body)).size, 1, 'every attempt sends the same body');
    assert.equal(waits.length, 3);
    waits.forEach((ms, i) => {
      const ceiling = 500 * 2 ** i;
      assert.ok(ms >= ceiling / 2 && ms <= ceiling, `wait ${i + 1}: ${ms}`);
    });
  });

  it('waits as long as Retry-After says on 429, up to a cap', async () => {
    replies = [
      { status: 429, headers: { 'retry-after': '7' } },
      { status: 429, headers: { 'retry-after': '86400' } },
      { status: 503, headers: { 'retry-after': new Date(Date.now() + 120_000).toUTCString() } },
      { status: 200 },
    ];
    const { sleep, waits } = recordingSleep();
    await createWebhookSink({ url: baseUrl, sleep }).deliver([sampleFinding()]);
    assert.equal(received.length, 4);
    assert.deepEqual(waits, [7000, RETRY_AFTER_CAP_MS, RETRY_AFTER_CAP_MS]);
  });

  it('fails at once on a 4xx other than 429, with the status and a hint', async () => {
    replies = [{ status: 400, body: 'invalid_payload\x1b[2J' }];
    const { sleep, waits } = recordingSleep();
    const sink = createWebhookSink({ url: `${baseUrl}/services/secret-token`, sleep });
    await assert.rejects(sink.deliver([sampleFinding({ id: 'f-1' }), sampleFinding({ id: 'f-2' })]), (err: unknown) => {
      assert.ok(err instanceof WebhookDeliveryError);
      assert.equal(err.status, 400);
      assert.equal(err.findingId, 'f-1');
      assert.match(err.message, /refused finding f-1: HTTP 400: invalid_payload\\x1b\[2J$/);
      assert.match(err.hint ?? '', /--webhook-style slack/);
      // The secret in the URL path stays out of messages.
      assert.doesNotMatch(err.message, /secret-token/);
      return true;
    });
    assert.equal(received.length, 1, 'neither retried nor went on to the next finding');
    assert.equal(waits.length, 0);
  });

  it('gives up after maxAttempts with a hint', async () => {
    replies = [{ status: 502 }, { status: 502 }, { status: 502 }, { status: 502 }];
    const { sleep, waits } = recordingSleep();
    await assert.rejects(
      createWebhookSink({ url: baseUrl, sleep, maxAttempts: 3 }).deliver([sampleFinding()]),
      (err: unknown) => {
        assert.ok(err instanceof WebhookDeliveryError);
        assert.equal(err.status, 502);
        assert.match(err.message, /after 3 attempts: HTTP 502/);
        assert.match(err.hint ?? '', /reachable/);
        return true;
      },
    );
    assert.equal(received.length, 3);
    assert.equal(waits.length, 2);
  });

  it('times out a receiver that does not answer, and tries again', async () => {
    replies = ['hang', { status: 200 }];
    const { sleep } = recordingSleep();
    await createWebhookSink({ url: baseUrl, sleep, timeoutMs: 200 }).deliver([sampleFinding()]);
    assert.equal(received.length, 2);
  });

  it('reports a receiver that cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { sleep, waits } = recordingSleep();
    await assert.rejects(
      createWebhookSink({ url: `http://127.0.0.1:${port}/`, sleep, maxAttempts: 2 }).deliver([sampleFinding()]),
      (err: unknown) => {
        assert.ok(err instanceof WebhookDeliveryError);
        assert.equal(err.status, undefined);
        assert.match(err.message, /after 2 attempts: ECONNREFUSED/);
        return true;
      },
    );
    assert.equal(waits.length, 1);
  });

  it('does not follow redirects', async () => {
    replies = [{ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } }];
    await assert.rejects(createWebhookSink({ url: baseUrl }).deliver([sampleFinding()]), (err: unknown) => {
      assert.ok(err instanceof WebhookDeliveryError);
      assert.equal(err.status, 302);
      assert.match(err.hint ?? '', /redirects/);
      return true;
    });
    assert.equal(received.length, 1);
  });

  it('accepts only http(s) URLs and valid options, with a clear UsageError', () => {
    for (const url of ['not a url', 'ftp://example.com/hook', 'file:///etc/passwd', 'javascript:alert(1)', '']) {
      assert.throws(
        () => createWebhookSink({ url }),
        (err: unknown) => err instanceof UsageError && /http/.test(err.hint ?? ''),
        url,
      );
    }
    assert.throws(() => createWebhookSink({ url: baseUrl, headers: { 'bad header': 'x' } }), UsageError);
    assert.throws(() => createWebhookSink({ url: baseUrl, headers: { 'x-a': 'line\r\nInjected: 1' } }), UsageError);
    assert.throws(() => createWebhookSink({ url: baseUrl, maxAttempts: 0 }), UsageError);
    assert.throws(() => createWebhookSink({ url: baseUrl, timeoutMs: -1 }), UsageError);
    assert.throws(() => createWebhookSink({ url: baseUrl, style: 'teams' as 'json' }), UsageError);
  });

  it('names itself without the secret part of the URL', () => {
    assert.equal(
      createWebhookSink({ url: 'https://hooks.slack.com/services/T000/B000/XXXXSECRET' }).name,
      'webhook https://hooks.slack.com/…',
    );
    assert.equal(createWebhookSink({ url: 'https://alerts.example.com' }).name, 'webhook https://alerts.example.com');
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates, caps them, and ignores junk', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(retryAfterMs('3', now), 3000);
    assert.equal(retryAfterMs('0', now), 0);
    assert.equal(retryAfterMs('1.5', now), 1500);
    assert.equal(retryAfterMs('Wed, 01 Jan 2025 00:00:10 GMT', now), 10_000);
    assert.equal(retryAfterMs('Tue, 31 Dec 2024 00:00:00 GMT', now), 0);
    assert.equal(retryAfterMs('999999', now), RETRY_AFTER_CAP_MS);
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs('-5', now), undefined);
    assert.equal(retryAfterMs(null, now), undefined);
  });
});

describe('escapeSlackText', () => {
  it('escapes exactly what Slack requires, after making controls visible', () => {
    assert.equal(escapeSlackText('a & b < c > d'), 'a &amp; b &lt; c &gt; d');
    assert.equal(escapeSlackText('<@U123> <https://evil|click>'), '&lt;@U123&gt; &lt;https://evil|click&gt;');
    assert.equal(escapeSlackText('\x1b[31m\u0085'), '\\x1b[31m\\x85');
    assert.equal(escapeSlackText('&amp;'), '&amp;amp;');
  });
});
