import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { scanWebLogs as scanWith } from '../engine/web-scan.js';
import { loadAwsRanges } from '../net/aws-ranges.js';
import type { LogObject } from '../sources/log-object.js';
import { albLine, logObjects, memoryLog, nginxLine, wafLine } from '../weblogs/weblog-lines.test-helpers.js';

const DETECTOR = 'signed-aws-url-in-request';
const awsRanges = loadAwsRanges();
const scan = (objects: AsyncIterable<LogObject>) => scanWith(objects, { awsRanges });
const KEY = 'ASIAQNZGKIQY4ELOKMEA';
const PRESIGNED =
  `https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256` +
  `&X-Amz-Credential=${KEY}%2F20240501%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20240501T100000Z&X-Amz-Expires=900` +
  `&X-Amz-SignedHeaders=host&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE&X-Amz-Signature=0123456789abcdef`;

function signedOnly(findings: { detector: string }[]) {
  return findings.filter((f) => f.detector === DETECTOR);
}

describe(DETECTOR, () => {
  it('a pre-signed STS call relayed in a query parameter: key, scope, action, session token, join commands', async () => {
    const url = `https://app.example.com:443/proxy?u=${encodeURIComponent(PRESIGNED)}`;
    const result = await scan(logObjects(memoryLog('a.log', [albLine({ url })])));
    const [f] = signedOnly(result.findings) as typeof result.findings;
    assert.ok(f);
    assert.equal(f.severity, 'high');
    assert.equal(f.confidence, 'high');
    assert.deepEqual(f.principal.accessKeyIds, [KEY]);
    assert.deepEqual(f.activity.regions, ['us-east-1']);
    assert.deepEqual(f.evidence.locations, ['a.log:1']);
    assert.deepEqual(f.request, { method: 'GET', url, clientIp: '81.2.69.143', status: 200 });
    assert.equal(f.attack.technique, 'T1552.005');
    const reasons = f.evidence.reasons.join('\n');
    assert.match(
      reasons,
      new RegExp(
        `SigV4-signed request in the query string, signed with the temporary access key ${KEY} \\(credential scope 20240501/us-east-1/sts\\)`,
      ),
    );
    assert.match(reasons, /sts:GetCallerIdentity/);
    assert.match(reasons, /signed for sts\.amazonaws\.com/);
    assert.match(reasons, /session token travels with it/);
    assert.match(reasons, /round 1: percent-decoding/);
    assert.deepEqual(f.response.commands.slice(0, 2), [
      `aws sts get-access-key-info --access-key-id ${KEY}`,
      `aws cloudtrail lookup-events --lookup-attributes AttributeKey=AccessKeyId,AttributeValue=${KEY} --region us-east-1`,
    ]);
  });

  it('SigV2 query signatures and signed Authorization headers (WAF logs them)', async () => {
    const result = await scan(
      logObjects(
        memoryLog('mixed.log', [
          nginxLine({
            client: '203.0.113.5',
            request: `GET /img?src=https%3A%2F%2Fbucket.s3.amazonaws.com%2Fa.png%3FAWSAccessKeyId%3D${KEY}%26Expires%3D1714557600%26Signature%3DabcdEF%253D HTTP/1.1`,
          }),
          wafLine({
            uri: '/api/relay',
            client: '203.0.113.6',
            headers: [
              ['Host', 'app.example.com'],
              [
                'Authorization',
                `AWS4-HMAC-SHA256 Credential=${KEY}/20240501/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=ab`,
              ],
            ],
          }),
        ]),
      ),
    );
    const found = signedOnly(result.findings) as typeof result.findings;
    assert.equal(found.length, 2);
    const v2 = found.find((f) => f.source.ip === '203.0.113.5')!;
    assert.ok(v2.evidence.reasons.some((r) => /SigV2-signed request/.test(r)));
    assert.equal(v2.confidence, 'medium');
    const header = found.find((f) => f.source.ip === '203.0.113.6')!;
    assert.ok(header.evidence.reasons.some((r) => /SigV4-signed request in a request header/.test(r)));
    assert.deepEqual(header.activity.regions, ['eu-west-1']);
  });

  it('does not fire on long-term keys, unsigned mentions or look-alike words', async () => {
    const result = await scan(
      logObjects(
        memoryLog('benign.log', [
          albLine({
            url: `https://app.example.com:443/dl?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240501%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=ab`,
          }),
          albLine({ url: `https://app.example.com:443/search?q=X-Amz-Credential%3D${KEY}` }),
          albLine({ url: 'https://app.example.com:443/travel/ASIAPACIFICTOURS2024?Signature=x' }),
        ]),
      ),
    );
    assert.deepEqual(signedOnly(result.findings), []);
  });

  it('property: the key is found in any percent-encoding depth and position', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom('query', 'path', 'fragment'),
        async (depth, where) => {
          let payload = PRESIGNED;
          for (let i = 0; i < depth; i++) payload = encodeURIComponent(payload);
          const target = where === 'query' ? `/p?u=${payload}` : where === 'path' ? `/p/${payload}` : `/p#${payload}`;
          const result = await scan(
            logObjects(memoryLog('p.log', [albLine({ url: `https://app.example.com:443${target}` })])),
          );
          const found = signedOnly(result.findings) as typeof result.findings;
          assert.equal(found.length, 1, `${depth} ${where}`);
          assert.deepEqual(found[0]!.principal.accessKeyIds, [KEY]);
        },
      ),
      { numRuns: 30 },
    );
  });
});
