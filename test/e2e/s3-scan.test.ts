// offbox scan s3://… end to end: the built CLI, the AWS SDK v3 and a real s3rver, all on 127.0.0.1.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startS3rver, type LocalS3 } from '../../src/sources/s3rver.test-helpers.js';
import { FIXTURES, parseNdjson, runCli } from './cli.test-helpers.js';

const BUCKET = 'org-trail';
const PREFIX = 'AWSLogs/123837392027/CloudTrail/us-east-1/2023/07/10/';
// Confine the SDK's credential chain to these variables: no profiles, no instance metadata.
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/nonexistent',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
};

let s3: LocalS3;
let endpoint = '';

before(async () => {
  s3 = await startS3rver(BUCKET);
  endpoint = s3.endpoint;
  const dir = join(FIXTURES, 'cloudtrail/invictus');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    await s3.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${PREFIX}${name}.gz`,
        Body: gzipSync(readFileSync(join(dir, name))),
      }),
    );
  }
});

after(async () => {
  await s3?.close();
});

describe('offbox scan s3://', () => {
  it('finds the Invictus theft from gzipped delivery files in a bucket', async () => {
    const run = await runCli(
      ['scan', `s3://${BUCKET}/AWSLogs/`, '--endpoint-url', endpoint, '--region', 'us-east-1', '--format', 'ndjson'],
      { env: AWS_ENV },
    );
    assert.equal(run.code, 1, run.stderr);
    const findings = parseNdjson(run.stdout);
    assert.ok(
      findings.some((f) => f.principal.instanceId === 'i-0dbc91f429e48eeed' && f.source.ip === '192.168.10.20'),
    );
    assert.match(run.stderr, /scanned 55 files, 2900 events/);
  });

  it('a missing bucket is an input error with a hint', async () => {
    const run = await runCli(['scan', 's3://no-such-bucket/x/', '--endpoint-url', endpoint, '--region', 'us-east-1'], {
      env: AWS_ENV,
    });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /no-such-bucket/);
  });

  it('a prefix that matches nothing is a usage error, never "no findings"', async () => {
    const run = await runCli(
      ['scan', `s3://${BUCKET}/AWSLogs/no-such-account/`, '--endpoint-url', endpoint, '--region', 'us-east-1'],
      { env: AWS_ENV },
    );
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /no log files in s3:\/\/\S+\/AWSLogs\/no-such-account\//);
  });
});
