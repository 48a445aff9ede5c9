// offbox exposure end to end: labelled simulated organisations (with inventory) and the real Invictus run (without).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerExposure } from '../../src/cli/exposure.js';
import type { ExposureFinding } from '../../src/exposure/findings.js';
import { tierRank } from '../../src/exposure/privilege.js';
import { simulateOrganisation } from '../../src/simulate/index.js';
import type { Label } from '../../src/simulate/label-match.js';
import { CLI, FIXTURES, runCli } from './cli.test-helpers.js';

const SEEDS = [1, 2];
const work = mkdtempSync(join(tmpdir(), 'offbox-exposure-e2e-'));
after(() => rmSync(work, { recursive: true, force: true }));

const HOSTILE_NAME = 'web|01 `id` <script>alert(1)</script> **x** \x1b[31mred\x1b[0m\x1b]0;title\x07';
const HOSTILE_ROLE = 'media|`proxy`<b>_role_\x1b[2J';

/** Runs `offbox exposure` in process (the command as registered), output to a file. */
async function exposure(args: string[]): Promise<{ code: number | undefined; stderr: string }> {
  const program = new Command('offbox').exitOverride();
  registerExposure(program);
  const write = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  const before = process.exitCode;
  try {
    process.exitCode = undefined;
    await program.parseAsync(['node', 'offbox', 'exposure', ...args, '--no-progress']);
    return { code: process.exitCode as number | undefined, stderr };
  } finally {
    process.stderr.write = write;
    process.exitCode = before;
  }
}

function readNdjson(file: string): ExposureFinding[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ExposureFinding);
}

function jsonFiles(dir: string, pattern: RegExp): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...jsonFiles(path, pattern));
    else if (pattern.test(entry.name)) out.push(path);
  }
  return out;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Instances the simulated inventory shows as IMDSv2-only. */
function requiredInInventory(inventory: string): Set<string> {
  const ids = new Set<string>();
  for (const file of jsonFiles(inventory, /^ec2-describe-instances/)) {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Json;
    for (const r of doc['Reservations'] as Json[])
      for (const i of r['Instances'] as Json[])
        if (i['MetadataOptions']?.['HttpTokens'] === 'required') ids.add(String(i['InstanceId']).toLowerCase());
  }
  return ids;
}

/**
 * Spreads privilege over the listed instances' roles (the simulator gives them all SSM core, so all
 * are data access): one role gets AdministratorAccess, one loses its managed policies (narrow) and a
 * hostile name, and one instance gets a hostile Name tag.
 */
function spreadPrivilege(inventory: string, items: ExposureFinding[]): { admin: string; narrow: string } {
  const withRole = items.filter((f) => f.principal.role !== '' && f.exposure.tier !== 'unknown');
  const narrowItem = withRole.find((f) => f.exposure.internet === 'public-ip') ?? withRole[0]!;
  const adminItem =
    withRole.find((f) => f.principal.role !== narrowItem.principal.role && f.accountId === narrowItem.accountId) ??
    withRole.find((f) => f.principal.role !== narrowItem.principal.role)!;
  for (const file of jsonFiles(inventory, /^iam-get-account-authorization-details/)) {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Json;
    for (const role of doc['RoleDetailList'] as Json[]) {
      if (role['Arn'] === adminItem.principal.roleArn)
        role['AttachedManagedPolicies'] = [
          { PolicyName: 'AdministratorAccess', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
        ];
      if (role['Arn'] === narrowItem.principal.roleArn) {
        role['AttachedManagedPolicies'] = [];
        role['RolePolicyList'] = [];
        role['RoleName'] = HOSTILE_ROLE;
        role['Arn'] = String(role['Arn']).replace(/role\/.*$/, `role/${HOSTILE_ROLE}`);
      }
    }
    writeFileSync(file, JSON.stringify(doc));
  }
  for (const file of jsonFiles(inventory, /^ec2-describe-instances/)) {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Json;
    for (const r of doc['Reservations'] as Json[])
      for (const i of r['Instances'] as Json[])
        if (String(i['InstanceId']).toLowerCase() === narrowItem.principal.instanceId)
          i['Tags'] = [
            ...((i['Tags'] as Json[]) ?? []).filter((t) => t['Key'] !== 'Name'),
            { Key: 'Name', Value: HOSTILE_NAME },
          ];
    writeFileSync(file, JSON.stringify(doc));
  }
  return { admin: adminItem.principal.instanceId, narrow: narrowItem.principal.instanceId };
}

for (const seed of SEEDS) {
  describe(`offbox exposure on the simulated organisation, seed ${seed}`, () => {
    const out = join(work, `seed-${seed}`);
    const inventory = join(out, 'inventory');
    let labels: Label[] = [];
    let items: ExposureFinding[] = [];

    it('lists every labelled instance and no IMDSv2-only instance that saw only 2.0', async () => {
      await simulateOrganisation({ out, seed });
      labels = (JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8')) as Label[]).filter(
        (l) => l.detector === 'imdsv1-credential-delivery',
      );
      assert.ok(labels.length > 0, 'the simulator labels IMDSv1 exposure');
      const file = join(out, 'exposure.ndjson');
      const run = await exposure([join(out, 'cloudtrail'), '--inventory', inventory, '--format', 'ndjson', '-o', file]);
      assert.equal(run.code, 0, run.stderr);
      items = readNdjson(file);
      const listed = new Set(items.map((f) => f.principal.instanceId));
      for (const label of labels)
        assert.ok(listed.has(label.instanceId!.toLowerCase()), `label ${label.instanceId} (${label.story}) not listed`);
      const required = requiredInInventory(inventory);
      for (const f of items) {
        assert.equal(f.detector, 'imdsv1-credential-delivery');
        assert.notEqual(f.severity, 'critical');
        if (required.has(f.principal.instanceId)) {
          assert.ok(
            f.principal.ec2RoleDelivery.includes('1.0'),
            `${f.principal.instanceId} is IMDSv2-only and saw only 2.0`,
          );
          assert.equal(f.exposure.status, 'fixed-verify');
          assert.equal(f.severity, 'low');
        }
      }
      assert.deepEqual(
        items.map((f) => f.exposure.rank),
        items.map((_, i) => i + 1),
        'ndjson comes in rank order',
      );
    });

    it('ranks by role privilege: every admin-equivalent item above every narrow one', async () => {
      const { admin, narrow } = spreadPrivilege(inventory, items);
      const file = join(out, 'spread.ndjson');
      const run = await exposure([join(out, 'cloudtrail'), '--inventory', inventory, '--format', 'ndjson', '-o', file]);
      assert.equal(run.code, 0, run.stderr);
      const ranked = readNdjson(file);
      const tierOf = new Map(ranked.map((f) => [f.principal.instanceId, f.exposure.tier]));
      assert.equal(tierOf.get(admin), 'admin-equivalent');
      assert.equal(tierOf.get(narrow), 'narrow');
      const admins = ranked.filter((f) => f.exposure.tier === 'admin-equivalent').map((f) => f.exposure.rank);
      const narrows = ranked.filter((f) => f.exposure.tier === 'narrow').map((f) => f.exposure.rank);
      assert.ok(Math.max(...admins) < Math.min(...narrows), `admin ranks ${admins} vs narrow ranks ${narrows}`);
      // Within one severity the tier never goes up again.
      for (let i = 1; i < ranked.length; i++) {
        const [a, b] = [ranked[i - 1]!, ranked[i]!];
        if (a.severity === b.severity)
          assert.ok(
            tierRank(a.exposure.tier) >= tierRank(b.exposure.tier),
            `${a.principal.instanceId} before ${b.principal.instanceId}`,
          );
      }
    });

    it('markdown: the modify commands, and hostile tag and role names escaped', async () => {
      const file = join(out, 'plan.md');
      const run = await exposure([
        join(out, 'cloudtrail'),
        '--inventory',
        inventory,
        '--format',
        'markdown',
        '-o',
        file,
      ]);
      assert.equal(run.code, 0, run.stderr);
      const text = readFileSync(file, 'utf8');
      for (const label of labels) {
        const id = label.instanceId!.toLowerCase();
        assert.ok(
          text.includes(`aws ec2 modify-instance-metadata-options --instance-id ${id} --http-tokens required`) ||
            text.includes(`aws ec2 describe-instances --instance-ids ${id} `),
          `no command for ${id}`,
        );
      }
      assert.ok(
        text.includes(
          'aws ec2 modify-instance-metadata-defaults --http-tokens required --http-put-response-hop-limit 1 --region ',
        ),
      );
      assert.ok(!text.includes('\x1b') && !text.includes('\x07'), 'no raw terminal escapes');
      assert.ok(!text.includes('<script>') && !text.includes('<b>'), 'no raw HTML');
      assert.ok(text.includes('web\\|01 \\`id\\` &lt;script&gt;'), 'hostile Name escaped');
      assert.ok(text.includes('media\\|\\`proxy\\`&lt;b&gt;\\_role\\_\\\\x1b\\[2J'), 'hostile role escaped');
      const lines = text.split('\n');
      const header = lines.findIndex((l) => l.startsWith('| # | Severity |'));
      const pipes = (l: string) => (l.match(/(?<!\\)\|/g) ?? []).length;
      for (let i = header; lines[i]!.startsWith('|'); i++)
        assert.equal(pipes(lines[i]!), pipes(lines[header]!), lines[i]);
    });
  });
}

describe('offbox exposure on the Invictus Stratus run (no inventory)', () => {
  it('lists i-0dbc91f429e48eeed (a 1.0 delivery) and not i-05c30218156bcc246 (2.0 only)', async () => {
    const file = join(work, 'invictus.ndjson');
    const run = await exposure([join(FIXTURES, 'cloudtrail/invictus'), '--format', 'ndjson', '-o', file]);
    assert.equal(run.code, 0, run.stderr);
    const items = readNdjson(file);
    const ids = items.map((f) => f.principal.instanceId);
    assert.ok(ids.includes('i-0dbc91f429e48eeed'), ids.join(', '));
    assert.ok(!ids.includes('i-05c30218156bcc246'));
    const hit = items.find((f) => f.principal.instanceId === 'i-0dbc91f429e48eeed')!;
    assert.deepEqual(hit.principal.accessKeyIds, ['ASIATFQR7NSC36DZQP7P']);
    assert.equal(hit.exposure.tier, 'unknown');
    assert.ok(
      hit.response.commands.some((c) =>
        c.startsWith('aws ec2 modify-instance-metadata-options --instance-id i-0dbc91f429e48eeed'),
      ),
    );
  });

  it(
    'through the built CLI once `exposure` is registered in main.ts',
    { skip: !existsSync(CLI) || !readFileSync(CLI, 'utf8').includes('registerExposure') },
    async () => {
      const run = await runCli(['exposure', join(FIXTURES, 'cloudtrail/invictus'), '--format', 'markdown']);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(run.stdout.includes('aws ec2 modify-instance-metadata-options --instance-id i-0dbc91f429e48eeed'));
      assert.ok(!run.stdout.includes('i-05c30218156bcc246'));
    },
  );
});
