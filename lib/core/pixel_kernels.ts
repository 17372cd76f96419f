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

/**
 * A plane whose bytes are still in a kernel instance's memory: `length` bytes at `at`, made by the
 * call that returned `owner`; `copy` is the plane's copy in JS memory once one was made.
 */
export interface Resident {
  owner: object;
  at: number;
  length: number;
  k: Kernels;
  copy?: Uint8Array;
}
let resident: Resident | undefined;

/**
 * Records that a plane's bytes sit in kernel memory (see {@link Resident}), so the next kernel
 * reading that plane (its JS copy, the `owner` itself, or a view of those bytes) uses them where
 * they are instead of copying them in again. Any later {@link kernels} call forgets it unless its
 * caller marks it again. The plane must not be changed afterwards (the gray plane of an image is
 * never written after the RGB sweep makes it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kernels, markResident, residentPlace, residentView } from "./pixel_kernels.ts";
 * const plane = new Uint8Array(16).fill(7), k = kernels(1024);
 * new Uint8Array(k.memory.buffer).set(plane, 64);
 * markResident({ owner: plane, at: 64, length: 16, k });
 * assert.equal(residentPlace(plane)?.at, 64);
 * assert.deepEqual(residentView(plane), plane);
 * kernels(1024);
 * assert.equal(residentPlace(plane), undefined);
 * ```
 */
export function markResident(r: Resident): void {
  resident = r;
}

/** The record of `plane` (its owner, its copy, or a view of its bytes) if still in kernel memory. */
export function residentPlace(plane: Uint8Array): Resident | undefined {
  const r = resident;
  if (!r) return undefined;
  if (plane === r.owner || plane === r.copy) return r;
  return plane.buffer === r.k.memory.buffer && plane.byteOffset === r.at && plane.length === r.length
    ? r
    : undefined;
}

/**
 * A view of the bytes `owner` left in kernel memory, if they are still there: valid only until
 * the next kernel call (read it at once, keep nothing of it).
 */
export function residentView(owner: object): Uint8Array | undefined {
  const r = resident;
  return r && r.owner === owner ? new Uint8Array(r.k.memory.buffer, r.at, r.length) : undefined;
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
  if (place) markResident(place);
  else new Uint8Array(k.memory.buffer).set(plane, 0);
  k.blocks(src, width, sx, sy, dw, dh, dst);
  const out = new Int32Array(dw * dh);
  out.set(new Int32Array(k.memory.buffer, dst, dw * dh));
  return out;
}
