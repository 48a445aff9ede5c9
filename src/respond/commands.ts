/**
 * The exact commands a responder runs for a finding. Names in them come from logs,
 * so every value is shell-quoted: pasting a command never runs anything hidden in a name.
 *
 * Every EC2 command carries `--region`: EC2 is regional, and a command sent to the profile's default
 * region instead of the instance's answers "instance not found" at best. IAM commands carry none: IAM
 * is global within a partition (one control plane for every commercial region,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/disaster-recovery-resiliency.html), and a region on
 * `aws iam put-role-policy` would suggest a revoke that holds in one region only.
 */

/** The inline policy name the IAM console uses for "Revoke active sessions". */
export const REVOKE_POLICY_NAME = 'AWSRevokeOlderSessions';

/**
 * The reserved name of the EC2 instance identity role. AWS creates one per instance; it has no trust
 * policy and is "not subject to any identity or resource policy"
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-identity-roles.html), and IAM does
 * not accept `:` in a role name: no IAM call can target it.
 */
export const INSTANCE_IDENTITY_ROLE = 'aws:ec2-instance';

/** Stands in for a region nobody knows: a pasted command with it fails instead of going to the wrong region. */
export const REGION_PLACEHOLDER = 'REGION';

// As CloudTrail logs it in sessionContext.sessionIssuer.arn, and as STS returns it for the session.
const IDENTITY_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/aws:ec2-instance$/;
const IDENTITY_SESSION_ARN = /^arn:aws[a-z-]*:(?:sts|iam)::\d{12}:assumed-role\/aws:ec2-instance\/([^/]+)$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
// The first words of the note that says a command's region is where the calls went, not the instance's.
const UNCONFIRMED_REGION_NOTE = '# region not confirmed:';

/** True for the instance identity role as a name, its role ARN, or a session ARN `…assumed-role/aws:ec2-instance/i-…`. */
export function isInstanceIdentityRole(value: string): boolean {
  const text = value.trim();
  return text === INSTANCE_IDENTITY_ROLE || IDENTITY_ROLE_ARN.test(text) || IDENTITY_SESSION_ARN.test(text);
}

/** The session name (the instance id) of an identity-role session ARN, or ''. */
export function identitySessionName(value: string): string {
  return IDENTITY_SESSION_ARN.exec(value.trim())?.[1] ?? '';
}

/** True for a region name such as eu-west-1 (safe on a command line). */
export function isRegion(value: string): boolean {
  return REGION.test(value);
}

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

/** The region EC2 commands are sent to, and how it is known. */
export interface CommandRegion {
  /** A region name, or REGION_PLACEHOLDER when unknown. */
  region: string;
  /** instance: the instance's own (vending event, inventory, option); calls: the one region the calls went to; unknown. */
  basis: 'instance' | 'calls' | 'unknown';
}

/**
 * The region for EC2 commands about an instance: its own when known, else the single region the calls
 * went to (labelled as such: a thief may call any region, and an instance credential's calls to the
 * global STS endpoint land in us-east-1), else none — never a guess among several.
 */
export function commandRegion(instanceRegion: string, callRegions: readonly string[] = []): CommandRegion {
  if (isRegion(instanceRegion)) return { region: instanceRegion, basis: 'instance' };
  const regions = [...new Set(callRegions.filter(isRegion))];
  if (regions.length === 1) return { region: regions[0]!, basis: 'calls' };
  return { region: REGION_PLACEHOLDER, basis: 'unknown' };
}

/** ` --region R` for a command line (the placeholder when unknown). */
export function regionOption(region: CommandRegion): string {
  return ` --region ${region.basis === 'unknown' ? REGION_PLACEHOLDER : shellQuote(region.region)}`;
}

/** The `#` line that says where the region of the commands after it came from; undefined when it is the instance's. */
export function regionNote(region: CommandRegion, instanceId: string): string | undefined {
  if (region.basis === 'calls') {
    return `${UNCONFIRMED_REGION_NOTE} ${region.region} is where the calls went; nothing names the region of ${instanceId} — if EC2 says the instance does not exist, run the commands in its region`;
  }
  if (region.basis === 'unknown') {
    return `# region of ${instanceId} unknown: replace ${REGION_PLACEHOLDER} with the region it runs in`;
  }
  return undefined;
}

/**
 * The region a finding's own EC2 commands name, and whether it is the instance's (confirmed) or only where
 * the calls went. Reads commands written by {@link instanceResponseCommands}, older ones included.
 */
export function regionOfResponseCommands(commands: readonly string[]): { region: string; confirmed: boolean } {
  const unconfirmed = commands.some((c) => c.startsWith(UNCONFIRMED_REGION_NOTE));
  for (const command of commands) {
    if (!command.startsWith('aws ec2 ')) continue;
    const region = /\s--region\s+([a-z0-9-]+)\s*$/.exec(command)?.[1];
    if (region && isRegion(region)) return { region, confirmed: !unconfirmed };
  }
  return { region: '', confirmed: false };
}

/** What the response commands of a finding are about. */
export interface InstanceResponseTarget {
  /** Role of the session that was used; the identity role `aws:ec2-instance` for the instance identity credential. */
  roleName: string;
  accountId: string;
  instanceId: string;
  /** Region of the instance when known (vending event, inventory). */
  region: string;
  /** The finding's credential kind; `ec2-instance-identity` (or the identity role name) selects the identity response. */
  credentialKind?: string;
  /** Regions the finding's calls went to: used, and labelled, when the instance's region is unknown and there is one. */
  callRegions?: readonly string[];
  /** For the identity credential: the role of the instance's instance profile, when the inventory or the trail names it. */
  profileRoleName?: string;
}

function revokeCommand(roleName: string): string {
  // printf fills in the time at the moment the responder runs it: sessions issued before then are cut off.
  return (
    `aws iam put-role-policy --role-name ${shellQuote(roleName)} --policy-name ${REVOKE_POLICY_NAME} ` +
    `--policy-document "$(printf '${revokePolicyDocument('%s')}' "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"`
  );
}

function closePathCommand(instanceId: string, region: CommandRegion): string {
  return (
    `aws ec2 modify-instance-metadata-options --instance-id ${shellQuote(instanceId)} ` +
    `--http-tokens required --http-put-response-hop-limit 1 --http-endpoint enabled${regionOption(region)}`
  );
}

/** IMDSv2 with hop limit 1 on the instance, after the `#` line that says where its region came from when not its own. */
export function closePathCommands(instanceId: string, region: CommandRegion): string[] {
  const note = regionNote(region, instanceId);
  return [...(note ? [note] : []), closePathCommand(instanceId, region)];
}

/** The name offbox gives the isolation security group of an instance (unique per VPC, readable in the console). */
export function isolationGroupName(instanceId: string): string {
  return `offbox-isolation-${instanceId.replace(/[^A-Za-z0-9-]/g, '')}`;
}

/**
 * Isolation: a security group with no rules at all in the instance's VPC, put on every network interface of
 * the instance (ModifyInstanceAttribute refuses instances with several interfaces). `vpcId` '' looks the VPC
 * up. Each line stops (`${VAR:?}`) when the one before found nothing, so a wrong region or instance id never
 * creates a group elsewhere; run again, it reuses the group it made. Tracked connections survive a security
 * group change: callers say so.
 */
export function isolationCommands(instanceId: string, vpcId: string, region: CommandRegion): string[] {
  const id = shellQuote(instanceId);
  const at = regionOption(region);
  const name = shellQuote(isolationGroupName(instanceId));
  const description = shellQuote(`offbox isolation of ${instanceId}: no inbound or outbound rules`);
  return [
    vpcId
      ? `VPC=${shellQuote(vpcId)}`
      : `VPC="$(aws ec2 describe-instances --instance-ids ${id} --query 'Reservations[0].Instances[0].VpcId' --output text${at})"`,
    `SG="$(aws ec2 create-security-group --group-name ${name} --description ${description} --vpc-id "\${VPC:?instance not found: check the instance id and region}" --query GroupId --output text${at} || aws ec2 describe-security-groups --filters Name=vpc-id,Values="$VPC" Name=group-name,Values=${name} --query 'SecurityGroups[0].GroupId' --output text${at})"`,
    // A new group allows all outbound traffic; remove every egress rule, IPv4 and IPv6 alike.
    `aws ec2 revoke-security-group-egress --group-id "\${SG:?no isolation group}" --security-group-rule-ids $(aws ec2 describe-security-group-rules --filters Name=group-id,Values="$SG" --query 'SecurityGroupRules[?IsEgress].SecurityGroupRuleId' --output text${at})${at}`,
    `for ENI in $(aws ec2 describe-instances --instance-ids ${id} --query 'Reservations[].Instances[].NetworkInterfaces[].NetworkInterfaceId' --output text${at}); do aws ec2 modify-network-interface-attribute --network-interface-id "$ENI" --groups "\${SG:?no isolation group}"${at}; done`,
  ];
}

function isIdentityTarget(target: InstanceResponseTarget): boolean {
  return target.credentialKind === 'ec2-instance-identity' || isInstanceIdentityRole(target.roleName);
}

/**
 * The instance identity credential cannot be revoked: no IAM call may target the reserved role. What works:
 * revoke the instance profile role's older sessions (the same IMDS access handed out its credentials), close
 * the path (IMDSv2 with hop limit 1 also stops new theft of the identity credential), isolate the instance.
 */
function identityResponseCommands(target: InstanceResponseTarget): string[] {
  const instanceId = target.instanceId;
  const commands: string[] = [];
  if (target.accountId) commands.push(`# with credentials for account ${shellQuote(target.accountId)}:`);
  commands.push(
    `# the instance identity credential (${INSTANCE_IDENTITY_ROLE}${instanceId ? `/${instanceId}` : ''}) cannot be revoked: ${INSTANCE_IDENTITY_ROLE} is not an IAM role a policy can be attached to; a stolen copy works until it expires`,
  );
  if (!instanceId) {
    commands.push(
      '# name the instance (the session name …/aws:ec2-instance/i-…), then: offbox contain --role aws:ec2-instance --instance i-…',
    );
    return commands;
  }
  const region = commandRegion(target.region, target.callRegions);
  const note = regionNote(region, instanceId);
  if (note) commands.push(note);
  const profileRole = target.profileRoleName ?? '';
  if (profileRole && !isInstanceIdentityRole(profileRole)) {
    commands.push(
      `# the same metadata access hands out the credentials of the instance profile role ${shellQuote(profileRole)}: revoke its older sessions`,
      revokeCommand(profileRole),
    );
  } else {
    commands.push(
      "# the same metadata access hands out the instance profile role's credentials: find the role, then revoke its older sessions (offbox contain --role ROLE --instance …)",
      `aws ec2 describe-instances --instance-ids ${shellQuote(instanceId)} --query 'Reservations[].Instances[].IamInstanceProfile.Arn' --output text${regionOption(region)}`,
    );
  }
  commands.push(
    '# close the path: IMDSv2 with hop limit 1 stops new theft of both credentials through a request forgery',
    closePathCommand(instanceId, region),
    `# isolate ${instanceId} (takes it off the network; connections already open stay open): offbox contain --role ${INSTANCE_IDENTITY_ROLE} --instance ${shellQuote(instanceId)} prints the whole runbook`,
    ...isolationCommands(instanceId, '', region),
  );
  return commands;
}

/**
 * Revoke first, then close the path: revoking alone lets the attacker steal fresh
 * credentials through the same hole; closing alone leaves the stolen session live.
 * For the instance identity credential, which no IAM call can revoke, see identityResponseCommands.
 */
export function instanceResponseCommands(target: InstanceResponseTarget): string[] {
  if (isIdentityTarget(target)) return identityResponseCommands(target);
  const commands: string[] = [];
  // Comment lines (#) are hints: the commands run with credentials of the role's account.
  if (target.accountId) commands.push(`# with credentials for account ${shellQuote(target.accountId)}:`);
  if (target.roleName) commands.push(revokeCommand(target.roleName));
  if (target.instanceId) {
    commands.push(...closePathCommands(target.instanceId, commandRegion(target.region, target.callRegions)));
  }
  return commands;
}
