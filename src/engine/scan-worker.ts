/**
 * A scan worker: reads the log objects the main thread hands it into its own ScanState and
 * hands the state back at the end. See scan-pool.ts for the protocol.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Readable } from 'node:stream';
import { OffboxError } from '../errors.js';
import { fileObject } from '../sources/local.js';
import type { LogObject } from '../sources/log-object.js';
import { warningCollector } from './warnings.js';
import { readObject, type InputWarning } from './read-object.js';
import { ScanState } from './scan-state.js';
import type { ToWorker, WorkerSettings } from './scan-pool.js';

const settings = workerData as WorkerSettings;
const port = parentPort!;
/**
 * Events after which a worker hands its state over and starts afresh: its memory then follows the
 * sessions active in the files it read lately, not everything it ever read.
 */
const HAND_OVER_EVENTS = 100_000;
let state = new ScanState();
const { warn } = warningCollector<InputWarning>({
  strict: settings.strict,
  onWarning: (warning) => port.postMessage({ type: 'warning', warning }),
  where: (w) => (w.recordIndex === undefined ? w.file : `${w.file} record ${w.recordIndex}`),
});

let queue: Promise<void> = Promise.resolve();

port.on('message', (message: ToWorker) => {
  queue = queue.then(() => handle(message));
});

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'finish') {
    port.postMessage({ type: 'state', snapshot: state.snapshot() });
    return;
  }
  const object: LogObject =
    message.path !== undefined
      ? fileObject(message.path, message.size)
      : { name: message.name, size: message.size, open: async () => Readable.from([Buffer.from(message.bytes!)]) };
  object.name = message.name;
  try {
    const stats = await readObject(object, {
      limits: settings.limits,
      strict: settings.strict,
      fastPath: settings.fastPath,
      warn,
      addEvent: (event) => state.addEvent(event),
      onEvents: (events, bytes) => port.postMessage({ type: 'events', events, bytes }),
    });
    if (state.events >= HAND_OVER_EVENTS) {
      port.postMessage({ type: 'partial', snapshot: state.snapshot() });
      state = new ScanState();
    }
    port.postMessage({ type: 'done', id: message.id, stats });
  } catch (error) {
    const known = error instanceof OffboxError;
    port.postMessage({
      type: 'failed',
      id: message.id,
      error: {
        className: known ? error.name : 'Error',
        message: error instanceof Error ? error.message : String(error),
        hint: known ? error.hint : undefined,
        stack: error instanceof Error ? error.stack : undefined,
      },
    });
  }
}
