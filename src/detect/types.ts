import type { Credential } from '../cloudtrail/credential.js';
import type { VendingIndex } from '../cloudtrail/vending.js';
import type { Usage } from '../engine/usage.js';
import type { OwnershipMap } from '../inventory/ownership.js';
import type { SourceInfo } from '../net/source-class.js';
import type { Revocation } from './revocation.js';
import type { Confidence, Finding, Severity } from './finding.js';

/**
 * Where an instance's credential was used from, judged against everything known about
 * the instance's own addresses. One judgement serves several detectors (outside-aws,
 * foreign-aws, cross-instance, foreign-vpce, role-chain, non-sdk-client), so they never
 * disagree about what "the instance's own address" is.
 */
export type SourceJudgement =
  | { kind: 'aws-service' | 'allowed' }
  | { kind: 'expected'; reasons: string[] }
  | { kind: 'undecided'; reasons: string[] }
  | {
      kind: 'outside' | 'unverifiable' | 'foreign-aws' | 'cross-instance' | 'foreign-vpce';
      confidence: Confidence;
      owner: string;
      reasons: string[];
      /** For cross-instance: the instance the address belongs to. */
      otherInstanceId?: string;
    };

/** An instance's own agents (SSM agent, instance identity role) called from an address. */
export interface OnBoxSighting {
  instanceId: string;
  accountId: string;
  firstMs: number;
  lastMs: number;
}

/** Human principals (IAM users, SSO, SAML, root) that called from an address. */
export interface HumanSighting {
  principals: string[];
  firstMs: number;
  lastMs: number;
}

/** What a detector may consult besides the usage itself. Nothing here does I/O. */
export interface DetectionContext {
  vending: VendingIndex;
  /** The ip-ranges snapshot the sources were classified against. */
  ipRangesSyncToken: string;
  /**
   * Which org resource held each address and endpoint when (inventory + CloudTrail evidence).
   * `ownership.accounts` are the accounts an inventory covers: detectors say what they could not
   * check for the others.
   */
  ownership: OwnershipMap;
  /** The org's accounts: config trustedAccounts, inventory accounts and the trail's recipient accounts. */
  trustedAccounts: ReadonlySet<string>;
  /** The accounts the user declared (config trustedAccounts) or inventoried: the firm part of trustedAccounts. */
  declaredAccounts: ReadonlySet<string>;
  /** Address (canonical) → instances whose on-box agents called from it. Never learned from other traffic. */
  onBox: ReadonlyMap<string, OnBoxSighting[]>;
  /** Address (canonical) → human principals seen calling from it. */
  humanAddresses: ReadonlyMap<string, HumanSighting>;
  /**
   * Instance id → address (canonical) → distinct keys of the instance used from it. An address
   * several of an instance's keys, vended at different times, were used from is the instance's
   * egress; a thief with one stolen key does not produce that pattern.
   */
  instanceKeysByAddress: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Access key id → instance id, for keys known to be an instance's (vending or session name). */
  instanceOfKey: ReadonlyMap<string, string>;
  /**
   * Workload subject (task id, pod session) → addresses where one of its keys was used first. The
   * workload fetches its credentials before anyone can steal them, so a key's first use is its own.
   */
  workloadFirstUse: ReadonlyMap<string, ReadonlySet<string>>;
  /** Lower-cased role ARN → EC2-vended instance usages with and without ec2RoleDelivery. */
  roleDelivery: ReadonlyMap<string, { with: number; without: number }>;
  /** AWSRevokeOlderSessions policies put on roles. */
  revocations: readonly Revocation[];
  /** Access key id → operating systems its clients report (user agents): two means two places. */
  keyOperatingSystems: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * Severity of an instance or workload credential used from an unverifiable source (a private or
   * special address without a VPC endpoint) when nothing corroborates it (config `unverifiableSourceSeverity`).
   */
  unverifiableSeverity: Severity;
}

/** One usage, seen through the classifiers: what credential, from what source. */
export interface Observation {
  usage: Usage;
  credential: Credential;
  source: SourceInfo;
  /**
   * For instance credentials, and for sessions chained from one: the instance whose expected
   * sources apply, and the judgement of this usage's source against them.
   */
  instance?: {
    instanceId: string;
    judgement: SourceJudgement;
    /** Access keys from the instance's key to this one, when the session was chained (sts:AssumeRole). */
    chain: string[];
  };
}

/** A detector's judgement on one observation. */
export interface Verdict {
  confidence: Confidence;
  /** Why it fired: the rule and the evidence, in words a responder can check. */
  reasons: string[];
  /** Who owns the source address, as far as the detector knows. */
  sourceOwner: string;
  /** The corroborating signals that raised the confidence (detect/corroboration.ts); empty when none. */
  signals?: string[];
  /**
   * Folds the verdict into a wider finding than (role, subject, source): uncorroborated unverifiable
   * sources are one finding per role and address range, not one per key.
   */
  aggregateAs?: { subject: string; sourceIp: string };
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
