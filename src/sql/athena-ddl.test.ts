import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import {
  ATHENA_COMMERCIAL_REGIONS,
  athenaCloudTrailDdl,
  athenaPartitionFilter,
  athenaTableRef,
  type AthenaDdlOptions,
} from './athena-ddl.js';

const GOLDEN = fileURLToPath(new URL('../../test/e2e/golden/athena-ddl.sql', import.meta.url));
const DATA_IP_RANGES = fileURLToPath(new URL('../../data/ip-ranges.json', import.meta.url));

const BASE: AthenaDdlOptions = { table: 'cloudtrail_logs', bucket: 'trail-bucket', startDate: '2024/01/01' };

function usageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
    assert.match(err.message, pattern);
    assert.ok(err.hint !== undefined && err.hint.length > 0, 'a UsageError carries a hint');
    return true;
  });
}

describe('athenaCloudTrailDdl', () => {
  test('an organisation trail with listed accounts and regions equals the golden DDL (UPDATE_GOLDEN=1 rewrites it)', () => {
    const ddl =
      athenaCloudTrailDdl({
        table: 'cloudtrail_logs',
        database: 'security',
        bucket: 'org-trail-bucket',
        prefix: 'org-trail',
        accounts: ['444455556666', '111122223333', '111122223333'],
        organizationId: 'o-a1b2c3d4e5',
        regions: ['us-west-2', 'us-east-1', 'eu-west-1'],
        startDate: '2024/01/01',
      }) + '\n';
    if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(GOLDEN)) {
      writeFileSync(GOLDEN, ddl);
      if (process.env['UPDATE_GOLDEN'] !== '1')
        assert.fail('golden/athena-ddl.sql did not exist and was written: review it');
      return;
    }
    assert.equal(
      ddl,
      readFileSync(GOLDEN, 'utf8'),
      'DDL differs from golden/athena-ddl.sql (UPDATE_GOLDEN=1 to accept)',
    );
  });

  test("keeps AWS's documented table: SerDe, input format, columns and date projection", () => {
    const ddl = athenaCloudTrailDdl(BASE);
    assert.match(ddl, /^CREATE EXTERNAL TABLE `cloudtrail_logs` \(\n/);
    assert.match(ddl, /ROW FORMAT SERDE 'org\.apache\.hive\.hcatalog\.data\.JsonSerDe'/);
    assert.match(ddl, /STORED AS INPUTFORMAT 'com\.amazon\.emr\.cloudtrail\.CloudTrailInputFormat'/);
    assert.match(ddl, /OUTPUTFORMAT 'org\.apache\.hadoop\.hive\.ql\.io\.HiveIgnoreKeyTextOutputFormat'/);
    for (const column of [
      'eventversion STRING',
      'eventtime STRING',
      'sourceipaddress STRING',
      'useragent STRING',
      'requestparameters STRING',
      'responseelements STRING',
      'recipientaccountid STRING',
      'vpcendpointid STRING',
      'vpcendpointaccountid STRING',
      'eventcategory STRING',
      'sessioncredentialfromconsole STRING',
      'ec2roledelivery: STRING',
      'accesskeyid: STRING',
      'sourceidentity: STRING',
      'credentialsissuedto: STRING',
      'clientprovidedhostheader: STRING',
    ]) {
      assert.ok(ddl.includes(column), `has ${column}`);
    }
    assert.match(ddl, /PARTITIONED BY \(\n {4}`account` STRING,\n {4}`region` STRING,\n {4}`timestamp` STRING\)/);
    for (const prop of [
      "'projection.enabled'='true'",
      "'projection.timestamp.format'='yyyy/MM/dd'",
      "'projection.timestamp.interval'='1'",
      "'projection.timestamp.interval.unit'='DAYS'",
      "'projection.timestamp.range'='2024/01/01,NOW'",
      "'projection.timestamp.type'='date'",
    ]) {
      assert.ok(ddl.includes(prop), `has ${prop}`);
    }
    assert.ok(!ddl.trimEnd().endsWith(';'), 'one statement, no semicolon');
    // Brackets balance: the nested STRUCT<…> types are well formed.
    assert.equal((ddl.match(/</g) ?? []).length, (ddl.match(/>/g) ?? []).length);
    assert.equal((ddl.match(/\(/g) ?? []).length, (ddl.match(/\)/g) ?? []).length);
  });

  test('a single-account trail: no organisation in the path, injected account, every commercial region', () => {
    const ddl = athenaCloudTrailDdl(BASE);
    assert.match(ddl, /LOCATION\n {2}'s3:\/\/trail-bucket\/AWSLogs\/'/);
    assert.ok(
      ddl.includes(
        "'storage.location.template'='s3://trail-bucket/AWSLogs/${account}/CloudTrail/${region}/${timestamp}')",
      ),
    );
    assert.ok(ddl.includes("'projection.account.type'='injected'"));
    assert.ok(!ddl.includes('projection.account.values'));
    assert.ok(ddl.includes(`'projection.region.values'='${[...ATHENA_COMMERCIAL_REGIONS].sort().join(',')}'`));
    assert.equal(athenaCloudTrailDdl({ ...BASE, accounts: 'org' }), ddl, "'org' is the default");
  });

  test('an organisation trail puts the organisation id before the account', () => {
    const ddl = athenaCloudTrailDdl({ ...BASE, organizationId: 'o-exampleorgid', accounts: ['111122223333'] });
    assert.ok(ddl.includes("'s3://trail-bucket/AWSLogs/o-exampleorgid/'"));
    assert.ok(ddl.includes("'s3://trail-bucket/AWSLogs/o-exampleorgid/${account}/CloudTrail/${region}/${timestamp}'"));
    assert.ok(ddl.includes("'projection.account.type'='enum'"));
    assert.ok(ddl.includes("'projection.account.values'='111122223333'"));
  });

  test('the prefix goes before AWSLogs/, with surrounding slashes dropped', () => {
    for (const prefix of ['cloudtrail/main', '/cloudtrail/main/', 'cloudtrail/main/']) {
      const ddl = athenaCloudTrailDdl({ ...BASE, prefix });
      assert.ok(ddl.includes("'s3://trail-bucket/cloudtrail/main/AWSLogs/'"), prefix);
    }
    assert.ok(athenaCloudTrailDdl({ ...BASE, prefix: '/' }).includes("'s3://trail-bucket/AWSLogs/'"));
  });

  test('the database qualifies the table name, both backquoted', () => {
    assert.match(
      athenaCloudTrailDdl({ ...BASE, database: 'sec_db' }),
      /^CREATE EXTERNAL TABLE `sec_db`\.`cloudtrail_logs` \(/,
    );
  });

  test('rejects table and database names that are not letters, digits and underscores', () => {
    for (const table of [
      '',
      'cloud-trail',
      'a.b',
      'x`; DROP TABLE y; --',
      'logs"',
      'ünïcode',
      'a b',
      'x'.repeat(256),
    ]) {
      usageError(() => athenaCloudTrailDdl({ ...BASE, table }), /not a valid Athena table name/);
    }
    for (const database of ['', 'my-db', 'db`x', "db'"]) {
      usageError(() => athenaCloudTrailDdl({ ...BASE, database }), /not a valid Athena database name/);
    }
  });

  test('rejects buckets that are URLs, paths or could break out of the quoted location', () => {
    usageError(() => athenaCloudTrailDdl({ ...BASE, bucket: 's3://trail-bucket' }), /bucket name alone/);
    usageError(() => athenaCloudTrailDdl({ ...BASE, bucket: 'trail-bucket/AWSLogs' }), /bucket name alone/);
    for (const bucket of ['', 'a', "b'ucket", 'bucket${x}', 'bu cket', '-bucket', 'bucket\\x', 'bucket\n']) {
      usageError(() => athenaCloudTrailDdl({ ...BASE, bucket }), /not a valid S3 bucket name/);
    }
  });

  test('rejects prefixes with quotes, template markers, whitespace or empty segments', () => {
    for (const prefix of ["a'b", 'logs/${account}', 'a b', 'a//b', 'a\\b', 'a\nb', "x')", 'a{b}']) {
      usageError(() => athenaCloudTrailDdl({ ...BASE, prefix }), /unsupported S3 key prefix/);
    }
  });

  test('rejects bad accounts, organisation ids, regions and start dates', () => {
    usageError(() => athenaCloudTrailDdl({ ...BASE, accounts: [] }), /no accounts/);
    for (const account of ['11112222333', '1111222233334', "111122223333'", 'abcdabcdabcd']) {
      usageError(() => athenaCloudTrailDdl({ ...BASE, accounts: [account] }), /not an AWS account id/);
    }
    for (const organizationId of ['o-', 'a1b2c3d4e5', 'o-ABC1234567', "o-a1b2c3d4e5'"]) {
      usageError(() => athenaCloudTrailDdl({ ...BASE, organizationId }), /not an AWS Organizations id/);
    }
    usageError(() => athenaCloudTrailDdl({ ...BASE, regions: [] }), /no regions/);
    for (const region of ['us-east', 'US-EAST-1', "us-east-1'", 'us-east-1,eu-west-1', '']) {
      usageError(() => athenaCloudTrailDdl({ ...BASE, regions: [region] }), /not an AWS region/);
    }
    for (const startDate of ['2024-01-01', '2024/1/1', '2024/02/30', '2024/13/01', "2024/01/01,NOW'", '']) {
      usageError(() => athenaCloudTrailDdl({ ...BASE, startDate }), /not a valid start date/);
    }
  });

  test('accepts the regions of every partition shape AWS names', () => {
    const ddl = athenaCloudTrailDdl({ ...BASE, regions: ['us-gov-west-1', 'cn-north-1', 'il-central-1', 'eu-west-1'] });
    assert.ok(ddl.includes("'projection.region.values'='cn-north-1,eu-west-1,il-central-1,us-gov-west-1'"));
  });

  test('the default regions are the commercial regions of the vendored ip-ranges.json', () => {
    const ranges = JSON.parse(readFileSync(DATA_IP_RANGES, 'utf8')) as { prefixes: { region: string }[] };
    const commercial = [...new Set(ranges.prefixes.map((p) => p.region))]
      .filter((r) => r !== 'GLOBAL' && !/^(cn|us-gov|eusc|us-iso[a-z]*)-/.test(r))
      .sort();
    assert.deepEqual([...ATHENA_COMMERCIAL_REGIONS].sort(), commercial);
  });
});

describe('athenaTableRef', () => {
  test('double-quotes validated names for queries', () => {
    assert.equal(athenaTableRef('cloudtrail_logs'), '"cloudtrail_logs"');
    assert.equal(athenaTableRef('cloudtrail_logs', 'security'), '"security"."cloudtrail_logs"');
    usageError(() => athenaTableRef('t"; DROP'), /table name/);
    usageError(() => athenaTableRef('t', 'd-b'), /database name/);
  });
});

describe('athenaPartitionFilter', () => {
  test('since alone: the UTC day of since onwards', () => {
    assert.equal(athenaPartitionFilter(new Date('2026-03-01T00:00:00Z')), `"timestamp" >= '2026/03/01'`);
    assert.equal(athenaPartitionFilter(new Date('2026-03-01T23:59:59.999Z')), `"timestamp" >= '2026/03/01'`);
    // A time zone offset is converted to UTC first.
    assert.equal(athenaPartitionFilter(new Date('2026-03-01T01:00:00+02:00')), `"timestamp" >= '2026/02/28'`);
  });

  test("with until: up to the day after until's, for files delivered after midnight", () => {
    assert.equal(
      athenaPartitionFilter(new Date('2026-03-01T10:00:00Z'), new Date('2026-03-05T12:00:00Z')),
      `"timestamp" >= '2026/03/01' AND "timestamp" <= '2026/03/06'`,
    );
    assert.equal(
      athenaPartitionFilter(new Date('2025-12-31T00:00:00Z'), new Date('2025-12-31T23:00:00Z')),
      `"timestamp" >= '2025/12/31' AND "timestamp" <= '2026/01/01'`,
    );
  });

  test('the predicate keeps every event of [since, until]: the day folder of each event time passes it', () => {
    const since = new Date('2026-02-27T05:00:00Z');
    const until = new Date('2026-03-02T07:00:00Z');
    const filter = athenaPartitionFilter(since, until);
    const [, lo, hi] = /'(\d{4}\/\d{2}\/\d{2})' AND "timestamp" <= '(\d{4}\/\d{2}\/\d{2})'/.exec(filter) ?? [];
    assert.ok(lo !== undefined && hi !== undefined);
    for (let t = since.getTime(); t <= until.getTime(); t += 3_600_000) {
      const day = new Date(t).toISOString().slice(0, 10).replaceAll('-', '/');
      assert.ok(day >= lo && day <= hi, `${day} within ${lo}..${hi}`);
    }
  });

  test('rejects invalid dates and an until before since', () => {
    usageError(() => athenaPartitionFilter(new Date('nonsense')), /not a valid --since time/);
    usageError(() => athenaPartitionFilter(new Date('2026-03-01'), new Date('nonsense')), /not a valid --until time/);
    usageError(() => athenaPartitionFilter(new Date('2026-03-02'), new Date('2026-03-01')), /before --since/);
  });
});
