/**
 * Known error classes. Each carries a hint that tells the user what to do next;
 * the CLI prints `offbox: <message> — <hint>` and exits 2.
 */
export class OffboxError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** Bad or unreadable input: a log file, a folder, stdin, an S3 object. */
export class InputError extends OffboxError {}

/** A bad configuration file or option value. */
export class ConfigError extends OffboxError {}

/** A failed call to AWS (S3, IAM, EC2, Athena …). */
export class AwsError extends OffboxError {}

/** A command-line usage mistake. */
export class UsageError extends OffboxError {}

/** Exit codes are a contract for scripts (SPEC §4). */
export const ExitCode = {
  ok: 0,
  findings: 1,
  error: 2,
} as const;

/** What an AWS SDK (or network) failure says about itself, read defensively. */
export interface SdkFailure {
  name: string;
  code: string;
  message: string;
  status: number | undefined;
}

export function sdkFailure(err: unknown): SdkFailure {
  const e = (err ?? {}) as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  return {
    name: typeof e.name === 'string' ? e.name : '',
    code: typeof e.code === 'string' ? e.code : '',
    message: typeof e.message === 'string' ? e.message : String(err),
    status: e.$metadata?.httpStatusCode,
  };
}

const NETWORK_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_CONNECT_TIMEOUT',
  'TimeoutError',
  'RequestTimeout',
]);

/** True when the request never got an answer: the network, DNS, a refused connection or a timeout. */
export function isNetworkFailure(failure: Pick<SdkFailure, 'name' | 'code'>): boolean {
  return NETWORK_FAILURES.has(failure.code) || NETWORK_FAILURES.has(failure.name);
}
