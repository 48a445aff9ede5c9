/**
 * A deterministic corpus of ordinary web traffic, written to look like a real shop and API
 * behind an ALB, CloudFront, AWS WAF, a Classic ELB and nginx: numeric ids and timestamps
 * (some equal to 169.254.169.254 as a dotless number), addresses in parameters, redirect
 * parameters to ordinary sites, and documentation links about metadata services in referers
 * and query strings. None of it targets a metadata service.
 */

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Targets (path?query) a benign client requests. */
export const BENIGN_TARGETS: readonly string[] = [
  '/',
  '/index.html',
  '/favicon.ico',
  '/robots.txt',
  '/static/app.3f9a1c.js',
  '/static/css/main.9c2e.css',
  '/health',
  '/api/v1/orders/2852039166',
  '/api/v1/orders/7147006462/items',
  '/api/v2/credentials/3fa85f64-5717-4562-b3fc-2c963f66afa6',
  '/api/metadata/instance/42',
  '/latest/news?page=2',
  '/docs/latest/metadata/',
  '/blog/2019/08/what-is-the-instance-metadata-service',
  '/archive/1715000000123/',
  '/download/app-4.2.1.tar.gz',
  '/search?q=what+is+169.254.169.254',
  '/search?q=instance+metadata+service+imdsv2&lang=en',
  '/search?q=%22169.254.169.254%22+aws+docs',
  '/products?id=2852039166',
  '/products?id=2852039166&ref=email',
  '/track?order=7147006462&ts=1715000000',
  '/track?ts=1715000000123&n=0x41414141A9FEA9FE',
  '/cart?hash=0xa9fea9fe&color=a9fea9fe',
  '/tools/whois?ip=169.254.169.254',
  '/tools/whois?ip=203.0.113.7',
  '/geo?client=10.0.0.1&peer=%5B2001%3Adb8%3A%3A1%5D%3A443',
  '/status?server=10.0.0.5:8080&version=1.2.3.4',
  '/build?v=2024.05.01.1&range=169.254.0.0%2F16',
  '/login?redirect=https://www.example.com/account',
  '/login?return_to=%2Fdashboard',
  '/login?next=//example.org/path',
  '/img?url=https%3A%2F%2Fcdn.example.net%2Fimg%2F2852039166.png',
  '/oauth/authorize?client_id=abc&redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth%2Fcallback&state=7147006462',
  '/hooks?callback=https://hooks.example.com/x/169254169254',
  '/share?url=https://www.youtube.com/watch?v=2852039166',
  '/go?to=https%253A%252F%252Fwww.example.org%252Fpromo%253Fid%253D2852039166',
  '/help?next=https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html',
  '/help?ref=https%3A%2F%2Fdocs.aws.amazon.com%2FAWSEC2%2Flatest%2FUserGuide%2Fconfiguring-instance-metadata-service.html',
  '/help?doc=https://cloud.google.com/compute/docs/metadata/overview',
  '/help?doc=https%3A%2F%2Flearn.microsoft.com%2Fen-us%2Fazure%2Fvirtual-machines%2Finstance-metadata-service',
  '/newsletter?email=ops%40example.com&list=2852039166',
  '/api/v1/users/me?fields=id,name,email',
  '/api/v1/events?since=2024-05-01T10:00:00Z&until=2024-05-01T11:00:00Z',
  '/api/v1/ips?cidr=10.0.0.0%2F8&limit=100',
  '/redirect?target=https://partner.example.net/landing?utm_source=169.254.169.254',
  '/s3/download?key=reports%2F2024%2F05%2Freport.pdf&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240501%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abcdef0123',
  '/wiki/Link-local_address',
  '/articles/ssrf-and-imds?utm_source=newsletter&id=169.254',
];

const REFERERS: readonly string[] = [
  '-',
  'https://www.google.com/',
  'https://www.google.com/search?q=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F',
  'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html',
  'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html',
  'https://blog.example.org/2019/08/what-is-169-254-169-254/',
  'https://medium.com/@someone/ssrf-and-the-169.254.169.254-address-3b2f?source=http://169.254.169.254/latest/meta-data/',
  'https://stackoverflow.com/questions/123/why-does-curl-169-254-169-254-latest-meta-data-hang',
  'https://www.example.com/shop?id=2852039166',
  'https://news.ycombinator.com/item?id=2852039166',
];

const USER_AGENTS: readonly string[] = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'curl/8.4.0',
  'python-requests/2.31.0',
  'ELB-HealthChecker/2.0',
  'Amazon CloudFront',
];

function ip(r: () => number): string {
  return `${1 + Math.floor(r() * 222)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`;
}

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

const HOSTS = ['www.example.com', 'shop.example.com', 'api.example.com'];

/** One file per format, `count` lines each (CloudFront adds its two header lines). */
export function benignCorpus(count = 500, seed = 7): { name: string; text: string }[] {
  const r = prng(seed);
  const base = Date.UTC(2024, 4, 1, 10, 0, 0);
  const alb: string[] = [];
  const nginx: string[] = [];
  const cloudfront: string[] = [
    '#Version: 1.0',
    '#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end',
  ];
  const waf: string[] = [];
  const elb: string[] = [];
  for (let i = 0; i < count; i++) {
    const t = new Date(base + i * 1337);
    const iso = t.toISOString().replace('Z', '456Z');
    const target = pick(r, BENIGN_TARGETS);
    const host = pick(r, HOSTS);
    const client = ip(r);
    const ua = pick(r, USER_AGENTS);
    const referer = pick(r, REFERERS);
    const status = r() < 0.9 ? 200 : pick(r, [301, 302, 304, 404, 500]);
    const bytes = 200 + Math.floor(r() * 20000);
    const backend = `10.0.${Math.floor(r() * 4)}.${10 + Math.floor(r() * 5)}:80`;
    const method = target.startsWith('/api/') && r() < 0.3 ? 'POST' : 'GET';
    alb.push(
      `https ${iso} app/shop/50dc6c495c0c9188 ${client}:${40000 + i} ${backend} 0.001 0.012 0.000 ${status} ${status} 310 ${bytes} ` +
        `"${method} https://${host}:443${target} HTTP/1.1" "${ua}" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 ` +
        `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop/73e2d6bc24d8a067 "Root=1-66320000-${i.toString(16).padStart(24, '0')}" ` +
        `"${host}" "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 ${iso} "waf,forward" "-" "-" "${backend}" "${status}" "-" "-" TID_${i.toString(16)}`,
    );
    const day = String(t.getUTCDate()).padStart(2, '0');
    const clf = `${day}/May/2024:${t.toISOString().slice(11, 19)} +0000`;
    const prefix = i % 5 === 0 ? `${host} ${client}` : i % 7 === 0 ? `${client}, 10.0.0.2 10.0.1.9` : client;
    nginx.push(`${prefix} - - [${clf}] "${method} ${target} HTTP/1.1" ${status} ${bytes} "${referer}" "${ua}"`);
    const q = target.indexOf('?');
    const stem = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? '-' : target.slice(q + 1);
    const edgeId = `${i.toString(36).padStart(8, 'x')}SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==`;
    cloudfront.push(
      [
        t.toISOString().slice(0, 10),
        t.toISOString().slice(11, 19),
        'LAX1',
        String(bytes),
        client,
        method,
        'd111111abcdef8.cloudfront.net',
        stem,
        String(status),
        referer,
        encodeURI(ua).replace(/%20/g, i % 2 === 0 ? '%20' : '%2520'),
        query,
        '-',
        'Miss',
        edgeId,
        host,
        'https',
        '310',
        '0.012',
        i % 3 === 0 ? `${client}, 10.0.0.2` : '-',
        'TLSv1.3',
        'TLS_AES_128_GCM_SHA256',
        'Miss',
        'HTTP/2.0',
        '-',
        '-',
        String(40000 + i),
        '0.011',
        'Miss',
        'text/html',
        String(bytes - 200),
        '-',
        '-',
      ].join('\t'),
    );
    waf.push(
      JSON.stringify({
        timestamp: t.getTime(),
        formatVersion: 1,
        webaclId: 'arn:aws:wafv2:us-east-1:123456789012:regional/webacl/shop/1EXAMPLE',
        terminatingRuleId: 'Default_Action',
        terminatingRuleType: 'REGULAR',
        action: 'ALLOW',
        terminatingRuleMatchDetails: [],
        httpSourceName: 'ALB',
        httpSourceId: '123456789012-app/shop/50dc6c495c0c9188',
        ruleGroupList: [],
        rateBasedRuleList: [],
        nonTerminatingMatchingRules: [],
        httpRequest: {
          clientIp: client,
          country: 'US',
          headers: [
            { name: 'Host', value: host },
            { name: 'User-Agent', value: ua },
            { name: 'Referer', value: referer },
            { name: 'X-Forwarded-Host', value: host },
            { name: 'Cookie', value: `session=7147006462; last=${encodeURIComponent('https://www.example.com/cart')}` },
          ],
          uri: stem,
          args: q < 0 ? '' : target.slice(q + 1),
          httpVersion: 'HTTP/1.1',
          httpMethod: method,
          requestId: `req-${i}`,
        },
        labels: [],
      }),
    );
    elb.push(
      `${iso} shop-classic ${client}:${50000 + i} ${backend} 0.000043 0.000785 0.000023 ${status} ${status} 0 ${bytes} ` +
        `"${method} https://${host}:443${target} HTTP/1.1" "${ua}" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2`,
    );
  }
  return [
    { name: 'benign-alb.log', text: `${alb.join('\n')}\n` },
    { name: 'benign-nginx.log', text: `${nginx.join('\n')}\n` },
    { name: 'benign-cloudfront.log', text: `${cloudfront.join('\n')}\n` },
    { name: 'benign-waf.log', text: `${waf.join('\n')}\n` },
    { name: 'benign-elb.log', text: `${elb.join('\n')}\n` },
  ];
}
