/**
 * Distribution and pairwise metrics against ../shared/reference (golden.json: ssim, frechet,
 * inception_score; eval/golden_eval.json: psnr, knn_precision_recall), through the names in
 * CONTRACTS.md.
 */
import assert from "node:assert/strict";
import {
  frechet,
  frechetDistance,
  inceptionScore,
  inceptionScoreSplits,
  kidSubsets,
  kidUnbiased,
  knnPrecisionRecall,
} from "../lib/evaluate/distribution.ts";
import { psnr, ssim } from "../lib/evaluate/pairs.ts";
import { decodeImage, toGray } from "../lib/core/image.ts";
import { GOLDEN, GOLDEN_EVAL, REFERENCE_DIR, relErr } from "./golden.ts";
import { mulberry32 } from "../lib/core/random.ts";

interface FrechetCase {
  a: number[][];
  b: number[][];
  frechet_distance: number;
  kid_unbiased_mmd2: number;
}

Deno.test("frechetDistance and kidUnbiased match golden.json's frechet block (relative 1e-6)", () => {
  for (const [i, c] of (GOLDEN.frechet as FrechetCase[]).entries()) {
    const fd = frechetDistance(c.a, c.b);
    assert.ok(relErr(fd, c.frechet_distance) < 1e-6, `case ${i}: FD ${fd} vs ${c.frechet_distance}`);
    const kid = kidUnbiased(c.a, c.b);
    assert.ok(relErr(kid, c.kid_unbiased_mmd2) < 1e-6, `case ${i}: KID ${kid} vs ${c.kid_unbiased_mmd2}`);
    // Symmetric in its arguments.
    assert.ok(relErr(frechetDistance(c.b, c.a), fd) < 1e-9);
  }
});

Deno.test("inceptionScore matches golden.json (one split, relative 1e-6); splits are consecutive parts", () => {
  const g = GOLDEN.inception_score as { probs: number[][]; inception_score: number };
  const is = inceptionScore(g.probs);
  assert.ok(relErr(is, g.inception_score) < 1e-6, `IS ${is} vs ${g.inception_score}`);
  const s = inceptionScoreSplits(g.probs, 10);
  const parts = Array.from({ length: 10 }, (_, i) => inceptionScore(g.probs.slice(i * 10, i * 10 + 10)));
  const mean = parts.reduce((a, b) => a + b) / 10;
  assert.ok(Math.abs(s.mean - mean) < 1e-12);
  assert.ok(s.std > 0);
  assert.throws(() => inceptionScoreSplits(g.probs, 101), /splits must be 1 … 100/);
  assert.throws(() => inceptionScore([[0.5, -0.1]]), /not a probability/);
});

Deno.test("knnPrecisionRecall matches golden_eval.json (k = 3, exact fractions)", () => {
  const blocks = Array.isArray(GOLDEN_EVAL.knn_precision_recall)
    ? GOLDEN_EVAL.knn_precision_recall
    : [GOLDEN_EVAL.knn_precision_recall];
  for (const c of blocks) {
    const r = knnPrecisionRecall(c.real, c.fake, c.k);
    assert.ok(Math.abs(r.precision - c.precision) < 1e-12, `precision ${r.precision} vs ${c.precision}`);
    assert.ok(Math.abs(r.recall - c.recall) < 1e-12, `recall ${r.recall} vs ${c.recall}`);
  }
});

function gaussian(n: number, d: number, seed: number, shift = 0): number[][] {
  const r = mulberry32(seed);
  const g = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return Array.from({ length: n }, () => Array.from({ length: d }, (_, j) => g() * (1 + j % 3) + shift));
}

Deno.test("FID of a set with itself is 0 (≤ 1e-6), also with fewer images than dimensions: a warning, never NaN", () => {
  const wide = gaussian(20, 64, 1);
  const self = frechet(wide, wide);
  assert.ok(Math.abs(self.value) <= 1e-6, `self ${self.value}`);
  assert.match(self.warnings.join("\n"), /fewer images \(20\) than feature dimensions \(64\)/);
  const other = frechet(wide, gaussian(30, 64, 2));
  assert.ok(Number.isFinite(other.value) && other.value > 0, `${other.value}`);
  assert.ok(other.imaginary <= 1e-3);
  const tall = gaussian(200, 8, 3);
  assert.ok(Math.abs(frechetDistance(tall, tall)) <= 1e-6);
  assert.deepEqual(frechet(tall, gaussian(200, 8, 4)).warnings, []);
  // Rank-deficient on purpose (a constant column): still finite.
  const flat = tall.map((r) => [...r.slice(0, 7), 5]);
  assert.ok(Number.isFinite(frechetDistance(flat, tall)));
  assert.throws(() => frechetDistance([tall[0]], tall), /needs at least 2/);
  assert.throws(() => frechetDistance(tall, [[1, 2, 3], [1, 2, 3]]), /8 and 3 feature dimensions/);
});

Deno.test("FID grows with the shift between the sets; KID over subsets reports a std", () => {
  const a = gaussian(120, 6, 5);
  const fids = [0, 0.25, 0.5, 1].map((s) => frechetDistance(a, gaussian(120, 6, 6, s)));
  for (let i = 1; i < fids.length; i++) assert.ok(fids[i] > fids[i - 1], `${fids}`);
  const k = kidSubsets(a, gaussian(150, 6, 7, 0.5), { subsets: 20, subsetSize: 50, seed: 1 });
  assert.equal(k.subsetSize, 50);
  assert.ok(k.std > 0 && Number.isFinite(k.kid));
  assert.deepEqual(kidSubsets(a, gaussian(150, 6, 7, 0.5), { subsets: 20, subsetSize: 50, seed: 1 }), k);
  // One subset of the whole (equal-size) sets is the unbiased MMD² up to the order of the rows.
  const b = gaussian(120, 6, 8);
  const whole = kidSubsets(a, b, { subsets: 1, subsetSize: 1000 });
  assert.ok(relErr(whole.kid, kidUnbiased(a, b)) < 1e-9);
});

Deno.test("ssim (golden.json, ≤ 1e-6) and psnr (golden_eval.json, relative 1e-9; 'inf' = Infinity) on 8-bit gray", async () => {
  const gray = async (f: string) => {
    const img = await decodeImage(`${REFERENCE_DIR}images/${f}`);
    return { g: toGray(img), w: img.width, h: img.height };
  };
  for (const c of GOLDEN.ssim as { a: string; b: string; ssim: number }[]) {
    const [a, b] = [await gray(c.a), await gray(c.b)];
    const v = ssim(a.g, b.g, a.w, a.h);
    assert.ok(Math.abs(v - c.ssim) <= 1e-6, `${c.b}: ${v} vs ${c.ssim}`);
  }
  for (const c of GOLDEN_EVAL.psnr as { a: string; b: string; psnr: number | string }[]) {
    const [a, b] = [await gray(c.a), await gray(c.b)];
    const v = psnr(a.g, b.g);
    if (c.psnr === "inf") assert.equal(v, Infinity, c.b);
    else assert.ok(relErr(v, c.psnr as number) < 1e-9, `${c.b}: ${v} vs ${c.psnr}`);
  }
  assert.throws(
    () => ssim(new Uint8Array(100), new Uint8Array(100), 10, 10),
    /smaller than the 11×11 window/,
  );
  assert.throws(() => psnr(new Uint8Array(3), new Uint8Array(4)), /differ in size/);
});
