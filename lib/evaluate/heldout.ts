/**
 * Held-out judgement of winnow's learned scorers (`deno task heldout`): apply scorer files as they
 * are — never refitted — to hand labels they were not fitted on, and report the AUCs with
 * stratified bootstrap intervals and the counts they rest on.
 *
 * - `face_quality` (per face): the labeled faces' images are scored with the `faces` heuristic at
 *   the settings the fit uses (`fit_recipes.ts`: found at the detector's default threshold, every
 *   face found measured), labeled boxes are matched to detected ones (IoU ≥ 0.5), and bad faces
 *   (quality ≤ 2) are judged against good ones (≥ 4), on all faces and on faces ≥ 32 px.
 * - `usable` (per image): the labeled images are scored with the heuristics the scorer's columns come
 *   from (`usableRows` of `fit_usable.ts`) and `usable_score` is judged on usable = yes against no.
 *
 * Single signals are shown beside each scorer, each oriented the way the scorer's own fit oriented
 * it (the direction recorded in the file's provenance, chosen on the fitting labels), never the way
 * it separates best on the held-out set. `exclude` leaves out labeled images whose bytes equal an
 * image named by another labels set (e.g. the one the scorers were fitted on), so different
 * relative paths or file names do not matter.
 *
 * @module
 */
import { basename, dirname, join, relative, resolve } from "node:path";
import { createHash } from "node:crypto";
import {
  type FaceLabel,
  type ImageLabel,
  type LabelFile,
  LabelFormatError,
  loadFaceLabels,
  loadImageLabels,
} from "../labels/format.ts";
import { applyScorer, featureValue, loadScorer, type Scorer, shippedScorerPath } from "../models/scorer.ts";
import { type AucWithInterval, aucWithInterval } from "../calibrate/fit_scorer.ts";
import { BAD_FACE_GROUP, FIT_RECIPES, LARGE_FACE_PX } from "../calibrate/fit_recipes.ts";
import { usableRows } from "../calibrate/fit_usable.ts";
import { shownPath } from "../core/files.ts";
import { sourcesOf } from "../heuristics/usable.ts";
import { HEURISTICS, resolveHeuristics } from "../heuristics/registry.ts";
import { defaultRulesWithCalibrated } from "../score/rules.ts";
import { writeAtomic } from "../core/atomic.ts";
import { csvLine } from "../core/csv.ts";
import { WinnowError } from "../core/errors.ts";

/** A held-out run that cannot start (a missing file, a scorer of the wrong kind, …). */
export class HeldoutError extends WinnowError {}

/** The scorers `heldout` judges, by name, and the output column each must fill. */
export const HELDOUT_SCORERS: Readonly<Record<string, string>> = {
  face_quality: "face_quality",
  usable: "usable_score",
};

/** Fewer members than this in a class makes an AUC an interval, not a verdict: warned about. */
export const FEW_MEMBERS = 5;

/** Options of {@link heldout}. */
export interface HeldoutOptions {
  /** A labels folder (its `images.csv`, and `faces.csv` when there) or an `images.csv`. */
  labels: string;
  /** A `faces.csv` (default: the labels folder's, when `labels` is a folder). */
  faces?: string;
  /**
   * Labels sets whose images are left out (matched by content): a folder (its images.csv and
   * faces.csv), or one label file — and then the other kind's file beside it too (`images.csv` ↔
   * `faces.csv`), since a labels set is the two together.
   */
  exclude?: readonly string[];
  /** Scorer files, each replacing the shipped file of its `name` (face_quality, usable). */
  scorers?: readonly string[];
  /** Folder for the filtered labels, the score tables (resumed on a rerun) and the reports. */
  out: string;
  jobs?: number;
  /** Bootstrap resamples (default 1000). */
  resamples?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** The command line, for the report. */
  command?: string;
  quiet?: boolean;
  /** Progress messages (what is being done). */
  onProgress?: (message: string) => void;
}

/** One single signal on the held-out set. */
export interface HeldoutSignal extends AucWithInterval {
  /** Which value counts as better ("higher": a larger value means the target class). */
  direction: "higher" | "lower";
  /** Where the direction came from (never the held-out labels). */
  orientedBy: string;
}

/** An AUC on the held-out set, or why there is none. */
export type HeldoutAuc = (AucWithInterval & { warning?: string }) | { missing: string };

/** The result of {@link heldout}; also written as `heldout.json`. */
export interface HeldoutResult {
  command?: string;
  labels: { images?: string; faces?: string };
  excluded: {
    /** Label files whose images were left out. */
    files: string[];
    /** How they were matched. */
    by: string;
    /** Images of those files (distinct contents). */
    excludeImages: number;
    /** Rows of `labels.images` left out, and kept. */
    labeledImagesExcluded: number;
    labeledImagesKept: number;
    /** Images with labeled faces left out, and kept; labeled faces left out and kept. */
    faceImagesExcluded: number;
    faceImagesKept: number;
    facesExcluded: number;
    facesKept: number;
    /** Kept images whose file name is that of an excluded image but whose bytes differ. */
    sameNameDifferentBytes: number;
  };
  faces?: {
    scorer: ScorerSummary;
    counts: Record<string, number>;
    badVsGood: HeldoutAuc;
    badVsGoodLarge: HeldoutAuc;
    singleSignals: Record<string, HeldoutSignal>;
    singleSignalsLarge: Record<string, HeldoutSignal>;
    /** The `--thresholds defaults` rule on face_min_quality, applied per labeled face found. */
    defaultRule?: RuleOutcome;
  };
  usable?: {
    scorer: ScorerSummary;
    counts: Record<string, number>;
    usableVsNot: HeldoutAuc;
    singleSignals: Record<string, HeldoutSignal>;
    /** The single signal that was best on the fitting labels (chosen before seeing these). */
    bestSingleSignal?: string;
    /** The `--thresholds defaults` rule on usable_score. */
    defaultRule?: RuleOutcome;
  };
  warnings: string[];
  /** Files written, relative to the working directory. */
  files: Record<string, string>;
}

/** A default rule `column ≥ min` applied to held-out rows: how many of each class fall below. */
export interface RuleOutcome {
  column: string;
  min: number;
  /** Rows of the class the rule should reject (bad faces, unusable images) below `min`, of all. */
  rejectBelow: number;
  reject: number;
  /** Rows of the class the rule should keep below `min`, of all. */
  keepBelow: number;
  keep: number;
}

/** The `--thresholds defaults` rule `column ≥ min` and how it splits rows of class 0 and 1. */
async function defaultRuleOutcome(
  column: string,
  y: readonly number[],
  score: readonly number[],
): Promise<RuleOutcome | undefined> {
  const rule = (await defaultRulesWithCalibrated(resolveHeuristics(["faces", "usable"])))
    .find((r) => r.column === column && r.min !== undefined);
  if (!rule) return undefined;
  const below = (c: number) => score.filter((v, i) => y[i] === c && v < rule.min!).length;
  return {
    column,
    min: rule.min!,
    rejectBelow: below(0),
    reject: y.filter((v) => v === 0).length,
    keepBelow: below(1),
    keep: y.filter((v) => v === 1).length,
  };
}

/** Which scorer file was judged, and what its own fit said. */
export interface ScorerSummary {
  file: string;
  name: string;
  fittedOn?: string;
  fitted?: string;
  /** The out-of-fold AUC the file records on its fitting labels (the group judged here, if any). */
  outOfFold?: { auc: number; low: number; high: number; positives?: number; negatives?: number };
}

async function isDir(p: string): Promise<boolean> {
  return await Deno.stat(p).then((s) => s.isDirectory, () => false);
}

async function exists(p: string): Promise<boolean> {
  return await Deno.stat(p).then((s) => s.isFile, () => false);
}

/** The kind of a label file, from its header (first line). */
async function labelKind(file: string): Promise<"images" | "faces"> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new HeldoutError(`${file}: label file not found`);
    throw e;
  }
  const header = (text.split(/\r?\n/, 1)[0] ?? "").split(",").map((c) => c.trim().replace(/^"|"$/g, ""));
  if (header.includes("usable")) return "images";
  if (header.includes("width") && header.includes("height")) return "faces";
  throw new HeldoutError(
    `${file}:1: header: neither an images.csv (path,usable,quality,errors) nor a faces.csv ` +
      `(path,x,y,width,height,quality) header, got "${header.join(",")}"`,
  );
}

/**
 * The label files of a labels set: a folder's `images.csv` and `faces.csv` (whichever exist), or
 * a label file and the other kind's file beside it, when there is one.
 */
export async function labelSetFiles(path: string): Promise<{ images?: string; faces?: string }> {
  if (await isDir(path)) {
    const images = join(path, "images.csv"), faces = join(path, "faces.csv");
    const out = {
      images: await exists(images) ? images : undefined,
      faces: await exists(faces) ? faces : undefined,
    };
    if (!out.images && !out.faces) {
      throw new HeldoutError(`${path}: no images.csv or faces.csv in this folder`);
    }
    return out;
  }
  const kind = await labelKind(path);
  const other = join(dirname(path), kind === "images" ? "faces.csv" : "images.csv");
  const sibling = (await exists(other)) && (await labelKind(other).catch(() => undefined)) !== kind
    ? other
    : undefined;
  return kind === "images" ? { images: path, faces: sibling } : { faces: path, images: sibling };
}

function checkRows<T>(r: LabelFile<T>, what: string): LabelFile<T> {
  if (r.rejected) {
    throw new HeldoutError(
      `${r.issues[0]?.message ?? r.file} (${r.rejected} row${r.rejected > 1 ? "s" : ""} of ${r.file} ` +
        `rejected; ${what})`,
    );
  }
  return r;
}

/** SHA-256 of a file's bytes, hex; one read per path (memoised in `cache`). */
async function contentHash(path: string, cache: Map<string, string>, where: string): Promise<string> {
  let h = cache.get(path);
  if (h === undefined) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (e) {
      throw new HeldoutError(
        `${where}: path: cannot read ${path} to match it by content (${(e as Error).message})`,
      );
    }
    h = createHash("sha256").update(bytes).digest("hex");
    cache.set(path, h);
  }
  return h;
}

function summarizeScorer(file: string, s: Scorer, group?: string): ScorerSummary {
  const p = s.provenance ?? {};
  const groups = (p.outOfFoldGroups ?? {}) as Record<string, ScorerSummary["outOfFold"]>;
  const oof = (group && groups[group] ? groups[group] : p.outOfFold) as ScorerSummary["outOfFold"];
  return {
    file: shownPath(file),
    name: s.name,
    ...(p.labels ? { fittedOn: String(p.labels) } : {}),
    ...(p.fitted ? { fitted: String(p.fitted) } : {}),
    ...(oof
      ? {
        outOfFold: {
          auc: oof.auc,
          low: oof.low,
          high: oof.high,
          ...(oof.positives !== undefined ? { positives: oof.positives, negatives: oof.negatives } : {}),
        },
      }
      : {}),
  };
}

/**
 * Direction of a single signal as the scorer's fit oriented it: the provenance's single signals
 * (of `group` first, then overall), else for a feature of the model the sign of its coefficient
 * (its effect inside the model), else `fallback`.
 */
function orientation(
  s: Scorer,
  name: string,
  group: string | undefined,
  fallback: { direction: "higher" | "lower"; why: string },
): { direction: "higher" | "lower"; orientedBy: string } {
  type Single = Record<string, { direction?: string }>;
  const p = s.provenance ?? {};
  const g = group
    ? ((p.outOfFoldGroups ?? {}) as Record<string, { singleSignals?: Single }>)[group]?.singleSignals
    : undefined;
  const fromGroup = g?.[name]?.direction;
  if (fromGroup === "higher" || fromGroup === "lower") {
    return { direction: fromGroup, orientedBy: `the scorer file's fit (provenance, "${group}")` };
  }
  const overall = (p.singleSignals as Single | undefined)?.[name]?.direction;
  if (overall === "higher" || overall === "lower") {
    return { direction: overall, orientedBy: "the scorer file's fit (provenance.singleSignals)" };
  }
  const j = s.features.findIndex((f) => f.name === name);
  if (j >= 0 && s.model.coef[j] !== 0) {
    return {
      direction: s.model.coef[j] > 0 ? "higher" : "lower",
      orientedBy: "the sign of its coefficient in the scorer",
    };
  }
  return { direction: fallback.direction, orientedBy: fallback.why };
}

function aucOrMissing(
  y: readonly number[],
  scores: readonly number[],
  o: { resamples: number; seed: number },
  classes: [string, string],
): HeldoutAuc {
  const pos = y.filter((v) => v === 1).length, neg = y.length - pos;
  if (!pos || !neg) {
    return { missing: `no ${!pos ? classes[0] : classes[1]} among ${y.length} rows: no AUC` };
  }
  const r = aucWithInterval(y, scores, o);
  const few = [[pos, classes[0]], [neg, classes[1]]].filter(([n]) => (n as number) < FEW_MEMBERS);
  return few.length
    ? {
      ...r,
      warning: `only ${few.map(([n, c]) => `${n} ${c}`).join(" and ")}: an interval, not a verdict`,
    }
    : r;
}

function signals(
  rows: readonly Record<string, unknown>[],
  y: readonly number[],
  names: readonly string[],
  scorer: Scorer,
  orient: (name: string) => { direction: "higher" | "lower"; orientedBy: string },
  o: { resamples: number; seed: number },
): Record<string, HeldoutSignal> {
  const out: Record<string, HeldoutSignal> = {};
  for (const name of names) {
    // A feature of the scorer as the model sees it (its missing value, then its transform), as the
    // fit measured it; any other column as read, rows without a number left out.
    const f = scorer.features.find((x) => x.name === name);
    const value = (r: Record<string, unknown>) => (f ? featureValue(f, r[name]) : r[name]);
    const keep = rows.flatMap((
      r,
      i,
    ) => (typeof value(r) === "number" && Number.isFinite(value(r)) ? [i] : []));
    const ys = keep.map((i) => y[i]);
    if (!ys.includes(0) || !ys.includes(1)) continue;
    const dir = orient(name);
    const col = keep.map((i) => (dir.direction === "lower" ? -1 : 1) * (value(rows[i]) as number));
    out[name] = { ...aucWithInterval(ys, col, o), ...dir };
  }
  return out;
}

/** The scorers to judge: the shipped two, each replaced by a given file of the same name. */
async function chooseScorers(
  files: readonly string[],
): Promise<Record<string, { file: string; scorer: Scorer }>> {
  const out: Record<string, { file: string; scorer: Scorer }> = {};
  for (const name of Object.keys(HELDOUT_SCORERS)) {
    out[name] = { file: shippedScorerPath(name), scorer: await loadScorer(shippedScorerPath(name)) };
  }
  for (const file of files) {
    const s = await loadScorer(file);
    const output = HELDOUT_SCORERS[s.name];
    if (!output) {
      throw new HeldoutError(
        `${file}: name: "${s.name}" is not a scorer heldout judges (known: ${
          Object.keys(HELDOUT_SCORERS).join(", ")
        })`,
      );
    }
    if (s.output !== output) {
      throw new HeldoutError(`${file}: output: a ${s.name} scorer fills "${output}", got "${s.output}"`);
    }
    if (s.name === "face_quality") {
      const spec = resolveHeuristics(["faces"])[0].details!.find((d) => d.name === "faces")!;
      const cols = new Set(spec.columns.map((c) => c.name));
      s.features.forEach((f, i) => {
        if (!cols.has(f.name)) {
          throw new HeldoutError(
            `${file}: features[${i}].name: "${f.name}" is not a column of the per-face table ` +
              `(a face_quality scorer reads the faces table's columns, e.g. crop_sharpness)`,
          );
        }
      });
    } else {
      try {
        sourcesOf(s, HEURISTICS);
      } catch (e) {
        throw new HeldoutError(`${file}: ${(e as Error).message.replace(/^usable: /, "")}`);
      }
    }
    out[s.name] = { file, scorer: s };
  }
  return out;
}

/** Writes label rows as a label file in `dir` (paths relative to it), keeping every column. */
async function writeLabels<T extends { path: string; extra: Record<string, string> }>(
  file: string,
  columns: readonly string[],
  rows: readonly T[],
  cell: (r: T, c: string) => unknown,
): Promise<void> {
  const base = dirname(file);
  const lines = [csvLine(columns)];
  for (const r of rows) {
    lines.push(
      csvLine(
        columns.map((c) => (c === "path" ? relative(base, r.path) : c in r.extra ? r.extra[c] : cell(r, c))),
      ),
    );
  }
  await writeAtomic(file, lines.join(""));
}

/**
 * Measures the scorer files on held-out labels; writes `heldout.json`, `heldout.md`, the filtered
 * labels (`labels/`), the score tables and per-row score files (`faces.csv`, `images.csv`) into
 * `o.out`. A rerun resumes the score tables.
 *
 * @example
 * ```ts ignore
 * import { heldout } from "./heldout.ts";
 * const r = await heldout({
 *   labels: "../shared/data/labels/images.csv", faces: "../shared/data/labels/faces.csv",
 *   exclude: ["data/labels/images.csv"], out: "out/heldout",
 * });
 * console.log(r.faces?.badVsGood, r.usable?.usableVsNot);
 * ```
 */
export async function heldout(o: HeldoutOptions): Promise<HeldoutResult> {
  const say = o.onProgress ?? (() => {});
  const boot = { resamples: o.resamples ?? 1000, seed: o.seed ?? 0 };
  const warnings: string[] = [];
  // Labels to judge on.
  let imagesFile: string | undefined, facesFile = o.faces;
  if (await isDir(o.labels)) {
    const set = await labelSetFiles(o.labels);
    imagesFile = set.images;
    facesFile ??= set.faces;
  } else {
    if (!(await exists(o.labels))) throw new HeldoutError(`${o.labels}: label file not found`);
    imagesFile = o.labels;
  }
  if (facesFile && !(await exists(facesFile))) throw new HeldoutError(`${facesFile}: label file not found`);
  const scorers = await chooseScorers(o.scorers ?? []);
  const load = async <T>(
    f: string,
    kind: "images" | "faces",
    fn: (f: string, x: object) => Promise<LabelFile<T>>,
  ) => {
    try {
      if ((await labelKind(f)) !== kind) {
        throw new HeldoutError(`${f}:1: header: expected a ${kind}.csv header (see data/labels/README.md)`);
      }
      return checkRows(await fn(f, { checkFiles: true }), "fix or remove it");
    } catch (e) {
      if (e instanceof LabelFormatError) throw new HeldoutError(e.message);
      throw e;
    }
  };
  const images = imagesFile ? await load<ImageLabel>(imagesFile, "images", loadImageLabels) : undefined;
  const faces = facesFile ? await load<FaceLabel>(facesFile, "faces", loadFaceLabels) : undefined;

  // What to leave out: images of the exclude sets, by content.
  const hashes = new Map<string, string>();
  const excludeFiles: string[] = [];
  const excluded = new Map<string, string>(); // hash → a file name, for the same-name check
  for (const e of o.exclude ?? []) {
    const set = await labelSetFiles(e).catch((err) => {
      if (err instanceof HeldoutError) throw new HeldoutError(`--exclude ${err.message}`);
      throw err;
    });
    for (const [kind, f] of Object.entries(set) as ["images" | "faces", string | undefined][]) {
      if (!f || excludeFiles.includes(shownPath(f))) continue;
      excludeFiles.push(shownPath(f));
      let r: LabelFile<ImageLabel | FaceLabel>;
      try {
        r = kind === "images" ? await loadImageLabels(f) : await loadFaceLabels(f);
      } catch (err) {
        if (err instanceof LabelFormatError) throw new HeldoutError(`--exclude: ${err.message}`);
        throw err;
      }
      checkRows(r, "heldout cannot tell which image that row names, so it cannot leave it out");
      const paths = [...new Map(r.rows.map((x) => [x.path, x.line])).entries()];
      say(`hashing the ${paths.length} images of ${shownPath(f)} (to leave them out)`);
      for (const [p, line] of paths) excluded.set(await contentHash(p, hashes, `${f}:${line}`), basename(p));
    }
  }
  const excludedNames = new Set(excluded.values());
  let sameNameDifferentBytes = 0;
  const checkedNames = new Set<string>();
  const keep = async (l: ImageLabel | FaceLabel, file: string) => {
    const h = await contentHash(l.path, hashes, `${file}:${l.line}`);
    const out = !excluded.has(h);
    if (out && excludedNames.has(basename(l.path)) && !checkedNames.has(l.path)) {
      checkedNames.add(l.path);
      sameNameDifferentBytes++;
    }
    return out;
  };
  const keptImages: ImageLabel[] = [];
  for (const l of images?.rows ?? []) if (await keep(l, imagesFile!)) keptImages.push(l);
  const keptFaces: FaceLabel[] = [];
  for (const l of faces?.rows ?? []) if (await keep(l, facesFile!)) keptFaces.push(l);
  const distinct = (rows: readonly { path: string }[]) => new Set(rows.map((r) => r.path)).size;
  const excludedInfo: HeldoutResult["excluded"] = {
    files: excludeFiles,
    by: "SHA-256 of the image bytes (file names and relative paths do not matter)",
    excludeImages: excluded.size,
    labeledImagesExcluded: (images?.rows.length ?? 0) - keptImages.length,
    labeledImagesKept: keptImages.length,
    faceImagesExcluded: distinct(faces?.rows ?? []) - distinct(keptFaces),
    faceImagesKept: distinct(keptFaces),
    facesExcluded: (faces?.rows.length ?? 0) - keptFaces.length,
    facesKept: keptFaces.length,
    sameNameDifferentBytes,
  };
  if (sameNameDifferentBytes) {
    warnings.push(
      `${sameNameDifferentBytes} kept image${sameNameDifferentBytes > 1 ? "s have" : " has"} the file name ` +
        "of an excluded image but different bytes (kept: they are different files; check that is what you meant)",
    );
  }

  const out = resolve(o.out);
  await Deno.mkdir(join(out, "labels"), { recursive: true });
  const files: Record<string, string> = {};
  const result: HeldoutResult = {
    ...(o.command ? { command: o.command } : {}),
    labels: {
      ...(imagesFile ? { images: shownPath(imagesFile) } : {}),
      ...(facesFile ? { faces: shownPath(facesFile) } : {}),
    },
    excluded: excludedInfo,
    warnings,
    files,
  };

  // Faces.
  if (faces && keptFaces.length) {
    const { file, scorer } = scorers.face_quality;
    const labelsOut = join(out, "labels", "faces.csv");
    await writeLabels(
      labelsOut,
      faces.columns,
      keptFaces,
      (r, c) => (r as unknown as Record<string, unknown>)[c],
    );
    files.faceLabels = shownPath(labelsOut);
    say(`scoring the faces of ${distinct(keptFaces)} images (as the face_quality fit does)`);
    const data = await FIT_RECIPES.face_quality.build({
      labels: labelsOut,
      workDir: join(out, "faces"),
      resume: true,
      jobs: o.jobs,
      quiet: o.quiet,
    });
    files.faceScores = shownPath(join(out, "faces", "fit_faces.csv"));
    const labeled = data.labeled!;
    const score = data.rows.map((r) => applyScorer(scorer, r));
    // Bad (≤ 2) = 0 against good (≥ 4) = 1; faces rated 3 are left out, as in the fit's report.
    const idx = labeled.flatMap((l, i) => (l.quality !== 3 ? [i] : []));
    const large = idx.filter((i) => Math.min(labeled[i].width, labeled[i].height) >= LARGE_FACE_PX);
    const yOf = (ix: number[]) => ix.map((i) => (labeled[i].quality >= 4 ? 1 : 0));
    const classes: [string, string] = ["good faces (≥ 4)", "bad faces (≤ 2)"];
    const names = [...new Set(["log10_area", ...scorer.features.map((f) => f.name), "confidence"])];
    const orient = (n: string) =>
      orientation(scorer, n, BAD_FACE_GROUP, {
        direction: "higher",
        why: "higher is better (assumed: not in the scorer file)",
      });
    const sig = (ix: number[]) => signals(ix.map((i) => data.rows[i]), yOf(ix), names, scorer, orient, boot);
    const q = (f: (l: FaceLabel) => boolean) => keptFaces.filter(f).length;
    const qm = (f: (l: FaceLabel) => boolean) => labeled.filter(f).length;
    const isLarge = (l: FaceLabel) => Math.min(l.width, l.height) >= LARGE_FACE_PX;
    const notes = data.notes as Record<string, number>;
    result.faces = {
      scorer: summarizeScorer(file, scorer, BAD_FACE_GROUP),
      counts: {
        images: distinct(keptFaces),
        labeledFaces: keptFaces.length,
        labeledBad: q((l) => l.quality <= 2),
        labeledGood: q((l) => l.quality >= 4),
        labeledRated3: q((l) => l.quality === 3),
        labeledBadLarge: q((l) => l.quality <= 2 && isLarge(l)),
        labeledGoodLarge: q((l) => l.quality >= 4 && isLarge(l)),
        detectedFaces: notes.detectedFaces,
        labeledFacesFound: labeled.length,
        labeledFacesMissed: keptFaces.length - labeled.length,
        badFound: qm((l) => l.quality <= 2),
        goodFound: qm((l) => l.quality >= 4),
        badFoundLarge: qm((l) => l.quality <= 2 && isLarge(l)),
        goodFoundLarge: qm((l) => l.quality >= 4 && isLarge(l)),
        detectedFacesWithoutLabel: notes.detectedFacesWithoutLabel,
      },
      badVsGood: aucOrMissing(yOf(idx), idx.map((i) => score[i]), boot, classes),
      badVsGoodLarge: aucOrMissing(yOf(large), large.map((i) => score[i]), boot, classes),
      singleSignals: sig(idx),
      singleSignalsLarge: sig(large),
    };
    const rule = await defaultRuleOutcome("face_min_quality", yOf(idx), idx.map((i) => score[i]));
    if (rule) result.faces.defaultRule = rule;
    const rowsOut = join(out, "faces.csv");
    const cols = ["path", "x", "y", "width", "height", "quality", "face_quality", ...names];
    await writeAtomic(
      rowsOut,
      csvLine(cols) + labeled.map((l, i) =>
        csvLine([
          shownPath(l.path),
          l.x,
          l.y,
          l.width,
          l.height,
          l.quality,
          score[i],
          ...names.map((n) => data.rows[i][n]),
        ])
      ).join(""),
    );
    files.faces = shownPath(rowsOut);
    for (
      const [k, a] of [["all faces", result.faces.badVsGood], ["faces ≥ 32 px", result.faces.badVsGoodLarge]]
    ) {
      const w = (a as { warning?: string; missing?: string }).warning ?? (a as { missing?: string }).missing;
      if (w) warnings.push(`face_quality, ${k}: ${w}`);
    }
  } else if (faces) warnings.push("face_quality: every labeled face was excluded: not measured");

  // Usable.
  if (images && keptImages.length) {
    const { file, scorer } = scorers.usable;
    const labelsOut = join(out, "labels", "images.csv");
    await writeLabels(
      labelsOut,
      images.columns,
      keptImages,
      (r, c) => c === "usable" ? (r.usable ? "yes" : "no") : c === "errors" ? r.errors.join(";") : r.quality,
    );
    files.imageLabels = shownPath(labelsOut);
    const sources = sourcesOf(scorer, HEURISTICS).map((h) => h.name);
    const workDir = join(out, `usable_${sources.join("+")}`);
    say(`scoring ${keptImages.length} images with ${sources.join(", ")} (the usable scorer's columns)`);
    const data = await usableRows({
      labels: labelsOut,
      features: scorer.features,
      workDir,
      resume: true,
      jobs: o.jobs,
      quiet: o.quiet,
    });
    files.usableScores = shownPath(join(workDir, "usable_scores.csv"));
    const score = data.rows.map((r) => applyScorer(scorer, r));
    const names = scorer.features.map((f) => f.name);
    const orient = (n: string) =>
      orientation(scorer, n, undefined, { direction: "higher", why: "higher is better (assumed)" });
    type Single = Record<string, { auc?: number }>;
    const fitted = (scorer.provenance?.singleSignals ?? {}) as Single;
    const best = names.filter((n) => typeof fitted[n]?.auc === "number")
      .sort((a, b) => fitted[b].auc! - fitted[a].auc!)[0];
    result.usable = {
      scorer: summarizeScorer(file, scorer),
      counts: {
        images: data.rows.length,
        usable: data.y.filter((v) => v === 1).length,
        unusable: data.y.filter((v) => v === 0).length,
        imagesWithoutScores: Number((data.notes as Record<string, unknown>).imagesWithoutScores ?? 0),
      },
      usableVsNot: aucOrMissing(data.y, score, boot, ["usable images", "unusable images"]),
      singleSignals: signals(data.rows, data.y, names, scorer, orient, boot),
      ...(best ? { bestSingleSignal: best } : {}),
    };
    const rule = await defaultRuleOutcome("usable_score", data.y, score);
    if (rule) result.usable.defaultRule = rule;
    const rowsOut = join(out, "images.csv");
    await writeAtomic(
      rowsOut,
      csvLine(["path", "usable", "usable_score", ...names]) +
        data.rows.map((r, i) =>
          csvLine([shownPath(data.paths[i]), data.y[i] ? "yes" : "no", score[i], ...names.map((n) => r[n])])
        ).join(""),
    );
    files.images = shownPath(rowsOut);
    const a = result.usable.usableVsNot as { warning?: string; missing?: string };
    if (a.warning ?? a.missing) warnings.push(`usable: ${a.warning ?? a.missing}`);
  } else if (images) warnings.push("usable: every labeled image was excluded: not measured");

  files.json = shownPath(join(out, "heldout.json"));
  files.markdown = shownPath(join(out, "heldout.md"));
  await writeAtomic(join(out, "heldout.json"), JSON.stringify(result, null, 2) + "\n");
  await writeAtomic(join(out, "heldout.md"), heldoutMarkdown(result));
  return result;
}

const f3 = (x: number) => x.toFixed(3);

/**
 * An AUC as text: `0.812 [0.700, 0.905] (12 vs 30)`, or why there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { aucText } from "./heldout.ts";
 * const a = { auc: 0.75, low: 0.5, high: 0.9, n: 10, positives: 7, negatives: 3 };
 * assert.equal(aucText(a), "0.750 [0.500, 0.900] (7 vs 3)");
 * assert.equal(aucText({ missing: "no bad faces" }), "— (no bad faces)");
 * ```
 */
export function aucText(a: HeldoutAuc | undefined): string {
  if (!a) return "—";
  if ("missing" in a) return `— (${a.missing})`;
  return `${f3(a.auc)} [${f3(a.low)}, ${f3(a.high)}] (${a.positives} vs ${a.negatives})`;
}

/**
 * A default rule's outcome as a sentence.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ruleText } from "./heldout.ts";
 * const r = { column: "usable_score", min: 0.8, rejectBelow: 1, reject: 3, keepBelow: 2, keep: 60 };
 * assert.equal(
 *   ruleText(r, "unusable images", "usable images", "per image"),
 *   "Default rule usable_score ≥ 0.8 (--thresholds defaults, per image): below it 1 of 3 unusable images and 2 of 60 usable images.",
 * );
 * ```
 */
export function ruleText(r: RuleOutcome, reject: string, keep: string, how: string): string {
  return `Default rule ${r.column} ≥ ${r.min} (--thresholds defaults, ${how}): below it ${r.rejectBelow} of ` +
    `${r.reject} ${reject} and ${r.keepBelow} of ${r.keep} ${keep}.`;
}

/** The report as Markdown (`heldout.md`). */
export function heldoutMarkdown(r: HeldoutResult): string {
  const L: string[] = ["# Held-out judgement of the learned scorers", ""];
  if (r.command) L.push("```sh", r.command, "```", "");
  L.push(
    `Labels: ${[r.labels.images, r.labels.faces].filter(Boolean).map((f) => `\`${f}\``).join(", ")}. ` +
      "Scorer files applied as they are (not refitted). AUCs with 95 % stratified bootstrap intervals " +
      "(class 1 vs class 0 counts in brackets).",
    "",
  );
  const e = r.excluded;
  if (e.files.length) {
    L.push(
      `Excluded: the images of ${e.files.map((f) => `\`${f}\``).join(", ")} (${e.excludeImages} images), ` +
        `matched by ${e.by}: ${e.labeledImagesExcluded} labeled images left out, ${e.labeledImagesKept} kept; ` +
        `${e.facesExcluded} labeled faces (on ${e.faceImagesExcluded} images) left out, ${e.facesKept} kept ` +
        `(on ${e.faceImagesKept} images).`,
      "",
    );
  }
  const table = (rows: [string, string, string][], head: [string, string, string]) => {
    L.push(`| ${head.join(" | ")} |`, "| --- | --- | --- |");
    for (const row of rows) L.push(`| ${row.join(" | ")} |`);
    L.push("");
  };
  if (r.faces) {
    const f = r.faces, c = f.counts;
    L.push(
      "## face_quality: bad faces (quality ≤ 2) vs good (≥ 4)",
      "",
      `Scorer \`${f.scorer.file}\` (fitted on \`${f.scorer.fittedOn ?? "?"}\`; its out-of-fold AUC there: ` +
        `${f.scorer.outOfFold ? f3(f.scorer.outOfFold.auc) : "?"}). ` +
        `${c.labeledFaces} labeled faces on ${c.images} images (${c.labeledBad} bad, ${c.labeledGood} good, ` +
        `${c.labeledRated3} rated 3; ≥ 32 px: ${c.labeledBadLarge} bad, ${c.labeledGoodLarge} good). ` +
        `The detector (as in the fit) found ${c.labeledFacesFound} of them (IoU ≥ 0.5): ${c.badFound} of ` +
        `${c.labeledBad} bad, ${c.goodFound} of ${c.labeledGood} good; ${c.detectedFaces} faces detected, ` +
        `${c.detectedFacesWithoutLabel} matching no label (not used).`,
      "",
    );
    const sig = (name: string) => {
      const a = f.singleSignals[name], b = f.singleSignalsLarge[name];
      const dir = a?.direction ?? b?.direction;
      return [`${name} (${dir} is better)`, aucText(a), aucText(b)] as [string, string, string];
    };
    table([
      ["**face_quality**", `**${aucText(f.badVsGood)}**`, `**${aucText(f.badVsGoodLarge)}**`],
      ...[...new Set([...Object.keys(f.singleSignals), ...Object.keys(f.singleSignalsLarge)])].map(sig),
    ], ["signal", "all matched faces", `faces ≥ ${LARGE_FACE_PX} px`]);
    const by = [...new Set(Object.values(f.singleSignals).map((s) => s.orientedBy))];
    L.push(`Single signals oriented by ${by.join("; ")} — not by these labels.`, "");
    if (f.defaultRule) {
      L.push(ruleText(f.defaultRule, "bad faces", "good faces", "per labeled face found"), "");
    }
  }
  if (r.usable) {
    const u = r.usable, c = u.counts;
    L.push(
      "## usable_score: usable vs unusable images",
      "",
      `Scorer \`${u.scorer.file}\` (fitted on \`${u.scorer.fittedOn ?? "?"}\`; its out-of-fold AUC there: ` +
        `${u.scorer.outOfFold ? f3(u.scorer.outOfFold.auc) : "?"}). ${c.images} labeled images ` +
        `(${c.usable} usable, ${c.unusable} unusable).`,
      "",
    );
    table([
      ["**usable_score**", `**${aucText(u.usableVsNot)}**`, ""],
      ...Object.entries(u.singleSignals).map(([n, s]): [string, string, string] => [
        `${n} (${s.direction} is better)`,
        aucText(s),
        n === u.bestSingleSignal ? "best single signal on the fitting labels" : "",
      ]),
    ], ["signal", "AUC", "note"]);
    const by = [...new Set(Object.values(u.singleSignals).map((s) => s.orientedBy))];
    L.push(`Single signals oriented by ${by.join("; ")} — not by these labels.`, "");
    if (u.defaultRule) L.push(ruleText(u.defaultRule, "unusable images", "usable images", "per image"), "");
  }
  if (r.warnings.length) L.push("## Warnings", "", ...r.warnings.map((w) => `- ${w}`), "");
  return L.join("\n");
}
