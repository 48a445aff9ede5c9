// The shape of a file from its start, as `hunt --engine duckdb` needs it to refuse what its SQL
// cannot read: every fixture shape, and the files that are not CloudTrail at all.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { sniffExportShape } from './sniff.js';

const WRAPPERS = fileURLToPath(new URL('../../fixtures/wrappers/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : name.endsWith('.md') ? [] : [path];
    });
}

function head(path: string): Buffer {
  let bytes = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  return bytes.subarray(0, 64 * 1024);
}

describe('sniffExportShape', () => {
  it('names every fixture shape and says which a one-level reader reads', () => {
    const seen: Record<string, string> = {};
    for (const path of files(WRAPPERS)) {
      const shape = sniffExportShape(head(path));
      seen[relative(WRAPPERS, path).replace(/\/.*\//, '/…/')] = `${shape.id} ${shape.oneLevel}`;
    }
    const by = (part: string) =>
      Object.entries(seen)
        .filter(([path]) => path.includes(part))
        .map(([, s]) => s);
    assert.deepEqual(new Set(by('lookup-events/')), new Set(['lookup-events-entry true']));
    assert.deepEqual(new Set(by('eventbridge/')), new Set(['eventbridge true']));
    assert.deepEqual(new Set(by('-subscription')), new Set(['cloudwatch-logs-event true']));
    assert.deepEqual(new Set(by('-filter-log-events')), new Set(['cloudwatch-logs-event true']));
    assert.deepEqual(new Set(by('-awslogs')), new Set(['awslogs false']));
    assert.deepEqual(new Set(by('-firehose-records')), new Set(['firehose-record false']));
    assert.deepEqual(new Set(by('cloudwatch-export/')), new Set(['cloudwatch-export false']));
    assert.deepEqual(new Set(by('splunk-hec/')), new Set(['splunk-hec true']));
    assert.deepEqual(new Set(by('lake/')), new Set(['lake-results true']));
    assert.deepEqual(new Set(by('plain/')), new Set(['delivery true']));
  });

  it('tells events, Cribl exports, Lake projections, empty exports and files that are not CloudTrail', () => {
    const shape = (text: string) => sniffExportShape(Buffer.from(text));
    assert.equal(shape('{"eventName":"X","eventSource":"s"}\n').id, 'events');
    assert.equal(shape('[{"_raw":"{\\"eventName\\":\\"X\\"}"}]').id, 'cribl');
    const projection = shape('{"QueryResultRows":[[{"eventName":"X"},{"sourceIPAddress":"1.2.3.4"}]]}');
    assert.equal(projection.id, 'lake-projection');
    assert.equal(projection.oneLevel, false);
    assert.equal(shape('{"Events":[]}').id, 'empty-export');
    assert.equal(shape('').id, 'empty');
    assert.equal(shape('{"digestStartTime":"x","digestS3Bucket":"b"}').id, 'digest');
    assert.equal(shape('# offbox\n').id, 'not-cloudtrail');
    assert.equal(shape('{"name":"offbox","version":"1"}').id, 'not-cloudtrail');
    // Wrappers in wrappers are more than one level.
    const nested = shape(
      '{"time":1,"sourcetype":"x","event":{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"X"}}}',
    );
    assert.equal(nested.id, 'splunk-hec');
    assert.equal(nested.oneLevel, false);
    // Another service's events first: the first CloudTrail one decides.
    const bus =
      '{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}' +
      '{"detail-type":"AWS API Call via CloudTrail","source":"aws.sts","detail":{"eventName":"X"}}';
    assert.deepEqual(shape(bus), { id: 'eventbridge', title: 'EventBridge events', oneLevel: true });
  });
});
