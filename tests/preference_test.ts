/**
 * Preference scorers (PickScore-style and the aesthetic head) on the tiny CLIP and head built in
 * the hub layout by tests/fixtures_models.ts, checked against independent computations.
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
import { cosine, withinPromptColumns } from "../lib/heuristics/clip_score.ts";
import { loadClip } from "../lib/models/clip.ts";
import { ModelFileError, ModelNotFoundError } from "../lib/models/store.ts";
import { MODEL_HEURISTICS } from "../lib/heuristics/registry.ts";
import {
  rng,
  TINY,
  TINY_AESTHETIC_ID,
  TINY_CLIP_ID,
  tinyAestheticHead,
  uniform,
  writeTinyModels,
} from "./fixtures_models.ts";

const MODELS = await Deno.makeTempDir({ prefix: "winnow-pref-" });
await writeTinyModels(MODELS);
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

Deno.test("pick_score = exp(logit_scale)·cos of the towers' embeddings; softmax across candidates; batch = one-by-one", async () => {
  const prompt = "the cat on the mat";
  const pick = await pickScorer(PICK);
  assert.equal(pick.kind, "pickscore");
  const batch = await pick.score(IMAGES, prompt);
  // Independent: the separate text and image towers (other ONNX files) and a cosine in the test.
  const clip = await loadClip(TINY_CLIP_ID, { modelsDir: MODELS });
  const [t] = await clip.textEmbeddings([prompt]);
  const v = await clip.imageEmbeddings(IMAGES);
  for (const [i, img] of IMAGES.entries()) {
    close(batch[i], TINY.logitScale * cosine(t.embedding, v[i]), 1e-4, `logit ${i}`);
    const one = await pickScore.compute(
      new ImageContext(img, { settings: { pick_score: { ...PICK, prompt } } }),
    );
    close(one.pick_score as number, batch[i], 1e-4, `one-by-one ${i}`);
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
  const exps = batch.map((s) => Math.exp(s - Math.max(...batch)));
  probs.forEach((p, i) => close(p, exps[i] / exps.reduce((a, b) => a + b), 1e-12, `softmax ${i}`));
  assert.ok(Math.max(...probs) - Math.min(...probs) > 0.01, "the candidates differ");
  await assert.rejects(() => pick.score(IMAGES), /a prompt is required/);
});

Deno.test("aesthetic = the head (recomputed here from its weights) on the L2-normalised image embedding", async () => {
  const scorer = await preferenceScorer("aesthetic", AES);
  assert.deepEqual([scorer.kind, scorer.needsPrompt], ["aesthetic", false]);
  const scores = await scorer.score(IMAGES);
  const clip = await loadClip(TINY_CLIP_ID, { modelsDir: MODELS });
  const embs = await clip.imageEmbeddings(IMAGES);
  // The fixture head's weights, drawn again from the same seed: Linear(d, 4) → Linear(4, 1) + 5.
  const d = TINY.projDim, r = rng(7);
  const w1 = uniform(r, d * 4, 1), b1 = uniform(r, 4, 1), w2 = uniform(r, 4, 1);
  for (const [i, e] of embs.entries()) {
    const n = Math.hypot(...e);
    let y = 5;
    for (let k = 0; k < 4; k++) {
      let h = b1[k];
      for (let j = 0; j < d; j++) h += (e[j] / n) * w1[j * 4 + k];
      y += h * w2[k];
    }
    close(scores[i], y, 1e-4, `aesthetic ${i}`);
    const one = await aesthetic.compute(new ImageContext(IMAGES[i], { settings: { aesthetic: AES } }));
    close(one.aesthetic_score as number, scores[i], 1e-5, `one-by-one ${i}`);
  }
  const raw = await aestheticScorer({ ...AES, normalize: false });
  assert.notDeepEqual(await raw.score(IMAGES.slice(0, 1)), scores.slice(0, 1), "normalize matters");
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
