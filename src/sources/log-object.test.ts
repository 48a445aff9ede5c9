import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { constants as zlibConstants, gzipSync, gunzipSync } from 'node:zlib';
import { AwsError, InputError } from '../errors.js';
import { frameStream } from '../cloudtrail/framing.js';
import { openDecoded, readAllDecoded, type LogObject } from './log-object.js';
import { listLocal } from './local.js';

const FIXTURE = fileURLToPath(
  new URL(
    '../../fixtures/framing/218007301253_CloudTrail_us-east-1_20230710T1220Z_WMiHxZgr5Hdd6UDc.json',
    import.meta.url,
  ),
);

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'offbox-log-object-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileObject(name: string, content: Buffer | string): Promise<LogObject> {
  const path = join(dir, name);
  await writeFile(path, content);
  for await (const obj of listLocal([path])) return obj;
  throw new Error('not listed');
}

function memoryObject(name: string, chunks: Buffer[]): LogObject {
  return { name, size: undefined, open: async () => Readable.from(chunks) };
}

async function collect(stream: AsyncIterable<Buffer>): Promise<{ bytes: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of stream) chunks.push(c);
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error };
  }
  return { bytes: Buffer.concat(chunks), error: undefined };
}

/** Text of many lines that gzip does not shrink to nothing, so truncation loses real data. */
function sampleText(lines: number): Buffer {
  let s = '';
  for (let i = 0; i < lines; i++)
    s += `{"eventID":"${i}","n":${(i * 7919) % 104729},"x":"${(i * 2654435761) % 4294967296}"}\n`;
  return Buffer.from(s);
}

describe('gzip detection', () => {
  test('gzip is detected by magic bytes, not by the name', async () => {
    const text = sampleText(100);
    const misnamed = await fileObject('gzipped-but-named.json', gzipSync(text));
    assert.deepStrictEqual((await readAllDecoded(misnamed)).bytes, text);
    const plain = await fileObject('plain-but-named.json.gz', text);
    assert.deepStrictEqual((await readAllDecoded(plain)).bytes, text);
    assert.deepStrictEqual((await collect(openDecoded(misnamed))).bytes, text);
  });

  test('magic bytes split across one-byte chunks (stdin) are still seen', async () => {
    const text = sampleText(50);
    const gz = gzipSync(text);
    const obj = memoryObject(
      '-',
      [...gz].map((b) => Buffer.from([b])),
    );
    const { bytes, error } = await readAllDecoded(obj);
    assert.equal(error, undefined);
    assert.deepStrictEqual(bytes, text);
  });

  test('concatenated gzip members decode as one stream', async () => {
    const obj = await fileObject('multi.json.gz', Buffer.concat([gzipSync('{"a":1}\n'), gzipSync('{"b":2}\n')]));
    assert.equal((await readAllDecoded(obj)).bytes.toString(), '{"a":1}\n{"b":2}\n');
  });

  test('empty and one-byte files', async () => {
    assert.deepStrictEqual(await readAllDecoded(await fileObject('empty.json', '')), { bytes: Buffer.alloc(0) });
    assert.deepStrictEqual(await readAllDecoded(await fileObject('one.json', '\x1f')), { bytes: Buffer.from([0x1f]) });
  });
});

describe('damaged gzip', () => {
  test('a truncated gzip gives every byte decodable before the break, plus an InputError naming the file', async () => {
    const text = sampleText(20000);
    const gz = gzipSync(text);
    const cut = gz.subarray(0, Math.floor(gz.length * 0.6));
    const decodable = gunzipSync(cut, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    assert.ok(decodable.length > text.length / 3);
    const obj = await fileObject('cut.json.gz', cut);

    const all = await readAllDecoded(obj);
    assert.ok(all.error instanceof InputError);
    assert.match(all.error.message, /cut\.json\.gz/);
    assert.match(all.error.message, /unexpected end of file/);
    assert.ok(all.error.hint && all.error.hint.length > 0);
    assert.deepStrictEqual(all.bytes, decodable);
    assert.deepStrictEqual(all.bytes, text.subarray(0, all.bytes.length));

    const streamed = await collect(openDecoded(obj));
    assert.ok(streamed.error instanceof InputError);
    assert.match(streamed.error.message, /cut\.json\.gz.*unexpected end of file/);
    assert.deepStrictEqual(streamed.bytes, decodable);
  });

  test("a corrupt gzip reports zlib's reason and keeps the bytes before the damage", async () => {
    const text = sampleText(20000);
    const gz = Buffer.from(gzipSync(text));
    gz.fill(0x55, Math.floor(gz.length / 2), Math.floor(gz.length / 2) + 64);
    const { bytes, error } = await readAllDecoded(await fileObject('corrupt.json.gz', gz));
    assert.ok(error instanceof InputError);
    assert.match(error.message, /corrupt\.json\.gz: gzip data is truncated or corrupt \(.+\)/);
    // Deflate may emit some garbage before it notices the damage; what precedes the damage is intact.
    assert.ok(bytes.length > 100_000);
    assert.deepStrictEqual(bytes.subarray(0, 100_000), text.subarray(0, 100_000));
  });

  test('framing a truncated gzip yields the complete records, then the stream error', async () => {
    const records = Array.from({ length: 3000 }, (_, i) => ({
      eventID: String(i),
      eventName: 'GetObject',
      pad: 'x'.repeat(i % 50),
    }));
    const gz = gzipSync(JSON.stringify({ Records: records }));
    const obj = memoryObject('cut.json.gz', [gz.subarray(0, Math.floor(gz.length * 0.7))]);
    const got: unknown[] = [];
    await assert.rejects(async () => {
      for await (const item of frameStream(openDecoded(obj))) {
        assert.equal(item.kind, 'record');
        if (item.kind === 'record') got.push(JSON.parse(item.bytes.toString()));
      }
    }, InputError);
    assert.ok(got.length > 1000, `only ${got.length} records before the break`);
    assert.deepStrictEqual(got, records.slice(0, got.length));
  });
});

describe('decoded size limit', () => {
  test('a gzip bomb is stopped at maxDecodedBytes with an InputError naming the file', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    assert.ok(bomb.length < 128 * 1024);
    const obj = await fileObject('bomb.json.gz', bomb);
    const { bytes, error } = await readAllDecoded(obj, { maxDecodedBytes: 1024 * 1024 });
    assert.ok(error instanceof InputError);
    assert.match(error.message, /bomb\.json\.gz decompresses to more than 1 MiB/);
    assert.ok(bytes.length <= 1024 * 1024);
    const streamed = await collect(openDecoded(obj, { maxDecodedBytes: 1024 * 1024 }));
    assert.ok(streamed.error instanceof InputError);
    assert.match(streamed.error.message, /more than 1 MiB/);
  });

  test('the limit applies to plain files too, and exactly-at-limit is fine', async () => {
    const obj = await fileObject('big.json', Buffer.alloc(2048, 0x20));
    assert.deepStrictEqual((await readAllDecoded(obj, { maxDecodedBytes: 2048 })).error, undefined);
    const over = await readAllDecoded(obj, { maxDecodedBytes: 2047 });
    assert.ok(over.error instanceof InputError);
    assert.match(over.error.message, /big\.json is more than 2047 bytes/);
  });

  test('the default limit is 4 GiB', async () => {
    const { DEFAULT_DECODE_LIMITS } = await import('./log-object.js');
    assert.equal(DEFAULT_DECODE_LIMITS.maxDecodedBytes, 4 * 1024 ** 3);
  });
});

describe('open and read failures', () => {
  test('a file that vanished after listing: readAllDecoded rejects, openDecoded errors', async () => {
    const obj = await fileObject('gone.json', '{}');
    await rm(join(dir, 'gone.json'));
    await assert.rejects(readAllDecoded(obj), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /no such file or folder: .*gone\.json/);
      assert.equal(err.hint, 'check the path');
      return true;
    });
    const { error } = await collect(openDecoded(obj));
    assert.ok(error instanceof InputError);
  });

  test('errors of the source keep their class; plain errors become InputErrors naming the object', async () => {
    const aws: LogObject = {
      name: 's3://b/k',
      size: undefined,
      open: async () => {
        throw new AwsError('access denied to s3://b/k', 'check credentials');
      },
    };
    await assert.rejects(readAllDecoded(aws), AwsError);
    const failing: LogObject = {
      name: 'flaky.json',
      size: undefined,
      open: async () =>
        Readable.from(
          (async function* () {
            yield Buffer.from('{"Records":[');
            throw new Error('socket hang up');
          })(),
        ),
    };
    const { bytes, error } = await readAllDecoded(failing);
    assert.equal(bytes.toString(), '{"Records":[');
    assert.ok(error instanceof InputError);
    assert.match(error.message, /cannot read flaky\.json: socket hang up/);
  });

  test('stopping early closes the source', async () => {
    let destroyed = false;
    const source = new Readable({
      read() {
        this.push(Buffer.alloc(64 * 1024, 0x20));
      },
      destroy(err, cb) {
        destroyed = true;
        cb(err);
      },
    });
    const stream = openDecoded({ name: 'endless', size: undefined, open: async () => source });
    for await (const chunk of stream) {
      assert.ok(chunk.length > 0);
      break;
    }
    await new Promise((r) => setImmediate(r));
    assert.ok(destroyed);
  });

  test('a real delivery file, gzipped, frames to its records', async () => {
    const raw = await readFile(FIXTURE);
    const obj = await fileObject('real.json.gz', gzipSync(raw));
    const got: unknown[] = [];
    for await (const item of frameStream(openDecoded(obj))) {
      if (item.kind === 'record') got.push(JSON.parse(item.bytes.toString()));
    }
    assert.deepStrictEqual(got, (JSON.parse(raw.toString()) as { Records: unknown[] }).Records);
  });
});
