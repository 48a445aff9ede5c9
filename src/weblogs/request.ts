/**
 * The common model of one web-tier request, whatever log it came from (ALB, Classic ELB,
 * CloudFront, AWS WAF, nginx/Apache combined), or one line of any other text log (format
 * `text`, see text.ts). Every string is untrusted log content.
 */

/** Web log formats offbox reads. */
export const WEB_LOG_FORMATS = ['alb', 'elb', 'cloudfront', 'waf', 'combined', 'text'] as const;
/** One of {@link WEB_LOG_FORMATS}. */
export type WebLogFormat = (typeof WEB_LOG_FORMATS)[number];

/** Human names of the formats, for status lines and reasons. */
export const FORMAT_NAMES: Readonly<Record<WebLogFormat, string>> = Object.freeze({
  alb: 'ALB access log',
  elb: 'Classic ELB access log',
  cloudfront: 'CloudFront standard log',
  waf: 'AWS WAF log',
  combined: 'nginx/Apache combined log',
  text: 'text log lines',
});

/** One request as logged. */
export interface WebRequest {
  /** The log object it came from (path, `s3://…` or `-`). */
  file: string;
  /** 1-based line number in the decoded file. */
  line: number;
  /** ISO-8601 UTC time of the request ('' when the log gave none that parses). */
  time: string;
  /** `time` in epoch milliseconds; NaN when unknown. */
  timeMs: number;
  /** The client address: canonical text when it parses, the raw value otherwise ('' when absent). */
  clientIp: string;
  /** HTTP method ('' when the request line could not be read, `-` when the log says so). */
  method: string;
  /** The request target as logged (ALB/ELB: absolute URL; nginx: origin- or absolute-form; CloudFront/WAF: path?query). */
  url: string;
  /** The Host the client asked for (Host header, absolute-form authority, CloudFront x-host-header, vhost), without port. */
  host: string;
  /** Path as logged (not decoded). */
  path: string;
  /**
   * Query string as logged, without the `?` ('' when none). For format `text`: the query of the
   * request an error-log line names, then the line's URL-like tokens as `name=value` pairs.
   */
  query: string;
  /** Fragment as logged, without the `#` (rarely logged; '' when none). */
  fragment: string;
  userAgent: string;
  /** The Referer header when the format logs it ('' otherwise). */
  referer: string;
  /** HTTP status sent to the client; 0 when unknown (CloudFront `000`, `-`). */
  status: number;
  /** Response bytes as logged; -1 when the format does not log them. */
  bytes: number;
  /** True when `bytes` counts headers as well as the body (ALB, ELB, CloudFront sc-bytes). */
  bytesIncludeHeaders: boolean;
  /** ALB/ELB target `ip:port` the request was forwarded to ('' when none). */
  targetAddress: string;
  format: WebLogFormat;
  /** Request headers, when the format logs them (AWS WAF); empty otherwise. */
  headers: ReadonlyArray<readonly [string, string]>;
  /** ALB trace id, CloudFront x-edge-request-id, WAF requestId ('' when absent). */
  requestId: string;
  /** WAF action (ALLOW, BLOCK, COUNT …) or ALB actions_executed ('' when absent). */
  action: string;
  /** WAF labels and matching rule ids ('' entries never). */
  wafRules: readonly string[];
  /** X-Forwarded-For chain when the log carries one (nginx variants, CloudFront). */
  forwardedFor: readonly string[];
  /** True when the request line carried an absolute-form target (`GET http://host/… HTTP/1.1`). */
  absoluteForm: boolean;
}

/** A line that could not be read as a request: reported, skipped, never fatal. */
export interface BadLine {
  line: number;
  /** Why, in words that never quote the line itself. */
  reason: string;
}
