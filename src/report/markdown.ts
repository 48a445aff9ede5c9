import { SEVERITIES, severityRank, type Finding } from '../detect/finding.js';
import type { Incident } from '../engine/incidents.js';
import { escapeMarkdown, isUnsafeCodePoint } from './escape.js';
import { triageOf } from './triage.js';
import { offboxVersion } from './version.js';

/** Options for {@link renderMarkdown}. */
export interface MarkdownOptions {
  /** Incidents from buildIncidents; without them every finding is a section of its own. */
  incidents?: readonly Incident[];
  /**
   * What the scan read, as `offbox scan` passes it: `inputs` and `webInputs` (paths; `command: 'ssrf'`
   * makes `inputs` web logs), `ipRangesSyncToken`, `warningCount`, `suppressed` (a list). Other keys are ignored.
   */
  meta?: Record<string, unknown>;
  /** Fixed version / time, for reproducible output. */
  version?: string;
  now?: Date;
  /** Show each finding's stored status, update time and note (findings read from the store). */
  triage?: boolean;
}

/** Event ids or locations listed per finding before "N more". */
const MAX_EVIDENCE = 20;
const MAX_ACTIONS = 15;
const MAX_URL_CHARS = 300;

/**
 * Inline markdown text: escapeMarkdown, plus `#` (ATX headings and their closing sequence) and a
 * leading list marker or thematic break, since values also start bullet items and paragraphs.
 */
function md(s: string): string {
  return escapeMarkdown(s)
    .replace(/#/g, '\\#')
    .replace(/^([+-])(?=[\s-]|$)/, '\\$1')
    .replace(/^(\d{1,9})([.)])(?=\s|$)/, '$1\\$2');
}

/** Removes what must never reach a terminal through a paste: controls, bidi and invisible characters, lone surrogates. */
function stripUnsafe(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if ((cp >= 0xd800 && cp <= 0xdfff) || isUnsafeCodePoint(cp)) continue;
    out += ch;
  }
  return out;
}

/**
 * A fenced block nothing inside can close: the fence is longer than any run of backticks in the
 * body. Markdown escaping would corrupt the commands, so they are only stripped of unsafe characters.
 */
function codeBlock(lines: readonly string[], info: string): string {
  const body = lines.map(stripUnsafe).join('\n');
  const longest = Math.max(0, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${body}\n${fence}`;
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => (c === '' ? ' ' : c)).join(' | ')} |`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function truncate(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length > max ? `${chars.slice(0, max).join('')}…` : s;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function severityCounts(findings: readonly { severity: Finding['severity'] }[]): string {
  return SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
}

function timeRange(findings: readonly Finding[]): string {
  const times = findings
    .flatMap((f) => [f.activity.firstSeen, f.activity.lastSeen])
    .map((t) => ({ t, ms: Date.parse(t) }))
    .filter((x) => !Number.isNaN(x.ms))
    .sort((a, b) => a.ms - b.ms);
  const first = times[0];
  const last = times[times.length - 1];
  if (!first || !last) return 'unknown';
  return `${md(new Date(first.ms).toISOString())} – ${md(new Date(last.ms).toISOString())}`;
}

function scopeSection(
  findings: readonly Finding[],
  incidents: readonly Incident[] | undefined,
  meta: Record<string, unknown>,
): string[] {
  // `offbox ssrf` reads only web logs and records them as its inputs.
  const webOnly = meta['command'] === 'ssrf';
  const inputs = webOnly ? [] : strings(meta['inputs']);
  const webInputs = webOnly ? strings(meta['inputs']) : strings(meta['webInputs']);
  const syncToken = typeof meta['ipRangesSyncToken'] === 'string' ? meta['ipRangesSyncToken'] : '';
  const warningCount = typeof meta['warningCount'] === 'number' ? meta['warningCount'] : 0;
  const suppressed = Array.isArray(meta['suppressed']) ? meta['suppressed'].length : 0;
  const counts = severityCounts(findings);
  const out = ['## Scope', ''];
  if (!webOnly) out.push(`- **CloudTrail:** ${inputs.length > 0 ? inputs.map(md).join(', ') : 'not recorded'}`);
  if (webInputs.length > 0) out.push(`- **Web logs:** ${webInputs.map(md).join(', ')}`);
  out.push(`- **Time range of the activity:** ${timeRange(findings)}`);
  out.push(`- **AWS ip-ranges syncToken:** ${syncToken ? md(syncToken) : 'unknown'}`);
  out.push(`- **Findings:** ${findings.length}${counts ? ` (${counts})` : ''}`);
  if (incidents)
    out.push(`- **Incidents:** ${incidents.length}${incidents.length > 0 ? ` (${severityCounts(incidents)})` : ''}`);
  if (warningCount > 0)
    out.push(
      `- **Skipped input:** ${plural(warningCount, 'bad file, record or line', 'bad files, records or lines')} (\`--format json\` lists them)`,
    );
  if (suppressed > 0) out.push(`- **Suppressed by config:** ${suppressed}`);
  out.push('');
  return out;
}

function listed(values: readonly string[], max: number): string {
  if (values.length === 0) return 'none';
  const shown = values.slice(0, max).map(md).join(', ');
  return values.length > max ? `${shown} and ${values.length - max} more` : shown;
}

function principalText(f: Finding): string {
  const p = f.principal;
  const parts: string[] = [];
  if (p.role) parts.push(`role ${md(p.role)}`);
  if (p.instanceId) parts.push(`instance ${md(p.instanceId)}`);
  if (p.sessionName && p.sessionName !== p.instanceId) parts.push(`session ${md(p.sessionName)}`);
  if (p.accessKeyIds.length > 0)
    parts.push(`${p.accessKeyIds.length === 1 ? 'key' : 'keys'} ${listed(p.accessKeyIds, 10)}`);
  if (p.credentialKind && p.credentialKind !== 'unknown') parts.push(md(p.credentialKind));
  if (p.ec2RoleDelivery.length > 0) parts.push(`ec2RoleDelivery ${p.ec2RoleDelivery.map(md).join(', ')}`);
  return parts.length > 0 ? parts.join(', ') : 'unknown';
}

function sourceText(f: Finding): string {
  const s = f.source;
  let text = `${md(s.ip || 'unknown')} (${md(s.class)})`;
  if (s.vpcEndpointId) {
    text += ` through ${md(s.vpcEndpointId)}${s.vpcEndpointAccountId ? ` of account ${md(s.vpcEndpointAccountId)}` : ''}`;
  }
  if (s.owner) text += `, ${md(s.owner)}`;
  return text;
}

function evidenceLines(f: Finding): string[] {
  const out: string[] = [];
  const locations = f.evidence.locations ?? [];
  if (locations.length > 0) {
    const more = f.evidence.locationsTruncated ? ' (more requests matched than were kept)' : '';
    out.push(`- **Locations:** ${listed(locations, MAX_EVIDENCE)}${more}`);
  } else if (f.evidence.eventIds.length > 0) {
    const more = f.evidence.eventIdsTruncated ? ' (more events matched than were kept)' : '';
    out.push(`- **Event ids:** ${listed(f.evidence.eventIds, MAX_EVIDENCE)}${more}`);
  }
  if (f.evidence.vendingEventIds.length > 0) {
    out.push(`- **Vending events:** ${listed(f.evidence.vendingEventIds, MAX_EVIDENCE)}`);
  }
  return out;
}

function findingSection(f: Finding, heading: string, withTitle: boolean, triage: boolean): string[] {
  const a = f.activity;
  const out = [`${heading} ${md(f.detector)} — ${md(f.severity)}`, ''];
  if (withTitle) out.push(md(f.title), '');
  out.push(`- **Severity / confidence:** ${md(f.severity)} / ${md(f.confidence)}`);
  if (triage) {
    const t = triageOf(f);
    const updated = t.updatedAt ? ` (updated ${md(t.updatedAt)})` : '';
    out.push(`- **Status:** ${md(t.status || 'unknown')}${updated}${t.statusNote ? ` — ${md(t.statusNote)}` : ''}`);
  }
  if (f.accountId) out.push(`- **Account:** ${md(f.accountId)}`);
  out.push(`- **Principal:** ${principalText(f)}`);
  out.push(`- **Source:** ${sourceText(f)}`);
  out.push(
    `- **Activity:** ${plural(a.calls, f.request ? 'request' : 'call')}, ${plural(a.actions.length, 'distinct action')}, ` +
      `${plural(a.errorCount, 'error')}; first seen ${md(a.firstSeen || 'unknown')}, last seen ${md(a.lastSeen || 'unknown')}`,
  );
  if (a.actions.length > 0) out.push(`- **Actions:** ${listed(a.actions, MAX_ACTIONS)}`);
  if (a.userAgents.length > 0) out.push(`- **User agents:** ${listed(a.userAgents, 5)}`);
  if (a.regions.length > 0) out.push(`- **Regions:** ${listed(a.regions, 10)}`);
  if (f.request) {
    const r = f.request;
    out.push(
      `- **First request:** ${md(r.method || '-')} ${md(truncate(r.url, MAX_URL_CHARS))} from ${md(r.clientIp || 'unknown')}, answered ${r.status}`,
    );
  }
  if (f.evidence.reasons.length > 0) {
    out.push('- **Reasons:**');
    for (const reason of f.evidence.reasons) out.push(`  - ${md(reason)}`);
  }
  out.push(...evidenceLines(f));
  out.push(`- **ATT&CK:** ${md(f.attack.technique)}${f.attack.tactic ? ` (${md(f.attack.tactic)})` : ''}`);
  out.push(`- **Finding id:** ${md(f.id)}`);
  out.push('');
  return out;
}

function responseSection(findings: readonly Finding[], heading: string): string[] {
  const commands: string[] = [];
  const seen = new Set<string>();
  const ordered = [...findings].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  for (const f of ordered) {
    for (const command of f.response.commands) {
      if (seen.has(command)) continue;
      seen.add(command);
      commands.push(command);
    }
  }
  if (commands.length === 0) return [];
  return [
    heading,
    '',
    'Revoke first, then close the path the credentials were stolen through.',
    '',
    codeBlock(commands, 'sh'),
    '',
  ];
}

function incidentSection(incident: Incident, index: number, members: readonly Finding[], triage: boolean): string[] {
  const out = [`## Incident ${index}: ${md(incident.title)}`, ''];
  const times = incident.timeline.map((e) => e.time).filter((t) => t !== '');
  const facts = [
    `**${md(incident.severity)}**`,
    incident.accountId ? `account ${md(incident.accountId)}` : '',
    incident.instanceId ? `instance ${md(incident.instanceId)}` : '',
    incident.role ? `role ${md(incident.role)}` : '',
    plural(members.length, 'finding'),
    times.length > 0 ? `${md(times[0]!)} → ${md(times[times.length - 1]!)}` : '',
    `incident id ${md(incident.id)}`,
  ].filter((x) => x !== '');
  out.push(facts.join(' · '), '');
  out.push(md(incident.story), '');
  if (incident.links.length > 0) {
    out.push('### Links', '');
    for (const link of incident.links) out.push(`- **${md(link.strength)}** (${md(link.kind)}): ${md(link.reason)}`);
    out.push('');
  }
  out.push('### Timeline', '');
  out.push(
    table(
      ['Time (UTC)', 'Step', 'What'],
      incident.timeline.map((e) => [
        md(e.time || 'unknown'),
        md(e.step),
        md(e.detector ? `${e.text} (${e.detector})` : e.text),
      ]),
    ),
    '',
  );
  out.push('### Findings', '');
  members.forEach((f, i) => out.push(...findingSection(f, `#### ${index}.${i + 1}`, true, triage)));
  out.push(...responseSection(members, '### Response'));
  return out;
}

/**
 * Renders an incident report in GitHub-flavoured markdown for a ticket: the scope (inputs, time
 * range, ip-ranges syncToken, counts by severity), then per incident a summary line, its story,
 * the timeline as a table, each finding (principal, source, activity, reasons, evidence) and the
 * response commands in a fenced `sh` block. Without incidents every finding is its own section.
 * Every string from a finding goes through escapeMarkdown; commands are stripped of control,
 * bidi and invisible characters, and the fence is longer than any backtick run inside it.
 */
export function renderMarkdown(findings: readonly Finding[], opts: MarkdownOptions = {}): string {
  const meta = opts.meta ?? {};
  const out: string[] = ['# offbox incident report', ''];
  const version = opts.version ?? offboxVersion();
  out.push(`Generated by offbox ${md(version)} at ${(opts.now ?? new Date()).toISOString()}.`, '');
  out.push(...scopeSection(findings, opts.incidents, meta));

  if (findings.length === 0 && (opts.incidents?.length ?? 0) === 0) {
    out.push('**No findings.**', '');
    return out.join('\n');
  }

  const byId = new Map(findings.map((f) => [f.id, f]));
  if (opts.incidents) {
    if (opts.incidents.length > 0) {
      out.push('## Incidents', '');
      out.push(
        table(
          ['#', 'Severity', 'Incident', 'Account', 'Findings', 'Starts'],
          opts.incidents.map((incident, i) => [
            String(i + 1),
            md(incident.severity),
            md(incident.title),
            md(incident.accountId || 'unknown'),
            String(incident.findingIds.length),
            md(incident.timeline.find((e) => e.time !== '')?.time ?? 'unknown'),
          ]),
        ),
        '',
      );
    }
    const covered = new Set<string>();
    opts.incidents.forEach((incident, i) => {
      const members = incident.findingIds.map((id) => byId.get(id)).filter((f): f is Finding => f !== undefined);
      for (const f of members) covered.add(f.id);
      out.push(...incidentSection(incident, i + 1, members, opts.triage === true));
    });
    const rest = findings.filter((f) => !covered.has(f.id));
    if (rest.length > 0) {
      out.push('## Findings in no incident', '');
      rest.forEach((f, i) => {
        out.push(...findingSection(f, `### ${i + 1}.`, true, opts.triage === true));
        out.push(...responseSection([f], '#### Response'));
      });
    }
    return out.join('\n');
  }

  findings.forEach((f, i) => {
    out.push(`## Finding ${i + 1}: ${md(f.title)}`, '');
    out.push(...findingSection(f, '###', false, opts.triage === true));
    out.push(...responseSection([f], '### Response'));
  });
  return out.join('\n');
}
