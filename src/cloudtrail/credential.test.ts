import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { classifyCredential, isInstanceId, parseAssumedRoleArn } from './credential.js';
import { normaliseRecord, type CloudTrailEvent } from './event.js';
import { instanceCall, vendingEvent } from './events.test-helpers.js';
import { extractVending, VendingIndex } from './vending.js';

function event(record: Record<string, unknown>): CloudTrailEvent {
  const normalised = normaliseRecord(record);
  assert.ok(!('reason' in normalised), 'fixture must be an event');
  return normalised;
}

function roleSession(
  role: string,
  session: string,
  extra: Record<string, unknown> = {},
  ua = 'aws-cli/2',
): CloudTrailEvent {
  const record = instanceCall({ role, ec2RoleDelivery: '', userAgent: ua });
  const identity = record['userIdentity'] as Record<string, unknown>;
  identity['arn'] = `arn:aws:sts::111122223333:assumed-role/${role}/${session}`;
  identity['principalId'] = `AROAEXAMPLEROLEID0001:${session}`;
  Object.assign(identity['sessionContext'] as object, extra);
  return event(record);
}

function classify(e: CloudTrailEvent, index?: VendingIndex) {
  return classifyCredential(e.identity, e.userAgent, index);
}

describe('isInstanceId', () => {
  it('accepts 8 and 17 hex digits in any case', () => {
    assert.ok(isInstanceId('i-0dbc91f4'));
    assert.ok(isInstanceId('i-0dbc91f429e48eeed'));
    assert.ok(isInstanceId('i-0DBC91F429E48EEED'));
  });
  it('rejects other lengths and non-hex', () => {
    for (const value of [
      'i-0dbc91f',
      'i-0dbc91f429e48eee',
      'i-0dbc91f429e48eeedd',
      'i-0dbc91g4',
      'x-0dbc91f4',
      '',
      'i-',
    ]) {
      assert.equal(isInstanceId(value), false, value);
    }
  });
  it('property: every i- + 8 or 17 hex digits is accepted', () => {
    const hex = fc.constantFrom(...'0123456789abcdefABCDEF');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: hex, minLength: 8, maxLength: 8 }),
          fc.string({ unit: hex, minLength: 17, maxLength: 17 }),
        ),
        (digits) => isInstanceId(`i-${digits}`),
      ),
    );
  });
});

describe('parseAssumedRoleArn', () => {
  it('splits partition, account, role and session (session may contain slashes)', () => {
    assert.deepEqual(parseAssumedRoleArn('arn:aws-us-gov:sts::123456789012:assumed-role/r/a/b'), {
      partition: 'aws-us-gov',
      accountId: '123456789012',
      roleName: 'r',
      sessionName: 'a/b',
    });
    assert.equal(parseAssumedRoleArn('arn:aws:iam::123456789012:user/bob'), undefined);
  });
});

describe('classifyCredential', () => {
  it('EC2 instance profile by session name, lower-casing the instance id', () => {
    const c = classify(event(instanceCall({ instanceId: 'i-0DBC91F429E48EEED' })));
    assert.equal(c.kind, 'ec2-instance');
    assert.equal(c.instanceId, 'i-0dbc91f429e48eeed');
    assert.equal(c.roleName, 'web-app-role');
    assert.equal(c.roleArn, 'arn:aws:iam::111122223333:role/web-app-role');
  });

  it('EC2 instance profile by vending evidence', () => {
    const index = new VendingIndex();
    index.add(extractVending(event(vendingEvent({ accessKeyId: 'ASIAKEYA', sessionName: 'i-0123456789abcdef0' })))!);
    const c = classify(event(instanceCall({ accessKeyId: 'ASIAKEYA' })), index);
    assert.equal(c.kind, 'ec2-instance');
    assert.ok(c.vending);
    assert.match(c.basis[0]!, /vended by ec2\.amazonaws\.com/);
  });

  it('a key issued by an ordinary AssumeRole is not an instance credential, whatever its session name', () => {
    const index = new VendingIndex();
    index.add(
      extractVending(
        event(
          vendingEvent({
            accessKeyId: 'ASIASPOOF',
            issuer: 'arn:aws:sts::111122223333:assumed-role/ci/runner',
            sessionName: 'i-0123456789abcdef0',
          }),
        ),
      )!,
    );
    const c = classify(event(instanceCall({ accessKeyId: 'ASIASPOOF' })), index);
    assert.equal(c.kind, 'assumed-role');
    assert.match(c.basis[0]!, /ordinary sts:AssumeRole/);
  });

  it('the EC2 instance identity role (aws:ec2-instance)', () => {
    const e = roleSession('aws:ec2-instance', 'i-0123456789ABCDEF0');
    const identity = e.identity;
    identity.principalId = '111122223333:aws:ec2-instance:i-0123456789abcdef0';
    identity.sessionIssuer = undefined;
    const c = classify(e);
    assert.equal(c.kind, 'ec2-instance-identity');
    assert.equal(c.instanceId, 'i-0123456789abcdef0');
    assert.equal(c.roleArn, '');
  });

  it('ECS task by vending, and by task-id session + ECS user agent', () => {
    const index = new VendingIndex();
    const task = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
    index.add(
      extractVending(
        event(vendingEvent({ accessKeyId: 'ASIAECS', issuer: 'ecs-tasks.amazonaws.com', sessionName: task })),
      )!,
    );
    const byVending = roleSession('orders-task-role', task);
    byVending.identity.accessKeyId = 'ASIAECS';
    assert.equal(classify(byVending, index).kind, 'ecs-task');
    const byAgent = roleSession('orders-task-role', task, {}, 'aws-sdk-js/3.500.0 exec-env/AWS_ECS_FARGATE');
    assert.equal(classify(byAgent).kind, 'ecs-task');
    assert.equal(classify(byAgent).subject, task);
    assert.equal(
      classify(roleSession('orders-task-role', task)).kind,
      'assumed-role',
      'a hex session name alone proves nothing',
    );
  });

  it('Lambda by vending and inScopeOf; the execution-environment user agent alone proves nothing', () => {
    const index = new VendingIndex();
    index.add(
      extractVending(
        event(
          vendingEvent({ accessKeyId: 'ASIALAMBDA', issuer: 'lambda.amazonaws.com', sessionName: 'resize-images' }),
        ),
      )!,
    );
    const byVending = roleSession('resize-role', 'resize-images');
    byVending.identity.accessKeyId = 'ASIALAMBDA';
    assert.equal(classify(byVending, index).kind, 'lambda');
    const scoped = roleSession('resize-role', 'resize-images');
    scoped.identity.inScopeOfIssuerType = 'AWS::Lambda::Function';
    assert.equal(classify(scoped).kind, 'lambda');
    const byAgent = classify(
      roleSession('resize-role', 'resize-images', {}, 'aws-sdk-nodejs/2 exec-env/AWS_Lambda_nodejs18.x'),
    );
    assert.equal(byAgent.kind, 'assumed-role', 'anyone can send exec-env/AWS_Lambda');
    assert.match(byAgent.basis[0]!, /Lambda execution environment, which alone proves nothing/);
  });

  it('an instance by userIdentity.inScopeOf (AWS::EC2::Instance), with the region of its ARN', () => {
    const scoped = roleSession('web-role', 'some-session');
    scoped.identity.inScopeOfIssuerType = 'AWS::EC2::Instance';
    scoped.identity.inScopeOfIssuedTo = 'arn:aws:ec2:eu-west-2:111122223333:instance/i-0C1A23FC456B7AB89';
    const credential = classify(scoped);
    assert.equal(credential.kind, 'ec2-instance');
    assert.equal(credential.instanceId, 'i-0c1a23fc456b7ab89');
    assert.equal(credential.issuedRegion, 'eu-west-2');
    assert.match(credential.basis[0]!, /inScopeOf/);
    const notAnInstance = roleSession('web-role', 'some-session');
    notAnInstance.identity.inScopeOfIssuerType = 'AWS::EC2::Instance';
    notAnInstance.identity.inScopeOfIssuedTo = 'arn:aws:ec2:eu-west-2:111122223333:instance/not-an-id';
    assert.equal(classify(notAnInstance).kind, 'assumed-role');
  });

  it('EKS Pod Identity by session shape and by vending', () => {
    const session = 'eks-prod-api-5d8f7-1b2c3d4e-aaaa-bbbb-cccc-0123456789ab';
    assert.equal(classify(roleSession('api-pod-role', session)).kind, 'eks-pod-identity');
    const index = new VendingIndex();
    index.add(
      extractVending(
        event(vendingEvent({ accessKeyId: 'ASIAPOD', issuer: 'pods.eks.amazonaws.com', sessionName: 'x' })),
      )!,
    );
    const byVending = roleSession('api-pod-role', 'x');
    byVending.identity.accessKeyId = 'ASIAPOD';
    assert.equal(classify(byVending, index).kind, 'eks-pod-identity');
  });

  it('web identity (IRSA) by federation data and by AssumeRoleWithWebIdentity', () => {
    const e = roleSession('irsa-role', 'botocore-session-1700000000');
    e.identity.webIdFederatedProvider =
      'arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC';
    assert.equal(classify(e).kind, 'web-identity');
    const vend = vendingEvent({
      accessKeyId: 'ASIAWEB',
      eventName: 'AssumeRoleWithWebIdentity',
      issuer: 'arn:aws:sts::1:assumed-role/x/y',
    });
    const index = new VendingIndex();
    index.add(extractVending(event(vend))!);
    const used = roleSession('irsa-role', 'session');
    used.identity.accessKeyId = 'ASIAWEB';
    assert.equal(classify(used, index).kind, 'web-identity');
  });

  it('SSO role sessions, IAM users, root, services and unknown types', () => {
    assert.equal(classify(roleSession('AWSReservedSSO_AdministratorAccess_0123abcd', 'alice@example.com')).kind, 'sso');
    const user = event({
      eventName: 'ListBuckets',
      eventSource: 's3.amazonaws.com',
      userIdentity: { type: 'IAMUser', userName: 'bob', arn: 'arn:aws:iam::1:user/bob' },
    });
    assert.equal(classify(user).kind, 'iam-user');
    assert.equal(classify(event({ eventName: 'x', userIdentity: { type: 'Root' } })).kind, 'root');
    assert.equal(
      classify(event({ eventName: 'x', userIdentity: { type: 'AWSService', invokedBy: 'config.amazonaws.com' } })).kind,
      'aws-service',
    );
    assert.equal(classify(event({ eventName: 'x', userIdentity: { type: 'FederatedUser' } })).kind, 'federated-user');
    assert.equal(classify(event({ eventName: 'x' })).kind, 'unknown');
    assert.equal(classify(roleSession('deploy-role', 'aws-go-sdk-1688990515440126480')).kind, 'assumed-role');
  });

  it('falls back to principalId when the ARN is missing', () => {
    const e = event(instanceCall());
    e.identity.arn = '';
    const c = classify(e);
    assert.equal(c.kind, 'ec2-instance');
    assert.equal(c.sessionName, 'i-0123456789abcdef0');
  });
});
