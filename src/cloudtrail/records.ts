import { normaliseRecord, type CloudTrailEvent } from './event.js';
import { DEFAULT_MAX_NESTING_DEPTH, jsonNestingExceeds } from './nesting.js';

/** One value from a framed record, expanded into events or reasons it is not one. */
export type ParsedItem = { event: CloudTrailEvent } | { bad: string };

const MAX_WRAPPER_DEPTH = 4;

/**
 * Expands one parsed JSON value into CloudTrail events. Besides a plain event it accepts
 * the wrappers that exports put around events: a `{"Records":[…]}` delivery object (one per
 * line when delivery files are concatenated), an array, and `_raw` / `result._raw` strings
 * (Cribl and Splunk exports).
 */
export function expandValue(value: unknown, out: ParsedItem[], depth = 0): void {
  if (depth > MAX_WRAPPER_DEPTH) {
    out.push({ bad: 'wrapper objects nested too deeply' });
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) expandValue(item, out, depth + 1);
    return;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (Array.isArray(record['Records'])) {
      for (const item of record['Records'] as unknown[]) expandValue(item, out, depth + 1);
      return;
    }
    const result = record['result'];
    const raw =
      record['_raw'] ??
      (result !== null && typeof result === 'object' ? (result as Record<string, unknown>)['_raw'] : undefined);
    if (raw !== undefined && !('eventName' in record)) {
      if (typeof raw !== 'string') {
        expandValue(raw, out, depth + 1);
        return;
      }
      if (jsonNestingExceeds(raw)) {
        out.push({ bad: `_raw field nests arrays and objects more than ${DEFAULT_MAX_NESTING_DEPTH} levels deep` });
        return;
      }
      let inner: unknown;
      try {
        inner = JSON.parse(raw);
      } catch (error) {
        out.push({ bad: `_raw field is not JSON: ${(error as Error).message}` });
        return;
      }
      expandValue(inner, out, depth + 1);
      return;
    }
    if ('digestStartTime' in record && 'digestS3Bucket' in record) return;
  }
  const normalised = normaliseRecord(value);
  if ('reason' in normalised) out.push({ bad: normalised.reason });
  else out.push({ event: normalised });
}

/** Parses the bytes of one framed record into events. Invalid JSON becomes one `bad` item. */
export function parseRecordBytes(bytes: Buffer | string): ParsedItem[] {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (error) {
    return [{ bad: `invalid JSON: ${(error as Error).message}` }];
  }
  const out: ParsedItem[] = [];
  expandValue(value, out);
  return out;
}
