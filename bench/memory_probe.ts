/**
 * One score job in a process of its own, for the memory benchmark (`bench/run.ts` starts it):
 * scores the given folders with the default (pure) heuristics into a CSV file, with `--duplicates`,
 * as `deno task score` does, and prints one JSON line: images scored, seconds and the process's
 * peak resident set size (sampled; see RssPeak).
 *
 *     ./deno run -A bench/memory_probe.ts OUT.csv FOLDER...
 *
 * @module
 */
import { runScoreJob } from "../lib/score/job.ts";

/**
 * The largest resident set size of this process seen so far, in MiB, sampled every 20 ms
 * (`Deno.memoryUsage().rss`, which counts worker threads and libvips too). Neither getrusage's
 * `maxrss` (Linux carries it over from the parent across fork and exec, so a child of a big process
 * inherits its peak) nor /proc/self/status (Deno wants `--allow-all` for it) works here.
 */
export class RssPeak {
  #peak = 0;
  #timer = setInterval(() => this.sample(), 20);
  /** Takes one sample now. */
  sample(): number {
    return this.#peak = Math.max(this.#peak, Deno.memoryUsage().rss / 2 ** 20);
  }
  /** Stops sampling and returns the peak. */
  stop(): number {
    clearInterval(this.#timer);
    return this.sample();
  }
}

if (import.meta.main) {
  const [out, ...folders] = Deno.args;
  const peak = new RssPeak();
  const t0 = performance.now();
  const r = await runScoreJob(folders, out, {
    quiet: true,
    restart: true,
    keepRows: false,
    duplicatesOut: `${out}.dupes.csv`,
  });
  const seconds = (performance.now() - t0) / 1000;
  const errors = Object.values(r.errors).reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({ images: r.scored, errors, seconds, peakRssMiB: peak.stop() }));
}
