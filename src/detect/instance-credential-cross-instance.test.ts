/**
 * Held-out tests for `instance-credential-cross-instance`: one instance's credential used from another
 * instance of the same organisation — the attacker already holds box B and uses box A's role from it.
 *
 * Public evidence reproduced here:
 * - AWS GuardDuty finding types `InstanceCredentialExfiltration.OutsideAWS` / `.InsideAWS` (GuardDuty docs):
 *   InsideAWS only covers use from *another AWS account's* address; a key moved between two instances of
 *   the same account is not covered — the "GuardDuty blind spot" this detector exists for.
 * - hackingthe.cloud, "Steal EC2 Metadata Credentials via SSRF" and "Bypass Credential Exfiltration
 *   Detection": credentials fetched from 169.254.169.254 through an SSRF in A, replayed from wherever the
 *   attacker runs code (here: a second, already compromised instance B in another VPC).
 * - AWS VPC docs ("NAT gateways"): every instance of a private subnet leaves through the NAT gateway's
 *   Elastic IP(s) — many instances behind one EIP is normal; a NAT gateway can hold several EIPs
 *   (AssociateNatGatewayAddress, "By default, you can associate up to 2 Elastic IP addresses").
 * - AWS PrivateLink docs: through an interface endpoint CloudTrail records the caller's private address
 *   and `vpcEndpointId`, so a private address names the instance that made the call.
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
  atLeast,
  BATCH,
  byDetector,
  describeInstances,
  ec2Vending,
  instanceRoleCall,
  inventoryFrom,
  NAT,
  only,
  ORG,
  orgInventory,
  orgInventoryDocuments,
  OWN_VPCE,
  runInstances,
  scan,
  ssmHeartbeat,
  ssoCall,
  UA,
  WEB,
  WORKER_A,
  WORKER_B,
} from './scenario.test-helpers.js';

const DETECTOR = 'instance-credential-cross-instance';
const WORKER_C = {
  instanceId: 'i-0d8c6b4a2f0e13579',
  role: 'worker-role',
  roleId: WORKER_A.roleId,
  key: 'ASIA3XFRBF23WC9M4N2P',
};

/** WEB's stolen key replayed from `sourceIp` (the attacker's foothold), with enumeration. */
function replay(key: string, sourceIp: string, extra: { vpcEndpointId?: string; delivery?: string } = {}) {
  return [
    instanceRoleCall(WEB, {
      accessKeyId: key,
      ec2RoleDelivery: extra.delivery ?? '1.0',
      sourceIp,
      vpcEndpointId: extra.vpcEndpointId,
      eventTime: at('10:41:07'),
      userAgent: UA.cli,
    }),
    instanceRoleCall(WEB, {
      accessKeyId: key,
      ec2RoleDelivery: extra.delivery ?? '1.0',
      sourceIp,
      vpcEndpointId: extra.vpcEndpointId,
      eventTime: at('10:42:30'),
      eventSource: 'iam.amazonaws.com',
      eventName: 'ListAttachedRolePolicies',
      requestParameters: { roleName: WEB.role },
      userAgent: UA.cli,
    }),
  ];
}

function batchOnBox() {
  return [
    ec2Vending(BATCH, BATCH.key, at('09:30')),
    ssmHeartbeat(BATCH, { accessKeyId: BATCH.key, sourceIp: BATCH.publicIp, eventTime: at('09:35') }),
  ];
}

describe(DETECTOR, () => {
  it('fires when A’s key is used from B’s public address, per the inventory (high confidence)', async () => {
    const vending = ec2Vending(WEB, WEB.keyV1, at('09:58'));
    const result = await scan([[vending, ...batchOnBox(), ...replay(WEB.keyV1, BATCH.publicIp)]], {
      inventory: orgInventory(),
    });
    const f = only(result, DETECTOR);
    assert.equal(f.accountId, ORG.account);
    assert.equal(f.principal.instanceId, WEB.instanceId);
    assert.deepEqual(f.principal.accessKeyIds, [WEB.keyV1]);
    assert.equal(f.source.ip, BATCH.publicIp);
    assert.equal(f.source.class, 'aws');
    assert.equal(f.source.owner, `instance ${BATCH.instanceId}`);
    assert.equal(f.confidence, 'high');
    assert.equal(f.severity, 'critical', 'high, raised for recon and IMDSv1');
    assert.deepEqual(f.evidence.vendingEventIds, [vending['eventID']]);
    assertReason(
      f,
      /belongs to instance i-0e1d2c3b4a5968778 .*inventory/,
      'names the other instance and the ownership fact',
    );
    assertReason(f, /credential of i-0a1b2c3d4e5f60718 is being used on another instance/, 'says what it means');
    assertReason(f, /vended to i-0a1b2c3d4e5f60718 by EC2/, 'anchors the key');
    // One story, one finding: not also "foreign" or "outside".
    assertNoFinding(result, 'instance-credential-foreign-aws');
    assertNoFinding(result, 'instance-credential-outside-aws');
  });

  it('fires with medium confidence from B’s own agent traffic when there is no inventory', async () => {
    const result = await scan([
      [ec2Vending(WEB, WEB.keyV1, at('09:58')), ...batchOnBox(), ...replay(WEB.keyV1, BATCH.publicIp)],
    ]);
    const f = only(result, DETECTOR);
    assert.equal(f.confidence, 'medium');
    assert.ok(atLeast(f.severity, 'high'));
    assertReason(
      f,
      /i-0e1d2c3b4a5968778's own SSM agent or identity role calls from 18\.232\.77\.140/,
      'names the anchor',
    );
  });

  it('fires through the org’s own VPC endpoint when the private address is another instance’s', async () => {
    const result = await scan(
      [
        [
          ec2Vending(WEB, WEB.keyV1, at('09:58')),
          ...replay(WEB.keyV1, WORKER_B.privateIp, { vpcEndpointId: OWN_VPCE }),
        ],
      ],
      { inventory: orgInventory() },
    );
    const f = only(result, DETECTOR);
    assert.equal(f.source.vpcEndpointId, OWN_VPCE);
    assert.equal(f.source.owner, `instance ${WORKER_B.instanceId}`);
    assert.equal(f.confidence, 'high');
    assertReason(f, /private address of instance i-07f6e5d4c3b2a1908/, 'names the instance behind the private address');
  });

  describe('does not fire on shared egress', () => {
    it('many instances behind one NAT EIP (inventory)', async () => {
      const result = await scan(
        [
          [
            ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
            ec2Vending(WORKER_B, WORKER_B.key, at('09:41')),
            ssmHeartbeat(WORKER_A, { accessKeyId: WORKER_A.key, sourceIp: NAT.publicIp, eventTime: at('09:45') }),
            ssmHeartbeat(WORKER_B, { accessKeyId: WORKER_B.key, sourceIp: NAT.publicIp, eventTime: at('09:46') }),
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
              eventName: 'GetObject',
              userAgent: UA.goV2,
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });

    it('many instances behind one NAT EIP (no inventory): an address on which several instances’ agents call is shared egress, not “another instance”', async () => {
      const result = await scan([
        [
          ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
          ec2Vending(WORKER_B, WORKER_B.key, at('09:41')),
          ssmHeartbeat(WORKER_A, { accessKeyId: WORKER_A.key, sourceIp: NAT.publicIp, eventTime: at('09:45') }),
          ssmHeartbeat(WORKER_B, { accessKeyId: WORKER_B.key, sourceIp: NAT.publicIp, eventTime: at('09:46') }),
          // A third worker (a container host without the SSM agent) behind the same NAT.
          ec2Vending(WORKER_C, WORKER_C.key, at('09:42')),
          instanceRoleCall(WORKER_C, {
            accessKeyId: WORKER_C.key,
            sourceIp: NAT.publicIp,
            eventTime: at('10:12'),
            eventSource: 'sqs.amazonaws.com',
            eventName: 'ReceiveMessage',
            userAgent: UA.javaV2,
          }),
        ],
      ]);
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });

    it('a second NAT EIP added during the day with AssociateNatGatewayAddress (inventory taken before) is the NAT of the instance’s VPC', async () => {
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
            ec2Vending(WORKER_B, WORKER_B.key, at('09:41')),
            instanceRoleCall(WORKER_A, {
              accessKeyId: WORKER_A.key,
              sourceIp: NAT.secondPublicIp,
              eventTime: at('10:10'),
              eventSource: 'sqs.amazonaws.com',
              eventName: 'ReceiveMessage',
              userAgent: UA.javaV2,
            }),
            instanceRoleCall(WORKER_B, {
              accessKeyId: WORKER_B.key,
              sourceIp: NAT.secondPublicIp,
              eventTime: at('10:11'),
              eventSource: 's3.amazonaws.com',
              eventName: 'GetObject',
              userAgent: UA.goV2,
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });

    it('EKS nodes behind the NAT: pods using the node role from the node’s address are benign', async () => {
      // Two nodes (WORKER_A, WORKER_B) of one node group; pods on each use their node's instance profile.
      const podCalls = (node: typeof WORKER_A) =>
        ['amazon-vpc-cni-k8s/v1.16.4', 'aws-ebs-csi-driver/v1.27.0', 'cluster-autoscaler/v1.29.0'].map((component, i) =>
          instanceRoleCall(node, {
            accessKeyId: node.key,
            sourceIp: NAT.publicIp,
            eventTime: at(`10:3${i}`),
            eventSource: 'ec2.amazonaws.com',
            eventName: i === 2 ? 'DescribeInstances' : 'DescribeNetworkInterfaces',
            userAgent: `aws-sdk-go/1.50.8 (go1.21.6; linux; amd64) ${component}`,
          }),
        );
      const records = [
        ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
        ec2Vending(WORKER_B, WORKER_B.key, at('09:41')),
        ssmHeartbeat(WORKER_A, { accessKeyId: WORKER_A.key, sourceIp: NAT.publicIp, eventTime: at('09:45') }),
        ssmHeartbeat(WORKER_B, { accessKeyId: WORKER_B.key, sourceIp: NAT.publicIp, eventTime: at('09:46') }),
        ...podCalls(WORKER_A),
        ...podCalls(WORKER_B),
      ];
      assertNothingSerious(await scan([records], { inventory: orgInventory() }));
      assertNothingSerious(await scan([records]));
    });
  });

  describe('traps', () => {
    it('several keys of one instance: only the key replayed from B is reported (IMDSv1, raised)', async () => {
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV2, at('09:58')),
            ssmHeartbeat(WEB, { accessKeyId: WEB.keyV2, sourceIp: WEB.publicIp, eventTime: at('10:00') }),
            ec2Vending(WEB, WEB.keyV1, at('10:20')),
            ...batchOnBox(),
            ...replay(WEB.keyV1, BATCH.publicIp, { delivery: '1.0' }),
          ],
        ],
        { inventory: orgInventory() },
      );
      const f = only(result, DETECTOR);
      assert.deepEqual(f.principal.accessKeyIds, [WEB.keyV1]);
      assert.deepEqual(f.principal.ec2RoleDelivery, ['1.0']);
      assertReason(f, /IMDSv1/, 'explains the raise');
    });

    it('an instance launched after the replay that received the attacker’s former public IPv4 (AWS reuses them) is not “another instance”', async () => {
      const REUSED = '44.205.10.4';
      const NEW = 'i-0f2e4d6c8b0a13579';
      const docs = orgInventoryDocuments();
      const base = `inventory/${ORG.account}/${ORG.region}`;
      docs.push([
        `${base}/describe-instances-asg.json`,
        describeInstances(ORG.account, [
          {
            instanceId: NEW,
            privateIp: '10.20.1.90',
            publicIp: REUSED,
            eni: 'eni-0a0b0c0d0e0f01234',
            launchTime: '2024-05-14T12:00:04+00:00',
          },
        ]),
      ]);
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV1, at('09:58')),
            ...replay(WEB.keyV1, REUSED),
            runInstances({
              instanceId: NEW,
              privateIp: '10.20.1.90',
              subnetId: ORG.publicSubnet,
              eventTime: at('12:00'),
              byAutoScaling: true,
            }),
          ],
        ],
        { inventory: inventoryFrom(docs) },
      );
      assertNoFinding(result, DETECTOR);
      assert.equal(only(result, 'instance-credential-foreign-aws').confidence, 'high');
    });

    it('an EIP given to B only AFTER the replay does not make the replay B’s: it stays a foreign-AWS finding', async () => {
      const EIP = '35.170.22.61';
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV1, at('09:58')),
            ...replay(WEB.keyV1, EIP),
            allocateAddress({ publicIp: EIP, allocationId: 'eipalloc-0c8d9e0f1a2b3c4d5', eventTime: at('11:14') }),
            associateAddress({
              allocationId: 'eipalloc-0c8d9e0f1a2b3c4d5',
              instanceId: BATCH.instanceId,
              eventTime: at('11:15'),
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
      const f = only(result, 'instance-credential-foreign-aws');
      assert.equal(f.confidence, 'high');
    });

    it('B’s address also used by a person at the same time (a bastion): the inventory fact still decides, the person is named', async () => {
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV1, at('09:58')),
            ...batchOnBox(),
            ssoCall({ user: 'ops-bob@example.com', sourceIp: BATCH.publicIp, eventTime: at('10:40') }),
            ...replay(WEB.keyV1, BATCH.publicIp),
          ],
        ],
        { inventory: orgInventory() },
      );
      const f = only(result, DETECTOR);
      assert.equal(f.confidence, 'high');
      assertReason(f, /ops-bob@example\.com/, 'names the person');
    });

    it('without inventory, B’s agent seen on an address people also use is not learned as B’s: the replay is still reported', async () => {
      const result = await scan([
        [
          ec2Vending(WEB, WEB.keyV2, at('09:50')),
          ssmHeartbeat(WEB, { accessKeyId: WEB.keyV2, sourceIp: WEB.publicIp, eventTime: at('09:55') }),
          ec2Vending(WEB, WEB.keyV1, at('09:58')),
          ...batchOnBox(),
          ssoCall({ user: 'ops-bob@example.com', sourceIp: BATCH.publicIp, eventTime: at('10:40') }),
          ...replay(WEB.keyV1, BATCH.publicIp),
        ],
      ]);
      assertNoFinding(result, DETECTOR);
      const f = only(result, 'instance-credential-foreign-aws');
      assert.ok(atLeast(f.severity, 'medium'));
      assertReason(f, /ops-bob@example\.com/, 'names the person');
      assertReason(f, /no inventory/, 'says what was missing');
    });
  });

  it('property: the verdict does not depend on order, file split, key order, id case, extra fields or repeated delivery', async () => {
    const records = [
      ec2Vending(WEB, WEB.keyV1, at('09:58')),
      ...batchOnBox(),
      ...replay(WEB.keyV1, BATCH.publicIp),
      ...replay(WEB.keyV1, WORKER_B.privateIp, { vpcEndpointId: OWN_VPCE }),
      ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
      instanceRoleCall(WORKER_A, {
        accessKeyId: WORKER_A.key,
        sourceIp: NAT.publicIp,
        eventTime: at('10:10'),
        eventSource: 'sqs.amazonaws.com',
        eventName: 'ReceiveMessage',
      }),
      instanceRoleCall(WORKER_A, {
        accessKeyId: WORKER_A.key,
        sourceIp: WORKER_A.privateIp,
        vpcEndpointId: OWN_VPCE,
        eventTime: at('10:15'),
      }),
    ];
    await assertVerdictStable(records, { inventory: () => orgInventory() }, (result) => {
      const findings = byDetector(result, DETECTOR);
      assert.deepEqual(findings.map((f) => f.source.ip).sort(), [BATCH.publicIp, WORKER_B.privateIp].sort());
      assertNothingSerious({
        ...result,
        findings: result.findings.filter((f) => f.principal.instanceId !== WEB.instanceId),
      });
    });
  });
});
