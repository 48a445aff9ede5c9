/** The queries `offbox hunt --engine athena` runs (and `offbox sql --dialect athena` prints). */
import { UsageError } from '../errors.js';
import { huntQueries } from './aggregate.js';
import { athenaPartitionFilter, athenaTableRef } from './athena-ddl.js';
import { athena } from './dialect.js';
import { tableEventsSql } from './events.js';

/** Which table, and which part of it, a hunt reads. */
export interface AthenaTableSelection {
  database: string;
  table: string;
  /** Read events from this time on (partitions before it are never scanned). */
  since?: Date;
  until?: Date;
  /** Accounts to read (the table's `account` partition): needed when the table injects it. */
  accounts?: string[];
}

/** The events relation of the table, limited to --since/--until (partitions pruned, then exact times). */
export function athenaEventsCte(options: AthenaTableSelection): string {
  const filters: string[] = [];
  if (options.accounts && options.accounts.length > 0) {
    for (const account of options.accounts) {
      if (!/^\d{12}$/.test(account))
        throw new UsageError(`${account} is not an AWS account id`, 'account ids are 12 digits, e.g. 111122223333');
    }
    filters.push(`account IN (${options.accounts.map((a) => `'${a}'`).join(', ')})`);
  }
  if (options.since) {
    filters.push(athenaPartitionFilter(options.since, options.until));
    filters.push(`${athena.epochMs('eventtime')} >= ${options.since.getTime()}`);
  }
  if (options.until) filters.push(`${athena.epochMs('eventtime')} < ${options.until.getTime()}`);
  return tableEventsSql(
    athena,
    athenaTableRef(options.table, options.database),
    filters.length > 0 ? filters.join(' AND ') : undefined,
  );
}

/** The three queries `hunt --engine athena` runs, in order. */
export function athenaHuntQueries(options: AthenaTableSelection): ReturnType<typeof huntQueries> {
  return huntQueries(athena, athenaEventsCte(options));
}
