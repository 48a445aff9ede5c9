#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ExitCode, OffboxError } from '../errors.js';
import { escapeForTerminal } from '../report/escape.js';
import { offboxVersion } from '../report/version.js';
import { registerContain } from './contain.js';
import { registerDemo } from './demo.js';
import { registerExposure } from './exposure.js';
import { registerFindings } from './findings.js';
import { registerHunt } from './hunt.js';
import { registerInventory } from './inventory.js';
import { registerRanges } from './ranges.js';
import { registerScan } from './scan.js';
import { registerServe } from './serve.js';
import { registerSimulate } from './simulate.js';
import { registerSql } from './sql.js';
import { registerSsrf } from './ssrf.js';
import { registerWatch } from './watch.js';

// The AWS SDK warns on every run under Node 20 about its own future support policy; that says
// nothing about the scan and would bury offbox's status lines. Users can still opt back in.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

function buildProgram(): Command {
  const program = new Command('offbox')
    .description('Find cloud workload credentials used where they were never issued to run, and cut them off.')
    .version(offboxVersion())
    .showHelpAfterError('(run offbox --help for usage)')
    .exitOverride();
  registerDemo(program);
  registerExposure(program);
  registerScan(program);
  registerHunt(program);
  registerSql(program);
  registerSimulate(program);
  registerSsrf(program);
  registerFindings(program);
  registerContain(program);
  registerInventory(program);
  registerRanges(program);
  registerWatch(program);
  registerServe(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      process.exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.error;
      return;
    }
    if (error instanceof OffboxError) {
      const hint = error.hint ? ` — ${error.hint}` : '';
      process.stderr.write(`offbox: ${escapeForTerminal(error.message)}${escapeForTerminal(hint)}\n`);
      process.exitCode = ExitCode.error;
      return;
    }
    process.stderr.write(`offbox: unexpected error — please report it with the command you ran\n`);
    const detail = (error as Error)?.stack ?? String(error);
    process.stderr.write(`${detail.split('\n').map(escapeForTerminal).join('\n')}\n`);
    process.exitCode = ExitCode.error;
  }
}

await main(process.argv);
