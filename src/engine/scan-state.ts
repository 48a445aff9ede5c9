import { extractVending, VendingIndex, type VendingRecord } from '../cloudtrail/vending.js';
import type { CloudTrailEvent } from '../cloudtrail/event.js';
import type { Finding, Severity } from '../detect/finding.js';
import type { DetectionContext, Detector, Observation } from '../detect/types.js';
import { extractRevocations, type Revocation } from '../detect/revocation.js';
import { OwnershipEvidence } from '../inventory/evidence.js';
import { OwnershipMap } from '../inventory/ownership.js';
import type { SourceClassifier } from '../net/source-class.js';
import { buildDetectionContext } from './context.js';
import { detectFindings } from './findings.js';
import {
  addToUsages,
  finaliseUsage,
  mergeUsage,
  packUsage,
  unpackUsage,
  type PackedUsage,
  type Usage,
} from './usage.js';

/** A ScanState as plain data: what a worker thread hands back to the main thread. */
export interface ScanStateSnapshot {
  vending: VendingRecord[];
  usages: PackedUsage[];
  ownershipEvents: CloudTrailEvent[];
  revocations: Revocation[];
  recipientAccounts: string[];
  events: number;
}

/** Everything a scan accumulates; detection runs once over it at the end. */
export class ScanState {
  readonly vending = new VendingIndex();
  readonly usages = new Map<string, Usage>();
  readonly ownershipEvidence = new OwnershipEvidence();
  readonly revocations: Revocation[] = [];
  /** Accounts whose trail this is (recipientAccountId): the org's own. */
  readonly recipientAccounts = new Set<string>();
  events = 0;

  addEvent(event: CloudTrailEvent): void {
    this.events += 1;
    this.addEvidence(event);
    if (event.accountId !== '') this.recipientAccounts.add(event.accountId);
    // Services acting for themselves are not credentials anyone can steal from a workload.
    if (event.identity.type !== 'AWSService' && event.identity.type !== '') addToUsages(this.usages, event);
  }

  /** What an event says besides its usage: credential vending, ownership moves, revocations. */
  addEvidence(event: CloudTrailEvent): void {
    const vending = extractVending(event);
    if (vending) this.vending.add(vending);
    this.ownershipEvidence.consider(event);
    for (const revocation of extractRevocations(event)) this.revocations.push(revocation);
  }

  /** The state as plain data (structured-clone safe). */
  snapshot(): ScanStateSnapshot {
    return {
      vending: [...this.vending.values()],
      usages: [...this.usages.values()].map(packUsage),
      ownershipEvents: [...this.ownershipEvidence.events()],
      revocations: [...this.revocations],
      recipientAccounts: [...this.recipientAccounts],
      events: this.events,
    };
  }

  /** Merges another reader's state (a worker's) into this one. The result does not depend on the order. */
  absorb(snapshot: ScanStateSnapshot): void {
    this.events += snapshot.events;
    for (const record of snapshot.vending) this.vending.add(record);
    for (const packed of snapshot.usages) {
      const usage = unpackUsage(packed);
      const mine = this.usages.get(usage.key);
      if (mine) mergeUsage(mine, usage);
      else this.usages.set(usage.key, usage);
    }
    for (const event of snapshot.ownershipEvents) this.ownershipEvidence.consider(event);
    this.revocations.push(...snapshot.revocations);
    for (const account of snapshot.recipientAccounts) this.recipientAccounts.add(account);
  }

  /**
   * Puts everything in a fixed order once reading is over: usages by key, their evidence by time,
   * revocations by time. Files read in any order, by any number of workers, then give the same findings.
   */
  finalise(options: { usagesFinal?: boolean } = {}): void {
    const usages = [...this.usages.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.usages.clear();
    for (const usage of usages) {
      // Usages aggregated by SQL arrive with their evidence already chosen.
      if (!options.usagesFinal) finaliseUsage(usage);
      this.usages.set(usage.key, usage);
    }
    const time = (ms: number): number => (Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms);
    this.revocations.sort(
      (a, b) => time(a.atMs) - time(b.atMs) || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0),
    );
  }

  /** Classifies what was read and runs the detectors. */
  detect(options: AnalyseOptions & { detectors: readonly Detector[] }): Finding[] {
    const { ctx, observations } = this.analyse(options);
    return detectFindings(observations, options.detectors, ctx);
  }

  /**
   * Classifies what was read against the inventory and the trail's own evidence: every usage as an
   * observation, and the context detectors judge them in. Other commands (exposure) read it directly.
   */
  analyse(options: AnalyseOptions): { ctx: DetectionContext; observations: Observation[] } {
    const ownership = options.inventory?.clone() ?? new OwnershipMap();
    this.ownershipEvidence.applyTo(ownership);
    const { ctx, observations } = buildDetectionContext({
      usages: this.usages.values(),
      vending: this.vending,
      sources: options.sources,
      ownership,
      trustedAccounts: options.trustedAccounts,
      recipientAccounts: this.recipientAccounts,
      revocations: this.revocations,
      ipRangesSyncToken: options.ipRangesSyncToken,
      unverifiableSeverity: options.unverifiableSeverity,
    });
    return { ctx, observations };
  }
}

export interface AnalyseOptions {
  sources: SourceClassifier;
  inventory: OwnershipMap | undefined;
  trustedAccounts: readonly string[];
  ipRangesSyncToken: string;
  /** Severity of uncorroborated unverifiable sources (config `unverifiableSourceSeverity`). */
  unverifiableSeverity?: Severity;
}
