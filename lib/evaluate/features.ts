/**
 * Feature extractors for the distribution metrics, behind one interface
 * ({@link FeatureExtractor}), and {@link extractFeatures}, which runs one over image files with a
 * per-file cache.
 *
 * - `inception`: the FID Inception v3 (`pt_inception-2015-12-05`, the network behind published
 *   FIDs, as pytorch-fid / clean-fid / torch-fidelity use it), pool3, 2048-d, exported to ONNX and
 *   put in the model store at `<store>/inception/pt_inception-2015-12-05.onnx`. Input: clean-fid's
 *   resize to 299 × 299 ({@link resizePilFloat}), NCHW float32 in 0–255 (the network normalises
 *   itself, `(x − 128) / 128`); output `[N, 2048]`, and optionally a second output, the 1008
 *   logits, which gives the Inception Score. How to export it: README, "Evaluating generators".
 * - `clip`: a CLIP image tower from the store (default `Xenova/clip-vit-base-patch32`,
 *   `onnx/vision_model.onnx`), projected image embedding, as clean-fid's `clip_vit_b_32` mode:
 *   shortest edge 224 with Pillow bicubic, torchvision's center crop (offsets rounded), `/255`,
 *   OpenAI mean/std.
 * - `nsfwjs-mobilenet_v2`: the 1280-d pooled features of the MobileNetV2 whose TF.js weights ship
 *   inside the `nsfwjs` npm package, so evaluation runs offline. Its numbers are **not comparable
 *   with published FID** (another network, fine-tuned on NSFW classes); every output says so.
 *
 * Images go through a network one at a time, so the batch size (how many files are decoded ahead)
 * never changes a number.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type * as Ort from "onnxruntime-node";
import { decodeBytes, type RgbImage } from "../core/image.ts";
import { resizePil, resizePilFloat } from "../core/resize_pil.ts";
import { loadingFile, ModelFileError, modelFolder, ModelNotFoundError, modelsDir } from "../models/store.ts";
import { OPENAI_CLIP_PREPROCESSOR, shortestEdgeSize } from "../models/clip_pixels.ts";
import { writeAtomic } from "../core/atomic.ts";

/** One feature extractor. */
export interface FeatureExtractor {
  /** `inception`, `clip`, `nsfwjs-mobilenet_v2`. */
  readonly name: string;
  /** Feature dimension. */
  readonly dim: number;
  /** Whether FIDs computed on these features are comparable with published FIDs. */
  readonly comparable: boolean;
  /** One line for every output: what the network is and what the numbers compare with. */
  readonly note: string;
  /** Identity of the weights for the feature cache (name + model file size and date). */
  readonly cacheKey: string;
  /** Features of one image. */
  features(img: RgbImage): Promise<Float32Array>;
  /**
   * Class probabilities of one image (softmax of the classifier's logits), for the Inception
   * Score; only extractors with a classifier head have it (`inception` when its ONNX file has a
   * second output, the 1008 logits).
   */
  classify?(img: RgbImage): Promise<Float32Array>;
}

/**
 * Softmax of logits, in double precision, as float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { softmax } from "./features.ts";
 * const p = softmax(Float32Array.of(0, Math.log(3)));
 * assert.ok(Math.abs(p[0] - 0.25) < 1e-7 && Math.abs(p[1] - 0.75) < 1e-7);
 * ```
 */
export function softmax(logits: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const e = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += e[i] = Math.exp(logits[i] - max);
  return Float32Array.from(e, (v) => v / sum);
}

/** Names accepted by {@link loadExtractor}. */
export const EXTRACTORS = ["inception", "clip", "nsfwjs-mobilenet_v2"] as const;

/** Where the FID Inception lives inside the model store. */
export const INCEPTION_FILE = "inception/pt_inception-2015-12-05.onnx";

/** Options of {@link loadExtractor}. */
export interface ExtractorOptions {
  /** Model store (default `$WINNOW_MODELS` or `~/.cache/winnow/models`). */
  modelsDir?: string;
  /** For `clip`: the CLIP in the store (default `Xenova/clip-vit-base-patch32`). */
  clipModel?: string;
  /** onnxruntime threads (default: every core). */
  threads?: number;
}

async function ortSession(file: string, threads?: number): Promise<Ort.InferenceSession> {
  const ort = await import("onnxruntime-node");
  const n = Math.max(1, Math.floor(threads ?? (navigator.hardwareConcurrency || 1)));
  return await loadingFile(
    file,
    () => ort.InferenceSession.create(file, { intraOpNumThreads: n, interOpNumThreads: 1 }),
  );
}

async function fileKey(name: string, file: string): Promise<string> {
  const st = await Deno.stat(file);
  return `${name}-${st.size}-${Math.round(st.mtime?.getTime() ?? 0)}`;
}

async function runOnnx(
  session: Ort.InferenceSession,
  file: string,
  input: Float32Array,
  dims: number[],
  dim: number,
): Promise<Float32Array> {
  const ort = await import("onnxruntime-node");
  let out: Ort.InferenceSession.OnnxValueMapType;
  try {
    out = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", input, dims) });
  } catch (e) {
    throw new ModelFileError(
      file,
      `does not take a [1, ${dims.slice(1).join(", ")}] float32 image (${
        (e as Error).message.split("\n")[0]
      })`,
    );
  }
  const y = out[session.outputNames[0]];
  const data = y.data as Float32Array;
  if (data.length !== dim) {
    throw new ModelFileError(
      file,
      `expected ${dim} features per image, got output shape [${y.dims.join(", ")}]`,
    );
  }
  return Float32Array.from(data);
}

/** HWC float → NCHW float (one image). */
function toChw(hwc: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(3 * w * h);
  for (let i = 0; i < w * h; i++) {
    out[i] = hwc[i * 3];
    out[w * h + i] = hwc[i * 3 + 1];
    out[2 * w * h + i] = hwc[i * 3 + 2];
  }
  return out;
}

/**
 * The input of the FID Inception for one image: clean-fid's resize to 299 × 299, NCHW float32 in
 * 0–255.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inceptionInput } from "./features.ts";
 * const x = inceptionInput({ width: 2, height: 2, data: new Uint8Array(12).fill(200) });
 * assert.equal(x.length, 3 * 299 * 299);
 * assert.ok(Math.abs(x[0] - 200) < 1e-4);
 * ```
 */
export function inceptionInput(img: RgbImage): Float32Array {
  return toChw(resizePilFloat(img, 299, 299), 299, 299);
}

/** The FID Inception (pool3, 2048-d) from the model store. */
export async function inceptionExtractor(o: ExtractorOptions = {}): Promise<FeatureExtractor> {
  const store = modelsDir(o.modelsDir);
  const file = join(store, INCEPTION_FILE);
  const st = await Deno.stat(file).catch(() => null);
  if (!st?.isFile) {
    throw new ModelNotFoundError(
      "inception",
      file,
      file,
      'Export pt_inception-2015-12-05 to ONNX as README.md says ("Evaluating generators") and put it there, ' +
        "or use --features nsfwjs-mobilenet_v2 (offline, not comparable with published FID)",
    );
  }
  const session = await ortSession(file, o.threads);
  return {
    name: "inception",
    dim: 2048,
    comparable: true,
    note:
      "FID Inception v3 (pt_inception-2015-12-05, pool3 2048-d, clean-fid resize): the network of published FIDs",
    cacheKey: await fileKey("inception", file),
    features: (img) => runOnnx(session, file, inceptionInput(img), [1, 3, 299, 299], 2048),
    ...(session.outputNames.length >= 2
      ? {
        async classify(img: RgbImage) {
          const ort = await import("onnxruntime-node");
          const out = await session.run({
            [session.inputNames[0]]: new ort.Tensor("float32", inceptionInput(img), [1, 3, 299, 299]),
          });
          return softmax(out[session.outputNames[1]].data as Float32Array);
        },
      }
      : {}),
  };
}

/**
 * clean-fid's `clip_vit_b_32` input of one image: shortest edge 224 (Pillow bicubic), torchvision's
 * `CenterCrop(224)` (offset `round((size − 224) / 2)`, half to even), `/255`, OpenAI mean/std; CHW.
 */
export function cleanFidClipInput(img: RgbImage): Float32Array {
  const [w, h] = shortestEdgeSize(img.width, img.height, 224);
  const r = resizePil(img, w, h);
  const roundHalfEven = (v: number) => {
    const f = Math.floor(v);
    return v - f === 0.5 ? (f % 2 === 0 ? f : f + 1) : Math.round(v);
  };
  const top = roundHalfEven((h - 224) / 2), left = roundHalfEven((w - 224) / 2);
  const { mean, std } = OPENAI_CLIP_PREPROCESSOR;
  const out = new Float32Array(3 * 224 * 224);
  for (let y = 0; y < 224; y++) {
    for (let x = 0; x < 224; x++) {
      const p = ((y + top) * w + x + left) * 3;
      for (let c = 0; c < 3; c++) {
        const v = Math.fround(r.data[p + c] / 255);
        out[c * 224 * 224 + y * 224 + x] = Math.fround(
          Math.fround(v - Math.fround(mean[c])) / Math.fround(std[c]),
        );
      }
    }
  }
  return out;
}

/** A CLIP image tower from the model store (projected image embeddings), as clean-fid's CLIP mode. */
export async function clipExtractor(o: ExtractorOptions = {}): Promise<FeatureExtractor> {
  const store = modelsDir(o.modelsDir);
  const id = o.clipModel ?? "Xenova/clip-vit-base-patch32";
  const folder = modelFolder(id, store);
  const file = join(folder, "onnx/vision_model.onnx");
  if (!(await Deno.stat(file).catch(() => null))?.isFile) {
    throw new ModelNotFoundError(id, folder, "onnx/vision_model.onnx");
  }
  const session = await ortSession(file, o.threads);
  const config = JSON.parse(await Deno.readTextFile(join(folder, "config.json")).catch(() => "{}"));
  const dim = Number(config.projection_dim ?? 512);
  return {
    name: "clip",
    dim,
    comparable: false,
    note: `CLIP image embeddings (${id}, ${dim}-d, clean-fid clip_vit_b_32 preprocessing): compare with ` +
      `clean-fid's CLIP FID, not with Inception FID`,
    cacheKey: await fileKey(`clip-${id.replace(/[^\w.-]+/g, "_")}`, file),
    features: (img) => runOnnx(session, file, cleanFidClipInput(img), [1, 3, 224, 224], dim),
  };
}

/** The offline extractor: nsfwjs' MobileNetV2 (weights inside the npm package), 1280-d pooled features. */
export async function nsfwjsExtractor(): Promise<FeatureExtractor> {
  const { getNsfwModel, NSFW_MODEL_DIR } = await import("../heuristics/nsfw.ts");
  const nsfw = await getNsfwModel();
  const tf = await import("@tensorflow/tfjs");
  // deno-lint-ignore no-explicit-any
  const full = (nsfw as any).model as any;
  const pooled = full.getLayer("flatten_1");
  const model = tf.model({ inputs: full.inputs, outputs: pooled.output });
  const dim = Number(pooled.outputShape[1]);
  return {
    name: "nsfwjs-mobilenet_v2",
    dim,
    comparable: false,
    note:
      "nsfwjs MobileNetV2 pooled features (1280-d; weights shipped in the nsfwjs npm package, offline): " +
      "NOT comparable with published FID — compare runs with each other only",
    cacheKey: await fileKey("nsfwjs-mobilenet_v2", join(NSFW_MODEL_DIR, "group1-shard1of1.min.js")),
    features(img) {
      const x = resizePilFloat(img, 224, 224);
      for (let i = 0; i < x.length; i++) x[i] /= 255;
      const out = tf.tidy(() =>
        model.predict(tf.tensor4d(x, [1, 224, 224, 3])) as import("@tensorflow/tfjs").Tensor
      );
      const data = out.dataSync() as Float32Array;
      out.dispose();
      return Promise.resolve(Float32Array.from(data));
    },
  };
}

/**
 * The extractor called `name` (one of {@link EXTRACTORS}).
 *
 * @example
 * ```ts ignore
 * const fx = await loadExtractor("nsfwjs-mobilenet_v2");   // offline; "inception" needs the ONNX file
 * ```
 */
export function loadExtractor(name: string, o: ExtractorOptions = {}): Promise<FeatureExtractor> {
  switch (name) {
    case "inception":
      return inceptionExtractor(o);
    case "clip":
      return clipExtractor(o);
    case "nsfwjs-mobilenet_v2":
      return nsfwjsExtractor();
    default:
      throw new RangeError(`unknown feature extractor "${name}"; known: ${EXTRACTORS.join(", ")}`);
  }
}

/** Options of {@link extractFeatures}. */
export interface ExtractOptions {
  /** Feature cache folder (`<dir>/<cacheKey>/<sha256 of the file>.f32`); none when unset. */
  cacheDir?: string;
  /** Files decoded ahead of the network (default 8). Never changes a number. */
  batchSize?: number;
  /** Called after each file. */
  onProgress?: (done: number, total: number, errors: number) => void;
}

/** Features of a list of files, in order; files that failed are listed with their error. */
export interface ExtractedFeatures {
  files: string[];
  features: Float32Array[];
  errors: { file: string; error: string }[];
  /** Files whose features came from the cache. */
  cached: number;
}

/**
 * Features of every file in `files` with `fx`. A file that cannot be read or decoded is recorded
 * in `errors` and skipped; the others go on. With `cacheDir`, features are stored per file content
 * and extractor, so a second run over the same images only reads them.
 *
 * @example
 * ```ts ignore
 * const fx = await loadExtractor("nsfwjs-mobilenet_v2");
 * const { features } = await extractFeatures(["a.png", "b.png"], fx, { cacheDir: ".cache/features" });
 * ```
 */
export async function extractFeatures(
  files: readonly string[],
  fx: FeatureExtractor,
  o: ExtractOptions = {},
): Promise<ExtractedFeatures> {
  const out: ExtractedFeatures = { files: [], features: [], errors: [], cached: 0 };
  const bs = Math.max(1, Math.floor(o.batchSize ?? 8));
  const dir = o.cacheDir ? join(o.cacheDir, fx.cacheKey) : undefined;
  if (dir) await Deno.mkdir(dir, { recursive: true });
  let done = 0;
  for (let i = 0; i < files.length; i += bs) {
    // Read and decode a batch ahead; run the network one image at a time.
    const batch = await Promise.all(
      files.slice(i, i + bs).map(async (file) => {
        try {
          const bytes = await Deno.readFile(file);
          const hash = createHash("sha256").update(bytes).digest("hex");
          const cacheFile = dir ? join(dir, `${hash}.f32`) : undefined;
          if (cacheFile) {
            const hit = await Deno.readFile(cacheFile).catch(() => null);
            if (hit && hit.byteLength === fx.dim * 4) {
              return { file, cached: new Float32Array(hit.buffer, hit.byteOffset, fx.dim).slice() };
            }
          }
          return { file, cacheFile, img: await decodeBytes(bytes) };
        } catch (e) {
          return { file, error: `${(e as Error).message}` };
        }
      }),
    );
    for (const b of batch) {
      try {
        if ("error" in b) throw new Error(b.error);
        let f: Float32Array;
        if ("cached" in b && b.cached) {
          f = b.cached;
          out.cached++;
        } else {
          f = await fx.features(b.img!);
          if (b.cacheFile) {
            await writeAtomic(b.cacheFile, new Uint8Array(f.buffer, f.byteOffset, f.byteLength), {
              unique: true,
            });
          }
        }
        out.files.push(b.file);
        out.features.push(f);
      } catch (e) {
        const msg = (e as Error).message;
        out.errors.push({ file: b.file, error: msg.startsWith(b.file) ? msg : `${b.file}: ${msg}` });
        if (e instanceof ModelFileError) throw e; // the model, not the image: stop
      }
      o.onProgress?.(++done, files.length, out.errors.length);
    }
  }
  return out;
}
