import assert from "node:assert/strict";
import { join } from "node:path";
import { REFERENCE_DIR } from "./golden.ts";
import { writeBadInputs } from "./fixtures.ts";
import { runCli } from "./cli.ts";
import { readResults, type Row } from "../lib/score/results.ts";
import { parseShard, partName, selectInputs, ShardError, shardOf } from "../lib/score/shard.ts";
import { mergeParts } from "../lib/score/merge.ts";

const HEURISTICS = "sharpness,exposure,colorfulness";

Deno.test("shardOf is FNV-1a 32-bit (published test vectors) modulo N", () => {
  // Vectors from the FNV reference (draft-eastlake-fnv): "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
  assert.equal(shardOf("", 2 ** 32 - 1), 0x811c9dc5 % (2 ** 32 - 1));
  assert.equal(shardOf("a", 1_000_003), 0xe40c292c % 1_000_003);
  assert.equal(shardOf("foobar", 7), 0xbf9cf968 % 7);
});

Deno.test("parseShard reads I/N and auto/N and names what is wrong", () => {
  assert.deepEqual(parseShard("1/3"), { index: 1, count: 3 });
  assert.deepEqual(parseShard("auto/4", { JOB_COMPLETION_INDEX: "3" }), { index: 3, count: 4 });
  assert.deepEqual(parseShard("auto/4", { AWS_BATCH_JOB_ARRAY_INDEX: "2" }), { index: 2, count: 4 });
  assert.throws(() => parseShard("auto/4", {}), /JOB_COMPLETION_INDEX nor AWS_BATCH_JOB_ARRAY_INDEX/);
  assert.throws(
    () => parseShard("auto/4", { JOB_COMPLETION_INDEX: "4" }),
    /from JOB_COMPLETION_INDEX=4.*0 to 3/,
  );
  assert.throws(() => parseShard("3/3"), ShardError);
  assert.throws(() => parseShard("1-3"), /expected I\/N/);
  assert.throws(() => parseShard("0/0"), /at least 1/);
});

Deno.test("every listed file falls in exactly one shard, whatever folder it is listed from", async () => {
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  const names = Array.from({ length: 40 }, (_, i) => `d${i % 3}/img${i}.png`);
  for (const root of [a, b]) {
    for (const n of names) {
      await Deno.mkdir(join(root, n, ".."), { recursive: true });
      await Deno.writeTextFile(join(root, n), "");
    }
  }
  const seen = new Map<string, number>();
  for (let i = 0; i < 5; i++) {
    const fromA = await selectInputs([a], { shard: { index: i, count: 5 } });
    const fromB = await selectInputs([b], { shard: { index: i, count: 5 } });
    // The same relative names land in the same shard from another mount point.
    assert.deepEqual(fromA.files.map((f) => f.slice(a.length)), fromB.files.map((f) => f.slice(b.length)));
    assert.equal(fromA.listed, 40);
    for (const f of fromA.files) seen.set(f, (seen.get(f) ?? 0) + 1);
  }
  assert.equal(seen.size, 40);
  assert.ok([...seen.values()].every((n) => n === 1));
});

Deno.test("--from-list reads one file per line, relative to the list's folder", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "list.txt"), "# my images\nx/a.png\n\n/abs/b.png\n");
  const all = await selectInputs([], { fromList: join(dir, "list.txt") });
  assert.deepEqual(all.files, ["/abs/b.png", join(dir, "x/a.png")]);
});

Deno.test("merge keeps each path once: a decoded row beats an error row, else the later part wins", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "p0.csv"), "path,error,v\n/a.png,,1\n/b.png,,2\n/c.png,torn,\n");
  await Deno.writeTextFile(
    join(dir, "p1.csv"),
    "path,error,v\n/a.png,timeout,\n/b.png,,20\n/c.png,truncated,\n",
  );
  const r = await mergeParts([join(dir, "p0.csv"), join(dir, "p1.csv")], join(dir, "all.parquet"));
  assert.equal(r.rowsIn, 6);
  const rows = await readResults(join(dir, "all.parquet"));
  assert.deepEqual(rows.map((x) => [x.path, x.error, x.v]), [
    ["/a.png", null, 1],
    ["/b.png", null, 20],
    ["/c.png", "truncated", null],
  ]);
  assert.equal(r.errors, 1);
});

Deno.test("three shards scored separately (one twice) and merged equal an unsharded run", async () => {
  const tmp = await Deno.makeTempDir();
  const input = join(tmp, "in");
  await Deno.mkdir(join(input, "bad"), { recursive: true });
  for await (const e of Deno.readDir(join(REFERENCE_DIR, "images"))) {
    if (e.isFile) await Deno.copyFile(join(REFERENCE_DIR, "images", e.name), join(input, e.name));
  }
  const bad = await writeBadInputs(join(input, "bad"));
  const common = ["--heuristics", HEURISTICS, "--jobs", "1", "--quiet"];
  const whole = await runCli("score", [input, "--out", join(tmp, "whole.csv"), ...common]);
  assert.equal(whole.code, 0, whole.stderr);
  const parts = join(tmp, "parts");
  for (const shard of ["0/3", "1/3", "2/3", "1/3"]) {
    const r = await runCli("score", [input, "--shard", shard, "--out", parts, ...common]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`shard ${shard} of \\d+ listed`));
  }
  const names = [];
  for await (const e of Deno.readDir(parts)) names.push(e.name);
  // The rerun of shard 1 replaced its part; nothing else is left behind.
  assert.deepEqual(names.sort(), [0, 1, 2].map((index) => partName({ index, count: 3 })));
  const merged = await runCli("merge", [parts, "--out", join(tmp, "merged.parquet")]);
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(merged.stdout, /merged 3 parts/);

  const want = await readResults(join(tmp, "whole.csv"));
  const got = await readResults(join(tmp, "merged.parquet"));
  assert.ok(want.length >= 12 + bad.length - 1, `unsharded run has ${want.length} rows`);
  assert.equal(got.length, want.length);
  assert.equal(new Set(got.map((r) => r.path)).size, got.length, "a path appears twice");
  const byPath = new Map<unknown, Row>(want.map((r) => [r.path, r]));
  for (const row of got) {
    const w = byPath.get(row.path);
    assert.ok(w, `unexpected row ${row.path}`);
    for (const [col, value] of Object.entries(w)) {
      const g = row[col] ?? null;
      if (typeof value === "number") {
        assert.ok(
          typeof g === "number" && Math.abs(g - value) <= 1e-9 * Math.max(1, Math.abs(value)),
          `${row.path} ${col}: ${g} vs ${value}`,
        );
      } else assert.equal(g, value, `${row.path} ${col}`);
    }
  }
});

Deno.test("--shard with a file name as --out says to give a folder", async () => {
  const r = await runCli("score", ["../shared/reference/images", "--shard", "0/2", "--out", "x.parquet"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--out names a folder/);
});

Deno.test("side tables on s3:// are refused with the option named", async () => {
  const r = await runCli("score", [
    "../shared/reference/images",
    "--faces",
    "s3://bkt/faces.csv",
    "--out",
    "x.csv",
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--faces: s3:\/\/ is only for inputs, --out and --from-list/);
});
