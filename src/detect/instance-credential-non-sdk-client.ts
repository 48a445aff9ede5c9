import { describeActivity } from './activity.js';
import { anchorReason } from './reasons.js';
import type { Usage } from '../engine/usage.js';
import type { Detector } from './types.js';

/**
 * The SSM agent keeps its command and session channels open with Go's plain HTTP client
 * (`Go-http-client/1.1`) against ec2messages and ssmmessages: an agent on the box, not a relay.
 * CloudTrail logs the Session Manager channel's data events under `ssm.amazonaws.com`
 * (resource type `AWS::SSMMessages::ControlChannel`), hence the four `ssm:` names. Nothing a
 * thief wants is reachable through these calls alone.
 */
const AGENT_CHANNEL_SERVICES = ['ec2messages:', 'ssmmessages:'];
const AGENT_CHANNEL_ACTIONS = new Set([
  'ssm:CreateControlChannel',
  'ssm:OpenControlChannel',
  'ssm:CreateDataChannel',
  'ssm:OpenDataChannel',
]);

function isAgentChannelAction(action: string): boolean {
  return AGENT_CHANNEL_ACTIONS.has(action) || AGENT_CHANNEL_SERVICES.some((s) => action.startsWith(s));
}

function isAgentChannelUsage(usage: Usage): boolean {
  if (usage.clientFamily !== 'go-http-client' || usage.actions.size === 0) return false;
  return [...usage.actions.keys()].every(isAgentChannelAction);
}

/**
 * Calls signed with an instance's key, from the instance's own address, by a client no AWS
 * SDK, CLI or agent uses (python-requests, curl, Go-http-client, a browser). The usual shape
 * of an SSRF that relays pre-signed requests: the address is right, the client is not.
 */
export const instanceCredentialNonSdkClient: Detector = {
  id: 'instance-credential-non-sdk-client',
  title: 'EC2 instance credential used by a non-SDK client from the instance',
  description:
    "An instance credential's calls come from the instance's own address with a user agent that no SDK, CLI or agent " +
    'sends (python-requests, Go-http-client, curl, browsers …): pre-signed requests relayed through an SSRF.',
  attack: { technique: 'T1552.005', analytic: 'AN0960', tactic: 'Credential Access' },

  evaluate(observation) {
    const { usage, credential, instance } = observation;
    if (!instance || usage.clientFamily === '' || isAgentChannelUsage(usage)) return undefined;
    const judgement = instance.judgement;
    const unknownAddress =
      judgement.kind === 'undecided' || (judgement.kind === 'foreign-aws' && judgement.confidence === 'low');
    if (unknownAddress) {
      return {
        confidence: 'low',
        sourceOwner: 'unknown',
        reasons: [
          `calls signed with ${instance.instanceId}'s credential came from ${observation.source.ip} with a ${usage.clientFamily} client (${[...usage.userAgents][0] ?? ''}), which no AWS SDK, CLI or agent uses`,
          `whether ${observation.source.ip} is the instance's own address is unknown (no inventory entry and no on-box evidence; pass --inventory): relayed pre-signed requests if it is, use away from the instance if not`,
          anchorReason(credential),
        ],
      };
    }
    if (judgement.kind !== 'expected') return undefined;
    return {
      confidence: 'medium',
      sourceOwner: judgement.reasons[0] ?? 'the instance',
      reasons: [
        `calls signed with ${instance.instanceId}'s credential came from its own address ${observation.source.ip} with a ${usage.clientFamily} client (${[...usage.userAgents][0] ?? ''}), which no AWS SDK, CLI or agent uses: pre-signed requests relayed through the instance`,
        judgement.reasons[0] ?? '',
        anchorReason(credential),
      ].filter(Boolean),
    };
  },

  severity({ observations }) {
    const pattern = describeActivity(new Map(observations.flatMap((o) => [...o.usage.actions])));
    const reasons =
      pattern.dataAccess.length > 0 || pattern.persistence.length > 0
        ? ['the relayed calls read data or change access']
        : [];
    return { severity: reasons.length > 0 ? 'high' : 'medium', reasons };
  },
};
