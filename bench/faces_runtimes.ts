/**
 * `ssd` on onnxruntime (`faces.runtime = "onnx"`) against face-api itself on TF.js, on the shipped
 * labeled images that have a labeled face (`data/labels/faces.csv`): the same 512 copy through both,
 * faces found at ≥ 0.1, and the largest score and box (copy pixels, before rounding) differences;
 * then `detect` (boxes in whole pixels of the original) at each of `--sizes`; then BlazeFace on
 * onnxruntime against Human on TF.js, on each image and on the 256×256 2× crop of each face SSD
 * finds at ≥ 0.3 (what `blaze_score` runs on), faces at ≥ 0.05.
 *
 *     ./deno run -A bench/faces_runtimes.ts [--images 134] [--sizes 384,512]
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as faceapi from "@vladmandic/face-api/dist/face-api.node-wasm.js";
import { decodeImage } from "../lib/core/image.ts";
import { scaledForDetection } from "../lib/models/tfjs.ts";
import { DEFAULT_MODEL_DIRS, getDetector } from "../lib/models/faces/detector.ts";
import { loadSsdOnnx } from "../lib/models/faces/ssd_onnx.ts";
import { loadFaceLabels, SHIPPED_FACE_LABELS } from "../lib/labels/format.ts";
import { DEFAULT_FIND_CONFIDENCE, DEFAULT_JUDGE_CONFIDENCE } from "../lib/heuristics/faces.ts";
import { BLAZE_CROP_MIN_CONFIDENCE, blazeCrop } from "../lib/heuristics/face_features.ts";
import type { RgbImage } from "../lib/core/image.ts";

const { values: o } = parseArgs({
  args: Deno.args,
  options: { images: { type: "string", default: "1000" }, sizes: { type: "string", default: "384,512" } },
});
const labels = (await loadFaceLabels(SHIPPED_FACE_LABELS, { checkFiles: true })).rows;
const images = [...new Set(labels.map((f) => f.path))].slice(0, Number(o.images));
const min = DEFAULT_FIND_CONFIDENCE;
await getDetector("ssd", { runtime: "tfjs" }); // TF.js' wasm backend and face-api's weights
const onnx = await loadSsdOnnx(DEFAULT_MODEL_DIRS.ssd, { threads: 1 });
let faces = 0, countDiffers = 0, score = 0, box = 0;
for (const path of images) {
  const s = await scaledForDetection(await decodeImage(path), 512);
  const x = faceapi.tf.tensor3d(Int32Array.from(s.data), [s.height, s.width, 3], "int32");
  const want = await faceapi.detectAllFaces(
    x,
    new faceapi.SsdMobilenetv1Options({ minConfidence: min, maxResults: 100 }),
  );
  x.dispose();
  const got = await onnx.locate(s, min);
  if (got.length !== want.length) countDiffers++;
  for (let i = 0; i < Math.min(got.length, want.length); i++) {
    faces++;
    score = Math.max(score, Math.abs(got[i].score - want[i].score));
    for (const k of ["x", "y", "width", "height"] as const) {
      box = Math.max(box, Math.abs(got[i].box[k] - want[i].box[k]));
    }
  }
}
console.log(
  `512 copies of ${images.length} images, ${faces} faces at ≥ ${min}: images whose face count differs ${countDiffers}, ` +
    `largest score difference ${score.toExponential(2)}, largest box difference ${box.toExponential(2)} px`,
);
for (const inputSize of o.sizes!.split(",").map(Number)) {
  const a = await getDetector("ssd", { inputSize, runtime: "onnx" });
  const b = await getDetector("ssd", { inputSize, runtime: "tfjs" });
  let n = 0, differs = 0, sc = 0, px = 0;
  for (const path of images) {
    const img = await decodeImage(path);
    const got = await a.detect(img, { minConfidence: min }),
      want = await b.detect(img, { minConfidence: min });
    if (got.length !== want.length) differs++;
    for (let i = 0; i < Math.min(got.length, want.length); i++) {
      n++;
      sc = Math.max(sc, Math.abs(got[i].confidence - want[i].confidence));
      for (const k of ["x", "y", "width", "height"] as const) {
        px = Math.max(px, Math.abs(got[i][k] - want[i][k]));
      }
    }
  }
  console.log(
    `detect at ${inputSize}: ${n} faces, images whose face count differs ${differs}, largest confidence difference ` +
      `${sc.toExponential(2)}, largest box difference ${px} px`,
  );
}

{
  const a = await getDetector("blazeface", { runtime: "onnx" });
  const b = await getDetector("blazeface", { runtime: "tfjs" });
  const ssd512 = await getDetector("ssd");
  let n = 0, crops = 0, differs = 0, sc = 0, px = 0, lm = 0;
  for (const path of images) {
    const img = await decodeImage(path);
    const inputs: RgbImage[] = [img];
    for (const f of await ssd512.detect(img, { minConfidence: DEFAULT_JUDGE_CONFIDENCE })) {
      inputs.push(await blazeCrop(img, f));
      crops++;
    }
    for (const im of inputs) {
      const got = await a.detect(im, { minConfidence: BLAZE_CROP_MIN_CONFIDENCE });
      const want = await b.detect(im, { minConfidence: BLAZE_CROP_MIN_CONFIDENCE });
      if (got.length !== want.length) differs++;
      for (let i = 0; i < Math.min(got.length, want.length); i++) {
        n++;
        sc = Math.max(sc, Math.abs(got[i].confidence - want[i].confidence));
        for (const k of ["x", "y", "width", "height"] as const) {
          px = Math.max(px, Math.abs(got[i][k] - want[i][k]));
        }
        for (const [j, p] of (want[i].landmarks ?? []).entries()) {
          lm = Math.max(lm, Math.hypot(p[0] - got[i].landmarks![j][0], p[1] - got[i].landmarks![j][1]));
        }
      }
    }
  }
  console.log(
    `blazeface on ${images.length} images and ${crops} face crops: ${n} faces at ≥ ${BLAZE_CROP_MIN_CONFIDENCE}, ` +
      `inputs whose face count differs ${differs}, largest score difference ${sc}, largest box difference ${px} px, ` +
      `largest landmark distance ${lm.toExponential(2)} px`,
  );
}
