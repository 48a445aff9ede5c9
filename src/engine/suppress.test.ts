import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { sampleFinding } from '../report/sample-findings.test-helpers.js';
import fc from 'fast-check';
import { compileSuppressions, globMatcher } from './suppress.js';

const now = new Date('2025-01-01T00:00:00Z');

describe('compileSuppressions', () => {
  const finding = sampleFinding({
    detector: 'instance-credential-outside-aws',
    principal: { role: 'build-runner-role' },
    source: { ip: '203.0.113.9' },
  });
  const other = sampleFinding({ id: 'other', principal: { role: 'web-role' }, source: { ip: '1.2.3.4' } });

  it('hides matching findings and returns them with the reason', () => {
    const rules = compileSuppressions(
      [
        {
          detector: 'instance-credential-*',
          match: { role: 'BUILD-runner-role', sourceIp: '203.0.113.0/24' },
          reason: 'CI cache',
          expires: '2026-01-01',
        },
      ],
      now,
    );
    const { kept, suppressed } = rules.apply([finding, other]);
    assert.deepEqual(kept, [other]);
    assert.deepEqual(suppressed, [
      { id: finding.id, detector: finding.detector, title: finding.title, reason: 'CI cache' },
    ]);
  });

  it('every match field must match', () => {
    const rules = compileSuppressions(
      [{ detector: '*', match: { role: 'build-runner-role', sourceIp: '198.51.100.0/24' }, reason: 'x' }],
      now,
    );
    assert.equal(rules.apply([finding]).kept.length, 1);
  });

  it('expired rules no longer apply and are reported', () => {
    const rules = compileSuppressions([{ detector: '*', match: {}, reason: 'old', expires: '2024-12-31' }], now);
    assert.equal(rules.apply([finding]).kept.length, 1);
    assert.equal(rules.expired.length, 1);
  });

  it('rejects unknown fields, bad CIDRs and bad dates up front', () => {
    assert.throws(
      () => compileSuppressions([{ detector: '*', match: { colour: 'red' }, reason: 'x' }], now),
      ConfigError,
    );
    assert.throws(
      () => compileSuppressions([{ detector: '*', match: { sourceIp: '1.2.3.4/99' }, reason: 'x' }], now),
      ConfigError,
    );
    assert.throws(
      () => compileSuppressions([{ detector: '*', match: {}, reason: 'x', expires: 'soon' }], now),
      ConfigError,
    );
  });

  it('patterns are literal apart from *', () => {
    const rules = compileSuppressions([{ detector: '*', match: { role: 'build.runner(role)' }, reason: 'x' }], now);
    assert.equal(rules.apply([sampleFinding({ principal: { role: 'buildXrunner(role)' } })]).kept.length, 1);
  });

  it('globs match exactly as the anchored case-insensitive regex did, in linear time on log-sized values', () => {
    const oldRegExp = (pattern: string): RegExp =>
      new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
    const text = (max: number) => fc.string({ unit: fc.constantFrom(...'aAbB*.?\n-'.split('')), maxLength: max });
    fc.assert(
      fc.property(text(8), text(16), (pattern, value) => {
        assert.equal(
          globMatcher(pattern)(value),
          oldRegExp(pattern).test(value),
          `${JSON.stringify(pattern)} ${JSON.stringify(value)}`,
        );
      }),
      { numRuns: 3000 },
    );
    // As a regex, each of these took seconds on 16 KiB (the user agent is the attacker's).
    const value = 'a'.repeat(64 * 1024);
    for (const pattern of ['*a*b*c*', '*a*a*a*a*b', '*' + 'a*'.repeat(50) + 'b']) {
      const started = performance.now();
      assert.equal(globMatcher(pattern)(value), false);
      assert.ok(performance.now() - started < 200, `${pattern} took ${performance.now() - started} ms`);
    }
  });
});
