import { awsTime, canonicalClientIp, dash, emptyRequest, intField } from './fields.js';
import type { WebRequest } from './request.js';
import { splitAddressPort, splitRequestLine, splitTarget, tokenizeQuoted } from './tokenize.js';

/** The `type` values that start an ALB access-log line. */
export const ALB_TYPES: ReadonlySet<string> = new Set(['http', 'https', 'h2', 'grpcs', 'ws', 'wss']);

// Field positions (0-based) from the AWS "Access log entries" page for ALB.
const F = {
  type: 0,
  time: 1,
  client: 3,
  target: 4,
  elbStatus: 8,
  sentBytes: 11,
  request: 12,
  userAgent: 13,
  traceId: 17,
  actions: 22,
} as const;
/** Fields up to and including "request"; everything after is optional (older files stop at 25, 27, 29 …). */
const MIN_FIELDS = F.request + 1;
const READ_FIELDS = F.actions + 1;
const KEEP = new Uint8Array(READ_FIELDS);
for (const i of Object.values(F)) KEEP[i] = 1;

/**
 * Reads one ALB access-log line: all fields, quote-aware, extra trailing fields ignored
 * (AWS may append fields at any time). Returns the request, or the reason it is not one.
 */
export function parseAlbLine(text: string, file: string, line: number): WebRequest | string {
  const t = tokenizeQuoted(text, 0, READ_FIELDS, KEEP);
  if (t === undefined) return 'ALB line with an unterminated quoted field';
  if (t.length < MIN_FIELDS) return `ALB line with ${t.length} fields, expected at least ${MIN_FIELDS}`;
  if (!ALB_TYPES.has(t[F.type]!)) return 'ALB line with an unknown request type';
  const time = awsTime(t[F.time]!);
  if (Number.isNaN(time.ms)) return 'ALB line whose time does not parse';
  const client = splitAddressPort(t[F.client]!);
  if (client.address === '') return 'ALB line without a client address';
  const status = t[F.elbStatus]!;
  if (!/^(?:[0-9]{3}|-)$/.test(status)) return 'ALB line whose elb_status_code is not a status';

  const request = emptyRequest(file, line, 'alb');
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
  // ALB always logs absolute-form; the authority is the Host header unless the client sent an absolute target.
  request.absoluteForm = false;
  request.userAgent = dash(t[F.userAgent]);
  request.status = intField(status, 0);
  request.bytes = intField(t[F.sentBytes], -1);
  request.bytesIncludeHeaders = true;
  request.targetAddress = dash(t[F.target]);
  request.requestId = dash(t[F.traceId]);
  request.action = dash(t[F.actions]);
  return request;
}
