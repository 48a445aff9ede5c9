import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { AwsError, InputError } from '../errors.js';
import { frameBuffer } from '../cloudtrail/framing.js';
import { readAllDecoded, type LogObject } from './log-object.js';
import { createS3Client, listS3, parseS3Url, s3Error } from './s3.js';
import { openSources } from './index.js';

const BUCKET = 'trail-bucket';
const DAY = 'AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/';
const DIGEST =
  'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/02/111122223333_CloudTrail-Digest_us-east-1_T_us-east-1_20240102T000000Z.json.gz';

// Only loopback: the server binds 127.0.0.1, every client points at it, and the credential
// chain is confined to environment variables (no config files, no instance metadata).
const ENV: Record<string, string | undefined> = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_DEFAULT_PROFILE: undefined,
  AWS_DEFAULT_REGION: undefined,
  AWS_ENDPOINT_URL: undefined,
  AWS_ENDPOINT_URL_S3: undefined,
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
  AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
  AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
  AWS_ROLE_ARN: undefined,
};
const savedEnv: Record<string, string | undefined> = {};

let dir: string;
let server: S3rver;
let endpointUrl: string;
let admin: S3Client;

interface Uploaded {
  key: string;
  events: string[];
}
const uploaded: Uploaded[] = [];

// s3rver 3.7 encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node >= 17)
// offers only with --openssl-legacy-provider; without it every second page is an InternalError.
// The token is opaque to clients, so s3rver gets a pass-through "cipher" for that one algorithm.
const cryptoModule = crypto as unknown as Record<
  'createCipheriv' | 'createDecipheriv',
  (...args: unknown[]) => unknown
>;
const realCipheriv = cryptoModule.createCipheriv;
const realDecipheriv = cryptoModule.createDecipheriv;
function shimDesForS3rver(): void {
  const passThrough = {
    update: (data: string | Buffer, encoding?: BufferEncoding) =>
      typeof data === 'string' ? Buffer.from(data, encoding ?? 'utf8') : Buffer.from(data),
    final: () => Buffer.alloc(0),
  };
  cryptoModule.createCipheriv = (alg, ...rest) => (alg === 'des' ? passThrough : realCipheriv(alg, ...rest));
  cryptoModule.createDecipheriv = (alg, ...rest) => (alg === 'des' ? passThrough : realDecipheriv(alg, ...rest));
}

function setEnv(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'offbox-s3-'));
  for (const k of [...Object.keys(ENV), 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE']) savedEnv[k] = process.env[k];
  setEnv({ ...ENV, AWS_CONFIG_FILE: join(dir, 'no-config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials') });

  shimDesForS3rver();
  server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: join(dir, 'data'),
    configureBuckets: [{ name: BUCKET }],
  });
  const address = await server.run();
  assert.equal(address.address, '127.0.0.1');
  endpointUrl = `http://127.0.0.1:${address.port}`;
  admin = createS3Client({ endpointUrl });

  const put = async (key: string, body: Buffer | string, contentEncoding?: string): Promise<void> => {
    await admin.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: key,
        Body: body,
        ...(contentEncoding ? { ContentEncoding: contentEncoding } : {}),
      }),
    );
  };
  for (let i = 0; i < 10; i++) {
    const stamp = `20240102T${String(i).padStart(2, '0')}00Z`;
    const events = [`{"eventName":"E${i}a","eventID":"${i}-a"}`, `{"eventName":"E${i}b","eventID":"${i}-b"}`];
    const json = `{"Records":[${events.join(',')}]}`;
    const gz = i % 3 === 0;
    const key = `${DAY}111122223333_CloudTrail_us-east-1_${stamp}_${i}.json${gz ? '.gz' : ''}`;
    await put(key, gz ? gzipSync(json) : json, i === 3 ? 'gzip' : undefined);
    uploaded.push({ key, events });
  }
  await put(DIGEST, gzipSync('{"digestStartTime":"x","logFiles":[]}'));
  await put(`${DAY}notes.txt`, 'not a log');
  await put(`${DAY}`, Buffer.alloc(0));
  await put('other/x.json', '{"Records":[{"eventName":"X"}]}');
  uploaded.sort((a, b) => (a.key < b.key ? -1 : 1));
});

after(async () => {
  admin?.destroy();
  await server?.close();
  cryptoModule.createCipheriv = realCipheriv;
  cryptoModule.createDecipheriv = realDecipheriv;
  setEnv(savedEnv);
  await rm(dir, { recursive: true, force: true });
});

async function list(it: AsyncIterable<LogObject>): Promise<LogObject[]> {
  const out: LogObject[] = [];
  for await (const obj of it) out.push(obj);
  return out;
}

async function eventsOf(obj: LogObject): Promise<string[]> {
  const { bytes, error } = await readAllDecoded(obj);
  assert.equal(error, undefined);
  const out: string[] = [];
  for (const item of frameBuffer(bytes)) {
    assert.equal(item.kind, 'record');
    if (item.kind === 'record') out.push(item.bytes.toString());
  }
  return out;
}

describe('parseS3Url', () => {
  test('bucket and prefix', () => {
    assert.deepStrictEqual(parseS3Url('s3://b-1.x/AWSLogs/1/'), { bucket: 'b-1.x', prefix: 'AWSLogs/1/' });
    assert.deepStrictEqual(parseS3Url('s3://bucket'), { bucket: 'bucket', prefix: '' });
    assert.deepStrictEqual(parseS3Url('s3://bucket/'), { bucket: 'bucket', prefix: '' });
    assert.deepStrictEqual(parseS3Url('S3://bucket/k'), { bucket: 'bucket', prefix: 'k' });
  });
  test('malformed URLs are InputErrors with a hint', () => {
    for (const bad of ['s3://', 's3:///key', 'http://bucket/key', 's3://b/x', 's3://bad bucket/x']) {
      assert.throws(
        () => parseS3Url(bad),
        (err: unknown) => err instanceof InputError && /s3:\/\/bucket\/prefix/.test(err.hint ?? ''),
        bad,
      );
    }
  });
});

describe('listS3 against s3rver on 127.0.0.1', () => {
  test('lists across pages, skipping digests, folder markers and other endings; reads plain and gzipped objects', async () => {
    const client = createS3Client({ endpointUrl });
    let listCalls = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ListObjectsV2Command') listCalls++;
        return next(args);
      },
      { step: 'initialize', name: 'countListCalls' },
    );
    try {
      const objects = await list(listS3(`s3://${BUCKET}/AWSLogs/111122223333/`, { client, endpointUrl, maxKeys: 3 }));
      assert.ok(listCalls >= 4, `expected several pages, got ${listCalls} ListObjectsV2 calls`);
      assert.deepStrictEqual(
        objects.map((o) => o.name),
        uploaded.map((u) => `s3://${BUCKET}/${u.key}`),
      );
      for (const [i, obj] of objects.entries()) {
        assert.ok(typeof obj.size === 'number' && obj.size > 0);
        assert.deepStrictEqual(await eventsOf(obj), uploaded[i]!.events, obj.name);
      }
    } finally {
      client.destroy();
    }
  });

  test('builds its own client from endpointUrl (path style, WHEN_REQUIRED checksums)', async () => {
    const objects = await list(listS3(`s3://${BUCKET}`, { endpointUrl }));
    assert.deepStrictEqual(
      objects.map((o) => o.name),
      [...uploaded.map((u) => `s3://${BUCKET}/${u.key}`), `s3://${BUCKET}/other/x.json`],
    );
    assert.deepStrictEqual(await eventsOf(objects.at(-1)!), ['{"eventName":"X"}']);
  });

  test('an object named exactly is listed whatever its ending', async () => {
    const objects = await list(listS3(`s3://${BUCKET}/${DAY}notes.txt`, { endpointUrl }));
    assert.deepStrictEqual(
      objects.map((o) => o.name),
      [`s3://${BUCKET}/${DAY}notes.txt`],
    );
  });

  test('openSources dispatches s3:// URLs', async () => {
    const objects = await list(openSources([`s3://${BUCKET}/other/`], { endpointUrl }));
    assert.deepStrictEqual(
      objects.map((o) => o.name),
      [`s3://${BUCKET}/other/x.json`],
    );
  });

  test('a missing bucket is an AwsError that says to check the bucket name', async () => {
    await assert.rejects(list(listS3('s3://no-such-bucket/AWSLogs/', { endpointUrl })), (err: unknown) => {
      assert.ok(err instanceof AwsError);
      assert.equal(err.message, 'S3 bucket not found: no-such-bucket');
      assert.match(err.hint ?? '', /check the bucket name/);
      return true;
    });
  });

  test('an object deleted after listing is an AwsError when opened', async () => {
    const key = `${DAY}111122223333_CloudTrail_us-east-1_20240102T9999Z_gone.json`;
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '{"Records":[]}' }));
    const objects = await list(listS3(`s3://${BUCKET}/${key}`, { endpointUrl }));
    assert.equal(objects.length, 1);
    await admin.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    await assert.rejects(objects[0]!.open(), (err: unknown) => {
      assert.ok(err instanceof AwsError);
      assert.match(err.message, /S3 object not found: s3:\/\/trail-bucket\/.*gone\.json/);
      return true;
    });
    await assert.rejects(readAllDecoded(objects[0]!), AwsError);
  });

  test('rejected credentials are an AwsError about the credentials', async () => {
    const client = new S3Client({
      endpoint: endpointUrl,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'WRONG', secretAccessKey: 'WRONG' },
      maxAttempts: 1,
    });
    try {
      await assert.rejects(list(listS3(`s3://${BUCKET}/`, { client, endpointUrl })), (err: unknown) => {
        assert.ok(err instanceof AwsError);
        assert.equal(err.message, 'S3 rejected the credentials (InvalidAccessKeyId)');
        assert.match(err.hint ?? '', /--profile/);
        return true;
      });
    } finally {
      client.destroy();
    }
  });

  test('a missing profile is an AwsError pointing at aws configure', async (t) => {
    // Without static keys in the environment the chain can only try the (absent) profile.
    setEnv({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined });
    t.after(() =>
      setEnv({ AWS_ACCESS_KEY_ID: ENV['AWS_ACCESS_KEY_ID'], AWS_SECRET_ACCESS_KEY: ENV['AWS_SECRET_ACCESS_KEY'] }),
    );
    await assert.rejects(
      list(listS3(`s3://${BUCKET}/`, { endpointUrl, profile: 'offbox-test-no-such-profile' })),
      (err: unknown) => {
        assert.ok(err instanceof AwsError, String(err));
        assert.match(err.message, /no AWS credentials found \(profile offbox-test-no-such-profile\)/);
        assert.match(err.hint ?? '', /aws configure --profile offbox-test-no-such-profile/);
        return true;
      },
    );
  });

  test('an unreachable endpoint is an AwsError that says to check --endpoint-url', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as { port: number };
        probe.close(() => resolve(p));
      });
    });
    const deadUrl = `http://127.0.0.1:${port}`;
    const client = new S3Client({ endpoint: deadUrl, forcePathStyle: true, region: 'us-east-1', maxAttempts: 1 });
    try {
      await assert.rejects(list(listS3(`s3://${BUCKET}/`, { client, endpointUrl: deadUrl })), (err: unknown) => {
        assert.ok(err instanceof AwsError);
        assert.match(err.message, new RegExp(`cannot reach S3 at ${deadUrl}.*ECONNREFUSED`));
        assert.match(err.hint ?? '', /--endpoint-url/);
        return true;
      });
    } finally {
      client.destroy();
    }
  });
});

describe('s3Error', () => {
  const ctx = { bucket: 'b', prefix: 'p/' };
  const sdkError = (name: string, status?: number): Error =>
    Object.assign(new Error(`${name} happened`), {
      name,
      $metadata: status === undefined ? {} : { httpStatusCode: status },
    });

  test('maps the common failures to hints', () => {
    const cases: [Error, RegExp, RegExp][] = [
      [sdkError('AccessDenied', 403), /access denied to s3:\/\/b\/p\//, /s3:ListBucket/],
      [sdkError('ExpiredToken', 400), /expired/, /refresh/],
      [sdkError('PermanentRedirect', 301), /another region/, /--region/],
      [new Error('Region is missing'), /no AWS region/, /--region/],
      [
        Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
        /no AWS credentials/,
        /aws configure/,
      ],
      [
        Object.assign(new Error('getaddrinfo ENOTFOUND s3.example'), { code: 'ENOTFOUND' }),
        /cannot reach S3/,
        /network|--region/,
      ],
      [sdkError('SlowDown', 503), /failed: SlowDown \(HTTP 503\)/, /aws s3 ls/],
    ];
    for (const [err, message, hint] of cases) {
      const mapped = s3Error(err, ctx);
      assert.ok(mapped instanceof AwsError);
      assert.match(mapped.message, message);
      assert.match(mapped.hint ?? '', hint);
      assert.equal(mapped.cause, err);
    }
  });

  test('offbox errors pass through', () => {
    const e = new InputError('x', 'y');
    assert.equal(s3Error(e, ctx), e);
  });
});
