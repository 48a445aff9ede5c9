/**
 * API calls as CloudTrail records them: the common envelope (source, host, route, version,
 * endpoint) and the request/response/resources of the calls the simulated workloads make,
 * including the records AWS writes when it acts on the caller's behalf (kms for S3 and
 * Secrets Manager).
 */
import type { Cred } from '../credentials.js';
import { identityInvokedBy } from '../credentials.js';
import type { Rng } from '../prng.js';
import { j, q, type EventSpec } from '../record.js';
import type { Sink } from './types.js';

/** How a call reached AWS: the source address and, through a VPC endpoint, its id. */
export interface Route {
  ip: string;
  vpce?: string;
  /** Owner of the endpoint; written only on eventVersion 1.09+ records. */
  vpceAccount?: string;
  /** Over IPv6 to a dual-stack endpoint. */
  dualStack?: boolean;
}

export interface Caller {
  identity: string;
  /** The session's credential, when AWS may act on its behalf (kms for S3/Secrets Manager). */
  cred?: Cred;
  /** recipientAccountId: the account whose resources are called. */
  accountId: string;
  region: string;
  userAgent: string;
  route(service: string): Route;
  /** eventVersion for calls not through an endpoint (default 1.08). */
  version?: string;
}

export interface ApiCall {
  /** The endpoint called (routes through that service's VPC endpoint). */
  service: string;
  /** eventSource when it is not SERVICE.amazonaws.com (Session Manager channels are logged as ssm). */
  source?: string;
  name: string;
  request?: string;
  response?: string;
  resources?: string;
  additional?: string;
  data?: boolean;
  readOnly?: boolean;
  /** clientProvidedHostHeader (default SERVICE.REGION.amazonaws.com; '' = no tlsDetails). */
  host?: string;
  /** Overrides the caller's region (global services: iam, ListBuckets). */
  region?: string;
  userAgent?: string;
  errorCode?: string;
  errorMessage?: string;
}

const READ_ONLY = /^(Get|List|Describe|Head|Query|Scan|BatchGet|Receive|Lookup|Search|Generate|Decrypt)/;

/** Emits one call through the caller's route and returns the record (for stories that need it). */
export function api(sink: Sink, c: Caller, t: number, rng: Rng, call: ApiCall): EventSpec {
  const route = c.route(call.service);
  const region = call.region ?? c.region;
  const spec: EventSpec = {
    time: t,
    account: c.accountId,
    region,
    identity: c.identity,
    source: call.source ?? `${call.service}.amazonaws.com`,
    name: call.name,
    ip: route.ip,
    userAgent: call.userAgent ?? c.userAgent,
    readOnly: call.readOnly ?? (READ_ONLY.test(call.name) && call.name !== 'GenerateDataKey'),
  };
  // Calls AWS services make among themselves carry no tlsDetails (host '').
  if (call.host !== '') spec.tlsHost = call.host ?? `${call.service}.${region}.amazonaws.com`;
  if (route.vpce !== undefined) {
    spec.vpcEndpointId = route.vpce;
    if (rng.chance(0.5)) {
      spec.version = '1.09';
      if (route.vpceAccount !== undefined) spec.vpcEndpointAccountId = route.vpceAccount;
    }
  } else if (c.version !== undefined) spec.version = c.version;
  if (call.request !== undefined) spec.request = call.request;
  if (call.response !== undefined) spec.response = call.response;
  if (call.resources !== undefined) spec.resources = call.resources;
  if (call.additional !== undefined) spec.additional = call.additional;
  if (call.data) spec.data = true;
  if (call.errorCode !== undefined) {
    spec.errorCode = call.errorCode;
    spec.errorMessage = call.errorMessage ?? '';
  }
  sink.ct(spec);
  return spec;
}

/**
 * An AWS service calling KMS for the session: invokedBy set, the service as source and agent (S3 for SSE-KMS,
 * Secrets Manager), or `AWS Internal` for all three (Parameter Store SecureString values).
 */
function onBehalf(
  sink: Sink,
  c: Caller,
  t: number,
  service: string,
  name: string,
  keyArn: string,
  context: object,
): void {
  if (!c.cred) return;
  const region = keyArn.split(':')[3] ?? c.region;
  sink.ct({
    time: t,
    account: c.accountId,
    region,
    identity: identityInvokedBy(c.cred, service),
    source: 'kms.amazonaws.com',
    name,
    ip: service,
    userAgent: service,
    readOnly: true,
    request: `{"encryptionContext":${j(context)},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}`,
    resources: `[{"accountId":"${keyArn.split(':')[4]}","type":"AWS::KMS::Key","ARN":"${keyArn}"}]`,
  });
}

function s3Host(bucket: string, region: string, route: Route): string {
  return route.dualStack ? `${bucket}.s3.dualstack.${region}.amazonaws.com` : `${bucket}.s3.${region}.amazonaws.com`;
}

export function bucketOwnerResources(accountId: string, bucket: string, key?: string): string {
  const bucketRes = `{"accountId":"${accountId}","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::${bucket}"}`;
  return key === undefined
    ? `[${bucketRes}]`
    : `[{"type":"AWS::S3::Object","ARN":${q(`arn:aws:s3:::${bucket}/${key}`)}},${bucketRes}]`;
}

/** GetObject / PutObject / HeadObject; with a KMS key, S3 calls KMS on the caller's behalf. */
export function s3Object(
  sink: Sink,
  c: Caller,
  t: number,
  rng: Rng,
  name: 'GetObject' | 'PutObject' | 'HeadObject',
  bucket: string,
  key: string,
  opts: { kmsKeyArn?: string; errorCode?: string; errorMessage?: string; additional?: string; userAgent?: string } = {},
): EventSpec {
  const route = c.route('s3');
  const host = s3Host(bucket, c.region, route);
  const sse = name === 'PutObject' && opts.kmsKeyArn ? `,"x-amz-server-side-encryption":"aws:kms"` : '';
  const call: ApiCall = {
    service: 's3',
    name,
    data: true,
    host,
    request: `{"bucketName":${q(bucket)},"Host":${q(host)},"key":${q(key)}${sse}}`,
    resources: bucketOwnerResources(c.accountId, bucket, key),
  };
  if (opts.kmsKeyArn && name === 'PutObject') {
    call.response = `{"x-amz-server-side-encryption":"aws:kms","x-amz-server-side-encryption-aws-kms-key-id":"${opts.kmsKeyArn}"}`;
  }
  if (opts.errorCode !== undefined) {
    call.errorCode = opts.errorCode;
    call.errorMessage = opts.errorMessage ?? '';
  }
  if (opts.additional !== undefined) call.additional = opts.additional;
  if (opts.userAgent !== undefined) call.userAgent = opts.userAgent;
  const spec = api(sink, c, t, rng, call);
  if (opts.kmsKeyArn && opts.errorCode === undefined && name !== 'HeadObject') {
    onBehalf(
      sink,
      c,
      t + rng.int(800),
      's3.amazonaws.com',
      name === 'GetObject' ? 'Decrypt' : 'GenerateDataKey',
      opts.kmsKeyArn,
      {
        'aws:s3:arn': `arn:aws:s3:::${bucket}/${key}`,
      },
    );
  }
  return spec;
}

export function s3List(sink: Sink, c: Caller, t: number, rng: Rng, bucket: string, prefix: string): EventSpec {
  const route = c.route('s3');
  const host = s3Host(bucket, c.region, route);
  return api(sink, c, t, rng, {
    service: 's3',
    name: 'ListObjects',
    data: true,
    host,
    request: `{"list-type":"2","bucketName":${q(bucket)},"encoding-type":"url","prefix":${q(prefix)},"Host":${q(host)}}`,
    resources: bucketOwnerResources(c.accountId, bucket),
  });
}

export function s3ListBuckets(sink: Sink, c: Caller, t: number, rng: Rng, extra: Partial<ApiCall> = {}): EventSpec {
  return api(sink, c, t, rng, {
    service: 's3',
    name: 'ListBuckets',
    region: 'us-east-1',
    host: 's3.amazonaws.com',
    request: '{"Host":"s3.amazonaws.com"}',
    ...extra,
  });
}

export function dynamo(
  sink: Sink,
  c: Caller,
  t: number,
  rng: Rng,
  name: string,
  table: string,
  key: string,
  extra: Partial<ApiCall> = {},
): EventSpec {
  const arn = `arn:aws:dynamodb:${c.region}:${c.accountId}:table/${table}`;
  const request =
    name === 'Query'
      ? `{"tableName":${q(table)},"keyConditionExpression":"pk = :pk","limit":25}`
      : name === 'BatchWriteItem'
        ? `{"requestItems":[{"tableName":${q(table)}}]}`
        : `{"tableName":${q(table)},"key":{"pk":${q(key)}}}`;
  return api(sink, c, t, rng, {
    service: 'dynamodb',
    name,
    data: true,
    request,
    resources: `[{"accountId":"${c.accountId}","type":"AWS::DynamoDB::Table","ARN":"${arn}"}]`,
    ...extra,
  });
}

export function sqs(sink: Sink, c: Caller, t: number, rng: Rng, name: string, queue: string): EventSpec {
  const url = `https://sqs.${c.region}.amazonaws.com/${c.accountId}/${queue}`;
  const request =
    name === 'ReceiveMessage'
      ? `{"queueUrl":"${url}","maxNumberOfMessages":10,"waitTimeSeconds":20}`
      : name === 'DeleteMessage'
        ? `{"queueUrl":"${url}","receiptHandle":"${rng.base64(40)}"}`
        : `{"queueUrl":"${url}","messageBody":"HIDDEN_DUE_TO_SECURITY_REASONS"}`;
  return api(sink, c, t, rng, {
    service: 'sqs',
    name,
    data: true,
    request,
    resources: `[{"accountId":"${c.accountId}","type":"AWS::SQS::Queue","ARN":"arn:aws:sqs:${c.region}:${c.accountId}:${queue}"}]`,
  });
}

export function kms(
  sink: Sink,
  c: Caller,
  t: number,
  rng: Rng,
  name: 'Decrypt' | 'GenerateDataKey' | 'Encrypt',
  keyArn: string,
): EventSpec {
  return api(sink, c, t, rng, {
    service: 'kms',
    name,
    request:
      name === 'GenerateDataKey'
        ? `{"keyId":"${keyArn}","keySpec":"AES_256"}`
        : `{"encryptionAlgorithm":"SYMMETRIC_DEFAULT"${name === 'Encrypt' ? `,"keyId":"${keyArn}"` : ''}}`,
    resources: `[{"accountId":"${c.accountId}","type":"AWS::KMS::Key","ARN":"${keyArn}"}]`,
  });
}

/** GetSecretValue; Secrets Manager decrypts with KMS on the caller's behalf. */
export function secret(sink: Sink, c: Caller, t: number, rng: Rng, secretName: string, keyArn: string): EventSpec {
  const arn = `arn:aws:secretsmanager:${c.region}:${c.accountId}:secret:${secretName}-${rng.alnum(6)}`;
  const spec = api(sink, c, t, rng, {
    service: 'secretsmanager',
    name: 'GetSecretValue',
    request: `{"secretId":${q(secretName)}}`,
  });
  onBehalf(sink, c, t + rng.int(500), 'secretsmanager.amazonaws.com', 'Decrypt', keyArn, {
    SecretARN: arn,
    SecretVersionId: rng.uuid().toUpperCase(),
  });
  return spec;
}

/**
 * GetParameters of SecureString parameters with decryption; Parameter Store decrypts each value with KMS on the
 * caller's behalf. Shape of the decrypt: the invictus-aws-dataset trail (kms Decrypt, invokedBy, sourceIPAddress and
 * userAgent all `AWS Internal`, encryptionContext PARAMETER_ARN).
 */
export function secureParameters(
  sink: Sink,
  c: Caller,
  t: number,
  rng: Rng,
  names: string[],
  keyArn: string,
  extra: Partial<ApiCall> = {},
): EventSpec {
  const spec = api(sink, c, t, rng, {
    service: 'ssm',
    name: 'GetParameters',
    request: `{"names":${j(names)},"withDecryption":true}`,
    ...extra,
  });
  for (const name of names) {
    onBehalf(sink, c, t + rng.int(300), 'AWS Internal', 'Decrypt', keyArn, {
      PARAMETER_ARN: `arn:aws:ssm:${c.region}:${c.accountId}:parameter${name}`,
    });
  }
  return spec;
}

export function putMetricData(
  sink: Sink,
  c: Caller,
  t: number,
  rng: Rng,
  namespace: string,
  userAgent?: string,
): EventSpec {
  return api(sink, c, t, rng, {
    service: 'monitoring',
    name: 'PutMetricData',
    request: `{"namespace":${q(namespace)}}`,
    ...(userAgent ? { userAgent } : {}),
  });
}

export function getCallerIdentity(sink: Sink, c: Caller, t: number, rng: Rng, extra: Partial<ApiCall> = {}): EventSpec {
  return api(sink, c, t, rng, { service: 'sts', name: 'GetCallerIdentity', ...extra });
}

/** A call with no interesting parameters (Describe*, List*). */
export function simple(
  sink: Sink,
  c: Caller,
  t: number,
  rng: Rng,
  service: string,
  name: string,
  extra: Partial<ApiCall> = {},
): EventSpec {
  const global = service === 'iam' || service === 'organizations';
  return api(sink, c, t, rng, {
    service,
    name,
    ...(global ? { region: 'us-east-1', host: `${service}.amazonaws.com` } : {}),
    ...extra,
  });
}

/** The implicit-deny message AWS writes when no policy allows an action. */
export function implicitDeny(arn: string, action: string, resource?: string): string {
  return `User: ${arn} is not authorized to perform: ${action}${resource ? ` on resource: ${resource}` : ''} because no identity-based policy allows the ${action} action`;
}

/** The message of a call denied by an explicit Deny (e.g. AWSRevokeOlderSessions). */
export function explicitDeny(arn: string, action: string, resource: string): string {
  return `User: ${arn} is not authorized to perform: ${action} on resource: ${resource} with an explicit deny in an identity-based policy`;
}
