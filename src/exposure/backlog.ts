import { classifyCredential } from '../cloudtrail/credential.js';
import type { VendingIndex } from '../cloudtrail/vending.js';
import type { Confidence, Severity } from '../detect/finding.js';
import type { Usage } from '../engine/usage.js';
import { MAX_EVENT_IDS } from '../engine/usage.js';
import { OwnershipMap, type InstanceFacts, type RoleFacts } from '../inventory/ownership.js';
import { migrationCommands, validLaunchTemplateId, validRegion } from './commands.js';
import { roleAssessor, tierRank, type PrivilegeAssessment, type PrivilegeTier } from './privilege.js';

/** Calls made with keys of one delivery path (ec2RoleDelivery 1.0 or 2.0). */
export interface DeliveryActivity {
  calls: number;
  firstSeen: string;
  lastSeen: string;
  firstMs: number;
  lastMs: number;
  accessKeyIds: string[];
  /** Clients that made the calls (on the instance or elsewhere). */
  userAgents: string[];
  /**
   * Clients of calls judged to come from the instance itself (needs source judgements): for 1.0,
   * the software still fetching credentials through IMDSv1.
   */
  onBoxUserAgents: string[];
  /** Calls judged to come from somewhere else (outside AWS, another instance …) or made by non-SDK clients. */
  offBoxCalls: number;
  actions: string[];
  regions: string[];
  errorCount: number;
  eventIds: string[];
  eventIdsTruncated: boolean;
  vendingEventIds: string[];
}

/** How an item stands: IMDSv1 still open (or not known to be closed), or closed since the 1.0 calls. */
export type ExposureStatus = 'open' | 'fixed-verify';

/** Whether the internet reaches the instance (the usual SSRF path to IMDS). */
export type InternetExposure = 'public-ip' | 'load-balancer' | 'none' | 'unknown';

/** One instance on the IMDSv1 backlog. */
export interface ExposureItem {
  /** 1 = fix first. */
  rank: number;
  instanceId: string;
  accountId: string;
  region: string;
  /** The Name tag, when the inventory has one. */
  name: string;
  /** Instance state from the inventory ('' when unknown). */
  state: string;
  status: ExposureStatus;
  /** Inventory MetadataOptions: true = HttpTokens optional, false = required or endpoint disabled, undefined = not known. */
  allowsImdsv1: boolean | undefined;
  metadata: InstanceFacts['metadata'];
  /** Every call made with keys fetched through IMDSv1: the instance profile role's and the identity credential's. */
  imdsv1: DeliveryActivity;
  imdsv2: DeliveryActivity;
  /**
   * The part of `imdsv1` made with the instance identity credential (`aws:ec2-instance`): fetched through
   * IMDSv1 too, so proof that IMDSv1 is open on the instance whatever its role's keys show.
   */
  identityImdsv1: DeliveryActivity;
  role: {
    name: string;
    arn: string;
    /** Where the role came from: the calls' sessions, the inventory's instance profile, or only the profile's name. */
    source: 'credential' | 'inventory' | 'profile-name' | 'none';
  };
  privilege: PrivilegeAssessment;
  internet: InternetExposure;
  publicIps: string[];
  /** Why the instance is believed to run containers (tags, role name, ECS user agents); empty when not. */
  containerBasis: string[];
  /** Hop limit the migration sets: 2 on container hosts, else 1. */
  targetHopLimit: 1 | 2;
  launchTemplateId: string;
  autoScalingGroup: string;
  severity: Severity;
  confidence: Confidence;
  /** The one-line rank explanation first, then the evidence. */
  reasons: string[];
  commands: string[];
}

/** An instance deliberately left off the backlog, and why. */
export interface SkippedInstance {
  instanceId: string;
  accountId: string;
  reason: string;
}

/** Counts per role or per account; worst first. */
export interface ExposureRollup {
  accountId: string;
  /** '' for an account roll-up. */
  role: string;
  roleArn: string;
  instances: number;
  /** Instances with 1.0 deliveries seen. */
  imdsv1Seen: number;
  /** Instances that allow IMDSv1 with no 1.0 delivery seen. */
  allowsOnly: number;
  fixedVerify: number;
  imdsv1Calls: number;
  worstTier: PrivilegeTier;
  worstSeverity: Severity;
  regions: string[];
}

export interface ExposureReport {
  items: ExposureItem[];
  skipped: SkippedInstance[];
  roles: ExposureRollup[];
  accounts: ExposureRollup[];
}

export interface ExposureInputs {
  /** Usages from a scan (ScanState.usages). */
  usages: Iterable<Usage>;
  vending: VendingIndex;
  /** Inventory (may be empty): MetadataOptions, state, tags, public addresses, IAM details. */
  ownership?: OwnershipMap;
  /**
   * How the scan judged each usage's source (`expected`, `outside`, `foreign-aws` … from
   * detect/instance-source.ts); optional. With it, the on-box clients are told apart from use elsewhere.
   */
  sourceJudgements?: ReadonlyMap<Usage, string>;
  /** Instances known to sit behind a load balancer (ALB/ELB target addresses resolved to instances). */
  behindLoadBalancer?: ReadonlySet<string>;
  now?: Date;
}

const SEVERITY_LADDER: readonly Severity[] = ['info', 'low', 'medium', 'high'];
const MAX_LISTED_KEYS = 5;
const MAX_LISTED_AGENTS = 3;
const DAY_MS = 24 * 60 * 60 * 1000;

interface Accumulator {
  calls: number;
  firstMs: number;
  lastMs: number;
  firstSeen: string;
  lastSeen: string;
  keys: Set<string>;
  userAgents: Set<string>;
  onBoxUserAgents: Set<string>;
  offBoxCalls: number;
  actions: Set<string>;
  regions: Set<string>;
  errorCount: number;
  eventIds: string[];
  truncated: boolean;
  vendingEventIds: Set<string>;
}

interface Evidence {
  instanceId: string;
  accountId: string;
  roleArn: string;
  roleName: string;
  vendingRegion: string;
  /** Regions the SSM agent of the instance called: the agent talks to its own region. */
  agentRegions: Map<string, number>;
  ecsOnEc2: boolean;
  /** Both credentials of the instance: the profile role's and the identity credential's. */
  v1: Accumulator;
  v2: Accumulator;
  /** The instance profile role's keys only. */
  roleV1: Accumulator;
  roleV2: Accumulator;
  /** The instance identity credential's keys only. */
  identityV1: Accumulator;
  identityV2: Accumulator;
}

function accumulator(): Accumulator {
  return {
    calls: 0,
    firstMs: Number.POSITIVE_INFINITY,
    lastMs: Number.NEGATIVE_INFINITY,
    firstSeen: '',
    lastSeen: '',
    keys: new Set(),
    userAgents: new Set(),
    onBoxUserAgents: new Set(),
    offBoxCalls: 0,
    actions: new Set(),
    regions: new Set(),
    errorCount: 0,
    eventIds: [],
    truncated: false,
    vendingEventIds: new Set(),
  };
}

/** Judgements of a source that is not the instance's own. */
const OFF_BOX = new Set(['outside', 'unverifiable', 'foreign-aws', 'cross-instance', 'foreign-vpce']);

function add(acc: Accumulator, usage: Usage, accessKeyId: string, vendingEventId: string, judgement: string): void {
  acc.calls += usage.calls;
  // Non-SDK clients from the instance's own address are SSRF relays (offbox scan's business), not software to update.
  if (OFF_BOX.has(judgement) || usage.clientFamily !== '') acc.offBoxCalls += usage.calls;
  else if (judgement !== '' && judgement !== 'aws-service' && usage.invokedBy === '')
    for (const ua of usage.userAgents) if (ua) acc.onBoxUserAgents.add(ua);
  acc.errorCount += usage.errorCount;
  if (usage.firstMs < acc.firstMs) {
    acc.firstMs = usage.firstMs;
    acc.firstSeen = usage.firstSeen;
  }
  if (usage.lastMs > acc.lastMs) {
    acc.lastMs = usage.lastMs;
    acc.lastSeen = usage.lastSeen;
  }
  if (accessKeyId) acc.keys.add(accessKeyId);
  for (const ua of usage.userAgents) if (ua) acc.userAgents.add(ua);
  for (const action of usage.actions.keys()) acc.actions.add(action);
  for (const region of usage.regions) acc.regions.add(region);
  if (vendingEventId) acc.vendingEventIds.add(vendingEventId);
  acc.truncated ||= usage.eventIdsTruncated;
  for (const id of usage.eventIds) {
    if (acc.eventIds.length >= MAX_EVENT_IDS) {
      acc.truncated = true;
      break;
    }
    acc.eventIds.push(id);
  }
}

function activity(acc: Accumulator): DeliveryActivity {
  return {
    calls: acc.calls,
    firstSeen: acc.firstSeen,
    lastSeen: acc.lastSeen,
    firstMs: acc.firstMs,
    lastMs: acc.lastMs,
    accessKeyIds: [...acc.keys].sort(),
    userAgents: [...acc.userAgents].sort(),
    onBoxUserAgents: [...acc.onBoxUserAgents].sort(),
    offBoxCalls: acc.offBoxCalls,
    actions: [...acc.actions].sort(),
    regions: [...acc.regions].sort(),
    errorCount: acc.errorCount,
    eventIds: [...new Set(acc.eventIds)].sort(),
    eventIdsTruncated: acc.truncated,
    vendingEventIds: [...acc.vendingEventIds].sort(),
  };
}

const AGENT_ACTIONS = ['ssm:', 'ec2messages:', 'ssmmessages:'];

/**
 * Folds the usages of EC2 instance credentials into one record per instance: the instance profile role's
 * sessions and the instance identity credential's (`aws:ec2-instance`). Both are fetched from the same
 * metadata service, so a 1.0 delivery of either proves IMDSv1 open; only the role's sessions name the role.
 */
function collectEvidence(
  usages: Iterable<Usage>,
  vending: VendingIndex,
  judgements: ReadonlyMap<Usage, string> | undefined,
): Map<string, Evidence> {
  const byInstance = new Map<string, Evidence>();
  for (const usage of usages) {
    const credential = classifyCredential(usage.identity, usage.firstUserAgent, vending);
    const identity = credential.kind === 'ec2-instance-identity';
    if ((credential.kind !== 'ec2-instance' && !identity) || !credential.instanceId) continue;
    let evidence = byInstance.get(credential.instanceId);
    if (!evidence) {
      evidence = {
        instanceId: credential.instanceId,
        accountId: usage.accountId || credential.accountId,
        roleArn: '',
        roleName: '',
        vendingRegion: '',
        agentRegions: new Map(),
        ecsOnEc2: false,
        v1: accumulator(),
        v2: accumulator(),
        roleV1: accumulator(),
        roleV2: accumulator(),
        identityV1: accumulator(),
        identityV2: accumulator(),
      };
      byInstance.set(credential.instanceId, evidence);
    }
    // The identity role (aws:ec2-instance) is the same for every instance: it says nothing of the instance's role.
    if (!identity) {
      evidence.roleArn ||= credential.roleArn;
      evidence.roleName ||= credential.roleName;
    }
    evidence.accountId ||= usage.accountId;
    if (credential.vending?.issuer === 'ec2' && credential.vending.region)
      evidence.vendingRegion ||= credential.vending.region;
    if ([...usage.userAgents].some((ua) => ua.includes('exec-env/AWS_ECS_EC2'))) evidence.ecsOnEc2 = true;
    if ([...usage.actions.keys()].some((a) => AGENT_ACTIONS.some((p) => a.startsWith(p)))) {
      for (const region of usage.regions)
        evidence.agentRegions.set(region, (evidence.agentRegions.get(region) ?? 0) + usage.calls);
    }
    const vendingEventId = credential.vending?.issuer === 'ec2' ? credential.vending.eventId : '';
    // One key has one delivery path; a usage naming both (never seen) counts on both sides.
    const judgement = judgements?.get(usage) ?? '';
    for (const [delivery, all, own] of [
      ['1.0', evidence.v1, identity ? evidence.identityV1 : evidence.roleV1],
      ['2.0', evidence.v2, identity ? evidence.identityV2 : evidence.roleV2],
    ] as const) {
      if (!usage.ec2RoleDelivery.has(delivery)) continue;
      add(all, usage, credential.accessKeyId, vendingEventId, judgement);
      add(own, usage, credential.accessKeyId, vendingEventId, judgement);
    }
  }
  return byInstance;
}

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .map((w) => w.toLowerCase())
    .filter(Boolean);
}

const CONTAINER_WORDS = new Set(['eks', 'ecs', 'k8s', 'kube', 'kubernetes', 'nodegroup', 'kubelet']);

/**
 * Why an instance looks like a container host: EKS/ECS/Kubernetes tags, an ECS/EKS-style role or
 * instance profile name, or calls made from ECS on EC2 (`exec-env/AWS_ECS_EC2`). Empty when none.
 */
export function containerHostBasis(
  tags: Readonly<Record<string, string>>,
  names: readonly string[],
  ecsOnEc2: boolean,
): string[] {
  const basis: string[] = [];
  for (const key of Object.keys(tags).sort()) {
    if (
      key === 'eks:cluster-name' ||
      key === 'aws:eks:cluster-name' ||
      key === 'eks:nodegroup-name' ||
      key === 'AmazonECSManaged' ||
      key.startsWith('kubernetes.io/cluster/') ||
      key.startsWith('k8s.io/cluster-autoscaler/') ||
      key.startsWith('aws:ecs:')
    ) {
      basis.push(`tag ${key}`);
      break;
    }
  }
  for (const name of names) {
    if (!name) continue;
    if (/NodeInstanceRole|ecsInstanceRole/i.test(name) || words(name).some((w) => CONTAINER_WORDS.has(w))) {
      basis.push(`role/profile name ${name}`);
      break;
    }
  }
  if (ecsOnEc2) basis.push('calls from ECS on EC2 (exec-env/AWS_ECS_EC2)');
  return basis;
}

function allowsImdsv1(metadata: InstanceFacts['metadata']): boolean | undefined {
  if (!metadata) return undefined;
  if (metadata.httpEndpoint.toLowerCase() === 'disabled') return false;
  const tokens = metadata.httpTokens.toLowerCase();
  if (tokens === 'optional') return true;
  if (tokens === 'required') return false;
  return undefined;
}

function regionOf(facts: InstanceFacts | undefined, evidence: Evidence | undefined): string {
  const candidates = [facts?.region ?? '', evidence?.vendingRegion ?? ''];
  if (evidence && evidence.agentRegions.size > 0) {
    candidates.push([...evidence.agentRegions].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0]);
  }
  return candidates.map(validRegion).find(Boolean) ?? '';
}

function describeMetadata(metadata: NonNullable<InstanceFacts['metadata']>): string {
  const parts = [`HttpTokens=${metadata.httpTokens || '?'}`, `hop limit ${metadata.hopLimit}`];
  if (metadata.httpEndpoint) parts.push(`endpoint ${metadata.httpEndpoint}`);
  if (metadata.httpProtocolIpv6 === 'enabled') parts.push('IPv6 endpoint enabled');
  return parts.join(', ');
}

function listWithMore(values: readonly string[], max: number): string {
  return values.slice(0, max).join(', ') + (values.length > max ? ` (+${values.length - max} more)` : '');
}

function severityFor(
  tier: PrivilegeTier,
  seen: boolean,
  internet: InternetExposure,
  status: ExposureStatus,
  hasRole: boolean,
): { severity: Severity; why: string } {
  if (!hasRole) return { severity: 'info', why: 'no instance profile: no role credentials to deliver' };
  const exposed = internet === 'public-ip' || internet === 'load-balancer';
  let step: number;
  const why: string[] = [];
  if (tier === 'admin-equivalent' || tier === 'privilege-escalation') {
    step = exposed ? 3 : 2;
    why.push(`${tier} role`, exposed ? 'reachable from the internet' : 'no internet path known');
  } else if (tier === 'narrow') {
    step = 1;
    why.push('narrow role');
  } else {
    step = 2;
    why.push(tier === 'unknown' ? 'role privilege unknown' : 'data-access role');
  }
  if (seen) why.push('1.0 deliveries seen');
  else {
    step -= 1;
    why.push('IMDSv1 allowed but no 1.0 delivery seen (one step lower)');
  }
  if (status === 'fixed-verify') {
    step = Math.min(step, 1);
    why.push('IMDSv2 required now (at most low)');
  }
  const severity = SEVERITY_LADDER[Math.max(0, Math.min(3, step))]!;
  return { severity, why: why.join(', ') };
}

/**
 * The IMDSv1 backlog with its roll-ups. An instance is listed when CloudTrail shows a 1.0
 * delivery (ec2RoleDelivery "1.0") or the inventory says it allows IMDSv1 (HttpTokens optional,
 * endpoint enabled); never when it is IMDSv2-only in the inventory and saw only 2.0, nor when it
 * is terminated. 1.0 deliveries on an instance the inventory now shows as IMDSv2-only are listed
 * as `fixed-verify` at low severity at most: the inventory is newer than the calls, so the fix
 * happened after them — verify it and its launch template.
 */
export function buildExposureReport(inputs: ExposureInputs): ExposureReport {
  const ownership = inputs.ownership ?? new OwnershipMap();
  const now = inputs.now ?? new Date();
  const assess = roleAssessor(ownership);
  const evidence = collectEvidence(inputs.usages, inputs.vending, inputs.sourceJudgements);
  const hasIam = ownership.roles.size > 0;
  const ids = new Set<string>([...evidence.keys()]);
  for (const [id, facts] of ownership.instances) if (allowsImdsv1(facts.metadata) === true) ids.add(id);

  const items: ExposureItem[] = [];
  const skipped: SkippedInstance[] = [];
  for (const instanceId of [...ids].sort()) {
    const ev = evidence.get(instanceId);
    const facts = ownership.instances.get(instanceId);
    const v1 = activity(ev?.v1 ?? accumulator());
    const v2 = activity(ev?.v2 ?? accumulator());
    const roleV1 = activity(ev?.roleV1 ?? accumulator());
    const identityV1 = activity(ev?.identityV1 ?? accumulator());
    const identityV2Calls = ev?.identityV2.calls ?? 0;
    const seen = v1.calls > 0;
    const allows = allowsImdsv1(facts?.metadata);
    const accountId = facts?.accountId || ev?.accountId || '';
    const state = facts?.state ?? '';
    if (!seen && allows !== true) continue;
    if (state === 'terminated' || state === 'shutting-down') {
      skipped.push({ instanceId, accountId, reason: `${state} in the inventory` });
      continue;
    }
    const status: ExposureStatus = seen && allows === false ? 'fixed-verify' : 'open';

    // The inventory's instance profile is what the instance holds now; the calls' role is what it held then.
    const profileRole: RoleFacts | undefined = facts
      ? ownership.roleOfInstanceProfile(facts.instanceProfileArn)
      : undefined;
    const callRole = ev?.roleArn ? ownership.roles.get(ev.roleArn.toLowerCase()) : undefined;
    const roleFacts = profileRole ?? callRole;
    const profileName = facts?.instanceProfileArn ? (facts.instanceProfileArn.split('/').pop() ?? '') : '';
    const role: ExposureItem['role'] = roleFacts
      ? { name: roleFacts.roleName, arn: roleFacts.arn, source: profileRole ? 'inventory' : 'credential' }
      : ev?.roleName
        ? { name: ev.roleName, arn: ev.roleArn, source: 'credential' }
        : profileName
          ? { name: profileName, arn: '', source: 'profile-name' }
          : { name: '', arn: '', source: 'none' };
    // Role keys prove a role; identity keys alone do not (every instance has an identity credential), so
    // an inventory that shows no instance profile is believed.
    const profileKnownAbsent = facts?.source.startsWith('inventory') === true && !facts.instanceProfileArn;
    const hasRole = role.source !== 'none' || roleV1.calls > 0 || (seen && !profileKnownAbsent);
    const assessed = assess(roleFacts);
    const privilege =
      !roleFacts && hasIam && role.name
        ? { ...assessed, explanation: `role ${role.name} not in the IAM data loaded (${ownership.roles.size} roles)` }
        : assessed;

    const publicIps = [...(facts?.publicIps ?? [])].sort();
    const internet: InternetExposure =
      publicIps.length > 0
        ? 'public-ip'
        : inputs.behindLoadBalancer?.has(instanceId)
          ? 'load-balancer'
          : facts?.source.startsWith('inventory')
            ? 'none'
            : 'unknown';
    const tags = facts?.tags ?? {};
    const containerBasis = containerHostBasis(tags, [role.name, profileName], ev?.ecsOnEc2 ?? false);
    const targetHopLimit: 1 | 2 = containerBasis.length > 0 ? 2 : 1;
    const region = regionOf(facts, ev);
    const launchTemplateId = validLaunchTemplateId(tags['aws:ec2launchtemplate:id'] ?? '');
    const autoScalingGroup = tags['aws:autoscaling:groupName'] ?? '';
    const { severity, why } = severityFor(privilege.tier, seen, internet, status, hasRole);

    const reasons: string[] = [`${privilege.tier}: ${privilege.explanation}`];
    if (seen) {
      const ago = (activity: DeliveryActivity): string => {
        const days = Math.floor((now.getTime() - activity.lastMs) / DAY_MS);
        return days >= 1 ? ` (${days} day${days === 1 ? '' : 's'} ago)` : '';
      };
      if (roleV1.calls > 0) {
        reasons.push(
          `ec2RoleDelivery 1.0 (credentials fetched through IMDSv1): ${roleV1.calls} call${roleV1.calls === 1 ? '' : 's'} with ` +
            `${listWithMore(roleV1.accessKeyIds, MAX_LISTED_KEYS)} from ${roleV1.firstSeen} to ${roleV1.lastSeen}${ago(roleV1)}`,
        );
      }
      if (identityV1.calls > 0) {
        reasons.push(
          `ec2RoleDelivery 1.0 on the instance identity credential (aws:ec2-instance/${instanceId}, fetched through IMDSv1 like the role's): ` +
            `${identityV1.calls} call${identityV1.calls === 1 ? '' : 's'} with ${listWithMore(identityV1.accessKeyIds, MAX_LISTED_KEYS)} ` +
            `from ${identityV1.firstSeen} to ${identityV1.lastSeen}${ago(identityV1)} — IMDSv1 answers on this instance`,
        );
      }
      if (inputs.sourceJudgements) {
        if (v1.onBoxUserAgents.length > 0)
          reasons.push(
            `clients on the instance still fetching through IMDSv1 (update them before enforcing): ${listWithMore(v1.onBoxUserAgents, MAX_LISTED_AGENTS)}`,
          );
        if (v1.offBoxCalls > 0)
          reasons.push(
            `${v1.offBoxCalls} of the 1.0 calls came from somewhere other than the instance or from non-SDK clients: run offbox scan — that may be theft, not only exposure`,
          );
      } else if (v1.userAgents.length > 0) {
        reasons.push(`clients seen with the 1.0 keys: ${listWithMore(v1.userAgents, MAX_LISTED_AGENTS)}`);
      }
    } else {
      reasons.push('no ec2RoleDelivery 1.0 call seen in these logs: IMDSv1 is allowed, not known to be used');
    }
    reasons.push(
      v2.calls > 0
        ? `ec2RoleDelivery 2.0: ${v2.calls} call${v2.calls === 1 ? '' : 's'} with ${listWithMore(v2.accessKeyIds, MAX_LISTED_KEYS)}` +
            (identityV2Calls > 0 ? ` (${identityV2Calls} with the instance identity credential)` : '')
        : 'no ec2RoleDelivery 2.0 call seen',
    );
    if (facts?.metadata) {
      reasons.push(
        status === 'fixed-verify'
          ? `fixed since: verify — the inventory shows ${describeMetadata(facts.metadata)}; the 1.0 calls predate the change`
          : `inventory MetadataOptions: ${describeMetadata(facts.metadata)}${allows ? ' (IMDSv1 allowed)' : ''}`,
      );
    } else {
      reasons.push(
        facts
          ? `no MetadataOptions known for ${instanceId} (only ${facts.source}): cannot tell whether IMDSv1 is still allowed`
          : `${instanceId} is not in the inventory: cannot tell whether IMDSv1 is still allowed or the instance still runs`,
      );
    }
    if (internet === 'public-ip')
      reasons.push(`public address ${listWithMore(publicIps, 3)}: an SSRF in anything it serves reaches IMDS`);
    else if (internet === 'load-balancer')
      reasons.push('behind a load balancer: an SSRF in the application reaches IMDS');
    else if (internet === 'none')
      reasons.push('no public address in the inventory (a load balancer or proxy in front of it still counts)');
    if (containerBasis.length > 0) {
      const hop = facts?.metadata?.hopLimit;
      reasons.push(
        `container host (${containerBasis.join('; ')})` +
          (hop !== undefined && hop > 1 ? `: hop limit ${hop} lets every container reach IMDS and the node role` : ''),
      );
    } else if (facts?.metadata && facts.metadata.hopLimit > 1) {
      reasons.push(`hop limit ${facts.metadata.hopLimit} with no sign of containers: 1 is enough`);
    }
    if (state === 'stopped' || state === 'stopping') reasons.push(`instance ${state}: exposed again when started`);
    if (role.source === 'profile-name')
      reasons.push(`role guessed from the instance profile name ${profileName} (no IAM details for it)`);
    if (ev?.roleArn && roleFacts && profileRole && ev.roleArn.toLowerCase() !== profileRole.arn.toLowerCase())
      reasons.push(`the calls used role ${ev.roleName}; the instance profile now holds ${profileRole.roleName}`);
    reasons.push(...privilege.notes);
    reasons.push(`severity ${severity}: ${why}`);

    const hopReason =
      targetHopLimit === 2
        ? `container host (${containerBasis.join('; ')}): containers that use the instance role reach IMDS one hop further; use 1 if none needs it (IRSA, Pod Identity, ECS task roles)`
        : '';
    items.push({
      rank: 0,
      instanceId,
      accountId,
      region,
      name: tags['Name'] ?? '',
      state,
      status,
      allowsImdsv1: allows,
      metadata: facts?.metadata,
      imdsv1: v1,
      imdsv2: v2,
      identityImdsv1: identityV1,
      role,
      privilege,
      internet,
      publicIps,
      containerBasis,
      targetHopLimit,
      launchTemplateId,
      autoScalingGroup,
      severity,
      confidence: status === 'fixed-verify' || allows === undefined ? 'medium' : 'high',
      reasons,
      commands: migrationCommands({
        instanceId,
        region,
        hopLimit: targetHopLimit,
        hopReason,
        launchTemplateId,
        autoScalingGroup,
        alreadyRequired: status === 'fixed-verify',
      }),
    });
  }
  items.sort(compareItems);
  items.forEach((item, i) => (item.rank = i + 1));
  return { items, skipped, ...rollUp(items) };
}

/** The IMDSv1 backlog, fix-first order (see {@link buildExposureReport}). */
export function buildExposure(inputs: ExposureInputs): ExposureItem[] {
  return buildExposureReport(inputs).items;
}

function severityStep(severity: Severity): number {
  return SEVERITY_LADDER.indexOf(severity);
}

/**
 * Fix-first order: severity, then the role's tier (so within a severity an admin role always
 * comes before a narrow one), open before fixed, 1.0 seen before merely allowed, then the
 * privilege score, the 1.0 call count and the instance id.
 */
export function compareItems(a: ExposureItem, b: ExposureItem): number {
  return (
    severityStep(b.severity) - severityStep(a.severity) ||
    tierRank(b.privilege.tier) - tierRank(a.privilege.tier) ||
    Number(a.status === 'fixed-verify') - Number(b.status === 'fixed-verify') ||
    Number(b.imdsv1.calls > 0) - Number(a.imdsv1.calls > 0) ||
    b.privilege.score - a.privilege.score ||
    b.imdsv1.calls - a.imdsv1.calls ||
    a.instanceId.localeCompare(b.instanceId)
  );
}

function worse(a: ExposureRollup, item: ExposureItem): void {
  a.instances += 1;
  if (item.status === 'fixed-verify') a.fixedVerify += 1;
  else if (item.imdsv1.calls > 0) a.imdsv1Seen += 1;
  else a.allowsOnly += 1;
  a.imdsv1Calls += item.imdsv1.calls;
  if (tierRank(item.privilege.tier) > tierRank(a.worstTier)) a.worstTier = item.privilege.tier;
  if (severityStep(item.severity) > severityStep(a.worstSeverity)) a.worstSeverity = item.severity;
  if (item.region && !a.regions.includes(item.region)) a.regions = [...a.regions, item.region].sort();
}

function compareRollups(a: ExposureRollup, b: ExposureRollup): number {
  return (
    severityStep(b.worstSeverity) - severityStep(a.worstSeverity) ||
    tierRank(b.worstTier) - tierRank(a.worstTier) ||
    b.imdsv1Seen - a.imdsv1Seen ||
    b.instances - a.instances ||
    a.accountId.localeCompare(b.accountId) ||
    a.role.localeCompare(b.role)
  );
}

/** Roll-ups per (account, role) and per account, worst first. */
export function rollUp(items: readonly ExposureItem[]): { roles: ExposureRollup[]; accounts: ExposureRollup[] } {
  const roles = new Map<string, ExposureRollup>();
  const accounts = new Map<string, ExposureRollup>();
  const blank = (accountId: string, role: string, roleArn: string): ExposureRollup => ({
    accountId,
    role,
    roleArn,
    instances: 0,
    imdsv1Seen: 0,
    allowsOnly: 0,
    fixedVerify: 0,
    imdsv1Calls: 0,
    worstTier: 'narrow',
    worstSeverity: 'info',
    regions: [],
  });
  for (const item of items) {
    const roleKey = `${item.accountId}\n${item.role.name}`;
    let r = roles.get(roleKey);
    if (!r) roles.set(roleKey, (r = blank(item.accountId, item.role.name, item.role.arn)));
    worse(r, item);
    let a = accounts.get(item.accountId);
    if (!a) accounts.set(item.accountId, (a = blank(item.accountId, '', '')));
    worse(a, item);
  }
  return { roles: [...roles.values()].sort(compareRollups), accounts: [...accounts.values()].sort(compareRollups) };
}
