import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { instanceCall } from './events.test-helpers.js';
import { parseRecordBytes } from './records.js';

const events = (items: ReturnType<typeof parseRecordBytes>) => items.filter((i) => 'event' in i);
const bad = (items: ReturnType<typeof parseRecordBytes>) => items.filter((i) => 'bad' in i);

describe('parseRecordBytes', () => {
  it('parses one event', () => {
    const items = parseRecordBytes(JSON.stringify(instanceCall()));
    assert.equal(events(items).length, 1);
  });
  it('expands a Records wrapper (concatenated delivery files in JSON lines)', () => {
    const items = parseRecordBytes(JSON.stringify({ Records: [instanceCall(), instanceCall()] }));
    assert.equal(events(items).length, 2);
  });
  it('expands Cribl/Splunk _raw wrappers, as string or object', () => {
    const asString = parseRecordBytes(JSON.stringify({ _raw: JSON.stringify({ Records: [instanceCall()] }) }));
    const asObject = parseRecordBytes(JSON.stringify({ _raw: { Records: [instanceCall(), instanceCall()] } }));
    const splunk = parseRecordBytes(JSON.stringify({ result: { _raw: JSON.stringify(instanceCall()) } }));
    assert.equal(events(asString).length, 1);
    assert.equal(events(asObject).length, 2);
    assert.equal(events(splunk).length, 1);
  });
  it('reports invalid JSON and non-events, never throws', () => {
    assert.match((bad(parseRecordBytes('{"eventName": "x"'))[0] as { bad: string }).bad, /invalid JSON/);
    assert.match((bad(parseRecordBytes('42'))[0] as { bad: string }).bad, /not a JSON object/);
    assert.match((bad(parseRecordBytes('{"a":1}'))[0] as { bad: string }).bad, /not a CloudTrail event/);
    assert.match((bad(parseRecordBytes('{"_raw":"{oops"}'))[0] as { bad: string }).bad, /_raw/);
  });
  it('skips digest objects silently', () => {
    assert.deepEqual(parseRecordBytes(JSON.stringify({ digestStartTime: 'x', digestS3Bucket: 'b' })), []);
  });
  it('stops at absurd wrapper nesting', () => {
    let value: unknown = instanceCall();
    for (let i = 0; i < 10; i++) value = { _raw: value };
    assert.equal(bad(parseRecordBytes(JSON.stringify(value))).length, 1);
  });
  it('the Cribl capture fixture yields the same 249 events as its flattening', () => {
    const dir = new URL('../../fixtures/cloudtrail/', import.meta.url);
    const capture = ['BeVTW2.cribl-capture.json', 'zyNWSr.cribl-capture.json'].flatMap((name) =>
      events(parseRecordBytes(readFileSync(new URL(`cribl-capture/${name}`, dir)))),
    );
    const flat = events(parseRecordBytes(readFileSync(new URL('cribl/records.derived.json', dir))));
    assert.equal(flat.length, 249);
    assert.equal(capture.length, 249);
  });
});
