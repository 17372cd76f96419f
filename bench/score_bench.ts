/**
 * Throughput of the pure heuristic suite on 1024×1024 JPEGs next to sharp's decode alone, in one
 * run. Images come from the photos shipped in @vladmandic/face-api (cropped to 1024², quality 90).
 *
 *   ./deno task bench
 *
 * Each iteration handles all IMAGES files; images/s = IMAGES / (time per iteration).
 */
import sharp from "sharp";
import { join } from "node:path";
import { shippedPhotos } from "../lib/core/samples.ts";
import { decodeImage } from "../lib/core/image.ts";
import { scoreImage } from "../lib/score/score_image.ts";
import { scoreFiles } from "../lib/score/batch.ts";
import { ScorePool } from "../lib/score/pool.ts";
import { resolveHeuristics } from "../lib/heuristics/registry.ts";
import type { ResultTable } from "../lib/score/results.ts";

const IMAGES = 16;
const dir = await Deno.makeTempDir({ prefix: "winnow-bench-" });
const photos = await shippedPhotos();
const files: string[] = [];
for (let i = 0; i < IMAGES; i++) {
  const f = join(dir, `img${i}.jpg`);
  const p = photos[i % photos.length];
  // Different crops so no two files are identical.
  await sharp(p).resize(1088, 1088, { fit: "cover" })
    .extract({ left: 32 * (i % 3), top: 16 * (i % 2), width: 1024, height: 1024 })
    .jpeg({ quality: 90 }).toBuffer().then((b) => Deno.writeFile(f, b));
  files.push(f);
}
const decoded = await Promise.all(files.map((f) => decodeImage(f)));
const heuristics = resolveHeuristics().map((h) => h.name);
const nullTable = (): ResultTable => ({
  format: "csv",
  done: new Set(),
  write: () => Promise.resolve(),
  close: () => Promise.resolve(),
});

sharp.concurrency(1);
const pool = new ScorePool({ heuristics });
await scoreFiles(files, nullTable(), { pool }); // warm the workers up once

Deno.bench({
  name: `sharp decode alone, 1 thread (${IMAGES} images)`,
  group: "one thread",
  baseline: true,
  async fn() {
    for (const f of files) await sharp(f).autoOrient().toColourspace("srgb").raw().toBuffer();
  },
});

Deno.bench({
  name: `decode + pure suite, 1 thread (${IMAGES} images)`,
  group: "one thread",
  async fn() {
    for (const f of files) await scoreImage(await decodeImage(f), { heuristics });
  },
});

Deno.bench({
  name: `pure suite on decoded pixels, 1 thread (${IMAGES} images)`,
  group: "one thread",
  async fn() {
    for (const img of decoded) await scoreImage(img, { heuristics });
  },
});

Deno.bench({
  name: `sharp decode alone, ${navigator.hardwareConcurrency} parallel (${IMAGES} images)`,
  group: "all cores",
  baseline: true,
  async fn() {
    sharp.concurrency(navigator.hardwareConcurrency);
    let next = 0;
    const lane = async () => {
      while (next < files.length) {
        await sharp(files[next++]).autoOrient().toColourspace("srgb").raw().toBuffer();
      }
    };
    await Promise.all(Array.from({ length: navigator.hardwareConcurrency }, lane));
    sharp.concurrency(1);
  },
});

Deno.bench({
  name: `score batch on ${navigator.hardwareConcurrency} workers (${IMAGES} images)`,
  group: "all cores",
  async fn() {
    await scoreFiles(files, nullTable(), { pool });
  },
});
