/**
 * Picks addresses for the simulated world: EC2 public addresses from AWS's published EC2
 * ranges of the right region, IPv6 blocks for VPCs, and non-AWS public addresses (home ISPs,
 * an enterprise uplink, CI runners, attackers' VPS hosts). Every pick is checked with the
 * same classifier offbox uses, and no address is handed out twice.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_IP_RANGES_FILE, parseAwsRanges, type AwsRanges } from '../net/aws-ranges.js';
import { formatIp, ipFromBigInt, ipToBigInt, parseCidr, parseIp, type ParsedCidr } from '../net/ip.js';
import { buildSourceClassifier, type SourceClassifier } from '../net/source-class.js';
import type { Rng } from './prng.js';

export type PublicPool = 'vps' | 'vps6' | 'home' | 'mobile' | 'enterprise' | 'azure';

/** Non-AWS public blocks, by what they are. Each pick is verified to classify as `public`. */
const PUBLIC_POOLS: Record<PublicPool, readonly (readonly [provider: string, cidr: string])[]> = {
  /** Well-known VPS / hosting providers: where attackers rent boxes. */
  vps: [
    ['DigitalOcean', '159.89.0.0/16'],
    ['DigitalOcean', '167.99.0.0/16'],
    ['Hetzner', '95.216.0.0/16'],
    ['Hetzner', '65.108.0.0/16'],
    ['OVHcloud', '51.38.0.0/16'],
    ['OVHcloud', '141.95.0.0/16'],
    ['Linode (Akamai)', '172.105.0.0/16'],
    ['Vultr', '45.77.0.0/16'],
    ['Contabo', '161.97.0.0/16'],
    ['Hetzner (Ashburn)', '5.161.0.0/16'],
  ],
  vps6: [
    ['Hetzner', '2a01:4f8::/32'],
    ['DigitalOcean', '2a03:b0c0::/32'],
    ['Linode (Akamai)', '2600:3c00::/32'],
  ],
  /** Residential broadband: SSO users working from home, web visitors. */
  home: [
    ['Comcast', '73.0.0.0/8'],
    ['Comcast', '24.0.0.0/12'],
    ['Verizon Fios', '71.160.0.0/11'],
    ['Charter Spectrum', '97.96.0.0/11'],
    ['Deutsche Telekom', '79.192.0.0/10'],
    ['BT', '86.128.0.0/10'],
    ['Orange', '90.0.0.0/9'],
    ['Telefonica', '83.32.0.0/11'],
  ],
  /** Mobile carriers: web visitors. */
  mobile: [
    ['T-Mobile US', '172.56.0.0/14'],
    ['Vodafone DE', '92.72.0.0/13'],
    ['AT&T Wireless', '166.205.0.0/16'],
  ],
  /** Enterprise uplinks: the organisation's own egress (on-prem, VPN). */
  enterprise: [
    ['Zayo', '64.125.0.0/16'],
    ['Cogent', '38.104.0.0/16'],
    ['Lumen', '4.14.0.0/16'],
  ],
  /** Microsoft Azure: where GitHub-hosted Actions runners egress from. */
  azure: [
    ['Azure (GitHub Actions)', '20.42.0.0/16'],
    ['Azure (GitHub Actions)', '20.57.0.0/16'],
    ['Azure (GitHub Actions)', '4.175.0.0/16'],
  ],
};

interface Ec2Prefix {
  cidr: ParsedCidr;
  weight: number;
}

/** A picked non-AWS address and whose network it is in. */
export interface PublicAddress {
  ip: string;
  provider: string;
}

interface RangeTables {
  ranges: AwsRanges;
  classifier: SourceClassifier;
  v4ByRegion: Map<string, Ec2Prefix[]>;
  v6ByRegion: Map<string, Ec2Prefix[]>;
}

let tables: RangeTables | undefined;

/** The vendored ip-ranges snapshot, parsed once per process (it is immutable). */
function loadTables(): RangeTables {
  if (tables) return tables;
  const json = JSON.parse(readFileSync(DEFAULT_IP_RANGES_FILE, 'utf8')) as {
    prefixes: { ip_prefix: string; service: string; region: string; network_border_group?: string }[];
    ipv6_prefixes: { ipv6_prefix: string; service: string; region: string; network_border_group?: string }[];
  };
  const ranges = parseAwsRanges(json, DEFAULT_IP_RANGES_FILE);
  const index = (
    list: { prefix: string; service: string; region: string; group: string }[],
    minLen: number,
    maxLen: number,
  ) => {
    const into = new Map<string, Ec2Prefix[]>();
    for (const p of list) {
      if (p.service !== 'EC2' || p.group !== p.region) continue;
      const cidr = parseCidr(p.prefix);
      if (!cidr || cidr.prefixLength < minLen || cidr.prefixLength > maxLen) continue;
      const regionList = into.get(p.region) ?? [];
      regionList.push({ cidr, weight: Math.sqrt(2 ** (maxLen - cidr.prefixLength)) });
      into.set(p.region, regionList);
    }
    // ip-ranges.json order changes between snapshots; sorting keeps picks stable within one.
    for (const regionList of into.values()) regionList.sort((a, b) => (a.cidr.cidr < b.cidr.cidr ? -1 : 1));
    return into;
  };
  tables = {
    ranges,
    classifier: buildSourceClassifier({ awsRanges: ranges }),
    v4ByRegion: index(
      json.prefixes.map((p) => ({
        prefix: p.ip_prefix,
        service: p.service,
        region: p.region,
        group: p.network_border_group ?? p.region,
      })),
      10,
      20,
    ),
    v6ByRegion: index(
      json.ipv6_prefixes.map((p) => ({
        prefix: p.ipv6_prefix,
        service: p.service,
        region: p.region,
        group: p.network_border_group ?? p.region,
      })),
      28,
      44,
    ),
  };
  return tables;
}

export class AddressBook {
  readonly ranges: AwsRanges;
  /** Classifier without allowed CIDRs: says whether an address is AWS, special or plain public. */
  readonly classifier: SourceClassifier;
  private readonly used = new Set<string>();
  private readonly v4ByRegion: Map<string, Ec2Prefix[]>;
  private readonly v6ByRegion: Map<string, Ec2Prefix[]>;

  constructor(private readonly rng: Rng) {
    const t = loadTables();
    this.ranges = t.ranges;
    this.classifier = t.classifier;
    this.v4ByRegion = t.v4ByRegion;
    this.v6ByRegion = t.v6ByRegion;
  }

  /** Marks an address as taken (e.g. a fixed one); returns false when it already was. */
  claim(ip: string): boolean {
    if (this.used.has(ip)) return false;
    this.used.add(ip);
    return true;
  }

  isUsed(ip: string): boolean {
    return this.used.has(ip);
  }

  /** True when the address is in an EC2 range of `region` and in no other service's more specific range. */
  isPlainEc2(ip: string, region: string): boolean {
    const parsed = parseIp(ip);
    if (!parsed) return false;
    const match = this.ranges.lookup(parsed);
    if (!match || match.region !== region) return false;
    return match.services.includes('EC2') && match.services.every((s) => s === 'AMAZON' || s === 'EC2');
  }

  /** A fresh public IPv4 address from the EC2 ranges of `region` (instance public IPs, EIPs, NAT EIPs). */
  ec2v4(region: string): string {
    const prefixes = this.v4ByRegion.get(region);
    if (!prefixes || prefixes.length === 0) throw new RangeError(`no EC2 IPv4 ranges for region ${region}`);
    for (let attempt = 0; attempt < 1000; attempt++) {
      const prefix = this.rng.weighted(prefixes.map((p) => [p, p.weight] as const));
      const ip = this.hostIn(prefix.cidr);
      if (ip === undefined || this.used.has(ip) || !this.isPlainEc2(ip, region)) continue;
      this.used.add(ip);
      return ip;
    }
    throw new RangeError(`could not find a free EC2 address in ${region}`);
  }

  /** A /56 from the EC2 IPv6 ranges of `region`, as a VPC's Amazon-provided IPv6 block. */
  ec2v6Block(region: string): ParsedCidr {
    const prefixes = this.v6ByRegion.get(region);
    if (!prefixes || prefixes.length === 0) throw new RangeError(`no EC2 IPv6 ranges for region ${region}`);
    for (let attempt = 0; attempt < 1000; attempt++) {
      const prefix = this.rng.weighted(prefixes.map((p) => [p, p.weight] as const));
      const span = 56 - prefix.cidr.prefixLength;
      const base = ipToBigInt(prefix.cidr.first) + (BigInt(this.rng.u32()) % (1n << BigInt(span))) * (1n << 72n);
      const block = parseCidr(`${formatIp(ipFromBigInt(6, base))}/56`);
      if (!block) continue;
      const probe = formatIp(ipFromBigInt(6, base + 1n));
      if (!this.isPlainEc2(probe, region)) continue;
      return block;
    }
    throw new RangeError(`could not find an EC2 IPv6 block in ${region}`);
  }

  /** A host address in subnet number `subnet` (/64) of a /56 VPC block. */
  ipv6Host(block: ParsedCidr, subnet: number): string {
    for (let attempt = 0; attempt < 100; attempt++) {
      const host = (BigInt(this.rng.u32()) << 32n) | BigInt(this.rng.u32());
      const ip = formatIp(ipFromBigInt(6, ipToBigInt(block.first) + (BigInt(subnet) << 64n) + host));
      if (this.used.has(ip)) continue;
      this.used.add(ip);
      return ip;
    }
    throw new RangeError('could not find a free IPv6 host');
  }

  /** A fresh non-AWS public address from one of the pools, verified as class `public`. */
  publicAddress(pool: PublicPool): PublicAddress {
    const blocks = PUBLIC_POOLS[pool];
    for (let attempt = 0; attempt < 1000; attempt++) {
      const [provider, text] = this.rng.pick(blocks);
      const ip = this.hostIn(parseCidr(text)!);
      if (ip === undefined || this.used.has(ip)) continue;
      if (this.classifier.classify(ip).class !== 'public') continue;
      this.used.add(ip);
      return { ip, provider };
    }
    throw new RangeError(`could not find a public address in pool ${pool}`);
  }

  /**
   * An aligned block of 2^(32-prefixLength) public addresses from a pool (the organisation's
   * egress CIDRs); every address in it is verified public and then reserved.
   */
  publicBlock(pool: PublicPool, prefixLength: number): { cidr: string; provider: string; hosts: string[] } {
    const size = 2 ** (32 - prefixLength);
    for (let attempt = 0; attempt < 1000; attempt++) {
      const [provider, text] = this.rng.pick(PUBLIC_POOLS[pool]);
      const outer = parseCidr(text)!;
      if (outer.first.version !== 4 || outer.last.version !== 4) continue;
      const blocks = (outer.last.value - outer.first.value + 1) / size;
      const first = outer.first.value + this.rng.int(blocks) * size;
      const hosts: string[] = [];
      for (let i = 0; i < size; i++) hosts.push(formatIp({ version: 4, value: first + i }));
      if (hosts.some((h) => this.used.has(h) || this.classifier.classify(h).class !== 'public')) continue;
      for (const h of hosts) this.used.add(h);
      return { cidr: `${hosts[0]}/${prefixLength}`, provider, hosts };
    }
    throw new RangeError(`could not find a public block in pool ${pool}`);
  }

  private hostIn(cidr: ParsedCidr): string | undefined {
    if (cidr.first.version === 4 && cidr.last.version === 4) {
      const span = cidr.last.value - cidr.first.value + 1;
      const value = cidr.first.value + this.rng.int(span);
      const low = value & 255;
      if (low === 0 || low === 255) return undefined;
      return formatIp({ version: 4, value });
    }
    const first = ipToBigInt(cidr.first);
    const span = ipToBigInt(cidr.last) - first + 1n;
    const r = (BigInt(this.rng.u32()) << 64n) | (BigInt(this.rng.u32()) << 32n) | BigInt(this.rng.u32());
    // Attackers' v6 hosts: a random /64 of the provider's block, host ::1 style low bits.
    const offset = (r % (span >> 64n)) << 64n;
    return formatIp(ipFromBigInt(6, first + offset + BigInt(this.rng.intIn(1, 0xffff))));
  }
}
