// The triage dashboard end to end, in a real browser: a simulated organisation scanned into a store by the built
// CLI, `offbox serve` on it, and Debian's chromium driven by playwright-core (never a downloaded browser).
// Screenshots land in test-artifacts/serve/.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import type { Finding } from '../../src/detect/finding.js';
import { sampleFinding } from '../../src/report/sample-findings.test-helpers.js';
import { openStore } from '../../src/store/store.js';
import { CLI, ROOT, runCli } from './cli.test-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const STEP_MS = 60_000;
const STORY = 'imdsv1-ssrf-offbox';
const HOSTILE_ID = 'f-hostile';
const HOSTILE_AGENT = '<img src=x onerror="window.__pwned=1">\u001b[31mred\u001b[0m <script>window.__pwned=2</script>';
const HOSTILE_TITLE = '<b>bold</b> title';
const ARTIFACTS = join(ROOT, 'test-artifacts', 'serve');

const work = mkdtempSync(join(tmpdir(), 'offbox-serve-e2e-'));
const storeFile = join(work, 'offbox.db');

let server: ChildProcess | undefined;
let serverLog = '';
let browser: Browser | undefined;
let page: Page;
let startUrl = '';
let origin = '';
/** The SSRF finding of the simulated organisation's SSRF → off-box use → revocation story. */
let ssrfFinding: Finding;
let exposureSkipped = '';
const consoleMessages: { type: string; text: string }[] = [];
const pageErrors: string[] = [];
const failedAssets: string[] = [];

function assertInOrder(steps: readonly string[], expected: readonly string[]): void {
  const at = expected.map((step) => steps.indexOf(step));
  for (const [i, index] of at.entries()) assert.ok(index >= 0, `${expected[i]} missing from ${steps.join(', ')}`);
  assert.deepEqual(
    [...at].sort((a, b) => a - b),
    at,
    `expected ${expected.join(' → ')} in ${steps.join(', ')}`,
  );
}

async function run(args: string[]): Promise<string> {
  const result = await runCli(args);
  assert.ok(result.code === 0 || result.code === 1, `offbox ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stderr;
}

/** Starts `offbox serve` and resolves with the URL (token included) it prints. */
function startServer(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--db', storeFile, '--port', '0'], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', OFFBOX_HOME: '/nonexistent-offbox-home' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = child;
    const timer = setTimeout(
      () => reject(new Error(`offbox serve printed no URL within ${STEP_MS} ms:\n${serverLog}`)),
      STEP_MS,
    );
    const onData = (chunk: Buffer): void => {
      serverLog += chunk.toString();
      const url = /http:\/\/[^\s/]+\/\?token=[\w-]+/.exec(serverLog)?.[0];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`offbox serve exited ${code} before printing its URL:\n${serverLog}`));
    });
  });
}

async function screenshot(t: TestContext, name: string): Promise<void> {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  t.diagnostic(`screenshot: ${path}`);
}

/** The "1–N of TOTAL" line of the findings list, once the list has settled. */
async function listTotal(): Promise<number> {
  await page.locator('table.grid[aria-busy="false"]').waitFor();
  const text = (await page.getByTestId('summary').textContent()) ?? '';
  if (/No findings match/.test(text)) return 0;
  const total = /of ([\d,]+)/.exec(text)?.[1];
  assert.ok(total, `summary line: ${text}`);
  return Number(total.replace(/,/g, ''));
}

/**
 * Waits until the unfiltered list (`total` findings) has loaded. A step that filters again while it
 * loads makes the page abort that request (as it should), which the run would count as a failed request.
 */
async function unfilteredListLoaded(total: number): Promise<void> {
  await page.waitForFunction((n) => {
    const settled = document.querySelector('table.grid[aria-busy="false"]');
    const shown = /of ([\d,]+)/.exec(document.querySelector('[data-testid="summary"]')?.textContent ?? '')?.[1];
    return settled !== null && shown?.replace(/,/g, '') === String(n);
  }, total);
}

describe('offbox serve: the dashboard in chromium', { timeout: 10 * STEP_MS }, () => {
  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: install Debian's browser with \`apt-get install chromium\` (.ci/run does it); ` +
        'offbox never downloads a browser for its tests',
    );
    mkdirSync(ARTIFACTS, { recursive: true });

    const sim = join(work, 'org');
    await run(['simulate', '--out', sim, '--seed', '7']);
    await run([
      'scan',
      join(sim, 'cloudtrail'),
      '--inventory',
      join(sim, 'inventory'),
      '--config',
      join(sim, 'offbox.yaml'),
      '--web-logs',
      join(sim, 'weblogs'),
      '--db',
      storeFile,
      '--fail-on',
      'none',
      '--no-progress',
      '--format',
      'json',
    ]);
    const exposureHelp = await runCli(['exposure', '--help']);
    if (exposureHelp.stdout.includes('--db')) {
      await run([
        'exposure',
        join(sim, 'cloudtrail'),
        '--inventory',
        join(sim, 'inventory'),
        '--db',
        storeFile,
        '--fail-on',
        'none',
        '--no-progress',
        '--format',
        'json',
      ]);
    } else exposureSkipped = 'offbox exposure has no --db option: the exposure backlog is not stored';

    const labels = JSON.parse(readFileSync(join(sim, 'labels.json'), 'utf8')) as {
      story: string;
      detector: string;
      instanceId?: string;
    }[];
    const instanceId = labels.find((l) => l.story === STORY && l.detector === 'imds-ssrf-attempt')?.instanceId;
    assert.ok(instanceId, `the ${STORY} story names its instance`);

    const store = openStore(storeFile);
    try {
      const ssrf = store
        .listFindings({ detector: 'imds-ssrf-attempt', limit: 1000 })
        .findings.find((f) => f.principal.instanceId === instanceId);
      assert.ok(ssrf, `the scan stored the SSRF finding against ${instanceId}`);
      ssrfFinding = ssrf;
      store.upsertFindings([
        sampleFinding({ id: HOSTILE_ID, activity: { userAgents: [HOSTILE_AGENT] }, title: HOSTILE_TITLE }),
      ]);
    } finally {
      store.close();
    }

    startUrl = await startServer();
    origin = new URL(startUrl).origin;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: STEP_MS });
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    page.on('console', (m: ConsoleMessage) => consoleMessages.push({ type: m.type(), text: m.text() }));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('response', (r) => {
      if (r.status() >= 400) failedAssets.push(`${r.status()} ${r.url()}`);
    });
    page.on('requestfailed', (r) => failedAssets.push(`failed ${r.url()}: ${r.failure()?.errorText ?? ''}`));
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('opens from the printed URL under a strict Content-Security-Policy', { timeout: STEP_MS }, async (t) => {
    const response = await page.goto(startUrl);
    assert.ok(response, 'a response for the start URL');
    assert.equal(new URL(page.url()).search, '', 'the token leaves the address bar (cookie + redirect)');
    const csp = response.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:|\*/, `CSP: ${csp}`);
    await page.getByRole('heading', { name: 'Findings', level: 1 }).waitFor();
    assert.ok((await listTotal()) > 10, 'the simulated organisation fills the list');
    await screenshot(t, 'list');
  });

  it('filters the list on the server by detector, severity and search', { timeout: STEP_MS }, async (t) => {
    const all = await listTotal();
    await page.selectOption('#f-detector', 'imds-ssrf-attempt');
    await page.waitForFunction(() => location.hash.includes('detector=imds-ssrf-attempt'));
    const ssrfOnly = await listTotal();
    assert.ok(ssrfOnly > 0 && ssrfOnly < all, `imds-ssrf-attempt: ${ssrfOnly} of ${all}`);
    const detectors = await page.locator('tbody tr .col-title .sub').allTextContents();
    assert.ok(detectors.length === ssrfOnly && detectors.every((d) => d === 'imds-ssrf-attempt'), detectors.join());

    await page.selectOption('#f-detector', '');
    await unfilteredListLoaded(all);
    await page.selectOption('#f-severity', 'critical');
    await page.waitForFunction(() => location.hash.includes('minSeverity=critical'));
    const critical = await listTotal();
    const badges = await page.locator('tbody tr .badge.sev-critical').count();
    assert.ok(critical > 0 && critical < all, `critical: ${critical} of ${all}`);
    assert.equal(badges, Math.min(critical, 50), 'every row shown is critical');

    await page.selectOption('#f-severity', '');
    await unfilteredListLoaded(all);
    await page.fill('#f-search', HOSTILE_ID);
    await page.waitForFunction(() => location.hash.includes('search=f-hostile'));
    assert.equal(await listTotal(), 1, 'search narrows to the one finding');
    await screenshot(t, 'list-filtered');
    await page.fill('#f-search', '');
    await page.waitForFunction(() => !location.hash.includes('search='));
    await unfilteredListLoaded(all);
  });

  it('opens a finding with its reasons, evidence and containment plan', { timeout: STEP_MS }, async (t) => {
    await page.fill('#f-search', ssrfFinding.id);
    await page.waitForFunction((id) => location.hash.includes(`search=${id}`), ssrfFinding.id);
    assert.equal(await listTotal(), 1);
    await page.locator('tbody tr').first().click();
    await page.waitForFunction((id) => location.hash === `#/finding/${id}`, ssrfFinding.id);
    const reasons = page.getByTestId('reasons').locator('li');
    await reasons.first().waitFor();
    assert.deepEqual(await reasons.allTextContents(), ssrfFinding.evidence.reasons);
    assert.equal(await page.getByTestId('finding-title').textContent(), ssrfFinding.title);
    await screenshot(t, 'detail');

    await page.getByTestId('plan-link').click();
    await page.getByRole('heading', { name: 'Containment plan', level: 1 }).waitFor();
    const commands = (await page.locator('.copy-block pre').allTextContents()).join('\n');
    assert.match(commands, /aws iam put-role-policy/);
    await page.getByRole('button', { name: 'Copy commands' }).first().click();
    await page.getByText('Copied').first().waitFor();
    await screenshot(t, 'plan');
    await page.goBack();
    await page.getByTestId('reasons').waitFor();
  });

  it('shows the incident timeline in order with its activity chart', { timeout: STEP_MS }, async (t) => {
    await page.getByTestId('incident-link').click();
    const timeline = page.getByTestId('timeline');
    await timeline.waitFor();
    const steps = await timeline
      .locator('.tl-step')
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-step') ?? ''));
    // The key was vended before the SSRF in this story (at boot): vending is only required before its use.
    assertInOrder(steps, ['credential-vended', 'first-off-box-use']);
    assertInOrder(steps, ['ssrf-attempt', 'first-off-box-use', 'revocation']);
    await page.getByTestId('activity-chart').locator('canvas').first().waitFor();
    const box = await page.getByTestId('activity-chart').locator('canvas').first().boundingBox();
    assert.ok(box && box.width > 200 && box.height > 100, `chart canvas size ${JSON.stringify(box)}`);
    await screenshot(t, 'incident');
  });

  it('acknowledges the finding: store updated, audit row shown', { timeout: STEP_MS }, async (t) => {
    await page.goto(`${origin}/#/finding/${encodeURIComponent(ssrfFinding.id)}`);
    await page.getByTestId('reasons').waitFor();
    await page.fill('#triage-note', 'looking into it <i>now</i>');
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByTestId('status').getByText('acknowledged').waitFor();
    await page
      .getByRole('status')
      .getByText(/now acknowledged/)
      .waitFor();
    const audit = page.getByTestId('audit');
    await audit.waitFor();
    assert.match((await audit.textContent()) ?? '', /looking into it <i>now<\/i>/);
    await screenshot(t, 'acknowledged');

    const store = openStore(storeFile);
    try {
      const stored = store.getFinding(ssrfFinding.id);
      assert.equal(stored?.status, 'acknowledged');
      assert.equal(stored?.statusNote, 'looking into it <i>now</i>');
      assert.ok(store.listAudit(ssrfFinding.id).length >= 1, 'the change is audited');
    } finally {
      store.close();
    }
    const shown = await runCli(['findings', '--db', storeFile, 'show', ssrfFinding.id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /acknowledged/);
  });

  it('renders a hostile finding as text: nothing executes, no element is created', { timeout: STEP_MS }, async (t) => {
    await page.goto(`${origin}/#/finding/${HOSTILE_ID}`);
    const title = page.getByTestId('finding-title');
    await title.waitFor();
    assert.equal(await title.textContent(), HOSTILE_TITLE);
    assert.equal(await title.locator('b').count(), 0, 'no <b> element from the title');
    const agent = (await page.getByTestId('user-agents').textContent()) ?? '';
    assert.ok(agent.includes('<img src=x onerror="window.__pwned=1">'), agent);
    assert.ok(agent.includes('<script>window.__pwned=2</script>'), agent);
    assert.ok(agent.includes('\\x1b[31mred'), `the terminal escape is shown, not hidden: ${agent}`);
    assert.ok(!agent.includes('\u001b'), 'no raw ESC reaches the page');
    const body = (await page.locator('body').textContent()) ?? '';
    assert.ok(body.includes('<img src=x') && body.includes('<script>'), 'payload visible as literal text');
    assert.equal(await page.locator('img').count(), 0, 'no img element anywhere');
    assert.equal(await page.locator('main script, #app script').count(), 0, 'no script element in the app');
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned), undefined);

    // The list shows the same title as text too.
    await page.goto(`${origin}/#/findings?search=${HOSTILE_ID}`);
    await page.locator('tbody tr').first().waitFor();
    assert.equal(await page.locator('tbody tr .col-title a').first().textContent(), HOSTILE_TITLE);
    assert.equal(await page.locator('tbody b, tbody img').count(), 0);
    await page.goto(`${origin}/#/finding/${HOSTILE_ID}`);
    await page.getByTestId('user-agents').waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned), undefined);
    await screenshot(t, 'hostile');
  });

  it('shows the IMDSv1 exposure backlog', { timeout: STEP_MS }, async (t) => {
    if (exposureSkipped) {
      t.skip(exposureSkipped);
      return;
    }
    await page.goto(`${origin}/#/exposure`);
    const table = page.getByTestId('exposure');
    await table.waitFor();
    assert.ok((await table.locator('tbody tr').count()) > 0, 'the backlog lists IMDSv1 deliveries');
    await screenshot(t, 'exposure');
  });

  it('ran without script errors, CSP violations or failed assets', () => {
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
    const csp = consoleMessages.filter((m) => /Content.Security.Policy/i.test(m.text));
    assert.deepEqual(csp, [], 'CSP violations: our own code must need no exception');
    const errors = consoleMessages.filter((m) => m.type === 'error');
    assert.deepEqual(errors, [], 'console errors');
    assert.deepEqual(failedAssets, [], 'failed requests');
  });
});
