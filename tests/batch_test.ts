/**
 * Model heuristics in batches (issue 17): `scoreImages` runs each heuristic's `prepareBatch` on
 * several images at once and must give every image the values it gets alone, on real labeled
 * images (`data/labels/`) with the real models; one image that fails costs only its own row, in
 * `scoreImages` and in a `ScorePool` whose workers gather batches.
 *
 * Tolerances, stated: strings and counts identical; probabilities and confidences within 1e-5
 * absolute (a batched model run may sum its products in another order than a run on one input;
 * measured differences are far smaller, see each test).
 *
 * @module
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import sharp from "sharp";
import { decodeImage, type RgbImage } from "../lib/core/image.ts";
import { listImages } from "../lib/core/files.ts";
import { SHIPPED_LABELS_DIR } from "../lib/labels/format.ts";
import { type Heuristic, ImageContext, type Value } from "../lib/heuristics/types.ts";
import { type ImageResult, scoreImage, scoreImages } from "../lib/score/score_image.ts";
import { ScorePool, type WorkerReply } from "../lib/score/pool.ts";
import { getNsfwModel, NSFW_INPUT_SIZE, nsfwProbabilities } from "../lib/heuristics/nsfw.ts";
import { writeTinyModels } from "./fixtures_models.ts";
import { TINY_AESTHETIC_ID, TINY_CLIP_ID } from "./fixtures_models.ts";
import { runCli } from "./cli.ts";
import { getDetector } from "../lib/models/faces/detector.ts";
import { parseCsv } from "../lib/core/csv.ts";
import { readResults } from "../lib/score/results.ts";

const TOL = 1e-5;

/** Every k-th labeled image, `n` of them, plus the ones whose name says they show text. */
async function labeled(n: number, withText = 0): Promise<string[]> {
  const { files: all } = await listImages([join(SHIPPED_LABELS_DIR, "images")]);
  const spread = Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]);
  const text = all.filter((f) => /Glyph-ByT5/.test(f)).slice(0, withText);
  return [...new Set([...text, ...spread])];
}

/** Values equal: strings and integers exactly, other numbers within {@link TOL}. */
function sameValues(a: Record<string, Value>, b: Record<string, Value>, what: string): void {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), what);
  for (const k of Object.keys(a)) {
    const x = a[k], y = b[k];
    if (typeof x === "number" && typeof y === "number" && !(Number.isInteger(x) && Number.isInteger(y))) {
      assert.ok(Math.abs(x - y) <= TOL, `${what} ${k}: ${x} vs ${y}`);
    } else assert.equal(x, y, `${what} ${k}`);
  }
}

function sameResult(a: ImageResult, b: ImageResult, what: string): void {
  sameValues(a.values, b.values, what);
  assert.deepEqual(Object.keys(a.details).sort(), Object.keys(b.details).sort(), `${what} tables`);
  for (const [t, rows] of Object.entries(a.details)) {
    assert.equal(rows.length, b.details[t].length, `${what} ${t} rows`);
    rows.forEach((r, i) => sameValues(r, b.details[t][i], `${what} ${t}[${i}]`));
  }
}

function fulfilled(r: PromiseSettledResult<ImageResult>, what: string): ImageResult {
  assert.equal(r.status, "fulfilled", `${what}: ${r.status === "rejected" ? r.reason : ""}`);
  return (r as PromiseFulfilledResult<ImageResult>).value;
}

/** A fake model heuristic that records its batches and fails on images 1 pixel wide. */
function recorder(batches: number[][], opts: { batchThrows?: boolean } = {}): Heuristic {
  return {
    name: "fake_model",
    description: "test double",
    errorType: "fake",
    outputs: [{ name: "fake_w", unit: "px", direction: "neither", description: "width" }],
    thresholds: [],
    batchSize: 3,
    async prepareBatch(ctxs) {
      batches.push(ctxs.map((c) => c.width));
      if (opts.batchThrows && ctxs.some((c) => c.width === 1)) throw new Error("the batch failed");
      for (const c of ctxs) if (c.width !== 1) c.memo("fake", () => Promise.resolve(c.width));
      await Promise.resolve();
    },
    async compute(ctx) {
      const w = await ctx.memo("fake", () => {
        if (ctx.width === 1) return Promise.reject(new Error("one pixel wide"));
        return Promise.resolve(-ctx.width); // alone: a value the batch never gives
      });
      return { fake_w: w };
    },
  };
}

const flat = (w: number): RgbImage => ({ width: w, height: 4, data: new Uint8Array(w * 4 * 3).fill(90) });

Deno.test("scoreImages: batches of batchSize, the bad image alone gets its error, a failed batch falls back per image", async () => {
  const batches: number[][] = [];
  const items = [5, 6, 1, 7, 8].map((w) => ({ image: flat(w) }));
  const r = await scoreImages(items, { heuristics: [recorder(batches), "exposure"] });
  assert.deepEqual(batches, [[5, 6, 1], [7, 8]]);
  assert.deepEqual(r.map((x) => x.status), ["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
  assert.match(String((r[2] as PromiseRejectedResult).reason), /one pixel wide/);
  assert.deepEqual(r.filter((x) => x.status === "fulfilled").map((x) => x.value.values.fake_w), [5, 6, 7, 8]);
  // The pure heuristic beside it gives what it gives alone.
  const alone = await scoreImage(flat(5), { heuristics: ["exposure"] });
  assert.equal(fulfilled(r[0], "5").values.dark_frac, alone.values.dark_frac);

  const b2: number[][] = [];
  const r2 = await scoreImages(items, { heuristics: [recorder(b2, { batchThrows: true })], batch: 2 });
  assert.deepEqual(b2, [[5, 6], [1, 7], [8]].filter((b) => b.length > 1));
  // The chunk [1, 7] failed as a whole: 7 ran alone (its own compute), 1 got its own error.
  assert.deepEqual(
    r2.map((x) => x.status === "fulfilled" ? x.value.values.fake_w : "error"),
    [5, 6, "error", -7, -8],
  );
  // batch 1: no prepareBatch at all.
  const b3: number[][] = [];
  await scoreImages(items, { heuristics: [recorder(b3)], batch: 1 });
  assert.deepEqual(b3, []);
});

Deno.test("text: OCR of labeled images in batches (recognition crops together) equals OCR one image at a time", async () => {
  const files = await labeled(4, 4);
  const images = await Promise.all(files.map((f) => decodeImage(f)));
  const alone = await Promise.all(images.map((image) => scoreImage(image, { heuristics: ["text"] })));
  const batched = await scoreImages(images.map((image) => ({ image })), { heuristics: ["text"], batch: 8 });
  let regions = 0;
  alone.forEach((a, i) => {
    sameResult(fulfilled(batched[i], files[i]), a, files[i]);
    regions += a.values.text_boxes as number;
  });
  assert.ok(regions >= 8, `the images give text to batch (${regions} boxes)`);
});

Deno.test("nsfw: stacked 224×224 inputs give nsfwjs's own classify() probabilities, alone and in batches", async () => {
  const files = await labeled(6);
  const images = await Promise.all(files.map((f) => decodeImage(f)));
  const model = await getNsfwModel();
  const tf = await import("@tensorflow/tfjs");
  const cls: Record<string, string> = {
    Drawing: "nsfw_drawing",
    Hentai: "nsfw_hentai",
    Neutral: "nsfw_neutral",
    Porn: "nsfw_porn",
    Sexy: "nsfw_sexy",
  };
  const batched = await scoreImages(images.map((image) => ({ image })), { heuristics: ["nsfw"], batch: 4 });
  for (const [i, img] of images.entries()) {
    // Reference: the package's own classify() on the same 224×224 pixels.
    const px = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
      .resize(NSFW_INPUT_SIZE, NSFW_INPUT_SIZE, { fit: "fill", kernel: "lanczos3" }).raw().toBuffer();
    const x = tf.tensor3d(Int32Array.from(px), [NSFW_INPUT_SIZE, NSFW_INPUT_SIZE, 3], "int32");
    const ref = Object.fromEntries(
      (await model.classify(x, 5)).map((c) => [cls[c.className], c.probability]),
    );
    x.dispose();
    const alone = await nsfwProbabilities(new ImageContext(img));
    for (const k of Object.keys(ref)) {
      assert.ok(
        Math.abs(alone[k] - ref[k]) <= 1e-7,
        `${files[i]} ${k} alone ${alone[k]} vs classify ${ref[k]}`,
      );
    }
    const b = fulfilled(batched[i], files[i]).values;
    for (const k of Object.keys(ref)) {
      assert.ok(Math.abs((b[k] as number) - ref[k]) <= TOL, `${files[i]} ${k} batched ${b[k]} vs ${ref[k]}`);
    }
  }
});

Deno.test("clip_score, pick_score, aesthetic: the towers on a batch give each image its own values (tiny CLIP)", async () => {
  const models = await Deno.makeTempDir({ prefix: "winnow-models-" });
  await writeTinyModels(models);
  const files = await labeled(5);
  const images = await Promise.all(files.map((f) => decodeImage(f)));
  const settings = { clip_score: { model: TINY_CLIP_ID, modelsDir: models, prompt: "a dog on a sofa" } };
  const alone = await Promise.all(
    images.map((image) => scoreImage(image, { heuristics: ["clip_score"], image: { settings } })),
  );
  const batched = await scoreImages(images.map((image) => ({ image, options: { settings } })), {
    heuristics: ["clip_score"],
    batch: 5,
  });
  alone.forEach((a, i) => sameResult(fulfilled(batched[i], files[i]), a, files[i]));
  assert.ok(new Set(alone.map((a) => a.values.clip_cosine)).size === images.length, "distinct images differ");

  // The other CLIP-family heuristics: pick_score (combined model, images sharing a prompt in one
  // run; two prompts here) and aesthetic (image tower + head).
  const tiny = { model: TINY_CLIP_ID, modelsDir: models };
  const options = (i: number) => ({
    settings: {
      pick_score: { ...tiny, prompt: i % 2 ? "a red fox" : "a cat" },
      aesthetic: { ...tiny, head: `${TINY_AESTHETIC_ID}/model.onnx` },
    },
  });
  const heuristics = ["pick_score", "aesthetic"];
  const alone2 = await Promise.all(
    images.map((image, i) => scoreImage(image, { heuristics, image: options(i) })),
  );
  const batched2 = await scoreImages(images.map((image, i) => ({ image, options: options(i) })), {
    heuristics,
    batch: 5,
  });
  alone2.forEach((a, i) => sameResult(fulfilled(batched2[i], files[i]), a, files[i]));
  assert.ok(
    new Set(alone2.map((a) => a.values.aesthetic_score)).size === images.length,
    "distinct images differ",
  );
});

Deno.test("pool: thread and process workers gather batches; a corrupt file and a crashing worker cost one row each; values equal batch 1", async () => {
  const files = await labeled(7);
  const dir = await Deno.makeTempDir({ prefix: "winnow-batch-" });
  const corrupt = join(dir, "corrupt.jpg");
  await Deno.writeFile(corrupt, new Uint8Array([0xff, 0xd8, 0xff, 0x00, 1, 2, 3]));
  const crash = join(dir, "crash.jpg");
  await Deno.copyFile(files[0], crash);
  const all = [...files.slice(0, 3), corrupt, ...files.slice(3)];
  const run = async (
    batch: number,
    list: string[],
    faults = {},
    isolation: "thread" | "process" = "thread",
  ) => {
    const pool = new ScorePool({ jobs: 1, heuristics: ["nsfw"], batch, faults, isolation });
    try {
      assert.equal(pool.batch, batch);
      return await Promise.all(list.map((f) => pool.score(f)));
    } finally {
      await pool.close();
    }
  };
  const ok = (r: WorkerReply): r is Extract<WorkerReply, { values: unknown }> => "values" in r;
  const one = await run(1, all);
  const four = await run(4, all);
  all.forEach((f, i) => {
    if (f === corrupt) {
      assert.ok(!ok(four[i]) && !ok(one[i]), f);
      assert.equal((four[i] as { kind: string }).kind, (one[i] as { kind: string }).kind);
    } else {
      assert.ok(ok(four[i]) && ok(one[i]), `${f}: ${JSON.stringify(four[i])}`);
      sameValues(four[i].values, one[i].values, f);
    }
  });
  assert.ok(four.some((r) => ok(r) && r.batched! > 1), "some files were scored in a batch");
  // Process workers gather batches the same way (the batch size travels in the request frames).
  const child = await run(4, all, {}, "process");
  all.forEach((f, i) => {
    const r = child[i], r1 = one[i];
    if (f === corrupt) assert.ok(!ok(r));
    else {
      assert.ok(ok(r) && ok(r1), `${f}: ${JSON.stringify(r)}`);
      sameValues(r.values, r1.values, `process worker ${f}`);
    }
  });
  assert.ok(child.some((r) => ok(r) && r.batched! > 1), "a process worker scored files in a batch");
  // Without a batch size, the pool takes the largest batchSize of its heuristics.
  for (const [heuristics, batch] of [[["nsfw"], 8], [["text", "sharpness"], 1]] as const) {
    const pool = new ScorePool({ jobs: 1, heuristics: [...heuristics] });
    assert.equal(pool.batch, batch, heuristics.join());
    await pool.close();
  }
  assert.ok(one.every((r) => !ok(r) || r.batched === undefined), "batch 1 never batches");
  // A worker that crashes with a batch in flight: the files it held run again alone; only the
  // file to blame gets an error row, the others the values they get in batches.
  const withCrash = [...all.slice(0, 5), crash, ...all.slice(5)];
  const crashed = await run(4, withCrash, { [crash]: "crash" });
  withCrash.forEach((f, i) => {
    const r = crashed[i];
    if (f === crash) assert.equal((r as { kind: string }).kind, "worker_crashed");
    else if (f === corrupt) assert.ok(!ok(r));
    else {
      assert.ok(ok(r), `${f}: ${JSON.stringify(r)}`);
      sameValues(r.values, (one[all.indexOf(f)] as { values: Record<string, Value> }).values, f);
    }
  });
});

Deno.test("score --batch N: rows as without it, one per file; a bad value is a usage error", async () => {
  const files = await labeled(4);
  const dir = await Deno.makeTempDir({ prefix: "winnow-batch-cli-" });
  for (const f of files) await Deno.copyFile(f, join(dir, basename(f)));
  await Deno.writeFile(join(dir, "zz_corrupt.jpg"), new Uint8Array([0xff, 0xd8, 0xff, 0x00, 1, 2, 3]));
  const rows: Record<string, Record<string, unknown>>[] = [];
  for (const extra of [[], ["--batch", "3"]]) {
    const out = join(dir, `out${extra.length}.csv`);
    const r = await runCli("score", [dir, "--out", out, "--heuristics", "nsfw", "--quiet", ...extra]);
    assert.equal(r.code, 0, r.stderr);
    rows.push(Object.fromEntries((await readResults(out)).map((row) => [row.path as string, row])));
  }
  assert.equal(Object.keys(rows[1]).length, files.length + 1);
  for (const [path, row] of Object.entries(rows[1])) {
    if (path.endsWith("zz_corrupt.jpg")) assert.ok(row.error_kind, path);
    else sameValues(pick(row), pick(rows[0][path]), path);
  }
  const bad = await runCli("score", [dir, "--out", join(dir, "x.csv"), "--batch", "0"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--batch: expected a positive integer, got "0"/);
});

const pick = (row: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(row).filter(([k]) => k.startsWith("nsfw_"))) as Record<string, Value>;

Deno.test("faces: ssd on onnxruntime over a batch gives each labeled image exactly its faces alone; a bad image costs its own row", async () => {
  // Images with hand-rated faces (data/labels/faces.csv), every 40th, and 2 others.
  const [head, ...rows] = parseCsv(await Deno.readTextFile(join(SHIPPED_LABELS_DIR, "faces.csv")));
  const col = head.fields.indexOf("path");
  const withFaces = [...new Set(rows.map((r) => join(SHIPPED_LABELS_DIR, r.fields[col])))];
  const files = [...new Set([...withFaces.filter((_, i) => i % 40 === 0).slice(0, 4), ...await labeled(2)])];
  const images = await Promise.all(files.map((f) => decodeImage(f)));
  // The per-face measures run per image either way; the detection is what is batched.
  const settings = { faces: { qualityFeatures: false } };
  const heuristics = ["faces"];
  const alone = await Promise.all(
    images.map((image) => scoreImage(image, { heuristics, image: { settings } })),
  );
  // A truncated image (pixels missing) in the middle of the batch: its copy for the detector fails.
  const bad: RgbImage = { width: 1024, height: 768, data: new Uint8Array(10) };
  const items = [...images.slice(0, 3), bad, ...images.slice(3)].map((image) => ({
    image,
    options: { settings },
  }));
  const batched = await scoreImages(items, { heuristics, batch: 8 });
  assert.equal(batched[3].status, "rejected", "the truncated image gets its error");
  const rest = batched.filter((_, i) => i !== 3);
  let faces = 0;
  alone.forEach((a, i) => {
    const b = fulfilled(rest[i], files[i]);
    // Identical, not within a tolerance: each image's rows of the batched run are computed on their own.
    assert.deepEqual(b.values, a.values, files[i]);
    assert.deepEqual(b.details, a.details, `${files[i]} faces table`);
    faces += (a.details.faces ?? []).length;
  });
  assert.ok(faces >= 6, `the images have faces to compare (${faces})`);
  // The batch did run: the detector's own batch entry gives the same faces as detect().
  const ssd = await getDetector("ssd");
  const many = await ssd.detectBatch!([images[0], bad, images[1]], { minConfidence: 0.1 });
  assert.equal(many[1], null);
  assert.deepEqual(many[0], await ssd.detect(images[0], { minConfidence: 0.1 }));
  assert.deepEqual(many[2], await ssd.detect(images[1], { minConfidence: 0.1 }));
});
