/**
 * Scoring one image: run heuristics from the registry, apply threshold rules, and say why an
 * image is rejected. Async (model heuristics load and run their models); no file access of its
 * own. The score workers (`lib/score/worker.ts`, started by `ScorePool`) run it per file.
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
  const ctx = new ImageContext(image, options.image);
  const values: Record<string, Value> = {};
  for (const h of heuristicsFrom(options.heuristics)) Object.assign(values, await ctx.valuesOf(h));
  const details = Object.fromEntries(ctx.details);
  return options.rules
    ? { values, verdict: applyRules(values, options.rules), details }
    : { values, details };
}
