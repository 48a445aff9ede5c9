import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client, s3Object, type S3ErrorContext, type S3Options } from '../../sources/s3.js';
import { createSqsQueueClient, parseQueueUrl, type QueueClient, type QueueMessage } from './sqs-client.js';
import { parseQueueMessage } from './sqs-messages.js';
import { byDelivery } from './order.js';
import type { WatchBatch, WatchItem, WatchSource } from './types.js';

/** Options for {@link sqsSource}. */
export interface SqsSourceOptions extends S3Options {
  /** A ready queue client (tests: there is no local SQS server). */
  queue?: QueueClient;
  /** Long-poll wait of the first receive of a poll, seconds (default 20). */
  waitSeconds?: number;
  /** Parts of messages that carry nothing to read (test events, other event types). */
  onIgnored?: (reason: string) => void;
}

/**
 * Watches an SQS queue fed with S3 event notifications for new log objects (directly or through SNS),
 * EventBridge S3 events, or EventBridge CloudTrail events (the records themselves). A message is
 * deleted only once everything it announced is committed; one delivered again is recognised by its
 * message id or its objects' keys and read no second time.
 */
export async function sqsSource(spec: string, opts: SqsSourceOptions = {}): Promise<WatchSource> {
  const { queueUrl, region } = parseQueueUrl(spec);
  const queue =
    opts.queue ??
    (await createSqsQueueClient(queueUrl, {
      ...(opts.region !== undefined || region !== undefined ? { region: opts.region ?? region! } : {}),
      ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
      ...(opts.endpointUrl !== undefined ? { endpointUrl: opts.endpointUrl } : {}),
    }));
  let s3: S3Client | undefined = opts.client;
  const waitSeconds = opts.waitSeconds ?? 20;

  return {
    name: `sqs ${queueUrl}`,
    async poll(checkpoints, maxItems, signal): Promise<WatchBatch> {
      const messages: QueueMessage[] = [];
      while (messages.length < maxItems && !signal.aborted) {
        const got = await queue.receive({
          maxMessages: Math.min(10, maxItems - messages.length),
          waitSeconds: messages.length === 0 ? waitSeconds : 0,
          signal,
        });
        messages.push(...got);
        if (got.length < 10) break;
      }
      const items: WatchItem[] = [];
      const emptyKeys: string[] = [];
      /** Message → the checkpoint keys that must all be committed before it is deleted. */
      const needs = new Map<QueueMessage, string[]>();
      const listed = new Set<string>();
      for (const message of messages) {
        const messageKey = `sqs:${message.id}`;
        const keys: string[] = [];
        needs.set(message, keys);
        const content = parseQueueMessage(message.body);
        for (const reason of content.ignored) opts.onIgnored?.(reason);
        for (const ref of content.objects) {
          const key = `s3://${ref.bucket}/${ref.key}`;
          keys.push(key);
          if (listed.has(key) || checkpoints.isCommitted(key)) continue;
          listed.add(key);
          s3 ??= createS3Client(opts);
          const ctx: S3ErrorContext = { bucket: ref.bucket, prefix: ref.key };
          if (opts.endpointUrl !== undefined) ctx.endpointUrl = opts.endpointUrl;
          items.push({ key, object: s3Object(s3, ref.bucket, ref.key, ref.size, ctx), records: [] });
        }
        if (content.records.length > 0) {
          const key = `${messageKey}#records`;
          keys.push(key);
          if (!checkpoints.isCommitted(key)) items.push({ key, object: null, records: content.records });
        }
        // Nothing to read (a test event, or objects read before): deleted with the batch all the same.
        if (keys.every((key) => checkpoints.isCommitted(key))) emptyKeys.push(messageKey);
      }
      items.sort((a, b) => byDelivery(a.key, b.key));
      return {
        items,
        backlog: 0,
        emptyKeys,
        async acknowledge(committed) {
          const done = [...needs].filter(([, keys]) =>
            keys.every((key) => committed.has(key) || checkpoints.isCommitted(key)),
          );
          if (done.length > 0)
            await queue.deleteMessages(done.map(([m]) => ({ id: m.id, receiptHandle: m.receiptHandle })));
        },
      };
    },
  };
}
