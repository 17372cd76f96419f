/**
 * Candidate signals for the usability scorer that are not (yet) heuristics, for
 * `deno task usable-study --candidates`: one pass over the labeled images caches the raw
 * detections (PaddleOCR lines with per-character confidences, CenterNet objects down to confidence
 * 0.05, hands) in `out/usable_signals/raw.json` (resumable), then writes
 * `out/usable_signals/candidates.csv` (path + one column per candidate). README, "Learned
 * scorers", lists what each measured.
 *
 * With `--tiles`, also a patch-anomaly signal: the nsfwjs MobileNetV2 pooled features (1280-d) of
 * the whole image and of its 3 × 3 grid of half-size tiles, and per tile the cosine distance to the
 * whole image's features and to the tiles' mean (cached in `out/usable_signals/tiles2.json`):
 * `tile_max_dist_whole` (the tile least like the whole image), `tile_outlier` (the most distant
 * tile's distance to the mean minus the median tile's) and `tile_mean_dist`.
 *
 * Usage: `./deno run -A tools/usable_candidates.ts [--tiles]` (about 5 min on 2 cores the first
 * time, 30 more with `--tiles` under load; seconds from the cache).
 *
 * @module
 */
import { DEFAULT_LABEL_SCORES, usableRows } from "../lib/calibrate/fit_usable.ts";
import { decodeImage } from "../lib/core/image.ts";
import { iou } from "../lib/core/geometry.ts";
import { writeAtomic } from "../lib/core/atomic.ts";
import { ImageContext } from "../lib/heuristics/types.ts";
import {
  garbledScore,
  isTextRegion,
  loadLexicon,
  PROMINENT_TEXT_SIDE,
  readText,
  textSettings,
} from "../lib/heuristics/text.ts";
import { objects } from "../lib/heuristics/objects.ts";
import { hands } from "../lib/heuristics/hands.ts";
import { nsfwjsExtractor } from "../lib/evaluate/features.ts";
import { halfTiles } from "../lib/evaluate/usable_study.ts";

interface Line {
  text: string;
  confidence: number;
  charConfidences: number[];
  box: { x: number; y: number; width: number; height: number };
}
interface Obj {
  label: string;
  confidence: number;
  x: number;
  y: number;
  width: number;
  height: number;
}
interface Raw {
  width: number;
  height: number;
  lines: Line[];
  objects: Obj[];
  hands: { fingers: number; keypoint_confidence: number }[];
}

const DIR = "out/usable_signals";
const RAW = `${DIR}/raw.json`;
await Deno.mkdir(DIR, { recursive: true });
const { paths } = await usableRows({ scores: DEFAULT_LABEL_SCORES });
const cache: Record<string, Raw> = JSON.parse(await Deno.readTextFile(RAW).catch(() => "{}"));
let fresh = 0;
for (const p of paths) {
  if (cache[p]) continue;
  const img = await decodeImage(p);
  const ctx = new ImageContext(img, { settings: { objects: { minConfidence: 0.05 } }, path: p });
  const lines = await readText(ctx, textSettings({}));
  await objects.compute(ctx);
  await hands.compute(ctx);
  cache[p] = {
    width: img.width,
    height: img.height,
    lines: lines.map((l) => ({
      text: l.text,
      confidence: l.confidence,
      charConfidences: l.charConfidences,
      box: l.box,
    })),
    objects: (ctx.details.get("objects") ?? []) as unknown as Obj[],
    hands: (ctx.details.get("hands") ?? []) as unknown as Raw["hands"],
  };
  if (++fresh % 20 === 0) {
    console.error(`${Object.keys(cache).length}/${paths.length}`);
    await writeAtomic(RAW, JSON.stringify(cache));
  }
}
if (fresh) await writeAtomic(RAW, JSON.stringify(cache));

type Tiles = Record<string, { toWhole: number[]; toMean: number[] }>;
const TILES = `${DIR}/tiles2.json`;
const cosd = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0, na = 0, nb = 0;
  for (let j = 0; j < a.length; j++) {
    d += a[j] * b[j];
    na += a[j] ** 2;
    nb += b[j] ** 2;
  }
  return 1 - d / Math.sqrt(na * nb || 1);
};
let tiles: Tiles | undefined;
if (Deno.args.includes("--tiles")) {
  tiles = JSON.parse(await Deno.readTextFile(TILES).catch(() => "{}")) as Tiles;
  const fx = await nsfwjsExtractor();
  let n = 0;
  for (const p of paths) {
    if (tiles[p]) continue;
    const img = await decodeImage(p);
    const whole = await fx.features(img);
    const feats = [];
    for (const t of halfTiles(img)) feats.push(await fx.features(t));
    const mean = new Float64Array(whole.length);
    for (const t of feats) t.forEach((v, j) => (mean[j] += v / feats.length));
    tiles[p] = { toWhole: feats.map((t) => cosd(t, whole)), toMean: feats.map((t) => cosd(t, mean)) };
    if (++n % 10 === 0) {
      console.error(`tiles ${Object.keys(tiles).length}/${paths.length}`);
      await writeAtomic(TILES, JSON.stringify(tiles));
    }
  }
  if (n) await writeAtomic(TILES, JSON.stringify(tiles));
}

const lx = await loadLexicon();
const rows: Record<string, number>[] = paths.map((p) => {
  const r = cache[p];
  const side = PROMINENT_TEXT_SIDE * Math.min(r.width, r.height);
  const prom = (l: Line) => Math.min(1, Math.min(l.box.width, l.box.height) / side);
  const regions = r.lines.filter(isTextRegion);
  let uncertainty = 0, low = 0, chars = 0, garbledArea = 0;
  for (const l of regions) {
    if (l.charConfidences.length) {
      uncertainty = Math.max(uncertainty, prom(l) * (1 - Math.min(...l.charConfidences)));
    }
    for (const c of l.charConfidences) {
      chars++;
      if (c < 0.8) low++;
    }
    garbledArea += (garbledScore([l], lx).score ?? 0) * l.box.width * l.box.height / (r.width * r.height);
  }
  const strong = r.objects.filter((o) => o.confidence >= 0.1);
  let cross = 0;
  for (let i = 0; i < strong.length; i++) {
    for (let j = i + 1; j < strong.length; j++) {
      if (strong[i].label !== strong[j].label && iou(strong[i], strong[j]) >= 0.5) cross++;
    }
  }
  const lowObjs = r.objects.filter((o) => o.confidence < 0.3);
  const confSum = r.objects.reduce((a, o) => a + o.confidence, 0);
  const tile: Record<string, number> = {};
  if (tiles) {
    const tm = [...tiles[p].toMean].sort((a, b) => a - b);
    tile.tile_max_dist_whole = Math.max(...tiles[p].toWhole);
    tile.tile_outlier = tm[8] - tm[4];
    tile.tile_mean_dist = tm.reduce((a, b) => a + b, 0) / tm.length;
  }
  return {
    ...tile,
    // Text: recognition confidence per character and per box.
    text_lowconf_char_frac: chars ? low / chars : 0,
    text_lowconf_box_frac: r.lines.length
      ? r.lines.filter((l) => l.confidence < 0.8).length / r.lines.length
      : 0,
    text_prominent_uncertainty: uncertainty,
    text_garbled_area: garbledArea,
    text_prominent_unreadable: Math.max(0, ...r.lines.map((l) => prom(l) * (1 - l.confidence))),
    // Objects: clutter of low-confidence boxes, one region called two classes.
    obj_low_count: Math.log1p(lowObjs.length),
    obj_cross_class_pairs: Math.log1p(cross),
    obj_max_conf: r.objects.length ? Math.max(...r.objects.map((o) => o.confidence)) : 0,
    obj_low_mass: confSum ? lowObjs.reduce((a, o) => a + o.confidence, 0) / confSum : 0,
    // Hands with fewer than 4 fingers or unsure keypoints.
    hand_bad_count: Math.log1p(r.hands.filter((h) => h.fingers < 4 || h.keypoint_confidence < 0.5).length),
  };
});
const names = Object.keys(rows[0]);
await writeAtomic(
  `${DIR}/candidates.csv`,
  ["path," + names.join(","), ...paths.map((p, i) => [p, ...names.map((n) => rows[i][n])].join(","))].join(
    "\n",
  ) +
    "\n",
);
console.error(`wrote ${DIR}/candidates.csv: ${paths.length} rows, ${names.length} candidates`);
