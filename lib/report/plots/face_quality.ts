/**
 * Face size against human face quality: one density curve of log10 face area per quality score.
 * Small faces in generated images are where the faces go wrong; this plot shows whether the score
 * drops with size and where a face-area threshold would cut.
 *
 * @module
 */
import { DEFAULT_HEIGHT, DEFAULT_WIDTH, type PlotOutput, type RenderOptions, renderPlot } from "./render.ts";
import type { TopLevelSpec } from "./render.ts";
import { CHOSEN_COLOR, formatNumber, PlotError, QUALITY_COLORS, qualityGroups } from "./render.ts";

/** One detected face matched to a labeled face (join by IoU, e.g. `matchFaces` in `lib/labels/format.ts`). */
export interface FaceQualityPoint {
  /** log10 of the detected face's area in pixels (`log10_area` of the faces table). */
  log10Area: number;
  /** Human face quality, integer 1–5 (`quality` of `faces.csv`). */
  quality: number;
}

/** Options of {@link faceQualityPlot}. */
export interface FaceQualityPlotOptions extends RenderOptions {
  /** Default "Face size by human face quality". */
  title?: string;
  /** x-axis title. Default "Face area (log10 pixels)". */
  areaTitle?: string;
  /** A face-area threshold (log10 px) drawn as a vertical rule, e.g. the calibrated one. */
  threshold?: number;
  /** Label of the threshold rule. Default "threshold 2.5 (316 px)". */
  thresholdLabel?: string;
  /** Kernel bandwidth in log10 px. Default: Scott's rule on all faces pooled (one width for all curves). */
  bandwidth?: number;
  width?: number;
  height?: number;
}

/**
 * Density of log10 face area per human quality score (each curve integrates to 1, so scores with few
 * faces stay visible), coloured red (1) to blue (5), the legend giving each score's face count.
 * Rows with a non-finite area or a quality outside 1–5 are left out and counted in the subtitle.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { faceQualityPlot } from "./face_quality.ts";
 * const faces = [
 *   { log10Area: 2.1, quality: 1 }, { log10Area: 2.4, quality: 2 }, { log10Area: 3.0, quality: 4 },
 *   { log10Area: 3.6, quality: 5 }, { log10Area: 3.3, quality: 5 },
 * ];
 * const plot = await faceQualityPlot(faces, { threshold: 2.5 });
 * assert.ok(plot.svg.includes("Face area (log10 pixels)"));
 * ```
 */
export async function faceQualityPlot(
  faces: readonly FaceQualityPoint[],
  options: FaceQualityPlotOptions = {},
): Promise<PlotOutput> {
  const { kept: good, dropped, present, label } = qualityGroups(
    faces,
    (f) => f.log10Area,
    "faceQualityPlot",
    "area",
  );
  const values = good.map((f) => ({ log10_area: f.log10Area, score: label(f.quality) }));

  const areas = good.map((f) => f.log10Area);
  let lo = Math.min(...areas), hi = Math.max(...areas);
  if (options.threshold !== undefined && Number.isFinite(options.threshold)) {
    lo = Math.min(lo, options.threshold);
    hi = Math.max(hi, options.threshold);
  }
  const bandwidth = options.bandwidth ?? scottBandwidth(areas);
  if (!(bandwidth > 0)) throw new PlotError(`bandwidth: expected a positive number, got ${bandwidth}`);
  const extent = [lo - 3 * bandwidth, hi + 3 * bandwidth];

  const layers: unknown[] = [{
    transform: [{ density: "log10_area", groupby: ["score"], extent, bandwidth, steps: 200 }],
    mark: { type: "line", strokeWidth: 2.5 },
    encoding: {
      x: {
        field: "value",
        type: "quantitative",
        title: options.areaTitle ?? "Face area (log10 pixels)",
        scale: { domain: extent, nice: false, zero: false },
      },
      y: { field: "density", type: "quantitative", title: "Density" },
      color: {
        field: "score",
        type: "ordinal",
        title: "Human face quality",
        scale: { domain: present.map(label), range: present.map((q) => QUALITY_COLORS[q - 1]) },
        legend: { symbolType: "stroke", symbolStrokeWidth: 3 },
      },
    },
  }];
  if (options.threshold !== undefined && Number.isFinite(options.threshold)) {
    const t = options.threshold;
    const text = options.thresholdLabel ?? `threshold ${formatNumber(t)} (${Math.round(10 ** t)} px)`;
    layers.push({
      data: { values: [{ t, text }] },
      layer: [
        {
          mark: { type: "rule", color: CHOSEN_COLOR, strokeDash: [6, 4], strokeWidth: 1.5 },
          encoding: { x: { field: "t", type: "quantitative" } },
        },
        {
          mark: {
            type: "text",
            align: "left",
            baseline: "top",
            dx: 4,
            y: 4,
            color: CHOSEN_COLOR,
            fontSize: 11,
          },
          encoding: { x: { field: "t", type: "quantitative" }, text: { field: "text" } },
        },
      ],
    });
  }
  const subtitle = `${good.length} faces` +
    (dropped ? `; ${dropped} without area or quality 1–5 left out` : "") +
    `; each curve integrates to 1 (bandwidth ${formatNumber(bandwidth)})`;
  const spec = {
    title: { text: options.title ?? "Face size by human face quality", subtitle },
    width: options.width ?? DEFAULT_WIDTH,
    height: options.height ?? DEFAULT_HEIGHT,
    data: { values },
    layer: layers,
  } as TopLevelSpec;
  return await renderPlot(spec, options);
}

/** Scott's rule, `1.06 · min(sd, IQR/1.34) · n^(-1/5)`, falling back to sd or 0.1 when a spread is 0. */
function scottBandwidth(xs: readonly number[]): number {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const sorted = [...xs].sort((a, b) => a - b);
  const q = (p: number) => {
    const i = p * (n - 1), j = Math.floor(i);
    return j + 1 < n ? sorted[j] + (i - j) * (sorted[j + 1] - sorted[j]) : sorted[j];
  };
  const iqr = (q(0.75) - q(0.25)) / 1.34;
  const spread = sd > 0 && iqr > 0 ? Math.min(sd, iqr) : sd > 0 ? sd : 0;
  return spread > 0 ? 1.06 * spread * n ** -0.2 : 0.1;
}
