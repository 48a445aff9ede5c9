import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanUpFuzzTargets, FUZZ_TARGETS, loadFuzzCorpus, runFuzzTarget } from './targets.js';

// The whole file stays within about a minute on a 2-core machine; `npm run fuzz` runs for longer.
const RUNS = Number(process.env['OFFBOX_FUZZ_RUNS'] ?? 400);

describe(`fuzz targets (${RUNS} generated inputs each; OFFBOX_FUZZ_RUNS to change)`, () => {
  before(async () => {
    await loadFuzzCorpus();
  });
  after(() => cleanUpFuzzTargets());

  for (const target of FUZZ_TARGETS) {
    it(`${target.id}: ${target.description}`, async (t) => {
      const outcome = await runFuzzTarget(target, { numRuns: RUNS, shrink: false });
      t.diagnostic(`${outcome.id}: ${outcome.seeds} seeds + ${outcome.runs} runs in ${outcome.ms.toFixed(0)} ms`);
      assert.equal(outcome.failure, undefined, outcome.failure);
    });
  }
});
