// What a file looks like, in the words of the message offbox gives when it reads nothing from it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { describeContent } from './input-shape.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const d = (text: string | Buffer) => describeContent(typeof text === 'string' ? Buffer.from(text) : text);

describe('describeContent', () => {
  it('names the files people point offbox at by mistake', () => {
    assert.equal(d(readFileSync(`${ROOT}README.md`)), 'Markdown/text');
    assert.match(d(readFileSync(`${ROOT}package.json`)), /^a JSON object with keys name, version, description/);
    assert.equal(d(''), 'an empty file');
    assert.equal(d(' \n'), 'an empty file');
    assert.equal(d(Buffer.from([0x50, 0x4b, 3, 4, 0, 0])), 'a ZIP archive');
    assert.equal(d(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip data inside gzip');
    assert.equal(d(Buffer.from([1, 2, 3, 0, 250])), 'binary data, not text');
  });

  it('names the web logs, inventory and other AWS outputs offbox reads elsewhere', () => {
    const alb =
      'https 2024-01-01T00:00:00.000000Z app/web/0123456789abcdef 203.0.113.7:5555 10.0.0.1:80 0.001 0.002 0.000 200 200 100 200 ' +
      '"GET https://example.com:443/ HTTP/1.1" "curl/8.5.0" - - arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef ' +
      '"Root=1-65920000-0123456789abcdef01234567" "example.com" "-" 0 2024-01-01T00:00:00.000000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-"\n';
    assert.match(d(alb), /^an ALB access log/);
    assert.match(
      d('127.0.0.1 - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" 200 2326 "-" "curl/8"\n'),
      /nginx\/Apache/,
    );
    assert.match(
      d('{"Reservations":[{"Instances":[]}]}'),
      /describe-instances output \(inventory: pass its folder with --inventory\)/,
    );
    assert.match(d('{"timestamp":1,"httpRequest":{"clientIp":"1.2.3.4"}}'), /AWS WAF log/);
    assert.match(d('{"syncToken":"1","createDate":"x","prefixes":[]}'), /ip-ranges\.json/);
    assert.equal(d('{"QueryStatus":"FAILED","ErrorMessage":"x"}'), 'a JSON object with keys QueryStatus, ErrorMessage');
    assert.equal(d('[{"eventName":"X"}]'), 'a JSON array of CloudTrail events');
    assert.equal(d('[[1,2]]'), 'a JSON array of arrays');
    assert.match(d('a,b,c\n1,2,3\n'), /^CSV \(columns a, b, c\)/);
    assert.match(d('2023-07-10T12:05:01.123Z START RequestId: 1\n'), /timestamped text lines/);
  });

  it('keeps keys short and free of control characters', () => {
    const shape = d(`{"${'k'.repeat(500)}\\u001b[31m":1,"\u0007bell":2}`);
    assert.ok(shape.length < 200, shape);
    assert.ok(!/\p{Cc}/u.test(shape), shape);
  });
});
