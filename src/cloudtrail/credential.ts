import type { CredentialKind } from '../detect/finding.js';
import type { UserIdentity } from './event.js';
import type { VendingIndex, VendingRecord } from './vending.js';

/** What kind of credential signed a call, and whose it is. */
export interface Credential {
  kind: CredentialKind;
  accountId: string;
  /** IAM role name ('' for users and services). */
  roleName: string;
  /** arn:aws:iam::ACCT:role/NAME when the identity is a role session. */
  roleArn: string;
  sessionName: string;
  /** The workload the credential was issued to: instance id, ECS task id, Lambda function, pod session … */
  subject: string;
  /** Lower-cased EC2 instance id for instance credentials, else ''. */
  instanceId: string;
  accessKeyId: string;
  /**
   * The region the workload was issued the credential in: the vending event's region, or the region of
   * userIdentity.inScopeOf.credentialsIssuedTo. '' when unknown.
   */
  issuedRegion: string;
  /** Why the kind was decided, in words a responder can check. */
  basis: string[];
  vending: VendingRecord | undefined;
}

const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/i;
const ECS_TASK_ID = /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
const EKS_POD_IDENTITY_SESSION = /^eks-.+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EC2_IDENTITY_ROLE = 'aws:ec2-instance';

/** True for i-XXXXXXXX and i-XXXXXXXXXXXXXXXXX, any case (anonymised data mixes case). */
export function isInstanceId(value: string): boolean {
  return INSTANCE_ID.test(value);
}

/** Splits arn:PARTITION:sts::ACCT:assumed-role/ROLE/SESSION. */
export function parseAssumedRoleArn(
  arn: string,
): { partition: string; accountId: string; roleName: string; sessionName: string } | undefined {
  // The role name may not contain '/', but the session name is everything after the second '/'.
  const match = /^arn:([\w-]+):sts::(\d*):assumed-role\/([^/]+)\/(.*)$/.exec(arn);
  if (!match) return undefined;
  return { partition: match[1]!, accountId: match[2]!, roleName: match[3]!, sessionName: match[4]! };
}

function roleArnOf(identity: UserIdentity, parsed: ReturnType<typeof parseAssumedRoleArn>): string {
  if (identity.sessionIssuer?.arn) return identity.sessionIssuer.arn;
  if (!parsed) return '';
  if (parsed.roleName === EC2_IDENTITY_ROLE) return '';
  return `arn:${parsed.partition}:iam::${parsed.accountId}:role/${parsed.roleName}`;
}

function fromUserAgent(userAgent: string): 'lambda' | 'ecs' | undefined {
  // SDKs append exec-env/$AWS_EXECUTION_ENV: AWS_Lambda_nodejs20.x, AWS_ECS_FARGATE, AWS_ECS_EC2.
  // Anyone can send it, so it only ever supports other evidence.
  if (userAgent.includes('exec-env/AWS_Lambda')) return 'lambda';
  if (userAgent.includes('exec-env/AWS_ECS_')) return 'ecs';
  return undefined;
}

/** The region of an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:…), '' when it has none. */
function arnRegion(arn: string): string {
  const parts = arn.split(':');
  return parts.length >= 6 && parts[0] === 'arn' ? (parts[3] ?? '') : '';
}

/** userIdentity.inScopeOf.credentialsIssuedTo of an EC2 instance: arn:aws:ec2:REGION:ACCT:instance/i-…. */
function instanceOfScope(identity: UserIdentity): string {
  if (identity.inScopeOfIssuerType !== 'AWS::EC2::Instance') return '';
  const id = identity.inScopeOfIssuedTo.slice(identity.inScopeOfIssuedTo.lastIndexOf('/') + 1);
  return isInstanceId(id) ? id.toLowerCase() : '';
}

/**
 * Decides which kind of credential signed a call. Vending evidence (the AssumeRole
 * that issued the key) outranks names, because a caller of sts:AssumeRole can
 * choose any session name, including one that looks like an instance id.
 */
export function classifyCredential(
  identity: UserIdentity,
  userAgent: string,
  vendingIndex: VendingIndex | undefined,
): Credential {
  const vending = vendingIndex?.get(identity.accessKeyId);
  const base = {
    accountId: identity.accountId,
    accessKeyId: identity.accessKeyId,
    issuedRegion: vending?.region || arnRegion(identity.inScopeOfIssuedTo),
    vending,
  };
  switch (identity.type) {
    case 'IAMUser':
      return {
        ...base,
        kind: 'iam-user',
        roleName: '',
        roleArn: '',
        sessionName: '',
        subject: identity.userName || identity.arn,
        instanceId: '',
        basis: ['userIdentity.type is IAMUser'],
      };
    case 'Root':
      return {
        ...base,
        kind: 'root',
        roleName: '',
        roleArn: '',
        sessionName: '',
        subject: 'root',
        instanceId: '',
        basis: ['userIdentity.type is Root'],
      };
    case 'AWSService':
      return {
        ...base,
        kind: 'aws-service',
        roleName: '',
        roleArn: '',
        sessionName: '',
        subject: identity.invokedBy,
        instanceId: '',
        basis: ['userIdentity.type is AWSService'],
      };
    case 'FederatedUser':
      return {
        ...base,
        kind: 'federated-user',
        roleName: '',
        roleArn: '',
        sessionName: '',
        subject: identity.arn,
        instanceId: '',
        basis: ['userIdentity.type is FederatedUser'],
      };
    case 'AssumedRole':
      break;
    case 'WebIdentityUser':
      return {
        ...base,
        kind: 'web-identity',
        roleName: '',
        roleArn: '',
        sessionName: '',
        subject: identity.userName,
        instanceId: '',
        basis: ['userIdentity.type is WebIdentityUser'],
      };
    case 'SAMLUser':
      return {
        ...base,
        kind: 'saml',
        roleName: '',
        roleArn: '',
        sessionName: '',
        subject: identity.userName,
        instanceId: '',
        basis: ['userIdentity.type is SAMLUser'],
      };
    default:
      return {
        ...base,
        kind: 'unknown',
        roleName: '',
        roleArn: '',
        sessionName: '',
        subject: identity.arn,
        instanceId: '',
        basis: [`userIdentity.type is ${identity.type || 'absent'}`],
      };
  }

  const parsed = parseAssumedRoleArn(identity.arn);
  // principalId is ROLEID:SESSION for role sessions; the ARN can be absent in trimmed exports.
  const sessionName = parsed?.sessionName ?? identity.principalId.split(':').slice(1).join(':');
  const roleName = parsed?.roleName ?? identity.sessionIssuer?.userName ?? '';
  const roleArn = roleArnOf(identity, parsed);
  const role = { roleName, roleArn, sessionName };

  if (roleName === EC2_IDENTITY_ROLE || identity.principalId.includes(':aws:ec2-instance:')) {
    const instanceId = (sessionName || identity.principalId.split(':').pop() || '').toLowerCase();
    return {
      ...base,
      ...role,
      kind: 'ec2-instance-identity',
      subject: instanceId,
      instanceId,
      basis: [`session of the EC2 instance identity role ${EC2_IDENTITY_ROLE} for ${instanceId}`],
    };
  }

  if (vending) {
    const by = `key ${identity.accessKeyId} was vended by ${vending.issuedBy} at ${vending.eventTime} (event ${vending.eventId})`;
    switch (vending.issuer) {
      case 'ec2': {
        const instanceId = (isInstanceId(sessionName) ? sessionName : vending.sessionName).toLowerCase();
        return { ...base, ...role, kind: 'ec2-instance', subject: instanceId, instanceId, basis: [by] };
      }
      case 'ecs':
        return { ...base, ...role, kind: 'ecs-task', subject: sessionName, instanceId: '', basis: [by] };
      case 'lambda':
        return { ...base, ...role, kind: 'lambda', subject: sessionName, instanceId: '', basis: [by] };
      case 'eks-pod-identity':
        return { ...base, ...role, kind: 'eks-pod-identity', subject: sessionName, instanceId: '', basis: [by] };
      case 'web-identity':
        return { ...base, ...role, kind: 'web-identity', subject: sessionName, instanceId: '', basis: [by] };
      case 'saml':
        return { ...base, ...role, kind: 'saml', subject: sessionName, instanceId: '', basis: [by] };
      case 'caller':
        // A chosen session name, whatever it looks like: judged as an ordinary role session here;
        // the session-name-spoof detector looks at names that imitate instances.
        return {
          ...base,
          ...role,
          kind: 'assumed-role',
          subject: sessionName,
          instanceId: '',
          basis: [`${by}: an ordinary sts:AssumeRole, not EC2`],
        };
    }
  }

  const scopedInstance = instanceOfScope(identity);
  if (scopedInstance !== '') {
    return {
      ...base,
      ...role,
      kind: 'ec2-instance',
      subject: scopedInstance,
      instanceId: scopedInstance,
      basis: [`userIdentity.inScopeOf says the credentials were issued to ${identity.inScopeOfIssuedTo}`],
    };
  }
  if (isInstanceId(sessionName)) {
    const instanceId = sessionName.toLowerCase();
    return {
      ...base,
      ...role,
      kind: 'ec2-instance',
      subject: instanceId,
      instanceId,
      basis: [
        `session name ${sessionName} is an EC2 instance id (no vending event seen for key ${identity.accessKeyId || '(none)'})`,
      ],
    };
  }
  if (identity.inScopeOfIssuerType === 'AWS::Lambda::Function') {
    return {
      ...base,
      ...role,
      kind: 'lambda',
      subject: sessionName,
      instanceId: '',
      basis: [`userIdentity.inScopeOf names ${identity.inScopeOfIssuedTo || 'a Lambda function'}`],
    };
  }
  if (identity.webIdFederatedProvider !== '') {
    return {
      ...base,
      ...role,
      kind: 'web-identity',
      subject: sessionName,
      instanceId: '',
      basis: [`web identity federation through ${identity.webIdFederatedProvider}`],
    };
  }
  if (roleName.startsWith('AWSReservedSSO_')) {
    return {
      ...base,
      ...role,
      kind: 'sso',
      subject: sessionName,
      instanceId: '',
      basis: [`IAM Identity Center role ${roleName}`],
    };
  }
  if (EKS_POD_IDENTITY_SESSION.test(sessionName)) {
    return {
      ...base,
      ...role,
      kind: 'eks-pod-identity',
      subject: sessionName,
      instanceId: '',
      basis: [`session name ${sessionName} has the EKS Pod Identity shape`],
    };
  }
  // The user agent alone never decides a workload kind: it only supports a session-name pattern.
  const runtime = fromUserAgent(userAgent);
  if (runtime === 'ecs' && ECS_TASK_ID.test(sessionName)) {
    return {
      ...base,
      ...role,
      kind: 'ecs-task',
      subject: sessionName,
      instanceId: '',
      basis: ['session name is an ECS task id and the user agent names the ECS execution environment'],
    };
  }
  const hint =
    runtime === 'lambda'
      ? ['role session (the user agent names the Lambda execution environment, which alone proves nothing)']
      : runtime === 'ecs'
        ? ['role session (the user agent names the ECS execution environment, which alone proves nothing)']
        : ['role session'];
  return { ...base, ...role, kind: 'assumed-role', subject: sessionName, instanceId: '', basis: hint };
}

/** Instance credentials: the role's instance-profile session and the instance identity role. */
export function isInstanceCredential(kind: CredentialKind): boolean {
  return kind === 'ec2-instance' || kind === 'ec2-instance-identity';
}
