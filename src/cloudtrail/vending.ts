import type { CloudTrailEvent } from './event.js';

/** Who handed out a set of temporary credentials. */
export type Issuer =
  | 'ec2'
  | 'ecs'
  | 'lambda'
  | 'eks-pod-identity'
  | 'web-identity'
  | 'saml'
  /** an ordinary sts:AssumeRole call by some principal (a human, a pipeline, another role) */
  | 'caller';

/** One credential-vending event, keyed by the access key id it issued. */
export interface VendingRecord {
  accessKeyId: string;
  issuer: Issuer;
  /** The service host (ec2.amazonaws.com) or the calling principal's ARN. */
  issuedBy: string;
  /** For issuer 'caller': the access key id the caller signed the AssumeRole with (role chaining). */
  callerAccessKeyId: string;
  callerSourceIp: string;
  roleArn: string;
  sessionName: string;
  issuedAtMs: number;
  eventTime: string;
  eventId: string;
  accountId: string;
  /** Region of the vending event: for EC2 and ECS, where the workload runs. */
  region: string;
}

const SERVICE_ISSUERS: Record<string, Issuer> = {
  'ec2.amazonaws.com': 'ec2',
  'ecs-tasks.amazonaws.com': 'ecs',
  'lambda.amazonaws.com': 'lambda',
  'pods.eks.amazonaws.com': 'eks-pod-identity',
};

function credentialsKey(event: CloudTrailEvent): string {
  const credentials = event.responseElements?.['credentials'];
  if (credentials === null || typeof credentials !== 'object') return '';
  const key = (credentials as Record<string, unknown>)['accessKeyId'];
  return typeof key === 'string' ? key : '';
}

function requestString(event: CloudTrailEvent, name: string): string {
  const value = event.requestParameters?.[name];
  return typeof value === 'string' ? value : '';
}

/**
 * Reads a credential-vending event (sts AssumeRole, AssumeRoleWithWebIdentity,
 * AssumeRoleWithSAML that returned credentials). Returns undefined for anything else.
 */
export function extractVending(event: CloudTrailEvent): VendingRecord | undefined {
  if (event.eventSource !== 'sts.amazonaws.com' || event.errorCode !== '') return undefined;
  const name = event.eventName;
  if (name !== 'AssumeRole' && name !== 'AssumeRoleWithWebIdentity' && name !== 'AssumeRoleWithSAML') {
    return undefined;
  }
  const accessKeyId = credentialsKey(event);
  if (accessKeyId === '') return undefined;

  let issuer: Issuer;
  let issuedBy: string;
  if (name === 'AssumeRoleWithWebIdentity') {
    issuer = 'web-identity';
    issuedBy = event.identity.userName || event.identity.principalId || 'web identity provider';
  } else if (name === 'AssumeRoleWithSAML') {
    issuer = 'saml';
    issuedBy = event.identity.principalId || 'SAML provider';
  } else {
    const serviceHost =
      event.identity.type === 'AWSService' || event.identity.type === ''
        ? (event.identity.invokedBy || event.sourceIp).toLowerCase()
        : '';
    const service = SERVICE_ISSUERS[serviceHost];
    if (service) {
      issuer = service;
      issuedBy = serviceHost;
    } else {
      issuer = 'caller';
      issuedBy = event.identity.arn || event.identity.principalId || event.identity.invokedBy || 'unknown caller';
    }
  }
  return {
    accessKeyId,
    issuer,
    issuedBy,
    callerAccessKeyId: issuer === 'caller' ? event.identity.accessKeyId : '',
    callerSourceIp: event.sourceIp,
    roleArn: requestString(event, 'roleArn'),
    sessionName: requestString(event, 'roleSessionName'),
    issuedAtMs: event.timeMs,
    eventTime: event.eventTime,
    eventId: event.eventId,
    accountId: event.accountId,
    region: event.awsRegion,
  };
}

function vendingOrder(a: VendingRecord, b: VendingRecord): number {
  const x = Number.isNaN(a.issuedAtMs) ? Number.POSITIVE_INFINITY : a.issuedAtMs;
  const y = Number.isNaN(b.issuedAtMs) ? Number.POSITIVE_INFINITY : b.issuedAtMs;
  if (x !== y) return x < y ? -1 : 1;
  const p = JSON.stringify(a);
  const q = JSON.stringify(b);
  return p < q ? -1 : p > q ? 1 : 0;
}

/**
 * Every vending event seen, by access key id. State is keyed by key, not by ARN:
 * one instance can hold several keys at once (IMDSv1 and IMDSv2 paths return different ones).
 */
export class VendingIndex {
  private readonly byKey = new Map<string, VendingRecord>();

  add(record: VendingRecord): void {
    const existing = this.byKey.get(record.accessKeyId);
    // Duplicate delivery of the same event is common; keep the earliest record, whatever order files come in.
    if (!existing || vendingOrder(record, existing) < 0) this.byKey.set(record.accessKeyId, record);
  }

  get(accessKeyId: string): VendingRecord | undefined {
    return accessKeyId === '' ? undefined : this.byKey.get(accessKeyId);
  }

  get size(): number {
    return this.byKey.size;
  }

  values(): IterableIterator<VendingRecord> {
    return this.byKey.values();
  }

  /** Forgets records issued before `ms` (their credentials have expired); returns their access key ids. */
  expireBefore(ms: number): string[] {
    const expired: string[] = [];
    for (const [key, record] of this.byKey) {
      if (record.issuedAtMs < ms) {
        this.byKey.delete(key);
        expired.push(key);
      }
    }
    return expired;
  }
}
