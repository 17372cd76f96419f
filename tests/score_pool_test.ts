import assert from "node:assert/strict";
import { REFERENCE_DIR } from "./golden.ts";
import { ScorePool } from "../lib/score/pool.ts";
import { scoreFiles } from "../lib/score/batch.ts";
import type { ResultTable, Row } from "../lib/score/results.ts";

function memoryTable(): ResultTable & { rows: Row[] } {
  const rows: Row[] = [];
  return {
    format: "csv",
    done: new Set(),
    rows,
    write: (r) => (rows.push(r), Promise.resolve()),
    close: () => Promise.resolve(),
  };
}

Deno.test("pool knobs (libvips threads, files in flight) change speed only: same rows, every file once", async () => {
  const names = ["facephoto2.png", "gradient.png", "noise.png", "facephoto6.png"];
  const files = [...names, "missing.png"].map((n) => `${REFERENCE_DIR}images/${n}`);
  const byPath = (rows: Row[]) => Object.fromEntries(rows.map((r) => [r.path, r]));
  const results = [];
  for (const opts of [{ jobs: 2 }, { jobs: 1, vipsThreads: 2, inFlight: 1 }, { jobs: 2, inFlight: 3 }]) {
    const pool = new ScorePool({ ...opts, heuristics: ["sharpness", "skin", "phash"] });
    try {
      assert.equal(pool.capacity, opts.jobs * (opts.inFlight ?? 2));
      const t = memoryTable();
      const s = await scoreFiles(files, t, { pool });
      assert.equal(s.scored, files.length);
      assert.deepEqual(t.rows.map((r) => r.path).sort(), [...files].sort());
      results.push(byPath(t.rows));
    } finally {
      pool.close();
    }
  }
  assert.deepEqual(results[1], results[0]);
  assert.deepEqual(results[2], results[0]);
  assert.equal(results[0][files[4]].error_kind, "not_found");
});
