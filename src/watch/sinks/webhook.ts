/**
 * POSTs each finding to a webhook: a generic JSON receiver, or a Slack incoming webhook. Every
 * request carries `Idempotency-Key: <finding id>`, so a receiver can drop the repeats that
 * retries and watch's at-least-once delivery produce.
 */
import type { Finding } from '../../detect/finding.js';
import { OffboxError, UsageError } from '../../errors.js';
import { limitText } from '../../report/asff.js';
import { escapeForTerminal } from '../../report/escape.js';
import { backoffDelay, defaultSleep, type Sleep } from './retry.js';
import type { FindingSink } from './types.js';

export type WebhookStyle = 'json' | 'slack';

export interface WebhookSinkOptions {
  /** An http:// or https:// URL. */
  url: string;
  /** `json` (default): `{ text, finding }`; `slack`: `{ text }`, as Slack incoming webhooks take it. */
  style?: WebhookStyle;
  /** Requests per finding before giving up, counting the first (default 5). */
  maxAttempts?: number;
  /** Per request, body included (default 10 s). */
  timeoutMs?: number;
  /** Extra request headers (an Authorization token …); content-type and Idempotency-Key are the sink's. */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
  sleep?: Sleep;
}

/** The webhook refused a finding, or kept failing until the sink gave up. */
export class WebhookDeliveryError extends OffboxError {
  /** HTTP status of the last answer; undefined when there was none (network error, timeout). */
  readonly status: number | undefined;
  readonly findingId: string;
  constructor(
    message: string,
    hint: string,
    fields: { status: number | undefined; findingId: string },
    cause?: unknown,
  ) {
    super(message, hint, cause === undefined ? undefined : { cause });
    this.status = fields.status;
    this.findingId = fields.findingId;
  }
}

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_TIMEOUT_MS = 10_000;
/** A receiver asking for a longer pause than this is waited for this long, then tried again. */
export const RETRY_AFTER_CAP_MS = 60_000;
const SUMMARY_PART_MAX = 300;
const RESPONSE_SNIPPET_MAX = 200;

const SLACK_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Makes `s` inert in Slack message text: controls and invisible characters become visible
 * escapes, and `&`, `<`, `>` become the entities Slack requires, so no link, mention
 * (`<!channel>`) or escape sequence from a log line comes through.
 */
export function escapeSlackText(s: string): string {
  return escapeForTerminal(s).replace(/[&<>]/g, (c) => SLACK_ESCAPES[c] ?? c);
}

/** One line: severity, title, account, source address and finding id, each part cut to a readable length. */
export function findingSummary(finding: Finding): string {
  const part = (s: string, fallback: string): string => (s.trim() ? limitText(s, SUMMARY_PART_MAX) : fallback);
  return (
    `offbox ${part(finding.severity.toUpperCase(), 'UNKNOWN')}: ${part(finding.title, finding.detector)}` +
    ` — account ${part(finding.accountId, 'unknown')} — from ${part(finding.source.ip, 'unknown source')}` +
    ` — finding ${part(finding.id, 'unknown')}`
  );
}

function requestBody(finding: Finding, style: WebhookStyle): string {
  // Slack-safe in both styles: generic receivers often relay `text` to a chat room as well.
  const text = escapeSlackText(findingSummary(finding));
  return JSON.stringify(style === 'slack' ? { text } : { text, finding });
}

/** Webhook URLs often carry their secret in the path (Slack's do): name them by origin only. */
function redactUrl(url: URL): string {
  return url.pathname === '/' && url.search === '' ? url.origin : `${url.origin}/…`;
}

function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(
      `webhook URL ${limitText(raw, 100)} is not a URL`,
      'pass an absolute http:// or https:// URL, e.g. https://hooks.slack.com/services/…',
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(
      `webhook URL scheme ${limitText(url.protocol, 20)} is not supported`,
      'pass an http:// or https:// URL',
    );
  }
  return url;
}

function checkedHeaders(extra: Record<string, string>): Headers {
  try {
    return new Headers(extra);
  } catch (err) {
    throw new UsageError(
      `bad webhook header: ${(err as Error).message}`,
      'header names must be tokens and values must not contain newlines',
    );
  }
}

/**
 * Milliseconds the receiver asked to wait (`Retry-After` as seconds or an HTTP date), at most
 * {@link RETRY_AFTER_CAP_MS}; undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  const value = header?.trim() ?? '';
  const capped = (ms: number): number => Math.min(Math.max(0, Math.round(ms)), RETRY_AFTER_CAP_MS);
  if (/^\d+(\.\d+)?$/.test(value)) return capped(Number(value) * 1000);
  // Date.parse takes almost anything (`-5` is the year -5); an HTTP date always has day and month names.
  if (!/[a-z]/i.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : capped(at - now);
}

function rejectionHint(status: number, style: WebhookStyle): string {
  if (status === 401 || status === 403) return 'check the token in the webhook URL or the Authorization header';
  if (status === 404 || status === 410) return 'the webhook URL is wrong or the webhook was removed: check it';
  if (status === 400 || status === 415 || status === 422) {
    return style === 'json'
      ? 'the receiver does not take offbox’s JSON: use --webhook-style slack for Slack-compatible receivers'
      : 'the receiver refused the Slack message: check that the URL is a Slack incoming webhook';
  }
  if (status === 413) return 'the receiver limits the body size: use --webhook-style slack for a short message';
  if (status >= 300 && status < 400) return 'the webhook URL redirects: pass the final URL instead';
  return 'check the webhook URL and what the receiver expects';
}

/** What went wrong with one request, and whether trying again can help. */
type Outcome =
  | { ok: true }
  | { ok: false; retry: boolean; status: number | undefined; detail: string; waitMs?: number; cause?: unknown };

/**
 * A sink that POSTs each finding as its own request (`content-type: application/json`,
 * `Idempotency-Key: <finding id>`). Network errors, timeouts, 429 and 5xx answers are retried with
 * exponential backoff and jitter, honouring Retry-After (capped at {@link RETRY_AFTER_CAP_MS}), up
 * to `maxAttempts` requests; any other answer that is not 2xx fails at once. Redirects are not
 * followed. Failures throw a {@link WebhookDeliveryError}; a bad URL, header or option throws a
 * UsageError at creation.
 */
export function createWebhookSink(opts: WebhookSinkOptions): FindingSink {
  const url = parseWebhookUrl(opts.url);
  const style = opts.style ?? 'json';
  if (style !== 'json' && style !== 'slack') {
    throw new UsageError(`webhook style ${limitText(String(style), 20)} is not known`, 'use json or slack');
  }
  const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new UsageError(
      `webhook maxAttempts ${maxAttempts} is not a positive whole number`,
      'use 1 or more (default 5)',
    );
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new UsageError(`webhook timeout ${timeoutMs} ms is not positive`, 'use e.g. 10000');
  const extraHeaders = checkedHeaders(opts.headers ?? {});
  const doFetch = opts.fetch ?? fetch;
  const sleep = opts.sleep ?? defaultSleep;
  const name = `webhook ${redactUrl(url)}`;

  async function postOnce(finding: Finding, body: string): Promise<Outcome> {
    const headers = new Headers(extraHeaders);
    headers.set('content-type', 'application/json');
    headers.set('idempotency-key', finding.id);
    let response: Response;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers,
        body,
        // A redirect would resend the finding somewhere the user never named (or drop the body on 302).
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      const detail = timedOut
        ? `no answer within ${timeoutMs} ms`
        : `${(cause as { code?: string }).code ?? ''} ${(cause as Error).message ?? String(cause)}`.trim();
      return { ok: false, retry: true, status: undefined, detail, cause: err };
    }
    const text = await response.text().catch(() => '');
    if (response.status >= 200 && response.status < 300) return { ok: true };
    const snippet = text.trim() ? `: ${limitText(text.trim(), RESPONSE_SNIPPET_MAX)}` : '';
    const detail = `HTTP ${response.status}${snippet}`;
    if (response.status === 429 || response.status >= 500) {
      const waitMs = retryAfterMs(response.headers.get('retry-after'));
      return { ok: false, retry: true, status: response.status, detail, ...(waitMs !== undefined ? { waitMs } : {}) };
    }
    return { ok: false, retry: false, status: response.status, detail };
  }

  async function deliverOne(finding: Finding): Promise<void> {
    const body = requestBody(finding, style);
    const findingId = limitText(finding.id, 100);
    let outcome: Outcome = { ok: true };
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      outcome = await postOnce(finding, body);
      if (outcome.ok) return;
      if (!outcome.retry) {
        throw new WebhookDeliveryError(
          `${name} refused finding ${findingId}: ${outcome.detail}`,
          rejectionHint(outcome.status ?? 0, style),
          { status: outcome.status, findingId: finding.id },
        );
      }
      if (attempt < maxAttempts) await sleep(outcome.waitMs ?? backoffDelay(attempt));
    }
    if (outcome.ok) return;
    throw new WebhookDeliveryError(
      `${name} failed for finding ${findingId} after ${maxAttempts} attempts: ${outcome.detail}`,
      'check that the receiver is up and reachable from here; watch keeps the finding and offers it again',
      { status: outcome.status, findingId: finding.id },
      outcome.cause,
    );
  }

  return {
    name,
    async deliver(findings: readonly Finding[]): Promise<void> {
      // One at a time, in order: receivers see findings as they were raised, and are not flooded.
      for (const finding of findings) await deliverOne(finding);
    },
  };
}
