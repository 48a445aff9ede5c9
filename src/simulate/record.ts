/**
 * One CloudTrail record as the generators describe it, and its serialisation in the field
 * order AWS writes. Serialisation is string building over pre-serialised fragments
 * (identities, parameters): it is the hot path of a 10M-event run.
 */
import { amzId2, s3RequestId } from './ids.js';
import type { Rng } from './prng.js';
import { isoSeconds } from './time.js';

export interface EventSpec {
  /** Epoch ms. */
  time: number;
  /** recipientAccountId: whose trail (and S3 prefix) the record lands in. */
  account: string;
  region: string;
  /** Default '1.08'. */
  version?: string;
  /** The userIdentity object, already serialised. */
  identity: string;
  /** eventSource, e.g. 's3.amazonaws.com'. */
  source: string;
  name: string;
  /** sourceIPAddress. */
  ip: string;
  userAgent: string;
  errorCode?: string;
  errorMessage?: string;
  /** Serialised requestParameters; omitted = null. */
  request?: string;
  /** Serialised responseElements; omitted = null. */
  response?: string;
  /** Serialised additionalEventData; omitted = absent. */
  additional?: string;
  /** Omitted = generated (S3 style for s3, else a UUID). */
  requestId?: string;
  /** Omitted = generated. */
  eventId?: string;
  readOnly: boolean;
  /** Serialised resources array. */
  resources?: string;
  /** Default 'AwsApiCall'. */
  eventType?: string;
  /** Data events (S3 objects, DynamoDB items, SQS messages, Lambda Invoke) are not management events. */
  data?: boolean;
  sharedEventId?: string;
  vpcEndpointId?: string;
  vpcEndpointAccountId?: string;
  /** Serialised serviceEventDetails (AwsServiceEvent records). */
  serviceEventDetails?: string;
  /** clientProvidedHostHeader; when set the record carries tlsDetails. */
  tlsHost?: string;
}

const quoted = new Map<string, string>();

/** JSON string literal, memoised for the small set of repeated values (user agents, names). */
export function q(value: string): string {
  let hit = quoted.get(value);
  if (hit === undefined) {
    hit = JSON.stringify(value);
    if (quoted.size < 20_000) quoted.set(value, hit);
  }
  return hit;
}

/** JSON for an object literal written by the generators (keys in insertion order). */
export function j(value: unknown): string {
  return JSON.stringify(value);
}

const TLS_SUFFIX = ',"cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":';
const TLS12_SUFFIX = ',"cipherSuite":"ECDHE-RSA-AES128-GCM-SHA256","clientProvidedHostHeader":';

/** Serialises one record; `rng` supplies the ids the spec left open. */
export function serialise(spec: EventSpec, rng: Rng): string {
  const isS3 = spec.source === 's3.amazonaws.com';
  const requestId = spec.requestId ?? (isS3 ? s3RequestId(rng) : rng.uuid());
  const eventId = spec.eventId ?? rng.uuid();
  let out = `{"eventVersion":"${spec.version ?? '1.08'}","userIdentity":${spec.identity},"eventTime":"${isoSeconds(spec.time)}","eventSource":"${spec.source}","eventName":"${spec.name}","awsRegion":"${spec.region}","sourceIPAddress":${q(spec.ip)},"userAgent":${q(spec.userAgent)}`;
  if (spec.errorCode !== undefined) {
    out += `,"errorCode":${q(spec.errorCode)},"errorMessage":${JSON.stringify(spec.errorMessage ?? '')}`;
  }
  out += `,"requestParameters":${spec.request ?? 'null'},"responseElements":${spec.response ?? 'null'}`;
  if (spec.additional !== undefined) out += `,"additionalEventData":${spec.additional}`;
  else if (isS3 && spec.data) {
    out += `,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"${amzId2(rng)}","bytesTransferredOut":${rng.intIn(200, 90_000)}}`;
  }
  out += `,"requestID":"${requestId}","eventID":"${eventId}","readOnly":${spec.readOnly}`;
  if (spec.resources !== undefined) out += `,"resources":${spec.resources}`;
  out += `,"eventType":"${spec.eventType ?? 'AwsApiCall'}","managementEvent":${!spec.data},"recipientAccountId":"${spec.account}"`;
  if (spec.sharedEventId !== undefined) out += `,"sharedEventID":"${spec.sharedEventId}"`;
  if (spec.vpcEndpointId !== undefined) out += `,"vpcEndpointId":"${spec.vpcEndpointId}"`;
  if (spec.vpcEndpointAccountId !== undefined) out += `,"vpcEndpointAccountId":"${spec.vpcEndpointAccountId}"`;
  if (spec.serviceEventDetails !== undefined) out += `,"serviceEventDetails":${spec.serviceEventDetails}`;
  out += `,"eventCategory":"${spec.data ? 'Data' : 'Management'}"`;
  if (spec.tlsHost !== undefined) {
    // Newer endpoints negotiate TLS 1.3; the split mirrors what real trails show.
    const tls13 = (spec.time & 3) !== 0;
    out += `,"tlsDetails":{"tlsVersion":"${tls13 ? 'TLSv1.3' : 'TLSv1.2'}"${tls13 ? TLS_SUFFIX : TLS12_SUFFIX}${q(spec.tlsHost)}}`;
  }
  return `${out}}`;
}
