/**
 * Error-type counts: how often each error type occurs, from the hand labels' `errors` column or the
 * filter's `reject_reasons` column (both are types joined by `;`), optionally side by side.
 *
 * @module
 */
import { DEFAULT_WIDTH, type PlotOutput, type RenderOptions, renderPlot } from "./render.ts";
import type { TopLevelSpec } from "./render.ts";
import { PlotError } from "./render.ts";

/** How often one error type occurs in one group. */
export interface ErrorCount {
  /** Error type, e.g. `bad_face` or a heuristic's reason name. */
  type: string;
  count: number;
  /** Which count this is when several are compared, e.g. "hand labels" and "rejected by filter". */
  group?: string;
}

/**
 * Counts error types in values of an `errors` / `reject_reasons` column: each value is a string of
 * types joined by `;` (spaces and empty items ignored, a type counted once per value) or an array of
 * types. `types` lists types to report even when they do not occur (count 0), in that order;
 * others follow, most frequent first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countErrorTypes } from "./errors.ts";
 * const counts = countErrorTypes(["blur;bad_face", "", "blur", ["artifact"]], { types: ["bad_face", "blur", "other"] });
 * assert.deepEqual(counts.map((c) => [c.type, c.count]), [["bad_face", 1], ["blur", 2], ["other", 0], ["artifact", 1]]);
 * ```
 */
export function countErrorTypes(
  values: Iterable<string | readonly string[] | null | undefined>,
  options: { types?: readonly string[]; group?: string } = {},
): ErrorCount[] {
  const counts = new Map<string, number>();
  for (const t of options.types ?? []) counts.set(t, 0);
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const items = typeof v === "string" ? v.split(";") : v;
    for (const t of new Set(items.map((s) => s.trim()).filter((s) => s !== ""))) {
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
  }
  const listed = new Set(options.types ?? []);
  const extra = [...counts.keys()].filter((t) => !listed.has(t)).sort((a, b) =>
    counts.get(b)! - counts.get(a)! || a.localeCompare(b)
  );
  const order = [...(options.types ?? []), ...extra];
  return order.map((type) => ({
    type,
    count: counts.get(type)!,
    ...(options.group ? { group: options.group } : {}),
  }));
}

/** Options of {@link errorCountsPlot}. */
export interface ErrorCountsPlotOptions extends RenderOptions {
  /** Default "Error types". */
  title?: string;
  /** x-axis title. Default "Images". */
  countTitle?: string;
  /** Order of the bars: as first met in `counts` (`"given"`, default) or most frequent first. */
  sort?: "given" | "count";
  width?: number;
  /** Height of one error type's row in CSS pixels. Default 22, or 14 per group + 8 with groups. */
  rowHeight?: number;
}

/**
 * Horizontal bars, one row per error type, with the count written at the end of each bar. When the
 * counts carry a `group`, each type gets one bar per group, coloured by group with a legend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countErrorTypes, errorCountsPlot } from "./errors.ts";
 * const plot = await errorCountsPlot([
 *   ...countErrorTypes(["blur;bad_face", "blur"], { group: "hand labels" }),
 *   ...countErrorTypes(["blur", "blur"], { group: "rejected by filter" }),
 * ]);
 * assert.ok(plot.svg.includes("rejected by filter"));
 * ```
 */
export async function errorCountsPlot(
  counts: readonly ErrorCount[],
  options: ErrorCountsPlotOptions = {},
): Promise<PlotOutput> {
  if (counts.length === 0) throw new PlotError("errorCountsPlot: no error types to plot");
  for (const c of counts) {
    if (!(Number.isFinite(c.count) && c.count >= 0)) {
      throw new PlotError(`errorCountsPlot: count of "${c.type}": expected a number ≥ 0, got ${c.count}`);
    }
  }
  const types = [...new Set(counts.map((c) => c.type))];
  if (options.sort === "count") {
    const total = new Map<string, number>();
    for (const c of counts) total.set(c.type, (total.get(c.type) ?? 0) + c.count);
    types.sort((a, b) => total.get(b)! - total.get(a)!);
  }
  const groups = [...new Set(counts.map((c) => c.group ?? ""))];
  const grouped = groups.length > 1 || groups[0] !== "";
  const rowHeight = options.rowHeight ?? (grouped ? 14 * groups.length + 8 : 22);
  const y = { field: "type", type: "nominal", title: null, sort: types, axis: { labelFontSize: 12 } };
  const x = {
    field: "count",
    type: "quantitative",
    title: options.countTitle ?? "Images",
    axis: { tickMinStep: 1, format: "d" },
    scale: { nice: true },
  };
  const color = grouped
    ? {
      field: "group",
      type: "nominal",
      title: null,
      sort: groups,
      legend: { orient: "top", direction: "horizontal" },
    }
    : { value: "#b2182b" };
  const offset = grouped ? { yOffset: { field: "group", type: "nominal", sort: groups } } : {};
  const values = counts.map((c) => ({ type: c.type, count: c.count, group: c.group ?? "" }));
  const spec = {
    title: options.title ?? "Error types",
    width: options.width ?? DEFAULT_WIDTH * 0.75,
    height: { step: rowHeight, for: "position" },
    data: { values },
    encoding: { y, ...offset },
    layer: [
      { mark: { type: "bar", cornerRadiusEnd: 2 }, encoding: { x, color } },
      {
        mark: { type: "text", align: "left", baseline: "middle", dx: 3, fontSize: 10, color: "#333333" },
        encoding: { x, text: { field: "count", type: "quantitative" } },
      },
    ],
  } as TopLevelSpec;
  return await renderPlot(spec, options);
}
