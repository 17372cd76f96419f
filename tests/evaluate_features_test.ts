/**
 * Feature extractors: the FID Inception's loading code on a tiny ONNX with its signature (built
 * here), input layout and scaling, batch-size independence, the per-file cache; the offline
 * nsfwjs extractor on real photos (FID of a set with itself, FID against blurred copies).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { decodeImage } from "../lib/core/image.ts";
import { resizePilFloat } from "../lib/core/resize_pil.ts";
import {
  cleanFidClipInput,
  extractFeatures,
  INCEPTION_FILE,
  inceptionInput,
  loadExtractor,
} from "../lib/evaluate/features.ts";
import { frechet } from "../lib/evaluate/distribution.ts";
import { ModelNotFoundError } from "../lib/models/store.ts";
import { TINY_CLIP_224_ID, tinyInception, writeTinyClip224 } from "./fixtures_models.ts";
import { EVAL_DIR, readF32, REFERENCE_DIR } from "./golden.ts";

const PHOTOS = [1, 2, 3, 4, 5, 6].map((i) => `${REFERENCE_DIR}images/facephoto${i}.png`);
const SYNTH = ["checker.png", "gradient.png", "noise.png"].map((f) => `${REFERENCE_DIR}images/${f}`);

Deno.test("inception: loads from the store; NCHW 0–255 input after the clean-fid resize; [2048] output", async () => {
  const store = await Deno.makeTempDir();
  const missing = await loadExtractor("inception", { modelsDir: store }).catch((e) => e);
  assert.ok(missing instanceof ModelNotFoundError, String(missing));
  assert.match(missing.message, /pt_inception-2015-12-05\.onnx.*README\.md.*nsfwjs-mobilenet_v2/);
  const { onnx, w } = tinyInception();
  await Deno.mkdir(join(store, "inception"), { recursive: true });
  await Deno.writeFile(join(store, INCEPTION_FILE), onnx);
  const fx = await loadExtractor("inception", { modelsDir: store });
  assert.deepEqual([fx.name, fx.dim, fx.comparable], ["inception", 2048, true]);
  for (const file of [PHOTOS[0], SYNTH[0]]) {
    const img = await decodeImage(file);
    const got = await fx.features(img);
    assert.equal(got.length, 2048);
    // Recomputed here: channel means of the clean-fid resize (HWC → per channel), scaled as the network does.
    const hwc = resizePilFloat(img, 299, 299);
    const means = [0, 1, 2].map((c) => {
      let s = 0;
      for (let i = c; i < hwc.length; i += 3) s += hwc[i];
      return s / (299 * 299) / 128 - 1;
    });
    for (let j = 0; j < 2048; j += 97) {
      const want = Math.tanh(means[0] * w[j] + means[1] * w[2048 + j] + means[2] * w[4096 + j]);
      assert.ok(Math.abs(got[j] - want) < 1e-4, `${file} feature ${j}: ${got[j]} vs ${want}`);
    }
  }
  assert.equal(inceptionInput(await decodeImage(SYNTH[1])).length, 3 * 299 * 299);
});

Deno.test("extractFeatures: batch 1 and batch 8 give identical numbers; the cache makes a second run read only", async () => {
  const store = await Deno.makeTempDir();
  await Deno.mkdir(join(store, "inception"), { recursive: true });
  await Deno.writeFile(join(store, INCEPTION_FILE), tinyInception().onnx);
  const fx = await loadExtractor("inception", { modelsDir: store });
  const bad = join(store, "broken.png");
  await Deno.writeTextFile(bad, "not a png");
  const files = [...PHOTOS, bad, ...SYNTH];
  const one = await extractFeatures(files, fx, { batchSize: 1 });
  const eight = await extractFeatures(files, fx, { batchSize: 8 });
  assert.deepEqual(one.files, [...PHOTOS, ...SYNTH]);
  assert.deepEqual(one.errors.map((e) => e.file), [bad]);
  assert.match(one.errors[0].error, /broken\.png/);
  one.features.forEach((f, i) => assert.deepEqual(f, eight.features[i], `file ${i}`));
  const cache = join(store, "cache");
  const first = await extractFeatures(files, fx, { cacheDir: cache, batchSize: 4 });
  const second = await extractFeatures(files, fx, { cacheDir: cache, batchSize: 4 });
  assert.deepEqual([first.cached, second.cached], [0, 9]);
  second.features.forEach((f, i) => assert.deepEqual(f, one.features[i], `cached ${i}`));
});

Deno.test("nsfwjs-mobilenet_v2 (offline): named as not comparable; FID of a set with itself is 0; grows with blur", async () => {
  const fx = await loadExtractor("nsfwjs-mobilenet_v2");
  assert.equal(fx.comparable, false);
  assert.match(fx.note, /NOT comparable with published FID/);
  const dir = await Deno.makeTempDir();
  const sets: Record<string, string[]> = { "0": [], "2": [], "6": [] };
  for (const f of PHOTOS) {
    for (const s of Object.keys(sets)) {
      const out = join(dir, `s${s}_${f.split("/").pop()}`);
      const img = sharp(f).resize(256);
      await (s === "0" ? img : img.blur(Number(s))).png().toFile(out);
      sets[s].push(out);
    }
  }
  const feats = Object.fromEntries(
    await Promise.all(
      Object.entries(sets).map(async ([s, files]) => [s, (await extractFeatures(files, fx)).features]),
    ),
  );
  assert.equal(feats["0"][0].length, 1280);
  const self = frechet(feats["0"], feats["0"]);
  assert.ok(Math.abs(self.value) <= 1e-6, `self ${self.value}`);
  assert.match(self.warnings[0], /fewer images \(6\) than feature dimensions \(1280\)/);
  const f2 = frechet(feats["0"], feats["2"]).value, f6 = frechet(feats["0"], feats["6"]).value;
  assert.ok(0 < f2 && f2 < f6, `FID blur 2: ${f2}, blur 6: ${f6}`);
});

Deno.test("clip extractor input = clean-fid's clip_vit_b_32 preprocessing: the golden CLIP pixels, crop rounded as torchvision", async () => {
  // facephoto4 resizes to 296×224: both crops start at column 36, so the golden array applies as is.
  // facephoto1 resizes to 335×224: Hugging Face crops at 55 (floor), torchvision at round(55.5) = 56.
  for (const [name, shift] of [["facephoto4", 0], ["facephoto1", 1]] as const) {
    const want = await readF32(`${EVAL_DIR}${name}_clip_3x224x224.f32`);
    const got = cleanFidClipInput(await decodeImage(`${REFERENCE_DIR}images/${name}.png`));
    let max = 0;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 224; y++) {
        for (let x = 0; x + shift < 224; x++) {
          const i = c * 224 * 224 + y * 224 + x;
          max = Math.max(max, Math.abs(got[i] - want[i + shift]));
        }
      }
    }
    assert.ok(max <= 1e-5, `${name}: max abs difference ${max}`);
  }
});

Deno.test("clip extractor: the image tower of a CLIP in the store, projected embeddings", async () => {
  const store = await Deno.makeTempDir();
  await writeTinyClip224(store);
  const fx = await loadExtractor("clip", { modelsDir: store, clipModel: TINY_CLIP_224_ID });
  assert.deepEqual([fx.name, fx.dim, fx.comparable], ["clip", 8, false]);
  const f = await fx.features(await decodeImage(PHOTOS[0]));
  assert.equal(f.length, 8);
  assert.ok(f.every(Number.isFinite));
});
