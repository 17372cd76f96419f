/**
 * `deno task fit NAME [--labels FILE] [--scores FILE] --out FILE` — refits a learned scorer on
 * hand labels; thin entry point, the work is in lib/calibrate/fit_recipes.ts.
 *
 * @module
 */
import { FIT_RECIPES, fitRecipe, writeScorer } from "../calibrate/fit_recipes.ts";
import { parseFeatureList } from "../calibrate/fit_usable.ts";
import { shippedScorerPath } from "../models/scorer.ts";
import {
  intOption,
  numberOption,
  parseCommand,
  parseSetOptions,
  runMain,
  seedOption,
  UsageError,
} from "./args.ts";
import { loadThresholds, saveThresholds } from "../score/rules.ts";

const HELP = `winnow fit — refit a learned scorer on your own hand labels.

Usage:
  deno task fit NAME [--labels FILE] [--scores FILE] --out FILE [options]

Scorers (NAME):
${Object.values(FIT_RECIPES).map((r) => `  ${r.name.padEnd(14)} ${r.description}`).join("\n")}

Without --scores the labeled images are scored first (the face recipe runs the face detector at
a low threshold on every image named in the labels). The scorer is an L2-regularised logistic
regression over a few columns; the file records its features, standardisation, coefficients and
provenance: labels, date, rows, the out-of-fold ROC AUC with a 95 % bootstrap interval, each single
signal's AUC, and this command. Use it with \`deno task score … --scorer FILE\`.

Options:
  --labels FILE      hand labels (default: the recipe's shipped labels in data/labels/)
  --scores FILE      a score table to use instead of scoring (for face_quality: the per-face
                     table of \`score --faces … --set faces.qualityConfidence=0.1\`, so that
                     every face found has the model measures)
  --out FILE         where the scorer file goes (default: print it; the shipped file is
                     data/models/NAME.json)
  --out-thresholds FILE
                     (usable) also write the default rule on the scorer's output into FILE
                     (other columns' rules there are kept): the most precise threshold that
                     keeps ≥ 90 % of the images people kept, chosen on the out-of-fold scores;
                     the shipped file is data/models/thresholds.json (--thresholds defaults)
  --features LIST    (usable) the columns to fit on, instead of the shipped five: score-table
                     columns separated by commas, each optionally NAME:TRANSFORM (identity,
                     log1p = log(1 + max(0, v)), present = 1 when the column has a value).
                     Each must be a column some heuristic produces (usable computes it when it
                     runs), have a numeric value in the table, and be in --scores when given.
                     A shipped column keeps its transform and its missing value (0); any other
                     column's empty values are filled with its median over the training rows
                     (recorded in the file's features and provenance.missingValues)
  --set H.KEY=VALUE  a heuristic setting for scoring the labeled images (repeatable), e.g.
                     --set probe.baseUrl=http://localhost:11434/v1 --set probe.model=llava
  --work-dir DIR     keep the score tables of the labeled images there (then refit from them
                     with --scores DIR/fit_faces.csv, for usable DIR/usable_scores.csv);
                     default a temporary folder, removed
  --limit N          use at most N labeled images (a seeded subset keeping every bad one)
  --C X              regularisation (scikit-learn's C; smaller = stronger)
  --folds K          folds of the out-of-fold estimate (default 5)
  --seed S           seed of folds and bootstrap (default 0)
  --bootstrap N      bootstrap resamples (default 1000)
  --repeats N        further fold seeds reported as a spread (default 20)
  --jobs N           score workers (default 2)
  --quiet            no progress line
  -h, --help         this text

Examples:
  deno task fit face_quality --out data/models/face_quality.json
  deno task fit usable --scores data/models/labels_scores.csv --out data/models/usable.json \\
    --out-thresholds data/models/thresholds.json
  deno task fit face_quality --labels my/faces.csv --out my_face_quality.json
  deno task score gens/ --out scores.csv --faces faces.csv --scorer my_face_quality.json

Semantic columns (a multimodal chat server for probe_*, or CLIP weights for aesthetic_score,
clip_score): the shipped usable model reads offline columns only, and these columns could not be
measured on real labels here (no such weights ship in npm packages), so their value is untested.
  F=text_prominent_garbled_score,text_regions:log1p,colorfulness,nsfw_neutral,text_lm_implausibility
  P="--set probe.baseUrl=http://localhost:11434/v1 --set probe.model=llava:13b"
  deno task fit usable --features $F,probe_garbled_text,probe_extra_fingers $P \\
    --work-dir out/fit_probe --out my_usable.json
  deno task score gens/ --out scores.csv --heuristics usable --scorer my_usable.json $P
  deno task fit usable --features $F,aesthetic_score --set aesthetic.modelsDir=$HOME/models \\
    --out my_usable2.json
`;

await runMain(async () => {
  const { values: o, positionals } = parseCommand({
    labels: { type: "string" },
    "work-dir": { type: "string" },
    scores: { type: "string" },
    out: { type: "string" },
    "out-thresholds": { type: "string" },
    limit: { type: "string" },
    C: { type: "string" },
    folds: { type: "string" },
    seed: { type: "string" },
    bootstrap: { type: "string" },
    repeats: { type: "string" },
    jobs: { type: "string" },
    features: { type: "string" },
    set: { type: "string", multiple: true },
    quiet: { type: "boolean" },
  });
  if (o.help) return void console.log(HELP);
  const name = positionals[0];
  if (!name || positionals.length > 1) {
    throw new UsageError(`give one scorer name: ${Object.keys(FIT_RECIPES).join(", ")}`);
  }
  if (!FIT_RECIPES[name]) {
    throw new UsageError(`unknown scorer "${name}"; known: ${Object.keys(FIT_RECIPES).join(", ")}`);
  }
  const seed = seedOption(o.seed, 0);
  // The refit command as recorded: the arguments that change the result (not --work-dir, --quiet).
  const args = [...Deno.args];
  const wd = args.indexOf("--work-dir");
  if (wd >= 0) args.splice(wd, 2);
  const command = ["deno task fit", name, ...args.filter((a) => a !== name && a !== "--quiet")].join(" ");
  const log = (s: string) => (o.out ? console.log(s) : console.error(s));
  const t0 = performance.now();
  const { scorer, data, outOfFold } = await fitRecipe(name, {
    labels: o.labels,
    scores: o.scores,
    workDir: o["work-dir"],
    limit: intOption("limit", o.limit),
    jobs: intOption("jobs", o.jobs),
    features: o.features === undefined ? undefined : parseFeatureList(o.features),
    settings: o.set ? parseSetOptions(o.set) : undefined,
    C: numberOption("C", o.C, { positive: true }),
    folds: intOption("folds", o.folds),
    seed,
    resamples: intOption("bootstrap", o.bootstrap),
    repeats: o.repeats === "0" ? 0 : intOption("repeats", o.repeats),
    quiet: o.quiet,
    command,
  });
  const p = scorer.provenance;
  const f3 = (x: number) => x.toFixed(3);
  const iv = (r: { auc: number; low: number; high: number }) => `${f3(r.auc)} [${f3(r.low)}, ${f3(r.high)}]`;
  log(
    `${name}: ${p.rows} labeled rows (${p.positives} of class 1), fitted in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
  log(`  out-of-fold AUC ${iv(p.outOfFold)} (${p.folds} folds, seed ${p.seed}; 95 % bootstrap interval)`);
  type Auc = { auc: number; low: number; high: number; positives: number; negatives: number };
  const singles = (x: Record<string, Auc & { direction: string }> | undefined) => {
    for (const [s, r] of Object.entries(x ?? {})) {
      log(`    single signal ${s} (${r.direction} is better): AUC ${iv(r)}`);
    }
  };
  singles(p.singleSignals as Record<string, Auc & { direction: string }>);
  const groups = (p.outOfFoldGroups ?? {}) as Record<
    string,
    Auc & { singleSignals: Record<string, Auc & { direction: string }> }
  >;
  for (const [g, r] of Object.entries(groups)) {
    log(`  ${g} (${r.positives} vs ${r.negatives}): out-of-fold AUC ${iv(r)}`);
    singles(r.singleSignals);
  }
  for (const [k, v] of Object.entries(data.notes)) log(`  ${k}: ${v}`);
  if (o["out-thresholds"]) {
    const recipe = FIT_RECIPES[name];
    if (!recipe.rule) throw new UsageError(`--out-thresholds: the ${name} scorer has no image-level rule`);
    const rule = recipe.rule(data.y, outOfFold, p.labels, command);
    // Other rules already in the file (e.g. another scorer's) are kept; this column's is replaced.
    const file = o["out-thresholds"];
    const existing = await Deno.stat(file).then(() => loadThresholds(file), () => []);
    await saveThresholds(file, [...existing.filter((r) => r.column !== rule.column), rule], {
      note: "calibrated default rules: `score --thresholds defaults` applies them beside the heuristics' " +
        "declared defaults, for the columns a run computes",
    });
    log(`  default rule: ${rule.column} ≥ ${rule.min} — ${rule.source}`);
    log(`wrote ${o["out-thresholds"]}`);
  }
  if (p.suggestedRule) log(`  suggested rule: ${JSON.stringify(p.suggestedRule)}`);
  for (const r of (p.otherRules ?? []) as unknown[]) log(`  other rule: ${JSON.stringify(r)}`);
  if (o.out) {
    await writeScorer(o.out, scorer);
    log(`wrote ${o.out}${o.out === shippedScorerPath(name) ? " (the shipped file)" : ""}`);
  } else console.log(JSON.stringify(scorer, null, 2));
});
