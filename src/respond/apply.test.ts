// No IAM or EC2 server exists locally (no emulator is installed here), so these tests run --apply against
// in-memory fakes of the two clients that behave like the APIs: GetRolePolicy returns URL-encoded documents
// and throws NoSuchEntity, ModifyInstanceMetadataOptions answers "pending", every answer has a request id.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AwsError, UsageError } from '../errors.js';
import {
  applyContainmentPlan,
  loadContainmentClients,
  type ContainmentClients,
  type MetadataOptionsLike,
  type StepResult,
} from './apply.js';
import { revokePolicyDocument } from './commands.js';
import { buildContainmentPlan, type ContainInput } from './plan.js';
import { instanceRevokeStatement, policyDocumentJson } from './policy.js';

// As src/cli/main.ts does: the SDK's Node version notice says nothing about these tests.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const NOW = new Date('2025-01-15T12:00:00.000Z');
const CUTOFF = '2025-01-15T11:30:00.000Z';
const INSTANCE = 'i-0abc123def4567890';
const ROLE_ID = 'AROAEXAMPLEROLEID0001';

class AwsFault extends Error {
  readonly $metadata: { httpStatusCode: number; requestId: string };
  constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status, requestId: `req-${name}` };
  }
}

interface FakeOptions {
  path?: string;
  arn?: string;
  policy?: string;
  metadata?: MetadataOptionsLike;
  state?: string;
  /** Operation → error it throws. */
  failures?: Record<string, AwsFault>;
}

/** In-memory IAM and EC2 holding one role and one instance; `calls` lists every call in order. */
function fakeAws(options: FakeOptions = {}) {
  const calls: string[] = [];
  const inputs: Record<string, unknown>[] = [];
  let policy = options.policy;
  let metadata: MetadataOptionsLike = options.metadata ?? {
    State: 'applied',
    HttpTokens: 'optional',
    HttpPutResponseHopLimit: 2,
    HttpEndpoint: 'enabled',
  };
  let requests = 0;
  const answer = async <T>(operation: string, input: Record<string, unknown>, result: () => T) => {
    calls.push(operation);
    inputs.push(input);
    const failure = options.failures?.[operation];
    if (failure) throw failure;
    return { ...result(), $metadata: { httpStatusCode: 200, requestId: `req-${++requests}` } };
  };
  const regions: string[] = [];
  const clients: ContainmentClients = {
    iam: {
      getRole: (input) =>
        answer('iam:GetRole', input, () => ({
          Role: {
            RoleName: input.RoleName,
            RoleId: ROLE_ID,
            Path: options.path ?? '/',
            Arn: options.arn ?? `arn:aws:iam::123456789012:role${options.path ?? '/'}${input.RoleName}`,
          },
        })),
      getRolePolicy: async (input) => {
        if (policy === undefined && !options.failures?.['iam:GetRolePolicy']) {
          calls.push('iam:GetRolePolicy');
          inputs.push(input);
          throw new AwsFault('NoSuchEntity', `The role policy with name ${input.PolicyName} cannot be found.`, 404);
        }
        return answer('iam:GetRolePolicy', input, () => ({ PolicyDocument: encodeURIComponent(policy!) }));
      },
      putRolePolicy: (input) =>
        answer('iam:PutRolePolicy', input, () => {
          policy = input.PolicyDocument;
          return {};
        }),
    },
    ec2: (region) => {
      regions.push(region);
      return {
        describeInstances: (input) =>
          answer('ec2:DescribeInstances', input, () => ({
            Reservations: [
              {
                Instances: [
                  { InstanceId: INSTANCE, State: { Name: options.state ?? 'running' }, MetadataOptions: metadata },
                ],
              },
            ],
          })),
        modifyInstanceMetadataOptions: (input) =>
          answer('ec2:ModifyInstanceMetadataOptions', input, () => {
            metadata = {
              State: 'pending',
              HttpTokens: input.HttpTokens,
              HttpPutResponseHopLimit: input.HttpPutResponseHopLimit,
              HttpEndpoint: input.HttpEndpoint,
            };
            return { InstanceId: input.InstanceId, InstanceMetadataOptions: metadata };
          }),
      };
    },
  };
  return { clients, calls, inputs, regions, policy: () => policy, metadata: () => metadata };
}

function plan(overrides: Partial<ContainInput> = {}) {
  return buildContainmentPlan({
    role: 'web-app-role',
    instanceId: INSTANCE,
    region: 'us-east-1',
    accountId: '123456789012',
    issuedBefore: CUTOFF,
    now: NOW,
    ...overrides,
  });
}

const WRITES = new Set(['iam:PutRolePolicy', 'ec2:ModifyInstanceMetadataOptions']);

describe('applyContainmentPlan', () => {
  it('makes exactly the expected calls, in order: the revoke is written before the instance is touched', async () => {
    const aws = fakeAws();
    const results = await applyContainmentPlan(plan(), aws.clients, { now: () => NOW });
    assert.deepEqual(aws.calls, [
      'iam:GetRole',
      'iam:GetRolePolicy',
      'iam:PutRolePolicy',
      'ec2:DescribeInstances',
      'ec2:ModifyInstanceMetadataOptions',
    ]);
    assert.equal(aws.policy(), revokePolicyDocument(CUTOFF));
    assert.deepEqual(aws.inputs[4], {
      InstanceId: INSTANCE,
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 1,
      HttpEndpoint: 'enabled',
    });
    assert.deepEqual(aws.regions, ['us-east-1']);
    assert.deepEqual(
      results.map((r) => [r.step, r.outcome]),
      [
        ['revoke', 'applied'],
        ['close-path', 'applied'],
      ],
    );
    assert.deepEqual(
      results[0]!.calls.map((c) => [c.operation, c.requestId, c.httpStatusCode]),
      [
        ['GetRole', 'req-1', 200],
        ['GetRolePolicy', 'req-NoSuchEntity', 404],
        ['PutRolePolicy', 'req-2', 200],
      ],
    );
    assert.match(
      results[1]!.summary,
      /now requires IMDSv2 with hop limit 1; it was optional with hop limit 2 \(pending/,
    );
  });

  it('is idempotent: applying the same plan again reads the state and writes nothing', async () => {
    const aws = fakeAws();
    const p = plan();
    await applyContainmentPlan(p, aws.clients);
    const firstWrites = aws.calls.filter((c) => WRITES.has(c)).length;
    aws.calls.length = 0;
    const again = await applyContainmentPlan(p, aws.clients);
    assert.equal(firstWrites, 2);
    assert.deepEqual(aws.calls, ['iam:GetRole', 'iam:GetRolePolicy', 'ec2:DescribeInstances']);
    assert.deepEqual(
      again.map((r) => r.outcome),
      ['unchanged', 'unchanged'],
    );
  });

  it('merges with the policy already on the role: other statements stay, the later cutoff wins', async () => {
    const keep = { Sid: 'KeepMe', Effect: 'Deny', Action: 's3:DeleteBucket', Resource: '*' };
    const earlier = policyDocumentJson([
      keep,
      {
        Effect: 'Deny',
        Action: ['*'],
        Resource: ['*'],
        Condition: { DateLessThan: { 'aws:TokenIssueTime': '2025-01-01T00:00:00Z' } },
      },
    ]);
    const aws = fakeAws({ policy: earlier });
    await applyContainmentPlan(plan(), aws.clients);
    const statements = JSON.parse(aws.policy()!).Statement;
    assert.deepEqual(statements[0], keep);
    assert.equal(statements[1].Condition.DateLessThan['aws:TokenIssueTime'], CUTOFF);
    assert.equal(statements.length, 2);

    const later = fakeAws({ policy: revokePolicyDocument('2025-01-15T11:55:00.000Z') });
    const results = await applyContainmentPlan(plan(), later.clients);
    assert.ok(!later.calls.includes('iam:PutRolePolicy'), 'a later cutoff already there is kept');
    assert.equal(results[0]!.outcome, 'unchanged');
    assert.equal(later.policy(), revokePolicyDocument('2025-01-15T11:55:00.000Z'));
  });

  it('--narrow: denies the instance with the role id GetRole returned', async () => {
    const aws = fakeAws();
    await applyContainmentPlan(plan({ narrow: true }), aws.clients);
    assert.equal(aws.policy(), policyDocumentJson([instanceRevokeStatement(ROLE_ID, INSTANCE, CUTOFF)]));
  });

  it('refuses a service-linked role before any write, whether the plan or GetRole says so', async () => {
    const known = fakeAws();
    await assert.rejects(
      applyContainmentPlan(
        plan({ role: 'arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS' }),
        known.clients,
      ),
      (error: unknown) => error instanceof UsageError && /service-linked role/.test(error.message),
    );
    assert.deepEqual(known.calls, []);

    const discovered = fakeAws({ path: '/aws-service-role/elasticbeanstalk.amazonaws.com/' });
    const reported: StepResult[] = [];
    await assert.rejects(
      applyContainmentPlan(plan({ role: 'beanstalk-role' }), discovered.clients, { onStep: (r) => reported.push(r) }),
      (error: unknown) =>
        error instanceof UsageError && /service-linked role .*nothing was changed/.test(error.message),
    );
    assert.deepEqual(discovered.calls, ['iam:GetRole']);
    assert.equal(reported[0]?.outcome, 'failed');
  });

  it('refuses credentials of another account before any write', async () => {
    const aws = fakeAws({ arn: 'arn:aws:iam::999999999999:role/web-app-role' });
    await assert.rejects(applyContainmentPlan(plan(), aws.clients), /account 999999999999, not 123456789012/);
    assert.ok(!aws.calls.some((c) => WRITES.has(c)), 'no write');
  });

  it('a denied revoke stops there: the instance is not touched, and the step is reported before the error', async () => {
    const aws = fakeAws({ failures: { 'iam:PutRolePolicy': new AwsFault('AccessDenied', 'not authorized', 403) } });
    const reported: StepResult[] = [];
    await assert.rejects(
      applyContainmentPlan(plan(), aws.clients, { onStep: (r) => reported.push(r) }),
      (error: unknown) =>
        error instanceof AwsError &&
        /iam:PutRolePolicy denied/.test(error.message) &&
        /allow iam:PutRolePolicy/.test(error.hint ?? ''),
    );
    assert.ok(!aws.calls.some((c) => c.startsWith('ec2:')), 'no EC2 call');
    assert.equal(reported.length, 1);
    assert.equal(reported[0]!.outcome, 'failed');
    assert.match(reported[0]!.calls.at(-1)!.error ?? '', /AccessDenied/);
  });

  it('leaves an instance alone when IMDSv2 is already required at that hop limit, disabled, or terminated', async () => {
    for (const [options, outcome] of [
      [{ metadata: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' } }, 'unchanged'],
      [{ metadata: { HttpTokens: 'optional', HttpPutResponseHopLimit: 1, HttpEndpoint: 'disabled' } }, 'skipped'],
      [{ state: 'terminated' }, 'skipped'],
    ] as const) {
      const aws = fakeAws(options);
      const results = await applyContainmentPlan(plan(), aws.clients);
      assert.ok(!aws.calls.includes('ec2:ModifyInstanceMetadataOptions'), JSON.stringify(options));
      assert.equal(results[1]!.outcome, outcome);
    }
    const tooHigh = fakeAws({
      metadata: { HttpTokens: 'required', HttpPutResponseHopLimit: 3, HttpEndpoint: 'enabled' },
    });
    await applyContainmentPlan(plan(), tooHigh.clients);
    assert.ok(tooHigh.calls.includes('ec2:ModifyInstanceMetadataOptions'), 'a hop limit above the plan is lowered');
  });

  it('an unknown instance is an error with a hint, after the revoke was done and reported', async () => {
    const aws = fakeAws({
      failures: { 'ec2:DescribeInstances': new AwsFault('InvalidInstanceID.NotFound', 'does not exist', 400) },
    });
    const reported: StepResult[] = [];
    await assert.rejects(
      applyContainmentPlan(plan(), aws.clients, { onStep: (r) => reported.push(r) }),
      (error: unknown) => error instanceof AwsError && /--instance and --region/.test(error.hint ?? ''),
    );
    assert.deepEqual(
      reported.map((r) => [r.step, r.outcome]),
      [
        ['revoke', 'applied'],
        ['close-path', 'failed'],
      ],
    );
  });

  it('never deletes: the real clients it builds expose only reads, PutRolePolicy and ModifyInstanceMetadataOptions', async () => {
    // Building SDK clients makes no request; nothing here is sent.
    const real = await loadContainmentClients({ region: 'us-east-1' });
    try {
      assert.deepEqual(Object.keys(real.iam).sort(), ['getRole', 'getRolePolicy', 'putRolePolicy']);
      assert.deepEqual(Object.keys(real.ec2('us-east-1')).sort(), [
        'describeInstances',
        'modifyInstanceMetadataOptions',
      ]);
    } finally {
      real.destroy();
    }
  });
});

describe('applyContainmentPlan: the instance identity credential', () => {
  it('revokes the instance profile role and requires IMDSv2; no IAM call ever names aws:ec2-instance', async () => {
    const aws = fakeAws();
    const p = plan({ role: 'aws:ec2-instance', instanceRole: 'EC2DatabaseConnection' });
    const results = await applyContainmentPlan(p, aws.clients, { now: () => NOW });
    assert.deepEqual(aws.calls, [
      'iam:GetRole',
      'iam:GetRolePolicy',
      'iam:PutRolePolicy',
      'ec2:DescribeInstances',
      'ec2:ModifyInstanceMetadataOptions',
    ]);
    for (const input of aws.inputs) assert.notEqual(input['RoleName'], 'aws:ec2-instance');
    assert.equal(aws.inputs[2]!['RoleName'], 'EC2DatabaseConnection');
    assert.deepEqual(
      results.map((r) => [r.step, r.outcome]),
      [
        ['revoke', 'applied'],
        ['close-path', 'applied'],
      ],
    );
    // Idempotent like the ordinary plan: a second run reads and writes nothing.
    const again = await applyContainmentPlan(p, aws.clients, { now: () => NOW });
    assert.deepEqual(
      again.map((r) => [r.step, r.outcome]),
      [
        ['revoke', 'unchanged'],
        ['close-path', 'unchanged'],
      ],
    );
  });

  it('without the profile role: the revoke is skipped and recorded, the path is still closed', async () => {
    const aws = fakeAws();
    const steps: StepResult[] = [];
    const results = await applyContainmentPlan(plan({ role: 'aws:ec2-instance' }), aws.clients, {
      now: () => NOW,
      onStep: (r) => steps.push(r),
    });
    assert.deepEqual(aws.calls, ['ec2:DescribeInstances', 'ec2:ModifyInstanceMetadataOptions']);
    assert.deepEqual(
      results.map((r) => [r.step, r.outcome]),
      [
        ['revoke', 'skipped'],
        ['close-path', 'applied'],
      ],
    );
    assert.match(results[0]!.summary, /not known.*cannot be revoked/);
    assert.equal(steps.length, 2, 'the skipped step is reported too');
  });

  it('refuses any IAM write to aws:ec2-instance, whatever the plan says, before any call', async () => {
    const aws = fakeAws();
    const forged = plan();
    forged.target.roleName = 'aws:ec2-instance';
    await assert.rejects(applyContainmentPlan(forged, aws.clients, { now: () => NOW }), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /never writes an IAM policy to aws:ec2-instance/);
      return true;
    });
    assert.deepEqual(aws.calls, []);
  });
});
