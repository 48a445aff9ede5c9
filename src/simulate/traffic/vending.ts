/**
 * Credential-vending records: sts:AssumeRole by a service for a workload (EC2, ECS, Lambda,
 * EKS Pod Identity), by an ordinary caller (role chaining, cross-account deploys, a spoofed
 * session name), AssumeRoleWithWebIdentity (GitHub OIDC, IRSA) and AssumeRoleWithSAML (SSO).
 */
import type { Cred } from '../credentials.js';
import { sessionToken } from '../ids.js';
import type { Rng } from '../prng.js';
import { j, q, type EventSpec } from '../record.js';
import { stsExpiration } from '../time.js';
import { serviceIdentity } from '../credentials.js';

function credentialsJson(cred: Cred, rng: Rng): string {
  return `"credentials":{"accessKeyId":"${cred.keyId}","sessionToken":"${sessionToken(rng, rng.intIn(680, 1050))}","expiration":"${stsExpiration(cred.expires)}"}`;
}

function assumedRoleUser(cred: Cred): string {
  const role = cred.role!;
  return `"assumedRoleUser":{"assumedRoleId":${q(`${role.id}:${cred.session}`)},"arn":${q(`arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${cred.session}`)}}`;
}

function roleResource(cred: Cred): string {
  const role = cred.role!;
  return `[{"accountId":"${role.accountId}","type":"AWS::IAM::Role","ARN":"${role.arn}"}]`;
}

/** A service hands a workload its role credentials (the record offbox's vending index reads). */
export function serviceVending(
  cred: Cred,
  service: string,
  region: string,
  rng: Rng,
  extra: { tags?: { key: string; value: string }[] } = {},
): EventSpec {
  const role = cred.role!;
  let request = `{"roleArn":"${role.arn}","roleSessionName":${q(cred.session)}`;
  if (extra.tags) request += `,"tags":${j(extra.tags)},"transitiveTagKeys":${j(extra.tags.map((t) => t.key))}`;
  request += '}';
  const withUser = service !== 'ec2.amazonaws.com';
  return {
    time: cred.issued,
    account: role.accountId,
    region,
    identity: serviceIdentity(service),
    source: 'sts.amazonaws.com',
    name: 'AssumeRole',
    ip: service,
    userAgent: service,
    request,
    response: `{${credentialsJson(cred, rng)}${withUser ? `,${assumedRoleUser(cred)}` : ''}}`,
    readOnly: true,
    resources: roleResource(cred),
    sharedEventId: rng.uuid(),
  };
}

/** An ordinary sts:AssumeRole by a principal (its identity and source given), returning `cred`. */
export function callerAssumeRole(
  cred: Cred,
  caller: { identity: string; ip: string; userAgent: string; region: string; vpce?: string; vpceAccount?: string },
  recipient: string,
  rng: Rng,
  extra: { sharedEventId?: string; eventId?: string; durationSeconds?: number } = {},
): EventSpec {
  const role = cred.role!;
  const spec: EventSpec = {
    time: cred.issued,
    account: recipient,
    region: caller.region,
    identity: caller.identity,
    source: 'sts.amazonaws.com',
    name: 'AssumeRole',
    ip: caller.ip,
    userAgent: caller.userAgent,
    request: `{"roleArn":"${role.arn}","roleSessionName":${q(cred.session)}${extra.durationSeconds ? `,"durationSeconds":${extra.durationSeconds}` : ''}}`,
    response: `{${credentialsJson(cred, rng)},${assumedRoleUser(cred)}}`,
    readOnly: true,
    resources: roleResource(cred),
    tlsHost: `sts.${caller.region}.amazonaws.com`,
  };
  if (caller.vpce) {
    spec.vpcEndpointId = caller.vpce;
    if (caller.vpceAccount && rng.chance(0.5)) {
      spec.version = '1.09';
      spec.vpcEndpointAccountId = caller.vpceAccount;
    }
  }
  if (extra.sharedEventId) spec.sharedEventId = extra.sharedEventId;
  if (extra.eventId) spec.eventId = extra.eventId;
  return spec;
}

/** AssumeRoleWithWebIdentity (GitHub Actions OIDC, EKS IRSA). */
export function webIdentityVending(
  cred: Cred,
  provider: { arn: string; host: string; subject: string; audience: string },
  ip: string,
  userAgent: string,
  region: string,
  rng: Rng,
): EventSpec {
  const role = cred.role!;
  return {
    time: cred.issued,
    account: role.accountId,
    region,
    identity: `{"type":"WebIdentityUser","principalId":${q(`${provider.arn}:${provider.audience}:${provider.subject}`)},"userName":${q(provider.subject)},"identityProvider":${q(provider.arn)}}`,
    source: 'sts.amazonaws.com',
    name: 'AssumeRoleWithWebIdentity',
    ip,
    userAgent,
    request: `{"roleArn":"${role.arn}","roleSessionName":${q(cred.session)},"durationSeconds":3600}`,
    response: `{${credentialsJson(cred, rng)},"subjectFromWebIdentityToken":${q(provider.subject)},${assumedRoleUser(cred)},"provider":${q(provider.arn)},"audience":${q(provider.audience)}}`,
    readOnly: true,
    resources: roleResource(cred),
    tlsHost: `sts.${region}.amazonaws.com`,
  };
}

/** AssumeRoleWithSAML made by IAM Identity Center for a user's permission set. */
export function samlVending(
  cred: Cred,
  user: string,
  samlProviderArn: string,
  serviceIp: string,
  userAgent: string,
  rng: Rng,
): EventSpec {
  const role = cred.role!;
  const qualifier = `${rng.base64(27)}=`;
  return {
    time: cred.issued,
    account: role.accountId,
    region: 'us-east-1',
    identity: `{"type":"SAMLUser","principalId":${q(`${qualifier}:${user}`)},"userName":${q(user)},"identityProvider":${q(qualifier)}}`,
    source: 'sts.amazonaws.com',
    name: 'AssumeRoleWithSAML',
    ip: serviceIp,
    userAgent,
    request: `{"sAMLAssertionID":"_${rng.uuid()}","roleSessionName":${q(user)},"durationSeconds":"${Math.round((cred.expires - cred.issued) / 1000)}","roleArn":"${role.arn}","principalArn":"${samlProviderArn}"}`,
    response: `{"subjectType":"persistent","issuer":"https://portal.sso.us-east-1.amazonaws.com/saml/assertion/${rng.base64(48).replace(/[+/]/g, 'A')}",${credentialsJson(cred, rng)},"nameQualifier":${q(qualifier)},${assumedRoleUser(cred)},"subject":${q(user)},"audience":"https://signin.aws.amazon.com/saml"}`,
    readOnly: true,
    resources: `[{"accountId":"${role.accountId}","type":"AWS::IAM::Role","ARN":"${role.arn}"},{"accountId":"${role.accountId}","type":"AWS::IAM::SAMLProvider","ARN":"${samlProviderArn}"}]`,
  };
}
