import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readResults } from "../lib/score/results.ts";
import { applyRules, loadThresholds } from "../lib/score/rules.ts";
import type { Value } from "../lib/heuristics/types.ts";
import { runCli } from "./cli.ts";
import { hasChromium, withChromium } from "./browser.ts";

const SHIPPED = fileURLToPath(new URL("../data/labels/", import.meta.url));

interface Column {
  column: string;
  auc: number;
  auc_ci: [number, number];
  threshold: number;
  threshold_kind: "min" | "max";
  in_sample: { precision: number; recall: number };
  out_of_fold: { precision: number; recall: number; kept_fraction: number; per_fold: unknown[] };
}

// The synthetic run is the slow part (detecting faces in 72 images): run it once for every test here.
let synthetic: Promise<{ dir: string; stdout: string }> | undefined;
function syntheticRun() {
  synthetic ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "winnow-synthetic-" });
    const r = await runCli("calibrate", ["--synthetic", dir, "--json", "--bootstrap", "300"]);
    assert.equal(r.code, 0, r.stderr);
    return { dir, stdout: r.stdout };
  })();
  return synthetic;
}

Deno.test("calibrate --synthetic --json prints one object with AUC, AP, threshold and their intervals", async () => {
  const { stdout } = await syntheticRun();
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 1, `expected one JSON line, got:\n${stdout.slice(0, 500)}`);
  const r = JSON.parse(lines[0]);
  for (const k of ["auc", "average_precision", "threshold"]) assert.equal(typeof r[k], "number", k);
  assert.equal(r.bootstrap.resamples, 300);
  assert.equal(r.labels.read, 72);
  const cols = r.heuristics as Column[];
  assert.deepEqual(cols.map((c) => c.column), [
    "laplacian_var",
    "tenengrad",
    "saliency_sharpness",
    "colorfulness",
    "face_min_log10_area",
    "face_min_confidence",
    "face_mean_confidence",
  ]);
  for (const c of cols) {
    assert.ok(c.auc_ci[0] <= c.auc && c.auc <= c.auc_ci[1], `${c.column}: AUC ${c.auc} not in ${c.auc_ci}`);
    assert.equal(c.out_of_fold.per_fold.length, 5);
    assert.equal(typeof c.out_of_fold.recall, "number");
    assert.equal(typeof c.in_sample.recall, "number");
  }
  // Labels by construction: the face columns must separate usable images better than chance.
  const face = cols.find((c) => c.column === "face_mean_confidence")!;
  assert.ok(face.auc_ci[0] > 0.5, `face_mean_confidence AUC interval ${face.auc_ci}`);
  assert.equal(typeof r.combined.out_of_fold_auc, "number");
  assert.ok(r.faces.matched > 0 && typeof r.faces.auc_log10_area === "number");
});

Deno.test("--out-thresholds then score --thresholds marks kept and reject_reasons as the rules say", async () => {
  const { dir } = await syntheticRun();
  const rules = await loadThresholds(join(dir, "thresholds.json"));
  assert.equal(rules.length, 7);
  const out = join(dir, "checked.csv");
  const r = await runCli("score", [
    join(dir, "images"),
    "--out",
    out,
    "--thresholds",
    join(dir, "thresholds.json"),
    "--quiet",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const rows = await readResults(out);
  assert.equal(rows.length, 72);
  let kept = 0;
  for (const row of rows) {
    assert.equal(typeof row.kept, "boolean");
    // Scored without --faces: the face rules have no value and neither pass nor fail.
    const want = applyRules({ ...row, kept: null, reject_reasons: null } as Record<string, Value>, rules);
    assert.equal(row.kept, want.kept, String(row.path));
    assert.equal(row.reject_reasons ?? "", want.reasons.join(";"), String(row.path));
    if (row.kept) kept++;
  }
  assert.ok(kept > 0 && kept < 72, `kept ${kept} of 72`);
  const heavy = rows.filter((row) => String(row.path).endsWith("_heavily_blurred.jpg"));
  assert.equal(heavy.length, 6);
  for (const row of heavy) assert.match(String(row.reject_reasons), /(^|;)blur(;|$)/, String(row.path));
});

Deno.test("the HTML report exists and embeds every plot", async () => {
  const { dir } = await syntheticRun();
  const html = await Deno.readTextFile(join(dir, "report.html"));
  const alts = [...html.matchAll(/<img [^>]*alt="([^"]*)"/g)].map((m) => m[1]);
  const srcs = [...html.matchAll(/<img [^>]*src="data:image\/png;base64,[A-Za-z0-9+/=]{200,}"/g)];
  const want = [
    "ROC curves",
    "Precision–recall curves",
    "Threshold sweep: laplacian_var",
    "Threshold sweep: face_mean_confidence",
    "Error types",
    "Face size by human face quality",
    "Detector confidence by human face quality",
    "Contact sheet",
  ];
  for (const w of want) {
    assert.ok(alts.some((a) => a.includes(w)), `no figure "${w}" among ${alts.join(" | ")}`);
  }
  assert.equal(alts.length, 2 + 7 + 1 + 2 + 1);
  assert.equal(srcs.length, alts.length);
  assert.doesNotMatch(html, /<script/);
});

Deno.test("the shipped real labeled set: score its images, calibrate laplacian_var on the default labels", async () => {
  const tmp = await Deno.makeTempDir();
  const scores = join(tmp, "real.csv");
  const s = await runCli("score", [
    join(SHIPPED, "images"),
    "--out",
    scores,
    "--heuristics",
    "sharpness",
    "--quiet",
  ]);
  assert.equal(s.code, 0, s.stderr);
  // no --labels: calibrate defaults to data/labels/images.csv
  const r = await runCli("calibrate", [
    "--scores",
    scores,
    "--heuristic",
    "laplacian_var",
    "--json",
    "--bootstrap",
    "500",
    "--out-thresholds",
    join(tmp, "t.json"),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  const rows = (await Deno.readTextFile(join(SHIPPED, "images.csv"))).trimEnd().split("\n").slice(1);
  assert.equal(j.labels.read, rows.length);
  assert.equal(j.join.labeled_and_scored, j.labels.kept);
  assert.equal(j.join.not_usable, rows.filter((l) => l.split(",")[1] === "no").length);
  assert.ok(j.auc_ci[0] <= j.auc && j.auc <= j.auc_ci[1]);
  assert.ok(j.auc > 0 && j.auc < 1);
  assert.equal((await loadThresholds(join(tmp, "t.json")))[0].column, "laplacian_var");
  // The thresholds file names the shipped labels relative to the project, never by this machine's path.
  const provenance = JSON.parse(await Deno.readTextFile(join(tmp, "t.json"))).calibration;
  assert.equal(provenance.labels, "data/labels/images.csv");
  console.log(
    `real set laplacian_var: AUC ${j.auc.toFixed(3)} [${j.auc_ci.map((x: number) => x.toFixed(3))}]`,
  );
});

Deno.test("calibrate --help shows examples; a missing --scores is a usage error", async () => {
  const h = await runCli("calibrate", ["--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /Examples:\n {2}deno task calibrate --synthetic/);
  const e = await runCli("calibrate", ["--labels", "x.csv", "--heuristic", "laplacian_var"]);
  assert.equal(e.code, 2);
  assert.match(e.stderr, /--scores FILE is required/);
});

Deno.test({
  name: "the HTML report opens in headless Chromium with every plot drawn",
  ignore: !hasChromium,
  async fn() {
    const { dir } = await syntheticRun();
    const html = await Deno.readTextFile(join(dir, "report.html"));
    const want = [...html.matchAll(/<img /g)].length;
    const seen = await withChromium(async (ctx) => {
      const page = await ctx.newPage();
      const blocked: string[] = [];
      page.on(
        "request",
        (r) => !r.url().startsWith("file:") && !r.url().startsWith("data:") && blocked.push(r.url()),
      );
      await page.goto(`file://${join(dir, "report.html")}`);
      const images = await page.$$eval(
        "img",
        (els) =>
          (els as unknown as { complete: boolean; naturalWidth: number; clientWidth: number }[]).map((e) => ({
            ok: e.complete && e.naturalWidth > 0,
            w: e.clientWidth,
          })),
      );
      if (Deno.env.get("WINNOW_SCREENSHOTS")) {
        await page.screenshot({ path: "/tmp/calibration_report.png", fullPage: true });
      }
      return { images, blocked };
    });
    assert.equal(seen.images.length, want);
    assert.ok(want >= 8, `only ${want} images`);
    for (const [i, im] of seen.images.entries()) {
      assert.ok(im.ok && im.w > 100, `image ${i} not drawn: ${JSON.stringify(im)}`);
    }
    assert.deepEqual(seen.blocked, [], "the report loads nothing from outside");
  },
});
