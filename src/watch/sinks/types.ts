import type { Finding } from '../../detect/finding.js';

/**
 * Where `offbox watch` sends each finding once, when it is first raised. A sink delivers a batch
 * or throws; watch keeps undelivered findings in its store and offers them again after a restart.
 */
export interface FindingSink {
  /** Names the sink in status lines and errors: `stdout`, `file alerts.ndjson`, `webhook https://…`. */
  readonly name: string;
  /** Delivers findings that are new to this sink; resolves once they are delivered, throws when it gave up. */
  deliver(findings: readonly Finding[]): Promise<void>;
  /** Flushes and releases what the sink holds (files, sockets). */
  close?(): Promise<void>;
}
