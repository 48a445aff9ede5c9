/**
 * JSON nesting depth: `JSON.parse` copes with any depth, but `JSON.stringify`, structured clone
 * (worker messages) and recursive walks overflow the stack a few thousand levels down. Real
 * CloudTrail records nest about ten levels, so anything past the limit is hostile or broken.
 */

/** Deepest nesting of arrays and objects read in one record (the record itself is level 1). */
export const DEFAULT_MAX_NESTING_DEPTH = 128;

/** True when the JSON text opens more than `maxDepth` arrays and objects inside one another (strings are skipped). */
export function jsonNestingExceeds(text: string, maxDepth: number = DEFAULT_MAX_NESTING_DEPTH): boolean {
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c /* \ */) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}
