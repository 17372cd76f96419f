/**
 * Hands: `@vladmandic/human`'s hand tracker (`handtrack` boxes, then `handlandmark-lite`: 21
 * keypoints per hand and one skeleton score for them) on the shared Human instance
 * (`lib/models/human.ts`). Generated hands fail in ways these catch: the landmark model is
 * unsure of a malformed hand (low skeleton score, or no skeleton at all: score 0), and fused or
 * missing fingers collapse to short fingers.
 *
 * Per-image outputs: `hand_count`, `hand_min_confidence`, `hand_mean_confidence` (detector box
 * score), `hand_min_keypoint_confidence` (the landmark model's score for the 21 keypoints of a
 * hand; the model gives one score per hand, not one per keypoint; 0 when it found no skeleton in
 * the box), `hand_min_fingers` (fingers of a hand whose keypoint path from knuckle to tip is at
 * least {@link MIN_FINGER_LENGTH} × the palm length, wrist→middle knuckle; a normal hand has 5,
 * also when curled, since a curled finger keeps its segment lengths). With no hand, `hand_count`
 * is 0 and the others empty, so the rules pass. The table `hands` gets one row per hand
 * ({@link HAND_COLUMNS}), numbered left to right.
 *
 * Settings (`ctx.settingsFor("hands")`):
 * - `minConfidence`: hands the detector scores below this are dropped (default 0.5);
 * - `inputSize`: long side of the copy the detector runs on (default 1024);
 * - `modelDir`: folder with the Human model files (default: inside this project's node_modules).
 *
 * Hands are detected once per image and settings (memoised in the context), so `pose` reuses
 * them to count hands per body.
 *
 * @example
 * ```ts ignore
 * import { ImageContext } from "./types.ts";
 * import { hands } from "./hands.ts";
 * import { decodeImage } from "../core/image.ts";
 * const ctx = new ImageContext(await decodeImage("group.jpg"));
 * console.log(await hands.compute(ctx), ctx.details.get("hands"));
 * ```
 * @module
 */
import type { DetailRow, Heuristic, ImageContext, OutputSpec } from "./types.ts";
import { scaledForDetection } from "../models/tfjs.ts";
import { getSharedHuman } from "../models/human.ts";
import { checkSettings, type SettingsSpec } from "../core/settings.ts";

/** One detected hand, in pixels of the original image. */
export interface Hand {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Detector box score, 0–1. */
  confidence: number;
  /** Landmark model score for the 21 keypoints, 0–1; 0 when it found no skeleton. */
  keypointConfidence: number;
  /** Detector class (`hand`, `fist`, `point`, `pinch`, …). */
  label: string;
  /** 21 keypoints `[x, y]` (wrist, then 4 per finger thumb→pinky); empty without a skeleton. */
  keypoints: [number, number][];
}

/** Settings of the `hands` heuristic, after defaults. */
export interface HandsSettings {
  minConfidence: number;
  inputSize: number;
  modelDir?: string;
}

/** The `modelDir` setting of every TF.js detector heuristic. */
export const MODEL_DIR_SETTING = { kind: "string", what: "a folder path" } as const;

/** The settings of `hands`, with their defaults. */
export const HANDS_SETTINGS = {
  minConfidence: { kind: "number", min: 0, max: 1, default: 0.5 },
  inputSize: { kind: "number", min: 64, max: 8192, default: 1024 },
  modelDir: MODEL_DIR_SETTING,
} as const satisfies SettingsSpec;

/**
 * Reads the `hands` settings, filling in defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { handsSettings } from "./hands.ts";
 * assert.deepEqual(handsSettings({ minConfidence: 0.6 }), { minConfidence: 0.6, inputSize: 1024 });
 * ```
 */
export function handsSettings(raw: Record<string, unknown> = {}): HandsSettings {
  return checkSettings("hands", raw, HANDS_SETTINGS) as unknown as HandsSettings;
}

/**
 * Skeleton scores below this are not reported by Human (the keypoints are dropped and the score
 * becomes 0); the detector's own threshold is applied afterwards.
 */
const SKELETON_FLOOR = 0.2;

/**
 * The hands in the context's image, detected once per image and settings (memoised, shared with
 * `pose`), sorted left to right.
 */
export function detectHands(ctx: ImageContext, settings: HandsSettings = handsSettings()): Promise<Hand[]> {
  const key = `hands:${settings.minConfidence}:${settings.inputSize}:${settings.modelDir ?? ""}`;
  return ctx.memo(key, async () => {
    const human = await getSharedHuman(settings.modelDir);
    const s = await scaledForDetection(ctx.image, settings.inputSize);
    const r = await human.detect("hand", s, {
      minConfidence: Math.min(SKELETON_FLOOR, settings.minConfidence),
    });
    const found: Hand[] = [];
    for (const h of r.hand) {
      if (h.boxScore < settings.minConfidence) continue;
      const [x, y, w, hh] = h.box as number[];
      const x0 = Math.max(0, x * s.scaleX), y0 = Math.max(0, y * s.scaleY);
      const x1 = Math.min(ctx.width, (x + w) * s.scaleX), y1 = Math.min(ctx.height, (y + hh) * s.scaleY);
      if (x1 <= x0 || y1 <= y0) continue;
      found.push({
        x: Math.round(x0),
        y: Math.round(y0),
        width: Math.round(x1 - x0),
        height: Math.round(y1 - y0),
        confidence: h.boxScore,
        keypointConfidence: h.fingerScore ?? 0,
        label: String(h.label ?? "hand"),
        keypoints: (h.keypoints as number[][]).map((
          [kx, ky],
        ): [number, number] => [kx * s.scaleX, ky * s.scaleY]),
      });
    }
    return found.sort((a, b) => a.x - b.x || a.y - b.y);
  });
}

/** Keypoint indices of each finger, knuckle (MCP) to tip, in Human's 21-point hand layout. */
export const FINGERS: Readonly<Record<string, readonly number[]>> = {
  thumb: [1, 2, 3, 4],
  index: [5, 6, 7, 8],
  middle: [9, 10, 11, 12],
  ring: [13, 14, 15, 16],
  pinky: [17, 18, 19, 20],
};

/** A finger counts when its knuckle→tip path is at least this × the palm (wrist → middle knuckle). */
export const MIN_FINGER_LENGTH = 0.3;

const dist = (a: [number, number], b: [number, number]) => Math.hypot(a[0] - b[0], a[1] - b[1]);

/**
 * Fingers of a 21-keypoint hand whose knuckle→tip path is at least {@link MIN_FINGER_LENGTH} ×
 * the palm length; null without keypoints.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fingerCount } from "./hands.ts";
 * // An open hand: wrist at the origin, palm 10 long, five straight fingers of length 6 pointing up.
 * const kp: [number, number][] = [[0, 0]];
 * for (let f = 0; f < 5; f++) for (let j = 0; j < 4; j++) kp.push([(f - 2) * 3, -10 - 2 * j]);
 * assert.equal(fingerCount(kp), 5);
 * for (const i of [14, 15, 16]) kp[i] = kp[13]; // the ring finger collapses onto its knuckle
 * assert.equal(fingerCount(kp), 4);
 * assert.equal(fingerCount([]), null);
 * ```
 */
export function fingerCount(kp: readonly [number, number][]): number | null {
  if (kp.length < 21) return null;
  const palm = dist(kp[0], kp[9]);
  if (!(palm > 0)) return 0;
  let n = 0;
  for (const idx of Object.values(FINGERS)) {
    let len = 0;
    for (let j = 1; j < idx.length; j++) len += dist(kp[idx[j - 1]], kp[idx[j]]);
    if (len >= MIN_FINGER_LENGTH * palm) n++;
  }
  return n;
}

/** Columns of the `hands` table (after `path`). */
export const HAND_COLUMNS: readonly OutputSpec[] = [
  {
    name: "hand",
    unit: "index",
    direction: "neither",
    description: "hand number in its image, 1… left to right",
  },
  { name: "x", unit: "pixels", direction: "neither", description: "left edge of the box (original image)" },
  { name: "y", unit: "pixels", direction: "neither", description: "top edge of the box (original image)" },
  { name: "width", unit: "pixels", direction: "neither", description: "box width" },
  { name: "height", unit: "pixels", direction: "neither", description: "box height" },
  { name: "confidence", unit: "score 0–1", direction: "higher_is_better", description: "detector box score" },
  {
    name: "keypoint_confidence",
    unit: "score 0–1",
    direction: "higher_is_better",
    description: "landmark model score of the 21 keypoints; 0 when no skeleton was found",
  },
  { name: "fingers", unit: "fingers", direction: "higher_is_better", description: "fingers counted (0–5)" },
  { name: "label", unit: "name", direction: "neither", description: "detector class", type: "string" },
  {
    name: "keypoints",
    unit: "pixels",
    direction: "neither",
    description: "21 keypoints as `x,y;x,y;…` (wrist, then thumb→pinky knuckle to tip)",
    type: "string",
  },
];

/** One `hands` table row per hand. */
export function handRows(found: readonly Hand[]): DetailRow[] {
  return found.map((h, i) => ({
    hand: i + 1,
    x: h.x,
    y: h.y,
    width: h.width,
    height: h.height,
    confidence: h.confidence,
    keypoint_confidence: h.keypointConfidence,
    fingers: fingerCount(h.keypoints),
    label: h.label,
    keypoints: h.keypoints.map(([x, y]) => `${Math.round(x)},${Math.round(y)}`).join(";"),
  }));
}

const OUTPUTS: OutputSpec[] = [
  {
    name: "hand_count",
    unit: "hands",
    direction: "neither",
    description: "hands detected at ≥ minConfidence",
  },
  {
    name: "hand_min_confidence",
    unit: "score 0–1",
    direction: "higher_is_better",
    description: "lowest detector box score among the hands; empty when no hand",
  },
  {
    name: "hand_mean_confidence",
    unit: "score 0–1",
    direction: "higher_is_better",
    description: "mean detector box score of the hands; empty when no hand",
  },
  {
    name: "hand_min_keypoint_confidence",
    unit: "score 0–1",
    direction: "higher_is_better",
    description: "lowest landmark-model score of a hand's 21 keypoints (0: no skeleton found in a hand " +
      "box); empty when no hand",
  },
  {
    name: "hand_min_fingers",
    unit: "fingers",
    direction: "higher_is_better",
    description: "fewest fingers counted on a hand with keypoints (knuckle→tip path ≥ 0.3 × palm); empty " +
      "when no hand has keypoints",
  },
];

/** Detected hands: count, detector and keypoint confidence, fingers; rows per hand. */
export const hands: Heuristic = {
  name: "hands",
  description: "Hands found by Human's hand tracker with 21 keypoints each: a malformed generated hand " +
    "gets a low keypoint score or loses fingers.",
  errorType: "bad_hands",
  outputs: OUTPUTS,
  thresholds: [
    {
      output: "hand_min_keypoint_confidence",
      min: 0.5,
      source: "eyeballed: real hands in the face-api demo photos score ≥ 0.6; calibrate it on your labels",
    },
    {
      output: "hand_min_fingers",
      min: 4,
      source: "eyeballed: a hand seen from the side can hide one finger; calibrate it on your labels",
    },
  ],
  details: [{ name: "hands", columns: [...HAND_COLUMNS] }],
  async compute(ctx) {
    const found = await detectHands(ctx, handsSettings(ctx.settingsFor("hands")));
    const rows = handRows(found);
    for (const row of rows) ctx.addDetail("hands", row);
    if (!found.length) {
      return Object.fromEntries(OUTPUTS.map((o) => [o.name, o.name === "hand_count" ? 0 : null]));
    }
    const conf = found.map((h) => h.confidence);
    const fingers = rows.map((r) => r.fingers).filter((f): f is number => typeof f === "number");
    return {
      hand_count: found.length,
      hand_min_confidence: Math.min(...conf),
      hand_mean_confidence: conf.reduce((a, b) => a + b, 0) / conf.length,
      hand_min_keypoint_confidence: Math.min(...found.map((h) => h.keypointConfidence)),
      hand_min_fingers: fingers.length ? Math.min(...fingers) : null,
    };
  },
};
