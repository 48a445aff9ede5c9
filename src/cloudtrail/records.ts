import { normaliseRecord, type CloudTrailEvent } from './event.js';
import { frameBuffer } from './framing.js';
import { DEFAULT_MAX_NESTING_DEPTH, jsonNestingExceeds } from './nesting.js';
import { findWrapper, isLakeRow, lakeRow, type Unwrapped } from './wrappers.js';

/**
 * One value from a framed record, expanded: an event, a reason it is not one, or a well-formed part
 * of an export that is not a CloudTrail event (a CloudWatch Logs control message, an EventBridge
 * event of another service), which is counted but not reported.
 */
export type ParsedItem = { event: CloudTrailEvent } | { bad: string } | { skipped: string };

/**
 * Wrappers inside wrappers: a Firehose record holds a CloudWatch Logs payload, which holds log
 * events, whose messages hold the events — four levels; six leaves room for `_raw` and arrays.
 */
export const MAX_WRAPPER_DEPTH = 6;

/**
 * Expands one parsed JSON value into CloudTrail events. Besides a plain event it accepts the
 * wrappers that exports put around events: a `{"Records":[…]}` delivery object (one per line when
 * delivery files are concatenated), an array, `_raw` / `result._raw` strings (Cribl and Splunk
 * exports), and every shape in `wrappers.ts` (lookup-events output, EventBridge events, CloudWatch
 * Logs payloads and events, Lambda `awslogs`, Firehose records, Splunk HEC, CloudTrail Lake rows).
 * A value that is an event is never read as a wrapper.
 */
export function expandValue(value: unknown, out: ParsedItem[], depth = 0): void {
  if (depth > MAX_WRAPPER_DEPTH) {
    out.push({ bad: 'wrapper objects nested too deeply' });
    return;
  }
  if (Array.isArray(value)) {
    if (isLakeRow(value)) {
      expandUnwrapped(lakeRow.open(value), out, depth);
      return;
    }
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
      if (typeof raw !== 'string') expandValue(raw, out, depth + 1);
      else expandJsonText(raw, '_raw', false, out, depth + 1);
      return;
    }
    if ('digestStartTime' in record && 'digestS3Bucket' in record) return;
    const normalised = normaliseRecord(value);
    if (!('reason' in normalised)) {
      out.push({ event: normalised });
      return;
    }
    const wrapper = findWrapper(record);
    if (wrapper !== undefined) {
      expandUnwrapped(wrapper.open(record), out, depth);
      return;
    }
    out.push({ bad: normalised.reason });
    return;
  }
  const normalised = normaliseRecord(value);
  if ('reason' in normalised) out.push({ bad: normalised.reason });
  else out.push({ event: normalised });
}

function expandUnwrapped(items: Iterable<Unwrapped>, out: ParsedItem[], depth: number): void {
  for (const item of items) {
    if ('value' in item) expandValue(item.value, out, depth + 1);
    else if ('json' in item) expandJsonText(item.json, item.field, item.many === true, out, depth + 1);
    else out.push(item);
  }
}

/**
 * Text that should hold JSON: one value, or (`many`) values concatenated or one per line, framed
 * as a file would be.
 */
function expandJsonText(text: string, field: string, many: boolean, out: ParsedItem[], depth: number): void {
  if (jsonNestingExceeds(text)) {
    out.push({ bad: `${field} field nests arrays and objects more than ${DEFAULT_MAX_NESTING_DEPTH} levels deep` });
    return;
  }
  if (!many) {
    let inner: unknown;
    try {
      inner = JSON.parse(text);
    } catch (error) {
      out.push({ bad: `${field} field is not JSON: ${(error as Error).message}` });
      return;
    }
    expandValue(inner, out, depth);
    return;
  }
  for (const item of frameBuffer(Buffer.from(text, 'utf8'))) {
    if (item.kind === 'bad') {
      out.push({ bad: `${field}: ${item.reason}` });
      continue;
    }
    let inner: unknown;
    try {
      inner = JSON.parse(item.bytes.toString('utf8'));
    } catch (error) {
      out.push({ bad: `${field} field is not JSON: ${(error as Error).message}` });
      continue;
    }
    expandValue(inner, out, depth);
  }
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
