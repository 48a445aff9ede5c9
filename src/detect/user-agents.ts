/**
 * Client families that no AWS SDK, CLI or agent uses. A call signed with an instance key that
 * arrives from the instance's own address with one of these is a pre-signed URL relayed
 * through the instance (SSRF), or someone on the box hand-crafting requests.
 */
export const NON_SDK_FAMILIES: readonly [string, RegExp][] = [
  ['python-requests', /^python-requests\//i],
  ['python-urllib', /^(?:python-urllib|Python-urllib|urllib3)\b/i],
  ['python-httpx', /^python-httpx\//i],
  ['aiohttp', /^aiohttp\b|\baiohttp\//i],
  ['go-http-client', /^Go-http-client\//i],
  ['curl', /^curl\//i],
  ['wget', /^Wget\//i],
  ['browser', /^Mozilla\/\d/],
  ['okhttp', /^okhttp\//i],
  ['axios', /^axios\//i],
  ['node-fetch', /^node-fetch\b|^undici\b/i],
  ['postman', /^PostmanRuntime\//i],
  ['java-http', /^Java\/\d|^Apache-HttpClient\//i],
  ['perl', /^libwww-perl\//i],
  ['php', /^(?:PHP|GuzzleHttp)\//i],
  ['ruby', /^Ruby\b|^Faraday\b/i],
  ['powershell', /WindowsPowerShell\//i],
];

/** Markers of AWS SDKs, CLIs, agents and AWS's own services: never a non-SDK client. */
export const SDK_MARKERS =
  /aws-sdk-|aws-cli\/|Boto3\/|botocore\/|amazon-ssm-agent|aws-internal|AWS Internal|\.amazonaws\.com|exec-env\/|Terraform\/|terraform-provider-aws|aws-toolkit|AWSPowerShell|AWS-Lambda|S3Console|CloudShell|AmazonSSMAgent|aws-chalice|aws-ec2-/i;

const cache = new Map<string, string>();
const CACHE_LIMIT = 10_000;

/** The non-SDK client family of a user agent ('python-requests', 'curl' …), or '' for SDKs and anything unknown. */
export function nonSdkClientFamily(userAgent: string): string {
  const cached = cache.get(userAgent);
  if (cached !== undefined) return cached;
  let family = '';
  const trimmed = userAgent.replace(/^\[/, '').trim();
  if (trimmed !== '' && !SDK_MARKERS.test(trimmed)) {
    family = NON_SDK_FAMILIES.find(([, pattern]) => pattern.test(trimmed))?.[0] ?? '';
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(userAgent, family);
  return family;
}

/**
 * Offensive distributions and tools that name themselves in the user agent. GuardDuty raises
 * PenTest:IAMUser/KaliLinux, ParrotLinux and PentooLinux on the distribution; the tools are the
 * ones public cloud attack write-ups show stolen keys being fed to.
 */
const OFFENSIVE_TOOLING: readonly [string, RegExp][] = [
  ['Kali Linux', /kali/i],
  ['Parrot OS', /parrot/i],
  ['Pentoo', /pentoo/i],
  ['BlackArch', /blackarch/i],
  ['Pacu', /\bpacu\b/i],
  ['CloudFox', /cloudfox/i],
  ['TruffleHog', /trufflehog/i],
  ['Stratus Red Team', /stratus-red-team/i],
  ['WeirdAAL', /weirdaal/i],
  ['enumerate-iam', /enumerate-iam/i],
  ['aws_consoler', /aws_consoler/i],
  ['Nuclei', /\bnuclei\b/i],
  ['sqlmap', /sqlmap/i],
];

/** The offensive distribution or tool a user agent names ('Kali Linux', 'Pacu' …), or ''. */
export function offensiveTooling(userAgent: string): string {
  if (userAgent.length > 2048) return '';
  return OFFENSIVE_TOOLING.find(([, pattern]) => pattern.test(userAgent))?.[0] ?? '';
}

/**
 * The operating system family a user agent reports ('linux', 'macos', 'windows'), or '' when it
 * names none. SDKs write it as `os/linux`, `Linux/5.10…`, `Darwin/23.1…`, `Windows_NT/10…`.
 */
export function operatingSystem(userAgent: string): string {
  if (userAgent.length > 2048) return '';
  if (/\bos\/(?:macos|darwin)|\bDarwin\/|Mac OS X|macOS/i.test(userAgent)) return 'macos';
  if (/\bos\/windows|\bWindows(?:_NT|NT|\/|\s)|Win64|WindowsPowerShell/i.test(userAgent)) return 'windows';
  if (/\bos\/linux|\bLinux\/|\bLinux[\s;)]|linux#/i.test(userAgent)) return 'linux';
  return '';
}

/** True for the user agents AWS's own services send when they call on a principal's behalf. */
export function isAwsInternalAgent(userAgent: string): boolean {
  const trimmed = userAgent.trim();
  return /^aws-internal\//i.test(trimmed) || trimmed === 'AWS Internal';
}
