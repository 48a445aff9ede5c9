/**
 * Public services that point a fetcher at a metadata service without the address being
 * visible as the request's host: redirectors, DNS-rebinding services, wildcard DNS and
 * out-of-band interaction domains. Data only: metadata-target.ts decodes the names and paths.
 *
 * Every entry names the public page or file it was learned from (`source`). A name under one
 * of `domains` is the service; `decodes` says where an address is written, if anywhere.
 */

/** What a helper service does for an SSRF. */
export type HelperKind = 'redirector' | 'rebinding' | 'wildcard-dns' | 'out-of-band';

/** One helper service family. */
export interface HelperService {
  /** Short family name used in reasons ("nip.io", "1u.ms", "interactsh"). */
  family: string;
  kind: HelperKind;
  /** Registered domains: the name itself or any name under it is the service. */
  domains: readonly string[];
  /** The name or path shapes the service accepts, in words. */
  pattern: string;
  /** Where a target address is written: in the DNS name, in the path, or nowhere (opaque). */
  decodes: 'name' | 'path' | 'none';
  /** Repository/path or documentation URL the entry was read from. */
  source: string;
}

/** The helper services offbox knows, by family. */
export const HELPER_SERVICES: readonly HelperService[] = Object.freeze([
  // Wildcard DNS: the name resolves to the address written in it.
  {
    family: 'nip.io',
    kind: 'wildcard-dns',
    domains: ['nip.io'],
    pattern:
      '`169.254.169.254.nip.io`, `169-254-169-254.nip.io`, prefixed `www-169-254-169-254.nip.io`, hex `a9fea9fe.nip.io`, IPv6 with dashes `fd00-ec2--254.nip.io`',
    decodes: 'name',
    source: 'cunnie/sslip.io k8s/document_root_sslip.io/index.html (nip.io and sslip.io are interchangeable)',
  },
  {
    family: 'sslip.io',
    kind: 'wildcard-dns',
    domains: ['sslip.io'],
    pattern:
      'dots or dashes (`169-254-169-254.sslip.io`), any prefix (`app-169-254-169-254.sslip.io`), hex (`A9FEA9FE.sslip.io`), IPv6 with dashes for colons (`--ffff-a9fe-a9fe.sslip.io`)',
    decodes: 'name',
    source: 'cunnie/sslip.io k8s/document_root_sslip.io/index.html; cunnie/sslip.io README.md',
  },
  {
    family: 'xip.io',
    kind: 'wildcard-dns',
    domains: ['xip.io'],
    pattern: 'dotted (`169.254.169.254.xip.io`) and base-36 (`1ynrnhl.xip.io`) names; the service is retired',
    decodes: 'name',
    source:
      'danielmiessler/SecLists Fuzzing/SSRF_hacktricks.txt (fixtures/ssrf/seclists); cunnie/sslip.io index.html "Related Services"',
  },
  {
    family: 'traefik.me',
    kind: 'wildcard-dns',
    domains: ['traefik.me'],
    pattern: 'the nip.io backend: `169.254.169.254.traefik.me`, `169-254-169-254.traefik.me`',
    decodes: 'name',
    source:
      'cunnie/sslip.io k8s/document_root_sslip.io/index.html "Related Services"; pyrou/traefik.me (nipio/backend.py)',
  },
  // DNS rebinding: the name alternates between the addresses written in it.
  {
    family: '1u.ms',
    kind: 'rebinding',
    domains: ['1u.ms'],
    pattern:
      '`make-<IP>-rr.1u.ms`, `make-<IP1>-rebind-<IP2>-rr.1u.ms` (dots or dashes, any prefix/suffix), `-and-` lists, `make-ip-v6-<IPv6 with c for :>-rr`, `make-hex-<hex of the text>-rr`',
    decodes: 'name',
    source: 'neex/1u.ms README.md',
  },
  {
    family: 'rbndr.us',
    kind: 'rebinding',
    domains: ['rbndr.us'],
    pattern:
      '`<IPv4 in hex>.<IPv4 in hex>.rbndr.us` (`7f000001.a9fea9fe.rbndr.us`; converter at lock.cmpxchg8b.com/rebinder.html)',
    decodes: 'name',
    source: 'taviso/rbndr README.md',
  },
  {
    family: 'Singularity of Origin',
    kind: 'rebinding',
    domains: ['rebind.it'],
    pattern:
      '`s-<IP1>-<IP2>-<session>-<strategy>-e.<domain>` on rebind.it or any self-hosted domain (`s-1.2.3.4-169.254.169.254-123-fromqueryroundrobin-e.d.rebind.it`)',
    decodes: 'name',
    source: 'nccgroup/singularity singularity.go (NewDNSQuery); nccgroup/singularity Readme.md',
  },
  {
    family: 'whonow',
    kind: 'rebinding',
    domains: ['rebind.network'],
    pattern:
      '`A.<IP>.<rule>[.<IP>.<rule>…][.<uuid>].rebind.network` (`A.1.2.3.4.1time.169.254.169.254.forever.rebind.network`)',
    decodes: 'name',
    source: 'brannondorsey/whonow README.md',
  },
  // Redirectors: an HTTP redirect to the target written in the name or path.
  {
    family: 'r3dir',
    kind: 'redirector',
    domains: ['r3dir.me'],
    pattern:
      '`<code>.r3dir.me/--to/?url=<target>`; `<base32 of the target, split in labels>.<code>.r3dir.me` (anything before a `--` label ignored, `/--attach/` appends); newer targets are compressed before base32 and stay opaque',
    decodes: 'name',
    source:
      'Horlad/r3dir README.md; swisskyrepo/PayloadsAllTheThings Server Side Request Forgery/README.md (fixtures/ssrf)',
  },
  {
    family: 'nicob.net',
    kind: 'redirector',
    domains: ['nicob.net'],
    pattern: '`nicob.net/redir6a` (static, to the AWS IMDS) and `nicob.net/redir-http-169.254.169.254:80-<path>`',
    decodes: 'path',
    source:
      'swisskyrepo/PayloadsAllTheThings Server Side Request Forgery/SSRF-Cloud-Instances.md (fixtures/ssrf); coreruleset rules/ssrf.data',
  },
  {
    family: '302faker',
    kind: 'redirector',
    domains: ['patch.rip'],
    pattern:
      '`_169__254__169__254___latest___user-data.patch.rip/t/302/http` (`___` is `/`, `__` is `.`, a leading `_` means http://)',
    decodes: 'name',
    source: 'schniggie/302faker README.md',
  },
  // Out-of-band interaction domains: the fetch itself is the signal; nothing says where it was sent next.
  {
    family: 'interactsh',
    kind: 'out-of-band',
    domains: [
      'oast.pro',
      'oast.live',
      'oast.site',
      'oast.online',
      'oast.fun',
      'oast.me',
      'interact.sh',
      'interactsh.com',
    ],
    pattern: '`<correlation id>.oast.fun` on the default public servers',
    decodes: 'none',
    source:
      'projectdiscovery/interactsh README.md (client -server default "oast.pro,oast.live,oast.site,oast.online,oast.fun,oast.me"); https://gist.github.com/breakersall/675ab468882969f0d5ff08df4ab2d9c6',
  },
  {
    family: 'Burp Collaborator',
    kind: 'out-of-band',
    domains: ['burpcollaborator.net', 'oastify.com'],
    pattern: '`<id>.oastify.com`, `<id>.burpcollaborator.net`',
    decodes: 'none',
    source:
      'swisskyrepo/PayloadsAllTheThings Server Side Request Forgery/README.md (`spoofed.redacted.oastify.com`); danielmiessler/SecLists Fuzzing/SSRF_hacktricks.txt (`spoofed.burpcollaborator.net`); https://gist.github.com/breakersall/675ab468882969f0d5ff08df4ab2d9c6',
  },
  {
    family: 'canarytokens',
    kind: 'out-of-band',
    domains: ['canarytokens.com'],
    pattern: '`<token>.canarytokens.com`, `canarytokens.com/…/<token>/…`',
    decodes: 'none',
    source: 'https://gist.github.com/breakersall/675ab468882969f0d5ff08df4ab2d9c6',
  },
  {
    family: 'dnslog.cn',
    kind: 'out-of-band',
    domains: ['dnslog.cn'],
    pattern: '`<id>.dnslog.cn`',
    decodes: 'none',
    source:
      'https://gist.github.com/breakersall/675ab468882969f0d5ff08df4ab2d9c6; ffffffff0x/AboutSecurity Payload/OOB/Dnslog.md',
  },
  {
    family: 'ceye.io',
    kind: 'out-of-band',
    domains: ['ceye.io'],
    pattern: '`<id>.ceye.io` and anything under it',
    decodes: 'none',
    source: 'chennqqi/godnslog frontend/src/md/introduce.md; ffffffff0x/AboutSecurity Payload/OOB/Dnslog.md',
  },
  {
    family: 'requestbin / Pipedream',
    kind: 'out-of-band',
    domains: ['requestbin.net', 'requestbin.com', 'pipedream.net'],
    pattern: '`<bin>.requestbin.net`, `<id>.m.pipedream.net` (Pipedream HTTP-trigger endpoints)',
    decodes: 'none',
    source:
      'https://gist.github.com/breakersall/675ab468882969f0d5ff08df4ab2d9c6 (requestbin.net); tardate/LittleCodingKata tools/requestbin (requestbin.com, Pipedream)',
  },
  {
    family: 'webhook.site',
    kind: 'out-of-band',
    domains: ['webhook.site', 'pingb.in'],
    pattern: '`webhook.site/<uuid>`, `<uuid>.webhook.site`, `pingb.in/p/<id>`',
    decodes: 'none',
    source:
      'vishalpatil1337/Weaponize-Your-Burp SSRF/README.md ("Out-of-Band Server": Burp Collaborator, Interactsh, webhook.site, pingb.in)',
  },
] satisfies HelperService[]);

const BY_DOMAIN: ReadonlyMap<string, HelperService> = new Map(
  HELPER_SERVICES.flatMap((s) => s.domains.map((d) => [d, s] as const)),
);

/** The helper service a (lower-case) DNS name belongs to: every registered domain has two labels. */
export function helperForName(name: string): HelperService | undefined {
  const last = name.lastIndexOf('.');
  if (last <= 0) return undefined;
  const previous = name.lastIndexOf('.', last - 1);
  return BY_DOMAIN.get(previous < 0 ? name : name.slice(previous + 1));
}

/** Cheap test before looking a name up: could any helper domain be in this text? */
export const HELPER_HINT =
  /nip\.io|sslip\.io|xip\.io|traefik\.me|1u\.ms|rbndr\.us|rebind\.(?:it|network)|r3dir\.me|nicob\.net|patch\.rip|oast\.|interact(?:\.sh|sh\.com)|burpcollaborator|oastify|canarytokens|dnslog\.cn|ceye\.io|requestbin|pipedream\.net|webhook\.site|pingb\.in|-e\./i;
