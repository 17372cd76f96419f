import assert from "node:assert/strict";
import { join } from "node:path";
import { readResults } from "../lib/score/results.ts";
import { decodeImage } from "../lib/core/image.ts";
import { ImageContext } from "../lib/heuristics/types.ts";
import { DEFAULT_USABLE_MODEL } from "../lib/heuristics/usable.ts";
import { resolveHeuristics } from "../lib/heuristics/registry.ts";
import { applyScorer, loadScorer, parseScorer, ScorerFormatError } from "../lib/models/scorer.ts";
import {
  DEFAULT_LABEL_SCORES,
  DEFAULT_THRESHOLDS_OUT,
  USABLE_C,
  USABLE_FEATURES,
  usableRule,
} from "../lib/calibrate/fit_usable.ts";
import { fitRecipe, writeScorer } from "../lib/calibrate/fit_recipes.ts";
import { loadThresholds, saveThresholds } from "../lib/score/rules.ts";
import { runCli } from "./cli.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const [usable] = resolveHeuristics(["usable"]);

Deno.test("the shipped usable scorer: its recorded out-of-fold AUC and default threshold are reproduced from the cached label scores", async () => {
  const shipped = await loadScorer(DEFAULT_USABLE_MODEL);
  assert.deepEqual(shipped.features, USABLE_FEATURES);
  assert.equal(shipped.model.C, USABLE_C);
  const fit = await fitRecipe("usable", { scores: DEFAULT_LABEL_SCORES, repeats: 0 });
  const p = shipped.provenance;
  assert.equal(fit.data.y.length, p.rows);
  assert.equal(fit.scorer.provenance.outOfFold.auc, p.outOfFold.auc);
  fit.scorer.model.coef.forEach((c, j) => assert.ok(Math.abs(c - shipped.model.coef[j]) < 1e-9));
  assert.ok(p.outOfFold.low < p.outOfFold.auc && p.outOfFold.auc < p.outOfFold.high);
  // The default thresholds file holds the rule chosen on these out-of-fold scores.
  const rules = await loadThresholds(join(ROOT, DEFAULT_THRESHOLDS_OUT));
  const rule = rules.find((r) => r.column === "usable_score")!;
  assert.equal(rule.min, usableRule(fit.data.y, fit.outOfFold, "l", "c").min);
  assert.equal(rule.error_type, "unusable");
});

Deno.test("refit on a seeded subset of labels writes a scorer file that the usable heuristic reads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fit = await fitRecipe("usable", {
      scores: DEFAULT_LABEL_SCORES,
      limit: 90,
      repeats: 2,
      resamples: 100,
    });
    assert.equal(fit.data.y.length, 90);
    assert.equal(fit.data.y.filter((v) => v === 0).length, 27); // every unusable image is kept
    const out = join(dir, "my_usable.json");
    await writeScorer(out, fit.scorer);
    const scorer = parseScorer(JSON.parse(await Deno.readTextFile(out)), out);
    assert.equal(scorer.provenance.rows, 90);
    // The heuristic with this file on a real image gives what the scorer gives on the image's row of
    // the cached score table (regression check: the cached table matches live scoring).
    const name = "CompVis__latent-diffusion__assets__txt2img-preview__t0_0.jpg";
    const row = (await readResults(DEFAULT_LABEL_SCORES)).find((r) => String(r.path).endsWith(name))!;
    const ctx = new ImageContext(await decodeImage(join(ROOT, "data/labels/images", name)), {
      settings: { usable: { model: out } },
    });
    const v = await usable.compute(ctx);
    assert.ok(Math.abs((v.usable_score as number) - applyScorer(scorer, row)) < 1e-9);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a broken scorer file or setting is a clear error naming the file and field", async () => {
  assert.throws(
    () =>
      parseScorer({ format: "winnow-scorer/1", name: "u", output: "o", target: "t", features: [] }, "u.json"),
    (e: Error) => e instanceof ScorerFormatError && /u\.json: features/.test(e.message),
  );
  const ctx = new ImageContext({ width: 4, height: 4, data: new Uint8Array(48) }, {
    settings: { usable: { model: "/nonexistent/usable.json" } },
  });
  await assert.rejects(
    () => Promise.resolve(usable.compute(ctx)),
    /\/nonexistent\/usable\.json: cannot read/,
  );
  const bad = new ImageContext({ width: 4, height: 4, data: new Uint8Array(48) }, {
    settings: { usable: { modle: "x" } },
  });
  await assert.rejects(() => Promise.resolve(usable.compute(bad)), /unknown setting "modle"/);
});

Deno.test("deno task fit usable --out-thresholds writes the scorer and updates the thresholds file, keeping other rules", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const t = join(dir, "thresholds.json"), out = join(dir, "u.json");
    await saveThresholds(t, [{ column: "laplacian_var", min: 50, error_type: "blur" }]);
    const args = [
      "usable",
      "--scores",
      DEFAULT_LABEL_SCORES,
      "--limit",
      "80",
      "--repeats",
      "0",
      "--bootstrap",
      "50",
    ];
    const r = await runCli("fit", [...args, "--out", out, "--out-thresholds", t]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /usable: 80 labeled rows .*\n\s+out-of-fold AUC [\d.]+ \[[\d.]+, [\d.]+\]/);
    const rules = await loadThresholds(t);
    assert.deepEqual(rules.map((x) => x.column), ["laplacian_var", "usable_score"]);
    assert.equal((await loadScorer(out)).provenance.rows, 80);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task usable-study --no-embeddings: nested out-of-fold AUC of the shipped columns, + face_min_quality (from a faces table), + every score column, + candidate columns", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A faces table naming every labeled image, face_min_quality empty (no judged face) but for one.
    const rows = await readResults(DEFAULT_LABEL_SCORES);
    const paths = rows.map((r) => join(ROOT, "data/models", String(r.path)));
    const faces = join(dir, "faces.csv"), out = join(dir, "study.json");
    await Deno.writeTextFile(
      faces,
      "path,face_min_quality\n" + paths.map((p, i) => `${p},${i === 0 ? "0.5" : ""}`).join("\n") + "\n",
    );
    // Two candidate columns: one that is the label itself (must be chosen and separate perfectly),
    // one constant.
    const labels = new Map(
      (await Deno.readTextFile(join(ROOT, "data/labels/images.csv"))).trim().split("\n").slice(1)
        .map((l) => l.split(",")).map(([p, u]) => [join(ROOT, "data/labels", p), u === "yes" ? 1 : 0]),
    );
    const cands = join(dir, "cands.csv");
    await Deno.writeTextFile(
      cands,
      "path,oracle_label,flat_one\n" + paths.map((p) => `${p},${labels.get(p)},1`).join("\n") + "\n",
    );
    const r = await runCli("usable_study", [
      "--no-embeddings",
      "--candidates",
      cands,
      "--faces-scores",
      faces,
      "--seeds",
      "2",
      "--bootstrap",
      "50",
      "--out",
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /262 labeled images, 27 unusable/);
    const study = JSON.parse(await Deno.readTextFile(out));
    assert.deepEqual(study.lines.map((l: { candidate: string }) => l.candidate), [
      `shipped ${USABLE_FEATURES.length} columns`,
      "+ face_min_quality",
      "+ every numeric score column (49)",
      "+ oracle_label",
      "+ flat_one",
      "+ every candidate column (2)",
      "all candidates (the inner CV chooses the set too)",
    ]);
    const line = (name: string) => study.lines.find((l: { candidate: string }) => l.candidate === name);
    assert.equal(line("+ oracle_label").auc.auc, 1);
    assert.equal(study.single.oracle_label.auc, 1);
    assert.equal(line("all candidates (the inner CV chooses the set too)").auc.auc, 1);
    for (const l of study.lines) {
      assert.equal(l.seeds.length, 2);
      assert.equal(l.chosen.length, 5);
      assert.ok(l.auc.low <= l.auc.auc && l.auc.auc <= l.auc.high);
    }
    // The shipped columns' nested AUC is in the range README states for the fixed model's spread.
    assert.ok(study.lines[0].auc.auc > 0.6 && study.lines[0].auc.auc < 0.8, String(study.lines[0].auc.auc));
    assert.ok("face_min_quality (1 without a judged face)" in study.single);
    // Headroom per error type: the labels' rejects naming each type, counted here from images.csv.
    const counts = new Map<string, number>();
    for (
      const l of (await Deno.readTextFile(join(ROOT, "data/labels/images.csv"))).trim().split("\n").slice(1)
    ) {
      const [, usable, , errors] = l.split(",");
      if (usable === "no") {
        for (const e of errors.split(";").filter(Boolean)) counts.set(e, (counts.get(e) ?? 0) + 1);
      }
    }
    assert.deepEqual(
      Object.fromEntries(study.headroom.map((h: { error: string; rejects: number }) => [h.error, h.rejects])),
      Object.fromEntries(counts),
    );
    for (const h of study.headroom) {
      assert.equal(h.seeds.length, 2);
      // Catching rejects can only raise the AUC of the same scores.
      h.seeds.forEach((a: number, i: number) => assert.ok(a >= study.lines[0].seeds[i] && a <= 1, h.error));
    }
    assert.match(
      r.stdout,
      /headroom: AUC of "shipped 5 columns" if every reject naming an error type were caught:\n\s+\w+\s+\d+ rejects {2}mean [\d.]+/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the default usable_score on shipped labeled images is the logistic of usable.json computed by hand over the score table's columns", async () => {
  // The shipped file read as plain JSON (not through the scorer code) and its formula written out:
  // p = sigmoid(intercept + Σ coef_j (x_j − mean_j) / scale_j), empty → 0, text_regions as log1p.
  const file = JSON.parse(await Deno.readTextFile(join(ROOT, "data/models/usable.json")));
  const m = file.model;
  assert.deepEqual(
    file.features.map((f: { name: string; transform: string }) => `${f.name}:${f.transform}`),
    [
      "text_prominent_garbled_score:identity",
      "text_regions:log1p",
      "colorfulness:identity",
      "nsfw_neutral:identity",
      "text_lm_implausibility:identity",
    ],
  );
  const table = (await Deno.readTextFile(DEFAULT_LABEL_SCORES)).trim().split("\n").map((l) => l.split(","));
  const col = (row: string[], name: string) => {
    const v = row[table[0].indexOf(name)];
    return v === "" ? 0 : Number(v);
  };
  const names = [
    "AIGText__Glyph-ByT5__inference__assets__teaser__de_1.jpg", // text, garbled, language score
    "FoundationVision__Infinity__assets__2b_8b__3l.jpg", // one text region
    "CompVis__latent-diffusion__assets__txt2img-preview__t1_1.jpg", // no text: empty columns
  ];
  for (const name of names) {
    const row = table.find((r) => r[0].endsWith(`/${name}`))!;
    const x = [
      col(row, "text_prominent_garbled_score"),
      Math.log1p(col(row, "text_regions")),
      col(row, "colorfulness"),
      col(row, "nsfw_neutral"),
      col(row, "text_lm_implausibility"),
    ];
    let z = m.intercept;
    for (let j = 0; j < 5; j++) z += m.coef[j] * (x[j] - m.mean[j]) / m.scale[j];
    const expected = 1 / (1 + Math.exp(-z));
    const ctx = new ImageContext(await decodeImage(join(ROOT, "data/labels/images", name)));
    const v = (await usable.compute(ctx)).usable_score as number;
    assert.ok(Math.abs(v - expected) < 1e-9, `${name}: ${v} vs ${expected} by hand`);
  }
});
