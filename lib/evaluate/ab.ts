/**
 * An A/B preference session analysed: Bradley–Terry strengths with bootstrap intervals, counts and
 * win rates, exact tests per pair of systems, the raters' consistency on pairs shown more than once,
 * a left/right position check, and how often an automatic score picks the image people chose.
 * Input: the rows of `ab.csv` (lib/labels/ab_format.ts). Output: one plain object that the CLI
 * prints, writes as JSON and renders as an HTML report.
 *
 * @module
 */
import { dirname, isAbsolute, resolve } from "node:path";
import type { AbRecord, AbRow } from "../labels/ab_format.ts";
import { seededRandom } from "../core/random.ts";
import { readResults } from "../score/results.ts";
import { bootstrapBradleyTerry, type Comparison, type PairRecord, preferenceCounts } from "./preference.ts";
import { binomialTest, StatsError, wilsonInterval } from "./stats.ts";

/** A share with its Wilson 95 % interval. */
export interface Share {
  /** Successes (may be fractional when ties count half). */
  k: number;
  n: number;
  /** k / n (NaN when n = 0). */
  share: number;
  ci95: [number, number];
}

const share = (k: number, n: number): Share => ({ k, n, share: n ? k / n : NaN, ci95: wilsonInterval(k, n) });

/** One system's line of the analysis (the CONTRACTS `--json` fields, and more). */
export interface AbSystem {
  name: string;
  log_strength: number;
  ci95: [number, number];
  wins: number;
  losses: number;
  ties: number;
  /** Share of decisive comparisons won, with its Wilson 95 % interval. */
  win_rate: number;
  win_rate_ci95: [number, number];
}

/** Agreement of repeated judgements of the same pair of images. */
export interface RepeatAgreement {
  /** Pairs of images judged more than once. */
  repeated_pairs: number;
  /** Two judgements of a pair by the same rater that chose the same image (or both tie). */
  within_rater: Share;
  /** Two judgements of a pair by different raters that agree. */
  between_raters: Share;
}

/** How often an automatic score agrees with the people. */
export interface ScoreAgreement {
  column: string;
  /** Comparisons where the chosen image has the higher score, among decisive comparisons with both scores present and different. */
  agree: Share;
  /** Exact two-sided binomial test of `agree` against ½ (a score that knows nothing). */
  pvalue: number;
  /** Decisive comparisons left out: a score missing, or equal scores. */
  missing: number;
  equal: number;
  /** Ties of the people (left out). */
  ties: number;
}

/** What {@link analyseAb} found. */
export interface AbAnalysis {
  comparisons: number;
  systems: AbSystem[];
  pairs: (PairRecord<string> & { a_win_rate: number })[];
  raters: { name: string; comparisons: number }[];
  repeats: RepeatAgreement;
  /** Share of decisive choices that went to the left image, and the binomial test against ½. */
  position: { left: Share; pvalue: number };
  score?: ScoreAgreement;
  /** Why strengths were regularised, if they were. */
  notes: string[];
  bootstrap: { resamples: number; seed: number; regularised_resamples: number };
}

/** Options of {@link analyseAb}. */
export interface AbAnalysisOptions {
  /** Bootstrap resamples of the comparisons. Default 1000. */
  resamples?: number;
  /** Default 0. */
  seed?: number;
  /** Automatic scores by absolute image path, and the score's name (see {@link loadScores}). */
  scores?: { column: string; byPath: ReadonlyMap<string, number> };
}

/** The comparisons of `ab.csv` rows: `[left_system, right_system, 1 | 0 | 0.5]`. */
export function abComparisons(rows: readonly AbRecord[]): Comparison<string>[] {
  return rows.map((
    r,
  ) => [r.left_system, r.right_system, r.choice === "left" ? 1 : r.choice === "right" ? 0 : 0.5]);
}

/**
 * Analyses A/B rows: see the module doc. The bootstrap is seeded, so the same file gives the same
 * intervals.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAbCsv } from "../labels/ab_format.ts";
 * import { analyseAb } from "./ab.ts";
 * const text = "left_path,right_path,left_system,right_system,choice,rater\n" +
 *   "a1,b1,A,B,left,ann\nb1,a1,B,A,right,ann\nb2,a2,B,A,left,bob\na3,b3,A,B,tie,bob\n";
 * const r = analyseAb(parseAbCsv("/x/ab.csv", text).rows, { resamples: 50 });
 * assert.deepEqual(r.systems.map((s) => [s.name, s.wins, s.losses, s.ties]), [["A", 2, 1, 1], ["B", 1, 2, 1]]);
 * assert.equal(r.repeats.within_rater.share, 1); // ann chose a1 over b1 both times
 * ```
 */
export function analyseAb(rows: readonly AbRecord[], options: AbAnalysisOptions = {}): AbAnalysis {
  if (rows.length === 0) throw new StatsError("no comparisons (every row was skipped or the file is empty)");
  const comps = abComparisons(rows);
  const bt = bootstrapBradleyTerry(comps, { resamples: options.resamples ?? 1000, seed: options.seed ?? 0 });
  const counts = preferenceCounts(comps);
  const rec = new Map(counts.systems.map((s) => [s.system, s]));
  const systems: AbSystem[] = bt.systems.map((name, i) => {
    const s = rec.get(name)!;
    return {
      name,
      log_strength: bt.logStrength[i],
      ci95: bt.ci[i],
      wins: s.wins,
      losses: s.losses,
      ties: s.ties,
      win_rate: s.winRate,
      win_rate_ci95: s.winRateCi,
    };
  }).sort((a, b) => b.log_strength - a.log_strength);
  const raters = new Map<string, number>();
  for (const r of rows) raters.set(r.rater, (raters.get(r.rater) ?? 0) + 1);
  const decisive = rows.filter((r) => r.choice !== "tie");
  const left = decisive.filter((r) => r.choice === "left").length;
  return {
    comparisons: rows.length,
    systems,
    pairs: counts.pairs.map((p) => ({ ...p, a_win_rate: p.aWinRate })),
    raters: [...raters].map(([name, comparisons]) => ({ name, comparisons })),
    repeats: repeatAgreement(rows),
    position: { left: share(left, decisive.length), pvalue: binomialTest(left, decisive.length) },
    ...(options.scores ? { score: scoreAgreement(rows, options.scores.column, options.scores.byPath) } : {}),
    notes: bt.notes,
    bootstrap: { resamples: bt.resamples, seed: bt.seed, regularised_resamples: bt.regularisedResamples },
  };
}

/** The image a row's rater preferred (its absolute path), or "tie". */
function winner(r: AbRecord): string {
  return r.choice === "left" ? r.leftAbs : r.choice === "right" ? r.rightAbs : "tie";
}

/**
 * Agreement on pairs of images judged more than once (the app repeats a share of pairs; several
 * raters may see the same pair): every two judgements of one pair count once, as agreeing when they
 * preferred the same image or both called a tie, whichever side it was shown on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAbCsv } from "../labels/ab_format.ts";
 * import { repeatAgreement } from "./ab.ts";
 * const text = "left_path,right_path,left_system,right_system,choice,rater\n" +
 *   "a,b,A,B,left,ann\nb,a,B,A,left,ann\na,b,A,B,left,bob\n";
 * const r = repeatAgreement(parseAbCsv("/x/ab.csv", text).rows);
 * assert.deepEqual([r.repeated_pairs, r.within_rater.k, r.within_rater.n, r.between_raters.k, r.between_raters.n], [1, 0, 1, 1, 2]);
 * ```
 */
export function repeatAgreement(rows: readonly AbRecord[]): RepeatAgreement {
  const byPair = new Map<string, AbRecord[]>();
  for (const r of rows) {
    const key = [r.leftAbs, r.rightAbs].sort().join("\u0000");
    byPair.set(key, [...(byPair.get(key) ?? []), r]);
  }
  let wk = 0, wn = 0, bk = 0, bn = 0, repeated = 0;
  for (const list of byPair.values()) {
    if (list.length < 2) continue;
    repeated++;
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const same = winner(list[i]) === winner(list[j]) ? 1 : 0;
        if (list[i].rater === list[j].rater) wk += same, wn++;
        else bk += same, bn++;
      }
    }
  }
  return { repeated_pairs: repeated, within_rater: share(wk, wn), between_raters: share(bk, bn) };
}

/**
 * Share of comparisons where the image with the higher automatic score is the one people chose
 * (decisive comparisons with both scores present and different), with its Wilson interval and an
 * exact binomial test against ½.
 */
export function scoreAgreement(
  rows: readonly AbRecord[],
  column: string,
  byPath: ReadonlyMap<string, number>,
): ScoreAgreement {
  let agree = 0, n = 0, missing = 0, equal = 0, ties = 0;
  for (const r of rows) {
    if (r.choice === "tie") {
      ties++;
      continue;
    }
    const l = byPath.get(r.leftAbs), rt = byPath.get(r.rightAbs);
    if (l === undefined || rt === undefined) {
      missing++;
      continue;
    }
    if (l === rt) {
      equal++;
      continue;
    }
    n++;
    if ((l > rt) === (r.choice === "left")) agree++;
  }
  return { column, agree: share(agree, n), pvalue: n ? binomialTest(agree, n) : NaN, missing, equal, ties };
}

/**
 * Reads one score column by absolute image path from a score table (`deno task score` output: CSV,
 * JSONL or Parquet with a `path` column) or a `generate` manifest (`manifest.jsonl`: `file` and a
 * `scores` object). A relative `path` is taken both against the working folder (as `score` writes it
 * and `calibrate` reads it) and against the table's folder (a table moved beside its images); a
 * manifest's `file` against the manifest's folder. Rows without a finite value are left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadScores } from "./ab.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/manifest.jsonl`, '{"file":"1.png","scores":{"clip_score":0.31}}\n');
 * assert.equal((await loadScores(`${dir}/manifest.jsonl`, "clip_score")).get(`${dir}/1.png`), 0.31);
 * ```
 */
export async function loadScores(file: string, column: string): Promise<Map<string, number>> {
  const rows = await readResults(file);
  const base = dirname(resolve(file));
  const out = new Map<string, number>();
  let seen = false;
  for (const row of rows) {
    const p = (row.path ?? row.file) as unknown;
    if (typeof p !== "string" || !p) continue;
    const keys = isAbsolute(p)
      ? [p]
      : typeof row.path === "string"
      ? [...new Set([resolve(p), resolve(base, p)])]
      : [resolve(base, p)];
    const nested = (row as Record<string, unknown>).scores;
    const raw = column in row
      ? row[column]
      : nested && typeof nested === "object"
      ? (nested as Record<string, unknown>)[column]
      : undefined;
    if (raw !== undefined) seen = true;
    const v = typeof raw === "number"
      ? raw
      : typeof raw === "string" && raw.trim() !== ""
      ? Number(raw)
      : NaN;
    if (Number.isFinite(v)) { for (const k of keys) out.set(k, v); }
  }
  if (!seen) {
    const cols = rows.length ? Object.keys(rows[0]).join(", ") : "none";
    throw new StatsError(`${file}: no column "${column}" (columns: ${cols})`);
  }
  return out;
}

/** Options of {@link simulateAbRows}. */
export interface AbSimulationOptions {
  comparisons: number;
  /** Prompts (each system has one image per prompt). Default 200. */
  prompts?: number;
  /** Rater names; each comparison goes to one of them in turn. Default ["sim"]. */
  raters?: readonly string[];
  /** Share of comparisons that show an earlier pair again (to the same rater). Default 0.1. */
  repeatShare?: number;
  /** Probability of a tie. Default 0.05. */
  tieRate?: number;
  seed?: number;
}

/**
 * A simulated A/B session as `ab.csv` rows, from known log strengths: two systems and a prompt are
 * drawn, their images (`SYSTEM/pNNN.png`, paths that need not exist) shown in a random order, and
 * the rater prefers one with the Bradley–Terry probability. A share of rows repeats an earlier pair
 * (sides drawn again) with a fresh draw of the choice, as a real rater's inconsistency would.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { simulateAbRows } from "./ab.ts";
 * const rows = simulateAbRows({ a: 0.5, b: -0.5 }, { comparisons: 20, seed: 1 });
 * assert.equal(rows.length, 20);
 * assert.ok(rows.every((r) => r.left_system !== r.right_system));
 * ```
 */
export function simulateAbRows(
  logStrengths: Readonly<Record<string, number>>,
  options: AbSimulationOptions,
): AbRow[] {
  const names = Object.keys(logStrengths);
  if (names.length < 2) throw new StatsError("simulateAbRows: need at least 2 systems");
  const prompts = options.prompts ?? 200;
  const raters = options.raters ?? ["sim"];
  const repeatShare = options.repeatShare ?? 0.1;
  const tieRate = options.tieRate ?? 0.05;
  const rand = seededRandom(options.seed ?? 0);
  const rows: AbRow[] = [];
  const shown: { a: string; b: string; p: number; rater: string }[] = [];
  for (let t = 0; t < options.comparisons; t++) {
    const rater = raters[t % raters.length];
    const earlier = shown.filter((s) => s.rater === rater);
    let pair: { a: string; b: string; p: number; rater: string };
    let repeat = false;
    if (earlier.length && rand() < repeatShare) {
      pair = earlier[Math.floor(rand() * earlier.length)];
      repeat = true;
    } else {
      const i = Math.floor(rand() * names.length);
      let j = Math.floor(rand() * (names.length - 1));
      if (j >= i) j++;
      pair = { a: names[i], b: names[j], p: Math.floor(rand() * prompts), rater };
      shown.push(pair);
    }
    const [left, right] = rand() < 0.5 ? [pair.a, pair.b] : [pair.b, pair.a];
    const pLeft = 1 / (1 + Math.exp(logStrengths[right] - logStrengths[left]));
    const u = rand();
    const choice = rand() < tieRate ? "tie" : u < pLeft ? "left" : "right";
    const file = (s: string) => `${s}/p${String(pair.p).padStart(3, "0")}.png`;
    rows.push({
      left_path: file(left),
      right_path: file(right),
      left_system: left,
      right_system: right,
      choice,
      rater,
      prompt: `prompt ${pair.p}`,
      repeat,
    });
  }
  return rows;
}
