/* global ResizeObserver */
// The incident's activity over time, drawn by uPlot on a canvas. Labels and values reach the page only through
// uPlot's legend, which writes them with textContent.
import { useEffect, useRef } from '/assets/vendor/preact-hooks.mjs';
import uPlot from '/assets/vendor/uplot.mjs';
import { html } from './html.js';

// Colour by timeline step; the palette stays readable for the common colour-vision deficiencies.
const STEP_COLOURS = {
  vending: '#1b7837',
  'off-box-use': '#c51b7d',
  'credential-vended': '#1b7837',
  'ssrf-attempt': '#d95f02',
  'signed-request-relayed': '#a6761d',
  'first-off-box-use': '#c51b7d',
  revocation: '#2166ac',
  'use-after-revocation': '#762a83',
  other: '#555555',
};
const FALLBACK_COLOURS = ['#4d4d4d', '#0072b2', '#e69f00', '#009e73', '#cc79a7'];
const HEIGHT = 240;

function colourFor(step, index) {
  return STEP_COLOURS[step] ?? FALLBACK_COLOURS[index % FALLBACK_COLOURS.length];
}

const pad = (n) => String(n).padStart(2, '0');

/** Tick labels in UTC, 24-hour: `HH:MM`, with the date on the first tick and where the day changes. */
function utcTicks(_u, splits) {
  let lastDay = '';
  return splits.map((seconds) => {
    const d = new Date(seconds * 1000);
    const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
    const label = day === lastDay ? time : `${time}\n${day}`;
    lastDay = day;
    return label;
  });
}

/** Powers of ten only: the log axis' minor lines (2, 3 … 9) would crowd out the points. */
function decades(_u, _axis, min, max) {
  const out = [];
  for (let v = 1; v <= Math.max(max, 10); v *= 10) if (v >= min) out.push(v);
  return out;
}

function optionsFor(series, width) {
  return {
    width,
    height: HEIGHT,
    // Counts run from one vending event to hundreds of calls: a log scale keeps both readable.
    scales: { x: { time: true }, y: { distr: 3, log: 10 } },
    cursor: { points: { size: 10 } },
    legend: { live: true },
    axes: [
      { stroke: '#333', grid: { stroke: '#e6e6e6' }, values: utcTicks, space: 70 },
      { stroke: '#333', grid: { stroke: '#e6e6e6' }, label: 'events (log scale)', size: 56, splits: decades },
    ],
    series: [
      {
        label: 'time (UTC)',
        value: (_u, v) =>
          v == null
            ? '—'
            : new Date(v * 1000)
                .toISOString()
                .replace('T', ' ')
                .replace(/\.\d{3}Z$/, 'Z'),
      },
      ...series.map((s, i) => {
        const colour = colourFor(s.step, i);
        return {
          label: String(s.label ?? s.step ?? `series ${i + 1}`),
          stroke: colour,
          fill: colour,
          width: 0,
          // Points only: the activity is a handful of moments, not a continuous line.
          paths: () => null,
          points: { show: true, size: 9, stroke: colour, fill: colour },
          value: (_u, v) => (v == null ? '—' : String(v)),
        };
      }),
    ],
  };
}

/** An activity chart; `activity` is { series: { label, step }[], points: [xs, ...ys] }. */
export function ActivityChart({ activity }) {
  const box = useRef(null);
  useEffect(() => {
    const element = box.current;
    const series = activity?.series ?? [];
    const points = activity?.points ?? [];
    if (!element || series.length === 0 || !Array.isArray(points[0]) || points[0].length === 0) return undefined;
    const width = () => Math.max(320, element.clientWidth);
    const plot = new uPlot(optionsFor(series, width()), points, element);
    const observer = new ResizeObserver(() => plot.setSize({ width: width(), height: HEIGHT }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [activity]);
  const empty = !activity?.points?.[0]?.length;
  return html`<figure class="chart">
    <div ref=${box} class="chart-box" data-testid="activity-chart"></div>
    <figcaption>
      ${empty ? 'No timed activity to chart.' : 'Events per time bucket, by timeline step (hover for values).'}
    </figcaption>
  </figure>`;
}
