import type { Finding } from '../detect/finding.js';
import type { Store } from './store.js';

/** Web detectors whose findings show how an instance's credentials could have been taken. */
const PATH_DETECTORS = ['imds-ssrf-attempt', 'signed-aws-url-in-request'] as const;

function onInstance(findings: readonly Finding[], instanceId: string): Finding[] {
  const lower = instanceId.toLowerCase();
  return findings.filter((f) => (f.principal?.instanceId ?? '').toLowerCase() === lower);
}

/** Stored web findings that reached the instance: the likely path of a theft (`contain` and the dashboard's plan). */
export function pathFindings(store: Store, instanceId: string): Finding[] {
  if (instanceId === '') return [];
  return onInstance(
    PATH_DETECTORS.flatMap(
      (detector) => store.listFindings({ detector, search: instanceId, limit: 50, sort: 'severity' }).findings,
    ),
    instanceId,
  );
}

/**
 * Every stored finding on the instance. For the identity credential, those on the instance-profile
 * credential name the profile's role, which the containment plan revokes.
 */
export function findingsOnInstance(store: Store, instanceId: string): Finding[] {
  if (instanceId === '') return [];
  return onInstance(store.listFindings({ search: instanceId, limit: 200, sort: 'lastSeen' }).findings, instanceId);
}
