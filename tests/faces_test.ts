import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { decodeBytes, type DecodedImage, decodeImage, type RgbImage } from "../lib/core/image.ts";
import { type Box, ImageContext, type ImageOptions } from "../lib/heuristics/types.ts";
import {
  DETECTOR_NAMES,
  type DetectorName,
  FaceModelError,
  getDetector,
  UnknownDetectorError,
} from "../lib/models/faces/detector.ts";
import { FACE_COLUMNS, faces } from "../lib/heuristics/faces.ts";
import { DEFAULT_HEURISTICS, resolveHeuristics } from "../lib/heuristics/registry.ts";
import { applyRules, defaultRules } from "../lib/score/rules.ts";
import { readResults } from "../lib/score/results.ts";
import { parseCsv } from "../lib/core/csv.ts";
import { REFERENCE_DIR } from "./golden.ts";
import { SHIPPED_LABELS_DIR } from "../lib/labels/format.ts";
import { runCli } from "./cli.ts";

const DEMO = fileURLToPath(new URL("../node_modules/@vladmandic/face-api/demo/", import.meta.url));

type B = [x: number, y: number, width: number, height: number];

/**
 * The faces of `sample1..6.jpg` (1920 px wide) as SSD boxes them, recorded once and checked by eye
 * on overlays of the photos: every box sits on one clearly visible face, and every clearly visible
 * face has one (3, 3, 3, 4, 5, 4). Each detector's own boxes must have their centre inside these.
 */
const FACES: B[][] = [
  [[412, 354, 179, 239], [837, 418, 190, 226], [1472, 197, 205, 239]],
  [[362, 133, 150, 253], [898, 223, 155, 228], [1446, 153, 194, 243]],
  [[584, 328, 200, 272], [1073, 215, 224, 298], [1514, 287, 169, 285]],
  [[255, 182, 163, 251], [663, 49, 185, 264], [987, 178, 172, 227], [1278, 133, 148, 259]],
  [[377, 861, 172, 298], [597, 415, 166, 248], [785, 107, 156, 214], [1111, 197, 161, 238], [
    1405,
    388,
    167,
    271,
  ]],
  [[250, 465, 209, 293], [679, 319, 160, 306], [1179, 306, 189, 277], [1485, 260, 211, 298]],
];

/**
 * Each detector's boxes at its default minimum confidence 0.5, recorded once (same overlays). The
 * tiny detector misses the left woman's profile in sample2; its and BlazeFace's boxes are squarer
 * and larger than SSD's, so each detector is held to its own reference.
 */
const RECORDED: Record<DetectorName, B[][]> = {
  ssd: FACES,
  tiny: [
    [[356, 391, 290, 244], [789, 441, 288, 259], [1449, 201, 272, 267]],
    [[874, 281, 206, 200], [1409, 187, 274, 239]],
    [[534, 359, 278, 285], [1025, 250, 293, 271], [1461, 328, 280, 258]],
    [[202, 221, 245, 224], [626, 108, 258, 240], [922, 208, 260, 226], [1225, 176, 247, 240]],
    [[325, 908, 287, 284], [547, 452, 258, 225], [743, 155, 223, 197], [1042, 216, 259, 256], [
      1374,
      435,
      267,
      260,
    ]],
    [[212, 528, 275, 269], [620, 384, 284, 274], [1129, 359, 268, 264], [1438, 294, 310, 286]],
  ],
  blazeface: [
    [[390, 372, 255, 255], [821, 428, 237, 236], [1474, 236, 206, 207]],
    [[345, 161, 229, 229], [840, 225, 278, 281], [1436, 172, 240, 240]],
    [[566, 353, 255, 258], [1058, 244, 262, 259], [1414, 311, 281, 285]],
    [[221, 236, 218, 214], [668, 113, 195, 195], [964, 210, 225, 229], [1264, 184, 217, 217]],
    [[311, 900, 270, 273], [555, 446, 218, 217], [776, 139, 192, 191], [1099, 225, 229, 229], [
      1391,
      412,
      274,
      274,
    ]],
    [[229, 521, 255, 255], [649, 367, 266, 267], [1129, 334, 259, 262], [1459, 296, 270, 270]],
  ],
};

function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = ix * iy;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

const box = ([x, y, width, height]: B): Box => ({ x, y, width, height });

const photos = new Map<number, DecodedImage>();
async function photo(i: number): Promise<DecodedImage> {
  if (!photos.has(i)) photos.set(i, await decodeImage(join(DEMO, `sample${i}.jpg`)));
  return photos.get(i)!;
}

for (const name of DETECTOR_NAMES) {
  Deno.test(`${name} finds the clearly visible faces of the six face-api demo photos, boxes on them`, async () => {
    const detector = await getDetector(name);
    for (let i = 1; i <= 6; i++) {
      const img = await photo(i);
      const found = await detector.detect(img, { minConfidence: 0.5 });
      const want = RECORDED[name][i - 1];
      assert.equal(found.length, want.length, `sample${i}: ${name} found ${found.length} faces`);
      for (const [k, f] of found.entries()) {
        const ref = box(want[k]);
        assert.ok(
          iou(f, ref) >= 0.5,
          `sample${i} face ${k + 1}: IoU ${iou(f, ref).toFixed(2)} with ${want[k]}`,
        );
        const cx = f.x + f.width / 2, cy = f.y + f.height / 2;
        assert.ok(
          FACES[i - 1].some(([x, y, w, h]) => cx >= x && cx <= x + w && cy >= y && cy <= y + h),
          `sample${i} face ${k + 1}: centre ${cx},${cy} is on none of the reference faces`,
        );
        assert.ok(f.confidence >= 0.5 && f.confidence <= 1, `confidence ${f.confidence}`);
        assert.ok(f.x >= 0 && f.y >= 0 && f.x + f.width <= img.width && f.y + f.height <= img.height);
      }
      if (name === "blazeface") {
        for (const f of found) {
          assert.equal(f.landmarks?.length, 6);
          // Landmarks (eyes, nose, mouth, ears) lie within the face box, loosely (ears stick out).
          for (const [lx, ly] of f.landmarks!) {
            assert.ok(lx > f.x - f.width * 0.3 && lx < f.x + f.width * 1.3, `landmark x ${lx}`);
            assert.ok(ly > f.y - f.height * 0.3 && ly < f.y + f.height * 1.3, `landmark y ${ly}`);
          }
        }
      }
    }
  });
}

/** sample1 shrunk by 1, 1/2, 1/4 … 1/24: the three faces get smaller and the detector less sure. */
const SHRINK = [1, 2, 4, 8, 12, 16, 24];

for (const name of DETECTOR_NAMES) {
  Deno.test(`${name}: shrinking a photo step by step lowers face size and (broadly) confidence`, async () => {
    const full = await photo(1);
    const sizes: number[] = [], confidences: number[] = [];
    for (const k of SHRINK) {
      const w = Math.round(full.width / k);
      const img = k === 1 ? full : await shrunk(full, w);
      const ctx = new ImageContext(img, {
        settings: {
          faces: { detector: name, minConfidence: 0.3, findConfidence: 0.3, qualityFeatures: false },
        },
      });
      const v = await faces.compute(ctx);
      const rows = ctx.details.get("faces") ?? [];
      assert.equal(v.face_count, rows.length);
      // Confidence on the three known faces, a missed face counting 0 (so a face that drops out
      // cannot raise the mean).
      const scale = img.width / full.width;
      const conf = FACES[0].map(([x, y, bw, bh]) => {
        const ref = { x: x * scale, y: y * scale, width: bw * scale, height: bh * scale };
        const hit = rows.find((r) => iou(r as unknown as Box, ref) >= 0.3);
        return hit ? hit.confidence as number : 0;
      });
      sizes.push(v.face_min_log10_area as number);
      confidences.push(conf.reduce((a, b) => a + b, 0) / conf.length);
    }
    const trend = SHRINK.map((k, i) => `1/${k}: ${sizes[i]?.toFixed(2)} ${confidences[i].toFixed(2)}`).join(
      ", ",
    );
    for (let i = 1; i < SHRINK.length; i++) {
      assert.ok(sizes[i] < sizes[i - 1] - 0.05, `face size must fall at every step: ${trend}`);
      assert.ok(confidences[i] <= confidences[i - 1] + 0.03, `confidence must not rise: ${trend}`);
    }
    // Area falls with the square of the scale: 1/24 is 10^-2.76 of the area; box shapes change a little.
    assert.ok(sizes[0] - sizes.at(-1)! > 2, `face size must fall overall: ${trend}`);
    assert.ok(confidences.at(-1)! <= confidences[0] - 0.1, `confidence must fall overall: ${trend}`);
  });
}

async function shrunk(img: RgbImage, width: number): Promise<DecodedImage> {
  const png = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize({ width })
    .png()
    .toBuffer();
  return await decodeBytes(png);
}

Deno.test("images without a face give face_count 0, empty face values, and pass the face rules", async () => {
  const rules = defaultRules([faces]);
  for (const name of DETECTOR_NAMES) {
    for (const file of ["gradient.png", "checker.png", "noise.png"]) {
      const ctx = new ImageContext(await decodeImage(`${REFERENCE_DIR}images/${file}`), {
        settings: { faces: { detector: name } },
      });
      const v = await faces.compute(ctx);
      assert.deepEqual(v, {
        face_count: 0,
        face_min_area_frac: null,
        face_max_area_frac: null,
        face_min_log10_area: null,
        face_min_confidence: null,
        face_mean_confidence: null,
        face_min_quality: null,
      }, `${name} ${file}`);
      // Boxes found below the counting threshold may get a row, but none is counted or judged.
      const rows = ctx.details.get("faces") ?? [];
      assert.deepEqual(
        rows.filter((r) => r.counted === 1 || (r.confidence as number) >= 0.3),
        [],
        `${name} ${file}`,
      );
      if (name !== "ssd") assert.deepEqual(rows, [], `${name} ${file}: finds at 0.5 unless asked`);
      const verdict = applyRules(v, rules);
      assert.equal(verdict.kept, true, `${name} ${file}`);
      assert.deepEqual(verdict.reasons, []);
    }
  }
});

Deno.test("the face rules fail a small face, a low-confidence face and a blurred face, each under its own error type", async () => {
  const rules = defaultRules([faces]);
  assert.deepEqual(rules.map((r) => r.error_type).sort(), ["bad_face", "low_face_confidence", "small_face"]);
  const full = await photo(1);
  const big = await faces.compute(new ImageContext(full));
  assert.deepEqual(applyRules(big, rules).reasons, []);
  // The same photo blurred (Gaussian σ 6 px): the faces are still found, but judged bad.
  const blurredPng = await sharp(full.data, { raw: { width: full.width, height: full.height, channels: 3 } })
    .blur(6).png().toBuffer();
  const blurred = await faces.compute(new ImageContext(await decodeBytes(blurredPng)));
  assert.ok((blurred.face_count as number) >= 1);
  assert.ok((blurred.face_min_quality as number) < (big.face_min_quality as number));
  assert.ok(applyRules(blurred, rules).reasons.includes("bad_face"), JSON.stringify(blurred));
  // 1/12 size: faces of ~15×20 px, still found with confidence ≥ 0.9.
  const small = await faces.compute(new ImageContext(await shrunk(full, 160)));
  assert.equal(small.face_count, 3);
  // ... and judged bad: too few pixels for a face.
  assert.deepEqual(applyRules(small, rules).reasons.sort(), ["bad_face", "small_face"]);
  const weak = { ...big, face_min_confidence: 0.55 };
  assert.deepEqual(applyRules(weak, rules).reasons, ["low_face_confidence"]);
});

Deno.test("per-face rows hold the contract columns and match the image values", async () => {
  const img = await photo(5);
  const ctx = new ImageContext(img);
  const v = await faces.compute(ctx);
  const all = ctx.details.get("faces")!;
  // Every face found at ≥ 0.15 has a row; the five at ≥ 0.5 are counted.
  assert.deepEqual(all.map((r) => r.face), all.map((_, i) => i + 1));
  for (const r of all) assert.equal(r.counted, (r.confidence as number) >= 0.5 ? 1 : 0);
  const rows = all.filter((r) => r.counted === 1);
  assert.equal(rows.length, 5);
  assert.deepEqual(Object.keys(rows[0]), FACE_COLUMNS.map((c) => c.name));
  // The pure crop measures for every face; the model measures and face_quality from
  // qualityConfidence (default judgeConfidence 0.3) up, empty below.
  for (const r of all) {
    const judged = (r.confidence as number) >= 0.3;
    for (const c of ["crop_sharpness", "crop_contrast"]) assert.equal(typeof r[c], "number", c);
    for (const c of ["blaze_score", "landmark_distance", "face_quality"]) {
      assert.equal(typeof r[c], judged ? "number" : "object", `${c} at ${r.confidence}`);
    }
    if (judged) assert.ok((r.face_quality as number) >= 0 && (r.face_quality as number) <= 1);
  }
  const judged = all.filter((r) => (r.confidence as number) >= 0.3).map((r) => r.face_quality as number);
  assert.equal(v.face_min_quality, Math.min(...judged));
  for (const r of rows) {
    assert.equal(r.detector, "ssd");
    assert.equal(r.area_px, (r.width as number) * (r.height as number));
    assert.equal(r.area_frac, (r.area_px as number) / (img.width * img.height));
    assert.equal(r.log10_area, Math.log10(r.area_px as number));
    // A face box is mostly skin-coloured.
    assert.ok((r.skin_ratio as number) > 0.3, `skin_ratio ${r.skin_ratio}`);
  }
  const areas = rows.map((r) => r.area_px as number), conf = rows.map((r) => r.confidence as number);
  assert.equal(v.face_count, 5);
  assert.equal(v.face_min_log10_area, Math.log10(Math.min(...areas)));
  assert.equal(v.face_max_area_frac, Math.max(...areas) / (img.width * img.height));
  assert.equal(v.face_min_confidence, Math.min(...conf));
  assert.ok(Math.abs((v.face_mean_confidence as number) - conf.reduce((a, b) => a + b) / 5) < 1e-12);
});

Deno.test("the model measures and face_quality are computed from qualityConfidence up; judging every face changes none", async () => {
  // A shipped labeled image whose faces SSD finds at 0.94, 0.16, 0.12 and 0.11.
  const img = await decodeImage(
    join(SHIPPED_LABELS_DIR, "images", "CompVis__latent-diffusion__assets__inpainting.jpg"),
  );
  const ctx = new ImageContext(img);
  const v = await faces.compute(ctx);
  const all = ctx.details.get("faces")!;
  assert.ok(all.some((r) => (r.confidence as number) < 0.3), "a face below 0.3 to test");
  assert.ok(all.some((r) => (r.confidence as number) >= 0.3), "a face at 0.3 or more to test");
  for (const r of all) {
    const judged = (r.confidence as number) >= 0.3;
    for (const c of ["crop_sharpness", "crop_contrast"]) assert.equal(typeof r[c], "number", c);
    for (const c of ["blaze_score", "landmark_distance", "face_quality"]) {
      assert.equal(typeof r[c], judged ? "number" : "object", `${c} at ${r.confidence}`);
    }
  }
  // Judging every face found (as the fit does) gives the same numbers to the faces judged by default
  // (each face's measures do not depend on which other faces are measured with it, batch or not).
  const everyCtx = new ImageContext(img, { settings: { faces: { qualityConfidence: 0.1 } } });
  const every = await faces.compute(everyCtx);
  assert.equal(every.face_min_quality, v.face_min_quality);
  const everyRows = everyCtx.details.get("faces")!;
  assert.equal(everyRows.length, all.length);
  for (const [i, r] of everyRows.entries()) {
    assert.equal(typeof r.face_quality, "number");
    if ((r.confidence as number) < 0.3) continue;
    assert.equal(r.blaze_score, all[i].blaze_score);
    assert.ok(Math.abs((r.face_quality as number) - (all[i].face_quality as number)) < 1e-4, "face_quality");
    const d = Math.abs((r.landmark_distance as number) - (all[i].landmark_distance as number));
    assert.ok(d < 1e-4, `landmark_distance ${r.landmark_distance} vs ${all[i].landmark_distance}`);
  }
});

Deno.test("ssd below its 512 input: priors laid out from the shipped ones, boxes still on the faces", async () => {
  const { ssdPriors } = await import("../lib/models/faces/faceapi.ts");
  const faceapi = await import("@vladmandic/face-api/dist/face-api.node-wasm.js");
  // face-api's own net holds the shipped priors: its TF.js runtime (`ssd_onnx_test.ts` covers onnx).
  await getDetector("ssd", { runtime: "tfjs" });
  const layer = (faceapi.nets.ssdMobilenetv1 as unknown as {
    params: { output_layer: { extra_dim: { arraySync(): number[][][] } } };
  }).params.output_layer;
  const shipped = layer.extra_dim.arraySync()[0];
  // At 512 the layout gives back the priors shipped with the weights (5118 boxes).
  const again = ssdPriors(shipped, 512);
  assert.equal(again.length, 5118);
  let worst = 0;
  for (const [i, b] of again.entries()) {
    for (let k = 0; k < 4; k++) worst = Math.max(worst, Math.abs(b[k] - shipped[i][k]));
  }
  assert.ok(worst < 1e-5, `largest difference ${worst}`);
  // At 384 every clearly visible face of sample1 is still found and boxed like at 512.
  const ssd384 = await getDetector("ssd", { inputSize: 384, runtime: "tfjs" });
  assert.equal(ssd384.inputSize, 384);
  const found = await ssd384.detect(await photo(1), { minConfidence: 0.5 });
  assert.equal(found.length, FACES[0].length);
  for (const [i, f] of found.entries()) {
    assert.ok(iou(f, box(FACES[0][i])) > 0.7, `face ${i + 1}: IoU ${iou(f, box(FACES[0][i]))}`);
  }
  // The 512 detector is unchanged by the 384 one having run (the shipped priors are put back).
  assert.deepEqual(layer.extra_dim.arraySync()[0][0], shipped[0]);
  assert.deepEqual(
    (await (await getDetector("ssd", { runtime: "tfjs" })).detect(await photo(1))).map((f) => [
      f.x,
      f.y,
      f.width,
      f.height,
    ]),
    FACES[0],
  );
  // The faces setting: a multiple of 32, for ssd and tiny.
  const ctx = new ImageContext(await photo(1), { settings: { faces: { inputSize: 400 } } });
  await assert.rejects(async () => await faces.compute(ctx), /multiple of 32/);
});

Deno.test("face crops are saved with a margin as <image stem>_face<k>.jpg", async () => {
  const dir = await Deno.makeTempDir();
  const img = await photo(1);
  const options = { settings: { faces: { cropsDir: dir } }, path: join(DEMO, "sample1.jpg") } as ImageOptions;
  const ctx = new ImageContext(img, options);
  await faces.compute(ctx);
  const rows = ctx.details.get("faces")!;
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(names, ["sample1_face1.jpg", "sample1_face2.jpg", "sample1_face3.jpg"]);
  for (const r of rows) {
    const meta = await sharp(join(dir, `sample1_face${r.face}.jpg`)).metadata();
    // 25% margin on each side: 1.5 × the box, unless clipped by the image edge.
    assert.ok(
      Math.abs(meta.width! - 1.5 * (r.width as number)) <= 2,
      `crop width ${meta.width} for ${r.width}`,
    );
    assert.ok(Math.abs(meta.height! - 1.5 * (r.height as number)) <= 2, `crop height ${meta.height}`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a missing model gives an error naming the folder searched; unknown detectors are refused", async () => {
  const empty = await Deno.makeTempDir();
  for (const name of DETECTOR_NAMES) {
    await assert.rejects(getDetector(name, { modelDir: empty }), (e: Error) => {
      assert.ok(e instanceof FaceModelError, e.name);
      assert.ok(e.message.includes(empty), e.message);
      return true;
    });
  }
  await assert.rejects(getDetector("yolo"), UnknownDetectorError);
  await assert.rejects(
    async () =>
      await faces.compute(new ImageContext(await photo(1), { settings: { faces: { detector: "yolo" } } })),
    /unknown face detector "yolo"; known: ssd, tiny, blazeface/,
  );
  await Deno.remove(empty);
});

Deno.test("each model loads once per process and is reused", async () => {
  for (const name of DETECTOR_NAMES) {
    const [a, b] = await Promise.all([getDetector(name), getDetector(name)]);
    assert.equal(a, b);
    assert.equal(await getDetector(name), a);
  }
});

Deno.test("faces is registered but not run by default (it needs a model)", () => {
  assert.ok(!DEFAULT_HEURISTICS.includes("faces"));
  assert.deepEqual(resolveHeuristics(["faces"]).map((h) => h.name), ["faces"]);
  assert.ok(!resolveHeuristics().some((h) => h.name === "faces"));
});

const score = (args: string[]) => runCli("score", args);

Deno.test("score --faces writes one row per face with the contract columns, and face columns per image", async () => {
  const tmp = await Deno.makeTempDir();
  const dir = join(tmp, "in");
  await Deno.mkdir(dir);
  for (const i of [1, 4]) await Deno.copyFile(join(DEMO, `sample${i}.jpg`), join(dir, `sample${i}.jpg`));
  await Deno.copyFile(`${REFERENCE_DIR}images/gradient.png`, join(dir, "gradient.png"));
  const out = join(tmp, "scores.csv"), facesOut = join(tmp, "faces.csv");
  const r = await score([dir, "--out", out, "--faces", facesOut, "--quiet", "--thresholds", "defaults"]);
  assert.equal(r.code, 0, r.stderr);
  const header = parseCsv(await Deno.readTextFile(facesOut))[0].fields;
  assert.deepEqual(header.slice(0, 11), [
    "path",
    "face",
    "detector",
    "x",
    "y",
    "width",
    "height",
    "confidence",
    "area_px",
    "area_frac",
    "log10_area",
  ]);
  const faceRows = await readResults(facesOut);
  const perImage = (p: string) => faceRows.filter((f) => f.path === join(dir, p));
  assert.equal(perImage("sample1.jpg").length, 3);
  assert.equal(perImage("sample4.jpg").length, 4);
  assert.equal(perImage("gradient.png").length, 0);
  for (const f of perImage("sample1.jpg")) {
    assert.equal(f.detector, "ssd");
    assert.ok(FACES[0].some((b) => iou(f as unknown as Box, box(b)) >= 0.5), JSON.stringify(f));
  }
  const rows = await readResults(out);
  const s1 = rows.find((x) => x.path === join(dir, "sample1.jpg"))!;
  assert.equal(s1.face_count, 3);
  assert.ok((s1.face_min_confidence as number) > 0.9);
  assert.ok((s1.face_min_log10_area as number) > 4);
  assert.equal(s1.reject_reasons, null);
  const g = rows.find((x) => x.path === join(dir, "gradient.png"))!;
  assert.equal(g.face_count, 0);
  assert.equal(g.face_min_log10_area, null);
  // Rules about faces pass when there is none (the gradient may fail other rules, e.g. exposure).
  assert.ok(!/small_face|low_face_confidence/.test(String(g.reject_reasons ?? "")), String(g.reject_reasons));
  // The pure heuristics still ran beside it.
  assert.equal(typeof s1.laplacian_var, "number");
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("score refuses an unknown --detector and a --min-face-confidence outside 0–1", async () => {
  const a = await score([DEMO, "--out", "/nonexistent/x.csv", "--detector", "yolo"]);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /--detector: expected one of ssd, tiny, blazeface, got "yolo"/);
  const b = await score([DEMO, "--out", "/nonexistent/x.csv", "--min-face-confidence", "1.5"]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /--min-face-confidence: expected a number from 0 to 1/);
});
