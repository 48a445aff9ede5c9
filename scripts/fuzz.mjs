#!/usr/bin/env node
// Runs the fuzz targets of src/fuzz/targets.ts with a long budget: `npm run fuzz -- [--runs N | --seconds S]
// [--target ID]… [--seed N --path P]`. Prints each target's runs and any counterexample with the
// fast-check seed and path that replay it; exits 1 on any failure.
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    seconds: { type: 'string' },
    target: { type: 'string', multiple: true },
    seed: { type: 'string' },
    path: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    'usage: npm run fuzz -- [--runs N (default 20000) | --seconds S] [--target ID]… [--seed N --path P (replay)]',
  );
  process.exit(0);
}

let targetsModule;
try {
  targetsModule = await import('../src/fuzz/targets.ts');
} catch (error) {
  console.error(`cannot load the fuzz targets (run through npm run fuzz, which loads tsx): ${error.message}`);
  process.exit(2);
}
const { FUZZ_TARGETS, loadFuzzCorpus, runFuzzTarget, cleanUpFuzzTargets } = targetsModule;

const positive = (name, text) => {
  const n = Number(text);
  if (!(n > 0)) {
    console.error(`--${name} ${text} is not a positive number`);
    process.exit(2);
  }
  return n;
};
const budget =
  values.seconds !== undefined
    ? { seconds: positive('seconds', values.seconds) }
    : { numRuns: values.runs !== undefined ? positive('runs', values.runs) : 20000 };
if (values.seed !== undefined) budget.seed = Number(values.seed);
if (values.path !== undefined) budget.path = values.path;

const wanted = values.target ?? [];
const unknown = wanted.filter((id) => !FUZZ_TARGETS.some((t) => t.id === id));
if (unknown.length > 0) {
  console.error(`unknown target(s): ${unknown.join(', ')}; known: ${FUZZ_TARGETS.map((t) => t.id).join(', ')}`);
  process.exit(2);
}
const targets = wanted.length > 0 ? FUZZ_TARGETS.filter((t) => wanted.includes(t.id)) : FUZZ_TARGETS;

await loadFuzzCorpus();
let failed = 0;
try {
  for (const target of targets) {
    const outcome = await runFuzzTarget(target, budget);
    const line = `${outcome.id}: ${outcome.seeds} seeds + ${outcome.runs} runs in ${(outcome.ms / 1000).toFixed(1)} s`;
    if (outcome.failure === undefined) {
      console.log(`ok   ${line}`);
    } else {
      failed += 1;
      console.log(
        `FAIL ${line}\n${outcome.failure}\n  replay: npm run fuzz -- --target ${outcome.id} --seed=<seed> --path=<path> (the values above)\n`,
      );
    }
  }
} finally {
  cleanUpFuzzTargets();
}
console.log(failed === 0 ? `${targets.length} targets, no failures` : `${failed} of ${targets.length} targets failed`);
process.exit(failed === 0 ? 0 : 1);
