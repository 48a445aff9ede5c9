import { escalationReasons, mergeActions, raise } from './activity.js';
import type { Detector } from './types.js';

const OFF_PATH = new Set(['outside', 'unverifiable', 'foreign-aws', 'cross-instance', 'foreign-vpce']);

/**
 * A session created by sts:AssumeRole with an instance's key, used away from the instance.
 * The chained session inherits the instance's expected sources: a chain made on the box and
 * used on the box is normal (a service assuming its work role); the same chain used from
 * anywhere else carries the stolen credential one hop further, under a new name and role.
 */
export const instanceCredentialRoleChain: Detector = {
  id: 'instance-credential-role-chain',
  title: 'Session chained from an EC2 instance credential used away from the instance',
  description:
    "A role session whose key was issued by sts:AssumeRole signed with an instance's key (directly or through further " +
    "AssumeRole calls) was used from a source that is not the instance's own.",
  attack: { technique: 'T1552.005', analytic: 'AN0960', tactic: 'Privilege Escalation' },

  evaluate(observation) {
    const instance = observation.instance;
    if (!instance || instance.chain.length === 0) return undefined;
    const judgement = instance.judgement;
    if (!OFF_PATH.has(judgement.kind) || !('reasons' in judgement) || !('owner' in judgement)) return undefined;
    const { credential } = observation;
    return {
      confidence: judgement.confidence,
      sourceOwner: judgement.owner,
      reasons: [
        `session ${credential.sessionName} of role ${credential.roleName} was created with the key of instance ${instance.instanceId} (chain ${instance.chain.join(' → ')}) and used from ${observation.source.ip}: ${judgement.reasons[0]}`,
        ...judgement.reasons.slice(1),
      ],
    };
  },

  severity({ observations, verdicts }) {
    const base = verdicts.every((v) => v.confidence === 'low') ? 'medium' : 'high';
    const reasons = escalationReasons(mergeActions(observations.map((o) => o.usage.actions)), []);
    return { severity: reasons.length > 0 ? raise(base) : base, reasons };
  },
};
