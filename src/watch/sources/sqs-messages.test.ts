// The message shapes below follow the AWS documentation for each producer: S3 event notifications
// (event message structure 2.1), S3 test events, SNS → SQS envelopes, CloudTrail's SNS log-delivery
// notifications, and EventBridge events from S3 and from CloudTrail.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_QUEUE_MESSAGE_LIMITS, parseQueueMessage, type QueueMessageContent } from './sqs-messages.js';

const BUCKET = 'my-trail-bucket';
const LOG_KEY =
  'AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/111122223333_CloudTrail_us-east-1_20240501T1205Z_abc.json.gz';

function s3Record(eventName: string, key: string, extra: { size?: unknown; eventTime?: string } = {}): unknown {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: extra.eventTime ?? '2024-05-01T12:05:31.123Z',
    eventName,
    userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
    requestParameters: { sourceIPAddress: '203.0.113.7' },
    responseElements: {
      'x-amz-request-id': 'C3D13FE58DE4C810',
      'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'offbox-watch',
      bucket: { name: BUCKET, ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: `arn:aws:s3:::${BUCKET}` },
      object: {
        key,
        size: 'size' in extra ? extra.size : 1024,
        eTag: 'd41d8cd98f00b204e9800998ecf8427e',
        sequencer: '0055AED6DCD90281E5',
      },
    },
  };
}

function s3Notification(...records: unknown[]): string {
  return JSON.stringify({ Records: records });
}

function snsEnvelope(message: string): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
    TopicArn: 'arn:aws:sns:us-east-1:111122223333:trail-notifications',
    Subject: 'Amazon S3 Notification',
    Message: message,
    Timestamp: '2024-05-01T12:05:32.000Z',
    SignatureVersion: '1',
    Signature:
      'EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=',
    SigningCertURL:
      'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
    UnsubscribeURL:
      'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:111122223333:trail-notifications:c9135db0',
  });
}

function eventBridgeEvent(source: string, detailType: string, detail: unknown): string {
  return JSON.stringify({
    version: '0',
    id: '17793124-05d4-b198-2fde-7ededc63b103',
    'detail-type': detailType,
    source,
    account: '111122223333',
    time: '2024-05-01T12:05:31Z',
    region: 'us-east-1',
    resources: [],
    detail,
  });
}

const CLOUDTRAIL_DETAIL = {
  eventVersion: '1.09',
  userIdentity: {
    type: 'AssumedRole',
    principalId: 'AROAEXAMPLE:i-0123456789abcdef0',
    arn: 'arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0',
    accountId: '111122223333',
    accessKeyId: 'ASIAEXAMPLE',
  },
  eventTime: '2024-05-01T12:04:59Z',
  eventSource: 's3.amazonaws.com',
  eventName: 'ListBuckets',
  awsRegion: 'us-east-1',
  sourceIPAddress: '198.51.100.23',
  userAgent: 'aws-cli/2.15.0',
  requestParameters: null,
  responseElements: null,
  requestID: 'EXAMPLE123',
  eventID: 'a1b2c3d4-0000-1111-2222-333344445555',
  readOnly: true,
  eventType: 'AwsApiCall',
  managementEvent: true,
  recipientAccountId: '111122223333',
  eventCategory: 'Management',
};

function assertNothingRead(content: QueueMessageContent): void {
  assert.deepEqual(content.objects, []);
  assert.deepEqual(content.records, []);
  assert.equal(content.ignored.length, 1, content.ignored.join(' | '));
}

describe('parseQueueMessage: S3 event notifications', () => {
  test('an ObjectCreated:Put record is an object with its size and event time', () => {
    const content = parseQueueMessage(s3Notification(s3Record('ObjectCreated:Put', LOG_KEY)));
    assert.deepEqual(content, {
      objects: [{ bucket: BUCKET, key: LOG_KEY, size: 1024, eventTime: '2024-05-01T12:05:31.123Z' }],
      records: [],
      ignored: [],
    });
  });

  test('every ObjectCreated:* kind is an object; other events are ignored one by one', () => {
    const content = parseQueueMessage(
      s3Notification(
        s3Record('ObjectCreated:CompleteMultipartUpload', 'a.json.gz'),
        s3Record('ObjectCreated:Copy', 'b.json.gz'),
        s3Record('ObjectRemoved:Delete', 'c.json.gz'),
        s3Record('ObjectRestore:Completed', 'd.json.gz'),
      ),
    );
    assert.deepEqual(
      content.objects.map((o) => o.key),
      ['a.json.gz', 'b.json.gz'],
    );
    assert.deepEqual(content.ignored, ['S3 event ObjectRemoved:Delete', 'S3 event ObjectRestore:Completed']);
  });

  test('keys are URL-decoded: + is a space, %2B a plus, and UTF-8 escapes become unicode', () => {
    const content = parseQueueMessage(
      s3Notification(
        s3Record('ObjectCreated:Put', 'logs/my+file.json'),
        s3Record('ObjectCreated:Put', 'logs/a%2Bb.json'),
        s3Record('ObjectCreated:Put', 'logs/caf%C3%A9/%E6%97%A5%E6%9C%AC.json'),
        s3Record('ObjectCreated:Put', 'logs/emoji%F0%9F%98%80%3D.json'),
      ),
    );
    assert.deepEqual(
      content.objects.map((o) => o.key),
      ['logs/my file.json', 'logs/a+b.json', 'logs/café/日本.json', 'logs/emoji😀=.json'],
    );
    assert.deepEqual(content.ignored, []);
  });

  test('a malformed key encoding is ignored, not thrown, and the rest of the message is still read', () => {
    const content = parseQueueMessage(
      s3Notification(s3Record('ObjectCreated:Put', 'logs/bad%E0%A4%A.json'), s3Record('ObjectCreated:Put', 'ok.json')),
    );
    assert.deepEqual(
      content.objects.map((o) => o.key),
      ['ok.json'],
    );
    assert.equal(content.ignored.length, 1);
    assert.match(content.ignored[0]!, /malformed key encoding: 'logs\/bad%E0%A4%A\.json'/);
  });

  test('the same object twice in one message is one object', () => {
    const content = parseQueueMessage(
      s3Notification(s3Record('ObjectCreated:Put', 'same.json'), s3Record('ObjectCreated:Put', 'same.json')),
    );
    assert.equal(content.objects.length, 1);
  });

  test('size is kept only when it is a non-negative integer (numeric strings included)', () => {
    const sizes = [0, '2048', -1, 1.5, 'big', null, Number.MAX_SAFE_INTEGER + 2];
    const content = parseQueueMessage(
      s3Notification(...sizes.map((size, i) => s3Record('ObjectCreated:Put', `k${i}`, { size }))),
    );
    assert.deepEqual(
      content.objects.map((o) => o.size),
      [0, 2048, undefined, undefined, undefined, undefined, undefined],
    );
  });

  test('records from other services, records without a bucket or key, and an empty Records list are ignored', () => {
    const noKey = s3Record('ObjectCreated:Put', 'x') as { s3: { object: Record<string, unknown> } };
    delete noKey.s3.object['key'];
    const content = parseQueueMessage(
      s3Notification({ eventSource: 'aws:dynamodb', eventName: 'INSERT' }, noKey, 'not an object', null),
    );
    assert.deepEqual(content.objects, []);
    assert.deepEqual(content.ignored, [
      "record from 'aws:dynamodb', not S3",
      'S3 event ObjectCreated:Put without a bucket name and object key',
      'S3 event record is not an object (a string)',
      'S3 event record is not an object (null)',
    ]);
    assertNothingRead(parseQueueMessage('{"Records":[]}'));
  });

  test('an empty key or an over-long key is not an object', () => {
    const content = parseQueueMessage(
      s3Notification(s3Record('ObjectCreated:Put', ''), s3Record('ObjectCreated:Put', 'k'.repeat(1025))),
    );
    assert.deepEqual(content.objects, []);
    assert.equal(content.ignored.length, 2);
    assert.ok(content.ignored.every((reason) => reason.length <= 200));
  });

  test('s3:TestEvent is ignored', () => {
    const content = parseQueueMessage(
      JSON.stringify({
        Service: 'Amazon S3',
        Event: 's3:TestEvent',
        Time: '2024-05-01T12:00:00.000Z',
        Bucket: BUCKET,
        RequestId: '5582815E1AEA5ADF',
        HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
      }),
    );
    assertNothingRead(content);
    assert.deepEqual(content.ignored, ['s3:TestEvent']);
  });
});

describe('parseQueueMessage: SNS envelopes', () => {
  test('S3 → SNS → SQS: the inner S3 notification is read, keys decoded', () => {
    const content = parseQueueMessage(snsEnvelope(s3Notification(s3Record('ObjectCreated:Put', 'a+b%2Bc.json'))));
    assert.deepEqual(
      content.objects.map((o) => [o.bucket, o.key]),
      [[BUCKET, 'a b+c.json']],
    );
  });

  test('an s3:TestEvent inside SNS is ignored', () => {
    const content = parseQueueMessage(snsEnvelope(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' })));
    assert.deepEqual(content.ignored, ['s3:TestEvent']);
  });

  test('CloudTrail log-delivery notifications list every key, not URL-decoded', () => {
    const keys = [LOG_KEY, LOG_KEY.replace('abc', 'def'), 'AWSLogs/o-abc/111122223333/CloudTrail/a+b.json.gz'];
    const content = parseQueueMessage(snsEnvelope(JSON.stringify({ s3Bucket: BUCKET, s3ObjectKey: keys })));
    assert.deepEqual(
      content.objects,
      keys.map((key) => ({ bucket: BUCKET, key })),
    );
    assert.deepEqual(content.ignored, []);
  });

  test('a CloudTrail delivery notification without the SNS envelope is read too', () => {
    const content = parseQueueMessage(JSON.stringify({ s3Bucket: BUCKET, s3ObjectKey: [LOG_KEY, 7] }));
    assert.deepEqual(content.objects, [{ bucket: BUCKET, key: LOG_KEY }]);
    assert.deepEqual(content.ignored, ['CloudTrail delivery notification key is not text (a number)']);
    assertNothingRead(parseQueueMessage(JSON.stringify({ s3Bucket: BUCKET, s3ObjectKey: LOG_KEY })));
  });

  test('EventBridge → SNS → SQS is unwrapped as well', () => {
    const content = parseQueueMessage(
      snsEnvelope(eventBridgeEvent('aws.sts', 'AWS API Call via CloudTrail', CLOUDTRAIL_DETAIL)),
    );
    assert.deepEqual(content.records, [CLOUDTRAIL_DETAIL]);
  });

  test('envelopes nest a bounded number of times', () => {
    const inner = s3Notification(s3Record('ObjectCreated:Put', 'deep.json'));
    const wrap = (levels: number): string => (levels === 0 ? inner : snsEnvelope(wrap(levels - 1)));
    assert.equal(parseQueueMessage(wrap(3)).objects.length, 1);
    const tooDeep = parseQueueMessage(wrap(4));
    assertNothingRead(tooDeep);
    assert.match(tooDeep.ignored[0]!, /nested more than 3 deep/);
  });

  test('subscription confirmations, non-JSON messages and envelopes without a Message are ignored', () => {
    const confirmation = parseQueueMessage(
      JSON.stringify({
        Type: 'SubscriptionConfirmation',
        MessageId: '165545c9',
        Token: '2336412f37',
        TopicArn: 'arn:aws:sns:us-east-1:111122223333:t',
        Message: 'You have chosen to subscribe to the topic …',
        SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=2336412f37',
      }),
    );
    assertNothingRead(confirmation);
    assert.match(confirmation.ignored[0]!, /SubscriptionConfirmation/);
    assert.doesNotMatch(confirmation.ignored[0]!, /Token=/);

    const plain = parseQueueMessage(snsEnvelope('hello from a human'));
    assertNothingRead(plain);
    assert.equal(plain.ignored[0], "SNS message is not JSON (starts 'hello from a human')");

    assertNothingRead(parseQueueMessage(JSON.stringify({ Type: 'Notification', TopicArn: 'arn:aws:sns:x' })));
  });
});

describe('parseQueueMessage: EventBridge', () => {
  test('S3 Object Created: the key is taken as is (EventBridge does not URL-encode), time from the event', () => {
    const content = parseQueueMessage(
      eventBridgeEvent('aws.s3', 'Object Created', {
        version: '0',
        bucket: { name: BUCKET },
        object: {
          key: 'AWSLogs/a+b%2B.json.gz',
          size: 5576,
          etag: 'b1946ac92492d2347c6235b4d2611184',
          sequencer: '00617F08299329D189',
        },
        'request-id': 'N4N7GDK58NMKJ12R',
        requester: '111122223333',
        'source-ip-address': '203.0.113.15',
        reason: 'PutObject',
      }),
    );
    assert.deepEqual(content, {
      objects: [{ bucket: BUCKET, key: 'AWSLogs/a+b%2B.json.gz', size: 5576, eventTime: '2024-05-01T12:05:31Z' }],
      records: [],
      ignored: [],
    });
  });

  test('every CloudTrail detail-type delivers its detail as a record, whatever the source', () => {
    for (const [source, detailType] of [
      ['aws.sts', 'AWS API Call via CloudTrail'],
      ['aws.signin', 'AWS Console Sign In via CloudTrail'],
      ['aws.kms', 'AWS Service Event via CloudTrail'],
      ['aws.s3', 'AWS Console Action via CloudTrail'],
      ['aws.s3', 'AWS API Call via CloudTrail'],
    ] as const) {
      const content = parseQueueMessage(eventBridgeEvent(source, detailType, CLOUDTRAIL_DETAIL));
      assert.deepEqual(content, { objects: [], records: [CLOUDTRAIL_DETAIL], ignored: [] }, detailType);
    }
  });

  test('other events are ignored, naming source and detail-type', () => {
    const ec2 = parseQueueMessage(
      eventBridgeEvent('aws.ec2', 'EC2 Instance State-change Notification', { 'instance-id': 'i-1', state: 'running' }),
    );
    assert.deepEqual(ec2.ignored, ["EventBridge event from aws.ec2 'EC2 Instance State-change Notification'"]);
    const deleted = parseQueueMessage(eventBridgeEvent('aws.s3', 'Object Deleted', { bucket: { name: BUCKET } }));
    assert.deepEqual(deleted.ignored, ["EventBridge event from aws.s3 'Object Deleted'"]);
  });

  test('CloudTrail and Object Created events without a usable detail are ignored', () => {
    assertNothingRead(parseQueueMessage(eventBridgeEvent('aws.sts', 'AWS API Call via CloudTrail', 'nope')));
    assertNothingRead(
      parseQueueMessage(eventBridgeEvent('aws.sts', 'AWS API Call via CloudTrail', [CLOUDTRAIL_DETAIL])),
    );
    assertNothingRead(parseQueueMessage(eventBridgeEvent('aws.s3', 'Object Created', { bucket: { name: BUCKET } })));
    assertNothingRead(parseQueueMessage(eventBridgeEvent('aws.s3', 'Object Created', null)));
  });
});

describe('parseQueueMessage: everything else', () => {
  test('not JSON, empty, non-object JSON and unknown objects are each one ignored reason', () => {
    for (const body of [
      '',
      '   ',
      'not json at all',
      '{"Records":',
      '42',
      'null',
      '"text"',
      '[1,2]',
      '{"hello":"world"}',
    ]) {
      const content = parseQueueMessage(body);
      assertNothingRead(content);
    }
    assert.match(parseQueueMessage('not json').ignored[0]!, /^message is not JSON/);
    assert.equal(parseQueueMessage('{"hello":"world","x":1}').ignored[0], "unrecognised message (fields 'hello, x')");
  });

  test('inherited property names in the body do not read through to Object.prototype', () => {
    for (const body of ['{"constructor":{}}', '{"__proto__":{"Records":[]}}', '{"toString":"x","valueOf":1}']) {
      assertNothingRead(parseQueueMessage(body));
    }
  });

  test('reasons quote at most 80 characters of any value, with control characters replaced', () => {
    const long = 'x'.repeat(10_000);
    const reasons = [
      ...parseQueueMessage(`${long}`).ignored,
      ...parseQueueMessage(eventBridgeEvent(long, long, {})).ignored,
      ...parseQueueMessage(s3Notification({ eventSource: long })).ignored,
      ...parseQueueMessage(s3Notification(s3Record(`Object\u001b[31mRemoved\u0007${long}`, 'k'))).ignored,
      ...parseQueueMessage(JSON.stringify({ [long]: 1 })).ignored,
      ...parseQueueMessage(snsEnvelope('z'.repeat(5000))).ignored,
    ];
    assert.equal(reasons.length, 6);
    for (const reason of reasons) {
      for (const run of reason.match(/[xz]+/g) ?? [])
        assert.ok(run.length <= 80, `${run.length} in ${reason.slice(0, 120)}`);
      assert.ok(reason.length <= 250, reason.slice(0, 120));
      assert.doesNotMatch(reason, /\p{Cc}/u);
    }
    assert.match(reasons[3]!, /^S3 event Object\?\[31mRemoved\?x+…$/);
  });

  test('a body over the size cap is ignored unread; one at the SQS maximum is read', () => {
    const atMax = s3Notification(s3Record('ObjectCreated:Put', 'k.json'), { pad: 'p'.repeat(256 * 1024) });
    assert.equal(parseQueueMessage(atMax).objects.length, 1);
    const huge = parseQueueMessage(' '.repeat(DEFAULT_QUEUE_MESSAGE_LIMITS.maxBodyChars + 1));
    assertNothingRead(huge);
    assert.match(huge.ignored[0]!, /too large/);
    assertNothingRead(parseQueueMessage(atMax, { maxBodyChars: 1000 }));
  });

  test('at most 1,000 objects per message; the rest are counted in one reason', () => {
    const records = Array.from({ length: 1500 }, (_, i) => s3Record('ObjectCreated:Put', `k${i}.json.gz`));
    const content = parseQueueMessage(s3Notification(...records));
    assert.equal(content.objects.length, 1000);
    assert.equal(content.objects.at(-1)?.key, 'k999.json.gz');
    assert.deepEqual(content.ignored, ['500 more item(s) past the limit of 1000 per message']);

    const keys = Array.from({ length: 5000 }, (_, i) => `AWSLogs/${i}.json.gz`);
    const delivery = parseQueueMessage(JSON.stringify({ s3Bucket: BUCKET, s3ObjectKey: keys }));
    assert.equal(delivery.objects.length, 1000);
    assert.deepEqual(delivery.ignored, ['4000 more item(s) past the limit of 1000 per message']);
  });

  test('ignored reasons are capped too, with a count of the rest', () => {
    const records = Array.from({ length: 300 }, (_, i) => s3Record('ObjectRemoved:Delete', `k${i}`));
    const content = parseQueueMessage(s3Notification(...records));
    assert.equal(content.ignored.length, 101);
    assert.equal(content.ignored.at(-1), '200 more ignored part(s)');
  });

  test('deeply nested JSON does not throw', () => {
    const depth = 100_000;
    for (const body of ['['.repeat(depth) + ']'.repeat(depth), '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)]) {
      const content = parseQueueMessage(body);
      assert.equal(content.objects.length, 0);
      assert.equal(content.ignored.length, 1);
    }
  });
});

describe('parseQueueMessage: properties', () => {
  function assertWellFormed(content: QueueMessageContent): void {
    assert.ok(Array.isArray(content.objects) && Array.isArray(content.records) && Array.isArray(content.ignored));
    assert.ok(content.objects.length + content.records.length <= DEFAULT_QUEUE_MESSAGE_LIMITS.maxItems);
    assert.ok(content.ignored.length <= DEFAULT_QUEUE_MESSAGE_LIMITS.maxIgnoredReasons + 2);
    for (const o of content.objects) {
      assert.equal(typeof o.bucket, 'string');
      assert.equal(typeof o.key, 'string');
      assert.ok(o.bucket !== '' && o.key !== '');
    }
    for (const reason of content.ignored) {
      assert.equal(typeof reason, 'string');
      assert.ok(reason.length <= 400, reason);
    }
  }

  test('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })), (body) => {
        assertWellFormed(parseQueueMessage(body));
      }),
      { numRuns: 500 },
    );
  });

  test('never throws on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assertWellFormed(parseQueueMessage(JSON.stringify(value) ?? ''));
      }),
      { numRuns: 500 },
    );
  });

  test('never throws on messages shaped like the real ones with arbitrary values in every field', () => {
    const anything = fc.oneof(
      fc.jsonValue(),
      fc.string(),
      fc.constantFrom(
        'ObjectCreated:Put',
        'aws:s3',
        'aws.s3',
        'Object Created',
        'AWS API Call via CloudTrail',
        'Notification',
      ),
    );
    const s3Like = fc.record(
      {
        eventSource: anything,
        eventName: anything,
        eventTime: anything,
        s3: fc.record(
          {
            bucket: fc.record({ name: anything }, { requiredKeys: [] }),
            object: fc.record({ key: anything, size: anything }, { requiredKeys: [] }),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );
    const message = fc.letrec<{ message: unknown }>((tie) => ({
      message: fc.oneof(
        { depthSize: 'small' },
        fc.record({ Records: fc.array(fc.oneof(s3Like, anything)) }),
        fc.record({
          source: anything,
          'detail-type': anything,
          detail: fc.oneof(
            anything,
            fc.record({ bucket: fc.record({ name: anything }), object: fc.record({ key: anything, size: anything }) }),
          ),
          time: anything,
        }),
        fc.record({ s3Bucket: anything, s3ObjectKey: fc.oneof(anything, fc.array(anything)) }),
        fc.record({ Event: fc.constantFrom('s3:TestEvent', 'other'), Service: anything }),
        fc.record({
          Type: fc.oneof(fc.constant('Notification'), anything),
          TopicArn: anything,
          Message: fc.oneof(
            anything,
            tie('message').map((m) => JSON.stringify(m)),
          ),
        }),
        anything,
      ),
    }));
    fc.assert(
      fc.property(message.message, (value) => {
        assertWellFormed(parseQueueMessage(JSON.stringify(value) ?? ''));
      }),
      { numRuns: 1000 },
    );
  });
});
