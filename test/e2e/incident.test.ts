// The incident report end to end: a simulated organisation's CloudTrail and ALB logs scanned together by the
// built CLI, the SSRF → off-box use → revocation story told as one incident; and a client that only scanned
// the web tier, then used an instance's credential from the same address (made-up fixtures, see
// fixtures/incident-address/PROVENANCE.md), linked by address only.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Incident } from '../../src/engine/incidents.js';
import { simulateOrganisation } from '../../src/simulate/index.js';
import type { Label } from '../../src/simulate/label-match.js';
import { FIXTURES, runCli } from './cli.test-helpers.js';

const STORY = 'imdsv1-ssrf-offbox';
const work = mkdtempSync(join(tmpdir(), 'offbox-incident-e2e-'));
after(() => rmSync(work, { recursive: true, force: true }));

function scanArgs(format: string): string[] {
  return [
    'scan',
    join(work, 'cloudtrail'),
    '--web-logs',
    join(work, 'weblogs'),
    '--inventory',
    join(work, 'inventory'),
    '--config',
    join(work, 'offbox.yaml'),
    '--format',
    format,
    '--no-progress',
  ];
}

/** The markdown section of each incident: from its `## Incident` heading to the next one. */
function incidentSections(report: string): string[] {
  return report.split(/^(?=## Incident \d+: )/m).filter((part) => part.startsWith('## Incident '));
}

/** The Step column of a section's timeline table, in order. */
function timelineSteps(section: string): { time: string; step: string }[] {
  const table = section.split('### Timeline')[1]?.split('### Findings')[0] ?? '';
  return table
    .split('\n')
    .filter((line) => /^\| \d{4}-/.test(line))
    .map((line) => {
      const [time = '', step = ''] = line.slice(2).split(' | ');
      return { time: time.trim(), step: step.trim() };
    });
}

function assertInOrder(steps: readonly string[], expected: readonly string[]): void {
  const at = expected.map((step) => steps.indexOf(step));
  for (const [i, index] of at.entries()) assert.ok(index >= 0, `${expected[i]} missing from ${steps.join(', ')}`);
  assert.deepEqual(
    [...at].sort((a, b) => a - b),
    at,
    `expected ${expected.join(' → ')} in ${steps.join(', ')}`,
  );
}

describe('offbox scan --web-logs: incidents', () => {
  let instanceId = '';

  before(async () => {
    await simulateOrganisation({ out: work, seed: 1 });
    const labels = JSON.parse(readFileSync(join(work, 'labels.json'), 'utf8')) as Label[];
    instanceId = labels.find((l) => l.story === STORY && l.detector === 'imds-ssrf-attempt')?.instanceId ?? '';
    assert.match(instanceId, /^i-[0-9a-f]+$/i, `the ${STORY} story names its instance`);
  });

  it('--format markdown tells the SSRF story as one incident: attempt, off-box use, revocation', async () => {
    const run = await runCli(scanArgs('markdown'));
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /scanned \d+ files, \d+ events \(.*\) and \d+ web log files, \d+ requests/);
    const report = run.stdout;
    assert.match(report, /^# offbox incident report/);
    assert.match(report, /- \*\*Web logs:\*\* /);
    const sections = incidentSections(report).filter((s) => s.includes(`· instance ${instanceId} ·`));
    assert.equal(sections.length, 1, `one incident for ${instanceId}`);
    const section = sections[0]!;
    assert.match(section, /^## Incident \d+: SSRF against /);
    const timeline = timelineSteps(section);
    assertInOrder(
      timeline.map((e) => e.step),
      ['ssrf-attempt', 'first-off-box-use', 'revocation'],
    );
    const times = timeline.map((e) => Date.parse(e.time));
    assert.ok(times.every((t) => !Number.isNaN(t)));
    assert.deepEqual(
      [...times].sort((a, b) => a - b),
      times,
      'the timeline is in time order',
    );
    assert.match(section, /#### \d+\.\d+ imds-ssrf-attempt/);
    assert.match(section, /#### \d+\.\d+ instance-credential-outside-aws/);
    assert.match(
      section,
      /### Response\n\n.*\n\n```sh\n(.*\n)*aws ec2 modify-instance-metadata-options --instance-id /,
    );
  });

  it('--format json carries the same incidents in meta.incidents', async () => {
    const run = await runCli(scanArgs('json'));
    assert.equal(run.code, 1, run.stderr);
    const doc = JSON.parse(run.stdout) as {
      meta: { incidents: Incident[]; webInputs: string[] };
      findings: { id: string; detector: string }[];
    };
    assert.ok(Array.isArray(doc.meta.incidents) && doc.meta.incidents.length > 0);
    assert.deepEqual(doc.meta.webInputs, [join(work, 'weblogs')]);
    const ids = new Set(doc.findings.map((f) => f.id));
    for (const incident of doc.meta.incidents) for (const id of incident.findingIds) assert.ok(ids.has(id));
    assert.ok(
      doc.findings.some((f) => f.detector === 'imds-ssrf-attempt'),
      'web findings are merged in',
    );
    const mine = doc.meta.incidents.filter((i) => i.instanceId === instanceId);
    assert.equal(mine.length, 1);
    assertInOrder(
      mine[0]!.timeline.map((e) => e.step),
      ['ssrf-attempt', 'first-off-box-use', 'revocation'],
    );
  });
});

describe('offbox scan --web-logs: the client behind the attempt (same address, weak link)', () => {
  const DIR = join(FIXTURES, 'incident-address');
  const INSTANCE = 'i-0a1b2c3d4e5f60718';
  const args = (format: string): string[] => [
    'scan',
    join(DIR, 'cloudtrail'),
    '--web-logs',
    join(DIR, 'weblogs'),
    '--format',
    format,
    '--no-progress',
  ];
  const REASON =
    /^1\.2\.3\.4 sent 12 web requests to shop\.example\.com \(first 2025-03-04T10:02:00\.200Z, last 2025-03-04T10:08:47\.212Z; 12 answered 4xx\/5xx; none with a visible metadata target\) and used i-0a1b2c3d4e5f60718's credential ASIAQEXAMPLE7ABCDEFG from the same address at 2025-03-04T10:32:10\.000Z \(instance-credential-outside-aws\): the same client by address only — weaker than a metadata target on the instance/;

  it('--format json: the incident carries the address-only link and its reason in meta.incidents', async () => {
    const run = await runCli(args('json'));
    assert.equal(run.code, 1, run.stderr);
    const doc = JSON.parse(run.stdout) as { meta: { incidents: Incident[] }; findings: { detector: string }[] };
    assert.deepEqual(
      doc.findings.map((f) => f.detector),
      ['instance-credential-outside-aws'],
      'the probes carry no metadata target: no web finding',
    );
    const [incident, ...rest] = doc.meta.incidents;
    assert.deepEqual(rest, []);
    assert.equal(incident?.instanceId, INSTANCE);
    assert.equal(incident.links.length, 1);
    const [link] = incident.links;
    assert.equal(link?.kind, 'same-client-address');
    assert.equal(link?.strength, 'weak');
    assert.equal(link?.clientIp, '1.2.3.4');
    assert.match(link?.reason ?? '', REASON);
    assertInOrder(
      incident.timeline.map((e) => e.step),
      ['credential-vended', 'same-client-address', 'first-off-box-use'],
    );
    const entry = incident.timeline.find((e) => e.step === 'same-client-address');
    assert.equal(entry?.time, '2025-03-04T10:02:00.200Z');
    assert.equal(entry?.text, link?.reason);
    assert.match(incident.story, /linked by address only/);
    // Thirty minutes from the first probe to the first use.
    const first = incident.timeline.find((e) => e.step === 'first-off-box-use');
    assert.equal(Date.parse(first!.time) - Date.parse(entry!.time), 30 * 60_000 + 9_800);
  });

  it('--format markdown prints the link, its strength and its reason', async () => {
    const run = await runCli(args('markdown'));
    assert.equal(run.code, 1, run.stderr);
    const [section, ...rest] = incidentSections(run.stdout);
    assert.deepEqual(rest, []);
    assert.ok(section?.includes(`· instance ${INSTANCE} ·`));
    const links = section.split('### Links\n\n')[1]?.split('\n\n')[0] ?? '';
    assert.match(
      links,
      /^- \*\*weak\*\* \(same-client-address\): 1\.2\.3\.4 sent 12 web requests to shop\.example\.com /,
    );
    assert.match(links, /the same client by address only — weaker than a metadata target on the instance/);
    assertInOrder(
      timelineSteps(section).map((e) => e.step),
      ['credential-vended', 'same-client-address', 'first-off-box-use'],
    );
  });
});
