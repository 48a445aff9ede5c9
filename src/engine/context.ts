import { classifyCredential, isInstanceCredential, type Credential } from '../cloudtrail/credential.js';
import type { VendingIndex } from '../cloudtrail/vending.js';
import { judgeInstanceSource } from '../detect/instance-source.js';
import type { Revocation } from '../detect/revocation.js';
import type { DetectionContext, HumanSighting, Observation, OnBoxSighting } from '../detect/types.js';
import type { Severity } from '../detect/finding.js';
import { isInternalKeyOperation } from '../detect/service-side.js';
import { operatingSystem } from '../detect/user-agents.js';
import { canonicalAddress, type OwnershipMap } from '../inventory/ownership.js';
import type { SourceClassifier } from '../net/source-class.js';
import type { Usage } from './usage.js';

/** Kinds decided from hints on some calls (user agent, inScopeOf) rather than from the key's vending event. */
const WORKLOAD_HINTED = new Set(['lambda', 'ecs-task', 'web-identity']);

/** Workloads whose own address is anchored by the first use of each of their keys. */
const FIRST_USE_KINDS = new Set(['ecs-task', 'eks-pod-identity']);

/** Kinds of credential a person holds: their addresses are workstations, never an instance's. */
const HUMAN_KINDS = new Set(['iam-user', 'root', 'sso', 'saml', 'federated-user']);
const SSM_SOURCES = ['ssm:', 'ec2messages:', 'ssmmessages:'];
const MAX_HUMANS_PER_ADDRESS = 20;
/** Role chains longer than this are not followed (AWS caps chaining at one hour anyway). */
const MAX_CHAIN = 5;

/**
 * Calls only the instance's own SSM agent makes. The identity role is deliberately not enough:
 * its credentials can be read from IMDS and stolen like the role's, and would then vouch for the thief.
 */
function isOnBoxAgentUsage(observation: Observation): boolean {
  const agent = [...observation.usage.userAgents].some((ua) => ua.includes('amazon-ssm-agent'));
  return (
    agent &&
    [...observation.usage.actions.keys()].some((action) => SSM_SOURCES.some((prefix) => action.startsWith(prefix)))
  );
}

export interface ContextInputs {
  usages: Iterable<Usage>;
  vending: VendingIndex;
  sources: SourceClassifier;
  ownership: OwnershipMap;
  trustedAccounts: Iterable<string>;
  recipientAccounts: Iterable<string>;
  revocations: Revocation[];
  ipRangesSyncToken: string;
  /** Severity of uncorroborated unverifiable sources (config `unverifiableSourceSeverity`, default low). */
  unverifiableSeverity?: Severity;
}

/**
 * Classifies every usage and derives what detectors need beyond a single usage: the
 * instances' on-box addresses, people's addresses, which keys belong to which instance,
 * role chains. Runs once, after every event (in whatever order) has been read.
 */
export function buildDetectionContext(inputs: ContextInputs): { ctx: DetectionContext; observations: Observation[] } {
  const observations: Observation[] = [];
  // A key's kind is a property of the key, not of one usage: the function's own calls say "Lambda"
  // (exec-env, inScopeOf) even when the thief's calls with the same key say nothing.
  const kindOfKey = new Map<string, Credential>();
  for (const usage of inputs.usages) {
    const credential = classifyCredential(usage.identity, usage.firstUserAgent, inputs.vending);
    observations.push({ usage, credential, source: inputs.sources.classify(usage.sourceIp) });
    if (credential.accessKeyId && !credential.vending && WORKLOAD_HINTED.has(credential.kind))
      kindOfKey.set(credential.accessKeyId, credential);
  }
  for (const observation of observations) {
    const hinted = kindOfKey.get(observation.credential.accessKeyId);
    if (hinted && observation.credential.kind === 'assumed-role') {
      observation.credential = {
        ...observation.credential,
        kind: hinted.kind,
        subject: hinted.subject,
        basis: [`${hinted.basis[0] ?? hinted.kind} (seen on other calls with key ${hinted.accessKeyId})`],
      };
    }
  }

  const keyOperatingSystems = new Map<string, Set<string>>();
  for (const { usage, credential } of observations) {
    if (!credential.accessKeyId || usage.invokedBy !== '' || isInternalKeyOperation(usage)) continue;
    for (const agent of usage.userAgents) {
      const os = operatingSystem(agent);
      if (os === '') continue;
      const set = keyOperatingSystems.get(credential.accessKeyId) ?? new Set<string>();
      set.add(os);
      keyOperatingSystems.set(credential.accessKeyId, set);
    }
  }

  const onBox = new Map<string, OnBoxSighting[]>();
  const humanAddresses = new Map<string, HumanSighting>();
  const instanceOfKey = new Map<string, string>();
  const keysAtAddress = new Map<string, Map<string, Set<string>>>();
  const roleDelivery = new Map<string, { with: number; without: number }>();
  for (const vending of inputs.vending.values()) {
    if (vending.issuer === 'ec2' && vending.sessionName)
      instanceOfKey.set(vending.accessKeyId, vending.sessionName.toLowerCase());
  }
  for (const observation of observations) {
    const { usage, credential, source } = observation;
    const address = canonicalAddress(source.ip);
    if (
      HUMAN_KINDS.has(credential.kind) &&
      (source.class === 'public' || source.class === 'aws' || source.class === 'allowed' || source.class === 'private')
    ) {
      const sighting = humanAddresses.get(address) ?? { principals: [], firstMs: usage.firstMs, lastMs: usage.lastMs };
      const who =
        credential.kind === 'iam-user'
          ? `IAM user ${credential.subject}`
          : `${credential.kind} session ${credential.sessionName || credential.subject}`;
      if (!sighting.principals.includes(who) && sighting.principals.length < MAX_HUMANS_PER_ADDRESS)
        sighting.principals.push(who);
      sighting.firstMs = Math.min(sighting.firstMs, usage.firstMs);
      sighting.lastMs = Math.max(sighting.lastMs, usage.lastMs);
      humanAddresses.set(address, sighting);
    }
    if (!isInstanceCredential(credential.kind)) continue;
    if (credential.accessKeyId) instanceOfKey.set(credential.accessKeyId, credential.instanceId);
    if (source.class === 'aws' && usage.invokedBy === '' && usage.clientFamily === '' && credential.accessKeyId) {
      const byAddress = keysAtAddress.get(credential.instanceId) ?? new Map<string, Set<string>>();
      const keys = byAddress.get(address) ?? new Set<string>();
      keys.add(credential.accessKeyId);
      byAddress.set(address, keys);
      keysAtAddress.set(credential.instanceId, byAddress);
    }
    // Learned only from AWS space or the org's endpoints: an address outside AWS is never an instance's own.
    const learnable = source.class === 'aws' || (source.class === 'private' && usage.vpcEndpointId !== '');
    if (learnable && usage.invokedBy === '' && isOnBoxAgentUsage(observation)) {
      const list = onBox.get(address) ?? [];
      const existing = list.find((s) => s.instanceId === credential.instanceId);
      if (existing) {
        existing.firstMs = Math.min(existing.firstMs, usage.firstMs);
        existing.lastMs = Math.max(existing.lastMs, usage.lastMs);
      } else {
        list.push({
          instanceId: credential.instanceId,
          accountId: usage.accountId,
          firstMs: usage.firstMs,
          lastMs: usage.lastMs,
        });
      }
      onBox.set(address, list);
    }
    if (credential.kind === 'ec2-instance' && credential.vending?.issuer === 'ec2' && credential.roleArn) {
      const profile = roleDelivery.get(credential.roleArn.toLowerCase()) ?? { with: 0, without: 0 };
      if (usage.ec2RoleDelivery.size > 0) profile.with += usage.calls;
      else profile.without += usage.calls;
      roleDelivery.set(credential.roleArn.toLowerCase(), profile);
    }
  }

  const declaredAccounts = new Set<string>([...inputs.trustedAccounts, ...inputs.ownership.accounts]);
  declaredAccounts.delete('');
  // The first use of each workload key, in AWS space or through an endpoint, and not where people call from.
  const firstUseOfKey = new Map<string, Observation>();
  for (const observation of observations) {
    const { credential, usage } = observation;
    if (!FIRST_USE_KINDS.has(credential.kind) || !credential.accessKeyId || usage.invokedBy !== '') continue;
    const current = firstUseOfKey.get(credential.accessKeyId);
    if (!current || usage.firstMs < current.usage.firstMs) firstUseOfKey.set(credential.accessKeyId, observation);
  }
  const workloadFirstUse = new Map<string, Set<string>>();
  for (const { credential, source, usage } of firstUseOfKey.values()) {
    const anchored = source.class === 'aws' || (source.class === 'private' && usage.vpcEndpointId !== '');
    if (!anchored || humanAddresses.has(canonicalAddress(source.ip))) continue;
    const set = workloadFirstUse.get(credential.subject) ?? new Set<string>();
    set.add(source.ip);
    workloadFirstUse.set(credential.subject, set);
  }

  const trustedAccounts = new Set<string>([...declaredAccounts, ...inputs.recipientAccounts]);
  trustedAccounts.delete('');
  const ctx: DetectionContext = {
    vending: inputs.vending,
    ipRangesSyncToken: inputs.ipRangesSyncToken,
    ownership: inputs.ownership,
    trustedAccounts,
    declaredAccounts,
    onBox,
    humanAddresses,
    instanceKeysByAddress: new Map(
      [...keysAtAddress].map(([instanceId, byAddress]) => [
        instanceId,
        new Map([...byAddress].map(([a, keys]) => [a, keys.size])),
      ]),
    ),
    instanceOfKey,
    workloadFirstUse,
    roleDelivery,
    revocations: inputs.revocations,
    keyOperatingSystems,
    unverifiableSeverity: inputs.unverifiableSeverity ?? 'low',
  };

  for (const observation of observations) {
    const { usage, credential, source } = observation;
    if (isInstanceCredential(credential.kind)) {
      observation.instance = {
        instanceId: credential.instanceId,
        judgement: judgeInstanceSource(credential.instanceId, usage.accountId, usage, source, ctx),
        chain: [],
      };
      continue;
    }
    const chain = chainToInstance(credential.accessKeyId, ctx);
    if (chain) {
      // Judged by the instance's account: a chain into another account still leaves from the instance's network.
      const instanceAccount =
        inputs.ownership.instances.get(chain.instanceId)?.accountId ||
        (ctx.vending.get(chain.keys[0]!)?.accountId ?? usage.accountId);
      observation.instance = {
        instanceId: chain.instanceId,
        judgement: judgeInstanceSource(chain.instanceId, instanceAccount || usage.accountId, usage, source, ctx),
        chain: chain.keys,
      };
    }
  }
  return { ctx, observations };
}

/** Follows AssumeRole calls back from a key to an instance's key, if the chain starts at one. */
function chainToInstance(
  accessKeyId: string,
  ctx: DetectionContext,
): { instanceId: string; keys: string[] } | undefined {
  const keys = [accessKeyId];
  let current = ctx.vending.get(accessKeyId);
  for (let depth = 0; current && current.issuer === 'caller' && depth < MAX_CHAIN; depth++) {
    const caller = current.callerAccessKeyId;
    if (!caller || keys.includes(caller)) return undefined;
    keys.unshift(caller);
    const instanceId = ctx.instanceOfKey.get(caller);
    if (instanceId) return { instanceId, keys };
    current = ctx.vending.get(caller);
  }
  return undefined;
}
