import { formatIp, parseIp, unmapIpv4 } from '../net/ip.js';

/** What kind of thing holds an address. */
export type OwnerKind = 'instance' | 'nat-gateway' | 'vpc-endpoint' | 'network-interface' | 'elastic-ip';

/** One fact: an address belonged to an org resource from a time on (until a time). */
export interface AddressOwner {
  kind: OwnerKind;
  accountId: string;
  region: string;
  vpcId: string;
  instanceId: string;
  natGatewayId: string;
  vpcEndpointId: string;
  networkInterfaceId: string;
  scope: 'public' | 'private';
  /** When the resource took the address: -Infinity for inventory snapshots, the event time for CloudTrail evidence. */
  fromMs: number;
  /** When it let it go (DisassociateAddress …): +Infinity while held. */
  toMs: number;
  /** Where the fact comes from: `inventory FILE` or `CloudTrail EVENTNAME EVENTID`. */
  source: string;
}

export interface InstanceFacts {
  instanceId: string;
  accountId: string;
  region: string;
  vpcId: string;
  state: string;
  launchTime: string;
  instanceProfileArn: string;
  privateIps: string[];
  publicIps: string[];
  /** MetadataOptions as the EC2 API reports them; undefined when the source did not say. */
  metadata: { httpTokens: string; hopLimit: number; httpEndpoint: string; httpProtocolIpv6: string } | undefined;
  tags: Record<string, string>;
  source: string;
}

export interface VpcEndpointFacts {
  vpcEndpointId: string;
  accountId: string;
  region: string;
  vpcId: string;
  serviceName: string;
  type: string;
  source: string;
}

export interface RoleFacts {
  roleName: string;
  roleId: string;
  arn: string;
  accountId: string;
  instanceProfileArns: string[];
  /** Inline policy documents by name. */
  inlinePolicies: Record<string, unknown>;
  attachedPolicyArns: string[];
  permissionsBoundaryArn: string;
}

export interface ManagedPolicyFacts {
  arn: string;
  name: string;
  /** The default version's document. */
  document: unknown;
}

/** Canonical text of an address, so `::FFFF:1.2.3.4`, `1.2.3.4` compare equal; raw text when not an address. */
export function canonicalAddress(text: string): string {
  const parsed = parseIp(text);
  return parsed ? formatIp(unmapIpv4(parsed)) : text;
}

/**
 * Which org resource owns each address and endpoint, and when. Built from inventory
 * snapshots and from CloudTrail events that create or move addresses; nothing here does I/O.
 */
export class OwnershipMap {
  private readonly byAddress = new Map<string, AddressOwner[]>();
  readonly instances = new Map<string, InstanceFacts>();
  readonly vpcEndpoints = new Map<string, VpcEndpointFacts>();
  /** By lower-cased role ARN. */
  readonly roles = new Map<string, RoleFacts>();
  readonly managedPolicies = new Map<string, ManagedPolicyFacts>();
  /** Accounts the inventory covers: an address of theirs not in the map is not theirs. */
  readonly accounts = new Set<string>();
  /** Files read, for the report. */
  readonly sources: string[] = [];
  /** Elastic IP allocation id → public address (inventory Addresses and NAT gateways, AllocateAddress). */
  readonly allocations = new Map<string, string>();
  /** NAT gateway id → its VPC, so an address added to a gateway later is tied to the right network. */
  readonly natGatewayVpcs = new Map<string, string>();

  addAddress(address: string, owner: AddressOwner): void {
    const key = canonicalAddress(address);
    if (key === '') return;
    if (owner.kind === 'nat-gateway' && owner.natGatewayId) {
      if (owner.vpcId) this.natGatewayVpcs.set(owner.natGatewayId, owner.vpcId);
      else owner.vpcId = this.natGatewayVpcs.get(owner.natGatewayId) ?? '';
    }
    const owners = this.byAddress.get(key);
    if (!owners) {
      this.byAddress.set(key, [owner]);
      return;
    }
    const duplicate = owners.find(
      (o) =>
        o.kind === owner.kind &&
        o.instanceId === owner.instanceId &&
        o.natGatewayId === owner.natGatewayId &&
        o.vpcEndpointId === owner.vpcEndpointId &&
        (o.networkInterfaceId === owner.networkInterfaceId ||
          o.networkInterfaceId === '' ||
          owner.networkInterfaceId === ''),
    );
    if (duplicate) {
      // The same holder seen twice. A snapshot only says "held at some point up to now"; an event says
      // exactly when the hold began: the known start wins, so a later association never covers earlier use.
      duplicate.fromMs = startOf(duplicate, owner);
      duplicate.toMs = Math.max(duplicate.toMs, owner.toMs);
      if (!duplicate.vpcId) duplicate.vpcId = owner.vpcId;
      if (!duplicate.networkInterfaceId) duplicate.networkInterfaceId = owner.networkInterfaceId;
      if (!duplicate.region) duplicate.region = owner.region;
      return;
    }
    owners.push(owner);
  }

  /** Ends an owner's hold on an address (a disassociation at `atMs`). */
  endAddress(address: string, match: (owner: AddressOwner) => boolean, atMs: number): void {
    for (const owner of this.byAddress.get(canonicalAddress(address)) ?? []) {
      if (match(owner) && owner.fromMs <= atMs && owner.toMs > atMs) owner.toMs = atMs;
    }
  }

  /** A deep copy: a scan adds its CloudTrail evidence to the copy, never to the caller's inventory. */
  clone(): OwnershipMap {
    const copy = new OwnershipMap();
    for (const [address, owners] of this.byAddress)
      copy.byAddress.set(
        address,
        owners.map((o) => ({ ...o })),
      );
    for (const [id, facts] of this.instances)
      copy.instances.set(id, { ...facts, privateIps: [...facts.privateIps], publicIps: [...facts.publicIps] });
    for (const [id, facts] of this.vpcEndpoints) copy.vpcEndpoints.set(id, { ...facts });
    for (const [arn, facts] of this.roles) copy.roles.set(arn, facts);
    for (const [arn, facts] of this.managedPolicies) copy.managedPolicies.set(arn, facts);
    for (const account of this.accounts) copy.accounts.add(account);
    copy.sources.push(...this.sources);
    for (const [id, ip] of this.allocations) copy.allocations.set(id, ip);
    for (const [id, vpc] of this.natGatewayVpcs) copy.natGatewayVpcs.set(id, vpc);
    return copy;
  }

  /** Ends every hold, on any address, that matches (a deleted NAT gateway, a terminated instance). */
  endOwners(match: (owner: AddressOwner) => boolean, atMs: number): void {
    for (const owners of this.byAddress.values()) {
      for (const owner of owners) if (match(owner) && owner.fromMs <= atMs && owner.toMs > atMs) owner.toMs = atMs;
    }
  }

  /** Every owner of the address whose hold covers the time (NaN time: any owner). */
  ownersAt(address: string, timeMs: number): AddressOwner[] {
    const owners = this.byAddress.get(canonicalAddress(address)) ?? [];
    if (Number.isNaN(timeMs)) return owners;
    return owners.filter((o) => o.fromMs <= timeMs && timeMs < o.toMs);
  }

  /** Every owner the address ever had. */
  owners(address: string): AddressOwner[] {
    return this.byAddress.get(canonicalAddress(address)) ?? [];
  }

  /** Every address held through a network interface, with those holds. */
  entriesForInterface(networkInterfaceId: string): [string, AddressOwner[]][] {
    const out: [string, AddressOwner[]][] = [];
    for (const [address, owners] of this.byAddress) {
      const held = owners.filter((o) => o.networkInterfaceId === networkInterfaceId);
      if (held.length > 0) out.push([address, held]);
    }
    return out;
  }

  get addressCount(): number {
    return this.byAddress.size;
  }

  /** The role of an instance profile ARN, when the IAM details were loaded. */
  roleOfInstanceProfile(instanceProfileArn: string): RoleFacts | undefined {
    if (!instanceProfileArn) return undefined;
    for (const role of this.roles.values()) {
      if (role.instanceProfileArns.includes(instanceProfileArn)) return role;
    }
    return undefined;
  }

  /** True when nothing at all was loaded. */
  get isEmpty(): boolean {
    return (
      this.byAddress.size === 0 && this.instances.size === 0 && this.vpcEndpoints.size === 0 && this.roles.size === 0
    );
  }
}

/** When a hold seen twice began: an event's time beats a snapshot's guess (LaunchTime, or none at all). */
function startOf(a: AddressOwner, b: AddressOwner): number {
  const aEvent = a.source.startsWith('CloudTrail');
  const bEvent = b.source.startsWith('CloudTrail');
  if (aEvent !== bEvent) return aEvent ? a.fromMs : b.fromMs;
  if (a.fromMs === Number.NEGATIVE_INFINITY) return b.fromMs;
  if (b.fromMs === Number.NEGATIVE_INFINITY) return a.fromMs;
  return Math.min(a.fromMs, b.fromMs);
}

/** A blank owner record, filled in by the loaders. */
export function owner(fields: Partial<AddressOwner> & Pick<AddressOwner, 'kind' | 'scope' | 'source'>): AddressOwner {
  return {
    accountId: '',
    region: '',
    vpcId: '',
    instanceId: '',
    natGatewayId: '',
    vpcEndpointId: '',
    networkInterfaceId: '',
    fromMs: Number.NEGATIVE_INFINITY,
    toMs: Number.POSITIVE_INFINITY,
    ...fields,
  };
}
