/**
 * AWS's published address ranges (ip-ranges.json) as lookup tables.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors.js';
import { parseCidr, unmapIpv4, type ParsedCidr, type ParsedIp } from './ip.js';
import { RangeSet } from './range-set.js';

/** One line of ip-ranges.json. */
export interface AwsPrefixInfo {
  readonly service: string;
  readonly region: string;
  readonly networkBorderGroup: string;
  /** Canonical CIDR text. */
  readonly cidr: string;
  readonly prefixLength: number;
}

/** What an address in AWS space belongs to. */
export interface AwsMatch {
  /** Every service whose ranges contain the address, deduplicated; 'AMAZON' first, the rest sorted. */
  readonly services: readonly string[];
  /** Region of the most specific matching CIDR (e.g. 'us-east-1', 'GLOBAL'). */
  readonly region: string;
  readonly networkBorderGroup: string;
  /** The most specific matching CIDR. */
  readonly cidr: string;
  /** All matching prefix lines, most specific first. */
  readonly prefixes: readonly AwsPrefixInfo[];
}

export interface AwsRanges {
  readonly syncToken: string;
  readonly createDate: string;
  /** Where the data came from (a path, or whatever the caller passed to parseAwsRanges). */
  readonly origin: string;
  readonly v4: RangeSet<AwsPrefixInfo>;
  readonly v6: RangeSet<AwsPrefixInfo>;
  /** The AWS ranges containing `ip` (IPv4-mapped IPv6 is looked up as IPv4), or undefined. */
  lookup(ip: ParsedIp): AwsMatch | undefined;
}

/** The snapshot shipped in the package (`data/ip-ranges.json`). */
export const DEFAULT_IP_RANGES_FILE: string = fileURLToPath(new URL('../../data/ip-ranges.json', import.meta.url));

const HINT = 'download a fresh copy with `offbox ranges update` or pass --ip-ranges FILE';

/**
 * Reads and validates an ip-ranges.json file (default: the vendored snapshot).
 * Throws `InputError` when the file cannot be read, is not JSON or has the wrong shape.
 */
export function loadAwsRanges(file: string = DEFAULT_IP_RANGES_FILE): AwsRanges {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new InputError(`cannot read AWS ip-ranges file ${file} (${reason})`, HINT, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`AWS ip-ranges file ${file} is not valid JSON: ${(err as Error).message}`, HINT, {
      cause: err,
    });
  }
  return parseAwsRanges(json, file);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Validates the parsed JSON of an ip-ranges.json document and builds the lookup
 * tables. Throws `InputError` naming `origin` and the first bad field.
 * `network_border_group` may be absent (older snapshots); it then equals the region.
 * `ipv6_prefixes` may be absent (snapshots before 2016).
 */
export function parseAwsRanges(json: unknown, origin: string): AwsRanges {
  const fail = (what: string): never => {
    throw new InputError(`${origin} is not an AWS ip-ranges.json document: ${what}`, HINT);
  };
  if (!isRecord(json)) return fail(`expected a JSON object, got ${describe(json)}`);
  const syncToken =
    typeof json.syncToken === 'number' && Number.isFinite(json.syncToken) ? String(json.syncToken) : json.syncToken;
  if (typeof syncToken !== 'string' || syncToken === '') return fail(`syncToken is ${describe(json.syncToken)}`);
  const createDate = json.createDate;
  if (typeof createDate !== 'string') return fail(`createDate is ${describe(createDate)}`);
  if (!Array.isArray(json.prefixes)) return fail(`prefixes is ${describe(json.prefixes)}, expected an array`);
  if (json.prefixes.length === 0) return fail('prefixes is empty');
  const v6List = json.ipv6_prefixes ?? [];
  if (!Array.isArray(v6List)) return fail(`ipv6_prefixes is ${describe(json.ipv6_prefixes)}, expected an array`);

  const collect = (list: unknown[], listName: string, key: string, version: 4 | 6) => {
    const entries: { cidr: ParsedCidr; payload: AwsPrefixInfo }[] = [];
    // Interned so that 10k lines share a few dozen region/service strings.
    const strings = new Map<string, string>();
    const intern = (v: string): string => {
      const known = strings.get(v);
      if (known !== undefined) return known;
      strings.set(v, v);
      return v;
    };
    list.forEach((item, i) => {
      const at = `${listName}[${i}]`;
      if (!isRecord(item)) return fail(`${at} is ${describe(item)}, expected an object`);
      const raw = item[key];
      const parsed = typeof raw === 'string' && raw.includes('/') ? parseCidr(raw) : undefined;
      if (parsed === undefined || parsed.version !== version) {
        return fail(`${at}.${key} is ${describe(raw)}, expected an IPv${version} CIDR`);
      }
      const str = (field: string, fallback?: string): string => {
        const v = item[field] ?? fallback;
        if (typeof v !== 'string' || v === '') return fail(`${at}.${field} is ${describe(item[field])}`);
        return intern(v);
      };
      const region = str('region');
      const payload: AwsPrefixInfo = Object.freeze({
        service: str('service'),
        region,
        networkBorderGroup: str('network_border_group', region),
        cidr: parsed.cidr,
        prefixLength: parsed.prefixLength,
      });
      entries.push({ cidr: parsed, payload });
    });
    return RangeSet.build(entries);
  };

  const v4 = collect(json.prefixes, 'prefixes', 'ip_prefix', 4);
  const v6 = collect(v6List, 'ipv6_prefixes', 'ipv6_prefix', 6);
  const matches = new WeakMap<readonly AwsPrefixInfo[], AwsMatch>();

  return Object.freeze({
    syncToken,
    createDate,
    origin,
    v4,
    v6,
    lookup(ip: ParsedIp): AwsMatch | undefined {
      const addr = unmapIpv4(ip);
      const list = addr.version === 4 ? v4.lookup(addr) : v6.lookup(addr);
      if (list === undefined) return undefined;
      let match = matches.get(list);
      if (match === undefined) {
        match = toMatch(list);
        matches.set(list, match);
      }
      return match;
    },
  });
}

function toMatch(list: readonly AwsPrefixInfo[]): AwsMatch {
  const best = list[0]!;
  const services = [...new Set(list.map((x) => x.service))].sort((a, b) =>
    a === 'AMAZON' ? -1 : b === 'AMAZON' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  return Object.freeze({
    services: Object.freeze(services),
    region: best.region,
    networkBorderGroup: best.networkBorderGroup,
    cidr: best.cidr,
    prefixes: list,
  });
}
