/**
 * The one list of heuristics. The CLI, notebooks and calibration find heuristics here and
 * nowhere else; adding a heuristic means adding its file and one line below.
 *
 * @module
 */
import type { Heuristic, OutputSpec } from "./types.ts";
import { sharpness } from "./sharpness.ts";
import { exposure } from "./exposure.ts";
import { colorfulness } from "./colorfulness.ts";
import { skin } from "./skin.ts";
import { saliency } from "./saliency.ts";
import { phash } from "./phash.ts";
import { faces } from "./faces.ts";
import { clipScore } from "./clip_score.ts";
import { aesthetic, pickScore } from "./preference.ts";
import { probe } from "./probe.ts";
import { text } from "./text.ts";
import { hands } from "./hands.ts";
import { pose } from "./pose.ts";
import { objects } from "./objects.ts";
import { nsfw } from "./nsfw.ts";
import { usable } from "./usable.ts";

/** Every heuristic, in the order their columns appear in score tables. */
export const HEURISTICS: readonly Heuristic[] = [
  sharpness,
  exposure,
  colorfulness,
  skin,
  saliency,
  phash,
  faces,
  clipScore,
  pickScore,
  aesthetic,
  probe,
  text,
  hands,
  pose,
  objects,
  nsfw,
  usable,
];

/**
 * Heuristics that run a model (loaded once per worker, slower, async): run only when asked for by
 * name (`--heuristics faces`, `--faces FILE`), never by default.
 */
export const MODEL_HEURISTICS: readonly string[] = [
  "faces",
  "clip_score",
  "pick_score",
  "aesthetic",
  "probe",
  "text",
  "hands",
  "pose",
  "objects",
  "nsfw",
  "usable",
];

/** Names run when none are chosen: every heuristic that needs no model. */
export const DEFAULT_HEURISTICS: readonly string[] = HEURISTICS.map((h) => h.name).filter(
  (n) => !MODEL_HEURISTICS.includes(n),
);

/** An unknown heuristic name; the message lists the known ones. */
export class UnknownHeuristicError extends Error {
  override name = "UnknownHeuristicError";
}

/**
 * Looks heuristics up by name, in registry order, each once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveHeuristics } from "./registry.ts";
 * assert.deepEqual(resolveHeuristics(["skin", "sharpness"]).map((h) => h.name), ["sharpness", "skin"]);
 * ```
 */
export function resolveHeuristics(names: readonly string[] = DEFAULT_HEURISTICS): Heuristic[] {
  const known = new Map(HEURISTICS.map((h) => [h.name, h]));
  for (const n of names) {
    if (!known.has(n)) {
      throw new UnknownHeuristicError(
        `unknown heuristic "${n}"; known: ${HEURISTICS.map((h) => h.name).join(", ")}`,
      );
    }
  }
  return HEURISTICS.filter((h) => names.includes(h.name));
}

/** The output columns of `heuristics`, in order. */
export function outputsOf(heuristics: readonly Heuristic[]): OutputSpec[] {
  return heuristics.flatMap((h) => h.outputs);
}

/**
 * The heuristic that applies learned scorer `name` and the setting that takes its file, or
 * undefined when no heuristic uses such a scorer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scorerUse } from "./registry.ts";
 * assert.deepEqual(scorerUse("face_quality"), { heuristic: "faces", setting: "qualityModel" });
 * assert.equal(scorerUse("no_such_scorer"), undefined);
 * ```
 */
export function scorerUse(name: string): { heuristic: string; setting: string } | undefined {
  for (const h of HEURISTICS) {
    const use = h.scorers?.find((s) => s.name === name);
    if (use) return { heuristic: h.name, setting: use.setting };
  }
  return undefined;
}
