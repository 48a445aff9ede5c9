import type { Credential } from '../cloudtrail/credential.js';
import type { VendingIndex } from '../cloudtrail/vending.js';
import type { Usage } from '../engine/usage.js';
import type { SourceInfo } from '../net/source-class.js';
import type { Confidence, Finding, Severity } from './finding.js';

/** What a detector may consult besides the usage itself. Nothing here does I/O. */
export interface DetectionContext {
  vending: VendingIndex;
  /** The ip-ranges snapshot the sources were classified against. */
  ipRangesSyncToken: string;
  /** Whether an inventory was loaded: without it detectors say what they could not check. */
  hasInventory: boolean;
}

/** One usage, seen through the classifiers: what credential, from what source. */
export interface Observation {
  usage: Usage;
  credential: Credential;
  source: SourceInfo;
}

/** A detector's judgement on one observation. */
export interface Verdict {
  confidence: Confidence;
  /** Why it fired: the rule and the evidence, in words a responder can check. */
  reasons: string[];
  /** Who owns the source address, as far as the detector knows. */
  sourceOwner: string;
}

/** Everything that went into one finding: the observations it covers and their verdicts. */
export interface FindingAggregate {
  detector: Detector;
  observations: Observation[];
  verdicts: Verdict[];
}

/**
 * A detector is a plain object: an id (a contract, never renamed), words for humans,
 * a judgement per observation and a severity per aggregate.
 */
export interface Detector {
  id: string;
  title: string;
  description: string;
  attack: Finding['attack'];
  /** Judges one observation; undefined means "not this detector's business". */
  evaluate(observation: Observation, ctx: DetectionContext): Verdict | undefined;
  /** Severity of the aggregated finding, with the reasons for any raise. */
  severity(aggregate: FindingAggregate, ctx: DetectionContext): { severity: Severity; reasons: string[] };
}
