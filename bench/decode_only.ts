/**
 * The floor `deno task score` is measured against: a script that only decodes every image of the
 * given folders with sharp (raw RGB, EXIF orientation applied), one lane per core, and exits.
 * `bench/run.ts` times it as a whole process, start-up included, beside a whole score run.
 *
 *     ./deno run --allow-read --allow-env --allow-ffi --allow-sys bench/decode_only.ts FOLDER...
 *
 * @module
 */
import sharp from "sharp";
import { listImages } from "../lib/core/files.ts";

const { files } = await listImages(Deno.args);
const lanes = navigator.hardwareConcurrency;
sharp.concurrency(lanes);
let next = 0, bytes = 0;
const lane = async () => {
  while (next < files.length) {
    const buf = await sharp(files[next++]).autoOrient().toColourspace("srgb").raw().toBuffer();
    bytes += buf.length;
  }
};
await Promise.all(Array.from({ length: lanes }, lane));
console.log(JSON.stringify({ images: files.length, bytes }));
