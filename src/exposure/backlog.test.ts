import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instanceCall, vendingEvent } from '../cloudtrail/events.test-helpers.js';
import { memoryObject } from '../engine/scan.test-helpers.js';
import { owner, OwnershipMap, type InstanceFacts, type RoleFacts } from '../inventory/ownership.js';
import { buildExposureReport, containerHostBasis, type ExposureItem, type ExposureReport } from './backlog.js';
import { exposureFinding } from './findings.js';
import { readCloudTrailForExposure } from './read.js';

const ACCOUNT = '111122223333';
const NOW = new Date('2024-05-02T00:00:00Z');

function roleFacts(name: string, policy: Record<string, unknown> | 'admin'): RoleFacts {
  return {
    roleName: name,
    roleId: `AROA${name.replace(/\W/g, '').toUpperCase()}`,
    arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
    accountId: ACCOUNT,
    instanceProfileArns: [`arn:aws:iam::${ACCOUNT}:instance-profile/${name}`],
    inlinePolicies: policy === 'admin' ? {} : { app: { Version: '2012-10-17', Statement: [policy] } },
    attachedPolicyArns: policy === 'admin' ? ['arn:aws:iam::aws:policy/AdministratorAccess'] : [],
    permissionsBoundaryArn: '',
  };
}

const ADMIN = roleFacts('admin-role', 'admin');
const DATA = roleFacts('data-role', { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' });
const NARROW = roleFacts('narrow-role', {
  Effect: 'Allow',
  Action: 'sqs:SendMessage',
  Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:q`,
});

function instance(instanceId: string, role: RoleFacts | undefined, fields: Partial<InstanceFacts> = {}): InstanceFacts {
  return {
    instanceId,
    accountId: ACCOUNT,
    region: 'us-east-1',
    vpcId: 'vpc-1',
    state: 'running',
    launchTime: '2024-01-01T00:00:00Z',
    instanceProfileArn: role?.instanceProfileArns[0] ?? '',
    privateIps: ['10.0.0.10'],
    publicIps: [],
    metadata: { httpTokens: 'optional', hopLimit: 1, httpEndpoint: 'enabled', httpProtocolIpv6: 'disabled' },
    tags: {},
    source: 'inventory test.json',
    ...fields,
  };
}

function inventory(instances: InstanceFacts[], roles: RoleFacts[] = [ADMIN, DATA, NARROW]): OwnershipMap {
  const map = new OwnershipMap();
  for (const i of instances) {
    map.instances.set(i.instanceId, i);
    for (const ip of i.publicIps)
      map.addAddress(
        ip,
        owner({
          kind: 'instance',
          scope: 'public',
          accountId: ACCOUNT,
          region: i.region,
          vpcId: i.vpcId,
          instanceId: i.instanceId,
          source: i.source,
        }),
      );
  }
  for (const r of roles) map.roles.set(r.arn.toLowerCase(), r);
  map.accounts.add(ACCOUNT);
  return map;
}

async function* objects(records: unknown[]) {
  yield memoryObject('trail.json', JSON.stringify({ Records: records }));
}

async function report(records: unknown[], ownership?: OwnershipMap): Promise<ExposureReport> {
  const reading = await readCloudTrailForExposure(objects(records), ownership ? { inventory: ownership } : {});
  return buildExposureReport({
    usages: reading.usages,
    vending: reading.vending,
    sourceJudgements: reading.sourceJudgements,
    ownership: reading.ownership,
    now: NOW,
  });
}

/** A vended key and n calls with it. */
function keyUse(
  instanceId: string,
  role: string,
  key: string,
  delivery: '1.0' | '2.0',
  n = 1,
  extra: Parameters<typeof instanceCall>[0] = {},
): Record<string, unknown>[] {
  return [
    vendingEvent({ sessionName: instanceId, role, accessKeyId: key }),
    ...Array.from({ length: n }, (_, i) =>
      instanceCall({
        instanceId,
        role,
        accessKeyId: key,
        ec2RoleDelivery: delivery,
        sourceIp: '54.80.0.10',
        eventTime: `2024-05-01T10:${String(10 + i).padStart(2, '0')}:00Z`,
        ...extra,
      }),
    ),
  ];
}

function item(r: ExposureReport, instanceId: string): ExposureItem {
  const found = r.items.find((i) => i.instanceId === instanceId);
  assert.ok(found, `${instanceId} not listed: ${r.items.map((i) => i.instanceId).join(', ')}`);
  return found;
}

describe('buildExposureReport: what is listed', () => {
  it('lists 1.0 deliveries and IMDSv1-allowing instances; never IMDSv2-only with only 2.0; skips terminated', async () => {
    const ids = {
      seen: 'i-0000000000000000a',
      allows: 'i-0000000000000000b',
      v2only: 'i-0000000000000000c',
      fixed: 'i-0000000000000000d',
      gone: 'i-0000000000000000e',
      off: 'i-0000000000000000f',
    };
    const required = { httpTokens: 'required', hopLimit: 1, httpEndpoint: 'enabled', httpProtocolIpv6: 'disabled' };
    const map = inventory([
      instance(ids.seen, ADMIN, { publicIps: ['54.80.0.10'] }),
      instance(ids.allows, DATA),
      instance(ids.v2only, ADMIN, { metadata: required }),
      instance(ids.fixed, DATA, { metadata: required }),
      instance(ids.gone, ADMIN, { state: 'terminated' }),
      instance(ids.off, ADMIN, { metadata: { ...required, httpTokens: 'optional', httpEndpoint: 'disabled' } }),
    ]);
    const r = await report(
      [
        ...keyUse(ids.seen, 'admin-role', 'ASIASEEN000000000001', '1.0', 3),
        ...keyUse(ids.seen, 'admin-role', 'ASIASEEN000000000002', '2.0', 2),
        ...keyUse(ids.v2only, 'admin-role', 'ASIAV2ONLY0000000001', '2.0', 5),
        ...keyUse(ids.fixed, 'data-role', 'ASIAFIXED00000000001', '1.0', 1),
        ...keyUse(ids.gone, 'admin-role', 'ASIAGONE000000000001', '1.0', 1),
      ],
      map,
    );
    assert.deepEqual(r.items.map((i) => i.instanceId).sort(), [ids.seen, ids.allows, ids.fixed].sort());
    assert.deepEqual(r.skipped, [{ instanceId: ids.gone, accountId: ACCOUNT, reason: 'terminated in the inventory' }]);

    const seen = item(r, ids.seen);
    assert.equal(seen.status, 'open');
    assert.equal(seen.severity, 'high');
    assert.equal(seen.confidence, 'high');
    assert.equal(seen.privilege.tier, 'admin-equivalent');
    assert.equal(seen.imdsv1.calls, 3);
    assert.deepEqual(seen.imdsv1.accessKeyIds, ['ASIASEEN000000000001']);
    assert.equal(seen.imdsv2.calls, 2);
    assert.equal(seen.reasons[0], 'admin-equivalent: AdministratorAccess attached');
    assert.ok(seen.reasons.some((x) => x.startsWith('ec2RoleDelivery 1.0') && x.includes('3 calls')));
    assert.ok(seen.reasons.some((x) => x.startsWith('clients on the instance still fetching through IMDSv1')));
    assert.equal(seen.rank, 1);
    assert.deepEqual(seen.commands, [
      `aws ec2 modify-instance-metadata-options --instance-id ${ids.seen} --http-tokens required --http-put-response-hop-limit 1 --http-endpoint enabled --region us-east-1`,
    ]);

    const fixed = item(r, ids.fixed);
    assert.equal(fixed.status, 'fixed-verify');
    assert.equal(fixed.severity, 'low');
    assert.equal(fixed.confidence, 'medium');
    assert.ok(fixed.reasons.some((x) => x.startsWith('fixed since: verify')));
    assert.match(fixed.commands[0]!, /^aws ec2 describe-instances --instance-ids i-0000000000000000d /);

    const allows = item(r, ids.allows);
    assert.equal(allows.status, 'open');
    assert.equal(allows.imdsv1.calls, 0);
    assert.equal(allows.severity, 'low', 'data-access one step lower without 1.0 seen');
    assert.ok(allows.reasons.some((x) => x.startsWith('no ec2RoleDelivery 1.0 call seen')));
  });

  it('without inventory: 1.0 is listed (privilege unknown, medium confidence), 2.0-only is not', async () => {
    const r = await report([
      ...keyUse('i-0dbc91f429e48eeed', 'app', 'ASIAV1KEY00000000001', '1.0', 2),
      ...keyUse('i-05c30218156bcc246', 'app', 'ASIAV2KEY00000000001', '2.0', 4),
    ]);
    assert.deepEqual(
      r.items.map((i) => i.instanceId),
      ['i-0dbc91f429e48eeed'],
    );
    const only = r.items[0]!;
    assert.equal(only.privilege.tier, 'unknown');
    assert.equal(only.severity, 'medium');
    assert.equal(only.confidence, 'medium');
    assert.equal(only.internet, 'unknown');
    assert.equal(only.region, 'us-east-1', 'region from the vending event');
    assert.ok(only.reasons.some((x) => /not in the inventory/.test(x)));
  });

  it('1.0 keys used from outside AWS point at offbox scan', async () => {
    const id = 'i-00000000000000011';
    const r = await report(
      [
        ...keyUse(id, 'data-role', 'ASIASTOLEN0000000001', '1.0', 1),
        instanceCall({
          instanceId: id,
          role: 'data-role',
          accessKeyId: 'ASIASTOLEN0000000001',
          ec2RoleDelivery: '1.0',
          sourceIp: '8.8.8.8',
        }),
      ],
      inventory([instance(id, DATA, { publicIps: ['54.80.0.10'] })]),
    );
    const reasons = item(r, id).reasons;
    assert.ok(
      reasons.some((x) => /^1 of the 1\.0 calls came from somewhere other than the instance/.test(x)),
      reasons.join('\n'),
    );
    assert.ok(
      reasons.some((x) => x.startsWith('clients on the instance')),
      reasons.join('\n'),
    );
  });

  it('role mismatch, stopped instances and no instance profile are explained', async () => {
    const a = 'i-00000000000000021';
    const b = 'i-00000000000000022';
    const r = await report(
      keyUse(a, 'admin-role', 'ASIAOLDROLE000000001', '1.0'),
      inventory([instance(a, NARROW, { state: 'stopped' }), instance(b, undefined)]),
    );
    const first = item(r, a);
    assert.equal(first.role.name, 'narrow-role', 'privilege follows the profile the instance holds now');
    assert.ok(
      first.reasons.some((x) =>
        x.includes('the calls used role admin-role; the instance profile now holds narrow-role'),
      ),
    );
    assert.ok(first.reasons.some((x) => x.includes('instance stopped')));
    const second = item(r, b);
    assert.equal(second.severity, 'info');
    assert.equal(second.role.source, 'none');
  });
});

describe('buildExposureReport: ranking and roll-ups', () => {
  it('every admin-equivalent item ranks above every narrow one, even a public narrow one with 1.0 seen', async () => {
    const adminQuiet = 'i-00000000000000031';
    const narrowLoud = 'i-00000000000000032';
    const dataSeen = 'i-00000000000000033';
    const adminSeen = 'i-00000000000000034';
    const r = await report(
      [
        ...keyUse(narrowLoud, 'narrow-role', 'ASIANARROW0000000001', '1.0', 50),
        ...keyUse(dataSeen, 'data-role', 'ASIADATA000000000001', '1.0', 5),
        ...keyUse(adminSeen, 'admin-role', 'ASIAADMIN00000000001', '1.0', 1),
      ],
      inventory([
        instance(adminQuiet, ADMIN),
        instance(narrowLoud, NARROW, { publicIps: ['54.80.0.10'] }),
        instance(dataSeen, DATA),
        instance(adminSeen, ADMIN),
      ]),
    );
    assert.deepEqual(
      r.items.map((i) => [i.rank, i.instanceId, i.severity, i.privilege.tier]),
      [
        [1, adminSeen, 'medium', 'admin-equivalent'],
        [2, dataSeen, 'medium', 'data-access'],
        [3, adminQuiet, 'low', 'admin-equivalent'],
        [4, narrowLoud, 'low', 'narrow'],
      ],
    );
    const admin = r.accounts[0]!;
    assert.deepEqual(
      { ...admin, regions: admin.regions },
      {
        accountId: ACCOUNT,
        role: '',
        roleArn: '',
        instances: 4,
        imdsv1Seen: 3,
        allowsOnly: 1,
        fixedVerify: 0,
        imdsv1Calls: 56,
        worstTier: 'admin-equivalent',
        worstSeverity: 'medium',
        regions: ['us-east-1'],
      },
    );
    assert.deepEqual(
      r.roles.map((x) => [x.role, x.instances, x.worstTier]),
      [
        ['admin-role', 2, 'admin-equivalent'],
        ['data-role', 1, 'data-access'],
        ['narrow-role', 1, 'narrow'],
      ],
    );
  });
});

describe('buildExposureReport: commands', () => {
  it('container hosts keep hop limit 2 with the reason; launch template and ASG get their commands, shell-quoted', async () => {
    const id = 'i-00000000000000041';
    const r = await report(
      keyUse(id, 'admin-role', 'ASIACONTAINER0000001', '1.0'),
      inventory([
        instance(id, ADMIN, {
          metadata: { httpTokens: 'optional', hopLimit: 2, httpEndpoint: 'enabled', httpProtocolIpv6: 'disabled' },
          tags: {
            'kubernetes.io/cluster/prod': 'owned',
            'aws:ec2launchtemplate:id': 'lt-0abc1234def567890',
            'aws:autoscaling:groupName': "nodes'; rm -rf / #",
          },
        }),
      ]),
    );
    const x = item(r, id);
    assert.equal(x.targetHopLimit, 2);
    assert.ok(x.reasons.some((s) => s.includes('hop limit 2 lets every container reach IMDS')));
    assert.deepEqual(x.commands, [
      '# hop limit 2: container host (tag kubernetes.io/cluster/prod): containers that use the instance role reach IMDS one hop further; use 1 if none needs it (IRSA, Pod Identity, ECS task roles)',
      `aws ec2 modify-instance-metadata-options --instance-id ${id} --http-tokens required --http-put-response-hop-limit 2 --http-endpoint enabled --region us-east-1`,
      `aws ec2 create-launch-template-version --launch-template-id lt-0abc1234def567890 --source-version '$Latest' --launch-template-data '{"MetadataOptions":{"HttpTokens":"required","HttpPutResponseHopLimit":2}}' --region us-east-1`,
      `aws autoscaling update-auto-scaling-group --auto-scaling-group-name 'nodes'\\''; rm -rf / #' --launch-template 'LaunchTemplateId=lt-0abc1234def567890,Version=$Latest' --region us-east-1`,
      `aws autoscaling start-instance-refresh --auto-scaling-group-name 'nodes'\\''; rm -rf / #' --region us-east-1`,
    ]);
  });

  it('an ASG without a launch template tag gets the describe hint; a bogus template id is ignored', async () => {
    const id = 'i-00000000000000042';
    const r = await report(
      [],
      inventory([
        instance(id, NARROW, {
          tags: { 'aws:autoscaling:groupName': 'web', 'aws:ec2launchtemplate:id': 'lt-$(reboot)' },
        }),
      ]),
    );
    const x = item(r, id);
    assert.equal(x.launchTemplateId, '');
    assert.equal(x.severity, 'info', 'narrow and allows-only');
    assert.ok(
      x.commands.some((c) =>
        c.startsWith('aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names web'),
      ),
    );
    assert.ok(
      x.commands.some((c) => c.startsWith('aws autoscaling start-instance-refresh --auto-scaling-group-name web')),
    );
    assert.ok(!x.commands.some((c) => c.includes('reboot')));
  });
});

describe('containerHostBasis', () => {
  it('recognises EKS/ECS tags, role names and ECS-on-EC2 clients; ignores lookalikes', () => {
    assert.deepEqual(containerHostBasis({ 'eks:cluster-name': 'prod' }, [], false), ['tag eks:cluster-name']);
    assert.deepEqual(containerHostBasis({ AmazonECSManaged: '' }, [], false), ['tag AmazonECSManaged']);
    assert.deepEqual(containerHostBasis({ 'aws:ecs:clusterName': 'c' }, [], false), ['tag aws:ecs:clusterName']);
    assert.deepEqual(containerHostBasis({}, ['ecsInstanceRole'], false), ['role/profile name ecsInstanceRole']);
    assert.deepEqual(containerHostBasis({}, ['eksctl-prod-nodegroup-NodeInstanceRole-1X'], false), [
      'role/profile name eksctl-prod-nodegroup-NodeInstanceRole-1X',
    ]);
    assert.deepEqual(containerHostBasis({}, ['eks-node-role'], false), ['role/profile name eks-node-role']);
    assert.deepEqual(containerHostBasis({}, [], true), ['calls from ECS on EC2 (exec-env/AWS_ECS_EC2)']);
    assert.deepEqual(
      containerHostBasis({ Name: 'checks-runner' }, ['decks-app', 'speck-role', 'nodejs-api'], false),
      [],
    );
  });

  it('ECS on EC2 user agents on the instance credential make it a container host', async () => {
    const id = 'i-00000000000000051';
    const r = await report(
      keyUse(id, 'data-role', 'ASIAECS0000000000001', '1.0', 1, {
        userAgent: 'aws-sdk-java/1.12.0 Linux/5.10 exec-env/AWS_ECS_EC2',
      }),
      inventory([instance(id, DATA)]),
    );
    assert.equal(item(r, id).targetHopLimit, 2);
  });
});

describe('exposureFinding', () => {
  it('keeps the finding contract: detector id, stable id, principal, evidence, commands, exposure details', async () => {
    const id = 'i-00000000000000061';
    const r = await report(
      keyUse(id, 'admin-role', 'ASIAFINDING000000001', '1.0', 2),
      inventory([instance(id, ADMIN)]),
    );
    const f = exposureFinding(item(r, id), 'sync-1');
    assert.equal(f.detector, 'imdsv1-credential-delivery');
    assert.match(f.id, /^[0-9a-f]{32}$/);
    assert.equal(f.id, exposureFinding(item(r, id), 'sync-2').id);
    assert.equal(f.principal.instanceId, id);
    assert.equal(f.principal.credentialKind, 'ec2-instance');
    assert.deepEqual(f.principal.ec2RoleDelivery, ['1.0']);
    assert.deepEqual(f.principal.accessKeyIds, ['ASIAFINDING000000001']);
    assert.equal(f.activity.calls, 2);
    assert.equal(f.evidence.reasons[0], 'admin-equivalent: AdministratorAccess attached');
    assert.equal(f.evidence.vendingEventIds.length, 1);
    assert.equal(f.exposure.tier, 'admin-equivalent');
    assert.equal(f.exposure.httpTokens, 'optional');
    assert.notEqual(f.severity, 'critical');
  });
});

/**
 * A call signed with the EC2 instance identity credential, shaped as CloudTrail logs it: the session
 * `assumed-role/aws:ec2-instance/i-…`, principalId `ACCOUNT:aws:ec2-instance:i-…`, a sessionIssuer naming the
 * reserved role, and ec2RoleDelivery. Real example: the public write-ups of Hack The Box's
 * "Heartbreaker-Denouement" trail (an SSRF read /identity-credentials/ec2/security-credentials/ec2-instance;
 * sts:GetCallerIdentity followed from outside with ec2RoleDelivery "1.0").
 */
function identityCall(
  instanceId: string,
  key: string,
  delivery: '1.0' | '2.0',
  fields: { eventTime?: string; sourceIp?: string; eventSource?: string; eventName?: string; region?: string } = {},
): Record<string, unknown> {
  return {
    eventVersion: '1.08',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `${ACCOUNT}:aws:ec2-instance:${instanceId}`,
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/aws:ec2-instance/${instanceId}`,
      accountId: ACCOUNT,
      accessKeyId: key,
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: `${ACCOUNT}:aws:ec2-instance`,
          arn: `arn:aws:iam::${ACCOUNT}:role/aws:ec2-instance`,
          accountId: ACCOUNT,
          userName: 'aws:ec2-instance',
        },
        webIdFederationData: {},
        attributes: { creationDate: '2024-05-01T09:08:12Z', mfaAuthenticated: 'false' },
        ec2RoleDelivery: delivery,
      },
    },
    eventTime: fields.eventTime ?? '2024-05-01T10:12:16Z',
    eventSource: fields.eventSource ?? 'sts.amazonaws.com',
    eventName: fields.eventName ?? 'GetCallerIdentity',
    awsRegion: fields.region ?? 'us-east-1',
    sourceIPAddress: fields.sourceIp ?? '35.169.66.138',
    userAgent:
      'aws-cli/1.29.54 md/Botocore#1.31.54 md/awscrt#1.0.0.dev0 ua/2.0 os/linux#6.3.0-kali1-cloud-amd64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy botocore/1.31.54',
    requestParameters: null,
    responseElements: null,
    requestID: 'd4b8759c-1d59-4136-a7eb-ac0e225b6d3e',
    eventID: `identity-${key}-${fields.eventTime ?? '10:12:16'}`,
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
  };
}

describe('buildExposureReport: the instance identity credential (aws:ec2-instance)', () => {
  it('its 1.0 delivery proves IMDSv1 open, with a reason saying so, even when the role keys are 2.0', async () => {
    const id = 'i-0bdf91168b50e943e';
    const r = await report([
      identityCall(id, 'ASIAIDENTITY00000001', '1.0'),
      identityCall(id, 'ASIAIDENTITY00000001', '1.0', { eventTime: '2024-05-01T10:12:34Z' }),
      ...keyUse(id, 'EC2DatabaseConnection', 'ASIAROLEV2KEY0000001', '2.0', 2),
    ]);
    const listed = item(r, id);
    assert.equal(listed.status, 'open');
    assert.equal(listed.imdsv1.calls, 2, 'identity 1.0 calls count as IMDSv1 deliveries');
    assert.equal(listed.identityImdsv1.calls, 2);
    assert.deepEqual(listed.identityImdsv1.accessKeyIds, ['ASIAIDENTITY00000001']);
    assert.equal(listed.imdsv2.calls, 2);
    assert.equal(
      listed.role.name,
      'EC2DatabaseConnection',
      'the role comes from the role keys, never aws:ec2-instance',
    );
    const line = listed.reasons.find((x) => x.startsWith('ec2RoleDelivery 1.0 on the instance identity credential'));
    assert.ok(line, listed.reasons.join('\n'));
    assert.match(line, /aws:ec2-instance\/i-0bdf91168b50e943e/);
    assert.match(line, /2 calls with ASIAIDENTITY00000001 from 2024-05-01T10:12:16Z to 2024-05-01T10:12:34Z/);
    assert.ok(
      !listed.reasons.some((x) => x.startsWith('ec2RoleDelivery 1.0 (credentials fetched through IMDSv1)')),
      'no role-key 1.0 line: the role keys were 2.0',
    );
    assert.ok(listed.reasons.some((x) => x.startsWith('ec2RoleDelivery 2.0: 2 calls')));
    assert.ok(
      listed.reasons.some((x) => /^1 of the 1\.0 calls|^2 of the 1\.0 calls/.test(x)),
      'used from outside AWS: the theft is pointed at offbox scan',
    );
    const finding = exposureFinding(listed, 'sync');
    assert.equal(finding.exposure.identityImdsv1Calls, 2);
    assert.equal(finding.exposure.imdsv1Calls, 2);
    assert.match(finding.title, /2 calls with 1\.0 keys/);
  });

  it('counts both credentials when both came through IMDSv1, and keeps their lines apart', async () => {
    const id = 'i-00000000000000031';
    const r = await report(
      [
        ...keyUse(id, 'data-role', 'ASIAROLEV1KEY0000001', '1.0', 3),
        identityCall(id, 'ASIAIDENTITY00000002', '1.0', {
          eventSource: 'ssm.amazonaws.com',
          eventName: 'UpdateInstanceInformation',
          sourceIp: '54.80.0.10',
        }),
      ],
      inventory([instance(id, DATA, { publicIps: ['54.80.0.10'] })]),
    );
    const listed = item(r, id);
    assert.equal(listed.imdsv1.calls, 4);
    assert.equal(listed.identityImdsv1.calls, 1);
    assert.deepEqual(listed.imdsv1.accessKeyIds, ['ASIAIDENTITY00000002', 'ASIAROLEV1KEY0000001']);
    assert.ok(
      listed.reasons.some((x) => x.startsWith('ec2RoleDelivery 1.0 (credentials fetched') && x.includes('3 calls')),
    );
    assert.ok(
      listed.reasons.some(
        (x) => x.startsWith('ec2RoleDelivery 1.0 on the instance identity credential') && x.includes('1 call '),
      ),
    );
    assert.equal(listed.role.name, 'data-role');
    assert.equal(listed.role.source, 'inventory');
  });

  it('identity 1.0 on an instance the inventory now shows IMDSv2-only is fixed-verify; 2.0 alone is not listed', async () => {
    const fixed = 'i-00000000000000032';
    const v2only = 'i-00000000000000033';
    const required = { httpTokens: 'required', hopLimit: 1, httpEndpoint: 'enabled', httpProtocolIpv6: 'disabled' };
    const r = await report(
      [identityCall(fixed, 'ASIAIDENTITY00000003', '1.0'), identityCall(v2only, 'ASIAIDENTITY00000004', '2.0')],
      inventory([instance(fixed, DATA, { metadata: required }), instance(v2only, DATA, { metadata: required })]),
    );
    assert.deepEqual(
      r.items.map((i) => i.instanceId),
      [fixed],
    );
    assert.equal(item(r, fixed).status, 'fixed-verify');
    assert.equal(item(r, fixed).severity, 'low');
  });

  it('without inventory identity-only 1.0 is listed (role unknown); with an inventory showing no profile it is info', async () => {
    const bare = 'i-00000000000000034';
    const unknown = 'i-00000000000000035';
    const withoutInventory = await report([identityCall(unknown, 'ASIAIDENTITY00000005', '1.0')]);
    const u = item(withoutInventory, unknown);
    assert.equal(u.role.source, 'none');
    assert.equal(u.severity, 'medium', 'a role may exist: not known');
    assert.ok(!u.reasons.some((x) => x.includes('aws:ec2-instance') && x.startsWith('role')));

    const noProfile = await report(
      [identityCall(bare, 'ASIAIDENTITY00000006', '1.0')],
      inventory([instance(bare, undefined)]),
    );
    const b = item(noProfile, bare);
    assert.equal(b.severity, 'info');
    assert.equal(b.status, 'open');
    assert.ok(b.reasons.some((x) => x.startsWith('ec2RoleDelivery 1.0 on the instance identity credential')));
  });

  it('the SSM agent calling with the identity credential gives the instance region', async () => {
    const id = 'i-00000000000000036';
    const r = await report([
      identityCall(id, 'ASIAIDENTITY00000007', '1.0', {
        eventSource: 'ssm.amazonaws.com',
        eventName: 'UpdateInstanceInformation',
        region: 'eu-west-1',
        sourceIp: '52.16.0.10',
      }),
    ]);
    assert.equal(item(r, id).region, 'eu-west-1');
    assert.match(item(r, id).commands.at(-1)!, /--region eu-west-1$/);
  });
});
