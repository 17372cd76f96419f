/**
 * Scoring one image: run heuristics from the registry, apply threshold rules, and say why an
 * image is rejected. Async (model heuristics load and run their models); no file access of its
 * own. The score workers (`lib/score/handle.ts`, started by `ScorePool`) run {@link scoreImages} on
 * the images they have gathered, so model heuristics can run their models on a batch.
 *
 * @module
 */
import type { RgbImage } from "../core/image.ts";
import {
  type DetailRow,
  type Heuristic,
  ImageContext,
  type ImageOptions,
  type Value,
} from "../heuristics/types.ts";
import { resolveHeuristics } from "../heuristics/registry.ts";
import { applyRules, type ThresholdRule, type Verdict } from "./rules.ts";

/** The scores of one image and, when rules were given, the verdict. */
export interface ImageResult {
  /** One value per output column of the heuristics run. */
  values: Record<string, Value>;
  /** Present when rules were given. */
  verdict?: Verdict;
  /** Rows of per-item tables (e.g. `faces`), by table name. */
  details: Record<string, DetailRow[]>;
}

/** Options of {@link scoreImage}. */
export interface ScoreOptions {
  /** Heuristics to run (objects or registry names). Default: the ones without a model (`DEFAULT_HEURISTICS`). */
  heuristics?: readonly (Heuristic | string)[];
  /** Threshold rules to apply; omit for values only. */
  rules?: readonly ThresholdRule[];
  /** Region or mask for region checks (skin in an inpainted area). */
  image?: ImageOptions;
}

/** Turns a mixed list of heuristic objects and names into objects. */
export function heuristicsFrom(list?: readonly (Heuristic | string)[]): Heuristic[] {
  if (!list) return resolveHeuristics();
  const names = list.filter((h): h is string => typeof h === "string");
  const named = names.length ? resolveHeuristics(names) : [];
  return list.map((h) => typeof h === "string" ? named.find((n) => n.name === h)! : h);
}

/**
 * Scores one decoded image.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scoreImage } from "./score_image.ts";
 * import { defaultRules } from "./rules.ts";
 * import { resolveHeuristics } from "../heuristics/registry.ts";
 * const flat = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(128) };
 * const r = await scoreImage(flat, { heuristics: ["sharpness"], rules: defaultRules(resolveHeuristics(["sharpness"])) });
 * assert.deepEqual([r.values.laplacian_var, r.verdict?.reasons], [0, ["blur"]]);
 * ```
 */
export async function scoreImage(image: RgbImage, options: ScoreOptions = {}): Promise<ImageResult> {
  return await scoreContext(
    new ImageContext(image, options.image),
    heuristicsFrom(options.heuristics),
    options.rules,
  );
}

async function scoreContext(
  ctx: ImageContext,
  heuristics: readonly Heuristic[],
  rules?: readonly ThresholdRule[],
): Promise<ImageResult> {
  const values: Record<string, Value> = {};
  for (const h of heuristics) Object.assign(values, await ctx.valuesOf(h));
  const details = Object.fromEntries(ctx.details);
  return rules ? { values, verdict: applyRules(values, rules), details } : { values, details };
}

/** One image of a {@link scoreImages} batch with its per-image options (path, region, mask, settings). */
export interface BatchItem {
  image: RgbImage;
  options?: ImageOptions;
}

/** Options of {@link scoreImages}: those of {@link scoreImage} but the per-image ones, and a batch size. */
export interface BatchScoreOptions extends Omit<ScoreOptions, "image"> {
  /**
   * Images per `prepareBatch` call of every heuristic that has one; default each heuristic's own
   * `batchSize` (1 = each image alone, as {@link scoreImage}).
   */
  batch?: number;
}

/**
 * Scores several decoded images: each heuristic with a `prepareBatch` first runs its model on up to
 * `batch` images at once, then every image is scored as {@link scoreImage} scores it, reading the
 * memoised model outputs. One result per image, in order: a failure (a heuristic that throws on
 * that image) is that image's rejected result only. A `prepareBatch` that throws is ignored, so
 * each image then runs the model alone and only the image to blame gets the error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scoreImages } from "./score_image.ts";
 * const flat = (v: number) => ({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(v) });
 * const [a, b] = await scoreImages([{ image: flat(0) }, { image: flat(255) }], { heuristics: ["exposure"] });
 * assert.ok(a.status === "fulfilled" && b.status === "fulfilled");
 * ```
 */
export async function scoreImages(
  items: readonly BatchItem[],
  options: BatchScoreOptions = {},
): Promise<PromiseSettledResult<ImageResult>[]> {
  const ctxs = items.map((it) => new ImageContext(it.image, it.options));
  const heuristics = heuristicsFrom(options.heuristics);
  for (const h of heuristics) {
    const size = Math.max(1, Math.floor(options.batch ?? h.batchSize ?? 1));
    if (!h.prepareBatch || size < 2 || ctxs.length < 2) continue;
    for (let i = 0; i < ctxs.length; i += size) {
      const chunk = ctxs.slice(i, i + size);
      if (chunk.length < 2) continue; // alone: `compute` runs the model as usual
      try {
        await h.prepareBatch(chunk);
      } catch {
        // Each image of the chunk runs alone in `compute`; the one to blame gets the error there.
      }
    }
  }
  const out: PromiseSettledResult<ImageResult>[] = [];
  for (const ctx of ctxs) {
    try {
      out.push({ status: "fulfilled", value: await scoreContext(ctx, heuristics, options.rules) });
    } catch (e) {
      out.push({ status: "rejected", reason: e });
    }
  }
  return out;
}
