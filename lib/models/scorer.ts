/**
 * Learned scorers: a small model over score-table columns (e.g. `usable_score` from text, face,
 * sharpness … columns, or `face_quality` from the columns of the per-face table), stored as one JSON
 * file with its provenance, read and applied here. The fitter that writes such files is
 * `lib/calibrate/fit_scorer.ts`; `deno task fit NAME` refits one on your own labels, and the files
 * winnow ships are in `data/models/` ({@link SHIPPED_MODELS_DIR}). A heuristic that uses a scorer
 * declares it in its `scorers` list (the setting that takes the file), so `score --scorer FILE`
 * knows where a refitted file goes.
 *
 * File format (`"format": "winnow-scorer/1"`):
 * ```json
 * { "format": "winnow-scorer/1", "name": "usable", "output": "usable_score",
 *   "target": "labels' usable = yes",
 *   "features": [{ "name": "text_garbled_score", "transform": "identity", "missing": 0 }],
 *   "model": { "type": "logistic", "mean": [0.1], "scale": [0.2], "coef": [-0.8], "intercept": 2.3, "C": 0.1 },
 *   "provenance": { "labels": "data/labels/images.csv", "rows": 329, "positives": 299, "fitted": "2026-12-04",
 *     "command": "deno task fit usable …", "folds": 5, "seed": 0,
 *     "outOfFold": { "auc": 0.8, "low": 0.7, "high": 0.9 } } }
 * ```
 * The score is `sigmoid(intercept + Σ coef[j] · (x[j] − mean[j]) / scale[j])`, where `x[j]` is the
 * feature's column after its transform (`identity`, `log1p` of max(0, v), or `present`: 1 when the
 * column has a value, else 0) and an empty value is replaced by `missing` (before the transform).
 *
 * @module
 */
import { WinnowError } from "../core/errors.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Folder of the scorer files shipped with winnow: `data/models/` of the project. */
export const SHIPPED_MODELS_DIR: string = fileURLToPath(new URL("../../data/models/", import.meta.url));

/**
 * The shipped scorer file of `name`: `data/models/<name>.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shippedScorerPath } from "./scorer.ts";
 * assert.match(shippedScorerPath("face_quality"), /data\/models\/face_quality\.json$/);
 * ```
 */
export function shippedScorerPath(name: string): string {
  return join(SHIPPED_MODELS_DIR, `${name}.json`);
}

/** Format tag of scorer files. */
export const SCORER_FORMAT = "winnow-scorer/1";

/** Feature transforms. */
export const TRANSFORMS = ["identity", "log1p", "present"] as const;
/** One of {@link TRANSFORMS}. */
export type Transform = typeof TRANSFORMS[number];

/** One input of a scorer: a score-table column. */
export interface ScorerFeature {
  /** Column of a score table, e.g. `text_garbled_score`. */
  name: string;
  transform: Transform;
  /** Value used when the column is empty (not applicable: no text, no face). */
  missing: number;
}

/** Where a fitted scorer came from and how well it did out of fold. */
export interface ScorerProvenance {
  /** Labels file, as given (relative to the project). */
  labels: string;
  rows: number;
  /** Rows whose label is 1 (the target). */
  positives: number;
  /** ISO date and time of the fit. */
  fitted: string;
  /** The command that refits it. */
  command: string;
  folds: number;
  seed: number;
  /** ROC AUC of the out-of-fold scores with a stratified bootstrap 95 % interval. */
  outOfFold: { auc: number; low: number; high: number; resamples: number };
  [extra: string]: unknown;
}

/** A scorer file's content. */
export interface Scorer {
  format: typeof SCORER_FORMAT;
  name: string;
  /** Column the score fills, e.g. `usable_score`. */
  output: string;
  /** What a score near 1 means. */
  target: string;
  features: ScorerFeature[];
  model: {
    type: "logistic";
    mean: number[];
    scale: number[];
    coef: number[];
    intercept: number;
    C: number;
  };
  provenance: ScorerProvenance;
}

/** A scorer file that does not follow the format; the message names the file and field. */
export class ScorerFormatError extends WinnowError {}

/**
 * Checks parsed JSON as a scorer; every problem names `file` and the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseScorer } from "./scorer.ts";
 * const s = parseScorer({
 *   format: "winnow-scorer/1", name: "t", output: "t_score", target: "good",
 *   features: [{ name: "a", transform: "identity", missing: 0 }],
 *   model: { type: "logistic", mean: [0], scale: [1], coef: [1], intercept: 0, C: 1 }, provenance: {},
 * });
 * assert.equal(s.features[0].name, "a");
 * assert.throws(() => parseScorer({ format: "x" }, "m.json"), /m\.json: format/);
 * ```
 */
export function parseScorer(json: unknown, file = "<scorer>"): Scorer {
  const o = json as Record<string, unknown>;
  const fail = (field: string, what: string, got: unknown): never => {
    throw new ScorerFormatError(`${file}: ${field}: expected ${what}, got ${JSON.stringify(got)}`);
  };
  if (typeof o !== "object" || o === null) fail("(top)", "an object", o);
  if (o.format !== SCORER_FORMAT) fail("format", `"${SCORER_FORMAT}"`, o.format);
  for (const k of ["name", "output", "target"]) {
    if (typeof o[k] !== "string" || !o[k]) fail(k, "a non-empty string", o[k]);
  }
  if (!Array.isArray(o.features) || !o.features.length) fail("features", "a non-empty array", o.features);
  const features = (o.features as Record<string, unknown>[]).map((f, i): ScorerFeature => {
    if (typeof f?.name !== "string" || !f.name) fail(`features[${i}].name`, "a column name", f?.name);
    const transform = f.transform ?? "identity";
    if (!TRANSFORMS.includes(transform as Transform)) {
      fail(`features[${i}].transform`, `one of ${TRANSFORMS.join(", ")}`, transform);
    }
    if (!Number.isFinite(f.missing)) fail(`features[${i}].missing`, "a finite number", f.missing);
    return { name: f.name as string, transform: transform as Transform, missing: f.missing as number };
  });
  const m = o.model as Record<string, unknown>;
  if (typeof m !== "object" || m === null || m.type !== "logistic") {
    fail("model.type", '"logistic"', m?.type);
  }
  for (const k of ["mean", "scale", "coef"]) {
    const v = m[k];
    if (!Array.isArray(v) || v.length !== features.length || !v.every(Number.isFinite)) {
      fail(`model.${k}`, `${features.length} finite numbers (one per feature)`, v);
    }
  }
  if ((m.scale as number[]).some((v) => v <= 0)) fail("model.scale", "positive numbers", m.scale);
  if (!Number.isFinite(m.intercept)) fail("model.intercept", "a finite number", m.intercept);
  return {
    ...(o as unknown as Scorer),
    features,
    model: { ...(m as unknown as Scorer["model"]), C: Number(m.C ?? NaN) },
    provenance: (o.provenance ?? {}) as ScorerProvenance,
  };
}

const cache = new Map<string, Promise<Scorer>>();

/** Reads and checks a scorer file, once per process and path. */
export function loadScorer(path: string): Promise<Scorer> {
  let p = cache.get(path);
  if (!p) {
    p = (async () => {
      let text: string;
      try {
        text = await Deno.readTextFile(path);
      } catch (e) {
        throw new ScorerFormatError(`${path}: cannot read the scorer file: ${(e as Error).message}`);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new ScorerFormatError(`${path}: not valid JSON: ${(e as Error).message}`);
      }
      return parseScorer(json, path);
    })();
    p.catch(() => cache.delete(path));
    cache.set(path, p);
  }
  return p;
}

/**
 * A feature's model input from a raw column value (empty → `missing`, then the transform).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { featureValue } from "./scorer.ts";
 * assert.equal(featureValue({ name: "a", transform: "log1p", missing: 0 }, Math.E - 1), 1);
 * assert.equal(featureValue({ name: "a", transform: "identity", missing: 0.5 }, null), 0.5);
 * assert.equal(featureValue({ name: "a", transform: "present", missing: 0 }, 3), 1);
 * ```
 */
export function featureValue(f: ScorerFeature, raw: unknown): number {
  const present = typeof raw === "number" && Number.isFinite(raw);
  if (f.transform === "present") return present ? 1 : 0;
  const v = present ? raw as number : f.missing;
  return f.transform === "log1p" ? Math.log1p(Math.max(0, v)) : v;
}

/** The model inputs of one row of values, in feature order. */
export function featureVector(s: Pick<Scorer, "features">, values: Record<string, unknown>): number[] {
  return s.features.map((f) => featureValue(f, values[f.name]));
}

/**
 * The scorer's probability (0–1) for one row of values (score-table columns by name).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyScorer } from "./scorer.ts";
 * const s = {
 *   features: [{ name: "a", transform: "identity" as const, missing: 0 }],
 *   model: { type: "logistic" as const, mean: [1], scale: [2], coef: [4], intercept: -1, C: 1 },
 * };
 * assert.equal(applyScorer(s, { a: 3 }), 1 / (1 + Math.exp(-3)));
 * ```
 */
export function applyScorer(
  s: Pick<Scorer, "features" | "model">,
  values: Record<string, unknown>,
): number {
  const x = featureVector(s, values);
  let z = s.model.intercept;
  x.forEach((v, j) => (z += s.model.coef[j] * (v - s.model.mean[j]) / s.model.scale[j]));
  return 1 / (1 + Math.exp(-z));
}
