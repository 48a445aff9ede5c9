/**
 * Hand-written CloudTrail records for tests, shaped like the real ones in
 * fixtures/cloudtrail (field names and nesting as AWS writes them).
 */

let counter = 0;
function nextId(): string {
  counter += 1;
  return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, '0')}`;
}

export interface InstanceCallOptions {
  accountId?: string;
  role?: string;
  roleId?: string;
  instanceId?: string;
  accessKeyId?: string;
  sourceIp?: string;
  eventName?: string;
  eventSource?: string;
  eventTime?: string;
  userAgent?: string;
  ec2RoleDelivery?: string;
  vpcEndpointId?: string;
  vpcEndpointAccountId?: string;
  errorCode?: string;
  invokedBy?: string;
  region?: string;
  eventId?: string;
}

/** A call signed with an EC2 instance-profile session (…/ROLE/i-…). */
export function instanceCall(options: InstanceCallOptions = {}): Record<string, unknown> {
  const accountId = options.accountId ?? '111122223333';
  const role = options.role ?? 'web-app-role';
  const roleId = options.roleId ?? 'AROAEXAMPLEROLEID0001';
  const instanceId = options.instanceId ?? 'i-0123456789abcdef0';
  const record: Record<string, unknown> = {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `${roleId}:${instanceId}`,
      arn: `arn:aws:sts::${accountId}:assumed-role/${role}/${instanceId}`,
      accountId,
      accessKeyId: options.accessKeyId ?? 'ASIAEXAMPLEKEY000001',
      ...(options.invokedBy ? { invokedBy: options.invokedBy } : {}),
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: roleId,
          arn: `arn:aws:iam::${accountId}:role/${role}`,
          accountId,
          userName: role,
        },
        attributes: { creationDate: '2024-05-01T10:00:00Z', mfaAuthenticated: 'false' },
        ...(options.ec2RoleDelivery === '' ? {} : { ec2RoleDelivery: options.ec2RoleDelivery ?? '2.0' }),
      },
    },
    eventTime: options.eventTime ?? '2024-05-01T10:05:00Z',
    eventSource: options.eventSource ?? 'sts.amazonaws.com',
    eventName: options.eventName ?? 'GetCallerIdentity',
    awsRegion: options.region ?? 'us-east-1',
    sourceIPAddress: options.sourceIp ?? '203.0.113.10',
    userAgent: options.userAgent ?? 'aws-cli/2.15.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1',
    requestParameters: null,
    responseElements: null,
    eventID: options.eventId ?? nextId(),
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: accountId,
  };
  if (options.errorCode) record['errorCode'] = options.errorCode;
  if (options.vpcEndpointId) record['vpcEndpointId'] = options.vpcEndpointId;
  if (options.vpcEndpointAccountId) record['vpcEndpointAccountId'] = options.vpcEndpointAccountId;
  return record;
}

export interface VendingOptions {
  accountId?: string;
  role?: string;
  sessionName?: string;
  accessKeyId?: string;
  /** ec2.amazonaws.com, ecs-tasks.amazonaws.com, … or an ARN for an ordinary AssumeRole. */
  issuer?: string;
  eventTime?: string;
  region?: string;
  eventId?: string;
  eventName?: string;
}

/** The sts:AssumeRole that hands a key to a workload (by a service) or to a caller. */
export function vendingEvent(options: VendingOptions = {}): Record<string, unknown> {
  const accountId = options.accountId ?? '111122223333';
  const role = options.role ?? 'web-app-role';
  const issuer = options.issuer ?? 'ec2.amazonaws.com';
  const byService = !issuer.startsWith('arn:');
  return {
    eventVersion: '1.08',
    userIdentity: byService
      ? { type: 'AWSService', invokedBy: issuer }
      : {
          type: 'AssumedRole',
          principalId: `AROACALLER:${issuer.split('/').pop()}`,
          arn: issuer,
          accountId,
          accessKeyId: 'ASIACALLERKEY0000001',
        },
    eventTime: options.eventTime ?? '2024-05-01T10:00:00Z',
    eventSource: 'sts.amazonaws.com',
    eventName: options.eventName ?? 'AssumeRole',
    awsRegion: options.region ?? 'us-east-1',
    sourceIPAddress: byService ? issuer : '198.51.100.7',
    userAgent: byService ? issuer : 'aws-cli/2.15.0',
    requestParameters: {
      roleArn: `arn:aws:iam::${accountId}:role/${role}`,
      roleSessionName: options.sessionName ?? 'i-0123456789abcdef0',
    },
    responseElements: {
      credentials: {
        accessKeyId: options.accessKeyId ?? 'ASIAEXAMPLEKEY000001',
        sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE',
        expiration: 'May 1, 2024, 4:00:00 PM',
      },
    },
    eventID: options.eventId ?? nextId(),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: accountId,
  };
}

/** A CloudTrail S3 delivery file body. */
export function deliveryFile(records: unknown[]): string {
  return JSON.stringify({ Records: records });
}
