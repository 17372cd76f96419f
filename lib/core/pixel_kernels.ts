/**
 * The WebAssembly SIMD kernels of the pure heuristics (`pixel_kernels.wat`, assembled into
 * `pixel_kernels_wasm.ts` by `deno task wasm`): loading, memory, and the block sums that area
 * averaging uses. The sweeps themselves are called from `pixel_stats.ts`.
 *
 * @module
 */
import { PIXEL_KERNELS_WASM } from "./pixel_kernels_wasm.ts";

/** The exports of `pixel_kernels.wat`. */
export interface Kernels {
  memory: WebAssembly.Memory;
  rgb(...args: number[]): void;
  edge(...args: number[]): void;
  blocks(...args: number[]): void;
}

let kernelModule: WebAssembly.Module | undefined;
let kept: Kernels | undefined;
/** Memory kept between calls; an image needing more gets an instance of its own, dropped after. */
const KEEP_BYTES = 64 << 20;

/**
 * A kernel instance whose memory holds at least `bytes` (one kept per thread; a larger call gets
 * an instance of its own that is dropped after it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kernels } from "./pixel_kernels.ts";
 * assert.ok(kernels(1 << 20).memory.buffer.byteLength >= 1 << 20);
 * ```
 */
export function kernels(bytes: number, reuse?: Kernels): Kernels {
  kernelModule ??= new WebAssembly.Module(Uint8Array.from(atob(PIXEL_KERNELS_WASM), (c) => c.charCodeAt(0)));
  const fresh = () => new WebAssembly.Instance(kernelModule!).exports as unknown as Kernels;
  // Whoever asks for memory may overwrite it: the resident plane is forgotten (the caller that
  // kept its bytes intact marks it again).
  resident = undefined;
  const k = reuse ?? (bytes > KEEP_BYTES ? fresh() : (kept ??= fresh()));
  const have = k.memory.buffer.byteLength;
  if (have < bytes) k.memory.grow(Math.ceil((bytes - have) / 65536));
  return k;
}

/** A plane whose bytes are still in a kernel instance's memory (see {@link markResident}). */
let resident: { plane: Uint8Array; at: number; k: Kernels } | undefined;

/**
 * Records that `plane`'s bytes sit at offset `at` of `k`'s memory, so the next kernel reading that
 * same array (by identity) uses them there instead of copying it in again. Any later
 * {@link kernels} call forgets it unless its caller marks it again. The plane must not be changed
 * afterwards (the gray plane of an image is never written after the RGB sweep makes it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kernels, markResident, residentPlace } from "./pixel_kernels.ts";
 * const plane = new Uint8Array(16).fill(7), k = kernels(1024);
 * new Uint8Array(k.memory.buffer).set(plane, 64);
 * markResident(plane, 64, k);
 * assert.equal(residentPlace(plane)?.at, 64);
 * kernels(1024);
 * assert.equal(residentPlace(plane), undefined);
 * ```
 */
export function markResident(plane: Uint8Array, at: number, k: Kernels): void {
  resident = { plane, at, k };
}

/** Where `plane` (this very array) still sits in kernel memory, or `undefined`. */
export function residentPlace(plane: Uint8Array): { at: number; k: Kernels } | undefined {
  return resident && resident.plane === plane &&
      resident.k.memory.buffer.byteLength >= resident.at + plane.length
    ? { at: resident.at, k: resident.k }
    : undefined;
}

/** `v` rounded up to a multiple of 16 (offsets in kernel memory). */
export const align = (v: number) => (v + 15) & ~15;

/**
 * Sums of the `sx × sy` blocks of an 8-bit plane (`width = dw·sx`, `height = dh·sy`), row-major,
 * in WebAssembly SIMD; `null` when the kernel does not apply (`sx` not a multiple of 16, blocks
 * over 2^23 pixels), so the caller sums them itself. Exact integers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blockSums } from "./pixel_kernels.ts";
 * const plane = new Uint8Array(32 * 2).map((_, i) => i % 32 < 16 ? 1 : 2);
 * assert.deepEqual(blockSums(plane, 32, 2, 16, 2), new Int32Array([32, 64]));
 * assert.equal(blockSums(plane, 32, 2, 8, 2), null);
 * ```
 */
export function blockSums(
  plane: Uint8Array,
  width: number,
  height: number,
  sx: number,
  sy: number,
): Int32Array | null {
  const dw = width / sx, dh = height / sy;
  if (sx % 16 !== 0 || !Number.isInteger(dw) || !Number.isInteger(dh) || sx * sy > 1 << 23 || dw * dh === 0) {
    return null;
  }
  // The plane is read where the RGB sweep left it when still there, else copied to 0.
  const place = residentPlace(plane);
  const src = place?.at ?? 0;
  const dst = align(src + width * height);
  const k = kernels(dst + 4 * dw * dh, place?.k);
  if (place) markResident(plane, src, k);
  else new Uint8Array(k.memory.buffer).set(plane, 0);
  k.blocks(src, width, sx, sy, dw, dh, dst);
  const out = new Int32Array(dw * dh);
  out.set(new Int32Array(k.memory.buffer, dst, dw * dh));
  return out;
}
