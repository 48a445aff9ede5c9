import type { Credential } from '../cloudtrail/credential.js';
import type { Usage } from '../engine/usage.js';
import type { SourceInfo } from '../net/source-class.js';
import type { Confidence } from './finding.js';
import { humanReason, humansAt } from './instance-source.js';
import type { DetectionContext } from './types.js';
import { isAwsInternalAgent, offensiveTooling } from './user-agents.js';

/**
 * Evidence, beyond where the address sits, that a credential is in someone else's hands. Each
 * signal stands on its own in public incident write-ups and none needs an inventory, so a finding
 * that the address alone leaves as a question ("no inventory: cannot tell own NAT from attacker
 * EC2") becomes a finding a responder acts on. docs/scoring.md explains how they count.
 */
export interface Corroboration {
  /** One line per signal, in words a responder can check. */
  signals: string[];
}

/** Calls denied to a usage before its denials count as probing: enumerate-iam and Pacu try hundreds. */
const PROBING_MIN_DENIED = 5;
const PROBING_MIN_SHARE = 0.3;
/** Regions a usage reaches before it counts as a sweep (instances talk to their own region, and us-east-1 for global services). */
const REGION_SWEEP = 3;

/** Distinct client programs on one key from one source, within CHURN_WINDOW_MS, that count as churn. */
const CHURN_PRODUCTS = 3;
const CHURN_WINDOW_MS = 60 * 60 * 1000;

/** The client program of a user agent: its first product token, with the SDK's own aliases folded. */
function clientProduct(userAgent: string): string {
  const token = /^\[?([A-Za-z][\w.-]*)/.exec(userAgent.trim())?.[1]?.toLowerCase() ?? '';
  if (token === 'botocore') return 'boto3';
  return token;
}

const CONFIDENCE_ORDER: readonly Confidence[] = ['low', 'medium', 'high'];

/** One step more confident per signal, capped at high. */
export function corroboratedConfidence(confidence: Confidence, signals: number): Confidence {
  const index = CONFIDENCE_ORDER.indexOf(confidence) + Math.min(signals, 2);
  return CONFIDENCE_ORDER[Math.min(index, CONFIDENCE_ORDER.length - 1)]!;
}

/** The region the instance runs in, from the vending event, inScopeOf or the inventory; '' when unknown. */
export function instanceRegion(instanceId: string, credential: Credential, ctx: DetectionContext): string {
  const fromInventory = ctx.ownership.instances.get(instanceId)?.region ?? '';
  if (fromInventory) return fromInventory;
  if (credential.vending?.issuer === 'ec2' && credential.vending.region) return credential.vending.region;
  return credential.issuedRegion;
}

function clip(list: string[], max = 3): string {
  return list.length > max ? `${list.slice(0, max).join(', ')} and ${list.length - max} more` : list.join(', ');
}

/**
 * The corroborating signals for a usage of `credential` from `source`. `workloadRegion` is the
 * region the workload runs in, when known.
 */
export function corroborate(
  usage: Usage,
  credential: Credential,
  source: SourceInfo,
  workloadRegion: string,
  ctx: DetectionContext,
): Corroboration {
  const signals: string[] = [];
  const agents = [...usage.userAgents];

  // Somebody's own keys on the same address in the same hour: the credential is on a person's machine.
  // Not where the instance's own agents call from too: that is a person working on the instance (a bastion).
  const humans = humansAt(ctx, source.ip, usage);
  const onTheInstance =
    credential.instanceId !== '' &&
    (ctx.onBox.get(source.ip) ?? []).some((s) => s.instanceId === credential.instanceId);
  if (!onTheInstance) signals.push(...humanReason(humans, source.ip));

  const tooling = [...new Set(agents.map(offensiveTooling).filter(Boolean))];
  if (tooling.length > 0) {
    signals.push(
      `the user agent names offensive tooling (${tooling.join(', ')}): no workload runs that; an intruder's workstation does`,
    );
  }

  const keyOs = credential.accessKeyId ? ctx.keyOperatingSystems.get(credential.accessKeyId) : undefined;
  if (keyOs && keyOs.size >= 2) {
    signals.push(
      `key ${credential.accessKeyId} is used by clients on ${[...keyOs].sort().join(' and ')}: one workload runs one operating system, so the key is in two places`,
    );
  }

  const products = [...new Set(agents.map(clientProduct).filter(Boolean))].sort();
  if (products.length >= CHURN_PRODUCTS && usage.lastMs - usage.firstMs <= CHURN_WINDOW_MS) {
    signals.push(
      `the user agent changes on key ${credential.accessKeyId || '(none)'} within ${Math.max(1, Math.round((usage.lastMs - usage.firstMs) / 60_000))} min: ${products.join(', ')} — a person trying tools, not a deployed workload`,
    );
  }

  if (
    source.class === 'aws' &&
    source.awsRegion &&
    workloadRegion &&
    !sameRegionFamily(source.awsRegion, workloadRegion)
  ) {
    signals.push(
      `${source.ip} is in ${source.awsRegion}, but the workload runs in ${workloadRegion}: its own egress would be in its own region`,
    );
  }
  if (usage.regions.size >= REGION_SWEEP) {
    signals.push(
      `calls reach ${usage.regions.size} regions (${clip([...usage.regions].sort())}): a region sweep, as enumeration tools do`,
    );
  }

  if (usage.deniedCalls >= PROBING_MIN_DENIED && usage.deniedCalls >= usage.calls * PROBING_MIN_SHARE) {
    signals.push(
      `${usage.deniedCalls} of ${usage.calls} calls were denied: permission probing, not a workload that knows its own policy`,
    );
  }

  if (
    agents.length > 0 &&
    agents.some(isAwsInternalAgent) &&
    (source.class === 'public' || source.class === 'invalid')
  ) {
    signals.push(
      `a user agent claiming to be AWS-internal from ${source.ip}, which is not AWS: AWS's services do not call from there`,
    );
  }
  return { signals };
}

/** Global services answer in us-east-1 (and the partition's first region) whatever region the caller is in. */
function sameRegionFamily(a: string, b: string): boolean {
  return a === b || a === 'GLOBAL' || b === 'GLOBAL';
}
