/**
 * ROC and precision–recall curves from already-computed curves (`lib/calibrate/metrics.ts`, same
 * shapes as scikit-learn's `roc_curve` and `precision_recall_curve`), several heuristics per plot,
 * with the chosen threshold's operating point marked.
 *
 * @module
 */
import { DEFAULT_HEIGHT, type PlotOutput, type RenderOptions, renderPlot } from "./render.ts";
import type { TopLevelSpec } from "./render.ts";
import { CHOSEN_COLOR, formatNumber as fmt, PlotError } from "./render.ts";

/** A ROC curve as `rocCurve`/sklearn `roc_curve` returns it: thresholds decreasing, `fpr`/`tpr` rising. */
export interface RocCurveInput {
  fpr: ArrayLike<number>;
  tpr: ArrayLike<number>;
  /** Score thresholds, one per point; point i counts scores ≥ `thresholds[i]` as positive. */
  thresholds: ArrayLike<number>;
}

/**
 * A PR curve as `precisionRecallCurve`/sklearn `precision_recall_curve` returns it: `precision` and
 * `recall` have one more entry than `thresholds` (the last point is precision 1, recall 0).
 */
export interface PrCurveInput {
  precision: ArrayLike<number>;
  recall: ArrayLike<number>;
  thresholds: ArrayLike<number>;
}

/** One named curve of a ROC or PR plot. */
export interface NamedCurve<C> {
  /** Legend name, e.g. the heuristic's column (`laplacian_var`) or "combined". */
  name: string;
  curve: C;
  /** Area to show in the legend (`AUC 0.91` / `AP 0.88`), computed by the caller. */
  area?: number;
  /** The chosen threshold (same units as the curve's thresholds); its operating point is marked. */
  chosenThreshold?: number;
  /**
   * The chosen operating point itself (ROC: x = fpr, y = tpr; PR: x = recall, y = precision), when
   * the caller has it; it wins over looking `chosenThreshold` up on the curve, which can only land
   * on a point the curve kept (a ROC curve with intermediate points dropped may lack the exact one).
   */
  chosenPoint?: { x: number; y: number };
}

/** Options of {@link rocPlot} and {@link prPlot}. */
export interface CurvePlotOptions extends RenderOptions {
  title?: string;
  /** Side of the square data rectangle in CSS pixels. Default 300 (the same as {@link DEFAULT_HEIGHT}). */
  size?: number;
  /**
   * PR only: fraction of positives, drawn as the chance-level precision line (a filter that keeps at
   * random reaches this precision).
   */
  prevalence?: number;
  /** Axis titles, when the positives are not "good images" (e.g. good faces). */
  xTitle?: string;
  yTitle?: string;
}

/** Where a threshold sits on a curve: the index and coordinates of its operating point. */
export interface OperatingPoint {
  index: number;
  x: number;
  y: number;
  threshold: number;
}

/**
 * The operating point of `threshold` on a curve whose `thresholds` decrease (ROC) or increase (PR):
 * the point that classifies exactly the scores ≥ `threshold` as positive among the curve's points,
 * i.e. the point with the smallest curve threshold that is still ≥ `threshold`. A threshold above
 * every score gives the point that keeps nothing (ROC: (0, 0); PR: recall 0, precision 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rocOperatingPoint } from "./curves.ts";
 * const roc = { fpr: [0, 0, 0.5, 1], tpr: [0, 0.5, 1, 1], thresholds: [Infinity, 0.9, 0.6, 0.1] };
 * assert.deepEqual(rocOperatingPoint(roc, 0.6), { index: 2, x: 0.5, y: 1, threshold: 0.6 });
 * assert.equal(rocOperatingPoint(roc, 0.7).index, 1); // scores ≥ 0.7 are the same set as ≥ 0.9
 * ```
 */
export function rocOperatingPoint(curve: RocCurveInput, threshold: number): OperatingPoint {
  checkLengths("roc", curve.fpr.length, curve.tpr.length, curve.thresholds.length, 0);
  let best = 0;
  for (let i = 0; i < curve.thresholds.length; i++) {
    if (curve.thresholds[i] >= threshold) best = i;
  }
  return { index: best, x: curve.fpr[best], y: curve.tpr[best], threshold };
}

/**
 * The operating point of `threshold` on a PR curve (thresholds increasing): the first index whose
 * threshold is ≥ `threshold`, or the final (recall 0) point when none is. `x` is recall, `y` precision.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prOperatingPoint } from "./curves.ts";
 * const pr = { precision: [0.5, 0.67, 1, 1], recall: [1, 1, 0.5, 0], thresholds: [0.1, 0.6, 0.9] };
 * assert.deepEqual(prOperatingPoint(pr, 0.6), { index: 1, x: 1, y: 0.67, threshold: 0.6 });
 * ```
 */
export function prOperatingPoint(curve: PrCurveInput, threshold: number): OperatingPoint {
  checkLengths("pr", curve.precision.length, curve.recall.length, curve.thresholds.length, 1);
  let index = curve.thresholds.length;
  for (let i = 0; i < curve.thresholds.length; i++) {
    if (curve.thresholds[i] >= threshold) {
      index = i;
      break;
    }
  }
  return { index, x: curve.recall[index], y: curve.precision[index], threshold };
}

/**
 * ROC curves (false-positive rate against true-positive rate) of one or more heuristics, the chance
 * diagonal, and a ringed point at each curve's chosen threshold, labelled with the threshold. The
 * legend shows each curve's name and AUC when given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rocPlot } from "./curves.ts";
 * const curve = { fpr: [0, 0, 0.5, 1], tpr: [0, 0.5, 1, 1], thresholds: [Infinity, 0.9, 0.6, 0.1] };
 * const plot = await rocPlot([{ name: "sharpness", curve, area: 0.875, chosenThreshold: 0.6 }]);
 * assert.ok(plot.svg.includes("sharpness (AUC 0.875)"));
 * ```
 */
export async function rocPlot(
  curves: readonly NamedCurve<RocCurveInput>[],
  options: CurvePlotOptions = {},
): Promise<PlotOutput> {
  const lines: Record<string, unknown>[] = [];
  const points: Record<string, unknown>[] = [];
  for (const c of checkNames(curves)) {
    const series = seriesName(c, "AUC");
    const { fpr, tpr } = c.curve;
    checkLengths(`roc "${c.name}"`, fpr.length, tpr.length, c.curve.thresholds.length, 0);
    for (let i = 0; i < fpr.length; i++) lines.push({ series, i, x: fpr[i], y: tpr[i] });
    if (c.chosenThreshold !== undefined) {
      const p = c.chosenPoint ?? rocOperatingPoint(c.curve, c.chosenThreshold);
      points.push({ series, x: p.x, y: p.y, text: `t=${fmt(c.chosenThreshold)}` });
    } else if (c.chosenPoint) {
      points.push({ series, x: c.chosenPoint.x, y: c.chosenPoint.y, text: "chosen" });
    }
  }
  // The chance label goes under the diagonal, where a useful curve leaves room.
  const chance = [{ x: 0, y: 0 }, { x: 0.8, y: 0.8, label: true }, { x: 1, y: 1 }];
  return await renderCurves(lines, points, chance, "linear", {
    title: options.title ?? "ROC curve",
    xTitle: options.xTitle ?? "False-positive rate (bad images kept)",
    yTitle: options.yTitle ?? "True-positive rate (good images kept)",
    chanceText: "chance",
    chanceAlign: "left",
    legendCorner: "bottom-right",
    options,
  });
}

/**
 * Precision–recall curves (recall on x, precision on y, drawn as steps as sklearn's display does),
 * the chance level at the prevalence when given, and the chosen threshold's point. The legend shows
 * each curve's name and average precision when given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prPlot } from "./curves.ts";
 * const curve = { precision: [0.5, 0.67, 1, 1], recall: [1, 1, 0.5, 0], thresholds: [0.1, 0.6, 0.9] };
 * const plot = await prPlot([{ name: "sharpness", curve, area: 0.83 }], { prevalence: 0.5 });
 * assert.ok(plot.svg.includes("Precision"));
 * ```
 */
export async function prPlot(
  curves: readonly NamedCurve<PrCurveInput>[],
  options: CurvePlotOptions = {},
): Promise<PlotOutput> {
  const lines: Record<string, unknown>[] = [];
  const points: Record<string, unknown>[] = [];
  for (const c of checkNames(curves)) {
    const series = seriesName(c, "AP");
    const { precision, recall } = c.curve;
    checkLengths(`pr "${c.name}"`, precision.length, recall.length, c.curve.thresholds.length, 1);
    for (let i = 0; i < recall.length; i++) lines.push({ series, i, x: recall[i], y: precision[i] });
    if (c.chosenThreshold !== undefined) {
      const p = c.chosenPoint ?? prOperatingPoint(c.curve, c.chosenThreshold);
      points.push({ series, x: p.x, y: p.y, text: `t=${fmt(c.chosenThreshold)}` });
    } else if (c.chosenPoint) {
      points.push({ series, x: c.chosenPoint.x, y: c.chosenPoint.y, text: "chosen" });
    }
  }
  const prevalence = options.prevalence;
  const chance = prevalence !== undefined && Number.isFinite(prevalence)
    ? [{ x: 0, y: prevalence }, { x: 1, y: prevalence, label: true }]
    : null;
  return await renderCurves(lines, points, chance, "step-after", {
    title: options.title ?? "Precision–recall curve",
    xTitle: "Recall (share of good images kept)",
    yTitle: "Precision (share of kept images that are good)",
    chanceText: prevalence !== undefined ? `chance (prevalence ${fmt(prevalence)})` : "",
    chanceAlign: "right",
    legendCorner: "bottom-left",
    options,
  });
}

interface CurveLayout {
  title: string;
  xTitle: string;
  yTitle: string;
  chanceText: string;
  /** "left": label starts right of and below its point (ROC diagonal); "right": ends above it (PR). */
  chanceAlign: "left" | "right";
  /** Corner of the plot a good curve leaves empty. */
  legendCorner: "bottom-right" | "bottom-left";
  options: CurvePlotOptions;
}

async function renderCurves(
  lines: Record<string, unknown>[],
  points: Record<string, unknown>[],
  chance: { x: number; y: number; label?: boolean }[] | null,
  interpolate: "linear" | "step-after",
  layout: CurveLayout,
): Promise<PlotOutput> {
  const size = layout.options.size ?? DEFAULT_HEIGHT;
  const unit = { scale: { domain: [0, 1], nice: false }, axis: { tickCount: 5 } };
  const x = { field: "x", type: "quantitative", title: layout.xTitle, ...unit };
  const y = { field: "y", type: "quantitative", title: layout.yTitle, ...unit };
  const color = {
    field: "series",
    type: "nominal",
    title: "Heuristic",
    legend: {
      // An inside corner suits a few curves; more would cover the data, so they go to the right.
      orient: new Set(lines.map((l) => l.series)).size > 3 ? "right" : layout.legendCorner,
      fillColor: "white",
      strokeColor: "#cccccc",
      padding: 6,
      symbolType: "stroke",
      symbolStrokeWidth: 3,
    },
  };
  const layers: unknown[] = [];
  if (chance) {
    layers.push({
      data: { values: chance.map((p) => ({ ...p, text: layout.chanceText })) },
      layer: [
        { mark: { type: "line", color: "#999999", strokeDash: [4, 4], strokeWidth: 1 }, encoding: { x, y } },
        {
          transform: [{ filter: "datum.label" }],
          mark: {
            type: "text",
            align: layout.chanceAlign,
            baseline: layout.chanceAlign === "left" ? "top" : "bottom",
            dx: layout.chanceAlign === "left" ? 6 : 0,
            dy: layout.chanceAlign === "left" ? 2 : -3,
            fontSize: 10,
            color: "#777777",
          },
          encoding: { x, y, text: { field: "text" } },
        },
      ],
    });
  }
  layers.push({
    data: { values: lines },
    mark: { type: "line", interpolate, strokeWidth: 2.5, clip: true },
    encoding: { x, y, color, order: { field: "i", type: "quantitative" } },
  });
  if (points.length) {
    layers.push({
      data: { values: points },
      layer: [
        {
          mark: {
            type: "point",
            shape: "circle",
            size: 160,
            filled: false,
            strokeWidth: 2.5,
            color: CHOSEN_COLOR,
            opacity: 1,
          },
          encoding: { x, y },
        },
        { mark: { type: "circle", size: 40, opacity: 1 }, encoding: { x, y, color } },
        {
          mark: {
            type: "text",
            align: "left",
            baseline: "top",
            dx: 8,
            dy: 6,
            fontSize: 11,
            color: CHOSEN_COLOR,
          },
          encoding: { x, y, text: { field: "text" } },
        },
      ],
    });
  }
  const subtitle = points.length ? "ringed: the chosen threshold t" : undefined;
  const spec = {
    title: subtitle ? { text: layout.title, subtitle } : layout.title,
    width: size,
    height: size,
    layer: layers,
    resolve: { scale: { color: "shared" } },
  } as TopLevelSpec;
  return await renderPlot(spec, layout.options);
}

function seriesName(c: NamedCurve<unknown>, areaName: string): string {
  return c.area !== undefined && Number.isFinite(c.area) ? `${c.name} (${areaName} ${fmt(c.area)})` : c.name;
}

function checkNames<C>(curves: readonly NamedCurve<C>[]): readonly NamedCurve<C>[] {
  if (curves.length === 0) throw new PlotError("curves: expected at least one curve, got none");
  const names = new Set<string>();
  for (const c of curves) {
    if (names.has(c.name)) throw new PlotError(`curves: the name "${c.name}" is used twice`);
    names.add(c.name);
  }
  return curves;
}

function checkLengths(what: string, a: number, b: number, thresholds: number, extra: number): void {
  if (a !== b || a !== thresholds + extra || a === 0) {
    throw new PlotError(
      `${what}: expected coordinate arrays of equal length ${thresholds + extra} (thresholds + ${extra}), ` +
        `got ${a} and ${b} with ${thresholds} thresholds`,
    );
  }
}
