import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { escapeCsvCell, escapeForTerminal, escapeHtml, escapeMarkdown } from './escape.js';
import { parseCsv } from './csv-parse.test-helpers.js';

const UNSAFE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}]|\p{Cs}/u;
const FORMULA_START = /^[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]/;

const HOSTILE_CHARS = [
  '\x1b',
  '\x07',
  '\x08',
  '\r',
  '\n',
  '\t',
  '\x00',
  '\x7f',
  '\x9b',
  '\x85',
  '\u202e',
  '\u202d',
  '\u2066',
  '\u2069',
  '\u200b',
  '\u200d',
  '\ufeff',
  '\u2028',
  '\u2029',
  '\ud800',
  '\udfff',
  '\u{e0041}',
  ',',
  '"',
  '=',
  '+',
  '-',
  '@',
  '\uff1d',
  '\uff0b',
  '\uff0d',
  '\uff20',
  '|',
  '`',
  '<',
  '>',
  '&',
  '[',
  ']',
  '*',
  '_',
  '\\',
  'a',
  ' ',
  '漢',
  '😀',
];
const anyCodeUnitOrPoint = fc.oneof(
  fc.constantFrom(...HOSTILE_CHARS),
  fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)),
  fc.integer({ min: 0, max: 0x10ffff }).map((n) => String.fromCodePoint(n)),
);
const hostileString = fc.array(anyCodeUnitOrPoint, { maxLength: 40 }).map((a) => a.join(''));

function parseSingleCell(cell: string): string {
  const rows = parseCsv(`${cell}\r\n`);
  assert.equal(rows.length, 1, `one row from ${JSON.stringify(cell)}`);
  assert.equal(rows[0]?.length, 1, `one field from ${JSON.stringify(cell)}`);
  return rows[0]?.[0] ?? '';
}

describe('escapeForTerminal', () => {
  it('makes terminal control sequences visible', () => {
    assert.equal(escapeForTerminal('\x1b[31mred'), '\\x1b[31mred');
    assert.equal(escapeForTerminal('\x1b]0;title\x07'), '\\x1b]0;title\\x07');
    assert.equal(escapeForTerminal('a\rb\nc\td\x08\x7f'), 'a\\x0db\\x0ac\\x09d\\x08\\x7f');
    assert.equal(escapeForTerminal('\x9b2J'), '\\x9b2J');
  });

  it('makes bidi and invisible characters visible', () => {
    assert.equal(escapeForTerminal('evil\u202etxt.exe'), 'evil\\u202etxt.exe');
    assert.equal(escapeForTerminal('\u2066x\u2069'), '\\u2066x\\u2069');
    assert.equal(escapeForTerminal('a\u200bb\ufeff'), 'a\\u200bb\\ufeff');
    assert.equal(escapeForTerminal('l1\u2028l2\u2029'), 'l1\\u2028l2\\u2029');
    assert.equal(escapeForTerminal('x\u{e0041}'), 'x\\u{e0041}');
  });

  it('replaces lone surrogates and keeps pairs', () => {
    assert.equal(escapeForTerminal('a\ud800b\udc00'), 'a\uFFFDb\uFFFD');
    assert.equal(escapeForTerminal('😀 漢字 café'), '😀 漢字 café');
  });

  it('leaves ordinary values alone', () => {
    const ua = 'aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/s3.ls';
    assert.equal(escapeForTerminal(ua), ua);
    assert.equal(escapeForTerminal('arn:aws:iam::123456789012:role/web-app'), 'arn:aws:iam::123456789012:role/web-app');
  });

  it('never outputs a control, bidi, invisible character or lone surrogate (property)', () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        assert.doesNotMatch(escapeForTerminal(s), UNSAFE);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('escapeCsvCell', () => {
  const cases: [string, string][] = [
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ["+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"],
    ['@SUM(1)', "'@SUM(1)"],
    ['-2+3', "'-2+3"],
    ['＝1+1', "'＝1+1"],
    ['＋1', "'＋1"],
    ['－1', "'－1"],
    ['＠x', "'＠x"],
    ['\t=1+1', "'\\x09=1+1"],
    ['\r=1+1', "'\\x0d=1+1"],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['line1\r\nline2', 'line1\\x0d\\x0aline2'],
    ['\x1b[31mred', '\\x1b[31mred'],
    ['plain', 'plain'],
    ['', ''],
    ['a=b', 'a=b'],
  ];
  for (const [input, expected] of cases) {
    it(`escapes ${JSON.stringify(input)}`, () => {
      assert.equal(escapeCsvCell(input), expected);
    });
  }

  it('parses back to the escaped input, prefixed only for formula starts (property)', () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        const cell = escapeCsvCell(s);
        assert.doesNotMatch(cell, UNSAFE);
        const parsed = parseSingleCell(cell);
        const escaped = escapeForTerminal(s);
        const prefixed = FORMULA_START.test(s) || FORMULA_START.test(escaped);
        assert.equal(parsed, prefixed ? `'${escaped}` : escaped);
        assert.doesNotMatch(parsed, FORMULA_START);
      }),
      { numRuns: 2000 },
    );
  });

  it('never starts with a formula character for formula-like input (property)', () => {
    const formulaish = fc
      .tuple(fc.constantFrom('=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'), hostileString)
      .map(([a, b]) => a + b);
    fc.assert(
      fc.property(formulaish, (s) => {
        const parsed = parseSingleCell(escapeCsvCell(s));
        assert.ok(parsed.startsWith("'"));
      }),
    );
  });
});

describe('escapeMarkdown', () => {
  it('escapes table, code, link, emphasis and HTML characters', () => {
    assert.equal(escapeMarkdown('a|b'), 'a\\|b');
    assert.equal(escapeMarkdown('`rm -rf`'), '\\`rm -rf\\`');
    assert.equal(escapeMarkdown('[x](http://evil)'), '\\[x\\](http://evil)');
    assert.equal(escapeMarkdown('*b* _i_ ~s~'), '\\*b\\* \\_i\\_ \\~s\\~');
    assert.equal(escapeMarkdown('<img src=x onerror=alert(1)> & co'), '&lt;img src=x onerror=alert(1)&gt; &amp; co');
  });

  it('escapes newlines and controls, and backslashes so an escape cannot free a pipe', () => {
    assert.equal(escapeMarkdown('a\nb'), 'a\\\\x0ab');
    assert.equal(escapeMarkdown('\x1b[2J'), '\\\\x1b\\[2J');
    assert.equal(escapeMarkdown('\\|'), '\\\\\\|');
  });

  it('never leaves an unescaped pipe or a raw control (property)', () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        const out = escapeMarkdown(s);
        assert.doesNotMatch(out, UNSAFE);
        assert.doesNotMatch(out, /[<>]/);
        // Every special must be preceded by an odd number of backslashes.
        for (const m of out.matchAll(/(\\*)[|`*_[\]~]/g)) assert.equal((m[1] ?? '').length % 2, 1, out);
      }),
    );
  });
});

describe('escapeHtml', () => {
  it('escapes markup and quotes', () => {
    assert.equal(
      escapeHtml(`<a href="x" onclick='y'>&</a>`),
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('makes controls and bidi visible', () => {
    assert.equal(escapeHtml('a\u202eb\x1b'), 'a\\u202eb\\x1b');
  });

  it('never outputs markup characters or unsafe code points (property)', () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        const out = escapeHtml(s);
        assert.doesNotMatch(out, /[<>"']/);
        assert.doesNotMatch(out, UNSAFE);
      }),
    );
  });
});
