/**
 * The typed CloudTrail event model. Everything downstream of the readers sees
 * only this shape; missing fields become empty strings or undefined, never throw.
 */

export interface SessionIssuer {
  type: string;
  principalId: string;
  arn: string;
  accountId: string;
  userName: string;
}

export interface UserIdentity {
  /** AssumedRole, IAMUser, AWSService, Root, FederatedUser, AWSAccount, WebIdentityUser, SAMLUser, IdentityCenterUser … */
  type: string;
  principalId: string;
  arn: string;
  accountId: string;
  accessKeyId: string;
  userName: string;
  invokedBy: string;
  sessionIssuer: SessionIssuer | undefined;
  /** ISO time the session's credentials were issued (sessionContext.attributes.creationDate). */
  sessionCreationDate: string;
  /** "1.0" when the key was fetched through IMDSv1, "2.0" through IMDSv2; empty when absent. */
  ec2RoleDelivery: string;
  sourceIdentity: string;
  /** sessionContext.webIdFederationData.federatedProvider, set for web-identity sessions. */
  webIdFederatedProvider: string;
  /** userIdentity.inScopeOf.issuerType, e.g. AWS::Lambda::Function. */
  inScopeOfIssuerType: string;
  /** userIdentity.inScopeOf.credentialsIssuedTo, e.g. a Lambda function ARN. */
  inScopeOfIssuedTo: string;
}

export interface CloudTrailEvent {
  eventId: string;
  /** The time as written in the record (eventTime, or @timestamp in Logstash-shaped exports). */
  eventTime: string;
  /** Milliseconds since the epoch; NaN when the record carries no parseable time. */
  timeMs: number;
  eventVersion: string;
  eventSource: string;
  eventName: string;
  eventType: string;
  awsRegion: string;
  sourceIp: string;
  userAgent: string;
  errorCode: string;
  errorMessage: string;
  /** recipientAccountId when present, else the identity's account. */
  accountId: string;
  vpcEndpointId: string;
  vpcEndpointAccountId: string;
  identity: UserIdentity;
  requestParameters: Record<string, unknown> | undefined;
  responseElements: Record<string, unknown> | undefined;
}

/** Why a parsed JSON value is not a CloudTrail event. */
export type NotAnEvent = { reason: string };

function str(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}

function obj(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Parses an ISO-8601 CloudTrail time (with or without fraction) to epoch milliseconds, or NaN. */
export function parseEventTime(value: string): number {
  if (value === '') return Number.NaN;
  return Date.parse(value);
}

function normaliseIdentity(raw: Record<string, unknown> | undefined): UserIdentity {
  const ui = raw ?? {};
  const sessionContext = obj(ui['sessionContext']);
  const issuerRaw = obj(sessionContext?.['sessionIssuer']);
  const attributes = obj(sessionContext?.['attributes']);
  const webId = obj(sessionContext?.['webIdFederationData']);
  const inScopeOf = obj(ui['inScopeOf']);
  return {
    type: str(ui['type']),
    principalId: str(ui['principalId']),
    arn: str(ui['arn']),
    accountId: str(ui['accountId']),
    accessKeyId: str(ui['accessKeyId']),
    userName: str(ui['userName']),
    invokedBy: str(ui['invokedBy']),
    sessionIssuer: issuerRaw
      ? {
          type: str(issuerRaw['type']),
          principalId: str(issuerRaw['principalId']),
          arn: str(issuerRaw['arn']),
          accountId: str(issuerRaw['accountId']),
          userName: str(issuerRaw['userName']),
        }
      : undefined,
    sessionCreationDate: str(attributes?.['creationDate']),
    ec2RoleDelivery: str(sessionContext?.['ec2RoleDelivery']),
    sourceIdentity: str(sessionContext?.['sourceIdentity']),
    webIdFederatedProvider: str(webId?.['federatedProvider']),
    inScopeOfIssuerType: str(inScopeOf?.['issuerType']),
    inScopeOfIssuedTo: str(inScopeOf?.['credentialsIssuedTo']),
  };
}

/**
 * Turns one parsed JSON value into a CloudTrailEvent, or says why it is not one.
 * Tolerates missing fields and `@timestamp` in place of `eventTime`.
 */
export function normaliseRecord(raw: unknown): CloudTrailEvent | NotAnEvent {
  const record = obj(raw);
  if (!record) return { reason: 'record is not a JSON object' };
  const eventName = str(record['eventName']);
  const eventSource = str(record['eventSource']);
  if (eventName === '' && eventSource === '') {
    return { reason: 'record has neither eventName nor eventSource: not a CloudTrail event' };
  }
  const eventTime = str(record['eventTime']) || str(record['@timestamp']);
  const identity = normaliseIdentity(obj(record['userIdentity']));
  return {
    eventId: str(record['eventID']),
    eventTime,
    timeMs: parseEventTime(eventTime),
    eventVersion: str(record['eventVersion']),
    eventSource,
    eventName,
    eventType: str(record['eventType']),
    awsRegion: str(record['awsRegion']),
    sourceIp: str(record['sourceIPAddress']),
    userAgent: str(record['userAgent']),
    errorCode: str(record['errorCode']),
    errorMessage: str(record['errorMessage']),
    accountId: str(record['recipientAccountId']) || identity.accountId,
    vpcEndpointId: str(record['vpcEndpointId']),
    vpcEndpointAccountId: str(record['vpcEndpointAccountId']),
    identity,
    requestParameters: obj(record['requestParameters']),
    responseElements: obj(record['responseElements']),
  };
}

export function isEvent(value: CloudTrailEvent | NotAnEvent): value is CloudTrailEvent {
  return !('reason' in value);
}
