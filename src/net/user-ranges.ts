import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The official location of AWS's published ranges. */
export const AWS_IP_RANGES_URL = 'https://ip-ranges.amazonaws.com/ip-ranges.json';

/**
 * Where `offbox ranges update` keeps its copy: $OFFBOX_HOME, else $XDG_CONFIG_HOME/offbox,
 * else ~/.config/offbox.
 */
export function userRangesFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['OFFBOX_HOME'] || join(env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'offbox');
  return join(base, 'ip-ranges.json');
}

/**
 * The ranges file a run uses: the one named with --ip-ranges, else the copy written by
 * `offbox ranges update`, else undefined (the vendored snapshot).
 */
export function resolveRangesFile(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (explicit) return explicit;
  const user = userRangesFile(env);
  return existsSync(user) ? user : undefined;
}
