import { parseIp } from '../net/ip.js';
import { canonicalClientIp, dash, emptyRequest, intField, isoOf, parseClfTime } from './fields.js';
import type { WebRequest } from './request.js';
import { splitHostPort, splitRequestLine, splitTarget, tokenizeQuoted } from './tokenize.js';

const TIME = /\[(\d{2}\/[A-Za-z]{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]/;

/** Groups of address tokens: `a, b, c` (X-Forwarded-For written unquoted) is one group. */
function addressGroups(tokens: string[]): string[] {
  const groups: string[] = [];
  let current = '';
  for (const token of tokens) {
    current = current === '' ? token : `${current} ${token}`;
    if (!current.endsWith(',')) {
      groups.push(current);
      current = '';
    }
  }
  if (current !== '') groups.push(current);
  return groups;
}

function chain(group: string): string[] {
  return group
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '-');
}

/**
 * Reads one nginx/Apache combined (or common) log line, with the variants seen in real
 * configurations: a vhost before the client (`vhost_combined`, `$host $remote_addr …`), an
 * X-Forwarded-For chain in place of or before the client address (quoted or not), missing
 * referer/user agent (common format) and extra trailing fields. Absolute-form and CONNECT
 * request targets (proxy requests) set `absoluteForm` and take the host from the target.
 */
export function parseCombinedLine(text: string, file: string, line: number): WebRequest | string {
  const m = TIME.exec(text);
  if (!m) return 'combined log line without a [dd/Mon/yyyy:hh:mm:ss +zone] time';
  const prefix = tokenizeQuoted(text.slice(0, m.index));
  if (prefix === undefined || prefix.length < 3) return 'combined log line without client, ident and user fields';
  const groups = addressGroups(prefix.slice(0, -2));
  let vhost = '';
  let clientGroup: string;
  let remote = '';
  if (groups.length === 1) {
    clientGroup = groups[0]!;
  } else if (groups.length === 2) {
    if (isForwardedChain(groups[0]!)) {
      clientGroup = groups[0]!;
      remote = groups[1]!;
    } else {
      vhost = groups[0]!;
      clientGroup = groups[1]!;
    }
  } else if (groups.length === 3) {
    vhost = groups[0]!;
    clientGroup = groups[1]!;
    remote = groups[2]!;
  } else {
    return 'combined log line with too many fields before the time';
  }
  const forwarded = chain(clientGroup);
  const client = forwarded[0] ?? clientGroup;

  const rest = tokenizeQuoted(text, m.index + m[0].length);
  if (rest === undefined) return 'combined log line with an unterminated quoted field';
  if (rest.length < 3) return 'combined log line without request, status and bytes';
  const status = rest[1]!;
  if (!/^(?:[0-9]{3}|-)$/.test(status)) return 'combined log line whose status is not a status';

  const timeMs = parseClfTime(m[1]!);
  const request = emptyRequest(file, line, 'combined');
  request.timeMs = timeMs;
  request.time = isoOf(timeMs);
  request.clientIp = canonicalClientIp(client);
  request.forwardedFor = forwarded.length > 1 || remote !== '' ? [...forwarded, ...chain(remote)] : [];
  const rl = splitRequestLine(rest[0]!);
  request.method = rl.method;
  request.url = rl.target === '-' ? '' : rl.target;
  if (rl.method.toUpperCase() === 'CONNECT') {
    request.host = splitHostPort(rl.target).host;
    request.absoluteForm = true;
  } else {
    const parts = splitTarget(request.url);
    request.absoluteForm = parts.absolute;
    request.host = parts.absolute ? parts.host : splitHostPort(vhost).host;
    request.path = parts.path;
    request.query = parts.query;
    request.fragment = parts.fragment;
  }
  request.status = intField(status, 0);
  request.bytes = intField(rest[2], status === '-' ? -1 : 0);
  request.referer = dash(rest[3]);
  request.userAgent = dash(rest[4]);
  return request;
}

/**
 * An X-Forwarded-For chain logged before the client (`203.0.113.9, 10.0.0.2`): every entry an address
 * (or `unknown`). A vhost may hold a comma too — a Host of `a,b@169.254.169.254` is a parser-confusion
 * payload, not a chain — so a comma alone does not decide.
 */
function isForwardedChain(group: string): boolean {
  if (!group.includes(',')) return false;
  return chain(group).every(
    (e) => e.toLowerCase() === 'unknown' || parseIp(e.replace(/^\[|\](?::\d+)?$/g, '')) !== undefined,
  );
}
