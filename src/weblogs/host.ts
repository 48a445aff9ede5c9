/**
 * Every way a URL parser somewhere might read a host as an address: dotted decimal, the
 * inet_aton forms (one to four parts, each decimal, octal `0…` or hex `0x…`, the last part
 * filling the remaining bytes: `169.254.43518`, `2852039166`, `0xa9fea9fe`, `0251.0376.0251.0376`),
 * the overflow forms some parsers wrap instead of rejecting (`425.510.425.510`, `7147006462`,
 * `0x41414141a9fea9fe`), bracketed or bare IPv6 with zone ids, IPv4-mapped, IPv4-compatible,
 * SIIT and NAT64 IPv6 forms of an IPv4 address.
 */
import { formatIp, parseIp, type ParsedIp } from '../net/ip.js';

/** How an address was written, for reasons ("written as dotless hexadecimal"). */
export interface HostAddress {
  version: 4 | 6;
  /** Canonical text: dotted decimal for IPv4 (embedded IPv4 of IPv6 forms included), RFC 5952 for IPv6. */
  canonical: string;
  /** Human description of the notation. */
  notation: string;
  /** True when the address only comes out by wrapping an overflowing number (not inet_aton-valid). */
  wrapped: boolean;
  /** Number of dot-separated parts in an IPv4 notation (1 = dotless); 0 for IPv6. */
  parts: number;
}

const MAX_HOST_TEXT = 128;
const TWO32 = 4294967296;

type Radix = 8 | 10 | 16;

interface NumberPart {
  radix: Radix;
  /** Exact value when ≤ 2^53, else NaN. */
  value: number;
  /** Value modulo 2^32. */
  low32: number;
  padded: boolean;
}

function parsePart(text: string): NumberPart | undefined {
  if (text === '' || text.length > 40) return undefined;
  let radix: Radix = 10;
  let digits = text;
  let padded = false;
  if (/^0x/i.test(text)) {
    radix = 16;
    digits = text.slice(2);
    if (digits === '') return { radix, value: 0, low32: 0, padded };
    if (!/^[0-9a-f]+$/i.test(digits)) return undefined;
  } else if (/^0o[0-7]+$/i.test(text)) {
    radix = 8;
    digits = text.slice(2);
  } else if (text.length > 1 && text.startsWith('0')) {
    if (!/^[0-7]+$/.test(text)) return undefined;
    radix = 8;
    digits = text.slice(1);
    padded = /^0{2,}/.test(text);
  } else if (!/^[0-9]+$/.test(text)) {
    return undefined;
  }
  if (digits === '') return { radix, value: 0, low32: 0, padded };
  const big = BigInt(radix === 16 ? `0x${digits}` : radix === 8 ? `0o${digits}` : digits);
  const low32 = Number(big & 0xffffffffn);
  const value = big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : Number.NaN;
  return { radix, value, low32, padded };
}

function radixName(radix: Radix): string {
  return radix === 16 ? 'hexadecimal' : radix === 8 ? 'octal' : 'decimal';
}

function describe(parts: NumberPart[], wrapped: boolean): string {
  const radixes = new Set(parts.map((p) => p.radix));
  const kind = radixes.size === 1 ? radixName(parts[0]!.radix) : 'mixed-radix';
  const shape = parts.length === 1 ? 'dotless' : parts.length === 4 ? 'dotted' : `${parts.length}-part short-form`;
  const padding = parts.some((p) => p.padded) ? ' with zero padding' : '';
  return `${shape} ${kind}${padding}${wrapped ? ' with overflow (wrapped)' : ''}`;
}

function ipv4Text(value: number): string {
  return `${Math.floor(value / 16777216)}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/**
 * Reads an IPv4 host in any inet_aton notation. Returns the strict inet_aton value when
 * there is one, else the wrapped value (each non-last part modulo 256, the last modulo the
 * bytes it fills) that lenient parsers produce. Undefined when it is not numeric at all.
 */
export function parseIpv4Notation(text: string): HostAddress | undefined {
  let host = text;
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '' || host.length > MAX_HOST_TEXT) return undefined;
  const pieces = host.split('.');
  if (pieces.length > 4) return undefined;
  const parts: NumberPart[] = [];
  for (const piece of pieces) {
    const part = parsePart(piece);
    if (!part) return undefined;
    parts.push(part);
  }
  const last = parts.length - 1;
  const lastBytes = 4 - last;
  const lastLimit = 256 ** lastBytes;
  let strict = true;
  let value = 0;
  for (let i = 0; i < last; i++) {
    const p = parts[i]!;
    if (!(p.value <= 255)) strict = false;
    value = value * 256 + (p.low32 & 255);
  }
  const tail = parts[last]!;
  if (!(tail.value < lastLimit)) strict = false;
  const tailValue = lastBytes === 4 ? tail.low32 : tail.low32 % lastLimit;
  value = value * lastLimit + tailValue;
  const canonicalNotation = parts.length === 4 && parts.every((p) => p.radix === 10 && !p.padded);
  return {
    version: 4,
    canonical: ipv4Text(value % TWO32),
    notation: canonicalNotation && strict ? 'dotted decimal' : describe(parts, !strict),
    wrapped: !strict,
    parts: parts.length,
  };
}

/** The IPv4 address an IPv6 address stands for, when it is one of the forms that embed it. */
function embeddedIpv4(ip: ParsedIp): { value: number; form: string } | undefined {
  if (ip.version !== 6) return undefined;
  if (ip.w0 === 0 && ip.w1 === 0 && ip.w2 === 0xffff) return { value: ip.w3, form: 'IPv4-mapped IPv6' };
  if (ip.w0 === 0 && ip.w1 === 0 && ip.w2 === 0 && ip.w3 > 0xffff)
    return { value: ip.w3, form: 'IPv4-compatible IPv6' };
  if (ip.w0 === 0 && ip.w1 === 0 && ip.w2 === 0xffff0000) return { value: ip.w3, form: 'IPv4-translated (SIIT) IPv6' };
  if (ip.w0 === 0x0064ff9b && ip.w1 === 0 && ip.w2 === 0) return { value: ip.w3, form: 'NAT64 (64:ff9b::/96) IPv6' };
  return undefined;
}

/** Reads an IPv6 host (brackets optional, zone id `%eth0` / `%25eth0` dropped). */
export function parseIpv6Notation(text: string): HostAddress | undefined {
  if (text.length > MAX_HOST_TEXT) return undefined;
  let inner = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = inner.indexOf('%');
  if (zone >= 0) inner = inner.slice(0, zone);
  if (!inner.includes(':')) return undefined;
  const ip = parseIp(inner);
  if (!ip) return undefined;
  const embedded = embeddedIpv4(ip);
  const zoned = zone >= 0 ? ' with a zone id' : '';
  if (embedded) {
    return {
      version: 4,
      canonical: ipv4Text(embedded.value),
      notation: `${embedded.form}${zoned}`,
      wrapped: false,
      parts: 0,
    };
  }
  return { version: 6, canonical: formatIp(ip), notation: `IPv6${zoned}`, wrapped: false, parts: 0 };
}

/**
 * Reads a host (no port, no userinfo) as an address in any notation; undefined for names.
 * Input should already be decoded and lower-cased.
 */
export function parseHostAddress(host: string): HostAddress | undefined {
  if (host === '' || host.length > MAX_HOST_TEXT) return undefined;
  if (host.startsWith('[') || host.includes(':')) return parseIpv6Notation(host);
  const c = host.charCodeAt(0);
  if (c < 48 || c > 57) return undefined;
  return parseIpv4Notation(host);
}
