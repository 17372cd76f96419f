import assert from "node:assert/strict";
import { edgeSweep, GRID, rgbSweep, weightedLaplacianVarOf } from "../lib/core/pixel_stats.ts";
import { toGray } from "../lib/core/image.ts";
import { isSkin } from "../lib/heuristics/skin.ts";
import { colorfulnessOf } from "../lib/heuristics/colorfulness.ts";
import { edgeStats } from "../lib/heuristics/sharpness.ts";
import { saliencyFull, saliencyMap, weightedLaplacianVar } from "../lib/heuristics/saliency.ts";
import { mulberry32 } from "../lib/core/random.ts";

// The fused sweeps must give what the separate, simpler definitions give (those are checked
// against OpenCV's golden values in pure_heuristics_test.ts, skin_test.ts and saliency_test.ts).

function randomImage(width: number, height: number, seed: number) {
  const rnd = mulberry32(seed);
  // Smooth gradients plus noise, so edges, skin tones and flat parts all occur.
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const j = (y * width + x) * 3;
      data[j] = Math.min(255, (x * 255) / width + rnd() * 40) | 0;
      data[j + 1] = Math.min(255, (y * 200) / height + rnd() * 40) | 0;
      data[j + 2] = (rnd() * 256) | 0;
    }
  }
  return { width, height, data };
}

Deno.test("rgbSweep: gray, histogram, skin count and colour moments equal the separate definitions", () => {
  // Every 3rd level of every channel (85³ pixels) covers the skin rule's borders.
  const levels = Array.from({ length: 86 }, (_, i) => Math.min(255, i * 3));
  const data = new Uint8Array(levels.length ** 3 * 3);
  let j = 0, want = 0;
  for (const r of levels) {
    for (const g of levels) {
      for (const b of levels) {
        data.set([r, g, b], j);
        j += 3;
        if (isSkin(r, g, b)) want++;
      }
    }
  }
  const cube = { width: levels.length ** 2, height: levels.length, data };
  const s = rgbSweep(cube);
  assert.equal(s.skinPixels, want);
  assert.deepEqual(s.gray, toGray(cube));
  const hist = new Float64Array(256);
  for (const v of toGray(cube)) hist[v]++;
  assert.deepEqual(s.histogram, hist);
  for (const [w, h] of [[1, 1], [7, 3], [64, 48]]) {
    const img = randomImage(w, h, w * 31 + h);
    const t = rgbSweep(img), n = w * h;
    const varRg = (t.rg2 - t.rg * t.rg / n) / n, varYb = (t.yb2x2 - t.yb2x * t.yb2x / n) / n / 4;
    const m = Math.sqrt(Math.max(0, varRg + varYb)) + 0.3 * Math.hypot(t.rg / n, t.yb2x / n / 2);
    assert.ok(Math.abs(m - colorfulnessOf(img)) <= 1e-12 * Math.max(1, m), `${w}×${h}`);
  }
});

Deno.test("edgeSweep: Laplacian and Sobel sums as edgeStats; binned moments give the saliency-weighted variance", () => {
  for (const [w, h] of [[1, 1], [1, 5], [5, 1], [3, 2], [65, 3], [100, 80], [130, 257]]) {
    const gray = toGray(randomImage(w, h, w * 7 + h));
    const e = edgeSweep(gray, w, h), n = w * h;
    const ref = edgeStats(gray, w, h);
    assert.ok(
      Math.abs((e.lapSq - e.lapSum * (e.lapSum / n)) / n - ref.laplacianVar) <=
        1e-9 * ref.laplacianVar + 1e-12,
    );
    assert.equal(e.sobelSq / n, ref.tenengrad);
    // Uniform map: the plain variance. Saliency map: the variance weighted by the image-size map,
    // stored and summed pixel by pixel (horizontal weights are exact here, float32 in OpenCV).
    const plain = weightedLaplacianVarOf(e, new Float64Array(GRID * GRID).fill(0.5))!;
    assert.ok(Math.abs(plain - ref.laplacianVar) <= 1e-9 * ref.laplacianVar + 1e-12, `${w}×${h} uniform`);
    const got = weightedLaplacianVarOf(e, saliencyMap(gray, w, h));
    const want = weightedLaplacianVar(gray, w, h, saliencyFull(gray, w, h));
    if (want === null) assert.equal(got, null);
    else assert.ok(Math.abs(got! - want) <= 1e-6 * want + 1e-9, `${w}×${h}: ${got} vs ${want}`);
  }
  assert.equal(
    weightedLaplacianVarOf(edgeSweep(new Uint8Array(4), 2, 2), new Float64Array(GRID * GRID)),
    null,
  );
});
