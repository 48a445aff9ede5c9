import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import pc from 'picocolors';
import { loadConfig } from '../config/config.js';
import { allDetectorIds } from '../detect/registry.js';
import { scanCloudTrail } from '../engine/scan.js';
import { scanWebLogs } from '../engine/web-scan.js';
import { buildExposureReport } from '../exposure/backlog.js';
import { exposureFinding } from '../exposure/findings.js';
import { exposureReading } from '../exposure/read.js';
import { loadInventory } from '../inventory/load.js';
import { renderTable, shouldUseColor } from '../report/index.js';
import { escapeForTerminal } from '../report/escape.js';
import { simulateOrganisation, type StoryFile } from '../simulate/index.js';
import { evaluateLabels, type Label } from '../simulate/label-match.js';
import { listLocal } from '../sources/local.js';
import { formatBytes, progressLine, status } from './io.js';
import { WEB_LOG_EXTENSIONS } from './ssrf.js';

export interface DemoOptions {
  out?: string;
  seed: string;
  progress: boolean;
}

/**
 * The first thing a newcomer runs: a small simulated organisation with labelled attacks,
 * scanned the way a responder would, with the story of what offbox caught and what it cannot yet.
 */
export async function runDemo(options: DemoOptions, nextCommands: string[]): Promise<number> {
  const seed = Number(options.seed) || 1;
  const out = options.out ?? join(tmpdir(), `offbox-demo-${seed}`);
  const color = shouldUseColor(process.stdout, process.env);
  const bold = (text: string) => (color ? pc.bold(text) : text);
  const progress = progressLine(options.progress);

  status(`simulating a small AWS organisation (seed ${seed}) into ${out} …`);
  const summary = await simulateOrganisation({
    out,
    seed,
    onProgress: (p) => progress.update(`offbox: simulating — ${p.events} events in ${p.files} files`),
  });
  progress.done();
  status(
    `wrote ${summary.events} CloudTrail events in ${summary.files} files across ${summary.accounts.length} accounts, ` +
      `${summary.webLines} ALB log lines and an inventory`,
  );

  const configFile = join(out, 'offbox.yaml');
  const inventory = loadInventory([join(out, 'inventory')]).map;
  const config = loadConfig(configFile);
  const trail = await scanCloudTrail(listLocal([join(out, 'cloudtrail')]), { config, inventory });
  const web = await scanWebLogs(listLocal([join(out, 'weblogs')], { extensions: WEB_LOG_EXTENSIONS }), {
    config,
    inventory,
  });
  const reading = exposureReading(trail.state, trail, { config, inventory });
  const backlog = buildExposureReport(reading);
  const exposure = backlog.items.map((item) => exposureFinding(item, trail.ipRangesSyncToken));
  const result = { findings: [...trail.findings, ...web.findings] };
  status(
    `scanned ${trail.stats.files} CloudTrail files, ${trail.stats.events} events (${formatBytes(trail.stats.bytes)}) in ` +
      `${(trail.stats.durationMs / 1000).toFixed(2)}s, and ${web.stats.files} ALB log files, ${web.stats.requests} requests in ` +
      `${(web.stats.durationMs / 1000).toFixed(2)}s`,
  );

  const write = (text = '') => process.stdout.write(`${text}\n`);
  write(bold('Findings'));
  write(renderTable(result.findings, { color }));

  const labels = JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8')) as Label[];
  const { stories } = JSON.parse(readFileSync(join(out, 'story.json'), 'utf8')) as StoryFile;
  const known = new Set(allDetectorIds);
  const evaluation = evaluateLabels(labels, [...result.findings, ...exposure], known);

  write(bold('What happened in this organisation'));
  for (const story of stories) {
    const storyLabels = labels.filter((label) => label.story === story.id);
    const caught = evaluation.recovered.filter((r) => r.label.story === story.id);
    const missed = evaluation.missed.filter((label) => label.story === story.id);
    const pending = evaluation.pending.filter((label) => label.story === story.id);
    const waiting =
      pending.length > 0 ? ` (${[...new Set(pending.map((l) => l.detector))].join(', ')}: not built yet)` : '';
    const verdict =
      caught.length > 0
        ? `caught by ${[...new Set(caught.map((r) => r.label.detector))].join(', ')}${missed.length > 0 ? `; MISSED by ${[...new Set(missed.map((l) => l.detector))].join(', ')}` : ''}${waiting}`
        : storyLabels.length === 0
          ? 'no finding expected'
          : missed.length > 0
            ? `MISSED by ${[...new Set(missed.map((l) => l.detector))].join(', ')}`
            : `not detected yet: needs ${[...new Set(pending.map((l) => l.detector))].join(', ')} (not built)`;
    write(`- ${escapeForTerminal(story.title)}: ${verdict}`);
    write(`  ${escapeForTerminal(story.narrative)}`);
  }
  write();
  write(
    `${evaluation.recovered.length} of ${labels.length - evaluation.pending.length} expected findings of built detectors recovered, ` +
      `${evaluation.unexpected.length} unexpected medium-or-higher findings, ${evaluation.pending.length} labels wait for detectors not built yet.`,
  );
  write();
  write(bold('Next'));
  for (const command of nextCommands) write(`  ${command.replaceAll('DIR', out)}`);
  return 0;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('simulate a small organisation with labelled attacks, scan it and tell the story (under a minute)')
    .option('--out <dir>', 'where to write the simulated organisation (default: a folder in the system temp dir)')
    .option('--seed <n>', 'seed of the simulated organisation', '1')
    .option('--no-progress', 'no progress line on stderr')
    .action(async (options: DemoOptions) => {
      const next = [
        'offbox scan DIR/cloudtrail --inventory DIR/inventory --config DIR/offbox.yaml --format json -o DIR/findings.json',
        'offbox scan DIR/cloudtrail --inventory DIR/inventory --config DIR/offbox.yaml --db DIR/offbox.db   # keep findings for triage',
        'offbox scan DIR/cloudtrail --config DIR/offbox.yaml   # without the inventory: see what offbox can still tell',
        'offbox simulate --out ./bigger-org --seed 7 --events 200000   # a bigger organisation to explore',
      ];
      process.exitCode = await runDemo(options, next);
    });
}
