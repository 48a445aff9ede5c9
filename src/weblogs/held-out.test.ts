import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HELPER_SERVICES } from './helper-services.js';
import { SSRF_FIXTURES } from './ssrf-corpus.test-helpers.js';
import {
  albLine,
  albRequestLine,
  nginxLine,
  nginxRequest,
  placeEverywhere,
  type Placed,
  POSITIONS,
  requests,
  verdictOf,
} from './ssrf-placement.test-helpers.js';

// Held-out payloads for the classes the main corpus hardly covers (helper services, addresses embedded
// in other values, numbers without a scheme, broken IPv6 brackets, other clouds), each with its public
// source (fixtures/ssrf/held-out, see PROVENANCE.md). Expected: `metadata` — a metadata service must be
// named; `helper` — a helper service with no metadata address visible must give a (weak) finding.

interface HeldOut {
  class: string;
  payload: string;
  source: string;
  expected: 'metadata' | 'helper';
}

function tsv(file: string): string[][] {
  return readFileSync(join(SSRF_FIXTURES, 'held-out', file), 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .map((line) => line.split('\t'));
}

function heldOut(): HeldOut[] {
  return tsv('helper-embedded-numeric.tsv').map(([klass, payload, source, expected]) => {
    if (expected !== 'metadata' && expected !== 'helper') throw new Error(`bad expected ${expected} for ${payload}`);
    if (!source) throw new Error(`no source for ${payload}`);
    return { class: klass!, payload: payload!, source, expected };
  });
}

type Format = 'alb' | 'nginx';

/** Target service of a verdict (the first part of the aggregation key). */
function targetOf(key: string): string {
  return key.split('|')[0] ?? '';
}

describe('held-out corpus: helper services, embedded addresses, numbers without a scheme, broken IPv6, other clouds', () => {
  const payloads = heldOut();

  it('every payload has a source and every helper family has an entry with a source', () => {
    assert.ok(payloads.length >= 80, `${payloads.length} payloads`);
    for (const p of payloads) assert.ok(p.source.length > 5, p.payload);
    for (const service of HELPER_SERVICES) {
      assert.ok(service.source.length > 5, service.family);
      assert.ok(service.domains.length > 0, service.family);
    }
  });

  it('recall per class ≥ 99% overall, in every position of ALB and nginx lines', async () => {
    const placements = await placeEverywhere('held-out', payloads, (p) => p.payload);
    const hit = (p: Placed<HeldOut>): boolean => {
      const verdict = verdictOf(p.request);
      if (!verdict) return false;
      // A metadata payload must name the service; a helper-only finding (`unknown`) is not enough.
      return p.payload.expected === 'helper' || targetOf(verdict.key) !== 'unknown';
    };
    const missed = placements.filter((p) => !hit(p));
    const classes = [...new Set(payloads.map((p) => p.class))];
    for (const klass of classes) {
      const inClass = placements.filter((p) => p.payload.class === klass);
      const missedInClass = missed.filter((p) => p.payload.class === klass);
      const payloadCount = payloads.filter((p) => p.class === klass).length;
      console.log(
        `held-out ${klass}: ${payloadCount} payloads, ${inClass.length - missedInClass.length}/${inClass.length} placements detected ` +
          `(${((1 - missedInClass.length / inClass.length) * 100).toFixed(2)}%)` +
          (missedInClass.length > 0
            ? `; missed: ${missedInClass
                .slice(0, 12)
                .map((m) => `${JSON.stringify(m.payload.payload)} ${m.format}/${m.position}`)
                .join('; ')}`
            : ''),
      );
    }
    const metadata = placements.filter((p) => p.payload.expected === 'metadata');
    const metadataMissed = missed.filter((p) => p.payload.expected === 'metadata');
    const recall = 1 - metadataMissed.length / metadata.length;
    const overall = 1 - missed.length / placements.length;
    console.log(
      `held-out overall: metadata-targeting placements ${metadata.length - metadataMissed.length}/${metadata.length} ` +
        `(${(recall * 100).toFixed(2)}%); all placements incl. helper-only ${placements.length - missed.length}/${placements.length} ` +
        `(${(overall * 100).toFixed(2)}%)`,
    );
    assert.ok(recall >= 0.99, `metadata recall ${recall}`);
    assert.ok(overall >= 0.99, `overall recall ${overall}`);
  });

  it('benign held-out set: ordinary URLs with digits, non-URL parameters, OOB look-alikes, docs links: 0 findings', async () => {
    const rows = tsv('benign.tsv');
    const alb: string[] = [];
    const nginx: string[] = [];
    const judged: { value: string; format: Format; line: number; where: string }[] = [];
    const add = (value: string, where: string, albText: string | undefined, nginxText: string): void => {
      if (albText !== undefined) {
        alb.push(albText);
        judged.push({ value, format: 'alb', line: alb.length, where });
      }
      nginx.push(nginxText);
      judged.push({ value, format: 'nginx', line: nginx.length, where });
    };
    for (const [, placement, value] of rows) {
      const v = value!;
      switch (placement) {
        case 'all':
          for (const position of POSITIONS) {
            const { requestLine, vhost } = nginxRequest(position, v);
            add(v, position, albLine(albRequestLine(position, v)), nginxLine(requestLine, vhost));
          }
          break;
        case 'query':
          add(
            v,
            'query',
            albLine(`GET http://app.example.com:80/search?${v} HTTP/1.1`),
            nginxLine(`GET /search?${v} HTTP/1.1`, 'app.example.com'),
          );
          break;
        case 'path':
          add(
            v,
            'path',
            albLine(`GET http://app.example.com:80${v} HTTP/1.1`),
            nginxLine(`GET ${v} HTTP/1.1`, 'app.example.com'),
          );
          break;
        case 'referer':
          add(
            v,
            'referer',
            undefined,
            `app.example.com 203.0.113.9 - - [01/May/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 1400 "${v}" "curl/8.4.0"`,
          );
          break;
        case 'user-agent':
          add(
            v,
            'user-agent',
            undefined,
            `app.example.com 203.0.113.9 - - [01/May/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 1400 "-" "${v}"`,
          );
          break;
        default:
          throw new Error(`unknown placement ${placement}`);
      }
    }
    const albRequests = await requests('benign-alb.log', alb);
    const nginxRequests = await requests('benign-nginx.log', nginx);
    const unread = judged.filter((j) => !(j.format === 'alb' ? albRequests : nginxRequests).has(j.line));
    const fired = judged
      .map((j) => ({ j, verdict: verdictOf((j.format === 'alb' ? albRequests : nginxRequests).get(j.line)) }))
      .filter((x) => x.verdict !== undefined)
      .map((x) => `${x.j.value} ${x.j.format}/${x.j.where} → ${x.verdict!.subject}`);
    console.log(
      `held-out benign: ${rows.length} values, ${judged.length - unread.length} requests read — false positives: ${fired.length}`,
    );
    assert.deepEqual(fired, []);
    assert.ok(judged.length - unread.length >= 200, `${judged.length - unread.length} requests`);
  });
});
