/**
 * Plain-text summaries of a score table: how many images, which errors, the spread of each value
 * and, with thresholds, how many were kept and why the others were not.
 *
 * @module
 */
import type { Row } from "./results.ts";

/** Quantile by linear interpolation between order statistics (NumPy's default). */
export function quantile(sorted: readonly number[], q: number): number {
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

function counts(values: Iterable<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return new Map([...m].sort((a, b) => b[1] - a[1]));
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
  const bad = rows.filter((r) => r.error);
  const lines = [
    `${rows.length} images, ${bad.length} unreadable` +
    (bad.length
      ? ` (${
        [...counts(bad.map((r) => String(r.error_kind ?? "error")))].map(([k, n]) => `${k} ${n}`).join(", ")
      })`
      : ""),
  ];
  const numeric = valueColumns.filter((c) => rows.some((r) => typeof r[c] === "number"));
  if (numeric.length) {
    const w = Math.max(...numeric.map((c) => c.length), 6);
    lines.push(
      `${"value".padEnd(w)}  ${
        ["n", "min", "p10", "median", "p90", "max"].map((h) => h.padStart(9)).join("")
      }`,
    );
    for (const c of numeric) {
      const xs = rows.map((r) => r[c]).filter((v): v is number => typeof v === "number" && Number.isFinite(v))
        .sort((a, b) => a - b);
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
  if (rows.some((r) => r.kept !== undefined && r.kept !== null)) {
    const kept = rows.filter((r) => r.kept === true).length;
    const reasons = counts(rows.flatMap((r) => String(r.reject_reasons ?? "").split(";").filter(Boolean)));
    lines.push(
      `kept ${kept} of ${rows.length}` +
        (reasons.size ? `; rejected for: ${[...reasons].map(([k, n]) => `${k} ${n}`).join(", ")}` : ""),
    );
  }
  return lines.join("\n");
}
