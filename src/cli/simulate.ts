import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { simulateOrganisation } from '../simulate/index.js';
import { progressLine, status } from './io.js';

export interface SimulateCliOptions {
  out: string;
  seed: string;
  accounts?: string;
  instances?: string;
  hours?: string;
  events?: string;
  start?: string;
  exportShapes?: boolean;
  progress: boolean;
}

function positiveInteger(name: string, value: string | undefined, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min) {
    throw new UsageError(`${name} ${value} is not a whole number ≥ ${min}`, `pass e.g. ${name} ${Math.max(min, 3)}`);
  }
  return number;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('write a realistic, labelled AWS organisation: CloudTrail, ALB logs, inventory, labels.json')
    .requiredOption('--out <dir>', 'folder to write into (created if missing)')
    .option('--seed <n>', 'seed: the same seed writes the same organisation byte for byte', '1')
    .option('--accounts <n>', 'number of AWS accounts (at least 2)')
    .option('--instances <n>', 'steady-state EC2 instances across the accounts')
    .option('--hours <n>', 'length of the simulated window')
    .option('--events <n>', 'target number of CloudTrail events (background traffic is scaled to it)')
    .option('--start <iso>', 'start of the window (default 2026-03-02T00:00:00Z)')
    .option(
      '--export-shapes',
      "write the second account's trail as EventBridge events archived by Firehose and the third's as a CloudWatch Logs export",
    )
    .option('--no-progress', 'no progress line on stderr')
    .action(async (options: SimulateCliOptions) => {
      const progress = progressLine(options.progress);
      const accounts = positiveInteger('--accounts', options.accounts, 2);
      const instances = positiveInteger('--instances', options.instances);
      const hours = positiveInteger('--hours', options.hours);
      const events = positiveInteger('--events', options.events);
      const seed = positiveInteger('--seed', options.seed, 0)!;
      if (options.start !== undefined && Number.isNaN(Date.parse(options.start))) {
        throw new UsageError(`--start ${options.start} is not a time`, 'use an ISO time such as 2026-03-02T00:00:00Z');
      }
      const summary = await simulateOrganisation({
        out: options.out,
        seed,
        ...(accounts !== undefined ? { accounts } : {}),
        ...(instances !== undefined ? { instances } : {}),
        ...(hours !== undefined ? { hours } : {}),
        ...(events !== undefined ? { events } : {}),
        ...(options.start !== undefined ? { start: options.start } : {}),
        ...(options.exportShapes ? { exportShapes: true } : {}),
        onProgress: (p) => progress.update(`offbox: simulating — ${p.events} events in ${p.files} files`),
      });
      progress.done();
      status(
        `wrote ${summary.events} CloudTrail events in ${summary.files} files, ${summary.webLines} ALB lines, ` +
          `${summary.labels} labels (${summary.stories.length} attack stories) for accounts ${summary.accounts.join(', ')} to ${summary.out}`,
      );
      status(`scan it: offbox scan ${summary.out}/cloudtrail --config ${summary.out}/offbox.yaml`);
    });
}
