import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startS3rver, type LocalS3 } from '../sources/s3rver.test-helpers.js';
import { loadConfig, type OffboxConfig } from '../config/config.js';
import type { Finding } from '../detect/finding.js';
import { scanCloudTrail } from '../engine/scan.js';
import { scanWebLogs } from '../engine/web-scan.js';
import { WEB_LOG_EXTENSIONS } from '../cli/ssrf.js';
import { loadInventory } from '../inventory/load.js';
import type { OwnershipMap } from '../inventory/ownership.js';
import { loadAwsRanges } from '../net/aws-ranges.js';
import { simulateOrganisation } from '../simulate/index.js';
import { listLocal } from '../sources/local.js';
import { openStore } from '../store/store.js';
import type { FindingSink } from './sinks/types.js';
import { localFolderSource } from './sources/local.js';
import { byDelivery } from './sources/order.js';
import type { QueueClient, QueueMessage } from './sources/sqs-client.js';
import { sqsSource } from './sources/sqs.js';
import { WatchStore } from './state.js';
import { watch } from './watcher.js';

const work = mkdtempSync(join(tmpdir(), 'offbox-watcher-'));
const org = join(work, 'org');
const awsRanges = loadAwsRanges();
let config: OffboxConfig;
let inventory: OwnershipMap;
let oneShot: Finding[] = [];
let files: string[] = [];

function listFiles(dir: string, endings: readonly string[] = ['.json.gz']): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'CloudTrail-Digest') out.push(...listFiles(path, endings));
    } else if (endings.some((ending) => name.endsWith(ending))) out.push(path);
  }
  return out;
}

/** A sink that remembers what it was given. */
function memorySink(name = 'memory'): FindingSink & { got: Finding[] } {
  const got: Finding[] = [];
  return {
    name,
    got,
    deliver(findings) {
      got.push(...findings);
      return Promise.resolve();
    },
  };
}

before(async () => {
  await simulateOrganisation({ out: org, seed: 3 });
  config = loadConfig(join(org, 'offbox.yaml'));
  inventory = loadInventory([join(org, 'inventory')]).map;
  files = listFiles(join(org, 'cloudtrail')).sort(byDelivery);
  const scan = await scanCloudTrail(listLocal([join(org, 'cloudtrail')]), { config, inventory, awsRanges });
  oneShot = scan.findings;
  assert.ok(oneShot.length >= 5);
});

after(() => rmSync(work, { recursive: true, force: true }));

const ids = (findings: readonly Finding[]): string[] => findings.map((f) => f.id).sort();

describe('watch over a folder', () => {
  it('emits what a one-shot scan finds, keeps its state across a restart, and emits nothing twice', async () => {
    const db = join(work, 'folder.db');
    const sink = memorySink();
    const run = async (): Promise<void> => {
      const store = openStore(db);
      try {
        const summary = await watch({
          source: localFolderSource(join(org, 'cloudtrail'), { settleMs: 0 }),
          store,
          sinks: [sink],
          awsRanges,
          config,
          inventory,
          once: true,
          batchItems: 40,
          pollIntervalMs: 10,
        });
        assert.equal(summary.stopped, 'caught-up');
      } finally {
        store.close();
      }
    };
    await run();
    assert.deepEqual(ids(sink.got), ids(oneShot));
    await run();
    assert.equal(sink.got.length, oneShot.length, 'a second run over the same files emits nothing');

    // The state saved batch by batch is the state a one-shot read builds.
    const store = openStore(db);
    try {
      const { state } = new WatchStore(store).loadState();
      const scan = await scanCloudTrail(listLocal([join(org, 'cloudtrail')]), { config, inventory, awsRanges });
      assert.equal(state.events, scan.state.events);
      assert.deepEqual([...state.usages.keys()], [...scan.state.usages.keys()]);
      for (const [key, usage] of scan.state.usages) {
        const restored = state.usages.get(key)!;
        assert.equal(restored.calls, usage.calls, key);
        assert.deepEqual(restored.eventIds, usage.eventIds, key);
        assert.deepEqual([...restored.actions], [...usage.actions], key);
      }
      assert.equal(state.vending.size, scan.state.vending.size);
      const stored = store.listFindings({ limit: 1000 });
      assert.deepEqual(ids(stored.findings), ids(oneShot));
    } finally {
      store.close();
    }
  });

  it('runs the SSRF detectors over web logs in the same process, across a stop and a restart', async () => {
    const db = join(work, 'web.db');
    const sink = memorySink();
    const web = await scanWebLogs(listLocal([join(org, 'weblogs')], { extensions: WEB_LOG_EXTENSIONS }), {
      config,
      inventory,
      awsRanges,
    });
    assert.ok(web.findings.length > 0, 'the simulated web logs hold SSRF attempts');
    const run = async (stopAfterBatches?: number): Promise<void> => {
      const store = openStore(db);
      const controller = new AbortController();
      try {
        await watch({
          source: localFolderSource(join(org, 'cloudtrail'), { settleMs: 0 }),
          webSource: localFolderSource(join(org, 'weblogs'), { settleMs: 0, extensions: WEB_LOG_EXTENSIONS }),
          store,
          sinks: [sink],
          awsRanges,
          config,
          inventory,
          once: stopAfterBatches === undefined,
          batchItems: 3,
          pollIntervalMs: 10,
          signal: controller.signal,
          statusIntervalMs: 0,
          onStatus: (status) => {
            if (stopAfterBatches !== undefined && status.batches >= stopAfterBatches) controller.abort();
          },
        });
      } finally {
        store.close();
      }
    };
    const committed = (): number => {
      const store = openStore(db);
      try {
        return (store.database.prepare('SELECT count(*) AS n FROM watch_objects').get() as { n: number }).n;
      } finally {
        store.close();
      }
    };
    await run(20);
    const webFiles = listFiles(join(org, 'weblogs'), WEB_LOG_EXTENSIONS).length;
    assert.ok(committed() < files.length + webFiles, 'the first run stopped half way');
    await run();
    assert.equal(committed(), files.length + webFiles);
    const expected = ids([...oneShot, ...web.findings]);
    assert.deepEqual(ids(sink.got), expected);
    const store = openStore(db);
    try {
      // The stored web findings are whole: every request of every file, though read across two runs.
      for (const finding of web.findings) {
        const saved = store.getFinding(finding.id)!;
        assert.equal(saved.activity.calls, finding.activity.calls, finding.title);
        assert.deepEqual(saved.evidence.locations, finding.evidence.locations, finding.title);
      }
    } finally {
      store.close();
    }
  });

  it('holds a finding back until the trail has moved past it, and drops one the evidence withdrew', async () => {
    // One file at a time, a finding raised on partial evidence and withdrawn later (a spoofed
    // session read before its AssumeRole, delivered late) must never reach a sink. The simulator
    // delivers 2% of events 30 to 120 minutes late, so a settle window past that sees them all.
    const db = join(work, 'settle.db');
    const sink = memorySink();
    const store = openStore(db);
    try {
      await watch({
        source: localFolderSource(join(org, 'cloudtrail'), { settleMs: 0 }),
        store,
        sinks: [sink],
        awsRanges,
        config,
        inventory,
        once: true,
        batchItems: 1,
        pollIntervalMs: 10,
        settleMs: 3 * 3_600_000,
      });
    } finally {
      store.close();
    }
    assert.deepEqual(ids(sink.got), ids(oneShot));
  });
});

describe('watch over SQS (a mocked queue: there is no local SQS server) with objects in s3rver', () => {
  const BUCKET = 'queued-trail';
  let s3: LocalS3;
  let client: S3Client;

  before(async () => {
    s3 = await startS3rver(BUCKET);
    client = s3.client;
  });

  after(async () => {
    await s3?.close();
  });

  it('deletes a message only once what it announced is committed, and emits each finding once', async () => {
    // The last file arrives as EventBridge CloudTrail events, the others as S3 notifications.
    const viaEventBridge = files.at(-1)!;
    const messages: QueueMessage[] = [];
    let n = 0;
    for (const file of files.slice(0, -1)) {
      const key = `AWSLogs/${relative(join(org, 'cloudtrail', 'AWSLogs'), file)}`;
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: readFileSync(file) }));
      const body = JSON.stringify({
        Records: [
          {
            eventSource: 'aws:s3',
            eventName: 'ObjectCreated:Put',
            s3: { bucket: { name: BUCKET }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/'), size: 1 } },
          },
        ],
      });
      messages.push({ id: `m-${n}`, receiptHandle: `h-${n}`, body });
      n += 1;
    }
    const records = (JSON.parse(gunzipSync(readFileSync(viaEventBridge)).toString('utf8')) as { Records: unknown[] })
      .Records;
    for (const record of records) {
      messages.push({
        id: `m-${n}`,
        receiptHandle: `h-${n}`,
        body: JSON.stringify({ source: 'aws.ec2', 'detail-type': 'AWS API Call via CloudTrail', detail: record }),
      });
      n += 1;
    }
    messages.push({ id: 'm-test', receiptHandle: 'h-test', body: '{"Service":"Amazon S3","Event":"s3:TestEvent"}' });
    // SQS delivers at least once: some messages come twice.
    messages.push({ ...messages[3]!, id: 'm-3-again', receiptHandle: 'h-3-again' });

    const visible = [...messages];
    const deleted = new Set<string>();
    let receives = 0;
    let failAt = 6;
    const db = join(work, 'sqs.db');
    let store = openStore(db);
    const watchStore = (): WatchStore => new WatchStore(store);
    const queue: QueueClient = {
      receive({ maxMessages }) {
        receives += 1;
        if (receives === failAt) return Promise.reject(new Error('connection reset'));
        return Promise.resolve(visible.splice(0, maxMessages));
      },
      deleteMessages(handles) {
        const checkpoints = watchStore();
        for (const { id } of handles) {
          const message = messages.find((m) => m.id === id)!;
          const key = /"key":"([^"]+)"/.exec(message.body)?.[1];
          if (key !== undefined) {
            assert.ok(
              checkpoints.isCommitted(`s3://${BUCKET}/${decodeURIComponent(key)}`),
              `${id} deleted before commit`,
            );
          }
          deleted.add(id);
        }
        return Promise.resolve();
      },
    };
    const sink = memorySink();
    const run = async (): Promise<void> =>
      void (await watch({
        source: await sqsSource(`sqs://sqs.us-east-1.amazonaws.com/123456789012/trail`, { queue, client }),
        store,
        sinks: [sink],
        awsRanges,
        config,
        inventory,
        once: true,
        batchItems: 25,
        pollIntervalMs: 10,
      }));
    await assert.rejects(run(), /connection reset/);
    // What was received but not deleted becomes visible again after the visibility timeout.
    const pending = messages.filter((m) => !deleted.has(m.id) && !visible.includes(m));
    visible.unshift(...pending);
    store.close();
    store = openStore(db);
    failAt = -1;
    await run();
    store.close();
    assert.equal(visible.length, 0);
    assert.equal(deleted.size, messages.length, 'every message is deleted in the end');
    assert.deepEqual(ids(sink.got), ids(oneShot));
  });
});
