/**
 * The exact commands a responder runs for a finding. Names in them come from logs,
 * so every value is shell-quoted: pasting a command never runs anything hidden in a name.
 */

/** The inline policy name the IAM console uses for "Revoke active sessions". */
export const REVOKE_POLICY_NAME = 'AWSRevokeOlderSessions';

/** AWS's documented revoke policy: deny everything to sessions issued before `issuedBefore`. */
export function revokePolicyDocument(issuedBefore: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Deny',
        Action: ['*'],
        Resource: ['*'],
        Condition: { DateLessThan: { 'aws:TokenIssueTime': issuedBefore } },
      },
    ],
  });
}

/** POSIX shell single-quoting; safe for any byte string. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface InstanceResponseTarget {
  roleName: string;
  accountId: string;
  instanceId: string;
  /** Region of the instance when known (from the vending event). */
  region: string;
}

/**
 * Revoke first, then close the path: revoking alone lets the attacker steal fresh
 * credentials through the same hole; closing alone leaves the stolen session live.
 */
export function instanceResponseCommands(target: InstanceResponseTarget): string[] {
  const role = shellQuote(target.roleName);
  const commands: string[] = [];
  // Comment lines (#) are hints: the commands run with credentials of the role's account.
  if (target.accountId) commands.push(`# with credentials for account ${shellQuote(target.accountId)}:`);
  if (target.roleName) {
    // printf fills in the time at the moment the responder runs it: sessions issued before then are cut off.
    commands.push(
      `aws iam put-role-policy --role-name ${role} --policy-name ${REVOKE_POLICY_NAME} ` +
        `--policy-document "$(printf '${revokePolicyDocument('%s')}' "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"`,
    );
  }
  if (target.instanceId) {
    const region = target.region ? ` --region ${shellQuote(target.region)}` : '';
    commands.push(
      `aws ec2 modify-instance-metadata-options --instance-id ${shellQuote(target.instanceId)} ` +
        `--http-tokens required --http-put-response-hop-limit 1 --http-endpoint enabled${region}`,
    );
  }
  return commands;
}
