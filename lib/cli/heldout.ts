/**
 * `deno task heldout --labels DIR_OR_images.csv [--faces faces.csv] [--exclude FILE …] [--scorer FILE …]
 * [--out DIR]` — the learned scorers judged on hand labels they were not fitted on; thin entry
 * point, the work is in lib/evaluate/heldout.ts.
 *
 * @module
 */
import { aucText, heldout, type HeldoutSignal, ruleText } from "../evaluate/heldout.ts";
import { intOption, parseCommand, runMain, seedOption, UsageError } from "./args.ts";

const HELP = `winnow heldout — judge the learned scorers on labels they were NOT fitted on.

Usage:
  deno task heldout --labels DIR_OR_images.csv [--faces faces.csv] [--exclude LABELS ...]
                    [--scorer FILE ...] [--out DIR] [options]

Applies the scorer files as they are (never refitted): face_quality (per face: bad faces, quality
≤ 2, against good, ≥ 4, on all matched faces and on faces ≥ 32 px) and usable (usable_score: usable
against unusable images), each AUC with a 95 % stratified bootstrap interval, single signals beside
them (oriented as the scorer's own fit oriented them, not by these labels), and the counts. The
labeled faces' images are scored as the face_quality fit does (faces found at the detector's
default threshold, every face measured; labeled boxes matched at IoU ≥ 0.5); the labeled images
with the heuristics the usable scorer's columns come from.

Options:
  --labels PATH      a labels folder (its images.csv, and faces.csv when there) or an images.csv
  --faces FILE       a faces.csv (default: the labels folder's)
  --exclude LABELS   leave out labeled images whose bytes equal an image of LABELS (repeatable):
                     a labels folder, or a label file — then the other kind's file beside it too
                     (images.csv <-> faces.csv), since the scorers were fitted on both; matched by
                     SHA-256 of the file, so different relative paths or names do not matter
  --scorer FILE      a scorer file replacing the shipped one of its name (face_quality, usable),
                     e.g. your refit from deno task fit (repeatable; default data/models/*.json)
  --out DIR          filtered labels, score tables (a rerun resumes them), faces.csv and
                     images.csv (per-row scores), heldout.json, heldout.md (default out/heldout)
  --jobs N           score workers (default 2)
  --resamples N      bootstrap resamples (default 1000)
  --seed S           bootstrap seed (default 0)
  --quiet            no progress line
  -h, --help         this text

Example (the set of ../shared/data kept apart from data/labels/):
  deno task heldout --labels ../shared/data/labels/images.csv --faces ../shared/data/labels/faces.csv \\
    --exclude data/labels/images.csv --out out/heldout
`;

await runMain(async () => {
  const { values: o, positionals } = parseCommand({
    labels: { type: "string" },
    faces: { type: "string" },
    exclude: { type: "string", multiple: true },
    scorer: { type: "string", multiple: true },
    out: { type: "string" },
    jobs: { type: "string" },
    resamples: { type: "string" },
    seed: { type: "string" },
    quiet: { type: "boolean" },
  });
  if (o.help) return void console.log(HELP);
  if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
  if (!o.labels) throw new UsageError("--labels: give a labels folder or an images.csv");
  const r = await heldout({
    labels: o.labels,
    faces: o.faces,
    exclude: o.exclude,
    scorers: o.scorer,
    out: o.out ?? "out/heldout",
    jobs: intOption("jobs", o.jobs),
    resamples: intOption("resamples", o.resamples),
    seed: seedOption(o.seed),
    quiet: o.quiet,
    command: ["deno task heldout", ...Deno.args.filter((a) => a !== "--quiet")].join(" "),
    onProgress: (m) => console.error(m),
  });
  const e = r.excluded;
  if (e.files.length) {
    console.log(
      `excluded (same bytes as an image of ${e.files.join(", ")}): ${e.labeledImagesExcluded} labeled ` +
        `images (${e.labeledImagesKept} kept), ${e.facesExcluded} labeled faces on ${e.faceImagesExcluded} ` +
        `images (${e.facesKept} kept on ${e.faceImagesKept} images)`,
    );
  }
  const signals = (s: Record<string, HeldoutSignal>, mark?: string) => {
    for (const [n, a] of Object.entries(s)) {
      console.log(
        `    ${n} (${a.direction} is better): ${aucText(a)}${
          n === mark ? "  <- best on the fitting labels" : ""
        }`,
      );
    }
  };
  if (r.faces) {
    const f = r.faces, c = f.counts;
    console.log(
      `face_quality (${f.scorer.file}): ${c.labeledFaces} labeled faces on ${c.images} images ` +
        `(${c.labeledBad} bad, ${c.labeledGood} good, ${c.labeledRated3} rated 3); the detector found ` +
        `${c.labeledFacesFound} (${c.badFound} bad, ${c.goodFound} good)`,
    );
    console.log(`  bad vs good, all faces: ${aucText(f.badVsGood)}`);
    signals(f.singleSignals);
    console.log(`  bad vs good, faces ≥ 32 px: ${aucText(f.badVsGoodLarge)}`);
    signals(f.singleSignalsLarge);
    if (f.defaultRule) {
      console.log(`  ${ruleText(f.defaultRule, "bad faces", "good faces", "per labeled face found")}`);
    }
  }
  if (r.usable) {
    const u = r.usable, c = u.counts;
    console.log(
      `usable (${u.scorer.file}): ${c.images} labeled images (${c.usable} usable, ${c.unusable} unusable)`,
    );
    console.log(`  usable vs unusable: ${aucText(u.usableVsNot)}`);
    signals(u.singleSignals, u.bestSingleSignal);
    if (u.defaultRule) {
      console.log(`  ${ruleText(u.defaultRule, "unusable images", "usable images", "per image")}`);
    }
  }
  for (const w of r.warnings) console.log(`WARNING: ${w}`);
  console.log(`wrote ${r.files.json}, ${r.files.markdown}`);
});
