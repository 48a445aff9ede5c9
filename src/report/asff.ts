/**
 * AWS Security Finding Format (ASFF, schema 2018-10-08): what Security Hub's BatchImportFindings
 * takes. Field limits are those of the AwsSecurityFinding API reference; every string that comes
 * from logs is made terminal-safe (escape.ts) and cut to its limit on an escape boundary.
 */
import type { Confidence, Finding, Severity } from '../detect/finding.js';
import { UsageError } from '../errors.js';
import { formatIp, parseIp, unmapIpv4 } from '../net/ip.js';
import { escapeTokens } from './escape.js';

export const ASFF_SCHEMA_VERSION = '2018-10-08';

/** Length and count limits of the AwsSecurityFinding fields offbox fills. */
export const ASFF_LIMITS = {
  id: 512,
  generatorId: 512,
  title: 256,
  description: 1024,
  recommendationText: 512,
  severityOriginal: 64,
  productFieldKey: 128,
  productFieldValue: 2048,
  /** The API allows 50; Security Hub adds `aws/securityhub/*` keys of its own on import, so leave room for them. */
  productFields: 47,
  types: 50,
  resources: 32,
  resourceRegion: 16,
  apiName: 128,
} as const;

export type AsffSeverityLabel = 'INFORMATIONAL' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
export type AsffPartition = 'aws' | 'aws-cn' | 'aws-us-gov';

export interface AsffResource {
  Type: string;
  Id: string;
  Partition: AsffPartition;
  Region: string;
  Details?: { AwsIamRole?: { RoleName?: string }; Other?: Record<string, string> };
}

/** One finding as BatchImportFindings takes it (the subset of AwsSecurityFinding offbox fills). */
export interface AsffFinding {
  SchemaVersion: typeof ASFF_SCHEMA_VERSION;
  Id: string;
  ProductArn: string;
  GeneratorId: string;
  AwsAccountId: string;
  Types: string[];
  CreatedAt: string;
  UpdatedAt: string;
  FirstObservedAt: string;
  LastObservedAt: string;
  Severity: { Label: AsffSeverityLabel; Original: string };
  Confidence: number;
  Title: string;
  Description: string;
  Remediation: { Recommendation: { Text: string } };
  ProductFields: Record<string, string>;
  Resources: AsffResource[];
  Network?: { Direction: 'IN'; SourceIpV4?: string; SourceIpV6?: string };
  Action?: {
    ActionType: 'AWS_API_CALL';
    AwsApiCallAction: {
      Api: string;
      ServiceName: string;
      CallerType?: 'remoteip';
      RemoteIpDetails?: { IpAddressV4: string };
      FirstSeen: string;
      LastSeen: string;
    };
  };
  RecordState: 'ACTIVE';
  Workflow: { Status: 'NEW' };
}

export interface AsffOptions {
  /** Region of the Security Hub the findings go to; also the region of the resources in them. */
  region: string;
  /** Account to import into; default the finding's own account. */
  awsAccountId?: string;
  /** Default `arn:<partition>:securityhub:<region>:<account>:product/<account>/default` (the account's own product). */
  productArn?: string;
  /** UpdatedAt; default now. */
  now?: Date;
}

const SEVERITY_LABELS: Record<Severity, AsffSeverityLabel> = {
  critical: 'CRITICAL',
  high: 'HIGH',
  medium: 'MEDIUM',
  low: 'LOW',
  info: 'INFORMATIONAL',
};

const CONFIDENCE_SCORES: Record<Confidence, number> = { high: 90, medium: 60, low: 30 };

// The ASFF TTPs categories (Types taxonomy); they follow MITRE ATT&CK tactic names.
const TTP_CATEGORIES = [
  'Initial Access',
  'Execution',
  'Persistence',
  'Privilege Escalation',
  'Defense Evasion',
  'Credential Access',
  'Discovery',
  'Lateral Movement',
  'Collection',
  'Command and Control',
];
const TTP_BY_KEY = new Map(TTP_CATEGORIES.map((category) => [tacticKey(category), category]));

// "Unusual Behaviors" categories for the detectors whose evidence is an anomaly of that kind.
const UNUSUAL_BEHAVIOR: Record<string, string> = {
  'instance-credential-outside-aws': 'IP address',
  'instance-credential-foreign-aws': 'IP address',
  'instance-credential-cross-instance': 'IP address',
  'workload-credential-outside-aws': 'IP address',
  'instance-credential-foreign-vpce': 'Network Flow',
  'instance-credential-non-sdk-client': 'Application',
  'instance-session-name-spoof': 'User',
  'instance-credential-role-chain': 'User',
  'revoked-session-use': 'User',
};

const ELLIPSIS = '…';
const MAX_RESPONSE_COMMANDS = 5;
const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT_RE = /^\d{12}$/;

/** True for a region name such as `us-east-1`, `cn-north-1` or `us-gov-west-1`. */
export function isAwsRegionName(region: string): boolean {
  return REGION_RE.test(region) && region.length <= ASFF_LIMITS.resourceRegion;
}

function tacticKey(tactic: string): string {
  return tactic.toLowerCase().replace(/[^a-z]/g, '');
}

/**
 * `s` made terminal-safe (controls, bidi and invisible characters as visible escapes) and cut to
 * at most `max` UTF-16 units, ending in an ellipsis when cut. Cuts fall between escapes, never inside one.
 */
export function limitText(s: string, max: number): string {
  const tokens = escapeTokens(s);
  let length = 0;
  for (const token of tokens) length += token.length;
  if (length <= max) return tokens.join('');
  let out = '';
  for (const token of tokens) {
    if (out.length + token.length > max - ELLIPSIS.length) break;
    out += token;
  }
  return out + ELLIPSIS;
}

/** Items joined with `, ` within `max`, whole items only, ending in `… (+N more)` when some did not fit. */
function joinLimited(items: readonly string[], max: number): string {
  const safe = items.map((item) => limitText(item, max));
  const all = safe.join(', ');
  if (all.length <= max) return all;
  // Invariant: `kept` holds the first `count` items and still fits with `, … (+rest more)` after it.
  let kept = '';
  for (let count = 0; count < safe.length; count++) {
    const next = count === 0 ? safe[0]! : `${kept}, ${safe[count]!}`;
    const moreAfterNext = `, ${ELLIPSIS} (+${safe.length - count - 1} more)`;
    if (next.length + moreAfterNext.length > max) {
      if (count === 0) return limitText(items[0]!, max - moreAfterNext.length) + moreAfterNext;
      return `${kept}, ${ELLIPSIS} (+${safe.length - count} more)`;
    }
    kept = next;
  }
  return kept;
}

/** The partition of a region: cn-* is aws-cn, us-gov-* is aws-us-gov, everything else aws. */
export function partitionOf(region: string): AsffPartition {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

function partitionOfArn(arn: string, fallback: AsffPartition): AsffPartition {
  const partition = /^arn:([^:]+):/.exec(arn)?.[1];
  return partition === 'aws' || partition === 'aws-cn' || partition === 'aws-us-gov' ? partition : fallback;
}

/** ISO 8601 with milliseconds; `fallback` when `value` is not a time. */
function isoTime(value: string, fallback: Date): string {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? fallback.toISOString() : new Date(ms).toISOString();
}

/** `TTPs/<tactic>/<detector>`, plus an `Unusual Behaviors` category where the detector's evidence is one. */
function findingTypes(finding: Finding): string[] {
  const detector = limitText(finding.detector, 128);
  const category = TTP_BY_KEY.get(tacticKey(finding.attack.tactic));
  const types = [category ? `TTPs/${category}/${detector}` : 'TTPs'];
  const unusual = UNUSUAL_BEHAVIOR[finding.detector];
  if (unusual) types.push(`Unusual Behaviors/${unusual}`);
  return types.slice(0, ASFF_LIMITS.types);
}

function sourceAddress(ip: string): { v4?: string; v6?: string } {
  const parsed = parseIp(ip);
  if (!parsed) return {};
  const unmapped = unmapIpv4(parsed);
  return unmapped.version === 4 ? { v4: formatIp(unmapped) } : { v6: formatIp(unmapped) };
}

/**
 * The instance's own region. The finding has no field for it, but the engine writes it (from the
 * vending event) into the IMDSv2 command of the response; without one, the Security Hub region.
 */
function instanceRegion(finding: Finding, fallback: string): string {
  for (const command of finding.response.commands) {
    if (!command.includes('modify-instance-metadata-options')) continue;
    const region = /\s--region ([a-z0-9-]+)(\s|$)/.exec(command)?.[1];
    if (region !== undefined && isAwsRegionName(region)) return region;
  }
  return fallback;
}

function findingResources(finding: Finding, accountId: string, region: string): AsffResource[] {
  const partition = partitionOf(region);
  const resources: AsffResource[] = [];
  const { roleArn, role, instanceId } = finding.principal;
  if (roleArn) {
    resources.push({
      Type: 'AwsIamRole',
      Id: limitText(roleArn, 2048),
      Partition: partitionOfArn(roleArn, partition),
      // IAM is global; Security Hub files such resources under the finding's region.
      Region: region,
      ...(role ? { Details: { AwsIamRole: { RoleName: limitText(role, 64) } } } : {}),
    });
  }
  if (/^i-[0-9a-f]{8}([0-9a-f]{9})?$/i.test(instanceId)) {
    const instanceAccount = ACCOUNT_RE.test(finding.accountId) ? finding.accountId : accountId;
    const where = instanceRegion(finding, region);
    const instancePartition = partitionOf(where);
    resources.push({
      Type: 'AwsEc2Instance',
      Id: `arn:${instancePartition}:ec2:${where}:${instanceAccount}:instance/${instanceId}`,
      Partition: instancePartition,
      Region: where,
    });
  }
  // Web-tier findings may name no principal at all; ASFF needs at least one resource.
  if (resources.length === 0) {
    resources.push({ Type: 'AwsAccount', Id: `AWS::::Account:${accountId}`, Partition: partition, Region: region });
  }
  return resources.slice(0, ASFF_LIMITS.resources);
}

function apiCallAction(finding: Finding, firstSeen: string, lastSeen: string): AsffFinding['Action'] {
  // Web-tier findings describe HTTP requests, not AWS API calls.
  if (finding.request !== undefined) return undefined;
  const first = finding.activity.actions[0];
  if (!first) return undefined;
  const colon = first.indexOf(':');
  const service = colon > 0 ? first.slice(0, colon) : '';
  const api = colon > 0 ? first.slice(colon + 1) : first;
  const { v4 } = sourceAddress(finding.source.ip);
  return {
    ActionType: 'AWS_API_CALL',
    AwsApiCallAction: {
      Api: limitText(api, ASFF_LIMITS.apiName),
      ServiceName: limitText(service ? `${service}.amazonaws.com` : 'unknown', ASFF_LIMITS.apiName),
      ...(v4 ? { CallerType: 'remoteip' as const, RemoteIpDetails: { IpAddressV4: v4 } } : {}),
      FirstSeen: firstSeen,
      LastSeen: lastSeen,
    },
  };
}

function productFields(finding: Finding): Record<string, string> {
  const { principal, source, activity, evidence, attack, request } = finding;
  const entries: [string, string][] = [
    ['offbox/findingId', finding.id],
    ['offbox/detector', finding.detector],
    ['offbox/confidence', finding.confidence],
    ['offbox/principal/role', principal.role],
    ['offbox/principal/roleArn', principal.roleArn],
    ['offbox/principal/sessionName', principal.sessionName],
    ['offbox/principal/instanceId', principal.instanceId],
    ['offbox/principal/credentialKind', principal.credentialKind],
    ['offbox/principal/accessKeyIds', joinLimited(principal.accessKeyIds, ASFF_LIMITS.productFieldValue)],
    ['offbox/principal/ec2RoleDelivery', joinLimited(principal.ec2RoleDelivery, ASFF_LIMITS.productFieldValue)],
    ['offbox/source/ip', source.ip],
    ['offbox/source/class', source.class],
    ['offbox/source/owner', source.owner],
    ['offbox/source/vpcEndpointId', source.vpcEndpointId],
    ['offbox/source/vpcEndpointAccountId', source.vpcEndpointAccountId],
    ['offbox/activity/calls', String(activity.calls)],
    ['offbox/activity/errorCount', String(activity.errorCount)],
    ['offbox/activity/actions', joinLimited(activity.actions, ASFF_LIMITS.productFieldValue)],
    ['offbox/activity/userAgents', joinLimited(activity.userAgents, ASFF_LIMITS.productFieldValue)],
    ['offbox/activity/regions', joinLimited(activity.regions, ASFF_LIMITS.productFieldValue)],
    ['offbox/evidence/eventIds', joinLimited(evidence.eventIds, ASFF_LIMITS.productFieldValue)],
    ['offbox/evidence/eventIdsTruncated', evidence.eventIdsTruncated ? 'true' : ''],
    ['offbox/evidence/vendingEventIds', joinLimited(evidence.vendingEventIds, ASFF_LIMITS.productFieldValue)],
    ['offbox/evidence/locations', joinLimited(evidence.locations ?? [], ASFF_LIMITS.productFieldValue)],
    ['offbox/evidence/locationsTruncated', evidence.locationsTruncated ? 'true' : ''],
    ['offbox/evidence/ipRangesSyncToken', evidence.ipRangesSyncToken],
    ['offbox/request/method', request?.method ?? ''],
    ['offbox/request/url', request?.url ?? ''],
    ['offbox/request/status', request ? String(request.status) : ''],
    ['offbox/request/clientIp', request?.clientIp ?? ''],
    ['offbox/attack/technique', attack.technique],
    ['offbox/attack/tactic', attack.tactic],
    ['offbox/attack/analytic', attack.analytic],
    ...finding.response.commands
      .slice(0, MAX_RESPONSE_COMMANDS)
      .map((command, i): [string, string] => [`offbox/response/command/${i + 1}`, command]),
  ];
  const fields: Record<string, string> = {};
  let count = 0;
  for (const [key, value] of entries) {
    if (value === '' || count >= ASFF_LIMITS.productFields) continue;
    fields[limitText(key, ASFF_LIMITS.productFieldKey)] = limitText(value, ASFF_LIMITS.productFieldValue);
    count++;
  }
  return fields;
}

function recommendation(finding: Finding): string {
  const { role, instanceId } = finding.principal;
  const parts: string[] = [];
  if (role) {
    parts.push(
      `Revoke the sessions of role ${role} issued before now (inline deny policy AWSRevokeOlderSessions on aws:TokenIssueTime)`,
    );
  }
  if (instanceId) {
    parts.push(`then require IMDSv2 on ${instanceId} (HttpTokens=required, hop limit 1) and fix any SSRF`);
  } else if (finding.request !== undefined) {
    parts.push('Fix the SSRF in the application, block metadata addresses at the proxy and require IMDSv2');
  }
  if (parts.length === 0) parts.push('Investigate the principal and source named in the finding');
  const commands = finding.response.commands.length > 0 ? ' The exact commands are in offbox/response/command/*.' : '';
  return limitText(`${parts.join(', ')}.${commands}`, ASFF_LIMITS.recommendationText);
}

/**
 * Maps one finding to ASFF. `Id` is `offbox/<finding id>`, stable across runs, so importing the
 * same finding again updates it in Security Hub instead of adding a duplicate. Throws a UsageError
 * when neither `opts.awsAccountId` nor the finding names a 12-digit account, or `opts.region` is
 * not a region name.
 */
export function toAsff(finding: Finding, opts: AsffOptions): AsffFinding {
  const { region } = opts;
  if (!isAwsRegionName(region)) {
    throw new UsageError(
      `${region || 'an empty string'} is not an AWS region for Security Hub`,
      'set AWS_REGION (or the sink region) to the Security Hub region, e.g. us-east-1',
    );
  }
  const accountId = opts.awsAccountId ?? finding.accountId;
  if (!ACCOUNT_RE.test(accountId)) {
    throw new UsageError(
      `finding ${limitText(finding.id, 80)} names no 12-digit AWS account (got ${limitText(accountId, 40) || 'none'}), which ASFF requires`,
      'pass --inventory so offbox knows the web backend’s account (or give the sink an account to file findings under), or use --format json',
    );
  }
  const partition = partitionOf(region);
  const now = opts.now ?? new Date();
  const firstSeen = isoTime(finding.activity.firstSeen, now);
  const lastSeen = isoTime(finding.activity.lastSeen, now);
  const createdAt = Date.parse(firstSeen) <= now.getTime() ? firstSeen : now.toISOString();
  const { v4, v6 } = sourceAddress(finding.source.ip);
  const description = finding.evidence.reasons.join('; ').trim() || finding.title.trim() || finding.detector;
  const action = apiCallAction(finding, firstSeen, lastSeen);

  return {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: limitText(`offbox/${finding.id}`, ASFF_LIMITS.id),
    ProductArn: opts.productArn ?? `arn:${partition}:securityhub:${region}:${accountId}:product/${accountId}/default`,
    GeneratorId: limitText(`offbox/${finding.detector}`, ASFF_LIMITS.generatorId),
    AwsAccountId: accountId,
    Types: findingTypes(finding),
    CreatedAt: createdAt,
    UpdatedAt: now.toISOString(),
    FirstObservedAt: firstSeen,
    LastObservedAt: lastSeen,
    Severity: {
      Label: SEVERITY_LABELS[finding.severity] ?? 'INFORMATIONAL',
      Original: limitText(finding.severity, ASFF_LIMITS.severityOriginal),
    },
    Confidence: CONFIDENCE_SCORES[finding.confidence] ?? 0,
    Title: limitText(finding.title.trim() || finding.detector, ASFF_LIMITS.title),
    Description: limitText(description, ASFF_LIMITS.description),
    Remediation: { Recommendation: { Text: recommendation(finding) } },
    ProductFields: productFields(finding),
    Resources: findingResources(finding, accountId, region),
    ...(v4 || v6 ? { Network: { Direction: 'IN' as const, ...(v4 ? { SourceIpV4: v4 } : { SourceIpV6: v6! }) } } : {}),
    ...(action ? { Action: action } : {}),
    RecordState: 'ACTIVE',
    // BatchImportFindings only sets Workflow on new findings, so a re-import keeps the analyst's triage.
    Workflow: { Status: 'NEW' },
  };
}

/**
 * Renders `{"Findings":[…]}` as `aws securityhub batch-import-findings --cli-input-json` takes it,
 * ending in a newline. BatchImportFindings takes at most 100 findings per call; split larger files.
 */
export function renderAsff(findings: readonly Finding[], opts: AsffOptions): string {
  const now = opts.now ?? new Date();
  const doc = { Findings: findings.map((finding) => toAsff(finding, { ...opts, now })) };
  return JSON.stringify(doc, null, 2) + '\n';
}
