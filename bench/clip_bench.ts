/**
 * CLIP ViT-B/32 image embeddings per second with onnxruntime-node, at batch 1 and 8, beside the
 * cost of decoding a 1024-px JPEG with the image core (and of CLIP's preprocessing).
 *
 * The model is the full-size CLIP ViT-B/32 image tower (patch 32, width 768, 12 layers, 12
 * heads, MLP 3072, quick-GELU, pre/post LayerNorm, projection 768 → 512; 87.8 M parameters,
 * ~350 MB) with random weights — speed does not depend on the weights — written with onnx-proto
 * by this file. Building it takes a few seconds, so it is built once into
 * `$TMPDIR/winnow-bench/clip-vit-b32-vision-random.onnx` and reused by later runs.
 *
 * Groups (`iter/s` is per iteration; images/s are printed at the end):
 * - `embed`: one `session.run` on preprocessed `pixel_values` [n, 3, 224, 224], n = 1 or 8
 *   (images/s = n × iter/s), with the session options `lib/models/clip.ts` uses (intra-op threads
 *   = cores, 1 inter-op thread; onnxruntime-node's defaults measured 16/18 images/s instead).
 * - `decode`: `decodeBytes` of a 1024×1024 JPEG (q90), and CLIP preprocessing of the decoded image
 *   (resize shortest side to 224 bicubic, centre crop, normalise: the `clip_score` path).
 *
 *     ./deno bench -A bench/clip_bench.ts
 *
 * Target on a 2-core machine: ≥ 25 images/s batched.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import { decodeBytes } from "../lib/core/image.ts";
import { smoothJpeg } from "./fixtures.ts";
import { writeAtomic } from "../lib/core/atomic.ts";
import { FLOAT, type OnnxGraph, onnxGraph, rng, uniform } from "../tests/fixtures_models.ts";

const W = 768, HEADS = 12, LAYERS = 12, MLP = 3072, PATCH = 32, SIDE = 224, PROJ = 512;
const TOKENS = (SIDE / PATCH) ** 2 + 1;

/** Writes the random full-size ViT-B/32 image tower (the graph Optimum exports for CLIPVisionModelWithProjection). */
function vitB32(): Uint8Array {
  const g = onnxGraph(), r = rng(32);
  const w = (name: string, dims: number[], scale = 0.02) =>
    g.weight(name, dims, uniform(r, dims.reduce((a, b) => a * b, 1), scale));
  const ones = (name: string, n: number) => g.weight(name, [n], new Float32Array(n).fill(1));
  const ln = (x: string, p: string) =>
    g.op("LayerNormalization", [x, ones(`${p}.g`, W), w(`${p}.b`, [W], 0.01)], {
      axis: { i: -1 },
      epsilon: { f: 1e-5 },
    });
  const linear = (x: string, p: string, i: number, o: number) =>
    g.op("Add", [g.op("MatMul", [x, w(`${p}.w`, [i, o])]), w(`${p}.b`, [o], 0.01)]);
  const patches = g.op("Conv", ["pixel_values", w("patch", [W, 3, PATCH, PATCH])], {
    kernel_shape: { ints: [PATCH, PATCH] },
    strides: { ints: [PATCH, PATCH] },
  });
  const seq = g.op("Transpose", [g.op("Reshape", [patches, g.ints("s_flat", [0, W, -1])])], {
    perm: { ints: [0, 2, 1] },
  });
  const batch = g.op("Slice", [g.op("Shape", ["pixel_values"]), g.ints("z0", [0]), g.ints("z1", [1])]);
  const clsShape = g.op("Concat", [batch, g.ints("one_w", [1, W])], { axis: { i: 0 } });
  const cls = g.op("Expand", [w("cls", [1, 1, W]), clsShape]);
  let x = g.op("Add", [g.op("Concat", [cls, seq], { axis: { i: 1 } }), w("pos", [TOKENS, W])]);
  x = ln(x, "pre");
  const headShape = g.ints("s_heads", [0, 0, HEADS, W / HEADS]);
  const backShape = g.ints("s_back", [0, 0, W]);
  const scale = g.weight("qscale", [], new Float32Array([1 / Math.sqrt(W / HEADS)]));
  const k1702 = g.weight("k1702", [], new Float32Array([1.702]));
  for (let l = 0; l < LAYERS; l++) {
    const p = `l${l}`;
    const h = ln(x, `${p}.ln1`);
    const split = (t: string, perm: number[]) =>
      g.op("Transpose", [g.op("Reshape", [t, headShape])], { perm: { ints: perm } });
    const q = split(g.op("Mul", [linear(h, `${p}.q`, W, W), scale]), [0, 2, 1, 3]);
    const k = split(linear(h, `${p}.k`, W, W), [0, 2, 3, 1]);
    const v = split(linear(h, `${p}.v`, W, W), [0, 2, 1, 3]);
    const att = g.op("Softmax", [g.op("MatMul", [q, k])], { axis: { i: -1 } });
    const ctx = g.op("Reshape", [
      g.op("Transpose", [g.op("MatMul", [att, v])], { perm: { ints: [0, 2, 1, 3] } }),
      backShape,
    ]);
    x = g.op("Add", [x, linear(ctx, `${p}.o`, W, W)]);
    const f = linear(ln(x, `${p}.ln2`), `${p}.fc1`, W, MLP);
    const gelu = g.op("Mul", [f, g.op("Sigmoid", [g.op("Mul", [f, k1702])])]);
    x = g.op("Add", [x, linear(gelu, `${p}.fc2`, MLP, W)]);
  }
  const pooled = ln(
    g.op("Squeeze", [
      g.op("Slice", [x, g.ints("t0", [0]), g.ints("t1", [1]), g.ints("ax1", [1])]),
      g.ints("ax1b", [1]),
    ]),
    "post",
  );
  g.op("MatMul", [pooled, w("proj", [W, PROJ])], {}, "image_embeds");
  return encode(g);
}

function encode(g: OnnxGraph): Uint8Array {
  return g.encode(
    [{ name: "pixel_values", type: FLOAT, dims: ["batch_size", 3, SIDE, SIDE] }],
    [{ name: "image_embeds", type: FLOAT, dims: ["batch_size", PROJ] }],
  );
}

const dir = join(Deno.env.get("TMPDIR") ?? "/tmp", "winnow-bench");
const file = join(dir, "clip-vit-b32-vision-random.onnx");
let buildSeconds: number | null = null;
if (!(await Deno.stat(file).catch(() => null))?.size) {
  const t = performance.now();
  await Deno.mkdir(dir, { recursive: true });
  await writeAtomic(file, vitB32());
  buildSeconds = (performance.now() - t) / 1000;
}
// As lib/models/clip.ts creates its sessions: threads = cores (onnxruntime's own default was 1.7× slower here).
const session = await ort.InferenceSession.create(file, {
  intraOpNumThreads: navigator.hardwareConcurrency,
  interOpNumThreads: 1,
});
const sizeMb = (await Deno.stat(file)).size / 1e6;

const pixels = (n: number) =>
  new ort.Tensor("float32", uniform(rng(n), n * 3 * SIDE * SIDE, 2), [n, 3, SIDE, SIDE]);
const inputs = { 1: pixels(1), 8: pixels(8) };
for (const n of [1, 8] as const) await session.run({ pixel_values: inputs[n] }); // warm-up
const out = await session.run({ pixel_values: inputs[8] });
if (out.image_embeds.dims.join() !== "8,512") throw new Error(`unexpected output ${out.image_embeds.dims}`);

// A 1024×1024 JPEG of a smooth picture with detail, as generated images are.
const { jpeg, decoded } = await smoothJpeg(1024);

// CLIP preprocessing as clip_score runs it (clipPixels: CLIPImageProcessor's steps, Pillow bicubic).
const { clipPixels, OPENAI_CLIP_PREPROCESSOR } = await import("../lib/models/clip_pixels.ts");
const pre = { ...OPENAI_CLIP_PREPROCESSOR, shortestEdge: SIDE, cropHeight: SIDE, cropWidth: SIDE };
const preprocess = () => Promise.resolve(clipPixels(decoded, pre));

const times: Record<string, number[]> = { embed1: [], embed8: [], decode: [], preprocess: [] };
const timed = async (k: string, f: () => Promise<unknown>) => {
  const t = performance.now();
  await f();
  times[k].push(performance.now() - t);
};

Deno.bench("embed batch 1 (ViT-B/32, 224²)", { group: "embed", baseline: true }, async () => {
  await timed("embed1", () => session.run({ pixel_values: inputs[1] }));
});
Deno.bench("embed batch 8 (ViT-B/32, 224²)", { group: "embed" }, async () => {
  await timed("embed8", () => session.run({ pixel_values: inputs[8] }));
});
Deno.bench("decode 1024² JPEG (image core)", { group: "decode", baseline: true }, async () => {
  await timed("decode", () => decodeBytes(jpeg));
});
Deno.bench("CLIP preprocess of the decoded image", { group: "decode" }, async () => {
  await timed("preprocess", preprocess);
});

globalThis.addEventListener("unload", () => {
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1] ?? NaN;
  const e1 = med(times.embed1),
    e8 = med(times.embed8) / 8,
    dec = med(times.decode),
    pp = med(times.preprocess);
  console.log(
    `\nCLIP ViT-B/32 image tower (random weights, ${sizeMb.toFixed(0)} MB, ${
      buildSeconds === null ? `reused ${file}` : `built in ${buildSeconds.toFixed(1)} s into ${file}`
    }), ${navigator.hardwareConcurrency} cores:\n` +
      `  batch 1: ${(1000 / e1).toFixed(1)} images/s (${e1.toFixed(1)} ms/image)\n` +
      `  batch 8: ${(1000 / e8).toFixed(1)} images/s (${e8.toFixed(1)} ms/image)\n` +
      `  decode 1024² JPEG: ${dec.toFixed(1)} ms; CLIP preprocess: ${pp.toFixed(1)} ms\n` +
      `  embed / decode time per image: ${(e1 / dec).toFixed(2)} (batch 1), ${
        (e8 / dec).toFixed(2)
      } (batch 8)`,
  );
});
