/**
 * NSFW: the `nsfwjs` MobileNetV2 classifier (224×224, 5 classes: drawing, hentai, neutral, porn,
 * sexy) on the TF.js wasm backend, with the weights that ship inside the `nsfwjs` package as JS
 * modules (`dist/models/mobilenet_v2/model.min.js` and `group1-shard1of1.min.js`: a CommonJS/UMD
 * wrapper around the model JSON and the base64 weights). The files are read and evaluated here
 * (so a missing or corrupt file is a `ModelFileError` naming it) and handed to nsfwjs's own
 * loader as a model definition. The image is resized to 224×224 (whole image, aspect not kept,
 * lanczos3 — nsfwjs itself resizes bilinearly without anti-aliasing) and classified.
 *
 * Outputs: `nsfw_drawing`, `nsfw_hentai`, `nsfw_neutral`, `nsfw_porn`, `nsfw_sexy` (softmax
 * probabilities, summing to 1) and `nsfw_unsafe` = porn + hentai; the rule `nsfw_unsafe ≤ 0.8`
 * is the safety decision (error type `nsfw`). `sexy` is not counted as unsafe: MobileNetV2 gives
 * it, and porn up to 0.5, to clothed people in party dresses (five of the six face-api demo
 * photos; {@link NSFW_DEMO_NOTE}).
 *
 * Settings (`ctx.settingsFor("nsfw")`): `modelDir`, a folder holding the two files (default the
 * package's `dist/models/mobilenet_v2/`).
 *
 * @example
 * ```ts ignore
 * import { ImageContext } from "./types.ts";
 * import { nsfw } from "./nsfw.ts";
 * import { decodeImage } from "../core/image.ts";
 * console.log(await nsfw.compute(new ImageContext(await decodeImage("photo.jpg"))));
 * ```
 * @module
 */
import type { NSFWJS } from "nsfwjs/core";
import sharp from "sharp";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Heuristic, ImageContext, OutputSpec } from "./types.ts";
import { ensureWasmBackend, ModelFileError, requireFiles, WASM_DIR } from "../models/tfjs.ts";
import { MODEL_DIR_SETTING } from "./hands.ts";
import { checkSettings } from "../core/settings.ts";

/** Default folder of the MobileNetV2 files inside the installed `nsfwjs` package. */
export const NSFW_MODEL_DIR = fileURLToPath(
  new URL("../../node_modules/nsfwjs/dist/models/mobilenet_v2/", import.meta.url),
);

/** The two files of the model. */
export const NSFW_MODEL_FILES = ["model.min.js", "group1-shard1of1.min.js"] as const;

/** Network input side. */
export const NSFW_INPUT_SIZE = 224;

/** What the model does on the face-api demo photos (measured, `tests/detectors_test.ts`). */
export const NSFW_DEMO_NOTE =
  "neutral 0.91 on sample1; sexy/porn highest on samples 2–6 (porn + hentai ≤ 0.64)";

/** nsfwjs class names → output columns. */
const CLASS_COLUMNS: Record<string, string> = {
  Drawing: "nsfw_drawing",
  Hentai: "nsfw_hentai",
  Neutral: "nsfw_neutral",
  Porn: "nsfw_porn",
  Sexy: "nsfw_sexy",
};

/** Evaluates a CommonJS/UMD file of the package and returns its `module.exports`. */
async function readCommonJs(dir: string, file: string): Promise<unknown> {
  const text = await Deno.readTextFile(join(dir, file));
  const module = { exports: {} as unknown };
  try {
    new Function("module", "exports", text)(module, module.exports);
  } catch (e) {
    throw new ModelFileError(
      dir,
      `nsfw: model file ${file} in this folder is corrupt: ${(e as Error).message}`,
    );
  }
  return module.exports;
}

const loaded = new Map<string, Promise<NSFWJS>>();

// TF.js and nsfwjs are imported on first use, so that importing the registry does not load them.
const tfjs = () => import("@tensorflow/tfjs");

/**
 * The nsfwjs MobileNetV2 model from `dir`, loaded once per process (per worker).
 *
 * @example
 * ```ts ignore
 * import { getNsfwModel } from "./nsfw.ts";
 * const model = await getNsfwModel();
 * ```
 */
export function getNsfwModel(dir: string = NSFW_MODEL_DIR): Promise<NSFWJS> {
  let p = loaded.get(dir);
  if (!p) {
    p = (async () => {
      await requireFiles("nsfw", dir, NSFW_MODEL_FILES);
      const json = await readCommonJs(dir, NSFW_MODEL_FILES[0]) as { modelTopology?: unknown };
      const weights = await readCommonJs(dir, NSFW_MODEL_FILES[1]);
      if (!json?.modelTopology) {
        throw new ModelFileError(
          dir,
          `nsfw: model file ${NSFW_MODEL_FILES[0]} in this folder is corrupt: no modelTopology`,
        );
      }
      if (typeof weights !== "string" || !weights.length) {
        throw new ModelFileError(
          dir,
          `nsfw: model file ${NSFW_MODEL_FILES[1]} in this folder is corrupt: no weight data`,
        );
      }
      const tf = await tfjs();
      const { setWasmPaths } = await import("@tensorflow/tfjs-backend-wasm");
      const { load } = await import("nsfwjs/core");
      await ensureWasmBackend({ setWasmPaths, ...tf });
      if (tf.getBackend() !== "wasm") {
        setWasmPaths(WASM_DIR);
        await tf.setBackend("wasm");
      }
      const definition = {
        name: "MobileNetV2",
        numOfWeightBundles: 1,
        modelJson: () => Promise.resolve({ default: json }),
        weightBundles: [() => Promise.resolve({ default: weights })],
      };
      const info = console.info;
      console.info = () => {}; // nsfwjs announces the model it uses on every load
      try {
        return await load("MobileNetV2", { modelDefinitions: [definition] } as never);
      } catch (e) {
        throw new ModelFileError(
          dir,
          `nsfw: the model in this folder failed to load: ${(e as Error).message}`,
        );
      } finally {
        console.info = info;
      }
    })();
    loaded.set(dir, p);
    p.catch(() => loaded.delete(dir));
  }
  return p;
}

/** nsfwjs's class order of the model's five outputs (`nsfwjs/dist/esm/nsfw_classes.js`). */
const CLASS_ORDER = ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"] as const;

/** The 224×224 RGB bytes the model sees: the whole image, aspect not kept, lanczos3. */
async function inputPixels(ctx: ImageContext): Promise<Uint8Array> {
  return await sharp(ctx.image.data, { raw: { width: ctx.width, height: ctx.height, channels: 3 } })
    .resize(NSFW_INPUT_SIZE, NSFW_INPUT_SIZE, { fit: "fill", kernel: "lanczos3" })
    .raw()
    .toBuffer();
}

/**
 * The model's softmax outputs for several 224×224 inputs stacked into one tensor, with nsfwjs's own
 * preprocessing (`NSFWJS.infer`: float, ÷ 255, no resize at the input size): one call per batch.
 */
async function classifyStacked(
  model: NSFWJS,
  inputs: readonly Uint8Array[],
): Promise<Record<string, number>[]> {
  const tf = await tfjs();
  const px = NSFW_INPUT_SIZE * NSFW_INPUT_SIZE * 3;
  const all = new Int32Array(inputs.length * px);
  inputs.forEach((p, i) => all.set(p, i * px));
  const y = tf.tidy(() => {
    const x = tf.tensor4d(all, [inputs.length, NSFW_INPUT_SIZE, NSFW_INPUT_SIZE, 3], "int32");
    return model.model.predict(x.toFloat().div(tf.scalar(255))) as import("@tensorflow/tfjs").Tensor;
  });
  try {
    const v = await y.data();
    return inputs.map((_, i) =>
      Object.fromEntries(CLASS_ORDER.map((c, k) => [CLASS_COLUMNS[c], v[i * CLASS_ORDER.length + k]]))
    );
  } finally {
    y.dispose();
  }
}

const probabilitiesKey = (dir?: string) => `nsfw:${dir ?? NSFW_MODEL_DIR}`;

/**
 * The five class probabilities of an image, by output column name; computed once per image and
 * model folder (memoised in the context; `nsfw.prepareBatch` fills it for a batch at once).
 */
export function nsfwProbabilities(ctx: ImageContext, dir?: string): Promise<Record<string, number>> {
  return ctx.memo(probabilitiesKey(dir), async () => {
    const model = await getNsfwModel(dir);
    const [p] = await classifyStacked(model, [await inputPixels(ctx)]);
    return p;
  });
}

const OUTPUTS: OutputSpec[] = [
  ...Object.entries(CLASS_COLUMNS).map(([cls, name]): OutputSpec => ({
    name,
    unit: "probability 0–1",
    direction: cls === "Neutral" ? "higher_is_better" : cls === "Drawing" ? "neither" : "lower_is_better",
    description: `nsfwjs MobileNetV2 softmax probability of class "${cls}" (the five sum to 1)`,
  })),
  {
    name: "nsfw_unsafe",
    unit: "probability 0–1",
    direction: "lower_is_better",
    description: "nsfw_porn + nsfw_hentai",
  },
];

/** nsfwjs class probabilities and an unsafe probability with a threshold. */
export const nsfw: Heuristic = {
  name: "nsfw",
  description:
    "NSFW classifier (nsfwjs MobileNetV2): class probabilities drawing/hentai/neutral/porn/sexy; " +
    "porn + hentai above the threshold is unsafe.",
  errorType: "nsfw",
  outputs: OUTPUTS,
  thresholds: [{
    output: "nsfw_unsafe",
    max: 0.8,
    source:
      "eyeballed: the six clothed face-api demo photos reach 0.64 (the model over-calls party dresses); " +
      "calibrate it on your labels",
  }],
  // The 224×224 inputs of a batch stacked into one tensor, one model call: 8 from `deno task bench
  // --parts models --models nsfw --batch 1,4,8` (CPU ms/image 74 → 65 → 59 at batch 1, 4, 8;
  // README "Model heuristics in batches").
  batchSize: 8,
  async prepareBatch(ctxs) {
    const groups = new Map<string | undefined, ImageContext[]>();
    for (const ctx of ctxs) {
      const raw = ctx.settingsFor("nsfw");
      checkSettings("nsfw", raw, { modelDir: MODEL_DIR_SETTING });
      const dir = raw.modelDir as string | undefined;
      groups.set(dir, [...groups.get(dir) ?? [], ctx]);
    }
    for (const [dir, group] of groups) {
      const model = await getNsfwModel(dir);
      // An image that cannot be resized is left out: its own compute reports it.
      const inputs = await Promise.all(group.map((c) => inputPixels(c).catch(() => null)));
      const ok = group.filter((_, i) => inputs[i] !== null);
      const probs = await classifyStacked(model, inputs.filter((p): p is Uint8Array => p !== null));
      ok.forEach((ctx, i) => ctx.memo(probabilitiesKey(dir), () => Promise.resolve(probs[i])));
    }
  },
  async compute(ctx) {
    const raw = ctx.settingsFor("nsfw");
    checkSettings("nsfw", raw, { modelDir: MODEL_DIR_SETTING });
    const p = await nsfwProbabilities(ctx, raw.modelDir as string | undefined);
    return { ...p, nsfw_unsafe: p.nsfw_porn + p.nsfw_hentai };
  },
};
