/**
 * Numbers in words for reports and command-line output: percentages and shares with intervals.
 *
 * @module
 */

/**
 * A proportion as a percentage with one decimal, "–" when not finite.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pct } from "./format.ts";
 * assert.equal(pct(0.4567), "45.7 %");
 * ```
 */
export function pct(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : "–";
}

/**
 * A share with its 95 % interval and counts: "66.7 % (95 % 30.0 %–90.3 %, 4 of 6)".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatShare } from "./format.ts";
 * assert.equal(formatShare({ k: 4, n: 6, share: 4 / 6, ci95: [0.3, 0.903] }), "66.7 % (95 % 30.0 %–90.3 %, 4 of 6)");
 * ```
 */
export function formatShare(
  s: { k: number; n: number; share: number; ci95: readonly [number, number] },
): string {
  if (!s.n) return "no data";
  return `${pct(s.share)} (95 % ${pct(s.ci95[0])}–${pct(s.ci95[1])}, ${+s.k.toFixed(1)} of ${s.n})`;
}
