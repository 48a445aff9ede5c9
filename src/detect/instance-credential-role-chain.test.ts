/**
 * Held-out tests for `instance-credential-role-chain`: a session created with `sts:AssumeRole` signed by an
 * instance's key (role chaining), used away from the instance.
 *
 * Public evidence reproduced here:
 * - STS `AssumeRole` API reference / IAM "Role chaining" docs: a role session may assume another role; the
 *   new key appears in the AssumeRole event's `responseElements.credentials.accessKeyId`, the caller's key in
 *   its `userIdentity.accessKeyId`, and the new session's name is whatever the caller chose
 *   (`botocore-session-<epoch>` is what the AWS CLI/botocore assume-role provider picks).
 * - hackingthe.cloud, "Steal EC2 Metadata Credentials via SSRF" and "Bypass Credential Exfiltration
 *   Detection": an attacker holding an instance key pivots into the roles it may assume, which hides the
 *   instance id from detections keyed on `assumed-role/ROLE/i-…`.
 * - MITRE ATT&CK T1552.005 / analytic AN0960 ("use of instance metadata tokens … misuse of short-lived tokens
 *   issued for different roles").
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
  at,
  ATTACKER,
  atLeast,
  byDetector,
  callerAssumeRole,
  ec2Vending,
  iamUserCall,
  instanceRoleCall,
  NAT,
  only,
  ORG,
  orgInventory,
  OWN_VPCE,
  scan,
  sessionCall,
  ssmHeartbeat,
  UA,
  WEB,
  WORKER_A,
} from './scenario.test-helpers.js';

const DETECTOR = 'instance-credential-role-chain';
const EXPORTER = { role: 'data-exporter-role', roleId: 'AROA3XFRBF23EXPORT7Q', key: 'ASIA3XFRBF23CHAIN1EX' };
const AUDIT = { role: 'audit-readonly-role', roleId: 'AROA3XFRBF23AUDIT4Z9', key: 'ASIA3XFRBF23CHAIN2AU' };
const SESSION = 'botocore-session-1715683281';

/** `instanceKey` (signed from `from`) assumes `target`, issuing `newKey`. */
function chain(o: { caller: Record<string, unknown>; target: { role: string }; newKey: string; session?: string }) {
  return callerAssumeRole({
    caller: o.caller,
    targetRole: o.target.role,
    sessionName: o.session ?? SESSION,
    newAccessKeyId: o.newKey,
  });
}

/** What the attacker does with the chained session: look around, then take the data. */
function exporterUse(sourceIp: string, key = EXPORTER.key, role = EXPORTER, session = SESSION) {
  return [
    sessionCall({
      role: role.role,
      roleId: role.roleId,
      session,
      accessKeyId: key,
      sourceIp,
      eventTime: at('10:46:01'),
      eventSource: 's3.amazonaws.com',
      eventName: 'ListBuckets',
      userAgent: UA.cli,
      creationDate: at('10:45:30'),
    }),
    ...Array.from({ length: 12 }, (_, i) =>
      sessionCall({
        role: role.role,
        roleId: role.roleId,
        session,
        accessKeyId: key,
        sourceIp,
        eventTime: at(`10:47:${String(10 + i * 3).padStart(2, '0')}`),
        eventSource: 's3.amazonaws.com',
        eventName: 'GetObject',
        requestParameters: { bucketName: 'acme-prod-customer-exports', key: `exports/2024-05-13/part-${i}.csv.gz` },
        userAgent: UA.cli,
        creationDate: at('10:45:30'),
      }),
    ),
  ];
}

describe(DETECTOR, () => {
  it('fires when a stolen instance key assumes another role from outside and the chained session is used there', async () => {
    const caller = instanceRoleCall(WEB, {
      accessKeyId: WEB.keyV1,
      ec2RoleDelivery: '1.0',
      sourceIp: ATTACKER.hetzner,
      eventTime: at('10:45:30'),
      userAgent: UA.cli,
    });
    const result = await scan(
      [
        [
          ec2Vending(WEB, WEB.keyV1, at('09:58')),
          chain({ caller, target: EXPORTER, newKey: EXPORTER.key }),
          ...exporterUse(ATTACKER.hetzner),
        ],
      ],
      {
        inventory: orgInventory(),
      },
    );
    const f = only(result, DETECTOR);
    assert.equal(f.accountId, ORG.account);
    assert.equal(f.principal.role, EXPORTER.role);
    assert.equal(f.principal.sessionName, SESSION);
    assert.equal(f.principal.instanceId, WEB.instanceId, 'the instance whose key started the chain');
    assert.deepEqual(f.principal.accessKeyIds, [EXPORTER.key]);
    assert.equal(f.source.ip, ATTACKER.hetzner);
    assert.equal(f.confidence, 'high');
    assert.equal(f.severity, 'critical', 'high, raised for the GetObject burst and recon');
    assert.equal(f.activity.calls, 13);
    assertReason(
      f,
      /created with the key of instance i-0a1b2c3d4e5f60718 \(chain ASIA3XFRBF23LT2ZRD8M → ASIA3XFRBF23CHAIN1EX\)/,
      'names the chain',
    );
    assertReason(f, /in no AWS range/, 'says why the source is wrong');
    assertReason(f, /s3:GetObject ×12/, 'explains the raise');
    // The instance key's own AssumeRole from outside is the outside-aws finding, reported separately.
    assert.ok(
      byDetector(result, 'instance-credential-outside-aws').some((x) => x.principal.accessKeyIds.includes(WEB.keyV1)),
    );
  });

  it('fires when the chain is made on the instance but the chained key is carried to the attacker’s EC2', async () => {
    const caller = instanceRoleCall(WEB, {
      accessKeyId: WEB.keyV2,
      sourceIp: WEB.publicIp,
      eventTime: at('10:45:30'),
      userAgent: UA.boto3,
    });
    const result = await scan(
      [
        [
          ec2Vending(WEB, WEB.keyV2, at('09:58')),
          chain({ caller, target: EXPORTER, newKey: EXPORTER.key }),
          ...exporterUse(ATTACKER.ec2),
        ],
      ],
      { inventory: orgInventory() },
    );
    const f = only(result, DETECTOR);
    assert.equal(f.source.ip, ATTACKER.ec2);
    assert.equal(f.confidence, 'high');
    assertReason(f, /no instance, NAT gateway, Elastic IP or interface of account 111122223333/, 'the ownership fact');
    assertNoFinding(result, 'instance-credential-outside-aws');
  });

  it('follows a two-hop chain (instance → exporter → audit) to the instance', async () => {
    const first = instanceRoleCall(WEB, {
      accessKeyId: WEB.keyV2,
      sourceIp: WEB.publicIp,
      eventTime: at('10:45:00'),
      userAgent: UA.boto3,
    });
    const second = sessionCall({
      role: EXPORTER.role,
      roleId: EXPORTER.roleId,
      session: SESSION,
      accessKeyId: EXPORTER.key,
      sourceIp: WEB.publicIp,
      eventTime: at('10:45:20'),
      userAgent: UA.boto3,
    });
    const result = await scan(
      [
        [
          ec2Vending(WEB, WEB.keyV2, at('09:58')),
          chain({ caller: first, target: EXPORTER, newKey: EXPORTER.key }),
          chain({ caller: second, target: AUDIT, newKey: AUDIT.key, session: 'audit-1715683520' }),
          ...exporterUse(ATTACKER.digitalOcean, AUDIT.key, AUDIT, 'audit-1715683520'),
        ],
      ],
      { inventory: orgInventory() },
    );
    const f = only(result, DETECTOR);
    assert.equal(f.principal.role, AUDIT.role);
    assertReason(f, /chain ASIA3XFRBF23NK7QWE4P → ASIA3XFRBF23CHAIN1EX → ASIA3XFRBF23CHAIN2AU/, 'names every hop');
  });

  it('a cross-account chain (instance in the inventoried account → role in a sibling account) is judged against the instance’s account', async () => {
    const SIBLING = '777788889999';
    const caller = instanceRoleCall(WEB, {
      accessKeyId: WEB.keyV2,
      sourceIp: WEB.publicIp,
      eventTime: at('10:45:30'),
      userAgent: UA.boto3,
    });
    const assume = callerAssumeRole({
      caller,
      targetRole: 'shared-artifacts-reader',
      targetAccountId: SIBLING,
      sessionName: SESSION,
      newAccessKeyId: EXPORTER.key,
    });
    const used = exporterUse(ATTACKER.ec2).map((record) => {
      // The chained session lives in the sibling account and is logged there.
      const text = JSON.stringify(record)
        .replaceAll(
          `arn:aws:sts::${ORG.account}:assumed-role/${EXPORTER.role}`,
          `arn:aws:sts::${SIBLING}:assumed-role/shared-artifacts-reader`,
        )
        .replaceAll(
          `arn:aws:iam::${ORG.account}:role/${EXPORTER.role}`,
          `arn:aws:iam::${SIBLING}:role/shared-artifacts-reader`,
        )
        .replaceAll(ORG.account, SIBLING);
      return JSON.parse(text) as Record<string, unknown>;
    });
    const result = await scan([[ec2Vending(WEB, WEB.keyV2, at('09:58')), assume, ...used]], {
      inventory: orgInventory(),
      config: { trustedAccounts: [SIBLING] },
    });
    const f = only(result, DETECTOR);
    assert.equal(f.accountId, SIBLING);
    assert.equal(f.principal.instanceId, WEB.instanceId);
    assert.equal(
      f.confidence,
      'high',
      `the instance’s account ${ORG.account} is inventoried:\n${f.evidence.reasons.join('\n')}`,
    );
  });

  describe('does not fire on chains that stay on the instance', () => {
    it('on the instance’s public address, behind the NAT, through the own endpoint, two hops deep', async () => {
      const webCaller = instanceRoleCall(WEB, {
        accessKeyId: WEB.keyV2,
        sourceIp: WEB.publicIp,
        eventTime: at('10:45:00'),
        userAgent: UA.boto3,
      });
      const exporterCaller = sessionCall({
        role: EXPORTER.role,
        roleId: EXPORTER.roleId,
        session: SESSION,
        accessKeyId: EXPORTER.key,
        sourceIp: WEB.publicIp,
        eventTime: at('10:45:20'),
        userAgent: UA.boto3,
      });
      const workerCaller = instanceRoleCall(WORKER_A, {
        accessKeyId: WORKER_A.key,
        sourceIp: WORKER_A.privateIp,
        vpcEndpointId: OWN_VPCE,
        eventTime: at('10:50'),
        userAgent: UA.javaV2,
      });
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV2, at('09:58')),
            chain({ caller: webCaller, target: EXPORTER, newKey: EXPORTER.key }),
            chain({ caller: exporterCaller, target: AUDIT, newKey: AUDIT.key, session: 'audit-1715683520' }),
            ...exporterUse(WEB.publicIp, AUDIT.key, AUDIT, 'audit-1715683520'),
            ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
            chain({
              caller: workerCaller,
              target: { role: 'queue-consumer-role' },
              newKey: 'ASIA3XFRBF23CHAIN3QC',
              session: 'worker-a',
            }),
            sessionCall({
              role: 'queue-consumer-role',
              session: 'worker-a',
              accessKeyId: 'ASIA3XFRBF23CHAIN3QC',
              sourceIp: NAT.publicIp,
              eventTime: at('10:51'),
              eventSource: 'sqs.amazonaws.com',
              eventName: 'ReceiveMessage',
              userAgent: UA.javaV2,
            }),
            sessionCall({
              role: 'queue-consumer-role',
              session: 'worker-a',
              accessKeyId: 'ASIA3XFRBF23CHAIN3QC',
              sourceIp: WORKER_A.privateIp,
              vpcEndpointId: OWN_VPCE,
              eventTime: at('10:52'),
              userAgent: UA.javaV2,
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });

    it('chains made by people or pipelines (not from an instance) are not this detector’s business', async () => {
      const human = iamUserCall({
        userName: 'dev-alice',
        sourceIp: ATTACKER.hetzner,
        eventTime: at('10:45'),
        eventSource: 'sts.amazonaws.com',
        eventName: 'AssumeRole',
      });
      const result = await scan([
        [
          callerAssumeRole({
            caller: human,
            targetRole: EXPORTER.role,
            sessionName: 'alice',
            newAccessKeyId: EXPORTER.key,
          }),
          ...exporterUse(ATTACKER.hetzner, EXPORTER.key, EXPORTER, 'alice'),
        ],
      ]);
      assertNoFinding(result, DETECTOR);
    });
  });

  describe('traps', () => {
    it('several keys of one instance: the on-box IMDSv2 key’s chain is fine, the stolen IMDSv1 key’s chain is reported', async () => {
      const onBox = instanceRoleCall(WEB, {
        accessKeyId: WEB.keyV2,
        sourceIp: WEB.publicIp,
        eventTime: at('10:40'),
        userAgent: UA.boto3,
      });
      const stolen = instanceRoleCall(WEB, {
        accessKeyId: WEB.keyV1,
        ec2RoleDelivery: '1.0',
        sourceIp: ATTACKER.hetzner,
        eventTime: at('10:45:30'),
        userAgent: UA.cli,
      });
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV2, at('09:58')),
            ec2Vending(WEB, WEB.keyV1, at('10:20')),
            chain({ caller: onBox, target: AUDIT, newKey: AUDIT.key, session: 'web-audit' }),
            sessionCall({
              role: AUDIT.role,
              session: 'web-audit',
              accessKeyId: AUDIT.key,
              sourceIp: WEB.publicIp,
              eventTime: at('10:41'),
              eventSource: 's3.amazonaws.com',
              eventName: 'ListBuckets',
              userAgent: UA.boto3,
            }),
            chain({ caller: stolen, target: EXPORTER, newKey: EXPORTER.key }),
            ...exporterUse(ATTACKER.hetzner),
          ],
        ],
        { inventory: orgInventory() },
      );
      const f = only(result, DETECTOR);
      assert.deepEqual(f.principal.accessKeyIds, [EXPORTER.key]);
    });

    it('an EIP given to the instance only after the chained session was used from that address does not excuse it', async () => {
      const EAST_EC2 = '44.205.10.4';
      const caller = instanceRoleCall(WEB, {
        accessKeyId: WEB.keyV2,
        sourceIp: WEB.publicIp,
        eventTime: at('10:45:30'),
        userAgent: UA.boto3,
      });
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV2, at('09:58')),
            chain({ caller, target: EXPORTER, newKey: EXPORTER.key }),
            ...exporterUse(EAST_EC2),
            allocateAddress({ publicIp: EAST_EC2, allocationId: 'eipalloc-0b7c8d9e0f1a2b3c4', eventTime: at('12:30') }),
            associateAddress({
              allocationId: 'eipalloc-0b7c8d9e0f1a2b3c4',
              instanceId: WEB.instanceId,
              eventTime: at('12:31'),
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      assert.equal(only(result, DETECTOR).confidence, 'high');
    });

    it('a person calling from the attacker’s address at the same time does not make it the instance’s; the person is named', async () => {
      const caller = instanceRoleCall(WEB, {
        accessKeyId: WEB.keyV2,
        sourceIp: WEB.publicIp,
        eventTime: at('10:45:30'),
        userAgent: UA.boto3,
      });
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV2, at('09:58')),
            chain({ caller, target: EXPORTER, newKey: EXPORTER.key }),
            iamUserCall({ userName: 'dev-alice', sourceIp: ATTACKER.ec2, eventTime: at('10:46:30') }),
            ...exporterUse(ATTACKER.ec2),
          ],
        ],
        { inventory: orgInventory() },
      );
      const f = only(result, DETECTOR);
      assert.ok(atLeast(f.severity, 'high'));
      assertReason(f, /IAM user dev-alice/, 'names the person');
    });
  });

  describe('without inventory', () => {
    it('still fires, lowers confidence and says what is missing', async () => {
      const caller = instanceRoleCall(WEB, {
        accessKeyId: WEB.keyV2,
        sourceIp: WEB.publicIp,
        eventTime: at('10:45:30'),
        userAgent: UA.boto3,
      });
      const result = await scan([
        [
          ec2Vending(WEB, WEB.keyV2, at('09:58')),
          ssmHeartbeat(WEB, { accessKeyId: WEB.keyV2, sourceIp: WEB.publicIp, eventTime: at('10:00') }),
          chain({ caller, target: EXPORTER, newKey: EXPORTER.key }),
          ...exporterUse(ATTACKER.ec2),
        ],
      ]);
      const f = only(result, DETECTOR);
      assert.notEqual(f.confidence, 'high');
      assert.ok(atLeast(f.severity, 'medium'));
      assertReason(f, /no inventory/, 'says inventory was missing');
    });

    it('with no on-box evidence either, it is low confidence but still reported at medium or above', async () => {
      const caller = instanceRoleCall(WEB, {
        accessKeyId: WEB.keyV2,
        sourceIp: WEB.publicIp,
        eventTime: at('10:45:30'),
        userAgent: UA.boto3,
      });
      const result = await scan([
        [
          ec2Vending(WEB, WEB.keyV2, at('09:58')),
          chain({ caller, target: EXPORTER, newKey: EXPORTER.key }),
          ...exporterUse(ATTACKER.ec2),
        ],
      ]);
      const f = only(result, DETECTOR);
      assert.equal(f.confidence, 'low');
      assert.ok(atLeast(f.severity, 'medium'));
      assertReason(f, /no inventory.*no on-box evidence/, 'says what is missing');
    });
  });

  it('property: the verdict does not depend on order, file split, key order, id case, extra fields or repeated delivery', async () => {
    const onBox = instanceRoleCall(WEB, {
      accessKeyId: WEB.keyV2,
      sourceIp: WEB.publicIp,
      eventTime: at('10:40'),
      userAgent: UA.boto3,
    });
    const stolen = instanceRoleCall(WEB, {
      accessKeyId: WEB.keyV1,
      ec2RoleDelivery: '1.0',
      sourceIp: ATTACKER.hetzner,
      eventTime: at('10:45:30'),
      userAgent: UA.cli,
    });
    const records = [
      ec2Vending(WEB, WEB.keyV2, at('09:58')),
      ec2Vending(WEB, WEB.keyV1, at('10:20')),
      chain({ caller: onBox, target: AUDIT, newKey: AUDIT.key, session: 'web-audit' }),
      sessionCall({
        role: AUDIT.role,
        session: 'web-audit',
        accessKeyId: AUDIT.key,
        sourceIp: WEB.publicIp,
        eventTime: at('10:41'),
        eventSource: 's3.amazonaws.com',
        eventName: 'ListBuckets',
        userAgent: UA.boto3,
      }),
      chain({ caller: stolen, target: EXPORTER, newKey: EXPORTER.key }),
      ...exporterUse(ATTACKER.hetzner).slice(0, 4),
      ...exporterUse(ATTACKER.ec2).slice(0, 2),
    ];
    await assertVerdictStable(records, { inventory: () => orgInventory() }, (result) => {
      assert.deepEqual(
        byDetector(result, DETECTOR)
          .map((f) => f.source.ip)
          .sort(),
        [ATTACKER.ec2, ATTACKER.hetzner].sort(),
      );
    });
  });
});
