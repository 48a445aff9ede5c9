/**
 * The Athena table over a trail's S3 bucket that `offbox hunt --engine athena` queries, and the
 * partition predicate that keeps its queries to the days asked for.
 *
 * The DDL is AWS's own, from "Create the table for CloudTrail logs in Athena using partition
 * projection" (https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-partition-projection.html):
 * the same columns, the same SerDe and input format, and the same date projection on `timestamp`.
 * It differs in three ways, all additive:
 *
 * - two fields the detectors read and AWS's column list omits: `useridentity.sessioncontext.sourceidentity`
 *   and `useridentity.inscopeof` (`issuertype`, `credentialsissuedto`, which mark Lambda credentials).
 *   The JSON SerDe fills absent fields with NULL, so records without them read as before;
 * - `account` and `region` partition keys as well as `timestamp`, so one table covers every account and
 *   region of a trail (organisation trails, "Create a table for an organization wide trail",
 *   https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-org-wide-trail.html, add the
 *   organisation id to the path: `AWSLogs/<org-id>/<account>/CloudTrail/<region>/yyyy/MM/dd/`);
 * - `account` is an `enum` over the accounts given, or `injected` when none are ("Use dynamic ID
 *   partitioning", https://docs.aws.amazon.com/athena/latest/ug/partition-projection-dynamic-id-partitioning.html):
 *   every query on an injected column must then name its values (`WHERE account IN (…)`).
 *
 * Every name and path that goes into the text is validated first, so nothing can break out of a
 * quoted identifier or string.
 */
import { UsageError } from '../errors.js';

export interface AthenaDdlOptions {
  /** Table name: letters, digits and underscores. */
  table: string;
  /** Database (Glue catalog database) the table goes in; the query's default database when omitted. */
  database?: string;
  /** The trail's S3 bucket (name only, no `s3://`). */
  bucket: string;
  /** The trail's S3 key prefix, the part before `AWSLogs/`; none by default. */
  prefix?: string;
  /**
   * Account ids (12 digits) for an `enum` projection of the `account` partition, or `'org'` (the
   * default) for an `injected` one, whose queries must name their accounts.
   */
  accounts?: string[] | 'org';
  /** Organisation id (`o-…`) of an organisation trail, whose keys read `AWSLogs/<org-id>/<account>/…`. */
  organizationId?: string;
  /** Regions for the `region` partition; default {@link ATHENA_COMMERCIAL_REGIONS}. */
  regions?: string[];
  /** First day of the `timestamp` projection, `yyyy/MM/dd` (UTC). */
  startDate: string;
}

/**
 * The regions of the commercial `aws` partition: every region in AWS's ip-ranges.json (syncToken
 * 1787433425, vendored in data/) except `GLOBAL` and the China (`cn-`), GovCloud (`us-gov-`) and
 * European Sovereign Cloud (`eusc-`) partitions, whose trails live in buckets of their own partitions.
 * A region with no logs costs a projected partition that lists empty, never a wrong result.
 */
export const ATHENA_COMMERCIAL_REGIONS: readonly string[] = [
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'me-west-1',
  'mx-central-1',
  'sa-east-1',
  'sa-west-1',
  'us-east-1',
  'us-east-2',
  'us-south-1',
  'us-west-1',
  'us-west-2',
];

// Glue lower-cases names and allows up to 255 characters; Athena asks for letters, digits and underscores.
const NAME_RE = /^[A-Za-z0-9_]{1,255}$/;
// As src/sources/s3.ts accepts bucket names (dots and legacy underscores/capitals included).
const BUCKET_RE = /^[A-Za-z0-9][A-Za-z0-9.\-_]{1,254}$/;
// S3's "safe characters" for key names, segments separated by single slashes: no quote, backslash,
// `$`, braces or whitespace that could end a quoted string or open a projection template.
const PREFIX_SEGMENT_RE = /^[A-Za-z0-9!\-_.*()]+$/;
const ACCOUNT_RE = /^\d{12}$/;
const ORG_RE = /^o-[a-z0-9]{10,32}$/;
const REGION_RE = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;
const DATE_RE = /^(\d{4})\/(\d{2})\/(\d{2})$/;

/** Throws a UsageError unless `name` is a safe Athena database or table name. */
export function assertAthenaName(kind: 'table' | 'database', name: string): void {
  if (!NAME_RE.test(name)) {
    throw new UsageError(
      `not a valid Athena ${kind} name: ${JSON.stringify(name)}`,
      `use letters, digits and underscores only (at most 255), e.g. ${kind === 'table' ? 'cloudtrail_logs' : 'security'}`,
    );
  }
}

/** `"database"."table"` (or `"table"`) for a query, after validating both names. */
export function athenaTableRef(table: string, database?: string): string {
  assertAthenaName('table', table);
  if (database === undefined) return `"${table}"`;
  assertAthenaName('database', database);
  return `"${database}"."${table}"`;
}

function ddlTableRef(table: string, database: string | undefined): string {
  assertAthenaName('table', table);
  if (database === undefined) return `\`${table}\``;
  assertAthenaName('database', database);
  return `\`${database}\`.\`${table}\``;
}

function checkBucket(bucket: string): void {
  if (/^s3:\/\//i.test(bucket) || bucket.includes('/')) {
    throw new UsageError(
      `the bucket must be a bucket name alone, not ${JSON.stringify(bucket)}`,
      'pass the bucket name (my-trail-bucket) and the key prefix before AWSLogs/ separately',
    );
  }
  if (!BUCKET_RE.test(bucket)) {
    throw new UsageError(
      `not a valid S3 bucket name: ${JSON.stringify(bucket)}`,
      "give the trail's bucket name: letters, digits, dots, hyphens (see `aws cloudtrail describe-trails`)",
    );
  }
}

/** The prefix without leading or trailing slashes ('' for none), validated. */
function normalisePrefix(prefix: string | undefined): string {
  if (prefix === undefined) return '';
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  const segments = trimmed.split('/');
  if (segments.some((s) => !PREFIX_SEGMENT_RE.test(s))) {
    throw new UsageError(
      `unsupported S3 key prefix: ${JSON.stringify(prefix)}`,
      "use the trail's S3 key prefix (the part before AWSLogs/) made of letters, digits and ! - _ . * ( ), segments separated by single slashes",
    );
  }
  return segments.join('/');
}

function checkStartDate(date: string): void {
  const m = DATE_RE.exec(date);
  const valid =
    m !== null &&
    (() => {
      const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const t = new Date(Date.UTC(y, mo - 1, d));
      return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
    })();
  if (!valid) {
    throw new UsageError(
      `not a valid start date: ${JSON.stringify(date)}`,
      'write it as yyyy/MM/dd, e.g. 2024/01/01: the first day of logs the table should cover',
    );
  }
}

function accountValues(accounts: string[]): string {
  if (accounts.length === 0) {
    throw new UsageError(
      'no accounts given',
      "list the trail's account ids, or leave them out to inject them per query",
    );
  }
  for (const a of accounts) {
    if (!ACCOUNT_RE.test(a)) {
      throw new UsageError(
        `not an AWS account id: ${JSON.stringify(a)}`,
        'account ids are 12 digits, e.g. 111122223333',
      );
    }
  }
  return [...new Set(accounts)].sort().join(',');
}

function regionValues(regions: readonly string[]): string {
  if (regions.length === 0) {
    throw new UsageError(
      'no regions given',
      'list the regions the trail logs, or leave them out for every commercial region',
    );
  }
  for (const r of regions) {
    if (!REGION_RE.test(r)) {
      throw new UsageError(
        `not an AWS region: ${JSON.stringify(r)}`,
        'write regions as AWS names them, e.g. us-east-1',
      );
    }
  }
  return [...new Set(regions)].sort().join(',');
}

// AWS's column list (see the top of the file) plus sessioncontext.sourceidentity and inscopeof.
const COLUMNS = `    eventversion STRING,
    useridentity STRUCT<
        type: STRING,
        principalid: STRING,
        arn: STRING,
        accountid: STRING,
        invokedby: STRING,
        accesskeyid: STRING,
        username: STRING,
        onbehalfof: STRUCT<
            userid: STRING,
            identitystorearn: STRING>,
        sessioncontext: STRUCT<
            attributes: STRUCT<
                mfaauthenticated: STRING,
                creationdate: STRING>,
            sessionissuer: STRUCT<
                type: STRING,
                principalid: STRING,
                arn: STRING,
                accountid: STRING,
                username: STRING>,
            ec2roledelivery: STRING,
            webidfederationdata: STRUCT<
                federatedprovider: STRING,
                attributes: MAP<STRING,STRING>>,
            sourceidentity: STRING>,
        inscopeof: STRUCT<
            issuertype: STRING,
            credentialsissuedto: STRING>>,
    eventtime STRING,
    eventsource STRING,
    eventname STRING,
    awsregion STRING,
    sourceipaddress STRING,
    useragent STRING,
    errorcode STRING,
    errormessage STRING,
    requestparameters STRING,
    responseelements STRING,
    additionaleventdata STRING,
    requestid STRING,
    eventid STRING,
    readonly STRING,
    resources ARRAY<STRUCT<
        arn: STRING,
        accountid: STRING,
        type: STRING>>,
    eventtype STRING,
    apiversion STRING,
    recipientaccountid STRING,
    serviceeventdetails STRING,
    sharedeventid STRING,
    vpcendpointid STRING,
    vpcendpointaccountid STRING,
    eventcategory STRING,
    addendum STRUCT<
        reason: STRING,
        updatedfields: STRING,
        originalrequestid: STRING,
        originaleventid: STRING>,
    sessioncredentialfromconsole STRING,
    edgedevicedetails STRING,
    tlsdetails STRUCT<
        tlsversion: STRING,
        ciphersuite: STRING,
        clientprovidedhostheader: STRING>`;

/**
 * `CREATE EXTERNAL TABLE` for a trail's logs with partition projection on `account`, `region` and
 * `timestamp` (see the top of the file). One statement, no trailing semicolon or newline, ready for
 * the Athena console or StartQueryExecution. Throws a UsageError (with a hint) on any unsafe or
 * malformed name, path, account, region or date.
 */
export function athenaCloudTrailDdl(options: AthenaDdlOptions): string {
  const tableRef = ddlTableRef(options.table, options.database);
  checkBucket(options.bucket);
  const prefix = normalisePrefix(options.prefix);
  if (options.organizationId !== undefined && !ORG_RE.test(options.organizationId)) {
    throw new UsageError(
      `not an AWS Organizations id: ${JSON.stringify(options.organizationId)}`,
      'organisation ids look like o-a1b2c3d4e5 (aws organizations describe-organization); the trail writes AWSLogs/<org-id>/<account>/…',
    );
  }
  checkStartDate(options.startDate);
  const accounts = options.accounts ?? 'org';
  const regions = regionValues(options.regions ?? ATHENA_COMMERCIAL_REGIONS);

  const root =
    `s3://${options.bucket}/` +
    (prefix === '' ? '' : `${prefix}/`) +
    'AWSLogs/' +
    (options.organizationId === undefined ? '' : `${options.organizationId}/`);
  const accountProjection =
    accounts === 'org'
      ? [`  'projection.account.type'='injected',`]
      : [`  'projection.account.type'='enum',`, `  'projection.account.values'='${accountValues(accounts)}',`];

  return [
    `CREATE EXTERNAL TABLE ${tableRef} (`,
    COLUMNS,
    ')',
    'PARTITIONED BY (',
    '    `account` STRING,',
    '    `region` STRING,',
    '    `timestamp` STRING)',
    "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'",
    "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'",
    "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'",
    'LOCATION',
    `  '${root}'`,
    'TBLPROPERTIES (',
    "  'projection.enabled'='true',",
    ...accountProjection,
    "  'projection.region.type'='enum',",
    `  'projection.region.values'='${regions}',`,
    "  'projection.timestamp.format'='yyyy/MM/dd',",
    "  'projection.timestamp.interval'='1',",
    "  'projection.timestamp.interval.unit'='DAYS',",
    `  'projection.timestamp.range'='${options.startDate},NOW',`,
    "  'projection.timestamp.type'='date',",
    `  'storage.location.template'='${root}\${account}/CloudTrail/\${region}/\${timestamp}')`,
  ].join('\n');
}

function utcDay(date: Date, what: string): string {
  const t = date.getTime();
  if (Number.isNaN(t)) {
    throw new UsageError(
      `not a valid ${what} time`,
      'give an ISO date or time, e.g. 2026-03-01 or 2026-03-01T12:00:00Z',
    );
  }
  const d = new Date(t);
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(d.getUTCDate()).padStart(2, '0');
  return `${String(d.getUTCFullYear()).padStart(4, '0')}/${mm}/${dd}`;
}

const DAY_MS = 86_400_000;

/**
 * A predicate on the `timestamp` partition column for a query's WHERE clause, so Athena reads only
 * the days' folders that can hold events in [since, until]: `"timestamp" >= '2026/03/01'`, and with
 * `until`, `AND "timestamp" <= '…'` one day after until's (UTC) day.
 *
 * The folders are named for the UTC day a log file was delivered, which is never before its events'
 * day, so the lower bound drops nothing. Files are delivered minutes (now and then hours) after their
 * events, so the upper bound keeps the next day's folder as well. The predicate is a necessary
 * condition only: the query filters on `eventtime` itself.
 */
export function athenaPartitionFilter(since: Date, until?: Date): string {
  const from = utcDay(since, '--since');
  if (until === undefined) return `"timestamp" >= '${from}'`;
  if (Number.isNaN(until.getTime())) utcDay(until, '--until');
  if (until.getTime() < since.getTime()) {
    throw new UsageError(
      `--until (${until.toISOString()}) is before --since (${since.toISOString()})`,
      'give an --until after --since, or leave it out to read up to now',
    );
  }
  const to = utcDay(new Date(until.getTime() + DAY_MS), '--until');
  return `"timestamp" >= '${from}' AND "timestamp" <= '${to}'`;
}
