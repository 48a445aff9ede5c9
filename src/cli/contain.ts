import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { Finding } from '../detect/finding.js';
import { InputError, UsageError } from '../errors.js';
import { escapeForTerminal } from '../report/escape.js';
import {
  applyContainmentPlan,
  checkApplicable,
  loadContainmentClients,
  type ContainmentClients,
  type StepResult,
} from '../respond/apply.js';
import { identitySessionName } from '../respond/commands.js';
import { buildContainmentPlan, type ContainInput, type ContainmentPlan } from '../respond/plan.js';
import { CONTAIN_FORMATS, renderContain, type ContainFormat } from '../respond/render.js';
import { openStore, type Store } from '../store/store.js';
import { findingsOnInstance, pathFindings } from '../store/instance-findings.js';
import { status, statusUntrusted, writeResults } from './io.js';
import { collect, loadInventoryWithStatus } from './run.js';

export interface ContainCliOptions {
  role?: string;
  roleId?: string;
  instance?: string;
  issuedBefore?: string;
  account?: string;
  region?: string;
  narrow?: boolean;
  hopLimit?: string;
  finding?: string;
  db?: string;
  inventory?: string[];
  format?: string;
  output?: string;
  apply?: boolean;
  yes?: boolean;
  actor?: string;
  profile?: string;
  instanceRole?: string;
}

/** What a run needs from outside; tests replace each. */
export interface ContainDeps {
  /** The AWS clients for --apply; called only after confirmation, never in a dry run. */
  clients?: (options: { profile?: string; region?: string }) => Promise<ContainmentClients & { destroy?(): void }>;
  /** Asks the responder; resolves true to go ahead. */
  confirm?: (question: string) => Promise<boolean>;
  /** Whether a person can answer a question (stdin and stderr are terminals). */
  interactive?: boolean;
  now?: () => Date;
}

/** Web-tier detectors whose findings name the instance a request forgery reached. */

function parseContainFormat(value: string | undefined): ContainFormat {
  if (value === undefined) return 'text';
  if ((CONTAIN_FORMATS as readonly string[]).includes(value)) return value as ContainFormat;
  throw new UsageError(`--format ${value} is not known for contain`, `use one of ${CONTAIN_FORMATS.join(', ')}`);
}

function parseHopLimit(value: string | undefined): 1 | 2 {
  if (value === undefined || value.trim() === '1') return 1;
  if (value.trim() === '2') return 2;
  throw new UsageError(
    `--hop-limit ${value} is not 1 or 2`,
    'use 1, or 2 when containers on the instance need its credentials',
  );
}

function actorOf(options: ContainCliOptions): string {
  const actor = options.actor ?? process.env['USER'] ?? '';
  return actor.trim() === '' ? 'offbox' : actor;
}

/** Fills what the options leave out from the stored finding; an option that contradicts it is a usage error. */
function fromFinding(
  options: ContainCliOptions,
  finding: Finding,
): Pick<ContainInput, 'role' | 'accountId' | 'instanceId'> {
  const pick = (option: string, given: string | undefined, stored: string): string => {
    if (given !== undefined && given !== '' && stored !== '' && given !== stored) {
      throw new UsageError(
        `${option} ${given} contradicts finding ${finding.id} (${stored})`,
        `leave ${option} out to use the finding's, or check that you have the right finding`,
      );
    }
    return given || stored;
  };
  const principal = finding.principal ?? ({} as Partial<Finding['principal']>);
  const storedName = principal.role ?? '';
  const storedArn = principal.roleArn ?? '';
  const role = options.role ?? '';
  // --role may name the role while the finding holds its ARN too: either one matches.
  if (role !== '' && (storedName !== '' || storedArn !== '') && role !== storedName && role !== storedArn) {
    pick('--role', role, storedArn || storedName);
  }
  const resolvedRole = role || storedArn || storedName;
  if (resolvedRole === '') {
    throw new UsageError(
      `finding ${finding.id} (${finding.detector}) names no role`,
      'pass --role NAME: the role of the instance the finding points at',
    );
  }
  return {
    role: resolvedRole,
    accountId: pick('--account', options.account, finding.accountId ?? ''),
    instanceId: pick('--instance', options.instance, principal.instanceId ?? ''),
  };
}

async function askOnTerminal(question: string): Promise<boolean> {
  const readline = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await readline.question(question);
    return answer.trim().toLowerCase() === 'yes';
  } finally {
    readline.close();
  }
}

/** The changes --apply is about to make, one line each, for the confirmation question. */
function pendingWrites(plan: ContainmentPlan): string[] {
  const { target } = plan;
  const lines: string[] = [];
  if (target.roleName === '') {
    lines.push(
      `nothing on IAM: the role of ${target.instanceId}'s instance profile is not known, and the identity credential cannot be revoked`,
    );
  } else {
    lines.push(
      target.scope === 'role'
        ? `iam:PutRolePolicy AWSRevokeOlderSessions on role ${target.roleName}: deny every session issued before ${target.issuedBefore} (merged with what is there)`
        : `iam:PutRolePolicy AWSRevokeOlderSessions on role ${target.roleName}: deny sessions of ${target.instanceId} issued before ${target.issuedBefore} (merged with what is there)`,
    );
  }
  if (target.instanceId) {
    lines.push(
      `ec2:ModifyInstanceMetadataOptions on ${target.instanceId}${target.region ? ` in ${target.region}` : ''}: HttpTokens=required, hop limit ${target.hopLimit}`,
    );
  }
  return lines;
}

function auditDetail(plan: ContainmentPlan, result: StepResult, profile: string | undefined): Record<string, unknown> {
  const { target } = plan;
  return {
    outcome: result.outcome,
    summary: result.summary,
    accountId: target.accountId,
    roleName: target.roleName,
    roleArn: target.roleArn,
    instanceId: target.instanceId,
    region: target.region,
    credential: target.credential,
    scope: target.scope,
    issuedBefore: target.issuedBefore,
    hopLimit: target.hopLimit,
    profile: profile ?? null,
    calls: result.calls,
    before: result.before ?? null,
    after: result.after ?? null,
  };
}

/**
 * `offbox contain`: prints the containment plan for a role (dry run), or with --apply performs its
 * revoke and IMDSv2 steps after confirmation, recording each in the store (--db) and on stderr.
 */
export async function runContain(options: ContainCliOptions, deps: ContainDeps = {}): Promise<void> {
  const now = deps.now ?? (() => new Date());
  const format = parseContainFormat(options.format);
  const hopLimit = parseHopLimit(options.hopLimit);
  if (options.finding !== undefined && (options.db === undefined || options.db === '')) {
    throw new UsageError(
      '--finding needs --db FILE',
      'name the store that offbox scan … --db FILE or offbox watch wrote',
    );
  }
  if (options.role === undefined && options.finding === undefined) {
    throw new UsageError(
      'offbox contain needs --role or --finding',
      'pass --role NAME (or ARN), or --finding ID --db FILE',
    );
  }
  if (options.yes === true && options.apply !== true) {
    throw new UsageError(
      '--yes only confirms --apply',
      'add --apply to make the changes, or leave --yes out for a dry run',
    );
  }
  const dbExists = options.db !== undefined && options.db !== '' && existsSync(options.db);
  if (options.finding !== undefined && !dbExists) {
    throw new InputError(`no store at ${options.db}`, 'name the store that offbox scan … --db FILE wrote');
  }
  // A dry run never creates a store; --apply does, to record what it did.
  const store: Store | undefined =
    dbExists || (options.apply === true && options.db) ? openStore(options.db!) : undefined;
  let clients: (ContainmentClients & { destroy?(): void }) | undefined;
  try {
    let finding: Finding | undefined;
    if (options.finding !== undefined) {
      finding = store!.getFinding(options.finding);
      if (finding === undefined) {
        throw new UsageError(
          `no finding with id ${JSON.stringify(options.finding)} in ${options.db}`,
          `list them with offbox findings --all --db ${options.db}`,
        );
      }
    }
    const fromStored = finding ? fromFinding(options, finding) : undefined;
    // A session ARN …/aws:ec2-instance/i-… names the instance too.
    const instanceId = fromStored?.instanceId ?? options.instance ?? identitySessionName(options.role ?? '');
    const inventory = loadInventoryWithStatus(options.inventory);
    const onInstance = store ? findingsOnInstance(store, instanceId) : [];
    const input = (at: Date): ContainInput => ({
      role: fromStored?.role ?? options.role ?? '',
      ...(options.roleId !== undefined ? { roleId: options.roleId } : {}),
      accountId: fromStored?.accountId ?? options.account ?? '',
      instanceId,
      ...(options.region !== undefined ? { region: options.region } : {}),
      ...(options.issuedBefore !== undefined ? { issuedBefore: options.issuedBefore } : {}),
      narrow: options.narrow === true,
      hopLimit,
      now: at,
      ...(inventory ? { inventory } : {}),
      ...(finding ? { finding } : {}),
      relatedFindings: store ? pathFindings(store, instanceId) : [],
      ...(options.db ? { db: options.db } : {}),
      ...(options.instanceRole !== undefined ? { instanceRole: options.instanceRole } : {}),
      ...(store ? { instanceFindings: onInstance } : {}),
    });
    let plan = buildContainmentPlan(input(now()));
    for (const warning of plan.warnings) statusUntrusted(`warning: ${warning}`);

    if (options.apply !== true) {
      writeResults(renderContain(plan, format), options.output);
      status('dry run: nothing was changed and no AWS call was made — add --apply to perform steps 1 and 2');
      return;
    }

    checkApplicable(plan);
    if (options.yes !== true) {
      const interactive = deps.interactive ?? (process.stdin.isTTY === true && process.stderr.isTTY === true);
      if (!interactive) {
        throw new UsageError(
          '--apply changes AWS and needs a confirmation, but there is no terminal to ask on',
          'run it on a terminal, or pass --yes after reading the dry run (offbox contain … without --apply)',
        );
      }
      const question =
        `offbox: about to change AWS (offbox contain without --apply shows the whole plan):\n${pendingWrites(plan)
          .map((line) => `  - ${escapeForTerminal(line)}`)
          .join('\n')}\n` + 'Type yes to go ahead: ';
      const confirmed = await (deps.confirm ?? askOnTerminal)(question);
      if (!confirmed) {
        status('not confirmed: nothing was changed');
        return;
      }
    }
    // "Now" is when the responder said yes: sessions issued while they read the plan are revoked too.
    if (plan.target.cutoffIsNow) plan = buildContainmentPlan(input(now()));

    const actor = actorOf(options);
    clients = await (deps.clients ?? loadContainmentClients)({
      ...(options.profile !== undefined ? { profile: options.profile } : {}),
      ...(options.region !== undefined ? { region: options.region } : {}),
    });
    const results: StepResult[] = [];
    const record = (result: StepResult): void => {
      results.push(result);
      const ids = result.calls.map((c) => `${c.operation}${c.requestId ? ` ${c.requestId}` : ''}`).join(', ');
      statusUntrusted(`${result.step}: ${result.outcome} — ${result.summary}${ids ? ` [${ids}]` : ''}`);
      store?.addAudit({
        actor,
        action: `contain:${result.step}`,
        ...(finding ? { findingId: finding.id } : {}),
        detail: auditDetail(plan, result, options.profile),
      });
    };
    try {
      await applyContainmentPlan(plan, clients, {
        onStep: record,
        now,
        ...(options.profile !== undefined ? { profile: options.profile } : {}),
      });
    } finally {
      // Also after a failure: the record of what was done is the most useful output then.
      if (results.length > 0)
        writeResults(renderContain(plan, format, { run: { appliedBy: actor, results } }), options.output);
    }
    if (store) {
      status(`recorded in ${store.file}: ${results.length} audit entries`);
    } else {
      status('not recorded in a store (no --db): keep the lines above, or pass --db FILE next time');
    }
    if (plan.target.cutoffIsNow) {
      status(`to repeat exactly this revoke later, pass --issued-before ${plan.target.issuedBefore}`);
    }
  } finally {
    clients?.destroy?.();
    store?.close();
  }
}

export function registerContain(program: Command): void {
  program
    .command('contain')
    .description(
      'cut a stolen role credential off: revoke its sessions, require IMDSv2, verify (dry run: prints the plan; --apply performs it)',
    )
    .option(
      '--role <name>',
      'the role whose credential was stolen (name or ARN; aws:ec2-instance for the instance identity credential)',
    )
    .option('--instance <id>', 'the instance it was stolen from (the stolen session is named after it)')
    .option('--issued-before <time>', 'revoke sessions issued before this ISO 8601 time (default: now)')
    .option('--account <id>', 'the account of the role (checked under --apply)')
    .option('--region <region>', 'region of the instance (default: inventory, the finding, or the profile)')
    .option('--role-id <id>', "the role's unique id (AROA…) for --narrow; --apply reads it otherwise")
    .option(
      '--instance-role <name>',
      "with --role aws:ec2-instance: the role of the instance's instance profile, whose older sessions are revoked (default: inventory, stored findings)",
    )
    .option('--narrow', "deny only the instance's sessions (aws:userId = ROLEID:INSTANCE) instead of every session")
    .option('--hop-limit <n>', 'IMDS hop limit to set: 1, or 2 when containers need the instance role', '1')
    .option('--finding <id>', 'take role, instance, account and region from this stored finding (needs --db)')
    .option('--db <file>', 'the findings store: --finding reads it, --apply records what it did in its audit log')
    .option(
      '-i, --inventory <dir>',
      'AWS CLI JSON outputs (describe-instances, get-account-authorization-details); repeatable',
      collect,
      [],
    )
    .option('-f, --format <format>', `${CONTAIN_FORMATS.join(', ')} (markdown: an incident runbook)`, 'text')
    .option('-o, --output <file>', 'write the plan to a file instead of stdout')
    .option('--apply', 'perform steps 1 and 2 with the AWS SDK (asks first on a terminal)')
    .option('--yes', 'with --apply: do not ask (for scripts; read the dry run first)')
    .option('--actor <name>', 'who is applying, for the audit log (default: $USER, else offbox)')
    .option('--profile <name>', 'AWS profile for --apply (standard credential chain otherwise)')
    .action(async (options: ContainCliOptions) => {
      await runContain(options);
    });
}
