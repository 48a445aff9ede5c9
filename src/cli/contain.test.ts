// No IAM or EC2 server exists locally, so --apply runs against in-memory fakes of the two clients
// (apply.test.ts holds them to the APIs' behaviour). The dry-run tests also point the real SDK at a
// local HTTP server that counts requests, to show that a dry run sends none.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AwsError, InputError, UsageError } from '../errors.js';
import { sampleFinding } from '../report/sample-findings.test-helpers.js';
import type { ContainmentClients, MetadataOptionsLike } from '../respond/apply.js';
import { instanceResponseCommands, revokePolicyDocument } from '../respond/commands.js';
import { openStore } from '../store/store.js';
import { registerContain, runContain, type ContainCliOptions, type ContainDeps } from './contain.js';
import { runCommandInProcess } from './run-command.test-helpers.js';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const NOW = new Date('2025-01-15T12:00:00.000Z');
const CUTOFF = '2025-01-15T11:30:00.000Z';
const INSTANCE = 'i-0abc123def4567890';
const ROLE_ID = 'AROAEXAMPLEROLEID0001';

let dir: string;
let files = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'offbox-contain-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function tempFile(name: string): string {
  return join(dir, `${++files}-${name}`);
}

/** Runs offbox contain with OPTIONS, the plan written to a file; returns the plan text and stderr. */
async function contain(
  options: ContainCliOptions,
  deps: ContainDeps = {},
): Promise<{ output: string; stderr: string }> {
  const output = tempFile('plan');
  const write = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    await runContain({ format: 'text', output, ...options }, { now: () => NOW, ...deps });
  } finally {
    process.stderr.write = write;
  }
  return { output: existsSync(output) ? readFileSync(output, 'utf8') : '', stderr };
}

const noClients: ContainDeps['clients'] = async () => assert.fail('a dry run must not even build an AWS client');

/** In-memory IAM and EC2 (one role, one instance), recording every call in order. */
function fakeAws() {
  const calls: string[] = [];
  let policy: string | undefined;
  let metadata: MetadataOptionsLike = { HttpTokens: 'optional', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' };
  let requests = 0;
  const ok = <T>(operation: string, value: T) => {
    calls.push(operation);
    return Promise.resolve({ ...value, $metadata: { httpStatusCode: 200, requestId: `req-${++requests}` } });
  };
  const clients: ContainmentClients = {
    iam: {
      getRole: (input) =>
        ok('iam:GetRole', {
          Role: {
            RoleName: input.RoleName,
            RoleId: ROLE_ID,
            Path: '/',
            Arn: `arn:aws:iam::123456789012:role/${input.RoleName}`,
          },
        }),
      getRolePolicy: () => {
        if (policy !== undefined) return ok('iam:GetRolePolicy', { PolicyDocument: encodeURIComponent(policy) });
        calls.push('iam:GetRolePolicy');
        return Promise.reject(
          Object.assign(new Error('cannot be found'), {
            name: 'NoSuchEntity',
            $metadata: { httpStatusCode: 404, requestId: `req-${++requests}` },
          }),
        );
      },
      putRolePolicy: (input) => {
        policy = input.PolicyDocument;
        return ok('iam:PutRolePolicy', {});
      },
    },
    ec2: () => ({
      describeInstances: () =>
        ok('ec2:DescribeInstances', {
          Reservations: [
            { Instances: [{ InstanceId: INSTANCE, State: { Name: 'running' }, MetadataOptions: metadata }] },
          ],
        }),
      modifyInstanceMetadataOptions: (input) => {
        metadata = {
          State: 'pending',
          HttpTokens: input.HttpTokens,
          HttpPutResponseHopLimit: input.HttpPutResponseHopLimit,
          HttpEndpoint: 'enabled',
        };
        return ok('ec2:ModifyInstanceMetadataOptions', { InstanceMetadataOptions: metadata });
      },
    }),
  };
  let built = 0;
  return {
    calls,
    policy: () => policy,
    built: () => built,
    deps: {
      clients: async () => {
        built += 1;
        return clients;
      },
    } satisfies ContainDeps,
  };
}

const BASE: ContainCliOptions = {
  role: 'web-app-role',
  instance: INSTANCE,
  region: 'us-east-1',
  account: '123456789012',
};

/** A store holding one finding of a stolen instance credential (and, optionally, more). */
function seededStore(...extra: ReturnType<typeof sampleFinding>[]): string {
  const file = tempFile('store.db');
  const store = openStore(file);
  try {
    store.upsertFindings([
      sampleFinding({
        id: 'f-stolen',
        detector: 'instance-credential-outside-aws',
        accountId: '123456789012',
        principal: {
          role: 'web-app-role',
          roleArn: 'arn:aws:iam::123456789012:role/web-app-role',
          instanceId: INSTANCE,
        },
        response: {
          commands: instanceResponseCommands({
            roleName: 'web-app-role',
            accountId: '123456789012',
            instanceId: INSTANCE,
            region: 'eu-west-1',
          }),
        },
      }),
      ...extra,
    ]);
  } finally {
    store.close();
  }
  return file;
}

describe('offbox contain: dry run', () => {
  it('prints the plan and makes no AWS call at all — no client is even built', async () => {
    const { output, stderr } = await contain(BASE, { clients: noClients });
    assert.match(output, /^offbox contain — DRY RUN: nothing has been changed/);
    assert.match(output, /Step 1\. Revoke every session of role web-app-role/);
    assert.match(output, /Step 2\. Close the path: require IMDSv2 with hop limit 1 on i-0abc123def4567890/);
    assert.match(output, /Step 3\. Verify/);
    assert.match(stderr, /dry run: nothing was changed and no AWS call was made/);
  });

  describe('with the real SDK pointed at a local server', () => {
    let server: Server;
    let requests = 0;
    const saved: Record<string, string | undefined> = {};
    const env: Record<string, string> = {
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE000000000',
      AWS_SECRET_ACCESS_KEY: 'example-secret',
      AWS_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/nonexistent/offbox-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/offbox-credentials',
      AWS_MAX_ATTEMPTS: '1',
    };
    before(async () => {
      server = createServer((request, response) => {
        requests += 1;
        request.resume();
        // IAM's query protocol error shape: the SDK reads it as AccessDenied and does not retry.
        response.writeHead(403, { 'content-type': 'text/xml', 'x-amzn-requestid': 'local-1' });
        response.end(
          '<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>local test server</Message></Error><RequestId>local-1</RequestId></ErrorResponse>',
        );
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      env['AWS_ENDPOINT_URL'] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      for (const [key, value] of Object.entries(env)) {
        saved[key] = process.env[key];
        process.env[key] = value;
      }
      delete process.env['AWS_PROFILE'];
    });
    after(async () => {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await new Promise((resolve) => server.close(resolve));
    });

    it('a dry run sends nothing; the same options with --apply would reach it (the control)', async () => {
      await contain(BASE);
      await contain({ ...BASE, format: 'markdown' });
      assert.equal(requests, 0, 'a dry run made an AWS request');
      await assert.rejects(
        contain({ ...BASE, apply: true, yes: true }),
        (error: unknown) => error instanceof AwsError && /iam:GetRole denied/.test(error.message),
      );
      assert.ok(requests > 0, 'the control reached the local server');
    });
  });

  it('takes role, instance, account and region from a stored finding, and links an SSRF finding of the instance', async () => {
    const ssrf = sampleFinding({
      id: 'f-ssrf',
      detector: 'imds-ssrf-attempt',
      title: 'Metadata service SSRF attempt',
      principal: { role: '', roleArn: '', instanceId: INSTANCE },
    });
    const db = seededStore(ssrf);
    const { output } = await contain({ finding: 'f-stolen', db, format: 'json' }, { clients: noClients });
    const document = JSON.parse(output);
    assert.equal(document.mode, 'dry-run');
    const target = document.plan.target;
    assert.equal(target.roleName, 'web-app-role');
    assert.equal(target.roleArn, 'arn:aws:iam::123456789012:role/web-app-role');
    assert.equal(target.instanceId, INSTANCE);
    assert.equal(target.accountId, '123456789012');
    assert.equal(target.region, 'eu-west-1');
    assert.equal(document.plan.evidence.findingId, 'f-stolen');
    assert.equal(document.plan.evidence.firstSeen, '2025-01-15T10:00:00Z');
    assert.deepEqual(
      document.plan.related.map((r: { id: string }) => r.id),
      ['f-ssrf'],
    );
  });

  it('refuses options that contradict the finding, an unknown finding, and --finding without a store', async () => {
    const db = seededStore();
    await assert.rejects(
      contain({ finding: 'f-stolen', db, instance: 'i-0fedcba9876543210' }),
      /--instance .* contradicts finding f-stolen/,
    );
    await assert.rejects(
      contain({ finding: 'f-nope', db }),
      (e: unknown) => e instanceof UsageError && /no finding/.test(e.message),
    );
    await assert.rejects(contain({ finding: 'f-stolen' }), UsageError);
    await assert.rejects(contain({ finding: 'f-stolen', db: join(dir, 'missing.db') }), InputError);
    await assert.rejects(contain({}), /needs --role or --finding/);
    await assert.rejects(contain({ ...BASE, format: 'csv' }), /--format csv is not known for contain/);
    await assert.rejects(contain({ ...BASE, hopLimit: '3' }), /--hop-limit 3 is not 1 or 2/);
  });

  it('escapes and quotes hostile strings from a stored finding, and --apply refuses them', async () => {
    const marker = join(dir, 'pwned');
    const hostileRole = `x'$(touch ${marker})'|y`;
    const db = seededStore(
      sampleFinding({
        id: 'f-hostile',
        title: 'Evil \x1b[31mtitle\u202e',
        principal: { role: hostileRole, roleArn: '', instanceId: INSTANCE },
      }),
    );
    for (const format of ['text', 'markdown', 'json']) {
      const { output } = await contain({ finding: 'f-hostile', db, format }, { clients: noClients });
      assert.ok(!output.includes('\x1b') && !output.includes('\u202e'), `${format} carries a raw control character`);
      if (format === 'markdown') {
        // Shown, not obeyed: markdown escaping on top of the visible escape (renders as Evil \x1b[31mtitle\u202e).
        assert.ok(output.includes('Evil \\\\x1b\\[31mtitle\\\\u202e'), 'the title is shown escaped');
        assert.match(output, /\| Role \| ``?x'\$\(touch [^|]*\)'\\\|y``? \|/, 'the | in the name cannot end the cell');
      }
    }
    const { output } = await contain({ finding: 'f-hostile', db }, { clients: noClients });
    const put = output
      .split('\n')
      .find((line) => line.trim().startsWith('aws iam put-role-policy'))!
      .trim();
    const printed = execFileSync('/bin/sh', ['-c', `aws() { printf '%s\\n' "$@"; }; ${put}`])
      .toString()
      .split('\n');
    assert.ok(printed.includes(hostileRole), 'the role name reaches aws as one argument');
    assert.equal(existsSync(marker), false, 'nothing in the name ran');

    const aws = fakeAws();
    await assert.rejects(
      contain({ finding: 'f-hostile', db, apply: true, yes: true }, aws.deps),
      /--apply refuses role name/,
    );
    assert.equal(aws.built(), 0);
  });

  it('writes a markdown incident runbook: summary, timeline from the finding, steps, rollback, references', async () => {
    const db = seededStore();
    const { output } = await contain(
      { finding: 'f-stolen', db, format: 'markdown', issuedBefore: CUTOFF },
      { clients: noClients },
    );
    // Comment lines in the shell blocks start with '# ' and a lower-case word; headings do not.
    const headings = output.split('\n').filter((line) => /^#+ [A-Z]/.test(line));
    assert.deepEqual(headings, [
      '# Containment runbook: role `web-app-role` — instance `i-0abc123def4567890`',
      '## Summary',
      '## Timeline',
      '## Step 1 — Revoke every session of role web-app-role issued before 2025-01-15T11:30:00.000Z',
      '## Step 2 — Close the path: require IMDSv2 with hop limit 1 on i-0abc123def4567890',
      '## Step 3 — Verify: the policy and IMDSv2 hold, and the stolen key is refused',
      '## Rollback',
      '## References',
    ]);
    assert.match(output, /^> Dry run: nothing has been changed\./m);
    assert.match(output, /\| Finding \| `f-stolen` instance-credential-outside-aws \(high\): /);
    assert.match(
      output,
      /\| 2025-01-15T10:00:00Z \| First use of the stolen credential from 203\.0\.113\.7 \(finding f-stolen\) \|/,
    );
    assert.match(output, /\| _\(fill in\)_ \| Sessions issued before 2025-01-15T11:30:00\.000Z revoked/);
    assert.ok(
      output.includes(`--policy-document '${revokePolicyDocument(CUTOFF)}'`),
      'the exact policy in the command',
    );
    assert.ok(output.includes('```json\n{\n    "Version": "2012-10-17",'), 'the console-shaped policy');
    assert.match(output, /\*\*Trade-offs\*\*/);
    assert.match(output, /\*\*What the results mean\*\*/);
    assert.match(
      output,
      /https:\/\/docs\.aws\.amazon\.com\/IAM\/latest\/UserGuide\/id_roles_use_revoke-sessions\.html/,
    );
  });

  it('is registered as offbox contain', async () => {
    const output = tempFile('registered');
    const { code, stderr } = await runCommandInProcess(registerContain, 'contain', [
      '--role',
      'web-app-role',
      '-o',
      output,
    ]);
    assert.equal(code, undefined);
    assert.match(stderr, /dry run/);
    assert.match(readFileSync(output, 'utf8'), /DRY RUN/);
  });
});

describe('offbox contain --apply', () => {
  it('refuses without a terminal to confirm on, unless --yes', async () => {
    const aws = fakeAws();
    await assert.rejects(
      contain({ ...BASE, apply: true }, { ...aws.deps, interactive: false }),
      (error: unknown) => error instanceof UsageError && /--yes/.test(error.hint ?? ''),
    );
    assert.equal(aws.built(), 0);
    await assert.rejects(contain({ ...BASE, yes: true }), /--yes only confirms --apply/);
  });

  it('asks on a terminal, listing exactly what it will change; "no" changes nothing', async () => {
    const aws = fakeAws();
    let asked = '';
    const { stderr } = await contain(
      { ...BASE, apply: true, issuedBefore: CUTOFF },
      { ...aws.deps, interactive: true, confirm: async (question) => ((asked = question), false) },
    );
    assert.match(
      asked,
      /iam:PutRolePolicy AWSRevokeOlderSessions on role web-app-role: deny every session issued before 2025-01-15T11:30:00.000Z/,
    );
    assert.match(
      asked,
      /ec2:ModifyInstanceMetadataOptions on i-0abc123def4567890 in us-east-1: HttpTokens=required, hop limit 1/,
    );
    assert.match(stderr, /not confirmed: nothing was changed/);
    assert.equal(aws.built(), 0);
  });

  it('performs the revoke then IMDSv2, records each step in the store and on stderr, and a repeat writes nothing', async () => {
    const db = seededStore();
    const aws = fakeAws();
    const options: ContainCliOptions = {
      finding: 'f-stolen',
      db,
      apply: true,
      yes: true,
      issuedBefore: CUTOFF,
      actor: 'alice',
      format: 'json',
    };
    const first = await contain(options, aws.deps);
    assert.deepEqual(aws.calls, [
      'iam:GetRole',
      'iam:GetRolePolicy',
      'iam:PutRolePolicy',
      'ec2:DescribeInstances',
      'ec2:ModifyInstanceMetadataOptions',
    ]);
    assert.equal(aws.policy(), revokePolicyDocument(CUTOFF));
    assert.match(first.stderr, /revoke: applied — put AWSRevokeOlderSessions on role web-app-role/);
    assert.match(first.stderr, /close-path: applied — i-0abc123def4567890 now requires IMDSv2/);
    const document = JSON.parse(first.output);
    assert.equal(document.mode, 'apply');
    assert.equal(document.appliedBy, 'alice');
    assert.deepEqual(
      document.results.map((r: { outcome: string }) => r.outcome),
      ['applied', 'applied'],
    );

    aws.calls.length = 0;
    const second = await contain(options, aws.deps);
    assert.deepEqual(aws.calls, ['iam:GetRole', 'iam:GetRolePolicy', 'ec2:DescribeInstances']);
    assert.match(second.stderr, /revoke: unchanged/);

    const store = openStore(db);
    try {
      const audit = store.listAudit('f-stolen');
      assert.deepEqual(
        audit.map((a) => [a.actor, a.action, (a.detail as { outcome: string }).outcome]),
        [
          ['alice', 'contain:revoke', 'applied'],
          ['alice', 'contain:close-path', 'applied'],
          ['alice', 'contain:revoke', 'unchanged'],
          ['alice', 'contain:close-path', 'unchanged'],
        ],
      );
      const revoke = audit[0]!.detail as {
        calls: { operation: string; requestId: string }[];
        after: string;
        issuedBefore: string;
      };
      assert.deepEqual(
        revoke.calls.map((c) => c.operation),
        ['GetRole', 'GetRolePolicy', 'PutRolePolicy'],
      );
      assert.deepEqual(
        revoke.calls.map((c) => c.requestId),
        ['req-1', 'req-2', 'req-3'],
      );
      assert.equal(revoke.after, revokePolicyDocument(CUTOFF));
      assert.equal(revoke.issuedBefore, CUTOFF);
    } finally {
      store.close();
    }
  });

  it('with the default cutoff, revokes sessions issued before the moment of confirmation and says how to repeat it', async () => {
    const aws = fakeAws();
    let clock = NOW.getTime();
    const { stderr } = await contain(
      { ...BASE, apply: true },
      {
        ...aws.deps,
        interactive: true,
        now: () => new Date(clock),
        confirm: async () => {
          clock += 5 * 60_000;
          return true;
        },
      },
    );
    const confirmedAt = new Date(NOW.getTime() + 5 * 60_000).toISOString();
    assert.equal(aws.policy(), revokePolicyDocument(confirmedAt));
    assert.match(stderr, new RegExp(`pass --issued-before ${confirmedAt.replace(/[.]/g, '\\.')}`));
  });

  it('the markdown runbook after --apply fills the timeline and lists every AWS call with its request id', async () => {
    const aws = fakeAws();
    const { output } = await contain(
      { ...BASE, apply: true, yes: true, issuedBefore: CUTOFF, format: 'markdown', actor: 'alice' },
      aws.deps,
    );
    assert.match(output, /^> Applied with `offbox contain --apply` by alice\./m);
    assert.match(
      output,
      /\| 2025-01-15T12:00:00\.000Z \| Sessions issued before 2025-01-15T11:30:00\.000Z revoked \(web-app-role\) — applied \|/,
    );
    assert.match(output, /## Actions taken/);
    assert.match(output, /iam:PutRolePolicy `req-3` 200/);
    assert.match(output, /ec2:ModifyInstanceMetadataOptions `req-5` 200/);
  });
});

/** A stored finding on the instance identity credential (as CloudTrail logs it: sessionIssuer …:role/aws:ec2-instance). */
function identityFinding(): ReturnType<typeof sampleFinding> {
  return sampleFinding({
    id: 'f-identity',
    detector: 'instance-credential-outside-aws',
    title: `Instance credential used outside AWS: ${INSTANCE} (aws:ec2-instance) from 35.169.66.138`,
    accountId: '123456789012',
    principal: {
      role: 'aws:ec2-instance',
      roleArn: 'arn:aws:iam::123456789012:role/aws:ec2-instance',
      sessionName: INSTANCE,
      instanceId: INSTANCE,
      accessKeyIds: ['ASIA52GPOBQCD6DF76FQ'],
      credentialKind: 'ec2-instance-identity',
      ec2RoleDelivery: ['1.0'],
    },
    source: { ip: '35.169.66.138', class: 'aws', vpcEndpointId: '', vpcEndpointAccountId: '', owner: '' },
    activity: { actions: ['sts:GetCallerIdentity'], regions: ['us-east-1'] },
    response: {
      commands: instanceResponseCommands({
        roleName: 'aws:ec2-instance',
        accountId: '123456789012',
        instanceId: INSTANCE,
        region: 'us-east-2',
        credentialKind: 'ec2-instance-identity',
      }),
    },
  });
}

/** A store holding only the identity finding. */
function identityStore(): string {
  const file = tempFile('identity.db');
  const store = openStore(file);
  try {
    store.upsertFindings([identityFinding()]);
  } finally {
    store.close();
  }
  return file;
}

describe('offbox contain: the instance identity credential', () => {
  it('--role aws:ec2-instance: no IAM policy on the pseudo-role; says what cannot be revoked; closes, isolates', async () => {
    const { output, stderr } = await contain(
      { role: 'aws:ec2-instance', instance: INSTANCE, region: 'us-east-2', account: '123456789012' },
      { clients: noClients },
    );
    assert.match(
      output,
      /^Stolen: {4}arn:aws:sts::123456789012:assumed-role\/aws:ec2-instance\/i-0abc123def4567890 — the instance identity credential: it cannot be revoked/m,
    );
    assert.match(output, /What cannot be revoked:/);
    assert.match(
      output,
      /Step 1\. Revoke the older sessions of i-0abc123def4567890's instance profile role — find the role first \[not done by --apply: /,
    );
    assert.match(
      output,
      /Step 2\. Close the path: require IMDSv2 with hop limit 1 on i-0abc123def4567890 \[--apply: ec2:ModifyInstanceMetadataOptions\]/,
    );
    assert.match(output, /Step 3\. Isolate i-0abc123def4567890: .*\[not done by --apply: /);
    assert.match(output, /Step 4\. Verify/);
    assert.doesNotMatch(output, /aws iam [a-z-]+ --role-name aws:ec2-instance/);
    assert.match(stderr, /warning: the stolen credential is i-0abc123def4567890's instance identity credential/);

    const markdown = await contain(
      { role: 'aws:ec2-instance', instance: INSTANCE, region: 'us-east-2', format: 'markdown' },
      { clients: noClients },
    );
    const headings = markdown.output.split('\n').filter((line) => /^#+ [A-Z]/.test(line));
    assert.deepEqual(headings.slice(0, 4), [
      '# Containment runbook: instance identity credential — instance `i-0abc123def4567890`',
      '## Summary',
      '## What cannot be revoked',
      '## Timeline',
    ]);
    assert.match(markdown.output, /ec2-instance-identity-roles\.html/);
    const json = JSON.parse(
      (await contain({ role: 'aws:ec2-instance', instance: INSTANCE, format: 'json' }, { clients: noClients })).output,
    );
    assert.equal(json.plan.target.credential, 'instance-identity');
    assert.equal(json.plan.target.roleName, '');
    assert.match(json.plan.identity.cannotRevoke, /aws:ec2-instance/);
  });

  it('--finding on an identity finding: takes the instance profile role from a finding on the same instance', async () => {
    const db = seededStore(identityFinding());
    const { output } = await contain({ finding: 'f-identity', db, format: 'json' }, { clients: noClients });
    const { plan } = JSON.parse(output);
    assert.equal(plan.target.credential, 'instance-identity');
    assert.equal(plan.target.roleName, 'web-app-role');
    assert.equal(plan.target.profileRoleSource, 'finding f-stolen');
    assert.equal(plan.target.region, 'us-east-2', "the finding's own region");
    assert.equal(plan.steps[0].sdkCall.input.RoleName, 'web-app-role');
    assert.deepEqual(
      plan.steps.map((s: { id: string }) => s.id),
      ['revoke', 'close-path', 'isolate', 'verify'],
    );
  });

  it('--apply on an identity finding revokes the profile role, closes the path, never calls IAM on aws:ec2-instance', async () => {
    const db = seededStore(identityFinding());
    const aws = fakeAws();
    const { stderr } = await contain(
      { finding: 'f-identity', db, apply: true, yes: true, issuedBefore: CUTOFF, actor: 'alice' },
      aws.deps,
    );
    assert.deepEqual(aws.calls, [
      'iam:GetRole',
      'iam:GetRolePolicy',
      'iam:PutRolePolicy',
      'ec2:DescribeInstances',
      'ec2:ModifyInstanceMetadataOptions',
    ]);
    assert.match(stderr, /revoke: applied — put AWSRevokeOlderSessions on role web-app-role/);
    const store = openStore(db);
    try {
      const audit = store.listAudit('f-identity');
      assert.deepEqual(
        audit.map((a) => [a.action, (a.detail as { outcome: string; roleName: string; credential: string }).roleName]),
        [
          ['contain:revoke', 'web-app-role'],
          ['contain:close-path', 'web-app-role'],
        ],
      );
      assert.equal((audit[0]!.detail as { credential: string }).credential, 'instance-identity');
    } finally {
      store.close();
    }
  });

  it('--apply without a known profile role: asks only for the EC2 change, skips the revoke, closes the path', async () => {
    const db = identityStore();
    const aws = fakeAws();
    let asked = '';
    const { stderr } = await contain(
      { finding: 'f-identity', db, apply: true },
      { ...aws.deps, interactive: true, confirm: async (question) => ((asked = question), true) },
    );
    assert.match(asked, /nothing on IAM: the role of i-0abc123def4567890's instance profile is not known/);
    assert.doesNotMatch(asked, /iam:PutRolePolicy/);
    assert.deepEqual(aws.calls, ['ec2:DescribeInstances', 'ec2:ModifyInstanceMetadataOptions']);
    assert.match(stderr, /revoke: skipped — /);
  });

  it('refuses the identity role without an instance, and --role NAME that contradicts an identity finding', async () => {
    await assert.rejects(
      contain({ role: 'aws:ec2-instance' }),
      (e: unknown) => e instanceof UsageError && /--instance/.test(e.hint ?? ''),
    );
    await assert.rejects(
      contain({ finding: 'f-identity', db: identityStore(), role: 'web-app-role' }),
      /contradicts finding f-identity/,
    );
  });
});
