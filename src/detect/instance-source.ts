import type { AddressOwner } from '../inventory/ownership.js';
import type { Usage } from '../engine/usage.js';
import type { SourceInfo } from '../net/source-class.js';
import type { Confidence } from './finding.js';
import { serviceSideReason } from './service-side.js';
import type { DetectionContext, SourceJudgement } from './types.js';

/** Calls from the same address by people within this margin count as "at the same time". */
const HUMAN_OVERLAP_MS = 60 * 60 * 1000;

function describeOwner(o: AddressOwner): string {
  switch (o.kind) {
    case 'instance':
      return `instance ${o.instanceId} (account ${o.accountId || '?'}${o.vpcId ? `, ${o.vpcId}` : ''})`;
    case 'nat-gateway':
      return `NAT gateway ${o.natGatewayId} (account ${o.accountId || '?'}${o.vpcId ? `, ${o.vpcId}` : ''})`;
    case 'vpc-endpoint':
      return `VPC endpoint ${o.vpcEndpointId} (account ${o.accountId || '?'})`;
    case 'elastic-ip':
      return `an Elastic IP of account ${o.accountId || '?'}`;
    default:
      return `network interface ${o.networkInterfaceId || '?'} (account ${o.accountId || '?'})`;
  }
}

function ownersDuring(ctx: DetectionContext, address: string, usage: Usage): AddressOwner[] {
  // The whole usage must fall inside the hold: an address that became the org's during an attack stays suspect.
  const atFirst = ctx.ownership.ownersAt(address, usage.firstMs);
  const atLast = ctx.ownership.ownersAt(address, usage.lastMs);
  return atFirst.filter((o) => atLast.includes(o));
}

/** Human principals calling from the address around the usage's time, if any. */
export function humansAt(ctx: DetectionContext, address: string, usage: Usage): string[] {
  const sighting = ctx.humanAddresses.get(address);
  if (!sighting) return [];
  const overlaps =
    sighting.firstMs <= usage.lastMs + HUMAN_OVERLAP_MS && usage.firstMs - HUMAN_OVERLAP_MS <= sighting.lastMs;
  return overlaps ? sighting.principals : [];
}

/** The reason line for people calling from the address at the same time (none when nobody does). */
export function humanReason(humans: string[], address: string): string[] {
  if (humans.length === 0) return [];
  const shown = humans.slice(0, 3).join(', ') + (humans.length > 3 ? ` and ${humans.length - 3} more` : '');
  return [`${address} is also used by ${shown} at the same time: a person's workstation or tooling, not the instance`];
}

function crossInstance(
  instanceId: string,
  address: string,
  other: string,
  confidence: Confidence,
  evidence: string,
  humans: string[],
): SourceJudgement {
  return {
    kind: 'cross-instance',
    confidence,
    owner: `instance ${other}`,
    otherInstanceId: other,
    reasons: [
      `${evidence}, not to ${instanceId}: the credential of ${instanceId} is being used on another instance`,
      ...humanReason(humans, address),
    ],
  };
}

/** Judges a usage of instance `instanceId`'s credential from `source`. */
export function judgeInstanceSource(
  instanceId: string,
  accountId: string,
  usage: Usage,
  source: SourceInfo,
  ctx: DetectionContext,
): SourceJudgement {
  if (serviceSideReason(usage, source) !== '') return { kind: 'aws-service' };
  if (source.class === 'allowed') return { kind: 'allowed' };
  const address = source.ip;
  const humans = humansAt(ctx, address, usage);
  const instance = ctx.ownership.instances.get(instanceId);

  if (source.class === 'public') {
    return {
      kind: 'outside',
      confidence: 'high',
      owner: 'not AWS, not allowlisted',
      reasons: [
        `${address} is in no AWS range (ip-ranges syncToken ${ctx.ipRangesSyncToken}), not private and not in allowedSourceCidrs`,
        ...humanReason(humans, address),
      ],
    };
  }

  if (source.class !== 'aws') {
    // private, special or not an address at all
    if (usage.vpcEndpointId === '') {
      const what =
        source.class === 'invalid'
          ? `"${address}" is not an IP address`
          : `${address} is ${source.rangeName || source.class}`;
      return {
        kind: 'unverifiable',
        confidence: 'low',
        owner: 'unverifiable',
        reasons: [
          `unverifiable source: ${what} and the call carries no vpcEndpointId, so no AWS network path delivered it — the log is sanitised or forged, or the address hides where the call came from`,
          ...humanReason(humans, address),
        ],
      };
    }
    return judgeEndpointPath(instanceId, accountId, usage, address, ctx);
  }

  // An address in AWS space: the instance's own, another instance's, or nobody's in the org.
  const owners = ownersDuring(ctx, address, usage);
  // Where the inventory lists the instance, it is the authority on the instance's current addresses:
  // learned evidence (agent sightings, repeated keys) only fills the gaps it cannot know — instances
  // gone before the snapshot, and addresses from before the instance's last start.
  const launchedMs = instance?.source.startsWith('inventory') ? Date.parse(instance.launchTime) : Number.NaN;
  const inventoryAuthoritative =
    ctx.ownership.accounts.has(accountId) && !Number.isNaN(launchedMs) && usage.lastMs >= launchedMs;
  const sightings = humans.length > 0 ? [] : (ctx.onBox.get(address) ?? []);
  const ownOwner = owners.find(
    (o) =>
      (o.kind === 'instance' && o.instanceId === instanceId) ||
      (o.kind === 'nat-gateway' && instance !== undefined && o.vpcId !== '' && o.vpcId === instance.vpcId),
  );
  if (ownOwner) return { kind: 'expected', reasons: [`${address} is ${describeOwner(ownOwner)} (${ownOwner.source})`] };
  if (!inventoryAuthoritative && sightings.some((s) => s.instanceId === instanceId)) {
    return { kind: 'expected', reasons: [`${instanceId}'s own SSM agent or identity role calls from ${address}`] };
  }

  const otherInstance = owners.find((o) => o.kind === 'instance' && o.instanceId !== instanceId);
  if (otherInstance) {
    return crossInstance(
      instanceId,
      address,
      otherInstance.instanceId,
      'high',
      `${address} belongs to ${describeOwner(otherInstance)} (${otherInstance.source})`,
      humans,
    );
  }
  const natOfOtherVpc = owners.find((o) => o.kind === 'nat-gateway');
  if (natOfOtherVpc) {
    if (!instance?.vpcId || !natOfOtherVpc.vpcId) {
      return {
        kind: 'undecided',
        reasons: [`${address} is ${describeOwner(natOfOtherVpc)}; cannot tell whether ${instanceId} runs behind it`],
      };
    }
    return {
      kind: 'cross-instance',
      confidence: 'medium',
      owner: describeOwner(natOfOtherVpc),
      reasons: [
        `${address} is ${describeOwner(natOfOtherVpc)}, but ${instanceId} runs in ${instance.vpcId}: the credential is used from another network of the org`,
      ],
    };
  }
  const orgOwned = owners.find((o) => o.accountId === '' || ctx.trustedAccounts.has(o.accountId));
  if (orgOwned) {
    return { kind: 'undecided', reasons: [`${address} is ${describeOwner(orgOwned)}, not tied to a known instance`] };
  }
  const ownKeys =
    humans.length > 0 || inventoryAuthoritative ? 0 : (ctx.instanceKeysByAddress.get(instanceId)?.get(address) ?? 0);
  if (ownKeys >= 2) {
    return {
      kind: 'expected',
      reasons: [
        `${ownKeys} different keys of ${instanceId}, vended at different times, were used from ${address}: its egress`,
      ],
    };
  }
  const sightedInstances = new Set(sightings.map((s) => s.instanceId));
  if (sightedInstances.size >= 2) {
    // Several instances' agents leave through this address: shared egress (a NAT), not one other box.
    return {
      kind: 'undecided',
      reasons: [
        `${address} is shared egress: the agents of ${[...sightedInstances].slice(0, 3).join(', ')} call from it`,
      ],
    };
  }
  const otherSighting = sightings.find((s) => s.instanceId !== instanceId);
  if (otherSighting) {
    return crossInstance(
      instanceId,
      address,
      otherSighting.instanceId,
      'medium',
      `${otherSighting.instanceId}'s own SSM agent or identity role calls from ${address}`,
      humans,
    );
  }

  const covered = ctx.ownership.accounts.has(accountId);
  const ownSightings = [...ctx.onBox.entries()]
    .filter(([a, list]) => a !== address && list.some((s) => s.instanceId === instanceId))
    .map(([a]) => a);
  const awsWhere = `${address} is in ${source.rangeName || 'AWS address space'}${source.awsRegion ? ` (${source.awsRegion})` : ''}`;
  if (covered) {
    return {
      kind: 'foreign-aws',
      confidence: 'high',
      owner: 'AWS address space outside the org',
      reasons: [
        `${awsWhere}, but no instance, NAT gateway, Elastic IP or interface of account ${accountId} in the inventory or CloudTrail holds it: someone else's AWS resource`,
        ...humanReason(humans, address),
      ],
    };
  }
  if (ownSightings.length > 0) {
    return {
      kind: 'foreign-aws',
      confidence: 'medium',
      owner: 'AWS address space, not the instance',
      reasons: [
        `${awsWhere}; ${instanceId}'s own agents call from ${ownSightings.slice(0, 3).join(', ')}, never from here`,
        `no inventory for account ${accountId || '?'}: cannot rule out an own NAT or Elastic IP missing from the evidence (pass --inventory)`,
        ...humanReason(humans, address),
      ],
    };
  }
  return {
    kind: 'foreign-aws',
    confidence: 'low',
    owner: 'unknown',
    reasons: [
      `${awsWhere}`,
      `no inventory for account ${accountId || '?'} and no on-box evidence for ${instanceId}: cannot tell own NAT or public IP from an attacker's EC2 (pass --inventory)`,
      ...humanReason(humans, address),
    ],
  };
}

/** A private source address arriving through a VPC endpoint. */
function judgeEndpointPath(
  instanceId: string,
  accountId: string,
  usage: Usage,
  address: string,
  ctx: DetectionContext,
): SourceJudgement {
  const endpointId = usage.vpcEndpointId;
  const endpointAccount = usage.vpcEndpointAccountId;
  if (endpointAccount !== '' && !ctx.trustedAccounts.has(endpointAccount)) {
    const declared = ctx.declaredAccounts.size > 0;
    return {
      kind: 'foreign-vpce',
      confidence: declared ? 'high' : 'medium',
      owner: `VPC endpoint ${endpointId} of account ${endpointAccount}`,
      reasons: [
        `the call came through VPC endpoint ${endpointId}, owned by account ${endpointAccount} (vpcEndpointAccountId), which is not one of the org's accounts: the credential is used inside someone else's network`,
        ...(declared
          ? []
          : [
              "the org's accounts were taken from the trail only: set trustedAccounts in the config (or pass --inventory) if this account is yours",
            ]),
      ],
    };
  }
  const known = ctx.ownership.vpcEndpoints.get(endpointId);
  if (!known && endpointAccount === '') {
    // Only an inventory lists all of an account's endpoints; one CreateVpcEndpoint in the trail does not.
    const inventoried = [...ctx.ownership.vpcEndpoints.values()].some(
      (e) => e.accountId === accountId && e.source.startsWith('inventory'),
    );
    if (inventoried) {
      return {
        kind: 'foreign-vpce',
        confidence: 'medium',
        owner: `VPC endpoint ${endpointId} (not in the inventory)`,
        reasons: [
          `the call came from private address ${address} through VPC endpoint ${endpointId}, which is not among account ${accountId}'s endpoints in the inventory`,
          'the record carries no vpcEndpointAccountId to confirm the owner (older eventVersion): an endpoint created after the inventory was taken looks the same',
        ],
      };
    }
    return {
      kind: 'undecided',
      reasons: [`private ${address} through ${endpointId}: no inventory of endpoints to check it against`],
    };
  }
  // Through one of the org's endpoints: the private address tells which instance made the call.
  const owners = ownersDuring(ctx, address, usage);
  if (owners.some((o) => o.kind === 'instance' && o.instanceId === instanceId)) {
    return {
      kind: 'expected',
      reasons: [`${address} is ${instanceId}'s private address, through the org's endpoint ${endpointId}`],
    };
  }
  const other = owners.find((o) => o.kind === 'instance');
  if (other) {
    return {
      kind: 'cross-instance',
      confidence: 'high',
      owner: `instance ${other.instanceId}`,
      otherInstanceId: other.instanceId,
      reasons: [
        `${address} is the private address of ${describeOwner(other)} (${other.source}), not of ${instanceId}: the credential is used on another instance, through the org's endpoint ${endpointId}`,
      ],
    };
  }
  return {
    kind: 'undecided',
    reasons: [`private ${address} through the org's endpoint ${endpointId}: no known instance holds it`],
  };
}
