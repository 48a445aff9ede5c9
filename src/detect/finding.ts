/**
 * The finding contract (SPEC §4). Field names are relied on by scripts outside
 * the project: add fields, never rename them.
 */

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher number = more severe. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.length - SEVERITIES.indexOf(severity);
}

export function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}

export type Confidence = 'high' | 'medium' | 'low';

/** How the source address of a call was classified (see net/source-class.ts). */
export type SourceClass = 'aws-service' | 'aws' | 'allowed' | 'private' | 'special' | 'public' | 'invalid';

export type CredentialKind =
  | 'ec2-instance'
  | 'ec2-instance-identity'
  | 'ecs-task'
  | 'lambda'
  | 'eks-pod-identity'
  | 'web-identity'
  | 'sso'
  | 'saml'
  | 'assumed-role'
  | 'iam-user'
  | 'root'
  | 'federated-user'
  | 'aws-service'
  | 'unknown';

export interface Finding {
  /** Stable hash of the aggregation key: the same finding gets the same id from every engine. */
  id: string;
  detector: string;
  severity: Severity;
  confidence: Confidence;
  title: string;
  accountId: string;
  principal: {
    role: string;
    roleArn: string;
    sessionName: string;
    instanceId: string;
    accessKeyIds: string[];
    credentialKind: CredentialKind;
    /** ec2RoleDelivery values seen on the calls ("1.0" = fetched through IMDSv1). */
    ec2RoleDelivery: string[];
  };
  source: {
    ip: string;
    class: SourceClass;
    vpcEndpointId: string;
    vpcEndpointAccountId: string;
    /** Who owns the address, when known (inventory, evidence, AWS ranges). */
    owner: string;
  };
  activity: {
    calls: number;
    actions: string[];
    firstSeen: string;
    lastSeen: string;
    userAgents: string[];
    regions: string[];
    errorCount: number;
  };
  evidence: {
    eventIds: string[];
    /** True when more events matched than eventIds lists. */
    eventIdsTruncated: boolean;
    reasons: string[];
    /** syncToken of the AWS ip-ranges snapshot the source was judged against. */
    ipRangesSyncToken: string;
    /** Vending events (AssumeRole by ec2.amazonaws.com …) that tie the keys to the instance. */
    vendingEventIds: string[];
    /** Web-tier findings: every `path:line` (1-based) of the requests they cover. */
    locations?: string[];
    /** True when more requests matched than `locations` lists. */
    locationsTruncated?: boolean;
  };
  /** Web-tier findings: the first request the finding covers. */
  request?: { method: string; url: string; clientIp: string; status: number };
  attack: { technique: string; analytic: string; tactic: string };
  response: { commands: string[] };
}
