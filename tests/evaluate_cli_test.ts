/**
 * `deno task evaluate`: the fid contract (CONTRACTS.md) on the FID Inception's loading path with a
 * tiny ONNX of its signature, pairs against golden SSIM/PSNR, help and usage errors, the report.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./cli.ts";
import { INCEPTION_FILE } from "../lib/evaluate/features.ts";
import { LPIPS_FILE } from "../lib/evaluate/lpips.ts";
import { TINY_CLIP_224_ID, tinyInception, tinyLpips, writeTinyClip224 } from "./fixtures_models.ts";
import { clipScores } from "../lib/heuristics/clip_score.ts";
import { decodeImage } from "../lib/core/image.ts";
import { resizePilFloat } from "../lib/core/resize_pil.ts";
import { inceptionScoreSplits } from "../lib/evaluate/distribution.ts";
import { GOLDEN, GOLDEN_EVAL, REFERENCE_DIR, relErr } from "./golden.ts";

const IMAGES = `${REFERENCE_DIR}images/`;

Deno.test("evaluate fid --json: the contract's keys; a folder against itself gives FID 0; the report is written", async () => {
  const tmp = await Deno.makeTempDir();
  const store = join(tmp, "models");
  await Deno.mkdir(join(store, "inception"), { recursive: true });
  await Deno.writeFile(join(store, INCEPTION_FILE), tinyInception().onnx);
  const [real, fake] = [join(tmp, "real"), join(tmp, "fake")];
  await Deno.mkdir(real);
  await Deno.mkdir(fake);
  for (const f of ["facephoto1", "facephoto2", "facephoto3", "facephoto4", "facephoto5"]) {
    await Deno.copyFile(`${IMAGES}${f}.png`, join(real, `${f}.png`));
    await Deno.copyFile(`${IMAGES}pairs/${f}__gauss3.png`, join(fake, `${f}.png`));
  }
  const report = join(tmp, "fid.html");
  const args = ["--models", store, "--cache", join(tmp, "cache"), "--json", "--quiet"];
  const self = await runCli("evaluate", ["fid", "--real", real, "--fake", real, ...args]);
  assert.equal(self.code, 0, self.stderr);
  const s = JSON.parse(self.stdout);
  for (const k of ["fid", "kid", "kid_std", "precision", "recall", "features", "n_real", "n_fake"]) {
    assert.ok(k in s, `missing ${k}`);
  }
  assert.deepEqual([s.features, s.n_real, s.n_fake, s.comparable_with_published_fid], [
    "inception",
    5,
    5,
    true,
  ]);
  assert.ok(Math.abs(s.fid) <= 1e-6, `self FID ${s.fid}`);
  assert.match(s.warnings.join("\n"), /fewer images \(5\) than feature dimensions \(2048\)/);
  const r = await runCli("evaluate", ["fid", "--real", real, "--fake", fake, ...args, "--report", report]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.ok(j.fid > 0 && Number.isFinite(j.kid) && j.kid_std >= 0, r.stdout);
  const html = await Deno.readTextFile(report);
  assert.match(html, /FID/);
  assert.match(html, /data:image\/png;base64/);
  const missing = await runCli("evaluate", [
    "fid",
    "--real",
    real,
    "--fake",
    real,
    "--models",
    tmp,
    "--no-cache",
  ]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /pt_inception-2015-12-05\.onnx/);
  assert.doesNotMatch(missing.stderr, /at .*\.ts:\d+/, "no stack trace");
});

Deno.test("evaluate pairs --json: per-file SSIM and PSNR equal the golden values; help and usage errors", async () => {
  const tmp = await Deno.makeTempDir();
  const [a, b] = [join(tmp, "a"), join(tmp, "b")];
  await Deno.mkdir(a);
  await Deno.mkdir(b);
  const cases = (GOLDEN.ssim as { a: string; b: string; ssim: number }[]).filter((c) =>
    c.b.endsWith("gauss1.png")
  )
    .slice(0, 3);
  for (const c of cases) {
    await Deno.copyFile(IMAGES + c.a, join(a, c.a));
    await Deno.copyFile(IMAGES + c.b, join(b, c.a));
  }
  await Deno.copyFile(`${IMAGES}noise.png`, join(a, "only_here.png"));
  const store = join(tmp, "models");
  await Deno.mkdir(join(store, "lpips"), { recursive: true });
  await Deno.writeFile(join(store, LPIPS_FILE), tinyLpips().onnx);
  const r = await runCli("evaluate", ["pairs", a, b, "--json", "--quiet", "--lpips", "--models", store]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.onlyInA, ["only_here.png"]);
  for (const c of cases) {
    const row = j.rows.find((x: { file: string }) => x.file === c.a);
    assert.ok(Math.abs(row.ssim - c.ssim) <= 1e-6, `${c.a} ssim ${row.ssim} vs ${c.ssim}`);
    const p = (GOLDEN_EVAL.psnr as { a: string; b: string; psnr: number }[]).find((x) => x.b === c.b)!;
    assert.ok(relErr(row.psnr, p.psnr) < 1e-9, `${c.a} psnr`);
    assert.ok(row.lpips > 0, `${c.a} lpips ${row.lpips}`);
  }
  assert.ok(j.ssim.ci95[0] <= j.ssim.mean && j.ssim.mean <= j.ssim.ci95[1]);
  const help = await runCli("evaluate", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /deno task evaluate fid --real DIR --fake DIR/);
  const bad = await runCli("evaluate", ["fid", "--real", a]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /fid needs --real DIR and --fake DIR/);
});

Deno.test("evaluate clip --manifest: the mean CLIP score of the run's images, with an interval; missing files listed", async () => {
  const tmp = await Deno.makeTempDir();
  const store = join(tmp, "models");
  await writeTinyClip224(store);
  const run = join(tmp, "run1");
  await Deno.mkdir(run);
  const rows = [["facephoto1.png", "the cat"], ["facephoto2.png", "a dog"], ["facephoto4.png", "the cat"]];
  for (const [f] of rows) await Deno.copyFile(IMAGES + f, join(run, f));
  await Deno.writeTextFile(
    join(run, "manifest.jsonl"),
    [...rows, ["gone.png", "a dog"]].map(([file, prompt]) => JSON.stringify({ file, prompt })).join("\n") +
      "\n",
  );
  const r = await runCli("evaluate", [
    "clip",
    "--manifest",
    join(run, "manifest.jsonl"),
    "--models",
    store,
    "--clip-model",
    TINY_CLIP_224_ID,
    "--json",
    "--quiet",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const [got] = JSON.parse(r.stdout).runs;
  const want = await clipScores(
    await Promise.all(rows.map(([f]) => decodeImage(IMAGES + f))),
    rows.map(([, p]) => p),
    { model: TINY_CLIP_224_ID, modelsDir: store },
  );
  const mean = want.reduce((a, b) => a + b.clip_score, 0) / want.length;
  assert.deepEqual([got.run, got.images], ["run1", 3]);
  assert.ok(Math.abs(got.clip_score.mean - mean) < 1e-9, `${got.clip_score.mean} vs ${mean}`);
  assert.ok(got.clip_score.ci95[0] <= mean && mean <= got.clip_score.ci95[1]);
  assert.deepEqual(got.errors.map((e: { file: string }) => e.file), [join(run, "gone.png")]);
});

Deno.test("evaluate fid: with a logits output the Inception Score of the fake images is added (softmax, splits)", async () => {
  const tmp = await Deno.makeTempDir();
  const store = join(tmp, "models");
  await Deno.mkdir(join(store, "inception"), { recursive: true });
  const { onnx, wl } = tinyInception(11, true);
  await Deno.writeFile(join(store, INCEPTION_FILE), onnx);
  const [real, fake] = [join(tmp, "real"), join(tmp, "fake")];
  await Deno.mkdir(real);
  await Deno.mkdir(fake);
  const names = ["facephoto1", "facephoto2", "facephoto3", "facephoto4", "checker", "gradient"];
  for (const f of names) {
    await Deno.copyFile(`${IMAGES}${f}.png`, join(real, `${f}.png`));
    await Deno.copyFile(`${IMAGES}pairs/${f}__gauss1.png`, join(fake, `${f}.png`));
  }
  const r = await runCli("evaluate", [
    "fid",
    "--real",
    real,
    "--fake",
    fake,
    "--models",
    store,
    "--no-cache",
    "--json",
    "--quiet",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  // Recomputed here: logits = (channel means of the clean-fid resize / 128 − 1) · wl, softmax, 3 splits of 2.
  const probs = [];
  for (const f of names.sort()) {
    const hwc = resizePilFloat(await decodeImage(join(fake, `${f}.png`)), 299, 299);
    const m = [0, 1, 2].map((c) => {
      let s = 0;
      for (let i = c; i < hwc.length; i += 3) s += hwc[i];
      return s / (299 * 299) / 128 - 1;
    });
    const logits = Array.from(
      { length: 1008 },
      (_, k) => m[0] * wl[k] + m[1] * wl[1008 + k] + m[2] * wl[2016 + k],
    );
    const max = Math.max(...logits);
    const e = logits.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b);
    probs.push(e.map((v) => v / sum));
  }
  const want = inceptionScoreSplits(probs, 3);
  assert.ok(want.mean > 1.01, `the fixture separates the images: ${want.mean}`);
  assert.equal(j.is_splits, 3);
  assert.ok(relErr(j.is, want.mean) < 1e-4, `IS ${j.is} vs ${want.mean}`);
  assert.ok(Math.abs(j.is_std - want.std) < 1e-4 * want.mean, `IS std ${j.is_std} vs ${want.std}`);
});
