import { instanceCredentialOutsideAws } from './instance-credential-outside-aws.js';
import type { Detector } from './types.js';

/** Every CloudTrail detector, in the order findings are listed. Ids are a contract (SPEC §2). */
export const cloudTrailDetectors: readonly Detector[] = [instanceCredentialOutsideAws];

export function findDetector(id: string): Detector | undefined {
  return cloudTrailDetectors.find((detector) => detector.id === id);
}
