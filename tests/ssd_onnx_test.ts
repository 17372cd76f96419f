/**
 * face-api's SSD and Human's BlazeFace on onnxruntime (`lib/models/faces/ssd_onnx.ts`,
 * `blazeface_onnx.ts`) against face-api and Human themselves on TF.js (independent
 * implementations of the same networks, decoding and NMS): same faces, boxes and scores on real
 * labeled photos; and clear errors for missing or damaged weight files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as faceapi from "@vladmandic/face-api/dist/face-api.node-wasm.js";
import { decodeImage, type RgbImage } from "../lib/core/image.ts";
import { parseCsv } from "../lib/core/csv.ts";
import { SHIPPED_LABELS_DIR } from "../lib/labels/format.ts";
import { DEFAULT_MODEL_DIRS, getDetector, UnknownDetectorError } from "../lib/models/faces/detector.ts";
import { FACEAPI_MODEL_FILES } from "../lib/models/faces/faceapi.ts";
import { loadSsdOnnx } from "../lib/models/faces/ssd_onnx.ts";
import { loadBlazeFaceOnnx } from "../lib/models/faces/blazeface_onnx.ts";
import { blazeCrop } from "../lib/heuristics/face_features.ts";
import { ModelFileError, scaledForDetection } from "../lib/models/tfjs.ts";
import { facesSettings } from "../lib/heuristics/faces.ts";

const MODEL_DIR = DEFAULT_MODEL_DIRS.ssd;

/** The 4 shipped labeled images with the most labeled faces (ties by path): real generated photos. */
async function labeledPhotos(k = 4): Promise<string[]> {
  const [head, ...rows] = parseCsv(await Deno.readTextFile(join(SHIPPED_LABELS_DIR, "faces.csv")));
  const col = head.fields.indexOf("path");
  const count = new Map<string, number>();
  for (const { fields } of rows) count.set(fields[col], (count.get(fields[col]) ?? 0) + 1);
  return [...count.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, k)
    .map(([p]) => join(SHIPPED_LABELS_DIR, p));
}

async function tfjsLocate(s: RgbImage, minConfidence: number) {
  await getDetector("ssd", { runtime: "tfjs" }); // TF.js' wasm backend and face-api's SSD weights
  const x = faceapi.tf.tensor3d(Int32Array.from(s.data), [s.height, s.width, 3], "int32");
  try {
    return await faceapi.detectAllFaces(
      x,
      new faceapi.SsdMobilenetv1Options({ minConfidence, maxResults: 100 }),
    );
  } finally {
    x.dispose();
  }
}

Deno.test("onnx SSD finds face-api's faces on labeled photos: boxes within 0.01 px, scores within 1e-5", async () => {
  const onnx = await loadSsdOnnx(MODEL_DIR, { threads: 1 });
  let faces = 0;
  for (const file of await labeledPhotos()) {
    const s = await scaledForDetection(await decodeImage(file), 512);
    const want = await tfjsLocate(s, 0.1);
    const got = await onnx.locate(s, 0.1);
    assert.equal(got.length, want.length, `${file}: ${got.length} faces, face-api finds ${want.length}`);
    for (const [i, w] of want.entries()) {
      const g = got[i];
      assert.ok(Math.abs(g.score - w.score) < 1e-5, `${file} face ${i}: score ${g.score} vs ${w.score}`);
      for (const k of ["x", "y", "width", "height"] as const) {
        assert.ok(Math.abs(g.box[k] - w.box[k]) < 0.01, `${file} face ${i} ${k}: ${g.box[k]} vs ${w.box[k]}`);
      }
    }
    faces += want.length;
  }
  assert.ok(faces >= 8, `only ${faces} faces found on the chosen photos`);
});

Deno.test("onnx and tfjs runtimes give the same faces through getDetector, at 384, 512 and on a small image", async () => {
  const files = await labeledPhotos(2);
  for (const inputSize of [384, 512]) {
    const a = await getDetector("ssd", { inputSize, runtime: "onnx" });
    const b = await getDetector("ssd", { inputSize, runtime: "tfjs" });
    assert.notEqual(a, b);
    for (const file of files) {
      const full = await decodeImage(file);
      // A copy smaller than the network input: face-api pads it and enlarges it bilinearly.
      const small = await scaledForDetection(full, 300);
      for (const img of [full, { width: small.width, height: small.height, data: small.data }]) {
        const got = await a.detect(img, { minConfidence: 0.1 }),
          want = await b.detect(img, { minConfidence: 0.1 });
        assert.equal(got.length, want.length, `${file} ${img.width}×${img.height} at ${inputSize}`);
        for (const [i, w] of want.entries()) {
          const g = got[i];
          assert.ok(
            Math.abs(g.confidence - w.confidence) < 1e-5,
            `confidence ${g.confidence} vs ${w.confidence}`,
          );
          // Edges are rounded to whole pixels: a float difference can move one by a pixel at most.
          for (const k of ["x", "y", "width", "height"] as const) {
            assert.ok(Math.abs(g[k] - w[k]) <= 1, `${k}`);
          }
        }
      }
    }
  }
});

Deno.test("a missing, truncated or malformed SSD weight file is a ModelFileError naming the file", async () => {
  const [manifest, bin] = FACEAPI_MODEL_FILES.ssd;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(join(MODEL_DIR, manifest), join(dir, manifest));
    const check = (needle: string) => (e: Error) => {
      assert.ok(e instanceof ModelFileError, `${e.name}: ${e.message}`);
      assert.ok(e.message.includes(needle), e.message);
      return true;
    };
    // Missing .bin: the message names it and the folder.
    await assert.rejects(loadSsdOnnx(dir), check(bin));
    await assert.rejects(getDetector("ssd", { modelDir: dir }), check(dir));
    // Truncated .bin (half of it).
    const bytes = await Deno.readFile(join(MODEL_DIR, bin));
    await Deno.writeFile(join(dir, bin), bytes.subarray(0, bytes.length >> 1));
    await assert.rejects(loadSsdOnnx(dir), check(join(dir, bin)));
    await assert.rejects(loadSsdOnnx(dir), /truncated/);
    // A .bin with extra bytes: not the file the manifest describes.
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    await Deno.writeFile(join(dir, bin), longer);
    await assert.rejects(loadSsdOnnx(dir), check(join(dir, bin)));
    // A manifest that is not JSON, and one without the prior boxes.
    await Deno.writeFile(join(dir, bin), bytes);
    await Deno.writeTextFile(join(dir, manifest), "{ not json");
    await assert.rejects(loadSsdOnnx(dir), check(join(dir, manifest)));
    const groups = JSON.parse(await Deno.readTextFile(join(MODEL_DIR, manifest)));
    const renamed = groups.map((g: { weights: { name: string }[] }) => ({
      ...g,
      weights: g.weights.map((w) => ({
        ...w,
        name: w.name.replace("MobilenetV1/Conv2d_5_pointwise/weights", "x"),
      })),
    }));
    await Deno.writeTextFile(join(dir, manifest), JSON.stringify(renamed));
    await assert.rejects(loadSsdOnnx(dir), check("MobilenetV1/Conv2d_5_pointwise/weights is missing"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("faces.runtime: onnx by default, tfjs on request, anything else refused", async () => {
  assert.equal(facesSettings().runtime, "onnx");
  assert.equal(facesSettings({ runtime: "tfjs" }).runtime, "tfjs");
  assert.throws(() => facesSettings({ runtime: "cuda" }), /unknown face runtime "cuda"; known: onnx, tfjs/);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(getDetector("ssd", { runtime: "cuda" as any }), UnknownDetectorError);
});

Deno.test("onnx BlazeFace gives Human's faces on labeled photos and on 2× face crops: same boxes and scores", async () => {
  const onnx = await getDetector("blazeface", { runtime: "onnx" });
  const human = await getDetector("blazeface", { runtime: "tfjs" });
  assert.notEqual(onnx, human);
  let faces = 0, crops = 0;
  for (const file of await labeledPhotos(3)) {
    const img = await decodeImage(file);
    const images: RgbImage[] = [img];
    // The 2× crops the faces heuristic re-runs BlazeFace on (blazeCropScore), at 256×256.
    for (const f of await (await getDetector("ssd")).detect(img, { minConfidence: 0.3 })) {
      images.push(await blazeCrop(img, f));
      crops++;
    }
    for (const [k, im] of images.entries()) {
      const got = await onnx.detect(im, { minConfidence: 0.05 }),
        want = await human.detect(im, { minConfidence: 0.05 });
      assert.equal(
        got.length,
        want.length,
        `${file} image ${k}: ${got.length} faces, Human finds ${want.length}`,
      );
      for (const [i, w] of want.entries()) {
        const g = got[i];
        // Human rounds scores to 0.01; boxes are whole pixels.
        assert.ok(
          Math.abs(g.confidence - w.confidence) <= 0.01 + 1e-9,
          `confidence ${g.confidence} vs ${w.confidence}`,
        );
        for (const key of ["x", "y", "width", "height"] as const) {
          assert.ok(Math.abs(g[key] - w[key]) <= 1, key);
        }
        for (const [j, p] of (w.landmarks ?? []).entries()) {
          assert.ok(Math.hypot(p[0] - g.landmarks![j][0], p[1] - g.landmarks![j][1]) < 0.01, `landmark ${j}`);
        }
        faces++;
      }
    }
  }
  assert.ok(crops >= 4 && faces >= 8, `${crops} crops, ${faces} faces compared`);
});

Deno.test("a truncated or unsupported BlazeFace model is a ModelFileError naming the file", async () => {
  const [json, bin] = ["blazeface.json", "blazeface.bin"];
  const src = DEFAULT_MODEL_DIRS.blazeface;
  const dir = await Deno.makeTempDir();
  try {
    const bytes = await Deno.readFile(join(src, bin));
    await Deno.copyFile(join(src, json), join(dir, json));
    await Deno.writeFile(join(dir, bin), bytes.subarray(0, 1000));
    await assert.rejects(loadBlazeFaceOnnx(dir), (e: Error) => {
      assert.ok(e instanceof ModelFileError && e.message.includes(join(dir, bin)), e.message);
      return true;
    });
    // An op the conversion does not know.
    await Deno.writeFile(join(dir, bin), bytes);
    const model = JSON.parse(await Deno.readTextFile(join(src, json)));
    model.modelTopology.node.find((n: { op: string }) => n.op === "MaxPool").op = "AvgPool";
    await Deno.writeTextFile(join(dir, json), JSON.stringify(model));
    await assert.rejects(loadBlazeFaceOnnx(dir), (e: Error) => {
      assert.ok(e instanceof ModelFileError && e.message.includes(join(dir, json)), e.message);
      assert.match(e.message, /op AvgPool is not supported/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
