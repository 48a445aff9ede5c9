import { formatIp, parseIp, unmapIpv4 } from '../net/ip.js';
import type { WebLogFormat, WebRequest } from './request.js';

/** Canonical text of an address (IPv4-mapped IPv6 unwrapped); the raw value when it is not one. */
export function canonicalClientIp(text: string): string {
  if (text === '-' || text === '') return '';
  const parsed = parseIp(text.trim());
  return parsed ? formatIp(unmapIpv4(parsed)) : text;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

/** Epoch ms of an ISO-8601 time; a time without zone is UTC (AWS logs are). NaN when it does not parse. */
export function parseIsoTime(text: string): number {
  const m = ISO.exec(text);
  if (!m) return Number.NaN;
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  let t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms);
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return t;
}

/** Month abbreviations (lower-case) → 0-based month, as CLF, syslog and error logs write them. */
export const MONTHS: Readonly<Record<string, number>> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

const CLF = /^(\d{2})\/([A-Za-z]{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

/** Epoch ms of a Common Log Format time (`07/Dec/2016:11:05:07 +0100`); NaN when it does not parse. */
export function parseClfTime(text: string): number {
  const m = CLF.exec(text);
  if (!m) return Number.NaN;
  const month = MONTHS[m[2]!.toLowerCase()];
  if (month === undefined) return Number.NaN;
  const t = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const offset = (Number(m[8]) * 60 + Number(m[9])) * 60_000;
  return m[7] === '-' ? t + offset : t - offset;
}

let lastSecondText = '';
let lastSecondMs = Number.NaN;

/**
 * Epoch ms and normalised ISO text of an AWS log time (`2018-07-02T22:23:00.186641Z`). Lines
 * of one file share their second, so the calendar work is done once per second.
 */
export function awsTime(text: string): { ms: number; iso: string } {
  if (
    text.length >= 20 &&
    text.charCodeAt(19) === 46 &&
    text.endsWith('Z') &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{1,9}Z$/.test(text)
  ) {
    const second = text.slice(0, 19);
    if (second !== lastSecondText) {
      lastSecondMs = parseIsoTime(`${second}Z`);
      lastSecondText = second;
    }
    if (!Number.isNaN(lastSecondMs)) {
      const frac = text.slice(20, -1);
      const ms = Number(frac.slice(0, 3).padEnd(3, '0'));
      return { ms: lastSecondMs + ms, iso: `${second}.${frac.slice(0, 3).padEnd(3, '0')}Z` };
    }
  }
  const ms = parseIsoTime(text);
  return { ms, iso: isoOf(ms) };
}

/** ISO text of an epoch time, '' for NaN or out of range. */
export function isoOf(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** A non-negative integer field; `fallback` for `-` or anything else. */
export function intField(text: string | undefined, fallback: number): number {
  if (text === undefined || !/^[0-9]{1,15}$/.test(text)) return fallback;
  return Number(text);
}

/** `-` (the logs' "absent") as ''. */
export function dash(text: string | undefined): string {
  return text === undefined || text === '-' ? '' : text;
}

/** A request with every field at its "unknown" value, to be filled by a reader. */
export function emptyRequest(file: string, line: number, format: WebLogFormat): WebRequest {
  return {
    file,
    line,
    time: '',
    timeMs: Number.NaN,
    clientIp: '',
    method: '',
    url: '',
    host: '',
    path: '',
    query: '',
    fragment: '',
    userAgent: '',
    referer: '',
    status: 0,
    bytes: -1,
    bytesIncludeHeaders: false,
    targetAddress: '',
    format,
    headers: [],
    requestId: '',
    action: '',
    wafRules: [],
    forwardedFor: [],
    absoluteForm: false,
  };
}
