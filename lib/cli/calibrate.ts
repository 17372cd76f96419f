/**
 * `deno task calibrate --labels FILE --scores FILE --heuristic COLUMN [options]` — thin entry
 * point; the work is in lib/calibrate/run.ts.
 *
 * @module
 */
import { join } from "node:path";
import { runCalibration } from "../calibrate/run.ts";
import { writeCalibrationReport } from "../report/calibration.ts";
import { STRATEGIES, type Strategy, type StrategyOptions } from "../calibrate/thresholds.ts";
import { scoredSyntheticSet, SYNTHETIC_COLUMNS } from "../calibrate/synthetic.ts";
import { SHIPPED_IMAGE_LABELS } from "../labels/format.ts";
import { intOption, numberOption, parseCommand, runMain, seedOption, UsageError } from "./args.ts";

const HELP = `winnow calibrate — choose heuristic thresholds against hand labels, with honest uncertainty.

Usage:
  deno task calibrate [--labels FILE] --scores FILE --heuristic COLUMN [--heuristic COLUMN …] [options]
  deno task calibrate --synthetic DIR [options]

Labels (images.csv: path, usable, quality, errors) join the score table (from \`deno task score\`)
on path; label paths resolve against the label file's folder. Bad label rows are reported by file
and line and left out; the good rows are used. The positive class is usable = yes; a column whose
registry direction is lower-is-better is negated before ranking, and its rule is a max.

Options:
  --labels FILE             hand labels (images.csv; default: the shipped real set,
                            data/labels/images.csv)
  --scores FILE             score table (.csv, .jsonl, .parquet)
  --heuristic COLUMN        score column to calibrate (repeatable; the first is the JSON headline)
  --strategy NAME           ${STRATEGIES.join(" | ")} (default youden):
                              youden     maximise Youden's J = TPR − FPR
                              cost       minimise cost-false-accept·FP + cost-false-reject·FN
                              precision  largest recall with precision ≥ --target
                              recall     largest precision with recall ≥ --target
                              keep       highest threshold keeping ≥ --target of the images
  --target X                target of precision / recall / keep, in (0, 1]
  --cost-false-accept X     cost of keeping a bad image (default 1)
  --cost-false-reject Y     cost of rejecting a good image (default 1)
  --combine                 also fit a logistic filter over all columns, evaluated out of fold
  --C X                     its regularisation (scikit-learn's C, default 1)
  --bootstrap N             bootstrap resamples for the 95% intervals (default 1000)
  --folds K                 cross-validation folds (default 5)
  --seed S                  seed of resampling and folds (default 0)
  --json                    print one JSON object with every number (auc, average_precision,
                            threshold, their intervals, out-of-fold numbers, …)
  --out-thresholds FILE     write the rules (the file \`score --thresholds\` reads)
  --report FILE.html        write an HTML report with the plots
  --faces FILE              per-face table from \`score --faces\`, with --face-labels faces.csv:
  --face-labels FILE          adds face-level AUCs and the face plots
  --synthetic DIR           build the SYNTHETIC set in DIR (variants of the photos shipped in
                            @vladmandic/face-api, labels known by construction), score it with
                            the pure and face heuristics, and calibrate it: an offline demo.
                            Writes DIR/scores.csv, DIR/faces.csv, and by default
                            DIR/thresholds.json and DIR/report.html
  -h, --help                this text

Examples:
  deno task calibrate --synthetic out/synthetic
  deno task score data/labels/images --out scores.csv
  deno task calibrate --scores scores.csv --heuristic laplacian_var --json
  deno task calibrate --labels labels/images.csv --scores scores.csv --heuristic laplacian_var \\
      --heuristic colorfulness --strategy precision --target 0.95 --combine \\
      --out-thresholds thresholds.json --report calibration.html
  deno task score gens/ --out checked.csv --thresholds thresholds.json
`;

function strategyOptions(o: Record<string, string | boolean | string[] | undefined>): StrategyOptions {
  const name = (o.strategy as string | undefined) ?? "youden";
  if (!(STRATEGIES as readonly string[]).includes(name)) {
    throw new UsageError(`--strategy: expected one of ${STRATEGIES.join(", ")}, got "${name}"`);
  }
  const target = numberOption("target", o.target as string | undefined);
  if (["precision", "recall", "keep"].includes(name) && target === undefined) {
    throw new UsageError(`--strategy ${name} needs --target X (a fraction in (0, 1], e.g. 0.9)`);
  }
  return {
    strategy: name as Strategy,
    target,
    costFalseAccept: numberOption("cost-false-accept", o["cost-false-accept"] as string | undefined),
    costFalseReject: numberOption("cost-false-reject", o["cost-false-reject"] as string | undefined),
  };
}

const fmt = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? "–" : String(+x.toPrecision(4));

await runMain(async () => {
  const { values: o } = parseCommand({
    labels: { type: "string" },
    scores: { type: "string" },
    heuristic: { type: "string", multiple: true },
    strategy: { type: "string" },
    target: { type: "string" },
    "cost-false-accept": { type: "string" },
    "cost-false-reject": { type: "string" },
    combine: { type: "boolean" },
    C: { type: "string" },
    bootstrap: { type: "string" },
    folds: { type: "string" },
    seed: { type: "string" },
    json: { type: "boolean" },
    "out-thresholds": { type: "string" },
    report: { type: "string" },
    faces: { type: "string" },
    "face-labels": { type: "string" },
    synthetic: { type: "string" },
  }, { positionals: false });
  if (o.help) return void console.log(HELP);
  const strategy = strategyOptions(o);
  const seed = seedOption(o.seed);
  const folds = intOption("folds", o.folds, 5)!;
  if (folds < 2) throw new UsageError(`--folds: expected 2 or more, got ${folds}`);
  let labels = o.labels, scores = o.scores, faces = o.faces, faceLabels = o["face-labels"];
  let heuristics = o.heuristic ?? [];
  let outThresholds = o["out-thresholds"], report = o.report, combine = o.combine ?? false;
  const log = (s: string) => (o.json ? console.error(s) : console.log(s));
  if (o.synthetic !== undefined) {
    if (o.synthetic === "") throw new UsageError("--synthetic: expected a folder");
    const set = await scoredSyntheticSet(o.synthetic, log);
    scores = set.scores;
    faces = set.faces;
    labels = set.imagesCsv;
    faceLabels = set.facesCsv;
    if (heuristics.length === 0) heuristics = [...SYNTHETIC_COLUMNS];
    outThresholds ??= join(set.dir, "thresholds.json");
    report ??= join(set.dir, "report.html");
    combine = true;
  }
  labels ??= SHIPPED_IMAGE_LABELS;
  if (!scores) throw new UsageError("--scores FILE is required (a table from `deno task score`)");
  if (heuristics.length === 0) {
    throw new UsageError("give at least one --heuristic COLUMN (e.g. laplacian_var)");
  }
  if ((faces === undefined) !== (faceLabels === undefined)) {
    throw new UsageError("--faces and --face-labels go together");
  }
  const run = await runCalibration({
    labels,
    scores,
    heuristics,
    strategy,
    combine,
    C: numberOption("C", o.C),
    bootstrap: intOption("bootstrap", o.bootstrap, 1000),
    folds,
    seed,
    outThresholds,
    faces,
    faceLabels,
  });
  if (report) await writeCalibrationReport(run, report);
  for (const m of run.labelIssues) console.error(`label problem: ${m}`);
  if (o.json) return void console.log(JSON.stringify(run.result));
  const r = run.result;
  console.log(
    `labels: ${r.labels.kept} of ${r.labels.read} rows kept (${r.labels.rejected} rejected); ` +
      `${r.join.labeled_and_scored} joined to scores (${r.join.usable} usable, ${r.join.not_usable} not)` +
      (r.join.labeled_not_scored ? `; ${r.join.labeled_not_scored} labeled images have no score row` : ""),
  );
  console.log(
    `intervals: 95% bootstrap, ${r.bootstrap.resamples} stratified resamples; ` +
      `out of fold: ${r.cross_validation.folds}-fold stratified CV; strategy: ${run.columns[0].strategy}`,
  );
  for (const c of run.columns) {
    console.log(
      `${c.column} (n=${c.n}): AUC ${fmt(c.auc)} [${fmt(c.auc_ci[0])}, ${fmt(c.auc_ci[1])}], ` +
        `AP ${fmt(c.average_precision)} [${fmt(c.average_precision_ci[0])}, ${
          fmt(c.average_precision_ci[1])
        }]; ` +
        `${c.threshold_kind} ${fmt(c.threshold)} → precision ${fmt(c.precision)} [${
          fmt(c.precision_ci[0])
        }, ` +
        `${fmt(c.precision_ci[1])}], recall ${fmt(c.recall)}, kept ${fmt(c.kept_fraction)}; out of fold: ` +
        `precision ${fmt(c.out_of_fold.precision)}, recall ${fmt(c.out_of_fold.recall)}, kept ${
          fmt(c.out_of_fold.kept_fraction)
        }`,
    );
  }
  if (r.combined) {
    console.log(
      `combined logistic filter: out-of-fold AUC ${fmt(r.combined.out_of_fold_auc)} (in-sample ${
        fmt(r.combined.in_sample_auc)
      }); single heuristics: ${
        Object.entries(r.combined.single_pooled_auc).map(([k, v]) => `${k} ${fmt(v)}`).join(", ")
      }`,
    );
  }
  if (outThresholds) console.log(`thresholds → ${outThresholds}`);
  if (report) console.log(`report → ${report}`);
});
