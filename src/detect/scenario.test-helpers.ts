/**
 * Hand-written organisation, attacker and CloudTrail records for the held-out detector tests.
 *
 * Shapes follow what AWS writes: CloudTrail records as in the CloudTrail userIdentity and record-contents
 * references (and the real Invictus records in ../shared/datasets), EC2 responseElements in the
 * `{"…Response": {…, "natGatewayAddressSet": {"item": …}}}` / `{"instancesSet": {"items": […]}}` forms, and
 * inventory documents as the AWS CLI prints `describe-*` / `iam get-account-authorization-details`.
 *
 * Addresses: every "AWS" address below is inside an EC2 range of the vendored ip-ranges.json
 * (syncToken 1787433425) and classifies as `aws`; every attacker address "outside AWS" is in a hosting
 * provider's public block (Hetzner 88.198.0.0/16, DigitalOcean 167.99.0.0/16, Hetzner v6 2a01:4f8::/32)
 * and classifies as `public` — no TEST-NET, which is special-purpose. That every address is what it claims
 * is asserted by the "scenario addresses" test in instance-credential-foreign-aws.test.ts, so a ranges update
 * cannot silently change what the tests mean.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emptyConfig, type OffboxConfig } from '../config/config.js';
import { scanRecords } from '../engine/scan.test-helpers.js';
import type { ScanResult } from '../engine/scan.js';
import { addInventoryDocument } from '../inventory/load.js';
import { OwnershipMap } from '../inventory/ownership.js';
import { loadAwsRanges } from '../net/aws-ranges.js';
import { buildSourceClassifier } from '../net/source-class.js';
import { severityRank, type Finding, type Severity } from './finding.js';

// ---------------------------------------------------------------------------------------------
// The cast
// ---------------------------------------------------------------------------------------------

export const DAY = '2024-05-14';
/** `at('10:05')` → 2024-05-14T10:05:00Z; `at('10:05:31')` keeps the seconds. */
export function at(hhmm: string): string {
  return `${DAY}T${hhmm.length === 5 ? `${hhmm}:00` : hhmm}Z`;
}

export const ORG = {
  account: '111122223333',
  /** A sibling account of the org (shared networking: centralised interface endpoints). */
  networkAccount: '444455556666',
  region: 'us-east-1',
  vpc: 'vpc-0b7e3c1d2a4f56789',
  otherVpc: 'vpc-0d4c3b2a1f0e9d8c7',
  publicSubnet: 'subnet-03a9f1e2d4c5b6a78',
  privateSubnet: 'subnet-0c7d6e5f4a3b21098',
};

/** A web server in a public subnet: its own public address. */
export const WEB = {
  instanceId: 'i-0a1b2c3d4e5f60718',
  role: 'web-app-role',
  roleId: 'AROA3XFRBF23KQOXY5Z6W',
  profileArn: `arn:aws:iam::${ORG.account}:instance-profile/web-app-profile`,
  privateIp: '10.20.1.15',
  publicIp: '54.236.41.17',
  eni: 'eni-0f9e8d7c6b5a41302',
  keyV2: 'ASIA3XFRBF23NK7QWE4P',
  keyV1: 'ASIA3XFRBF23LT2ZRD8M',
};

/** Two workers in a private subnet behind the VPC's NAT gateway. */
export const WORKER_A = {
  instanceId: 'i-0c9d8e7f6a5b4c3d2',
  role: 'worker-role',
  roleId: 'AROA3XFRBF23PM4HCV7JT',
  profileArn: `arn:aws:iam::${ORG.account}:instance-profile/worker-profile`,
  privateIp: '10.20.8.31',
  eni: 'eni-0a2b4c6d8e0f13579',
  key: 'ASIA3XFRBF23GH5KLM2N',
};
export const WORKER_B = {
  instanceId: 'i-07f6e5d4c3b2a1908',
  role: 'worker-role',
  roleId: WORKER_A.roleId,
  profileArn: WORKER_A.profileArn,
  privateIp: '10.20.9.44',
  eni: 'eni-0b3c5d7e9f1a24680',
  key: 'ASIA3XFRBF23QR8STU1V',
};

/** A batch host in another VPC of the same account, with its own public address. */
export const BATCH = {
  instanceId: 'i-0e1d2c3b4a5968778',
  role: 'batch-role',
  roleId: 'AROA3XFRBF23WX6YZA9BC',
  profileArn: `arn:aws:iam::${ORG.account}:instance-profile/batch-profile`,
  privateIp: '10.40.3.27',
  publicIp: '18.232.77.140',
  eni: 'eni-0c4d6e8f0a2b35791',
  key: 'ASIA3XFRBF23DE4FGH7IJ',
};

export const NAT = {
  id: 'nat-0f1e2d3c4b5a69788',
  publicIp: '52.4.118.203',
  allocationId: 'eipalloc-04d2c1b0a9f8e7d6c',
  privateIp: '10.20.0.12',
  eni: 'eni-0d5e7f9a1b3c46802',
  /** A second EIP added to the gateway during the day (AssociateNatGatewayAddress). */
  secondPublicIp: '50.16.212.9',
  secondAllocationId: 'eipalloc-0e5f4d3c2b1a09f8e',
  secondPrivateIp: '10.20.0.77',
  secondEni: 'eni-0e6f8a0b2c4d57913',
};

/** The org's own interface endpoint for STS in ORG.vpc. */
export const OWN_VPCE = 'vpce-0a7b6c5d4e3f21098';

export const ATTACKER = {
  /** Hetzner Online (AS24940), 88.198.0.0/16: a rented server outside AWS. */
  hetzner: '88.198.48.17',
  /** DigitalOcean (AS14061), 167.99.0.0/16. */
  digitalOcean: '167.99.132.8',
  /** Hetzner IPv6 2a01:4f8::/32. */
  hetznerV6: '2a01:4f8:c17:2b4e::1',
  /** The attacker's own EC2 instance in us-west-2 (EC2 range 54.148.0.0/15). */
  ec2: '54.148.200.12',
  /** The attacker's own EC2 instance in the org's region, us-east-1 (EC2 range 52.4.0.0/14). */
  ec2SameRegion: '52.6.117.40',
  /** The attacker's own EC2 instance in eu-west-1 (EC2 range 54.247.0.0/16). */
  ec2Eu: '54.247.88.31',
  /** The attacker's AWS account and the interface endpoint in their VPC (SneakyEndpoints). */
  account: '584273916604',
  vpce: 'vpce-0f3e9d8c7b6a51234',
  /** Private address of the attacker's box inside their own VPC. */
  privateIp: '172.31.44.210',
};

/** Realistic user agents, from real trails and SDK documentation. */
export const UA = {
  cli: 'aws-cli/2.15.30 Python/3.11.8 Linux/6.1.84-99.169.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off command/sts.get-caller-identity',
  boto3:
    'Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#6.1.84-99.169.amzn2023.x86_64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.84',
  goV2: 'aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64 api/s3#1.53.1',
  ssmAgent: 'aws-sdk-go/1.44.260 (go1.20.14; linux; amd64) amazon-ssm-agent/3.3.131.0',
  javaV2:
    'aws-sdk-java/2.25.28 Linux/6.1.84-99.169.amzn2023.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy',
  jsV3: 'aws-sdk-js/3.556.0 ua/2.0 os/linux#6.1.84-99.169.amzn2023.x86_64 lang/js md/nodejs#20.12.2 api/s3#3.556.0',
  terraform:
    'APN/1.0 HashiCorp/1.0 Terraform/1.8.2 (+https://www.terraform.io) terraform-provider-aws/5.47.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64 api/sts#1.28.6',
  rubyV3:
    'aws-sdk-ruby3/3.191.6 ua/2.0 api/codedeploy_commands#1.0.0 os/linux md/x86_64 lang/ruby#2.7.8 md/2.7.8 cfg/retry-mode#legacy',
  dotnet:
    'aws-sdk-dotnet-coreclr/3.7.300.58 ua/2.0 OS/Linux_6.1.84-99.169.amzn2023.x86_64 OSVer/6.1.84 lang/.NET_Core#8.0.4 exec-env/NA md/ClientAsync',
  cwAgent:
    'aws-sdk-go/1.48.6 (go1.21.8; linux; amd64) CWAgent/1.300037.1 (go1.21.8; linux; amd64) inputs:(cpu disk mem)',
  s3DataEventBracketed:
    '[aws-cli/2.15.30 Python/3.11.8 Linux/6.1.84-99.169.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off command/s3.cp]',
  /** The HTTP clients an SSRF-vulnerable app relays a pre-signed URL with. */
  pythonRequests: 'python-requests/2.31.0',
  goHttp: 'Go-http-client/1.1',
  curl: 'curl/8.5.0',
  browser:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  /** Console for humans. */
  console:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
};

// ---------------------------------------------------------------------------------------------
// Record builders
// ---------------------------------------------------------------------------------------------

let sequence = 0;
/** A random-looking but reproducible v4 UUID. */
export function uuid(label = ''): string {
  sequence += 1;
  let h = 2166136261 ^ sequence;
  for (const c of label) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  const hex = (n: number, len: number) => {
    let out = '';
    for (let i = 0; i < len; i++) {
      h = Math.imul(h ^ (h >>> 15), 2246822507) ^ (n + i);
      out += ((h >>> 0) % 16).toString(16);
    }
    return out;
  };
  return `${hex(1, 8)}-${hex(2, 4)}-4${hex(3, 3)}-a${hex(4, 3)}-${hex(5, 12)}`;
}

type Json = Record<string, unknown>;

export interface SessionCallOptions {
  accountId?: string;
  role: string;
  roleId?: string;
  session: string;
  accessKeyId: string;
  /** '' leaves ec2RoleDelivery out. */
  ec2RoleDelivery?: string;
  creationDate?: string;
  sourceIp: string;
  userAgent?: string;
  eventSource?: string;
  eventName?: string;
  eventTime: string;
  errorCode?: string;
  errorMessage?: string;
  vpcEndpointId?: string;
  vpcEndpointAccountId?: string;
  invokedBy?: string;
  region?: string;
  eventId?: string;
  requestParameters?: Json | null;
  responseElements?: Json | null;
  additionalEventData?: Json;
  inScopeOf?: Json;
  eventVersion?: string;
  readOnly?: boolean;
  /** Overrides the role-ARN session part (e.g. aws:ec2-instance identity role). */
  arn?: string;
  principalId?: string;
  sessionIssuer?: Json | null;
}

function eventSourceHost(eventSource: string, region: string): string {
  const service = eventSource.split('.')[0]!;
  return `${service}.${region}.amazonaws.com`;
}

/** A call signed by an AssumedRole session. */
export function sessionCall(o: SessionCallOptions): Json {
  const accountId = o.accountId ?? ORG.account;
  const roleId = o.roleId ?? 'AROA3XFRBF23ZZQ1W2E3R';
  const region = o.region ?? ORG.region;
  const eventSource = o.eventSource ?? 'sts.amazonaws.com';
  const sessionContext: Json = {
    sessionIssuer:
      o.sessionIssuer === null
        ? {}
        : (o.sessionIssuer ?? {
            type: 'Role',
            principalId: roleId,
            arn: `arn:aws:iam::${accountId}:role/${o.role}`,
            accountId,
            userName: o.role,
          }),
    webIdFederationData: {},
    attributes: { creationDate: o.creationDate ?? at('09:58:12'), mfaAuthenticated: 'false' },
  };
  if (o.ec2RoleDelivery !== undefined && o.ec2RoleDelivery !== '')
    sessionContext['ec2RoleDelivery'] = o.ec2RoleDelivery;
  const userIdentity: Json = {
    type: 'AssumedRole',
    principalId: o.principalId ?? `${roleId}:${o.session}`,
    arn: o.arn ?? `arn:aws:sts::${accountId}:assumed-role/${o.role}/${o.session}`,
    accountId,
    accessKeyId: o.accessKeyId,
    sessionContext,
  };
  if (o.invokedBy) userIdentity['invokedBy'] = o.invokedBy;
  if (o.inScopeOf) userIdentity['inScopeOf'] = o.inScopeOf;
  const record: Json = {
    eventVersion: o.eventVersion ?? '1.10',
    userIdentity,
    eventTime: o.eventTime,
    eventSource,
    eventName: o.eventName ?? 'GetCallerIdentity',
    awsRegion: region,
    sourceIPAddress: o.sourceIp,
    userAgent: o.userAgent ?? UA.cli,
    requestParameters: o.requestParameters === undefined ? null : o.requestParameters,
    responseElements: o.responseElements === undefined ? null : o.responseElements,
    requestID: uuid('req'),
    eventID: o.eventId ?? uuid(o.eventName ?? 'call'),
    readOnly: o.readOnly ?? true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: accountId,
    eventCategory: 'Management',
    tlsDetails: {
      tlsVersion: 'TLSv1.3',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      clientProvidedHostHeader: eventSourceHost(eventSource, region),
    },
  };
  if (o.errorCode) {
    record['errorCode'] = o.errorCode;
    record['errorMessage'] =
      o.errorMessage ??
      `User: ${userIdentity['arn']} is not authorized to perform: ${eventSource.split('.')[0]}:${o.eventName ?? 'GetCallerIdentity'} with an explicit deny in an identity-based policy`;
  }
  if (o.vpcEndpointId) record['vpcEndpointId'] = o.vpcEndpointId;
  if (o.vpcEndpointAccountId) record['vpcEndpointAccountId'] = o.vpcEndpointAccountId;
  if (o.additionalEventData) record['additionalEventData'] = o.additionalEventData;
  return record;
}

export interface InstanceLike {
  instanceId: string;
  role: string;
  roleId: string;
}

/** A call signed with an instance-profile session of `who`. */
export function instanceRoleCall(
  who: InstanceLike,
  o: Omit<SessionCallOptions, 'role' | 'roleId' | 'session'> & { session?: string },
): Json {
  return sessionCall({
    ec2RoleDelivery: '2.0',
    ...o,
    role: who.role,
    roleId: who.roleId,
    session: o.session ?? who.instanceId,
  });
}

/** The SSM agent's heartbeat, signed with the instance's role key (as in the Invictus trail). */
export function ssmHeartbeat(
  who: InstanceLike,
  o: { accessKeyId: string; sourceIp: string; eventTime: string; ec2RoleDelivery?: string; vpcEndpointId?: string },
): Json {
  return instanceRoleCall(who, {
    ...o,
    eventSource: 'ssm.amazonaws.com',
    eventName: 'UpdateInstanceInformation',
    userAgent: UA.ssmAgent,
    readOnly: false,
    requestParameters: {
      instanceId: who.instanceId,
      agentVersion: '3.3.131.0',
      platformType: 'Linux',
      agentName: 'amazon-ssm-agent',
    },
  });
}

/** A call signed with the EC2 instance identity role (aws:ec2-instance), e.g. SSM Default Host Management. */
export function identityRoleCall(
  instanceId: string,
  o: {
    accessKeyId: string;
    sourceIp: string;
    eventTime: string;
    eventName?: string;
    eventSource?: string;
    userAgent?: string;
  },
): Json {
  return sessionCall({
    role: 'aws:ec2-instance',
    session: instanceId,
    accessKeyId: o.accessKeyId,
    sourceIp: o.sourceIp,
    eventTime: o.eventTime,
    eventSource: o.eventSource ?? 'ssm.amazonaws.com',
    eventName: o.eventName ?? 'UpdateInstanceInformation',
    userAgent: o.userAgent ?? UA.ssmAgent,
    arn: `arn:aws:sts::${ORG.account}:assumed-role/aws:ec2-instance/${instanceId}`,
    principalId: `${ORG.account}:aws:ec2-instance:${instanceId}`,
    sessionIssuer: null,
    requestParameters: { instanceId, agentName: 'amazon-ssm-agent', platformType: 'Linux' },
  });
}

/** sts:AssumeRole performed by an AWS service for a workload (EC2, ECS, Lambda, EKS Pod Identity). */
export function serviceVending(o: {
  service: 'ec2.amazonaws.com' | 'ecs-tasks.amazonaws.com' | 'lambda.amazonaws.com' | 'pods.eks.amazonaws.com';
  role: string;
  session: string;
  accessKeyId: string;
  eventTime: string;
  accountId?: string;
  region?: string;
  eventId?: string;
  tags?: Json[];
}): Json {
  const accountId = o.accountId ?? ORG.account;
  const requestParameters: Json = {
    roleArn: `arn:aws:iam::${accountId}:role/${o.role}`,
    roleSessionName: o.session,
  };
  if (o.service === 'ecs-tasks.amazonaws.com') requestParameters['durationSeconds'] = 21600;
  if (o.tags) requestParameters['tags'] = o.tags;
  return {
    eventVersion: '1.08',
    userIdentity: { type: 'AWSService', invokedBy: o.service },
    eventTime: o.eventTime,
    eventSource: 'sts.amazonaws.com',
    eventName: 'AssumeRole',
    awsRegion: o.region ?? ORG.region,
    sourceIPAddress: o.service,
    userAgent: o.service,
    requestParameters,
    responseElements: {
      credentials: {
        accessKeyId: o.accessKeyId,
        sessionToken: 'IQoJb3JpZ2luX2VjEHcaCXVzLWVhc3QtMSJHMEUCIQD4redacted',
        expiration: 'May 14, 2024, 4:05:12 PM',
      },
    },
    requestID: uuid('req'),
    eventID: o.eventId ?? uuid('vend'),
    readOnly: true,
    resources: [{ accountId, type: 'AWS::IAM::Role', ARN: `arn:aws:iam::${accountId}:role/${o.role}` }],
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: accountId,
    sharedEventID: uuid('shared'),
    eventCategory: 'Management',
  };
}

/** EC2 vending an instance-profile key to `who` (IMDS fetch). */
export function ec2Vending(who: InstanceLike, accessKeyId: string, eventTime: string): Json {
  return serviceVending({
    service: 'ec2.amazonaws.com',
    role: who.role,
    session: who.instanceId,
    accessKeyId,
    eventTime,
  });
}

/** An ordinary sts:AssumeRole by a caller session (role chaining) or user, with the session name it chose. */
export function callerAssumeRole(o: {
  caller: Json;
  targetRole: string;
  targetAccountId?: string;
  sessionName: string;
  newAccessKeyId: string;
}): Json {
  const targetAccount = o.targetAccountId ?? ORG.account;
  const record = structuredClone(o.caller);
  record['eventSource'] = 'sts.amazonaws.com';
  record['eventName'] = 'AssumeRole';
  record['readOnly'] = true;
  record['requestParameters'] = {
    roleArn: `arn:aws:iam::${targetAccount}:role/${o.targetRole}`,
    roleSessionName: o.sessionName,
  };
  record['responseElements'] = {
    credentials: {
      accessKeyId: o.newAccessKeyId,
      sessionToken: 'IQoJb3JpZ2luX2VjEHcaCXVzLWVhc3QtMSJGMEQCIEredacted',
      expiration: 'May 14, 2024, 11:40:00 AM',
    },
    assumedRoleUser: {
      assumedRoleId: `AROA3XFRBF23TARGET0001:${o.sessionName}`,
      arn: `arn:aws:sts::${targetAccount}:assumed-role/${o.targetRole}/${o.sessionName}`,
    },
  };
  record['resources'] = [
    { accountId: targetAccount, type: 'AWS::IAM::Role', ARN: `arn:aws:iam::${targetAccount}:role/${o.targetRole}` },
  ];
  return record;
}

/** A call by an IAM user with long-term keys. */
export function iamUserCall(o: {
  userName: string;
  accessKeyId?: string;
  sourceIp: string;
  eventTime: string;
  eventSource?: string;
  eventName?: string;
  userAgent?: string;
  accountId?: string;
}): Json {
  const accountId = o.accountId ?? ORG.account;
  const eventSource = o.eventSource ?? 's3.amazonaws.com';
  return {
    eventVersion: '1.10',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDA3XFRBF23UVWXYZ123',
      arn: `arn:aws:iam::${accountId}:user/${o.userName}`,
      accountId,
      accessKeyId: o.accessKeyId ?? 'AKIA3XFRBF23HUMAN001',
      userName: o.userName,
    },
    eventTime: o.eventTime,
    eventSource,
    eventName: o.eventName ?? 'ListBuckets',
    awsRegion: ORG.region,
    sourceIPAddress: o.sourceIp,
    userAgent: o.userAgent ?? UA.cli,
    requestParameters: null,
    responseElements: null,
    requestID: uuid('req'),
    eventID: uuid('user'),
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: accountId,
    eventCategory: 'Management',
  };
}

/** A call by an IAM Identity Center (SSO) user session. */
export function ssoCall(o: {
  user: string;
  sourceIp: string;
  eventTime: string;
  eventName?: string;
  eventSource?: string;
}): Json {
  return sessionCall({
    role: 'AWSReservedSSO_AdministratorAccess_5b8f2a1c9d3e4f60',
    roleId: 'AROA3XFRBF23SSOADMIN1',
    session: o.user,
    accessKeyId: 'ASIA3XFRBF23SSOUSER7',
    sourceIp: o.sourceIp,
    eventTime: o.eventTime,
    eventName: o.eventName ?? 'DescribeInstances',
    eventSource: o.eventSource ?? 'ec2.amazonaws.com',
    userAgent: UA.console,
    sessionIssuer: {
      type: 'Role',
      principalId: 'AROA3XFRBF23SSOADMIN1',
      arn: `arn:aws:iam::${ORG.account}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_5b8f2a1c9d3e4f60`,
      accountId: ORG.account,
      userName: 'AWSReservedSSO_AdministratorAccess_5b8f2a1c9d3e4f60',
    },
  });
}

/** An EC2 control-plane event made by an operator or by Auto Scaling (ownership evidence). */
export function ec2Event(o: {
  eventName: string;
  eventTime: string;
  requestParameters: Json;
  responseElements: Json;
  byAutoScaling?: boolean;
  accountId?: string;
}): Json {
  const accountId = o.accountId ?? ORG.account;
  const userIdentity: Json = o.byAutoScaling
    ? {
        type: 'AssumedRole',
        principalId: 'AROA3XFRBF23ASGSVCROL:AutoScaling',
        arn: `arn:aws:sts::${accountId}:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling`,
        accountId,
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            principalId: 'AROA3XFRBF23ASGSVCROL',
            arn: `arn:aws:iam::${accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
            accountId,
            userName: 'AWSServiceRoleForAutoScaling',
          },
          attributes: { creationDate: o.eventTime, mfaAuthenticated: 'false' },
        },
        invokedBy: 'autoscaling.amazonaws.com',
      }
    : {
        type: 'AssumedRole',
        principalId: 'AROA3XFRBF23TFDEPLOY1:terraform-apply',
        arn: `arn:aws:sts::${accountId}:assumed-role/platform-deployer/terraform-apply`,
        accountId,
        accessKeyId: 'ASIA3XFRBF23DEPLOY01',
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            principalId: 'AROA3XFRBF23TFDEPLOY1',
            arn: `arn:aws:iam::${accountId}:role/platform-deployer`,
            accountId,
            userName: 'platform-deployer',
          },
          attributes: { creationDate: o.eventTime, mfaAuthenticated: 'false' },
        },
      };
  return {
    eventVersion: '1.09',
    userIdentity,
    eventTime: o.eventTime,
    eventSource: 'ec2.amazonaws.com',
    eventName: o.eventName,
    awsRegion: ORG.region,
    sourceIPAddress: o.byAutoScaling ? 'autoscaling.amazonaws.com' : '35.170.22.61',
    userAgent: o.byAutoScaling ? 'autoscaling.amazonaws.com' : UA.terraform,
    requestParameters: o.requestParameters,
    responseElements: o.responseElements,
    requestID: uuid('req'),
    eventID: uuid(o.eventName),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: accountId,
    eventCategory: 'Management',
  };
}

/** RunInstances as CloudTrail records it: private addresses only (public ones are assigned at start). */
export function runInstances(o: {
  instanceId: string;
  privateIp: string;
  eventTime: string;
  vpcId?: string;
  subnetId?: string;
  ipv6?: string;
  profileArn?: string;
  eni?: string;
  byAutoScaling?: boolean;
}): Json {
  const vpcId = o.vpcId ?? ORG.vpc;
  const subnetId = o.subnetId ?? ORG.privateSubnet;
  const eni = o.eni ?? 'eni-01234abcd5678ef90';
  return ec2Event({
    eventName: 'RunInstances',
    eventTime: o.eventTime,
    byAutoScaling: o.byAutoScaling,
    requestParameters: {
      instancesSet: { items: [{ imageId: 'ami-0bb84b8ffd87024d8', minCount: 1, maxCount: 1 }] },
      instanceType: 't3.medium',
      blockDeviceMapping: {},
      monitoring: { enabled: false },
      disableApiTermination: false,
      disableApiStop: false,
      clientToken: uuid('token'),
      launchTemplate: { launchTemplateId: 'lt-0a1b2c3d4e5f67890', version: '7' },
    },
    responseElements: {
      requestId: uuid('req'),
      reservationId: 'r-0d1e2f3a4b5c6d7e8',
      ownerId: ORG.account,
      groupSet: {},
      instancesSet: {
        items: [
          {
            instanceId: o.instanceId,
            imageId: 'ami-0bb84b8ffd87024d8',
            currentInstanceBootMode: 'uefi',
            instanceState: { code: 0, name: 'pending' },
            privateDnsName: `ip-${o.privateIp.replaceAll('.', '-')}.ec2.internal`,
            amiLaunchIndex: 0,
            productCodes: {},
            instanceType: 't3.medium',
            launchTime: Date.parse(o.eventTime),
            placement: { availabilityZone: 'us-east-1b', tenancy: 'default' },
            monitoring: { state: 'disabled' },
            subnetId,
            vpcId,
            privateIpAddress: o.privateIp,
            stateReason: { code: 'pending', message: 'pending' },
            architecture: 'x86_64',
            rootDeviceType: 'ebs',
            rootDeviceName: '/dev/xvda',
            blockDeviceMapping: {},
            virtualizationType: 'hvm',
            hypervisor: 'xen',
            groupSet: { items: [{ groupId: 'sg-0a9b8c7d6e5f43210', groupName: 'workers' }] },
            ...(o.profileArn ? { iamInstanceProfile: { arn: o.profileArn, id: 'AIPA3XFRBF23PROFILE01' } } : {}),
            networkInterfaceSet: {
              items: [
                {
                  networkInterfaceId: eni,
                  subnetId,
                  vpcId,
                  ownerId: ORG.account,
                  status: 'in-use',
                  macAddress: '0e:5a:1c:7b:3d:91',
                  privateIpAddress: o.privateIp,
                  privateDnsName: `ip-${o.privateIp.replaceAll('.', '-')}.ec2.internal`,
                  sourceDestCheck: true,
                  interfaceType: 'interface',
                  groupSet: { items: [{ groupId: 'sg-0a9b8c7d6e5f43210', groupName: 'workers' }] },
                  attachment: {
                    attachmentId: 'eni-attach-0f1e2d3c4b5a69788',
                    deviceIndex: 0,
                    networkCardIndex: 0,
                    status: 'attaching',
                    attachTime: Date.parse(o.eventTime),
                    deleteOnTermination: true,
                  },
                  privateIpAddressesSet: {
                    item: [
                      {
                        privateIpAddress: o.privateIp,
                        privateDnsName: `ip-${o.privateIp.replaceAll('.', '-')}.ec2.internal`,
                        primary: true,
                      },
                    ],
                  },
                  ipv6AddressesSet: o.ipv6 ? { item: [{ ipv6Address: o.ipv6 }] } : {},
                  tagSet: {},
                },
              ],
            },
            ebsOptimized: false,
            enaSupport: true,
            metadataOptions: {
              state: 'pending',
              httpTokens: 'required',
              httpPutResponseHopLimit: 2,
              httpEndpoint: 'enabled',
              httpProtocolIpv4: 'enabled',
              httpProtocolIpv6: 'disabled',
              instanceMetadataTags: 'disabled',
            },
          },
        ],
      },
    },
  });
}

export function allocateAddress(o: { publicIp: string; allocationId: string; eventTime: string }): Json {
  return ec2Event({
    eventName: 'AllocateAddress',
    eventTime: o.eventTime,
    requestParameters: { domain: 'vpc' },
    responseElements: {
      requestId: uuid('req'),
      publicIp: o.publicIp,
      domain: 'vpc',
      allocationId: o.allocationId,
      publicIpv4Pool: 'amazon',
      networkBorderGroup: ORG.region,
    },
  });
}

/** AssociateAddress of a VPC Elastic IP: the request names the allocation, not the address. */
export function associateAddress(o: {
  allocationId: string;
  instanceId: string;
  eventTime: string;
  associationId?: string;
}): Json {
  return ec2Event({
    eventName: 'AssociateAddress',
    eventTime: o.eventTime,
    requestParameters: { instanceId: o.instanceId, allocationId: o.allocationId, allowReassociation: false },
    responseElements: {
      requestId: uuid('req'),
      _return: true,
      associationId: o.associationId ?? 'eipassoc-0c1d2e3f4a5b6c7d8',
    },
  });
}

/** AssociateNatGatewayAddress as CloudTrail writes it: the EIP is named by allocation id, status "associating". */
export function associateNatGatewayAddress(o: {
  natGatewayId: string;
  allocationId: string;
  eni: string;
  privateIp?: string;
  eventTime: string;
}): Json {
  return ec2Event({
    eventName: 'AssociateNatGatewayAddress',
    eventTime: o.eventTime,
    requestParameters: {
      AssociateNatGatewayAddressRequest: {
        NatGatewayId: o.natGatewayId,
        AllocationId: { tag: 1, content: o.allocationId },
        ...(o.privateIp ? { PrivateIpAddress: { tag: 1, content: o.privateIp } } : {}),
      },
    },
    responseElements: {
      AssociateNatGatewayAddressResponse: {
        xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
        requestId: uuid('req'),
        natGatewayId: o.natGatewayId,
        natGatewayAddressSet: {
          item: {
            allocationId: o.allocationId,
            networkInterfaceId: o.eni,
            ...(o.privateIp ? { privateIp: o.privateIp } : {}),
            isPrimary: false,
            status: 'associating',
          },
        },
      },
    },
  });
}

export function createVpcEndpoint(o: {
  vpcEndpointId: string;
  serviceName: string;
  eventTime: string;
  vpcId?: string;
}): Json {
  return ec2Event({
    eventName: 'CreateVpcEndpoint',
    eventTime: o.eventTime,
    requestParameters: {
      CreateVpcEndpointRequest: {
        VpcId: o.vpcId ?? ORG.vpc,
        ServiceName: o.serviceName,
        VpcEndpointType: 'Interface',
        SubnetId: { tag: 1, content: ORG.privateSubnet },
        PrivateDnsEnabled: true,
      },
    },
    responseElements: {
      CreateVpcEndpointResponse: {
        xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/',
        requestId: uuid('req'),
        vpcEndpoint: {
          vpcEndpointId: o.vpcEndpointId,
          vpcEndpointType: 'Interface',
          vpcId: o.vpcId ?? ORG.vpc,
          serviceName: o.serviceName,
          state: 'pending',
          privateDnsEnabled: true,
          requesterManaged: false,
          ownerId: ORG.account,
          creationTimestamp: o.eventTime,
        },
      },
    },
  });
}

/** The AWSRevokeOlderSessions inline policy exactly as the IAM console ("Revoke active sessions") writes it. */
export function revokeOlderSessions(o: { role: string; cutoff: string; eventTime: string; accountId?: string }): Json {
  const accountId = o.accountId ?? ORG.account;
  const policy = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Deny',
        Action: ['*'],
        Resource: ['*'],
        Condition: { DateLessThan: { 'aws:TokenIssueTime': o.cutoff } },
      },
    ],
  };
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: 'AROA3XFRBF23SSOADMIN1:ir-responder@example.com',
      arn: `arn:aws:sts::${accountId}:assumed-role/AWSReservedSSO_AdministratorAccess_5b8f2a1c9d3e4f60/ir-responder@example.com`,
      accountId,
      accessKeyId: 'ASIA3XFRBF23RESPOND1',
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROA3XFRBF23SSOADMIN1',
          arn: `arn:aws:iam::${accountId}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_5b8f2a1c9d3e4f60`,
          accountId,
          userName: 'AWSReservedSSO_AdministratorAccess_5b8f2a1c9d3e4f60',
        },
        attributes: { creationDate: o.eventTime, mfaAuthenticated: 'false' },
      },
    },
    eventTime: o.eventTime,
    eventSource: 'iam.amazonaws.com',
    eventName: 'PutRolePolicy',
    awsRegion: 'us-east-1',
    sourceIPAddress: '81.2.69.160',
    userAgent: UA.console,
    requestParameters: {
      roleName: o.role,
      policyName: 'AWSRevokeOlderSessions',
      policyDocument: JSON.stringify(policy),
    },
    responseElements: null,
    requestID: uuid('req'),
    eventID: uuid('revoke'),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: accountId,
    eventCategory: 'Management',
  };
}

// ---------------------------------------------------------------------------------------------
// Inventory documents (AWS CLI --output json)
// ---------------------------------------------------------------------------------------------

export interface InstanceSpec {
  instanceId: string;
  privateIp: string;
  publicIp?: string;
  vpcId?: string;
  subnetId?: string;
  az?: string;
  eni?: string;
  profileArn?: string;
  state?: string;
  httpTokens?: 'optional' | 'required';
  hopLimit?: number;
  ipv6?: string[];
  extraEnis?: { eni: string; privateIp: string; publicIp?: string; ipv6?: string[] }[];
  tags?: Record<string, string>;
  /** ISO launch time (default: launched twelve days before the scenario). */
  launchTime?: string;
}

function eniDoc(
  accountId: string,
  spec: { eni: string; privateIp: string; publicIp?: string; ipv6?: string[] },
  vpcId: string,
  subnetId: string,
  deviceIndex: number,
  attachTime: string,
): Json {
  const association = spec.publicIp
    ? {
        IpOwnerId: 'amazon',
        PublicDnsName: `ec2-${spec.publicIp.replaceAll('.', '-')}.compute-1.amazonaws.com`,
        PublicIp: spec.publicIp,
      }
    : undefined;
  return {
    ...(association ? { Association: association } : {}),
    Attachment: {
      AttachTime: attachTime,
      AttachmentId: `eni-attach-0${deviceIndex}a1b2c3d4e5f6a7b`,
      DeleteOnTermination: deviceIndex === 0,
      DeviceIndex: deviceIndex,
      Status: 'attached',
      NetworkCardIndex: 0,
    },
    Description: '',
    Groups: [{ GroupName: 'app', GroupId: 'sg-0a9b8c7d6e5f43210' }],
    Ipv6Addresses: (spec.ipv6 ?? []).map((Ipv6Address) => ({ Ipv6Address, IsPrimaryIpv6: false })),
    MacAddress: '0e:7c:2b:44:91:af',
    NetworkInterfaceId: spec.eni,
    OwnerId: accountId,
    PrivateDnsName: `ip-${spec.privateIp.replaceAll('.', '-')}.ec2.internal`,
    PrivateIpAddress: spec.privateIp,
    PrivateIpAddresses: [
      {
        ...(association ? { Association: association } : {}),
        Primary: true,
        PrivateDnsName: `ip-${spec.privateIp.replaceAll('.', '-')}.ec2.internal`,
        PrivateIpAddress: spec.privateIp,
      },
    ],
    SourceDestCheck: true,
    Status: 'in-use',
    SubnetId: subnetId,
    VpcId: vpcId,
    InterfaceType: 'interface',
  };
}

/** `aws ec2 describe-instances` output. */
export function describeInstances(accountId: string, instances: InstanceSpec[]): Json {
  return {
    Reservations: instances.map((spec, index) => {
      const vpcId = spec.vpcId ?? ORG.vpc;
      const subnetId = spec.subnetId ?? (spec.publicIp ? ORG.publicSubnet : ORG.privateSubnet);
      const state = spec.state ?? 'running';
      const terminated = state === 'terminated';
      const enis = [
        {
          eni: spec.eni ?? `eni-0${index}f9e8d7c6b5a4130`,
          privateIp: spec.privateIp,
          publicIp: spec.publicIp,
          ipv6: spec.ipv6,
        },
        ...(spec.extraEnis ?? []),
      ];
      const instance: Json = {
        AmiLaunchIndex: 0,
        ImageId: 'ami-0bb84b8ffd87024d8',
        InstanceId: spec.instanceId,
        InstanceType: 't3.medium',
        KeyName: 'ops-2024',
        LaunchTime: spec.launchTime ?? '2024-05-02T08:11:45+00:00',
        Monitoring: { State: 'disabled' },
        Placement: { AvailabilityZone: spec.az ?? 'us-east-1a', GroupName: '', Tenancy: 'default' },
        PrivateDnsName: terminated ? '' : `ip-${spec.privateIp.replaceAll('.', '-')}.ec2.internal`,
        ProductCodes: [],
        PublicDnsName: spec.publicIp ? `ec2-${spec.publicIp.replaceAll('.', '-')}.compute-1.amazonaws.com` : '',
        State: terminated ? { Code: 48, Name: 'terminated' } : { Code: 16, Name: state },
        StateTransitionReason: '',
        Architecture: 'x86_64',
        BlockDeviceMappings: [],
        ClientToken: '',
        EbsOptimized: false,
        EnaSupport: true,
        Hypervisor: 'xen',
        RootDeviceName: '/dev/xvda',
        RootDeviceType: 'ebs',
        SecurityGroups: [{ GroupName: 'app', GroupId: 'sg-0a9b8c7d6e5f43210' }],
        SourceDestCheck: true,
        Tags: Object.entries(spec.tags ?? { Name: spec.instanceId }).map(([Key, Value]) => ({ Key, Value })),
        VirtualizationType: 'hvm',
        MetadataOptions: {
          State: 'applied',
          HttpTokens: spec.httpTokens ?? 'optional',
          HttpPutResponseHopLimit: spec.hopLimit ?? 1,
          HttpEndpoint: 'enabled',
          HttpProtocolIpv6: 'disabled',
          InstanceMetadataTags: 'disabled',
        },
      };
      if (!terminated) {
        instance['PrivateIpAddress'] = spec.privateIp;
        instance['SubnetId'] = subnetId;
        instance['VpcId'] = vpcId;
        instance['NetworkInterfaces'] = enis.map((e, i) =>
          eniDoc(accountId, e, vpcId, subnetId, i, spec.launchTime ?? '2024-05-02T08:11:45+00:00'),
        );
        if (spec.publicIp) instance['PublicIpAddress'] = spec.publicIp;
      }
      if (spec.profileArn) instance['IamInstanceProfile'] = { Arn: spec.profileArn, Id: 'AIPA3XFRBF23PROFILE01' };
      return {
        Groups: [],
        Instances: [instance],
        OwnerId: accountId,
        ReservationId: `r-0${index}1e2f3a4b5c6d7e8`,
      };
    }),
  };
}

export interface NatSpec {
  id: string;
  vpcId?: string;
  state?: string;
  addresses: { publicIp: string; allocationId: string; privateIp: string; eni: string; primary?: boolean }[];
}

/** `aws ec2 describe-nat-gateways` output (carries no account id: the path gives it). */
export function describeNatGateways(gateways: NatSpec[]): Json {
  return {
    NatGateways: gateways.map((g) => ({
      CreateTime: '2024-03-11T14:02:19+00:00',
      NatGatewayAddresses: g.addresses.map((a, i) => ({
        AllocationId: a.allocationId,
        NetworkInterfaceId: a.eni,
        PrivateIp: a.privateIp,
        PublicIp: a.publicIp,
        AssociationId: `eipassoc-0${i}b1c2d3e4f5a6b7c`,
        IsPrimary: a.primary ?? i === 0,
        Status: 'succeeded',
      })),
      NatGatewayId: g.id,
      State: g.state ?? 'available',
      SubnetId: ORG.publicSubnet,
      VpcId: g.vpcId ?? ORG.vpc,
      Tags: [{ Key: 'Name', Value: 'prod-nat-a' }],
      ConnectivityType: 'public',
    })),
  };
}

/** `aws ec2 describe-addresses` output. */
export function describeAddresses(
  accountId: string,
  addresses: {
    publicIp: string;
    allocationId: string;
    instanceId?: string;
    eni?: string;
    privateIp?: string;
  }[],
): Json {
  return {
    Addresses: addresses.map((a, i) => ({
      ...(a.instanceId ? { InstanceId: a.instanceId } : {}),
      PublicIp: a.publicIp,
      AllocationId: a.allocationId,
      ...(a.eni
        ? {
            AssociationId: `eipassoc-0${i}9f8e7d6c5b4a321`,
            NetworkInterfaceId: a.eni,
            NetworkInterfaceOwnerId: accountId,
            PrivateIpAddress: a.privateIp,
          }
        : {}),
      Domain: 'vpc',
      PublicIpv4Pool: 'amazon',
      NetworkBorderGroup: 'us-east-1',
    })),
  };
}

/** `aws ec2 describe-vpc-endpoints` output. */
export function describeVpcEndpoints(
  accountId: string,
  endpoints: { id: string; service: string; vpcId?: string; type?: 'Interface' | 'Gateway' }[],
): Json {
  return {
    VpcEndpoints: endpoints.map((e) => ({
      VpcEndpointId: e.id,
      VpcEndpointType: e.type ?? 'Interface',
      VpcId: e.vpcId ?? ORG.vpc,
      ServiceName: e.service,
      State: 'available',
      PolicyDocument:
        '{\n  "Statement": [\n    {\n      "Action": "*", \n      "Effect": "Allow", \n      "Principal": "*", \n      "Resource": "*"\n    }\n  ]\n}',
      RouteTableIds: [],
      SubnetIds: [ORG.privateSubnet],
      Groups: [{ GroupId: 'sg-0e1f2a3b4c5d6e7f8', GroupName: 'endpoints' }],
      IpAddressType: 'ipv4',
      DnsOptions: { DnsRecordIpType: 'ipv4' },
      PrivateDnsEnabled: (e.type ?? 'Interface') === 'Interface',
      RequesterManaged: false,
      NetworkInterfaceIds: ['eni-0aa1bb2cc3dd4ee5f'],
      DnsEntries: [],
      CreationTimestamp: '2024-02-20T09:31:07.000Z',
      Tags: [],
      OwnerId: accountId,
    })),
  };
}

/** The standard org inventory: WEB (public), WORKER_A/B behind NAT, BATCH in another VPC, NAT, own endpoint. */
export function orgInventoryDocuments(options: { withNat?: boolean; withEndpoints?: boolean } = {}): [string, Json][] {
  const base = `inventory/${ORG.account}/${ORG.region}`;
  const docs: [string, Json][] = [
    [
      `${base}/describe-instances.json`,
      describeInstances(ORG.account, [
        {
          instanceId: WEB.instanceId,
          privateIp: WEB.privateIp,
          publicIp: WEB.publicIp,
          eni: WEB.eni,
          profileArn: WEB.profileArn,
        },
        {
          instanceId: WORKER_A.instanceId,
          privateIp: WORKER_A.privateIp,
          eni: WORKER_A.eni,
          profileArn: WORKER_A.profileArn,
          az: 'us-east-1b',
        },
        {
          instanceId: WORKER_B.instanceId,
          privateIp: WORKER_B.privateIp,
          eni: WORKER_B.eni,
          profileArn: WORKER_B.profileArn,
          az: 'us-east-1c',
        },
        {
          instanceId: BATCH.instanceId,
          privateIp: BATCH.privateIp,
          publicIp: BATCH.publicIp,
          eni: BATCH.eni,
          profileArn: BATCH.profileArn,
          vpcId: ORG.otherVpc,
          subnetId: 'subnet-0e4f5a6b7c8d9e0f1',
        },
      ]),
    ],
  ];
  if (options.withNat !== false) {
    docs.push([
      `${base}/describe-nat-gateways.json`,
      describeNatGateways([
        {
          id: NAT.id,
          addresses: [
            { publicIp: NAT.publicIp, allocationId: NAT.allocationId, privateIp: NAT.privateIp, eni: NAT.eni },
          ],
        },
      ]),
    ]);
  }
  if (options.withEndpoints !== false) {
    docs.push([
      `${base}/describe-vpc-endpoints.json`,
      describeVpcEndpoints(ORG.account, [
        { id: OWN_VPCE, service: 'com.amazonaws.us-east-1.sts' },
        { id: 'vpce-06c5d4e3f2a1b0c9d', service: 'com.amazonaws.us-east-1.s3', type: 'Gateway' },
      ]),
    ]);
  }
  return docs;
}

/** A fresh OwnershipMap from documents (each scan writes CloudTrail evidence into the map it is given). */
export function inventoryFrom(docs: [string, unknown][]): OwnershipMap {
  const map = new OwnershipMap();
  for (const [path, doc] of docs) {
    const kind = addInventoryDocument(map, structuredClone(doc), path);
    assert.ok(kind, `test inventory ${path} must be recognised`);
  }
  return map;
}

export function orgInventory(options: { withNat?: boolean; withEndpoints?: boolean } = {}): OwnershipMap {
  return inventoryFrom(orgInventoryDocuments(options));
}

// ---------------------------------------------------------------------------------------------
// Scanning and asserting
// ---------------------------------------------------------------------------------------------

/** The vendored snapshot, loaded once per test file (loading it per scan costs ~100 ms). */
export const AWS_RANGES = loadAwsRanges();
export const SOURCES = buildSourceClassifier({ awsRanges: AWS_RANGES });

export interface ScanWith {
  inventory?: OwnershipMap;
  config?: Partial<OffboxConfig>;
}

export function scan(files: unknown[][], options: ScanWith = {}): Promise<ScanResult> {
  return scanRecords(files, {
    awsRanges: AWS_RANGES,
    inventory: options.inventory,
    config: { ...emptyConfig, ...options.config },
  });
}

export function byDetector(result: ScanResult, detector: string): Finding[] {
  return result.findings.filter((f) => f.detector === detector);
}

/** The single finding of `detector`, failing with the whole finding list when there is not exactly one. */
export function only(result: ScanResult, detector: string): Finding {
  const found = byDetector(result, detector);
  assert.equal(found.length, 1, `expected exactly one ${detector} finding, got:\n${summary(result)}`);
  return found[0]!;
}

export function atLeast(severity: Severity, wanted: Severity): boolean {
  return severityRank(severity) >= severityRank(wanted);
}

/** Findings at or above medium: what a responder would be paged for. */
export function serious(result: ScanResult): Finding[] {
  return result.findings.filter((f) => atLeast(f.severity, 'medium'));
}

export function summary(result: ScanResult): string {
  if (result.findings.length === 0) return '  (no findings)';
  return result.findings
    .map(
      (f) =>
        `  ${f.detector} ${f.severity}/${f.confidence} ${f.principal.sessionName} keys=${f.principal.accessKeyIds.join(',')} from ${f.source.ip}${f.source.vpcEndpointId ? ` via ${f.source.vpcEndpointId}` : ''}\n    ${f.evidence.reasons.join('\n    ')}`,
    )
    .join('\n');
}

export function assertNoFinding(result: ScanResult, detector: string): void {
  assert.deepEqual(
    byDetector(result, detector).map((f) => `${f.detector} ${f.source.ip} ${f.principal.sessionName}`),
    [],
    `expected no ${detector} finding:\n${summary(result)}`,
  );
}

export function assertNothingSerious(result: ScanResult): void {
  assert.deepEqual(
    serious(result).map((f) => `${f.detector} ${f.severity} ${f.source.ip} ${f.principal.sessionName}`),
    [],
    `expected nothing at medium or above:\n${summary(result)}`,
  );
}

export function reasonsMatch(finding: Finding, pattern: RegExp): boolean {
  return finding.evidence.reasons.some((r) => pattern.test(r));
}

export function assertReason(finding: Finding, pattern: RegExp, what: string): void {
  assert.ok(
    reasonsMatch(finding, pattern),
    `${what}: no reason matches ${pattern}:\n    ${finding.evidence.reasons.join('\n    ')}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Property tests: the same trail in another shape must get the same verdict
// ---------------------------------------------------------------------------------------------

/** The verdict of a scan, independent of how the trail was delivered. */
export function verdict(result: ScanResult): string[] {
  return result.findings
    .map((f) =>
      [
        f.detector,
        f.severity,
        f.confidence,
        f.accountId,
        f.principal.roleArn.toLowerCase(),
        f.principal.instanceId.toLowerCase(),
        f.principal.sessionName.toLowerCase(),
        [...f.principal.accessKeyIds].sort().join(','),
        [...f.principal.ec2RoleDelivery].sort().join(','),
        f.source.ip,
        f.source.vpcEndpointId,
        f.activity.calls,
        f.activity.errorCount,
        [...f.evidence.eventIds].sort().join(','),
      ].join('|'),
    )
    .sort();
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffleKeysDeep(value: unknown, random: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeysDeep(v, random));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Json);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeysDeep(v, random)]));
}

/** Fields real records carry that no detector should care about. */
function addExtraFields(record: Json, random: () => number): Json {
  const out: Json = { ...record };
  out['sharedEventID'] ??= `5f1c9a2e-${Math.floor(random() * 0xffff)
    .toString(16)
    .padStart(4, '0')}-4b7d-9e0a-3c2b1a0f9e8d`;
  out['eventCategory'] ??= 'Management';
  out['apiVersion'] ??= '2016-11-15';
  out['x-offbox-future-field'] = { nested: [1, 'two', { three: null }] };
  const identity = out['userIdentity'];
  if (identity && typeof identity === 'object') {
    out['userIdentity'] = { ...(identity as Json), 'x-future-identity-field': 'ignored' };
  }
  return out;
}

/** Rewrites each instance id occurrence (`i-` + 8/17 hex, not inside eni-/ami- ids) in a random case. */
function mixInstanceIdCase(record: Json, random: () => number): Json {
  const text = JSON.stringify(record).replace(/\bi-(?:[0-9a-f]{17}|[0-9a-f]{8})\b/gi, (id) =>
    [...id]
      .map((c) => (random() < 0.5 ? c.toUpperCase() : c.toLowerCase()))
      .join('')
      .replace(/^I/, 'i'),
  );
  return JSON.parse(text) as Json;
}

export interface Shape {
  order: number[];
  parts: number;
  seed: number;
  shuffleKeys: boolean;
  extra: boolean;
  mixCase: boolean;
  duplicates: number[];
}

export function shapeArbitrary(count: number): fc.Arbitrary<Shape> {
  const indexes = Array.from({ length: count }, (_, i) => i);
  return fc.record({
    order: fc.shuffledSubarray(indexes, { minLength: count, maxLength: count }),
    parts: fc.integer({ min: 1, max: 4 }),
    seed: fc.integer(),
    shuffleKeys: fc.boolean(),
    extra: fc.boolean(),
    mixCase: fc.boolean(),
    duplicates: fc.subarray(indexes, { maxLength: 3 }),
  });
}

/** Delivers the records in another order, split over files, with shuffled keys, extra fields, mixed-case ids and repeats. */
export function reshape(records: Json[], shape: Shape): unknown[][] {
  const random = mulberry32(shape.seed);
  const dress = (record: Json): Json => {
    let r = structuredClone(record);
    if (shape.mixCase) r = mixInstanceIdCase(r, random);
    if (shape.extra) r = addExtraFields(r, random);
    if (shape.shuffleKeys) r = shuffleKeysDeep(r, random) as Json;
    return r;
  };
  const files: unknown[][] = Array.from({ length: shape.parts }, () => []);
  shape.order.forEach((index, position) => files[position % shape.parts]!.push(dress(records[index]!)));
  // A repeated delivery lands in another file, later.
  shape.duplicates.forEach((index, k) => files[(k + 1) % shape.parts]!.push(dress(records[index]!)));
  return files;
}

/**
 * Asserts that every reshaping of `records` gets the verdict of the plain delivery, and that the
 * plain verdict satisfies `check` (so the property never passes vacuously).
 */
export async function assertVerdictStable(
  records: Json[],
  options: { inventory?: () => OwnershipMap; config?: Partial<OffboxConfig>; numRuns?: number },
  check: (result: ScanResult) => void,
): Promise<void> {
  const run = (files: unknown[][]) => scan(files, { inventory: options.inventory?.(), config: options.config });
  const reference = await run([records]);
  check(reference);
  const expected = verdict(reference);
  await fc.assert(
    fc.asyncProperty(shapeArbitrary(records.length), async (shape) => {
      const result = await run(reshape(records, shape));
      assert.deepEqual(verdict(result), expected);
    }),
    { numRuns: options.numRuns ?? 30 },
  );
}
