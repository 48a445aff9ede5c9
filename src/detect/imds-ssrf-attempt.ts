import {
  closePathCommands,
  commandRegion,
  instanceResponseCommands,
  regionOption,
  shellQuote,
} from '../respond/commands.js';
import type { DecodingStep } from '../weblogs/decode.js';
import {
  findMetadataTarget,
  metadataHeaders,
  SERVICE_NAMES,
  type MetadataService,
  type MetadataTarget,
  type TargetWhere,
} from '../weblogs/metadata-target.js';
import type { HelperKind } from '../weblogs/helper-services.js';
import type { WebRequest } from '../weblogs/request.js';
import type { Finding } from './finding.js';
import { hasResponseBody, safeHostText, type BackendFacts, type WebDetector, type WebVerdict } from './web-types.js';

/** Where a target was found, as words that follow "in". */
export const WHERE_TEXT: Readonly<Record<TargetWhere, string>> = {
  path: 'the path',
  query: 'the query string',
  fragment: 'the fragment',
  host: 'the Host (the request was addressed to it)',
  'request-line': 'the absolute-form request line (a proxy request)',
  userinfo: 'the userinfo part of a URL (a parser-confusion trick)',
  header: 'a request header',
  body: 'the request body',
};

/** Services whose credentials are AWS credentials. */
const AWS_SERVICES: ReadonlySet<MetadataService> = new Set(['aws-imds', 'aws-ecs', 'aws-eks-pod-identity']);

function whatItCarries(target: MetadataTarget): string {
  return target.recognisedBy === 'helper' ? 'an SSRF helper service' : 'a metadata-service target';
}

/** "round 1: percent-decoding; round 2: percent-decoding, Unicode look-alikes". */
export function describeDecodings(decodings: readonly DecodingStep[][]): string {
  return decodings.map((steps, i) => `round ${i + 1}: ${steps.join(', ')}`).join('; ');
}

function targetText(t: MetadataTarget): string {
  const service = SERVICE_NAMES[t.target];
  switch (t.recognisedBy) {
    case 'address':
      return `${service} at ${t.canonical}, written as ${t.notation}`;
    case 'dns-name':
      return t.notation === 'DNS name'
        ? `${service} by its DNS name ${t.canonical}`
        : `${service} at ${t.canonical}, through the ${t.notation}`;
    case 'redirector':
      return `${service} at ${t.canonical}, through the ${t.notation}`;
    case 'waf-rule':
      return `${service}: AWS WAF's ${t.notation} matched (WAF never logs the body, so the payload itself is not in the log)`;
    case 'path':
      return `${service} by its path alone, sent to ${t.canonical || 'the application'}: a probe for a reverse proxy or a DNS name that forwards to the metadata service; the address it reached is not in the log`;
    case 'helper':
      return `no metadata address is visible: the request points the application at ${t.canonical}, ${HELPER_KIND_TEXT[t.helper?.kind ?? 'out-of-band']} (${t.helper?.family ?? 'helper service'}); which service it reaches next is not in the log`;
  }
}

/** What each kind of helper service does, as words after "the request points the application at X,". */
const HELPER_KIND_TEXT: Readonly<Record<HelperKind, string>> = {
  redirector: 'a public redirector whose target is encoded opaquely',
  rebinding: 'a DNS-rebinding name that can switch to any address after the check',
  'wildcard-dns': 'a wildcard DNS name',
  'out-of-band': 'an out-of-band interaction domain used to confirm blind SSRF',
};

/** The helper service line of the reasons: which family, how it was decoded, where the list entry comes from. */
function helperReason(t: MetadataTarget): string {
  const h = t.helper;
  if (!h) return '';
  const decoded = h.decoded ? `; decoded from ${h.decoded}` : '';
  return `helper service: ${h.family} (${h.kind})${decoded}; listed from ${h.source}`;
}

function backendReason(backend: BackendFacts | undefined, hasInventory: boolean): string {
  if (!backend || backend.address === '') return '';
  const where = `${backend.address}${backend.port ? `:${backend.port}` : ''}`;
  if (!hasInventory) {
    return `forwarded to ${where}; no inventory: cannot tell which instance that is or whether it still allows IMDSv1 (pass --inventory)`;
  }
  if (backend.instanceId === '') return `forwarded to ${where}, which the inventory does not attribute to an instance`;
  const role = backend.roleName ? ` (role ${backend.roleName})` : '';
  const tokens =
    backend.httpTokens === 'required'
      ? '; IMDSv2 is required there (HttpTokens=required), so a plain GET through an SSRF gets no credentials'
      : backend.httpTokens === 'optional'
        ? '; IMDSv1 is allowed there (HttpTokens=optional): a plain GET through an SSRF reads the credentials'
        : '';
  return `forwarded to ${where}, which is ${backend.instanceId}${role} according to ${backend.source || 'the inventory'}${tokens}`;
}

function responseReason(request: WebRequest, t: MetadataTarget): string {
  const size =
    request.bytes < 0 ? '' : ` with ${request.bytes} bytes${request.bytesIncludeHeaders ? ' (headers included)' : ''}`;
  if (request.status === 0) return '';
  if (hasResponseBody(request)) {
    return t.credentialPath
      ? `the application answered ${request.status}${size}: enough to carry a credential document — treat the credentials as stolen`
      : `the application answered ${request.status}${size}: the SSRF may work`;
  }
  if (request.status >= 200 && request.status < 300) return `the application answered ${request.status}${size}`;
  return `the application answered ${request.status}: this request did not get a metadata answer back to the client`;
}

/**
 * A web request that carries a cloud metadata-service target (AWS IMDS and the other clouds'
 * metadata services, the ECS and EKS credential endpoints, the Kubernetes API) in any
 * encoding, a metadata path, or a Host of the service: someone trying to make the application
 * fetch instance credentials (T1552.005) by exploiting it (T1190).
 */
export const imdsSsrfAttempt: WebDetector = {
  id: 'imds-ssrf-attempt',
  title: 'Metadata-service SSRF attempt',
  description:
    'A web-tier request (ALB, Classic ELB, CloudFront, AWS WAF, nginx/Apache) or an application or error log line ' +
    'carries a metadata-service target — ' +
    '169.254.169.254 in any notation or encoding, fd00:ec2::254, the ECS/EKS credential endpoints, metadata DNS names, ' +
    'wildcard and rebinding DNS names, a metadata path or a Host of the service — trying to make the application fetch ' +
    'instance credentials. Severity rises for credential paths and IMDSv2 token requests, and to critical when a ' +
    'credential path was answered 2xx with a body. A helper service (opaque redirector, rebinding or out-of-band ' +
    'domain) with no metadata address visible is a low-severity, low-confidence finding for service `unknown`.',
  attack: { technique: 'T1552.005', analytic: 'AN0960', tactic: 'Credential Access' },

  evaluate({ request, backend }, ctx): WebVerdict | undefined {
    const target = findMetadataTarget(request);
    if (!target) return undefined;
    const flags: string[] = [];
    const method = request.method.toUpperCase();
    if (target.credentialPath) flags.push('credential-path');
    if (target.tokenPath) flags.push(method === 'PUT' ? 'token-put' : 'token-path');
    const body = hasResponseBody(request);
    if (body) flags.push('answered-with-body');
    if (body && target.credentialPath) flags.push('credential-response');
    if (request.action === 'BLOCK') flags.push('blocked');
    if (target.recognisedBy === 'path') flags.push('path-only');
    if (target.recognisedBy === 'helper') flags.push('helper-only');

    // A text-log line's tokens are read as a query string; the line is what carried them.
    const fromLogLine = request.format === 'text' && target.where === 'query' && method === '';
    const reasons = [
      fromLogLine
        ? `a log line (${request.file}:${request.line}) carries ${whatItCarries(target)}: ${targetText(target)}`
        : `${method || 'a'} request carries ${whatItCarries(target)} in ${WHERE_TEXT[target.where]}: ${targetText(target)}`,
      `matched text (decoded): ${target.evidence}`,
    ];
    const helper = helperReason(target);
    if (helper) reasons.push(helper);
    if (target.decodedLayers > 0) {
      reasons.push(
        `found after ${target.decodedLayers} round${target.decodedLayers > 1 ? 's' : ''} of decoding (${describeDecodings(target.decodings)})`,
      );
    }
    if (target.path !== '') {
      if (target.credentialPath) {
        reasons.push(`${target.path} is the ${target.pathLabel} path: a 2xx answer hands out temporary credentials`);
      } else if (target.tokenPath) {
        reasons.push(
          method === 'PUT'
            ? `PUT ${target.path} asks for an IMDSv2 session token: the SSRF can send PUT with headers, so IMDSv2 alone does not stop it`
            : `${target.path} is the IMDSv2 token path (IMDSv2 needs PUT; this was ${method || 'no method'})`,
        );
      } else if (target.pathLabel !== '') {
        reasons.push(`${target.path} is the ${target.pathLabel} path of the ${SERVICE_NAMES[target.target]}`);
      }
    }
    const headers = metadataHeaders(request);
    if (headers.length > 0) {
      reasons.push(`the request carried ${headers.join(', ')}: headers only metadata clients send`);
    }
    const response = responseReason(request, target);
    if (response) reasons.push(response);
    if (request.action === 'BLOCK') reasons.push('AWS WAF blocked this request (action BLOCK)');
    else if (request.action === 'COUNT')
      reasons.push('AWS WAF only counted this request (action COUNT): it went through');
    if (request.forwardedFor.length > 0) {
      reasons.push(
        `client address taken from the X-Forwarded-For chain ${request.forwardedFor.join(', ')} (the leftmost entry can be forged)`,
      );
    }
    const backendText = backendReason(backend, ctx.hasInventory);
    if (backendText) reasons.push(backendText);
    const otherCloud = !AWS_SERVICES.has(target.target) && target.target !== 'unknown';
    if (otherCloud) {
      reasons.push(
        backend?.instanceId
          ? `the ${SERVICE_NAMES[target.target]} does not answer on an EC2 instance such as ${backend.instanceId}: the attempt probes for the cloud the application runs on and cannot hand out AWS credentials there`
          : `the ${SERVICE_NAMES[target.target]} is not AWS's: on AWS the attempt probes for the cloud the application runs on; where the application runs on that platform, its credentials are at risk`,
      );
    }
    reasons.push(
      'ATT&CK: exploitation of a public-facing application (T1190) to reach instance metadata credentials (T1552.005)',
    );

    const host = request.host.toLowerCase();
    return {
      // SPEC §2: (client, target service, target instance/address, host); IPv4 and IPv6 IMDS are one service.
      key: [target.target, backend?.address ?? '', host].join('|'),
      subject:
        target.recognisedBy === 'helper'
          ? `helper service ${target.helper?.family ?? ''} ${target.canonical} (no metadata address visible)${host ? ` via ${host}` : ''}`
          : `${SERVICE_NAMES[target.target]} ${target.recognisedBy === 'path' ? 'by its path' : `at ${target.canonical}`}${host ? ` via ${host}` : ''}`,
      confidence:
        target.recognisedBy === 'helper'
          ? 'low'
          : target.recognisedBy === 'path' || target.recognisedBy === 'waf-rule' || (otherCloud && backend?.instanceId)
            ? 'medium'
            : 'high',
      reasons,
      flags,
      accessKeyIds: [],
      regions: [],
    };
  },

  severity({ flags }) {
    if (flags.has('credential-response')) {
      return {
        severity: 'critical',
        reasons: [
          'critical: a credential path was answered 2xx with a body — the credentials were probably handed out',
        ],
      };
    }
    if (flags.has('credential-path')) return { severity: 'high', reasons: ['high: a credential path was requested'] };
    if (flags.has('token-put'))
      return { severity: 'high', reasons: ['high: an IMDSv2 session token was requested with PUT'] };
    if (flags.has('helper-only')) {
      return {
        severity: 'low',
        reasons: [
          'low: a helper service (redirector, rebinding or out-of-band domain) was used but no metadata address is visible',
        ],
      };
    }
    return { severity: 'medium', reasons: [] };
  },

  responseCommands(aggregate) {
    const commands: string[] = [];
    const stolen = aggregate.flags.has('credential-response');
    const target = aggregate.first.verdict.key.split('|')[0] ?? '';
    let unknownBackends = 0;
    for (const backend of [...aggregate.backends.values()].slice(0, 10)) {
      if (backend.instanceId === '') {
        unknownBackends += 1;
        if (backend.address !== '' && unknownBackends <= 3) {
          if (!backend.region && unknownBackends === 1) {
            commands.push('# the region of the application is unknown: replace REGION with the region it runs in');
          }
          commands.push(
            `aws ec2 describe-instances --filters Name=private-ip-address,Values=${shellQuote(backend.address)} ` +
              `--query 'Reservations[].Instances[].[InstanceId,MetadataOptions.HttpTokens,IamInstanceProfile.Arn]' --output text` +
              regionOption(commandRegion(backend.region)),
          );
        }
        continue;
      }
      if (stolen && backend.roleName) {
        commands.push(
          ...instanceResponseCommands({
            roleName: backend.roleName,
            accountId: backend.accountId,
            instanceId: backend.instanceId,
            region: backend.region,
          }),
        );
      } else {
        commands.push(...closePathCommands(backend.instanceId, commandRegion(backend.region)));
      }
    }
    if (aggregate.backends.size === 0 || unknownBackends > 0) {
      commands.push(
        '# require IMDSv2 on the instance(s) serving this application: aws ec2 modify-instance-metadata-options ' +
          '--instance-id INSTANCE_ID --http-tokens required --http-put-response-hop-limit 1 --region REGION',
      );
    }
    if (target === 'aws-ecs' || target === 'aws-eks-pod-identity') {
      commands.push(
        '# container credential endpoint: block 169.254.170.2/169.254.170.23 egress from the application container and rotate the task or pod role sessions',
      );
    }
    const host = [...aggregate.hosts].map(safeHostText).find((h) => h !== '');
    commands.push(
      `# AWS WAF: enable AWSManagedRulesCommonRuleSet (EC2MetaDataSSRF_BODY, _COOKIE, _QUERYARGUMENTS, _URIPATH) on the web ACL in front of ${host ?? 'this application'}, and fix the SSRF (allow-list outbound hosts, deny 169.254.0.0/16 and fd00:ec2::/32)`,
    );
    if (stolen) {
      commands.push('# then look for the stolen keys in use: offbox scan CLOUDTRAIL_PATH --inventory INVENTORY_DIR');
    }
    return commands;
  },

  principal(aggregate): Partial<Finding['principal']> {
    const target = aggregate.first.verdict.key.split('|')[0] ?? '';
    const instances = [...aggregate.backends.values()].filter((b) => b.instanceId !== '');
    const kind = target === 'aws-ecs' ? 'ecs-task' : target === 'aws-eks-pod-identity' ? 'eks-pod-identity' : undefined;
    if (instances.length !== 1) return kind ? { credentialKind: kind } : {};
    const backend = instances[0]!;
    return {
      instanceId: backend.instanceId,
      role: backend.roleName,
      roleArn: backend.roleArn,
      credentialKind: kind ?? (target === 'aws-imds' ? 'ec2-instance' : 'unknown'),
    };
  },
};
