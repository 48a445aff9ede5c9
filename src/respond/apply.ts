/**
 * `offbox contain --apply`: performs steps 1 and 2 of a containment plan with the AWS SDK, in that order
 * (revoke before closing the path), reading first so that a repeated run writes nothing. It only ever
 * puts the AWSRevokeOlderSessions inline policy (merged with what is there) and modifies instance
 * metadata options: it never deletes a role, a policy or an instance, never isolates an instance, and
 * never calls IAM on the reserved instance identity role.
 */
import { AwsError, isNetworkFailure, OffboxError, sdkFailure, UsageError } from '../errors.js';
import { INSTANCE_IDENTITY_ROLE, isInstanceIdentityRole, REVOKE_POLICY_NAME } from './commands.js';
import type { ContainmentPlan, ContainmentTarget } from './plan.js';
import { isServiceLinked } from './plan.js';
import {
  instanceRevokeStatement,
  isRoleId,
  mergeRevokeStatement,
  roleRevokeStatement,
  type PolicyMerge,
  UnreadablePolicyError,
} from './policy.js';

/** Response metadata every SDK v3 output carries. */
export interface ResponseMetadata {
  $metadata?: { requestId?: string; httpStatusCode?: number };
}

/** The IAM calls contain makes (a subset of IAMClient, as plain methods). */
export interface IamLike {
  getRole(input: {
    RoleName: string;
  }): Promise<ResponseMetadata & { Role?: { RoleName?: string; RoleId?: string; Arn?: string; Path?: string } }>;
  /** Throws NoSuchEntity when the role has no inline policy of that name. */
  getRolePolicy(input: {
    RoleName: string;
    PolicyName: string;
  }): Promise<ResponseMetadata & { PolicyDocument?: string }>;
  putRolePolicy(input: { RoleName: string; PolicyName: string; PolicyDocument: string }): Promise<ResponseMetadata>;
}

/** Instance metadata options as EC2 reports them. */
export interface MetadataOptionsLike {
  State?: string;
  HttpTokens?: string;
  HttpPutResponseHopLimit?: number;
  HttpEndpoint?: string;
}

/** The EC2 calls contain makes (a subset of EC2Client, as plain methods). */
export interface Ec2Like {
  describeInstances(input: { InstanceIds: string[] }): Promise<
    ResponseMetadata & {
      Reservations?: {
        Instances?: { InstanceId?: string; State?: { Name?: string }; MetadataOptions?: MetadataOptionsLike }[];
      }[];
    }
  >;
  modifyInstanceMetadataOptions(input: {
    InstanceId: string;
    HttpTokens: 'required';
    HttpPutResponseHopLimit: number;
    HttpEndpoint: 'enabled';
  }): Promise<ResponseMetadata & { InstanceId?: string; InstanceMetadataOptions?: MetadataOptionsLike }>;
}

/** The clients --apply uses; EC2 per region ('' = the credential chain's default region). */
export interface ContainmentClients {
  iam: IamLike;
  ec2(region: string): Ec2Like;
}

/** One AWS call made, as recorded in the audit log. */
export interface AwsCallRecord {
  service: 'iam' | 'ec2';
  operation: string;
  input: Record<string, unknown>;
  at: string;
  requestId: string;
  httpStatusCode: number | undefined;
  /** Set when the call failed. */
  error?: string;
}

/** What one step did. */
export interface StepResult {
  step: 'revoke' | 'close-path';
  /** applied: AWS changed; unchanged: already as wanted, nothing written; skipped: nothing to do; failed. */
  outcome: 'applied' | 'unchanged' | 'skipped' | 'failed';
  summary: string;
  calls: AwsCallRecord[];
  /** The state before and after (policy documents, metadata options), for the record. */
  before?: unknown;
  after?: unknown;
}

/** Options of {@link applyContainmentPlan}. */
export interface ApplyOptions {
  /** Called as soon as each step ends (also when it fails), so the caller can record it before anything else happens. */
  onStep?: (result: StepResult) => void;
  now?: () => Date;
}

const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'Forbidden']);
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'TokenRefreshRequired', 'RequestExpired']);
const REJECTED = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'AuthFailure',
]);

/** Maps an SDK failure on `call` to an AwsError whose hint says what to do next. */
export function containFailure(err: unknown, call: string, profile: string | undefined): OffboxError {
  if (err instanceof OffboxError) return err;
  const { name, code, message, status } = sdkFailure(err);
  const opts = { cause: err };
  const withProfile = profile !== undefined ? ` (profile ${profile})` : '';
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new AwsError(
      `no AWS credentials found${withProfile}: ${message}`,
      "run `aws configure`, set AWS_PROFILE, or pass --profile with credentials for the role's account",
      opts,
    );
  }
  if (EXPIRED.has(name) || EXPIRED.has(code)) {
    return new AwsError(
      `AWS credentials have expired${withProfile}`,
      'refresh them (e.g. aws sso login) and run again',
      opts,
    );
  }
  if (REJECTED.has(name) || REJECTED.has(code)) {
    return new AwsError(
      `AWS rejected the credentials${withProfile} (${name || code}): ${message}`,
      'check the credentials, or pass --profile with working ones',
      opts,
    );
  }
  if (/region is missing/i.test(message)) {
    return new UsageError(
      'no AWS region configured',
      'pass --region, set AWS_REGION, or set a region in the profile',
      opts,
    );
  }
  if (DENIED.has(name) || DENIED.has(code) || status === 403) {
    return new AwsError(
      `${call} denied${withProfile}: ${message}`,
      `allow ${call} to these credentials (docs/contain.md lists what --apply needs), or check for an SCP that denies it`,
      opts,
    );
  }
  if (name === 'NoSuchEntity' || name === 'NoSuchEntityException') {
    return new AwsError(
      `${call}: ${message}`,
      "check --role and that the credentials are for the role's account (--account, --profile)",
      opts,
    );
  }
  if (name === 'UnmodifiableEntity' || name === 'UnmodifiableEntityException') {
    return new AwsError(
      `${call}: ${message}`,
      'the role cannot be changed (a service-linked role): contain it through the service that owns it',
      opts,
    );
  }
  if (/^InvalidInstanceID/.test(name) || /^InvalidInstanceID/.test(code)) {
    return new AwsError(
      `${call}: ${message}`,
      "check --instance and --region: the instance must exist in that region of the credentials' account",
      opts,
    );
  }
  if (isNetworkFailure({ name, code })) {
    return new AwsError(
      `cannot reach AWS for ${call}: ${code || name} ${message}`.trim(),
      'check the network and run again',
      opts,
    );
  }
  return new AwsError(
    `${call} failed: ${name || code || 'error'}${status !== undefined ? ` (HTTP ${status})` : ''}: ${message}`,
    'compare with the AWS CLI command of the dry run, then run again',
    opts,
  );
}

function isNoSuchEntity(err: unknown): boolean {
  const { name, code } = sdkFailure(err);
  return name === 'NoSuchEntity' || name === 'NoSuchEntityException' || code === 'NoSuchEntity';
}

/** Runs each AWS call once, recording it with its request id and status, failed or not. */
class CallRecorder {
  readonly calls: AwsCallRecord[] = [];
  constructor(private readonly now: () => Date) {}

  async call<T extends ResponseMetadata>(
    service: 'iam' | 'ec2',
    operation: string,
    input: Record<string, unknown>,
    send: () => Promise<T>,
  ): Promise<T> {
    const at = this.now().toISOString();
    try {
      const output = await send();
      this.calls.push({
        service,
        operation,
        input,
        at,
        requestId: output?.$metadata?.requestId ?? '',
        httpStatusCode: output?.$metadata?.httpStatusCode,
      });
      return output;
    } catch (err) {
      const failure = sdkFailure(err);
      const metadata = (err as ResponseMetadata | undefined)?.$metadata;
      this.calls.push({
        service,
        operation,
        input,
        at,
        requestId: metadata?.requestId ?? '',
        httpStatusCode: metadata?.httpStatusCode ?? failure.status,
        error: `${failure.name || failure.code || 'Error'}: ${failure.message}`,
      });
      throw err;
    }
  }
}

/** Thrown by a step after its (failed) result was reported; carries the error to rethrow. */
class StepFailed extends Error {
  constructor(readonly error: OffboxError) {
    super(error.message);
  }
}

/** Checks, before anything is written, that --apply can and may perform what the plan says. */
export function checkApplicable(plan: ContainmentPlan): void {
  const { target } = plan;
  const revoke = plan.steps.find((s) => s.id === 'revoke');
  if (isInstanceIdentityRole(target.roleName)) {
    throw new UsageError(
      `--apply never writes an IAM policy to ${INSTANCE_IDENTITY_ROLE}: it is the reserved instance identity role, not an IAM role a policy can be attached to`,
      `name the instance instead (offbox contain --role ${INSTANCE_IDENTITY_ROLE} --instance i-…): the plan revokes its instance profile's role and requires IMDSv2`,
    );
  }
  if (target.credential === 'instance-identity') {
    if (target.instanceId === '' || !target.instanceIdValid) {
      throw new UsageError(
        `--apply refuses instance id ${JSON.stringify(target.instanceId)}: not an EC2 instance id`,
        'pass the instance the identity credential belongs to with --instance',
      );
    }
    // Without the profile's role the revoke is skipped and only the path is closed.
    if (target.roleName === '') return;
  }
  if (target.serviceLinked) {
    throw new UsageError(
      `role ${target.roleName} is a service-linked role: AWS does not allow revoking its sessions`,
      'contain it through the service that owns it; offbox contain without --apply shows the other steps',
    );
  }
  if (!target.roleNameValid || (revoke?.blocked ?? '') !== '') {
    throw new UsageError(
      `--apply refuses role name ${JSON.stringify(target.roleName)}: ${revoke?.blocked || 'not a valid IAM role name'}`,
      'pass the real role name with --role',
    );
  }
  if (target.instanceId !== '' && !target.instanceIdValid) {
    throw new UsageError(
      `--apply refuses instance id ${JSON.stringify(target.instanceId)}: not an EC2 instance id`,
      'pass the real instance id with --instance',
    );
  }
}

async function revoke(
  target: ContainmentTarget,
  iam: IamLike,
  recorder: CallRecorder,
  profile: string | undefined,
): Promise<StepResult> {
  const roleName = target.roleName;
  const failed = (error: OffboxError): never => {
    throw new StepFailed(error);
  };
  if (isInstanceIdentityRole(roleName)) {
    failed(
      new UsageError(
        `${INSTANCE_IDENTITY_ROLE} is the reserved instance identity role: no IAM call was made`,
        'contain the instance instead: offbox contain --role aws:ec2-instance --instance i-…',
      ),
    );
  }
  let role: { RoleId?: string; Arn?: string; Path?: string } | undefined;
  try {
    role = (await recorder.call('iam', 'GetRole', { RoleName: roleName }, () => iam.getRole({ RoleName: roleName })))
      .Role;
  } catch (err) {
    failed(containFailure(err, 'iam:GetRole', profile));
  }
  const arnAccount = /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(role?.Arn ?? '')?.[1] ?? '';
  if (target.accountId !== '' && arnAccount !== '' && arnAccount !== target.accountId) {
    failed(
      new UsageError(
        `the credentials reach role ${roleName} in account ${arnAccount}, not ${target.accountId}: nothing was changed`,
        'use credentials for the right account (--profile), or check --account',
      ),
    );
  }
  if (isServiceLinked(role?.Path ?? '', roleName)) {
    failed(
      new UsageError(
        `role ${roleName} is a service-linked role (path ${role?.Path ?? ''}): AWS does not allow revoking its sessions; nothing was changed`,
        'contain it through the service that owns it',
      ),
    );
  }
  const roleId = role?.RoleId ?? '';
  if (target.roleId !== '' && roleId !== '' && roleId !== target.roleId) {
    failed(
      new UsageError(
        `role ${roleName} now has id ${roleId}, not ${target.roleId}: it was deleted and created again; nothing was changed`,
        'check what happened to the role, then run again without --role-id',
      ),
    );
  }
  const statement =
    target.scope === 'role'
      ? roleRevokeStatement(target.issuedBefore)
      : isRoleId(roleId || target.roleId)
        ? instanceRevokeStatement(roleId || target.roleId, target.instanceId, target.issuedBefore)
        : failed(
            new AwsError(
              `iam:GetRole returned no usable role id for ${roleName}`,
              'pass --role-id AROA… and run again',
            ),
          );

  let existing: string | undefined;
  try {
    existing = (
      await recorder.call('iam', 'GetRolePolicy', { RoleName: roleName, PolicyName: REVOKE_POLICY_NAME }, () =>
        iam.getRolePolicy({ RoleName: roleName, PolicyName: REVOKE_POLICY_NAME }),
      )
    ).PolicyDocument;
  } catch (err) {
    if (!isNoSuchEntity(err)) failed(containFailure(err, 'iam:GetRolePolicy', profile));
  }
  const merge = (): PolicyMerge => {
    try {
      return mergeRevokeStatement(existing, statement);
    } catch (err) {
      if (!(err instanceof UnreadablePolicyError)) throw err;
      return failed(
        new AwsError(
          `cannot read the ${REVOKE_POLICY_NAME} policy already on role ${roleName} (${err.message}); nothing was changed`,
          `look at it with aws iam get-role-policy --role-name ${roleName} --policy-name ${REVOKE_POLICY_NAME}, fix it, and run again`,
        ),
      );
    }
  };
  const merged = merge();
  const before = existing === undefined ? null : existing;
  if (!merged.changed) {
    return { step: 'revoke', outcome: 'unchanged', summary: merged.reason, calls: [], before, after: before };
  }
  try {
    await recorder.call(
      'iam',
      'PutRolePolicy',
      { RoleName: roleName, PolicyName: REVOKE_POLICY_NAME, PolicyDocument: merged.document },
      () => iam.putRolePolicy({ RoleName: roleName, PolicyName: REVOKE_POLICY_NAME, PolicyDocument: merged.document }),
    );
  } catch (err) {
    failed(containFailure(err, 'iam:PutRolePolicy', profile));
  }
  return {
    step: 'revoke',
    outcome: 'applied',
    summary: `put ${REVOKE_POLICY_NAME} on role ${roleName}: ${merged.reason}`,
    calls: [],
    before,
    after: merged.document,
  };
}

async function closePath(
  target: ContainmentTarget,
  ec2: Ec2Like,
  recorder: CallRecorder,
  profile: string | undefined,
): Promise<StepResult> {
  const instanceId = target.instanceId;
  const hop = target.hopLimit;
  const failed = (error: OffboxError): never => {
    throw new StepFailed(error);
  };
  let described;
  try {
    described = await recorder.call('ec2', 'DescribeInstances', { InstanceIds: [instanceId] }, () =>
      ec2.describeInstances({ InstanceIds: [instanceId] }),
    );
  } catch (err) {
    failed(containFailure(err, 'ec2:DescribeInstances', profile));
  }
  const instance = (described?.Reservations ?? [])
    .flatMap((r) => r.Instances ?? [])
    .find((i) => (i.InstanceId ?? '').toLowerCase() === instanceId.toLowerCase());
  const where = target.region ? ` in ${target.region}` : '';
  if (!instance) {
    failed(
      new AwsError(
        `instance ${instanceId} not found${where}`,
        "check --instance and --region (the instance must be in the credentials' account)",
      ),
    );
  }
  const before = instance!.MetadataOptions ?? {};
  const state = instance!.State?.Name ?? '';
  if (state === 'terminated' || state === 'shutting-down') {
    return {
      step: 'close-path',
      outcome: 'skipped',
      summary: `instance ${instanceId} is ${state}: nothing to close`,
      calls: [],
      before,
      after: before,
    };
  }
  if (before.HttpEndpoint === 'disabled') {
    return {
      step: 'close-path',
      outcome: 'skipped',
      summary: `the metadata endpoint of ${instanceId} is disabled: nothing can fetch credentials from it; left as it is`,
      calls: [],
      before,
      after: before,
    };
  }
  const currentHop = before.HttpPutResponseHopLimit;
  if (before.HttpTokens === 'required' && currentHop !== undefined && currentHop <= hop) {
    return {
      step: 'close-path',
      outcome: 'unchanged',
      summary: `${instanceId} already requires IMDSv2 with hop limit ${currentHop}`,
      calls: [],
      before,
      after: before,
    };
  }
  const input = {
    InstanceId: instanceId,
    HttpTokens: 'required',
    HttpPutResponseHopLimit: hop,
    HttpEndpoint: 'enabled',
  } as const;
  let modified;
  try {
    modified = await recorder.call('ec2', 'ModifyInstanceMetadataOptions', { ...input }, () =>
      ec2.modifyInstanceMetadataOptions({ ...input }),
    );
  } catch (err) {
    failed(containFailure(err, 'ec2:ModifyInstanceMetadataOptions', profile));
  }
  const after = modified?.InstanceMetadataOptions ?? {};
  const pending = after.State === 'pending' ? ' (pending: EC2 applies it within seconds)' : '';
  return {
    step: 'close-path',
    outcome: 'applied',
    summary: `${instanceId} now requires IMDSv2 with hop limit ${hop}; it was ${before.HttpTokens ?? 'unknown'} with hop limit ${currentHop ?? 'unknown'}${pending}`,
    calls: [],
    before,
    after,
  };
}

/** The IAM client with every call naming the reserved identity role refused before it is sent. */
function refusingIdentityRole(iam: IamLike): IamLike {
  const check = (roleName: string): void => {
    if (isInstanceIdentityRole(roleName)) {
      throw new UsageError(
        `refused an IAM call on ${INSTANCE_IDENTITY_ROLE}, the reserved instance identity role`,
        'contain the instance instead: offbox contain --role aws:ec2-instance --instance i-…',
      );
    }
  };
  return {
    getRole: async (input) => (check(input.RoleName), iam.getRole(input)),
    getRolePolicy: async (input) => (check(input.RoleName), iam.getRolePolicy(input)),
    putRolePolicy: async (input) => (check(input.RoleName), iam.putRolePolicy(input)),
  };
}

/**
 * Performs steps 1 (revoke) and 2 (require IMDSv2) of `plan` with `clients`, in that order; the
 * verification step is the responder's. Reads first (GetRole, GetRolePolicy, DescribeInstances) and writes
 * only what differs, so applying the same plan twice writes once. Every call is recorded with its request id
 * in the step's result, which `onStep` receives as soon as the step ends — a failed step too, before its
 * error is thrown (an AwsError or UsageError with a hint). A failed revoke stops before the instance is touched.
 * For the instance identity credential step 1 revokes the instance profile's role, and is skipped (recorded as
 * such) when that role is not known; no IAM call ever names `aws:ec2-instance`. Isolation is never performed.
 */
export async function applyContainmentPlan(
  plan: ContainmentPlan,
  clients: ContainmentClients,
  options: ApplyOptions & { profile?: string } = {},
): Promise<StepResult[]> {
  checkApplicable(plan);
  const now = options.now ?? (() => new Date());
  const results: StepResult[] = [];
  const run = async (
    step: StepResult['step'],
    perform: (recorder: CallRecorder) => Promise<StepResult>,
  ): Promise<void> => {
    const recorder = new CallRecorder(now);
    let result: StepResult;
    let failure: OffboxError | undefined;
    try {
      result = { ...(await perform(recorder)), calls: recorder.calls };
    } catch (err) {
      if (!(err instanceof StepFailed)) throw err;
      failure = err.error;
      result = { step, outcome: 'failed', summary: failure.message, calls: recorder.calls };
    }
    results.push(result);
    options.onStep?.(result);
    if (failure) throw failure;
  };
  const iam = refusingIdentityRole(clients.iam);
  if (plan.target.credential === 'instance-identity' && plan.target.roleName === '') {
    const result: StepResult = {
      step: 'revoke',
      outcome: 'skipped',
      summary: `the role of ${plan.target.instanceId}'s instance profile is not known: no sessions revoked (the identity credential itself cannot be revoked)`,
      calls: [],
    };
    results.push(result);
    options.onStep?.(result);
  } else {
    await run('revoke', (recorder) => revoke(plan.target, iam, recorder, options.profile));
  }
  if (plan.target.instanceId !== '') {
    await run('close-path', (recorder) =>
      closePath(plan.target, clients.ec2(plan.target.region), recorder, options.profile),
    );
  }
  return results;
}

/**
 * The real clients, on the standard credential chain (or `profile`). The SDK is imported here, on use:
 * a dry run never loads it. IAM is global; EC2 gets one client per region.
 */
export async function loadContainmentClients(options: {
  profile?: string;
  region?: string;
}): Promise<ContainmentClients & { destroy(): void }> {
  const iamSdk = await import('@aws-sdk/client-iam');
  const ec2Sdk = await import('@aws-sdk/client-ec2');
  const credentials =
    options.profile !== undefined
      ? {
          credentials: (await import('@aws-sdk/credential-providers')).fromNodeProviderChain({
            profile: options.profile,
          }),
        }
      : {};
  const shared = {
    ...credentials,
    ...(options.profile !== undefined ? { profile: options.profile } : {}),
    maxAttempts: 5,
  };
  const created: { destroy(): void }[] = [];
  // IAM answers in every region of a partition; without a configured region, the aws partition's.
  const probe = new iamSdk.IAMClient({ ...shared, ...(options.region ? { region: options.region } : {}) });
  created.push(probe);
  let iamClient = probe;
  if (!options.region) {
    try {
      await probe.config.region();
    } catch {
      iamClient = new iamSdk.IAMClient({ ...shared, region: 'us-east-1' });
      created.push(iamClient);
    }
  }
  const ec2Clients = new Map<string, InstanceType<typeof ec2Sdk.EC2Client>>();
  const ec2For = (region: string): InstanceType<typeof ec2Sdk.EC2Client> => {
    const key = region || options.region || '';
    let client = ec2Clients.get(key);
    if (!client) {
      client = new ec2Sdk.EC2Client({ ...shared, ...(key ? { region: key } : {}) });
      ec2Clients.set(key, client);
      created.push(client);
    }
    return client;
  };
  return {
    iam: {
      getRole: (input) => iamClient.send(new iamSdk.GetRoleCommand(input)),
      getRolePolicy: (input) => iamClient.send(new iamSdk.GetRolePolicyCommand(input)),
      putRolePolicy: (input) => iamClient.send(new iamSdk.PutRolePolicyCommand(input)),
    },
    ec2: (region) => {
      const client = ec2For(region);
      return {
        describeInstances: (input) => client.send(new ec2Sdk.DescribeInstancesCommand(input)),
        modifyInstanceMetadataOptions: (input) => client.send(new ec2Sdk.ModifyInstanceMetadataOptionsCommand(input)),
      };
    },
    destroy: () => {
      for (const client of created) client.destroy();
    },
  };
}
