import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WEB_LOG_EXTENSIONS } from '../cli/ssrf.js';
import { loadConfig } from '../config/config.js';
import type { Finding, Severity } from '../detect/finding.js';
import { scanCloudTrail } from '../engine/scan.js';
import { scanWebLogs } from '../engine/web-scan.js';
import { buildExposureReport } from '../exposure/backlog.js';
import { exposureFinding } from '../exposure/findings.js';
import { exposureReading } from '../exposure/read.js';
import { loadInventory } from '../inventory/load.js';
import { simulateOrganisation } from '../simulate/index.js';
import { listLocal } from '../sources/local.js';
import { renderFindings } from './index.js';
import { renderOcsf, toOcsf, type OcsfDetectionFinding } from './ocsf.js';
import { loadOcsfValidator } from './ocsf-validate.test-helpers.js';
import { sampleFinding } from './sample-findings.test-helpers.js';

const validator = loadOcsfValidator();
const NOW = new Date('2025-02-01T12:00:00Z');
const OPTS = { productVersion: '9.9.9', now: NOW };

function assertValid(event: unknown, label = ''): void {
  assert.deepEqual(validator.validate(event), [], `${label} is not a valid OCSF 1.8.0 Detection Finding`);
}

/** The event as a consumer sees it: through JSON, without undefined members. */
function roundTrip(event: OcsfDetectionFinding): Record<string, unknown> {
  return JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
}

const webFinding = sampleFinding({
  id: 'f-web',
  detector: 'imds-ssrf-attempt',
  severity: 'critical',
  title: 'Metadata-service SSRF attempt',
  principal: { sessionName: '', accessKeyIds: [], credentialKind: 'ec2-instance', ec2RoleDelivery: [] },
  source: { ip: '198.51.100.9', class: 'public' },
  activity: { actions: ['GET /preview'], userAgents: ['python-requests/2.31.0'], regions: [] },
  evidence: {
    eventIds: ['Root=1-69a4dc01-7c3be3db04c5b025591a4d43'],
    vendingEventIds: [],
    locations: ['alb/app.log.gz:78'],
    locationsTruncated: false,
  },
  request: {
    method: 'PROPFIND',
    url: 'http://shop.example/p?u=http://169.254.169.254/',
    clientIp: '198.51.100.9',
    status: 200,
  },
});

const serviceFinding = sampleFinding({
  id: 'f-service',
  source: { ip: 'ec2.amazonaws.com', class: 'aws-service' },
  activity: { regions: ['us-east-1', 'eu-west-1'] },
});

const vpceFinding = sampleFinding({
  id: 'f-vpce',
  detector: 'instance-credential-foreign-vpce',
  source: { ip: '10.1.2.3', class: 'private', vpcEndpointId: 'vpce-0123', vpcEndpointAccountId: '999988887777' },
  principal: { accessKeyIds: ['ASIAONE', 'ASIATWO'] },
});

const bareFinding = sampleFinding({
  id: 'f-bare',
  severity: 'info',
  confidence: 'low',
  accountId: '',
  principal: { role: '', roleArn: '', sessionName: '', instanceId: '', accessKeyIds: [], credentialKind: 'unknown' },
  source: { ip: 'not an address', class: 'invalid' },
  activity: { firstSeen: '', lastSeen: 'garbage', actions: [], userAgents: ['curl/8'], regions: [] },
  evidence: { eventIds: [], vendingEventIds: [], reasons: [], ipRangesSyncToken: '' },
  attack: { technique: '', analytic: '', tactic: '' },
  response: { commands: [] },
});

const variants: Finding[] = [
  sampleFinding(),
  webFinding,
  serviceFinding,
  vpceFinding,
  bareFinding,
  sampleFinding({ id: 'f-spoof', attack: { technique: 'T1036', analytic: 'AN0960', tactic: 'Defense Evasion' } }),
  sampleFinding({ id: 'f-odd-attack', attack: { technique: 'custom-1', analytic: 'X', tactic: 'Made-up Tactic' } }),
  sampleFinding({
    id: 'f-user',
    principal: { roleArn: 'arn:aws-us-gov:iam::123456789012:user/ci', role: 'ci', credentialKind: 'iam-user' },
  }),
  ...(['critical', 'high', 'medium', 'low', 'info'] as const).flatMap((severity) =>
    (['high', 'medium', 'low'] as const).map((confidence) =>
      sampleFinding({ id: `f-${severity}-${confidence}`, severity, confidence }),
    ),
  ),
];

describe('toOcsf', () => {
  test('classifies every finding as a new Detection Finding created by offbox', () => {
    const event = toOcsf(sampleFinding(), OPTS);
    assert.equal(event.class_uid, 2004);
    assert.equal(event.category_uid, 2);
    assert.equal(event.activity_id, 1);
    assert.equal(event.type_uid, 200401);
    assert.equal(event.status_id, 1);
    assert.equal(event.is_alert, true);
    assert.deepEqual(event.metadata, {
      version: '1.8.0',
      uid: 'f-0123456789abcdef',
      profiles: ['cloud'],
      product: { name: 'offbox', vendor_name: 'offbox', version: '9.9.9' },
    });
  });

  test('maps severity and confidence to their OCSF ids and captions', () => {
    const severities: Record<Severity, [number, string]> = {
      critical: [5, 'Critical'],
      high: [4, 'High'],
      medium: [3, 'Medium'],
      low: [2, 'Low'],
      info: [1, 'Informational'],
    };
    for (const [severity, [id, caption]] of Object.entries(severities) as [Severity, [number, string]][]) {
      const event = toOcsf(sampleFinding({ severity }), OPTS);
      assert.deepEqual([event.severity_id, event.severity], [id, caption], severity);
    }
    const confidences = { high: [3, 'High'], medium: [2, 'Medium'], low: [1, 'Low'] } as const;
    for (const [confidence, [id, caption]] of Object.entries(confidences)) {
      const event = toOcsf(sampleFinding({ confidence: confidence as keyof typeof confidences }), OPTS);
      assert.deepEqual([event.confidence_id, event.confidence], [id, caption], confidence);
    }
  });

  test('dates the event by its last call, in epoch milliseconds', () => {
    const event = toOcsf(sampleFinding(), OPTS);
    const last = Date.parse('2025-01-15T10:42:00Z');
    const first = Date.parse('2025-01-15T10:00:00Z');
    assert.equal(event.time, last);
    assert.deepEqual([event.start_time, event.end_time], [first, last]);
    assert.deepEqual([event.finding_info.first_seen_time, event.finding_info.last_seen_time], [first, last]);
    assert.equal(event.count, 12);
  });

  test('uses the current time when the finding has no parseable time, and keeps the raw text', () => {
    const event = toOcsf(bareFinding, OPTS);
    assert.equal(event.time, NOW.getTime());
    assert.equal(event.start_time, undefined);
    assert.equal(event.finding_info.last_seen_time, undefined);
    assert.deepEqual(event.unmapped['activity'], { errorCount: 1, lastSeen: 'garbage', userAgents: ['curl/8'] });
  });

  test('describes the finding, its rule and its ATT&CK technique', () => {
    const info = toOcsf(sampleFinding(), OPTS).finding_info;
    assert.equal(info.uid, 'f-0123456789abcdef');
    assert.equal(info.title, 'EC2 instance credentials used outside AWS');
    assert.equal(info.desc, 'credentials of instance i-0abc123def4567890 were used from 203.0.113.7, outside AWS');
    assert.deepEqual(info.types, ['ec2-credential-offbox']);
    assert.deepEqual(info.analytic, {
      uid: 'instance credentials used off the instance',
      name: 'ec2-credential-offbox',
      type_id: 1,
      type: 'Rule',
    });
    assert.deepEqual(info.attacks, [
      {
        technique: {
          uid: 'T1552',
          name: 'Unsecured Credentials',
          src_url: 'https://attack.mitre.org/techniques/T1552/',
        },
        sub_technique: {
          uid: 'T1552.005',
          name: 'Cloud Instance Metadata API',
          src_url: 'https://attack.mitre.org/techniques/T1552/005/',
        },
        tactic: { uid: 'TA0006', name: 'Credential Access', src_url: 'https://attack.mitre.org/tactics/TA0006/' },
      },
    ]);
    assert.deepEqual(info.related_events, [
      { uid: '11111111-2222-3333-4444-555555555555', type: 'matched event' },
      { uid: '66666666-7777-8888-9999-000000000000', type: 'credential vending event' },
    ]);
  });

  test('keeps technique and tactic ids it has no name for, and leaves attacks out when there is none', () => {
    const spoof = toOcsf(variants[5]!, OPTS).finding_info.attacks?.[0];
    assert.deepEqual(spoof?.technique?.name, 'Masquerading');
    assert.equal(spoof?.sub_technique, undefined);
    assert.equal(spoof?.tactic?.uid, 'TA0005');
    assert.deepEqual(toOcsf(variants[6]!, OPTS).finding_info.attacks, [
      { technique: { uid: 'custom-1' }, tactic: { name: 'Made-up Tactic' } },
    ]);
    assert.equal(toOcsf(bareFinding, OPTS).finding_info.attacks, undefined);
  });

  test('puts the account and region in cloud, the instance in device, the role and instance in resources', () => {
    const event = toOcsf(sampleFinding(), OPTS);
    assert.deepEqual(event.cloud, {
      provider: 'AWS',
      account: { uid: '123456789012', type_id: 10, type: 'AWS Account' },
      region: 'us-east-1',
      cloud_partition: 'aws',
    });
    assert.deepEqual(event.device, {
      type_id: 6,
      type: 'Virtual',
      uid: 'i-0abc123def4567890',
      instance_uid: 'i-0abc123def4567890',
    });
    assert.deepEqual(event.resources, [
      {
        uid: 'arn:aws:iam::123456789012:role/web-app-role',
        name: 'web-app-role',
        type: 'AWS::IAM::Role',
        cloud_partition: 'aws',
        role_id: 3,
        role: 'Affected',
      },
      { uid: 'i-0abc123def4567890', type: 'AWS::EC2::Instance', role_id: 3, role: 'Affected' },
    ]);
    assert.deepEqual(event.remediation, { desc: sampleFinding().response.commands.join('\n') });
  });

  test('shows the caller (role session, keys, address, user agent) and each action as evidence', () => {
    const evidences = toOcsf(sampleFinding(), OPTS).evidences;
    assert.deepEqual(evidences, [
      {
        name: 'caller',
        actor: {
          user: {
            name: 'web-app-role',
            uid: 'arn:aws:iam::123456789012:role/web-app-role',
            account: { uid: '123456789012', type_id: 10, type: 'AWS Account' },
            programmatic_credentials: [{ uid: 'ASIAEXAMPLEKEY000001', type: 'AWS Access Key' }],
          },
          session: {
            uid: 'i-0abc123def4567890',
            issuer: 'arn:aws:iam::123456789012:role/web-app-role',
            credential_uid: 'ASIAEXAMPLEKEY000001',
          },
        },
        src_endpoint: { ip: '203.0.113.7' },
        http_request: { user_agent: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0' },
      },
      { name: 'action', api: { operation: 'GetCallerIdentity', service: { name: 'sts' } } },
      { name: 'action', api: { operation: 'ListBuckets', service: { name: 's3' } } },
      { name: 'action', api: { operation: 'ListRoles', service: { name: 'iam' } } },
    ]);
  });

  test('names a VPC endpoint and its owner on the source, and lists every key of a multi-key finding', () => {
    const caller = toOcsf(vpceFinding, OPTS).evidences?.[0];
    assert.deepEqual(caller?.src_endpoint, {
      ip: '10.1.2.3',
      uid: 'vpce-0123',
      owner: { account: { uid: '999988887777', type_id: 10, type: 'AWS Account' } },
    });
    assert.deepEqual(
      caller?.actor?.user?.programmatic_credentials?.map((c) => c.uid),
      ['ASIAONE', 'ASIATWO'],
    );
    assert.equal(caller?.actor?.session?.credential_uid, undefined, 'one credential_uid cannot name two keys');
  });

  test('an AWS service caller is a service name, not an address; several regions stay unmapped', () => {
    const event = toOcsf(serviceFinding, OPTS);
    assert.deepEqual(event.evidences?.[0]?.src_endpoint, { svc_name: 'ec2.amazonaws.com' });
    assert.equal(event.cloud.region, undefined);
    assert.deepEqual((event.unmapped['activity'] as Record<string, unknown>)['regions'], ['us-east-1', 'eu-west-1']);
    const invalid = toOcsf(bareFinding, OPTS);
    assert.deepEqual((invalid.unmapped['source'] as Record<string, unknown>)['ip'], 'not an address');
    assert.equal(invalid.evidences, undefined);
  });

  test('web-tier findings: the client is the caller, the instance role only the targeted identity', () => {
    const event = toOcsf(webFinding, OPTS);
    const evidences = event.evidences ?? [];
    assert.ok(
      evidences.every((e) => e.actor === undefined),
      'the web client does not act as the role',
    );
    assert.deepEqual(evidences[1], {
      name: 'targeted identity',
      user: {
        name: 'web-app-role',
        uid: 'arn:aws:iam::123456789012:role/web-app-role',
        account: { uid: '123456789012', type_id: 10, type: 'AWS Account' },
      },
    });
    assert.deepEqual(evidences.at(-1), {
      name: 'web request',
      src_endpoint: { ip: '198.51.100.9' },
      http_request: { url: { url_string: 'http://shop.example/p?u=http://169.254.169.254/' } },
      http_response: { code: 200 },
    });
    assert.deepEqual(event.unmapped['request'], { method: 'PROPFIND' }, 'not an http_method of 1.8.0');
    assert.deepEqual(event.unmapped['evidence'], {
      eventIdsTruncated: false,
      ipRangesSyncToken: '1787433425',
      locations: ['alb/app.log.gz:78'],
      locationsTruncated: false,
    });
  });

  test('keeps what OCSF has no attribute for in unmapped, keyed like the finding', () => {
    const event = toOcsf(sampleFinding({ source: { owner: 'not AWS, not allowlisted' } }), OPTS);
    assert.deepEqual(event.unmapped, {
      principal: { credentialKind: 'ec2-instance', ec2RoleDelivery: ['2.0'] },
      source: { class: 'public', owner: 'not AWS, not allowlisted' },
      activity: { errorCount: 1 },
      evidence: { eventIdsTruncated: false, ipRangesSyncToken: '1787433425' },
    });
    const withExtra = { ...sampleFinding(), exposure: { rank: 1, httpTokens: 'optional' } };
    assert.deepEqual(toOcsf(withExtra, OPTS).unmapped['exposure'], { rank: 1, httpTokens: 'optional' });
  });

  test('loses no value of the finding', () => {
    for (const finding of [...variants, { ...sampleFinding(), exposure: { rank: 7, note: 'extra field' } }]) {
      const event = roundTrip(toOcsf(finding, OPTS));
      const strings: string[] = [];
      const scalars = new Set<unknown>();
      // Enumerated values come back as OCSF captions: "high" as "High", "credential-access" as "Credential Access".
      const loose = (s: string): string => s.toLowerCase().replace(/[-_\s]+/g, ' ');
      collectLeaves(event, (v) => (typeof v === 'string' ? strings.push(loose(v)) : scalars.add(v)));
      // An action "sts:GetCallerIdentity" is split into api.service.name and api.operation.
      for (const { api } of toOcsf(finding, OPTS).evidences ?? []) {
        if (api?.service) strings.push(loose(`${api.service.name}:${api.operation}`));
      }
      collectLeaves(finding, (value, path) => {
        if (value === '' || (typeof value === 'string' && strings.some((s) => s.includes(loose(value))))) return;
        if (typeof value === 'string' && scalars.has(Date.parse(value))) return;
        if (typeof value !== 'string' && scalars.has(value)) return;
        assert.fail(`${finding.id}: ${path} = ${JSON.stringify(value)} is not in the OCSF event`);
      });
    }
  });
});

/** The object at `path` in `root`, for breaking an event in place. */
function node(root: unknown, ...path: (string | number)[]): Record<string, unknown> {
  let at = root;
  for (const key of path) at = (at as Record<string | number, unknown>)[key];
  return at as Record<string, unknown>;
}

function collectLeaves(value: unknown, visit: (leaf: unknown, path: string) => void, path = ''): void {
  if (Array.isArray(value)) value.forEach((item, i) => collectLeaves(item, visit, `${path}[${i}]`));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) collectLeaves(child, visit, path ? `${path}.${key}` : key);
  } else visit(value, path);
}

describe('OCSF 1.8.0 schema validation', () => {
  test('every variant of a finding gives a valid Detection Finding', () => {
    for (const finding of variants) {
      assertValid(toOcsf(finding, OPTS), finding.id);
      assertValid(roundTrip(toOcsf(finding, OPTS)), `${finding.id} (through JSON)`);
    }
  });

  test('the validator reads only the vendored schema files', () => {
    const files = validator.filesRead();
    assert.ok(files.includes('events/findings/detection_finding.json'));
    assert.ok(files.includes('dictionary.json'));
  });

  describe('the validator rejects a broken event', () => {
    const broken: [string, (e: Record<string, unknown>) => void, RegExp][] = [
      ['a missing required attribute', (e) => delete node(e, 'finding_info').uid, /^finding_info\.uid: required/],
      ['a missing required event attribute', (e) => delete e['time'], /^time: required by detection_finding/],
      ['a missing required object attribute', (e) => delete node(e, 'cloud').provider, /^cloud\.provider: required/],
      ['an unknown event attribute', (e) => (e['actor_ip'] = '1.2.3.4'), /^actor_ip: detection_finding does not/],
      [
        'an unknown nested attribute',
        (e) => (node(e, 'evidences', 0, 'actor', 'user').role = 'x'),
        /^evidences\[0\]\.actor\.user\.role: user does not define role/,
      ],
      ['a severity_id outside the enum', (e) => (e['severity_id'] = 7), /^severity_id: 7 is not in the enum/],
      ['a confidence_id outside the enum', (e) => (e['confidence_id'] = 4), /^confidence_id: 4 is not in the enum/],
      ['a status_id outside the enum', (e) => (e['status_id'] = 7), /^status_id: 7 is not in the enum/],
      ['an activity_id outside the enum', (e) => (e['activity_id'] = 4), /^activity_id: 4 is not in the enum/],
      [
        'an analytic type_id outside the enum',
        (e) => (node(e, 'finding_info', 'analytic').type_id = 12),
        /^finding_info\.analytic\.type_id: 12 is not in the enum/,
      ],
      [
        'a string where a timestamp goes',
        (e) => (e['time'] = '2025-01-15'),
        /^time: "2025-01-15" is not a timestamp_t/,
      ],
      [
        'a scalar where an array goes',
        (e) => (node(e, 'finding_info').types = 'x'),
        /^finding_info\.types: expected an array/,
      ],
      ['a number where a string goes', (e) => (e['message'] = 42), /^message: 42 is not a string_t/],
      ['a string where an object goes', (e) => (e['cloud'] = 'AWS'), /^cloud: expected a cloud object/],
      ['a type_uid of another activity', (e) => (e['type_uid'] = 200402), /^type_uid: expected/],
      ['a class_uid of no class', (e) => (e['class_uid'] = 9999), /^class_uid: 9999 is not a class/],
      ['a wrong class name', (e) => (e['class_name'] = 'Finding'), /^class_name: expected "Detection Finding"/],
      ['a caption that disagrees with its id', (e) => (e['severity'] = 'Low'), /^severity: expected "High"/],
      [
        'an attribute of a profile the event does not apply',
        (e) => (node(e, 'metadata').profiles = []),
        /^cloud: belongs to the cloud profile/,
      ],
      [
        'a deprecated attribute',
        (e) => (node(e, 'evidences', 0, 'actor', 'user').credential_uid = 'ASIA'),
        /credential_uid: deprecated/,
      ],
      [
        'an object with none of its at-least-one attributes',
        (e) => (node(e, 'evidences', 0).src_endpoint = {}),
        /^evidences\[0\]\.src_endpoint: network_endpoint needs at least one of/,
      ],
      [
        'a value that does not match its data type pattern',
        (e) => (node(e, 'evidences', 0, 'src_endpoint').ip = 'not-an-ip'),
        /^evidences\[0\]\.src_endpoint\.ip: "not-an-ip" does not match the ip_t pattern/,
      ],
      [
        'a schema version other than 1.8.0',
        (e) => (node(e, 'metadata').version = '1.1.0'),
        /^metadata\.version: 1\.1\.0/,
      ],
    ];
    for (const [what, breakIt, expected] of broken) {
      test(what, () => {
        const event = roundTrip(toOcsf(sampleFinding(), OPTS));
        breakIt(event);
        const errors = validator.validate(event);
        assert.ok(
          errors.some((e) => expected.test(e)),
          `expected an error matching ${String(expected)}, got ${JSON.stringify(errors)}`,
        );
      });
    }
  });

  describe('over the findings of a simulated organisation', () => {
    let findings: Finding[] = [];
    const work = mkdtempSync(join(tmpdir(), 'offbox-ocsf-'));
    after(() => rmSync(work, { recursive: true, force: true }));

    before(async () => {
      const out = join(work, 'org');
      await simulateOrganisation({ out, seed: 1 });
      const { map } = loadInventory([join(out, 'inventory')]);
      const config = loadConfig(join(out, 'offbox.yaml'));
      const trail = await scanCloudTrail(listLocal([join(out, 'cloudtrail')]), { config, inventory: map });
      const web = await scanWebLogs(listLocal([join(out, 'weblogs')], { extensions: WEB_LOG_EXTENSIONS }), {
        config,
        inventory: map,
      });
      const backlog = buildExposureReport(exposureReading(trail.state, trail, { config, inventory: map }));
      const exposure = backlog.items.map((item) => exposureFinding(item, trail.ipRangesSyncToken));
      findings = [...trail.findings, ...web.findings, ...exposure];
    });

    test('every finding of every detector renders as a valid event, one line each', () => {
      const detectors = new Set(findings.map((f) => f.detector));
      assert.ok(detectors.size >= 8, `findings of at least 8 detectors, got ${[...detectors].join(', ')}`);
      const lines = renderOcsf(findings, OPTS).split('\n');
      assert.equal(lines.pop(), '');
      assert.equal(lines.length, findings.length);
      lines.forEach((line, i) => assertValid(JSON.parse(line), `${findings[i]!.detector} ${findings[i]!.id}`));
    });
  });
});

describe('renderOcsf', () => {
  test('writes one event per line, ending in a newline; nothing for no findings', () => {
    const findings = [sampleFinding(), webFinding, vpceFinding];
    const out = renderOcsf(findings, OPTS);
    assert.ok(out.endsWith('\n'));
    const events = out
      .slice(0, -1)
      .split('\n')
      .map((line) => JSON.parse(line) as OcsfDetectionFinding);
    assert.deepEqual(
      events.map((e) => e.finding_info.uid),
      findings.map((f) => f.id),
    );
    assert.deepEqual(
      events,
      findings.map((f) => roundTrip(toOcsf(f, OPTS))),
    );
    assert.equal(renderOcsf([], OPTS), '');
  });

  test('writes no terminal escape, line separator or bidi control from a log raw', () => {
    const hostileAgent = 'curl/8 \x1b[31mred\x1b[0m \x1b]8;;http://evil\x07link\u2028next\u2029para\u202egnp.exe\x85';
    const hostile = sampleFinding({
      activity: { userAgents: [hostileAgent] },
      source: { owner: 'owner\u2028line' },
      request: { method: 'GET', url: 'http://x/\u2028\x1b[2J', clientIp: '198.51.100.9', status: 200 },
      evidence: { locations: ['a.log:1'] },
    });
    const out = renderOcsf([hostile], OPTS).slice(0, -1);
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    assert.doesNotMatch(out, /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202e]/u, 'a raw control or separator');
    assert.equal(out.split(/\r\n|\r|\n|\u2028|\u2029|\u0085/).length, 1, 'exactly one line');
    const event = JSON.parse(out) as OcsfDetectionFinding;
    assert.equal(event.evidences?.[0]?.http_request?.user_agent, hostileAgent, 'escaped losslessly');
    assert.equal(event.evidences?.at(-1)?.http_request?.url?.url_string, 'http://x/\u2028\x1b[2J');
    assertValid(event);
  });

  test('is what renderFindings gives for ocsf', () => {
    const findings = [sampleFinding(), webFinding];
    assert.equal(
      renderFindings(findings, 'ocsf', { version: '9.9.9', now: NOW }),
      renderOcsf(findings, { productVersion: '9.9.9', now: NOW }),
    );
  });
});
