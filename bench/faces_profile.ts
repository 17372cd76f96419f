/**
 * Where the time of `score --faces` goes: CPU milliseconds per image of each stage of the `faces`
 * heuristic, one thread, over the same spread-out subset of the shipped labeled images as
 * `deno task bench --parts models` (every k-th of 312), two rounds, the second reported.
 *
 *     ./deno run -A bench/faces_profile.ts [--images 12]
 *
 * Stages: decode; the 512 copy (libvips); its tensor; the SSD network (face-api's forward pass,
 * boxes and NMS) on TF.js; the same SSD on onnxruntime (`ssd_onnx.ts`, one intra-op thread: its
 * input, forward pass, boxes and NMS); then (BlazeFace on TF.js through Human, and on onnxruntime,
 * `blazeface_onnx.ts`, for the judged faces) per face found at 0.1: the pure crop measures, BlazeFace on the 2× crop and
 * the landmark net (on all faces, one by one, and on the faces found at ≥ 0.3 only, in one batch,
 * as the heuristic does by default). Also prints whether TF.js' wasm backend runs with SIMD and
 * with threads.
 *
 * @module
 */
import process from "node:process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as faceapi from "@vladmandic/face-api/dist/face-api.node-wasm.js";
import { listImages } from "../lib/core/files.ts";
import { SHIPPED_LABELS_DIR } from "../lib/labels/format.ts";
import { decodeImage } from "../lib/core/image.ts";
import { scaledForDetection } from "../lib/models/tfjs.ts";
import { DEFAULT_MODEL_DIRS, getDetector } from "../lib/models/faces/detector.ts";
import { loadSsdOnnx } from "../lib/models/faces/ssd_onnx.ts";
import { markOneCoreWorker } from "../lib/core/threads.ts";
import {
  blazeCropScore,
  cropMeasures,
  cropRgb,
  landmarkDistance,
  landmarkDistances,
} from "../lib/heuristics/face_features.ts";
import { DEFAULT_FIND_CONFIDENCE, DEFAULT_JUDGE_CONFIDENCE } from "../lib/heuristics/faces.ts";
import sharp from "sharp";

const { values: o } = parseArgs({ args: Deno.args, options: { images: { type: "string", default: "12" } } });
sharp.concurrency(1);
const { files: all } = await listImages([join(SHIPPED_LABELS_DIR, "images")]);
const n = Math.min(Number(o.images), all.length);
const files = Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]);
await getDetector("ssd", { runtime: "tfjs" }); // starts TF.js' wasm backend and loads face-api's SSD
const ssd = await loadSsdOnnx(DEFAULT_MODEL_DIRS.ssd, { threads: 1 });
markOneCoreWorker(); // onnxruntime on one thread, as in a score worker
const tf = faceapi.tf as unknown as typeof faceapi.tf & {
  getBackend(): string;
  env(): { getAsync(flag: string): Promise<unknown> };
};
const env = tf.env();
console.log(
  `tfjs backend ${tf.getBackend()}, SIMD ${await env.getAsync("WASM_HAS_SIMD_SUPPORT")}, threads ${await env
    .getAsync("WASM_HAS_MULTITHREAD_SUPPORT")}`,
);
const acc: Record<string, number> = {};
const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
async function t<T>(k: string, f: () => Promise<T> | T): Promise<T> {
  const c0 = cpu();
  const r = await f();
  acc[k] = (acc[k] ?? 0) + cpu() - c0;
  return r;
}
let found = 0, judged = 0;
for (let round = 0; round < 2; round++) {
  for (const k in acc) acc[k] = 0;
  found = judged = 0;
  for (const f of files) {
    const img = await t("decode", () => decodeImage(f));
    const s = await t("512 copy (libvips)", () => scaledForDetection(img, 512));
    const x = await t("tensor", () => tf.tensor3d(Int32Array.from(s.data), [s.height, s.width, 3], "int32"));
    await t(
      "SSD network + boxes",
      () =>
        faceapi.detectAllFaces(x, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.1, maxResults: 100 })),
    );
    x.dispose();
    await t("SSD on onnxruntime (input, network, boxes, NMS)", () => ssd.locate(s, DEFAULT_FIND_CONFIDENCE));
    const faces = await ssd.detect(img, { minConfidence: DEFAULT_FIND_CONFIDENCE });
    const sure = faces.filter((b) => b.confidence >= DEFAULT_JUDGE_CONFIDENCE);
    found += faces.length;
    judged += sure.length;
    for (const b of faces) {
      await t("crop measures, every face", () => cropMeasures(cropRgb(img, b)));
      await t("BlazeFace 2× crop, every face, TF.js", () => blazeCropScore(img, b, undefined, "tfjs"));
      await t("landmarks one by one, every face", () => landmarkDistance(img, b));
    }
    for (const b of sure) {
      await t("BlazeFace 2× crop, faces ≥ 0.3, TF.js", () => blazeCropScore(img, b, undefined, "tfjs"));
    }
    for (const b of sure) {
      await t("BlazeFace 2× crop, faces ≥ 0.3, onnxruntime", () => blazeCropScore(img, b, undefined, "onnx"));
    }
    await t("landmarks batched, faces ≥ 0.3", () => landmarkDistances(img, sure));
  }
}
console.log(`${n} images, ${found} faces found at ≥ 0.1, ${judged} at ≥ 0.3`);
console.log("| stage | CPU ms/image |\n| --- | --- |");
for (const [k, v] of Object.entries(acc)) console.log(`| ${k} | ${(v / n).toFixed(1)} |`);
