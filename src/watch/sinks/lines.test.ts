import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { sampleFinding } from '../../report/sample-findings.test-helpers.js';
import { fileSink, jsonLines, ndjsonLines, streamSink } from './lines.js';

const dir = mkdtempSync(join(tmpdir(), 'offbox-lines-'));
const sampleFindings = (): ReturnType<typeof sampleFinding>[] => [
  sampleFinding({ id: 'f-aaaa' }),
  sampleFinding({ id: 'f-bbbb', source: { ip: '203.0.113.9' } }),
];

describe('fileSink', () => {
  it('appends one line per finding and finds the ids written past a position', async () => {
    const path = join(dir, 'a.ndjson');
    writeFileSync(path, '{"note":"written by someone else"}\n');
    const sink = fileSink(path, ndjsonLines);
    const start = sink.size();
    const [a, b] = sampleFindings();
    await sink.deliver([a!, b!]);
    assert.deepEqual([...sink.recover(start)], [a!.id, b!.id]);
    assert.equal(sink.recover(sink.size()).size, 0);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.equal(JSON.parse(lines[2]!).id, b!.id);
    await sink.close?.();
  });

  it('cuts a torn last line off, so the next finding starts a line of its own', async () => {
    const path = join(dir, 'b.ndjson');
    const sink = fileSink(path, ndjsonLines);
    const [a, b] = sampleFindings();
    await sink.deliver([a!]);
    const committed = sink.size();
    // A crash in the middle of the next write leaves half a line.
    appendFileSync(path, JSON.stringify(b).slice(0, 40));
    assert.equal(sink.recover(committed).size, 0);
    assert.equal(statSync(path).size, committed);
    await sink.deliver([b!]);
    const ids = readFileSync(path, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: string }).id);
    assert.deepEqual(ids, [a!.id, b!.id]);
    await sink.close?.();
  });

  it('reads ids from other line formats by their path', () => {
    const format = jsonLines('wrapped', (f) => ({ finding_info: { uid: f.id } }), ['finding_info', 'uid']);
    const [a] = sampleFindings();
    assert.equal(format.idOf(format.line(a!)), a!.id);
    assert.equal(format.idOf('not json'), undefined);
    assert.equal(format.idOf('{"finding_info":{}}'), undefined);
  });
});

describe('streamSink', () => {
  it('writes ndjson lines whose control characters are escaped', async () => {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const [a] = sampleFindings();
    const hostile = { ...a!, activity: { ...a!.activity, userAgents: ['evil\u001b[2J\u0007agent'] } };
    await streamSink(stream, ndjsonLines).deliver([hostile]);
    const text = Buffer.concat(chunks).toString('utf8');
    assert.ok(!text.includes('\u001b'), 'no raw ESC');
    assert.ok(text.includes('\\u001b[2J'));
    assert.equal(text.split('\n').length, 2);
  });
});
