import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { loadAwsRanges } from '../net/aws-ranges.js';
import { buildSourceClassifier } from '../net/source-class.js';
import { accountOfKey, awsId } from './ids.js';
import { simulateOrganisation, type SimulationSummary, type StoryFile } from './index.js';
import type { Label } from './labels.js';
import { Rng } from './prng.js';
import { isoSeconds } from './time.js';

const work = mkdtempSync(join(tmpdir(), 'offbox-simulate-'));
after(() => rmSync(work, { recursive: true, force: true }));

const classifier = buildSourceClassifier({ awsRanges: loadAwsRanges() });

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

function treeHash(dir: string): string {
  const hash = createHash('sha256');
  for (const file of walk(dir)) hash.update(relative(dir, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

// CloudTrail records and CLI outputs are arbitrary JSON; the tests index into them freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Rec = Record<string, any>;

interface Loaded {
  summary: SimulationSummary;
  out: string;
  files: { path: string; account: string; region: string; stamp: string; records: Rec[] }[];
  records: Rec[];
  labels: Label[];
  story: StoryFile;
}

async function simulate(
  name: string,
  options: Parameters<typeof simulateOrganisation>[0] extends infer O ? Omit<O & object, 'out'> : never,
): Promise<Loaded> {
  const out = join(work, name);
  const summary = await simulateOrganisation({ out, ...options });
  const files: Loaded['files'] = [];
  for (const path of walk(join(out, 'cloudtrail'))) {
    const parts = relative(join(out, 'cloudtrail'), path).split(sep);
    if (parts[2] !== 'CloudTrail') continue;
    const body = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as { Records: Rec[] };
    const stamp = /_(\d{8}T\d{4}Z)_/.exec(parts[parts.length - 1]!)![1]!;
    files.push({ path, account: parts[1]!, region: parts[3]!, stamp, records: body.Records });
  }
  return {
    summary,
    out,
    files,
    records: files.flatMap((f) => f.records),
    labels: JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8')) as Label[],
    story: JSON.parse(readFileSync(join(out, 'story.json'), 'utf8')) as StoryFile,
  };
}

describe('prng and ids', () => {
  it('the PRNG is deterministic and forks do not depend on consumption', () => {
    const a = new Rng('seed');
    const b = new Rng('seed');
    a.u32();
    assert.equal(a.fork('x').hex(16), b.fork('x').hex(16));
    assert.notEqual(new Rng('seed').hex(16), new Rng('seed2').hex(16));
    assert.match(new Rng('u').uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('access keys carry their account like real ones', () => {
    const rng = new Rng('k');
    for (const account of ['123837392027', '000000000001', '999999999999']) {
      const key = awsId('ASIA', account, rng);
      assert.match(key, /^ASIA[A-Z2-7]{16}$/);
      assert.equal(accountOfKey(key), account);
    }
    // A real key from the Invictus dataset (its file names carry the account).
    assert.equal(accountOfKey('ASIATFQR7NSC36DZQP7P'), '218007301253');
    assert.match(awsId('AROA', '123837392027', rng), /^AROA[A-Z2-7]{17}$/);
  });

  it('isoSeconds matches toISOString', () => {
    for (const ms of [0, Date.UTC(2026, 2, 2, 23, 59, 59, 999), Date.UTC(2026, 2, 3, 0, 0, 0, 1), 1_772_409_600_123]) {
      assert.equal(isoSeconds(ms), `${new Date(ms).toISOString().slice(0, 19)}Z`);
    }
  });
});

describe('simulateOrganisation', () => {
  let org: Loaded;
  let small: Loaded;
  before(async () => {
    org = await simulate('org', { seed: 7, accounts: 3, instances: 16, hours: 2, events: 9000 });
    small = await simulate('small', { seed: 1, accounts: 2, hours: 1, instances: 9, events: 3000 });
  });

  it('is deterministic: same seed, same bytes; another seed, other bytes', async () => {
    const again = await simulate('small-again', { seed: 1, accounts: 2, hours: 1, instances: 9, events: 3000 });
    assert.equal(treeHash(again.out), treeHash(small.out));
    const other = await simulate('small-other', { seed: 2, accounts: 2, hours: 1, instances: 9, events: 3000 });
    assert.notEqual(treeHash(other.out), treeHash(small.out));
  });

  it('writes CloudTrail delivery files in the S3 key layout, delivered out of order', () => {
    assert.equal(org.files.length, org.summary.files);
    assert.equal(org.records.length, org.summary.events);
    for (const file of org.files) {
      const rel = relative(join(org.out, 'cloudtrail'), file.path).split(sep);
      assert.equal(rel[0], 'AWSLogs');
      assert.match(rel.slice(4, 7).join('/'), /^\d{4}\/\d{2}\/\d{2}$/);
      assert.equal(rel[4]! + rel[5]! + rel[6]!, file.stamp.slice(0, 8));
      assert.match(
        rel[7]!,
        new RegExp(`^${file.account}_CloudTrail_${file.region}_\\d{8}T\\d{4}Z_[A-Za-z0-9]{16}\\.json\\.gz$`),
      );
      assert.ok(file.records.length > 0);
      for (const r of file.records) {
        assert.equal(r['recipientAccountId'], file.account);
        assert.equal(r['awsRegion'], file.region);
      }
    }
    // Some file holds an event older than an event of a file delivered earlier.
    const byStamp = [...org.files].sort((a, b) => (a.stamp < b.stamp ? -1 : 1));
    const oldest = byStamp.map((f) => Math.min(...f.records.map((r) => Date.parse(r['eventTime']))));
    const newest = byStamp.map((f) => Math.max(...f.records.map((r) => Date.parse(r['eventTime']))));
    let maxBefore = -Infinity;
    let outOfOrder = false;
    for (let i = 0; i < byStamp.length; i++) {
      if (i > 0 && byStamp[i]!.stamp !== byStamp[i - 1]!.stamp && oldest[i]! < maxBefore) outOfOrder = true;
      maxBefore = Math.max(maxBefore, newest[i]!);
    }
    assert.ok(outOfOrder, 'late deliveries interleave files');
    // Records inside a file are not sorted by time.
    assert.ok(
      org.files.some((f) => f.records.some((r, i) => i > 0 && r['eventTime'] < f.records[i - 1]!['eventTime'])),
    );
    const digests = walk(join(org.out, 'cloudtrail')).filter((p) => p.includes(`${sep}CloudTrail-Digest${sep}`));
    assert.ok(digests.length > 0);
    for (const path of digests) {
      assert.match(path, /_CloudTrail-Digest_[a-z0-9-]+_.+_[a-z0-9-]+_\d{8}T\d{6}Z\.json\.gz$/);
      const digest = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as Rec;
      assert.ok(Array.isArray(digest['logFiles']) && typeof digest['digestEndTime'] === 'string');
    }
  });

  it('labels every story, for every detector, with things that exist in the logs', () => {
    for (const run of [org, small]) {
      const stories = new Set(run.story.stories.map((s) => s.id));
      for (const id of [
        'imdsv1-ssrf-offbox',
        'imdsv2-offbox-ipv6',
        'foreign-aws',
        'cross-instance',
        'foreign-vpce',
        'session-name-spoof',
        'role-chain',
        'ssrf-relay-non-sdk',
        'ecs-task-theft',
        'lambda-theft',
        'revoked-session',
        'identity-credential-foreign-aws',
      ]) {
        assert.ok(stories.has(id), `story ${id}`);
      }
      const detectors = new Set(run.labels.map((l) => l.detector));
      for (const id of [
        'instance-credential-outside-aws',
        'instance-credential-foreign-aws',
        'instance-credential-cross-instance',
        'instance-credential-foreign-vpce',
        'instance-session-name-spoof',
        'instance-credential-role-chain',
        'instance-credential-non-sdk-client',
        'workload-credential-outside-aws',
        'revoked-session-use',
        'imds-ssrf-attempt',
        'signed-aws-url-in-request',
        'imdsv1-credential-delivery',
      ]) {
        assert.ok(detectors.has(id), `label for ${id}`);
      }
      const text = run.records.map((r) => JSON.stringify(r)).join('\n');
      const usedKeys = new Set(run.records.map((r) => r['userIdentity']?.['accessKeyId']));
      for (const label of run.labels) {
        assert.ok(run.summary.accounts.includes(label.accountId));
        if (label.instanceId) assert.ok(text.includes(label.instanceId), `instance ${label.instanceId} appears`);
        if (label.accessKeyId) assert.ok(usedKeys.has(label.accessKeyId), `key ${label.accessKeyId} is used`);
        if (label.subject) assert.ok(text.includes(`/${label.subject}"`), `subject ${label.subject} appears`);
      }
      assert.equal(run.summary.labels, run.labels.length);
    }
  });

  it('attack addresses are what the stories say, and distinct between stories', () => {
    const byStory = new Map<string, Set<string>>();
    for (const label of org.labels) {
      if (!label.sourceIp) continue;
      const cls = classifier.classify(label.sourceIp).class;
      if (label.detector === 'instance-credential-outside-aws' || label.detector === 'workload-credential-outside-aws')
        assert.equal(cls, 'public', label.sourceIp);
      if (
        label.detector === 'instance-credential-foreign-aws' ||
        label.detector === 'instance-credential-cross-instance'
      )
        assert.equal(cls, 'aws', label.sourceIp);
      if (label.detector === 'instance-credential-foreign-vpce') assert.equal(cls, 'private', label.sourceIp);
      const story = label.story === 'revoked-session' ? 'imdsv1-ssrf-offbox' : label.story;
      byStory.set(story, (byStory.get(story) ?? new Set()).add(label.sourceIp));
    }
    const seen = new Map<string, string>();
    for (const [story, ips] of byStory) {
      for (const ip of ips) {
        assert.ok(!seen.has(ip) || seen.get(ip) === story, `${ip} used by ${story} and ${seen.get(ip)}`);
        seen.set(ip, story);
      }
    }
  });

  it('benign instance credentials are only used from their own network path, with SDK user agents', () => {
    const inventory = join(org.out, 'inventory');
    const own = new Map<string, Set<string>>(); // instance → its addresses
    const vpcOf = new Map<string, string>();
    const natsOfVpc = new Map<string, Set<string>>();
    const endpoints = new Set<string>();
    const add = (id: string, ip: string | undefined) => {
      if (!ip) return;
      own.set(id, (own.get(id) ?? new Set()).add(ip));
    };
    for (const path of walk(inventory)) {
      const doc = JSON.parse(readFileSync(path, 'utf8')) as Rec;
      for (const reservation of doc['Reservations'] ?? []) {
        for (const i of reservation['Instances']) {
          if (i['VpcId']) vpcOf.set(i['InstanceId'], i['VpcId']);
          add(i['InstanceId'], i['PrivateIpAddress']);
          add(i['InstanceId'], i['PublicIpAddress']);
          for (const eni of i['NetworkInterfaces'])
            for (const v6 of eni['Ipv6Addresses']) add(i['InstanceId'], v6['Ipv6Address']);
          const ip = i['PublicIpAddress'];
          if (ip)
            assert.ok(classifier.classify(ip).awsServices.includes('EC2'), `${ip} of ${i['InstanceId']} is EC2 space`);
        }
      }
      for (const nat of doc['NatGateways'] ?? []) {
        for (const a of nat['NatGatewayAddresses']) {
          natsOfVpc.set(nat['VpcId'], (natsOfVpc.get(nat['VpcId']) ?? new Set()).add(a['PublicIp']));
          assert.ok(classifier.classify(a['PublicIp']).awsServices.includes('EC2'));
        }
      }
      for (const ep of doc['VpcEndpoints'] ?? []) endpoints.add(ep['VpcEndpointId']);
      for (const a of doc['Addresses'] ?? []) assert.ok(classifier.classify(a['PublicIp']).awsServices.includes('EC2'));
    }
    // Instances that came and went during the window are known from CloudTrail.
    for (const r of org.records) {
      if (r['eventName'] !== 'RunInstances' || !r['responseElements']) continue;
      for (const i of r['responseElements']['instancesSet']['items']) {
        vpcOf.set(i['instanceId'], i['vpcId']);
        add(i['instanceId'], i['privateIpAddress']);
        for (const eni of i['networkInterfaceSet']['items']) {
          add(i['instanceId'], eni['association']?.['publicIp']);
          for (const v6 of eni['ipv6AddressesSet']?.['items'] ?? []) add(i['instanceId'], v6['ipv6Address']);
        }
      }
    }
    const stolen = new Set(org.labels.map((l) => l.accessKeyId).filter(Boolean));
    const ec2Vended = new Set(
      org.records
        .filter((r) => r['eventName'] === 'AssumeRole' && r['sourceIPAddress'] === 'ec2.amazonaws.com')
        .map((r) => r['responseElements']['credentials']['accessKeyId']),
    );
    const callerVended = new Set(
      org.records
        .filter((r) => r['eventName'] === 'AssumeRole' && r['userIdentity']['type'] !== 'AWSService')
        .map((r) => r['responseElements']['credentials']['accessKeyId']),
    );
    const nonSdk = /^(python-requests|curl|Go-http-client|Mozilla)/;
    let checked = 0;
    for (const r of org.records) {
      const ui = r['userIdentity'];
      const session = /assumed-role\/[^/]+\/(i-[0-9a-f]{17})$/.exec(ui['arn'] ?? '');
      if (!session || stolen.has(ui['accessKeyId']) || callerVended.has(ui['accessKeyId'])) continue;
      const instance = session[1]!;
      if (ui['arn'].includes('/aws:ec2-infrastructure/')) {
        // EC2 itself (the root volume's KMS decrypt): AWS acting, never the instance's credential.
        assert.equal(ui['invokedBy'], 'AWS Internal');
        assert.equal(r['sourceIPAddress'], 'AWS Internal');
        continue;
      }
      checked++;
      assert.ok(
        ec2Vended.has(ui['accessKeyId']) ||
          ui['sessionContext']?.['ec2RoleDelivery'] ||
          ui['arn'].includes('aws:ec2-instance'),
      );
      if (ui['invokedBy']) continue;
      const ip: string = r['sourceIPAddress'];
      const where = `${r['eventName']} by ${instance} from ${ip}`;
      // The one non-SDK client an instance runs: the SSM agent's Session Manager channel (net/http).
      const channel = r['eventSource'] === 'ssm.amazonaws.com' && /ControlChannel$/.test(r['eventName']);
      if (channel) assert.equal(r['userAgent'], 'Go-http-client/1.1', where);
      else assert.doesNotMatch(r['userAgent'], nonSdk, where);
      if (r['vpcEndpointId']) {
        assert.ok(endpoints.has(r['vpcEndpointId']), `${where}: own endpoint`);
        assert.ok(own.get(instance)?.has(ip), `${where}: own private address`);
        continue;
      }
      assert.notEqual(classifier.classify(ip).class, 'private', `${where}: private address without endpoint`);
      const mine = own.get(instance)?.has(ip) || natsOfVpc.get(vpcOf.get(instance) ?? '')?.has(ip);
      const eip = org.records.some(
        (x) => x['eventName'] === 'AssociateAddress' && x['requestParameters']['instanceId'] === instance,
      );
      assert.ok(mine || eip, `${where}: own public address or NAT`);
      assert.ok(classifier.classify(ip).awsServices.includes('EC2'), `${where}: EC2 space`);
    }
    assert.ok(checked > 1000, `checked ${checked} instance calls`);
  });

  it('writes the calls AWS agents and services make with workload sessions, as AWS logs them', () => {
    const recs = org.records;
    const stolen = new Set(org.labels.map((l) => l.accessKeyId).filter(Boolean));
    const sessionInstance = (r: Rec) => /\/(i-[0-9a-f]{17})$/.exec(r['userIdentity']['arn'] ?? '')?.[1];
    const ssmAgent = /^aws-sdk-go\/[\d.]+ \(go[\d.]+; linux; amd64\) amazon-ssm-agent\/[\d.]+$/;

    // The SSM agent's Session Manager control channel: data events under ssm.amazonaws.com, net/http's agent.
    const channels = recs.filter((r) => r['eventName'] === 'CreateControlChannel');
    assert.ok(channels.length > 0, 'control channels');
    for (const r of channels) {
      const instance = sessionInstance(r)!;
      assert.match(instance, /^i-/);
      assert.equal(r['eventSource'], 'ssm.amazonaws.com');
      assert.equal(r['userAgent'], 'Go-http-client/1.1');
      assert.equal(r['eventCategory'], 'Data');
      assert.equal(r['managementEvent'], false);
      assert.equal(r['readOnly'], false);
      assert.equal(r['resources'][0]['type'], 'AWS::SSMMessages::ControlChannel');
      assert.equal(
        r['resources'][0]['ARN'],
        `arn:aws:ssmmessages:${r['awsRegion']}:${r['recipientAccountId']}:control-channel/${instance}`,
      );
      assert.equal(r['tlsDetails']['clientProvidedHostHeader'], `ssmmessages.${r['awsRegion']}.amazonaws.com`);
      assert.equal(r['responseElements']['tokenValue'], 'Value hidden due to security reasons.');
      const ui = r['userIdentity'];
      assert.ok(ui['sessionContext']['ec2RoleDelivery'], 'instance session');
      const cls = classifier.classify(r['sourceIPAddress']).class;
      if (r['vpcEndpointId']) assert.equal(cls, 'private');
      else assert.equal(cls, 'aws', `${r['sourceIPAddress']} is the instance's own AWS address`);
    }
    assert.ok(
      channels.some((r) => r['vpcEndpointId']),
      'some control channels go through the ssmmessages endpoint',
    );
    assert.ok(recs.some((r) => r['eventName'] === 'OpenControlChannel' && r['eventCategory'] === 'Data'));

    // ec2messages and the heartbeat: the agent's SDK clients.
    for (const name of ['GetMessages', 'AcknowledgeMessage', 'SendReply', 'GetEndpoint']) {
      const calls = recs.filter((r) => r['eventSource'] === 'ec2messages.amazonaws.com' && r['eventName'] === name);
      assert.ok(calls.length > 0, `ec2messages:${name}`);
      for (const r of calls) assert.match(r['userAgent'], ssmAgent);
    }
    const heartbeats = recs.filter((r) => r['eventName'] === 'UpdateInstanceInformation');
    assert.ok(heartbeats.length > 0);
    for (const r of heartbeats) {
      assert.match(r['userAgent'], ssmAgent);
      assert.equal(r['requestParameters']['instanceId'], sessionInstance(r));
    }

    // The instance identity credential: Default Host Management's role token and heartbeat, from the instance.
    const identity = recs.filter(
      (r) =>
        r['userIdentity']['arn']?.includes(':assumed-role/aws:ec2-instance/') &&
        !stolen.has(r['userIdentity']['accessKeyId']),
    );
    assert.ok(identity.length > 0, 'identity credential traffic');
    for (const r of identity) {
      const ui = r['userIdentity'];
      const instance = sessionInstance(r)!;
      assert.equal(ui['type'], 'AssumedRole');
      assert.equal(ui['principalId'], `${ui['accountId']}:aws:ec2-instance:${instance}`);
      assert.deepEqual(ui['sessionContext']['sessionIssuer'], {
        type: 'Role',
        principalId: `${ui['accountId']}:aws:ec2-instance`,
        arn: `arn:aws:iam::${ui['accountId']}:role/aws:ec2-instance`,
        accountId: ui['accountId'],
        userName: 'aws:ec2-instance',
      });
      assert.deepEqual(ui['sessionContext']['webIdFederationData'], {});
      assert.equal(ui['sessionContext']['ec2RoleDelivery'], '2.0');
    }
    const tokens = identity.filter((r) => r['eventName'] === 'RequestManagedInstanceRoleToken');
    assert.ok(tokens.length > 0, 'RequestManagedInstanceRoleToken');
    for (const r of tokens) {
      assert.equal(r['eventCategory'], 'Data');
      assert.equal(r['resources'][0]['type'], 'AWS::SSM::ManagedNode');
      assert.equal(r['requestParameters']['fingerprint'], sessionInstance(r));
      assert.match(r['userAgent'], ssmAgent);
    }

    // Lambda decrypting a function's environment variables at a cold start: the function's own session, no invokedBy.
    const envDecrypts = recs.filter(
      (r) => r['eventName'] === 'Decrypt' && r['requestParameters']?.['encryptionContext']?.['aws:lambda:FunctionArn'],
    );
    assert.ok(envDecrypts.length > 0, 'Lambda environment decrypts');
    for (const r of envDecrypts) {
      const fn = r['requestParameters']['encryptionContext']['aws:lambda:FunctionArn'] as string;
      assert.match(fn, new RegExp(`^arn:aws:lambda:${r['awsRegion']}:${r['recipientAccountId']}:function:`));
      assert.ok(r['userIdentity']['arn'].endsWith(`/${fn.split(':').pop()}`), 'session named after the function');
      assert.equal(r['userIdentity']['invokedBy'], undefined);
      assert.match(r['userAgent'], /^aws-internal\/3 aws-sdk-java\//);
      assert.equal(classifier.classify(r['sourceIPAddress']).class, 'aws');
      assert.equal(r['requestParameters']['encryptionAlgorithm'], 'SYMMETRIC_DEFAULT');
    }

    // AWS services decrypting for a session: S3 (SSE-KMS), Secrets Manager, Parameter Store, EBS.
    const onBehalf = (context: string) =>
      recs.filter(
        (r) => r['eventSource'] === 'kms.amazonaws.com' && r['requestParameters']?.['encryptionContext']?.[context],
      );
    for (const r of onBehalf('aws:s3:arn')) {
      assert.equal(r['userIdentity']['invokedBy'], 's3.amazonaws.com');
      assert.equal(r['sourceIPAddress'], 's3.amazonaws.com');
    }
    assert.ok(onBehalf('aws:s3:arn').length > 0 && onBehalf('SecretARN').length > 0);
    const parameters = onBehalf('PARAMETER_ARN');
    assert.ok(parameters.length > 0, 'Parameter Store SecureString decrypts');
    for (const r of parameters) {
      assert.equal(r['userIdentity']['invokedBy'], 'AWS Internal');
      assert.equal(r['sourceIPAddress'], 'AWS Internal');
      assert.equal(r['userAgent'], 'AWS Internal');
    }
    const volumes = onBehalf('aws:ebs:id');
    assert.ok(volumes.length > 0, 'root volume decrypts at launch');
    for (const r of volumes) {
      const ui = r['userIdentity'];
      const instance = sessionInstance(r)!;
      assert.equal(ui['arn'], `arn:aws:sts::${ui['accountId']}:assumed-role/aws:ec2-infrastructure/${instance}`);
      assert.equal(ui['invokedBy'], 'AWS Internal');
      assert.equal(
        ui['inScopeOf']['credentialsIssuedTo'],
        `arn:aws:ec2:${r['awsRegion']}:${ui['accountId']}:instance/${instance}`,
      );
      assert.equal(r['sourceIPAddress'], 'AWS Internal');
      assert.match(r['requestParameters']['encryptionContext']['aws:ebs:id'], /^vol-0[0-9a-f]{16}$/);
      const launched = recs.some(
        (x) =>
          x['eventName'] === 'RunInstances' &&
          x['responseElements']?.['instancesSet']['items'][0]['instanceId'] === instance,
      );
      assert.ok(launched, `${instance} was launched in the window`);
    }
  });

  it("the stolen identity credential is used from the attacker's EC2 address with Kali's CLI", () => {
    const label = org.labels.find(
      (l) => l.story === 'identity-credential-foreign-aws' && l.detector === 'instance-credential-foreign-aws',
    );
    assert.ok(label?.accessKeyId && label.sourceIp && label.instanceId);
    const used = org.records.filter((r) => r['userIdentity']['accessKeyId'] === label.accessKeyId);
    assert.ok(used.length >= 5);
    for (const r of used) {
      const ui = r['userIdentity'];
      assert.equal(ui['arn'], `arn:aws:sts::${label.accountId}:assumed-role/aws:ec2-instance/${label.instanceId}`);
      assert.equal(ui['sessionContext']['ec2RoleDelivery'], '1.0');
      assert.equal(r['sourceIPAddress'], label.sourceIp);
      assert.match(r['userAgent'], /^aws-cli\/1\.[\d.]+ .*os\/linux#[^ ]*-kali[^ ]* /);
    }
    assert.ok(used.some((r) => r['eventName'] === 'GetCallerIdentity' && !r['errorCode']));
    assert.ok(
      used.some((r) => r['eventName'] === 'DescribeInstances' && r['errorCode'] === 'Client.UnauthorizedOperation'),
    );
    const cls = classifier.classify(label.sourceIp);
    assert.equal(cls.class, 'aws');
    assert.ok(cls.awsServices.includes('EC2'));
    // Never an address of the organisation: no instance, NAT gateway or EIP of the inventory holds it.
    const inventory = walk(join(org.out, 'inventory'))
      .map((path) => readFileSync(path, 'utf8'))
      .join('\n');
    assert.ok(!inventory.includes(`"${label.sourceIp}"`));
    assert.ok(org.labels.some((l) => l.detector === 'imds-ssrf-attempt' && l.sourceIp === label.sourceIp));
  });

  it('writes the inventory as AWS CLI JSON and a config', () => {
    const keys: Record<string, string> = {
      'ec2-describe-instances': 'Reservations',
      'ec2-describe-network-interfaces': 'NetworkInterfaces',
      'ec2-describe-addresses': 'Addresses',
      'ec2-describe-nat-gateways': 'NatGateways',
      'ec2-describe-vpc-endpoints': 'VpcEndpoints',
      'iam-get-account-authorization-details': 'RoleDetailList',
    };
    const files = walk(join(org.out, 'inventory'));
    assert.equal(files.length, org.summary.accounts.length * (5 * 2 + 1));
    const seenTypes = new Set<string>();
    for (const path of files) {
      const base = path.split(sep).pop()!.split('.')[0]!;
      const doc = JSON.parse(readFileSync(path, 'utf8')) as Rec;
      assert.ok(Array.isArray(doc[keys[base]!]), `${path} has ${keys[base]}`);
      for (const eni of doc['NetworkInterfaces'] ?? []) {
        seenTypes.add(eni['InterfaceType']);
        if (eni['InterfaceType'] === 'interface' && !eni['RequesterManaged'])
          assert.match(eni['Attachment']['InstanceId'], /^i-/);
      }
    }
    assert.ok(seenTypes.has('nat_gateway') && seenTypes.has('vpc_endpoint') && seenTypes.has('interface'));
    const config = readFileSync(join(org.out, 'offbox.yaml'), 'utf8');
    for (const id of org.summary.accounts) assert.ok(config.includes(`"${id}"`));
    assert.match(config, /allowedSourceCidrs:\n {2}- \d+\.\d+\.\d+\.\d+\/2[89]/);
  });

  it('writes ALB access logs with every field, including the SSRF and pre-signed URL requests', () => {
    const root = join(org.out, 'weblogs', 'alb');
    const lines: string[] = [];
    for (const path of walk(root)) {
      assert.match(
        path,
        /AWSLogs\/\d{12}\/elasticloadbalancing\/[a-z0-9-]+\/\d{4}\/\d{2}\/\d{2}\/\d{12}_elasticloadbalancing_[a-z0-9-]+_app\.[\w-]+\.[0-9a-f]{16}_\d{8}T\d{4}Z_[\d.]+_[a-z0-9]{8}\.log\.gz$/,
      );
      lines.push(...gunzipSync(readFileSync(path)).toString('utf8').trimEnd().split('\n'));
    }
    assert.equal(lines.length, org.summary.webLines);
    for (const line of lines) {
      const fields = [...line.matchAll(/"([^"]*)"|(\S+)/g)];
      assert.ok(fields.length >= 29, `${fields.length} fields: ${line.slice(0, 120)}`);
    }
    assert.ok(lines.some((l) => l.includes('url=http://2852039166/')));
    assert.ok(lines.some((l) => l.includes('0xa9fea9fe')));
    assert.ok(lines.some((l) => l.includes('[::ffff:a9fe:a9fe]')));
    assert.ok(lines.some((l) => /X-Amz-Credential=ASIA[A-Z2-7]{16}%2F\d{8}%2F[a-z0-9-]+%2Fs3%2Faws4_request/.test(l)));
  });

  it('scales background traffic to the requested number of events (±5%)', async () => {
    const run = await simulateOrganisation({
      out: join(work, 'scaled'),
      seed: 3,
      accounts: 2,
      instances: 10,
      hours: 2,
      events: 50_000,
    });
    assert.ok(Math.abs(run.events - 50_000) / 50_000 <= 0.05, `${run.events} events`);
    assert.ok(Math.abs(small.summary.events - 3000) / 3000 <= 0.05, `${small.summary.events} events`);
  });

  it('rejects impossible options', async () => {
    await assert.rejects(simulateOrganisation({ out: join(work, 'bad'), accounts: 1 }), /accounts/);
    await assert.rejects(simulateOrganisation({ out: join(work, 'bad'), hours: 0.5 }), /hours/);
    await assert.rejects(simulateOrganisation({ out: join(work, 'bad'), start: 'yesterday' }), /start/);
  });
});
