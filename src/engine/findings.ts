import { createHash } from 'node:crypto';
import { isInstanceCredential } from '../cloudtrail/credential.js';
import { mergeActions } from '../detect/activity.js';
import type { Finding } from '../detect/finding.js';
import { severityRank } from '../detect/finding.js';
import type { DetectionContext, Detector, FindingAggregate, Observation, Verdict } from '../detect/types.js';
import { instanceResponseCommands } from '../respond/commands.js';
import { MAX_EVENT_IDS } from './usage.js';

/** The fields a finding is aggregated by (SPEC §2). The id is a hash of exactly these. */
export interface FindingKey {
  detector: string;
  accountId: string;
  roleArn: string;
  subject: string;
  sourceIp: string;
  vpcEndpointId: string;
}

/** Stable id of a finding: the same key gives the same id from scan, hunt and watch. */
export function findingId(key: FindingKey): string {
  const text = [key.detector, key.accountId, key.roleArn, key.subject, key.sourceIp, key.vpcEndpointId].join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

function keyOf(detector: Detector, observation: Observation, verdict: Verdict): FindingKey {
  return {
    detector: detector.id,
    accountId: observation.usage.accountId,
    roleArn: observation.credential.roleArn || observation.credential.roleName,
    subject: verdict.aggregateAs?.subject ?? observation.credential.subject,
    sourceIp: verdict.aggregateAs?.sourceIp ?? observation.source.ip,
    vpcEndpointId: observation.usage.vpcEndpointId,
  };
}

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].filter((value) => value !== '').sort();
}

function buildFinding(key: FindingKey, aggregate: FindingAggregate, ctx: DetectionContext): Finding {
  const { detector, observations, verdicts } = aggregate;
  const first = observations[0]!;
  const usages = observations.map((o) => o.usage);
  const { severity, reasons: severityReasons } = detector.severity(aggregate, ctx);
  const confidenceOrder = ['low', 'medium', 'high'] as const;
  const confidence = verdicts
    .map((v) => v.confidence)
    .reduce((best, c) => (confidenceOrder.indexOf(c) > confidenceOrder.indexOf(best) ? c : best), 'low' as const);

  const firstUsage = usages.reduce((a, b) => (b.firstMs < a.firstMs ? b : a));
  const lastUsage = usages.reduce((a, b) => (b.lastMs > a.lastMs ? b : a));
  const actions = mergeActions(usages.map((u) => u.actions));
  const eventIds: string[] = [];
  let truncated = false;
  for (const usage of usages) {
    truncated ||= usage.eventIdsTruncated;
    for (const id of usage.eventIds) {
      if (eventIds.length >= MAX_EVENT_IDS) {
        truncated = true;
        break;
      }
      eventIds.push(id);
    }
  }
  const credential = first.credential;
  const vendingEventIds = sortedUnique(observations.map((o) => o.credential.vending?.eventId ?? ''));
  // A finding folded over a role and an address range covers every instance or workload of the role there:
  // the first use speaks for the rest, with a summary of them.
  const folded = verdicts[0]?.aggregateAs !== undefined;
  const reasons = [
    ...new Set([...(folded ? verdicts.slice(0, 1) : verdicts).flatMap((v) => v.reasons), ...severityReasons]),
  ];

  const subjects = sortedUnique(observations.map((o) => o.credential.instanceId || o.credential.subject));
  const instanceId = folded ? '' : credential.instanceId || first.instance?.instanceId || '';
  const subjectText = folded
    ? `${subjects.length} ${subjects.length === 1 ? 'session' : 'sessions'} of the role`
    : credential.instanceId || credential.subject;
  const sourceText = folded ? `${key.sourceIp} (unverifiable addresses)` : first.source.ip || 'unknown source';
  if (folded) {
    const addresses = sortedUnique(observations.map((o) => o.source.ip));
    reasons.push(
      `one finding for the role's uses from ${key.sourceIp} without a VPC endpoint that nothing corroborates: ${addresses.length} ${addresses.length === 1 ? 'address' : 'addresses'} (${addresses.slice(0, 5).join(', ')}${addresses.length > 5 ? ' …' : ''}), ${subjects.length} ${subjects.length === 1 ? 'session' : 'sessions'} (${subjects.slice(0, 5).join(', ')}${subjects.length > 5 ? ' …' : ''})`,
    );
  }
  return {
    id: findingId(key),
    detector: detector.id,
    severity,
    confidence,
    title: `${detector.title}: ${subjectText} (${credential.roleName || 'unknown role'}) from ${sourceText}`,
    accountId: key.accountId,
    principal: {
      role: credential.roleName,
      roleArn: credential.roleArn,
      sessionName: folded ? '' : credential.sessionName,
      instanceId,
      accessKeyIds: sortedUnique(observations.map((o) => o.credential.accessKeyId)),
      credentialKind: credential.kind,
      ec2RoleDelivery: sortedUnique(usages.flatMap((u) => [...u.ec2RoleDelivery])),
    },
    source: {
      ip: folded ? key.sourceIp : first.source.ip,
      class: first.source.class,
      vpcEndpointId: first.usage.vpcEndpointId,
      vpcEndpointAccountId: first.usage.vpcEndpointAccountId,
      owner: verdicts[0]?.sourceOwner ?? '',
    },
    activity: {
      calls: usages.reduce((sum, u) => sum + u.calls, 0),
      actions: [...actions.keys()].sort(),
      firstSeen: firstUsage.firstSeen,
      lastSeen: lastUsage.lastSeen,
      userAgents: sortedUnique(usages.flatMap((u) => [...u.userAgents])),
      regions: sortedUnique(usages.flatMap((u) => [...u.regions])),
      errorCount: usages.reduce((sum, u) => sum + u.errorCount, 0),
    },
    evidence: {
      eventIds: eventIds.sort(),
      eventIdsTruncated: truncated,
      reasons,
      ipRangesSyncToken: ctx.ipRangesSyncToken,
      vendingEventIds,
    },
    attack: detector.attack,
    response: {
      commands: responseCommands(credential, key.accountId, instanceId, folded, observations, ctx),
    },
  };
}

/**
 * Revoke the role of the used session; for an instance's credential, also close the metadata path, in the
 * instance's region (inventory, vending event, the region the credential was issued in), else the one region
 * the calls went to.
 */
function responseCommands(
  credential: Observation['credential'],
  accountId: string,
  instanceId: string,
  folded: boolean,
  observations: readonly Observation[],
  ctx: DetectionContext,
): string[] {
  if (!credential.roleName) return [];
  const isInstance = isInstanceCredential(credential.kind);
  const target = isInstance || instanceId ? instanceId : '';
  const facts = target ? ctx.ownership.instances.get(target) : undefined;
  const region =
    facts?.region ||
    observations.find((o) => o.credential.vending?.region)?.credential.vending?.region ||
    observations.find((o) => o.credential.issuedRegion)?.credential.issuedRegion ||
    '';
  return instanceResponseCommands({
    roleName: credential.roleName,
    accountId,
    instanceId: target,
    region,
    credentialKind: credential.kind,
    callRegions: folded ? [] : sortedUnique(observations.flatMap((o) => [...o.usage.regions])),
    profileRoleName: credential.kind === 'ec2-instance-identity' && target ? profileRoleOf(target, ctx) : undefined,
  });
}

/**
 * The role of an instance's instance profile: from the inventory (instance → profile → role), else from
 * the trail (the role EC2 vended a session named after the instance).
 */
function profileRoleOf(instanceId: string, ctx: DetectionContext): string | undefined {
  const profileArn = ctx.ownership.instances.get(instanceId)?.instanceProfileArn ?? '';
  const fromInventory = ctx.ownership.roleOfInstanceProfile(profileArn)?.roleName;
  if (fromInventory) return fromInventory;
  const session = instanceId.toLowerCase();
  let latest: { roleArn: string; issuedAtMs: number } | undefined;
  for (const record of ctx.vending.values()) {
    if (record.issuer !== 'ec2' || record.sessionName.toLowerCase() !== session) continue;
    if (!latest || record.issuedAtMs > latest.issuedAtMs) latest = record;
  }
  const roleName = latest?.roleArn.split('/').pop();
  return roleName || undefined;
}

/** Usages arrive in file order; a finding must read the same whatever that order was. */
function inStableOrder(aggregate: FindingAggregate): FindingAggregate {
  const order = aggregate.observations
    .map((observation, i) => ({ observation, verdict: aggregate.verdicts[i]! }))
    .sort(
      (a, b) =>
        a.observation.usage.firstMs - b.observation.usage.firstMs ||
        (a.observation.usage.key < b.observation.usage.key ? -1 : 1),
    );
  return {
    detector: aggregate.detector,
    observations: order.map((o) => o.observation),
    verdicts: order.map((o) => o.verdict),
  };
}

/**
 * Runs every detector on every observation and folds the verdicts into findings,
 * one per (detector, account, role, subject, source). Sorted most severe first.
 */
export function detectFindings(
  observations: readonly Observation[],
  detectors: readonly Detector[],
  ctx: DetectionContext,
): Finding[] {
  const aggregates = new Map<string, { key: FindingKey; aggregate: FindingAggregate }>();
  for (const observation of observations) {
    for (const detector of detectors) {
      const verdict = detector.evaluate(observation, ctx);
      if (!verdict) continue;
      const key = keyOf(detector, observation, verdict);
      const id = findingId(key);
      let entry = aggregates.get(id);
      if (!entry) {
        entry = { key, aggregate: { detector, observations: [], verdicts: [] } };
        aggregates.set(id, entry);
      }
      entry.aggregate.observations.push(observation);
      entry.aggregate.verdicts.push(verdict);
    }
  }
  const findings = [...aggregates.values()].map(({ key, aggregate }) =>
    buildFinding(key, inStableOrder(aggregate), ctx),
  );
  return findings.sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      a.detector.localeCompare(b.detector) ||
      a.activity.firstSeen.localeCompare(b.activity.firstSeen) ||
      a.id.localeCompare(b.id),
  );
}
