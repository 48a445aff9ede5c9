/**
 * Which export shape a file is, from its decoded start: for readers that cannot expand every shape
 * record by record as `records.ts` does (the SQL back end), so they can refuse a file by name and
 * shape instead of reading nothing from it.
 */
import { normaliseRecord } from './event.js';
import { frameBuffer, type Layout } from './framing.js';
import { findWrapper, isLakeRow, isObject, lakeRow, type Unwrapped } from './wrappers.js';

/** A file's shape, as far as its first records show it. */
export interface SniffedShape {
  /** `delivery`, `events`, `cribl`, a wrapper id from wrappers.ts, `lake-projection`, `cloudwatch-export`, `empty`, `digest`, `not-cloudtrail`. */
  id: string;
  /** What a responder calls it, for messages. */
  title: string;
  /**
   * The first records are events, or wrappers whose content is one level down (an event or a
   * `{"Records":[…]}` object), which a reader that unwraps one level reads whole.
   */
  oneLevel: boolean;
}

function isEventOrDelivery(value: unknown): boolean {
  if (isObject(value) && Array.isArray(value['Records'])) return true;
  return !('reason' in normaliseRecord(value));
}

const SKIPPED = Symbol('skipped');

/** The first thing a wrapper holds, parsed; undefined when it holds nothing readable, SKIPPED for a part that is not CloudTrail. */
function firstInner(items: Iterable<Unwrapped>): unknown {
  for (const item of items) {
    if ('skipped' in item) return SKIPPED;
    if ('value' in item) return item.value;
    if ('json' in item) {
      if (item.many) return undefined;
      try {
        return JSON.parse(item.json);
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
  return undefined;
}

/** The shape of one parsed record; undefined for a record that is not CloudTrail in a known wrapper (decided by the next). */
function shapeOf(value: unknown, layout: Layout): SniffedShape | undefined {
  if (Array.isArray(value)) {
    if (!isLakeRow(value)) return { id: 'not-cloudtrail', title: 'a JSON array', oneLevel: false };
    const hasEventJson = value.some((cell) => isObject(cell) && Object.keys(cell)[0]?.toLowerCase() === 'eventjson');
    if (hasEventJson) return { id: 'lake-results', title: 'CloudTrail Lake results with eventJson', oneLevel: true };
    return {
      id: 'lake-projection',
      title: 'CloudTrail Lake results without eventJson (a projection of columns)',
      oneLevel: isEventOrDelivery(firstInner(lakeRow.open(value))),
    };
  }
  if (!isObject(value)) return { id: 'not-cloudtrail', title: 'JSON that is not an object', oneLevel: false };
  if (!('reason' in normaliseRecord(value))) {
    return layout === 'records-object'
      ? { id: 'delivery', title: 'CloudTrail delivery files', oneLevel: true }
      : { id: 'events', title: 'CloudTrail events', oneLevel: true };
  }
  const result = value['result'];
  const raw = value['_raw'] ?? (isObject(result) ? result['_raw'] : undefined);
  if (raw !== undefined) {
    let inner: unknown = raw;
    if (typeof raw === 'string') {
      try {
        inner = JSON.parse(raw);
      } catch {
        inner = undefined;
      }
    }
    return { id: 'cribl', title: 'a Cribl or Splunk export (_raw)', oneLevel: isEventOrDelivery(inner) };
  }
  const wrapper = findWrapper(value);
  if (wrapper === undefined)
    return { id: 'not-cloudtrail', title: 'JSON objects that are not CloudTrail', oneLevel: false };
  const inner = firstInner(wrapper.open(value));
  if (inner === SKIPPED) return undefined;
  return { id: wrapper.id, title: wrapper.title, oneLevel: isEventOrDelivery(inner) };
}

/**
 * The shape of a file from its decoded start (a head of a few KiB to a few hundred: the first
 * complete record decides). Never throws.
 */
export function sniffExportShape(head: Buffer): SniffedShape {
  const frames = frameBuffer(head, { maxRecordBytes: head.length + 1 });
  const parsed: unknown[] = [];
  let layout: Layout;
  for (;;) {
    const next = frames.next();
    if (next.done) {
      layout = next.value.layout;
      break;
    }
    // A record cut off by the end of the head, or garbage, is passed over: the next one decides.
    if (next.value.kind !== 'record' || parsed.length >= 50) continue;
    try {
      parsed.push(JSON.parse(next.value.bytes.toString('utf8')));
    } catch {
      // as above
    }
  }
  if (layout === 'timestamped-lines') {
    return {
      id: 'cloudwatch-export',
      title: 'CloudWatch Logs export lines (a timestamp before each event)',
      oneLevel: false,
    };
  }
  for (const value of parsed) {
    const shape = shapeOf(value, layout);
    if (shape !== undefined) return shape;
  }
  if (parsed.length > 0) return { id: 'not-cloudtrail', title: 'events of other services only', oneLevel: true };
  if (layout === 'empty') return { id: 'empty', title: 'an empty file', oneLevel: true };
  if (layout === 'digest') return { id: 'digest', title: 'a CloudTrail digest file', oneLevel: true };
  if (layout === 'records-object' || layout === 'export-object') {
    return { id: 'empty-export', title: 'an export with no records', oneLevel: true };
  }
  return { id: 'not-cloudtrail', title: 'not JSON', oneLevel: false };
}
