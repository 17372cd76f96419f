/**
 * One `@vladmandic/human` instance shared by the hand, body and object heuristics (`hands`,
 * `pose`, `objects`), on the TF.js wasm backend, with weights from the package's `models/` folder:
 *
 * | module   | model files                                   | what it gives                          |
 * | -------- | --------------------------------------------- | -------------------------------------- |
 * | `hand`   | `handtrack` + `handlandmark-lite`             | hand boxes, 21 keypoints, finger score |
 * | `body`   | `movenet-lightning`                           | 17 COCO keypoints of one person        |
 * | `object` | `centernet`                                   | COCO boxes (80 classes)                |
 *
 * Each module's models load on its first use, once per process (per worker); every call names its
 * module and runs with only that module switched on. Human keeps the last call's configuration
 * and some state between calls, so calls go through a queue, one at a time. Result caching
 * between calls (Human's video mode) is off: every image is detected afresh. Human and TF.js are
 * imported on first use, not when this module is imported.
 *
 * Model files are checked before Human sees them (Human only logs a load failure and then
 * returns nothing): a missing file, a JSON file that does not parse, or a weights file whose
 * size does not match its manifest is a {@link ModelFileError} naming the file.
 *
 * @module
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { RgbImage } from "../core/image.ts";
import {
  ensureWasmBackend,
  ModelFileError,
  NODE_MODULES,
  requireFiles,
  type TfWasmApi,
  WASM_DIR,
} from "./tfjs.ts";

/** The Human modules this project uses. */
export type HumanModule = "hand" | "body" | "object";

/** Model files of each module (JSON graph + weights), in its model folder. */
export const HUMAN_MODULE_FILES: Readonly<Record<HumanModule, readonly string[]>> = {
  hand: ["handtrack.json", "handtrack.bin", "handlandmark-lite.json", "handlandmark-lite.bin"],
  body: ["movenet-lightning.json", "movenet-lightning.bin"],
  object: ["centernet.json", "centernet.bin"],
};

/** Default model folder: `@vladmandic/human/models/` in this project's `node_modules`. */
export const HUMAN_MODEL_DIR: string = join(NODE_MODULES, "@vladmandic/human/models/");

const off = { enabled: false };
const noCache = { skipFrames: 0, skipTime: 0 };

/** Human configuration of each module with every other module off (per-call options merge in). */
function moduleConfig(m: HumanModule, opts: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = { face: off, body: off, hand: off, object: off };
  if (m === "hand") {
    base.hand = {
      enabled: true,
      rotation: true,
      minConfidence: 0.5,
      iouThreshold: 0.2,
      maxDetected: 20,
      landmarks: true,
      ...noCache,
      detector: { modelPath: "handtrack.json" },
      skeleton: { modelPath: "handlandmark-lite.json" },
      ...opts,
    };
  } else if (m === "body") {
    base.body = {
      enabled: true,
      modelPath: "movenet-lightning.json",
      maxDetected: 1,
      minConfidence: 0,
      ...noCache,
      ...opts,
    };
  } else {
    base.object = {
      enabled: true,
      modelPath: "centernet.json",
      maxDetected: 100,
      minConfidence: 0.3,
      iouThreshold: 0.95,
      ...noCache,
      ...opts,
    };
  }
  return base;
}

const DTYPE_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  uint16: 2,
  float16: 2,
  uint8: 1,
  bool: 1,
};

/**
 * Throws {@link ModelFileError} naming the file when a TF.js graph model's JSON does not parse or
 * its weight files do not hold the bytes its manifest declares (a truncated or corrupt download).
 *
 * @example
 * ```ts ignore
 * import { checkGraphModel } from "./human.ts";
 * await checkGraphModel("node_modules/@vladmandic/human/models/", "centernet.json");
 * ```
 */
export async function checkGraphModel(dir: string, jsonFile: string): Promise<void> {
  const path = join(dir, jsonFile);
  let json: { weightsManifest?: { paths: string[]; weights: Record<string, unknown>[] }[] };
  try {
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new ModelFileError(
      dir,
      `model file ${jsonFile} in this folder is corrupt: ${(e as Error).message}`,
    );
  }
  for (const group of json.weightsManifest ?? []) {
    let expected = 0;
    for (const w of group.weights) {
      const q = w.quantization as { dtype?: string } | undefined;
      const bytes = DTYPE_BYTES[q?.dtype ?? String(w.dtype)];
      if (!bytes) return; // string weights: size not computable, leave it to TF.js
      expected += bytes * (w.shape as number[]).reduce((a, b) => a * b, 1);
    }
    let actual = 0;
    for (const p of group.paths) {
      const st = await Deno.stat(join(dir, p)).catch(() => null);
      if (!st?.isFile) {
        throw new ModelFileError(dir, `model file ${p} (named in ${jsonFile}) not found in this folder`);
      }
      actual += st.size;
    }
    if (actual !== expected) {
      throw new ModelFileError(
        dir,
        `model file ${group.paths.join(", ")} in this folder is corrupt: ${actual} bytes, ` +
          `${jsonFile} declares ${expected}`,
      );
    }
  }
}

/** Raw Human result of one call (only the arrays of the module asked for are filled). */
export interface HumanResult {
  // deno-lint-ignore no-explicit-any
  hand: any[];
  // deno-lint-ignore no-explicit-any
  body: any[];
  // deno-lint-ignore no-explicit-any
  object: any[];
  // deno-lint-ignore no-explicit-any
  face: any[];
}

/** A loaded shared Human instance; see the module doc. */
export interface SharedHuman {
  readonly modelDir: string;
  /**
   * Runs module `m` on `img` (already at the size wanted; callers resize with
   * `scaledForDetection`). Positions in the result are pixels of `img`.
   */
  detect(m: HumanModule, img: RgbImage, opts?: Record<string, unknown>): Promise<HumanResult>;
}

type Tf = TfWasmApi & {
  tensor3d(values: Int32Array, shape: [number, number, number], dtype: "int32"): { dispose(): void };
};

const instances = new Map<string, Promise<SharedHuman>>();

/**
 * The shared Human instance for `modelDir` (default {@link HUMAN_MODEL_DIR}), created once per
 * process; a module's models are checked and loaded on its first {@link SharedHuman.detect}.
 *
 * @example
 * ```ts ignore
 * import { getSharedHuman } from "./human.ts";
 * import { decodeImage } from "../core/image.ts";
 * const human = await getSharedHuman();
 * const r = await human.detect("object", await decodeImage("street.jpg"));
 * console.log(r.object.map((o) => `${o.label} ${o.score}`));
 * ```
 */
export function getSharedHuman(modelDir: string = HUMAN_MODEL_DIR): Promise<SharedHuman> {
  const dir = modelDir.endsWith("/") ? modelDir : `${modelDir}/`;
  let p = instances.get(dir);
  if (!p) {
    p = createShared(dir);
    instances.set(dir, p);
    p.catch(() => instances.delete(dir));
  }
  return p;
}

async function createShared(dir: string): Promise<SharedHuman> {
  // Imported on first use, so that importing the registry does not load TF.js.
  const { Human } = await import("../../node_modules/@vladmandic/human/dist/human.node-wasm.js");
  const human = new Human({
    backend: "wasm",
    wasmPath: WASM_DIR,
    modelBasePath: pathToFileURL(dir).href,
    debug: false,
    async: true,
    warmup: "none",
    cacheSensitivity: 0,
    face: off,
    body: off,
    hand: off,
    object: off,
    gesture: off,
    segmentation: off,
    filter: off,
  } as never);
  const tf = human.tf as unknown as Tf;
  await ensureWasmBackend(tf);
  const ready = new Map<HumanModule, Promise<void>>();
  const load = (m: HumanModule) => {
    let r = ready.get(m);
    if (!r) {
      r = (async () => {
        await requireFiles(`human ${m}`, dir, HUMAN_MODULE_FILES[m]);
        for (const f of HUMAN_MODULE_FILES[m].filter((f) => f.endsWith(".json"))) {
          await checkGraphModel(dir, f);
        }
        await human.load(moduleConfig(m) as never);
      })();
      ready.set(m, r);
      r.catch(() => ready.delete(m));
    }
    return r;
  };
  let queue: Promise<unknown> = Promise.resolve();
  return {
    modelDir: dir,
    detect(m, img, opts) {
      const run = async (): Promise<HumanResult> => {
        await load(m);
        const input = tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, 3], "int32");
        try {
          const r = await human.detect(input as never, moduleConfig(m, opts) as never);
          if (r.error) throw new Error(`human ${m}: ${r.error}`);
          return r as unknown as HumanResult;
        } finally {
          input.dispose();
        }
      };
      const next = queue.then(run, run);
      queue = next.catch(() => {});
      return next;
    },
  };
}
