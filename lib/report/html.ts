/**
 * A self-contained HTML report page: title, time of generation, a summary table, then sections of
 * text, figures (inline PNG data URIs or inline SVG) and tables. Nothing is loaded from anywhere:
 * no scripts, no external styles, fonts or images, and a Content-Security-Policy that forbids them,
 * so the file can be mailed, archived or opened offline and shows the same thing.
 *
 * @module
 */
import { WinnowError } from "../core/errors.ts";

/** A table cell. Numbers are shown with up to 4 significant digits; null/undefined as empty. */
export type Cell = string | number | boolean | null | undefined;

/** A figure: a rendered plot (`PlotOutput` fits) or any PNG/SVG image (a contact sheet fits). */
export interface ReportFigure {
  /** PNG bytes, embedded as a `data:image/png;base64` URI. */
  png?: Uint8Array;
  /** SVG text, inlined when the report asks for SVG (and the SVG has no script or external link). */
  svg?: string;
  /** Alternative text (what the figure shows). */
  alt?: string;
  /** Display size in CSS pixels (a PNG rendered at scale 2 shows at half its pixel size). */
  width?: number;
  height?: number;
  /** Caption under the figure. */
  caption?: string;
}

/** A table: rows as arrays (with `columns`) or as objects (columns default to the first row's keys). */
export interface ReportTable {
  caption?: string;
  columns?: readonly string[];
  rows: readonly (readonly Cell[] | Readonly<Record<string, Cell>>)[];
}

/** One section of the report, shown as heading, paragraphs, figures, tables in that order. */
export interface ReportSection {
  heading: string;
  /** Paragraphs (plain text; a string is split into paragraphs at blank lines). */
  text?: string | readonly string[];
  figures?: readonly ReportFigure[];
  tables?: readonly ReportTable[];
}

/** The content of a report page. */
export interface Report {
  title: string;
  /** Shown under the title. Default: now. */
  generatedAt?: Date;
  /** Short introduction under the title. */
  intro?: string;
  /** Key numbers at the top, e.g. `{ AUC: 0.91, threshold: 120 }` or `[["AUC", 0.91]]`. */
  summary?: Readonly<Record<string, Cell>> | readonly (readonly [string, Cell])[];
  sections: readonly ReportSection[];
}

/** Options of {@link renderHtmlReport}. */
export interface HtmlReportOptions {
  /** How figures with both forms are embedded: `"png"` (default; smallest, looks the same everywhere) or `"svg"`. */
  images?: "png" | "svg";
}

/** A report that cannot be rendered (a figure with neither PNG nor usable SVG). */
export class ReportError extends WinnowError {}

const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

const STYLE = `
body { font-family: "DejaVu Sans", Verdana, sans-serif; color: #222; max-width: 1000px; margin: 2em auto;
  padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.meta { color: #666; font-size: 0.9em; margin-top: 0; }
nav ol { padding-left: 1.4em; }
figure { margin: 1.2em 0; }
figure img, figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; margin-top: 0.3em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
`;

/**
 * Renders a report as one HTML document with everything embedded. All text (title, paragraphs,
 * captions, cells, alt text) is escaped, so names like `<script>` show as typed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderHtmlReport } from "./html.ts";
 * const html = renderHtmlReport({
 *   title: "Calibration <laplacian_var>",
 *   summary: { AUC: 0.9123, threshold: 120 },
 *   sections: [{ heading: "Scores", text: "Rows: 3", tables: [{ rows: [{ path: "a.png", value: 1.5 }] }] }],
 * });
 * assert.ok(html.includes("Calibration &lt;laplacian_var&gt;"));
 * assert.ok(html.includes("<td class=\"num\">0.9123</td>"));
 * ```
 */
export function renderHtmlReport(report: Report, options: HtmlReportOptions = {}): string {
  const images = options.images ?? "png";
  const generated = report.generatedAt ?? new Date();
  const out: string[] = [];
  out.push(
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(report.title)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    `<h1>${escapeHtml(report.title)}</h1>`,
    `<p class="meta">Generated <time datetime="${escapeHtml(generated.toISOString())}">${
      escapeHtml(generated.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC"))
    }</time></p>`,
  );
  if (report.intro) out.push(...paragraphs(report.intro));
  if (report.summary) {
    const pairs = Array.isArray(report.summary)
      ? report.summary as readonly (readonly [string, Cell])[]
      : Object.entries(report.summary);
    out.push(table({ caption: "Summary", columns: ["", ""], rows: pairs.map(([k, v]) => [k, v]) }, true));
  }
  if (report.sections.length > 1) {
    out.push("<nav><ol>");
    report.sections.forEach((s, i) =>
      out.push(`<li><a href="#section-${i + 1}">${escapeHtml(s.heading)}</a></li>`)
    );
    out.push("</ol></nav>");
  }
  let figures = 0;
  report.sections.forEach((s, i) => {
    out.push(`<section id="section-${i + 1}">`, `<h2>${escapeHtml(s.heading)}</h2>`);
    if (s.text !== undefined) out.push(...paragraphs(s.text));
    for (const f of s.figures ?? []) out.push(figure(f, images, s.heading, `f${++figures}-`));
    for (const t of s.tables ?? []) out.push(table(t, false));
    out.push("</section>");
  });
  out.push("</body>", "</html>", "");
  return out.join("\n");
}

/**
 * Escapes text for HTML content and attribute values (`&`, `<`, `>`, `"`, `'`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./html.ts";
 * assert.equal(escapeHtml('<script>alert("x")</script>'), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
 * ```
 */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

function paragraphs(text: string | readonly string[]): string[] {
  const list = typeof text === "string" ? text.split(/\n\s*\n/) : text;
  return list.map((p) => p.trim()).filter((p) => p !== "").map((p) => `<p>${escapeHtml(p)}</p>`);
}

function figure(f: ReportFigure, images: "png" | "svg", context: string, idPrefix: string): string {
  const alt = escapeHtml(f.alt ?? f.caption ?? context);
  const size = (f.width ? ` width="${Math.round(f.width)}"` : "") +
    (f.height ? ` height="${Math.round(f.height)}"` : "");
  let body: string;
  const svgOk = f.svg !== undefined && safeSvg(f.svg);
  if (svgOk && (images === "svg" || !f.png)) {
    const svg = prefixIds(f.svg!.replace(/^\s*<\?xml[^>]*\?>\s*/, ""), idPrefix);
    body = svg.replace(/^<svg\b/, `<svg role="img" aria-label="${alt}"`);
  } else if (f.png) {
    body = `<img src="data:image/png;base64,${base64(f.png)}" alt="${alt}"${size}>`;
  } else {
    throw new ReportError(
      `figure "${
        f.alt ?? f.caption ?? context
      }": expected PNG bytes or an SVG without scripts or external links`,
    );
  }
  const caption = f.caption ? `<figcaption>${escapeHtml(f.caption)}</figcaption>` : "";
  return `<figure>${body}${caption}</figure>`;
}

/**
 * Inline SVGs share the page's id space: vega names its clip paths `clip1`, `clip2`, … in every
 * plot, so a second plot would clip with the first one's rectangles. Prefix every id and reference.
 */
function prefixIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id) => `id="${prefix}${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id) => `url(#${prefix}${id})`)
    .replace(/\bhref="#([^"]+)"/g, (_, id) => `href="#${prefix}${id}"`);
}

/** An SVG we are willing to inline: no scripts, no event handlers, no foreign objects, no external links. */
function safeSvg(svg: string): boolean {
  return /^\s*(<\?xml[^>]*\?>\s*)?<svg\b/.test(svg) &&
    !/<script|<foreignObject|\son\w+\s*=|(?:xlink:)?href\s*=\s*["']?\s*(?!#|data:)/i.test(svg);
}

function table(t: ReportTable, summary: boolean): string {
  const first = t.rows[0];
  const columns = t.columns ?? (first && !Array.isArray(first) ? Object.keys(first) : []);
  const out: string[] = ["<table>"];
  if (t.caption) out.push(`<caption>${escapeHtml(t.caption)}</caption>`);
  if (!summary && columns.length) {
    out.push(`<thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead>`);
  }
  out.push("<tbody>");
  for (const row of t.rows) {
    const cells: readonly Cell[] = Array.isArray(row)
      ? row as readonly Cell[]
      : columns.map((c) => (row as Readonly<Record<string, Cell>>)[c]);
    const html = cells.map((v, i) =>
      summary && i === 0
        ? `<th>${escapeHtml(String(v ?? ""))}</th>`
        : typeof v === "number"
        ? `<td class="num">${escapeHtml(formatCell(v))}</td>`
        : `<td>${escapeHtml(formatCell(v))}</td>`
    );
    out.push(`<tr>${html.join("")}</tr>`);
  }
  out.push("</tbody>", "</table>");
  return out.join("\n");
}

function formatCell(v: Cell): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
    return String(Number(v.toPrecision(4)));
  }
  return String(v);
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
