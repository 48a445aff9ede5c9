import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { UsageError } from '../errors.js';
import type { LogObject } from '../sources/log-object.js';
import { listAhead, parseThreads } from './progress.js';

const object = (name: string): LogObject => ({ name, size: 1, open: () => Promise.reject(new Error('not read')) });

async function* objects(names: string[]): AsyncGenerator<LogObject> {
  for (const name of names) yield object(name);
}

async function names(iterable: AsyncIterable<LogObject>): Promise<string[]> {
  const out: string[] = [];
  for await (const o of iterable) out.push(o.name);
  return out;
}

describe('--threads', () => {
  it('defaults to every core and takes whole numbers from 1 to 256', () => {
    assert.equal(parseThreads(undefined), availableParallelism());
    assert.equal(parseThreads('1'), 1);
    assert.equal(parseThreads('256'), 256);
  });

  it('refuses anything else with a hint', () => {
    for (const bad of ['0', '-2', '1.5', 'two', '257', '']) {
      assert.throws(
        () => parseThreads(bad),
        (error: unknown) => {
          assert.ok(error instanceof UsageError);
          assert.match(error.message, /is not a whole number from 1 to 256/);
          assert.match(error.hint ?? '', /--threads 4/);
          return true;
        },
      );
    }
  });
});

describe('listing ahead for the progress bar', () => {
  it('lists nothing ahead when no bar is drawn', async () => {
    const listed = await listAhead(['./logs'], objects(['a', 'b']), false);
    assert.equal(listed.total, undefined);
    assert.deepEqual(await names(listed.objects), ['a', 'b']);
  });

  it('counts local files first and still yields every one, in order', async () => {
    const listed = await listAhead(['./logs'], objects(['a', 'b', 'c']), true);
    assert.equal(listed.total, 3);
    assert.deepEqual(await names(listed.objects), ['a', 'b', 'c']);
  });

  it('streams S3 and stdin inputs without a total', async () => {
    for (const paths of [['s3://bucket/AWSLogs/'], ['S3://bucket/AWSLogs/'], ['-'], ['./logs', 's3://bucket/x']]) {
      const listed = await listAhead(paths, objects(['a', 'b']), true);
      assert.equal(listed.total, undefined);
      assert.deepEqual(await names(listed.objects), ['a', 'b']);
    }
  });
});
