import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { cpuMsSince } from './cpu-time.js';

// Every regex literal in the code that reads logs, run on 16 KiB of pumped worst-case text: a
// backtracking blow-up (nested or adjacent quantifiers over the same characters) shows as hundreds of
// milliseconds at 16 KiB (quadratic: seconds at the 64 KiB line limit); linear work stays under one.
const SRC = fileURLToPath(new URL('../', import.meta.url));
const LOG_FACING = [
  'cloudtrail',
  'weblogs',
  'net',
  'detect',
  'engine',
  'inventory',
  'watch',
  'sources',
  'respond',
  'config',
];
const SIZE = 16 * 1024;
const LIMIT_MS = Number(process.env['OFFBOX_FUZZ_SLOW_MS'] ?? 200);

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.test-helpers.ts')) out.push(path);
  }
  return out;
}

function regexLiterals(file: string): { where: string; regex: RegExp }[] {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: { where: string; regex: RegExp }[] = [];
  const visit = (node: ts.Node): void => {
    if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
      const literal = node.getText(source);
      const slash = literal.lastIndexOf('/');
      const flags = literal.slice(slash + 1).replace(/[gy]/g, '');
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      found.push({
        where: `${relative(SRC, file)}:${line} ${literal}`,
        regex: new RegExp(literal.slice(1, slash), flags),
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

// What the logs are made of, and the openings the anchored patterns wait for.
const UNITS = [
  'a',
  'A',
  '0',
  '1',
  'f',
  '-',
  '.',
  '/',
  ':',
  '%',
  '%2',
  ' ',
  '\t',
  '"',
  '\\',
  '=',
  '&',
  '@',
  '_',
  'a-',
  'a.',
  '0.',
  '/a',
  ', ',
  '::',
];
const PREFIXES = [
  '',
  'arn:aws:iam::123456789012:role/',
  'eks-',
  'i-',
  'http://',
  '2024-01-01T00:00:00Z ',
  '[10/Oct/2000:13:55:36 -0700] ',
  'aws-sdk-',
];

describe('regular expressions on log-controlled text: no catastrophic backtracking', () => {
  const regexes = LOG_FACING.flatMap((dir) => sourceFiles(join(SRC, dir))).flatMap(regexLiterals);

  it(`finds the regex literals (${regexes.length})`, () => {
    assert.ok(regexes.length > 50);
  });

  it(`each runs in under ${LIMIT_MS} ms of CPU on every pumped ${SIZE / 1024} KiB worst case`, () => {
    const inputs = PREFIXES.flatMap((prefix) =>
      UNITS.flatMap((unit) => {
        const body = unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE);
        return [prefix + body + '!', prefix + body + '\n'];
      }),
    );
    const slow: string[] = [];
    for (const { where, regex } of regexes) {
      for (const input of inputs) {
        const started = process.cpuUsage();
        regex.exec(input);
        const took = cpuMsSince(started);
        if (took > LIMIT_MS) {
          // Measured again: one pause is not a blow-up.
          const again = process.cpuUsage();
          regex.exec(input);
          if (cpuMsSince(again) > LIMIT_MS)
            slow.push(`${where} took ${took.toFixed(0)} ms on ${JSON.stringify(input.slice(0, 40))}…`);
        }
      }
    }
    assert.deepEqual(slow, []);
  });
});
