/**
 * OCSF 1.8.0 Detection Finding (class 2004, category 2 Findings): one event per finding, for
 * SIEMs and data lakes that ingest OCSF (Security Lake, Splunk, Sentinel …).
 */
import { isIP } from 'node:net';
import type { Confidence, Finding, Severity } from '../detect/finding.js';
import { escapeRaw } from './json.js';
import { offboxVersion } from './version.js';

/** The OCSF schema release the events follow (`metadata.version`). */
export const OCSF_VERSION = '1.8.0';

const CATEGORY_UID = 2;
const CLASS_UID = 2004;
const ACTIVITY_CREATE = 1;

interface OcsfEnumPair {
  id: number;
  caption: string;
}

interface OcsfAccount {
  uid: string;
  type_id: number;
  type: string;
}

interface OcsfUser {
  name?: string;
  uid?: string;
  account?: OcsfAccount;
  programmatic_credentials?: { uid: string; type: string }[];
}

interface OcsfSession {
  uid?: string;
  issuer?: string;
  credential_uid?: string;
}

interface OcsfActor {
  user?: OcsfUser;
  session?: OcsfSession;
}

interface OcsfNetworkEndpoint {
  ip?: string;
  svc_name?: string;
  uid?: string;
  owner?: { account: OcsfAccount };
}

interface OcsfEntity {
  uid?: string;
  name?: string;
  src_url?: string;
}

interface OcsfAttack {
  technique?: OcsfEntity;
  sub_technique?: OcsfEntity;
  tactic?: OcsfEntity;
}

interface OcsfEvidence {
  name: string;
  actor?: OcsfActor;
  user?: OcsfUser;
  src_endpoint?: OcsfNetworkEndpoint;
  api?: { operation: string; service?: { name: string } };
  http_request?: { http_method?: string; url?: { url_string: string }; user_agent?: string };
  http_response?: { code: number };
}

interface OcsfResource {
  uid?: string;
  name?: string;
  type?: string;
  cloud_partition?: string;
  role_id: number;
  role: string;
}

/** One offbox finding as an OCSF 1.8.0 Detection Finding event. */
export interface OcsfDetectionFinding {
  category_uid: typeof CATEGORY_UID;
  category_name: 'Findings';
  class_uid: typeof CLASS_UID;
  class_name: 'Detection Finding';
  activity_id: typeof ACTIVITY_CREATE;
  activity_name: 'Create';
  type_uid: number;
  type_name: 'Detection Finding: Create';
  severity_id: number;
  severity: string;
  confidence_id: number;
  confidence: string;
  status_id: 1;
  status: 'New';
  is_alert: true;
  message: string;
  time: number;
  start_time?: number;
  end_time?: number;
  count: number;
  metadata: {
    version: typeof OCSF_VERSION;
    uid: string;
    profiles: string[];
    product: { name: string; vendor_name: string; version: string };
  };
  finding_info: {
    uid: string;
    title: string;
    desc?: string;
    types: string[];
    first_seen_time?: number;
    last_seen_time?: number;
    analytic: { uid?: string; name: string; type_id: number; type: string };
    attacks?: OcsfAttack[];
    related_events?: { uid: string; type: string }[];
  };
  cloud: { provider: 'AWS'; account?: OcsfAccount; region?: string; cloud_partition?: string };
  device?: { type_id: number; type: string; uid: string; instance_uid: string };
  evidences?: OcsfEvidence[];
  resources?: OcsfResource[];
  remediation?: { desc: string };
  unmapped: Record<string, unknown>;
}

/** Options for {@link toOcsf} and {@link renderOcsf}. */
export interface OcsfOptions {
  /** `metadata.product.version`; offbox's package version by default. */
  productVersion?: string;
  /** `time` of findings without a parseable `activity.lastSeen`; the current time by default. */
  now?: Date;
}

const SEVERITY_IDS: Record<Severity, OcsfEnumPair> = {
  critical: { id: 5, caption: 'Critical' },
  high: { id: 4, caption: 'High' },
  medium: { id: 3, caption: 'Medium' },
  low: { id: 2, caption: 'Low' },
  info: { id: 1, caption: 'Informational' },
};

const CONFIDENCE_IDS: Record<Confidence, OcsfEnumPair> = {
  high: { id: 3, caption: 'High' },
  medium: { id: 2, caption: 'Medium' },
  low: { id: 1, caption: 'Low' },
};

const AWS_ACCOUNT_TYPE = { type_id: 10, type: 'AWS Account' } as const;
const DEVICE_VIRTUAL = { type_id: 6, type: 'Virtual' } as const;
const RESOURCE_AFFECTED = { role_id: 3, role: 'Affected' } as const;
// http_request.http_method is an enum in 1.8.0: anything else stays in unmapped.
const HTTP_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);

// Names of the ATT&CK entries offbox's detectors cite; other ids still get a uid and a link.
const TECHNIQUE_NAMES: Record<string, string> = {
  T1036: 'Masquerading',
  T1078: 'Valid Accounts',
  'T1078.004': 'Cloud Accounts',
  T1190: 'Exploit Public-Facing Application',
  T1552: 'Unsecured Credentials',
  'T1552.005': 'Cloud Instance Metadata API',
};

// Keyed by lower-case name with spaces, so "Credential Access" and "credential-access" both match.
const TACTICS: Record<string, { uid: string; name: string }> = Object.fromEntries(
  (
    [
      ['TA0043', 'Reconnaissance'],
      ['TA0042', 'Resource Development'],
      ['TA0001', 'Initial Access'],
      ['TA0002', 'Execution'],
      ['TA0003', 'Persistence'],
      ['TA0004', 'Privilege Escalation'],
      ['TA0005', 'Defense Evasion'],
      ['TA0006', 'Credential Access'],
      ['TA0007', 'Discovery'],
      ['TA0008', 'Lateral Movement'],
      ['TA0009', 'Collection'],
      ['TA0010', 'Exfiltration'],
      ['TA0011', 'Command and Control'],
      ['TA0040', 'Impact'],
    ] as const
  ).map(([uid, name]) => [tacticKey(name), { uid, name }]),
);

function tacticKey(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[-_\s]+/g, ' ');
}

// The top-level Finding fields the mapping below knows; any other field a producer adds
// (exposure findings carry `exposure`) is kept in `unmapped` rather than dropped.
const MAPPED_FIELDS: Record<keyof Finding, true> = {
  id: true,
  detector: true,
  severity: true,
  confidence: true,
  title: true,
  accountId: true,
  principal: true,
  source: true,
  activity: true,
  evidence: true,
  request: true,
  attack: true,
  response: true,
};

function epochMs(iso: string): number | undefined {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

function awsAccount(uid: string): OcsfAccount {
  return { uid, ...AWS_ACCOUNT_TYPE };
}

/** `aws`, `aws-cn`, `aws-us-gov` … from an ARN; undefined when `arn` is not one. */
function arnPartition(arn: string): string | undefined {
  return /^arn:(aws[a-z-]*):/.exec(arn)?.[1];
}

function resourceTypeOfArn(arn: string): string | undefined {
  if (/^arn:[^:]+:iam::[^:]*:role\//.test(arn)) return 'AWS::IAM::Role';
  if (/^arn:[^:]+:iam::[^:]*:user\//.test(arn)) return 'AWS::IAM::User';
  return undefined;
}

function attackOf(attack: Finding['attack']): OcsfAttack | undefined {
  const result: OcsfAttack = {};
  const technique = attack.technique.trim();
  const parts = /^(T\d{4})(?:\.(\d{3}))?$/.exec(technique);
  if (parts?.[1] !== undefined) {
    const parent = parts[1];
    result.technique = withName(
      { uid: parent, src_url: `https://attack.mitre.org/techniques/${parent}/` },
      TECHNIQUE_NAMES[parent],
    );
    if (parts[2] !== undefined) {
      result.sub_technique = withName(
        { uid: technique, src_url: `https://attack.mitre.org/techniques/${parent}/${parts[2]}/` },
        TECHNIQUE_NAMES[technique],
      );
    }
  } else if (technique !== '') {
    result.technique = { uid: technique };
  }
  const tacticName = attack.tactic.trim();
  if (tacticName !== '') {
    const known = TACTICS[tacticKey(tacticName)];
    result.tactic =
      known === undefined
        ? { name: tacticName }
        : { uid: known.uid, name: known.name, src_url: `https://attack.mitre.org/tactics/${known.uid}/` };
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

function withName(entity: OcsfEntity, name: string | undefined): OcsfEntity {
  return name === undefined ? entity : { uid: entity.uid, name, src_url: entity.src_url };
}

function userOf(f: Finding): OcsfUser | undefined {
  const { role, roleArn, accessKeyIds } = f.principal;
  const user: OcsfUser = {};
  if (role !== '') user.name = role;
  if (roleArn !== '') user.uid = roleArn;
  if (f.accountId !== '') user.account = awsAccount(f.accountId);
  // user.credential_uid is deprecated since 1.6.0 in favour of programmatic_credentials.
  if (accessKeyIds.length > 0) {
    user.programmatic_credentials = accessKeyIds.map((uid) => ({ uid, type: 'AWS Access Key' }));
  }
  return Object.keys(user).length > 0 ? user : undefined;
}

function sessionOf(principal: Finding['principal']): OcsfSession | undefined {
  const session: OcsfSession = {};
  if (principal.sessionName !== '') session.uid = principal.sessionName;
  if (resourceTypeOfArn(principal.roleArn) === 'AWS::IAM::Role') session.issuer = principal.roleArn;
  if (principal.accessKeyIds.length === 1) session.credential_uid = principal.accessKeyIds[0];
  return session.uid !== undefined || session.credential_uid !== undefined ? session : undefined;
}

function sourceEndpointOf(source: Finding['source']): OcsfNetworkEndpoint | undefined {
  const endpoint: OcsfNetworkEndpoint = {};
  if (isIP(source.ip) !== 0) endpoint.ip = source.ip;
  // CloudTrail puts the service name ("ec2.amazonaws.com", "AWS Internal") where the address goes.
  else if (source.class === 'aws-service' && source.ip !== '') endpoint.svc_name = source.ip;
  // Security Lake's CloudTrail mapping puts vpcEndpointId in src_endpoint.uid as well.
  if (source.vpcEndpointId !== '') endpoint.uid = source.vpcEndpointId;
  if (endpoint.ip === undefined && endpoint.svc_name === undefined && endpoint.uid === undefined) return undefined;
  if (source.vpcEndpointAccountId !== '') endpoint.owner = { account: awsAccount(source.vpcEndpointAccountId) };
  return endpoint;
}

function apiOf(action: string): NonNullable<OcsfEvidence['api']> {
  const colon = action.indexOf(':');
  if (colon < 0) return { operation: action };
  return { operation: action.slice(colon + 1), service: { name: action.slice(0, colon) } };
}

/** Web-tier findings come from web server logs, not CloudTrail. */
function isWebTier(f: Finding): boolean {
  return f.request !== undefined || f.evidence.locations !== undefined;
}

/**
 * The caller (identity and address) once per user agent, since an evidence holds one
 * http_request; each action; and the first request of web-tier findings.
 */
function evidencesOf(f: Finding, unmapped: Unmapped): OcsfEvidence[] {
  const evidences: OcsfEvidence[] = [];
  const user = userOf(f);
  const session = sessionOf(f.principal);
  // In a web-tier finding the principal is the instance (and keys) the requests aimed at, not
  // the client that sent them: it is evidence `user` ("associated with the activity"), not actor.
  const webTier = isWebTier(f);
  const actor: OcsfActor | undefined =
    webTier || (user === undefined && session === undefined)
      ? undefined
      : { ...(user ? { user } : {}), ...(session ? { session } : {}) };
  if (webTier && f.principal.sessionName !== '') unmapped.section('principal').sessionName = f.principal.sessionName;
  const srcEndpoint = sourceEndpointOf(f.source);
  const caller = { ...(actor ? { actor } : {}), ...(srcEndpoint ? { src_endpoint: srcEndpoint } : {}) };
  if (actor !== undefined || srcEndpoint !== undefined) {
    if (f.activity.userAgents.length === 0) evidences.push({ name: 'caller', ...caller });
    for (const userAgent of f.activity.userAgents) {
      evidences.push({ name: 'caller', ...caller, http_request: { user_agent: userAgent } });
    }
  } else if (f.activity.userAgents.length > 0) {
    // An evidence needs an actor, endpoint, api … besides an http_request: nowhere to hang these.
    unmapped.section('activity').userAgents = f.activity.userAgents;
  }
  if (webTier && user !== undefined) evidences.push({ name: 'targeted identity', user });
  for (const action of f.activity.actions) evidences.push({ name: 'action', api: apiOf(action) });
  if (f.request !== undefined) {
    const webRequest = webRequestEvidence(f.request);
    if (webRequest === undefined) unmapped.record.request = f.request;
    else {
      evidences.push(webRequest);
      if (webRequest.http_request?.http_method === undefined && f.request.method !== '') {
        unmapped.section('request').method = f.request.method;
      }
    }
  }
  return evidences;
}

function webRequestEvidence(request: NonNullable<Finding['request']>): OcsfEvidence | undefined {
  if (isIP(request.clientIp) === 0) return undefined;
  const method = request.method.toUpperCase();
  return {
    name: 'web request',
    src_endpoint: { ip: request.clientIp },
    http_request: {
      ...(HTTP_METHODS.has(method) ? { http_method: method } : {}),
      ...(request.url !== '' ? { url: { url_string: request.url } } : {}),
    },
    // 0 is how the web-log readers say "no status".
    ...(request.status > 0 ? { http_response: { code: request.status } } : {}),
  };
}

function resourcesOf(principal: Finding['principal']): OcsfResource[] {
  const resources: OcsfResource[] = [];
  if (principal.roleArn !== '' || principal.role !== '') {
    const partition = arnPartition(principal.roleArn);
    const type = resourceTypeOfArn(principal.roleArn);
    resources.push({
      ...(principal.roleArn !== '' ? { uid: principal.roleArn } : {}),
      ...(principal.role !== '' ? { name: principal.role } : {}),
      ...(type !== undefined ? { type } : {}),
      ...(partition !== undefined ? { cloud_partition: partition } : {}),
      ...RESOURCE_AFFECTED,
    });
  }
  if (principal.instanceId !== '') {
    resources.push({ uid: principal.instanceId, type: 'AWS::EC2::Instance', ...RESOURCE_AFFECTED });
  }
  return resources;
}

/** `unmapped`, keyed like the Finding so each value says where it came from. */
class Unmapped {
  readonly record: Record<string, unknown> = {};

  section(name: string): Record<string, unknown> {
    const existing = this.record[name];
    if (typeof existing === 'object' && existing !== null) return existing as Record<string, unknown>;
    const created: Record<string, unknown> = {};
    this.record[name] = created;
    return created;
  }
}

/** Maps one finding to an OCSF 1.8.0 Detection Finding; values from logs are copied as they are. */
export function toOcsf(finding: Finding, opts: OcsfOptions = {}): OcsfDetectionFinding {
  const f = finding;
  const severity = SEVERITY_IDS[f.severity];
  const confidence = CONFIDENCE_IDS[f.confidence];
  const firstSeen = epochMs(f.activity.firstSeen);
  const lastSeen = epochMs(f.activity.lastSeen);
  const unmapped = new Unmapped();

  unmapped.section('principal').credentialKind = f.principal.credentialKind;
  unmapped.section('principal').ec2RoleDelivery = f.principal.ec2RoleDelivery;
  unmapped.section('source').class = f.source.class;
  if (f.source.owner !== '') unmapped.section('source').owner = f.source.owner;
  const srcEndpoint = sourceEndpointOf(f.source);
  if (f.source.ip !== '' && srcEndpoint?.ip === undefined && srcEndpoint?.svc_name === undefined) {
    unmapped.section('source').ip = f.source.ip;
  }
  if (srcEndpoint === undefined && f.source.vpcEndpointAccountId !== '') {
    unmapped.section('source').vpcEndpointAccountId = f.source.vpcEndpointAccountId;
  }
  unmapped.section('activity').errorCount = f.activity.errorCount;
  if (f.activity.regions.length > 1) unmapped.section('activity').regions = f.activity.regions;
  if (firstSeen === undefined && f.activity.firstSeen !== '') {
    unmapped.section('activity').firstSeen = f.activity.firstSeen;
  }
  if (lastSeen === undefined && f.activity.lastSeen !== '') unmapped.section('activity').lastSeen = f.activity.lastSeen;
  unmapped.section('evidence').eventIdsTruncated = f.evidence.eventIdsTruncated;
  if (f.evidence.ipRangesSyncToken !== '') {
    unmapped.section('evidence').ipRangesSyncToken = f.evidence.ipRangesSyncToken;
  }
  if (f.evidence.locations !== undefined) unmapped.section('evidence').locations = f.evidence.locations;
  if (f.evidence.locationsTruncated !== undefined) {
    unmapped.section('evidence').locationsTruncated = f.evidence.locationsTruncated;
  }

  const attack = attackOf(f.attack);
  const relatedEvents = [
    ...f.evidence.eventIds.map((uid) => ({ uid, type: 'matched event' })),
    ...f.evidence.vendingEventIds.map((uid) => ({ uid, type: 'credential vending event' })),
  ];
  const evidences = evidencesOf(f, unmapped);
  const resources = resourcesOf(f.principal);
  const partition = arnPartition(f.principal.roleArn);

  for (const [key, value] of Object.entries(f)) {
    if (!(key in MAPPED_FIELDS)) unmapped.record[key] = value;
  }

  return {
    category_uid: CATEGORY_UID,
    category_name: 'Findings',
    class_uid: CLASS_UID,
    class_name: 'Detection Finding',
    activity_id: ACTIVITY_CREATE,
    activity_name: 'Create',
    type_uid: CLASS_UID * 100 + ACTIVITY_CREATE,
    type_name: 'Detection Finding: Create',
    severity_id: severity.id,
    severity: severity.caption,
    confidence_id: confidence.id,
    confidence: confidence.caption,
    status_id: 1,
    status: 'New',
    is_alert: true,
    message: f.title,
    time: lastSeen ?? (opts.now ?? new Date()).getTime(),
    ...(firstSeen !== undefined ? { start_time: firstSeen } : {}),
    ...(lastSeen !== undefined ? { end_time: lastSeen } : {}),
    count: f.activity.calls,
    metadata: {
      version: OCSF_VERSION,
      uid: f.id,
      profiles: ['cloud'],
      product: { name: 'offbox', vendor_name: 'offbox', version: opts.productVersion ?? offboxVersion() },
    },
    finding_info: {
      uid: f.id,
      title: f.title,
      ...(f.evidence.reasons.length > 0 ? { desc: f.evidence.reasons.join('\n') } : {}),
      types: [f.detector],
      ...(firstSeen !== undefined ? { first_seen_time: firstSeen } : {}),
      ...(lastSeen !== undefined ? { last_seen_time: lastSeen } : {}),
      analytic: {
        ...(f.attack.analytic !== '' ? { uid: f.attack.analytic } : {}),
        name: f.detector,
        type_id: 1,
        type: 'Rule',
      },
      ...(attack !== undefined ? { attacks: [attack] } : {}),
      ...(relatedEvents.length > 0 ? { related_events: relatedEvents } : {}),
    },
    cloud: {
      provider: 'AWS',
      ...(f.accountId !== '' ? { account: awsAccount(f.accountId) } : {}),
      ...(f.activity.regions.length === 1 ? { region: f.activity.regions[0] } : {}),
      ...(partition !== undefined ? { cloud_partition: partition } : {}),
    },
    ...(f.principal.instanceId !== ''
      ? { device: { ...DEVICE_VIRTUAL, uid: f.principal.instanceId, instance_uid: f.principal.instanceId } }
      : {}),
    ...(evidences.length > 0 ? { evidences } : {}),
    ...(resources.length > 0 ? { resources } : {}),
    ...(f.response.commands.length > 0 ? { remediation: { desc: f.response.commands.join('\n') } } : {}),
    unmapped: unmapped.record,
  };
}

/**
 * Renders one OCSF Detection Finding per line (NDJSON), escaped like `ndjson`: no event spans
 * two lines and no control or bidi character is written raw. Empty input gives an empty string.
 */
export function renderOcsf(findings: readonly Finding[], opts: OcsfOptions = {}): string {
  return findings.map((f) => escapeRaw(JSON.stringify(toOcsf(f, opts))) + '\n').join('');
}
