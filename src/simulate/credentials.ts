/**
 * Temporary credentials: who holds which access key when, and the userIdentity JSON that
 * every call signed with it carries. Instance keys follow EC2's rhythm: one at launch,
 * then a fresh one about every hour, a separate key per IMDS path (v1 and v2).
 */
import type { IamUser, Role } from './iam.js';
import { awsId } from './ids.js';
import type { Cred, CredKind, Instance, Organisation } from './organisation.js';
import type { Rng } from './prng.js';
import { q } from './record.js';
import { HOUR, MINUTE, isoSeconds } from './time.js';

export type { Cred, CredKind } from './organisation.js';

export function identityOf(cred: Cred): string {
  return `${cred.identityOpen}}`;
}

/** The identity of a call AWS made on the session's behalf (kms Decrypt for S3, …). */
export function identityInvokedBy(cred: Cred, service: string): string {
  return `${cred.identityOpen},"invokedBy":"${service}"}`;
}

/** userIdentity of a role session (AssumedRole). */
export function roleSessionIdentity(
  role: Role,
  session: string,
  keyId: string,
  issued: number,
  extra: { delivery?: string; webIdProvider?: string; inScopeOf?: string; mfa?: boolean; sourceIdentity?: string } = {},
): string {
  const acct = role.accountId;
  let ctx = `"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"${role.id}","arn":"${role.arn}","accountId":"${acct}","userName":"${role.name}"},`;
  ctx += extra.webIdProvider
    ? `"webIdFederationData":{"federatedProvider":${q(extra.webIdProvider)},"attributes":{}},`
    : '"webIdFederationData":{},';
  ctx += `"attributes":{"creationDate":"${isoSeconds(issued)}","mfaAuthenticated":"${extra.mfa ? 'true' : 'false'}"}`;
  if (extra.sourceIdentity) ctx += `,"sourceIdentity":${q(extra.sourceIdentity)}`;
  if (extra.delivery) ctx += `,"ec2RoleDelivery":"${extra.delivery}"`;
  ctx += '}';
  let out = `{"type":"AssumedRole","principalId":${q(`${role.id}:${session}`)},"arn":${q(`arn:aws:sts::${acct}:assumed-role/${role.name}/${session}`)},"accountId":"${acct}","accessKeyId":"${keyId}",${ctx}`;
  if (extra.inScopeOf)
    out += `,"inScopeOf":{"issuerType":"AWS::Lambda::Function","credentialsIssuedTo":"${extra.inScopeOf}"}`;
  return out;
}

/** userIdentity of an IAM user signing with its long-term key. */
export function iamUserIdentity(user: IamUser): string {
  return `{"type":"IAMUser","principalId":"${user.id}","arn":"${user.arn}","accountId":"${user.accountId}","accessKeyId":"${user.accessKeyId}","userName":"${user.name}"}`;
}

/** An AWS service acting as itself (the vending events of EC2, ECS, Lambda, EKS). */
export function serviceIdentity(service: string): string {
  return `{"type":"AWSService","invokedBy":"${service}"}`;
}

// The identity role's userIdentity as CloudTrail writes it (webIdFederationData and ec2RoleDelivery included): the
// GetCallerIdentity records of the Hack The Box Sherlock "Heartbreaker-Denouement" trail and the AWS Systems Manager
// CloudTrail guide's RequestManagedInstanceRoleToken example.
function instanceIdentityRole(
  acct: string,
  instanceId: string,
  keyId: string,
  issued: number,
  delivery: '1.0' | '2.0',
): string {
  return `{"type":"AssumedRole","principalId":"${acct}:aws:ec2-instance:${instanceId}","arn":"arn:aws:sts::${acct}:assumed-role/aws:ec2-instance/${instanceId}","accountId":"${acct}","accessKeyId":"${keyId}","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"${acct}:aws:ec2-instance","arn":"arn:aws:iam::${acct}:role/aws:ec2-instance","accountId":"${acct}","userName":"aws:ec2-instance"},"webIdFederationData":{},"attributes":{"creationDate":"${isoSeconds(issued)}","mfaAuthenticated":"false"},"ec2RoleDelivery":"${delivery}"}`;
}

/**
 * An instance identity credential (`assumed-role/aws:ec2-instance/i-…`) issued at `issued` and fetched
 * through the IMDS path `delivery` says. Identity credentials have no vending record in CloudTrail.
 */
export function identityCred(inst: Instance, issued: number, delivery: '1.0' | '2.0', rng: Rng): Cred {
  const keyId = awsId('ASIA', inst.account.id, rng);
  const at = round(issued);
  return {
    keyId,
    kind: 'instance-identity',
    accountId: inst.account.id,
    role: undefined,
    session: inst.id,
    issued: at,
    expires: at + 6 * HOUR,
    delivery,
    vendInWindow: false,
    identityOpen: instanceIdentityRole(inst.account.id, inst.id, keyId, at, delivery),
  };
}

/** Creates a role-session credential. */
export function roleCred(
  rng: Rng,
  kind: CredKind,
  role: Role,
  session: string,
  issued: number,
  lifetime: number,
  extra: Parameters<typeof roleSessionIdentity>[4] & { vendInWindow?: boolean } = {},
): Cred {
  const keyId = awsId('ASIA', role.accountId, rng);
  const cred: Cred = {
    keyId,
    kind,
    accountId: role.accountId,
    role,
    session,
    issued,
    expires: issued + lifetime,
    vendInWindow: extra.vendInWindow ?? false,
    identityOpen: roleSessionIdentity(role, session, keyId, issued, extra),
  };
  if (extra.delivery === '1.0' || extra.delivery === '2.0') cred.delivery = extra.delivery;
  return cred;
}

const round = (ms: number) => Math.floor(ms / 1000) * 1000;

/** Times at which a key is vended on one path: launch (or before the window), then ~hourly, plus pinned times. */
function vendTimes(rng: Rng, first: number, stop: number, pinned: number[]): number[] {
  const times: number[] = [];
  const pins = [...pinned].sort((a, b) => a - b);
  let t = first;
  while (t < stop) {
    times.push(round(t));
    let next = t + rng.intIn(55, 64) * MINUTE + rng.int(MINUTE);
    const pin = pins.find((p) => p > t && p < next);
    if (pin !== undefined) next = pin;
    t = next;
  }
  return times;
}

/**
 * Fills `keys` and `identityKeys` of every instance. `revocations` maps role ARN to the time
 * AWSRevokeOlderSessions was put on it: keys issued earlier are cut off then, and every
 * instance of the role fetches a fresh key within a minute or two.
 */
export function scheduleInstanceKeys(org: Organisation, rng: Rng, revocations: Map<string, number>): void {
  for (const inst of org.instances) scheduleOne(inst, org, rng.fork(`keys:${inst.id}`), revocations);
}

function scheduleOne(inst: Instance, org: Organisation, rng: Rng, revocations: Map<string, number>): void {
  const revokedAt = revocations.get(inst.role.arn);
  const stop = Math.min(org.end, inst.terminate ?? Infinity);
  const paths: ('2.0' | '1.0')[] = inst.dualKey ? ['2.0', '1.0'] : ['2.0'];
  for (const delivery of paths) {
    const booted = inst.launch >= org.start;
    const first = booted
      ? inst.launch + rng.intIn(15, 60) * 1000 + (delivery === '1.0' ? rng.intIn(2, 20) * MINUTE : 0)
      : org.start - rng.intIn(1, 58) * MINUTE - rng.int(MINUTE);
    const pinned = inst.forcedVends.filter((f) => f.delivery === delivery).map((f) => f.at);
    let pathStop = stop;
    if (revokedAt !== undefined && revokedAt < stop) {
      if (inst.imdsChange && delivery === '1.0') pathStop = Math.min(pathStop, revokedAt);
      else pinned.push(revokedAt + rng.intIn(20, 90) * 1000);
    }
    if (inst.imdsChange && delivery === '1.0') pathStop = Math.min(pathStop, inst.imdsChange.at);
    for (const issued of vendTimes(rng, first, pathStop, pinned)) {
      const cred = roleCred(rng, 'instance', inst.role, inst.id, issued, 6 * HOUR + rng.intIn(20, 40) * MINUTE, {
        delivery,
        vendInWindow: issued >= org.start,
      });
      if (revokedAt !== undefined && issued < revokedAt) cred.revokedAt = revokedAt;
      inst.keys.push(cred);
    }
  }
  inst.keys.sort((a, b) => a.issued - b.issued);
  // The instance identity role (aws:ec2-instance): rotated hourly, never vended in CloudTrail.
  const first =
    inst.launch >= org.start ? inst.launch + rng.intIn(10, 40) * 1000 : org.start - rng.intIn(1, 58) * MINUTE;
  for (let t = first; t < stop; t += rng.intIn(55, 64) * MINUTE)
    inst.identityKeys.push(identityCred(inst, t, '2.0', rng));
}

/**
 * The key a process on the workload would sign with at `t`: usually the newest valid one,
 * sometimes the one before (SDKs keep a key until it nears expiry). Undefined when none is valid.
 */
export function keyAt(keys: readonly Cred[], t: number, rng: Rng, delivery?: string): Cred | undefined {
  let newest: Cred | undefined;
  let previous: Cred | undefined;
  for (let i = keys.length - 1; i >= 0; i--) {
    const k = keys[i]!;
    if (k.issued > t - 2000) continue;
    if (delivery !== undefined && k.delivery !== delivery) continue;
    if (t >= k.expires || (k.revokedAt !== undefined && t >= k.revokedAt)) continue;
    if (!newest) newest = k;
    else {
      previous = k;
      break;
    }
  }
  if (previous && rng.chance(0.15)) return previous;
  return newest;
}

/** Issue times on an hourly refresh rhythm from `first` until `stop`. */
function hourly(rng: Rng, first: number, stop: number): number[] {
  const times: number[] = [];
  for (let t = first; t < stop; t += rng.intIn(55, 65) * MINUTE) times.push(round(t));
  return times;
}

/** Keys of ECS tasks, Lambda execution environments and EKS pods (Pod Identity and IRSA). */
export function scheduleWorkloadKeys(org: Organisation, rng: Rng): void {
  for (const estate of org.accounts.flatMap((a) => a.regions)) {
    const ecs = estate.ecs;
    if (ecs) {
      for (const task of ecs.tasks) {
        const stop = Math.min(task.stop, org.end);
        const first = task.start >= org.start ? task.start : org.start - rng.intIn(1, 58) * MINUTE;
        for (const issued of hourly(rng, first, stop)) {
          task.keys.push(
            roleCred(rng, 'ecs', ecs.role, task.id, issued, 6 * HOUR, { vendInWindow: issued >= org.start }),
          );
        }
      }
    }
    for (const fn of estate.lambdas) {
      for (const env of fn.envs) {
        env.key = roleCred(rng, 'lambda', fn.role, fn.name, env.start, 12 * HOUR, {
          inScopeOf: fn.arn,
          vendInWindow: env.start >= org.start,
        });
      }
    }
    const eks = estate.eks;
    if (eks) {
      for (const pod of eks.pods) {
        if (pod.kind === 'node-role') continue;
        const stop = Math.min(pod.end, org.end);
        const first =
          pod.start >= org.start ? pod.start + rng.intIn(2, 10) * 1000 : org.start - rng.intIn(1, 58) * MINUTE;
        for (const issued of hourly(rng, first, stop)) {
          if (pod.kind === 'pod-identity') {
            const session = `${`eks-${eks.name}-${pod.name}`.slice(0, 27)}-${rng.uuid()}`;
            pod.keys.push(
              roleCred(rng, 'pod-identity', pod.role, session, issued, 6 * HOUR, { vendInWindow: issued >= org.start }),
            );
          } else {
            const provider = `arn:aws:iam::${estate.account.id}:oidc-provider/oidc.eks.${estate.region}.amazonaws.com/id/${eks.oidcId}`;
            pod.keys.push(
              roleCred(rng, 'irsa', pod.role, `aws-sdk-java-${issued + rng.int(1000)}`, issued, HOUR, {
                webIdProvider: provider,
                vendInWindow: issued >= org.start,
              }),
            );
          }
        }
      }
    }
  }
}
