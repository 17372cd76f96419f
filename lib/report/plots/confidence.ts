/**
 * Detector confidence against human face quality: a box plot with every face as a point, one column
 * per quality score. Shows whether the detector's confidence separates bad faces from good ones,
 * and for which scores it does not.
 *
 * @module
 */
import { DEFAULT_HEIGHT, DEFAULT_WIDTH, type PlotOutput, type RenderOptions, renderPlot } from "./render.ts";
import type { TopLevelSpec } from "./render.ts";
import { CHOSEN_COLOR, QUALITY_COLORS, qualityGroups } from "./render.ts";

/** One detected face matched to a labeled face. */
export interface ConfidencePoint {
  /** Detector confidence, 0–1 (`confidence` of the faces table). */
  confidence: number;
  /** Human face quality, integer 1–5. */
  quality: number;
}

/** Options of {@link confidencePlot}. */
export interface ConfidencePlotOptions extends RenderOptions {
  /** Default "Detector confidence by human face quality". */
  title?: string;
  /** Name of the detector, shown in the y-axis title ("Detector confidence (ssd)"). */
  detector?: string;
  /** y-axis range. Default [0, 1]. */
  confidenceDomain?: [number, number];
  /** A confidence threshold drawn as a horizontal rule. */
  threshold?: number;
  width?: number;
  height?: number;
}

/**
 * Box plot (whiskers from minimum to maximum) of detector confidence per human quality score, with
 * each face drawn as a point jittered sideways (deterministically, so re-runs give the same picture).
 * x labels give each score's face count. Rows with a non-finite confidence (a labeled face the
 * detector missed) or a quality outside 1–5 are left out and counted in the subtitle.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confidencePlot } from "./confidence.ts";
 * const plot = await confidencePlot([
 *   { confidence: 0.55, quality: 1 }, { confidence: 0.62, quality: 2 }, { confidence: 0.97, quality: 5 },
 * ], { detector: "ssd" });
 * assert.ok(plot.svg.includes("Detector confidence (ssd)"));
 * ```
 */
export async function confidencePlot(
  faces: readonly ConfidencePoint[],
  options: ConfidencePlotOptions = {},
): Promise<PlotOutput> {
  const { kept: good, dropped, present, label } = qualityGroups(
    faces,
    (f) => f.confidence,
    "confidencePlot",
    "confidence",
  );
  const seen = [0, 0, 0, 0, 0];
  const values = good.map((f) => {
    // Golden-ratio sequence: evenly spread, deterministic offsets in [-1, 1).
    const k = seen[f.quality - 1]++;
    return { confidence: f.confidence, score: label(f.quality), jitter: ((k * 0.6180339887) % 1) * 2 - 1 };
  });
  const domain = options.confidenceDomain ?? [0, 1];
  const x = {
    field: "score",
    type: "ordinal",
    title: "Human face quality (1 = bad, 5 = good)",
    scale: { domain: present.map(label) },
    axis: { labelAngle: 0 },
  };
  const color = {
    field: "score",
    type: "ordinal",
    scale: { domain: present.map(label), range: present.map((q) => QUALITY_COLORS[q - 1]) },
    legend: null,
  };
  const y = {
    field: "confidence",
    type: "quantitative",
    title: options.detector ? `Detector confidence (${options.detector})` : "Detector confidence",
    scale: { domain, nice: false },
  };
  const layers: unknown[] = [
    {
      mark: {
        type: "boxplot",
        extent: "min-max",
        size: 36,
        opacity: 0.45,
        median: { color: "#111111", strokeWidth: 2 },
      },
      encoding: { x, y, color },
    },
    {
      mark: { type: "circle", size: 28, opacity: 0.85, stroke: "white", strokeWidth: 0.5 },
      encoding: {
        x,
        y,
        color,
        xOffset: { field: "jitter", type: "quantitative", scale: { domain: [-3, 3] } },
      },
    },
  ];
  if (options.threshold !== undefined && Number.isFinite(options.threshold)) {
    layers.push({
      data: { values: [{ t: options.threshold, text: `threshold ${options.threshold}` }] },
      layer: [
        {
          mark: { type: "rule", color: CHOSEN_COLOR, strokeDash: [6, 4], strokeWidth: 1.5 },
          encoding: { y: { field: "t", type: "quantitative" } },
        },
        {
          mark: {
            type: "text",
            align: "right",
            baseline: "bottom",
            dy: -3,
            color: CHOSEN_COLOR,
            fontSize: 11,
          },
          encoding: {
            y: { field: "t", type: "quantitative" },
            x: { value: options.width ?? DEFAULT_WIDTH },
            text: { field: "text" },
          },
        },
      ],
    });
  }
  const subtitle = `${good.length} faces` + (dropped ? `; ${dropped} missed or unscored left out` : "") +
    "; box: quartiles and median, whiskers: min–max";
  const spec = {
    title: { text: options.title ?? "Detector confidence by human face quality", subtitle },
    width: options.width ?? DEFAULT_WIDTH,
    height: options.height ?? DEFAULT_HEIGHT,
    data: { values },
    layer: layers,
  } as TopLevelSpec;
  return await renderPlot(spec, options);
}
