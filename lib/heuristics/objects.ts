/**
 * Objects: COCO detections (80 classes) from the CenterNet model that ships in
 * `@vladmandic/human` (shared instance, `lib/models/human.ts`). Two checks:
 *
 * - **prompt mismatch** (`prompt_mismatch`): the prompt's nouns that are COCO class names (plural
 *   forms and a few synonyms, {@link COCO_SYNONYMS}, e.g. "woman" → person, "sofa" → couch) must
 *   be detected; `prompt_missing` counts those that are not. The prompt comes from the `prompt` /
 *   `prompts` settings shared with `clip_score` (`lib/core/prompts.ts`); without either, the
 *   prompt outputs are empty. A prompts file without an entry for the image is an error of that
 *   image's row.
 * - **merged / duplicated objects** (`merged_objects`): Human's class-agnostic suppression is
 *   relaxed (IoU 0.95) and boxes are suppressed per class at IoU {@link NMS_IOU}; two kept boxes
 *   of one class that still overlap (IoU ≥ {@link MERGE_IOU}, or the smaller lying ≥
 *   {@link MERGE_CONTAINED} inside the other) are counted in `object_merged_pairs` — the detector
 *   sees two overlapping instances where a generator fused or duplicated one.
 *
 * Per-image outputs: `object_count`, `object_classes` (e.g. `person:3 tie:1`), `object_person_count`,
 * `object_merged_pairs`, `prompt_objects`, `prompt_missing`, `prompt_missing_objects`. The table
 * `objects` gets one row per detection ({@link OBJECT_COLUMNS}).
 *
 * Settings (`ctx.settingsFor("objects")`): `minConfidence` (default 0.3), `inputSize` (long side
 * of the copy CenterNet sees, default 512 = its network input), `prompt`, `prompts`, `modelDir`.
 *
 * @example
 * ```ts ignore
 * import { ImageContext } from "./types.ts";
 * import { objects } from "./objects.ts";
 * import { decodeImage } from "../core/image.ts";
 * const ctx = new ImageContext(await decodeImage("dog.jpg"), { settings: { objects: { prompt: "two dogs on a sofa" } } });
 * console.log(await objects.compute(ctx)); // prompt_missing 1 when no couch is found
 * ```
 * @module
 */
import type { Box, DetailRow, Heuristic, ImageContext, OutputSpec } from "./types.ts";
import { scaledForDetection } from "../models/tfjs.ts";
import { getSharedHuman } from "../models/human.ts";
import { MODEL_DIR_SETTING } from "./hands.ts";
import { checkSettings, type SettingsSpec } from "../core/settings.ts";
import { PROMPT_SETTINGS, promptFor } from "../core/prompts.ts";
import { intersection, iou } from "../core/geometry.ts";

/** The 80 COCO class names CenterNet reports, in class order. */
export const COCO_CLASSES: readonly string[] = [
  "person",
  "bicycle",
  "car",
  "motorcycle",
  "airplane",
  "bus",
  "train",
  "truck",
  "boat",
  "traffic light",
  "fire hydrant",
  "stop sign",
  "parking meter",
  "bench",
  "bird",
  "cat",
  "dog",
  "horse",
  "sheep",
  "cow",
  "elephant",
  "bear",
  "zebra",
  "giraffe",
  "backpack",
  "umbrella",
  "handbag",
  "tie",
  "suitcase",
  "frisbee",
  "skis",
  "snowboard",
  "sports ball",
  "kite",
  "baseball bat",
  "baseball glove",
  "skateboard",
  "surfboard",
  "tennis racket",
  "bottle",
  "wine glass",
  "cup",
  "fork",
  "knife",
  "spoon",
  "bowl",
  "banana",
  "apple",
  "sandwich",
  "orange",
  "broccoli",
  "carrot",
  "hot dog",
  "pizza",
  "donut",
  "cake",
  "chair",
  "couch",
  "potted plant",
  "bed",
  "dining table",
  "toilet",
  "tv",
  "laptop",
  "mouse",
  "remote",
  "keyboard",
  "cell phone",
  "microwave",
  "oven",
  "toaster",
  "sink",
  "refrigerator",
  "book",
  "clock",
  "vase",
  "scissors",
  "teddy bear",
  "hair drier",
  "toothbrush",
];

/** Prompt words (singular, lower case) that name a COCO class under another name. */
export const COCO_SYNONYMS: Readonly<Record<string, string>> = {
  man: "person",
  woman: "person",
  men: "person",
  women: "person",
  people: "person",
  girl: "person",
  boy: "person",
  child: "person",
  children: "person",
  kid: "person",
  lady: "person",
  ladies: "person",
  guy: "person",
  bike: "bicycle",
  motorbike: "motorcycle",
  plane: "airplane",
  aeroplane: "airplane",
  sofa: "couch",
  television: "tv",
  phone: "cell phone",
  smartphone: "cell phone",
  doughnut: "donut",
  puppy: "dog",
  kitten: "cat",
  table: "dining table",
  teddy: "teddy bear",
  hairdryer: "hair drier",
};

/** Singular of a simple English plural ("dogs" → "dog", "buses" → "bus", "knives" → "knife"). */
function singular(w: string): string {
  if (w.endsWith("ies") && w.length > 4) return `${w.slice(0, -3)}y`;
  if (w.endsWith("ves") && w.length > 4) return `${w.slice(0, -3)}fe`;
  if (/(ses|xes|ches|shes)$/.test(w)) return w.slice(0, -2);
  if (w.endsWith("s") && !w.endsWith("ss")) return w.slice(0, -1);
  return w;
}

/**
 * The COCO classes a prompt names (each once, in prompt order): multiword class names first,
 * then single words, singularised, with {@link COCO_SYNONYMS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { promptClasses } from "./objects.ts";
 * assert.deepEqual(promptClasses("Two women with dogs on a sofa, a teddy bear and a cell phone"), ["person", "dog", "couch", "teddy bear", "cell phone"]);
 * assert.deepEqual(promptClasses("a misty mountain landscape"), []);
 * ```
 */
export function promptClasses(prompt: string): string[] {
  const words = prompt.toLowerCase().match(/[a-z]+/g) ?? [];
  const found: [number, string][] = [];
  const used = new Set<number>();
  for (const c of COCO_CLASSES.filter((c) => c.includes(" "))) {
    const parts = c.split(" ");
    for (let i = 0; i + parts.length <= words.length; i++) {
      if (parts.every((p, j) => singular(words[i + j]) === p || words[i + j] === p)) {
        found.push([i, c]);
        for (let j = 0; j < parts.length; j++) used.add(i + j);
      }
    }
  }
  for (const [i, w] of words.entries()) {
    if (used.has(i)) continue;
    const s = COCO_SYNONYMS[w] ?? COCO_SYNONYMS[singular(w)] ?? singular(w);
    if (COCO_CLASSES.includes(s) && !s.includes(" ")) found.push([i, s]);
    else if (COCO_SYNONYMS[w] || COCO_SYNONYMS[singular(w)]) found.push([i, s]);
  }
  found.sort((a, b) => a[0] - b[0]);
  return [...new Set(found.map(([, c]) => c))];
}

/** One detection, in pixels of the original image. */
export interface DetectedObject extends Box {
  label: string;
  confidence: number;
}

/** Per-class suppression IoU: a weaker box of a class overlapping a kept one more is dropped. */
export const NMS_IOU = 0.6;
/** Kept boxes of one class overlapping at least this much are a merged/duplicated pair. */
export const MERGE_IOU = 0.3;
/** …or when this share of the smaller box lies inside the other. */
export const MERGE_CONTAINED = 0.8;

/**
 * Greedy per-class suppression at {@link NMS_IOU}, strongest first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { suppressPerClass } from "./objects.ts";
 * const o = (x: number, label: string, confidence: number) => ({ x, y: 0, width: 10, height: 10, label, confidence });
 * assert.deepEqual(suppressPerClass([o(0, "cat", 0.5), o(1, "cat", 0.9), o(1, "dog", 0.4)]).map((d) => d.confidence), [0.9, 0.4]);
 * ```
 */
export function suppressPerClass(found: readonly DetectedObject[]): DetectedObject[] {
  const kept: DetectedObject[] = [];
  for (const d of [...found].sort((a, b) => b.confidence - a.confidence)) {
    if (!kept.some((k) => k.label === d.label && iou(k, d) > NMS_IOU)) kept.push(d);
  }
  return kept;
}

/**
 * Pairs of same-class boxes that overlap like one object seen twice (IoU ≥ {@link MERGE_IOU} or
 * the smaller ≥ {@link MERGE_CONTAINED} inside the other).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergedPairs } from "./objects.ts";
 * const o = (x: number, w: number, label = "cat") => ({ x, y: 0, width: w, height: 10, label, confidence: 0.9 });
 * assert.deepEqual(mergedPairs([o(0, 10), o(5, 10), o(40, 10), o(40, 4, "dog")]), [[0, 1]]);
 * assert.deepEqual(mergedPairs([o(0, 20), o(2, 5)]), [[0, 1]]);
 * ```
 */
export function mergedPairs(found: readonly DetectedObject[]): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < found.length; i++) {
    for (let j = i + 1; j < found.length; j++) {
      const a = found[i], b = found[j];
      if (a.label !== b.label) continue;
      const smaller = Math.min(a.width * a.height, b.width * b.height);
      if (iou(a, b) >= MERGE_IOU || intersection(a, b) >= MERGE_CONTAINED * smaller) pairs.push([i, j]);
    }
  }
  return pairs;
}

/** Settings of `objects`, after defaults. */
export interface ObjectsSettings {
  minConfidence: number;
  inputSize: number;
  prompt?: string;
  prompts?: string;
  modelDir?: string;
}

/** The settings of `objects`, with their defaults. */
export const OBJECTS_SETTINGS = {
  minConfidence: { kind: "number", min: 0, max: 1, default: 0.3 },
  inputSize: { kind: "number", min: 64, max: 8192, default: 512 },
  modelDir: MODEL_DIR_SETTING,
  ...PROMPT_SETTINGS,
} as const satisfies SettingsSpec;

/**
 * Reads the `objects` settings, filling in defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectsSettings } from "./objects.ts";
 * assert.deepEqual(objectsSettings({ prompt: "a cat" }), { minConfidence: 0.3, inputSize: 512, prompt: "a cat" });
 * ```
 */
export function objectsSettings(raw: Record<string, unknown> = {}): ObjectsSettings {
  return checkSettings("objects", raw, OBJECTS_SETTINGS) as unknown as ObjectsSettings;
}

/** COCO objects in the context's image (memoised per settings), strongest first. */
export function detectObjects(
  ctx: ImageContext,
  s: ObjectsSettings = objectsSettings(),
): Promise<DetectedObject[]> {
  return ctx.memo(`objects:${s.minConfidence}:${s.inputSize}:${s.modelDir ?? ""}`, async () => {
    const human = await getSharedHuman(s.modelDir);
    const img = await scaledForDetection(ctx.image, s.inputSize);
    const r = await human.detect("object", img, { minConfidence: s.minConfidence });
    const found: DetectedObject[] = [];
    for (const o of r.object) {
      const [x, y, w, h] = o.box as number[];
      const x0 = Math.max(0, Math.round(x * img.scaleX)), y0 = Math.max(0, Math.round(y * img.scaleY));
      const x1 = Math.min(ctx.width, Math.round((x + w) * img.scaleX));
      const y1 = Math.min(ctx.height, Math.round((y + h) * img.scaleY));
      if (x1 <= x0 || y1 <= y0 || o.score < s.minConfidence) continue;
      found.push({
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
        label: String(o.label),
        confidence: o.score,
      });
    }
    return suppressPerClass(found);
  });
}

/** Columns of the `objects` table (after `path`). */
export const OBJECT_COLUMNS: readonly OutputSpec[] = [
  {
    name: "object",
    unit: "index",
    direction: "neither",
    description: "detection number, 1… strongest first",
  },
  { name: "label", unit: "COCO class", direction: "neither", description: "class name", type: "string" },
  { name: "confidence", unit: "score 0–1", direction: "higher_is_better", description: "detector score" },
  { name: "x", unit: "pixels", direction: "neither", description: "left edge (original image)" },
  { name: "y", unit: "pixels", direction: "neither", description: "top edge" },
  { name: "width", unit: "pixels", direction: "neither", description: "box width" },
  { name: "height", unit: "pixels", direction: "neither", description: "box height" },
  {
    name: "merged_with",
    unit: "indices",
    direction: "neither",
    description: "numbers of same-class boxes it overlaps like a merged/duplicated object (`2 5`)",
    type: "string",
  },
];

const OUTPUTS: OutputSpec[] = [
  {
    name: "object_count",
    unit: "objects",
    direction: "neither",
    description: "COCO detections at ≥ minConfidence",
  },
  {
    name: "object_classes",
    unit: "class:count",
    direction: "neither",
    description: "classes found with counts, most frequent first, e.g. `person:3 tie:1`",
    type: "string",
  },
  {
    name: "object_person_count",
    unit: "people",
    direction: "neither",
    description: "detections of class person",
  },
  {
    name: "object_merged_pairs",
    unit: "pairs",
    direction: "lower_is_better",
    description:
      `same-class box pairs with IoU ≥ ${MERGE_IOU} or ≥ ${MERGE_CONTAINED} of the smaller inside the other`,
  },
  {
    name: "prompt_objects",
    unit: "classes",
    direction: "neither",
    description: "COCO classes named in the prompt; empty without a prompt",
  },
  {
    name: "prompt_missing",
    unit: "classes",
    direction: "lower_is_better",
    description: "COCO classes named in the prompt and not detected; empty without a prompt",
  },
  {
    name: "prompt_missing_objects",
    unit: "class names",
    direction: "neither",
    description: "those classes, comma-separated; empty without a prompt",
    type: "string",
  },
];

/** COCO objects: counts and classes, merged same-class boxes, prompt nouns not found. */
export const objects: Heuristic = {
  name: "objects",
  description: "COCO objects found by CenterNet: prompt nouns that are not in the image, and same-class " +
    "boxes overlapping like merged or duplicated objects.",
  errorType: "merged_objects",
  outputs: OUTPUTS,
  thresholds: [
    {
      output: "object_merged_pairs",
      max: 0,
      source: "eyeballed: any same-class pair overlapping that much; calibrate it on your labels",
    },
    {
      output: "prompt_missing",
      max: 0,
      errorType: "prompt_mismatch",
      source: "definition: every COCO object the prompt names should be detected (CenterNet misses small " +
        "objects, so check recall on your images)",
    },
  ],
  details: [{ name: "objects", columns: [...OBJECT_COLUMNS] }],
  async compute(ctx) {
    const s = objectsSettings(ctx.settingsFor("objects"));
    const found = await detectObjects(ctx, s);
    const pairs = mergedPairs(found);
    for (const [i, o] of found.entries()) {
      const with_ = pairs.filter((p) => p.includes(i)).map(([a, b]) => (a === i ? b : a) + 1);
      ctx.addDetail(
        "objects",
        {
          object: i + 1,
          label: o.label,
          confidence: o.confidence,
          x: o.x,
          y: o.y,
          width: o.width,
          height: o.height,
          merged_with: with_.join(" "),
        } satisfies DetailRow,
      );
    }
    const counts = new Map<string, number>();
    for (const o of found) counts.set(o.label, (counts.get(o.label) ?? 0) + 1);
    let promptObjects: number | null = null, missing: string[] | null = null;
    if (s.prompt !== undefined || s.prompts) {
      const path = typeof ctx.options.path === "string" ? ctx.options.path : undefined;
      const named = promptClasses(await promptFor("objects", s, path));
      promptObjects = named.length;
      missing = named.filter((c) => !counts.has(c));
    }
    return {
      object_count: found.length,
      object_classes: [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([c, n]) => `${c}:${n}`).join(" "),
      object_person_count: counts.get("person") ?? 0,
      object_merged_pairs: pairs.length,
      prompt_objects: promptObjects,
      prompt_missing: missing ? missing.length : null,
      prompt_missing_objects: missing ? missing.join(",") : null,
    };
  },
};
