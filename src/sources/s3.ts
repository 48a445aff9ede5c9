import { GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { Readable } from 'node:stream';
import { AwsError, InputError, isNetworkFailure, OffboxError, sdkFailure } from '../errors.js';
import type { LogObject } from './log-object.js';
import { isDigestPath, isLogFileName, normaliseExtensions, type SkippedEntries } from './local.js';

/** A bucket and key prefix parsed from `s3://bucket/prefix`. */
export interface S3Location {
  bucket: string;
  /** Key prefix without the leading slash; empty for the whole bucket. */
  prefix: string;
}

export interface S3Options {
  /** S3-compatible endpoint (MinIO, LocalStack, s3rver …); implies path-style addressing. */
  endpointUrl?: string;
  /** Named profile for credentials (and region) from the AWS config files. */
  profile?: string;
  /** Region of the bucket; default from the environment or profile, else us-east-1 with an endpoint URL. */
  region?: string;
  /** Force path-style addressing; always on when endpointUrl is set. */
  forcePathStyle?: boolean;
  /** A ready client (tests, or callers sharing one); the options above then only shape error hints. */
  client?: S3Client;
  /** Endings to accept, as for local folders; default the local defaults. */
  extensions?: readonly string[];
  /** Keys per ListObjectsV2 page (S3's maximum, 1000, by default). */
  maxKeys?: number;
  /** Counts the keys the listing leaves out (digests, other names). */
  skipped?: SkippedEntries;
}

// Bucket names: 3–63 characters; dots allowed for legacy buckets. Keys are anything.
const BUCKET_RE = /^[a-z0-9][a-z0-9.\-_]{1,254}$/i;

/** Parses `s3://bucket` or `s3://bucket/prefix`. Throws an InputError for anything else. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(url);
  if (!m) throw new InputError(`not an S3 URL: ${url}`, 'write it as s3://bucket/prefix');
  const bucket = m[1] ?? '';
  if (!BUCKET_RE.test(bucket)) {
    throw new InputError(
      bucket === '' ? `S3 URL without a bucket: ${url}` : `not a valid S3 bucket name: ${bucket}`,
      'write it as s3://bucket/prefix, e.g. s3://my-trail-bucket/AWSLogs/111122223333/CloudTrail/',
    );
  }
  return { bucket, prefix: m[2] ?? '' };
}

/**
 * Builds an S3 client with the standard credential chain (the named profile when given),
 * checksums only when required (S3-compatible servers reject the newer defaults), region
 * redirects followed, and path-style addressing whenever an endpoint URL is given.
 */
export function createS3Client(opts: Omit<S3Options, 'client'> = {}): S3Client {
  const config: S3ClientConfig = {
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    followRegionRedirects: true,
  };
  if (opts.profile !== undefined) {
    config.profile = opts.profile;
    config.credentials = fromNodeProviderChain({ profile: opts.profile });
  }
  if (opts.region !== undefined) config.region = opts.region;
  else if (opts.endpointUrl !== undefined && !process.env['AWS_REGION'] && !process.env['AWS_DEFAULT_REGION']) {
    config.region = 'us-east-1';
  }
  if (opts.endpointUrl !== undefined) {
    config.endpoint = opts.endpointUrl;
    config.forcePathStyle = true;
  } else if (opts.forcePathStyle !== undefined) {
    config.forcePathStyle = opts.forcePathStyle;
  }
  return new S3Client(config);
}

/** What an S3 failure was about, for its message and hint. */
export interface S3ErrorContext {
  bucket: string;
  key?: string;
  prefix?: string;
  endpointUrl?: string;
  profile?: string;
}

/** Maps an AWS SDK failure on S3 to an AwsError whose hint says what to do next. */
export function s3Error(err: unknown, ctx: S3ErrorContext): OffboxError {
  if (err instanceof OffboxError) return err;
  const { name, code, message, status } = sdkFailure(err);
  const where = ctx.key !== undefined ? `s3://${ctx.bucket}/${ctx.key}` : `s3://${ctx.bucket}/${ctx.prefix ?? ''}`;
  const profileHint = ctx.profile !== undefined ? ` (profile ${ctx.profile})` : '';
  const opts = { cause: err };

  if (name === 'NoSuchBucket') {
    return new AwsError(
      `S3 bucket not found: ${ctx.bucket}`,
      ctx.endpointUrl !== undefined
        ? `check the bucket name, and that ${ctx.endpointUrl} is the right endpoint`
        : "check the bucket name in the s3:// URL (the trail's bucket, not its name)",
      opts,
    );
  }
  if (name === 'NoSuchKey') {
    return new AwsError(`S3 object not found: ${where}`, 'it was removed or moved after listing; run again', opts);
  }
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new AwsError(
      `no AWS credentials found${profileHint}: ${message}`,
      ctx.profile !== undefined
        ? `check that profile ${ctx.profile} exists in ~/.aws/config (aws configure --profile ${ctx.profile}), or log in to it (aws sso login --profile ${ctx.profile})`
        : 'run `aws configure`, set AWS_PROFILE, or pass --profile',
      opts,
    );
  }
  if (name === 'ExpiredToken' || name === 'ExpiredTokenException' || name === 'TokenRefreshRequired') {
    return new AwsError(
      `AWS credentials have expired${profileHint}`,
      'refresh them (e.g. aws sso login) and run again',
      opts,
    );
  }
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
    return new AwsError(
      `S3 rejected the credentials${profileHint} (${name})`,
      'check the access key and secret, or pass --profile with working credentials',
      opts,
    );
  }
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    return new AwsError(
      `access denied to ${where}${profileHint}`,
      'check the credentials or --profile, and that they allow s3:ListBucket and s3:GetObject on this bucket (and kms:Decrypt for SSE-KMS trails)',
      opts,
    );
  }
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301) {
    return new AwsError(`bucket ${ctx.bucket} is in another region`, "pass --region with the bucket's region", opts);
  }
  if (/region is missing/i.test(message)) {
    return new AwsError('no AWS region configured', 'pass --region, or set AWS_REGION', opts);
  }
  if (name === 'InvalidBucketName') {
    return new AwsError(`not a valid S3 bucket name: ${ctx.bucket}`, 'check the bucket name in the s3:// URL', opts);
  }
  if (isNetworkFailure({ name, code })) {
    return new AwsError(
      `cannot reach S3${ctx.endpointUrl !== undefined ? ` at ${ctx.endpointUrl}` : ''}: ${code || name} ${message}`.trim(),
      ctx.endpointUrl !== undefined
        ? 'check --endpoint-url and that the server is running'
        : 'check the network connection and --region (or --endpoint-url for S3-compatible storage)',
      opts,
    );
  }
  return new AwsError(
    `S3 request for ${where} failed: ${name || code || 'error'}${status !== undefined ? ` (HTTP ${status})` : ''}: ${message}`,
    'check the bucket, credentials and region; compare with `aws s3 ls` using the same profile',
    opts,
  );
}

/** The log object for one S3 key, read with GetObject when opened (watch builds them from listings and notifications). */
export function s3Object(
  client: S3Client,
  bucket: string,
  key: string,
  size: number | undefined,
  ctx: S3ErrorContext,
): LogObject {
  const name = `s3://${bucket}/${key}`;
  return {
    name,
    size,
    async open() {
      let body: unknown;
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        body = out.Body;
      } catch (err) {
        throw s3Error(err, { ...ctx, key });
      }
      if (body === undefined || body === null) return Readable.from([]);
      const stream = body as AsyncIterable<Uint8Array> & Partial<Readable>;
      // Re-raise mid-body failures (reset connections) as AwsErrors naming the object.
      async function* mapped(): AsyncGenerator<Uint8Array> {
        try {
          for await (const chunk of stream) yield chunk;
        } catch (err) {
          throw s3Error(err, { ...ctx, key });
        } finally {
          stream.destroy?.();
        }
      }
      return Readable.from(mapped(), { objectMode: false });
    },
  };
}

/**
 * Lists the log objects under an `s3://bucket/prefix` URL with ListObjectsV2, page by page,
 * skipping CloudTrail digest objects and keys without an accepted ending (an object whose key
 * is exactly the prefix is always listed). Each object is read with GetObject when opened.
 * Failures are AwsErrors with hints.
 */
export async function* listS3(url: string, opts: S3Options = {}): AsyncGenerator<LogObject> {
  const { bucket, prefix } = parseS3Url(url);
  const extensions = normaliseExtensions(opts.extensions);
  const client = opts.client ?? createS3Client(opts);
  const ctx: S3ErrorContext = { bucket, prefix };
  if (opts.endpointUrl !== undefined) ctx.endpointUrl = opts.endpointUrl;
  if (opts.profile !== undefined) ctx.profile = opts.profile;
  let token: string | undefined;
  do {
    let page;
    try {
      page = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix === '' ? undefined : prefix,
          ContinuationToken: token,
          MaxKeys: opts.maxKeys,
        }),
      );
    } catch (err) {
      throw s3Error(err, ctx);
    }
    for (const item of page.Contents ?? []) {
      const key = item.Key;
      if (key === undefined || key.endsWith('/')) continue;
      const explicit = key === prefix;
      if (!explicit && isDigestPath(key)) {
        if (opts.skipped) opts.skipped.digests += 1;
        continue;
      }
      if (!explicit && !isLogFileName(key, extensions)) {
        if (opts.skipped) opts.skipped.otherNames += 1;
        continue;
      }
      yield s3Object(client, bucket, key, item.Size, ctx);
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}
