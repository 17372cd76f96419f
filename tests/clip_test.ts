/**
 * clip_score and the model store, end to end on a tiny CLIP built here in the hub layout
 * (tests/fixtures_models.ts): the loading code is the one that reads a real checkpoint.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import type { RgbImage } from "../lib/core/image.ts";
import { ImageContext } from "../lib/heuristics/types.ts";
import { clipScore, clipScores, promptKey, withinPromptColumns } from "../lib/heuristics/clip_score.ts";
import { clipPixels, loadClip } from "../lib/models/clip.ts";
import { decodeImage } from "../lib/core/image.ts";
import { EVAL_DIR, GOLDEN_EVAL, readF32, REFERENCE_DIR } from "./golden.ts";
import { ModelFileError, ModelNotFoundError } from "../lib/models/store.ts";
import { ScorePool } from "../lib/score/pool.ts";
import { DEFAULT_HEURISTICS, MODEL_HEURISTICS } from "../lib/heuristics/registry.ts";
import {
  TINY_BOS,
  TINY_CLIP_224_ID,
  TINY_CLIP_ID,
  TINY_EOS,
  tinyClipJsonFiles,
  tinyClipOnnxFiles,
  writeTinyClip224,
  writeTinyModels,
} from "./fixtures_models.ts";
import { runCli } from "./cli.ts";
import { readResults } from "../lib/score/results.ts";

const MODELS = await Deno.makeTempDir({ prefix: "winnow-models-" });
await writeTinyModels(MODELS);
await writeTinyClip224(MODELS);
const TINY_SETTINGS = { model: TINY_CLIP_ID, modelsDir: MODELS };

/** Four different 48×40 test images: gradients and blocks in different colours. */
function testImages(): RgbImage[] {
  const w = 48, h = 40;
  return [0, 1, 2, 3].map((k) => {
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 3;
        data[i] = (x * (5 + 20 * k)) % 256;
        data[i + 1] = (y * (3 + 11 * k) + 40 * k) % 256;
        data[i + 2] = ((x + y) * (k + 1) * 7 + (x > 20 && k % 2 ? 120 : 0)) % 256;
      }
    }
    return { width: w, height: h, data };
  });
}
const IMAGES = testImages();

function ctxFor(img: RgbImage, settings: Record<string, unknown>, path?: string): ImageContext {
  return new ImageContext(img, { path, settings: { clip_score: settings } });
}

/** `clip_score` values of one image (always a promise, for assert.rejects). */
async function score(img: RgbImage, settings: Record<string, unknown>, path?: string) {
  return await clipScore.compute(ctxFor(img, settings, path));
}

function close(a: number, b: number, tol: number, what: string) {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);
}

/** Token ids the fixture vocabulary gives for lowercase words (each word = merges or characters). */
function vocab(): Record<string, number> {
  // deno-lint-ignore no-explicit-any
  return (tinyClipJsonFiles()["tokenizer.json"] as any).model.vocab;
}

Deno.test("tokenizer: the hub tokenizer.json is read by transformers.js: ids, start/end tokens, merges", async () => {
  const clip = await loadClip(TINY_CLIP_ID, { modelsDir: MODELS });
  const v = vocab();
  const t = clip.tokenize("The  CAT");
  assert.deepEqual(t.ids.map(Number), [TINY_BOS, v["the</w>"], v["cat</w>"], TINY_EOS]);
  assert.deepEqual([t.count, t.truncated], [4, false]);
});

/** Token ids of lowercase words from the fixture vocabulary itself (not winnow's tokenizer). */
function idsOf(words: string[]): bigint[] {
  const v = vocab();
  return [TINY_BOS, ...words.map((w) => v[`${w}</w>`]), TINY_EOS].map(BigInt);
}

/** The golden CLIP inputs (Hugging Face CLIPImageProcessor, openai/clip-vit-base-patch32) of two photos. */
const GOLDEN_PIXELS = await Promise.all(
  (GOLDEN_EVAL.clip_pixels as { image: string; expected: string }[]).map(async (c) => ({
    image: c.image,
    img: await decodeImage(`${REFERENCE_DIR}images/${c.image}`),
    pixels: await readF32(EVAL_DIR + c.expected),
  })),
);

function cos(a: Float32Array, b: Float32Array): number {
  let dot = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    aa += a[i] ** 2;
    bb += b[i] ** 2;
  }
  return dot / Math.sqrt(aa * bb);
}

Deno.test("clipPixels matches CLIPImageProcessor's arrays (≤ 1e-5), directly and from the model's preprocessor file", async () => {
  const clip = await loadClip(TINY_CLIP_224_ID, { modelsDir: MODELS });
  for (const [k, g] of GOLDEN_PIXELS.entries()) {
    const c = GOLDEN_EVAL.clip_pixels[k];
    const direct = clipPixels(g.img);
    const viaModel = (await clip.pixelValues([g.img])).data as Float32Array;
    for (const [what, got] of [["clipPixels", direct], ["Clip.pixelValues", viaModel]] as const) {
      assert.equal(got.length, 3 * 224 * 224);
      let max = 0, sum = 0;
      for (let i = 0; i < got.length; i++) {
        max = Math.max(max, Math.abs(got[i] - g.pixels[i]));
        sum += got[i];
      }
      assert.ok(max <= 1e-5, `${what} ${g.image}: max abs difference ${max}`);
      assert.ok(
        Math.abs(sum - c.sum) <= 1e-3 * Math.abs(c.sum),
        `${what} ${g.image}: sum ${sum} vs ${c.sum}`,
      );
    }
  }
});

Deno.test("clip_score = 100·max(cos, 0) of the ONNX towers run directly on the golden pixels and fixture token ids", async () => {
  const dir = join(MODELS, TINY_CLIP_224_ID, "onnx");
  for (const dtype of ["fp32", "q8", "fp32"]) {
    // q8 after fp32 in one process: the text-embedding cache must not hand back fp32 embeddings.
    const suffix = dtype === "q8" ? "_quantized" : "";
    const text = await ort.InferenceSession.create(join(dir, `text_model${suffix}.onnx`));
    const vision = await ort.InferenceSession.create(join(dir, `vision_model${suffix}.onnx`));
    for (const words of [["the", "cat"], ["a", "dog"]]) {
      const ids = idsOf(words);
      const tOut = await text.run({
        input_ids: new ort.Tensor("int64", BigInt64Array.from(ids), [1, ids.length]),
        attention_mask: new ort.Tensor("int64", new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
      });
      for (const g of GOLDEN_PIXELS) {
        const vOut = await vision.run({
          pixel_values: new ort.Tensor("float32", g.pixels, [1, 3, 224, 224]),
        });
        const want = cos(tOut.text_embeds.data as Float32Array, vOut.image_embeds.data as Float32Array);
        const v = await score(g.img, {
          model: TINY_CLIP_224_ID,
          modelsDir: MODELS,
          dtype,
          prompt: words.join(" "),
        });
        close(v.clip_cosine as number, want, 1e-5, `${dtype} ${words} ${g.image} cosine`);
        close(
          v.clip_score as number,
          100 * Math.max(want, 0),
          1e-3,
          `${dtype} ${words} ${g.image} clip_score`,
        );
        assert.equal(v.clip_prompt_tokens, ids.length);
      }
    }
  }
});

Deno.test("clip_score: both signs of the cosine occur, and the max(·, 0) clamp applies", async () => {
  const prompt = "the cat on the mat";
  const all = await clipScores(IMAGES, IMAGES.map(() => prompt), TINY_SETTINGS);
  const scores = await Promise.all(
    ["a dog", "the cat on the mat", "xyz 123"].flatMap((p) =>
      clipScores(IMAGES, IMAGES.map(() => p), TINY_SETTINGS)
    ),
  );
  const cosines = scores.flat().map((r) => r.clip_cosine);
  assert.ok(cosines.some((c) => c < 0) && cosines.some((c) => c > 0), `cosines ${cosines}`);
  for (const r of scores.flat()) assert.equal(r.clip_score, r.clip_cosine < 0 ? 0 : 100 * r.clip_cosine);
  assert.equal(all.length, 4);
});

Deno.test("batched clipScores equal one-by-one heuristic values (mixed prompts and lengths, padded batches)", async () => {
  const prompts = ["a dog", "the cat on the mat with a long tail", "a dog", "the cat"];
  const batched = await clipScores(IMAGES, prompts, { ...TINY_SETTINGS, batchSize: 3 });
  for (const [i, img] of IMAGES.entries()) {
    const one = await score(img, { ...TINY_SETTINGS, prompt: prompts[i] });
    close(batched[i].clip_cosine, one.clip_cosine as number, 1e-6, `image ${i}`);
    assert.equal(batched[i].clip_prompt_key, one.clip_prompt_key);
  }
  // Text embeddings of a padded batch equal those computed alone.
  const clip = await loadClip(TINY_CLIP_ID, { modelsDir: MODELS });
  const together = await clip.textEmbeddings(prompts);
  for (const [i, p] of prompts.entries()) {
    const [alone] = await clip.textEmbeddings([p]);
    together[i].embedding.forEach((x, j) => close(x, alone.embedding[j], 1e-6, `text ${i}[${j}]`));
  }
});

Deno.test("a prompt over 77 tokens is flagged and scored on its first 76 tokens + the end token", async () => {
  // Each "x" is one token: n words → n + 2 tokens.
  const words = (n: number) => Array(n).fill("x").join(" ");
  const at77 = await score(IMAGES[0], { ...TINY_SETTINGS, prompt: words(75) });
  const at78 = await score(IMAGES[0], { ...TINY_SETTINGS, prompt: words(76) });
  const at102 = await score(IMAGES[0], { ...TINY_SETTINGS, prompt: words(100) + " the cat" });
  assert.deepEqual([at77.clip_prompt_tokens, at77.clip_prompt_truncated], [77, 0]);
  assert.deepEqual([at78.clip_prompt_tokens, at78.clip_prompt_truncated], [78, 1]);
  assert.deepEqual([at102.clip_prompt_tokens, at102.clip_prompt_truncated], [104, 1]);
  // What is scored is the first 75 words: the same as the 77-token prompt.
  close(at78.clip_cosine as number, at77.clip_cosine as number, 1e-6, "truncated = first 75 words");
  close(at102.clip_cosine as number, at77.clip_cosine as number, 1e-6, "truncated = first 75 words");
  const clip = await loadClip(TINY_CLIP_ID, { modelsDir: MODELS });
  assert.equal(clip.tokenize(words(100)).ids.at(-1), BigInt(TINY_EOS));
});

Deno.test("an empty prompt, or none, is a clear error", async () => {
  for (const prompt of ["", "   "]) {
    await assert.rejects(
      () => score(IMAGES[0], { ...TINY_SETTINGS, prompt }, "gen/a.png"),
      /clip_score: the prompt for gen\/a\.png is empty/,
    );
  }
  await assert.rejects(
    () => score(IMAGES[0], TINY_SETTINGS),
    /clip_score: no prompt: set the "prompt" setting/,
  );
  const clip = await loadClip(TINY_CLIP_ID, { modelsDir: MODELS });
  await assert.rejects(() => clip.textEmbeddings([""]), /the prompt is empty/);
  await assert.rejects(() => clipScores([IMAGES[0]], [""], TINY_SETTINGS), /the prompt is empty/);
});

Deno.test("prompts from a generation manifest (JSONL, file relative to the run folder) and a CSV", async () => {
  const run = await Deno.makeTempDir();
  await Deno.writeTextFile(
    join(run, "manifest.jsonl"),
    ['{"file":"00000_0.png","prompt":"a dog"}', '{"file":"00000_1.png","prompt":"the cat"}', ""].join("\n"),
  );
  await Deno.writeTextFile(join(run, "prompts.csv"), 'path,prompt\n00000_0.png,"a dog"\n');
  const settings = { ...TINY_SETTINGS, prompts: join(run, "manifest.jsonl") };
  const a = await score(IMAGES[0], settings, join(run, "00000_0.png"));
  const b = await score(IMAGES[0], settings, join(run, "00000_1.png"));
  const [dog, cat] = await clipScores([IMAGES[0], IMAGES[0]], ["a dog", "the cat"], TINY_SETTINGS);
  close(a.clip_cosine as number, dog.clip_cosine, 1e-6, "manifest prompt a dog");
  close(b.clip_cosine as number, cat.clip_cosine, 1e-6, "manifest prompt the cat");
  const c = await score(
    IMAGES[0],
    { ...TINY_SETTINGS, prompts: join(run, "prompts.csv") },
    join(run, "00000_0.png"),
  );
  assert.equal(c.clip_prompt_key, promptKey("a dog"));
  await assert.rejects(
    () => score(IMAGES[0], settings, join(run, "99999_0.png")),
    /no prompt for .*99999_0\.png in .*manifest\.jsonl/,
  );
});

Deno.test("within-prompt rank and z-score columns match a direct computation", async () => {
  const prompts = ["a dog", "a dog", "a dog", "the cat"];
  const rows = await clipScores(IMAGES, prompts, TINY_SETTINGS);
  const out = withinPromptColumns(rows, {
    value: "clip_score",
    key: "clip_prompt_key",
    prefix: "clip_prompt",
    softmax: true,
  });
  const dog = rows.slice(0, 3).map((r) => r.clip_score);
  const mean = dog.reduce((a, b) => a + b) / 3;
  const sd = Math.sqrt(dog.reduce((a, b) => a + (b - mean) ** 2, 0) / 3);
  const order = [...dog].sort((a, b) => b - a);
  for (let i = 0; i < 3; i++) {
    assert.equal(out[i].clip_prompt_rank, order.indexOf(dog[i]) + 1);
    close(out[i].clip_prompt_z as number, (dog[i] - mean) / sd, 1e-9, "z");
    assert.equal(out[i].clip_prompt_n, 3);
  }
  const probs = out.slice(0, 3).map((r) => r.clip_prompt_prob as number);
  close(probs.reduce((a, b) => a + b), 1, 1e-12, "softmax sums to 1");
  close(probs[0] / probs[1], Math.exp(dog[0] - dog[1]), 1e-9, "softmax ratio");
  assert.deepEqual([out[3].clip_prompt_rank, out[3].clip_prompt_z, out[3].clip_prompt_n], [1, null, 1]);
  // Ties share the better rank; lower-is-better flips the order; rows without a value are left empty.
  const t = withinPromptColumns(
    [{ v: 1, k: "a" }, { v: 1, k: "a" }, { v: 0, k: "a" }, { v: null, k: "a" }],
    { value: "v", key: "k", prefix: "p", higherIsBetter: false },
  );
  assert.deepEqual(t.map((r) => r.p_rank), [2, 2, 1, null]);
});

Deno.test("missing or corrupt model files: the error names the folder or file, and the pull command", async () => {
  const empty = await Deno.makeTempDir();
  await assert.rejects(
    () => score(IMAGES[0], { modelsDir: empty, prompt: "a dog" }),
    (e: Error) => {
      assert.ok(e instanceof ModelNotFoundError, e.message);
      assert.ok(e.message.includes(join(empty, "Xenova/clip-vit-base-patch32")), e.message);
      assert.ok(
        e.message.includes(`deno task models pull Xenova/clip-vit-base-patch32 --models ${empty}`),
        e.message,
      );
      return true;
    },
  );
  const broken = async (edit: (dir: string) => Promise<void>) => {
    const store = await Deno.makeTempDir();
    const dir = await writeTinyModels(store);
    await edit(dir);
    return store;
  };
  const noVision = await broken((d) => Deno.remove(join(d, "onnx/vision_model.onnx")));
  await assert.rejects(
    () => loadClip(TINY_CLIP_ID, { modelsDir: noVision }),
    (e: Error) =>
      e instanceof ModelNotFoundError &&
      e.message.includes(join(noVision, TINY_CLIP_ID, "onnx/vision_model.onnx")),
  );
  const garbage = await broken((d) =>
    Deno.writeTextFile(join(d, "onnx/text_model.onnx"), "this is not a protobuf")
  );
  await assert.rejects(
    () => loadClip(TINY_CLIP_ID, { modelsDir: garbage }),
    (e: Error) =>
      e instanceof ModelFileError &&
      e.message.startsWith(join(garbage, TINY_CLIP_ID, "onnx/text_model.onnx")),
  );
  const truncated = await broken(async (d) => {
    const f = join(d, "onnx/vision_model.onnx");
    const bytes = await Deno.readFile(f);
    await Deno.writeFile(f, bytes.subarray(0, bytes.length >> 1));
  });
  await assert.rejects(
    () => loadClip(TINY_CLIP_ID, { modelsDir: truncated }),
    (e: Error) =>
      e instanceof ModelFileError &&
      e.message.startsWith(join(truncated, TINY_CLIP_ID, "onnx/vision_model.onnx")),
  );
  const badJson = await broken((d) => Deno.writeTextFile(join(d, "config.json"), "{ not json"));
  await assert.rejects(
    () => loadClip(TINY_CLIP_ID, { modelsDir: badJson }),
    (e: Error) =>
      e instanceof ModelFileError && e.message.startsWith(join(badJson, TINY_CLIP_ID, "config.json")),
  );
});

Deno.test("registry: clip_score never runs by default; in score workers it gives the same numbers", async () => {
  assert.ok(MODEL_HEURISTICS.includes("clip_score") && !DEFAULT_HEURISTICS.includes("clip_score"));
  const dir = await Deno.makeTempDir();
  const file = join(dir, "a.png");
  await sharp(IMAGES[1].data, { raw: { width: 48, height: 40, channels: 3 } }).png().toFile(file);
  const pool = new ScorePool({
    jobs: 1,
    heuristics: ["clip_score"],
    settings: { clip_score: { ...TINY_SETTINGS, prompt: "a dog" } },
  });
  try {
    const r = await pool.score(file);
    assert.ok("values" in r, JSON.stringify(r));
    const [direct] = await clipScores([IMAGES[1]], ["a dog"], TINY_SETTINGS);
    close(r.values.clip_cosine as number, direct.clip_cosine, 1e-6, "worker vs direct");
  } finally {
    pool.close();
  }
});

Deno.test("models CLI: list shows the store; pull fetches from a hub-like server; offline pull says so", async () => {
  const list = await runCli("models", ["list", "--models", MODELS]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(
    list.stdout,
    /winnow-test\/tiny-clip .*for: clip_score, pick_score, aesthetic \(image tower\)/,
  );
  assert.match(list.stdout, /onnx\/vision_model\.onnx/);
  assert.match(list.stdout, /winnow-test\/tiny-aesthetic .*aesthetic \(head\)/);

  // A local server speaking the hub's two routes: the listing and resolve/main.
  const files: Record<string, Uint8Array<ArrayBuffer>> = {};
  for (const [k, v] of Object.entries(tinyClipJsonFiles())) {
    files[k] = new TextEncoder().encode(JSON.stringify(v));
  }
  Object.assign(files, tinyClipOnnxFiles() as Record<string, Uint8Array<ArrayBuffer>>);
  files["onnx/model_quantized.onnx"] = new Uint8Array([1, 2, 3]);
  files["README.md"] = new TextEncoder().encode("# tiny");
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(`${path} ${req.headers.get("authorization") ?? ""}`);
    if (path === "/api/models/acme/tiny-clip") {
      return Response.json({
        id: "acme/tiny-clip",
        siblings: Object.keys(files).map((rfilename) => ({ rfilename })),
      });
    }
    const m = /^\/acme\/tiny-clip\/resolve\/main\/(.+)$/.exec(path);
    if (m && files[m[1]]) return new Response(files[m[1]]);
    return new Response("not found", { status: 404 });
  });
  try {
    const store = await Deno.makeTempDir();
    const endpoint = `http://127.0.0.1:${server.addr.port}`;
    const pull = await runCli("models", [
      "pull",
      "acme/tiny-clip",
      "--models",
      store,
      "--endpoint",
      endpoint,
    ]);
    assert.equal(pull.code, 0, pull.stderr + pull.stdout);
    assert.match(pull.stdout, /acme\/tiny-clip: 8 files downloaded/);
    assert.ok(
      !requests.some((r) => r.includes("model_quantized") || r.includes("README")),
      requests.join("\n"),
    );
    // What was pulled loads and scores exactly like the original.
    const [pulled] = await clipScores([IMAGES[2]], ["a dog"], { model: "acme/tiny-clip", modelsDir: store });
    const [orig] = await clipScores([IMAGES[2]], ["a dog"], TINY_SETTINGS);
    assert.equal(pulled.clip_cosine, orig.clip_cosine);
    const again = await runCli("models", [
      "pull",
      "acme/tiny-clip",
      "--models",
      store,
      "--endpoint",
      endpoint,
    ]);
    assert.match(again.stdout, /0 files downloaded .*8 already present/);
    const missing = await runCli("models", [
      "pull",
      "acme/nothing",
      "--models",
      store,
      "--endpoint",
      endpoint,
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /HTTP 404 \(no such repository or file\)/);
  } finally {
    await server.shutdown();
  }
  const offline = await runCli("models", [
    "pull",
    "clip-vit-base-patch32",
    "--models",
    MODELS,
    "--endpoint",
    "http://127.0.0.1:9",
  ]);
  assert.equal(offline.code, 1);
  assert.match(offline.stderr, /could not reach http:\/\/127\.0\.0\.1:9 .*needs internet access/);
  assert.doesNotMatch(offline.stderr, /at .*\.ts:\d+/, "no stack trace");
});

Deno.test("score with clip_score fills the within-prompt columns across the batch (rank, z, n per prompt)", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const dir = join(tmp, "imgs");
    await Deno.mkdir(dir);
    const ref = new URL("../../shared/reference/images/", import.meta.url);
    const files = ["facephoto1.png", "facephoto2.png", "facephoto3.png", "checker.png", "noise.png"];
    for (const f of files) await Deno.copyFile(new URL(f, ref), join(dir, f));
    // Two prompts: the face photos share one, the synthetic images another.
    const prompts = join(tmp, "prompts.csv");
    await Deno.writeTextFile(
      prompts,
      "file,prompt\n" +
        files.map((f) => `imgs/${f},${f.startsWith("face") ? "people" : "a pattern"}`).join("\n"),
    );
    const out = join(tmp, "s.csv");
    const r = await runCli("score", [
      dir,
      "--out",
      out,
      "--heuristics",
      "clip_score",
      "--prompts",
      prompts,
      "--set",
      `clip_score.model=${TINY_CLIP_ID}`,
      "--models",
      MODELS,
      "--quiet",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = await readResults(out);
    const byPrompt = Map.groupBy(rows, (x) => String(x.clip_prompt_key));
    assert.equal(byPrompt.size, 2);
    for (const group of byPrompt.values()) {
      const scores = group.map((x) => x.clip_score as number);
      const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
      const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
      for (const x of group) {
        assert.equal(x.clip_prompt_n, group.length);
        assert.equal(x.clip_prompt_rank, 1 + scores.filter((s) => s > (x.clip_score as number)).length);
        assert.ok(Math.abs((x.clip_prompt_z as number) - ((x.clip_score as number) - mean) / sd) < 1e-9);
      }
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
