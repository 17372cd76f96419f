/**
 * What would make `usable_score` better? `deno task usable-study` measures candidate inputs of the
 * usability scorer on the shipped labels by NESTED cross-validation (`calibrate/nested.ts`): every
 * choice — feature set, principal components of an image embedding, C — is made inside each outer
 * training part, so the out-of-fold AUC (with its stratified bootstrap 95 % interval) measures the
 * whole procedure, not the best of many configurations picked afterwards.
 *
 * Candidates, each on top of the columns of the shipped scorer (`USABLE_FEATURES`):
 * - `face_min_quality` (faces' learned quality; 1 = no face judged), from a score table with that
 *   column (`deno task score data/labels/images --heuristics faces`);
 * - the 1280-d pooled features of the MobileNetV2 shipped in `nsfwjs` on the whole image
 *   (a linear probe after PCA), and the same features max-pooled over a 3 × 3 grid of half-size tiles
 *   (local defects such as artifacts and merged objects are small);
 * - the columns of a candidates table (`candidates`: alone, by name prefix, all together), e.g. the
 *   signals of heuristics being tried;
 * - every candidate together, the inner cross-validation choosing among them.
 *
 * It also reports the headroom per error type of the labels (`calibrate/headroom.ts`): the AUC the
 * shipped columns' nested out-of-fold scores would reach if every rejected image naming that error
 * type were caught, the others left where the model put them — which kind of failure a new signal
 * should target, and how far the AUC can go without one for the rest.
 *
 * @module
 */
import { join, resolve } from "node:path";
import {
  DEFAULT_FIT_LABELS,
  DEFAULT_LABEL_SCORES,
  resolveRowPath,
  USABLE_FEATURES,
  usableRows,
} from "../calibrate/fit_usable.ts";
import { type FeatureSet, type NestedConfig, nestedOutOfFold } from "../calibrate/nested.ts";
import { type AucWithInterval, aucWithInterval } from "../calibrate/fit_scorer.ts";
import { headroomByError } from "../calibrate/headroom.ts";
import { loadImageLabels } from "../labels/format.ts";
import { rocAucScore } from "../calibrate/metrics.ts";
import { featureVector } from "../models/scorer.ts";
import { readResults } from "../score/results.ts";
import { decodeImage, type RgbImage } from "../core/image.ts";
import { writeAtomic } from "../core/atomic.ts";
import { type FeatureExtractor, nsfwjsExtractor } from "./features.ts";

/** Options of {@link usableStudy}. */
export interface UsableStudyOptions {
  /** images.csv (default the shipped labels). */
  labels?: string;
  /** Score table with the shipped scorer's columns (default `data/models/labels_scores.csv`). */
  scores?: string;
  /** Score table with `face_min_quality` for the labeled images (optional: no face candidate without). */
  facesScores?: string;
  /**
   * A table of extra candidate columns for the labeled images (`path` + numeric columns, paths
   * resolved from the table's folder): each column is tried alone, each group of columns sharing
   * the part of the name before the first `_` together, and all of them together.
   */
  candidates?: string;
  /** Folder for the embedding cache (default `out/usable_study`). */
  cacheDir?: string;
  /** Outer fold seeds (default [0, 1, 2, 3, 4]); the first one's interval is reported. */
  seeds?: number[];
  /** Bootstrap resamples (default 1000). */
  resamples?: number;
  /** Embeddings to try (default both); none skips the network. */
  embeddings?: ("whole" | "tiles")[];
  onProgress?: (msg: string) => void;
}

/** One candidate's nested out-of-fold result. */
export interface StudyLine {
  candidate: string;
  /** Nested out-of-fold AUC (first seed) with its 95 % interval. */
  auc: AucWithInterval;
  /** Nested out-of-fold AUC of every seed. */
  seeds: number[];
  /** The configurations chosen per outer fold (first seed). */
  chosen: (NestedConfig & { innerAuc: number })[];
}

/** One error type's headroom over the outer fold seeds (see the module doc). */
export interface StudyHeadroom {
  error: string;
  /** Rejected images naming it. */
  rejects: number;
  /** The AUC with them all caught, per seed (the shipped columns' nested out-of-fold scores). */
  seeds: number[];
}

/** Result of {@link usableStudy}. */
export interface UsableStudy {
  rows: number;
  unusable: number;
  lines: StudyLine[];
  /** Per error type, the AUC of the first line (the shipped columns) with its rejects all caught. */
  headroom: StudyHeadroom[];
  /** Single signals (oriented the way they separate best) with intervals. */
  single: Record<string, AucWithInterval>;
}

/** The 3 × 3 grid of half-size tiles (overlapping) of an image, each a new RGB image. */
export function halfTiles(img: RgbImage): RgbImage[] {
  const tw = Math.max(1, Math.floor(img.width / 2)), th = Math.max(1, Math.floor(img.height / 2));
  const out: RgbImage[] = [];
  for (let gy = 0; gy < 3; gy++) {
    for (let gx = 0; gx < 3; gx++) {
      const ox = Math.floor(gx * (img.width - tw) / 2), oy = Math.floor(gy * (img.height - th) / 2);
      const data = new Uint8Array(tw * th * 3);
      for (let y = 0; y < th; y++) {
        const from = ((oy + y) * img.width + ox) * 3;
        data.set(img.data.subarray(from, from + tw * 3), y * tw * 3);
      }
      out.push({ width: tw, height: th, data });
    }
  }
  return out;
}

async function embeddings(
  files: readonly string[],
  kinds: readonly ("whole" | "tiles")[],
  cacheDir: string,
  progress?: (msg: string) => void,
): Promise<Record<string, number[][]>> {
  await Deno.mkdir(cacheDir, { recursive: true });
  const cacheFile = join(cacheDir, "nsfwjs_mobilenet_v2.json");
  const cache: Record<string, { whole: number[]; tiles: number[] }> = JSON.parse(
    await Deno.readTextFile(cacheFile).catch(() => "{}"),
  );
  let fx: FeatureExtractor | undefined;
  let fresh = 0;
  for (const [i, f] of files.entries()) {
    const key = `${f}:${(await Deno.stat(f)).size}`;
    if (cache[key]) continue;
    fx ??= await nsfwjsExtractor();
    const img = await decodeImage(f);
    const whole = Array.from(await fx.features(img));
    const tiles = new Array<number>(whole.length).fill(-Infinity);
    for (const t of halfTiles(img)) {
      (await fx.features(t)).forEach((v, j) => (tiles[j] = Math.max(tiles[j], v)));
    }
    cache[key] = { whole, tiles };
    if (++fresh % 25 === 0) {
      progress?.(`embeddings: ${i + 1}/${files.length}`);
      await writeAtomic(cacheFile, JSON.stringify(cache));
    }
  }
  if (fresh) await writeAtomic(cacheFile, JSON.stringify(cache));
  const out: Record<string, number[][]> = {};
  for (const k of kinds) {
    out[k] = await Promise.all(files.map(async (f) => cache[`${f}:${(await Deno.stat(f)).size}`][k]));
  }
  return out;
}

const CS = [0.01, 0.03, 0.1, 0.3];
/** Score-table columns that are not signals (identity, geometry of a crop, lists of names). */
const NOT_SIGNALS = new Set([
  "path",
  "width",
  "height",
  "format",
  "error",
  "error_kind",
  "phash",
  "crop_x",
  "crop_y",
  "crop_width",
  "crop_height",
  "object_classes",
  "prompt_objects",
  "prompt_missing_objects",
]);
const isNum = (v: unknown) => v !== null && v !== undefined && v !== "" && Number.isFinite(Number(v));
const KS = [0, 5, 10, 20, 40];

/**
 * Runs the study (see the module doc). Embeddings are computed once per image and cached in
 * `cacheDir`; a run with the cache takes seconds to a minute.
 *
 * @example
 * ```ts ignore
 * import { usableStudy } from "./usable_study.ts";
 * const r = await usableStudy({ facesScores: "out/label_faces.csv" });
 * for (const l of r.lines) console.log(l.candidate, l.auc.auc.toFixed(3));
 * ```
 */
export async function usableStudy(o: UsableStudyOptions = {}): Promise<UsableStudy> {
  const scores = o.scores ?? DEFAULT_LABEL_SCORES;
  const data = await usableRows({ labels: o.labels, scores });
  const y = data.y;
  const base = data.rows.map((r) => featureVector({ features: [...USABLE_FEATURES] }, r));
  const sets: FeatureSet[] = [{ name: `shipped ${USABLE_FEATURES.length} columns`, fixed: base }];
  const single: Record<string, AucWithInterval> = {};
  const iv = (s: readonly number[]) => aucWithInterval(y, s, { resamples: o.resamples ?? 1000 });
  const oriented = (s: number[]) => (rocAucScore(y, s) < 0.5 ? s.map((v) => -v) : s);
  if (o.facesScores) {
    const table = new Map(
      (await readResults(o.facesScores)).map((r) => [resolveRowPath(r.path, o.facesScores!), r]),
    );
    const fmq = data.paths.map((p) => {
      const v = table.get(p)?.face_min_quality;
      if (!table.has(p)) throw new Error(`${o.facesScores}: no row for ${p}`);
      return v === null || v === undefined || v === "" ? 1 : Number(v);
    });
    single["face_min_quality (1 without a judged face)"] = iv(oriented(fmq));
    sets.push({ name: "+ face_min_quality", fixed: base.map((r, i) => [...r, fmq[i]]) });
  }
  // Every numeric column of the score table (sharpness, exposure, saliency, faces, hands, pose,
  // objects, NSFW, text), a missing value replaced by the column's median over all rows (no label
  // is used for that), for the signals of artifacts and merged objects the four do not cover.
  const numeric = Object.keys(data.rows[0]).filter((c) =>
    !NOT_SIGNALS.has(c) && data.rows.filter((r) => isNum(r[c])).length >= 20
  );
  const medians = numeric.map((c) => {
    const v = data.rows.filter((r) => isNum(r[c])).map((r) => Number(r[c])).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)];
  });
  sets.push({
    name: `+ every numeric score column (${numeric.length})`,
    fixed: data.rows.map((
      r,
      i,
    ) => [...base[i], ...numeric.map((c, j) => (isNum(r[c]) ? Number(r[c]) : medians[j]))]),
  });
  if (o.candidates) {
    const table = new Map(
      (await readResults(o.candidates)).map((r) => [resolveRowPath(r.path, o.candidates!), r]),
    );
    const cols = Object.keys(table.values().next().value ?? {}).filter((c) => c !== "path");
    const value = (p: string, c: string) => {
      const v = table.get(p)?.[c];
      if (!table.has(p)) throw new Error(`${o.candidates}: no row for ${p}`);
      if (!isNum(v)) throw new Error(`${o.candidates}: column ${c} of ${p} is not a number (${v})`);
      return Number(v);
    };
    const group = (name: string, cs: string[]) =>
      sets.push({ name, fixed: base.map((r, i) => [...r, ...cs.map((c) => value(data.paths[i], c))]) });
    for (const c of cols) {
      single[c] = iv(oriented(data.paths.map((p) => value(p, c))));
      group(`+ ${c}`, [c]);
    }
    const prefixes = [...new Set(cols.map((c) => c.split("_")[0]))];
    for (const pre of prefixes) {
      const cs = cols.filter((c) => c.split("_")[0] === pre);
      if (cs.length > 1 && cs.length < cols.length) group(`+ ${pre}_* (${cs.length})`, cs);
    }
    if (cols.length > 1) group(`+ every candidate column (${cols.length})`, cols);
  }
  const kinds = o.embeddings ?? ["whole", "tiles"];
  if (kinds.length) {
    const emb = await embeddings(data.paths, kinds, o.cacheDir ?? "out/usable_study", o.onProgress);
    for (const k of kinds) {
      const name = k === "whole" ? "+ MobileNetV2 embedding (PCA)" : "+ MobileNetV2 tile-max embedding (PCA)";
      sets.push({ name, fixed: base, block: emb[k] });
    }
  }
  const configsOf = (s: FeatureSet) =>
    (s.block ? KS : [0]).flatMap((k) => CS.map((C) => ({ set: s.name, k, C })));
  const seeds = o.seeds ?? [0, 1, 2, 3, 4];
  const oofs = new Map<string, number[][]>();
  const run = (name: string, group: FeatureSet[]): StudyLine => {
    const configs = group.flatMap(configsOf);
    const results = seeds.map((seed) => nestedOutOfFold(group, y, configs, { seed }));
    oofs.set(name, results.map((r) => r.outOfFold));
    o.onProgress?.(`nested: ${name}`);
    return {
      candidate: name,
      auc: iv(results[0].outOfFold),
      seeds: results.map((r) => rocAucScore(y, r.outOfFold)),
      chosen: results[0].chosen,
    };
  };
  const lines = sets.map((s) => run(s.name, [s]));
  if (sets.length > 2) lines.push(run("all candidates (the inner CV chooses the set too)", sets));
  for (const f of USABLE_FEATURES) {
    single[f.name] = iv(oriented(data.rows.map((r) => featureVector({ features: [f] }, r)[0])));
  }
  const labelFile = await loadImageLabels(o.labels ?? DEFAULT_FIT_LABELS);
  const errorsOf = new Map(labelFile.rows.map((l) => [resolve(l.path), l.errors as string[]]));
  const errors = data.paths.map((p) => errorsOf.get(p) ?? []);
  const perSeed = oofs.get(sets[0].name)!.map((oof) => headroomByError(y, oof, errors).errors);
  const headroom = perSeed[0].map(({ error, rejects }) => ({
    error,
    rejects,
    seeds: perSeed.map((hs) => hs.find((h) => h.error === error)!.auc),
  }));
  return { rows: y.length, unusable: y.filter((v) => v === 0).length, lines, headroom, single };
}
