/**
 * Throughput of the detector heuristics `hands`, `pose`, `objects` and `nsfw` on 1024-px images
 * made from the six face-api demo photos, one image per iteration on this thread, so `iter/s` is
 * images/s of one core (a `ScorePool` runs one worker per core). Each iteration builds a fresh
 * `ImageContext`, so nothing memoised is reused between iterations; `pose` includes its BlazeFace
 * pass and (with `countHands`) the hand detection. Models load before timing starts.
 *
 *     ./deno bench -A bench/detectors_bench.ts
 *
 * @module
 */
import sharp from "sharp";
import { decodeBytes, type RgbImage } from "../lib/core/image.ts";
import { ImageContext } from "../lib/heuristics/types.ts";
import type { Heuristic } from "../lib/heuristics/types.ts";
import { hands } from "../lib/heuristics/hands.ts";
import { pose } from "../lib/heuristics/pose.ts";
import { objects } from "../lib/heuristics/objects.ts";
import { nsfw } from "../lib/heuristics/nsfw.ts";
import { shippedPhotos } from "../lib/core/samples.ts";

sharp.concurrency(1);
const images: RgbImage[] = [];
for (const f of await shippedPhotos()) {
  const jpeg = await sharp(f).resize(1024, 1024, { fit: "inside" }).jpeg({ quality: 90 }).toBuffer();
  images.push(await decodeBytes(new Uint8Array(jpeg)));
}

const cases: [string, Heuristic, Record<string, Record<string, unknown>>][] = [
  ["hands (handtrack + handlandmark-lite)", hands, {}],
  ["pose without hands (BlazeFace + MoveNet per person)", pose, { pose: { countHands: false } }],
  ["pose with hands (extra-limb count)", pose, {}],
  ["objects (CenterNet 512)", objects, {}],
  ["nsfw (nsfwjs MobileNetV2 224)", nsfw, {}],
];

for (const [name, h, settings] of cases) {
  await h.compute(new ImageContext(images[0], { settings })); // load the models
  let i = 0;
  Deno.bench(name, { group: "detectors" }, async () => {
    await h.compute(new ImageContext(images[i++ % images.length], { settings }));
  });
}
