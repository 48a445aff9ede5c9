/* global clearTimeout, location, setTimeout */
import { useEffect, useRef, useState } from '/assets/vendor/preact-hooks.mjs';
import { api } from '../api.js';
import { ErrorBox, Loading, Pager, SeverityBadge, StatusBadge, useLoad } from '../components.js';
import { findingsHref, formatCount, formatTime, hashHref, html, visible } from '../html.js';

export const PAGE_SIZE = 50;
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
const STATUSES = ['new', 'acknowledged', 'resolved', 'suppressed'];
const SORTS = [
  ['severity', 'Severity, then newest'],
  ['lastSeen', 'Last seen, newest first'],
  ['firstSeen', 'First seen, oldest first'],
  ['calls', 'Most calls'],
  ['updatedAt', 'Recently updated'],
  ['createdAt', 'Recently stored'],
];
const SEARCH_DEBOUNCE_MS = 300;

/** Meta lists may hold plain strings or { value, count } objects. */
function optionValue(entry) {
  if (typeof entry === 'string') return entry;
  if (entry && typeof entry === 'object') return String(entry.value ?? entry.name ?? entry.id ?? '');
  return String(entry);
}

function optionLabel(entry) {
  const value = optionValue(entry);
  if (entry && typeof entry === 'object' && typeof entry.label === 'string') return entry.label;
  return entry && typeof entry === 'object' && typeof entry.count === 'number'
    ? `${value} (${formatCount(entry.count)})`
    : value;
}

/** The list's state, read from the hash: the hash is the single source of truth, so reload and back work. */
function filtersFrom(params) {
  const page = Number.parseInt(params.get('page') ?? '1', 10);
  return {
    detector: params.get('detector') ?? '',
    minSeverity: params.get('minSeverity') ?? '',
    status: (params.get('status') ?? '').split(',').filter((s) => s !== ''),
    account: params.get('account') ?? '',
    role: params.get('role') ?? '',
    search: params.get('search') ?? '',
    sort: params.get('sort') ?? 'severity',
    page: Number.isFinite(page) && page > 0 ? page : 1,
  };
}

function hrefFor(filters) {
  return findingsHref({
    ...filters,
    sort: filters.sort === 'severity' ? '' : filters.sort,
    page: filters.page > 1 ? filters.page : '',
  });
}

function Select({ id, label, value, options, anyLabel, onChange }) {
  return html`<div class="field">
    <label for=${id}>${label}</label>
    <select id=${id} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${anyLabel !== undefined ? html`<option value="">${anyLabel}</option>` : null}
      ${options.map((o) => html`<option key=${optionValue(o)} value=${optionValue(o)}>${optionLabel(o)}</option>`)}
    </select>
  </div>`;
}

function Filters({ filters, meta, update }) {
  const [search, setSearch] = useState(filters.search);
  const timer = useRef(0);
  // Follow the hash when it changes from elsewhere (back button, a link), not while the user types.
  useEffect(() => setSearch(filters.search), [filters.search]);
  useEffect(() => () => clearTimeout(timer.current), []);
  function onSearch(value) {
    setSearch(value);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => update({ search: value.trim() }, true), SEARCH_DEBOUNCE_MS);
  }
  function toggleStatus(status, on) {
    const next = on ? [...filters.status, status] : filters.status.filter((s) => s !== status);
    update({ status: STATUSES.filter((s) => next.includes(s)) });
  }
  const nonEmpty = (list) => (Array.isArray(list) ? list.filter((o) => optionValue(o) !== '') : []);
  const detectors = nonEmpty(meta?.detectors);
  const accounts = nonEmpty(meta?.accounts);
  const roles = nonEmpty(meta?.roles);
  const hasFilters =
    filters.detector ||
    filters.minSeverity ||
    filters.status.length ||
    filters.account ||
    filters.role ||
    filters.search;
  return html`<form class="filters" role="search" aria-label="Filter findings" onSubmit=${(e) => e.preventDefault()}>
    <div class="field field-search">
      <label for="f-search">Search</label>
      <input
        id="f-search"
        type="search"
        value=${search}
        placeholder="id, role, instance, IP, title…"
        autocomplete="off"
        spellcheck=${false}
        onInput=${(e) => onSearch(e.currentTarget.value)}
      />
    </div>
    <${Select}
      id="f-detector"
      label="Detector"
      value=${filters.detector}
      options=${detectors}
      anyLabel="All detectors"
      onChange=${(v) => update({ detector: v })}
    />
    <${Select}
      id="f-severity"
      label="Minimum severity"
      value=${filters.minSeverity}
      options=${SEVERITIES}
      anyLabel="Any severity"
      onChange=${(v) => update({ minSeverity: v })}
    />
    <${Select}
      id="f-account"
      label="Account"
      value=${filters.account}
      options=${accounts}
      anyLabel="All accounts"
      onChange=${(v) => update({ account: v })}
    />
    <${Select}
      id="f-role"
      label="Role"
      value=${filters.role}
      options=${roles}
      anyLabel="All roles"
      onChange=${(v) => update({ role: v })}
    />
    <fieldset class="field statuses">
      <legend>Status</legend>
      ${STATUSES.map(
        (s) =>
          html`<label key=${s} class="check">
            <input
              type="checkbox"
              name="status"
              value=${s}
              checked=${filters.status.includes(s)}
              onChange=${(e) => toggleStatus(s, e.currentTarget.checked)}
            />
            ${s}
          </label>`,
      )}
    </fieldset>
    <${Select}
      id="f-sort"
      label="Sort"
      value=${filters.sort}
      options=${SORTS.map(([value, label]) => ({ value, label }))}
      onChange=${(v) => update({ sort: v })}
    />
    ${
      hasFilters
        ? html`<div class="field field-clear">
            <a class="btn btn-quiet" href=${findingsHref({ sort: filters.sort === 'severity' ? '' : filters.sort })}
              >Clear filters</a
            >
          </div>`
        : null
    }
  </form>`;
}

function principalOf(f) {
  return f.principal?.instanceId || f.principal?.sessionName || f.principal?.accessKeyIds?.[0] || '';
}

function FindingRow({ finding }) {
  const href = hashHref('finding', finding.id);
  return html`<tr
    class="row-link"
    onClick=${(e) => {
      if (e.target.closest('a')) return;
      location.hash = href;
    }}
  >
    <td><${SeverityBadge} severity=${finding.severity} /></td>
    <td class="col-title">
      <a href=${href}>${visible(finding.title)}</a>
      <div class="sub mono">${finding.detector}</div>
    </td>
    <td class="mono nowrap">${finding.accountId}</td>
    <td>
      <div>${finding.principal?.role}</div>
      <div class="sub mono">${principalOf(finding)}</div>
    </td>
    <td class="mono">${finding.source?.ip || finding.request?.clientIp || ''}</td>
    <td class="num">${formatCount(finding.activity?.calls)}</td>
    <td class="nowrap">${formatTime(finding.activity?.lastSeen)}</td>
    <td><${StatusBadge} status=${finding.status} /></td>
  </tr>`;
}

/** The findings list: filters and paging run on the server, so 100k findings load one page at a time. */
export function FindingsPage({ params, meta }) {
  const filters = filtersFrom(params);
  const offset = (filters.page - 1) * PAGE_SIZE;
  const query = {
    detector: filters.detector,
    minSeverity: filters.minSeverity,
    status: filters.status,
    account: filters.account,
    role: filters.role,
    search: filters.search,
    sort: filters.sort,
    limit: PAGE_SIZE,
    offset,
  };
  const key = JSON.stringify(query);
  const list = useLoad((signal) => api.findings(query, signal), [key], { keepStale: true });

  function update(change, replace = false) {
    const next = { ...filters, ...change, page: change.page ?? 1 };
    const href = hrefFor(next);
    if (replace) location.replace(href);
    else location.hash = href;
  }

  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const rows = list.data?.findings ?? [];
  const from = total === 0 ? 0 : offset + 1;
  const to = offset + rows.length;
  return html`<section class="findings">
    <h1 tabindex="-1">Findings</h1>
    <${Filters} filters=${filters} meta=${meta} update=${update} />
    <${ErrorBox} error=${list.error} />
    <div class="list-head">
      <p class="summary" aria-live="polite" data-testid="summary">
        ${
          list.data
            ? total === 0
              ? 'No findings match.'
              : `${formatCount(from)}–${formatCount(to)} of ${formatCount(total)}`
            : ''
        }
        ${list.loading ? html` <span class="loading-inline">updating…</span>` : null}
      </p>
      <${Pager} page=${filters.page} pages=${pages} go=${(page) => update({ page })} />
    </div>
    ${
      list.data === undefined && list.loading
        ? html`<${Loading} what="Loading findings" />`
        : html`<div class="table-wrap">
            <table class="grid" aria-busy=${list.loading ? 'true' : 'false'}>
              <caption class="visually-hidden">
                Findings, page ${filters.page}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Severity</th>
                  <th scope="col">Finding</th>
                  <th scope="col">Account</th>
                  <th scope="col">Role / principal</th>
                  <th scope="col">Source</th>
                  <th scope="col" class="num">Calls</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                ${rows.map((f) => html`<${FindingRow} key=${f.id} finding=${f} />`)}
              </tbody>
            </table>
          </div>`
    }
    <div class="list-foot"><${Pager} page=${filters.page} pages=${pages} go=${(page) => update({ page })} /></div>
  </section>`;
}
