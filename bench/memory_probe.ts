/**
 * One score job in a process of its own, for the memory benchmark (`bench/run.ts` starts it):
 * scores the given folders with the default (pure) heuristics into a CSV file, with `--duplicates`,
 * as `deno task score` does, and prints one JSON line: images scored, seconds and the process's
 * peak resident set size (VmHWM from /proc/self/status, so worker threads and libvips count too).
 *
 *     ./deno run -A bench/memory_probe.ts OUT.csv FOLDER...
 *
 * @module
 */
import { runScoreJob } from "../lib/score/job.ts";

/** Peak resident set size of this process in MiB (Linux), or NaN elsewhere. */
export async function peakRssMiB(): Promise<number> {
  try {
    const status = await Deno.readTextFile("/proc/self/status");
    const m = status.match(/^VmHWM:\s+(\d+) kB/m);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
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
      peakRssMiB: await peakRssMiB(),
    }),
  );
}
