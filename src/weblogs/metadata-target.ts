/**
 * Finds a cloud metadata service targeted by a web request, whatever the encoding.
 *
 * Decoding: every layer of percent-encoding, HTML character references, backslash escapes and
 * Unicode look-alikes is peeled off (see decode.ts), and each layer is examined.
 *
 * Context rule (why `?id=2852039166` is not a hit): an address or name counts only where a
 * request would actually go there —
 *  - after a scheme (`http://`, `gopher://`, `http:` for network schemes), after `//` at the start
 *    of a value, or after `@` (userinfo tricks);
 *  - in the request's own authority: the Host header, an absolute-form or CONNECT request line;
 *  - as a whole parameter value whose name says it is a URL or host (`url=`, `redirect_uri=`,
 *    `host=` …), or as a value or path segment followed by a metadata path (`/latest/meta-data`);
 *  - as a DNS name that only exists to resolve to an address (`169.254.169.254.nip.io`,
 *    rebinding names), anywhere.
 * Dotless numbers (`2852039166`, `0xa9fea9fe`) need the first two contexts or a metadata path.
 * Referer and User-Agent headers count only when the whole value is a URL to the service, so a
 * documentation page or a search for "169.254.169.254" in a referer is never a hit.
 * A metadata path on its own (`/latest/meta-data/…` as the request path, or under any host in a
 * URL) is a hit too: it probes reverse proxies and DNS names that point at the service.
 */
import { decodeLayers, mayBeEncoded, type DecodingStep } from './decode.js';
import { helperForName, HELPER_HINT, HELPER_SERVICES, type HelperKind, type HelperService } from './helper-services.js';
import { parseHostAddress, parseIpv4Notation, parseIpv6Notation, type HostAddress } from './host.js';
import type { WebRequest } from './request.js';
import { splitHostPort, splitTarget } from './tokenize.js';

/** Metadata services offbox recognises. */
export type MetadataService =
  | 'aws-imds'
  | 'aws-ecs'
  | 'aws-eks-pod-identity'
  | 'gcp'
  | 'azure'
  | 'alibaba'
  | 'oracle'
  | 'digitalocean'
  | 'openstack'
  | 'hetzner'
  | 'ibm'
  | 'tencent'
  | 'equinix'
  | 'kubernetes-api'
  | 'rancher'
  /** A helper service (redirector, rebinding or out-of-band domain) was used but no metadata address is visible. */
  | 'unknown';

/** Where in the request the target was found. */
export type TargetWhere = 'path' | 'query' | 'fragment' | 'host' | 'request-line' | 'userinfo' | 'header' | 'body';

/** A metadata service a request targets. */
export interface MetadataTarget {
  target: MetadataService;
  /** Canonical address (`169.254.169.254`, `fd00:ec2::254`) or the service's DNS name; for a path-only hit, the host the path was sent to. */
  canonical: string;
  /** The metadata path requested, decoded and normalised ('' when none). */
  path: string;
  /** True for paths that hand out credentials (IAM role keys, tokens). */
  credentialPath: boolean;
  /** True for the IMDSv2 session-token path `/latest/api/token`. */
  tokenPath: boolean;
  where: TargetWhere;
  /** Rounds of decoding needed before the target showed. */
  decodedLayers: number;
  /** The decoded text around the match (untrusted, at most 200 characters). */
  evidence: string;
  /**
   * How it was recognised: an address, a DNS name, a known redirector, a metadata path alone, the WAF's own
   * rule, or a helper service with no metadata address visible (`helper`: weaker, target `unknown`).
   */
  recognisedBy: 'address' | 'dns-name' | 'redirector' | 'path' | 'waf-rule' | 'helper';
  /** The helper service the target was reached through (wildcard DNS, rebinding, redirector, out-of-band), if any. */
  helper?: HelperUse;
  /** How the address or name was written ("dotless hexadecimal", "nip.io wildcard DNS name" …). */
  notation: string;
  /** What each decoding round undid, in order. */
  decodings: DecodingStep[][];
  /** What the path is (e.g. "IAM role credentials"), '' when no metadata path. */
  pathLabel: string;
}

/** A helper service in a request, and what decoding it gave. */
export interface HelperUse {
  family: string;
  kind: HelperKind;
  /** Where the entry of the helper list was learned (repository/path or documentation URL). */
  source: string;
  /** How the address was read out of the name or path; '' when nothing could be decoded. */
  decoded: string;
}

/** Human names of the services, for titles and reasons. */
export const SERVICE_NAMES: Readonly<Record<MetadataService, string>> = Object.freeze({
  'aws-imds': 'AWS EC2 instance metadata service (IMDS)',
  'aws-ecs': 'AWS ECS task credential endpoint',
  'aws-eks-pod-identity': 'AWS EKS Pod Identity agent',
  gcp: 'Google Cloud metadata server',
  azure: 'Azure instance metadata service',
  alibaba: 'Alibaba Cloud metadata service',
  oracle: 'Oracle Cloud instance metadata service',
  digitalocean: 'DigitalOcean metadata service',
  openstack: 'OpenStack metadata service',
  hetzner: 'Hetzner Cloud metadata service',
  ibm: 'IBM Cloud metadata service',
  tencent: 'Tencent Cloud metadata service',
  equinix: 'Equinix Metal (Packet) metadata service',
  'kubernetes-api': 'Kubernetes API server',
  rancher: 'Rancher metadata service',
  unknown: 'an unidentified service (helper service, no metadata address visible)',
});

/** Metadata addresses (canonical text) and their service. 169.254.169.254 is shared; the path refines it. */
export const METADATA_ADDRESSES: ReadonlyMap<string, MetadataService> = new Map<string, MetadataService>([
  ['169.254.169.254', 'aws-imds'],
  ['fd00:ec2::254', 'aws-imds'],
  ['169.254.170.2', 'aws-ecs'],
  ['169.254.170.23', 'aws-eks-pod-identity'],
  ['fd00:ec2::23', 'aws-eks-pod-identity'],
  ['100.100.100.200', 'alibaba'],
  ['192.0.0.192', 'oracle'],
]);

interface NameRule {
  name: string | RegExp;
  service: MetadataService;
  /** `metadata` alone also names ordinary internal services: it needs a scheme or a metadata path. */
  needsConfirmation: boolean;
}

const NAME_RULES: readonly NameRule[] = [
  { name: 'metadata.google.internal', service: 'gcp', needsConfirmation: false },
  { name: 'metadata', service: 'gcp', needsConfirmation: true },
  { name: 'instance-data', service: 'aws-imds', needsConfirmation: false },
  { name: 'instance-data.ec2.internal', service: 'aws-imds', needsConfirmation: false },
  { name: /^instance-data\.[a-z0-9-]+\.compute\.internal$/, service: 'aws-imds', needsConfirmation: false },
  { name: 'metadata.tencentyun.com', service: 'tencent', needsConfirmation: false },
  { name: 'metadata.packet.net', service: 'equinix', needsConfirmation: false },
  { name: 'metadata.platformequinix.com', service: 'equinix', needsConfirmation: false },
  { name: 'api.metadata.cloud.ibm.com', service: 'ibm', needsConfirmation: false },
  { name: 'kubernetes.default.svc.cluster.local', service: 'kubernetes-api', needsConfirmation: false },
  { name: 'kubernetes.default.svc', service: 'kubernetes-api', needsConfirmation: false },
  { name: 'kubernetes.default', service: 'kubernetes-api', needsConfirmation: false },
  { name: 'rancher-metadata', service: 'rancher', needsConfirmation: false },
];

// Names that carry an address (wildcard DNS, rebinding, encoded redirectors): found anywhere in a value.
// A DNS name is at most 253 characters. Unbounded, the name part backtracks quadratically: 64 KiB of
// letters before `-.nip.io-` took 10 s per value; bounded, every start position costs at most 253 steps.
const ADDRESS_DNS_TOKEN =
  /[a-z0-9_-][a-z0-9_.-]{0,252}\.(?:nip\.io|sslip\.io|xip\.io|traefik\.me|1u\.ms|rbndr\.us|rebind\.it|rebind\.network|r3dir\.me|patch\.rip)(?![a-z0-9-])/gi;
const ADDRESS_DNS_SUFFIX =
  /\.(?:nip\.io|sslip\.io|xip\.io|traefik\.me|1u\.ms|rbndr\.us|rebind\.it|rebind\.network|r3dir\.me|patch\.rip)(?![a-z0-9-])/i;
/** Singularity of Origin names work on any self-hosted domain: `s-<ip>-<ip>-<session>-<strategy>-e.<domain>`. */
const SINGULARITY_TOKEN =
  /(?<![a-z0-9])s-([0-9a-fx.:]{1,45})-([0-9a-fx.:]{1,45}|localhost)-[a-z0-9]{1,64}-[a-z]{1,40}-e\./gi;

interface PathRule {
  re: RegExp;
  label: string;
  /** The service the path belongs to; undefined when it follows the address (`/latest/…` on Alibaba and Oracle too). */
  service?: MetadataService;
  credential?: boolean;
  token?: boolean;
  /** Distinctive enough to count on any host (reverse-proxy and DNS-alias probes); weak ones need a metadata address. */
  strong: boolean;
}

const EC2_VERSION = '(?:latest|\\d{4}-\\d{2}-\\d{2})';
const PATH_RULES: readonly PathRule[] = [
  {
    re: new RegExp(`^/${EC2_VERSION}/meta-data/iam/security-credentials(?:/|$)`, 'i'),
    label: 'IAM role credentials',
    credential: true,
    strong: true,
  },
  {
    re: new RegExp(`^/${EC2_VERSION}/meta-data/identity-credentials/ec2/security-credentials(?:/|$)`, 'i'),
    label: 'instance identity role credentials',
    credential: true,
    strong: true,
  },
  {
    re: /^\/latest\/meta-data\/(?:ram|cam)\/security-credentials(?:\/|$)/i,
    label: 'RAM/CAM role credentials',
    credential: true,
    strong: true,
  },
  {
    re: /^\/latest\/api\/token(?:\/|$)/i,
    label: 'IMDSv2 session token',
    service: 'aws-imds',
    token: true,
    strong: true,
  },
  { re: new RegExp(`^/${EC2_VERSION}/user-data(?:/|$)`, 'i'), label: 'user data', strong: true },
  {
    re: new RegExp(`^/${EC2_VERSION}/dynamic/instance-identity(?:/|$)`, 'i'),
    label: 'instance identity document',
    strong: true,
  },
  { re: new RegExp(`^/${EC2_VERSION}/meta-data(?:/|$)`, 'i'), label: 'instance metadata', strong: true },
  { re: new RegExp(`^/${EC2_VERSION}(?:/|$)`, 'i'), label: 'metadata root', strong: false },
  {
    re: /^\/computemetadata\/v1(?:beta1)?\/instance\/service-accounts\/[^/]+\/(?:token|identity)(?:\/|$|\?)/i,
    label: 'service-account access token',
    service: 'gcp',
    credential: true,
    strong: true,
  },
  { re: /^\/computemetadata\/v1(?:beta1)?(?:\/|$)/i, label: 'instance metadata', service: 'gcp', strong: true },
  { re: /^\/computemetadata\/?$/i, label: 'metadata root', service: 'gcp', strong: false },
  {
    re: /^\/metadata\/identity\/oauth2\/token(?:\/|$)/i,
    label: 'managed-identity access token',
    service: 'azure',
    credential: true,
    strong: true,
  },
  {
    re: /^\/metadata\/(?:instance|identity|attested|scheduledevents|loadbalancer|versions)(?:\/|$)/i,
    label: 'instance metadata',
    service: 'azure',
    strong: false,
  },
  { re: /^\/metadata\/v1\/maintenance(?:\/|$)/i, label: 'maintenance events', service: 'azure', strong: false },
  { re: /^\/metadata\/v1\/instance(?:\/|$)/i, label: 'instance metadata', service: 'ibm', strong: false },
  { re: /^\/metadata\/v1(?:\.json|\/|$)/i, label: 'droplet metadata', service: 'digitalocean', strong: false },
  {
    re: /^\/instance_identity\/v1\/(?:token|iam_token)(?:\/|$)/i,
    label: 'instance identity token',
    service: 'ibm',
    credential: true,
    strong: true,
  },
  {
    re: /^\/opc\/v[12]\/identity(?:\/|$)/i,
    label: 'instance principal certificate',
    service: 'oracle',
    credential: true,
    strong: true,
  },
  { re: /^\/opc\/v[12](?:\/|$)/i, label: 'instance metadata', service: 'oracle', strong: true },
  {
    re: /^\/openstack\/(?:latest|\d{4}-\d{2}-\d{2})\/(?:meta_data|network_data|vendor_data2?|password|user_data)(?:\.json)?(?:\/|$)/i,
    label: 'instance metadata',
    service: 'openstack',
    strong: true,
  },
  { re: /^\/openstack(?:\/|$)/i, label: 'metadata root', service: 'openstack', strong: false },
  {
    re: /^\/hetzner\/v1\/(?:metadata|userdata)(?:\/|$)/i,
    label: 'instance metadata',
    service: 'hetzner',
    strong: true,
  },
  {
    re: /^\/v2\/credentials(?:\/|$)/i,
    label: 'task role credentials',
    service: 'aws-ecs',
    credential: true,
    strong: false,
  },
  {
    re: /^\/v1\/credentials(?:\/|$)/i,
    label: 'pod role credentials',
    service: 'aws-eks-pod-identity',
    credential: true,
    strong: false,
  },
  {
    re: /^\/api\/v1\/namespaces\/[^/]+\/(?:secrets|serviceaccounts)(?:\/|$)/i,
    label: 'secrets and service-account tokens',
    service: 'kubernetes-api',
    credential: true,
    strong: false,
  },
];

/** Credential paths distinctive enough to count anywhere in a path (`/proxy/x/latest/meta-data/iam/security-credentials/`). */
const CREDENTIAL_ANYWHERE =
  /\/(?:latest|\d{4}-\d{2}-\d{2})\/meta-data\/iam\/security-credentials(?:\/|$)|\/computemetadata\/v1(?:beta1)?\/instance\/service-accounts\/[^/]+\/token|\/metadata\/identity\/oauth2\/token/i;
/** Cheap test before the path rules: could this text hold a metadata path at all? */
const PATH_HINT =
  /latest|meta-?data|user-data|computemetadata|\/opc\/v|openstack|hetzner|credentials|instance_identity|\/\d{4}-\d{2}-\d{2}\/|\/api\/v1\/namespaces/i;

/** Cheap test before trying path segments as names: could any metadata, wildcard or rebinding name be in here? */
const NAME_HINT = new RegExp(`metadata|instance-data|kubernetes|${HELPER_HINT.source}`, 'i');

/** Network schemes a parser may accept without slashes (`http:169.254.169.254`, `gopher:…`). */
const SLASHLESS_SCHEMES = new Set([
  'http',
  'https',
  'ftp',
  'ftps',
  'gopher',
  'dict',
  'ldap',
  'ldaps',
  'tftp',
  'sftp',
  'netdoc',
  'ws',
  'wss',
  'imap',
  'pop3',
  'smtp',
  'telnet',
  'ssh',
  'rtmp',
  'rsync',
  'xri',
  'acap',
  'irc',
  'jar',
]);

/** Parameter names whose value is a URL or a host. */
const URL_PARAM_EXACT =
  /^(?:u|url|uri|link|href|src|source|dest|destination|target|redirect|redir|return|returnto|return_to|next|continue|goto|go|to|out|callback|cb|webhook|hook|feed|rss|image|img|fetch|proxy|host|hostname|domain|site|server|endpoint|origin|forward|location|preview|remote|navigate)$/i;
const URL_PARAM_PART =
  /url|uri|host|redirect|callback|webhook|endpoint|proxy|domain|href|link|target|dest|fetch|image|avatar|feed/i;

/** True when a parameter of this name carries a URL or host by convention. */
export function isUrlParameterName(name: string): boolean {
  return URL_PARAM_EXACT.test(name) || URL_PARAM_PART.test(name);
}

const MAX_SCAN_CHARS = 16 * 1024;
const MAX_CANDIDATES = 64;
const EVIDENCE_CHARS = 200;

/** Normalises a decoded path for matching: `\` as `/`, no `//`, dot segments resolved, `;params` dropped. */
export function normaliseMetadataPath(path: string): string {
  const cut = path.length > 1024 ? path.slice(0, 1024) : path;
  const out: string[] = [];
  for (const raw of cut.replace(/\\/g, '/').split('/')) {
    const segment = raw.includes(';') ? raw.slice(0, raw.indexOf(';')) : raw;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      out.pop();
      continue;
    }
    out.push(segment);
  }
  const trailing = /\/$/.test(cut) && out.length > 0 ? '/' : '';
  return `/${out.join('/')}${trailing}`;
}

function matchPath(path: string): PathRule | undefined {
  if (path === '' || !PATH_HINT.test(path)) return undefined;
  const normal = normaliseMetadataPath(path);
  return PATH_RULES.find((rule) => rule.re.test(normal));
}

/**
 * Where a candidate host was read: after a scheme, `//` or `@`; the request's own authority; the whole value
 * of a parameter named as a URL or host (`url-param`) or of another one (`bare-param`); a path segment
 * followed by more path; a DNS name found anywhere in the text.
 */
type Context = 'scheme' | 'slashes' | 'at' | 'host-field' | 'url-param' | 'bare-param' | 'path-segment' | 'dns-token';

/** Contexts where a request would actually be sent to the host: only there does a helper name alone count. */
const FETCH_CONTEXTS: ReadonlySet<Context> = new Set([
  'scheme',
  'slashes',
  'at',
  'host-field',
  'url-param',
  'bare-param',
]);

interface Candidate {
  host: string;
  path: string;
  context: Context;
  where: TargetWhere;
  evidence: string;
}

interface Recognised {
  service: MetadataService;
  canonical: string;
  notation: string;
  recognisedBy: MetadataTarget['recognisedBy'];
  path: string;
  helper?: HelperUse;
}

/** Addresses written inside a wildcard or rebinding DNS name (`a.169.254.169.254.nip.io`, `169-254-169-254.sslip.io`, `a9fea9fe.nip.io`). */
function addressesInName(labels: string): HostAddress[] {
  const found: HostAddress[] = [];
  const quad = /(\d{1,3})[.-](\d{1,3})[.-](\d{1,3})[.-](\d{1,3})/g;
  for (let start = 0; start < labels.length; start++) {
    quad.lastIndex = start;
    const m = quad.exec(labels);
    if (!m) break;
    const a = parseIpv4Notation(`${m[1]}.${m[2]}.${m[3]}.${m[4]}`);
    if (a && !a.wrapped) found.push(a);
    start = m.index;
  }
  for (const label of labels.split(/[.-]/)) {
    if (/^[0-9a-f]{8}$/.test(label)) {
      const a = parseIpv4Notation(`0x${label}`);
      if (a) found.push(a);
    }
  }
  if (labels.includes('--')) {
    for (const label of labels.split('.')) {
      const v6 = parseIpv6Notation(label.replace(/-/g, ':'));
      if (v6) found.push(v6);
    }
  }
  return found;
}

function recogniseName(name: string, candidate: Candidate): Recognised | undefined {
  for (const rule of NAME_RULES) {
    const hit = typeof rule.name === 'string' ? rule.name === name : rule.name.test(name);
    if (!hit) continue;
    if (rule.needsConfirmation) {
      const confirmed =
        candidate.context === 'scheme' || candidate.context === 'slashes' || matchPath(candidate.path) !== undefined;
      if (!confirmed) return undefined;
    }
    return {
      service: rule.service,
      canonical: name,
      notation: 'DNS name',
      recognisedBy: 'dns-name',
      path: candidate.path,
    };
  }
  const helper = helperForName(name);
  const singularity = singularityAddresses(name);
  if (helper) return recogniseHelper(name, helper, candidate, singularity);
  if (singularity.length > 0) return recogniseHelper(name, SINGULARITY, candidate, singularity);
  return undefined;
}

const SINGULARITY = HELPER_SERVICES.find((s) => s.family === 'Singularity of Origin')!;

/** The two addresses of a Singularity of Origin name (`s-1.2.3.4-169.254.169.254-123-fromqueryroundrobin-e.…`). */
function singularityAddresses(name: string): HostAddress[] {
  if (!name.includes('-e.')) return [];
  SINGULARITY_TOKEN.lastIndex = 0;
  const m = SINGULARITY_TOKEN.exec(name);
  if (!m) return [];
  return [m[1]!, m[2]!].flatMap((text) => parseHostAddress(text) ?? []);
}

function helperUse(service: HelperService, decoded: string): HelperUse {
  return { family: service.family, kind: service.kind, source: service.source, decoded };
}

/** IPv6 written with dashes for colons (`--ffff-a9fe-a9fe`, `fd00-ec2--254`), possibly after a dash prefix. */
function dashedIpv6(labels: string): HostAddress[] {
  const found: HostAddress[] = [];
  for (const label of labels.split('.')) {
    if (!label.includes('--')) continue;
    const parts = label.split('-');
    for (let skip = 0; skip < Math.min(parts.length, 8); skip++) {
      const v6 = parseIpv6Notation(parts.slice(skip).join(':'));
      if (v6) {
        found.push(v6);
        break;
      }
    }
  }
  return found;
}

/** Addresses a helper name carries, and how they were read (for the reason). */
function helperAddresses(service: HelperService, labels: string): { addresses: HostAddress[]; how: string } {
  switch (service.family) {
    case 'xip.io': {
      const addresses = addressesInName(labels);
      const last = labels.split('.').pop() ?? '';
      // xip.io also took base-36 encoded addresses (`1ynrnhl.xip.io` in SecLists).
      if (addresses.length === 0 && /^[0-9a-z]{6,7}$/.test(last) && !/^\d+$/.test(last)) {
        const value = parseInt(last, 36);
        const a = value < 4294967296 ? parseIpv4Notation(String(value)) : undefined;
        if (a) return { addresses: [a], how: `base-36 label ${last}` };
      }
      return { addresses, how: 'the address written in the name' };
    }
    case '1u.ms': {
      const v6 = /make-ip-v6-([0-9a-fc]{2,64})-rr/.exec(labels);
      if (v6) {
        const a = parseIpv6Notation(v6[1]!.replace(/c/g, ':'));
        return { addresses: a ? [a] : [], how: `IPv6 with c for colons (${v6[1]})` };
      }
      const hex = /make-hex-([0-9a-f]{2,120})-rr/.exec(labels);
      if (hex) {
        const text = Buffer.from(hex[1]!, 'hex').toString('latin1').toLowerCase();
        return { addresses: addressesInName(text), how: `hex-encoded record "${text.slice(0, 60)}"` };
      }
      return { addresses: addressesInName(labels), how: 'the addresses between make- and -rr' };
    }
    case 'nip.io':
    case 'sslip.io':
    case 'traefik.me':
      return { addresses: [...addressesInName(labels), ...dashedIpv6(labels)], how: 'the address written in the name' };
    default:
      return { addresses: addressesInName(labels), how: 'the addresses written in the name' };
  }
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32 without padding, lower-case; undefined unless it decodes to printable URL text. */
function base32Text(text: string): string | undefined {
  if (text === '' || text.length > 400) return undefined;
  let bits = 0;
  let value = 0;
  let out = '';
  for (const c of text) {
    const v = BASE32.indexOf(c);
    if (v < 0) return undefined;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      const code = (value >> bits) & 0xff;
      if (code < 0x20 || code > 0x7e) return undefined;
      out += String.fromCharCode(code);
    }
  }
  return /^[a-z][a-z0-9+.-]{1,30}:\/\//i.test(out) ? out : undefined;
}

/** A metadata target in a URL the helper decoded to (the target of a redirector). */
function recogniseDecodedUrl(url: string, candidate: Candidate): Recognised | undefined {
  const scheme = /^[a-z][a-z0-9+.-]{1,30}:[/\\]{2}/i.exec(url);
  if (!scheme) return undefined;
  const out: Candidate[] = [];
  authorityCandidates(url, scheme[0].length, 'scheme', candidate.where, 0, out);
  for (const c of out) {
    const r = recognise(c);
    if (r && r.recognisedBy !== 'helper') return r;
  }
  return undefined;
}

/** Redirector paths with the target in them: `/redir-http-169.254.169.254:80-latest/…`, `/302-http-…`. */
const REDIRECT_PATH = /^\/(?:redir|\d{3})-([a-z]{2,10})-([^/:]{1,120}|\[[0-9a-f:.]{2,60}\]):(\d{1,5})-(.{0,1000})$/i;

/**
 * A helper-service name: decoded to the metadata address it carries (a hit as strong as the address),
 * or — when nothing decodes to a metadata address but the service exists only to send a fetcher elsewhere
 * (rebinding, opaque redirector, out-of-band) and a request would go to it — a weak helper-only hit.
 */
function recogniseHelper(
  name: string,
  service: HelperService,
  candidate: Candidate,
  singularity: HostAddress[],
): Recognised | undefined {
  const registered = name.split('.').slice(-2).join('.');
  const labels = name === registered ? '' : name.slice(0, -registered.length - 1);
  const onlyHelper = (): Recognised | undefined =>
    FETCH_CONTEXTS.has(candidate.context) && candidate.where !== 'userinfo'
      ? {
          service: 'unknown',
          canonical: name,
          notation: `${service.kind} service ${service.family}`,
          recognisedBy: 'helper',
          path: candidate.path,
          helper: helperUse(service, ''),
        }
      : undefined;
  const decodedHit = (address: HostAddress, how: string, by: 'dns-name' | 'redirector'): Recognised | undefined => {
    const target = METADATA_ADDRESSES.get(address.canonical);
    if (!target) return undefined;
    const kind =
      service.kind === 'rebinding' ? 'DNS-rebinding' : service.kind === 'redirector' ? 'redirector' : 'wildcard DNS';
    return {
      service: target,
      canonical: address.canonical,
      notation: `${service.family} ${kind} name`,
      recognisedBy: by,
      path: by === 'redirector' ? '' : candidate.path,
      helper: helperUse(service, how),
    };
  };

  if (service.kind === 'wildcard-dns' || service.kind === 'rebinding') {
    const { addresses, how } =
      singularity.length > 0
        ? { addresses: singularity, how: 's-<ip>-<ip>-…-e. labels' }
        : helperAddresses(service, labels);
    for (const address of addresses) {
      const hit = decodedHit(address, how, 'dns-name');
      if (hit) return hit;
    }
    // A wildcard name to a visible non-metadata address goes there; a rebinding name may go anywhere next.
    return service.kind === 'rebinding' && labels !== '' ? onlyHelper() : undefined;
  }
  // The service's own site (`http://1u.ms`, `https://webhook.site/`) is documentation, not a payload.
  if (service.kind === 'out-of-band')
    return labels !== '' || /^\/[^/?#]/.test(candidate.path) ? onlyHelper() : undefined;

  // Redirectors.
  const path = candidate.path;
  const inPath = REDIRECT_PATH.exec(path);
  if (inPath) {
    const address = parseHostAddress(inPath[2]!.toLowerCase());
    const hit = address ? decodedHit(address, `target ${inPath[2]}:${inPath[3]} in the path`, 'redirector') : undefined;
    if (hit) return { ...hit, path: inPath[4] ? `/${inPath[4]}` : '' };
    if (address) return undefined;
  }
  switch (service.family) {
    case 'nicob.net':
      // Listed in PayloadsAllTheThings as a static redirector to the AWS metadata service.
      if (/^\/redir6a\b/i.test(path)) {
        return {
          service: 'aws-imds',
          canonical: '169.254.169.254',
          notation: 'static redirector nicob.net/redir6a',
          recognisedBy: 'redirector',
          path: '',
          helper: helperUse(service, 'redir6a always redirects to http://169.254.169.254/'),
        };
      }
      return /^\/redir/i.test(path) ? onlyHelper() : undefined;
    case 'r3dir': {
      // `/--to/?url=…`: the target is a URL in the same value, judged on its own.
      if (/^\/--to\b/i.test(path)) return undefined;
      const parts = labels.split('.').filter((l) => l !== '');
      const ignore = parts.lastIndexOf('--');
      const encoded = parts.slice(ignore + 1).filter((l) => !/^\d{3}$/.test(l));
      const url = base32Text(encoded.join(''));
      if (url) {
        const r = recogniseDecodedUrl(url, candidate);
        return r
          ? {
              ...r,
              recognisedBy: 'redirector',
              notation: 'r3dir redirector name',
              helper: helperUse(service, `base32 of ${url.slice(0, 120)}`),
            }
          : undefined;
      }
      return labels !== '' ? onlyHelper() : undefined;
    }
    case '302faker': {
      const label = labels.split('.').pop() ?? '';
      if (!label.startsWith('_') && !label.includes('__')) return onlyHelper();
      const scheme = label.startsWith('__') ? 'file://' : label.startsWith('_') ? 'http://' : 'https://';
      const url =
        scheme +
        label
          .replace(/^_{1,2}/, '')
          .replace(/___/g, '/')
          .replace(/__/g, '.');
      const r = recogniseDecodedUrl(url, candidate);
      return r
        ? {
            ...r,
            recognisedBy: 'redirector',
            notation: '302faker redirector name',
            helper: helperUse(service, `${label} → ${url}`),
          }
        : /[0-9]/.test(label)
          ? undefined
          : onlyHelper();
    }
    default:
      return labels !== '' ? onlyHelper() : undefined;
  }
}

/** A plain DNS name with none of the fragments every recognised name has: cannot be a metadata target. */
const PLAIN_NAME = /^[a-z][a-z0-9.-]*(?::\d{0,5})?$/i;

/**
 * parseHostAddress, also for the IPv6 hosts parsers take though they are malformed: a missing bracket
 * (`[::ffff:a9fe:a9fe`, `fd00:ec2::254]`) or an unbracketed address followed by a port (`fd00:ec2::254:80`).
 */
function parseBrokenHost(text: string): HostAddress | undefined {
  let host = text;
  const strayClose = host.startsWith('[') ? null : /^(.{2,60})\]:\d{1,5}$/.exec(host);
  if (strayClose) host = strayClose[1]!;
  if (host.startsWith('[') && !host.includes(']')) host = host.slice(1);
  else if (host.endsWith(']') && !host.startsWith('[')) host = host.slice(0, -1);
  const address = parseHostAddress(host);
  if (address && METADATA_ADDRESSES.has(address.canonical)) return address;
  if (!host.startsWith('[') && host.indexOf(':') !== host.lastIndexOf(':')) {
    const withPort = /^(.{2,60}):\d{1,5}$/.exec(host);
    const unported = withPort ? parseHostAddress(withPort[1]!) : undefined;
    if (unported && METADATA_ADDRESSES.has(unported.canonical)) return unported;
  }
  return address;
}

function recognise(candidate: Candidate): Recognised | undefined {
  if (PLAIN_NAME.test(candidate.host) && !NAME_HINT.test(candidate.host)) return undefined;
  let text = candidate.host.trim().toLowerCase();
  if (text === '' || text.length > 260) return undefined;
  if (text.endsWith('.') && !text.endsWith('..')) text = text.slice(0, -1);
  const address = parseBrokenHost(text);
  if (address) {
    const service = METADATA_ADDRESSES.get(address.canonical);
    if (!service) return undefined;
    const strongContext =
      candidate.context === 'scheme' ||
      candidate.context === 'slashes' ||
      candidate.context === 'at' ||
      candidate.context === 'host-field' ||
      candidate.context === 'url-param';
    const pathRule = matchPath(candidate.path);
    if (!strongContext) {
      // A bare value or path segment: dotless numbers and any segment need a metadata path after them.
      if (address.parts === 1 || candidate.context === 'path-segment' || candidate.context === 'dns-token') {
        if (!pathRule) return undefined;
      }
    }
    return {
      service,
      canonical: address.canonical,
      notation: address.notation,
      recognisedBy: 'address',
      path: candidate.path,
    };
  }
  if (!/^[a-z0-9_-][a-z0-9_.-]*$/.test(text)) return undefined;
  return recogniseName(text, candidate);
}

/** Refines the shared link-local address by the path and headers: GCP, Azure, DigitalOcean … all answer there. */
function refineService(
  service: MetadataService,
  canonical: string,
  rule: PathRule | undefined,
  headers: ReadonlySet<string>,
): MetadataService {
  if (canonical !== '169.254.169.254') return service;
  if (rule?.service) return rule.service;
  if (headers.has('metadata-flavor') || headers.has('x-google-metadata-request')) return 'gcp';
  if (headers.has('metadata')) return 'azure';
  return service;
}

const DELIMITERS_AFTER_HOST = new Set([47, 63, 35, 92, 32, 9, 10, 13, 34, 39, 60, 62, 96]);
const PIECE_END = /[@\\/#?&;,\s"'<>]/;

function pathAfter(text: string, at: number): string {
  const c = text.charCodeAt(at);
  if (c !== 47 && c !== 92) return '';
  let end = at;
  while (end < text.length && end - at < 1024) {
    const d = text.charCodeAt(end);
    if (d === 63 || d === 35 || d === 32 || d === 9 || d === 34 || d === 39 || d === 60 || d === 62 || d === 38) break;
    end++;
  }
  return text.slice(at, end);
}

function snippet(text: string, from: number): string {
  const start = Math.max(0, from);
  return text.slice(start, start + EVIDENCE_CHARS);
}

/**
 * The host a parser takes when it ends the authority at the first `:`, `;`, `,` or space (URL-parser
 * confusion: `host:80:80`, `host:80;other:80`, `host:80,other:80` — Orange Tsai, "A New Era of SSRF",
 * and the forms cujanovic/SSRF-Testing's ip.py generates). '' for bracketed IPv6 (already split).
 */
function laxHost(hostPort: string): string {
  if (hostPort.startsWith('[')) return '';
  let end = 0;
  while (end < hostPort.length && !':;, \t'.includes(hostPort[end]!)) end++;
  return end === hostPort.length ? '' : hostPort.slice(0, end);
}

/** The host a WHATWG parser takes from `host:port`, then the one a lenient parser takes when it differs. */
function hostsOf(hostPort: string): string[] {
  const host = splitHostPort(hostPort).host;
  const lax = laxHost(hostPort);
  return lax !== '' && lax !== host ? [host, lax] : [host];
}

/** A bracketed address inside a userinfo part (`x@[::ffff:169.254.169.254%25eth0]:80`), whole; '' when none. */
function bracketedHostIn(part: string): string {
  const bracket = part.indexOf('[');
  return bracket >= 0 ? splitHostPort(part.slice(bracket)).host : '';
}

/** Candidates from one authority that starts at `start` (after `scheme://`, `//` or a bare `@`). */
function authorityCandidates(
  text: string,
  start: number,
  context: Context,
  where: TargetWhere,
  evidenceFrom: number,
  out: Candidate[],
): number {
  const limit = Math.min(text.length, start + 256);
  let whatwgEnd = start;
  while (whatwgEnd < limit && !DELIMITERS_AFTER_HOST.has(text.charCodeAt(whatwgEnd))) whatwgEnd++;
  const authority = text.slice(start, whatwgEnd);
  const evidence = snippet(text, evidenceFrom);
  const at = authority.lastIndexOf('@');
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  for (const host of hostsOf(hostPort)) out.push({ host, path: pathAfter(text, whatwgEnd), context, where, evidence });
  if (at >= 0) {
    const pieces = new Set<string>();
    for (const part of authority.slice(0, at).split('@')) {
      // `user:pass` is both pieces; a bracketed address keeps its colons.
      pieces.add(bracketedHostIn(part));
      for (const piece of part.split(':')) pieces.add(piece);
    }
    for (const piece of pieces) {
      if (piece !== '') out.push({ host: piece, path: '', context, where: 'userinfo', evidence });
    }
  }
  // Other parsers end the authority elsewhere: after `\`, `#`, `?` or spaces an `@` may start the host they use.
  let end = whatwgEnd;
  while (end < limit) {
    const c = text.charCodeAt(end);
    if (c === 47 || c === 34 || c === 39 || c === 60 || c === 62 || c === 10) break;
    end++;
  }
  for (let i = text.indexOf('@', whatwgEnd); i >= 0 && i < end; i = text.indexOf('@', i + 1)) {
    let j = i + 1;
    while (j < end && !PIECE_END.test(text[j]!)) j++;
    const piece = text.slice(i + 1, j);
    if (piece !== '')
      out.push({ host: splitHostPort(piece).host, path: pathAfter(text, j), context: 'at', where, evidence });
  }
  return Math.max(end, whatwgEnd);
}

const SCHEME = /([a-z][a-z0-9+.-]{0,30}):/gi;
const SCHEME_CHAR = /[a-z0-9+.-]/i;
const SLASH_START = new Set([61, 38, 63, 35, 59, 44, 40, 32, 9, 34, 39]);

/**
 * `0://host`: a scheme of digits is no scheme to WHATWG, but some parsers (PHP's parse_url, older cURL)
 * still read the authority after it (Orange Tsai, "A New Era of SSRF").
 */
function afterDigitScheme(text: string, slashes: number): boolean {
  if (text.charCodeAt(slashes - 1) !== 58) return false;
  let k = slashes - 2;
  while (k >= 0 && text.charCodeAt(k) >= 48 && text.charCodeAt(k) <= 57) k--;
  return k < slashes - 2 && (k < 0 || text.charCodeAt(k) === 47 || SLASH_START.has(text.charCodeAt(k)));
}

/** Every place in `text` a URL parser might take a host from. */
function urlCandidates(text: string, where: TargetWhere, out: Candidate[]): void {
  const hasColon = text.includes(':');
  const hasAt = text.includes('@');
  const hasSlashes = text.includes('//');
  const covered: [number, number][] = [];
  if (hasColon) {
    SCHEME.lastIndex = 0;
    for (let m = SCHEME.exec(text); m !== null && out.length < MAX_CANDIDATES; m = SCHEME.exec(text)) {
      const idx = m.index;
      if (idx > 0 && SCHEME_CHAR.test(text[idx - 1]!)) continue;
      const scheme = m[1]!.toLowerCase();
      let p = idx + m[0].length;
      let slashes = 0;
      while (p < text.length && slashes < 5 && (text[p] === '/' || text[p] === '\\')) {
        p++;
        slashes++;
      }
      if (slashes === 0) {
        if (!SLASHLESS_SCHEMES.has(scheme) || p >= text.length || /[\s/]/.test(text[p]!)) continue;
      } else if (scheme.length < 2 || /^\d+$/.test(scheme)) {
        continue;
      }
      const end = authorityCandidates(text, p, 'scheme', where, idx, out);
      covered.push([idx, end]);
    }
  }
  if (hasSlashes) {
    for (let i = text.indexOf('//'); i >= 0 && out.length < MAX_CANDIDATES; i = text.indexOf('//', i + 2)) {
      if (i > 0 && !SLASH_START.has(text.charCodeAt(i - 1)) && !afterDigitScheme(text, i)) continue;
      if (covered.some(([a, b]) => i >= a && i < b)) continue;
      const end = authorityCandidates(text, i + 2, 'slashes', where, i, out);
      covered.push([i, end]);
    }
  }
  if (hasAt) {
    for (let i = text.indexOf('@'); i >= 0 && out.length < MAX_CANDIDATES; i = text.indexOf('@', i + 1)) {
      if (covered.some(([a, b]) => i >= a && i < b)) continue;
      let j = i + 1;
      while (j < text.length && j - i < 256 && !PIECE_END.test(text[j]!)) j++;
      const piece = text.slice(i + 1, j);
      if (piece !== '') {
        out.push({
          host: splitHostPort(piece).host,
          path: pathAfter(text, j),
          context: 'at',
          where,
          evidence: snippet(text, i),
        });
      }
    }
  }
  if (ADDRESS_DNS_SUFFIX.test(text)) {
    ADDRESS_DNS_TOKEN.lastIndex = 0;
    for (
      let m = ADDRESS_DNS_TOKEN.exec(text);
      m !== null && out.length < MAX_CANDIDATES;
      m = ADDRESS_DNS_TOKEN.exec(text)
    ) {
      const end = m.index + m[0].length;
      const after = text[end] === ':' ? end + 1 + (/^\d{0,5}/.exec(text.slice(end + 1))?.[0].length ?? 0) : end;
      out.push({
        host: m[0],
        path: pathAfter(text, after),
        context: 'dns-token',
        where,
        evidence: snippet(text, m.index),
      });
    }
  }
  if (text.includes('-e.')) {
    SINGULARITY_TOKEN.lastIndex = 0;
    for (
      let m = SINGULARITY_TOKEN.exec(text);
      m !== null && out.length < MAX_CANDIDATES;
      m = SINGULARITY_TOKEN.exec(text)
    ) {
      let end = m.index + m[0].length;
      while (end < text.length && end - m.index < 253 && DNS_CHAR.test(text[end]!)) end++;
      out.push({
        host: text.slice(m.index, end),
        path: pathAfter(text, end),
        context: 'dns-token',
        where,
        evidence: snippet(text, m.index),
      });
    }
  }
}

const DNS_CHAR = /[a-z0-9.-]/i;
/** The first segment of a metadata path, tested at one position (sticky: constant work per slash). */
const METADATA_PATH_START =
  /(?:latest|\d{4}-\d\d-\d\d|computemetadata|metadata|opc|openstack|hetzner|v[12]|api|instance_identity)(?=[/\\.?#&]|$)/iy;
const HOST_CHAR = /[a-z0-9.:[\]%_-]/i;

/**
 * An address written anywhere in a value and followed by a metadata path — in the path of another URL
 * (`http://proxy.example/fetch/169.254.169.254/latest/meta-data/`), after other text, in a fragment.
 * Dotless numbers need a distinctive (strong) metadata path after them.
 */
function embeddedCandidates(text: string, where: TargetWhere, out: Candidate[]): void {
  for (let j = text.indexOf('/'); j > 0 && out.length < MAX_CANDIDATES; j = text.indexOf('/', j + 1)) {
    METADATA_PATH_START.lastIndex = j + 1;
    if (!METADATA_PATH_START.test(text)) continue;
    let k = j;
    while (k > 0 && j - k < 260 && HOST_CHAR.test(text[k - 1]!)) k--;
    const token = text.slice(k, j);
    if (!/[0-9]/.test(token)) continue;
    const path = pathAfter(text, j);
    const rule = matchPath(path);
    if (!rule || (!/[.:]/.test(splitHostPort(token).host) && !rule.strong)) continue;
    out.push({ host: splitHostPort(token).host, path, context: 'path-segment', where, evidence: snippet(text, k) });
  }
}

/** Path segments that name what follows as a URL to fetch (`/fetch/2852039166`, `/proxy/…`), like a `url=` parameter. */
const URL_SEGMENT = /^(?:url|uri|fetch|proxy|redirect|redir|forward)$/i;

/** An unbracketed IPv6 address (maybe with a port or a stray `]`) that starts like a scheme (`fd00:ec2::254`). */
const BARE_IPV6 = /^[0-9a-f]{1,4}:[0-9a-f]{0,4}:[0-9a-f:.]{0,60}\]?(?:[/?#%]|$)/i;

/** A value that may be a bare `host[:port][/path]` (no scheme). */
function bareValueCandidate(value: string, where: TargetWhere, urlish: boolean, out: Candidate[]): void {
  let v = value.trim();
  if (v.startsWith('"') || v.startsWith("'")) v = v.slice(1);
  if (v === '' || v.length > 2048) return;
  // Values with a scheme or `//` are URLs: urlCandidates reads them.
  if (/^(?:[a-z][a-z0-9+.-]{0,30}:|\/\/)/i.test(v) && !BARE_IPV6.test(v)) return;
  let end = 0;
  while (end < v.length && end < 300 && !/[/?#\\\s]/.test(v[end]!)) end++;
  const hostPort = v.slice(0, end);
  const path = pathAfter(v, end);
  if (!urlish && matchPath(path) === undefined) return;
  out.push({
    host: splitHostPort(hostPort).host,
    path,
    context: urlish ? 'url-param' : 'bare-param',
    where,
    evidence: snippet(v, 0),
  });
}

/** `a=1&b=2` (also `;`-separated) → name/value pairs, values not decoded. */
function parameters(query: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of query.split(/[&;]/)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    out.push(eq < 0 ? ['', part] : [part.slice(0, eq), part.slice(eq + 1)]);
    if (out.length >= 256) break;
  }
  return out;
}

interface Found {
  candidate: Candidate;
  recognised: Recognised;
  layer: number;
  steps: DecodingStep[][];
}

function layersOf(text: string): { layers: string[]; steps: DecodingStep[][] } {
  const bounded = text.length > MAX_SCAN_CHARS ? text.slice(0, MAX_SCAN_CHARS) : text;
  return mayBeEncoded(bounded) ? decodeLayers(bounded) : { layers: [bounded], steps: [] };
}

/** Scans one request component through every decoding layer. */
function scanComponent(
  text: string,
  where: TargetWhere,
  mode: 'path' | 'params' | 'fragment' | 'url-only',
  found: Found[],
): void {
  if (text === '') return;
  const { layers, steps } = layersOf(text);
  for (let layer = 0; layer < layers.length; layer++) {
    const s = layers[layer]!;
    const candidates: Candidate[] = [];
    if (mode === 'url-only') {
      // Referer, User-Agent …: only a value that is itself a URL to the service counts.
      const m = /^\s*([a-z][a-z0-9+.-]{1,30}):[/\\]{2}/i.exec(s);
      if (m) authorityCandidates(s, m[0].length, 'scheme', where, 0, candidates);
      else if (s.startsWith('//')) authorityCandidates(s, 2, 'slashes', where, 0, candidates);
    } else {
      urlCandidates(s, where, candidates);
    }
    if (mode === 'path' && PATH_HINT.test(s)) {
      // A host written as a path segment and followed by a metadata path (`/proxy/169.254.169.254/latest/meta-data`).
      const segments = s.replace(/\\/g, '/').split('/');
      let offset = 0;
      for (let i = 0; i < segments.length && candidates.length < MAX_CANDIDATES; i++) {
        const seg = segments[i]!;
        offset += seg.length + 1;
        if (seg === '' || !/[0-9.:\]]/.test(seg)) continue;
        candidates.push({
          host: splitHostPort(seg).host,
          path: `/${segments.slice(i + 1).join('/')}`,
          context: 'path-segment',
          where,
          evidence: snippet(s, offset - seg.length - 1),
        });
      }
    }
    if (mode === 'path') {
      const segments = s.split('/');
      for (let i = 0; i + 1 < segments.length && i < 64; i++) {
        if (URL_SEGMENT.test(segments[i]!))
          bareValueCandidate(segments.slice(i + 1).join('/'), where, true, candidates);
      }
    } else if (mode === 'params' || mode === 'fragment') {
      embeddedCandidates(s, where, candidates);
    }
    if ((mode === 'path' || mode === 'fragment') && NAME_HINT.test(s)) {
      // A segment that is a name only metadata services use, or a wildcard/rebinding DNS name, needs no path after it.
      for (const seg of s.split(/[/\\]/)) {
        if (seg.includes('.') && /[a-z]/i.test(seg) && seg.length < 260) {
          candidates.push({
            host: splitHostPort(seg).host,
            path: '',
            context: 'dns-token',
            where,
            evidence: snippet(seg, 0),
          });
        }
      }
    }
    if (mode === 'params' || mode === 'fragment') {
      const query = mode === 'fragment' && s.includes('?') ? s.slice(s.indexOf('?') + 1) : s;
      for (const [name, value] of parameters(query)) {
        if (value === '') continue;
        bareValueCandidate(value, where, name !== '' && isUrlParameterName(name), candidates);
      }
      if (mode === 'fragment') bareValueCandidate(s, where, true, candidates);
    }
    for (const candidate of candidates) {
      const recognised = recognise(candidate);
      // Referer, User-Agent and other headers name pages, not fetch targets: a helper domain there is no SSRF.
      if (recognised && !(mode === 'url-only' && recognised.recognisedBy === 'helper'))
        found.push({ candidate, recognised, layer, steps: steps.slice(0, layer) });
    }
    pathOnly(s, where, mode, layer, steps, found);
  }
}

/** Metadata paths without a recognised host: on the request's own path, in a parameter value, or under any host in a URL. */
function pathOnly(
  s: string,
  where: TargetWhere,
  mode: 'path' | 'params' | 'fragment' | 'url-only',
  layer: number,
  steps: DecodingStep[][],
  found: Found[],
): void {
  if (mode === 'url-only' || !PATH_HINT.test(s)) return;
  const add = (path: string, host: string, from: number): void => {
    const rule = matchPath(path);
    const anywhere = CREDENTIAL_ANYWHERE.exec(path);
    if ((rule && rule.strong) || anywhere) {
      const metadataPath = rule?.strong ? path : path.slice(anywhere!.index);
      found.push({
        candidate: { host, path: metadataPath, context: 'bare-param', where, evidence: snippet(s, from) },
        recognised: {
          service: matchPath(metadataPath)?.service ?? 'aws-imds',
          canonical: host,
          notation: 'metadata path',
          recognisedBy: 'path',
          path: metadataPath,
        },
        layer,
        steps: steps.slice(0, layer),
      });
    }
  };
  if (mode === 'path') add(s, '', 0);
  const urls = /[a-z][a-z0-9+.-]{1,30}:[/\\]{1,3}([^/\\?#\s"'<>]{1,256})([/\\][^?#\s"'<>&]*)/gi;
  for (let m = urls.exec(s); m !== null; m = urls.exec(s)) {
    const authority = m[1]!;
    add(m[2]!, splitHostPort(authority.slice(authority.lastIndexOf('@') + 1)).host, m.index);
  }
  if (mode === 'params' || mode === 'fragment') {
    for (const [, value] of parameters(s)) {
      const v = value.replace(/^(?:\.\.?[/\\])+/, '/');
      if (v.startsWith('/')) add(v, '', s.indexOf(value));
    }
  }
}

/** The parts of a request the canonicaliser reads; built from a WebRequest by {@link findMetadataTarget}. */
export interface MetadataScanInput {
  /** Request target as logged; its authority is scanned when it is absolute-form. */
  url: string;
  /** Where the authority of an absolute-form url counts: the Host (ALB, ELB) or the request line (proxies). */
  authorityWhere: 'host' | 'request-line';
  /** Host header / vhost / CloudFront x-host-header, when the url is not absolute. */
  host: string;
  path: string;
  query: string;
  fragment: string;
  headers: ReadonlyArray<readonly [string, string]>;
  referer: string;
  userAgent: string;
  /** WAF rule ids and labels that matched. */
  wafRules: readonly string[];
}

const NO_HEADERS: ReadonlySet<string> = new Set();
const NOTHING: { layers: string[]; steps: DecodingStep[][] } = { layers: [], steps: [] };
const HOST_HEADERS = new Set(['x-forwarded-host', 'x-host', 'x-original-host', 'x-forwarded-server']);
const PATH_HEADERS = new Set(['x-original-url', 'x-rewrite-url']);
const METADATA_HEADERS = new Set([
  'metadata-flavor',
  'x-google-metadata-request',
  'metadata',
  'x-aws-ec2-metadata-token',
  'x-aws-ec2-metadata-token-ttl-seconds',
]);

function rank(f: Found): number {
  const r = f.recognised;
  const rule = matchPath(r.path);
  return (
    (rule?.credential ? 1000 : 0) +
    (rule?.token ? 500 : 0) +
    (r.recognisedBy === 'address' || r.recognisedBy === 'dns-name'
      ? 200
      : r.recognisedBy === 'redirector'
        ? 150
        : r.recognisedBy === 'waf-rule'
          ? 100
          : r.recognisedBy === 'helper'
            ? -40
            : 0) +
    (rule ? 50 : 0) +
    (f.candidate.where === 'host' || f.candidate.where === 'request-line' ? 10 : 0) -
    f.layer
  );
}

function hostCandidates(text: string, where: TargetWhere, requestPath: string, found: Found[]): void {
  if (text === '') return;
  const { layers, steps } = layersOf(text);
  for (let layer = 0; layer < layers.length; layer++) {
    const s = layers[layer]!.trim();
    // A Host with userinfo (`expected.com@169.254.169.254:80`) is addressed to what follows the last `@`.
    const hostPort = s.slice(s.lastIndexOf('@') + 1);
    const hosts = new Set(hostsOf(hostPort));
    // Parsers that stop at the first `@` take a bracketed address from the userinfo instead.
    for (const part of s.split('@').slice(0, -1)) hosts.add(bracketedHostIn(part));
    for (const host of hosts) {
      if (host === '') continue;
      const candidate: Candidate = { host, path: requestPath, context: 'host-field', where, evidence: snippet(s, 0) };
      const recognised = recognise(candidate);
      if (recognised) {
        found.push({ candidate, recognised, layer, steps: steps.slice(0, layer) });
        break;
      }
    }
  }
}

function wafRuleHit(rules: readonly string[]): Found | undefined {
  const rule = rules.find((r) => /ec2metadatassrf/i.test(r));
  if (!rule) return undefined;
  const lower = rule.toLowerCase();
  const where: TargetWhere = lower.endsWith('_body')
    ? 'body'
    : lower.endsWith('_cookie')
      ? 'header'
      : lower.endsWith('_uripath')
        ? 'path'
        : lower.endsWith('_queryarguments')
          ? 'query'
          : 'body';
  return {
    candidate: { host: '', path: '', context: 'host-field', where, evidence: rule.slice(0, EVIDENCE_CHARS) },
    recognised: {
      service: 'aws-imds',
      canonical: '169.254.169.254',
      notation: `AWS WAF managed rule ${rule}`,
      recognisedBy: 'waf-rule',
      path: '',
    },
    layer: 0,
    steps: [],
  };
}

/**
 * Looks through every part of a request (authority, Host, path, query, fragment, headers,
 * Referer, User-Agent, WAF rule matches) for a metadata-service target and returns the most
 * telling one: credential paths first, then addresses and names over bare paths.
 */
export function scanForMetadataTarget(input: MetadataScanInput): MetadataTarget | undefined {
  const found: Found[] = [];
  const headerNames =
    input.headers.length === 0 ? NO_HEADERS : new Set(input.headers.map(([name]) => name.toLowerCase()));
  const requestPath = mayBeEncoded(input.path) ? (layersOf(input.path).layers.at(-1) ?? input.path) : input.path;

  const absolute = /^[a-z][a-z0-9+.-]{0,31}:\/\//i.exec(input.url);
  if (absolute) {
    let end = absolute[0].length;
    while (end < input.url.length && !'/?#'.includes(input.url[end]!)) end++;
    const authority = input.url.slice(absolute[0].length, end);
    const { layers, steps } = PLAIN_NAME.test(authority) && !NAME_HINT.test(authority) ? NOTHING : layersOf(authority);
    for (let layer = 0; layer < layers.length; layer++) {
      const candidates: Candidate[] = [];
      const s = layers[layer]!;
      authorityCandidates(`${s}${requestPath}`, 0, 'host-field', input.authorityWhere, 0, candidates);
      for (const candidate of candidates) {
        const recognised = recognise(candidate);
        if (recognised) found.push({ candidate, recognised, layer, steps: steps.slice(0, layer) });
      }
    }
  } else {
    hostCandidates(input.host, 'host', requestPath, found);
  }
  scanComponent(input.path, 'path', 'path', found);
  scanComponent(input.query, 'query', 'params', found);
  scanComponent(input.fragment, 'fragment', 'fragment', found);
  for (const [rawName, value] of input.headers) {
    const name = rawName.toLowerCase();
    if (name === 'host' || METADATA_HEADERS.has(name) || value === '') continue;
    if (HOST_HEADERS.has(name)) hostCandidates(value, 'header', requestPath, found);
    else if (PATH_HEADERS.has(name)) scanComponent(value, 'header', 'path', found);
    else if (name === 'cookie') scanComponent(value.replace(/;\s*/g, '&'), 'header', 'params', found);
    else if (name === 'forwarded') {
      for (const m of value.matchAll(/host="?([^";,]+)/gi)) hostCandidates(m[1]!, 'header', requestPath, found);
    } else if (name !== 'referer' && name !== 'user-agent') scanComponent(value, 'header', 'url-only', found);
  }
  scanComponent(input.referer, 'header', 'url-only', found);
  scanComponent(input.userAgent, 'header', 'url-only', found);
  if (found.length === 0) {
    const waf = wafRuleHit(input.wafRules);
    if (waf) found.push(waf);
  }
  if (found.length === 0) return undefined;

  let best = found[0]!;
  let bestRank = rank(best);
  for (const f of found.slice(1)) {
    const r = rank(f);
    if (r > bestRank) {
      best = f;
      bestRank = r;
    }
  }
  const { recognised, candidate } = best;
  const path = recognised.path === '' ? '' : normaliseMetadataPath(recognised.path);
  const rule = matchPath(path);
  const service = refineService(recognised.service, recognised.canonical, rule, headerNames);
  const ownHost = absolute ? splitTarget(input.url).host : input.host;
  return {
    target: service,
    canonical: recognised.canonical === '' ? ownHost : recognised.canonical,
    path,
    credentialPath: rule?.credential === true,
    tokenPath: rule?.token === true,
    where: candidate.where,
    decodedLayers: best.layer,
    evidence: candidate.evidence,
    recognisedBy: recognised.recognisedBy,
    notation: recognised.notation,
    decodings: best.steps,
    pathLabel: rule?.label ?? '',
    ...(recognised.helper ? { helper: recognised.helper } : {}),
  };
}

/** {@link scanForMetadataTarget} for one logged request. */
export function findMetadataTarget(request: WebRequest): MetadataTarget | undefined {
  return scanForMetadataTarget({
    url: request.url,
    authorityWhere: request.format === 'combined' || request.format === 'text' ? 'request-line' : 'host',
    host: request.host,
    path: request.path,
    query: request.query,
    fragment: request.fragment,
    headers: request.headers,
    referer: request.referer,
    userAgent: request.userAgent,
    wafRules: request.wafRules,
  });
}

/** True when the request carries a header only metadata clients send (Metadata-Flavor, X-aws-ec2-metadata-token …). */
export function metadataHeaders(request: WebRequest): string[] {
  return request.headers.map(([name]) => name).filter((name) => METADATA_HEADERS.has(name.toLowerCase()));
}
