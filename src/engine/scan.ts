import { frameStream, type FrameLimits } from '../cloudtrail/framing.js';
import { parseRecordBytes } from '../cloudtrail/records.js';
import { extractVending, VendingIndex } from '../cloudtrail/vending.js';
import type { OffboxConfig } from '../config/config.js';
import { emptyConfig } from '../config/config.js';
import { cloudTrailDetectors } from '../detect/registry.js';
import type { Finding } from '../detect/finding.js';
import type { DetectionContext, Detector, Observation } from '../detect/types.js';
import type { CloudTrailEvent } from '../cloudtrail/event.js';
import { extractRevocation, type Revocation } from '../detect/revocation.js';
import { OwnershipEvidence } from '../inventory/evidence.js';
import { OwnershipMap } from '../inventory/ownership.js';
import type { SourceClassifier } from '../net/source-class.js';
import { buildDetectionContext } from './context.js';
import { OffboxError } from '../errors.js';
import { loadAwsRanges, type AwsRanges } from '../net/aws-ranges.js';
import { buildSourceClassifier } from '../net/source-class.js';
import type { LogObject } from '../sources/log-object.js';
import { openDecoded, type DecodeLimits } from '../sources/log-object.js';
import { detectFindings } from './findings.js';
import { warningCollector } from './warnings.js';
import { compileSuppressions, type SuppressedFinding } from './suppress.js';
import { addToUsages, type Usage } from './usage.js';

/** A problem with one file or one record: reported, skipped, never silent. */
export interface InputWarning {
  file: string;
  /** 0-based position of the record in the file, when the problem is one record. */
  recordIndex?: number;
  reason: string;
}

export interface ScanProgress {
  files: number;
  bytes: number;
  events: number;
  currentFile: string;
}

export interface ScanOptions {
  config?: OffboxConfig;
  /** Path of an ip-ranges.json to use instead of the vendored snapshot. */
  ipRangesFile?: string;
  /** Already loaded ranges (tests, watch): wins over ipRangesFile. */
  awsRanges?: AwsRanges;
  /** The org's inventory; CloudTrail ownership evidence is added to a copy of it. */
  inventory?: OwnershipMap;
  detectors?: readonly Detector[];
  limits?: Partial<FrameLimits & DecodeLimits>;
  /** Turn the first bad file or record into an InputError. */
  strict?: boolean;
  onWarning?: (warning: InputWarning) => void;
  onProgress?: (progress: ScanProgress) => void;
}

export interface ScanStats {
  files: number;
  bytes: number;
  records: number;
  events: number;
  badRecords: number;
  badFiles: number;
  vendingEvents: number;
  usages: number;
  durationMs: number;
}

export interface ScanResult {
  findings: Finding[];
  stats: ScanStats;
  /** The first 10,000 warnings; stats.badFiles and stats.badRecords count them all. */
  warnings: InputWarning[];
  /** Findings hidden by the config's suppress rules, with the rule's reason. */
  suppressed: SuppressedFinding[];
  /** Suppress rules past their expiry, no longer applied. */
  expiredSuppressions: OffboxConfig['suppress'];
  ipRangesSyncToken: string;
  /** Every credential-vending event read, by access key id (incidents date a stolen key's issue from it). */
  vending?: VendingIndex;
  /** Every AWSRevokeOlderSessions policy put on a role, in reading order. */
  revocations?: readonly Revocation[];
  /** What was read, for commands that look at it another way (exposure). */
  state: ScanState;
}

export const DEFAULT_LIMITS: FrameLimits & DecodeLimits = {
  maxRecordBytes: 1024 * 1024,
  maxDecodedBytes: 4 * 1024 * 1024 * 1024,
};

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
    const vending = extractVending(event);
    if (vending) this.vending.add(vending);
    this.ownershipEvidence.consider(event);
    const revocation = extractRevocation(event);
    if (revocation) this.revocations.push(revocation);
    if (event.accountId !== '') this.recipientAccounts.add(event.accountId);
    // Services acting for themselves are not credentials anyone can steal from a workload.
    if (event.identity.type !== 'AWSService' && event.identity.type !== '') addToUsages(this.usages, event);
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
    });
    return { ctx, observations };
  }
}

export interface AnalyseOptions {
  sources: SourceClassifier;
  inventory: OwnershipMap | undefined;
  trustedAccounts: readonly string[];
  ipRangesSyncToken: string;
}

/** What reading the logs produced, before detection: the accumulated state and the input accounting. */
export interface ReadResult {
  state: ScanState;
  stats: ScanStats;
  warnings: InputWarning[];
}

/**
 * Reads every log object, frames and parses its records and feeds the events to a ScanState.
 * Bad files and records are reported through onWarning and skipped (or thrown with strict).
 * `exposure` and `scan` share it; `scanCloudTrail` adds the detectors.
 */
export async function readCloudTrail(
  objects: AsyncIterable<LogObject>,
  options: Pick<ScanOptions, 'limits' | 'strict' | 'onWarning' | 'onProgress'> = {},
): Promise<ReadResult> {
  const started = performance.now();
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const { warnings, warn } = warningCollector<InputWarning>({
    strict: options.strict,
    onWarning: options.onWarning,
    where: (w) => (w.recordIndex === undefined ? w.file : `${w.file} record ${w.recordIndex}`),
  });
  const stats: ScanStats = {
    files: 0,
    bytes: 0,
    records: 0,
    events: 0,
    badRecords: 0,
    badFiles: 0,
    vendingEvents: 0,
    usages: 0,
    durationMs: 0,
  };
  const state = new ScanState();
  let lastProgress = 0;
  for await (const object of objects) {
    stats.files += 1;
    let fileBad = false;
    let itemsInFile = 0;
    try {
      const decoded = countBytes(openDecoded(object, limits), (n) => {
        stats.bytes += n;
      });
      const frames = frameStream(decoded, limits);
      for (;;) {
        const next = await frames.next();
        if (next.done) {
          // Framing already reported unframeable content as a bad record; one warning per problem.
          if (next.value.layout === 'unknown' && itemsInFile === 0) {
            warn({
              file: object.name,
              reason: 'not CloudTrail JSON: expected {"Records":[…]}, a JSON array or JSON lines',
            });
            fileBad = true;
          }
          break;
        }
        const item = next.value;
        itemsInFile += 1;
        stats.records += 1;
        if (item.kind === 'bad') {
          stats.badRecords += 1;
          warn({ file: object.name, recordIndex: item.index, reason: item.reason });
          continue;
        }
        for (const parsed of parseRecordBytes(item.bytes)) {
          if ('bad' in parsed) {
            stats.badRecords += 1;
            warn({ file: object.name, recordIndex: item.index, reason: parsed.bad });
            continue;
          }
          state.addEvent(parsed.event);
        }
        if (options.onProgress && state.events - lastProgress >= 20000) {
          lastProgress = state.events;
          options.onProgress({
            files: stats.files,
            bytes: stats.bytes,
            events: state.events,
            currentFile: object.name,
          });
        }
      }
    } catch (error) {
      // One unreadable object (truncated gzip, access denied on one key) must not end the scan.
      if (!(error instanceof OffboxError) || options.strict) throw error;
      fileBad = true;
      warn({ file: object.name, reason: error.message });
    }
    if (fileBad) stats.badFiles += 1;
  }
  stats.events = state.events;
  stats.vendingEvents = state.vending.size;
  stats.usages = state.usages.size;
  stats.durationMs = performance.now() - started;
  return { state, stats, warnings };
}

/**
 * Reads every log object and runs the CloudTrail detectors over all of it. Bad files and
 * records are reported through onWarning and skipped; the good ones still produce their findings.
 */
export async function scanCloudTrail(
  objects: AsyncIterable<LogObject>,
  options: ScanOptions = {},
): Promise<ScanResult> {
  const started = performance.now();
  const config = options.config ?? emptyConfig;
  const awsRanges = options.awsRanges ?? loadAwsRanges(options.ipRangesFile);
  const sources = buildSourceClassifier({ awsRanges, allowedCidrs: config.allowedSourceCidrs });
  const suppressions = compileSuppressions(config.suppress);
  const { state, stats, warnings } = await readCloudTrail(objects, options);

  const detected = state.detect({
    detectors: options.detectors ?? cloudTrailDetectors,
    sources,
    inventory: options.inventory,
    trustedAccounts: config.trustedAccounts,
    ipRangesSyncToken: awsRanges.syncToken,
  });
  const { kept: findings, suppressed } = suppressions.apply(detected);
  stats.durationMs = performance.now() - started;
  return {
    findings,
    stats,
    warnings,
    suppressed,
    expiredSuppressions: suppressions.expired,
    ipRangesSyncToken: awsRanges.syncToken,
    vending: state.vending,
    revocations: state.revocations,
    state,
  };
}

async function* countBytes(stream: AsyncIterable<Buffer>, add: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    add(chunk.length);
    yield chunk;
  }
}
