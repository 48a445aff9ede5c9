import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { loadAwsRanges, parseAwsRanges } from './aws-ranges.js';
import { buildSourceClassifier, isAwsServiceSource } from './source-class.js';

const awsRanges = loadAwsRanges();
const plain = buildSourceClassifier({ awsRanges });

// Control characters and bidi overrides must never reach a terminal through `reason`.
function unsafe(text: string): boolean {
  return [...text].some((ch) => {
    const c = ch.codePointAt(0)!;
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
  });
}

describe('aws-service', () => {
  for (const value of [
    'ec2.amazonaws.com',
    'kms.amazonaws.com',
    'KMS.AMAZONAWS.COM',
    '  lambda.amazonaws.com ',
    'elasticmapreduce.amazonaws.com',
    'ec2.amazonaws.com.cn',
    'bedrock.us-east-1.api.aws',
    'AWS Internal',
    'aws internal',
    ' AWS INTERNAL ',
  ]) {
    it(`${JSON.stringify(value)} is an AWS service`, () => {
      const info = plain.classify(value);
      assert.equal(info.class, 'aws-service');
      assert.equal(info.ip, value);
      assert.deepEqual(info.awsServices, []);
      assert.equal(info.awsRegion, '');
      assert.ok(info.reason.length > 0);
    });
  }

  it('names the service in rangeName', () => {
    assert.equal(plain.classify('KMS.amazonaws.com').rangeName, 'kms.amazonaws.com');
    assert.equal(plain.classify('AWS Internal').rangeName, 'AWS Internal');
  });
});

describe('invalid', () => {
  for (const value of [
    '',
    ' ',
    '-',
    'amazonaws.com',
    '.amazonaws.com',
    'ec2..amazonaws.com',
    'evil.amazonaws.com.attacker.example',
    'amazonaws.com.evil.example',
    'signin.aws.internal',
    'console.aws.amazon.com',
    'AWS Internal!',
    'example.com',
    '1.2.3',
    '01.2.3.4',
    '256.1.1.1',
    '1.2.3.4 ',
    '1.2.3.4:443',
    '\u001b[31m.amazonaws.com',
    '1.2.3.4\u001b[0m',
    '\u001b]0;owned\u0007',
    'ec2.amazonaws.com\u202e',
    '\u009b31m',
    'x'.repeat(10_000),
  ]) {
    it(`${JSON.stringify(value.slice(0, 40))} is invalid`, () => {
      const info = plain.classify(value);
      assert.equal(info.class, 'invalid');
      assert.equal(info.ip, value);
      assert.equal(info.rangeName, '');
      assert.equal(unsafe(info.reason), false, info.reason);
      assert.ok(info.reason.length < 200);
    });
  }
});

describe('address classes', () => {
  it('private: RFC 1918, CGNAT, link-local, ULA', () => {
    for (const [a, name] of [
      ['10.1.2.3', 'RFC 1918 private'],
      ['172.20.0.1', 'RFC 1918 private'],
      ['192.168.0.10', 'RFC 1918 private'],
      ['100.100.0.1', 'shared address space (CGNAT)'],
      ['169.254.169.254', 'link-local'],
      ['fe80::1%eth0', 'link-local'],
      ['fd00:ec2::254', 'unique local (ULA)'],
    ] as const) {
      const info = plain.classify(a);
      assert.equal(info.class, 'private', a);
      assert.equal(info.rangeName, name, a);
      assert.equal(info.awsCidr, '');
    }
    assert.equal(plain.classify('fe80::1%eth0').ip, 'fe80::1');
  });

  it('special: loopback, documentation, multicast, reserved …', () => {
    for (const [a, name] of [
      ['127.0.0.1', 'loopback'],
      ['::1', 'loopback'],
      ['192.0.2.10', 'documentation (TEST-NET-1)'],
      ['2001:db8::5', 'documentation'],
      ['0.0.0.0', 'this host on this network'],
      ['255.255.255.255', 'limited broadcast'],
      ['224.0.0.251', 'multicast'],
      ['::', 'unspecified address'],
      ['64:ff9b::8.8.8.8', 'NAT64 well-known prefix (IPv4-IPv6 translation)'],
    ] as const) {
      const info = plain.classify(a);
      assert.equal(info.class, 'special', a);
      assert.equal(info.rangeName, name, a);
      assert.match(info.reason, /special-purpose range/);
    }
  });

  it('aws: fills services, region, CIDR and cites the syncToken', () => {
    const info = plain.classify('3.5.140.1');
    assert.equal(info.class, 'aws');
    assert.equal(info.ip, '3.5.140.1');
    assert.deepEqual(info.awsServices, ['AMAZON', 'EC2', 'S3']);
    assert.equal(info.awsRegion, 'ap-northeast-2');
    assert.equal(info.awsCidr, '3.5.140.0/22');
    assert.equal(info.rangeName, 'AWS EC2/S3');
    assert.equal(info.reason, 'in AWS EC2/S3 range 3.5.140.0/22 (ap-northeast-2), ip-ranges syncToken 1787433425');
    assert.equal(
      plain.classify('3.224.0.1').reason,
      'in AWS EC2 range 3.224.0.0/12 (us-east-1), ip-ranges syncToken 1787433425',
    );
    assert.equal(plain.classify('52.94.76.1').rangeName, 'AWS AMAZON');
    assert.match(plain.classify('15.181.232.1').reason, /\(us-east-1, border group us-east-1-iah-1\)/);
  });

  it('aws over IPv6, with the address canonicalised', () => {
    const info = plain.classify('2600:1F18:0000::0001');
    assert.equal(info.class, 'aws');
    assert.equal(info.ip, '2600:1f18::1');
    assert.equal(info.awsRegion, 'us-east-1');
  });

  it('IPv4-mapped IPv6 is classified as, and reported as, its IPv4', () => {
    const info = plain.classify('::ffff:3.5.140.1');
    assert.equal(info.class, 'aws');
    assert.equal(info.ip, '3.5.140.1');
    assert.match(info.reason, /IPv4-mapped/);
    assert.equal(plain.classify('::ffff:10.0.0.1').class, 'private');
    assert.equal(plain.classify('::FFFF:8.8.8.8').ip, '8.8.8.8');
  });

  it('public: everything else', () => {
    for (const a of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '2a05:d000::1']) {
      const info = plain.classify(a);
      assert.equal(info.class, 'public', a);
      assert.deepEqual(info.awsServices, []);
      assert.equal(info.awsRegion, '');
      assert.equal(info.awsCidr, '');
      assert.match(info.reason, /syncToken 1787433425/);
    }
  });
});

describe('allowed source CIDRs', () => {
  const c = buildSourceClassifier({
    awsRanges,
    allowedCidrs: [
      '10.0.0.0/8',
      '3.5.140.0/24',
      ' 203.0.113.0/24 ',
      '198.51.100.7',
      '2001:db8:1::/48',
      '::ffff:192.0.2.0/120',
    ],
  });

  it('wins over private, special and AWS', () => {
    const priv = c.classify('10.9.8.7');
    assert.equal(priv.class, 'allowed');
    assert.equal(priv.rangeName, '10.0.0.0/8');
    assert.match(priv.reason, /^in allowed source CIDR 10\.0\.0\.0\/8; also in private range RFC 1918 private/);

    const aws = c.classify('3.5.140.7');
    assert.equal(aws.class, 'allowed');
    assert.equal(aws.rangeName, '3.5.140.0/24');
    assert.deepEqual(aws.awsServices, ['AMAZON', 'EC2', 'S3']);
    assert.equal(aws.awsRegion, 'ap-northeast-2');
    assert.equal(aws.awsCidr, '3.5.140.0/22');
    assert.match(aws.reason, /also in AWS EC2\/S3 range/);

    assert.equal(c.classify('203.0.113.200').class, 'allowed');
    assert.equal(c.classify('198.51.100.7').class, 'allowed');
    assert.equal(c.classify('198.51.100.8').class, 'special');
    assert.equal(c.classify('2001:db8:1:2::3').class, 'allowed');
    assert.equal(c.classify('2001:db8:2::3').class, 'special');
  });

  it('leaves addresses just outside each block alone', () => {
    assert.equal(c.classify('11.0.0.0').class, 'public');
    assert.equal(c.classify('3.5.141.0').class, 'aws');
    assert.equal(c.classify('203.0.114.0').class, 'public');
  });

  it('matches IPv4 addresses against an IPv4-mapped block and vice versa', () => {
    assert.equal(c.classify('192.0.2.99').class, 'allowed');
    assert.equal(c.classify('192.0.2.99').rangeName, '192.0.2.0/24');
    assert.equal(c.classify('::ffff:10.1.1.1').class, 'allowed');
  });

  it('throws ConfigError naming a bad entry', () => {
    for (const bad of ['10.0.0.0/33', 'office', '10.0.0.0/8,192.168.0.0/16', '', '\u001b[2J']) {
      assert.throws(
        () => buildSourceClassifier({ awsRanges, allowedCidrs: ['192.168.0.0/16', bad] }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.ok(err.message.includes(JSON.stringify(bad)), err.message);
          assert.equal(unsafe(err.message), false, err.message);
          assert.ok(err.hint);
          return true;
        },
      );
    }
  });
});

describe('memoisation', () => {
  it('returns the same frozen object for the same value', () => {
    const c = buildSourceClassifier({ awsRanges });
    const a = c.classify('3.5.140.1');
    assert.equal(c.classify('3.5.140.1'), a);
    assert.ok(Object.isFrozen(a));
    assert.throws(() => {
      (a as { class: string }).class = 'public';
    }, TypeError);
  });

  it('stays correct after the cache fills and clears', () => {
    const c = buildSourceClassifier({ awsRanges });
    const first = c.classify('8.8.8.8');
    for (let i = 0; i < 60_000; i++) c.classify(`11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    assert.deepEqual(c.classify('8.8.8.8'), first);
    assert.equal(c.classify('11.0.0.1').class, 'public');
  });

  it('exposes the syncToken of the ranges in use', () => {
    assert.equal(plain.syncToken, '1787433425');
    const small = parseAwsRanges(
      { syncToken: '5', createDate: '', prefixes: [{ ip_prefix: '8.8.8.0/24', region: 'x', service: 'EC2' }] },
      'inline',
    );
    const c = buildSourceClassifier({ awsRanges: small });
    assert.equal(c.syncToken, '5');
    assert.equal(c.classify('8.8.8.8').class, 'aws');
    assert.equal(c.classify('3.5.140.1').class, 'public');
  });
});

describe('isAwsServiceSource', () => {
  it('accepts service names and AWS Internal only', () => {
    assert.equal(isAwsServiceSource('sts.amazonaws.com'), true);
    assert.equal(isAwsServiceSource('AWS Internal'), true);
    assert.equal(isAwsServiceSource('amazonaws.com'), false);
    assert.equal(isAwsServiceSource('-bad.amazonaws.com'), false);
    assert.equal(isAwsServiceSource('1.2.3.4'), false);
    assert.equal(isAwsServiceSource(`${'a.'.repeat(200)}amazonaws.com`), false);
  });
});
