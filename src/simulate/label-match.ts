import type { Finding, Severity } from '../detect/finding.js';
import { severityRank } from '../detect/finding.js';

/** One expected finding of a simulated organisation (labels.json). */
export interface Label {
  detector: string;
  accountId: string;
  instanceId?: string;
  sourceIp?: string;
  accessKeyId?: string;
  subject?: string;
  role?: string;
  story: string;
  minSeverity: Severity;
}

/** True when the finding is the one the label expects: same detector, every identifying field equal. */
export function labelMatches(label: Label, finding: Finding): boolean {
  if (label.detector !== finding.detector) return false;
  if (label.accountId && label.accountId !== finding.accountId) return false;
  if (label.instanceId !== undefined && label.instanceId.toLowerCase() !== finding.principal.instanceId) return false;
  if (label.sourceIp !== undefined && label.sourceIp !== finding.source.ip) return false;
  if (label.accessKeyId !== undefined && !finding.principal.accessKeyIds.includes(label.accessKeyId)) return false;
  if (label.subject !== undefined && label.subject !== finding.principal.sessionName) return false;
  if (label.role !== undefined && label.role !== finding.principal.role) return false;
  return true;
}

export interface LabelEvaluation {
  /** Labels whose detector exists and that a finding at or above minSeverity matched. */
  recovered: { label: Label; findings: Finding[] }[];
  /** Labels whose detector exists but that no finding (at the label's severity) matched. */
  missed: Label[];
  /** Labels for detectors offbox does not have yet: tracked, not judged. */
  pending: Label[];
  /** Findings at or above medium that match no label: false positives. */
  unexpected: Finding[];
}

/** Compares findings with the labels of a simulated organisation. */
export function evaluateLabels(
  labels: readonly Label[],
  findings: readonly Finding[],
  knownDetectors: ReadonlySet<string>,
): LabelEvaluation {
  const evaluation: LabelEvaluation = { recovered: [], missed: [], pending: [], unexpected: [] };
  for (const label of labels) {
    if (!knownDetectors.has(label.detector)) {
      evaluation.pending.push(label);
      continue;
    }
    const matching = findings.filter(
      (finding) => labelMatches(label, finding) && severityRank(finding.severity) >= severityRank(label.minSeverity),
    );
    if (matching.length > 0) evaluation.recovered.push({ label, findings: matching });
    else evaluation.missed.push(label);
  }
  const medium = severityRank('medium');
  evaluation.unexpected = findings.filter(
    (finding) => severityRank(finding.severity) >= medium && !labels.some((label) => labelMatches(label, finding)),
  );
  return evaluation;
}
