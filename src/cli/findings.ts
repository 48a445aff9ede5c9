import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { isSeverity, SEVERITIES, type Severity } from '../detect/finding.js';
import { InputError, UsageError } from '../errors.js';
import { FORMATS, renderFindings, renderJsonValue, shouldUseColor } from '../report/index.js';
import {
  FINDING_SORTS,
  FINDING_STATUSES,
  isFindingStatus,
  openStore,
  type FindingFilter,
  type FindingSort,
  type FindingStatus,
  type Store,
} from '../store/store.js';
import { statusUntrusted, writeResults } from './io.js';
import { parseFormat } from './scan.js';

/** What a plain `offbox findings` lists: the findings someone still has to look at. */
export const DEFAULT_LIST_STATUSES: readonly FindingStatus[] = ['new', 'acknowledged'];

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

export interface FindingsListCliOptions {
  status?: string[];
  all?: boolean;
  detector?: string;
  minSeverity?: string;
  account?: string;
  role?: string;
  search?: string;
  sort?: string;
  limit?: string;
  offset?: string;
  format?: string;
  output?: string;
}

export interface FindingsSetStatusCliOptions {
  note?: string;
  actor?: string;
}

/** The value of --db, set on `offbox findings` and read by every subcommand. */
interface StoreOption {
  db?: string;
}

/** Opens an existing store; a store is only ever created by the commands that write findings. */
function openExistingStore(db: string | undefined): Store {
  if (db === undefined || db === '') {
    throw new UsageError(
      'offbox findings needs --db FILE',
      'name the store that offbox scan … --db FILE or offbox watch … --db FILE wrote',
    );
  }
  if (!existsSync(db)) {
    throw new InputError(`no store at ${db}`, `create one with offbox scan … --db ${db} or offbox watch … --db ${db}`);
  }
  return openStore(db);
}

function withStore<T>(db: string | undefined, use: (store: Store) => T): T {
  const store = openExistingStore(db);
  try {
    return use(store);
  } finally {
    store.close();
  }
}

/** --status values, repeatable and comma-separated. */
export function parseStatuses(values: readonly string[]): FindingStatus[] {
  const statuses = new Set<FindingStatus>();
  for (const value of values.flatMap((v) => v.split(','))) {
    const status = value.trim();
    if (status === '') continue;
    if (!isFindingStatus(status)) {
      throw new UsageError(`--status ${status} is not a status`, `use one of ${FINDING_STATUSES.join(', ')}`);
    }
    statuses.add(status);
  }
  if (statuses.size === 0) {
    throw new UsageError('--status names no status', `use one or more of ${FINDING_STATUSES.join(', ')}`);
  }
  return [...statuses];
}

function parseCount(option: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const count = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(count) || count > max) {
    throw new UsageError(`${option} ${value} is not a whole number from 0 to ${max}`);
  }
  return count;
}

function parseSort(value: string | undefined): FindingSort | undefined {
  if (value === undefined) return undefined;
  if ((FINDING_SORTS as readonly string[]).includes(value)) return value as FindingSort;
  throw new UsageError(`--sort ${value} is not known`, `use one of ${FINDING_SORTS.join(', ')}`);
}

function parseMinSeverity(value: string | undefined): Severity | undefined {
  if (value === undefined || isSeverity(value)) return value;
  throw new UsageError(`--min-severity ${value} is not a severity`, `use one of ${SEVERITIES.join(', ')}`);
}

/** Turns list options into a store filter; every value is checked here so mistakes name their option. */
export function filterFromOptions(options: FindingsListCliOptions): FindingFilter {
  const statuses = options.status ?? [];
  if (options.all === true && statuses.length > 0) {
    throw new UsageError('--all and --status contradict each other', 'give one of them');
  }
  const minSeverity = parseMinSeverity(options.minSeverity);
  const sort = parseSort(options.sort);
  return {
    ...(options.all === true ? {} : { status: statuses.length > 0 ? parseStatuses(statuses) : DEFAULT_LIST_STATUSES }),
    ...(options.detector !== undefined ? { detector: options.detector } : {}),
    ...(minSeverity !== undefined ? { minSeverity } : {}),
    ...(options.account !== undefined ? { accountId: options.account } : {}),
    ...(options.role !== undefined ? { role: options.role } : {}),
    ...(options.search !== undefined && options.search !== '' ? { search: options.search } : {}),
    sort: sort ?? 'severity',
    limit: parseCount('--limit', options.limit, DEFAULT_LIMIT, MAX_LIMIT),
    offset: parseCount('--offset', options.offset, 0, Number.MAX_SAFE_INTEGER),
  };
}

/** The filter in words, for the count line on stderr (may quote user input: print it escaped). */
function describeFilter(filter: FindingFilter): string {
  const statuses = filter.status === undefined ? 'any' : [filter.status].flat().join(', ');
  const parts = [`status ${statuses}`];
  if (filter.detector !== undefined) parts.push(`detector ${filter.detector}`);
  if (filter.minSeverity !== undefined) parts.push(`severity ${filter.minSeverity} or worse`);
  if (filter.accountId !== undefined) parts.push(`account ${filter.accountId}`);
  if (filter.role !== undefined) parts.push(`role ${filter.role}`);
  if (filter.search !== undefined) parts.push(`matching ${JSON.stringify(filter.search)}`);
  parts.push(`sorted by ${filter.sort ?? 'severity'}`);
  return parts.join('; ');
}

/** Lists stored findings as asked; the count line says when more exist than were shown. */
export function runFindingsList(db: string | undefined, options: FindingsListCliOptions): void {
  const filter = filterFromOptions(options);
  const stdoutIsTty = process.stdout.isTTY === true && options.output === undefined;
  const format = parseFormat(options.format, stdoutIsTty);
  const { total, findings } = withStore(db, (store) => store.listFindings(filter));
  const offset = filter.offset ?? 0;
  const text = renderFindings(findings, format, {
    color: format === 'table' && options.output === undefined && shouldUseColor(process.stdout, process.env),
    triage: true,
    keepOrder: true,
    meta: { store: db, filter, total },
  });
  writeResults(text, options.output);

  const from = offset > 0 && findings.length > 0 ? ` from #${offset + 1}` : '';
  const next = offset + findings.length;
  // --limit 0 asks only for the count: no next page to point at.
  const more = next < total && findings.length > 0 ? ` — ${total - next} more: --offset ${next}` : '';
  statusUntrusted(`${findings.length} of ${total} findings${from} (${describeFilter(filter)})${more}`);
}

/** Splits `ID… STATUS` and checks both before anything changes. */
function idsAndStatus(args: readonly string[]): { ids: string[]; status: FindingStatus } {
  const ids = args.slice(0, -1);
  const status = args[args.length - 1] ?? '';
  if (!isFindingStatus(status)) {
    const first = args[0] ?? '';
    const hint = isFindingStatus(first)
      ? `the status comes last: offbox findings set-status ID… ${first}`
      : `use one of ${FINDING_STATUSES.join(', ')}`;
    throw new UsageError(`${JSON.stringify(status)} is not a status`, hint);
  }
  if (ids.length === 0) {
    throw new UsageError('set-status needs finding ids before the status', 'offbox findings set-status ID… STATUS');
  }
  return { ids, status };
}

function actorFrom(options: FindingsSetStatusCliOptions): string {
  const actor = options.actor ?? process.env['USER'] ?? '';
  return actor.trim() === '' ? 'offbox' : actor;
}

/** Sets the status of every finding in `ids`, each with its audit row; none change when one is unknown. */
export function runSetStatus(
  db: string | undefined,
  ids: readonly string[],
  status: FindingStatus,
  options: FindingsSetStatusCliOptions,
): void {
  const actor = actorFrom(options);
  const note = options.note ?? '';
  withStore(db, (store) => {
    const unknown = ids.filter((id) => store.getFinding(id) === undefined);
    if (unknown.length > 0) {
      throw new UsageError(
        `no finding with id ${unknown.map((id) => JSON.stringify(id)).join(', ')}; nothing was changed`,
        `list them with offbox findings --all --db ${store.file}`,
      );
    }
    for (const id of new Set(ids)) {
      const before = store.getFinding(id)?.status ?? 'unknown';
      store.setStatus(id, status, note, actor);
      statusUntrusted(`${id}: ${before} → ${status}${note ? ` (${note})` : ''} by ${actor}`);
    }
  });
}

/** Writes one finding with its audit history as a JSON document. */
export function runShow(db: string | undefined, id: string, options: { output?: string }): void {
  const text = withStore(db, (store) => {
    const finding = store.getFinding(id);
    if (finding === undefined) {
      throw new UsageError(
        `no finding with id ${JSON.stringify(id)}`,
        `list them with offbox findings --all --db ${store.file}`,
      );
    }
    return renderJsonValue({ finding, audit: store.listAudit(id) });
  });
  writeResults(text, options.output);
}

const STATUS_SHORTCUTS: readonly { name: string; status: FindingStatus; what: string }[] = [
  { name: 'ack', status: 'acknowledged', what: 'someone is looking into it' },
  { name: 'resolve', status: 'resolved', what: 'dealt with' },
  { name: 'suppress', status: 'suppressed', what: 'not a problem; hidden from the default list' },
  { name: 'reopen', status: 'new', what: 'back on the list to look at' },
];

function addStatusChangeOptions(command: Command): Command {
  return command
    .option('--note <text>', 'why (recorded with the status and in the audit log)')
    .option('--actor <name>', 'who (default: $USER, else offbox)');
}

export function registerFindings(program: Command): void {
  const findings = program
    .command('findings')
    .description('list and triage the findings stored by scan --db or watch --db')
    .option('--db <file>', 'the findings store (SQLite) that scan --db or watch --db wrote')
    // --db belongs to this command, so subcommand help must show it too.
    .configureHelp({ showGlobalOptions: true });
  const dbOf = (command: Command): string | undefined => command.optsWithGlobals<StoreOption>().db;

  findings
    .command('list', { isDefault: true })
    .description('list stored findings, most severe first (the default subcommand)')
    .option(
      '--status <status>',
      `only findings in this status (${FINDING_STATUSES.join(', ')}); repeatable or comma-separated (default: ${DEFAULT_LIST_STATUSES.join(', ')})`,
      // No default value: commander would print it, and the real default is the one named above.
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--all', 'findings in every status')
    .option('--detector <id>', 'only this detector')
    .option('--min-severity <severity>', `only this severe or worse (${SEVERITIES.join(', ')})`)
    .option('--account <id>', 'only this AWS account')
    .option('--role <name>', 'only this role name')
    .option('--search <text>', 'case-insensitive text in id, detector, title, account, role, session, instance, source')
    .option('--sort <order>', `${FINDING_SORTS.join(', ')} (default: severity)`)
    .option('--limit <n>', `at most this many (default: ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})`)
    .option('--offset <n>', 'skip this many first (the next page)')
    .option(
      '-f, --format <format>',
      `output format: ${FORMATS.join(', ')} (default: table on a terminal, ndjson otherwise)`,
    )
    .option('-o, --output <file>', 'write results to a file instead of stdout')
    .action((options: FindingsListCliOptions, command: Command) => {
      runFindingsList(dbOf(command), options);
    });

  addStatusChangeOptions(
    findings
      .command('set-status')
      .description('change the status of one or more findings, recording who and why in the audit log')
      .usage('<id...> <status> [options]')
      .argument('<id-and-status...>', `finding ids, then the new status (${FINDING_STATUSES.join(', ')})`),
  ).action((args: string[], options: FindingsSetStatusCliOptions, command: Command) => {
    const { ids, status } = idsAndStatus(args);
    runSetStatus(dbOf(command), ids, status, options);
  });

  for (const shortcut of STATUS_SHORTCUTS) {
    addStatusChangeOptions(
      findings
        .command(shortcut.name)
        .description(`set-status … ${shortcut.status}: ${shortcut.what}`)
        .argument('<id...>', 'finding ids'),
    ).action((ids: string[], options: FindingsSetStatusCliOptions, command: Command) => {
      runSetStatus(dbOf(command), ids, shortcut.status, options);
    });
  }

  findings
    .command('show')
    .description('one finding with every field, its status and its audit history, as JSON')
    .argument('<id>', 'finding id')
    .option('-o, --output <file>', 'write it to a file instead of stdout')
    .action((id: string, options: { output?: string }, command: Command) => {
      runShow(dbOf(command), id, options);
    });
}
