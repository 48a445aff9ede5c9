/**
 * Held-out tests for `instance-credential-foreign-vpce`: a stolen instance key used through a VPC endpoint
 * in the attacker's own account, so CloudTrail shows a private source address and a `vpcEndpointId`.
 *
 * Public evidence reproduced here:
 * - Nick Frichette, SneakyEndpoints (github.com/Frichetten/SneakyEndpoints) and hackingthe.cloud
 *   "Bypass Credential Exfiltration Detection": Terraform that builds a VPC with interface endpoints for
 *   STS/S3/… in the attacker's account; stolen credentials used from there log the attacker's private IP
 *   and endpoint id, which GuardDuty's OutsideAWS/InsideAWS checks did not flag.
 * - CloudTrail record contents reference: `vpcEndpointId`, and `vpcEndpointAccountId` (eventVersion 1.09+,
 *   "the AWS account ID of the VPC endpoint owner"), often absent in older records.
 * - Real trails (Invictus, Cribl samples in ../shared/datasets): AWS-owned endpoint ids such as
 *   `vpce-f40dc59d` appear with *public* source addresses (S3 console, service-to-service calls): an unknown
 *   endpoint id alone proves nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertNoFinding,
  assertNothingSerious,
  assertReason,
  assertVerdictStable,
  at,
  ATTACKER,
  atLeast,
  byDetector,
  createVpcEndpoint,
  ec2Vending,
  iamUserCall,
  instanceRoleCall,
  only,
  ORG,
  orgInventory,
  OWN_VPCE,
  reasonsMatch,
  scan,
  ssmHeartbeat,
  ssoCall,
  UA,
  WEB,
  WORKER_A,
} from './scenario.test-helpers.js';

const DETECTOR = 'instance-credential-foreign-vpce';

/** WEB's stolen key used from inside the attacker's VPC, through their STS/S3 interface endpoints. */
function sneaky(key: string, options: { accountField?: boolean; delivery?: string; eventVersion?: string } = {}) {
  const common = {
    accessKeyId: key,
    ec2RoleDelivery: options.delivery ?? '1.0',
    sourceIp: ATTACKER.privateIp,
    vpcEndpointId: ATTACKER.vpce,
    vpcEndpointAccountId: options.accountField === false ? undefined : ATTACKER.account,
    eventVersion: options.eventVersion ?? (options.accountField === false ? '1.08' : '1.10'),
    userAgent: UA.boto3,
  };
  return [
    instanceRoleCall(WEB, { ...common, eventTime: at('10:41:07') }),
    instanceRoleCall(WEB, {
      ...common,
      eventTime: at('10:41:40'),
      eventSource: 's3.amazonaws.com',
      eventName: 'ListBuckets',
    }),
    instanceRoleCall(WEB, {
      ...common,
      eventTime: at('10:44:02'),
      eventSource: 's3.amazonaws.com',
      eventName: 'GetObject',
      readOnly: true,
      requestParameters: { bucketName: 'acme-prod-customer-exports', key: 'exports/2024-05-13/customers.csv.gz' },
    }),
  ];
}

describe(DETECTOR, () => {
  it('fires on SneakyEndpoints: vpcEndpointAccountId names an account outside the org (high confidence)', async () => {
    const vending = ec2Vending(WEB, WEB.keyV1, at('09:58'));
    const result = await scan([[vending, ...sneaky(WEB.keyV1)]], { inventory: orgInventory() });
    const f = only(result, DETECTOR);
    assert.equal(f.accountId, ORG.account);
    assert.equal(f.principal.instanceId, WEB.instanceId);
    assert.deepEqual(f.principal.accessKeyIds, [WEB.keyV1]);
    assert.equal(f.source.ip, ATTACKER.privateIp);
    assert.equal(f.source.class, 'private');
    assert.equal(f.source.vpcEndpointId, ATTACKER.vpce);
    assert.equal(f.source.vpcEndpointAccountId, ATTACKER.account);
    assert.equal(f.confidence, 'high');
    assert.equal(f.severity, 'critical', 'high, raised for recon and IMDSv1');
    assert.equal(f.activity.calls, 3);
    assert.deepEqual(f.evidence.vendingEventIds, [vending['eventID']]);
    assertReason(
      f,
      /vpce-0f3e9d8c7b6a51234, owned by account 584273916604 \(vpcEndpointAccountId\)/,
      'names the owner and the field',
    );
    assertReason(f, /vended to i-0a1b2c3d4e5f60718 by EC2/, 'anchors the key');
    // A private address through an endpoint is not "unverifiable".
    assertNoFinding(result, 'instance-credential-outside-aws');
  });

  it('fires with medium confidence on an older record without vpcEndpointAccountId when the inventory lists the account’s endpoints', async () => {
    const result = await scan(
      [[ec2Vending(WEB, WEB.keyV1, at('09:58')), ...sneaky(WEB.keyV1, { accountField: false })]],
      {
        inventory: orgInventory(),
      },
    );
    const f = only(result, DETECTOR);
    assert.equal(f.confidence, 'medium');
    assert.ok(atLeast(f.severity, 'medium'));
    assert.equal(f.source.vpcEndpointAccountId, '');
    assertReason(f, /not among account 111122223333's endpoints in the inventory/, 'the ownership fact');
    assertReason(f, /no vpcEndpointAccountId/, 'says which evidence is missing');
  });

  describe('does not fire on', () => {
    it('own endpoints: the instance’s private address through the inventoried endpoint, with and without vpcEndpointAccountId', async () => {
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV2, at('09:58')),
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV2,
              sourceIp: WEB.privateIp,
              vpcEndpointId: OWN_VPCE,
              eventTime: at('10:05'),
              userAgent: UA.boto3,
            }),
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV2,
              sourceIp: WEB.privateIp,
              vpcEndpointId: OWN_VPCE,
              vpcEndpointAccountId: ORG.account,
              eventTime: at('10:06'),
              eventSource: 'sts.amazonaws.com',
              eventName: 'AssumeRole',
              userAgent: UA.boto3,
              requestParameters: {
                roleArn: `arn:aws:iam::${ORG.account}:role/web-reports-role`,
                roleSessionName: 'reports',
              },
            }),
            // Gateway endpoint for S3: the instance's private address and the gateway endpoint id.
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV2,
              sourceIp: WEB.privateIp,
              vpcEndpointId: 'vpce-06c5d4e3f2a1b0c9d',
              eventTime: at('10:07'),
              eventSource: 's3.amazonaws.com',
              eventName: 'PutObject',
              userAgent: UA.boto3,
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });

    it('an endpoint the org created earlier in the trail (CreateVpcEndpoint), not yet in yesterday’s inventory', async () => {
      const NEW_VPCE = 'vpce-0c3d5e7f9a1b24680';
      const result = await scan(
        [
          [
            createVpcEndpoint({
              vpcEndpointId: NEW_VPCE,
              serviceName: 'com.amazonaws.us-east-1.secretsmanager',
              eventTime: at('08:12'),
            }),
            ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
            instanceRoleCall(WORKER_A, {
              accessKeyId: WORKER_A.key,
              sourceIp: WORKER_A.privateIp,
              vpcEndpointId: NEW_VPCE,
              eventTime: at('10:10'),
              eventSource: 'secretsmanager.amazonaws.com',
              eventName: 'GetSecretValue',
              userAgent: UA.javaV2,
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });

    it('a centralised endpoint in the org’s networking account (trustedAccounts)', async () => {
      const SHARED_VPCE = 'vpce-0e2f4a6b8c0d13579';
      const result = await scan(
        [
          [
            ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
            instanceRoleCall(WORKER_A, {
              accessKeyId: WORKER_A.key,
              sourceIp: WORKER_A.privateIp,
              vpcEndpointId: SHARED_VPCE,
              vpcEndpointAccountId: ORG.networkAccount,
              eventTime: at('10:10'),
              eventSource: 'kms.amazonaws.com',
              eventName: 'Decrypt',
              userAgent: UA.javaV2,
            }),
          ],
        ],
        { inventory: orgInventory(), config: { trustedAccounts: [ORG.networkAccount] } },
      );
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });

    it('AWS-owned endpoint ids with public source addresses and AWS-on-behalf calls', async () => {
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV2, at('09:58')),
            // The instance's own public address, through an AWS-owned endpoint id (as in real trails).
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV2,
              sourceIp: WEB.publicIp,
              vpcEndpointId: 'vpce-f40dc59d',
              eventTime: at('10:05'),
              eventSource: 's3.amazonaws.com',
              eventName: 'GetBucketLocation',
              userAgent: UA.boto3,
            }),
            // Secrets Manager calling KMS for the session, through its own endpoint.
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV2,
              sourceIp: 'secretsmanager.amazonaws.com',
              invokedBy: 'secretsmanager.amazonaws.com',
              vpcEndpointId: 'vpce-0d985940f92611b87',
              eventTime: at('10:06'),
              eventSource: 'kms.amazonaws.com',
              eventName: 'Decrypt',
              userAgent: 'secretsmanager.amazonaws.com',
            }),
            // A person in the S3 console: public address, AWS-owned endpoint.
            ssoCall({
              user: 'ana@example.com',
              sourceIp: '81.2.69.160',
              eventTime: at('10:07'),
              eventSource: 's3.amazonaws.com',
              eventName: 'ListBuckets',
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });
  });

  describe('traps', () => {
    it('several keys of one instance: the on-box IMDSv2 key through the own endpoint is fine, the IMDSv1 key through the attacker’s is reported', async () => {
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV2, at('09:50')),
            ssmHeartbeat(WEB, {
              accessKeyId: WEB.keyV2,
              sourceIp: WEB.privateIp,
              vpcEndpointId: OWN_VPCE,
              eventTime: at('09:55'),
            }),
            ec2Vending(WEB, WEB.keyV1, at('09:58')),
            ...sneaky(WEB.keyV1),
          ],
        ],
        { inventory: orgInventory() },
      );
      const f = only(result, DETECTOR);
      assert.deepEqual(f.principal.accessKeyIds, [WEB.keyV1]);
      assert.deepEqual(f.principal.ec2RoleDelivery, ['1.0']);
      assert.ok(!result.findings.some((x) => x.principal.accessKeyIds.includes(WEB.keyV2)));
    });

    it('an IAM user calling through the same foreign endpoint at the same time does not make it the org’s', async () => {
      const human = iamUserCall({ userName: 'dev-alice', sourceIp: ATTACKER.privateIp, eventTime: at('10:42') });
      human['vpcEndpointId'] = ATTACKER.vpce;
      human['vpcEndpointAccountId'] = ATTACKER.account;
      const result = await scan([[ec2Vending(WEB, WEB.keyV1, at('09:58')), human, ...sneaky(WEB.keyV1)]], {
        inventory: orgInventory(),
      });
      assert.equal(only(result, DETECTOR).confidence, 'high');
    });

    it('still fires without inventory when the record names a foreign endpoint owner', async () => {
      const result = await scan([[ec2Vending(WEB, WEB.keyV1, at('09:58')), ...sneaky(WEB.keyV1)]]);
      const f = only(result, DETECTOR);
      assert.ok(atLeast(f.severity, 'medium'));
      assertReason(f, /584273916604/, 'names the owner');
    });

    it('without inventory or trustedAccounts, it says the org’s accounts were only inferred from the trail', async () => {
      const result = await scan([[ec2Vending(WEB, WEB.keyV1, at('09:58')), ...sneaky(WEB.keyV1)]]);
      const f = only(result, DETECTOR);
      assert.ok(
        f.confidence !== 'high' || reasonsMatch(f, /trustedAccounts|inventory/),
        `without inventory or trustedAccounts the org’s accounts are a guess:\n${f.evidence.reasons.join('\n')}`,
      );
    });

    it('without inventory, one CreateVpcEndpoint in the trail does not make the account’s other (older) endpoints foreign', async () => {
      const result = await scan([
        [
          createVpcEndpoint({
            vpcEndpointId: 'vpce-0c3d5e7f9a1b24680',
            serviceName: 'com.amazonaws.us-east-1.ecr.api',
            eventTime: at('08:12'),
          }),
          ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
          instanceRoleCall(WORKER_A, {
            accessKeyId: WORKER_A.key,
            sourceIp: WORKER_A.privateIp,
            vpcEndpointId: OWN_VPCE,
            eventTime: at('10:10'),
            eventVersion: '1.08',
            userAgent: UA.javaV2,
          }),
        ],
      ]);
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });
  });

  it('property: the verdict does not depend on order, file split, key order, id case, extra fields or repeated delivery', async () => {
    const records = [
      ec2Vending(WEB, WEB.keyV2, at('09:50')),
      instanceRoleCall(WEB, {
        accessKeyId: WEB.keyV2,
        sourceIp: WEB.privateIp,
        vpcEndpointId: OWN_VPCE,
        eventTime: at('09:55'),
      }),
      ec2Vending(WEB, WEB.keyV1, at('09:58')),
      ...sneaky(WEB.keyV1),
      ...sneaky(WEB.keyV1, { accountField: false }).slice(0, 1),
      instanceRoleCall(WEB, {
        accessKeyId: WEB.keyV2,
        sourceIp: WEB.publicIp,
        vpcEndpointId: 'vpce-f40dc59d',
        eventTime: at('10:05'),
        eventSource: 's3.amazonaws.com',
        eventName: 'GetBucketLocation',
      }),
    ];
    await assertVerdictStable(records, { inventory: () => orgInventory() }, (result) => {
      const findings = byDetector(result, DETECTOR);
      // One finding: the record with and without vpcEndpointAccountId are two usages of one (key, address, endpoint).
      assert.equal(findings.length, 1);
      assert.equal(findings[0]!.confidence, 'high');
    });
  });
});
