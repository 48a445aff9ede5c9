/**
 * Held-out tests for `instance-session-name-spoof`: a role session *named* like an EC2 instance (`i-…`)
 * that EC2 never issued.
 *
 * Public evidence reproduced here:
 * - STS `AssumeRole` API reference: `RoleSessionName` is chosen by the caller ("Use the role session name to
 *   uniquely identify a session … [\w+=,.@-]*"), so any principal allowed to assume the role can name its
 *   session `i-0a1b2c3d4e5f60718` and appear in CloudTrail as `assumed-role/ROLE/i-0a1b2c3d4e5f60718`,
 *   exactly like the instance's own profile session.
 * - CloudTrail userIdentity reference: instance-profile sessions carry `sessionContext.ec2RoleDelivery`
 *   ("1.0"/"2.0"); the vending event of a real instance session is `AssumeRole` by `ec2.amazonaws.com`
 *   (as in the Invictus/Stratus Red Team trail).
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
  callerAssumeRole,
  ec2Vending,
  iamUserCall,
  identityRoleCall,
  instanceRoleCall,
  only,
  ORG,
  orgInventory,
  scan,
  sessionCall,
  ssmHeartbeat,
  UA,
  WEB,
  WORKER_A,
  WORKER_B,
} from './scenario.test-helpers.js';

const DETECTOR = 'instance-session-name-spoof';
const SPOOF_KEY = 'ASIA3XFRBF23SP00F7QX';

/** An IAM user (leaked long-term key) assumes web-app-role and names the session after the web server. */
function spoofedAssume(sessionName = WEB.instanceId) {
  const caller = iamUserCall({
    userName: 'ci-deployer',
    accessKeyId: 'AKIA3XFRBF23CIDEPLOY',
    sourceIp: ATTACKER.hetzner,
    eventTime: at('10:30:12'),
    eventSource: 'sts.amazonaws.com',
    eventName: 'AssumeRole',
    userAgent: UA.boto3,
  });
  return callerAssumeRole({ caller, targetRole: WEB.role, sessionName, newAccessKeyId: SPOOF_KEY });
}

/** The spoofed session's calls: no ec2RoleDelivery, because STS (not EC2) issued the key. */
function spoofedCalls(sourceIp: string, session = WEB.instanceId) {
  return [
    instanceRoleCall(WEB, {
      session,
      accessKeyId: SPOOF_KEY,
      ec2RoleDelivery: '',
      sourceIp,
      eventTime: at('10:31:02'),
      userAgent: UA.boto3,
      creationDate: at('10:30:12'),
    }),
    instanceRoleCall(WEB, {
      session,
      accessKeyId: SPOOF_KEY,
      ec2RoleDelivery: '',
      sourceIp,
      eventTime: at('10:33:45'),
      eventSource: 'dynamodb.amazonaws.com',
      eventName: 'Scan',
      requestParameters: { tableName: 'orders' },
      userAgent: UA.boto3,
      creationDate: at('10:30:12'),
    }),
  ];
}

/** The real web server: EC2-vended key, ec2RoleDelivery, its own address. */
function realWeb() {
  return [
    ec2Vending(WEB, WEB.keyV2, at('09:58')),
    ssmHeartbeat(WEB, { accessKeyId: WEB.keyV2, sourceIp: WEB.publicIp, eventTime: at('10:00') }),
    instanceRoleCall(WEB, {
      accessKeyId: WEB.keyV2,
      sourceIp: WEB.publicIp,
      eventTime: at('10:02'),
      eventSource: 'dynamodb.amazonaws.com',
      eventName: 'GetItem',
      userAgent: UA.boto3,
    }),
  ];
}

describe(DETECTOR, () => {
  it('fires when the key of an i-… session was issued by an ordinary AssumeRole (high confidence, names the caller)', async () => {
    const assume = spoofedAssume();
    const result = await scan([[...realWeb(), assume, ...spoofedCalls(ATTACKER.hetzner)]]);
    const f = only(result, DETECTOR);
    assert.equal(f.accountId, ORG.account);
    assert.equal(f.principal.sessionName, WEB.instanceId);
    assert.equal(f.principal.role, WEB.role);
    assert.deepEqual(f.principal.accessKeyIds, [SPOOF_KEY]);
    assert.notEqual(f.principal.credentialKind, 'ec2-instance', 'vending evidence outranks the name');
    assert.deepEqual(f.principal.ec2RoleDelivery, []);
    assert.equal(f.source.ip, ATTACKER.hetzner);
    assert.equal(f.confidence, 'high');
    assert.equal(f.severity, 'critical', 'high, raised for the DynamoDB scan (data access) and recon');
    assert.deepEqual(f.evidence.vendingEventIds, [assume['eventID']]);
    assertReason(
      f,
      /issued by sts:AssumeRole called by arn:aws:iam::111122223333:user\/ci-deployer from 88\.198\.48\.17/,
      'names the real issuer and where it called from',
    );
    assertReason(f, /not by ec2\.amazonaws\.com/, 'says why it is a spoof');
    // The spoofed session must not be mistaken for the instance's credential.
    assertNoFinding(result, 'instance-credential-outside-aws');
  });

  it('fires with medium confidence when the vending event is not in the trail but the session lacks ec2RoleDelivery the role’s real sessions carry', async () => {
    const result = await scan([[...realWeb(), ...spoofedCalls(ATTACKER.hetzner)]]);
    const f = only(result, DETECTOR);
    assert.equal(f.confidence, 'medium');
    assert.ok(atLeast(f.severity, 'medium'));
    assertReason(f, /carries no ec2RoleDelivery/, 'the rule');
    assertReason(f, /no vending event was seen for key ASIA3XFRBF23SP00F7QX/, 'what evidence was missing');
  });

  it('being on the instance’s own address does not make a chosen name real', async () => {
    const result = await scan([[...realWeb(), spoofedAssume(), ...spoofedCalls(WEB.publicIp)]], {
      inventory: orgInventory(),
    });
    assert.equal(only(result, DETECTOR).confidence, 'high');
  });

  it('a name spoofing a *different* instance than the caller’s own is reported even when the caller is an instance', async () => {
    // WORKER_A's key assumes web-app-role and names the session after WEB: framing another instance.
    const caller = instanceRoleCall(WORKER_A, {
      accessKeyId: WORKER_A.key,
      sourceIp: '52.4.118.203',
      eventTime: at('10:30:12'),
      userAgent: UA.boto3,
    });
    const assume = callerAssumeRole({
      caller,
      targetRole: WEB.role,
      sessionName: WEB.instanceId,
      newAccessKeyId: SPOOF_KEY,
    });
    const result = await scan(
      [[ec2Vending(WORKER_A, WORKER_A.key, at('09:40')), ...realWeb(), assume, ...spoofedCalls('52.4.118.203')]],
      { inventory: orgInventory() },
    );
    const f = only(result, DETECTOR);
    assert.equal(f.confidence, 'high');
    assertReason(f, /worker-role\/i-0c9d8e7f6a5b4c3d2/, 'names the calling instance session');
  });

  describe('does not fire on real instance sessions', () => {
    it('EC2-vended keys with ec2RoleDelivery, several keys per instance (1.0 and 2.0), mixed-case ids, the identity role, AWS-on-behalf calls', async () => {
      const mixedCase = 'i-0C9d8E7f6A5b4C3d2';
      const result = await scan(
        [
          [
            ...realWeb(),
            ec2Vending(WEB, WEB.keyV1, at('10:20')),
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV1,
              ec2RoleDelivery: '1.0',
              sourceIp: WEB.publicIp,
              eventTime: at('10:21'),
              eventSource: 's3.amazonaws.com',
              eventName: 'GetObject',
              userAgent: UA.javaV2,
            }),
            ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
            instanceRoleCall(WORKER_A, {
              session: mixedCase,
              accessKeyId: WORKER_A.key,
              sourceIp: '52.4.118.203',
              eventTime: at('10:10'),
              userAgent: UA.javaV2,
            }),
            identityRoleCall(WEB.instanceId, {
              accessKeyId: 'ASIA3XFRBF23IDENT9K2',
              sourceIp: WEB.publicIp,
              eventTime: at('10:01'),
            }),
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV2,
              ec2RoleDelivery: '',
              sourceIp: 's3.amazonaws.com',
              invokedBy: 's3.amazonaws.com',
              eventTime: at('10:02:01'),
              eventSource: 'kms.amazonaws.com',
              eventName: 'Decrypt',
              userAgent: 's3.amazonaws.com',
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });

    it('a real instance session whose vending event is outside the trail window but which carries ec2RoleDelivery', async () => {
      const result = await scan([
        [
          ...realWeb(),
          instanceRoleCall(WORKER_B, {
            accessKeyId: WORKER_B.key,
            ec2RoleDelivery: '2.0',
            sourceIp: '52.4.118.203',
            eventTime: at('10:10'),
            userAgent: UA.goV2,
          }),
        ],
      ]);
      assertNoFinding(result, DETECTOR);
    });

    it('an instance naming its own chained session after itself, on its own address (a common script idiom)', async () => {
      // e.g. `aws sts assume-role --role-session-name "$(ec2-metadata --instance-id | cut -d' ' -f2)"` on WEB.
      const caller = instanceRoleCall(WEB, {
        accessKeyId: WEB.keyV2,
        sourceIp: WEB.publicIp,
        eventTime: at('10:05'),
        userAgent: UA.cli,
      });
      const assume = callerAssumeRole({
        caller,
        targetRole: 'web-reports-role',
        sessionName: WEB.instanceId,
        newAccessKeyId: 'ASIA3XFRBF23CHAIN0W1',
      });
      const result = await scan(
        [
          [
            ...realWeb(),
            assume,
            sessionCall({
              role: 'web-reports-role',
              session: WEB.instanceId,
              accessKeyId: 'ASIA3XFRBF23CHAIN0W1',
              sourceIp: WEB.publicIp,
              eventTime: at('10:06'),
              eventSource: 's3.amazonaws.com',
              eventName: 'PutObject',
              userAgent: UA.cli,
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNothingSerious(result);
    });
  });

  it('property: the verdict does not depend on order, file split, key order, id case, extra fields or repeated delivery', async () => {
    const records = [
      ...realWeb(),
      spoofedAssume(),
      ...spoofedCalls(ATTACKER.hetzner),
      ec2Vending(WEB, WEB.keyV1, at('10:20')),
      instanceRoleCall(WEB, {
        accessKeyId: WEB.keyV1,
        ec2RoleDelivery: '1.0',
        sourceIp: WEB.publicIp,
        eventTime: at('10:21'),
      }),
      // A second spoof without vending evidence, of another instance name, on a role with real sessions.
      instanceRoleCall(WEB, {
        session: 'i-0deadbeefcafe1234',
        accessKeyId: 'ASIA3XFRBF23SP00F8RY',
        ec2RoleDelivery: '',
        sourceIp: ATTACKER.digitalOcean,
        eventTime: at('11:00'),
      }),
    ];
    await assertVerdictStable(records, {}, (result) => {
      const findings = byDetector(result, DETECTOR);
      assert.deepEqual(findings.map((f) => f.confidence).sort(), ['high', 'medium']);
    });
  });
});
