import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Command } from 'commander';
import { InputError, UsageError } from '../errors.js';
import { createApp } from '../serve/app.js';
import { openStore } from '../store/store.js';
import { status, statusUntrusted } from './io.js';

export interface ServeCliOptions {
  db?: string;
  port?: string;
  host?: string;
  open?: boolean;
}

/** What a run needs from outside; tests replace each. */
export interface ServeDeps {
  /** Resolves when the server should stop; default: SIGINT or SIGTERM. */
  stopSignal?: () => Promise<string>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function parsePort(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d{1,5}$/.test(value.trim()) || Number(value) > 65_535) {
    throw new UsageError(
      `--port ${value} is not a port`,
      'give a number from 1 to 65535, or leave it out for a free one',
    );
  }
  return Number(value);
}

function urlHost(host: string): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return bare.includes(':') ? `[${bare}]` : bare;
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(signal);
    };
    const onInt = (): void => stop('SIGINT');
    const onTerm = (): void => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

function openBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => status(`could not open a browser (${command}): open the address above yourself`));
    child.unref();
  } catch {
    status('could not open a browser: open the address above yourself');
  }
}

/**
 * `offbox serve`: the triage dashboard on 127.0.0.1 (or an explicit --host), over an existing store,
 * until SIGINT or SIGTERM. Prints the address with this run's token on stderr and alone on stdout.
 */
export async function runServe(options: ServeCliOptions, deps: ServeDeps = {}): Promise<void> {
  const db = options.db ?? '';
  if (db === '') {
    throw new UsageError('offbox serve needs --db FILE', `name the store that offbox scan … --db FILE wrote`);
  }
  if (!existsSync(db)) {
    throw new InputError(
      `no store at ${db}`,
      `create one with offbox scan PATH… --db ${db} (or offbox watch … --db ${db}, offbox exposure … --db ${db})`,
    );
  }
  const port = parsePort(options.port);
  const hostname = options.host?.trim() || '127.0.0.1';
  const loopback = LOOPBACK_HOSTS.has(hostname.toLowerCase());
  if (!loopback) {
    statusUntrusted(
      `warning: serving on ${hostname} instead of 127.0.0.1: anyone who can reach it and learns the address can read the findings and change their status`,
    );
  }
  const store = openStore(db);
  let boundPort: number | undefined;
  const token = randomBytes(24).toString('base64url');
  const app = createApp({
    store,
    token,
    port: () => boundPort,
    ...(loopback ? {} : { host: hostname.replace(/^\[(.*)\]$/, '$1') }),
  });
  const server = serve({ fetch: app.fetch, hostname: hostname.replace(/^\[(.*)\]$/, '$1'), port });
  try {
    const address = await new Promise<AddressInfo>((resolve, reject) => {
      server.once('listening', () => resolve(server.address() as AddressInfo));
      server.once('error', reject);
    }).catch((err: NodeJS.ErrnoException) => {
      throw new InputError(
        `cannot listen on ${hostname}:${port}: ${err.message}`,
        err.code === 'EADDRINUSE' ? 'pick another --port, or leave it out for a free one' : 'check --host and --port',
      );
    });
    boundPort = address.port;
    const url = `http://${urlHost(hostname)}:${address.port}/?token=${token}`;
    statusUntrusted(`serving ${db} at ${url}`);
    status('press Ctrl-C to stop; status changes are written to the store and its audit log');
    process.stdout.write(`${url}\n`);
    if (options.open === true) openBrowser(url);
    const signal = await (deps.stopSignal ?? untilSignal)();
    status(`${signal}: stopping`);
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Browsers keep connections open; without this close() would wait for them.
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
    store.close();
  }
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('the local triage dashboard over a findings store: incidents, timelines, exposure, containment plans')
    .option('--db <file>', 'the findings store (offbox scan … --db FILE, watch or exposure wrote it)')
    .option('--port <n>', 'port on 127.0.0.1 (default: a free one, printed)')
    .option('--host <host>', 'bind another address than 127.0.0.1 (warns: the token is then all that protects it)')
    .option('--open', 'open the dashboard in the default browser')
    .action(async (options: ServeCliOptions) => {
      await runServe(options);
    });
}
