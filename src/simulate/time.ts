/** Time formats that appear in CloudTrail, S3 keys and CLI output. All times are epoch milliseconds, UTC. */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

const DAY = 24 * HOUR;
let cachedDay = Number.NaN;
let cachedPrefix = '';
const TWO = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

/** 2026-03-02T00:00:05Z — CloudTrail's eventTime (whole seconds). Hot path: the date part is cached. */
export function isoSeconds(ms: number): string {
  const day = Math.floor(ms / DAY);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedPrefix = new Date(day * DAY).toISOString().slice(0, 11);
  }
  const s = Math.floor((ms - day * DAY) / 1000);
  return `${cachedPrefix}${TWO[Math.floor(s / 3600)]}:${TWO[Math.floor(s / 60) % 60]}:${TWO[s % 60]}Z`;
}

/** 2026-03-02T00:00:05.123Z */
export function isoMillis(ms: number): string {
  return new Date(ms).toISOString();
}

/** 2026-03-02T00:00:05.123456Z — ALB access-log time (microseconds). */
export function isoMicros(ms: number, micros: number): string {
  const text = new Date(ms).toISOString();
  return `${text.slice(0, 23)}${String(micros % 1000).padStart(3, '0')}Z`;
}

/** 2026-03-02T00:00:05+00:00 — the AWS CLI's LaunchTime / CreateDate format. */
export function isoCli(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+00:00`;
}

/** 20260302T0005Z — the time stamp in CloudTrail and ELB log file names. */
export function fileStamp(ms: number): string {
  const t = new Date(ms).toISOString();
  return `${t.slice(0, 4)}${t.slice(5, 7)}${t.slice(8, 10)}T${t.slice(11, 13)}${t.slice(14, 16)}Z`;
}

/** 20260302T010000Z — digest file names carry seconds. */
export function fileStampSeconds(ms: number): string {
  const t = new Date(ms).toISOString();
  return `${fileStamp(ms).slice(0, -1)}${t.slice(17, 19)}Z`;
}

/** ['2026', '03', '02'] — the date folders of an S3 log key. */
export function datePath(ms: number): [string, string, string] {
  const t = new Date(ms).toISOString();
  return [t.slice(0, 4), t.slice(5, 7), t.slice(8, 10)];
}

/** 20260302 — the date in a SigV4 credential scope. */
export function sigV4Date(ms: number): string {
  return datePath(ms).join('');
}

/** 20260302T000005Z — X-Amz-Date. */
export function amzDate(ms: number): string {
  const t = new Date(ms).toISOString();
  return `${sigV4Date(ms)}T${t.slice(11, 13)}${t.slice(14, 16)}${t.slice(17, 19)}Z`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Jul 10, 2023, 6:30:22 PM — how STS responseElements write a credential's expiration. */
export function stsExpiration(ms: number): string {
  const d = new Date(ms);
  const h = d.getUTCHours();
  const hour12 = h % 12 === 0 ? 12 : h % 12;
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  const ss = String(d.getUTCSeconds()).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${hour12}:${mm}:${ss} ${h < 12 ? 'AM' : 'PM'}`;
}
