import { useState } from '/assets/vendor/preact-hooks.mjs';
import { api } from '../api.js';
import { ErrorBox, Fact, Loading, SeverityBadge, StatusBadge, useLoad } from '../components.js';
import { formatCount, formatTime, hashHref, html, visible } from '../html.js';

const ACTIONS = [
  { status: 'acknowledged', label: 'Acknowledge' },
  { status: 'resolved', label: 'Resolve' },
  { status: 'suppressed', label: 'Suppress' },
  { status: 'new', label: 'Reopen' },
];
const IDS_SHOWN = 8;

/** A list of ids, collapsed behind a <details> when long. */
function IdList({ ids, truncated, label }) {
  if (!ids || ids.length === 0) return html`<span class="muted">none</span>`;
  const list = (items) =>
    html`<ul class="ids mono">
      ${items.map((id) => html`<li key=${id}>${id}</li>`)}
    </ul>`;
  const more = truncated ? html`<p class="sub">More events matched than are listed.</p>` : null;
  if (ids.length <= IDS_SHOWN) return html`${list(ids)}${more}`;
  return html`${list(ids.slice(0, IDS_SHOWN))}
    <details>
      <summary>${formatCount(ids.length - IDS_SHOWN)} more ${label}</summary>
      ${list(ids.slice(IDS_SHOWN))}
    </details>
    ${more}`;
}

const REASONS_SHOWN = 12;

/** The finding's reasons; a long list (an SSRF finding explains every decoded request) folds after the first few. */
function Reasons({ reasons }) {
  const item = (r, i) => html`<li key=${i}>${visible(r)}</li>`;
  return html`<div data-testid="reasons">
    <ul class="reasons">
      ${reasons.slice(0, REASONS_SHOWN).map(item)}
    </ul>
    ${
      reasons.length > REASONS_SHOWN
        ? html`<details>
            <summary>${formatCount(reasons.length - REASONS_SHOWN)} more reasons</summary>
            <ul class="reasons">
              ${reasons.slice(REASONS_SHOWN).map((r, i) => item(r, i + REASONS_SHOWN))}
            </ul>
          </details>`
        : null
    }
  </div>`;
}

function auditText(detail) {
  if (detail === null || detail === undefined) return '';
  if (typeof detail !== 'object') return String(detail);
  const parts = [];
  if (detail.from !== undefined || detail.to !== undefined)
    parts.push(`${detail.from ?? '?'} → ${detail.to ?? detail.status ?? '?'}`);
  else if (detail.status !== undefined) parts.push(`→ ${detail.status}`);
  if (typeof detail.note === 'string' && detail.note !== '') parts.push(`“${detail.note}”`);
  if (parts.length > 0) return parts.join(' ');
  const json = JSON.stringify(detail);
  return json === '{}' ? '' : json;
}

function AuditList({ audit }) {
  if (!audit || audit.length === 0) return html`<p class="muted" data-testid="audit-empty">No triage yet.</p>`;
  return html`<ol class="audit" data-testid="audit">
    ${audit.map(
      (a) =>
        html`<li key=${a.id}>
          <div class="audit-head">
            <time class="mono">${formatTime(a.at)}</time> · <span>${visible(a.actor)}</span> ·
            <span class="mono">${visible(a.action)}</span>
          </div>
          ${auditText(a.detail) ? html`<div class="audit-detail">${visible(auditText(a.detail))}</div>` : null}
        </li>`,
    )}
  </ol>`;
}

function Triage({ finding, onChanged }) {
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState('');
  const [error, setError] = useState(undefined);
  async function apply(status, label) {
    setBusy(true);
    setError(undefined);
    try {
      const { finding: updated } = await api.setStatus(finding.id, status, note.trim());
      setNote('');
      setMessage(`${label}: the finding is now ${updated?.status ?? status}.`);
      onChanged();
    } catch (e) {
      setError(e);
      setMessage('');
    } finally {
      setBusy(false);
    }
  }
  return html`<section class="panel triage" aria-labelledby="triage-h">
    <h2 id="triage-h">Triage</h2>
    <p class="status-line">
      Status <span data-testid="status"><${StatusBadge} status=${finding.status} /></span>
      ${finding.statusNote ? html` <span class="note">“${visible(finding.statusNote)}”</span>` : null}
      ${finding.updatedAt ? html` <span class="sub">updated ${formatTime(finding.updatedAt)}</span>` : null}
    </p>
    <div class="field">
      <label for="triage-note">Note (optional, kept in the audit log)</label>
      <input
        id="triage-note"
        type="text"
        maxlength="2000"
        value=${note}
        onInput=${(e) => setNote(e.currentTarget.value)}
      />
    </div>
    <div class="actions">
      ${ACTIONS.filter((a) => a.status !== finding.status).map(
        (a) =>
          html`<button
            key=${a.status}
            type="button"
            class=${`btn ${a.status === 'acknowledged' ? 'btn-primary' : ''}`}
            disabled=${busy}
            onClick=${() => apply(a.status, a.label)}
          >
            ${a.label}
          </button>`,
      )}
    </div>
    <p class="live" role="status" aria-live="polite">${message}</p>
    <${ErrorBox} error=${error} />
  </section>`;
}

export function FindingPage({ id }) {
  const loaded = useLoad((signal) => api.finding(id, signal), [id]);
  if (loaded.data === undefined) {
    return html`<section>
      <p class="crumbs"><a href="#/findings">← Findings</a></p>
      ${
        loaded.error
          ? html`<h1 tabindex="-1">Finding</h1>
              <${ErrorBox} error=${loaded.error} />`
          : html`<${Loading} what="Loading the finding" />`
      }
    </section>`;
  }
  const { finding: f, audit, incidentId } = loaded.data;
  const p = f.principal ?? {};
  const s = f.source ?? {};
  const a = f.activity ?? {};
  const e = f.evidence ?? {};
  return html`<article class="finding">
    <p class="crumbs"><a href="#/findings">← Findings</a></p>
    <header class="finding-head">
      <h1 tabindex="-1" data-testid="finding-title">${visible(f.title)}</h1>
      <p class="head-facts">
        <${SeverityBadge} severity=${f.severity} />
        <span>confidence <strong>${f.confidence}</strong></span>
        <span class="mono">${f.detector}</span>
        <span class="mono sub">id ${f.id}</span>
      </p>
      <p class="links">
        ${
          incidentId
            ? html`<a class="btn" href=${hashHref('incident', incidentId)} data-testid="incident-link"
                >Incident timeline</a
              >`
            : html`<span class="muted">Not part of an incident</span>`
        }
        <a class="btn" href=${hashHref('finding', f.id, 'plan')} data-testid="plan-link">Containment plan</a>
      </p>
    </header>

    <div class="columns">
      <div class="col-main">
        <section class="panel" aria-labelledby="why-h">
          <h2 id="why-h">Why offbox flagged this</h2>
          <${Reasons} reasons=${e.reasons ?? []} />
          ${
            f.attack
              ? html`<p class="sub">
                  MITRE ATT&CK ${f.attack.technique} ·
                  ${f.attack.analytic}${f.attack.tactic ? ` · ${f.attack.tactic}` : ''}
                </p>`
              : null
          }
        </section>

        <section class="panel" aria-labelledby="activity-h">
          <h2 id="activity-h">Activity</h2>
          <dl class="facts">
            <${Fact} term="Calls" value=${formatCount(a.calls)} />
            <${Fact} term="Errors" value=${formatCount(a.errorCount)} />
            <${Fact} term="First seen" value=${formatTime(a.firstSeen)} />
            <${Fact} term="Last seen" value=${formatTime(a.lastSeen)} />
            <${Fact} term="Regions" value=${(a.regions ?? []).join(', ')} />
          </dl>
          <h3>Actions</h3>
          ${
            (a.actions ?? []).length > 0
              ? html`<ul class="chips mono">
                  ${a.actions.map((x) => html`<li key=${x}>${x}</li>`)}
                </ul>`
              : html`<p class="muted">none recorded</p>`
          }
          <h3>User agents</h3>
          ${
            (a.userAgents ?? []).length > 0
              ? html`<ul class="agents mono" data-testid="user-agents">
                  ${a.userAgents.map((ua, i) => html`<li key=${i}>${visible(ua)}</li>`)}
                </ul>`
              : html`<p class="muted">none recorded</p>`
          }
        </section>

        ${
          f.request
            ? html`<section class="panel" aria-labelledby="request-h">
                <h2 id="request-h">First request</h2>
                <dl class="facts">
                  <${Fact} term="Method" value=${f.request.method} />
                  <${Fact} term="Status" value=${String(f.request.status)} />
                  <${Fact} term="Client" value=${f.request.clientIp} />
                </dl>
                <pre class="wrap" tabindex="0"><code>${visible(f.request.url)}</code></pre>
              </section>`
            : null
        }

        <section class="panel" aria-labelledby="evidence-h">
          <h2 id="evidence-h">Evidence</h2>
          <h3>CloudTrail event ids</h3>
          <${IdList} ids=${e.eventIds} truncated=${e.eventIdsTruncated} label="event ids" />
          ${
            (e.vendingEventIds ?? []).length > 0
              ? html`<h3>Vending events</h3>
                  <${IdList} ids=${e.vendingEventIds} label="vending events" />`
              : null
          }
          ${
            (e.locations ?? []).length > 0
              ? html`<h3>Log locations</h3>
                  <${IdList} ids=${e.locations} truncated=${e.locationsTruncated} label="locations" />`
              : null
          }
          ${e.ipRangesSyncToken ? html`<p class="sub">AWS ip-ranges snapshot ${e.ipRangesSyncToken}</p>` : null}
        </section>
      </div>

      <div class="col-side">
        <${Triage} finding=${f} onChanged=${loaded.reload} />
        <section class="panel" aria-labelledby="principal-h">
          <h2 id="principal-h">Principal</h2>
          <dl class="facts">
            <${Fact} term="Account" value=${f.accountId} />
            <${Fact} term="Role" value=${p.role} />
            <${Fact} term="Role ARN" value=${p.roleArn} />
            <${Fact} term="Session" value=${p.sessionName} />
            <${Fact} term="Instance" value=${p.instanceId} />
            <${Fact} term="Credential" value=${p.credentialKind} />
            <${Fact} term="IMDS delivery" value=${(p.ec2RoleDelivery ?? []).join(', ')} />
            <${Fact} term="Access keys" value=${(p.accessKeyIds ?? []).join(', ')} />
          </dl>
        </section>
        <section class="panel" aria-labelledby="source-h">
          <h2 id="source-h">Source</h2>
          <dl class="facts">
            <${Fact} term="Address" value=${s.ip} />
            <${Fact} term="Class" value=${s.class} />
            <${Fact} term="Owner" value=${s.owner} />
            <${Fact} term="VPC endpoint" value=${s.vpcEndpointId} />
            <${Fact} term="Endpoint owner" value=${s.vpcEndpointAccountId} />
          </dl>
        </section>
        <section class="panel" aria-labelledby="audit-h">
          <h2 id="audit-h">History</h2>
          <p class="sub">Stored ${formatTime(f.createdAt)}</p>
          <${AuditList} audit=${audit} />
        </section>
      </div>
    </div>
  </article>`;
}
