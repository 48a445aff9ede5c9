import type { VendingIndex } from '../cloudtrail/vending.js';
import { emptyConfig } from '../config/config.js';
import { readCloudTrail, type ScanOptions, type ScanResult, type ScanState } from '../engine/scan.js';
import type { Usage } from '../engine/usage.js';
import type { OwnershipMap } from '../inventory/ownership.js';
import { loadAwsRanges } from '../net/aws-ranges.js';
import { buildSourceClassifier } from '../net/source-class.js';
import type { LogObject } from '../sources/log-object.js';

/** What the exposure backlog needs from the logs. */
export interface CloudTrailReading {
  usages: Usage[];
  vending: VendingIndex;
  /** The scan's judgement of each instance usage's source (`expected`, `outside` …). */
  sourceJudgements: Map<Usage, string>;
  /**
   * The inventory plus CloudTrail's own ownership evidence (RunInstances, AssociateAddress …): instances
   * launched inside the window are known from it even without an inventory.
   */
  ownership: OwnershipMap;
  stats: ScanResult['stats'];
  warnings: ScanResult['warnings'];
  ipRangesSyncToken: string;
}

/**
 * Reads CloudTrail through the scan pipeline (same sources, framing, parsing, limits and warnings
 * as `offbox scan`) and hands back the classified usages instead of findings: the attack
 * detectors do not run.
 */
export async function readCloudTrailForExposure(
  objects: AsyncIterable<LogObject>,
  options: Omit<ScanOptions, 'detectors'> = {},
): Promise<CloudTrailReading> {
  const { state, stats, warnings } = await readCloudTrail(objects, options);
  return exposureReading(state, { stats, warnings }, options);
}

/** The exposure view of logs already read (by a scan that kept its state, or by the function above). */
export function exposureReading(
  state: ScanState,
  read: Pick<CloudTrailReading, 'stats' | 'warnings'>,
  options: Pick<ScanOptions, 'config' | 'awsRanges' | 'ipRangesFile' | 'inventory'> = {},
): CloudTrailReading {
  const config = options.config ?? emptyConfig;
  const awsRanges = options.awsRanges ?? loadAwsRanges(options.ipRangesFile);
  const sources = buildSourceClassifier({ awsRanges, allowedCidrs: config.allowedSourceCidrs });
  const { ctx, observations } = state.analyse({
    sources,
    inventory: options.inventory,
    trustedAccounts: config.trustedAccounts,
    ipRangesSyncToken: awsRanges.syncToken,
  });
  const sourceJudgements = new Map<Usage, string>();
  for (const observation of observations) {
    if (observation.instance) sourceJudgements.set(observation.usage, observation.instance.judgement.kind);
  }
  return {
    usages: observations.map((o) => o.usage),
    sourceJudgements,
    vending: ctx.vending,
    ownership: ctx.ownership,
    stats: read.stats,
    warnings: read.warnings,
    ipRangesSyncToken: awsRanges.syncToken,
  };
}
