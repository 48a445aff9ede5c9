/* global location */
import { api } from '../api.js';
import { ErrorBox, Loading, Pager, SeverityBadge, StatusBadge, useLoad } from '../components.js';
import { ActivityChart } from '../chart.js';
import { formatCount, formatTime, hashHref, html, visible } from '../html.js';

const PAGE_SIZE = 50;
export const STEP_LABELS = {
  'credential-vended': 'Credential vended',
  'ssrf-attempt': 'SSRF attempt',
  'same-client-address': 'Same client address (weak link)',
  'signed-request-relayed': 'Signed request relayed',
  'first-off-box-use': 'Off-box use',
  revocation: 'Revocation',
  'use-after-revocation': 'Use after revocation',
  other: 'Other',
};

function stepLabel(step) {
  return Object.hasOwn(STEP_LABELS, step) ? STEP_LABELS[step] : String(step);
}

function Timeline({ entries }) {
  if (!entries || entries.length === 0) return html`<p class="muted">No timeline entries.</p>`;
  return html`<ol class="timeline" data-testid="timeline">
    ${entries.map(
      (entry, i) =>
        html`<li key=${i} class=${`tl tl-${Object.hasOwn(STEP_LABELS, entry.step) ? entry.step : 'other'}`}>
          <time class="tl-time mono">${formatTime(entry.time)}</time>
          <span class="tl-step" data-step=${Object.hasOwn(STEP_LABELS, entry.step) ? entry.step : 'other'}
            >${stepLabel(entry.step)}</span
          >
          <span class="tl-text">
            ${visible(entry.text)}
            ${entry.findingId ? html` <a href=${hashHref('finding', entry.findingId)} class="tl-link">finding</a>` : null}
          </span>
        </li>`,
    )}
  </ol>`;
}

export function IncidentPage({ id }) {
  const loaded = useLoad((signal) => api.incident(id, signal), [id]);
  const back = html`<p class="crumbs"><a href="#/incidents">← Incidents</a></p>`;
  if (loaded.data === undefined) {
    return html`<section>
      ${back}
      ${
        loaded.error
          ? html`<h1 tabindex="-1">Incident</h1>
              <${ErrorBox} error=${loaded.error} />`
          : html`<${Loading} what="Loading the incident" />`
      }
    </section>`;
  }
  const { incident, findings, activity } = loaded.data;
  return html`<article class="incident">
    ${back}
    <h1 tabindex="-1" data-testid="incident-title">${visible(incident.title)}</h1>
    <p class="head-facts">
      <${SeverityBadge} severity=${incident.severity} />
      ${incident.accountId ? html`<span>account <span class="mono">${incident.accountId}</span></span>` : null}
      ${incident.instanceId ? html`<span>instance <span class="mono">${incident.instanceId}</span></span>` : null}
      ${incident.role ? html`<span>role <span class="mono">${incident.role}</span></span>` : null}
    </p>
    <section class="panel" aria-labelledby="story-h">
      <h2 id="story-h">What happened</h2>
      <p class="story">${visible(incident.story)}</p>
      ${
        (incident.accessKeyIds ?? []).length > 0
          ? html`<p class="sub">Access keys: <span class="mono">${incident.accessKeyIds.join(', ')}</span></p>`
          : null
      }
      ${
        (incident.links ?? []).length > 0
          ? html`<ul class="links" data-testid="incident-links">
              ${incident.links.map(
                (link, i) =>
                  html`<li key=${i}>
                    <strong>${link.strength === 'weak' ? 'Weak link' : 'Strong link'}</strong> ${visible(link.reason)}
                  </li>`,
              )}
            </ul>`
          : null
      }
    </section>
    <section class="panel" aria-labelledby="activity-chart-h">
      <h2 id="activity-chart-h">Activity</h2>
      <${ActivityChart} activity=${activity} />
    </section>
    <section class="panel" aria-labelledby="timeline-h">
      <h2 id="timeline-h">Timeline</h2>
      <${Timeline} entries=${incident.timeline} />
    </section>
    <section class="panel" aria-labelledby="inc-findings-h">
      <h2 id="inc-findings-h">Findings</h2>
      <table class="grid compact">
        <thead>
          <tr>
            <th scope="col">Severity</th>
            <th scope="col">Finding</th>
            <th scope="col">First seen</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          ${(findings ?? []).map(
            (f) =>
              html`<tr key=${f.id}>
                <td><${SeverityBadge} severity=${f.severity} /></td>
                <td>
                  <a href=${hashHref('finding', f.id)}>${visible(f.title)}</a>
                  <div class="sub mono">${f.detector}</div>
                </td>
                <td class="nowrap">${formatTime(f.activity?.firstSeen)}</td>
                <td>${f.status ? html`<${StatusBadge} status=${f.status} />` : null}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </section>
  </article>`;
}

export function IncidentsPage({ params }) {
  const parsed = Number.parseInt(params.get('page') ?? '1', 10);
  const page = Number.isFinite(parsed) && parsed > 0 ? parsed : 1;
  const offset = (page - 1) * PAGE_SIZE;
  const loaded = useLoad((signal) => api.incidents({ limit: PAGE_SIZE, offset }, signal), [offset]);
  const total = loaded.data?.total ?? 0;
  const incidents = loaded.data?.incidents ?? [];
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const go = (p) => (location.hash = p > 1 ? `#/incidents?page=${p}` : '#/incidents');
  return html`<section class="incidents">
    <h1 tabindex="-1">Incidents</h1>
    <p class="lede">
      Findings about one workload credential, linked into one story: SSRF attempt, vending, off-box use, revocation.
    </p>
    <${ErrorBox} error=${loaded.error} />
    ${
      loaded.data === undefined && loaded.loading
        ? html`<${Loading} what="Loading incidents" />`
        : html`<p class="summary" aria-live="polite">
              ${total === 0 ? 'No incidents.' : `${formatCount(offset + 1)}–${formatCount(offset + incidents.length)} of ${formatCount(total)}`}
            </p>
            ${
              incidents.length > 0
                ? html`<div class="table-wrap">
                    <table class="grid">
                      <thead>
                        <tr>
                          <th scope="col">Severity</th>
                          <th scope="col">Incident</th>
                          <th scope="col">Account</th>
                          <th scope="col">Instance / role</th>
                          <th scope="col" class="num">Findings</th>
                          <th scope="col">Starts</th>
                        </tr>
                      </thead>
                      <tbody>
                        ${incidents.map(
                          (inc) =>
                            html`<tr key=${inc.id}>
                              <td><${SeverityBadge} severity=${inc.severity} /></td>
                              <td><a href=${hashHref('incident', inc.id)}>${visible(inc.title)}</a></td>
                              <td class="mono nowrap">${inc.accountId}</td>
                              <td>
                                <div class="mono">${inc.instanceId}</div>
                                <div class="sub">${inc.role}</div>
                              </td>
                              <td class="num">${formatCount(inc.findingIds?.length ?? 0)}</td>
                              <td class="nowrap">${formatTime(inc.timeline?.[0]?.time)}</td>
                            </tr>`,
                        )}
                      </tbody>
                    </table>
                  </div>`
                : null
            }
            ${html`<${Pager} page=${page} pages=${pages} go=${go} />`}`
    }
  </section>`;
}
