import type { CloudTrailEvent } from '../cloudtrail/event.js';
import { owner, type OwnershipMap } from './ownership.js';

type Json = Record<string, unknown>;

/** CloudTrail events that create, move or release org addresses and endpoints. */
export const OWNERSHIP_EVENT_NAMES = new Set([
  'RunInstances',
  'TerminateInstances',
  'AllocateAddress',
  'AssociateAddress',
  'DisassociateAddress',
  'ReleaseAddress',
  'CreateNatGateway',
  'AssociateNatGatewayAddress',
  'DisassociateNatGatewayAddress',
  'DeleteNatGateway',
  'CreateVpcEndpoint',
  'AttachNetworkInterface',
]);

function obj(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}
function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** EC2 writes sets as {"items":[…]} or {"item":[…]|{…}}; other services use plain arrays. */
function items(value: unknown): Json[] {
  if (Array.isArray(value)) return value.map((v) => obj(v)).filter((v): v is Json => v !== undefined);
  const o = obj(value);
  if (!o) return [];
  const inner = o['items'] ?? o['item'];
  if (inner === undefined) return [o];
  return items(inner);
}

/** Finds the first object, anywhere inside `value`, that has `key`. */
function findWithKey(value: unknown, key: string, depth = 0): Json | undefined {
  if (depth > 6) return undefined;
  const o = obj(value);
  if (o) {
    if (key in o) return o;
    for (const child of Object.values(o)) {
      const hit = findWithKey(child, key, depth + 1);
      if (hit) return hit;
    }
  } else if (Array.isArray(value)) {
    for (const child of value) {
      const hit = findWithKey(child, key, depth + 1);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** Every string value under any of the keys, anywhere inside `value`. */
function collectStrings(value: unknown, keys: ReadonlySet<string>, out: Set<string>, depth = 0): Set<string> {
  if (depth > 8) return out;
  if (Array.isArray(value)) {
    for (const child of value) collectStrings(child, keys, out, depth + 1);
  } else {
    const o = obj(value);
    if (o) {
      for (const [k, child] of Object.entries(o)) {
        if (keys.has(k) && typeof child === 'string' && child !== '') out.add(child);
        else collectStrings(child, keys, out, depth + 1);
      }
    }
  }
  return out;
}

/** NAT gateway APIs wrap their parameters ({"DeleteNatGatewayRequest": {"NatGatewayId": …}}). */
function natGatewayIdOf(request: Json, response: Json): string {
  const fromResponse = findWithKey(response, 'natGatewayId');
  const fromRequest = findWithKey(request, 'NatGatewayId');
  return str(fromResponse?.['natGatewayId']) || str(fromRequest?.['NatGatewayId']);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const PRIVATE_KEYS = new Set(['privateIpAddress', 'privateIp']);
const PUBLIC_KEYS = new Set(['publicIp', 'ipAddress', 'ipv6Address', 'carrierIp']);

/**
 * Applies ownership evidence from CloudTrail to the map, in time order, so an address
 * becomes the org's only from the moment the event moved it there.
 */
export class OwnershipEvidence {
  private readonly pending: CloudTrailEvent[] = [];
  /** associationId → what it tied together, for DisassociateAddress. */
  private readonly associations = new Map<string, { ip: string; instanceId: string }>();

  /** Keeps the event when it moves ownership; cheap for every other event. */
  consider(event: CloudTrailEvent): boolean {
    if (!OWNERSHIP_EVENT_NAMES.has(event.eventName) || event.errorCode !== '') return false;
    this.pending.push(event);
    return true;
  }

  get size(): number {
    return this.pending.length;
  }

  /** The events kept so far (a worker hands them to the main thread). */
  events(): readonly CloudTrailEvent[] {
    return this.pending;
  }

  /** Sorts what was kept by event time and writes it into the map. */
  applyTo(map: OwnershipMap): void {
    // Ties (and events without a time) in a fixed order: files may be read in any order.
    const time = (e: CloudTrailEvent): number => (Number.isNaN(e.timeMs) ? Number.NEGATIVE_INFINITY : e.timeMs);
    const events = [...this.pending].sort(
      (a, b) =>
        time(a) - time(b) || compareText(a.eventId, b.eventId) || compareText(JSON.stringify(a), JSON.stringify(b)),
    );
    for (const event of events) this.apply(map, event);
  }

  private apply(map: OwnershipMap, event: CloudTrailEvent): void {
    const at = Number.isNaN(event.timeMs) ? Number.NEGATIVE_INFINITY : event.timeMs;
    const source = `CloudTrail ${event.eventName} ${event.eventId}`;
    const accountId = event.accountId;
    const region = event.awsRegion;
    const request = event.requestParameters ?? {};
    const response = event.responseElements ?? {};

    switch (event.eventName) {
      case 'RunInstances': {
        for (const instance of items(findWithKey(response, 'instancesSet')?.['instancesSet'])) {
          const instanceId = str(instance['instanceId']).toLowerCase();
          if (!instanceId) continue;
          const vpcId = str(instance['vpcId']);
          const privateIps = collectStrings(instance, PRIVATE_KEYS, new Set());
          const publicIps = collectStrings(instance, PUBLIC_KEYS, new Set());
          if (!map.instances.has(instanceId)) {
            map.instances.set(instanceId, {
              instanceId,
              accountId,
              region,
              vpcId,
              state: 'running',
              launchTime: event.eventTime,
              instanceProfileArn: str(obj(instance['iamInstanceProfile'])?.['arn']),
              privateIps: [...privateIps],
              publicIps: [...publicIps],
              metadata: undefined,
              tags: {},
              source,
            });
          }
          const base = { kind: 'instance' as const, accountId, region, vpcId, instanceId, fromMs: at, source };
          for (const ip of privateIps) map.addAddress(ip, owner({ ...base, scope: 'private' }));
          for (const ip of publicIps) map.addAddress(ip, owner({ ...base, scope: 'public' }));
        }
        break;
      }
      case 'TerminateInstances': {
        for (const instance of items(findWithKey(response, 'instancesSet')?.['instancesSet'])) {
          const instanceId = str(instance['instanceId']).toLowerCase();
          const facts = map.instances.get(instanceId);
          if (!facts) continue;
          // Its public addresses go back to AWS's pool and may later belong to anyone.
          for (const ip of [...facts.publicIps, ...facts.privateIps]) {
            map.endAddress(ip, (o) => o.instanceId === instanceId, at);
          }
        }
        break;
      }
      case 'AllocateAddress': {
        const publicIp = str(response['publicIp']);
        if (str(response['allocationId']) && publicIp) map.allocations.set(str(response['allocationId']), publicIp);
        if (publicIp)
          map.addAddress(
            publicIp,
            owner({ kind: 'elastic-ip', scope: 'public', accountId, region, fromMs: at, source }),
          );
        break;
      }
      case 'ReleaseAddress': {
        const ip = str(request['publicIp']) || map.allocations.get(str(request['allocationId'])) || '';
        if (ip) map.endAddress(ip, (o) => o.accountId === accountId || o.accountId === '', at);
        break;
      }
      case 'AssociateAddress': {
        const ip = str(request['publicIp']) || map.allocations.get(str(request['allocationId'])) || '';
        const instanceId = str(request['instanceId']).toLowerCase();
        if (!ip) break;
        map.addAddress(
          ip,
          owner({
            kind: instanceId ? 'instance' : 'network-interface',
            scope: 'public',
            accountId,
            region,
            instanceId,
            networkInterfaceId: str(request['networkInterfaceId']),
            fromMs: at,
            source,
          }),
        );
        const associationId = str(response['associationId']);
        if (associationId) this.associations.set(associationId, { ip, instanceId });
        break;
      }
      case 'DisassociateAddress': {
        const association = this.associations.get(str(request['associationId']));
        const ip = association?.ip ?? str(request['publicIp']);
        if (ip)
          map.endAddress(
            ip,
            (o) => o.kind !== 'elastic-ip' && (!association || o.instanceId === association.instanceId),
            at,
          );
        break;
      }
      case 'CreateNatGateway':
      case 'AssociateNatGatewayAddress': {
        const natGatewayId = natGatewayIdOf(request, response);
        // AssociateNatGatewayAddress does not repeat the VPC: the map knows it from the gateway's first address.
        const vpcId = str(findWithKey(response, 'vpcId')?.['vpcId']);
        const addresses = items(findWithKey(response, 'natGatewayAddressSet')?.['natGatewayAddressSet']);
        for (const address of addresses) {
          const ip = str(address['publicIp']) || map.allocations.get(str(address['allocationId'])) || '';
          const base = { kind: 'nat-gateway' as const, accountId, region, vpcId, natGatewayId, fromMs: at, source };
          if (ip) map.addAddress(ip, owner({ ...base, scope: 'public' }));
          if (str(address['privateIp']))
            map.addAddress(str(address['privateIp']), owner({ ...base, scope: 'private' }));
        }
        break;
      }
      case 'DisassociateNatGatewayAddress': {
        const natGatewayId = natGatewayIdOf(request, response);
        const allocationIds = collectStrings([request, response], new Set(['AllocationId', 'allocationId']), new Set());
        const ips = [...allocationIds].map((id) => map.allocations.get(id) ?? '').filter(Boolean);
        for (const ip of ips) map.endAddress(ip, (o) => o.natGatewayId === natGatewayId, at);
        break;
      }
      case 'DeleteNatGateway': {
        const natGatewayId = natGatewayIdOf(request, response);
        if (natGatewayId) map.endOwners((o) => o.natGatewayId === natGatewayId, at);
        break;
      }
      case 'CreateVpcEndpoint': {
        const endpoint = findWithKey(response, 'vpcEndpointId');
        const vpcEndpointId = str(endpoint?.['vpcEndpointId']);
        if (!vpcEndpointId || map.vpcEndpoints.has(vpcEndpointId)) break;
        map.vpcEndpoints.set(vpcEndpointId, {
          vpcEndpointId,
          accountId,
          region,
          vpcId: str(endpoint?.['vpcId']),
          serviceName: str(endpoint?.['serviceName']),
          type: str(endpoint?.['vpcEndpointType']),
          source,
        });
        break;
      }
      case 'AttachNetworkInterface': {
        const networkInterfaceId = str(request['networkInterfaceId']);
        const instanceId = str(request['instanceId']).toLowerCase();
        if (!networkInterfaceId || !instanceId) break;
        for (const [ip, owners] of map.entriesForInterface(networkInterfaceId)) {
          for (const o of owners) {
            map.addAddress(
              ip,
              owner({ ...o, kind: 'instance', instanceId, fromMs: at, toMs: Number.POSITIVE_INFINITY, source }),
            );
          }
        }
        break;
      }
    }
  }
}
