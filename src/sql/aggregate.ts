/**
 * The reading and per-credential aggregation of `offbox scan`, as SQL: the same usages
 * (engine/usage.ts) the native reader builds, the events whose bodies the engine reads
 * (vending, ownership evidence, revocations), and the totals. Run where the logs are (DuckDB over
 * local files, Athena over the organisation's table), the results are small; the same detector
 * model as `offbox scan` then judges them (hunt/from-sql.ts), so the findings and ids are the same.
 */
import { FULL_PARSE_EVENT_NAMES } from '../cloudtrail/fast-records.js';
import { NON_SDK_FAMILIES, SDK_MARKERS } from '../detect/user-agents.js';
import { DENIED_ERROR, MAX_EVENT_IDS, MAX_USER_AGENTS } from '../engine/usage.js';
import type { Dialect } from './dialect.js';
import { sqlPattern, sqlString } from './dialect.js';

/** The usage key columns, in engine/usage.ts `usageKey` order. */
export const USAGE_KEY = [
  'k_account',
  'k_principal',
  'k_key',
  'k_ip',
  'k_vpce',
  'k_vpce_account',
  'k_invoked_by',
  'k_family',
];

function regex(dialect: Dialect, text: string, re: RegExp): string {
  const { pattern, ignoreCase } = sqlPattern(re);
  return dialect.regexLike(text, pattern, ignoreCase);
}

/** `nonSdkClientFamily` (detect/user-agents.ts) as a CASE expression over the same patterns. */
export function clientFamilySql(dialect: Dialect, userAgent: string): string {
  const trimmed = dialect.regexReplaceAll(dialect.regexReplaceAll(userAgent, '^\\[', ''), '^\\s+|\\s+$', '');
  const families = NON_SDK_FAMILIES.map(
    ([family, re]) => `WHEN ${regex(dialect, trimmed, re)} THEN ${sqlString(family)}`,
  ).join(' ');
  return `(CASE WHEN ${trimmed} = '' THEN '' WHEN ${regex(dialect, trimmed, SDK_MARKERS)} THEN '' ${families} ELSE '' END)`;
}

/** `actionName` (engine/usage.ts): the service prefix of the event source and the event name. */
function actionSql(): string {
  return `(CASE WHEN strpos(event_source, '.') > 1 THEN substr(event_source, 1, strpos(event_source, '.') - 1) ELSE event_source END) || ':' || event_name`;
}

/**
 * One row per usage. Repeats of an event (same id) are counted once when the event is among the
 * usage's earliest MAX_EVENT_IDS distinct events, as the native reader does; user agents and event
 * ids kept are the earliest by time, first and last events are chosen by (time, event id, user agent).
 */
export function usageCtes(dialect: Dialect): { ctes: string; select: string } {
  const t = `coalesce(ms, ${dialect.noTime})`;
  const key = USAGE_KEY.join(', ');
  const order = [t, 'event_id', 'user_agent'];
  const first = (column: string) => dialect.minBy(column, order);
  const denied = regex(dialect, 'error_code', DENIED_ERROR);
  const ctes = `used AS (
    SELECT
      account_id AS k_account,
      coalesce(nullif(lower(ui_arn), ''), ui_principal) AS k_principal,
      ui_key AS k_key,
      source_ip AS k_ip,
      vpce AS k_vpce,
      vpce_account AS k_vpce_account,
      ui_invoked_by AS k_invoked_by,
      ${clientFamilySql(dialect, 'user_agent')} AS k_family,
      ${actionSql()} AS action,
      error_code <> '' AS errored,
      (error_code <> '' AND ${denied}) AS denied,
      *
    FROM events
    WHERE ui_type <> '' AND ui_type <> 'AWSService'
  ),
  distinct_ids AS (
    SELECT ${key}, event_id, min(${t}) AS t, count(*) AS copies,
      min(action) AS action, bool_or(errored) AS errored, bool_or(denied) AS denied
    FROM used WHERE event_id <> ''
    GROUP BY ${key}, event_id
  ),
  ranked_ids AS (
    SELECT *, row_number() OVER (PARTITION BY ${key} ORDER BY t, event_id) AS rank FROM distinct_ids
  ),
  counted AS (
    -- What each distinct event adds: one call while kept (repeats are recognised), every copy otherwise.
    SELECT ${key}, event_id, t, action, errored, denied, rank,
      CASE WHEN rank <= ${MAX_EVENT_IDS} THEN 1 ELSE copies END AS n
    FROM ranked_ids
    UNION ALL
    SELECT ${key}, event_id, ${t} AS t, action, errored, denied, 0 AS rank, 1 AS n FROM used WHERE event_id = ''
  ),
  action_counts AS (
    SELECT ${key}, ${dialect.jsonObjectAgg('action', 'total')} AS actions
    FROM (SELECT ${key}, action, sum(n) AS total FROM counted GROUP BY ${key}, action) AS per_action
    GROUP BY ${key}
  ),
  call_counts AS (
    SELECT ${key},
      sum(n) AS calls,
      sum(CASE WHEN errored THEN n ELSE 0 END) AS error_count,
      sum(CASE WHEN denied THEN n ELSE 0 END) AS denied_calls,
      ${dialect.jsonArrayAgg('event_id', 't, event_id', `rank BETWEEN 1 AND ${MAX_EVENT_IDS}`)} AS event_ids,
      count(CASE WHEN rank > 0 THEN 1 END) > ${MAX_EVENT_IDS} AS event_ids_truncated
    FROM counted
    GROUP BY ${key}
  ),
  agent_firsts AS (
    SELECT ${key}, user_agent, min(${t}) AS t FROM used GROUP BY ${key}, user_agent
  ),
  agents AS (
    SELECT ${key}, ${dialect.jsonArrayAgg('user_agent', 't, user_agent', `rank <= ${MAX_USER_AGENTS}`)} AS user_agents
    FROM (SELECT *, row_number() OVER (PARTITION BY ${key} ORDER BY t, user_agent) AS rank FROM agent_firsts) AS ranked
    GROUP BY ${key}
  ),
  summary AS (
    SELECT ${key},
      ${first('event_time')} AS first_seen,
      ${first('user_agent')} AS first_user_agent,
      ${first('event_id')} AS first_event_id,
      ${dialect.maxBy('event_time', order)} FILTER (WHERE ms IS NOT NULL) AS last_seen,
      min(CASE WHEN denied THEN ms END) AS first_denied_ms,
      max(CASE WHEN denied THEN ms END) AS last_denied_ms,
      ${dialect.jsonArrayAgg('aws_region', 'aws_region', "aws_region <> ''")} AS regions,
      ${dialect.jsonArrayAgg('ec2_role_delivery', 'ec2_role_delivery', "ec2_role_delivery <> ''")} AS ec2_role_delivery,
      ${first('ui_type')} AS ui_type,
      ${first('ui_principal')} AS ui_principal,
      ${first('ui_arn')} AS ui_arn,
      ${first('ui_account')} AS ui_account,
      ${first('ui_key')} AS ui_key,
      ${first('ui_user')} AS ui_user,
      ${first('ui_invoked_by')} AS ui_invoked_by,
      ${first('is_present')} AS is_present,
      ${first('is_type')} AS is_type,
      ${first('is_principal')} AS is_principal,
      ${first('is_arn')} AS is_arn,
      ${first('is_account')} AS is_account,
      ${first('is_user')} AS is_user,
      ${first('creation_date')} AS creation_date,
      ${first('ec2_role_delivery')} AS first_ec2_role_delivery,
      ${first('source_identity')} AS source_identity,
      ${first('web_provider')} AS web_provider,
      ${first('scope_type')} AS scope_type,
      ${first('scope_issued_to')} AS scope_issued_to
    FROM used
    GROUP BY ${key}
  )`;
  const select = `SELECT s.*, c.calls, c.error_count, c.denied_calls, c.event_ids, c.event_ids_truncated, a.actions, g.user_agents
FROM summary s
JOIN call_counts c USING (${key})
JOIN action_counts a USING (${key})
JOIN agents g USING (${key})`;
  return { ctes, select };
}

/** The usages query over the `events` relation given. */
export function usagesSql(dialect: Dialect, eventsCte: string): string {
  const { ctes, select } = usageCtes(dialect);
  return `WITH ${eventsCte},
  ${ctes}
${select}`;
}

/** Every event whose request or response body the engine reads, with the bodies as JSON text. */
export function fullEventsSql(dialect: Dialect, eventsCte: string): string {
  const names = [...FULL_PARSE_EVENT_NAMES].sort().map((name) => dialect.stringLiteral(name));
  return `WITH ${eventsCte}
SELECT * FROM events WHERE event_name IN (${names.join(', ')})`;
}

/** How many events were read, and the accounts whose trail they are. */
export function totalsSql(dialect: Dialect, eventsCte: string): string {
  return `WITH ${eventsCte}
SELECT coalesce(sum(n), 0) AS events, ${dialect.jsonArrayAgg('account_id', 'account_id', "account_id <> ''")} AS accounts
FROM (SELECT account_id, count(*) AS n FROM events GROUP BY account_id) AS per_account`;
}

/** The result sets a hunt reads, by name. */
export type HuntQueryName = 'usages' | 'fullEvents' | 'totals';

/** The three queries a hunt runs over the `events` relation, in order, with what each returns. */
export function huntQueries(
  dialect: Dialect,
  eventsCte: string,
): { name: HuntQueryName; description: string; sql: string }[] {
  return [
    {
      name: 'usages',
      description: 'one row per credential, source and client (the usages offbox scan builds)',
      sql: usagesSql(dialect, eventsCte),
    },
    {
      name: 'fullEvents',
      description: 'credential vending, ownership and revocation events, with their bodies',
      sql: fullEventsSql(dialect, eventsCte),
    },
    {
      name: 'totals',
      description: 'events read and the accounts whose trail they are',
      sql: totalsSql(dialect, eventsCte),
    },
  ];
}
