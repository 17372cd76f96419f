/**
 * Headless rendering of vega-lite specs: spec → vega → SVG string → PNG bytes (sharp/librsvg), and the
 * display bundle a Deno Jupyter kernel shows inline.
 *
 * Every plot module in `lib/report/plots/` builds a vega-lite spec from plain data and hands it to
 * {@link renderPlot}; the shared {@link PLOT_THEME} keeps fonts, sizes and colours consistent.
 *
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import type { Config, TopLevelSpec } from "vega-lite";
import sharp from "sharp";
import { withDejaVuMetrics } from "./text_width.ts";
import { WinnowError } from "../../core/errors.ts";

export type { TopLevelSpec };

/** Default width of a plot's data rectangle in CSS pixels (axes and legend come on top). */
export const DEFAULT_WIDTH = 480;
/** Default height of a plot's data rectangle in CSS pixels. */
export const DEFAULT_HEIGHT = 300;

/** The vega-lite schema the specs are written against (vega-lite 6). */
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/**
 * Colours of the human quality scores 1–5: red (bad) through grey to blue (good). A diverging
 * red–blue scale stays readable for the common colour-vision deficiencies, and its grey middle is
 * still visible on white (unlike a yellow one).
 */
export const QUALITY_COLORS: readonly string[] = ["#b2182b", "#ef8a62", "#8c8c8c", "#67a9cf", "#2166ac"];

/** Faces of a per-score plot, grouped by their human quality score. */
export interface QualityGroups<T> {
  /** The faces with a finite value and a quality 1–5. */
  kept: T[];
  /** How many were left out. */
  dropped: number;
  /** The scores that have at least one face, ascending. */
  present: number[];
  /** An axis label for a score: `"4 (n=12)"`. */
  label: (quality: number) => string;
}

/**
 * Keeps the faces whose `valueOf` is finite and whose quality is an integer 1–5, and counts them
 * per score; throws a {@link PlotError} naming `plot` and `what` when none is left.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { qualityGroups } from "./render.ts";
 * const g = qualityGroups([{ v: 1, quality: 4 }, { v: NaN, quality: 2 }, { v: 2, quality: 4 }], (f) => f.v, "demo", "value");
 * assert.deepEqual([g.kept.length, g.dropped, g.present, g.label(4)], [2, 1, [4], "4 (n=2)"]);
 * ```
 */
export function qualityGroups<T extends { quality: number }>(
  faces: readonly T[],
  valueOf: (face: T) => number,
  plot: string,
  what: string,
): QualityGroups<T> {
  const kept = faces.filter((f) =>
    Number.isFinite(valueOf(f)) && Number.isInteger(f.quality) && f.quality >= 1 && f.quality <= 5
  );
  if (kept.length === 0) throw new PlotError(`${plot}: no face with a finite ${what} and a quality 1–5`);
  const counts = [0, 0, 0, 0, 0];
  for (const f of kept) counts[f.quality - 1]++;
  return {
    kept,
    dropped: faces.length - kept.length,
    present: [1, 2, 3, 4, 5].filter((q) => counts[q - 1] > 0),
    label: (q) => `${q} (n=${counts[q - 1]})`,
  };
}

/** Colour of things that were kept / accepted (blue) and rejected (red), matching {@link QUALITY_COLORS}. */
export const KEPT_COLOR = "#2166ac";
/** Colour of rejected things. */
export const REJECTED_COLOR = "#b2182b";
/** Colour of the chosen-threshold marks (rules and points). */
export const CHOSEN_COLOR = "#111111";

/** Font every plot asks for; librsvg resolves it (and `sans-serif`) to DejaVu Sans. */
export const PLOT_FONT = "DejaVu Sans, sans-serif";

/** The theme shared by all winnow plots: readable font sizes, light grid, white background. */
export const PLOT_THEME: Config = {
  background: "white",
  padding: 8,
  font: PLOT_FONT,
  view: { stroke: "#cccccc" },
  title: { fontSize: 15, fontWeight: "bold", anchor: "start", offset: 10, subtitleFontSize: 12 },
  axis: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: "bold",
    titlePadding: 8,
    gridColor: "#e6e6e6",
    domainColor: "#888888",
    tickColor: "#888888",
    labelColor: "#333333",
    titleColor: "#222222",
  },
  legend: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: "bold",
    symbolSize: 120,
    orient: "right",
    labelLimit: 260,
  },
  header: { labelFontSize: 12, titleFontSize: 12 },
  range: { category: { scheme: "tableau10" } },
  line: { strokeWidth: 2 },
};

/** A rendered plot: the vega-lite spec it came from, the SVG text and the PNG bytes. */
export interface PlotOutput {
  /** The complete vega-lite spec (data inline), for interactive display or re-rendering. */
  spec: TopLevelSpec;
  /** The SVG document produced by vega (text kept as `<text>`, so titles are searchable). */
  svg: string;
  /** The PNG rendering of `svg` at `scale` × its size. */
  png: Uint8Array;
  /** Size of the SVG in CSS pixels (the PNG is `scale` times larger). */
  width: number;
  height: number;
  /** PNG pixels per CSS pixel. */
  scale: number;
  /** A one-line description (the spec's title or description), used as alt text and `text/plain`. */
  alt: string;
}

/** Options of {@link renderPlot}. */
export interface RenderOptions {
  /** PNG pixels per CSS pixel; 2 gives sharp images on high-density screens. Default 1. */
  scale?: number;
}

/** A spec or parameter that cannot be rendered; the message says which and why. */
export class PlotError extends WinnowError {}

/**
 * Adds the schema and the shared theme to a spec, without overriding what the spec sets itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withTheme } from "./render.ts";
 * const spec = withTheme({ mark: "point", data: { values: [] } });
 * assert.equal(spec.config?.font, "DejaVu Sans, sans-serif");
 * ```
 */
export function withTheme(spec: TopLevelSpec): TopLevelSpec {
  const config = { ...PLOT_THEME, ...(spec.config ?? {}) } as Config;
  return { $schema: VEGA_LITE_SCHEMA, ...spec, config } as TopLevelSpec;
}

/**
 * Renders an SVG document to PNG bytes with sharp (librsvg; text in DejaVu fonts).
 *
 * @example
 * ```ts
 * import { svgToPng } from "./render.ts";
 * const png = await svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="5"/>', { scale: 2 });
 * // png is a 20×10 PNG
 * ```
 */
export async function svgToPng(svg: string, options: RenderOptions = {}): Promise<Uint8Array> {
  const scale = checkScale(options.scale ?? 1);
  const buf = await sharp(new TextEncoder().encode(svg), { density: 72 * scale }).png().toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Compiles a vega-lite spec and renders it headless to SVG and PNG. The theme is applied first
 * ({@link withTheme}). Works without a browser or canvas: vega runs with `renderer: "none"`, and
 * text is measured with DejaVu Sans widths (`text_width.ts`), the font librsvg draws with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderPlot } from "./render.ts";
 * const plot = await renderPlot({
 *   data: { values: [{ x: 1, y: 2 }, { x: 2, y: 3 }] },
 *   mark: "line",
 *   encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
 * });
 * assert.ok(plot.svg.startsWith("<svg"));
 * assert.equal(plot.png[1], 0x50); // "P" of the PNG signature
 * ```
 */
export async function renderPlot(spec: TopLevelSpec, options: RenderOptions = {}): Promise<PlotOutput> {
  const scale = checkScale(options.scale ?? 1);
  const themed = withTheme(spec);
  let view: vega.View | undefined;
  let svg: string;
  try {
    const compiled = vl.compile(themed).spec;
    view = new vega.View(vega.parse(compiled), { renderer: "none" });
    const v = view;
    svg = await withDejaVuMetrics(vega, () => v.toSVG());
  } catch (e) {
    throw new PlotError(`vega-lite spec could not be rendered: ${e instanceof Error ? e.message : e}`);
  } finally {
    view?.finalize();
  }
  const m = /^<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(svg);
  const width = m ? Number(m[1]) : NaN;
  const height = m ? Number(m[2]) : NaN;
  const png = await svgToPng(svg, { scale });
  return { spec: themed, svg, png, width, height, scale, alt: altOf(themed) };
}

/** MIME type under which the vega-lite spec goes into a Jupyter display bundle. */
export type VegaLiteMime = "application/vnd.vegalite.v5+json" | "application/vnd.vegalite.v6+json";

/** Options of {@link jupyterBundle}. */
export interface JupyterBundleOptions {
  /**
   * MIME type for the spec. Default `application/vnd.vegalite.v5+json`: JupyterLab 4's built-in
   * renderer (`@jupyterlab/vega5-extension`) knows v3, v4 and v5 only and shows nothing for v6. The
   * specs here use only features vega-lite 5 has, so under v5 the `$schema` is rewritten to v5 to
   * keep vega-embed from warning about a version mismatch. `null` leaves the spec out.
   */
  vegaLiteMime?: VegaLiteMime | null;
  /** Include the SVG (`image/svg+xml`). Default true; nbconvert's HTML export prefers it to PNG. */
  svg?: boolean;
  /** Include the PNG (`image/png`, base64). Default true. */
  png?: boolean;
}

/**
 * A Jupyter display bundle for a rendered plot: the vega-lite spec (interactive in JupyterLab),
 * plus SVG and PNG renderings (shown by every other front end, and kept by `nbconvert --to html`,
 * which drops a spec-only output) and a `text/plain` line. Show it with an awaited
 * `Deno.jupyter.display(bundle, { raw: true })` (see {@link displayPlot}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jupyterBundle, renderPlot } from "./render.ts";
 * const plot = await renderPlot({ data: { values: [{ a: 1 }] }, mark: "point", encoding: { x: { field: "a" } } });
 * const bundle = jupyterBundle(plot);
 * assert.ok("application/vnd.vegalite.v5+json" in bundle && "image/png" in bundle);
 * ```
 */
export function jupyterBundle(plot: PlotOutput, options: JupyterBundleOptions = {}): Record<string, unknown> {
  const mime = options.vegaLiteMime === undefined ? "application/vnd.vegalite.v5+json" : options.vegaLiteMime;
  const bundle: Record<string, unknown> = {};
  if (mime !== null) {
    const schema = mime.includes(".v5+")
      ? "https://vega.github.io/schema/vega-lite/v5.json"
      : VEGA_LITE_SCHEMA;
    bundle[mime] = { ...plot.spec, $schema: schema };
  }
  if (options.svg ?? true) bundle["image/svg+xml"] = plot.svg;
  if (options.png ?? true) bundle["image/png"] = base64(plot.png);
  bundle["text/plain"] = plot.alt;
  return bundle;
}

/**
 * Shows a plot inline in a Deno Jupyter kernel (`Deno.jupyter.display(jupyterBundle(plot), {raw: true})`).
 * Await it: awaited displays are never lost (see `../shared/PLATFORM.md`). Throws a {@link PlotError}
 * outside a kernel.
 *
 * @example
 * ```ts ignore
 * import { displayPlot, renderPlot } from "./render.ts";
 * await displayPlot(await renderPlot(spec));
 * ```
 */
export async function displayPlot(plot: PlotOutput, options: JupyterBundleOptions = {}): Promise<void> {
  const jupyter = (Deno as unknown as { jupyter?: JupyterApi }).jupyter;
  if (!jupyter) throw new PlotError("displayPlot needs a Deno Jupyter kernel (Deno.jupyter is not defined)");
  await jupyter.display(jupyterBundle(plot, options), { raw: true });
}

interface JupyterApi {
  display(bundle: Record<string, unknown>, options: { raw: boolean }): Promise<void>;
}

/**
 * A number for labels: three decimals below 1, two below 10, one below 100, none above, without
 * trailing zeros.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatNumber } from "./render.ts";
 * assert.deepEqual([formatNumber(0.87512), formatNumber(12.54), formatNumber(1234.5)], ["0.875", "12.5", "1235"]);
 * ```
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return String(Number(x.toFixed(digits)));
}

/** Base64 of bytes (for `image/png` in display bundles and data URIs). */
export function base64(bytes: Uint8Array): string {
  let s = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    s += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(s);
}

function checkScale(scale: number): number {
  if (!(Number.isFinite(scale) && scale > 0 && scale <= 8)) {
    throw new PlotError(`scale: expected a number in (0, 8], got ${scale}`);
  }
  return scale;
}

function altOf(spec: TopLevelSpec): string {
  const title = (spec as { title?: unknown }).title;
  if (typeof title === "string") return title;
  if (Array.isArray(title)) return title.join(" ");
  if (title && typeof title === "object" && "text" in title) {
    const t = (title as { text: unknown }).text;
    return Array.isArray(t) ? t.join(" ") : String(t);
  }
  return spec.description ?? "plot";
}
