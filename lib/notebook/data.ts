/**
 * The data the notebooks run on, and the cached work they share.
 *
 * Every notebook runs on the real hand-labeled set shipped in `data/labels/` (real generated images,
 * two raters' labels; see its README), or on the offline synthetic set when asked
 * (`lib/calibrate/synthetic.ts`: the photos shipped in `@vladmandic/face-api` with simulated
 * defects, labels known by construction), and says which one it used. Both are in the hand-label
 * format of `data/labels/README.md`, so the rest of a notebook does not care which it got.
 *
 * Scoring is cached in `out/notebooks/cache/`: {@link cachedScores} runs the score job into a file
 * named after the heuristics and settings, and the score job resumes, so a second notebook that needs
 * the same faces (or a re-run) costs nothing.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join, relative, resolve } from "node:path";
import { detailColumns, runScoreJob } from "../score/job.ts";
import { readResults, type Row } from "../score/results.ts";
import { resolveHeuristics } from "../heuristics/registry.ts";
import {
  type FaceLabel,
  type ImageLabel,
  loadFaceLabels,
  loadImageLabels,
  matchFaces,
  SHIPPED_LABELS_DIR,
} from "../labels/format.ts";
import { buildSyntheticSet } from "../calibrate/synthetic.ts";
import { columnDirection } from "../calibrate/thresholds.ts";
import { stableHash, stableSubset } from "../core/random.ts";
import { pairLabels } from "../labels/join.ts";

/** The project folder (the one holding `deno.json`). */
export const PROJECT_DIR: string = fileURLToPath(new URL("../../", import.meta.url));

/** Where notebook runs put their files: `out/notebooks/` of the project. */
export const NOTEBOOK_OUT: string = join(PROJECT_DIR, "out", "notebooks");

/** Default real hand-labeled set: the one shipped in `data/labels/` of the project. */
export const SHARED_DATA_DIR: string = SHIPPED_LABELS_DIR;

/**
 * Environment variable that forces a data set: `shared` (the shipped real set), `synthetic`, or a
 * folder holding `images.csv` and `faces.csv` (or `labels/images.csv` and `labels/faces.csv`).
 */
export const DATA_ENV = "WINNOW_NOTEBOOK_DATA";

/** A labeled image set in the hand-label layout (`images/`, `labels/images.csv`, `labels/faces.csv`). */
export interface NotebookDataset {
  /** `shared`: real generated images with hand labels (`data/labels/`); `synthetic`: the offline stand-in. */
  kind: "shared" | "synthetic";
  /** The set's folder. */
  dir: string;
  imagesDir: string;
  imagesCsv: string;
  facesCsv: string;
  /** One sentence for the notebook's narrative: which set this is and what it is good for. */
  description: string;
}

/** Options of {@link notebookDataset}. */
export interface DatasetOptions {
  /** Real set folder. Default {@link SHARED_DATA_DIR} (`data/labels/`). */
  sharedDir?: string;
  /** Where the synthetic set is built when needed. Default `out/notebooks/synthetic`. */
  syntheticDir?: string;
  /** `auto` (default; the environment variable {@link DATA_ENV} may override), `shared` or `synthetic`. */
  prefer?: "auto" | "shared" | "synthetic";
  /** Environment reader (tests). Default `Deno.env.get`. */
  env?: (name: string) => string | undefined;
}

async function isFile(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => null))?.isFile ?? false;
}

/**
 * The data set a notebook should use: the real hand-labeled set (shipped in `data/labels/`) when it
 * is there, else the synthetic set (built on first use, reused afterwards). `prefer: "shared"` fails
 * with a clear message when the real set is missing.
 *
 * @example
 * ```ts ignore
 * import { notebookDataset } from "./data.ts";
 * const data = await notebookDataset();
 * console.log(data.kind, data.description);
 * ```
 */
export async function notebookDataset(options: DatasetOptions = {}): Promise<NotebookDataset> {
  const env = options.env ?? ((n: string) => Deno.env.get(n));
  let prefer = options.prefer ?? "auto";
  let sharedDir = options.sharedDir ?? SHARED_DATA_DIR;
  if (prefer === "auto") {
    const forced = env(DATA_ENV)?.trim();
    if (forced === "shared" || forced === "synthetic") prefer = forced;
    else if (forced) {
      sharedDir = resolve(forced);
      prefer = "shared";
    }
  }
  const shared = await layout(sharedDir);
  if (prefer !== "synthetic" && await isFile(shared.imagesCsv)) {
    return {
      kind: "shared",
      ...shared,
      description:
        `the real hand-labeled set at ${projectPath(sharedDir)}: images from text-to-image models, ` +
        "each rated usable or not by two people, with the faces rated 1–5",
    };
  }
  if (prefer === "shared") {
    throw new Error(
      `the real labeled set is not there: ${
        projectPath(shared.imagesCsv)
      } is missing (unset ${DATA_ENV} to fall back to the synthetic set)`,
    );
  }
  const dir = resolve(options.syntheticDir ?? join(NOTEBOOK_OUT, "synthetic"));
  const synth = await layout(dir);
  if (!(await isFile(synth.imagesCsv) && await isFile(synth.facesCsv))) await buildSyntheticSet(dir);
  return {
    kind: "synthetic",
    ...synth,
    description:
      `the offline SYNTHETIC set at ${projectPath(dir)}${
        prefer === "synthetic" ? "" : ` (${projectPath(sharedDir)} was not found)`
      }: the six photos shipped ` +
      "in @vladmandic/face-api with simulated defects, labels known by construction. It shows the " +
      "machinery working; its numbers say nothing about a real generator",
  };
}

/**
 * A path as reports and notebooks print it: relative to the project folder when it is inside it
 * (`data/labels`), else as given, so no machine's absolute path ends up in a saved notebook.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { PROJECT_DIR, projectPath } from "./data.ts";
 * assert.equal(projectPath(join(PROJECT_DIR, "data", "labels")), "data/labels");
 * assert.equal(projectPath("/elsewhere/x.csv"), "/elsewhere/x.csv");
 * ```
 */
export function projectPath(path: string): string {
  const r = relative(PROJECT_DIR, resolve(path));
  return r === "" ? "." : r.startsWith("..") ? path : r;
}

/** The files of a labeled set in one of the two layouts: `DIR/images.csv` (as `data/labels/`) or `DIR/labels/images.csv`. */
async function layout(dir: string): Promise<Omit<NotebookDataset, "kind" | "description">> {
  const flat = await isFile(join(dir, "images.csv"));
  const labels = flat ? dir : join(dir, "labels");
  return {
    dir,
    imagesDir: join(dir, "images"),
    imagesCsv: join(labels, "images.csv"),
    facesCsv: join(labels, "faces.csv"),
  };
}

/** The image and face labels of a data set (rows that fail validation are counted, not kept). */
export async function datasetLabels(
  data: NotebookDataset,
): Promise<{ images: ImageLabel[]; faces: FaceLabel[]; rejected: number }> {
  const images = await loadImageLabels(data.imagesCsv, { checkFiles: true });
  const faces = await loadFaceLabels(data.facesCsv, { checkFiles: true });
  return { images: images.rows, faces: faces.rows, rejected: images.rejected + faces.rejected };
}

export { stableHash, stableSubset } from "../core/random.ts";

/** Options of {@link cachedScores}. */
export interface CachedScoreOptions {
  /** Heuristic names (default every one without a model). */
  heuristics?: readonly string[];
  /** Settings per heuristic, e.g. `{ faces: { detector: "ssd", findConfidence: 0.1 } }`. */
  settings?: Record<string, Record<string, unknown>>;
  /** Also write and return the per-face table. */
  faces?: boolean;
  /** Cache folder. Default `out/notebooks/cache`. */
  cacheDir?: string;
  /** Score workers. Default 2. */
  jobs?: number;
}

/** What {@link cachedScores} returns. */
export interface CachedScores {
  /** One row per image asked for (rows of other images in the cache file are left out). */
  rows: Row[];
  /** Per-face rows of those images (empty unless `faces`). */
  faces: Row[];
  /** Images scored in this call (0 when everything came from the cache). */
  scored: number;
  seconds: number;
  /** The cache file (CSV). */
  file: string;
  /** The per-face cache file (CSV; written when `faces`). */
  facesFile: string;
}

/**
 * Scores `files` with the score job into a cache file whose name is derived from the heuristics and
 * settings, resuming whatever an earlier run (or another notebook) already scored.
 *
 * @example
 * ```ts ignore
 * import { cachedScores } from "./data.ts";
 * const { rows } = await cachedScores(["/data/images/a.jpg"], { heuristics: ["sharpness"] });
 * ```
 */
export async function cachedScores(
  files: readonly string[],
  o: CachedScoreOptions = {},
): Promise<CachedScores> {
  const t0 = performance.now();
  const heuristics = o.heuristics ? [...o.heuristics] : undefined;
  const key = stableHash(JSON.stringify({ h: heuristics ?? "default", s: o.settings ?? {}, f: !!o.faces }))
    .toString(16).padStart(8, "0");
  const dir = resolve(o.cacheDir ?? join(NOTEBOOK_OUT, "cache"));
  await Deno.mkdir(dir, { recursive: true });
  const stem = `${(heuristics ?? ["default"]).join("+")}-${key}`;
  const file = join(dir, `${stem}.csv`);
  const facesFile = join(dir, `${stem}.faces.csv`);
  const wanted = new Set(files.map((f) => resolve(f)));
  const r = await runScoreJob([...wanted], file, {
    heuristics,
    settings: o.settings,
    jobs: o.jobs ?? 2,
    quiet: true,
    ...(o.faces ? { details: { faces: facesFile } } : {}),
  });
  const rows = r.rows.filter((row) => wanted.has(String(row.path)));
  let faces: Row[] = [];
  if (o.faces) {
    const spec = resolveHeuristics(heuristics).flatMap((h) => h.details ?? []).find((d) =>
      d.name === "faces"
    )!;
    faces = (await readResults(facesFile, detailColumns(spec))).filter((row) => wanted.has(String(row.path)));
  }
  return { rows, faces, scored: r.scored, seconds: (performance.now() - t0) / 1000, file, facesFile };
}

/** One hand-labeled face, joined (IoU ≥ 0.5) to the detected face that overlaps it most, if any. */
export interface FaceRecord {
  path: string;
  /** The labeled box and the human quality 1–5. */
  x: number;
  y: number;
  width: number;
  height: number;
  quality: number;
  /** log10 of the labeled box's area in pixels. */
  labelLog10Area: number;
  /** Whether a detected face matched this label. */
  detected: boolean;
  /** Detector confidence of the matched face, else null. */
  confidence: number | null;
  /** log10 area of the matched detection, else null. */
  log10Area: number | null;
  /** IoU of the match, else null. */
  iou: number | null;
}

/**
 * Joins detected faces (rows of the `faces` table: `path, x, y, width, height, confidence,
 * log10_area`) to labeled faces by IoU ≥ `minIou` (one to one, `matchFaces`), returning one record
 * per labeled face.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { joinFaces } from "./data.ts";
 * const labeled = [{ path: "/a.jpg", x: 0, y: 0, width: 10, height: 10, quality: 2 }];
 * const detected = [{ path: "/a.jpg", x: 1, y: 0, width: 10, height: 10, confidence: 0.7, log10_area: 2 }];
 * const [f] = joinFaces(detected, labeled);
 * assert.deepEqual([f.detected, f.confidence, f.quality, f.labelLog10Area], [true, 0.7, 2, 2]);
 * assert.equal(joinFaces([], labeled)[0].detected, false);
 * ```
 */
export function joinFaces(
  detected: readonly Row[],
  labeled: readonly { path: string; x: number; y: number; width: number; height: number; quality: number }[],
  minIou = 0.5,
): FaceRecord[] {
  const det = detected.map((r) => ({
    path: String(r.path),
    x: Number(r.x),
    y: Number(r.y),
    width: Number(r.width),
    height: Number(r.height),
    confidence: Number(r.confidence),
    log10Area: Number(r.log10_area),
  }));
  const m = matchFaces(det, labeled, minIou);
  const byLabel = new Map(m.matches.map((p) => [p.labeledIndex, p]));
  return labeled.map((l, i) => {
    const p = byLabel.get(i);
    return {
      path: l.path,
      x: l.x,
      y: l.y,
      width: l.width,
      height: l.height,
      quality: l.quality,
      labelLog10Area: Math.log10(Math.max(1, l.width * l.height)),
      detected: !!p,
      confidence: p ? p.detected.confidence : null,
      log10Area: p ? p.detected.log10Area : null,
      iou: p ? p.iou : null,
    };
  });
}

/** Options of {@link labeledFaces}. */
export interface LabeledFacesOptions {
  /** Face detector. Default `ssd`. */
  detector?: "ssd" | "tiny" | "blazeface";
  /** Threshold faces are found at. Default: the `faces` heuristic's (0.1). */
  findConfidence?: number;
  /** Most images to run the detector on (all images with a face of quality ≤ 2 are always in). Default all. */
  maxImages?: number;
}

/**
 * The face labels of a data set, every image they name (`all`), and a stable subset of at most
 * `maxImages` of them (`images`) that always holds every image with a face of quality ≤ 2 (all of
 * them when `maxImages` is not given): the images the face notebooks score.
 *
 * @example
 * ```ts ignore
 * const { images } = await labeledFaceImages(await notebookDataset(), 40);
 * ```
 */
export async function labeledFaceImages(
  data: NotebookDataset,
  maxImages?: number,
): Promise<{ labels: FaceLabel[]; all: string[]; images: string[] }> {
  const { faces: labels } = await datasetLabels(data);
  const all = [...new Set(labels.map((f) => f.path))];
  const badImages = new Set(labels.filter((f) => f.quality <= 2).map((f) => f.path));
  const images = maxImages === undefined
    ? all
    : stableSubset(all, maxImages, { key: (p) => p.slice(data.dir.length), keep: (p) => badImages.has(p) });
  return { labels, all, images };
}

/**
 * Every labeled face of a data set (or of a stable subset of its images), with the detector run on
 * those images (cached) and joined by IoU: the per-face table of the face notebooks.
 */
export async function labeledFaces(
  data: NotebookDataset,
  o: LabeledFacesOptions = {},
): Promise<
  { faces: FaceRecord[]; images: number; imagesWithFaces: number; detector: string; seconds: number }
> {
  const detector = o.detector ?? "ssd";
  const { labels, all, images } = await labeledFaceImages(data, o.maxImages);
  const chosen = new Set(images);
  const scores = await cachedScores(images, {
    heuristics: ["faces"],
    settings: {
      // Every face found gets the model measures (as the face_quality study below needs).
      faces: {
        detector,
        qualityConfidence: 0,
        ...(o.findConfidence !== undefined ? { findConfidence: o.findConfidence } : {}),
      },
    },
    faces: true,
  });
  const faces = joinFaces(scores.faces, labels.filter((f) => chosen.has(f.path)));
  return { faces, images: images.length, imagesWithFaces: all.length, detector, seconds: scores.seconds };
}

/** One image copied into a candidates folder, with its hand label. */
export interface Candidate {
  /** The copy in the candidates folder. */
  file: string;
  /** The labeled original. */
  source: string;
  usable: boolean;
  quality: number;
  errors: string[];
}

/**
 * Fills `dir` (emptied first) with `n` labeled images of the data set to stand in for a generator's
 * candidates: a stable mix of about one unusable image in four and usable ones, named
 * `cand<k>_<original name>` in a fixed shuffled order, so the folder backend serves a realistic
 * batch and the notebook can compare the filter's choice with the hand labels.
 */
export async function candidateFolder(data: NotebookDataset, dir: string, n = 8): Promise<Candidate[]> {
  const { images } = await datasetLabels(data);
  const key = (l: ImageLabel) => l.path.slice(data.dir.length);
  const bad = images.filter((l) => !l.usable), good = images.filter((l) => l.usable);
  const nBad = Math.min(bad.length, Math.max(1, Math.round(n / 4)));
  const picked = [
    ...stableSubset(bad, nBad, { key }),
    ...stableSubset(good, n - nBad, { key }),
  ].sort((a, b) => stableHash(key(a)) - stableHash(key(b)));
  dir = resolve(dir);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  const out: Candidate[] = [];
  for (const [k, l] of picked.entries()) {
    const file = join(dir, `cand${k + 1}_${l.path.split("/").at(-1)}`);
    await Deno.copyFile(l.path, file);
    out.push({ file, source: l.path, usable: l.usable, quality: l.quality, errors: [...l.errors] });
  }
  return out;
}

/** A folder for one notebook's files, `out/notebooks/work/<name>/` (created). */
export async function workDir(name: string): Promise<string> {
  const dir = join(NOTEBOOK_OUT, "work", name);
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Hand labels joined to a score column by absolute path (`pairLabels`, the one join): `y` is 1 for `usable = yes`, `s` the
 * column's values oriented so that higher is better (a `lower_is_better` column is negated, as
 * calibration does). Images without a finite value are left out and counted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { labelsWithScores } from "./data.ts";
 * const labels = [{ path: "/a.jpg", usable: true }, { path: "/b.jpg", usable: false }, { path: "/c.jpg", usable: true }];
 * const rows = [{ path: "/a.jpg", dark_frac: 0.1 }, { path: "/b.jpg", dark_frac: 0.7 }, { path: "/c.jpg", dark_frac: null }];
 * assert.deepEqual(labelsWithScores(labels, rows, "dark_frac"), { y: [1, 0], s: [-0.1, -0.7], missing: 1 });
 * ```
 */
export function labelsWithScores(
  labels: readonly { path: string; usable: boolean }[],
  rows: readonly Row[],
  column: string,
): { y: number[]; s: number[]; missing: number } {
  const sign = columnDirection(column) === "lower_is_better" ? -1 : 1;
  const y: number[] = [], s: number[] = [];
  for (const { label, row } of pairLabels(labels, rows).pairs) {
    const v = row[column];
    if (typeof v === "number" && Number.isFinite(v)) {
      y.push(label.usable ? 1 : 0);
      s.push(sign * v);
    }
  }
  return { y, s, missing: labels.length - y.length };
}
