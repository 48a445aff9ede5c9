import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEvent, normaliseRecord } from '../cloudtrail/event.js';
import { extractRevocations } from '../detect/revocation.js';
import { revokePolicyDocument } from './commands.js';
import {
  instanceRevokeStatement,
  mergeRevokeStatement,
  policyAsShown,
  policyDocumentJson,
  roleRevokeStatement,
  UnreadablePolicyError,
} from './policy.js';

/**
 * The policy the IAM console's "Revoke sessions" tab shows before it puts AWSRevokeOlderSessions
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html), copied byte for byte.
 */
const CONSOLE_SHOWS = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Action": [
                "*"
            ],
            "Resource": [
                "*"
            ],
            "Condition": {
                "DateLessThan": {
                    "aws:TokenIssueTime": "[policy creation time]"
                }
            }
        }
    ]
}`;

/** requestParameters.policyDocument of the PutRolePolicy CloudTrail records for a console revoke. */
const CONSOLE_SENDS =
  '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2022-02-16T01:36:00.138Z"}}}]}';

const ROLE_ID = 'AROAEXAMPLEROLEID0001';
const INSTANCE = 'i-0123456789abcdef0';

function putRolePolicyEvent(document: string): ReturnType<typeof normaliseRecord> {
  return normaliseRecord({
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      accountId: '111122223333',
      arn: 'arn:aws:sts::111122223333:assumed-role/ir/alice',
    },
    eventTime: '2024-05-01T12:00:00Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'PutRolePolicy',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.1',
    requestParameters: { roleName: 'web-app-role', policyName: 'AWSRevokeOlderSessions', policyDocument: document },
    eventID: '11111111-2222-4333-8444-555555555555',
    recipientAccountId: '111122223333',
  });
}

describe('the revoke policy documents', () => {
  it("equal the console's documented policy byte for byte apart from the timestamp", () => {
    const cutoff = '2024-05-01T10:00:00.000Z';
    const shown = policyAsShown(policyDocumentJson([roleRevokeStatement(cutoff)]));
    assert.equal(shown, CONSOLE_SHOWS.replace('[policy creation time]', cutoff));
  });

  it('are what the console sends to PutRolePolicy, and what revokePolicyDocument (findings) prints', () => {
    const cutoff = '2022-02-16T01:36:00.138Z';
    assert.equal(policyDocumentJson([roleRevokeStatement(cutoff)]), CONSOLE_SENDS);
    assert.equal(revokePolicyDocument(cutoff), CONSOLE_SENDS);
  });

  it('per instance: a Deny on aws:userId ROLEID:INSTANCE with the same time condition', () => {
    assert.deepEqual(instanceRevokeStatement(ROLE_ID, INSTANCE, '2024-05-01T10:00:00.000Z'), {
      Sid: 'OffboxDenySessionsOfi0123456789abcdef0',
      Effect: 'Deny',
      Action: ['*'],
      Resource: ['*'],
      Condition: {
        StringLike: { 'aws:userId': `${ROLE_ID}:${INSTANCE}` },
        DateLessThan: { 'aws:TokenIssueTime': '2024-05-01T10:00:00.000Z' },
      },
    });
  });

  it('are recognised as revocations when CloudTrail records them (revoked-session-use reads them back)', () => {
    const roleStatement = roleRevokeStatement('2024-05-01T11:59:00.000Z');
    for (const statement of [roleStatement, instanceRevokeStatement(ROLE_ID, INSTANCE, '2024-05-01T11:59:00.000Z')]) {
      const event = putRolePolicyEvent(policyDocumentJson([statement]));
      assert.ok(isEvent(event), 'an event');
      const [revocation, ...more] = extractRevocations(event);
      assert.equal(more.length, 0);
      assert.equal(revocation?.cutoff, '2024-05-01T11:59:00.000Z');
      assert.equal(revocation?.roleName, 'web-app-role');
      // The narrow statement covers the instance's own sessions, not the whole role.
      assert.deepEqual(revocation?.sessionNames, statement === roleStatement ? [] : [INSTANCE]);
    }
  });
});

describe('mergeRevokeStatement', () => {
  const early = '2024-05-01T10:00:00.000Z';
  const late = '2024-05-01T12:00:00.000Z';
  const unrelated = {
    Sid: 'KeepMe',
    Effect: 'Deny',
    Action: 's3:DeleteBucket',
    Resource: '*',
  };

  it('writes a new policy when the role has none', () => {
    const merged = mergeRevokeStatement(undefined, roleRevokeStatement(late));
    assert.equal(merged.changed, true);
    assert.equal(merged.document, revokePolicyDocument(late));
  });

  it('keeps unrelated statements and moves an earlier cutoff to the later one', () => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: [unrelated, roleRevokeStatement(early)] });
    const merged = mergeRevokeStatement(existing, roleRevokeStatement(late));
    assert.equal(merged.changed, true);
    assert.deepEqual(JSON.parse(merged.document), {
      Version: '2012-10-17',
      Statement: [unrelated, roleRevokeStatement(late)],
    });
  });

  it('keeps a later cutoff already there and writes nothing', () => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: [roleRevokeStatement(late), unrelated] });
    const merged = mergeRevokeStatement(existing, roleRevokeStatement(early));
    assert.equal(merged.changed, false);
    assert.equal(merged.document, existing);
    assert.match(merged.reason, /already denies every session issued before 2024-05-01T12:00:00.000Z/);
  });

  it('reads what GetRolePolicy returns (URL-encoded), and the AWS docs form (Statement object, Action "*")', () => {
    const documented = {
      Version: '2012-10-17',
      Statement: {
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { DateLessThan: { 'aws:TokenIssueTime': '2014-05-07T23:47:00Z' } },
      },
    };
    const merged = mergeRevokeStatement(encodeURIComponent(JSON.stringify(documented)), roleRevokeStatement(late));
    assert.equal(merged.changed, true);
    const statements = JSON.parse(merged.document).Statement;
    assert.equal(statements.length, 1, 'the documented statement is updated, not duplicated');
    assert.equal(statements[0].Condition.DateLessThan['aws:TokenIssueTime'], late);
    assert.equal(statements[0].Action, '*');
  });

  it('adds a per-instance statement next to the others, and moves its own cutoff later', () => {
    const other = instanceRevokeStatement(ROLE_ID, 'i-0fedcba9876543210', late);
    const first = mergeRevokeStatement(
      JSON.stringify({ Version: '2012-10-17', Statement: [other] }),
      instanceRevokeStatement(ROLE_ID, INSTANCE, early),
    );
    assert.equal(first.changed, true);
    assert.equal(JSON.parse(first.document).Statement.length, 2);
    const again = mergeRevokeStatement(first.document, instanceRevokeStatement(ROLE_ID, INSTANCE, early));
    assert.equal(again.changed, false);
    const later = mergeRevokeStatement(first.document, instanceRevokeStatement(ROLE_ID, INSTANCE, late));
    assert.equal(later.changed, true);
    const statements = JSON.parse(later.document).Statement;
    assert.equal(statements.length, 2);
    assert.equal(statements[1].Condition.DateLessThan['aws:TokenIssueTime'], late);
    assert.deepEqual(statements[0], other);
  });

  it('a role-wide revoke at or after the cutoff already covers one instance', () => {
    const existing = revokePolicyDocument(late);
    const merged = mergeRevokeStatement(existing, instanceRevokeStatement(ROLE_ID, INSTANCE, early));
    assert.equal(merged.changed, false);
  });

  it('does not mistake a look-alike with other conditions for a revoke statement', () => {
    const lookAlike = {
      Effect: 'Deny',
      Action: ['*'],
      Resource: ['*'],
      Condition: {
        DateLessThan: { 'aws:TokenIssueTime': late },
        IpAddress: { 'aws:SourceIp': '203.0.113.0/24' },
      },
    };
    const merged = mergeRevokeStatement(
      JSON.stringify({ Version: '2012-10-17', Statement: [lookAlike] }),
      roleRevokeStatement(early),
    );
    assert.equal(merged.changed, true);
    assert.deepEqual(JSON.parse(merged.document).Statement, [lookAlike, roleRevokeStatement(early)]);
  });

  it('refuses to overwrite a policy it cannot read', () => {
    assert.throws(() => mergeRevokeStatement('{not json', roleRevokeStatement(late)), UnreadablePolicyError);
    assert.throws(() => mergeRevokeStatement('[1,2]', roleRevokeStatement(late)), UnreadablePolicyError);
  });
});
