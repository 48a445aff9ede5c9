import type { CloudTrailEvent, UserIdentity } from '../cloudtrail/event.js';
import { nonSdkClientFamily } from '../detect/user-agents.js';

/** How many event ids a usage keeps as evidence; counts stay exact beyond it. */
export const MAX_EVENT_IDS = 1000;
const MAX_USER_AGENTS = 20;

/**
 * Every call made with one access key from one source (address + VPC endpoint),
 * summed up. Detectors judge usages, not single events: that keeps memory bounded by
 * the number of live credentials and sources, and lets them be judged after every
 * vending and ownership event is known, whatever order the files arrived in.
 */
export interface Usage {
  key: string;
  accountId: string;
  identity: UserIdentity;
  /** The user agent of the earliest call: the classifier looks for runtime markers in it. */
  firstUserAgent: string;
  sourceIp: string;
  vpcEndpointId: string;
  vpcEndpointAccountId: string;
  calls: number;
  errorCount: number;
  firstMs: number;
  lastMs: number;
  firstSeen: string;
  lastSeen: string;
  /** eventSource-qualified action name (s3:GetObject) → calls. */
  actions: Map<string, number>;
  userAgents: Set<string>;
  regions: Set<string>;
  ec2RoleDelivery: Set<string>;
  eventIds: string[];
  eventIdsTruncated: boolean;
  /** The AWS service that made these calls on the session's behalf ('' for the session's own calls). */
  invokedBy: string;
  /** The non-SDK client family of these calls ('python-requests', 'curl' …), '' for SDKs and agents. */
  clientFamily: string;
  /** When the session's credentials were issued (sessionContext creationDate), NaN when unknown. */
  sessionCreatedMs: number;
  /** Calls refused by IAM (AccessDenied and kin): what a revoked or fenced-off session sees. */
  deniedCalls: number;
  firstDeniedMs: number;
  lastDeniedMs: number;
}

/** True for the error codes IAM authorisation failures carry across services. */
export function isDenied(errorCode: string): boolean {
  return errorCode !== '' && /AccessDenied|UnauthorizedOperation|Unauthorized|Forbidden/i.test(errorCode);
}

/** s3.amazonaws.com + GetObject → s3:GetObject, the IAM action spelling responders know. */
export function actionName(eventSource: string, eventName: string): string {
  const dot = eventSource.indexOf('.');
  const service = dot > 0 ? eventSource.slice(0, dot) : eventSource;
  return `${service}:${eventName}`;
}

export function usageKey(event: CloudTrailEvent): string {
  const id = event.identity;
  return [
    event.accountId,
    id.arn.toLowerCase() || id.principalId,
    id.accessKeyId,
    event.sourceIp,
    event.vpcEndpointId,
    event.vpcEndpointAccountId,
    // Calls AWS makes on the session's behalf are kept apart from the session's own calls.
    event.identity.invokedBy,
    // So are calls from clients no SDK uses: a relayed pre-signed URL must not hide among SDK calls.
    nonSdkClientFamily(event.userAgent),
  ].join('\u0000');
}

/** Adds one event to its usage, creating the usage on first sight. */
export function addToUsages(usages: Map<string, Usage>, event: CloudTrailEvent): void {
  const key = usageKey(event);
  let usage = usages.get(key);
  if (!usage) {
    usage = {
      key,
      accountId: event.accountId,
      identity: event.identity,
      firstUserAgent: event.userAgent,
      sourceIp: event.sourceIp,
      vpcEndpointId: event.vpcEndpointId,
      vpcEndpointAccountId: event.vpcEndpointAccountId,
      calls: 0,
      errorCount: 0,
      firstMs: Number.POSITIVE_INFINITY,
      lastMs: Number.NEGATIVE_INFINITY,
      firstSeen: '',
      lastSeen: '',
      actions: new Map(),
      userAgents: new Set(),
      regions: new Set(),
      ec2RoleDelivery: new Set(),
      eventIds: [],
      eventIdsTruncated: false,
      invokedBy: event.identity.invokedBy,
      clientFamily: nonSdkClientFamily(event.userAgent),
      sessionCreatedMs: Date.parse(event.identity.sessionCreationDate),
      deniedCalls: 0,
      firstDeniedMs: Number.POSITIVE_INFINITY,
      lastDeniedMs: Number.NEGATIVE_INFINITY,
    };
    usages.set(key, usage);
  } else if (event.eventId !== '' && usage.eventIds.length < MAX_EVENT_IDS && usage.eventIds.includes(event.eventId)) {
    // CloudTrail may deliver an event twice; an exact repeat adds nothing.
    return;
  }
  usage.calls += 1;
  if (event.errorCode !== '') {
    usage.errorCount += 1;
    if (isDenied(event.errorCode)) {
      usage.deniedCalls += 1;
      if (event.timeMs < usage.firstDeniedMs) usage.firstDeniedMs = event.timeMs;
      if (event.timeMs > usage.lastDeniedMs) usage.lastDeniedMs = event.timeMs;
    }
  }
  if (event.timeMs < usage.firstMs) {
    usage.firstMs = event.timeMs;
    usage.firstSeen = event.eventTime;
    usage.firstUserAgent = event.userAgent;
  }
  if (event.timeMs > usage.lastMs) {
    usage.lastMs = event.timeMs;
    usage.lastSeen = event.eventTime;
  }
  const action = actionName(event.eventSource, event.eventName);
  usage.actions.set(action, (usage.actions.get(action) ?? 0) + 1);
  if (usage.userAgents.size < MAX_USER_AGENTS) usage.userAgents.add(event.userAgent);
  if (event.awsRegion !== '') usage.regions.add(event.awsRegion);
  if (event.identity.ec2RoleDelivery !== '') usage.ec2RoleDelivery.add(event.identity.ec2RoleDelivery);
  if (event.eventId !== '') {
    if (usage.eventIds.length < MAX_EVENT_IDS) usage.eventIds.push(event.eventId);
    else usage.eventIdsTruncated = true;
  }
}

/** Folds usage `from` into `into` (used when merging partial results of parallel scans). */
export function mergeUsage(into: Usage, from: Usage): void {
  into.calls += from.calls;
  into.errorCount += from.errorCount;
  into.deniedCalls += from.deniedCalls;
  into.firstDeniedMs = Math.min(into.firstDeniedMs, from.firstDeniedMs);
  into.lastDeniedMs = Math.max(into.lastDeniedMs, from.lastDeniedMs);
  if (Number.isNaN(into.sessionCreatedMs)) into.sessionCreatedMs = from.sessionCreatedMs;
  if (from.firstMs < into.firstMs) {
    into.firstMs = from.firstMs;
    into.firstSeen = from.firstSeen;
    into.firstUserAgent = from.firstUserAgent;
  }
  if (from.lastMs > into.lastMs) {
    into.lastMs = from.lastMs;
    into.lastSeen = from.lastSeen;
  }
  for (const [action, count] of from.actions) into.actions.set(action, (into.actions.get(action) ?? 0) + count);
  for (const ua of from.userAgents) if (into.userAgents.size < MAX_USER_AGENTS) into.userAgents.add(ua);
  for (const region of from.regions) into.regions.add(region);
  for (const value of from.ec2RoleDelivery) into.ec2RoleDelivery.add(value);
  for (const id of from.eventIds) {
    if (into.eventIds.length >= MAX_EVENT_IDS) {
      into.eventIdsTruncated = true;
      break;
    }
    into.eventIds.push(id);
  }
  into.eventIdsTruncated ||= from.eventIdsTruncated;
}
