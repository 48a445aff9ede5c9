import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { InputError, UsageError } from '../errors.js';
import { frameStream } from '../cloudtrail/framing.js';
import { readAllDecoded, openDecoded, type LogObject } from './log-object.js';
import { isDigestPath, listLocal, stdinLogObject, DEFAULT_EXTENSIONS } from './local.js';
import { openSources } from './index.js';

let root: string;
const DAY = join('AWSLogs', '111122223333', 'CloudTrail', 'us-east-1', '2024', '01', '02');

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'offbox-local-'));
  const day = join(root, DAY);
  await mkdir(day, { recursive: true });
  const files: [string, string | Buffer][] = [
    [
      join(day, '111122223333_CloudTrail_us-east-1_20240102T0005Z_b.json.gz'),
      gzipSync('{"Records":[{"eventName":"B"}]}'),
    ],
    [join(day, '111122223333_CloudTrail_us-east-1_20240102T0000Z_a.json'), '{"Records":[{"eventName":"A"}]}'],
    [join(day, 'c.jsonl'), '{"eventName":"C"}\n'],
    [join(day, 'd.ndjson.gz'), gzipSync('{"eventName":"D"}\n')],
    [join(day, 'E.JSON'), '{"eventName":"E"}'],
    [join(day, 'notes.txt'), 'not a log'],
    [join(day, 'app.log'), '{"eventName":"L"}'],
    [join(day, 'archive.gz'), gzipSync('{"eventName":"G"}')],
    [join(root, 'AWSLogs', '111122223333', 'CloudTrail-Digest', 'us-east-1', '2024', '01', '02', 'x.json.gz'), '{}'],
    [join(root, 'other', '111122223333_CloudTrail-Digest_us-east-1_Trail_us-east-1_20240102T000000Z.json.gz'), '{}'],
    [join(root, 'other', 'z.json'), '{"eventName":"Z"}'],
    [join(root, 'more', 'y.json'), '{"eventName":"Y"}'],
  ];
  for (const [path, content] of files) {
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, content);
  }
  await mkdir(join(root, 'empty'), { recursive: true });
  await symlink(root, join(root, 'other', 'loop'));
  await symlink(
    join(day, '111122223333_CloudTrail_us-east-1_20240102T0000Z_a.json'),
    join(root, 'other', 'alias.json'),
  );
  await symlink(join(root, 'nowhere.json'), join(root, 'other', 'dangling.json'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function names(it: AsyncIterable<LogObject>): Promise<string[]> {
  const out: string[] = [];
  for await (const obj of it) out.push(obj.name);
  return out;
}

const rel = (paths: string[]): string[] => paths.map((p) => (p.startsWith(root) ? p.slice(root.length + 1) : p));

describe('listLocal', () => {
  test('walks folders recursively in sorted order, filtering by extension and skipping digests and loops', async () => {
    const listed = rel(await names(listLocal([root])));
    assert.deepStrictEqual(listed, [
      join(DAY, '111122223333_CloudTrail_us-east-1_20240102T0000Z_a.json'),
      join(DAY, '111122223333_CloudTrail_us-east-1_20240102T0005Z_b.json.gz'),
      join(DAY, 'E.JSON'),
      join(DAY, 'c.jsonl'),
      join(DAY, 'd.ndjson.gz'),
      join('more', 'y.json'),
      join('other', 'z.json'),
    ]);
  });

  test('a symbolic link to a folder is followed, and a loop through it ends', async () => {
    const listed = rel(await names(listLocal([join(root, 'other')])));
    assert.deepStrictEqual(listed, [
      join('other', 'alias.json'),
      join('other', 'loop', DAY, '111122223333_CloudTrail_us-east-1_20240102T0005Z_b.json.gz'),
      join('other', 'loop', DAY, 'E.JSON'),
      join('other', 'loop', DAY, 'c.jsonl'),
      join('other', 'loop', DAY, 'd.ndjson.gz'),
      join('other', 'loop', 'more', 'y.json'),
      join('other', 'z.json'),
    ]);
  });

  test('reports sizes and opens files', async () => {
    for await (const obj of listLocal([join(root, DAY)])) {
      assert.equal(typeof obj.size, 'number');
      const { bytes, error } = await readAllDecoded(obj);
      assert.equal(error, undefined);
      assert.match(bytes.toString(), /"eventName":"[A-E]"/);
    }
  });

  test('explicit files are read whatever their extension, even digests', async () => {
    const txt = join(root, DAY, 'notes.txt');
    const digest = join(
      root,
      'other',
      '111122223333_CloudTrail-Digest_us-east-1_Trail_us-east-1_20240102T000000Z.json.gz',
    );
    assert.deepStrictEqual(await names(listLocal([txt, digest])), [txt, digest]);
  });

  test('custom extensions (with or without the dot) replace the defaults', async () => {
    assert.deepStrictEqual(rel(await names(listLocal([join(root, DAY)], { extensions: ['log', '.GZ'] }))), [
      join(DAY, '111122223333_CloudTrail_us-east-1_20240102T0005Z_b.json.gz'),
      join(DAY, 'app.log'),
      join(DAY, 'archive.gz'),
      join(DAY, 'd.ndjson.gz'),
    ]);
    assert.deepStrictEqual(
      [...DEFAULT_EXTENSIONS],
      ['.json', '.json.gz', '.jsonl', '.jsonl.gz', '.ndjson', '.ndjson.gz'],
    );
  });

  test('a file reached twice (named twice, via a folder, or through a symlink) is listed once', async () => {
    const a = join(root, DAY, '111122223333_CloudTrail_us-east-1_20240102T0000Z_a.json');
    assert.deepStrictEqual(rel(await names(listLocal([a, a, join(root, 'other', 'alias.json')]))), [
      join(DAY, '111122223333_CloudTrail_us-east-1_20240102T0000Z_a.json'),
    ]);
    const walked = rel(await names(listLocal([join(root, DAY), a])));
    assert.equal(walked.length, 5);
    assert.equal(walked.filter((p) => p.endsWith('_a.json')).length, 1);
  });

  test('an empty folder lists nothing', async () => {
    assert.deepStrictEqual(await names(listLocal([join(root, 'empty')])), []);
  });

  test('a missing path is an InputError before anything is listed', async () => {
    const seen: string[] = [];
    await assert.rejects(
      async () => {
        for await (const obj of listLocal([root, join(root, 'no-such-dir')])) seen.push(obj.name);
      },
      (err: unknown) => {
        assert.ok(err instanceof InputError);
        assert.equal(err.message, `no such file or folder: ${join(root, 'no-such-dir')}`);
        assert.equal(err.hint, 'check the path');
        return true;
      },
    );
    assert.deepStrictEqual(seen, []);
  });

  test('isDigestPath', () => {
    assert.ok(isDigestPath('AWSLogs/1/CloudTrail-Digest/us-east-1/2024/01/02/x.json.gz'));
    assert.ok(isDigestPath('x/111122223333_CloudTrail-Digest_us-east-1_T_us-east-1_20240102T000000Z.json.gz'));
    assert.ok(isDigestPath('C:\\logs\\CloudTrail-Digest\\a.json'));
    assert.ok(!isDigestPath('AWSLogs/1/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_x.json.gz'));
    assert.ok(!isDigestPath('my-CloudTrail-Digest-notes/a.json'));
  });
});

describe('stdin', () => {
  test('- reads an injected stream, gzip included, split into tiny chunks', async () => {
    const gz = gzipSync('{"Records":[{"eventName":"S"}]}');
    const stdin = Readable.from([...gz].map((b) => Buffer.from([b])));
    const objects: LogObject[] = [];
    for await (const obj of listLocal(['-'], { stdin })) objects.push(obj);
    assert.equal(objects.length, 1);
    assert.equal(objects[0]!.name, '-');
    assert.equal(objects[0]!.size, undefined);
    const events: string[] = [];
    for await (const item of frameStream(openDecoded(objects[0]!))) {
      if (item.kind === 'record') events.push(item.bytes.toString());
    }
    assert.deepStrictEqual(events, ['{"eventName":"S"}']);
  });

  test('stdin can be opened once', async () => {
    const obj = stdinLogObject(new PassThrough());
    await obj.open();
    await assert.rejects(obj.open(), InputError);
  });

  test('the default stdin is process.stdin', async () => {
    const obj = stdinLogObject();
    assert.equal(await obj.open(), process.stdin);
  });
});

describe('openSources (local)', () => {
  test('keeps the order of the specs, dispatches - to stdin, lists a file once', async () => {
    const a = join(root, DAY, '111122223333_CloudTrail_us-east-1_20240102T0000Z_a.json');
    const stdin = Readable.from([Buffer.from('{"eventName":"S"}')]);
    const listed = await names(openSources([join(root, 'more'), '-', a, join(root, DAY)], { stdin }));
    assert.deepStrictEqual(rel(listed), [
      join('more', 'y.json'),
      '-',
      join(DAY, '111122223333_CloudTrail_us-east-1_20240102T0000Z_a.json'),
      join(DAY, '111122223333_CloudTrail_us-east-1_20240102T0005Z_b.json.gz'),
      join(DAY, 'E.JSON'),
      join(DAY, 'c.jsonl'),
      join(DAY, 'd.ndjson.gz'),
    ]);
  });

  test('checks every local path before listing anything', async () => {
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const obj of openSources([root, 'definitely/not/here.json'])) seen.push(obj.name);
    }, /no such file or folder: definitely\/not\/here\.json/);
    assert.deepStrictEqual(seen, []);
  });

  test('stdin named twice is a usage error', async () => {
    await assert.rejects(async () => {
      for await (const obj of openSources(['-', '-'])) void obj;
    }, UsageError);
  });
});

describe('log file names beyond the .json endings, and inputs that list nothing', () => {
  test('Firehose and CloudWatch Logs export objects are log files; other names are not', async () => {
    const { isLogFileName } = await import('./local.js');
    const ext = [...DEFAULT_EXTENSIONS];
    assert.ok(isLogFileName('offbox-trail-1-2023-07-10-11-54-38-a454b93a-decf-450c-866d-26c8e138b562', ext));
    assert.ok(isLogFileName('bus-archive-12-2023-07-10-11-54-38-a454b93a-decf-450c-866d-26c8e138b562.gz', ext));
    assert.ok(isLogFileName('exportedlogs/5d67e47b/123_CloudTrail_us-east-1/000000.gz', ext));
    assert.ok(!isLogFileName('LICENSE', ext));
    assert.ok(!isLogFileName('aws-logs-write-test', ext));
    assert.ok(!isLogFileName('archive.gz', ext));
    assert.ok(!isLogFileName('offbox-trail-1-2023-07-10-11-54-38-notauuid', ext));
  });

  test('a folder walk counts what it leaves out, and requireObjects refuses a listing of nothing', async () => {
    const { requireObjects } = await import('./index.js');
    const skipped = { digests: 0, otherNames: 0 };
    const listed: string[] = [];
    for await (const o of listLocal([root], { skipped })) listed.push(o.name);
    assert.ok(listed.length > 0);
    assert.equal(skipped.digests, 2, 'a CloudTrail-Digest folder and a digest file name');
    assert.equal(skipped.otherNames, 3, 'notes.txt, app.log, archive.gz');

    const digestsOnly = join(root, 'AWSLogs', '111122223333', 'CloudTrail-Digest');
    const none = { digests: 0, otherNames: 0 };
    await assert.rejects(
      async () => {
        for await (const o of requireObjects(listLocal([digestsOnly], { skipped: none }), [digestsOnly], none)) void o;
      },
      (error: unknown) =>
        error instanceof UsageError &&
        error.message.startsWith(`no log files in ${digestsOnly} (left out: 1 CloudTrail digest file)`) &&
        /name a file to read it whatever its name/.test(error.hint ?? ''),
    );
    const empty = await mkdtemp(join(tmpdir(), 'offbox-empty-'));
    try {
      const counts = { digests: 0, otherNames: 0 };
      await assert.rejects(
        async () => {
          for await (const o of requireObjects(openSources([empty], { skipped: counts }), [empty], counts)) void o;
        },
        new RegExp(`^UsageError: no log files in ${empty}$`),
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
