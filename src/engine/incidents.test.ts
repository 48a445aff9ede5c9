import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VendingIndex, type VendingRecord } from '../cloudtrail/vending.js';
import type { Finding } from '../detect/finding.js';
import type { Revocation } from '../detect/revocation.js';
import { sampleFinding } from '../report/sample-findings.test-helpers.js';
import { buildIncidents, CLIENT_LINK_WINDOW_MS, INCIDENT_STEPS, type Incident } from './incidents.js';
import { WebClientIndex } from './web-clients.js';

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

/** A public address outside AWS ranges (the OTRF dataset's sanitised attacker address). */
const SCANNER = '1.2.3.4';

/** Web clients as the scan saw them: `count` 404 probes from `ip`, evenly from `first` to `last`. */
function clientsWith(
  ip: string,
  first: string,
  last: string,
  count: number,
  index = new WebClientIndex(),
): WebClientIndex {
  const from = Date.parse(first);
  const span = Date.parse(last) - from;
  for (let i = 0; i < count; i++) {
    index.add({
      clientIp: ip,
      timeMs: from + (count > 1 ? Math.round((span * i) / (count - 1)) : 0),
      status: 404,
      host: 'shop.example',
      format: 'alb',
    });
  }
  return index;
}

function offBoxFrom(ip: string, at: string, id = 'ct-a', sourceClass: Finding['source']['class'] = 'public'): Finding {
  const f = offBox(id, A, KEY_A, at, at);
  return { ...f, source: { ...f.source, ip, class: sourceClass } };
}

function weakLinks(incident: Incident | undefined): Incident['links'] {
  return (incident?.links ?? []).filter((l) => l.kind === 'same-client-address');
}

describe('buildIncidents: the client behind the attempt (same address, weak link)', () => {
  it('links a scanning client to the later use of the credential from its address, and says it is weaker', () => {
    const webClients = clientsWith(SCANNER, '2025-01-15T10:02:00Z', '2025-01-15T10:09:00Z', 214);
    const [incident, ...rest] = buildIncidents([offBoxFrom(SCANNER, '2025-01-15T10:41:00Z')], { webClients });
    assert.deepEqual(rest, []);
    assert.ok(incident);
    assert.equal(incident.instanceId, A);
    const [link, ...more] = incident.links;
    assert.deepEqual(more, []);
    assert.equal(link?.kind, 'same-client-address');
    assert.equal(link?.strength, 'weak');
    assert.equal(link?.clientIp, SCANNER);
    assert.deepEqual(link?.findingIds, ['ct-a']);
    assert.equal(
      link?.reason,
      `1.2.3.4 sent 214 web requests to shop.example (first 2025-01-15T10:02:00.000Z, last 2025-01-15T10:09:00.000Z; ` +
        `214 answered 4xx/5xx; none with a visible metadata target) and used ${A}'s credential ${KEY_A} from the same ` +
        'address at 2025-01-15T10:41:00.000Z (instance-credential-outside-aws): the same client by address only — ' +
        'weaker than a metadata target on the instance, since an address can be shared or reassigned',
    );
    // The scan shows in the timeline at its first request, before the use.
    assert.deepEqual(steps(incident), ['same-client-address', 'first-off-box-use']);
    assert.equal(incident.timeline[0]?.time, '2025-01-15T10:02:00.000Z');
    assert.equal(incident.timeline[0]?.text, link?.reason);
    assert.equal(incident.timeline[0]?.findingId, undefined);
    assert.match(incident.story, /1\.2\.3\.4 sent web requests from 2025-01-15T10:02:00\.000Z .* by address only/);
    assert.match(incident.story, /tied in by client address only/);
  });

  it('links nothing for private, CGNAT, loopback, link-local or allowlisted addresses: a NAT or proxy is not a client', () => {
    for (const [ip, sourceClass] of [
      ['10.1.2.3', 'private'],
      ['192.168.0.10', 'private'],
      ['172.20.0.1', 'private'],
      ['100.64.3.4', 'private'],
      ['169.254.10.20', 'private'],
      ['127.0.0.1', 'special'],
      ['::1', 'special'],
      ['fd00::5', 'private'],
      ['198.51.100.7', 'special'],
      ['5.6.7.8', 'allowed'],
    ] as const) {
      const webClients = clientsWith(ip, '2025-01-15T10:02:00Z', '2025-01-15T10:09:00Z', 50);
      assert.ok(webClients.get(ip), `${ip} is a known client`);
      const [incident] = buildIncidents([offBoxFrom(ip, '2025-01-15T10:41:00Z', 'ct-a', sourceClass)], { webClients });
      assert.deepEqual(incident?.links, [], ip);
      assert.ok(!steps(incident!).includes('same-client-address'), ip);
    }
  });

  it('links nothing for an address the inventory puts on a NAT gateway or a load balancer', () => {
    const ownership = {
      ownersAt: (address: string) =>
        address === SCANNER
          ? [
              {
                kind: 'nat-gateway' as const,
                accountId: ACCOUNT,
                region: 'us-east-1',
                vpcId: 'vpc-1',
                instanceId: '',
                natGatewayId: 'nat-0123',
                vpcEndpointId: '',
                networkInterfaceId: '',
                scope: 'public' as const,
                fromMs: -Infinity,
                toMs: Infinity,
                source: 'inventory x',
              },
            ]
          : [],
    };
    const webClients = clientsWith(
      SCANNER,
      '2025-01-15T10:02:00Z',
      '2025-01-15T10:09:00Z',
      5,
      new WebClientIndex({ ownership }),
    );
    assert.match(webClients.get(SCANNER)?.sharedOwner ?? '', /NAT gateway nat-0123/);
    const [incident] = buildIncidents([offBoxFrom(SCANNER, '2025-01-15T10:41:00Z')], { webClients });
    assert.deepEqual(incident?.links, []);
  });

  it('links nothing when the credential was used before the first web request, or beyond the window', () => {
    const webClients = clientsWith(SCANNER, '2025-01-15T10:02:00Z', '2025-01-15T10:09:00Z', 10);
    const before = buildIncidents([offBoxFrom(SCANNER, '2025-01-15T10:01:59Z')], { webClients });
    assert.deepEqual(weakLinks(before[0]), []);
    const lastMs = Date.parse('2025-01-15T10:09:00Z');
    const beyond = new Date(lastMs + CLIENT_LINK_WINDOW_MS + 1000).toISOString();
    assert.deepEqual(weakLinks(buildIncidents([offBoxFrom(SCANNER, beyond)], { webClients })[0]), []);
    const within = new Date(lastMs + CLIENT_LINK_WINDOW_MS).toISOString();
    assert.equal(weakLinks(buildIncidents([offBoxFrom(SCANNER, within)], { webClients })[0]).length, 1);
    // During the scan counts as after its first request.
    assert.equal(weakLinks(buildIncidents([offBoxFrom(SCANNER, '2025-01-15T10:05:00Z')], { webClients })[0]).length, 1);
    // A shorter window, for callers that want one.
    const short = buildIncidents([offBoxFrom(SCANNER, '2025-01-15T10:41:00Z')], {
      webClients,
      clientLinkWindowMs: 10 * 60 * 1000,
    });
    assert.deepEqual(weakLinks(short[0]), []);
  });

  it('adds no address-only link when the same client already links by instance (payload visible)', () => {
    const attempt = ssrf('web-a', A, '2025-01-15T10:02:00Z', '2025-01-15T10:03:00Z');
    const from = attempt.source.ip;
    const webClients = clientsWith(from, '2025-01-15T10:00:00Z', '2025-01-15T10:09:00Z', 30);
    const [incident, ...rest] = buildIncidents([attempt, offBoxFrom(from, '2025-01-15T10:41:00Z')], { webClients });
    assert.deepEqual(rest, []);
    assert.deepEqual(
      incident?.links.map((l) => [l.kind, l.strength]),
      [['backend-instance', 'strong']],
    );
    assert.match(incident?.links[0]?.reason ?? '', /reached i-0a+ as the backend, .*: the same instance/);
    assert.ok(!steps(incident!).includes('same-client-address'));
  });

  it('ranks the strong links above the address-only one, whatever the input order', () => {
    const { findings, vending, revocations } = theftOnA();
    // A second use of A's credential, from a client that only scanned.
    const scanned = offBoxFrom(SCANNER, '2025-01-15T10:41:00Z', 'ct-scan');
    const signed = signedUrl('sig-a', A, KEY_A, '2025-01-15T09:30:00Z');
    const webClients = clientsWith(SCANNER, '2025-01-15T10:02:00Z', '2025-01-15T10:09:00Z', 214);
    const all = [...findings, scanned, signed];
    const expected = buildIncidents(all, { vending, revocations, webClients });
    const a = expected.find((i) => i.instanceId === A);
    assert.deepEqual(
      a?.links.map((l) => [l.kind, l.strength]),
      [
        ['backend-instance', 'strong'],
        ['access-key', 'strong'],
        ['same-client-address', 'weak'],
      ],
    );
    assert.deepEqual(a?.links[2]?.findingIds, ['ct-scan']);
    assert.ok(a?.findingIds.includes('ct-scan'));
    fc.assert(
      fc.property(fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }), (shuffled) => {
        assert.deepEqual(buildIncidents(shuffled, { vending, revocations, webClients }), expected);
      }),
      { numRuns: 30 },
    );
  });

  it("without the scan's client index, links through the web findings from that address (offbox serve)", () => {
    // The client's metadata attempt hit a backend the inventory does not name: no instance link.
    const elsewhere = ssrf('web-x', '', '2025-01-15T10:02:00Z', '2025-01-15T10:03:00Z');
    const attempt = {
      ...elsewhere,
      source: { ...elsewhere.source, ip: SCANNER },
      request: { ...elsewhere.request!, clientIp: SCANNER },
    };
    const incidents = buildIncidents([attempt, offBoxFrom(SCANNER, '2025-01-15T10:41:00Z')]);
    assert.equal(incidents.length, 2);
    const a = incidents.find((i) => i.instanceId === A);
    const [link] = weakLinks(a);
    assert.match(
      link?.reason ?? '',
      /^1\.2\.3\.4 sent at least 4 web requests \(only those in web findings are known here\) \(first .*; 4 with a visible metadata target, aimed at a backend the inventory does not name, not at i-0a+\)/,
    );
  });

  it('gives an incident without an instance the link on its key', () => {
    const key = 'ASIAKEYONLY000000000';
    const ct = {
      ...offBox('ct-k', '', key, '2025-01-15T10:41:00Z', '2025-01-15T10:41:00Z'),
      source: { ip: SCANNER, class: 'public' as const, vpcEndpointId: '', vpcEndpointAccountId: '', owner: '' },
    };
    const webClients = clientsWith(SCANNER, '2025-01-15T10:02:00Z', '2025-01-15T10:09:00Z', 3);
    const [incident] = buildIncidents([ct], { webClients });
    assert.match(weakLinks(incident)[0]?.reason ?? '', /used credential ASIAKEYONLY0+ from the same address/);
  });
});
