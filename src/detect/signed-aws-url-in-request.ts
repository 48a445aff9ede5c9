import { shellQuote } from '../respond/commands.js';
import { findSignedAwsRequest } from '../weblogs/signed-url.js';
import { describeDecodings, WHERE_TEXT } from './imds-ssrf-attempt.js';
import type { WebDetector, WebVerdict } from './web-types.js';

/**
 * A web request that carries an AWS request signed with a temporary (ASIA…) key: a SigV4
 * pre-signed URL, a SigV2 query signature or a signed Authorization header. Session
 * credentials belong inside the workload that was issued them; seen in a web request they are
 * being relayed — the way SSRF-stolen credentials are used (T1552.005).
 */
export const signedAwsUrlInRequest: WebDetector = {
  id: 'signed-aws-url-in-request',
  title: 'AWS request signed with a temporary key inside a web request',
  description:
    'A web-tier request carries an AWS request signed with a temporary ASIA… access key (X-Amz-Credential=ASIA…, ' +
    'AWSAccessKeyId=ASIA…&Signature=, or a signed Authorization header), in any encoding: session credentials relayed ' +
    'through the application, as SSRF-stolen instance credentials are. The access key id joins the finding to CloudTrail.',
  attack: { technique: 'T1552.005', analytic: 'AN0960', tactic: 'Credential Access' },

  evaluate({ request }): WebVerdict | undefined {
    const signed = findSignedAwsRequest(request);
    if (!signed) return undefined;
    const scope = signed.date ? ` (credential scope ${signed.date}/${signed.region}/${signed.service})` : '';
    const reasons = [
      `${request.method || 'a'} request carries an AWS ${signed.signatureVersion}-signed request in ${WHERE_TEXT[signed.where]}, signed with the temporary access key ${signed.accessKeyId}${scope}`,
      `matched text (decoded): ${signed.evidence}`,
    ];
    if (signed.decodedLayers > 0) {
      reasons.push(
        `found after ${signed.decodedLayers} round${signed.decodedLayers > 1 ? 's' : ''} of decoding (${describeDecodings(signed.decodings)})`,
      );
    }
    const flags: string[] = [];
    if (signed.action) {
      flags.push('api-action');
      reasons.push(`it is an AWS API call: ${signed.service || 'service'}:${signed.action}`);
    }
    if (signed.signedHost) reasons.push(`signed for ${signed.signedHost}`);
    if (signed.hasSessionToken) {
      flags.push('session-token');
      reasons.push(
        'the session token travels with it (X-Amz-Security-Token): whoever holds the URL can replay the credential until it expires',
      );
    }
    reasons.push(
      'ASIA keys are temporary STS credentials — what instance profiles, ECS tasks and Lambda functions receive; join this key id with CloudTrail (offbox scan) to see where else it is used',
    );
    const host = request.host.toLowerCase();
    return {
      key: [signed.accessKeyId, host].join('|'),
      subject: `${signed.accessKeyId}${signed.service ? ` (${signed.service})` : ''}${host ? ` via ${host}` : ''}`,
      confidence:
        signed.hasSessionToken || signed.action !== '' || (signed.service !== '' && signed.service !== 's3')
          ? 'high'
          : 'medium',
      reasons,
      flags,
      accessKeyIds: [signed.accessKeyId],
      regions: signed.region ? [signed.region] : [],
    };
  },

  severity() {
    return { severity: 'high', reasons: [] };
  },

  responseCommands(aggregate) {
    const verdict = aggregate.first.verdict;
    const key = verdict.accessKeyIds[0] ?? '';
    if (!key) return [];
    const region = verdict.regions[0] ? ` --region ${shellQuote(verdict.regions[0])}` : '';
    return [
      `aws sts get-access-key-info --access-key-id ${shellQuote(key)}`,
      `aws cloudtrail lookup-events --lookup-attributes AttributeKey=AccessKeyId,AttributeValue=${shellQuote(key)}${region}`,
      '# once the owning role is known, revoke its older sessions (AWSRevokeOlderSessions) and require IMDSv2 on its instances',
    ];
  },

  principal(aggregate) {
    // The instance the signed request was sent to: the relay. The key itself is in accessKeyIds, to be
    // joined with CloudTrail (whose instance it was vended to).
    const instances = [...aggregate.backends.values()].filter((b) => b.instanceId !== '');
    if (instances.length !== 1) return {};
    const backend = instances[0]!;
    return { instanceId: backend.instanceId };
  },
};
