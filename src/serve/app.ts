/**
 * `offbox serve`'s HTTP application: the triage dashboard's page and assets, and a JSON API over the
 * findings store. Reads the store, writes only status changes (audited), never calls AWS. Security
 * model in docs/serve.md: loopback, a per-run token, a strict CSP, a Host check, a CSRF header.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Hono, type Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { isSeverity, type Finding, type Severity } from '../detect/finding.js';
import { EXPOSURE_DETECTOR_ID } from '../detect/registry.js';
import { OffboxError, UsageError } from '../errors.js';
import { escapeForTerminal } from '../report/escape.js';
import { offboxVersion } from '../report/version.js';
import { shellQuote } from '../respond/commands.js';
import { buildContainmentPlan } from '../respond/plan.js';
import { renderContainMarkdown, renderContainText } from '../respond/render.js';
import {
  FINDING_SORTS,
  FINDING_STATUSES,
  isFindingStatus,
  type FindingFilter,
  type FindingSort,
  type FindingStatus,
  type Store,
} from '../store/store.js';
import { findingsOnInstance, pathFindings } from '../store/instance-findings.js';
import { DEFAULT_WEB_ROOT, loadVendorAssets, readWebFile, type Asset } from './assets.js';
import { createIncidentCache, incidentActivity } from './incidents.js';

/** Options for {@link createApp}. */
export interface ServeAppOptions {
  store: Store;
  /** The per-run access token every page and API request must carry (cookie or bearer). */
  token: string;
  /** Folder of the dashboard's own files (index.html, app.js, …); default: the package's web/. */
  webRoot?: string;
  /** Clock for containment plans; for tests. */
  now?: () => Date;
  /** Who status changes are recorded as in the audit log; default `dashboard`. */
  actor?: string;
  /** The port the server listens on, for the Host check (a function when known only after binding). */
  port?: number | (() => number | undefined);
  /** A non-loopback host name or address the server was explicitly bound to (--host). */
  host?: string;
  /** Where unexpected errors are reported; default stderr. */
  log?: (line: string) => void;
}

/** The cookie the token is kept in after the first visit. */
export const TOKEN_COOKIE = 'offbox_token';

/** The header every state-changing request must carry: a cross-site form or image cannot set it. */
export const CSRF_HEADER = 'X-Offbox-Request';

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;
const MAX_SEARCH_CHARS = 200;
const MAX_NOTE_CHARS = 2000;
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** An answer the API gives on purpose, as `{ error, hint }`. */
class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 415 | 421 | 422,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

function staticPage(title: string, text: string): string {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>offbox: ' +
    `${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`
  );
}

const TOKEN_PAGE = staticPage(
  'access token needed',
  'Open the address <code>offbox serve</code> printed: it carries <code>?token=…</code>, a new one each run.',
);
const NOT_FOUND_PAGE = staticPage('not found', 'Nothing here. The dashboard is at <a href="/">/</a>.');
const NO_WEB_PAGE = staticPage(
  'dashboard files missing',
  'offbox cannot find its web/ folder; reinstall offbox. The API under /api still answers.',
);

function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function isApi(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

/**
 * The dashboard application (Hono). Every response carries the CSP and the other security headers;
 * every page and `/api` request needs the token; `/assets/*` are package files served without it.
 */
export function createApp(opts: ServeAppOptions): Hono {
  const { store } = opts;
  const expected = Buffer.from(opts.token);
  const webRoot = opts.webRoot ?? DEFAULT_WEB_ROOT;
  const vendor = loadVendorAssets();
  const incidents = createIncidentCache(store);
  const now = opts.now ?? (() => new Date());
  const actor = opts.actor ?? 'dashboard';
  const log = opts.log ?? ((line: string) => process.stderr.write(`${escapeForTerminal(line)}\n`));
  const extraHost = opts.host ? bracketed(opts.host.toLowerCase()) : undefined;

  const tokenMatches = (given: string | undefined): boolean => {
    if (given === undefined || given === '') return false;
    const buffer = Buffer.from(given);
    return buffer.length === expected.length && timingSafeEqual(buffer, expected);
  };
  const authorised = (c: Context): boolean => {
    const authorization = c.req.header('authorization') ?? '';
    const bearer = /^Bearer (.+)$/i.exec(authorization)?.[1];
    return tokenMatches(bearer) || tokenMatches(getCookie(c, TOKEN_COOKIE));
  };
  const allowedHosts = (): Set<string> | undefined => {
    const port = typeof opts.port === 'function' ? opts.port() : opts.port;
    const names = extraHost ? [...LOOPBACK_NAMES, extraHost] : LOOPBACK_NAMES;
    return port === undefined ? undefined : new Set(names.map((n) => `${n}:${port}`));
  };
  // DNS rebinding: a page of evil.example that resolves its name to 127.0.0.1 still sends Host: evil.example.
  const hostAllowed = (host: string): boolean => {
    const exact = allowedHosts();
    if (exact) return exact.has(host);
    const names = extraHost ? [...LOOPBACK_NAMES, extraHost] : LOOPBACK_NAMES;
    return names.some((n) => host === n || new RegExp(`^${n.replace(/[.[\]]/g, '\\$&')}:\\d+$`).test(host));
  };

  const app = new Hono();

  app.use('*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  });

  app.use('*', async (c, next) => {
    const host = (c.req.header('host') ?? '').toLowerCase();
    if (!hostAllowed(host)) {
      throw new ApiError(
        421,
        `this server does not answer for host ${JSON.stringify(host)}`,
        'open the address offbox serve printed (127.0.0.1, localhost or [::1] with its port)',
      );
    }
    const origin = c.req.header('origin');
    if (origin !== undefined && origin !== 'null' && !hostAllowed(origin.replace(/^https?:\/\//i, '').toLowerCase())) {
      throw new ApiError(403, 'cross-origin request refused', 'use the dashboard page offbox serve printed');
    }
    await next();
  });

  const assetResponse = (c: Context, asset: Asset, cacheControl: string): Response =>
    c.body(asset.body as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': asset.contentType,
      'Cache-Control': cacheControl,
    });

  app.get('/assets/vendor/:file', (c) => {
    const asset = vendor.get(c.req.param('file'));
    if (asset === undefined) return c.notFound();
    return assetResponse(c, asset, 'public, max-age=3600');
  });

  app.get('/assets/app/*', async (c) => {
    // The raw path: decoding happens once, in readWebFile, which refuses every spelling of "..".
    const pathname = new URL(c.req.url).pathname;
    const asset = await readWebFile(webRoot, pathname.slice('/assets/app/'.length));
    if (asset === undefined) return c.notFound();
    return assetResponse(c, asset, 'no-cache');
  });

  app.use('/api/*', async (c, next) => {
    if (!authorised(c)) {
      throw new ApiError(401, 'access token missing or wrong', 'open the address offbox serve printed');
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      if (c.req.header(CSRF_HEADER) !== '1') {
        throw new ApiError(403, `${CSRF_HEADER}: 1 header missing`, 'send changes from the dashboard page');
      }
      const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') {
        throw new ApiError(415, 'changes must be sent as application/json', 'set Content-Type: application/json');
      }
    }
    await next();
  });

  app.get('/api/meta', (c) => {
    const facets = store.findingFacets();
    return c.json({
      version: offboxVersion(),
      store: store.file,
      total: facets.total,
      detectors: facets.detectors,
      accounts: facets.accounts,
      roles: facets.roles,
      statuses: facets.statuses,
      severities: facets.severities,
    });
  });

  app.get('/api/findings', (c) => {
    const filter = findingFilter(c);
    const { total, findings } = store.listFindings(filter);
    return c.json({ total, offset: filter.offset, limit: filter.limit, findings });
  });

  app.get('/api/findings/:id', (c) => {
    const finding = knownFinding(store, c.req.param('id'));
    const incidentId = incidents.get().incidentOfFinding.get(finding.id) ?? null;
    return c.json({ finding, audit: store.listAudit(finding.id), incidentId });
  });

  app.post('/api/findings/:id/status', async (c) => {
    const finding = knownFinding(store, c.req.param('id'));
    const { status, note } = statusChange(await c.req.json().catch(() => undefined));
    const stampBefore = incidents.stamp();
    const changed = store.setStatus(finding.id, status, note, actor);
    incidents.keepAcrossStatusChange(stampBefore);
    return c.json({ finding: changed });
  });

  app.get('/api/findings/:id/plan', (c) => {
    const finding = knownFinding(store, c.req.param('id'));
    const role = finding.principal?.roleArn || finding.principal?.role || '';
    if (role === '') {
      throw new ApiError(
        422,
        `finding ${finding.id} (${finding.detector}) names no role, so there is nothing to revoke`,
        `run offbox contain --role NAME --finding ${finding.id} --db FILE with the role of the instance it points at`,
      );
    }
    const instanceId = finding.principal?.instanceId ?? '';
    try {
      const plan = buildContainmentPlan({
        role,
        accountId: finding.accountId ?? '',
        instanceId,
        now: now(),
        finding,
        relatedFindings: pathFindings(store, instanceId),
        instanceFindings: findingsOnInstance(store, instanceId),
        db: store.file,
      });
      return c.json({
        plan,
        text: renderContainText(plan),
        markdown: renderContainMarkdown(plan),
        applyCommand: `offbox contain --finding ${shellQuote(finding.id)} --db ${shellQuote(store.file)} --apply`,
      });
    } catch (err) {
      if (err instanceof UsageError) {
        throw new ApiError(422, err.message, err.hint ?? 'run offbox contain on the command line for details');
      }
      throw err;
    }
  });

  app.get('/api/incidents', (c) => {
    const { limit, offset } = paging(c);
    const all = incidents.get().incidents;
    return c.json({ total: all.length, offset, limit, incidents: all.slice(offset, offset + limit) });
  });

  app.get('/api/incidents/:id', (c) => {
    const incident = incidents.get().byId.get(c.req.param('id'));
    if (incident === undefined) {
      throw new ApiError(404, 'no such incident', 'incidents change as findings are added: reload the list');
    }
    const findings = incident.findingIds.map((id) => store.getFinding(id)).filter((f) => f !== undefined);
    return c.json({ incident, findings, activity: incidentActivity(incident, findings) });
  });

  app.get('/api/exposure', (c) => {
    const { limit, offset } = paging(c);
    const { total, findings } = store.listFindings({ detector: EXPOSURE_DETECTOR_ID, sort: 'rank', limit, offset });
    return c.json({ total, offset, limit, items: findings });
  });

  const page = async (c: Context): Promise<Response> => {
    if (!authorised(c)) return c.html(TOKEN_PAGE, 401);
    let html: string;
    try {
      html = await readFile(join(webRoot, 'index.html'), 'utf8');
    } catch {
      return c.html(NO_WEB_PAGE, 503);
    }
    return c.html(html, 200);
  };

  app.get('/', async (c) => {
    const query = c.req.query('token');
    if (query === undefined) return page(c);
    if (!tokenMatches(query)) return c.html(TOKEN_PAGE, 401);
    // The redirect takes the token out of the address bar and history; the cookie carries it from now on.
    c.header('Set-Cookie', `${TOKEN_COOKIE}=${query}; HttpOnly; SameSite=Strict; Path=/`);
    return c.redirect('/', 302);
  });

  // Client-side routes (/findings/…, /incidents/…) reload into the same page.
  app.get('*', (c) => {
    if (isApi(c.req.path) || c.req.path.startsWith('/assets/') || /\.[a-z0-9]+$/i.test(c.req.path)) {
      return c.notFound();
    }
    return page(c);
  });

  app.notFound((c) =>
    isApi(c.req.path)
      ? c.json({ error: 'not found', hint: 'see docs/serve.md for the API' }, 404)
      : c.html(NOT_FOUND_PAGE, 404),
  );

  app.onError((err, c) => {
    if (err instanceof ApiError) {
      if (err.status === 401 && !isApi(c.req.path)) return c.html(TOKEN_PAGE, 401);
      return c.json({ error: err.message, hint: err.hint }, err.status);
    }
    if (err instanceof OffboxError) {
      return c.json({ error: err.message, hint: err.hint ?? 'check the request' }, 400);
    }
    log(`offbox: serve: ${c.req.method} ${c.req.path} failed: ${(err as Error)?.stack ?? String(err)}`);
    return c.json({ error: 'internal error', hint: 'the offbox serve terminal has the details' }, 500);
  });

  return app;
}

function knownFinding(store: Store, id: string): Finding & { status: FindingStatus } {
  const finding = store.getFinding(id);
  if (finding === undefined) {
    throw new ApiError(404, `no finding with id ${JSON.stringify(id)}`, 'reload the findings list');
  }
  return finding;
}

function integer(c: Context, name: string, fallback: number, max: number): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,16}$/.test(raw) || Number(raw) > max) {
    throw new ApiError(400, `${name} must be a whole number from 0 to ${max}`, `fix ${name}=${raw.slice(0, 40)}`);
  }
  return Number(raw);
}

function paging(c: Context): { limit: number; offset: number } {
  return {
    limit: integer(c, 'limit', DEFAULT_PAGE, MAX_PAGE),
    offset: integer(c, 'offset', 0, Number.MAX_SAFE_INTEGER),
  };
}

function text(c: Context, name: string): string | undefined {
  const value = c.req.query(name);
  return value === undefined || value === '' ? undefined : value;
}

/** The query of GET /api/findings as a store filter; every status by default (the dashboard shows all). */
function findingFilter(c: Context): FindingFilter & { limit: number; offset: number } {
  const filter: FindingFilter & { limit: number; offset: number } = paging(c);
  const detector = text(c, 'detector');
  if (detector !== undefined) filter.detector = detector;
  const minSeverity = text(c, 'minSeverity');
  if (minSeverity !== undefined) {
    if (!isSeverity(minSeverity)) {
      throw new ApiError(400, 'minSeverity is not a severity', 'use one of critical, high, medium, low, info');
    }
    filter.minSeverity = minSeverity as Severity;
  }
  const status = text(c, 'status');
  if (status !== undefined) {
    const statuses = status
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    for (const s of statuses) {
      if (!isFindingStatus(s)) {
        throw new ApiError(400, 'status is not a list of statuses', `use some of ${FINDING_STATUSES.join(', ')}`);
      }
    }
    filter.status = statuses as FindingStatus[];
  }
  const account = text(c, 'account');
  if (account !== undefined) filter.accountId = account;
  const role = text(c, 'role');
  if (role !== undefined) filter.role = role;
  const search = text(c, 'search');
  if (search !== undefined) {
    if (search.length > MAX_SEARCH_CHARS) {
      throw new ApiError(400, `search is longer than ${MAX_SEARCH_CHARS} characters`, 'search for a shorter text');
    }
    filter.search = search;
  }
  const sort = text(c, 'sort');
  if (sort !== undefined) {
    if (!(FINDING_SORTS as readonly string[]).includes(sort)) {
      throw new ApiError(400, 'sort is not a known order', `use one of ${FINDING_SORTS.join(', ')}`);
    }
    filter.sort = sort as FindingSort;
  }
  return filter;
}

function statusChange(body: unknown): { status: FindingStatus; note: string } {
  const hint = `send {"status": one of ${FINDING_STATUSES.join(', ')}, "note": optional text}`;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(400, 'the body is not a JSON object', hint);
  }
  const { status, note: given } = body as { status?: unknown; note?: unknown };
  // A client with no note may send null.
  const note = given ?? undefined;
  if (typeof status !== 'string' || !isFindingStatus(status)) throw new ApiError(400, 'status is not a status', hint);
  if (note !== undefined && typeof note !== 'string') throw new ApiError(400, 'note is not text', hint);
  if ((note ?? '').length > MAX_NOTE_CHARS) {
    throw new ApiError(400, `note is longer than ${MAX_NOTE_CHARS} characters`, 'shorten the note');
  }
  return { status, note: note ?? '' };
}
