/**
 * Plain-text summaries of a score table: how many images, which errors, the spread of each value
 * and, with thresholds, how many were kept and why the others were not.
 *
 * @module
 */
import type { Row } from "./results.ts";

/** Quantile by linear interpolation between order statistics (NumPy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : Number(v.toPrecision(4)).toString();
}

/**
 * Summarises rows of a score table as aligned text lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeRows } from "./summary.ts";
 * const text = summarizeRows([{ path: "a", error: null, laplacian_var: 10 }, { path: "b", error: "b: empty", error_kind: "empty" }], ["laplacian_var"]);
 * assert.deepEqual(text.split("\n")[0], "2 images, 1 unreadable (empty 1)");
 * ```
 */
export function summarizeRows(rows: readonly Row[], valueColumns: readonly string[]): string {
  const acc = new SummaryAccumulator(valueColumns);
  for (const r of rows) acc.add(r);
  return acc.text();
}

/**
 * {@link summarizeRows} one row at a time, keeping only the numbers it needs (one per value
 * column and row, in typed arrays) and no row objects: a long run's summary costs memory in
 * proportion to its values, not to its rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SummaryAccumulator, summarizeRows } from "./summary.ts";
 * const rows = [{ path: "a", v: 1 }, { path: "b", v: 3, kept: false, reject_reasons: "blur" }];
 * const acc = new SummaryAccumulator(["v"]);
 * for (const r of rows) acc.add(r);
 * assert.equal(acc.text(), summarizeRows(rows, ["v"]));
 * ```
 */
export class SummaryAccumulator {
  #rows = 0;
  #errors = new Map<string, number>();
  #bad = 0;
  #values: Map<string, { data: Float64Array; n: number; seenNumber: boolean }>;
  #verdicts = false;
  #kept = 0;
  #reasons = new Map<string, number>();

  constructor(readonly valueColumns: readonly string[]) {
    this.#values = new Map(
      valueColumns.map((c) => [c, { data: new Float64Array(64), n: 0, seenNumber: false }]),
    );
  }

  /** Counts one row. */
  add(r: Row): void {
    this.#rows++;
    if (r.error) {
      this.#bad++;
      const k = String(r.error_kind ?? "error");
      this.#errors.set(k, (this.#errors.get(k) ?? 0) + 1);
    }
    for (const [c, col] of this.#values) {
      const v = r[c];
      if (typeof v !== "number") continue;
      col.seenNumber = true;
      if (!Number.isFinite(v)) continue;
      if (col.n === col.data.length) {
        const grown = new Float64Array(col.data.length * 2);
        grown.set(col.data);
        col.data = grown;
      }
      col.data[col.n++] = v;
    }
    if (r.kept !== undefined && r.kept !== null) this.#verdicts = true;
    if (r.kept === true) this.#kept++;
    for (const reason of String(r.reject_reasons ?? "").split(";")) {
      if (reason) this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
    }
  }

  /** The summary text of every row added so far. */
  text(): string {
    const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
    const lines = [
      `${this.#rows} images, ${this.#bad} unreadable` +
      (this.#bad ? ` (${sorted(this.#errors).map(([k, n]) => `${k} ${n}`).join(", ")})` : ""),
    ];
    const numeric = this.valueColumns.filter((c) => this.#values.get(c)!.seenNumber);
    if (numeric.length) {
      const w = Math.max(...numeric.map((c) => c.length), 6);
      lines.push(
        `${"value".padEnd(w)}  ${
          ["n", "min", "p10", "median", "p90", "max"].map((h) => h.padStart(9)).join("")
        }`,
      );
      for (const c of numeric) {
        const col = this.#values.get(c)!;
        const xs = col.data.slice(0, col.n).sort();
        const stats = [
          xs.length,
          xs[0],
          quantile(xs, 0.1),
          quantile(xs, 0.5),
          quantile(xs, 0.9),
          xs[xs.length - 1],
        ];
        lines.push(
          `${c.padEnd(w)}  ${stats.map((s, i) => (i === 0 ? String(s) : fmt(s)).padStart(9)).join("")}`,
        );
      }
    }
    if (this.#verdicts) {
      lines.push(
        `kept ${this.#kept} of ${this.#rows}` +
          (this.#reasons.size
            ? `; rejected for: ${sorted(this.#reasons).map(([k, n]) => `${k} ${n}`).join(", ")}`
            : ""),
      );
    }
    return lines.join("\n");
  }
}
