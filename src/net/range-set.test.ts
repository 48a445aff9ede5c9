import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ipFromBigInt, ipToBigInt, parseCidr, parseIp, type IpVersion, type ParsedIp } from './ip.js';
import { RangeSet } from './range-set.js';

const ip = (text: string): ParsedIp => {
  const parsed = parseIp(text);
  assert.ok(parsed, text);
  return parsed;
};

describe('RangeSet boundaries', () => {
  const set = RangeSet.build([
    { cidr: '10.0.0.0/24', payload: 'a' },
    { cidr: '192.0.2.7/32', payload: 'host' },
    { cidr: '2001:db8::/32', payload: 'doc6' },
    { cidr: '2001:db8:ffff::1/128', payload: 'host6' },
  ]);

  it('includes the first and last address and excludes their neighbours', () => {
    assert.deepEqual(set.lookup(ip('10.0.0.0')), ['a']);
    assert.deepEqual(set.lookup(ip('10.0.0.255')), ['a']);
    assert.equal(set.lookup(ip('9.255.255.255')), undefined);
    assert.equal(set.lookup(ip('10.0.1.0')), undefined);
    assert.equal(set.has(ip('10.0.0.128')), true);
    assert.equal(set.has(ip('10.0.1.0')), false);
  });

  it('matches /32 and /128 entries exactly', () => {
    assert.deepEqual(set.lookup(ip('192.0.2.7')), ['host']);
    assert.equal(set.lookup(ip('192.0.2.6')), undefined);
    assert.equal(set.lookup(ip('192.0.2.8')), undefined);
    assert.deepEqual(set.lookup(ip('2001:db8:ffff::1')), ['host6', 'doc6']);
    assert.deepEqual(set.lookup(ip('2001:db8:ffff::')), ['doc6']);
    assert.deepEqual(set.lookup(ip('2001:db8:ffff::2')), ['doc6']);
  });

  it('handles IPv6 block edges', () => {
    assert.deepEqual(set.lookup(ip('2001:db8::')), ['doc6']);
    assert.deepEqual(set.lookup(ip('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff')), ['doc6']);
    assert.equal(set.lookup(ip('2001:db7:ffff:ffff:ffff:ffff:ffff:ffff')), undefined);
    assert.equal(set.lookup(ip('2001:db9::')), undefined);
  });

  it('keeps families apart and looks IPv4-mapped addresses up literally', () => {
    assert.equal(set.lookup(ip('::ffff:10.0.0.1')), undefined);
    assert.equal(set.lookup(ip('::a00:1')), undefined);
    assert.equal(set.size, 4);
  });

  it('covers the whole address space at /0', () => {
    const all = RangeSet.build([
      { cidr: '0.0.0.0/0', payload: 4 },
      { cidr: '::/0', payload: 6 },
    ]);
    assert.deepEqual(all.lookup(ip('0.0.0.0')), [4]);
    assert.deepEqual(all.lookup(ip('255.255.255.255')), [4]);
    assert.deepEqual(all.lookup(ip('::')), [6]);
    assert.deepEqual(all.lookup(ip('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')), [6]);
  });

  it('is empty when built from nothing', () => {
    const empty = RangeSet.build<string>([]);
    assert.equal(empty.size, 0);
    assert.equal(empty.lookup(ip('1.2.3.4')), undefined);
    assert.equal(empty.lookup(ip('::1')), undefined);
  });

  it('throws RangeError naming a bad CIDR', () => {
    assert.throws(() => RangeSet.build([{ cidr: '10.0.0.0/33', payload: 1 }]), {
      name: 'RangeError',
      message: /10\.0\.0\.0\/33/,
    });
  });
});

describe('RangeSet overlaps', () => {
  it('returns every covering payload, most specific first, ties in entry order', () => {
    const set = RangeSet.build([
      { cidr: '10.0.0.0/8', payload: 'A' },
      { cidr: '10.1.0.0/16', payload: 'B' },
      { cidr: '10.1.0.0/16', payload: 'C' },
      { cidr: '10.1.2.0/24', payload: 'D' },
      { cidr: '10.255.255.255/32', payload: 'E' },
    ]);
    assert.deepEqual(set.lookup(ip('10.1.2.3')), ['D', 'B', 'C', 'A']);
    assert.deepEqual(set.lookup(ip('10.1.3.0')), ['B', 'C', 'A']);
    assert.deepEqual(set.lookup(ip('10.1.1.255')), ['B', 'C', 'A']);
    assert.deepEqual(set.lookup(ip('10.2.0.0')), ['A']);
    assert.deepEqual(set.lookup(ip('10.0.255.255')), ['A']);
    assert.deepEqual(set.lookup(ip('10.255.255.255')), ['E', 'A']);
    assert.deepEqual(set.lookup(ip('10.255.255.254')), ['A']);
    assert.equal(set.lookup(ip('11.0.0.0')), undefined);
  });

  it('accepts parsed CIDRs and returns frozen payload lists', () => {
    const set = RangeSet.build([{ cidr: parseCidr('172.16.0.0/12')!, payload: { n: 1 } }]);
    const hit = set.lookup(ip('172.31.255.255'));
    assert.ok(hit);
    assert.ok(Object.isFrozen(hit));
  });

  it('keeps equal payloads from adjacent blocks apart', () => {
    const set = RangeSet.build([
      { cidr: '10.0.0.0/25', payload: 'x' },
      { cidr: '10.0.0.128/25', payload: 'x' },
    ]);
    assert.deepEqual(set.lookup(ip('10.0.0.127')), ['x']);
    assert.deepEqual(set.lookup(ip('10.0.0.128')), ['x']);
    assert.equal(set.lookup(ip('10.0.1.0')), undefined);
  });
});

interface Block {
  version: IpVersion;
  len: number;
  base: bigint;
  payload: number;
}

/** The reference: a linear scan that sorts matches the documented way. */
function naive(blocks: Block[], addr: ParsedIp): number[] | undefined {
  const x = ipToBigInt(addr);
  const bits = addr.version === 4 ? 32 : 128;
  const hits = blocks
    .map((b, order) => ({ b, order }))
    .filter(({ b }) => {
      if (b.version !== addr.version) return false;
      const size = 1n << BigInt(bits - b.len);
      const first = (b.base / size) * size;
      return x >= first && x < first + size;
    })
    .sort((p, q) => q.b.len - p.b.len || p.order - q.order)
    .map(({ b }) => b.payload);
  return hits.length > 0 ? hits : undefined;
}

function blockEdges(b: Block): bigint[] {
  const bits = b.version === 4 ? 32 : 128;
  const size = 1n << BigInt(bits - b.len);
  const first = (b.base / size) * size;
  const max = (1n << BigInt(bits)) - 1n;
  return [first - 1n, first, first + 1n, first + size - 1n, first + size].filter((v) => v >= 0n && v <= max);
}

function blockArb(version: IpVersion): fc.Arbitrary<Block> {
  const bits = version === 4 ? 32 : 128;
  // A few hot regions so that random blocks nest and overlap often.
  const hot =
    version === 4
      ? [0n, 0x0a000000n, 0x0a010000n, 0xfffffff0n]
      : [0n, 0x20010db8n << 96n, (0x20010db8n << 96n) | (1n << 64n), (1n << 128n) - 256n];
  const base = fc.oneof(
    fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }),
    fc.tuple(fc.constantFrom(...hot), fc.bigInt({ min: 0n, max: 1n << 20n })).map(([h, o]) => {
      const v = h + o;
      return v > (1n << BigInt(bits)) - 1n ? h : v;
    }),
  );
  const len = version === 4 ? fc.integer({ min: 0, max: 32 }) : fc.integer({ min: 0, max: 128 });
  const biasedLen = fc.oneof(len, fc.integer({ min: bits - 24, max: bits }));
  return fc.record({ version: fc.constant(version), len: biasedLen, base, payload: fc.nat(5) });
}

function cidrText(b: Block): string {
  return `${formatBig(b.version, b.base)}/${b.len}`;
}

function formatBig(version: IpVersion, n: bigint): string {
  return version === 4
    ? [24, 16, 8, 0].map((s) => Number((n >> BigInt(s)) & 255n)).join('.')
    : [96, 64, 32, 0]
        .flatMap((s) => [(n >> BigInt(s + 16)) & 0xffffn, (n >> BigInt(s)) & 0xffffn])
        .map((g) => g.toString(16))
        .join(':');
}

describe('RangeSet properties', () => {
  for (const version of [4, 6] as const) {
    it(`lookup equals a linear scan (IPv${version}, random blocks, random addresses and every edge)`, () => {
      const bits = version === 4 ? 32 : 128;
      fc.assert(
        fc.property(
          fc.array(blockArb(version), { minLength: 0, maxLength: 25 }),
          fc.array(fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }), { maxLength: 20 }),
          (blocks, randomAddrs) => {
            const set = RangeSet.build(blocks.map((b) => ({ cidr: cidrText(b), payload: b.payload })));
            assert.equal(set.size, blocks.length);
            const probes = [...randomAddrs, ...blocks.flatMap(blockEdges)];
            for (const n of probes) {
              const addr = ipFromBigInt(version, n);
              assert.deepEqual(set.lookup(addr), naive(blocks, addr), `${formatBig(version, n)}`);
              assert.equal(set.has(addr), naive(blocks, addr) !== undefined);
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});
