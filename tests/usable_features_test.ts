/**
 * `deno task fit usable --features …` with a model heuristic's column: the multimodal `probe`
 * against a local fake server that speaks the OpenAI chat-completions contract (no model, no
 * download), then `deno task score … --scorer` applying the refitted file, checked against the
 * logistic computed here by hand from the file and that run's columns; the same with
 * `aesthetic_score` from the tiny CLIP and aesthetic head the tests build (tests/fixtures_models.ts)
 * in a model store; and the errors of `--features`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { runCli } from "./cli.ts";
import { DEFAULT_LABEL_SCORES } from "../lib/calibrate/fit_usable.ts";
import { TINY_AESTHETIC_ID, TINY_CLIP_ID, writeTinyModels } from "./fixtures_models.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** One probe question (the `questions` setting): P(defect) = P(yes). */
const QUESTIONS = JSON.stringify([
  { id: "q", errorType: "garbled_text", text: "Is any lettering garbled?", defectAnswer: "yes" },
]);

/** Width of an image the fake server refuses (HTTP 400): its probe column stays empty. */
const REFUSED_WIDTH = 37;

/**
 * A chat-completions server whose P(yes) varies with the image: the mean red level of the JPEG it
 * is sent, / 255, kept within [0.02, 0.98], given as logprobs of "Yes" and "No".
 */
function fakeChat() {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    if (req.method !== "POST" || new URL(req.url).pathname !== "/v1/chat/completions") {
      return new Response("no route", { status: 404 });
    }
    requests++;
    const body = await req.json();
    const parts = body.messages.find((m: { role: string }) => m.role === "user").content as {
      type: string;
      image_url?: { url: string };
    }[];
    const url = parts.find((p) => p.type === "image_url")!.image_url!.url;
    const jpeg = Uint8Array.from(atob(url.slice(url.indexOf(",") + 1)), (c) => c.charCodeAt(0));
    const img = sharp(jpeg);
    if ((await img.metadata()).width === REFUSED_WIDTH) {
      return Response.json({ error: { message: "cannot read this image", type: "invalid_request_error" } }, {
        status: 400,
      });
    }
    const p = Math.min(0.98, Math.max(0.02, (await img.stats()).channels[0].mean / 255));
    const tok = (t: string, q: number) => ({
      token: t,
      logprob: Math.log(q),
      bytes: [...new TextEncoder().encode(t)],
    });
    return Response.json({
      id: "c",
      object: "chat.completion",
      created: 1,
      model: body.model,
      choices: [{
        index: 0,
        finish_reason: "stop",
        message: { role: "assistant", content: p >= 0.5 ? "Yes" : "No", refusal: null },
        logprobs: {
          content: [{
            ...tok(p >= 0.5 ? "Yes" : "No", Math.max(p, 1 - p)),
            top_logprobs: [tok("Yes", p), tok("No", 1 - p)],
          }],
        },
      }],
    });
  });
  return { server, base: `http://127.0.0.1:${server.addr.port}/v1`, requests: () => requests };
}

/** A CSV written by `score`/`fit` as rows of strings by column name. */
async function readCsv(file: string): Promise<Record<string, string>[]> {
  const [head, ...lines] = (await Deno.readTextFile(file)).trim().split("\n").map((l) => l.split(","));
  return lines.map((l) => Object.fromEntries(head.map((h, i) => [h, l[i] ?? ""])));
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

Deno.test("fit usable --features with a probe column (fake chat server) writes a scorer; score --scorer applies it as computed by hand", async () => {
  const { server, base, requests } = fakeChat();
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "my_usable.json"), work = join(dir, "work");
    const features = "laplacian_var:log1p,colorfulness,probe_garbled_text";
    const probeSet = [
      "--set",
      `probe.baseUrl=${base}`,
      "--set",
      "probe.model=fake",
      "--set",
      `probe.questions=${QUESTIONS}`,
    ];
    const args = [
      "--features",
      features,
      "--limit",
      "36",
      "--folds",
      "3",
      "--repeats",
      "0",
      "--bootstrap",
      "50",
      ...probeSet,
    ];
    const fit = await runCli("fit", ["usable", ...args, "--work-dir", work, "--out", out, "--quiet"]);
    assert.equal(fit.code, 0, fit.stderr);
    assert.ok(
      requests() >= 36,
      `the fit scored the labeled images through the server (${requests()} requests)`,
    );
    const file = JSON.parse(await Deno.readTextFile(out));
    assert.deepEqual(
      file.features.map((f: { name: string; transform: string }) => `${f.name}:${f.transform}`),
      [
        "laplacian_var:log1p",
        "colorfulness:identity",
        "probe_garbled_text:identity",
      ],
    );
    assert.equal(file.provenance.rows, 36);
    assert.ok(file.model.coef.every((c: number) => Number.isFinite(c) && c !== 0), String(file.model.coef));
    assert.equal(
      file.provenance.featureList,
      "laplacian_var:log1p,colorfulness:identity,probe_garbled_text:identity",
    );
    assert.equal(file.provenance.command, ["deno task fit usable", ...args, "--out", out].join(" "));
    // New columns' empty values: the median over the training rows (the kept score table), by hand.
    const table = await readCsv(join(work, "usable_scores.csv"));
    assert.equal(table.length, 36);
    const median = (col: string) => {
      const v = table.map((r) => r[col]).filter((s) => s !== "").map(Number).sort((a, b) => a - b);
      return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    };
    const probeValues = new Set(table.map((r) => r.probe_garbled_text));
    assert.ok(probeValues.size > 10, "the probe column varies over the images");
    for (const [j, col] of [[0, "laplacian_var"], [2, "probe_garbled_text"]] as const) {
      assert.equal(file.features[j].missing, median(col), col);
      assert.match(
        file.provenance.missingValues,
        new RegExp(`${col}: empty → ${median(col)} \\(median of the 36 of 36 training rows with a value\\)`),
      );
    }
    // colorfulness is a shipped column: it keeps the shipped scorer's missing value.
    assert.equal(file.features[1].missing, 0);
    assert.doesNotMatch(file.provenance.missingValues, /colorfulness/);

    // score --scorer: two labeled images and one the server refuses (its probe column is empty).
    const refused = join(dir, "refused.png");
    await sharp({
      create: { width: REFUSED_WIDTH, height: 30, channels: 3, background: { r: 200, g: 40, b: 90 } },
    })
      .png().toFile(refused);
    const images = [
      join(ROOT, "data/labels/images/AIGText__Glyph-ByT5__inference__assets__teaser__de_1.jpg"),
      join(ROOT, "data/labels/images/CompVis__latent-diffusion__assets__txt2img-preview__t1_1.jpg"),
      refused,
    ];
    const scores = join(dir, "scores.csv");
    const run = await runCli("score", [
      ...images,
      "--out",
      scores,
      "--heuristics",
      "sharpness,colorfulness,probe",
      "--scorer",
      out,
      ...probeSet,
      "--jobs",
      "1",
      "--quiet",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const rows = await readCsv(scores);
    assert.equal(rows.length, 3);
    const m = file.model;
    for (const r of rows) {
      const raw = [r.laplacian_var, r.colorfulness, r.probe_garbled_text];
      const x = raw.map((s, j) => (s === "" ? file.features[j].missing : Number(s)));
      x[0] = Math.log1p(Math.max(0, x[0]));
      let z = m.intercept;
      for (let j = 0; j < 3; j++) z += m.coef[j] * (x[j] - m.mean[j]) / m.scale[j];
      assert.ok(
        Math.abs(Number(r.usable_score) - sigmoid(z)) < 1e-12,
        `${r.path}: ${r.usable_score} vs ${sigmoid(z)}`,
      );
    }
    const refusedRow = rows.find((r) => r.path.endsWith("refused.png"))!;
    assert.equal(refusedRow.probe_garbled_text, "", "the refused image has no probe value");

    // usable alone runs its sources itself (probe included) and gives the same scores.
    const alone = join(dir, "alone.csv");
    const run2 = await runCli("score", [
      ...images,
      "--out",
      alone,
      "--scorer",
      out,
      "--heuristics",
      "usable",
      ...probeSet,
      "--jobs",
      "1",
      "--quiet",
    ]);
    assert.equal(run2.code, 0, run2.stderr);
    const rows2 = await readCsv(alone);
    assert.ok(!("probe_garbled_text" in rows2[0]));
    for (const r of rows2) {
      assert.equal(
        r.usable_score,
        rows.find((x) => x.path === r.path)!.usable_score,
        r.path,
      );
    }
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fit usable --features with aesthetic_score (tiny CLIP + head in a model store); score --models --scorer applies it as computed by hand", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const models = join(dir, "models"), out = join(dir, "u.json"), work = join(dir, "work");
    await writeTinyModels(models);
    const aes = [
      "--set",
      `aesthetic.model=${TINY_CLIP_ID}`,
      "--set",
      `aesthetic.head=${TINY_AESTHETIC_ID}/model.onnx`,
    ];
    const args = [
      "--features",
      "colorfulness,aesthetic_score",
      "--limit",
      "36",
      "--folds",
      "3",
      "--repeats",
      "0",
    ];
    const fit = await runCli("fit", [
      "usable",
      ...args,
      "--bootstrap",
      "50",
      ...aes,
      "--set",
      `aesthetic.modelsDir=${models}`,
      "--work-dir",
      work,
      "--out",
      out,
      "--quiet",
    ]);
    assert.equal(fit.code, 0, fit.stderr);
    const file = JSON.parse(await Deno.readTextFile(out));
    assert.equal(file.provenance.featureList, "colorfulness:identity,aesthetic_score:identity");
    const table = await readCsv(join(work, "usable_scores.csv"));
    assert.equal(table.length, 36);
    assert.ok(
      new Set(table.map((r) => r.aesthetic_score)).size > 10,
      "aesthetic_score varies over the images",
    );
    assert.ok(file.model.coef.every((c: number) => Number.isFinite(c) && c !== 0), String(file.model.coef));
    const images = [
      join(ROOT, "data/labels/images/AIGText__Glyph-ByT5__inference__assets__teaser__de_1.jpg"),
      join(ROOT, "data/labels/images/CompVis__latent-diffusion__assets__txt2img-preview__t1_1.jpg"),
    ];
    const scores = join(dir, "scores.csv");
    const run = await runCli("score", [
      ...images,
      "--out",
      scores,
      "--heuristics",
      "colorfulness,aesthetic",
      "--models",
      models,
      ...aes,
      "--scorer",
      out,
      "--jobs",
      "1",
      "--quiet",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const m = file.model;
    for (const r of await readCsv(scores)) {
      assert.ok(r.colorfulness !== "" && r.aesthetic_score !== "", JSON.stringify(r));
      const x = [Number(r.colorfulness), Number(r.aesthetic_score)];
      const z = m.intercept + m.coef[0] * (x[0] - m.mean[0]) / m.scale[0] +
        m.coef[1] * (x[1] - m.mean[1]) / m.scale[1];
      assert.ok(
        Math.abs(Number(r.usable_score) - sigmoid(z)) < 1e-12,
        `${r.path}: ${r.usable_score} vs ${sigmoid(z)}`,
      );
      // The same image's aesthetic score in the fit's table (scored by the fit through the same model).
      const same = table.find((t) => t.path === r.path);
      if (same) assert.ok(Math.abs(Number(same.aesthetic_score) - x[1]) < 1e-5, r.path);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fit usable --features: clear errors naming the column and the score table", async () => {
  const fit = (features: string, more: string[] = []) =>
    runCli("fit", [
      "usable",
      "--scores",
      DEFAULT_LABEL_SCORES,
      "--features",
      features,
      "--repeats",
      "0",
      ...more,
    ]);
  const table = "labels_scores.csv";
  // A column no heuristic produces (usable could not compute it when it runs).
  let r = await fit("colorfulness,error_kind");
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`${table}: no heuristic produces the scorer's column "error_kind"`));
  // A batch column (computed across a batch after scoring, never per image).
  r = await fit("colorfulness,clip_prompt_rank");
  assert.match(
    r.stderr,
    new RegExp(`${table}: the scorer's column "clip_prompt_rank" is a batch column of clip_score`),
  );
  // A heuristic's column that the table does not hold.
  r = await fit("colorfulness,clip_score");
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    new RegExp(`${table}: no column clip_score \\(score with the heuristics clip_score\\)`),
  );
  // A column with no numeric value (a hash).
  r = await fit("colorfulness,phash");
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`${table}: column phash has no numeric value in its 262 labeled rows`));
  // A transform that does not exist; a column named twice; a scorer with fixed features.
  r = await fit("colorfulness:sqrt");
  assert.match(
    r.stderr,
    /--features: "colorfulness:sqrt": unknown transform "sqrt" \(known: identity, log1p, present\)/,
  );
  r = await fit("colorfulness,colorfulness");
  assert.match(r.stderr, /--features: column "colorfulness" is named twice/);
  r = await runCli("fit", ["face_quality", "--features", "confidence"]);
  assert.match(r.stderr, /--features: the face_quality scorer's features are fixed/);
  // A shipped column keeps its transform and missing value; a given transform replaces it.
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "u.json");
    r = await fit("text_regions,nsfw_neutral:log1p", ["--bootstrap", "50", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const f = JSON.parse(await Deno.readTextFile(out));
    assert.deepEqual(f.features, [
      { name: "text_regions", transform: "log1p", missing: 0 },
      { name: "nsfw_neutral", transform: "log1p", missing: 0 },
    ]);
    assert.equal(f.provenance.missingValues, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
