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

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i');
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
  const regex = globToRegExp(pattern);
  return (values) => values.some((value) => regex.test(value));
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
  const detector = globToRegExp(suppression.detector);
  return (finding) => detector.test(finding.detector) && matchers.every((matches) => matches(finding));
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
