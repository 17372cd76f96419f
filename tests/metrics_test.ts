import assert from "node:assert/strict";
import {
  averagePrecisionScore,
  MetricError,
  precisionRecallCurve,
  rocAucScore,
  rocCurve,
  youdenThreshold,
} from "../lib/calibrate/metrics.ts";
import { GOLDEN } from "./golden.ts";

interface GoldenRoc {
  labels: number[];
  scores: number[];
  auc: number;
  average_precision: number;
  youden_threshold: number;
  roc: { fpr: number[]; tpr: number[]; thresholds: number[] };
  pr: { precision: number[]; recall: number[]; thresholds: number[] };
}
const CASES = GOLDEN.roc as GoldenRoc[];

function close(got: number, want: number, what: string, tol = 1e-12) {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} (diff ${got - want})`);
}

Deno.test("golden roc block has the cases this test relies on", () => {
  assert.ok(CASES.length >= 3);
  // cases 2 and 3 hold tied scores (and a -0/0 tie), which is where implementations differ
  assert.ok(CASES.some((c) => new Set(c.scores).size < c.scores.length));
});

for (const [k, c] of CASES.entries()) {
  Deno.test(`golden roc case ${k} (n=${c.labels.length}): roc curve, point for point`, () => {
    // deepStrictEqual: exact numbers, and Object.is, so a -0 threshold must stay -0
    assert.deepStrictEqual(rocCurve(c.labels, c.scores), c.roc);
    assert.deepStrictEqual(rocCurve(c.labels, c.scores, { dropIntermediate: false }), c.roc);
  });

  Deno.test(`golden roc case ${k}: precision-recall curve, point for point`, () => {
    assert.deepStrictEqual(precisionRecallCurve(c.labels, c.scores), c.pr);
  });

  Deno.test(`golden roc case ${k}: auc, average precision, youden threshold`, () => {
    close(rocAucScore(c.labels, c.scores), c.auc, "auc");
    close(averagePrecisionScore(c.labels, c.scores), c.average_precision, "average_precision");
    assert.equal(youdenThreshold(c.labels, c.scores), c.youden_threshold);
  });

  Deno.test(`golden roc case ${k}: auc equals the Mann-Whitney probability (independent check)`, () => {
    let wins = 0, pairs = 0;
    for (let i = 0; i < c.labels.length; i++) {
      if (c.labels[i] !== 1) continue;
      for (let j = 0; j < c.labels.length; j++) {
        if (c.labels[j] !== 0) continue;
        pairs++;
        wins += c.scores[i] > c.scores[j] ? 1 : c.scores[i] === c.scores[j] ? 0.5 : 0;
      }
    }
    close(rocAucScore(c.labels, c.scores), wins / pairs, "auc vs Mann-Whitney");
  });

  Deno.test(`golden roc case ${k}: dropping intermediate points keeps the corners and the area`, () => {
    const full = rocCurve(c.labels, c.scores);
    const dropped = rocCurve(c.labels, c.scores, { dropIntermediate: true });
    assert.ok(dropped.thresholds.length < full.thresholds.length);
    // every kept point is a point of the full curve, same threshold
    for (const [i, t] of dropped.thresholds.entries()) {
      const j = full.thresholds.indexOf(t);
      assert.ok(j >= 0);
      assert.deepEqual([dropped.fpr[i], dropped.tpr[i]], [full.fpr[j], full.tpr[j]]);
    }
    // every dropped point lies on the segment between its kept neighbours' (fpr, tpr)
    for (const [j, t] of full.thresholds.entries()) {
      if (dropped.thresholds.includes(t)) continue;
      const a = j - 1, b = j + 1;
      const cross = (full.fpr[j] - full.fpr[a]) * (full.tpr[b] - full.tpr[a]) -
        (full.tpr[j] - full.tpr[a]) * (full.fpr[b] - full.fpr[a]);
      assert.ok(Math.abs(cross) < 1e-12, `dropped point ${j} is not collinear`);
    }
  });
}

Deno.test("dropIntermediate matches sklearn on a hand-checked case", () => {
  // sklearn 1.2: roc_curve([0,0,0,1,1,1], [1,2,3,4,5,6]) → thresholds [7, 6, 4, 1]
  const r = rocCurve([0, 0, 0, 1, 1, 1], [1, 2, 3, 4, 5, 6], { dropIntermediate: true });
  assert.deepStrictEqual(r, { fpr: [0, 0, 0, 1], tpr: [0, 1 / 3, 1, 1], thresholds: [7, 6, 4, 1] });
  assert.deepStrictEqual(rocCurve([0, 0, 0, 1, 1, 1], [1, 2, 3, 4, 5, 6]).thresholds, [7, 6, 5, 4, 3, 2, 1]);
});

Deno.test("booleans are labels too; order of samples does not matter", () => {
  const c = CASES[1];
  const perm = c.labels.map((_, i) => i).reverse();
  assert.equal(
    rocAucScore(perm.map((i) => c.labels[i] === 1), perm.map((i) => c.scores[i])),
    rocAucScore(c.labels, c.scores),
  );
});

Deno.test("degenerate input is refused with a clear error, by every function", () => {
  const fns = { rocCurve, precisionRecallCurve, rocAucScore, averagePrecisionScore, youdenThreshold };
  const bad: [string, number[], number[], RegExp][] = [
    ["one class", [1, 1, 1], [0.1, 0.2, 0.3], /only one class present in labels \(all 1, n=3\)/],
    ["no positives", [0, 0], [0.1, 0.2], /only one class present in labels \(all 0, n=2\)/],
    ["length mismatch", [0, 1, 1], [0.1, 0.2], /labels and scores differ in length \(3 and 2\)/],
    ["empty", [], [], /no samples/],
    ["NaN score", [0, 1, 0], [0.1, NaN, 0.3], /scores\[1\] is NaN, expected a finite number/],
    ["infinite score", [0, 1], [0.1, Infinity], /scores\[1\] is Infinity/],
    ["label 2", [0, 2, 1], [0.1, 0.2, 0.3], /labels\[1\] is 2, expected 0 or 1/],
    ["NaN label", [0, NaN, 1], [0.1, 0.2, 0.3], /labels\[1\] is NaN/],
  ];
  for (const [name, fn] of Object.entries(fns)) {
    for (const [what, y, s, re] of bad) {
      assert.throws(() => fn(y, s), (e: Error) => {
        assert.ok(e instanceof MetricError, `${name} ${what}: ${e}`);
        assert.match(e.message, re, `${name} ${what}`);
        assert.match(e.message, new RegExp(`^${name}: `), `${name} ${what}: names the function`);
        return true;
      });
    }
  }
});
