import type { LogObject } from '../sources/log-object.js';
import { openDecoded, type DecodeLimits } from '../sources/log-object.js';
import { ALB_TYPES, parseAlbLine } from './alb.js';
import { CLOUDFRONT_DEFAULT_FIELDS, parseCloudFrontFields, parseCloudFrontLine } from './cloudfront.js';
import { parseCombinedLine } from './combined.js';
import { parseElbLine } from './elb.js';
import { DEFAULT_MAX_LINE_BYTES, splitLines } from './lines.js';
import type { WebLogFormat, WebRequest } from './request.js';
import { parseWafLine } from './waf.js';

/** What a line looks like before it is parsed. */
export type LineKind = WebLogFormat | 'cloudfront-header' | 'comment' | 'nlb' | 'alb-connection' | 'blank' | 'unknown';

const ALB_START = /^([a-z0-9]{2,5}) \d{4}-\d{2}-\d{2}T/;
const ISO_START = /^\d{4}-\d{2}-\d{2}T[0-9:.]+Z? (\S+) (\S+)/;
const CLF_TIME = /\[\d{2}\/[A-Za-z]{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]/;

/**
 * Says which format a line is in, from its first bytes: ALB (`http 2024-…`), NLB TLS lines
 * and ALB connection-log lines (which share ALB's S3 prefixes and are skipped), Classic ELB
 * (`2024-…Z name client:port …`), CloudFront (tab-separated, or its `#` headers), AWS WAF
 * (a JSON object with httpRequest) and nginx/Apache combined (a `[dd/Mon/yyyy:…]` time).
 */
export function sniffLine(text: string): LineKind {
  const first = text.charCodeAt(0);
  if (text.trim() === '') return 'blank';
  if (first === 35) return /^#(?:Version|Fields):/.test(text) ? 'cloudfront-header' : 'comment';
  if (first === 123) return text.includes('"httpRequest"') ? 'waf' : 'unknown';
  const alb = ALB_START.exec(text);
  if (alb && ALB_TYPES.has(alb[1]!)) return 'alb';
  if (/^tls \d/.test(text)) return 'nlb';
  if (/^\d{4}-\d{2}-\d{2}\t/.test(text)) return 'cloudfront';
  const iso = ISO_START.exec(text);
  if (iso) {
    if (/:[0-9]{1,5}$/.test(iso[2]!)) return 'elb';
    if (/^[0-9]{1,5}$/.test(iso[2]!)) return 'alb-connection';
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
  kind: WebLogFormat,
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

function formatKiB(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}

/**
 * Streams the requests of one web log, plain or gzip (detected by magic bytes), line by line.
 * The format is recognised per line, so mixed prefixes (ALB with NLB and connection logs)
 * read cleanly; CloudFront `#Fields` headers set the field order for the lines after them.
 * Bad lines are yielded with the reason (never the line itself); a file whose first
 * `probeLines` content lines are all unrecognised yields one `not-a-web-log` and stops.
 * A damaged gzip stream throws an OffboxError after every line before the damage.
 */
export async function* readWebLog(object: LogObject, options: WebLogReadOptions = {}): AsyncGenerator<WebLogItem> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const probeLines = options.probeLines ?? 50;
  const decoded = openDecoded(
    object,
    options.maxDecodedBytes !== undefined ? { maxDecodedBytes: options.maxDecodedBytes } : undefined,
  );
  let cloudFrontFields: readonly string[] = CLOUDFRONT_DEFAULT_FIELDS;
  let recognised = false;
  // Until the file proves to be a web log, bad lines are held back: a CloudTrail file or a
  // binary named on the command line is one warning, not thousands.
  const pending: WebLogItem[] = [];
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
      if (kind === 'cloudfront-header') {
        const fields = parseCloudFrontFields(item.text);
        if (fields) cloudFrontFields = fields;
        recognised = true;
        out = { kind: 'skipped', line: item.line, what: 'cloudfront-header' };
      } else if (kind === 'nlb' || kind === 'alb-connection' || kind === 'comment' || kind === 'blank') {
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
          typeof parsed === 'string'
            ? { kind: 'bad', line: item.line, reason: parsed }
            : { kind: 'request', request: parsed };
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
