// The labelled simulated organisation, end to end: every label of a built detector is recovered and nothing
// medium-or-higher fires that no label explains. Labels of detectors not built yet are tracked as pending.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { WEB_LOG_EXTENSIONS } from '../../src/cli/ssrf.js';
import { allDetectorIds } from '../../src/detect/registry.js';
import { scanCloudTrail } from '../../src/engine/scan.js';
import { scanWebLogs } from '../../src/engine/web-scan.js';
import { buildExposureReport } from '../../src/exposure/backlog.js';
import { exposureFinding } from '../../src/exposure/findings.js';
import { exposureReading } from '../../src/exposure/read.js';
import { loadInventory } from '../../src/inventory/load.js';
import { simulateOrganisation } from '../../src/simulate/index.js';
import { evaluateLabels, labelMatches, type Label } from '../../src/simulate/label-match.js';
import { listLocal } from '../../src/sources/local.js';

const SEEDS = [1, 2, 3];
const built = new Set(allDetectorIds);
const work = mkdtempSync(join(tmpdir(), 'offbox-sim-e2e-'));
after(() => rmSync(work, { recursive: true, force: true }));

function describeLabel(label: Label): string {
  return `${label.story}: ${label.detector} ${label.instanceId ?? ''} ${label.subject ?? ''} ${label.sourceIp ?? ''} ${label.accessKeyId ?? ''}`;
}

for (const seed of SEEDS) {
  describe(`simulated organisation, seed ${seed}`, () => {
    const out = join(work, `seed-${seed}`);
    let labels: Label[] = [];

    it('is written', async () => {
      const summary = await simulateOrganisation({ out, seed });
      labels = JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8')) as Label[];
      assert.ok(summary.events > 1000);
      const kinds = new Set(labels.filter((l) => built.has(l.detector)).map((l) => l.detector));
      assert.ok(kinds.size >= 8, `at least 8 kinds of labelled CloudTrail attack, got ${[...kinds].join(', ')}`);
    });

    it('with inventory: every label of a built detector is recovered, nothing unexpected', async () => {
      const { map } = loadInventory([join(out, 'inventory')]);
      const config = loadConfig(join(out, 'offbox.yaml'));
      const trail = await scanCloudTrail(listLocal([join(out, 'cloudtrail')]), { config, inventory: map });
      const web = await scanWebLogs(listLocal([join(out, 'weblogs')], { extensions: WEB_LOG_EXTENSIONS }), {
        config,
        inventory: map,
      });
      assert.deepEqual(trail.warnings, []);
      assert.deepEqual(web.warnings, []);
      const backlog = buildExposureReport(exposureReading(trail.state, trail, { config, inventory: map }));
      const exposure = backlog.items.map((item) => exposureFinding(item, trail.ipRangesSyncToken));
      const result = { findings: [...trail.findings, ...web.findings, ...exposure] };
      const evaluation = evaluateLabels(labels, result.findings, built);
      assert.deepEqual(evaluation.missed.map(describeLabel), [], 'missed labels');
      assert.deepEqual(
        evaluation.unexpected.map(
          (f) =>
            `${f.detector} ${f.severity} ${f.principal.instanceId || f.principal.sessionName} ${f.source.ip}: ${f.evidence.reasons[0]}`,
        ),
        [],
        'medium-or-higher findings that match no label',
      );
      for (const label of evaluation.pending) assert.ok(!built.has(label.detector));
      if (evaluation.pending.length > 0) {
        console.log(
          `seed ${seed}: ${evaluation.pending.length} labels pending for detectors not built yet: ${[...new Set(evaluation.pending.map((l) => l.detector))].join(', ')}`,
        );
      }
    });

    it('without inventory: the outside-AWS thefts are still found, and benign traffic stays quiet', async () => {
      const result = await scanCloudTrail(listLocal([join(out, 'cloudtrail')]), {
        config: loadConfig(join(out, 'offbox.yaml')),
      });
      const outside = labels.filter(
        (l) => l.detector === 'instance-credential-outside-aws' || l.detector === 'workload-credential-outside-aws',
      );
      const evaluation = evaluateLabels(outside, result.findings, built);
      assert.deepEqual(evaluation.missed.map(describeLabel), []);
      // Without ownership evidence an attack may land under a neighbouring detector (another instance's
      // address where people also work looks like foreign AWS space): it still counts as explained when a
      // label names the same credential and source.
      const all = evaluateLabels(labels, result.findings, built);
      const explainedElsewhere = (f: (typeof all.unexpected)[number]) =>
        labels.some((l) => labelMatches({ ...l, detector: f.detector }, f));
      assert.deepEqual(
        all.unexpected
          .filter((f) => !explainedElsewhere(f))
          .map(
            (f) =>
              `${f.detector} ${f.severity} ${f.principal.instanceId || f.principal.sessionName} ${f.source.ip}: ${f.evidence.reasons[0]}`,
          ),
        [],
      );
    });
  });
}
