import { createHash } from 'node:crypto';
import type { VendingIndex, VendingRecord } from '../cloudtrail/vending.js';
import { severityRank, SEVERITIES, type Finding, type Severity } from '../detect/finding.js';
import type { Revocation } from '../detect/revocation.js';
import { sharedAddressReason, type WebClientLookup, type WebClientSummary } from './web-clients.js';
import { canonicalAddress } from '../inventory/ownership.js';

/** Timeline steps, in the order that breaks ties between entries at the same instant. */
export const INCIDENT_STEPS = [
  'credential-vended',
  'ssrf-attempt',
  'same-client-address',
  'signed-request-relayed',
  'first-off-box-use',
  'revocation',
  'use-after-revocation',
  'other',
] as const;
/** One of {@link INCIDENT_STEPS}. */
export type IncidentStep = (typeof INCIDENT_STEPS)[number];

/** One moment of an incident. Texts quote log content: escape them for every sink. */
export interface IncidentTimelineEntry {
  /** ISO 8601 (UTC, milliseconds) when the time parses, else the time as logged ('' when unknown). */
  time: string;
  step: IncidentStep;
  /** Detector of the finding the entry comes from. */
  detector?: string;
  text: string;
  /** Finding the entry comes from; vending and revocation entries come from CloudTrail events instead. */
  findingId?: string;
}

/** What ties an incident's web side to its CloudTrail side, strongest first. */
export const INCIDENT_LINK_KINDS = ['backend-instance', 'access-key', 'same-client-address'] as const;
/** One of {@link INCIDENT_LINK_KINDS}. */
export type IncidentLinkKind = (typeof INCIDENT_LINK_KINDS)[number];

/**
 * Why web-tier evidence and CloudTrail findings are one story. `backend-instance` (web findings reached the
 * instance whose credential was used) and `access-key` (a relayed signed request carried the key CloudTrail
 * saw) are strong; `same-client-address` (a client of the web tier later used the credential from the same
 * address, no metadata target visible) is weak: it rests on an address alone.
 */
export interface IncidentLink {
  kind: IncidentLinkKind;
  strength: 'strong' | 'weak';
  /** The incident's findings on either side of the link; the address link's web side is log lines, not findings. */
  findingIds: string[];
  /** The address the link rests on (`same-client-address`; '' for the others). */
  clientIp: string;
  /** One line saying what ties the two sides and how firmly. Quotes log content: escape it for every sink. */
  reason: string;
}

/**
 * Findings about one workload credential linked into one story: the web requests that aimed at an
 * instance, the CloudTrail use of its credentials and the revocation of its role.
 */
export interface Incident {
  /** First 32 hex digits of SHA-256 over the incident's key (the instance id, else the access key id, else the lone finding's id). */
  id: string;
  title: string;
  accountId: string;
  /** The instance whose credentials the incident is about ('' when no instance is known). */
  instanceId: string;
  /** The instance's (or credential's) role ('' when unknown). */
  role: string;
  /** Access keys the incident's findings name, sorted. */
  accessKeyIds: string[];
  /** The most severe finding's severity. */
  severity: Severity;
  /** The incident's findings, in time order. */
  findingIds: string[];
  /** Sorted by time, then by step. */
  timeline: IncidentTimelineEntry[];
  /** What joins the web side to the CloudTrail side: strong links first, then the address-only ones. */
  links: IncidentLink[];
  /** One paragraph telling what happened, for a ticket. */
  story: string;
}

/** CloudTrail facts the findings only point at: when each key was vended, when roles were revoked. */
export interface IncidentEvidence {
  vending?: Pick<VendingIndex, 'get'>;
  revocations?: readonly Revocation[];
  /** Every web client seen (scan --web-logs): lets a client with no finding of its own link by address. */
  webClients?: WebClientLookup;
  /** How long after a client's last web request a credential use from its address still links (default 24 h). */
  clientLinkWindowMs?: number;
}

/** Default {@link IncidentEvidence.clientLinkWindowMs}. */
export const CLIENT_LINK_WINDOW_MS = 24 * 60 * 60 * 1000;

const SSRF = 'imds-ssrf-attempt';
const SIGNED_URL = 'signed-aws-url-in-request';
const NON_SDK = 'instance-credential-non-sdk-client';
const REVOKED = 'revoked-session-use';
const OFF_BOX = new Set([
  'instance-credential-outside-aws',
  'instance-credential-foreign-aws',
  'instance-credential-cross-instance',
  'instance-credential-foreign-vpce',
  'workload-credential-outside-aws',
]);
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/i;
const MAX_URL_CHARS = 200;
const MAX_LISTED = 3;

const ISSUERS: Record<VendingRecord['issuer'], string> = {
  ec2: 'EC2',
  ecs: 'ECS',
  lambda: 'Lambda',
  'eks-pod-identity': 'EKS Pod Identity',
  'web-identity': 'AssumeRoleWithWebIdentity',
  saml: 'AssumeRoleWithSAML',
  caller: 'AssumeRole',
};

function isWebFinding(f: Finding): boolean {
  return (
    f.detector === SSRF || f.detector === SIGNED_URL || (f.request !== undefined && f.evidence.locations !== undefined)
  );
}

function toMs(time: string): number {
  return time === '' ? Number.NaN : Date.parse(time);
}

function normaliseTime(time: string): string {
  const ms = toMs(time);
  return Number.isNaN(ms) ? time : new Date(ms).toISOString();
}

function compareTimes(a: string, b: string): number {
  const am = toMs(a);
  const bm = toMs(b);
  if (Number.isNaN(am) || Number.isNaN(bm)) {
    if (Number.isNaN(am) !== Number.isNaN(bm)) return Number.isNaN(am) ? 1 : -1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return am - bm;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function incidentId(key: string): string {
  return createHash('sha256').update(`offbox-incident\n${key}`).digest('hex').slice(0, 32);
}

function truncate(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length > max ? `${chars.slice(0, max).join('')}…` : s;
}

function listed(values: readonly string[], max = MAX_LISTED): string {
  if (values.length <= max) return values.join(', ');
  return `${values.slice(0, max).join(', ')} and ${values.length - max} more`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function roleNameOf(roleArn: string): string {
  const slash = roleArn.lastIndexOf('/');
  return slash >= 0 ? roleArn.slice(slash + 1) : roleArn;
}

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].filter((v) => v !== '').sort(compareStrings);
}

/** The instance an EC2-vended key was issued to, lower-cased ('' when the key is not an instance's). */
function vendedInstance(key: string, evidence: IncidentEvidence): string {
  const record = evidence.vending?.get(key);
  if (!record || record.issuer !== 'ec2' || !INSTANCE_ID.test(record.sessionName)) return '';
  return record.sessionName.toLowerCase();
}

function findingInstance(f: Finding, evidence: IncidentEvidence): string {
  const own = f.principal.instanceId.toLowerCase();
  if (own !== '') return own;
  for (const key of [...f.principal.accessKeyIds].sort(compareStrings)) {
    const instance = vendedInstance(key, evidence);
    if (instance !== '') return instance;
  }
  return '';
}

/**
 * Which incidents each finding belongs to, keyed `instance:ID`, `key:AKID` or `finding:ID`.
 * Findings are taken in id order so the grouping never depends on input order.
 */
function groupFindings(findings: readonly Finding[], evidence: IncidentEvidence): Map<string, Finding[]> {
  const groups = new Map<string, Finding[]>();
  const join = (key: string, f: Finding): void => {
    const list = groups.get(key);
    if (list) list.push(f);
    else groups.set(key, [f]);
  };
  const keyGroup = new Map<string, string>();
  const trail = findings.filter((f) => !isWebFinding(f));
  const web = findings.filter(isWebFinding);

  // Instance-anchored findings first, so a key seen both with and without an instance joins the instance.
  const anchored = trail.map((f) => ({ f, instance: findingInstance(f, evidence) }));
  for (const { f, instance } of anchored) {
    if (instance === '') continue;
    const group = `instance:${instance}`;
    join(group, f);
    for (const key of f.principal.accessKeyIds) if (!keyGroup.has(key)) keyGroup.set(key, group);
  }
  for (const { f, instance } of anchored) {
    if (instance !== '') continue;
    const keys = [...f.principal.accessKeyIds].sort(compareStrings);
    const known = keys.map((k) => keyGroup.get(k)).find((g) => g !== undefined);
    const group = known ?? (keys[0] !== undefined ? `key:${keys[0]}` : `finding:${f.id}`);
    join(group, f);
    for (const key of keys) if (!keyGroup.has(key)) keyGroup.set(key, group);
  }

  for (const f of web) {
    const targets = new Set<string>();
    const relay = f.principal.instanceId.toLowerCase();
    if (relay !== '') targets.add(`instance:${relay}`);
    if (f.detector !== SSRF) {
      const keys = [...f.principal.accessKeyIds].sort(compareStrings);
      for (const key of keys) {
        const known = keyGroup.get(key);
        const instance = vendedInstance(key, evidence);
        if (known !== undefined) targets.add(known);
        else if (instance !== '') targets.add(`instance:${instance}`);
      }
      if (targets.size === 0 && keys[0] !== undefined) {
        const group = `key:${keys[0]}`;
        targets.add(group);
        for (const key of keys) if (!keyGroup.has(key)) keyGroup.set(key, group);
      }
    }
    if (targets.size === 0) targets.add(`finding:${f.id}`);
    // A key relayed through one instance but vended to another belongs to both stories.
    for (const target of targets) join(target, f);
  }
  return groups;
}

function firstRequestText(f: Finding): string {
  const r = f.request;
  if (!r) return '';
  return `${r.method || 'a request'} ${truncate(r.url, MAX_URL_CHARS)} answered ${r.status}`;
}

function clientOf(f: Finding): string {
  return f.request?.clientIp || f.source.ip || 'an unknown client';
}

function sourceText(f: Finding): string {
  const endpoint = f.source.vpcEndpointId
    ? ` through ${f.source.vpcEndpointId}${f.source.vpcEndpointAccountId ? ` (endpoint account ${f.source.vpcEndpointAccountId})` : ''}`
    : '';
  const owner = f.source.owner ? `, ${f.source.owner}` : '';
  return `${f.source.ip || 'an unknown address'} (${f.source.class}${owner})${endpoint}`;
}

function keysText(f: Finding): string {
  return f.principal.accessKeyIds.length > 0 ? listed(f.principal.accessKeyIds) : 'the credential';
}

function entriesOf(f: Finding): IncidentTimelineEntry[] {
  const base = { detector: f.detector, findingId: f.id };
  const { activity } = f;
  const first = activity.firstSeen;
  const calls = plural(activity.calls, 'call');
  if (f.detector === SSRF) {
    const out: IncidentTimelineEntry[] = [
      {
        ...base,
        time: first,
        step: 'ssrf-attempt',
        text:
          `${clientOf(f)} sent ${plural(activity.calls, 'request')} aimed at the instance metadata service` +
          (f.request ? `; the first: ${firstRequestText(f)}` : ''),
      },
    ];
    if (activity.calls > 1 && compareTimes(activity.lastSeen, first) > 0) {
      out.push({
        ...base,
        time: activity.lastSeen,
        step: 'ssrf-attempt',
        text: `last of the ${activity.calls} metadata-service requests from ${clientOf(f)}`,
      });
    }
    return out;
  }
  if (f.detector === SIGNED_URL) {
    const via = f.principal.instanceId ? ` through ${f.principal.instanceId}` : ' through the web tier';
    return [
      {
        ...base,
        time: first,
        step: 'signed-request-relayed',
        text:
          `${clientOf(f)} relayed ${plural(activity.calls, 'request')} pre-signed with ${keysText(f)}${via}` +
          (f.request ? `; the first: ${firstRequestText(f)}` : ''),
      },
    ];
  }
  if (f.detector === NON_SDK) {
    return [
      {
        ...base,
        time: first,
        step: 'signed-request-relayed',
        text: `CloudTrail: ${keysText(f)} made ${calls} from ${sourceText(f)} with non-SDK clients (${listed(activity.userAgents)})`,
      },
    ];
  }
  if (OFF_BOX.has(f.detector)) {
    return [
      {
        ...base,
        time: first,
        step: 'first-off-box-use',
        text: `${keysText(f)} used from ${sourceText(f)}: ${calls}, ${plural(activity.actions.length, 'action')} (${listed(activity.actions)})`,
      },
    ];
  }
  if (f.detector === REVOKED) {
    return [
      {
        ...base,
        time: activity.lastSeen || first,
        step: 'use-after-revocation',
        text: `${keysText(f)} still used from ${sourceText(f)} after the revocation (${plural(activity.errorCount, 'error')} of ${calls}; last call at this time)`,
      },
    ];
  }
  return [{ ...base, time: first, step: 'other', text: f.title }];
}

function issuerOf(record: VendingRecord): string {
  return record.issuer === 'caller' ? `AssumeRole by ${record.issuedBy}` : (ISSUERS[record.issuer] ?? record.issuer);
}

function vendingEntry(record: VendingRecord): IncidentTimelineEntry {
  const issuer = issuerOf(record);
  const role = record.roleArn ? ` (role ${roleNameOf(record.roleArn)})` : '';
  return {
    time: record.eventTime || (Number.isNaN(record.issuedAtMs) ? '' : new Date(record.issuedAtMs).toISOString()),
    step: 'credential-vended',
    text: `${issuer} vended ${record.accessKeyId} to ${record.sessionName || 'a session'}${role} (event ${record.eventId || 'unknown'})`,
  };
}

function revocationEntry(r: Revocation): IncidentTimelineEntry {
  return {
    time: r.at || (Number.isNaN(r.atMs) ? '' : new Date(r.atMs).toISOString()),
    step: 'revocation',
    text: `AWSRevokeOlderSessions put on role ${r.roleName}${r.accountId ? ` in ${r.accountId}` : ''}: sessions issued before ${r.cutoff} are denied (event ${r.eventId || 'unknown'})`,
  };
}

function compareEntries(a: IncidentTimelineEntry, b: IncidentTimelineEntry): number {
  return (
    compareTimes(a.time, b.time) ||
    INCIDENT_STEPS.indexOf(a.step) - INCIDENT_STEPS.indexOf(b.step) ||
    compareStrings(a.text, b.text) ||
    compareStrings(a.findingId ?? '', b.findingId ?? '')
  );
}

function compareFindings(a: Finding, b: Finding): number {
  return (
    compareTimes(a.activity.firstSeen, b.activity.firstSeen) ||
    severityRank(b.severity) - severityRank(a.severity) ||
    compareStrings(a.detector, b.detector) ||
    compareStrings(a.id, b.id)
  );
}

/** Roles in order of how well they name the workload: the instance's own role first. */
function pickRole(findings: readonly Finding[], records: readonly VendingRecord[]): string {
  const byRank = (rank: (f: Finding) => boolean): string =>
    sortedUnique(findings.filter((f) => rank(f)).map((f) => f.principal.role))[0] ?? '';
  return (
    byRank((f) => !isWebFinding(f) && f.principal.credentialKind === 'ec2-instance') ||
    byRank((f) => f.detector === SSRF) ||
    sortedUnique(records.filter((r) => r.issuer === 'ec2').map((r) => roleNameOf(r.roleArn)))[0] ||
    byRank(() => true)
  );
}

function pickAccount(findings: readonly Finding[], records: readonly VendingRecord[]): string {
  return (
    sortedUnique(findings.filter((f) => !isWebFinding(f)).map((f) => f.accountId))[0] ??
    sortedUnique(findings.map((f) => f.accountId))[0] ??
    sortedUnique(records.map((r) => r.accountId))[0] ??
    ''
  );
}

function titleOf(subject: string, isInstance: boolean, steps: ReadonlySet<IncidentStep>, fallback: string): string {
  const ssrf = steps.has('ssrf-attempt');
  const used = steps.has('first-off-box-use') || steps.has('use-after-revocation');
  const relayed = steps.has('signed-request-relayed');
  if (ssrf && used) return `SSRF against ${subject}, then its credentials used off the instance`;
  if (ssrf && relayed) return `SSRF against ${subject}, then its credentials relayed through it as signed requests`;
  if (ssrf) return `SSRF attempt against ${subject}: no use of its credentials seen`;
  if (steps.has('first-off-box-use'))
    return isInstance
      ? `Credentials of ${subject} used off the instance`
      : `Credential ${subject} used away from its workload`;
  if (relayed)
    return isInstance
      ? `Signed AWS requests relayed through ${subject}`
      : `Requests signed with ${subject} relayed through the web tier`;
  if (steps.has('use-after-revocation')) return `Revoked session of ${subject} still in use`;
  return fallback;
}

function timesOf(entries: readonly IncidentTimelineEntry[]): { first: string; last: string } {
  const times = entries.map((e) => e.time).filter((t) => t !== '');
  return { first: times[0] ?? 'an unknown time', last: times[times.length - 1] ?? 'an unknown time' };
}

function storyOf(input: {
  subject: string;
  isInstance: boolean;
  role: string;
  findings: readonly Finding[];
  timeline: readonly IncidentTimelineEntry[];
  records: readonly VendingRecord[];
  links: readonly IncidentLink[];
}): string {
  const { subject, role, findings, timeline } = input;
  const of = (step: IncidentStep) => timeline.filter((e) => e.step === step);
  const findingsOf = (step: IncidentStep) => {
    const ids = new Set(of(step).map((e) => e.findingId));
    return findings.filter((f) => ids.has(f.id));
  };
  const severities = SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  const span = timesOf(timeline);
  const sentences: string[] = [
    `${plural(findings.length, 'finding')} (${severities}) ${findings.length === 1 ? 'concerns' : 'concern'} ${subject} ` +
      `${span.first === span.last ? `at ${span.first}` : `between ${span.first} and ${span.last}`}.`,
  ];
  const order = INCIDENT_STEPS.filter((step) => of(step).length > 0).sort((a, b) =>
    compareEntries(of(a)[0]!, of(b)[0]!),
  );
  for (const step of order) {
    const entries = of(step);
    const { first, last } = timesOf(entries);
    const related = findingsOf(step);
    const keys = sortedUnique(related.flatMap((f) => f.principal.accessKeyIds));
    const sources = sortedUnique(related.map((f) => clientOf(f)));
    switch (step) {
      case 'credential-vended':
        sentences.push(
          `${listed(
            input.records.map(
              (r) =>
                `${issuerOf(r)} vended ${r.accessKeyId}${r.sessionName ? ` to ${r.sessionName}` : ''} at ${normaliseTime(r.eventTime)}`,
            ),
          )}.`,
        );
        break;
      case 'ssrf-attempt': {
        const requests = related.reduce((n, f) => n + f.activity.calls, 0);
        sentences.push(
          `${listed(sources)} sent ${plural(requests, 'web request')} aimed at the instance metadata service between ${first} and ${last}.`,
        );
        break;
      }
      case 'same-client-address': {
        const clients = sortedUnique(input.links.filter((l) => l.strength === 'weak').map((l) => l.clientIp));
        sentences.push(
          `${listed(clients)} sent web requests from ${first} and later used the credential from the same address: ` +
            'linked by address only, with no metadata target on this workload visible in those requests.',
        );
        break;
      }
      case 'signed-request-relayed': {
        const senders = sortedUnique(related.filter(isWebFinding).map((f) => clientOf(f)));
        sentences.push(
          `Requests pre-signed with ${listed(keys) || 'a stolen key'} were relayed through ${input.isInstance ? 'the instance' : 'the web tier'}` +
            `${senders.length > 0 ? ` by ${listed(senders)}` : ''} from ${first}.`,
        );
        break;
      }
      case 'first-off-box-use':
        sentences.push(
          `${listed(keys) || 'The credential'} was first used away from the workload at ${first}, from ${listed(sources)}.`,
        );
        break;
      case 'revocation':
        sentences.push(`Sessions of ${role || 'the role'} were revoked at ${first}.`);
        break;
      case 'use-after-revocation':
        sentences.push(`Calls with the revoked session went on from ${listed(sources)} until ${last} and were denied.`);
        break;
      case 'other':
        sentences.push(`Also at ${first}: ${listed(sortedUnique(related.map((f) => f.title)))}.`);
        break;
    }
  }
  const has = (step: IncidentStep) => of(step).length > 0;
  const ssrf = has('ssrf-attempt');
  const used = has('first-off-box-use') || has('signed-request-relayed') || has('use-after-revocation') || has('other');
  if (ssrf && !used) {
    sentences.push(
      "No CloudTrail finding shows the instance's credentials in use elsewhere: the attempt may have failed, the stolen credentials may not have been used yet, or the trail read does not cover them.",
    );
  } else if (!ssrf && has('first-off-box-use')) {
    sentences.push(
      has('same-client-address')
        ? 'No web request with a visible metadata target shows how the credential left its workload; the web tier is tied in by client address only.'
        : 'No web-tier finding shows how the credential left its workload.',
    );
  }
  if (used && !has('revocation') && !has('use-after-revocation')) {
    sentences.push(`No revocation of ${role || 'the role'} was seen: revoke its sessions, then close the path.`);
  }
  return sentences.join(' ');
}

/** A CloudTrail finding about a workload or instance credential used somewhere: the theft side of a link. */
function isCredentialUse(f: Finding): boolean {
  if (isWebFinding(f)) return false;
  const d = f.detector;
  return (
    OFF_BOX.has(d) ||
    d === NON_SDK ||
    d === REVOKED ||
    d.startsWith('instance-credential-') ||
    d.startsWith('workload-credential-')
  );
}

function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

/** The strong links of an incident: web findings on its instance, signed requests carrying its keys. */
function strongLinks(
  instance: string,
  instanceId: string,
  members: readonly Finding[],
  records: readonly VendingRecord[],
): IncidentLink[] {
  const web = members.filter(isWebFinding);
  const trail = members.filter((f) => !isWebFinding(f));
  const links: IncidentLink[] = [];
  if (instance !== '' && trail.length > 0) {
    const reached = web.filter((f) => f.principal.instanceId.toLowerCase() === instance);
    if (reached.length > 0) {
      links.push({
        kind: 'backend-instance',
        strength: 'strong',
        findingIds: [...reached, ...trail].map((f) => f.id),
        clientIp: '',
        reason:
          `${plural(reached.length, 'web finding')} (${listed(sortedUnique(reached.map((f) => `${f.detector} from ${clientOf(f)}`)))}) ` +
          `reached ${instanceId} as the backend, and ${plural(trail.length, 'CloudTrail finding')} concern its credential: the same instance`,
      });
    }
  }
  const trailKeys = new Set(trail.flatMap((f) => f.principal.accessKeyIds));
  const vendedHere = new Set(
    records
      .filter((r) => instance !== '' && r.issuer === 'ec2' && r.sessionName.toLowerCase() === instance)
      .map((r) => r.accessKeyId),
  );
  const joins = (k: string): boolean => trailKeys.has(k) || vendedHere.has(k);
  const signed = web.filter((f) => f.detector === SIGNED_URL && f.principal.accessKeyIds.some(joins));
  if (signed.length > 0) {
    const keys = sortedUnique(signed.flatMap((f) => f.principal.accessKeyIds).filter(joins));
    const seen = keys.some((k) => trailKeys.has(k));
    links.push({
      kind: 'access-key',
      strength: 'strong',
      findingIds: [...signed, ...trail.filter((f) => f.principal.accessKeyIds.some(joins))].map((f) => f.id),
      clientIp: '',
      reason:
        `${plural(signed.length, 'relayed signed request finding')} carried ${listed(keys)}, ` +
        `${seen ? 'which CloudTrail findings name' : `which EC2 vended to ${instanceId}`}: the same key`,
    });
  }
  return links;
}

/** What the web side knows about one client: the scan's index, else the web findings from that address. */
interface ClientView {
  summary: WebClientSummary;
  /** True when only the web findings speak for the client (no index: `offbox serve`, or the cap dropped it). */
  fromFindings: boolean;
  /** The client's metadata-target findings, wherever they were linked. */
  ssrf: Finding[];
}

function clientViews(
  findings: readonly Finding[],
  index: IncidentEvidence['webClients'],
): (ip: string) => ClientView | undefined {
  const web = new Map<string, Finding[]>();
  for (const f of findings) {
    if (!isWebFinding(f)) continue;
    const ip = canonicalAddress(f.request?.clientIp || f.source.ip);
    if (ip === '') continue;
    const list = web.get(ip);
    if (list) list.push(f);
    else web.set(ip, [f]);
  }
  return (ip) => {
    const own = web.get(ip) ?? [];
    const ssrf = own.filter((f) => f.detector === SSRF);
    const summary = index?.get(ip);
    if (summary) return { summary, fromFindings: false, ssrf };
    if (own.length === 0) return undefined;
    let firstMs = Number.NaN;
    let lastMs = Number.NaN;
    for (const f of own) {
      const first = toMs(f.activity.firstSeen);
      const last = toMs(f.activity.lastSeen || f.activity.firstSeen);
      if (!(first >= firstMs)) firstMs = Number.isNaN(first) ? firstMs : first;
      if (!(last <= lastMs)) lastMs = Number.isNaN(last) ? lastMs : last;
    }
    return {
      summary: {
        ip,
        firstMs,
        lastMs,
        requests: own.reduce((n, f) => n + f.activity.calls, 0),
        errors: own.reduce((n, f) => n + (f.activity.errorCount ?? 0), 0),
        host: '',
        moreHosts: false,
        sharedOwner: '',
      },
      fromFindings: true,
      ssrf,
    };
  };
}

function clientReason(view: ClientView, use: Finding, credential: string, instanceId: string): string {
  const { summary } = view;
  const first = isoOf(summary.firstMs);
  const last = isoOf(summary.lastMs);
  const hosts = summary.host !== '' ? ` to ${summary.host}${summary.moreHosts ? ' and other hosts' : ''}` : '';
  const requests = view.fromFindings
    ? `at least ${plural(summary.requests, 'web request')} (only those in web findings are known here)`
    : plural(summary.requests, 'web request');
  const errors = summary.errors > 0 ? `; ${summary.errors} answered 4xx/5xx` : '';
  const ssrfCalls = view.ssrf.reduce((n, f) => n + f.activity.calls, 0);
  const aimed = sortedUnique(view.ssrf.map((f) => f.principal.instanceId));
  const payload =
    ssrfCalls === 0
      ? 'none with a visible metadata target'
      : `${ssrfCalls} with a visible metadata target, aimed at ${listed(aimed) || 'a backend the inventory does not name'}, not at ${instanceId || 'this workload'}`;
  return (
    `${summary.ip} sent ${requests}${hosts} (first ${first}${last !== first ? `, last ${last}` : ''}${errors}; ${payload}) ` +
    `and used ${credential} from the same address at ${normaliseTime(use.activity.firstSeen)} (${use.detector}): ` +
    'the same client by address only — weaker than a metadata target on the instance, since an address can be shared or reassigned'
  );
}

/**
 * The weak links of an incident: a web client whose address later used the incident's credential. Not made
 * for shared addresses (private, CGNAT, loopback and other special blocks, allowedSourceCidrs, an inventoried
 * NAT gateway, endpoint or load balancer), for a use before the client's first request or more than the window
 * after its last, nor for a client whose own web finding is already in the incident (the strong link tells it).
 */
function clientLinks(
  members: readonly Finding[],
  views: (ip: string) => ClientView | undefined,
  windowMs: number,
  credentialOf: (f: Finding) => string,
  instanceId: string,
): { links: IncidentLink[]; entries: IncidentTimelineEntry[] } {
  const linkedByFinding = new Set(
    members.filter(isWebFinding).map((f) => canonicalAddress(f.request?.clientIp || f.source.ip)),
  );
  const byIp = new Map<string, { view: ClientView; uses: Finding[] }>();
  for (const f of members.filter(isCredentialUse).sort(compareFindings)) {
    const ip = canonicalAddress(f.source.ip);
    if (ip === '' || linkedByFinding.has(ip) || sharedAddressReason(ip, f.source.class) !== '') continue;
    const view = byIp.get(ip)?.view ?? views(ip);
    if (!view || view.summary.sharedOwner !== '') continue;
    const use = toMs(f.activity.firstSeen);
    const { firstMs, lastMs } = view.summary;
    if (Number.isNaN(use) || Number.isNaN(firstMs) || use < firstMs || use > lastMs + windowMs) continue;
    const known = byIp.get(ip);
    if (known) known.uses.push(f);
    else byIp.set(ip, { view, uses: [f] });
  }
  const links: IncidentLink[] = [];
  const entries: IncidentTimelineEntry[] = [];
  for (const [ip, { view, uses }] of byIp) {
    const reason = clientReason(view, uses[0]!, credentialOf(uses[0]!), instanceId);
    links.push({
      kind: 'same-client-address',
      strength: 'weak',
      findingIds: uses.map((f) => f.id),
      clientIp: ip,
      reason,
    });
    entries.push({ time: isoOf(view.summary.firstMs), step: 'same-client-address', text: reason });
  }
  return { links, entries };
}

function compareLinks(a: IncidentLink, b: IncidentLink): number {
  return (
    (a.strength === b.strength ? 0 : a.strength === 'strong' ? -1 : 1) ||
    INCIDENT_LINK_KINDS.indexOf(a.kind) - INCIDENT_LINK_KINDS.indexOf(b.kind) ||
    compareStrings(a.reason, b.reason)
  );
}

/**
 * Links web-tier and CloudTrail findings into incidents: one per instance (its id; web findings
 * name the backend instance, CloudTrail findings the instance whose credential was used or to which
 * the key was vended), or per access key when no instance is known. Signed-URL findings join by
 * instance and by key. Each incident carries a timeline built from the findings (first/last seen,
 * the first request), the vending events of its keys and revocations of its roles at or after its
 * start. The result does not depend on the order of `findings`.
 */
export function buildIncidents(findings: readonly Finding[], evidence: IncidentEvidence = {}): Incident[] {
  const byId = new Map<string, Finding>();
  for (const f of [...findings].sort((a, b) => compareStrings(a.id, b.id))) if (!byId.has(f.id)) byId.set(f.id, f);
  const groups = groupFindings([...byId.values()], evidence);
  const views = clientViews([...byId.values()], evidence.webClients);
  const windowMs = evidence.clientLinkWindowMs ?? CLIENT_LINK_WINDOW_MS;
  const incidents: Incident[] = [];
  for (const [key, members] of groups) {
    members.sort(compareFindings);
    const isInstance = key.startsWith('instance:');
    const keys = sortedUnique(members.flatMap((f) => f.principal.accessKeyIds));
    const records = keys
      .map((k) => evidence.vending?.get(k))
      .filter((r): r is VendingRecord => r !== undefined)
      .sort((a, b) => compareTimes(a.eventTime, b.eventTime) || compareStrings(a.accessKeyId, b.accessKeyId));
    const instanceId = isInstance
      ? (sortedUnique([
          ...members.map((f) => f.principal.instanceId),
          ...records.filter((r) => r.issuer === 'ec2').map((r) => r.sessionName),
        ]).find((id) => `instance:${id.toLowerCase()}` === key) ?? key.slice('instance:'.length))
      : '';
    const role = pickRole(members, records);
    const accountId = pickAccount(members, records);

    const instance = isInstance ? key.slice('instance:'.length) : '';
    const weak = clientLinks(
      members,
      views,
      windowMs,
      (f) => (isInstance ? `${instanceId}'s credential ${keysText(f)}` : `credential ${keysText(f)}`),
      instanceId,
    );
    const links = [...strongLinks(instance, instanceId, members, records), ...weak.links].sort(compareLinks);
    const timeline: IncidentTimelineEntry[] = [
      ...members.flatMap(entriesOf),
      ...records.map(vendingEntry),
      ...weak.entries,
    ];
    timeline.sort(compareEntries);
    const start = timeline.map((e) => toMs(e.time)).find((ms) => !Number.isNaN(ms));
    const roles = new Set(members.map((f) => f.principal.role).filter((r) => r !== ''));
    if (role !== '') roles.add(role);
    for (const r of evidence.revocations ?? []) {
      if (!roles.has(r.roleName)) continue;
      if (r.accountId !== '' && accountId !== '' && r.accountId !== accountId) continue;
      // A revocation before the incident began cannot have cut off its sessions.
      if (start !== undefined && r.atMs < start) continue;
      timeline.push(revocationEntry(r));
    }
    const seen = new Set<string>();
    const entries = timeline
      .map((e) => ({ ...e, time: normaliseTime(e.time) }))
      .sort(compareEntries)
      .filter((e) => {
        const k = `${e.time}\n${e.step}\n${e.text}\n${e.findingId ?? ''}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });

    const top = members.reduce((a, b) => (severityRank(b.severity) > severityRank(a.severity) ? b : a));
    const lone = key.startsWith('finding:');
    const subject = isInstance
      ? `${instanceId}${role ? ` (${role})` : ''}`
      : lone
        ? isWebFinding(top)
          ? 'a backend the inventory does not name'
          : top.title
        : `${key.slice('key:'.length)}${role ? ` (${role})` : ''}`;
    const steps = new Set(entries.map((e) => e.step));
    incidents.push({
      id: incidentId(key),
      title: lone ? top.title : titleOf(subject, isInstance, steps, top.title),
      accountId,
      instanceId,
      role,
      accessKeyIds: keys,
      severity: top.severity,
      findingIds: members.map((f) => f.id),
      timeline: entries,
      links,
      story: storyOf({ subject, isInstance, role, findings: members, timeline: entries, records, links }),
    });
  }
  return incidents.sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      compareTimes(a.timeline[0]?.time ?? '', b.timeline[0]?.time ?? '') ||
      compareStrings(a.id, b.id),
  );
}
