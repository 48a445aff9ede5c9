import type { Credential } from '../cloudtrail/credential.js';
import { parseIp, unmapIpv4 } from '../net/ip.js';
import type { SourceInfo } from '../net/source-class.js';
import { classifySpecial } from '../net/special-ranges.js';
import { escalationReasons, mergeActions, raise } from './activity.js';
import { corroborate, corroboratedConfidence, instanceRegion } from './corroboration.js';
import { severityRank, type Confidence, type Severity } from './finding.js';
import type { SourceJudgement } from './types.js';
import type { DetectionContext, FindingAggregate, Observation, Verdict } from './types.js';

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
 * not a chained session, judged to be one of `kinds`. Corroborating signals raise the
 * confidence; an unverifiable source that nothing corroborates is folded into one finding
 * per role and address range.
 */
export function instanceSourceVerdict(
  observation: Observation,
  kinds: readonly DecidedKind[],
  ctx: DetectionContext,
): Verdict | undefined {
  const instance = observation.instance;
  if (!instance || instance.chain.length > 0) return undefined;
  const judgement = instance.judgement;
  if (!(kinds as readonly string[]).includes(judgement.kind) || !('owner' in judgement)) return undefined;
  const { credential, usage, source } = observation;
  const { signals } = corroborate(usage, credential, source, instanceRegion(instance.instanceId, credential, ctx), ctx);
  const verdict: Verdict = {
    confidence: corroboratedConfidence(judgement.confidence, signals.length),
    sourceOwner: judgement.owner,
    signals,
    reasons: [
      `instance credential of ${credential.instanceId} (role ${credential.roleName}) used from ${source.ip}: ${judgement.reasons[0]}`,
      anchorReason(credential),
      ...judgement.reasons.slice(1),
      ...signals,
    ],
  };
  if (judgement.kind === 'unverifiable' && signals.length === 0) {
    verdict.aggregateAs = { subject: '', sourceIp: unverifiableRange(source) };
  }
  return verdict;
}

/**
 * The address range an unverifiable source is reported under: the private or special-purpose block
 * it belongs to (10.0.0.0/8, 192.168.0.0/16 …), or 'not an address'.
 */
export function unverifiableRange(source: SourceInfo): string {
  const parsed = parseIp(source.ip);
  if (parsed === undefined) return 'not an address';
  return classifySpecial(unmapIpv4(parsed))?.cidr ?? source.ip;
}

/**
 * Severity from a confidence that signals may have raised: what the address alone leaves as a
 * question stays at `floor`; each step of confidence is a step of severity; what the credential did
 * (reconnaissance, data, persistence, IMDSv1) raises it once more, but only once the finding is at
 * least medium-confidence, so a question never becomes an alarm on its calls alone.
 */
export function scoredSeverity(
  aggregate: FindingAggregate,
  floor: Severity,
  options: { highConfidence: Severity },
): { severity: Severity; reasons: string[] } {
  const { observations, verdicts } = aggregate;
  const confidence = strongest(verdicts.map((v) => v.confidence));
  const base: Severity =
    confidence === 'high' ? options.highConfidence : confidence === 'medium' ? atLeast('medium', floor) : floor;
  const reasons = escalationReasons(
    mergeActions(observations.map((o) => o.usage.actions)),
    observations.flatMap((o) => [...o.usage.ec2RoleDelivery]),
  );
  return { severity: reasons.length > 0 && confidence !== 'low' ? raise(base) : base, reasons };
}

function strongest(confidences: Confidence[]): Confidence {
  return confidences.includes('high') ? 'high' : confidences.includes('medium') ? 'medium' : 'low';
}

function atLeast(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}
