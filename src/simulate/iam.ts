/**
 * IAM roles, users and policies of a simulated account, with a realistic spread of
 * privilege (admin-equivalent, PassRole + RunInstances, s3:GetObject on *, secrets, narrow).
 */
import { awsId } from './ids.js';
import type { Rng } from './prng.js';

export type PolicyDocument = { Version: string; Statement: Record<string, unknown>[] };

export interface ManagedPolicy {
  name: string;
  arn: string;
  /** ANPA… for customer-managed, ANPA… (AWS's) for AWS-managed. */
  id: string;
  path: string;
  awsManaged: boolean;
  document: PolicyDocument;
  createDate: number;
}

export interface InstanceProfile {
  name: string;
  id: string;
  arn: string;
  createDate: number;
}

export interface Role {
  accountId: string;
  name: string;
  /** AROA… unique id: the principalId prefix of every session of the role. */
  id: string;
  path: string;
  arn: string;
  trust: PolicyDocument;
  inline: { name: string; document: PolicyDocument }[];
  managed: ManagedPolicy[];
  instanceProfile?: InstanceProfile;
  permissionsBoundary?: string;
  createDate: number;
  maxSessionDuration: number;
  description: string;
}

export interface IamUser {
  accountId: string;
  name: string;
  id: string;
  arn: string;
  /** AKIA… long-term key. */
  accessKeyId: string;
  inline: { name: string; document: PolicyDocument }[];
  managed: ManagedPolicy[];
  createDate: number;
}

const V = '2012-10-17';

export function doc(...statements: Record<string, unknown>[]): PolicyDocument {
  return { Version: V, Statement: statements };
}

export function allow(action: string | string[], resource: string | string[], extra: object = {}) {
  return { Effect: 'Allow', Action: action, Resource: resource, ...extra };
}

export function trustService(service: string | string[], extra: object = {}): PolicyDocument {
  return doc({ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole', ...extra });
}

export function trustAws(principals: string | string[], extra: object = {}): PolicyDocument {
  return doc({ Effect: 'Allow', Principal: { AWS: principals }, Action: 'sts:AssumeRole', ...extra });
}

/** AWS-managed policies the simulated roles attach (documents abbreviated to their essence). */
const AWS_MANAGED: Record<string, { path: string; document: PolicyDocument }> = {
  AdministratorAccess: { path: '/', document: doc(allow('*', '*')) },
  PowerUserAccess: {
    path: '/',
    document: doc(
      { Effect: 'Allow', NotAction: ['iam:*', 'organizations:*', 'account:*'], Resource: '*' },
      allow(
        [
          'iam:CreateServiceLinkedRole',
          'iam:DeleteServiceLinkedRole',
          'iam:ListRoles',
          'organizations:DescribeOrganization',
        ],
        '*',
      ),
    ),
  },
  ReadOnlyAccess: {
    path: '/',
    document: doc(
      allow(['ec2:Describe*', 's3:Get*', 's3:List*', 'iam:Get*', 'iam:List*', 'dynamodb:Describe*', 'logs:Get*'], '*'),
    ),
  },
  SecurityAudit: {
    path: '/',
    document: doc(
      allow(
        [
          'ec2:Describe*',
          'iam:Get*',
          'iam:List*',
          'iam:GenerateCredentialReport',
          's3:GetBucket*',
          's3:ListAllMyBuckets',
          'cloudtrail:Describe*',
          'config:Describe*',
        ],
        '*',
      ),
    ),
  },
  AmazonSSMManagedInstanceCore: {
    path: '/',
    document: doc(
      allow(
        [
          'ssm:DescribeAssociation',
          'ssm:GetDeployablePatchSnapshotForInstance',
          'ssm:GetDocument',
          'ssm:DescribeDocument',
          'ssm:GetManifest',
          'ssm:GetParameter',
          'ssm:GetParameters',
          'ssm:ListAssociations',
          'ssm:ListInstanceAssociations',
          'ssm:PutInventory',
          'ssm:PutComplianceItems',
          'ssm:PutConfigurePackageResult',
          'ssm:UpdateAssociationStatus',
          'ssm:UpdateInstanceAssociationStatus',
          'ssm:UpdateInstanceInformation',
        ],
        '*',
      ),
      allow(
        [
          'ssmmessages:CreateControlChannel',
          'ssmmessages:CreateDataChannel',
          'ssmmessages:OpenControlChannel',
          'ssmmessages:OpenDataChannel',
        ],
        '*',
      ),
      allow(
        [
          'ec2messages:AcknowledgeMessage',
          'ec2messages:DeleteMessage',
          'ec2messages:FailMessage',
          'ec2messages:GetEndpoint',
          'ec2messages:GetMessages',
          'ec2messages:SendReply',
        ],
        '*',
      ),
    ),
  },
  CloudWatchAgentServerPolicy: {
    path: '/',
    document: doc(
      allow(
        [
          'cloudwatch:PutMetricData',
          'ec2:DescribeVolumes',
          'ec2:DescribeTags',
          'logs:PutLogEvents',
          'logs:DescribeLogStreams',
          'logs:DescribeLogGroups',
          'logs:CreateLogStream',
          'logs:CreateLogGroup',
        ],
        '*',
      ),
    ),
  },
  AmazonEKSWorkerNodePolicy: {
    path: '/',
    document: doc(
      allow(
        [
          'ec2:DescribeInstances',
          'ec2:DescribeRouteTables',
          'ec2:DescribeSecurityGroups',
          'ec2:DescribeSubnets',
          'ec2:DescribeVolumes',
          'ec2:DescribeVpcs',
          'eks:DescribeCluster',
          'eks-auth:AssumeRoleForPodIdentity',
        ],
        '*',
      ),
    ),
  },
  AmazonEKS_CNI_Policy: {
    path: '/',
    document: doc(
      allow(
        [
          'ec2:AssignPrivateIpAddresses',
          'ec2:AttachNetworkInterface',
          'ec2:CreateNetworkInterface',
          'ec2:DeleteNetworkInterface',
          'ec2:DescribeInstances',
          'ec2:DescribeTags',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeInstanceTypes',
          'ec2:DetachNetworkInterface',
          'ec2:ModifyNetworkInterfaceAttribute',
          'ec2:UnassignPrivateIpAddresses',
        ],
        '*',
      ),
    ),
  },
  AmazonEC2ContainerRegistryReadOnly: {
    path: '/',
    document: doc(
      allow(
        [
          'ecr:GetAuthorizationToken',
          'ecr:BatchCheckLayerAvailability',
          'ecr:GetDownloadUrlForLayer',
          'ecr:GetRepositoryPolicy',
          'ecr:DescribeRepositories',
          'ecr:ListImages',
          'ecr:DescribeImages',
          'ecr:BatchGetImage',
        ],
        '*',
      ),
    ),
  },
  AWSLambdaBasicExecutionRole: {
    path: '/service-role/',
    document: doc(allow(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], '*')),
  },
  AmazonECSTaskExecutionRolePolicy: {
    path: '/service-role/',
    document: doc(
      allow(
        [
          'ecr:GetAuthorizationToken',
          'ecr:BatchCheckLayerAvailability',
          'ecr:GetDownloadUrlForLayer',
          'ecr:BatchGetImage',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
        ],
        '*',
      ),
    ),
  },
  AutoScalingServiceRolePolicy: {
    path: '/aws-service-role/',
    document: doc(
      allow(
        [
          'ec2:RunInstances',
          'ec2:TerminateInstances',
          'ec2:Describe*',
          'ec2:CreateTags',
          'iam:PassRole',
          'elasticloadbalancing:Register*',
          'elasticloadbalancing:Deregister*',
        ],
        '*',
      ),
    ),
  },
};

/** Builds the roles, users and policies of one account; keeps ids stable per (seed, account). */
export class IamBuilder {
  readonly roles = new Map<string, Role>();
  readonly users = new Map<string, IamUser>();
  readonly policies = new Map<string, ManagedPolicy>();

  constructor(
    readonly accountId: string,
    private readonly rng: Rng,
    private readonly createdBefore: number,
  ) {}

  private created(): number {
    // Created weeks to years before the window, on whole seconds.
    const days = this.rng.intIn(20, 900);
    return Math.floor((this.createdBefore - days * 86_400_000 - this.rng.int(86_400_000)) / 1000) * 1000;
  }

  awsManaged(name: string): ManagedPolicy {
    const known = this.policies.get(`aws:${name}`);
    if (known) return known;
    const def = AWS_MANAGED[name];
    if (!def) throw new RangeError(`unknown AWS managed policy ${name}`);
    const policy: ManagedPolicy = {
      name,
      arn: `arn:aws:iam::aws:policy${def.path}${name}`,
      // AWS-managed policy ids are AWS's own; derive them from a fixed account-like number.
      id: awsId('ANPA', '000000000000', this.rng.fork(`aws-policy:${name}`)),
      path: def.path,
      awsManaged: true,
      document: def.document,
      createDate: Date.UTC(2015, 1, 6, 18, 39, 46),
    };
    this.policies.set(`aws:${name}`, policy);
    return policy;
  }

  customerManaged(name: string, document: PolicyDocument): ManagedPolicy {
    const policy: ManagedPolicy = {
      name,
      arn: `arn:aws:iam::${this.accountId}:policy/${name}`,
      id: awsId('ANPA', this.accountId, this.rng),
      path: '/',
      awsManaged: false,
      document,
      createDate: this.created(),
    };
    this.policies.set(name, policy);
    return policy;
  }

  role(
    name: string,
    options: {
      trust: PolicyDocument;
      path?: string;
      inline?: { name: string; document: PolicyDocument }[];
      managed?: ManagedPolicy[];
      instanceProfile?: boolean;
      permissionsBoundary?: string;
      description?: string;
      maxSessionDuration?: number;
    },
  ): Role {
    const path = options.path ?? '/';
    const createDate = this.created();
    const role: Role = {
      accountId: this.accountId,
      name,
      id: awsId('AROA', this.accountId, this.rng),
      path,
      arn: `arn:aws:iam::${this.accountId}:role${path}${name}`,
      trust: options.trust,
      inline: options.inline ?? [],
      managed: options.managed ?? [],
      createDate,
      maxSessionDuration: options.maxSessionDuration ?? 3600,
      description: options.description ?? '',
    };
    if (options.permissionsBoundary) role.permissionsBoundary = options.permissionsBoundary;
    if (options.instanceProfile) {
      role.instanceProfile = {
        name,
        id: awsId('AIPA', this.accountId, this.rng),
        arn: `arn:aws:iam::${this.accountId}:instance-profile/${name}`,
        createDate,
      };
    }
    this.roles.set(name, role);
    return role;
  }

  user(
    name: string,
    options: { inline?: { name: string; document: PolicyDocument }[]; managed?: ManagedPolicy[] },
  ): IamUser {
    const user: IamUser = {
      accountId: this.accountId,
      name,
      id: awsId('AIDA', this.accountId, this.rng),
      arn: `arn:aws:iam::${this.accountId}:user/${name}`,
      accessKeyId: awsId('AKIA', this.accountId, this.rng),
      inline: options.inline ?? [],
      managed: options.managed ?? [],
      createDate: this.created(),
    };
    this.users.set(name, user);
    return user;
  }
}
