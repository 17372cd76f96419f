import assert from "node:assert/strict";
import { join } from "node:path";
import { type Column, openResults, readResults, type Row, streamResults } from "../lib/score/results.ts";
import { summarizeRows, SummaryAccumulator } from "../lib/score/summary.ts";

const COLUMNS: Column[] = [
  { name: "path", type: "string" },
  { name: "error", type: "string" },
  { name: "v", type: "number" },
  { name: "kept", type: "boolean" },
];

// Cells that cross the 64 KiB read chunks, quoted newlines and commas, a BOM-free UTF-8 name.
function rows(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    path: i % 7 === 0 ? `dir/"odd",\nname ${i} é` : `img${i}.png`,
    error: i % 11 === 0 ? `img${i}: broken\nsecond line ${"x".repeat(i % 300)}` : null,
    v: i % 13 === 0 ? null : i * 0.5,
    kept: i % 3 === 0,
  }));
}

Deno.test("streamResults gives the rows readResults gives, for CSV and JSONL, torn last line skipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const ext of ["csv", "jsonl"]) {
      const file = join(dir, `t.${ext}`);
      const t = await openResults(file, COLUMNS, { resume: false });
      for (const r of rows(3000)) await t.write(r);
      await t.close();
      await Deno.writeTextFile(file, ext === "csv" ? "torn,row" : '{"path":"to', { append: true });
      const streamed: Row[] = [];
      for await (const r of streamResults(file, COLUMNS)) streamed.push(r);
      const whole = await readResults(file, COLUMNS);
      assert.equal(streamed.length, 3000, ext);
      // readResults (CSV) parses the torn line as a short record; JSONL drops it: compare the 3000.
      assert.deepEqual(streamed, whole.slice(0, 3000), ext);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SummaryAccumulator row by row equals summarizeRows on all rows", () => {
  const all = rows(500).map((r, i) => ({ ...r, error_kind: r.error ? (i % 2 ? "corrupt" : "empty") : null }));
  const acc = new SummaryAccumulator(["v", "w"]);
  for (const r of all) acc.add(r);
  assert.equal(acc.text(), summarizeRows(all, ["v", "w"]));
  assert.match(acc.text(), /^500 images, 46 unreadable \(/);
});
