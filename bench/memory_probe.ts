/**
 * One score job in a process of its own, for the memory benchmark (`bench/run.ts` starts it):
 * scores the given folders with the default (pure) heuristics into a CSV file, with `--duplicates`,
 * as `deno task score` does, and prints one JSON line: images scored, seconds and the process's
 * peak resident set size (getrusage, so worker threads and libvips count too).
 *
 *     ./deno run -A bench/memory_probe.ts OUT.csv FOLDER...
 *
 * @module
 */
import process from "node:process";
import { runScoreJob } from "../lib/score/job.ts";

/**
 * Peak resident set size of this process in MiB: `getrusage(RUSAGE_SELF).ru_maxrss` through
 * `node:process` (reading /proc/self/status would need `--allow-all` under Deno).
 */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

if (import.meta.main) {
  const [out, ...folders] = Deno.args;
  const t0 = performance.now();
  const r = await runScoreJob(folders, out, {
    quiet: true,
    restart: true,
    keepRows: false,
    duplicatesOut: `${out}.dupes.csv`,
  });
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      images: r.scored,
      errors: Object.values(r.errors).reduce((a, b) => a + b, 0),
      seconds,
      peakRssMiB: peakRssMiB(),
    }),
  );
}
