/**
 * Face detector throughput on 1024-px images made from the six face-api demo photos, beside the
 * cost of decoding such an image with sharp.
 *
 * - group `detect`: one image per iteration on this thread, so `iter/s` is images/s of one core.
 * - group `pipeline`: the six JPEG files scored with only the `faces` heuristic by a `ScorePool`
 *   of one worker per core (decode + detect, as `deno task score --faces` runs them), six images
 *   per iteration: images/s = 6 × `iter/s` (printed at the end, with faces/s).
 *
 * Models load before timing starts.
 *
 *     ./deno bench -A bench/faces_bench.ts
 *
 * Targets on a 2-core machine: `ssd` ≥ 4 images/s, `tiny` and `blazeface` ≥ 10 images/s.
 *
 * @module
 */
import sharp from "sharp";
import { decodeBytes, type RgbImage } from "../lib/core/image.ts";
import { DETECTOR_NAMES, getDetector } from "../lib/models/faces/detector.ts";
import { ScorePool } from "../lib/score/pool.ts";

const DEMO = new URL("../node_modules/@vladmandic/face-api/demo/", import.meta.url);

sharp.concurrency(1);
const jpegs: Uint8Array[] = [];
const images: RgbImage[] = [];
for (let i = 1; i <= 6; i++) {
  const jpeg = await sharp(await Deno.readFile(new URL(`sample${i}.jpg`, DEMO)))
    .resize(1024, 1024, { fit: "inside" })
    .jpeg({ quality: 90 })
    .toBuffer();
  jpegs.push(new Uint8Array(jpeg));
  images.push(await decodeBytes(jpegs[i - 1]));
}
const dir = await Deno.makeTempDir({ prefix: "faces_bench_" });
const files = await Promise.all(jpegs.map(async (j, i) => {
  const f = `${dir}/sample${i + 1}_1024.jpg`;
  await Deno.writeFile(f, j);
  return f;
}));

let k = 0;
Deno.bench("decode a 1024-px JPEG (sharp, decodeBytes)", { group: "detect", baseline: true }, async () => {
  await decodeBytes(jpegs[k++ % jpegs.length]);
});

const detectors = await Promise.all(DETECTOR_NAMES.map((n) => getDetector(n)));
const perThread = new Map<string, { images: number; faces: number }>();
for (const d of detectors) {
  let i = 0;
  const counts = { images: 0, faces: 0 };
  perThread.set(d.name, counts);
  Deno.bench(`detect faces: ${d.name} (input long side ${d.inputSize})`, { group: "detect" }, async () => {
    const faces = await d.detect(images[i++ % images.length], { minConfidence: 0.5 });
    counts.images++;
    counts.faces += faces.length;
  });
}

const jobs = navigator.hardwareConcurrency ?? 1;
const pipeline = new Map<string, { images: number; faces: number; ms: number }>();
const pools: ScorePool[] = [];
for (const name of DETECTOR_NAMES) {
  const pool = new ScorePool({ jobs, heuristics: ["faces"], settings: { faces: { detector: name } } });
  pools.push(pool);
  // Every worker loads its model before timing starts.
  await Promise.all(Array.from({ length: 2 * jobs }, (_, i) => pool.score(files[i % files.length])));
  const stats = { images: 0, faces: 0, ms: 0 };
  pipeline.set(name, stats);
  Deno.bench(`score 6 files, faces only: ${name}, ${jobs} workers`, { group: "pipeline" }, async () => {
    const t0 = performance.now();
    const replies = await Promise.all(files.map((f) => pool.score(f)));
    stats.ms += performance.now() - t0;
    for (const r of replies) {
      if ("error" in r) throw new Error(r.error);
      stats.images++;
      stats.faces += r.values.face_count as number;
    }
  });
}

// The pools' workers would keep the process alive: the last bench closes them on its first run.
let closed = false;
Deno.bench("(close the pools)", { group: "zz" }, () => {
  if (closed) return;
  closed = true;
  for (const p of pools) p.close();
  Deno.removeSync(dir, { recursive: true });
});

globalThis.addEventListener("unload", () => {
  for (const [name, c] of perThread) {
    if (c.images) console.log(`${name}: ${(c.faces / c.images).toFixed(2)} faces per image`);
  }
  for (const [name, c] of pipeline) {
    if (!c.ms) continue;
    const s = c.ms / 1000;
    console.log(
      `pipeline ${name}: ${(c.images / s).toFixed(1)} images/s, ${(c.faces / s).toFixed(1)} faces/s ` +
        `(decode + detect, ${jobs} workers, ${c.images} images)`,
    );
  }
});
