import assert from "node:assert/strict";
import { nestedOutOfFold, principalDirections } from "../lib/calibrate/nested.ts";
import { stratifiedFolds } from "../lib/calibrate/crossval.ts";
import { rocAucScore } from "../lib/calibrate/metrics.ts";
import { seededRandom } from "../lib/core/random.ts";
import { halfTiles } from "../lib/evaluate/usable_study.ts";

Deno.test("principalDirections matches numpy's SVD (right singular vectors, up to sign)", () => {
  const raw = [[1, 2, 0, 1], [0, 1, 3, 1], [2, 0, 1, 0], [1, 1, 1, 4], [3, 2, 1, 0], [0, 0, 2, 2]];
  const mean = raw[0].map((_, j) => raw.reduce((s, r) => s + r[j], 0) / raw.length);
  const Z = raw.map((r) => r.map((v, j) => v - mean[j]));
  // numpy.linalg.svd of the centred matrix, Vt[:2], each signed so its largest entry is positive.
  const expected = [
    [-0.5622208921, -0.219206973, 0.2656169671, 0.7518667424],
    [-0.3350586698, -0.357672154, 0.6474965239, -0.5835705353],
  ];
  const got = principalDirections(Z, 2);
  got.forEach((v, i) => {
    const big = v.reduce((b, x, j) => (Math.abs(x) > Math.abs(v[b]) ? j : b), 0);
    const s = Math.sign(v[big]);
    v.forEach((x, j) => assert.ok(Math.abs(s * x - expected[i][j]) < 1e-6, `direction ${i}[${j}]: ${s * x}`));
  });
});

Deno.test("nested CV: a held-out fold's scores do not depend on its own labels (the choice is made without it)", () => {
  const rand = seededRandom(3);
  const n = 80;
  const y = Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 0 : 1));
  const block = y.map((v) => Array.from({ length: 30 }, (_, j) => (j < 3 ? v : 0) + rand()));
  const fixed = y.map(() => [rand()]);
  const sets = [{ name: "a", fixed, block }, { name: "b", fixed }];
  const configs = [
    ...[0, 2, 5].flatMap((k) => [0.01, 1].map((C) => ({ set: "a", k, C }))),
    { set: "b", k: 0, C: 1 },
  ];
  const r = nestedOutOfFold(sets, y, configs, { seed: 1 });
  // Flip the labels of outer fold 0 only: its rows' scores must stay the same.
  const fold = stratifiedFolds(y, 5, 1);
  const y2 = y.map((v, i) => (fold[i] === 0 ? 1 - v : v));
  const r2 = nestedOutOfFold(sets, y2, configs, { seed: 1, outerFolds: fold });
  let same = 0;
  fold.forEach((f, i) => f === 0 && (assert.equal(r2.outOfFold[i], r.outOfFold[i]), same++));
  assert.equal(same, 16);
  // …while the other folds' scores do change (fold 0's rows are training rows there).
  assert.ok(fold.some((f, i) => f !== 0 && r2.outOfFold[i] !== r.outOfFold[i]));
  // The signal sits in the block's first 3 columns: the inner CV finds it and the outer AUC is high.
  assert.ok(r.chosen.every((c) => c.set === "a" && c.k > 0), JSON.stringify(r.chosen));
  assert.ok(rocAucScore(y, r.outOfFold) > 0.9);
});

Deno.test("nested CV on pure noise is not flattered by the many configurations it chooses from", () => {
  const rand = seededRandom(11);
  const y = Array.from({ length: 100 }, (_, i) => (i % 5 === 0 ? 0 : 1));
  const block = y.map(() => Array.from({ length: 40 }, () => rand()));
  const sets = [{ name: "noise", fixed: y.map(() => [rand()]), block }];
  const configs = [0, 2, 5, 10].flatMap((k) => [0.01, 0.1, 1].map((C) => ({ set: "noise", k, C })));
  const aucs = [0, 1, 2].map((seed) => rocAucScore(y, nestedOutOfFold(sets, y, configs, { seed }).outOfFold));
  const mean = aucs.reduce((a, b) => a + b, 0) / aucs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.12, `mean nested AUC on noise ${mean}`);
});

Deno.test("nested CV: an unknown feature set or a k without a block is a clear error", () => {
  const y = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1];
  const sets = [{ name: "a", fixed: y.map((v) => [v]) }];
  assert.throws(
    () => nestedOutOfFold(sets, y, [{ set: "x", k: 0, C: 1 }], { folds: 2 }),
    /unknown feature set "x"/,
  );
  assert.throws(
    () => nestedOutOfFold(sets, y, [{ set: "a", k: 3, C: 1 }], { folds: 2 }),
    /no block for k = 3/,
  );
});

Deno.test("halfTiles: 9 overlapping half-size tiles, corners and centre taken from the right pixels", () => {
  const w = 6, h = 4;
  const data = new Uint8Array(w * h * 3).map((_, i) => Math.floor(i / 3)); // pixel index in every channel
  const tiles = halfTiles({ width: w, height: h, data });
  assert.equal(tiles.length, 9);
  for (const t of tiles) assert.deepEqual([t.width, t.height], [3, 2]);
  assert.deepEqual(Array.from(tiles[0].data.filter((_, i) => i % 3 === 0)), [0, 1, 2, 6, 7, 8]);
  assert.deepEqual(Array.from(tiles[8].data.filter((_, i) => i % 3 === 0)), [15, 16, 17, 21, 22, 23]);
  // centre tile: origin (floor(1.5), floor(1)) = (1, 1)
  assert.deepEqual(Array.from(tiles[4].data.filter((_, i) => i % 3 === 0)), [7, 8, 9, 13, 14, 15]);
});
