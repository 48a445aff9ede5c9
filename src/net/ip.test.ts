import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  cidrContains,
  compareIp,
  formatIp,
  ipFromBigInt,
  ipToBigInt,
  isIpv4Mapped,
  parseCidr,
  parseIp,
  parseIpv4,
  unmapIpv4,
  type ParsedIp,
} from './ip.js';

const v4 = (value: number): ParsedIp => ({ version: 4, value });
const v6 = (w0: number, w1: number, w2: number, w3: number): ParsedIp => ({ version: 6, w0, w1, w2, w3 });

describe('parseIp — IPv4', () => {
  it('parses the extremes and ordinary addresses', () => {
    assert.deepEqual(parseIp('0.0.0.0'), v4(0));
    assert.deepEqual(parseIp('255.255.255.255'), v4(0xffffffff));
    assert.deepEqual(parseIp('1.2.3.4'), v4(0x01020304));
    assert.deepEqual(parseIp('192.168.100.10'), v4(0xc0a8640a));
    assert.equal(parseIpv4('10.0.0.1'), 0x0a000001);
    assert.equal(parseIpv4('nope'), -1);
  });

  it('rejects anything that is not four canonical decimal octets', () => {
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1.2.3.256',
      '1.2.3.1000',
      '01.2.3.4', // inet_aton would read octal
      '1.2.3.04',
      '00.1.1.1',
      '0x1.2.3.4',
      '1..2.3',
      '.1.2.3',
      '1.2.3.',
      '+1.2.3.4',
      '1.2.3.-4',
      ' 1.2.3.4',
      '1.2.3.4 ',
      '1.2.3.4\n',
      '1.2.3.4/32',
      '1.2.3.4:443',
      '１.2.3.4', // full-width digit
      '16909060', // inet_aton's single-number form
      '1.2.3.4%eth0',
    ]) {
      assert.equal(parseIp(bad), undefined, JSON.stringify(bad));
    }
  });

  it('accepts a plain 0 octet', () => {
    assert.deepEqual(parseIp('10.0.0.0'), v4(0x0a000000));
  });
});

describe('parseIp — IPv6', () => {
  it('parses compressed and full forms', () => {
    assert.deepEqual(parseIp('::'), v6(0, 0, 0, 0));
    assert.deepEqual(parseIp('::1'), v6(0, 0, 0, 1));
    assert.deepEqual(parseIp('1::'), v6(0x00010000, 0, 0, 0));
    assert.deepEqual(parseIp('2001:db8::1'), v6(0x20010db8, 0, 0, 1));
    assert.deepEqual(parseIp('2001:0db8:0000:0000:0000:0000:0000:0001'), parseIp('2001:db8::1'));
    assert.deepEqual(parseIp('1:2:3:4:5:6:7:8'), v6(0x00010002, 0x00030004, 0x00050006, 0x00070008));
    assert.deepEqual(parseIp('1:2:3:4:5:6:7::'), v6(0x00010002, 0x00030004, 0x00050006, 0x00070000));
    assert.deepEqual(parseIp('::2:3:4:5:6:7:8'), v6(0x00000002, 0x00030004, 0x00050006, 0x00070008));
    assert.deepEqual(
      parseIp('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'),
      v6(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff),
    );
  });

  it('is case-insensitive', () => {
    assert.deepEqual(parseIp('FE80::ABCD'), parseIp('fe80::abcd'));
    assert.deepEqual(parseIp('2001:DB8::Ff'), v6(0x20010db8, 0, 0, 0xff));
  });

  it('strips zone ids and tolerates brackets', () => {
    assert.deepEqual(parseIp('fe80::1%eth0'), parseIp('fe80::1'));
    assert.deepEqual(parseIp('fe80::1%1'), parseIp('fe80::1'));
    assert.deepEqual(parseIp('[::1]'), v6(0, 0, 0, 1));
    assert.deepEqual(parseIp('[fe80::1%en0]'), parseIp('fe80::1'));
  });

  it('parses an embedded IPv4 tail', () => {
    assert.deepEqual(parseIp('::ffff:1.2.3.4'), v6(0, 0, 0xffff, 0x01020304));
    assert.deepEqual(parseIp('::FFFF:1.2.3.4'), v6(0, 0, 0xffff, 0x01020304));
    assert.deepEqual(parseIp('1:2:3:4:5:6:1.2.3.4'), v6(0x00010002, 0x00030004, 0x00050006, 0x01020304));
    assert.deepEqual(parseIp('64:ff9b::192.0.2.33'), v6(0x0064ff9b, 0, 0, 0xc0000221));
    assert.deepEqual(parseIp('::1.2.3.4'), v6(0, 0, 0, 0x01020304));
  });

  it('rejects malformed IPv6', () => {
    for (const bad of [
      ':',
      ':::',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8::',
      '::1:2:3:4:5:6:7:8',
      '1::2::3',
      '12345::',
      'g::',
      ':1::',
      '1:',
      ':1',
      '1::2:',
      '::ffff:1.2.3',
      '::ffff:256.1.1.1',
      '::ffff:01.2.3.4',
      '1:2:3:4:5:6:7:1.2.3.4',
      '::1.2.3.4:5',
      '[::1',
      '::1]',
      '[::1]:443',
      '[1.2.3.4]',
      'fe80::1%',
      'fe80::1%eth 0',
      'fe80::1%eth0%1',
      '::1 ',
      ' ::1',
      '::-1',
      '0x1::',
    ]) {
      assert.equal(parseIp(bad), undefined, JSON.stringify(bad));
    }
  });

  it('rejects hostile strings and huge inputs', () => {
    for (const bad of [
      '\u001b[31m1.2.3.4',
      '1.2.3.4\u001b[0m',
      '\u001b]0;pwned\u0007',
      '::1%\u001b[2J',
      '1.2.3.4\u0000',
      '1.2.3.4\u202e',
      '<script>alert(1)</script>',
      '1.2.3.4'.repeat(100_000),
      ':'.repeat(1000),
    ]) {
      assert.equal(parseIp(bad), undefined, JSON.stringify(bad.slice(0, 40)));
    }
  });
});

describe('IPv4-mapped IPv6', () => {
  it('is recognised and unwrapped', () => {
    const mapped = parseIp('::ffff:1.2.3.4')!;
    assert.equal(isIpv4Mapped(mapped), true);
    assert.deepEqual(unmapIpv4(mapped), v4(0x01020304));
    assert.deepEqual(unmapIpv4(parseIp('::ffff:0102:0304')!), v4(0x01020304));
    const plain = parseIp('::1.2.3.4')!;
    assert.equal(isIpv4Mapped(plain), false);
    assert.equal(unmapIpv4(plain), plain);
    assert.equal(isIpv4Mapped(parseIp('1.2.3.4')!), false);
  });
});

describe('formatIp', () => {
  it('writes RFC 5952 canonical IPv6', () => {
    const cases: [string, string][] = [
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['2001:0db8::0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['2001:DB8::AB', '2001:db8::ab'],
      ['fe80::1%eth0', 'fe80::1'],
      ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
      ['::ffff:102:304', '::ffff:1.2.3.4'],
      ['::1.2.3.4', '::102:304'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['1:0:0:0:0:0:0:0', '1::'],
      ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ];
    for (const [input, expected] of cases) assert.equal(formatIp(parseIp(input)!), expected, input);
  });

  it('writes dotted-quad IPv4', () => {
    assert.equal(formatIp(v4(0)), '0.0.0.0');
    assert.equal(formatIp(v4(0xffffffff)), '255.255.255.255');
    assert.equal(formatIp(v4(0x0a000001)), '10.0.0.1');
  });
});

describe('parseCidr', () => {
  it('parses and masks host bits', () => {
    const c = parseCidr('10.1.2.3/8')!;
    assert.equal(c.cidr, '10.0.0.0/8');
    assert.equal(c.version, 4);
    assert.equal(c.prefixLength, 8);
    assert.deepEqual(c.first, v4(0x0a000000));
    assert.deepEqual(c.last, v4(0x0affffff));
    assert.equal(parseCidr('2001:db8::1/32')!.cidr, '2001:db8::/32');
    assert.deepEqual(parseCidr('2001:db8::/32')!.last, v6(0x20010db8, 0xffffffff, 0xffffffff, 0xffffffff));
    assert.deepEqual(parseCidr('2001:db8::/33')!.last, v6(0x20010db8, 0x7fffffff, 0xffffffff, 0xffffffff));
  });

  it('handles /0, full-length and bare addresses', () => {
    assert.deepEqual(parseCidr('1.2.3.4/0')!.first, v4(0));
    assert.deepEqual(parseCidr('1.2.3.4/0')!.last, v4(0xffffffff));
    assert.deepEqual(parseCidr('::/0')!.last, v6(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff));
    assert.equal(parseCidr('1.2.3.4/32')!.cidr, '1.2.3.4/32');
    assert.equal(parseCidr('1.2.3.4')!.cidr, '1.2.3.4/32');
    assert.equal(parseCidr('::1')!.cidr, '::1/128');
    assert.equal(parseCidr('2001:db8::1/128')!.cidr, '2001:db8::1/128');
  });

  it('rejects bad prefixes and decorations', () => {
    for (const bad of [
      '',
      '1.2.3.4/',
      '1.2.3.4/33',
      '1.2.3.4/-1',
      '1.2.3.4/08',
      '1.2.3.4/ 8',
      '1.2.3.4/8/8',
      '::/129',
      '[::1]/128',
      'fe80::%eth0/64',
      '01.2.3.4/8',
      'example.com/24',
      '/24',
    ]) {
      assert.equal(parseCidr(bad), undefined, JSON.stringify(bad));
    }
  });

  it('contains its first and last address only', () => {
    const c = parseCidr('192.0.2.0/24')!;
    assert.equal(cidrContains(c, parseIp('192.0.2.0')!), true);
    assert.equal(cidrContains(c, parseIp('192.0.2.255')!), true);
    assert.equal(cidrContains(c, parseIp('192.0.1.255')!), false);
    assert.equal(cidrContains(c, parseIp('192.0.3.0')!), false);
    assert.equal(cidrContains(c, parseIp('::ffff:192.0.2.1')!), false);
  });
});

describe('helpers', () => {
  it('converts to and from BigInt', () => {
    assert.equal(ipToBigInt(parseIp('::1')!), 1n);
    assert.equal(ipToBigInt(parseIp('1::')!), 1n << 112n);
    assert.equal(ipToBigInt(parseIp('255.255.255.255')!), 0xffffffffn);
    assert.deepEqual(ipFromBigInt(6, (1n << 128n) - 1n), v6(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff));
  });

  it('orders IPv4 before IPv6, then numerically', () => {
    assert.ok(compareIp(parseIp('255.255.255.255')!, parseIp('::')!) < 0);
    assert.ok(compareIp(parseIp('1.2.3.4')!, parseIp('1.2.3.5')!) < 0);
    assert.ok(compareIp(parseIp('::ffff')!, parseIp('::1:0')!) < 0);
    assert.ok(compareIp(parseIp('0:0:0:1::')!, parseIp('::ffff:ffff:ffff')!) > 0);
    assert.equal(compareIp(parseIp('2001:db8::1')!, parseIp('2001:DB8::1')!), 0);
  });
});

describe('properties', () => {
  const word = fc.integer({ min: 0, max: 0xffffffff });
  // Bias towards zero groups so that compression and mapped forms get exercised.
  const sparseWord = fc.oneof(word, fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));

  it('parseIp ∘ formatIp is the identity on IPv4', () => {
    fc.assert(
      fc.property(word, (n) => {
        const ip = v4(n);
        assert.deepEqual(parseIp(formatIp(ip)), ip);
      }),
      { numRuns: 2000 },
    );
  });

  it('parseIp ∘ formatIp is the identity on IPv6', () => {
    fc.assert(
      fc.property(sparseWord, sparseWord, sparseWord, sparseWord, (a, b, c, d) => {
        const ip = v6(a, b, c, d);
        const text = formatIp(ip);
        assert.deepEqual(parseIp(text), ip);
        assert.equal(text, text.toLowerCase());
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts every fast-check IPv4 and IPv6 string and canonicalises like WHATWG URL', () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        const ip = parseIp(text);
        assert.ok(ip, text);
        assert.equal(formatIp(ip), text);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const ip = parseIp(text);
        assert.ok(ip, text);
        // WHATWG never writes the mixed IPv4 tail; otherwise its rules equal RFC 5952.
        const whatwg = new URL(`http://[${text}]/`).hostname.slice(1, -1);
        assert.deepEqual(parseIp(whatwg), ip);
        if (!isIpv4Mapped(ip)) assert.equal(formatIp(ip), whatwg);
      }),
      { numRuns: 2000 },
    );
  });

  it('parseCidr masks to a block that contains the original address', () => {
    fc.assert(
      fc.property(
        sparseWord,
        sparseWord,
        sparseWord,
        sparseWord,
        fc.integer({ min: 0, max: 128 }),
        (a, b, c, d, len) => {
          const ip = v6(a, b, c, d);
          const cidr = parseCidr(`${formatIp(ip)}/${len}`)!;
          assert.ok(cidrContains(cidr, ip));
          const size = 1n << BigInt(128 - len);
          assert.equal(ipToBigInt(cidr.last) - ipToBigInt(cidr.first), size - 1n);
          assert.equal(ipToBigInt(cidr.first) % size, 0n);
          assert.deepEqual(parseCidr(cidr.cidr), cidr);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
