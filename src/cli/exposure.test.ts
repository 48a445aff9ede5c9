import assert from 'node:assert/strict';
import { runCommandInProcess } from './run-command.test-helpers.js';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deliveryFile, instanceCall, vendingEvent } from '../cloudtrail/events.test-helpers.js';
import { UsageError } from '../errors.js';
import { openStore } from '../store/store.js';
import { registerExposure } from './exposure.js';

const ACCOUNT = '111122223333';
const SEEN = 'i-0aaaaaaaaaaaaaaa1';
const QUIET = 'i-0aaaaaaaaaaaaaaa2';
const V2 = 'i-0aaaaaaaaaaaaaaa3';

let root: string;

function instanceJson(id: string, profile: string, tokens: string, publicIp = ''): Record<string, unknown> {
  return {
    InstanceId: id,
    State: { Name: 'running' },
    Placement: { AvailabilityZone: 'us-east-1a' },
    VpcId: 'vpc-1',
    PrivateIpAddress: '10.0.0.5',
    ...(publicIp ? { PublicIpAddress: publicIp } : {}),
    IamInstanceProfile: { Arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${profile}` },
    MetadataOptions: {
      HttpTokens: tokens,
      HttpPutResponseHopLimit: 1,
      HttpEndpoint: 'enabled',
      HttpProtocolIpv6: 'disabled',
    },
    Tags: [{ Key: 'Name', Value: `${profile}-host` }],
  };
}

function roleJson(name: string, attached: string[]): Record<string, unknown> {
  return {
    RoleName: name,
    RoleId: `AROA${name.toUpperCase().replace(/\W/g, '')}`,
    Arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
    InstanceProfileList: [{ Arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${name}` }],
    RolePolicyList: [],
    AttachedManagedPolicies: attached.map((PolicyArn) => ({ PolicyArn })),
  };
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'offbox-exposure-'));
  await mkdir(join(root, 'logs'), { recursive: true });
  await mkdir(join(root, 'inventory', ACCOUNT), { recursive: true });
  await writeFile(
    join(root, 'logs', 'trail.json'),
    deliveryFile([
      vendingEvent({ sessionName: SEEN, role: 'admin-role', accessKeyId: 'ASIASEEN000000000001' }),
      instanceCall({
        instanceId: SEEN,
        role: 'admin-role',
        accessKeyId: 'ASIASEEN000000000001',
        ec2RoleDelivery: '1.0',
      }),
      vendingEvent({ sessionName: V2, role: 'admin-role', accessKeyId: 'ASIAV2KEY00000000001' }),
      instanceCall({ instanceId: V2, role: 'admin-role', accessKeyId: 'ASIAV2KEY00000000001', ec2RoleDelivery: '2.0' }),
    ]),
  );
  await writeFile(
    join(root, 'inventory', ACCOUNT, 'ec2-describe-instances.us-east-1.json'),
    JSON.stringify({
      Reservations: [
        {
          OwnerId: ACCOUNT,
          Instances: [
            instanceJson(SEEN, 'admin-role', 'optional', '54.80.0.10'),
            instanceJson(QUIET, 'narrow-role', 'optional'),
            instanceJson(V2, 'admin-role', 'required'),
          ],
        },
      ],
    }),
  );
  await writeFile(
    join(root, 'inventory', ACCOUNT, 'iam-get-account-authorization-details.json'),
    JSON.stringify({
      RoleDetailList: [
        roleJson('admin-role', ['arn:aws:iam::aws:policy/AdministratorAccess']),
        roleJson('narrow-role', []),
      ],
      Policies: [
        {
          PolicyName: 'AdministratorAccess',
          Arn: 'arn:aws:iam::aws:policy/AdministratorAccess',
          DefaultVersionId: 'v1',
          PolicyVersionList: [
            {
              VersionId: 'v1',
              IsDefaultVersion: true,
              Document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
            },
          ],
        },
      ],
    }),
  );
  await writeFile(
    join(root, 'offbox.yaml'),
    `suppress:\n  - detector: imdsv1-credential-delivery\n    match: { instanceId: ${QUIET} }\n    reason: decommissioned next week\n`,
  );
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | undefined; stderr: string }> {
  return runCommandInProcess(registerExposure, 'exposure', args);
}

describe('offbox exposure', () => {
  it('json: ranked findings with roll-ups in meta; exits 0 by default (a backlog)', async () => {
    const out = join(root, 'out.json');
    const { code, stderr } = await run([
      join(root, 'logs'),
      '-i',
      join(root, 'inventory'),
      '--format',
      'json',
      '-o',
      out,
      '--no-progress',
    ]);
    assert.equal(code, 0, stderr);
    const doc = JSON.parse(await readFile(out, 'utf8')) as {
      meta: { command: string; accounts: { instances: number }[]; roles: unknown[] };
      findings: { detector: string; severity: string; principal: { instanceId: string }; exposure: { rank: number } }[];
    };
    assert.equal(doc.meta.command, 'exposure');
    assert.deepEqual(
      doc.findings.map((f) => [f.exposure.rank, f.principal.instanceId, f.severity]),
      [
        [1, SEEN, 'high'],
        [2, QUIET, 'info'],
      ],
    );
    assert.ok(doc.findings.every((f) => f.detector === 'imdsv1-credential-delivery'));
    assert.equal(doc.meta.accounts[0]!.instances, 2);
    assert.match(stderr, /2 instances on the IMDSv1 backlog \(1 high, 1 info; 1 with 1\.0 deliveries seen\)/);
  });

  it('--fail-on high exits 1; suppress rules from --config hide items and say so', async () => {
    const out = join(root, 'out.ndjson');
    const { code, stderr } = await run([
      join(root, 'logs'),
      '-i',
      join(root, 'inventory'),
      '--format',
      'ndjson',
      '-o',
      out,
      '--fail-on',
      'high',
      '--config',
      join(root, 'offbox.yaml'),
      '--no-progress',
    ]);
    assert.equal(code, 1);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(stderr, /suppressed: imdsv1-credential-delivery .* decommissioned next week/);
  });

  it('markdown and table; inventory only (no logs) still lists what allows IMDSv1', async () => {
    const md = join(root, 'plan.md');
    assert.equal(
      (await run(['-i', join(root, 'inventory'), '--format', 'markdown', '-o', md, '--no-progress'])).code,
      0,
    );
    const text = await readFile(md, 'utf8');
    assert.match(text, /^# IMDSv1 migration plan/);
    assert.ok(text.includes(`aws ec2 modify-instance-metadata-options --instance-id ${SEEN}`));
    const table = join(root, 'plan.txt');
    assert.equal((await run([join(root, 'logs'), '--format', 'table', '-o', table, '--no-progress'])).code, 0);
    const t = await readFile(table, 'utf8');
    assert.ok(t.includes(SEEN) && !t.includes(V2));
  });

  it('--db stores the backlog as findings, in rank order, updated in place on the next run', async () => {
    const db = join(root, 'exposure.db');
    const args = [join(root, 'logs'), '-i', join(root, 'inventory'), '-f', 'json', '-o', join(root, 'x.json')];
    for (const stored of ['2 new, 0 updated', '0 new, 2 updated']) {
      const { code, stderr } = await run([...args, '--db', db, '--no-progress']);
      assert.equal(code, 0, stderr);
      assert.ok(stderr.includes(`stored findings in ${db}: ${stored}`), stderr);
    }
    const store = openStore(db);
    try {
      const { total, findings } = store.listFindings({ detector: 'imdsv1-credential-delivery', sort: 'rank' });
      assert.equal(total, 2);
      assert.deepEqual(
        findings.map((f) => [f.principal.instanceId, (f as unknown as { exposure: { rank: number } }).exposure.rank]),
        [
          [SEEN, 1],
          [QUIET, 2],
        ],
      );
      assert.equal(store.getRun(2)?.command, 'exposure');
    } finally {
      store.close();
    }
  });

  it('usage errors: no input at all, unknown format, bad --fail-on', async () => {
    await assert.rejects(run(['--no-progress']), UsageError);
    await assert.rejects(run([join(root, 'logs'), '--format', 'ocsf', '--no-progress']), UsageError);
    await assert.rejects(run([join(root, 'logs'), '--fail-on', 'severe', '--no-progress']), UsageError);
  });
});
