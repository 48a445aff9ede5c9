/**
 * Strict IP address and CIDR parsing. IPv4 is an unsigned 32-bit integer; IPv6 is
 * four unsigned 32-bit words (w0 most significant), so lookups never touch BigInt.
 */

/** An IPv4 address; `value` is the unsigned 32-bit integer (0 … 2^32-1). */
export interface Ipv4Address {
  readonly version: 4;
  readonly value: number;
}

/** An IPv6 address as four unsigned 32-bit words, `w0` most significant. */
export interface Ipv6Address {
  readonly version: 6;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
}

export type ParsedIp = Ipv4Address | Ipv6Address;
export type IpVersion = 4 | 6;

/** A CIDR block with host bits masked off. */
export interface ParsedCidr {
  readonly version: IpVersion;
  readonly first: ParsedIp;
  readonly last: ParsedIp;
  readonly prefixLength: number;
  /** Canonical text, e.g. `10.0.0.0/8`, `2001:db8::/32`. */
  readonly cidr: string;
}

// Longest valid text: a bracketed IPv6 with embedded IPv4 and a zone id. Anything
// longer is rejected before scanning so hostile multi-megabyte values cost nothing.
const MAX_IP_TEXT = 96;

/**
 * Parses a dotted-quad IPv4 address to its unsigned 32-bit value, or -1.
 * Exactly four decimal octets 0-255, no leading zeros (`01.2.3.4` is rejected
 * because inet_aton reads it as octal), no signs, no whitespace.
 */
export function parseIpv4(text: string): number {
  return parseIpv4Span(text, 0, text.length);
}

function parseIpv4Span(s: string, start: number, end: number): number {
  const len = end - start;
  if (len < 7 || len > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

const groups = new Array<number>(8).fill(0);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

function isZoneChar(c: number): boolean {
  // RFC 6874 unreserved characters: enough for eth0, en0, 1, wlan0.1, Ethernet_2.
  return (
    (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 122) || c === 45 || c === 46 || c === 95 || c === 126
  );
}

/** Fills `groups` with eight 16-bit values; false when the text is not IPv6. */
function parseIpv6Span(s: string, start: number, end: number): boolean {
  let g = 0;
  let compress = -1;
  let i = start;
  if (i >= end) return false;
  if (s.charCodeAt(i) === 58) {
    if (i + 1 >= end || s.charCodeAt(i + 1) !== 58) return false;
    compress = 0;
    i += 2;
  }
  while (i < end) {
    if (g === 8) return false;
    let j = i;
    let val = 0;
    while (j < end) {
      const h = hexValue(s.charCodeAt(j));
      if (h < 0) break;
      val = val * 16 + h;
      j++;
      if (j - i > 4) return false;
    }
    if (j < end && s.charCodeAt(j) === 46) {
      if (g > 6) return false;
      const v4 = parseIpv4Span(s, i, end);
      if (v4 < 0) return false;
      groups[g++] = Math.floor(v4 / 65536);
      groups[g++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (j === i) return false;
    groups[g++] = val;
    i = j;
    if (i === end) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i === end) return false;
    if (s.charCodeAt(i) === 58) {
      if (compress >= 0) return false;
      compress = g;
      i++;
    }
  }
  if (compress >= 0) {
    // "::" stands for at least one zero group.
    if (g === 8) return false;
    const tail = g - compress;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[g - 1 - k]!;
    for (let k = compress; k < 8 - tail; k++) groups[k] = 0;
  } else if (g !== 8) {
    return false;
  }
  return true;
}

function v6FromGroups(): Ipv6Address {
  return {
    version: 6,
    w0: groups[0]! * 65536 + groups[1]!,
    w1: groups[2]! * 65536 + groups[3]!,
    w2: groups[4]! * 65536 + groups[5]!,
    w3: groups[6]! * 65536 + groups[7]!,
  };
}

/**
 * Parses an IPv4 or IPv6 address. IPv6 accepts full and `::`-compressed forms,
 * an embedded IPv4 tail (`::ffff:1.2.3.4`), any hex case, an optional zone id
 * (`fe80::1%eth0`, dropped) and optional brackets (`[::1]`). Anything else —
 * whitespace, ports, octal-looking octets, hostnames — returns undefined.
 * IPv4-mapped IPv6 stays IPv6 here; use {@link unmapIpv4} to classify it as IPv4.
 */
export function parseIp(text: string): ParsedIp | undefined {
  const len = text.length;
  if (len === 0 || len > MAX_IP_TEXT) return undefined;
  if (len <= 15) {
    const v4 = parseIpv4Span(text, 0, len);
    if (v4 >= 0) return { version: 4, value: v4 };
  }
  let start = 0;
  let end = len;
  if (text.charCodeAt(0) === 91) {
    if (text.charCodeAt(len - 1) !== 93) return undefined;
    start = 1;
    end = len - 1;
  }
  const zone = text.indexOf('%', start);
  if (zone >= 0 && zone < end) {
    if (zone === end - 1) return undefined;
    for (let i = zone + 1; i < end; i++) if (!isZoneChar(text.charCodeAt(i))) return undefined;
    end = zone;
  }
  if (!parseIpv6Span(text, start, end)) return undefined;
  return v6FromGroups();
}

/** True for `::ffff:a.b.c.d` (IPv4-mapped IPv6, RFC 4291 §2.5.5.2). */
export function isIpv4Mapped(ip: ParsedIp): boolean {
  return ip.version === 6 && ip.w0 === 0 && ip.w1 === 0 && ip.w2 === 0xffff;
}

/** The embedded IPv4 of an IPv4-mapped IPv6 address; any other address unchanged. */
export function unmapIpv4(ip: ParsedIp): ParsedIp {
  return ip.version === 6 && ip.w0 === 0 && ip.w1 === 0 && ip.w2 === 0xffff ? { version: 4, value: ip.w3 } : ip;
}

function formatIpv4(value: number): string {
  return `${Math.floor(value / 16777216)}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/**
 * Canonical text (RFC 5952 for IPv6: lower case, no leading zeros, the longest
 * run of two or more zero groups compressed, IPv4-mapped written `::ffff:1.2.3.4`).
 */
export function formatIp(ip: ParsedIp): string {
  if (ip.version === 4) return formatIpv4(ip.value);
  if (ip.w0 === 0 && ip.w1 === 0 && ip.w2 === 0xffff) return `::ffff:${formatIpv4(ip.w3)}`;
  const g = [
    ip.w0 >>> 16,
    ip.w0 & 0xffff,
    ip.w1 >>> 16,
    ip.w1 & 0xffff,
    ip.w2 >>> 16,
    ip.w2 & 0xffff,
    ip.w3 >>> 16,
    ip.w3 & 0xffff,
  ];
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** The address as an unsigned integer (build-time helper; not for hot paths). */
export function ipToBigInt(ip: ParsedIp): bigint {
  if (ip.version === 4) return BigInt(ip.value);
  return (BigInt(ip.w0) << 96n) | (BigInt(ip.w1) << 64n) | (BigInt(ip.w2) << 32n) | BigInt(ip.w3);
}

/** Inverse of {@link ipToBigInt}. */
export function ipFromBigInt(version: IpVersion, n: bigint): ParsedIp {
  if (version === 4) return { version: 4, value: Number(n & 0xffffffffn) };
  return {
    version: 6,
    w0: Number((n >> 96n) & 0xffffffffn),
    w1: Number((n >> 64n) & 0xffffffffn),
    w2: Number((n >> 32n) & 0xffffffffn),
    w3: Number(n & 0xffffffffn),
  };
}

/** Orders all IPv4 before all IPv6, then numerically. */
export function compareIp(a: ParsedIp, b: ParsedIp): number {
  if (a.version !== b.version) return a.version - b.version;
  if (a.version === 4) return a.value - (b as Ipv4Address).value;
  const o = b as Ipv6Address;
  return a.w0 - o.w0 || a.w1 - o.w1 || a.w2 - o.w2 || a.w3 - o.w3;
}

function wordMask(prefix: number, wordIndex: number): number {
  const bits = Math.min(32, Math.max(0, prefix - wordIndex * 32));
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * Parses `address/prefix`. Host bits are masked off (`10.1.2.3/8` → `10.0.0.0/8`),
 * a bare address is a single-host block (/32 or /128). Brackets and zone ids are
 * not accepted here.
 */
export function parseCidr(text: string): ParsedCidr | undefined {
  if (text.length === 0 || text.length > MAX_IP_TEXT) return undefined;
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  if (addrText.includes('%') || addrText.includes('[')) return undefined;
  const ip = parseIp(addrText);
  if (ip === undefined) return undefined;
  const max = ip.version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    prefix = Number(p);
    if (prefix > max) return undefined;
  }
  let first: ParsedIp;
  let last: ParsedIp;
  if (ip.version === 4) {
    const mask = wordMask(prefix, 0);
    const f = (ip.value & mask) >>> 0;
    first = { version: 4, value: f };
    last = { version: 4, value: (f | ~mask) >>> 0 };
  } else {
    const m = [wordMask(prefix, 0), wordMask(prefix, 1), wordMask(prefix, 2), wordMask(prefix, 3)] as const;
    const f0 = (ip.w0 & m[0]) >>> 0;
    const f1 = (ip.w1 & m[1]) >>> 0;
    const f2 = (ip.w2 & m[2]) >>> 0;
    const f3 = (ip.w3 & m[3]) >>> 0;
    first = { version: 6, w0: f0, w1: f1, w2: f2, w3: f3 };
    last = {
      version: 6,
      w0: (f0 | ~m[0]) >>> 0,
      w1: (f1 | ~m[1]) >>> 0,
      w2: (f2 | ~m[2]) >>> 0,
      w3: (f3 | ~m[3]) >>> 0,
    };
  }
  return { version: ip.version, first, last, prefixLength: prefix, cidr: `${formatIp(first)}/${prefix}` };
}

/** True when `ip` lies inside `cidr` (same family only; no IPv4-mapped unwrapping). */
export function cidrContains(cidr: ParsedCidr, ip: ParsedIp): boolean {
  return compareIp(cidr.first, ip) <= 0 && compareIp(ip, cidr.last) <= 0;
}
