/**
 * Private and special-purpose address blocks, after the IANA IPv4 and IPv6
 * Special-Purpose Address Registries (RFC 6890), the IANA multicast registries
 * and the IANA IPv6 Address Space registry.
 */
import { unmapIpv4, type ParsedIp } from './ip.js';
import { RangeSet } from './range-set.js';

/**
 * `private`: space that a VPC, an on-premises network or a carrier NAT really
 * uses for hosts (RFC 1918, shared CGNAT space, ULA, link-local).
 * `special`: space that should never be the source of a call reaching AWS
 * (loopback, documentation, reserved, multicast, benchmarking …), including
 * transition prefixes whose real source is hidden behind a tunnel or translator.
 */
export type SpecialKind = 'private' | 'special';

export interface SpecialRange {
  readonly cidr: string;
  readonly name: string;
  readonly kind: SpecialKind;
  /** Defining document, e.g. 'RFC 1918'. */
  readonly rfc: string;
}

const p = (cidr: string, name: string, rfc: string): SpecialRange => ({ cidr, name, kind: 'private', rfc });
const s = (cidr: string, name: string, rfc: string): SpecialRange => ({ cidr, name, kind: 'special', rfc });

/**
 * The table, most-specific entries win at lookup. Globally reachable anycast
 * services that IANA lists (AS112, AMT, PCP/TURN anycast outside
 * 192.0.0.0/24) are left out on purpose: they are real public addresses.
 */
export const SPECIAL_RANGES: readonly SpecialRange[] = Object.freeze([
  // IPv4
  s('0.0.0.0/8', 'this network', 'RFC 791'),
  s('0.0.0.0/32', 'this host on this network', 'RFC 1122'),
  p('10.0.0.0/8', 'RFC 1918 private', 'RFC 1918'),
  p('100.64.0.0/10', 'shared address space (CGNAT)', 'RFC 6598'),
  s('127.0.0.0/8', 'loopback', 'RFC 1122'),
  p('169.254.0.0/16', 'link-local', 'RFC 3927'),
  p('172.16.0.0/12', 'RFC 1918 private', 'RFC 1918'),
  s('192.0.0.0/24', 'IETF protocol assignments', 'RFC 6890'),
  s('192.0.0.0/29', 'IPv4 service continuity prefix (DS-Lite)', 'RFC 7335'),
  s('192.0.0.8/32', 'IPv4 dummy address', 'RFC 7600'),
  s('192.0.0.170/31', 'NAT64/DNS64 discovery', 'RFC 7050'),
  s('192.0.2.0/24', 'documentation (TEST-NET-1)', 'RFC 5737'),
  s('192.88.99.0/24', 'deprecated 6to4 relay anycast', 'RFC 7526'),
  p('192.168.0.0/16', 'RFC 1918 private', 'RFC 1918'),
  s('198.18.0.0/15', 'benchmarking', 'RFC 2544'),
  s('198.51.100.0/24', 'documentation (TEST-NET-2)', 'RFC 5737'),
  s('203.0.113.0/24', 'documentation (TEST-NET-3)', 'RFC 5737'),
  s('224.0.0.0/4', 'multicast', 'RFC 5771'),
  s('240.0.0.0/4', 'reserved for future use', 'RFC 1112'),
  s('255.255.255.255/32', 'limited broadcast', 'RFC 919'),
  // IPv6
  s('::/128', 'unspecified address', 'RFC 4291'),
  s('::1/128', 'loopback', 'RFC 4291'),
  s('64:ff9b::/96', 'NAT64 well-known prefix (IPv4-IPv6 translation)', 'RFC 6052'),
  s('64:ff9b:1::/48', 'NAT64 local-use prefix (IPv4-IPv6 translation)', 'RFC 8215'),
  s('100::/64', 'discard-only', 'RFC 6666'),
  s('100:0:0:1::/64', 'dummy IPv6 prefix', 'RFC 9780'),
  s('2001::/23', 'IETF protocol assignments', 'RFC 2928'),
  s('2001::/32', 'Teredo', 'RFC 4380'),
  s('2001:2::/48', 'benchmarking', 'RFC 5180'),
  s('2001:10::/28', 'deprecated ORCHID', 'RFC 4843'),
  s('2001:20::/28', 'ORCHIDv2', 'RFC 7343'),
  s('2001:30::/28', 'drone remote ID entity tags (DET)', 'RFC 9374'),
  s('2001:db8::/32', 'documentation', 'RFC 3849'),
  s('2002::/16', '6to4', 'RFC 3056'),
  s('3fff::/20', 'documentation', 'RFC 9637'),
  s('5f00::/16', 'SRv6 SIDs', 'RFC 9602'),
  p('fc00::/7', 'unique local (ULA)', 'RFC 4193'),
  p('fe80::/10', 'link-local', 'RFC 4291'),
  s('fec0::/10', 'deprecated site-local', 'RFC 3879'),
  s('ff00::/8', 'multicast', 'RFC 4291'),
  // Outside 2000::/3 nothing is allocated for global unicast (IANA IPv6 Address Space);
  // the named blocks above are more specific and win.
  s('::/3', 'reserved by IETF (outside global unicast 2000::/3)', 'RFC 4291'),
  s('4000::/2', 'reserved by IETF (outside global unicast 2000::/3)', 'RFC 4291'),
  s('8000::/1', 'reserved by IETF (outside global unicast 2000::/3)', 'RFC 4291'),
]);

let table: RangeSet<SpecialRange> | undefined;

function specialTable(): RangeSet<SpecialRange> {
  table ??= RangeSet.build(SPECIAL_RANGES.map((r) => ({ cidr: r.cidr, payload: r })));
  return table;
}

/**
 * The most specific private or special-purpose block containing `ip`, or
 * undefined for ordinary public space. IPv4-mapped IPv6 is judged as its IPv4.
 */
export function classifySpecial(ip: ParsedIp): SpecialRange | undefined {
  return specialTable().lookup(unmapIpv4(ip))?.[0];
}
