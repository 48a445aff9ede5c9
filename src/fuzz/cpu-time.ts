/**
 * Milliseconds of CPU this process spent since `since` (from `process.cpuUsage()`). Time bounds in the
 * fuzz targets are about work done (a quadratic regex, a nesting blow-up), not about how busy the machine
 * is: wall time doubles when test files run side by side on two cores, CPU time does not.
 */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}
