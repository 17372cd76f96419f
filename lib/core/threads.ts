/**
 * How many native threads (onnxruntime's intra-op pool) a model may use here: one in a score
 * worker, whether a thread worker (`DedicatedWorkerGlobalScope`) or a process worker (which calls
 * {@link markOneCoreWorker} when it starts), since the pool already runs one worker per core;
 * every core elsewhere.
 *
 * @module
 */

let oneCore = false;

/**
 * Marks this process as one worker of a pool with one worker per core: from now on
 * {@link defaultNativeThreads} is 1. Called by the score pool's process worker.
 *
 * @example
 * ```ts ignore
 * import { markOneCoreWorker } from "./threads.ts";
 * markOneCoreWorker();
 * ```
 */
export function markOneCoreWorker(): void {
  oneCore = true;
}

/**
 * Default native threads for a model: 1 in a score worker (thread or process), else every core.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultNativeThreads } from "./threads.ts";
 * assert.equal(defaultNativeThreads(), navigator.hardwareConcurrency || 1);
 * ```
 */
export function defaultNativeThreads(): number {
  const g = globalThis as { self?: { constructor?: { name?: string } } };
  const inWorker = g.self?.constructor?.name === "DedicatedWorkerGlobalScope";
  return inWorker || oneCore ? 1 : navigator.hardwareConcurrency || 1;
}
