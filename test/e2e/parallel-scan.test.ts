// The parallel reader and the byte-level fast path change nothing: the same findings, counts and
// warnings from one thread or several, with the fast path or with JSON.parse for every record, from
// local files and from S3 (s3rver on 127.0.0.1), on simulated organisations and the real datasets.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { loadConfig } from '../../src/config/config.js';
import { scanCloudTrail, type ScanOptions, type ScanResult } from '../../src/engine/scan.js';
import { loadInventory } from '../../src/inventory/load.js';
import { listLocal } from '../../src/sources/local.js';
import { listS3 } from '../../src/sources/s3.js';
import { simulateOrganisation } from '../../src/simulate/index.js';
import { FIXTURES } from './cli.test-helpers.js';

const work = mkdtempSync(join(tmpdir(), 'offbox-parallel-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Everything a user sees of a scan, minus timings. */
function outcome(result: ScanResult): unknown {
  const stats: Partial<ScanResult['stats']> = { ...result.stats };
  delete stats.durationMs;
  delete stats.fastRecords;
  delete stats.threads;
  return {
    findings: result.findings,
    stats,
    warnings: [...result.warnings].sort((a, b) =>
      `${a.file}\u0000${a.recordIndex ?? -1}`.localeCompare(`${b.file}\u0000${b.recordIndex ?? -1}`),
    ),
  };
}

const VARIANTS: { name: string; options: Pick<ScanOptions, 'threads' | 'fastPath' | 'inProcessFirst'> }[] = [
  { name: 'one thread, JSON.parse only', options: { threads: 1, fastPath: false } },
  { name: 'one thread, fast path', options: { threads: 1 } },
  { name: 'two workers, fast path', options: { threads: 2, inProcessFirst: 0 } },
  {
    name: 'three workers after 3 in-process files, JSON.parse only',
    options: { threads: 3, inProcessFirst: 3, fastPath: false },
  },
];

for (const seed of [4, 7]) {
  describe(`simulated organisation, seed ${seed}: every reader gives the same scan`, () => {
    const out = join(work, `seed-${seed}`);
    before(async () => {
      await simulateOrganisation({ out, seed, events: 30_000 });
    });

    it('the same findings, counts and warnings from every variant', async () => {
      const { map } = loadInventory([join(out, 'inventory')]);
      const config = loadConfig(join(out, 'offbox.yaml'));
      const results: ScanResult[] = [];
      for (const variant of VARIANTS) {
        results.push(
          await scanCloudTrail(listLocal([join(out, 'cloudtrail')]), { config, inventory: map, ...variant.options }),
        );
      }
      const [reference, fast, ...rest] = results;
      assert.ok(reference!.findings.length > 5, 'the organisation has attacks to find');
      assert.ok(reference!.stats.files > 20, 'enough files for several workers');
      assert.equal(reference!.stats.fastRecords ?? 0, 0);
      assert.ok(
        (fast!.stats.fastRecords ?? 0) > 0.9 * fast!.stats.records,
        `the fast path read most records (${fast!.stats.fastRecords} of ${fast!.stats.records})`,
      );
      assert.equal(rest[0]!.stats.threads, 2);
      for (const [i, result] of results.entries()) {
        assert.deepEqual(outcome(result), outcome(reference!), VARIANTS[i]!.name);
      }
    });
  });
}

describe('the real datasets: every reader gives the same scan', () => {
  for (const dataset of ['invictus', 'otrf', 'cribl', 'cribl-capture']) {
    it(dataset, async () => {
      const dir = join(FIXTURES, 'cloudtrail', dataset);
      const results: ScanResult[] = [];
      for (const variant of VARIANTS) results.push(await scanCloudTrail(listLocal([dir]), variant.options));
      assert.ok(results[0]!.stats.events > 0);
      for (const [i, result] of results.entries()) {
        assert.deepEqual(outcome(result), outcome(results[0]!), VARIANTS[i]!.name);
      }
    });
  }
});

describe('bad files read by workers are reported as the in-process reader reports them', () => {
  it('truncated gzip, invalid JSON and a non-CloudTrail file beside good ones', async () => {
    const dir = join(work, 'mixed');
    cpSync(join(FIXTURES, 'cloudtrail', 'invictus'), dir, { recursive: true });
    const good = readFileSync(
      join(
        dir,
        readdirSync(dir).find((n) => n.endsWith('.json'))!,
      ),
    );
    const { gzipSync } = await import('node:zlib');
    writeFileSync(join(dir, 'truncated.json.gz'), gzipSync(good).subarray(0, 400));
    writeFileSync(join(dir, 'broken.json'), good.subarray(0, Math.floor(good.length / 2)));
    writeFileSync(join(dir, 'other.json'), 'hello, not a trail\n');
    const results: ScanResult[] = [];
    for (const variant of VARIANTS) results.push(await scanCloudTrail(listLocal([dir]), variant.options));
    for (const name of ['truncated.json.gz', 'broken.json', 'other.json']) {
      assert.ok(
        results[0]!.warnings.some((w) => w.file.endsWith(name)),
        `${name} is reported`,
      );
    }
    assert.ok(results[0]!.findings.length > 0, 'the good files still give their findings');
    for (const [i, result] of results.entries()) {
      assert.deepEqual(outcome(result), outcome(results[0]!), VARIANTS[i]!.name);
    }
  });
});

describe('S3 objects fetched by the main thread and read by workers', () => {
  let server: S3rver;
  let endpoint = '';
  const bucket = 'org-trail';
  const out = join(work, 's3-org');

  before(async () => {
    await simulateOrganisation({ out, seed: 9, events: 15_000 });
    server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: join(work, 's3rver') });
    const address = await server.run();
    endpoint = `http://127.0.0.1:${address.port}`;
    const client = s3Client(endpoint);
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const root = join(out, 'cloudtrail');
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? walk(path) : [path];
      });
    for (const path of walk(root)) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: relative(root, path), Body: readFileSync(path) }));
    }
    client.destroy();
  });

  after(async () => {
    await server?.close();
  });

  it('gives the scan of the same files read locally', async () => {
    const { map } = loadInventory([join(out, 'inventory')]);
    const config = loadConfig(join(out, 'offbox.yaml'));
    const local = await scanCloudTrail(listLocal([join(out, 'cloudtrail')]), { config, inventory: map, threads: 1 });
    const client = s3Client(endpoint);
    try {
      const remote = await scanCloudTrail(listS3(`s3://${bucket}/AWSLogs/`, { client }), {
        config,
        inventory: map,
        threads: 2,
        inProcessFirst: 0,
      });
      assert.equal(remote.stats.threads, 2);
      assert.ok(local.findings.length > 0);
      const strip = (r: ScanResult) =>
        JSON.parse(
          JSON.stringify(outcome(r))
            .replaceAll(`s3://${bucket}/`, '')
            .replaceAll(`${join(out, 'cloudtrail')}/`, ''),
        );
      assert.deepEqual(strip(remote), strip(local));
    } finally {
      client.destroy();
    }
  });
});

function s3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
