/* global URLSearchParams, addEventListener, document, location, removeEventListener */
// offbox triage dashboard: hash routes, so a reload or a pasted link needs no server route.
//   #/findings?…  #/finding/ID  #/finding/ID/plan  #/incidents  #/incident/ID  #/exposure
import { render } from '/assets/vendor/preact.mjs';
import { useEffect, useState } from '/assets/vendor/preact-hooks.mjs';
import { api } from './api.js';
import { ErrorBox, useLoad } from './components.js';
import { html } from './html.js';
import { FindingsPage } from './pages/findings.js';
import { FindingPage } from './pages/finding.js';
import { PlanPage } from './pages/plan.js';
import { IncidentsPage, IncidentPage } from './pages/incident.js';
import { ExposurePage } from './pages/exposure.js';

/** The current route: path segments (decoded) and query parameters. */
function parseHash(hash) {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const params = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  const segments = path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { segments, params };
}

function useRoute() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return parseHash(hash);
}

const NAV = [
  { key: 'findings', label: 'Findings', href: '#/findings' },
  { key: 'incidents', label: 'Incidents', href: '#/incidents' },
  { key: 'exposure', label: 'IMDSv1 exposure', href: '#/exposure' },
];

function Header({ section, meta }) {
  return html`<header class="top">
    <div class="brand">
      <a href="#/findings" class="brand-name">offbox</a>
      <span class="brand-sub">triage</span>
    </div>
    <nav aria-label="Sections">
      <ul>
        ${NAV.map(
          (item) =>
            html`<li key=${item.key}>
              <a href=${item.href} aria-current=${section === item.key ? 'page' : undefined}>${item.label}</a>
            </li>`,
        )}
      </ul>
    </nav>
    <div class="store" title="Findings database">
      ${meta ? html`<span>${meta.store}</span> · <span>${meta.total.toLocaleString('en-US')} findings</span>` : null}
      ${meta?.version ? html` · <span>v${meta.version}</span>` : null}
    </div>
  </header>`;
}

function Page({ route, meta }) {
  const [first = 'findings', second, third] = route.segments;
  if (first === 'finding' && second !== undefined && third === 'plan') return html`<${PlanPage} id=${second} />`;
  if (first === 'finding' && second !== undefined) return html`<${FindingPage} id=${second} />`;
  if (first === 'incident' && second !== undefined) return html`<${IncidentPage} id=${second} />`;
  if (first === 'incidents') return html`<${IncidentsPage} params=${route.params} />`;
  if (first === 'exposure') return html`<${ExposurePage} params=${route.params} />`;
  if (first === 'findings') return html`<${FindingsPage} params=${route.params} meta=${meta} />`;
  return html`<section>
    <h1>Not found</h1>
    <p>No such page. <a href="#/findings">Back to the findings</a>.</p>
  </section>`;
}

function sectionOf(route) {
  const first = route.segments[0] ?? 'findings';
  if (first === 'finding' || first === 'findings') return 'findings';
  if (first === 'incident' || first === 'incidents') return 'incidents';
  return first;
}

function App() {
  const route = useRoute();
  const meta = useLoad((signal) => api.meta(signal), []);
  // Move focus to the new page's heading after navigation, for keyboard and screen-reader users.
  const key = route.segments.join('/');
  useEffect(() => {
    document.querySelector('main h1')?.focus({ preventScroll: true });
  }, [key]);
  return html`
    <${Header} section=${sectionOf(route)} meta=${meta.data} />
    <main id="main" tabindex="-1">
      <${ErrorBox} error=${meta.error} />
      <${Page} route=${route} meta=${meta.data} />
    </main>
    <footer class="bottom">
      offbox serve listens on 127.0.0.1 only. Containment is applied from the CLI: <code>offbox contain --apply</code>.
    </footer>
  `;
}

render(html`<${App} />`, document.getElementById('app'));
