/**
 * LPIPS (Zhang et al. 2018, the AlexNet variant `lpips.LPIPS(net="alex")`, v0.1) from the model
 * store as ONNX: `<store>/lpips/alex.onnx`, inputs `in0`, `in1` `[N, 3, H, W]` float32 in
 * [−1, 1] (RGB), output `[N, 1, 1, 1]` the distance (0 = identical). How to export it: README,
 * "Evaluating generators". Images are fed at their own size (LPIPS is fully convolutional) and
 * must have the same size; pixels are scaled `x / 127.5 − 1`, as `lpips.im2tensor` does.
 *
 * @module
 */
import { join } from "node:path";
import type * as Ort from "onnxruntime-node";
import type { RgbImage } from "../core/image.ts";
import { loadingFile, ModelFileError, ModelNotFoundError, modelsDir } from "../models/store.ts";

/** Where the LPIPS network lives inside the model store. */
export const LPIPS_FILE = "lpips/alex.onnx";

/**
 * An image as LPIPS takes it: NCHW float32, `x / 127.5 − 1` (−1 … 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lpipsInput } from "./lpips.ts";
 * const x = lpipsInput({ width: 1, height: 1, data: Uint8Array.of(0, 255, 51) });
 * assert.deepEqual([...x].map((v) => Math.round(v * 1e6) / 1e6), [-1, 1, -0.6]);
 * ```
 */
export function lpipsInput(img: RgbImage): Float32Array {
  const n = img.width * img.height, out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[c * n + i] = img.data[i * 3 + c] / 127.5 - 1;
  return out;
}

/** A loaded LPIPS network. */
export interface Lpips {
  readonly file: string;
  /** The LPIPS distance of two images of the same size. */
  distance(a: RgbImage, b: RgbImage): Promise<number>;
}

/**
 * Loads LPIPS (AlexNet) from the model store; a missing file names it and the export recipe.
 *
 * @example
 * ```ts ignore
 * const lp = await loadLpips();
 * console.log(await lp.distance(imgA, imgB));   // 0.23
 * ```
 */
export async function loadLpips(o: { modelsDir?: string; threads?: number } = {}): Promise<Lpips> {
  const store = modelsDir(o.modelsDir);
  const file = join(store, LPIPS_FILE);
  if (!(await Deno.stat(file).catch(() => null))?.isFile) {
    throw new ModelNotFoundError(
      "lpips",
      file,
      file,
      'Export lpips.LPIPS(net="alex") to ONNX as README.md says ("Evaluating generators") and put it there',
    );
  }
  const ort = await import("onnxruntime-node");
  const threads = Math.max(1, Math.floor(o.threads ?? (navigator.hardwareConcurrency || 1)));
  const session: Ort.InferenceSession = await loadingFile(
    file,
    () => ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1 }),
  );
  if (session.inputNames.length !== 2) {
    throw new ModelFileError(
      file,
      `LPIPS takes two images; this graph has inputs ${session.inputNames.join(", ")}`,
    );
  }
  return {
    file,
    async distance(a, b) {
      if (a.width !== b.width || a.height !== b.height) {
        throw new RangeError(
          `lpips: the images differ in size (${a.width}×${a.height} and ${b.width}×${b.height})`,
        );
      }
      const dims = [1, 3, a.height, a.width];
      const [i0, i1] = session.inputNames;
      let out: Ort.InferenceSession.OnnxValueMapType;
      try {
        out = await session.run({
          [i0]: new ort.Tensor("float32", lpipsInput(a), dims),
          [i1]: new ort.Tensor("float32", lpipsInput(b), dims),
        });
      } catch (e) {
        throw new ModelFileError(
          file,
          `cannot run on two [${dims.join(", ")}] images: ${(e as Error).message.split("\n")[0]}`,
        );
      }
      const y = out[session.outputNames[0]].data as Float32Array;
      if (y.length !== 1) throw new ModelFileError(file, `expected one distance, got ${y.length} values`);
      return y[0];
    },
  };
}
