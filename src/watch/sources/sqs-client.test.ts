// SQS is mocked here: no SQS server (nor emulator) runs in this environment, so these tests drive the
// queue client against a hand-written stand-in for SQSClient whose send() answers ReceiveMessage and
// DeleteMessageBatch the way the SQS API documents, and records every command's input.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  DeleteMessageBatchCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  type DeleteMessageBatchRequest,
  type ReceiveMessageRequest,
} from '@aws-sdk/client-sqs';
import { AwsError, UsageError } from '../../errors.js';
import { createSqsQueueClient, parseQueueUrl, sqsError, type SqsSender } from './sqs-client.js';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/111122223333/offbox-trail';

interface Sent {
  command: unknown;
  abortSignal: AbortSignal | undefined;
}

class FakeSqs implements SqsSender {
  readonly sent: Sent[] = [];
  constructor(private readonly answer: (command: unknown, call: number) => unknown) {}
  async send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<unknown> {
    this.sent.push({ command, abortSignal: options?.abortSignal });
    return this.answer(command, this.sent.length);
  }
  receiveInputs(): ReceiveMessageRequest[] {
    return this.sent
      .map((s) => s.command)
      .filter((c) => c instanceof ReceiveMessageCommand)
      .map((c) => c.input);
  }
  deleteInputs(): DeleteMessageBatchRequest[] {
    return this.sent
      .map((s) => s.command)
      .filter((c) => c instanceof DeleteMessageBatchCommand)
      .map((c) => c.input);
  }
}

/** Answers DeleteMessageBatch as SQS does: each entry either Successful or Failed. */
function deleteAnswer(failsFor: (receiptHandle: string, attempt: number) => string | undefined) {
  const attempts = new Map<string, number>();
  return (command: unknown): unknown => {
    assert.ok(command instanceof DeleteMessageBatchCommand);
    const Successful: { Id: string }[] = [];
    const Failed: { Id: string; SenderFault: boolean; Code: string; Message: string }[] = [];
    for (const entry of command.input.Entries ?? []) {
      const attempt = (attempts.get(entry.ReceiptHandle!) ?? 0) + 1;
      attempts.set(entry.ReceiptHandle!, attempt);
      const code = failsFor(entry.ReceiptHandle!, attempt);
      if (code === undefined) Successful.push({ Id: entry.Id! });
      else Failed.push({ Id: entry.Id!, SenderFault: code === 'ReceiptHandleIsInvalid', Code: code, Message: code });
    }
    return { Successful, Failed, $metadata: { httpStatusCode: 200 } };
  };
}

function handles(count: number): { id: string; receiptHandle: string }[] {
  return Array.from({ length: count }, (_, i) => ({ id: `msg-${i}`, receiptHandle: `rh-${i}` }));
}

describe('parseQueueUrl', () => {
  test('sqs://HOST/ACCOUNT/NAME becomes the https URL, with the region from the host', () => {
    assert.deepEqual(parseQueueUrl('sqs://sqs.us-east-1.amazonaws.com/123456789012/name'), {
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/name',
      region: 'us-east-1',
    });
    assert.deepEqual(parseQueueUrl('sqs://sqs.eu-west-2.amazonaws.com/123456789012/trail.fifo/'), {
      queueUrl: 'https://sqs.eu-west-2.amazonaws.com/123456789012/trail.fifo',
      region: 'eu-west-2',
    });
  });

  test('sqs://https://… is taken in full', () => {
    assert.deepEqual(parseQueueUrl('sqs://https://sqs.ap-southeast-2.amazonaws.com/123456789012/q_1'), {
      queueUrl: 'https://sqs.ap-southeast-2.amazonaws.com/123456789012/q_1',
      region: 'ap-southeast-2',
    });
  });

  test('regions from legacy, GovCloud, China, FIPS, dual-stack and LocalStack hosts', () => {
    const cases: [string, string | undefined][] = [
      ['sqs://queue.amazonaws.com/123456789012/q', 'us-east-1'],
      ['sqs://us-west-2.queue.amazonaws.com/123456789012/q', 'us-west-2'],
      ['sqs://sqs.us-gov-west-1.amazonaws.com/123456789012/q', 'us-gov-west-1'],
      ['sqs://sqs.cn-north-1.amazonaws.com.cn/123456789012/q', 'cn-north-1'],
      ['sqs://sqs-fips.us-east-2.amazonaws.com/123456789012/q', 'us-east-2'],
      ['sqs://sqs.eu-central-1.api.aws/123456789012/q', 'eu-central-1'],
      ['sqs://http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/q', 'us-east-1'],
      ['sqs://http://localhost:9324/000000000000/q', undefined],
    ];
    for (const [spec, region] of cases) assert.equal(parseQueueUrl(spec).region, region, spec);
    assert.equal(
      parseQueueUrl('sqs://http://localhost:9324/000000000000/q').queueUrl,
      'http://localhost:9324/000000000000/q',
    );
  });

  test('anything else is a UsageError whose hint shows the accepted form', () => {
    const invalid = [
      'https://sqs.us-east-1.amazonaws.com/123456789012/q',
      's3://bucket/prefix',
      'sqs://',
      'sqs://my-queue',
      'sqs://sqs.us-east-1.amazonaws.com/123456789012',
      'sqs://sqs.us-east-1.amazonaws.com/12345/q',
      'sqs://sqs.us-east-1.amazonaws.com/123456789012/q/extra',
      'sqs://sqs.us-east-1.amazonaws.com/123456789012/bad name',
      'sqs://sqs.us-east-1.amazonaws.com/123456789012/' + 'x'.repeat(81),
      'sqs://http://sqs.us-east-1.amazonaws.com/123456789012/q',
      'sqs://user:secret@sqs.us-east-1.amazonaws.com/123456789012/q',
      'sqs://sqs.us-east-1.amazonaws.com/123456789012/q?Action=ReceiveMessage',
      'sqs://[bad/123456789012/q',
    ];
    for (const spec of invalid) {
      assert.throws(
        () => parseQueueUrl(spec),
        (err: unknown) =>
          err instanceof UsageError &&
          /sqs:\/\/sqs\.REGION\.amazonaws\.com\/ACCOUNT_ID\/QUEUE_NAME/.test(err.hint ?? ''),
        spec,
      );
    }
  });
});

describe('createSqsQueueClient: receive', () => {
  test('long-polls with the given numbers and maps messages', async () => {
    const fake = new FakeSqs(() => ({
      Messages: [
        { MessageId: 'm1', ReceiptHandle: 'rh1', Body: '{"Records":[]}', MD5OfBody: 'x' },
        { MessageId: 'm2', ReceiptHandle: 'rh2' },
        { MessageId: 'm3', Body: 'no receipt handle, cannot be acknowledged' },
      ],
    }));
    const queue = await createSqsQueueClient(QUEUE_URL, { client: fake });
    const messages = await queue.receive({ maxMessages: 5, waitSeconds: 10, visibilityTimeoutSeconds: 300 });
    assert.deepEqual(messages, [
      { id: 'm1', receiptHandle: 'rh1', body: '{"Records":[]}' },
      { id: 'm2', receiptHandle: 'rh2', body: '' },
    ]);
    assert.deepEqual(fake.receiveInputs(), [
      { QueueUrl: QUEUE_URL, MaxNumberOfMessages: 5, WaitTimeSeconds: 10, VisibilityTimeout: 300 },
    ]);
  });

  test("clamps to SQS's limits, and leaves the visibility timeout to the queue unless asked", async () => {
    const fake = new FakeSqs(() => ({}));
    const queue = await createSqsQueueClient(QUEUE_URL, { client: fake });
    assert.deepEqual(await queue.receive({ maxMessages: 50, waitSeconds: 60 }), []);
    await queue.receive({ maxMessages: 0, waitSeconds: -5, visibilityTimeoutSeconds: 99_999 });
    await queue.receive({ maxMessages: 3.7, waitSeconds: Number.NaN, visibilityTimeoutSeconds: -1 });
    assert.deepEqual(fake.receiveInputs(), [
      { QueueUrl: QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 },
      { QueueUrl: QUEUE_URL, MaxNumberOfMessages: 1, WaitTimeSeconds: 0, VisibilityTimeout: 43_200 },
      { QueueUrl: QUEUE_URL, MaxNumberOfMessages: 3, WaitTimeSeconds: 20, VisibilityTimeout: 0 },
    ]);
  });

  test('passes the abort signal to the SDK, and an aborted poll resolves to no messages', async () => {
    const controller = new AbortController();
    const fake = new FakeSqs(() => {
      controller.abort();
      throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    });
    const queue = await createSqsQueueClient(QUEUE_URL, { client: fake });
    assert.deepEqual(await queue.receive({ maxMessages: 10, waitSeconds: 20, signal: controller.signal }), []);
    assert.equal(fake.sent[0]?.abortSignal, controller.signal);
    // Already aborted: no request at all.
    assert.deepEqual(await queue.receive({ maxMessages: 10, waitSeconds: 20, signal: controller.signal }), []);
    assert.equal(fake.sent.length, 1);
  });

  test('SDK failures become AwsErrors with a hint', async () => {
    const fake = new FakeSqs(() => {
      throw new QueueDoesNotExist({
        message: 'The specified queue does not exist.',
        $metadata: { httpStatusCode: 400 },
      });
    });
    const queue = await createSqsQueueClient(QUEUE_URL, { client: fake });
    await assert.rejects(queue.receive({ maxMessages: 10, waitSeconds: 20 }), (err: unknown) => {
      assert.ok(err instanceof AwsError);
      assert.equal(err.message, `SQS queue not found: ${QUEUE_URL}`);
      assert.match(err.hint ?? '', /get-queue-url/);
      return true;
    });
  });
});

describe('createSqsQueueClient: deleteMessages', () => {
  test('deletes in batches of ten, with short positional ids', async () => {
    const fake = new FakeSqs(deleteAnswer(() => undefined));
    const queue = await createSqsQueueClient(QUEUE_URL, { client: fake });
    await queue.deleteMessages(handles(23));
    const inputs = fake.deleteInputs();
    assert.deepEqual(
      inputs.map((input) => input.Entries?.length),
      [10, 10, 3],
    );
    assert.ok(inputs.every((input) => input.QueueUrl === QUEUE_URL));
    assert.deepEqual(inputs[2]?.Entries, [
      { Id: '0', ReceiptHandle: 'rh-20' },
      { Id: '1', ReceiptHandle: 'rh-21' },
      { Id: '2', ReceiptHandle: 'rh-22' },
    ]);
  });

  test('nothing to delete sends nothing; a repeated receipt handle is sent once', async () => {
    const fake = new FakeSqs(deleteAnswer(() => undefined));
    const queue = await createSqsQueueClient(QUEUE_URL, { client: fake });
    await queue.deleteMessages([]);
    assert.equal(fake.sent.length, 0);
    await queue.deleteMessages([...handles(2), ...handles(2)]);
    assert.deepEqual(fake.deleteInputs()[0]?.Entries?.length, 2);
  });

  test('entries that fail once are retried once, alone, and then succeed', async () => {
    const fake = new FakeSqs(
      deleteAnswer((handle, attempt) =>
        attempt === 1 && (handle === 'rh-3' || handle === 'rh-12') ? 'InternalError' : undefined,
      ),
    );
    const queue = await createSqsQueueClient(QUEUE_URL, { client: fake });
    await queue.deleteMessages(handles(15));
    assert.deepEqual(
      fake.deleteInputs().map((input) => input.Entries?.map((e) => e.ReceiptHandle)),
      [handles(10).map((h) => h.receiptHandle), ['rh-3'], ['rh-10', 'rh-11', 'rh-12', 'rh-13', 'rh-14'], ['rh-12']],
    );
    assert.deepEqual(fake.deleteInputs()[1]?.Entries, [{ Id: '0', ReceiptHandle: 'rh-3' }]);
  });

  test('entries that fail twice make an AwsError that counts them and says they will come back', async () => {
    const fake = new FakeSqs(
      deleteAnswer((handle) => {
        if (handle === 'rh-1' || handle === 'rh-2') return 'ReceiptHandleIsInvalid';
        if (handle === 'rh-14') return 'InternalError';
        return undefined;
      }),
    );
    const queue = await createSqsQueueClient(QUEUE_URL, { client: fake });
    await assert.rejects(queue.deleteMessages(handles(15)), (err: unknown) => {
      assert.ok(err instanceof AwsError);
      assert.equal(
        err.message,
        'could not delete 3 of 15 SQS message(s) from queue offbox-trail (ReceiptHandleIsInvalid ×2, InternalError)',
      );
      assert.match(err.hint ?? '', /delivers them again/);
      assert.match(err.hint ?? '', /checkpoint/);
      assert.match(err.hint ?? '', /visibility timeout ran out/);
      return true;
    });
    // Every batch is still attempted: 10 + retry of 2, then 5 + retry of 1.
    assert.deepEqual(
      fake.deleteInputs().map((input) => input.Entries?.length),
      [10, 2, 5, 1],
    );
  });

  test('an entry SQS neither confirms nor fails counts as not deleted', async () => {
    // SQS always lists every entry; a response that does not must not be taken as success.
    const fake = new FakeSqs((_command, call) => (call === 1 ? { Successful: [{ Id: '0' }] } : {}));
    const queue = await createSqsQueueClient(QUEUE_URL, { client: fake });
    await assert.rejects(queue.deleteMessages(handles(2)), /could not delete 1 of 2 .*unconfirmed/);
  });

  test('a failed call (not a failed entry) is mapped and thrown at once', async () => {
    const fake = new FakeSqs(() => {
      throw Object.assign(new Error('User is not authorized to perform: sqs:deletemessage'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      });
    });
    const queue = await createSqsQueueClient(QUEUE_URL, { client: fake });
    await assert.rejects(queue.deleteMessages(handles(25)), (err: unknown) => {
      assert.ok(err instanceof AwsError);
      assert.match(err.message, /access denied: SQS DeleteMessageBatch on queue offbox-trail/);
      assert.match(err.hint ?? '', /sqs:DeleteMessage/);
      return true;
    });
    assert.equal(fake.sent.length, 1);
  });
});

describe('sqsError', () => {
  const ctx = { queueUrl: QUEUE_URL, operation: 'ReceiveMessage' as const };
  const failure = (name: string, extra: Record<string, unknown> = {}): unknown =>
    Object.assign(new Error(`${name} happened`), { name, ...extra });

  test('each kind of failure says what to do next', () => {
    const cases: [unknown, RegExp, RegExp][] = [
      [failure('CredentialsProviderError'), /no AWS credentials/, /aws configure/],
      [failure('ExpiredTokenException'), /expired/, /aws sso login/],
      [failure('InvalidClientTokenId'), /rejected the credentials/, /--profile/],
      [failure('KmsAccessDenied'), /KMS key/, /kms:Decrypt/],
      [failure('RequestThrottled'), /throttling/, /wait/],
      [failure('OverLimit'), /in flight/, /visibility timeout/],
      [failure('InvalidAddress'), /refused the queue URL/, /sqs:\/\//],
      [failure('Error', { message: 'Region is missing' }), /no AWS region/, /--region/],
      [failure('Error', { code: 'ECONNREFUSED' }), /cannot reach SQS/, /network/],
      [failure('InternalError', { $metadata: { httpStatusCode: 500 } }), /internal error/, /again/],
      [
        failure('SomethingNew', { $metadata: { httpStatusCode: 400 } }),
        /ReceiveMessage on queue offbox-trail failed: SomethingNew \(HTTP 400\)/,
        /queue URL/,
      ],
    ];
    for (const [err, message, hint] of cases) {
      const mapped = sqsError(err, ctx);
      assert.ok(mapped instanceof AwsError);
      assert.match(mapped.message, message);
      assert.match(mapped.hint ?? '', hint);
      assert.equal(mapped.cause, err);
    }
  });

  test('the query-compatible code for a missing queue is recognised too', () => {
    const mapped = sqsError(failure('Error', { code: 'AWS.SimpleQueueService.NonExistentQueue' }), {
      ...ctx,
      endpointUrl: 'http://localhost:4566',
    });
    assert.match(mapped.message, /queue not found/);
    assert.match(mapped.hint ?? '', /localhost:4566/);
  });

  test('an OffboxError passes through unchanged', () => {
    const original = new AwsError('already mapped', 'hint');
    assert.equal(sqsError(original, ctx), original);
  });
});
