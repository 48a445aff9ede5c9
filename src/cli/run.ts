import type { VendingIndex, VendingRecord } from '../cloudtrail/vending.js';
import type { Finding } from '../detect/finding.js';
import type { Revocation } from '../detect/revocation.js';
import type { SuppressedFinding } from '../engine/suppress.js';
import type { Suppression } from '../config/config.js';
import { loadInventory } from '../inventory/load.js';
import type { OwnershipMap } from '../inventory/ownership.js';
import { openStore } from '../store/store.js';
import { status, statusUntrusted } from './io.js';

/** Past this many problems in one file, the rest are counted, not listed. */
export const WARNINGS_SHOWN_PER_FILE = 10;

/** The S3 options every reading command takes, without the unset ones. */
export function s3OptionsFrom(options: { endpointUrl?: string; profile?: string; region?: string }): {
  endpointUrl?: string;
  profile?: string;
  region?: string;
} {
  return {
    ...(options.endpointUrl ? { endpointUrl: options.endpointUrl } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.region ? { region: options.region } : {}),
  };
}

/** Loads --inventory folders, reporting unreadable files and what was loaded; undefined when none given. */
export function loadInventoryWithStatus(paths: readonly string[] | undefined): OwnershipMap | undefined {
  if (!paths || paths.length === 0) return undefined;
  const loaded = loadInventory(paths);
  for (const warning of loaded.warnings) statusUntrusted(`warning: inventory ${warning.file}: ${warning.reason}`);
  const inventory = loaded.map;
  const withOptions = [...inventory.instances.values()].filter((i) => i.metadata).length;
  status(
    `inventory: ${inventory.instances.size} instances (${withOptions} with MetadataOptions), ${inventory.addressCount} addresses, ` +
      `${inventory.vpcEndpoints.size} VPC endpoints, ${inventory.roles.size} roles in ${inventory.accounts.size} accounts`,
  );
  return inventory;
}

/**
 * Prints input warnings as they come, at most WARNINGS_SHOWN_PER_FILE per file, and then how many
 * more each file had: a broken file must not bury everything else on stderr. A warning about a
 * whole file (`where` is the file itself: what it looks like, why it could not be read) is always
 * shown, whatever came before it.
 */
export function warningPrinter(progress: { done(): void }): {
  warn(file: string, where: string, reason: string): void;
  flush(what: string): void;
} {
  const perFile = new Map<string, number>();
  return {
    warn(file, where, reason) {
      if (where !== file) {
        const shown = (perFile.get(file) ?? 0) + 1;
        perFile.set(file, shown);
        if (shown > WARNINGS_SHOWN_PER_FILE) return;
      }
      progress.done();
      statusUntrusted(`warning: ${where}: ${reason}`);
    },
    flush(what) {
      for (const [file, count] of perFile) {
        if (count > WARNINGS_SHOWN_PER_FILE) {
          statusUntrusted(
            `warning: ${file}: ${count - WARNINGS_SHOWN_PER_FILE} more bad ${what} not shown (--format json lists them; --strict stops at the first)`,
          );
        }
      }
      perFile.clear();
    },
  };
}

/** Says what the config's suppress rules hid, and which rules expired: never silently. */
export function reportSuppressions(suppressed: readonly SuppressedFinding[], expired: readonly Suppression[]): void {
  for (const hidden of suppressed) {
    statusUntrusted(`suppressed: ${hidden.detector} ${hidden.id} (${hidden.title}) — ${hidden.reason}`);
  }
  for (const rule of expired) {
    statusUntrusted(
      `warning: suppress rule for ${rule.detector} expired on ${rule.expires} and no longer applies (${rule.reason})`,
    );
  }
}

/**
 * Stores a run's findings in the SQLite store, in one run record, with the incident evidence
 * (`offbox serve` tells timelines from it): the vending events of the keys the findings name, and
 * the revocations read.
 */
export function storeFindings(
  db: string,
  command: string,
  inputs: unknown,
  findings: readonly Finding[],
  counts: { events: number; warnings: number; ipRangesSyncToken: string },
  evidence: { vending?: Pick<VendingIndex, 'get'>; revocations?: readonly Revocation[] } = {},
): void {
  const store = openStore(db);
  try {
    const runId = store.beginRun(command, inputs);
    const { inserted, updated } = store.upsertFindings(findings, runId);
    const keys = new Set(findings.flatMap((f) => f.principal?.accessKeyIds ?? []));
    const vending = [...keys]
      .map((key) => evidence.vending?.get(key))
      .filter((record): record is VendingRecord => record !== undefined);
    store.putEvidence({ vending, revocations: evidence.revocations ?? [] });
    store.finishRun(runId, { ...counts, findings: findings.length });
    status(`stored findings in ${db}: ${inserted} new, ${updated} updated`);
  } finally {
    store.close();
  }
}

/** Commander accumulator for repeatable options (--inventory DIR --inventory DIR …). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
