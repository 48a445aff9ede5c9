// Only option handling is tested here: every case fails before a client exists, so nothing reaches AWS.
// collect.test.ts covers collection itself with mocked STS, IAM and EC2 clients.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { UsageError } from '../errors.js';
import { registerInventory } from './inventory.js';

function program(): Command {
  const root = new Command('offbox').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerInventory(root);
  for (const command of root.commands) {
    command.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    for (const sub of command.commands) sub.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  }
  return root;
}

describe('offbox inventory collect', () => {
  it('registers the collect subcommand and its options', () => {
    const inventory = program().commands.find((command) => command.name() === 'inventory');
    const collect = inventory?.commands.find((command) => command.name() === 'collect');
    assert.ok(collect);
    assert.deepEqual(
      collect.options.map((option) => option.long),
      ['--out', '--profile', '--regions', '--all-regions', '--endpoint-url'],
    );
  });

  it('requires --out', async () => {
    await assert.rejects(program().parseAsync(['inventory', 'collect'], { from: 'user' }), CommanderError);
  });

  it('rejects a malformed --regions list with a usage hint', async () => {
    await assert.rejects(
      program().parseAsync(['inventory', 'collect', '--out', '/nonexistent/x', '--regions', 'eu-west-1,EU WEST'], {
        from: 'user',
      }),
      (error: unknown) => error instanceof UsageError && /--regions eu-west-1,us-east-1/.test(error.hint ?? ''),
    );
  });

  it('rejects --regions together with --all-regions', async () => {
    await assert.rejects(
      program().parseAsync(
        ['inventory', 'collect', '--out', '/nonexistent/x', '--regions', 'eu-west-1', '--all-regions'],
        {
          from: 'user',
        },
      ),
      UsageError,
    );
  });
});
