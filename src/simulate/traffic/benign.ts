/**
 * Benign workload traffic: credential vending, the applications on instances, the SSM and
 * CloudWatch agents, ECS tasks, Lambda functions and EKS pods. Every call signed with a
 * workload's key comes from that workload's own network path.
 */
import { identityOf, keyAt, type Cred } from '../credentials.js';
import { awsId } from '../ids.js';
import type { Account, Instance, Organisation, Purpose } from '../organisation.js';
import { isRunning } from '../organisation.js';
import type { Rng } from '../prng.js';
import { q, type EventSpec } from '../record.js';
import { HOUR, MINUTE, isoSeconds } from '../time.js';
import { UA } from './agents.js';
import {
  api,
  dynamo,
  getCallerIdentity,
  implicitDeny,
  kms,
  putMetricData,
  s3List,
  s3ListBuckets,
  s3Object,
  secret,
  secureParameters,
  simple,
  sqs,
  type Caller,
} from './apis.js';
import { instanceCaller, instanceRoute, privateEniRoute } from './routes.js';
import { Schedule, type Generator, type Sink } from './types.js';
import { serviceVending, webIdentityVending } from './vending.js';

/** Overlap of [t0, t1) with a lifetime, or undefined. */
function clip(t0: number, t1: number, from: number, to: number): [number, number] | undefined {
  const a = Math.max(t0, from);
  const b = Math.min(t1, to);
  return a < b ? [a, b] : undefined;
}

export function sessionArn(cred: Cred): string {
  return `arn:aws:sts::${cred.accountId}:assumed-role/${cred.role?.name ?? 'aws:ec2-instance'}/${cred.session}`;
}

// ---------------------------------------------------------------------------------------------
// Vending

interface VendItem {
  time: number;
  emit: (sink: Sink) => void;
}

/** Emits the in-window vending events of instance, ECS, Lambda and EKS credentials. */
export class VendingGenerator implements Generator {
  readonly name = 'vending';
  readonly scalable = false;
  private readonly schedule: Schedule<VendItem>;

  constructor(org: Organisation, rng: Rng) {
    const items: VendItem[] = [];
    const add = (cred: Cred, build: () => Parameters<Sink['ct']>[0]) => {
      if (cred.vendInWindow) items.push({ time: cred.issued, emit: (sink) => sink.ct(build()) });
    };
    for (const inst of org.instances) {
      for (const cred of inst.keys) add(cred, () => serviceVending(cred, 'ec2.amazonaws.com', inst.estate.region, rng));
    }
    for (const estate of org.accounts.flatMap((a) => a.regions)) {
      for (const task of estate.ecs?.tasks ?? []) {
        for (const cred of task.keys)
          add(cred, () => serviceVending(cred, 'ecs-tasks.amazonaws.com', estate.region, rng));
      }
      for (const fn of estate.lambdas) {
        for (const env of fn.envs)
          if (env.key) add(env.key, () => serviceVending(env.key!, 'lambda.amazonaws.com', estate.region, rng));
      }
      const eks = estate.eks;
      for (const pod of eks?.pods ?? []) {
        for (const cred of pod.keys) {
          if (pod.kind === 'pod-identity') {
            const tags = [
              { key: 'eks-cluster-arn', value: eks!.arn },
              { key: 'eks-cluster-name', value: eks!.name },
              { key: 'kubernetes-namespace', value: pod.namespace },
              { key: 'kubernetes-service-account', value: pod.serviceAccount },
              { key: 'kubernetes-pod-name', value: pod.name },
              { key: 'kubernetes-pod-uid', value: pod.uid },
            ];
            add(cred, () => serviceVending(cred, 'pods.eks.amazonaws.com', estate.region, rng, { tags }));
          } else {
            const provider = {
              arn: `arn:aws:iam::${estate.account.id}:oidc-provider/oidc.eks.${estate.region}.amazonaws.com/id/${eks!.oidcId}`,
              host: `oidc.eks.${estate.region}.amazonaws.com`,
              subject: `system:serviceaccount:${pod.namespace}:${pod.serviceAccount}`,
              audience: 'sts.amazonaws.com',
            };
            add(cred, () => {
              const route = instanceRoute(pod.node, 'sts', cred.issued, rng);
              const spec = webIdentityVending(cred, provider, route.ip, UA.javaIrsa, estate.region, rng);
              if (route.vpce) spec.vpcEndpointId = route.vpce;
              return spec;
            });
          }
        }
      }
    }
    this.schedule = new Schedule(items);
  }

  run(_t0: number, t1: number, sink: Sink): void {
    for (const item of this.schedule.take(t1)) item.emit(sink);
  }
}

// ---------------------------------------------------------------------------------------------
// Applications on instances

type AppCall = (sink: Sink, c: Caller, t: number, rng: Rng, inst: Instance) => void;

const objectKey = {
  product: (rng: Rng) => `products/${rng.intIn(1000, 9999)}/image-${rng.hex(8)}.jpg`,
  media: (rng: Rng) => `uploads/${rng.uuid()}.png`,
  export: (rng: Rng, t: number) => `exports/${isoSeconds(t).slice(0, 10)}/orders-${rng.hex(10)}.csv.gz`,
  raw: (rng: Rng, t: number) =>
    `raw/events/dt=${isoSeconds(t).slice(0, 10)}/hour=${isoSeconds(t).slice(11, 13)}/part-${rng.hex(12)}.parquet`,
};

function uaFor(purpose: Purpose, service: string): string {
  switch (purpose) {
    case 'web':
      return UA.jsV3(service);
    case 'worker':
    case 'scanner':
      return UA.boto3;
    case 'batch':
      return UA.java;
    case 'eks-node':
    case 'edge':
      return UA.goV2(service);
    default:
      return UA.cli(service);
  }
}

/** Sets the user agent of the caller for the service being called, then calls. */
function withUa(purpose: Purpose, service: string, fn: (c: Caller) => void): (c: Caller) => void {
  return (c) => fn({ ...c, userAgent: uaFor(purpose, service) });
}

const MIXES: Record<Purpose, [AppCall, number][]> = {
  web: [
    [
      (s, c, t, r) =>
        withUa('web', 'dynamodb', (x) =>
          dynamo(s, x, t, r, 'GetItem', 'storefront-catalog', `PRODUCT#${r.intIn(1000, 9999)}`),
        )(c),
      30,
    ],
    [(s, c, t, r) => withUa('web', 'dynamodb', (x) => dynamo(s, x, t, r, 'Query', 'storefront-sessions', ''))(c), 12],
    [
      (s, c, t, r, i) =>
        withUa('web', 's3', (x) => {
          const missing = r.chance(0.02);
          s3Object(s, x, t, r, 'GetObject', i.account.buckets.assets, objectKey.product(r), {
            ...(missing ? { errorCode: 'NoSuchKey', errorMessage: 'The specified key does not exist.' } : {}),
            ...(r.chance(0.3) ? { kmsKeyArn: i.account.kmsKeyArn(i.estate.region) } : {}),
          });
        })(c),
      20,
    ],
    [(s, c, t, r) => withUa('web', 'sqs', (x) => sqs(s, x, t, r, 'SendMessage', 'orders-intake'))(c), 8],
    [(s, c, t, r) => void putMetricData(s, c, t, r, 'CWAgent', UA.cwAgent), 12],
    [
      (s, c, t, r, i) =>
        withUa('web', 'kms', (x) => kms(s, x, t, r, 'Decrypt', i.account.kmsKeyArn(i.estate.region)))(c),
      4,
    ],
    [
      (s, c, t, r, i) =>
        withUa('web', 's3', (x) => s3Object(s, x, t, r, 'PutObject', i.account.buckets.media, objectKey.media(r)))(c),
      5,
    ],
    [
      (s, c, t, r) =>
        withUa('web', 'ssm', (x) =>
          simple(s, x, t, r, 'ssm', 'GetParameter', {
            request: '{"name":"/storefront/feature-flags","withDecryption":false}',
            ...(r.chance(0.05) ? { errorCode: 'ThrottlingException', errorMessage: 'Rate exceeded' } : {}),
          }),
        )(c),
      3,
    ],
    [(s, c, t, r) => withUa('web', 'sts', (x) => getCallerIdentity(s, x, t, r))(c), 1],
  ],
  worker: [
    [(s, c, t, r) => sqs(s, c, t, r, 'ReceiveMessage', 'orders-intake'), 25],
    [(s, c, t, r) => sqs(s, c, t, r, 'DeleteMessage', 'orders-intake'), 18],
    [(s, c, t, r) => dynamo(s, c, t, r, 'PutItem', 'orders', `ORDER#${r.hex(12)}`), 12],
    [(s, c, t, r) => dynamo(s, c, t, r, 'UpdateItem', 'orders', `ORDER#${r.hex(12)}`), 10],
    [
      (s, c, t, r, i) =>
        s3Object(s, c, t, r, 'PutObject', i.account.buckets.exports, objectKey.export(r, t), {
          kmsKeyArn: i.account.kmsKeyArn(i.estate.region),
        }),
      8,
    ],
    [(s, c, t, r, i) => secret(s, c, t, r, 'prod/orders-db', i.account.kmsKeyArn(i.estate.region)), 3],
    [(s, c, t, r) => putMetricData(s, c, t, r, 'CWAgent', UA.cwAgent), 10],
    [
      (s, c, t, r, i) => {
        // A stale code path still reads the web assets bucket: denied, harmlessly.
        const key = objectKey.product(r);
        s3Object(s, c, t, r, 'GetObject', i.account.buckets.assets, key, {
          errorCode: 'AccessDenied',
          errorMessage: 'Access Denied',
        });
      },
      1,
    ],
    [(s, c, t, r) => getCallerIdentity(s, c, t, r), 1],
  ],
  batch: [
    [(s, c, t, r, i) => s3Object(s, c, t, r, 'GetObject', i.account.buckets.data, objectKey.raw(r, t)), 30],
    [(s, c, t, r, i) => s3Object(s, c, t, r, 'PutObject', i.account.buckets.exports, objectKey.export(r, t)), 18],
    [(s, c, t, r, i) => s3List(s, c, t, r, i.account.buckets.data, `raw/events/dt=${isoSeconds(t).slice(0, 10)}/`), 12],
    [(s, c, t, r) => dynamo(s, c, t, r, 'BatchWriteItem', 'analytics-events', ''), 8],
    [(s, c, t, r) => putMetricData(s, c, t, r, 'CWAgent', UA.cwAgent), 8],
    [(s, c, t, r) => getCallerIdentity(s, c, t, r), 1],
  ],
  ops: [
    [
      (s, c, t, r) => simple(s, c, t, r, 'ec2', 'DescribeInstances', { userAgent: UA.cli('ec2.describe-instances') }),
      30,
    ],
    [(s, c, t, r) => simple(s, c, t, r, 'ec2', 'DescribeVolumes', { userAgent: UA.cli('ec2.describe-volumes') }), 12],
    [
      (s, c, t, r) =>
        simple(s, c, t, r, 'monitoring', 'DescribeAlarms', { userAgent: UA.cli('cloudwatch.describe-alarms') }),
      15,
    ],
    [
      (s, c, t, r) =>
        simple(s, c, t, r, 'ssm', 'DescribeInstanceInformation', {
          userAgent: UA.cli('ssm.describe-instance-information'),
        }),
      10,
    ],
    [(s, c, t, r) => putMetricData(s, c, t, r, 'CWAgent', UA.cwAgent), 15],
    [
      (s, c, t, r) =>
        simple(s, c, t, r, 'iam', 'ListRoles', {
          userAgent: UA.cli('iam.list-roles'),
          errorCode: 'AccessDenied',
          errorMessage: implicitDeny(sessionArn(c.cred!), 'iam:ListRoles', `arn:aws:iam::${c.accountId}:role/`),
        }),
      2,
    ],
  ],
  bastion: [
    [(s, c, t, r) => getCallerIdentity(s, c, t, r, { userAgent: UA.cli('sts.get-caller-identity') }), 20],
    [
      (s, c, t, r) => simple(s, c, t, r, 'ec2', 'DescribeInstances', { userAgent: UA.cli('ec2.describe-instances') }),
      20,
    ],
    [(s, c, t, r) => putMetricData(s, c, t, r, 'CWAgent', UA.cwAgent), 40],
  ],
  jump: [
    [(s, c, t, r) => getCallerIdentity(s, c, t, r, { userAgent: UA.cli('sts.get-caller-identity') }), 20],
    [(s, c, t, r) => putMetricData(s, c, t, r, 'CWAgent', UA.cwAgent), 40],
  ],
  'eks-node': [
    [(s, c, t, r) => simple(s, c, t, r, 'ec2', 'DescribeInstances', { userAgent: UA.goV2('ec2') }), 15],
    [(s, c, t, r) => simple(s, c, t, r, 'ec2', 'DescribeNetworkInterfaces', { userAgent: UA.goV2('ec2') }), 15],
    [(s, c, t, r) => simple(s, c, t, r, 'ecr', 'GetAuthorizationToken', { userAgent: UA.goV2('ecr') }), 10],
    [(s, c, t, r) => putMetricData(s, c, t, r, 'ContainerInsights', UA.cwAgent), 20],
  ],
  edge: [
    [(s, c, t, r) => putMetricData(s, c, t, r, 'CWAgent', UA.cwAgent), 30],
    [
      (s, c, t, r, i) =>
        secureParameters(s, c, t, r, ['/edge/tls-config'], i.account.kmsKeyArn(i.estate.region), {
          userAgent: UA.goV2('ssm'),
        }),
      10,
    ],
  ],
  scanner: [
    [(s, c, t, r) => simple(s, c, t, r, 'ec2', 'DescribeSecurityGroups'), 15],
    [(s, c, t, r) => simple(s, c, t, r, 'ec2', 'DescribeInstances'), 15],
    [(s, c, t, r) => simple(s, c, t, r, 'iam', 'GetAccountAuthorizationDetails'), 5],
    [(s, c, t, r) => simple(s, c, t, r, 'iam', 'ListRoles'), 8],
    [(s, c, t, r) => s3ListBuckets(s, c, t, r), 6],
    [(s, c, t, r) => simple(s, c, t, r, 'cloudtrail', 'DescribeTrails'), 4],
    [(s, c, t, r) => putMetricData(s, c, t, r, 'CWAgent', UA.cwAgent), 10],
  ],
};

/** Calls per minute at scale 1, by purpose. */
const RATES: Record<Purpose, number> = {
  web: 1.6,
  worker: 1.6,
  batch: 1.0,
  ops: 0.35,
  bastion: 0.12,
  jump: 0.12,
  'eks-node': 0.5,
  edge: 0.5,
  scanner: 0.8,
};

/** What the legacy IMDSv1 process does: a cron job with the old CLI. */
const LEGACY: AppCall = (s, c, t, r, i) => {
  const x = { ...c, userAgent: UA.cliV1 };
  if (r.chance(0.7))
    s3Object(
      s,
      x,
      t,
      r,
      'PutObject',
      i.account.buckets.logs,
      `legacy/${i.id}/${isoSeconds(t).slice(0, 13)}/app.log.gz`,
    );
  else s3List(s, x, t, r, i.account.buckets.logs, `legacy/${i.id}/`);
};

export class InstanceAppGenerator implements Generator {
  readonly name = 'instance-apps';
  readonly scalable = true;
  private readonly mixes = new Map<Purpose, [AppCall, number][]>();

  constructor(
    private readonly org: Organisation,
    private readonly rng: Rng,
  ) {
    for (const [purpose, mix] of Object.entries(MIXES)) this.mixes.set(purpose as Purpose, mix);
  }

  run(t0: number, t1: number, sink: Sink, scale: number): void {
    const rng = this.rng;
    for (const inst of this.org.instances) {
      const span = clip(t0, t1, inst.launch + 90_000, inst.terminate ?? Infinity);
      if (!span) continue;
      const n = rng.poisson((RATES[inst.purpose] * scale * (span[1] - span[0])) / MINUTE);
      const mix = this.mixes.get(inst.purpose)!;
      for (let i = 0; i < n; i++) {
        const t = span[0] + Math.floor(rng.float() * (span[1] - span[0]));
        const legacy = inst.dualKey && rng.chance(0.25);
        const cred = keyAt(inst.keys, t, rng, legacy ? '1.0' : '2.0');
        if (!cred) continue;
        const caller = instanceCaller(inst, cred, t, uaFor(inst.purpose, 'sts'), rng);
        (legacy ? LEGACY : rng.weighted(mix))(sink, caller, t, rng, inst);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// SSM agent

/** When an agent (re)connects its Session Manager control channel: at start, then after the odd dropped socket. */
function channelTimes(inst: Instance, org: Organisation, rng: Rng): number[] {
  const times: number[] = [];
  const stop = Math.min(org.end, inst.terminate ?? Infinity);
  if (inst.launch >= org.start) times.push(inst.launch + rng.intIn(75, 130) * 1000);
  for (
    let t = Math.max(org.start, inst.launch) + rng.intIn(20, 200) * MINUTE;
    t < stop;
    t += rng.intIn(90, 300) * MINUTE
  )
    times.push(t);
  return times.filter((t) => t < stop);
}

/**
 * The SSM agent of every instance, signing with the instance's role session (or, in accounts with Default Host
 * Management, with the instance identity role) from the instance's own network path: the heartbeat
 * (UpdateInstanceInformation every 5 minutes), the ec2messages long poll and replies, the Session Manager control
 * channel and, with Default Host Management, the hourly RequestManagedInstanceRoleToken. Which calls the agent makes:
 * the Systems Manager guide "Reference: ec2messages, ssmmessages, and other API operations".
 */
export class SsmAgentGenerator implements Generator {
  readonly name = 'ssm-agent';
  readonly scalable = false;
  private readonly phase = new Map<string, number>();
  private readonly channels: Schedule<{ time: number; inst: Instance; start: boolean }>;
  private readonly roleTokens: Schedule<{ time: number; inst: Instance }>;

  constructor(
    private readonly org: Organisation,
    private readonly rng: Rng,
  ) {
    for (const inst of org.instances) this.phase.set(inst.id, rng.int(5 * MINUTE));
    const plan = rng.fork('channels');
    const channels: { time: number; inst: Instance; start: boolean }[] = [];
    const tokens: { time: number; inst: Instance }[] = [];
    for (const inst of org.instances) {
      channelTimes(inst, org, plan).forEach((time, i) =>
        channels.push({ time, inst, start: i === 0 && inst.launch >= org.start }),
      );
      if (!inst.account.defaultHostManagement) continue;
      const stop = Math.min(org.end, inst.terminate ?? Infinity);
      const first = inst.launch >= org.start ? inst.launch + plan.intIn(45, 90) * 1000 : org.start + plan.int(HOUR);
      for (let t = first; t < stop; t += plan.intIn(50, 62) * MINUTE) tokens.push({ time: t, inst });
    }
    this.channels = new Schedule(channels);
    this.roleTokens = new Schedule(tokens);
  }

  private caller(inst: Instance, t: number, userAgent: string = UA.ssmAgent): Caller | undefined {
    const identityRole = inst.account.defaultHostManagement;
    const cred = identityRole ? keyAt(inst.identityKeys, t, this.rng, '2.0') : keyAt(inst.keys, t, this.rng, '2.0');
    if (!cred) return undefined;
    return instanceCaller(inst, cred, t, userAgent, this.rng);
  }

  run(t0: number, t1: number, sink: Sink): void {
    const rng = this.rng;
    for (const inst of this.org.instances) {
      const span = clip(t0, t1, inst.launch + 60_000, inst.terminate ?? Infinity);
      if (!span) continue;
      const phase = this.phase.get(inst.id)!;
      const period = 5 * MINUTE;
      for (let t = Math.ceil((span[0] - phase) / period) * period + phase; t < span[1]; t += period) {
        const at = t + rng.intIn(0, 8000);
        const c = this.caller(inst, at);
        if (!c) continue;
        // Request shape: the agent's UpdateInstanceInformation records in the invictus-aws-dataset trail.
        simple(sink, c, at, rng, 'ssm', 'UpdateInstanceInformation', {
          readOnly: false,
          request: `{"instanceId":"${inst.id}","agentVersion":"3.2.2303.0","agentStatus":"Active","platformType":"Linux","platformName":"Amazon Linux","platformVersion":"2023","iPAddress":"${inst.privateIp}","computerName":"ip-${inst.privateIp.replace(/\./g, '-')}.${inst.estate.region}.compute.internal","agentName":"amazon-ssm-agent","availabilityZone":"${inst.subnet.az}","ssmConnectionChannel":"ssmmessages"}`,
        });
      }
      const polls = rng.poisson((span[1] - span[0]) / (4 * MINUTE));
      for (let i = 0; i < polls; i++) {
        const t = span[0] + Math.floor(rng.float() * (span[1] - span[0]));
        const c = this.caller(inst, t);
        if (!c) continue;
        simple(sink, c, t, rng, 'ec2messages', 'GetMessages', {
          readOnly: false,
          request: `{"destination":"${inst.id}","messagesRequestId":"${rng.uuid()}","visibilityTimeoutInSeconds":10}`,
        });
        if (rng.chance(0.03)) {
          // A Run Command document arrives: the agent acknowledges it, runs it and sends the result back.
          const messageId = `aws.ssm.${rng.uuid()}.${inst.id}`;
          const ack = t + rng.intIn(1000, 4000);
          simple(sink, c, ack, rng, 'ec2messages', 'AcknowledgeMessage', {
            readOnly: false,
            request: `{"messageId":"${messageId}"}`,
          });
          simple(sink, c, ack + rng.intIn(2000, 20_000), rng, 'ec2messages', 'SendReply', {
            readOnly: false,
            request: `{"messageId":"${messageId}","replyId":"${rng.uuid()}"}`,
          });
        }
      }
      if (rng.chance((span[1] - span[0]) / (30 * MINUTE))) {
        const t = span[0] + Math.floor(rng.float() * (span[1] - span[0]));
        const c = this.caller(inst, t);
        if (c)
          simple(sink, c, t, rng, 'ssm', 'ListInstanceAssociations', {
            request: `{"instanceId":"${inst.id}","maxResults":20}`,
          });
      }
    }
    for (const item of this.channels.take(t1)) this.controlChannel(sink, item.inst, item.time, item.start);
    for (const item of this.roleTokens.take(t1)) this.roleToken(sink, item.inst, item.time);
  }

  /**
   * The Session Manager control channel: CreateControlChannel then the websocket OpenControlChannel, both data events
   * logged under eventSource ssm.amazonaws.com with resources type AWS::SSMMessages::ControlChannel (Systems Manager
   * CloudTrail guide, data event example 1; a real record: elastic/integrations test-create-control-channel-json.log,
   * channel id = instance id, Go-http-client/1.1). No public record shows OpenControlChannel's parameters: none are written.
   */
  private controlChannel(sink: Sink, inst: Instance, t: number, start: boolean): void {
    const rng = this.rng;
    if (!isRunning(inst, t)) return;
    const c = this.caller(inst, t, UA.goHttp);
    if (!c) return;
    const region = inst.estate.region;
    const host = `ssmmessages.${region}.amazonaws.com`;
    const resources = `[{"accountId":"${inst.account.id}","type":"AWS::SSMMessages::ControlChannel","ARN":"arn:aws:ssmmessages:${region}:${inst.account.id}:control-channel/${inst.id}"}]`;
    if (start) {
      // A starting agent asks ec2messages where to poll (ec2messages:GetEndpoint, same guide).
      simple(sink, { ...c, userAgent: UA.ssmAgent }, t - rng.intIn(2000, 6000), rng, 'ec2messages', 'GetEndpoint', {
        request: `{"destination":"${inst.id}"}`,
      });
    }
    api(sink, c, t, rng, {
      service: 'ssmmessages',
      source: 'ssm.amazonaws.com',
      name: 'CreateControlChannel',
      host,
      data: true,
      readOnly: false,
      request: `{"channelId":"${inst.id}","messageSchemaVersion":"1.0","requestId":"${rng.uuid()}","userAgent":"${UA.goHttp}"}`,
      response: `{"messageSchemaVersion":"1.0","tokenValue":"Value hidden due to security reasons.","url":"wss://${host}/v1/control-channel/${inst.id}?role=subscribe&stream=input"}`,
      resources,
    });
    api(sink, c, t + rng.intIn(300, 2500), rng, {
      service: 'ssmmessages',
      source: 'ssm.amazonaws.com',
      name: 'OpenControlChannel',
      host,
      data: true,
      readOnly: false,
      resources,
    });
  }

  /**
   * Default Host Management: the agent trades the instance identity credential for the management role's
   * (RequestManagedInstanceRoleToken, a data event; Systems Manager CloudTrail guide, data event example 2, signed by
   * assumed-role/aws:ec2-instance/i-… with ec2RoleDelivery 2.0; the agent's SDK agent per agent/ssm/rsaauth/rsa_client.go).
   */
  private roleToken(sink: Sink, inst: Instance, t: number): void {
    if (!isRunning(inst, t)) return;
    const cred = keyAt(inst.identityKeys, t, this.rng, '2.0');
    if (!cred) return;
    const region = inst.estate.region;
    api(sink, instanceCaller(inst, cred, t, UA.ssmAgent, this.rng), t, this.rng, {
      service: 'ssm',
      name: 'RequestManagedInstanceRoleToken',
      data: true,
      readOnly: true,
      request: `{"fingerprint":"${inst.id}"}`,
      resources: `[{"accountId":"${inst.account.id}","type":"AWS::SSM::ManagedNode","ARN":"arn:aws:ec2:${region}:${inst.account.id}:instance/${inst.id}"}]`,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// KMS calls AWS makes with a workload's own session

const KMS_ALGORITHM = '"encryptionAlgorithm":"SYMMETRIC_DEFAULT"';

/**
 * KMS calls AWS makes with a workload's session, at the workload's start: Lambda decrypting a function's environment
 * variables at every cold start, and EC2 decrypting an instance's encrypted root volume as it boots.
 */
export class WorkloadKmsGenerator implements Generator {
  readonly name = 'workload-kms';
  readonly scalable = false;
  private readonly schedule: Schedule<{ time: number; emit: (sink: Sink) => void }>;

  constructor(org: Organisation, rng: Rng) {
    const items: { time: number; emit: (sink: Sink) => void }[] = [];
    for (const estate of org.accounts.flatMap((a) => a.regions)) {
      const account = estate.account;
      if (estate.lambdas.length > 0) {
        // The Lambda service's own fleet: AWS address space of the region, never the account's.
        const fleet = Array.from({ length: 3 }, () => org.book.ec2v4(estate.region));
        for (const fn of estate.lambdas) {
          for (const env of fn.envs) {
            const cred = env.key;
            if (!cred || env.start < org.start) continue;
            const time = env.start + rng.intIn(40, 600);
            const ip = rng.pick(fleet);
            const keyArn = account.kmsKeyArn(estate.region);
            // Shape: the 2024 record in "Query AWS CloudTrail Logs - CLI" (role session = function name, no invokedBy,
            // aws-internal/3 aws-sdk-java agent, encryptionContext aws:lambda:FunctionArn); its source is an address,
            // as the panther-analysis log-processor test event keeps it (sanitised to 1.2.3.4).
            items.push({
              time,
              emit: (sink) =>
                sink.ct({
                  time,
                  account: account.id,
                  region: estate.region,
                  identity: identityOf(cred),
                  source: 'kms.amazonaws.com',
                  name: 'Decrypt',
                  ip,
                  userAgent: UA.lambdaEnvDecrypt,
                  request: `{${KMS_ALGORITHM},"encryptionContext":{"aws:lambda:FunctionArn":${q(fn.arn)}}}`,
                  readOnly: true,
                  resources: `[{"accountId":"${account.id}","type":"AWS::KMS::Key","ARN":"${keyArn}"}]`,
                  tlsHost: `kms.${estate.region}.amazonaws.com`,
                }),
            });
          }
        }
      }
    }
    for (const inst of org.instances) {
      if (inst.launch < org.start) continue;
      const time = inst.launch + rng.intIn(1500, 6000);
      const keyId = awsId('ASIA', inst.account.id, rng);
      const keyMaterial = rng.hex(64);
      items.push({ time, emit: (sink) => sink.ct(rootVolumeDecrypt(inst, time, keyId, keyMaterial)) });
    }
    this.schedule = new Schedule(items);
  }

  run(_t0: number, t1: number, sink: Sink): void {
    for (const item of this.schedule.take(t1)) item.emit(sink);
  }
}

/**
 * EC2 decrypting a booting instance's encrypted root volume with the reserved `aws:ec2-infrastructure` session named
 * after the instance (AWS KMS developer guide "Amazon EC2 example two"; today's fields — invokedBy, inScopeOf, AWS
 * Internal source and agent, keyMaterialId — from a 2026 event-history export of the same call, eventVersion 1.11).
 */
function rootVolumeDecrypt(inst: Instance, time: number, keyId: string, keyMaterial: string): EventSpec {
  const acct = inst.account.id;
  const region = inst.estate.region;
  const keyArn = inst.account.kmsKeyArn(region);
  const identity = `{"type":"AssumedRole","principalId":"${acct}:aws:ec2-infrastructure:${inst.id}","arn":"arn:aws:sts::${acct}:assumed-role/aws:ec2-infrastructure/${inst.id}","accountId":"${acct}","accessKeyId":"${keyId}","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"${acct}:aws:ec2-infrastructure","arn":"arn:aws:iam::${acct}:role/aws:ec2-infrastructure","accountId":"${acct}","userName":"aws:ec2-infrastructure"},"attributes":{"creationDate":"${isoSeconds(time - 1000)}","mfaAuthenticated":"false"}},"invokedBy":"AWS Internal","inScopeOf":{"issuerType":"AWS::EC2::Instance","credentialsIssuedTo":"arn:aws:ec2:${region}:${acct}:instance/${inst.id}"}}`;
  return {
    time,
    account: acct,
    region,
    version: '1.11',
    identity,
    source: 'kms.amazonaws.com',
    name: 'Decrypt',
    ip: UA.awsInternal,
    userAgent: UA.awsInternal,
    request: `{"encryptionContext":{"aws:ebs:id":"${inst.rootVolumeId}"},${KMS_ALGORITHM}}`,
    additional: `{"keyMaterialId":"${keyMaterial}"}`,
    readOnly: true,
    resources: `[{"accountId":"${acct}","type":"AWS::KMS::Key","ARN":"${keyArn}"}]`,
  };
}

// ---------------------------------------------------------------------------------------------
// ECS, Lambda, EKS

export class EcsGenerator implements Generator {
  readonly name = 'ecs';
  readonly scalable = true;
  constructor(
    private readonly org: Organisation,
    private readonly rng: Rng,
  ) {}

  run(t0: number, t1: number, sink: Sink, scale: number): void {
    const rng = this.rng;
    for (const estate of this.org.accounts.flatMap((a) => a.regions)) {
      const ecs = estate.ecs;
      if (!ecs) continue;
      const account = estate.account;
      for (const task of ecs.tasks) {
        const span = clip(t0, t1, task.start + 30_000, task.stop);
        if (!span) continue;
        const n = rng.poisson((1.1 * scale * (span[1] - span[0])) / MINUTE);
        for (let i = 0; i < n; i++) {
          const t = span[0] + Math.floor(rng.float() * (span[1] - span[0]));
          const cred = keyAt(task.keys, t, rng);
          if (!cred) continue;
          const c: Caller = {
            identity: identityOf(cred),
            cred,
            accountId: account.id,
            region: estate.region,
            userAgent: UA.boto3Ecs,
            route: (service) => privateEniRoute(estate, task.subnet, task.privateIp, service, t, rng),
          };
          const pick = rng.float();
          if (pick < 0.35) dynamo(sink, c, t, rng, 'GetItem', 'orders', `ORDER#${rng.hex(12)}`);
          else if (pick < 0.55) dynamo(sink, c, t, rng, 'PutItem', 'orders', `ORDER#${rng.hex(12)}`);
          else if (pick < 0.7) dynamo(sink, c, t, rng, 'Query', 'orders', '');
          else if (pick < 0.85) sqs(sink, c, t, rng, 'SendMessage', 'orders-fulfilment');
          else if (pick < 0.97)
            s3Object(sink, c, t, rng, 'PutObject', account.buckets.exports, objectKey.export(rng, t), {
              kmsKeyArn: account.kmsKeyArn(estate.region),
            });
          else secret(sink, c, t, rng, 'orders/api-keys', account.kmsKeyArn(estate.region));
        }
      }
    }
  }
}

export class LambdaGenerator implements Generator {
  readonly name = 'lambda';
  readonly scalable = true;
  constructor(
    private readonly org: Organisation,
    private readonly rng: Rng,
  ) {}

  run(t0: number, t1: number, sink: Sink, scale: number): void {
    const rng = this.rng;
    for (const estate of this.org.accounts.flatMap((a) => a.regions)) {
      const account = estate.account;
      for (const fn of estate.lambdas) {
        for (const env of fn.envs) {
          const span = clip(t0, t1, env.start + 1000, env.end);
          if (!span || !env.key) continue;
          const n = rng.poisson((fn.rate * scale * (span[1] - span[0])) / MINUTE);
          const cred = env.key;
          for (let i = 0; i < n; i++) {
            const t = span[0] + Math.floor(rng.float() * (span[1] - span[0]));
            if (t >= cred.expires) continue;
            const c: Caller = {
              identity: identityOf(cred),
              cred,
              accountId: account.id,
              region: estate.region,
              userAgent: UA.jsLambda('s3'),
              route: () => ({ ip: env.ip }),
              version: '1.09',
            };
            if (fn.name === 'thumbnail-generator') {
              const key = objectKey.media(rng);
              s3Object(sink, c, t, rng, 'GetObject', account.buckets.media, key);
              s3Object(
                sink,
                c,
                t + rng.intIn(300, 2500),
                rng,
                'PutObject',
                account.buckets.media,
                `thumbnails/${key.slice(8)}`,
              );
            } else if (fn.name === 'orders-stream-processor') {
              const x = { ...c, userAgent: UA.jsLambda('dynamodb') };
              dynamo(sink, x, t, rng, 'PutItem', 'analytics-events', `EVENT#${rng.hex(12)}`);
              if (rng.chance(0.4))
                sqs(sink, { ...c, userAgent: UA.jsLambda('sqs') }, t + 200, rng, 'SendMessage', 'orders-fulfilment');
            } else {
              const x = { ...c, userAgent: UA.jsLambda('guardduty') };
              simple(sink, x, t, rng, 'guardduty', 'ListFindings', { request: `{"detectorId":"${rng.hex(32)}"}` });
            }
          }
        }
      }
    }
  }
}

export class EksGenerator implements Generator {
  readonly name = 'eks';
  readonly scalable = true;
  constructor(
    private readonly org: Organisation,
    private readonly rng: Rng,
  ) {}

  run(t0: number, t1: number, sink: Sink, scale: number): void {
    const rng = this.rng;
    for (const estate of this.org.accounts.flatMap((a) => a.regions)) {
      const eks = estate.eks;
      if (!eks) continue;
      const account = estate.account;
      for (const pod of eks.pods) {
        const span = clip(t0, t1, pod.start + 20_000, Math.min(pod.end, pod.node.terminate ?? Infinity));
        if (!span || !isRunning(pod.node, span[0])) continue;
        const rate = pod.kind === 'pod-identity' ? 0.9 : pod.kind === 'irsa' ? 0.6 : 0.3;
        const n = rng.poisson((rate * scale * (span[1] - span[0])) / MINUTE);
        for (let i = 0; i < n; i++) {
          const t = span[0] + Math.floor(rng.float() * (span[1] - span[0]));
          const cred = pod.kind === 'node-role' ? keyAt(pod.node.keys, t, rng, '2.0') : keyAt(pod.keys, t, rng);
          if (!cred) continue;
          const ua = pod.kind === 'irsa' ? UA.javaIrsa : UA.goV2(pod.kind === 'pod-identity' ? 'dynamodb' : 'ec2');
          const c = instanceCaller(pod.node, cred, t, ua, rng);
          if (pod.kind === 'pod-identity') {
            if (rng.chance(0.75))
              dynamo(sink, c, t, rng, rng.chance(0.5) ? 'GetItem' : 'PutItem', 'payments-ledger', `TXN#${rng.hex(12)}`);
            else
              kms(
                sink,
                { ...c, userAgent: UA.goV2('kms') },
                t,
                rng,
                rng.chance(0.5) ? 'Encrypt' : 'Decrypt',
                account.kmsKeyArn(estate.region),
              );
          } else if (pod.kind === 'irsa') {
            if (rng.chance(0.6)) s3Object(sink, c, t, rng, 'PutObject', account.buckets.data, objectKey.raw(rng, t));
            else sqs(sink, c, t, rng, 'ReceiveMessage', 'ingest-events');
          } else {
            simple(sink, c, t, rng, 'ec2', rng.chance(0.7) ? 'DescribeNetworkInterfaces' : 'AssignPrivateIpAddresses', {
              ...(rng.chance(0.3)
                ? { request: `{"networkInterfaceId":"${pod.node.eniId}","secondaryPrivateIpAddressCount":1}` }
                : {}),
            });
          }
        }
      }
    }
  }
}

/** Occasional service-linked-role calls AWS makes in the account (Inspector scanning instances). */
export class ServiceActivityGenerator implements Generator {
  readonly name = 'aws-services';
  readonly scalable = false;
  private readonly next = new Map<string, number>();
  constructor(
    private readonly org: Organisation,
    private readonly rng: Rng,
  ) {}

  run(t0: number, t1: number, sink: Sink): void {
    for (const estate of this.org.accounts.flatMap((a) => a.regions)) {
      const account: Account = estate.account;
      const role = account.iam.roles.get('AWSServiceRoleForAmazonInspector2')!;
      const key = `${account.id}|${estate.region}`;
      let t = this.next.get(key) ?? t0 + this.rng.int(20 * MINUTE);
      while (t < t1) {
        if (t >= t0) {
          const session = `MandoService${this.rng.digits(19)}`;
          const identity = `{"type":"AssumedRole","principalId":"${role.id}:${session}","arn":"arn:aws:sts::${account.id}:assumed-role/${role.name}/${session}","accountId":"${account.id}","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"${role.id}","arn":"${role.arn}","accountId":"${account.id}","userName":"${role.name}"},"webIdFederationData":{},"attributes":{"creationDate":"${isoSeconds(t - 2000)}","mfaAuthenticated":"false"}},"invokedBy":"inspector2.amazonaws.com"}`;
          const running = estate.instances.filter((i) => isRunning(i, t));
          const target = running.length ? this.rng.pick(running) : undefined;
          api(
            sink,
            {
              identity,
              accountId: account.id,
              region: estate.region,
              userAgent: 'inspector2.amazonaws.com',
              route: () => ({ ip: 'inspector2.amazonaws.com' }),
            },
            t,
            this.rng,
            {
              service: 'ec2',
              name: 'DescribeInstances',
              request: target
                ? `{"instancesSet":{"items":[{"instanceId":${q(target.id)}}]},"filterSet":{}}`
                : '{"instancesSet":{},"filterSet":{}}',
              host: '',
            },
          );
        }
        t += this.rng.intIn(15, 35) * MINUTE;
      }
      this.next.set(key, t);
    }
  }
}
