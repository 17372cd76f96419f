/**
 * The pipeline against fake servers: best-of-N, until-pass, faults (500, 429 + Retry-After,
 * timeout, malformed JSON, non-image payload, a server dying mid-run), resume without duplicates,
 * round-robin endpoints with failover, concurrency, time budget.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { A1111Backend } from "../lib/backends/a1111.ts";
import { ComfyBackend, parseWorkflow } from "../lib/backends/comfyui.ts";
import { OpenAIImagesBackend } from "../lib/backends/openai.ts";
import {
  MANIFEST,
  MANIFEST_COLUMNS,
  type ManifestRow,
  PipelineError,
  type PipelineOptions,
  runPipeline,
} from "../lib/generate/pipeline.ts";
import { FakeA1111, FakeComfy, FakeOpenAI, placeholderWorkflow } from "./fake_servers.ts";
import { FolderBackend } from "../lib/backends/folder.ts";
import { TINY_CLIP_ID, writeTinyModels } from "./fixtures_models.ts";
import { REFERENCE_DIR } from "./golden.ts";
import { MANIFEST_CONTRACT } from "./contracts.ts";

const CONTRACT = MANIFEST_CONTRACT;

async function manifest(out: string): Promise<ManifestRow[]> {
  const text = await Deno.readTextFile(join(out, MANIFEST));
  return text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

async function imageFiles(out: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(out)) if (/\.(png|jpg|webp)$/.test(e.name)) names.push(e.name);
  return names.sort();
}

function opts(
  out: string,
  backends: PipelineOptions["backends"],
  extra: Partial<PipelineOptions> = {},
): PipelineOptions {
  return {
    backends,
    out,
    request: { prompt: "a red fox in snow", negativePrompt: "blurry", width: 64, height: 64, steps: 8 },
    scoreJobs: 1,
    retry: { baseDelayMs: 10, retries: 3 },
    ...extra,
  };
}

Deno.test("best-of-N: every image on disk with a manifest line (contract columns), scores, verdicts, best chosen", async () => {
  const fake = new FakeA1111({ kinds: (call) => call === 1 ? "blur" : "good" });
  const out = await Deno.makeTempDir();
  try {
    const r = await runPipeline(opts(out, [new A1111Backend({ url: fake.url })], {
      n: 4,
      request: {
        prompt: "a red fox",
        negativePrompt: "blurry",
        width: 64,
        height: 64,
        steps: 8,
        batchSize: 2,
      },
    }));
    assert.equal(fake.to("/sdapi/v1/txt2img").length, 2, "4 images in batches of 2");
    const rows = await manifest(out);
    assert.deepEqual(await imageFiles(out), ["00000_0.png", "00000_1.png", "00001_0.png", "00001_1.png"]);
    assert.deepEqual(rows.map((x) => x.file), ["00000_0.png", "00000_1.png", "00001_0.png", "00001_1.png"]);
    for (const row of rows) {
      assert.deepEqual(Object.keys(row).slice(0, CONTRACT.length), CONTRACT);
      assert.deepEqual(Object.keys(row), [...MANIFEST_COLUMNS]);
      assert.equal(row.prompt, "a red fox");
      assert.equal(row.negative_prompt, "blurry");
      assert.equal(row.backend, "a1111");
      assert.equal(typeof row.seed, "number");
      assert.equal(row.params.steps, 8);
      assert.equal(typeof row.scores.laplacian_var, "number");
      assert.ok(row.timings.request >= 0 && row.timings.score >= 0);
    }
    assert.deepEqual(rows.map((x) => x.kept), [true, true, false, false]);
    assert.deepEqual(rows[2].reasons, ["blur"]);
    assert.equal(rows[1].seed, rows[0].seed! + 1, "batch seeds as the server reports them");
    assert.ok(r.best && r.best.kept && r.best.index === 0);
    assert.equal(r.stop, "complete");
    const summary = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
    assert.equal(summary.best, r.best!.file);
    assert.deepEqual(summary.rejected.map((x: { reasons: string[] }) => x.reasons), [["blur"], ["blur"]]);
  } finally {
    await fake.close();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("until-pass stops at the first image that passes; a budget without a pass ends with passed=false", async () => {
  const fake = new FakeA1111({ kinds: (call) => call < 2 ? "dark" : "good" });
  const out = await Deno.makeTempDir(), out2 = await Deno.makeTempDir();
  try {
    const r = await runPipeline(
      opts(out, [new A1111Backend({ url: fake.url })], {
        untilPass: true,
        maxAttempts: 6,
        request: { prompt: "p", seed: 100 },
      }),
    );
    assert.equal(r.stop, "passed");
    assert.equal(fake.to("/sdapi/v1/txt2img").length, 3);
    const rows = await manifest(out);
    assert.deepEqual(rows.map((x) => x.kept), [false, false, true]);
    assert.deepEqual(rows[0].reasons, ["underexposed"]);
    assert.deepEqual(rows.map((x) => x.seed), [100, 101, 102], "request i uses seed + i");
    assert.equal(r.best?.file, "00002_0.png");

    const never = new FakeA1111({ kinds: () => "blur" });
    try {
      const r2 = await runPipeline(
        opts(out2, [new A1111Backend({ url: never.url })], { untilPass: true, maxAttempts: 3 }),
      );
      assert.deepEqual([r2.stop, r2.passed, r2.rows.length], ["max_attempts", false, 3]);
      assert.equal(never.to("/sdapi/v1/txt2img").length, 3);
    } finally {
      await never.close();
    }
  } finally {
    await fake.close();
    await Deno.remove(out, { recursive: true });
    await Deno.remove(out2, { recursive: true });
  }
});

Deno.test("faults: 500, 429 + Retry-After, timeout, malformed JSON, non-image payload are retried and the run completes", async () => {
  const fake = new FakeA1111();
  fake.faults.push({ kind: "500" }, { kind: "429", retryAfter: "1" }, { kind: "timeout" }, {
    kind: "malformed",
  }, { kind: "not_image" });
  const out = await Deno.makeTempDir();
  const retries: string[] = [];
  try {
    const t0 = performance.now();
    const r = await runPipeline(opts(out, [new A1111Backend({ url: fake.url, timeoutMs: 300 })], {
      n: 3,
      retry: { baseDelayMs: 10, retries: 6 },
      onEvent: (e) => e.type === "retry" && retries.push(e.message),
    }));
    const ms = performance.now() - t0;
    assert.equal(r.rows.length, 3);
    assert.equal(r.retries, 5);
    assert.equal(r.requests, 8);
    assert.ok(ms >= 1000, `Retry-After: 1 must be honoured (took ${ms} ms)`);
    assert.match(retries[0], /HTTP 500.*CUDA out of memory/);
    assert.match(retries[1], /HTTP 429/);
    assert.match(retries[2], /timeout/);
    assert.match(retries[3], /not valid JSON/);
    assert.match(retries[4], /not a usable image: .*not_an_image/);
    const rows = await manifest(out);
    assert.deepEqual(rows.map((x) => x.tries), [6, 1, 1]);
    assert.deepEqual(await imageFiles(out), ["00000_0.png", "00001_0.png", "00002_0.png"]);
  } finally {
    await fake.close();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a server that dies mid-run: clear error, received images kept; resuming elsewhere completes without duplicates", async () => {
  const fake = new FakeA1111();
  fake.dieAfter = 2;
  const out = await Deno.makeTempDir();
  try {
    const err = await runPipeline(
      opts(out, [new A1111Backend({ url: fake.url })], { n: 4, retry: { baseDelayMs: 10, retries: 2 } }),
    )
      .then(() => null, (e) => e);
    assert.ok(err instanceof PipelineError, String(err));
    assert.match(
      err.message,
      /connection refused.*gave up after 3 tries\); 2 images on disk in .*run again with the same --out to resume/,
    );
    assert.equal(err.result?.stop, "failed");
    assert.deepEqual(await imageFiles(out), ["00000_0.png", "00001_0.png"]);
    assert.equal((await manifest(out)).length, 2);
    const summary = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
    assert.match(summary.error, /connection refused/);

    const again = new FakeA1111();
    try {
      const r = await runPipeline(opts(out, [new A1111Backend({ url: again.url })], { n: 4 }));
      assert.deepEqual([r.resumed, r.received, r.rows.length], [2, 2, 4]);
      assert.equal(again.to("/sdapi/v1/txt2img").length, 2, "only the missing requests are sent");
      const rows = await manifest(out);
      assert.deepEqual(rows.map((x) => x.index), [0, 1, 2, 3]);
      assert.deepEqual(await imageFiles(out), ["00000_0.png", "00001_0.png", "00002_0.png", "00003_0.png"]);
    } finally {
      await again.close();
    }
  } finally {
    await fake.close();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("resume drops a torn line and half-written requests, removes orphan files, and regenerates just those", async () => {
  const fake = new FakeA1111();
  const out = await Deno.makeTempDir();
  try {
    const o = opts(out, [new A1111Backend({ url: fake.url })], {
      n: 4,
      request: { prompt: "p", batchSize: 2 },
    });
    await runPipeline(o);
    const text = await Deno.readTextFile(join(out, MANIFEST));
    const lines = text.split("\n").filter(Boolean);
    // Killed while appending request 1: its first line complete, its second torn.
    await Deno.writeTextFile(
      join(out, MANIFEST),
      lines.slice(0, 3).join("\n") + "\n" + lines[3].slice(0, 20),
    );
    await Deno.remove(join(out, "00001_1.png"));
    await Deno.writeFile(join(out, "00007_0.png"), new Uint8Array([1, 2, 3]));
    await Deno.writeFile(join(out, ".00001_0.png.tmp-999"), new Uint8Array([1]));
    const events: string[] = [];
    const r = await runPipeline({
      ...o,
      onEvent: (e) => e.type === "resumed" && events.push(`${e.rows}/${e.dropped}`),
    });
    assert.deepEqual(events, ["2/2"]);
    assert.deepEqual([r.resumed, r.received], [2, 2]);
    assert.equal(fake.to("/sdapi/v1/txt2img").length, 3);
    const rows = await manifest(out);
    assert.deepEqual(rows.map((x) => x.file), ["00000_0.png", "00000_1.png", "00001_0.png", "00001_1.png"]);
    const all: string[] = [];
    for await (const e of Deno.readDir(out)) all.push(e.name);
    assert.deepEqual(
      all.sort(),
      [".", ...rows.map((x) => x.file), "manifest.jsonl", "run.json", "summary.json"].slice(1).sort(),
    );
    await assert.rejects(
      runPipeline({ ...o, request: { prompt: "another prompt" } }),
      /holds a run for another prompt/,
    );
  } finally {
    await fake.close();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("endpoints: round-robin, a failing endpoint's requests fail over to the next; concurrency per endpoint", async () => {
  const a = new FakeA1111(), b = new FakeA1111();
  for (let i = 0; i < 20; i++) a.faults.push({ kind: "500" });
  const out = await Deno.makeTempDir(), out2 = await Deno.makeTempDir();
  try {
    const r = await runPipeline(
      opts(out, [new A1111Backend({ url: a.url }), new A1111Backend({ url: b.url })], { n: 4 }),
    );
    assert.equal(r.rows.length, 4);
    assert.equal(a.to("/sdapi/v1/txt2img").length, 2, "requests 0 and 2 went to a first");
    assert.equal(b.to("/sdapi/v1/txt2img").length, 4);
    assert.ok(r.rows.every((x) => x.endpoint === b.url));
    assert.deepEqual(r.rows.map((x) => x.tries), [2, 1, 2, 1]);

    a.faults.length = 0;
    a.delayMs = b.delayMs = 150;
    const r2 = await runPipeline(
      opts(out2, [new A1111Backend({ url: a.url }), new A1111Backend({ url: b.url })], {
        n: 8,
        concurrency: 2,
      }),
    );
    assert.deepEqual(r2.rows.map((x) => x.endpoint === a.url ? "a" : "b"), [
      "a",
      "b",
      "a",
      "b",
      "a",
      "b",
      "a",
      "b",
    ]);
    assert.equal(a.maxInFlight, 2);
    assert.equal(b.maxInFlight, 2);
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(out, { recursive: true });
    await Deno.remove(out2, { recursive: true });
  }
});

Deno.test("budgets: a server that keeps failing gives a clear error; the time budget cancels a slow run", async () => {
  const fake = new FakeA1111();
  for (let i = 0; i < 10; i++) fake.faults.push({ kind: "500" });
  const out = await Deno.makeTempDir(), out2 = await Deno.makeTempDir();
  try {
    await assert.rejects(
      runPipeline(opts(out, [new A1111Backend({ url: fake.url })], { n: 2 })),
      (e: PipelineError) => {
        assert.match(
          e.message,
          /^POST http:\/\/127\.0\.0\.1:\d+\/sdapi\/v1\/txt2img: HTTP 500.*gave up after 4 tries\); 0 images on disk/,
        );
        return true;
      },
    );
    // An image over the pixel limit is refused through the image core, without pointless retries.
    fake.faults.length = 0;
    const before = fake.to("/sdapi/v1/txt2img").length;
    await assert.rejects(
      runPipeline(opts(join(out, "big"), [new A1111Backend({ url: fake.url })], { n: 1, maxPixels: 1000 })),
      /is not a usable image: .*too_many_pixels/,
    );
    assert.equal(fake.to("/sdapi/v1/txt2img").length - before, 1);
    const slow = new FakeA1111();
    slow.delayMs = 5000;
    try {
      const t0 = performance.now();
      await assert.rejects(
        runPipeline(opts(out2, [new A1111Backend({ url: slow.url })], { n: 2, maxSeconds: 0.4 })),
        /time budget of 0\.4 s used up with 0 of 2 images/,
      );
      assert.ok(performance.now() - t0 < slow.delayMs, "the budget ends the run before the server answers");
    } finally {
      await slow.close();
    }
  } finally {
    await fake.close();
    await Deno.remove(out, { recursive: true });
    await Deno.remove(out2, { recursive: true });
  }
});

Deno.test("comfyui and openai through the pipeline; a non-image payload from either is retried", async () => {
  const comfy = new FakeComfy();
  comfy.faults.push({ kind: "not_image" });
  const oa = new FakeOpenAI({ apiKey: "sk-pipeline-test-key-123456" });
  oa.faults.push({ kind: "not_image" });
  const out = await Deno.makeTempDir(), out2 = await Deno.makeTempDir();
  try {
    const r = await runPipeline(
      opts(out, [new ComfyBackend({ url: comfy.url, workflow: parseWorkflow(placeholderWorkflow()) })], {
        n: 2,
        request: { prompt: "p", seed: 5, width: 64, height: 64, batchSize: 2 },
      }),
    );
    assert.deepEqual([r.rows.length, r.retries], [2, 1]);
    assert.deepEqual(r.rows.map((x) => [x.backend, x.seed, x.params.batch_index]), [["comfyui", 5, 0], [
      "comfyui",
      5,
      1,
    ]]);
    const r2 = await runPipeline(
      opts(out2, [
        new OpenAIImagesBackend({
          url: `${oa.url}/v1`,
          model: "dall-e-2",
          apiKey: "sk-pipeline-test-key-123456",
        }),
      ], {
        n: 2,
      }),
    );
    assert.deepEqual([r2.rows.length, r2.retries], [2, 1]);
    assert.equal(r2.rows[0].params.size, "64x64");
    const text = await Deno.readTextFile(join(out2, MANIFEST));
    assert.ok(!text.includes("sk-pipeline-test-key-123456"));
  } finally {
    await comfy.idle();
    await comfy.close();
    await oa.close();
    await Deno.remove(out, { recursive: true });
    await Deno.remove(out2, { recursive: true });
  }
});

Deno.test("best-of-N ranked by clip_score, as the course does: the best image has the highest score for the run's prompt", async () => {
  const models = await Deno.makeTempDir(), out = await Deno.makeTempDir(), imgs = await Deno.makeTempDir();
  try {
    await writeTinyModels(models);
    for (const n of [1, 2, 3, 4]) {
      await Deno.copyFile(`${REFERENCE_DIR}images/facephoto${n}.png`, join(imgs, `c${n}.png`));
    }
    const r = await runPipeline({
      backends: [new FolderBackend({ dir: imgs })],
      out,
      request: { prompt: "a group of people smiling", width: 64, height: 64 },
      n: 4,
      scoreJobs: 1,
      heuristics: ["sharpness", "clip_score"],
      rules: [],
      rankBy: "clip_score",
      settings: { clip_score: { model: TINY_CLIP_ID, modelsDir: models } },
    });
    const rows = await manifest(out);
    assert.equal(rows.length, 4);
    const scores = rows.map((x) => x.scores.clip_score as number);
    assert.ok(scores.every((s) => typeof s === "number" && s >= 0 && s <= 100), `${scores}`);
    assert.ok(new Set(scores).size > 1, "distinct images score differently");
    assert.equal(r.best?.scores.clip_score, Math.max(...scores));
  } finally {
    for (const d of [models, out, imgs]) await Deno.remove(d, { recursive: true });
  }
});
