import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { renderTable, shouldUseColor, stripAnsi, visibleWidth } from './table.js';
import { sampleFinding } from './sample-findings.test-helpers.js';
import type { Finding } from '../detect/finding.js';

const ESC = '\x1b';
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const OUR_SGR = /\x1b\[\d+(?:;\d+)*m/g;
const COMPLETE_ESCAPE = /\\(?:x[0-9a-f]{2}|u[0-9a-f]{4}|u\{[0-9a-f]+\})/y;

function hostileFinding(): Finding {
  const long = 'A'.repeat(150);
  return sampleFinding({
    id: `id-${long}`,
    title: `\x1b]0;pwned\x07\x1b[2J${long}\u202etxt.exe`,
    accountId: `123456789012\x1b[5m${long}`,
    principal: {
      role: `role\x1b[38;5;196m${long}`,
      roleArn: `arn:aws:iam::123456789012:role/${long}`,
      sessionName: `sess\r\n${long}`,
      instanceId: `i-0\u2066${long}`,
    },
    source: { ip: '198.51.100.1\x1b[1A', owner: `owner\u200b${'漢'.repeat(80)}` },
    activity: {
      actions: Array.from({ length: 40 }, (_, i) => `svc:Action${i}\x1b[4m`),
      userAgents: [`ua\x1b[6n${long}`],
      firstSeen: `2025-01-01T00:00:00Z\x07`,
    },
    evidence: { reasons: [`because\x1b[?1049h${long}`, 'second'] },
    response: { commands: [`aws iam something --role-name ${long}\x1b[8m`] },
  });
}

function assertEscapesWhole(line: string): void {
  for (let i = line.indexOf('\\'); i !== -1; i = line.indexOf('\\', i + 1)) {
    COMPLETE_ESCAPE.lastIndex = i;
    assert.ok(COMPLETE_ESCAPE.test(line), `partial escape at ${i} in ${JSON.stringify(line)}`);
  }
}

describe('renderTable', () => {
  it('says so when there is nothing to show', () => {
    assert.equal(renderTable([], { color: false }), 'No findings.\n');
    assert.equal(renderTable([], { color: true }), 'No findings.\n');
  });

  it('shows the key fields of a finding and a summary', () => {
    const out = renderTable([sampleFinding()], { color: false });
    for (const expected of [
      'HIGH',
      'EC2 instance credentials used outside AWS',
      'ec2-credential-offbox',
      '123456789012',
      'web-app-role',
      'i-0abc123def4567890',
      '203.0.113.7',
      'public',
      '12 calls, 1 failed: sts:GetCallerIdentity, s3:ListBuckets, iam:ListRoles',
      '2025-01-15T10:00:00Z → 2025-01-15T10:42:00Z',
      'confidence  high',
      'credentials of instance',
      'aws iam put-role-policy',
      '1 finding: 1 high',
    ]) {
      assert.ok(out.includes(expected), `missing ${expected} in\n${out}`);
    }
  });

  it('sorts by severity, then most recent first, and counts per severity', () => {
    const findings = [
      sampleFinding({ id: 'low-old', severity: 'low', title: 'T-low', activity: { lastSeen: '2025-01-01T00:00:00Z' } }),
      sampleFinding({ id: 'crit', severity: 'critical', title: 'T-crit' }),
      sampleFinding({ id: 'high-old', title: 'T-high-old', activity: { lastSeen: '2025-01-01T00:00:00Z' } }),
      sampleFinding({ id: 'high-new', title: 'T-high-new', activity: { lastSeen: '2025-02-01T00:00:00Z' } }),
    ];
    const out = renderTable(findings, { color: false });
    const order = ['T-crit', 'T-high-new', 'T-high-old', 'T-low'].map((t) => out.indexOf(t));
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
    );
    assert.ok(out.endsWith('4 findings: 1 critical, 2 high, 1 low\n'), out);
  });

  it('lists the first actions and then "+N more"', () => {
    const actions = Array.from({ length: 30 }, (_, i) => `ec2:DescribeThing${i}`);
    const out = renderTable([sampleFinding({ activity: { actions } })], { color: false });
    const line = out.split('\n').find((l) => l.includes('activity')) ?? '';
    assert.match(line, /ec2:DescribeThing0, ec2:DescribeThing1(, [^ ]+)* \+\d+ more$/);
    assert.ok(visibleWidth(line) <= 100);
  });

  for (const width of [100, 80, 60, 40]) {
    it(`fits ${width} columns with long hostile values, colour on and off`, () => {
      for (const color of [false, true]) {
        const out = renderTable([hostileFinding(), sampleFinding()], { color, width });
        for (const line of out.split('\n')) {
          const plain = stripAnsi(line);
          assert.ok(visibleWidth(plain) <= width, `${visibleWidth(plain)} > ${width}: ${JSON.stringify(plain)}`);
          assert.ok([...plain].length <= width);
          assertEscapesWhole(plain);
        }
      }
    });
  }

  it('lets no raw ESC or control from the input through', () => {
    const plain = renderTable([hostileFinding()], { color: false });
    assert.ok(!plain.includes(ESC), 'no ESC at all without colour');
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    assert.doesNotMatch(plain, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200b-\u200f]/);
    assert.ok(plain.includes('\\x1b]0;pwned\\x07'));

    const colored = renderTable([hostileFinding()], { color: true });
    assert.ok(colored.includes(ESC), 'colour codes present when asked for');
    for (const attack of [
      '\x1b]',
      '\x1b[2J',
      '\x1b[5m',
      '\x1b[38;5;196m',
      '\x1b[1A',
      '\x1b[6n',
      '\x1b[?1049h',
      '\x1b[8m',
      '\x1b[4m',
    ]) {
      assert.ok(!colored.includes(attack), `raw ${JSON.stringify(attack)} leaked`);
    }
    assert.ok(!colored.replace(OUR_SGR, '').includes(ESC), 'only SGR colour codes contain ESC');
  });

  it('never splits an escape when truncating, wherever the cut falls', () => {
    for (let n = 70; n <= 100; n++) {
      const title = 'T'.repeat(n) + '\x1b\u202e\x07'.repeat(10);
      const out = renderTable([sampleFinding({ title, accountId: 'A'.repeat(n - 14) + '\x1b'.repeat(20) })], {
        color: false,
      });
      for (const line of out.split('\n')) {
        assertEscapesWhole(line);
        assert.ok(visibleWidth(line) <= 100);
      }
    }
  });

  it('fits the width and leaks nothing for arbitrary strings (property)', () => {
    const text = fc.string({
      unit: fc.integer({ min: 0, max: 0x10ffff }).map((n) => String.fromCodePoint(n)),
      maxLength: 200,
    });
    fc.assert(
      fc.property(text, text, text, fc.integer({ min: 40, max: 140 }), (a, b, c, width) => {
        const f = sampleFinding({
          title: a,
          principal: { role: b },
          source: { owner: c },
          activity: { actions: [a, b, c] },
        });
        const out = renderTable([f], { color: false, width });
        assert.ok(!out.includes(ESC));
        assert.doesNotMatch(
          out,
          // eslint-disable-next-line no-control-regex -- matching control characters is the point
          /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200b-\u200f\u2028\u2029]|\p{Cs}/u,
        );
        for (const line of out.split('\n')) assert.ok(visibleWidth(line) <= width, line);
      }),
      { numRuns: 300 },
    );
  });

  it('measures wide and combining characters', () => {
    assert.equal(visibleWidth('abc'), 3);
    assert.equal(visibleWidth('漢字'), 4);
    assert.equal(visibleWidth('e\u0301'), 1);
    assert.equal(visibleWidth('\x1b[31mred\x1b[39m'), 3);
  });
});

describe('shouldUseColor', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  it('follows the TTY by default', () => {
    assert.equal(shouldUseColor(tty, {}), true);
    assert.equal(shouldUseColor(pipe, {}), false);
    assert.equal(shouldUseColor({}, {}), false);
    assert.equal(shouldUseColor(tty, { TERM: 'dumb' }), false);
  });
  it('honours NO_COLOR when non-empty', () => {
    assert.equal(shouldUseColor(tty, { NO_COLOR: '1' }), false);
    assert.equal(shouldUseColor(tty, { NO_COLOR: '' }), true);
    assert.equal(shouldUseColor(tty, { NO_COLOR: '1', FORCE_COLOR: '1' }), false);
  });
  it('honours FORCE_COLOR', () => {
    assert.equal(shouldUseColor(tty, { FORCE_COLOR: '0' }), false);
    assert.equal(shouldUseColor(tty, { FORCE_COLOR: 'false' }), false);
    assert.equal(shouldUseColor(pipe, { FORCE_COLOR: '1' }), true);
    assert.equal(shouldUseColor(pipe, { FORCE_COLOR: '3' }), true);
  });
});
