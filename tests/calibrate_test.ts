import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import {
  chooseThreshold,
  columnDirection,
  confusionAt,
  operatingPoints,
  orientScores,
  ruleFor,
  ThresholdChoiceError,
} from "../lib/calibrate/thresholds.ts";
import { bootstrapCalibration, quantileSorted } from "../lib/calibrate/bootstrap.ts";
import { seededRandom } from "../lib/core/random.ts";
import { crossValidateThreshold, stratifiedFolds } from "../lib/calibrate/crossval.ts";
import { crossValidateCombined, fitLogistic } from "../lib/calibrate/logistic.ts";
import { runCalibration } from "../lib/calibrate/run.ts";
import { LabelFormatError } from "../lib/labels/format.ts";
import { applyRules } from "../lib/score/rules.ts";

// Six images: labels 0 0 1 0 1 1 at scores 1..6 (checked by hand in each test).
const Y = [0, 0, 1, 0, 1, 1];
const S = [1, 2, 3, 4, 5, 6];

Deno.test("youden picks the threshold of maximal J, the highest on exact ties", () => {
  // J at 5 is 2/3 − 0 and at 3 is 1 − 1/3: equal on paper, but in floating point 1 − 1/3 is the
  // larger (0.6666666666666667 against 0.6666666666666666), and np.argmax(tpr − fpr) takes 3 too.
  const c = chooseThreshold(Y, S, { strategy: "youden" });
  assert.equal(c.threshold, 3);
  assert.deepEqual([c.point.tp, c.point.fp], [3, 1]);
  // An exact tie (J = 0.5 at 4 and at 2): the higher threshold.
  assert.equal(chooseThreshold([0, 1, 0, 1], [1, 2, 3, 4]).threshold, 4);
});

Deno.test("cost strategy minimises the weighted errors and moves with the costs", () => {
  // Equal costs: errors at t=7..1 are 3,2,1,2,1,2,3 → 5 (highest of the ties).
  assert.deepEqual(chooseThreshold(Y, S, { strategy: "cost" }).threshold, 5);
  // False rejects three times as costly: costs 9,6,3,4,1,2,3 → 3.
  const c = chooseThreshold(Y, S, { strategy: "cost", costFalseAccept: 1, costFalseReject: 3 });
  assert.deepEqual([c.threshold, c.cost], [3, 1]);
  // False accepts very costly: keep only what is surely good (6 and 5 are good) → 5.
  assert.equal(
    chooseThreshold(Y, S, { strategy: "cost", costFalseAccept: 10, costFalseReject: 1 }).threshold,
    5,
  );
  assert.throws(
    () => chooseThreshold(Y, S, { strategy: "cost", costFalseAccept: 0, costFalseReject: 0 }),
    ThresholdChoiceError,
  );
});

Deno.test("precision target: largest recall reaching it; unreachable targets say so", () => {
  // precision at t=6:1, 5:1, 4:2/3, 3:3/4, 2:3/5, 1:1/2.
  const c = chooseThreshold(Y, S, { strategy: "precision", target: 0.75 });
  assert.deepEqual([c.threshold, c.point.recall, c.reached], [3, 1, true]);
  assert.equal(chooseThreshold(Y, S, { strategy: "precision", target: 0.9 }).threshold, 5);
  const y2 = [1, 0, 1, 0], s2 = [4, 3, 2, 1]; // best precision 1 at t=4
  assert.equal(chooseThreshold(y2, s2, { strategy: "precision", target: 1 }).reached, true);
  const y3 = [0, 1, 0, 1], s3 = [4, 3, 2, 1]; // precision never above 1/2
  const u = chooseThreshold(y3, s3, { strategy: "precision", target: 0.9 });
  assert.equal(u.reached, false);
  assert.equal(u.point.precision, 0.5);
  assert.throws(() => chooseThreshold(Y, S, { strategy: "precision" }), /needs a target/);
});

Deno.test("recall target: largest precision reaching it; keep target: highest threshold keeping enough", () => {
  assert.equal(chooseThreshold(Y, S, { strategy: "recall", target: 1 }).threshold, 3);
  assert.equal(chooseThreshold(Y, S, { strategy: "recall", target: 0.6 }).threshold, 5);
  assert.equal(chooseThreshold(Y, S, { strategy: "keep", target: 0.5 }).threshold, 4);
  assert.equal(chooseThreshold(Y, S, { strategy: "keep", target: 0.4 }).threshold, 4);
  assert.equal(chooseThreshold(Y, S, { strategy: "keep", target: 1 }).threshold, 1);
  // Ties: scores 2,2,2,1 — keeping ≥ 50% needs all three 2s.
  const k = chooseThreshold([1, 0, 1, 0], [2, 2, 2, 1], { strategy: "keep", target: 0.5 });
  assert.deepEqual([k.threshold, k.point.keptFraction], [2, 0.75]);
});

Deno.test("operating points are the ROC points with counts; confusionAt works at any threshold", () => {
  const pts = operatingPoints(Y, S);
  assert.deepEqual(pts.map((p) => p.threshold), [7, 6, 5, 4, 3, 2, 1]);
  assert.deepEqual(pts.map((p) => p.tp), [0, 1, 2, 2, 3, 3, 3]);
  assert.deepEqual(pts.map((p) => p.fp), [0, 0, 0, 1, 1, 2, 3]);
  const p = confusionAt(Y, S, 4.5);
  assert.deepEqual([p.tp, p.fp, p.fn, p.tn], [2, 0, 1, 3]);
});

Deno.test("lower-is-better columns are negated and their rule is a max that applyRules honours", () => {
  assert.equal(columnDirection("dark_frac"), "lower_is_better");
  const values = [0.9, 0.8, 0.1, 0.7, 0.05, 0.02]; // the good images (1) have little black
  const s = orientScores(values, "lower_is_better");
  const c = chooseThreshold(Y, s);
  const rule = ruleFor("dark_frac", c.threshold, "lower_is_better", "underexposed", "test");
  assert.equal(rule.max, 0.1);
  assert.equal(rule.min, undefined);
  const kept = values.map((v) => applyRules({ dark_frac: v }, [rule]).kept);
  assert.deepEqual(kept, values.map((_, i) => s[i] >= c.threshold));
  assert.deepEqual(kept, [false, false, true, false, true, true]);
});

Deno.test("seeded PRNG and NumPy-style percentiles", () => {
  const a = seededRandom(3), b = seededRandom(3), c = seededRandom(4);
  const xs = Array.from({ length: 5 }, a);
  assert.deepEqual(xs, Array.from({ length: 5 }, b));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, c));
  // np.percentile([1, 2, 3, 4, 10], [2.5, 50, 97.5]) = [1.1, 3.0, 9.4]
  const sorted = [1, 2, 3, 4, 10];
  assert.ok(Math.abs(quantileSorted(sorted, 0.025) - 1.1) < 1e-12);
  assert.equal(quantileSorted(sorted, 0.5), 3);
  assert.ok(Math.abs(quantileSorted(sorted, 0.975) - 9.4) < 1e-12);
});

/** A noisy labeled set: score = label + noise. */
function noisySet(n: number, seed: number, signal = 1) {
  const r = seededRandom(seed);
  const y = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : 1));
  const s = y.map((v) => signal * v + (r() + r() + r() - 1.5) * 1.2);
  return { y, s };
}

Deno.test("bootstrap intervals contain the point estimates and are deterministic for a seed", () => {
  const { y, s } = noisySet(90, 11);
  const t = chooseThreshold(y, s).threshold;
  const b = bootstrapCalibration(y, s, t, { resamples: 400, seed: 5, rechoose: { strategy: "youden" } });
  assert.equal(b.resamples, 400);
  for (const k of ["auc", "averagePrecision", "precision", "recall", "keptFraction", "threshold"] as const) {
    const i = b[k]!;
    assert.ok(
      i.low <= i.estimate && i.estimate <= i.high,
      `${k}: ${i.estimate} not in [${i.low}, ${i.high}]`,
    );
    assert.ok(i.low < i.high, `${k}: empty interval`);
  }
  assert.equal(b.auc.resamples, 400);
  assert.deepEqual(
    b,
    bootstrapCalibration(y, s, t, { resamples: 400, seed: 5, rechoose: { strategy: "youden" } }),
  );
  assert.notDeepEqual(b.auc, bootstrapCalibration(y, s, t, { resamples: 400, seed: 6 }).auc);
  // Stratified: every resample keeps the class sizes, so the recall interval is on a 60-positive grid.
  assert.ok(Number.isInteger(Math.round(b.recall.low * 60 * 1e9) / 1e9));
});

Deno.test("stratified folds keep the class balance in every fold", () => {
  const y = Array.from({ length: 23 }, (_, i) => (i < 8 ? 0 : 1));
  const f = stratifiedFolds(y, 4, 1);
  for (let k = 0; k < 4; k++) {
    const neg = y.filter((v, i) => v === 0 && f[i] === k).length;
    const pos = y.filter((v, i) => v === 1 && f[i] === k).length;
    assert.ok(neg === 2, `fold ${k}: ${neg} negatives`);
    assert.ok(pos === 3 || pos === 4, `fold ${k}: ${pos} positives`);
  }
  assert.throws(() => stratifiedFolds([0, 1, 1, 1], 2), /at least 2 negative/);
});

Deno.test("out-of-fold Youden J is below the in-sample one on average on a noisy set", () => {
  let inSample = 0, outOfFold = 0;
  const runs = 20;
  for (let seed = 0; seed < runs; seed++) {
    const { y, s } = noisySet(60, 100 + seed, 0.3);
    const cv = crossValidateThreshold(y, s, { strategy: "youden" }, { folds: 5, seed });
    assert.equal(cv.outOfFold.tp + cv.outOfFold.fn, 40);
    inSample += cv.inSample.youdenJ / runs;
    outOfFold += cv.outOfFold.youdenJ / runs;
  }
  assert.ok(outOfFold < inSample - 0.05, `out of fold ${outOfFold}, in sample ${inSample}`);
});

// The dataset and coefficients below were computed once with scikit-learn 1.2.1 (/usr/bin/python3):
//   rng = np.random.default_rng(5); n = 40
//   X = np.round(np.column_stack([rng.normal(0, 1, n), rng.normal(5, 3, n), rng.uniform(0, 1, n)]), 3)
//   y = ((X[:, 0] - 0.3 * X[:, 1] + 2 * X[:, 2] + rng.normal(0, 1, n)) > -1).astype(int)
//   make_pipeline(StandardScaler(), LogisticRegression(C=C, tol=1e-12, max_iter=10000)).fit(X, y)
// printing coef_[0] and intercept_[0] of the LogisticRegression step.
const LR_X = [
  [-0.802, 8.511, 0.713],
  [-1.324, 7.15, 0.848],
  [-0.248, -0.993, 0.401],
  [0.42, 5.816, 0.553],
  [1.136, 1.695, 0.479],
  [0.11, 5.099, 0.959],
  [-0.553, 5.131, 0.317],
  [-0.785, -0.965, 0.402],
  [0.749, 4.3, 0.001],
  [1.635, 4.233, 0.42],
  [0.273, 7.886, 0.631],
  [-1.233, 1.456, 0.935],
  [-0.958, 7.214, 0.924],
  [1.6, 1.703, 0.327],
  [0.203, 4.006, 0.989],
  [-1.732, 2.479, 0.188],
  [-0.084, 9.346, 0.823],
  [-1.163, 6.705, 0.157],
  [-0.629, 12.295, 0.405],
  [-0.488, 6.926, 0.073],
  [-0.713, 7.535, 0.858],
  [0.553, 7.522, 0.829],
  [-0.063, 3.18, 0.14],
  [-0.589, 4.79, 0.527],
  [0.41, 9.051, 0.258],
  [0.83, 3.81, 0.492],
  [-1.643, 5.566, 0.553],
  [-0.257, 4.936, 0.106],
  [-0.981, 6.828, 0.864],
  [-0.173, 3.905, 0.279],
  [-1.289, 4.543, 0.447],
  [0.021, 5.727, 0.057],
  [-0.038, 5.309, 0.003],
  [-0.304, 2.405, 0.195],
  [-1.048, 7.687, 0.342],
  [-0.396, 1.105, 0.928],
  [-1.091, 1.397, 0.89],
  [-1.355, 1.153, 0.481],
  [0.225, 7.901, 0.455],
  [-1.109, 3.918, 0.667],
];
const LR_Y = [
  1,
  0,
  1,
  1,
  1,
  1,
  0,
  1,
  0,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  1,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  0,
  1,
  1,
  1,
  0,
  1,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  0,
  0,
  0,
];
const SKLEARN = {
  1: { coef: [0.74069982636001, -0.9029146653186798, 0.9460728169630223], intercept: 0.44476870155906245 },
  0.1: {
    coef: [0.2897366981689961, -0.37759243188982633, 0.3898673656911353],
    intercept: 0.32703465823458777,
  },
};

Deno.test("logistic regression matches scikit-learn's coefficients to 1e-6", () => {
  for (const [C, want] of Object.entries(SKLEARN)) {
    const m = fitLogistic(LR_X, LR_Y, { C: Number(C) });
    assert.ok(m.converged, `C=${C} did not converge`);
    m.coef.forEach((c, j) =>
      assert.ok(Math.abs(c - want.coef[j]) < 1e-6, `C=${C} coef[${j}] ${c} vs ${want.coef[j]}`)
    );
    assert.ok(Math.abs(m.intercept - want.intercept) < 1e-6, `C=${C} intercept ${m.intercept}`);
  }
});

Deno.test("the combined filter is evaluated out of fold beside each single heuristic", () => {
  const r = crossValidateCombined(LR_X, LR_Y, ["a", "b", "c"], { folds: 4, seed: 2 });
  assert.equal(r.perFold.length, 4);
  assert.equal(r.perFold.reduce((s, f) => s + f.n, 0), 40);
  for (const f of r.perFold) assert.deepEqual(Object.keys(f.singleAuc), ["a", "b", "c"]);
  // The model fits the data it saw better than data it did not.
  assert.ok(r.inSampleAuc > r.pooledAuc.combined, `${r.inSampleAuc} vs ${r.pooledAuc.combined}`);
  // b is lower-is-better in this data; as given (not oriented) it ranks backwards.
  assert.ok(r.pooledAuc.single.b < 0.5);
  assert.ok(r.pooledAuc.combined > Math.max(r.pooledAuc.single.a, r.pooledAuc.single.c));
});

/** A labeled folder: 16 gray images whose sharpness-like score separates usable ones, and a score table. */
async function labeledFolder(extraRows: string) {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "images"));
  const lines = ["path,usable,quality,errors,rater"];
  const scores = ["path,error,laplacian_var,dark_frac"];
  for (let i = 0; i < 16; i++) {
    const file = join(dir, "images", `img${i}.png`);
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: i * 10, g: 0, b: 0 } } }).png()
      .toFile(file);
    const usable = i % 4 !== 0;
    lines.push(
      `../images/img${i}.png,${usable ? "yes" : "no"},${usable ? 4 : 2},${usable ? "" : "blur"},ann`,
    );
    scores.push(`${file},,${(usable ? 50 : 10) + i},${usable ? 0.1 : 0.5}`);
  }
  await Deno.mkdir(join(dir, "labels"));
  await Deno.writeTextFile(join(dir, "labels", "images.csv"), lines.join("\n") + "\n" + extraRows);
  await Deno.writeTextFile(join(dir, "scores.csv"), scores.join("\n") + "\n");
  return dir;
}

Deno.test("a label file with bad rows gives a clear report and still calibrates on the good rows", async () => {
  const dir = await labeledFolder(
    "../images/img1.png,yes,4\n" + // missing columns (line 18)
      "../images/img2x.png,yes,7,,ann\n" + // quality 7 (line 19)
      "../images/img3x.png,no,2,blurry,ann\n" + // unknown error type (line 20)
      "../images/missing.png,yes,5,,ann\n", // image not found (line 21)
  );
  const labels = join(dir, "labels", "images.csv");
  const run = await runCalibration({
    labels,
    scores: join(dir, "scores.csv"),
    heuristics: ["laplacian_var", "dark_frac"],
    bootstrap: 50,
    folds: 3,
  });
  const issues = run.labelIssues.join("\n");
  assert.match(issues, new RegExp(`${labels}:18: row: expected 5 fields as in the header, got 3`));
  assert.match(issues, new RegExp(`${labels}:19: quality: expected an integer 1–5, got "7"`));
  assert.match(issues, new RegExp(`${labels}:20: errors: unknown error type "blurry"`));
  assert.match(issues, new RegExp(`${labels}:21: path: no such file: .*missing\\.png`));
  const r = run.result as {
    labels: { read: number; kept: number; rejected: number };
    join: { labeled_and_scored: number };
  };
  assert.deepEqual([r.labels.read, r.labels.kept, r.labels.rejected], [20, 16, 4]);
  assert.equal(r.join.labeled_and_scored, 16);
  // The good rows separate perfectly: AUC 1, and dark_frac (lower is better) became a max rule.
  assert.equal(run.columns[0].auc, 1);
  assert.equal(run.columns[0].rule.min, 51); // the lowest usable value (50 + 1); the highest unusable is 22
  assert.deepEqual([run.columns[1].rule.max, run.columns[1].rule.min], [0.1, undefined]);
});

Deno.test("a label file without a required column is refused with the column named", async () => {
  const dir = await labeledFolder("");
  const file = join(dir, "labels", "bad.csv");
  await Deno.writeTextFile(file, "path,quality,errors\n../images/img1.png,4,\n");
  await assert.rejects(
    runCalibration({ labels: file, scores: join(dir, "scores.csv"), heuristics: ["laplacian_var"] }),
    (e: Error) => e instanceof LabelFormatError && /missing required column "usable"/.test(e.message),
  );
});
