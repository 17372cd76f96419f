/**
 * Faces: detect them with a face detector (`lib/models/faces/`) and measure how small and how
 * confidently detected they are. Two cheap signals practitioners found for generated people:
 * faces that cover a small area are usually malformed (too few pixels for eyes and mouth), and an
 * off-the-shelf detector is less confident on a malformed face.
 *
 * Per-image outputs: `face_count`, `face_min_area_frac`, `face_max_area_frac`,
 * `face_min_log10_area`, `face_min_confidence`, `face_mean_confidence`. When no face is found,
 * `face_count` is 0 and the others are empty (null), so **a rule about faces passes when there is
 * no face**: an image without people is not rejected for bad faces. (To require a face, add a
 * rule `face_count ≥ 1`.) The per-face table `faces` gets one row per face (see
 * {@link FACE_COLUMNS}), numbered 1, 2, … left to right.
 *
 * Settings (`ctx.settingsFor("faces")`, e.g. `settings: { faces: { detector: "tiny" } }`):
 * - `detector`: `"ssd"` (default: the default thresholds were measured with it), `"tiny"` or
 *   `"blazeface"`. Scores differ between detectors (BlazeFace's run lower, and are rounded to
 *   0.01), so the confidence rule needs calibrating for the others.
 * - `findConfidence`: the detector's threshold for FINDING faces to judge (default 0.1 for `ssd`,
 *   for which it was measured; `minConfidence` for the other detectors): every
 *   face found at or above it gets a row in the faces table and its pure crop measures
 *   (`face_features.ts`); the model measures and `face_quality` from `qualityConfidence` up. Low, because bad faces are the ones a detector is
 *   unsure of: at 0.5 most hand-rated bad faces are never seen.
 * - `minConfidence`: faces scored below this are not COUNTED (default 0.5): `face_count`, the area
 *   and confidence columns of the image row and the rules on them keep their meaning; such faces
 *   still get a row (`counted` 0) and are judged.
 * - `judgeConfidence`: `face_min_quality` is the lowest `face_quality` among the faces found at or
 *   above this (default 0.3). Between 0.15 and 0.3 most boxes are not faces at all: on the shipped
 *   labels most detections that match no labeled face score below 0.3 (see the README's faces
 *   section for the counts), while all 6 bad faces score 0.39 or more; such boxes still get a row, but do not reject
 *   the image.
 * - `qualityFeatures`: compute the per-face quality measures (default true; false skips the
 *   second detector and the landmark net, and leaves `face_quality` empty).
 * - `qualityConfidence`: the measures that run a model on each face (`blaze_score`,
 *   `landmark_distance`) and `face_quality` are computed for the faces found at or above this
 *   (default: `judgeConfidence`, never above it), and are empty for the others: the faces below
 *   `judgeConfidence` do not reach `face_min_quality`, and on the shipped labels they are more than
 *   half of the boxes found. The pure crop measures are computed for every face. Set it to
 *   `findConfidence` (0.1) to judge every face found, as `deno task fit face_quality` does.
 * - `cropsDir`: when set, each face is saved there as a JPEG crop with a margin, named
 *   `<image stem>_face<k>.jpg` (`k` = the `face` column), for labeling and contact sheets. The
 *   stem is the image file's name without extension when the caller passes `path` in the image
 *   options, else `img-<hash of the pixels>`.
 * - `cropMargin`: margin added on each side of a crop, as a fraction of the box (default 0.25).
 * - `inputSize`: long side in pixels (a multiple of 32, 64–1024) of the copy `ssd` or `tiny` runs
 *   on; for `ssd` also its network input (see `lib/models/faces/faceapi.ts`). Default the
 *   detector's own, 512 (the README's faces section measures the speed and coverage of each).
 * - `runtime`: what runs `ssd` and BlazeFace (as the detector and on the 2× crops): `"onnx"`
 *   (default: the packages' own weights as ONNX graphs on onnxruntime-node, one thread per score
 *   worker) or `"tfjs"` (face-api and Human themselves on TF.js' wasm backend). Same boxes and
 *   scores to float rounding (the README's faces section gives the measured difference and the
 *   speed of each); `tiny` and the landmark net always run on TF.js.
 * - `modelDir`: folder of the detector's model files (default: inside this project's
 *   `node_modules`).
 * - `qualityModel`: the `face_quality` scorer file (`winnow-scorer/1`, `lib/models/scorer.ts`) that
 *   turns each face row's columns into `face_quality` (default: the shipped
 *   `data/models/face_quality.json`; `deno task fit face_quality` refits one on your labels;
 *   `"none"` leaves `face_quality` empty).
 *
 * The model loads once per process (per score worker) and is reused for every image.
 *
 * @example
 * ```ts ignore
 * import { ImageContext } from "./types.ts";
 * import { faces } from "./faces.ts";
 * import { decodeImage } from "../core/image.ts";
 * const ctx = new ImageContext(await decodeImage("group.jpg"), { settings: { faces: { detector: "ssd" } } });
 * console.log(await faces.compute(ctx), ctx.details.get("faces"));
 * ```
 * @module
 */
import { basename, extname, join } from "node:path";
import sharp from "sharp";
import type { RgbImage } from "../core/image.ts";
import type { Box, DetailRow, Heuristic, ImageContext, OutputSpec, Value } from "./types.ts";
import { skinInRegion } from "./skin.ts";
import { applyScorer, loadScorer, type Scorer, shippedScorerPath } from "../models/scorer.ts";
import { FACE_FEATURE_COLUMNS, faceFeatures } from "./face_features.ts";
import {
  DEFAULT_MIN_CONFIDENCE,
  DEFAULT_SSD_RUNTIME,
  DETECTOR_NAMES,
  type DetectorName,
  type Face,
  FACE_RUNTIMES,
  type FaceRuntime,
  getDetector,
} from "../models/faces/detector.ts";
import { checkSettings, SettingsError, type SettingsSpec } from "../core/settings.ts";

/** Settings of the `faces` heuristic, after defaults (see the module doc). */
export interface FacesSettings {
  detector: DetectorName;
  /** Threshold for finding faces to judge. */
  findConfidence: number;
  /** Threshold for counting a face. */
  minConfidence: number;
  /** Threshold for a face's quality to count in `face_min_quality`. */
  judgeConfidence: number;
  qualityFeatures: boolean;
  /** Threshold for a face to get the model measures and a `face_quality`. */
  qualityConfidence: number;
  cropsDir?: string;
  cropMargin: number;
  modelDir?: string;
  /** Long side of the copy the detector runs on; undefined: the detector's default. */
  inputSize?: number;
  /** What runs `ssd`. */
  runtime: FaceRuntime;
  /** Path of the `face_quality` scorer file, or `"none"`. */
  qualityModel: string;
}

/** The shipped `face_quality` scorer: `data/models/face_quality.json`. */
export const DEFAULT_FACE_QUALITY_MODEL: string = shippedScorerPath("face_quality");

/** Default detector of the `faces` heuristic. */
export const DEFAULT_FACE_DETECTOR: DetectorName = "ssd";

/**
 * Default threshold for finding faces to judge: 0.1, where `ssd` finds 324 of the 336 shipped
 * hand-rated faces (96.4 %, IoU ≥ 0.5; 93.8 % at 0.15, 89.6 % at 0.2) and all 6 bad ones.
 */
export const DEFAULT_FIND_CONFIDENCE = 0.1;

/** Default threshold for a face's quality to count in `face_min_quality`. */
export const DEFAULT_JUDGE_CONFIDENCE = 0.3;

/** Default crop margin, a fraction of the box on each side. */
export const DEFAULT_CROP_MARGIN = 0.25;

/** The settings of `faces`, with their defaults. */
export const FACES_SETTINGS = {
  detector: {
    kind: "choice",
    choices: DETECTOR_NAMES,
    what: "face detector",
    default: DEFAULT_FACE_DETECTOR,
  },
  minConfidence: { kind: "number", min: 0, max: 1, default: DEFAULT_MIN_CONFIDENCE },
  findConfidence: { kind: "number", min: 0, max: 1 },
  judgeConfidence: { kind: "number", min: 0, max: 1 },
  qualityConfidence: { kind: "number", min: 0, max: 1 },
  qualityFeatures: { kind: "boolean", default: true },
  cropsDir: { kind: "string", what: "a folder path" },
  cropMargin: { kind: "number", min: 0, default: DEFAULT_CROP_MARGIN },
  modelDir: { kind: "string", what: "a folder path" },
  inputSize: { kind: "number", min: 64, max: 1024, integer: true },
  runtime: { kind: "choice", choices: FACE_RUNTIMES, what: "face runtime", default: DEFAULT_SSD_RUNTIME },
  qualityModel: { kind: "string", what: "a scorer file path", default: DEFAULT_FACE_QUALITY_MODEL },
} as const satisfies SettingsSpec;

/**
 * Reads and checks the `faces` settings, filling in defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { facesSettings } from "./faces.ts";
 * const s = facesSettings({ detector: "tiny" });
 * assert.deepEqual([s.detector, s.findConfidence, s.minConfidence, s.cropMargin], ["tiny", 0.5, 0.5, 0.25]);
 * const d = facesSettings();
 * assert.deepEqual([d.detector, d.findConfidence, d.judgeConfidence, d.minConfidence], ["ssd", 0.1, 0.3, 0.5]);
 * assert.equal(d.qualityConfidence, 0.3);
 * assert.equal(facesSettings({ qualityConfidence: 0.1 }).qualityConfidence, 0.1);
 * assert.match(s.qualityModel, /face_quality\.json$/);
 * assert.throws(() => facesSettings({ detector: "yolo" }), /unknown face detector "yolo"/);
 * assert.equal(facesSettings({ inputSize: 384 }).inputSize, 384);
 * assert.throws(() => facesSettings({ inputSize: 400 }), /multiple of 32/);
 * assert.deepEqual([d.runtime, facesSettings({ runtime: "tfjs" }).runtime], ["onnx", "tfjs"]);
 * ```
 */
export function facesSettings(raw: Record<string, unknown> = {}): FacesSettings {
  const s = checkSettings("faces", raw, FACES_SETTINGS) as unknown as FacesSettings;
  if (s.inputSize !== undefined && (s.inputSize % 32 !== 0 || s.detector === "blazeface")) {
    throw new SettingsError(
      `faces: inputSize ${s.inputSize}: a multiple of 32, for the ssd and tiny detectors (blazeface's is fixed)`,
    );
  }
  // Finding never stops above counting, and judging never starts below finding.
  // The low finding threshold was measured for ssd; other detectors score differently (BlazeFace
  // finds dozens of boxes at 0.1 in a checkerboard), so they find at the counting threshold.
  const findConfidence = (raw.findConfidence as number | undefined) ??
    (s.detector === "ssd" ? Math.min(DEFAULT_FIND_CONFIDENCE, s.minConfidence) : s.minConfidence);
  const judgeConfidence = (raw.judgeConfidence as number | undefined) ??
    Math.max(findConfidence, Math.min(DEFAULT_JUDGE_CONFIDENCE, s.minConfidence));
  // Every face judged has a quality: the model measures start at judgeConfidence at the latest.
  const qualityConfidence = Math.min(
    (raw.qualityConfidence as number | undefined) ?? judgeConfidence,
    judgeConfidence,
  );
  return { ...s, findConfidence, judgeConfidence, qualityConfidence };
}

/**
 * The `face_quality` scorer of the settings, loaded once per process: null for `"none"`, and for
 * the default file when it is absent (a checkout without `data/models/`); a file named explicitly
 * must exist and parse.
 */
export async function faceQualityScorer(settings: FacesSettings): Promise<Scorer | null> {
  if (settings.qualityModel === "none") return null;
  if (settings.qualityModel === DEFAULT_FACE_QUALITY_MODEL) {
    const there = await Deno.stat(DEFAULT_FACE_QUALITY_MODEL).then((s) => s.isFile, () => false);
    if (!there) return null;
  }
  return await loadScorer(settings.qualityModel);
}

/**
 * The faces in the context's image, detected once per image and settings (memoised in the
 * context, so other heuristics can reuse them).
 */
export function detectFaces(ctx: ImageContext, settings: FacesSettings = facesSettings()): Promise<Face[]> {
  return ctx.memo(detectionKey(settings), async () => {
    const detector = await detectorOf(settings);
    return await detector.detect(ctx.image, { minConfidence: detectionThreshold(settings) });
  });
}

/** The detector's threshold: faces are found down to the lower of finding and counting. */
const detectionThreshold = (s: FacesSettings) => Math.min(s.findConfidence, s.minConfidence);

/** The memo key of {@link detectFaces}: one detection per image, detector and threshold. */
const detectionKey = (s: FacesSettings) =>
  `faces:${s.detector}:${detectionThreshold(s)}:${s.modelDir ?? ""}:${s.inputSize ?? ""}:${s.runtime}`;

const detectorOf = (s: FacesSettings) =>
  getDetector(s.detector, { modelDir: s.modelDir, inputSize: s.inputSize, runtime: s.runtime });

/**
 * Detects the faces of several contexts in one model run per detector setting (where the detector
 * has `detectBatch`: `ssd` on onnxruntime) and memoises each image's faces under
 * {@link detectFaces}' key, so `compute` finds them; images with bad settings or whose copy could
 * not be made are left out, and their own `compute` reports the error.
 */
async function detectFacesBatch(ctxs: readonly ImageContext[]): Promise<void> {
  const groups = new Map<string, { settings: FacesSettings; ctxs: ImageContext[] }>();
  for (const ctx of ctxs) {
    let settings: FacesSettings;
    try {
      settings = facesSettings(ctx.settingsFor("faces"));
    } catch {
      continue;
    }
    const key = detectionKey(settings);
    const g = groups.get(key) ?? { settings, ctxs: [] };
    g.ctxs.push(ctx);
    groups.set(key, g);
  }
  for (const [key, { settings, ctxs: group }] of groups) {
    if (group.length < 2) continue;
    const detector = await detectorOf(settings);
    if (!detector.detectBatch) continue;
    const found = await detector.detectBatch(group.map((c) => c.image), {
      minConfidence: detectionThreshold(settings),
    });
    group.forEach((c, i) => {
      const f = found[i];
      if (f) c.memo(key, () => Promise.resolve(f));
    });
  }
}

/**
 * Skin fraction inside each face box (the foundation's YCrCb skin rule via `skinInRegion`):
 * a detected "face" with almost no skin-coloured pixels is suspect, and so is a generated face
 * with an unnatural colour.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageContext } from "./types.ts";
 * import { faceSkinRatios } from "./faces.ts";
 * const img = { width: 2, height: 1, data: new Uint8Array([224, 172, 140, 20, 60, 200]) };
 * const boxes = [{ x: 0, y: 0, width: 1, height: 1 }, { x: 0, y: 0, width: 2, height: 1 }];
 * assert.deepEqual(faceSkinRatios(new ImageContext(img), boxes), [1, 0.5]);
 * ```
 */
export function faceSkinRatios(ctx: ImageContext, boxes: readonly Box[]): (number | null)[] {
  return boxes.map((b) => skinInRegion(ctx, { region: b }).ratio);
}

/** Columns of the `faces` table (after `path`): the contract columns, then `skin_ratio`. */
export const FACE_COLUMNS: readonly OutputSpec[] = [
  {
    name: "face",
    unit: "index",
    direction: "neither",
    description: "face number in its image, 1… left to right",
  },
  {
    name: "detector",
    unit: "name",
    direction: "neither",
    description: "detector that found it",
    type: "string",
  },
  { name: "x", unit: "pixels", direction: "neither", description: "left edge of the box (original image)" },
  { name: "y", unit: "pixels", direction: "neither", description: "top edge of the box (original image)" },
  { name: "width", unit: "pixels", direction: "neither", description: "box width (clipped to the image)" },
  { name: "height", unit: "pixels", direction: "neither", description: "box height (clipped to the image)" },
  { name: "confidence", unit: "score 0–1", direction: "higher_is_better", description: "detector score" },
  { name: "area_px", unit: "pixels", direction: "higher_is_better", description: "width × height" },
  {
    name: "area_frac",
    unit: "fraction 0–1",
    direction: "higher_is_better",
    description: "area_px / (image width × height)",
  },
  { name: "log10_area", unit: "log10 pixels", direction: "higher_is_better", description: "log10(area_px)" },
  {
    name: "skin_ratio",
    unit: "fraction 0–1",
    direction: "neither",
    description: "fraction of skin-coloured pixels in the box (the skin heuristic's YCrCb rule)",
  },
  {
    name: "counted",
    unit: "1 or 0",
    direction: "neither",
    description: "1 when confidence ≥ minConfidence (the face counts in face_count and the area and " +
      "confidence columns of the image row), 0 for a face found only at the lower findConfidence",
  },
  ...FACE_FEATURE_COLUMNS,
  {
    name: "face_quality",
    unit: "probability 0–1",
    direction: "higher_is_better",
    description: "the face_quality scorer (setting qualityModel) on this row's columns: how likely a " +
      "person rates the face 4–5 rather than 1–2; empty without a scorer and for faces found below " +
      "qualityConfidence (default judgeConfidence, 0.3)",
  },
];

/**
 * One `faces` table row per face: the contract columns plus `skin_ratio`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageContext } from "./types.ts";
 * import { faceRows } from "./faces.ts";
 * const ctx = new ImageContext({ width: 100, height: 10, data: new Uint8Array(3000) });
 * const [row] = faceRows(ctx, [{ x: 5, y: 0, width: 10, height: 10, confidence: 0.9 }], "ssd");
 * assert.deepEqual([row.face, row.area_px, row.area_frac, row.log10_area, row.skin_ratio], [1, 100, 0.1, 2, 0]);
 * ```
 */
export function faceRows(ctx: ImageContext, faces: readonly Face[], detector: string): DetailRow[] {
  const total = ctx.width * ctx.height;
  const skin = faceSkinRatios(ctx, faces);
  return faces.map((f, i) => {
    const area = f.width * f.height;
    return {
      face: i + 1,
      detector,
      x: f.x,
      y: f.y,
      width: f.width,
      height: f.height,
      confidence: f.confidence,
      area_px: area,
      area_frac: area / total,
      log10_area: Math.log10(area),
      skin_ratio: skin[i],
    };
  });
}

/** The box of a face crop: the face box grown by `margin` × its size on each side, clipped. */
export function cropBox(f: Box, margin: number, width: number, height: number): Box {
  const x0 = Math.max(0, Math.floor(f.x - margin * f.width)),
    y0 = Math.max(0, Math.floor(f.y - margin * f.height));
  const x1 = Math.min(width, Math.ceil(f.x + f.width * (1 + margin)));
  const y1 = Math.min(height, Math.ceil(f.y + f.height * (1 + margin)));
  return { x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) };
}

/**
 * Saves each face of `img` as `<stem>_face<k>.jpg` in `dir` (created if needed), k = 1, 2, … in
 * the order given; returns the files written.
 *
 * @example
 * ```ts ignore
 * import { saveFaceCrops } from "./faces.ts";
 * await saveFaceCrops(img, faces, "crops/", "gen_0001");   // crops/gen_0001_face1.jpg, …
 * ```
 */
export async function saveFaceCrops(
  img: RgbImage,
  faces: readonly Box[],
  dir: string,
  stem: string,
  margin = DEFAULT_CROP_MARGIN,
): Promise<string[]> {
  if (!faces.length) return [];
  await Deno.mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const [i, f] of faces.entries()) {
    const c = cropBox(f, margin, img.width, img.height);
    const file = join(dir, `${stem}_face${i + 1}.jpg`);
    await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
      .extract({ left: c.x, top: c.y, width: c.width, height: c.height })
      .jpeg({ quality: 90 })
      .toFile(file);
    files.push(file);
  }
  return files;
}

/** Name stem for crops: the file's name without extension, else a hash of the pixels. */
function cropStem(ctx: ImageContext): string {
  const path = ctx.options.path;
  if (typeof path === "string" && path) return basename(path, extname(path));
  let h = 0x811c9dc5;
  const d = ctx.image.data;
  for (let i = 0; i < d.length; i += 7) h = Math.imul(h ^ d[i], 0x01000193);
  return `img-${(h >>> 0).toString(16).padStart(8, "0")}-${ctx.width}x${ctx.height}`;
}

const OUTPUTS: OutputSpec[] = [
  {
    name: "face_count",
    unit: "faces",
    direction: "neither",
    description: "faces detected at ≥ minConfidence",
  },
  {
    name: "face_min_area_frac",
    unit: "fraction 0–1",
    direction: "higher_is_better",
    description: "smallest face box area / image area; empty when no face",
  },
  {
    name: "face_max_area_frac",
    unit: "fraction 0–1",
    direction: "neither",
    description: "largest face box area / image area; empty when no face",
  },
  {
    name: "face_min_log10_area",
    unit: "log10 pixels",
    direction: "higher_is_better",
    description: "log10 of the smallest face box area in pixels (3.0 ≈ 32×32 px); empty when no face",
  },
  {
    name: "face_min_confidence",
    unit: "score 0–1",
    direction: "higher_is_better",
    description: "lowest detector score among the faces; empty when no face",
  },
  {
    name: "face_mean_confidence",
    unit: "score 0–1",
    direction: "higher_is_better",
    description: "mean detector score of the faces; empty when no face",
  },
  {
    name: "face_min_quality",
    unit: "probability 0–1",
    direction: "higher_is_better",
    description: "lowest face_quality among the faces found at ≥ judgeConfidence (default 0.3); empty " +
      "when there is none or no scorer",
  },
];

/** Detected faces: count, smallest/largest area, lowest/mean detector confidence; rows per face. */
export const faces: Heuristic = {
  name: "faces",
  description: "Faces found by a face detector (SSD MobileNet v1 by default): how small the smallest " +
    "is and how confident the detector is; small or low-confidence faces are usually malformed.",
  errorType: "bad_face",
  outputs: OUTPUTS,
  thresholds: [
    {
      output: "face_min_log10_area",
      min: 3.0,
      errorType: "small_face",
      source: "measured with ssd on ../shared/data/labels/faces.csv (438 hand-rated faces, 189 " +
        "generated images): boxes under 10^3.0 px² (~32×32) hold 14 of 16 faces rated 1–2 and 61 of " +
        "368 rated 4–5 (3.6 would flag 52% of good faces); calibrate it on your labels",
    },
    {
      output: "face_min_confidence",
      min: 0.6,
      errorType: "low_face_confidence",
      source: "measured with ssd on ../shared/data/labels/faces.csv: of faces found at ≥ 0.5, a score " +
        "< 0.6 holds 2 of 12 rated 1–2 and 28 of 283 rated 4–5 (< 0.7: 5/12 and 50/283); a weak " +
        "signal (AUC 0.61), so only the worst offenders; calibrate it on your labels",
    },
    {
      output: "face_min_quality",
      min: 0.833,
      errorType: "bad_face",
      source: "fitted with data/models/face_quality.json on data/labels/faces.csv (336 hand-rated faces, " +
        "324 found): the out-of-fold face_quality below which 10 % of good faces (28 of 280) fall; it " +
        "catches 4 of the 6 faces rated 1–2 (at 5 %: 0.723, 1 of 6; at 20 %: 0.869, 6 of 6). " +
        "`deno task fit face_quality` prints it; calibrate it on your labels",
    },
  ],
  details: [{ name: "faces", columns: [...FACE_COLUMNS] }],
  scorers: [{ name: "face_quality", setting: "qualityModel" }],
  // The detector (`ssd` on onnxruntime) on the 512×512 inputs of a batch in one run; the per-face
  // measures stay per image. 1 (batching only when a batch size is given): `deno task bench --parts
  // models --models faces --batch 1,4,8` measured no consistent CPU gain (README "Model heuristics
  // in batches": batch 4 1.6–5.9 % under batch 1, batch 8 1.4–7.8 % over it, within the spread).
  batchSize: 1,
  prepareBatch: detectFacesBatch,
  async compute(ctx) {
    const settings = facesSettings(ctx.settingsFor("faces"));
    const found = await detectFaces(ctx, settings);
    const scorer = settings.qualityFeatures ? await faceQualityScorer(settings) : null;
    const rows = faceRows(ctx, found, settings.detector);
    // The measures that run a model, and face_quality, only for faces that may be judged.
    const withModels = found.map((f) => f.confidence >= settings.qualityConfidence);
    const measures = settings.qualityFeatures && found.length
      ? await faceFeatures(ctx.image, found, withModels, settings.runtime)
      : null;
    rows.forEach((row, i) => {
      row.counted = found[i].confidence >= settings.minConfidence ? 1 : 0;
      for (const c of FACE_FEATURE_COLUMNS) row[c.name] = measures ? measures[i][c.name] : null;
      row.face_quality = scorer && withModels[i] ? applyScorer(scorer, row) : null;
      ctx.addDetail("faces", row);
    });
    if (settings.cropsDir) {
      await saveFaceCrops(ctx.image, found, settings.cropsDir, cropStem(ctx), settings.cropMargin);
    }
    const quality = rows.flatMap((r, i) =>
      typeof r.face_quality === "number" && found[i].confidence >= settings.judgeConfidence
        ? [r.face_quality]
        : []
    );
    const counted = found.filter((f) => f.confidence >= settings.minConfidence);
    const values: Record<string, Value> = Object.fromEntries(
      OUTPUTS.map((o) => [o.name, o.name === "face_count" ? 0 : null]),
    );
    values.face_min_quality = quality.length ? Math.min(...quality) : null;
    if (!counted.length) return values;
    const total = ctx.width * ctx.height;
    const areas = counted.map((f) => f.width * f.height);
    const conf = counted.map((f) => f.confidence);
    const minArea = Math.min(...areas);
    return {
      ...values,
      face_count: counted.length,
      face_min_area_frac: minArea / total,
      face_max_area_frac: Math.max(...areas) / total,
      face_min_log10_area: Math.log10(minArea),
      face_min_confidence: Math.min(...conf),
      face_mean_confidence: conf.reduce((a, b) => a + b, 0) / conf.length,
    };
  },
};
