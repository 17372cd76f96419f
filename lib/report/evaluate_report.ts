/**
 * The HTML report of `deno task evaluate`: the numbers, their intervals where they have one (KID's
 * standard deviation over subsets, bootstrap 95 % intervals of per-image means), what the features
 * are comparable with, and a plot per section.
 *
 * @module
 */
import type { ClipRunResult, FidResult, PairsResult } from "../evaluate/run.ts";
import type { Report, ReportSection } from "./html.ts";
import { renderPlot, type TopLevelSpec, VEGA_LITE_SCHEMA } from "./plots/render.ts";

const fmt = (x: number | null | undefined, digits = 4) =>
  x === null || x === undefined ? "—" : x === Infinity ? "∞" : Number(x.toPrecision(digits)).toString();
const ci = (c?: [number, number] | null) => c ? `[${fmt(c[0])}, ${fmt(c[1])}]` : "—";

/** The FID section: numbers, warnings, and a plot of precision and recall. */
export async function fidSection(r: FidResult): Promise<ReportSection> {
  const spec: TopLevelSpec = {
    $schema: VEGA_LITE_SCHEMA,
    title: `Precision and recall (k = ${r.k}) on ${r.features} features`,
    width: 320,
    height: 160,
    data: {
      values: [
        { metric: "precision (fake inside real manifold)", value: r.precision ?? 0 },
        { metric: "recall (real inside fake manifold)", value: r.recall ?? 0 },
      ],
    },
    mark: { type: "bar" },
    encoding: {
      y: { field: "metric", type: "nominal", title: null },
      x: { field: "value", type: "quantitative", scale: { domain: [0, 1] }, title: "share" },
    },
  };
  const plot = await renderPlot(spec, { scale: 2 });
  return {
    heading: `FID: ${r.fake} against ${r.real}`,
    text: [
      r.note,
      ...r.warnings.filter((w) => w !== r.note),
      r.errors.length
        ? `${r.errors.length} files could not be used: ${r.errors.slice(0, 5).map((e) => e.error).join("; ")}`
        : "",
    ].filter(Boolean),
    tables: [{
      columns: ["metric", "value", "spread"],
      rows: [
        ["FID", fmt(r.fid, 6), `imaginary part of Tr √(S₁S₂): ${fmt(r.fid_imaginary, 2)}`],
        ["KID", fmt(r.kid, 6), `std ${fmt(r.kid_std)} over ${r.kid_subsets} subsets of ${r.kid_subset_size}`],
        ...(r.is !== null
          ? [["IS (fake)", fmt(r.is), `std ${fmt(r.is_std)} over ${r.is_splits} splits`]]
          : []),
        ["precision", fmt(r.precision), `k = ${r.k}`],
        ["recall", fmt(r.recall), `k = ${r.k}`],
        ["images", `${r.n_real} real, ${r.n_fake} fake`, `features: ${r.features} (${r.feature_dim}-d)`],
      ],
    }],
    figures: [{ png: plot.png, svg: plot.svg, width: plot.width, height: plot.height, alt: plot.alt }],
  };
}

/** The pairs section: means with intervals, a histogram of SSIM, the per-file table. */
export async function pairsSection(r: PairsResult): Promise<ReportSection> {
  const values = r.rows.filter((x) => x.ssim !== null).map((x) => ({ ssim: x.ssim }));
  const spec: TopLevelSpec = {
    $schema: VEGA_LITE_SCHEMA,
    title: "SSIM per pair",
    width: 360,
    height: 160,
    data: { values },
    mark: { type: "bar" },
    encoding: {
      x: { field: "ssim", type: "quantitative", bin: { maxbins: 20 }, title: "SSIM" },
      y: { aggregate: "count", type: "quantitative", title: "pairs" },
    },
  };
  const plot = values.length ? await renderPlot(spec, { scale: 2 }) : null;
  return {
    heading: `Pairs: ${r.b} against ${r.a}`,
    text: [
      `${r.rows.length} file names in both folders` +
      (r.onlyInA.length || r.onlyInB.length
        ? `; ${r.onlyInA.length} only in the first, ${r.onlyInB.length} only in the second`
        : "") +
      (r.identical ? `; ${r.identical} identical (PSNR ∞, left out of its mean)` : "") + ".",
      "SSIM and PSNR on 8-bit gray (OpenCV luma), as scikit-image; intervals: bootstrap 95 % over pairs.",
    ],
    tables: [
      {
        columns: ["metric", "mean", "95 % interval", "pairs"],
        rows: [
          ["SSIM", fmt(r.ssim?.mean), ci(r.ssim?.ci95), r.ssim?.n ?? 0],
          ["PSNR (dB)", fmt(r.psnr?.mean), ci(r.psnr?.ci95), r.psnr?.n ?? 0],
          ...(r.lpips ? [["LPIPS (alex)", fmt(r.lpips.mean), ci(r.lpips.ci95), r.lpips.n]] : []),
        ],
      },
      {
        caption: "Per file",
        columns: ["file", "ssim", "psnr", "lpips", "error"],
        rows: r.rows.map((x) => [x.file, fmt(x.ssim), fmt(x.psnr), fmt(x.lpips), x.error ?? ""]),
      },
    ],
    figures: plot
      ? [{ png: plot.png, svg: plot.svg, width: plot.width, height: plot.height, alt: plot.alt }]
      : [],
  };
}

/** The CLIP section: mean CLIP score per run with its interval, as a plot and a table. */
export async function clipSection(runs: readonly ClipRunResult[]): Promise<ReportSection> {
  const values = runs.filter((r) => r.clip_score).map((r) => ({
    run: r.run,
    mean: r.clip_score!.mean,
    lo: r.clip_score!.ci95[0],
    hi: r.clip_score!.ci95[1],
  }));
  const spec: TopLevelSpec = {
    $schema: VEGA_LITE_SCHEMA,
    title: "Mean CLIP score per run (95 % bootstrap interval)",
    width: 360,
    height: 40 + 30 * values.length,
    data: { values },
    layer: [
      {
        mark: { type: "rule" },
        encoding: {
          y: { field: "run", type: "nominal" },
          x: { field: "lo", type: "quantitative", title: "CLIP score", scale: { zero: false } },
          x2: { field: "hi" },
        },
      },
      {
        mark: { type: "point", filled: true, size: 60 },
        encoding: { y: { field: "run", type: "nominal" }, x: { field: "mean", type: "quantitative" } },
      },
    ],
  };
  const plot = values.length ? await renderPlot(spec, { scale: 2 }) : null;
  return {
    heading: "CLIP score per run",
    text:
      "torchmetrics' CLIPScore, 100 · max(cos, 0), of each image with its prompt; compare runs that share prompts.",
    tables: [{
      columns: ["run", "manifest", "images", "mean CLIP score", "95 % interval", "errors"],
      rows: runs.map((
        r,
      ) => [r.run, r.manifest, r.images, fmt(r.clip_score?.mean), ci(r.clip_score?.ci95), r.errors.length]),
    }],
    figures: plot
      ? [{ png: plot.png, svg: plot.svg, width: plot.width, height: plot.height, alt: plot.alt }]
      : [],
  };
}

/**
 * The whole report for whatever was computed.
 *
 * @example
 * ```ts ignore
 * const html = renderHtmlReport(await evaluateReport({ fid: await evaluateFid(real, fake) }));
 * ```
 */
export async function evaluateReport(
  r: { fid?: FidResult; pairs?: PairsResult; clip?: readonly ClipRunResult[] },
): Promise<Report> {
  const sections: ReportSection[] = [];
  if (r.fid) sections.push(await fidSection(r.fid));
  if (r.pairs) sections.push(await pairsSection(r.pairs));
  if (r.clip) sections.push(await clipSection(r.clip));
  const summary: [string, string][] = [];
  if (r.fid) {
    summary.push(["FID", fmt(r.fid.fid, 6)], ["KID", `${fmt(r.fid.kid)} ± ${fmt(r.fid.kid_std)}`]);
    summary.push([
      "features",
      `${r.fid.features}${r.fid.comparable_with_published_fid ? "" : " (not comparable with published FID)"}`,
    ]);
  }
  if (r.pairs) summary.push(["SSIM", fmt(r.pairs.ssim?.mean)], ["PSNR", fmt(r.pairs.psnr?.mean)]);
  for (const c of r.clip ?? []) summary.push([`CLIP score ${c.run}`, fmt(c.clip_score?.mean)]);
  return { title: "winnow evaluate", intro: "Generator evaluation.", summary, sections };
}
