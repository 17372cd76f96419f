/**
 * Two raters' label files → agreement statistics, the items they disagree on, and a consensus.
 *
 * Agreement (over the items both raters labeled; images join on the resolved path, faces on the
 * same image with IoU ≥ 0.5):
 * - images: Cohen's kappa of `usable`; kappa (unweighted, linear, quadratic) and Spearman of `quality`;
 * - faces: Cohen's kappa of "bad face" (quality ≤ 2); weighted kappa and Spearman of `quality`.
 *
 * Consensus rule (the one `../shared/data/` was built with):
 * - an image whose `usable` labels differ is dropped; otherwise `usable` is the common value,
 *   `quality` the two raters' mean rounded down, `errors` the union of both raters' errors;
 * - a face whose qualities differ by more than one point is dropped, and so is a face only one
 *   rater labeled; otherwise `quality` is the mean rounded down and the box is rater A's;
 * - an item a third rater labeled (the "settled" files, from the app's review view) takes the
 *   third rater's label instead, whatever the two said.
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import { csvLine } from "../core/csv.ts";
import { WinnowError } from "../core/errors.ts";
import {
  type Box,
  ERROR_TYPES,
  type ErrorType,
  type FaceLabel,
  type ImageLabel,
  loadFaceLabels,
  loadImageLabels,
  matchFaces,
} from "./format.ts";
import { cohenKappa as kappaOf, MetricError, spearman as spearmanOf } from "./agreement.ts";

/** The statistic, or NaN where it is undefined (no items, a constant rater). */
function orNaN(f: () => number): number {
  try {
    return f();
  } catch (e) {
    if (e instanceof MetricError) return NaN;
    throw e;
  }
}
const cohenKappa = <T extends string | number>(
  a: T[],
  b: T[],
  weights: "none" | "linear" | "quadratic" = "none",
) => orNaN(() => kappaOf(a, b, { weights }));
const spearman = (a: number[], b: number[]) => orNaN(() => spearmanOf(a, b));

/** Image agreement over the images both raters labeled. Kappas are NaN when undefined. */
export interface ImageAgreement {
  /** Images both raters labeled. */
  items: number;
  /** Images only rater A (B) labeled; not counted anywhere else. */
  onlyA: number;
  onlyB: number;
  /** Fraction of items with the same `usable`. */
  usableAgreement: number;
  usableKappa: number;
  qualityKappa: number;
  qualityKappaLinear: number;
  qualityKappaQuadratic: number;
  qualitySpearman: number;
}

/** Face agreement over the faces both raters labeled (joined by IoU ≥ 0.5). */
export interface FaceAgreement {
  items: number;
  onlyA: number;
  onlyB: number;
  /** Kappa of quality ≤ 2 ("bad face") against ≥ 3. */
  badFaceKappa: number;
  qualityKappa: number;
  qualityKappaLinear: number;
  qualityKappaQuadratic: number;
  qualitySpearman: number;
}

/** One rater's values for a disagreeing item (`undefined` = that rater has no label for it). */
export interface RaterValues {
  usable?: boolean;
  quality?: number;
  errors?: ErrorType[];
}

/** An item the raters disagree on, with why. */
export interface Disagreement {
  kind: "image" | "face";
  /** Absolute path of the image. */
  path: string;
  /** The face box (rater A's, or B's when A has none); faces only. */
  box?: Box;
  a: RaterValues;
  b: RaterValues;
  /** Short reasons, e.g. `usable: yes vs no`, `quality: 5 vs 2`. */
  reasons: string[];
}

/** One rater's label files. */
export interface RaterLabels {
  images?: readonly ImageLabel[];
  faces?: readonly FaceLabel[];
}

/** A rater's labels that are not there: no such path, or a folder without images.csv and faces.csv. */
export class RaterLabelsNotFoundError extends WinnowError {}

/**
 * Loads one rater's labels from an `images.csv` file, or from a folder holding `images.csv`
 * and/or `faces.csv` (the label app's output folder for that rater).
 *
 * @example
 * ```ts ignore
 * import { compareRaters, loadRaterLabels } from "./consensus.ts";
 * const report = compareRaters(await loadRaterLabels("labels/ann"), await loadRaterLabels("labels/bob"));
 * ```
 */
export async function loadRaterLabels(path: string): Promise<RaterLabels> {
  const st = await Deno.stat(path).catch(() => null);
  if (!st) throw new RaterLabelsNotFoundError(`${path}: no such file or folder`);
  if (st.isFile) return { images: (await loadImageLabels(path)).rows };
  const has = (f: string) => Deno.stat(join(path, f)).then(() => true, () => false);
  const r: RaterLabels = {};
  if (await has("images.csv")) r.images = (await loadImageLabels(join(path, "images.csv"))).rows;
  if (await has("faces.csv")) r.faces = (await loadFaceLabels(join(path, "faces.csv"))).rows;
  if (!r.images && !r.faces) {
    throw new RaterLabelsNotFoundError(`${path}: no images.csv or faces.csv in this folder`);
  }
  return r;
}

/** What {@link compareRaters} finds. */
export interface AgreementReport {
  images?: ImageAgreement;
  faces?: FaceAgreement;
  /** Images whose `usable` differs or whose quality differs by 2 or more; faces one rater did not
   * label, whose "bad face" differs or whose quality differs by 2 or more. Images first, by path. */
  disagreements: Disagreement[];
}

const yesNo = (u: boolean | undefined) => u === undefined ? "none" : u ? "yes" : "no";

function joinImages(a: readonly ImageLabel[], b: readonly ImageLabel[]) {
  const byB = new Map(b.map((r) => [r.path, r]));
  const pairs: [ImageLabel, ImageLabel][] = [];
  for (const r of a) {
    const s = byB.get(r.path);
    if (s) pairs.push([r, s]);
  }
  return { pairs, onlyA: a.length - pairs.length, onlyB: b.length - pairs.length };
}

/**
 * Agreement statistics and disagreements of two raters. Either kind may be missing on either side.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseImageLabels } from "./format.ts";
 * import { compareRaters } from "./consensus.ts";
 * const a = parseImageLabels("path,usable,quality,errors\nx.jpg,yes,5,\ny.jpg,no,2,blur\nz.jpg,yes,4,\n");
 * const b = parseImageLabels("path,usable,quality,errors\nx.jpg,yes,4,\ny.jpg,yes,4,\nz.jpg,yes,4,\n");
 * const r = compareRaters({ images: a.rows }, { images: b.rows });
 * assert.equal(r.images!.items, 3);
 * assert.equal(r.disagreements.length, 1);
 * assert.deepEqual(r.disagreements[0].reasons, ["usable: no vs yes", "quality: 2 vs 4"]);
 * ```
 */
export function compareRaters(a: RaterLabels, b: RaterLabels): AgreementReport {
  const report: AgreementReport = { disagreements: [] };
  if (a.images && b.images) {
    const { pairs, onlyA, onlyB } = joinImages(a.images, b.images);
    const ua = pairs.map(([p]) => yesNo(p.usable)), ub = pairs.map(([, q]) => yesNo(q.usable));
    const qa = pairs.map(([p]) => p.quality), qb = pairs.map(([, q]) => q.quality);
    report.images = {
      items: pairs.length,
      onlyA,
      onlyB,
      usableAgreement: pairs.length ? ua.filter((u, i) => u === ub[i]).length / pairs.length : NaN,
      usableKappa: cohenKappa(ua, ub),
      qualityKappa: cohenKappa(qa, qb),
      qualityKappaLinear: cohenKappa(qa, qb, "linear"),
      qualityKappaQuadratic: cohenKappa(qa, qb, "quadratic"),
      qualitySpearman: spearman(qa, qb),
    };
    const rows: Disagreement[] = [];
    for (const [p, q] of pairs) {
      const reasons: string[] = [];
      if (p.usable !== q.usable) reasons.push(`usable: ${yesNo(p.usable)} vs ${yesNo(q.usable)}`);
      if (Math.abs(p.quality - q.quality) >= 2) reasons.push(`quality: ${p.quality} vs ${q.quality}`);
      if (reasons.length) rows.push({ kind: "image", path: p.path, a: values(p), b: values(q), reasons });
    }
    rows.sort((x, y) => x.path < y.path ? -1 : x.path > y.path ? 1 : 0);
    report.disagreements.push(...rows);
  }
  if (a.faces && b.faces) {
    const m = matchFaces(b.faces, a.faces);
    const qa = m.matches.map((p) => p.labeled.quality), qb = m.matches.map((p) => p.detected.quality);
    report.faces = {
      items: m.matches.length,
      onlyA: m.unmatchedLabeled.length,
      onlyB: m.unmatchedDetected.length,
      badFaceKappa: cohenKappa(qa.map((q) => q <= 2 ? "bad" : "ok"), qb.map((q) => q <= 2 ? "bad" : "ok")),
      qualityKappa: cohenKappa(qa, qb),
      qualityKappaLinear: cohenKappa(qa, qb, "linear"),
      qualityKappaQuadratic: cohenKappa(qa, qb, "quadratic"),
      qualitySpearman: spearman(qa, qb),
    };
    const rows: Disagreement[] = [];
    for (const p of m.matches) {
      const x = p.labeled.quality, y = p.detected.quality, reasons: string[] = [];
      if ((x <= 2) !== (y <= 2)) {
        reasons.push(`bad face: ${x <= 2 ? "yes" : "no"} vs ${y <= 2 ? "yes" : "no"}`);
      }
      if (Math.abs(x - y) >= 2) reasons.push(`quality: ${x} vs ${y}`);
      if (reasons.length) {
        rows.push({
          kind: "face",
          path: p.labeled.path,
          box: box(p.labeled),
          a: { quality: x },
          b: { quality: y },
          reasons,
        });
      }
    }
    for (const i of m.unmatchedLabeled) {
      const f = a.faces[i];
      rows.push({
        kind: "face",
        path: f.path,
        box: box(f),
        a: { quality: f.quality },
        b: {},
        reasons: ["only rater A labeled this face"],
      });
    }
    for (const i of m.unmatchedDetected) {
      const f = b.faces[i];
      rows.push({
        kind: "face",
        path: f.path,
        box: box(f),
        a: {},
        b: { quality: f.quality },
        reasons: ["only rater B labeled this face"],
      });
    }
    rows.sort((x, y) =>
      x.path < y.path ? -1 : x.path > y.path ? 1 : x.box!.y - y.box!.y || x.box!.x - y.box!.x
    );
    report.disagreements.push(...rows);
  }
  return report;
}

const values = (r: ImageLabel): RaterValues => ({
  usable: r.usable,
  quality: r.quality,
  errors: [...r.errors],
});
const box = (f: Box): Box => ({ x: f.x, y: f.y, width: f.width, height: f.height });

/** A consensus image row; `source` says how it was decided. */
export interface ConsensusImage {
  path: string;
  usable: boolean;
  quality: number;
  errors: ErrorType[];
  usableA: boolean;
  usableB: boolean;
  qualityA: number;
  qualityB: number;
  source: "agreed" | "settled";
}

/** A consensus face row. */
export interface ConsensusFace extends Box {
  path: string;
  quality: number;
  /** Undefined when the face was settled without one of the raters' labels. */
  qualityA?: number;
  qualityB?: number;
  source: "agreed" | "settled";
}

/** What {@link buildConsensus} gives. */
export interface Consensus {
  images: ConsensusImage[];
  faces: ConsensusFace[];
  /** Images dropped because `usable` differed and nobody settled them. */
  droppedImages: number;
  /** Faces dropped: quality apart by more than one point, or labeled by one rater only. */
  droppedFaces: number;
}

/**
 * Builds the consensus of two raters by the module's rule, with an optional third rater's labels
 * taking precedence on the items they cover.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseImageLabels } from "./format.ts";
 * import { buildConsensus } from "./consensus.ts";
 * const a = parseImageLabels("path,usable,quality,errors\nx.jpg,yes,5,\ny.jpg,no,2,blur\nz.jpg,no,1,artifact\n");
 * const b = parseImageLabels("path,usable,quality,errors\nx.jpg,yes,4,\ny.jpg,yes,4,\nz.jpg,no,2,blur\n");
 * const c = buildConsensus({ images: a.rows }, { images: b.rows });
 * assert.deepEqual(c.images.map((r) => [r.path.split("/").pop(), r.quality, r.errors]), [
 *   ["x.jpg", 4, []], // mean 4.5 rounded down
 *   ["z.jpg", 1, ["blur", "artifact"]], // union, in vocabulary order
 * ]);
 * assert.equal(c.droppedImages, 1); // y.jpg: usable differs
 * ```
 */
export function buildConsensus(a: RaterLabels, b: RaterLabels, settled: RaterLabels = {}): Consensus {
  const out: Consensus = { images: [], faces: [], droppedImages: 0, droppedFaces: 0 };
  const settledImages = new Map((settled.images ?? []).map((r) => [r.path, r]));
  for (const [p, q] of joinImages(a.images ?? [], b.images ?? []).pairs) {
    const base = {
      path: p.path,
      usableA: p.usable,
      usableB: q.usable,
      qualityA: p.quality,
      qualityB: q.quality,
    };
    const s = settledImages.get(p.path);
    if (s) {
      out.images.push({
        ...base,
        usable: s.usable,
        quality: s.quality,
        errors: [...s.errors],
        source: "settled",
      });
    } else if (p.usable !== q.usable) {
      out.droppedImages++;
    } else {
      const errors = ERROR_TYPES.filter((e) => p.errors.includes(e) || q.errors.includes(e));
      out.images.push({
        ...base,
        usable: p.usable,
        quality: Math.floor((p.quality + q.quality) / 2),
        errors,
        source: "agreed",
      });
    }
  }
  const m = matchFaces(b.faces ?? [], a.faces ?? []);
  const settledFaces = settled.faces ?? [];
  const usedSettled = new Set<number>();
  const settle = (f: FaceLabel): FaceLabel | undefined => {
    const sm = matchFaces(settledFaces, [f]).matches.find((x) => !usedSettled.has(x.detectedIndex));
    if (sm) usedSettled.add(sm.detectedIndex);
    return sm?.detected;
  };
  const candidates: { face: FaceLabel; qa?: number; qb?: number }[] = [
    ...m.matches.map((p) => ({ face: p.labeled, qa: p.labeled.quality, qb: p.detected.quality })),
    ...m.unmatchedLabeled.map((i) => ({ face: a.faces![i], qa: a.faces![i].quality })),
    ...m.unmatchedDetected.map((i) => ({ face: b.faces![i], qb: b.faces![i].quality })),
  ];
  for (const { face, qa, qb } of candidates) {
    const s = settle(face);
    const base = { path: face.path, ...box(s ?? face), qualityA: qa, qualityB: qb };
    if (s) out.faces.push({ ...base, quality: s.quality, source: "settled" });
    else if (qa === undefined || qb === undefined || Math.abs(qa - qb) > 1) out.droppedFaces++;
    else out.faces.push({ ...base, quality: Math.floor((qa + qb) / 2), source: "agreed" });
  }
  out.faces.sort((x, y) => x.path < y.path ? -1 : x.path > y.path ? 1 : x.y - y.y || x.x - y.x);
  return out;
}

/**
 * Consensus images as an `images.csv` (CONTRACTS format) with the extra columns `usable_a,
 * usable_b, quality_a, quality_b, source`; paths are written relative to `labelFile`'s folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { consensusImagesCsv } from "./consensus.ts";
 * const csv = consensusImagesCsv([{ path: "/d/img/x.jpg", usable: true, quality: 4, errors: [], usableA: true,
 *   usableB: true, qualityA: 4, qualityB: 5, source: "agreed" }], "/d/labels/images.csv");
 * assert.equal(csv.split("\n")[1], "../img/x.jpg,yes,4,,yes,yes,4,5,agreed");
 * ```
 */
export function consensusImagesCsv(rows: readonly ConsensusImage[], labelFile: string): string {
  const dir = dirname(labelFile);
  return csvLine([
    "path",
    "usable",
    "quality",
    "errors",
    "usable_a",
    "usable_b",
    "quality_a",
    "quality_b",
    "source",
  ]) +
    rows.map((r) =>
      csvLine([
        relative(dir, r.path),
        yesNo(r.usable),
        r.quality,
        r.errors.join(";"),
        yesNo(r.usableA),
        yesNo(r.usableB),
        r.qualityA,
        r.qualityB,
        r.source,
      ])
    ).join("");
}

/**
 * Consensus faces as a `faces.csv` (CONTRACTS format) with the extra columns `quality_a,
 * quality_b, source`; paths relative to `labelFile`'s folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { consensusFacesCsv } from "./consensus.ts";
 * const csv = consensusFacesCsv([{ path: "/d/img/x.jpg", x: 1, y: 2, width: 30.5, height: 40, quality: 3,
 *   qualityA: 3, qualityB: 4, source: "agreed" }], "/d/labels/faces.csv");
 * assert.equal(csv.split("\n")[1], "../img/x.jpg,1,2,30.5,40,3,3,4,agreed");
 * ```
 */
export function consensusFacesCsv(rows: readonly ConsensusFace[], labelFile: string): string {
  const dir = dirname(labelFile);
  return csvLine(["path", "x", "y", "width", "height", "quality", "quality_a", "quality_b", "source"]) +
    rows.map((r) =>
      csvLine([
        relative(dir, r.path),
        r.x,
        r.y,
        r.width,
        r.height,
        r.quality,
        r.qualityA,
        r.qualityB,
        r.source,
      ])
    ).join("");
}

/**
 * Disagreements as CSV: `kind, path, x, y, width, height, usable_a, usable_b, quality_a,
 * quality_b, errors_a, errors_b, reasons` (paths relative to `file`'s folder).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { disagreementsCsv } from "./consensus.ts";
 * const csv = disagreementsCsv([{ kind: "image", path: "/d/x.jpg", a: { usable: true, quality: 5, errors: [] },
 *   b: { usable: false, quality: 2, errors: ["blur"] }, reasons: ["usable: yes vs no"] }], "/d/out.csv");
 * assert.equal(csv.split("\n")[1], "image,x.jpg,,,,,yes,no,5,2,,blur,usable: yes vs no");
 * ```
 */
export function disagreementsCsv(rows: readonly Disagreement[], file: string): string {
  const dir = dirname(file);
  const yn = (u?: boolean) => u === undefined ? "" : yesNo(u);
  return csvLine([
    "kind",
    "path",
    "x",
    "y",
    "width",
    "height",
    "usable_a",
    "usable_b",
    "quality_a",
    "quality_b",
    "errors_a",
    "errors_b",
    "reasons",
  ]) + rows.map((d) =>
    csvLine([
      d.kind,
      relative(dir, d.path),
      d.box?.x,
      d.box?.y,
      d.box?.width,
      d.box?.height,
      yn(d.a.usable),
      yn(d.b.usable),
      d.a.quality,
      d.b.quality,
      d.a.errors?.join(";"),
      d.b.errors?.join(";"),
      d.reasons.join("; "),
    ])
  ).join("");
}
