/**
 * The HTML report of an A/B preference analysis (`deno task ab fit FILE --report ab.html`): the
 * ranking with intervals, the win-rate matrix, the tests per pair, the raters' consistency, the
 * left/right check and, when asked, how well an automatic score agrees with the people.
 *
 * @module
 */
import type { AbAnalysis } from "../evaluate/ab.ts";
import { type Report, type ReportSection } from "./html.ts";
import { strengthPlot, type WinRateCell, winRateMatrixPlot } from "./plots/preference.ts";

import { formatShare, pct } from "./format.ts";

export { formatShare };

/** Cells of the win-rate matrix, both directions of every pair. */
export function winRateCells(a: AbAnalysis): WinRateCell[] {
  return a.pairs.flatMap((p) => [
    { row: p.a, column: p.b, wins: p.aWins, losses: p.bWins, ties: p.ties },
    { row: p.b, column: p.a, wins: p.bWins, losses: p.aWins, ties: p.ties },
  ]);
}

/**
 * Builds the report's content (render with `renderHtmlReport`).
 *
 * @example
 * ```ts ignore
 * import { abReport } from "./ab_report.ts";
 * import { renderHtmlReport } from "./html.ts";
 * await Deno.writeTextFile("ab.html", renderHtmlReport(await abReport(analysis, { source: "ab.csv" })));
 * ```
 */
export async function abReport(a: AbAnalysis, options: { source?: string } = {}): Promise<Report> {
  const order = a.systems.map((s) => s.name);
  const strengths = await strengthPlot(a.systems, { scale: 2 });
  const matrix = await winRateMatrixPlot(winRateCells(a), { scale: 2, order });
  const sections: ReportSection[] = [
    {
      heading: "Ranking",
      text: [
        "Bradley–Terry strengths: the chance that system i is preferred to system j is " +
        "e^sᵢ / (e^sᵢ + e^sⱼ); strengths are natural logs with mean 0, so a gap of 1 means odds of " +
        "about 2.7 to 1 and a gap of 0.41 means 60 : 40. Ties count half a win to each side. " +
        `Intervals: 95 % percentile bootstrap over the ${a.comparisons} comparisons ` +
        `(${a.bootstrap.resamples} resamples, seed ${a.bootstrap.seed}); they describe another set ` +
        "of comparisons of the same size from the same raters and images, not other prompts or raters.",
        ...a.notes,
      ],
      figures: [{ ...strengths, alt: strengths.alt, width: strengths.width, height: strengths.height }],
      tables: [{
        columns: ["system", "log strength", "95 % interval", "wins", "losses", "ties", "win rate (95 %)"],
        rows: a.systems.map((s) => [
          s.name,
          +s.log_strength.toFixed(3),
          `${s.ci95[0].toFixed(3)} … ${s.ci95[1].toFixed(3)}`,
          s.wins,
          s.losses,
          s.ties,
          `${pct(s.win_rate)} (${pct(s.win_rate_ci95[0])}–${pct(s.win_rate_ci95[1])})`,
        ]),
      }],
    },
    {
      heading: "Head to head",
      text: "Each pair of systems that met: the share of decisive comparisons the first won, with a " +
        "Wilson 95 % interval, and an exact two-sided binomial (sign) test of 'neither is preferred' " +
        "(ties left out). With several pairs, some small p-values arise by chance: " +
        `a Bonferroni threshold for ${a.pairs.length} pair(s) is ${
          (0.05 / Math.max(1, a.pairs.length)).toPrecision(2)
        }.`,
      figures: [{ ...matrix, width: matrix.width, height: matrix.height }],
      tables: [{
        columns: ["A", "B", "A wins", "B wins", "ties", "A win rate (95 %)", "p (exact binomial)"],
        rows: a.pairs.map((p) => [
          p.a,
          p.b,
          p.aWins,
          p.bWins,
          p.ties,
          `${pct(p.aWinRate)} (${pct(p.aWinRateCi[0])}–${pct(p.aWinRateCi[1])})`,
          p.pvalue.toPrecision(3),
        ]),
      }],
    },
    {
      heading: "Raters",
      text: [
        `Raters: ${a.raters.map((r) => `${r.name} (${r.comparisons})`).join(", ")}.`,
        `Pairs of images judged more than once: ${a.repeats.repeated_pairs}. The same rater agreed with ` +
        `themselves in ${formatShare(a.repeats.within_rater)}; different raters agreed in ` +
        `${formatShare(a.repeats.between_raters)}. Agreement counts the same image preferred (or both ` +
        "ties), whichever side it was shown on. Low self-agreement means the differences are hard to see " +
        "or the rater was rushing; the ranking is then less certain than its intervals say.",
        `Position: the left image was chosen in ${formatShare(a.position.left)} of decisive choices ` +
        `(exact binomial p = ${a.position.pvalue.toPrecision(3)} against 50 %). Sides are randomised, so a ` +
        "strong lean to one side costs precision but does not favour a system.",
      ],
    },
  ];
  if (a.score) {
    const s = a.score;
    sections.push({
      heading: `Automatic score: ${s.column}`,
      text: `The image with the higher ${s.column} was the one people chose in ${formatShare(s.agree)} ` +
        `of comparisons (exact binomial p = ${Number.isFinite(s.pvalue) ? s.pvalue.toPrecision(3) : "–"} ` +
        `against 50 %, a score that knows nothing). Left out: ${s.ties} ties of the raters, ${s.missing} ` +
        `comparisons with a score missing, ${s.equal} with equal scores.`,
    });
  }
  return {
    title: "A/B preference test",
    intro: options.source ? `Comparisons from ${options.source}.` : undefined,
    summary: [
      ["comparisons", a.comparisons],
      ["systems", a.systems.length],
      ["ranking", order.join(" > ")],
      ...(a.score ? [[`${a.score.column} agrees`, pct(a.score.agree.share)] as [string, string]] : []),
    ],
    sections,
  };
}
