import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CSV_COLUMNS, renderCsv } from './csv.js';
import { renderJson, renderNdjson } from './json.js';
import { defaultFormat, FORMATS, isOutputFormat, renderFindings } from './index.js';
import { escapeForTerminal, isUnsafeCodePoint } from './escape.js';
import { parseCsv } from './csv-parse.test-helpers.js';
import { sampleFinding } from './sample-findings.test-helpers.js';
import type { Finding } from '../detect/finding.js';

const hostile = sampleFinding({
  id: 'f-hostile',
  title: '=HYPERLINK("http://x","click")\u2028next line\u2029',
  principal: { sessionName: "+cmd|' /C calc'!A0", accessKeyIds: ['ASIA1', 'ASIA2'] },
  source: { owner: '@SUM(1), "quoted"\r\n\x1b[31m', ip: '-2+3' },
  activity: { userAgents: ['ua1', 'ua\u202e2\x85'], actions: ['a:B', 'c:D'], regions: ['us-east-1', 'eu-west-1'] },
  evidence: { reasons: ['r1', '\ud800lone'], eventIds: ['e1', 'e2'] },
  response: { commands: ['cmd one', '\tcmd two'] },
});

describe('renderNdjson', () => {
  it('writes one parseable finding per line', () => {
    const findings = [sampleFinding(), hostile, sampleFinding({ id: 'f-3', severity: 'low' })];
    const out = renderNdjson(findings);
    assert.ok(out.endsWith('\n'));
    const lines = out.split('\n').slice(0, -1);
    assert.equal(lines.length, 3);
    const parsed = lines.map((l) => JSON.parse(l) as Finding);
    // The lone surrogate is written as \ud800, which parses back to itself.
    assert.deepEqual(parsed, findings);
  });

  it('escapes line and paragraph separators, C1 and bidi characters', () => {
    const out = renderNdjson([hostile]);
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    assert.doesNotMatch(out, /[\u2028\u2029\u0085\u202e\u001b]/);
    assert.ok(out.includes('\\u2028') && out.includes('\\u2029') && out.includes('\\u202e'));
    assert.equal(out.split(/\r\n|\r|\n|\u2028|\u2029|\u0085/).length, 2);
  });

  it('escapes every code point the terminal escaper treats as unsafe, losslessly', () => {
    let all = '';
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (isUnsafeCodePoint(cp)) all += String.fromCodePoint(cp);
    }
    const f = sampleFinding({ title: all });
    const out = renderNdjson([f]).slice(0, -1);
    for (const ch of all) assert.ok(!out.includes(ch), `raw U+${(ch.codePointAt(0) ?? 0).toString(16)}`);
    assert.deepEqual(JSON.parse(out), f);
  });

  it('is empty for no findings', () => {
    assert.equal(renderNdjson([]), '');
  });
});

describe('renderJson', () => {
  it('writes one document with tool, version, time, meta and findings', () => {
    const meta = { ipRangesSyncToken: '1787433425', inputs: ['logs/'], warnings: 2 };
    const now = new Date('2025-02-01T12:00:00Z');
    const out = renderJson([sampleFinding(), hostile], meta, { version: '9.9.9', now });
    const doc = JSON.parse(out) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc), ['tool', 'version', 'generatedAt', 'meta', 'findings']);
    assert.equal(doc['tool'], 'offbox');
    assert.equal(doc['version'], '9.9.9');
    assert.equal(doc['generatedAt'], '2025-02-01T12:00:00.000Z');
    assert.deepEqual(doc['meta'], meta);
    assert.deepEqual(doc['findings'], [sampleFinding(), hostile]);
    assert.doesNotMatch(out, /[\u2028\u2029\u202e]/);
  });

  it('reads the version from package.json by default', () => {
    const doc = JSON.parse(renderJson([], {})) as { version: string; findings: unknown[] };
    assert.match(doc.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(doc.findings, []);
  });
});

describe('renderCsv', () => {
  it('writes a header and one row per finding with a constant column count', () => {
    const findings = [sampleFinding(), hostile, sampleFinding({ id: 'f-3', activity: { actions: [] } })];
    const out = renderCsv(findings);
    assert.ok(out.endsWith('\r\n'));
    assert.doesNotMatch(out.replace(/\r\n/g, ''), /[\r\n]/, 'no bare CR or LF');
    const rows = parseCsv(out);
    assert.equal(rows.length, 4);
    for (const row of rows) assert.equal(row.length, CSV_COLUMNS.length);
    assert.deepEqual(rows[0], [...CSV_COLUMNS]);
  });

  it('flattens fields in the documented order', () => {
    const rows = parseCsv(renderCsv([hostile]));
    const row = Object.fromEntries((rows[0] ?? []).map((h, i) => [h, rows[1]?.[i]]));
    assert.equal(row['id'], 'f-hostile');
    assert.equal(row['title'], `'${escapeForTerminal(hostile.title)}`);
    assert.equal(row['principal.sessionName'], "'+cmd|' /C calc'!A0");
    assert.equal(row['principal.accessKeyIds'], 'ASIA1 ASIA2');
    assert.equal(row['source.ip'], "'-2+3");
    assert.equal(row['source.owner'], `'@SUM(1), "quoted"\\x0d\\x0a\\x1b[31m`);
    assert.equal(row['activity.calls'], '12');
    assert.equal(row['activity.actions'], 'a:B c:D');
    assert.equal(row['activity.userAgents'], 'ua1 | ua\\u202e2\\x85');
    assert.equal(row['activity.regions'], 'us-east-1 eu-west-1');
    assert.equal(row['activity.errorCount'], '1');
    assert.equal(row['evidence.eventIds'], 'e1 e2');
    assert.equal(row['evidence.reasons'], 'r1 | \uFFFDlone');
    assert.equal(row['attack.technique'], 'T1552.005');
    assert.equal(row['response.commands'], 'cmd one ; \\x09cmd two');
  });

  it('keeps the row and column count for arbitrary strings (property)', () => {
    const text = fc.string({ unit: fc.integer({ min: 0, max: 0x10ffff }).map((n) => String.fromCodePoint(n)) });
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text, text), { maxLength: 5 }), (values) => {
        const findings = values.map(([a, b, c], i) =>
          sampleFinding({ id: `${i}${a}`, title: b, activity: { userAgents: [a, c] }, evidence: { reasons: [c] } }),
        );
        const rows = parseCsv(renderCsv(findings));
        assert.equal(rows.length, findings.length + 1);
        for (const row of rows) {
          assert.equal(row.length, CSV_COLUMNS.length);
          for (const cell of row) assert.doesNotMatch(cell, /^[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]/);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('renderFindings', () => {
  it('knows its formats', () => {
    assert.deepEqual([...FORMATS], ['table', 'json', 'ndjson', 'csv', 'markdown', 'ocsf', 'asff']);
    assert.ok(isOutputFormat('csv'));
    assert.ok(!isOutputFormat('xml'));
  });

  it('defaults to a table on a TTY and ndjson otherwise', () => {
    assert.equal(defaultFormat(true), 'table');
    assert.equal(defaultFormat(false), 'ndjson');
  });

  it('dispatches to each renderer', () => {
    const findings = [sampleFinding()];
    assert.equal(renderFindings(findings, 'ndjson'), renderNdjson(findings));
    assert.equal(renderFindings(findings, 'csv'), renderCsv(findings));
    const now = new Date(0);
    assert.equal(
      renderFindings(findings, 'json', { meta: { a: 1 }, version: '1.2.3', now }),
      renderJson(findings, { a: 1 }, { version: '1.2.3', now }),
    );
    const table = renderFindings(findings, 'table', { width: 60 });
    assert.ok(!table.includes('\x1b'));
    assert.match(table, /1 finding: 1 high/);
  });
});
