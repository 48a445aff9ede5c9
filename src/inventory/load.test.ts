/**
 * Held-out tests for the inventory loader: raw AWS CLI JSON outputs, recognised by their top-level key.
 *
 * Document shapes follow the AWS CLI Command Reference examples and real `--output json` output:
 * `ec2 describe-instances` (Reservations → Instances → NetworkInterfaces → PrivateIpAddresses/Association,
 * Ipv6Addresses, MetadataOptions), `ec2 describe-network-interfaces` (InterfaceType nat_gateway /
 * vpc_endpoint / lambda / interface, Description "Interface for NAT Gateway nat-…"), `ec2 describe-addresses`
 * (AllocationId, AssociationId, NetworkInterfaceOwnerId), `ec2 describe-nat-gateways` (NatGatewayAddresses,
 * no account id), `ec2 describe-vpc-endpoints` and `iam get-account-authorization-details` (the IAM API
 * returns policy documents URL-encoded per RFC 3986; the CLI prints them decoded).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { InputError } from '../errors.js';
import {
  describeAddresses,
  describeInstances,
  describeNatGateways,
  describeVpcEndpoints,
  NAT,
  ORG,
  WEB,
} from '../detect/scenario.test-helpers.js';
import { addInventoryDocument, inventoryKind, loadInventory, pathHints } from './load.js';
import { OwnershipMap, type AddressOwner } from './ownership.js';

const ACCOUNT = ORG.account;
const OTHER_ACCOUNT = '210987654321';
const FILE = `inventory/${ACCOUNT}/us-east-1/x.json`;

function load(document: unknown, file = FILE): OwnershipMap {
  const map = new OwnershipMap();
  assert.ok(addInventoryDocument(map, document, file), 'the document must be recognised');
  return map;
}

function ownersOf(
  map: OwnershipMap,
  ip: string,
): Pick<AddressOwner, 'kind' | 'instanceId' | 'natGatewayId' | 'scope' | 'accountId' | 'vpcId'>[] {
  return map.owners(ip).map(({ kind, instanceId, natGatewayId, scope, accountId, vpcId }) => ({
    kind,
    instanceId,
    natGatewayId,
    scope,
    accountId,
    vpcId,
  }));
}

describe('inventoryKind', () => {
  it('recognises every AWS CLI output by its top-level key, and nothing else', () => {
    assert.equal(inventoryKind({ Reservations: [] }), 'describe-instances');
    assert.equal(inventoryKind({ NetworkInterfaces: [] }), 'describe-network-interfaces');
    assert.equal(inventoryKind({ Addresses: [] }), 'describe-addresses');
    assert.equal(inventoryKind({ NatGateways: [], NextToken: 'abc' }), 'describe-nat-gateways');
    assert.equal(inventoryKind({ VpcEndpoints: [] }), 'describe-vpc-endpoints');
    assert.equal(
      inventoryKind({ UserDetailList: [], GroupDetailList: [], RoleDetailList: [], Policies: [] }),
      'get-account-authorization-details',
    );
    assert.equal(inventoryKind({ SecurityGroups: [] }), undefined);
    assert.equal(
      inventoryKind([{ InstanceId: 'i-0a1b2c3d4e5f60718' }]),
      undefined,
      'a --query projection is not an output kind',
    );
    assert.equal(inventoryKind({ Reservations: 'not-a-list' }), undefined);
    assert.equal(inventoryKind(null), undefined);
  });
});

describe('pathHints', () => {
  it('reads account and region from folder and file names', () => {
    assert.deepEqual(pathHints('inventory/111122223333/us-east-1/describe-nat-gateways.json'), {
      accountId: '111122223333',
      region: 'us-east-1',
    });
    assert.deepEqual(pathHints('inv/prod/111122223333-eu-west-1-nat.json'), {
      accountId: '111122223333',
      region: 'eu-west-1',
    });
    assert.deepEqual(pathHints('C:\\inventory\\111122223333\\ap-southeast-2\\addresses.json.gz'), {
      accountId: '111122223333',
      region: 'ap-southeast-2',
    });
    assert.deepEqual(pathHints('/srv/inv/acct_444455556666/us-gov-west-1/x.json'), {
      accountId: '444455556666',
      region: 'us-gov-west-1',
    });
    assert.deepEqual(pathHints('inventory/nat.json'), { accountId: '', region: '' });
  });

  it('does not take a longer digit run or a digit run inside a name for an account id', () => {
    assert.equal(pathHints('inventory/1111222233334/x.json').accountId, '');
    assert.equal(pathHints('inventory/build111122223333/x.json').accountId, '');
  });
});

describe('describe-instances', () => {
  it('attributes every address of every ENI (private, public, secondary, IPv6) to the instance, with its facts', () => {
    const doc = describeInstances(ACCOUNT, [
      {
        instanceId: 'i-0A1B2C3D4E5F60718',
        privateIp: '10.20.1.15',
        publicIp: '54.236.41.17',
        profileArn: WEB.profileArn,
        az: 'us-east-1d',
        httpTokens: 'optional',
        hopLimit: 2,
        ipv6: ['2600:1f18:4a3f:9e00:1c2d:3e4f:5a6b:7c8d'],
        extraEnis: [{ eni: 'eni-0d1c2b3a4f5e6d7c8', privateIp: '10.20.1.99', publicIp: '35.170.22.61' }],
        tags: { Name: 'web-1', 'aws:autoscaling:groupName': 'web-asg' },
      },
    ]);
    const map = load(doc, 'inventory/999999999999/eu-west-1/instances.json');
    const facts = map.instances.get('i-0a1b2c3d4e5f60718');
    assert.ok(facts, 'instance ids are lower-cased');
    assert.equal(facts.accountId, ACCOUNT, 'OwnerId wins over the path hint');
    assert.equal(facts.vpcId, ORG.vpc);
    assert.equal(facts.state, 'running');
    assert.equal(facts.instanceProfileArn, WEB.profileArn);
    assert.deepEqual(facts.metadata, {
      httpTokens: 'optional',
      hopLimit: 2,
      httpEndpoint: 'enabled',
      httpProtocolIpv6: 'disabled',
    });
    assert.equal(facts.tags['aws:autoscaling:groupName'], 'web-asg');
    assert.deepEqual([...facts.privateIps].sort(), ['10.20.1.15', '10.20.1.99']);
    assert.deepEqual([...facts.publicIps].sort(), [
      '2600:1f18:4a3f:9e00:1c2d:3e4f:5a6b:7c8d',
      '35.170.22.61',
      '54.236.41.17',
    ]);
    for (const [ip, scope] of [
      ['10.20.1.15', 'private'],
      ['10.20.1.99', 'private'],
      ['54.236.41.17', 'public'],
      ['35.170.22.61', 'public'],
      ['2600:1f18:4a3f:9e00:1c2d:3e4f:5a6b:7c8d', 'public'],
    ] as const) {
      assert.deepEqual(
        ownersOf(map, ip),
        [
          {
            kind: 'instance',
            instanceId: 'i-0a1b2c3d4e5f60718',
            natGatewayId: '',
            scope,
            accountId: ACCOUNT,
            vpcId: ORG.vpc,
          },
        ],
        ip,
      );
    }
    // An inventory snapshot holds from "always": the tool cannot know when it was taken.
    assert.equal(map.ownersAt('54.236.41.17', Date.parse('2024-05-14T10:00:00Z')).length, 1);
    // IPv6 in another spelling finds the same owner.
    assert.equal(map.owners('2600:1F18:4A3F:9E00:1C2D:3E4F:5A6B:7C8D').length, 1);
    assert.ok(map.accounts.has(ACCOUNT));
    assert.deepEqual(map.sources, ['inventory/999999999999/eu-west-1/instances.json']);
  });

  it('an IPv4-mapped IPv6 spelling of an inventoried address finds the same owner', () => {
    const map = load(
      describeInstances(ACCOUNT, [{ instanceId: WEB.instanceId, privateIp: WEB.privateIp, publicIp: WEB.publicIp }]),
    );
    assert.equal(map.owners('::ffff:54.236.41.17').length, 1);
  });

  it('takes the region from the availability zone (us-east-1d → us-east-1), for instances and interfaces, over a path hint', () => {
    const instances = load(
      describeInstances(ACCOUNT, [{ instanceId: WEB.instanceId, privateIp: WEB.privateIp, az: 'us-east-1d' }]),
      'inventory/eu-west-1/instances.json',
    );
    assert.equal(instances.instances.get(WEB.instanceId)?.region, 'us-east-1');
    const interfaces = load(
      {
        NetworkInterfaces: [
          {
            AvailabilityZone: 'ap-southeast-2b',
            InterfaceType: 'interface',
            NetworkInterfaceId: 'eni-0a1b2c3d4e5f60718',
            OwnerId: ACCOUNT,
            PrivateIpAddress: '10.60.1.5',
            VpcId: 'vpc-0c1d2e3f4a5b6c7d8',
          },
        ],
      },
      'inventory/x.json',
    );
    assert.equal(interfaces.owners('10.60.1.5')[0]?.region, 'ap-southeast-2');
  });

  it('keeps a terminated instance’s facts but gives none of its addresses to the org; stopped instances keep their private address', () => {
    const doc = describeInstances(ACCOUNT, [
      { instanceId: 'i-0f2e4d6c8b0a13579', privateIp: '10.20.8.90', publicIp: '3.91.17.204', state: 'terminated' },
      { instanceId: 'i-0e4c2a0f8d6b13579', privateIp: '10.20.8.91', state: 'stopped' },
    ]);
    // describe-instances of a terminated instance may still echo its old addresses: they went back to AWS.
    const reservations = doc['Reservations'] as { Instances: Record<string, unknown>[] }[];
    reservations[0]!.Instances[0]!['PublicIpAddress'] = '3.91.17.204';
    reservations[0]!.Instances[0]!['PrivateIpAddress'] = '10.20.8.90';
    const map = load(doc);
    assert.equal(map.instances.get('i-0f2e4d6c8b0a13579')?.state, 'terminated');
    assert.deepEqual(map.owners('3.91.17.204'), []);
    assert.deepEqual(map.owners('10.20.8.90'), []);
    assert.equal(map.owners('10.20.8.91')[0]?.instanceId, 'i-0e4c2a0f8d6b13579');
  });

  it('takes the account from the reservation when several accounts are in one file, from the path when OwnerId is absent', () => {
    const doc = describeInstances(ACCOUNT, [{ instanceId: 'i-0a1b2c3d4e5f60718', privateIp: '10.20.1.15' }]);
    const other = describeInstances(OTHER_ACCOUNT, [{ instanceId: 'i-0b2c3d4e5f6071829', privateIp: '10.30.1.15' }]);
    const merged = { Reservations: [...(doc['Reservations'] as unknown[]), ...(other['Reservations'] as unknown[])] };
    const map = load(merged);
    assert.equal(map.instances.get('i-0b2c3d4e5f6071829')?.accountId, OTHER_ACCOUNT);
    assert.ok(map.accounts.has(OTHER_ACCOUNT) && map.accounts.has(ACCOUNT));

    const bare = describeInstances(ACCOUNT, [{ instanceId: 'i-0c3d4e5f607182930', privateIp: '10.40.1.15' }]);
    delete (bare['Reservations'] as Record<string, unknown>[])[0]!['OwnerId'];
    const hinted = load(bare, 'inventory/444455556666/us-east-1/describe-instances.json');
    assert.equal(hinted.instances.get('i-0c3d4e5f607182930')?.accountId, '444455556666');
  });
});

describe('describe-network-interfaces', () => {
  const eni = (fields: Record<string, unknown>) => ({
    AvailabilityZone: 'us-east-1a',
    Groups: [],
    Ipv6Addresses: [],
    MacAddress: '0e:11:22:33:44:55',
    OwnerId: ACCOUNT,
    RequesterManaged: false,
    SourceDestCheck: true,
    Status: 'in-use',
    SubnetId: ORG.privateSubnet,
    TagSet: [],
    VpcId: ORG.vpc,
    ...fields,
  });

  it('tells NAT gateway, VPC endpoint, Lambda, attached-instance and Fargate interfaces apart', () => {
    const map = load({
      NetworkInterfaces: [
        eni({
          Description: `Interface for NAT Gateway ${NAT.id}`,
          InterfaceType: 'nat_gateway',
          NetworkInterfaceId: NAT.eni,
          PrivateIpAddress: NAT.privateIp,
          Association: { IpOwnerId: ACCOUNT, PublicIp: NAT.publicIp, AllocationId: NAT.allocationId },
          PrivateIpAddresses: [
            { Primary: true, PrivateIpAddress: NAT.privateIp, Association: { PublicIp: NAT.publicIp } },
            { Primary: false, PrivateIpAddress: NAT.secondPrivateIp, Association: { PublicIp: NAT.secondPublicIp } },
          ],
          RequesterManaged: true,
        }),
        eni({
          Description: 'VPC Endpoint Interface vpce-0a7b6c5d4e3f21098',
          InterfaceType: 'vpc_endpoint',
          NetworkInterfaceId: 'eni-0aa1bb2cc3dd4ee5f',
          PrivateIpAddress: '10.20.0.200',
          RequesterManaged: true,
        }),
        eni({
          Description: 'AWS Lambda VPC ENI-invoice-renderer-5d1c7f0e-2b3a-4c5d-8e9f-0a1b2c3d4e5f',
          InterfaceType: 'lambda',
          NetworkInterfaceId: 'eni-0bb2cc3dd4ee5ff60',
          PrivateIpAddress: '10.20.9.201',
          RequesterManaged: true,
        }),
        eni({
          Attachment: {
            AttachmentId: 'eni-attach-0c1d2e3f4a5b6c7d8',
            DeviceIndex: 1,
            InstanceId: 'i-0A1B2C3D4E5F60718',
            InstanceOwnerId: ACCOUNT,
            Status: 'attached',
          },
          Description: 'secondary',
          InterfaceType: 'interface',
          NetworkInterfaceId: 'eni-0d1c2b3a4f5e6d7c8',
          PrivateIpAddress: '10.20.1.99',
          Ipv6Addresses: [{ Ipv6Address: '2600:1f18:4a3f:9e00::99' }],
        }),
        eni({
          Attachment: {
            AttachmentId: 'ela-attach-0a1b2c3d4e5f67890',
            DeviceIndex: 1,
            InstanceOwnerId: 'amazon-aws',
            Status: 'attached',
          },
          Association: { IpOwnerId: 'amazon', PublicIp: '3.91.17.204' },
          Description: `arn:aws:ecs:us-east-1:${ACCOUNT}:attachment/2f6c2a1b-7d3e-4f5a-9b8c-1d2e3f4a5b6c`,
          InterfaceType: 'interface',
          NetworkInterfaceId: 'eni-0f4e3d2c1b0a98765',
          PrivateIpAddress: '10.20.8.120',
          RequesterManaged: true,
        }),
      ],
    });
    assert.deepEqual(ownersOf(map, NAT.publicIp), [
      {
        kind: 'nat-gateway',
        instanceId: '',
        natGatewayId: NAT.id,
        scope: 'public',
        accountId: ACCOUNT,
        vpcId: ORG.vpc,
      },
    ]);
    assert.equal(map.owners(NAT.secondPublicIp)[0]?.natGatewayId, NAT.id, 'a secondary EIP on a secondary private IP');
    assert.equal(map.owners(NAT.secondPrivateIp)[0]?.scope, 'private');
    assert.equal(map.owners('10.20.0.200')[0]?.kind, 'vpc-endpoint');
    assert.equal(map.owners('10.20.0.200')[0]?.vpcEndpointId, 'vpce-0a7b6c5d4e3f21098');
    assert.equal(map.owners('10.20.9.201')[0]?.kind, 'network-interface');
    assert.deepEqual(ownersOf(map, '10.20.1.99'), [
      {
        kind: 'instance',
        instanceId: 'i-0a1b2c3d4e5f60718',
        natGatewayId: '',
        scope: 'private',
        accountId: ACCOUNT,
        vpcId: ORG.vpc,
      },
    ]);
    assert.equal(map.owners('2600:1f18:4a3f:9e00::99')[0]?.scope, 'public');
    assert.equal(map.owners('3.91.17.204')[0]?.kind, 'network-interface');
    assert.equal(map.owners('3.91.17.204')[0]?.networkInterfaceId, 'eni-0f4e3d2c1b0a98765');
    assert.equal(
      map.entriesForInterface('eni-0f4e3d2c1b0a98765').length,
      2,
      'the task ENI holds a private and a public address',
    );
  });
});

describe('describe-addresses', () => {
  it('records allocation ids and tells EIPs on instances from EIPs on other interfaces and unassociated ones', () => {
    const doc = describeAddresses(ACCOUNT, [
      {
        publicIp: '35.170.22.61',
        allocationId: 'eipalloc-0c8d9e0f1a2b3c4d5',
        instanceId: 'i-0E1D2C3B4A5968778',
        eni: 'eni-0c4d6e8f0a2b35791',
        privateIp: '10.40.3.27',
      },
      { publicIp: NAT.publicIp, allocationId: NAT.allocationId, eni: NAT.eni, privateIp: NAT.privateIp },
      { publicIp: '50.16.212.9', allocationId: NAT.secondAllocationId },
    ]);
    const map = load(doc, 'inventory/444455556666/us-east-1/describe-addresses.json');
    assert.equal(map.allocations.get('eipalloc-0c8d9e0f1a2b3c4d5'), '35.170.22.61');
    assert.equal(map.allocations.get(NAT.secondAllocationId), '50.16.212.9');
    assert.deepEqual(ownersOf(map, '35.170.22.61'), [
      {
        kind: 'instance',
        instanceId: 'i-0e1d2c3b4a5968778',
        natGatewayId: '',
        scope: 'public',
        accountId: ACCOUNT,
        vpcId: '',
      },
    ]);
    assert.equal(map.owners(NAT.publicIp)[0]?.kind, 'elastic-ip');
    assert.equal(map.owners(NAT.publicIp)[0]?.networkInterfaceId, NAT.eni);
    assert.equal(map.owners('50.16.212.9')[0]?.kind, 'elastic-ip');
    assert.equal(map.owners('50.16.212.9')[0]?.accountId, '444455556666', 'unassociated: the path gives the account');
    assert.equal(map.owners('50.16.212.9')[0]?.region, 'us-east-1');
  });
});

describe('describe-nat-gateways', () => {
  it('gives both EIPs (and private addresses) of a two-EIP gateway to the gateway, with VPC and path account; skips deleted gateways', () => {
    const doc = describeNatGateways([
      {
        id: NAT.id,
        addresses: [
          { publicIp: NAT.publicIp, allocationId: NAT.allocationId, privateIp: NAT.privateIp, eni: NAT.eni },
          {
            publicIp: NAT.secondPublicIp,
            allocationId: NAT.secondAllocationId,
            privateIp: NAT.secondPrivateIp,
            eni: NAT.eni,
            primary: false,
          },
        ],
      },
      {
        id: 'nat-0a9b8c7d6e5f43210',
        state: 'deleted',
        addresses: [
          {
            publicIp: '98.80.4.10',
            allocationId: 'eipalloc-0d9e0f1a2b3c4d5e6',
            privateIp: '10.20.0.13',
            eni: 'eni-0a9b8c7d6e5f43210',
          },
        ],
      },
    ]);
    const map = load(doc, `inventory/${ACCOUNT}/us-east-1/describe-nat-gateways.json`);
    for (const ip of [NAT.publicIp, NAT.secondPublicIp]) {
      assert.deepEqual(
        ownersOf(map, ip),
        [
          {
            kind: 'nat-gateway',
            instanceId: '',
            natGatewayId: NAT.id,
            scope: 'public',
            accountId: ACCOUNT,
            vpcId: ORG.vpc,
          },
        ],
        ip,
      );
    }
    assert.equal(map.owners(NAT.secondPrivateIp)[0]?.scope, 'private');
    assert.deepEqual(map.owners('98.80.4.10'), [], 'a deleted gateway holds nothing');
    assert.ok(map.accounts.has(ACCOUNT));
  });

  it('records the gateways’ allocation ids, so later NAT address events in CloudTrail can be resolved', () => {
    const map = load(
      describeNatGateways([
        {
          id: NAT.id,
          addresses: [
            { publicIp: NAT.publicIp, allocationId: NAT.allocationId, privateIp: NAT.privateIp, eni: NAT.eni },
          ],
        },
      ]),
      `inventory/${ACCOUNT}/us-east-1/describe-nat-gateways.json`,
    );
    assert.equal(map.allocations.get(NAT.allocationId), NAT.publicIp);
  });
});

describe('describe-vpc-endpoints', () => {
  it('records endpoints with owner, VPC, type and the region of their service', () => {
    const map = load(
      describeVpcEndpoints(ACCOUNT, [
        { id: 'vpce-0a7b6c5d4e3f21098', service: 'com.amazonaws.eu-central-1.sts' },
        { id: 'vpce-06c5d4e3f2a1b0c9d', service: 'com.amazonaws.eu-central-1.s3', type: 'Gateway' },
      ]),
      'inventory/endpoints.json',
    );
    const sts = map.vpcEndpoints.get('vpce-0a7b6c5d4e3f21098');
    assert.deepEqual(
      sts && {
        accountId: sts.accountId,
        region: sts.region,
        vpcId: sts.vpcId,
        type: sts.type,
        serviceName: sts.serviceName,
      },
      {
        accountId: ACCOUNT,
        region: 'eu-central-1',
        vpcId: ORG.vpc,
        type: 'Interface',
        serviceName: 'com.amazonaws.eu-central-1.sts',
      },
    );
    assert.equal(map.vpcEndpoints.get('vpce-06c5d4e3f2a1b0c9d')?.type, 'Gateway');
    assert.ok(map.accounts.has(ACCOUNT));
  });
});

describe('iam get-account-authorization-details', () => {
  const trust = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  };
  const inline = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::acme-web-uploads/*' },
    ],
  };
  const v1 = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] };
  const v2 = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:Query'],
        Resource: 'arn:aws:dynamodb:us-east-1:111122223333:table/orders',
      },
    ],
  };
  /** What the raw IAM API returns: RFC 3986 percent-encoding of the JSON text. */
  const urlEncoded = (doc: unknown) => encodeURIComponent(JSON.stringify(doc, null, 2));

  function details(encode: (doc: unknown) => unknown) {
    return {
      UserDetailList: [],
      GroupDetailList: [],
      RoleDetailList: [
        {
          Path: '/service-role/',
          RoleName: 'web-app-role',
          RoleId: 'AROA3XFRBF23KQOXY5Z6W',
          Arn: 'arn:aws:iam::111122223333:role/service-role/web-app-role',
          CreateDate: '2023-11-02T09:14:33+00:00',
          AssumeRolePolicyDocument: encode(trust),
          InstanceProfileList: [
            {
              Path: '/',
              InstanceProfileName: 'web-app-profile',
              InstanceProfileId: 'AIPA3XFRBF23PROFILE01',
              Arn: WEB.profileArn,
              CreateDate: '2023-11-02T09:14:35+00:00',
              Roles: [],
            },
          ],
          RolePolicyList: [{ PolicyName: 'uploads', PolicyDocument: encode(inline) }],
          AttachedManagedPolicies: [
            { PolicyName: 'orders-read', PolicyArn: 'arn:aws:iam::111122223333:policy/orders-read' },
          ],
          PermissionsBoundary: {
            PermissionsBoundaryType: 'Policy',
            PermissionsBoundaryArn: 'arn:aws:iam::111122223333:policy/workload-boundary',
          },
          Tags: [],
          RoleLastUsed: { LastUsedDate: '2024-05-14T09:58:00+00:00', Region: 'us-east-1' },
        },
      ],
      Policies: [
        {
          PolicyName: 'orders-read',
          PolicyId: 'ANPA3XFRBF23ORDERSRD',
          Arn: 'arn:aws:iam::111122223333:policy/orders-read',
          Path: '/',
          DefaultVersionId: 'v2',
          AttachmentCount: 1,
          IsAttachable: true,
          PolicyVersionList: [
            { Document: encode(v1), VersionId: 'v1', IsDefaultVersion: false, CreateDate: '2023-11-02T09:14:30+00:00' },
            { Document: encode(v2), VersionId: 'v2', IsDefaultVersion: true, CreateDate: '2024-02-20T16:40:12+00:00' },
          ],
        },
      ],
    };
  }

  for (const [label, encode] of [
    ['URL-encoded (raw API)', urlEncoded],
    ['decoded (AWS CLI)', (doc: unknown) => doc],
  ] as const) {
    it(`reads roles, instance profiles, inline and managed policy documents — ${label}`, () => {
      const map = load(details(encode), 'inventory/iam.json');
      const role = map.roles.get('arn:aws:iam::111122223333:role/service-role/web-app-role');
      assert.ok(role, 'keyed by lower-cased ARN');
      assert.equal(role.roleName, 'web-app-role');
      assert.equal(role.roleId, 'AROA3XFRBF23KQOXY5Z6W');
      assert.equal(role.accountId, ACCOUNT, 'from the ARN');
      assert.deepEqual(role.instanceProfileArns, [WEB.profileArn]);
      assert.deepEqual(role.inlinePolicies['uploads'], inline);
      assert.deepEqual(role.attachedPolicyArns, ['arn:aws:iam::111122223333:policy/orders-read']);
      assert.equal(role.permissionsBoundaryArn, 'arn:aws:iam::111122223333:policy/workload-boundary');
      assert.equal(map.roleOfInstanceProfile(WEB.profileArn)?.roleName, 'web-app-role');
      assert.deepEqual(
        map.managedPolicies.get('arn:aws:iam::111122223333:policy/orders-read')?.document,
        v2,
        'the default version, not the first',
      );
      assert.ok(map.accounts.has(ACCOUNT));
    });
  }
});

describe('loadInventory (folders)', () => {
  const root = mkdtempSync(join(tmpdir(), 'offbox-inventory-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('loads every output under nested folders (plain and gzip), and reports unknown and malformed files as warnings', () => {
    const accountDir = join(root, 'org', ACCOUNT, 'us-east-1');
    const otherDir = join(root, 'org', OTHER_ACCOUNT, 'eu-west-1');
    mkdirSync(accountDir, { recursive: true });
    mkdirSync(otherDir, { recursive: true });
    writeFileSync(
      join(accountDir, 'describe-instances.json'),
      JSON.stringify(
        describeInstances(ACCOUNT, [{ instanceId: WEB.instanceId, privateIp: WEB.privateIp, publicIp: WEB.publicIp }]),
        null,
        2,
      ),
    );
    writeFileSync(
      join(accountDir, 'describe-nat-gateways.json.gz'),
      gzipSync(
        JSON.stringify(
          describeNatGateways([
            {
              id: NAT.id,
              addresses: [
                { publicIp: NAT.publicIp, allocationId: NAT.allocationId, privateIp: NAT.privateIp, eni: NAT.eni },
              ],
            },
          ]),
        ),
      ),
    );
    writeFileSync(
      join(otherDir, 'describe-nat-gateways.json'),
      JSON.stringify(
        describeNatGateways([
          {
            id: 'nat-0b1c2d3e4f5a6b7c8',
            vpcId: 'vpc-0aa11bb22cc33dd44',
            addresses: [
              {
                publicIp: '54.247.88.31',
                allocationId: 'eipalloc-0e1f2a3b4c5d6e7f8',
                privateIp: '172.16.0.9',
                eni: 'eni-0e1f2a3b4c5d6e7f8',
              },
            ],
          },
        ]),
      ),
    );
    writeFileSync(join(accountDir, 'describe-security-groups.json'), JSON.stringify({ SecurityGroups: [] }));
    writeFileSync(join(accountDir, 'describe-addresses.json'), '{"Addresses": [{"PublicIp": "35.170.22.61", ');
    writeFileSync(join(accountDir, 'empty.json'), '');
    writeFileSync(join(accountDir, 'corrupt.json.gz'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02]));
    writeFileSync(join(accountDir, 'README.md'), '# collected 2024-05-14 by offbox inventory collect\n');

    const { map, warnings } = loadInventory([join(root, 'org')]);
    assert.equal(map.owners(WEB.publicIp)[0]?.instanceId, WEB.instanceId);
    assert.equal(map.owners(NAT.publicIp)[0]?.accountId, ACCOUNT, 'gzip, account from the folder name');
    assert.equal(map.owners(NAT.publicIp)[0]?.region, 'us-east-1', 'region from the folder name');
    assert.equal(map.owners('54.247.88.31')[0]?.accountId, OTHER_ACCOUNT, 'a second account');
    assert.equal(map.owners('54.247.88.31')[0]?.region, 'eu-west-1');
    assert.ok(map.accounts.has(ACCOUNT) && map.accounts.has(OTHER_ACCOUNT));
    assert.equal(map.sources.length, 3);

    const byFile = new Map(warnings.map((w) => [w.file.slice(root.length + 1).replaceAll('\\', '/'), w.reason]));
    const base = `org/${ACCOUNT}/us-east-1`;
    assert.deepEqual(
      [...byFile.keys()].sort(),
      [
        `${base}/corrupt.json.gz`,
        `${base}/describe-addresses.json`,
        `${base}/describe-security-groups.json`,
        `${base}/empty.json`,
      ].sort(),
    );
    assert.match(byFile.get(`${base}/describe-security-groups.json`)!, /not a known AWS CLI output/);
    assert.match(byFile.get(`${base}/describe-addresses.json`)!, /unreadable/);
    assert.match(byFile.get(`${base}/empty.json`)!, /unreadable/);
    assert.match(byFile.get(`${base}/corrupt.json.gz`)!, /unreadable/);
  });

  it('accepts a single file path, and fails with an InputError naming a path that does not exist', () => {
    const file = join(root, 'single-instances.json');
    writeFileSync(
      file,
      JSON.stringify(describeInstances(ACCOUNT, [{ instanceId: WEB.instanceId, privateIp: WEB.privateIp }])),
    );
    assert.equal(loadInventory([file]).map.instances.size, 1);
    assert.throws(
      () => loadInventory([join(root, 'no-such-folder')]),
      (error: unknown) => error instanceof InputError && /no-such-folder/.test(error.message),
    );
  });
});
