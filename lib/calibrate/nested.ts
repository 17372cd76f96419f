/**
 * Nested cross-validation of a logistic model whose choices (which feature set, how many principal
 * components of a wide block such as an image embedding, and C) are made INSIDE each outer training
 * part by an inner cross-validation, so the outer out-of-fold AUC is not flattered by having picked
 * the best of many configurations on the same rows. Used by `deno task usable-study` to judge
 * candidate inputs of the usability scorer honestly.
 *
 * A configuration reads, per row, a few named columns as they are (`fixed`) and, optionally, a wide
 * block reduced to its first `k` principal components fitted on the training rows only (PCA by
 * block power iteration on the standardised block's Gram matrix), then fits the L2 logistic of `logistic.ts`.
 *
 * @module
 */
import { fitLogistic, predictLogit } from "./logistic.ts";
import { stratifiedFolds } from "./crossval.ts";
import { rocAucScore } from "./metrics.ts";
import { seededRandom } from "../core/random.ts";

/** One feature set: per row, `fixed` columns and an optional wide `block` (same row order). */
export interface FeatureSet {
  name: string;
  fixed: readonly (readonly number[])[];
  block?: readonly (readonly number[])[];
}

/** A candidate configuration: a feature set, principal components of its block (0 = none), C. */
export interface NestedConfig {
  set: string;
  k: number;
  C: number;
}

/** Options of {@link nestedOutOfFold}. */
export interface NestedOptions {
  /** Outer and inner folds (default 5 each). */
  folds?: number;
  innerFolds?: number;
  /** Seed of the outer folds (default 0); inner folds use `seed + 100 + fold`. */
  seed?: number;
  /** The outer fold of every row (default stratified folds of `seed`). */
  outerFolds?: readonly number[];
}

/** Result of {@link nestedOutOfFold}. */
export interface NestedResult {
  /** Out-of-fold logit of every row (input order), each from a model chosen and fitted without it. */
  outOfFold: number[];
  /** Per outer fold: the configuration the inner cross-validation chose, and its inner AUC. */
  chosen: (NestedConfig & { innerAuc: number })[];
}

/**
 * The first `k` principal directions (unit vectors, by decreasing variance) of the rows of `Z`
 * (already centred), by block power iteration with Gram–Schmidt on their Gram matrix; deterministic
 * for a seed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { principalDirections } from "./nested.ts";
 * // Points along (1, 1) with a little noise along (1, −1): the first direction is ±(1, 1)/√2.
 * const Z = [[-2, -2.1], [-1, -0.9], [0, 0.1], [1, 0.9], [2, 2]];
 * const [v] = principalDirections(Z, 1);
 * assert.ok(Math.abs(Math.abs(v[0]) - Math.SQRT1_2) < 0.02 && v[0] * v[1] > 0);
 * ```
 */
export function principalDirections(Z: readonly (readonly number[])[], k: number, seed = 0): number[][] {
  const n = Z.length, d = Z[0]?.length ?? 0;
  k = Math.min(k, d, n);
  // Power iteration on the n × n Gram matrix Z Zᵀ (n rows ≪ d columns for an embedding), then
  // each direction is Zᵀ u, normalised. Flat typed arrays: this runs hundreds of times in a study.
  const flat = new Float64Array(n * d);
  Z.forEach((row, i) => flat.set(row, i * d));
  const G = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a; b < n; b++) {
      let s = 0;
      for (let j = 0, ia = a * d, ib = b * d; j < d; j++) s += flat[ia + j] * flat[ib + j];
      G[a * n + b] = G[b * n + a] = s;
    }
  }
  const orth = (M: Float64Array[]) => {
    for (let a = 0; a < M.length; a++) {
      for (let b = 0; b < a; b++) {
        let dot = 0;
        for (let j = 0; j < M[a].length; j++) dot += M[a][j] * M[b][j];
        for (let j = 0; j < M[a].length; j++) M[a][j] -= dot * M[b][j];
      }
      let norm = 0;
      for (let j = 0; j < M[a].length; j++) norm += M[a][j] * M[a][j];
      norm = Math.sqrt(norm) || 1;
      for (let j = 0; j < M[a].length; j++) M[a][j] /= norm;
    }
    return M;
  };
  const rand = seededRandom(seed);
  let U = orth(Array.from({ length: k }, () => Float64Array.from({ length: n }, () => rand() - 0.5)));
  for (let it = 0; it < 200; it++) {
    const next = orth(U.map((u) => {
      const out = new Float64Array(n);
      for (let a = 0; a < n; a++) {
        let s = 0;
        for (let b = 0, r = a * n; b < n; b++) s += G[r + b] * u[b];
        out[a] = s;
      }
      return out;
    }));
    let change = 0;
    next.forEach((v, c) => {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += v[j] * U[c][j];
      change = Math.max(change, 1 - Math.abs(dot));
    });
    U = next;
    if (change < 1e-12) break;
  }
  const V = U.map((u) => {
    const v = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const w = u[i];
      for (let j = 0, r = i * d; j < d; j++) v[j] += flat[r + j] * w;
    }
    return v;
  });
  return orth(V).map((v) => Array.from(v));
}

interface Prepared {
  mean: number[];
  scale: number[];
  dirs: number[][];
}

function prepare(block: readonly (readonly number[])[], kMax: number): Prepared {
  const n = block.length, d = block[0].length;
  const mean = new Array<number>(d).fill(0), scale = new Array<number>(d).fill(0);
  for (const r of block) for (let j = 0; j < d; j++) mean[j] += r[j] / n;
  for (const r of block) for (let j = 0; j < d; j++) scale[j] += (r[j] - mean[j]) ** 2 / n;
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]) || 1;
  const Z = block.map((r) => r.map((v, j) => (v - mean[j]) / scale[j]));
  return { mean, scale, dirs: kMax ? principalDirections(Z, kMax) : [] };
}

function project(p: Prepared, row: readonly number[], k: number): number[] {
  const z = row.map((x, j) => (x - p.mean[j]) / p.scale[j]);
  return p.dirs.slice(0, k).map((v) => {
    let s = 0;
    for (let j = 0; j < z.length; j++) s += v[j] * z[j];
    return s;
  });
}

function design(set: FeatureSet, idx: readonly number[], p: Prepared | undefined, k: number): number[][] {
  return idx.map((i) => [...set.fixed[i], ...(p && k ? project(p, set.block![i], k) : [])]);
}

/**
 * Out-of-fold logits of every configuration in `configs` whose feature set is `set`, on rows
 * `train` (scored) from models fitted on the other folds of `train` (PCA fitted per fold).
 */
function innerScores(
  set: FeatureSet,
  configs: readonly NestedConfig[],
  y: readonly number[],
  train: readonly number[],
  folds: number,
  seed: number,
): number[][] {
  const yt = train.map((i) => y[i]);
  const fold = stratifiedFolds(yt, folds, seed);
  const out = configs.map(() => new Array<number>(train.length).fill(0));
  const kMax = Math.max(0, ...configs.map((c) => c.k));
  for (let f = 0; f < folds; f++) {
    const tr = train.filter((_, r) => fold[r] !== f), te = train.filter((_, r) => fold[r] === f);
    const teRows = train.flatMap((_, r) => (fold[r] === f ? [r] : []));
    const p = set.block && kMax ? prepare(tr.map((i) => set.block![i]), kMax) : undefined;
    configs.forEach((c, ci) => {
      const m = fitLogistic(design(set, tr, p, c.k), tr.map((i) => y[i]), { C: c.C });
      predictLogit(m, design(set, te, p, c.k)).forEach((v, r) => (out[ci][teRows[r]] = v));
    });
  }
  return out;
}

/**
 * Nested cross-validation: for each outer fold, every configuration is scored by an inner
 * cross-validation on the outer training rows only; the best (by inner AUC, first on ties) is
 * refitted on them and scores the held-out fold. The returned out-of-fold logits measure the whole
 * procedure (choice included), not one configuration picked afterwards.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nestedOutOfFold } from "./nested.ts";
 * import { rocAucScore } from "./metrics.ts";
 * const y = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? 1 : 0));
 * const good = { name: "good", fixed: y.map((v, i) => [v + ((i * 7) % 5) / 4]) };
 * const noise = { name: "noise", fixed: y.map((_, i) => [((i * 13) % 11) / 10]) };
 * const r = nestedOutOfFold([good, noise], y, [{ set: "good", k: 0, C: 1 }, { set: "noise", k: 0, C: 1 }]);
 * assert.ok(r.chosen.every((c) => c.set === "good"));
 * assert.ok(rocAucScore(y, r.outOfFold) > 0.8);
 * ```
 */
export function nestedOutOfFold(
  sets: readonly FeatureSet[],
  y: readonly number[],
  configs: readonly NestedConfig[],
  o: NestedOptions = {},
): NestedResult {
  const folds = o.folds ?? 5, innerFolds = o.innerFolds ?? 5, seed = o.seed ?? 0;
  const byName = new Map(sets.map((s) => [s.name, s]));
  for (const c of configs) {
    const s = byName.get(c.set);
    if (!s) throw new RangeError(`nested: configuration names an unknown feature set "${c.set}"`);
    if (c.k && !s.block) throw new RangeError(`nested: feature set "${c.set}" has no block for k = ${c.k}`);
  }
  const outer = o.outerFolds ?? stratifiedFolds(y, folds, seed);
  if (outer.length !== y.length) {
    throw new RangeError(`nested: ${outer.length} outer folds for ${y.length} rows`);
  }
  const oof = new Array<number>(y.length).fill(0);
  const chosen: NestedResult["chosen"] = [];
  for (let f = 0; f < folds; f++) {
    const train = y.flatMap((_, i) => (outer[i] !== f ? [i] : []));
    const test = y.flatMap((_, i) => (outer[i] === f ? [i] : []));
    let best: (NestedConfig & { innerAuc: number }) | undefined;
    for (const s of sets) {
      const mine = configs.filter((c) => c.set === s.name);
      if (!mine.length) continue;
      const scores = innerScores(s, mine, y, train, innerFolds, seed + 100 + f);
      mine.forEach((c, ci) => {
        const auc = rocAucScore(train.map((i) => y[i]), scores[ci]);
        if (!best || auc > best.innerAuc) best = { ...c, innerAuc: auc };
      });
    }
    const c = best!, s = byName.get(c.set)!;
    chosen.push(c);
    const p = s.block && c.k ? prepare(train.map((i) => s.block![i]), c.k) : undefined;
    const m = fitLogistic(design(s, train, p, c.k), train.map((i) => y[i]), { C: c.C });
    predictLogit(m, design(s, test, p, c.k)).forEach((v, r) => (oof[test[r]] = v));
  }
  return { outOfFold: oof, chosen };
}
