/**
 * `deno task ab fit FILE… [--json]` and `deno task ab simulate …` — thin entry point; the work is in
 * lib/evaluate/ab.ts (analysis), lib/evaluate/preference.ts (Bradley–Terry) and
 * lib/report/ab_report.ts (the HTML report).
 *
 * @module
 */
import { abCsv, loadAbFiles } from "../labels/ab_format.ts";
import { writeAtomic } from "../core/atomic.ts";
import { analyseAb, loadScores, simulateAbRows } from "../evaluate/ab.ts";
import { coverageStudy } from "../evaluate/preference.ts";
import { formatShare } from "../report/format.ts";
import { intOption, parseCommand, runMain, seedOption, UsageError } from "./args.ts";

const HELP = `winnow ab — rank systems from people's A/B choices (Bradley–Terry), with intervals.

Usage:
  deno task ab fit FILE [FILE…] [--json] [--report FILE.html] [--score COLUMN --scores FILE]
  deno task ab simulate --strengths NAME=S,NAME=S… [-n N] --out FILE [--coverage R]

fit: reads ab.csv files (what \`deno task label --ab\` writes: left_path, right_path, left_system,
right_system, choice, rater) and prints, per system, the Bradley–Terry log strength (natural log,
mean 0; ties count half a win) with a 95 % percentile bootstrap interval over comparisons, wins,
losses, ties and the win rate with a Wilson 95 % interval; per pair of systems an exact two-sided
binomial test; the raters' agreement on pairs judged more than once; the share of choices that
went to the left image. A system that never won or never lost gets a regularised strength and a
note (its maximum-likelihood strength would be infinite).

Options (fit):
  --json              print one JSON object: {"comparisons": N, "systems": [{"name", "log_strength",
                      "ci95": [lo, hi], "wins", "losses", "ties", …}], "pairs", "repeats", …}
  --report FILE       write an HTML report with the strength plot and the win-rate matrix
  --score COLUMN      an automatic score (e.g. clip_score, pick_score, usable_score): how often the
  --scores FILE       image with the higher score is the one people chose; FILE is a score table
                      (deno task score output, path column) or a generate manifest.jsonl
  --resamples N       bootstrap resamples (default 1000)
  --seed N            bootstrap seed (default 0)

simulate: writes an ab.csv drawn from known strengths (for trying the analysis, teaching, and
checking that the intervals cover): --strengths a=0.5,b=0,c=-0.5, -n comparisons (default 300),
--raters NAME,NAME (default sim), --repeat-share (default 0.1), --tie-rate (default 0.05), --seed.
--coverage R instead repeats R simulations of -n comparisons and prints how often the 95 %
intervals contained the true strengths (and how often the order was recovered).

Examples:
  deno task ab simulate --strengths sdxl=0.4,sd15=0,flux=0.7 -n 400 --out out/ab_sim.csv
  deno task ab fit out/ab_sim.csv --report out/ab_sim.html
  deno task ab fit labels/ann/ab.csv labels/bob/ab.csv --json
  deno task ab fit labels/ann/ab.csv --score clip_score --scores scores.csv
  deno task ab simulate --strengths a=0.9,b=0.3,c=-0.2,d=-1 -n 300 --coverage 200
`;

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : "–");

function shareOf(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!(n >= 0 && n < 1)) throw new UsageError(`--${name}: expected a number in [0, 1), got "${v}"`);
  return n;
}

function parseStrengths(v: string | undefined): Record<string, number> {
  if (!v) throw new UsageError("--strengths NAME=S,NAME=S… is required (log strengths, e.g. a=0.5,b=0)");
  const out: Record<string, number> = {};
  for (const part of v.split(",")) {
    const m = /^\s*([^=\s]+)\s*=\s*(-?[\d.]+(?:e-?\d+)?)\s*$/i.exec(part);
    if (!m || !Number.isFinite(Number(m[2]))) {
      throw new UsageError(`--strengths: expected NAME=NUMBER, got "${part}"`);
    }
    out[m[1]] = Number(m[2]);
  }
  if (Object.keys(out).length < 2) throw new UsageError("--strengths: need at least 2 systems");
  return out;
}

await runMain(async () => {
  const [command, ...rest] = Deno.args;
  if (command === undefined || command === "-h" || command === "--help") {
    console.log(HELP);
    return command === undefined ? 2 : 0;
  }
  const { values: o, positionals } = parseCommand({
    json: { type: "boolean" },
    report: { type: "string" },
    score: { type: "string" },
    scores: { type: "string" },
    resamples: { type: "string" },
    seed: { type: "string" },
    strengths: { type: "string" },
    n: { type: "string", short: "n" },
    out: { type: "string" },
    raters: { type: "string" },
    "repeat-share": { type: "string" },
    "tie-rate": { type: "string" },
    coverage: { type: "string" },
  }, { args: rest });
  if (o.help) return void console.log(HELP);
  if (command === "simulate") {
    const strengths = parseStrengths(o.strengths);
    const n = intOption("n", o.n, 300)!;
    const seed = seedOption(o.seed);
    if (o.coverage !== undefined) {
      const r = coverageStudy(strengths, {
        simulations: intOption("coverage", o.coverage)!,
        comparisons: n,
        resamples: intOption("resamples", o.resamples, 200),
        seed,
        tieRate: shareOf("tie-rate", o["tie-rate"], 0.05),
      });
      const line = `coverage of 95 % bootstrap intervals: ${r.covered}/${r.intervals} = ${pct(r.coverage)} ` +
        `(Wilson 95 % ${pct(r.coverageCi[0])}–${pct(r.coverageCi[1])}); true order recovered in ` +
        `${r.orderRecovered}/${r.simulations} simulations of ${n} comparisons`;
      if (o.json) console.log(JSON.stringify(r));
      else console.log(line);
      return;
    }
    if (!o.out) throw new UsageError("--out FILE is required (where the simulated ab.csv goes)");
    const rows = simulateAbRows(strengths, {
      comparisons: n,
      raters: o.raters?.split(",").map((s) => s.trim()).filter(Boolean),
      repeatShare: shareOf("repeat-share", o["repeat-share"], 0.1),
      tieRate: shareOf("tie-rate", o["tie-rate"], 0.05),
      seed,
    });
    await writeAtomic(o.out, abCsv(rows));
    console.log(`wrote ${rows.length} simulated comparisons to ${o.out}`);
    return;
  }
  if (command !== "fit") throw new UsageError(`unknown command "${command}": use fit or simulate`);
  if (positionals.length === 0) throw new UsageError("ab fit: give the ab.csv file(s) to fit");
  if ((o.score === undefined) !== (o.scores === undefined)) {
    throw new UsageError("--score COLUMN and --scores FILE go together");
  }
  const { rows, skipped } = await loadAbFiles(positionals);
  const scores = o.score ? { column: o.score, byPath: await loadScores(o.scores!, o.score) } : undefined;
  const a = analyseAb(rows, {
    resamples: intOption("resamples", o.resamples, 1000),
    seed: seedOption(o.seed),
    scores,
  });
  if (o.report) {
    // plotting loads vega and sharp: only when a report is asked for
    const { abReport } = await import("../report/ab_report.ts");
    const { renderHtmlReport } = await import("../report/html.ts");
    const html = renderHtmlReport(await abReport(a, { source: positionals.join(", ") }));
    await writeAtomic(o.report, html);
  }
  if (o.json) {
    console.log(JSON.stringify({ ...a, skipped }));
    return;
  }
  const w = Math.max(6, ...a.systems.map((s) => s.name.length));
  console.log(
    `${a.comparisons} comparisons${skipped ? ` (${skipped} skipped rows left out)` : ""} · ` +
      `raters: ${a.raters.map((r) => `${r.name} (${r.comparisons})`).join(", ")}`,
  );
  console.log("");
  console.log(`${"system".padEnd(w)}  log strength  95 % interval       wins  losses  ties  win rate (95 %)`);
  for (const s of a.systems) {
    console.log(
      `${s.name.padEnd(w)}  ${fmt(s.log_strength).padStart(12)}  ${
        `${fmt(s.ci95[0])} … ${fmt(s.ci95[1])}`.padEnd(18)
      }  ${String(s.wins).padStart(4)}  ${String(s.losses).padStart(6)}  ${String(s.ties).padStart(4)}  ` +
        `${pct(s.win_rate)} (${pct(s.win_rate_ci95[0])}–${pct(s.win_rate_ci95[1])})`,
    );
  }
  for (const n of a.notes) console.log(`note: ${n}`);
  console.log("");
  console.log("head to head (ties left out; exact two-sided binomial test):");
  for (const p of a.pairs) {
    console.log(
      `  ${p.a} vs ${p.b}: ${p.aWins}–${p.bWins}${p.ties ? `, ${p.ties} ties` : ""}, ${p.a} wins ` +
        `${pct(p.aWinRate)} (${pct(p.aWinRateCi[0])}–${pct(p.aWinRateCi[1])}), p = ${
          p.pvalue.toPrecision(3)
        }`,
    );
  }
  console.log("");
  console.log(
    `repeated pairs: ${a.repeats.repeated_pairs}; same rater agreed ${
      formatShare(a.repeats.within_rater)
    }; ` +
      `different raters agreed ${formatShare(a.repeats.between_raters)}`,
  );
  console.log(`left image chosen: ${formatShare(a.position.left)}, p = ${a.position.pvalue.toPrecision(3)}`);
  if (a.score) {
    console.log(
      `${a.score.column}: the higher-scored image was chosen in ${formatShare(a.score.agree)}, p = ${
        Number.isFinite(a.score.pvalue) ? a.score.pvalue.toPrecision(3) : "–"
      } (left out: ${a.score.ties} ties, ${a.score.missing} without a score, ${a.score.equal} equal scores)`,
    );
  }
  if (o.report) console.log(`\nreport: ${o.report}`);
});
