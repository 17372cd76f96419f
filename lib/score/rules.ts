/**
 * Threshold rules: which value of which column makes an image fail, and the error type it is
 * counted under. Heuristics declare defaults; `calibrate` writes measured ones to a thresholds
 * file that `score --thresholds FILE` reads.
 *
 * File format (JSON):
 * ```json
 * { "winnow": "thresholds", "version": 1,
 *   "rules": [{ "column": "laplacian_var", "min": 100, "error_type": "blur", "source": "…" }] }
 * ```
 * A rule needs `column`, `error_type` and at least one of `min`/`max`; other keys are kept.
 *
 * @module
 */
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import type { Heuristic, Value } from "../heuristics/types.ts";
import { writeAtomic } from "../core/atomic.ts";
import { WinnowError } from "../core/errors.ts";

/** One rule: the image fails when `column` is below `min` or above `max`. */
export interface ThresholdRule {
  column: string;
  min?: number;
  max?: number;
  error_type: string;
  /** Where the number comes from (default, calibration run, …). */
  source?: string;
  [extra: string]: unknown;
}

/** The outcome of one rule on one image. `passed` is null when the value is empty (not applicable). */
export interface CheckResult {
  column: string;
  value: Value;
  min?: number;
  max?: number;
  error_type: string;
  passed: boolean | null;
}

/** What thresholds say about one image. */
export interface Verdict {
  kept: boolean;
  /** Error types of the failed rules, each once, in rule order. */
  reasons: string[];
  checks: CheckResult[];
}

/** Error type given to images that could not be decoded. */
export const UNREADABLE = "unreadable";

/** A thresholds file or rule list that does not follow the format; names file and field. */
export class ThresholdsError extends WinnowError {}

/**
 * The default rules declared by `heuristics`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRules } from "./rules.ts";
 * import { sharpness } from "../heuristics/sharpness.ts";
 * assert.deepEqual(defaultRules([sharpness])[0].column, "laplacian_var");
 * ```
 */
export function defaultRules(heuristics: readonly Heuristic[]): ThresholdRule[] {
  return heuristics.flatMap((h) =>
    h.thresholds.map((t) => ({
      column: t.output,
      ...(t.min !== undefined ? { min: t.min } : {}),
      ...(t.max !== undefined ? { max: t.max } : {}),
      error_type: t.errorType ?? h.errorType,
      source: `default of heuristic ${h.name}: ${t.source}`,
    }))
  );
}

/**
 * The shipped calibrated rules (`data/models/thresholds.json`, written by `deno task fit usable`:
 * thresholds chosen on out-of-fold scores of the shipped labels, not by eye).
 */
export const CALIBRATED_THRESHOLDS: string = fileURLToPath(
  new URL("../../data/models/thresholds.json", import.meta.url),
);

/**
 * What `--thresholds defaults` applies: the heuristics' declared defaults, plus the shipped
 * calibrated rules ({@link CALIBRATED_THRESHOLDS}) on the columns these heuristics compute; a
 * calibrated rule replaces a declared one on the same column.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRulesWithCalibrated } from "./rules.ts";
 * import { resolveHeuristics } from "../heuristics/registry.ts";
 * const rules = await defaultRulesWithCalibrated(resolveHeuristics(["sharpness", "usable"]));
 * assert.ok(rules.some((r) => r.column === "laplacian_var"));
 * assert.ok(rules.some((r) => r.column === "usable_score" && r.min! > 0 && r.min! < 1));
 * ```
 */
export async function defaultRulesWithCalibrated(
  heuristics: readonly Heuristic[],
  file: string = CALIBRATED_THRESHOLDS,
): Promise<ThresholdRule[]> {
  const columns = new Set(heuristics.flatMap((h) => h.outputs.map((o) => o.name)));
  const calibrated = (await loadThresholds(file)).filter((r) => columns.has(r.column));
  const replaced = new Set(calibrated.map((r) => r.column));
  return [
    ...defaultRules(heuristics).filter((r) => !replaced.has(r.column)),
    ...calibrated.map((r) => ({ ...r, source: `${r.source ?? "calibrated"} (from ${basename(file)})` })),
  ];
}

/**
 * Validates parsed JSON as a rule list; every problem names `file`, the rule index and the field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseThresholds } from "./rules.ts";
 * const rules = parseThresholds({ rules: [{ column: "laplacian_var", min: 80, error_type: "blur" }] }, "t.json");
 * assert.deepEqual(rules.length, 1);
 * ```
 */
export function parseThresholds(json: unknown, file = "<thresholds>"): ThresholdRule[] {
  const rules = (json as { rules?: unknown })?.rules;
  if (!Array.isArray(rules)) throw new ThresholdsError(`${file}: expected an object with a "rules" array`);
  return rules.map((r, i) => {
    const at = `${file}: rules[${i}]`;
    if (typeof r !== "object" || r === null) throw new ThresholdsError(`${at}: expected an object`);
    const rule = r as Record<string, unknown>;
    if (typeof rule.column !== "string" || !rule.column) {
      throw new ThresholdsError(`${at}.column: expected a column name, got ${JSON.stringify(rule.column)}`);
    }
    if (typeof rule.error_type !== "string" || !rule.error_type) {
      throw new ThresholdsError(
        `${at}.error_type: expected an error type, got ${JSON.stringify(rule.error_type)}`,
      );
    }
    for (const k of ["min", "max"]) {
      if (rule[k] !== undefined && rule[k] !== null && !Number.isFinite(rule[k])) {
        throw new ThresholdsError(`${at}.${k}: expected a finite number, got ${JSON.stringify(rule[k])}`);
      }
      if (rule[k] === null) delete rule[k];
    }
    if (rule.min === undefined && rule.max === undefined) {
      throw new ThresholdsError(`${at}: needs "min" or "max"`);
    }
    return rule as ThresholdRule;
  });
}

/** Reads and validates a thresholds file. */
export async function loadThresholds(path: string): Promise<ThresholdRule[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ThresholdsError(`${path}: cannot read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ThresholdsError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  return parseThresholds(json, path);
}

/** Writes rules to a thresholds file (atomically: temporary file, then rename). */
export async function saveThresholds(
  path: string,
  rules: ThresholdRule[],
  extra: Record<string, unknown> = {},
) {
  await writeAtomic(
    path,
    JSON.stringify({ winnow: "thresholds", version: 1, ...extra, rules }, null, 2) + "\n",
  );
}

/**
 * Applies rules to one image's values. A rule whose value is empty (e.g. no region given) is not
 * applicable and neither passes nor fails; an image with `error` set is never kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyRules } from "./rules.ts";
 * const v = applyRules({ laplacian_var: 12 }, [{ column: "laplacian_var", min: 100, error_type: "blur" }]);
 * assert.deepEqual([v.kept, v.reasons], [false, ["blur"]]);
 * ```
 */
export function applyRules(
  values: Record<string, Value | undefined>,
  rules: readonly ThresholdRule[],
): Verdict {
  if (values.error) return { kept: false, reasons: [UNREADABLE], checks: [] };
  const reasons: string[] = [];
  const checks = rules.map((r): CheckResult => {
    const raw = values[r.column];
    const value = raw === undefined || raw === "" ? null : raw;
    let passed: boolean | null = null;
    if (typeof value === "number" && Number.isFinite(value)) {
      passed = !((r.min !== undefined && value < r.min) || (r.max !== undefined && value > r.max));
      if (!passed && !reasons.includes(r.error_type)) reasons.push(r.error_type);
    }
    return { column: r.column, value, min: r.min, max: r.max, error_type: r.error_type, passed };
  });
  return { kept: reasons.length === 0, reasons, checks };
}
