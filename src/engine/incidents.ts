import { createHash } from 'node:crypto';
import type { VendingIndex, VendingRecord } from '../cloudtrail/vending.js';
import { severityRank, SEVERITIES, type Finding, type Severity } from '../detect/finding.js';
import type { Revocation } from '../detect/revocation.js';

/** Timeline steps, in the order that breaks ties between entries at the same instant. */
export const INCIDENT_STEPS = [
  'credential-vended',
  'ssrf-attempt',
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
  /** One paragraph telling what happened, for a ticket. */
  story: string;
}

/** CloudTrail facts the findings only point at: when each key was vended, when roles were revoked. */
export interface IncidentEvidence {
  vending?: Pick<VendingIndex, 'get'>;
  revocations?: readonly Revocation[];
}

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
    sentences.push('No web-tier finding shows how the credential left its workload.');
  }
  if (used && !has('revocation') && !has('use-after-revocation')) {
    sentences.push(`No revocation of ${role || 'the role'} was seen: revoke its sessions, then close the path.`);
  }
  return sentences.join(' ');
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

    const timeline: IncidentTimelineEntry[] = [...members.flatMap(entriesOf), ...records.map(vendingEntry)];
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
      story: storyOf({ subject, isInstance, role, findings: members, timeline: entries, records }),
    });
  }
  return incidents.sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      compareTimes(a.timeline[0]?.time ?? '', b.timeline[0]?.time ?? '') ||
      compareStrings(a.id, b.id),
  );
}
