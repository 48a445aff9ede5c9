import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { instanceCall, vendingEvent } from '../cloudtrail/events.test-helpers.js';
import { scanRecords } from '../engine/scan.test-helpers.js';

const DETECTOR = 'instance-credential-outside-aws';
// 3.225.16.109 is EC2 us-east-1 in the vendored snapshot (the Invictus instance's own address).
const EC2_ADDRESS = '3.225.16.109';

describe(DETECTOR, () => {
  it('fires on an instance key used from a public non-AWS address, anchored by its vending event', async () => {
    const result = await scanRecords([
      [instanceCall({ sourceIp: '203.0.113.10', ec2RoleDelivery: '1.0' })],
      [vendingEvent()],
    ]);
    // 203.0.113.10 is TEST-NET-3: special, so unverifiable; use a real public address for the high case below.
    assert.equal(result.findings.length, 1);
    assert.equal(result.findings[0]!.confidence, 'low');
  });

  it('public address: high confidence, critical with recon + IMDSv1, evidence and containment', async () => {
    const result = await scanRecords([
      [
        vendingEvent({ accessKeyId: 'ASIAKEY1', region: 'eu-west-1' }),
        instanceCall({ accessKeyId: 'ASIAKEY1', sourceIp: '1.2.3.4', ec2RoleDelivery: '1.0', eventId: 'ev-1' }),
        instanceCall({
          accessKeyId: 'ASIAKEY1',
          sourceIp: '1.2.3.4',
          ec2RoleDelivery: '1.0',
          eventName: 'ListBuckets',
          eventSource: 's3.amazonaws.com',
          eventTime: '2024-05-01T10:07:00Z',
          eventId: 'ev-2',
        }),
      ],
    ]);
    assert.equal(result.findings.length, 1);
    const f = result.findings[0]!;
    assert.equal(f.detector, DETECTOR);
    assert.equal(f.severity, 'critical');
    assert.equal(f.confidence, 'high');
    assert.equal(f.principal.instanceId, 'i-0123456789abcdef0');
    assert.deepEqual(f.principal.accessKeyIds, ['ASIAKEY1']);
    assert.deepEqual(f.principal.ec2RoleDelivery, ['1.0']);
    assert.equal(f.source.ip, '1.2.3.4');
    assert.equal(f.source.class, 'public');
    assert.equal(f.activity.calls, 2);
    assert.deepEqual(f.activity.actions, ['s3:ListBuckets', 'sts:GetCallerIdentity']);
    assert.equal(f.activity.firstSeen, '2024-05-01T10:05:00Z');
    assert.equal(f.activity.lastSeen, '2024-05-01T10:07:00Z');
    assert.deepEqual(f.evidence.eventIds.sort(), ['ev-1', 'ev-2']);
    assert.equal(f.evidence.vendingEventIds.length, 1);
    assert.ok(f.evidence.reasons.some((r) => /IMDSv1/.test(r)));
    assert.ok(f.evidence.reasons.some((r) => /vended to i-0123456789abcdef0 by EC2/.test(r)));
    assert.equal(f.evidence.ipRangesSyncToken, '1787433425');
    assert.equal(f.attack.technique, 'T1552.005');
    assert.ok(f.response.commands.some((c) => c.includes('AWSRevokeOlderSessions')));
    assert.ok(
      f.response.commands.some((c) => c.includes('--region eu-west-1') && c.includes('--http-tokens required')),
    );
  });

  it('public address with only ordinary calls over IMDSv2: high, not critical', async () => {
    const result = await scanRecords([
      [
        instanceCall({
          sourceIp: '1.2.3.4',
          ec2RoleDelivery: '2.0',
          eventName: 'PutObject',
          eventSource: 's3.amazonaws.com',
        }),
      ],
    ]);
    assert.equal(result.findings[0]?.severity, 'high');
  });

  it('does not fire on the instance own EC2 address, AWS-on-behalf calls or allowlisted egress', async () => {
    const result = await scanRecords(
      [
        [
          instanceCall({ sourceIp: EC2_ADDRESS }),
          instanceCall({ sourceIp: 'kms.amazonaws.com', invokedBy: 'kms.amazonaws.com', eventName: 'Decrypt' }),
          instanceCall({ sourceIp: 'AWS Internal', eventName: 'GetObject' }),
          instanceCall({ sourceIp: '1.2.3.4', invokedBy: 'athena.amazonaws.com' }),
          instanceCall({ sourceIp: '198.18.0.1', vpcEndpointId: 'vpce-0abc' }),
          instanceCall({ sourceIp: '10.1.2.3', vpcEndpointId: 'vpce-0abc' }),
          instanceCall({ sourceIp: '81.2.69.160', eventName: 'PutObject' }),
        ],
      ],
      { config: { allowedSourceCidrs: ['81.2.69.0/24'], trustedAccounts: [], suppress: [] } },
    );
    assert.deepEqual(
      result.findings.filter((f) => f.detector === DETECTOR),
      [],
    );
  });

  it('a private address without a VPC endpoint is unverifiable: low, with the reason, one finding per role and address range', async () => {
    const result = await scanRecords([
      [
        instanceCall({ sourceIp: '192.168.10.20', ec2RoleDelivery: '1.0' }),
        ...Array.from({ length: 40 }, (_, i) =>
          instanceCall({
            instanceId: `i-0${(0x1000 + i).toString(16)}456789abcdef`,
            accessKeyId: `ASIAFLEET${String(i).padStart(11, '0')}`,
            sourceIp: `192.168.${i}.7`,
            eventName: 'DescribeInstances',
            eventSource: 'ec2.amazonaws.com',
          }),
        ),
        instanceCall({ instanceId: 'i-0fedcba9876543210', accessKeyId: 'ASIATEN', sourceIp: '10.9.8.7' }),
      ],
    ]);
    const findings = result.findings.filter((f) => f.detector === DETECTOR);
    assert.deepEqual(findings.map((f) => f.source.ip).sort(), ['10.0.0.0/8', '192.168.0.0/16']);
    const fleet = findings.find((f) => f.source.ip === '192.168.0.0/16')!;
    assert.equal(fleet.confidence, 'low');
    assert.equal(fleet.severity, 'low', 'recon and IMDSv1 do not raise a question nothing corroborates');
    assert.equal(fleet.principal.instanceId, '', 'many instances');
    assert.equal(fleet.principal.accessKeyIds.length, 41);
    assert.ok(fleet.evidence.reasons[0]!.includes('no vpcEndpointId'));
    assert.ok(fleet.evidence.reasons.some((r) => /41 addresses .*41 sessions/.test(r)));
  });

  it('an aws-internal user agent excuses an instance key’s KMS calls only from AWS space: from outside it is a forged claim', async () => {
    const internal = 'aws-internal/3 aws-sdk-java/1.12.596 Linux/5.10.205-174.804.amzn2.x86_64';
    const kms = (sourceIp: string) =>
      instanceCall({ sourceIp, userAgent: internal, eventSource: 'kms.amazonaws.com', eventName: 'Decrypt' });
    const quiet = await scanRecords([[kms(EC2_ADDRESS)]]);
    assert.deepEqual(quiet.findings, []);
    const forged = await scanRecords([[kms('45.33.32.156')]]);
    const f = forged.findings.find((x) => x.detector === DETECTOR)!;
    assert.equal(f.source.ip, '45.33.32.156');
    assert.ok(f.evidence.reasons.some((r) => /claiming to be AWS-internal/.test(r)));
    assert.ok(['high', 'critical'].includes(f.severity));
  });

  it('the floor for unverifiable sources is configurable (unverifiableSourceSeverity)', async () => {
    const result = await scanRecords([[instanceCall({ sourceIp: '192.168.10.20' })]], {
      config: { allowedSourceCidrs: [], trustedAccounts: [], suppress: [], unverifiableSourceSeverity: 'medium' },
    });
    assert.equal(result.findings[0]!.severity, 'medium');
  });

  describe('corroborating signals single an unverifiable source out and raise it', () => {
    const person = (sourceIp: string, eventTime = '2024-05-01T10:20:00Z') => ({
      eventVersion: '1.09',
      userIdentity: {
        type: 'IAMUser',
        principalId: 'AIDAEXAMPLEUSER00001',
        arn: 'arn:aws:iam::111122223333:user/bert',
        accountId: '111122223333',
        accessKeyId: 'AKIAEXAMPLEUSERKEY01',
        userName: 'bert',
      },
      eventTime,
      eventSource: 'iam.amazonaws.com',
      eventName: 'ListRoles',
      awsRegion: 'us-east-1',
      sourceIPAddress: sourceIp,
      userAgent: 'aws-cli/2.15.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1',
      eventID: `person-${sourceIp}-${eventTime}`,
      eventType: 'AwsApiCall',
      recipientAccountId: '111122223333',
    });

    it('a person’s long-term key on the same address in the same hour (the Invictus shape)', async () => {
      const result = await scanRecords([
        [person('192.168.10.20'), instanceCall({ sourceIp: '192.168.10.20', ec2RoleDelivery: '1.0' })],
      ]);
      const f = result.findings.find((x) => x.detector === DETECTOR)!;
      assert.equal(f.source.ip, '192.168.10.20', 'its own finding');
      assert.equal(f.confidence, 'medium');
      assert.equal(f.severity, 'high', 'medium, raised for recon and IMDSv1');
      assert.ok(f.evidence.reasons.some((r) => /also used by IAM user bert/.test(r)));
    });

    it('a person on the same address a day later is no signal', async () => {
      const result = await scanRecords([
        [person('192.168.10.20', '2024-05-02T12:00:00Z'), instanceCall({ sourceIp: '192.168.10.20' })],
      ]);
      assert.equal(result.findings.find((x) => x.detector === DETECTOR)!.severity, 'low');
    });

    it('offensive tooling in the user agent (Kali’s aws-cli)', async () => {
      const kali =
        'aws-cli/2.13.25 Python/3.11.6 Linux/6.5.0-kali3-amd64 source/x86_64.kali.2023 prompt/off command/sts.get-caller-identity';
      const result = await scanRecords([[instanceCall({ sourceIp: '10.20.30.40', userAgent: kali })]]);
      const f = result.findings.find((x) => x.detector === DETECTOR)!;
      assert.equal(f.source.ip, '10.20.30.40');
      assert.ok(f.evidence.reasons.some((r) => /offensive tooling \(Kali Linux\)/.test(r)));
      assert.ok(['medium', 'high', 'critical'].includes(f.severity), f.severity);
    });

    it('one key used by clients on two operating systems', async () => {
      const result = await scanRecords([
        [
          instanceCall({ sourceIp: EC2_ADDRESS, eventTime: '2024-05-01T10:01:00Z' }),
          instanceCall({
            sourceIp: '172.16.5.5',
            userAgent: 'aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off',
          }),
        ],
      ]);
      const f = result.findings.find((x) => x.detector === DETECTOR)!;
      assert.equal(f.source.ip, '172.16.5.5');
      assert.ok(f.evidence.reasons.some((r) => /clients on linux and macos/.test(r)));
    });

    it('the user agent changing on one key within minutes', async () => {
      const agents = [
        'aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64 prompt/off',
        'Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#6.5.0 lang/python#3.11.8',
        'aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64',
      ];
      const result = await scanRecords([
        agents.map((userAgent, i) =>
          instanceCall({ sourceIp: '10.1.1.3', userAgent, eventTime: `2024-05-01T10:0${i}:00Z` }),
        ),
      ]);
      const f = result.findings.find((x) => x.detector === DETECTOR)!;
      assert.equal(f.source.ip, '10.1.1.3');
      assert.ok(f.evidence.reasons.some((r) => /user agent changes .* aws-cli, aws-sdk-go-v2, boto3/.test(r)));
    });

    it('permission probing: most calls denied', async () => {
      const result = await scanRecords([
        Array.from({ length: 8 }, (_, i) =>
          instanceCall({
            sourceIp: '10.1.1.1',
            eventSource: 'iam.amazonaws.com',
            eventName: ['ListUsers', 'ListRoles', 'GetAccountSummary', 'ListPolicies'][i % 4],
            errorCode: 'AccessDenied',
            eventTime: `2024-05-01T10:0${i}:00Z`,
          }),
        ),
      ]);
      const f = result.findings.find((x) => x.detector === DETECTOR)!;
      assert.equal(f.source.ip, '10.1.1.1');
      assert.ok(f.evidence.reasons.some((r) => /8 of 8 calls were denied/.test(r)));
    });

    it('a sweep across regions', async () => {
      const result = await scanRecords([
        ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-south-1'].map((region, i) =>
          instanceCall({
            sourceIp: '10.1.1.2',
            region,
            eventSource: 'ec2.amazonaws.com',
            eventName: 'DescribeInstances',
            eventTime: `2024-05-01T10:0${i}:00Z`,
          }),
        ),
      ]);
      const f = result.findings.find((x) => x.detector === DETECTOR)!;
      assert.ok(f.evidence.reasons.some((r) => /reach 4 regions/.test(r)));
    });
  });

  it('ignores non-instance credentials used from outside', async () => {
    const sso = instanceCall({ role: 'AWSReservedSSO_Admin_0123', sourceIp: '1.2.3.4' });
    const identity = sso['userIdentity'] as Record<string, unknown>;
    identity['arn'] = 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/alice@example.com';
    identity['principalId'] = 'AROAX:alice@example.com';
    const result = await scanRecords([[sso]]);
    assert.deepEqual(result.findings, []);
  });

  it('aggregates several keys of one instance from one source into one finding, IPv6 included', async () => {
    const result = await scanRecords([
      [
        instanceCall({ accessKeyId: 'ASIAV1', sourceIp: '2a01:4f8::1', ec2RoleDelivery: '1.0' }),
        instanceCall({ accessKeyId: 'ASIAV2', sourceIp: '2a01:4f8::1', ec2RoleDelivery: '2.0' }),
      ],
    ]);
    assert.equal(result.findings.length, 1);
    assert.deepEqual(result.findings[0]!.principal.accessKeyIds, ['ASIAV1', 'ASIAV2']);
    assert.deepEqual(result.findings[0]!.principal.ec2RoleDelivery, ['1.0', '2.0']);
  });

  it('property: the finding set does not depend on record order or file split', async () => {
    const records = [
      vendingEvent({ accessKeyId: 'ASIAP1' }),
      instanceCall({ accessKeyId: 'ASIAP1', sourceIp: '1.2.3.4', eventId: 'p1' }),
      instanceCall({ accessKeyId: 'ASIAP1', sourceIp: EC2_ADDRESS, eventId: 'p2' }),
      instanceCall({
        accessKeyId: 'ASIAP1',
        sourceIp: '1.2.3.4',
        eventName: 'ListBuckets',
        eventId: 'p3',
        eventTime: '2024-05-01T11:00:00Z',
      }),
      instanceCall({
        accessKeyId: 'ASIAP2',
        instanceId: 'i-0aaaaaaaaaaaaaaaa',
        sourceIp: '192.168.1.1',
        eventId: 'p4',
      }),
    ];
    const reference = await scanRecords([records]);
    const canonical = (r: typeof reference) =>
      JSON.stringify(
        r.findings
          .map((f) => ({ ...f, evidence: { ...f.evidence, eventIds: [...f.evidence.eventIds].sort() } }))
          .sort((a, b) => a.id.localeCompare(b.id)),
      );
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(records, { minLength: records.length, maxLength: records.length }),
        fc.integer({ min: 1, max: 5 }),
        async (shuffled, parts) => {
          const files: unknown[][] = Array.from({ length: parts }, () => []);
          shuffled.forEach((record, i) => files[i % parts]!.push(record));
          assert.equal(canonical(await scanRecords(files)), canonical(reference));
        },
      ),
      { numRuns: 40 },
    );
  });
});
