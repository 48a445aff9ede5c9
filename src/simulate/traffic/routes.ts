/**
 * Where a workload's calls come from, given its network: its own public address (public
 * subnet), a NAT gateway EIP (private subnet), its private address plus the endpoint id
 * (VPC endpoints), or a dual-stack IPv6 address.
 */
import type { Cred } from '../credentials.js';
import { identityOf } from '../credentials.js';
import type { EndpointService, Instance, RegionEstate, Subnet, VpcEndpoint } from '../organisation.js';
import { instancePublicIp } from '../organisation.js';
import type { Rng } from '../prng.js';
import type { Caller, Route } from './apis.js';

/** The VPC endpoint a call to `service` from `subnet` goes through, if any. */
export function endpointFor(estate: RegionEstate, subnet: Subnet, service: string): VpcEndpoint | undefined {
  for (const ep of estate.endpoints) {
    if (ep.service !== (service as EndpointService)) continue;
    // Gateway endpoints follow route tables; interface endpoints with private DNS catch the whole VPC.
    if (ep.type === 'Gateway' ? ep.routeTableIds.includes(subnet.routeTableId) : true) return ep;
  }
  return undefined;
}

/** A NAT gateway address that carries traffic at `t` (after a mid-window association, either one). */
export function natAddress(subnet: Subnet, t: number, rng: Rng): string {
  const nat = subnet.nat;
  if (!nat) throw new Error(`private subnet ${subnet.id} has no NAT gateway`);
  const live = nat.addresses.filter((a) => a.associatedAt <= t);
  return live.length === 1 ? live[0]!.publicIp : rng.pick(live).publicIp;
}

/** The route of an instance's call to `service` at `t`. */
export function instanceRoute(inst: Instance, service: string, t: number, rng: Rng): Route {
  const ep = endpointFor(inst.estate, inst.subnet, service);
  if (ep) return { ip: inst.privateIp, vpce: ep.id, vpceAccount: inst.account.id };
  if (inst.subnet.public) {
    if (inst.ipv6 && service === 's3' && rng.chance(0.25)) return { ip: inst.ipv6, dualStack: true };
    return { ip: instancePublicIp(inst, t)! };
  }
  return { ip: natAddress(inst.subnet, t, rng) };
}

/** A task or pod ENI in a private subnet: S3 through the gateway endpoint, the rest through NAT. */
export function privateEniRoute(
  estate: RegionEstate,
  subnet: Subnet,
  privateIp: string,
  service: string,
  t: number,
  rng: Rng,
): Route {
  const ep = endpointFor(estate, subnet, service);
  if (ep) return { ip: privateIp, vpce: ep.id, vpceAccount: estate.account.id };
  return { ip: natAddress(subnet, t, rng) };
}

/** A caller signing with an instance's key from the instance itself. */
export function instanceCaller(inst: Instance, cred: Cred, t: number, userAgent: string, rng: Rng): Caller {
  return {
    identity: identityOf(cred),
    cred,
    accountId: inst.account.id,
    region: inst.estate.region,
    userAgent,
    route: (service) => instanceRoute(inst, service, t, rng),
  };
}
