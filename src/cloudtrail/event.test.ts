import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { normaliseRecord } from './event.js';
import { instanceCall } from './events.test-helpers.js';

describe('normaliseRecord', () => {
  it('reads the fields detectors use', () => {
    const e = normaliseRecord(
      instanceCall({
        sourceIp: '1.2.3.4',
        ec2RoleDelivery: '1.0',
        vpcEndpointId: 'vpce-1',
        vpcEndpointAccountId: '999988887777',
      }),
    );
    assert.ok(!('reason' in e));
    assert.equal(e.sourceIp, '1.2.3.4');
    assert.equal(e.identity.ec2RoleDelivery, '1.0');
    assert.equal(e.identity.sessionIssuer?.userName, 'web-app-role');
    assert.equal(e.vpcEndpointAccountId, '999988887777');
    assert.equal(e.accountId, '111122223333');
    assert.equal(e.timeMs, Date.parse('2024-05-01T10:05:00Z'));
  });
  it('accepts @timestamp in place of eventTime (Logstash-shaped exports)', () => {
    const record = instanceCall();
    delete record['eventTime'];
    record['@timestamp'] = '2020-09-14T01:00:33.000Z';
    const e = normaliseRecord(record);
    assert.ok(!('reason' in e));
    assert.equal(e.eventTime, '2020-09-14T01:00:33.000Z');
    assert.equal(e.timeMs, Date.parse('2020-09-14T01:00:33.000Z'));
  });
  it('tolerates missing and wrongly typed fields', () => {
    const e = normaliseRecord({
      eventName: 'X',
      userIdentity: 'nonsense',
      sourceIPAddress: 42,
      requestParameters: [1],
    });
    assert.ok(!('reason' in e));
    assert.equal(e.identity.type, '');
    assert.equal(e.sourceIp, '42');
    assert.equal(e.requestParameters, undefined);
    assert.ok(Number.isNaN(e.timeMs));
  });
  it('property: never throws on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = normaliseRecord(value);
        assert.ok(typeof result === 'object' && result !== null);
      }),
    );
  });
});
