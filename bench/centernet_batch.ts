/**
 * Does batching pay for `objects`' CenterNet? The graph (`centernet.json`, `[1, 512, 512, 3]`) is
 * exported with a batch of 1 and its decoding (TopK over the flattened heatmap, a `BatchGather`
 * reshaped to `[16384, 4]` and `[1, 100, 4]`) is written for one image; the backbone and heads up to
 * `tower_0/keypoints` and `tower_0/wh` are batch-free (convolutions, `Mean` over axes 1–2, concat on
 * axis 3). This loads the graph on the TF.js wasm backend (Human's runtime) with the input's batch
 * dim made free, runs it to those two heads on real labeled images stacked in batches of 1, 4 and 8,
 * and prints CPU ms per image (the process's user + system time), medians [min–max] of the rounds.
 * It times the network only (no decoding), so it is an upper bound on what batching could save.
 *
 *     ./deno run --allow-all bench/centernet_batch.ts [--images 24] [--rounds 3] [--batch 1,4,8]
 *
 * @module
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { join } from "node:path";
import { decodeImage } from "../lib/core/image.ts";
import { HUMAN_MODEL_DIR } from "../lib/models/human.ts";
import { ensureWasmBackend } from "../lib/models/tfjs.ts";
import * as tf from "@tensorflow/tfjs";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    images: { type: "string", default: "24" },
    rounds: { type: "string", default: "3" },
    batch: { type: "string", default: "1,4,8" },
  },
});
const nImages = Number(values.images);
const rounds = Number(values.rounds);
const batches = values.batch.split(",").map(Number);

// deno-lint-ignore no-explicit-any
type Any = any;
const { setWasmPaths } = await import("@tensorflow/tfjs-backend-wasm");
await ensureWasmBackend({ setWasmPaths, ...tf } as Any);

const json = JSON.parse(await Deno.readTextFile(join(HUMAN_MODEL_DIR, "centernet.json")));
for (const n of json.modelTopology.node) {
  if (n.op === "Placeholder") n.attr.shape.shape.dim[0].size = "-1";
}
const weightSpecs = json.weightsManifest.flatMap((g: Any) => g.weights);
const parts = await Promise.all(
  json.weightsManifest.flatMap((g: Any) => g.paths).map((p: string) =>
    Deno.readFile(join(HUMAN_MODEL_DIR, p))
  ),
);
const weightData = new Uint8Array(parts.reduce((s: number, p: Uint8Array) => s + p.length, 0));
let off = 0;
for (const p of parts) weightData.set(p, off), off += p.length;
const model: Any = await tf.loadGraphModel(
  tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: weightData.buffer }),
);
const heads = ["tower_0/keypoints", "tower_0/wh"];

const dir = "data/labels/images";
const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort()
  .slice(0, nImages);
const inputs: tf.Tensor[] = [];
for (const f of files) {
  const img = await decodeImage(join(dir, f));
  const t = tf.tidy(() =>
    tf.image.resizeBilinear(tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, 3], "int32"), [
      512,
      512,
    ])
      .div(255)
  );
  inputs.push(t);
}

const run = (b: number) => {
  for (let i = 0; i < inputs.length; i += b) {
    const outs = tf.tidy(() => model.execute(tf.stack(inputs.slice(i, i + b)), heads));
    for (const o of outs) o.dataSync();
    tf.dispose(outs);
  }
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// Same outputs batched and alone (max |difference| over both heads), and warm-up of every size.
const alone = inputs.slice(0, 4).map((t) => tf.tidy(() => model.execute(tf.stack([t]), heads)));
const together = tf.tidy(() => model.execute(tf.stack(inputs.slice(0, 4)), heads));
let maxDiff = 0;
for (let h = 0; h < heads.length; h++) {
  const all = together[h].dataSync() as Float32Array;
  const per = all.length / 4;
  for (let i = 0; i < 4; i++) {
    const one = alone[i][h].dataSync() as Float32Array;
    for (let k = 0; k < per; k++) maxDiff = Math.max(maxDiff, Math.abs(one[k] - all[i * per + k]));
  }
}
const a0 = alone[0][0].dataSync() as Float32Array, a1 = alone[1][0].dataSync() as Float32Array;
const between = a0.reduce((m, v, k) => Math.max(m, Math.abs(v - a1[k])), 0);
console.log(
  `batched vs alone, 4 images: max |difference| of the heads ${maxDiff.toExponential(2)} ` +
    `(between images 1 and 2 alone: ${between.toFixed(3)})`,
);
for (const b of batches) run(b);

const times = new Map<number, number[]>(batches.map((b) => [b, []]));
for (let r = 0; r < rounds; r++) {
  for (const b of batches) {
    const c0 = cpuMs();
    run(b);
    times.get(b)!.push((cpuMs() - c0) / inputs.length);
  }
}
const f1 = (x: number) => x.toFixed(1);
console.log(
  `centernet to heads, TF.js wasm, ${inputs.length} images × ${rounds} rounds, CPU ms/image (median [min–max]):`,
);
for (const [b, t] of times) {
  const s = [...t].sort((x, y) => x - y);
  console.log(`  batch ${b}: ${f1(s[Math.floor(s.length / 2)])} [${f1(s[0])}–${f1(s[s.length - 1])}]`);
}
