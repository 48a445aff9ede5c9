/**
 * Logs that are not access logs: application logs, error logs, tracebacks. An SSRF through a
 * POST body never reaches an access log, but the URL the application was told to fetch often
 * lands in the application's own log (`Input: http://169.254.169.254/…`, a traceback, a JSON
 * `url` field) or in the web server's error log.
 *
 * Each line becomes one WebRequest of format `text`. Its `query` holds the URL-like tokens of
 * the line as `name=value` pairs, so the metadata-target canonicaliser judges them with the
 * same context rules as a query string: a URL to the service in any token is a hit; a bare
 * address only under a name that says URL or host (`url=`, `"host":`), or followed by a
 * metadata path; a dotless number or an address in prose never. One line is one request, so
 * a line with several targets is one hit (the most telling one).
 */
import { isUrlParameterName } from './metadata-target.js';
import { canonicalClientIp, emptyRequest, isoOf, MONTHS, parseClfTime, parseIsoTime } from './fields.js';
import type { WebRequest } from './request.js';
import { splitHostPort, splitRequestLine, splitTarget } from './tokenize.js';

/** Most characters of tokens one line hands to the canonicaliser (its own per-value scan limit is 16 KiB). */
const MAX_QUERY_CHARS = 16 * 1024 - 64;
/** Longest single token kept; longer ones are cut (the canonicaliser reads at most 2 KiB of a bare value). */
const MAX_TOKEN_CHARS = 4096;
/** Most parameters kept per line besides the strong ones (URL-named, or with `//`); a line is at most 64 KiB anyway. */
const MAX_PARAMS = 1024;
const MAX_JSON_DEPTH = 8;
/** Where a line's own timestamp may start. */
const TIME_WINDOW = 160;

const NGINX_ERROR =
  /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) \[(?:debug|info|notice|warn|error|crit|alert|emerg)\] \d+#\d+: /;
const APACHE_ERROR =
  /^\[(?:[A-Z][a-z]{2}) ([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? (\d{4})\] \[(?:[\w-]+:)?(?:emerg|alert|crit|error|warn|notice|info|debug|trace\d)\] /;

/** Which web-server error log a line belongs to, from its prefix; undefined for any other line. */
export function sniffErrorLog(text: string): 'nginx-error' | 'apache-error' | undefined {
  if (NGINX_ERROR.test(text)) return 'nginx-error';
  if (APACHE_ERROR.test(text)) return 'apache-error';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Time

function month(name: string): number {
  return MONTHS[name.toLowerCase()] ?? -1;
}

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, frac = ''): number {
  if (mo < 0 || mo > 11 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return Number.NaN;
  return Date.UTC(y, mo, d, h, mi, s, frac === '' ? 0 : Number(frac.slice(0, 3).padEnd(3, '0')));
}

const ISO_IN_TEXT =
  /(?<![\d.])(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2}(?!\d))?/;
const NGINX_TIME = /(?<![\d/])(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?![\d:])/;
const APACHE_TIME = /\[[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? (\d{4})\]/;
const CLF_TIME = /(\d{2}\/[A-Za-z]{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})/;
const SYSLOG_TIME =
  /^(?:<\d{1,3}>)?(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?= )/;

/**
 * Epoch ms of the first recognisable timestamp in `text`: ISO-8601 (also with a space and a
 * comma fraction, as Python and log4j write it), nginx error `2024/05/13 10:41:15`, Apache error
 * `[Mon May 13 10:41:15.123 2024]`, Common Log Format `[13/May/2024:10:41:15 +0000]`, syslog
 * `May 13 10:41:15` at the line's start. A time without a zone is taken as UTC. Syslog has no
 * year: the year of `nowMs`, or the year before when that would put the time more than a day
 * ahead. NaN when there is none.
 */
export function parseLogTime(text: string, nowMs: number): number {
  const head = text.length > TIME_WINDOW ? text.slice(0, TIME_WINDOW) : text;
  const candidates: { at: number; ms: number }[] = [];
  const iso = ISO_IN_TEXT.exec(head);
  if (iso) {
    let ms = utc(+iso[1]!, +iso[2]! - 1, +iso[3]!, +iso[4]!, +iso[5]!, +iso[6]!, iso[7] ?? '');
    const zone = iso[8];
    if (zone && zone !== 'Z') {
      const digits = zone.slice(1).replace(':', '');
      const sign = zone.startsWith('-') ? -1 : 1;
      ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
    }
    candidates.push({ at: iso.index, ms });
  }
  const nginx = NGINX_TIME.exec(head);
  if (nginx)
    candidates.push({
      at: nginx.index,
      ms: utc(+nginx[1]!, +nginx[2]! - 1, +nginx[3]!, +nginx[4]!, +nginx[5]!, +nginx[6]!),
    });
  const apache = APACHE_TIME.exec(head);
  if (apache) {
    candidates.push({
      at: apache.index,
      ms: utc(+apache[7]!, month(apache[1]!), +apache[2]!, +apache[3]!, +apache[4]!, +apache[5]!, apache[6] ?? ''),
    });
  }
  const clf = CLF_TIME.exec(head);
  if (clf) candidates.push({ at: clf.index, ms: parseClfTime(clf[1]!) });
  const syslog = SYSLOG_TIME.exec(head);
  if (syslog) {
    const year = new Date(Number.isFinite(nowMs) ? nowMs : Date.now()).getUTCFullYear();
    const at = (y: number): number =>
      utc(y, month(syslog[1]!), +syslog[2]!, +syslog[3]!, +syslog[4]!, +syslog[5]!, syslog[6] ?? '');
    let ms = at(year);
    if (ms > nowMs + 86_400_000) ms = at(year - 1);
    candidates.push({ at: 0, ms });
  }
  let best = Number.NaN;
  let bestAt = Infinity;
  for (const c of candidates) {
    if (!Number.isNaN(c.ms) && c.at < bestAt) {
      best = c.ms;
      bestAt = c.at;
    }
  }
  return best;
}

/** A JSON time value: ISO or log text, or epoch seconds / milliseconds. */
function jsonTime(value: unknown, nowMs: number): number {
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (value > 1e11 && value < 1e14) return Math.round(value);
    if (value > 1e8 && value < 1e11) return Math.round(value * 1000);
    return Number.NaN;
  }
  if (typeof value !== 'string' || value.length > 64) return Number.NaN;
  const iso = parseIsoTime(value);
  return Number.isNaN(iso) ? parseLogTime(value, nowMs) : iso;
}

// ---------------------------------------------------------------------------------------------
// Client address

const IPV4_IN_TEXT =
  /(?<![\d.])(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?![\d.])/;

/** The first IPv4 address in a value (an X-Forwarded-For chain), else the value as an address without its port. */
function addressIn(value: string): string {
  const v4 = IPV4_IN_TEXT.exec(value);
  if (v4) return v4[0];
  let v = value.trim().replace(/^"|"$/g, '');
  if (v.startsWith('[')) v = splitHostPort(v).host;
  const client = canonicalClientIp(v);
  // An unbracketed IPv6 address with a port cannot be told apart from one without: keep what parses.
  return /^[0-9a-f:.]+$/i.test(client) && client.includes(':') ? client : '';
}

const NGINX_CLIENT = /, client: ([^,\s]+)/;
const APACHE_CLIENT = /\[client ([^\]\s]+)\]/;
const KV_CLIENT =
  /(?:^|[\s,;{(])"?(?:remote_?addr|remote_?ip|client_?ip|client_?addr(?:ess)?|src_?ip|source_?ip|ip)"?\s*[=:]\s*"?([0-9A-Fa-f.:[\]]{3,64})/i;

/** The client address a text line names: nginx `client: …`, Apache `[client …]`, `ip=` / `remote_addr=` / `client_ip:`. */
function textClient(text: string): string {
  const nginx = NGINX_CLIENT.exec(text);
  if (nginx) return addressIn(nginx[1]!);
  const apache = APACHE_CLIENT.exec(text);
  if (apache) {
    const raw = apache[1]!;
    // Apache writes `ip:port`, IPv6 unbracketed (`::1:54321`).
    const v4 = IPV4_IN_TEXT.exec(raw);
    if (v4) return v4[0];
    const whole = canonicalClientIp(raw);
    if (whole !== raw || /^[0-9a-f:]+$/i.test(raw)) {
      const colon = raw.lastIndexOf(':');
      const withoutPort =
        colon > 0 && /^\d{1,5}$/.test(raw.slice(colon + 1)) ? canonicalClientIp(raw.slice(0, colon)) : '';
      return withoutPort.includes(':') ? withoutPort : addressIn(raw);
    }
    return '';
  }
  const kv = KV_CLIENT.exec(text);
  return kv ? addressIn(kv[1]!) : '';
}

/** JSON fields that hold the client, most specific first (names compared without `_`, `-`, case). */
const JSON_CLIENT_KEYS = [
  'remoteaddr',
  'clientip',
  'remoteip',
  'clientaddress',
  'clientaddr',
  'sourceip',
  'srcip',
  'ip',
  'xforwardedfor',
  'httpxforwardedfor',
  'client',
];

// ---------------------------------------------------------------------------------------------
// Tokens

/** Generic names that are URL-ish in a query string but mean a network peer or a word in logs. */
const GENERIC_KEYS =
  /^(?:to|go|out|next|return|continue|source|src|remote|server|origin|forward|site|domain|target|dest|destination|image|img|feed|rss|preview|navigate|cb|hook|u|location)$/i;

/** True when a log field of this name holds a URL or host (`url`, `redirect_uri`, `host`, `upstream`, `endpoint` …). */
export function isUrlFieldName(name: string): boolean {
  return (isUrlParameterName(name) || /^upstream|referr?er$/i.test(name)) && !GENERIC_KEYS.test(name);
}

const CAN_HOLD_ADDRESS = /[.:/%@\\[]/;
const KEY_NAME = /^[A-Za-z_@$][\w.$@-]{0,63}$/;
const DELIMITER = new Set([' ', '\t', ',', '(', ')', '<', '>', '{', '}', '|', '`', '\u00a0']);
const QUOTE = new Set(['"', "'"]);

interface Param {
  name: string;
  value: string;
  /** Named as a URL or host, or written with a scheme or `//`: read first when the line has too many tokens. */
  strong: boolean;
}

class ParamSink {
  readonly params: Param[] = [];

  add(name: string, rawValue: string): void {
    let value = rawValue.trim();
    if (value === '' || value === '-') return;
    if (value.length > MAX_TOKEN_CHARS) value = value.slice(0, MAX_TOKEN_CHARS);
    const urlName = name !== '' && isUrlFieldName(name);
    if (!urlName && !CAN_HOLD_ADDRESS.test(value)) return;
    const strong = urlName || value.includes('//');
    if (!strong && this.params.length >= MAX_PARAMS) return;
    this.params.push({ name: urlName ? name.replace(/[^\w.-]/g, '_') : '', value, strong });
  }

  /** The parameters as one query string for the canonicaliser, strongest first, within its scan limit. */
  query(prefix: string): string {
    const ordered = [...this.params.filter((p) => p.strong), ...this.params.filter((p) => !p.strong)];
    let out = prefix;
    for (const p of ordered) {
      const piece = p.name === '' ? p.value : `${p.name}=${p.value}`;
      if (out.length + piece.length + 1 > MAX_QUERY_CHARS) continue;
      out = out === '' ? piece : `${out}&${piece}`;
    }
    return out;
  }
}

/** Drops sentence punctuation and unbalanced brackets around a free-text token. */
function trimToken(token: string): string {
  let t = trimEnd(token, '.;:!?');
  if (t.startsWith('[') && !t.includes(']')) t = t.slice(1);
  if (t.endsWith(']') && !t.includes('[')) t = t.slice(0, -1);
  return trimEnd(t, '.;:!');
}

/** Drops trailing characters of `chars`; a loop, since `/[…]+$/` is quadratic on long runs of them. */
function trimEnd(text: string, chars: string): string {
  let end = text.length;
  while (end > 0 && chars.includes(text[end - 1]!)) end -= 1;
  return end === text.length ? text : text.slice(0, end);
}

/**
 * Splits free text into tokens and hands them to `sink`: quoted strings whole (and, when they
 * hold spaces, their words too), `key=value` and `key="value"` pairs, `key: value` pairs (the
 * key applies to the next token), and every other token that could hold an address or URL.
 */
function textTokens(text: string, sink: ParamSink, depth = 0): void {
  const n = text.length;
  let i = 0;
  let pendingKey = '';
  while (i < n) {
    const c = text[i]!;
    if (DELIMITER.has(c)) {
      i++;
      continue;
    }
    let token: string;
    let quoted = false;
    if (QUOTE.has(c)) {
      let j = i + 1;
      while (j < n && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      token = text.slice(i + 1, Math.min(j, n));
      quoted = true;
      i = j + 1;
    } else {
      let j = i;
      while (j < n && !DELIMITER.has(text[j]!) && !(QUOTE.has(text[j]!) && text[j - 1] === '=')) j++;
      token = text.slice(i, j);
      i = j;
    }
    const key = pendingKey;
    pendingKey = '';
    if (!quoted) {
      const eq = token.indexOf('=');
      if (eq > 0 && KEY_NAME.test(token.slice(0, eq))) {
        const name = token.slice(0, eq);
        if (eq === token.length - 1 && i < n && QUOTE.has(text[i]!)) {
          pendingKey = name;
          continue;
        }
        sink.add(name, trimToken(token.slice(eq + 1)));
        continue;
      }
      if (token.endsWith(':') && KEY_NAME.test(token.slice(0, -1))) {
        pendingKey = token.slice(0, -1);
        continue;
      }
      sink.add(key, trimToken(token));
      continue;
    }
    sink.add(key, token);
    if (depth < 1 && /\s/.test(token)) textTokens(token, sink, depth + 1);
  }
}

interface JsonFacts {
  clientIp: string;
  timeMs: number;
}

function normalKey(key: string): string {
  return key.toLowerCase().replace(/[-_@.]/g, '');
}

/** Walks a parsed JSON log record: string values become parameters under their field's name. */
function jsonTokens(
  value: unknown,
  key: string,
  sink: ParamSink,
  facts: JsonFacts,
  nowMs: number,
  depth: number,
): void {
  if (depth > MAX_JSON_DEPTH) return;
  if (typeof value === 'string') {
    const k = normalKey(key);
    if (facts.clientIp === '' && JSON_CLIENT_KEYS.includes(k)) facts.clientIp = addressIn(value);
    if (
      Number.isNaN(facts.timeMs) &&
      /^(?:time|timestamp|ts|datetime|date|asctime|timelocal|timeiso8601|eventtime|logtime)$/.test(k)
    ) {
      facts.timeMs = jsonTime(value, nowMs);
    }
    if (/\s/.test(value)) {
      sink.add(key, value);
      textTokens(value, sink, 1);
    } else {
      sink.add(key, value);
    }
    return;
  }
  if (typeof value === 'number') {
    if (Number.isNaN(facts.timeMs) && /^(?:time|timestamp|ts|epoch|eventtime)$/.test(normalKey(key))) {
      facts.timeMs = jsonTime(value, nowMs);
    }
    return;
  }
  if (Array.isArray(value)) {
    for (const element of value) jsonTokens(element, key, sink, facts, nowMs, depth + 1);
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      jsonTokens(v, k, sink, facts, nowMs, depth + 1);
  }
}

/** The JSON object a line holds (whole, or after a timestamp/level prefix), undefined when there is none. */
function jsonOf(text: string): { prefix: string; record: Record<string, unknown> } | undefined {
  const open = text.indexOf('{');
  if (open < 0 || open > TIME_WINDOW) return undefined;
  const close = text.lastIndexOf('}');
  if (close < open) return undefined;
  try {
    const parsed: unknown = JSON.parse(text.slice(open, close + 1));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    return { prefix: text.slice(0, open), record: parsed as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Lines

/** urllib3 (requests, botocore) names host, port and path apart: `HTTPConnectionPool(host='…', port=80): … url: /…`. */
const URLLIB3 =
  /\b(HTTPS?)ConnectionPool\(host='([^']{1,256})', port=(\d{1,5})\): Max retries exceeded with url: (\S{1,2048})/g;

/** The URLs a Python traceback spells out in pieces, whole again. */
function urllib3Urls(text: string, sink: ParamSink): void {
  if (!text.includes('ConnectionPool(')) return;
  URLLIB3.lastIndex = 0;
  for (let m = URLLIB3.exec(text); m !== null; m = URLLIB3.exec(text)) {
    const host = m[2]!.includes(':') && !m[2]!.startsWith('[') ? `[${m[2]!}]` : m[2]!;
    sink.add('url', `${m[1]!.toLowerCase()}://${host}:${m[3]!}${m[4]!}`);
  }
}

/** `, name: "value"` fields nginx appends to error-log lines. */
function nginxField(text: string, name: string): string | undefined {
  const m = new RegExp(`, ${name}: "((?:[^"\\\\]|\\\\.)*)"`).exec(text);
  return m ? m[1]!.replace(/\\(["\\])/g, '$1') : undefined;
}

function fillFromRequestLine(request: WebRequest, line: string): void {
  const rl = splitRequestLine(line);
  request.method = rl.method;
  request.url = rl.target === '-' ? '' : rl.target;
  const parts = splitTarget(request.url);
  request.absoluteForm = parts.absolute;
  if (parts.absolute) request.host = parts.host;
  request.path = parts.path;
  request.query = parts.query;
  request.fragment = parts.fragment;
}

/**
 * Reads one line of any text log as a request of format `text`: its time and client address
 * when the line shows them, and its URL-like tokens in `query`. nginx error-log lines give their
 * request line, Host and referrer as well; Apache error-log lines their client and referer.
 * `nowMs` dates syslog timestamps, which have no year.
 */
export function parseTextLine(text: string, file: string, line: number, nowMs: number): WebRequest {
  const request = emptyRequest(file, line, 'text');
  const sink = new ParamSink();
  let body = text;
  let timeMs = Number.NaN;
  let clientIp = '';

  if (NGINX_ERROR.test(text)) {
    const requestLine = nginxField(text, 'request');
    if (requestLine !== undefined) fillFromRequestLine(request, requestLine);
    const host = nginxField(text, 'host');
    if (host !== undefined && !request.absoluteForm) request.host = splitHostPort(host).host;
    const referrer = nginxField(text, 'referrer');
    if (referrer !== undefined) request.referer = referrer;
    // The message only: the fields after it were read above (the upstream is a URL the server fetched).
    const fields = text.search(/, (?:client|server|request|upstream|host|referrer|subrequest): /);
    body = fields > 0 ? text.slice(0, fields) : text;
    const upstream = nginxField(text, 'upstream');
    if (upstream !== undefined) sink.add('upstream', upstream);
  } else if (APACHE_ERROR.test(text)) {
    const referer = /, referer: (\S+)$/.exec(text);
    if (referer) {
      request.referer = referer[1]!;
      body = text.slice(0, referer.index);
    }
  }

  urllib3Urls(body, sink);
  const json = jsonOf(body);
  if (json) {
    const facts: JsonFacts = { clientIp: '', timeMs: Number.NaN };
    jsonTokens(json.record, '', sink, facts, nowMs, 0);
    textTokens(json.prefix, sink);
    clientIp = facts.clientIp;
    timeMs = facts.timeMs;
  } else {
    textTokens(body, sink);
  }
  if (clientIp === '') clientIp = textClient(text);
  if (Number.isNaN(timeMs)) timeMs = parseLogTime(text, nowMs);

  request.clientIp = clientIp;
  request.timeMs = timeMs;
  request.time = isoOf(timeMs);
  request.query = sink.query(request.query);
  return request;
}
