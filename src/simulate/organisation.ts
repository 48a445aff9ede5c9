/**
 * The estate model: accounts, regions, VPCs, subnets, NAT gateways, VPC endpoints, load
 * balancers, instances (with their whole lifetime in the window), ECS, Lambda, EKS, IAM and
 * the people and pipelines that use them. Built once, up front, from the seed; it is small
 * (proportional to the estate, not to the number of events).
 */
import { formatIp, ipFromBigInt, ipToBigInt, type ParsedCidr } from '../net/ip.js';
import { AddressBook, type PublicAddress } from './addresses.js';
import { IamBuilder, allow, doc, trustAws, trustService, type IamUser, type Role } from './iam.js';
import { accountId as newAccountId, resourceId } from './ids.js';
import type { Rng } from './prng.js';
import { HOUR, MINUTE } from './time.js';

/** What kind of principal a simulated credential belongs to. */
export type CredKind =
  'instance' | 'instance-identity' | 'ecs' | 'lambda' | 'pod-identity' | 'irsa' | 'sso' | 'github' | 'chain' | 'caller';

/** A temporary credential: who holds which access key when (credentials.ts issues them). */
export interface Cred {
  keyId: string;
  kind: CredKind;
  accountId: string;
  role: Role | undefined;
  session: string;
  issued: number;
  expires: number;
  /** ec2RoleDelivery of instance keys. */
  delivery?: '1.0' | '2.0';
  /** The vending generator emits this key's issuing event (false: issued before the window, or by a story). */
  vendInWindow: boolean;
  /** userIdentity JSON without its closing brace, so invokedBy / inScopeOf can be appended. */
  identityOpen: string;
  /** Calls at or after this time are denied (the role got AWSRevokeOlderSessions after the key was issued). */
  revokedAt?: number;
}

export type Purpose = 'web' | 'worker' | 'batch' | 'ops' | 'bastion' | 'eks-node' | 'scanner' | 'jump' | 'edge';

export interface Subnet {
  id: string;
  az: string;
  cidr: string;
  public: boolean;
  routeTableId: string;
  /** First address of the subnet as a 32-bit integer. */
  base: number;
  size: number;
  nat?: NatGateway;
  /** Index of the /64 inside the VPC's /56 when the subnet has IPv6. */
  ipv6Index?: number;
  ipv6Cidr?: string;
  used: Set<number>;
}

export interface Vpc {
  id: string;
  cidr: string;
  igwId: string;
  ipv6Block?: ParsedCidr;
  subnets: Subnet[];
}

export interface NatAddress {
  allocationId: string;
  associationId: string;
  privateIp: string;
  publicIp: string;
  isPrimary: boolean;
  /** When the address starts carrying traffic (pre-window addresses: -Infinity). */
  associatedAt: number;
}

export interface NatGateway {
  id: string;
  subnet: Subnet;
  eniId: string;
  addresses: NatAddress[];
  createTime: number;
}

export type EndpointService = 's3' | 'sts' | 'ssm' | 'ec2messages' | 'ssmmessages';

export interface VpcEndpoint {
  id: string;
  type: 'Gateway' | 'Interface';
  service: EndpointService;
  routeTableIds: string[];
  enis: { id: string; subnet: Subnet; ip: string }[];
  createTime: number;
}

export interface Alb {
  name: string;
  id: string;
  arn: string;
  dnsName: string;
  domain: string;
  nodes: { eniId: string; subnet: Subnet; privateIp: string; publicIp: string }[];
  targetGroupArn: string;
  certificateArn: string;
  targetPort: number;
}

export interface Instance {
  id: string;
  name: string;
  purpose: Purpose;
  account: Account;
  estate: RegionEstate;
  subnet: Subnet;
  type: string;
  ami: string;
  reservationId: string;
  privateIp: string;
  eniId: string;
  macAddress: string;
  /** Auto-assigned public IPv4 (public subnets). */
  publicIp?: string;
  ipv6?: string;
  /** An Elastic IP associated during the window: from `at` on it replaces publicIp. */
  eip?: { allocationId: string; associationId: string; publicIp: string; allocatedAt: number; at: number };
  role: Role;
  launch: number;
  terminate?: number;
  launchedBy: 'before' | 'autoscaling' | 'console';
  asg?: string;
  httpTokens: 'optional' | 'required';
  hopLimit: number;
  /** ModifyInstanceMetadataOptions during the window (the responder closing IMDSv1). */
  imdsChange?: { at: number; httpTokens: 'required'; hopLimit: number };
  /** A legacy process on the box also fetches the role credentials through IMDSv1. */
  dualKey: boolean;
  /** Extra vending times (stories pin a fresh key just before a theft). */
  forcedVends: { at: number; delivery: '1.0' | '2.0' }[];
  keys: Cred[];
  identityKeys: Cred[];
  /** The root EBS volume (KMS-encrypted with the account's key). */
  rootVolumeId: string;
}

export interface EcsTask {
  id: string;
  privateIp: string;
  eniId: string;
  attachmentId: string;
  subnet: Subnet;
  start: number;
  stop: number;
  keys: Cred[];
}

export interface EcsService {
  cluster: string;
  name: string;
  role: Role;
  executionRole: Role;
  tasks: EcsTask[];
  desired: number;
}

export interface LambdaEnv {
  start: number;
  end: number;
  ip: string;
  key?: Cred;
}

export interface LambdaFunction {
  name: string;
  arn: string;
  role: Role;
  runtime: string;
  estate: RegionEstate;
  /** Invocations per minute at scale 1. */
  rate: number;
  envs: LambdaEnv[];
}

export interface Pod {
  name: string;
  kind: 'pod-identity' | 'irsa' | 'node-role';
  namespace: string;
  serviceAccount: string;
  uid: string;
  role: Role;
  node: Instance;
  start: number;
  end: number;
  keys: Cred[];
}

export interface EksCluster {
  name: string;
  arn: string;
  oidcId: string;
  nodes: Instance[];
  pods: Pod[];
}

export interface RegionEstate {
  account: Account;
  region: string;
  primary: boolean;
  azs: string[];
  ami: string;
  vpc: Vpc;
  nats: NatGateway[];
  endpoints: VpcEndpoint[];
  instances: Instance[];
  alb?: Alb;
  ecs?: EcsService;
  lambdas: LambdaFunction[];
  eks?: EksCluster;
}

export type PermissionSet = 'AdministratorAccess' | 'PowerUserAccess' | 'ReadOnlyAccess';

export interface Account {
  index: number;
  id: string;
  name: string;
  kind: 'tooling' | 'workload';
  regions: RegionEstate[];
  iam: IamBuilder;
  sso: Map<PermissionSet, Role>;
  /** SSM Default Host Management: the agent signs with the aws:ec2-instance identity role. */
  defaultHostManagement: boolean;
  buckets: { assets: string; media: string; exports: string; data: string; logs: string };
  kmsKeyArn: (region: string) => string;
}

export interface Human {
  first: string;
  last: string;
  email: string;
  home: PublicAddress;
  /** Share of working time spent on the corporate network (on-prem egress). */
  officeShare: number;
  sets: { account: Account; set: PermissionSet }[];
  admin: boolean;
  browser: string;
}

export interface Organisation {
  slug: string;
  domain: string;
  start: number;
  end: number;
  book: AddressBook;
  accounts: Account[];
  tooling: Account;
  workloads: Account[];
  /** The account most stories happen in (the production workload account). */
  storyAccount: Account;
  /** Where the rest of the stories happen (the second workload account, or the first). */
  secondAccount: Account;
  onPrem: { cidr: string; provider: string; hosts: string[]; label: string }[];
  humans: Human[];
  /** AWS addresses of the IAM Identity Center service (AssumeRoleWithSAML source). */
  ssoServiceIps: string[];
  github: { repo: string; providerHost: string };
  jenkins: { user: IamUser; ip: string };
  developer: { user: IamUser; ip: string };
  attackerAccountId: string;
  instances: Instance[];
}

export interface OrganisationOptions {
  seed: number;
  accounts: number;
  instances: number;
  start: number;
  end: number;
}

const ACCOUNT_NAMES = [
  'security-tooling',
  'prod',
  'staging',
  'data-platform',
  'payments',
  'analytics',
  'sandbox',
  'shared-services',
];
const REGION_PLANS: [string, string][] = [
  ['us-east-1', 'us-west-2'],
  ['us-east-1', 'eu-west-1'],
  ['us-west-2', 'us-east-1'],
  ['eu-central-1', 'us-east-1'],
  ['us-east-1', 'eu-west-1'],
  ['eu-west-1', 'us-east-1'],
];
const FIRST = ['Maya', 'Jonas', 'Priya', 'Lucas', 'Amara', 'Kenji', 'Sofia', 'Daniel', 'Leila', 'Tomasz'];
const LAST = [
  'Okafor',
  'Lindqvist',
  'Raman',
  'Moreau',
  'Nakamura',
  'Castillo',
  'Brennan',
  'Haddad',
  'Novak',
  'Fischer',
];
const BROWSERS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0',
  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Safari/605.1.15',
];
const INSTANCE_TYPES: Record<Purpose, string[]> = {
  web: ['t3.medium', 'm6i.large', 'm7g.large'],
  worker: ['c6i.xlarge', 'c7g.large', 'm6i.large'],
  batch: ['r6i.large', 'r6i.xlarge'],
  ops: ['t3.small'],
  bastion: ['t3.micro', 't4g.micro'],
  'eks-node': ['m6i.xlarge', 'm6a.xlarge'],
  scanner: ['t3.large'],
  jump: ['t3.micro'],
  edge: ['c6i.large'],
};
const PUBLIC_PURPOSES: ReadonlySet<Purpose> = new Set(['web', 'bastion', 'eks-node', 'jump', 'edge']);

/** The minimum number of steady-state instances for a given number of accounts. */
export function minimumInstances(accounts: number): number {
  return 5 + 4 * (accounts - 1);
}

function ipv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

class Builder {
  private readonly org: Organisation;

  constructor(
    private readonly opts: OrganisationOptions,
    private readonly rng: Rng,
    book: AddressBook,
  ) {
    const slug = rng.pick(['northwind', 'kestrel', 'bluefin', 'harbor', 'ridgeline', 'lumen']);
    this.org = {
      slug,
      domain: `${slug}.example`,
      start: opts.start,
      end: opts.end,
      book,
      accounts: [],
      tooling: undefined as unknown as Account,
      workloads: [],
      storyAccount: undefined as unknown as Account,
      secondAccount: undefined as unknown as Account,
      onPrem: [],
      humans: [],
      ssoServiceIps: [],
      github: { repo: `${slug}/platform-infra`, providerHost: 'token.actions.githubusercontent.com' },
      jenkins: undefined as unknown as Organisation['jenkins'],
      developer: undefined as unknown as Organisation['developer'],
      attackerAccountId: '',
      instances: [],
    };
  }

  build(): Organisation {
    const { org, rng } = this;
    const ids = new Set<string>();
    for (let i = 0; i < this.opts.accounts; i++) {
      let id = newAccountId(rng);
      while (ids.has(id)) id = newAccountId(rng);
      ids.add(id);
      org.accounts.push(this.account(i, id));
    }
    let attacker = newAccountId(rng);
    while (ids.has(attacker)) attacker = newAccountId(rng);
    org.attackerAccountId = attacker;
    org.tooling = org.accounts[0]!;
    org.workloads = org.accounts.slice(1);
    org.storyAccount = org.workloads[0]!;
    org.secondAccount = org.workloads[1] ?? org.workloads[0]!;

    const hq = org.book.publicBlock('enterprise', 28);
    const vpn = org.book.publicBlock('enterprise', 29);
    org.onPrem = [
      { ...hq, label: 'headquarters egress (proxy, self-hosted CI runner)' },
      { ...vpn, label: 'corporate VPN egress' },
    ];
    org.ssoServiceIps = [org.book.ec2v4('us-east-1'), org.book.ec2v4('us-east-1')];

    for (const account of org.accounts) this.iam(account);
    this.people();
    for (const account of org.accounts) {
      const [primary, secondary] = REGION_PLANS[account.index % REGION_PLANS.length]!;
      account.regions.push(this.estate(account, primary, true), this.estate(account, secondary, false));
    }
    this.instances();
    this.workloads();
    org.instances = org.accounts.flatMap((a) => a.regions.flatMap((r) => r.instances));
    return org;
  }

  private account(index: number, id: string): Account {
    const name = ACCOUNT_NAMES[index] ?? `workload-${index}`;
    const slug = this.org.slug;
    const kmsKeys = new Map<string, string>();
    const rng = this.rng.fork(`kms:${id}`);
    return {
      index,
      id,
      name,
      kind: index === 0 ? 'tooling' : 'workload',
      regions: [],
      iam: new IamBuilder(id, this.rng.fork(`iam:${id}`), this.opts.start),
      sso: new Map(),
      defaultHostManagement: index === 0 || index % 3 === 2,
      buckets: {
        assets: `${slug}-${name}-web-assets`,
        media: `${slug}-${name}-media-uploads`,
        exports: `${slug}-${name}-exports`,
        data: `${slug}-${name}-datalake-raw`,
        logs: `${slug}-${name}-app-logs`,
      },
      kmsKeyArn: (region) => {
        let key = kmsKeys.get(region);
        if (!key) {
          key = `arn:aws:kms:${region}:${id}:key/${rng.uuid()}`;
          kmsKeys.set(region, key);
        }
        return key;
      },
    };
  }

  private iam(account: Account): void {
    const b = account.iam;
    const id = account.id;
    const tooling = this.org.accounts[0]!;
    const ec2Trust = trustService('ec2.amazonaws.com');
    const ssoTrust = doc({
      Effect: 'Allow',
      Principal: { Federated: `arn:aws:iam::${id}:saml-provider/AWSSSO_${this.rng.hex(16)}_DO_NOT_DELETE` },
      Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession'],
      Condition: { StringEquals: { 'SAML:aud': 'https://signin.aws.amazon.com/saml' } },
    });
    for (const set of ['AdministratorAccess', 'PowerUserAccess', 'ReadOnlyAccess'] as const) {
      account.sso.set(
        set,
        b.role(`AWSReservedSSO_${set}_${this.rng.hex(16)}`, {
          path: '/aws-reserved/sso.amazonaws.com/',
          trust: ssoTrust,
          managed: [b.awsManaged(set)],
          maxSessionDuration: 43200,
        }),
      );
    }
    b.role('OrganizationAccountAccessRole', {
      trust: trustAws(`arn:aws:iam::${tooling.id}:root`),
      managed: [b.awsManaged('AdministratorAccess')],
    });
    b.role('AWSServiceRoleForAutoScaling', {
      path: '/aws-service-role/autoscaling.amazonaws.com/',
      trust: trustService('autoscaling.amazonaws.com'),
      managed: [b.awsManaged('AutoScalingServiceRolePolicy')],
      description:
        'Default Service-Linked Role enables access to AWS Services and Resources used or managed by Auto Scaling',
    });
    b.role('AWSServiceRoleForAmazonInspector2', {
      path: '/aws-service-role/inspector2.amazonaws.com/',
      trust: trustService('inspector2.amazonaws.com'),
      managed: [b.awsManaged('SecurityAudit')],
    });
    const ssmCore = b.awsManaged('AmazonSSMManagedInstanceCore');
    const cwAgent = b.awsManaged('CloudWatchAgentServerPolicy');

    if (account.kind === 'tooling') {
      const memberAudit = this.opts.accounts > 1 ? 'arn:aws:iam::*:role/security-audit' : '*';
      b.role('security-scanner-role', {
        trust: ec2Trust,
        instanceProfile: true,
        managed: [ssmCore, cwAgent, b.awsManaged('SecurityAudit')],
        inline: [{ name: 'assume-member-audit', document: doc(allow('sts:AssumeRole', memberAudit)) }],
        description: 'Cloud security posture scanner',
      });
      b.role('github-actions-deploy', {
        trust: doc({
          Effect: 'Allow',
          Principal: { Federated: `arn:aws:iam::${id}:oidc-provider/token.actions.githubusercontent.com` },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
            StringLike: { 'token.actions.githubusercontent.com:sub': `repo:${this.org.github.repo}:*` },
          },
        }),
        inline: [
          { name: 'assume-deploy', document: doc(allow('sts:AssumeRole', 'arn:aws:iam::*:role/terraform-deploy')) },
        ],
        maxSessionDuration: 3600,
      });
      b.role('guardduty-forwarder-role', {
        trust: trustService('lambda.amazonaws.com'),
        managed: [b.awsManaged('AWSLambdaBasicExecutionRole')],
        inline: [
          {
            name: 'forward',
            document: doc(allow(['sqs:SendMessage', 'guardduty:GetFindings', 'guardduty:ListFindings'], '*')),
          },
        ],
      });
      this.org.jenkins = {
        user: b.user('jenkins-ci', {
          inline: [
            { name: 'assume-deploy', document: doc(allow('sts:AssumeRole', 'arn:aws:iam::*:role/terraform-deploy')) },
          ],
        }),
        ip: '',
      };
      b.role('ssm-default-host-management', {
        path: '/service-role/',
        trust: trustService('ssm.amazonaws.com'),
        managed: [ssmCore],
      });
      return;
    }

    const assets = account.buckets;
    b.role('storefront-web-role', {
      trust: ec2Trust,
      instanceProfile: true,
      managed: [
        ssmCore,
        cwAgent,
        b.customerManaged(
          'storefront-app',
          doc(
            allow(['s3:GetObject'], '*'),
            allow(['s3:PutObject'], `arn:aws:s3:::${assets.media}/*`),
            allow(
              ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'],
              `arn:aws:dynamodb:*:${id}:table/storefront-*`,
            ),
            allow(['sqs:SendMessage'], `arn:aws:sqs:*:${id}:orders-*`),
            allow(['kms:Decrypt', 'kms:GenerateDataKey'], '*'),
            allow(['ssm:GetParameter', 'ssm:GetParameters'], `arn:aws:ssm:*:${id}:parameter/storefront/*`),
          ),
        ),
      ],
      description: 'Storefront web tier',
    });
    b.role('media-proxy-role', {
      trust: ec2Trust,
      instanceProfile: true,
      managed: [ssmCore, cwAgent],
      inline: [
        {
          name: 'media',
          document: doc(
            allow(
              ['s3:GetObject', 's3:PutObject', 's3:ListBucket'],
              [`arn:aws:s3:::${assets.media}`, `arn:aws:s3:::${assets.media}/*`, `arn:aws:s3:::${assets.exports}/*`],
            ),
            allow(['kms:Decrypt'], account.kmsKeyArn('*')),
          ),
        },
      ],
      description: 'Image preview / URL proxy service',
    });
    b.role('worker-role', {
      trust: ec2Trust,
      instanceProfile: true,
      managed: [ssmCore, cwAgent],
      inline: [
        {
          name: 'worker',
          document: doc(
            allow(
              ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:SendMessage', 'sqs:ChangeMessageVisibility'],
              `arn:aws:sqs:*:${id}:orders-*`,
            ),
            allow(
              ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:Query'],
              `arn:aws:dynamodb:*:${id}:table/*`,
            ),
            allow(['s3:PutObject', 's3:GetObject'], `arn:aws:s3:::${assets.exports}/*`),
            allow(['secretsmanager:GetSecretValue'], `arn:aws:secretsmanager:*:${id}:secret:prod/*`),
            allow(['kms:Decrypt', 'kms:GenerateDataKey'], '*'),
          ),
        },
      ],
    });
    b.role('batch-etl-role', {
      // A debugging shortcut left in the trust policy: any principal of the account may assume it.
      trust: doc(
        { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${id}:root` }, Action: 'sts:AssumeRole' },
      ),
      instanceProfile: true,
      managed: [ssmCore, cwAgent],
      inline: [
        {
          name: 'etl',
          document: doc(
            allow(
              ['s3:GetObject', 's3:PutObject', 's3:ListBucket'],
              [`arn:aws:s3:::${assets.data}`, `arn:aws:s3:::${assets.data}/*`, `arn:aws:s3:::${assets.exports}/*`],
            ),
            allow(['dynamodb:BatchWriteItem', 'dynamodb:PutItem'], `arn:aws:dynamodb:*:${id}:table/analytics-*`),
          ),
        },
      ],
    });
    b.role('platform-admin-role', {
      trust: trustAws([`arn:aws:iam::${id}:role/ops-automation-role`, `arn:aws:iam::${id}:root`]),
      managed: [b.awsManaged('AdministratorAccess')],
      maxSessionDuration: 3600,
      description: 'Break-glass / automation admin',
    });
    b.role('ops-automation-role', {
      trust: ec2Trust,
      instanceProfile: true,
      managed: [ssmCore, cwAgent],
      inline: [
        {
          name: 'ops',
          document: doc(
            allow(['ec2:RunInstances', 'ec2:Describe*', 'ec2:CreateTags', 'ec2:CreateSnapshot'], '*'),
            allow(['iam:PassRole'], '*'),
            allow(['sts:AssumeRole'], `arn:aws:iam::${id}:role/platform-admin-role`),
            allow(['cloudwatch:DescribeAlarms', 'ssm:DescribeInstanceInformation'], '*'),
          ),
        },
      ],
    });
    b.role('bastion-role', { trust: ec2Trust, instanceProfile: true, managed: [ssmCore, cwAgent] });
    b.role('eks-node-role', {
      trust: ec2Trust,
      instanceProfile: true,
      managed: [
        b.awsManaged('AmazonEKSWorkerNodePolicy'),
        b.awsManaged('AmazonEKS_CNI_Policy'),
        b.awsManaged('AmazonEC2ContainerRegistryReadOnly'),
        ssmCore,
      ],
    });
    b.role('edge-proxy-role', { trust: ec2Trust, instanceProfile: true, managed: [ssmCore, cwAgent] });
    b.role('payments-pod-role', {
      trust: doc({
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
      }),
      inline: [
        {
          name: 'payments',
          document: doc(
            allow(
              ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
              `arn:aws:dynamodb:*:${id}:table/payments-*`,
            ),
            allow(['kms:Decrypt', 'kms:Encrypt'], '*'),
          ),
        },
      ],
    });
    b.role('ingest-irsa-role', {
      trust: doc({
        Effect: 'Allow',
        Principal: { Federated: `arn:aws:iam::${id}:oidc-provider/oidc.eks.REGION.amazonaws.com/id/CLUSTER` },
        Action: 'sts:AssumeRoleWithWebIdentity',
      }),
      inline: [
        {
          name: 'ingest',
          document: doc(
            allow(['s3:PutObject', 's3:GetObject'], `arn:aws:s3:::${assets.data}/*`),
            allow(['sqs:ReceiveMessage', 'sqs:DeleteMessage'], '*'),
          ),
        },
      ],
    });
    b.role('orders-api-task-role', {
      trust: trustService('ecs-tasks.amazonaws.com'),
      inline: [
        {
          name: 'orders',
          document: doc(
            allow(
              ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
              `arn:aws:dynamodb:*:${id}:table/orders*`,
            ),
            allow(['sqs:SendMessage'], '*'),
            allow(['s3:GetObject', 's3:PutObject'], `arn:aws:s3:::${assets.exports}/*`),
            allow(['secretsmanager:GetSecretValue'], `arn:aws:secretsmanager:*:${id}:secret:orders/*`),
          ),
        },
      ],
    });
    b.role('ecsTaskExecutionRole', {
      trust: trustService('ecs-tasks.amazonaws.com'),
      managed: [b.awsManaged('AmazonECSTaskExecutionRolePolicy')],
    });
    b.role('thumbnail-generator-role', {
      path: '/service-role/',
      trust: trustService('lambda.amazonaws.com'),
      managed: [b.awsManaged('AWSLambdaBasicExecutionRole')],
      inline: [
        { name: 'thumbs', document: doc(allow(['s3:GetObject', 's3:PutObject'], `arn:aws:s3:::${assets.media}/*`)) },
      ],
    });
    b.role('orders-stream-processor-role', {
      path: '/service-role/',
      trust: trustService('lambda.amazonaws.com'),
      managed: [b.awsManaged('AWSLambdaBasicExecutionRole')],
      inline: [
        {
          name: 'stream',
          document: doc(
            allow(
              [
                'dynamodb:GetRecords',
                'dynamodb:GetShardIterator',
                'dynamodb:DescribeStream',
                'dynamodb:ListStreams',
                'sqs:SendMessage',
                'dynamodb:PutItem',
              ],
              '*',
            ),
          ),
        },
      ],
    });
    b.role('terraform-deploy', {
      trust: trustAws([
        `arn:aws:iam::${tooling.id}:role/github-actions-deploy`,
        `arn:aws:iam::${tooling.id}:user/jenkins-ci`,
      ]),
      managed: [b.awsManaged('AdministratorAccess')],
      permissionsBoundary: b.customerManaged(
        'deploy-boundary',
        doc(allow('*', '*'), {
          Effect: 'Deny',
          Action: ['iam:CreateUser', 'iam:CreateAccessKey', 'organizations:*'],
          Resource: '*',
        }),
      ).arn,
    });
    b.role('security-audit', {
      trust: trustAws(`arn:aws:iam::${tooling.id}:role/security-scanner-role`),
      managed: [b.awsManaged('SecurityAudit')],
    });
  }

  private people(): void {
    const { org, rng } = this;
    const count = 5 + Math.min(3, org.workloads.length - 1);
    const used = new Set<string>();
    for (let i = 0; i < count; i++) {
      let first = rng.pick(FIRST);
      let last = rng.pick(LAST);
      while (used.has(first + last)) {
        first = rng.pick(FIRST);
        last = rng.pick(LAST);
      }
      used.add(first + last);
      const admin = i < 2;
      const sets: Human['sets'] = [];
      for (const account of org.accounts) {
        if (admin) sets.push({ account, set: 'AdministratorAccess' });
        else if (account.kind === 'workload')
          sets.push({ account, set: i % 3 === 0 ? 'ReadOnlyAccess' : 'PowerUserAccess' });
      }
      org.humans.push({
        first,
        last,
        email: `${first.toLowerCase()}.${last.toLowerCase()}@${org.domain}`,
        home: org.book.publicAddress('home'),
        officeShare: rng.between(0.3, 0.8),
        sets,
        admin,
        browser: rng.pick(BROWSERS),
      });
    }
    const dev = org.humans[2]!;
    const devUser = org.storyAccount.iam.user(`dev-${dev.first[0]!.toLowerCase()}${dev.last.toLowerCase()}`, {
      inline: [
        {
          name: 'developer',
          document: doc(allow(['sts:AssumeRole'], '*'), allow(['s3:*', 'dynamodb:*', 'logs:*'], '*')),
        },
      ],
    });
    org.developer = { user: devUser, ip: org.onPrem[0]!.hosts[3]! };
    org.jenkins.ip = org.onPrem[0]!.hosts[7]!;
  }

  private estate(account: Account, region: string, primary: boolean): RegionEstate {
    const { org, rng } = this;
    const second = (16 + account.index * 4 + (primary ? 0 : 1)) % 240;
    const vpc: Vpc = {
      id: resourceId('vpc', rng),
      cidr: `10.${second}.0.0/16`,
      igwId: resourceId('igw', rng),
      subnets: [],
    };
    const azs = [`${region}a`, `${region}b`];
    const withIpv6 = account === org.storyAccount && primary;
    if (withIpv6) vpc.ipv6Block = org.book.ec2v6Block(region);
    const subnet = (az: string, isPublic: boolean, third: number, v6: number): Subnet => {
      const s: Subnet = {
        id: resourceId('subnet', rng),
        az,
        cidr: `10.${second}.${third}.0/20`,
        public: isPublic,
        routeTableId: '',
        base: ((10 << 24) | (second << 16) | (third << 8)) >>> 0,
        size: 4096,
        used: new Set([0, 1, 2, 3, 4095]),
      };
      if (withIpv6 && isPublic && vpc.ipv6Block) {
        s.ipv6Index = v6;
        s.ipv6Cidr = `${formatIp(ipFromBigInt(6, ipToBigInt(vpc.ipv6Block.first) + (BigInt(v6) << 64n)))}/64`;
      }
      return s;
    };
    const pubA = subnet(azs[0]!, true, 0, 0);
    const pubB = subnet(azs[1]!, true, 16, 1);
    const privA = subnet(azs[0]!, false, 64, 2);
    const privB = subnet(azs[1]!, false, 80, 3);
    const publicRt = resourceId('rtb', rng);
    pubA.routeTableId = publicRt;
    pubB.routeTableId = publicRt;
    privA.routeTableId = resourceId('rtb', rng);
    privB.routeTableId = resourceId('rtb', rng);
    vpc.subnets.push(pubA, pubB, privA, privB);

    const estate: RegionEstate = {
      account,
      region,
      primary,
      azs,
      ami: `ami-0${rng.hex(16)}`,
      vpc,
      nats: [],
      endpoints: [],
      instances: [],
      lambdas: [],
    };
    const nat = (sub: Subnet): NatGateway => {
      const eniId = resourceId('eni', rng);
      return {
        id: `nat-0${rng.hex(16)}`,
        subnet: sub,
        eniId,
        createTime: org.start - rng.intIn(30, 400) * 24 * HOUR,
        addresses: [
          {
            allocationId: resourceId('eipalloc', rng),
            associationId: resourceId('eipassoc', rng),
            privateIp: this.host(sub),
            publicIp: org.book.ec2v4(region),
            isPrimary: true,
            associatedAt: -Infinity,
          },
        ],
      };
    };
    const natA = nat(pubA);
    estate.nats.push(natA);
    privA.nat = natA;
    if (account === org.storyAccount && primary) {
      const natB = nat(pubB);
      estate.nats.push(natB);
      privB.nat = natB;
      // A second EIP on NAT A, associated mid-window (AssociateNatGatewayAddress).
      natA.addresses.push({
        allocationId: resourceId('eipalloc', rng),
        associationId: resourceId('eipassoc', rng),
        privateIp: this.host(pubA),
        publicIp: org.book.ec2v4(region),
        isPrimary: false,
        associatedAt: org.start + Math.round(((org.end - org.start) * rng.between(0.3, 0.4)) / 1000) * 1000,
      });
    } else {
      privB.nat = natA;
    }

    estate.endpoints.push({
      id: resourceId('vpce', rng),
      type: 'Gateway',
      service: 's3',
      routeTableIds: [privA.routeTableId, privB.routeTableId],
      enis: [],
      createTime: org.start - rng.intIn(30, 400) * 24 * HOUR,
    });
    if (account === org.storyAccount && primary) {
      for (const service of ['sts', 'ssm', 'ec2messages', 'ssmmessages'] as const) {
        estate.endpoints.push({
          id: resourceId('vpce', rng),
          type: 'Interface',
          service,
          routeTableIds: [],
          enis: [privA, privB].map((s) => ({ id: resourceId('eni', rng), subnet: s, ip: this.host(s) })),
          createTime: org.start - rng.intIn(30, 400) * 24 * HOUR,
        });
      }
    }
    if (account.kind === 'workload' && primary) {
      const name = `${account.name}-web`;
      const id = rng.hex(16);
      estate.alb = {
        name,
        id,
        arn: `arn:aws:elasticloadbalancing:${region}:${account.id}:loadbalancer/app/${name}/${id}`,
        dnsName: `${name}-${rng.digits(10)}.${region}.elb.amazonaws.com`,
        domain: account === org.storyAccount ? `shop.${org.domain}` : `${account.name}.${org.domain}`,
        nodes: [pubA, pubB].map((s) => ({
          eniId: resourceId('eni', rng),
          subnet: s,
          privateIp: this.host(s),
          publicIp: org.book.ec2v4(region),
        })),
        targetGroupArn: `arn:aws:elasticloadbalancing:${region}:${account.id}:targetgroup/${name}-tg/${rng.hex(16)}`,
        certificateArn: `arn:aws:acm:${region}:${account.id}:certificate/${rng.uuid()}`,
        targetPort: 8080,
      };
    }
    return estate;
  }

  /** A free private address in a subnet. */
  host(subnet: Subnet): string {
    for (;;) {
      const offset = this.rng.intIn(4, Math.min(subnet.size - 2, 1200));
      if (subnet.used.has(offset)) continue;
      subnet.used.add(offset);
      return ipv4((subnet.base + offset) >>> 0);
    }
  }

  private instances(): void {
    const { org } = this;
    const plan: { account: Account; primary: boolean; purpose: Purpose }[] = [];
    const add = (account: Account, primary: boolean, purpose: Purpose, n = 1) => {
      for (let i = 0; i < n; i++) plan.push({ account, primary, purpose });
    };
    add(org.tooling, true, 'scanner');
    for (const w of org.workloads) {
      add(w, true, 'web', w === org.storyAccount ? 3 : 2);
      add(w, true, 'bastion');
      add(w, true, 'worker');
    }
    add(org.storyAccount, true, 'ops');
    const eksAccount = org.workloads[org.workloads.length - 1]!;
    add(eksAccount, true, 'eks-node', 2);
    const cycle: { account: Account; primary: boolean; purpose: Purpose }[] = [];
    for (const w of org.workloads) cycle.push({ account: w, primary: false, purpose: 'worker' });
    cycle.push({ account: org.secondAccount, primary: true, purpose: 'batch' });
    cycle.push({ account: org.tooling, primary: false, purpose: 'batch' });
    cycle.push({ account: org.storyAccount, primary: true, purpose: 'batch' });
    for (const w of org.workloads) cycle.push({ account: w, primary: true, purpose: 'worker' });
    cycle.push({ account: org.storyAccount, primary: true, purpose: 'web' });
    for (const w of org.workloads) cycle.push({ account: w, primary: false, purpose: 'batch' });
    let remaining = this.opts.instances - plan.length;
    for (let i = 0; remaining > 0; i++, remaining--) plan.push(cycle[i % cycle.length]!);

    for (const item of plan) {
      const estate = item.account.regions[item.primary ? 0 : 1]!;
      this.instance(estate, item.purpose, { launchedBy: 'before' });
    }
    // IMDS posture: most instances are IMDSv2-only; a few legacy ones still allow IMDSv1.
    const storyWeb = org.storyAccount.regions[0]!.instances.filter((i) => i.purpose === 'web');
    for (const inst of storyWeb.slice(0, 2)) {
      inst.httpTokens = 'optional';
      inst.dualKey = true;
    }
    storyWeb[1]!.role = org.storyAccount.iam.roles.get('media-proxy-role')!;
    const second = org.secondAccount === org.storyAccount ? undefined : org.secondAccount;
    const legacyPool = (second ?? org.storyAccount).regions.flatMap((r) => r.instances);
    const legacyBatch = legacyPool.find((i) => i.purpose === 'batch') ?? legacyPool.find((i) => i.purpose === 'worker');
    if (legacyBatch && !legacyBatch.dualKey) {
      legacyBatch.httpTokens = 'optional';
      legacyBatch.dualKey = true;
    }
    const optionalOnly = org.tooling.regions.flatMap((r) => r.instances).find((i) => i.httpTokens === 'required');
    if (optionalOnly) optionalOnly.httpTokens = 'optional';
  }

  /** Adds one instance; `launch` defaults to weeks before the window. */
  instance(
    estate: RegionEstate,
    purpose: Purpose,
    options: { launchedBy: Instance['launchedBy']; launch?: number; terminate?: number; asg?: string; subnet?: Subnet },
  ): Instance {
    const { org, rng } = this;
    const account = estate.account;
    const isPublic = PUBLIC_PURPOSES.has(purpose);
    const candidates = estate.vpc.subnets.filter((s) => s.public === isPublic);
    const subnet = options.subnet ?? candidates[estate.instances.length % candidates.length]!;
    const roleName: Record<Purpose, string> = {
      web: 'storefront-web-role',
      worker: 'worker-role',
      batch: 'batch-etl-role',
      ops: 'ops-automation-role',
      bastion: 'bastion-role',
      'eks-node': 'eks-node-role',
      scanner: 'security-scanner-role',
      jump: 'bastion-role',
      edge: 'edge-proxy-role',
    };
    const role =
      account.kind === 'tooling'
        ? account.iam.roles.get('security-scanner-role')!
        : account.iam.roles.get(roleName[purpose])!;
    const count = estate.instances.filter((i) => i.purpose === purpose).length;
    const names: Record<Purpose, string> = {
      web: 'storefront-web',
      worker: 'orders-worker',
      batch: 'etl-batch',
      ops: 'ops-automation',
      bastion: 'bastion',
      'eks-node': `${account.name}-eks-node`,
      scanner: account.kind === 'tooling' && estate.primary ? 'security-scanner' : 'security-collector',
      jump: 'jump-host',
      edge: 'edge-proxy',
    };
    const inst: Instance = {
      id: `i-0${rng.hex(16)}`,
      name: `${names[purpose]}-${String(count + 1).padStart(2, '0')}`,
      purpose: account.kind === 'tooling' ? 'scanner' : purpose,
      account,
      estate,
      subnet,
      type: rng.pick(INSTANCE_TYPES[purpose]),
      ami: estate.ami,
      reservationId: `r-0${rng.hex(16)}`,
      privateIp: this.host(subnet),
      eniId: resourceId('eni', rng),
      macAddress: Array.from({ length: 6 }, (_, i) => (i === 0 ? '0e' : rng.hex(2))).join(':'),
      role,
      launch: options.launch ?? org.start - rng.intIn(2, 120) * 24 * HOUR - rng.int(24 * HOUR),
      launchedBy: options.launchedBy,
      httpTokens: 'required',
      hopLimit: purpose === 'eks-node' ? 2 : rng.chance(0.3) ? 2 : 1,
      dualKey: false,
      forcedVends: [],
      keys: [],
      identityKeys: [],
      rootVolumeId: '',
    };
    // A fork, not a draw: the volume id leaves every other pick of the estate unchanged.
    inst.rootVolumeId = `vol-0${rng.fork(`vol:${inst.id}`).hex(16)}`;
    inst.launch = Math.floor(inst.launch / 1000) * 1000;
    if (options.terminate !== undefined) inst.terminate = options.terminate;
    if (options.asg) inst.asg = options.asg;
    if (subnet.public) {
      inst.publicIp = org.book.ec2v4(estate.region);
      if (subnet.ipv6Index !== undefined && estate.vpc.ipv6Block)
        inst.ipv6 = org.book.ipv6Host(estate.vpc.ipv6Block, subnet.ipv6Index);
    }
    estate.instances.push(inst);
    return inst;
  }

  /** Churn (autoscaling, a console launch with an EIP), ECS, Lambda and EKS. */
  private workloads(): void {
    const { org, rng } = this;
    const span = org.end - org.start;
    const at = (lo: number, hi: number) => org.start + Math.round((span * rng.between(lo, hi)) / 1000) * 1000;

    for (const account of org.workloads) {
      const estate = account.regions[0]!;
      const asg = `${account.name}-orders-worker-asg`;
      for (const inst of estate.instances) if (inst.purpose === 'worker') inst.asg = asg;
      // Scale out twice, then scale in: one new and one pre-window worker go away.
      const out1 = at(0.22, 0.3);
      const out2 = out1 + rng.intIn(1, 6) * MINUTE;
      const inAt = at(0.72, 0.82);
      const a = this.instance(estate, 'worker', { launchedBy: 'autoscaling', launch: out1, asg });
      this.instance(estate, 'worker', { launchedBy: 'autoscaling', launch: out2, asg });
      a.terminate = inAt;
      const old = estate.instances.find((i) => i.purpose === 'worker' && i.launchedBy === 'before' && !i.dualKey);
      if (old && estate.instances.filter((i) => i.purpose === 'worker').length > 3)
        old.terminate = inAt + rng.intIn(5, 40) * 1000;
    }
    // Public autoscaling group (edge proxies): new public addresses appear in RunInstances.
    {
      const account = org.secondAccount;
      const estate = account.regions[0]!;
      const asg = `${account.name}-edge-proxy-asg`;
      this.instance(estate, 'edge', { launchedBy: 'autoscaling', launch: at(0.12, 0.18), asg });
      const b = this.instance(estate, 'edge', { launchedBy: 'autoscaling', launch: at(0.45, 0.5), asg });
      b.terminate = at(0.85, 0.9);
    }
    // A jump host launched from the console and given an Elastic IP later.
    {
      const estate = org.storyAccount.regions[0]!;
      const jump = this.instance(estate, 'jump', { launchedBy: 'console', launch: at(0.24, 0.28) });
      const allocatedAt = jump.launch + rng.intIn(10, 25) * MINUTE;
      jump.eip = {
        allocationId: resourceId('eipalloc', rng),
        associationId: resourceId('eipassoc', rng),
        publicIp: org.book.ec2v4(estate.region),
        allocatedAt,
        at: allocatedAt + rng.intIn(30, 180) * 1000,
      };
    }

    for (const account of org.workloads) {
      const estate = account.regions[0]!;
      const privates = estate.vpc.subnets.filter((s) => !s.public);
      const service: EcsService = {
        cluster: `${account.name}-cluster`,
        name: 'orders-api',
        role: account.iam.roles.get('orders-api-task-role')!,
        executionRole: account.iam.roles.get('ecsTaskExecutionRole')!,
        tasks: [],
        desired: 2,
      };
      // Tasks are replaced a few times (deployments); replacements overlap by a minute.
      const deploys = [org.start - rng.intIn(2, 20) * HOUR];
      for (let t = org.start + rng.intIn(40, 100) * MINUTE; t < org.end - 10 * MINUTE; t += rng.intIn(80, 150) * MINUTE)
        deploys.push(t);
      deploys.forEach((deploy, d) => {
        const next = deploys[d + 1];
        for (let k = 0; k < service.desired; k++) {
          const sub = privates[k % privates.length]!;
          service.tasks.push({
            id: rng.hex(32),
            privateIp: this.host(sub),
            eniId: resourceId('eni', rng),
            attachmentId: rng.uuid(),
            subnet: sub,
            start: Math.floor((deploy + k * rng.intIn(5, 40) * 1000) / 1000) * 1000,
            stop: next === undefined ? Infinity : next + 60_000 + k * 20_000,
            keys: [],
          });
        }
      });
      estate.ecs = service;

      const fn = (e: RegionEstate, name: string, roleName: string, rate: number): LambdaFunction => ({
        name,
        arn: `arn:aws:lambda:${e.region}:${account.id}:function:${name}`,
        role: account.iam.roles.get(roleName)!,
        runtime: 'nodejs20.x',
        estate: e,
        rate,
        envs: [],
      });
      estate.lambdas.push(fn(estate, 'thumbnail-generator', 'thumbnail-generator-role', 1.2));
      const secondary = account.regions[1]!;
      secondary.lambdas.push(fn(secondary, 'orders-stream-processor', 'orders-stream-processor-role', 1.5));
    }
    {
      const estate = org.tooling.regions[0]!;
      estate.lambdas.push({
        name: 'guardduty-forwarder',
        arn: `arn:aws:lambda:${estate.region}:${org.tooling.id}:function:guardduty-forwarder`,
        role: org.tooling.iam.roles.get('guardduty-forwarder-role')!,
        runtime: 'nodejs20.x',
        estate,
        rate: 0.4,
        envs: [],
      });
    }
    for (const estate of org.accounts.flatMap((a) => a.regions)) {
      for (const f of estate.lambdas) {
        const pool = Array.from({ length: rng.intIn(3, 5) }, () => org.book.ec2v4(estate.region));
        // Execution environments: recycled every 30-100 minutes, sometimes two at once.
        for (let t = org.start - rng.intIn(1, 30) * MINUTE; t < org.end; t += rng.intIn(30, 100) * MINUTE) {
          const life = rng.intIn(35, 110) * MINUTE;
          f.envs.push({ start: Math.floor(t / 1000) * 1000, end: t + life, ip: rng.pick(pool) });
          if (rng.chance(0.3)) {
            const s = t + rng.intIn(2, 20) * MINUTE;
            f.envs.push({
              start: Math.floor(s / 1000) * 1000,
              end: s + rng.intIn(20, 60) * MINUTE,
              ip: rng.pick(pool),
            });
          }
        }
      }
    }

    const eksAccount = org.workloads[org.workloads.length - 1]!;
    const eksEstate = eksAccount.regions[0]!;
    const nodes = eksEstate.instances.filter((i) => i.purpose === 'eks-node');
    const clusterName = `${eksAccount.name}-eks`;
    const cluster: EksCluster = {
      name: clusterName,
      arn: `arn:aws:eks:${eksEstate.region}:${eksAccount.id}:cluster/${clusterName}`,
      oidcId: rng.hex(32).toUpperCase(),
      nodes,
      pods: [],
    };
    const podSpecs: { base: string; kind: Pod['kind']; role: string; ns: string; sa: string }[] = [
      { base: 'payments', kind: 'pod-identity', role: 'payments-pod-role', ns: 'payments', sa: 'payments-api' },
      { base: 'ingest', kind: 'irsa', role: 'ingest-irsa-role', ns: 'data', sa: 'ingest-worker' },
      { base: 'metrics', kind: 'node-role', role: 'eks-node-role', ns: 'kube-system', sa: 'aws-node' },
    ];
    for (const spec of podSpecs) {
      for (let r = 0; r < 2; r++) {
        const node = nodes[r % nodes.length]!;
        let t = org.start - rng.intIn(1, 48) * HOUR;
        while (t < org.end) {
          const life = spec.kind === 'node-role' ? Infinity : rng.intIn(90, 400) * MINUTE;
          cluster.pods.push({
            name: `${spec.base}-${rng.hex(4)}`,
            kind: spec.kind,
            namespace: spec.ns,
            serviceAccount: spec.sa,
            uid: rng.uuid(),
            role: eksAccount.iam.roles.get(spec.role)!,
            node,
            start: Math.floor(t / 1000) * 1000,
            end: t + life,
            keys: [],
          });
          t += life + rng.intIn(0, 2) * 1000;
        }
      }
    }
    eksEstate.eks = cluster;
  }
}

/** Builds the organisation for one seed; deterministic, no I/O beyond reading the ranges snapshot. */
export function buildOrganisation(opts: OrganisationOptions, rng: Rng, book: AddressBook): Organisation {
  return new Builder(opts, rng, book).build();
}

/** The public address an instance's own traffic leaves from at `t` (EIP once associated). */
export function instancePublicIp(inst: Instance, t: number): string | undefined {
  if (inst.eip && t >= inst.eip.at) return inst.eip.publicIp;
  return inst.publicIp;
}

/** True while the instance runs. */
export function isRunning(inst: Instance, t: number): boolean {
  return t >= inst.launch && (inst.terminate === undefined || t < inst.terminate);
}
