/** How traffic generators hand their output to the writers. */
import type { WebRequest } from '../alb-writer.js';
import type { EventSpec } from '../record.js';

export interface Sink {
  ct(spec: EventSpec): void;
  web(request: WebRequest): void;
}

/**
 * A source of events. `run` produces everything whose time falls in [t0, t1) — calls may be
 * emitted in any order inside the interval. Scalable generators multiply their rates by
 * `scale` (background volume); fixed ones ignore it (vending, agents, stories, control plane).
 */
export interface Generator {
  readonly name: string;
  readonly scalable: boolean;
  run(t0: number, t1: number, sink: Sink, scale: number): void;
}

/** A sink that only counts: used to calibrate the background volume. */
export class CountingSink implements Sink {
  events = 0;
  webLines = 0;
  ct(): void {
    this.events++;
  }
  web(): void {
    this.webLines++;
  }
}

/** Emits pre-planned items in time order as the clock passes them. */
export class Schedule<T extends { time: number }> {
  private readonly items: T[];
  private next = 0;

  constructor(items: T[]) {
    this.items = [...items].sort((a, b) => a.time - b.time);
  }

  /** Items with time in [.., t1) not yet taken. */
  take(t1: number): T[] {
    const out: T[] = [];
    while (this.next < this.items.length && this.items[this.next]!.time < t1) out.push(this.items[this.next++]!);
    return out;
  }

  get all(): readonly T[] {
    return this.items;
  }
}
