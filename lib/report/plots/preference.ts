/**
 * Plots of an A/B preference analysis: Bradley–Terry strengths with their intervals, and the
 * head-to-head win-rate matrix.
 *
 * @module
 */
import {
  DEFAULT_WIDTH,
  PlotError,
  type PlotOutput,
  type RenderOptions,
  renderPlot,
  type TopLevelSpec,
} from "./render.ts";

/** One system's strength and interval. */
export interface StrengthPoint {
  name: string;
  log_strength: number;
  ci95: readonly [number, number];
}

/**
 * Horizontal dot-and-whisker plot: one row per system (strongest on top), its log strength as a dot
 * and its 95 % interval as a line, with a rule at 0 (the average system).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { strengthPlot } from "./preference.ts";
 * const p = await strengthPlot([{ name: "sdxl", log_strength: 0.4, ci95: [0.1, 0.7] }, { name: "sd15", log_strength: -0.4, ci95: [-0.7, -0.1] }]);
 * assert.ok(p.svg.includes("sdxl"));
 * ```
 */
export async function strengthPlot(
  systems: readonly StrengthPoint[],
  options: RenderOptions & { title?: string; width?: number } = {},
): Promise<PlotOutput> {
  if (systems.length === 0) throw new PlotError("strengthPlot: no systems");
  const order = [...systems].sort((a, b) => b.log_strength - a.log_strength).map((s) => s.name);
  const values = systems.map((s) => ({
    name: s.name,
    s: s.log_strength,
    lo: s.ci95[0],
    hi: s.ci95[1],
    label: s.log_strength.toFixed(2),
  }));
  const y = { field: "name", type: "nominal", sort: order, title: null };
  const spec = {
    title: options.title ?? "Bradley–Terry strength (natural log, mean 0) with 95 % bootstrap interval",
    width: options.width ?? DEFAULT_WIDTH,
    height: { step: 28 },
    data: { values },
    layer: [
      { mark: { type: "rule", color: "#999999", strokeDash: [4, 3] }, encoding: { x: { datum: 0 } } },
      {
        mark: { type: "rule", strokeWidth: 2, color: "#4a6fa5" },
        encoding: {
          y,
          x: { field: "lo", type: "quantitative", title: "log strength (difference 1 = odds e : 1)" },
          x2: { field: "hi" },
        },
      },
      {
        mark: { type: "point", filled: true, size: 70, color: "#1f3b66" },
        encoding: { y, x: { field: "s", type: "quantitative" } },
      },
      {
        mark: { type: "text", dy: -10, fontSize: 10, color: "#333333" },
        encoding: { y, x: { field: "s", type: "quantitative" }, text: { field: "label" } },
      },
    ],
  } as TopLevelSpec;
  return await renderPlot(spec, options);
}

/** One cell of the win-rate matrix: how often `row` beat `column` (decisive comparisons). */
export interface WinRateCell {
  row: string;
  column: string;
  wins: number;
  losses: number;
  ties: number;
}

/**
 * Heat map of head-to-head win rates: the cell in row A, column B is the share of decisive A-vs-B
 * comparisons A won (blue above ½, red below), with "wins–losses" written in it; empty where the
 * two never met. `order` fixes the order of rows and columns (e.g. strongest first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { winRateMatrixPlot } from "./preference.ts";
 * const p = await winRateMatrixPlot([{ row: "a", column: "b", wins: 7, losses: 3, ties: 1 }, { row: "b", column: "a", wins: 3, losses: 7, ties: 1 }]);
 * assert.ok(p.svg.includes("7–3"));
 * ```
 */
export async function winRateMatrixPlot(
  cells: readonly WinRateCell[],
  options: RenderOptions & { title?: string; order?: readonly string[] } = {},
): Promise<PlotOutput> {
  if (cells.length === 0) throw new PlotError("winRateMatrixPlot: no comparisons");
  const order = options.order ?? [...new Set(cells.flatMap((c) => [c.row, c.column]))];
  const values = cells.map((c) => {
    const n = c.wins + c.losses;
    return {
      row: c.row,
      column: c.column,
      rate: n ? c.wins / n : null,
      text: `${c.wins}–${c.losses}${c.ties ? ` (${c.ties} ties)` : ""}`,
    };
  });
  const enc = {
    y: { field: "row", type: "nominal", sort: order, title: null, axis: { labelFontSize: 12 } },
    x: {
      field: "column",
      type: "nominal",
      sort: order,
      title: "against",
      axis: { labelAngle: 0, orient: "top", labelFontSize: 12 },
    },
  };
  const spec = {
    title: options.title ?? "Win rate of the row's system against the column's (ties left out)",
    width: { step: Math.max(120, 40 + 8 * Math.max(...order.map((s) => s.length))) },
    height: { step: 36 },
    data: { values },
    encoding: enc,
    layer: [
      {
        mark: { type: "rect", stroke: "#ffffff" },
        encoding: {
          color: {
            field: "rate",
            type: "quantitative",
            title: "win rate",
            scale: { domain: [0, 1], scheme: "redblue" },
            legend: { format: ".0%" },
          },
        },
      },
      { mark: { type: "text", fontSize: 11, color: "#111111" }, encoding: { text: { field: "text" } } },
    ],
  } as TopLevelSpec;
  return await renderPlot(spec, options);
}
