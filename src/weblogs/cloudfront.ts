import { canonicalClientIp, dash, emptyRequest, intField, isoOf, parseIsoTime } from './fields.js';
import type { WebRequest } from './request.js';

/** The 33 fields of a CloudFront standard log, in AWS's order (used when a file has no `#Fields` line). */
export const CLOUDFRONT_DEFAULT_FIELDS: readonly string[] = Object.freeze(
  (
    'date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) ' +
    'cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken ' +
    'x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status ' +
    'fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len ' +
    'sc-range-start sc-range-end'
  ).split(' '),
);

/** The field names of a `#Fields:` header line, or undefined when the line is not one. */
export function parseCloudFrontFields(text: string): string[] | undefined {
  const m = /^#Fields:\s*(.*)$/.exec(text);
  if (!m) return undefined;
  return m[1]!
    .trim()
    .split(/\s+/)
    .filter((f) => f !== '');
}

function decodeOnce(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
}

/**
 * Reads one tab-separated CloudFront standard-log line with the field order of the file's
 * `#Fields` header. Trailing fields may be missing (older files, truncated lines); the
 * request needs at least date, time, c-ip and cs-uri-stem. The user agent is URL-decoded once
 * (CloudFront encodes it); path and query stay as logged.
 */
export function parseCloudFrontLine(
  text: string,
  file: string,
  line: number,
  fields: readonly string[] = CLOUDFRONT_DEFAULT_FIELDS,
): WebRequest | string {
  const values = text.split('\t');
  const at = (name: string): string | undefined => {
    const i = fields.indexOf(name);
    return i >= 0 ? values[i] : undefined;
  };
  const date = at('date');
  const time = at('time');
  const stem = at('cs-uri-stem');
  const clientIp = at('c-ip');
  if (date === undefined || time === undefined || stem === undefined || clientIp === undefined) {
    return `CloudFront line with ${values.length} fields: date, time, c-ip or cs-uri-stem missing`;
  }
  const timeMs = parseIsoTime(`${date}T${time}Z`);
  if (Number.isNaN(timeMs)) return 'CloudFront line whose date and time do not parse';

  const request = emptyRequest(file, line, 'cloudfront');
  const query = dash(at('cs-uri-query'));
  request.timeMs = timeMs;
  request.time = isoOf(timeMs);
  request.clientIp = canonicalClientIp(clientIp);
  request.method = dash(at('cs-method'));
  request.path = stem;
  request.query = query;
  request.url = query === '' ? stem : `${stem}?${query}`;
  request.host = dash(at('x-host-header')) || dash(at('cs(Host)'));
  request.userAgent = decodeOnce(dash(at('cs(User-Agent)')));
  request.referer = dash(at('cs(Referer)'));
  request.status = intField(at('sc-status'), 0);
  const contentLength = intField(at('sc-content-len'), -1);
  if (contentLength >= 0) {
    request.bytes = contentLength;
  } else {
    request.bytes = intField(at('sc-bytes'), -1);
    request.bytesIncludeHeaders = true;
  }
  request.requestId = dash(at('x-edge-request-id'));
  const xff = dash(at('x-forwarded-for'));
  request.forwardedFor =
    xff === ''
      ? []
      : xff
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  return request;
}
