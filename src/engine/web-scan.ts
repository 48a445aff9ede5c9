import type { OffboxConfig } from '../config/config.js';
import { emptyConfig } from '../config/config.js';
import type { Confidence } from '../detect/finding.js';
import { severityRank } from '../detect/finding.js';
import type {
  BackendFacts,
  WebAggregate,
  WebDetectionContext,
  WebDetector,
  WebFinding,
  WebObservation,
  WebVerdict,
} from '../detect/web-types.js';
import { OffboxError } from '../errors.js';
import type { OwnershipMap } from '../inventory/ownership.js';
import { loadAwsRanges, type AwsRanges } from '../net/aws-ranges.js';
import { buildSourceClassifier, type SourceClassifier, type SourceInfo } from '../net/source-class.js';
import type { LogObject } from '../sources/log-object.js';
import { readWebLog } from '../weblogs/read.js';
import { WEB_LOG_FORMATS, type WebLogFormat, type WebRequest } from '../weblogs/request.js';
import { splitAddressPort } from '../weblogs/tokenize.js';
import { findingId } from './findings.js';
import { emptyScanStats, type ScanStats } from './scan.js';
import { compileSuppressions, type SuppressedFinding } from './suppress.js';
import { warningCollector } from './warnings.js';
import { describeContent } from './input-shape.js';
import { webDetectors } from '../detect/registry.js';
import { WebClientIndex } from './web-clients.js';

/** A problem with one file or one line: reported, skipped, never silent. */
export interface WebLogWarning {
  file: string;
  /** 1-based line, when the problem is one line. */
  line?: number;
  reason: string;
}

export interface WebScanProgress {
  files: number;
  bytes: number;
  requests: number;
  currentFile: string;
}

export interface WebScanOptions {
  /** allowedSourceCidrs (client classification) and suppress rules. */
  config?: OffboxConfig;
  ipRangesFile?: string;
  awsRanges?: AwsRanges;
  /** Which instance holds each ALB/ELB target address, with its metadata options and role. */
  inventory?: OwnershipMap;
  detectors?: readonly WebDetector[];
  /** Longest line read (default 64 KiB); longer ones are reported and skipped. */
  maxLineBytes?: number;
  /** Most bytes one object may decompress to (default 4 GiB). */
  maxDecodedBytes?: number;
  /** Turn the first bad file or line into an InputError. */
  strict?: boolean;
  /** Read every file as a text log (application and error logs); access-log lines keep their own readers. */
  text?: boolean;
  onWarning?: (warning: WebLogWarning) => void;
  onProgress?: (progress: WebScanProgress) => void;
  /** Continue from this aggregator (watch reads web logs batch by batch); its findings so far are included. */
  aggregator?: WebFindingAggregator;
}

/** ScanStats (records = lines, events = requests, badRecords = bad lines, usages = findings before suppression) plus web counts. */
export interface WebScanStats extends ScanStats {
  lines: number;
  requests: number;
  badLines: number;
  /** NLB and ALB connection-log lines, comments, blank lines, CloudFront headers. */
  skippedLines: number;
  /** Requests read per format. */
  formats: Record<WebLogFormat, number>;
  /** Files with no lines but blank ones (not reported). */
  emptyFiles?: number;
}

export interface WebScanResult {
  findings: WebFinding[];
  stats: WebScanStats;
  /** The first 10,000 warnings; stats.badFiles and stats.badLines count them all. */
  warnings: WebLogWarning[];
  suppressed: SuppressedFinding[];
  expiredSuppressions: OffboxConfig['suppress'];
  ipRangesSyncToken: string;
  /** Per-client first/last seen and counts over every request (capped): incidents' same-address link. */
  clients?: WebClientIndex;
}

/** Locations and request ids kept per finding; counts stay exact beyond it. */
export const MAX_LOCATIONS = 1000;
const MAX_REASONS = 40;
const MAX_ACTIONS = 200;
const MAX_ACTION_CHARS = 200;
const MAX_USER_AGENTS = 20;
const CONFIDENCE_ORDER: readonly Confidence[] = ['low', 'medium', 'high'];

interface AggregateState extends WebAggregate {
  flags: Set<string>;
  backends: Map<string, BackendFacts>;
  hosts: Set<string>;
  methods: Set<string>;
  statuses: Map<number, number>;
  firstMs: number;
  lastMs: number;
  confidence: Confidence;
  reasons: Set<string>;
  reasonsDropped: number;
  actions: Map<string, number>;
  userAgents: Set<string>;
  regions: Set<string>;
  accessKeyIds: Set<string>;
  locations: { file: string; line: number }[];
  locationsTruncated: boolean;
  requestIds: string[];
  requestIdsTruncated: boolean;
  errorCount: number;
}

function earlier(a: WebRequest, b: WebRequest): boolean {
  const at = Number.isNaN(a.timeMs) ? Infinity : a.timeMs;
  const bt = Number.isNaN(b.timeMs) ? Infinity : b.timeMs;
  if (at !== bt) return at < bt;
  if (a.file !== b.file) return a.file < b.file;
  return a.line < b.line;
}

function isoOrEmpty(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '';
}

/** An aggregate as plain, structured-clone safe data: its detector by id. */
export type SavedWebAggregate = Omit<AggregateState, 'detector'> & { detectorId: string };

/** Folds verdicts into findings as requests stream by; memory grows with findings, not requests. */
export class WebFindingAggregator {
  private readonly byId = new Map<string, AggregateState>();
  private readonly changed = new Set<string>();

  constructor(
    private readonly ctx: WebDetectionContext,
    private readonly ownership: OwnershipMap | undefined,
  ) {}

  /** Ids of the aggregates changed since the last call (watch saves those). */
  takeChanged(): string[] {
    const ids = [...this.changed];
    this.changed.clear();
    return ids;
  }

  /** One aggregate as plain data, undefined for an unknown id. */
  save(id: string): SavedWebAggregate | undefined {
    const state = this.byId.get(id);
    if (!state) return undefined;
    const { detector, ...rest } = state;
    return { ...rest, detectorId: detector.id };
  }

  /** Puts back a saved aggregate; false when its detector is not among `detectors`. */
  restore(id: string, saved: SavedWebAggregate, detectors: readonly WebDetector[]): boolean {
    const detector = detectors.find((d) => d.id === saved.detectorId);
    if (!detector) return false;
    const rest: Partial<SavedWebAggregate> = { ...saved };
    delete rest.detectorId;
    this.byId.set(id, { ...(rest as Omit<SavedWebAggregate, 'detectorId'>), detector });
    return true;
  }

  add(detector: WebDetector, observation: WebObservation, verdict: WebVerdict): void {
    const { request, source } = observation;
    const clientIp = request.clientIp;
    const id = findingId({
      detector: detector.id,
      accountId: '',
      roleArn: '',
      subject: verdict.key,
      sourceIp: clientIp,
      vpcEndpointId: '',
    });
    this.changed.add(id);
    let state = this.byId.get(id);
    if (!state) {
      state = {
        detector,
        key: verdict.key,
        clientIp,
        source,
        requests: 0,
        first: { observation, verdict },
        flags: new Set(),
        backends: new Map(),
        hosts: new Set(),
        methods: new Set(),
        statuses: new Map(),
        firstMs: Number.NaN,
        lastMs: Number.NaN,
        confidence: verdict.confidence,
        reasons: new Set(),
        reasonsDropped: 0,
        actions: new Map(),
        userAgents: new Set(),
        regions: new Set(),
        accessKeyIds: new Set(),
        locations: [],
        locationsTruncated: false,
        requestIds: [],
        requestIdsTruncated: false,
        errorCount: 0,
      };
      this.byId.set(id, state);
    } else if (earlier(request, state.first.observation.request)) {
      state.first = { observation, verdict };
    }
    state.requests += 1;
    for (const flag of verdict.flags) state.flags.add(flag);
    if (observation.backend && observation.backend.address !== '' && !state.backends.has(observation.backend.address)) {
      state.backends.set(observation.backend.address, observation.backend);
    }
    if (request.host !== '') state.hosts.add(request.host);
    if (request.method !== '') state.methods.add(request.method);
    state.statuses.set(request.status, (state.statuses.get(request.status) ?? 0) + 1);
    if (!Number.isNaN(request.timeMs)) {
      if (!(request.timeMs >= state.firstMs)) state.firstMs = request.timeMs;
      if (!(request.timeMs <= state.lastMs)) state.lastMs = request.timeMs;
    }
    if (CONFIDENCE_ORDER.indexOf(verdict.confidence) > CONFIDENCE_ORDER.indexOf(state.confidence)) {
      state.confidence = verdict.confidence;
    }
    for (const reason of verdict.reasons) {
      if (state.reasons.has(reason)) continue;
      if (state.reasons.size < MAX_REASONS) state.reasons.add(reason);
      else state.reasonsDropped += 1;
    }
    const path = request.path === '' ? request.url : request.path;
    const action =
      path === '' && request.method === '' && request.format === 'text'
        ? 'text log line'
        : `${request.method || '-'} ${path.length > MAX_ACTION_CHARS ? `${path.slice(0, MAX_ACTION_CHARS)}…` : path}`;
    if (state.actions.has(action) || state.actions.size < MAX_ACTIONS) {
      state.actions.set(action, (state.actions.get(action) ?? 0) + 1);
    }
    if (request.userAgent !== '' && state.userAgents.size < MAX_USER_AGENTS) state.userAgents.add(request.userAgent);
    for (const region of verdict.regions) state.regions.add(region);
    for (const key of verdict.accessKeyIds) state.accessKeyIds.add(key);
    if (state.locations.length < MAX_LOCATIONS) state.locations.push({ file: request.file, line: request.line });
    else state.locationsTruncated = true;
    if (request.requestId !== '') {
      if (state.requestIds.length < MAX_LOCATIONS) state.requestIds.push(request.requestId);
      else state.requestIdsTruncated = true;
    }
    if (request.status >= 400) state.errorCount += 1;
  }

  get size(): number {
    return this.byId.size;
  }

  /** The findings, most severe first. */
  findings(): WebFinding[] {
    const out: WebFinding[] = [];
    for (const [id, state] of this.byId) out.push(this.build(id, state));
    return out.sort(
      (a, b) =>
        severityRank(b.severity) - severityRank(a.severity) ||
        a.detector.localeCompare(b.detector) ||
        a.activity.firstSeen.localeCompare(b.activity.firstSeen) ||
        a.id.localeCompare(b.id),
    );
  }

  private sourceOwner(state: AggregateState): string {
    if (!this.ownership || state.clientIp === '') return '';
    const owners = this.ownership.ownersAt(state.clientIp, state.firstMs);
    const o = owners[0];
    if (!o) return '';
    const what = o.instanceId || o.natGatewayId || o.vpcEndpointId || o.networkInterfaceId || o.kind;
    return `${what} in ${o.accountId || 'an inventoried account'} (${o.source})`;
  }

  private build(id: string, state: AggregateState): WebFinding {
    const { detector, first } = state;
    const { severity, reasons: severityReasons } = detector.severity(state, this.ctx);
    const reasons = [...state.reasons];
    if (state.reasonsDropped > 0)
      reasons.push(`… and ${state.reasonsDropped} more distinct reasons from other requests`);
    reasons.push(...severityReasons);
    reasons.push(`client address ${state.clientIp || '(none logged)'}: ${state.source.reason}`);
    const principal = detector.principal(state);
    const backendAccount = [...state.backends.values()].find((b) => b.accountId !== '')?.accountId ?? '';
    const request = first.observation.request;
    const locations = [...state.locations]
      .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line))
      .map((l) => `${l.file}:${l.line}`);
    const accessKeyIds = [...new Set([...(principal.accessKeyIds ?? []), ...state.accessKeyIds])].sort();
    return {
      id,
      detector: detector.id,
      severity,
      confidence: state.confidence,
      title: `${detector.title}: ${first.verdict.subject} from ${state.clientIp || 'an unknown client'}`,
      accountId: backendAccount,
      principal: {
        role: principal.role ?? '',
        roleArn: principal.roleArn ?? '',
        sessionName: principal.sessionName ?? '',
        instanceId: principal.instanceId ?? '',
        accessKeyIds,
        credentialKind: principal.credentialKind ?? 'unknown',
        ec2RoleDelivery: [],
      },
      source: {
        ip: state.clientIp,
        class: state.source.class,
        vpcEndpointId: '',
        vpcEndpointAccountId: '',
        owner: this.sourceOwner(state),
      },
      activity: {
        calls: state.requests,
        actions: [...state.actions.keys()].sort(),
        firstSeen: isoOrEmpty(state.firstMs),
        lastSeen: isoOrEmpty(state.lastMs),
        userAgents: [...state.userAgents].sort(),
        regions: [...state.regions].sort(),
        errorCount: state.errorCount,
      },
      evidence: {
        eventIds: [...state.requestIds].sort(),
        eventIdsTruncated: state.requestIdsTruncated,
        reasons,
        ipRangesSyncToken: this.ctx.ipRangesSyncToken,
        vendingEventIds: [],
        locations,
        locationsTruncated: state.locationsTruncated,
      },
      request: { method: request.method, url: request.url, clientIp: request.clientIp, status: request.status },
      attack: detector.attack,
      response: { commands: detector.responseCommands(state, this.ctx) },
    };
  }
}

/** What the inventory says about the ALB/ELB target a request went to. */
export function backendFacts(request: WebRequest, ownership: OwnershipMap | undefined): BackendFacts | undefined {
  if (request.targetAddress === '') return undefined;
  const { address, port } = splitAddressPort(request.targetAddress);
  const facts: BackendFacts = {
    address,
    port,
    instanceId: '',
    accountId: '',
    region: '',
    roleName: '',
    roleArn: '',
    httpTokens: '',
    hopLimit: Number.NaN,
    source: '',
  };
  if (!ownership || address === '') return facts;
  const owner = ownership.ownersAt(address, request.timeMs).find((o) => o.instanceId !== '');
  if (!owner) return facts;
  facts.instanceId = owner.instanceId;
  facts.accountId = owner.accountId;
  facts.region = owner.region;
  facts.source = owner.source;
  const instance = ownership.instances.get(owner.instanceId);
  if (instance) {
    facts.region ||= instance.region;
    facts.accountId ||= instance.accountId;
    facts.httpTokens = instance.metadata?.httpTokens ?? '';
    facts.hopLimit = instance.metadata?.hopLimit ?? Number.NaN;
    const role = ownership.roleOfInstanceProfile(instance.instanceProfileArn);
    if (role) {
      facts.roleName = role.roleName;
      facts.roleArn = role.arn;
    } else if (instance.instanceProfileArn) {
      // Without IAM details the profile name is the best hint; console-made profiles share the role's name.
      facts.roleName = instance.instanceProfileArn.split('/').pop() ?? '';
    }
  }
  return facts;
}

/** The source of a request whose log line names no client (text logs, `-` in access logs). */
const NO_CLIENT: SourceInfo = Object.freeze({
  class: 'invalid',
  ip: '',
  awsServices: Object.freeze([]) as readonly string[],
  awsRegion: '',
  awsCidr: '',
  rangeName: '',
  reason: 'not in the log line, so the source cannot be classified',
});

/** Runs the web detectors over one request and folds the verdicts; exported for watch-style callers. */
export function observeRequest(
  request: WebRequest,
  detectors: readonly WebDetector[],
  sources: SourceClassifier,
  ownership: OwnershipMap | undefined,
  ctx: WebDetectionContext,
  aggregator: WebFindingAggregator,
): void {
  let observation: WebObservation | undefined;
  for (const detector of detectors) {
    observation ??= {
      request,
      source: request.clientIp === '' ? NO_CLIENT : sources.classify(request.clientIp),
      backend: backendFacts(request, ownership),
    };
    const verdict = detector.evaluate(observation, ctx);
    if (verdict) aggregator.add(detector, observation, verdict);
  }
}

/**
 * Reads every web log object (ALB, Classic ELB, CloudFront, AWS WAF, nginx/Apache; plain or
 * gzip; format recognised per line) and runs the web detectors on every request. Bad files
 * and lines are reported through onWarning and skipped; the good ones still produce findings.
 */
export async function scanWebLogs(
  objects: AsyncIterable<LogObject>,
  options: WebScanOptions = {},
): Promise<WebScanResult> {
  const started = performance.now();
  const config = options.config ?? emptyConfig;
  const awsRanges = options.awsRanges ?? loadAwsRanges(options.ipRangesFile);
  const sources = buildSourceClassifier({ awsRanges, allowedCidrs: config.allowedSourceCidrs });
  const suppressions = compileSuppressions(config.suppress);
  const detectors = options.detectors ?? webDetectors;
  const ownership = options.inventory;
  const ctx: WebDetectionContext = {
    hasInventory: ownership !== undefined && !ownership.isEmpty,
    ipRangesSyncToken: awsRanges.syncToken,
  };
  const aggregator = options.aggregator ?? new WebFindingAggregator(ctx, ownership);
  const clients = new WebClientIndex(ownership ? { ownership } : {});
  const formats = Object.fromEntries(WEB_LOG_FORMATS.map((f) => [f, 0])) as Record<WebLogFormat, number>;
  const stats: WebScanStats = {
    ...emptyScanStats(),
    lines: 0,
    requests: 0,
    badLines: 0,
    skippedLines: 0,
    formats,
    emptyFiles: 0,
  };
  const { warnings, warn } = warningCollector<WebLogWarning>({
    strict: options.strict,
    onWarning: options.onWarning,
    where: (w) => (w.line === undefined ? w.file : `${w.file} line ${w.line}`),
  });

  let lastProgress = 0;
  for await (const object of objects) {
    stats.files += 1;
    let fileBad = false;
    const inFile = { requests: 0, bad: 0, content: 0 };
    try {
      for await (const item of readWebLog(object, {
        onBytes: (n) => {
          stats.bytes += n;
        },
        ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}),
        ...(options.maxDecodedBytes !== undefined ? { maxDecodedBytes: options.maxDecodedBytes } : {}),
        ...(options.text ? { text: true } : {}),
      })) {
        switch (item.kind) {
          case 'request':
            stats.lines += 1;
            stats.requests += 1;
            inFile.requests += 1;
            inFile.content += 1;
            formats[item.request.format] += 1;
            observeRequest(item.request, detectors, sources, ownership, ctx, aggregator);
            clients.add(item.request);
            break;
          case 'bad':
            stats.lines += 1;
            stats.badLines += 1;
            inFile.bad += 1;
            inFile.content += 1;
            warn({ file: object.name, line: item.line, reason: item.reason });
            break;
          case 'skipped':
            stats.lines += 1;
            stats.skippedLines += 1;
            if (item.what !== 'blank') inFile.content += 1;
            break;
          case 'not-a-web-log':
            fileBad = true;
            inFile.content += 1;
            warn({
              file: object.name,
              reason: `${item.reason}; this looks like ${describeContent(item.head)}; to read it as an application or error log, use --text`,
            });
            break;
        }
        if (options.onProgress && stats.requests - lastProgress >= 20000) {
          lastProgress = stats.requests;
          options.onProgress({
            files: stats.files,
            bytes: stats.bytes,
            requests: stats.requests,
            currentFile: object.name,
          });
        }
      }
    } catch (error) {
      // One unreadable object (truncated gzip, access denied) must not end the scan.
      if (!(error instanceof OffboxError) || options.strict) throw error;
      fileBad = true;
      warn({ file: object.name, reason: error.message });
    }
    if (!fileBad && inFile.requests > 0 && inFile.bad > inFile.content - inFile.bad) {
      // Never silent: a file of mostly unreadable lines is named once, beside its line warnings.
      fileBad = true;
      warn({
        file: object.name,
        reason: `most lines are not web-log lines (${inFile.bad} of ${inFile.content} rejected)`,
      });
    }
    if (fileBad) stats.badFiles += 1;
    else if (inFile.content === 0) stats.emptyFiles = (stats.emptyFiles ?? 0) + 1;
  }

  const detected = aggregator.findings();
  const { kept, suppressed } = suppressions.apply(detected);
  stats.records = stats.lines;
  stats.events = stats.requests;
  stats.badRecords = stats.badLines;
  stats.usages = aggregator.size;
  stats.durationMs = performance.now() - started;
  return {
    findings: kept as WebFinding[],
    stats,
    warnings,
    suppressed,
    expiredSuppressions: suppressions.expired,
    ipRangesSyncToken: awsRanges.syncToken,
    clients,
  };
}
