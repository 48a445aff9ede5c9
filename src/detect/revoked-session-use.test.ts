/**
 * Held-out tests for `revoked-session-use`: calls denied after an `AWSRevokeOlderSessions` policy was put
 * on the role, made by sessions issued before its cutoff.
 *
 * Public evidence reproduced here:
 * - AWS IAM User Guide, "Revoking IAM role temporary security credentials": the console's "Revoke active
 *   sessions" attaches an inline policy named `AWSRevokeOlderSessions` that denies `*` on `*` when
 *   `aws:TokenIssueTime` is `DateLessThan` the revocation time; sessions issued later are unaffected, and
 *   EC2 instances get fresh credentials from IMDS on their next refresh (an application that cached the old
 *   key keeps being denied until then).
 * - CloudTrail: the denied calls carry `errorCode` `AccessDenied` (S3, STS …) or
 *   `Client.UnauthorizedOperation` (EC2), and the session's issue time in
 *   `userIdentity.sessionContext.attributes.creationDate`.
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
  ec2Vending,
  instanceRoleCall,
  inventoryFrom,
  only,
  ORG,
  orgInventory,
  orgInventoryDocuments,
  revokeOlderSessions,
  scan,
  serviceVending,
  sessionCall,
  ssmHeartbeat,
  UA,
  WEB,
} from './scenario.test-helpers.js';

const DETECTOR = 'revoked-session-use';
const CUTOFF = '2024-05-14T11:02:00Z';

/** The thief's calls with WEB's key (issued 09:58), before and after the 11:02 revocation. */
function thief(key = WEB.keyV1, sourceIp = ATTACKER.hetzner, delivery = '1.0', created = at('09:58')) {
  const base = { accessKeyId: key, sourceIp, ec2RoleDelivery: delivery, creationDate: created, userAgent: UA.cli };
  return [
    instanceRoleCall(WEB, {
      ...base,
      eventTime: at('10:41'),
      eventSource: 's3.amazonaws.com',
      eventName: 'ListBuckets',
    }),
    instanceRoleCall(WEB, {
      ...base,
      eventTime: at('11:10:04'),
      eventSource: 's3.amazonaws.com',
      eventName: 'ListBuckets',
      errorCode: 'AccessDenied',
      errorMessage: 'Access Denied',
    }),
    instanceRoleCall(WEB, {
      ...base,
      eventTime: at('11:10:31'),
      eventSource: 'ec2.amazonaws.com',
      eventName: 'DescribeInstances',
      errorCode: 'Client.UnauthorizedOperation',
    }),
    instanceRoleCall(WEB, {
      ...base,
      eventTime: at('11:12:02'),
      eventSource: 'secretsmanager.amazonaws.com',
      eventName: 'GetSecretValue',
      errorCode: 'AccessDenied',
    }),
  ];
}

function revoke(role = WEB.role, accountId = ORG.account) {
  return revokeOlderSessions({ role, cutoff: CUTOFF, eventTime: at('11:02:07'), accountId });
}

describe(DETECTOR, () => {
  it('fires when a session issued before the cutoff is still being used (and denied) away from the instance', async () => {
    const putPolicy = revoke();
    const result = await scan([[ec2Vending(WEB, WEB.keyV1, at('09:58')), ...thief(), putPolicy]], {
      inventory: orgInventory(),
    });
    const f = only(result, DETECTOR);
    assert.equal(f.accountId, ORG.account);
    assert.equal(f.principal.role, WEB.role);
    assert.equal(f.principal.instanceId, WEB.instanceId);
    assert.deepEqual(f.principal.accessKeyIds, [WEB.keyV1]);
    assert.equal(f.source.ip, ATTACKER.hetzner);
    assert.equal(f.confidence, 'high');
    assert.equal(f.severity, 'high');
    assert.equal(f.activity.errorCount, 3);
    assertReason(
      f,
      /3 calls denied for session i-0a1b2c3d4e5f60718 \(key ASIA3XFRBF23LT2ZRD8M\), issued 2024-05-14T09:58:00\.000Z, before the 2024-05-14T11:02:00Z cutoff/,
      'the rule and the times',
    );
    assertReason(f, new RegExp(`event ${putPolicy['eventID']}`), 'names the revocation event');
    assertReason(f, /someone else's hands/, 'what it means');
  });

  it('reads a narrow revoke (offbox contain --narrow): only the named instance’s sessions', async () => {
    const narrow = (sessionName: string): Record<string, unknown> => {
      const event = revoke() as Record<string, unknown> & { requestParameters: Record<string, unknown> };
      const document = {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'OffboxDenySessionsOf',
            Effect: 'Deny',
            Action: ['*'],
            Resource: ['*'],
            Condition: {
              StringLike: { 'aws:userId': `AROA3XFRBF23WEBROLE1:${sessionName}` },
              DateLessThan: { 'aws:TokenIssueTime': CUTOFF },
            },
          },
        ],
      };
      return { ...event, requestParameters: { ...event.requestParameters, policyDocument: JSON.stringify(document) } };
    };
    const covering = await scan([[ec2Vending(WEB, WEB.keyV1, at('09:58')), ...thief(), narrow(WEB.instanceId)]], {
      inventory: orgInventory(),
    });
    assert.equal(only(covering, DETECTOR).principal.instanceId, WEB.instanceId);
    const other = await scan([[ec2Vending(WEB, WEB.keyV1, at('09:58')), ...thief(), narrow('i-0ffffffffffffffff')]], {
      inventory: orgInventory(),
    });
    assertNoFinding(other, DETECTOR);
  });

  describe('does not fire on', () => {
    it('sessions issued after the cutoff, even when they are denied for other reasons', async () => {
      const result = await scan(
        [
          [
            revoke(),
            ec2Vending(WEB, WEB.keyV2, at('11:07:40')),
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV2,
              sourceIp: WEB.publicIp,
              creationDate: at('11:07:40'),
              eventTime: at('11:08'),
              eventSource: 's3.amazonaws.com',
              eventName: 'GetObject',
              errorCode: 'AccessDenied',
              userAgent: UA.boto3,
            }),
            // A session issued exactly at the cutoff is not "less than" it.
            instanceRoleCall(WEB, {
              accessKeyId: 'ASIA3XFRBF23ATCUTOFF',
              sourceIp: WEB.publicIp,
              creationDate: CUTOFF,
              eventTime: at('11:09'),
              eventSource: 's3.amazonaws.com',
              eventName: 'GetObject',
              errorCode: 'AccessDenied',
              userAgent: UA.boto3,
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });

    it('denials before the policy was put, revocations of other roles or other accounts', async () => {
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV2, at('09:58')),
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV2,
              sourceIp: WEB.publicIp,
              creationDate: at('09:58'),
              eventTime: at('10:30'),
              eventSource: 's3.amazonaws.com',
              eventName: 'GetObject',
              errorCode: 'AccessDenied',
              userAgent: UA.boto3,
            }),
            revoke(),
            revoke('worker-role'),
            revoke(WEB.role, '777788889999'),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
    });

    it('the instance’s own application still holding the old key on its own address: low, with the advice to refresh', async () => {
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV2, at('09:58')),
            revoke(),
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV2,
              sourceIp: WEB.publicIp,
              creationDate: at('09:58'),
              eventTime: at('11:03'),
              eventSource: 's3.amazonaws.com',
              eventName: 'PutObject',
              errorCode: 'AccessDenied',
              userAgent: UA.boto3,
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      const f = only(result, DETECTOR);
      assert.equal(f.severity, 'low');
      assertReason(f, /instance's own address.*has not fetched new credentials/, 'the advice');
      assertNothingSerious(result);
    });
  });

  describe('traps', () => {
    it('several keys of one instance: the thief’s IMDSv1 key is high, the on-box IMDSv2 key is low', async () => {
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV2, at('09:50')),
            ssmHeartbeat(WEB, { accessKeyId: WEB.keyV2, sourceIp: WEB.publicIp, eventTime: at('09:55') }),
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV2,
              sourceIp: WEB.publicIp,
              creationDate: at('09:50'),
              eventTime: at('11:04'),
              eventSource: 's3.amazonaws.com',
              eventName: 'PutObject',
              errorCode: 'AccessDenied',
              userAgent: UA.boto3,
            }),
            ec2Vending(WEB, WEB.keyV1, at('09:58')),
            ...thief(),
            revoke(),
          ],
        ],
        { inventory: orgInventory() },
      );
      const findings = byDetector(result, DETECTOR);
      const severityOf = (key: string) => findings.find((f) => f.principal.accessKeyIds.includes(key))?.severity;
      assert.equal(severityOf(WEB.keyV1), 'high');
      assert.equal(severityOf(WEB.keyV2), 'low');
    });

    it('an address that becomes the instance’s only after the denied calls does not make them the instance’s own', async () => {
      const EAST_EC2 = '44.205.10.4';
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV1, at('09:58')),
            ...thief(WEB.keyV1, EAST_EC2),
            revoke(),
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

    it('the issue time comes from the vending event when the records lack creationDate', async () => {
      const calls = thief().map((record) => {
        const context = (record['userIdentity'] as Record<string, unknown>)['sessionContext'] as Record<
          string,
          unknown
        >;
        delete context['attributes'];
        return record;
      });
      const result = await scan([[ec2Vending(WEB, WEB.keyV1, at('09:58')), ...calls, revoke()]], {
        inventory: orgInventory(),
      });
      assert.equal(only(result, DETECTOR).confidence, 'high');
    });

    it('an ECS task’s own cached key, denied from the task’s own address, is not “someone else’s hands”', async () => {
      const docs = orgInventoryDocuments();
      docs.push([
        `inventory/${ORG.account}/${ORG.region}/describe-network-interfaces.json`,
        {
          NetworkInterfaces: [
            {
              Association: { IpOwnerId: 'amazon', PublicIp: '3.91.17.204' },
              Description: `arn:aws:ecs:${ORG.region}:${ORG.account}:attachment/2f6c2a1b-7d3e-4f5a-9b8c-1d2e3f4a5b6c`,
              InterfaceType: 'interface',
              NetworkInterfaceId: 'eni-0f4e3d2c1b0a98765',
              OwnerId: ORG.account,
              PrivateIpAddress: '10.20.8.120',
              RequesterManaged: true,
              Status: 'in-use',
              VpcId: ORG.vpc,
              AvailabilityZone: 'us-east-1b',
            },
          ],
        },
      ]);
      const task = '8f3c2b1a9d4e4f6a8b7c6d5e4f3a2b1c';
      const result = await scan(
        [
          [
            serviceVending({
              service: 'ecs-tasks.amazonaws.com',
              role: 'orders-api-task-role',
              session: task,
              accessKeyId: 'ASIA3XFRBF23ECSTASK1',
              eventTime: at('09:00'),
            }),
            revoke('orders-api-task-role'),
            sessionCall({
              role: 'orders-api-task-role',
              session: task,
              accessKeyId: 'ASIA3XFRBF23ECSTASK1',
              sourceIp: '3.91.17.204',
              creationDate: at('09:00'),
              eventTime: at('11:05'),
              eventSource: 'dynamodb.amazonaws.com',
              eventName: 'PutItem',
              errorCode: 'AccessDeniedException',
              userAgent: `${UA.boto3} exec-env/AWS_ECS_FARGATE`,
            }),
          ],
        ],
        { inventory: inventoryFrom(docs) },
      );
      const f = only(result, DETECTOR);
      assert.notEqual(f.confidence, 'high');
      assert.ok(!/someone else's hands/.test(f.evidence.reasons.join('\n')), f.evidence.reasons.join('\n'));
    });
  });

  describe('without inventory', () => {
    it('still fires on a public non-AWS address, which needs no inventory', async () => {
      const result = await scan([[ec2Vending(WEB, WEB.keyV1, at('09:58')), ...thief(), revoke()]]);
      const f = only(result, DETECTOR);
      assert.ok(atLeast(f.severity, 'high'));
    });

    it('uses the instance’s own agent traffic as the anchor for “own address”', async () => {
      const result = await scan([
        [
          ec2Vending(WEB, WEB.keyV2, at('09:50')),
          ssmHeartbeat(WEB, { accessKeyId: WEB.keyV2, sourceIp: WEB.publicIp, eventTime: at('09:55') }),
          revoke(),
          instanceRoleCall(WEB, {
            accessKeyId: WEB.keyV2,
            sourceIp: WEB.publicIp,
            creationDate: at('09:50'),
            eventTime: at('11:04'),
            eventSource: 's3.amazonaws.com',
            eventName: 'PutObject',
            errorCode: 'AccessDenied',
            userAgent: UA.boto3,
          }),
        ],
      ]);
      assert.equal(only(result, DETECTOR).severity, 'low');
    });

    it('on an AWS address it cannot attribute, it lowers confidence and says the inventory is missing instead of blaming a thief', async () => {
      const result = await scan([
        [
          ec2Vending(WEB, WEB.keyV2, at('09:50')),
          revoke(),
          instanceRoleCall(WEB, {
            accessKeyId: WEB.keyV2,
            sourceIp: WEB.publicIp,
            creationDate: at('09:50'),
            eventTime: at('11:04'),
            eventSource: 's3.amazonaws.com',
            eventName: 'PutObject',
            errorCode: 'AccessDenied',
            userAgent: UA.boto3,
          }),
        ],
      ]);
      const f = only(result, DETECTOR);
      assert.notEqual(f.confidence, 'high');
      assertReason(f, /inventory/, 'says what was missing');
    });
  });

  it('property: the verdict does not depend on order, file split, key order, id case, extra fields or repeated delivery', async () => {
    const records = [
      ec2Vending(WEB, WEB.keyV2, at('09:50')),
      instanceRoleCall(WEB, {
        accessKeyId: WEB.keyV2,
        sourceIp: WEB.publicIp,
        creationDate: at('09:50'),
        eventTime: at('11:04'),
        eventSource: 's3.amazonaws.com',
        eventName: 'PutObject',
        errorCode: 'AccessDenied',
        userAgent: UA.boto3,
      }),
      ec2Vending(WEB, WEB.keyV1, at('09:58')),
      ...thief(),
      revoke(),
      ec2Vending(WEB, 'ASIA3XFRBF23AFTERCUT', at('11:07:40')),
      instanceRoleCall(WEB, {
        accessKeyId: 'ASIA3XFRBF23AFTERCUT',
        sourceIp: WEB.publicIp,
        creationDate: at('11:07:40'),
        eventTime: at('11:08'),
        eventSource: 's3.amazonaws.com',
        eventName: 'GetObject',
        errorCode: 'AccessDenied',
        userAgent: UA.boto3,
      }),
    ];
    await assertVerdictStable(records, { inventory: () => orgInventory() }, (result) => {
      assert.deepEqual(
        byDetector(result, DETECTOR)
          .map((f) => `${f.principal.accessKeyIds.join(',')} ${f.severity}`)
          .sort(),
        [`${WEB.keyV1} high`, `${WEB.keyV2} low`],
      );
    });
  });
});
