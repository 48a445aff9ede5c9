import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OwnershipMap, type RoleFacts } from '../inventory/ownership.js';
import { assessPolicies, assessRole, tierRank, type PolicySource } from './privilege.js';

const doc = (...Statement: Record<string, unknown>[]) => ({ Version: '2012-10-17', Statement });
const inline = (name: string, ...statements: Record<string, unknown>[]): PolicySource => ({
  name,
  kind: 'inline',
  document: doc(...statements),
});
const managed = (name: string, ...statements: Record<string, unknown>[]): PolicySource => ({
  name,
  kind: 'managed',
  document: doc(...statements),
});
const allow = (Action: unknown, Resource: unknown = '*', extra: object = {}) => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...extra,
});
const deny = (Action: unknown, Resource: unknown = '*', extra: object = {}) => ({
  Effect: 'Deny',
  Action,
  Resource,
  ...extra,
});

const SSM_CORE = managed(
  'AmazonSSMManagedInstanceCore',
  allow(['ssm:GetParameter', 'ssm:GetParameters', 'ssm:UpdateInstanceInformation']),
);

describe('assessPolicies: tiers', () => {
  it('AdministratorAccess attached is admin-equivalent and says so', () => {
    const a = assessPolicies([managed('AdministratorAccess', allow('*'))]);
    assert.equal(a.tier, 'admin-equivalent');
    assert.equal(a.explanation, 'AdministratorAccess attached');
  });

  it('Action * on * in an inline policy names the policy', () => {
    const a = assessPolicies([inline('god', allow(['*']))]);
    assert.equal(a.tier, 'admin-equivalent');
    assert.equal(a.explanation, 'Action * on * via inline policy god');
  });

  it('iam:* plus sts:AssumeRole on * is admin-equivalent', () => {
    const a = assessPolicies([inline('iam-admin', allow('iam:*')), inline('assume', allow('sts:AssumeRole'))]);
    assert.equal(a.tier, 'admin-equivalent');
    assert.match(a.explanation, /iam:\* via inline policy iam-admin \+ sts:AssumeRole on \* via inline policy assume/);
  });

  it('iam:* without sts:AssumeRole on * is escalation, not admin', () => {
    const a = assessPolicies([inline('iam-admin', allow('iam:*'))]);
    assert.equal(a.tier, 'privilege-escalation');
    assert.match(a.explanation, /iam:(AttachRolePolicy|PutRolePolicy) on \* via inline policy iam-admin/);
  });

  it('iam:PassRole + ec2:RunInstances on * in one policy', () => {
    const a = assessPolicies([inline('deploy', allow(['iam:PassRole', 'ec2:RunInstances', 'ec2:Describe*']))]);
    assert.equal(a.tier, 'privilege-escalation');
    assert.equal(a.explanation, 'iam:PassRole + ec2:RunInstances on * via inline policy deploy');
  });

  it('PassRole and lambda:CreateFunction from two policies name both', () => {
    const a = assessPolicies([
      inline('pass', allow('iam:PassRole', 'arn:aws:iam::111122223333:role/*')),
      managed('LambdaDev', allow('lambda:*')),
    ]);
    assert.equal(a.tier, 'privilege-escalation');
    assert.match(
      a.explanation,
      /iam:PassRole on role\/\* via inline policy pass \+ lambda:CreateFunction via managed policy LambdaDev/,
    );
  });

  it('PassRole on one named role is not escalation by itself', () => {
    const a = assessPolicies([
      inline('pass', allow(['iam:PassRole', 'ec2:RunInstances'], ['arn:aws:iam::111122223333:role/app', '*'])),
    ]);
    // The `*` in the same statement widens PassRole too: escalation.
    assert.equal(a.tier, 'privilege-escalation');
    const narrowPass = assessPolicies([
      inline('pass', allow('iam:PassRole', 'arn:aws:iam::111122223333:role/app')),
      inline('run', allow('ec2:RunInstances')),
    ]);
    assert.notEqual(narrowPass.tier, 'privilege-escalation');
  });

  it('wildcard actions: iam:Put* on role/* is escalation', () => {
    const a = assessPolicies([inline('p', allow('iam:Put*', 'arn:aws:iam::111122223333:role/*'))]);
    assert.equal(a.tier, 'privilege-escalation');
    assert.match(a.explanation, /iam:PutRolePolicy on role\/\* via inline policy p/);
  });

  it('iam:CreateAccessKey on user/* and CreatePolicyVersion on * are escalation; on one user is not', () => {
    assert.equal(
      assessPolicies([inline('k', allow('iam:CreateAccessKey', 'arn:aws:iam::1:user/*'))]).tier,
      'privilege-escalation',
    );
    assert.equal(assessPolicies([inline('v', allow('iam:CreatePolicyVersion'))]).tier, 'privilege-escalation');
    assert.equal(assessPolicies([inline('k', allow('iam:CreateAccessKey', 'arn:aws:iam::1:user/bot'))]).tier, 'narrow');
  });

  it('data access: s3:GetObject on *, broad buckets, secrets, ssm, kms, dynamodb', () => {
    assert.equal(assessPolicies([inline('s3', allow('s3:GetObject'))]).tier, 'data-access');
    assert.equal(assessPolicies([inline('s3', allow('s3:*', 'arn:aws:s3:::*'))]).tier, 'data-access');
    assert.equal(assessPolicies([inline('s3', allow('s3:Get*', 'arn:aws:s3:::corp-*/*'))]).tier, 'data-access');
    assert.equal(
      assessPolicies([
        inline('sec', allow('secretsmanager:GetSecretValue', 'arn:aws:secretsmanager:*:1:secret:prod/*')),
      ]).tier,
      'data-access',
    );
    assert.equal(assessPolicies([SSM_CORE]).tier, 'data-access');
    assert.equal(assessPolicies([inline('k', allow('kms:Decrypt'))]).tier, 'data-access');
    assert.equal(
      assessPolicies([inline('d', allow('dynamodb:Scan', 'arn:aws:dynamodb:*:1:table/*'))]).tier,
      'data-access',
    );
    assert.equal(assessPolicies([inline('r', allow('rds-data:ExecuteStatement'))]).tier, 'data-access');
  });

  it('narrow: one bucket, one table, one KMS key, a bare bucket ARN for GetObject', () => {
    const a = assessPolicies([
      inline(
        'app',
        allow(['s3:GetObject', 's3:PutObject'], 'arn:aws:s3:::media-uploads/*'),
        allow('s3:GetObject', 'arn:aws:s3:::reports'),
        allow(['dynamodb:GetItem', 'dynamodb:Query'], 'arn:aws:dynamodb:us-east-1:1:table/orders'),
        allow('kms:Decrypt', 'arn:aws:kms:us-east-1:1:key/1234abcd'),
        allow('sqs:*', 'arn:aws:sqs:*:1:orders-*'),
      ),
    ]);
    assert.equal(a.tier, 'narrow');
    assert.match(a.explanation, /no admin, escalation or broad data permissions in 1 policy/);
  });

  it('the score ranks within a tier: more and wider grants score higher', () => {
    const small = assessPolicies([SSM_CORE]);
    const big = assessPolicies([
      SSM_CORE,
      inline('s3', allow('s3:GetObject')),
      inline('sec', allow('secretsmanager:GetSecretValue')),
    ]);
    assert.equal(big.tier, small.tier);
    assert.ok(big.score > small.score);
    assert.match(
      big.explanation,
      /^secretsmanager:GetSecretValue on \* via inline policy sec; s3:GetObject on \* via inline policy s3 \(\+1 more\)$/,
    );
  });

  it('tierRank orders admin > escalation > data > unknown > narrow', () => {
    const order = ['admin-equivalent', 'privilege-escalation', 'data-access', 'unknown', 'narrow'] as const;
    for (let i = 1; i < order.length; i++) assert.ok(tierRank(order[i - 1]!) > tierRank(order[i]!));
  });
});

describe('assessPolicies: NotAction, Deny, boundaries', () => {
  it('NotAction: PowerUserAccess (everything but iam/organizations) is data access, not admin or escalation', () => {
    const a = assessPolicies([
      managed('PowerUserAccess', {
        Effect: 'Allow',
        NotAction: ['iam:*', 'organizations:*', 'account:*'],
        Resource: '*',
      }),
    ]);
    assert.equal(a.tier, 'data-access');
    assert.ok(a.score > assessPolicies([SSM_CORE]).score);
  });

  it('NotAction that leaves iam open is admin-equivalent (iam:* + sts:AssumeRole)', () => {
    const a = assessPolicies([inline('almost', { Effect: 'Allow', NotAction: 's3:*', Resource: '*' })]);
    assert.equal(a.tier, 'admin-equivalent');
  });

  it('an unconditional Deny on * removes the action', () => {
    const a = assessPolicies([managed('AdministratorAccess', allow('*')), inline('no-iam', deny('iam:*'))]);
    assert.notEqual(a.tier, 'admin-equivalent');
    assert.notEqual(a.tier, 'privilege-escalation');
    assert.equal(a.tier, 'data-access');
  });

  it('Deny with NotAction denies everything else', () => {
    const a = assessPolicies([
      managed('AdministratorAccess', allow('*')),
      inline('only-s3', { Effect: 'Deny', NotAction: 's3:*', Resource: '*' }),
    ]);
    assert.equal(a.tier, 'data-access');
    assert.match(a.explanation, /^s3:GetObject on \*/);
  });

  it('a conditional Deny (AWSRevokeOlderSessions) does not lower the tier, and is noted', () => {
    const a = assessPolicies([
      managed('AdministratorAccess', allow('*')),
      inline(
        'AWSRevokeOlderSessions',
        deny(['*'], ['*'], { Condition: { DateLessThan: { 'aws:TokenIssueTime': '2024-01-01T00:00:00Z' } } }),
      ),
    ]);
    assert.equal(a.tier, 'admin-equivalent');
    assert.ok(a.notes.some((n) => /conditional Deny/.test(n)));
  });

  it('a Deny on one resource leaves a grant on * standing', () => {
    const a = assessPolicies([
      inline('s3', allow('s3:GetObject')),
      inline('d', deny('s3:GetObject', 'arn:aws:s3:::secret-bucket/*')),
    ]);
    assert.equal(a.tier, 'data-access');
  });

  it('a boundary intersects: AdministratorAccess inside an s3-only boundary is data access', () => {
    const a = assessPolicies([managed('AdministratorAccess', allow('*'))], {
      boundary: managed('s3-only', allow('s3:*')),
    });
    assert.equal(a.tier, 'data-access');
    assert.match(a.explanation, /within boundary s3-only/);
  });

  it('a boundary that allows * but denies a few IAM actions keeps admin, and names its denies', () => {
    const a = assessPolicies([managed('AdministratorAccess', allow('*'))], {
      boundary: managed(
        'deploy-boundary',
        allow('*'),
        deny(['iam:CreateUser', 'iam:CreateAccessKey', 'organizations:*']),
      ),
    });
    assert.equal(a.tier, 'admin-equivalent');
    assert.equal(
      a.explanation,
      'AdministratorAccess attached (within boundary deploy-boundary, which denies iam:CreateUser, iam:CreateAccessKey, organizations:*)',
    );
  });

  it('a boundary never widens: a narrow role inside an Allow * boundary stays narrow', () => {
    const a = assessPolicies([inline('one', allow('s3:GetObject', 'arn:aws:s3:::b/*'))], {
      boundary: managed('all', allow('*')),
    });
    assert.equal(a.tier, 'narrow');
  });

  it('tolerates odd documents: a string, a single Statement object, missing fields', () => {
    assert.equal(
      assessPolicies([{ name: 's', kind: 'inline', document: JSON.stringify(doc(allow('*'))) }]).tier,
      'admin-equivalent',
    );
    assert.equal(
      assessPolicies([
        {
          name: 'o',
          kind: 'inline',
          document: { Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' } },
        },
      ]).tier,
      'data-access',
    );
    assert.equal(
      assessPolicies([{ name: 'x', kind: 'inline', document: { Statement: [{ Effect: 'Allow' }, null, 3] } }]).tier,
      'narrow',
    );
    assert.equal(assessPolicies([{ name: 'bad', kind: 'inline', document: '%7Bnot json' }]).tier, 'narrow');
  });
});

function role(name: string, fields: Partial<RoleFacts> = {}): RoleFacts {
  return {
    roleName: name,
    roleId: `AROA${name.toUpperCase()}`,
    arn: `arn:aws:iam::111122223333:role/${name}`,
    accountId: '111122223333',
    instanceProfileArns: [],
    inlinePolicies: {},
    attachedPolicyArns: [],
    permissionsBoundaryArn: '',
    ...fields,
  };
}

describe('assessRole', () => {
  it('unknown without IAM data', () => {
    const a = assessRole(undefined, new OwnershipMap());
    assert.equal(a.tier, 'unknown');
    assert.match(a.explanation, /not in the IAM data/);
  });

  it('reads attached managed default versions and the boundary from the map; AdministratorAccess is known even without its document', () => {
    const map = new OwnershipMap();
    map.managedPolicies.set('arn:aws:iam::111122223333:policy/boundary', {
      arn: 'arn:aws:iam::111122223333:policy/boundary',
      name: 'boundary',
      document: doc(allow('s3:*')),
    });
    const admin = role('admin', { attachedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'] });
    assert.equal(assessRole(admin, map).tier, 'admin-equivalent');
    const bounded = role('bounded', {
      attachedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'],
      permissionsBoundaryArn: 'arn:aws:iam::111122223333:policy/boundary',
    });
    assert.equal(assessRole(bounded, map).tier, 'data-access');
    const missing = role('missing', {
      attachedPolicyArns: ['arn:aws:iam::111122223333:policy/gone'],
      permissionsBoundaryArn: 'arn:aws:iam::111122223333:policy/also-gone',
    });
    const a = assessRole(missing, map);
    assert.equal(a.tier, 'narrow');
    assert.ok(a.notes.some((n) => n.includes('policy/gone not in the IAM data')));
    assert.ok(a.notes.some((n) => n.includes('boundary') && n.includes('not applied')));
  });

  it('sts:AssumeRole on a named admin role of the same data is escalation', () => {
    const map = new OwnershipMap();
    const target = role('platform-admin-role', { attachedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'] });
    const ops = role('ops', {
      inlinePolicies: { ops: doc(allow('sts:AssumeRole', target.arn)) },
    });
    map.roles.set(target.arn.toLowerCase(), target);
    map.roles.set(ops.arn.toLowerCase(), ops);
    const a = assessRole(ops, map);
    assert.equal(a.tier, 'privilege-escalation');
    assert.match(
      a.explanation,
      /sts:AssumeRole on platform-admin-role \(admin-equivalent; its trust policy not checked\) via inline policy ops/,
    );
  });
});
