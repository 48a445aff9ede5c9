import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfig } from '../config/config.js';
import { UsageError } from '../errors.js';
import { loadAwsRanges } from '../net/aws-ranges.js';
import { resolveRangesFile } from '../net/user-ranges.js';
import { toOcsf } from '../report/ocsf.js';
import { openStore } from '../store/store.js';
import { fileSink, jsonLines, ndjsonLines, streamSink, type LineFormat } from '../watch/sinks/lines.js';
import type { FindingSink } from '../watch/sinks/types.js';
import { localFolderSource } from '../watch/sources/local.js';
import type { WatchSource } from '../watch/sources/types.js';
import { watch, type WatchStatus } from '../watch/watcher.js';
import { status, statusUntrusted } from './io.js';
import { parseThreads } from './progress.js';
import { collect, loadInventoryWithStatus, s3OptionsFrom, warningPrinter } from './run.js';
import { addSourceOptions } from './scan.js';
import { WEB_LOG_EXTENSIONS } from './ssrf.js';

interface WatchCliOptions {
  db?: string;
  config?: string;
  inventory?: string[];
  ipRanges?: string;
  webLogs?: string;
  format?: string;
  output?: string;
  stdout?: boolean;
  webhook?: string[];
  webhookStyle?: string;
  securityHub?: boolean;
  securityHubRegion?: string;
  settle: string;
  sessionTtl: string;
  poll?: string;
  batch: string;
  once?: boolean;
  threads?: string;
  statusEvery: string;
  lateDays: string;
  since?: string;
  endpointUrl?: string;
  profile?: string;
  region?: string;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `30s`, `10m`, `2h`, `1d` or plain seconds into milliseconds. */
export function parseDuration(value: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m)
    throw new UsageError(
      `${option}: not a duration: ${value}`,
      'write it as 30s, 10m, 2h or 1d (plain numbers are seconds)',
    );
  return Number(m[1]) * UNITS[m[2] ?? 's']!;
}

function parseCount(value: string, option: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${option}: expected a whole number ≥ ${min}, not ${value}`);
  return n;
}

function lineFormat(format: string | undefined): LineFormat {
  if (format === undefined || format === 'ndjson') return ndjsonLines;
  if (format === 'ocsf') return jsonLines('ocsf', (finding) => toOcsf(finding), ['finding_info', 'uid']);
  throw new UsageError(`watch --format: ${format} is not a line format`, 'use ndjson (default) or ocsf');
}

function formatLag(ms: number | undefined): string {
  if (ms === undefined) return 'no events yet';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d`;
}

/** One status line: how far behind the trail watch is, how fast it reads, what it holds. */
export function statusLine(s: WatchStatus): string {
  const n = (v: number): string => Math.round(v).toLocaleString('en-US');
  return (
    `watch: lag ${formatLag(s.lagMs)} behind the newest event · ${n(s.eventsPerSecond)} events/s · ` +
    `backlog ${n(s.backlog)} · ${n(s.events)} events in ${n(s.batches)} batches · ${n(s.liveSessions)} live sessions · ` +
    `${n(s.emitted)} findings emitted, ${n(s.pending)} settling` +
    (s.unsent > 0 ? `, ${n(s.unsent)} not yet delivered` : '')
  );
}

async function openWatchSource(
  spec: string,
  options: WatchCliOptions,
  extensions?: readonly string[],
): Promise<{ source: WatchSource; poll: number }> {
  const lateDays = parseCount(options.lateDays, '--late-days', 0);
  if (options.since !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(options.since)) {
    throw new UsageError(`--since: not a date: ${options.since}`, 'write it as YYYY-MM-DD');
  }
  if (/^s3:\/\//i.test(spec)) {
    const { s3PrefixSource } = await import('../watch/sources/s3.js');
    const source = s3PrefixSource(spec, {
      ...s3OptionsFrom(options),
      ...(extensions ? { extensions } : {}),
      lateDays,
      ...(options.since !== undefined ? { since: options.since } : {}),
    });
    return { source, poll: 30_000 };
  }
  if (/^sqs:\/\//i.test(spec)) {
    const { sqsSource } = await import('../watch/sources/sqs.js');
    return { source: await sqsSource(spec, s3OptionsFrom(options)), poll: 0 };
  }
  return { source: localFolderSource(spec, extensions ? { extensions } : {}), poll: 2_000 };
}

async function buildSinks(options: WatchCliOptions, format: LineFormat): Promise<FindingSink[]> {
  const sinks: FindingSink[] = [];
  if (options.output !== undefined) sinks.push(fileSink(resolve(options.output), format));
  else if (options.stdout !== false) sinks.push(streamSink(process.stdout, format));
  for (const url of options.webhook ?? []) {
    const { createWebhookSink } = await import('../watch/sinks/webhook.js');
    const style = options.webhookStyle ?? 'json';
    if (style !== 'json' && style !== 'slack') {
      throw new UsageError(`--webhook-style: ${style}`, 'use json (default) or slack');
    }
    sinks.push(createWebhookSink({ url, style }));
  }
  if (options.securityHub) {
    const { createSecurityHubSink } = await import('../watch/sinks/security-hub.js');
    const region = options.securityHubRegion ?? options.region ?? process.env['AWS_REGION'];
    if (region === undefined) {
      throw new UsageError('--security-hub needs a region', 'pass --security-hub-region or set AWS_REGION');
    }
    sinks.push(
      createSecurityHubSink({
        region,
        onSkipped: (finding, reason) =>
          statusUntrusted(
            `watch: security-hub: finding ${finding.id} left out: ${reason} (it stays in the store and the other sinks)`,
          ),
      }),
    );
  }
  if (sinks.length === 0)
    throw new UsageError(
      'no sink: findings would go nowhere',
      'drop --no-stdout, or add --output, --webhook or --security-hub',
    );
  return sinks;
}

async function runWatch(spec: string, options: WatchCliOptions): Promise<number> {
  if (options.db === undefined) {
    throw new UsageError(
      'watch needs --db FILE',
      'the SQLite file keeps checkpoints, detector state and findings across restarts',
    );
  }
  const settleMs = parseDuration(options.settle, '--settle');
  const sessionTtlMs = parseDuration(options.sessionTtl, '--session-ttl');
  const statusIntervalMs = parseDuration(options.statusEvery, '--status-every');
  const batchItems = parseCount(options.batch, '--batch', 1);
  const threads = parseThreads(options.threads);
  const format = lineFormat(options.format);
  const config = options.config ? loadConfig(options.config) : undefined;
  const awsRanges = loadAwsRanges(resolveRangesFile(options.ipRanges));
  const inventory = loadInventoryWithStatus(options.inventory);
  const { source, poll } = await openWatchSource(spec, options);
  if (options.webLogs !== undefined && /^sqs:\/\//i.test(options.webLogs)) {
    throw new UsageError(
      '--web-logs reads a folder or an s3:// prefix, not a queue',
      'point it at where the web logs land',
    );
  }
  const web =
    options.webLogs !== undefined ? await openWatchSource(options.webLogs, options, WEB_LOG_EXTENSIONS) : undefined;
  const pollIntervalMs = options.poll !== undefined ? parseDuration(options.poll, '--poll') : poll;
  const sinks = await buildSinks(options, format);
  const store = openStore(options.db);
  const controller = new AbortController();
  let signals = 0;
  const stop = (name: string): void => {
    signals += 1;
    if (signals > 1) process.exit(130);
    status(`${name}: finishing the current batch, then stopping (again to stop at once)`);
    controller.abort();
  };
  // A reader that went away (| head) ends the watch; what it did not take stays in the outbox.
  const onStdoutError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE' && !controller.signal.aborted) {
      status('stdout was closed: stopping (findings not printed stay queued for the next start)');
      controller.abort();
    }
  };
  process.stdout.on('error', onStdoutError);
  const onTerm = (): void => stop('SIGTERM');
  const onInt = (): void => stop('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  const warnings = warningPrinter({ done: () => undefined });
  statusUntrusted(
    `watch: reading ${source.name}${web ? ` and web logs in ${web.source.name}` : ''} into ${options.db}; ` +
      `findings to ${sinks.map((s) => s.name).join(', ')}`,
  );
  try {
    const summary = await watch({
      source,
      ...(web ? { webSource: web.source } : {}),
      store,
      sinks,
      awsRanges,
      ...(config ? { config } : {}),
      ...(inventory ? { inventory } : {}),
      settleMs,
      sessionTtlMs,
      pollIntervalMs,
      batchItems,
      threads,
      once: options.once === true,
      signal: controller.signal,
      statusIntervalMs,
      onStatus: (s) => status(statusLine(s)),
      onWarning: (w) =>
        warnings.warn(w.file, w.recordIndex === undefined ? w.file : `${w.file} record ${w.recordIndex}`, w.reason),
      onRetry: (what, error, wait) =>
        statusUntrusted(
          `watch: ${what}: ${error.message}${error.hint ? ` — ${error.hint}` : ''}; trying again in ${formatLag(wait)}`,
        ),
    });
    status(statusLine(summary) + (summary.stopped === 'caught-up' ? ' — caught up, stopping (--once)' : ' — stopped'));
    return 0;
  } finally {
    process.off('SIGTERM', onTerm);
    process.stdout.off('error', onStdoutError);
    process.off('SIGINT', onInt);
    for (const sink of sinks) await sink.close?.();
    await source.close?.();
    store.close();
  }
}

export function registerWatch(program: Command): void {
  const command = program
    .command('watch')
    .description('read a trail continuously and emit each finding once, surviving restarts and crashes')
    .argument(
      '<source>',
      'a folder (recursive), s3://bucket/prefix, or sqs://queue-url (S3 or EventBridge notifications)',
    )
    .option('--db <file>', 'SQLite file for checkpoints, detector state and findings (required)')
    .option('-c, --config <file>', 'offbox.yaml: allowedSourceCidrs, trustedAccounts, suppress')
    .option('-i, --inventory <dir>', 'AWS CLI JSON outputs (describe-instances …); repeatable', collect, [])
    .option(
      '--web-logs <path>',
      'a folder or s3:// prefix of web logs (ALB, CloudFront, WAF, nginx …): the SSRF detectors run too',
    )
    .option('--ip-ranges <file>', "AWS ip-ranges.json to judge addresses against (default: offbox's snapshot)")
    .option('-f, --format <format>', 'line format of emitted findings: ndjson or ocsf', 'ndjson')
    .option('-o, --output <file>', 'append findings to this file (exactly once, also across crashes) instead of stdout')
    .option('--no-stdout', 'do not print findings on stdout')
    .option(
      '--webhook <url>',
      'POST each new finding as JSON to this URL (retries with backoff); repeatable',
      collect,
      [],
    )
    .option('--webhook-style <style>', 'json (finding + text) or slack (text only)', 'json')
    .option('--security-hub', 'import each new finding into AWS Security Hub (BatchImportFindings, ASFF)')
    .option('--security-hub-region <region>', 'Security Hub region (default --region or AWS_REGION)')
    .option(
      '--settle <duration>',
      'emit a finding once the trail is this far past its first call, or it waited this long: evidence delivered later cannot withdraw it',
      '30m',
    )
    .option('--session-ttl <duration>', 'forget sessions with nothing newer than this behind the newest event', '48h')
    .option(
      '--poll <duration>',
      'pause between polls that found nothing (default: 2s folder, 30s S3, long polling for SQS)',
    )
    .option('--batch <n>', 'objects or messages per batch (one transaction)', '200')
    .option('--once', 'read until nothing new is left, emit everything raised, then exit')
    .option('--threads <n>', 'worker threads reading each batch (default: every core)')
    .option('--status-every <duration>', 'how often to print a status line on stderr', '60s')
    .option('--late-days <n>', 'S3: days before the newest read day listed again for late deliveries', '2')
    .option('--since <date>', 'S3: first day to read (YYYY-MM-DD) for trail folders without a checkpoint');
  addSourceOptions(command);
  command.action(async (source: string, options: WatchCliOptions) => {
    process.exitCode = await runWatch(source, options);
  });
}
