import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { isDigestPath, isLogFileName, normaliseExtensions } from '../../sources/local.js';
import {
  createS3Client,
  parseS3Url,
  s3Error,
  s3Object,
  type S3ErrorContext,
  type S3Options,
} from '../../sources/s3.js';
import { byDelivery } from './order.js';
import type { Checkpoints, WatchBatch, WatchItem, WatchSource } from './types.js';

/** Options for {@link s3PrefixSource}. */
export interface S3PrefixOptions extends S3Options {
  /** Days before the newest committed day of a trail folder that are listed again for late deliveries (default 2). */
  lateDays?: number;
  /** First day to read (YYYY-MM-DD) when a trail folder has no checkpoint yet; default: everything. */
  since?: string;
  /** Polls between two searches for new trail folders (accounts, regions); default 10. */
  discoverEvery?: number;
}

/** `…AWSLogs/[o-org/]ACCOUNT/CloudTrail/REGION/`: one trail folder, whose keys sort by day. */
const TRAIL_FOLDER_RE = /AWSLogs\/(?:o-[a-z0-9]{10,32}\/)?\d{12}\/CloudTrail\/[a-z0-9-]+\/$/;
/** Folders on the way down to a trail folder. */
const ON_THE_WAY_RE = /AWSLogs\/(?:(?:o-[a-z0-9]{10,32}\/)?(?:\d{12}\/(?:CloudTrail\/)?)?)?$/;
const DAY_RE = /^(\d{4})\/(\d{2})\/(\d{2})\//;
const TRAIL_FOLDER_OF_KEY_RE =
  /^(.*AWSLogs\/(?:o-[a-z0-9]{10,32}\/)?\d{12}\/CloudTrail\/[a-z0-9-]+\/)\d{4}\/\d{2}\/\d{2}\//;
/** How deep to look for AWSLogs/ under a prefix that is above it (a trail's own key prefix). */
const MAX_FREE_DEPTH = 3;
/** Keys listed per trail folder and poll, beyond the batch, to tell the size of the backlog. */
const BACKLOG_LOOKAHEAD = 4;

function dayPath(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replace(/-/g, '/');
}

/**
 * Watches `s3://bucket/prefix` for new CloudTrail objects. Under a CloudTrail layout, each trail
 * folder (account and region) is listed from a few days before its newest committed day, so a poll
 * costs a page or two however long the trail's history is, and late deliveries into earlier days
 * are still found. Without that layout, the whole prefix is listed every poll.
 */
export function s3PrefixSource(url: string, opts: S3PrefixOptions = {}): WatchSource {
  const { bucket, prefix } = parseS3Url(url);
  const extensions = normaliseExtensions(opts.extensions);
  const lateDays = opts.lateDays ?? 2;
  const discoverEvery = Math.max(1, opts.discoverEvery ?? 10);
  const sinceMs = opts.since !== undefined ? Date.parse(`${opts.since}T00:00:00Z`) : Number.NaN;
  let client: S3Client | undefined = opts.client;
  const ctx: S3ErrorContext = { bucket, prefix };
  if (opts.endpointUrl !== undefined) ctx.endpointUrl = opts.endpointUrl;
  if (opts.profile !== undefined) ctx.profile = opts.profile;
  /** Trail folders known: found by walking the prefix, or learnt from keys listed whole. */
  const folders = new Set<string>();
  let polls = 0;

  const s3 = (): S3Client => (client ??= createS3Client(opts));

  async function list(
    params: { Prefix: string; Delimiter?: string; StartAfter?: string },
    onPage: (page: { keys: { key: string; size: number | undefined }[]; folders: string[] }) => boolean,
  ): Promise<void> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await s3().send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: params.Prefix === '' ? undefined : params.Prefix,
            Delimiter: params.Delimiter,
            StartAfter: token === undefined ? params.StartAfter : undefined,
            ContinuationToken: token,
            MaxKeys: opts.maxKeys,
          }),
        );
      } catch (error) {
        throw s3Error(error, { ...ctx, prefix: params.Prefix });
      }
      const keys = (page.Contents ?? []).flatMap((item) =>
        item.Key === undefined ? [] : [{ key: item.Key, size: item.Size }],
      );
      const more = onPage({ keys, folders: (page.CommonPrefixes ?? []).flatMap((p) => (p.Prefix ? [p.Prefix] : [])) });
      token = more && page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** The trail folders under the prefix (or the prefix itself when it is one, or is inside one). */
  async function discover(): Promise<string[]> {
    const inside = /AWSLogs\/(?:o-[a-z0-9]{10,32}\/)?\d{12}\/CloudTrail\/[a-z0-9-]+\//.exec(prefix);
    if (inside) return [prefix.slice(0, inside.index + inside[0].length)];
    const found: string[] = [];
    const queue: { folder: string; free: number }[] = [{ folder: prefix, free: 0 }];
    while (queue.length > 0) {
      const { folder, free } = queue.shift()!;
      if (TRAIL_FOLDER_RE.test(folder)) {
        found.push(folder);
        continue;
      }
      const children: string[] = [];
      await list({ Prefix: folder, Delimiter: '/' }, (page) => {
        children.push(...page.folders);
        return true;
      });
      for (const child of children) {
        if (TRAIL_FOLDER_RE.test(child) || ON_THE_WAY_RE.test(child)) queue.push({ folder: child, free });
        else if (!child.includes('AWSLogs/') && free < MAX_FREE_DEPTH) queue.push({ folder: child, free: free + 1 });
      }
    }
    return found.sort();
  }

  function wanted(key: string): boolean {
    return !key.endsWith('/') && (key === prefix || (!isDigestPath(key) && isLogFileName(key, extensions)));
  }

  async function pollFolder(folder: string, checkpoints: Checkpoints, limit: number): Promise<WatchItem[]> {
    const last = checkpoints.lastCommitted(`s3://${bucket}/${folder}`);
    const lastDay = last === undefined ? undefined : DAY_RE.exec(last.slice(`s3://${bucket}/${folder}`.length));
    let startAfter: string | undefined;
    if (lastDay) {
      const newest = Date.UTC(Number(lastDay[1]), Number(lastDay[2]) - 1, Number(lastDay[3]));
      startAfter = folder + dayPath(newest - lateDays * 86_400_000);
    } else if (!Number.isNaN(sinceMs)) {
      startAfter = folder + dayPath(sinceMs - 86_400_000) + '/~';
    }
    const items: WatchItem[] = [];
    await list({ Prefix: folder, ...(startAfter !== undefined ? { StartAfter: startAfter } : {}) }, (page) => {
      for (const { key, size } of page.keys) {
        const trailFolder = TRAIL_FOLDER_OF_KEY_RE.exec(key)?.[1];
        if (trailFolder !== undefined) folders.add(trailFolder);
        const name = `s3://${bucket}/${key}`;
        if (!wanted(key) || checkpoints.isCommitted(name)) continue;
        items.push({ key: name, object: s3Object(s3(), bucket, key, size, ctx), records: [] });
      }
      return items.length < limit;
    });
    return items;
  }

  return {
    name: `s3://${bucket}/${prefix}`,
    async poll(checkpoints, maxItems): Promise<WatchBatch> {
      let whole = folders.size === 0;
      if (polls % discoverEvery === 0) {
        const walked = await discover();
        for (const folder of walked) folders.add(folder);
        // Some S3-compatible stores answer no common prefixes for deep keys: learn the folders from a whole listing.
        if (walked.length === 0) whole = true;
      }
      polls += 1;
      const lookahead = maxItems * BACKLOG_LOOKAHEAD;
      const found: WatchItem[] = [];
      if (whole) {
        // No CloudTrail layout known (yet): list the prefix whole and let the checkpoints say what is new.
        found.push(
          ...(await pollFolder(
            prefix,
            { isCommitted: (key) => checkpoints.isCommitted(key), lastCommitted: () => undefined },
            lookahead,
          )),
        );
      } else {
        for (const folder of folders) found.push(...(await pollFolder(folder, checkpoints, lookahead)));
      }
      found.sort((a, b) => byDelivery(a.key, b.key));
      const items = found.slice(0, maxItems);
      return { items, backlog: found.length - items.length, emptyKeys: [], acknowledge: () => Promise.resolve() };
    },
  };
}
