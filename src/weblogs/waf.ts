import { canonicalClientIp, emptyRequest, isoOf } from './fields.js';
import type { WebRequest } from './request.js';
import { splitHostPort } from './tokenize.js';

function str(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

function obj(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Rule ids and labels that matched: terminating, non-terminating, inside rule groups, rate-based, labels. */
function matchedRules(log: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const add = (value: unknown): void => {
    const s = str(value);
    if (s !== '' && s !== 'Default_Action') out.add(s);
  };
  add(log['terminatingRuleId']);
  for (const rule of arr(log['nonTerminatingMatchingRules'])) add(obj(rule)?.['ruleId']);
  for (const group of arr(log['ruleGroupList'])) {
    const g = obj(group);
    if (!g) continue;
    add(obj(g['terminatingRule'])?.['ruleId']);
    for (const rule of arr(g['nonTerminatingMatchingRules'])) add(obj(rule)?.['ruleId']);
  }
  for (const label of arr(log['labels'])) add(obj(label)?.['name']);
  return [...out];
}

/**
 * Reads one AWS WAF log record (one JSON object per line). The body is never logged by WAF;
 * headers (Host, Referer, User-Agent …), the URI, the raw query (`args`), the action and the
 * matching rules and labels are.
 */
export function parseWafLine(text: string, file: string, line: number): WebRequest | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'WAF line that is not valid JSON';
  }
  const log = obj(parsed);
  const http = obj(log?.['httpRequest']);
  if (!log || !http) return 'WAF record without httpRequest';
  const request = emptyRequest(file, line, 'waf');
  const timestamp = log['timestamp'];
  const timeMs = typeof timestamp === 'number' ? timestamp : Number.NaN;
  request.timeMs = timeMs;
  request.time = isoOf(timeMs);
  if (request.time === '') request.timeMs = Number.NaN;
  request.clientIp = canonicalClientIp(str(http['clientIp']));
  request.method = str(http['httpMethod']);
  const headers: [string, string][] = [];
  for (const header of arr(http['headers'])) {
    const h = obj(header);
    if (h) headers.push([str(h['name']), str(h['value'])]);
  }
  request.headers = headers;
  const header = (name: string): string => headers.find(([n]) => n.toLowerCase() === name)?.[1] ?? '';
  request.path = str(http['uri']);
  request.query = str(http['args']);
  request.fragment = str(http['fragment']);
  request.url = request.query === '' ? request.path : `${request.path}?${request.query}`;
  request.host = splitHostPort(str(http['host']) || header('host')).host;
  request.userAgent = header('user-agent');
  request.referer = header('referer');
  request.requestId = str(http['requestId']);
  request.action = str(log['action']);
  request.wafRules = matchedRules(log);
  const sent = log['responseCodeSent'];
  request.status = typeof sent === 'number' ? sent : request.action === 'BLOCK' ? 403 : 0;
  const xff = header('x-forwarded-for');
  request.forwardedFor =
    xff === ''
      ? []
      : xff
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  return request;
}
