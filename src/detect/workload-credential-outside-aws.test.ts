/**
 * Held-out tests for `workload-credential-outside-aws`: ECS task, Lambda and EKS Pod Identity credentials
 * used away from the workload they were issued to.
 *
 * Public evidence reproduced here:
 * - hackingthe.cloud, "Steal EC2 Metadata Credentials via SSRF" / ECS section: a task's role credentials are
 *   served at `http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, reachable through an SSRF in the
 *   container; ECS vends them with `AssumeRole` by `ecs-tasks.amazonaws.com`, session name = task id.
 * - AWS Lambda docs ("Defining Lambda function permissions with an execution role", "Using Lambda
 *   environment variables"): the execution role's keys are in `AWS_ACCESS_KEY_ID`/`AWS_SESSION_TOKEN`; code
 *   injection that prints the environment leaks them. CloudTrail userIdentity reference: `inScopeOf`
 *   (`issuerType: AWS::Lambda::Function`, `credentialsIssuedTo: <function ARN>`) marks such keys.
 * - Amazon EKS docs "EKS Pod Identity": the agent assumes the role through `pods.eks.amazonaws.com`
 *   (`sts:AssumeRole` + `sts:TagSession`, session tags `eks-cluster-name`, `kubernetes-namespace`, …).
 * - SPEC §2: these credentials run only inside AWS; used from outside AWS or from AWS space the org does
 *   not hold, they have left their workload.
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
  ec2Vending,
  iamUserCall,
  instanceRoleCall,
  inventoryFrom,
  NAT,
  only,
  ORG,
  orgInventoryDocuments,
  OWN_VPCE,
  scan,
  serviceVending,
  sessionCall,
  ssmHeartbeat,
  UA,
  WORKER_A,
} from './scenario.test-helpers.js';

const DETECTOR = 'workload-credential-outside-aws';

const TASK = {
  id: '8f3c2b1a9d4e4f6a8b7c6d5e4f3a2b1c',
  role: 'orders-api-task-role',
  roleId: 'AROA3XFRBF23ECSTASKR',
  key: 'ASIA3XFRBF23ECSTASK1',
  rotatedKey: 'ASIA3XFRBF23ECSTASK2',
  eni: 'eni-0f4e3d2c1b0a98765',
  privateIp: '10.20.8.120',
  publicIp: '3.91.17.204',
  userAgent: `${UA.boto3} exec-env/AWS_ECS_FARGATE`,
};
const FUNCTION = {
  name: 'invoice-renderer',
  role: 'invoice-renderer-role',
  roleId: 'AROA3XFRBF23LAMBDAR1',
  key: 'ASIA3XFRBF23LAMBDA01',
  arn: `arn:aws:lambda:${ORG.region}:${ORG.account}:function:invoice-renderer`,
  /** Lambda outside a VPC egresses from AWS-owned EC2 space of the region. */
  egress: '3.236.14.77',
};
const POD = {
  session: 'eks-prod-use1-orders-api--4f1d2c3b-5a6e-4b7c-8d9e-0f1a2b3c4d5e',
  role: 'orders-api-pod-role',
  roleId: 'AROA3XFRBF23PODIDNT1',
  key: 'ASIA3XFRBF23PODIDNT1',
};

function taskVending(key = TASK.key, eventTime = at('09:00')) {
  return serviceVending({
    service: 'ecs-tasks.amazonaws.com',
    role: TASK.role,
    session: TASK.id,
    accessKeyId: key,
    eventTime,
  });
}
function taskCall(o: {
  key?: string;
  sourceIp: string;
  eventTime: string;
  userAgent?: string;
  eventSource?: string;
  eventName?: string;
  vpcEndpointId?: string;
  invokedBy?: string;
}) {
  return sessionCall({
    role: TASK.role,
    roleId: TASK.roleId,
    session: TASK.id,
    accessKeyId: o.key ?? TASK.key,
    sourceIp: o.sourceIp,
    eventTime: o.eventTime,
    userAgent: o.userAgent ?? TASK.userAgent,
    eventSource: o.eventSource ?? 'dynamodb.amazonaws.com',
    eventName: o.eventName ?? 'GetItem',
    vpcEndpointId: o.vpcEndpointId,
    invokedBy: o.invokedBy,
    creationDate: at('09:00'),
  });
}
function lambdaVending() {
  return serviceVending({
    service: 'lambda.amazonaws.com',
    role: FUNCTION.role,
    session: FUNCTION.name,
    accessKeyId: FUNCTION.key,
    eventTime: at('10:12:40'),
  });
}
function lambdaCall(o: {
  sourceIp: string;
  eventTime: string;
  userAgent?: string;
  eventSource?: string;
  eventName?: string;
}) {
  return sessionCall({
    role: FUNCTION.role,
    roleId: FUNCTION.roleId,
    session: FUNCTION.name,
    accessKeyId: FUNCTION.key,
    sourceIp: o.sourceIp,
    eventTime: o.eventTime,
    userAgent:
      o.userAgent ??
      'Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#5.10.216 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.84',
    eventSource: o.eventSource ?? 's3.amazonaws.com',
    eventName: o.eventName ?? 'PutObject',
    inScopeOf: { issuerType: 'AWS::Lambda::Function', credentialsIssuedTo: FUNCTION.arn },
    creationDate: at('10:12:40'),
  });
}
function podVending() {
  return serviceVending({
    service: 'pods.eks.amazonaws.com',
    role: POD.role,
    session: POD.session,
    accessKeyId: POD.key,
    eventTime: at('09:30'),
    tags: [
      { key: 'eks-cluster-arn', value: `arn:aws:eks:${ORG.region}:${ORG.account}:cluster/prod-use1` },
      { key: 'eks-cluster-name', value: 'prod-use1' },
      { key: 'kubernetes-namespace', value: 'orders' },
      { key: 'kubernetes-service-account', value: 'orders-api' },
      { key: 'kubernetes-pod-name', value: 'orders-api-6f7d9c8b5-x2k4p' },
    ],
  });
}
function podCall(o: { sourceIp: string; eventTime: string; userAgent?: string; eventName?: string }) {
  return sessionCall({
    role: POD.role,
    roleId: POD.roleId,
    session: POD.session,
    accessKeyId: POD.key,
    sourceIp: o.sourceIp,
    eventTime: o.eventTime,
    userAgent: o.userAgent ?? UA.goV2,
    eventSource: 'sqs.amazonaws.com',
    eventName: o.eventName ?? 'SendMessage',
    creationDate: at('09:30'),
  });
}

/** The org inventory plus `describe-network-interfaces` with the Fargate task's ENI (public IP). */
function inventoryWithTask() {
  const docs = orgInventoryDocuments();
  docs.push([
    `inventory/${ORG.account}/${ORG.region}/describe-network-interfaces.json`,
    {
      NetworkInterfaces: [
        {
          Association: {
            IpOwnerId: 'amazon',
            PublicDnsName: 'ec2-3-91-17-204.compute-1.amazonaws.com',
            PublicIp: TASK.publicIp,
          },
          Attachment: {
            AttachTime: '2024-05-14T08:59:31+00:00',
            AttachmentId: 'ela-attach-0a1b2c3d4e5f67890',
            DeleteOnTermination: false,
            DeviceIndex: 1,
            NetworkCardIndex: 0,
            InstanceOwnerId: 'amazon-aws',
            Status: 'attached',
          },
          AvailabilityZone: 'us-east-1b',
          Description: `arn:aws:ecs:${ORG.region}:${ORG.account}:attachment/2f6c2a1b-7d3e-4f5a-9b8c-1d2e3f4a5b6c`,
          Groups: [{ GroupName: 'orders-api', GroupId: 'sg-0b1c2d3e4f5a6b7c8' }],
          InterfaceType: 'interface',
          Ipv6Addresses: [],
          MacAddress: '0a:1b:2c:3d:4e:5f',
          NetworkInterfaceId: TASK.eni,
          OwnerId: ORG.account,
          PrivateDnsName: 'ip-10-20-8-120.ec2.internal',
          PrivateIpAddress: TASK.privateIp,
          PrivateIpAddresses: [
            {
              Association: { IpOwnerId: 'amazon', PublicIp: TASK.publicIp },
              Primary: true,
              PrivateDnsName: 'ip-10-20-8-120.ec2.internal',
              PrivateIpAddress: TASK.privateIp,
            },
          ],
          RequesterId: '578734482556',
          RequesterManaged: true,
          SourceDestCheck: true,
          Status: 'in-use',
          SubnetId: ORG.publicSubnet,
          TagSet: [],
          VpcId: ORG.vpc,
        },
      ],
    },
  ]);
  return inventoryFrom(docs);
}

describe(DETECTOR, () => {
  it('fires on ECS task credentials stolen through the 169.254.170.2 endpoint and used from a rented server', async () => {
    const vending = taskVending();
    const result = await scan(
      [
        [
          vending,
          taskCall({ sourceIp: TASK.publicIp, eventTime: at('09:05') }),
          taskCall({
            sourceIp: ATTACKER.digitalOcean,
            eventTime: at('10:41:07'),
            userAgent: UA.cli,
            eventSource: 'sts.amazonaws.com',
            eventName: 'GetCallerIdentity',
          }),
          taskCall({
            sourceIp: ATTACKER.digitalOcean,
            eventTime: at('10:42:30'),
            userAgent: UA.cli,
            eventSource: 'dynamodb.amazonaws.com',
            eventName: 'Scan',
          }),
        ],
      ],
      { inventory: inventoryWithTask() },
    );
    const f = only(result, DETECTOR);
    assert.equal(f.accountId, ORG.account);
    assert.equal(f.principal.credentialKind, 'ecs-task');
    assert.equal(f.principal.role, TASK.role);
    assert.equal(f.principal.sessionName, TASK.id);
    assert.deepEqual(f.principal.accessKeyIds, [TASK.key]);
    assert.equal(f.source.ip, ATTACKER.digitalOcean);
    assert.equal(f.source.class, 'public');
    assert.equal(f.confidence, 'high');
    assert.equal(f.severity, 'critical', 'high, raised for recon and the DynamoDB scan');
    assert.equal(f.activity.calls, 2, 'the task’s own call is not part of it');
    assert.deepEqual(f.evidence.vendingEventIds, [vending['eventID']]);
    assertReason(
      f,
      /ecs-task credential of 8f3c2b1a9d4e4f6a8b7c6d5e4f3a2b1c \(role orders-api-task-role\) used from 167\.99\.132\.8, which is in no AWS range/,
      'the rule',
    );
    assertReason(f, /vended by ecs-tasks\.amazonaws\.com/, 'the anchor');
  });

  it('fires on Lambda execution-role keys (inScopeOf) leaked from the environment and used outside AWS', async () => {
    const result = await scan([
      [
        lambdaVending(),
        lambdaCall({ sourceIp: FUNCTION.egress, eventTime: at('10:12:41') }),
        lambdaCall({
          sourceIp: ATTACKER.hetzner,
          eventTime: at('10:20:02'),
          userAgent: UA.cli,
          eventSource: 'sts.amazonaws.com',
          eventName: 'GetCallerIdentity',
        }),
      ],
    ]);
    const f = only(result, DETECTOR);
    assert.equal(f.principal.credentialKind, 'lambda');
    assert.equal(f.principal.sessionName, FUNCTION.name);
    assert.equal(f.source.ip, ATTACKER.hetzner);
    assert.equal(f.confidence, 'high');
    assert.ok(atLeast(f.severity, 'high'));
    assertReason(f, /lambda credential of invoice-renderer/, 'names the function');
  });

  it('fires on EKS Pod Identity credentials used from outside AWS (IPv6)', async () => {
    const result = await scan([
      [
        podVending(),
        podCall({ sourceIp: NAT.publicIp, eventTime: at('09:31') }),
        podCall({ sourceIp: ATTACKER.hetznerV6, eventTime: at('10:50'), userAgent: UA.cli, eventName: 'ListQueues' }),
      ],
    ]);
    const f = only(result, DETECTOR);
    assert.equal(f.principal.credentialKind, 'eks-pod-identity');
    assert.equal(f.source.ip, ATTACKER.hetznerV6);
    assert.equal(f.confidence, 'high');
    assert.ok(atLeast(f.severity, 'high'));
  });

  it('fires on ECS task credentials used from foreign AWS space (the attacker’s EC2) when the inventory proves the address is not the org’s', async () => {
    const result = await scan(
      [
        [
          taskVending(),
          taskCall({ sourceIp: TASK.publicIp, eventTime: at('09:05') }),
          taskCall({ sourceIp: ATTACKER.ec2, eventTime: at('10:41'), userAgent: UA.cli, eventName: 'Scan' }),
        ],
      ],
      {
        inventory: inventoryWithTask(),
      },
    );
    const f = only(result, DETECTOR);
    assert.equal(f.source.ip, ATTACKER.ec2);
    assert.equal(f.confidence, 'high');
    assert.ok(atLeast(f.severity, 'high'));
  });

  it('keys the credential on its own identifiers: a Lambda key recognised from the function’s own calls (inScopeOf) is recognised wherever it is used', async () => {
    const strip = (record: Record<string, unknown>) => {
      const identity = record['userIdentity'] as Record<string, unknown>;
      delete identity['inScopeOf'];
      return record;
    };
    const result = await scan([
      [
        lambdaCall({ sourceIp: FUNCTION.egress, eventTime: at('10:12:41') }),
        strip(
          lambdaCall({
            sourceIp: ATTACKER.hetzner,
            eventTime: at('10:20:02'),
            userAgent: UA.cli,
            eventSource: 'sts.amazonaws.com',
            eventName: 'GetCallerIdentity',
          }),
        ),
      ],
    ]);
    const f = only(result, DETECTOR);
    assert.equal(f.principal.credentialKind, 'lambda');
    assert.equal(f.source.ip, ATTACKER.hetzner);
  });

  it('the Lambda execution-environment user agent alone makes no workload finding (ECS and Lambda alike)', async () => {
    const strip = (record: Record<string, unknown>) => {
      const identity = record['userIdentity'] as Record<string, unknown>;
      delete identity['inScopeOf'];
      return record;
    };
    const result = await scan([
      [
        strip(lambdaCall({ sourceIp: ATTACKER.hetzner, eventTime: at('10:20:02') })),
        strip(lambdaCall({ sourceIp: '10.4.5.6', eventTime: at('10:21:02') })),
      ],
    ]);
    assert.deepEqual(byDetector(result, DETECTOR), []);
  });

  it('the Lambda service decrypting the function’s environment (aws-internal, KMS only) is AWS’s own call, wherever it comes from', async () => {
    const decrypt = (sourceIp: string) =>
      lambdaCall({
        sourceIp,
        eventTime: at('10:12:40'),
        userAgent:
          'aws-internal/3 aws-sdk-java/1.12.596 Linux/5.10.205-174.804.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/25.392-b08 java/1.8.0_392 vendor/Oracle_Corporation cfg/retry-mode/standard',
        eventSource: 'kms.amazonaws.com',
        eventName: 'Decrypt',
      });
    const quiet = await scan([[lambdaVending(), decrypt(ATTACKER.hetzner), decrypt('10.4.5.6')]]);
    assert.deepEqual(byDetector(quiet, DETECTOR), []);
    // The same user agent on reconnaissance from outside AWS is still judged, and the claim is a signal.
    const spoofed = await scan([
      [
        lambdaVending(),
        lambdaCall({
          sourceIp: ATTACKER.hetzner,
          eventTime: at('10:20:02'),
          userAgent: 'aws-internal/3',
          eventSource: 'sts.amazonaws.com',
          eventName: 'GetCallerIdentity',
        }),
      ],
    ]);
    const f = only(spoofed, DETECTOR);
    assertReason(f, /claiming to be AWS-internal/, 'the forged claim is named');
  });

  it('a private address without a VPC endpoint is unverifiable: reported with low confidence and that reason', async () => {
    const result = await scan([
      [taskVending(), taskCall({ sourceIp: '192.168.10.20', eventTime: at('10:41'), userAgent: UA.cli })],
    ]);
    const f = only(result, DETECTOR);
    assert.equal(f.confidence, 'low');
    assert.equal(f.severity, 'low', 'nothing corroborates it: low, like an instance credential');
    assert.equal(f.source.ip, '192.168.0.0/16', 'one finding per role and address range');
    assertReason(f, /without vpcEndpointId: no AWS network path/, 'the reason');
  });

  it('an unverifiable source that a person also calls from is its own finding, at medium or above', async () => {
    const result = await scan([
      [
        taskVending(),
        iamUserCall({ userName: 'dev-alice', sourceIp: '192.168.10.20', eventTime: at('10:40') }),
        taskCall({ sourceIp: '192.168.10.20', eventTime: at('10:41'), userAgent: UA.cli }),
      ],
    ]);
    const f = only(result, DETECTOR);
    assert.equal(f.source.ip, '192.168.10.20');
    assert.equal(f.confidence, 'medium');
    assert.ok(atLeast(f.severity, 'medium'));
    assertReason(f, /also used by IAM user dev-alice/, 'the corroborating signal');
  });

  describe('does not fire on the workload’s own traffic and AWS service calls', () => {
    it('ECS task from its ENI, the NAT and the own endpoint; Lambda from AWS space; pod from the node’s NAT; AWS on behalf', async () => {
      const result = await scan(
        [
          [
            taskVending(),
            taskCall({ sourceIp: TASK.publicIp, eventTime: at('09:05') }),
            taskCall({ sourceIp: NAT.publicIp, eventTime: at('09:06') }),
            taskCall({
              sourceIp: TASK.privateIp,
              vpcEndpointId: OWN_VPCE,
              eventTime: at('09:07'),
              eventSource: 'sts.amazonaws.com',
              eventName: 'GetCallerIdentity',
            }),
            taskCall({
              sourceIp: 'dynamodb.amazonaws.com',
              invokedBy: 'dynamodb.amazonaws.com',
              eventTime: at('09:08'),
              eventSource: 'kms.amazonaws.com',
              eventName: 'Decrypt',
              userAgent: 'dynamodb.amazonaws.com',
            }),
            lambdaVending(),
            lambdaCall({ sourceIp: FUNCTION.egress, eventTime: at('10:12:41') }),
            lambdaCall({ sourceIp: 'AWS Internal', eventTime: at('10:12:42'), userAgent: 'AWS Internal' }),
            podVending(),
            podCall({ sourceIp: NAT.publicIp, eventTime: at('09:31') }),
          ],
        ],
        { inventory: inventoryWithTask() },
      );
      assertNoFinding(result, DETECTOR);
      assertNothingSerious(result);
    });

    it('EKS nodes whose pods use the node role from the node’s address (no Pod Identity, no IRSA) are benign', async () => {
      const records = [
        ec2Vending(WORKER_A, WORKER_A.key, at('09:40')),
        ssmHeartbeat(WORKER_A, { accessKeyId: WORKER_A.key, sourceIp: NAT.publicIp, eventTime: at('09:45') }),
        instanceRoleCall(WORKER_A, {
          accessKeyId: WORKER_A.key,
          sourceIp: NAT.publicIp,
          eventTime: at('10:20'),
          eventSource: 'ecr.amazonaws.com',
          eventName: 'GetAuthorizationToken',
          userAgent:
            'aws-sdk-go-v2/1.24.1 os/linux lang/go#1.21.6 md/GOOS#linux md/GOARCH#amd64 api/ecr#1.24.7 ecr-credential-provider',
        }),
        instanceRoleCall(WORKER_A, {
          accessKeyId: WORKER_A.key,
          sourceIp: NAT.publicIp,
          eventTime: at('10:21'),
          eventSource: 's3.amazonaws.com',
          eventName: 'GetObject',
          userAgent: UA.boto3,
        }),
        podVending(),
        podCall({ sourceIp: NAT.publicIp, eventTime: at('10:22') }),
      ];
      assertNothingSerious(await scan([records], { inventory: inventoryWithTask() }));
      assertNothingSerious(await scan([records]));
    });
  });

  describe('traps', () => {
    it('a task holds several keys over its life: only the rotated key used outside is reported, keyed on the task id', async () => {
      const result = await scan([
        [
          taskVending(TASK.key, at('03:00')),
          taskCall({ key: TASK.key, sourceIp: TASK.publicIp, eventTime: at('03:05') }),
          taskVending(TASK.rotatedKey, at('09:00')),
          taskCall({ key: TASK.rotatedKey, sourceIp: TASK.publicIp, eventTime: at('09:05') }),
          taskCall({
            key: TASK.rotatedKey,
            sourceIp: ATTACKER.digitalOcean,
            eventTime: at('10:41'),
            userAgent: UA.cli,
          }),
        ],
      ]);
      const f = only(result, DETECTOR);
      assert.deepEqual(f.principal.accessKeyIds, [TASK.rotatedKey]);
      assert.equal(f.principal.sessionName, TASK.id);
    });

    it('a person calling from the same address at the same time does not excuse the workload key', async () => {
      const result = await scan([
        [
          taskVending(),
          iamUserCall({ userName: 'dev-alice', sourceIp: ATTACKER.digitalOcean, eventTime: at('10:40') }),
          taskCall({ sourceIp: ATTACKER.digitalOcean, eventTime: at('10:41'), userAgent: UA.cli }),
        ],
      ]);
      assert.equal(only(result, DETECTOR).confidence, 'high');
    });

    it('without inventory, use from AWS space that is not the workload’s is still reported, with low confidence and the missing evidence named', async () => {
      const result = await scan([
        [
          taskVending(),
          taskCall({ sourceIp: TASK.publicIp, eventTime: at('09:05') }),
          taskCall({ sourceIp: ATTACKER.ec2SameRegion, eventTime: at('10:41'), userAgent: UA.cli, eventName: 'Scan' }),
        ],
      ]);
      const f = only(result, DETECTOR);
      assert.equal(f.confidence, 'low');
      assertReason(f, /inventory/, 'says what was missing');
    });
  });

  it('property: the verdict does not depend on order, file split, key order, id case, extra fields or repeated delivery', async () => {
    const records = [
      taskVending(),
      taskCall({ sourceIp: TASK.publicIp, eventTime: at('09:05') }),
      taskCall({ sourceIp: ATTACKER.digitalOcean, eventTime: at('10:41'), userAgent: UA.cli }),
      lambdaVending(),
      lambdaCall({ sourceIp: FUNCTION.egress, eventTime: at('10:12:41') }),
      lambdaCall({ sourceIp: ATTACKER.hetzner, eventTime: at('10:20:02'), userAgent: UA.cli }),
      podVending(),
      podCall({ sourceIp: NAT.publicIp, eventTime: at('09:31') }),
      taskCall({ sourceIp: '192.168.10.20', eventTime: at('10:45'), userAgent: UA.cli }),
    ];
    await assertVerdictStable(records, { inventory: inventoryWithTask }, (result) => {
      assert.deepEqual(
        byDetector(result, DETECTOR)
          .map((f) => `${f.principal.credentialKind} ${f.source.ip} ${f.confidence}`)
          .sort(),
        ['ecs-task 167.99.132.8 high', 'ecs-task 192.168.0.0/16 low', 'lambda 88.198.48.17 high'],
      );
    });
  });
});
