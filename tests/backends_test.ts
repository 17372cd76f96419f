/**
 * Backends against local fakes that speak the documented APIs: the requests winnow sends (field by
 * field) and what it makes of the replies; text steps against a fake chat server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { A1111Backend } from "../lib/backends/a1111.ts";
import { ComfyBackend, fillWorkflow, parseWorkflow } from "../lib/backends/comfyui.ts";
import { OpenAIImagesBackend } from "../lib/backends/openai.ts";
import { FolderBackend } from "../lib/backends/folder.ts";
import { createBackends } from "../lib/backends/registry.ts";
import { BackendError } from "../lib/backends/types.ts";
import { retrying, validateUrl } from "../lib/core/http.ts";
import { maskSecrets, readSecret } from "../lib/core/secrets.ts";
import { ChatClient, makePrompt, parsePromptReply, templatePrompt } from "../lib/generate/prompt.ts";
import { FakeA1111, FakeComfy, FakeOpenAI, fakePng, placeholderWorkflow } from "./fake_servers.ts";

const png = (bytes: Uint8Array) => sharp(bytes).metadata();
const b64 = (u: Uint8Array) => Buffer.from(u).toString("base64");

Deno.test("a1111 txt2img: fields, LoRA syntax, checkpoint override, ControlNet unit, basic auth; seeds from info", async () => {
  const fake = new FakeA1111({ auth: "alice:pa55word-xyz" });
  try {
    const b = new A1111Backend({ url: fake.url + "/", auth: "alice:pa55word-xyz" });
    const guide = await fakePng(5, "good", 32, 32);
    const images = await b.generate({
      prompt: "a red fox",
      negativePrompt: "blurry",
      width: 64,
      height: 48,
      steps: 12,
      sampler: "Euler a",
      cfgScale: 6.5,
      batchSize: 2,
      model: "sd_xl_base_1.0",
      loras: [{ name: "film_grain", weight: 0.6 }],
      controls: [{ image: guide, model: "control_v11p_sd15_canny", module: "canny", weight: 0.8 }],
    });
    const [rec] = fake.to("/sdapi/v1/txt2img");
    assert.equal(
      rec.headers["authorization"],
      "Basic " + b64(new TextEncoder().encode("alice:pa55word-xyz")),
    );
    const body = rec.body as Record<string, unknown>;
    assert.equal(body.prompt, "a red fox <lora:film_grain:0.6>");
    assert.equal(body.negative_prompt, "blurry");
    assert.deepEqual(
      [
        body.width,
        body.height,
        body.steps,
        body.sampler_name,
        body.cfg_scale,
        body.batch_size,
        body.n_iter,
        body.seed,
      ],
      [64, 48, 12, "Euler a", 6.5, 2, 1, -1],
    );
    assert.deepEqual(body.override_settings, { sd_model_checkpoint: "sd_xl_base_1.0" });
    assert.equal(body.send_images, true);
    assert.equal(body.save_images, false);
    const unit =
      (body.alwayson_scripts as { controlnet: { args: Record<string, unknown>[] } }).controlnet.args[0];
    assert.deepEqual(
      [unit.enabled, unit.module, unit.model, unit.weight, unit.image],
      [true, "canny", "control_v11p_sd15_canny", 0.8, b64(guide)],
    );
    // Two generated images; the ControlNet detected map the server appends is not one of them.
    assert.equal(images.length, 2);
    const seeds = images.map((i) => i.seed);
    assert.ok(typeof seeds[0] === "number" && seeds[0] > 1000, `server-chosen seed: ${seeds[0]}`);
    assert.equal(seeds[1], seeds[0]! + 1);
    assert.equal((await png(images[0].bytes)).width, 64);
    assert.equal(images[0].params.sd_model_name, "sd_xl_base_1.0");
    assert.equal(images[0].params.sampler_name, "Euler a");
    assert.match(String(images[1].params.infotext), new RegExp(`Seed: ${seeds[1]}`));
  } finally {
    await fake.close();
  }
});

Deno.test("a1111 inpainting: img2img with init image, mask, denoising strength, mask blur, inpaint area", async () => {
  const fake = new FakeA1111();
  try {
    const b = new A1111Backend({ url: fake.url });
    const init = await fakePng(1, "good", 64, 64);
    const mask = await fakePng(2, "blur", 64, 64);
    const [img] = await b.generate({
      prompt: "a face",
      seed: 77,
      width: 64,
      height: 64,
      init: {
        image: init,
        mask,
        denoisingStrength: 0.4,
        maskBlur: 8,
        inpaintArea: "masked",
        inpaintPadding: 16,
      },
    });
    assert.equal(fake.to("/sdapi/v1/txt2img").length, 0);
    const body = fake.to("/sdapi/v1/img2img")[0].body as Record<string, unknown>;
    assert.deepEqual(body.init_images, [b64(init)]);
    assert.equal(body.mask, b64(mask));
    assert.deepEqual(
      [
        body.denoising_strength,
        body.mask_blur,
        body.inpaint_full_res,
        body.inpaint_full_res_padding,
        body.inpainting_fill,
        body.inpainting_mask_invert,
        body.seed,
      ],
      [0.4, 8, true, 16, 1, 0, 77],
    );
    assert.equal(img.seed, 77);
    assert.equal(img.params.mode, "inpaint");
    assert.equal(img.params.denoising_strength, 0.4);
  } finally {
    await fake.close();
  }
});

Deno.test("a1111 lists models and LoRAs; check() names what is missing; wrong password is a clear auth error without the secret", async () => {
  const fake = new FakeA1111({ auth: "bob:correct-horse" });
  try {
    const ok = new A1111Backend({ url: fake.url, auth: "bob:correct-horse" });
    assert.deepEqual((await ok.listModels()).map((m) => m.model_name), [
      "v1-5-pruned-emaonly",
      "sd_xl_base_1.0",
    ]);
    assert.ok((await ok.listLoras()).includes("detail_tweaker"));
    await ok.check({
      prompt: "x",
      model: "v1-5-pruned-emaonly.safetensors",
      loras: [{ name: "film_grain", weight: 1 }],
    });
    await assert.rejects(ok.check({ prompt: "x", model: "dreamshaper_8" }), (e: BackendError) => {
      assert.equal(e.kind, "config");
      assert.match(
        e.message,
        /"dreamshaper_8" is not on the server; it has: v1-5-pruned-emaonly\.safetensors \[6ce0161689\]/,
      );
      return true;
    });
    await assert.rejects(
      ok.check({ prompt: "x", loras: [{ name: "nope", weight: 1 }] }),
      /LoRA nope not on the server/,
    );
    readSecret("WINNOW_A1111_AUTH", () => "bob:wrong-battery-staple");
    const bad = new A1111Backend({ url: fake.url, auth: "bob:wrong-battery-staple" });
    await assert.rejects(bad.generate({ prompt: "x" }), (e: BackendError) => {
      assert.equal(e.kind, "auth");
      assert.equal(e.retryable, false);
      assert.match(e.message, /HTTP 401.*Incorrect username or password/);
      assert.ok(!e.message.includes("wrong-battery-staple"));
      return true;
    });
  } finally {
    await fake.close();
  }
});

Deno.test("a1111 progress is polled from /sdapi/v1/progress while a request runs", async () => {
  const fake = new FakeA1111();
  fake.delayMs = 400;
  try {
    const b = new A1111Backend({ url: fake.url, progressIntervalMs: 60 });
    const seen: number[] = [];
    await b.generate({ prompt: "x", steps: 20 }, { onProgress: (p) => seen.push(p.fraction) });
    assert.ok(fake.to("/sdapi/v1/progress").length >= 2, `polls: ${fake.to("/sdapi/v1/progress").length}`);
    assert.equal(fake.to("/sdapi/v1/progress")[0].query.skip_current_image, "true");
    assert.ok(seen.some((f) => f > 0 && f < 1), `fractions ${seen}`);
  } finally {
    await fake.close();
  }
});

Deno.test("comfyui with websocket: placeholders filled (numbers as numbers), client_id, progress, saved images via /view", async () => {
  const fake = new FakeComfy();
  fake.delayMs = 40;
  try {
    const b = new ComfyBackend({ url: fake.url, workflow: parseWorkflow(placeholderWorkflow()) });
    const progress: number[] = [];
    const images = await b.generate(
      {
        prompt: "a red fox",
        negativePrompt: "blurry",
        seed: 42,
        width: 64,
        height: 48,
        steps: 8,
        cfgScale: 5.5,
        batchSize: 2,
      },
      { onProgress: (p) => progress.push(p.fraction) },
    );
    assert.equal(b.lastTransport, "websocket");
    assert.equal(fake.wsConnections, 1);
    const post = fake.to("/prompt")[0].body as {
      prompt: Record<string, { inputs: Record<string, unknown> }>;
      client_id: string;
    };
    const ws = fake.requests.find((r) => r.path === "/ws")!;
    assert.equal(post.client_id, ws.query.clientId);
    assert.deepEqual(
      [post.prompt["3"].inputs.seed, post.prompt["3"].inputs.steps, post.prompt["3"].inputs.cfg],
      [42, 8, 5.5],
    );
    assert.deepEqual(post.prompt["5"].inputs, { batch_size: 2, height: 48, width: 64 });
    assert.equal(post.prompt["6"].inputs.text, "a red fox, masterpiece");
    assert.equal(post.prompt["7"].inputs.text, "blurry");
    assert.deepEqual(post.prompt["6"].inputs.clip, ["4", 1]);
    assert.ok(progress.length >= 2 && progress.at(-1) === 1, `progress ${progress}`);
    // Only the SaveImage outputs, not the temp preview.
    assert.equal(images.length, 2);
    const views = fake.to("/view");
    assert.deepEqual(views.map((v) => v.query.type), ["output", "output"]);
    assert.equal(views[0].query.subfolder, "");
    assert.equal((await png(images[0].bytes)).height, 48);
    assert.deepEqual([images[0].seed, images[1].params.batch_index], [42, 1]);
    // Result fetched once from /history after the websocket said done: no polling loop.
    assert.equal(fake.requests.filter((r) => r.path.startsWith("/history/")).length, 1);
  } finally {
    await fake.idle();
    await fake.close();
  }
});

Deno.test("comfyui without websocket falls back to polling /history/{prompt_id}", async () => {
  const fake = new FakeComfy({ websocket: false });
  fake.delayMs = 120;
  try {
    const b = new ComfyBackend({
      url: fake.url,
      workflow: parseWorkflow(placeholderWorkflow()),
      pollIntervalMs: 30,
    });
    const [img] = await b.generate({ prompt: "x", seed: 3, width: 32, height: 32 });
    assert.equal(b.lastTransport, "polling");
    const polls = fake.requests.filter((r) => r.path.startsWith("/history/"));
    assert.ok(polls.length >= 3, `polls ${polls.length}`);
    const id = (fake.to("/prompt").length, polls[0].path.split("/").pop());
    assert.ok(fake.history.has(id!));
    assert.equal((await png(img.bytes)).width, 32);
  } finally {
    await fake.idle();
    await fake.close();
  }
});

Deno.test("comfyui errors: UI-format workflow, unknown placeholder, server validation (400 node_errors), execution error", async () => {
  assert.throws(
    () => parseWorkflow({ nodes: [], links: [], version: 0.4 }, "ui.json"),
    /UI format.*Save \(API Format\)/,
  );
  assert.throws(
    () => fillWorkflow(parseWorkflow({ "1": { class_type: "X", inputs: { t: "{{colour}}" } } }), {}),
    /node 1 \(X\)\.inputs\.t: unknown placeholder \{\{colour\}\}/,
  );
  assert.throws(
    () =>
      fillWorkflow(parseWorkflow({ "1": { class_type: "X", inputs: { m: "{{model}}" } } }), {
        model: undefined,
      }),
    /uses \{\{model\}\} but no value/,
  );
  const fake = new FakeComfy({ failExecution: (n) => n === 0 });
  try {
    const noSave = { "1": { class_type: "KSampler", inputs: { seed: "{{seed}}" } } };
    const b1 = new ComfyBackend({ url: fake.url, workflow: parseWorkflow(noSave) });
    await assert.rejects(b1.generate({ prompt: "x" }), (e: BackendError) => {
      assert.match(e.message, /HTTP 400.*Prompt has no outputs/);
      assert.equal(e.retryable, false);
      return true;
    });
    const b2 = new ComfyBackend({ url: fake.url, workflow: parseWorkflow(placeholderWorkflow()) });
    await assert.rejects(b2.generate({ prompt: "x", seed: 1 }), (e: BackendError) => {
      assert.match(e.message, /failed in node 3 \(KSampler\): torch\.OutOfMemoryError: CUDA out of memory/);
      assert.equal(e.retryable, true);
      return true;
    });
  } finally {
    await fake.idle();
    await fake.close();
  }
});

Deno.test("openai images: request body, bearer key, b64 decoding; gpt-image omits response_format; 401 never shows the key", async () => {
  const key = "sk-test-0123456789abcdefSECRET";
  const fake = new FakeOpenAI({ apiKey: key });
  try {
    const b = new OpenAIImagesBackend({ url: `${fake.url}/v1`, model: "dall-e-3", apiKey: key });
    const imgs = await b.generate({
      prompt: "a teapot",
      negativePrompt: "blurry",
      width: 64,
      height: 64,
      batchSize: 2,
      seed: 5,
    });
    const rec = fake.to("/v1/images/generations")[0];
    assert.equal(rec.headers["authorization"], `Bearer ${key}`);
    assert.deepEqual(rec.body, {
      model: "dall-e-3",
      prompt: "a teapot",
      n: 2,
      size: "64x64",
      response_format: "b64_json",
    });
    assert.equal(imgs.length, 2);
    assert.equal((await png(imgs[0].bytes)).format, "png");
    assert.deepEqual(
      [
        imgs[0].seed,
        imgs[0].params.revised_prompt,
        imgs[0].params.negative_prompt_applied,
        imgs[0].params.seed_applied,
      ],
      [null, "a teapot, detailed", false, false],
    );
    const g = new OpenAIImagesBackend({ url: `${fake.url}/v1`, model: "gpt-image-1", apiKey: key });
    await g.generate({ prompt: "a teapot" });
    assert.ok(!("response_format" in (fake.to("/v1/images/generations")[1].body as object)));
    const wrong = "sk-wrong-key-9876543210ZZZZ";
    readSecret("OPENAI_API_KEY", () => wrong);
    const bad = new OpenAIImagesBackend({ url: `${fake.url}/v1`, apiKey: wrong });
    await assert.rejects(bad.generate({ prompt: "x" }), (e: BackendError) => {
      assert.equal(e.kind, "auth");
      assert.match(e.message, /HTTP 401.*Incorrect API key provided/);
      assert.ok(!e.message.includes(wrong) && !e.message.includes("ZZZZ"), e.message);
      return true;
    });
    assert.throws(
      () => new OpenAIImagesBackend({ url: "https://api.openai.com/v1" }),
      /OPENAI_API_KEY is not set/,
    );
  } finally {
    await fake.close();
  }
});

Deno.test("folder backend: request i gets image i in name order; prompt match; unreadable files skipped; clear error past the end", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(join(dir, "a_cat.png"), await fakePng(1));
    await Deno.writeFile(join(dir, "b_broken.png"), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    await Deno.writeFile(join(dir, "c_red_fox.png"), await fakePng(2));
    const b = new FolderBackend({ dir });
    const first = await b.generate({ prompt: "x" }, { index: 0 });
    const second = await b.generate({ prompt: "x" }, { index: 1 });
    assert.deepEqual([first[0].params.source, second[0].params.source], ["a_cat.png", "c_red_fox.png"]);
    assert.equal(b.skipped.length, 1);
    assert.match(b.skipped[0].error, /b_broken\.png/);
    await assert.rejects(b.generate({ prompt: "x" }, { index: 2 }), /has only 2 readable images \(1 skipped/);
    const m = new FolderBackend({ dir, match: "prompt" });
    const [best] = await m.generate({ prompt: "a red fox in the snow" }, { index: 0 });
    assert.equal(best.params.source, "c_red_fox.png");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("registry and safety: unknown backend, URL validation, secrets from env or file, masking", async () => {
  await assert.rejects(
    createBackends("midjourney", {}),
    /unknown backend "midjourney"; known: folder, a1111, comfyui, openai/,
  );
  await assert.rejects(
    createBackends("comfyui", { urls: ["http://127.0.0.1:1"] }),
    /--workflow FILE is required/,
  );
  assert.throws(() => validateUrl("ftp://x"), /http or https/);
  assert.throws(() => validateUrl("not a url"), /not a URL/);
  assert.throws(() => validateUrl("http://h:7860/?token=1"), /without \?query/);
  assert.throws(() => validateUrl("http://user:hunter2-in-url@h:7860"), (e: Error) => {
    assert.match(e.message, /put no credentials in the URL \(http:\/\/h:7860\/\)/);
    assert.ok(!e.message.includes("hunter2-in-url"));
    return true;
  });
  assert.equal(maskSecrets("x hunter2-in-url y"), "x *** y");
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, "sk-from-a-file-1234567\n");
  assert.equal(readSecret("K", (n) => n === "K_FILE" ? file : undefined), "sk-from-a-file-1234567");
  assert.equal(maskSecrets("key=sk-from-a-file-1234567"), "key=***");
  await Deno.remove(file);
  // Retry helper: non-retryable errors are not retried; Retry-After beyond the cap stops at once.
  let calls = 0;
  await assert.rejects(retrying(() => {
    calls++;
    return Promise.reject(new BackendError("HTTP 400", "http", 400));
  }, { baseDelayMs: 1 }));
  assert.equal(calls, 1);
  await assert.rejects(
    retrying(() => Promise.reject(new BackendError("HTTP 429", "rate_limited", 429, 3_600_000)), {
      maxRetryAfterMs: 1000,
    }),
    /Retry-After 3600 s is longer than allowed/,
  );
});

Deno.test("text steps: template is deterministic per seed; chat client sends the documented body and parses replies", async () => {
  const a = templatePrompt({ keywords: ["lighthouse", "storm"] }, 3);
  assert.deepEqual(a, templatePrompt({ keywords: ["lighthouse", "storm"] }, 3));
  const many = new Set(Array.from({ length: 8 }, (_, s) => templatePrompt({ keywords: ["x"] }, s).prompt));
  assert.ok(many.size >= 4, `seeds should vary the style/lighting/camera: ${many.size}`);
  assert.match(a.text, /lighthouse and storm/);
  assert.deepEqual(parsePromptReply("```\nPrompt: a fox, snow\nNegative prompt: blurry, text\n```"), {
    prompt: "a fox, snow",
    negativePrompt: "blurry, text",
  });
  const fake = new FakeOpenAI({ apiKey: "chat-key-abcdef" });
  try {
    fake.faults.push({ kind: "500" });
    const chat = new ChatClient({
      url: `${fake.url}/v1`,
      model: "llama3.2",
      apiKey: "chat-key-abcdef",
      retry: { baseDelayMs: 5 },
    });
    const r = await makePrompt({ keywords: ["lighthouse", "storm"] }, { chat, seed: 9 });
    assert.equal(r.source, "chat");
    assert.equal(r.text, "A lighthouse stands on a rocky cliff while a storm rolls in over the sea.");
    assert.equal(
      r.prompt,
      "lighthouse on a rocky cliff, storm clouds, crashing waves, dramatic light, photograph",
    );
    assert.equal(r.negativePrompt, "blurry, text, watermark");
    const calls = fake.to("/v1/chat/completions");
    assert.equal(calls.length, 3, "one 500 retried, then keywords→text and text→prompt");
    const body = calls[1].body as {
      model: string;
      messages: { role: string; content: string }[];
      seed: number;
    };
    assert.equal(body.model, "llama3.2");
    assert.deepEqual(body.messages.map((m) => m.role), ["system", "user"]);
    assert.equal(body.messages[1].content, "Keywords: lighthouse, storm");
    assert.equal(body.seed, 9);
    assert.equal((calls[2].body as typeof body).messages[1].content, r.text);
    assert.equal(calls[1].headers["authorization"], "Bearer chat-key-abcdef");
  } finally {
    await fake.close();
  }
});
