/**
 * Sends findings to AWS Security Hub with BatchImportFindings, as ASFF (report/asff.ts). Re-sending
 * a finding updates it (its ASFF Id is stable), so retries and watch's at-least-once delivery never
 * duplicate one.
 */
import type { Finding } from '../../detect/finding.js';
import { AwsError, isNetworkFailure, OffboxError, sdkFailure, UsageError } from '../../errors.js';
import { isAwsRegionName, limitText, toAsff, type AsffFinding } from '../../report/asff.js';
import { backoffDelay, defaultSleep, type Sleep } from './retry.js';
import type { FindingSink } from './types.js';

/** What the sink needs of a Security Hub client: tests pass a fake, offbox the AWS SDK's. */
export interface SecurityHubLike {
  batchImportFindings(findings: AsffFinding[]): Promise<{
    FailedCount?: number;
    FailedFindings?: { Id?: string; ErrorCode?: string; ErrorMessage?: string }[];
  }>;
}

export interface SecurityHubSinkOptions {
  /** Region of the Security Hub to import into. */
  region: string;
  /** Default: the AWS SDK's client with the standard credential chain, loaded on first delivery. */
  client?: SecurityHubLike;
  /** Default: the importing account's own product, `…:product/<account>/default`. */
  productArn?: string;
  /** Account the findings are filed under; default each finding's own account. */
  awsAccountId?: string;
  /** Calls per batch before giving up, counting the first (default 5). */
  maxAttempts?: number;
  sleep?: Sleep;
  /**
   * A finding ASFF cannot carry (no account to file it under): it is left out, and said here, so
   * it never holds back the findings behind it.
   */
  onSkipped?: (finding: Finding, reason: string) => void;
}

/** BatchImportFindings failed for some findings on every attempt. */
export class SecurityHubImportError extends AwsError {
  readonly failures: readonly { id: string; errorCode: string; errorMessage: string }[];
  constructor(message: string, hint: string, failures: SecurityHubImportError['failures']) {
    super(message, hint);
    this.failures = failures;
  }
}

/** BatchImportFindings' limits per call. */
export const BATCH_IMPORT_LIMITS = {
  findings: 100,
  // The API takes 6 MB per request; stay below it for the request envelope.
  bytes: 6_000_000,
} as const;

const DEFAULT_MAX_ATTEMPTS = 5;
const MAX_LISTED_FAILURES = 5;
const ENVELOPE_BYTES = Buffer.byteLength('{"Findings":[]}');

const THROTTLING = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'Throttling',
  'RequestLimitExceeded',
  // Security Hub answers LimitExceededException (HTTP 429) when it throttles.
  'LimitExceededException',
]);
const SERVER_FAILURES = new Set([
  'InternalException',
  'InternalServerException',
  'InternalFailure',
  'ServiceUnavailable',
]);

/**
 * Splits findings into BatchImportFindings calls: at most {@link BATCH_IMPORT_LIMITS}`.findings`
 * findings and `.bytes` bytes of JSON per call, in order.
 */
export function chunkForImport(
  findings: readonly AsffFinding[],
  limits: { findings: number; bytes: number } = BATCH_IMPORT_LIMITS,
): AsffFinding[][] {
  const batches: AsffFinding[][] = [];
  let batch: AsffFinding[] = [];
  let bytes = ENVELOPE_BYTES;
  for (const finding of findings) {
    // +1 for the comma between array elements.
    const size = Buffer.byteLength(JSON.stringify(finding)) + 1;
    if (batch.length > 0 && (batch.length >= limits.findings || bytes + size > limits.bytes)) {
      batches.push(batch);
      batch = [];
      bytes = ENVELOPE_BYTES;
    }
    batch.push(finding);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

function isRetryable(err: unknown): boolean {
  const { name, code, status } = sdkFailure(err);
  if (THROTTLING.has(name) || THROTTLING.has(code) || SERVER_FAILURES.has(name)) return true;
  if (status === 429 || (status !== undefined && status >= 500)) return true;
  return isNetworkFailure({ name, code });
}

const PERMISSIONS_HINT =
  'the credentials need securityhub:BatchImportFindings, and the product ARN must be the calling account’s own ' +
  '(arn:aws:securityhub:REGION:ACCOUNT:product/ACCOUNT/default) with findings filed under that account unless it is ' +
  'the Security Hub administrator: set the sink’s account to the calling account';

/** Maps a BatchImportFindings failure to an AwsError whose hint says what to do next. */
function securityHubError(err: unknown, region: string, attempts: number): OffboxError {
  if (err instanceof OffboxError) return err;
  const { name, code, message, status } = sdkFailure(err);
  const opts = { cause: err };
  const after = attempts > 1 ? ` (after ${attempts} attempts)` : '';
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new AwsError(
      `no AWS credentials found for Security Hub: ${message}`,
      'run `aws configure`, set AWS_PROFILE, or log in (aws sso login)',
      opts,
    );
  }
  if (name === 'ExpiredToken' || name === 'ExpiredTokenException' || name === 'TokenRefreshRequired') {
    return new AwsError('AWS credentials have expired', 'refresh them (e.g. aws sso login) and run again', opts);
  }
  if (name === 'UnrecognizedClientException' || name === 'InvalidSignatureException') {
    return new AwsError(
      `Security Hub rejected the credentials (${name})`,
      'check the access key and secret, or AWS_PROFILE',
      opts,
    );
  }
  if (name === 'InvalidAccessException') {
    return new AwsError(
      `Security Hub is not enabled for this account in ${region}: ${message}`,
      `enable it (aws securityhub enable-security-hub --region ${region}) or send to the region where it is enabled`,
      opts,
    );
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || status === 403) {
    return new AwsError(
      `access denied to Security Hub BatchImportFindings in ${region}: ${message}`,
      PERMISSIONS_HINT,
      opts,
    );
  }
  if (name === 'InvalidInputException') {
    return new AwsError(
      `Security Hub rejected the findings as invalid: ${message}`,
      'offbox wrote ASFF that Security Hub does not accept: report it as an offbox bug, with the message above',
      opts,
    );
  }
  if (/region is missing/i.test(message)) {
    return new AwsError('no AWS region configured for Security Hub', 'set the sink region, or AWS_REGION', opts);
  }
  if (isNetworkFailure({ name, code })) {
    return new AwsError(
      `cannot reach Security Hub in ${region}${after}: ${code || name} ${message}`.trim(),
      'check the network connection and the region; watch keeps the findings and offers them again',
      opts,
    );
  }
  if (isRetryable(err)) {
    return new AwsError(
      `Security Hub kept failing or throttling in ${region}${after}: ${name || code || `HTTP ${status}`}: ${message}`,
      'wait a few minutes: watch keeps the findings and offers them again; ask for a higher BatchImportFindings quota if it persists',
      opts,
    );
  }
  return new AwsError(
    `Security Hub BatchImportFindings failed in ${region}: ${name || code || 'error'}${status !== undefined ? ` (HTTP ${status})` : ''}: ${message}`,
    'check the credentials, the region and the product ARN; compare with `aws securityhub describe-hub` using the same profile',
    opts,
  );
}

function failedImportError(
  failures: SecurityHubImportError['failures'],
  batchSize: number,
  region: string,
  attempts: number,
): SecurityHubImportError {
  const listed = failures
    .slice(0, MAX_LISTED_FAILURES)
    .map((f) => `${f.id} (${f.errorCode}${f.errorMessage ? `: ${limitText(f.errorMessage, 200)}` : ''})`);
  const more = failures.length > MAX_LISTED_FAILURES ? `; and ${failures.length - MAX_LISTED_FAILURES} more` : '';
  const codes = failures.map((f) => f.errorCode).join(' ');
  let hint =
    'watch keeps the findings and offers them again; if the same ones keep failing, look them up with `offbox findings`';
  if (/AccessDenied|NotAuthorized|Unauthorized|Forbidden/i.test(codes)) hint = PERMISSIONS_HINT;
  else if (/Invalid/i.test(codes)) {
    hint =
      'Security Hub does not accept the ASFF offbox wrote for them: report it as an offbox bug, with the message above';
  }
  return new SecurityHubImportError(
    `Security Hub did not import ${failures.length} of ${batchSize} findings in ${region} after ${attempts} attempts: ${listed.join('; ')}${more}`,
    hint,
    failures,
  );
}

/** The AWS SDK's client, loaded on first use so that commands which never send findings start fast. */
async function loadSdkClient(region: string): Promise<SecurityHubLike & { destroy(): void }> {
  const { SecurityHubClient, BatchImportFindingsCommand } = await import('@aws-sdk/client-securityhub');
  // The sink retries (failed findings too), so the SDK's own retries would multiply the attempts.
  const client = new SecurityHubClient({ region, maxAttempts: 1 });
  return {
    batchImportFindings: (findings) => client.send(new BatchImportFindingsCommand({ Findings: findings })),
    destroy: () => client.destroy(),
  };
}

/**
 * A sink that imports findings into Security Hub in `region` as ASFF: up to 100 findings (and 6 MB)
 * per call; throttling, server and network errors and the findings a call reports as failed are
 * retried with exponential backoff and jitter, up to `maxAttempts` calls per batch. Then it throws an
 * AwsError ({@link SecurityHubImportError} when findings were refused) naming them. Throws a
 * UsageError at once for a bad region or `maxAttempts`.
 */
export function createSecurityHubSink(opts: SecurityHubSinkOptions): FindingSink {
  const { region } = opts;
  if (!isAwsRegionName(region)) {
    throw new UsageError(
      `${region || 'an empty string'} is not an AWS region`,
      'name the Security Hub region, e.g. us-east-1',
    );
  }
  const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new UsageError(
      `Security Hub sink: maxAttempts ${maxAttempts} is not a positive whole number`,
      'use 1 or more (default 5)',
    );
  }
  const sleep = opts.sleep ?? defaultSleep;
  let sdkClient: Promise<SecurityHubLike & { destroy(): void }> | undefined;
  const clientFor = (): Promise<SecurityHubLike> => {
    if (opts.client) return Promise.resolve(opts.client);
    sdkClient ??= loadSdkClient(region);
    return sdkClient;
  };

  async function importBatch(client: SecurityHubLike, batch: AsffFinding[]): Promise<void> {
    let pending = batch;
    let failures: SecurityHubImportError['failures'] = [];
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) await sleep(backoffDelay(attempt - 1));
      let response: Awaited<ReturnType<SecurityHubLike['batchImportFindings']>>;
      try {
        response = await client.batchImportFindings(pending);
      } catch (err) {
        if (!isRetryable(err)) throw securityHubError(err, region, attempt);
        lastError = err;
        continue;
      }
      lastError = undefined;
      const failed = response.FailedFindings ?? [];
      if ((response.FailedCount ?? 0) === 0 && failed.length === 0) return;
      failures = failed.map((f) => ({
        id: f.Id ?? '(no id)',
        errorCode: f.ErrorCode ?? 'UnknownError',
        errorMessage: f.ErrorMessage ?? '',
      }));
      const failedIds = new Set(failed.map((f) => f.Id));
      const retry = pending.filter((finding) => failedIds.has(finding.Id));
      // When Security Hub does not say which failed, send them all again: a re-import only updates.
      pending = retry.length === Math.max(response.FailedCount ?? 0, failed.length) ? retry : pending;
    }
    if (lastError !== undefined) throw securityHubError(lastError, region, maxAttempts);
    throw failedImportError(failures, batch.length, region, maxAttempts);
  }

  return {
    name: `security-hub ${region}`,
    async deliver(findings: readonly Finding[]): Promise<void> {
      if (findings.length === 0) return;
      const now = new Date();
      const asff = findings.flatMap((finding) => {
        try {
          return [
            toAsff(finding, {
              region,
              now,
              ...(opts.awsAccountId !== undefined ? { awsAccountId: opts.awsAccountId } : {}),
              ...(opts.productArn !== undefined ? { productArn: opts.productArn } : {}),
            }),
          ];
        } catch (error) {
          if (!(error instanceof OffboxError) || opts.onSkipped === undefined) throw error;
          opts.onSkipped(finding, error.message);
          return [];
        }
      });
      if (asff.length === 0) return;
      const client = await clientFor();
      for (const batch of chunkForImport(asff)) await importBatch(client, batch);
    },
    async close(): Promise<void> {
      const loaded = sdkClient;
      sdkClient = undefined;
      if (loaded) (await loaded).destroy();
    },
  };
}
