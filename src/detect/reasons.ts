import type { Credential } from '../cloudtrail/credential.js';
import type { SourceJudgement } from './instance-source.js';
import type { Observation, Verdict } from './types.js';

/** Why the credential is believed to be the instance's: the vending event when known, else the session name. */
export function anchorReason(credential: Credential): string {
  if (credential.vending && credential.vending.issuer === 'ec2') {
    return `key ${credential.accessKeyId} was vended to ${credential.instanceId} by EC2 at ${credential.vending.eventTime} (event ${credential.vending.eventId})`;
  }
  return credential.basis[0] ?? 'instance session';
}

type DecidedKind = Exclude<SourceJudgement['kind'], 'aws-service' | 'allowed' | 'expected' | 'undecided'>;

/**
 * The verdict of the instance detectors that only restate the shared source judgement
 * (outside-aws, foreign-aws, cross-instance, foreign-vpce): the instance's own credential,
 * not a chained session, judged to be one of `kinds`.
 */
export function instanceSourceVerdict(observation: Observation, kinds: readonly DecidedKind[]): Verdict | undefined {
  const instance = observation.instance;
  if (!instance || instance.chain.length > 0) return undefined;
  const judgement = instance.judgement;
  if (!(kinds as readonly string[]).includes(judgement.kind) || !('owner' in judgement)) return undefined;
  const { credential } = observation;
  return {
    confidence: judgement.confidence,
    sourceOwner: judgement.owner,
    reasons: [
      `instance credential of ${credential.instanceId} (role ${credential.roleName}) used from ${observation.source.ip}: ${judgement.reasons[0]}`,
      anchorReason(credential),
      ...judgement.reasons.slice(1),
    ],
  };
}
