/**
 * One whole `deno task score` job in a fresh process, for the memory benchmark (`bench/run.ts` starts
 * it): runs `lib/cli/score.ts` with the flags of the `score` task in deno.json (so the same V8 flags and
 * permissions as users get), the default heuristics, `--duplicates`, `--restart --quiet` and the given
 * `--isolation`, and watches it from outside through `/proc` (Linux only) every 20 ms: the peak resident
 * set size (`VmHWM`, the kernel's own high-water mark, so no peak between samples is missed) of the score
 * process and of each of its child processes (the process workers), and the largest sampled sum of their
 * current RSS (`VmRSS`). Prints one JSON line.
 *
 *     ./deno run -A bench/memory_probe.ts process|thread OUT.csv FOLDER...
 *
 * @module
 */

/** The peak RSS figures of one score job, in MiB. */
export interface JobPeaks {
  /** The score process's own high-water mark. */
  parentMiB: number;
  /** The largest high-water mark among its child processes (0 with thread workers). */
  largestChildMiB: number;
  /** How many child processes were seen over the run. */
  children: number;
  /** The largest sampled sum of the current RSS of the score process and its children. */
  totalMiB: number;
}

/** `VmHWM` and `VmRSS` of a process in KiB, or undefined when it is gone. */
function status(pid: number): { hwm: number; rss: number } | undefined {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/status`);
    return {
      hwm: Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0),
      rss: Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0),
    };
  } catch {
    return undefined;
  }
}

/** The child processes of `pid`, from `/proc/PID/task/TID/children` of each of its threads. */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        const text = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/children`).trim();
        if (text) kids.push(...text.split(/\s+/).map(Number));
      } catch { /* thread gone */ }
    }
  } catch { /* process gone */ }
  return kids;
}

/**
 * Polls the peak RSS of process `pid` and of its children until `stop()`.
 *
 * @example
 * const watch = new TreePeak(child.pid); await child.status; const peaks = watch.stop();
 */
export class TreePeak {
  #parent = 0;
  #children = new Map<number, number>();
  #total = 0;
  #timer: ReturnType<typeof setInterval>;
  constructor(readonly pid: number, everyMs = 20) {
    this.#timer = setInterval(() => this.sample(), everyMs);
  }
  /** Takes one sample now. */
  sample(): void {
    const p = status(this.pid);
    if (!p) return;
    this.#parent = Math.max(this.#parent, p.hwm);
    let total = p.rss;
    for (const kid of childrenOf(this.pid)) {
      const c = status(kid);
      if (!c) continue;
      this.#children.set(kid, Math.max(this.#children.get(kid) ?? 0, c.hwm));
      total += c.rss;
    }
    this.#total = Math.max(this.#total, total);
  }
  /** Stops polling and returns the peaks in MiB. */
  stop(): JobPeaks {
    clearInterval(this.#timer);
    return {
      parentMiB: this.#parent / 1024,
      largestChildMiB: Math.max(0, ...this.#children.values()) / 1024,
      children: this.#children.size,
      totalMiB: this.#total / 1024,
    };
  }
}

/** The `deno run` flags of the `score` task in deno.json (V8 flags and permissions). */
async function scoreTaskFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const words = String(config.tasks.score).split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run") {
    throw new Error(`unexpected score task: ${config.tasks.score}`);
  }
  return words.slice(2).filter((w) => w.startsWith("--"));
}

if (import.meta.main) {
  const [isolation, out, ...folders] = Deno.args;
  if (!["process", "thread"].includes(isolation) || !out || folders.length === 0) {
    throw new Error("usage: memory_probe.ts process|thread OUT.csv FOLDER...");
  }
  const cli = new URL("../lib/cli/score.ts", import.meta.url).pathname;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...await scoreTaskFlags(),
      cli,
      ...folders,
      "--out",
      out,
      "--duplicates",
      `${out}.dupes.csv`,
    ]
      .concat(["--restart", "--quiet", "--isolation", isolation]),
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const watch = new TreePeak(child.pid);
  const result = await child.output();
  const peaks = watch.stop();
  const seconds = (performance.now() - t0) / 1000;
  if (!result.success) {
    throw new Error(`score --isolation ${isolation} failed: ${new TextDecoder().decode(result.stderr)}`);
  }
  const rows = (await Deno.readTextFile(out)).trim().split("\n").length - 1;
  console.log(JSON.stringify({ isolation, images: rows, seconds, ...peaks }));
}
