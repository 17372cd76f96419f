/**
 * Preference scorers (PickScore-style and the aesthetic head) on the tiny CLIP and head built in
 * the hub layout by tests/fixtures_models.ts. Expected values come from the golden CLIP inputs
 * (../shared/reference/eval/) fed to the fixture's own ONNX graphs with onnxruntime-node directly.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { RgbImage } from "../lib/core/image.ts";
import { ImageContext } from "../lib/heuristics/types.ts";
import {
  aesthetic,
  aestheticScorer,
  pickScore,
  pickScorer,
  preferenceScorer,
} from "../lib/heuristics/preference.ts";
import { withinPromptColumns } from "../lib/heuristics/clip_score.ts";
import * as ort from "onnxruntime-node";
import { decodeImage } from "../lib/core/image.ts";
import { EVAL_DIR, GOLDEN_EVAL, readF32, REFERENCE_DIR } from "./golden.ts";
import { ModelFileError, ModelNotFoundError } from "../lib/models/store.ts";
import { MODEL_HEURISTICS } from "../lib/heuristics/registry.ts";
import {
  rng,
  TINY,
  TINY_AESTHETIC_ID,
  TINY_BOS,
  TINY_CLIP_224_ID,
  TINY_CLIP_ID,
  TINY_EOS,
  tinyAestheticHead,
  tinyClipJsonFiles,
  uniform,
  writeTinyClip224,
  writeTinyModels,
} from "./fixtures_models.ts";

const MODELS = await Deno.makeTempDir({ prefix: "winnow-pref-" });
await writeTinyModels(MODELS);
await writeTinyClip224(MODELS);
const HEAD = `${TINY_AESTHETIC_ID}/model.onnx`;
const PICK = { model: TINY_CLIP_ID, modelsDir: MODELS };
const AES = { model: TINY_CLIP_ID, modelsDir: MODELS, head: HEAD };

function images(): RgbImage[] {
  const w = 40, h = 36;
  return [0, 1, 2, 3, 4].map((k) => {
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) {
      const x = i % w, y = Math.floor(i / w);
      data[i * 3] = (x * 6 + k * 50) % 256;
      data[i * 3 + 1] = (y * (k + 2) * 3) % 256;
      data[i * 3 + 2] = ((x ^ y) * (k + 1) * 5) % 256;
    }
    return { width: w, height: h, data };
  });
}
const IMAGES = images();

function close(a: number, b: number, tol: number, what: string) {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);
}

/** The golden CLIP inputs (Hugging Face CLIPImageProcessor) of two photos, with the decoded photos. */
const GOLDEN = await Promise.all(
  (GOLDEN_EVAL.clip_pixels as { image: string; expected: string }[]).map(async (c) => ({
    image: c.image,
    img: await decodeImage(`${REFERENCE_DIR}images/${c.image}`),
    pixels: await readF32(EVAL_DIR + c.expected),
  })),
);
const ONNX = join(MODELS, TINY_CLIP_224_ID, "onnx");
const PICK224 = { model: TINY_CLIP_224_ID, modelsDir: MODELS };
const AES224 = { model: TINY_CLIP_224_ID, modelsDir: MODELS, head: HEAD };

Deno.test("pick_score = the combined ONNX graph's logits_per_image, run directly on the golden pixels; softmax; batch = one-by-one", async () => {
  const v =
    (tinyClipJsonFiles()["tokenizer.json"] as { model: { vocab: Record<string, number> } }).model.vocab;
  const ids = [TINY_BOS, v["the</w>"], v["cat</w>"], TINY_EOS].map(BigInt);
  const model = await ort.InferenceSession.create(join(ONNX, "model.onnx"));
  const pixels = new Float32Array(GOLDEN.length * 3 * 224 * 224);
  GOLDEN.forEach((g, i) => pixels.set(g.pixels, i * 3 * 224 * 224));
  const out = await model.run({
    input_ids: new ort.Tensor("int64", BigInt64Array.from(ids), [1, ids.length]),
    attention_mask: new ort.Tensor("int64", new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
    pixel_values: new ort.Tensor("float32", pixels, [GOLDEN.length, 3, 224, 224]),
  });
  const want = Array.from(out.logits_per_image.data as Float32Array);
  const pick = await pickScorer(PICK224);
  assert.equal(pick.kind, "pickscore");
  const batch = await pick.score(GOLDEN.map((g) => g.img), "the cat");
  for (const [i, g] of GOLDEN.entries()) {
    close(batch[i], want[i], 1e-3, `logit ${g.image}`);
    const one = await pickScore.compute(
      new ImageContext(g.img, { settings: { pick_score: { ...PICK224, prompt: "the cat" } } }),
    );
    close(one.pick_score as number, want[i], 1e-3, `one-by-one ${g.image}`);
  }
  // PickScore's preference probabilities: softmax of the logits across the prompt's candidates.
  const rows = batch.map((s) => ({ pick_score: s, pick_prompt_key: "k" }));
  const probs = withinPromptColumns(rows, {
    value: "pick_score",
    key: "pick_prompt_key",
    prefix: "pick_prompt",
    softmax: true,
  })
    .map((r) => r.pick_prompt_prob as number);
  const exps = want.map((s) => Math.exp(s - Math.max(...want)));
  probs.forEach((p, i) => close(p, exps[i] / exps.reduce((a, b) => a + b), 1e-6, `softmax ${i}`));
  assert.ok(Math.max(...probs) - Math.min(...probs) > 0.01, "the candidates differ");
  await assert.rejects(() => pick.score(IMAGES), /a prompt is required/);
  // The small synthetic images: batch equals one-by-one.
  const small = await (await pickScorer(PICK)).score(IMAGES, "a dog");
  for (const [i, img] of IMAGES.entries()) {
    const [one] = await (await pickScorer(PICK)).score([img], "a dog");
    close(one, small[i], 1e-4, `small ${i}`);
  }
});

Deno.test("aesthetic = the head (recomputed from its weights) on the L2-normalised embedding of the vision graph run on the golden pixels", async () => {
  const scorer = await preferenceScorer("aesthetic", AES224);
  assert.deepEqual([scorer.kind, scorer.needsPrompt], ["aesthetic", false]);
  const scores = await scorer.score(GOLDEN.map((g) => g.img));
  const vision = await ort.InferenceSession.create(join(ONNX, "vision_model.onnx"));
  // The fixture head's weights, drawn again from the same seed: Linear(d, 4) → Linear(4, 1) + 5.
  const d = TINY.projDim, r = rng(7);
  const w1 = uniform(r, d * 4, 1), b1 = uniform(r, 4, 1), w2 = uniform(r, 4, 1);
  for (const [i, g] of GOLDEN.entries()) {
    const e = (await vision.run({ pixel_values: new ort.Tensor("float32", g.pixels, [1, 3, 224, 224]) }))
      .image_embeds.data as Float32Array;
    const n = Math.hypot(...e);
    let y = 5;
    for (let k = 0; k < 4; k++) {
      let h = b1[k];
      for (let j = 0; j < d; j++) h += (e[j] / n) * w1[j * 4 + k];
      y += h * w2[k];
    }
    close(scores[i], y, 1e-4, `aesthetic ${g.image}`);
    const one = await aesthetic.compute(new ImageContext(g.img, { settings: { aesthetic: AES224 } }));
    close(one.aesthetic_score as number, scores[i], 1e-5, `one-by-one ${g.image}`);
  }
  const raw = await aestheticScorer({ ...AES224, normalize: false });
  assert.notDeepEqual(
    await raw.score(GOLDEN.slice(0, 1).map((g) => g.img)),
    scores.slice(0, 1),
    "normalize matters",
  );
});

Deno.test("aesthetic: a missing head names the file and the export docs; a head of the wrong width names the file", async () => {
  await assert.rejects(
    () => aestheticScorer({ ...AES, head: "aesthetic/none.onnx" }),
    (e: Error) =>
      e instanceof ModelNotFoundError && e.message.includes(join(MODELS, "aesthetic/none.onnx")) &&
      e.message.includes("docs/models.md"),
  );
  const wide = join(MODELS, "wide.onnx");
  await Deno.writeFile(wide, tinyAestheticHead(7, 768));
  const scorer = await aestheticScorer({ ...AES, head: wide });
  await assert.rejects(
    () => scorer.score(IMAGES.slice(0, 1)),
    (e: Error) =>
      e instanceof ModelFileError && e.message.startsWith(wide) && /8-dimensional/.test(e.message),
  );
  const corrupt = join(MODELS, "corrupt.onnx");
  await Deno.writeTextFile(corrupt, "not onnx");
  await assert.rejects(
    () => aestheticScorer({ ...AES, head: corrupt }),
    (e: Error) => e instanceof ModelFileError && e.message.startsWith(corrupt),
  );
  await assert.rejects(
    () =>
      pickScore.compute(
        new ImageContext(IMAGES[0], { settings: { pick_score: { modelsDir: MODELS, prompt: "a" } } }),
      ) as Promise<unknown>,
    /model "yuvalkirstain\/PickScore_v1" not found.*deno task models pull yuvalkirstain\/PickScore_v1/,
  );
});

Deno.test("registry: pick_score and aesthetic run only when named; settings are checked", async () => {
  assert.ok(MODEL_HEURISTICS.includes("pick_score") && MODEL_HEURISTICS.includes("aesthetic"));
  await assert.rejects(
    () =>
      aesthetic.compute(
        new ImageContext(IMAGES[0], { settings: { aesthetic: { ...AES, prompt: "x" } } }),
      ) as Promise<unknown>,
    /aesthetic: unknown setting "prompt"/,
  );
  await assert.rejects(
    () =>
      pickScore.compute(
        new ImageContext(IMAGES[0], { settings: { pick_score: { ...PICK, prompt: " " } } }),
      ) as Promise<unknown>,
    /pick_score: the prompt for the image is empty/,
  );
});
