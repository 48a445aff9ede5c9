import { ipFromBigInt, ipToBigInt, parseCidr, type IpVersion, type ParsedCidr, type ParsedIp } from './ip.js';

/** One CIDR and the value a lookup returns for addresses inside it. */
export interface RangeSetEntry<P> {
  readonly cidr: string | ParsedCidr;
  readonly payload: P;
}

interface Prepared<P> {
  readonly first: bigint;
  readonly end: bigint; // exclusive: last + 1 (may be 2^32 or 2^128)
  readonly prefixLength: number;
  readonly order: number;
  readonly payload: P;
}

interface FamilyTable {
  /** Interval starts: one word per interval for IPv4, four for IPv6. */
  readonly starts: Uint32Array;
  /** Inclusive interval ends, same layout as starts. */
  readonly ends: Uint32Array;
  /** Index into the interned payload lists. */
  readonly list: Uint32Array;
  readonly count: number;
}

const EMPTY_TABLE: FamilyTable = {
  starts: new Uint32Array(0),
  ends: new Uint32Array(0),
  list: new Uint32Array(0),
  count: 0,
};

/**
 * An immutable set of CIDR blocks (IPv4 and IPv6 may be mixed), each carrying a
 * payload. Overlapping blocks are split into disjoint intervals; each interval
 * keeps every payload whose block covers it. Lookups are a binary search over
 * typed arrays and allocate nothing.
 *
 * Lookups are literal: an IPv4-mapped IPv6 address is looked up as IPv6. Unwrap
 * it with `unmapIpv4` first when it should match IPv4 blocks.
 */
export class RangeSet<P> {
  /** Number of entries (CIDR blocks) the set was built from. */
  readonly size: number;
  private readonly v4: FamilyTable;
  private readonly v6: FamilyTable;
  private readonly lists: readonly (readonly P[])[];

  private constructor(size: number, v4: FamilyTable, v6: FamilyTable, lists: readonly (readonly P[])[]) {
    this.size = size;
    this.v4 = v4;
    this.v6 = v6;
    this.lists = lists;
  }

  /**
   * Builds the set. Throws `RangeError` naming the entry when a CIDR string does
   * not parse (callers turn that into their own error class after validating).
   * Payload lists are ordered most specific block first (longest prefix), ties in
   * entry order.
   */
  static build<P>(entries: Iterable<RangeSetEntry<P>>): RangeSet<P> {
    const fam4: Prepared<P>[] = [];
    const fam6: Prepared<P>[] = [];
    let order = 0;
    for (const entry of entries) {
      const parsed = typeof entry.cidr === 'string' ? parseCidr(entry.cidr) : entry.cidr;
      if (parsed === undefined) throw new RangeError(`invalid CIDR ${JSON.stringify(entry.cidr)}`);
      const prepared: Prepared<P> = {
        first: ipToBigInt(parsed.first),
        end: ipToBigInt(parsed.last) + 1n,
        prefixLength: parsed.prefixLength,
        order: order++,
        payload: entry.payload,
      };
      (parsed.version === 4 ? fam4 : fam6).push(prepared);
    }
    const lists: (readonly P[])[] = [];
    const interned = new Map<string, number>();
    const v4 = buildFamily(4, fam4, lists, interned);
    const v6 = buildFamily(6, fam6, lists, interned);
    return new RangeSet(order, v4, v6, lists);
  }

  /** Every payload whose block contains `ip`, most specific first; undefined when none. */
  lookup(ip: ParsedIp): readonly P[] | undefined {
    const i = ip.version === 4 ? this.find4(ip.value) : this.find6(ip.w0, ip.w1, ip.w2, ip.w3);
    return i < 0 ? undefined : this.lists[i];
  }

  /** True when some block contains `ip`. */
  has(ip: ParsedIp): boolean {
    return (ip.version === 4 ? this.find4(ip.value) : this.find6(ip.w0, ip.w1, ip.w2, ip.w3)) >= 0;
  }

  /** Number of disjoint intervals after splitting overlaps (diagnostics). */
  get intervalCount(): number {
    return this.v4.count + this.v6.count;
  }

  private find4(x: number): number {
    const { starts, ends, list, count } = this.v4;
    let lo = 0;
    let hi = count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= x) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0 || ends[found]! < x) return -1;
    return list[found]!;
  }

  private find6(x0: number, x1: number, x2: number, x3: number): number {
    const { starts, ends, list, count } = this.v6;
    let lo = 0;
    let hi = count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp6(starts, mid * 4, x0, x1, x2, x3) <= 0) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0 || cmp6(ends, found * 4, x0, x1, x2, x3) < 0) return -1;
    return list[found]!;
  }
}

/** Compares the 4-word value stored at words[o..o+3] with x. */
function cmp6(words: Uint32Array, o: number, x0: number, x1: number, x2: number, x3: number): number {
  let a = words[o]!;
  if (a !== x0) return a < x0 ? -1 : 1;
  a = words[o + 1]!;
  if (a !== x1) return a < x1 ? -1 : 1;
  a = words[o + 2]!;
  if (a !== x2) return a < x2 ? -1 : 1;
  a = words[o + 3]!;
  return a === x3 ? 0 : a < x3 ? -1 : 1;
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function buildFamily<P>(
  version: IpVersion,
  entries: Prepared<P>[],
  lists: (readonly P[])[],
  interned: Map<string, number>,
): FamilyTable {
  if (entries.length === 0) return EMPTY_TABLE;
  const byStart = [...entries].sort((a, b) => cmpBig(a.first, b.first));
  const byEnd = [...entries].sort((a, b) => cmpBig(a.end, b.end));
  // Sort-and-dedupe rather than Set<bigint>: V8 hashes BigInts by their low bits,
  // so a Set of /32-aligned IPv6 values degrades to a linear list.
  const sorted = entries.flatMap((e) => [e.first, e.end]).sort(cmpBig);
  const boundaries = sorted.filter((b, i) => i === 0 || b !== sorted[i - 1]);
  const specificity = (a: Prepared<P>, b: Prepared<P>): number => b.prefixLength - a.prefixLength || a.order - b.order;

  const active = new Set<Prepared<P>>();
  const outStart: bigint[] = [];
  const outEnd: bigint[] = [];
  const outList: number[] = [];
  let si = 0;
  let ei = 0;
  for (let k = 0; k < boundaries.length - 1; k++) {
    const b = boundaries[k]!;
    while (ei < byEnd.length && byEnd[ei]!.end === b) active.delete(byEnd[ei++]!);
    while (si < byStart.length && byStart[si]!.first === b) active.add(byStart[si++]!);
    if (active.size === 0) continue;
    const covering = [...active].sort(specificity);
    const key = covering.map((e) => e.order).join(',');
    let idx = interned.get(key);
    if (idx === undefined) {
      idx = lists.length;
      lists.push(Object.freeze(covering.map((e) => e.payload)));
      interned.set(key, idx);
    }
    outStart.push(b);
    outEnd.push(boundaries[k + 1]! - 1n);
    outList.push(idx);
  }

  const width = version === 4 ? 1 : 4;
  const count = outStart.length;
  const starts = new Uint32Array(count * width);
  const ends = new Uint32Array(count * width);
  for (let i = 0; i < count; i++) {
    writeWords(starts, i * width, version, outStart[i]!);
    writeWords(ends, i * width, version, outEnd[i]!);
  }
  return { starts, ends, list: Uint32Array.from(outList), count };
}

function writeWords(target: Uint32Array, offset: number, version: IpVersion, n: bigint): void {
  const ip = ipFromBigInt(version, n);
  if (ip.version === 4) {
    target[offset] = ip.value;
  } else {
    target[offset] = ip.w0;
    target[offset + 1] = ip.w1;
    target[offset + 2] = ip.w2;
    target[offset + 3] = ip.w3;
  }
}
