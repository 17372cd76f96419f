import assert from "node:assert/strict";
import { edgeSweep, edgeSweepJs, grayPlane, rgbSweep, rgbSweepJs } from "../lib/core/pixel_stats.ts";
import { PIXEL_KERNELS_WASM } from "../lib/core/pixel_kernels_wasm.ts";
import { buildPixelKernels } from "../tools/build_wasm.ts";
import { mulberry32 } from "../lib/core/random.ts";
import { blockSums } from "../lib/core/pixel_kernels.ts";
import { resizeArea } from "../lib/core/resize.ts";

// The WebAssembly sweeps must give exactly what the plain-JS sweeps give (those are checked against
// the separate definitions in pixel_stats_test.ts, and they against OpenCV's golden values).

function image(width: number, height: number, seed: number, kind: "noise" | "smooth" | "extreme") {
  const rnd = mulberry32(seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    const x = Math.floor(i / 3) % width, y = Math.floor(i / 3 / width);
    data[i] = kind === "noise"
      ? (rnd() * 256) | 0
      : kind === "extreme"
      ? (rnd() < 0.5 ? 0 : 255)
      : Math.min(255, ((x + y * (i % 3)) * 255) / (width + height) + rnd() * 30) | 0;
  }
  return { width, height, data };
}

const SIZES = [
  [1, 1],
  [2, 1],
  [1, 2],
  [2, 2],
  [7, 3],
  [8, 8],
  [9, 1],
  [10, 5],
  [17, 4],
  [64, 48],
  [65, 63],
  [
    100,
    80,
  ],
  [130, 257],
  [1024, 9],
  [3, 1030],
  [2100, 3],
  // Bands of rows longer than the edge kernel's 45-row flush (≈ 47 and ≈ 94 rows a map row).
  [40, 3000],
  [17, 6000],
];

Deno.test("rgbSweep (wasm) equals rgbSweepJs on every size, noise, gradients and 0/255 pixels", () => {
  for (const [w, h] of SIZES) {
    for (const kind of ["noise", "smooth", "extreme"] as const) {
      const img = image(w, h, w * 1000 + h, kind);
      assert.deepEqual(rgbSweep(img), rgbSweepJs(img), `${w}×${h} ${kind}`);
    }
  }
  // Every 3rd level of every channel: all skin-rule borders.
  const levels = Array.from({ length: 86 }, (_, i) => Math.min(255, i * 3));
  const data = new Uint8Array(levels.length ** 3 * 3);
  let j = 0;
  for (const r of levels) for (const g of levels) for (const b of levels) data.set([r, g, b], (j++) * 3);
  const cube = { width: levels.length ** 2, height: levels.length, data };
  assert.deepEqual(rgbSweep(cube), rgbSweepJs(cube));
});

Deno.test("edgeSweep (wasm) equals edgeSweepJs bit for bit, borders and grid moments included", () => {
  for (const [w, h] of SIZES) {
    for (const kind of ["noise", "smooth", "extreme"] as const) {
      const gray = rgbSweepJs(image(w, h, w * 7 + h, kind)).gray;
      assert.deepEqual(edgeSweep(gray, w, h), edgeSweepJs(gray, w, h), `${w}×${h} ${kind}`);
    }
  }
  // Pieces of ~1,900 columns of a checkerboard (Laplacian ±1020): ΣL² near the kernel's 32-bit limit.
  const stripes = new Uint8Array(120_000 * 3).map((_, i) =>
    ((i % 120_000 + Math.floor(i / 120_000)) % 2) * 255
  );
  assert.deepEqual(edgeSweep(stripes, 120_000, 3), edgeSweepJs(stripes, 120_000, 3));
  // Pieces over 2,000 columns (images over 128,000 pixels wide) take the JS sweep.
  const wide = rgbSweepJs(image(130_000, 2, 5, "noise")).gray;
  assert.deepEqual(edgeSweep(wide, 130_000, 2), edgeSweepJs(wide, 130_000, 2));
  // One image after another of other sizes reuses the kernel's memory: nothing carries over.
  const a = rgbSweepJs(image(300, 200, 1, "noise")).gray;
  const first = edgeSweep(a, 300, 200);
  edgeSweep(rgbSweepJs(image(50, 40, 2, "noise")).gray, 50, 40);
  assert.deepEqual(edgeSweep(a, 300, 200), first);
});

Deno.test("the committed wasm equals a fresh build of pixel_kernels.wat (deno task wasm)", async () => {
  const { wasm } = await buildPixelKernels();
  const committed = Uint8Array.from(atob(PIXEL_KERNELS_WASM), (c) => c.charCodeAt(0));
  assert.deepEqual(committed, wasm, "run `deno task wasm` and commit lib/core/pixel_kernels_wasm.ts");
});

Deno.test("blockSums (wasm) equals summing each block; resizeArea's 8-bit fast path is unchanged by it", () => {
  const rnd = mulberry32(3);
  for (const [w, h, sx, sy] of [[1024, 1024, 32, 32], [48, 6, 16, 3], [256, 10, 64, 1]]) {
    const plane = new Uint8Array(w * h).map(() => (rnd() * 256) | 0);
    const want = new Int32Array((w / sx) * (h / sy));
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        want[Math.floor(y / sy) * (w / sx) + Math.floor(x / sx)] += plane[y * w + x];
      }
    }
    assert.deepEqual(blockSums(plane, w, h, sx, sy), want, `${w}×${h} by ${sx}×${sy}`);
    // Float64 input takes the JS loop: same sums, same scale, so the same doubles.
    const dw = w / sx, dh = h / sy;
    assert.deepEqual(
      resizeArea(plane, w, h, dw, dh, { float: true }),
      resizeArea(Float64Array.from(plane), w, h, dw, dh),
    );
  }
  assert.equal(blockSums(new Uint8Array(24 * 2), 24, 2, 12, 2), null);
});

Deno.test("an image too large to keep the kernel's memory for (over 64 MiB) gets an instance of its own, same sums", () => {
  const img = image(4200, 4200, 9, "smooth");
  const want = rgbSweepJs(img);
  assert.deepEqual(rgbSweep(img), want);
  // The kept instance still works for the next, small image.
  const small = image(33, 17, 4, "noise");
  assert.deepEqual(rgbSweep(small), rgbSweepJs(small));
});

Deno.test("a gray plane is read in kernel memory only while the RGB sweep's copy is still there", () => {
  const a = rgbSweep(image(300, 200, 1, "noise")).gray;
  const b = rgbSweep(image(64, 32, 2, "smooth")).gray; // overwrites a's bytes in kernel memory
  assert.deepEqual(edgeSweep(a, 300, 200), edgeSweepJs(a, 300, 200));
  const c = rgbSweep(image(64, 32, 3, "noise")).gray;
  const sums = (g: Uint8Array) => {
    const out = new Int32Array(8);
    for (let i = 0; i < g.length; i++) out[Math.floor((i >> 6) / 16) * 4 + Math.floor((i & 63) / 16)] += g[i];
    return out;
  };
  // c is resident: the edge sweep and then the block sums read it in place.
  assert.deepEqual(edgeSweep(c, 64, 32), edgeSweepJs(c, 64, 32));
  assert.deepEqual(blockSums(c, 64, 32, 16, 16), sums(c));
  assert.deepEqual(edgeSweep(c, 64, 32), edgeSweepJs(c, 64, 32));
  // b is no longer resident: its sums come from its own bytes, copied in (and c is forgotten).
  assert.deepEqual(blockSums(b, 64, 32, 16, 16), sums(b));
  assert.deepEqual(edgeSweep(c, 64, 32), edgeSweepJs(c, 64, 32));
});

Deno.test("an RGB sweep's gray plane read after another image's sweep is made again, not taken from the other's bytes", () => {
  const a = image(65, 63, 5, "noise"), b = image(64, 48, 6, "smooth");
  const sa = rgbSweep(a);
  const sb = rgbSweep(b); // a's gray bytes in kernel memory are overwritten
  assert.deepEqual(grayPlane(sa), rgbSweepJs(a).gray);
  assert.deepEqual(grayPlane(sb), rgbSweepJs(b).gray);
  assert.deepEqual(sb.gray, rgbSweepJs(b).gray);
  assert.deepEqual(sa.gray, rgbSweepJs(a).gray);
  // grayPlane of the resident sweep is a view of kernel memory, read in place by the edge sweep.
  const sc = rgbSweep(b);
  const view = grayPlane(sc);
  assert.notEqual(view.buffer, sc.gray.buffer);
  assert.deepEqual(edgeSweep(grayPlane(sc), 64, 48), edgeSweepJs(sc.gray, 64, 48));
});
