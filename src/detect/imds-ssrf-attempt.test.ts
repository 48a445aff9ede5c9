import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { scanWebLogs as scanWith, type WebScanOptions } from '../engine/web-scan.js';
import type { LogObject } from '../sources/log-object.js';
import { loadAwsRanges } from '../net/aws-ranges.js';
import { OwnershipMap, owner } from '../inventory/ownership.js';
import { albLine, logObjects, memoryLog, nginxLine, wafLine } from '../weblogs/weblog-lines.test-helpers.js';

const DETECTOR = 'imds-ssrf-attempt';
const awsRanges = loadAwsRanges();
const scanWebLogs = (objects: AsyncIterable<LogObject>, options: WebScanOptions = {}) =>
  scanWith(objects, { awsRanges, ...options });
const CREDS_URL =
  'https://app.example.com:443/fetch?url=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2Fiam%2Fsecurity-credentials%2Fweb-role';
const INSTANCE = 'i-0123456789abcdef0';
const PROFILE = 'arn:aws:iam::111122223333:instance-profile/web-profile';
const ROLE_ARN = 'arn:aws:iam::111122223333:role/web-role';

function inventory(httpTokens = 'optional'): OwnershipMap {
  const map = new OwnershipMap();
  map.accounts.add('111122223333');
  map.addAddress(
    '10.0.1.5',
    owner({
      kind: 'instance',
      scope: 'private',
      accountId: '111122223333',
      region: 'eu-west-1',
      instanceId: INSTANCE,
      source: 'inventory describe-instances.json',
    }),
  );
  map.instances.set(INSTANCE, {
    instanceId: INSTANCE,
    accountId: '111122223333',
    region: 'eu-west-1',
    vpcId: 'vpc-1',
    state: 'running',
    launchTime: '2024-01-01T00:00:00Z',
    instanceProfileArn: PROFILE,
    privateIps: ['10.0.1.5'],
    publicIps: [],
    metadata: { httpTokens, hopLimit: 2, httpEndpoint: 'enabled', httpProtocolIpv6: 'disabled' },
    tags: {},
    source: 'inventory describe-instances.json',
  });
  map.roles.set(ROLE_ARN, {
    roleName: 'web-role',
    roleId: 'AROAEXAMPLE',
    arn: ROLE_ARN,
    accountId: '111122223333',
    instanceProfileArns: [PROFILE],
    inlinePolicies: {},
    attachedPolicyArns: [],
    permissionsBoundaryArn: '',
  });
  return map;
}

describe(DETECTOR, () => {
  it('critical: a credential path answered 200 with a body, with the full finding contract', async () => {
    const result = await scanWebLogs(logObjects(memoryLog('mem/alb.log', [albLine({ url: CREDS_URL, bytes: 1400 })])), {
      inventory: inventory(),
    });
    assert.equal(result.findings.length, 1);
    const f = result.findings[0]!;
    assert.equal(f.detector, DETECTOR);
    assert.equal(f.severity, 'critical');
    assert.equal(f.confidence, 'high');
    assert.match(f.id, /^[0-9a-f]{32}$/);
    assert.match(
      f.title,
      /^Metadata-service SSRF attempt: AWS EC2 instance metadata service \(IMDS\) at 169\.254\.169\.254 via app\.example\.com from 81\.2\.69\.143$/,
    );
    assert.equal(f.accountId, '111122223333');
    assert.equal(f.principal.instanceId, INSTANCE);
    assert.equal(f.principal.role, 'web-role');
    assert.equal(f.principal.roleArn, ROLE_ARN);
    assert.equal(f.principal.credentialKind, 'ec2-instance');
    assert.equal(f.source.ip, '81.2.69.143');
    assert.equal(f.source.class, 'public');
    assert.equal(f.activity.calls, 1);
    assert.deepEqual(f.activity.actions, ['GET /fetch']);
    assert.equal(f.activity.firstSeen, '2024-05-01T10:00:00.123Z');
    assert.deepEqual(f.activity.userAgents, ['curl/8.4.0']);
    assert.deepEqual(f.evidence.locations, ['mem/alb.log:1']);
    assert.equal(f.evidence.locationsTruncated, false);
    assert.deepEqual(f.evidence.eventIds, ['Root=1-66320000-000000000000000000000001']);
    assert.deepEqual(f.request, { method: 'GET', url: CREDS_URL, clientIp: '81.2.69.143', status: 200 });
    assert.deepEqual(f.attack, { technique: 'T1552.005', analytic: 'AN0960', tactic: 'Credential Access' });
    const reasons = f.evidence.reasons.join('\n');
    assert.match(
      reasons,
      /in the query string: AWS EC2 instance metadata service \(IMDS\) at 169\.254\.169\.254, written as dotted decimal/,
    );
    assert.match(reasons, /round 1: percent-decoding/);
    assert.match(reasons, /IAM role credentials path/);
    assert.match(reasons, /answered 200 with 1400 bytes \(headers included\)/);
    assert.match(reasons, /i-0123456789abcdef0 \(role web-role\).*HttpTokens=optional/);
    assert.match(reasons, /T1190/);
    const commands = f.response.commands.join('\n');
    assert.match(
      commands,
      /aws ec2 modify-instance-metadata-options --instance-id i-0123456789abcdef0 --http-tokens required --http-put-response-hop-limit 1 --http-endpoint enabled --region eu-west-1/,
    );
    assert.match(commands, /AWSRevokeOlderSessions/);
    assert.match(commands, /AWSManagedRulesCommonRuleSet.*app\.example\.com/);
  });

  it('without inventory: says so, and names the command that finds the instance', async () => {
    const result = await scanWebLogs(logObjects(memoryLog('a.log', [albLine({ url: CREDS_URL })])));
    const f = result.findings[0]!;
    assert.equal(f.principal.instanceId, '');
    assert.equal(f.accountId, '');
    assert.ok(f.evidence.reasons.some((r) => /no inventory: cannot tell which instance/.test(r)));
    assert.ok(
      f.response.commands.some((c) =>
        c.startsWith('aws ec2 describe-instances --filters Name=private-ip-address,Values=10.0.1.5'),
      ),
    );
  });

  it('high: an IMDSv2 token PUT through a forward proxy (nginx absolute-form); medium: a plain metadata read', async () => {
    const result = await scanWebLogs(
      logObjects(
        memoryLog('proxy.log', [
          nginxLine({
            client: '198.51.100.7',
            request: 'PUT http://169.254.169.254/latest/api/token HTTP/1.1',
            status: 200,
            bytes: 56,
          }),
          nginxLine({
            client: '203.0.113.50',
            request: 'GET http://[fd00:ec2::254]/latest/meta-data/ HTTP/1.1',
            status: 404,
            bytes: 0,
          }),
        ]),
      ),
    );
    const byClient = new Map(result.findings.map((f) => [f.source.ip, f]));
    const put = byClient.get('198.51.100.7')!;
    assert.equal(put.severity, 'high');
    assert.ok(put.evidence.reasons.some((r) => /absolute-form request line/.test(r)));
    assert.ok(put.evidence.reasons.some((r) => /IMDSv2 session token/.test(r)));
    const read = byClient.get('203.0.113.50')!;
    assert.equal(read.severity, 'medium');
    assert.equal(read.source.class, 'special');
    assert.ok(read.evidence.reasons.some((r) => /fd00:ec2::254/.test(r)));
  });

  it('a metadata path alone is a medium-confidence probe of the application’s own proxying', async () => {
    const result = await scanWebLogs(
      logObjects(
        memoryLog('a.log', [
          albLine({ url: 'https://app.example.com:443/latest/meta-data/', status: 404, bytes: 300 }),
        ]),
      ),
    );
    const f = result.findings[0]!;
    assert.equal(f.severity, 'medium');
    assert.equal(f.confidence, 'medium');
    assert.ok(f.evidence.reasons.some((r) => /by its path alone, sent to app\.example\.com/.test(r)));
  });

  it('helper services: a decoded rebinding name is a full hit naming its family; an OOB domain alone is low/low', async () => {
    const result = await scanWebLogs(
      logObjects(
        memoryLog('a.log', [
          albLine({
            url: 'https://app.example.com:443/fetch?url=http%3A%2F%2F7f000001.a9fea9fe.rbndr.us%2Flatest%2Fmeta-data%2F',
          }),
          albLine({
            url: 'https://app.example.com:443/fetch?url=http%3A%2F%2Fc23b2la0kl1krjcrdj10cndmnioyyyyyn.oast.fun%2F',
          }),
        ]),
      ),
    );
    const rebinding = result.findings.find((f) => f.evidence.reasons.some((r) => /rbndr\.us/.test(r)))!;
    assert.equal(rebinding.severity, 'medium');
    assert.equal(rebinding.confidence, 'high');
    assert.ok(
      rebinding.evidence.reasons.some((r) => /^helper service: rbndr\.us \(rebinding\).*taviso\/rbndr/.test(r)),
    );
    assert.ok(
      rebinding.title.includes('169.254.169.254') || rebinding.evidence.reasons[0]!.includes('169.254.169.254'),
    );
    const oob = result.findings.find((f) => f.evidence.reasons.some((r) => /oast\.fun/.test(r)))!;
    assert.equal(oob.severity, 'low');
    assert.equal(oob.confidence, 'low');
    assert.ok(oob.evidence.reasons.some((r) => /no metadata address is visible/.test(r)));
    assert.match(oob.evidence.reasons[0]!, /^GET request carries an SSRF helper service in the query string/);
    assert.ok(oob.evidence.reasons.some((r) => /^helper service: interactsh \(out-of-band\)/.test(r)));
  });

  it('other clouds: named, with a reason of their own; on an EC2 backend the target cannot answer, so medium confidence', async () => {
    const gcp =
      'https://app.example.com:443/fetch?url=http%3A%2F%2Fmetadata.google.internal%2FcomputeMetadata%2Fv1%2Finstance%2Fservice-accounts%2Fdefault%2Ftoken';
    const onEc2 = await scanWebLogs(logObjects(memoryLog('mem/alb.log', [albLine({ url: gcp })])), {
      inventory: inventory(),
    });
    assert.equal(onEc2.findings.length, 1);
    const f = onEc2.findings[0]!;
    assert.match(f.title, /Google Cloud metadata server/);
    assert.equal(f.confidence, 'medium');
    assert.ok(f.evidence.reasons.some((r) => /does not answer on an EC2 instance such as i-0123456789abcdef0/.test(r)));
    assert.ok(f.evidence.reasons[0]!.startsWith('GET request carries a metadata-service target'));
    const unknownBackend = await scanWebLogs(logObjects(memoryLog('mem/alb.log', [albLine({ url: gcp })])));
    assert.equal(unknownBackend.findings.length, 1);
    const g = unknownBackend.findings[0]!;
    assert.equal(g.confidence, 'high');
    assert.ok(g.evidence.reasons.some((r) => /is not AWS's: .* its credentials are at risk/.test(r)));
  });

  it('a helper domain in a Referer is not a hit (User-Agent: see held-out.test.ts)', async () => {
    const result = await scanWebLogs(
      logObjects(memoryLog('a.log', [nginxLine({ request: 'GET / HTTP/1.1', referer: 'https://abc.oast.fun/' })])),
    );
    assert.deepEqual(result.findings, []);
  });

  it('aggregates by client, target, backend and host; ids are stable whatever the file order', async () => {
    const lines = [
      albLine({ url: CREDS_URL, time: '2024-05-01T10:00:05.000000Z' }),
      albLine({
        url: 'https://app.example.com:443/fetch?url=http://2852039166/latest/meta-data/',
        time: '2024-05-01T10:00:01.000000Z',
      }),
      albLine({ url: 'https://app.example.com:443/index.html' }),
      albLine({ url: CREDS_URL, client: '203.0.113.77:5555' }),
      albLine({ url: CREDS_URL, target: '10.0.2.9:80' }),
    ];
    const first = await scanWebLogs(
      logObjects(memoryLog('a.log', lines.slice(0, 3)), memoryLog('b.log', lines.slice(3))),
    );
    const second = await scanWebLogs(
      logObjects(memoryLog('b.log', lines.slice(3)), memoryLog('a.log', lines.slice(0, 3))),
    );
    assert.equal(first.findings.length, 3);
    assert.deepEqual(first.findings, second.findings);
    const main = first.findings.find((f) => f.source.ip === '81.2.69.143' && f.evidence.locations.includes('a.log:1'))!;
    assert.equal(main.activity.calls, 2);
    assert.deepEqual(main.evidence.locations, ['a.log:1', 'a.log:2']);
    assert.equal(main.activity.firstSeen, '2024-05-01T10:00:01.000Z');
    assert.equal(main.activity.lastSeen, '2024-05-01T10:00:05.000Z');
    assert.equal(main.request.url, 'https://app.example.com:443/fetch?url=http://2852039166/latest/meta-data/');
    assert.equal(main.severity, 'critical');
  });

  it('property: findings do not depend on the order of the lines', async () => {
    const lines = [
      albLine({ url: CREDS_URL }),
      albLine({ url: 'https://app.example.com:443/p?u=http://0xa9fea9fe/', client: '203.0.113.1:1' }),
      nginxLine({ request: 'GET /fetch?url=http://169.254.170.2/v2/credentials/x HTTP/1.1' }),
      albLine({ url: 'https://app.example.com:443/ok' }),
    ];
    const expected = (await scanWebLogs(logObjects(memoryLog('x.log', lines)))).findings.map((f) => [
      f.id,
      f.severity,
      f.activity.calls,
    ]);
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(lines, { minLength: lines.length, maxLength: lines.length }),
        async (shuffled) => {
          const got = (await scanWebLogs(logObjects(memoryLog('x.log', shuffled)))).findings.map((f) => [
            f.id,
            f.severity,
            f.activity.calls,
          ]);
          assert.deepEqual(got.sort(), [...expected].sort());
        },
      ),
      { numRuns: 20 },
    );
  });

  it('caps evidence.locations at 1,000 and says so', async () => {
    const lines = Array.from({ length: 1005 }, () => albLine({ url: CREDS_URL, status: 403 }));
    const f = (await scanWebLogs(logObjects(memoryLog('many.log', lines)))).findings[0]!;
    assert.equal(f.activity.calls, 1005);
    assert.equal(f.evidence.locations.length, 1000);
    assert.equal(f.evidence.locationsTruncated, true);
    assert.equal(f.activity.errorCount, 1005);
    assert.equal(f.severity, 'high');
  });

  it('WAF: the managed EC2MetaDataSSRF rule on a body it never logs, blocked; metadata headers noted', async () => {
    const result = await scanWebLogs(
      logObjects(
        memoryLog('waf.log', [
          wafLine({
            uri: '/upload',
            method: 'POST',
            action: 'BLOCK',
            labels: ['awswaf:managed:aws:core-rule-set:EC2MetaDataSSRF_Body'],
          }),
          wafLine({
            uri: '/latest/api/token',
            method: 'PUT',
            client: '203.0.113.8',
            headers: [
              ['Host', '169.254.169.254'],
              ['X-aws-ec2-metadata-token-ttl-seconds', '21600'],
            ],
          }),
        ]),
      ),
    );
    const blocked = result.findings.find((f) => f.source.ip === '81.2.69.143')!;
    assert.equal(blocked.severity, 'medium');
    assert.ok(blocked.evidence.reasons.some((r) => /EC2MetaDataSSRF_Body/.test(r)));
    assert.ok(blocked.evidence.reasons.some((r) => /blocked this request/.test(r)));
    const token = result.findings.find((f) => f.source.ip === '203.0.113.8')!;
    assert.equal(token.severity, 'high');
    assert.ok(token.evidence.reasons.some((r) => /X-aws-ec2-metadata-token-ttl-seconds/.test(r)));
  });

  it('IMDSv2 already required on the backend is said in the reasons', async () => {
    const result = await scanWebLogs(
      logObjects(memoryLog('a.log', [albLine({ url: CREDS_URL, status: 502, bytes: 0 })])),
      {
        inventory: inventory('required'),
      },
    );
    assert.ok(result.findings[0]!.evidence.reasons.some((r) => /IMDSv2 is required there/.test(r)));
    assert.equal(result.findings[0]!.severity, 'high');
  });

  it('benign near-misses: large ids, documentation referers and links, ordinary redirects', async () => {
    const result = await scanWebLogs(
      logObjects(
        memoryLog('a.log', [
          albLine({ url: 'https://app.example.com:443/orders?id=2852039166&ts=7147006462' }),
          albLine({
            url: 'https://app.example.com:443/help?next=https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html',
          }),
          nginxLine({
            request: 'GET /login?redirect=https%3A%2F%2Fwww.example.com%2Faccount HTTP/1.1',
            referer: 'https://blog.example.org/what-is-169.254.169.254/',
          }),
          nginxLine({ request: 'GET /search?q=169.254.169.254+latest+meta-data HTTP/1.1' }),
        ]),
      ),
    );
    assert.deepEqual(result.findings, []);
  });
});
