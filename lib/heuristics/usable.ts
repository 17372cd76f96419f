/**
 * Usability: would a person keep this image? `usable_score` (0–1, higher = more likely kept) is a
 * learned scorer (`lib/models/scorer.ts`) over the columns of other offline heuristics — garbled
 * text, faces, sharpness, … — fitted on hand-labeled real generations (`deno task fit usable`), so
 * a single number replaces a handful of hand-set thresholds. Which columns it reads, with what
 * weights, on which labels and how well it did out of fold are in the scorer file
 * ({@link DEFAULT_USABLE_MODEL}, `data/models/usable.json`).
 *
 * It runs the heuristics its columns come from ({@link USABLE_SOURCES}) through
 * `ctx.valuesOf`, so when they are also asked for by name nothing runs twice.
 *
 * Settings (`ctx.settingsFor("usable")`, `--set usable.model=FILE`):
 * - `model`: a scorer file (default {@link DEFAULT_USABLE_MODEL}); refit one on your own labels
 *   with `deno task fit usable --labels images.csv --out my_usable.json` and use it with
 *   `score --scorer my_usable.json`.
 *
 * The source heuristics read their own settings (e.g. `faces.minConfidence`); the scorer file's
 * `settings` (the ones its training scores were made with) fill in any the run does not set.
 *
 * @example
 * ```ts ignore
 * import { ImageContext } from "./types.ts";
 * import { usable } from "./usable.ts";
 * import { decodeImage } from "../core/image.ts";
 * console.log(await usable.compute(new ImageContext(await decodeImage("poster.jpg"))));
 * ```
 * @module
 */
import { fileURLToPath } from "node:url";
import { WinnowError } from "../core/errors.ts";
import type { Heuristic, ImageContext } from "./types.ts";
import { applyScorer, loadScorer, type Scorer } from "../models/scorer.ts";
import { sharpness } from "./sharpness.ts";
import { exposure } from "./exposure.ts";
import { colorfulness } from "./colorfulness.ts";
import { saliency } from "./saliency.ts";
import { faces } from "./faces.ts";
import { text } from "./text.ts";
import { textLanguage } from "./text_language.ts";
import { hands } from "./hands.ts";
import { pose } from "./pose.ts";
import { objects } from "./objects.ts";
import { nsfw } from "./nsfw.ts";
import { checkSettings, type SettingsSpec } from "../core/settings.ts";

/** The shipped usability scorer (fitted on `data/labels/images.csv`; see its provenance). */
export const DEFAULT_USABLE_MODEL: string = fileURLToPath(
  new URL("../../data/models/usable.json", import.meta.url),
);

/** Heuristics whose columns a usability scorer may read (offline ones only). */
export const USABLE_SOURCES: readonly Heuristic[] = [
  sharpness,
  exposure,
  colorfulness,
  saliency,
  faces,
  text,
  textLanguage,
  hands,
  pose,
  objects,
  nsfw,
];

/** A scorer column no source heuristic produces (bad settings are a `SettingsError`). */
export class UsableSettingsError extends WinnowError {}

/**
 * The source heuristics a scorer needs, each once, in {@link USABLE_SOURCES} order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sourcesOf } from "./usable.ts";
 * const need = sourcesOf({ features: [{ name: "text_garbled_score" }, { name: "laplacian_var" }] });
 * assert.deepEqual(need.map((h) => h.name), ["sharpness", "text"]);
 * ```
 */
export function sourcesOf(scorer: { features: readonly { name: string }[] }): Heuristic[] {
  const out: Heuristic[] = [];
  for (const f of scorer.features) {
    const h = USABLE_SOURCES.find((s) => s.outputs.some((o) => o.name === f.name));
    if (!h) {
      throw new UsableSettingsError(
        `usable: no offline heuristic produces the scorer's column "${f.name}" ` +
          `(sources: ${USABLE_SOURCES.map((s) => s.name).join(", ")})`,
      );
    }
    if (!out.includes(h)) out.push(h);
  }
  return USABLE_SOURCES.filter((h) => out.includes(h));
}

/** The settings of `usable`, with their defaults. */
export const USABLE_SETTINGS = {
  model: { kind: "string", what: "a scorer file path", default: DEFAULT_USABLE_MODEL },
} as const satisfies SettingsSpec;

function modelPath(ctx: ImageContext): string {
  return checkSettings("usable", ctx.settingsFor("usable"), USABLE_SETTINGS).model as string;
}

/** The values of every column `scorer` reads, computed by its source heuristics on `ctx`. */
export async function usableInputs(ctx: ImageContext, scorer: Scorer): Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  for (const h of sourcesOf(scorer)) Object.assign(values, await ctx.valuesOf(h));
  return values;
}

/** `usable_score`: a fitted model over other heuristics' columns. */
export const usable: Heuristic = {
  name: "usable",
  description: "Would a person keep this image? A logistic model over garbled-text, face, sharpness … " +
    "columns fitted on hand-labeled real generations (data/models/usable.json, refit: deno task fit usable).",
  errorType: "unusable",
  outputs: [{
    name: "usable_score",
    unit: "probability 0–1",
    direction: "higher_is_better",
    description:
      "the scorer file's logistic model (default data/models/usable.json) applied to the columns it names; " +
      "higher = more likely kept by a person",
  }],
  thresholds: [],
  scorers: [{ name: "usable", setting: "model" }],
  async compute(ctx) {
    const scorer = await loadScorer(modelPath(ctx));
    return { usable_score: applyScorer(scorer, await usableInputs(ctx, scorer)) };
  },
};
