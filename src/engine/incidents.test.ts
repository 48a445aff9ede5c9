import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VendingIndex, type VendingRecord } from '../cloudtrail/vending.js';
import type { Finding } from '../detect/finding.js';
import type { Revocation } from '../detect/revocation.js';
import { sampleFinding } from '../report/sample-findings.test-helpers.js';
import { buildIncidents, INCIDENT_STEPS, type Incident } from './incidents.js';

const ACCOUNT = '111122223333';
const A = 'i-0aaaaaaaaaaaaaaaa';
const B = 'i-0bbbbbbbbbbbbbbbb';
const KEY_A = 'ASIAAAAAAAAAAAAAAAAA';
const KEY_B = 'ASIABBBBBBBBBBBBBBBB';

function vended(key: string, instanceId: string, time: string, role = 'web-role'): VendingRecord {
  return {
    accessKeyId: key,
    issuer: 'ec2',
    issuedBy: 'ec2.amazonaws.com',
    callerAccessKeyId: '',
    callerSourceIp: 'ec2.amazonaws.com',
    roleArn: `arn:aws:iam::${ACCOUNT}:role/${role}`,
    sessionName: instanceId,
    issuedAtMs: Date.parse(time),
    eventTime: time,
    eventId: `vend-${key}`,
    accountId: ACCOUNT,
    region: 'us-east-1',
  };
}

function revocation(role: string, at: string): Revocation {
  return {
    accountId: ACCOUNT,
    roleName: role,
    atMs: Date.parse(at),
    at,
    cutoffMs: Date.parse(at),
    cutoff: at,
    eventId: `revoke-${role}-${at}`,
    sessionNames: [],
  };
}

function ssrf(id: string, instanceId: string, first: string, last = first, role = 'web-role'): Finding {
  return sampleFinding({
    id,
    detector: 'imds-ssrf-attempt',
    severity: 'critical',
    title: `Metadata-service SSRF attempt via shop.example from 198.51.100.9 (${id})`,
    accountId: ACCOUNT,
    principal: {
      role,
      roleArn: '',
      sessionName: '',
      instanceId,
      accessKeyIds: [],
      credentialKind: 'ec2-instance',
      ec2RoleDelivery: [],
    },
    source: { ip: '198.51.100.9', class: 'public', owner: '' },
    activity: {
      calls: 4,
      actions: ['GET /preview'],
      firstSeen: first,
      lastSeen: last,
      userAgents: ['curl/8'],
      errorCount: 0,
    },
    evidence: { eventIds: [], locations: ['alb.log:3', 'alb.log:9'], locationsTruncated: false, vendingEventIds: [] },
    request: {
      method: 'GET',
      url: 'https://shop.example/preview?url=http://169.254.169.254/latest/meta-data/iam/security-credentials/web-role',
      clientIp: '198.51.100.9',
      status: 200,
    },
    response: { commands: ['# fix the SSRF'] },
  });
}

function offBox(id: string, instanceId: string, key: string, first: string, last: string, role = 'web-role'): Finding {
  return sampleFinding({
    id,
    detector: 'instance-credential-outside-aws',
    severity: 'critical',
    accountId: ACCOUNT,
    principal: { role, sessionName: instanceId, instanceId, accessKeyIds: [key], credentialKind: 'ec2-instance' },
    source: { ip: '203.0.113.50', class: 'public' },
    activity: { firstSeen: first, lastSeen: last, calls: 40, errorCount: 5 },
  });
}

function revokedUse(
  id: string,
  instanceId: string,
  key: string,
  first: string,
  last: string,
  role = 'web-role',
): Finding {
  return sampleFinding({
    id,
    detector: 'revoked-session-use',
    severity: 'high',
    accountId: ACCOUNT,
    principal: { role, sessionName: instanceId, instanceId, accessKeyIds: [key], credentialKind: 'ec2-instance' },
    source: { ip: '203.0.113.50', class: 'public' },
    activity: { firstSeen: first, lastSeen: last, calls: 40, errorCount: 5 },
  });
}

function signedUrl(id: string, relay: string, key: string, first: string): Finding {
  return sampleFinding({
    id,
    detector: 'signed-aws-url-in-request',
    severity: 'high',
    accountId: ACCOUNT,
    principal: {
      role: '',
      roleArn: '',
      sessionName: '',
      instanceId: relay,
      accessKeyIds: [key],
      credentialKind: 'unknown',
      ec2RoleDelivery: [],
    },
    source: { ip: '198.51.100.9', class: 'public' },
    activity: { firstSeen: first, lastSeen: first, calls: 3 },
    evidence: { eventIds: [], locations: ['alb.log:20'], locationsTruncated: false, vendingEventIds: [] },
    request: {
      method: 'GET',
      url: `https://shop.example/preview?url=https://b.s3.amazonaws.com/x?X-Amz-Credential=${key}`,
      clientIp: '198.51.100.9',
      status: 200,
    },
  });
}

/** One theft on instance A, told by hand: vend → SSRF → off-box use → revocation → denied use. */
function theftOnA(): { findings: Finding[]; vending: VendingIndex; revocations: Revocation[] } {
  const vending = new VendingIndex();
  vending.add(vended(KEY_A, A, '2025-01-15T09:00:00Z'));
  return {
    findings: [
      ssrf('web-a', A, '2025-01-15T09:10:00.250Z'),
      offBox('ct-a', A, KEY_A, '2025-01-15T09:20:00Z', '2025-01-15T11:30:00Z'),
      revokedUse('rev-a', A, KEY_A, '2025-01-15T09:20:00Z', '2025-01-15T11:30:00Z'),
    ],
    vending,
    revocations: [revocation('web-role', '2025-01-15T11:00:00Z')],
  };
}

function steps(incident: Incident): string[] {
  return incident.timeline.map((e) => e.step);
}

describe('buildIncidents', () => {
  it('links attempt, theft, use and revocation on one instance into one incident in time order', () => {
    const { findings, vending, revocations } = theftOnA();
    const incidents = buildIncidents(findings, { vending, revocations });
    assert.equal(incidents.length, 1);
    const [incident] = incidents;
    assert.ok(incident);
    assert.equal(incident.instanceId, A);
    assert.equal(incident.accountId, ACCOUNT);
    assert.equal(incident.role, 'web-role');
    assert.equal(incident.severity, 'critical');
    assert.deepEqual(incident.accessKeyIds, [KEY_A]);
    assert.deepEqual(incident.findingIds, ['web-a', 'ct-a', 'rev-a']);
    assert.deepEqual(steps(incident), [
      'credential-vended',
      'ssrf-attempt',
      'first-off-box-use',
      'revocation',
      'use-after-revocation',
    ]);
    const times = incident.timeline.map((e) => Date.parse(e.time));
    assert.deepEqual(
      [...times].sort((a, b) => a - b),
      times,
    );
    assert.equal(incident.timeline[0]?.time, '2025-01-15T09:00:00.000Z');
    assert.equal(incident.timeline[1]?.findingId, 'web-a');
    assert.equal(incident.timeline[1]?.detector, 'imds-ssrf-attempt');
    assert.match(incident.timeline[3]?.text ?? '', /AWSRevokeOlderSessions .* web-role/);
    assert.match(incident.title, /SSRF against i-0a+ \(web-role\), then its credentials used off the instance/);
    assert.match(incident.story, /198\.51\.100\.9 sent 4 web requests/);
    assert.match(incident.story, /revoked at 2025-01-15T11:00:00\.000Z/);
    assert.match(incident.id, /^[0-9a-f]{32}$/);
    for (const entry of incident.timeline) assert.ok(INCIDENT_STEPS.includes(entry.step));
  });

  it('keeps two instances apart', () => {
    const { findings, vending, revocations } = theftOnA();
    vending.add(vended(KEY_B, B, '2025-01-15T08:00:00Z', 'batch-role'));
    const more = [...findings, offBox('ct-b', B, KEY_B, '2025-01-15T08:30:00Z', '2025-01-15T08:40:00Z', 'batch-role')];
    const incidents = buildIncidents(more, { vending, revocations });
    assert.equal(incidents.length, 2);
    const a = incidents.find((i) => i.instanceId === A);
    const b = incidents.find((i) => i.instanceId === B);
    assert.deepEqual(a?.findingIds, ['web-a', 'ct-a', 'rev-a']);
    assert.deepEqual(b?.findingIds, ['ct-b']);
    // The revocation is of web-role, not B's role.
    assert.deepEqual(steps(b!), ['credential-vended', 'first-off-box-use']);
    assert.notEqual(a?.id, b?.id);
    assert.match(b?.story ?? '', /No revocation of batch-role was seen/);
  });

  it('makes a web attempt with no CloudTrail side an incident of its own', () => {
    const { findings, vending, revocations } = theftOnA();
    const lone = ssrf('web-b', B, '2025-01-15T10:00:00Z', '2025-01-15T10:05:00Z', 'batch-role');
    const incidents = buildIncidents([...findings, lone], { vending, revocations });
    assert.equal(incidents.length, 2);
    const b = incidents.find((i) => i.instanceId === B);
    assert.ok(b);
    assert.deepEqual(b.findingIds, ['web-b']);
    assert.deepEqual(steps(b), ['ssrf-attempt', 'ssrf-attempt']);
    assert.match(b.title, /SSRF attempt against i-0b+ \(batch-role\): no use of its credentials seen/);
    assert.match(b.story, /No CloudTrail finding shows the instance's credentials in use elsewhere/);
  });

  it('gives a web attempt with no known backend and a CloudTrail finding without web side their own incidents', () => {
    const unknownBackend = ssrf('web-x', '', '2025-01-15T10:00:00Z');
    const alone = offBox('ct-b', B, KEY_B, '2025-01-15T08:30:00Z', '2025-01-15T08:40:00Z');
    const incidents = buildIncidents([unknownBackend, alone]);
    assert.equal(incidents.length, 2);
    assert.deepEqual(
      incidents.map((i) => i.findingIds),
      [['ct-b'], ['web-x']],
    );
    assert.equal(incidents[1]?.instanceId, '');
    assert.equal(incidents[1]?.title, unknownBackend.title);
  });

  it('gives identical output for the same findings in any order', () => {
    const { findings, vending, revocations } = theftOnA();
    vending.add(vended(KEY_B, B, '2025-01-15T08:00:00Z', 'batch-role'));
    const all = [
      ...findings,
      offBox('ct-b', B, KEY_B, '2025-01-15T08:30:00Z', '2025-01-15T08:40:00Z', 'batch-role'),
      ssrf('web-b', B, '2025-01-15T08:10:00Z', '2025-01-15T08:10:00Z', 'batch-role'),
      signedUrl('sig-a', A, KEY_A, '2025-01-15T09:30:00Z'),
      ssrf('web-x', '', '2025-01-15T10:00:00Z'),
      offBox('ct-k', '', 'ASIAKEYONLY000000000', '2025-01-15T07:00:00Z', '2025-01-15T07:10:00Z'),
    ];
    const expected = buildIncidents(all, { vending, revocations: [...revocations] });
    assert.equal(expected.length, 4);
    fc.assert(
      fc.property(fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }), (shuffled) => {
        assert.deepEqual(buildIncidents(shuffled, { vending, revocations: [...revocations].reverse() }), expected);
      }),
      { numRuns: 50 },
    );
  });

  it('joins a signed URL by its key to the instance the key was vended to', () => {
    const vending = new VendingIndex();
    vending.add(vended(KEY_A, A, '2025-01-15T09:00:00Z'));
    // Relayed through B, signed with A's key: part of both stories.
    const signed = signedUrl('sig', B, KEY_A, '2025-01-15T09:30:00Z');
    const incidents = buildIncidents(
      [signed, offBox('ct-a', A, KEY_A, '2025-01-15T09:20:00Z', '2025-01-15T09:25:00Z')],
      {
        vending,
      },
    );
    const a = incidents.find((i) => i.instanceId === A);
    const b = incidents.find((i) => i.instanceId === B);
    assert.deepEqual(a?.findingIds, ['ct-a', 'sig']);
    assert.deepEqual(b?.findingIds, ['sig']);
    assert.deepEqual(steps(a!), ['credential-vended', 'first-off-box-use', 'signed-request-relayed']);
  });

  it('groups by access key when no instance is known, and a signed URL with that key joins it', () => {
    const key = 'ASIAKEYONLY000000000';
    const ct = offBox('ct-k', '', key, '2025-01-15T07:00:00Z', '2025-01-15T07:10:00Z', 'task-role');
    const signed = signedUrl('sig-k', '', key, '2025-01-15T07:05:00Z');
    const [incident, ...rest] = buildIncidents([signed, ct]);
    assert.deepEqual(rest, []);
    assert.equal(incident?.instanceId, '');
    assert.deepEqual(incident?.accessKeyIds, [key]);
    assert.deepEqual(incident?.findingIds, ['ct-k', 'sig-k']);
    assert.match(incident?.title ?? '', /Credential ASIAKEYONLY0+ \(task-role\) used away from its workload/);
  });

  it('finds the instance of a CloudTrail finding through the key vended to it, whatever the id case', () => {
    const vending = new VendingIndex();
    vending.add(vended(KEY_A, 'i-0AAAAAAAAAAAAAAAA', '2025-01-15T09:00:00Z'));
    const noInstance = offBox('ct-a', '', KEY_A, '2025-01-15T09:20:00Z', '2025-01-15T09:25:00Z');
    const incidents = buildIncidents([noInstance, ssrf('web-a', A, '2025-01-15T09:10:00Z')], { vending });
    assert.equal(incidents.length, 1);
    assert.deepEqual(incidents[0]?.findingIds, ['web-a', 'ct-a']);
  });

  it('leaves out revocations from before the incident and of other accounts', () => {
    const { findings, vending } = theftOnA();
    const early = revocation('web-role', '2025-01-14T00:00:00Z');
    const elsewhere = { ...revocation('web-role', '2025-01-15T11:00:00Z'), accountId: '999999999999' };
    const [incident] = buildIncidents(findings, { vending, revocations: [early, elsewhere] });
    assert.ok(incident);
    assert.ok(!steps(incident).includes('revocation'));
  });

  it('sorts incidents by severity, then by start', () => {
    const low = {
      ...offBox('ct-low', B, KEY_B, '2025-01-15T01:00:00Z', '2025-01-15T01:00:00Z'),
      severity: 'low' as const,
    };
    const high = offBox('ct-high', A, KEY_A, '2025-01-15T05:00:00Z', '2025-01-15T05:00:00Z');
    assert.deepEqual(
      buildIncidents([low, high]).map((i) => i.findingIds[0]),
      ['ct-high', 'ct-low'],
    );
  });
});
