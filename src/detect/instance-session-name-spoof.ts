import { isInstanceId } from '../cloudtrail/credential.js';
import { escalationReasons, mergeActions, raise } from './activity.js';
import type { Detector } from './types.js';

/**
 * A role session named like an EC2 instance (`i-…`) that EC2 never issued: whoever called
 * sts:AssumeRole chose the name to blend in with the role's real instance sessions, or to
 * frame an instance. Real instance sessions are vended by ec2.amazonaws.com and carry
 * sessionContext.ec2RoleDelivery.
 */
export const instanceSessionNameSpoof: Detector = {
  id: 'instance-session-name-spoof',
  title: 'Role session named like an EC2 instance, not issued by EC2',
  description:
    'An AssumedRole session whose name is an instance id, but whose key was issued by an ordinary sts:AssumeRole ' +
    "(not by ec2.amazonaws.com), or that lacks ec2RoleDelivery where the same role's real instance sessions carry it.",
  attack: { technique: 'T1036', analytic: 'AN0960', tactic: 'Defense Evasion' },

  evaluate({ usage, credential }, ctx) {
    if (credential.kind === 'ec2-instance-identity' || usage.invokedBy !== '') return undefined;
    if (!isInstanceId(credential.sessionName)) return undefined;
    const vending = credential.vending;
    // Scripts on an instance often name their chained session after the instance itself: that is
    // role chaining (judged by its own detector), not an impersonation.
    const selfNamed =
      vending?.issuer === 'caller' &&
      ctx.instanceOfKey.get(vending.callerAccessKeyId) === credential.sessionName.toLowerCase();
    if (vending && vending.issuer !== 'ec2' && !selfNamed) {
      return {
        confidence: 'high',
        sourceOwner: '',
        reasons: [
          `session ${credential.sessionName} of role ${credential.roleName} looks like an EC2 instance session, but key ${credential.accessKeyId} was issued by sts:${vending.issuer === 'caller' ? 'AssumeRole' : vending.issuer} called by ${vending.issuedBy} from ${vending.callerSourceIp || 'an unknown address'} at ${vending.eventTime} (event ${vending.eventId}), not by ec2.amazonaws.com`,
        ],
      };
    }
    if (vending || credential.kind !== 'ec2-instance' || usage.ec2RoleDelivery.size > 0) return undefined;
    // (a self-named chain has a vending record and ends above)
    const profile = ctx.roleDelivery.get(credential.roleArn.toLowerCase());
    if (!profile || profile.with === 0) return undefined;
    return {
      confidence: 'medium',
      sourceOwner: '',
      reasons: [
        `session ${credential.sessionName} of role ${credential.roleName} carries no ec2RoleDelivery, while ${profile.with} calls of the role's EC2-issued instance sessions do: the session was most likely created by sts:AssumeRole with a chosen name`,
        `no vending event was seen for key ${credential.accessKeyId || '(none)'}: include the trail of the time the session was created to confirm who issued it`,
      ],
    };
  },

  severity({ observations, verdicts }) {
    const base = verdicts.some((v) => v.confidence === 'high') ? 'high' : 'medium';
    const reasons = escalationReasons(mergeActions(observations.map((o) => o.usage.actions)), []);
    return { severity: reasons.length > 0 ? raise(base) : base, reasons };
  },
};
