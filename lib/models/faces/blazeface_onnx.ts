/**
 * Human's BlazeFace (`blazeface.json`, a TF.js graph model) on onnxruntime-node: the same weights,
 * converted at load time (`tfjs_graph_onnx.ts`), with Human's input handling (bilinear resize to
 * 256×256, `x / 127.5 − 1`), box decoding (anchors of strides 16 and 32), TF's non-maximum
 * suppression (IoU 0.1, at most 100) and box post-processing (scale 1.0, squared, rounded;
 * confidence rounded to 0.01) repeated in JavaScript, as `human.ts` configures Human. Use it
 * through `getDetector("blazeface", { runtime: "onnx" })`.
 *
 * @module
 */
import type * as Ort from "onnxruntime-node";
import { join } from "node:path";
import { tfjsGraphToOnnx } from "../tfjs_graph_onnx.ts";
import { mapBack, requireFiles, scaledForDetection } from "../tfjs.ts";
import { ModelFileError } from "../store.ts";
import { DEFAULT_MIN_CONFIDENCE, type Face, type FaceDetector, sortFaces } from "./types.ts";
import { BLAZEFACE_BOX_SCALE, BLAZEFACE_INPUT_SIZE, BLAZEFACE_MODEL_FILES } from "./human.ts";
import type { RgbImage } from "../../core/image.ts";
import { defaultNativeThreads } from "../../core/threads.ts";
import { cornerIou } from "../../core/geometry.ts";

const SIDE = 256;
const IOU_THRESHOLD = 0.1;
const MAX_DETECTED = 100;

/** Human's BlazeFace anchors for a 256 input: strides 16 (2 per cell) and 32 (6 per cell), [x, y]. */
function anchors(): [number, number][] {
  const out: [number, number][] = [];
  for (const [stride, k] of [[SIDE / 16, 2], [SIDE / 8, 6]]) {
    const cells = Math.floor((SIDE + stride - 1) / stride);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let n = 0; n < k; n++) out.push([stride * (x + 0.5), stride * (y + 0.5)]);
      }
    }
  }
  return out;
}

/** TF's bilinear resize (no corner alignment, no half-pixel centres) to SIDE×SIDE, as NCHW −1..1. */
function blazeInput(img: RgbImage): Float32Array {
  const { width: w, height: h, data } = img;
  const f = Math.fround;
  const plane = SIDE * SIDE;
  const out = new Float32Array(3 * plane);
  if (w === SIDE && h === SIDE) {
    // Same size: the resize gives every pixel back (TF's scale 1, fractions 0).
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) out[c * plane + i] = f(f(data[3 * i + c] / 127.5) - 1);
    }
    return out;
  }
  const sy = f(h / SIDE), sx = f(w / SIDE);
  for (let r = 0; r < SIDE; r++) {
    const fyS = f(sy * r);
    const y0 = Math.floor(fyS), y1 = Math.min(h - 1, Math.ceil(fyS)), fy = f(fyS - y0);
    for (let q = 0; q < SIDE; q++) {
      const fxS = f(sx * q);
      const x0 = Math.floor(fxS), x1 = Math.min(w - 1, Math.ceil(fxS)), fx = f(fxS - x0);
      for (let c = 0; c < 3; c++) {
        const tl = data[(y0 * w + x0) * 3 + c], tr = data[(y0 * w + x1) * 3 + c];
        const bl = data[(y1 * w + x0) * 3 + c], br = data[(y1 * w + x1) * 3 + c];
        const top = f(tl + f(f(tr - tl) * fx)), bottom = f(bl + f(f(br - bl) * fx));
        const v = f(top + f(f(bottom - top) * fy));
        out[c * plane + r * SIDE + q] = f(f(v / 127.5) - 1);
      }
    }
  }
  return out;
}

/** TF's `nonMaxSuppression` (hard, score threshold exclusive), boxes `[x0, y0, x1, y1]`. */
function tfNms(
  boxes: Float32Array,
  scores: Float32Array,
  max: number,
  iou: number,
  minScore: number,
): number[] {
  const cand: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i] > minScore) cand.push(i);
  cand.sort((a, b) => scores[b] - scores[a] || a - b);
  const selected: number[] = [];
  for (const c of cand) {
    if (selected.length >= max) break;
    let keep = true;
    for (let j = selected.length - 1; j >= 0; j--) {
      if (cornerIou(boxes, c, selected[j]) > iou) {
        keep = false;
        break;
      }
    }
    if (keep) selected.push(c);
  }
  return selected;
}

/**
 * Loads BlazeFace from `modelDir` onto onnxruntime (uncached: call `getDetector`). A missing or
 * damaged model file is a {@link ModelFileError} naming it.
 *
 * @example
 * ```ts ignore
 * import { loadBlazeFaceOnnx } from "./blazeface_onnx.ts";
 * const blazeface = await loadBlazeFaceOnnx("node_modules/@vladmandic/human/models/");
 * ```
 */
export async function loadBlazeFaceOnnx(
  modelDir: string,
  options: { threads?: number } = {},
): Promise<FaceDetector> {
  await requireFiles("blazeface", modelDir, BLAZEFACE_MODEL_FILES);
  const file = join(modelDir, BLAZEFACE_MODEL_FILES[0]);
  const g = await tfjsGraphToOnnx(modelDir, BLAZEFACE_MODEL_FILES[0], [1, 3, SIDE, SIDE]);
  const ort = await import("onnxruntime-node");
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(g.bytes, {
      intraOpNumThreads: options.threads ?? defaultNativeThreads(),
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    });
  } catch (e) {
    const msg = ((e as Error).message ?? String(e)).split("\n")[0];
    throw new ModelFileError(file, `the BlazeFace graph converted from this model does not load: ${msg}`);
  }
  const anchor = anchors();
  const f = Math.fround;

  async function raw(s: RgbImage, minConfidence: number) {
    const out = await session.run({
      [g.input]: new ort.Tensor("float32", blazeInput(s), [1, 3, SIDE, SIDE]),
    });
    // Human's order: outputs sorted by size; [scores 512 | regressors 512] then [scores 384 | regressors 384].
    const t = g.outputs.map((k) => out[k]).sort((a, b) => a.data.length - b.data.length);
    const [cls384, cls512, reg384, reg512] = t.map((x) => x.data as Float32Array);
    if (!cls384 || cls384.length + cls512.length !== anchor.length || reg512.length !== 16 * cls512.length) {
      throw new ModelFileError(file, `unexpected outputs: ${t.map((x) => x.dims.join("×")).join(", ")}`);
    }
    const n = anchor.length;
    const logits = new Float32Array(n), reg = new Float32Array(16 * n);
    logits.set(cls512, 0), logits.set(cls384, cls512.length);
    reg.set(reg512, 0), reg.set(reg384, reg512.length);
    const boxes = new Float32Array(4 * n), scores = new Float32Array(n);
    const S = f(SIDE);
    for (let i = 0; i < n; i++) {
      const r = reg.subarray(16 * i, 16 * i + 16);
      for (let k = 0; k < 2; k++) {
        const c = f(r[k] + anchor[i][k]);
        const half = f(f(r[2 + k] / S) / 2);
        const cn = f(c / S);
        boxes[4 * i + k] = f(f(cn - half) * S);
        boxes[4 * i + 2 + k] = f(f(cn + half) * S);
      }
      scores[i] = 1 / (1 + Math.exp(-logits[i]));
    }
    const keep = tfNms(boxes, scores, MAX_DETECTED, IOU_THRESHOLD, minConfidence);
    return { keep, boxes, scores, reg };
  }

  return {
    name: "blazeface",
    inputSize: BLAZEFACE_INPUT_SIZE,
    async detect(img, opts = {}): Promise<Face[]> {
      const minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
      const s = await scaledForDetection(img, BLAZEFACE_INPUT_SIZE);
      const { keep, boxes, scores, reg } = await raw(s, minConfidence);
      const fx = s.width / SIDE, fy = s.height / SIDE;
      const faces: Face[] = [];
      for (const i of keep) {
        const confidence = scores[i];
        if (!(confidence > minConfidence)) continue;
        // scaleBoxCoordinates, enlargeBox (BLAZEFACE_BOX_SCALE), squarifyBox, clampBox: Human's steps.
        const x0 = boxes[4 * i] * fx,
          y0 = boxes[4 * i + 1] * fy,
          x1 = boxes[4 * i + 2] * fx,
          y1 = boxes[4 * i + 3] * fy;
        const cx = x0 + (x1 - x0) / 2, cy = y0 + (y1 - y0) / 2;
        const w = Math.abs(x1 - x0) * BLAZEFACE_BOX_SCALE, h = Math.abs(y1 - y0) * BLAZEFACE_BOX_SCALE;
        const e0x = cx - w / 2, e0y = cy - h / 2, e1x = cx + w / 2, e1y = cy + h / 2;
        const scx = e0x + (e1x - e0x) / 2, scy = e0y + (e1y - e0y) / 2;
        const sw = Math.abs(e1x - e0x), sh = Math.abs(e1y - e0y);
        const halfSize = Math.max(sw, sh) / 2;
        if (!(Math.round(sw) > 0 && Math.round(sh) > 0)) continue;
        const sp = [Math.round(scx - halfSize), Math.round(scy - halfSize)];
        const ep = [Math.round(scx + halfSize), Math.round(scy + halfSize)];
        const box = {
          x: Math.trunc(Math.max(0, sp[0])),
          y: Math.trunc(Math.max(0, sp[1])),
          width: Math.trunc(Math.min(s.width, ep[0]) - Math.max(0, sp[0])),
          height: Math.trunc(Math.min(s.height, ep[1]) - Math.max(0, sp[1])),
        };
        const score = Math.round(100 * confidence) / 100;
        // Human keeps a face when its rounded score is above the threshold (`minConfidence || 1`).
        if (!(score > (minConfidence || 1))) continue;
        const b = mapBack(box, s, img.width, img.height);
        if (!b || score < minConfidence) continue;
        const r = reg.subarray(16 * i + 4, 16 * i + 16);
        const landmarks: [number, number][] = [];
        for (let k = 0; k < 6; k++) {
          landmarks.push([
            (r[2 * k] + anchor[i][0]) * fx * s.scaleX,
            (r[2 * k + 1] + anchor[i][1]) * fy * s.scaleY,
          ]);
        }
        faces.push({ ...b, confidence: score, landmarks });
      }
      return sortFaces(faces);
    },
  };
}
