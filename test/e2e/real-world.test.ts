// End to end over public CloudTrail samples offbox was not developed against (fixtures/real-world/cloudtrail,
// provenance and licences in PROVENANCE.md there). Each sample carries, in expectations.json, what a responder
// would conclude from it: attacks must be found by the named detector at or above a severity, benign AWS service
// and agent traffic must stay quiet. The built CLI runs on each sample folder alone, as a user would run it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SEVERITIES, type Finding, type Severity } from '../../src/detect/finding.js';
import { FIXTURES, runCli } from './cli.test-helpers.js';

const CORPUS = join(FIXTURES, 'real-world', 'cloudtrail');

/** The detector ids of SPEC section 2: expectations may only name these. */
const DETECTORS = [
  'instance-credential-outside-aws',
  'instance-credential-foreign-aws',
  'instance-credential-cross-instance',
  'instance-credential-foreign-vpce',
  'instance-session-name-spoof',
  'instance-credential-role-chain',
  'instance-credential-non-sdk-client',
  'workload-credential-outside-aws',
  'revoked-session-use',
  'imds-ssrf-attempt',
  'signed-aws-url-in-request',
  'imdsv1-credential-delivery',
];

interface Match {
  sourceIp?: string;
  instanceId?: string;
  accessKeyId?: string;
  role?: string;
  eventIds?: string[];
}

interface ExpectedFinding {
  detector: string;
  minSeverity: Severity;
  match?: Match;
}

interface Sample {
  sample: string;
  kind: 'attack' | 'benign' | 'undecidable';
  conclusion: string;
  expect: ExpectedFinding[];
  quietAtOrAbove?: Severity;
  identityCredential?: boolean;
}

const samples = (JSON.parse(readFileSync(join(CORPUS, 'expectations.json'), 'utf8')) as { samples: Sample[] }).samples;

/** Higher is more severe; -1 for anything that is not a severity of the contract. */
function rank(severity: unknown): number {
  const i = SEVERITIES.indexOf(severity as Severity);
  return i < 0 ? -1 : SEVERITIES.length - i;
}

function describeFinding(f: Finding): string {
  const reasons = (f.evidence?.reasons ?? []).map((r) => `\n      - ${r}`).join('');
  return (
    `${f.detector} severity=${String(f.severity)} confidence=${String(f.confidence)} ` +
    `source=${f.source?.ip} (${f.source?.class}) instance=${f.principal?.instanceId} ` +
    `keys=${(f.principal?.accessKeyIds ?? []).join(',')}${reasons}`
  );
}

function describeAll(findings: Finding[]): string {
  return findings.length === 0 ? '(no findings)' : findings.map((f) => `  * ${describeFinding(f)}`).join('\n');
}

function matches(f: Finding, m: Match = {}): boolean {
  if (m.sourceIp !== undefined && f.source.ip !== m.sourceIp) return false;
  if (m.instanceId !== undefined && f.principal.instanceId.toLowerCase() !== m.instanceId.toLowerCase()) return false;
  if (m.accessKeyId !== undefined && !f.principal.accessKeyIds.includes(m.accessKeyId)) return false;
  if (m.role !== undefined && f.principal.role !== m.role) return false;
  if (m.eventIds !== undefined && !m.eventIds.every((id) => f.evidence.eventIds.includes(id))) return false;
  return true;
}

/** A response command that would act on the reserved identity pseudo-role (which cannot carry a policy). */
const TARGETS_IDENTITY_ROLE = /role-name(?:\s+|=)['"]?aws:ec2-instance(?![\w-])/;

async function scan(sample: string): Promise<Finding[]> {
  const run = await runCli(['scan', join(CORPUS, sample), '--format', 'json', '--no-progress', '--fail-on', 'none']);
  assert.equal(run.code, 0, `offbox scan exited ${run.code} on ${sample}:\n${run.stderr}`);
  const doc = JSON.parse(run.stdout) as { findings: Finding[]; meta: { warningCount?: number } };
  assert.ok(Array.isArray(doc.findings), 'the json document lists findings');
  return doc.findings;
}

describe('real-world corpus: expectations cover the corpus', () => {
  it('every sample folder has one expectation entry, a licence and a PROVENANCE row, and vice versa', () => {
    const folders = readdirSync(CORPUS)
      .filter((name) => statSync(join(CORPUS, name)).isDirectory())
      .sort();
    const named = samples.map((s) => s.sample).sort();
    assert.deepEqual(named, folders);
    assert.equal(new Set(named).size, named.length, 'each sample appears once');
    const provenance = readFileSync(join(CORPUS, 'PROVENANCE.md'), 'utf8');
    for (const folder of folders) {
      assert.ok(provenance.includes(`\`${folder}/\``), `PROVENANCE.md has no row for ${folder}/`);
      assert.ok(readdirSync(join(CORPUS, folder)).includes('LICENSE'), `${folder}/ keeps its upstream LICENSE`);
    }
  });

  it('every expectation is well formed', () => {
    for (const s of samples) {
      assert.ok(['attack', 'benign', 'undecidable'].includes(s.kind), `${s.sample}: kind`);
      assert.ok(s.conclusion.length > 20, `${s.sample}: conclusion`);
      if (s.kind !== 'benign')
        assert.ok(s.expect.length > 0, `${s.sample}: an ${s.kind} sample names what must be found`);
      if (s.kind === 'attack') {
        for (const e of s.expect) {
          assert.ok(rank(e.minSeverity) >= rank('medium'), `${s.sample}: a known theft is found at medium or higher`);
        }
      }
      if (s.kind === 'undecidable') assert.ok(s.quietAtOrAbove, `${s.sample}: say what it must not be raised to`);
      if (s.kind === 'benign') assert.ok(s.quietAtOrAbove, `${s.sample}: benign samples say what must stay quiet`);
      if (s.quietAtOrAbove) assert.ok(rank(s.quietAtOrAbove) > 0, `${s.sample}: quietAtOrAbove`);
      for (const e of s.expect) {
        assert.ok(DETECTORS.includes(e.detector), `${s.sample}: ${e.detector} is not a detector id of SPEC §2`);
        assert.ok(rank(e.minSeverity) > 0, `${s.sample}: minSeverity ${e.minSeverity}`);
      }
    }
  });
});

describe('real-world corpus: offbox reaches a responder’s conclusion', { concurrency: 4 }, () => {
  for (const s of samples) {
    it(`${s.sample} (${s.kind})`, async () => {
      const findings = await scan(s.sample);
      const problems: string[] = [];

      for (const f of findings) {
        if (rank(f.severity) < 0) problems.push(`finding ${f.id} has no valid severity: ${describeFinding(f)}`);
      }

      for (const e of s.expect) {
        const candidates = findings.filter((f) => f.detector === e.detector && matches(f, e.match));
        const best = candidates.reduce((top, f) => Math.max(top, rank(f.severity)), -1);
        if (candidates.length === 0) {
          problems.push(`expected ${e.detector} matching ${JSON.stringify(e.match ?? {})}: none found`);
        } else if (best < rank(e.minSeverity)) {
          problems.push(
            `expected ${e.detector} matching ${JSON.stringify(e.match ?? {})} at ${e.minSeverity} or higher: ` +
              `found only ${candidates.map((f) => f.severity).join(', ')}`,
          );
        }
      }

      if (s.quietAtOrAbove) {
        const loud = findings.filter((f) => rank(f.severity) >= rank(s.quietAtOrAbove));
        if (loud.length > 0) problems.push(`expected nothing at ${s.quietAtOrAbove} or higher, got ${loud.length}`);
      }

      if (s.identityCredential) {
        for (const f of findings) {
          for (const command of f.response?.commands ?? []) {
            if (TARGETS_IDENTITY_ROLE.test(command))
              problems.push(`finding ${f.id} answers with a command on the reserved role aws:ec2-instance: ${command}`);
          }
        }
      }

      assert.deepEqual(
        problems,
        [],
        `${s.sample}: ${s.conclusion}\n${problems.join('\n')}\noffbox found:\n${describeAll(findings)}`,
      );
    });
  }
});
