/**
 * Placing an SSRF payload in the positions a request can carry it (path segment, query value raw and
 * URL-encoded once and twice, fragment, absolute-form request line, Host) in ALB and nginx log lines,
 * reading the lines back and judging them with the detector. Shared by the corpus and held-out tests.
 */
import { Readable } from 'node:stream';
import { imdsSsrfAttempt } from '../detect/imds-ssrf-attempt.js';
import type { WebObservation, WebVerdict } from '../detect/web-types.js';
import type { LogObject } from '../sources/log-object.js';
import { readWebLog } from './read.js';
import type { WebRequest } from './request.js';

const SOURCE = {
  class: 'public' as const,
  ip: '203.0.113.9',
  awsServices: [],
  awsRegion: '',
  awsCidr: '',
  rangeName: '',
  reason: 'test',
};

export function logObject(name: string, text: string): LogObject {
  return { name, size: undefined, open: () => Promise.resolve(Readable.from([Buffer.from(text, 'utf8')])) };
}

export async function requests(name: string, lines: string[]): Promise<Map<number, WebRequest>> {
  const out = new Map<number, WebRequest>();
  for await (const item of readWebLog(logObject(name, `${lines.join('\n')}\n`), { probeLines: 1_000_000 })) {
    if (item.kind === 'request') out.set(item.request.line, item.request);
  }
  return out;
}

/** The detector's verdict on one request (undefined: no finding). */
export function verdictOf(request: WebRequest | undefined): WebVerdict | undefined {
  if (!request) return undefined;
  const observation: WebObservation = { request, source: SOURCE, backend: undefined };
  return imdsSsrfAttempt.evaluate(observation, { hasInventory: false, ipRangesSyncToken: '' });
}

export function detects(request: WebRequest | undefined): boolean {
  return verdictOf(request) !== undefined;
}

/** What a client could put raw into a request target: spaces, quotes, controls and non-ASCII go percent-encoded. */
export function forAlb(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) =>
      b <= 0x20 || b === 0x22 || b >= 0x7f
        ? `%${b.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(b),
    )
    .join('');
}

/** nginx writes `"` and non-printable bytes of $request as \xHH; spaces reach it percent-encoded. */
export function forNginx(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) =>
      b === 0x20
        ? '%20'
        : b < 0x20 || b === 0x22 || b === 0x5c || b >= 0x7f
          ? `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`
          : String.fromCharCode(b),
    )
    .join('');
}

/** The payload as an absolute URL (schemeless payloads get `http://`, `http:X` becomes `http://X`). */
export function absolute(payload: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(payload)) return payload;
  const slashless = /^([a-z][a-z0-9+.-]*):\/?(?!\/)/i.exec(payload);
  if (slashless && /^[a-z]+$/i.test(slashless[1]!)) return `${slashless[1]}://${payload.slice(slashless[0].length)}`;
  return `http://${payload}`;
}

export function authorityAndRest(url: string): { authority: string; rest: string } {
  const start = url.indexOf('://') + 3;
  let end = start;
  while (end < url.length && !'/?#'.includes(url[end]!)) end++;
  const rest = url.slice(end);
  return { authority: url.slice(start, end), rest: rest.startsWith('/') ? rest : `/${rest}` };
}

export const POSITIONS = [
  'path segment',
  'query value',
  'query value, URL-encoded once',
  'query value, URL-encoded twice',
  'fragment',
  'absolute-form request line',
  'Host header (proxy request)',
] as const;
export type Position = (typeof POSITIONS)[number];

export function target(position: Position, payload: string, encode: (s: string) => string): string {
  switch (position) {
    case 'path segment':
      return `/fetch/${encode(payload)}`;
    case 'query value':
      return `/fetch?url=${encode(payload)}`;
    case 'query value, URL-encoded once':
      return `/fetch?url=${encodeURIComponent(payload)}`;
    case 'query value, URL-encoded twice':
      return `/fetch?url=${encodeURIComponent(encodeURIComponent(payload))}`;
    case 'fragment':
      return `/fetch#${encode(payload)}`;
    default:
      return '';
  }
}

export function albLine(requestLine: string): string {
  return (
    `http 2024-05-01T10:00:00.123456Z app/web/50dc6c495c0c9188 203.0.113.9:41234 10.0.1.5:80 0.001 0.002 0.000 200 200 230 1400 ` +
    `"${requestLine}" "curl/8.4.0" - - arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067 ` +
    `"Root=1-66320000-000000000000000000000001" "-" "-" 0 2024-05-01T10:00:00.120000Z "forward" "-" "-" "10.0.1.5:80" "200" "-" "-" TID_0`
  );
}

export function nginxLine(requestLine: string, vhost = ''): string {
  return `${vhost ? `${vhost} ` : ''}203.0.113.9 - - [01/May/2024:10:00:00 +0000] "${requestLine}" 200 1400 "-" "curl/8.4.0"`;
}

export function albRequestLine(position: Position, payload: string): string {
  if (position === 'absolute-form request line') return `GET ${forAlb(absolute(payload))} HTTP/1.1`;
  if (position === 'Host header (proxy request)') {
    const { authority, rest } = authorityAndRest(absolute(payload));
    const withPort = /:\d+$/.test(authority) ? authority : `${authority}:80`;
    return `GET http://${forAlb(withPort)}${forAlb(rest)} HTTP/1.1`;
  }
  return `GET http://app.example.com:80${target(position, payload, forAlb)} HTTP/1.1`;
}

export function nginxRequest(position: Position, payload: string): { requestLine: string; vhost: string } {
  if (position === 'absolute-form request line')
    return { requestLine: `GET ${forNginx(absolute(payload))} HTTP/1.1`, vhost: '' };
  if (position === 'Host header (proxy request)') {
    const { authority, rest } = authorityAndRest(absolute(payload));
    // A Host that cannot be a single log token is not something nginx would log as $host.
    return { requestLine: `GET ${forNginx(rest)} HTTP/1.1`, vhost: forNginx(authority).replace(/\s/g, '') };
  }
  return { requestLine: `GET ${target(position, payload, forNginx)} HTTP/1.1`, vhost: 'app.example.com' };
}

/** One payload placed in one position of one log format, and the request read back from that line. */
export interface Placed<T> {
  payload: T;
  position: Position;
  format: 'alb' | 'nginx';
  request: WebRequest | undefined;
}

/** Places every payload in every position of an ALB and an nginx log (`name`-alb.log, `name`-nginx.log) and reads them back. */
export async function placeEverywhere<T>(
  name: string,
  payloads: readonly T[],
  textOf: (payload: T) => string,
): Promise<Placed<T>[]> {
  const alb: string[] = [];
  const nginx: string[] = [];
  const lines: { payload: T; position: Position; format: 'alb' | 'nginx'; line: number }[] = [];
  for (const payload of payloads) {
    for (const position of POSITIONS) {
      alb.push(albLine(albRequestLine(position, textOf(payload))));
      lines.push({ payload, position, format: 'alb', line: alb.length });
      const { requestLine, vhost } = nginxRequest(position, textOf(payload));
      nginx.push(nginxLine(requestLine, vhost));
      lines.push({ payload, position, format: 'nginx', line: nginx.length });
    }
  }
  const read = { alb: await requests(`${name}-alb.log`, alb), nginx: await requests(`${name}-nginx.log`, nginx) };
  return lines.map(({ line, ...p }) => ({ ...p, request: read[p.format].get(line) }));
}
