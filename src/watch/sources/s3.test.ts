// The S3 prefix source against a real s3rver on 127.0.0.1: trail folders found by their layout,
// each listed from a few days before its newest committed day, late deliveries found.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startS3rver, type LocalS3 } from '../../sources/s3rver.test-helpers.js';
import { s3PrefixSource } from './s3.js';
import type { Checkpoints } from './types.js';

const BUCKET = 'layout-trail';
let s3: LocalS3;
let client: S3Client;
/** StartAfter and Prefix of every ListObjectsV2 the source sent. */
const lists: { prefix: string | undefined; startAfter: string | undefined; delimiter: string | undefined }[] = [];

function folder(account: string, region: string): string {
  return `logs/AWSLogs/o-abcdefghij/${account}/CloudTrail/${region}/`;
}

function key(account: string, region: string, day: string, n: number): string {
  const stamp = `${day.replace(/\//g, '')}T00${String(n).padStart(2, '0')}Z`;
  return `${folder(account, region)}${day}/${account}_CloudTrail_${region}_${stamp}_x${n}.json.gz`;
}

async function put(keyName: string): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: keyName, Body: 'x' }));
}

/** Checkpoints in memory, as the store keeps them. */
function memoryCheckpoints(): Checkpoints & { commit(keys: string[]): void } {
  const committed = new Set<string>();
  return {
    isCommitted: (k) => committed.has(k),
    lastCommitted: (prefix) =>
      [...committed]
        .filter((k) => k.startsWith(prefix))
        .sort()
        .at(-1),
    commit: (keys) => keys.forEach((k) => committed.add(k)),
  };
}

before(async () => {
  s3 = await startS3rver(BUCKET);
  const real = s3.client;
  const send = real.send.bind(real) as (command: unknown) => Promise<unknown>;
  client = real;
  // Record what the source lists, then pass the call through to s3rver.
  (real as unknown as { send: (command: unknown) => Promise<unknown> }).send = (command) => {
    if (command instanceof ListObjectsV2Command) {
      lists.push({
        prefix: command.input.Prefix,
        startAfter: command.input.StartAfter,
        delimiter: command.input.Delimiter,
      });
    }
    return send(command);
  };
});

after(async () => {
  await s3?.close();
});

describe('s3PrefixSource', () => {
  it('lists each trail folder from its late window and finds late deliveries', async () => {
    for (const day of ['2026/03/01', '2026/03/05', '2026/03/06']) {
      await put(key('111122223333', 'us-east-1', day, 1));
      await put(key('111122223333', 'eu-west-1', day, 2));
    }
    await put(`${folder('111122223333', 'us-east-1')}2026/03/06/not-a-log.txt`);
    await put(`logs/AWSLogs/o-abcdefghij/111122223333/CloudTrail-Digest/us-east-1/2026/03/06/digest.json.gz`);
    const source = s3PrefixSource(`s3://${BUCKET}/logs/`, { client, lateDays: 2, discoverEvery: 2 });
    const checkpoints = memoryCheckpoints();
    const signal = new AbortController().signal;

    const first = await source.poll(checkpoints, 100, signal);
    assert.equal(first.items.length, 6, 'every log object, no digest, no other ending');
    assert.deepEqual(
      first.items.map((i) => i.key.slice(-6)),
      ['_x1.json.gz', '_x2.json.gz', '_x1.json.gz', '_x2.json.gz', '_x1.json.gz', '_x2.json.gz'].map((s) =>
        s.slice(-6),
      ),
    );
    // Delivery order across folders: by the stamp in the name.
    const stamps = first.items.map((i) => /_(\d{8}T\d{4}Z)_/.exec(i.key)![1]!);
    assert.deepEqual(stamps, [...stamps].sort());
    checkpoints.commit(first.items.map((i) => i.key));

    // A late delivery into a day inside the window, and one outside it.
    await put(key('111122223333', 'us-east-1', '2026/03/05', 7));
    await put(key('111122223333', 'us-east-1', '2026/03/01', 8));
    lists.length = 0;
    const second = await source.poll(checkpoints, 100, signal);
    assert.deepEqual(
      second.items.map((i) => i.key),
      [`s3://${BUCKET}/${key('111122223333', 'us-east-1', '2026/03/05', 7)}`],
    );
    // Each trail folder was listed from two days before its newest committed day (03/06).
    const windows = lists.filter((l) => l.delimiter === undefined).map((l) => l.startAfter);
    assert.deepEqual(windows.sort(), [
      `${folder('111122223333', 'eu-west-1')}2026/03/04`,
      `${folder('111122223333', 'us-east-1')}2026/03/04`,
    ]);
    checkpoints.commit(second.items.map((i) => i.key));

    // A new region appears; it is found when folders are looked for again (every second poll here).
    await put(key('111122223333', 'ap-south-1', '2026/03/06', 9));
    const third = await source.poll(checkpoints, 100, signal);
    assert.ok(
      third.items.some((item) => /ap-south-1/.test(item.key)),
      third.items.map((i) => i.key).join(' '),
    );
    checkpoints.commit(third.items.map((i) => i.key));
    lists.length = 0;
    const fourth = await source.poll(checkpoints, 100, signal);
    assert.equal(fourth.items.length, 0);
    assert.equal(lists.filter((l) => l.delimiter === undefined).length, 3, 'one listing per trail folder');
  });

  it('starts at --since in a trail folder without checkpoints, and tells the backlog', async () => {
    const source = s3PrefixSource(`s3://${BUCKET}/${folder('111122223333', 'eu-west-1')}`, {
      client,
      since: '2026-03-05',
    });
    const batch = await source.poll(memoryCheckpoints(), 1, new AbortController().signal);
    assert.equal(batch.items.length, 1);
    assert.match(batch.items[0]!.key, /2026\/03\/05\//);
    assert.equal(batch.backlog, 1, 'the 03/06 object waits for the next batch');
  });
});
