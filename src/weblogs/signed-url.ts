/**
 * Finds AWS requests signed with a temporary (ASIA…) access key inside a web request:
 * SigV4 pre-signed query strings (`X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIA…`),
 * SigV2 query signatures (`AWSAccessKeyId=ASIA…&Signature=…`) and SigV4/SigV2 Authorization
 * headers, in any encoding. Someone relaying signed requests through the application is
 * handling a session credential that should never leave the workload that holds it.
 */
import { decodeLayers, mayBeEncoded, type DecodingStep } from './decode.js';
import type { TargetWhere } from './metadata-target.js';
import type { WebRequest } from './request.js';

/** One signed AWS request found inside a web request. */
export interface SignedAwsRequest {
  accessKeyId: string;
  signatureVersion: 'SigV4' | 'SigV2';
  /** Credential scope (SigV4 only; '' otherwise). */
  date: string;
  region: string;
  service: string;
  /** True when the session token travels with it (X-Amz-Security-Token): the credential itself is exposed. */
  hasSessionToken: boolean;
  /** The `Action=` of an AWS query API call ('' when none). */
  action: string;
  /** Host of the signed URL when it is visible (`sts.amazonaws.com`), '' otherwise. */
  signedHost: string;
  where: TargetWhere;
  decodedLayers: number;
  decodings: DecodingStep[][];
  /** The decoded text around the key (untrusted, at most 200 characters). */
  evidence: string;
}

const TEMPORARY_KEY = /ASIA[A-Z0-9]{16}/;
const V4_CREDENTIAL = /x-amz-credential=([^&\s#"']{0,200})/gi;
const V4_SCOPE = /^(ASIA[A-Z0-9]{16})\/(\d{8})\/([a-z0-9-]{1,32})\/([a-z0-9-]{1,64})\/aws4_request/;
const V4_MARKER = /x-amz-(?:algorithm=aws4-hmac-sha256|signature=)/i;
const V2_KEY = /awsaccesskeyid=(ASIA[A-Z0-9]{16})(?![A-Z0-9])/gi;
const V2_MARKER = /(?:^|[?&;])signature=/i;
const V4_HEADER =
  /AWS4-HMAC-SHA256\s+Credential=(ASIA[A-Z0-9]{16})\/(\d{8})\/([a-z0-9-]{1,32})\/([a-z0-9-]{1,64})\/aws4_request/;
const V2_HEADER = /^AWS\s+(ASIA[A-Z0-9]{16}):/;
const SESSION_TOKEN = /x-amz-security-token[=:]|securitytoken=/i;
const ACTION = /(?:^|[?&;])action=([A-Za-z0-9]{1,64})/i;

function signedHostBefore(text: string, at: number): string {
  const before = text.slice(Math.max(0, at - 2048), at);
  const urls = [...before.matchAll(/https?:\/\/([^/?#\s"'<>@]+@)?([^/?#\s"'<>:]+)/gi)];
  return urls.at(-1)?.[2]?.toLowerCase() ?? '';
}

function inText(text: string): Omit<SignedAwsRequest, 'where' | 'decodedLayers' | 'decodings'> | undefined {
  if (!TEMPORARY_KEY.test(text)) return undefined;
  const common = (at: number) => ({
    hasSessionToken: SESSION_TOKEN.test(text),
    action: ACTION.exec(text)?.[1] ?? '',
    signedHost: signedHostBefore(text, at),
    evidence: text.slice(Math.max(0, at - 60), Math.max(0, at - 60) + 200),
  });
  if (V4_MARKER.test(text)) {
    V4_CREDENTIAL.lastIndex = 0;
    for (let m = V4_CREDENTIAL.exec(text); m !== null; m = V4_CREDENTIAL.exec(text)) {
      const value = m[1]!.replace(/%2f/gi, '/');
      const scope = V4_SCOPE.exec(value);
      if (scope) {
        return {
          accessKeyId: scope[1]!,
          signatureVersion: 'SigV4',
          date: scope[2]!,
          region: scope[3]!,
          service: scope[4]!,
          ...common(m.index),
        };
      }
    }
  }
  const header = V4_HEADER.exec(text);
  if (header) {
    return {
      accessKeyId: header[1]!,
      signatureVersion: 'SigV4',
      date: header[2]!,
      region: header[3]!,
      service: header[4]!,
      ...common(header.index),
    };
  }
  if (V2_MARKER.test(text)) {
    V2_KEY.lastIndex = 0;
    const m = V2_KEY.exec(text);
    if (m)
      return { accessKeyId: m[1]!, signatureVersion: 'SigV2', date: '', region: '', service: '', ...common(m.index) };
  }
  const v2 = V2_HEADER.exec(text);
  if (v2) return { accessKeyId: v2[1]!, signatureVersion: 'SigV2', date: '', region: '', service: '', ...common(0) };
  return undefined;
}

function scan(text: string, where: TargetWhere): SignedAwsRequest | undefined {
  if (text === '') return undefined;
  const bounded = text.length > 16384 ? text.slice(0, 16384) : text;
  const { layers, steps } = mayBeEncoded(bounded) ? decodeLayers(bounded) : { layers: [bounded], steps: [] };
  for (let layer = 0; layer < layers.length; layer++) {
    const hit = inText(layers[layer]!);
    if (hit) return { ...hit, where, decodedLayers: layer, decodings: steps.slice(0, layer) };
  }
  return undefined;
}

/** Necessary condition for a hit: `ASIA` literally, or something decoding could turn into it. */
function mayCarryTemporaryKey(text: string): boolean {
  return text.includes('ASIA') || mayBeEncoded(text);
}

/** The first request signed with a temporary AWS key carried anywhere in `request`, or undefined. */
export function findSignedAwsRequest(request: WebRequest): SignedAwsRequest | undefined {
  const parts: [string, TargetWhere][] = [
    [request.query, 'query'],
    [request.path, 'path'],
    [request.fragment, 'fragment'],
    [request.referer, 'header'],
  ];
  for (const [name, value] of request.headers) {
    if (name.toLowerCase() !== 'referer') parts.push([value, 'header']);
  }
  for (const [text, where] of parts) {
    if (text === '' || !mayCarryTemporaryKey(text)) continue;
    const hit = scan(text, where);
    if (hit) return hit;
  }
  return undefined;
}
