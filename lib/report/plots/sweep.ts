/**
 * Threshold sweep: precision, recall and the kept fraction as a threshold moves across a heuristic's
 * range, with the chosen threshold as a vertical rule. The picture behind every threshold strategy.
 *
 * @module
 */
import { DEFAULT_HEIGHT, DEFAULT_WIDTH, type PlotOutput, type RenderOptions, renderPlot } from "./render.ts";
import type { TopLevelSpec } from "./render.ts";
import { CHOSEN_COLOR, formatNumber, PlotError } from "./render.ts";

/** The numbers at one candidate threshold (computed by `lib/calibrate/`, not here). */
export interface SweepPoint {
  /** Threshold in the heuristic's units; images with value ≥ threshold are kept. */
  threshold: number;
  /** Share of kept images that are good; NaN or missing when nothing is kept. */
  precision?: number;
  /** Share of good images that are kept. */
  recall?: number;
  /** Share of all images that are kept. */
  keptFraction?: number;
}

/** Options of {@link sweepPlot}. */
export interface SweepPlotOptions extends RenderOptions {
  /** Default "Threshold sweep". */
  title?: string;
  /** x-axis title with the unit, e.g. "laplacian_var threshold (variance)". Default "Threshold". */
  thresholdTitle?: string;
  /** The chosen threshold, drawn as a rule and labelled. */
  chosenThreshold?: number;
  /** Label of the rule. Default "chosen 12.5". */
  chosenLabel?: string;
  /** Log scale on x (heuristics spanning decades, e.g. Laplacian variance). Needs positive thresholds. */
  logThreshold?: boolean;
  width?: number;
  height?: number;
}

const METRICS = [
  { key: "precision", name: "Precision", color: "#2166ac", dash: [] as number[] },
  { key: "recall", name: "Recall", color: "#d6604d", dash: [] as number[] },
  { key: "keptFraction", name: "Kept fraction", color: "#555555", dash: [6, 3] },
] as const;

/**
 * Precision, recall and kept fraction (y, 0–1) against the threshold (x), one line each with a legend,
 * and the chosen threshold as a dashed rule. Points whose value is missing or not finite (precision
 * when nothing is kept) are left out of that line only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sweepPlot } from "./sweep.ts";
 * const plot = await sweepPlot([
 *   { threshold: 0, precision: 0.5, recall: 1, keptFraction: 1 },
 *   { threshold: 1, precision: 0.8, recall: 0.8, keptFraction: 0.5 },
 *   { threshold: 2, precision: 1, recall: 0.2, keptFraction: 0.1 },
 * ], { chosenThreshold: 1, thresholdTitle: "sharpness threshold (variance)" });
 * assert.ok(plot.svg.includes("Kept fraction"));
 * ```
 */
export async function sweepPlot(
  points: readonly SweepPoint[],
  options: SweepPlotOptions = {},
): Promise<PlotOutput> {
  const values: Record<string, unknown>[] = [];
  for (const p of points) {
    if (!Number.isFinite(p.threshold)) continue;
    if (options.logThreshold && !(p.threshold > 0)) continue;
    for (const m of METRICS) {
      const v = p[m.key];
      if (v !== undefined && Number.isFinite(v)) {
        values.push({ threshold: p.threshold, metric: m.name, value: v });
      }
    }
  }
  if (values.length === 0) {
    throw new PlotError("sweepPlot: no point with a finite threshold and a finite value");
  }
  const x = {
    field: "threshold",
    type: "quantitative",
    title: options.thresholdTitle ?? "Threshold",
    scale: options.logThreshold ? { type: "log" } : { zero: false, nice: false },
  };
  const height = options.height ?? DEFAULT_HEIGHT;
  const legend = { orient: "top", direction: "horizontal", symbolType: "stroke", symbolStrokeWidth: 3 };
  const layers: unknown[] = [{
    mark: { type: "line", strokeWidth: 2.5, interpolate: "linear" },
    encoding: {
      x,
      y: { field: "value", type: "quantitative", title: "Share (0–1)", scale: { domain: [0, 1] } },
      color: {
        field: "metric",
        type: "nominal",
        title: null,
        scale: { domain: METRICS.map((m) => m.name), range: METRICS.map((m) => m.color) },
        legend,
      },
      strokeDash: {
        field: "metric",
        type: "nominal",
        title: null,
        scale: { domain: METRICS.map((m) => m.name), range: METRICS.map((m) => m.dash) },
        // The same legend as colour, so vega-lite merges both into one (dashed symbol for kept fraction).
        legend,
      },
      order: { field: "threshold", type: "quantitative" },
    },
  }];
  const t = options.chosenThreshold;
  if (t !== undefined && Number.isFinite(t)) {
    layers.push({
      data: { values: [{ t, text: options.chosenLabel ?? `chosen ${formatNumber(t)}` }] },
      layer: [
        {
          mark: { type: "rule", color: CHOSEN_COLOR, strokeDash: [2, 3], strokeWidth: 2 },
          encoding: { x: { ...x, field: "t" } },
        },
        {
          mark: { type: "text", align: "left", baseline: "bottom", dx: 4, y: height, dy: -4, fontSize: 11 },
          encoding: { x: { ...x, field: "t" }, text: { field: "text" }, color: { value: CHOSEN_COLOR } },
        },
      ],
    });
  }
  const spec = {
    title: options.title ?? "Threshold sweep",
    width: options.width ?? DEFAULT_WIDTH,
    height,
    data: { values },
    layer: layers,
  } as TopLevelSpec;
  return await renderPlot(spec, options);
}
