import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCidr, parseIp } from './ip.js';
import { classifySpecial, SPECIAL_RANGES, type SpecialKind } from './special-ranges.js';

function check(address: string): { kind: SpecialKind; name: string; cidr: string } | undefined {
  const ip = parseIp(address);
  assert.ok(ip, address);
  const r = classifySpecial(ip);
  return r && { kind: r.kind, name: r.name, cidr: r.cidr };
}

describe('classifySpecial — private', () => {
  const cases: [string, string, string][] = [
    ['10.0.0.0', 'RFC 1918 private', '10.0.0.0/8'],
    ['10.255.255.255', 'RFC 1918 private', '10.0.0.0/8'],
    ['172.16.0.0', 'RFC 1918 private', '172.16.0.0/12'],
    ['172.31.255.255', 'RFC 1918 private', '172.16.0.0/12'],
    ['192.168.1.1', 'RFC 1918 private', '192.168.0.0/16'],
    ['100.64.0.0', 'shared address space (CGNAT)', '100.64.0.0/10'],
    ['100.127.255.255', 'shared address space (CGNAT)', '100.64.0.0/10'],
    ['169.254.169.254', 'link-local', '169.254.0.0/16'],
    ['fe80::1', 'link-local', 'fe80::/10'],
    ['febf:ffff::1', 'link-local', 'fe80::/10'],
    ['fd12:3456::1', 'unique local (ULA)', 'fc00::/7'],
    ['fc00::', 'unique local (ULA)', 'fc00::/7'],
  ];
  for (const [address, name, cidr] of cases) {
    it(`${address} → ${name}`, () => assert.deepEqual(check(address), { kind: 'private', name, cidr }));
  }
});

describe('classifySpecial — special', () => {
  const cases: [string, string][] = [
    ['0.0.0.0', 'this host on this network'],
    ['0.1.2.3', 'this network'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.255', 'loopback'],
    ['::1', 'loopback'],
    ['::', 'unspecified address'],
    ['192.0.0.1', 'IPv4 service continuity prefix (DS-Lite)'],
    ['192.0.0.9', 'IETF protocol assignments'],
    ['192.0.0.170', 'NAT64/DNS64 discovery'],
    ['192.0.2.1', 'documentation (TEST-NET-1)'],
    ['198.51.100.7', 'documentation (TEST-NET-2)'],
    ['203.0.113.255', 'documentation (TEST-NET-3)'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['192.88.99.1', 'deprecated 6to4 relay anycast'],
    ['198.18.0.0', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['2001:2::1', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['ff02::1', 'multicast'],
    ['240.0.0.1', 'reserved for future use'],
    ['255.255.255.254', 'reserved for future use'],
    ['255.255.255.255', 'limited broadcast'],
    ['64:ff9b::1.2.3.4', 'NAT64 well-known prefix (IPv4-IPv6 translation)'],
    ['64:ff9b:1::1', 'NAT64 local-use prefix (IPv4-IPv6 translation)'],
    ['100::1', 'discard-only'],
    ['100:0:0:1::1', 'dummy IPv6 prefix'],
    ['2001::1', 'Teredo'],
    ['2001:10::1', 'deprecated ORCHID'],
    ['2001:20::1', 'ORCHIDv2'],
    ['2001:1ff::1', 'IETF protocol assignments'],
    ['2002:c000:0201::1', '6to4'],
    ['fec0::1', 'deprecated site-local'],
    ['1::', 'reserved by IETF (outside global unicast 2000::/3)'],
    ['::1.2.3.4', 'reserved by IETF (outside global unicast 2000::/3)'],
    ['4000::1', 'reserved by IETF (outside global unicast 2000::/3)'],
    ['e000::1', 'reserved by IETF (outside global unicast 2000::/3)'],
  ];
  for (const [address, name] of cases) {
    it(`${address} → ${name}`, () => {
      const got = check(address);
      assert.equal(got?.name, name);
      assert.equal(got?.kind, 'special');
    });
  }
});

describe('classifySpecial — ordinary public space', () => {
  for (const address of [
    '8.8.8.8',
    '1.1.1.1',
    '3.5.140.1',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2600:1f18::1',
    '2001:200::1',
    '2001:4860:4860::8888',
    '2003::1',
    '3ffe::1',
    '::ffff:8.8.8.8',
  ]) {
    it(`${address} is not special`, () => assert.equal(check(address), undefined));
  }
});

describe('classifySpecial — IPv4-mapped IPv6 is judged as its IPv4', () => {
  it('maps ::ffff:10.0.0.1 to RFC 1918 and ::ffff:127.0.0.1 to loopback', () => {
    assert.equal(check('::ffff:10.0.0.1')?.name, 'RFC 1918 private');
    assert.equal(check('::ffff:127.0.0.1')?.name, 'loopback');
    assert.equal(check('::ffff:169.254.169.254')?.kind, 'private');
  });
});

describe('SPECIAL_RANGES table', () => {
  it('holds canonical CIDRs with names and references', () => {
    for (const r of SPECIAL_RANGES) {
      assert.equal(parseCidr(r.cidr)?.cidr, r.cidr, `${r.cidr} is canonical`);
      assert.ok(r.name.length > 0);
      assert.match(r.rfc, /^RFC \d+$/);
    }
  });

  it('has no duplicate blocks', () => {
    const cidrs = SPECIAL_RANGES.map((r) => r.cidr);
    assert.equal(new Set(cidrs).size, cidrs.length);
  });

  it('marks only host-bearing network space as private', () => {
    const priv = SPECIAL_RANGES.filter((r) => r.kind === 'private').map((r) => r.cidr);
    assert.deepEqual(priv.sort(), [
      '10.0.0.0/8',
      '100.64.0.0/10',
      '169.254.0.0/16',
      '172.16.0.0/12',
      '192.168.0.0/16',
      'fc00::/7',
      'fe80::/10',
    ]);
  });
});
