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

/**
 * Why a usage is AWS calling on the session's behalf rather than the session's holder calling,
 * or '' when it is not. CloudTrail says so with `invokedBy` or a service name as source; AWS's
 * internal clients also call with the session itself and a user agent of `aws-internal/…`
 * (Lambda's environment decryption logs kms:Decrypt that way). A user agent is anyone's to send,
 * so it is believed only for the KMS key operations services make, where a forged one hides
 * nothing a thief wants: their reconnaissance and data calls are still judged.
 */
export function serviceSideReason(usage: Usage, source: SourceInfo): string {
  if (usage.invokedBy !== '') return `called by ${usage.invokedBy} on the session's behalf (invokedBy)`;
  if (source.class === 'aws-service') return source.reason;
  const agents = [...usage.userAgents];
  if (agents.length === 0 || !agents.every(isAwsInternalAgent)) return '';
  const actions = [...usage.actions.keys()];
  if (actions.length > 0 && actions.every((action) => SERVICE_KEY_OPERATIONS.has(action))) {
    return `AWS-internal client (${agents[0]}) making only KMS key operations (${actions.sort().join(', ')}): a service encrypting or decrypting for the session`;
  }
  return '';
}
