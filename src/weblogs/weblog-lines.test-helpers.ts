/** Builders of realistic log lines and in-memory log objects for the web-tier tests. */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { LogObject } from '../sources/log-object.js';

export interface AlbLineOptions {
  time?: string;
  client?: string;
  target?: string;
  method?: string;
  /** Absolute URL as ALB logs it. */
  url?: string;
  status?: number;
  bytes?: number;
  userAgent?: string;
  traceId?: string;
}

/** One ALB access-log line with the 2024 field set. */
export function albLine(o: AlbLineOptions = {}): string {
  const time = o.time ?? '2024-05-01T10:00:00.123456Z';
  const target = o.target ?? '10.0.1.5:80';
  const status = o.status ?? 200;
  return (
    `https ${time} app/web/50dc6c495c0c9188 ${o.client ?? '81.2.69.143:41234'} ${target} 0.001 0.002 0.000 ${status} ${status} 230 ${o.bytes ?? 1400} ` +
    `"${o.method ?? 'GET'} ${o.url ?? 'https://app.example.com:443/'} HTTP/1.1" "${o.userAgent ?? 'curl/8.4.0'}" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 ` +
    `arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/73e2d6bc24d8a067 "${o.traceId ?? 'Root=1-66320000-000000000000000000000001'}" ` +
    `"app.example.com" "arn:aws:acm:us-east-1:111122223333:certificate/12345678-1234-1234-1234-123456789012" 1 ${time} "forward" "-" "-" "${target}" "${status}" "-" "-" TID_01`
  );
}

/** One nginx combined line. */
export function nginxLine(o: {
  client?: string;
  request: string;
  status?: number;
  bytes?: number;
  vhost?: string;
  time?: string;
  referer?: string;
}): string {
  return `${o.vhost ? `${o.vhost} ` : ''}${o.client ?? '81.2.69.143'} - - [${o.time ?? '01/May/2024:10:00:00 +0000'}] "${o.request}" ${o.status ?? 200} ${o.bytes ?? 1400} "${o.referer ?? '-'}" "curl/8.4.0"`;
}

/** One AWS WAF record. */
export function wafLine(o: {
  uri: string;
  args?: string;
  headers?: [string, string][];
  action?: string;
  labels?: string[];
  method?: string;
  client?: string;
}): string {
  return JSON.stringify({
    timestamp: Date.UTC(2024, 4, 1, 10, 0, 0),
    formatVersion: 1,
    webaclId: 'arn:aws:wafv2:us-east-1:111122223333:regional/webacl/web/1',
    terminatingRuleId: 'Default_Action',
    terminatingRuleType: 'REGULAR',
    action: o.action ?? 'ALLOW',
    terminatingRuleMatchDetails: [],
    httpSourceName: 'ALB',
    httpSourceId: 'alb',
    ruleGroupList: [],
    rateBasedRuleList: [],
    nonTerminatingMatchingRules: [],
    httpRequest: {
      clientIp: o.client ?? '81.2.69.143',
      country: 'GB',
      headers: (o.headers ?? [['Host', 'app.example.com']]).map(([name, value]) => ({ name, value })),
      uri: o.uri,
      args: o.args ?? '',
      httpVersion: 'HTTP/1.1',
      httpMethod: o.method ?? 'GET',
      requestId: 'req-1',
    },
    labels: (o.labels ?? []).map((name) => ({ name })),
  });
}

/** An in-memory log object; gzip when asked. */
export function memoryLog(name: string, lines: string[], gzip = false): LogObject {
  const text = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
  const bytes = gzip ? gzipSync(text) : text;
  return { name, size: bytes.length, open: () => Promise.resolve(Readable.from([bytes])) };
}

/** An async iterable over log objects. */
export async function* logObjects(...objects: LogObject[]): AsyncGenerator<LogObject> {
  yield* objects;
}
