import assert from "node:assert/strict";
import { join } from "node:path";
import { GOLDEN, REFERENCE_DIR, relErr } from "./golden.ts";
import { writeBadInputs } from "./fixtures.ts";
import { readResults } from "../lib/score/results.ts";
import { parseCsv } from "../lib/core/csv.ts";
import sharp from "sharp";
import { cliPath, runCli } from "./cli.ts";

const CLI = cliPath("score");
const CONTRACT_COLUMNS = [
  "path",
  "width",
  "height",
  "error",
  "gray_mean",
  "laplacian_var",
  "tenengrad",
  "skin_ratio",
  "colorfulness",
];

const score = (args: string[]) => runCli("score", args);

Deno.test("score CLI reproduces the golden values for every reference image", async () => {
  const tmp = await Deno.makeTempDir();
  const out = join(tmp, "golden.csv");
  const r = await score([`${REFERENCE_DIR}images`, "--out", out, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = await readResults(out);
  for (const [file, want] of Object.entries(GOLDEN.images)) {
    const row = rows.find((x) => x.path === `${REFERENCE_DIR}images/${file}`);
    assert.ok(row, `no row for ${file}`);
    assert.equal(row.width, want.width);
    assert.equal(row.height, want.height);
    for (const col of ["gray_mean", "laplacian_var", "tenengrad", "colorfulness"] as const) {
      const got = row[col] as number;
      assert.ok(
        want[col] === 0 ? Math.abs(got) < 1e-9 : relErr(got, want[col]) <= 1e-9,
        `${file} ${col}: ${got}`,
      );
    }
    assert.ok(Math.abs((row.skin_ratio as number) - want.skin_ratio) <= 1e-3, `${file} skin_ratio`);
  }
});

Deno.test("score CLI survives the folder of bad inputs: a row per file, errors named, values for good files", async () => {
  const tmp = await Deno.makeTempDir();
  const dir = join(tmp, "bad");
  await Deno.mkdir(dir);
  const fixtures = await writeBadInputs(dir);
  const out = join(tmp, "bad.csv");
  // Process workers (the default, named here) decode one file at a time each, so every damaged file
  // gets its own libvips message and kind; thread workers share one error buffer (README, limits).
  const r = await score([dir, "--out", out, "--quiet", "--isolation", "process"]);
  assert.equal(r.code, 0, r.stderr);
  const records = parseCsv(await Deno.readTextFile(out));
  const header = records[0].fields;
  for (const c of CONTRACT_COLUMNS) assert.ok(header.includes(c), `missing contract column ${c}`);
  const rows = await readResults(out);
  assert.equal(rows.length, fixtures.length);
  for (const fx of fixtures) {
    const row = rows.find((x) => x.path === join(dir, fx.name))!;
    assert.ok(row, fx.name);
    if (fx.errorKind) {
      assert.equal(row.error_kind, fx.errorKind, fx.name);
      assert.ok(String(row.error).includes(fx.name), `error should name the file: ${row.error}`);
      for (const c of ["width", "height", "gray_mean", "laplacian_var", "skin_ratio"]) {
        assert.equal(row[c], null);
      }
    } else {
      assert.equal(row.error, null, `${fx.name}: ${row.error}`);
      assert.equal(row.width, fx.width);
      assert.equal(typeof row.laplacian_var, "number");
    }
  }
  assert.match(r.stdout, /4 unreadable/);
});

Deno.test("score resumes: a torn last line is dropped and only missing files are scored", async () => {
  const tmp = await Deno.makeTempDir();
  const out = join(tmp, "resume.csv");
  const images = `${REFERENCE_DIR}images`;
  assert.equal((await score([images, "--out", out, "--quiet", "--heuristics", "sharpness"])).code, 0);
  const full = await Deno.readTextFile(out);
  const lines = full.trimEnd().split("\n");
  // Keep the header and 5 rows, then half of the next row, as a kill mid-write leaves it.
  await Deno.writeTextFile(out, lines.slice(0, 6).join("\n") + "\n" + lines[6].slice(0, 20));
  const r = await score([images, "--out", out, "--heuristics", "sharpness"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /5 already in/);
  const again = (await Deno.readTextFile(out)).trimEnd().split("\n");
  assert.equal(again.length, lines.length);
  assert.deepEqual(new Set(again), new Set(lines));
});

Deno.test("a killed score run loses nothing: rerunning completes every file exactly once", async () => {
  const tmp = await Deno.makeTempDir();
  const dir = join(tmp, "many");
  await Deno.mkdir(dir);
  const src = await Deno.readFile(`${REFERENCE_DIR}images/facephoto2.png`);
  for (let i = 0; i < 60; i++) await Deno.writeFile(join(dir, `copy${String(i).padStart(2, "0")}.png`), src);
  const out = join(tmp, "killed.jsonl");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, dir, "--out", out, "--quiet", "--jobs", "1"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 200; i++) {
    const text = await Deno.readTextFile(out).catch(() => "");
    if (text.split("\n").length > 3) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  try {
    child.kill("SIGKILL");
  } catch { /* already finished */ }
  await child.status;
  const before = (await Deno.readTextFile(out)).split("\n").filter(Boolean).length;
  console.log(`rows written before the kill: ${before} of 60`);
  const r = await score([dir, "--out", out, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = await readResults(out);
  assert.equal(rows.length, 60, `rows after resume (had ${before} before)`);
  assert.equal(new Set(rows.map((x) => x.path)).size, 60);
});

Deno.test("JSONL and Parquet outputs hold the same rows as CSV", async () => {
  const tmp = await Deno.makeTempDir();
  const images = `${REFERENCE_DIR}images`;
  const byPath = async (f: string) => {
    assert.equal(
      (await score([images, "--out", join(tmp, f), "--quiet", "--thresholds", "defaults"])).code,
      0,
    );
    const rows = await readResults(join(tmp, f));
    return new Map(rows.map((r) => [r.path, r]));
  };
  const csv = await byPath("a.csv"), jsonl = await byPath("a.jsonl"), pq = await byPath("a.parquet");
  assert.equal(csv.size, 32);
  for (const [path, row] of csv) {
    for (const other of [jsonl.get(path)!, pq.get(path)!]) {
      for (const [k, v] of Object.entries(row)) {
        if (typeof v === "number") assert.ok(relErr(other[k] as number, v) < 1e-12 || v === other[k], `${k}`);
        else assert.equal(other[k] ?? null, v, `${path} ${k}`);
      }
    }
  }
  assert.equal(await Deno.stat(join(tmp, "a.parquet.partial.jsonl")).catch(() => null), null);
});

Deno.test("--thresholds defaults adds kept and reject_reasons; a blurred copy is rejected for blur", async () => {
  const tmp = await Deno.makeTempDir();
  const out = join(tmp, "t.csv");
  const r = await score([
    `${REFERENCE_DIR}images/pairs/facephoto6__gauss3.png`,
    `${REFERENCE_DIR}images/facephoto6.png`,
    "--out",
    out,
    "--thresholds",
    "defaults",
    "--quiet",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const rows = await readResults(out);
  const blurred = rows.find((x) => String(x.path).includes("gauss3"))!;
  const sharpRow = rows.find((x) => String(x.path).endsWith("facephoto6.png"))!;
  assert.equal(blurred.kept, false);
  assert.match(String(blurred.reject_reasons), /\bblur\b/);
  assert.equal(sharpRow.kept, true);
  assert.equal(sharpRow.reject_reasons, null);
});

Deno.test("bad command lines give one clear line and exit code 2", async () => {
  const noOut = await score([`${REFERENCE_DIR}images`]);
  assert.equal(noOut.code, 2);
  assert.match(noOut.stderr, /--out FILE is required/);
  const badH = await score([`${REFERENCE_DIR}images`, "--out", "/tmp/x.csv", "--heuristics", "sharpnes"]);
  assert.notEqual(badH.code, 0);
  assert.match(badH.stderr, /unknown heuristic "sharpnes"; known: sharpness/);
  const badFmt = await score([`${REFERENCE_DIR}images`, "--out", "/tmp/x.xlsx"]);
  assert.match(badFmt.stderr, /unknown output format/);
  const missing = await score(["/no/such/dir", "--out", "/tmp/x.csv"]);
  assert.match(missing.stderr, /\/no\/such\/dir: no such file or folder/);
  const help = await score(["--help"]);
  assert.equal(help.code, 0);
  for (
    const opt of ["--out", "--heuristics", "--thresholds", "--region", "--masks", "--jobs", "--max-pixels"]
  ) {
    assert.ok(help.stdout.includes(opt), `--help documents ${opt}`);
  }
});

Deno.test("resuming with other heuristics is refused with the differing columns named", async () => {
  const tmp = await Deno.makeTempDir();
  const out = join(tmp, "r.csv");
  await score([`${REFERENCE_DIR}images/checker.png`, "--out", out, "--heuristics", "sharpness", "--quiet"]);
  const r = await score([
    `${REFERENCE_DIR}images/checker.png`,
    "--out",
    out,
    "--heuristics",
    "skin",
    "--quiet",
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /other columns than this run writes \(missing: skin_ratio/);
});

Deno.test("--duplicates groups a re-encoded smaller copy with its original and leaves other photos alone", async () => {
  const tmp = await Deno.makeTempDir();
  const dir = join(tmp, "imgs");
  await Deno.mkdir(dir);
  for (const n of [1, 2, 3]) {
    await Deno.copyFile(`${REFERENCE_DIR}images/facephoto${n}.png`, join(dir, `p${n}.png`));
  }
  await sharp(`${REFERENCE_DIR}images/facephoto2.png`).resize(300).jpeg({ quality: 60 }).toFile(
    join(dir, "p2_copy.jpg"),
  );
  const out = join(tmp, "s.csv"), dups = join(tmp, "dups.csv");
  const r = await score([dir, "--out", out, "--duplicates", dups, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /near-duplicate groups: 1 \(2 images\)/);
  const rows = parseCsv(await Deno.readTextFile(dups)).map((x) => x.fields);
  assert.deepEqual(rows[0], ["path", "group", "group_size", "distance", "representative"]);
  assert.deepEqual(rows.slice(1).map((f) => [f[0].split("/").pop(), f[1], f[2], f[4].split("/").pop()]), [
    ["p2.png", "1", "2", "p2.png"],
    ["p2_copy.jpg", "1", "2", "p2.png"],
  ]);
});
