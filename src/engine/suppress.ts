import type { Suppression } from '../config/config.js';
import type { Finding } from '../detect/finding.js';
import { ConfigError } from '../errors.js';
import { parseCidr, parseIp, cidrContains } from '../net/ip.js';

/** Finding fields a suppression may match on, by the name used in offbox.yaml. */
const FIELDS: Record<string, (finding: Finding) => string[]> = {
  accountId: (f) => [f.accountId],
  role: (f) => [f.principal.role],
  roleArn: (f) => [f.principal.roleArn],
  instanceId: (f) => [f.principal.instanceId],
  sessionName: (f) => [f.principal.sessionName],
  accessKeyId: (f) => f.principal.accessKeyIds,
  sourceIp: (f) => [f.source.ip],
  sourceClass: (f) => [f.source.class],
  vpcEndpointId: (f) => [f.source.vpcEndpointId],
  userAgent: (f) => f.activity.userAgents,
};

export const SUPPRESSION_FIELDS = Object.keys(FIELDS);

export interface SuppressedFinding {
  id: string;
  detector: string;
  title: string;
  reason: string;
}

type Matcher = (values: string[]) => boolean;

const isLineBreak = (c: string | undefined): boolean => c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029';

/**
 * Case-insensitive `*` glob, matched like `^…$` with `.*` for each star (a star never crosses a
 * line break) but without a regex: `*a*b*c*` as a backtracking regex takes seconds on a 16 KiB
 * user agent, and the values matched come from the logs. Worst case O(pattern × value).
 * @internal exported for the differential test
 */
export function globMatcher(pattern: string): (value: string) => boolean {
  const glob = pattern.toLowerCase();
  return (value) => {
    const text = value.toLowerCase();
    let p = 0;
    let t = 0;
    let star = -1;
    let resume = 0;
    while (t < text.length) {
      const c = glob[p];
      if (c === '*') {
        star = p++;
        resume = t;
      } else if (c !== undefined && c === text[t]) {
        p++;
        t++;
      } else if (star >= 0 && !isLineBreak(text[resume])) {
        // Let the last star take one more character and retry what follows it.
        p = star + 1;
        t = ++resume;
      } else {
        return false;
      }
    }
    while (glob[p] === '*') p++;
    return p === glob.length;
  };
}

function compileValue(field: string, pattern: string): Matcher {
  if (field === 'sourceIp' && pattern.includes('/')) {
    const cidr = parseCidr(pattern);
    if (!cidr)
      throw new ConfigError(
        `suppress: ${pattern} is not a CIDR`,
        'write sourceIp as an address, a CIDR or a * pattern',
      );
    return (values) =>
      values.some((value) => {
        const ip = parseIp(value);
        return ip !== undefined && cidrContains(cidr, ip);
      });
  }
  const matches = globMatcher(pattern);
  return (values) => values.some(matches);
}

function compile(suppression: Suppression): (finding: Finding) => boolean {
  const matchers = Object.entries(suppression.match).map(([field, pattern]) => {
    const read = FIELDS[field];
    if (!read) {
      throw new ConfigError(`suppress: unknown match field ${field}`, `use one of ${SUPPRESSION_FIELDS.join(', ')}`);
    }
    const matches = compileValue(field, pattern);
    return (finding: Finding) => matches(read(finding));
  });
  const detector = globMatcher(suppression.detector);
  return (finding) => detector(finding.detector) && matchers.every((matches) => matches(finding));
}

export interface CompiledSuppressions {
  /** Suppressions past their expiry: no longer applied, worth a warning. */
  expired: Suppression[];
  apply(findings: Finding[]): { kept: Finding[]; suppressed: SuppressedFinding[] };
}

/**
 * Compiles the config's suppressions (bad ones fail here, before any input is read).
 * Suppressed findings leave the results but come back with their reason, so every
 * report can say what was hidden and why.
 */
export function compileSuppressions(suppressions: readonly Suppression[], now = new Date()): CompiledSuppressions {
  const active: { suppression: Suppression; test: (finding: Finding) => boolean }[] = [];
  const expired: Suppression[] = [];
  for (const suppression of suppressions) {
    if (suppression.expires !== undefined) {
      const expiry = Date.parse(suppression.expires);
      if (Number.isNaN(expiry)) {
        throw new ConfigError(
          `suppress: expires ${suppression.expires} is not a date`,
          'write it as YYYY-MM-DD or an ISO time',
        );
      }
      if (expiry <= now.getTime()) {
        expired.push(suppression);
        continue;
      }
    }
    active.push({ suppression, test: compile(suppression) });
  }
  return {
    expired,
    apply(findings) {
      const kept: Finding[] = [];
      const suppressed: SuppressedFinding[] = [];
      for (const finding of findings) {
        const hit = active.find(({ test }) => test(finding));
        if (hit)
          suppressed.push({
            id: finding.id,
            detector: finding.detector,
            title: finding.title,
            reason: hit.suppression.reason,
          });
        else kept.push(finding);
      }
      return { kept, suppressed };
    },
  };
}
