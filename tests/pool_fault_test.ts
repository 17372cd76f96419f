/**
 * Issue 18, item 2: a worker that dies or hangs on one file costs that file only. The pool's
 * testing hook (`faults`) makes a worker fail on a chosen file:
 * - thread workers: an uncaught JS error (`crash`) or an endless loop (`hang`);
 * - process workers (`isolation: "process"`) also a REAL native crash (`segfault`: an invalid
 *   memory access through FFI, the child dies by SIGSEGV) and a REAL V8 out-of-memory abort
 *   (`oom`: live objects until the child's heap limit, set small here).
 * The batch must end with exactly one row per file: `worker_crashed` / `timeout` for the chosen
 * ones, values for every other, including the files that happened to be in flight on the same
 * worker. The last test goes through `deno task score` as a user would.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openResults, readResults } from "../lib/score/results.ts";
import { scoreColumns, scoreFiles } from "../lib/score/batch.ts";
import { resolveHeuristics } from "../lib/heuristics/registry.ts";
import type { Fault, Isolation } from "../lib/score/pool.ts";
import { writeBmp } from "./bmp_writer.ts";
import { cliArgs, runCli } from "./cli.ts";

async function makeImages(n: number): Promise<{ dir: string; files: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "winnow-faults-" });
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const data = new Uint8Array(8 * 8 * 4).map((_, k) => k % 4 === 3 ? 255 : (k * (i + 3)) % 256);
    const f = join(dir, `img${i}.bmp`);
    await Deno.writeFile(f, writeBmp({ width: 8, height: 8, data }, { bpp: 24 }));
    files.push(f);
  }
  return { dir, files };
}

/** Scores `n` files with `faults` (by index) and checks one row per file, each as expected. */
async function scoreWithFaults(
  n: number,
  faults: Record<number, Fault>,
  isolation: Isolation,
  expect: Record<number, { kind: string; message?: RegExp }>,
) {
  const { dir, files } = await makeImages(n);
  const out = join(dir, "scores.csv");
  const table = await openResults(out, scoreColumns(resolveHeuristics(["sharpness"]), false));
  const summary = await scoreFiles(files, table, {
    heuristics: ["sharpness"],
    jobs: 2,
    // Long enough for a tiny image on a machine shared by many runs (load 15 on 2 cores was seen);
    // a child that runs out of memory churns the CPU before it dies.
    timeLimitSeconds: isolation === "process" ? 12 : 6,
    isolation,
    workerHeapMb: 96,
    faults: Object.fromEntries(Object.entries(faults).map(([i, f]) => [files[Number(i)], f])),
  });
  await table.close();
  const rows = await readResults(out);
  assert.deepEqual(rows.map((r) => r.path).sort(), files);
  const kinds: Record<string, number> = {};
  for (const [i, f] of files.entries()) {
    const row = rows.find((r) => r.path === f)!;
    const want = expect[i];
    assert.equal(row.error_kind, want?.kind ?? null, `${f}: ${row.error}`);
    if (want) {
      kinds[want.kind] = (kinds[want.kind] ?? 0) + 1;
      assert.ok(String(row.error).startsWith(f), String(row.error));
      if (want.message) assert.match(String(row.error), want.message);
    } else assert.equal(typeof row.laplacian_var, "number", f);
  }
  assert.deepEqual(summary.errors, kinds);
  await Deno.remove(dir, { recursive: true });
}

Deno.test("thread workers: a worker crash and a hang each cost one error row; every other file is scored", async () => {
  await scoreWithFaults(8, { 2: "crash", 5: "hang" }, "thread", {
    2: { kind: "worker_crashed" },
    5: { kind: "timeout" },
  });
});

Deno.test("process workers: a segfault, a V8 out-of-memory, a JS crash and a hang each cost one error row", async () => {
  await scoreWithFaults(10, { 1: "segfault", 4: "oom", 6: "crash", 8: "hang" }, "process", {
    1: {
      kind: "worker_crashed",
      message: /worker crashed while scoring it: its process was killed by SIGSEGV$/,
    },
    4: {
      kind: "worker_crashed",
      message: /its process was killed by SIG[A-Z]+: V8 ran out of memory \(worker heap limit 96 MB\)$/,
    },
    6: { kind: "worker_crashed", message: /its process exited with code 1$/ },
    8: { kind: "timeout" },
  });
});

Deno.test("deno task score --isolation process: a segfault and an out-of-memory cost one row each; rows = files", async () => {
  const { dir, files } = await makeImages(7);
  const out = join(dir, "scores.csv");
  const r = await runCli(
    "score",
    [dir, "--out", out, "--quiet", "--jobs", "2", "--isolation", "process", "--worker-heap-mb", "96"],
    { WINNOW_TEST_FAULTS: JSON.stringify({ [files[2]]: "segfault", [files[5]]: "oom" }) },
  );
  assert.equal(r.code, 0, r.stderr);
  const rows = await readResults(out);
  assert.equal(rows.length, files.length);
  assert.deepEqual(rows.map((x) => x.path).sort(), files);
  for (const [i, f] of files.entries()) {
    const row = rows.find((x) => x.path === f)!;
    if (i === 2) assert.match(String(row.error), /killed by SIGSEGV$/);
    else if (i === 5) assert.match(String(row.error), /V8 ran out of memory/);
    else assert.equal(typeof row.laplacian_var, "number", `${f}: ${row.error}`);
    assert.equal(row.error_kind, i === 2 || i === 5 ? "worker_crashed" : null);
  }
  assert.match(r.stdout, /scored 7 in/);
  await Deno.remove(dir, { recursive: true });
});

/** Pids of the live children of `pid` (from /proc; Linux). */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(ppid) === pid && state !== "Z") kids.push(Number(e.name));
    } catch { /* gone */ }
  }
  return kids;
}

Deno.test({
  name: "a score run killed with SIGKILL leaves no process worker behind, not even one stuck on a file",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const { dir, files } = await makeImages(4);
    const out = join(dir, "scores.csv");
    const cli = new Deno.Command(Deno.execPath(), {
      args: cliArgs("score", [dir, "--out", out, "--quiet", "--jobs", "2", "--isolation", "process"]),
      env: { NO_COLOR: "1", WINNOW_TEST_FAULTS: JSON.stringify({ [files[0]]: "hang" }) },
      stdout: "null",
      stderr: "null",
    }).spawn();
    // The worker with img0 spins on it; the other scores the rest. Wait for their rows.
    const rows = async () => (await Deno.readTextFile(out).catch(() => "")).trim().split("\n").length - 1;
    for (let i = 0; i < 600 && (await rows()) < 2; i++) await new Promise((r) => setTimeout(r, 100));
    const workers = childrenOf(cli.pid);
    assert.equal(workers.length, 2, "two process workers");
    cli.kill("SIGKILL");
    await cli.status;
    let left: number[] = workers;
    for (let i = 0; i < 100 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = workers.filter((pid) => {
        try {
          const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
          return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
        } catch {
          return false;
        }
      });
    }
    assert.deepEqual(left, [], "orphaned workers still running");
    await Deno.remove(dir, { recursive: true });
  },
});
