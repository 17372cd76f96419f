/** Access to `../shared/reference/golden.json` and its images for tests. */
import { fileURLToPath } from "node:url";

/** Folder of the shared reference values (beside the repository). */
export const REFERENCE_DIR = fileURLToPath(new URL("../../shared/reference/", import.meta.url));

/** Per-image golden values. */
export interface GoldenImage {
  width: number;
  height: number;
  gray_mean: number;
  laplacian_var: number;
  tenengrad: number;
  skin_ratio: number;
  colorfulness: number;
  saliency_16x16: number[][];
}

/** The parsed golden file. */
export const GOLDEN = JSON.parse(await Deno.readTextFile(`${REFERENCE_DIR}golden.json`)) as {
  images: Record<string, GoldenImage>;
  // deno-lint-ignore no-explicit-any
  [block: string]: any;
};

/** Relative difference, with an absolute floor for values at zero. */
export function relErr(got: number, want: number): number {
  return Math.abs(got - want) / Math.max(Math.abs(want), 1e-300);
}

/** The golden `agreement` block: two raters' labels of 60 items and the reference statistics. */
export const GOLDEN_AGREEMENT = GOLDEN.agreement as {
  quality_a: number[];
  quality_b: number[];
  usable_a: string[];
  usable_b: string[];
  quality_kappa: number;
  quality_kappa_linear: number;
  quality_kappa_quadratic: number;
  usable_kappa: number;
  quality_spearman: number;
};

/** Folder of the evaluation golden files (`golden_eval.json` and the PNG/float32 arrays beside it). */
export const EVAL_DIR = `${REFERENCE_DIR}eval/`;

/** The parsed `eval/golden_eval.json` (its `definitions` say what each number is). */
export const GOLDEN_EVAL = JSON.parse(
  await Deno.readTextFile(`${EVAL_DIR}golden_eval.json`),
  // deno-lint-ignore no-explicit-any
) as Record<string, any>;

/** A little-endian float32 array file from the golden folder. */
export async function readF32(path: string): Promise<Float32Array> {
  const b = await Deno.readFile(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}
