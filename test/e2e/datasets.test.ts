// End to end over the real, labelled third-party datasets in fixtures/cloudtrail (see PROVENANCE.md there).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { severityRank } from '../../src/detect/finding.js';
import { assertGolden, FIXTURES, parseNdjson, runCli } from './cli.test-helpers.js';

const MEDIUM = severityRank('medium');

function labelledEventIds(groundTruth: string, label: string): string[] {
  const truth = JSON.parse(readFileSync(join(FIXTURES, 'cloudtrail', groundTruth), 'utf8'));
  return truth.labels[label].events.map((e: { eventID: string }) => e.eventID);
}

describe('OTRF cloud bank breach (proxy SSRF, key used from the attacker laptop)', () => {
  it('finds i-0317f6c6b66ae9c40 used from 1.2.3.4, covers every labelled event, exits 1', async () => {
    const run = await runCli(['scan', join(FIXTURES, 'cloudtrail/otrf'), '--format', 'ndjson']);
    assert.equal(run.code, 1, run.stderr);
    const findings = parseNdjson(run.stdout);
    const hit = findings.find(
      (f) =>
        f.detector === 'instance-credential-outside-aws' &&
        f.principal.instanceId === 'i-0317f6c6b66ae9c40' &&
        f.source.ip === '1.2.3.4',
    );
    assert.ok(hit, 'expected the outside-aws finding');
    assert.equal(hit.severity, 'critical');
    assert.deepEqual(hit.principal.accessKeyIds, ['ASIA5FLZVX4OPVKKVBMX']);
    for (const id of labelledEventIds('otrf.ground-truth.json', 'stolen_instance_credential_use')) {
      assert.ok(hit.evidence.eventIds.includes(id), `labelled event ${id} missing from evidence`);
    }
    assert.equal(hit.activity.calls, 11);
    assert.ok(hit.evidence.vendingEventIds.length >= 1, 'the EC2 vending event anchors the key');
  });

  it('table output matches the golden file', async () => {
    const run = await runCli(['scan', join(FIXTURES, 'cloudtrail/otrf'), '--format', 'table']);
    assertGolden('otrf.table.txt', run.stdout);
  });
});

describe('Invictus Stratus run (IMDSv1 key used off the instance, SSM agent on the box)', () => {
  it('finds the stolen key on i-0dbc91f429e48eeed with the labelled events, and nothing on the benign instance', async () => {
    const run = await runCli(['scan', join(FIXTURES, 'cloudtrail/invictus'), '--format', 'ndjson']);
    assert.equal(run.code, 1, run.stderr);
    const findings = parseNdjson(run.stdout);
    const stolen = findings.filter(
      (f) => f.principal.instanceId === 'i-0dbc91f429e48eeed' && severityRank(f.severity) >= MEDIUM,
    );
    assert.equal(stolen.length, 1);
    const f = stolen[0]!;
    assert.deepEqual(f.principal.accessKeyIds, ['ASIATFQR7NSC36DZQP7P']);
    assert.equal(f.source.ip, '192.168.10.20');
    assert.deepEqual(f.principal.ec2RoleDelivery, ['1.0']);
    for (const id of labelledEventIds('invictus.ground-truth.json', 'stolen_instance_credential_use')) {
      assert.ok(f.evidence.eventIds.includes(id), `labelled event ${id} missing`);
    }
    const benignIds = new Set(labelledEventIds('invictus.ground-truth.json', 'benign_on_instance_use'));
    for (const finding of findings) {
      assert.ok(!finding.evidence.eventIds.some((id) => benignIds.has(id)), `benign event in finding ${finding.id}`);
      if (severityRank(finding.severity) >= MEDIUM)
        assert.notEqual(finding.principal.instanceId, 'i-05c30218156bcc246');
    }
  });
});

describe('Cribl Control Tower sample (benign: SSO, SAML, AWS-owned endpoints)', () => {
  it('yields nothing medium or higher and exits 0', async () => {
    const run = await runCli([
      'scan',
      join(FIXTURES, 'cloudtrail/cribl'),
      join(FIXTURES, 'cloudtrail/cribl-capture'),
      '--format',
      'ndjson',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      parseNdjson(run.stdout).filter((f) => severityRank(f.severity) >= MEDIUM),
      [],
    );
    assert.match(run.stderr, /scanned 3 files, 498 events/);
  });
});
