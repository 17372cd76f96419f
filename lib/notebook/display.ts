/**
 * Showing things in a Deno Jupyter notebook so that nothing is lost: tables, markdown, plots and
 * images as display bundles that every front end (JupyterLab, `nbconvert --to html`) can render.
 *
 * Why not a bare last expression or a plain `Deno.jupyter.display`: the Deno kernel (2.9.6) sends
 * the "idle" status before the cell's last display message has gone out, and `nbconvert --execute`
 * drops whatever arrives after "idle". Measured here: with two awaited displays per cell, about one
 * cell in ten lost its last output; with a short pause after each display, none did (60 cells).
 * Every function below awaits the display and then {@link settle}s.
 *
 * @module
 */
import { escapeHtml } from "../report/html.ts";
import { base64, jupyterBundle, type PlotOutput } from "../report/plots/render.ts";

/** A display bundle: MIME type → data (`text/plain` always present). */
export type DisplayBundle = Record<string, unknown>;

/** Something that shows a bundle; default the kernel's `Deno.jupyter.display(bundle, { raw: true })`. */
export type DisplayFn = (bundle: DisplayBundle) => Promise<void>;

/** Milliseconds to wait after a display so that it reaches the front end before "idle". */
export const SETTLE_MS = 80;

/** Waits {@link SETTLE_MS} (or `ms`) so that display messages sent so far leave the kernel. */
export function settle(ms = SETTLE_MS): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function kernelDisplay(): DisplayFn {
  const jupyter = (Deno as unknown as {
    jupyter?: { display(b: DisplayBundle, o: { raw: boolean }): Promise<void> };
  }).jupyter;
  if (!jupyter) {
    throw new Error("this needs a Deno Jupyter kernel (Deno.jupyter is not defined): run it in a notebook");
  }
  return (b) => jupyter.display(b, { raw: true });
}

/** Shows a bundle and settles. */
export async function show(bundle: DisplayBundle, display: DisplayFn = kernelDisplay()): Promise<void> {
  await display(bundle);
  await settle();
}

/** A cell value for tables: numbers to 4 significant digits, null/undefined as empty. */
export type TableCell = string | number | boolean | null | undefined;

/** Options of {@link tableBundle} and {@link showTable}. */
export interface TableOptions {
  /** Columns in order (default: the keys of the first row). */
  columns?: readonly string[];
  /** Shown above the table. */
  caption?: string;
  /** Most rows shown; a last line says how many were left out. Default 30. */
  maxRows?: number;
}

function cellText(v: TableCell): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
    return String(Number(v.toPrecision(4)));
  }
  return String(v);
}

/**
 * A table as a display bundle: `text/html` (escaped) and a `text/plain` tab-separated copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableBundle } from "./display.ts";
 * const b = tableBundle([{ path: "<a>.jpg", auc: 0.912345 }, { path: "b.jpg", auc: null }], { caption: "AUC" });
 * assert.ok(String(b["text/html"]).includes("<td>&lt;a&gt;.jpg</td><td class=\"num\">0.9123</td>"));
 * assert.equal(b["text/plain"], "AUC\npath\tauc\n<a>.jpg\t0.9123\nb.jpg\t");
 * ```
 */
export function tableBundle(rows: readonly Record<string, TableCell>[], o: TableOptions = {}): DisplayBundle {
  const columns = o.columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  const max = o.maxRows ?? 30;
  const shown = rows.slice(0, max);
  const more = rows.length - shown.length;
  const html = [
    '<table class="winnow-table">',
    o.caption ? `<caption style="text-align:left;font-weight:bold">${escapeHtml(o.caption)}</caption>` : "",
    `<thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead>`,
    "<tbody>",
    ...shown.map((r) =>
      `<tr>${
        columns.map((c) =>
          typeof r[c] === "number"
            ? `<td class="num">${escapeHtml(cellText(r[c]))}</td>`
            : `<td>${escapeHtml(cellText(r[c]))}</td>`
        ).join("")
      }</tr>`
    ),
    "</tbody>",
    "</table>",
    more > 0 ? `<p><i>… ${more} more row${more === 1 ? "" : "s"} not shown</i></p>` : "",
  ].filter((s) => s !== "").join("\n");
  const plain = [
    ...(o.caption ? [o.caption] : []),
    columns.join("\t"),
    ...shown.map((r) => columns.map((c) => cellText(r[c])).join("\t")),
    ...(more > 0 ? [`… ${more} more rows`] : []),
  ].join("\n");
  return { "text/html": html, "text/plain": plain };
}

/** Shows a table (see {@link tableBundle}). */
export async function showTable(
  rows: readonly Record<string, TableCell>[],
  o: TableOptions = {},
  display?: DisplayFn,
): Promise<void> {
  await show(tableBundle(rows, o), display);
}

/**
 * Markdown as a display bundle (rendered by JupyterLab and by `nbconvert --to html`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdownBundle } from "./display.ts";
 * assert.deepEqual(markdownBundle("**Data:** shared"), { "text/markdown": "**Data:** shared", "text/plain": "**Data:** shared" });
 * ```
 */
export function markdownBundle(text: string): DisplayBundle {
  return { "text/markdown": text, "text/plain": text };
}

/** Shows markdown text, e.g. a sentence with numbers computed in the cell. */
export async function showMarkdown(text: string, display?: DisplayFn): Promise<void> {
  await show(markdownBundle(text), display);
}

/** Shows a rendered plot: vega-lite spec, SVG and PNG in one bundle (`jupyterBundle`). */
export async function showPlot(plot: PlotOutput, display?: DisplayFn): Promise<void> {
  await show(jupyterBundle(plot), display);
}

/**
 * A PNG image (a contact sheet, a saliency overlay) as a display bundle; `width` sets the displayed
 * width in CSS pixels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageBundle } from "./display.ts";
 * const b = imageBundle(new Uint8Array([137, 80, 78, 71]), "four bytes", 300);
 * assert.equal(b["image/png"], "iVBORw==");
 * assert.deepEqual(b["metadata"], undefined);
 * ```
 */
export function imageBundle(png: Uint8Array, alt: string, width?: number): DisplayBundle {
  const b: DisplayBundle = { "image/png": base64(png), "text/plain": alt };
  if (width !== undefined) {
    b["text/html"] = `<img src="data:image/png;base64,${b["image/png"]}" alt="${escapeHtml(alt)}" width="${
      Math.round(width)
    }">`;
  }
  return b;
}

/** Shows a PNG image (see {@link imageBundle}). */
export async function showImage(
  png: Uint8Array,
  alt: string,
  o: { width?: number } = {},
  display?: DisplayFn,
) {
  await show(imageBundle(png, alt, o.width), display);
}
