/* global URLSearchParams */
// htm bound to Preact's h. Every value interpolated as a child is rendered as a text node: log strings
// (user agents, URLs, ARNs, titles) must only ever reach the page this way.
import { h } from '/assets/vendor/preact.mjs';
import htm from '/assets/vendor/htm.mjs';

export const html = htm.bind(h);

/** `#/…` link to an app route; every path segment is percent-encoded, so an id can never become a scheme. */
export function hashHref(...segments) {
  return `#/${segments.map((segment) => encodeURIComponent(String(segment))).join('/')}`;
}

/** `#/findings?…` for a filter object (empty values dropped). */
export function findingsHref(filters = {}) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) {
      if (value.length > 0) search.set(key, value.join(','));
    } else search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '#/findings' : `#/findings?${text}`;
}

/** A time as the logs give it, shortened to `YYYY-MM-DD HH:MM:SSZ` when it is ISO 8601. */
export function formatTime(value) {
  if (typeof value !== 'string' || value === '') return '—';
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return value;
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** Thousands separators without depending on the browser's locale. */
export function formatCount(n) {
  return typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en-US') : '—';
}

// C0 and C1 control characters (terminal escapes among them), except tab and newline.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** A log string made visible: control characters (ESC of a terminal escape…) shown as `\xNN`, never hidden. */
export function visible(value) {
  if (value === undefined || value === null) return '';
  return String(value).replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
