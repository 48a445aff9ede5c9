import { setTimeout as delay } from 'node:timers/promises';

/** Waits `ms`; sinks take one so tests can record the waits instead of sleeping. */
export type Sleep = (ms: number) => Promise<void>;

export const defaultSleep: Sleep = async (ms) => {
  await delay(ms);
};

/** First retry waits about `initialMs`; each further one doubles, up to `maxMs`. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export const SINK_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000 };

/**
 * The wait before retry number `retry` (1 = first retry): exponential, with "equal jitter" — half
 * fixed, half random — so that many watchers failing together do not retry in lockstep, yet never
 * retry at once.
 */
export function backoffDelay(
  retry: number,
  backoff: Backoff = SINK_BACKOFF,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
