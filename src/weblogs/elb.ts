import { awsTime, canonicalClientIp, dash, emptyRequest, intField } from './fields.js';
import type { WebRequest } from './request.js';
import { splitAddressPort, splitRequestLine, splitTarget, tokenizeQuoted } from './tokenize.js';

// timestamp elb client:port backend:port request_processing_time backend_processing_time
// response_processing_time elb_status_code backend_status_code received_bytes sent_bytes
// "request" "user_agent" ssl_cipher ssl_protocol
const F = { time: 0, client: 2, backend: 3, elbStatus: 7, sentBytes: 10, request: 11, userAgent: 12 } as const;
const MIN_FIELDS = F.request + 1;

/** Reads one Classic Load Balancer access-log line; returns the request or the reason it is not one. */
export function parseElbLine(text: string, file: string, line: number): WebRequest | string {
  const t = tokenizeQuoted(text);
  if (t === undefined) return 'Classic ELB line with an unterminated quoted field';
  if (t.length < MIN_FIELDS) return `Classic ELB line with ${t.length} fields, expected at least ${MIN_FIELDS}`;
  const time = awsTime(t[F.time]!);
  if (Number.isNaN(time.ms)) return 'Classic ELB line whose time does not parse';
  const client = splitAddressPort(t[F.client]!);
  if (client.address === '' || client.port === '') return 'Classic ELB line without a client address:port';
  const status = t[F.elbStatus]!;
  if (!/^(?:[0-9]{3}|-)$/.test(status)) return 'Classic ELB line whose elb_status_code is not a status';

  const request = emptyRequest(file, line, 'elb');
  const rl = splitRequestLine(t[F.request]!);
  const parts = splitTarget(rl.target === '-' ? '' : rl.target);
  request.timeMs = time.ms;
  request.time = time.iso;
  request.clientIp = canonicalClientIp(client.address);
  request.method = rl.method;
  request.url = rl.target === '-' ? '' : rl.target;
  request.host = parts.host;
  request.path = parts.path;
  request.query = parts.query;
  request.fragment = parts.fragment;
  request.userAgent = dash(t[F.userAgent]);
  request.status = intField(status, 0);
  request.bytes = intField(t[F.sentBytes], -1);
  request.bytesIncludeHeaders = true;
  request.targetAddress = dash(t[F.backend]);
  return request;
}
