import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The `version` from offbox's package.json, or `0.0.0` when it cannot be read. */
export function offboxVersion(): string {
  if (cached !== undefined) return cached;
  try {
    // Both src/report/ and dist/report/ sit two levels below the package root.
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const version = (pkg as { version?: unknown }).version;
    cached = typeof version === 'string' ? version : '0.0.0';
  } catch {
    cached = '0.0.0';
  }
  return cached;
}
