/**
 * `offbox simulate`: a deterministic, labelled multi-account AWS organisation — CloudTrail
 * delivery files, ALB access logs, an inventory, a config and the ground truth — generated
 * in time order, 5-minute slice by slice, with memory independent of the number of events.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { AddressBook } from './addresses.js';
import { AlbWriter } from './alb-writer.js';
import { CloudTrailWriter, WINDOW, type TrailShape } from './cloudtrail-writer.js';
import { scheduleInstanceKeys, scheduleWorkloadKeys } from './credentials.js';
import { writeInventory } from './inventory-writer.js';
import type { Label, StoryFile } from './labels.js';
import { buildOrganisation, minimumInstances, type Organisation } from './organisation.js';
import { Rng } from './prng.js';
import type { EventSpec } from './record.js';
import { HOUR, isoSeconds } from './time.js';
import { materialiseAttacks, planAttacks, type Materialised } from './traffic/attacks.js';
import {
  EcsGenerator,
  EksGenerator,
  InstanceAppGenerator,
  LambdaGenerator,
  ServiceActivityGenerator,
  SsmAgentGenerator,
  VendingGenerator,
  WorkloadKmsGenerator,
} from './traffic/benign.js';
import { ChainGenerator, CiGenerator, ControlPlaneGenerator, HumanGenerator } from './traffic/people.js';
import type { Generator, Sink } from './traffic/types.js';
import { WebGenerator } from './traffic/web.js';

export type { Label, Story, StoryFile, TimelineEntry } from './labels.js';

/** Options of {@link simulateOrganisation}. */
export interface SimulateOptions {
  /** Output folder (created; a previous simulation's outputs there are replaced, nothing else is touched). */
  out: string;
  /** PRNG seed; the same options always give byte-identical output. Default 1. */
  seed?: number;
  /** Number of AWS accounts (the first is the security/tooling account). Default 3, minimum 2. */
  accounts?: number;
  /** Steady-state EC2 instances across all accounts (autoscaling adds churn on top). Default 24. */
  instances?: number;
  /** Length of the simulated window in hours. Default 6, minimum 1. */
  hours?: number;
  /**
   * Target number of CloudTrail records; background traffic is scaled to hit it within ±5%.
   * Default ≈ 20,000 for the default organisation (scaled with instances and hours).
   */
  events?: number;
  /** ISO start of the window. Default 2026-03-02T00:00:00Z. */
  start?: string;
  /**
   * Write some accounts' trails in the export shapes a responder also has (docs/inputs.md): the second
   * account's as EventBridge events archived by Firehose, the third's as a CloudWatch Logs export to S3;
   * the rest as CloudTrail delivers them. Same events, same labels. Default false.
   */
  exportShapes?: boolean;
  /** Called after every 5-minute slice with the CloudTrail records and files written so far. */
  onProgress?: (progress: { events: number; files: number }) => void;
}

/** What {@link simulateOrganisation} wrote. */
export interface SimulationSummary {
  out: string;
  seed: number;
  /** Account ids, the tooling account first. */
  accounts: string[];
  /** CloudTrail records written. */
  events: number;
  /** CloudTrail delivery files written (digest files not counted). */
  files: number;
  /** ALB access-log lines written. */
  webLines: number;
  labels: number;
  stories: { id: string; title: string }[];
  /** The simulated window (event times); late deliveries land in files stamped after `end`. */
  start: string;
  end: string;
}

const DEFAULT_START = '2026-03-02T00:00:00Z';
/** Generators advance in steps this long; writers are flushed every 5-minute slice. */
const STEP = 30_000;
const GZIP_LEVEL = 2;
const OUTPUTS = ['cloudtrail', 'weblogs', 'inventory', 'labels.json', 'story.json', 'offbox.yaml'];

/** The second account's trail as EventBridge events through Firehose, the third's as a CloudWatch Logs export. */
function exportShapesOf(accounts: readonly string[]): Record<string, TrailShape> {
  const shapes: Record<string, TrailShape> = {};
  if (accounts[1]) shapes[accounts[1]] = 'eventbridge-firehose';
  if (accounts[2]) shapes[accounts[2]] = 'cloudwatch-export';
  return shapes;
}

interface Normalised {
  out: string;
  seed: number;
  accounts: number;
  instances: number;
  hours: number;
  events: number | undefined;
  start: number;
  end: number;
  exportShapes: boolean;
  onProgress: SimulateOptions['onProgress'];
}

function integerOption(name: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min)
    throw new UsageError(
      `--${name} must be an integer ≥ ${min}, got ${String(value)}`,
      `pass --${name} ${Math.max(min, fallback)}`,
    );
  return v;
}

function normalise(options: SimulateOptions): Normalised {
  const accounts = integerOption('accounts', options.accounts, 3, 2);
  const minInstances = minimumInstances(accounts);
  const instances = integerOption('instances', options.instances, Math.max(24, minInstances), minInstances);
  const hours = options.hours ?? 6;
  if (!Number.isFinite(hours) || hours < 1 || hours > 24 * 31)
    throw new UsageError(`--hours must be between 1 and 744, got ${String(options.hours)}`, 'pass --hours 6');
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed))
    throw new UsageError(`--seed must be an integer, got ${String(options.seed)}`, 'pass --seed 1');
  const events = options.events === undefined ? undefined : integerOption('events', options.events, 20_000, 1);
  const startText = options.start ?? DEFAULT_START;
  const parsed = Date.parse(startText);
  if (!Number.isFinite(parsed))
    throw new UsageError(`--start ${JSON.stringify(startText)} is not an ISO time`, `pass --start ${DEFAULT_START}`);
  const start = Math.floor(parsed / 1000) * 1000;
  return {
    out: resolve(options.out),
    seed,
    accounts,
    instances,
    hours,
    events,
    start,
    end: start + Math.round(hours * HOUR),
    exportShapes: options.exportShapes ?? false,
    onProgress: options.onProgress,
  };
}

interface World {
  org: Organisation;
  attacks: Materialised;
  generators: Generator[];
}

/** Builds the whole (small) world for the options: organisation, keys, stories, generators. */
function buildWorld(o: Normalised): World {
  const root = new Rng(`offbox-simulate/${o.seed}`);
  const book = new AddressBook(root.fork('addresses'));
  const org = buildOrganisation(
    { seed: o.seed, accounts: o.accounts, instances: o.instances, start: o.start, end: o.end },
    root.fork('organisation'),
    book,
  );
  const plan = planAttacks(org, root.fork('attack-plan'));
  scheduleInstanceKeys(org, root.fork('instance-keys'), plan.revocations);
  scheduleWorkloadKeys(org, root.fork('workload-keys'));
  const attacks = materialiseAttacks(plan);
  const generators: Generator[] = [
    new VendingGenerator(org, root.fork('gen:vending')),
    new SsmAgentGenerator(org, root.fork('gen:ssm')),
    new ServiceActivityGenerator(org, root.fork('gen:aws-services')),
    new CiGenerator(org, root.fork('gen:ci')),
    new ChainGenerator(org, root.fork('gen:chains')),
    new ControlPlaneGenerator(org, root.fork('gen:control-plane')),
    new WebGenerator(org, root.fork('gen:web')),
    attacks.generator,
    new InstanceAppGenerator(org, root.fork('gen:apps')),
    new EcsGenerator(org, root.fork('gen:ecs')),
    new LambdaGenerator(org, root.fork('gen:lambda')),
    new EksGenerator(org, root.fork('gen:eks')),
    new HumanGenerator(org, root.fork('gen:humans')),
    new WorkloadKmsGenerator(org, root.fork('gen:workload-kms')),
  ];
  return { org, attacks, generators };
}

/** Records outside the window are dropped (a session opened just before the start, …). */
function windowed(o: Normalised, sink: Sink): Sink {
  return {
    ct: (spec: EventSpec) => {
      if (spec.time >= o.start && spec.time < o.end) sink.ct(spec);
    },
    web: (request) => {
      if (request.time >= o.start && request.time < o.end) sink.web(request);
    },
  };
}

/** Counts fixed and scale-1 background records, to find the scale that hits the target. */
function calibrate(o: Normalised): { fixed: number; perScale: number } {
  const world = buildWorld(o);
  let fixed = 0;
  let scalable = 0;
  const fixedSink = windowed(o, { ct: () => void fixed++, web: () => undefined });
  const scalableSink = windowed(o, { ct: () => void scalable++, web: () => undefined });
  for (let t = o.start; t < o.end; t += STEP) {
    const t1 = Math.min(t + STEP, o.end);
    for (const g of world.generators) g.run(t, t1, g.scalable ? scalableSink : fixedSink, 1);
  }
  return { fixed, perScale: scalable };
}

function configYaml(org: Organisation, seed: number): string {
  const lines = [
    `# offbox configuration for the simulated organisation "${org.slug}" (offbox simulate, seed ${seed}).`,
    "# allowedSourceCidrs: the organisation's own egress (office proxy + self-hosted CI runner, VPN).",
    'allowedSourceCidrs:',
    ...org.onPrem.map((block) => `  - ${block.cidr} # ${block.label} (${block.provider})`),
    '# trustedAccounts: every account of the organisation.',
    'trustedAccounts:',
    ...org.accounts.map((a) => `  - "${a.id}" # ${a.name}`),
    '',
  ];
  return lines.join('\n');
}

/**
 * Generates a labelled multi-account AWS organisation under `options.out`: CloudTrail S3
 * delivery files (and digests), ALB access logs, an inventory of AWS CLI outputs as of the
 * end of the window, `offbox.yaml`, `labels.json` (the findings offbox must produce) and
 * `story.json` (the attack stories behind them). Deterministic: the same options give
 * byte-identical files. Throws `UsageError` for invalid options.
 */
export async function simulateOrganisation(options: SimulateOptions): Promise<SimulationSummary> {
  const o = normalise(options);
  const defaultTarget = Math.round(20_000 * (o.instances / 24) * (o.hours / 6));
  const target = o.events ?? defaultTarget;
  const { fixed, perScale } = calibrate(o);
  if (o.events !== undefined && fixed > o.events * 1.05) {
    throw new UsageError(
      `--events ${o.events} is below the ${fixed} records this organisation makes without any background traffic (credential vending, agents, CI, control plane, attacks)`,
      `ask for at least ${Math.ceil(fixed * 1.05)} events, or simulate fewer instances or hours`,
    );
  }
  const scale = perScale > 0 ? Math.max(0.001, (target - fixed) / perScale) : 1;

  // Replace a previous simulation's outputs only; nothing else in the folder is touched.
  await mkdir(o.out, { recursive: true });
  for (const name of OUTPUTS) await rm(join(o.out, name), { recursive: true, force: true });
  const world = buildWorld(o);
  const { org } = world;
  const rng = new Rng(`offbox-simulate/${o.seed}/writers`);
  const trails = org.accounts.flatMap((a) => {
    const regions = new Set(a.regions.map((r) => r.region));
    regions.add('us-east-1');
    return [...regions].map((region) => ({ account: a.id, region }));
  });
  const windows = Math.ceil((o.end - o.start) / WINDOW);
  const perFile = target / (windows * trails.length);
  const ct = new CloudTrailWriter({
    root: join(o.out, 'cloudtrail'),
    start: o.start,
    trails,
    bucket: `aws-cloudtrail-logs-${org.tooling.id}-${rng.fork('bucket').lowerAlnum(8)}`,
    trailName: `${org.slug}-org-trail`,
    rng: rng.fork('cloudtrail'),
    level: GZIP_LEVEL,
    parts: Math.max(1, Math.min(4, Math.ceil(perFile / 5000))),
    ...(o.exportShapes ? { shapes: exportShapesOf(org.accounts.map((a) => a.id)) } : {}),
  });
  const alb = new AlbWriter({
    root: join(o.out, 'weblogs', 'alb'),
    start: o.start,
    rng: rng.fork('alb'),
    level: GZIP_LEVEL,
  });
  const sink = windowed(o, { ct: (spec) => ct.add(spec), web: (request) => alb.add(request) });

  for (let slice = 0; slice < windows; slice++) {
    const sliceStart = o.start + slice * WINDOW;
    const sliceEnd = Math.min(sliceStart + WINDOW, o.end);
    for (let t = sliceStart; t < sliceEnd; t += STEP) {
      const t1 = Math.min(t + STEP, sliceEnd);
      for (const g of world.generators) g.run(t, t1, sink, g.scalable ? scale : 1);
      await ct.backpressure();
    }
    await ct.completeThrough(slice);
    alb.flushThrough(slice);
    o.onProgress?.({ events: ct.events, files: ct.files });
  }
  await ct.finish();
  await alb.finish();
  o.onProgress?.({ events: ct.events, files: ct.files });

  await writeInventory(join(o.out, 'inventory'), org, `offbox-simulate/${o.seed}`);
  const labels: Label[] = world.attacks.labels;
  const storyFile: StoryFile = {
    generator: 'offbox simulate',
    seed: o.seed,
    start: isoSeconds(o.start),
    end: isoSeconds(o.end),
    organisation: { name: org.slug, accounts: org.accounts.map((a) => ({ id: a.id, name: a.name })) },
    stories: world.attacks.stories,
  };
  await writeFile(join(o.out, 'labels.json'), `${JSON.stringify(labels, null, 2)}\n`);
  await writeFile(join(o.out, 'story.json'), `${JSON.stringify(storyFile, null, 2)}\n`);
  await writeFile(join(o.out, 'offbox.yaml'), configYaml(org, o.seed));

  return {
    out: o.out,
    seed: o.seed,
    accounts: org.accounts.map((a) => a.id),
    events: ct.events,
    files: ct.files,
    webLines: alb.lines,
    labels: labels.length,
    stories: world.attacks.stories.map((s) => ({ id: s.id, title: s.title })),
    start: isoSeconds(o.start),
    end: isoSeconds(o.end),
  };
}
