import { Worker } from 'node:worker_threads';
import { ConfigError, InputError, OffboxError, UsageError, AwsError } from '../errors.js';
import type { FrameLimits } from '../cloudtrail/framing.js';
import type { DecodeLimits, LogObject } from '../sources/log-object.js';
import type { InputWarning, ObjectReadStats } from './read-object.js';
import { readRaw, WHOLE_OBJECT_MAX_BYTES } from './read-object.js';
import type { ScanStateSnapshot } from './scan-state.js';

/*
 * Protocol. Main → worker: `read` (a local path, or the raw bytes of an object the main thread
 * fetched), then `finish`. Worker → main: `warning`, `events` (progress), `done` or `failed` per
 * object, and `state` (its ScanState) after `finish`. A worker reads its objects one at a time;
 * each holds at most MAX_QUEUED, so memory stays bounded whatever the input size.
 */

export interface WorkerSettings {
  limits: FrameLimits & DecodeLimits;
  strict: boolean;
  fastPath: boolean;
}

export type ToWorker =
  | { type: 'read'; id: number; name: string; size: number | undefined; path?: string; bytes?: Uint8Array }
  | { type: 'finish' };

type FromWorker =
  | { type: 'warning'; warning: InputWarning }
  | { type: 'events'; events: number; bytes: number }
  | { type: 'done'; id: number; stats: ObjectReadStats }
  | { type: 'failed'; id: number; error: { className: string; message: string; hint?: string; stack?: string } }
  | { type: 'partial'; snapshot: ScanStateSnapshot }
  | { type: 'state'; snapshot: ScanStateSnapshot };

const MAX_QUEUED = 2;
/** Objects fetched by the main thread (S3) at once. */
const MAX_FETCHES = 8;

export interface PoolCallbacks {
  onWarning: (warning: InputWarning) => void;
  onObjectDone: (name: string, stats: ObjectReadStats) => void;
  onEvents: (events: number, bytes: number) => void;
  /** The main thread could not fetch an object's bytes: report it as the in-process reader would. */
  onFetchFailed: (object: LogObject, error: unknown) => void;
  /** A worker's state so far (it starts afresh): merge it now, so no thread holds everything twice. */
  onPartial: (snapshot: ScanStateSnapshot) => void;
}

interface Slot {
  worker: Worker;
  queued: number;
  snapshot?: (snapshot: ScanStateSnapshot) => void;
}

/** True when a worker can read the object: a local file, or an object small enough to fetch whole. */
export function poolable(object: LogObject): boolean {
  return object.localPath !== undefined || (object.size !== undefined && object.size <= WHOLE_OBJECT_MAX_BYTES);
}

function workerUrl(): URL {
  // Under tsx (tests) the sources are .ts; built, they are .js.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./scan-worker${ext}`, import.meta.url);
}

function rebuildError(error: { className: string; message: string; hint?: string; stack?: string }): Error {
  const classes: Record<string, new (message: string, hint?: string) => OffboxError> = {
    InputError,
    ConfigError,
    UsageError,
    AwsError,
    OffboxError,
  };
  const Class = classes[error.className];
  if (Class) return new Class(error.message, error.hint);
  const rebuilt = new Error(error.message);
  if (error.stack) rebuilt.stack = error.stack;
  return rebuilt;
}

/**
 * Worker threads reading log objects in parallel, each into its own ScanState. `submit` waits
 * while every worker is busy; `finish` returns every worker's state for the main thread to merge.
 */
export class ScanPool {
  private readonly slots: Slot[] = [];
  private readonly names = new Map<number, string>();
  private readonly waiting: (() => void)[] = [];
  private readonly fetches = new Set<Promise<void>>();
  private nextId = 0;
  private failure: Error | undefined;
  private failed: ((error: Error) => void) | undefined;
  private closed = false;

  constructor(
    threads: number,
    settings: WorkerSettings,
    private readonly callbacks: PoolCallbacks,
  ) {
    for (let i = 0; i < threads; i++) {
      const url = workerUrl();
      // Run from the TypeScript sources (the tests), the worker registers tsx's loader itself first.
      const worker = url.pathname.endsWith('.ts')
        ? new Worker(
            `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`,
            { eval: true, workerData: settings },
          )
        : new Worker(url, { workerData: settings });
      const slot: Slot = { worker, queued: 0 };
      worker.on('message', (message: FromWorker) => this.receive(slot, message));
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => {
        if (!this.closed && code !== 0) this.fail(new Error(`a scan worker stopped with exit code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  private receive(slot: Slot, message: FromWorker): void {
    switch (message.type) {
      case 'warning':
        this.guard(() => this.callbacks.onWarning(message.warning));
        return;
      case 'events':
        this.callbacks.onEvents(message.events, message.bytes);
        return;
      case 'done':
        slot.queued -= 1;
        this.guard(() => this.callbacks.onObjectDone(this.names.get(message.id) ?? '', message.stats));
        this.names.delete(message.id);
        this.waiting.shift()?.();
        return;
      case 'failed':
        this.fail(rebuildError(message.error));
        return;
      case 'partial':
        this.guard(() => this.callbacks.onPartial(message.snapshot));
        return;
      case 'state':
        slot.snapshot?.(message.snapshot);
        return;
    }
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.failed?.(error);
    for (const wake of this.waiting.splice(0)) wake();
  }

  private async freeSlot(): Promise<Slot> {
    for (;;) {
      if (this.failure) throw this.failure;
      let best: Slot | undefined;
      for (const slot of this.slots) if (slot.queued < MAX_QUEUED && (!best || slot.queued < best.queued)) best = slot;
      if (best) return best;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  /** Hands one object to a worker; waits while all are busy. Rejects once any worker has failed. */
  async submit(object: LogObject): Promise<void> {
    if (this.failure) throw this.failure;
    if (object.localPath !== undefined) {
      const slot = await this.freeSlot();
      this.post(slot, object, { path: object.localPath });
      return;
    }
    while (this.fetches.size >= MAX_FETCHES) await Promise.race(this.fetches);
    if (this.failure) throw this.failure;
    const fetch = (async () => {
      let bytes: Buffer;
      try {
        bytes = await readRaw(object);
      } catch (error) {
        this.callbacks.onFetchFailed(object, error);
        return;
      }
      const slot = await this.freeSlot();
      this.post(slot, object, { bytes });
    })().catch((error: Error) => this.fail(error));
    this.fetches.add(fetch);
    void fetch.finally(() => this.fetches.delete(fetch));
  }

  private post(slot: Slot, object: LogObject, what: { path?: string; bytes?: Buffer }): void {
    const id = this.nextId++;
    this.names.set(id, object.name);
    slot.queued += 1;
    const message: ToWorker = { type: 'read', id, name: object.name, size: object.size };
    if (what.path !== undefined) {
      message.path = what.path;
      slot.worker.postMessage(message);
    } else {
      const bytes = new Uint8Array(what.bytes!.buffer, what.bytes!.byteOffset, what.bytes!.length);
      message.bytes = bytes;
      message.size = bytes.length;
      // Whole ArrayBuffers move without a copy; a slice of a pooled one is copied.
      const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      slot.worker.postMessage(message, own ? [bytes.buffer as ArrayBuffer] : []);
    }
  }

  /** Waits for every object, collects every worker's state and stops the workers. */
  async finish(): Promise<ScanStateSnapshot[]> {
    try {
      await Promise.all(this.fetches);
      const failedPromise = new Promise<never>((_, reject) => {
        this.failed = reject;
        if (this.failure) reject(this.failure);
      });
      const states = this.slots.map(
        (slot) =>
          new Promise<ScanStateSnapshot>((resolve) => {
            slot.snapshot = resolve;
            slot.worker.postMessage({ type: 'finish' } satisfies ToWorker);
          }),
      );
      return await Promise.race([Promise.all(states), failedPromise]);
    } finally {
      await this.close();
    }
  }

  /** Stops the workers (also on failure or interruption). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }
}
