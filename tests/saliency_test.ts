import assert from "node:assert/strict";
import { GOLDEN, REFERENCE_DIR } from "./golden.ts";
import { decodeImage, type RgbImage, toGray } from "../lib/core/image.ts";
import { ImageContext } from "../lib/heuristics/types.ts";
import {
  saliency,
  saliency16,
  saliencyCentroid,
  saliencyCrop,
  SaliencyField,
  saliencyFull,
  saliencyMap,
  weightedLaplacianVar,
} from "../lib/heuristics/saliency.ts";

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

Deno.test("saliency16 matches OpenCV StaticSaliencySpectralResidual on every golden image", async () => {
  const report: string[] = [];
  let minR = Infinity;
  for (const [file, want] of Object.entries(GOLDEN.images)) {
    const img = await decodeImage(`${REFERENCE_DIR}images/${file}`);
    const got = saliency16(new ImageContext(img));
    const ref = want.saliency_16x16.flat();
    assert.equal(got.length, 256);
    let maxAbs = 0;
    for (let i = 0; i < 256; i++) maxAbs = Math.max(maxAbs, Math.abs(got[i] - ref[i]));
    // A constant reference map (the 1×1 image) has no correlation to speak of: compare values.
    const constant = Math.max(...ref) - Math.min(...ref) < 1e-9;
    const r = constant ? NaN : pearson(got, ref);
    if (!constant) minR = Math.min(minR, r);
    report.push(
      `${file}: r=${constant ? "n/a (constant map)" : r.toFixed(8)} max|diff|=${maxAbs.toExponential(2)}`,
    );
    if (!constant) assert.ok(r >= 0.95, `${file}: Pearson r = ${r}`);
    assert.ok(maxAbs <= 1e-3, `${file}: max |diff| ${maxAbs}`);
  }
  console.log(report.join("\n"));
  console.log(`minimum Pearson r: ${minR.toFixed(8)}`);
});

/** A `w × h` image of gray level `bg` with a disk of level `fg`, radius `r`, centred at (cx, cy). */
function blobImage(w: number, h: number, cx: number, cy: number, r: number, bg = 30, fg = 230): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r ? fg : bg;
      data.fill(v, (y * w + x) * 3, (y * w + x) * 3 + 3);
    }
  }
  return { width: w, height: h, data };
}

/** 5×5 box blur of an RGB image (clamped border), to make a soft copy of the blob. */
function blurred(img: RgbImage): RgbImage {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) {
            const xx = Math.min(w - 1, Math.max(0, x + dx)), yy = Math.min(h - 1, Math.max(0, y + dy));
            s += data[(yy * w + xx) * 3 + c];
          }
        }
        out[(y * w + x) * 3 + c] = Math.round(s / 25);
      }
    }
  }
  return { width: w, height: h, data: out };
}

for (const [cx, cy] of [[124, 30], [20, 95], [80, 60]]) {
  Deno.test(`one bright blob at (${cx}, ${cy}): centroid near it, square crop contains it`, () => {
    const r = 8, w = 160, h = 120;
    const img = blobImage(w, h, cx, cy, r);
    const v = saliency.compute(new ImageContext(img));
    // The spectral residual also lights faint streaks along the row and column through the blob
    // (and wraps around, the DFT being periodic), which pulls the centroid toward the middle; it
    // must still cover at least half the way from the image centre to the blob.
    const sx = v.saliency_center_x as number, sy = v.saliency_center_y as number;
    for (const [got, want, axis] of [[sx, cx / w, "x"], [sy, cy / h, "y"]] as const) {
      assert.ok(
        Math.abs(got - want) <= 0.5 * Math.abs(0.5 - want) + 0.02,
        `centre ${axis} ${got} vs blob ${want}`,
      );
    }
    // The peak of the 64×64 map is on the blob.
    const map = saliencyMap(toGray(img), w, h);
    const peak = map.indexOf(Math.max(...map));
    const px = ((peak % 64) + 0.5) * (w / 64), py = (Math.floor(peak / 64) + 0.5) * (h / 64);
    assert.ok(Math.hypot(px - cx, py - cy) <= r + 4, `peak at (${px}, ${py})`);
    assert.equal(v.crop_width, 120);
    assert.equal(v.crop_height, 120);
    const x0 = v.crop_x as number, y0 = v.crop_y as number;
    assert.ok(x0 >= 0 && x0 + 120 <= w && y0 === 0, `crop ${x0},${y0}`);
    assert.ok(
      x0 <= cx - r && cx + r <= x0 + 120,
      `crop x ${x0}..${x0 + 120} misses blob ${cx - r}..${cx + r}`,
    );
  });
}

Deno.test("saliencyCrop: aspect ratios, scale, and the window with most mass", () => {
  const w = 20, h = 10;
  const map = new Float64Array(w * h);
  map[7 * w + 17] = 1; // mass near the bottom-right
  // Windows x = 8..10 hold the mass; ties go to the one nearest the centred position x = 5.
  assert.deepEqual(saliencyCrop(map, w, h), { x: 8, y: 0, width: 10, height: 10 });
  // 4:1 → 20×5; y = 3..5 hold row 7, nearest to the centred y = 2.5 is 3.
  assert.deepEqual(saliencyCrop(map, w, h, 4), { x: 0, y: 3, width: 20, height: 5 });
  const small = saliencyCrop(map, w, h, 1, 0.5);
  assert.equal(small.width, 5);
  assert.ok(small.x <= 17 && 17 < small.x + 5 && small.y <= 7 && 7 < small.y + 5, JSON.stringify(small));
  // No mass anywhere: the centred window.
  assert.deepEqual(saliencyCrop(new Float64Array(w * h), w, h), { x: 5, y: 0, width: 10, height: 10 });
  assert.throws(() => saliencyCrop(map, w, h, 0), RangeError);
});

Deno.test("saliencyCentroid is the mass-weighted mean of pixel centres", () => {
  const map = new Float64Array(4 * 2);
  map[0] = 1; // (0.5, 0.5)
  map[7] = 3; // (3.5, 1.5)
  const c = saliencyCentroid(map, 4, 2)!;
  assert.ok(
    Math.abs(c.x - (0.5 + 3 * 3.5) / 4 / 4) < 1e-12 && Math.abs(c.y - (0.5 + 3 * 1.5) / 4 / 2) < 1e-12,
  );
  assert.equal(saliencyCentroid(new Float64Array(4), 2, 2), null);
});

Deno.test("saliency_sharpness drops when the salient blob is blurred; map is memoised", () => {
  const sharp = blobImage(160, 120, 100, 50, 12);
  const ctx = new ImageContext(sharp);
  const a = saliency.compute(ctx).saliency_sharpness as number;
  const b = saliency.compute(new ImageContext(blurred(sharp))).saliency_sharpness as number;
  assert.ok(a > 2 * b && b > 0, `sharp ${a}, blurred ${b}`);
  const map = ctx.memo<Float64Array>("saliency64", () => {
    throw new Error("saliency64 was not memoised");
  });
  assert.equal(map.length, 64 * 64);
  assert.deepEqual([...map], [...saliencyMap(ctx.gray, 160, 120)]);
});

Deno.test("weightedLaplacianVar: uniform weights give the plain Laplacian variance; weights select a region", () => {
  const w = 6, h = 5;
  const gray = Uint8Array.from({ length: w * h }, (_, i) => (i * 97) % 256);
  // Plain population variance of the reflect-101 Laplacian, computed independently.
  const at = (x: number, y: number) => {
    const rx = x < 0 ? -x : x >= w ? 2 * w - 2 - x : x, ry = y < 0 ? -y : y >= h ? 2 * h - 2 - y : y;
    return gray[ry * w + rx];
  };
  const lap: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      lap.push(at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4 * at(x, y));
    }
  }
  const mean = lap.reduce((s, v) => s + v, 0) / lap.length;
  const plain = lap.reduce((s, v) => s + (v - mean) ** 2, 0) / lap.length;
  const got = weightedLaplacianVar(gray, w, h, new Float64Array(w * h).fill(0.3))!;
  assert.ok(Math.abs(got - plain) <= 1e-9 * plain, `${got} vs ${plain}`);
  // Weight only two pixels: variance of those two Laplacian values.
  const wts = new Float64Array(w * h);
  wts[7] = 1;
  wts[20] = 1;
  assert.ok(Math.abs(weightedLaplacianVar(gray, w, h, wts)! - ((lap[7] - lap[20]) / 2) ** 2) < 1e-9);
  assert.equal(weightedLaplacianVar(gray, w, h, new Float64Array(w * h)), null);
});

Deno.test("SaliencyField gives the same statistics as the stored image-size map", async () => {
  const imgs = ["facephoto2.png", "facephoto6.png", "gradient.png", "noise.png"];
  for (const name of imgs) {
    const img = await decodeImage(`${REFERENCE_DIR}images/${name}`);
    for (
      const [w, h, g] of [
        [img.width, img.height, toGray(img)],
        // a portrait crop too, so the crop slides vertically
        [200, 300, toGray({ width: 200, height: 300, data: img.data.subarray(0, 200 * 300 * 3) })],
      ] as const
    ) {
      const full = saliencyFull(g, w, h);
      const field = new SaliencyField(saliencyMap(g, w, h), w, h);
      const row = new Float64Array(w);
      for (const y of [0, 1, Math.floor(h / 2), h - 1]) {
        field.row(y, row);
        for (let x = 0; x < w; x++) assert.equal(row[x], full[y * w + x], `${name} row ${y} x ${x}`);
      }
      const c1 = saliencyCentroid(full, w, h)!, c2 = field.centroid()!;
      assert.ok(Math.abs(c1.x - c2.x) < 1e-12 && Math.abs(c1.y - c2.y) < 1e-12, `${name} centroid`);
      assert.deepEqual(field.squareCrop(), saliencyCrop(full, w, h), `${name} crop`);
      const v1 = weightedLaplacianVar(g, w, h, full)!, v2 = field.weightedLaplacianVar(g)!;
      assert.ok(Math.abs(v1 - v2) <= 1e-9 * Math.max(1, v1), `${name} weighted var ${v1} vs ${v2}`);
    }
  }
});
