import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cliPath, runCli } from "./cli.ts";
import { s3Env, startS3 } from "./services.ts";
import { download, exists, listFiles, readLines, upload } from "../lib/core/storage.ts";
import { readResults } from "../lib/score/results.ts";

const DATA = fileURLToPath(new URL("../../shared/data/images/", import.meta.url));
const BUCKET = "winnow-test";
const common = ["--heuristics", "sharpness,exposure,colorfulness", "--jobs", "1", "--quiet"];

/** The first `n` data images, sorted by name. */
async function dataImages(n: number): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(DATA)) if (e.isFile) names.push(e.name);
  return names.sort().slice(0, n);
}

Deno.test("storage lists, reads and writes s3:// like local paths", async () => {
  const s3 = await startS3([BUCKET]);
  for (const [k, v] of Object.entries(s3Env(s3))) Deno.env.set(k, v);
  try {
    const tmp = await Deno.makeTempDir();
    await Deno.writeTextFile(join(tmp, "list.txt"), "a.png\n# c\nsub/b.png\n");
    await upload(join(tmp, "list.txt"), `s3://${BUCKET}/lists/list.txt`);
    await upload(join(tmp, "list.txt"), `s3://${BUCKET}/lists/sub/x.png`);
    await upload(join(tmp, "list.txt"), `s3://${BUCKET}/lists/.hidden/y.png`);
    const lines = [];
    for await (const l of readLines(`s3://${BUCKET}/lists/list.txt`)) lines.push(l.text);
    assert.deepEqual(lines, ["a.png", "sub/b.png"]);
    const skipped: string[] = [];
    const listed = [];
    for await (const f of listFiles(`s3://${BUCKET}/lists`, { onSkipped: (p) => skipped.push(p) })) {
      listed.push(f);
    }
    assert.deepEqual(listed, [{ path: `s3://${BUCKET}/lists/sub/x.png`, key: "sub/x.png" }]);
    assert.deepEqual(skipped, [`s3://${BUCKET}/lists/list.txt`]);
    assert.equal(await exists(`s3://${BUCKET}/lists/nope.png`), false);
    assert.equal(await download(`s3://${BUCKET}/lists/nope.png`, join(tmp, "n")), false);
    await assert.rejects(async () => {
      for await (const _ of listFiles(`s3://${BUCKET}/missing/`)) { /* nothing */ }
    }, /s3:\/\/winnow-test\/missing\/: no such object or prefix/);
  } finally {
    for (const k of Object.keys(s3Env(s3))) Deno.env.delete(k);
    await s3.stop();
  }
});

Deno.test("a sharded run over an s3:// prefix writes parts to S3, resumes a killed shard and merges without duplicates", async () => {
  const s3 = await startS3([BUCKET]);
  const env = s3Env(s3);
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  try {
    // 120 inputs: 40 real images under three folders, plus one that is not an image.
    const names = await dataImages(40);
    const keys: string[] = [];
    for (const dir of ["a", "b", "c"]) {
      for (const n of names) {
        keys.push(`${dir}/${n}`);
        await upload(join(DATA, n), `s3://${BUCKET}/gens/${dir}/${n}`);
      }
    }
    await upload(join(DATA, names[0]), `s3://${BUCKET}/gens/notes.txt`);
    const input = `s3://${BUCKET}/gens/`, parts = `s3://${BUCKET}/parts/`;

    const r0 = await runCli("score", [input, "--shard", "0/2", "--out", parts, ...common]);
    assert.equal(r0.code, 0, r0.stderr);
    assert.match(r0.stdout, /shard 0\/2 of 120 listed/);

    // Shard 1 is killed once its first checkpoint is in S3, then run again.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        cliPath("score"),
        input,
        "--shard",
        "1/2",
        "--out",
        parts,
        "--checkpoint-every",
        "0.2",
        ...common,
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...env },
    }).spawn();
    const checkpoint = `${parts}part-00001-of-00002.parquet.partial`;
    let seen = false;
    const status = child.status;
    let finished = false;
    status.then(() => finished = true);
    while (!finished && !seen) {
      seen = await exists(checkpoint);
      if (!seen) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(seen, "shard 1 finished before its first checkpoint: it could not be killed mid-shard");
    child.kill("SIGKILL");
    await status;
    await child.stdout.cancel();
    await child.stderr.cancel();
    assert.equal(
      await exists(`${parts}part-00001-of-00002.parquet`),
      false,
      "a killed shard published a part",
    );

    const r1 = await runCli("score", [input, "--shard", "1/2", "--out", parts, ...common]);
    assert.equal(r1.code, 0, r1.stderr);
    const resumed = /, (\d+) already in/.exec(r1.stdout);
    assert.ok(
      resumed && Number(resumed[1]) > 0,
      `the rerun did not resume from the checkpoint: ${r1.stdout}`,
    );
    assert.equal(await exists(checkpoint), false, "the checkpoint outlived the finished shard");

    const merged = await runCli("merge", [parts, "--out", `s3://${BUCKET}/scores.parquet`]);
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(merged.stdout, /merged 2 parts: 120 rows → 120 distinct paths/);
    const local = join(await Deno.makeTempDir(), "scores.parquet");
    assert.ok(await download(`s3://${BUCKET}/scores.parquet`, local));
    const rows = await readResults(local);
    assert.deepEqual(rows.map((r) => r.path), keys.sort().map((k) => `s3://${BUCKET}/gens/${k}`));
    assert.ok(rows.every((r) => r.error === null && typeof r.laplacian_var === "number"), "an error row");
  } finally {
    for (const k of Object.keys(s3Env(s3))) Deno.env.delete(k);
    await s3.stop();
  }
});
