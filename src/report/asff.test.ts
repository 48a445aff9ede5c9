import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SEVERITIES } from '../detect/finding.js';
import { UsageError } from '../errors.js';
import { ASFF_LIMITS, limitText, renderAsff, toAsff, type AsffFinding } from './asff.js';
import { isUnsafeCodePoint } from './escape.js';
import { renderFindings } from './index.js';
import { sampleFinding } from './sample-findings.test-helpers.js';

const NOW = new Date('2025-02-01T12:00:00.000Z');
const OPTS = { region: 'us-east-1', now: NOW };

function hasUnsafeCodePoint(s: string): boolean {
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if ((cp >= 0xd800 && cp <= 0xdfff) || isUnsafeCodePoint(cp)) return true;
  }
  return false;
}

/** Every string anywhere inside `value`, keys included. */
function allStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, v]) => [key, ...allStrings(v)]);
  }
  return [];
}

function assertWithinLimits(asff: AsffFinding): void {
  assert.ok(asff.Id.length >= 1 && asff.Id.length <= ASFF_LIMITS.id);
  assert.ok(asff.GeneratorId.length <= ASFF_LIMITS.generatorId);
  assert.ok(asff.Title.length >= 1 && asff.Title.length <= ASFF_LIMITS.title, `title ${asff.Title.length}`);
  assert.ok(asff.Description.length >= 1 && asff.Description.length <= ASFF_LIMITS.description);
  assert.match(asff.Description, /\S/);
  assert.ok(asff.Remediation.Recommendation.Text.length <= ASFF_LIMITS.recommendationText);
  assert.ok(asff.Severity.Original.length <= ASFF_LIMITS.severityOriginal);
  assert.ok(asff.Types.length >= 1 && asff.Types.length <= ASFF_LIMITS.types);
  assert.ok(asff.Resources.length >= 1 && asff.Resources.length <= ASFF_LIMITS.resources);
  for (const resource of asff.Resources) assert.ok(resource.Region.length <= ASFF_LIMITS.resourceRegion);
  const fields = Object.entries(asff.ProductFields);
  assert.ok(fields.length <= ASFF_LIMITS.productFields, `${fields.length} product fields`);
  for (const [key, value] of fields) {
    assert.ok(key.length <= ASFF_LIMITS.productFieldKey, key);
    assert.ok(value.length >= 1 && value.length <= ASFF_LIMITS.productFieldValue, `${key}: ${value.length}`);
  }
  if (asff.Action) assert.ok(asff.Action.AwsApiCallAction.Api.length <= ASFF_LIMITS.apiName);
  assert.match(asff.AwsAccountId, /^\d{12}$/);
  for (const s of allStrings(asff)) assert.ok(!hasUnsafeCodePoint(s), `unsafe code point in ${JSON.stringify(s)}`);
}

describe('toAsff', () => {
  it('maps a CloudTrail finding to ASFF 2018-10-08', () => {
    const asff = toAsff(sampleFinding(), OPTS);
    assert.equal(asff.SchemaVersion, '2018-10-08');
    assert.equal(asff.Id, 'offbox/f-0123456789abcdef');
    assert.equal(asff.ProductArn, 'arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default');
    assert.equal(asff.GeneratorId, 'offbox/ec2-credential-offbox');
    assert.equal(asff.AwsAccountId, '123456789012');
    // The sample's tactic is spelled credential-access: it still lands in the ASFF category.
    assert.deepEqual(asff.Types, ['TTPs/Credential Access/ec2-credential-offbox']);
    assert.deepEqual(asff.Severity, { Label: 'HIGH', Original: 'high' });
    assert.equal(asff.Confidence, 90);
    assert.equal(asff.CreatedAt, '2025-01-15T10:00:00.000Z');
    assert.equal(asff.FirstObservedAt, '2025-01-15T10:00:00.000Z');
    assert.equal(asff.LastObservedAt, '2025-01-15T10:42:00.000Z');
    assert.equal(asff.UpdatedAt, NOW.toISOString());
    assert.equal(asff.Title, 'EC2 instance credentials used outside AWS');
    assert.equal(
      asff.Description,
      'credentials of instance i-0abc123def4567890 were used from 203.0.113.7, outside AWS',
    );
    assert.deepEqual(asff.Resources, [
      {
        Type: 'AwsIamRole',
        Id: 'arn:aws:iam::123456789012:role/web-app-role',
        Partition: 'aws',
        Region: 'us-east-1',
        Details: { AwsIamRole: { RoleName: 'web-app-role' } },
      },
      {
        Type: 'AwsEc2Instance',
        Id: 'arn:aws:ec2:us-east-1:123456789012:instance/i-0abc123def4567890',
        Partition: 'aws',
        Region: 'us-east-1',
      },
    ]);
    assert.deepEqual(asff.Network, { Direction: 'IN', SourceIpV4: '203.0.113.7' });
    assert.deepEqual(asff.Action, {
      ActionType: 'AWS_API_CALL',
      AwsApiCallAction: {
        Api: 'GetCallerIdentity',
        ServiceName: 'sts.amazonaws.com',
        CallerType: 'remoteip',
        RemoteIpDetails: { IpAddressV4: '203.0.113.7' },
        FirstSeen: '2025-01-15T10:00:00.000Z',
        LastSeen: '2025-01-15T10:42:00.000Z',
      },
    });
    assert.equal(asff.RecordState, 'ACTIVE');
    assert.deepEqual(asff.Workflow, { Status: 'NEW' });
    assert.match(asff.Remediation.Recommendation.Text, /^Revoke the sessions of role web-app-role/);
    assert.match(asff.Remediation.Recommendation.Text, /require IMDSv2 on i-0abc123def4567890/);
    assert.equal(asff.ProductFields['offbox/findingId'], 'f-0123456789abcdef');
    assert.equal(asff.ProductFields['offbox/source/class'], 'public');
    assert.equal(asff.ProductFields['offbox/principal/credentialKind'], 'ec2-instance');
    assert.equal(asff.ProductFields['offbox/attack/technique'], 'T1552.005');
    assert.equal(asff.ProductFields['offbox/evidence/eventIds'], '11111111-2222-3333-4444-555555555555');
    assert.equal(asff.ProductFields['offbox/activity/actions'], 'sts:GetCallerIdentity, s3:ListBuckets, iam:ListRoles');
    assert.match(asff.ProductFields['offbox/response/command/1'] ?? '', /^aws iam put-role-policy/);
    // Empty values (owner, vpc endpoint) are left out rather than sent empty.
    assert.equal(asff.ProductFields['offbox/source/owner'], undefined);
    assert.equal(asff.ProductFields['offbox/source/vpcEndpointId'], undefined);
    assertWithinLimits(asff);
  });

  it('keeps the Id stable across runs so a re-import updates the finding', () => {
    const first = toAsff(sampleFinding(), OPTS);
    const later = toAsff(sampleFinding({ activity: { lastSeen: '2025-01-16T00:00:00Z' } }), {
      region: 'us-east-1',
      now: new Date('2025-03-01T00:00:00Z'),
    });
    assert.equal(later.Id, first.Id);
    assert.equal(later.CreatedAt, first.CreatedAt);
    assert.notEqual(later.UpdatedAt, first.UpdatedAt);
    assert.equal(later.LastObservedAt, '2025-01-16T00:00:00.000Z');
  });

  it('maps every severity and confidence', () => {
    const labels = SEVERITIES.map((severity) => toAsff(sampleFinding({ severity }), OPTS).Severity.Label);
    assert.deepEqual(labels, ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL']);
    const scores = (['high', 'medium', 'low'] as const).map(
      (c) => toAsff(sampleFinding({ confidence: c }), OPTS).Confidence,
    );
    assert.deepEqual(scores, [90, 60, 30]);
  });

  it('files findings under the given account and product, in the partition of the region', () => {
    const asff = toAsff(sampleFinding({ principal: { roleArn: 'arn:aws-cn:iam::123456789012:role/r' } }), {
      region: 'cn-north-1',
      awsAccountId: '999999999999',
      now: NOW,
    });
    assert.equal(asff.AwsAccountId, '999999999999');
    assert.equal(asff.ProductArn, 'arn:aws-cn:securityhub:cn-north-1:999999999999:product/999999999999/default');
    assert.deepEqual(
      asff.Resources.map((r) => [r.Type, r.Id, r.Partition, r.Region]),
      [
        ['AwsIamRole', 'arn:aws-cn:iam::123456789012:role/r', 'aws-cn', 'cn-north-1'],
        // The instance belongs to the finding's account, not the importing one.
        [
          'AwsEc2Instance',
          'arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-0abc123def4567890',
          'aws-cn',
          'cn-north-1',
        ],
      ],
    );
    const custom = toAsff(sampleFinding(), {
      ...OPTS,
      productArn: 'arn:aws:securityhub:us-east-1::product/acme/offbox',
    });
    assert.equal(custom.ProductArn, 'arn:aws:securityhub:us-east-1::product/acme/offbox');
  });

  it('places the instance in its own region when the finding knows it, else in the Security Hub region', () => {
    const withRegion = sampleFinding({
      response: {
        commands: [
          'aws ec2 modify-instance-metadata-options --instance-id i-0abc123def4567890 --http-tokens required --http-put-response-hop-limit 1 --http-endpoint enabled --region eu-west-2',
        ],
      },
    });
    const placed = toAsff(withRegion, { region: 'us-east-1', now: NOW }).Resources;
    assert.deepEqual(
      placed.map((r) => [r.Type, r.Id, r.Region]),
      [
        ['AwsIamRole', 'arn:aws:iam::123456789012:role/web-app-role', 'us-east-1'],
        ['AwsEc2Instance', 'arn:aws:ec2:eu-west-2:123456789012:instance/i-0abc123def4567890', 'eu-west-2'],
      ],
    );
    const unknown = toAsff(sampleFinding({ response: { commands: [] } }), { region: 'ap-south-1', now: NOW });
    assert.equal(unknown.Resources[1]!.Id, 'arn:aws:ec2:ap-south-1:123456789012:instance/i-0abc123def4567890');
  });

  it('writes IPv6 sources as SourceIpV6, IPv4-mapped ones as IPv4, and leaves out what is not an address', () => {
    const v6 = toAsff(sampleFinding({ source: { ip: '2001:DB8::7' } }), OPTS);
    assert.deepEqual(v6.Network, { Direction: 'IN', SourceIpV6: '2001:db8::7' });
    assert.equal(v6.Action?.AwsApiCallAction.RemoteIpDetails, undefined);
    const mapped = toAsff(sampleFinding({ source: { ip: '::ffff:198.51.100.9' } }), OPTS);
    assert.deepEqual(mapped.Network, { Direction: 'IN', SourceIpV4: '198.51.100.9' });
    const internal = toAsff(sampleFinding({ source: { ip: 'AWS Internal', class: 'aws-service' } }), OPTS);
    assert.equal(internal.Network, undefined);
    assert.equal(internal.Action?.AwsApiCallAction.CallerType, undefined);
  });

  it('describes a web-tier finding by the account when it names no role or instance', () => {
    const web = sampleFinding({
      detector: 'imds-ssrf-attempt',
      accountId: '',
      principal: { role: '', roleArn: '', instanceId: '', sessionName: '', accessKeyIds: [] },
      activity: { actions: [] },
      request: {
        method: 'GET',
        url: '/fetch?u=http://169.254.169.254/latest/meta-data/',
        clientIp: '198.51.100.4',
        status: 200,
      },
      evidence: { locations: ['alb.log:3'] },
      response: { commands: [] },
    });
    const asff = toAsff(web, { ...OPTS, awsAccountId: '123456789012' });
    assert.deepEqual(asff.Resources, [
      { Type: 'AwsAccount', Id: 'AWS::::Account:123456789012', Partition: 'aws', Region: 'us-east-1' },
    ]);
    assert.equal(asff.Action, undefined);
    assert.equal(asff.ProductFields['offbox/request/url'], '/fetch?u=http://169.254.169.254/latest/meta-data/');
    assert.equal(asff.ProductFields['offbox/request/status'], '200');
    assert.equal(asff.ProductFields['offbox/evidence/locations'], 'alb.log:3');
    assert.match(asff.Remediation.Recommendation.Text, /Fix the SSRF/);
    assertWithinLimits(asff);
  });

  it('refuses a finding without an account, and a region that is not one, with a hint', () => {
    assert.throws(
      () => toAsff(sampleFinding({ accountId: '' }), OPTS),
      (err: unknown) => err instanceof UsageError && /12-digit/.test(err.message) && /account/.test(err.hint ?? ''),
    );
    assert.throws(
      () => toAsff(sampleFinding(), { region: 'Virginia' }),
      (err: unknown) => err instanceof UsageError && /AWS_REGION/.test(err.hint ?? ''),
    );
  });

  it('cuts every field to its ASFF limit with an ellipsis', () => {
    const many = (n: number, f: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => f(i));
    const huge = sampleFinding({
      id: 'f-' + 'x'.repeat(600),
      detector: 'd'.repeat(600),
      title: 'T'.repeat(1000),
      principal: { accessKeyIds: many(500, (i) => `ASIA${String(i).padStart(16, '0')}`) },
      activity: {
        actions: ['svc:' + 'A'.repeat(300), ...many(400, (i) => `s3:Op${i}`)],
        userAgents: ['u'.repeat(5000)],
      },
      evidence: {
        reasons: many(100, (i) => `reason ${i} `.repeat(10)),
        eventIds: many(1000, (i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`),
        eventIdsTruncated: true,
      },
      response: { commands: many(20, (i) => `cmd ${i} `.repeat(400)) },
    });
    const asff = toAsff(huge, OPTS);
    assertWithinLimits(asff);
    assert.equal(asff.Title.length, ASFF_LIMITS.title);
    assert.ok(asff.Title.endsWith('…'));
    assert.equal(asff.Description.length, ASFF_LIMITS.description);
    assert.ok(asff.Description.endsWith('…'));
    assert.ok(asff.Id.endsWith('…') && asff.Id.startsWith('offbox/f-xxx'));
    assert.ok(asff.Action!.AwsApiCallAction.Api.endsWith('…'));
    // Lists keep whole items and say how many were left out.
    const eventIds = asff.ProductFields['offbox/evidence/eventIds']!;
    const shown = eventIds.split(', ').filter((id) => id.startsWith('0000'));
    assert.match(eventIds, /, … \(\+\d+ more\)$/);
    assert.equal(shown.length + Number(/\+(\d+) more/.exec(eventIds)![1]), 1000);
    assert.ok(shown.every((id) => id.length === 36));
    assert.equal(asff.ProductFields['offbox/evidence/eventIdsTruncated'], 'true');
    // A single item longer than the limit is cut itself.
    assert.ok(asff.ProductFields['offbox/activity/userAgents']!.endsWith('…'));
    assert.equal(Object.keys(asff.ProductFields).filter((k) => k.startsWith('offbox/response/command/')).length, 5);
  });

  it('never cuts an escape in half', () => {
    const title = '\x1b'.repeat(200);
    const cut = toAsff(sampleFinding({ title }), OPTS).Title;
    assert.ok(cut.length <= ASFF_LIMITS.title);
    assert.match(cut, /^(\\x1b)+…$/);
    assert.equal(limitText('ab\x1bcd', 4), 'ab…');
    assert.equal(limitText('abc', 3), 'abc');
  });

  it('makes log strings inert: no raw controls, bidi overrides or lone surrogates anywhere', () => {
    const hostile = sampleFinding({
      title: 'stolen \x1b]8;;http://evil\x07click\x1b]8;;\x07 \u202eevil',
      principal: { roleArn: 'arn:aws:iam::123456789012:role/r\x1b[31m', sessionName: 'i-1\u2028x' },
      activity: { userAgents: ['<script>alert(1)</script>\x1b[2J', '\ud800lone'], actions: ['s3:Get\x00Object'] },
      evidence: { reasons: ['line one\nline two\r\n\x85'] },
    });
    const asff = toAsff(hostile, OPTS);
    assertWithinLimits(asff);
    assert.ok(asff.Title.includes('\\x1b]8;;http://evil\\x07'));
    assert.equal(asff.Description, 'line one\\x0aline two\\x0d\\x0a\\x85');
    assert.ok(asff.ProductFields['offbox/activity/userAgents']!.includes('\ufffdlone'));
    const rendered = renderAsff([hostile], OPTS);
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    assert.doesNotMatch(rendered, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202e]/);
  });

  it('stays within limits and safe for any text in the log-derived fields', () => {
    const text = fc.string({
      unit: fc.integer({ min: 0, max: 0x10ffff }).map((n) => String.fromCodePoint(n)),
      maxLength: 3000,
    });
    fc.assert(
      fc.property(text, text, fc.array(text, { maxLength: 5 }), (title, reason, agents) => {
        const asff = toAsff(
          sampleFinding({ title, evidence: { reasons: [reason] }, activity: { userAgents: agents } }),
          OPTS,
        );
        assertWithinLimits(asff);
      }),
      { numRuns: 200 },
    );
  });
});

describe('renderAsff', () => {
  it('writes one BatchImportFindings document, newline-terminated', () => {
    const findings = [sampleFinding(), sampleFinding({ id: 'f-2', severity: 'critical' })];
    const out = renderAsff(findings, OPTS);
    assert.ok(out.endsWith('}\n'));
    const doc = JSON.parse(out) as { Findings: AsffFinding[] };
    assert.deepEqual(Object.keys(doc), ['Findings']);
    assert.deepEqual(
      doc.Findings.map((f) => [f.Id, f.Severity.Label]),
      [
        ['offbox/f-0123456789abcdef', 'HIGH'],
        ['offbox/f-2', 'CRITICAL'],
      ],
    );
    assert.deepEqual(doc.Findings[0], toAsff(findings[0]!, OPTS));
    assert.deepEqual(JSON.parse(renderAsff([], OPTS)), { Findings: [] });
  });

  it('is what renderFindings gives for asff, in us-east-1 unless told otherwise', () => {
    const findings = [sampleFinding()];
    assert.equal(renderFindings(findings, 'asff', { now: NOW }), renderAsff(findings, OPTS));
    assert.equal(
      renderFindings(findings, 'asff', { now: NOW, asff: { region: 'eu-west-1' } }),
      renderAsff(findings, { region: 'eu-west-1', now: NOW }),
    );
  });
});

/** Security Hub's BatchImportFindings refuses a finding without these (AWS Security Hub user guide, "Required top-level attributes in ASFF"). */
const REQUIRED_TOP_LEVEL = [
  'SchemaVersion',
  'Id',
  'ProductArn',
  'GeneratorId',
  'AwsAccountId',
  'Types',
  'CreatedAt',
  'UpdatedAt',
  'Severity',
  'Title',
  'Description',
  'Resources',
] as const;
const TYPE_NAMESPACES = [
  'Software and Configuration Checks',
  'TTPs',
  'Effects',
  'Unusual Behaviors',
  'Sensitive Data Identifications',
];
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Checks one finding as the JSON Security Hub receives: required attributes present, non-empty and well-formed. */
function assertSecurityHubRequired(finding: Record<string, unknown>): void {
  for (const key of REQUIRED_TOP_LEVEL) assert.ok(finding[key] !== undefined && finding[key] !== '', `${key} present`);
  assert.equal(finding['SchemaVersion'], '2018-10-08');
  for (const key of ['Id', 'GeneratorId', 'Title', 'Description'] as const) {
    assert.equal(typeof finding[key], 'string', key);
    assert.match(finding[key] as string, /\S/, `${key} not blank`);
  }
  assert.match(
    finding['ProductArn'] as string,
    /^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:\d{0,12}:product\/[^/]+\/[^/]+$/,
  );
  assert.match(finding['AwsAccountId'] as string, /^\d{12}$/);
  const types = finding['Types'] as string[];
  assert.ok(Array.isArray(types) && types.length >= 1 && types.length <= 50, 'Types: 1 to 50');
  for (const type of types) {
    const [namespace, category, classifier] = type.split('/');
    assert.ok(TYPE_NAMESPACES.includes(namespace ?? ''), `Types namespace of ${type}`);
    assert.ok((category ?? '') !== '' && (classifier ?? '') !== '', `Types ${type} is namespace/category/classifier`);
  }
  for (const key of ['CreatedAt', 'UpdatedAt', 'FirstObservedAt', 'LastObservedAt'] as const) {
    if (key === 'CreatedAt' || key === 'UpdatedAt' || finding[key] !== undefined) {
      assert.match(finding[key] as string, RFC3339, `${key} is an RFC 3339 time`);
    }
  }
  const severity = finding['Severity'] as { Label?: unknown };
  assert.ok(
    ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].includes(severity.Label as string),
    'Severity.Label',
  );
  const resources = finding['Resources'] as { Type?: unknown; Id?: unknown }[];
  assert.ok(Array.isArray(resources) && resources.length >= 1 && resources.length <= 32, 'Resources: 1 to 32');
  for (const resource of resources) {
    assert.ok(typeof resource.Type === 'string' && resource.Type !== '', 'Resource Type');
    assert.ok(typeof resource.Id === 'string' && resource.Id !== '', 'Resource Id');
  }
}

describe("Security Hub's required ASFF attributes", () => {
  it('are present and well-formed in every kind of finding offbox renders', () => {
    const findings = [
      sampleFinding(),
      ...SEVERITIES.map((severity, i) => sampleFinding({ id: `f-sev-${i}`, severity })),
      sampleFinding({ id: 'f-v6', source: { ip: '2001:db8::7' }, principal: { instanceId: '' } }),
      sampleFinding({
        id: 'f-web',
        detector: 'imds-ssrf-attempt',
        principal: { role: '', roleArn: '', instanceId: '', sessionName: '', accessKeyIds: [] },
        activity: { actions: [] },
        response: { commands: [] },
      }),
      sampleFinding({ id: 'f-hostile', title: '\x1b[2J\u202e', evidence: { reasons: ['\n'] } }),
    ];
    const document = JSON.parse(renderAsff(findings, OPTS)) as { Findings: Record<string, unknown>[] };
    assert.equal(document.Findings.length, findings.length);
    for (const finding of document.Findings) assertSecurityHubRequired(finding);
    // The control: the check refuses what Security Hub refuses.
    const valid = document.Findings[0]!;
    for (const broken of [
      { ...valid, Title: undefined },
      { ...valid, Resources: [] },
      { ...valid, Resources: [{ Type: 'AwsIamRole' }] },
      { ...valid, Types: ['Credential Access'] },
      { ...valid, UpdatedAt: 'yesterday' },
      { ...valid, Severity: { Original: 'high' } },
    ]) {
      assert.throws(() => assertSecurityHubRequired(broken), assert.AssertionError);
    }
  });

  it('hold for any text in the log-derived fields (property)', () => {
    const text = fc.string({ unit: fc.integer({ min: 0, max: 0x10ffff }).map((n) => String.fromCodePoint(n)) });
    fc.assert(
      fc.property(text, text, (title, reason) => {
        const document = JSON.parse(renderAsff([sampleFinding({ title, evidence: { reasons: [reason] } })], OPTS)) as {
          Findings: Record<string, unknown>[];
        };
        assertSecurityHubRequired(document.Findings[0]!);
      }),
      { numRuns: 200 },
    );
  });
});
