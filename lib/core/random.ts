/**
 * Seeded pseudo-random numbers, so that bootstraps, folds, subsets and template prompts repeat
 * exactly on every machine: the one generator of the project. Use {@link seededRandom} for a stream
 * from a user-facing seed (`--seed`); {@link mulberry32} is the generator itself, for code that
 * mixes its own state.
 *
 * @module
 */

/**
 * Mulberry32: a small, fast 32-bit generator; returns numbers in [0, 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mulberry32 } from "./random.ts";
 * const a = mulberry32(7), b = mulberry32(7);
 * assert.equal(a(), b());
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a hash of a string, as an unsigned 32-bit number (a stable order that is not alphabetical). */
export function stableHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * A deterministic subset of at most `n` items: every item for which `keep` is true first (so rare
 * cases such as bad faces are never sampled away), then the others in a fixed pseudo-random order
 * (by the hash of `key(item)` and `seed`), returned in their original order. The same input gives
 * the same subset on every machine.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stableSubset } from "./random.ts";
 * const xs = ["a", "b", "c", "d", "e", "f"];
 * const s = stableSubset(xs, 3, { key: (x) => x, keep: (x) => x === "f" });
 * assert.equal(s.length, 3);
 * assert.ok(s.includes("f"));
 * assert.deepEqual(s, stableSubset(xs, 3, { key: (x) => x, keep: (x) => x === "f" }));
 * assert.deepEqual(stableSubset(xs, 10, { key: (x) => x }), xs);
 * ```
 */
export function stableSubset<T>(
  items: readonly T[],
  n: number,
  o: { key: (item: T) => string; keep?: (item: T) => boolean; seed?: number },
): T[] {
  if (!(Number.isInteger(n) && n >= 0)) {
    throw new RangeError(`stableSubset: n must be an integer ≥ 0, got ${n}`);
  }
  if (items.length <= n) return [...items];
  const seed = String(o.seed ?? 0);
  const ranked = items.map((item, i) => ({
    i,
    must: o.keep?.(item) ?? false,
    h: stableHash(`${seed}:${o.key(item)}`),
  }))
    .sort((a, b) => Number(b.must) - Number(a.must) || a.h - b.h || a.i - b.i);
  const chosen = new Set(ranked.slice(0, n).map((r) => r.i));
  return items.filter((_, i) => chosen.has(i));
}

/**
 * The project's seeded generator: mulberry32 started from `seed` (truncated to 32 bits) mixed with
 * the golden-ratio constant, so that seeds 0, 1, 2 … start far apart. Returns numbers in [0, 1).
 * Every `--seed` / `seed` option of winnow goes through here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seededRandom } from "./random.ts";
 * const a = seededRandom(42), b = seededRandom(42);
 * assert.equal(a(), b());
 * assert.ok(a() >= 0 && a() < 1);
 * ```
 */
export function seededRandom(seed: number): () => number {
  return mulberry32((Math.trunc(seed) >>> 0) ^ 0x9e3779b9);
}
