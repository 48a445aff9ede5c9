/**
 * Extraction of SSRF payloads from the third-party corpora in fixtures/ssrf (see its
 * PROVENANCE.md), and the explicit, justified list of which of them are metadata-directed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const SSRF_FIXTURES = new URL('../../fixtures/ssrf/', import.meta.url).pathname;

/** One payload, where it came from, and whether (and why) it targets a metadata service. */
export interface CorpusPayload {
  payload: string;
  source: string;
  /** Heading, section comment or test id it sits under in the source. */
  context: string;
  metadata: boolean;
  /**
   * For payloads that are not metadata-directed: true when the only reason is the lack of URL
   * context (CRS negative tests such as a bare `[::ffff:a9fe:a9fe]`): they are judged in their
   * original position only, since under a `url=` parameter they would be directed after all.
   */
  bareValue?: boolean;
  justification: string;
}

function read(rel: string): string {
  return readFileSync(join(SSRF_FIXTURES, rel), 'utf8');
}

const URL_TOKEN = /[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>]+|\bhttps?:(?!\/\/)[^\s"'`<>]+/gi;
const NAME_TOKEN = /\b[a-z0-9][a-z0-9.-]*\.(?:nip\.io|sslip\.io|xip\.io|1u\.ms|rbndr\.us|r3dir\.me)\b/gi;

function clean(token: string): string {
  return token.replace(/[),.;|:]+$/, '');
}

/** URL-like tokens and wildcard/rebinding DNS names in a code text. */
export function payloadTokens(code: string): string[] {
  const out: string[] = [];
  const urls = [...code.matchAll(URL_TOKEN)].map((m) => ({ at: m.index, text: clean(m[0]) }));
  for (const u of urls) out.push(u.text);
  for (const m of code.matchAll(NAME_TOKEN)) {
    if (!urls.some((u) => m.index >= u.at && m.index < u.at + u.text.length)) out.push(clean(m[0]));
  }
  return out;
}

/** Code blocks and inline code of a markdown page, with the heading each sits under. */
export function markdownCode(md: string): { code: string; heading: string }[] {
  const out: { code: string; heading: string }[] = [];
  let heading = '';
  let inBlock = false;
  for (const line of md.split('\n')) {
    if (/^\s*```/.test(line)) {
      inBlock = !inBlock;
      continue;
    }
    if (inBlock) {
      out.push({ code: line, heading });
      continue;
    }
    const h = /^#{1,4}\s+(.*)$/.exec(line);
    if (h) {
      heading = h[1]!.trim();
      continue;
    }
    for (const m of line.matchAll(/`([^`]+)`/g)) out.push({ code: m[1]!, heading });
  }
  return out;
}

/** Hosts of documentation and API links that appear in the pages' prose: not payloads. */
const DOCUMENTATION_HOSTS =
  /^https?:\/\/(?:docs\.aws\.amazon\.com|developers\.digitalocean\.com|azure\.microsoft\.com|docs\.microsoft\.com|www\.googleapis\.com|rancher\.com|docs\.docker\.com|web\.archive\.org|github\.com|raw\.githubusercontent\.com|portswigger\.net|developer\.mozilla\.org|www\.blackhat\.com|1u\.ms)(?:[/:]|$)/i;

/** SSRF-Cloud-Instances.md sections whose URLs target a metadata service (by the page's own headings). */
const CLOUD_SECTIONS_METADATA = new Set([
  'SSRF URL for AWS',
  'SSRF URL for AWS ECS',
  'SSRF URL for AWS Elastic Beanstalk',
  'SSRF URL for Google Cloud',
  'Add an SSH key',
  'SSRF URL for Digital Ocean',
  'SSRF URL for Packetcloud',
  'SSRF URL for Azure',
  'SSRF URL for OpenStack/RackSpace',
  'SSRF URL for HP Helion',
  'SSRF URL for Oracle Cloud',
  'SSRF URL for Alibaba',
  'SSRF URL for Hetzner Cloud',
  'SSRF URL for Rancher',
]);
/** Sections about local services (Lambda runtime API on localhost, etcd, Docker): SSRF targets, not metadata services. */
const CLOUD_SECTIONS_LOCAL = new Set([
  'SSRF URL for AWS Lambda',
  'SSRF URL for Kubernetes ETCD',
  'SSRF URL for Docker',
  'References',
]);

function cloudInstances(): CorpusPayload[] {
  const source = 'PayloadsAllTheThings SSRF-Cloud-Instances.md';
  const out: CorpusPayload[] = [];
  for (const { code, heading } of markdownCode(read('payloadsallthethings/SSRF-Cloud-Instances.md'))) {
    for (const payload of payloadTokens(code)) {
      if (DOCUMENTATION_HOSTS.test(payload) || payload.startsWith('s3://')) {
        out.push({
          payload,
          source,
          context: heading,
          metadata: false,
          justification: 'documentation or API link in the prose, or an S3 bucket URL',
        });
      } else if (/googleapis\.com|oauth2/.test(payload)) {
        out.push({
          payload,
          source,
          context: heading,
          metadata: false,
          justification: 'Google API endpoint used after the theft',
        });
      } else if (CLOUD_SECTIONS_METADATA.has(heading)) {
        out.push({ payload, source, context: heading, metadata: true, justification: `listed under "${heading}"` });
      } else if (CLOUD_SECTIONS_LOCAL.has(heading)) {
        out.push({
          payload,
          source,
          context: heading,
          metadata: false,
          justification: `"${heading}": a local service, not a metadata service`,
        });
      } else {
        throw new Error(`unclassified section ${heading} in ${source}: ${payload}`);
      }
    }
  }
  return out;
}

/**
 * README.md: the page's metadata-directed payloads, each named by the text beside it
 * (`= http://169.254.169.254`, "Redirects to http://169.254.169.254/latest/meta-data/",
 * the rebinding example rotating to 169.254-169.254, the methodology example).
 */
export const README_METADATA_PAYLOADS: ReadonlySet<string> = new Set([
  'http://169.254.169.254/latest/meta-data/',
  'http://169.254.169.254',
  'http://2852039166/',
  'http://0xa9fea9fe',
  'https://62epax5fhvj3zzmzigyoe5ipkbn7fysllvges3a.302.r3dir.me',
  'make-1.2.3.4-rebind-169.254-169.254-rr.1u.ms',
]);

function readmePayloads(): CorpusPayload[] {
  const source = 'PayloadsAllTheThings README.md';
  const out: CorpusPayload[] = [];
  for (const { code, heading } of markdownCode(read('payloadsallthethings/README.md'))) {
    for (const payload of payloadTokens(code)) {
      const metadata = README_METADATA_PAYLOADS.has(payload);
      out.push({
        payload,
        source,
        context: heading,
        metadata,
        justification: metadata
          ? 'the page names 169.254.169.254 as its target'
          : DOCUMENTATION_HOSTS.test(payload)
            ? 'documentation link'
            : 'targets loopback, private or example hosts, not a metadata service',
      });
    }
  }
  return out;
}

function advancedPayloads(): CorpusPayload[] {
  const source = 'PayloadsAllTheThings SSRF-Advanced-Exploitation.md';
  return markdownCode(read('payloadsallthethings/SSRF-Advanced-Exploitation.md')).flatMap(({ code, heading }) =>
    payloadTokens(code).map((payload) => ({
      payload,
      source,
      context: heading,
      metadata: false,
      justification: 'protocol smuggling to local services (gopher/dict to 127.0.0.1), not a metadata service',
    })),
  );
}

/**
 * Section comments of CRS ssrf.data / ssrf-no-scheme.data and whether the entries under them
 * target a metadata service. Every comment that precedes entries must be listed here.
 */
const CRS_SECTIONS: Readonly<Record<string, boolean>> = {
  '## AWS': true,
  '# Common evasion techniques:': true,
  '# http://127.0.0.1': false,
  '# http://192.168.0.1': false,
  '# http://192.168.1.1': false,
  '# http://169.254.169.254': true,
  '# IPv6 base': false,
  '# localhost bypass': false,
  '# AWS ECS': true,
  '## Google Cloud': true,
  '# Google gopher SSRF': true,
  '# Google allows recursive pulls': true,
  '## Google': true,
  '## Digital Ocean': true,
  '## Packetcloud': true,
  '## Azure': true,
  '## OpenStack/RackSpace': true,
  '## HP Helion': true,
  '## Oracle Cloud': true,
  '## Alibaba': true,
  '# Rancher metadata': true,
  '# Local Docker': false,
  '# Kubernetes etcd': false,
  // Every entry decodes to 169.254.169.254 (e.g. ②⑧⑤②⓪③⑨①⑥⑥ = 2852039166, ④②⑤｡⑤①⓪… = 425.510… wrapped).
  '# Enclosed alphanumerics': true,
  '# Java only blind ssrf': false,
  '# Other PL1 protocols': false,
  '# AWS Lambda': false,
  '# Standard hosts aliases': false,
  '# Docker based aliases': false,
  '# Podman': false,
  '# K8s API local service': true,
  '# Testing services': false,
};

function crsData(file: string): CorpusPayload[] {
  const source = `OWASP CRS ${file}`;
  const out: CorpusPayload[] = [];
  let section = '';
  for (const raw of read(`coreruleset/${file}`).split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      if (line in CRS_SECTIONS) section = line;
      continue;
    }
    const verdict = CRS_SECTIONS[section];
    if (verdict === undefined) throw new Error(`unclassified entry ${line} in ${source}`);
    out.push({
      payload: line,
      source,
      context: section,
      metadata: verdict,
      justification: verdict ? `under "${section}"` : `under "${section}": loopback, Docker or test hosts`,
    });
  }
  return out;
}

function secLists(): CorpusPayload[] {
  return read('seclists/SSRF_hacktricks.txt')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((payload) => ({
      payload,
      source: 'SecLists SSRF_hacktricks.txt',
      context: '',
      metadata: false,
      justification: 'targets loopback, RFC 1918, example.com or test services; none names a metadata service',
    }));
}

function ssrfMap(): CorpusPayload[] {
  return read('ssrfmap/module-targets.tsv')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [module, url] = line.split('\t') as [string, string];
      return {
        payload: url,
        source: 'SSRFmap modules',
        context: module,
        metadata: true,
        justification: `SSRFmap cloud-metadata module ${module}`,
      };
    });
}

/**
 * CRS regression tests (the TSV summary of the YAML tests plus the Cookie values of the YAML):
 * which test ids send a metadata-directed payload. CRS's own expected match is not the
 * criterion — 934110 tests 6–8 are CRS "negative tests" because that rule matches fixed URL
 * prefixes, yet they target 169.254.169.254 and metadata.google.internal. 934120 tests 12–19
 * are bare values with no URL context (nothing would fetch them) and count as not directed.
 */
const CRS_TESTS_METADATA: Readonly<Record<string, ReadonlySet<number>>> = {
  '934110': new Set([1, 2, 3, 4, 5, 6, 7, 8, 10]),
  '934120': new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 21, 22, 24, 35, 36, 39, 43, 44, 45, 46, 47, 48, 49, 53]),
  '934190': new Set([11]),
  '931100': new Set(),
};

/** 934120 negative tests whose value is an IMDS address with no URL context at all. */
const CRS_BARE_VALUE_TESTS: ReadonlySet<number> = new Set([12, 13, 14, 15, 16, 17, 18, 19]);

/** The payload a CRS test sends: the parameter value (percent-decoded once, as the application sees it), an XML attribute, a multipart file name. */
export function crsPayload(uri: string, data: string): string | undefined {
  const xml = /probe="([^"]*)"|<ssrf>([^<]*)<\/ssrf>|<tag>([^<]*)<\/tag>|filename="([^"]*)"/.exec(data);
  if (xml) return xml[1] ?? xml[2] ?? xml[3] ?? xml[4];
  if (data.startsWith('url=')) return decodeURIComponent(data.slice(4));
  const q = uri.indexOf('?');
  if (q < 0) return undefined;
  const query = uri.slice(q + 1);
  const eq = query.indexOf('=');
  const value = eq < 0 || /^[a-z]+:/.test(query) ? query : query.slice(eq + 1);
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export interface CrsTest {
  rule: string;
  testId: number;
  expected: string;
  uri: string;
  data: string;
  desc: string;
  payload: string | undefined;
  metadata: boolean;
}

export function crsTests(): CrsTest[] {
  const rows = read('coreruleset/crs-regression-tests.tsv')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '');
  const out: CrsTest[] = rows.map((row) => {
    const [rule, id, expected, , uri, data, desc] = row.split('\t') as string[];
    const testId = Number(id);
    const set = CRS_TESTS_METADATA[rule!];
    if (!set) throw new Error(`unclassified CRS rule ${rule}`);
    return {
      rule: rule!,
      testId,
      expected: expected!,
      uri: uri!,
      data: (data ?? '').replace(/\\n/g, '\n'),
      desc: desc ?? '',
      payload: crsPayload(uri!, (data ?? '').replace(/\\n/g, '\n')),
      metadata: set.has(testId),
    };
  });
  for (const [file, rule] of [
    ['test-934120.yaml', '934120'],
    ['test-934190.yaml', '934190'],
  ] as const) {
    let testId = 0;
    for (const line of read(`coreruleset/${file}`).split('\n')) {
      const id = /test_id:\s*(\d+)/.exec(line);
      if (id) testId = Number(id[1]);
      const cookie = /^\s*Cookie:\s*"?([^"]*)"?\s*$/.exec(line);
      if (cookie) {
        const value = cookie[1]!.slice(cookie[1]!.indexOf('=') + 1);
        out.push({
          rule,
          testId,
          expected: 'match',
          uri: '/get',
          data: '',
          desc: 'Cookie header (from the YAML test)',
          payload: value,
          metadata: CRS_TESTS_METADATA[rule]!.has(testId),
        });
      }
    }
  }
  return out;
}

function crsRegression(): CorpusPayload[] {
  return crsTests()
    .filter((t) => t.payload !== undefined && t.payload !== '')
    .map((t) => ({
      payload: t.payload!,
      source: 'OWASP CRS regression tests',
      context: `${t.rule}-${t.testId}`,
      metadata: t.metadata,
      ...(t.rule === '934120' && CRS_BARE_VALUE_TESTS.has(t.testId) ? { bareValue: true } : {}),
      justification: t.metadata
        ? `CRS ${t.rule} test ${t.testId}: ${t.desc}`
        : `CRS ${t.rule} test ${t.testId} (${t.desc}): loopback, non-metadata IPv6, or a bare value with no URL context`,
    }));
}

/** Every payload of every corpus, classified. */
export function corpusPayloads(): CorpusPayload[] {
  return [
    ...cloudInstances(),
    ...readmePayloads(),
    ...advancedPayloads(),
    ...crsData('ssrf.data'),
    ...crsData('ssrf-no-scheme.data'),
    ...secLists(),
    ...ssrfMap(),
    ...crsRegression(),
  ];
}
