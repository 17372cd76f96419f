/**
 * `deno task validity [files or folders…]` — thin entry point; the work is in lib/calibrate/validity.ts.
 *
 * @module
 */
import { runValidity, validityHeuristics, validityMarkdown, writeValidity } from "../calibrate/validity.ts";
import { intOption, parseCommand, parseSetOptions, runMain, seedOption } from "./args.ts";
import { resolveHeuristics } from "../heuristics/registry.ts";

const HELP = `winnow validity — how well each heuristic's signals find the errors hand labels name.

Usage:
  deno task validity [files or folders…] [options]

Scores the labeled images (only those under the given files or folders, default all of them) with
every heuristic that runs offline (${validityHeuristics().join(", ")}), then prints per error
type in the labels, and for "unusable", the ROC AUC of each relevant signal (direction from the
registry; empty values ranked least suspicious) with a stratified bootstrap 95 % interval, and a
logistic combination of an error type's signals evaluated out of fold. Writes validity.json and
validity.md to --out.

Options:
  --labels FILE       images.csv labels (default: the shipped set, data/labels/images.csv)
  --out DIR           where validity.json and validity.md go (default out/validity)
  --heuristics A,B    heuristics to run (default: the list above)
  --scores FILE       read an existing score table instead of scoring
  --save-scores FILE  keep the score table written while scoring
  --limit N           use a seeded subset of N labeled images (half with errors where possible)
  --jobs N            parallel score workers (default: number of cores)
  --resamples N       bootstrap resamples (default 1000)
  --folds N           folds of the out-of-fold combination (default 5)
  --seed N            seed of the bootstrap, folds and subset (default 0)
  --set H.KEY=VALUE   a heuristic setting (repeatable), e.g. --set text.limitSide=1280
  --quiet             no progress line
  -h, --help          this text

Example:
  deno task validity --out out/validity
`;

await runMain(async () => {
  const { values: o, positionals } = parseCommand({
    labels: { type: "string" },
    out: { type: "string" },
    heuristics: { type: "string" },
    scores: { type: "string" },
    "save-scores": { type: "string" },
    limit: { type: "string" },
    jobs: { type: "string" },
    resamples: { type: "string" },
    folds: { type: "string" },
    seed: { type: "string" },
    set: { type: "string", multiple: true },
    quiet: { type: "boolean" },
  });
  if (o.help) {
    console.log(HELP);
    return 0;
  }
  const heuristics = o.heuristics?.split(",").map((s) => s.trim()).filter(Boolean);
  if (heuristics) resolveHeuristics(heuristics);
  const seed = seedOption(o.seed);
  const report = await runValidity({
    labels: o.labels,
    inputs: positionals,
    heuristics,
    scores: o.scores,
    scoresOut: o["save-scores"],
    limit: intOption("limit", o.limit),
    jobs: intOption("jobs", o.jobs),
    resamples: intOption("resamples", o.resamples),
    folds: intOption("folds", o.folds),
    seed,
    settings: parseSetOptions(o.set ?? []),
    quiet: o.quiet,
  });
  const files = await writeValidity(report, o.out ?? "out/validity");
  console.log(validityMarkdown(report));
  console.log(`wrote ${files.json} and ${files.markdown}`);
});
