// The writer's export shapes: an account's trail written as a CloudWatch Logs export or as EventBridge
// events archived by Firehose reads as exactly the events of the same trail delivered by CloudTrail.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readCloudTrail } from '../engine/scan.js';
import { listLocal } from '../sources/local.js';
import { CloudTrailWriter, type TrailShape } from './cloudtrail-writer.js';
import { Rng } from './prng.js';
import type { EventSpec } from './record.js';

const work = mkdtempSync(join(tmpdir(), 'offbox-ct-writer-'));
after(() => rmSync(work, { recursive: true, force: true }));

const START = Date.parse('2024-05-01T10:00:00Z');
const ACCOUNTS = ['111111111111', '222222222222', '333333333333'];

function specs(): EventSpec[] {
  const out: EventSpec[] = [];
  for (let i = 0; i < 300; i++) {
    const account = ACCOUNTS[i % 3]!;
    out.push({
      time: START + i * 20_000,
      account,
      region: 'us-east-1',
      identity: JSON.stringify({
        type: 'AssumedRole',
        principalId: `AROAEXAMPLE:i-0123456789abcdef${i % 10}`,
        arn: `arn:aws:sts::${account}:assumed-role/web/i-0123456789abcdef${i % 10}`,
        accountId: account,
        accessKeyId: `ASIAEXAMPLE${String(i % 10).padStart(9, '0')}`,
      }),
      source: i % 2 ? 's3.amazonaws.com' : 'sts.amazonaws.com',
      name: i % 2 ? 'ListBuckets' : 'GetCallerIdentity',
      ip: '203.0.113.10',
      userAgent: 'aws-cli/2.15.0',
      readOnly: true,
      eventId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      ...(i % 7 === 0 ? { eventType: 'AwsServiceEvent' } : {}),
    });
  }
  return out;
}

async function write(root: string, shapes: Record<string, TrailShape>): Promise<void> {
  const writer = new CloudTrailWriter({
    root,
    start: START,
    trails: ACCOUNTS.map((account) => ({ account, region: 'us-east-1' })),
    bucket: 'trail-bucket',
    trailName: 'org-trail',
    rng: new Rng('writer-test'),
    level: 1,
    parts: 1,
    shapes,
  });
  for (const spec of specs()) writer.add(spec);
  await writer.finish();
}

describe('CloudTrailWriter export shapes', () => {
  it('CloudWatch Logs export and EventBridge-via-Firehose trails read as the delivered trail', async () => {
    const delivered = join(work, 'delivered');
    const shaped = join(work, 'shaped');
    await write(delivered, {});
    await write(shaped, { '222222222222': 'cloudwatch-export', '333333333333': 'eventbridge-firehose' });
    const a = await readCloudTrail(listLocal([delivered]), {});
    const b = await readCloudTrail(listLocal([shaped]), {});
    assert.equal(a.stats.events, 300);
    assert.equal(b.stats.events, 300);
    assert.deepEqual(b.warnings, []);
    const keys = (state: typeof a.state) =>
      [...state.usages.values()]
        .map((u) => JSON.stringify([u.key, u.accountId, u.identity.accessKeyId, u.calls, u.firstSeen]))
        .sort();
    assert.deepEqual(keys(b.state), keys(a.state));
    const names: string[] = [];
    for await (const o of listLocal([shaped])) names.push(o.name.slice(shaped.length + 1));
    assert.ok(
      names.some((n) => /^exportedlogs\/[0-9a-f-]{36}\/222222222222_CloudTrail_us-east-1\/\d{6}\.gz$/.test(n)),
      names.join('\n'),
    );
    assert.ok(
      names.some((n) =>
        /^firehose\/333333333333\/.*\/333333333333-cloudtrail-events-1-\d{4}(-\d\d){5}-[0-9a-f-]{36}\.gz$/.test(n),
      ),
    );
    assert.ok(names.some((n) => n.startsWith('AWSLogs/111111111111/CloudTrail/')));
    assert.ok(
      !names.some((n) => n.includes('222222222222') && n.startsWith('AWSLogs/')),
      'no delivery files or digests for exported trails',
    );
  });
});
