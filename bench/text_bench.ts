/**
 * OCR throughput (PaddleOCR PP-OCRv4 detection + recognition, `lib/models/ocr/paddle.ts`) on rendered
 * posters of 640² and 1024² (six lines of English text each), beside the cost of decoding such an
 * image with sharp. One image per iteration on this thread, so `iter/s` is images/s; onnxruntime
 * runs with 1 thread (as inside a score worker) and with 2 (every core of the target machine).
 *
 * - `detect`: detection only (resize + normalise, DB network, post-processing), at the image's
 *   own size (PaddleOCR's `max 960` rule does not shrink 640², shrinks 1024² to 960²).
 * - `read`: detection + recognition of every box (what the `text` heuristic runs; its default
 *   `min 736` rule enlarges 640² to 736² and leaves 1024² as it is).
 *
 * Models load before timing starts.
 *
 *     ./deno bench -A bench/text_bench.ts
 *
 * @module
 */
import sharp from "sharp";
import { decodeBytes, type RgbImage } from "../lib/core/image.ts";
import { getPaddleOcr } from "../lib/models/ocr/paddle.ts";
import { DEFAULT_TEXT_LIMIT } from "../lib/heuristics/text.ts";

sharp.concurrency(1);

const LINES = [
  "Grand Opening Sale",
  "Fresh bread every morning",
  "Open daily from nine to six",
  "Coffee, tea and pastries",
  "Visit our garden terrace",
  "Since 1987",
];

async function poster(size: number): Promise<Uint8Array> {
  const fs = Math.round(size / 16);
  const text = LINES.map((l, i) =>
    `<text x="${fs}" y="${Math.round((i + 1.5) * size / 8)}" font-family="DejaVu Sans" font-size="${fs}" ` +
    `fill="#202020">${l}</text>`
  ).join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">` +
    `<rect width="100%" height="100%" fill="#efe6d2"/>${text}</svg>`;
  return new Uint8Array(await sharp(new TextEncoder().encode(svg)).jpeg({ quality: 90 }).toBuffer());
}

const sizes = [640, 1024];
const jpegs = new Map<number, Uint8Array>();
const images = new Map<number, RgbImage>();
for (const s of sizes) {
  jpegs.set(s, await poster(s));
  images.set(s, await decodeBytes(jpegs.get(s)!));
}

for (const threads of [1, 2]) {
  const ocr = await getPaddleOcr({ threads });
  for (const s of sizes) {
    const img = images.get(s)!;
    const lines = await ocr.read(img, DEFAULT_TEXT_LIMIT);
    if (lines.length < LINES.length) {
      throw new Error(`${s}²: expected ${LINES.length} lines, read ${lines.length}`);
    }
    if (threads === 1) {
      Deno.bench(`decode a ${s}² JPEG (sharp, decodeBytes)`, { group: `${s}`, baseline: true }, async () => {
        await decodeBytes(jpegs.get(s)!);
      });
    }
    Deno.bench(`detect ${s}² (max 960), ${threads} thread(s)`, { group: `${s}` }, async () => {
      await ocr.detect(img);
    });
    Deno.bench(
      `detect + recognise ${s}² (text heuristic: min 736), ${threads} thread(s)`,
      { group: `${s}` },
      async () => {
        await ocr.read(img, DEFAULT_TEXT_LIMIT);
      },
    );
  }
}
