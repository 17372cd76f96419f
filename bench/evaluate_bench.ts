/**
 * Generator evaluation speed on a 2-core machine: features of a 1024×1024 JPEG per second for each
 * extractor, beside the cost of decoding it, and the FID computation itself.
 *
 * - `decode`: `decodeBytes` of a 1024² JPEG (q90), the baseline.
 * - `inception input`: clean-fid's float resize to 299² (`inceptionInput`). The FID Inception's
 *   weights cannot be downloaded here, so its network time is not measured (onnxruntime runs
 *   Inception v3, ~5.7 GFLOPs, at roughly the ViT-B/32 rate of bench/clip_bench.ts, ~4.4 GFLOPs).
 * - `clip input`: clean-fid's clip_vit_b_32 preprocessing (`cleanFidClipInput`); the ViT-B/32
 *   tower itself is measured by bench/clip_bench.ts (random weights of the real size).
 * - `nsfwjs-mobilenet_v2 features`: the whole offline extractor (preprocess + MobileNetV2 on TF.js
 *   wasm), one image.
 * - `frechet 2048-d`: FID of two sets of 256 feature vectors of 2048 dimensions (Jacobi route).
 *
 *     ./deno bench -A bench/evaluate_bench.ts
 *
 * @module
 */
import { decodeBytes } from "../lib/core/image.ts";
import { smoothJpeg } from "./fixtures.ts";
import { cleanFidClipInput, inceptionInput, loadExtractor } from "../lib/evaluate/features.ts";
import { frechet } from "../lib/evaluate/distribution.ts";
import { mulberry32 } from "../lib/core/random.ts";

const { jpeg, decoded } = await smoothJpeg(1024);
const nsfw = await loadExtractor("nsfwjs-mobilenet_v2");
const r = mulberry32(1);
const feats = (n: number) => Array.from({ length: n }, () => Float64Array.from({ length: 2048 }, () => r()));
const [fa, fb] = [feats(256), feats(256)];

const times: Record<string, number[]> = { decode: [], inception: [], clip: [], nsfw: [], frechet: [] };
const timed = async (k: string, f: () => unknown) => {
  const t = performance.now();
  await f();
  times[k].push(performance.now() - t);
};

Deno.bench("decode 1024² JPEG (image core)", { group: "features", baseline: true }, async () => {
  await timed("decode", () => decodeBytes(jpeg));
});
Deno.bench("inception input (clean-fid resize to 299²)", { group: "features" }, async () => {
  await timed("inception", () => inceptionInput(decoded));
});
Deno.bench("clip input (clean-fid clip_vit_b_32 preprocessing)", { group: "features" }, async () => {
  await timed("clip", () => cleanFidClipInput(decoded));
});
Deno.bench("nsfwjs-mobilenet_v2 features (whole extractor)", { group: "features" }, async () => {
  await timed("nsfw", () => nsfw.features(decoded));
});
Deno.bench("frechet 256 vs 256, 2048-d", { group: "fid", n: 3, warmup: 1 }, async () => {
  await timed("frechet", () => frechet(fa, fb));
});

globalThis.addEventListener("unload", () => {
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1] ?? NaN;
  const d = med(times.decode);
  const line = (what: string, ms: number) =>
    `  ${what.padEnd(44)} ${ms.toFixed(1).padStart(7)} ms  ${(1000 / ms).toFixed(1).padStart(6)} /s  ` +
    `${(ms / d).toFixed(2)} × decode`;
  console.log(
    `\nEvaluation on ${navigator.hardwareConcurrency} cores (1024² JPEG):\n` +
      [
        line("decode", d),
        line("inception input (resize to 299², float)", med(times.inception)),
        line("clip input (224², Pillow bicubic)", med(times.clip)),
        line("nsfwjs-mobilenet_v2 features (whole)", med(times.nsfw)),
        line("frechet 256 vs 256 × 2048-d", med(times.frechet)),
      ].join("\n"),
  );
});
