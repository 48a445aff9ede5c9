import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';

const suppressionSchema = z
  .object({
    detector: z.string().min(1),
    match: z.record(z.string(), z.string()).default({}),
    reason: z.string().min(1, 'every suppression needs a reason'),
    expires: z.string().optional(),
  })
  .strict();

const configSchema = z
  .object({
    allowedSourceCidrs: z.array(z.string()).default([]),
    trustedAccounts: z.array(z.string().regex(/^\d{12}$/, 'account ids are 12 digits')).default([]),
    suppress: z.array(suppressionSchema).default([]),
    /**
     * Severity of an instance or workload credential used from a private or special address without a
     * VPC endpoint when nothing corroborates it (one finding per role and address range). Default low.
     */
    unverifiableSourceSeverity: z.enum(['critical', 'high', 'medium', 'low', 'info']).optional(),
  })
  .strict();

/** The `offbox.yaml` settings (SPEC §3). Every field is optional. */
export type OffboxConfig = z.infer<typeof configSchema>;
export type Suppression = z.infer<typeof suppressionSchema>;

export const emptyConfig: OffboxConfig = { allowedSourceCidrs: [], trustedAccounts: [], suppress: [] };

/** Validates a parsed config object; `origin` names it in error messages. */
export function parseConfig(value: unknown, origin: string): OffboxConfig {
  const result = configSchema.safeParse(value ?? {});
  if (!result.success) {
    const problems = result.error.issues
      .map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`)
      .join('; ');
    throw new ConfigError(
      `${origin} is not a valid offbox config: ${problems}`,
      'see docs/configuration.md for the allowed keys (allowedSourceCidrs, trustedAccounts, suppress, unverifiableSourceSeverity)',
    );
  }
  return result.data;
}

// offbox.yaml is a few KiB nested four levels. YAML nested a thousand levels overflows the YAML
// parser's stack, and can abort the process outright (V8 runs out of memory compiling a regex on
// an exhausted stack), so deep nesting is refused before parsing.
const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_CONFIG_NESTING = 64;

/** A bound on the YAML nesting: the longest run of indentation and `-`/`?`/`:` indicators opening a line, or the deepest flow collection. */
function yamlNestingBound(text: string): number {
  let deepest = 0;
  let flow = 0;
  let lineStart = true;
  let prefix = 0;
  let quote = '';
  for (const c of text) {
    if (c === '\n') {
      lineStart = true;
      prefix = 0;
      continue;
    }
    if (lineStart) {
      if (c === ' ' || c === '\t' || c === '-' || c === '?' || c === ':') {
        deepest = Math.max(deepest, ++prefix);
        continue;
      }
      lineStart = false;
    }
    if (quote !== '') {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '[' || c === '{') {
      deepest = Math.max(deepest, ++flow);
    } else if (c === ']' || c === '}') {
      flow = Math.max(0, flow - 1);
    }
  }
  return deepest;
}

/** Reads and validates a YAML (or JSON) config file. */
export function loadConfig(file: string): OffboxConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config ${file}: ${(error as Error).message}`, 'check the --config path');
  }
  if (text.length > MAX_CONFIG_BYTES || yamlNestingBound(text) > MAX_CONFIG_NESTING) {
    throw new ConfigError(
      `${file} is not an offbox config: larger than 1 MiB or nested more than ${MAX_CONFIG_NESTING} levels deep`,
      'see docs/configuration.md for the allowed keys (allowedSourceCidrs, trustedAccounts, suppress, unverifiableSourceSeverity)',
    );
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new ConfigError(
      `${file} is not valid YAML: ${(error as Error).message}`,
      'fix the syntax at the position shown',
    );
  }
  return parseConfig(value, file);
}
