import type { LogObject } from '../../sources/log-object.js';

/** One piece of work a watch source found: an object to read, or CloudTrail records delivered inline. */
export interface WatchItem {
  /** The checkpoint key: once committed, the item is never read again. */
  key: string;
  /** Null when the item's records came inline (EventBridge through SQS). */
  object: LogObject | null;
  records: readonly Record<string, unknown>[];
}

/** What one poll found: items not yet committed, in the order to read them. */
export interface WatchBatch {
  items: WatchItem[];
  /** Items found but left for the next poll (the batch was full): the backlog. */
  backlog: number;
  /**
   * Called once the batch's state is committed, with the keys it committed (a batch may stop short
   * of its last items). SQS deletes the messages whose every item was committed.
   */
  acknowledge(committed: ReadonlySet<string>): Promise<void>;
  /** Checkpoint keys that need committing although nothing is read (duplicates, messages with nothing to read). */
  emptyKeys: string[];
}

/** What watch has committed, as sources ask it. */
export interface Checkpoints {
  isCommitted(key: string): boolean;
  /** The greatest committed key starting with `prefix`. */
  lastCommitted(prefix: string): string | undefined;
}

/** Where `offbox watch` finds new logs. */
export interface WatchSource {
  /** For status lines: `folder logs/`, `s3://bucket/prefix`, `sqs://…`. */
  readonly name: string;
  /**
   * Looks for work not yet committed (`checkpoints` say what was), at most `maxItems` items.
   * Throws an OffboxError when the source cannot be reached; watch retries with backoff.
   */
  poll(checkpoints: Checkpoints, maxItems: number, signal: AbortSignal): Promise<WatchBatch>;
  close?(): Promise<void>;
}

/** A batch with nothing in it. */
export function emptyBatch(backlog = 0): WatchBatch {
  return { items: [], backlog, emptyKeys: [], acknowledge: () => Promise.resolve() };
}
