import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "./cli.ts";
import { readResults } from "../lib/score/results.ts";
import { applyScorer, loadScorer, parseScorer } from "../lib/models/scorer.ts";
import { fitScorer } from "../lib/calibrate/fit_scorer.ts";
import { rocAucScore } from "../lib/calibrate/metrics.ts";

const LABELS = fileURLToPath(new URL("../data/labels/", import.meta.url));
// Two shipped images holding both bad (quality ≤ 2) and good labeled faces.
const IMAGES = [
  "images/CompVis__latent-diffusion__assets__fire.jpg",
  "images/PixArt-alpha__PixArt-sigma__asset__imgs__dmd.jpg",
].map((p) => join(LABELS, p));

Deno.test("fitScorer: out-of-fold AUC below the training AUC on noise, the model file parses back", () => {
  // Pure noise: the out-of-fold AUC must hover near 0.5 while the training AUC is flattered.
  let s = 7;
  const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const rows = Array.from({ length: 120 }, () => ({ a: rnd(), b: rnd(), c: rnd() }));
  const y = rows.map(() => (rnd() < 0.3 ? 1 : 0));
  const { scorer, outOfFold } = fitScorer(rows, y, {
    name: "noise",
    output: "noise_score",
    target: "y = 1",
    labels: "none",
    command: "test",
    C: 10,
    repeats: 3,
    resamples: 200,
    features: ["a", "b", "c"].map((name) => ({ name, transform: "identity" as const, missing: 0 })),
  });
  const p = scorer.provenance;
  assert.equal(p.outOfFold.auc, rocAucScore(y, outOfFold));
  assert.ok(p.outOfFold.low < 0.5 && p.outOfFold.high > 0.5, JSON.stringify(p.outOfFold));
  assert.ok((p.trainingAuc as number) > p.outOfFold.auc);
  assert.deepEqual(Object.keys(p.singleSignals as object), ["a", "b", "c"]);
  const back = parseScorer(JSON.parse(JSON.stringify(scorer)), "noise.json");
  assert.equal(applyScorer(back, rows[0]), applyScorer(scorer, rows[0]));
  assert.throws(
    () => parseScorer({ ...scorer, model: { ...scorer.model, coef: [1] } }, "bad.json"),
    /bad\.json: model\.coef: expected 3 finite numbers/,
  );
});

Deno.test("deno task fit face_quality on a subset writes a scorer file that score --scorer applies", async () => {
  const dir = await Deno.makeTempDir({ prefix: "winnow_fit_test_" });
  try {
    // 1. the per-face table of two labeled images, found at a low threshold
    const faces = join(dir, "faces.csv");
    const s1 = await runCli("score", [
      ...IMAGES,
      "--out",
      join(dir, "scores.csv"),
      "--faces",
      faces,
      "--heuristics",
      "faces",
      "--set",
      "faces.qualityModel=none",
      "--set",
      "faces.qualityConfidence=0.1",
      "--jobs",
      "1",
      "--quiet",
    ]);
    assert.equal(s1.code, 0, s1.stderr);
    // 2. refit on it against the shipped face labels
    const model = join(dir, "my_face_quality.json");
    const f = await runCli("fit", [
      "face_quality",
      "--scores",
      faces,
      "--out",
      model,
      "--folds",
      "2",
      "--repeats",
      "0",
      "--bootstrap",
      "100",
    ]);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, /out-of-fold AUC \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]/);
    const scorer = await loadScorer(model);
    assert.equal(scorer.name, "face_quality");
    assert.ok(scorer.provenance.rows >= 4 && scorer.provenance.positives < scorer.provenance.rows);
    assert.match(scorer.provenance.command, /^deno task fit face_quality --scores /);
    // 3. score reads it: every face row's face_quality is the scorer on that row
    const faces2 = join(dir, "faces2.csv"), out2 = join(dir, "scores2.csv");
    const s2 = await runCli("score", [
      IMAGES[0],
      "--out",
      out2,
      "--faces",
      faces2,
      "--scorer",
      model,
      "--jobs",
      "1",
      "--quiet",
    ]);
    assert.equal(s2.code, 0, s2.stderr);
    const rows = await readResults(faces2);
    assert.ok(rows.length >= 1);
    const q = rows.map((r) => Number(r.face_quality));
    rows.forEach((r, i) => {
      // Faces found below qualityConfidence (default 0.3) have no model measures and no face_quality.
      if (r.face_quality === null) return assert.ok(Number(r.confidence) < 0.3, `face ${i + 1}`);
      const values = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === "" ? null : Number(v)]));
      assert.ok(Math.abs(q[i] - applyScorer(scorer, values)) < 1e-9, `face ${i + 1}`);
    });
    const [image] = await readResults(out2);
    // face_min_quality: the lowest among the faces found at ≥ 0.3 (judgeConfidence)
    const judged = q.filter((_, i) => Number(rows[i].confidence) >= 0.3);
    assert.ok(Math.abs(Number(image.face_min_quality) - Math.min(...judged)) < 1e-9);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the shipped face_quality.json (regression check of our own fit): targets met, every single signal beaten", async () => {
  const s = await loadScorer(fileURLToPath(new URL("../data/models/face_quality.json", import.meta.url)));
  const p = s.provenance as Record<string, unknown> & typeof s.provenance;
  assert.equal(s.name, "face_quality");
  assert.deepEqual(s.features.map((f) => f.name), ["crop_sharpness", "blaze_score", "landmark_distance"]);
  const notes = p as unknown as { labeledFaces: number; labeledFacesSeen: number; badFacesSeen: number };
  // The labels it was fitted on are the shipped ones, and the default run saw ≥ 95 % of their faces.
  const labeled = (await Deno.readTextFile(join(LABELS, "faces.csv"))).trimEnd().split("\n").length - 1;
  assert.equal(notes.labeledFaces, labeled);
  assert.ok(
    notes.labeledFacesSeen / notes.labeledFaces >= 0.95,
    `${notes.labeledFacesSeen}/${notes.labeledFaces}`,
  );
  type Auc = { auc: number; low: number; high: number };
  const groups = p.outOfFoldGroups as Record<string, Auc & { singleSignals: Record<string, Auc> }>;
  for (
    const [name, target] of [["bad faces (quality ≤ 2) vs good (≥ 4)", 0.9], [
      "bad faces vs good, faces ≥ 32 px",
      0.8,
    ]] as const
  ) {
    const g = groups[name];
    assert.ok(g.low <= g.auc && g.auc <= g.high);
    assert.ok(g.auc >= target, `${name}: ${g.auc}`);
    for (const [signal, r] of Object.entries(g.singleSignals)) {
      assert.ok(g.auc > r.auc, `${name}: ${signal} ${r.auc}`);
    }
  }
  assert.match(p.command, /^deno task fit face_quality/);
});

Deno.test("the shipped mean face shape: 68 points, centred, unit norm, and a real face's landmarks are close to it", async () => {
  const { loadMeanShape, normalizeShape, procrustesDistance } = await import(
    "../lib/models/faces/landmarks.ts"
  );
  const mean = await loadMeanShape();
  assert.equal(mean.length, 68);
  const norm = Math.sqrt(mean.reduce((s, [x, y]) => s + x * x + y * y, 0));
  assert.ok(Math.abs(norm - 1) < 1e-4 && Math.abs(mean.reduce((s, p) => s + p[0], 0)) < 1e-4);
  // iBUG 68-point layout: the jaw (0–16) runs left to right below the eyes (36–47), the nose tip (30)
  // sits between the eyes and the mouth (48–67).
  const y = (i: number) => mean[i][1];
  assert.ok(mean[0][0] < mean[16][0] && y(8) > y(30) && y(30) > y(39) && y(57) > y(30));
  // A scrambled shape is far from it; the mean itself is at distance 0.
  assert.ok(procrustesDistance(mean, normalizeShape(mean)) < 1e-6);
  const scrambled = mean.map((_, i) => mean[(i * 7) % 68]);
  assert.ok(procrustesDistance(scrambled, mean) > 0.5);
});
