/**
 * The error base of winnow and the errors shared by several stages. Every error winnow throws on
 * purpose extends {@link WinnowError}, so a caller can tell "winnow refused this input, the message
 * says why" from a bug (`e instanceof WinnowError`). Each subclass's `name` is its class name.
 *
 * @module
 */

/**
 * Base of winnow's own errors: the message names the file, line, field or setting at fault.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WinnowError } from "./errors.ts";
 * class DemoError extends WinnowError {}
 * const e = new DemoError("x.csv:3: quality: expected 1–5");
 * assert.ok(e instanceof WinnowError);
 * assert.equal(e.name, "DemoError");
 * ```
 */
export class WinnowError extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Input a metric or statistic is undefined for (empty, lengths that differ, one class only); the
 * message says which argument and why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricError } from "./errors.ts";
 * assert.equal(new MetricError("rocAucScore: no items").name, "MetricError");
 * ```
 */
export class MetricError extends WinnowError {}

/**
 * Why a file cannot be written, in words, from the system error: a full disk, a read-only
 * folder, a quota, a file-size limit. `undefined` for other errors (bugs, a missing folder…).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeProblem } from "./errors.ts";
 * assert.equal(writeProblem(new Error("No space left on device (os error 28)")), "the disk is full");
 * assert.equal(writeProblem(new Error("bad JSON")), undefined);
 * ```
 */
export function writeProblem(e: unknown): string | undefined {
  const m = e instanceof Error ? e.message : String(e);
  if (/os error 28\b|no space left/i.test(m)) return "the disk is full";
  if (/os error 30\b|read-only file system/i.test(m)) return "the file system is read-only";
  if (/os error 122\b|quota exceeded/i.test(m)) return "the disk quota is exceeded";
  if (/os error 27\b|file too large/i.test(m)) {
    return "the file is larger than this system allows (ulimit -f?)";
  }
  if (e instanceof Deno.errors.PermissionDenied || /os error 13\b|permission denied/i.test(m)) {
    return "writing there is not permitted (read-only folder or file)";
  }
  return undefined;
}

/** An output that cannot be written (full disk, read-only folder…); the message names the file. */
export class WriteError extends WinnowError {}

/**
 * The {@link WriteError} for a failed write of `path` — `"<path>: cannot <what>: <problem>
 * (<system message>). <advice>"` — or `e` itself when it is no problem of the place written to
 * (see {@link writeProblem}), so bugs keep their own error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFailure, WriteError } from "./errors.ts";
 * const e = writeFailure("/out/a.png", new Error("Read-only file system (os error 30)"), "write the image");
 * assert.ok(e instanceof WriteError);
 * assert.equal(e.message, "/out/a.png: cannot write the image: the file system is read-only (Read-only file system (os error 30)).");
 * ```
 */
export function writeFailure(path: string, e: unknown, what: string, advice = ""): unknown {
  const problem = writeProblem(e);
  if (!problem) return e;
  return new WriteError(
    `${path}: cannot ${what}: ${problem} (${(e as Error).message ?? e}).${advice ? ` ${advice}` : ""}`,
    { cause: e },
  );
}
