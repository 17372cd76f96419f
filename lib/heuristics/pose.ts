/**
 * Bodies: 17 COCO keypoints per person from MoveNet Lightning (`@vladmandic/human`, shared
 * instance in `lib/models/human.ts`). MoveNet Lightning sees one person, so each person is
 * found first by their face (the `faces` heuristic's detector, BlazeFace by default, memoised
 * and shared with `faces` when both use the same detector) and MoveNet runs on a crop around
 * them: {@link PERSON_CROP} face widths wide, from one face height above the face to seven
 * below. Checks:
 *
 * - **missing body parts** (`missing_body_part`): arms found per person (shoulder and elbow
 *   both scored ≥ `minKeypointScore`; `body_min_arms` has no default rule: in crowded real group
 *   photos 1 person in 4 shows no arm to MoveNet), and, for a region or mask (the inpainting case, see
 *   `ImageOptions.region` / `mask`: a person pasted there should show head and arms), the best
 *   head keypoint score and the number of arms found inside it;
 * - **implausible limbs** (`missing_body_part`): forearm / upper-arm length ratio far from 1
 *   (`body_max_limb_ratio`, max(r, 1/r) over the arms with all three keypoints);
 * - **extra limbs** (`extra_limbs`): the hands of the `hands` heuristic (memoised: detected once
 *   when both run) assigned to the nearest person — to the nearest wrist within 1.5 face widths,
 *   else to the face centre within 4 face widths; more than two on one person fails.
 *
 * Per-image outputs: `body_count`, `body_min_head_score`, `body_min_arms`, `body_max_limb_ratio`,
 * `body_max_hands`, `pose_region_head_score`, `pose_region_arms` (see {@link POSE_OUTPUTS}). With
 * no person the body values are empty and the rules pass; the region values are empty without a
 * region or mask. The table `bodies` gets one row per person ({@link BODY_COLUMNS}).
 *
 * Settings (`ctx.settingsFor("pose")`): `faceDetector` (`blazeface` default, `ssd`, `tiny`),
 * `minKeypointScore` (default 0.3), `countHands` (default true; false skips hand detection and
 * leaves `body_max_hands` empty), `modelDir` (Human's model folder). The `hands` settings apply
 * to the hands counted.
 *
 * @example
 * ```ts ignore
 * import { ImageContext } from "./types.ts";
 * import { pose } from "./pose.ts";
 * import { decodeImage } from "../core/image.ts";
 * const ctx = new ImageContext(await decodeImage("group.jpg"));
 * console.log(await pose.compute(ctx), ctx.details.get("bodies"));
 * ```
 * @module
 */
import sharp from "sharp";
import type { RgbImage } from "../core/image.ts";
import type { Box, DetailRow, Heuristic, ImageContext, OutputSpec } from "./types.ts";
import { clipBox } from "./skin.ts";
import { detectFaces, facesSettings } from "./faces.ts";
import { detectHands, type Hand, handsSettings, MODEL_DIR_SETTING } from "./hands.ts";
import { checkSettings, type SettingsSpec } from "../core/settings.ts";
import { getSharedHuman } from "../models/human.ts";

/** MoveNet's 17 keypoint names (COCO order). */
export const BODY_PARTS = [
  "nose",
  "leftEye",
  "rightEye",
  "leftEar",
  "rightEar",
  "leftShoulder",
  "rightShoulder",
  "leftElbow",
  "rightElbow",
  "leftWrist",
  "rightWrist",
  "leftHip",
  "rightHip",
  "leftKnee",
  "rightKnee",
  "leftAnkle",
  "rightAnkle",
] as const;

/** A body keypoint name. */
export type BodyPart = typeof BODY_PARTS[number];

/** One keypoint in pixels of the original image, with MoveNet's score 0–1. */
export interface Keypoint {
  x: number;
  y: number;
  score: number;
}

/** One person: the crop MoveNet saw and its keypoints (parts MoveNet did not report are absent). */
export interface Body {
  /** The crop, in pixels of the original image. */
  crop: Box;
  /** The face the crop was built around (absent for a region check). */
  face?: Box;
  keypoints: Partial<Record<BodyPart, Keypoint>>;
}

/** Person crop around a face, in face widths (x) and face heights (y) from the face box. */
export const PERSON_CROP = { width: 6, above: 1, below: 7 } as const;

/** Long side of the copy of a crop MoveNet runs on (its network input is 192×192). */
export const POSE_INPUT_SIZE = 256;

/** Settings of the `pose` heuristic, after defaults. */
export interface PoseSettings {
  faceDetector: "ssd" | "tiny" | "blazeface";
  minKeypointScore: number;
  countHands: boolean;
  modelDir?: string;
}

/** The settings of `pose`, with their defaults. */
export const POSE_SETTINGS = {
  faceDetector: {
    kind: "choice",
    choices: ["ssd", "tiny", "blazeface"],
    what: "faceDetector",
    default: "blazeface",
  },
  minKeypointScore: { kind: "number", min: 0, max: 1, default: 0.3 },
  countHands: { kind: "boolean", default: true },
  modelDir: MODEL_DIR_SETTING,
} as const satisfies SettingsSpec;

/**
 * Reads the `pose` settings, filling in defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { poseSettings } from "./pose.ts";
 * assert.deepEqual(poseSettings({}), { faceDetector: "blazeface", minKeypointScore: 0.3, countHands: true });
 * assert.throws(() => poseSettings({ countHands: "yes" }), /countHands must be true or false/);
 * ```
 */
export function poseSettings(raw: Record<string, unknown> = {}): PoseSettings {
  return checkSettings("pose", raw, POSE_SETTINGS) as unknown as PoseSettings;
}

/**
 * The crop around a face that should hold the person's head, shoulders and arms (clipped).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { personCrop } from "./pose.ts";
 * assert.deepEqual(personCrop({ x: 100, y: 50, width: 20, height: 30 }, 1000, 1000), { x: 50, y: 20, width: 120, height: 270 });
 * ```
 */
export function personCrop(face: Box, width: number, height: number): Box {
  const cx = face.x + face.width / 2;
  return clipBox(
    {
      x: cx - PERSON_CROP.width / 2 * face.width,
      y: face.y - PERSON_CROP.above * face.height,
      width: PERSON_CROP.width * face.width,
      height: (PERSON_CROP.above + 1 + PERSON_CROP.below) * face.height,
    },
    width,
    height,
  );
}

/** `box` of `img` resized so its long side is `longSide` (enlarging small crops). */
async function cropCopy(img: RgbImage, box: Box, longSide: number) {
  const f = longSide / Math.max(box.width, box.height);
  const width = Math.max(1, Math.round(box.width * f)), height = Math.max(1, Math.round(box.height * f));
  const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .extract({ left: box.x, top: box.y, width: box.width, height: box.height })
    .resize(width, height, { fit: "fill", kernel: "lanczos3" })
    .raw()
    .toBuffer();
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length), f };
}

/** MoveNet on one crop of `img`; keypoints in pixels of `img`. */
export async function bodyInBox(img: RgbImage, box: Box, modelDir?: string): Promise<Body> {
  const human = await getSharedHuman(modelDir);
  const c = await cropCopy(img, box, POSE_INPUT_SIZE);
  const r = await human.detect("body", c);
  const keypoints: Body["keypoints"] = {};
  for (const k of r.body[0]?.keypoints ?? []) {
    keypoints[k.part as BodyPart] = {
      x: box.x + k.position[0] / c.f,
      y: box.y + k.position[1] / c.f,
      score: k.score,
    };
  }
  return { crop: box, keypoints };
}

/** The people of the context's image, one per detected face (memoised per settings). */
export function detectBodies(ctx: ImageContext, s: PoseSettings = poseSettings()): Promise<Body[]> {
  return ctx.memo(`bodies:${s.faceDetector}:${s.modelDir ?? ""}`, async () => {
    const faces = await detectFaces(ctx, facesSettings({ detector: s.faceDetector }));
    const out: Body[] = [];
    for (const f of faces) {
      const b = await bodyInBox(ctx.image, personCrop(f, ctx.width, ctx.height), s.modelDir);
      out.push({ ...b, face: { x: f.x, y: f.y, width: f.width, height: f.height } });
    }
    return out;
  });
}

const score = (b: Body, p: BodyPart) => b.keypoints[p]?.score ?? 0;

/** Best score of the head keypoints (nose, eyes, ears). */
export function headScore(b: Body): number {
  return Math.max(
    ...(["nose", "leftEye", "rightEye", "leftEar", "rightEar"] as const).map((p) => score(b, p)),
  );
}

/**
 * Arms found (0–2): sides whose shoulder and elbow both score ≥ `min` (and lie inside `inside`
 * when given).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { armCount } from "./pose.ts";
 * const k = (score: number) => ({ x: 0, y: 0, score });
 * const body = { crop: { x: 0, y: 0, width: 1, height: 1 }, keypoints: { leftShoulder: k(0.9), leftElbow: k(0.8), rightShoulder: k(0.9), rightElbow: k(0.1) } };
 * assert.equal(armCount(body, 0.3), 1);
 * ```
 */
export function armCount(b: Body, min: number, inside: (k: Keypoint) => boolean = () => true): number {
  let n = 0;
  for (const side of ["left", "right"] as const) {
    const s = b.keypoints[`${side}Shoulder`], e = b.keypoints[`${side}Elbow`];
    if (s && e && s.score >= min && e.score >= min && inside(s) && inside(e)) n++;
  }
  return n;
}

/**
 * Largest forearm/upper-arm length ratio max(r, 1/r) over arms whose shoulder, elbow and wrist
 * all score ≥ `min`; null when no arm has all three.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { limbRatio } from "./pose.ts";
 * const k = (x: number, y: number) => ({ x, y, score: 0.9 });
 * const body = { crop: { x: 0, y: 0, width: 1, height: 1 }, keypoints: { leftShoulder: k(0, 0), leftElbow: k(0, 10), leftWrist: k(0, 50) } };
 * assert.equal(limbRatio(body, 0.3), 4);
 * ```
 */
export function limbRatio(b: Body, min: number): number | null {
  let worst: number | null = null;
  for (const side of ["left", "right"] as const) {
    const s = b.keypoints[`${side}Shoulder`],
      e = b.keypoints[`${side}Elbow`],
      w = b.keypoints[`${side}Wrist`];
    if (!s || !e || !w || s.score < min || e.score < min || w.score < min) continue;
    const upper = Math.hypot(e.x - s.x, e.y - s.y), fore = Math.hypot(w.x - e.x, w.y - e.y);
    if (!(upper > 0 && fore > 0)) continue;
    const r = Math.max(fore / upper, upper / fore);
    worst = worst === null ? r : Math.max(worst, r);
  }
  return worst;
}

/**
 * Number of `hands` assigned to each body: a hand goes to the body with the nearest wrist
 * (scored ≥ `min`) within 1.5 face widths of the hand's centre, else to the nearest face centre
 * within 4 face widths; hands near no body are not counted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { handsPerBody } from "./pose.ts";
 * const body = (x: number) => ({ crop: { x: x - 30, y: 0, width: 60, height: 90 }, face: { x: x - 5, y: 0, width: 10, height: 10 }, keypoints: {} });
 * const hand = (x: number) => ({ x, y: 20, width: 4, height: 4, confidence: 0.9, keypointConfidence: 0.9, label: "hand", keypoints: [] });
 * assert.deepEqual(handsPerBody([body(50), body(200)], [hand(40), hand(60), hand(70), hand(190), hand(500)], 0.3), [3, 1]);
 * ```
 */
export function handsPerBody(bodies: readonly Body[], hands: readonly Hand[], min: number): number[] {
  const counts = bodies.map(() => 0);
  for (const h of hands) {
    const hx = h.x + h.width / 2, hy = h.y + h.height / 2;
    let best = -1, bestD = Infinity;
    for (const [i, b] of bodies.entries()) {
      const fw = b.face?.width ?? b.crop.width / PERSON_CROP.width;
      for (const side of ["leftWrist", "rightWrist"] as const) {
        const w = b.keypoints[side];
        if (!w || w.score < min) continue;
        const d = Math.hypot(w.x - hx, w.y - hy) / fw;
        if (d <= 1.5 && d < bestD) [best, bestD] = [i, d];
      }
    }
    if (best < 0) {
      for (const [i, b] of bodies.entries()) {
        if (!b.face) continue;
        const d = Math.hypot(b.face.x + b.face.width / 2 - hx, b.face.y + b.face.height / 2 - hy) /
          b.face.width;
        if (d <= 4 && d < bestD) [best, bestD] = [i, d];
      }
    }
    if (best >= 0) counts[best]++;
  }
  return counts;
}

/** The region or mask of the image options as a box and a point test; null when none is given. */
function regionOf(ctx: ImageContext): { box: Box; inside: (k: Keypoint) => boolean } | null {
  const { mask, region } = ctx.options;
  if (mask) {
    if (mask.length !== ctx.width * ctx.height) {
      throw new RangeError(`mask has ${mask.length} pixels, the image ${ctx.width * ctx.height}`);
    }
    let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
    for (let y = 0; y < ctx.height; y++) {
      for (let x = 0, i = y * ctx.width; x < ctx.width; x++, i++) {
        if (mask[i]) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
      }
    }
    if (x1 < 0) throw new RangeError("mask is empty: no pixel inside");
    const inside = (k: Keypoint) => {
      const x = Math.min(ctx.width - 1, Math.max(0, Math.round(k.x)));
      const y = Math.min(ctx.height - 1, Math.max(0, Math.round(k.y)));
      return mask[y * ctx.width + x] !== 0;
    };
    return { box: { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 }, inside };
  }
  if (region) return { box: clipBox(region, ctx.width, ctx.height), inside: () => true };
  return null;
}

/** Per-image outputs of `pose`. */
export const POSE_OUTPUTS: readonly OutputSpec[] = [
  {
    name: "body_count",
    unit: "people",
    direction: "neither",
    description: "people analysed (one per face found)",
  },
  {
    name: "body_min_head_score",
    unit: "score 0–1",
    direction: "higher_is_better",
    description:
      "lowest, over people, of the best head keypoint score (nose, eyes, ears); empty when no person",
  },
  {
    name: "body_min_arms",
    unit: "arms",
    direction: "higher_is_better",
    description:
      "fewest arms (shoulder and elbow ≥ minKeypointScore) found on a person; empty when no person",
  },
  {
    name: "body_max_limb_ratio",
    unit: "ratio ≥ 1",
    direction: "lower_is_better",
    description:
      "largest max(forearm/upper arm, upper arm/forearm) over arms with shoulder, elbow and wrist; " +
      "empty when none",
  },
  {
    name: "body_max_hands",
    unit: "hands",
    direction: "lower_is_better",
    description:
      "most hands (hands heuristic) assigned to one person; empty when no person or countHands is false",
  },
  {
    name: "pose_region_head_score",
    unit: "score 0–1",
    direction: "higher_is_better",
    description:
      "best head keypoint score of MoveNet run on the region/mask (inside the mask); empty without one",
  },
  {
    name: "pose_region_arms",
    unit: "arms",
    direction: "higher_is_better",
    description:
      "arms found by MoveNet run on the region/mask (keypoints inside the mask); empty without one",
  },
];

/** Columns of the `bodies` table (after `path`). */
export const BODY_COLUMNS: readonly OutputSpec[] = [
  {
    name: "body",
    unit: "index",
    direction: "neither",
    description: "person number, 1… left to right (by face)",
  },
  { name: "crop_x", unit: "pixels", direction: "neither", description: "left edge of the crop MoveNet saw" },
  { name: "crop_y", unit: "pixels", direction: "neither", description: "top edge of the crop" },
  { name: "crop_width", unit: "pixels", direction: "neither", description: "crop width" },
  { name: "crop_height", unit: "pixels", direction: "neither", description: "crop height" },
  {
    name: "head_score",
    unit: "score 0–1",
    direction: "higher_is_better",
    description: "best head keypoint score",
  },
  { name: "arms", unit: "arms", direction: "higher_is_better", description: "arms found (0–2)" },
  {
    name: "limb_ratio",
    unit: "ratio ≥ 1",
    direction: "lower_is_better",
    description: "worst forearm/upper-arm ratio",
  },
  {
    name: "hands",
    unit: "hands",
    direction: "lower_is_better",
    description: "hands assigned (empty: not counted)",
  },
  {
    name: "keypoints",
    unit: "pixels",
    direction: "neither",
    description: "keypoints as `part:x,y,score;…`",
    type: "string",
  },
];

/** Body keypoints per person: missing head/arms, implausible arms, extra hands; the region check. */
export const pose: Heuristic = {
  name: "pose",
  description: "Body keypoints per person (MoveNet on a crop around each face): people without arms, " +
    "arms with implausible proportions, more than two hands on one person; head and arms in an inpainted region.",
  errorType: "missing_body_part",
  outputs: [...POSE_OUTPUTS],
  thresholds: [
    {
      output: "body_max_limb_ratio",
      max: 3.5,
      source:
        "eyeballed: forearm and upper arm are about equal; foreshortening in the six face-api demo photos " +
        "reaches 2.85; calibrate",
    },
    { output: "body_max_hands", max: 2, errorType: "extra_limbs", source: "anatomy: two hands per person" },
    { output: "pose_region_head_score", min: 0.3, source: "eyeballed (MoveNet keypoint score): calibrate" },
    {
      output: "pose_region_arms",
      min: 1,
      source: "eyeballed: a person pasted into a region shows an arm; calibrate",
    },
  ],
  details: [{ name: "bodies", columns: [...BODY_COLUMNS] }],
  async compute(ctx) {
    const s = poseSettings(ctx.settingsFor("pose"));
    const min = s.minKeypointScore;
    const region = regionOf(ctx);
    const bodies = await detectBodies(ctx, s);
    const hands = s.countHands && bodies.length
      ? handsPerBody(bodies, await detectHands(ctx, handsSettings(ctx.settingsFor("hands"))), min)
      : null;
    const rows: DetailRow[] = bodies.map((b, i) => ({
      body: i + 1,
      crop_x: b.crop.x,
      crop_y: b.crop.y,
      crop_width: b.crop.width,
      crop_height: b.crop.height,
      head_score: headScore(b),
      arms: armCount(b, min),
      limb_ratio: limbRatio(b, min),
      hands: hands ? hands[i] : null,
      keypoints: Object.entries(b.keypoints)
        .map(([p, k]) => `${p}:${Math.round(k.x)},${Math.round(k.y)},${k.score}`)
        .join(";"),
    }));
    for (const r of rows) ctx.addDetail("bodies", r);
    let regionHead: number | null = null, regionArms: number | null = null;
    if (region) {
      const b = await bodyInBox(ctx.image, region.box, s.modelDir);
      const kept: Body = {
        crop: b.crop,
        keypoints: Object.fromEntries(Object.entries(b.keypoints).filter(([, k]) => region.inside(k))),
      };
      regionHead = headScore(kept);
      regionArms = armCount(kept, min);
    }
    const ratios = rows.map((r) => r.limb_ratio).filter((v): v is number => typeof v === "number");
    return {
      body_count: bodies.length,
      body_min_head_score: rows.length ? Math.min(...rows.map((r) => r.head_score as number)) : null,
      body_min_arms: rows.length ? Math.min(...rows.map((r) => r.arms as number)) : null,
      body_max_limb_ratio: ratios.length ? Math.max(...ratios) : null,
      body_max_hands: hands?.length ? Math.max(...hands) : null,
      pose_region_head_score: regionHead,
      pose_region_arms: regionArms,
    };
  },
};
