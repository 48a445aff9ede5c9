import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VendingIndex } from '../cloudtrail/vending.js';
import { OwnershipMap, type InstanceFacts, type RoleFacts } from '../inventory/ownership.js';
import { buildExposureReport } from './backlog.js';
import { accountDefaultsCommand, migrationCommands } from './commands.js';
import { renderExposureMarkdown } from './markdown.js';
import { renderExposureTable } from './table.js';

const ACCOUNT = '111122223333';
const HOSTILE_ROLE = 'ops|`x`*y*_z_<img src=x onerror=alert(1)>\x1b]0;pwn\x07';
const HOSTILE_NAME =
  'web|01 `rm -rf /` <script>alert(1)</script> [link](http://evil) \x1b[31mred\x1b[0m\n# injected heading';
const HOSTILE_ASG = 'asg```\nrm -rf /\n```';

function hostileMap(): OwnershipMap {
  const map = new OwnershipMap();
  const role: RoleFacts = {
    roleName: HOSTILE_ROLE,
    roleId: 'AROAHOSTILE',
    arn: `arn:aws:iam::${ACCOUNT}:role/${HOSTILE_ROLE}`,
    accountId: ACCOUNT,
    instanceProfileArns: [`arn:aws:iam::${ACCOUNT}:instance-profile/p`],
    inlinePolicies: { [`pol|${HOSTILE_ROLE}`]: { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } },
    attachedPolicyArns: [],
    permissionsBoundaryArn: '',
  };
  map.roles.set(role.arn.toLowerCase(), role);
  const instance: InstanceFacts = {
    instanceId: 'i-0123456789abcdef0',
    accountId: ACCOUNT,
    region: 'eu-west-1',
    vpcId: 'vpc-1',
    state: 'running',
    launchTime: '',
    instanceProfileArn: `arn:aws:iam::${ACCOUNT}:instance-profile/p`,
    privateIps: [],
    publicIps: ['52.0.0.1'],
    metadata: { httpTokens: 'optional', hopLimit: 1, httpEndpoint: 'enabled', httpProtocolIpv6: 'disabled' },
    tags: { Name: HOSTILE_NAME, 'aws:autoscaling:groupName': HOSTILE_ASG },
    source: 'inventory x.json',
  };
  map.instances.set(instance.instanceId, instance);
  map.accounts.add(ACCOUNT);
  return map;
}

function plan() {
  const report = buildExposureReport({ usages: [], vending: new VendingIndex(), ownership: hostileMap() });
  return {
    report,
    text: renderExposureMarkdown({
      items: report.items,
      roles: report.roles,
      accounts: report.accounts,
      inputs: ['logs/|`x`'],
      inventory: ['inv'],
      version: '0.1.0',
      now: new Date('2024-05-02T00:00:00Z'),
    }),
  };
}

/** Pipes that end a table cell (not backslash-escaped). */
function cellPipes(line: string): number {
  return (line.match(/(?<!\\)\|/g) ?? []).length;
}

describe('renderExposureMarkdown', () => {
  it('is a migration plan: summaries, ranked table, commands per instance, account defaults, verification', () => {
    const { text } = plan();
    for (const heading of [
      '# IMDSv1 migration plan',
      '## Summary by account',
      '## Summary by role',
      '## Backlog (fix in this order)',
      '## Commands per instance',
      '## Account-level defaults',
      '## How to verify',
    ])
      assert.ok(text.includes(`\n${heading}\n`) || text.startsWith(`${heading}\n`), `missing ${heading}`);
    assert.ok(
      text.includes(
        'aws ec2 modify-instance-metadata-options --instance-id i-0123456789abcdef0 --http-tokens required --http-put-response-hop-limit 1 --http-endpoint enabled --region eu-west-1',
      ),
    );
    assert.ok(
      text.includes(
        'aws ec2 modify-instance-metadata-defaults --http-tokens required --http-put-response-hop-limit 1 --region eu-west-1',
      ),
    );
    assert.ok(text.includes('MetadataNoToken'));
    assert.ok(text.includes('ec2RoleDelivery'));
  });

  it('escapes hostile tag and role names: no markup, no broken tables, no terminal escapes, no fence break-out', () => {
    const { text } = plan();
    assert.ok(!text.includes('\x1b'), 'raw ESC');
    assert.ok(!text.includes('\x07'), 'raw BEL');
    assert.ok(!/<script>|<img /.test(text), 'raw HTML');
    assert.ok(!text.includes('[link](http://evil)'), 'raw link');
    assert.ok(!text.split('\n').includes('# injected heading'), 'a newline in a tag starts no heading');
    assert.ok(text.includes('web\\|01 \\`rm -rf /\\` &lt;script&gt;'), 'Name escaped for markdown');
    assert.ok(text.includes('ops\\|\\`x\\`\\*y\\*\\_z\\_&lt;img'), 'role escaped for markdown');

    const lines = text.split('\n');
    const header = lines.findIndex((l) => l.startsWith('| # | Severity |'));
    const columns = cellPipes(lines[header]!);
    for (let i = header; lines[i]!.startsWith('|'); i++) assert.equal(cellPipes(lines[i]!), columns, `row ${lines[i]}`);
    const roleHeader = lines.findIndex((l) => l.startsWith('| Account | Role |'));
    for (let i = roleHeader; lines[i]!.startsWith('|'); i++)
      assert.equal(cellPipes(lines[i]!), cellPipes(lines[roleHeader]!));

    // The ASG name carries ``` and newlines: inside the block they are visible text, and the fence is longer.
    const fenceLines = lines.filter((l) => /^`{3,}/.test(l));
    for (const fence of fenceLines) assert.ok(/^`{3,}(sh)?$/.test(fence), `fence line ${fence}`);
    const asgLine = lines.find((l) => l.includes('start-instance-refresh'));
    assert.ok(asgLine?.includes(`'asg\`\`\`\\x0arm -rf /\\x0a\`\`\`'`), asgLine);
    const open = lines.findIndex((l) => l.includes('start-instance-refresh'));
    const fence = [...lines.slice(0, open)].reverse().find((l) => /^`{3,}/.test(l))!;
    assert.ok(fence.startsWith('````'), 'a fence longer than the ``` inside');
  });

  it('says so when there is nothing to migrate', () => {
    const text = renderExposureMarkdown({ items: [], roles: [], accounts: [] });
    assert.match(text, /Nothing to migrate/);
    assert.match(text, /## How to verify/);
  });
});

describe('renderExposureTable', () => {
  it('escapes hostile values for the terminal and keeps one line per column row', () => {
    const { report } = plan();
    const text = renderExposureTable(report.items, report.accounts, { width: 120 });
    assert.ok(!text.includes('\x1b') && !text.includes('\x07'));
    assert.ok(text.includes('i-0123456789abcdef0'));
    assert.ok(text.includes('admin'));
  });
});

describe('commands', () => {
  it('omits --region when it is unknown or malformed, and says so', () => {
    const commands = migrationCommands({
      instanceId: 'i-0123456789abcdef0',
      region: 'us-east-1; reboot',
      hopLimit: 1,
      hopReason: '',
      launchTemplateId: '',
      autoScalingGroup: '',
      alreadyRequired: false,
    });
    assert.equal(commands[0], '# region unknown: add --region REGION to the commands below');
    assert.ok(!commands.join('\n').includes('reboot'));
    assert.equal(
      accountDefaultsCommand('ap-southeast-2'),
      'aws ec2 modify-instance-metadata-defaults --http-tokens required --http-put-response-hop-limit 1 --region ap-southeast-2',
    );
  });

  it('a hop-limit reason with a newline stays one comment line', () => {
    const commands = migrationCommands({
      instanceId: 'i-0123456789abcdef0',
      region: 'us-east-1',
      hopLimit: 2,
      hopReason: 'tag x\nreboot',
      launchTemplateId: '',
      autoScalingGroup: '',
      alreadyRequired: false,
    });
    assert.equal(commands[0], '# hop limit 2: tag x reboot');
  });
});
