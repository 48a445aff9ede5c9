/* global AbortController, clearTimeout, navigator, setTimeout */
import { useEffect, useRef, useState } from '/assets/vendor/preact-hooks.mjs';
import { formatCount, html } from './html.js';

const SEVERITY_CLASSES = new Set(['critical', 'high', 'medium', 'low', 'info']);
const STATUS_CLASSES = new Set(['new', 'acknowledged', 'resolved', 'suppressed']);

/** Severity as a badge; the class comes from a fixed list, never from the value itself. */
export function SeverityBadge({ severity }) {
  const known = SEVERITY_CLASSES.has(severity) ? severity : 'unknown';
  return html`<span class=${`badge sev-${known}`}>${severity}</span>`;
}

export function StatusBadge({ status }) {
  const known = STATUS_CLASSES.has(status) ? status : 'unknown';
  return html`<span class=${`badge status-${known}`}>${status}</span>`;
}

export function Loading({ what = 'Loading' }) {
  return html`<p class="loading" role="status">${what}…</p>`;
}

/** An API error, with the server's hint when it gave one. */
export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error" role="alert">
    <strong>${error.message ?? String(error)}</strong>
    ${error.hint ? html`<p>${error.hint}</p>` : null}
  </div>`;
}

/** A command to copy: text in a <pre>, a button that writes it to the clipboard. */
export function CopyBlock({ text, label = 'Copy' }) {
  const [copied, setCopied] = useState('');
  const timer = useRef(0);
  useEffect(() => () => clearTimeout(timer.current), []);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setCopied('Copied');
    } catch {
      setCopied('Copy failed: select the text and copy it by hand');
    }
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setCopied(''), 2500);
  }
  return html`<div class="copy-block">
    <pre tabindex="0"><code>${text}</code></pre>
    <div class="copy-row">
      <button type="button" class="btn btn-small" onClick=${copy}>${label}</button>
      <span class="copy-status" aria-live="polite">${copied}</span>
    </div>
  </div>`;
}

/**
 * Loads `load(signal)` whenever `deps` change; returns { data, error, loading, reload }. `loading` is true from
 * the very render where `deps` change (not one effect later), so a list never looks settled with stale rows.
 * Data of older `deps` is dropped unless `keepStale` (a list keeps its rows while the next page loads).
 */
export function useLoad(load, deps, { keepStale = false } = {}) {
  const key = JSON.stringify(deps);
  const [state, setState] = useState({ data: undefined, error: undefined, loading: true, key: undefined });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: undefined, loading: false, key });
      },
      (error) => {
        if (!controller.signal.aborted)
          setState((s) => ({ data: keepStale ? s.data : undefined, error, loading: false, key }));
      },
    );
    return () => controller.abort();
  }, [key, tick]);
  return {
    data: keepStale || state.key === key ? state.data : undefined,
    error: state.key === key ? state.error : undefined,
    loading: state.loading || state.key !== key,
    reload: () => setTick((t) => t + 1),
  };
}

/** A definition list row that hides itself when the value is empty. */
export function Fact({ term, children, value }) {
  const shown = children ?? value;
  if (shown === undefined || shown === null || shown === '' || (Array.isArray(shown) && shown.length === 0))
    return null;
  return html`<div class="fact">
    <dt>${term}</dt>
    <dd>${shown}</dd>
  </div>`;
}

/** Page controls for a server-side paged list; nothing when it fits one page. */
export function Pager({ page, pages, go }) {
  if (pages <= 1) return null;
  return html`<nav class="pager" aria-label="Pages">
    <button type="button" class="btn btn-small" disabled=${page <= 1} onClick=${() => go(1)}>First</button>
    <button
      type="button"
      class="btn btn-small"
      disabled=${page <= 1}
      onClick=${() => go(page - 1)}
      aria-label="Previous page"
    >
      ‹ Previous
    </button>
    <span class="pager-pos">Page ${formatCount(page)} of ${formatCount(pages)}</span>
    <button
      type="button"
      class="btn btn-small"
      disabled=${page >= pages}
      onClick=${() => go(page + 1)}
      aria-label="Next page"
    >
      Next ›
    </button>
    <button type="button" class="btn btn-small" disabled=${page >= pages} onClick=${() => go(pages)}>Last</button>
  </nav>`;
}
