/**
 * People and pipelines: SSO users in the console and the CLI (from the office egress and from
 * home), GitHub Actions and a self-hosted Jenkins deploying across accounts, the security
 * scanner's and the ops host's role chains, and the control plane (autoscaling launches and
 * terminations, a console launch with an Elastic IP, a NAT gateway's second EIP).
 */
import { identityOf, iamUserIdentity, roleCred, type Cred } from '../credentials.js';
import type { Role } from '../iam.js';
import type { Account, Human, Instance, Organisation, PermissionSet, RegionEstate } from '../organisation.js';
import type { Rng } from '../prng.js';
import { j, q, type EventSpec } from '../record.js';
import { HOUR, MINUTE, isoSeconds } from '../time.js';
import { UA } from './agents.js';
import { api, dynamo, getCallerIdentity, s3List, s3ListBuckets, s3Object, simple, type Caller } from './apis.js';
import { instanceRoute, natAddress } from './routes.js';
import { Schedule, type Generator, type Sink } from './types.js';
import { callerAssumeRole, samlVending, webIdentityVending } from './vending.js';

interface Timed {
  time: number;
  emit: (sink: Sink) => void;
}

/** S3 console requests arrive through AWS-owned endpoints with the user's public address. */
const AWS_OWNED_S3_ENDPOINTS = ['vpce-f40dc59d', 'vpce-a0d039c9', 'vpce-eca44785'];

export interface SsoSession {
  human: Human;
  account: Account;
  set: PermissionSet;
  cred: Cred;
  ip: string;
  mode: 'console' | 'cli';
  start: number;
  end: number;
  region: string;
}

function samlProviderOf(role: Role): string {
  const statement = role.trust.Statement[0] as { Principal?: { Federated?: string } };
  return statement.Principal?.Federated ?? '';
}

/** Opens an IAM Identity Center session: the AssumeRoleWithSAML record and, for the console, the sign-in. */
export function openSsoSession(
  org: Organisation,
  rng: Rng,
  human: Human,
  account: Account,
  set: PermissionSet,
  start: number,
  duration: number,
  ip: string,
  mode: 'console' | 'cli',
): { session: SsoSession; records: EventSpec[] } {
  const role = account.sso.get(set)!;
  const cred = roleCred(rng, 'sso', role, human.email, start, Math.max(duration, HOUR), {});
  const session: SsoSession = {
    human,
    account,
    set,
    cred,
    ip,
    mode,
    start,
    end: start + duration,
    region: account.regions[rng.chance(0.8) ? 0 : 1]!.region,
  };
  const records = [
    samlVending(cred, human.email, samlProviderOf(role), rng.pick(org.ssoServiceIps), UA.ssoSignin, rng),
  ];
  if (mode === 'console') {
    records.push({
      time: start + rng.intIn(1000, 4000),
      account: account.id,
      region: 'us-east-1',
      version: '1.09',
      identity: identityOf(cred),
      source: 'signin.amazonaws.com',
      name: 'ConsoleLogin',
      ip,
      userAgent: human.browser,
      response: '{"ConsoleLogin":"Success"}',
      additional: `{"MobileVersion":"No","MFAUsed":"No","LoginTo":"https://console.aws.amazon.com/console/home?region=${session.region}"}`,
      readOnly: false,
      eventType: 'AwsConsoleSignIn',
    });
  }
  return { session, records };
}

/** A caller for an SSO session (the CLI or the console from the user's address). */
export function ssoCaller(s: SsoSession, userAgent: string, route?: Caller['route']): Caller {
  return {
    identity: identityOf(s.cred),
    cred: s.cred,
    accountId: s.account.id,
    region: s.region,
    userAgent,
    route: route ?? (() => ({ ip: s.ip })),
  };
}

/** Where a person works from right now: the office egress or home. */
export function userIp(org: Organisation, human: Human, rng: Rng): string {
  if (rng.chance(human.officeShare)) {
    const block = rng.chance(0.7) ? org.onPrem[0]! : org.onPrem[1]!;
    return rng.pick(block.hosts.slice(1, -1));
  }
  return human.home.ip;
}

export class HumanGenerator implements Generator {
  readonly name = 'sso-users';
  readonly scalable = true;
  private readonly sessions: SsoSession[] = [];
  private readonly opening: Schedule<Timed>;

  constructor(
    private readonly org: Organisation,
    private readonly rng: Rng,
  ) {
    const items: Timed[] = [];
    const span = org.end - org.start;
    for (const human of org.humans) {
      const count = rng.intIn(1, 3);
      for (let i = 0; i < count; i++) {
        const { account, set } = rng.pick(human.sets);
        const start = org.start + Math.floor(rng.float() * span * 0.9);
        const duration = rng.intIn(15, 120) * MINUTE;
        const mode = rng.chance(0.55) ? 'console' : 'cli';
        const opened = openSsoSession(
          org,
          rng,
          human,
          account,
          set,
          Math.floor(start / 1000) * 1000,
          duration,
          userIp(org, human, rng),
          mode,
        );
        this.sessions.push(opened.session);
        for (const record of opened.records) items.push({ time: record.time, emit: (sink) => sink.ct(record) });
      }
    }
    this.opening = new Schedule(items);
  }

  run(t0: number, t1: number, sink: Sink, scale: number): void {
    for (const item of this.opening.take(t1)) item.emit(sink);
    const rng = this.rng;
    for (const s of this.sessions) {
      const a = Math.max(t0, s.start + 5000);
      const b = Math.min(t1, s.end);
      if (a >= b) continue;
      const n = rng.poisson(((s.mode === 'console' ? 2.5 : 1.2) * scale * (b - a)) / MINUTE);
      for (let i = 0; i < n; i++) {
        const t = a + Math.floor(rng.float() * (b - a));
        if (s.mode === 'console') this.console(sink, s, t);
        else this.cli(sink, s, t);
      }
    }
  }

  private console(sink: Sink, s: SsoSession, t: number): void {
    const rng = this.rng;
    const pick = rng.float();
    const bucket = rng.pick(Object.values(s.account.buckets));
    if (pick < 0.35) {
      // The S3 console: an AWS-owned endpoint id with the user's public address.
      const vpce = rng.pick(AWS_OWNED_S3_ENDPOINTS);
      const c = ssoCaller(s, UA.s3Console, () => ({ ip: s.ip, vpce }));
      const which = rng.float();
      if (which < 0.3) s3ListBuckets(sink, c, t, rng);
      else if (which < 0.6) s3List(sink, c, t, rng, bucket, '');
      else
        api(sink, c, t, rng, {
          service: 's3',
          name: rng.pick(['GetBucketLocation', 'GetBucketPolicyStatus', 'GetBucketAcl', 'GetBucketVersioning']),
          host: `${bucket}.s3.${c.region}.amazonaws.com`,
          request: `{"bucketName":${q(bucket)},"Host":"${bucket}.s3.${c.region}.amazonaws.com"}`,
        });
    } else if (pick < 0.6) {
      simple(
        sink,
        ssoCaller(s, UA.awsInternal),
        t,
        rng,
        'ec2',
        rng.pick(['DescribeInstances', 'DescribeSecurityGroups', 'DescribeVpcs', 'DescribeAddresses']),
      );
    } else if (pick < 0.72) {
      simple(sink, ssoCaller(s, UA.awsInternal), t, rng, 'iam', rng.pick(['ListRoles', 'GetRole', 'ListPolicies']));
    } else if (pick < 0.85) {
      simple(sink, ssoCaller(s, s.human.browser), t, rng, 'monitoring', rng.pick(['DescribeAlarms', 'GetMetricData']));
    } else {
      // Console back-end calls made inside AWS on the user's behalf.
      simple(
        sink,
        ssoCaller(s, UA.awsInternal, () => ({ ip: 'AWS Internal' })),
        t,
        rng,
        'health',
        'DescribeEventAggregates',
        {
          region: 'us-east-1',
          host: '',
        },
      );
    }
  }

  private cli(sink: Sink, s: SsoSession, t: number): void {
    const rng = this.rng;
    const pick = rng.float();
    if (pick < 0.25) {
      s3ListBuckets(sink, ssoCaller(s, UA.cli('s3.ls')), t, rng);
      s3List(
        sink,
        ssoCaller(s, UA.cli('s3.ls')),
        t + rng.intIn(500, 3000),
        rng,
        rng.pick(Object.values(s.account.buckets)),
        '',
      );
    } else if (pick < 0.45)
      simple(sink, ssoCaller(s, UA.cli('ec2.describe-instances')), t, rng, 'ec2', 'DescribeInstances');
    else if (pick < 0.6)
      simple(sink, ssoCaller(s, UA.cli('logs.filter-log-events')), t, rng, 'logs', 'FilterLogEvents', {
        request: `{"logGroupName":"/ecs/orders-api","startTime":${t - HOUR},"limit":100}`,
      });
    else if (pick < 0.72) getCallerIdentity(sink, ssoCaller(s, UA.cli('sts.get-caller-identity')), t, rng);
    else if (pick < 0.82)
      simple(sink, ssoCaller(s, UA.cli('ssm.start-session')), t, rng, 'ssm', 'StartSession', {
        readOnly: false,
        request: `{"target":"${rng.pick(s.account.regions[0]!.instances.length ? s.account.regions[0]!.instances : s.account.regions[1]!.instances)?.id ?? 'i-0'}"}`,
      });
    else if (pick < 0.92)
      simple(sink, ssoCaller(s, UA.cli('ecs.describe-services')), t, rng, 'ecs', 'DescribeServices');
    else
      dynamo(sink, ssoCaller(s, UA.cli('dynamodb.scan')), t, rng, 'Scan', 'orders', '', {
        request: '{"tableName":"orders","limit":20}',
      });
  }
}

// ---------------------------------------------------------------------------------------------
// CI: GitHub Actions (OIDC) and a self-hosted Jenkins, deploying into member accounts

export class CiGenerator implements Generator {
  readonly name = 'ci';
  readonly scalable = false;
  private readonly schedule: Schedule<Timed>;

  constructor(
    private readonly org: Organisation,
    private readonly rng: Rng,
  ) {
    const items: Timed[] = [];
    for (const target of org.workloads) {
      for (let t = org.start + rng.intIn(5, 60) * MINUTE; t < org.end - 10 * MINUTE; t += rng.intIn(70, 120) * MINUTE) {
        const at = Math.floor(t / 1000) * 1000;
        const viaGithub = rng.chance(target === org.storyAccount ? 0.8 : 0.55);
        for (const record of viaGithub ? this.github(target, at) : this.jenkins(target, at)) {
          items.push({ time: record.time, emit: (sink) => sink.ct(record) });
        }
      }
    }
    this.schedule = new Schedule(items);
  }

  run(_t0: number, t1: number, sink: Sink): void {
    for (const item of this.schedule.take(t1)) item.emit(sink);
  }

  private github(target: Account, at: number): EventSpec[] {
    const { org, rng } = this;
    const tooling = org.tooling;
    const runner = org.book.publicAddress('azure').ip;
    const runId = rng.digits(10);
    const role = tooling.iam.roles.get('github-actions-deploy')!;
    const region = 'us-east-1';
    const provider = {
      arn: `arn:aws:iam::${tooling.id}:oidc-provider/token.actions.githubusercontent.com`,
      host: org.github.providerHost,
      subject: `repo:${org.github.repo}:ref:refs/heads/main`,
      audience: 'sts.amazonaws.com',
    };
    const ci = roleCred(rng, 'github', role, 'GitHubActions', at, HOUR, { webIdProvider: provider.arn });
    const ua = `${UA.jsV3('sts')} configure-aws-credentials-for-github-actions`;
    const records: EventSpec[] = [webIdentityVending(ci, provider, runner, ua, region, rng)];
    return records.concat(
      this.deploy(target, at, {
        identity: identityOf(ci),
        cred: ci,
        ip: runner,
        session: `gha-${runId}`,
        stateAccount: tooling,
      }),
    );
  }

  private jenkins(target: Account, at: number): EventSpec[] {
    const { org, rng } = this;
    const user = org.jenkins.user;
    return this.deploy(target, at, {
      identity: iamUserIdentity(user),
      ip: org.jenkins.ip,
      session: `jenkins-deploy-${rng.digits(4)}`,
      stateAccount: org.tooling,
    });
  }

  /** terraform-deploy in the member account, assumed cross-account, then a plan/apply's calls. */
  private deploy(
    target: Account,
    at: number,
    from: { identity: string; cred?: Cred; ip: string; session: string; stateAccount: Account },
  ): EventSpec[] {
    const rng = this.rng;
    const region = target.regions[0]!.region;
    const role = target.iam.roles.get('terraform-deploy')!;
    const t0 = at + rng.intIn(5, 20) * 1000;
    const deploy = roleCred(rng, 'chain', role, from.session, t0, HOUR, {});
    const shared = rng.uuid();
    const caller = { identity: from.identity, ip: from.ip, userAgent: UA.terraform('sts'), region };
    // Cross-account AssumeRole is recorded in both accounts, tied by sharedEventID.
    const records: EventSpec[] = [
      callerAssumeRole(deploy, caller, target.id, rng, { sharedEventId: shared }),
      callerAssumeRole(deploy, caller, this.org.tooling.id, rng, { sharedEventId: shared }),
    ];
    const collect: Sink = { ct: (spec) => records.push(spec), web: () => undefined };
    const tf = (api: string): Caller => ({
      identity: identityOf(deploy),
      cred: deploy,
      accountId: target.id,
      region,
      userAgent: UA.terraform(api),
      route: () => ({ ip: from.ip }),
    });
    // Terraform state and lock live in the tooling account, read with the pipeline's own identity.
    const stateBucket = `${this.org.slug}-terraform-state-${this.org.tooling.id}`;
    const stateCaller: Caller = {
      identity: from.identity,
      ...(from.cred ? { cred: from.cred } : {}),
      accountId: from.stateAccount.id,
      region: 'us-east-1',
      userAgent: UA.terraform('s3'),
      route: () => ({ ip: from.ip }),
    };
    let t = t0 + 2000;
    s3Object(collect, stateCaller, t, rng, 'GetObject', stateBucket, `${target.name}/terraform.tfstate`);
    dynamo(
      collect,
      { ...stateCaller, userAgent: UA.terraform('dynamodb') },
      t + 300,
      rng,
      'PutItem',
      'terraform-locks',
      `${stateBucket}/${target.name}/terraform.tfstate`,
    );
    const reads: [string, string][] = [
      ['ec2', 'DescribeVpcs'],
      ['ec2', 'DescribeSubnets'],
      ['ec2', 'DescribeSecurityGroups'],
      ['ec2', 'DescribeLaunchTemplateVersions'],
      ['ec2', 'DescribeNatGateways'],
      ['ec2', 'DescribeVpcEndpoints'],
      ['iam', 'GetRole'],
      ['iam', 'GetRolePolicy'],
      ['iam', 'ListAttachedRolePolicies'],
      ['iam', 'GetInstanceProfile'],
      ['s3', 'GetBucketPolicy'],
      ['s3', 'GetBucketVersioning'],
      ['dynamodb', 'DescribeTable'],
      ['ecs', 'DescribeServices'],
      ['lambda', 'GetFunction'],
      ['kms', 'DescribeKey'],
    ];
    const n = rng.intIn(18, 40);
    for (let i = 0; i < n; i++) {
      t += rng.intIn(100, 4000);
      const [service, name] = rng.pick(reads);
      if (service === 's3') {
        const bucket = rng.pick(Object.values(target.buckets));
        api(collect, tf('s3'), t, rng, {
          service,
          name,
          host: `${bucket}.s3.${region}.amazonaws.com`,
          request: `{"bucketName":${q(bucket)},"Host":"${bucket}.s3.${region}.amazonaws.com"}`,
          ...(name === 'GetBucketPolicy' && rng.chance(0.4)
            ? { errorCode: 'NoSuchBucketPolicy', errorMessage: 'The bucket policy does not exist' }
            : {}),
        });
      } else simple(collect, tf(service), t, rng, service, name);
    }
    if (target.regions[0]!.ecs && rng.chance(0.5)) {
      t += rng.intIn(1000, 5000);
      simple(collect, tf('ecs'), t, rng, 'ecs', 'UpdateService', {
        readOnly: false,
        request: `{"cluster":"${target.name}-cluster","service":"orders-api","forceNewDeployment":true}`,
      });
    }
    s3Object(collect, stateCaller, t + 1500, rng, 'PutObject', stateBucket, `${target.name}/terraform.tfstate`);
    dynamo(
      collect,
      { ...stateCaller, userAgent: UA.terraform('dynamodb') },
      t + 1800,
      rng,
      'DeleteItem',
      'terraform-locks',
      `${stateBucket}/${target.name}/terraform.tfstate`,
    );
    return records;
  }
}

// ---------------------------------------------------------------------------------------------
// Role chains made from instances themselves (must not look like theft)

export class ChainGenerator implements Generator {
  readonly name = 'instance-chains';
  readonly scalable = false;
  private readonly schedule: Schedule<Timed>;

  constructor(
    private readonly org: Organisation,
    private readonly rng: Rng,
  ) {
    const items: Timed[] = [];
    const push = (records: EventSpec[]) => {
      for (const r of records) items.push({ time: r.time, emit: (sink) => sink.ct(r) });
    };
    for (const inst of org.instances) {
      if (inst.purpose === 'ops') {
        for (
          let t = org.start + rng.intIn(3, 50) * MINUTE;
          t < Math.min(org.end, inst.terminate ?? Infinity);
          t += rng.intIn(55, 70) * MINUTE
        ) {
          push(this.opsChain(inst, Math.floor(t / 1000) * 1000));
        }
      }
      if (inst.purpose === 'scanner' && inst.estate.primary && inst.account === org.tooling) {
        for (let t = org.start + rng.intIn(3, 40) * MINUTE; t < org.end; t += rng.intIn(55, 65) * MINUTE) {
          for (const member of org.workloads)
            push(this.auditChain(inst, member, Math.floor(t / 1000) * 1000 + rng.intIn(0, 120) * 1000));
        }
      }
    }
    this.schedule = new Schedule(items);
  }

  run(_t0: number, t1: number, sink: Sink): void {
    for (const item of this.schedule.take(t1)) item.emit(sink);
  }

  private instanceKey(inst: Instance, t: number): Cred | undefined {
    let best: Cred | undefined;
    for (const k of inst.keys)
      if (
        k.delivery === '2.0' &&
        k.issued < t - 2000 &&
        t < k.expires &&
        !(k.revokedAt !== undefined && t >= k.revokedAt)
      )
        best = k;
    return best;
  }

  /** The ops host assumes the platform admin role for its maintenance job, all from itself. */
  private opsChain(inst: Instance, at: number): EventSpec[] {
    const rng = this.rng;
    const key = this.instanceKey(inst, at);
    if (!key) return [];
    const admin = inst.account.iam.roles.get('platform-admin-role')!;
    const route = instanceRoute(inst, 'sts', at, rng);
    const chained = roleCred(rng, 'chain', admin, `ops-maintenance-${rng.digits(6)}`, at, HOUR, {});
    const records: EventSpec[] = [
      callerAssumeRole(
        chained,
        {
          identity: identityOf(key),
          ip: route.ip,
          userAgent: UA.cli('sts.assume-role'),
          region: inst.estate.region,
          ...(route.vpce ? { vpce: route.vpce, vpceAccount: inst.account.id } : {}),
        },
        inst.account.id,
        rng,
      ),
    ];
    const collect: Sink = { ct: (spec) => records.push(spec), web: () => undefined };
    const c: Caller = {
      identity: identityOf(chained),
      cred: chained,
      accountId: inst.account.id,
      region: inst.estate.region,
      userAgent: UA.cli('ec2.create-snapshot'),
      route: (service) => instanceRoute(inst, service, at, rng),
    };
    let t = at + 3000;
    for (let i = rng.intIn(3, 8); i > 0; i--) {
      t += rng.intIn(500, 20_000);
      const name = rng.pick(['DescribeVolumes', 'CreateSnapshot', 'DescribeSnapshots', 'CreateTags']);
      simple(
        collect,
        c,
        t,
        rng,
        'ec2',
        name,
        name === 'CreateSnapshot'
          ? { readOnly: false, request: `{"volumeId":"vol-0${rng.hex(16)}","description":"nightly"}` }
          : {},
      );
    }
    return records;
  }

  /** The tooling scanner reads a member account through its security-audit role. */
  private auditChain(inst: Instance, member: Account, at: number): EventSpec[] {
    const rng = this.rng;
    const key = this.instanceKey(inst, at);
    if (!key) return [];
    const role = member.iam.roles.get('security-audit')!;
    const ip = natAddress(inst.subnet, at, rng);
    const chained = roleCred(rng, 'chain', role, `prowler-${rng.digits(10)}`, at, HOUR, {});
    const shared = rng.uuid();
    const caller = { identity: identityOf(key), ip, userAgent: UA.boto3, region: inst.estate.region };
    const records: EventSpec[] = [
      callerAssumeRole(chained, caller, member.id, rng, { sharedEventId: shared }),
      callerAssumeRole(chained, caller, inst.account.id, rng, { sharedEventId: shared }),
    ];
    const collect: Sink = { ct: (spec) => records.push(spec), web: () => undefined };
    const estate: RegionEstate = member.regions[0]!;
    const c: Caller = {
      identity: identityOf(chained),
      cred: chained,
      accountId: member.id,
      region: estate.region,
      userAgent: UA.boto3,
      route: () => ({ ip }),
    };
    let t = at + 2000;
    for (let i = rng.intIn(6, 14); i > 0; i--) {
      t += rng.intIn(200, 3000);
      const [service, name] = rng.pick([
        ['ec2', 'DescribeInstances'],
        ['ec2', 'DescribeSecurityGroups'],
        ['ec2', 'DescribeInstanceAttribute'],
        ['iam', 'ListRoles'],
        ['iam', 'GetAccountPasswordPolicy'],
        ['iam', 'ListUsers'],
        ['cloudtrail', 'DescribeTrails'],
        ['kms', 'ListKeys'],
      ] as const);
      simple(collect, c, t, rng, service, name);
    }
    return records;
  }
}

// ---------------------------------------------------------------------------------------------
// Control plane

function runInstancesResponse(inst: Instance, rng: Rng): string {
  const launch = inst.launch;
  const association = inst.publicIp
    ? {
        association: {
          publicIp: inst.publicIp,
          publicDnsName: `ec2-${inst.publicIp.replace(/\./g, '-')}.compute-1.amazonaws.com`,
          ipOwnerId: 'amazon',
        },
      }
    : {};
  return j({
    requestId: rng.uuid(),
    reservationId: inst.reservationId,
    ownerId: inst.account.id,
    groupSet: {},
    instancesSet: {
      items: [
        {
          instanceId: inst.id,
          imageId: inst.ami,
          currentInstanceBootMode: 'uefi',
          instanceState: { code: 0, name: 'pending' },
          privateDnsName: `ip-${inst.privateIp.replace(/\./g, '-')}.ec2.internal`,
          amiLaunchIndex: 0,
          productCodes: {},
          instanceType: inst.type,
          launchTime: launch,
          placement: { availabilityZone: inst.subnet.az, tenancy: 'default' },
          monitoring: { state: 'disabled' },
          subnetId: inst.subnet.id,
          vpcId: inst.estate.vpc.id,
          privateIpAddress: inst.privateIp,
          stateReason: { code: 'pending', message: 'pending' },
          architecture: inst.type.includes('g.') ? 'arm64' : 'x86_64',
          rootDeviceType: 'ebs',
          rootDeviceName: '/dev/xvda',
          blockDeviceMapping: {},
          virtualizationType: 'hvm',
          hypervisor: 'xen',
          tagSet: {
            items: [
              { key: 'Name', value: inst.name },
              ...(inst.asg ? [{ key: 'aws:autoscaling:groupName', value: inst.asg }] : []),
            ],
          },
          groupSet: { items: [{ groupId: `sg-0${rng.hex(16)}`, groupName: `${inst.purpose}-sg` }] },
          sourceDestCheck: true,
          networkInterfaceSet: {
            items: [
              {
                networkInterfaceId: inst.eniId,
                subnetId: inst.subnet.id,
                vpcId: inst.estate.vpc.id,
                ownerId: inst.account.id,
                status: 'in-use',
                macAddress: inst.macAddress,
                privateIpAddress: inst.privateIp,
                privateDnsName: `ip-${inst.privateIp.replace(/\./g, '-')}.ec2.internal`,
                sourceDestCheck: true,
                interfaceType: 'interface',
                groupSet: {},
                attachment: {
                  attachmentId: `eni-attach-0${rng.hex(16)}`,
                  deviceIndex: 0,
                  networkCardIndex: 0,
                  status: 'attaching',
                  attachTime: launch,
                  deleteOnTermination: true,
                },
                ...association,
                privateIpAddressesSet: { item: [{ privateIpAddress: inst.privateIp, primary: true, ...association }] },
                ipv6AddressesSet: inst.ipv6 ? { items: [{ ipv6Address: inst.ipv6 }] } : {},
                tagSet: {},
              },
            ],
          },
          iamInstanceProfile: { arn: inst.role.instanceProfile!.arn, id: inst.role.instanceProfile!.id },
          ebsOptimized: false,
          enaSupport: true,
          cpuOptions: { coreCount: 1, threadsPerCore: 2 },
          capacityReservationSpecification: { capacityReservationPreference: 'open' },
          hibernationOptions: { configured: false },
          enclaveOptions: { enabled: false },
          metadataOptions: {
            state: 'pending',
            httpTokens: inst.httpTokens,
            httpPutResponseHopLimit: inst.hopLimit,
            httpEndpoint: 'enabled',
            httpProtocolIpv4: 'enabled',
            httpProtocolIpv6: inst.ipv6 ? 'enabled' : 'disabled',
            instanceMetadataTags: 'disabled',
          },
          maintenanceOptions: { autoRecovery: 'default' },
          privateDnsNameOptions: {
            hostnameType: 'ip-name',
            enableResourceNameDnsARecord: false,
            enableResourceNameDnsAAAARecord: false,
          },
        },
      ],
    },
  });
}

function slrIdentity(account: Account, roleName: string, session: string, invokedBy: string, t: number): string {
  const role = account.iam.roles.get(roleName)!;
  return `{"type":"AssumedRole","principalId":"${role.id}:${session}","arn":"arn:aws:sts::${account.id}:assumed-role/${role.name}/${session}","accountId":"${account.id}","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"${role.id}","arn":"${role.arn}","accountId":"${account.id}","userName":"${role.name}"},"webIdFederationData":{},"attributes":{"creationDate":"${isoSeconds(t - 60_000)}","mfaAuthenticated":"false"}},"invokedBy":"${invokedBy}"}`;
}

export class ControlPlaneGenerator implements Generator {
  readonly name = 'control-plane';
  readonly scalable = false;
  private readonly schedule: Schedule<Timed>;

  constructor(
    private readonly org: Organisation,
    private readonly rng: Rng,
  ) {
    const items: Timed[] = [];
    const push = (r: EventSpec) => items.push({ time: r.time, emit: (sink) => sink.ct(r) });
    const admin = org.humans.find((h) => h.admin)!;
    for (const inst of org.instances) {
      const region = inst.estate.region;
      const account = inst.account;
      if (inst.launchedBy === 'autoscaling') {
        const t = inst.launch - rng.intIn(3, 15) * 1000;
        push({
          time: t,
          account: account.id,
          region,
          identity: slrIdentity(account, 'AWSServiceRoleForAutoScaling', 'AutoScaling', 'autoscaling.amazonaws.com', t),
          source: 'ec2.amazonaws.com',
          name: 'RunInstances',
          ip: 'autoscaling.amazonaws.com',
          userAgent: 'autoscaling.amazonaws.com',
          request: j({
            instancesSet: { items: [{ minCount: 1, maxCount: 1 }] },
            instanceType: inst.type,
            blockDeviceMapping: {},
            availabilityZone: inst.subnet.az,
            monitoring: { enabled: false },
            subnetId: inst.subnet.id,
            disableApiTermination: false,
            disableApiStop: false,
            clientToken: `fleet-${rng.uuid()}-0`,
            tagSpecificationSet: {
              items: [{ resourceType: 'instance', tags: [{ key: 'aws:autoscaling:groupName', value: inst.asg }] }],
            },
            launchTemplate: { launchTemplateId: `lt-0${rng.hex(16)}`, version: String(rng.intIn(3, 30)) },
          }),
          response: runInstancesResponse(inst, rng),
          readOnly: false,
        });
      }
      if (inst.launchedBy === 'console') {
        const opened = openSsoSession(
          org,
          rng,
          admin,
          account,
          'AdministratorAccess',
          inst.launch - 8 * MINUTE,
          90 * MINUTE,
          userIp(org, admin, rng),
          'console',
        );
        opened.records.forEach(push);
        const s = opened.session;
        push({
          time: inst.launch - 5000,
          account: account.id,
          region,
          identity: identityOf(s.cred),
          source: 'ec2.amazonaws.com',
          name: 'RunInstances',
          ip: s.ip,
          userAgent: UA.awsInternal,
          request: j({
            instancesSet: { items: [{ imageId: inst.ami, minCount: 1, maxCount: 1 }] },
            instanceType: inst.type,
            subnetId: inst.subnet.id,
            iamInstanceProfile: { arn: inst.role.instanceProfile!.arn },
            metadataOptions: {
              httpTokens: inst.httpTokens,
              httpPutResponseHopLimit: inst.hopLimit,
              httpEndpoint: 'enabled',
            },
          }),
          response: runInstancesResponse(inst, rng),
          readOnly: false,
          tlsHost: `ec2.${region}.amazonaws.com`,
        });
        if (inst.eip) {
          const eip = inst.eip;
          push({
            time: eip.allocatedAt,
            account: account.id,
            region,
            identity: identityOf(s.cred),
            source: 'ec2.amazonaws.com',
            name: 'AllocateAddress',
            ip: s.ip,
            userAgent: UA.awsInternal,
            request: '{"domain":"vpc"}',
            response: j({
              requestId: rng.uuid(),
              publicIp: eip.publicIp,
              domain: 'vpc',
              allocationId: eip.allocationId,
              networkBorderGroup: region,
              publicIpv4Pool: 'amazon',
            }),
            readOnly: false,
            tlsHost: `ec2.${region}.amazonaws.com`,
          });
          push({
            time: eip.at - rng.intIn(2, 10) * 1000,
            account: account.id,
            region,
            identity: identityOf(s.cred),
            source: 'ec2.amazonaws.com',
            name: 'AssociateAddress',
            ip: s.ip,
            userAgent: UA.awsInternal,
            request: j({ allocationId: eip.allocationId, instanceId: inst.id, allowReassociation: false }),
            response: j({ requestId: rng.uuid(), _return: true, associationId: eip.associationId }),
            readOnly: false,
            tlsHost: `ec2.${region}.amazonaws.com`,
          });
        }
      }
      if (inst.terminate !== undefined && inst.terminate < org.end && inst.asg) {
        const t = inst.terminate - rng.intIn(20, 60) * 1000;
        push({
          time: t,
          account: account.id,
          region,
          identity: slrIdentity(account, 'AWSServiceRoleForAutoScaling', 'AutoScaling', 'autoscaling.amazonaws.com', t),
          source: 'ec2.amazonaws.com',
          name: 'TerminateInstances',
          ip: 'autoscaling.amazonaws.com',
          userAgent: 'autoscaling.amazonaws.com',
          request: j({ instancesSet: { items: [{ instanceId: inst.id }] } }),
          response: j({
            requestId: rng.uuid(),
            instancesSet: {
              items: [
                {
                  instanceId: inst.id,
                  currentState: { code: 32, name: 'shutting-down' },
                  previousState: { code: 16, name: 'running' },
                },
              ],
            },
          }),
          readOnly: false,
        });
      }
    }
    // A second EIP added to a NAT gateway (AssociateNatGatewayAddress).
    for (const estate of org.accounts.flatMap((a) => a.regions)) {
      for (const nat of estate.nats) {
        for (const address of nat.addresses) {
          if (address.associatedAt === -Infinity) continue;
          const account = estate.account;
          const opened = openSsoSession(
            org,
            rng,
            admin,
            account,
            'AdministratorAccess',
            address.associatedAt - 12 * MINUTE,
            40 * MINUTE,
            userIp(org, admin, rng),
            'cli',
          );
          opened.records.forEach(push);
          const s = opened.session;
          const common = {
            account: account.id,
            region: estate.region,
            identity: identityOf(s.cred),
            source: 'ec2.amazonaws.com',
            ip: s.ip,
            userAgent: UA.cli('ec2.associate-nat-gateway-address'),
            readOnly: false,
            tlsHost: `ec2.${estate.region}.amazonaws.com`,
          };
          push({
            ...common,
            time: address.associatedAt - rng.intIn(3, 8) * MINUTE,
            name: 'AllocateAddress',
            userAgent: UA.cli('ec2.allocate-address'),
            request: '{"domain":"vpc"}',
            response: j({
              requestId: rng.uuid(),
              publicIp: address.publicIp,
              domain: 'vpc',
              allocationId: address.allocationId,
              networkBorderGroup: estate.region,
              publicIpv4Pool: 'amazon',
            }),
          });
          push({
            ...common,
            time: address.associatedAt - rng.intIn(20, 50) * 1000,
            name: 'AssociateNatGatewayAddress',
            request: j({
              AssociateNatGatewayAddressRequest: {
                NatGatewayId: nat.id,
                AllocationId: { tag: 1, content: address.allocationId },
              },
            }),
            response: j({
              AssociateNatGatewayAddressResponse: {
                natGatewayId: nat.id,
                natGatewayAddressSet: {
                  item: {
                    allocationId: address.allocationId,
                    networkInterfaceId: nat.eniId,
                    privateIp: address.privateIp,
                    publicIp: address.publicIp,
                    isPrimary: false,
                    status: 'associating',
                  },
                },
                requestId: rng.uuid(),
                xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
              },
            }),
          });
        }
      }
    }
    this.schedule = new Schedule(items);
  }

  run(_t0: number, t1: number, sink: Sink): void {
    for (const item of this.schedule.take(t1)) item.emit(sink);
  }
}
