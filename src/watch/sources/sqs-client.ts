// The SQS side of `offbox watch sqs://…`: long-poll a queue, and delete messages once the batch they fed
// is committed. The SDK is imported when a client is made, not when this module loads, so commands that
// never touch SQS start as fast as before.
import type { SQSClientConfig } from '@aws-sdk/client-sqs';
import { AwsError, isNetworkFailure, OffboxError, sdkFailure, UsageError } from '../../errors.js';

/** One message as received: its id, the handle that deletes it, and its body. */
export interface QueueMessage {
  id: string;
  receiptHandle: string;
  body: string;
}

/** What `receive` asks for; out-of-range numbers are clamped to what SQS accepts. */
export interface ReceiveOptions {
  /** 1–10 (SQS's maximum per ReceiveMessage). */
  maxMessages: number;
  /** Long-poll wait, 0–20 seconds. */
  waitSeconds: number;
  /** How long received messages stay hidden from other consumers, 0–43,200 seconds; default the queue's. */
  visibilityTimeoutSeconds?: number;
  /** Ends the wait early; `receive` then resolves to no messages. */
  signal?: AbortSignal;
}

/** A queue that `offbox watch` reads and acknowledges. */
export interface QueueClient {
  receive(opts: ReceiveOptions): Promise<QueueMessage[]>;
  /** Deletes the messages; throws an AwsError naming how many could not be deleted. */
  deleteMessages(handles: { id: string; receiptHandle: string }[]): Promise<void>;
}

/** The one method of the SDK client used here; tests pass a fake. */
export interface SqsSender {
  send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

export interface SqsQueueClientOptions {
  /** Region of the queue; default the region in the queue URL, then AWS_REGION or the profile's. */
  region?: string;
  /** An SQS-compatible endpoint (LocalStack, ElasticMQ …). */
  endpointUrl?: string;
  /** Named profile for credentials (and region) from the AWS config files. */
  profile?: string;
  /** A ready client (tests, or callers sharing one); the options above then only shape error hints. */
  client?: SqsSender;
}

/** A queue URL read from `sqs://…`, and the region its host names, when it names one. */
export interface ParsedQueueUrl {
  queueUrl: string;
  region?: string;
}

/** SQS's limits on one ReceiveMessage and one DeleteMessageBatch. */
export const SQS_MAX_MESSAGES_PER_RECEIVE = 10;
export const SQS_MAX_WAIT_SECONDS = 20;
export const SQS_MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 60 * 60;
export const SQS_DELETE_BATCH_SIZE = 10;

const QUEUE_URL_FORM =
  'write it as sqs://sqs.REGION.amazonaws.com/ACCOUNT_ID/QUEUE_NAME: the queue URL (aws sqs get-queue-url --queue-name NAME) with sqs:// in place of https://, or sqs://https://… in full';
const REGION_RE = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
const ACCOUNT_RE = /^\d{12}$/;
// 1–80 characters of letters, digits, '-' and '_'; FIFO queues end in ".fifo" within those 80.
const QUEUE_NAME_RE = /^(?:[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo)$/;
const AWS_HOST_RE = /\.(?:amazonaws\.com|amazonaws\.com\.cn|api\.aws)$/;

/**
 * Reads `sqs://sqs.us-east-1.amazonaws.com/123456789012/name` (or `sqs://https://…`, or `sqs://http://…`
 * for a local emulator) into the https queue URL, with the region named by an AWS host.
 * Throws a UsageError for anything else.
 */
export function parseQueueUrl(spec: string): ParsedQueueUrl {
  const invalid = (why: string): UsageError => new UsageError(`not an SQS queue URL: ${spec} (${why})`, QUEUE_URL_FORM);
  const match = /^sqs:\/\/(.+)$/i.exec(spec.trim());
  if (!match) throw invalid('it must start with sqs://');
  const rest = match[1]!;
  let url: URL;
  try {
    url = new URL(/^https?:\/\//i.test(rest) ? rest : `https://${rest}`);
  } catch {
    throw invalid('not a URL');
  }
  if (url.username !== '' || url.password !== '') throw invalid('credentials do not belong in the URL');
  if (url.search !== '' || url.hash !== '') throw invalid('a query or fragment is not part of a queue URL');

  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  const name = segments.at(-1);
  if (name === undefined) throw invalid('no queue name in the path');
  if (!QUEUE_NAME_RE.test(name)) throw invalid(`not a valid queue name: ${name}`);

  const host = url.hostname;
  if (AWS_HOST_RE.test(host)) {
    if (url.protocol !== 'https:') throw invalid('AWS queues are reached over https');
    if (segments.length !== 2 || !ACCOUNT_RE.test(segments[0]!)) {
      throw invalid('the path must be /ACCOUNT_ID/QUEUE_NAME, with a 12-digit account ID');
    }
  }

  const queueUrl = `${url.origin}/${segments.join('/')}`;
  const region = regionOfHost(host);
  return region !== undefined ? { queueUrl, region } : { queueUrl };
}

function regionOfHost(host: string): string | undefined {
  // The legacy endpoint queue.amazonaws.com is us-east-1's.
  if (host === 'queue.amazonaws.com') return 'us-east-1';
  // sqs.REGION.amazonaws.com, REGION.queue.amazonaws.com, sqs-fips.REGION…, sqs.REGION.localhost.localstack.cloud
  return host.split('.').find((label) => REGION_RE.test(label));
}

/**
 * Makes a QueueClient for one queue URL, importing the AWS SDK on first use. ReceiveMessage long-polls
 * (clamped to SQS's limits); DeleteMessageBatch goes in chunks of 10, and entries SQS fails are retried
 * once before an AwsError reports them. SDK failures become AwsErrors with a hint.
 */
export async function createSqsQueueClient(queueUrl: string, opts: SqsQueueClientOptions = {}): Promise<QueueClient> {
  const sdk = await import('@aws-sdk/client-sqs');
  const sender = opts.client ?? (await createSdkClient(sdk.SQSClient, queueUrl, opts));
  const ctx: SqsErrorContext = { queueUrl, endpointUrl: opts.endpointUrl, profile: opts.profile };

  async function send(command: unknown, operation: SqsOperation, signal?: AbortSignal): Promise<unknown> {
    try {
      return await sender.send(command, signal !== undefined ? { abortSignal: signal } : undefined);
    } catch (err) {
      throw sqsError(err, { ...ctx, operation });
    }
  }

  /** Deletes one batch of at most ten; returns the entries SQS did not confirm. */
  async function deleteBatch(entries: readonly DeleteEntry[]): Promise<FailedDelete[]> {
    const output = (await send(
      new sdk.DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        // Positions, not message ids, as batch ids: SQS requires them short, distinct and [A-Za-z0-9_-].
        Entries: entries.map((entry, index) => ({ Id: String(index), ReceiptHandle: entry.receiptHandle })),
      }),
      'DeleteMessageBatch',
    )) as { Successful?: unknown; Failed?: unknown } | undefined;
    const confirmed = new Set(listOf(output?.Successful).map((result) => String(field(result, 'Id'))));
    const failures = new Map(listOf(output?.Failed).map((failure) => [String(field(failure, 'Id')), failure]));
    const failed: FailedDelete[] = [];
    entries.forEach((entry, index) => {
      if (confirmed.has(String(index))) return;
      const code = field(failures.get(String(index)), 'Code');
      failed.push({ entry, code: typeof code === 'string' && code !== '' ? code : 'unconfirmed' });
    });
    return failed;
  }

  return {
    async receive(receive) {
      const signal = receive.signal;
      if (signal?.aborted) return [];
      const input = {
        QueueUrl: queueUrl,
        MaxNumberOfMessages: clamp(receive.maxMessages, 1, SQS_MAX_MESSAGES_PER_RECEIVE, SQS_MAX_MESSAGES_PER_RECEIVE),
        WaitTimeSeconds: clamp(receive.waitSeconds, 0, SQS_MAX_WAIT_SECONDS, SQS_MAX_WAIT_SECONDS),
        ...(receive.visibilityTimeoutSeconds !== undefined
          ? {
              VisibilityTimeout: clamp(
                receive.visibilityTimeoutSeconds,
                0,
                SQS_MAX_VISIBILITY_TIMEOUT_SECONDS,
                SQS_MAX_VISIBILITY_TIMEOUT_SECONDS,
              ),
            }
          : {}),
      };
      let output: unknown;
      try {
        output = await send(new sdk.ReceiveMessageCommand(input), 'ReceiveMessage', signal);
      } catch (err) {
        // Stopping the watch aborts the long poll; that is an ending, not a failure.
        if (signal?.aborted) return [];
        throw err;
      }
      const messages: QueueMessage[] = [];
      for (const message of listOf(field(output, 'Messages'))) {
        const id = field(message, 'MessageId');
        const receiptHandle = field(message, 'ReceiptHandle');
        const body = field(message, 'Body');
        // Without both there is nothing to name or acknowledge; SQS always sends them.
        if (typeof id !== 'string' || typeof receiptHandle !== 'string' || receiptHandle === '') continue;
        messages.push({ id, receiptHandle, body: typeof body === 'string' ? body : '' });
      }
      return messages;
    },

    async deleteMessages(handles) {
      const entries = uniqueByReceiptHandle(handles);
      const failures: FailedDelete[] = [];
      for (let start = 0; start < entries.length; start += SQS_DELETE_BATCH_SIZE) {
        const batch = entries.slice(start, start + SQS_DELETE_BATCH_SIZE);
        const firstFailures = await deleteBatch(batch);
        if (firstFailures.length === 0) continue;
        // Mostly transient (SQS internal errors); a receipt handle that expired fails again and is reported.
        failures.push(...(await deleteBatch(firstFailures.map((failure) => failure.entry))));
      }
      if (failures.length > 0) throw deleteFailure(failures, entries.length, ctx);
    },
  };
}

async function createSdkClient(
  SQSClient: typeof import('@aws-sdk/client-sqs').SQSClient,
  queueUrl: string,
  opts: SqsQueueClientOptions,
): Promise<SqsSender> {
  const config: SQSClientConfig = {};
  if (opts.profile !== undefined) {
    const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
    config.profile = opts.profile;
    config.credentials = fromNodeProviderChain({ profile: opts.profile });
  }
  // Requests are signed for the configured region but sent to the queue URL's host, so the two must agree:
  // the URL's own region beats AWS_REGION.
  const region = opts.region ?? regionFromQueueUrl(queueUrl);
  if (region !== undefined) config.region = region;
  else if (opts.endpointUrl !== undefined && !process.env['AWS_REGION'] && !process.env['AWS_DEFAULT_REGION']) {
    config.region = 'us-east-1';
  }
  if (opts.endpointUrl !== undefined) config.endpoint = opts.endpointUrl;
  return new SQSClient(config);
}

function regionFromQueueUrl(queueUrl: string): string | undefined {
  try {
    return regionOfHost(new URL(queueUrl).hostname);
  } catch {
    return undefined;
  }
}

interface DeleteEntry {
  id: string;
  receiptHandle: string;
}

interface FailedDelete {
  entry: DeleteEntry;
  code: string;
}

function uniqueByReceiptHandle(handles: readonly DeleteEntry[]): DeleteEntry[] {
  const seen = new Set<string>();
  const unique: DeleteEntry[] = [];
  for (const handle of handles) {
    if (seen.has(handle.receiptHandle)) continue;
    seen.add(handle.receiptHandle);
    unique.push({ id: handle.id, receiptHandle: handle.receiptHandle });
  }
  return unique;
}

function deleteFailure(failures: readonly FailedDelete[], total: number, ctx: SqsErrorContext): AwsError {
  const byCode = new Map<string, number>();
  for (const failure of failures) byCode.set(failure.code, (byCode.get(failure.code) ?? 0) + 1);
  const codes = [...byCode].map(([code, count]) => (count > 1 ? `${code} ×${count}` : code)).join(', ');
  const expired = byCode.has('ReceiptHandleIsInvalid')
    ? '; ReceiptHandleIsInvalid means the visibility timeout ran out before the batch was committed: give the queue a longer one'
    : '';
  return new AwsError(
    `could not delete ${failures.length} of ${total} SQS message(s) from ${queueLabel(ctx.queueUrl)} (${codes})`,
    'nothing is lost: SQS delivers them again after their visibility timeout, and offbox skips what its checkpoint ' +
      `already covers, so they are not reported twice; if this keeps happening, check that the credentials allow sqs:DeleteMessage on the queue${expired}`,
  );
}

type SqsOperation = 'ReceiveMessage' | 'DeleteMessageBatch';

/** What an SQS failure was about, for its message and hint. */
export interface SqsErrorContext {
  queueUrl: string;
  operation?: SqsOperation;
  endpointUrl?: string | undefined;
  profile?: string | undefined;
}

/** Maps an AWS SDK failure on SQS to an AwsError whose hint says what to do next. */
export function sqsError(err: unknown, ctx: SqsErrorContext): OffboxError {
  if (err instanceof OffboxError) return err;
  const { name, code, message, status } = sdkFailure(err);
  const queue = queueLabel(ctx.queueUrl);
  const what = `SQS ${ctx.operation ?? 'request'} on ${queue}`;
  const profileHint = ctx.profile !== undefined ? ` (profile ${ctx.profile})` : '';
  const opts = { cause: err };
  const is = (...names: string[]): boolean => names.includes(name) || names.includes(code);

  if (is('QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue')) {
    return new AwsError(
      `SQS queue not found: ${ctx.queueUrl}`,
      ctx.endpointUrl !== undefined
        ? `check the queue URL, and that ${ctx.endpointUrl} is the right endpoint`
        : 'check the queue URL (aws sqs get-queue-url --queue-name NAME), and that the credentials belong to the account that owns it',
      opts,
    );
  }
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new AwsError(
      `no AWS credentials found${profileHint}: ${message}`,
      ctx.profile !== undefined
        ? `check that profile ${ctx.profile} exists in ~/.aws/config, or log in to it (aws sso login --profile ${ctx.profile})`
        : 'run `aws configure`, set AWS_PROFILE, or pass --profile',
      opts,
    );
  }
  if (is('ExpiredToken', 'ExpiredTokenException', 'TokenRefreshRequired')) {
    return new AwsError(
      `AWS credentials have expired${profileHint}`,
      'refresh them (e.g. aws sso login) and run again',
      opts,
    );
  }
  if (is('InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'InvalidSignatureException')) {
    return new AwsError(
      `SQS rejected the credentials${profileHint} (${name || code})`,
      "check the access key and secret, or pass --profile with working credentials; a --region other than the queue's also breaks the signature",
      opts,
    );
  }
  if (name.startsWith('Kms') || code.startsWith('KMS.')) {
    return new AwsError(
      `the KMS key that encrypts ${queue} refused ${ctx.operation ?? 'the request'} (${name || code}): ${message}`,
      "allow kms:Decrypt on the queue's KMS key for these credentials, and check that the key is enabled",
      opts,
    );
  }
  if (is('AccessDenied', 'AccessDeniedException') || status === 403) {
    return new AwsError(
      `access denied: ${what}${profileHint}`,
      'check the credentials or --profile, and that they (and the queue policy) allow sqs:ReceiveMessage and sqs:DeleteMessage on this queue',
      opts,
    );
  }
  if (is('RequestThrottled', 'ThrottlingException', 'Throttling') || status === 429) {
    return new AwsError(`SQS is throttling requests (${what})`, 'wait a minute and run again', opts);
  }
  if (is('OverLimit')) {
    return new AwsError(
      `too many messages are in flight on ${queue}: ${message}`,
      'other consumers hold them: wait for their visibility timeout to pass, or stop the other consumers, then run again',
      opts,
    );
  }
  if (is('InvalidAddress', 'InvalidSecurity', 'UnsupportedOperation')) {
    return new AwsError(
      `SQS refused the queue URL ${ctx.queueUrl} (${name || code}): ${message}`,
      `${QUEUE_URL_FORM}; --endpoint-url is only for SQS-compatible servers`,
      opts,
    );
  }
  if (/region is missing/i.test(message)) {
    return new AwsError('no AWS region configured', "pass --region with the queue's region, or set AWS_REGION", opts);
  }
  if (isNetworkFailure({ name, code })) {
    return new AwsError(
      `cannot reach SQS${ctx.endpointUrl !== undefined ? ` at ${ctx.endpointUrl}` : ''}: ${code || name} ${message}`.trim(),
      ctx.endpointUrl !== undefined
        ? 'check --endpoint-url and that the server is running'
        : 'check the network connection and the region in the queue URL',
      opts,
    );
  }
  if (is('InternalError', 'InternalFailure', 'ServiceUnavailable') || (status !== undefined && status >= 500)) {
    return new AwsError(`SQS had an internal error (${what}): ${message}`, 'run again in a moment', opts);
  }
  return new AwsError(
    `${what} failed: ${name || code || 'error'}${status !== undefined ? ` (HTTP ${status})` : ''}: ${message}`,
    'check the queue URL, credentials and region; compare with `aws sqs receive-message --queue-url URL` using the same profile',
    opts,
  );
}

function queueLabel(queueUrl: string): string {
  const name = queueUrl
    .split('/')
    .filter((segment) => segment !== '')
    .at(-1);
  return name !== undefined ? `queue ${name}` : 'the queue';
}

/** An integer within [min, max]; `fallback` for anything that is not a number. */
function clamp(value: number, min: number, max: number, fallback: number): number {
  if (typeof value !== 'number' || Number.isNaN(value)) return fallback;
  return Math.min(max, Math.max(min, Math.trunc(value)));
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}
