/**
 * Issue 18, item 2: a few hundred damaged files made from the real sample photos
 * (tests/fuzz_corpus.ts) go through `deno task score` in a child process: it must exit normally,
 * with exactly one row per file, every row either decoded (a size and values) or an error that
 * names the file with a known error_kind. The corpus is seeded, so a failure repeats.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./cli.ts";
import { readResults } from "../lib/score/results.ts";
import { writeFuzzCorpus } from "./fuzz_corpus.ts";

const KINDS = new Set([
  "empty",
  "not_an_image",
  "truncated",
  "too_many_pixels",
  "corrupt",
  "timeout",
  "worker_crashed",
]);

Deno.test("fuzzed images: score exits normally with exactly one row per file", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "winnow-fuzz-" });
  const dir = join(tmp, "in");
  await Deno.mkdir(dir);
  const corpus = await writeFuzzCorpus(dir);
  assert.ok(corpus.length >= 300, `corpus of ${corpus.length}`);
  const out = join(tmp, "scores.csv");
  const r = await runCli("score", [dir, "--out", out, "--quiet", "--jobs", "2", "--time-limit", "60"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = await readResults(out);
  assert.equal(rows.length, corpus.length);
  assert.deepEqual(rows.map((x) => x.path).sort(), corpus.map((f) => join(dir, f.name)).sort());
  const kinds: Record<string, number> = {};
  for (const f of corpus) {
    const path = join(dir, f.name);
    const row = rows.find((x) => x.path === path)!;
    if (row.error) {
      assert.ok(KINDS.has(String(row.error_kind)), `${f.name} (${f.mutation}): kind ${row.error_kind}`);
      assert.ok(String(row.error).startsWith(path), `${f.name}: error names the file: ${row.error}`);
      assert.equal(row.width, null, f.name);
      kinds[String(row.error_kind)] = (kinds[String(row.error_kind)] ?? 0) + 1;
    } else {
      assert.ok(Number(row.width) > 0 && Number(row.height) > 0, `${f.name}: size`);
      assert.equal(typeof row.laplacian_var, "number", `${f.name}: values`);
    }
    // What must fail: nothing readable is left, or the header asks for too many pixels.
    if (f.mutation === "none") assert.equal(row.error, null, `${f.name}: ${row.error}`);
    if (
      /-cut(1|2)\.jpg$/.test(f.name) ||
      /^(p|b\d+\w*)-cut\d+\.(png|bmp)$/.test(f.name) && Number(f.name.match(/cut(\d+)/)![1]) <= 33
    ) {
      assert.ok(row.error, `${f.name}: a file cut inside its header cannot decode`);
    }
    // A header asking for 2^31 × 2^31 or 65535 × 65535 pixels: refused before decoding.
    if (/dims-max/.test(f.name)) assert.equal(row.error_kind, "too_many_pixels", `${f.name}: ${row.error}`);
  }
  console.log(
    `fuzz: ${corpus.length} files, ${rows.filter((x) => !x.error).length} decoded, errors ${
      JSON.stringify(kinds)
    }`,
  );
});
