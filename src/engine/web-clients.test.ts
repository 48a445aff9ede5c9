import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WebRequest } from '../weblogs/request.js';
import { sharedAddressReason, WebClientIndex } from './web-clients.js';

type Seen = Pick<WebRequest, 'clientIp' | 'timeMs' | 'status' | 'host' | 'format'>;

function request(clientIp: string, time: string, over: Partial<Seen> = {}): Seen {
  return {
    clientIp,
    timeMs: Date.parse(time),
    status: 404,
    host: 'shop.example',
    format: 'alb',
    ...over,
  };
}

describe('WebClientIndex', () => {
  it('keeps first and last seen, counts and the first host per client', () => {
    const index = new WebClientIndex();
    index.add(request('1.2.3.4', '2025-01-15T10:05:00Z', { status: 200 }));
    index.add(request('1.2.3.4', '2025-01-15T10:02:00Z', { host: 'api.example' }));
    index.add(request('1.2.3.4', '2025-01-15T10:09:00Z', { host: 'admin.example' }));
    index.add(request('1.2.3.4', 'not a time'));
    const seen = index.get('1.2.3.4');
    assert.ok(seen);
    assert.equal(seen.requests, 4);
    assert.equal(seen.errors, 3);
    assert.equal(new Date(seen.firstMs).toISOString(), '2025-01-15T10:02:00.000Z');
    assert.equal(new Date(seen.lastMs).toISOString(), '2025-01-15T10:09:00.000Z');
    assert.equal(seen.host, 'shop.example');
    assert.equal(seen.moreHosts, true);
    assert.equal(seen.sharedOwner, '');
  });

  it('keys clients by canonical address, so CloudTrail and web logs meet however the address was written', () => {
    const index = new WebClientIndex();
    index.add(request('::ffff:1.2.3.4', '2025-01-15T10:02:00Z'));
    index.add(request('2001:DB8:0:0:0:0:0:1', '2025-01-15T10:02:00Z'));
    assert.equal(index.get('1.2.3.4')?.requests, 1);
    assert.equal(index.get('2001:db8::1')?.requests, 1);
    assert.equal(index.size, 2);
  });

  it('keeps a long host truncated, and does not count its repeats as other hosts', () => {
    const index = new WebClientIndex();
    const long = `${'a'.repeat(150)}.example`;
    index.add(request('1.2.3.4', '2025-01-15T10:02:00Z', { host: long }));
    index.add(request('1.2.3.4', '2025-01-15T10:03:00Z', { host: long }));
    assert.equal(index.get('1.2.3.4')?.host, `${'a'.repeat(100)}…`);
    assert.equal(index.get('1.2.3.4')?.moreHosts, false);
  });

  it('ignores requests with no client and text-log lines', () => {
    const index = new WebClientIndex();
    index.add(request('', '2025-01-15T10:02:00Z'));
    index.add(request('1.2.3.4', '2025-01-15T10:02:00Z', { format: 'text' }));
    assert.equal(index.size, 0);
  });

  it('holds at most maxClients addresses and counts what it turned away', () => {
    const index = new WebClientIndex({ maxClients: 2 });
    for (const ip of ['1.1.1.1', '2.2.2.2', '3.3.3.3', '3.3.3.3', '4.4.4.4', '1.1.1.1']) {
      index.add(request(ip, '2025-01-15T10:02:00Z'));
    }
    assert.equal(index.size, 2);
    assert.equal(index.get('1.1.1.1')?.requests, 2, 'clients already held keep counting');
    assert.equal(index.get('3.3.3.3'), undefined);
    assert.equal(index.droppedRequests, 3);
    assert.equal(index.droppedClients, 2);
  });
});

describe('sharedAddressReason', () => {
  it('accepts public addresses and refuses shared or special ones, naming the block', () => {
    assert.equal(sharedAddressReason('1.2.3.4', 'public'), '');
    assert.equal(sharedAddressReason('2a05:d018::1', 'aws'), '');
    assert.match(sharedAddressReason('10.0.0.1'), /RFC 1918 private .* shared by many clients/);
    assert.match(sharedAddressReason('100.64.0.1'), /CGNAT.*RFC 6598/);
    assert.match(sharedAddressReason('127.0.0.1'), /loopback/);
    assert.match(sharedAddressReason('::ffff:192.168.1.1'), /^192\.168\.1\.1 is in RFC 1918/);
    assert.match(sharedAddressReason('169.254.169.254'), /link-local/);
    assert.match(sharedAddressReason('5.6.7.8', 'allowed'), /allowedSourceCidrs/);
    assert.match(sharedAddressReason('ec2.amazonaws.com', 'aws-service'), /AWS service/);
    assert.equal(sharedAddressReason('not-an-ip'), 'not an IP address');
  });
});
