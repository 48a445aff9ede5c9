/**
 * Held-out tests for `instance-credential-foreign-aws`: a stolen EC2 instance-profile key used from the
 * attacker's own EC2 instance, i.e. from AWS address space that the org does not hold.
 *
 * Public evidence reproduced here:
 * - AWS GuardDuty finding type `UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.InsideAWS`
 *   (GuardDuty docs, "GuardDuty IAM finding types"): credentials created exclusively for an EC2 instance
 *   through a launch instance role are used from a different AWS account's EC2 address.
 * - hackingthe.cloud, "Bypass Credential Exfiltration Detection" (Nick Frichette): run the stolen
 *   credentials from your own EC2 instance so that the source address is an AWS one.
 * - CloudTrail userIdentity reference: `sessionContext.ec2RoleDelivery` "1.0"/"2.0" says how the key was
 *   fetched from IMDS (not where it is used); one instance may hold several keys at once.
 * - The EC2 vending record (`AssumeRole` by `ec2.amazonaws.com`, session name = instance id) as in the
 *   Invictus/Stratus Red Team trail (`ec2-steal-instance-credentials`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allocateAddress,
  assertNoFinding,
  assertNothingSerious,
  assertReason,
  assertVerdictStable,
  associateAddress,
  associateNatGatewayAddress,
  at,
  ATTACKER,
  atLeast,
  BATCH,
  byDetector,
  describeAddresses,
  describeInstances,
  ec2Vending,
  iamUserCall,
  identityRoleCall,
  instanceRoleCall,
  inventoryFrom,
  NAT,
  only,
  ORG,
  orgInventory,
  orgInventoryDocuments,
  reasonsMatch,
  runInstances,
  scan,
  sessionCall,
  SOURCES,
  ssmHeartbeat,
  UA,
  WEB,
  WORKER_A,
  WORKER_B,
} from './scenario.test-helpers.js';

const DETECTOR = 'instance-credential-foreign-aws';
/** An EC2 us-east-1 address (44.192.0.0/11) that the org does not hold at the time of the attack. */
const EAST_EC2 = '44.205.10.4';
/** An EC2 us-east-1 IPv6 address (2600:1f18::/33). */
const EAST_EC2_V6 = '2600:1f18:4a3f:9e00:1c2d:3e4f:5a6b:7c8d';

/** The stolen-key session from the attacker's EC2: whoami, then a look around, then data. */
function attackerCalls(key: string, sourceIp: string, delivery = '1.0', userAgent = UA.boto3) {
  return [
    instanceRoleCall(WEB, {
      accessKeyId: key,
      ec2RoleDelivery: delivery,
      sourceIp,
      eventTime: at('10:41:07'),
      userAgent,
    }),
    instanceRoleCall(WEB, {
      accessKeyId: key,
      ec2RoleDelivery: delivery,
      sourceIp,
      eventTime: at('10:41:52'),
      eventSource: 's3.amazonaws.com',
      eventName: 'ListBuckets',
      userAgent,
    }),
    instanceRoleCall(WEB, {
      accessKeyId: key,
      ec2RoleDelivery: delivery,
      sourceIp,
      eventTime: at('10:43:10'),
      eventSource: 'secretsmanager.amazonaws.com',
      eventName: 'GetSecretValue',
      requestParameters: { secretId: 'prod/web/db-credentials' },
      userAgent,
    }),
  ];
}

/** WEB's own agent and application traffic from its public address. */
function webOnBox(key = WEB.keyV2) {
  return [
    ec2Vending(WEB, key, at('09:58')),
    ssmHeartbeat(WEB, { accessKeyId: key, sourceIp: WEB.publicIp, eventTime: at('10:00:03') }),
    instanceRoleCall(WEB, {
      accessKeyId: key,
      sourceIp: WEB.publicIp,
      eventTime: at('10:02:44'),
      eventSource: 's3.amazonaws.com',
      eventName: 'PutObject',
      userAgent: UA.boto3,
      readOnly: false,
    }),
  ];
}

describe('scenario addresses', () => {
  it('are what the tests claim in the vendored ip-ranges snapshot', () => {
    for (const ip of [
      WEB.publicIp,
      BATCH.publicIp,
      NAT.publicIp,
      NAT.secondPublicIp,
      ATTACKER.ec2,
      ATTACKER.ec2Eu,
      EAST_EC2,
      EAST_EC2_V6,
    ]) {
      const source = SOURCES.classify(ip);
      assert.equal(source.class, 'aws', `${ip} must be in AWS space`);
      assert.deepEqual(source.awsServices.includes('EC2'), true, `${ip} must be an EC2 address`);
    }
    for (const ip of [ATTACKER.hetzner, ATTACKER.digitalOcean, ATTACKER.hetznerV6]) {
      assert.equal(SOURCES.classify(ip).class, 'public', `${ip} must be public and outside AWS`);
    }
    for (const ip of [WEB.privateIp, WORKER_A.privateIp, ATTACKER.privateIp]) {
      assert.equal(SOURCES.classify(ip).class, 'private');
    }
  });
});

describe(DETECTOR, () => {
  it('fires when an EC2-vended key is used from the attacker’s own EC2 instance (GuardDuty InsideAWS)', async () => {
    const vending = ec2Vending(WEB, WEB.keyV1, at('09:58'));
    const result = await scan([[vending, ...webOnBox(), ...attackerCalls(WEB.keyV1, ATTACKER.ec2)]], {
      inventory: orgInventory(),
    });
    const f = only(result, DETECTOR);
    assert.equal(f.accountId, ORG.account);
    assert.equal(f.principal.instanceId, WEB.instanceId);
    assert.equal(f.principal.role, WEB.role);
    assert.equal(f.principal.credentialKind, 'ec2-instance');
    assert.deepEqual(f.principal.accessKeyIds, [WEB.keyV1]);
    assert.deepEqual(f.principal.ec2RoleDelivery, ['1.0']);
    assert.equal(f.source.ip, ATTACKER.ec2);
    assert.equal(f.source.class, 'aws');
    assert.equal(f.confidence, 'high');
    assert.equal(
      f.severity,
      'critical',
      'high (inventory proves the address is not the org’s), raised for recon, secrets and IMDSv1',
    );
    assert.equal(f.activity.calls, 3);
    assert.deepEqual(f.activity.actions, ['s3:ListBuckets', 'secretsmanager:GetSecretValue', 'sts:GetCallerIdentity']);
    assert.equal(f.activity.firstSeen, at('10:41:07'));
    assert.equal(f.activity.lastSeen, at('10:43:10'));
    assert.deepEqual(f.evidence.vendingEventIds, [vending['eventID']]);
    assertReason(f, /54\.148\.200\.12 is in AWS.*us-west-2/, 'says where the address is');
    assertReason(
      f,
      /no instance, NAT gateway, Elastic IP or interface of account 111122223333/,
      'says which ownership fact is missing',
    );
    assertReason(f, /vended to i-0a1b2c3d4e5f60718 by EC2/, 'anchors the key to the instance');
    assertReason(f, /IMDSv1/, 'explains the raise');
    assert.deepEqual(byDetector(result, 'instance-credential-outside-aws'), [], 'an AWS address is not "outside AWS"');
    assert.ok(f.response.commands.some((c) => c.includes('AWSRevokeOlderSessions')));
  });

  it('names the address class once (no "AWS AWS EC2" in the reason)', async () => {
    const result = await scan([[ec2Vending(WEB, WEB.keyV1, at('09:58')), ...attackerCalls(WEB.keyV1, ATTACKER.ec2)]], {
      inventory: orgInventory(),
    });
    const f = only(result, DETECTOR);
    assert.ok(!reasonsMatch(f, /AWS AWS/), f.evidence.reasons.join('\n'));
  });

  describe('does not fire on the org’s own addresses', () => {
    it('the instance’s own public address, its NAT gateway’s EIP for many instances, AWS-on-behalf calls', async () => {
      const result = await scan(
        [
          [
            ...webOnBox(),
            ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
            ec2Vending(WORKER_B, WORKER_B.key, at('09:41')),
            // Many instances behind one NAT EIP: normal.
            instanceRoleCall(WORKER_A, {
              accessKeyId: WORKER_A.key,
              sourceIp: NAT.publicIp,
              eventTime: at('10:10'),
              eventSource: 'sqs.amazonaws.com',
              eventName: 'ReceiveMessage',
              userAgent: UA.javaV2,
            }),
            instanceRoleCall(WORKER_B, {
              accessKeyId: WORKER_B.key,
              sourceIp: NAT.publicIp,
              eventTime: at('10:11'),
              eventSource: 's3.amazonaws.com',
              eventName: 'PutObject',
              userAgent: UA.goV2,
            }),
            ssmHeartbeat(WORKER_B, { accessKeyId: WORKER_B.key, sourceIp: NAT.publicIp, eventTime: at('10:12') }),
            // KMS called by S3 on the session's behalf.
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV2,
              sourceIp: 's3.amazonaws.com',
              invokedBy: 's3.amazonaws.com',
              eventTime: at('10:02:45'),
              eventSource: 'kms.amazonaws.com',
              eventName: 'GenerateDataKey',
              userAgent: 's3.amazonaws.com',
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });

    it('a second NAT EIP added during the day (AllocateAddress + AssociateNatGatewayAddress) is the NAT’s', async () => {
      const result = await scan(
        [
          [
            allocateAddress({
              publicIp: NAT.secondPublicIp,
              allocationId: NAT.secondAllocationId,
              eventTime: at('08:30'),
            }),
            associateNatGatewayAddress({
              natGatewayId: NAT.id,
              allocationId: NAT.secondAllocationId,
              eni: NAT.secondEni,
              eventTime: at('08:31'),
            }),
            ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
            instanceRoleCall(WORKER_A, {
              accessKeyId: WORKER_A.key,
              sourceIp: NAT.secondPublicIp,
              eventTime: at('10:10'),
              eventSource: 'sqs.amazonaws.com',
              eventName: 'ReceiveMessage',
              userAgent: UA.javaV2,
            }),
          ],
        ],
        // The inventory was taken yesterday: it knows only the first EIP.
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
    });

    it('EKS nodes: pods using the node role from the node’s address are benign, with or without inventory', async () => {
      // Pods without IRSA/Pod Identity fall back to the node's instance profile through IMDS (hop limit 2).
      const pods = [
        'aws-sdk-go/1.50.8 (go1.21.6; linux; amd64) amazon-vpc-cni-k8s/v1.16.4',
        'aws-sdk-go-v2/1.24.1 os/linux lang/go#1.21.6 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.142.0 aws-ebs-csi-driver/v1.27.0',
        UA.boto3,
        UA.javaV2,
      ].map((userAgent, i) =>
        instanceRoleCall(WORKER_A, {
          accessKeyId: WORKER_A.key,
          sourceIp: NAT.publicIp,
          eventTime: at(`10:2${i}`),
          eventSource: i < 2 ? 'ec2.amazonaws.com' : 's3.amazonaws.com',
          eventName: i < 2 ? 'DescribeNetworkInterfaces' : 'GetObject',
          userAgent,
        }),
      );
      const records = [
        ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
        ssmHeartbeat(WORKER_A, { accessKeyId: WORKER_A.key, sourceIp: NAT.publicIp, eventTime: at('09:45') }),
        ...pods,
      ];
      assertNothingSerious(await scan([records], { inventory: orgInventory() }));
      assertNothingSerious(await scan([records]));
    });
  });

  describe('traps', () => {
    it('several keys of one instance: only the stolen IMDSv1 key is reported, the on-box IMDSv2 key is not', async () => {
      const result = await scan(
        [[...webOnBox(WEB.keyV2), ec2Vending(WEB, WEB.keyV1, at('10:15')), ...attackerCalls(WEB.keyV1, ATTACKER.ec2)]],
        { inventory: orgInventory() },
      );
      const f = only(result, DETECTOR);
      assert.deepEqual(f.principal.accessKeyIds, [WEB.keyV1]);
      assert.deepEqual(f.principal.ec2RoleDelivery, ['1.0']);
      assertReason(f, /IMDSv1/, 'IMDSv1 delivery raises severity');
      assertNothingSerious({
        ...result,
        findings: result.findings.filter((x) => x.principal.accessKeyIds.includes(WEB.keyV2)),
      });
    });

    it('an Elastic IP first allocated and associated AFTER the attack does not excuse the attack (CloudTrail evidence)', async () => {
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV1, at('09:58')),
            ...attackerCalls(WEB.keyV1, EAST_EC2),
            // 12:30: the org happens to get that address from the pool and puts it on WEB.
            allocateAddress({ publicIp: EAST_EC2, allocationId: 'eipalloc-0b7c8d9e0f1a2b3c4', eventTime: at('12:30') }),
            associateAddress({
              allocationId: 'eipalloc-0b7c8d9e0f1a2b3c4',
              instanceId: WEB.instanceId,
              eventTime: at('12:31'),
            }),
            ec2Vending(WEB, WEB.keyV2, at('12:35')),
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV2,
              sourceIp: EAST_EC2,
              eventTime: at('12:40'),
              eventSource: 's3.amazonaws.com',
              eventName: 'PutObject',
              userAgent: UA.boto3,
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      const f = only(result, DETECTOR);
      assert.deepEqual(f.principal.accessKeyIds, [WEB.keyV1]);
      assert.equal(f.confidence, 'high');
      // The later, legitimate use from the then-own EIP is not a finding.
      assert.ok(
        !result.findings.some((x) => x.principal.accessKeyIds.includes(WEB.keyV2)),
        'the 12:40 use is the instance’s own',
      );
    });

    it('an inventory snapshot taken after the attack does not excuse it when CloudTrail shows the EIP arrived later', async () => {
      const docs = orgInventoryDocuments();
      const base = `inventory/${ORG.account}/${ORG.region}`;
      // Snapshot taken at 13:00: WEB now holds EAST_EC2 as an Elastic IP.
      docs[0] = [
        `${base}/describe-instances.json`,
        describeInstances(ORG.account, [
          {
            instanceId: WEB.instanceId,
            privateIp: WEB.privateIp,
            publicIp: EAST_EC2,
            eni: WEB.eni,
            profileArn: WEB.profileArn,
          },
        ]),
      ];
      docs.push([
        `${base}/describe-addresses.json`,
        describeAddresses(ORG.account, [
          {
            publicIp: EAST_EC2,
            allocationId: 'eipalloc-0b7c8d9e0f1a2b3c4',
            instanceId: WEB.instanceId,
            eni: WEB.eni,
            privateIp: WEB.privateIp,
          },
        ]),
      ]);
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV1, at('09:58')),
            ...attackerCalls(WEB.keyV1, EAST_EC2),
            allocateAddress({
              publicIp: EAST_EC2,
              allocationId: 'eipalloc-0b7c8d9e0f1a2b3c4',
              eventTime: at('12:30'),
            }),
            associateAddress({
              allocationId: 'eipalloc-0b7c8d9e0f1a2b3c4',
              instanceId: WEB.instanceId,
              eventTime: at('12:31'),
            }),
          ],
        ],
        { inventory: inventoryFrom(docs) },
      );
      const f = only(result, DETECTOR);
      assert.ok(atLeast(f.severity, 'high'));
    });

    it('a RunInstances after the attack that hands the attacker’s IPv6 address to a new instance neither excuses nor re-attributes the attack', async () => {
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV1, at('09:58')),
            ...attackerCalls(WEB.keyV1, EAST_EC2_V6),
            runInstances({
              instanceId: 'i-0f2e4d6c8b0a13579',
              privateIp: '10.20.8.90',
              ipv6: EAST_EC2_V6,
              eventTime: at('11:30'),
              byAutoScaling: true,
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      const f = only(result, DETECTOR);
      assert.equal(f.source.ip, EAST_EC2_V6);
      assert.equal(f.confidence, 'high');
      assertNoFinding(result, 'instance-credential-cross-instance');
    });

    it('an address also used by an IAM user at the same time is not learned as the instance’s, even if the calls claim to be the SSM agent', async () => {
      const result = await scan(
        [
          [
            ...webOnBox(),
            ec2Vending(WEB, WEB.keyV1, at('10:15')),
            // The attacker's box: the stolen key, dressed up as the SSM agent, and a person's IAM user key.
            ssmHeartbeat(WEB, {
              accessKeyId: WEB.keyV1,
              sourceIp: ATTACKER.ec2,
              eventTime: at('10:40'),
              ec2RoleDelivery: '1.0',
            }),
            iamUserCall({ userName: 'dev-alice', sourceIp: ATTACKER.ec2, eventTime: at('10:42') }),
            ...attackerCalls(WEB.keyV1, ATTACKER.ec2),
          ],
        ],
        { inventory: orgInventory() },
      );
      const f = only(result, DETECTOR);
      assert.ok(atLeast(f.severity, 'high'));
      assertReason(f, /IAM user dev-alice/, 'names the person seen at the address');
    });

    it('a usage cannot vouch for its own address: SSM-agent-looking calls from the attacker’s EC2 do not make it the instance’s', async () => {
      const result = await scan(
        [
          [
            ...webOnBox(),
            ec2Vending(WEB, WEB.keyV1, at('10:15')),
            // One ssm call with the agent's user agent is enough: the rest is plain boto3.
            ssmHeartbeat(WEB, {
              accessKeyId: WEB.keyV1,
              sourceIp: ATTACKER.ec2,
              eventTime: at('10:40'),
              ec2RoleDelivery: '1.0',
            }),
            ...attackerCalls(WEB.keyV1, ATTACKER.ec2),
          ],
        ],
        { inventory: orgInventory() },
      );
      const f = only(result, DETECTOR);
      assert.ok(atLeast(f.severity, 'high'));
    });

    it('stolen instance identity credentials (aws:ec2-instance) used from the attacker’s EC2 are a finding and vouch for nothing', async () => {
      const result = await scan(
        [
          [
            ...webOnBox(),
            ec2Vending(WEB, WEB.keyV1, at('10:15')),
            identityRoleCall(WEB.instanceId, {
              accessKeyId: 'ASIA3XFRBF23IDENT9K2',
              sourceIp: ATTACKER.ec2,
              eventTime: at('10:39'),
              userAgent: UA.boto3,
            }),
            ...attackerCalls(WEB.keyV1, ATTACKER.ec2),
          ],
        ],
        { inventory: orgInventory() },
      );
      const findings = byDetector(result, DETECTOR);
      assert.ok(
        findings.some((f) => f.principal.accessKeyIds.includes(WEB.keyV1)),
        'the role key from the attacker’s EC2',
      );
      assert.ok(
        findings.some((f) => f.principal.credentialKind === 'ec2-instance-identity'),
        'the identity credential itself',
      );
    });
  });

  describe('without inventory', () => {
    it('still fires, with medium confidence, when the instance’s own agents anchor it elsewhere, and says inventory was missing', async () => {
      const result = await scan([
        [...webOnBox(), ec2Vending(WEB, WEB.keyV1, at('10:15')), ...attackerCalls(WEB.keyV1, ATTACKER.ec2SameRegion)],
      ]);
      const f = only(result, DETECTOR);
      assert.equal(f.confidence, 'medium');
      assert.ok(atLeast(f.severity, 'medium'));
      assertReason(f, /own agents call from 54\.236\.41\.17/, 'names the anchor');
      assertReason(f, /no inventory.*--inventory/, 'says what evidence was missing');
    });

    it('with no on-box evidence either, it is a low-confidence question that says what is missing', async () => {
      const result = await scan([
        [ec2Vending(WEB, WEB.keyV1, at('09:58')), ...attackerCalls(WEB.keyV1, ATTACKER.ec2SameRegion)],
      ]);
      const f = only(result, DETECTOR);
      assert.equal(f.confidence, 'low');
      assert.equal(f.severity, 'low', 'a question: its calls alone do not raise it');
      assertReason(f, /no inventory.*no on-box evidence/, 'says what evidence was missing');
    });

    it('an address in another region than the instance’s corroborates it', async () => {
      const result = await scan([[ec2Vending(WEB, WEB.keyV1, at('09:58')), ...attackerCalls(WEB.keyV1, ATTACKER.ec2)]]);
      const f = only(result, DETECTOR);
      assert.equal(f.confidence, 'medium');
      assert.ok(atLeast(f.severity, 'medium'));
      assertReason(f, /is in us-west-2, but the workload runs in us-east-1/, 'names both regions');
    });

    it('stolen identity credentials (aws:ec2-instance) from the attacker’s EC2 with Kali’s CLI: as strong as the role’s', async () => {
      const kali =
        'aws-cli/2.13.25 Python/3.11.6 Linux/6.5.0-kali3-amd64 source/x86_64.kali.2023 prompt/off command/ec2.describe-instances';
      const result = await scan([
        [
          identityRoleCall(WEB.instanceId, {
            accessKeyId: 'ASIA3XFRBF23IDENT9K2',
            sourceIp: ATTACKER.ec2SameRegion,
            eventTime: at('10:39'),
            userAgent: kali,
          }),
          identityRoleCall(WEB.instanceId, {
            accessKeyId: 'ASIA3XFRBF23IDENT9K2',
            sourceIp: ATTACKER.ec2SameRegion,
            eventTime: at('10:40'),
            userAgent: kali,
            eventSource: 'ec2.amazonaws.com',
            eventName: 'DescribeInstances',
          }),
        ],
      ]);
      const f = only(result, DETECTOR);
      assert.equal(f.principal.credentialKind, 'ec2-instance-identity');
      assert.equal(f.confidence, 'medium');
      assert.ok(atLeast(f.severity, 'high'), `${f.severity}: medium, raised for reconnaissance`);
      assertReason(f, /offensive tooling \(Kali Linux\)/, 'names the tooling');
      const commands = f.response.commands;
      assert.ok(
        !commands.some((c) =>
          /iam put-role-policy --role-name 'aws:ec2-instance'|--role-name aws:ec2-instance/.test(c),
        ),
      );
      assert.ok(
        commands.some((c) => /cannot be revoked/.test(c)),
        'says plainly what cannot be revoked',
      );
      for (const c of commands.filter((line) => line.startsWith('aws ec2 '))) assert.match(c, /--region \S+/, c);
    });

    it('the identity credential’s response revokes the instance profile role the trail shows EC2 vending to the same instance', async () => {
      const result = await scan([
        [
          ec2Vending(WEB, WEB.keyV2, at('09:00')),
          identityRoleCall(WEB.instanceId, {
            accessKeyId: 'ASIA3XFRBF23IDENT9K2',
            sourceIp: ATTACKER.ec2SameRegion,
            eventTime: at('10:40'),
            eventSource: 'ec2.amazonaws.com',
            eventName: 'DescribeInstances',
          }),
        ],
      ]);
      const f = only(result, DETECTOR);
      const revoke = f.response.commands.filter((c) => c.startsWith('aws iam put-role-policy'));
      assert.equal(revoke.length, 1, f.response.commands.join('\n'));
      assert.match(revoke[0]!, /--role-name web-app-role /);
      assert.ok(f.response.commands.some((c) => /modify-instance-metadata-options .*--region us-east-1/.test(c)));
    });

    it('a bastion or Cloud9-style box where a person also works: not learned, but not “foreign, the agents call from elsewhere” either', async () => {
      const result = await scan([
        [
          ...webOnBox(),
          iamUserCall({ userName: 'ops-carol', sourceIp: WEB.publicIp, eventTime: at('10:05') }),
          instanceRoleCall(WEB, {
            accessKeyId: WEB.keyV2,
            sourceIp: WEB.publicIp,
            eventTime: at('10:06'),
            eventSource: 'ec2.amazonaws.com',
            eventName: 'DescribeInstances',
            userAgent: UA.boto3,
          }),
        ],
      ]);
      for (const f of byDetector(result, DETECTOR)) {
        assert.ok(
          !reasonsMatch(f, /own agents call from 54\.236\.41\.17, never from here/),
          f.evidence.reasons.join('\n'),
        );
      }
      assertNothingSerious(result);
    });

    it('a few ownership events in the trail (Auto Scaling RunInstances) do not make the account count as inventoried', async () => {
      const result = await scan([
        [
          runInstances({
            instanceId: 'i-0f2e4d6c8b0a13579',
            privateIp: '10.20.8.90',
            eventTime: at('09:00'),
            byAutoScaling: true,
          }),
          ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
          // WORKER_A runs no SSM agent; its calls leave through the (uninventoried) NAT EIP.
          instanceRoleCall(WORKER_A, {
            accessKeyId: WORKER_A.key,
            sourceIp: NAT.publicIp,
            eventTime: at('10:10'),
            eventSource: 'sqs.amazonaws.com',
            eventName: 'ReceiveMessage',
            userAgent: UA.javaV2,
          }),
        ],
      ]);
      for (const f of byDetector(result, DETECTOR)) {
        assert.notEqual(f.confidence, 'high', 'no inventory: an own NAT cannot be told from an attacker’s EC2');
        assertReason(f, /inventory/, 'says inventory was missing');
      }
      assertNothingSerious(result);
    });
  });

  it('property: the verdict does not depend on order, file split, key order, id case, extra fields or repeated delivery', async () => {
    const records = [
      ...webOnBox(),
      ec2Vending(WEB, WEB.keyV1, at('10:15')),
      ...attackerCalls(WEB.keyV1, ATTACKER.ec2),
      ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
      instanceRoleCall(WORKER_A, {
        accessKeyId: WORKER_A.key,
        sourceIp: NAT.publicIp,
        eventTime: at('10:10'),
        eventSource: 'sqs.amazonaws.com',
        eventName: 'ReceiveMessage',
      }),
      allocateAddress({ publicIp: EAST_EC2, allocationId: 'eipalloc-0b7c8d9e0f1a2b3c4', eventTime: at('12:30') }),
      associateAddress({
        allocationId: 'eipalloc-0b7c8d9e0f1a2b3c4',
        instanceId: WEB.instanceId,
        eventTime: at('12:31'),
      }),
      instanceRoleCall(WEB, {
        accessKeyId: WEB.keyV1,
        sourceIp: EAST_EC2,
        eventTime: at('11:05'),
        eventSource: 'ec2.amazonaws.com',
        eventName: 'DescribeInstances',
      }),
      sessionCall({
        role: 'deploy-role',
        session: 'gh-actions-4821',
        accessKeyId: 'ASIA3XFRBF23CIRUNNER',
        sourceIp: ATTACKER.ec2Eu,
        eventTime: at('10:20'),
      }),
    ];
    await assertVerdictStable(records, { inventory: () => orgInventory() }, (result) => {
      const findings = byDetector(result, DETECTOR);
      assert.deepEqual(findings.map((f) => f.source.ip).sort(), [EAST_EC2, ATTACKER.ec2].sort());
      assert.ok(findings.every((f) => f.confidence === 'high'));
    });
  });
});
