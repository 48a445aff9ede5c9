import { instanceCredentialCrossInstance } from './instance-credential-cross-instance.js';
import { instanceCredentialForeignAws } from './instance-credential-foreign-aws.js';
import { instanceCredentialForeignVpce } from './instance-credential-foreign-vpce.js';
import { instanceCredentialNonSdkClient } from './instance-credential-non-sdk-client.js';
import { instanceCredentialOutsideAws } from './instance-credential-outside-aws.js';
import { instanceCredentialRoleChain } from './instance-credential-role-chain.js';
import { instanceSessionNameSpoof } from './instance-session-name-spoof.js';
import { revokedSessionUse } from './revoked-session-use.js';
import { imdsSsrfAttempt } from './imds-ssrf-attempt.js';
import { signedAwsUrlInRequest } from './signed-aws-url-in-request.js';
import type { Detector } from './types.js';
import type { WebDetector } from './web-types.js';
import { workloadCredentialOutsideAws } from './workload-credential-outside-aws.js';

/** Every CloudTrail detector, in the order findings are listed. Ids are a contract (SPEC §2). */
export const cloudTrailDetectors: readonly Detector[] = [
  instanceCredentialOutsideAws,
  instanceCredentialForeignAws,
  instanceCredentialCrossInstance,
  instanceCredentialForeignVpce,
  instanceSessionNameSpoof,
  instanceCredentialRoleChain,
  instanceCredentialNonSdkClient,
  workloadCredentialOutsideAws,
  revokedSessionUse,
];

/** The web-tier detectors (ALB, ELB, CloudFront, WAF, nginx/Apache), run by `offbox ssrf`. */
export const webDetectors: readonly WebDetector[] = [imdsSsrfAttempt, signedAwsUrlInRequest];

/** The IMDSv1 exposure backlog (`offbox exposure`, src/exposure/): a ranking of exposure, not an attack detector. */
export const EXPOSURE_DETECTOR_ID = 'imdsv1-credential-delivery';

/** Every detector id offbox has: CloudTrail, web and exposure. */
export const allDetectorIds: readonly string[] = [
  ...cloudTrailDetectors.map((d) => d.id),
  ...webDetectors.map((d) => d.id),
  EXPOSURE_DETECTOR_ID,
];

export function findDetector(id: string): Detector | undefined {
  return cloudTrailDetectors.find((detector) => detector.id === id);
}
