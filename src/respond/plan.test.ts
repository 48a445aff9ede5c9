import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../errors.js';
import { OwnershipMap, type InstanceFacts } from '../inventory/ownership.js';
import { sampleFinding } from '../report/sample-findings.test-helpers.js';
import { instanceResponseCommands } from './commands.js';
import { buildContainmentPlan, type ContainInput, type ContainmentPlan } from './plan.js';
import { roleRevokeStatement } from './policy.js';

const NOW = new Date('2025-01-15T12:00:00.000Z');
const INSTANCE = 'i-0abc123def4567890';
const ROLE_ID = 'AROAEXAMPLEROLEID0001';

function plan(overrides: Partial<ContainInput> = {}): ContainmentPlan {
  return buildContainmentPlan({
    role: 'web-app-role',
    instanceId: INSTANCE,
    region: 'us-east-1',
    now: NOW,
    ...overrides,
  });
}

function step(p: ContainmentPlan, id: string) {
  const found = p.steps.find((s) => s.id === id);
  assert.ok(found, `step ${id}`);
  return found;
}

/** Runs commands in sh with a stand-in `aws` that prints its arguments one per line (and a role id for get-role). */
function runWithStandInAws(commands: readonly string[]): string[] {
  const stub = `aws() { if [ "$1 $2" = "iam get-role" ]; then printf '%s\\n' ${ROLE_ID}; else printf '%s\\n' "$@"; fi; }`;
  return execFileSync('/bin/sh', ['-c', `${stub}\n${commands.join('\n')}`])
    .toString()
    .split('\n');
}

function documentPut(commands: readonly string[]): unknown {
  const printed = runWithStandInAws(commands);
  const at = printed.lastIndexOf('--policy-document');
  assert.ok(at >= 0, printed.join('\n'));
  return JSON.parse(printed[at + 1]!);
}

function inventoryWith(instance: Partial<InstanceFacts>, roleId = ROLE_ID): OwnershipMap {
  const map = new OwnershipMap();
  map.instances.set(INSTANCE, {
    instanceId: INSTANCE,
    accountId: '123456789012',
    region: 'eu-west-1',
    vpcId: 'vpc-1',
    state: 'running',
    launchTime: '',
    instanceProfileArn: 'arn:aws:iam::123456789012:instance-profile/web-app-role',
    privateIps: [],
    publicIps: [],
    metadata: { httpTokens: 'optional', hopLimit: 2, httpEndpoint: 'enabled', httpProtocolIpv6: 'disabled' },
    tags: {},
    source: 'inventory test',
    ...instance,
  });
  map.roles.set('arn:aws:iam::123456789012:role/web-app-role', {
    roleName: 'web-app-role',
    roleId,
    arn: 'arn:aws:iam::123456789012:role/web-app-role',
    accountId: '123456789012',
    instanceProfileArns: ['arn:aws:iam::123456789012:instance-profile/web-app-role'],
    inlinePolicies: {},
    attachedPolicyArns: [],
    permissionsBoundaryArn: '',
  });
  return map;
}

describe('buildContainmentPlan', () => {
  it('orders the steps revoke, close the path, verify; --apply calls PutRolePolicy then ModifyInstanceMetadataOptions', () => {
    const p = plan();
    assert.deepEqual(
      p.steps.map((s) => s.id),
      ['revoke', 'close-path', 'verify'],
    );
    assert.deepEqual(
      p.steps.map((s) => s.sdkCall?.operation),
      ['PutRolePolicy', 'ModifyInstanceMetadataOptions', undefined],
    );
    assert.deepEqual(step(p, 'close-path').sdkCall?.input, {
      InstanceId: INSTANCE,
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 1,
      HttpEndpoint: 'enabled',
    });
  });

  it('revokes before now by default: the command fills in the time when it runs', () => {
    const p = plan();
    assert.equal(p.target.cutoffIsNow, true);
    assert.equal(p.target.issuedBefore, NOW.toISOString());
    const document = documentPut(step(p, 'revoke').commands) as { Statement: { Condition: unknown }[] };
    const cutoff = (document.Statement[0]!.Condition as { DateLessThan: Record<string, string> }).DateLessThan[
      'aws:TokenIssueTime'
    ]!;
    assert.match(cutoff, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(document, { Version: '2012-10-17', Statement: [roleRevokeStatement(cutoff)] });
  });

  it('puts exactly the console document with --issued-before, normalised as the console writes times', () => {
    const p = plan({ issuedBefore: '2025-01-15T11:00:00Z' });
    assert.equal(p.target.issuedBefore, '2025-01-15T11:00:00.000Z');
    const revoke = step(p, 'revoke');
    assert.deepEqual(documentPut(revoke.commands), JSON.parse(revoke.policyDocument!));
    assert.equal(revoke.sdkCall?.input['PolicyDocument'], revoke.policyDocument);
  });

  it('--narrow denies only the instance, looking the role id up in the command when it is not known', () => {
    const p = plan({ narrow: true, issuedBefore: '2025-01-15T11:00:00Z' });
    assert.equal(p.target.scope, 'instance');
    const revoke = step(p, 'revoke');
    assert.ok(
      revoke.commands.some((c) => c.startsWith('ROLE_ID="$(aws iam get-role --role-name web-app-role')),
      'the role id is looked up',
    );
    const document = documentPut(revoke.commands) as {
      Statement: { Condition: Record<string, Record<string, string>> }[];
    };
    assert.equal(document.Statement[0]!.Condition['StringLike']!['aws:userId'], `${ROLE_ID}:${INSTANCE}`);
    assert.equal(revoke.alternative?.title, 'Wider: deny every session of role web-app-role');
  });

  it('offers the narrow deny as the alternative of the role-wide revoke, with the trade-offs', () => {
    const revoke = step(plan({ roleId: ROLE_ID }), 'revoke');
    assert.match(revoke.alternative?.title ?? '', /Narrower \(--narrow\)/);
    const notes = revoke.notes.join('\n');
    for (const expected of [/legitimate ones too/, /Service-linked roles/, /few minutes/, /moves the cutoff/]) {
      assert.match(notes, expected);
    }
    assert.doesNotMatch(revoke.alternative!.commands.join('\n'), /get-role --role-name/, 'the role id is known');
  });

  it('refuses --narrow without an instance, a future or unreadable cutoff, and a malformed --role-id', () => {
    assert.throws(() => plan({ narrow: true, instanceId: '' }), UsageError);
    assert.throws(() => plan({ issuedBefore: '2025-01-16T00:00:00Z' }), /in the future/);
    assert.throws(() => plan({ issuedBefore: 'yesterday' }), /not a time/);
    assert.throws(() => plan({ roleId: 'AIDAUSERNOTROLE' }), /not a role id/);
  });

  it('a service-linked role cannot be revoked: the step is blocked and the plan says so', () => {
    const p = plan({
      role: 'arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS',
    });
    assert.equal(p.target.serviceLinked, true);
    assert.equal(p.target.roleName, 'AWSServiceRoleForECS');
    assert.equal(p.target.accountId, '123456789012');
    assert.match(step(p, 'revoke').blocked, /service-linked role: AWS does not allow revoking its sessions/);
    assert.ok(
      p.warnings.some((w) => /service-linked/.test(w)),
      'a service-linked warning',
    );
  });

  it('takes the role id, account, region, launch template and Auto Scaling group from the inventory', () => {
    const p = plan({
      region: undefined,
      inventory: inventoryWith({
        tags: { 'aws:ec2launchtemplate:id': 'lt-0123456789abcdef0', 'aws:autoscaling:groupName': 'web' },
      }),
    });
    assert.equal(p.target.roleId, ROLE_ID);
    assert.equal(p.target.accountId, '123456789012');
    assert.equal(p.target.region, 'eu-west-1');
    const followUp = step(p, 'close-path').followUp.join('\n');
    assert.match(
      followUp,
      /create-launch-template-version --launch-template-id lt-0123456789abcdef0 .*--region eu-west-1/,
    );
    assert.match(followUp, /update-auto-scaling-group --auto-scaling-group-name web /);
    assert.match(followUp, /start-instance-refresh --auto-scaling-group-name web --region eu-west-1/);
    assert.ok(
      step(p, 'close-path').notes.some((n) => /HttpTokens optional, hop limit 2/.test(n)),
      'the inventory state is noted',
    );
  });

  it('gives a generic launch template hint without inventory, and links the SSRF finding of the same instance', () => {
    const ssrf = sampleFinding({
      id: 'f-ssrf',
      detector: 'imds-ssrf-attempt',
      title: 'Metadata service SSRF attempt',
      principal: { instanceId: INSTANCE, role: '', roleArn: '' },
    });
    const p = plan({ relatedFindings: [ssrf], db: 'case.db' });
    const followUp = step(p, 'close-path').followUp.join('\n');
    assert.match(followUp, /aws:ec2launchtemplate:id/);
    assert.match(followUp, /imds-ssrf-attempt finding f-ssrf/);
    assert.match(followUp, /offbox findings show f-ssrf --db case\.db/);
    assert.equal(p.related[0]?.id, 'f-ssrf');
  });

  it('takes the region from the finding, warns about chained roles and a cutoff before the first use', () => {
    const finding = sampleFinding({
      activity: { actions: ['sts:AssumeRole', 's3:ListBuckets'], firstSeen: '2025-01-15T10:00:00Z' },
      response: {
        commands: instanceResponseCommands({
          roleName: 'web-app-role',
          accountId: '123456789012',
          instanceId: INSTANCE,
          region: 'ap-south-1',
        }),
      },
    });
    const p = plan({ region: undefined, finding, issuedBefore: '2025-01-15T09:00:00Z' });
    assert.equal(p.target.region, 'ap-south-1');
    assert.equal(p.evidence?.findingId, finding.id);
    assert.ok(
      p.warnings.some((w) => /not after the stolen credential's first use/.test(w)),
      'a cutoff warning',
    );
    assert.ok(
      step(p, 'revoke').notes.some((n) => /sts:AssumeRole/.test(n)),
      'a chained-role note',
    );
  });

  it('without an instance, step 2 says how to find it and --apply has nothing to call', () => {
    const p = plan({ instanceId: '', roleId: ROLE_ID, accountId: '123456789012' });
    const closePath = step(p, 'close-path');
    assert.equal(closePath.sdkCall, undefined);
    assert.match(
      closePath.commands.join('\n'),
      /iam-instance-profile\.arn,Values=arn:aws:iam::123456789012:instance-profile\/web-app-role/,
    );
    assert.ok(
      p.warnings.some((w) => /no instance given/.test(w)),
      'a missing-instance warning',
    );
  });

  it('quotes a hostile role name so a shell passes it as one argument and runs nothing in it', () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'offbox-contain-')), 'pwned');
    const roleName = `x'; touch ${marker}; '$(touch ${marker})`;
    const p = plan({ role: roleName });
    assert.equal(p.target.roleNameValid, false);
    assert.ok(
      p.warnings.some((w) => /not a valid IAM role name/.test(w)),
      'an invalid-name warning',
    );
    assert.match(step(p, 'revoke').blocked, /not one IAM accepts/);
    const printed = runWithStandInAws(p.steps.flatMap((s) => s.commands.filter((c) => c.startsWith('aws iam'))));
    assert.ok(printed.includes(roleName), 'the name reaches aws as one argument');
    assert.equal(existsSync(marker), false, 'nothing in the name ran');
  });

  it('rolls back by deleting the policy and re-enabling IMDSv1, saying what each means', () => {
    const p = plan();
    assert.ok(
      p.rollback.commands.includes(
        'aws iam delete-role-policy --role-name web-app-role --policy-name AWSRevokeOlderSessions',
      ),
      'the delete command',
    );
    assert.ok(
      p.rollback.commands.some((c) => /--http-tokens optional --region us-east-1$/.test(c)),
      'the IMDSv1 command',
    );
    assert.match(p.rollback.notes.join('\n'), /does no harm/);
  });
});

/** A finding on the instance identity credential, as the engine writes it from CloudTrail. */
function identityFinding(overrides: Parameters<typeof sampleFinding>[0] = {}) {
  return sampleFinding({
    id: 'f-identity',
    detector: 'instance-credential-outside-aws',
    title: `Instance credential used outside AWS: ${INSTANCE} (aws:ec2-instance) from 35.169.66.138`,
    principal: {
      role: 'aws:ec2-instance',
      roleArn: 'arn:aws:iam::123456789012:role/aws:ec2-instance',
      sessionName: INSTANCE,
      instanceId: INSTANCE,
      accessKeyIds: ['ASIA52GPOBQCD6DF76FQ'],
      credentialKind: 'ec2-instance-identity',
      ec2RoleDelivery: ['1.0'],
    },
    activity: { actions: ['sts:GetCallerIdentity'], regions: ['us-east-1'] },
    response: {
      commands: instanceResponseCommands({
        roleName: 'aws:ec2-instance',
        accountId: '123456789012',
        instanceId: INSTANCE,
        region: '',
        callRegions: ['us-east-1'],
      }),
    },
    ...overrides,
  });
}

describe('buildContainmentPlan: the instance identity credential', () => {
  const noIamOnIdentityRole = (p: ContainmentPlan): void => {
    const all = [
      ...p.steps.flatMap((s) => [...s.commands, ...s.followUp, ...(s.alternative?.commands ?? [])]),
      ...p.rollback.commands,
    ];
    for (const c of all.filter((c) => c.startsWith('aws iam ') || c.includes('$(aws iam ')))
      assert.doesNotMatch(c, /aws:ec2-instance/, c);
    for (const s of p.steps) assert.notEqual(s.sdkCall?.input['RoleName'], 'aws:ec2-instance');
  };

  it('--role aws:ec2-instance: says it cannot be revoked, revokes nothing it cannot know, closes, isolates, verifies', () => {
    const p = plan({ role: 'aws:ec2-instance', region: 'us-east-2', accountId: '123456789012' });
    assert.equal(p.target.credential, 'instance-identity');
    assert.equal(p.target.roleName, '');
    assert.deepEqual(
      p.steps.map((s) => s.id),
      ['revoke', 'close-path', 'isolate', 'verify'],
    );
    assert.ok(p.identity);
    assert.equal(p.identity.sessionArn, `arn:aws:sts::123456789012:assumed-role/aws:ec2-instance/${INSTANCE}`);
    assert.match(p.identity.cannotRevoke, /not subject to any identity or resource policy/);
    assert.match(p.identity.lifetime, /AWS does not document how long/);
    assert.ok(p.warnings.some((w) => /no policy can revoke it/.test(w)));
    const revoke = step(p, 'revoke');
    assert.equal(revoke.sdkCall, undefined, '--apply has no IAM call to make');
    assert.match(revoke.blocked, /instance profile is not known/);
    assert.match(revoke.commands.join('\n'), /IamInstanceProfile\.Arn.*--region us-east-2/);
    assert.match(revoke.followUp.join('\n'), /default-ec2-instance-management-role .*--region us-east-2/);
    assert.equal(step(p, 'close-path').sdkCall?.operation, 'ModifyInstanceMetadataOptions');
    const isolate = step(p, 'isolate');
    assert.equal(isolate.sdkCall, undefined, 'never applied');
    assert.match(
      isolate.commands.join('\n'),
      /create-security-group --group-name offbox-isolation-i-0abc123def4567890/,
    );
    assert.match(isolate.notes.join('\n'), /tracked are not cut by a security group change/);
    assert.match(
      isolate.followUp.join('\n'),
      /create-snapshots --instance-specification InstanceId=i-0abc123def4567890/,
    );
    noIamOnIdentityRole(p);
  });

  it('every EC2 and Auto Scaling command of the plan names the region', () => {
    const p = plan({ role: 'aws:ec2-instance', region: 'us-east-2', instanceRole: 'EC2DatabaseConnection' });
    const all = [...p.steps.flatMap((s) => [...s.commands, ...s.followUp]), ...p.rollback.commands];
    const regional = all.filter((c) => /^(aws (ec2|autoscaling|ssm) |VPC="\$\(|SG=|for ENI)/.test(c));
    assert.ok(regional.length > 10);
    for (const c of regional) assert.match(c, /--region us-east-2/, c);
    for (const c of all.filter((c) => c.startsWith('aws iam '))) assert.doesNotMatch(c, /--region/, c);
  });

  it('revokes the profile role named by --instance-role, the inventory, or a finding on the same instance', () => {
    const byOption = plan({
      role: 'aws:ec2-instance',
      instanceRole: 'EC2DatabaseConnection',
      accountId: '123456789012',
    });
    assert.equal(byOption.target.roleName, 'EC2DatabaseConnection');
    assert.equal(byOption.target.profileRoleSource, '--instance-role');
    const revoke = step(byOption, 'revoke');
    assert.equal(revoke.sdkCall?.input['RoleName'], 'EC2DatabaseConnection');
    assert.match(revoke.title, /instance profile of i-0abc123def4567890/);
    assert.match(revoke.why, /no policy can revoke/);
    noIamOnIdentityRole(byOption);

    const byInventory = plan({ role: 'aws:ec2-instance', region: undefined, inventory: inventoryWith({}) });
    assert.equal(byInventory.target.roleName, 'web-app-role');
    assert.equal(byInventory.target.roleId, ROLE_ID);
    assert.equal(byInventory.target.region, 'eu-west-1');
    assert.equal(byInventory.target.vpcId, '');
    assert.match(byInventory.target.profileRoleSource, /inventory/);

    const sibling = sampleFinding({
      id: 'f-profile',
      principal: { role: 'db-role', roleArn: 'arn:aws:iam::123456789012:role/db-role' },
    });
    const byFinding = plan({ role: 'aws:ec2-instance', instanceFindings: [sibling, identityFinding()] });
    assert.equal(byFinding.target.roleName, 'db-role');
    assert.equal(byFinding.target.profileRoleSource, 'finding f-profile');
  });

  it('--finding on an identity finding: the identity plan, region only from the calls and said so', () => {
    const p = plan({
      role: 'arn:aws:iam::123456789012:role/aws:ec2-instance',
      region: undefined,
      finding: identityFinding(),
    });
    assert.equal(p.target.credential, 'instance-identity');
    assert.equal(p.target.accountId, '123456789012');
    assert.equal(p.target.region, 'us-east-1');
    assert.equal(p.target.regionSource, 'calls');
    assert.ok(p.warnings.some((w) => /where the finding's calls went/.test(w)));
    assert.ok(step(p, 'close-path').commands[0]!.startsWith('# region us-east-1 is where the finding'));
    noIamOnIdentityRole(p);
  });

  it('a session ARN names the instance; an identity role without an instance is refused', () => {
    const p = buildContainmentPlan({
      role: `arn:aws:sts::123456789012:assumed-role/aws:ec2-instance/${INSTANCE}`,
      now: NOW,
    });
    assert.equal(p.target.instanceId, INSTANCE);
    assert.equal(p.target.accountId, '123456789012');
    assert.equal(p.target.region, '');
    assert.match(step(p, 'close-path').commands.at(-1)!, / --region REGION$/);
    assert.throws(() => buildContainmentPlan({ role: 'aws:ec2-instance', now: NOW }), UsageError);
    assert.throws(() => plan({ role: 'aws:ec2-instance', instanceRole: 'aws:ec2-instance' }), UsageError);
  });

  it('an inventory without an instance profile: nothing to revoke, said so', () => {
    const p = plan({ role: 'aws:ec2-instance', inventory: inventoryWith({ instanceProfileArn: '' }) });
    assert.equal(p.target.roleName, '');
    assert.match(step(p, 'revoke').blocked, /no instance profile/);
  });
});
