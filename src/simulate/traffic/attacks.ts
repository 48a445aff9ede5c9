/**
 * The labelled attack stories. Planning happens in two steps: `planAttacks` picks victims,
 * attacker addresses and times and pins the victims' key vending (before key schedules are
 * built); `materialise` then writes every CloudTrail record and web request of the stories
 * and the labels each one must produce.
 */
import type { WebRequest } from '../alb-writer.js';
import { identityCred, identityOf, iamUserIdentity, roleCred, type Cred } from '../credentials.js';
import { resourceId, sessionToken } from '../ids.js';
import type { Label, Story } from '../labels.js';
import type { Account, EcsTask, Instance, LambdaEnv, LambdaFunction, Organisation } from '../organisation.js';
import { instancePublicIp } from '../organisation.js';
import type { Rng } from '../prng.js';
import { j, q } from '../record.js';
import { MINUTE, amzDate, isoMillis, isoSeconds, sigV4Date } from '../time.js';
import { UA } from './agents.js';
import {
  api,
  dynamo,
  explicitDeny,
  getCallerIdentity,
  implicitDeny,
  s3List,
  s3ListBuckets,
  s3Object,
  simple,
  type Caller,
  type Route,
} from './apis.js';
import { sessionArn } from './benign.js';
import { openSsoSession } from './people.js';
import { Schedule, type Generator, type Sink } from './types.js';
import { callerAssumeRole } from './vending.js';
import { webRequest } from './web.js';

const ATTACKER_UA = {
  cli: (command: string) =>
    `aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#5.15.0-97-generic md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#${command}`,
  boto3:
    'Boto3/1.34.49 md/Botocore#1.34.49 ua/2.0 os/linux#6.5.0-21-generic md/arch#x86_64 lang/python#3.10.12 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.49',
  pacu: 'Boto3/1.34.49 md/Botocore#1.34.49 ua/2.0 os/linux#6.5.0-21-generic md/arch#x86_64 lang/python#3.10.12 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.49 Pacu/1.5.2',
  // Kali's packaged AWS CLI as a real trail records it (Hack The Box Sherlock "Heartbreaker-Denouement": a stolen
  // aws:ec2-instance credential used from an attacker's EC2 address).
  kali: 'aws-cli/1.29.54 md/Botocore#1.31.54 md/awscrt#1.0.0.dev0 ua/2.0 os/linux#6.3.0-kali1-cloud-amd64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy botocore/1.31.54',
  ssrfScanner: 'python-requests/2.31.0',
};

/** Clients that relay pre-signed URLs through the vulnerable preview service (not SDKs). */
const RELAY_CLIENTS = ['python-requests/2.31.0', 'curl/8.5.0', 'Go-http-client/1.1'];

interface Timed {
  time: number;
  emit: (sink: Sink) => void;
}

/** Victims, addresses and times chosen before the key schedules exist. */
export interface AttackPlan {
  org: Organisation;
  rng: Rng;
  /** Role ARN → time AWSRevokeOlderSessions was put on it. */
  revocations: Map<string, number>;
  t: (fraction: number) => number;
  x: Instance;
  s: Instance;
  a: Instance;
  b: Instance;
  w: Instance;
  y: Instance;
  z: Instance;
  v: Instance;
  revokeAt: number;
  pins: Record<string, { inst: Instance; at: number; delivery: '1.0' | '2.0' }>;
  addresses: {
    ssrf: string;
    ipv6: string;
    foreignEc2: string;
    vpcePrivate: string;
    vpceId: string;
    spoof: string;
    chain: string;
    relayClient: string;
    ecs: string;
    lambda: string;
    identityEc2: string;
  };
  providers: Record<string, string>;
}

function stable(i: Instance, org: Organisation): boolean {
  return i.launchedBy === 'before' && i.terminate === undefined && i.launch < org.start;
}

/** Step 1: victims, attacker addresses, times; pins vending and records the revocation. */
export function planAttacks(org: Organisation, rng: Rng): AttackPlan {
  const span = org.end - org.start;
  const t = (f: number) => Math.floor((org.start + span * f) / 1000) * 1000;
  const used = new Set<Instance>();
  const story = org.storyAccount.regions[0]!;
  const web = story.instances.filter((i) => i.purpose === 'web');
  const x = web[0]!;
  const s = web[1]!;
  const a = web[2]!;
  const b = story.instances.find((i) => i.purpose === 'bastion')!;
  const w = story.instances.find((i) => i.purpose === 'ops')!;
  for (const i of [x, s, a, b, w]) used.add(i);
  const pick = (accounts: Account[], prefer: string[]): Instance => {
    const pool = accounts
      .flatMap((acc) => acc.regions.flatMap((r) => r.instances))
      .filter((i) => stable(i, org) && !used.has(i));
    const ranked = [...prefer.flatMap((p) => pool.filter((i) => i.purpose === p)), ...pool];
    const chosen = ranked[0] ?? org.instances.find((i) => stable(i, org) && i.account.kind === 'workload')!;
    used.add(chosen);
    return chosen;
  };
  const second = [org.secondAccount, org.storyAccount];
  const y = pick(second, ['worker', 'batch', 'web']);
  const z = pick(second, ['batch', 'worker', 'web']);
  const v = pick([...second, org.tooling], ['worker', 'batch', 'scanner']);

  const revokeAt = t(0.45);
  const pins: AttackPlan['pins'] = {
    x: { inst: x, at: t(0.06), delivery: '1.0' },
    y: { inst: y, at: t(0.17), delivery: '2.0' },
    z: { inst: z, at: t(0.27), delivery: '2.0' },
    v: { inst: v, at: t(0.33), delivery: '2.0' },
    a: { inst: a, at: t(0.51), delivery: '2.0' },
    w: { inst: w, at: t(0.63), delivery: '2.0' },
    s: { inst: s, at: t(0.66), delivery: '1.0' },
  };
  for (const pin of Object.values(pins)) pin.inst.forcedVends.push({ at: pin.at, delivery: pin.delivery });
  // The responder revokes the role's sessions, then closes IMDSv1 on the instance.
  const revocations = new Map([[x.role.arn, revokeAt]]);
  x.imdsChange = { at: revokeAt + 3 * MINUTE, httpTokens: 'required', hopLimit: 1 };
  x.role.inline.push({
    name: 'AWSRevokeOlderSessions',
    document: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          Action: ['*'],
          Resource: ['*'],
          Condition: { DateLessThan: { 'aws:TokenIssueTime': isoMillis(revokeAt) } },
        },
      ],
    },
  });

  const book = org.book;
  const vps = () => book.publicAddress('vps');
  const ssrf = vps();
  const ipv6 = book.publicAddress('vps6');
  const spoof = vps();
  const chain = vps();
  const relay = vps();
  const ecs = vps();
  const lambda = vps();
  const identityEc2 = book.ec2v4(s.estate.region);
  return {
    org,
    rng,
    revocations,
    t,
    x,
    s,
    a,
    b,
    w,
    y,
    z,
    v,
    revokeAt,
    pins,
    addresses: {
      ssrf: ssrf.ip,
      ipv6: ipv6.ip,
      foreignEc2: book.ec2v4(z.estate.region),
      vpcePrivate: `172.31.${rng.intIn(16, 95)}.${rng.intIn(4, 250)}`,
      vpceId: resourceId('vpce', rng),
      spoof: spoof.ip,
      chain: chain.ip,
      relayClient: relay.ip,
      ecs: ecs.ip,
      lambda: lambda.ip,
      identityEc2,
    },
    providers: {
      ssrf: ssrf.provider,
      ipv6: ipv6.provider,
      spoof: spoof.provider,
      chain: chain.provider,
      relayClient: relay.provider,
      ecs: ecs.provider,
      lambda: lambda.provider,
    },
  };
}

/** Everything the stories emit, plus their labels. */
export interface Materialised {
  generator: Generator;
  labels: Label[];
  stories: Story[];
}

class StoryBuilder {
  readonly items: Timed[] = [];
  readonly labels: Label[] = [];
  readonly stories: Story[] = [];
  readonly sink: Sink = {
    ct: (spec) => this.items.push({ time: spec.time, emit: (sink) => sink.ct(spec) }),
    web: (request) => this.items.push({ time: request.time, emit: (sink) => sink.web(request) }),
  };
  private current?: Story;

  constructor(
    readonly p: AttackPlan,
    readonly rng: Rng,
  ) {}

  begin(id: string, title: string, narrative: string, account: Account, attacker: Record<string, string>): void {
    this.current = { id, title, narrative, accountId: account.id, attacker, timeline: [], labels: [] };
    this.stories.push(this.current);
  }

  note(time: number, what: string): void {
    this.current!.timeline.push({ time: isoSeconds(time), what });
  }

  label(label: Omit<Label, 'story' | 'minSeverity'> & { minSeverity?: Label['minSeverity'] }, story?: string): void {
    const full: Label = { ...label, story: story ?? this.current!.id, minSeverity: label.minSeverity ?? 'medium' };
    this.labels.push(full);
    const owner = this.stories.find((s) => s.id === full.story);
    owner?.labels.push(full);
  }

  /** A caller signing with a stolen key from an attacker's address. */
  attacker(cred: Cred, route: Route | string, userAgent: string, region: string): Caller {
    const r = typeof route === 'string' ? { ip: route } : route;
    return { identity: identityOf(cred), cred, accountId: cred.accountId, region, userAgent, route: () => r };
  }

  /** Times spread over [from, to), a few seconds apart in bursts. */
  burst(from: number, count: number, gap: [number, number]): number[] {
    const out: number[] = [];
    let t = from;
    for (let i = 0; i < count; i++) {
      t += this.rng.intIn(gap[0], gap[1]);
      out.push(t);
    }
    return out;
  }
}

function key(inst: Instance, at: number, delivery: string): Cred {
  const found = inst.keys.find((k) => k.delivery === delivery && k.issued === at);
  if (!found) throw new Error(`no ${delivery} key pinned at ${isoSeconds(at)} for ${inst.id}`);
  return found;
}

function targetRequest(
  inst: Instance,
  time: number,
  rng: Rng,
  clientIp: string,
  userAgent: string,
  path: string,
  status: number,
  sent: number,
): WebRequest {
  const alb = inst.estate.alb!;
  return webRequest(
    inst.estate,
    alb,
    inst,
    time + rng.int(1000),
    rng,
    { ip: clientIp, userAgent },
    { method: 'GET', path, status, sent, received: rng.intIn(250, 600) },
    'HTTP/1.1',
  );
}

/** Step 2 (after key schedules): the stories' records, web requests and labels. */
export function materialiseAttacks(p: AttackPlan): Materialised {
  const b = new StoryBuilder(p, p.rng.fork('stories'));
  imdsv1SsrfOffbox(b);
  imdsv2Ipv6(b);
  foreignAws(b);
  crossInstance(b);
  foreignVpce(b);
  sessionNameSpoof(b);
  roleChain(b);
  ssrfRelay(b);
  ecsTheft(b);
  lambdaTheft(b);
  identityForeignAws(b);
  exposure(b);
  for (const story of b.stories) story.timeline.sort((x, y) => (x.time < y.time ? -1 : x.time > y.time ? 1 : 0));
  const schedule = new Schedule(b.items);
  const generator: Generator = {
    name: 'attacks',
    scalable: false,
    run(_t0, t1, sink) {
      for (const item of schedule.take(t1)) item.emit(sink);
    },
  };
  return { generator, labels: b.labels, stories: b.stories };
}

// ---------------------------------------------------------------------------------------------

function imdsv1SsrfOffbox(b: StoryBuilder): void {
  const { p, rng, sink } = b;
  const { x, org } = p;
  const account = x.account;
  const region = x.estate.region;
  const alb = x.estate.alb!;
  const attackerIp = p.addresses.ssrf;
  const k1 = key(x, p.pins.x!.at, '1.0');
  b.begin(
    'imdsv1-ssrf-offbox',
    'SSRF to IMDSv1, instance credentials used from a VPS',
    `A link-preview endpoint on ${x.name} (${x.id}) fetches any URL it is given. The instance still allows IMDSv1 ` +
      `(HttpTokens=optional), so an attacker on a VPS at ${p.providers.ssrf} (${attackerIp}) walks the metadata service through ` +
      `the load balancer in several encodings, reads the role credentials of ${x.role.name} and uses the IMDSv1-delivered ` +
      `key ${k1.keyId} from the VPS: identity check, bucket listing and a burst of GetObject on every bucket the role can read.`,
    account,
    { sourceIp: attackerIp, provider: p.providers.ssrf!, accessKeyId: k1.keyId },
  );
  b.note(
    k1.issued,
    `EC2 vends ${k1.keyId} to ${x.id}; the legacy process on the box fetches it through IMDSv1 (ec2RoleDelivery 1.0)`,
  );

  const probes: [string, number, number][] = [
    ['http://127.0.0.1:22/', 500, 180],
    ['file:///etc/passwd', 400, 120],
    ['http://169.254.169.254/latest/meta-data/', 200, 310],
    ['http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2Fiam%2Fsecurity-credentials%2F', 200, 90],
    ['http://2852039166/latest/meta-data/iam/info', 200, 260],
    ['http://0xa9fea9fe/latest/meta-data/iam/security-credentials/', 200, 90],
    ['http://[fd00:ec2::254]/latest/meta-data/', 500, 180],
    ['http://169.254.169.254/latest/api/token', 500, 200],
    ['http%253A%252F%252F169.254.169.254%252Flatest%252Fuser-data', 200, 1450],
    ['http://169.254.169.254/latest/dynamic/instance-identity/document', 200, 480],
    [`http://[::ffff:a9fe:a9fe]/latest/meta-data/iam/security-credentials/${x.role.name}`, 200, 1580],
  ];
  let t = p.t(0.1);
  b.note(
    t,
    `SSRF probing of ${alb.domain}/api/v1/preview from ${attackerIp} (decimal, hex, IPv4-mapped IPv6 and URL-encoded metadata addresses)`,
  );
  for (const [payload, status, sent] of probes) {
    t += rng.intIn(8, 90) * 1000;
    sink.web(
      targetRequest(x, t, rng, attackerIp, ATTACKER_UA.ssrfScanner, `/api/v1/preview?url=${payload}`, status, sent),
    );
  }
  b.note(
    t,
    `the response to .../iam/security-credentials/${x.role.name} returns the IMDSv1 credentials (200, ${probes[probes.length - 1]![2]} bytes)`,
  );
  b.label({ detector: 'imds-ssrf-attempt', accountId: account.id, sourceIp: attackerIp, instanceId: x.id });

  // First use, then bursts until the responder revokes the sessions.
  const c = (ua: string) => b.attacker(k1, attackerIp, ua, region);
  let u = p.t(0.15);
  b.note(u, `first use of ${k1.keyId} from ${attackerIp}: sts:GetCallerIdentity`);
  getCallerIdentity(sink, c(ATTACKER_UA.cli('sts.get-caller-identity')), u, rng);
  s3ListBuckets(sink, c(ATTACKER_UA.cli('s3.ls')), (u += rng.intIn(20, 60) * 1000), rng);
  for (const denied of [
    ['iam', 'ListRoles', 'iam:ListRoles'],
    ['ec2', 'DescribeInstances', 'ec2:DescribeInstances'],
    ['secretsmanager', 'ListSecrets', 'secretsmanager:ListSecrets'],
  ] as const) {
    u += rng.intIn(5, 40) * 1000;
    simple(sink, c(ATTACKER_UA.pacu), u, rng, denied[0], denied[1], {
      errorCode: denied[0] === 'ec2' ? 'Client.UnauthorizedOperation' : 'AccessDenied',
      errorMessage: implicitDeny(sessionArn(k1), denied[2]),
    });
  }
  const buckets = [account.buckets.exports, account.buckets.assets, account.buckets.media];
  const stop = p.revokeAt;
  let bursts = 0;
  for (let start = p.t(0.2); start < stop - 2 * MINUTE; start += rng.intIn(8, 20) * MINUTE) {
    const bucket = buckets[bursts++ % buckets.length]!;
    s3List(sink, c(ATTACKER_UA.cli('s3.sync')), start, rng, bucket, '');
    for (const at of b.burst(start, rng.intIn(15, 40), [300, 2500])) {
      if (at >= stop) break;
      s3Object(
        sink,
        c(ATTACKER_UA.cli('s3.sync')),
        at,
        rng,
        'GetObject',
        bucket,
        `exports/${isoSeconds(at).slice(0, 10)}/customers-${rng.hex(6)}.csv.gz`,
      );
    }
  }
  b.note(p.t(0.2), `GetObject bursts (aws s3 sync) against ${buckets.join(', ')} — the role allows s3:GetObject on *`);
  b.label({
    detector: 'instance-credential-outside-aws',
    accountId: account.id,
    instanceId: x.id,
    sourceIp: attackerIp,
    accessKeyId: k1.keyId,
    minSeverity: 'high',
  });
  b.label({ detector: 'imdsv1-credential-delivery', accountId: account.id, instanceId: x.id, minSeverity: 'low' });

  // Revocation (its own story), retries with the stranded key, and the closed IMDSv1 path.
  const admin = org.humans.find((h) => h.admin)!;
  const opened = openSsoSession(
    org,
    rng,
    admin,
    account,
    'AdministratorAccess',
    p.revokeAt - 9 * MINUTE,
    60 * MINUTE,
    org.onPrem[0]!.hosts[5]!,
    'console',
  );
  for (const r of opened.records) sink.ct(r);
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Deny',
        Action: ['*'],
        Resource: ['*'],
        Condition: { DateLessThan: { 'aws:TokenIssueTime': isoMillis(p.revokeAt) } },
      },
    ],
  });
  const adminCaller: Caller = {
    identity: identityOf(opened.session.cred),
    cred: opened.session.cred,
    accountId: account.id,
    region: 'us-east-1',
    userAgent: UA.awsInternal,
    route: () => ({ ip: opened.session.ip }),
  };
  b.begin(
    'revoked-session',
    'Sessions revoked; the attacker keeps trying the stranded key',
    `The responder (${admin.email}, from the office egress ${opened.session.ip}) revokes every session of ${x.role.name} issued ` +
      `before ${isoMillis(p.revokeAt)} with the AWSRevokeOlderSessions inline policy, then sets HttpTokens=required on ${x.id}. ` +
      `The instances of the role fetch fresh keys and keep working; the attacker's ${k1.keyId} is now denied everywhere ` +
      `(only sts:GetCallerIdentity, which no policy can deny, still answers), and new SSRF attempts fail because IMDSv1 is closed.`,
    account,
    { sourceIp: attackerIp, accessKeyId: k1.keyId },
  );
  api(sink, adminCaller, p.revokeAt, rng, {
    service: 'iam',
    name: 'PutRolePolicy',
    region: 'us-east-1',
    host: 'iam.amazonaws.com',
    readOnly: false,
    request: `{"roleName":"${x.role.name}","policyName":"AWSRevokeOlderSessions","policyDocument":${q(policy)}}`,
  });
  b.note(
    p.revokeAt,
    `iam:PutRolePolicy AWSRevokeOlderSessions on ${x.role.name} (DateLessThan aws:TokenIssueTime ${isoMillis(p.revokeAt)})`,
  );
  const change = x.imdsChange!;
  api(sink, { ...adminCaller, region }, change.at, rng, {
    service: 'ec2',
    name: 'ModifyInstanceMetadataOptions',
    readOnly: false,
    request: j({
      ModifyInstanceMetadataOptionsRequest: { InstanceId: x.id, HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
    }),
    response: j({
      ModifyInstanceMetadataOptionsResponse: {
        instanceId: x.id,
        instanceMetadataOptions: {
          state: 'pending',
          httpTokens: 'required',
          httpPutResponseHopLimit: 1,
          httpEndpoint: 'enabled',
          httpProtocolIpv4: 'enabled',
          httpProtocolIpv6: 'disabled',
          instanceMetadataTags: 'disabled',
        },
        requestId: rng.uuid(),
        xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
      },
    }),
  });
  b.note(change.at, `ec2:ModifyInstanceMetadataOptions ${x.id} HttpTokens=required, hop limit 1`);
  const fresh = x.keys.find((k) => k.issued > p.revokeAt);
  if (fresh) b.note(fresh.issued, `EC2 vends a fresh key ${fresh.keyId} to ${x.id}; the instance keeps working`);

  let r = p.revokeAt + rng.intIn(2, 6) * MINUTE;
  const retryEnd = p.t(0.55);
  let first = true;
  while (r < retryEnd) {
    const bucket = rng.pick(buckets);
    const objectKey = `exports/${isoSeconds(r).slice(0, 10)}/customers-${rng.hex(6)}.csv.gz`;
    if (rng.chance(0.2)) {
      getCallerIdentity(sink, c(ATTACKER_UA.cli('sts.get-caller-identity')), r, rng);
    } else if (rng.chance(0.3)) {
      s3ListBuckets(sink, c(ATTACKER_UA.cli('s3.ls')), r, rng, {
        errorCode: 'AccessDenied',
        errorMessage: `User: ${sessionArn(k1)} is not authorized to perform: s3:ListAllMyBuckets with an explicit deny in an identity-based policy`,
      });
    } else {
      s3Object(sink, c(ATTACKER_UA.cli('s3.cp')), r, rng, 'GetObject', bucket, objectKey, {
        errorCode: 'AccessDenied',
        errorMessage: explicitDeny(sessionArn(k1), 's3:GetObject', `arn:aws:s3:::${bucket}/${objectKey}`),
      });
    }
    if (first) b.note(r, `${k1.keyId} from ${attackerIp} now gets AccessDenied (explicit deny)`);
    first = false;
    r += rng.intIn(20, 240) * 1000;
  }
  const late = change.at + rng.intIn(3, 9) * MINUTE;
  sink.web(
    targetRequest(
      x,
      late,
      rng,
      attackerIp,
      ATTACKER_UA.ssrfScanner,
      `/api/v1/preview?url=http://169.254.169.254/latest/meta-data/iam/security-credentials/`,
      500,
      210,
    ),
  );
  sink.web(
    targetRequest(
      x,
      late + 40_000,
      rng,
      attackerIp,
      ATTACKER_UA.ssrfScanner,
      `/api/v1/preview?url=http://169.254.169.254/latest/meta-data/`,
      500,
      210,
    ),
  );
  b.note(late, 'the attacker retries the SSRF: IMDSv1 is closed (HTTP 401 from IMDS, 500 from the app)');
  b.label({ detector: 'revoked-session-use', accountId: account.id, accessKeyId: k1.keyId, sourceIp: attackerIp });
}

function imdsv2Ipv6(b: StoryBuilder): void {
  const { p, rng, sink } = b;
  const y = p.y;
  const k = key(y, p.pins.y!.at, '2.0');
  const ip = p.addresses.ipv6;
  b.begin(
    'imdsv2-offbox-ipv6',
    'IMDSv2 credentials used from an IPv6 VPS',
    `An attacker with code execution on ${y.name} (${y.id}) reads the role credentials through IMDSv2 — ec2RoleDelivery ` +
      `2.0 says how the key was fetched, not where it is used — and uses ${k.keyId} from a ${p.providers.ipv6} IPv6 address ` +
      `(${ip}) against dual-stack endpoints.`,
    y.account,
    { sourceIp: ip, provider: p.providers.ipv6!, accessKeyId: k.keyId },
  );
  b.note(k.issued, `EC2 vends ${k.keyId} to ${y.id} (IMDSv2)`);
  const region = y.estate.region;
  const c = (ua: string, dual = true) => b.attacker(k, { ip, dualStack: dual }, ua, region);
  let t = p.t(0.2);
  b.note(t, `first use of ${k.keyId} from ${ip}`);
  getCallerIdentity(sink, c(ATTACKER_UA.boto3), t, rng, { host: `sts.${region}.api.aws` });
  s3ListBuckets(sink, c(ATTACKER_UA.boto3), (t += rng.intIn(10, 50) * 1000), rng, {
    host: 's3.dualstack.us-east-1.amazonaws.com',
  });
  for (const at of b.burst(t, rng.intIn(10, 25), [2000, 40_000])) {
    if (at > p.t(0.3)) break;
    const bucket = rng.pick([y.account.buckets.exports, y.account.buckets.data]);
    s3Object(sink, c(ATTACKER_UA.boto3), at, rng, 'GetObject', bucket, `exports/${rng.hex(10)}.csv.gz`);
  }
  b.label({
    detector: 'instance-credential-outside-aws',
    accountId: y.account.id,
    instanceId: y.id,
    sourceIp: ip,
    accessKeyId: k.keyId,
    minSeverity: 'high',
  });
}

function foreignAws(b: StoryBuilder): void {
  const { p, rng, sink } = b;
  const z = p.z;
  const k = key(z, p.pins.z!.at, '2.0');
  const ip = p.addresses.foreignEc2;
  const region = z.estate.region;
  b.begin(
    'foreign-aws',
    "Instance credentials used from the attacker's own EC2 instance",
    `${k.keyId} of ${z.name} (${z.id}) is used from ${ip}, an EC2 address in ${region} that belongs to no account of the ` +
      'organisation (not in the inventory, never seen on org workloads): the attacker runs their tools on their own EC2 ' +
      'instance in the same region, so the source looks like "AWS" to a naive check.',
    z.account,
    { sourceIp: ip, note: `EC2 range of ${region}, attacker-owned`, accessKeyId: k.keyId },
  );
  b.note(k.issued, `EC2 vends ${k.keyId} to ${z.id}`);
  const c = b.attacker(k, ip, ATTACKER_UA.pacu, region);
  let t = p.t(0.3);
  b.note(t, `first use of ${k.keyId} from ${ip} (Pacu enumeration)`);
  getCallerIdentity(sink, c, t, rng);
  for (const [service, name, action] of [
    ['iam', 'ListAttachedRolePolicies', 'iam:ListAttachedRolePolicies'],
    ['iam', 'ListRolePolicies', 'iam:ListRolePolicies'],
    ['ec2', 'DescribeInstances', ''],
    ['lambda', 'ListFunctions20150331', 'lambda:ListFunctions'],
  ] as const) {
    t += rng.intIn(2, 20) * 1000;
    simple(
      sink,
      c,
      t,
      rng,
      service,
      name,
      action ? { errorCode: 'AccessDenied', errorMessage: implicitDeny(sessionArn(k), action) } : {},
    );
  }
  s3ListBuckets(sink, c, (t += 5000), rng);
  for (const at of b.burst(t, rng.intIn(12, 30), [1000, 30_000])) {
    if (at > p.t(0.38)) break;
    const bucket = rng.pick(Object.values(z.account.buckets));
    const denied = bucket !== z.account.buckets.exports && bucket !== z.account.buckets.data;
    s3Object(
      sink,
      c,
      at,
      rng,
      'GetObject',
      bucket,
      `exports/${rng.hex(10)}.csv.gz`,
      denied ? { errorCode: 'AccessDenied', errorMessage: 'Access Denied' } : {},
    );
  }
  b.label({
    detector: 'instance-credential-foreign-aws',
    accountId: z.account.id,
    instanceId: z.id,
    sourceIp: ip,
    accessKeyId: k.keyId,
  });
}

function crossInstance(b: StoryBuilder): void {
  const { p, rng, sink } = b;
  const { a, b: host } = p;
  const k = key(a, p.pins.a!.at, '2.0');
  const start = p.t(0.55);
  const ip = instancePublicIp(host, start)!;
  b.begin(
    'cross-instance',
    "One instance's credentials used from another instance",
    `The attacker controls ${host.name} (${host.id}, public IP ${ip}) and has copied the credentials of ${a.name} (${a.id}, ` +
      `role ${a.role.name}) from a leaked debug dump. They use ${k.keyId} from the bastion: the source is an address of the ` +
      `organisation — a different instance's own public IP, where its own vending-anchored traffic comes from — so GuardDuty's ` +
      'InsideAWS logic stays quiet.',
    a.account,
    { sourceIp: ip, via: host.id, accessKeyId: k.keyId },
  );
  b.note(k.issued, `EC2 vends ${k.keyId} to ${a.id}`);
  const c = b.attacker(k, ip, ATTACKER_UA.cli('s3.cp'), a.estate.region);
  let t = start;
  b.note(t, `${k.keyId} (issued to ${a.id}) used from ${host.id}'s address ${ip}`);
  getCallerIdentity(sink, { ...c, userAgent: ATTACKER_UA.cli('sts.get-caller-identity') }, t, rng);
  s3ListBuckets(sink, { ...c, userAgent: ATTACKER_UA.cli('s3.ls') }, (t += 20_000), rng);
  dynamo(
    sink,
    { ...c, userAgent: ATTACKER_UA.cli('dynamodb.scan') },
    (t += 15_000),
    rng,
    'Scan',
    'storefront-catalog',
    '',
    {
      request: '{"tableName":"storefront-catalog"}',
      errorCode: 'AccessDeniedException',
      errorMessage: implicitDeny(
        sessionArn(k),
        'dynamodb:Scan',
        `arn:aws:dynamodb:${a.estate.region}:${a.account.id}:table/storefront-catalog`,
      ),
    },
  );
  for (const at of b.burst(t, rng.intIn(8, 20), [2000, 20_000])) {
    if (at > p.t(0.62)) break;
    s3Object(sink, c, at, rng, 'GetObject', a.account.buckets.exports, `exports/${rng.hex(10)}.csv.gz`);
  }
  b.label({
    detector: 'instance-credential-cross-instance',
    accountId: a.account.id,
    instanceId: a.id,
    sourceIp: ip,
    accessKeyId: k.keyId,
  });
}

function foreignVpce(b: StoryBuilder): void {
  const { p, rng } = b;
  const v = p.v;
  const k = key(v, p.pins.v!.at, '2.0');
  const ip = p.addresses.vpcePrivate;
  const vpce = p.addresses.vpceId;
  const attacker = p.org.attackerAccountId;
  b.begin(
    'foreign-vpce',
    "Instance credentials used through the attacker's VPC endpoint",
    `${k.keyId} of ${v.name} (${v.id}) is used from a private address (${ip}) through ${vpce}, an interface endpoint ` +
      `in account ${attacker} — not the organisation's. Private source addresses are normal through VPC endpoints; the ` +
      `endpoint's owner (vpcEndpointAccountId) is what gives the attacker away.`,
    v.account,
    { sourceIp: ip, vpcEndpointId: vpce, vpcEndpointAccountId: attacker, accessKeyId: k.keyId },
  );
  b.note(k.issued, `EC2 vends ${k.keyId} to ${v.id}`);
  // Every record through the attacker's endpoint carries the owner (eventVersion 1.09).
  const sink: Sink = {
    ct: (spec) => b.sink.ct({ ...spec, version: '1.09', vpcEndpointId: vpce, vpcEndpointAccountId: attacker }),
    web: (r) => b.sink.web(r),
  };
  const c = b.attacker(k, { ip, vpce, vpceAccount: attacker }, ATTACKER_UA.boto3, v.estate.region);
  let t = p.t(0.36);
  b.note(t, `first use of ${k.keyId} through ${vpce} (owner ${attacker}) from ${ip}`);
  getCallerIdentity(sink, c, t, rng);
  s3ListBuckets(sink, c, (t += rng.intIn(10, 40) * 1000), rng);
  for (const at of b.burst(t, rng.intIn(8, 20), [2000, 30_000])) {
    if (at > p.t(0.42)) break;
    s3Object(
      sink,
      c,
      at,
      rng,
      'GetObject',
      rng.pick(Object.values(v.account.buckets)),
      `exports/${rng.hex(10)}.csv.gz`,
    );
  }
  b.label({
    detector: 'instance-credential-foreign-vpce',
    accountId: v.account.id,
    instanceId: v.id,
    sourceIp: ip,
    accessKeyId: k.keyId,
  });
}

function sessionNameSpoof(b: StoryBuilder): void {
  const { p, rng, sink } = b;
  const account = p.org.storyAccount;
  const role = account.iam.roles.get('batch-etl-role')!;
  const dev = p.org.developer.user;
  const ip = p.addresses.spoof;
  const realBatch = p.org.instances.find((i) => i.role === role && i.account === account);
  const spoofedId = realBatch ? realBatch.id : `i-0${rng.hex(16)}`;
  const at = p.t(0.58);
  const cred = roleCred(rng, 'caller', role, spoofedId, at, 3600_000, {});
  b.begin(
    'session-name-spoof',
    'A stolen developer key assumes an instance role with an instance-like session name',
    `The long-term key of IAM user ${dev.name} (${dev.accessKeyId}) leaked and is used from ${ip} (${p.providers.spoof}). ` +
      `The role ${role.name} trusts the whole account, so the attacker assumes it with roleSessionName "${spoofedId}" — ` +
      `${realBatch ? 'the id of a real instance of that role' : 'a realistic instance id'} — hoping the session passes for ` +
      `that instance. The key ${cred.keyId} was vended by an ordinary AssumeRole, not by EC2, and its calls carry no ec2RoleDelivery.`,
    account,
    { sourceIp: ip, provider: p.providers.spoof!, iamUser: dev.name, accessKeyId: cred.keyId },
  );
  const user: Caller = {
    identity: iamUserIdentity(dev),
    accountId: account.id,
    region: account.regions[0]!.region,
    userAgent: ATTACKER_UA.cli('sts.get-caller-identity'),
    route: () => ({ ip }),
  };
  getCallerIdentity(sink, user, at - 4 * MINUTE, rng);
  simple(sink, { ...user, userAgent: ATTACKER_UA.cli('iam.list-roles') }, at - 3 * MINUTE, rng, 'iam', 'ListRoles', {
    errorCode: 'AccessDenied',
    errorMessage: implicitDeny(dev.arn, 'iam:ListRoles', `arn:aws:iam::${account.id}:role/`),
  });
  b.note(at - 4 * MINUTE, `${dev.name}'s key used from ${ip}`);
  sink.ct(
    callerAssumeRole(
      cred,
      { identity: iamUserIdentity(dev), ip, userAgent: ATTACKER_UA.cli('sts.assume-role'), region: user.region },
      account.id,
      rng,
    ),
  );
  b.note(at, `sts:AssumeRole ${role.name} with roleSessionName ${spoofedId} → ${cred.keyId}`);
  const c = b.attacker(cred, ip, ATTACKER_UA.cli('s3.cp'), user.region);
  let t = at + rng.intIn(20, 60) * 1000;
  getCallerIdentity(sink, c, t, rng);
  s3List(sink, c, (t += 20_000), rng, account.buckets.data, 'raw/');
  for (const when of b.burst(t, rng.intIn(10, 30), [1000, 25_000])) {
    if (when > p.t(0.68)) break;
    s3Object(sink, c, when, rng, 'GetObject', account.buckets.data, `raw/events/part-${rng.hex(12)}.parquet`);
  }
  b.label({ detector: 'instance-session-name-spoof', accountId: account.id, accessKeyId: cred.keyId, sourceIp: ip });
}

function roleChain(b: StoryBuilder): void {
  const { p, rng, sink } = b;
  const w = p.w;
  const account = w.account;
  const k = key(w, p.pins.w!.at, '2.0');
  const ip = p.addresses.chain;
  const admin = account.iam.roles.get('platform-admin-role')!;
  const at = p.t(0.67);
  const chained = roleCred(rng, 'chain', admin, `botocore-session-${Math.floor(at / 1000)}`, at, 3600_000, {});
  const region = w.estate.region;
  b.begin(
    'role-chain',
    'Stolen instance credentials chain into an admin role',
    `The key ${k.keyId} of ${w.name} (${w.id}, role ${w.role.name}) is stolen and used from ${ip} (${p.providers.chain}). ` +
      `The role may assume ${admin.name} (AdministratorAccess) — the ops host does so every hour from itself — so the attacker ` +
      `chains into it from outside (${chained.keyId}) and creates a backdoor user.`,
    account,
    { sourceIp: ip, provider: p.providers.chain!, instanceKey: k.keyId, chainedKey: chained.keyId },
  );
  b.note(k.issued, `EC2 vends ${k.keyId} to ${w.id}`);
  const c = b.attacker(k, ip, ATTACKER_UA.pacu, region);
  let t = p.t(0.655);
  getCallerIdentity(sink, c, t, rng);
  b.note(t, `${k.keyId} used from ${ip}`);
  simple(sink, c, (t += 8000), rng, 'ec2', 'DescribeInstances');
  simple(sink, c, (t += 8000), rng, 'iam', 'GetRole', {
    request: `{"roleName":"${admin.name}"}`,
    errorCode: 'AccessDenied',
    errorMessage: implicitDeny(sessionArn(k), 'iam:GetRole', admin.arn),
  });
  sink.ct(
    callerAssumeRole(chained, { identity: identityOf(k), ip, userAgent: ATTACKER_UA.pacu, region }, account.id, rng),
  );
  b.note(at, `sts:AssumeRole ${admin.name} signed with ${k.keyId} from ${ip} → ${chained.keyId}`);
  const cc = b.attacker(chained, ip, ATTACKER_UA.pacu, region);
  t = at + rng.intIn(10, 40) * 1000;
  getCallerIdentity(sink, cc, t, rng);
  for (const [service, name] of [
    ['iam', 'ListUsers'],
    ['iam', 'ListRoles'],
    ['secretsmanager', 'ListSecrets'],
    ['ec2', 'DescribeInstances'],
    ['ec2', 'DescribeSnapshots'],
  ] as const) {
    simple(sink, cc, (t += rng.intIn(3, 30) * 1000), rng, service, name);
  }
  s3ListBuckets(sink, cc, (t += 10_000), rng);
  for (let i = 0; i < 3; i++) {
    simple(sink, cc, (t += rng.intIn(5, 40) * 1000), rng, 'secretsmanager', 'GetSecretValue', {
      request: `{"secretId":"prod/orders-db"}`,
    });
  }
  const backdoor = `svc-backup-${rng.lowerAlnum(4)}`;
  simple(sink, cc, (t += 60_000), rng, 'iam', 'CreateUser', { readOnly: false, request: `{"userName":"${backdoor}"}` });
  simple(sink, cc, (t += 5000), rng, 'iam', 'AttachUserPolicy', {
    readOnly: false,
    request: `{"userName":"${backdoor}","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`,
  });
  simple(sink, cc, (t += 5000), rng, 'iam', 'CreateAccessKey', {
    readOnly: false,
    request: `{"userName":"${backdoor}"}`,
  });
  b.note(t, `backdoor IAM user ${backdoor} with AdministratorAccess and an access key`);
  for (const when of b.burst(t, rng.intIn(8, 20), [5000, 60_000])) {
    if (when > p.t(0.78)) break;
    s3Object(sink, cc, when, rng, 'GetObject', account.buckets.exports, `exports/${rng.hex(10)}.csv.gz`);
  }
  b.label({
    detector: 'instance-credential-role-chain',
    accountId: account.id,
    accessKeyId: chained.keyId,
    sourceIp: ip,
  });
  b.label({
    detector: 'instance-credential-outside-aws',
    accountId: account.id,
    instanceId: w.id,
    sourceIp: ip,
    accessKeyId: k.keyId,
    minSeverity: 'high',
  });
}

function presignedUrl(
  hostPath: string,
  k: Cred,
  region: string,
  service: string,
  t: number,
  rng: Rng,
  action?: string,
): string {
  const scope = `${k.keyId}%2F${sigV4Date(t)}%2F${region}%2F${service}%2Faws4_request`;
  const token = encodeURIComponent(sessionToken(rng, 740));
  const lead = action ? `${action}&` : '';
  return `https://${hostPath}?${lead}X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${scope}&X-Amz-Date=${amzDate(t)}&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=${token}&X-Amz-Signature=${rng.hex(64)}`;
}

function ssrfRelay(b: StoryBuilder): void {
  const { p, rng, sink } = b;
  const s = p.s;
  const account = s.account;
  const region = s.estate.region;
  const k = key(s, p.pins.s!.at, '1.0');
  const client = p.addresses.relayClient;
  const start = p.t(0.74);
  const own = instancePublicIp(s, start)!;
  b.begin(
    'ssrf-relay-non-sdk',
    'Stolen credentials relayed through the SSRF as pre-signed URLs',
    `From ${client} (${p.providers.relayClient}) the attacker reads ${s.name}'s (${s.id}) IMDSv1 credentials through the ` +
      `media proxy's SSRF, signs S3 and STS requests offline with ${k.keyId} and sends the pre-signed URLs back through the ` +
      `proxy, so the calls leave from the instance's own address (${own}) — the right IP, but made by python-requests, curl ` +
      `and Go's HTTP client instead of an SDK.`,
    account,
    { clientIp: client, provider: p.providers.relayClient!, accessKeyId: k.keyId, relayedFrom: own },
  );
  b.note(k.issued, `EC2 vends ${k.keyId} to ${s.id}; fetched through IMDSv1 (1.0)`);
  let t = p.t(0.7);
  b.note(t, `SSRF to the metadata service of ${s.id} from ${client}`);
  for (const [payload, status, sent] of [
    ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', 200, 80],
    [`http://169.254.169.254/latest/meta-data/iam/security-credentials/${s.role.name}`, 200, 1570],
  ] as const) {
    t += rng.intIn(20, 120) * 1000;
    sink.web(
      targetRequest(
        s,
        t,
        rng,
        client,
        'Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0',
        `/api/v1/preview?url=${payload}`,
        status,
        sent,
      ),
    );
  }
  b.label({ detector: 'imds-ssrf-attempt', accountId: account.id, sourceIp: client, instanceId: s.id });
  b.label({ detector: 'imdsv1-credential-delivery', accountId: account.id, instanceId: s.id, minSeverity: 'low' });

  const c = (ua: string): Caller => b.attacker(k, own, ua, region);
  b.note(
    start,
    `pre-signed URLs (X-Amz-Credential=${k.keyId}/…) relayed through /api/v1/preview; CloudTrail shows the calls from ${own}`,
  );
  let when = start;
  const buckets = [account.buckets.media, account.buckets.exports];
  const count = rng.intIn(14, 28);
  for (let i = 0; i < count && when < p.t(0.82); i++) {
    when += rng.intIn(15, 90) * 1000;
    const ua = RELAY_CLIENTS[i % RELAY_CLIENTS.length]!;
    const callTime = when - rng.intIn(100, 900);
    if (i % 7 === 3) {
      const url = presignedUrl(
        'sts.amazonaws.com/',
        k,
        'us-east-1',
        'sts',
        callTime,
        rng,
        'Action=GetCallerIdentity&Version=2011-06-15',
      );
      sink.web(
        targetRequest(
          s,
          when,
          rng,
          client,
          'curl/8.5.0',
          `/api/v1/preview?url=${i % 2 ? encodeURIComponent(url) : url}`,
          200,
          420,
        ),
      );
      getCallerIdentity(sink, c(ua), callTime, rng, { region: 'us-east-1', host: 'sts.amazonaws.com' });
    } else {
      const bucket = buckets[i % buckets.length]!;
      const objectKey = `exports/${rng.hex(10)}.csv.gz`;
      const url = presignedUrl(`${bucket}.s3.amazonaws.com/${objectKey}`, k, region, 's3', callTime, rng);
      sink.web(
        targetRequest(
          s,
          when,
          rng,
          client,
          'curl/8.5.0',
          `/api/v1/preview?url=${i % 2 ? encodeURIComponent(url) : url}`,
          200,
          rng.intIn(3000, 90_000),
        ),
      );
      s3Object(sink, c(ua), callTime, rng, 'GetObject', bucket, objectKey, {
        additional: `{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"QueryString","x-amz-id-2":"${rng.base64(74)}=","bytesTransferredOut":${rng.intIn(3000, 90_000)}}`,
      });
    }
  }
  b.label({
    detector: 'signed-aws-url-in-request',
    accountId: account.id,
    sourceIp: client,
    instanceId: s.id,
    accessKeyId: k.keyId,
  });
  b.label({
    detector: 'instance-credential-non-sdk-client',
    accountId: account.id,
    instanceId: s.id,
    accessKeyId: k.keyId,
  });
}

function ecsTheft(b: StoryBuilder): void {
  const { p, rng, sink } = b;
  const estate = p.org.secondAccount.regions[0]!;
  const ecs = estate.ecs!;
  const from = p.t(0.8);
  let task: EcsTask | undefined;
  let k: Cred | undefined;
  for (const candidate of ecs.tasks) {
    const vended = candidate.keys.find((x) => x.vendInWindow && x.issued < from - 2 * MINUTE);
    if (vended && (!k || vended.issued > k.issued)) {
      task = candidate;
      k = vended;
    }
  }
  if (!task || !k) return;
  const ip = p.addresses.ecs;
  b.begin(
    'ecs-task-theft',
    'ECS task role credentials used from outside AWS',
    `A dependency confusion payload in the ${ecs.name} image reads the task's credentials from the container credentials ` +
      `endpoint (169.254.170.2) and ships them out. ${k.keyId} of task ${task.id} (role ${ecs.role.name}) is then used from ` +
      `${ip} (${p.providers.ecs}).`,
    estate.account,
    { sourceIp: ip, provider: p.providers.ecs!, accessKeyId: k.keyId },
  );
  b.note(k.issued, `ECS vends ${k.keyId} to task ${task.id}`);
  const c = b.attacker(k, ip, ATTACKER_UA.cli('s3.cp'), estate.region);
  let t = Math.max(from, k.issued + 5 * MINUTE);
  b.note(t, `${k.keyId} used from ${ip}`);
  getCallerIdentity(sink, c, t, rng);
  s3ListBuckets(sink, c, (t += 15_000), rng);
  dynamo(sink, c, (t += 20_000), rng, 'Scan', 'orders', '', {
    request: '{"tableName":"orders"}',
    errorCode: 'AccessDeniedException',
    errorMessage: implicitDeny(
      sessionArn(k),
      'dynamodb:Scan',
      `arn:aws:dynamodb:${estate.region}:${estate.account.id}:table/orders`,
    ),
  });
  for (const when of b.burst(t, rng.intIn(6, 15), [3000, 40_000])) {
    if (when > p.t(0.88)) break;
    s3Object(sink, c, when, rng, 'GetObject', estate.account.buckets.exports, `exports/${rng.hex(10)}.csv.gz`);
  }
  b.label({
    detector: 'workload-credential-outside-aws',
    accountId: estate.account.id,
    subject: task.id,
    sourceIp: ip,
    accessKeyId: k.keyId,
  });
}

function lambdaTheft(b: StoryBuilder): void {
  const { p, rng, sink } = b;
  const estate = p.org.secondAccount.regions[0]!;
  const from = p.t(0.85);
  let chosen: { fn: LambdaFunction; env: LambdaEnv } | undefined;
  for (const fn of estate.lambdas) {
    for (const env of fn.envs) {
      if (env.key?.vendInWindow && env.start < from - 2 * MINUTE && (!chosen || env.start > chosen.env.start))
        chosen = { fn, env };
    }
  }
  if (!chosen) return;
  const { fn, env } = chosen;
  const k = env.key!;
  const ip = p.addresses.lambda;
  b.begin(
    'lambda-theft',
    'Lambda function credentials (from environment variables) used from outside AWS',
    `A crafted S3 object makes ${fn.name} log its environment; the AWS_ACCESS_KEY_ID/AWS_SESSION_TOKEN of the execution ` +
      `environment (${k.keyId}, role ${fn.role.name}) end up in a public log sink and are used from ${ip} (${p.providers.lambda}). ` +
      'CloudTrail still marks the calls as in scope of the function (userIdentity.inScopeOf).',
    estate.account,
    { sourceIp: ip, provider: p.providers.lambda!, accessKeyId: k.keyId },
  );
  b.note(k.issued, `Lambda vends ${k.keyId} to a new execution environment of ${fn.name}`);
  const c = b.attacker(k, ip, ATTACKER_UA.boto3, estate.region);
  let t = Math.max(from, k.issued + 5 * MINUTE);
  b.note(t, `${k.keyId} used from ${ip}`);
  getCallerIdentity(sink, c, t, rng);
  s3List(sink, c, (t += 12_000), rng, estate.account.buckets.media, 'uploads/');
  for (const when of b.burst(t, rng.intIn(6, 15), [3000, 40_000])) {
    if (when > p.t(0.92)) break;
    s3Object(sink, c, when, rng, 'GetObject', estate.account.buckets.media, `uploads/${rng.uuid()}.png`);
  }
  b.label({
    detector: 'workload-credential-outside-aws',
    accountId: estate.account.id,
    subject: fn.name,
    sourceIp: ip,
    accessKeyId: k.keyId,
  });
}

/**
 * The instance identity credential (aws:ec2-instance) read through the SSRF over IMDSv1 and used from the attacker's
 * own EC2 instance with Kali's AWS CLI, as in the Hack The Box Sherlock "Heartbreaker-Denouement" trail: the SSRF asks
 * for /latest/meta-data/identity-credentials/ec2/security-credentials/ec2-instance, the key then shows
 * ec2RoleDelivery 1.0, and the credential (which no policy grants anything) answers GetCallerIdentity and little else.
 */
function identityForeignAws(b: StoryBuilder): void {
  const { p, rng, sink } = b;
  const s = p.s;
  const account = s.account;
  const region = s.estate.region;
  const ip = p.addresses.identityEc2;
  const probes = [
    ['http://169.254.169.254/latest/meta-data/', 200, 310],
    ['http://169.254.169.254/latest/meta-data/identity-credentials/ec2/security-credentials/', 200, 12],
    ['http://169.254.169.254/latest/meta-data/identity-credentials/ec2/security-credentials/ec2-instance', 200, 1560],
  ] as const;
  const times = b.burst(p.t(0.855), probes.length, [10_000, 60_000]);
  const fetchAt = times[times.length - 1]!;
  const k = identityCred(s, fetchAt - rng.intIn(4, 40) * MINUTE, '1.0', rng);
  s.identityKeys.push(k);
  s.identityKeys.sort((x, y) => x.issued - y.issued);
  b.begin(
    'identity-credential-foreign-aws',
    "Instance identity credential stolen through the SSRF and used from the attacker's EC2 instance",
    `From ${ip}, an EC2 address in ${region} that no account of the organisation owns, the attacker walks the media ` +
      `proxy's SSRF on ${s.name} (${s.id}, IMDSv1 allowed) to identity-credentials/ec2/security-credentials/ec2-instance ` +
      `and reads the instance identity credential ${k.keyId} (assumed-role/aws:ec2-instance/${s.id}, ec2RoleDelivery 1.0). ` +
      "From the same instance, with Kali's AWS CLI, they ask who they are and try to enumerate the account; the " +
      'identity role is granted nothing, so only GetCallerIdentity answers.',
    account,
    { sourceIp: ip, note: `EC2 range of ${region}, attacker-owned`, accessKeyId: k.keyId },
  );
  const browser =
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36';
  b.note(times[0]!, `SSRF to the metadata service of ${s.id} from ${ip}`);
  probes.forEach(([path, status, sent], n) =>
    sink.web(targetRequest(s, times[n]!, rng, ip, browser, `/api/v1/preview?url=${path}`, status, sent)),
  );
  b.note(fetchAt, `the response carries the identity credential ${k.keyId} (fetched over IMDSv1: ec2RoleDelivery 1.0)`);
  b.label({ detector: 'imds-ssrf-attempt', accountId: account.id, sourceIp: ip, instanceId: s.id });

  const c = b.attacker(k, ip, ATTACKER_UA.kali, region);
  let u = fetchAt + rng.intIn(3, 8) * MINUTE;
  b.note(u, `${k.keyId} used from ${ip} with Kali's AWS CLI: GetCallerIdentity, then denied enumeration`);
  getCallerIdentity(sink, c, u, rng, { region: 'us-east-1', host: 'sts.amazonaws.com' });
  const arn = sessionArn(k);
  for (const [service, name, action] of [
    ['ec2', 'DescribeInstances', 'ec2:DescribeInstances'],
    ['ec2', 'DescribeVpcs', 'ec2:DescribeVpcs'],
    ['ec2', 'DescribeSecurityGroups', 'ec2:DescribeSecurityGroups'],
    ['iam', 'ListRoles', 'iam:ListRoles'],
    ['s3', 'ListBuckets', 's3:ListAllMyBuckets'],
    ['secretsmanager', 'ListSecrets', 'secretsmanager:ListSecrets'],
  ] as const) {
    u += rng.intIn(2, 25) * 1000;
    const denied = {
      errorCode: service === 'ec2' ? 'Client.UnauthorizedOperation' : 'AccessDenied',
      errorMessage: implicitDeny(arn, action),
    };
    if (service === 's3') s3ListBuckets(sink, c, u, rng, denied);
    else simple(sink, c, u, rng, service, name, denied);
  }
  getCallerIdentity(sink, c, u + rng.intIn(20, 90) * 1000, rng, { region: 'us-east-1', host: 'sts.amazonaws.com' });
  b.label({
    detector: 'instance-credential-foreign-aws',
    accountId: account.id,
    instanceId: s.id,
    sourceIp: ip,
    accessKeyId: k.keyId,
  });
}

/** IMDSv1 exposure: every instance that received a 1.0 key or allowed IMDSv1 (not already labelled by a story). */
function exposure(b: StoryBuilder): void {
  const { p } = b;
  const labelled = new Set(
    b.labels.filter((l) => l.detector === 'imdsv1-credential-delivery').map((l) => l.instanceId),
  );
  const exposed = p.org.instances.filter(
    (i) =>
      !labelled.has(i.id) &&
      (i.httpTokens === 'optional' ||
        i.keys.some((k) => k.delivery === '1.0' && k.vendInWindow) ||
        i.identityKeys.some((k) => k.delivery === '1.0')),
  );
  b.begin(
    'imdsv1-exposure',
    'IMDSv1 still in use (exposure backlog)',
    'Instances that still allow IMDSv1 or whose role credentials were fetched through IMDSv1 (ec2RoleDelivery 1.0) during ' +
      'the window: no attack, but each one is an SSRF away from losing its credentials.',
    p.org.storyAccount,
    {},
  );
  for (const i of exposed) {
    b.note(
      p.org.start,
      `${i.id} (${i.name}, ${i.account.name}) HttpTokens=${i.httpTokens}${i.dualKey ? ', a process fetches credentials through IMDSv1' : ''}`,
    );
    b.label({ detector: 'imdsv1-credential-delivery', accountId: i.account.id, instanceId: i.id, minSeverity: 'low' });
  }
}
