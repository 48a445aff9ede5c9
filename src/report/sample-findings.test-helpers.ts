import type { Finding } from '../detect/finding.js';

/** Nested partial: objects merge key by key, arrays and scalars replace. */
export type FindingOverrides = {
  [K in keyof Finding]?: Finding[K] extends unknown[]
    ? Finding[K]
    : Finding[K] extends object
      ? Partial<Finding[K]>
      : Finding[K];
};

/**
 * A complete, valid finding for tests: an EC2 instance-profile credential
 * used from a public address. Nested objects in `overrides` are merged into
 * the defaults (arrays replace), so `sampleFinding({ source: { ip: '1.2.3.4' } })`
 * keeps every other source field.
 */
export function sampleFinding(overrides: FindingOverrides = {}): Finding {
  const base: Finding = {
    id: 'f-0123456789abcdef',
    detector: 'ec2-credential-offbox',
    severity: 'high',
    confidence: 'high',
    title: 'EC2 instance credentials used outside AWS',
    accountId: '123456789012',
    principal: {
      role: 'web-app-role',
      roleArn: 'arn:aws:iam::123456789012:role/web-app-role',
      sessionName: 'i-0abc123def4567890',
      instanceId: 'i-0abc123def4567890',
      accessKeyIds: ['ASIAEXAMPLEKEY000001'],
      credentialKind: 'ec2-instance',
      ec2RoleDelivery: ['2.0'],
    },
    source: {
      ip: '203.0.113.7',
      class: 'public',
      vpcEndpointId: '',
      vpcEndpointAccountId: '',
      owner: '',
    },
    activity: {
      calls: 12,
      actions: ['sts:GetCallerIdentity', 's3:ListBuckets', 'iam:ListRoles'],
      firstSeen: '2025-01-15T10:00:00Z',
      lastSeen: '2025-01-15T10:42:00Z',
      userAgents: ['aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0'],
      regions: ['us-east-1'],
      errorCount: 1,
    },
    evidence: {
      eventIds: ['11111111-2222-3333-4444-555555555555'],
      eventIdsTruncated: false,
      reasons: ['credentials of instance i-0abc123def4567890 were used from 203.0.113.7, outside AWS'],
      ipRangesSyncToken: '1787433425',
      vendingEventIds: ['66666666-7777-8888-9999-000000000000'],
    },
    attack: {
      technique: 'T1552.005',
      analytic: 'instance credentials used off the instance',
      tactic: 'credential-access',
    },
    response: {
      commands: [
        'aws iam put-role-policy --role-name web-app-role --policy-name offbox-revoke-older-sessions --policy-document file://revoke.json',
      ],
    },
  };
  return {
    ...base,
    ...overrides,
    principal: { ...base.principal, ...overrides.principal },
    source: { ...base.source, ...overrides.source },
    activity: { ...base.activity, ...overrides.activity },
    evidence: { ...base.evidence, ...overrides.evidence },
    attack: { ...base.attack, ...overrides.attack },
    response: { ...base.response, ...overrides.response },
  };
}
