// The dashboard's HTTP application in-process (app.request): the token, the headers, the Host and CSRF
// checks, the static files, and the API over a store seeded from a scanned simulated organisation.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import { WEB_LOG_EXTENSIONS } from '../cli/ssrf.js';
import { storeFindings } from '../cli/run.js';
import { loadConfig } from '../config/config.js';
import type { Finding } from '../detect/finding.js';
import type { Incident } from '../engine/incidents.js';
import { scanCloudTrail } from '../engine/scan.js';
import { scanWebLogs } from '../engine/web-scan.js';
import { buildExposureReport } from '../exposure/backlog.js';
import { exposureFinding } from '../exposure/findings.js';
import { exposureReading } from '../exposure/read.js';
import { loadInventory } from '../inventory/load.js';
import { sampleFinding } from '../report/sample-findings.test-helpers.js';
import { shellQuote } from '../respond/commands.js';
import { simulateOrganisation } from '../simulate/index.js';
import type { Label } from '../simulate/label-match.js';
import { listLocal } from '../sources/local.js';
import { openStore, type AuditEntry, type Store, type StoredFinding } from '../store/store.js';
import { CONTENT_SECURITY_POLICY, createApp } from './app.js';
import { DEFAULT_WEB_ROOT } from './assets.js';
import type { IncidentActivity } from './incidents.js';

const TOKEN = 'k'.repeat(32);
const PORT = 8321;
const HOST = `127.0.0.1:${PORT}`;
const STORY = 'imdsv1-ssrf-offbox';
const HOSTILE = '<img src=x onerror=alert(1)>\x1b[2J';
const NOW = new Date('2026-04-01T12:00:00Z');

const work = mkdtempSync(join(tmpdir(), 'offbox-serve-'));
const webRoot = join(work, 'web');
let store: Store;
let app: Hono;
let storyInstance = '';

after(() => {
  store?.close();
  rmSync(work, { recursive: true, force: true });
});

/** A request as the dashboard makes it: right Host, token cookie, unless told otherwise. */
function request(path: string, init: RequestInit & { auth?: 'cookie' | 'bearer' | 'none' } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('host')) headers.set('host', HOST);
  const auth = init.auth ?? 'cookie';
  if (auth === 'cookie') headers.set('cookie', `offbox_token=${TOKEN}`);
  if (auth === 'bearer') headers.set('authorization', `Bearer ${TOKEN}`);
  return Promise.resolve(app.request(path, { ...init, headers }));
}

async function json<T>(path: string): Promise<T> {
  const res = await request(path);
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  return (await res.json()) as T;
}

function post(id: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return request(`/api/findings/${id}/status`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-offbox-request': '1', ...headers },
    body: JSON.stringify(body),
  });
}

function assertSecurityHeaders(res: Response, what: string): void {
  assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, what);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer', what);
  assert.equal(res.headers.get('x-frame-options'), 'DENY', what);
  assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin', what);
}

before(async () => {
  mkdirSync(join(webRoot, 'pages'), { recursive: true });
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><script type="module" src="/assets/app/app.js"></script>');
  writeFileSync(join(webRoot, 'app.js'), 'export {};\n');
  writeFileSync(join(webRoot, 'pages', 'list.js'), 'export const list = 1;\n');
  writeFileSync(join(webRoot, 'notes.md'), 'private\n');
  writeFileSync(join(work, 'secret.js'), 'secret\n');

  const org = join(work, 'org');
  await simulateOrganisation({ out: org, seed: 1 });
  const labels = JSON.parse(readFileSync(join(org, 'labels.json'), 'utf8')) as Label[];
  storyInstance = labels.find((l) => l.story === STORY && l.detector === 'imds-ssrf-attempt')?.instanceId ?? '';
  assert.match(storyInstance, /^i-[0-9a-f]+$/i);
  const config = loadConfig(join(org, 'offbox.yaml'));
  const inventory = loadInventory([join(org, 'inventory')]).map;
  const trail = await scanCloudTrail(listLocal([join(org, 'cloudtrail')]), { config, inventory });
  const web = await scanWebLogs(listLocal([join(org, 'weblogs')], { extensions: WEB_LOG_EXTENSIONS }), {
    config,
    inventory,
  });
  const backlog = buildExposureReport(exposureReading(trail.state, trail, { config, inventory }));
  const exposure = backlog.items.map((item) => exposureFinding(item, trail.ipRangesSyncToken));
  const db = join(work, 'store.db');
  const counts = { events: 0, warnings: 0, ipRangesSyncToken: trail.ipRangesSyncToken };
  // The scan --db path: findings plus the vending records and revocations incidents are told with.
  storeFindings(db, 'scan', ['sim'], [...trail.findings, ...web.findings], counts, {
    ...(trail.vending ? { vending: trail.vending } : {}),
    ...(trail.revocations ? { revocations: trail.revocations } : {}),
  });
  storeFindings(db, 'exposure', ['sim'], exposure, counts);
  store = openStore(db, { now: () => NOW });
  store.upsertFindings([
    sampleFinding({
      id: 'f-hostile',
      detector: 'instance-credential-outside-aws',
      severity: 'low',
      title: `Evil ${HOSTILE}`,
      principal: { role: 'hostile-role', instanceId: 'i-0ffffffffffffffff' },
      activity: { userAgents: [HOSTILE] },
    }),
    sampleFinding({ id: 'f-no-role', severity: 'info', principal: { role: '', roleArn: '', instanceId: '' } }),
  ]);
  app = createApp({ store, token: TOKEN, webRoot, port: PORT, now: () => NOW, log: () => {} });
});

describe('offbox serve: access token', () => {
  it('401 without a token, 200 with the cookie or a bearer header; a wrong token of the same length is 401', async () => {
    const none = await request('/api/meta', { auth: 'none' });
    assert.equal(none.status, 401);
    const body = (await none.json()) as { error: string; hint: string };
    assert.ok(body.error && body.hint);
    assert.equal((await request('/api/meta')).status, 200);
    assert.equal((await request('/api/meta', { auth: 'bearer' })).status, 200);
    const wrong = 'j'.repeat(TOKEN.length);
    for (const headers of [{ cookie: `offbox_token=${wrong}` }, { authorization: `Bearer ${wrong}` }] as Record<
      string,
      string
    >[]) {
      assert.equal((await request('/api/meta', { auth: 'none', headers })).status, 401);
    }
    assert.equal((await request('/api/meta', { auth: 'none', headers: { cookie: 'offbox_token=short' } })).status, 401);
  });

  it('/?token= sets an HttpOnly SameSite=Strict cookie and redirects to /; a wrong one gets a page without script', async () => {
    const res = await request(`/?token=${TOKEN}`, { auth: 'none' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/');
    assert.equal(res.headers.get('set-cookie'), `offbox_token=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`);
    const wrong = await request(`/?token=${'x'.repeat(32)}`, { auth: 'none' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    const page = await wrong.text();
    assert.match(page, /access token needed/);
    assert.doesNotMatch(page, /<script/i);
    const bare = await request('/', { auth: 'none' });
    assert.equal(bare.status, 401);
    assert.match(bare.headers.get('content-type') ?? '', /text\/html/);
  });

  it('serves web/index.html at / and for client-side routes, with the token', async () => {
    for (const path of ['/', '/findings/abc', '/incidents']) {
      const res = await request(path);
      assert.equal(res.status, 200, path);
      assert.match(await res.text(), /\/assets\/app\/app\.js/);
    }
  });
});

describe('offbox serve: headers, Host and CSRF checks', () => {
  it('every response carries the CSP and the other security headers (API, page, asset, 401, 404, 421)', async () => {
    const cases: [string, Promise<Response>][] = [
      ['api', request('/api/meta')],
      ['page', request('/')],
      ['app asset', request('/assets/app/app.js', { auth: 'none' })],
      ['vendor asset', request('/assets/vendor/preact.mjs', { auth: 'none' })],
      ['401', request('/api/findings', { auth: 'none' })],
      ['401 page', request('/', { auth: 'none' })],
      ['404 api', request('/api/nothing')],
      ['404 finding', request('/api/findings/nope')],
      ['404 asset', request('/assets/app/missing.js', { auth: 'none' })],
      ['421', request('/api/meta', { headers: { host: 'evil.example' } })],
      ['400', request('/api/findings?limit=9999')],
    ];
    for (const [what, pending] of cases) assertSecurityHeaders(await pending, what);
    assert.equal((await request('/api/meta')).headers.get('cache-control'), 'no-store');
  });

  it('answers only for 127.0.0.1, localhost and [::1] on its port (DNS rebinding)', async () => {
    for (const host of [`localhost:${PORT}`, `[::1]:${PORT}`, HOST]) {
      assert.equal((await request('/api/meta', { headers: { host } })).status, 200, host);
    }
    for (const host of ['evil.example', `evil.example:${PORT}`, '127.0.0.1:1', `127.0.0.2:${PORT}`, '']) {
      const res = await request('/api/meta', { headers: { host } });
      assert.equal(res.status, 421, host);
      assert.ok(((await res.json()) as { hint: string }).hint);
    }
    const explicit = createApp({ store, token: TOKEN, webRoot, port: () => PORT, host: 'dash.internal' });
    const res = await explicit.request('/api/meta', {
      headers: { host: `dash.internal:${PORT}`, authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 200);
  });

  it('a POST without the custom header is 403, without the JSON content type 415, from another origin 403', async () => {
    const id = 'f-hostile';
    assert.equal((await post(id, { status: 'acknowledged' }, { 'x-offbox-request': '' })).status, 403);
    const form = await request(`/api/findings/${id}/status`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-offbox-request': '1' },
      body: JSON.stringify({ status: 'acknowledged' }),
    });
    assert.equal(form.status, 415);
    assert.equal((await post(id, { status: 'acknowledged' }, { origin: 'http://evil.example' })).status, 403);
    assert.equal(store.getFinding(id)?.status, 'new', 'nothing was written');
    assert.equal(store.listAudit(id).length, 0);
  });
});

describe('offbox serve: static files', () => {
  it('refuses path traversal in every spelling and files of other types', async () => {
    for (const path of [
      '/assets/app/../../package.json',
      '/assets/app/..%2f..%2fpackage.json',
      '/assets/app/%2e%2e/secret.js',
      '/assets/app/..%2fsecret.js',
      '/assets/app/%2e%2e%2fsecret.js',
      '/assets/app/..%5csecret.js',
      '/assets/app/%252e%252e%252fsecret.js',
      '/assets/app/pages%2f..%2f..%2fsecret.js',
      '/assets/app/notes.md',
      '/assets/app/%00app.js',
      '/assets/app/%E0%A4%A',
    ]) {
      const res = await request(path, { auth: 'none' });
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(await res.text(), /secret|"name": "offbox"/, path);
    }
    const nested = await request('/assets/app/pages/list.js', { auth: 'none' });
    assert.equal(nested.status, 200);
    assert.match(nested.headers.get('content-type') ?? '', /^text\/javascript/);
  });

  it('serves Preact, its hooks (importing ./preact.mjs), htm and uPlot from the installed packages', async () => {
    for (const name of ['preact.mjs', 'preact-hooks.mjs', 'htm.mjs', 'uplot.mjs']) {
      const res = await request(`/assets/vendor/${name}`, { auth: 'none' });
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8', name);
      assert.match(res.headers.get('cache-control') ?? '', /max-age/);
      const text = await res.text();
      assert.match(text, /export/, name);
      assert.doesNotMatch(text, /from\s*["']preact["']/, `${name} has no bare import`);
    }
    const hooks = await (await request('/assets/vendor/preact-hooks.mjs', { auth: 'none' })).text();
    assert.match(hooks, /from"\.\/preact\.mjs"/);
    const css = await request('/assets/vendor/uplot.css', { auth: 'none' });
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal((await request('/assets/vendor/nope.mjs', { auth: 'none' })).status, 404);
  });

  it("the default web root is the package's web/ folder", () => {
    assert.equal(DEFAULT_WEB_ROOT, fileURLToPath(new URL('../../web/', import.meta.url)));
  });
});

describe('offbox serve: API', () => {
  it('/api/meta: version, store and the distinct filter values', async () => {
    const meta = await json<{
      version: string;
      store: string;
      total: number;
      detectors: string[];
      accounts: string[];
      roles: string[];
      statuses: string[];
      severities: string[];
    }>('/api/meta');
    assert.match(meta.version, /^\d+\.\d+\.\d+/);
    assert.equal(meta.store, store.file);
    assert.equal(meta.total, store.listFindings().total);
    for (const d of ['imds-ssrf-attempt', 'imdsv1-credential-delivery', 'instance-credential-outside-aws']) {
      assert.ok(meta.detectors.includes(d), d);
    }
    assert.ok(meta.roles.includes('hostile-role'));
    assert.deepEqual(meta.statuses, ['new']);
    assert.equal(meta.severities[0], 'critical');
  });

  it('/api/findings pages, filters and sorts; bad values are 400 with a hint', async () => {
    type Page = { total: number; offset: number; limit: number; findings: StoredFinding[] };
    const first = await json<Page>('/api/findings');
    assert.equal(first.limit, 50);
    assert.equal(first.offset, 0);
    assert.ok(first.total > 10);
    const all: StoredFinding[] = [];
    for (let offset = 0; offset < first.total; offset += 7) {
      all.push(...(await json<Page>(`/api/findings?limit=7&offset=${offset}`)).findings);
    }
    assert.equal(new Set(all.map((f) => f.id)).size, first.total, 'paging visits every finding once');

    const high = await json<Page>('/api/findings?minSeverity=high&limit=500');
    assert.ok(high.findings.every((f) => f.severity === 'critical' || f.severity === 'high'));
    const ssrf = await json<Page>('/api/findings?detector=imds-ssrf-attempt&limit=500');
    assert.ok(ssrf.total > 0 && ssrf.findings.every((f) => f.detector === 'imds-ssrf-attempt'));
    const hostile = await json<Page>(`/api/findings?search=${encodeURIComponent('<img')}`);
    assert.deepEqual(
      hostile.findings.map((f) => f.id),
      ['f-hostile'],
    );
    assert.equal(hostile.findings[0]!.title, `Evil ${HOSTILE}`, 'log strings come back as data, unchanged');
    const byRole = await json<Page>('/api/findings?role=hostile-role&account=123456789012&status=new,acknowledged');
    assert.deepEqual(
      byRole.findings.map((f) => f.id),
      ['f-hostile'],
    );
    const byCalls = await json<Page>('/api/findings?sort=calls&limit=500');
    const calls = byCalls.findings.map((f) => f.activity.calls);
    assert.deepEqual(
      calls,
      [...calls].sort((a, b) => b - a),
    );

    for (const query of [
      'limit=501',
      'limit=-1',
      'limit=ten',
      'offset=1.5',
      'minSeverity=severe',
      'status=new,open',
      'sort=constructor',
      `search=${'x'.repeat(201)}`,
    ]) {
      const res = await request(`/api/findings?${query}`);
      assert.equal(res.status, 400, query);
      const body = (await res.json()) as { error: string; hint: string };
      assert.ok(body.error && body.hint, query);
      assert.doesNotMatch(JSON.stringify(body), /at .*\.ts:\d+/, 'no stack');
    }
  });

  it('/api/findings/:id: the finding, its audit rows and its incident; 404 unknown', async () => {
    const ssrf = store.listFindings({ detector: 'imds-ssrf-attempt', search: storyInstance }).findings[0]!;
    const detail = await json<{ finding: StoredFinding; audit: AuditEntry[]; incidentId: string | null }>(
      `/api/findings/${ssrf.id}`,
    );
    assert.equal(detail.finding.id, ssrf.id);
    assert.ok(detail.finding.evidence.reasons.length > 0);
    assert.deepEqual(detail.audit, []);
    assert.match(detail.incidentId ?? '', /^[0-9a-f]{32}$/);
    const res = await request('/api/findings/does-not-exist');
    assert.equal(res.status, 404);
    assert.ok(((await res.json()) as { hint: string }).hint);
  });

  it('POST /api/findings/:id/status changes the status and writes an audit row as the dashboard', async () => {
    const res = await post('f-hostile', { status: 'acknowledged', note: 'looking <b>now</b>' });
    assert.equal(res.status, 200);
    const { finding } = (await res.json()) as { finding: StoredFinding };
    assert.equal(finding.status, 'acknowledged');
    assert.equal(finding.statusNote, 'looking <b>now</b>');
    const audit = store.listAudit('f-hostile');
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.actor, 'dashboard');
    assert.equal(audit[0]!.action, 'set-status');
    assert.deepEqual(audit[0]!.detail, { from: 'new', to: 'acknowledged', note: 'looking <b>now</b>' });
    const detail = await json<{ audit: AuditEntry[] }>('/api/findings/f-hostile');
    assert.equal(detail.audit.length, 1);

    for (const body of [{ status: 'open' }, { status: 'resolved', note: 7 }, [], 'resolved']) {
      assert.equal((await post('f-hostile', body)).status, 400, JSON.stringify(body));
    }
    const broken = await request('/api/findings/f-hostile/status', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-offbox-request': '1' },
      body: '{not json',
    });
    assert.equal(broken.status, 400);
    assert.equal((await post('nope', { status: 'resolved' })).status, 404);
    assert.equal(store.listAudit('f-hostile').length, 1, 'refused changes write nothing');
  });

  it('/api/findings/:id/plan: the dry-run containment plan as data, text and markdown; 422 without a role', async () => {
    const offBox = store.listFindings({ detector: 'instance-credential-outside-aws', search: storyInstance })
      .findings[0]!;
    const res = await request(`/api/findings/${offBox.id}/plan`);
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as {
      plan: { steps: { id: string; commands: string[] }[]; target: { roleName: string; instanceId: string } };
      text: string;
      markdown: string;
      applyCommand: string;
    };
    assert.deepEqual(
      body.plan.steps.map((s) => s.id),
      ['revoke', 'close-path', 'verify'],
    );
    assert.equal(body.plan.target.instanceId, storyInstance);
    assert.ok(body.plan.steps[0]!.commands.some((c) => c.includes('aws iam put-role-policy')));
    assert.match(body.text, /dry run|Step|revoke/i);
    assert.match(body.markdown, /^#/m);
    assert.equal(body.applyCommand, `offbox contain --finding ${offBox.id} --db ${shellQuote(store.file)} --apply`);

    const noRole = await request('/api/findings/f-no-role/plan');
    assert.equal(noRole.status, 422);
    assert.match(((await noRole.json()) as { hint: string }).hint, /offbox contain --role/);
    assert.equal((await request('/api/findings/nope/plan')).status, 404);
  });

  it('/api/incidents: the SSRF story as SSRF attempt → vending → off-box use → revocation, with chart data', async () => {
    const list = await json<{ total: number; incidents: Incident[] }>('/api/incidents?limit=500');
    assert.equal(list.total, list.incidents.length);
    const mine = list.incidents.filter((i) => i.instanceId === storyInstance);
    assert.equal(mine.length, 1, `one incident for ${storyInstance}`);
    const detail = await json<{ incident: Incident; findings: StoredFinding[]; activity: IncidentActivity }>(
      `/api/incidents/${mine[0]!.id}`,
    );
    const steps = detail.incident.timeline.map((e) => e.step);
    for (const step of ['ssrf-attempt', 'credential-vended', 'first-off-box-use', 'revocation'] as const) {
      assert.ok(steps.includes(step), `${step} in ${steps.join(', ')}`);
    }
    const firstOf = (step: string): number => steps.indexOf(step as (typeof steps)[number]);
    assert.ok(firstOf('ssrf-attempt') < firstOf('first-off-box-use'), 'SSRF before off-box use');
    assert.ok(firstOf('credential-vended') < firstOf('first-off-box-use'), 'vending before off-box use');
    assert.ok(firstOf('first-off-box-use') < firstOf('revocation'), 'off-box use before revocation');
    assert.deepEqual(
      detail.findings.map((f) => f.id),
      detail.incident.findingIds,
    );
    assert.ok(detail.findings.every((f) => typeof f.status === 'string'));

    const { series, points } = detail.activity;
    assert.deepEqual(
      series.map((s) => s.step),
      ['ssrf-attempt', 'vending', 'off-box-use', 'revocation', 'other'],
    );
    assert.equal(points.length, series.length + 1);
    const [xs, ...values] = points;
    assert.ok(xs.length > 0);
    assert.deepEqual(
      [...xs].sort((a, b) => a - b),
      xs,
    );
    assert.equal(new Set(xs).size, xs.length);
    for (const v of values) assert.equal(v.length, xs.length);
    for (const [i, step] of ['ssrf-attempt', 'vending', 'off-box-use', 'revocation'].entries()) {
      assert.ok(
        values[i]!.some((v) => v !== null && v > 0),
        `${step} has a point`,
      );
    }
    const totalOffBox = values[2]!.reduce<number>((n, v) => n + (v ?? 0), 0);
    const offBoxCalls = detail.findings
      .filter((f) => f.detector === 'instance-credential-outside-aws')
      .reduce((n, f) => n + f.activity.calls, 0);
    assert.ok(totalOffBox >= offBoxCalls, 'off-box calls are counted');

    const paged = await json<{ total: number; incidents: Incident[] }>('/api/incidents?limit=1&offset=1');
    assert.equal(paged.incidents.length, 1);
    assert.equal(paged.incidents[0]!.id, list.incidents[1]!.id);
    assert.equal((await request('/api/incidents/nope')).status, 404);
  });

  it('/api/exposure: the stored IMDSv1 backlog, most severe first, then by rank', async () => {
    const { total, items } = await json<{ total: number; items: (Finding & { exposure: { rank: number } })[] }>(
      '/api/exposure?limit=500',
    );
    assert.ok(total > 0);
    assert.equal(items.length, total);
    assert.ok(items.every((f) => f.detector === 'imdsv1-credential-delivery'));
    const order = items.map((f) => [f.severity, f.exposure.rank] as const);
    const rankOf = ['critical', 'high', 'medium', 'low', 'info'];
    for (let i = 1; i < order.length; i++) {
      const [sa, ra] = order[i - 1]!;
      const [sb, rb] = order[i]!;
      assert.ok(rankOf.indexOf(sa) < rankOf.indexOf(sb) || (sa === sb && ra <= rb), `${sa} #${ra} before ${sb} #${rb}`);
    }
  });
});

describe('offbox serve: 100k findings', () => {
  it('pages server-side: the last page of 100,000 findings', async (t) => {
    const big = openStore(join(work, 'big.db'));
    try {
      const findings = Array.from({ length: 100_000 }, (_, i) =>
        sampleFinding({
          id: `f-${String(i).padStart(6, '0')}`,
          severity: (['critical', 'high', 'medium', 'low', 'info'] as const)[i % 5],
          activity: { calls: i, lastSeen: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() },
        }),
      );
      let started = performance.now();
      big.upsertFindings(findings); // one transaction
      t.diagnostic(`inserted 100,000 findings in ${Math.round(performance.now() - started)} ms`);
      const bigApp = createApp({ store: big, token: TOKEN, webRoot, port: PORT });
      started = performance.now();
      const res = await bigApp.request('/api/findings?limit=50&offset=99950&sort=calls', {
        headers: { host: HOST, authorization: `Bearer ${TOKEN}` },
      });
      const page = (await res.json()) as { total: number; findings: StoredFinding[] };
      t.diagnostic(`last page answered in ${Math.round(performance.now() - started)} ms`);
      assert.equal(res.status, 200);
      assert.equal(page.total, 100_000);
      assert.deepEqual(
        page.findings.map((f) => f.activity.calls),
        Array.from({ length: 50 }, (_, i) => 49 - i),
      );
      started = performance.now();
      const meta = await bigApp.request('/api/meta', { headers: { host: HOST, authorization: `Bearer ${TOKEN}` } });
      assert.equal(((await meta.json()) as { total: number }).total, 100_000);
      t.diagnostic(`meta answered in ${Math.round(performance.now() - started)} ms`);
    } finally {
      big.close();
    }
  });
});
