/**
 * Never silent, for a whole run: "no findings" must mean that events were read and judged, not that
 * nothing offbox could read was there. Per file, the readers already warn about a file that holds
 * nothing readable (read-object.ts, web-scan.ts); this decides when a run as a whole failed.
 */
import { InputError } from '../errors.js';
import { EXPECTED_CLOUDTRAIL, EXPECTED_WEB_LOGS } from './input-shape.js';
import type { ScanStats, UnreadFile } from './scan.js';

/** Why a run's input cannot stand for what was asked of it. */
export interface UnreadInput {
  error: InputError;
  /**
   * True when nothing at all was read: there is nothing to report, so the error comes first. When
   * false, some events were read (reported first) but every file with content was bad.
   */
  nothingRead: boolean;
}

function describeUnread(unread: readonly UnreadFile[]): string[] {
  return unread.map((u) => {
    const name = u.file === '-' ? 'stdin' : u.file;
    if (u.unreadable) return u.shape;
    return u.shape === 'an empty file' ? `${name} is empty` : `${name} looks like ${u.shape}`;
  });
}

/** Some file had content, and every such file was unreadable or mostly not of the kind asked for. */
function everyFileWithContentBad(stats: { files: number; badFiles: number; emptyFiles?: number }): boolean {
  const withContent = stats.files - (stats.emptyFiles ?? 0);
  return withContent > 0 && stats.badFiles >= withContent;
}

/**
 * The run-level rule for CloudTrail input (`scan`, `exposure`, `hunt`): a run that read files but no
 * event is an input error; so is one where every file that had content was unreadable or mostly not
 * CloudTrail. One bad file among good ones is not: it was reported as a warning.
 */
export function unreadCloudTrail(read: { stats: ScanStats; unread?: readonly UnreadFile[] }): UnreadInput | undefined {
  const { stats } = read;
  const unread = read.unread ?? [];
  const hint = `offbox reads ${EXPECTED_CLOUDTRAIL}`;
  if (stats.events === 0) {
    if (stats.files === 0) return { nothingRead: true, error: new InputError('no input files to read', hint) };
    const named = describeUnread(unread);
    const more = stats.files > named.length ? `; and ${stats.files - named.length} more` : '';
    const message =
      stats.files === 1 && unread.length === 1
        ? `no CloudTrail events read: ${named[0]}`
        : `no CloudTrail events in any of the ${stats.files} files read: ${named.join('; ')}${more}`;
    return { nothingRead: true, error: new InputError(message, hint) };
  }
  if (everyFileWithContentBad(stats)) {
    return {
      nothingRead: false,
      error: new InputError(
        `no file was read cleanly: ${stats.badFiles === 1 ? 'the one file' : `all ${stats.badFiles} files`} with content ` +
          `${stats.badFiles === 1 ? 'was' : 'were'} unreadable or mostly not CloudTrail events (warnings above); ` +
          `the findings come from only ${stats.events} events`,
        `check the input: ${hint}`,
      ),
    };
  }
  return undefined;
}

/**
 * The same rule for web logs (`ssrf`, `scan --web-logs`): files read but no request, or every file
 * with content not a web log.
 */
export function unreadWebLogs(stats: {
  files: number;
  requests: number;
  badFiles: number;
  emptyFiles?: number;
}): UnreadInput | undefined {
  const hint = `offbox ssrf reads ${EXPECTED_WEB_LOGS}`;
  if (stats.requests === 0) {
    if (stats.files === 0) return { nothingRead: true, error: new InputError('no web log files to read', hint) };
    if (stats.badFiles === 0) {
      // Nothing was there to misread, but nothing was checked either.
      const empty = (stats.emptyFiles ?? 0) >= stats.files;
      return {
        nothingRead: true,
        error: new InputError(
          empty
            ? `no web requests read: ${stats.files === 1 ? 'the file is' : `all ${stats.files} files are`} empty`
            : 'no web requests read: the files hold only lines offbox skips (NLB or ALB connection logs, comments, headers)',
          hint,
        ),
      };
    }
    return {
      nothingRead: true,
      error: new InputError(
        `no web requests read: ${stats.files === 1 ? 'the file is not a web log' : `${stats.badFiles} of the ${stats.files} files are not web logs`} (warnings above)`,
        hint,
      ),
    };
  }
  if (everyFileWithContentBad(stats)) {
    return {
      nothingRead: false,
      error: new InputError(
        `no web log was read cleanly: every file with content was unreadable or not a web log (warnings above); ` +
          `the findings come from only ${stats.requests} requests`,
        `check the input: ${hint}`,
      ),
    };
  }
  return undefined;
}
