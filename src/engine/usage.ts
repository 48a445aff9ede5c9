import type { CloudTrailEvent, UserIdentity } from '../cloudtrail/event.js';
import { nonSdkClientFamily } from '../detect/user-agents.js';

/** How many event ids a usage keeps as evidence; counts stay exact beyond it. */
export const MAX_EVENT_IDS = 1000;
export const MAX_USER_AGENTS = 20;

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
  /** Evidence being chosen while events arrive; finaliseUsage settles eventIds and userAgents from it. */
  kept: {
    /** The earliest events by id (up to TRIM_AT between trims). */
    events: Map<string, KeptEvent>;
    /** Events later than this cannot be among the earliest kept ones. */
    cutoffMs: number;
    userAgentMs: Map<string, number>;
    /** Event id of the first event, and id and user agent of the last (ties in time are broken by them). */
    firstId: string;
    lastId: string;
    lastUserAgent: string;
  };
}

/** Kept events are trimmed back to MAX_EVENT_IDS when they reach this many. */
const TRIM_AT = Math.ceil(MAX_EVENT_IDS * 1.25);

/** A kept event id, with what one copy of the event added to the usage's counts. */
interface KeptEvent {
  id: string;
  ms: number;
  action: string;
  error: boolean;
  denied: boolean;
  /** Deliveries of this event seen; only the first is counted while it is kept. */
  copies: number;
}

/** The error codes IAM authorisation failures carry across services. */
export const DENIED_ERROR = /AccessDenied|UnauthorizedOperation|Unauthorized|Forbidden/i;

/** True for the error codes IAM authorisation failures carry across services. */
export function isDenied(errorCode: string): boolean {
  return errorCode !== '' && DENIED_ERROR.test(errorCode);
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
      kept: {
        events: new Map(),
        cutoffMs: Number.POSITIVE_INFINITY,
        userAgentMs: new Map(),
        firstId: '',
        lastId: '',
        lastUserAgent: '',
      },
    };
    usages.set(key, usage);
  } else if (event.eventId !== '') {
    // CloudTrail may deliver an event twice; an exact repeat adds nothing.
    const repeat = usage.kept.events.get(event.eventId);
    if (repeat !== undefined) {
      repeat.copies += 1;
      return;
    }
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
  const t = timeKey(event.timeMs);
  const kept = usage.kept;
  if (
    usage.calls === 1 ||
    eventOrder(t, event.eventId, event.userAgent, usage.firstMs, kept.firstId, usage.firstUserAgent) < 0
  ) {
    if (!Number.isNaN(event.timeMs)) {
      usage.firstMs = event.timeMs;
      usage.firstSeen = event.eventTime;
    }
    kept.firstId = event.eventId;
    usage.firstUserAgent = event.userAgent;
    usage.identity = event.identity;
    usage.sessionCreatedMs = Date.parse(event.identity.sessionCreationDate);
  }
  if (
    !Number.isNaN(event.timeMs) &&
    eventOrder(t, event.eventId, event.userAgent, usage.lastMs, kept.lastId, kept.lastUserAgent) > 0
  ) {
    usage.lastMs = event.timeMs;
    usage.lastSeen = event.eventTime;
    kept.lastId = event.eventId;
    kept.lastUserAgent = event.userAgent;
  }
  const action = actionName(event.eventSource, event.eventName);
  usage.actions.set(action, (usage.actions.get(action) ?? 0) + 1);
  keepUserAgent(usage, event.userAgent, event.timeMs);
  if (event.awsRegion !== '') usage.regions.add(event.awsRegion);
  if (event.identity.ec2RoleDelivery !== '') usage.ec2RoleDelivery.add(event.identity.ec2RoleDelivery);
  if (event.eventId !== '') {
    keepEvent(usage, {
      id: event.eventId,
      ms: timeKey(event.timeMs),
      action,
      error: event.errorCode !== '',
      denied: isDenied(event.errorCode),
      copies: 1,
    });
  }
}

/*
 * What a usage keeps as evidence is chosen by event time, never by reading order: the earliest
 * MAX_EVENT_IDS event ids and MAX_USER_AGENTS user agents. Files read in any order, by any
 * number of workers, then give the same usage, and the same finding.
 */

function timeKey(ms: number): number {
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/**
 * The order of events within a usage: time (events without one last), then event id, then user
 * agent. The first and last events are chosen by it, never by reading order; the SQL back ends
 * order the same way.
 */
export function eventOrder(
  ms: number,
  id: string,
  ua: string,
  otherMs: number,
  otherId: string,
  otherUa: string,
): number {
  if (ms !== otherMs) return ms < otherMs ? -1 : 1;
  if (id !== otherId) return id < otherId ? -1 : 1;
  if (ua !== otherUa) return ua < otherUa ? -1 : 1;
  return 0;
}

function keepUserAgent(usage: Usage, userAgent: string, ms: number): void {
  const kept = usage.kept.userAgentMs;
  const t = timeKey(ms);
  const known = kept.get(userAgent);
  if (known !== undefined) {
    if (t < known) kept.set(userAgent, t);
    return;
  }
  if (kept.size < MAX_USER_AGENTS) {
    kept.set(userAgent, t);
    usage.userAgents.add(userAgent);
    return;
  }
  let latest = '';
  let latestMs = Number.NEGATIVE_INFINITY;
  for (const [ua, uaMs] of kept) {
    if (uaMs > latestMs || (uaMs === latestMs && ua > latest)) {
      latest = ua;
      latestMs = uaMs;
    }
  }
  if (t < latestMs || (t === latestMs && userAgent < latest)) {
    kept.delete(latest);
    usage.userAgents.delete(latest);
    kept.set(userAgent, t);
    usage.userAgents.add(userAgent);
  }
}

function keepEvent(usage: Usage, entry: KeptEvent): void {
  const kept = usage.kept;
  if (entry.ms > kept.cutoffMs) {
    usage.eventIdsTruncated = true;
    countRepeats(usage, entry);
    return;
  }
  kept.events.set(entry.id, entry);
  if (kept.events.size >= TRIM_AT) trimEvents(usage);
}

/** Counts the repeats of an event that is no longer kept (they were left uncounted while it was). */
function countRepeats(usage: Usage, gone: KeptEvent): void {
  const extra = gone.copies - 1;
  if (extra === 0) return;
  usage.calls += extra;
  usage.actions.set(gone.action, (usage.actions.get(gone.action) ?? 0) + extra);
  if (gone.error) usage.errorCount += extra;
  if (gone.denied) usage.deniedCalls += extra;
}

/**
 * Keeps the earliest MAX_EVENT_IDS events, ordered by time then id. Repeats of an event let go
 * are counted after all: exact repeats are only recognised among the kept events, and which
 * events are kept must not depend on the order of reading.
 */
function trimEvents(usage: Usage): void {
  const kept = usage.kept;
  const order = [...kept.events.values()].sort((a, b) => a.ms - b.ms || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (order.length <= MAX_EVENT_IDS) {
    kept.events = new Map(order.map((e) => [e.id, e]));
    return;
  }
  usage.eventIdsTruncated = true;
  for (const gone of order.slice(MAX_EVENT_IDS)) countRepeats(usage, gone);
  const keep = order.slice(0, MAX_EVENT_IDS);
  kept.events = new Map(keep.map((e) => [e.id, e]));
  kept.cutoffMs = Math.min(kept.cutoffMs, keep[keep.length - 1]!.ms);
}

/** A usage with its kept events as columns: cheap to hand from a worker thread to the main thread. */
export type PackedUsage = Omit<Usage, 'kept'> & {
  kept: Omit<Usage['kept'], 'events'> & {
    /** JSON array of the kept event ids, in time order. */
    ids: string;
    ms: Float64Array;
    /** Index into `actionNames`. */
    action: Int32Array;
    /** 1 error, 2 denied. */
    flags: Uint8Array;
    copies: Int32Array;
    actionNames: string[];
  };
};

/** The usage with its kept events trimmed and packed into columns (structured clone copies columns fast). */
export function packUsage(usage: Usage): PackedUsage {
  trimEvents(usage);
  const entries = [...usage.kept.events.values()];
  const actionNames: string[] = [];
  const actionIndex = new Map<string, number>();
  const n = entries.length;
  const packed = {
    ids: JSON.stringify(entries.map((e) => e.id)),
    ms: new Float64Array(n),
    action: new Int32Array(n),
    flags: new Uint8Array(n),
    copies: new Int32Array(n),
    actionNames,
  };
  entries.forEach((e, i) => {
    let index = actionIndex.get(e.action);
    if (index === undefined) {
      index = actionNames.length;
      actionNames.push(e.action);
      actionIndex.set(e.action, index);
    }
    packed.ms[i] = e.ms;
    packed.action[i] = index;
    packed.flags[i] = (e.error ? 1 : 0) | (e.denied ? 2 : 0);
    packed.copies[i] = e.copies;
  });
  const rest: Partial<Usage['kept']> = { ...usage.kept };
  delete rest.events;
  return { ...usage, kept: { ...(rest as Omit<Usage['kept'], 'events'>), ...packed } };
}

/** The inverse of packUsage. */
export function unpackUsage(packed: PackedUsage): Usage {
  const { ids, ms, action, flags, copies, actionNames, ...rest } = packed.kept;
  const events = new Map<string, KeptEvent>();
  (JSON.parse(ids) as string[]).forEach((id, i) => {
    events.set(id, {
      id,
      ms: ms[i]!,
      action: actionNames[action[i]!]!,
      error: (flags[i]! & 1) !== 0,
      denied: (flags[i]! & 2) !== 0,
      copies: copies[i]!,
    });
  });
  return { ...packed, kept: { ...rest, events } };
}

/**
 * Puts the evidence a usage kept in its final order (event ids by time, user agents by first
 * use, sets sorted). Run once after all events and merges, before detection.
 */
export function finaliseUsage(usage: Usage): void {
  trimEvents(usage);
  usage.eventIds = [...usage.kept.events.keys()];
  usage.userAgents = new Set(
    [...usage.kept.userAgentMs]
      .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([ua]) => ua),
  );
  usage.regions = new Set([...usage.regions].sort());
  usage.ec2RoleDelivery = new Set([...usage.ec2RoleDelivery].sort());
  usage.actions = new Map([...usage.actions].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

/** Folds usage `from` into `into` (partial results of workers reading different files). */
export function mergeUsage(into: Usage, from: Usage): void {
  if (from.calls === 0) return;
  if (
    into.calls === 0 ||
    eventOrder(
      from.firstMs,
      from.kept.firstId,
      from.firstUserAgent,
      into.firstMs,
      into.kept.firstId,
      into.firstUserAgent,
    ) < 0
  ) {
    into.firstMs = from.firstMs;
    into.firstSeen = from.firstSeen;
    into.firstUserAgent = from.firstUserAgent;
    into.kept.firstId = from.kept.firstId;
    into.identity = from.identity;
    into.sessionCreatedMs = from.sessionCreatedMs;
  }
  if (
    eventOrder(
      from.lastMs,
      from.kept.lastId,
      from.kept.lastUserAgent,
      into.lastMs,
      into.kept.lastId,
      into.kept.lastUserAgent,
    ) > 0
  ) {
    into.lastMs = from.lastMs;
    into.lastSeen = from.lastSeen;
    into.kept.lastId = from.kept.lastId;
    into.kept.lastUserAgent = from.kept.lastUserAgent;
  }
  into.calls += from.calls;
  into.errorCount += from.errorCount;
  into.deniedCalls += from.deniedCalls;
  into.firstDeniedMs = Math.min(into.firstDeniedMs, from.firstDeniedMs);
  into.lastDeniedMs = Math.max(into.lastDeniedMs, from.lastDeniedMs);
  for (const [action, count] of from.actions) into.actions.set(action, (into.actions.get(action) ?? 0) + count);
  for (const [ua, ms] of from.kept.userAgentMs) keepUserAgent(into, ua, ms);
  for (const region of from.regions) into.regions.add(region);
  for (const value of from.ec2RoleDelivery) into.ec2RoleDelivery.add(value);
  into.eventIdsTruncated ||= from.eventIdsTruncated;
  into.kept.cutoffMs = Math.min(into.kept.cutoffMs, from.kept.cutoffMs);
  for (const entry of from.kept.events.values()) {
    const mine = into.kept.events.get(entry.id);
    if (mine === undefined) {
      keepEvent(into, { ...entry });
      continue;
    }
    // Both sides counted one copy of the same event: the merged usage counts it once.
    mine.copies += entry.copies;
    into.calls -= 1;
    into.actions.set(entry.action, (into.actions.get(entry.action) ?? 0) - 1);
    if (entry.error) into.errorCount -= 1;
    if (entry.denied) into.deniedCalls -= 1;
  }
  trimEvents(into);
}
