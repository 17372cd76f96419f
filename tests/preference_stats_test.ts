/**
 * Preference statistics against SciPy / the reference Bradley–Terry fit in
 * `../shared/reference/eval/golden_eval.json` (its `definitions` say how each was computed), and the
 * behaviour around them: regularised fits, counts, a simulation with known strengths.
 */
import assert from "node:assert/strict";
import { REFERENCE_DIR } from "./golden.ts";
import {
  binomialTest,
  bootstrapBradleyTerry,
  bradleyTerry,
  chiSquareTest,
  coverageStudy,
  fitBradleyTerry,
  preferenceCounts,
  simulateComparisons,
  wilsonInterval,
} from "../lib/mod.ts";

const EVAL = JSON.parse(await Deno.readTextFile(`${REFERENCE_DIR}eval/golden_eval.json`)) as {
  bradley_terry: { systems: number; comparisons: [number, number, number][]; log_strength: number[] };
  wilson: { k: number; n: number; interval: [number, number] }[];
  binomial_test: { k: number; n: number; pvalue: number }[];
  chi_square: { observed: number[]; expected: number[]; statistic: number; pvalue: number }[];
};

Deno.test("bradleyTerry equals the reference MM fit (ties as half wins, log strengths mean 0) to 1e-6", () => {
  const g = EVAL.bradley_terry;
  const s = bradleyTerry(g.comparisons);
  assert.equal(s.size, g.systems);
  for (let i = 0; i < g.systems; i++) {
    assert.ok(
      Math.abs(s.get(i)! - g.log_strength[i]) < 1e-6,
      `system ${i}: ${s.get(i)} vs ${g.log_strength[i]}`,
    );
  }
  // The comparisons contain ties; a fit that dropped them would differ.
  const noTies = bradleyTerry(g.comparisons.filter((c) => c[2] !== 0.5));
  assert.ok([...noTies].some(([k, v]) => Math.abs(v - g.log_strength[k]) > 1e-6));
});

Deno.test("wilsonInterval equals the reference (z = 1.959963984540054) to 1e-9", () => {
  for (const { k, n, interval } of EVAL.wilson) {
    const [lo, hi] = wilsonInterval(k, n);
    assert.ok(
      Math.abs(lo - interval[0]) < 1e-9 && Math.abs(hi - interval[1]) < 1e-9,
      `${k}/${n}: ${lo}, ${hi}`,
    );
  }
});

Deno.test("binomialTest equals scipy.stats.binomtest(k, n, 0.5).pvalue to 1e-9", () => {
  for (const { k, n, pvalue } of EVAL.binomial_test) {
    assert.ok(Math.abs(binomialTest(k, n) - pvalue) < 1e-9, `${k}/${n}: ${binomialTest(k, n)} vs ${pvalue}`);
    // symmetric under p0 = ½
    assert.ok(Math.abs(binomialTest(n - k, n) - pvalue) < 1e-9);
  }
});

Deno.test("chiSquareTest equals scipy.stats.chisquare to 1e-9 (statistic and p-value)", () => {
  for (const { observed, expected, statistic, pvalue } of EVAL.chi_square) {
    for (const r of [chiSquareTest(observed, expected), chiSquareTest(observed)]) {
      assert.ok(Math.abs(r.statistic - statistic) < 1e-9, `${observed}: ${r.statistic}`);
      assert.ok(Math.abs(r.pvalue - pvalue) < 1e-9, `${observed}: ${r.pvalue} vs ${pvalue}`);
      assert.equal(r.df, observed.length - 1);
    }
  }
});

Deno.test("a system that never wins gets a finite, regularised strength and a note saying why", () => {
  const c: [string, string, number][] = [["a", "b", 1], ["b", "c", 1], ["c", "a", 1], ["a", "d", 1], [
    "b",
    "d",
    1,
  ]];
  assert.throws(() => fitBradleyTerry(c, { prior: 0 }), /d never won or tied/);
  const fit = fitBradleyTerry(c);
  assert.equal(fit.prior, 1);
  assert.ok(fit.logStrength.every(Number.isFinite));
  assert.match(fit.notes.join("\n"), /d never won or tied.*−∞/);
  assert.match(fit.notes.join("\n"), /regularised/);
  assert.ok(fit.logStrength[3] === Math.min(...fit.logStrength));
  // Two groups that never beat each other (a,b) ≻ (c,d): every system won and lost, yet no MLE.
  const split = fitBradleyTerry<string>([
    ["a", "b", 1],
    ["b", "a", 1],
    ["c", "d", 1],
    ["d", "c", 1],
    ["a", "c", 1],
  ]);
  assert.match(split.notes[0], /never beat or tied the others/);
  // With the MLE in existence no prior is added.
  assert.equal(fitBradleyTerry(EVAL.bradley_terry.comparisons).prior, 0);
});

Deno.test("bad comparisons are refused with the index of the bad one", () => {
  assert.throws(() => bradleyTerry([["a", "b", 1], ["a", "b", 2]]), /comparison 1: outcome/);
  assert.throws(() => bradleyTerry([["a", "a", 1]]), /comparison 0: a system compared with itself/);
  assert.throws(() => wilsonInterval(11, 10), /k must be between 0 and n/);
  assert.throws(() => chiSquareTest([1, 2], [1]), /2 observed counts but 1 expected/);
});

Deno.test("preferenceCounts: wins, losses, ties per system and per pair, with Wilson and binomial", () => {
  const c = preferenceCounts(EVAL.bradley_terry.comparisons);
  assert.equal(c.comparisons, 400);
  const total = c.systems.reduce((s, r) => s + r.wins + r.losses + r.ties, 0);
  assert.equal(total, 800); // each comparison counted from both sides
  assert.equal(c.pairs.length, 10);
  for (const p of c.pairs) {
    assert.equal(p.pvalue, binomialTest(p.aWins, p.aWins + p.bWins));
    assert.deepEqual(p.aWinRateCi, wilsonInterval(p.aWins, p.aWins + p.bWins));
  }
  // The strongest system by Bradley–Terry has the highest win rate here.
  const s = bradleyTerry(EVAL.bradley_terry.comparisons);
  const best = [...s].sort((a, b) => b[1] - a[1])[0][0];
  const bestRate = [...c.systems].sort((a, b) => b.winRate - a.winRate)[0].system;
  assert.equal(best, bestRate);
});

Deno.test("bootstrap intervals are seeded and contain the estimate", () => {
  const g = EVAL.bradley_terry.comparisons;
  const a = bootstrapBradleyTerry(g, { resamples: 200, seed: 4 });
  assert.deepEqual(a, bootstrapBradleyTerry(g, { resamples: 200, seed: 4 }));
  a.systems.forEach((_, i) => assert.ok(a.ci[i][0] < a.logStrength[i] && a.logStrength[i] < a.ci[i][1]));
});

Deno.test("simulation with known strengths: order recovered, 95 % intervals cover about 95 % of the time", () => {
  const truth = { a: 0.9, b: 0.3, c: -0.2, d: -1.0 };
  // one large sample recovers the order exactly
  const big = bradleyTerry(simulateComparisons(truth, { comparisons: 4000, seed: 11, tieRate: 0.1 }));
  assert.deepEqual([...big].sort((x, y) => y[1] - x[1]).map((x) => x[0]), ["a", "b", "c", "d"]);
  const r = coverageStudy(truth, { simulations: 60, comparisons: 300, resamples: 200, seed: 1 });
  console.log(
    `coverage of 95 % bootstrap intervals: ${r.covered}/${r.intervals} = ${
      (100 * r.coverage).toFixed(1)
    } % ` +
      `(Wilson 95 % ${r.coverageCi.map((x) => (100 * x).toFixed(1)).join("–")} %); order recovered in ` +
      `${r.orderRecovered}/${r.simulations} simulations of 300 comparisons`,
  );
  assert.ok(r.coverage > 0.88 && r.coverage < 0.99, `coverage ${r.coverage}`);
  assert.ok(r.orderRecovered >= r.simulations * 0.5);
});
