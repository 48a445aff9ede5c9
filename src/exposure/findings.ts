import type { Finding } from '../detect/finding.js';
import { findingId } from '../engine/findings.js';
import type { ExposureItem } from './backlog.js';
import type { PrivilegeTier } from './privilege.js';

/** The stable detector id (SPEC §2). */
export { EXPOSURE_DETECTOR_ID } from '../detect/registry.js';
import { EXPOSURE_DETECTOR_ID } from '../detect/registry.js';
export const EXPOSURE_TITLE = 'Instance credentials delivered through IMDSv1';

/** The backlog fields scripts may want beyond the finding contract (added, never renamed). */
export interface ExposureDetails {
  rank: number;
  status: ExposureItem['status'];
  tier: PrivilegeTier;
  score: number;
  explanation: string;
  imdsv1Calls: number;
  /** Of `imdsv1Calls`, those made with the instance identity credential (aws:ec2-instance). */
  identityImdsv1Calls: number;
  imdsv2Calls: number;
  imdsv2AccessKeyIds: string[];
  httpTokens: string;
  hopLimit: number | null;
  httpEndpoint: string;
  internet: ExposureItem['internet'];
  publicIps: string[];
  containerHost: boolean;
  targetHopLimit: 1 | 2;
  region: string;
  name: string;
  state: string;
  launchTemplateId: string;
  autoScalingGroup: string;
}

/** A finding of `imdsv1-credential-delivery` with the backlog details. */
export interface ExposureFinding extends Finding {
  exposure: ExposureDetails;
}

/**
 * One finding per instance. The id hashes (detector, account, role ARN, instance id, no source):
 * the same instance keeps its id across runs while its role stays the same.
 */
export function exposureFinding(item: ExposureItem, ipRangesSyncToken: string): ExposureFinding {
  const roleArn = item.role.arn || item.role.name;
  const title =
    `${EXPOSURE_TITLE}: ${item.instanceId} (${item.role.name || 'no role'}) — ${item.privilege.tier}, ` +
    (item.status === 'fixed-verify'
      ? 'IMDSv2 required since the 1.0 calls (verify)'
      : item.imdsv1.calls > 0
        ? `${item.imdsv1.calls} call${item.imdsv1.calls === 1 ? '' : 's'} with 1.0 keys`
        : 'IMDSv1 allowed');
  const deliveries = [item.imdsv1.calls > 0 ? '1.0' : '', item.imdsv2.calls > 0 ? '2.0' : ''].filter(Boolean);
  return {
    id: findingId({
      detector: EXPOSURE_DETECTOR_ID,
      accountId: item.accountId,
      roleArn,
      subject: item.instanceId,
      sourceIp: '',
      vpcEndpointId: '',
    }),
    detector: EXPOSURE_DETECTOR_ID,
    severity: item.severity,
    confidence: item.confidence,
    title,
    accountId: item.accountId,
    principal: {
      role: item.role.name,
      roleArn: item.role.arn,
      sessionName: item.instanceId,
      instanceId: item.instanceId,
      accessKeyIds: item.imdsv1.accessKeyIds,
      credentialKind: 'ec2-instance',
      ec2RoleDelivery: deliveries,
    },
    // An exposure has no calling address; 'invalid' is what the classifiers give an empty one.
    source: { ip: '', class: 'invalid', vpcEndpointId: '', vpcEndpointAccountId: '', owner: '' },
    activity: {
      calls: item.imdsv1.calls,
      actions: item.imdsv1.actions,
      firstSeen: item.imdsv1.firstSeen,
      lastSeen: item.imdsv1.lastSeen,
      userAgents: item.imdsv1.userAgents,
      regions: item.imdsv1.regions,
      errorCount: item.imdsv1.errorCount,
    },
    evidence: {
      eventIds: item.imdsv1.eventIds,
      eventIdsTruncated: item.imdsv1.eventIdsTruncated,
      reasons: item.reasons,
      ipRangesSyncToken,
      vendingEventIds: item.imdsv1.vendingEventIds,
    },
    attack: { technique: 'T1552.005', analytic: 'AN0960', tactic: 'Credential Access' },
    response: { commands: item.commands },
    exposure: {
      rank: item.rank,
      status: item.status,
      tier: item.privilege.tier,
      score: item.privilege.score,
      explanation: item.privilege.explanation,
      imdsv1Calls: item.imdsv1.calls,
      identityImdsv1Calls: item.identityImdsv1.calls,
      imdsv2Calls: item.imdsv2.calls,
      imdsv2AccessKeyIds: item.imdsv2.accessKeyIds,
      httpTokens: item.metadata?.httpTokens ?? '',
      hopLimit: item.metadata?.hopLimit ?? null,
      httpEndpoint: item.metadata?.httpEndpoint ?? '',
      internet: item.internet,
      publicIps: item.publicIps,
      containerHost: item.containerBasis.length > 0,
      targetHopLimit: item.targetHopLimit,
      region: item.region,
      name: item.name,
      state: item.state,
      launchTemplateId: item.launchTemplateId,
      autoScalingGroup: item.autoScalingGroup,
    },
  };
}
