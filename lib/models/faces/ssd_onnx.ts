/**
 * face-api's SSD MobileNet v1 face detector on onnxruntime-node: the SAME weights (face-api's own
 * TF.js manifest, `ssd_mobilenetv1_model-weights_manifest.json` + `.bin`, read and dequantized
 * here), written at load time as an ONNX graph ({@link ssdGraph}) and run natively, with face-api's
 * input handling, box decoding and non-maximum suppression repeated in JavaScript. Nothing is
 * downloaded and nothing is written to disk. Use it through `getDetector("ssd")` in `detector.ts`
 * (the `faces.runtime` setting chooses it or the TF.js path in `faceapi.ts`).
 *
 * What face-api does, and what this repeats (from `@vladmandic/face-api/src/ssdMobilenetv1/`):
 * - input: the image padded with zeros at the right or bottom to a square, resized (bilinear,
 *   TF's `resizeBilinear` without corner alignment) to the network side when it differs, then
 *   `x / 127.5 − 1`;
 * - MobileNet v1 body: a 3×3 stride-2 convolution, then 13 depthwise (3×3, batch norm with
 *   ε = 0.001) + pointwise (1×1, bias) pairs, strides 2 at pairs 2, 4, 6 and 12, each followed by
 *   relu6; TF's "same" padding (the odd pixel at the bottom/right), ONNX `SAME_UPPER`;
 * - prediction layers: 8 more relu6 convolutions (1×1, then 3×3 stride 2, four times) and six
 *   box predictors (1×1 convolutions with bias) on pair 11, pair 13 and convolutions 1, 3, 5, 7:
 *   3 boxes per cell on the first, 6 on the others; 5118 boxes at 512;
 * - output: box encodings decoded against the prior boxes (`Output/extra_dim`: centre offsets
 *   /10, log sizes /5), score = sigmoid of class 1; greedy NMS (IoU 0.5, at most 100, scores
 *   strictly above the threshold), boxes clipped to [0, 1] and scaled back over the padding.
 *
 * The batch norm is folded into the depthwise weights (in double precision). float32 arithmetic
 * is kept where face-api's TF.js runs it in float32, so results agree with face-api on TF.js to
 * float rounding (see the README's faces section for the measured difference).
 *
 * @module
 */
import { join } from "node:path";
import type * as Ort from "onnxruntime-node";
import { FLOAT, onnxGraph } from "../onnx_graph.ts";
import { readTfjsWeights, type TfjsTensor } from "../tfjs_weights.ts";
import { mapBack, requireFiles, scaledForDetection, type ScaledImage } from "../tfjs.ts";
import { ModelFileError } from "../store.ts";
import { DEFAULT_MIN_CONFIDENCE, type Face, type FaceDetector, sortFaces } from "./types.ts";
import { FACEAPI_INPUT_SIZE, FACEAPI_MODEL_FILES, SSD_TRAINED_SIZE, ssdPriors } from "./faceapi.ts";
import type { RgbImage } from "../../core/image.ts";
import { defaultNativeThreads } from "../../core/threads.ts";
import { cornerIou } from "../../core/geometry.ts";

/** Options of {@link loadSsdOnnx}. */
export interface SsdOnnxOptions {
  /** Long side of the copy the detector runs on (default 512); see `FaceApiDetectorOptions`. */
  inputSize?: number;
  /** onnxruntime intra-op threads (default 1 in a worker, one per core elsewhere). */
  threads?: number;
}

/** Raw network outputs for one image: box encodings and class-1 logits, one per prior box. */
export interface SsdRaw {
  /** `[n, 4]` row-major box encodings (`ty, tx, th, tw`). */
  encodings: Float32Array;
  /** Class-1 (face) logits, `n`. */
  logits: Float32Array;
}

/** A detection in face-api's terms: a box in pixels of the copy, and its score. */
export interface SsdDetection {
  box: { x: number; y: number; width: number; height: number };
  score: number;
}

const EPSILON = 0.0010000000474974513;
const DEPTHWISE_STRIDE2 = [2, 4, 6, 12];
const POINTWISE_CHANNELS = [64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024];
const PREDICTION_CONVS: [number, number][] = [[1, 1], [3, 2], [1, 1], [3, 2], [1, 1], [3, 2], [1, 1], [3, 2]];

/**
 * face-api's SSD MobileNet v1 as an ONNX model (bytes), from its TF.js tensors by name
 * (`readTfjsWeights`), for a square input of side `size`: input `input` `[batch, 3, size, size]`
 * (already normalised to −1..1; `batch` is dynamic, each image's rows computed on their own),
 * outputs `encodings` `[batch, n, 4]` and `logits` `[batch, n, 3]` in face-api's box order
 * (predictor by predictor, then row, column, box).
 */
export function ssdGraph(weights: Map<string, TfjsTensor>, size: number, file = "weights"): Uint8Array {
  const get = (name: string, shape?: number[]): Float32Array => {
    const t = weights.get(name);
    if (!t) throw new ModelFileError(file, `tensor ${name} is missing`);
    if (shape && t.shape.join(",") !== shape.join(",")) {
      throw new ModelFileError(file, `tensor ${name} has shape [${t.shape}], expected [${shape}]`);
    }
    return t.data as Float32Array;
  };
  const g = onnxGraph();
  const zero = g.weight("relu6_min", [], new Float32Array([0]));
  const six = g.weight("relu6_max", [], new Float32Array([6]));
  const relu6 = (x: string) => g.op("Clip", [x, zero, six]);

  /** TF `[kh, kw, in, out]` filters → ONNX `[out, in, kh, kw]`. */
  const convWeights = (name: string, k: number, cin: number, cout: number): string => {
    const w = get(name, [k, k, cin, cout]);
    const o = new Float32Array(w.length);
    for (let y = 0; y < k; y++) {
      for (let x = 0; x < k; x++) {
        for (let i = 0; i < cin; i++) {
          for (let c = 0; c < cout; c++) {
            o[((c * cin + i) * k + y) * k + x] = w[((y * k + x) * cin + i) * cout + c];
          }
        }
      }
    }
    return g.weight(name, [cout, cin, k, k], o);
  };
  const conv = (x: string, w: string, b: string, k: number, stride: number, group = 1) =>
    g.op("Conv", [x, w, b], {
      kernel_shape: { ints: [k, k] },
      strides: { ints: [stride, stride] },
      auto_pad: { s: k === 1 ? "VALID" : "SAME_UPPER" },
      group: { i: group },
    });
  const pointwise = (x: string, prefix: string, k: number, cin: number, cout: number, stride: number) =>
    relu6(conv(
      x,
      convWeights(`${prefix}/weights`, k, cin, cout),
      g.weight(`${prefix}/convolution_bn_offset`, [cout], get(`${prefix}/convolution_bn_offset`, [cout])),
      k,
      stride,
    ));
  const depthwise = (x: string, idx: number, c: number, stride: number) => {
    const p = `MobilenetV1/Conv2d_${idx}_depthwise`;
    const w = get(`${p}/depthwise_weights`, [3, 3, c, 1]);
    const gamma = get(`${p}/BatchNorm/gamma`, [c]), beta = get(`${p}/BatchNorm/beta`, [c]);
    const mean = get(`${p}/BatchNorm/moving_mean`, [c]),
      variance = get(`${p}/BatchNorm/moving_variance`, [c]);
    const wo = new Float32Array(c * 9), bo = new Float32Array(c);
    for (let ch = 0; ch < c; ch++) {
      const s = gamma[ch] / Math.sqrt(variance[ch] + EPSILON);
      for (let t = 0; t < 9; t++) wo[ch * 9 + t] = w[t * c + ch] * s;
      bo[ch] = beta[ch] - mean[ch] * s;
    }
    return relu6(
      conv(x, g.weight(`${p}/folded_w`, [c, 1, 3, 3], wo), g.weight(`${p}/folded_b`, [c], bo), 3, stride, c),
    );
  };

  let x = pointwise("input", "MobilenetV1/Conv2d_0_pointwise", 3, 3, 32, 2);
  let channels = 32, conv11 = "";
  for (let i = 1; i <= 13; i++) {
    x = depthwise(x, i, channels, DEPTHWISE_STRIDE2.includes(i) ? 2 : 1);
    x = pointwise(x, `MobilenetV1/Conv2d_${i}_pointwise`, 1, channels, POINTWISE_CHANNELS[i - 1], 1);
    channels = POINTWISE_CHANNELS[i - 1];
    if (i === 11) conv11 = x;
  }
  const features: [string, number][] = [[conv11, 512], [x, 1024]];
  const predOut = [256, 512, 128, 256, 128, 256, 64, 128];
  let p = x, pc = 1024;
  for (let i = 0; i < 8; i++) {
    const [k, stride] = PREDICTION_CONVS[i];
    p = pointwise(p, `Prediction/Conv2d_${i}_pointwise`, k, pc, predOut[i], stride);
    pc = predOut[i];
    if (i % 2 === 1) features.push([p, pc]);
  }
  const encShape = g.ints("shape_enc", [0, -1, 4]), clsShape = g.ints("shape_cls", [0, -1, 3]);
  // Reshape's 0 copies the batch dim of its input.
  const encs: string[] = [], clss: string[] = [];
  features.forEach(([f, c], idx) => {
    const boxes = idx === 0 ? 3 : 6;
    const head = (kind: string, per: number, shape: string) => {
      const prefix = `Prediction/BoxPredictor_${idx}/${kind}`;
      const y = conv(
        f,
        convWeights(`${prefix}/weights`, 1, c, boxes * per),
        g.weight(`${prefix}/biases`, [boxes * per], get(`${prefix}/biases`, [boxes * per])),
        1,
        1,
      );
      return g.op("Reshape", [g.op("Transpose", [y], { perm: { ints: [0, 2, 3, 1] } }), shape]);
    };
    encs.push(head("BoxEncodingPredictor", 4, encShape));
    clss.push(head("ClassPredictor", 3, clsShape));
  });
  g.op("Concat", encs, { axis: { i: 1 } }, "encodings");
  g.op("Concat", clss, { axis: { i: 1 } }, "logits");
  return g.encode(
    [{ name: "input", type: FLOAT, dims: ["batch", 3, size, size] }],
    [
      { name: "encodings", type: FLOAT, dims: ["batch", "boxes", 4] },
      { name: "logits", type: FLOAT, dims: ["batch", "boxes", 3] },
    ],
  );
}

/**
 * The network input face-api builds from an RGB image: padded with zeros at the right or bottom to
 * a square, resized to `size` with TF's bilinear rule (no corner alignment, no half-pixel centres)
 * when the square's side differs, scaled to −1..1; planar (NCHW) float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ssdInput } from "./ssd_onnx.ts";
 * const img = { width: 2, height: 1, data: new Uint8Array([255, 0, 0, 0, 255, 0]) };
 * // 2×2 square, bottom row padded with zeros (→ −1)
 * assert.deepEqual([...ssdInput(img, 2).subarray(0, 4)], [1, -1, -1, -1]);
 * ```
 */
export function ssdInput(img: RgbImage, size: number): Float32Array {
  const { width: w, height: h, data } = img;
  const side = Math.max(w, h);
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  const f = Math.fround;
  if (side === size) {
    out.fill(-1);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 3, o = y * size + x;
        for (let c = 0; c < 3; c++) out[c * plane + o] = f(f(data[i + c] / 127.5) - 1);
      }
    }
    return out;
  }
  // TF's resizeBilinear (align_corners and half_pixel_centers false), in float32, on the padded square.
  const scale = f(side / size);
  const px = (y: number, x: number, c: number) => (y < h && x < w ? data[(y * w + x) * 3 + c] : 0);
  for (let r = 0; r < size; r++) {
    const sy = f(scale * r);
    const y0 = Math.floor(sy), y1 = Math.min(side - 1, Math.ceil(sy)), fy = f(sy - y0);
    for (let q = 0; q < size; q++) {
      const sx = f(scale * q);
      const x0 = Math.floor(sx), x1 = Math.min(side - 1, Math.ceil(sx)), fx = f(sx - x0);
      for (let c = 0; c < 3; c++) {
        const tl = px(y0, x0, c), tr = px(y0, x1, c), bl = px(y1, x0, c), br = px(y1, x1, c);
        const top = f(tl + f(f(tr - tl) * fx)), bottom = f(bl + f(f(br - bl) * fx));
        const v = f(top + f(f(bottom - top) * fy));
        out[c * plane + r * size + q] = f(f(v / 127.5) - 1);
      }
    }
  }
  return out;
}

/**
 * face-api's decoding and non-maximum suppression (`outputLayer.ts`, `nonMaxSuppression.ts`,
 * `SsdMobilenetv1.locateFaces`) on the raw outputs of one image of `width`×`height` run at network
 * side `size`: boxes in pixels of that image, best first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ssdDecode } from "./ssd_onnx.ts";
 * const priors = [[0.25, 0.25, 0.75, 0.75], [0.3, 0.3, 0.8, 0.8]];
 * const raw = { encodings: new Float32Array(8), logits: new Float32Array([3, -3]) };
 * const [d, ...rest] = ssdDecode(raw, priors, 100, 50, 100, 0.5);
 * assert.equal(rest.length, 0);
 * // 100×50 padded to 100×100 at the bottom: the box is 25..75 in both, in pixels
 * assert.deepEqual([d.box.x, d.box.y, d.box.width, d.box.height], [25, 25, 50, 50]);
 * assert.ok(Math.abs(d.score - 1 / (1 + Math.exp(-3))) < 1e-7);
 * ```
 */
export function ssdDecode(
  raw: SsdRaw,
  priors: readonly (readonly number[])[],
  width: number,
  height: number,
  size: number,
  minConfidence: number,
  maxResults = 100,
): SsdDetection[] {
  const f = Math.fround;
  const n = priors.length;
  if (raw.logits.length !== n || raw.encodings.length !== 4 * n) {
    throw new RangeError(
      `SSD: ${raw.logits.length} scores and ${raw.encodings.length / 4} boxes for ${n} priors`,
    );
  }
  const boxes = new Float32Array(4 * n);
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const [p0, p1, p2, p3] = priors[i];
    const e = raw.encodings.subarray(4 * i, 4 * i + 4);
    const s0 = f(p2 - p0), s1 = f(p3 - p1);
    const c0 = f(p0 + f(s0 / 2)), c1 = f(p1 + f(s1 / 2));
    const d0 = f(f(f(Math.exp(f(e[2] / 5))) * s0) / 2);
    const a0 = f(f(f(e[0] / 10) * s0) + c0);
    const d1 = f(f(f(Math.exp(f(e[3] / 5))) * s1) / 2);
    const a1 = f(f(f(e[1] / 10) * s1) + c1);
    boxes[4 * i] = a0 - d0;
    boxes[4 * i + 1] = a1 - d1;
    boxes[4 * i + 2] = a0 + d0;
    boxes[4 * i + 3] = a1 + d1;
    scores[i] = 1 / (1 + Math.exp(-raw.logits[i]));
  }
  // face-api's options: a threshold of 0 means its default 0.5 (`minConfidence || 0.5`).
  const threshold = minConfidence || 0.5;
  const selected = faceApiNms(boxes, scores, Math.min(maxResults, n), 0.5, threshold);
  // face-api: the padded square was resized from the image's long side; boxes scale back over it.
  const long = Math.max(width, height), k = size / long;
  const padX = size / Math.round(width * k), padY = size / Math.round(height * k);
  return selected.map((i) => {
    const top = Math.max(0, boxes[4 * i]) * padY, bottom = Math.min(1, boxes[4 * i + 2]) * padY;
    const left = Math.max(0, boxes[4 * i + 1]) * padX, right = Math.min(1, boxes[4 * i + 3]) * padX;
    return {
      box: {
        x: left * width,
        y: top * height,
        width: (right - left) * width,
        height: (bottom - top) * height,
      },
      score: scores[i],
    };
  });
}

/** face-api's greedy NMS, step for step (`nonMaxSuppression.ts`). */
function faceApiNms(
  boxes: Float32Array,
  scores: Float32Array,
  outputSize: number,
  iouThreshold: number,
  scoreThreshold: number,
): number[] {
  const candidates: { score: number; boxIndex: number }[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] > scoreThreshold) candidates.push({ score: scores[i], boxIndex: i });
  }
  candidates.sort((a, b) => b.score - a.score);
  const selected: number[] = [];
  for (const c of candidates) {
    if (selected.length >= outputSize) break;
    const original = c.score;
    for (let j = selected.length - 1; j >= 0; --j) {
      const iou = cornerIou(boxes, c.boxIndex, selected[j]);
      if (iou === 0) continue;
      c.score *= iou <= iouThreshold ? 1 : 0;
      if (c.score <= scoreThreshold) break;
    }
    if (original === c.score) selected.push(c.boxIndex);
  }
  return selected;
}

/**
 * Loads face-api's SSD from `modelDir` onto onnxruntime (uncached: call `getDetector`). Throws
 * {@link ModelFileError} naming the file when a weight file is missing, truncated or malformed.
 *
 * @example
 * ```ts ignore
 * import { loadSsdOnnx } from "./ssd_onnx.ts";
 * const ssd = await loadSsdOnnx("node_modules/@vladmandic/face-api/model/");
 * ```
 */
export async function loadSsdOnnx(modelDir: string, options: SsdOnnxOptions = {}): Promise<
  FaceDetector & {
    /** face-api's detections on a copy already at the detector's size (for comparisons). */
    locate(img: RgbImage, minConfidence: number): Promise<SsdDetection[]>;
    /** {@link locate} for several copies in one onnxruntime run (the batch dim), per image. */
    locateBatch(imgs: readonly RgbImage[], minConfidence: number): Promise<SsdDetection[][]>;
  }
> {
  await requireFiles("ssd", modelDir, FACEAPI_MODEL_FILES.ssd);
  const inputSize = options.inputSize ?? FACEAPI_INPUT_SIZE.ssd;
  if (inputSize % 32 !== 0 || inputSize < 64 || inputSize > 1024) {
    throw new RangeError(`ssd: input size ${inputSize} is not a multiple of 32 between 64 and 1024`);
  }
  const size = Math.min(inputSize, SSD_TRAINED_SIZE);
  const manifest = FACEAPI_MODEL_FILES.ssd[0];
  const weights = await readTfjsWeights(modelDir, manifest);
  const file = join(modelDir, manifest);
  const extra = weights.get("Output/extra_dim");
  if (!extra || extra.shape.join(",") !== "1,5118,4") {
    throw new ModelFileError(file, "tensor Output/extra_dim (the 5118 prior boxes, [1, 5118, 4]) is missing");
  }
  const trained: number[][] = [];
  for (let i = 0; i < 5118; i++) trained.push(Array.from(extra.data.subarray(4 * i, 4 * i + 4)));
  const priors = size === SSD_TRAINED_SIZE ? trained : ssdPriors(trained, size);
  const bytes = ssdGraph(weights, size, file);
  weights.clear();
  const ort = await import("onnxruntime-node");
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: options.threads ?? defaultNativeThreads(),
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    });
  } catch (e) {
    const msg = ((e as Error).message ?? String(e)).split("\n")[0];
    throw new ModelFileError(file, `the SSD graph built from these weights does not load: ${msg}`);
  }

  async function locateBatch(ss: readonly RgbImage[], minConfidence: number): Promise<SsdDetection[][]> {
    if (!ss.length) return [];
    const plane = 3 * size * size;
    const data = new Float32Array(ss.length * plane);
    ss.forEach((s, b) => data.set(ssdInput(s, size), b * plane));
    const input = new ort.Tensor("float32", data, [ss.length, 3, size, size]);
    const out = await session.run({ input });
    const enc = out.encodings.data as Float32Array, logits3 = out.logits.data as Float32Array;
    const n = logits3.length / 3 / ss.length;
    return ss.map((s, b) => {
      const logits = new Float32Array(n);
      for (let i = 0; i < n; i++) logits[i] = logits3[3 * (b * n + i) + 1];
      const encodings = enc.subarray(4 * n * b, 4 * n * (b + 1));
      return ssdDecode({ encodings, logits }, priors, s.width, s.height, size, minConfidence);
    });
  }
  const locate = async (s: RgbImage, minConfidence: number) => (await locateBatch([s], minConfidence))[0];
  const faces = (img: RgbImage, s: ScaledImage, found: SsdDetection[], minConfidence: number): Face[] => {
    const out: Face[] = [];
    for (const d of found) {
      const b = mapBack(d.box, s, img.width, img.height);
      if (b && d.score >= minConfidence) out.push({ ...b, confidence: d.score });
    }
    return sortFaces(out);
  };

  return {
    name: "ssd",
    inputSize,
    locate,
    locateBatch,
    async detect(img, opts = {}): Promise<Face[]> {
      const minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
      const s = await scaledForDetection(img, inputSize);
      return faces(img, s, await locate(s, minConfidence), minConfidence);
    },
    async detectBatch(imgs, opts = {}): Promise<(Face[] | null)[]> {
      const minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
      // An image whose copy cannot be made is left out (null): its own `detect` reports it.
      const scaled = await Promise.all(
        imgs.map((img) => scaledForDetection(img, inputSize).catch(() => null)),
      );
      const ok = scaled.flatMap((s, i) => s ? [i] : []);
      const found = await locateBatch(ok.map((i) => scaled[i]!), minConfidence);
      const out: (Face[] | null)[] = imgs.map(() => null);
      ok.forEach((i, k) => out[i] = faces(imgs[i], scaled[i]!, found[k], minConfidence));
      return out;
    },
  };
}
