import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../errors.js';
import { isGzipHead } from '../sources/log-object.js';
import { OwnershipMap, owner, type InstanceFacts } from './ownership.js';

type Json = Record<string, unknown>;

/** Inventory files bigger than this are refused: a real describe-instances of a large org is far smaller. */
const MAX_INVENTORY_FILE_BYTES = 512 * 1024 * 1024;
// No \b after the digit: availability zones (us-east-1d) and Local Zones (us-east-1-bos-1a) end in letters.
const REGION = /(?<![a-z0-9])([a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d)(?!\d)/;
const ACCOUNT = /(?:^|[/\\_.-])(\d{12})(?=$|[/\\_.-])/;

function obj(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}
function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
function str(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

/** Account and region hints from a file's path, for outputs that do not carry them (NAT gateways, addresses). */
export function pathHints(path: string): { accountId: string; region: string } {
  return { accountId: ACCOUNT.exec(path)?.[1] ?? '', region: REGION.exec(path)?.[1] ?? '' };
}

function regionOfZone(zone: string): string {
  // us-east-1a → us-east-1; Local Zones (us-east-1-bos-1a) keep their parent region.
  return REGION.exec(zone)?.[1] ?? '';
}

/** What a parsed inventory file holds, by its top-level key (SPEC §3). */
export type InventoryKind =
  | 'describe-instances'
  | 'describe-network-interfaces'
  | 'describe-addresses'
  | 'describe-nat-gateways'
  | 'describe-vpc-endpoints'
  | 'get-account-authorization-details';

export function inventoryKind(document: unknown): InventoryKind | undefined {
  const top = obj(document);
  if (!top) return undefined;
  if (Array.isArray(top['Reservations'])) return 'describe-instances';
  if (Array.isArray(top['NetworkInterfaces'])) return 'describe-network-interfaces';
  if (Array.isArray(top['Addresses'])) return 'describe-addresses';
  if (Array.isArray(top['NatGateways'])) return 'describe-nat-gateways';
  if (Array.isArray(top['VpcEndpoints'])) return 'describe-vpc-endpoints';
  if (Array.isArray(top['RoleDetailList']) || Array.isArray(top['Policies']))
    return 'get-account-authorization-details';
  return undefined;
}

function loadInstances(
  map: OwnershipMap,
  document: Json,
  file: string,
  hints: { accountId: string; region: string },
): void {
  for (const reservation of arr(document['Reservations'])) {
    const r = obj(reservation) ?? {};
    const accountId = str(r['OwnerId']) || hints.accountId;
    for (const item of arr(r['Instances'])) {
      const i = obj(item) ?? {};
      const instanceId = str(i['InstanceId']).toLowerCase();
      if (!instanceId) continue;
      const region = regionOfZone(str(obj(i['Placement'])?.['AvailabilityZone'])) || hints.region;
      const vpcId = str(i['VpcId']);
      const state = str(obj(i['State'])?.['Name']);
      const privateIps = new Set<string>();
      const publicIps = new Set<string>();
      if (str(i['PrivateIpAddress'])) privateIps.add(str(i['PrivateIpAddress']));
      if (str(i['PublicIpAddress'])) publicIps.add(str(i['PublicIpAddress']));
      const interfaces = arr(i['NetworkInterfaces']).map((n) => obj(n) ?? {});
      for (const eni of interfaces) {
        for (const address of arr(eni['PrivateIpAddresses'])) {
          const a = obj(address) ?? {};
          if (str(a['PrivateIpAddress'])) privateIps.add(str(a['PrivateIpAddress']));
          const publicIp = str(obj(a['Association'])?.['PublicIp']);
          if (publicIp) publicIps.add(publicIp);
        }
        if (str(eni['PrivateIpAddress'])) privateIps.add(str(eni['PrivateIpAddress']));
        const publicIp = str(obj(eni['Association'])?.['PublicIp']);
        if (publicIp) publicIps.add(publicIp);
        for (const v6 of arr(eni['Ipv6Addresses'])) {
          const address = str(obj(v6)?.['Ipv6Address']);
          // IPv6 addresses of an instance are globally routable: they are its public egress.
          if (address) publicIps.add(address);
        }
      }
      const metadataRaw = obj(i['MetadataOptions']);
      const facts: InstanceFacts = {
        instanceId,
        accountId,
        region,
        vpcId,
        state,
        launchTime: str(i['LaunchTime']),
        instanceProfileArn: str(obj(i['IamInstanceProfile'])?.['Arn']),
        privateIps: [...privateIps],
        publicIps: [...publicIps],
        metadata: metadataRaw
          ? {
              httpTokens: str(metadataRaw['HttpTokens']),
              hopLimit: Number(metadataRaw['HttpPutResponseHopLimit'] ?? 1),
              httpEndpoint: str(metadataRaw['HttpEndpoint']),
              httpProtocolIpv6: str(metadataRaw['HttpProtocolIpv6']),
            }
          : undefined,
        tags: Object.fromEntries(arr(i['Tags']).map((t) => [str(obj(t)?.['Key']), str(obj(t)?.['Value'])])),
        source: `inventory ${file}`,
      };
      map.instances.set(instanceId, facts);
      if (accountId) map.accounts.add(accountId);
      // A terminated instance's addresses went back to AWS: they are not the org's any more.
      if (state === 'terminated') continue;
      // Public addresses are handed out at (re)start, which is what LaunchTime records: AWS reuses
      // addresses, so the same address before then may have been anyone's. An Elastic IP may have been
      // associated before LaunchTime, but its own record (describe-addresses, AssociateAddress) covers that.
      const launchedMs = Date.parse(facts.launchTime);
      const fromMs = Number.isNaN(launchedMs) ? Number.NEGATIVE_INFINITY : launchedMs;
      for (const ip of privateIps) {
        map.addAddress(
          ip,
          owner({
            kind: 'instance',
            scope: 'private',
            accountId,
            region,
            vpcId,
            instanceId,
            fromMs,
            source: facts.source,
          }),
        );
      }
      for (const ip of publicIps) {
        map.addAddress(
          ip,
          owner({
            kind: 'instance',
            scope: 'public',
            accountId,
            region,
            vpcId,
            instanceId,
            fromMs,
            source: facts.source,
          }),
        );
      }
    }
  }
}

function loadNetworkInterfaces(
  map: OwnershipMap,
  document: Json,
  file: string,
  hints: { accountId: string; region: string },
): void {
  for (const item of arr(document['NetworkInterfaces'])) {
    const n = obj(item) ?? {};
    const accountId = str(n['OwnerId']) || hints.accountId;
    const region = regionOfZone(str(n['AvailabilityZone'])) || hints.region;
    const interfaceType = str(n['InterfaceType']);
    const instanceId = str(obj(n['Attachment'])?.['InstanceId']).toLowerCase();
    const description = str(n['Description']);
    const natGatewayId = interfaceType === 'nat_gateway' ? (/nat-[0-9a-f]+/.exec(description)?.[0] ?? '') : '';
    const vpcEndpointId = interfaceType === 'vpc_endpoint' ? (/vpce-[0-9a-f]+/.exec(description)?.[0] ?? '') : '';
    const kind = instanceId
      ? 'instance'
      : interfaceType === 'nat_gateway'
        ? 'nat-gateway'
        : interfaceType === 'vpc_endpoint'
          ? 'vpc-endpoint'
          : 'network-interface';
    const base = {
      kind,
      accountId,
      region,
      vpcId: str(n['VpcId']),
      instanceId,
      natGatewayId,
      vpcEndpointId,
      networkInterfaceId: str(n['NetworkInterfaceId']),
      source: `inventory ${file}`,
    } as const;
    if (accountId) map.accounts.add(accountId);
    const privates = new Set<string>([str(n['PrivateIpAddress'])]);
    const publics = new Set<string>([str(obj(n['Association'])?.['PublicIp'])]);
    for (const address of arr(n['PrivateIpAddresses'])) {
      const a = obj(address) ?? {};
      privates.add(str(a['PrivateIpAddress']));
      publics.add(str(obj(a['Association'])?.['PublicIp']));
    }
    for (const v6 of arr(n['Ipv6Addresses'])) publics.add(str(obj(v6)?.['Ipv6Address']));
    for (const ip of privates) if (ip) map.addAddress(ip, owner({ ...base, scope: 'private' }));
    for (const ip of publics) if (ip) map.addAddress(ip, owner({ ...base, scope: 'public' }));
  }
}

function loadAddresses(
  map: OwnershipMap,
  document: Json,
  file: string,
  hints: { accountId: string; region: string },
): void {
  for (const item of arr(document['Addresses'])) {
    const a = obj(item) ?? {};
    const publicIp = str(a['PublicIp']);
    if (!publicIp) continue;
    const accountId = str(a['NetworkInterfaceOwnerId']) || hints.accountId;
    const instanceId = str(a['InstanceId']).toLowerCase();
    if (str(a['AllocationId'])) map.allocations.set(str(a['AllocationId']), publicIp);
    map.addAddress(
      publicIp,
      owner({
        kind: instanceId ? 'instance' : 'elastic-ip',
        scope: 'public',
        accountId,
        region: hints.region,
        instanceId,
        networkInterfaceId: str(a['NetworkInterfaceId']),
        source: `inventory ${file}`,
      }),
    );
    if (accountId) map.accounts.add(accountId);
  }
}

function loadNatGateways(
  map: OwnershipMap,
  document: Json,
  file: string,
  hints: { accountId: string; region: string },
): void {
  for (const item of arr(document['NatGateways'])) {
    const g = obj(item) ?? {};
    if (str(g['State']) === 'deleted') continue;
    const createdMs = Date.parse(str(g['CreateTime']));
    for (const address of arr(g['NatGatewayAddresses'])) {
      const a = obj(address) ?? {};
      if (str(a['AllocationId']) && str(a['PublicIp'])) map.allocations.set(str(a['AllocationId']), str(a['PublicIp']));
      const base = {
        kind: 'nat-gateway' as const,
        accountId: hints.accountId,
        region: hints.region,
        vpcId: str(g['VpcId']),
        natGatewayId: str(g['NatGatewayId']),
        networkInterfaceId: str(a['NetworkInterfaceId']),
        fromMs: Number.isNaN(createdMs) ? Number.NEGATIVE_INFINITY : createdMs,
        source: `inventory ${file}`,
      };
      if (str(a['PublicIp'])) map.addAddress(str(a['PublicIp']), owner({ ...base, scope: 'public' }));
      if (str(a['PrivateIp'])) map.addAddress(str(a['PrivateIp']), owner({ ...base, scope: 'private' }));
    }
  }
}

function loadVpcEndpoints(
  map: OwnershipMap,
  document: Json,
  file: string,
  hints: { accountId: string; region: string },
): void {
  for (const item of arr(document['VpcEndpoints'])) {
    const e = obj(item) ?? {};
    const vpcEndpointId = str(e['VpcEndpointId']);
    if (!vpcEndpointId) continue;
    const serviceName = str(e['ServiceName']);
    const accountId = str(e['OwnerId']) || hints.accountId;
    map.vpcEndpoints.set(vpcEndpointId, {
      vpcEndpointId,
      accountId,
      region: REGION.exec(serviceName)?.[1] ?? hints.region,
      vpcId: str(e['VpcId']),
      serviceName,
      type: str(e['VpcEndpointType']),
      source: `inventory ${file}`,
    });
    if (accountId) map.accounts.add(accountId);
  }
}

function policyDocument(value: unknown): unknown {
  // The AWS CLI prints decoded JSON; the raw API returns URL-encoded strings.
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value.includes('%7B') || value.startsWith('%') ? decodeURIComponent(value) : value);
  } catch {
    return value;
  }
}

function loadAuthorizationDetails(map: OwnershipMap, document: Json, hints: { accountId: string }): void {
  for (const item of arr(document['RoleDetailList'])) {
    const r = obj(item) ?? {};
    const arn = str(r['Arn']);
    if (!arn) continue;
    const accountId = /^arn:[\w-]+:iam::(\d{12}):/.exec(arn)?.[1] ?? hints.accountId;
    map.roles.set(arn.toLowerCase(), {
      roleName: str(r['RoleName']),
      roleId: str(r['RoleId']),
      arn,
      accountId,
      instanceProfileArns: arr(r['InstanceProfileList'])
        .map((p) => str(obj(p)?.['Arn']))
        .filter(Boolean),
      inlinePolicies: Object.fromEntries(
        arr(r['RolePolicyList']).map((p) => [str(obj(p)?.['PolicyName']), policyDocument(obj(p)?.['PolicyDocument'])]),
      ),
      attachedPolicyArns: arr(r['AttachedManagedPolicies'])
        .map((p) => str(obj(p)?.['PolicyArn']))
        .filter(Boolean),
      permissionsBoundaryArn: str(obj(r['PermissionsBoundary'])?.['PermissionsBoundaryArn']),
    });
    if (accountId) map.accounts.add(accountId);
  }
  for (const item of arr(document['Policies'])) {
    const p = obj(item) ?? {};
    const arn = str(p['Arn']);
    const defaultVersion = str(p['DefaultVersionId']);
    const version = arr(p['PolicyVersionList'])
      .map((v) => obj(v) ?? {})
      .find((v) => v['IsDefaultVersion'] === true || str(v['VersionId']) === defaultVersion);
    if (arn)
      map.managedPolicies.set(arn, {
        arn,
        name: str(p['PolicyName']),
        document: policyDocument(version?.['Document']),
      });
  }
}

type Loader = (map: OwnershipMap, document: Json, file: string, hints: { accountId: string; region: string }) => void;

const LOADERS: Record<InventoryKind, Loader> = {
  'describe-instances': loadInstances,
  'describe-network-interfaces': loadNetworkInterfaces,
  'describe-addresses': loadAddresses,
  'describe-nat-gateways': loadNatGateways,
  'describe-vpc-endpoints': loadVpcEndpoints,
  'get-account-authorization-details': (map, document, _file, hints) => loadAuthorizationDetails(map, document, hints),
};

/** Adds one parsed inventory document to the map; returns its kind, or undefined when it is not one. */
export function addInventoryDocument(map: OwnershipMap, document: unknown, file: string): InventoryKind | undefined {
  const kind = inventoryKind(document);
  if (!kind) return undefined;
  const hints = pathHints(file);
  LOADERS[kind](map, document as Json, file, hints);
  if (hints.accountId) map.accounts.add(hints.accountId);
  map.sources.push(file);
  return kind;
}

function listJsonFiles(path: string, out: string[]): void {
  const stats = statSync(path);
  if (stats.isDirectory()) {
    for (const name of readdirSync(path).sort()) listJsonFiles(join(path, name), out);
  } else if (/\.json(\.gz)?$/i.test(path)) {
    out.push(path);
  }
}

export interface InventoryWarning {
  file: string;
  reason: string;
}

/**
 * Loads every AWS CLI JSON output under the given folders (any mix, several accounts,
 * recognised by their top-level key). Unrecognised or unreadable files are warnings.
 */
export function loadInventory(
  paths: readonly string[],
  map = new OwnershipMap(),
): { map: OwnershipMap; warnings: InventoryWarning[] } {
  const warnings: InventoryWarning[] = [];
  const files: string[] = [];
  for (const path of paths) {
    try {
      listJsonFiles(path, files);
    } catch (error) {
      throw new InputError(`cannot read inventory ${path}: ${(error as Error).message}`, 'check the --inventory path');
    }
  }
  for (const file of files) {
    try {
      if (statSync(file).size > MAX_INVENTORY_FILE_BYTES) {
        warnings.push({ file, reason: 'larger than 512 MB: not an AWS CLI inventory output' });
        continue;
      }
      const raw = readFileSync(file);
      // Capped like the file itself: a small gzip bomb must not take all memory.
      const text = (isGzipHead(raw) ? gunzipSync(raw, { maxOutputLength: MAX_INVENTORY_FILE_BYTES }) : raw).toString(
        'utf8',
      );
      const kind = addInventoryDocument(map, JSON.parse(text), file);
      if (!kind)
        warnings.push({
          file,
          reason:
            'not a known AWS CLI output (no Reservations, NetworkInterfaces, Addresses, NatGateways, VpcEndpoints or RoleDetailList key)',
        });
    } catch (error) {
      warnings.push({ file, reason: `unreadable: ${(error as Error).message}` });
    }
  }
  return { map, warnings };
}
