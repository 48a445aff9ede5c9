import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normaliseRecord, type CloudTrailEvent } from './event.js';
import { instanceCall, vendingEvent } from './events.test-helpers.js';
import { extractVending, VendingIndex } from './vending.js';

const ev = (r: Record<string, unknown>) => normaliseRecord(r) as CloudTrailEvent;

describe('extractVending', () => {
  it('reads an EC2 vending event (the shape in the Invictus dataset)', () => {
    const v = extractVending(
      ev(
        vendingEvent({ accessKeyId: 'ASIATFQR7NSC36DZQP7P', sessionName: 'i-0dbc91f429e48eeed', region: 'us-east-1' }),
      ),
    );
    assert.equal(v?.issuer, 'ec2');
    assert.equal(v?.accessKeyId, 'ASIATFQR7NSC36DZQP7P');
    assert.equal(v?.sessionName, 'i-0dbc91f429e48eeed');
    assert.equal(v?.region, 'us-east-1');
  });
  it('tells services apart from callers', () => {
    assert.equal(extractVending(ev(vendingEvent({ issuer: 'ecs-tasks.amazonaws.com' })))?.issuer, 'ecs');
    assert.equal(extractVending(ev(vendingEvent({ issuer: 'lambda.amazonaws.com' })))?.issuer, 'lambda');
    assert.equal(extractVending(ev(vendingEvent({ issuer: 'pods.eks.amazonaws.com' })))?.issuer, 'eks-pod-identity');
    const byCaller = extractVending(ev(vendingEvent({ issuer: 'arn:aws:sts::111122223333:assumed-role/ci/runner' })));
    assert.equal(byCaller?.issuer, 'caller');
    assert.equal(byCaller?.callerAccessKeyId, 'ASIACALLERKEY0000001');
  });
  it('ignores failed calls, other events and responses without credentials', () => {
    const failed = vendingEvent();
    failed['errorCode'] = 'AccessDenied';
    assert.equal(extractVending(ev(failed)), undefined);
    assert.equal(extractVending(ev(instanceCall())), undefined);
    const noCreds = vendingEvent();
    noCreds['responseElements'] = null;
    assert.equal(extractVending(ev(noCreds)), undefined);
  });
});

describe('VendingIndex', () => {
  it('keeps the earliest record for a key delivered twice', () => {
    const index = new VendingIndex();
    index.add(
      extractVending(ev(vendingEvent({ accessKeyId: 'K', eventTime: '2024-05-01T10:00:05Z', eventId: 'late' })))!,
    );
    index.add(
      extractVending(ev(vendingEvent({ accessKeyId: 'K', eventTime: '2024-05-01T10:00:00Z', eventId: 'early' })))!,
    );
    assert.equal(index.get('K')?.eventId, 'early');
    assert.equal(index.size, 1);
    assert.equal(index.get(''), undefined);
  });
});
