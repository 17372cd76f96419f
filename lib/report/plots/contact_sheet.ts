/**
 * Contact sheet of kept versus rejected images: thumbnails in a grid, each captioned with its file
 * name and its reasons, in two sections. The quickest way to see what a threshold really throws
 * away. Built with sharp: thumbnails are composited onto a canvas and all text is one SVG overlay
 * drawn by librsvg (DejaVu Sans Mono, so captions can be cut to fit exactly).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { KEPT_COLOR, PlotError, REJECTED_COLOR } from "./render.ts";

/** One image on the sheet. */
export interface SheetImage {
  /** Image file path, or the encoded bytes of an image (PNG, JPEG, WebP, …). */
  image: string | Uint8Array;
  /** First caption line. Default the file name without folder and extension ("image" for bytes). */
  caption?: string;
  /** Second caption line: reasons (`reject_reasons`, types joined by `;`, or an array). */
  reasons?: string | readonly string[];
}

/** Which section a cell belongs to. */
export type SheetSection = "kept" | "rejected";

/** Options of {@link contactSheet} and {@link contactSheetLayout}. */
export interface ContactSheetOptions {
  /** Title drawn above both sections. Default none. */
  title?: string;
  /** Side of the square thumbnail box in pixels; images are fitted inside, keeping their aspect. Default 160. */
  thumbSize?: number;
  /** Thumbnails per row. Default 5. */
  columns?: number;
  /** Most images shown per section; the header says how many were left out. Default 40. */
  maxPerSection?: number;
  /** Section headings. Default "Kept" and "Rejected". */
  headings?: { kept?: string; rejected?: string };
}

/** Where one thumbnail box sits on the sheet (pixels). */
export interface SheetCell {
  section: SheetSection;
  /** Index of the image in its section's input list. */
  index: number;
  /** Thumbnail box (the image is fitted and centred inside it). */
  x: number;
  y: number;
  size: number;
}

/** Geometry of a sheet, computed before any image is read. */
export interface SheetLayout {
  width: number;
  height: number;
  cells: SheetCell[];
  /** Top of each section's heading band. */
  headings: { section: SheetSection; y: number; text: string }[];
  /** y of the "none" line of an empty section. */
  empty: { section: SheetSection; y: number }[];
}

/** A rendered contact sheet. */
export interface ContactSheet extends SheetLayout {
  png: Uint8Array;
  /** Images that could not be read (drawn as a crossed-out box), with the error message. */
  failed: { section: SheetSection; index: number; message: string }[];
}

const MARGIN = 12;
const GAP = 12;
const TITLE_BAND = 34;
const HEADING_BAND = 30;
const CAPTION_LINE = 15;
/** Caption: the name on one line, the reasons on up to two. */
const CAPTION_BAND = 3 * CAPTION_LINE + 4;
const EMPTY_BAND = 26;
/** DejaVu Sans Mono advance width (1233/2048 em). */
const MONO_EM = 0.602;
const CAPTION_FONT = 11;
const THUMB_BACKGROUND = { r: 238, g: 238, b: 238, alpha: 1 };

/**
 * Computes where everything goes on a sheet with `kept` and `rejected` images (counts as given;
 * `maxPerSection` applies). Pure: useful to find a thumbnail's cell without rendering.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contactSheetLayout } from "./contact_sheet.ts";
 * const layout = contactSheetLayout(3, 1, { thumbSize: 100, columns: 2 });
 * assert.equal(layout.width, 12 + 100 + 12 + 100 + 12);
 * assert.deepEqual(layout.cells.map((c) => c.section), ["kept", "kept", "kept", "rejected"]);
 * ```
 */
export function contactSheetLayout(
  kept: number,
  rejected: number,
  options: ContactSheetOptions = {},
): SheetLayout {
  const size = positiveInt("thumbSize", options.thumbSize ?? 160);
  const columns = positiveInt("columns", options.columns ?? 5);
  const max = positiveInt("maxPerSection", options.maxPerSection ?? 40);
  const width = 2 * MARGIN + columns * size + (columns - 1) * GAP;
  const cells: SheetCell[] = [];
  const headings: SheetLayout["headings"] = [];
  const empty: SheetLayout["empty"] = [];
  let y = MARGIN + (options.title ? TITLE_BAND : 0);
  const sections: [SheetSection, number, string][] = [
    ["kept", kept, options.headings?.kept ?? "Kept"],
    ["rejected", rejected, options.headings?.rejected ?? "Rejected"],
  ];
  for (const [section, total, name] of sections) {
    const shown = Math.min(total, max);
    const left = total - shown;
    const text = `${name}: ${total} image${total === 1 ? "" : "s"}` + (left ? ` (first ${shown} shown)` : "");
    headings.push({ section, y, text });
    y += HEADING_BAND;
    if (shown === 0) {
      empty.push({ section, y });
      y += EMPTY_BAND;
    }
    for (let i = 0; i < shown; i++) {
      const row = Math.floor(i / columns), col = i % columns;
      cells.push({
        section,
        index: i,
        x: MARGIN + col * (size + GAP),
        y: y + row * (size + CAPTION_BAND + GAP),
        size,
      });
    }
    if (shown > 0) y += Math.ceil(shown / columns) * (size + CAPTION_BAND + GAP);
    y += GAP;
  }
  return { width, height: y + MARGIN - GAP, cells, headings, empty };
}

/**
 * Draws a contact sheet: a "Kept" and a "Rejected" section, each a grid of thumbnails on light grey
 * boxes framed in blue (kept) or red (rejected), captioned with the file name and the reasons.
 * An image that cannot be read does not fail the sheet: its box is crossed out, its caption says
 * "unreadable", and it is listed in `failed`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import sharp from "sharp";
 * import { contactSheet } from "./contact_sheet.ts";
 * const red = await sharp({ create: { width: 40, height: 30, channels: 3, background: "#ff0000" } }).png().toBuffer();
 * const sheet = await contactSheet({
 *   kept: [{ image: new Uint8Array(red), caption: "a" }],
 *   rejected: [{ image: new Uint8Array(red), caption: "b", reasons: "blur;bad_face" }],
 * }, { thumbSize: 64, columns: 2 });
 * assert.equal((await sharp(sheet.png).metadata()).width, sheet.width);
 * ```
 */
export async function contactSheet(
  images: { kept: readonly SheetImage[]; rejected: readonly SheetImage[] },
  options: ContactSheetOptions = {},
): Promise<ContactSheet> {
  const layout = contactSheetLayout(images.kept.length, images.rejected.length, options);
  const failed: ContactSheet["failed"] = [];
  const svg: string[] = [];
  const composites: { input: Buffer; left: number; top: number }[] = [];
  const size = layout.cells[0]?.size ?? options.thumbSize ?? 160;
  const maxChars = Math.max(4, Math.floor(size / (CAPTION_FONT * MONO_EM)));

  await Promise.all(layout.cells.map(async (cell) => {
    const item = images[cell.section][cell.index];
    const color = cell.section === "kept" ? KEPT_COLOR : REJECTED_COLOR;
    svg.push(
      `<rect x="${cell.x - 2}" y="${cell.y - 2}" width="${size + 4}" height="${size + 4}" fill="none" ` +
        `stroke="${color}" stroke-width="2"/>`,
    );
    const stem = item.caption ?? captionOf(item.image);
    let reasons = reasonText(item.reasons);
    try {
      composites.push({ input: await thumbnail(item.image, size), left: cell.x, top: cell.y });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      failed.push({ section: cell.section, index: cell.index, message });
      reasons = "unreadable" + (reasons ? `; ${reasons}` : "");
      svg.push(
        `<rect x="${cell.x}" y="${cell.y}" width="${size}" height="${size}" fill="#dddddd"/>` +
          `<path d="M${cell.x} ${cell.y}L${cell.x + size} ${cell.y + size}M${
            cell.x + size
          } ${cell.y}L${cell.x} ${cell.y + size}" stroke="#999999" stroke-width="2"/>`,
      );
    }
    const ty = cell.y + size + 4;
    svg.push(text(cell.x, ty + 11, cutMiddle(stem, maxChars), "#222222"));
    wrap(reasons, maxChars, 2).forEach((line, i) => {
      svg.push(text(cell.x, ty + 11 + (i + 1) * CAPTION_LINE, line, REJECTED_COLOR));
    });
  }));

  const sans = "DejaVu Sans, sans-serif";
  if (options.title) {
    svg.push(
      `<text x="${MARGIN}" y="${MARGIN + 20}" font-family="${sans}" font-size="17" font-weight="bold" ` +
        `fill="#111111">${escapeXml(options.title)}</text>`,
    );
  }
  for (const h of layout.headings) {
    const color = h.section === "kept" ? KEPT_COLOR : REJECTED_COLOR;
    svg.push(
      `<rect x="${MARGIN}" y="${h.y + 4}" width="5" height="18" fill="${color}"/>` +
        `<text x="${MARGIN + 12}" y="${h.y + 19}" font-family="${sans}" font-size="14" font-weight="bold" ` +
        `fill="${color}">${escapeXml(h.text)}</text>`,
    );
  }
  for (const e of layout.empty) {
    svg.push(
      `<text x="${MARGIN + 12}" y="${e.y + 15}" font-family="${sans}" font-size="12" font-style="italic" ` +
        `fill="#777777">none</text>`,
    );
  }
  const overlay =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">` +
    svg.join("") + "</svg>";
  const buf = await sharp({
    create: { width: layout.width, height: layout.height, channels: 3, background: "#ffffff" },
  })
    .composite([...composites, { input: Buffer.from(overlay), left: 0, top: 0 }])
    .png()
    .toBuffer();
  failed.sort((a, b) => a.section.localeCompare(b.section) || a.index - b.index);
  return { ...layout, png: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), failed };
}

async function thumbnail(image: string | Uint8Array, size: number): Promise<Buffer> {
  // rotate(): apply EXIF orientation, as the score table's width/height do. "contain" centres the
  // fitted image on a light grey box, so the grid stays regular whatever the aspect ratio.
  return await sharp(image)
    .rotate()
    .flatten({ background: THUMB_BACKGROUND })
    .resize(size, size, { fit: "contain", background: THUMB_BACKGROUND })
    .png()
    .toBuffer();
}

function captionOf(image: string | Uint8Array): string {
  if (typeof image !== "string") return "image";
  const base = image.split(/[\\/]/).pop() ?? image;
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(0, dot) : base;
}

function reasonText(reasons: string | readonly string[] | undefined): string {
  if (reasons === undefined) return "";
  const list = typeof reasons === "string" ? reasons.split(";") : reasons;
  return list.map((r) => r.trim()).filter((r) => r !== "").join(", ");
}

/** Cuts out the middle: generated files often share a long prefix and differ at the end. */
export function cutMiddle(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  const head = Math.ceil((max - 1) / 2), tail = max - 1 - head;
  return chars.slice(0, head).join("") + "…" + (tail > 0 ? chars.slice(-tail).join("") : "");
}

/** Greedy word wrap at spaces into at most `lines` lines of `max` characters, the last cut with "…". */
export function wrap(s: string, max: number, lines: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of s.split(" ").filter((w) => w !== "")) {
    const next = line ? `${line} ${word}` : word;
    if ([...next].length <= max || !line) {
      line = next;
      continue;
    }
    out.push(line);
    line = word;
  }
  if (line) out.push(line);
  const kept = out.slice(0, lines);
  if (out.length > lines) kept[lines - 1] = kept[lines - 1] + " " + out.slice(lines).join(" ");
  return kept.map((l) => [...l].length <= max ? l : [...l].slice(0, max - 1).join("") + "…");
}

function text(x: number, y: number, s: string, color: string): string {
  return `<text x="${x}" y="${y}" font-family="DejaVu Sans Mono, monospace" font-size="${CAPTION_FONT}" ` +
    `fill="${color}" xml:space="preserve">${escapeXml(s)}</text>`;
}

/** Escapes text for SVG/XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}

function positiveInt(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new PlotError(`${name}: expected a positive integer, got ${value}`);
  }
  return value;
}
