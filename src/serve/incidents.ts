/**
 * Incidents for the dashboard: the stored findings linked by engine/incidents.ts with the CloudTrail
 * evidence the store keeps (scan's and hunt's `evidence_*` tables, watch's `watch_*` tables), computed
 * lazily and cached until the findings or the evidence change.
 */
import { deserialize } from 'node:v8';
import type { VendingRecord } from '../cloudtrail/vending.js';
import type { Finding } from '../detect/finding.js';
import type { Revocation } from '../detect/revocation.js';
import { buildIncidents, type Incident, type IncidentEvidence, type IncidentStep } from '../engine/incidents.js';
import type { Store } from '../store/store.js';

/** One line of the activity chart: a kind of timeline step. */
export interface ActivitySeries {
  label: string;
  step: 'ssrf-attempt' | 'vending' | 'off-box-use' | 'revocation' | 'other';
}

/**
 * uPlot's data shape: `points[0]` holds the x values (epoch seconds, ascending), `points[i + 1]` the
 * values of `series[i]` at each x (null where the series has nothing).
 */
export interface IncidentActivity {
  series: ActivitySeries[];
  points: [number[], ...(number | null)[][]];
}

/** The incidents of a store and the indexes the API answers from. */
export interface IncidentView {
  incidents: Incident[];
  byId: Map<string, Incident>;
  /** The first (most severe) incident each finding belongs to. */
  incidentOfFinding: Map<string, string>;
}

const SERIES: readonly (ActivitySeries & { steps: readonly IncidentStep[] })[] = [
  { label: 'SSRF attempt', step: 'ssrf-attempt', steps: ['ssrf-attempt'] },
  { label: 'Credential vended', step: 'vending', steps: ['credential-vended'] },
  {
    label: 'Off-box use',
    step: 'off-box-use',
    steps: ['first-off-box-use', 'signed-request-relayed', 'use-after-revocation'],
  },
  { label: 'Revocation', step: 'revocation', steps: ['revocation'] },
  { label: 'Other', step: 'other', steps: ['other'] },
];

function tableExists(store: Store, name: string): boolean {
  return (
    store.database.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined
  );
}

/** Vending records and revocations from every table that holds them; scan's record wins over watch's. */
export function loadIncidentEvidence(store: Store): Required<Pick<IncidentEvidence, 'vending' | 'revocations'>> {
  const vending = new Map<string, VendingRecord>();
  for (const record of store.listVending()) vending.set(record.accessKeyId, record);
  const revocations: Revocation[] = [...store.listRevocations()];
  if (tableExists(store, 'watch_vending')) {
    const rows = store.database.prepare<[], { record: string }>('SELECT record FROM watch_vending').all();
    for (const row of rows) {
      const record = JSON.parse(row.record) as VendingRecord;
      if (!vending.has(record.accessKeyId)) vending.set(record.accessKeyId, record);
    }
  }
  if (tableExists(store, 'watch_evidence')) {
    const rows = store.database
      .prepare<[], { body: Buffer }>("SELECT body FROM watch_evidence WHERE kind = 'revocation' ORDER BY event_id")
      .all();
    // buildIncidents drops the timeline entries a revocation kept in both places would repeat.
    for (const row of rows) revocations.push(deserialize(row.body) as Revocation);
  }
  return { vending, revocations };
}

function evidenceStamp(store: Store): string {
  const count = (sql: string): number => (store.database.prepare<[], { n: number }>(sql).get()?.n ?? 0) as number;
  return [
    count('SELECT COUNT(*) AS n FROM evidence_vending'),
    count('SELECT COUNT(*) AS n FROM evidence_revocations'),
    tableExists(store, 'watch_vending') ? count('SELECT COUNT(*) AS n FROM watch_vending') : 0,
    tableExists(store, 'watch_evidence')
      ? count("SELECT COUNT(*) AS n FROM watch_evidence WHERE kind = 'revocation'")
      : 0,
  ].join(',');
}

/**
 * Builds incidents at most once per state of the store: the key is the findings' count and latest
 * update plus the evidence counts, so repeated requests over 100k findings stay cheap.
 */
export function createIncidentCache(store: Store): {
  get(): IncidentView;
  /** Call with the stamp read before a status change: a status is not part of an incident, so the cache stays. */
  keepAcrossStatusChange(stampBefore: string): void;
  stamp(): string;
} {
  let cached: { key: string; view: IncidentView } | undefined;
  const stamp = (): string => `${store.findingsStamp()}\n${evidenceStamp(store)}`;
  return {
    stamp,
    get() {
      const key = stamp();
      if (cached?.key === key) return cached.view;
      const incidents = buildIncidents(store.allFindings(), loadIncidentEvidence(store));
      const incidentOfFinding = new Map<string, string>();
      for (const incident of incidents) {
        for (const id of incident.findingIds) if (!incidentOfFinding.has(id)) incidentOfFinding.set(id, incident.id);
      }
      const view = { incidents, byId: new Map(incidents.map((i) => [i.id, i])), incidentOfFinding };
      cached = { key, view };
      return view;
    },
    keepAcrossStatusChange(stampBefore) {
      if (cached?.key === stampBefore) cached = { key: stamp(), view: cached.view };
    },
  };
}

function epochSeconds(time: string): number | undefined {
  const ms = time === '' ? Number.NaN : Date.parse(time);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/**
 * The incident's activity as chart data. A finding's calls count once, at its first timeline entry;
 * its later entries (the last of a run of SSRF requests) and the vending and revocation events
 * count 1. The findings' first and last seen times are x values too, so the chart spans them.
 */
export function incidentActivity(incident: Incident, findings: readonly Finding[]): IncidentActivity {
  const byId = new Map(findings.map((f) => [f.id, f]));
  const xs = new Set<number>();
  for (const f of findings) {
    for (const time of [f.activity?.firstSeen ?? '', f.activity?.lastSeen ?? '']) {
      const x = epochSeconds(time);
      if (x !== undefined) xs.add(x);
    }
  }
  const sums = SERIES.map(() => new Map<number, number>());
  const counted = new Set<string>();
  for (const entry of incident.timeline) {
    const x = epochSeconds(entry.time);
    if (x === undefined) continue;
    xs.add(x);
    const series = SERIES.findIndex((s) => s.steps.includes(entry.step));
    let value = 1;
    if (entry.findingId !== undefined && !counted.has(entry.findingId)) {
      counted.add(entry.findingId);
      value = Math.max(1, byId.get(entry.findingId)?.activity?.calls ?? 1);
    }
    const sum = sums[series < 0 ? SERIES.length - 1 : series]!;
    sum.set(x, (sum.get(x) ?? 0) + value);
  }
  const x = [...xs].sort((a, b) => a - b);
  return {
    series: SERIES.map(({ label, step }) => ({ label, step })),
    points: [x, ...sums.map((sum) => x.map((at) => sum.get(at) ?? null))],
  };
}
