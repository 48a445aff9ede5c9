/**
 * Per-detector SQL a hunter can run on its own (the Athena console, DuckDB): for each CloudTrail
 * detector, the usages that meet a necessary condition of it — the credential kind, the class of the
 * source address against AWS's ranges, private and special ranges and allowedSourceCidrs (inline
 * VALUES of IPv4 intervals), the VPC endpoint, the client family, the vending chain. The verdict
 * itself (ownership in time, on-box sightings, people's addresses, confidence, severity) needs the
 * context the shared detector model builds, so these queries narrow and `offbox hunt` judges. Every
 * finding `offbox scan` makes is among its detector's candidates: test/e2e/hunt.test.ts checks it.
 * Addresses that are not plain dotted IPv4 (IPv6, anything odd) are never excluded by class.
 */
import { readFileSync } from 'node:fs';
import { NON_SDK_FAMILIES } from '../detect/user-agents.js';
import { ipToBigInt, parseCidr, type ParsedCidr } from '../net/ip.js';
import { toAllowedCidr } from '../net/source-class.js';
import { SPECIAL_RANGES } from '../net/special-ranges.js';
import { USAGE_KEY, usageCtes } from './aggregate.js';
import type { Dialect } from './dialect.js';
import { sqlString } from './dialect.js';

/** One detector's candidate query. */
export interface DetectorSql {
  detector: string;
  /** What the query selects, in words. */
  condition: string;
  sql: string;
}

export interface CandidateOptions {
  /** Path of the ip-ranges.json the native engine judges against (the vendored snapshot by default). */
  ipRangesFile: string;
  allowedSourceCidrs?: readonly string[];
}

/** Sorted, merged IPv4 intervals of a list of CIDRs, read as `read` reads them (other families are left out). */
export function mergedIntervals(
  cidrs: Iterable<string>,
  read: (text: string) => ParsedCidr | undefined = parseCidr,
): [number, number][] {
  const intervals = [...cidrs].flatMap((text): [number, number][] => {
    const cidr = read(text);
    if (cidr === undefined || cidr.version !== 4) return [];
    return [[Number(ipToBigInt(cidr.first)), Number(ipToBigInt(cidr.last))]];
  });
  intervals.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of intervals) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return merged;
}

function awsCidrs(file: string): string[] {
  const json = JSON.parse(readFileSync(file, 'utf8')) as { prefixes?: { ip_prefix?: string }[] };
  return (json.prefixes ?? []).flatMap((p) => (typeof p.ip_prefix === 'string' ? [p.ip_prefix] : []));
}

function values(name: string, intervals: [number, number][]): string {
  const rows = intervals.length > 0 ? intervals : [[-2, -2] as [number, number]];
  return `${name}(lo, hi) AS (VALUES ${rows.map(([lo, hi]) => `(CAST(${lo} AS BIGINT), CAST(${hi} AS BIGINT))`).join(', ')})`;
}

const IPV4 = '^([0-9]{1,3})\\.([0-9]{1,3})\\.([0-9]{1,3})\\.([0-9]{1,3})$';
const INSTANCE_SESSION = '^i-([0-9a-f]{8}|[0-9a-f]{17})$';
const EKS_POD_SESSION = '^eks-.+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

/** The usages with what the candidate conditions need: session name, vending, address class. */
function classifiedCtes(dialect: Dialect, options: CandidateOptions): string {
  const octet = (n: number) => `TRY_CAST(${dialect.regexExtract('k_ip', IPV4, n)} AS BIGINT)`;
  const ip4 = `CASE WHEN ${dialect.regexLike('k_ip', IPV4, false)} AND ${[1, 2, 3, 4].map((n) => `${octet(n)} <= 255`).join(' AND ')}
        THEN ((${octet(1)} * 256 + ${octet(2)}) * 256 + ${octet(3)}) * 256 + ${octet(4)} END`;
  const sessionName = dialect.regexExtract('ui_arn', '^arn:[A-Za-z0-9-]+:sts::[0-9]*:assumed-role/[^/]+/(.*)$', 1);
  const roleName = dialect.regexExtract('ui_arn', '^arn:[A-Za-z0-9-]+:sts::[0-9]*:assumed-role/([^/]+)/', 1);
  const service = `lower(CASE WHEN ui_type IN ('AWSService', '') THEN coalesce(nullif(ui_invoked_by, ''), source_ip) END)`;
  const special = SPECIAL_RANGES.map((r) => r.cidr);
  const inRange = (table: string) => `EXISTS (SELECT 1 FROM ${table} r WHERE u.ip4 BETWEEN r.lo AND r.hi)`;
  return `usages AS (${USAGES_SELECT_REF}),
  ${values('aws_ranges', mergedIntervals(awsCidrs(options.ipRangesFile)))},
  ${values('special_ranges', mergedIntervals(special))},
  ${values('allowed_ranges', mergedIntervals(options.allowedSourceCidrs ?? [], toAllowedCidr))},
  vended AS (
    SELECT ${dialect.jsonText('response_json', '$.credentials.accessKeyId')} AS key,
      min(${service}) AS service, min(ui_key) AS caller_key
    FROM events
    WHERE event_source = 'sts.amazonaws.com' AND event_name = 'AssumeRole' AND error_code = ''
    GROUP BY 1
  ),
  named AS (
    SELECT u.*, coalesce(${sessionName}, '') AS session_name, coalesce(${roleName}, '') AS role_name,
      v.service AS vended_by, v.caller_key, ${ip4} AS ip4
    FROM usages u LEFT JOIN vended v ON v.key = u.k_key AND u.k_key <> ''
  ),
  classified AS (
    SELECT u.*,
      coalesce(u.vended_by = 'ec2.amazonaws.com', false)
        OR (u.vended_by IS NULL AND ${dialect.regexLike('u.session_name', INSTANCE_SESSION, true)})
        OR u.role_name = 'aws:ec2-instance' OR strpos(u.ui_principal, ':aws:ec2-instance:') > 0 AS instance_credential,
      (u.ip4 IS NOT NULL AND ${inRange('aws_ranges')}) AS in_aws,
      (u.ip4 IS NOT NULL AND ${inRange('special_ranges')}) AS in_special,
      (u.ip4 IS NOT NULL AND ${inRange('allowed_ranges')}) AS in_allowed,
      (${dialect.regexLike('u.k_ip', '^[a-z0-9.-]+\\.amazonaws\\.com$|^AWS Internal$', true)}) AS service_source
    FROM named u
  )`;
}

/** Marks where usageCtes' final SELECT goes inside `usages AS (…)`. */
const USAGES_SELECT_REF = '__USAGES_SELECT__';

const WORKLOAD = (dialect: Dialect) => `(
      coalesce(vended_by, '') IN ('ecs-tasks.amazonaws.com', 'lambda.amazonaws.com', 'pods.eks.amazonaws.com')
      OR scope_type = 'AWS::Lambda::Function'
      OR ui_type = 'WebIdentityUser' OR web_provider <> ''
      OR ${dialect.regexLike('session_name', EKS_POD_SESSION, true)}
      OR strpos(user_agents, 'exec-env/AWS_') > 0 OR strpos(first_user_agent, 'exec-env/AWS_') > 0
      OR (vended_by IS NULL AND ui_type = 'AssumedRole'))`;

/** The candidate conditions, one per detector SQL can narrow. */
function conditions(dialect: Dialect): { detector: string; condition: string; where: string }[] {
  const instance = 'instance_credential';
  const notExcludedOutside = 'NOT coalesce(in_aws, false) AND NOT coalesce(in_allowed, false) AND NOT service_source';
  return [
    {
      detector: 'instance-credential-outside-aws',
      condition:
        'an instance credential used from an address outside every AWS range and outside allowedSourceCidrs (private addresses only without a VPC endpoint)',
      where: `${instance} AND ${notExcludedOutside} AND NOT (coalesce(in_special, false) AND k_vpce <> '')`,
    },
    {
      detector: 'instance-credential-foreign-aws',
      condition: 'an instance credential used from AWS address space (or an address that is not plain IPv4)',
      where: `${instance} AND (in_aws OR ip4 IS NULL) AND NOT service_source`,
    },
    {
      detector: 'instance-credential-cross-instance',
      condition: 'an instance credential used from AWS or private address space (another instance may hold it)',
      where: `${instance} AND (in_aws OR in_special OR ip4 IS NULL) AND NOT service_source`,
    },
    {
      detector: 'instance-credential-foreign-vpce',
      condition: 'an instance credential used through a VPC endpoint',
      where: `${instance} AND k_vpce <> ''`,
    },
    {
      detector: 'instance-session-name-spoof',
      condition: 'a role session named like an instance (i-…) whose key EC2 did not hand out',
      where: `${dialect.regexLike('session_name', INSTANCE_SESSION, true)} AND coalesce(vended_by, '') <> 'ec2.amazonaws.com'`,
    },
    {
      detector: 'instance-credential-role-chain',
      condition:
        'a session whose key was issued by sts:AssumeRole signed with a credential issued to an instance (or to such a chain)',
      where: `caller_key IS NOT NULL AND caller_key <> '' AND NOT ${instance}`,
    },
    {
      detector: 'instance-credential-non-sdk-client',
      condition: `an instance credential used by a client no AWS SDK uses (${NON_SDK_FAMILIES.map(([f]) => f).join(', ')})`,
      where: `${instance} AND k_family <> ''`,
    },
    {
      detector: 'workload-credential-outside-aws',
      condition:
        'a container, function, pod or web-identity credential (or a role session of unknown origin) used from outside private space',
      where: `NOT ${instance} AND ${WORKLOAD(dialect)} AND NOT coalesce(in_allowed, false) AND NOT service_source AND NOT (coalesce(in_special, false) AND k_vpce = '')`,
    },
  ];
}

/** Every detector's candidate query over the `events` relation given. */
export function detectorCandidatesSql(dialect: Dialect, eventsCte: string, options: CandidateOptions): DetectorSql[] {
  const { ctes, select } = usageCtes(dialect);
  const classified = classifiedCtes(dialect, options).replace(USAGES_SELECT_REF, select);
  const key = USAGE_KEY.join(', ');
  return conditions(dialect).map(({ detector, condition, where }) => ({
    detector,
    condition,
    sql: `WITH ${eventsCte},
  ${ctes},
  ${classified}
SELECT ${sqlString(detector)} AS detector, ${key}, ui_arn, session_name, vended_by, calls, first_seen, last_seen, user_agents
FROM classified
WHERE ${where}
ORDER BY first_seen, ${key}`,
  }));
}
