/**
 * Small shared helpers for the command-line entry points: parsing a command line, argument errors
 * that end in a usage hint, number, seed and box parsing with the option named.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import type { Box } from "../heuristics/types.ts";
import { resolveHeuristics } from "../heuristics/registry.ts";
import { WinnowError } from "../core/errors.ts";

/** A bad command line; printed without a stack trace, exit code 2. */
export class UsageError extends WinnowError {}

/** The `-h/--help` flag every command has. */
const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const;

/**
 * Parses a command line as every winnow command does: `options` plus `-h/--help`, positionals
 * allowed unless `positionals: false`; an unknown option, a missing value or an unexpected
 * positional is a {@link UsageError} (one line, exit 2) instead of a stack trace.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommand } from "./args.ts";
 * const { values, positionals } = parseCommand({ out: { type: "string" } }, { args: ["a.png", "--out", "x.csv"] });
 * assert.deepEqual([values.out, values.help, positionals], ["x.csv", undefined, ["a.png"]]);
 * assert.throws(() => parseCommand({}, { args: ["--bogus"] }), /Unknown option '--bogus'/);
 * ```
 */
export function parseCommand<T extends ParseArgsOptionsConfig>(
  options: T,
  o: { args?: string[]; positionals?: boolean } = {},
) {
  try {
    return parseArgs({
      args: o.args ?? Deno.args,
      allowPositionals: o.positionals ?? true,
      options: { ...options, ...HELP_OPTION },
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code?.startsWith("ERR_PARSE_ARGS")) throw new UsageError((e as Error).message);
    throw e;
  }
}

/**
 * Parses `--seed`: an integer (≥ `min` when given), 0 when the option is absent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seedOption } from "./args.ts";
 * assert.equal(seedOption(undefined), 0);
 * assert.equal(seedOption("-3"), -3);
 * assert.throws(() => seedOption("1.5"), /--seed: expected an integer, got "1.5"/);
 * assert.throws(() => seedOption("-1", 0), /--seed: expected an integer ≥ 0, got "-1"/);
 * ```
 */
export function seedOption(value: string | undefined, min?: number): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || (min !== undefined && n < min)) {
    throw new UsageError(
      `--seed: expected an integer${min !== undefined ? ` ≥ ${min}` : ""}, got "${value}"`,
    );
  }
  return n;
}

/** Parses a positive integer option, naming it in the error. */
export function intOption(name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new UsageError(`--${name}: expected a positive integer, got "${value}"`);
  }
  return n;
}

/** The range a {@link numberOption} accepts; bounds are inclusive, `positive` means above 0. */
export interface NumberRange {
  min?: number;
  max?: number;
  positive?: boolean;
}

/**
 * Parses a number option, naming it in the error; `undefined` stays `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberOption } from "./args.ts";
 * assert.equal(numberOption("cfg", "7.5", { min: 0 }), 7.5);
 * assert.equal(numberOption("cfg", undefined), undefined);
 * assert.throws(() => numberOption("denoise", "2", { min: 0, max: 1 }), /--denoise: expected a number from 0 to 1/);
 * assert.throws(() => numberOption("time-limit", "0", { positive: true }), /expected a positive number/);
 * ```
 */
export function numberOption(
  name: string,
  value: string | undefined,
  range: NumberRange = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const { min = -Infinity, max = Infinity, positive = false } = range;
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max || (positive && !(n > 0))) {
    const expected = positive
      ? "a positive number"
      : min > -Infinity
      ? `a number from ${min}${max < Infinity ? ` to ${max}` : ""}`
      : max < Infinity
      ? `a number up to ${max}`
      : "a number";
    throw new UsageError(`--${name}: expected ${expected}, got "${value}"`);
  }
  return n;
}

/** Parses `x,y,width,height` in pixels. */
export function boxOption(name: string, value: string | undefined): Box | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(",").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isFinite(p)) || parts[2] <= 0 || parts[3] <= 0) {
    throw new UsageError(
      `--${name}: expected x,y,width,height in pixels (e.g. 100,40,200,300), got "${value}"`,
    );
  }
  const [x, y, width, height] = parts;
  return { x, y, width, height };
}

/** Runs a CLI main function: usage errors and known errors print one line and exit non-zero. */
export async function runMain(main: () => Promise<number | void>): Promise<never> {
  try {
    Deno.exit((await main()) ?? 0);
  } catch (e) {
    const err = e as Error;
    const known = err instanceof UsageError || /Error$/.test(err.name) && err.name !== "Error" &&
        err.name !== "TypeError" && err.name !== "ReferenceError";
    console.error(`error: ${known ? err.message : err.stack ?? err.message}`);
    if (err instanceof UsageError) console.error("Run with --help for the options.");
    Deno.exit(err instanceof UsageError ? 2 : 1);
  }
}

/**
 * `--set NAME.KEY=VALUE` (repeatable) as settings: VALUE is read as JSON when it parses
 * (numbers, true/false, lists), else taken as a string.
 */
export function parseSetOptions(items: string[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const item of items) {
    const m = /^([a-z][a-z0-9_]*)\.([A-Za-z][A-Za-z0-9_]*)=(.*)$/s.exec(item);
    if (!m) {
      throw new UsageError(`--set: expected HEURISTIC.KEY=VALUE (e.g. probe.model=llava), got "${item}"`);
    }
    resolveHeuristics([m[1]]);
    let value: unknown = m[3];
    try {
      value = JSON.parse(m[3]);
    } catch { /* a plain string */ }
    (out[m[1]] ??= {})[m[2]] = value;
  }
  return out;
}

/** Merges settings objects per heuristic; later keys win. */
export function mergeSettings(...parts: Record<string, Record<string, unknown>>[]) {
  const out: Record<string, Record<string, unknown>> = {};
  for (const p of parts) for (const [h, kv] of Object.entries(p)) out[h] = { ...out[h], ...kv };
  return out;
}
