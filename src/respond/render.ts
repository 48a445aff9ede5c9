/**
 * Renders a containment plan (and, after --apply, what was done) as text for a terminal, JSON for
 * scripts, or a markdown incident runbook to paste into a ticket. Names in a plan may come from logs:
 * every one is escaped for its sink, and commands are shell-quoted where they are built (plan.ts).
 */
import { escapeForTerminal, escapeMarkdown } from '../report/escape.js';
import { renderJsonValue } from '../report/json.js';
import { offboxVersion } from '../report/version.js';
import type { StepResult } from './apply.js';
import { CONTAIN_REFERENCES, type ContainmentPlan, type PlanStep } from './plan.js';
import { policyAsShown } from './policy.js';

export const CONTAIN_FORMATS = ['text', 'json', 'markdown'] as const;
export type ContainFormat = (typeof CONTAIN_FORMATS)[number];

/** What happened under --apply, for the renderers. */
export interface ContainmentRun {
  appliedBy: string;
  results: readonly StepResult[];
}

/** Options for the renderers; `version` exists for reproducible output in tests. */
export interface RenderContainOptions {
  run?: ContainmentRun;
  version?: string;
}

const t = escapeForTerminal;
const md = escapeMarkdown;

function indent(text: string, by = '    '): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? '' : by + line))
    .join('\n');
}

function cutoffWords(plan: ContainmentPlan): string {
  return plan.target.cutoffIsNow
    ? `${plan.target.issuedBefore} (now: the commands take the time they run at)`
    : plan.target.issuedBefore;
}

function applyMarker(step: PlanStep): string {
  if (step.sdkCall === undefined)
    return step.blocked && step.id !== 'verify' ? ` [not done by --apply: ${step.blocked}]` : '';
  if (step.blocked) return ` [--apply cannot: ${step.blocked}]`;
  return ` [--apply: ${step.sdkCall.service === 'iam' ? 'iam' : 'ec2'}:${step.sdkCall.operation}]`;
}

function resultLine(result: StepResult): string {
  const ids = result.calls
    .filter((c) => c.requestId)
    .map((c) => `${c.operation} ${c.requestId}`)
    .join(', ');
  return `${result.step}: ${result.outcome} — ${result.summary}${ids ? ` (request ids: ${ids})` : ''}`;
}

/** The plan as text for a terminal (every name escaped). */
export function renderContainText(plan: ContainmentPlan, options: RenderContainOptions = {}): string {
  const { target } = plan;
  const out: string[] = [];
  out.push(
    options.run
      ? `offbox contain — APPLIED by ${t(options.run.appliedBy)}`
      : 'offbox contain — DRY RUN: nothing has been changed (add --apply to perform steps 1 and 2)',
    '',
  );
  const role = `${target.roleName}${target.roleArn ? ` (${target.roleArn})` : ''}`;
  const account = target.accountId ? ` in account ${t(target.accountId)}` : '';
  if (plan.identity) {
    out.push(`Stolen:    ${t(plan.identity.sessionArn)} — the instance identity credential: it cannot be revoked`);
    out.push(
      target.roleName
        ? `Role:      ${t(role)}${account} — the instance profile's, from ${t(target.profileRoleSource)}`
        : `Role:      the instance profile's role is not known${account}`,
    );
  } else {
    out.push(`Role:      ${t(role)}${account}`);
  }
  if (target.roleName)
    out.push(`Role id:   ${target.roleId ? t(target.roleId) : 'unknown (looked up with iam:GetRole under --apply)'}`);
  out.push(
    `Instance:  ${target.instanceId ? t(target.instanceId) : 'none given'}${target.region ? ` in ${t(target.region)}` : ''}`,
  );
  if (target.roleName) {
    out.push(
      `Revoke:    ${target.scope === 'role' ? 'every session of the role' : "the instance's sessions"} issued before ${t(cutoffWords(plan))}`,
    );
  }
  if (plan.evidence) {
    const e = plan.evidence;
    out.push(
      `Finding:   ${t(e.findingId)} ${t(e.detector)} ${t(e.severity)}: ${t(e.title)}`,
      `           first seen ${t(e.firstSeen)}, last seen ${t(e.lastSeen)}${e.sourceIp ? `, from ${t(e.sourceIp)}` : ''}`,
    );
  }
  for (const related of plan.related) {
    out.push(`Related:   ${t(related.id)} ${t(related.detector)} ${t(related.severity)}: ${t(related.title)}`);
  }
  if (plan.warnings.length > 0) {
    out.push('', 'Warnings:');
    for (const warning of plan.warnings) out.push(`  - ${t(warning)}`);
  }
  if (plan.identity) {
    out.push(
      '',
      'What cannot be revoked:',
      `  ${t(plan.identity.cannotRevoke)}`,
      `  Lifetime: ${t(plan.identity.lifetime)}`,
    );
    out.push('  What AWS documents it is used for:');
    for (const use of plan.identity.usableWith) out.push(`    - ${t(use)}`);
  }
  plan.steps.forEach((step, i) => {
    out.push('', `Step ${i + 1}. ${t(step.title)}${t(applyMarker(step))}`, `  Why: ${t(step.why)}`, '  Commands:');
    for (const command of step.commands) out.push(`    ${t(command)}`);
    if (step.policyDocument) {
      const shown = policyAsShown(step.policyDocument).split('\n').map(t).join('\n');
      out.push('  Policy (as the IAM console shows it):', indent(shown));
    }
    if (step.notes.length > 0) {
      out.push(step.id === 'verify' ? '  What the results mean:' : '  Trade-offs:');
      for (const note of step.notes) out.push(`    - ${t(note)}`);
    }
    if (step.alternative) {
      out.push(`  Alternative — ${t(step.alternative.title)}`, `    ${t(step.alternative.why)}`);
      for (const command of step.alternative.commands) out.push(`      ${t(command)}`);
      for (const note of step.alternative.notes) out.push(`    - ${t(note)}`);
    }
    if (step.followUp.length > 0) {
      out.push('  Then (never done by --apply):');
      for (const command of step.followUp) out.push(`    ${t(command)}`);
    }
  });
  out.push('', 'Rollback, later:');
  for (const command of plan.rollback.commands) out.push(`    ${t(command)}`);
  for (const note of plan.rollback.notes) out.push(`  - ${t(note)}`);
  if (options.run) {
    out.push('', 'Done:');
    for (const result of options.run.results) out.push(`  ${t(resultLine(result))}`);
  }
  return `${out.join('\n')}\n`;
}

/** The plan (and what --apply did) as one JSON document. */
export function renderContainJson(plan: ContainmentPlan, options: RenderContainOptions = {}): string {
  return renderJsonValue({
    tool: 'offbox',
    version: options.version ?? offboxVersion(),
    command: 'contain',
    mode: options.run ? 'apply' : 'dry-run',
    plan,
    ...(options.run ? { appliedBy: options.run.appliedBy, results: options.run.results } : {}),
  });
}

/**
 * A fenced block that nothing inside can close: terminal escapes made visible, and a fence longer
 * than any run of backticks in the text. Markdown escaping would corrupt the commands.
 */
function codeBlock(lines: readonly string[], info = 'sh'): string {
  const body = lines.map((line) => escapeForTerminal(line)).join('\n');
  const longest = Math.max(0, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${body}\n${fence}`;
}

/** Inline code that nothing inside can close; in a table cell, `|` is escaped so it cannot end the cell. */
function code(text: string, inTable = false): string {
  const visible = escapeForTerminal(text);
  const escaped = inTable ? visible.replace(/\|/g, '\\|') : visible;
  const longest = Math.max(0, ...[...escaped.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  const pad = escaped.startsWith('`') || escaped.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${escaped}${pad}${ticks}`;
}

const cellCode = (text: string): string => code(text, true);

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function timeline(plan: ContainmentPlan, run: ContainmentRun | undefined): string[] {
  const rows: string[][] = [];
  const e = plan.evidence;
  if (e?.firstSeen) {
    rows.push([
      md(e.firstSeen),
      `First use of the stolen credential${e.sourceIp ? ` from ${md(e.sourceIp)}` : ''} (finding ${md(e.findingId)})`,
    ]);
  }
  if (e?.lastSeen && e.lastSeen !== e.firstSeen) rows.push([md(e.lastSeen), 'Last use seen']);
  const at = (step: string): string | undefined => {
    const result = run?.results.find((r) => r.step === step);
    const write = result?.calls.find(
      (c) => c.operation === 'PutRolePolicy' || c.operation === 'ModifyInstanceMetadataOptions',
    );
    if (!result) return undefined;
    return md(write?.at ?? result.calls[result.calls.length - 1]?.at ?? '');
  };
  rows.push([
    at('revoke') ?? '_(fill in)_',
    plan.target.roleName
      ? `Sessions issued before ${md(plan.target.issuedBefore)} revoked (${md(plan.target.roleName)})${resultWords(run, 'revoke')}`
      : `Instance profile role found and its older sessions revoked${resultWords(run, 'revoke')}`,
  ]);
  if (plan.target.instanceId) {
    rows.push([
      at('close-path') ?? '_(fill in)_',
      `IMDSv2 required on ${md(plan.target.instanceId)}${resultWords(run, 'close-path')}`,
    ]);
  }
  if (plan.identity) rows.push(['_(fill in)_', `${md(plan.target.instanceId)} isolated, evidence kept (snapshots)`]);
  rows.push(['_(fill in)_', 'Request forgery fixed in the application']);
  rows.push(['_(fill in)_', 'Verified: no use of the role from outside after the cutoff']);
  return [row(['When (UTC)', 'What']), row(['---', '---']), ...rows.map(row)];
}

function resultWords(run: ContainmentRun | undefined, step: string): string {
  const result = run?.results.find((r) => r.step === step);
  return result ? ` — ${md(result.outcome)}` : '';
}

function stepSection(step: PlanStep, index: number): string[] {
  const out = [`## Step ${index + 1} — ${md(step.title)}`, '', md(step.why), ''];
  if (step.sdkCall) {
    out.push(
      step.blocked
        ? `\`--apply\` cannot do this step: ${md(step.blocked)}.`
        : `\`--apply\` does this step with ${code(`${step.sdkCall.service}:${step.sdkCall.operation}`)} (after reading the current state; nothing is written when it is already as wanted).`,
      '',
    );
  } else if (step.id !== 'verify') {
    out.push(`\`--apply\` does not do this step${step.blocked ? `: ${md(step.blocked)}` : ''}.`, '');
  }
  out.push(codeBlock(step.commands), '');
  if (step.policyDocument)
    out.push(
      'The policy, as the IAM console shows it:',
      '',
      codeBlock(policyAsShown(step.policyDocument).split('\n'), 'json'),
      '',
    );
  if (step.notes.length > 0) {
    out.push(step.id === 'verify' ? '**What the results mean**' : '**Trade-offs**', '');
    for (const note of step.notes) out.push(`- ${md(note)}`);
    out.push('');
  }
  if (step.alternative) {
    const alt = step.alternative;
    out.push(`**Alternative — ${md(alt.title)}.** ${md(alt.why)}`, '', codeBlock(alt.commands), '');
    for (const note of alt.notes) out.push(`- ${md(note)}`);
    if (alt.notes.length > 0) out.push('');
  }
  if (step.followUp.length > 0) {
    out.push('**Then** (never done by `--apply`):', '', codeBlock(step.followUp), '');
  }
  return out;
}

/** The plan as a markdown incident runbook: summary, timeline, steps, verification, rollback. */
export function renderContainMarkdown(plan: ContainmentPlan, options: RenderContainOptions = {}): string {
  const { target } = plan;
  const run = options.run;
  const out: string[] = [];
  const subject = target.instanceId ? ` — instance ${code(target.instanceId)}` : '';
  out.push(
    plan.identity
      ? `# Containment runbook: instance identity credential${subject}`
      : `# Containment runbook: role ${code(target.roleName)}${subject}`,
    '',
  );
  out.push(
    run
      ? `> Applied with \`offbox contain --apply\` by ${md(run.appliedBy)}. Generated by offbox ${md(options.version ?? offboxVersion())} at ${md(plan.generatedAt)}.`
      : `> Dry run: nothing has been changed. Generated by offbox ${md(options.version ?? offboxVersion())} at ${md(plan.generatedAt)}; \`offbox contain … --apply\` performs steps 1 and 2.`,
    '',
  );
  out.push('## Summary', '', row(['', '']), row(['---', '---']));
  const summary: [string, string][] = [
    ['Account', target.accountId ? md(target.accountId) : 'unknown'],
    ...(plan.identity
      ? ([
          [
            'Stolen credential',
            `${cellCode(plan.identity.sessionArn)} — the instance identity credential: cannot be revoked`,
          ],
        ] as [string, string][])
      : []),
    [
      'Role',
      target.roleName
        ? `${cellCode(target.roleName)}${target.roleArn ? ` (${cellCode(target.roleArn)})` : ''}${plan.identity ? ` — the instance profile's, from ${md(target.profileRoleSource)}` : ''}`
        : "the instance profile's role is not known",
    ],
    ...(target.roleName
      ? ([
          ['Role id', target.roleId ? cellCode(target.roleId) : 'unknown (read with `iam:GetRole` under `--apply`)'],
        ] as [string, string][])
      : []),
    [
      'Instance',
      target.instanceId
        ? `${cellCode(target.instanceId)}${target.region ? ` in ${md(target.region)}` : ''}`
        : 'none given',
    ],
    [
      'Revoke',
      target.roleName
        ? `${target.scope === 'role' ? 'every session of the role' : "the instance's sessions"} issued before ${md(cutoffWords(plan))}`
        : 'nothing yet: find the role first (step 1)',
    ],
  ];
  if (plan.evidence) {
    const e = plan.evidence;
    summary.push(['Finding', `${cellCode(e.findingId)} ${md(e.detector)} (${md(e.severity)}): ${md(e.title)}`]);
    if (e.accessKeyIds.length > 0) summary.push(['Stolen keys', e.accessKeyIds.slice(0, 10).map(cellCode).join(', ')]);
    if (e.actions.length > 0) {
      summary.push([
        'Actions seen',
        `${e.actions.slice(0, 15).map(md).join(', ')}${e.actions.length > 15 ? ', …' : ''}`,
      ]);
    }
  }
  for (const related of plan.related) {
    summary.push([
      'Request forgery',
      `${cellCode(related.id)} ${md(related.detector)} (${md(related.severity)}): ${md(related.title)}${related.url ? ` — ${cellCode(related.url)}` : ''}`,
    ]);
  }
  out.push(...summary.map(([k, v]) => row([k, v])), '');
  if (plan.warnings.length > 0) {
    out.push('**Warnings**', '');
    for (const warning of plan.warnings) out.push(`- ${md(warning)}`);
    out.push('');
  }
  if (plan.identity) {
    out.push(
      '## What cannot be revoked',
      '',
      md(plan.identity.cannotRevoke),
      '',
      `**Lifetime.** ${md(plan.identity.lifetime)}`,
      '',
    );
    out.push('**What AWS documents it is used for**', '');
    for (const use of plan.identity.usableWith) out.push(`- ${md(use)}`);
    out.push('');
  }
  out.push('## Timeline', '', ...timeline(plan, run), '');
  plan.steps.forEach((step, i) => out.push(...stepSection(step, i)));
  if (run) {
    out.push(
      '## Actions taken',
      '',
      row(['Step', 'Outcome', 'What', 'AWS calls (request id, HTTP status)']),
      row(['---', '---', '---', '---']),
    );
    for (const result of run.results) {
      const calls = result.calls
        .map((c) =>
          `${md(c.at)} ${md(`${c.service}:${c.operation}`)} ${c.requestId ? cellCode(c.requestId) : ''} ${c.httpStatusCode ?? ''}${c.error ? ` ${md(c.error)}` : ''}`.trim(),
        )
        .join('<br>');
      out.push(row([md(result.step), md(result.outcome), md(result.summary), calls || '—']));
    }
    out.push('');
  }
  out.push('## Rollback', '', codeBlock(plan.rollback.commands), '');
  for (const note of plan.rollback.notes) out.push(`- ${md(note)}`);
  out.push('', '## References', '');
  out.push(`- Revoking a role's sessions: ${CONTAIN_REFERENCES.revokeSessions}`);
  out.push(`- Denying temporary credentials: ${CONTAIN_REFERENCES.disablePermissions}`);
  out.push(`- aws:userid of an instance's session: ${CONTAIN_REFERENCES.userIdOfInstanceSessions}`);
  out.push(`- Requiring IMDSv2 on existing instances: ${CONTAIN_REFERENCES.requireImdsv2}`);
  out.push(`- Launch templates and new instances: ${CONTAIN_REFERENCES.launchTemplates}`);
  out.push(`- Auto Scaling instance refresh: ${CONTAIN_REFERENCES.instanceRefresh}`);
  if (plan.identity) {
    out.push(`- Instance identity roles: ${CONTAIN_REFERENCES.instanceIdentityRoles}`);
    out.push(`- Instance metadata categories (identity-credentials): ${CONTAIN_REFERENCES.metadataCategories}`);
    out.push(`- Remediating a potentially compromised EC2 instance: ${CONTAIN_REFERENCES.compromisedInstance}`);
    out.push(`- Security group connection tracking: ${CONTAIN_REFERENCES.connectionTracking}`);
    out.push(`- Default Host Management Configuration: ${CONTAIN_REFERENCES.defaultHostManagement}`);
  }
  return `${out.join('\n')}\n`;
}

/** Renders in `format`. */
export function renderContain(
  plan: ContainmentPlan,
  format: ContainFormat,
  options: RenderContainOptions = {},
): string {
  if (format === 'json') return renderContainJson(plan, options);
  if (format === 'markdown') return renderContainMarkdown(plan, options);
  return renderContainText(plan, options);
}
