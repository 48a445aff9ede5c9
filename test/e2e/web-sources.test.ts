// A guard on the dashboard's sources (web/): log strings reach the page only as text, and nothing needs a CSP
// exception. The browser test proves it for one payload; this keeps every later edit honest.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const WEB = fileURLToPath(new URL('../../web/', import.meta.url));

function filesUnder(dir: string, extensions: readonly string[], out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) filesUnder(path, extensions, out);
    else if (extensions.some((ext) => name.endsWith(ext))) out.push(path);
  }
  return out;
}

/** HTML sinks and code-from-strings: none of them belongs in the dashboard. */
const FORBIDDEN: readonly [RegExp, string][] = [
  [/innerHTML/, 'innerHTML'],
  [/outerHTML/, 'outerHTML'],
  [/dangerouslySetInnerHTML/, 'dangerouslySetInnerHTML'],
  [/insertAdjacentHTML/, 'insertAdjacentHTML'],
  [/document\.write/, 'document.write'],
  [/createContextualFragment/, 'createContextualFragment'],
  [/\beval\s*\(/, 'eval('],
  [/new\s+Function\b/, 'new Function'],
  [/setTimeout\(\s*['"`]/, 'setTimeout with a string'],
  [/javascript:/i, 'javascript: URL'],
];

describe('web/ sources', () => {
  const scripts = filesUnder(WEB, ['.js', '.mjs']);

  it('has the dashboard scripts', () => {
    assert.ok(
      scripts.some((f) => f.endsWith('app.js')),
      `web/app.js missing among ${scripts.join(', ')}`,
    );
  });

  it('never writes HTML from strings or runs strings as code', () => {
    const hits: string[] = [];
    for (const file of scripts) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const [pattern, name] of FORBIDDEN) {
          if (pattern.test(line)) hits.push(`web/${relative(WEB, file)}:${i + 1}: ${name}`);
        }
      });
    }
    assert.deepEqual(hits, [], `HTML sinks in the dashboard:\n${hits.join('\n')}`);
  });

  it('index.html has no inline script, inline style or external origin', () => {
    const page = readFileSync(join(WEB, 'index.html'), 'utf8');
    for (const tag of page.match(/<script\b[^>]*>[\s\S]*?<\/script>/gi) ?? []) {
      assert.match(tag, /^<script\b[^>]*\bsrc="\/assets\/[^"]+"[^>]*><\/script>$/, `inline script: ${tag}`);
    }
    assert.doesNotMatch(page, /<style\b/i, 'inline <style>');
    assert.doesNotMatch(page, /\sstyle\s*=/i, 'inline style attribute');
    assert.doesNotMatch(page, /\son[a-z]+\s*=/i, 'inline event handler');
    assert.doesNotMatch(page, /(?:src|href)\s*=\s*"(?:https?:)?\/\//i, 'asset from another origin');
  });

  it('imports only same-origin modules', () => {
    for (const file of scripts) {
      const text = readFileSync(file, 'utf8');
      for (const [, specifier] of text.matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)) {
        assert.match(
          specifier!,
          /^(?:\.{1,2}\/|\/assets\/)/,
          `web/${relative(WEB, file)} imports ${specifier}: only relative or /assets/ paths resolve under the CSP`,
        );
      }
    }
  });
});
