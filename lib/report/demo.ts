/**
 * The demo on real generations: a seeded subset of the shipped hand-labeled images
 * (`data/labels/`) is scored for real with the usability and face scores, and the verdicts are
 * compared with what people decided — a confusion table, how many rejected images were caught and
 * how many good ones were lost — plus an HTML report with the contact sheet of the mistakes.
 *
 * Honest by construction: the shipped `usable` model was fitted on these very labels, so the demo
 * refits it (same features and C, same command's code) on the labeled images NOT in its subset, from
 * the cached score table `data/models/labels_scores.csv`, derives its threshold on that fit's
 * out-of-fold scores, and scores the subset with the held-out model. The subset's images are never
 * seen by the model that judges them.
 *
 * @module
 */
import { join, relative, resolve } from "node:path";
import { shownPath } from "../core/files.ts";
import { loadImageLabels, SHIPPED_IMAGE_LABELS } from "../labels/format.ts";
import { stableSubset } from "../core/random.ts";
import { runScoreJob } from "../score/job.ts";
import type { Row } from "../score/results.ts";
import { defaultRulesWithCalibrated, type ThresholdRule } from "../score/rules.ts";
import { resolveHeuristics } from "../heuristics/registry.ts";
import { fitScorer } from "../calibrate/fit_scorer.ts";
import {
  DEFAULT_LABEL_SCORES,
  USABLE_C,
  USABLE_FEATURES,
  usableRows,
  usableRule,
} from "../calibrate/fit_usable.ts";
import { writeScorer } from "../calibrate/fit_recipes.ts";
import { contactSheet } from "./plots/contact_sheet.ts";
import { renderHtmlReport } from "./html.ts";

/** Options of {@link runRealDemo}. */
export interface RealDemoOptions {
  /** Output folder (default `out/demo`). */
  outDir?: string;
  /** Images in the subset (default 40) and how many of them people rejected (default 12, or all there are). */
  images?: number;
  rejected?: number;
  /** Seed of the subset (default 0). */
  seed?: number;
  /** Labels (default the shipped `data/labels/images.csv`) and their cached score table. */
  labels?: string;
  labelScores?: string;
  jobs?: number;
  quiet?: boolean;
}

/** Counts of verdicts against labels: "positive" = rejected. */
export interface Confusion {
  /** People rejected, winnow rejected (caught). */
  caught: number;
  /** People rejected, winnow kept (missed). */
  missed: number;
  /** People kept, winnow rejected (good images lost). */
  lost: number;
  /** People kept, winnow kept. */
  kept: number;
}

/** One judged image of the demo. */
export interface DemoImage {
  /** Path relative to the working directory (the project). */
  path: string;
  usable: boolean;
  errors: string[];
  kept: boolean;
  reasons: string[];
  usableScore: number | null;
  faceMinQuality: number | null;
}

/** What {@link runRealDemo} did. */
export interface RealDemo {
  images: DemoImage[];
  confusion: Confusion;
  /** Confusion of each rule alone, by error type. */
  byReason: Record<string, Confusion>;
  rules: ThresholdRule[];
  /** Held-out fit: images it was fitted on, its out-of-fold AUC. */
  heldOut: { rows: number; unusable: number; auc: number; low: number; high: number; model: string };
  scores: string;
  report: string;
  seconds: number;
}

/**
 * Confusion counts of verdicts (`kept`) against labels (`usable`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusion } from "./demo.ts";
 * const c = confusion([{ usable: false, kept: false }, { usable: false, kept: true }, { usable: true, kept: false }]);
 * assert.deepEqual(c, { caught: 1, missed: 1, lost: 1, kept: 0 });
 * ```
 */
export function confusion(items: readonly { usable: boolean; kept: boolean }[]): Confusion {
  const c: Confusion = { caught: 0, missed: 0, lost: 0, kept: 0 };
  for (const i of items) {
    if (!i.usable) i.kept ? c.missed++ : c.caught++;
    else i.kept ? c.kept++ : c.lost++;
  }
  return c;
}

const pct = (a: number, b: number) => (b ? `${Math.round((100 * a) / b)} %` : "—");

/**
 * The confusion table as text lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionText } from "./demo.ts";
 * const t = confusionText({ caught: 6, missed: 6, lost: 5, kept: 23 });
 * assert.match(t, /caught 6 of the 12 images people rejected \(50 %\)/);
 * assert.match(t, /lost 5 of the 28 images people kept \(18 %\)/);
 * ```
 */
export function confusionText(c: Confusion): string {
  const w = 18;
  const row = (a: string, b: string | number, d: string | number) =>
    `  ${a.padEnd(18)}${String(b).padStart(w)}${String(d).padStart(w)}`;
  return [
    row("", "people kept", "people rejected"),
    row("winnow kept", c.kept, c.missed),
    row("winnow rejected", c.lost, c.caught),
    "",
    `  caught ${c.caught} of the ${c.caught + c.missed} images people rejected (${
      pct(c.caught, c.caught + c.missed)
    }); lost ${c.lost} of the ${c.lost + c.kept} images people kept (${pct(c.lost, c.lost + c.kept)})`,
  ].join("\n");
}

/**
 * Runs the demo on real generations (see the module doc) and writes `scores.csv`,
 * `usable_heldout.json` and `report.html` to `outDir`.
 *
 * @example
 * ```ts ignore
 * import { confusionText, runRealDemo } from "./demo.ts";
 * const demo = await runRealDemo({ images: 20 });
 * console.log(confusionText(demo.confusion));
 * ```
 */
export async function runRealDemo(o: RealDemoOptions = {}): Promise<RealDemo> {
  const t0 = performance.now();
  const outDir = o.outDir ?? "out/demo";
  const labelsFile = o.labels ?? SHIPPED_IMAGE_LABELS;
  const n = o.images ?? 40, seed = o.seed ?? 0;
  await Deno.mkdir(outDir, { recursive: true });
  const labels = (await loadImageLabels(labelsFile, { checkFiles: true })).rows
    .map((l) => ({ ...l, path: resolve(l.path) }));
  const key = (l: { path: string }) => relative(resolve(labelsFile, ".."), l.path);
  const bad = labels.filter((l) => !l.usable), good = labels.filter((l) => l.usable);
  const nBad = Math.min(bad.length, o.rejected ?? Math.min(12, Math.floor(n / 3)));
  const subset = [
    ...stableSubset(bad, nBad, { key, seed }),
    ...stableSubset(good, Math.max(0, n - nBad), { key, seed }),
  ];
  const chosen = new Set(subset.map((l) => l.path));

  // The usable model, refitted without the demo's images.
  const train = await usableRows({
    labels: labelsFile,
    scores: o.labelScores ?? DEFAULT_LABEL_SCORES,
    exclude: chosen,
  });
  const modelFile = join(outDir, "usable_heldout.json");
  const command = `deno task demo (refit of deno task fit usable without the demo's ${subset.length} images)`;
  const fit = fitScorer(train.rows, train.y, {
    name: "usable",
    output: "usable_score",
    target: "a person would keep the image (labels' usable = yes)",
    features: [...USABLE_FEATURES],
    C: USABLE_C,
    repeats: 0,
    resamples: 200,
    labels: shownPath(labelsFile),
    command,
    notes: { heldOut: `the demo's ${subset.length} images (seed ${seed}) are left out` },
  });
  await writeScorer(modelFile, fit.scorer);
  const usableRuleHeld = usableRule(train.y, fit.outOfFold, shownPath(labelsFile), command);

  const heuristics = ["faces", "usable"];
  const rules = (await defaultRulesWithCalibrated(resolveHeuristics(heuristics)))
    .filter((r) => r.column !== "usable_score")
    .concat(usableRuleHeld);
  const scores = join(outDir, "scores.csv");
  const r = await runScoreJob(subset.map((l) => l.path), scores, {
    heuristics,
    rules,
    settings: { usable: { model: resolve(modelFile) } },
    jobs: o.jobs,
    restart: true,
    quiet: o.quiet,
  });
  const byPath = new Map<string, Row>(r.rows.map((x) => [resolve(String(x.path)), x]));
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const images: DemoImage[] = subset.map((l) => {
    const row = byPath.get(l.path);
    const reasons = String(row?.reject_reasons ?? "").split(";").filter(Boolean);
    return {
      path: shownPath(l.path),
      usable: l.usable,
      errors: [...l.errors],
      kept: row?.kept === true || row?.kept === "true",
      reasons: row ? reasons : ["unscored"],
      usableScore: num(row?.usable_score),
      faceMinQuality: num(row?.face_min_quality),
    };
  });
  const byReason: Record<string, Confusion> = {};
  for (const rule of rules) {
    byReason[rule.error_type] = confusion(images.map((i) => ({
      usable: i.usable,
      kept: !i.reasons.includes(rule.error_type),
    })));
  }
  const demo: RealDemo = {
    images,
    confusion: confusion(images),
    byReason,
    rules,
    heldOut: {
      rows: train.y.length,
      unusable: train.y.filter((v) => v === 0).length,
      auc: fit.scorer.provenance.outOfFold.auc,
      low: fit.scorer.provenance.outOfFold.low,
      high: fit.scorer.provenance.outOfFold.high,
      model: shownPath(modelFile),
    },
    scores: shownPath(scores),
    report: shownPath(join(outDir, "report.html")),
    seconds: 0,
  };
  demo.seconds = (performance.now() - t0) / 1000;
  await writeDemoReport(demo, join(outDir, "report.html"), labelsFile);
  return demo;
}

function caption(i: DemoImage): string {
  const name = i.path.split("/").pop()!.replace(/\.[a-z]+$/i, "");
  return `${i.usableScore === null ? "" : `u=${i.usableScore.toFixed(2)} `}${name}`;
}

/** Writes the demo's HTML report: summary, confusion, rules, the contact sheet of its mistakes. */
export async function writeDemoReport(demo: RealDemo, file: string, labelsFile: string): Promise<void> {
  const missed = demo.images.filter((i) => !i.usable && i.kept);
  const lost = demo.images.filter((i) => i.usable && !i.kept);
  const sheet = await contactSheet({
    kept: missed.map((i) => ({
      image: i.path,
      caption: caption(i),
      reasons: `people: ${i.errors.join(";") || "no"}`,
    })),
    rejected: lost.map((i) => ({ image: i.path, caption: caption(i), reasons: i.reasons })),
  }, {
    title: "The demo's mistakes",
    thumbSize: 150,
    columns: 5,
    headings: {
      kept: "Kept by winnow, rejected by people",
      rejected: "Rejected by winnow, kept by people",
    },
  });
  await Deno.writeFile(file.replace(/\.html$/, "") + "_mistakes.png", sheet.png);
  const c = demo.confusion;
  const html = renderHtmlReport({
    title: "winnow demo on real generations",
    intro:
      `${demo.images.length} hand-labeled generations from ${shownPath(labelsFile)} (a seeded subset; ${
        c.caught + c.missed
      } of them rejected by people) scored with the face and ` +
      `usability scores. The usability model judging them was refitted without them ` +
      `(${demo.heldOut.rows} other labeled images, out-of-fold AUC ${
        demo.heldOut.auc.toFixed(3)
      }, 95 % interval ` +
      `${demo.heldOut.low.toFixed(3)}–${
        demo.heldOut.high.toFixed(3)
      }), so these verdicts are on unseen images. ` +
      `With ${c.caught + c.missed} rejected images the rates below move a lot from one seed to another.`,
    summary: [
      ["images", demo.images.length],
      ["rejected by people", c.caught + c.missed],
      ["caught by winnow", `${c.caught} (${pct(c.caught, c.caught + c.missed)})`],
      ["good images lost", `${c.lost} of ${c.lost + c.kept} (${pct(c.lost, c.lost + c.kept)})`],
      ["run time", `${demo.seconds.toFixed(0)} s`],
    ],
    sections: [
      {
        heading: "Confusion against the labels",
        tables: [{
          columns: ["", "people kept", "people rejected"],
          rows: [["winnow kept", c.kept, c.missed], ["winnow rejected", c.lost, c.caught]],
        }, {
          caption: "Each rule alone (an image can fail several)",
          columns: ["rule", "error type", "caught", "missed", "good lost"],
          rows: demo.rules.map((r) => {
            const b = demo.byReason[r.error_type];
            const bound = r.min !== undefined ? `≥ ${r.min}` : `≤ ${r.max}`;
            return [`${r.column} ${bound}`, r.error_type, b.caught, b.missed, b.lost];
          }),
        }],
      },
      {
        heading: "Mistakes",
        text: "Top: images people rejected that winnow kept (with the people's error types). Bottom: " +
          "good images winnow rejected (with winnow's reasons). u = usable_score.",
        figures: [{ png: sheet.png, width: sheet.width, alt: "contact sheet of the mistakes" }],
      },
      {
        heading: "Every image",
        tables: [{
          columns: [
            "path",
            "people",
            "people's errors",
            "winnow",
            "reasons",
            "usable_score",
            "face_min_quality",
          ],
          rows: demo.images.map((i) => [
            i.path,
            i.usable ? "kept" : "rejected",
            i.errors.join(";"),
            i.kept ? "kept" : "rejected",
            i.reasons.join(";"),
            i.usableScore,
            i.faceMinQuality,
          ]),
        }],
      },
    ],
  });
  await Deno.writeTextFile(file, html);
}
