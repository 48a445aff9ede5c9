/**
 * The containment plan of `offbox contain`: plain data that says, in order, what to do about a stolen
 * role credential and why — revoke its sessions, close the path it was stolen through, verify — with the
 * exact AWS CLI commands (every value shell-quoted) and the AWS call `--apply` makes for each step.
 * Building a plan does no I/O and calls nothing.
 */
import type { Finding } from '../detect/finding.js';
import { UsageError } from '../errors.js';
import type { InstanceFacts, OwnershipMap, RoleFacts } from '../inventory/ownership.js';
import {
  identitySessionName,
  INSTANCE_IDENTITY_ROLE,
  isInstanceIdentityRole,
  isolationCommands,
  isolationGroupName,
  REGION_PLACEHOLDER,
  regionOfResponseCommands,
  REVOKE_POLICY_NAME,
  shellQuote,
} from './commands.js';
import {
  instanceRevokeStatement,
  isInstanceId,
  isRoleId,
  policyDocumentJson,
  roleRevokeStatement,
  type PolicyStatement,
} from './policy.js';

/** AWS documentation the plan's shapes and advice come from. */
export const CONTAIN_REFERENCES = {
  revokeSessions: 'https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html',
  disablePermissions:
    'https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_disable-perms.html',
  userIdOfInstanceSessions:
    'https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#principaltable',
  requireImdsv2: 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-existing-instances.html',
  launchTemplates: 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html',
  instanceRefresh: 'https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-instance-refresh.html',
  instanceIdentityRoles: 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-identity-roles.html',
  metadataCategories: 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-categories.html',
  compromisedInstance: 'https://docs.aws.amazon.com/guardduty/latest/ug/compromised-ec2.html',
  connectionTracking: 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/security-group-connection-tracking.html',
  defaultHostManagement:
    'https://docs.aws.amazon.com/systems-manager/latest/userguide/managed-instances-default-host-management.html',
} as const;

/** Which credential was stolen: an instance profile role's session, or the instance identity credential. */
export type StolenCredential = 'instance-profile' | 'instance-identity';

/** Whose sessions step 1 denies: every session of the role, or only those of one instance. */
export type RevokeScope = 'role' | 'instance';

/** What a plan is built from; every field but `role` and `now` is optional. */
export interface ContainInput {
  /** Role name or ARN. */
  role: string;
  /** The role's unique id (AROA…), when known; --apply looks it up otherwise. */
  roleId?: string;
  accountId?: string;
  instanceId?: string;
  /** Region of the instance. */
  region?: string;
  /** Deny sessions issued before this time (ISO 8601); default: now, when the step runs. */
  issuedBefore?: string;
  /** Deny only the instance's sessions (`aws:userId` = ROLEID:INSTANCE) instead of every session of the role. */
  narrow?: boolean;
  /** IMDS PUT response hop limit to set; 1 unless containers on the instance need the instance's credentials. */
  hopLimit?: 1 | 2;
  now: Date;
  inventory?: OwnershipMap;
  /** The finding being contained. */
  finding?: Finding;
  /** Web-tier findings (SSRF, relayed signed URLs) that reached the same instance. */
  relatedFindings?: readonly Finding[];
  /** The findings store, for the verification commands. */
  db?: string;
  /**
   * For the instance identity credential: the role of the instance's instance profile (name or ARN), whose
   * older sessions are revoked instead. Without it the inventory or `instanceFindings` name it.
   */
  instanceRole?: string;
  /** Other findings on the same instance: those on its instance-profile credential name the profile's role. */
  instanceFindings?: readonly Finding[];
}

/** The AWS SDK call `--apply` makes for a step. */
export interface SdkCall {
  service: 'iam' | 'ec2';
  operation: 'PutRolePolicy' | 'ModifyInstanceMetadataOptions';
  input: Record<string, unknown>;
  /** For EC2: the region ('' = the credential chain's default region). */
  region?: string;
}

/** An alternative way of doing a step, with its own commands and trade-offs. */
export interface StepAlternative {
  title: string;
  why: string;
  commands: string[];
  policyDocument?: string;
  notes: string[];
}

/** One step of the plan. */
export interface PlanStep {
  id: 'revoke' | 'close-path' | 'isolate' | 'verify';
  title: string;
  why: string;
  /** AWS CLI commands, in order; `#` lines explain and are safe to paste. */
  commands: string[];
  /** The policy document the revoke puts (compact JSON); the cutoff is the plan's. */
  policyDocument?: string;
  /** What `--apply` calls for this step; undefined when `--apply` leaves the step to the responder. */
  sdkCall?: SdkCall;
  /** Why `--apply` cannot perform this step ('' when it can). */
  blocked: string;
  /** Trade-offs and caveats. */
  notes: string[];
  alternative?: StepAlternative;
  /** Commands `--apply` never runs: they change what launches next or need a human's judgement. */
  followUp: string[];
}

/** Who and what is being contained. Strings may come from logs: escape them for every sink. */
export interface ContainmentTarget {
  accountId: string;
  roleName: string;
  roleArn: string;
  /** '' when unknown (looked up with iam:GetRole under --apply). */
  roleId: string;
  /** '' when unknown. */
  rolePath: string;
  /** AWS does not allow revoking sessions of a service-linked role (path /aws-service-role/). */
  serviceLinked: boolean;
  instanceId: string;
  /** Region of the instance; '' when unknown (the commands then carry --region REGION). */
  region: string;
  /** Where the region came from: --region, the inventory, the finding's commands, only the finding's calls, or ''. */
  regionSource: 'option' | 'inventory' | 'finding' | 'calls' | '';
  /**
   * What was stolen. For `instance-identity` the role fields describe the instance profile's role (the
   * one revoke can reach), '' when unknown: the identity role itself is never a target.
   */
  credential: StolenCredential;
  /** Where the instance profile's role of an identity-credential plan came from ('' otherwise or when unknown). */
  profileRoleSource: string;
  /** The instance's instance profile (inventory), '' when unknown. */
  instanceProfileArn: string;
  /** The instance's VPC (inventory), '' when unknown. */
  vpcId: string;
  /** Sessions issued before this time are denied (ISO 8601). */
  issuedBefore: string;
  /** True when the cutoff is "now": the commands take the time when they run. */
  cutoffIsNow: boolean;
  scope: RevokeScope;
  hopLimit: 1 | 2;
  /** From the instance's `aws:ec2launchtemplate:id` tag. */
  launchTemplateId: string;
  /** From the instance's `aws:autoscaling:groupName` tag. */
  autoScalingGroup: string;
  /** The instance's MetadataOptions as the inventory saw them. */
  metadataOptions: InstanceFacts['metadata'];
  /** Whether the role name and instance id have the shape AWS allows (a stored finding may carry anything). */
  roleNameValid: boolean;
  instanceIdValid: boolean;
}

/** The finding being contained, in brief. */
export interface ContainmentEvidence {
  findingId: string;
  detector: string;
  severity: string;
  title: string;
  firstSeen: string;
  lastSeen: string;
  sourceIp: string;
  accessKeyIds: string[];
  actions: string[];
}

/** A web-tier finding that reached the instance: the path the credential was probably stolen through. */
export interface RelatedFinding {
  id: string;
  detector: string;
  severity: string;
  title: string;
  url: string;
}

/** What cannot be revoked about the instance identity credential, said plainly. */
export interface IdentityCredentialFacts {
  /** arn:aws:sts::ACCOUNT:assumed-role/aws:ec2-instance/INSTANCE */
  sessionArn: string;
  /** Why no policy can cut it off. */
  cannotRevoke: string;
  /** How long a stolen copy lasts, as far as AWS documents it. */
  lifetime: string;
  /** What AWS documents it can be used for: what a thief can do with it. */
  usableWith: string[];
}

/** The whole plan. */
export interface ContainmentPlan {
  generatedAt: string;
  target: ContainmentTarget;
  /** Set when the stolen credential is the instance identity credential. */
  identity?: IdentityCredentialFacts;
  evidence?: ContainmentEvidence;
  related: RelatedFinding[];
  steps: PlanStep[];
  /** How to undo each change later, and what undoing means. */
  rollback: { commands: string[]; notes: string[] };
  warnings: string[];
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_Role.html: RoleName pattern [\w+=,.@-]+, 1–64.
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role(\/(?:.*\/)?)([^/]+)$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
const LAUNCH_TEMPLATE_ID = /^lt-[0-9a-f]{8,17}$/i;
const SERVICE_LINKED_PATH = '/aws-service-role/';
/** The most a clock may run ahead before a cutoff counts as "in the future". */
const CLOCK_SKEW_MS = 60_000;
// Markers for values the shell fills in when the command runs; no validated value can contain them.
const TIME_SLOT = '@@OFFBOX_TIME@@';
const ROLE_ID_SLOT = '@@OFFBOX_ROLE_ID@@';
const SHELL_NOW = '"$(date -u +%Y-%m-%dT%H:%M:%SZ)"';

/** True for a role name IAM accepts. */
export function isRoleName(value: string): boolean {
  return ROLE_NAME.test(value);
}

/** True when the role's path (or, without one, its name) says it is service-linked. */
export function isServiceLinked(rolePath: string, roleName: string): boolean {
  return rolePath.startsWith(SERVICE_LINKED_PATH) || (rolePath === '' && roleName.startsWith('AWSServiceRoleFor'));
}

/** Parses --issued-before: ISO 8601 (a bare date is midnight UTC); returns the canonical `toISOString` form. */
export function parseCutoff(value: string, now: Date): string {
  const ms = Date.parse(value.trim());
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `--issued-before ${value} is not a time`,
      'give an ISO 8601 time such as 2026-03-01T12:00:00Z, or leave it out to revoke sessions issued before now',
    );
  }
  if (ms > now.getTime() + CLOCK_SKEW_MS) {
    throw new UsageError(
      `--issued-before ${value} is in the future`,
      'a future cutoff would deny every new session of the role until then; leave it out to use now',
    );
  }
  return new Date(ms).toISOString();
}

function findRole(
  inventory: OwnershipMap | undefined,
  name: string,
  arn: string,
  accountId: string,
): { role?: RoleFacts; ambiguous: number } {
  if (!inventory) return { ambiguous: 0 };
  if (arn) return { role: inventory.roles.get(arn.toLowerCase()), ambiguous: 0 };
  const matches = [...inventory.roles.values()].filter(
    (r) => r.roleName === name && (accountId === '' || r.accountId === accountId),
  );
  return { role: matches.length === 1 ? matches[0] : undefined, ambiguous: matches.length > 1 ? matches.length : 0 };
}

function findInstance(inventory: OwnershipMap | undefined, instanceId: string): InstanceFacts | undefined {
  if (!inventory || instanceId === '') return undefined;
  const exact = inventory.instances.get(instanceId);
  if (exact) return exact;
  const lower = instanceId.toLowerCase();
  return [...inventory.instances.values()].find((i) => i.instanceId.toLowerCase() === lower);
}

/** The region a finding's own EC2 commands name (the vending event's region), and whether it is the instance's. */
function regionFromFinding(finding: Finding | undefined): { region: string; confirmed: boolean } {
  return regionOfResponseCommands(finding?.response?.commands ?? []);
}

/** The one region a finding's calls went to, or '' (none, or several). */
function callRegionOfFinding(finding: Finding | undefined): string {
  const regions = [...new Set((finding?.activity?.regions ?? []).filter((r) => REGION.test(r)))];
  return regions.length === 1 ? regions[0]! : '';
}

function conflict(option: string, given: string, found: string, where: string): never {
  throw new UsageError(
    `${option} ${given} contradicts ${where} (${found})`,
    `leave ${option} out to use ${where}, or check that the two name the same thing`,
  );
}

/**
 * A shell expression that prints `document` with the values only known when the command runs
 * (the current time, the role id) filled in by printf.
 */
function printfDocument(document: string): string {
  const args: string[] = [];
  // printf reads % and \ in its format: escape them before adding the %s slots.
  const format = document
    .replace(/[\\%]/g, (c) => (c === '%' ? '%%' : '\\\\'))
    .replace(new RegExp(`${TIME_SLOT}|${ROLE_ID_SLOT}`, 'g'), (slot) => {
      args.push(slot === TIME_SLOT ? SHELL_NOW : '"$ROLE_ID"');
      return '%s';
    });
  return `"$(printf ${shellQuote(format)} ${args.join(' ')})"`;
}

function documentArgument(document: string): string {
  return document.includes('@@OFFBOX_') ? printfDocument(document) : shellQuote(document);
}

/** ` --region R` for an EC2 or Auto Scaling command; the placeholder when unknown, so a pasted command fails instead of going elsewhere. */
function regionArg(region: string): string {
  return ` --region ${REGION.test(region) ? shellQuote(region) : REGION_PLACEHOLDER}`;
}

/** The `#` line EC2 commands need when their region is not the instance's known one. */
function regionNoteOf(target: ContainmentTarget): string[] {
  if (target.instanceId === '' && target.region !== '') return [];
  if (target.region === '') {
    return [
      `# region of ${target.instanceId || 'the instance'} unknown: replace ${REGION_PLACEHOLDER} with the region it runs in (or pass --region / --inventory)`,
    ];
  }
  if (target.regionSource === 'calls') {
    return [
      `# region ${target.region} is where the finding's calls went, not confirmed as the instance's: if EC2 says the instance does not exist, pass --region`,
    ];
  }
  return [];
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

interface Resolved {
  target: ContainmentTarget;
  warnings: string[];
}

interface RoleChoice {
  roleName: string;
  roleArn: string;
  rolePath: string;
  accountId: string;
  role?: RoleFacts;
}

/** Reads a role given as a name or an IAM role ARN, with what the inventory knows of it. */
function chooseRole(input: ContainInput, roleText: string, accountId: string, warnings: string[]): RoleChoice {
  const arnMatch = ROLE_ARN.exec(roleText);
  let roleName = arnMatch ? arnMatch[3]! : roleText;
  let roleArn = arnMatch ? roleText : '';
  let rolePath = arnMatch ? arnMatch[2]! : '';
  if (arnMatch && accountId !== '' && arnMatch[1] !== accountId)
    conflict('--account', accountId, arnMatch[1]!, 'the role ARN');
  accountId ||= arnMatch?.[1] ?? '';
  const { role, ambiguous } = findRole(input.inventory, roleName, roleArn, accountId);
  if (ambiguous > 0) {
    warnings.push(
      `role ${roleName} is in ${plural(ambiguous, 'account')} of the inventory: pass --account to pick one`,
    );
  }
  if (role) {
    roleName = role.roleName || roleName;
    roleArn ||= role.arn;
    rolePath ||= ROLE_ARN.exec(role.arn)?.[2] ?? '';
    accountId ||= role.accountId;
  }
  if (!roleArn && accountId !== '' && ROLE_NAME.test(roleName)) roleArn = `arn:aws:iam::${accountId}:role/${roleName}`;
  return { roleName, roleArn, rolePath, accountId, ...(role ? { role } : {}) };
}

/**
 * The instance profile role of an identity-credential plan: --instance-role, else the inventory (the
 * instance's profile and the IAM details holding it), else findings on the instance's own profile
 * credential. '' when none names it; disagreement is a warning, never a silent pick.
 */
function profileRoleOf(
  input: ContainInput,
  instanceId: string,
  facts: InstanceFacts | undefined,
  warnings: string[],
): { text: string; source: string } {
  const fromInventory = facts ? input.inventory?.roleOfInstanceProfile(facts.instanceProfileArn) : undefined;
  const lower = instanceId.toLowerCase();
  const fromFindings = new Map<string, string>();
  for (const f of input.instanceFindings ?? []) {
    const p = f.principal;
    if (p?.credentialKind !== 'ec2-instance' || (p.instanceId ?? '').toLowerCase() !== lower) continue;
    const text = p.roleArn || p.role;
    if (text && !isInstanceIdentityRole(text) && !fromFindings.has(text)) fromFindings.set(text, f.id);
  }
  const given = input.instanceRole?.trim() ?? '';
  if (given !== '' && isInstanceIdentityRole(given)) {
    throw new UsageError(
      `--instance-role ${given} is the identity role itself`,
      "give the role of the instance's instance profile (aws ec2 describe-instances … IamInstanceProfile.Arn, then aws iam get-instance-profile)",
    );
  }
  const sameRole = (a: string, b: string): boolean =>
    a === b || a.endsWith(`/${b}`) || b.endsWith(`/${a}`) || a.split('/').pop() === b.split('/').pop();
  if (given !== '') {
    if (fromInventory && !sameRole(given, fromInventory.arn)) {
      warnings.push(
        `--instance-role ${given} differs from the inventory, which puts ${fromInventory.roleName} in the instance profile of ${instanceId}`,
      );
    }
    return { text: given, source: '--instance-role' };
  }
  if (fromInventory) {
    for (const other of fromFindings.keys())
      if (!sameRole(other, fromInventory.arn))
        warnings.push(
          `finding ${fromFindings.get(other)} used role ${other} on ${instanceId}; the inventory's instance profile holds ${fromInventory.roleName} now`,
        );
    return {
      text: fromInventory.arn || fromInventory.roleName,
      source: `the inventory (instance profile ${facts!.instanceProfileArn})`,
    };
  }
  const candidates = [...fromFindings.keys()];
  if (candidates.length === 1) return { text: candidates[0]!, source: `finding ${fromFindings.get(candidates[0]!)}` };
  if (candidates.length > 1) {
    warnings.push(
      `findings on ${instanceId} name ${candidates.length} roles (${candidates.join(', ')}): pass --instance-role to pick the instance profile's`,
    );
  }
  return { text: '', source: '' };
}

function resolveTarget(input: ContainInput): Resolved {
  const warnings: string[] = [];
  const finding = input.finding;
  const roleText = input.role.trim();
  if (roleText === '') {
    throw new UsageError('no role to contain', 'pass --role NAME (or ARN), or --finding ID --db FILE');
  }
  const credential: StolenCredential =
    isInstanceIdentityRole(roleText) || finding?.principal?.credentialKind === 'ec2-instance-identity'
      ? 'instance-identity'
      : 'instance-profile';
  let accountId = input.accountId?.trim() ?? '';
  if (accountId !== '' && !ACCOUNT.test(accountId)) {
    throw new UsageError(`--account ${accountId} is not an AWS account id`, 'give the 12-digit account id');
  }

  let instanceId = input.instanceId?.trim() ?? '';
  if (credential === 'instance-identity') {
    // The identity role's ARNs carry the account; the session ARN also names the instance.
    const arnAccount = /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(roleText)?.[1] ?? '';
    if (arnAccount !== '' && accountId !== '' && arnAccount !== accountId)
      conflict('--account', accountId, arnAccount, 'the role ARN');
    accountId ||= arnAccount;
    const session = identitySessionName(roleText);
    if (session !== '' && instanceId !== '' && session.toLowerCase() !== instanceId.toLowerCase())
      conflict('--instance', instanceId, session, 'the session ARN');
    instanceId ||= session;
    if (instanceId === '') {
      throw new UsageError(
        `${INSTANCE_IDENTITY_ROLE} is the instance identity role: its credential belongs to one instance`,
        'pass --instance i-… (the session name in …/aws:ec2-instance/i-…)',
      );
    }
  }
  const facts = findInstance(input.inventory, instanceId);

  let choice: RoleChoice;
  let profileRoleSource = '';
  if (credential === 'instance-identity') {
    const profile = profileRoleOf(input, instanceId, facts, warnings);
    profileRoleSource = profile.source;
    choice =
      profile.text === ''
        ? { roleName: '', roleArn: '', rolePath: '', accountId }
        : chooseRole(input, profile.text, accountId || facts?.accountId || '', warnings);
    if (profile.text === '' && input.roleId !== undefined && input.roleId.trim() !== '') {
      throw new UsageError(
        "--role-id names the instance profile's role, which is not known here",
        'pass --instance-role NAME with it, or --inventory with the instance and its role',
      );
    }
  } else {
    choice = chooseRole(input, roleText, accountId, warnings);
  }
  const { roleName, roleArn, rolePath, role } = choice;
  accountId = choice.accountId || accountId;

  let roleId = input.roleId?.trim() ?? '';
  if (roleId !== '' && !isRoleId(roleId)) {
    throw new UsageError(
      `--role-id ${roleId} is not a role id`,
      'a role id starts with AROA: aws iam get-role --role-name NAME --query Role.RoleId',
    );
  }
  if (roleId !== '' && role?.roleId && role.roleId !== roleId)
    conflict('--role-id', roleId, role.roleId, 'the inventory');
  roleId ||= role?.roleId && isRoleId(role.roleId) ? role.roleId : '';

  let region = input.region?.trim() ?? '';
  if (region !== '' && !REGION.test(region)) {
    throw new UsageError(`--region ${region} is not a region name`, 'give a region such as eu-west-1');
  }
  let regionSource: ContainmentTarget['regionSource'] = region !== '' ? 'option' : '';
  const fromFinding = regionFromFinding(finding);
  if (region === '' && facts?.region && REGION.test(facts.region)) [region, regionSource] = [facts.region, 'inventory'];
  else if (region === '' && fromFinding.region !== '' && fromFinding.confirmed)
    [region, regionSource] = [fromFinding.region, 'finding'];
  else if (region === '' && (fromFinding.region || callRegionOfFinding(finding)) !== '')
    [region, regionSource] = [fromFinding.region || callRegionOfFinding(finding), 'calls'];
  if (regionSource === 'calls') {
    warnings.push(
      `region ${region} is where the finding's calls went, not necessarily where ${instanceId || 'the instance'} runs: pass --region (or --inventory) if EC2 says the instance does not exist`,
    );
  }
  if (facts && accountId !== '' && facts.accountId !== '' && facts.accountId !== accountId) {
    warnings.push(`the inventory puts instance ${instanceId} in account ${facts.accountId}, not ${accountId}`);
  }
  accountId ||= facts?.accountId ?? '';
  if (
    credential === 'instance-profile' &&
    facts &&
    role &&
    facts.instanceProfileArn &&
    !role.instanceProfileArns.includes(facts.instanceProfileArn)
  ) {
    warnings.push(
      `the inventory says instance ${instanceId} runs with ${facts.instanceProfileArn}, which does not hold role ${roleName}`,
    );
  }

  const roleNameValid = ROLE_NAME.test(roleName);
  if (!roleNameValid && !(credential === 'instance-identity' && roleName === ''))
    warnings.push(`${JSON.stringify(roleName)} is not a valid IAM role name: check where it came from`);
  const instanceIdValid = instanceId === '' || isInstanceId(instanceId);
  if (!instanceIdValid)
    warnings.push(`${JSON.stringify(instanceId)} is not an EC2 instance id: check where it came from`);
  if (credential === 'instance-identity') {
    warnings.push(
      `the stolen credential is ${instanceId}'s instance identity credential (${INSTANCE_IDENTITY_ROLE}): no policy can revoke it; it stops working only when it expires`,
    );
    if (roleName === '') {
      warnings.push(
        facts?.source.startsWith('inventory') && facts.instanceProfileArn === ''
          ? `the inventory shows no instance profile on ${instanceId}: no role sessions to revoke`
          : `the role of ${instanceId}'s instance profile is not known: step 1 shows how to find it (then pass --instance-role)`,
      );
    }
  }
  if (instanceId === '') {
    warnings.push(
      'no instance given: step 2 cannot name the instance to close; pass --instance i-… (the session name of the stolen credential)',
    );
  } else if (region === '') {
    warnings.push(
      `region of ${instanceId} unknown: pass --region (without it, --apply uses the profile's or environment's region)`,
    );
  }
  const scope: RevokeScope = input.narrow === true ? 'instance' : 'role';
  if (scope === 'instance' && (instanceId === '' || !instanceIdValid)) {
    throw new UsageError(
      "--narrow denies one instance's sessions and needs its id",
      'pass --instance i-… (or leave out --narrow to revoke every session of the role)',
    );
  }
  const cutoffIsNow = input.issuedBefore === undefined;
  const issuedBefore = cutoffIsNow ? input.now.toISOString() : parseCutoff(input.issuedBefore!, input.now);
  const tags = facts?.tags ?? {};
  return {
    target: {
      accountId,
      roleName,
      roleArn,
      roleId,
      rolePath,
      serviceLinked: roleName !== '' && isServiceLinked(rolePath, roleName),
      instanceId,
      region,
      regionSource: region === '' ? '' : regionSource,
      credential,
      profileRoleSource,
      instanceProfileArn: facts?.instanceProfileArn ?? '',
      vpcId: /^vpc-[0-9a-f]{8,17}$/i.test(facts?.vpcId ?? '') ? facts!.vpcId : '',
      issuedBefore,
      cutoffIsNow,
      scope,
      hopLimit: input.hopLimit ?? 1,
      launchTemplateId: LAUNCH_TEMPLATE_ID.test(tags['aws:ec2launchtemplate:id'] ?? '')
        ? tags['aws:ec2launchtemplate:id']!
        : '',
      autoScalingGroup: tags['aws:autoscaling:groupName'] ?? '',
      metadataOptions: facts?.metadata,
      roleNameValid,
      instanceIdValid,
    },
    warnings,
  };
}

/** The statement step 1 puts, with shell slots for what is only known when the command runs. */
function revokeStatementFor(target: ContainmentTarget, scope: RevokeScope, forShell: boolean): PolicyStatement {
  const time = forShell && target.cutoffIsNow ? TIME_SLOT : target.issuedBefore;
  if (scope === 'role') return roleRevokeStatement(time);
  const roleId = target.roleId || (forShell ? ROLE_ID_SLOT : 'ROLE_ID');
  return instanceRevokeStatement(roleId, target.instanceId, time);
}

function revokeCommands(target: ContainmentTarget, scope: RevokeScope): string[] {
  const role = shellQuote(target.roleName);
  const commands: string[] = [
    `# replaces the role's ${REVOKE_POLICY_NAME} policy, as the IAM console does (offbox contain --apply merges instead); see what is there first:`,
    `aws iam get-role-policy --role-name ${role} --policy-name ${REVOKE_POLICY_NAME}`,
  ];
  if (scope === 'instance' && target.roleId === '') {
    commands.push(`ROLE_ID="$(aws iam get-role --role-name ${role} --query Role.RoleId --output text)"`);
  }
  const document = policyDocumentJson([revokeStatementFor(target, scope, true)]);
  commands.push(
    `aws iam put-role-policy --role-name ${role} --policy-name ${REVOKE_POLICY_NAME} --policy-document ${documentArgument(document)}`,
  );
  return commands;
}

const ROLE_SCOPE_NOTES = [
  'Every session of the role issued before the cutoff is denied, the legitimate ones too: each instance with this role fails its calls until it has fresh credentials from IMDS (its SDK refreshes them on its own; a stop and start forces it), and people who assumed the role must assume it again (the AWS CLI caches credentials: rm -r ~/.aws/cli/cache).',
  'Service-linked roles (path /aws-service-role/) cannot be revoked: AWS does not let anyone edit their permissions.',
  'It takes a few minutes to hold everywhere: IAM changes propagate, they are not instant.',
  'Running it again moves the cutoff to the new time and strands every session issued since, as the console does; to repeat exactly this revoke, pass --issued-before with the same cutoff.',
  'Sessions issued after the cutoff are not affected, so the policy can stay; fresh credentials the thief fetches through the same hole are not affected either — hence step 2, at once.',
];

const INSTANCE_SCOPE_NOTES = [
  'IMDS hands the thief the same credentials it hands the instance, so the instance is stranded too until it refreshes them; the time condition lets its next credentials work.',
  'Other instances and people using the role keep working; credentials stolen from another instance of the role are not covered.',
];

function revokeStep(target: ContainmentTarget, evidence: ContainmentEvidence | undefined): PlanStep {
  const scopeWords = (scope: RevokeScope): string =>
    scope === 'role' ? `every session of role ${target.roleName}` : `the sessions of instance ${target.instanceId}`;
  const cutoffWords = target.cutoffIsNow ? 'now (the time the command runs)' : target.issuedBefore;
  const why =
    'A stolen role credential stays valid until it expires — hours for an instance profile — and IAM cannot cancel one session. ' +
    `A Deny on aws:TokenIssueTime does the next best thing: ${scopeWords(target.scope)} issued before ${cutoffWords} ${target.scope === 'role' ? 'is refused from its next call on' : 'are refused from their next call on'}.`;
  const policyDocument = policyDocumentJson([revokeStatementFor(target, target.scope, false)]);
  const blocked = isInstanceIdentityRole(target.roleName)
    ? `${INSTANCE_IDENTITY_ROLE} is the reserved instance identity role: no IAM policy can be put on it`
    : target.serviceLinked
      ? `role ${target.roleName} is a service-linked role: AWS does not allow revoking its sessions; contain it through the service that owns it`
      : !target.roleNameValid
        ? 'the role name is not one IAM accepts'
        : '';
  const notes =
    target.scope === 'role' ? [...ROLE_SCOPE_NOTES] : [...INSTANCE_SCOPE_NOTES, ...ROLE_SCOPE_NOTES.slice(1)];
  if (target.scope === 'instance' && target.roleId === '') {
    notes.push('The role id is not known here: the commands look it up; --apply reads it with iam:GetRole.');
  }
  if (evidence?.actions.some((a) => /^sts:AssumeRole/i.test(a))) {
    notes.push(
      'The stolen session called sts:AssumeRole: sessions it chained to other roles are sessions of those roles, not revoked here — contain them too.',
    );
  }
  const otherScope: RevokeScope = target.scope === 'role' ? 'instance' : 'role';
  const alternative: StepAlternative | undefined =
    otherScope === 'instance' && (target.instanceId === '' || !target.instanceIdValid)
      ? undefined
      : {
          title:
            otherScope === 'instance'
              ? `Narrower (--narrow): deny only the sessions of instance ${target.instanceId}`
              : `Wider: deny every session of role ${target.roleName}`,
          why:
            otherScope === 'instance'
              ? `aws:userId of an instance's session is ROLEID:${target.instanceId}: a Deny on it with the same cutoff leaves the role's other users alone.`
              : 'Also cuts off credentials stolen from other instances of the role, or by other means.',
          commands: revokeCommands(target, otherScope),
          policyDocument: policyDocumentJson([revokeStatementFor(target, otherScope, false)]),
          notes: otherScope === 'instance' ? INSTANCE_SCOPE_NOTES : ROLE_SCOPE_NOTES.slice(0, 1),
        };
  return {
    id: 'revoke',
    title:
      target.scope === 'role'
        ? `Revoke every session of role ${target.roleName} issued before ${cutoffWords}`
        : `Revoke the sessions of instance ${target.instanceId} issued before ${cutoffWords}`,
    why,
    commands: revokeCommands(target, target.scope),
    policyDocument,
    sdkCall: {
      service: 'iam',
      operation: 'PutRolePolicy',
      input: { RoleName: target.roleName, PolicyName: REVOKE_POLICY_NAME, PolicyDocument: policyDocument },
    },
    blocked,
    notes,
    ...(alternative ? { alternative } : {}),
    followUp: [],
  };
}

/** What AWS documents about the instance identity credential, for the plan's "cannot be revoked" section. */
function identityFacts(target: ContainmentTarget): IdentityCredentialFacts {
  return {
    sessionArn: `arn:aws:sts::${target.accountId || 'ACCOUNT'}:assumed-role/${INSTANCE_IDENTITY_ROLE}/${target.instanceId}`,
    cannotRevoke:
      `AWS creates the instance identity role with the instance: it has no trust policy and is not subject to any identity or resource policy, and IAM accepts no ":" in a role name — so no policy, ${REVOKE_POLICY_NAME} included, can be put on ${INSTANCE_IDENTITY_ROLE}, and a stolen copy keeps working until it expires. ` +
      'Stopping new theft (step 2) and revoking what the same access also handed out (step 1) is what can be done.',
    lifetime:
      'AWS does not document how long an identity credential lasts: each copy carries its own Expiration (the metadata response shows it), and the trail shows its calls until then.',
    usableWith: [
      'sts:GetCallerIdentity — the first call a thief makes with any key',
      "EC2 Instance Connect — it updates the instance's SSH host keys with this credential",
      "Systems Manager Default Host Management Configuration — it registers the instance presenting this credential and hands it the configuration's IAM role",
      "GuardDuty Runtime Monitoring — the agent's telemetry",
      'Nothing else: the credential has no policies attached and carries no permissions beyond identifying the instance to these features',
    ],
  };
}

function defaultHostManagementCheck(target: ContainmentTarget): string[] {
  return [
    `# with Default Host Management Configuration on in the region, Systems Manager gives whoever presents ${target.instanceId}'s identity credential the configuration's role — is it on?`,
    `aws ssm get-service-setting --setting-id /ssm/managed-instance/default-ec2-instance-management-role --query ServiceSetting.SettingValue --output text${regionArg(target.region)}`,
    `# if it names a role, revoke that role's older sessions too: offbox contain --role ROLE --instance ${shellQuote(target.instanceId)}`,
  ];
}

/**
 * Step 1 of an identity-credential plan: the identity credential cannot be revoked, but whoever could read it
 * through IMDS could read the instance profile role's credentials too — those are an ordinary role's sessions.
 */
function identityRevokeStep(target: ContainmentTarget, evidence: ContainmentEvidence | undefined): PlanStep {
  const id = shellQuote(target.instanceId);
  const why =
    `The stolen credential is ${target.instanceId}'s instance identity credential, which no policy can revoke. ` +
    'But the same metadata access that read it at /identity-credentials/ec2/security-credentials/ec2-instance also reads the instance profile role at /iam/security-credentials/: whoever has one may have both. The profile role is an ordinary IAM role, so its sessions issued before the cutoff can be denied.';
  if (target.roleName === '') {
    const noProfile = target.instanceProfileArn === '' && target.metadataOptions !== undefined;
    const commands = target.instanceProfileArn
      ? [
          `# the inventory names the instance profile ${target.instanceProfileArn}; its role:`,
          `aws iam get-instance-profile --instance-profile-name ${shellQuote(target.instanceProfileArn.split('/').pop() ?? '')} --query 'InstanceProfile.Roles[].[RoleName,Arn]' --output text`,
        ]
      : [
          `# the instance profile of ${target.instanceId}, then the role it holds:`,
          `aws ec2 describe-instances --instance-ids ${id} --query 'Reservations[].Instances[].IamInstanceProfile.Arn' --output text${regionArg(target.region)}`,
          "aws iam get-instance-profile --instance-profile-name PROFILE_NAME --query 'InstanceProfile.Roles[].[RoleName,Arn]' --output text",
        ];
    commands.push(
      `# then: offbox contain --role ${INSTANCE_IDENTITY_ROLE} --instance ${id} --instance-role ROLE (or offbox contain --role ROLE --instance ${id})`,
    );
    return {
      id: 'revoke',
      title: `Revoke the older sessions of ${target.instanceId}'s instance profile role — find the role first`,
      why,
      commands,
      blocked: noProfile
        ? `the inventory shows no instance profile on ${target.instanceId}: there are no role sessions to revoke`
        : `the role of ${target.instanceId}'s instance profile is not known (no --instance-role, and neither the inventory nor a finding names it)`,
      notes: [
        `Nothing here is written to ${INSTANCE_IDENTITY_ROLE}: it is not an IAM role a policy can be attached to, and --apply refuses any IAM call on it.`,
      ],
      followUp: defaultHostManagementCheck(target),
    };
  }
  const step = revokeStep(target, evidence);
  const cutoffWords = target.cutoffIsNow ? 'now' : target.issuedBefore;
  return {
    ...step,
    title:
      target.scope === 'role'
        ? `Revoke every session of role ${target.roleName} (the instance profile of ${target.instanceId}) issued before ${cutoffWords}`
        : `Revoke the sessions of ${target.instanceId} of role ${target.roleName} (its instance profile) issued before ${cutoffWords}`,
    why,
    notes: [
      `The role comes from ${target.profileRoleSource}. The identity credential itself is not touched: no IAM call can target ${INSTANCE_IDENTITY_ROLE}.`,
      ...step.notes,
    ],
    followUp: defaultHostManagementCheck(target),
  };
}

/**
 * Isolation of the instance: never done by --apply (it takes the instance off the network and can get it
 * replaced by its Auto Scaling group), so it is commands and trade-offs only. Shapes from AWS GuardDuty's
 * "Remediating a potentially compromised Amazon EC2 instance".
 */
function isolateStep(target: ContainmentTarget): PlanStep {
  const id = shellQuote(target.instanceId);
  const at = regionArg(target.region);
  const region = target.region
    ? { region: target.region, basis: 'instance' as const }
    : { region: REGION_PLACEHOLDER, basis: 'unknown' as const };
  const followUp = [
    '# keep the evidence before anything replaces the instance: termination protection, then a snapshot of every EBS volume',
    `aws ec2 modify-instance-attribute --instance-id ${id} --disable-api-termination${at}`,
    `aws ec2 create-snapshots --instance-specification InstanceId=${id} --copy-tags-from-source volume --description ${shellQuote(`offbox forensics: ${target.instanceId}`)}${at}`,
  ];
  if (target.autoScalingGroup) {
    followUp.push(
      `# termination protection does not stop Auto Scaling: take ${target.instanceId} out of ${target.autoScalingGroup} (the group launches a replacement)`,
      `aws autoscaling detach-instances --instance-ids ${id} --auto-scaling-group-name ${shellQuote(target.autoScalingGroup)} --no-should-decrement-desired-capacity${at}`,
    );
  } else {
    followUp.push(
      `# termination protection does not stop Auto Scaling: if ${target.instanceId} belongs to a group, detach it (aws autoscaling detach-instances) before it fails its health checks`,
    );
  }
  followUp.push(
    '# once the evidence is kept and a replacement (from a template that requires IMDSv2) serves: stop the instance — memory is lost, capture it first if you need it',
    `aws ec2 stop-instances --instance-ids ${id}${at}`,
  );
  return {
    id: 'isolate',
    title: `Isolate ${target.instanceId}: a security group with no rules on every network interface`,
    why:
      'Nothing revokes the identity credential, so the instance must stop handing out more and stop being reachable by whoever took it. ' +
      'AWS recommends a dedicated isolation security group with no rule open to 0.0.0.0/0, replacing every other group of the instance; one with no rules at all cuts the request forgery off from outside and any shell on the box from the outside world.',
    commands: [
      `# record the interfaces and groups of ${target.instanceId} first: undoing the isolation needs them`,
      `aws ec2 describe-instances --instance-ids ${id} --query 'Reservations[].Instances[].NetworkInterfaces[].[NetworkInterfaceId,Groups[].GroupId]' --output json${at}`,
      ...isolationCommands(target.instanceId, target.vpcId, region),
    ],
    blocked: "it takes the instance off the network and can get it replaced; that is a responder's call",
    notes: [
      'Whatever the instance serves goes down, and a failing load balancer health check can make its Auto Scaling group terminate it, evidence included: keep the evidence first (below).',
      'Connections already tracked are not cut by a security group change — only new traffic is blocked; a network ACL on the subnet cuts them, for every instance in that subnet.',
      'Isolation revokes nothing: a credential already stolen works from anywhere until it expires. It stops new theft through the application and keeps a compromised box from reaching out.',
      'For forensic access, add a rule for one address and one port only — never 0.0.0.0/0.',
      `The group is named ${isolationGroupName(target.instanceId)}; running the commands again reuses it. Each command stops when the one before found nothing (an instance not in that region makes no group).`,
    ],
    followUp,
  };
}

function metadataWords(metadata: InstanceFacts['metadata']): string {
  if (!metadata) return '';
  const endpoint = metadata.httpEndpoint === 'disabled' ? ', endpoint disabled' : '';
  return `HttpTokens ${metadata.httpTokens || 'unknown'}, hop limit ${metadata.hopLimit}${endpoint}`;
}

function closePathStep(
  target: ContainmentTarget,
  related: readonly RelatedFinding[],
  db: string | undefined,
): PlanStep {
  const id = shellQuote(target.instanceId);
  const region = regionArg(target.region);
  const hop = target.hopLimit;
  const tokenWords = `IMDSv2 needs a token from a PUT with a header, which a plain SSRF cannot send, and a hop limit of ${hop} keeps the token from leaving the instance${hop === 2 ? "'s containers" : ''}.`;
  const why =
    target.credential === 'instance-identity'
      ? 'The identity credential cannot be revoked, so stopping new theft is what protects it: through a request forgery on an instance that answers IMDSv1, ' +
        `the thief fetches a fresh identity credential and the profile role's credentials whenever the old ones expire. ${tokenWords} The change covers both paths (/identity-credentials/ and /iam/).`
      : 'Revoking strands the stolen copy, but the hole it came through is still open: through an SSRF on an instance that answers IMDSv1, ' +
        `the thief fetches new credentials, issued after the cutoff. ${tokenWords}`;
  const notes = [
    'Check first that the software on the instance uses IMDSv2 (AWS SDKs and the CLI have since late 2019; the MetadataNoToken CloudWatch metric counts IMDSv1 calls). Requiring it does not stop or restart the instance.',
    hop === 1
      ? 'Hop limit 1 also cuts off containers in bridge networking that read the instance role through IMDS; if they need it, use --hop-limit 2 (never more).'
      : 'Hop limit 2 lets containers in bridge networking reach IMDS; use 1 when nothing on the instance runs in containers.',
    'IMDSv2 stops a request forgery, not code running on the instance: if the theft came from a shell on the box, rebuild it.',
  ];
  const current = metadataWords(target.metadataOptions);
  if (current) notes.push(`The inventory saw ${target.instanceId} with ${current}.`);
  if (target.metadataOptions?.httpEndpoint === 'disabled') {
    notes.push('Its metadata endpoint is disabled: nothing can fetch credentials from it; --apply leaves it as it is.');
  }

  const followUp: string[] = [];
  const template = target.launchTemplateId;
  if (template) {
    const data = JSON.stringify({ MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: hop } });
    followUp.push(
      `# ${target.instanceId} was launched from ${template}: require IMDSv2 there too, or replacements come back with IMDSv1`,
      `aws ec2 create-launch-template-version --launch-template-id ${shellQuote(template)} --source-version ${shellQuote('$Latest')} --launch-template-data ${shellQuote(data)}${region}`,
    );
  }
  if (target.autoScalingGroup) {
    const group = shellQuote(target.autoScalingGroup);
    if (template) {
      followUp.push(
        `aws autoscaling update-auto-scaling-group --auto-scaling-group-name ${group} --launch-template ${shellQuote(`LaunchTemplateId=${template},Version=$Latest`)}${region}`,
      );
    } else {
      followUp.push(
        `# ${target.instanceId} belongs to Auto Scaling group ${target.autoScalingGroup}: require IMDSv2 in what it launches from`,
        `aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names ${group} --query 'AutoScalingGroups[].[LaunchTemplate,MixedInstancesPolicy.LaunchTemplate,LaunchConfigurationName]'${region}`,
      );
    }
    followUp.push(
      '# then replace the running instances (an instance refresh) once the change is tested',
      `aws autoscaling start-instance-refresh --auto-scaling-group-name ${group}${region}`,
    );
  }
  if (!template && !target.autoScalingGroup && target.instanceId !== '') {
    followUp.push(
      `# if ${target.instanceId} came from a launch template or an Auto Scaling group, require IMDSv2 there too (MetadataOptions HttpTokens=required), or its replacements come back with IMDSv1:`,
      `aws ec2 describe-instances --instance-ids ${id} --query 'Reservations[].Instances[].Tags[?Key==\`aws:ec2launchtemplate:id\` || Key==\`aws:autoscaling:groupName\`]'${region}`,
    );
  }
  followUp.push(
    '# new instances in the region: require IMDSv2 unless a launch says otherwise',
    `aws ec2 modify-instance-metadata-defaults --http-tokens required --http-put-response-hop-limit ${hop}${region}`,
  );
  if (related.length > 0) {
    for (const finding of related.slice(0, 5)) {
      followUp.push(
        `# fix the request forgery that reached this instance: ${finding.detector} finding ${finding.id} (${finding.title})`,
        `offbox findings show ${shellQuote(finding.id)} --db ${shellQuote(db ?? 'FILE')}`,
      );
    }
  } else {
    followUp.push(
      '# find and fix the path it was stolen through (an SSRF in the application on the instance, most often):',
      'offbox ssrf WEB_LOGS --format markdown',
    );
  }

  if (target.instanceId === '') {
    return {
      id: 'close-path',
      title: 'Close the path: require IMDSv2 on the instance the credential came from',
      why,
      commands: [
        "# name the instance: the stolen session is named after it (…/ROLE/i-…); list the role's instances:",
        target.roleArn
          ? `aws ec2 describe-instances --filters Name=iam-instance-profile.arn,Values=${shellQuote(target.roleArn.replace(':role/', ':instance-profile/'))} --query 'Reservations[].Instances[].[InstanceId,MetadataOptions.HttpTokens]' --output text${region}`
          : `aws ec2 describe-instances --query 'Reservations[].Instances[].[InstanceId,IamInstanceProfile.Arn,MetadataOptions.HttpTokens]' --output text${region}`,
        '# then: offbox contain --role … --instance i-…',
      ],
      blocked: 'no instance given (--instance)',
      notes,
      followUp,
    };
  }
  const input: Record<string, unknown> = {
    InstanceId: target.instanceId,
    HttpTokens: 'required',
    HttpPutResponseHopLimit: hop,
    HttpEndpoint: 'enabled',
  };
  return {
    id: 'close-path',
    title: `Close the path: require IMDSv2 with hop limit ${hop} on ${target.instanceId}`,
    why,
    commands: [
      ...regionNoteOf(target),
      `aws ec2 modify-instance-metadata-options --instance-id ${id} --http-tokens required --http-put-response-hop-limit ${hop} --http-endpoint enabled${region}`,
    ],
    sdkCall: { service: 'ec2', operation: 'ModifyInstanceMetadataOptions', input, region: target.region },
    blocked: target.instanceIdValid ? '' : 'the instance id is not one EC2 accepts',
    notes,
    followUp,
  };
}

function verifyStep(target: ContainmentTarget, db: string | undefined): PlanStep {
  const role = shellQuote(target.roleName);
  const store = shellQuote(db ?? 'offbox.db');
  const day = target.issuedBefore.slice(0, 10);
  const identity = target.credential === 'instance-identity';
  const instance = shellQuote(target.instanceId);
  const commands = [
    ...(target.roleName ? [`aws iam get-role-policy --role-name ${role} --policy-name ${REVOKE_POLICY_NAME}`] : []),
    ...(target.instanceId
      ? [
          ...regionNoteOf(target),
          `aws ec2 describe-instances --instance-ids ${instance} --query 'Reservations[].Instances[].MetadataOptions'${regionArg(target.region)}`,
        ]
      : []),
    ...(identity
      ? [
          `aws ec2 describe-instances --instance-ids ${instance} --query 'Reservations[].Instances[].NetworkInterfaces[].Groups[]'${regionArg(target.region)}`,
        ]
      : []),
    '# run detection over the trail written since the cutoff (CloudTrail delivers within about 15 minutes):',
    `offbox scan CLOUDTRAIL_PATH --inventory INVENTORY_DIR --db ${store}`,
    `offbox watch s3://TRAIL_BUCKET/AWSLogs/ --db ${store} --since ${day}`,
    `offbox findings --db ${store} --detector revoked-session-use`,
    ...(identity ? [`offbox findings --db ${store} --search ${instance}`] : []),
  ];
  const revokeNotes = target.roleName
    ? [
        `A revoked-session-use finding is a call refused by the revoke, made with a session issued before ${target.issuedBefore}. From the instance's own address it is the instance's SDK that has not refreshed its credentials yet (wait, or restart the application); from anywhere else it is the thief still trying the stolen key — the revoke is holding.`,
        `A new instance-credential-… finding for role ${target.roleName} with credentials issued after the cutoff means fresh credentials were stolen: the path is not closed (step 2), or there is another one.`,
        'Calls that succeed in the first minutes after the cutoff are IAM propagation, not a failed revoke.',
      ]
    : [];
  const identityNotes = identity
    ? [
        `Calls with ${target.instanceId}'s identity credential after step 2 come from a copy fetched before it: nothing refuses them until that copy expires. A key first seen after step 2 was fetched after it — the path is still open, or the box itself is compromised.`,
        'The interfaces should list only the isolation group once step 3 is done.',
      ]
    : [];
  return {
    id: 'verify',
    title: identity
      ? `Verify: IMDSv2 and the isolation hold${target.roleName ? ', the policy holds' : ''}, and no new identity credential is used`
      : 'Verify: the policy and IMDSv2 hold, and the stolen key is refused',
    why: identity
      ? 'The changes are silent when they work; the trail is where the thief shows up again, with the old identity credential until it expires and with nothing new after.'
      : 'Both changes are silent when they work; the trail is where the thief shows up again.',
    commands,
    blocked: '',
    notes: [...identityNotes, ...revokeNotes],
    followUp: [],
  };
}

function rollbackOf(target: ContainmentTarget): { commands: string[]; notes: string[] } {
  const role = shellQuote(target.roleName);
  const commands: string[] = [];
  if (target.roleName) {
    commands.push(
      `# when every session issued before the cutoff has expired (role sessions last at most 12 hours):`,
      `aws iam delete-role-policy --role-name ${role} --policy-name ${REVOKE_POLICY_NAME}`,
    );
  }
  if (target.instanceId) {
    commands.push(
      "# re-enables IMDSv1 — reopens the path to the role's credentials:",
      `aws ec2 modify-instance-metadata-options --instance-id ${shellQuote(target.instanceId)} --http-tokens optional${regionArg(target.region)}`,
    );
  }
  if (target.credential === 'instance-identity' && target.instanceId) {
    commands.push(
      '# ends the isolation: give each interface back the groups recorded in step 3, then delete the isolation group',
      `aws ec2 modify-network-interface-attribute --network-interface-id ENI_ID --groups ORIGINAL_GROUP_IDS${regionArg(target.region)}`,
      `aws ec2 delete-security-group --group-name ${shellQuote(isolationGroupName(target.instanceId))}${regionArg(target.region)}`,
    );
  }
  return {
    commands,
    notes: [
      ...(target.roleName
        ? [
            `Leaving ${REVOKE_POLICY_NAME} in place does no harm: it only denies sessions issued before its cutoff. offbox never deletes it; if it holds other statements (--apply merges), edit it rather than delete it.`,
          ]
        : []),
      "Re-enabling IMDSv1 hands the role's credentials again to any request forgery in the application: only if something on the instance cannot use IMDSv2, and only after the forgery is fixed.",
      ...(target.credential === 'instance-identity'
        ? ['Ending the isolation puts the instance back on the network: only once it is rebuilt or cleared.']
        : []),
    ],
  };
}

function evidenceOf(finding: Finding | undefined): ContainmentEvidence | undefined {
  if (!finding) return undefined;
  return {
    findingId: finding.id,
    detector: finding.detector,
    severity: finding.severity,
    title: finding.title,
    firstSeen: finding.activity?.firstSeen ?? '',
    lastSeen: finding.activity?.lastSeen ?? '',
    sourceIp: finding.source?.ip ?? '',
    accessKeyIds: finding.principal?.accessKeyIds ?? [],
    actions: finding.activity?.actions ?? [],
  };
}

/**
 * Builds the containment plan for a role (and the instance its credential was stolen from). Throws
 * UsageError when the input cannot make a plan (no role, --narrow without an instance, a bad
 * --issued-before, --role-id or region); everything else that is doubtful becomes a warning.
 */
export function buildContainmentPlan(input: ContainInput): ContainmentPlan {
  const { target, warnings } = resolveTarget(input);
  const evidence = evidenceOf(input.finding);
  if (evidence?.firstSeen && !target.cutoffIsNow && Date.parse(target.issuedBefore) <= Date.parse(evidence.firstSeen)) {
    warnings.push(
      `the cutoff ${target.issuedBefore} is not after the stolen credential's first use (${evidence.firstSeen}): it may not cover that session`,
    );
  }
  if (target.serviceLinked) {
    warnings.push(
      `role ${target.roleName} is service-linked: its sessions cannot be revoked (AWS does not allow changing its permissions)`,
    );
  }
  const related: RelatedFinding[] = (input.relatedFindings ?? []).map((f) => ({
    id: f.id,
    detector: f.detector,
    severity: f.severity,
    title: f.title,
    url: f.request?.url ?? '',
  }));
  const identity = target.credential === 'instance-identity';
  const steps = identity
    ? [
        identityRevokeStep(target, evidence),
        closePathStep(target, related, input.db),
        isolateStep(target),
        verifyStep(target, input.db),
      ]
    : [revokeStep(target, evidence), closePathStep(target, related, input.db), verifyStep(target, input.db)];
  return {
    generatedAt: input.now.toISOString(),
    target,
    ...(identity ? { identity: identityFacts(target) } : {}),
    ...(evidence ? { evidence } : {}),
    related,
    steps,
    rollback: rollbackOf(target),
    warnings,
  };
}
