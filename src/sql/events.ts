/**
 * The normalised event relation both SQL back ends start from: one row per CloudTrail event with
 * the fields `normaliseRecord` reads, under the same rules (missing text reads as '', `eventTime`
 * falls back to `@timestamp`, the account is `recipientAccountId` or the identity's account,
 * records with neither an event name nor an event source are not events).
 */
import type { Dialect } from './dialect.js';
import { sqlString } from './dialect.js';

/** Columns of the `events` relation, in order. */
export const EVENT_COLUMNS = [
  'event_id',
  'event_time',
  'ms',
  'event_version',
  'event_source',
  'event_name',
  'event_type',
  'aws_region',
  'source_ip',
  'user_agent',
  'error_code',
  'error_message',
  'account_id',
  'vpce',
  'vpce_account',
  'ui_type',
  'ui_principal',
  'ui_arn',
  'ui_account',
  'ui_key',
  'ui_user',
  'ui_invoked_by',
  'is_present',
  'is_type',
  'is_principal',
  'is_arn',
  'is_account',
  'is_user',
  'creation_date',
  'ec2_role_delivery',
  'source_identity',
  'web_provider',
  'scope_type',
  'scope_issued_to',
  'request_json',
  'response_json',
] as const;

const TRANSFORM = JSON.stringify({
  eventID: 'VARCHAR',
  eventTime: 'VARCHAR',
  '@timestamp': 'VARCHAR',
  eventVersion: 'VARCHAR',
  eventSource: 'VARCHAR',
  eventName: 'VARCHAR',
  eventType: 'VARCHAR',
  awsRegion: 'VARCHAR',
  sourceIPAddress: 'VARCHAR',
  userAgent: 'VARCHAR',
  errorCode: 'VARCHAR',
  errorMessage: 'VARCHAR',
  recipientAccountId: 'VARCHAR',
  vpcEndpointId: 'VARCHAR',
  vpcEndpointAccountId: 'VARCHAR',
  userIdentity: {
    type: 'VARCHAR',
    principalId: 'VARCHAR',
    arn: 'VARCHAR',
    accountId: 'VARCHAR',
    accessKeyId: 'VARCHAR',
    userName: 'VARCHAR',
    invokedBy: 'VARCHAR',
    sessionContext: {
      sessionIssuer: {
        type: 'VARCHAR',
        principalId: 'VARCHAR',
        arn: 'VARCHAR',
        accountId: 'VARCHAR',
        userName: 'VARCHAR',
      },
      attributes: { creationDate: 'VARCHAR' },
      ec2RoleDelivery: 'VARCHAR',
      sourceIdentity: 'VARCHAR',
      webIdFederationData: { federatedProvider: 'VARCHAR' },
    },
    inScopeOf: { issuerType: 'VARCHAR', credentialsIssuedTo: 'VARCHAR' },
  },
});

/** One group of local files DuckDB reads alike. */
export interface DuckDbFileGroup {
  files: readonly string[];
  gzip: boolean;
}

/**
 * DuckDB over local files: delivery files (`{"Records":[…]}`), JSON lines, arrays, concatenated
 * objects, and one level of the export wrappers the native reader expands (cloudtrail/wrappers.ts):
 * `_raw` / `result._raw` (Splunk, Cribl), lookup-events `CloudTrailEvent` strings, EventBridge
 * CloudTrail `detail`, CloudWatch Logs `logEvents` / `events` messages, Splunk HEC `event`, and
 * CloudTrail Lake rows' `eventJson`. Shapes it cannot read (timestamped export lines, base64
 * payloads, Lake projections) are refused before the query runs (hunt/duckdb.ts).
 */
export function duckDbEventsSql(dialect: Dialect, groups: readonly DuckDbFileGroup[]): string {
  const reads = groups
    .filter((group) => group.files.length > 0)
    .map(
      (group) =>
        `SELECT json AS j FROM read_json_objects([${group.files.map(sqlString).join(', ')}], format = 'auto', ` +
        `compression = '${group.gzip ? 'gzip' : 'uncompressed'}', maximum_object_size = 1073741824, ignore_errors = true)`,
    );
  const raw = reads.length > 0 ? reads.join('\n    UNION ALL\n    ') : 'SELECT CAST(NULL AS JSON) AS j WHERE false';
  const expand = (from: string) =>
    `SELECT unnest(CASE WHEN json_type(j, '$.Records') = 'ARRAY' THEN CAST(json_extract(j, '$.Records[*]') AS JSON[]) ELSE [j] END) AS j FROM ${from}`;
  const container = (key: string) =>
    `WHEN json_type(j, '$.${key}') = 'ARRAY' THEN CAST(json_extract(j, '$.${key}[*]') AS JSON[])`;
  // As normaliseRecord: a record with an event name or source is an event, never a wrapper.
  const notEvent = `json_type(j) = 'OBJECT' AND coalesce(json_extract_string(j, '$.eventName'), '') = '' AND coalesce(json_extract_string(j, '$.eventSource'), '') = ''`;
  const jsonText = (path: string) => `TRY_CAST(json_extract_string(j, '${path}') AS JSON)`;
  const str = (path: string) => `coalesce(e.${path}, '')`;
  return `raw_objects AS (
    ${raw}
  ),
  top_records AS (
    SELECT unnest(CASE
      ${container('Records')}
      ${container('Events')}
      ${container('logEvents')}
      ${container('events')}
      ${container('QueryResultRows')}
      ELSE [j] END) AS j
    FROM raw_objects
  ),
  unwrapped AS (
    SELECT CASE
      WHEN json_type(j) = 'OBJECT' AND NOT json_exists(j, '$.eventName') AND json_exists(j, '$._raw') THEN
        CASE WHEN json_type(j, '$._raw') = 'VARCHAR' THEN ${jsonText('$._raw')} ELSE json_extract(j, '$._raw') END
      WHEN json_type(j) = 'OBJECT' AND NOT json_exists(j, '$.eventName') AND json_exists(j, '$.result._raw') THEN
        CASE WHEN json_type(j, '$.result._raw') = 'VARCHAR' THEN ${jsonText('$.result._raw')} ELSE json_extract(j, '$.result._raw') END
      WHEN ${notEvent} AND json_exists(j, '$.CloudTrailEvent') THEN
        CASE WHEN json_type(j, '$.CloudTrailEvent') = 'VARCHAR' THEN ${jsonText('$.CloudTrailEvent')} ELSE json_extract(j, '$.CloudTrailEvent') END
      WHEN ${notEvent} AND json_type(j, '$."detail-type"') = 'VARCHAR' AND json_exists(j, '$.detail') THEN
        CASE WHEN json_extract_string(j, '$."detail-type"') LIKE '% via CloudTrail' AND json_type(j, '$.detail') = 'OBJECT'
          THEN json_extract(j, '$.detail') END
      WHEN ${notEvent} AND json_type(j, '$.message') = 'VARCHAR'
        AND (json_exists(j, '$.timestamp') OR json_exists(j, '$.ingestionTime') OR json_exists(j, '$.id') OR json_exists(j, '$.eventId')) THEN
        ${jsonText('$.message')}
      WHEN ${notEvent} AND json_exists(j, '$.event')
        AND (json_exists(j, '$.time') OR json_exists(j, '$.host') OR json_exists(j, '$.source') OR json_exists(j, '$.sourcetype')
          OR json_exists(j, '$.index') OR json_exists(j, '$.fields')) THEN
        CASE WHEN json_type(j, '$.event') = 'VARCHAR' THEN ${jsonText('$.event')} ELSE json_extract(j, '$.event') END
      WHEN json_type(j) = 'ARRAY' THEN
        TRY_CAST(list_filter(list_concat(
          CAST(json_extract_string(j, '$[*].eventJson') AS VARCHAR[]),
          CAST(json_extract_string(j, '$[*].eventjson') AS VARCHAR[])), x -> x IS NOT NULL)[1] AS JSON)
      ELSE j END AS j
    FROM top_records
  ),
  records AS (${expand('unwrapped')}),
  typed AS (
    SELECT j AS r, json_transform(j, ${sqlString(TRANSFORM)}) AS e
    FROM records
    WHERE json_type(j) = 'OBJECT'
      AND NOT (json_exists(j, '$.digestStartTime') AND json_exists(j, '$.digestS3Bucket'))
  ),
  events AS (
    SELECT
      ${str('eventID')} AS event_id,
      coalesce(nullif(e.eventTime, ''), e."@timestamp", '') AS event_time,
      ${dialect.epochMs(`coalesce(nullif(e.eventTime, ''), e."@timestamp")`)} AS ms,
      ${str('eventVersion')} AS event_version,
      ${str('eventSource')} AS event_source,
      ${str('eventName')} AS event_name,
      ${str('eventType')} AS event_type,
      ${str('awsRegion')} AS aws_region,
      ${str('sourceIPAddress')} AS source_ip,
      ${str('userAgent')} AS user_agent,
      ${str('errorCode')} AS error_code,
      ${str('errorMessage')} AS error_message,
      coalesce(nullif(e.recipientAccountId, ''), e.userIdentity.accountId, '') AS account_id,
      ${str('vpcEndpointId')} AS vpce,
      ${str('vpcEndpointAccountId')} AS vpce_account,
      ${str('userIdentity.type')} AS ui_type,
      ${str('userIdentity.principalId')} AS ui_principal,
      ${str('userIdentity.arn')} AS ui_arn,
      ${str('userIdentity.accountId')} AS ui_account,
      ${str('userIdentity.accessKeyId')} AS ui_key,
      ${str('userIdentity.userName')} AS ui_user,
      ${str('userIdentity.invokedBy')} AS ui_invoked_by,
      coalesce(json_type(r, '$.userIdentity.sessionContext.sessionIssuer') = 'OBJECT', false) AS is_present,
      ${str('userIdentity.sessionContext.sessionIssuer.type')} AS is_type,
      ${str('userIdentity.sessionContext.sessionIssuer.principalId')} AS is_principal,
      ${str('userIdentity.sessionContext.sessionIssuer.arn')} AS is_arn,
      ${str('userIdentity.sessionContext.sessionIssuer.accountId')} AS is_account,
      ${str('userIdentity.sessionContext.sessionIssuer.userName')} AS is_user,
      ${str('userIdentity.sessionContext.attributes.creationDate')} AS creation_date,
      ${str('userIdentity.sessionContext.ec2RoleDelivery')} AS ec2_role_delivery,
      ${str('userIdentity.sessionContext.sourceIdentity')} AS source_identity,
      ${str('userIdentity.sessionContext.webIdFederationData.federatedProvider')} AS web_provider,
      ${str('userIdentity.inScopeOf.issuerType')} AS scope_type,
      ${str('userIdentity.inScopeOf.credentialsIssuedTo')} AS scope_issued_to,
      CASE WHEN json_type(r, '$.requestParameters') = 'OBJECT' THEN CAST(json_extract(r, '$.requestParameters') AS VARCHAR) END AS request_json,
      CASE WHEN json_type(r, '$.responseElements') = 'OBJECT' THEN CAST(json_extract(r, '$.responseElements') AS VARCHAR) END AS response_json
    FROM typed
    WHERE coalesce(e.eventName, '') <> '' OR coalesce(e.eventSource, '') <> ''
  )`;
}

/**
 * Athena (Trino) over the standard CloudTrail table (docs/athena.md, `offbox sql --ddl`): the
 * CloudTrail SerDe has already split the records; bodies arrive as JSON text.
 */
export function tableEventsSql(dialect: Dialect, table: string, where: string | undefined): string {
  const s = (expr: string) => `coalesce(${expr}, '')`;
  return `events AS (
    SELECT
      ${s('eventid')} AS event_id,
      ${s('eventtime')} AS event_time,
      ${dialect.epochMs('eventtime')} AS ms,
      ${s('eventversion')} AS event_version,
      ${s('eventsource')} AS event_source,
      ${s('eventname')} AS event_name,
      ${s('eventtype')} AS event_type,
      ${s('awsregion')} AS aws_region,
      ${s('sourceipaddress')} AS source_ip,
      ${s('useragent')} AS user_agent,
      ${s('errorcode')} AS error_code,
      ${s('errormessage')} AS error_message,
      coalesce(nullif(recipientaccountid, ''), useridentity.accountid, '') AS account_id,
      ${s('vpcendpointid')} AS vpce,
      ${s('vpcendpointaccountid')} AS vpce_account,
      ${s('useridentity.type')} AS ui_type,
      ${s('useridentity.principalid')} AS ui_principal,
      ${s('useridentity.arn')} AS ui_arn,
      ${s('useridentity.accountid')} AS ui_account,
      ${s('useridentity.accesskeyid')} AS ui_key,
      ${s('useridentity.username')} AS ui_user,
      ${s('useridentity.invokedby')} AS ui_invoked_by,
      useridentity.sessioncontext.sessionissuer IS NOT NULL AS is_present,
      ${s('useridentity.sessioncontext.sessionissuer.type')} AS is_type,
      ${s('useridentity.sessioncontext.sessionissuer.principalid')} AS is_principal,
      ${s('useridentity.sessioncontext.sessionissuer.arn')} AS is_arn,
      ${s('useridentity.sessioncontext.sessionissuer.accountid')} AS is_account,
      ${s('useridentity.sessioncontext.sessionissuer.username')} AS is_user,
      ${s('useridentity.sessioncontext.attributes.creationdate')} AS creation_date,
      ${s('useridentity.sessioncontext.ec2roledelivery')} AS ec2_role_delivery,
      ${s('useridentity.sessioncontext.sourceidentity')} AS source_identity,
      ${s('useridentity.sessioncontext.webidfederationdata.federatedprovider')} AS web_provider,
      ${s('useridentity.inscopeof.issuertype')} AS scope_type,
      ${s('useridentity.inscopeof.credentialsissuedto')} AS scope_issued_to,
      requestparameters AS request_json,
      responseelements AS response_json
    FROM ${table}
    WHERE (coalesce(eventname, '') <> '' OR coalesce(eventsource, '') <> '')${where ? `\n      AND ${where}` : ''}
  )`;
}
