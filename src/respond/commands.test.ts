import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { instanceResponseCommands, revokePolicyDocument, shellQuote } from './commands.js';

describe('revokePolicyDocument', () => {
  it('is the shape the IAM console writes for "Revoke active sessions"', () => {
    assert.equal(
      revokePolicyDocument('2024-05-01T10:00:00Z'),
      '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{"DateLessThan":{"aws:TokenIssueTime":"2024-05-01T10:00:00Z"}}}]}',
    );
  });
});

describe('shellQuote', () => {
  it('leaves plain words alone and quotes the rest', () => {
    assert.equal(shellQuote('web-app-role'), 'web-app-role');
    assert.equal(shellQuote("a'b"), `'a'\\''b'`);
    assert.equal(shellQuote('$(reboot)'), `'$(reboot)'`);
  });
  it('property: sh reads back exactly the quoted value', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...`ab $'"\\;|&\`()<>*?!#~\t`), maxLength: 20 }), (value) => {
        const echoed = execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(value)}`]).toString();
        assert.equal(echoed, value);
      }),
      { numRuns: 60 },
    );
  });
});

describe('instanceResponseCommands', () => {
  it('revokes before closing the metadata path, with the instance region', () => {
    const commands = instanceResponseCommands({
      roleName: 'web-app-role',
      accountId: '111122223333',
      instanceId: 'i-0123456789abcdef0',
      region: 'us-east-1',
    });
    assert.equal(commands[0], '# with credentials for account 111122223333:');
    assert.match(
      commands[1]!,
      /^aws iam put-role-policy --role-name web-app-role --policy-name AWSRevokeOlderSessions/,
    );
    assert.equal(
      commands[2],
      'aws ec2 modify-instance-metadata-options --instance-id i-0123456789abcdef0 --http-tokens required --http-put-response-hop-limit 1 --http-endpoint enabled --region us-east-1',
    );
  });
  it('the revoke command produces the documented policy with the current time when run by a shell', () => {
    const revoke = instanceResponseCommands({ roleName: 'r', accountId: '', instanceId: '', region: '' }).find((c) =>
      c.startsWith('aws iam put-role-policy'),
    );
    const policyArgument = revoke!.slice(revoke!.indexOf('--policy-document ') + '--policy-document '.length);
    const policy = execFileSync('/bin/sh', ['-c', `printf '%s' ${policyArgument}`]).toString();
    const parsed = JSON.parse(policy);
    assert.equal(parsed.Statement[0].Effect, 'Deny');
    assert.match(parsed.Statement[0].Condition.DateLessThan['aws:TokenIssueTime'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
  it('a hostile role name cannot break out of its quotes: a shell passes it to aws as one argument', () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'offbox-quote-')), 'pwned');
    const roleName = `x'; touch ${marker}; '$(touch ${marker})`;
    const commands = instanceResponseCommands({ roleName, accountId: "1'2", instanceId: '', region: '' });
    const revoke = commands.find((c) => c.startsWith('aws iam put-role-policy'))!;
    // A stand-in `aws` that prints its arguments, one per line.
    const printed = execFileSync('/bin/sh', [
      '-c',
      `aws() { printf '%s\\n' "$@"; }; ${commands.join('\n')}`,
    ]).toString();
    assert.ok(revoke.includes('--role-name'));
    assert.ok(printed.split('\n').includes(roleName), printed);
    assert.equal(existsSync(marker), false, 'nothing in the name ran');
  });
});
