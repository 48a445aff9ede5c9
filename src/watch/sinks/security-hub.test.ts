// There is no local Security Hub server to test against, so these tests drive the sink with a
// scripted fake client, and check the AWS SDK wiring once against a stub HTTP endpoint.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { Finding } from '../../detect/finding.js';
import { AwsError, UsageError } from '../../errors.js';
import { toAsff, type AsffFinding } from '../../report/asff.js';
import { sampleFinding } from '../../report/sample-findings.test-helpers.js';
import {
  BATCH_IMPORT_LIMITS,
  chunkForImport,
  createSecurityHubSink,
  SecurityHubImportError,
  type SecurityHubLike,
} from './security-hub.js';

type ImportResult = Awaited<ReturnType<SecurityHubLike['batchImportFindings']>>;
/** One scripted answer per call: a result, or an error to throw. */
type Answer = ImportResult | Error | ((findings: AsffFinding[]) => ImportResult);

function fakeClient(answers: Answer[] = []): SecurityHubLike & { calls: AsffFinding[][] } {
  const calls: AsffFinding[][] = [];
  return {
    calls,
    async batchImportFindings(findings) {
      calls.push(findings);
      const answer = answers.shift() ?? { FailedCount: 0, FailedFindings: [] };
      if (answer instanceof Error) throw answer;
      return typeof answer === 'function' ? answer(findings) : answer;
    },
  };
}

function sdkError(name: string, status?: number, message = `${name} happened`): Error {
  const err = new Error(message) as Error & { $metadata?: { httpStatusCode?: number } };
  err.name = name;
  if (status !== undefined) err.$metadata = { httpStatusCode: status };
  return err;
}

function findings(n: number): Finding[] {
  return Array.from({ length: n }, (_, i) => sampleFinding({ id: `f-${i}` }));
}

function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

describe('createSecurityHubSink', () => {
  it('imports findings as ASFF, at most 100 per call', async () => {
    const client = fakeClient();
    const sink = createSecurityHubSink({ region: 'eu-west-1', client });
    assert.equal(sink.name, 'security-hub eu-west-1');
    await sink.deliver(findings(250));
    assert.deepEqual(
      client.calls.map((call) => call.length),
      [100, 100, 50],
    );
    const first = client.calls[0]![0]!;
    assert.equal(first.Id, 'offbox/f-0');
    assert.equal(first.ProductArn, 'arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default');
    assert.equal(client.calls[2]!.at(-1)!.Id, 'offbox/f-249');
    await sink.close?.();
  });

  it('files findings under the given account and product', async () => {
    const client = fakeClient();
    const sink = createSecurityHubSink({
      region: 'us-east-1',
      client,
      awsAccountId: '210987654321',
      productArn: 'arn:aws:securityhub:us-east-1:210987654321:product/210987654321/default',
    });
    await sink.deliver([sampleFinding()]);
    const sent = client.calls[0]![0]!;
    assert.equal(sent.AwsAccountId, '210987654321');
    assert.equal(sent.ProductArn, 'arn:aws:securityhub:us-east-1:210987654321:product/210987654321/default');
  });

  it('makes no call for no findings', async () => {
    const client = fakeClient();
    await createSecurityHubSink({ region: 'us-east-1', client }).deliver([]);
    assert.equal(client.calls.length, 0);
  });

  it('sends again only the findings Security Hub reports as failed, after a backoff', async () => {
    const client = fakeClient([
      {
        FailedCount: 2,
        FailedFindings: [
          { Id: 'offbox/f-1', ErrorCode: 'InternalError', ErrorMessage: 'try again' },
          { Id: 'offbox/f-3', ErrorCode: 'InternalError', ErrorMessage: 'try again' },
        ],
      },
    ]);
    const { sleep, waits } = recordingSleep();
    await createSecurityHubSink({ region: 'us-east-1', client, sleep }).deliver(findings(5));
    assert.deepEqual(
      client.calls.map((call) => call.map((f) => f.Id)),
      [
        ['offbox/f-0', 'offbox/f-1', 'offbox/f-2', 'offbox/f-3', 'offbox/f-4'],
        ['offbox/f-1', 'offbox/f-3'],
      ],
    );
    assert.equal(waits.length, 1);
    assert.ok(waits[0]! >= 250 && waits[0]! <= 500, `first backoff ${waits[0]}`);
  });

  it('sends the whole batch again when Security Hub counts failures without naming them', async () => {
    const client = fakeClient([{ FailedCount: 1 }]);
    const { sleep } = recordingSleep();
    await createSecurityHubSink({ region: 'us-east-1', client, sleep }).deliver(findings(3));
    assert.deepEqual(
      client.calls.map((call) => call.length),
      [3, 3],
    );
  });

  it('gives up after maxAttempts, naming the failed findings and their error codes', async () => {
    const failing = (): ImportResult => ({
      FailedCount: 1,
      FailedFindings: [
        { Id: 'offbox/f-1', ErrorCode: 'InvalidInput', ErrorMessage: 'Finding does not adhere to ASFF' },
      ],
    });
    const client = fakeClient(Array.from({ length: 10 }, () => failing));
    const { sleep, waits } = recordingSleep();
    const sink = createSecurityHubSink({ region: 'us-east-1', client, sleep, maxAttempts: 4 });
    await assert.rejects(sink.deliver(findings(2)), (err: unknown) => {
      assert.ok(err instanceof SecurityHubImportError && err instanceof AwsError);
      assert.match(err.message, /did not import 1 of 2 findings in us-east-1 after 4 attempts/);
      assert.match(err.message, /offbox\/f-1 \(InvalidInput: Finding does not adhere to ASFF\)/);
      assert.deepEqual(err.failures, [
        { id: 'offbox/f-1', errorCode: 'InvalidInput', errorMessage: 'Finding does not adhere to ASFF' },
      ]);
      assert.match(err.hint ?? '', /offbox bug/);
      return true;
    });
    assert.equal(client.calls.length, 4);
    // Exponential with equal jitter: retry n waits between half and all of 500 ms × 2^(n-1).
    assert.equal(waits.length, 3);
    waits.forEach((ms, i) => {
      const ceiling = 500 * 2 ** i;
      assert.ok(ms >= ceiling / 2 && ms <= ceiling, `wait ${i + 1}: ${ms}`);
    });
  });

  it('points at permissions when findings are refused for access', async () => {
    const denied = (): ImportResult => ({
      FailedCount: 1,
      FailedFindings: [{ Id: 'offbox/f-0', ErrorCode: 'AccessDeniedException', ErrorMessage: 'not your product' }],
    });
    const client = fakeClient([denied, denied]);
    const { sleep } = recordingSleep();
    const sink = createSecurityHubSink({ region: 'us-east-1', client, sleep, maxAttempts: 2 });
    await assert.rejects(sink.deliver(findings(1)), (err: unknown) => {
      assert.ok(err instanceof SecurityHubImportError);
      assert.match(err.hint ?? '', /securityhub:BatchImportFindings/);
      return true;
    });
  });

  it('retries throttling, server and network errors', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const client = fakeClient([
      sdkError('LimitExceededException', 429),
      sdkError('ThrottlingException', 400),
      sdkError('InternalException', 500),
      reset,
    ]);
    const { sleep, waits } = recordingSleep();
    await createSecurityHubSink({ region: 'us-east-1', client, sleep }).deliver(findings(2));
    assert.equal(client.calls.length, 5);
    assert.equal(waits.length, 4);
  });

  it('throws an AwsError with a hint when the errors outlast maxAttempts', async () => {
    const client = fakeClient(Array.from({ length: 5 }, () => sdkError('ServiceUnavailable', 503, 'busy')));
    const { sleep } = recordingSleep();
    await assert.rejects(
      createSecurityHubSink({ region: 'us-east-1', client, sleep, maxAttempts: 3 }).deliver(findings(1)),
      (err: unknown) => {
        assert.ok(err instanceof AwsError);
        assert.match(err.message, /after 3 attempts.*ServiceUnavailable: busy/);
        assert.match(err.hint ?? '', /offers them again/);
        return true;
      },
    );
    assert.equal(client.calls.length, 3);
  });

  it('does not retry what retrying cannot fix', async () => {
    const cases: [Error, RegExp][] = [
      [sdkError('AccessDeniedException', 403), /securityhub:BatchImportFindings/],
      [
        sdkError('InvalidAccessException', 401, 'Account 1 is not subscribed to AWS Security Hub'),
        /enable-security-hub --region us-east-1/,
      ],
      [sdkError('InvalidInputException', 400), /offbox bug/],
      [
        sdkError('CredentialsProviderError', undefined, 'Could not load credentials from any providers'),
        /aws configure/,
      ],
    ];
    for (const [error, hint] of cases) {
      const client = fakeClient([error]);
      const { sleep, waits } = recordingSleep();
      await assert.rejects(
        createSecurityHubSink({ region: 'us-east-1', client, sleep }).deliver(findings(1)),
        (err: unknown) => {
          assert.ok(err instanceof AwsError, error.name);
          assert.match(err.hint ?? '', hint);
          return true;
        },
      );
      assert.equal(client.calls.length, 1, error.name);
      assert.equal(waits.length, 0, error.name);
    }
  });

  it('refuses a bad region or maxAttempts at creation', () => {
    assert.throws(() => createSecurityHubSink({ region: 'mars-1' }), UsageError);
    assert.throws(() => createSecurityHubSink({ region: 'us-east-1', maxAttempts: 0 }), UsageError);
  });

  it('sends through the AWS SDK by default, without the SDK retrying on its own', async () => {
    // A stub endpoint answering like BatchImportFindings: 503 first, then success.
    const requests: { method: string; url: string; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', body });
        const ok = requests.length > 1;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify(ok ? { FailedCount: 0, SuccessCount: 1, FailedFindings: [] } : { message: 'busy' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SECURITYHUB: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'example',
    });
    delete process.env['AWS_PROFILE'];
    delete process.env['AWS_SESSION_TOKEN'];
    const { sleep, waits } = recordingSleep();
    const sink = createSecurityHubSink({ region: 'us-east-1', sleep });
    try {
      await sink.deliver([sampleFinding({ id: 'f-0' })]);
    } finally {
      await sink.close?.();
      process.env = saved;
      await new Promise((resolve) => server.close(resolve));
    }
    // One 503 and one retry by the sink: the SDK's own retries are off.
    assert.equal(requests.length, 2);
    assert.equal(waits.length, 1);
    assert.deepEqual(
      requests.map((r) => `${r.method} ${r.url}`),
      ['POST /findings/import', 'POST /findings/import'],
    );
    const sent = (JSON.parse(requests[1]!.body) as { Findings: AsffFinding[] }).Findings;
    const expected = toAsff(sampleFinding({ id: 'f-0' }), { region: 'us-east-1', now: new Date(sent[0]!.UpdatedAt) });
    assert.deepEqual(sent, [expected]);
  });
});

describe('chunkForImport', () => {
  it('splits by size as well as by count', () => {
    const asff = findings(10).map((f) => toAsff(f, { region: 'us-east-1' }));
    const size = Buffer.byteLength(JSON.stringify(asff[0]));
    const batches = chunkForImport(asff, { findings: 100, bytes: size * 3 + 100 });
    assert.deepEqual(
      batches.map((b) => b.length),
      [3, 3, 3, 1],
    );
    assert.deepEqual(batches.flat(), asff);
  });

  it('keeps real batches of large findings under 6 MB', () => {
    // Multi-byte text fills every field to its limit in characters, at three bytes each.
    const wide = '漢'.repeat(3000);
    const big = Array.from({ length: 100 }, (_, i) =>
      sampleFinding({
        id: `f-${i}`,
        title: wide,
        activity: { userAgents: [wide], actions: [wide], regions: [wide] },
        principal: { sessionName: wide, accessKeyIds: [wide], ec2RoleDelivery: [wide] },
        source: { owner: wide, vpcEndpointId: wide, vpcEndpointAccountId: wide },
        evidence: { eventIds: [wide], vendingEventIds: [wide], reasons: [wide], locations: [wide] },
        response: { commands: [wide, wide, wide, wide, wide] },
      }),
    ).map((f) => toAsff(f, { region: 'us-east-1' }));
    const batches = chunkForImport(big);
    assert.ok(batches.length > 1, 'the findings should not fit one call');
    for (const batch of batches) {
      assert.ok(Buffer.byteLength(JSON.stringify({ Findings: batch })) <= BATCH_IMPORT_LIMITS.bytes);
    }
    assert.equal(batches.flat().length, 100);
  });
});

describe('createSecurityHubSink, findings ASFF cannot carry', () => {
  it('leaves out a finding without an account, says so, and imports the others', async () => {
    const imported: string[] = [];
    const skipped: string[] = [];
    const sink = createSecurityHubSink({
      region: 'us-east-1',
      client: {
        batchImportFindings: (findings) => {
          imported.push(...findings.map((f) => f.Id));
          return Promise.resolve({ FailedCount: 0, FailedFindings: [] });
        },
      },
      onSkipped: (finding) => skipped.push(finding.id),
    });
    await sink.deliver([sampleFinding({ id: 'f-web', accountId: '' }), sampleFinding({ id: 'f-trail' })]);
    assert.deepEqual(skipped, ['f-web']);
    assert.deepEqual(imported, ['offbox/f-trail']);
  });
});
