import assert from "node:assert/strict";
import sharp from "sharp";
import { jupyterBundle, PlotError, type PlotOutput, renderPlot } from "../lib/report/plots/render.ts";
import { dejaVuTextWidth } from "../lib/report/plots/text_width.ts";
import { faceQualityPlot } from "../lib/report/plots/face_quality.ts";
import { confidencePlot } from "../lib/report/plots/confidence.ts";
import { prOperatingPoint, prPlot, rocOperatingPoint, rocPlot } from "../lib/report/plots/curves.ts";
import { sweepPlot } from "../lib/report/plots/sweep.ts";
import { countErrorTypes, errorCountsPlot } from "../lib/report/plots/errors.ts";
import { contactSheet, contactSheetLayout, cutMiddle, wrap } from "../lib/report/plots/contact_sheet.ts";
import { escapeHtml, renderHtmlReport } from "../lib/report/html.ts";

/** Pixel size of a PNG and its first bytes' signature check. */
async function pngSize(png: Uint8Array): Promise<[number, number]> {
  assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], "not a PNG");
  const m = await sharp(png).metadata();
  return [m.width!, m.height!];
}

/** The PNG has the SVG's size (times the scale), within rounding. */
async function assertRendered(plot: PlotOutput, scale = 1): Promise<void> {
  assert.ok(plot.svg.startsWith("<svg"), "SVG text");
  assert.ok(plot.width > 100 && plot.height > 100, `plausible size ${plot.width}×${plot.height}`);
  const [w, h] = await pngSize(plot.png);
  assert.ok(Math.abs(w - plot.width * scale) <= 1, `PNG width ${w} vs SVG ${plot.width} × ${scale}`);
  assert.ok(Math.abs(h - plot.height * scale) <= 1, `PNG height ${h} vs SVG ${plot.height} × ${scale}`);
}

/** All `<text>` contents of an SVG, unescaped. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
    m[1].replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll("&amp;", "&")
  );
}

function assertTexts(svg: string, expected: string[]): void {
  const texts = svgTexts(svg);
  for (const e of expected) {
    assert.ok(texts.includes(e), `SVG text "${e}" missing; have ${JSON.stringify(texts)}`);
  }
}

const FACES = [
  { log10Area: 2.0, quality: 1, confidence: 0.52 },
  { log10Area: 2.2, quality: 1, confidence: 0.58 },
  { log10Area: 2.5, quality: 2, confidence: 0.61 },
  { log10Area: 3.1, quality: 4, confidence: 0.9 },
  { log10Area: 3.4, quality: 5, confidence: 0.97 },
  { log10Area: 3.6, quality: 5, confidence: 0.95 },
  { log10Area: 3.9, quality: 5, confidence: 0.99 },
  { log10Area: NaN, quality: 3, confidence: NaN },
];

Deno.test("renderPlot gives an SVG and a PNG of the same size, scaled on request", async () => {
  const spec = {
    data: { values: [{ x: 1, y: 2 }, { x: 2, y: 4 }] },
    mark: "line" as const,
    encoding: {
      x: { field: "x", type: "quantitative" as const, title: "Width (px)" },
      y: { field: "y", type: "quantitative" as const },
    },
  };
  const one = await renderPlot(spec);
  await assertRendered(one);
  const two = await renderPlot(spec, { scale: 2 });
  await assertRendered(two, 2);
  assert.equal(two.width, one.width);
  assertTexts(one.svg, ["Width (px)"]);
  await assert.rejects(renderPlot(spec, { scale: 0 }), PlotError);
});

Deno.test("vega lays text out with DejaVu widths, so a long title is not padded with empty space", async () => {
  const title = "A fairly long title for a small plot, to see the layout width";
  const plot = await renderPlot({
    title,
    width: 100,
    height: 100,
    data: { values: [{ a: 1 }] },
    mark: "point",
  });
  // 15 px bold DejaVu: about 505 px; vega's 0.8 em guess would make the SVG ~770 px wide.
  const expected = dejaVuTextWidth(title, 15, true);
  assert.ok(plot.width < expected + 40 && plot.width >= expected, `width ${plot.width}, title ${expected}`);
});

Deno.test("a Jupyter bundle holds the spec under a vega-lite MIME type beside SVG, PNG and text", async () => {
  const plot = await sweepPlot([{ threshold: 0, precision: 0.5, recall: 1, keptFraction: 1 }, {
    threshold: 1,
    precision: 1,
    recall: 0.5,
    keptFraction: 0.25,
  }]);
  const bundle = jupyterBundle(plot);
  assert.deepEqual(Object.keys(bundle).sort(), [
    "application/vnd.vegalite.v5+json",
    "image/png",
    "image/svg+xml",
    "text/plain",
  ]);
  const spec = bundle["application/vnd.vegalite.v5+json"] as { $schema: string; data: unknown };
  assert.equal(spec.$schema, "https://vega.github.io/schema/vega-lite/v5.json");
  assert.ok(spec.data, "data inline");
  const png = Uint8Array.from(atob(bundle["image/png"] as string), (c) => c.charCodeAt(0));
  assert.deepEqual(png, plot.png);
  assert.equal(bundle["text/plain"], "Threshold sweep");
  const v6 = jupyterBundle(plot, { vegaLiteMime: "application/vnd.vegalite.v6+json", svg: false });
  assert.deepEqual(Object.keys(v6).sort(), ["application/vnd.vegalite.v6+json", "image/png", "text/plain"]);
});

Deno.test("face quality plot: a density per score, legend with counts, axis titles and threshold label", async () => {
  const plot = await faceQualityPlot(FACES, { threshold: 2.5 });
  await assertRendered(plot);
  assertTexts(plot.svg, [
    "Face area (log10 pixels)",
    "Density",
    "Human face quality",
    "1 (n=2)",
    "2 (n=1)",
    "4 (n=1)",
    "5 (n=3)",
    "threshold 2.5 (316 px)",
  ]);
  assert.ok(!svgTexts(plot.svg).includes("3 (n=1)"), "the row without an area is not a score-3 face");
  assert.ok(svgTexts(plot.svg).some((t) => t.includes("1 without area")), "dropped row counted");
  // One curve per score present (4 line paths in the density layer).
  const lines = plot.svg.match(/aria-roledescription="line mark"/g) ?? [];
  assert.equal(lines.length, 4);
  await assert.rejects(faceQualityPlot([{ log10Area: 2, quality: 7 }]), PlotError);
});

Deno.test("confidence plot: one box per score with the detector in the axis title", async () => {
  const plot = await confidencePlot(FACES, { detector: "ssd", threshold: 0.7 });
  await assertRendered(plot);
  assertTexts(plot.svg, [
    "Detector confidence (ssd)",
    "Human face quality (1 = bad, 5 = good)",
    "1 (n=2)",
    "5 (n=3)",
    "threshold 0.7",
  ]);
  const points = plot.svg.match(/aria-roledescription="circle"/g) ?? [];
  assert.equal(points.length, 7, "every face with a confidence is a point");
});

const ROC = {
  fpr: [0, 0, 0.25, 0.5, 1],
  tpr: [0, 0.5, 0.75, 1, 1],
  thresholds: [Infinity, 0.9, 0.7, 0.4, 0.1],
};
const PR = {
  precision: [0.5, 0.6, 0.75, 1, 1],
  recall: [1, 1, 0.75, 0.5, 0],
  thresholds: [0.1, 0.4, 0.7, 0.9],
};

Deno.test("operating points follow sklearn's threshold semantics (score ≥ t is kept)", () => {
  assert.deepEqual(rocOperatingPoint(ROC, 0.7), { index: 2, x: 0.25, y: 0.75, threshold: 0.7 });
  assert.equal(rocOperatingPoint(ROC, 0.5).index, 2, "0.5 keeps the same scores as 0.7");
  assert.equal(rocOperatingPoint(ROC, 0.95).index, 0, "above every score: nothing kept");
  assert.equal(rocOperatingPoint(ROC, 0).index, 4);
  assert.deepEqual(prOperatingPoint(PR, 0.7), { index: 2, x: 0.75, y: 0.75, threshold: 0.7 });
  assert.equal(prOperatingPoint(PR, 0.5).index, 2);
  assert.equal(prOperatingPoint(PR, 0.95).index, 4, "above every score: recall 0");
  assert.throws(() => rocOperatingPoint({ fpr: [0, 1], tpr: [0], thresholds: [1, 0] }, 0.5), PlotError);
});

/** Centres (in data-rectangle pixels) of the ringed chosen points of a curve plot. */
function chosenRings(svg: string): [number, number][] {
  const re =
    /aria-roledescription="point" transform="translate\(([\d.-]+),([\d.-]+)\)"[^>]*stroke="#111111"/g;
  return [...svg.matchAll(re)].map((m) => [Number(m[1]), Number(m[2])]);
}

Deno.test("ROC plot: the chosen point sits at the curve's (fpr, tpr) for the threshold", async () => {
  const size = 300;
  const plot = await rocPlot([
    { name: "sharpness", curve: ROC, area: 0.875, chosenThreshold: 0.5 },
    { name: "colorfulness", curve: { fpr: [0, 0.5, 1], tpr: [0, 0.5, 1], thresholds: [Infinity, 0.5, 0.2] } },
  ], { size });
  await assertRendered(plot);
  assertTexts(plot.svg, [
    "False-positive rate (bad images kept)",
    "True-positive rate (good images kept)",
    "sharpness (AUC 0.875)",
    "colorfulness",
    "t=0.5",
  ]);
  // Threshold 0.5 keeps the scores ≥ 0.7: fpr 0.25, tpr 0.75 → (75, 75) in a 300 px square.
  assert.deepEqual(chosenRings(plot.svg), [[0.25 * size, (1 - 0.75) * size]]);
});

Deno.test("PR plot: chosen point, chance line at the prevalence, AP in the legend", async () => {
  const size = 200;
  const plot = await prPlot([{ name: "sharpness", curve: PR, area: 0.9, chosenThreshold: 0.4 }], {
    size,
    prevalence: 0.5,
  });
  await assertRendered(plot);
  assertTexts(plot.svg, [
    "Recall (share of good images kept)",
    "sharpness (AP 0.9)",
    "chance (prevalence 0.5)",
  ]);
  assert.deepEqual(chosenRings(plot.svg), [[1 * size, (1 - 0.6) * size]]);
  const explicit = await prPlot([{ name: "x", curve: PR, chosenPoint: { x: 0.5, y: 0.5 } }], { size });
  assert.deepEqual(chosenRings(explicit.svg), [[100, 100]]);
  await assert.rejects(rocPlot([]), PlotError);
});

Deno.test("threshold sweep: three lines with a legend and the chosen threshold as a rule", async () => {
  const points = [0, 10, 20, 30, 40].map((t, i) => ({
    threshold: t,
    precision: i === 4 ? NaN : 0.5 + i * 0.1,
    recall: 1 - i * 0.2,
    keptFraction: 1 - i * 0.22,
  }));
  const plot = await sweepPlot(points, {
    chosenThreshold: 20,
    thresholdTitle: "laplacian_var threshold (variance)",
  });
  await assertRendered(plot);
  assertTexts(plot.svg, [
    "laplacian_var threshold (variance)",
    "Share (0–1)",
    "Precision",
    "Recall",
    "Kept fraction",
    "chosen 20",
  ]);
  // The rule: a vertical line halfway across the 480 px data rectangle (20 of 0–40).
  const rule = /aria-roledescription="rule mark" transform="translate\(([\d.]+),0\)" x2="0" y2="300"/.exec(
    plot.svg,
  );
  assert.ok(rule, "rule mark present");
  assert.equal(Number(rule[1]), 240);
});

Deno.test("error counts: split on ';', zero counts for listed types, grouped bars with a legend", async () => {
  const counts = countErrorTypes(["blur;bad_face", " blur ; ", null, "garbled_text", ["blur", "blur"]], {
    types: ["bad_face", "blur", "other"],
  });
  assert.deepEqual(counts, [
    { type: "bad_face", count: 1 },
    { type: "blur", count: 3 },
    { type: "other", count: 0 },
    { type: "garbled_text", count: 1 },
  ]);
  const single = await errorCountsPlot(counts);
  await assertRendered(single);
  assertTexts(single.svg, ["Images", "bad_face", "blur", "other", "garbled_text", "3", "0"]);
  const grouped = await errorCountsPlot([
    ...countErrorTypes(["blur", "bad_face"], { group: "hand labels" }),
    ...countErrorTypes(["blur;blur", "blur"], { group: "rejected by filter" }),
  ], { sort: "count" });
  await assertRendered(grouped);
  assertTexts(grouped.svg, ["hand labels", "rejected by filter"]);
  await assert.rejects(errorCountsPlot([{ type: "x", count: -1 }]), PlotError);
});

async function solid(color: string, width = 60, height = 60): Promise<Uint8Array> {
  const buf = await sharp({ create: { width, height, channels: 3, background: color } }).png().toBuffer();
  return new Uint8Array(buf);
}

async function pixel(png: Uint8Array, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (Math.round(y) * info.width + Math.round(x)) * info.channels;
  return [data[i], data[i + 1], data[i + 2]];
}

function near(actual: number[], expected: number[], what: string): void {
  assert.ok(actual.every((v, i) => Math.abs(v - expected[i]) <= 12), `${what}: ${actual} ≠ ${expected}`);
}

Deno.test("contact sheet: expected size, each thumbnail in its cell, kept before rejected", async () => {
  const colors: Record<string, number[]> = {
    "#ff0000": [255, 0, 0],
    "#00ff00": [0, 255, 0],
    "#0000ff": [0, 0, 255],
    "#ffff00": [255, 255, 0],
  };
  const [red, green, blue, yellow] = await Promise.all(Object.keys(colors).map((c) => solid(c)));
  const wide = await solid("#0000ff", 120, 40);
  const options = { thumbSize: 80, columns: 2, title: "test <sheet>" };
  const sheet = await contactSheet({
    kept: [{ image: red, caption: "red" }, { image: green, caption: "green" }, { image: blue }],
    rejected: [{ image: yellow, reasons: "blur;bad_face" }, { image: wide, reasons: ["small_face"] }, {
      image: "/no/such/file.png",
    }],
  }, options);
  const layout = contactSheetLayout(3, 3, options);
  assert.deepEqual([sheet.width, sheet.height], [layout.width, layout.height]);
  assert.deepEqual(await pngSize(sheet.png), [12 + 80 + 12 + 80 + 12, layout.height]);
  const expected = [
    ["kept", 0, [255, 0, 0]],
    ["kept", 1, [0, 255, 0]],
    ["kept", 2, [0, 0, 255]],
    ["rejected", 0, [255, 255, 0]],
    ["rejected", 1, [0, 0, 255]],
  ] as const;
  for (const [section, index, rgb] of expected) {
    const cell = sheet.cells.find((c) => c.section === section && c.index === index)!;
    near(
      await pixel(sheet.png, cell.x + cell.size / 2, cell.y + cell.size / 2),
      [...rgb],
      `${section} ${index} centre`,
    );
  }
  // Grid: second kept image to the right of the first, third on the next row; rejected below kept.
  const [k0, k1, k2] = sheet.cells.slice(0, 3);
  assert.ok(k1.x > k0.x && k1.y === k0.y && k2.x === k0.x && k2.y > k0.y);
  assert.ok(sheet.cells[3].y > k2.y);
  // The wide image is fitted inside its box: grey above it, blue in the middle.
  const w = sheet.cells[4];
  near(await pixel(sheet.png, w.x + w.size / 2, w.y + 5), [238, 238, 238], "letterbox");
  // The unreadable file does not fail the sheet.
  assert.deepEqual(sheet.failed.map((f) => [f.section, f.index]), [["rejected", 2]]);
  near(
    await pixel(sheet.png, sheet.cells[5].x + 20, sheet.cells[5].y + 5),
    [221, 221, 221],
    "unreadable box",
  );
});

Deno.test("contact sheet captions: long names cut in the middle, reasons wrapped onto two lines", () => {
  assert.equal(cutMiddle("AIGText__Glyph-ByT5__teaser__cn_1", 15), "AIGText…r__cn_1");
  assert.equal(cutMiddle("short", 15), "short");
  assert.deepEqual(wrap("blur, bad_face, garbled_text", 16, 2), ["blur, bad_face,", "garbled_text"]);
  assert.deepEqual(wrap("a, b, c, d, e, f, g, h", 6, 2), ["a, b,", "c, d,…"]);
  const layout = contactSheetLayout(0, 45, { maxPerSection: 40 });
  assert.deepEqual(layout.headings.map((h) => h.text), [
    "Kept: 0 images",
    "Rejected: 45 images (first 40 shown)",
  ]);
  assert.equal(layout.cells.length, 40);
  assert.equal(layout.empty.length, 1);
});

Deno.test("HTML report: self-contained, every image embedded, all text escaped", async () => {
  const roc = await rocPlot([{ name: "a", curve: ROC, chosenThreshold: 0.7 }]);
  const sweep = await sweepPlot([{ threshold: 0, recall: 1 }, { threshold: 1, recall: 0 }]);
  const sheet = await contactSheet({ kept: [{ image: await solid("#ff0000") }], rejected: [] }, {
    thumbSize: 40,
  });
  const evil = '<script>alert("x")</script>';
  const report = {
    title: `Calibration ${evil}`,
    generatedAt: new Date("2025-01-02T03:04:05Z"),
    summary: { AUC: 0.91234, "threshold <t>": 120, heuristic: evil },
    sections: [
      { heading: "Curves", text: `First paragraph ${evil}\n\nSecond`, figures: [roc, sweep] },
      {
        heading: "Images",
        figures: [{ ...sheet, alt: "contact sheet", caption: `kept ${evil}` }],
        tables: [{ caption: "rows", rows: [{ path: evil, value: 1.5, kept: true, note: null }] }],
      },
    ],
  };
  const html = renderHtmlReport(report);
  assert.ok(!/<script/i.test(html), "no script element, escaped text only");
  assert.ok(html.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
  assert.ok(!/\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i.test(html), "no external URL in src/href");
  assert.ok(!/<link\b|@import|url\(/i.test(html), "no external stylesheets or CSS URLs");
  const uris = [...html.matchAll(/<img src="data:image\/png;base64,([^"]+)"/g)].map((m) => m[1]);
  assert.equal(uris.length, 3, "one data URI per figure");
  const decoded = Uint8Array.from(atob(uris[2]), (c) => c.charCodeAt(0));
  assert.deepEqual(decoded, sheet.png);
  assert.ok(html.includes("2025-01-02 03:04:05 UTC"));
  assert.ok(html.includes('<td class="num">0.9123</td>'));
  assert.ok(html.includes("<th>threshold &lt;t&gt;</th>"));
  assert.ok(html.includes(`<figcaption>kept ${escapeHtml(evil)}</figcaption>`));
  assert.ok(html.includes('<a href="#section-2">Images</a>'));
});

Deno.test("HTML report with inline SVG: ids made unique per figure, unsafe SVG falls back to PNG", async () => {
  const a = await rocPlot([{ name: "a", curve: ROC }]);
  const b = await rocPlot([{ name: "b", curve: ROC }]);
  const bad = { ...a, svg: a.svg.replace("<svg ", '<svg onload="alert(1)" ') };
  const html = renderHtmlReport({ title: "t", sections: [{ heading: "s", figures: [a, b, bad] }] }, {
    images: "svg",
  });
  assert.equal((html.match(/<svg\b/g) ?? []).length, 2);
  assert.equal((html.match(/<img src="data:image\/png/g) ?? []).length, 1);
  assert.ok(!html.includes("onload"));
  const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(ids.some((id) => id.startsWith("f1-")) && ids.some((id) => id.startsWith("f2-")));
  assert.equal(new Set(ids).size, ids.length, "no duplicate id");
  for (const m of html.matchAll(/url\(#([^)]+)\)/g)) {
    assert.ok(ids.includes(m[1]), `dangling reference ${m[1]}`);
  }
});
