import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  commandRegion,
  identitySessionName,
  instanceResponseCommands,
  isInstanceIdentityRole,
  regionOfResponseCommands,
  revokePolicyDocument,
  shellQuote,
} from './commands.js';

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

// The identity credential as CloudTrail logs it (Hack The Box "Heartbreaker-Denouement", public write-ups):
// userIdentity.arn arn:aws:sts::ACCT:assumed-role/aws:ec2-instance/i-…, sessionIssuer.arn …:role/aws:ec2-instance.
const IDENTITY_INSTANCE = 'i-0abc123def4567890';

/** Runs commands in sh with a stand-in `aws`: it prints each call's arguments and answers describe calls from `answers`. */
function runAws(commands: readonly string[], answers: Record<string, string> = {}): string[][] {
  const cases = Object.entries(answers)
    .map(([key, out]) => `"${key}") printf '%s\\n' ${shellQuote(out)} ;;`)
    .join(' ');
  // Each call is logged (arguments joined by spaces); describe and create calls answer on stdout.
  const stub = `aws() { printf '%s\\n' "$*" >> "$LOG"; case "$1 $2" in ${cases} *) : ;; esac; }`;
  const log = join(mkdtempSync(join(tmpdir(), 'offbox-aws-')), 'calls');
  try {
    execFileSync('/bin/sh', ['-c', `${stub}\n${commands.filter((c) => !c.startsWith('#')).join('\n')}`], {
      env: { ...process.env, LOG: log },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
  } catch {
    // A `${VAR:?}` stop ends the shell with an error: what ran before it is in the log.
  }
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' '));
}

describe('isInstanceIdentityRole', () => {
  it('knows the reserved role as a name, its role ARN and a session ARN, and nothing else', () => {
    assert.equal(isInstanceIdentityRole('aws:ec2-instance'), true);
    assert.equal(isInstanceIdentityRole('arn:aws:iam::123456789012:role/aws:ec2-instance'), true);
    assert.equal(
      isInstanceIdentityRole(`arn:aws:sts::123456789012:assumed-role/aws:ec2-instance/${IDENTITY_INSTANCE}`),
      true,
    );
    assert.equal(isInstanceIdentityRole('arn:aws-us-gov:iam::123456789012:role/aws:ec2-instance'), true);
    assert.equal(isInstanceIdentityRole('ec2-instance'), false);
    assert.equal(isInstanceIdentityRole('arn:aws:iam::123456789012:role/aws:ec2-instance-web'), false);
    assert.equal(isInstanceIdentityRole('web-app-role'), false);
    assert.equal(
      identitySessionName(`arn:aws:sts::123456789012:assumed-role/aws:ec2-instance/${IDENTITY_INSTANCE}`),
      IDENTITY_INSTANCE,
    );
  });
});

describe('commandRegion and regionOfResponseCommands', () => {
  it("prefers the instance's region, uses the one region of the calls with a note, never picks among several", () => {
    assert.deepEqual(commandRegion('eu-west-1', ['us-east-1']), { region: 'eu-west-1', basis: 'instance' });
    assert.deepEqual(commandRegion('', ['us-east-1', 'us-east-1']), { region: 'us-east-1', basis: 'calls' });
    assert.deepEqual(commandRegion('', ['us-east-1', 'eu-west-1']), { region: 'REGION', basis: 'unknown' });
    assert.deepEqual(commandRegion('', ['$(reboot)']), { region: 'REGION', basis: 'unknown' });
  });
  it('reads back the region of a finding and whether it was the instance own', () => {
    const confirmed = instanceResponseCommands({
      roleName: 'r',
      accountId: '',
      instanceId: IDENTITY_INSTANCE,
      region: 'eu-west-1',
    });
    assert.deepEqual(regionOfResponseCommands(confirmed), { region: 'eu-west-1', confirmed: true });
    const fromCalls = instanceResponseCommands({
      roleName: 'r',
      accountId: '',
      instanceId: IDENTITY_INSTANCE,
      region: '',
      callRegions: ['us-east-1'],
    });
    assert.deepEqual(regionOfResponseCommands(fromCalls), { region: 'us-east-1', confirmed: false });
    const unknown = instanceResponseCommands({
      roleName: 'r',
      accountId: '',
      instanceId: IDENTITY_INSTANCE,
      region: '',
    });
    assert.deepEqual(regionOfResponseCommands(unknown), { region: '', confirmed: false });
  });
});

describe('instanceResponseCommands: every EC2 command carries a region', () => {
  it('a known region on every aws ec2 line, none on IAM (global); an unknown one is said and left as REGION', () => {
    const known = instanceResponseCommands({
      roleName: 'web-app-role',
      accountId: '111122223333',
      instanceId: IDENTITY_INSTANCE,
      region: 'eu-west-1',
    });
    for (const c of known.filter((c) => c.startsWith('aws ec2 '))) assert.match(c, / --region eu-west-1$/);
    for (const c of known.filter((c) => c.startsWith('aws iam '))) assert.doesNotMatch(c, /--region/);

    const unknown = instanceResponseCommands({
      roleName: 'web-app-role',
      accountId: '',
      instanceId: IDENTITY_INSTANCE,
      region: '',
    });
    assert.ok(unknown.includes(`# region of ${IDENTITY_INSTANCE} unknown: replace REGION with the region it runs in`));
    assert.match(unknown.at(-1)!, / --region REGION$/);

    const calls = instanceResponseCommands({
      roleName: 'web-app-role',
      accountId: '',
      instanceId: IDENTITY_INSTANCE,
      region: '',
      callRegions: ['ap-south-1'],
    });
    assert.ok(calls.some((c) => c.startsWith('# region not confirmed: ap-south-1 is where the calls went')));
    assert.match(calls.at(-1)!, / --region ap-south-1$/);
  });
});

describe('instanceResponseCommands: the instance identity credential', () => {
  const base = { accountId: '123456789012', instanceId: IDENTITY_INSTANCE, region: 'us-east-2' };

  it('never targets aws:ec2-instance with IAM, says it cannot be revoked, closes the path and isolates', () => {
    for (const target of [
      { ...base, roleName: 'aws:ec2-instance' },
      { ...base, roleName: 'arn:aws:iam::123456789012:role/aws:ec2-instance' },
      { ...base, roleName: 'aws:ec2-instance', credentialKind: 'ec2-instance-identity' },
    ]) {
      const commands = instanceResponseCommands(target);
      assert.ok(!commands.some((c) => c.startsWith('aws iam ') && c.includes('aws:ec2-instance')), commands.join('\n'));
      assert.ok(commands.some((c) => /^# the instance identity credential .* cannot be revoked/.test(c)));
      assert.ok(
        commands.includes(
          `aws ec2 modify-instance-metadata-options --instance-id ${IDENTITY_INSTANCE} --http-tokens required --http-put-response-hop-limit 1 --http-endpoint enabled --region us-east-2`,
        ),
      );
      assert.ok(commands.some((c) => c.includes('modify-network-interface-attribute')));
      for (const c of commands.filter((c) => /^(aws ec2|VPC=|SG=|for ENI)/.test(c)))
        assert.match(c, /--region us-east-2/);
    }
  });

  it("revokes the instance profile role's older sessions when it is known, else shows how to find it", () => {
    const known = instanceResponseCommands({
      ...base,
      roleName: 'aws:ec2-instance',
      profileRoleName: 'EC2DatabaseConnection',
    });
    const revoke = known.findIndex((c) => c.startsWith('aws iam put-role-policy --role-name EC2DatabaseConnection '));
    const close = known.findIndex((c) => c.startsWith('aws ec2 modify-instance-metadata-options'));
    assert.ok(revoke >= 0 && revoke < close, 'revoke the profile role first, then close the path');

    const unknown = instanceResponseCommands({ ...base, roleName: 'aws:ec2-instance' });
    assert.ok(!unknown.some((c) => c.startsWith('aws iam put-role-policy')));
    assert.ok(unknown.some((c) => c.includes("--query 'Reservations[].Instances[].IamInstanceProfile.Arn'")));
    // A profile role that is itself the identity role (a bad caller) is never revoked.
    const bad = instanceResponseCommands({
      ...base,
      roleName: 'aws:ec2-instance',
      profileRoleName: 'aws:ec2-instance',
    });
    assert.ok(!bad.some((c) => c.startsWith('aws iam put-role-policy')));
  });

  it('the isolation commands run as a shell reads them: group in the VPC, egress rules removed, every interface', () => {
    const commands = instanceResponseCommands({ ...base, roleName: 'aws:ec2-instance' });
    const calls = runAws(commands, {
      'ec2 describe-instances': 'vpc-0123456789abcdef0',
      'ec2 create-security-group': 'sg-0aaaabbbbccccdddd',
      'ec2 describe-security-group-rules': 'sgr-01 sgr-02',
    });
    const create = calls.find((c) => c[1] === 'create-security-group');
    assert.ok(create, JSON.stringify(calls));
    assert.equal(create[create.indexOf('--vpc-id') + 1], 'vpc-0123456789abcdef0');
    assert.equal(create[create.indexOf('--group-name') + 1], `offbox-isolation-${IDENTITY_INSTANCE}`);
    const revoke = calls.find((c) => c[1] === 'revoke-security-group-egress');
    assert.deepEqual(
      revoke?.slice(revoke.indexOf('--security-group-rule-ids') + 1, revoke.indexOf('--security-group-rule-ids') + 3),
      ['sgr-01', 'sgr-02'],
    );
    const modify = calls.filter((c) => c[1] === 'modify-network-interface-attribute');
    assert.ok(modify.length >= 1);
    for (const m of modify) assert.equal(m[m.indexOf('--groups') + 1], 'sg-0aaaabbbbccccdddd');
  });

  it('an instance not found in that region creates no group anywhere', () => {
    const commands = instanceResponseCommands({ ...base, region: '', roleName: 'aws:ec2-instance' });
    const calls = runAws(commands); // every describe answers nothing
    assert.ok(!calls.some((c) => c[1] === 'create-security-group'), JSON.stringify(calls));
    assert.ok(!calls.some((c) => c[1] === 'modify-network-interface-attribute'));
    assert.ok(calls.filter((c) => c[0] === 'ec2').every((c) => c.at(-1) === 'REGION'));
  });

  it('a hostile instance id from a log is quoted everywhere: nothing in it runs', () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'offbox-quote-')), 'pwned');
    const instanceId = `i-1'; touch ${marker}; '$(touch ${marker})`;
    const commands = instanceResponseCommands({ ...base, instanceId, roleName: 'aws:ec2-instance' });
    runAws(commands, { 'ec2 describe-instances': 'vpc-1', 'ec2 create-security-group': 'sg-1' });
    assert.equal(existsSync(marker), false, 'nothing in the id ran');
  });
});
