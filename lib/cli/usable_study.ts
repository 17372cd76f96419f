/**
 * `deno task usable-study [--faces-scores FILE] [--out FILE]` — nested cross-validation of candidate
 * inputs of the usability scorer on the shipped labels; thin entry point, the work is in
 * lib/evaluate/usable_study.ts.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { usableStudy } from "../evaluate/usable_study.ts";
import { writeAtomic } from "../core/atomic.ts";
import { intOption, runMain, UsageError } from "./args.ts";

const HELP = `winnow usable-study — which inputs would make usable_score better? Nested cross-validation.

Usage:
  deno task usable-study [--faces-scores FILE] [--out FILE] [options]

Every candidate is added to the shipped scorer's columns and measured by nested cross-validation
(5 outer folds; feature set, PCA components of an embedding and C chosen by 5 inner folds on each
outer training part), so the out-of-fold AUC includes the choice. Prints each candidate's nested
out-of-fold AUC with a 95 % stratified bootstrap interval (first seed) and its spread over seeds,
then the headroom per error type of the labels: the AUC of the shipped columns' out-of-fold scores
if every rejected image naming that error type were caught (the others left where they are).

Options:
  --labels FILE        hand labels (default data/labels/images.csv)
  --scores FILE        score table of the labeled images (default data/models/labels_scores.csv)
  --faces-scores FILE  score table with face_min_quality of the labeled images, e.g. from
                       deno task score data/labels/images --out F --heuristics faces
  --candidates FILE    extra candidate columns (path + numeric columns): each alone, by name
                       prefix (text_*, obj_*, …) and all together
  --no-embeddings      skip the MobileNetV2 embeddings (no network: seconds)
  --cache DIR          embedding cache (default out/usable_study; the first run embeds every
                       labeled image and 9 tiles of it: minutes)
  --seeds N            outer fold seeds 0..N-1 (default 5)
  --bootstrap N        bootstrap resamples (default 1000)
  --out FILE           also write the result as JSON
`;

await runMain(async () => {
  const { values: o, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      labels: { type: "string" },
      scores: { type: "string" },
      "faces-scores": { type: "string" },
      candidates: { type: "string" },
      "no-embeddings": { type: "boolean" },
      cache: { type: "string" },
      seeds: { type: "string" },
      bootstrap: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (o.help) return void console.log(HELP);
  if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const n = intOption("seeds", o.seeds, 5)!;
  const r = await usableStudy({
    labels: o.labels,
    scores: o.scores,
    facesScores: o["faces-scores"],
    candidates: o.candidates,
    cacheDir: o.cache,
    embeddings: o["no-embeddings"] ? [] : undefined,
    seeds: Array.from({ length: n }, (_, i) => i),
    resamples: intOption("bootstrap", o.bootstrap),
    onProgress: (m) => console.error(m),
  });
  const f3 = (x: number) => x.toFixed(3);
  console.log(`${r.rows} labeled images, ${r.unusable} unusable; nested out-of-fold AUC (usable vs not):`);
  for (const l of r.lines) {
    const s = [...l.seeds].sort((a, b) => a - b);
    console.log(
      `  ${l.candidate.padEnd(50)} ${f3(l.auc.auc)} [${f3(l.auc.low)}, ${f3(l.auc.high)}]` +
        `  seeds ${f3(s[0])}–${f3(s[s.length - 1])} (mean ${f3(s.reduce((a, b) => a + b, 0) / s.length)})`,
    );
    console.log(
      `    chosen per outer fold: ${
        l.chosen.map((c) => `${c.set === l.candidate ? "" : c.set + " "}k=${c.k} C=${c.C}`).join("; ")
      }`,
    );
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`headroom: AUC of "${r.lines[0].candidate}" if every reject naming an error type were caught:`);
  for (const h of r.headroom) {
    const s = [...h.seeds].sort((a, b) => a - b);
    console.log(
      `  ${h.error.padEnd(20)} ${String(h.rejects).padStart(3)} rejects  mean ${f3(mean(h.seeds))}` +
        `  seeds ${f3(s[0])}–${f3(s[s.length - 1])}  (+${f3(mean(h.seeds) - mean(r.lines[0].seeds))})`,
    );
  }
  console.log("single signals (oriented the way they separate best):");
  for (const [k, a] of Object.entries(r.single)) {
    console.log(`  ${k.padEnd(50)} ${f3(a.auc)} [${f3(a.low)}, ${f3(a.high)}]`);
  }
  if (o.out) await writeAtomic(o.out, JSON.stringify(r, null, 2) + "\n");
});
