import type { Usage } from '../engine/usage.js';
import type { SourceInfo } from '../net/source-class.js';
import { isAwsInternalAgent } from './user-agents.js';

/**
 * KMS operations AWS services make with a principal's session when they encrypt or decrypt for it:
 * Lambda decrypting a function's environment at a cold start, S3 and EBS with their data keys.
 */
const SERVICE_KEY_OPERATIONS = new Set([
  'kms:Decrypt',
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:ReEncrypt',
  'kms:DescribeKey',
  'kms:CreateGrant',
]);

/** True when every call of the usage is a KMS key operation by an `aws-internal/…` client. */
export function isInternalKeyOperation(usage: Usage): boolean {
  const agents = [...usage.userAgents];
  if (agents.length === 0 || !agents.every(isAwsInternalAgent)) return false;
  const actions = [...usage.actions.keys()];
  return actions.length > 0 && actions.every((action) => SERVICE_KEY_OPERATIONS.has(action));
}

/**
 * Why a usage is AWS calling on the session's behalf rather than the session's holder calling,
 * or '' when it is not. CloudTrail says so with `invokedBy` or a service name as source. AWS's
 * internal clients also call with the session itself and a user agent of `aws-internal/…`: Lambda
 * decrypting a function's environment at a cold start logs kms:Decrypt that way, from addresses
 * AWS does not publish. A user agent is anyone's to send, so it is believed only for KMS key
 * operations, and only from AWS space — or from anywhere for a Lambda function's own credential
 * (`lambdaCredential`), the one case AWS documents; a thief's reconnaissance and data calls with
 * the same key are still judged, and a forged claim from outside AWS is itself a signal.
 */
export function serviceSideReason(usage: Usage, source: SourceInfo, lambdaCredential = false): string {
  if (usage.invokedBy !== '') return `called by ${usage.invokedBy} on the session's behalf (invokedBy)`;
  if (source.class === 'aws-service') return source.reason;
  if (!isInternalKeyOperation(usage)) return '';
  if (source.class !== 'aws' && !lambdaCredential) return '';
  const actions = [...usage.actions.keys()].sort().join(', ');
  return `AWS-internal client (${[...usage.userAgents][0]}) making only KMS key operations (${actions}): a service encrypting or decrypting for the session`;
}
