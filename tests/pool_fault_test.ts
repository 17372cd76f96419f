/**
 * Issue 18, item 2: a worker that dies or hangs on one file costs that file only. The pool's
 * testing hook (`faults`) makes a worker crash (an uncaught error ends it, as a native crash
 * would) or spin forever on a chosen file; the batch must end with exactly one row per file:
 * `worker_crashed` / `timeout` for the chosen ones, values for every other — including the files
 * that happened to be in flight on the same worker.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openResults, readResults } from "../lib/score/results.ts";
import { scoreColumns, scoreFiles } from "../lib/score/batch.ts";
import { resolveHeuristics } from "../lib/heuristics/registry.ts";
import { writeBmp } from "./bmp_writer.ts";

Deno.test("a worker crash and a hang each cost one error row; every other file is scored", async () => {
  const dir = await Deno.makeTempDir({ prefix: "winnow-faults-" });
  const files: string[] = [];
  for (let i = 0; i < 8; i++) {
    const data = new Uint8Array(8 * 8 * 4).map((_, k) => k % 4 === 3 ? 255 : (k * (i + 3)) % 256);
    const f = join(dir, `img${i}.bmp`);
    await Deno.writeFile(f, writeBmp({ width: 8, height: 8, data }, { bpp: 24 }));
    files.push(f);
  }
  const out = join(dir, "scores.csv");
  const table = await openResults(out, scoreColumns(resolveHeuristics(["sharpness"]), false));
  const summary = await scoreFiles(files, table, {
    heuristics: ["sharpness"],
    jobs: 2,
    timeLimitSeconds: 6,
    faults: { [files[2]]: "crash", [files[5]]: "hang" },
  });
  await table.close();
  const rows = await readResults(out);
  assert.deepEqual(rows.map((r) => r.path).sort(), files);
  for (const [i, f] of files.entries()) {
    const row = rows.find((r) => r.path === f)!;
    const want = i === 2 ? "worker_crashed" : i === 5 ? "timeout" : null;
    assert.equal(row.error_kind, want, `${f}: ${row.error}`);
    if (want) assert.ok(String(row.error).startsWith(f), String(row.error));
    else assert.equal(typeof row.laplacian_var, "number", f);
  }
  assert.deepEqual(summary.errors, { worker_crashed: 1, timeout: 1 });
});
