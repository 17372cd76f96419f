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
