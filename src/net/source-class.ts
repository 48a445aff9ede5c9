/**
 * Classifies the sourceIPAddress of a CloudTrail event.
 */
import type { SourceClass } from '../detect/finding.js';
import { ConfigError } from '../errors.js';
import type { AwsMatch, AwsRanges } from './aws-ranges.js';
import { formatIp, isIpv4Mapped, parseCidr, parseIp, unmapIpv4, type ParsedCidr } from './ip.js';
import { RangeSet } from './range-set.js';
import { classifySpecial, type SpecialRange } from './special-ranges.js';

export interface SourceInfo {
  class: SourceClass;
  /** Canonical address text (IPv4-mapped IPv6 becomes its IPv4), or the raw, untrusted value when not an address. */
  ip: string;
  /** For 'aws', and for 'allowed' addresses in AWS space (e.g. ['AMAZON','EC2']); otherwise empty. */
  awsServices: readonly string[];
  /** '' when not in AWS space. */
  awsRegion: string;
  /** Most specific AWS CIDR, '' when not in AWS space. */
  awsCidr: string;
  /** 'RFC 1918 private', 'documentation (TEST-NET-1)', the allowed CIDR, 'AWS EC2', the service name … */
  rangeName: string;
  /** One human-readable line; control characters from the raw value are escaped. */
  reason: string;
}

export interface SourceClassifier {
  /**
   * Classifies one sourceIPAddress value. Results are memoised and shared
   * between calls: they are frozen, copy before changing.
   */
  classify(sourceIp: string): SourceInfo;
  /** syncToken of the AWS ip-ranges snapshot in use. */
  readonly syncToken: string;
}

const NONE = Object.freeze({ awsServices: Object.freeze([]) as readonly string[], awsRegion: '', awsCidr: '' });
const CACHE_LIMIT = 50_000;
// Values longer than this are never an address or a service name worth caching.
const MAX_CACHED = 256;
const MAX_HOSTNAME = 253;

const AWS_SERVICE_SUFFIXES = ['.amazonaws.com', '.amazonaws.com.cn', '.api.aws'] as const;
const HOSTNAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;

/**
 * True for the values CloudTrail writes when an AWS service made the call:
 * `AWS Internal` or a service hostname under amazonaws.com, amazonaws.com.cn or
 * api.aws (case-insensitive, surrounding whitespace ignored).
 */
export function isAwsServiceSource(value: string): boolean {
  if (value.length > MAX_HOSTNAME + 8) return false;
  const v = value.trim().toLowerCase();
  if (v === 'aws internal') return true;
  if (v.length > MAX_HOSTNAME || !HOSTNAME.test(v)) return false;
  return AWS_SERVICE_SUFFIXES.some((sfx) => v.length > sfx.length && v.endsWith(sfx));
}

function quoteRaw(raw: string): string {
  const cut = raw.length > 64 ? `${raw.slice(0, 64)}…` : raw;
  // JSON escaping turns ESC, CR, LF and other controls into visible \uXXXX / \n.
  return JSON.stringify(cut).replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function awsLabel(match: AwsMatch): string {
  const specific = match.services.filter((s) => s !== 'AMAZON');
  return specific.length > 0 ? specific.join('/') : 'AMAZON';
}

function awsText(match: AwsMatch, syncToken: string): string {
  const where =
    match.networkBorderGroup !== match.region
      ? `${match.region}, border group ${match.networkBorderGroup}`
      : match.region;
  return `AWS ${awsLabel(match)} range ${match.cidr} (${where}), ip-ranges syncToken ${syncToken}`;
}

function specialText(range: SpecialRange): string {
  return `${range.kind === 'private' ? 'private' : 'special-purpose'} range ${range.name} ${range.cidr} (${range.rfc})`;
}

/** An allowedSourceCidrs entry as the classifier reads it (bare addresses, IPv4-mapped blocks unwrapped). */
export function toAllowedCidr(text: string): ParsedCidr | undefined {
  const parsed = parseCidr(text.trim());
  if (parsed === undefined) return undefined;
  // Addresses are judged with IPv4-mapped IPv6 unwrapped, so a mapped block must be too.
  const first = parsed.first;
  if (first.version === 6 && parsed.prefixLength >= 96 && isIpv4Mapped(first)) {
    return parseCidr(`${formatIp({ version: 4, value: first.w3 })}/${parsed.prefixLength - 96}`);
  }
  return parsed;
}

/**
 * Builds the per-event classifier. Order: AWS service name → not an address
 * (`invalid`) → inside an allowed CIDR (`allowed`) → private or special-purpose
 * → AWS ranges (`aws`) → `public`. Throws `ConfigError` naming the first
 * allowed CIDR that does not parse.
 */
export function buildSourceClassifier(opts: {
  awsRanges: AwsRanges;
  allowedCidrs?: readonly string[];
}): SourceClassifier {
  const { awsRanges } = opts;
  const syncToken = awsRanges.syncToken;
  const allowed = RangeSet.build(
    (opts.allowedCidrs ?? []).map((text) => {
      const parsed = toAllowedCidr(text);
      if (parsed === undefined) {
        throw new ConfigError(
          `invalid CIDR ${quoteRaw(text)} in allowed source CIDRs`,
          'write each entry as ADDRESS/PREFIX, e.g. 198.51.100.0/24 or 2001:db8::/32',
        );
      }
      return { cidr: parsed, payload: parsed.cidr };
    }),
  );

  const cache = new Map<string, SourceInfo>();

  const make = (info: SourceInfo): SourceInfo => Object.freeze(info);

  const compute = (raw: string): SourceInfo => {
    const none = NONE;
    if (isAwsServiceSource(raw)) {
      const internal = raw.trim().toLowerCase() === 'aws internal';
      return make({
        class: 'aws-service',
        ip: raw,
        ...none,
        rangeName: internal ? 'AWS Internal' : raw.trim().toLowerCase(),
        reason: internal
          ? 'call made from inside AWS ("AWS Internal")'
          : `call made by the AWS service ${raw.trim().toLowerCase()} on the principal's behalf`,
      });
    }
    const parsed = parseIp(raw);
    if (parsed === undefined) {
      return make({
        class: 'invalid',
        ip: raw,
        ...none,
        rangeName: '',
        reason: `source ${quoteRaw(raw)} is neither an IP address nor an AWS service name`,
      });
    }
    const addr = unmapIpv4(parsed);
    const ip = formatIp(addr);
    const mapped = addr !== parsed ? ' (given as IPv4-mapped IPv6)' : '';
    const aws = awsRanges.lookup(addr);
    const awsFields = aws ? { awsServices: aws.services, awsRegion: aws.region, awsCidr: aws.cidr } : none;
    const special = classifySpecial(addr);

    const allowedCidr = allowed.lookup(addr)?.[0];
    if (allowedCidr !== undefined) {
      const also = [aws ? `in ${awsText(aws, syncToken)}` : '', special ? `in ${specialText(special)}` : '']
        .filter(Boolean)
        .join('; ');
      return make({
        class: 'allowed',
        ip,
        ...awsFields,
        rangeName: allowedCidr,
        reason: `in allowed source CIDR ${allowedCidr}${mapped}${also ? `; also ${also}` : ''}`,
      });
    }
    if (special !== undefined) {
      return make({
        class: special.kind,
        ip,
        ...awsFields,
        rangeName: special.name,
        reason: `in ${specialText(special)}${mapped}`,
      });
    }
    if (aws !== undefined) {
      return make({
        class: 'aws',
        ip,
        ...awsFields,
        rangeName: `AWS ${awsLabel(aws)}`,
        reason: `in ${awsText(aws, syncToken)}${mapped}`,
      });
    }
    return make({
      class: 'public',
      ip,
      ...none,
      rangeName: '',
      reason: `public address outside AWS ranges (ip-ranges syncToken ${syncToken}) and special-purpose ranges${mapped}`,
    });
  };

  return {
    syncToken,
    classify(sourceIp: string): SourceInfo {
      const hit = cache.get(sourceIp);
      if (hit !== undefined) return hit;
      const info = compute(sourceIp);
      if (sourceIp.length <= MAX_CACHED) {
        // Clear-on-full: the working set of a trail is a few thousand addresses.
        if (cache.size >= CACHE_LIMIT) cache.clear();
        cache.set(sourceIp, info);
      }
      return info;
    },
  };
}
