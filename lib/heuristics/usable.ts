/**
 * Usability: would a person keep this image? `usable_score` (0–1, higher = more likely kept) is a
 * learned scorer (`lib/models/scorer.ts`) over the columns of other heuristics — garbled text,
 * faces, sharpness, … and, in a refit of your own (`deno task fit usable --features …`), model
 * columns such as `clip_score`, `aesthetic` or the multimodal `probe_*` — fitted on hand-labeled
 * real generations, so a single number replaces a handful of hand-set thresholds. Which columns it
 * reads, with what weights, on which labels and how well it did out of fold are in the scorer file
 * ({@link DEFAULT_USABLE_MODEL}, `data/models/usable.json`; the shipped one reads offline columns
 * only).
 *
 * Where its columns come from: the heuristic that declares the column among its outputs
 * ({@link sourcesOf}), looked up in the registry's one list of heuristics. This file cannot import
 * the registry (the registry imports it: a cycle), so the registry builds the heuristic with
 * {@link usableHeuristic}, handing it a function that returns the registry's list; there is no
 * second list to drift. Each source runs through `ctx.valuesOf`, so when it is also asked for by
 * name nothing runs twice, and it reads its own settings from the run (`--set probe.baseUrl=…`,
 * `--models DIR`, `--prompt …`; e.g. `faces.minConfidence`).
 *
 * Settings (`ctx.settingsFor("usable")`, `--set usable.model=FILE`):
 * - `model`: a scorer file (default {@link DEFAULT_USABLE_MODEL}); refit one on your own labels
 *   with `deno task fit usable --labels images.csv --out my_usable.json` and use it with
 *   `score --scorer my_usable.json`.
 *
 * @example
 * ```ts ignore
 * import { ImageContext } from "./types.ts";
 * import { resolveHeuristics } from "./registry.ts";
 * import { decodeImage } from "../core/image.ts";
 * const [usable] = resolveHeuristics(["usable"]);
 * console.log(await usable.compute(new ImageContext(await decodeImage("poster.jpg"))));
 * ```
 * @module
 */
import { fileURLToPath } from "node:url";
import { WinnowError } from "../core/errors.ts";
import type { Heuristic, ImageContext } from "./types.ts";
import { applyScorer, loadScorer, type Scorer } from "../models/scorer.ts";
import { checkSettings, type SettingsSpec } from "../core/settings.ts";

/** The shipped usability scorer (fitted on `data/labels/images.csv`; see its provenance). */
export const DEFAULT_USABLE_MODEL: string = fileURLToPath(
  new URL("../../data/models/usable.json", import.meta.url),
);

/** The heuristic's name (it cannot read its own column). */
export const USABLE_NAME = "usable";

/** A scorer column no heuristic produces (bad settings are a `SettingsError`). */
export class UsableSettingsError extends WinnowError {}

/**
 * The heuristics (of `among`, e.g. the registry's list) a scorer's columns come from, each once, in
 * `among` order; a column no heuristic of `among` but `usable` itself declares is an error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sourcesOf } from "./usable.ts";
 * const h = (name: string, ...cols: string[]) => ({ name, outputs: cols.map((c) => ({ name: c })) });
 * const among = [h("sharpness", "laplacian_var"), h("probe", "probe_garbled_text"), h("text", "text_regions")];
 * const need = sourcesOf({ features: [{ name: "text_regions" }, { name: "probe_garbled_text" }] }, among);
 * assert.deepEqual(need.map((s) => s.name), ["probe", "text"]);
 * assert.throws(() => sourcesOf({ features: [{ name: "nope" }] }, among), /no heuristic produces .*"nope"/);
 * ```
 */
export function sourcesOf<
  H extends Pick<Heuristic, "name"> & {
    outputs: readonly { name: string }[];
    batch?: { outputs: readonly { name: string }[] };
  },
>(
  scorer: { features: readonly { name: string }[] },
  among: readonly H[],
): H[] {
  const candidates = among.filter((h) => h.name !== USABLE_NAME);
  const out = new Set<H>();
  for (const f of scorer.features) {
    const h = candidates.find((s) => s.outputs.some((o) => o.name === f.name));
    const batchOwner = among.find((s) => s.batch?.outputs.some((o) => o.name === f.name));
    if (!h && batchOwner) {
      throw new UsableSettingsError(
        `usable: the scorer's column "${f.name}" is a batch column of ${batchOwner.name} (computed across ` +
          `a batch after scoring), so usable could not compute it per image`,
      );
    }
    if (!h) {
      throw new UsableSettingsError(
        `usable: no heuristic produces the scorer's column "${f.name}", so usable could not compute it ` +
          `when it runs (its columns are outputs of: ${candidates.map((s) => s.name).join(", ")})`,
      );
    }
    out.add(h);
  }
  return candidates.filter((h) => out.has(h));
}

/** The settings of `usable`, with their defaults. */
export const USABLE_SETTINGS = {
  model: { kind: "string", what: "a scorer file path", default: DEFAULT_USABLE_MODEL },
} as const satisfies SettingsSpec;

function modelPath(ctx: ImageContext): string {
  return checkSettings("usable", ctx.settingsFor("usable"), USABLE_SETTINGS).model as string;
}

/** The values of every column `scorer` reads, computed by its source heuristics (of `among`) on `ctx`. */
export async function usableInputs(
  ctx: ImageContext,
  scorer: Scorer,
  among: readonly Heuristic[],
): Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  for (const h of sourcesOf(scorer, among)) Object.assign(values, await ctx.valuesOf(h));
  return values;
}

/**
 * The `usable` heuristic, whose scorer's columns are looked up in `heuristics()` (called when it
 * runs): the registry builds it with its own list (`registry.ts`), the one list of heuristics.
 *
 * @example
 * ```ts ignore
 * import { usableHeuristic } from "./usable.ts";
 * const usable = usableHeuristic(() => HEURISTICS);
 * ```
 */
export function usableHeuristic(heuristics: () => readonly Heuristic[]): Heuristic {
  return {
    name: USABLE_NAME,
    description:
      "Would a person keep this image? A logistic model over other heuristics' columns (shipped: " +
      "garbled-text, text, colour and NSFW columns) fitted on hand-labeled real generations " +
      "(data/models/usable.json, refit: deno task fit usable [--features …]).",
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
      return { usable_score: applyScorer(scorer, await usableInputs(ctx, scorer, heuristics())) };
    },
  };
}
