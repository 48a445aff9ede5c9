/**
 * The shape of web-tier detectors: plain objects like the CloudTrail ones, judging one logged
 * web request at a time (an observation) and rating the aggregate the engine folds their
 * verdicts into.
 */
import type { SourceInfo } from '../net/source-class.js';
import type { WebRequest } from '../weblogs/request.js';
import type { Confidence, Finding, Severity } from './finding.js';

/** What is known about the backend (ALB/ELB target) a request was forwarded to. */
export interface BackendFacts {
  /** Target address without port ('' when the log names none). */
  address: string;
  port: string;
  /** The instance holding the address at the request's time, from the inventory ('' when unknown). */
  instanceId: string;
  accountId: string;
  region: string;
  /** The instance's role, when the inventory holds its instance profile and IAM details. */
  roleName: string;
  roleArn: string;
  /** MetadataOptions.HttpTokens of the instance (`optional` = IMDSv1 allowed, `required`), '' when unknown. */
  httpTokens: string;
  /** MetadataOptions.HttpPutResponseHopLimit, NaN when unknown. */
  hopLimit: number;
  /** Where the facts come from (`inventory FILE`), '' when the inventory had nothing. */
  source: string;
}

/** One request, seen through the classifiers. */
export interface WebObservation {
  request: WebRequest;
  /** The client address, classified like a CloudTrail source. */
  source: SourceInfo;
  /** The backend the request reached, when the log names one. */
  backend: BackendFacts | undefined;
}

/** What a web detector may consult besides the observation. Nothing here does I/O. */
export interface WebDetectionContext {
  /** Whether an inventory was loaded: without it the backend instance stays unknown. */
  hasInventory: boolean;
  ipRangesSyncToken: string;
}

/** A web detector's judgement on one request. */
export interface WebVerdict {
  /**
   * What the finding is aggregated by besides the detector and the client address, as stable text
   * (hashed into the finding id): for imds-ssrf-attempt the target service, address, backend and host.
   */
  key: string;
  /** Words for the title: what was targeted, through which host. */
  subject: string;
  confidence: Confidence;
  /** Why it fired, for this request: the rule, the decoded target and each decoding layer. */
  reasons: string[];
  /** Facts the severity rule reads (`credential-path`, `token-put`, `credential-response` …). */
  flags: string[];
  /** Access keys seen (signed requests). */
  accessKeyIds: string[];
  /** Regions named (SigV4 credential scopes). */
  regions: string[];
}

/** Everything the engine kept of one finding's requests: counts, maxima and the first request. */
export interface WebAggregate {
  detector: WebDetector;
  key: string;
  clientIp: string;
  source: SourceInfo;
  /** Number of requests covered. */
  requests: number;
  /** The earliest request (by time, then file and line) and its verdict. */
  first: { observation: WebObservation; verdict: WebVerdict };
  /** Union of the verdicts' flags. */
  flags: ReadonlySet<string>;
  /** Backends the requests reached, by address. */
  backends: ReadonlyMap<string, BackendFacts>;
  /** Hosts the requests were sent to (as logged). */
  hosts: ReadonlySet<string>;
  /** HTTP methods used. */
  methods: ReadonlySet<string>;
  /** Response statuses and how often each was sent. */
  statuses: ReadonlyMap<number, number>;
}

/**
 * A web detector is a plain object: an id (a contract, never renamed), words for humans, a
 * judgement per request, a severity per aggregate and the commands a responder runs.
 */
export interface WebDetector {
  id: string;
  title: string;
  description: string;
  attack: Finding['attack'];
  /** Judges one request; undefined means "not this detector's business". */
  evaluate(observation: WebObservation, ctx: WebDetectionContext): WebVerdict | undefined;
  /** Severity of the aggregated finding, with the reasons for any raise. */
  severity(aggregate: WebAggregate, ctx: WebDetectionContext): { severity: Severity; reasons: string[] };
  /** Shell-quoted commands for the responder (`#` lines are hints). */
  responseCommands(aggregate: WebAggregate, ctx: WebDetectionContext): string[];
  /** What the finding's principal is known to be. */
  principal(aggregate: WebAggregate): Partial<Finding['principal']>;
}

/** A web-tier finding: the contract plus whether `evidence.locations` was cut at its cap. */
export type WebFinding = Finding & {
  evidence: Finding['evidence'] & { locations: string[]; locationsTruncated: boolean };
  request: NonNullable<Finding['request']>;
};

/** A 2xx response that carried a body: bytes > 0, or for logs that count headers, more than headers alone take. */
export function hasResponseBody(request: WebRequest): boolean {
  if (request.status < 200 || request.status > 299 || request.bytes < 0) return false;
  return request.bytesIncludeHeaders ? request.bytes > HEADER_ALLOWANCE : request.bytes > 0;
}

/**
 * Bytes a response's headers alone may take in logs that count them (ALB, ELB, CloudFront
 * sc-bytes). An IMDS credential document is about 1.3 KB, so a larger response can hold one.
 */
export const HEADER_ALLOWANCE = 512;

/** A Host value safe to quote in a `#` hint line, or '' (hosts come from logs). */
export function safeHostText(host: string): string {
  return /^[A-Za-z0-9.\-:[\]]{1,253}$/.test(host) ? host : '';
}
