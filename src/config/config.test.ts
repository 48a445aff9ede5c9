import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { loadConfig, parseConfig } from './config.js';

describe('config', () => {
  it('fills defaults for an empty file', () => {
    assert.deepEqual(parseConfig(null, 'x'), { allowedSourceCidrs: [], trustedAccounts: [], suppress: [] });
  });
  it('loads YAML', () => {
    const dir = mkdtempSync(join(tmpdir(), 'offbox-config-'));
    const file = join(dir, 'offbox.yaml');
    writeFileSync(file, 'allowedSourceCidrs:\n  - 198.51.100.0/24\ntrustedAccounts: ["111122223333"]\n');
    assert.deepEqual(loadConfig(file).allowedSourceCidrs, ['198.51.100.0/24']);
  });
  it('rejects unknown keys and bad values with the path in the message', () => {
    assert.throws(
      () => parseConfig({ allowedSourceCIDRs: [] }, 'offbox.yaml'),
      (e: unknown) => e instanceof ConfigError && /allowedSourceCIDRs/.test(e.message),
    );
    assert.throws(
      () => parseConfig({ trustedAccounts: ['12'] }, 'offbox.yaml'),
      /trustedAccounts\.0: account ids are 12 digits/,
    );
    assert.throws(() => parseConfig({ suppress: [{ detector: 'x' }] }, 'offbox.yaml'), /suppress\.0\.reason/);
  });
  it('reports unreadable files and bad YAML as ConfigError', () => {
    assert.throws(() => loadConfig('/nonexistent/offbox.yaml'), ConfigError);
    const dir = mkdtempSync(join(tmpdir(), 'offbox-config-'));
    writeFileSync(join(dir, 'bad.yaml'), 'a: [1, 2');
    assert.throws(() => loadConfig(join(dir, 'bad.yaml')), ConfigError);
  });

  it('refuses deeply nested YAML before parsing it (2,000 levels of `- ` aborted the process)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'offbox-config-'));
    for (const [name, text] of [
      ['dashes.yaml', '- '.repeat(2000) + 'x'],
      ['flow.yaml', '['.repeat(2000)],
      ['indent.yaml', Array.from({ length: 100 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' x'],
    ] as const) {
      writeFileSync(join(dir, name), text);
      assert.throws(() => loadConfig(join(dir, name)), /nested more than 64 levels/);
    }
    writeFileSync(join(dir, 'ok.yaml'), 'suppress:\n  - detector: d\n    reason: "[ok] {x}"\n    match:\n      a: b\n');
    assert.equal(loadConfig(join(dir, 'ok.yaml')).suppress.length, 1);
  });
});
