/**
 * The one join of hand labels to score rows: on the resolved absolute `path` (label paths resolve
 * against the label file's folder when it is read, score-table paths against the working
 * directory). Calibration, validity and the notebooks all join through here.
 *
 * @module
 */
import { resolve } from "node:path";
import pl from "nodejs-polars";
import type { ErrorType } from "./format.ts";
import type { Row } from "../score/results.ts";

/** One labeled image joined to its score row. */
export interface JoinedLabel {
  /** Absolute path of the image. */
  path: string;
  usable: boolean;
  quality: number;
  /** Labeled error types, `;`-separated. */
  errors: string;
  /** The score row's `error`, when the image could not be scored. */
  error: string | null;
  /** Each asked column's value (null when empty or not a finite number). */
  values: Record<string, number | null>;
}

/**
 * Joins labels to score rows on the resolved path with nodejs-polars: every label that has a score
 * row, in label order; the first score row of a path wins.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { joinLabels } from "./join.ts";
 * const labels = [{ path: "/d/a.png", usable: true, quality: 4, errors: [] }, { path: "/d/b.png", usable: false, quality: 2, errors: [] }];
 * const rows = joinLabels(labels, [{ path: "/d/a.png", laplacian_var: 120 }], ["laplacian_var"]);
 * assert.deepEqual(rows.map((r) => [r.path, r.values.laplacian_var]), [["/d/a.png", 120]]);
 * ```
 */
export function joinLabels(
  labels: readonly { path: string; usable: boolean; quality: number; errors: readonly ErrorType[] }[],
  scores: readonly Row[],
  columns: readonly string[],
): JoinedLabel[] {
  const scorePaths = scores.map((r) => resolve(String(r.path ?? "")));
  const left = pl.DataFrame([
    pl.Series("path", labels.map((l) => l.path), pl.Utf8),
    pl.Series("usable", labels.map((l) => l.usable), pl.Bool),
    pl.Series("quality", labels.map((l) => l.quality), pl.Int32),
    pl.Series("errors", labels.map((l) => l.errors.join(";")), pl.Utf8),
  ]);
  const right = pl.DataFrame([
    pl.Series("path", scorePaths, pl.Utf8),
    pl.Series("_scored", scores.map(() => true), pl.Bool),
    pl.Series("error", scores.map((r) => (r.error ? String(r.error) : null)), pl.Utf8),
    ...columns.map((c) =>
      pl.Series(
        c,
        scores.map((r) => (typeof r[c] === "number" && Number.isFinite(r[c]) ? r[c] : null)),
        pl.Float64,
      )
    ),
  ]).unique({ subset: ["path"], keep: "first", maintainOrder: true });
  const joined = left.join(right, { on: "path", how: "left" }).filter(pl.col("_scored").isNotNull());
  return (joined.toRecords() as Record<string, unknown>[]).map((r) => ({
    path: r.path as string,
    usable: r.usable as boolean,
    quality: r.quality as number,
    errors: r.errors as string,
    error: (r.error as string | null) ?? null,
    values: Object.fromEntries(columns.map((c) => [c, (r[c] as number | null) ?? null])),
  }));
}
