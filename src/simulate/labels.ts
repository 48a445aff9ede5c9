/** Ground truth: the findings a correct offbox must produce on a simulated organisation, and the stories behind them. */

import type { Label } from './label-match.js';

export type { Label } from './label-match.js';

export interface TimelineEntry {
  /** ISO time. */
  time: string;
  what: string;
}

export interface Story {
  id: string;
  title: string;
  narrative: string;
  accountId: string;
  /** Addresses, accounts and endpoints the attacker used (for people reading the data). */
  attacker: Record<string, string>;
  timeline: TimelineEntry[];
  labels: Label[];
}

/** The content of story.json. */
export interface StoryFile {
  generator: string;
  seed: number;
  start: string;
  end: string;
  organisation: { name: string; accounts: { id: string; name: string }[] };
  stories: Story[];
}
