/**
 * `deno task demo` — winnow on real generations: a seeded subset of the shipped hand-labeled images
 * scored with the face and usability scores, a confusion table against the labels and an HTML report
 * with the contact sheet of the mistakes (lib/report/demo.ts). `--samples` runs the older demo on the
 * six face-api photos and their blurred/dark/… variants.
 *
 * @module
 */
import { join } from "node:path";
import { buildSampleSet } from "../core/samples.ts";
import { runScoreJob } from "../score/job.ts";
import { resolveHeuristics } from "../heuristics/registry.ts";
import { defaultRules } from "../score/rules.ts";
import { confusionText, runRealDemo } from "../report/demo.ts";
import { intOption, parseCommand, runMain, seedOption } from "./args.ts";

const HELP = `winnow demo — filter real generations and compare with what people decided.

Usage: deno task demo [--out-dir DIR] [--images N] [--rejected K] [--seed S] [--jobs N]
       deno task demo --samples [--out-dir DIR]

Takes a seeded subset of the hand-labeled generations shipped in data/labels/ (N images, K of
them rejected by people; default 40 and 12), refits the usability model without them (from the
cached score table data/models/labels_scores.csv, so it judges images it has not seen), scores them
with the faces and usable heuristics and the default thresholds (--thresholds defaults: the
heuristics' declared rules plus the calibrated usable_score rule), and prints a confusion table
against the labels: how many rejected images it caught and how many good ones it lost. Writes
DIR/scores.csv, DIR/usable_heldout.json and DIR/report.html (confusion, each rule alone, the
contact sheet of the mistakes, every image). About a minute on 2 cores; nothing is downloaded.

--samples: the older demo — the six photos shipped in @vladmandic/face-api plus blurred, dark,
washed-out, near-duplicate, grayscale and truncated variants, scored with the pure heuristics.

Default DIR: out/demo.
`;

async function samplesDemo(dir: string) {
  const samples = await buildSampleSet(join(dir, "images"));
  console.log(`Sample set: ${samples.length} images in ${join(dir, "images")}`);
  const out = join(dir, "scores.csv");
  const r = await runScoreJob([join(dir, "images")], out, {
    rules: defaultRules(resolveHeuristics()),
    restart: true,
  });
  console.log(r.summary);
  console.log("\nper image (expected → verdict):");
  for (const s of samples) {
    const row = r.rows.find((x) => x.path === s.file);
    const verdict = row?.kept ? "kept" : `rejected: ${row?.reject_reasons}`;
    console.log(`  ${s.file.split("/").pop()!.padEnd(26)} ${(s.expected || "good").padEnd(13)} → ${verdict}`);
  }
  if (r.duplicateGroups.length) {
    console.log("\nnear-duplicate groups (first = representative):");
    for (const g of r.duplicateGroups) {
      console.log(
        `  ${
          g.map((e) => `${e.path.split("/").pop()}${e.distance ? ` (${e.distance} bits)` : ""}`).join(", ")
        }`,
      );
    }
  }
  console.log(`\nResults: ${out} (${r.rows.length} rows, ${r.seconds.toFixed(1)} s)`);
}

await runMain(async () => {
  const { values: o } = parseCommand({
    "out-dir": { type: "string" },
    images: { type: "string" },
    rejected: { type: "string" },
    seed: { type: "string" },
    jobs: { type: "string" },
    samples: { type: "boolean" },
    quiet: { type: "boolean" },
  }, { positionals: false });
  if (o.help) return void console.log(HELP);
  const dir = o["out-dir"] ?? "out/demo";
  if (o.samples) return void await samplesDemo(dir);
  const images = intOption("images", o.images) ?? 40;
  const seed = seedOption(o.seed, 0);
  console.log(
    `winnow demo: ${images} hand-labeled generations from data/labels/ (seed ${seed}), ` +
      "scored with the faces and usable heuristics…",
  );
  const demo = await runRealDemo({
    outDir: dir,
    images,
    rejected: intOption("rejected", o.rejected),
    seed,
    jobs: intOption("jobs", o.jobs),
    quiet: o.quiet,
  });
  const h = demo.heldOut;
  console.log(
    `\nusable model refitted without these images on ${h.rows} others (${h.unusable} unusable): ` +
      `out-of-fold AUC ${h.auc.toFixed(3)} (95 % interval ${h.low.toFixed(3)}–${
        h.high.toFixed(3)
      }) → ${h.model}`,
  );
  console.log("rules (--thresholds defaults):");
  for (const r of demo.rules) {
    const b = demo.byReason[r.error_type];
    console.log(
      `  ${`${r.column} ${r.min !== undefined ? `≥ ${r.min}` : `≤ ${r.max}`}`.padEnd(36)} ${
        r.error_type.padEnd(20)
      } alone: caught ${b.caught}, lost ${b.lost}`,
    );
  }
  console.log("\nConfusion against the labels:");
  console.log(confusionText(demo.confusion));
  console.log(`\nReport: ${demo.report} (contact sheet of the mistakes); scores: ${demo.scores}`);
  console.log(`${demo.images.length} images in ${demo.seconds.toFixed(0)} s`);
});
