import type { Finding } from '../detect/finding.js';

/** What the findings store adds to a finding; renderers show it when given `triage: true`. */
export interface TriageFields {
  status: string;
  statusNote: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * The triage fields a finding carries, '' where missing. Read defensively: renderers take plain
 * findings, and only findings read back from a store carry these.
 */
export function triageOf(finding: Finding): TriageFields {
  const f = finding as Finding & Partial<Record<keyof TriageFields, unknown>>;
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  return {
    status: text(f.status),
    statusNote: text(f.statusNote),
    createdAt: text(f.createdAt),
    updatedAt: text(f.updatedAt),
  };
}
