/**
 * Full garbage collections on request, for loops that make much short-lived memory outside V8's
 * heap (typed arrays, decoded pixels). Measured in a score worker (Deno 2.9): the buffers of the
 * typed arrays each image left behind were freed only by full collections (a forced
 * young-generation collection every 100 images freed none of them, nor did a 16 MB young
 * generation), and V8 starts a full one when the external memory has grown by 64 MB per isolate.
 * So with small images a worker's resident memory crept up for thousands of images before it
 * levelled off (README, "Benchmarks": peak RSS of a score job). {@link releaseBytes} frees one such
 * buffer at once, without a collection.
 *
 * @module
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gcFunction: ((options?: { type?: string }) => void) | null | undefined;

/**
 * V8's `gc()`: the global one when the process runs with `--v8-flags=--expose-gc`, else one taken
 * from a fresh context after turning that flag on (the flag affects contexts made afterwards);
 * undefined when neither works.
 */
function gcOf(): ((options?: { type?: string }) => void) | undefined {
  if (gcFunction === undefined) {
    const global = (globalThis as { gc?: () => void }).gc;
    if (typeof global === "function") gcFunction = global;
    else {
      try {
        setFlagsFromString("--expose-gc");
        const fn = runInNewContext("gc");
        gcFunction = typeof fn === "function" ? fn : null;
      } catch {
        gcFunction = null;
      }
    }
  }
  return gcFunction ?? undefined;
}

/**
 * Runs a full garbage collection of this isolate (thread) now; false when V8's `gc` is out of
 * reach (then nothing happens).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { collectGarbage } from "./gc.ts";
 * assert.equal(collectGarbage(), true);
 * ```
 */
export function collectGarbage(): boolean {
  const gc = gcOf();
  if (!gc) return false;
  gc();
  return true;
}

/**
 * Calls {@link collectGarbage} on every `every`-th call: a cheap periodic full collection for a
 * loop over many items (a few ms per collection with a heap of 10–20 MB).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { everyNth } from "./gc.ts";
 * const tick = everyNth(3);
 * assert.deepEqual([tick(), tick(), tick(), tick()], [false, false, true, false]);
 * ```
 */
export function everyNth(every: number): () => boolean {
  let count = 0;
  return () => ++count % every === 0 && collectGarbage();
}

/**
 * Frees the memory of `bytes` now, when they are the whole of their own `ArrayBuffer` (as sharp's
 * decoded pixels are): the buffer is detached (`ArrayBuffer#transfer(0)`), so `bytes` and every
 * other view of it read as empty afterwards. Returns false, changing nothing, for a view of part
 * of a buffer, a shared or non-detachable buffer (WebAssembly memory). Use it only for bytes
 * nothing will read again: V8 otherwise frees a buffer that outlived a young-generation
 * collection only at the next full one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { releaseBytes } from "./gc.ts";
 * const pixels = new Uint8Array(12);
 * assert.equal(releaseBytes(pixels), true);
 * assert.equal(pixels.length, 0);
 * assert.equal(releaseBytes(new Uint8Array(new ArrayBuffer(8), 4)), false);
 * ```
 */
export function releaseBytes(bytes: Uint8Array): boolean {
  const buffer = bytes.buffer;
  if (!(buffer instanceof ArrayBuffer) || bytes.byteOffset !== 0 || bytes.byteLength !== buffer.byteLength) {
    return false;
  }
  try {
    buffer.transfer(0);
    return true;
  } catch {
    return false; // not detachable
  }
}
