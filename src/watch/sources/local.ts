import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError } from '../../errors.js';
import { listLocal } from '../../sources/local.js';
import type { LogObject } from '../../sources/log-object.js';
import { byDelivery } from './order.js';
import type { Checkpoints, WatchBatch, WatchSource } from './types.js';

/** Options for {@link localFolderSource}. */
export interface LocalFolderOptions {
  /** File endings to read (default: the CloudTrail ones). */
  extensions?: readonly string[];
  /** Files modified more recently than this are left for a later poll: they may still be being written. */
  settleMs?: number;
  now?: () => number;
}

/**
 * Watches a folder, recursively, for new log files. A file is read once; its checkpoint key is
 * its absolute path. Writers should create files under another name (`.tmp`) and rename them.
 */
export function localFolderSource(folder: string, opts: LocalFolderOptions = {}): WatchSource {
  const root = resolve(folder);
  const settleMs = opts.settleMs ?? 1000;
  const now = opts.now ?? Date.now;
  /** Files listed and not handed out yet: a backlog is listed once, not once per batch. */
  let queue: LogObject[] = [];
  let unsettled = 0;

  async function list(checkpoints: Checkpoints): Promise<void> {
    try {
      const info = await stat(root);
      if (!info.isDirectory()) throw new InputError(`${folder} is not a folder`, 'offbox watch reads a folder of logs');
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new InputError(
        `cannot read folder ${folder}: ${(error as Error).message}`,
        'check the path; watch retries',
      );
    }
    const found: LogObject[] = [];
    for await (const object of listLocal([root], opts.extensions ? { extensions: opts.extensions } : {})) {
      if (!checkpoints.isCommitted(object.name)) found.push(object);
    }
    unsettled = 0;
    const settled: LogObject[] = [];
    for (const object of found) {
      try {
        const info = await stat(object.name);
        if (now() - info.mtimeMs >= settleMs) settled.push(object);
        else unsettled += 1;
      } catch {
        // Removed since it was listed: nothing to read.
      }
    }
    queue = settled.sort((a, b) => byDelivery(a.name, b.name));
  }

  return {
    name: `folder ${folder}`,
    async poll(checkpoints, maxItems): Promise<WatchBatch> {
      queue = queue.filter((object) => !checkpoints.isCommitted(object.name));
      if (queue.length === 0) await list(checkpoints);
      const items = queue.slice(0, maxItems).map((object) => ({ key: object.name, object, records: [] }));
      return {
        items,
        backlog: queue.length - items.length + unsettled,
        emptyKeys: [],
        acknowledge: () => Promise.resolve(),
      };
    },
  };
}
