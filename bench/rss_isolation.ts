/**
 * Peak memory and wall time of a whole `deno task score` run with thread and with process workers
 * (`--isolation`), twice each, alternating: the RSS of the score process plus its child processes,
 * summed and polled from `/proc` every 50 ms (Linux only). Default heuristics, default jobs.
 *
 *     ./deno run -A bench/rss_isolation.ts data/labels/images
 *
 * @module
 */
const dir = Deno.args[0];
if (!dir) throw new Error("usage: rss_isolation.ts FOLDER");
const cli = new URL("../lib/cli/score.ts", import.meta.url).pathname;
const out = await Deno.makeTempFile({ suffix: ".csv" });

const rssKiB = (pid: number): number => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1] ?? 0);
  } catch {
    return 0; // gone
  }
};
const childrenOf = (pid: number): number[] => {
  const kids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) kids.push(Number(e.name));
    } catch { /* gone */ }
  }
  return kids;
};

for (const isolation of ["thread", "process", "thread", "process"]) {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--max-semi-space-size=1,--expose-gc",
      "-A",
      cli,
      dir,
      "--out",
      out,
      "--restart",
      "--quiet",
    ]
      .concat(["--isolation", isolation]),
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let peak = 0;
  const timer = setInterval(() => {
    const total = rssKiB(child.pid) + childrenOf(child.pid).reduce((a, k) => a + rssKiB(k), 0);
    peak = Math.max(peak, total);
  }, 50);
  const status = await child.status;
  clearInterval(timer);
  if (!status.success) throw new Error(`score --isolation ${isolation} failed (${status.code})`);
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `${isolation}: peak RSS (score + children) ${(peak / 1024).toFixed(0)} MiB, ${seconds.toFixed(1)} s`,
  );
}
await Deno.remove(out);
