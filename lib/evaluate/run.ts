/**
 * What `deno task evaluate` runs, as library functions (the CLI only parses arguments):
 *
 * - {@link evaluateFid}: FID, KID (mean and std over seeded subsets), k-NN precision/recall of a
 *   folder of generated images against a folder of real (or reference) images, on the features of
 *   one extractor (`lib/evaluate/features.ts`).
 * - {@link evaluatePairs}: SSIM, PSNR (8-bit gray) and optionally LPIPS per file name present in
 *   both folders, with means and bootstrap intervals.
 * - {@link evaluateClip}: mean CLIP score of the images of a generation manifest (torchmetrics'
 *   definition, `lib/heuristics/clip_score.ts`), with a bootstrap interval.
 *
 * @module
 */
import { basename, dirname, resolve } from "node:path";
import { decodeImage, toGray } from "../core/image.ts";
import { listImages } from "../core/files.ts";
import { loadPrompts } from "../core/prompts.ts";
import { clipScores } from "../heuristics/clip_score.ts";
import {
  frechet,
  inceptionScoreSplits,
  kidSubsets,
  knnPrecisionRecall,
  type MeanInterval,
  meanWithInterval,
} from "./distribution.ts";
import { extractFeatures, type ExtractorOptions, loadExtractor } from "./features.ts";
import { loadLpips } from "./lpips.ts";
import { psnr, ssim } from "./pairs.ts";
import { WinnowError } from "../core/errors.ts";

/** Bad input to an evaluation (a folder that is not one, too few images); the message says which. */
export class EvaluateError extends WinnowError {}

/** Progress callback: `done` of `total` images of the step `what`. */
export type OnProgress = (what: string, done: number, total: number, errors: number) => void;

/** Options of {@link evaluateFid}. */
export interface FidOptions extends ExtractorOptions {
  /** Extractor name (default `inception`). */
  features?: string;
  /** Feature cache folder (default none). */
  cacheDir?: string;
  batchSize?: number;
  /** KID subsets (default 100) and their largest size (default 1000). */
  kidSubsets?: number;
  kidSubsetSize?: number;
  /** Inception Score when the network has a classifier (default true) and its splits (default 10). */
  inceptionScore?: boolean;
  isSplits?: number;
  /** k of the precision/recall balls (default 3). */
  k?: number;
  seed?: number;
  onProgress?: OnProgress;
}

/** The result of {@link evaluateFid} (`--json` prints it). */
export interface FidResult {
  fid: number;
  kid: number;
  kid_std: number;
  kid_subsets: number;
  kid_subset_size: number;
  precision: number | null;
  recall: number | null;
  k: number;
  features: string;
  feature_dim: number;
  comparable_with_published_fid: boolean;
  note: string;
  n_real: number;
  n_fake: number;
  /** Inception Score of the fake images (mean and std over splits), when the network has a classifier. */
  is: number | null;
  is_std: number | null;
  is_splits: number | null;
  /** Imaginary part of Tr sqrt(S1 S2) (reported, see `frechet`). */
  fid_imaginary: number;
  warnings: string[];
  errors: { file: string; error: string }[];
  real: string;
  fake: string;
}

async function imagesIn(dir: string, what: string): Promise<string[]> {
  const st = await Deno.stat(dir).catch(() => null);
  if (!st?.isDirectory) throw new EvaluateError(`--${what} ${dir}: not a folder`);
  const { files } = await listImages([dir]);
  if (files.length < 2) {
    throw new EvaluateError(`--${what} ${dir}: ${files.length} images; FID needs at least 2 per folder`);
  }
  return files;
}

/**
 * FID, KID, precision and recall of `fake` against `real` (folders of images).
 *
 * @example
 * ```ts ignore
 * const r = await evaluateFid("data/real", "out/run1", { features: "nsfwjs-mobilenet_v2" });
 * console.log(r.fid, r.kid, r.kid_std);
 * ```
 */
export async function evaluateFid(real: string, fake: string, o: FidOptions = {}): Promise<FidResult> {
  const [realFiles, fakeFiles] = [await imagesIn(real, "real"), await imagesIn(fake, "fake")];
  const fx = await loadExtractor(o.features ?? "inception", o);
  const run = (files: string[], what: string) =>
    extractFeatures(files, fx, {
      cacheDir: o.cacheDir,
      batchSize: o.batchSize,
      onProgress: (d, t, e) => o.onProgress?.(what, d, t, e),
    });
  const r = await run(realFiles, "real");
  const f = await run(fakeFiles, "fake");
  const errors = [...r.errors, ...f.errors];
  if (r.features.length < 2 || f.features.length < 2) {
    throw new EvaluateError(
      `too few readable images (${r.features.length} real, ${f.features.length} fake); ` +
        errors.slice(0, 3).map((e) => e.error).join("; "),
    );
  }
  const fd = frechet(r.features, f.features);
  const kid = kidSubsets(r.features, f.features, {
    subsets: o.kidSubsets,
    subsetSize: o.kidSubsetSize,
    seed: o.seed,
  });
  const k = o.k ?? 3;
  const prOk = r.features.length > k && f.features.length > k;
  const pr = prOk ? knnPrecisionRecall(r.features, f.features, k) : null;
  // The Inception Score of the fake set, when the network has a classifier head (10 splits as
  // torch-fidelity; with fewer than 20 images, ⌊n / 2⌋ splits so each has at least 2).
  let is: { mean: number; std: number; splits: number } | null = null;
  if (fx.classify && o.inceptionScore !== false) {
    const probs: Float32Array[] = [];
    for (const [i, file] of f.files.entries()) {
      probs.push(await fx.classify(await decodeImage(file)));
      o.onProgress?.("fake (classes)", i + 1, f.files.length, 0);
    }
    is = inceptionScoreSplits(probs, Math.max(1, Math.min(o.isSplits ?? 10, Math.floor(probs.length / 2))));
  }
  const warnings = [...fd.warnings];
  if (!prOk) warnings.push(`precision/recall need more than k = ${k} images per set`);
  if (!fx.comparable) warnings.unshift(fx.note);
  return {
    fid: fd.value,
    kid: kid.kid,
    kid_std: kid.std,
    kid_subsets: kid.subsets,
    kid_subset_size: kid.subsetSize,
    precision: pr?.precision ?? null,
    recall: pr?.recall ?? null,
    k,
    features: fx.name,
    feature_dim: fx.dim,
    comparable_with_published_fid: fx.comparable,
    note: fx.note,
    n_real: r.features.length,
    n_fake: f.features.length,
    is: is?.mean ?? null,
    is_std: is?.std ?? null,
    is_splits: is?.splits ?? null,
    fid_imaginary: fd.imaginary,
    warnings,
    errors,
    real: resolve(real),
    fake: resolve(fake),
  };
}

/** One matched pair of {@link evaluatePairs}. */
export interface PairRow {
  file: string;
  ssim: number | null;
  psnr: number | null;
  lpips: number | null;
  error: string | null;
}

/** The result of {@link evaluatePairs}. */
export interface PairsResult {
  a: string;
  b: string;
  rows: PairRow[];
  /** Means with 95 % bootstrap intervals over pairs (PSNR over finite values only). */
  ssim: MeanInterval | null;
  psnr: MeanInterval | null;
  lpips: MeanInterval | null;
  /** File names only in one of the folders. */
  onlyInA: string[];
  onlyInB: string[];
  identical: number;
}

/**
 * SSIM, PSNR (and LPIPS with `lpips: true`, from the model store) of every file name present in
 * both folders `a` and `b` (relative paths are matched). A pair that fails (unreadable, different
 * sizes) gets an error and the others go on.
 *
 * @example
 * ```ts ignore
 * const r = await evaluatePairs("reference/", "restored/");
 * console.log(r.ssim?.mean, r.psnr?.ci95);
 * ```
 */
export async function evaluatePairs(
  a: string,
  b: string,
  o: { lpips?: boolean; modelsDir?: string; seed?: number; onProgress?: OnProgress } = {},
): Promise<PairsResult> {
  const rel = async (dir: string) => {
    const { files } = await listImages([dir]);
    const root = resolve(dir);
    return new Map(files.map((f) => [resolve(f).slice(root.length + 1), f]));
  };
  const [ma, mb] = [await rel(a), await rel(b)];
  const names = [...ma.keys()].filter((n) => mb.has(n)).sort();
  const lp = o.lpips ? await loadLpips({ modelsDir: o.modelsDir }) : null;
  const rows: PairRow[] = [];
  let errors = 0;
  for (const [i, name] of names.entries()) {
    const row: PairRow = { file: name, ssim: null, psnr: null, lpips: null, error: null };
    try {
      const [x, y] = [await decodeImage(ma.get(name)!), await decodeImage(mb.get(name)!)];
      if (x.width !== y.width || x.height !== y.height) {
        throw new Error(`sizes differ: ${x.width}×${x.height} and ${y.width}×${y.height}`);
      }
      const [gx, gy] = [toGray(x), toGray(y)];
      row.psnr = psnr(gx, gy);
      row.ssim = ssim(gx, gy, x.width, x.height);
      if (lp) row.lpips = await lp.distance(x, y);
    } catch (e) {
      row.error = `${name}: ${(e as Error).message}`;
      errors++;
    }
    rows.push(row);
    o.onProgress?.("pairs", i + 1, names.length, errors);
  }
  const mean = (vals: (number | null)[]) => {
    const v = vals.filter((x): x is number => x !== null && Number.isFinite(x));
    return v.length ? meanWithInterval(v, { seed: o.seed }) : null;
  };
  return {
    a: resolve(a),
    b: resolve(b),
    rows,
    ssim: mean(rows.map((r) => r.ssim)),
    psnr: mean(rows.map((r) => r.psnr)),
    lpips: lp ? mean(rows.map((r) => r.lpips)) : null,
    onlyInA: [...ma.keys()].filter((n) => !mb.has(n)).sort(),
    onlyInB: [...mb.keys()].filter((n) => !ma.has(n)).sort(),
    identical: rows.filter((r) => r.psnr === Infinity).length,
  };
}

/** Mean CLIP score of one run (a generation manifest). */
export interface ClipRunResult {
  manifest: string;
  run: string;
  images: number;
  clip_score: MeanInterval | null;
  errors: { file: string; error: string }[];
}

/**
 * Mean CLIP score (torchmetrics' `100 · max(cos, 0)`) of the images listed in a generation
 * `manifest.jsonl` (or any prompts file: `file`/`path` + `prompt`), with a 95 % bootstrap interval
 * over images. Images missing on disk or failing to decode are listed in `errors`.
 *
 * @example
 * ```ts ignore
 * const r = await evaluateClip("out/run1/manifest.jsonl");
 * console.log(r.clip_score?.mean, r.clip_score?.ci95);
 * ```
 */
export async function evaluateClip(
  manifest: string,
  o: { model?: string; modelsDir?: string; dtype?: string; seed?: number; onProgress?: OnProgress } = {},
): Promise<ClipRunResult> {
  const table = await loadPrompts(manifest);
  const entries = [...table.byPath.entries()];
  const scores: number[] = [];
  const errors: { file: string; error: string }[] = [];
  for (const [i, [file, prompt]] of entries.entries()) {
    try {
      const img = await decodeImage(file);
      const [r] = await clipScores([img], [prompt], {
        model: o.model,
        modelsDir: o.modelsDir,
        dtype: o.dtype,
      });
      scores.push(r.clip_score);
    } catch (e) {
      const msg = (e as Error).message;
      errors.push({ file, error: msg });
      if ((e as Error).name === "ModelNotFoundError" || (e as Error).name === "ModelFileError") throw e;
    }
    o.onProgress?.(basename(manifest), i + 1, entries.length, errors.length);
  }
  return {
    manifest: resolve(manifest),
    run: basename(dirname(resolve(manifest))),
    images: scores.length,
    clip_score: scores.length ? meanWithInterval(scores, { seed: o.seed }) : null,
    errors,
  };
}
