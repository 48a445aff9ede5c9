import type { Credential } from '../cloudtrail/credential.js';

/** Why the credential is believed to be the instance's: the vending event when known, else the session name. */
export function anchorReason(credential: Credential): string {
  if (credential.vending && credential.vending.issuer === 'ec2') {
    return `key ${credential.accessKeyId} was vended to ${credential.instanceId} by EC2 at ${credential.vending.eventTime} (event ${credential.vending.eventId})`;
  }
  return credential.basis[0] ?? 'instance session';
}
