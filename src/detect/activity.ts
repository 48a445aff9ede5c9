import type { Severity } from './finding.js';
import { SEVERITIES } from './finding.js';

/** What a thief does first with a fresh credential: find out whose it is and what it can see. */
const RECON_EXACT = new Set([
  'sts:GetCallerIdentity',
  'iam:GetAccountAuthorizationDetails',
  'iam:GetUser',
  'iam:GetRole',
  's3:ListBuckets',
  's3:ListAllMyBuckets',
]);

/** Reading the data or the secrets the role can reach. */
const DATA_ACCESS_EXACT = new Set([
  'secretsmanager:GetSecretValue',
  'secretsmanager:BatchGetSecretValue',
  'ssm:GetParameter',
  'ssm:GetParameters',
  'ssm:GetParametersByPath',
  'kms:Decrypt',
  'dynamodb:Scan',
  'dynamodb:Query',
  'dynamodb:ExportTableToPointInTime',
  'rds:CreateDBSnapshot',
  'ec2:CreateSnapshot',
  'ec2:GetPasswordData',
  'lambda:GetFunction',
]);

/** Calls that turn a stolen session into lasting access or more privilege. */
const PERSISTENCE_PREFIXES = [
  'iam:Create',
  'iam:Put',
  'iam:Attach',
  'iam:Update',
  'iam:Add',
  'iam:PassRole',
  'sts:AssumeRole',
  'ec2:RunInstances',
  'ec2:AuthorizeSecurityGroupIngress',
  'lambda:CreateFunction',
  'lambda:UpdateFunctionCode',
  'ssm:SendCommand',
  'ssm:StartSession',
];

/** How many GetObject calls from one source make a burst worth raising severity for. */
export const GET_OBJECT_BURST = 10;

export interface ActivityPattern {
  recon: string[];
  dataAccess: string[];
  persistence: string[];
}

/** Names the suspicious patterns in a set of actions (`service:Action` → calls). */
export function describeActivity(actions: ReadonlyMap<string, number>): ActivityPattern {
  const pattern: ActivityPattern = { recon: [], dataAccess: [], persistence: [] };
  for (const [action, calls] of actions) {
    const name = action.slice(action.indexOf(':') + 1);
    if (RECON_EXACT.has(action) || name.startsWith('List') || name.startsWith('Describe')) {
      pattern.recon.push(action);
    }
    if (DATA_ACCESS_EXACT.has(action) || (action === 's3:GetObject' && calls >= GET_OBJECT_BURST)) {
      pattern.dataAccess.push(action === 's3:GetObject' ? `s3:GetObject ×${calls}` : action);
    }
    if (PERSISTENCE_PREFIXES.some((prefix) => action.startsWith(prefix))) pattern.persistence.push(action);
  }
  // Map order follows event order; findings must not depend on it.
  pattern.recon.sort();
  pattern.dataAccess.sort();
  pattern.persistence.sort();
  return pattern;
}

/** Merges several action maps into one. */
export function mergeActions(maps: Iterable<ReadonlyMap<string, number>>): Map<string, number> {
  const merged = new Map<string, number>();
  for (const map of maps) for (const [action, calls] of map) merged.set(action, (merged.get(action) ?? 0) + calls);
  return merged;
}

/** One step more severe, capped at critical. */
export function raise(severity: Severity): Severity {
  const index = SEVERITIES.indexOf(severity);
  return SEVERITIES[Math.max(0, index - 1)]!;
}

/** Reasons to raise a finding's severity, from what the credential did and how it was fetched. */
export function escalationReasons(actions: ReadonlyMap<string, number>, ec2RoleDelivery: Iterable<string>): string[] {
  const pattern = describeActivity(actions);
  const reasons: string[] = [];
  const few = (list: string[]) =>
    list.length > 4 ? `${list.slice(0, 4).join(', ')} (+${list.length - 4} more)` : list.join(', ');
  if (pattern.recon.length > 0) reasons.push(`reconnaissance calls: ${few(pattern.recon)}`);
  if (pattern.dataAccess.length > 0) reasons.push(`data access: ${few(pattern.dataAccess)}`);
  if (pattern.persistence.length > 0) reasons.push(`persistence or privilege calls: ${few(pattern.persistence)}`);
  if ([...ec2RoleDelivery].includes('1.0')) {
    reasons.push('the key was fetched through IMDSv1 (ec2RoleDelivery 1.0): reachable by a plain SSRF');
  }
  return reasons;
}
