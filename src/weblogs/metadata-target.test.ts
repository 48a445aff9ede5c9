import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeLayers, foldUnicode, percentDecode } from './decode.js';
import { parseHostAddress, parseIpv4Notation } from './host.js';
import {
  METADATA_ADDRESSES,
  normaliseMetadataPath,
  scanForMetadataTarget,
  type MetadataScanInput,
} from './metadata-target.js';

const BASE: MetadataScanInput = {
  url: '',
  authorityWhere: 'host',
  host: 'app.example.com',
  path: '/fetch',
  query: '',
  fragment: '',
  headers: [],
  referer: '',
  userAgent: '',
  wafRules: [],
};

function scan(parts: Partial<MetadataScanInput>) {
  return scanForMetadataTarget({ ...BASE, ...parts });
}

describe('parseHostAddress: every IPv4 and IPv6 notation', () => {
  const cases: [string, string, string][] = [
    ['169.254.169.254', '169.254.169.254', 'dotted decimal'],
    ['2852039166', '169.254.169.254', 'dotless decimal'],
    ['7147006462', '169.254.169.254', 'dotless decimal with overflow (wrapped)'],
    ['0xa9fea9fe', '169.254.169.254', 'dotless hexadecimal'],
    ['0x41414141a9fea9fe', '169.254.169.254', 'dotless hexadecimal with overflow (wrapped)'],
    ['0xa9.0xfe.0xa9.0xfe', '169.254.169.254', 'dotted hexadecimal'],
    ['0251.0376.0251.0376', '169.254.169.254', 'dotted octal'],
    ['0251.00376.000251.0000376', '169.254.169.254', 'dotted octal with zero padding'],
    ['0251.254.169.254', '169.254.169.254', 'dotted mixed-radix'],
    ['169.254.43518', '169.254.169.254', '3-part short-form decimal'],
    ['169.16689662', '169.254.169.254', '2-part short-form decimal'],
    ['425.510.425.510', '169.254.169.254', 'dotted decimal with overflow (wrapped)'],
    ['025177524776', '169.254.169.254', 'dotless octal'],
    ['169.254.169.254.', '169.254.169.254', 'dotted decimal'],
    ['[::ffff:169.254.169.254]', '169.254.169.254', 'IPv4-mapped IPv6'],
    ['[::ffff:a9fe:a9fe]', '169.254.169.254', 'IPv4-mapped IPv6'],
    ['[0:0:0:0:0:ffff:a9fe:a9fe]', '169.254.169.254', 'IPv4-mapped IPv6'],
    ['[::a9fe:a9fe]', '169.254.169.254', 'IPv4-compatible IPv6'],
    ['[0:0:0:0:0:0:169.254.169.254]', '169.254.169.254', 'IPv4-compatible IPv6'],
    ['[64:ff9b::a9fe:a9fe]', '169.254.169.254', 'NAT64 (64:ff9b::/96) IPv6'],
    ['[fd00:ec2::254]', 'fd00:ec2::254', 'IPv6'],
    ['[FD00:0EC2:0:0:0:0:0:0254]', 'fd00:ec2::254', 'IPv6'],
    ['[fd00:ec2::254%25eth0]', 'fd00:ec2::254', 'IPv6 with a zone id'],
    ['[::ffff:a9fe:a9fe%eth0]', '169.254.169.254', 'IPv4-mapped IPv6 with a zone id'],
  ];
  for (const [text, canonical, notation] of cases) {
    it(`${text} → ${canonical} (${notation})`, () => {
      const parsed = parseHostAddress(text.toLowerCase());
      assert.equal(parsed?.canonical, canonical);
      assert.equal(parsed?.notation, notation);
    });
  }

  it('names, garbage and octal-looking non-octal are not addresses', () => {
    for (const text of ['example.com', '', '08.1.1.1', '1.2.3.4.5', '0xzz', '::g', '1..2']) {
      assert.equal(parseHostAddress(text), undefined, text);
    }
  });
});

describe('decoding layers', () => {
  it('peels percent-encoding round by round, keeping each layer', () => {
    const { layers, steps } = decodeLayers('http%25253A%25252F%25252F');
    assert.deepEqual(layers, ['http%25253A%25252F%25252F', 'http%253A%252F%252F', 'http%3A%2F%2F', 'http://']);
    assert.deepEqual(steps, [['percent-decoding'], ['percent-decoding'], ['percent-decoding']]);
  });

  it('HTML references, \\x runs as UTF-8, \\u escapes, %u, overlong UTF-8', () => {
    assert.equal(decodeLayers('http&#58;&#x2f;&sol;a').layers.at(-1), 'http://a');
    assert.equal(decodeLayers('\\xE2\\x91\\xA0').layers.at(-1), '1');
    assert.equal(decodeLayers('\\u0031\\u{32}\\/').layers.at(-1), '12/');
    assert.equal(percentDecode('%u0031%c0%ae'), '1.');
  });

  it('Unicode look-alikes: circled, fullwidth, other scripts’ digits, ideographic stops, invisible characters', () => {
    assert.equal(foldUnicode('⑯⑨。②⑤④｡⓪ⓧⓐ⑨'), '169.254.0xa9');
    assert.equal(foldUnicode('１６９．２５４'), '169.254');
    assert.equal(foldUnicode('१६९.٢٥٤.๑๖๙.۲۵۴'), '169.254.169.254');
    assert.equal(foldUnicode('169\u200b.254\u00ad'), '169.254');
  });

  it('stops after a bounded number of rounds', () => {
    let text = 'x';
    for (let i = 0; i < 20; i++) text = encodeURIComponent(text).replace(/%/g, '%25');
    assert.ok(decodeLayers(text).layers.length <= 9);
  });
});

describe('scanForMetadataTarget', () => {
  it('finds the target behind every trick of the corpora, with where and decoding layers', () => {
    const cases: [Partial<MetadataScanInput>, string, string, string, number][] = [
      [
        { query: 'url=http://169.254.169.254/latest/meta-data/iam/security-credentials/r' },
        'aws-imds',
        '169.254.169.254',
        'query',
        0,
      ],
      [{ query: 'url=http%3A%2F%2F0xA9FEA9FE%2Flatest%2Fmeta-data%2F' }, 'aws-imds', '169.254.169.254', 'query', 1],
      [{ query: 'url=http%253A%252F%252F2852039166%252F' }, 'aws-imds', '169.254.169.254', 'query', 2],
      [{ path: '/proxy/169.254.169.254/latest/meta-data/' }, 'aws-imds', '169.254.169.254', 'path', 0],
      [{ fragment: 'http://[fd00:ec2::254]/latest/api/token' }, 'aws-imds', 'fd00:ec2::254', 'fragment', 0],
      [{ query: 'u=http://expected.com@169.254.169.254/' }, 'aws-imds', '169.254.169.254', 'query', 0],
      [{ query: 'u=http://169.254.169.254@evil.example/' }, 'aws-imds', '169.254.169.254', 'userinfo', 0],
      [{ query: 'u=http://127.1.1.1:80\\@169.254.169.254:80/' }, 'aws-imds', '169.254.169.254', 'query', 0],
      [{ query: 'u=http://1.1.1.1%20%26@169.254.169.254%23%20@3.3.3.3/' }, 'aws-imds', '169.254.169.254', 'query', 1],
      [{ host: '169.254.169.254', path: '/latest/meta-data/' }, 'aws-imds', '169.254.169.254', 'host', 0],
      [
        { url: 'http://0251.0376.0251.0376/', authorityWhere: 'request-line', path: '/' },
        'aws-imds',
        '169.254.169.254',
        'request-line',
        0,
      ],
      [{ query: 'x=169.254.169.254.nip.io' }, 'aws-imds', '169.254.169.254', 'query', 0],
      [{ query: 'x=a9fea9fe.nip.io' }, 'aws-imds', '169.254.169.254', 'query', 0],
      [{ query: 'x=app-169-254-169-254.sslip.io' }, 'aws-imds', '169.254.169.254', 'query', 0],
      [{ query: 'x=169.254.169.254.xip.io' }, 'aws-imds', '169.254.169.254', 'query', 0],
      [{ query: 'x=make-1.2.3.4-rebind-169.254-169.254-rr.1u.ms' }, 'aws-imds', '169.254.169.254', 'query', 0],
      [{ query: 'x=7f000001.a9fea9fe.rbndr.us' }, 'aws-imds', '169.254.169.254', 'query', 0],
      [{ query: 'url=http://instance-data/latest/meta-data/' }, 'aws-imds', 'instance-data', 'query', 0],
      [{ query: 'url=http://instance-data.ec2.internal/' }, 'aws-imds', 'instance-data.ec2.internal', 'query', 0],
      [{ query: 'url=http://169.254.170.2/v2/credentials/5c0a' }, 'aws-ecs', '169.254.170.2', 'query', 0],
      [{ query: 'url=http://169.254.170.23/v1/credentials' }, 'aws-eks-pod-identity', '169.254.170.23', 'query', 0],
      [
        { query: 'url=http://metadata.google.internal/computeMetadata/v1/' },
        'gcp',
        'metadata.google.internal',
        'query',
        0,
      ],
      [{ query: 'url=http://169.254.169.254/computeMetadata/v1/' }, 'gcp', '169.254.169.254', 'query', 0],
      [{ query: 'url=http://169.254.169.254/metadata/identity/oauth2/token' }, 'azure', '169.254.169.254', 'query', 0],
      [{ query: 'url=http://100.100.100.200/latest/meta-data/' }, 'alibaba', '100.100.100.200', 'query', 0],
      [{ query: 'url=http://192.0.0.192/latest/' }, 'oracle', '192.0.0.192', 'query', 0],
      [{ query: 'url=http://169.254.169.254/opc/v2/instance/' }, 'oracle', '169.254.169.254', 'query', 0],
      [{ query: 'url=http://169.254.169.254/metadata/v1.json' }, 'digitalocean', '169.254.169.254', 'query', 0],
      [
        { query: 'url=http://169.254.169.254/openstack/latest/meta_data.json' },
        'openstack',
        '169.254.169.254',
        'query',
        0,
      ],
      [{ query: 'url=http://169.254.169.254/hetzner/v1/metadata' }, 'hetzner', '169.254.169.254', 'query', 0],
      [
        { query: 'url=http://metadata.tencentyun.com/latest/meta-data/' },
        'tencent',
        'metadata.tencentyun.com',
        'query',
        0,
      ],
      [
        { query: 'url=https://kubernetes.default.svc/api/v1/namespaces/default/secrets' },
        'kubernetes-api',
        'kubernetes.default.svc',
        'query',
        0,
      ],
      [{ query: 'url=http://nicob.net/redir6a' }, 'aws-imds', '169.254.169.254', 'query', 0],
      [{ query: 'url=http://nicob.net/redir-http-169.254.169.254:80-' }, 'aws-imds', '169.254.169.254', 'query', 0],
      [{ query: 'ssrf=http%3A2852039166' }, 'aws-imds', '169.254.169.254', 'query', 1],
      [{ query: 'ssrf=http%3A%2F2852039166' }, 'aws-imds', '169.254.169.254', 'query', 1],
      [{ query: 'url=169.254.169.254' }, 'aws-imds', '169.254.169.254', 'query', 0],
      [{ query: 'q=169.254.169.254/latest/user-data' }, 'aws-imds', '169.254.169.254', 'query', 0],
      [{ query: 'u=http&#58;//169&#46;254&#46;169&#46;254/' }, 'aws-imds', '169.254.169.254', 'query', 1],
      [{ query: 'u=http://%E2%91%A0%E2%91%A5%E2%91%A8.254.169.254/' }, 'aws-imds', '169.254.169.254', 'query', 1],
      [
        { path: '/fetch/http://\\xE2\\x91\\xA0\\xE2\\x91\\xA5\\xE2\\x91\\xA8\\xE3\\x80\\x82254.169.254/' },
        'aws-imds',
        '169.254.169.254',
        'path',
        1,
      ],
      [{ referer: 'http://169.254.169.254/latest/meta-data/' }, 'aws-imds', '169.254.169.254', 'header', 0],
      [{ headers: [['X-Forwarded-Host', '169.254.169.254']] }, 'aws-imds', '169.254.169.254', 'header', 0],
      [{ headers: [['Cookie', 'a=1; redirect=http://2852039166/']] }, 'aws-imds', '169.254.169.254', 'header', 0],
      [
        { wafRules: ['AWS-AWSManagedRulesCommonRuleSet', 'EC2MetaDataSSRF_BODY'] },
        'aws-imds',
        '169.254.169.254',
        'body',
        0,
      ],
    ];
    for (const [parts, target, canonical, where, layers] of cases) {
      const hit = scan(parts);
      const label = JSON.stringify(parts);
      assert.ok(hit, label);
      assert.equal(hit.target, target, label);
      assert.equal(hit.canonical, canonical, label);
      assert.equal(hit.where, where, label);
      assert.equal(hit.decodedLayers, layers, label);
    }
  });

  it('credential and token paths', () => {
    const creds = scan({ query: 'url=http://169.254.169.254/latest/meta-data/iam/security-credentials/web-role' })!;
    assert.equal(creds.credentialPath, true);
    assert.equal(creds.path, '/latest/meta-data/iam/security-credentials/web-role');
    assert.equal(creds.pathLabel, 'IAM role credentials');
    const dots = scan({ query: 'url=http://169.254.169.254/latest/meta-data/./x/../iam//security-credentials/' })!;
    assert.equal(dots.credentialPath, true);
    const token = scan({ host: '169.254.169.254', path: '/latest/api/token' })!;
    assert.equal(token.tokenPath, true);
    assert.equal(token.credentialPath, false);
    const gcp = scan({ query: 'u=http://metadata/computeMetadata/v1/instance/service-accounts/default/token' })!;
    assert.equal(gcp.target, 'gcp');
    assert.equal(gcp.credentialPath, true);
  });

  it('a metadata path alone is a probe: on the request path or under any host', () => {
    const own = scan({ path: '/latest/meta-data/iam/security-credentials/' })!;
    assert.equal(own.recognisedBy, 'path');
    assert.equal(own.canonical, 'app.example.com');
    assert.equal(own.credentialPath, true);
    const alias = scan({ query: 'url=http://my-alias.attacker.example/latest/meta-data/' })!;
    assert.equal(alias.recognisedBy, 'path');
    assert.equal(alias.canonical, 'my-alias.attacker.example');
  });

  it('never fires on numbers, prose, documentation links or ordinary redirects', () => {
    const benign: Partial<MetadataScanInput>[] = [
      { query: 'id=2852039166' },
      { query: 'order=7147006462&ts=1715000000123' },
      { query: 'ssrf=2852039166' },
      { query: 'ssrf=[::ffff:a9fe:a9fe]' },
      { query: 'ssrf=169.16689662' },
      { query: 'ip=169.254.169.254' },
      { query: 'q=what+is+169.254.169.254' },
      { query: 'hash=0xa9fea9fe' },
      { path: '/orders/2852039166' },
      { path: '/latest/news' },
      { path: '/docs/latest/metadata/' },
      { path: '/api/v2/credentials/3fa85f64-5717-4562-b3fc-2c963f66afa6' },
      { path: '/metadata/instance/42' },
      { query: 'next=https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html' },
      { referer: 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html' },
      { referer: 'https://blog.example.org/what-is-169.254.169.254/?u=http://169.254.169.254/latest/meta-data/' },
      { referer: 'https://www.google.com/search?q=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F' },
      { userAgent: 'Mozilla/5.0 (compatible; probe; +http://169.254.169.254/)' },
      { query: 'redirect=https://www.example.com/account&return_to=%2Fdashboard&next=//example.org/x' },
      { query: 'email=ops%40example.com' },
      { host: 'metadata', path: '/' },
      { query: 'url=http://127.0.0.1.nip.io/' },
      { query: 'url=http://169.254.169.123/' },
    ];
    for (const parts of benign) assert.equal(scan(parts), undefined, JSON.stringify(parts));
  });
});

/** IPv4 value as a random inet_aton-style or IPv6 notation; `wrapped` when the text only means it modulo overflow. */
function notationOf(value: number): fc.Arbitrary<string> {
  const bytes = [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255];
  const part = (n: number, limit: number): fc.Arbitrary<string> =>
    fc
      .tuple(fc.constantFrom('dec', 'oct', 'hex', 'HEX'), fc.nat({ max: 2 }), fc.nat({ max: 2 }))
      .map(([radix, pad, overflow]) => {
        const v = BigInt(n) + BigInt(overflow) * BigInt(limit);
        if (radix === 'dec') return v.toString(10);
        if (radix === 'oct') return `0${'0'.repeat(pad)}${v.toString(8)}`;
        const hex = `0x${'0'.repeat(pad)}${v.toString(16)}`;
        return radix === 'HEX' ? hex.toUpperCase() : hex;
      });
  const v4 = fc.integer({ min: 1, max: 4 }).chain((count) => {
    const head = bytes.slice(0, count - 1);
    const tailBytes = bytes.slice(count - 1);
    const tail = tailBytes.reduce((acc, b) => acc * 256 + b, 0);
    const limit = 256 ** tailBytes.length;
    return fc.tuple(...head.map((b) => part(b, 256)), part(tail, limit), fc.boolean()).map((parts) => {
      const trailingDot = parts.pop() as boolean;
      return `${(parts as string[]).join('.')}${trailingDot ? '.' : ''}`;
    });
  });
  const hex = (n: number): string => n.toString(16);
  const hi = value >>> 16;
  const lo = value & 0xffff;
  const dotted = bytes.join('.');
  const v6 = fc.constantFrom(
    `[::ffff:${dotted}]`,
    `[::ffff:${hex(hi)}:${hex(lo)}]`,
    `[0:0:0:0:0:ffff:${hex(hi)}:${hex(lo)}]`,
    `[0000:0000:0000:0000:0000:FFFF:${hex(hi).toUpperCase()}:${hex(lo)}]`,
    `[::ffff:${hex(hi)}:${hex(lo)}%25eth0]`,
    ...(value > 0xffff ? [`[::${dotted}]`, `[::${hex(hi)}:${hex(lo)}]`] : []),
  );
  return fc.oneof({ weight: 4, arbitrary: v4 }, { weight: 1, arbitrary: v6 });
}

const PLACEMENTS: ((notation: string) => Partial<MetadataScanInput>)[] = [
  (n) => ({ query: `url=http://${n}/` }),
  (n) => ({ query: `url=${encodeURIComponent(`http://${n}/`)}` }),
  (n) => ({ query: `u=${encodeURIComponent(encodeURIComponent(`https://${n}:80/x`))}` }),
  (n) => ({ path: `/fetch/http://${n}/` }),
  (n) => ({ host: n, path: '/' }),
  (n) => ({ url: `http://${n}/`, authorityWhere: 'request-line', path: '/' }),
  (n) => ({ query: `next=//${n}/` }),
  (n) => ({ query: `u=http://expected.example@${n}/` }),
];

describe('wildcard-DNS names in hostile text', () => {
  it('64 KiB of name characters before a wildcard-DNS suffix scan in linear time (once 10 s per value)', () => {
    for (const query of [
      'x=' + 'a'.repeat(65536) + '-.nip.io-',
      'x=' + 'a'.repeat(65536) + '.io',
      'x=' + 'a.'.repeat(32768) + 'nip.io-',
    ]) {
      const started = performance.now();
      scan({ query });
      const took = performance.now() - started;
      assert.ok(took < 500, `${took.toFixed(0)} ms`);
    }
    assert.equal(scan({ query: `x=${'a'.repeat(300)}.169.254.169.254.nip.io` })?.canonical, '169.254.169.254');
  });
});

describe('property: notations of metadata and other addresses', () => {
  it('169.254.169.254 and 169.254.170.2 are found in every notation and placement', () => {
    const targets: [number, string, string][] = [
      [0xa9fea9fe, '169.254.169.254', 'aws-imds'],
      [0xa9feaa02, '169.254.170.2', 'aws-ecs'],
    ];
    fc.assert(
      fc.property(
        fc
          .constantFrom(...targets)
          .chain(([value, canonical, service]) =>
            fc.tuple(notationOf(value), fc.constant(canonical), fc.constant(service)),
          ),
        fc.constantFrom(...PLACEMENTS),
        ([notation, canonical, service], place) => {
          const hit = scan(place(notation));
          assert.ok(hit, `${notation} ${JSON.stringify(place(notation))}`);
          assert.equal(hit.canonical, canonical, notation);
          assert.equal(hit.target, service, notation);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('any other address, in the same notations and placements, is never taken for a metadata service', () => {
    const metadataValues = new Set(
      [...METADATA_ADDRESSES.keys()].map((a) => parseIpv4Notation(a)?.canonical).filter((a) => a !== undefined),
    );
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: 0xffffffff })
          .filter((v) => !metadataValues.has(parseIpv4Notation(String(v))!.canonical))
          .chain(notationOf),
        fc.constantFrom(...PLACEMENTS),
        (notation, place) => {
          assert.equal(scan(place(notation)), undefined, `${notation} ${JSON.stringify(place(notation))}`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('normaliseMetadataPath resolves dot segments and backslashes', () => {
    assert.equal(normaliseMetadataPath('\\latest\\meta-data\\..\\user-data'), '/latest/user-data');
    assert.equal(normaliseMetadataPath('/latest;x=1/meta-data/'), '/latest/meta-data/');
  });
});

describe('helper services, embedded addresses, numbers without a scheme, broken IPv6', () => {
  it('decodes helper names to the metadata address, naming the family and how', () => {
    const cases: [string, string, string][] = [
      ['url=http://a9fea9fe.nip.io/', '169.254.169.254', 'nip.io'],
      ['url=http://--ffff-a9fe-a9fe.sslip.io/', '169.254.169.254', 'sslip.io'],
      ['url=http://make-hex-3136392e3235342e3136392e323534-rr.1u.ms/', '169.254.169.254', '1u.ms'],
      [
        'url=http://s-1.2.3.4-169.254.170.2-9-fromqueryrandom-e.rebind.example.org/',
        '169.254.170.2',
        'Singularity of Origin',
      ],
      [
        'url=https://nb2hi4b2f4xtcnrzfyzdknboge3dslrsgu2c63dborsxg5bpnvsxiyjnmrqxiyi.302.r3dir.me',
        '169.254.169.254',
        'r3dir',
      ],
      ['url=https://_169__254__169__254___latest___user-data.patch.rip/t/302/http', '169.254.169.254', '302faker'],
    ];
    for (const [query, canonical, family] of cases) {
      const t = scan({ query });
      assert.equal(t?.canonical, canonical, query);
      assert.equal(t?.helper?.family, family, query);
      assert.notEqual(t?.target, 'unknown', query);
      assert.ok(t!.helper!.decoded.length > 0, query);
    }
  });

  it('a helper service with no metadata address visible is a weak hit only where a request would go to it', () => {
    for (const query of [
      'url=https://62epax5fhvj3zzmzigyoe5ipkbn7fysllvges3a.302.r3dir.me',
      'url=http://7f000001.c0a80001.rbndr.us/',
      'webhook=https://abc.oast.fun/',
      'callback=abc.oastify.com',
    ]) {
      const t = scan({ query });
      assert.equal(t?.recognisedBy, 'helper', query);
      assert.equal(t?.target, 'unknown', query);
    }
    for (const parts of [
      { query: 'q=see abc.oast.fun for details' },
      { query: 'url=https://oast.example.com/' },
      { query: 'url=http://1u.ms' },
      { query: 'url=https://127.0.0.1.nip.io/' },
      { query: 'url=https://307.r3dir.me/--to/?url=http://localhost' },
      { referer: 'https://abc.oast.fun/' },
      { path: '/docs/abc.oast.fun/x' },
    ]) {
      assert.equal(scan(parts), undefined, JSON.stringify(parts));
    }
  });

  it('an address followed by a metadata path anywhere in a value', () => {
    for (const query of [
      'u=http://proxy.example/fetch/169.254.169.254/latest/meta-data/',
      'q=foo 169.254.169.254/latest/meta-data/',
      'u=http://proxy.example/x/2852039166/latest/meta-data/iam/security-credentials/',
    ]) {
      assert.equal(scan({ query })?.canonical, '169.254.169.254', query);
    }
    // Dotless numbers need a distinctive path: `/latest` alone is an ordinary word.
    assert.equal(scan({ query: 'u=https://shop.example/orders/2852039166/latest' }), undefined);
  });

  it('numbers without a scheme in URL parameters and /fetch/-like segments; never in other parameters', () => {
    for (const parts of [
      { query: 'url=2852039166' },
      { query: 'url=0x41414141a9fea9fe:80' },
      { query: 'target=025177524776/latest/user-data' },
      { path: '/proxy/0xa9fea9fe' },
      { query: 'url=[::ffff:a9fe:a9fe' },
      { query: 'url=fd00:ec2::254]' },
      { query: 'url=fd00:ec2::254:80' },
    ]) {
      assert.equal(scan(parts)?.target === 'aws-imds', true, JSON.stringify(parts));
    }
    for (const parts of [{ query: 'id=2852039166' }, { path: '/orders/2852039166' }, { path: '/image/2852039166' }]) {
      assert.equal(scan(parts), undefined, JSON.stringify(parts));
    }
  });
});
