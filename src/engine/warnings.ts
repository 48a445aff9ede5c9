import { InputError } from '../errors.js';

/** Warnings kept in a result; every one still goes to onWarning and into the counts. */
export const MAX_KEPT_WARNINGS = 10_000;

/**
 * Collects input warnings for a reader: reported through `onWarning`, kept up to
 * MAX_KEPT_WARNINGS, or — with strict — thrown as an InputError at the first one.
 */
export function warningCollector<W extends { reason: string }>(options: {
  strict?: boolean | undefined;
  onWarning?: ((warning: W) => void) | undefined;
  /** Where the problem is, for the strict error: "file record 3", "file line 7". */
  where: (warning: W) => string;
}): { warnings: W[]; warn: (warning: W) => void } {
  const warnings: W[] = [];
  return {
    warnings,
    warn(warning) {
      if (options.strict) {
        throw new InputError(
          `${options.where(warning)}: ${warning.reason}`,
          'fix or remove the input, or run without --strict to skip it',
        );
      }
      if (warnings.length < MAX_KEPT_WARNINGS) warnings.push(warning);
      options.onWarning?.(warning);
    },
  };
}
