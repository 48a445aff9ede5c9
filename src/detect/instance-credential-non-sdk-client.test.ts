/**
 * Held-out tests for `instance-credential-non-sdk-client`: calls signed with an instance's key that come
 * from the instance's own address, but from an HTTP client no AWS SDK, CLI or agent uses — the shape of an
 * SSRF that relays pre-signed requests through the vulnerable application.
 *
 * Public evidence reproduced here:
 * - hackingthe.cloud, "Steal EC2 Metadata Credentials via SSRF": the vulnerable app fetches attacker-chosen
 *   URLs with its own HTTP library (python-requests, Go's net/http, curl …).
 * - Amazon S3 docs "Sharing objects with presigned URLs" and "Logging Amazon S3 API calls using AWS
 *   CloudTrail": a request authenticated by query-string SigV4 is logged with the signer's identity, the
 *   fetcher's address and user agent, and `additionalEventData.AuthenticationMethod = "QueryString"`.
 * - AWS SDK user-agent formats (SDK developer guides, "User agent"): `aws-cli/…`, `Boto3/… Botocore/…`,
 *   `aws-sdk-go-v2/…`, `aws-sdk-java/…`, `aws-sdk-js/…`, `aws-sdk-ruby3/…`, `aws-sdk-dotnet-coreclr/…`,
 *   `amazon-ssm-agent`; real trails wrap S3 data-event agents in brackets (`[aws-cli/…]`).
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
  atLeast,
  byDetector,
  ec2Vending,
  iamUserCall,
  instanceRoleCall,
  NAT,
  only,
  ORG,
  orgInventory,
  scan,
  ssmHeartbeat,
  UA,
  WEB,
  WORKER_A,
} from './scenario.test-helpers.js';

const DETECTOR = 'instance-credential-non-sdk-client';

/** A pre-signed GetObject relayed by WEB's image-proxy endpoint (python-requests) from WEB's own address. */
function relayed(count: number, userAgent = UA.pythonRequests, sourceIp = WEB.publicIp, key = WEB.keyV2) {
  return Array.from({ length: count }, (_, i) =>
    instanceRoleCall(WEB, {
      accessKeyId: key,
      sourceIp,
      eventTime: at(`10:${String(41 + i).padStart(2, '0')}:15`),
      eventSource: 's3.amazonaws.com',
      eventName: 'GetObject',
      userAgent,
      requestParameters: {
        bucketName: 'acme-prod-customer-exports',
        Host: 'acme-prod-customer-exports.s3.us-east-1.amazonaws.com',
        key: `exports/2024-05-13/part-${i}.csv.gz`,
        'X-Amz-Expires': '600',
        'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
        'X-Amz-SignedHeaders': 'host',
      },
      additionalEventData: {
        SignatureVersion: 'SigV4',
        CipherSuite: 'TLS_AES_128_GCM_SHA256',
        bytesTransferredIn: 0,
        AuthenticationMethod: 'QueryString',
        'x-amz-id-2': 'b3V0IG9mIGJvdW5kcyBleGFtcGxlIGlkLTI=',
        bytesTransferredOut: 48213,
      },
      eventVersion: '1.10',
      readOnly: true,
    }),
  );
}

/** WEB's application: boto3 from its own public address. */
function webApp(key = WEB.keyV2) {
  return [
    ec2Vending(WEB, key, at('09:58')),
    instanceRoleCall(WEB, {
      accessKeyId: key,
      sourceIp: WEB.publicIp,
      eventTime: at('10:02'),
      eventSource: 's3.amazonaws.com',
      eventName: 'PutObject',
      userAgent: UA.boto3,
      readOnly: false,
    }),
  ];
}

describe(DETECTOR, () => {
  it('fires on pre-signed S3 requests relayed by python-requests from the instance’s own address; data burst raises it to high', async () => {
    const result = await scan([[...webApp(), ...relayed(12)]], { inventory: orgInventory() });
    const f = only(result, DETECTOR);
    assert.equal(f.accountId, ORG.account);
    assert.equal(f.principal.instanceId, WEB.instanceId);
    assert.deepEqual(f.principal.accessKeyIds, [WEB.keyV2]);
    assert.equal(f.source.ip, WEB.publicIp);
    assert.deepEqual(f.activity.userAgents, [UA.pythonRequests]);
    assert.equal(f.activity.calls, 12, 'the SDK calls of the same key are not mixed in');
    assert.equal(f.confidence, 'medium');
    assert.equal(f.severity, 'high');
    assertReason(f, /python-requests client \(python-requests\/2\.31\.0\)/, 'names the client');
    assertReason(f, /its own address 54\.236\.41\.17/, 'says the address is right');
    assertReason(f, /54\.236\.41\.17 is instance i-0a1b2c3d4e5f60718 .*inventory/, 'the ownership fact');
    assertReason(f, /read data or change access/, 'explains the raise');
  });

  it('fires (medium) on a single Go-http-client call relayed through a private worker’s NAT EIP', async () => {
    const result = await scan(
      [
        [
          ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
          instanceRoleCall(WORKER_A, {
            accessKeyId: WORKER_A.key,
            sourceIp: NAT.publicIp,
            eventTime: at('10:41'),
            userAgent: UA.goHttp,
          }),
        ],
      ],
      { inventory: orgInventory() },
    );
    const f = only(result, DETECTOR);
    assert.equal(f.severity, 'medium');
    assert.equal(f.confidence, 'medium');
    assertReason(f, /go-http-client client/, 'names the client family');
    assertReason(f, /NAT gateway nat-0f1e2d3c4b5a69788/, 'the ownership fact');
  });

  it('stays quiet on the SSM agent channels (Go-http-client) from the instance, but not on the same client reading S3', async () => {
    // The agent's channels as CloudTrail logs them: ec2messages polling, and the Session Manager
    // control channel as ssm.amazonaws.com data events (a public CreateControlChannel record carries
    // Go-http-client/1.1: elastic/integrations, aws cloudtrail test-create-control-channel-json.log).
    const channel = (name: string, source: string, minute: string) =>
      instanceRoleCall(WEB, {
        accessKeyId: WEB.keyV2,
        sourceIp: WEB.publicIp,
        eventTime: at(`10:${minute}:00`),
        eventSource: source,
        eventName: name,
        userAgent: UA.goHttp,
      });
    const agentOnly = [
      ec2Vending(WEB, WEB.keyV2, at('09:40')),
      channel('GetMessages', 'ec2messages.amazonaws.com', '41'),
      channel('AcknowledgeMessage', 'ec2messages.amazonaws.com', '42'),
      channel('CreateControlChannel', 'ssm.amazonaws.com', '43'),
      channel('OpenControlChannel', 'ssm.amazonaws.com', '44'),
    ];
    assertNoFinding(await scan([agentOnly], { inventory: orgInventory() }), DETECTOR);

    const withRead = [...agentOnly, channel('GetObject', 's3.amazonaws.com', '45')];
    const f = only(await scan([withRead], { inventory: orgInventory() }), DETECTOR);
    assertReason(f, /go-http-client client/, 'a read by the same client is not the agent');
  });

  describe('does not fire on known SDK, CLI and agent user agents', () => {
    it('AWS CLI, boto3, Go v2, Java v2, JS v3, Ruby v3, .NET, Terraform, SSM and CloudWatch agents, bracketed data-event agents', async () => {
      const agents = [
        UA.cli,
        UA.boto3,
        UA.goV2,
        UA.javaV2,
        UA.jsV3,
        UA.rubyV3,
        UA.dotnet,
        UA.terraform,
        UA.ssmAgent,
        UA.cwAgent,
        UA.s3DataEventBracketed,
      ];
      const result = await scan(
        [
          [
            ec2Vending(WEB, WEB.keyV2, at('09:58')),
            ...agents.map((userAgent, i) =>
              instanceRoleCall(WEB, {
                accessKeyId: WEB.keyV2,
                sourceIp: WEB.publicIp,
                eventTime: at(`10:${String(10 + i)}`),
                eventSource: 's3.amazonaws.com',
                eventName: 'GetObject',
                userAgent,
              }),
            ),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });

    it('AWS acting on the session’s behalf, whatever its user agent', async () => {
      const result = await scan(
        [
          [
            ...webApp(),
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV2,
              sourceIp: 'AWS Internal',
              eventTime: at('10:03'),
              eventSource: 's3.amazonaws.com',
              eventName: 'GetObject',
              userAgent: 'AWS Internal',
            }),
            instanceRoleCall(WEB, {
              accessKeyId: WEB.keyV2,
              sourceIp: 'athena.amazonaws.com',
              invokedBy: 'athena.amazonaws.com',
              eventTime: at('10:04'),
              eventSource: 's3.amazonaws.com',
              eventName: 'GetObject',
              userAgent: 'athena.amazonaws.com',
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });

    it('EKS node: pods (CNI, CSI, autoscaler, boto3 apps) using the node role from the node’s address', async () => {
      const pods = [
        'aws-sdk-go/1.50.8 (go1.21.6; linux; amd64) amazon-vpc-cni-k8s/v1.16.4',
        'aws-sdk-go-v2/1.24.1 os/linux lang/go#1.21.6 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.142.0 aws-ebs-csi-driver/v1.27.0',
        'aws-sdk-go/1.50.8 (go1.21.6; linux; amd64) cluster-autoscaler/v1.29.0',
        'aiobotocore/2.12.3 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.84 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69',
      ];
      const result = await scan(
        [
          [
            ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
            ...pods.map((userAgent, i) =>
              instanceRoleCall(WORKER_A, {
                accessKeyId: WORKER_A.key,
                sourceIp: NAT.publicIp,
                eventTime: at(`10:2${i}`),
                eventSource: 'ec2.amazonaws.com',
                eventName: 'DescribeInstances',
                userAgent,
              }),
            ),
          ],
        ],
        { inventory: orgInventory() },
      );
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });
  });

  describe('traps', () => {
    it('several keys of one instance: only the key the relayed URLs were signed with is reported', async () => {
      const result = await scan(
        [
          [
            ...webApp(WEB.keyV2),
            ec2Vending(WEB, WEB.keyV1, at('10:20')),
            ...relayed(2, UA.curl, WEB.publicIp, WEB.keyV1).map((r) => {
              ((r['userIdentity'] as Record<string, unknown>)['sessionContext'] as Record<string, unknown>)[
                'ec2RoleDelivery'
              ] = '1.0';
              return r;
            }),
          ],
        ],
        { inventory: orgInventory() },
      );
      const f = only(result, DETECTOR);
      assert.deepEqual(f.principal.accessKeyIds, [WEB.keyV1]);
      assert.deepEqual(f.principal.ec2RoleDelivery, ['1.0']);
      assertReason(f, /curl client/, 'names the client');
    });

    it('a person’s IAM key used on the same box at the same time does not change whose address it is', async () => {
      const result = await scan(
        [
          [
            ...webApp(),
            iamUserCall({ userName: 'ops-carol', sourceIp: WEB.publicIp, eventTime: at('10:40') }),
            ...relayed(2, UA.browser),
          ],
        ],
        {
          inventory: orgInventory(),
        },
      );
      const f = only(result, DETECTOR);
      assertReason(f, /browser client/, 'names the client');
    });

    it('an address that becomes the instance’s only AFTER the relayed calls is not “its own address”', async () => {
      const EAST_EC2 = '44.205.10.4';
      const result = await scan(
        [
          [
            ...webApp(),
            ...relayed(2, UA.pythonRequests, EAST_EC2),
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
      assertNoFinding(result, DETECTOR);
      const f = only(result, 'instance-credential-foreign-aws');
      assert.equal(f.confidence, 'high');
      assert.deepEqual(f.activity.userAgents, [UA.pythonRequests]);
    });
  });

  describe('without inventory', () => {
    it('fires when the instance’s own SSM agent anchors the address, and names that anchor', async () => {
      const result = await scan([
        [
          ...webApp(),
          ssmHeartbeat(WEB, { accessKeyId: WEB.keyV2, sourceIp: WEB.publicIp, eventTime: at('10:00') }),
          ...relayed(3),
        ],
      ]);
      const f = only(result, DETECTOR);
      assert.ok(atLeast(f.severity, 'medium'));
      assertReason(
        f,
        /i-0a1b2c3d4e5f60718's own SSM agent or identity role calls from 54\.236\.41\.17/,
        'names the anchor',
      );
    });

    it('with nothing to anchor the address it still reports the non-SDK client, with low confidence and the missing evidence named', async () => {
      const result = await scan([[...webApp(), ...relayed(12)]]);
      const f = only(result, DETECTOR);
      assert.equal(f.confidence, 'low');
      assert.ok(atLeast(f.severity, 'medium'));
      assertReason(f, /inventory/, 'says what was missing');
    });
  });

  it('property: the verdict does not depend on order, file split, key order, id case, extra fields or repeated delivery', async () => {
    const records = [
      ...webApp(),
      ...relayed(4),
      ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
      instanceRoleCall(WORKER_A, {
        accessKeyId: WORKER_A.key,
        sourceIp: NAT.publicIp,
        eventTime: at('10:41'),
        userAgent: UA.goHttp,
      }),
      instanceRoleCall(WORKER_A, {
        accessKeyId: WORKER_A.key,
        sourceIp: NAT.publicIp,
        eventTime: at('10:42'),
        userAgent: UA.javaV2,
      }),
    ];
    await assertVerdictStable(records, { inventory: () => orgInventory() }, (result) => {
      assert.deepEqual(
        byDetector(result, DETECTOR)
          .map((f) => f.source.ip)
          .sort(),
        [NAT.publicIp, WEB.publicIp].sort(),
      );
    });
  });
});
