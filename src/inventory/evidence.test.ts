/**
 * Held-out tests for CloudTrail ownership evidence: EC2 control-plane events that create, move and release
 * the org's addresses and endpoints, applied in event-time order whatever order they were read in.
 *
 * Record shapes follow what CloudTrail writes for EC2 (Amazon EC2 API Reference + CloudTrail examples):
 * `RunInstances` responseElements `instancesSet.items[…].networkInterfaceSet.items[…]` with private
 * addresses only (public IPv4 is assigned at start and never logged), `AllocateAddress` returning
 * `publicIp` + `allocationId`, `AssociateAddress` naming the *allocation* (VPC EIPs) and returning an
 * `associationId`, and the newer NAT/endpoint APIs wrapped as `{"…Request": {…}}` / `{"…Response": {…}}`
 * with `natGatewayAddressSet.item` entries that carry the allocation id but, while "associating", no
 * public address.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isEvent, normaliseRecord, type CloudTrailEvent } from '../cloudtrail/event.js';
import {
  allocateAddress,
  associateAddress,
  associateNatGatewayAddress,
  at,
  createVpcEndpoint,
  describeAddresses,
  describeNatGateways,
  ec2Event,
  instanceRoleCall,
  inventoryFrom,
  NAT,
  ORG,
  runInstances,
  WEB,
} from '../detect/scenario.test-helpers.js';
import { OwnershipEvidence } from './evidence.js';
import { OwnershipMap } from './ownership.js';

function event(record: Record<string, unknown>): CloudTrailEvent {
  const parsed = normaliseRecord(record);
  assert.ok(isEvent(parsed), 'test record must parse');
  return parsed;
}

function apply(records: Record<string, unknown>[], map = new OwnershipMap()): OwnershipMap {
  const evidence = new OwnershipEvidence();
  for (const record of records) evidence.consider(event(record));
  evidence.applyTo(map);
  return map;
}

const ms = (hhmm: string) => Date.parse(at(hhmm));
const holders = (map: OwnershipMap, ip: string, hhmm: string) =>
  map
    .ownersAt(ip, ms(hhmm))
    .map((o) => `${o.kind}:${o.instanceId || o.natGatewayId || o.accountId}`)
    .sort();

const NEW_INSTANCE = 'i-0f2e4d6c8b0a13579';
const EIP = { ip: '35.170.22.61', allocation: 'eipalloc-0c8d9e0f1a2b3c4d5', association: 'eipassoc-0a9b8c7d6e5f43210' };

function disassociateAddress(associationId: string, eventTime: string) {
  return ec2Event({
    eventName: 'DisassociateAddress',
    eventTime,
    requestParameters: { associationId },
    responseElements: { requestId: 'd1c2b3a4-0000-4000-8000-000000000001', _return: true },
  });
}
function releaseAddress(allocationId: string, eventTime: string) {
  return ec2Event({
    eventName: 'ReleaseAddress',
    eventTime,
    requestParameters: { allocationId },
    responseElements: { requestId: 'd1c2b3a4-0000-4000-8000-000000000002', _return: true },
  });
}
function terminateInstances(instanceId: string, eventTime: string) {
  return ec2Event({
    eventName: 'TerminateInstances',
    eventTime,
    requestParameters: { instancesSet: { items: [{ instanceId }] } },
    responseElements: {
      requestId: 'd1c2b3a4-0000-4000-8000-000000000003',
      instancesSet: {
        items: [
          {
            instanceId,
            currentState: { code: 32, name: 'shutting-down' },
            previousState: { code: 16, name: 'running' },
          },
        ],
      },
    },
  });
}
function createNatGateway(eventTime: string) {
  return ec2Event({
    eventName: 'CreateNatGateway',
    eventTime,
    requestParameters: {
      CreateNatGatewayRequest: {
        AllocationId: NAT.allocationId,
        SubnetId: ORG.publicSubnet,
        ClientToken: 'b5c6d7e8-0000-4000-8000-00000000000a',
      },
    },
    responseElements: {
      CreateNatGatewayResponse: {
        xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
        requestId: 'd1c2b3a4-0000-4000-8000-000000000004',
        clientToken: 'b5c6d7e8-0000-4000-8000-00000000000a',
        natGateway: {
          createTime: eventTime,
          natGatewayAddressSet: {
            item: {
              allocationId: NAT.allocationId,
              networkInterfaceId: NAT.eni,
              isPrimary: true,
              status: 'associating',
            },
          },
          natGatewayId: NAT.id,
          state: 'pending',
          subnetId: ORG.publicSubnet,
          vpcId: ORG.vpc,
          connectivityType: 'public',
        },
      },
    },
  });
}
function disassociateNatGatewayAddress(associationId: string, eventTime: string) {
  return ec2Event({
    eventName: 'DisassociateNatGatewayAddress',
    eventTime,
    requestParameters: {
      DisassociateNatGatewayAddressRequest: {
        NatGatewayId: NAT.id,
        AssociationId: { tag: 1, content: associationId },
        MaxDrainDurationSeconds: 350,
      },
    },
    responseElements: {
      DisassociateNatGatewayAddressResponse: {
        xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
        requestId: 'd1c2b3a4-0000-4000-8000-000000000005',
        natGatewayId: NAT.id,
        natGatewayAddressSet: {
          item: {
            allocationId: NAT.secondAllocationId,
            associationId,
            networkInterfaceId: NAT.eni,
            isPrimary: false,
            status: 'disassociating',
          },
        },
      },
    },
  });
}
function deleteNatGateway(eventTime: string) {
  return ec2Event({
    eventName: 'DeleteNatGateway',
    eventTime,
    requestParameters: { DeleteNatGatewayRequest: { NatGatewayId: NAT.id } },
    responseElements: {
      DeleteNatGatewayResponse: {
        xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
        requestId: 'd1c2b3a4-0000-4000-8000-000000000006',
        natGatewayId: NAT.id,
      },
    },
  });
}
function attachNetworkInterface(networkInterfaceId: string, instanceId: string, eventTime: string) {
  return ec2Event({
    eventName: 'AttachNetworkInterface',
    eventTime,
    requestParameters: { networkInterfaceId, instanceId, deviceIndex: 1, networkCardIndex: 0 },
    responseElements: {
      requestId: 'd1c2b3a4-0000-4000-8000-000000000007',
      attachmentId: 'eni-attach-0e1d2c3b4a5968778',
      networkCardIndex: 0,
    },
  });
}

describe('OwnershipEvidence.consider', () => {
  it('keeps successful ownership events only', () => {
    const evidence = new OwnershipEvidence();
    const failed = associateAddress({
      allocationId: EIP.allocation,
      instanceId: WEB.instanceId,
      eventTime: at('10:00'),
    });
    failed['errorCode'] = 'Client.UnauthorizedOperation';
    failed['errorMessage'] = 'You are not authorized to perform this operation.';
    assert.equal(evidence.consider(event(failed)), false, 'a denied AssociateAddress moved nothing');
    assert.equal(
      evidence.consider(
        event(
          instanceRoleCall(WEB, {
            accessKeyId: WEB.keyV2,
            sourceIp: WEB.publicIp,
            eventTime: at('10:00'),
            eventSource: 'ec2.amazonaws.com',
            eventName: 'DescribeAddresses',
          }),
        ),
      ),
      false,
    );
    assert.equal(
      evidence.consider(
        event(allocateAddress({ publicIp: EIP.ip, allocationId: EIP.allocation, eventTime: at('10:00') })),
      ),
      true,
    );
    assert.equal(evidence.size, 1);
  });
});

describe('OwnershipEvidence.applyTo', () => {
  it('RunInstances: the new instance holds its private and IPv6 addresses from the launch on, with its facts', () => {
    const map = apply([
      runInstances({
        instanceId: 'i-0F2E4D6C8B0A13579',
        privateIp: '10.20.8.90',
        ipv6: '2600:1f18:4a3f:9e00::90',
        eventTime: at('11:30'),
        profileArn: WEB.profileArn,
        byAutoScaling: true,
      }),
    ]);
    const facts = map.instances.get(NEW_INSTANCE);
    assert.ok(facts, 'lower-cased id');
    assert.equal(facts.accountId, ORG.account);
    assert.equal(facts.vpcId, ORG.vpc);
    assert.equal(facts.instanceProfileArn, WEB.profileArn);
    assert.deepEqual(holders(map, '10.20.8.90', '11:29'), []);
    assert.deepEqual(holders(map, '10.20.8.90', '11:30'), [`instance:${NEW_INSTANCE}`]);
    assert.deepEqual(holders(map, '2600:1f18:4a3f:9e00::90', '12:00'), [`instance:${NEW_INSTANCE}`]);
    assert.equal(map.ownersAt('10.20.8.90', ms('12:00'))[0]?.scope, 'private');
    assert.ok(map.ownersAt('10.20.8.90', ms('12:00'))[0]?.source.startsWith('CloudTrail RunInstances '));
  });

  it('AllocateAddress → AssociateAddress (by allocation id) → DisassociateAddress → ReleaseAddress', () => {
    const map = apply([
      allocateAddress({ publicIp: EIP.ip, allocationId: EIP.allocation, eventTime: at('09:00') }),
      associateAddress({
        allocationId: EIP.allocation,
        instanceId: WEB.instanceId,
        associationId: EIP.association,
        eventTime: at('09:10'),
      }),
      disassociateAddress(EIP.association, at('12:00')),
      releaseAddress(EIP.allocation, at('12:05')),
    ]);
    assert.equal(map.allocations.get(EIP.allocation), EIP.ip);
    assert.deepEqual(holders(map, EIP.ip, '08:59'), []);
    assert.deepEqual(holders(map, EIP.ip, '09:05'), [`elastic-ip:${ORG.account}`]);
    assert.deepEqual(holders(map, EIP.ip, '11:00'), [`elastic-ip:${ORG.account}`, `instance:${WEB.instanceId}`]);
    assert.deepEqual(
      holders(map, EIP.ip, '12:01'),
      [`elastic-ip:${ORG.account}`],
      'disassociated: still allocated to the account',
    );
    assert.deepEqual(holders(map, EIP.ip, '12:06'), [], 'released: back to AWS’s pool');
  });

  it('TerminateInstances ends the instance’s holds', () => {
    const map = apply([
      runInstances({ instanceId: NEW_INSTANCE, privateIp: '10.20.8.90', eventTime: at('09:00') }),
      terminateInstances(NEW_INSTANCE, at('15:00')),
    ]);
    assert.deepEqual(holders(map, '10.20.8.90', '14:59'), [`instance:${NEW_INSTANCE}`]);
    assert.deepEqual(holders(map, '10.20.8.90', '15:01'), []);
  });

  it('CreateNatGateway: the allocated EIP becomes the gateway’s, with its VPC', () => {
    const map = apply([
      allocateAddress({ publicIp: NAT.publicIp, allocationId: NAT.allocationId, eventTime: at('08:00') }),
      createNatGateway(at('08:01')),
    ]);
    const owner = map.ownersAt(NAT.publicIp, ms('09:00')).find((o) => o.kind === 'nat-gateway');
    assert.equal(owner?.natGatewayId, NAT.id);
    assert.equal(owner?.vpcId, ORG.vpc);
    assert.deepEqual(
      holders(map, NAT.publicIp, '08:00:30').filter((h) => h.startsWith('nat')),
      [],
    );
  });

  it('AssociateNatGatewayAddress: a second EIP, resolved through the inventory’s allocation, becomes the gateway’s from the event on', () => {
    const inventory = inventoryFrom([
      [
        `inventory/${ORG.account}/us-east-1/describe-addresses.json`,
        describeAddresses(ORG.account, [{ publicIp: NAT.secondPublicIp, allocationId: NAT.secondAllocationId }]),
      ],
    ]);
    const map = apply(
      [
        associateNatGatewayAddress({
          natGatewayId: NAT.id,
          allocationId: NAT.secondAllocationId,
          eni: NAT.secondEni,
          privateIp: NAT.secondPrivateIp,
          eventTime: at('08:31'),
        }),
      ],
      inventory,
    );
    assert.deepEqual(
      holders(map, NAT.secondPublicIp, '08:30').filter((h) => h.startsWith('nat')),
      [],
    );
    assert.deepEqual(
      holders(map, NAT.secondPublicIp, '08:32').filter((h) => h.startsWith('nat')),
      [`nat-gateway:${NAT.id}`],
    );
    assert.deepEqual(holders(map, NAT.secondPrivateIp, '08:32'), [`nat-gateway:${NAT.id}`]);
  });

  it('AssociateNatGatewayAddress: the new EIP is tied to the gateway’s VPC, known from the inventory', () => {
    const inventory = inventoryFrom([
      [
        `inventory/${ORG.account}/us-east-1/describe-nat-gateways.json`,
        describeNatGateways([
          {
            id: NAT.id,
            addresses: [
              { publicIp: NAT.publicIp, allocationId: NAT.allocationId, privateIp: NAT.privateIp, eni: NAT.eni },
            ],
          },
        ]),
      ],
      [
        `inventory/${ORG.account}/us-east-1/describe-addresses.json`,
        describeAddresses(ORG.account, [{ publicIp: NAT.secondPublicIp, allocationId: NAT.secondAllocationId }]),
      ],
    ]);
    const map = apply(
      [
        associateNatGatewayAddress({
          natGatewayId: NAT.id,
          allocationId: NAT.secondAllocationId,
          eni: NAT.secondEni,
          eventTime: at('08:31'),
        }),
      ],
      inventory,
    );
    const owner = map.ownersAt(NAT.secondPublicIp, ms('09:00')).find((o) => o.kind === 'nat-gateway');
    assert.equal(owner?.vpcId, ORG.vpc);
  });

  it('DisassociateNatGatewayAddress (by association id, as the API takes it) ends the gateway’s hold on that EIP', () => {
    const map = apply([
      allocateAddress({ publicIp: NAT.secondPublicIp, allocationId: NAT.secondAllocationId, eventTime: at('08:30') }),
      associateNatGatewayAddress({
        natGatewayId: NAT.id,
        allocationId: NAT.secondAllocationId,
        eni: NAT.secondEni,
        eventTime: at('08:31'),
      }),
      disassociateNatGatewayAddress('eipassoc-0b1c2d3e4f5a6b7c8', at('16:00')),
    ]);
    assert.deepEqual(
      holders(map, NAT.secondPublicIp, '16:01').filter((h) => h.startsWith('nat')),
      [],
    );
  });

  it('DeleteNatGateway ends the gateway’s holds (its EIPs stay allocated to the account until released)', () => {
    const map = apply([
      allocateAddress({ publicIp: NAT.publicIp, allocationId: NAT.allocationId, eventTime: at('08:00') }),
      createNatGateway(at('08:01')),
      deleteNatGateway(at('17:00')),
    ]);
    assert.deepEqual(holders(map, NAT.publicIp, '17:01'), [`elastic-ip:${ORG.account}`]);
  });

  it('CreateVpcEndpoint records the org’s new endpoint', () => {
    const map = apply([
      createVpcEndpoint({
        vpcEndpointId: 'vpce-0c3d5e7f9a1b24680',
        serviceName: 'com.amazonaws.us-east-1.secretsmanager',
        eventTime: at('08:12'),
      }),
    ]);
    const endpoint = map.vpcEndpoints.get('vpce-0c3d5e7f9a1b24680');
    assert.deepEqual(endpoint && { accountId: endpoint.accountId, vpcId: endpoint.vpcId, type: endpoint.type }, {
      accountId: ORG.account,
      vpcId: ORG.vpc,
      type: 'Interface',
    });
  });

  it('AttachNetworkInterface: an inventoried free interface’s addresses become the instance’s from the attach on', () => {
    const inventory = inventoryFrom([
      [
        `inventory/${ORG.account}/us-east-1/describe-network-interfaces.json`,
        {
          NetworkInterfaces: [
            {
              AvailabilityZone: 'us-east-1a',
              Association: { IpOwnerId: ORG.account, PublicIp: EIP.ip },
              Description: 'floating management interface',
              InterfaceType: 'interface',
              NetworkInterfaceId: 'eni-0e1d2c3b4a5968778',
              OwnerId: ORG.account,
              PrivateIpAddress: '10.20.1.200',
              PrivateIpAddresses: [
                { Primary: true, PrivateIpAddress: '10.20.1.200', Association: { PublicIp: EIP.ip } },
              ],
              Status: 'available',
              VpcId: ORG.vpc,
            },
          ],
        },
      ],
    ]);
    const map = apply([attachNetworkInterface('eni-0e1d2c3b4a5968778', WEB.instanceId, at('10:00'))], inventory);
    assert.deepEqual(
      holders(map, EIP.ip, '09:59').filter((h) => h.startsWith('instance')),
      [],
    );
    assert.deepEqual(
      holders(map, EIP.ip, '10:01').filter((h) => h.startsWith('instance')),
      [`instance:${WEB.instanceId}`],
    );
    assert.deepEqual(
      holders(map, '10.20.1.200', '10:01').filter((h) => h.startsWith('instance')),
      [`instance:${WEB.instanceId}`],
    );
  });

  it('an inventory snapshot does not stretch a hold back before the CloudTrail event that started it', () => {
    const inventory = inventoryFrom([
      [
        `inventory/${ORG.account}/us-east-1/describe-addresses.json`,
        describeAddresses(ORG.account, [
          {
            publicIp: EIP.ip,
            allocationId: EIP.allocation,
            instanceId: WEB.instanceId,
            eni: WEB.eni,
            privateIp: WEB.privateIp,
          },
        ]),
      ],
    ]);
    const map = apply(
      [
        allocateAddress({ publicIp: EIP.ip, allocationId: EIP.allocation, eventTime: at('12:30') }),
        associateAddress({ allocationId: EIP.allocation, instanceId: WEB.instanceId, eventTime: at('12:31') }),
      ],
      inventory,
    );
    assert.deepEqual(holders(map, EIP.ip, '10:41'), [], 'before it was allocated the address was not the org’s');
    assert.deepEqual(
      holders(map, EIP.ip, '13:00').filter((h) => h.startsWith('instance')),
      [`instance:${WEB.instanceId}`],
    );
  });

  it('events read out of order are applied in time order (Associate before Allocate, Disassociate before Associate)', () => {
    const inOrder = [
      allocateAddress({ publicIp: EIP.ip, allocationId: EIP.allocation, eventTime: at('09:00') }),
      associateAddress({
        allocationId: EIP.allocation,
        instanceId: WEB.instanceId,
        associationId: EIP.association,
        eventTime: at('09:10'),
      }),
      disassociateAddress(EIP.association, at('12:00')),
      runInstances({ instanceId: NEW_INSTANCE, privateIp: '10.20.8.90', eventTime: at('09:20') }),
      terminateInstances(NEW_INSTANCE, at('15:00')),
      allocateAddress({ publicIp: NAT.publicIp, allocationId: NAT.allocationId, eventTime: at('08:00') }),
      createNatGateway(at('08:01')),
      releaseAddress(EIP.allocation, at('12:05')),
    ];
    const probes: [string, string][] = [
      [EIP.ip, '09:05'],
      [EIP.ip, '11:00'],
      [EIP.ip, '12:01'],
      [EIP.ip, '12:06'],
      ['10.20.8.90', '14:00'],
      ['10.20.8.90', '15:30'],
      [NAT.publicIp, '09:00'],
    ];
    const answer = (map: OwnershipMap) => probes.map(([ip, time]) => holders(map, ip, time).join(','));
    const expected = answer(apply(inOrder));
    assert.deepEqual(expected, [
      `elastic-ip:${ORG.account}`,
      `elastic-ip:${ORG.account},instance:${WEB.instanceId}`,
      `elastic-ip:${ORG.account}`,
      '',
      `instance:${NEW_INSTANCE}`,
      '',
      `elastic-ip:${ORG.account},nat-gateway:${NAT.id}`,
    ]);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(inOrder, { minLength: inOrder.length, maxLength: inOrder.length }),
        (shuffled) => {
          assert.deepEqual(answer(apply(shuffled)), expected);
        },
      ),
      { numRuns: 60 },
    );
  });
});
