/**
 * `lib/labels/agreement.ts` against the golden `agreement` block (scikit-learn 1.2
 * `cohen_kappa_score`, SciPy 1.10 `spearmanr`) to 1e-12, plus hand-derived cases and errors.
 */
import assert from "node:assert/strict";
import { averageRanks, cohenKappa, MetricError, spearman } from "../lib/labels/agreement.ts";
import { GOLDEN_AGREEMENT } from "./golden.ts";

const G = GOLDEN_AGREEMENT;

function close(got: number, want: number, what: string, tol = 1e-12) {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} (diff ${got - want})`);
}

Deno.test("golden agreement: Cohen's kappa unweighted, linear, quadratic on quality; kappa on usable", () => {
  close(cohenKappa(G.quality_a, G.quality_b), G.quality_kappa, "quality_kappa");
  close(cohenKappa(G.quality_a, G.quality_b, { weights: "none" }), G.quality_kappa, "quality_kappa none");
  close(cohenKappa(G.quality_a, G.quality_b, { weights: "linear" }), G.quality_kappa_linear, "linear");
  close(
    cohenKappa(G.quality_a, G.quality_b, { weights: "quadratic" }),
    G.quality_kappa_quadratic,
    "quadratic",
  );
  close(cohenKappa(G.usable_a, G.usable_b), G.usable_kappa, "usable_kappa");
});

Deno.test("golden agreement: Spearman on quality (ties averaged)", () => {
  assert.ok(new Set(G.quality_a).size < G.quality_a.length, "the golden data has ties");
  close(spearman(G.quality_a, G.quality_b), G.quality_spearman, "quality_spearman");
});

Deno.test("kappa is symmetric in the raters and 1 for identical ratings", () => {
  for (const weights of ["none", "linear", "quadratic"] as const) {
    close(
      cohenKappa(G.quality_b, G.quality_a, { weights }),
      cohenKappa(G.quality_a, G.quality_b, { weights }),
      weights,
    );
    assert.equal(cohenKappa(G.quality_a, G.quality_a, { weights }), 1);
  }
});

Deno.test("unweighted kappa equals (po - pe) / (1 - pe) computed by hand", () => {
  const a = ["x", "x", "y", "y", "z", "x"], b = ["x", "y", "y", "y", "z", "z"];
  const po = 4 / 6;
  const pe = (3 / 6) * (1 / 6) + (2 / 6) * (3 / 6) + (1 / 6) * (2 / 6);
  close(cohenKappa(a, b), (po - pe) / (1 - pe), "hand kappa");
});

Deno.test("weights follow position among the categories, and explicit labels change them", () => {
  // pairs (1,1) (2,5) (5,5) (5,2); both raters: one 1, one 2, two 5s.
  const a = [1, 2, 5, 5], b = [1, 5, 5, 2];
  // categories seen 1, 2, 5 at positions 0, 1, 2: observed Σ|i-j| = 2, expected 14/4 (sklearn 0.4285714285714286)
  close(cohenKappa(a, b, { weights: "linear" }), 1 - 2 / 3.5, "positions");
  // with labels 1..5 the distances become value differences: observed 6, expected 30/4 (sklearn 0.2)
  close(cohenKappa(a, b, { weights: "linear", labels: [1, 2, 3, 4, 5] }), 1 - 6 / 7.5, "labels 1..5");
  // items outside the given labels are left out, as sklearn does
  close(
    cohenKappa([...a, 9], [...b, 1], { weights: "linear", labels: [1, 2, 3, 4, 5] }),
    1 - 6 / 7.5,
    "outside",
  );
});

Deno.test("average ranks give tied values the mean of their ranks", () => {
  assert.deepEqual(averageRanks([3, 1, 4, 1, 5, 9, 2, 6, 5]), [4, 1.5, 5, 1.5, 6.5, 9, 3, 8, 6.5]);
});

Deno.test("spearman: monotone maps give ±1; without ties it is 1 - 6Σd²/(n(n²-1))", () => {
  const x = [0.3, 2, -1, 7, 4.5];
  // scipy gives 0.9999999999999999 here too (rounding in the covariance)
  close(spearman(x, x.map((v) => Math.exp(v))), 1, "monotone up");
  close(spearman(x, x.map((v) => -v * v * v)), -1, "monotone down");
  const y = [5, 3, 1, 2, 4];
  const rx = averageRanks(x), ry = averageRanks(y);
  const d2 = rx.reduce((s, r, i) => s + (r - ry[i]) ** 2, 0);
  close(spearman(x, y), 1 - 6 * d2 / (5 * (25 - 1)), "rank formula");
});

Deno.test("undefined agreement is refused with a clear error", () => {
  const cases: [() => number, RegExp][] = [
    [() => cohenKappa([1, 2], [1]), /cohenKappa: the raters differ in length \(2 and 1\)/],
    [() => cohenKappa([], []), /cohenKappa: no items/],
    [() => cohenKappa(["yes", "yes"], ["yes", "yes"]), /cohenKappa: undefined, chance disagreement is 0/],
    [() => cohenKappa([1, NaN], [1, 2]), /cohenKappa: a\[1\] is NaN/],
    [() => cohenKappa<string | number>([1, "a"], [1, "a"]), /mix numbers and strings/],
    [() => spearman([1, 2, 3], [1, 2]), /spearman: the raters differ in length \(3 and 2\)/],
    [() => spearman([1, NaN, 3], [1, 2, 3]), /spearman: a\[1\] is NaN/],
    [() => spearman([2, 2, 2], [1, 2, 3]), /spearman: undefined, a is constant/],
    [() => spearman([1], [1]), /at least 2/],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e: Error) => e instanceof MetricError && re.test(e.message));
  }
  // and an unknown weighting is refused rather than read as unweighted
  // deno-lint-ignore no-explicit-any
  assert.throws(() => cohenKappa([1, 2], [2, 1], { weights: "cubic" as any }), /weights must be/);
});
