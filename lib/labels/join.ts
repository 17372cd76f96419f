/**
 * The one join of hand labels to score rows: on the resolved absolute `path` (label paths resolve
 * against the label file's folder when it is read, score-table paths against the working
 * directory); the first row of a path wins. Calibration, validity and the notebooks all join
 * through here.
 *
 * @module
 */
import { resolve } from "node:path";
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

/** What {@link pairLabels} found: each scored label with its row, and the labels without a row. */
export interface LabelPairs<L> {
  pairs: { label: L; row: Row }[];
  unscored: L[];
}

/**
 * Pairs each label with its score row, matched on the resolved absolute path (the first row of a
 * path wins), in label order; labels without a row are listed apart.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pairLabels } from "./join.ts";
 * const { pairs, unscored } = pairLabels([{ path: "/d/a.png" }, { path: "/d/b.png" }], [{ path: "/d/a.png", x: 1 }]);
 * assert.deepEqual(pairs.map((p) => p.row.x), [1]);
 * assert.deepEqual(unscored, [{ path: "/d/b.png" }]);
 * ```
 */
export function pairLabels<L extends { path: string }>(
  labels: readonly L[],
  rows: readonly Row[],
): LabelPairs<L> {
  const byPath = new Map<string, Row>();
  for (const r of rows) {
    const p = resolve(String(r.path ?? ""));
    if (!byPath.has(p)) byPath.set(p, r);
  }
  const out: LabelPairs<L> = { pairs: [], unscored: [] };
  for (const label of labels) {
    const row = byPath.get(resolve(label.path));
    if (row) out.pairs.push({ label, row });
    else out.unscored.push(label);
  }
  return out;
}

/**
 * Joins labels to score rows ({@link pairLabels}): every label that has a score row, in label
 * order, with the asked columns' values (null when empty or not a finite number) and the row's
 * scoring error.
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
  return pairLabels(labels, scores).pairs.map(({ label, row }) => ({
    path: label.path,
    usable: label.usable,
    quality: label.quality,
    errors: label.errors.join(";"),
    error: row.error ? String(row.error) : null,
    values: Object.fromEntries(
      columns.map((
        c,
      ) => [c, typeof row[c] === "number" && Number.isFinite(row[c]) ? row[c] as number : null]),
    ),
  }));
}
