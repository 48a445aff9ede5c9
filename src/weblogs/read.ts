import type { LogObject } from '../sources/log-object.js';
import { openDecoded, type DecodeLimits } from '../sources/log-object.js';
import { ALB_TYPES, parseAlbLine } from './alb.js';
import { CLOUDFRONT_DEFAULT_FIELDS, parseCloudFrontFields, parseCloudFrontLine } from './cloudfront.js';
import { parseCombinedLine } from './combined.js';
import { parseElbLine } from './elb.js';
import { DEFAULT_MAX_LINE_BYTES, splitLines } from './lines.js';
import type { WebLogFormat, WebRequest } from './request.js';
import { parseTextLine, sniffErrorLog } from './text.js';
import { parseWafLine } from './waf.js';

/** What a line looks like before it is parsed. */
export type LineKind =
  AccessLogFormat | 'error-log' | 'cloudfront-header' | 'comment' | 'nlb' | 'alb-connection' | 'blank' | 'unknown';

/** The formats with a reader of their own (every format but `text`). */
type AccessLogFormat = Exclude<WebLogFormat, 'text'>;

const ALB_START = /^([a-z0-9]{2,5}) \d{4}-\d{2}-\d{2}T/;
const ISO_START = /^\d{4}-\d{2}-\d{2}T[0-9:.]+Z? (\S+) (\S+)/;
const CLF_TIME = /\[\d{2}\/[A-Za-z]{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]/;

/**
 * Says which format a line is in, from its first bytes: ALB (`http 2024-…`), NLB TLS lines
 * and ALB connection-log lines (which share ALB's S3 prefixes and are skipped), Classic ELB
 * (`2024-…Z name client:port …`), CloudFront (tab-separated, or its `#` headers), AWS WAF
 * (a JSON object with httpRequest), nginx/Apache combined (a `[dd/Mon/yyyy:…]` time) and
 * nginx/Apache error logs (`2024/05/13 10:41:15 [error] 1#1: …`, `[Mon May 13 …] [core:error] …`).
 */
export function sniffLine(text: string): LineKind {
  const first = text.charCodeAt(0);
  if (text.trim() === '') return 'blank';
  if ((first === 91 || (first >= 48 && first <= 57)) && sniffErrorLog(text)) return 'error-log';
  if (first === 35) return /^#(?:Version|Fields):/.test(text) ? 'cloudfront-header' : 'comment';
  if (first === 123) return text.includes('"httpRequest"') ? 'waf' : 'unknown';
  const alb = ALB_START.exec(text);
  if (alb && ALB_TYPES.has(alb[1]!)) return 'alb';
  if (/^tls \d/.test(text)) return 'nlb';
  if (/^\d{4}-\d{2}-\d{2}\t/.test(text)) return 'cloudfront';
  const iso = ISO_START.exec(text);
  if (iso) {
    if (/:[0-9]{1,5}$/.test(iso[2]!)) return 'elb';
    // A connection-log line starts `time client_ip client_port`; `time LEVEL pid` is an application log (Spring Boot).
    if (/^[0-9]{1,5}$/.test(iso[2]!) && /^[0-9a-fA-F.:]+$/.test(iso[1]!) && /[.:]/.test(iso[1]!))
      return 'alb-connection';
  }
  if (CLF_TIME.test(text)) return 'combined';
  return 'unknown';
}

/** One thing read from a web log. */
export type WebLogItem =
  | { kind: 'request'; request: WebRequest }
  | { kind: 'bad'; line: number; reason: string }
  | { kind: 'skipped'; line: number; what: 'nlb' | 'alb-connection' | 'comment' | 'blank' | 'cloudfront-header' }
  /**
   * The whole file is not a web log (its first lines are all unrecognised): nothing more is read.
   * `head` is the file's decoded start, for a caller that says what the file looks like instead.
   */
  | { kind: 'not-a-web-log'; reason: string; head: Buffer };

export interface WebLogReadOptions extends Partial<DecodeLimits> {
  /** Longest line read; longer ones are reported and skipped. Default 64 KiB. */
  maxLineBytes?: number;
  /** Give up on a file whose first this-many content lines are all unrecognised. Default 50. */
  probeLines?: number;
  /**
   * Read every line that is not in an access-log format as a text-log line (format `text`):
   * application logs, error logs, tracebacks. No file is then "not a web log".
   */
  text?: boolean;
  /** Dates syslog timestamps (which have no year) in text lines; default the time of the call. */
  nowMs?: number;
  /** Told the size of every decoded chunk, for progress and statistics. */
  onBytes?: (bytes: number) => void;
}

/** Decoded bytes kept from a file's start, to say what a file that is not a web log looks like. */
const HEAD_BYTES = 16 * 1024;

async function* counted(
  chunks: AsyncIterable<Buffer>,
  onBytes: ((bytes: number) => void) | undefined,
  head: Buffer[],
): AsyncGenerator<Buffer> {
  let kept = 0;
  for await (const chunk of chunks) {
    onBytes?.(chunk.length);
    if (kept < HEAD_BYTES) {
      const part = Buffer.from(chunk.subarray(0, HEAD_BYTES - kept));
      head.push(part);
      kept += part.length;
    }
    yield chunk;
  }
}

function parseAs(
  kind: AccessLogFormat,
  text: string,
  file: string,
  line: number,
  cloudFrontFields: readonly string[],
): WebRequest | string {
  switch (kind) {
    case 'alb':
      return parseAlbLine(text, file, line);
    case 'elb':
      return parseElbLine(text, file, line);
    case 'cloudfront':
      return parseCloudFrontLine(text, file, line, cloudFrontFields);
    case 'waf':
      return parseWafLine(text, file, line);
    case 'combined':
      return parseCombinedLine(text, file, line);
  }
}

function isAccessLog(kind: LineKind): kind is AccessLogFormat {
  return kind === 'alb' || kind === 'elb' || kind === 'cloudfront' || kind === 'waf' || kind === 'combined';
}

function formatKiB(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}

/**
 * Streams the requests of one web log, plain or gzip (detected by magic bytes), line by line.
 * The format is recognised per line, so mixed prefixes (ALB with NLB and connection logs)
 * read cleanly; CloudFront `#Fields` headers set the field order for the lines after them.
 * Bad lines are yielded with the reason (never the line itself); a file whose first
 * `probeLines` content lines are all unrecognised yields one `not-a-web-log` and stops.
 * A file whose first recognised line is an nginx or Apache error-log line is read as a text log
 * (every line not in an access-log format becomes a `text` request), as is every file with
 * `options.text`. A damaged gzip stream throws an OffboxError after every line before the damage.
 */
export async function* readWebLog(object: LogObject, options: WebLogReadOptions = {}): AsyncGenerator<WebLogItem> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const probeLines = options.probeLines ?? 50;
  const nowMs = options.nowMs ?? Date.now();
  // Text mode: asked for, or the file proved to be an nginx/Apache error log.
  let textMode = options.text === true;
  const decoded = openDecoded(
    object,
    options.maxDecodedBytes !== undefined ? { maxDecodedBytes: options.maxDecodedBytes } : undefined,
  );
  let cloudFrontFields: readonly string[] = CLOUDFRONT_DEFAULT_FIELDS;
  let recognised = false;
  // Until the file proves to be a web log, bad lines are held back: a CloudTrail file or a
  // binary named on the command line is one warning, not thousands.
  const pending: WebLogItem[] = [];
  // The text of the held-back unrecognised lines, read again if the file turns out to be an error log.
  const pendingText = new Map<number, string>();
  let unrecognised = 0;
  const head: Buffer[] = [];

  for await (const item of splitLines(counted(decoded as AsyncIterable<Buffer>, options.onBytes, head), maxLineBytes)) {
    let out: WebLogItem;
    if (item.kind === 'too-long') {
      out = {
        kind: 'bad',
        line: item.line,
        reason: `line of ${item.bytes} bytes is longer than the ${formatKiB(maxLineBytes)} limit`,
      };
    } else {
      const kind = sniffLine(item.text);
      if (kind === 'error-log' && !recognised && !textMode) {
        // The file is an nginx/Apache error log: the lines held back are its continuation lines.
        textMode = true;
        recognised = true;
        for (const held of pending) {
          const text = held.kind === 'bad' ? pendingText.get(held.line) : undefined;
          if (held.kind === 'bad' && text !== undefined) {
            yield { kind: 'request', request: parseTextLine(text, object.name, held.line, nowMs) };
          } else {
            yield held;
          }
        }
        pending.length = 0;
        pendingText.clear();
      }
      if (kind === 'blank') {
        out = { kind: 'skipped', line: item.line, what: 'blank' };
      } else if (kind === 'error-log' || (textMode && !isAccessLog(kind) && kind !== 'cloudfront-header')) {
        recognised = true;
        out = { kind: 'request', request: parseTextLine(item.text, object.name, item.line, nowMs) };
      } else if (kind === 'cloudfront-header') {
        const fields = parseCloudFrontFields(item.text);
        if (fields) cloudFrontFields = fields;
        recognised = true;
        out = { kind: 'skipped', line: item.line, what: 'cloudfront-header' };
      } else if (kind === 'nlb' || kind === 'alb-connection' || kind === 'comment') {
        out = { kind: 'skipped', line: item.line, what: kind };
        if (kind === 'nlb' || kind === 'alb-connection') recognised = true;
      } else if (kind === 'unknown') {
        out = {
          kind: 'bad',
          line: item.line,
          reason: 'not a line of a known web log format (ALB, Classic ELB, CloudFront, AWS WAF, nginx/Apache)',
        };
      } else {
        const parsed = parseAs(kind, item.text, object.name, item.line, cloudFrontFields);
        out =
          typeof parsed !== 'string'
            ? { kind: 'request', request: parsed }
            : textMode
              ? { kind: 'request', request: parseTextLine(item.text, object.name, item.line, nowMs) }
              : { kind: 'bad', line: item.line, reason: parsed };
      }
    }

    if (out.kind === 'skipped') {
      yield out;
      continue;
    }
    if (recognised || out.kind === 'request') {
      if (!recognised) {
        recognised = true;
        yield* pending;
        pending.length = 0;
      }
      yield out;
      continue;
    }
    pending.push(out);
    if (item.kind === 'line' && out.kind === 'bad') pendingText.set(item.line, item.text);
    unrecognised += 1;
    if (unrecognised >= probeLines) {
      yield {
        kind: 'not-a-web-log',
        reason: `not a web log: the first ${unrecognised} lines are not ALB, Classic ELB, CloudFront, AWS WAF or nginx/Apache lines`,
        head: Buffer.concat(head),
      };
      return;
    }
  }
  if (pending.length > 0) {
    yield {
      kind: 'not-a-web-log',
      reason: `not a web log: none of its ${pending.length} lines is an ALB, Classic ELB, CloudFront, AWS WAF or nginx/Apache line`,
      head: Buffer.concat(head),
    };
  }
}

/** File name endings read when walking a folder: access logs, ALB/ELB/CloudFront `.gz`, WAF JSON. */
export const WEB_LOG_EXTENSIONS: readonly string[] = Object.freeze([
  '.log',
  '.log.gz',
  '.gz',
  '.txt',
  '.json',
  '.jsonl',
  '.ndjson',
]);
