/**
 * The bias audit: on a seeded subset of ../shared/data images with faces, the group counts add up to
 * the faces found (judged + too small), with Wilson intervals; the age/gender net read as face-api's
 * own pipeline reads the same faces; the reference and the per-prompt table; the CLI's face table.
 */
import assert from "node:assert/strict";
import { dirname, join, resolve } from "node:path";
import * as faceapi from "@vladmandic/face-api/dist/face-api.node-wasm.js";
import { runCli } from "./cli.ts";
import { parseCsv } from "../lib/core/csv.ts";
import {
  ageGroupOf,
  attributeAudit,
  decodeImage,
  loadAgeGender,
  runAudit,
  wilsonInterval,
} from "../lib/mod.ts";
import { getDetector } from "../lib/models/faces/detector.ts";
import { FACE_API_SAMPLES } from "../lib/core/samples.ts";

const DATA = resolve("../shared/data");

/** Images of the shared data set that have hand-labeled faces (from labels/faces.csv). */
async function imagesWithFaces(): Promise<string[]> {
  const file = join(DATA, "labels", "faces.csv");
  const rows = parseCsv(await Deno.readTextFile(file), file).slice(1);
  return [...new Set(rows.map((r) => resolve(dirname(file), r.fields[0])))].sort();
}

Deno.test("audit on a seeded subset of ../shared/data: counts sum to the faces found, with Wilson intervals", async () => {
  const inputs = await imagesWithFaces();
  const r = await runAudit({ inputs, limit: 6, seed: 3, prompts: join(DATA, "sources.csv") });
  assert.equal(r.images, 6);
  assert.ok(r.faces_found > 0, "the subset has faces");
  assert.equal(r.faces.length, r.faces_found);
  assert.equal(r.faces_judged + r.faces_too_small, r.faces_found);
  for (const a of [r.gender, r.age]) {
    assert.equal(a.groups.reduce((s, g) => s + g.count, 0), r.faces_judged);
    assert.equal(a.faces, r.faces_judged);
    for (const g of a.groups) {
      assert.deepEqual(g.ci95, wilsonInterval(g.count, r.faces_judged));
      assert.ok(g.ci95[0] <= g.share && g.share <= g.ci95[1]);
    }
    assert.ok(Math.abs(a.groups.reduce((s, g) => s + g.reference, 0) - 1) < 1e-12);
  }
  // every judged face is in exactly the groups its reading says
  for (const f of r.faces) {
    if (f.gender === undefined) assert.ok(Math.min(f.width, f.height) < 32);
    else assert.equal(f.age_group, ageGroupOf(f.age!));
  }
  // per prompt: faces of images with a prompt in sources.csv, each counted once
  const withPrompt = r.faces.filter((f) => f.gender !== undefined && f.prompt !== undefined).length;
  assert.equal(r.prompts.reduce((s, p) => s + p.faces, 0), withPrompt);
  console.log(
    `audit subset: ${r.images} images, ${r.faces_found} faces found, ${r.faces_judged} judged; gender ` +
      r.gender.groups.map((g) => `${g.group} ${g.count}`).join(", "),
  );
});

Deno.test("age/gender reading agrees with face-api's own detectAllFaces().withAgeAndGender() on its demo photos", async () => {
  await getDetector("ssd", { runtime: "tfjs" }); // loads face-api's SSD weights into its nets
  const net = await loadAgeGender();
  const tf = faceapi.tf as unknown as {
    tensor3d(d: Int32Array, s: number[], t: string): { dispose(): void };
  };
  let compared = 0;
  for (const f of ["sample1.jpg", "sample2.jpg"]) {
    const img = await decodeImage(join(FACE_API_SAMPLES, f));
    const input = tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, 3], "int32");
    const theirs = await faceapi.detectAllFaces(
      input as never,
      new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 }),
    )
      .withAgeAndGender();
    input.dispose();
    for (const t of theirs) {
      const b = t.detection.box;
      const ours = await net.estimate(img, { x: b.x, y: b.y, width: b.width, height: b.height });
      assert.equal(ours.gender, t.gender, `${f}: gender`);
      // ours resizes the crop with anti-aliasing (libvips) where face-api uses TF.js bilinear: a few years apart
      assert.ok(Math.abs(ours.age - t.age) < 5, `${f}: age ${ours.age} vs face-api ${t.age}`);
      assert.ok(Math.abs(ours.genderProbability - t.genderProbability) < 0.2);
      compared++;
    }
  }
  assert.ok(compared >= 4);
});

Deno.test("attributeAudit: a reference distribution as shares or counts; unknown groups are an error", () => {
  const values = ["0–17", "18–29", "18–29", "60+"];
  const groups = ["0–17", "18–29", "30–44", "45–59", "60+"];
  const a = attributeAudit("age", values, groups, {
    "0–17": 2,
    "18–29": 2,
    "30–44": 2,
    "45–59": 2,
    "60+": 2,
  });
  const u = attributeAudit("age", values, groups);
  assert.equal(a.chi_square.statistic, u.chi_square.statistic);
  assert.equal(a.chi_square.df, 4);
  assert.ok(a.chi_square.min_expected < 5);
  assert.throws(
    () => attributeAudit("gender", ["female"], ["female", "male"], { female: 1, other: 1 }),
    /unknown group/,
  );
  assert.equal(ageGroupOf(17.9), "0–17");
  assert.equal(ageGroupOf(18), "18–29");
  assert.equal(ageGroupOf(75), "60+");
});

Deno.test("deno task audit: one face table row per face found, counts in --json match", async () => {
  const dir = await Deno.makeTempDir({ prefix: "winnow-audit-" });
  try {
    const facesOut = join(dir, "faces.csv");
    const r = await runCli("audit", [
      join(FACE_API_SAMPLES, "sample2.jpg"),
      "--json",
      "--faces-out",
      facesOut,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const rows = parseCsv(await Deno.readTextFile(facesOut)).slice(1);
    assert.equal(rows.length, j.faces_found);
    assert.equal(j.gender.groups.reduce((s: number, g: { count: number }) => s + g.count, 0), j.faces_judged);
    assert.ok(j.caveats.length >= 3);
    const bad = await runCli("audit", []);
    assert.equal(bad.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
