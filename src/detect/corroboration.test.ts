import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { classifyCredential } from '../cloudtrail/credential.js';
import { normaliseRecord, type CloudTrailEvent } from '../cloudtrail/event.js';
import { instanceCall } from '../cloudtrail/events.test-helpers.js';
import { VendingIndex } from '../cloudtrail/vending.js';
import { buildDetectionContext } from '../engine/context.js';
import { addToUsages, finaliseUsage, type Usage } from '../engine/usage.js';
import { OwnershipMap } from '../inventory/ownership.js';
import { loadAwsRanges } from '../net/aws-ranges.js';
import { buildSourceClassifier } from '../net/source-class.js';
import { corroborate, corroboratedConfidence } from './corroboration.js';
import type { Confidence } from './finding.js';

const sources = buildSourceClassifier({ awsRanges: loadAwsRanges(), allowedCidrs: [] });

function usagesOf(records: Record<string, unknown>[]): Usage[] {
  const usages = new Map<string, Usage>();
  for (const record of records) addToUsages(usages, normaliseRecord(record) as CloudTrailEvent);
  for (const usage of usages.values()) finaliseUsage(usage);
  return [...usages.values()];
}

describe('corroboration', () => {
  it('each signal raises the confidence one step, two at most, never past high', () => {
    const order: Confidence[] = ['low', 'medium', 'high'];
    fc.assert(
      fc.property(fc.constantFrom<Confidence>('low', 'medium', 'high'), fc.nat(10), (confidence, signals) => {
        const after = corroboratedConfidence(confidence, signals);
        const steps = order.indexOf(after) - order.indexOf(confidence);
        assert.ok(steps >= 0 && steps <= Math.min(signals, 2));
        if (signals > 0 && confidence !== 'high') assert.ok(steps >= 1);
      }),
    );
  });

  it('property: any user agents, regions and errors give well-formed signals and never throw', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            userAgent: fc.oneof(
              fc.string({ maxLength: 80 }),
              fc.constantFrom(
                'aws-cli/2.13.25 Python/3.11.6 Linux/6.5.0-kali3-amd64 source/x86_64.kali.2023',
                'Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#6.1',
                'aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64',
                'aws-internal/3 aws-sdk-java/1.12.596',
                'Go-http-client/1.1',
              ),
            ),
            region: fc.constantFrom('us-east-1', 'us-west-2', 'eu-west-1', 'ap-south-1'),
            sourceIp: fc.constantFrom('10.1.2.3', '1.2.3.4', '52.6.117.40', 'AWS Internal', 'not-an-ip'),
            errorCode: fc.constantFrom(undefined, 'AccessDenied', 'ThrottlingException'),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        (calls) => {
          const records = calls.map((c, i) =>
            instanceCall({ ...c, eventTime: `2024-05-01T10:${String(i).padStart(2, '0')}:00Z` }),
          );
          const usages = usagesOf(records);
          const { ctx } = buildDetectionContext({
            usages,
            vending: new VendingIndex(),
            sources,
            ownership: new OwnershipMap(),
            trustedAccounts: [],
            recipientAccounts: [],
            revocations: [],
            ipRangesSyncToken: 'test',
          });
          for (const usage of usages) {
            const credential = classifyCredential(usage.identity, usage.firstUserAgent, undefined);
            const { signals } = corroborate(usage, credential, sources.classify(usage.sourceIp), 'us-east-1', ctx);
            for (const signal of signals) assert.ok(typeof signal === 'string' && signal.length > 0);
            assert.equal(new Set(signals).size, signals.length, 'no signal twice');
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
