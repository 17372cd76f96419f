/**
 * `deno task heldout` end to end on a small case built from the shipped labels: 25 labeled images
 * (4 unusable), the labeled faces of a few images (bad faces among them), and an exclude labels
 * file that names 3 of the images by COPIES under other names in another folder (so only a
 * content match can find them). The AUCs are recomputed here by hand — the scorer files'
 * coefficients applied to the written score tables, a plain pairwise-count AUC — not with the
 * project's metrics code.
 */
import assert from "node:assert/strict";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "./cli.ts";
import { labelSetFiles } from "../lib/evaluate/heldout.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const LABELS = join(ROOT, "data/labels");

/** A tiny CSV reader for the test (fields here hold no quoted commas but may be quoted). */
function readCsv(text: string): Record<string, string>[] {
  const lines = text.trim().split("\n");
  const split = (l: string) => l.split(",").map((f) => f.replace(/^"|"$/g, ""));
  const head = split(lines[0]);
  return lines.slice(1).map((l) => Object.fromEntries(split(l).map((v, i) => [head[i], v])));
}

/** AUC by counting pairs: P(score of a class-1 row > score of a class-0 row), ties half. */
function pairwiseAuc(y: number[], s: number[]): number {
  let wins = 0, pairs = 0;
  for (let i = 0; i < y.length; i++) {
    for (let j = 0; j < y.length; j++) {
      if (y[i] !== 1 || y[j] !== 0) continue;
      pairs++;
      wins += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

interface ScorerFile {
  name: string;
  features: { name: string; transform: string; missing: number }[];
  model: { mean: number[]; scale: number[]; coef: number[]; intercept: number };
}

/** The logistic of a scorer file, by hand from its JSON (not lib/models/scorer.ts). */
function byHand(s: ScorerFile, row: Record<string, string>): number {
  let z = s.model.intercept;
  s.features.forEach((f, j) => {
    const raw = row[f.name];
    let v = raw === "" || raw === undefined ? f.missing : Number(raw);
    if (f.transform === "log1p") v = Math.log(1 + Math.max(0, v));
    z += s.model.coef[j] * (v - s.model.mean[j]) / s.model.scale[j];
  });
  return 1 / (1 + Math.exp(-z));
}

const images = readCsv(await Deno.readTextFile(join(LABELS, "images.csv")));
const faces = readCsv(await Deno.readTextFile(join(LABELS, "faces.csv")));
const unusable = images.filter((r) => r.usable === "no").slice(0, 4);
const chosen = [...unusable, ...images.filter((r) => r.usable === "yes").slice(0, 21)];
const chosenPaths = new Set(chosen.map((r) => r.path));
// Face images: two chosen images with labeled faces, and two images with bad faces.
const withFaces = [...new Set(faces.filter((f) => chosenPaths.has(f.path)).map((f) => f.path))].slice(0, 2);
const badFaceImages = [...new Set(faces.filter((f) => Number(f.quality) <= 2).map((f) => f.path))].slice(
  0,
  2,
);
const faceImages = new Set([...withFaces, ...badFaceImages]);
const faceRows = faces.filter((f) => faceImages.has(f.path));
// Excluded (by copies under other names): an unusable image, a usable one without labeled faces,
// and a chosen image with labeled faces.
const usableNoFaces = chosen.find((r) => r.usable === "yes" && !faceImages.has(r.path))!;
const excludedPaths = [unusable[0].path, usableNoFaces.path, withFaces[0]];
// A kept image, and a shipped image not in the case whose bytes stand under its name in the exclude set.
const sameName = chosen.find((r) => r.usable === "yes" && !faceImages.has(r.path) && r !== usableNoFaces)!;
const unlabeledHere = images.find((r) => !chosenPaths.has(r.path) && !faceImages.has(r.path))!;

async function buildCase(): Promise<{ dir: string; labels: string; faces: string; exclude: string }> {
  const dir = await Deno.makeTempDir({ prefix: "winnow_heldout_test_" });
  const abs = (p: string) => join(LABELS, p);
  const head = "path,usable,quality,errors\n";
  const labels = join(dir, "set", "images.csv");
  await Deno.mkdir(join(dir, "set"), { recursive: true });
  await Deno.writeTextFile(
    labels,
    head + chosen.map((r) => `${abs(r.path)},${r.usable},${r.quality},${r.errors}\n`).join(""),
  );
  const facesFile = join(dir, "set", "my_faces.csv");
  await Deno.writeTextFile(
    facesFile,
    "path,x,y,width,height,quality\n" +
      faceRows.map((f) => `${abs(f.path)},${f.x},${f.y},${f.width},${f.height},${f.quality}\n`).join(""),
  );
  const other = join(dir, "other");
  await Deno.mkdir(join(other, "pics"), { recursive: true });
  const lines = [head];
  for (const [i, p] of excludedPaths.entries()) {
    await Deno.copyFile(abs(p), join(other, "pics", `copy_${i}.jpg`));
    lines.push(`pics/copy_${i}.jpg,yes,4,\n`);
  }
  // Another image under the FILE NAME of a kept one: different bytes, so nothing is left out for it.
  await Deno.copyFile(abs(unlabeledHere.path), join(other, "pics", basename(sameName.path)));
  lines.push(`pics/${basename(sameName.path)},yes,4,\n`);
  await Deno.writeTextFile(join(other, "images.csv"), lines.join(""));
  return { dir, labels, faces: facesFile, exclude: join(other, "images.csv") };
}

Deno.test("heldout: excluded by content, usable and face AUCs equal the scorer files applied by hand", async () => {
  assert.equal(unusable.length, 4);
  assert.equal(withFaces.length, 2);
  assert.equal(badFaceImages.length, 2);
  const c = await buildCase();
  const out = join(c.dir, "out");
  const args = [
    "--labels",
    c.labels,
    "--faces",
    c.faces,
    "--exclude",
    c.exclude,
    "--out",
    out,
    "--resamples",
    "200",
    "--quiet",
  ];
  const r = await runCli("heldout", args);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(await Deno.readTextFile(join(out, "heldout.json")));
  // Exclusion: the 3 copies match 3 labeled images by content; faces of the one face image go.
  const excludedFaces = faceRows.filter((f) => f.path === withFaces[0]).length;
  assert.equal(json.excluded.labeledImagesExcluded, 3);
  assert.equal(json.excluded.labeledImagesKept, 22);
  assert.equal(json.excluded.faceImagesExcluded, 1);
  assert.equal(json.excluded.facesExcluded, excludedFaces);
  assert.equal(json.excluded.facesKept, faceRows.length - excludedFaces);
  assert.equal(json.excluded.sameNameDifferentBytes, 1);
  assert.match(
    r.stdout,
    /WARNING: 1 kept image has the file name of an excluded image but different bytes/,
  );
  assert.match(
    r.stdout,
    /excluded \(same bytes as an image of .*images\.csv\): 3 labeled images \(22 kept\)/,
  );

  // Usable: the score table the run wrote, the shipped scorer's coefficients applied by hand.
  const scorer: ScorerFile = JSON.parse(await Deno.readTextFile(join(ROOT, "data/models/usable.json")));
  const table = readCsv(await Deno.readTextFile(resolve(json.files.usableScores)));
  const excludedAbs = new Set(excludedPaths.map((p) => join(LABELS, p)));
  const kept = chosen.filter((l) => !excludedAbs.has(join(LABELS, l.path)));
  const byPath = new Map(table.map((t) => [resolve(t.path), t]));
  const y = kept.map((l) => (l.usable === "yes" ? 1 : 0));
  const s = kept.map((l) => byHand(scorer, byPath.get(join(LABELS, l.path))!));
  assert.equal(json.usable.counts.unusable, 3);
  assert.equal(json.usable.counts.usable, 19);
  assert.ok(Math.abs(json.usable.usableVsNot.auc - pairwiseAuc(y, s)) < 1e-12);
  assert.ok(json.usable.usableVsNot.low <= json.usable.usableVsNot.auc);
  assert.match(json.usable.usableVsNot.warning, /only 3 unusable images/);
  // The default rule of data/models/thresholds.json, counted by hand.
  const t = JSON.parse(await Deno.readTextFile(join(ROOT, "data/models/thresholds.json")));
  const min = t.rules.find((x: { column: string }) => x.column === "usable_score").min;
  assert.deepEqual(
    [json.usable.defaultRule.min, json.usable.defaultRule.rejectBelow, json.usable.defaultRule.keepBelow],
    [min, s.filter((v, i) => y[i] === 0 && v < min).length, s.filter((v, i) => y[i] === 1 && v < min).length],
  );
  assert.match(r.stdout, /WARNING: usable: only 3 unusable images: an interval, not a verdict/);

  // Faces: counts consistent with the labels written; every matched row is a kept labeled face.
  const keptFaces = faceRows.filter((f) => f.path !== withFaces[0]);
  const fc = json.faces.counts;
  assert.equal(fc.labeledFaces, keptFaces.length);
  assert.equal(fc.labeledBad, keptFaces.filter((f) => Number(f.quality) <= 2).length);
  assert.equal(fc.labeledGood, keptFaces.filter((f) => Number(f.quality) >= 4).length);
  assert.equal(fc.images, 3);
  assert.equal(fc.labeledFacesFound + fc.labeledFacesMissed, fc.labeledFaces);
  assert.ok(fc.badFound <= fc.labeledBad && fc.badFound > 0);
  const rows = readCsv(await Deno.readTextFile(join(out, "faces.csv")));
  assert.equal(rows.length, fc.labeledFacesFound);
  const key = (f: Record<string, string>) =>
    [basename(f.path), ...[f.x, f.y, f.width, f.height, f.quality].map(Number)].join("|");
  const labelKeys = keptFaces.map(key);
  for (const row of rows) assert.ok(labelKeys.includes(key(row)), `not a kept label: ${key(row)}`);
  assert.equal(rows.filter((x) => Number(x.quality) <= 2).length, fc.badFound);
  // face_quality from the row's feature columns by hand; bad (≤ 2) vs good (≥ 4) by pair counts.
  const fq: ScorerFile = JSON.parse(await Deno.readTextFile(join(ROOT, "data/models/face_quality.json")));
  const judged = rows.filter((x) => Number(x.quality) !== 3);
  for (const x of judged) assert.ok(Math.abs(byHand(fq, x) - Number(x.face_quality)) < 1e-12);
  const fy = judged.map((x) => (Number(x.quality) >= 4 ? 1 : 0));
  assert.ok(Math.abs(json.faces.badVsGood.auc - pairwiseAuc(fy, judged.map((x) => byHand(fq, x)))) < 1e-12);
  assert.match(json.faces.badVsGood.warning, /bad faces/);
  // Single signals are oriented by the scorer file's fit, said so.
  assert.match(json.faces.singleSignals.landmark_distance.orientedBy, /scorer file's fit/);
  assert.equal(json.faces.singleSignals.landmark_distance.direction, "lower");
  // Reports name files relative to the working directory, never absolute inside the project.
  const md = await Deno.readTextFile(join(out, "heldout.md"));
  assert.match(md, /## face_quality: bad faces/);
  assert.doesNotMatch(JSON.stringify(json.files) + JSON.stringify(json.faces.scorer), new RegExp(ROOT));

  // A rerun resumes the score tables: the same numbers.
  const again = await runCli("heldout", args);
  assert.equal(again.code, 0, again.stderr);
  const json2 = JSON.parse(await Deno.readTextFile(join(out, "heldout.json")));
  assert.deepEqual(json2.usable.usableVsNot, json.usable.usableVsNot);
  assert.deepEqual(json2.faces.badVsGood, json.faces.badVsGood);
  await Deno.remove(c.dir, { recursive: true });
});

Deno.test("heldout: a missing file and a scorer of the wrong kind are clear errors", async () => {
  const c = await buildCase();
  const out = join(c.dir, "out");
  const missing = await runCli("heldout", ["--labels", join(c.dir, "nope.csv"), "--out", out]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /error: .*nope\.csv: label file not found/);
  const noExclude = await runCli("heldout", ["--labels", c.labels, "--exclude", join(c.dir, "x.csv")]);
  assert.equal(noExclude.code, 1);
  assert.match(noExclude.stderr, /error: --exclude .*x\.csv: label file not found/);
  const noScorer = await runCli("heldout", ["--labels", c.labels, "--scorer", join(c.dir, "s.json")]);
  assert.equal(noScorer.code, 1);
  assert.match(noScorer.stderr, /s\.json: cannot read the scorer file/);
  // A valid scorer file of another kind.
  const other = join(c.dir, "other_scorer.json");
  const usable = JSON.parse(await Deno.readTextFile(join(ROOT, "data/models/usable.json")));
  await Deno.writeTextFile(other, JSON.stringify({ ...usable, name: "sharpness_model" }));
  const wrong = await runCli("heldout", ["--labels", c.labels, "--scorer", other, "--out", out]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /other_scorer\.json: name: "sharpness_model" is not a scorer heldout judges/);
  // A face_quality scorer that reads an image column is not a per-face scorer.
  const fq = JSON.parse(await Deno.readTextFile(join(ROOT, "data/models/face_quality.json")));
  fq.features[0].name = "laplacian_var";
  await Deno.writeTextFile(other, JSON.stringify(fq));
  const wrongFace = await runCli("heldout", ["--labels", c.labels, "--scorer", other, "--out", out]);
  assert.equal(wrongFace.code, 1);
  assert.match(
    wrongFace.stderr,
    /features\[0\]\.name: "laplacian_var" is not a column of the per-face table/,
  );
  // A labels file with a bad row: file, line and field.
  await Deno.writeTextFile(join(c.dir, "bad.csv"), "path,usable,quality,errors\nx.jpg,maybe,4,\n");
  const bad = await runCli("heldout", ["--labels", join(c.dir, "bad.csv"), "--out", out]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /bad\.csv:2: usable: expected yes or no, got "maybe"/);
  await Deno.remove(c.dir, { recursive: true });
});

Deno.test("heldout: an exclude label file brings the other kind's file beside it; a folder both", async () => {
  const dir = await Deno.makeTempDir({ prefix: "winnow_heldout_set_" });
  await Deno.writeTextFile(join(dir, "images.csv"), "path,usable,quality,errors\n");
  await Deno.writeTextFile(join(dir, "faces.csv"), "path,x,y,width,height,quality\n");
  const both = { images: join(dir, "images.csv"), faces: join(dir, "faces.csv") };
  assert.deepEqual(await labelSetFiles(join(dir, "images.csv")), both);
  assert.deepEqual(await labelSetFiles(join(dir, "faces.csv")), both);
  assert.deepEqual(await labelSetFiles(dir), both);
  await Deno.remove(join(dir, "faces.csv"));
  assert.deepEqual(await labelSetFiles(join(dir, "images.csv")), { images: both.images, faces: undefined });
  await Deno.writeTextFile(join(dir, "notes.csv"), "a,b\n1,2\n");
  await assert.rejects(
    () => labelSetFiles(join(dir, "notes.csv")),
    /notes\.csv:1: header: neither an images\.csv/,
  );
  await Deno.remove(dir, { recursive: true });
});
