import { Command } from 'commander';

/**
 * Runs one registered command in-process, as `offbox NAME ARGS…`, capturing stderr and the exit code
 * (restored afterwards, so one test's exit code never leaks into the test runner's).
 */
export async function runCommandInProcess(
  register: (program: Command) => void,
  name: string,
  args: string[],
): Promise<{ code: number | undefined; stderr: string }> {
  const program = new Command('offbox').exitOverride();
  register(program);
  const write = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  const before = process.exitCode;
  try {
    process.exitCode = undefined;
    await program.parseAsync(['node', 'offbox', name, ...args]);
    return { code: process.exitCode as number | undefined, stderr };
  } finally {
    process.stderr.write = write;
    process.exitCode = before;
  }
}
