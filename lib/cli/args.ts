/**
 * Small shared helpers for the command-line entry points: argument errors that end in a usage
 * hint, number and box parsing with the option named.
 *
 * @module
 */
import type { Box } from "../heuristics/types.ts";

/** A bad command line; printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
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
