/**
 * The one settings checker: every heuristic (and anything else configured by a plain object, e.g.
 * from `--settings FILE`) declares its settings once as a {@link SettingsSpec} and reads them with
 * {@link checkSettings}, which refuses unknown names and values of the wrong kind or out of range
 * with a {@link SettingsError} naming the owner, the setting and the value, and fills in defaults.
 *
 * @module
 */
import { WinnowError } from "./errors.ts";

/** A bad setting; the message names its owner (e.g. the heuristic), the setting and the value. */
export class SettingsError extends WinnowError {}

/** How one setting is checked. */
export type SettingSpec =
  /** A finite number in `[min, max]` (either bound optional); `integer` for whole numbers. */
  | { kind: "number"; min?: number; max?: number; integer?: boolean; default?: number }
  /** A string, non-empty unless `allowEmpty`; `what` names it in messages ("a folder path"). */
  | { kind: "string"; what?: string; default?: string; required?: string; allowEmpty?: boolean }
  /** `true` or `false`. */
  | { kind: "boolean"; default?: boolean }
  /** One of `choices`; `what` ("face detector") words the message as "unknown face detector …". */
  | { kind: "choice"; choices: readonly string[]; what?: string; default?: string }
  /** Any value: its owner checks it (lists, nested objects). */
  | { kind: "any"; default?: unknown; required?: string };

/** The settings of one owner, by name. */
export type SettingsSpec = Readonly<Record<string, SettingSpec>>;

function numberRule(s: { min?: number; max?: number; integer?: boolean }): string {
  const noun = s.integer ? "an integer" : "a number";
  if (s.min !== undefined && s.max !== undefined) return `${noun} from ${s.min} to ${s.max}`;
  if (s.min !== undefined) return `${noun} ≥ ${s.min}`;
  if (s.max !== undefined) return `${noun} ≤ ${s.max}`;
  return noun;
}

function checkOne(owner: string, k: string, v: unknown, s: SettingSpec): void {
  const bad = (rule: string) => new SettingsError(`${owner}: ${k} must be ${rule}, got ${String(v)}`);
  switch (s.kind) {
    case "number":
      if (
        typeof v !== "number" || !Number.isFinite(v) || (s.integer && !Number.isInteger(v)) ||
        (s.min !== undefined && v < s.min) || (s.max !== undefined && v > s.max)
      ) throw bad(numberRule(s));
      return;
    case "string":
      if (typeof v !== "string" || (v === "" && !s.allowEmpty)) {
        throw bad(s.what ?? (s.allowEmpty ? "a string" : "a non-empty string"));
      }
      return;
    case "boolean":
      if (typeof v !== "boolean") throw bad("true or false");
      return;
    case "choice":
      if (typeof v !== "string" || !s.choices.includes(v)) {
        throw s.what
          ? new SettingsError(`${owner}: unknown ${s.what} "${String(v)}"; known: ${s.choices.join(", ")}`)
          : bad(`one of ${s.choices.join(", ")}`);
      }
      return;
  }
}

/**
 * Checks `raw` against `spec` and returns it with defaults filled in. Throws {@link SettingsError}
 * for a name not in `spec`, a missing required setting, or a value of the wrong kind or range.
 * Settings without a value and without a default stay absent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSettings } from "./settings.ts";
 * const spec = {
 *   minConfidence: { kind: "number", min: 0, max: 1, default: 0.5 },
 *   modelDir: { kind: "string", what: "a folder path" },
 * } as const;
 * assert.deepEqual(checkSettings("hands", {}, spec), { minConfidence: 0.5 });
 * assert.throws(() => checkSettings("hands", { size: 3 }, spec), /hands: unknown setting "size"; known: minConfidence, modelDir/);
 * assert.throws(() => checkSettings("hands", { minConfidence: 2 }, spec), /minConfidence must be a number from 0 to 1, got 2/);
 * ```
 */
export function checkSettings(
  owner: string,
  raw: Readonly<Record<string, unknown>>,
  spec: SettingsSpec,
): Record<string, unknown> {
  const known = Object.keys(spec);
  for (const k of Object.keys(raw)) {
    if (!known.includes(k)) {
      throw new SettingsError(`${owner}: unknown setting "${k}"; known: ${known.join(", ")}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(spec)) {
    const v = raw[k] ?? s.default;
    if (v === undefined) {
      if ("required" in s && s.required !== undefined) {
        throw new SettingsError(`${owner}: ${k} is required${s.required ? ` (${s.required})` : ""}`);
      }
      continue;
    }
    checkOne(owner, k, v, s);
    out[k] = v;
  }
  return out;
}
