/**
 * The containment plan of `offbox contain`: plain data that says, in order, what to do about a stolen
 * role credential and why — revoke its sessions, close the path it was stolen through, verify — with the
 * exact AWS CLI commands (every value shell-quoted) and the AWS call `--apply` makes for each step.
 * Building a plan does no I/O and calls nothing.
 */
import type { Finding } from '../detect/finding.js';
import { UsageError } from '../errors.js';
import type { InstanceFacts, OwnershipMap, RoleFacts } from '../inventory/ownership.js';
import { REVOKE_POLICY_NAME, shellQuote } from './commands.js';
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
} as const;

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
  id: 'revoke' | 'close-path' | 'verify';
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
  region: string;
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

/** The whole plan. */
export interface ContainmentPlan {
  generatedAt: string;
  target: ContainmentTarget;
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

/** The region a finding's own response command names (`… --region R`), the vending event's region. */
function regionFromFinding(finding: Finding | undefined): string {
  for (const command of finding?.response?.commands ?? []) {
    const region = /\s--region\s+([a-z0-9-]+)\s*$/.exec(command)?.[1];
    if (region && REGION.test(region)) return region;
  }
  return '';
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

function regionArg(region: string): string {
  return REGION.test(region) ? ` --region ${shellQuote(region)}` : '';
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

interface Resolved {
  target: ContainmentTarget;
  warnings: string[];
}

function resolveTarget(input: ContainInput): Resolved {
  const warnings: string[] = [];
  const finding = input.finding;
  const roleText = input.role.trim();
  if (roleText === '') {
    throw new UsageError('no role to contain', 'pass --role NAME (or ARN), or --finding ID --db FILE');
  }
  const arnMatch = ROLE_ARN.exec(roleText);
  let roleName = arnMatch ? arnMatch[3]! : roleText;
  let roleArn = arnMatch ? roleText : '';
  let rolePath = arnMatch ? arnMatch[2]! : '';
  let accountId = input.accountId?.trim() ?? '';
  if (accountId !== '' && !ACCOUNT.test(accountId)) {
    throw new UsageError(`--account ${accountId} is not an AWS account id`, 'give the 12-digit account id');
  }
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

  const instanceId = input.instanceId?.trim() ?? '';
  const facts = findInstance(input.inventory, instanceId);
  let region = input.region?.trim() ?? '';
  if (region !== '' && !REGION.test(region)) {
    throw new UsageError(`--region ${region} is not a region name`, 'give a region such as eu-west-1');
  }
  region ||= facts?.region && REGION.test(facts.region) ? facts.region : regionFromFinding(finding);
  if (facts && accountId !== '' && facts.accountId !== '' && facts.accountId !== accountId) {
    warnings.push(`the inventory puts instance ${instanceId} in account ${facts.accountId}, not ${accountId}`);
  }
  accountId ||= facts?.accountId ?? '';
  if (facts && role && facts.instanceProfileArn && !role.instanceProfileArns.includes(facts.instanceProfileArn)) {
    warnings.push(
      `the inventory says instance ${instanceId} runs with ${facts.instanceProfileArn}, which does not hold role ${roleName}`,
    );
  }

  const roleNameValid = ROLE_NAME.test(roleName);
  if (!roleNameValid)
    warnings.push(`${JSON.stringify(roleName)} is not a valid IAM role name: check where it came from`);
  const instanceIdValid = instanceId === '' || isInstanceId(instanceId);
  if (!instanceIdValid)
    warnings.push(`${JSON.stringify(instanceId)} is not an EC2 instance id: check where it came from`);
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
      serviceLinked: isServiceLinked(rolePath, roleName),
      instanceId,
      region,
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
  const blocked = target.serviceLinked
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
  const why =
    'Revoking strands the stolen copy, but the hole it came through is still open: through an SSRF on an instance that answers IMDSv1, ' +
    `the thief fetches new credentials, issued after the cutoff. IMDSv2 needs a token from a PUT with a header, which a plain SSRF cannot send, and a hop limit of ${hop} keeps the token from leaving the instance${hop === 2 ? "'s containers" : ''}.`;
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
          ? `aws ec2 describe-instances --filters Name=iam-instance-profile.arn,Values=${shellQuote(target.roleArn.replace(':role/', ':instance-profile/'))} --query 'Reservations[].Instances[].[InstanceId,MetadataOptions.HttpTokens]' --output text`
          : "aws ec2 describe-instances --query 'Reservations[].Instances[].[InstanceId,IamInstanceProfile.Arn,MetadataOptions.HttpTokens]' --output text",
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
      ...(REGION.test(target.region) ? [] : ['# region unknown: add --region REGION']),
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
  const commands = [
    `aws iam get-role-policy --role-name ${role} --policy-name ${REVOKE_POLICY_NAME}`,
    ...(target.instanceId
      ? [
          `aws ec2 describe-instances --instance-ids ${shellQuote(target.instanceId)} --query 'Reservations[].Instances[].MetadataOptions'${regionArg(target.region)}`,
        ]
      : []),
    '# run detection over the trail written since the cutoff (CloudTrail delivers within about 15 minutes):',
    `offbox scan CLOUDTRAIL_PATH --inventory INVENTORY_DIR --db ${store}`,
    `offbox watch s3://TRAIL_BUCKET/AWSLogs/ --db ${store} --since ${day}`,
    `offbox findings --db ${store} --detector revoked-session-use`,
  ];
  return {
    id: 'verify',
    title: 'Verify: the policy and IMDSv2 hold, and the stolen key is refused',
    why: 'Both changes are silent when they work; the trail is where the thief shows up again.',
    commands,
    blocked: '',
    notes: [
      `A revoked-session-use finding is a call refused by the revoke, made with a session issued before ${target.issuedBefore}. From the instance's own address it is the instance's SDK that has not refreshed its credentials yet (wait, or restart the application); from anywhere else it is the thief still trying the stolen key — the revoke is holding.`,
      `A new instance-credential-… finding for role ${target.roleName} with credentials issued after the cutoff means fresh credentials were stolen: the path is not closed (step 2), or there is another one.`,
      'Calls that succeed in the first minutes after the cutoff are IAM propagation, not a failed revoke.',
    ],
    followUp: [],
  };
}

function rollbackOf(target: ContainmentTarget): { commands: string[]; notes: string[] } {
  const role = shellQuote(target.roleName);
  const commands = [
    `# when every session issued before the cutoff has expired (role sessions last at most 12 hours):`,
    `aws iam delete-role-policy --role-name ${role} --policy-name ${REVOKE_POLICY_NAME}`,
  ];
  if (target.instanceId) {
    commands.push(
      "# re-enables IMDSv1 — reopens the path to the role's credentials:",
      `aws ec2 modify-instance-metadata-options --instance-id ${shellQuote(target.instanceId)} --http-tokens optional${regionArg(target.region)}`,
    );
  }
  return {
    commands,
    notes: [
      `Leaving ${REVOKE_POLICY_NAME} in place does no harm: it only denies sessions issued before its cutoff. offbox never deletes it; if it holds other statements (--apply merges), edit it rather than delete it.`,
      "Re-enabling IMDSv1 hands the role's credentials again to any request forgery in the application: only if something on the instance cannot use IMDSv2, and only after the forgery is fixed.",
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
  return {
    generatedAt: input.now.toISOString(),
    target,
    ...(evidence ? { evidence } : {}),
    related,
    steps: [revokeStep(target, evidence), closePathStep(target, related, input.db), verifyStep(target, input.db)],
    rollback: rollbackOf(target),
    warnings,
  };
}
