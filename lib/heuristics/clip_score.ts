/**
 * CLIP score: how well an image matches its prompt, defined as torchmetrics' `CLIPScore`,
 * `100 · max(cos(E_text, E_image), 0)` with the projected CLIP embeddings (the course pipeline
 * rates candidates with it and keeps the best). Runs the text and image towers of a CLIP
 * checkpoint in the model store (`lib/models/`), offline.
 *
 * Scores from one prompt are only comparable with each other (some prompts score 20 at best,
 * others 35). So a batch with several images per prompt should also get within-prompt columns:
 * {@link withinPromptColumns} adds `clip_prompt_rank` (1 = best), `clip_prompt_z` and
 * `clip_prompt_n`, grouping rows by the `clip_prompt_key` column. It is a batch-level step (it
 * needs every row), so it runs after scoring, not inside `compute`.
 *
 * Prompts longer than the text encoder's context (77 tokens for CLIP, start and end included)
 * are scored on their first 76 tokens + the end token and flagged: `clip_prompt_truncated` = 1.
 * An empty prompt is an error.
 *
 * Settings (`settings: { clip_score: { … } }`):
 * - `prompt`: the prompt of every image; or `prompts`: a file mapping image → prompt (a
 *   generation `manifest.jsonl`, any JSONL or CSV with `file` and `prompt`, or a JSON object);
 *   see `lib/core/prompts.ts`. One of them is required.
 * - `model`: hub id in the model store, short name or folder (default
 *   `Xenova/clip-vit-base-patch32`; fetch it with `deno task models pull clip-vit-base-patch32`).
 * - `modelsDir`: the model store (default `$WINNOW_MODELS`, else `~/.cache/winnow/models`).
 * - `dtype`: ONNX variant, `fp32` (default) or `fp16`, `q8`, … (scores differ slightly between them).
 *
 * The model loads once per process (per score worker); text embeddings are cached per prompt.
 *
 * @example
 * ```ts ignore
 * import { ImageContext } from "./types.ts";
 * import { clipScore } from "./clip_score.ts";
 * import { decodeImage } from "../core/image.ts";
 * const ctx = new ImageContext(await decodeImage("fox.png"), { settings: { clip_score: { prompt: "a red fox in snow" } } });
 * console.log(await clipScore.compute(ctx));   // { clip_score: 31.2, clip_cosine: 0.312, … }
 * ```
 * @module
 */
import type { RgbImage } from "../core/image.ts";
import type { Heuristic, ImageContext, OutputSpec, Value } from "./types.ts";
import type { Clip } from "../models/clip.ts";
import { PROMPT_SETTINGS, promptFor, type PromptSettings } from "../core/prompts.ts";
import { checkSettings, type SettingsSpec } from "../core/settings.ts";
import { DEFAULT_CLIP_MODEL, DTYPE_SUFFIX } from "../models/store.ts";

/**
 * `lib/models/clip.ts`, imported on first use: transformers.js and onnxruntime load only in
 * processes that run a CLIP heuristic.
 */
export function clipModule(): Promise<typeof import("../models/clip.ts")> {
  return clipImport ??= importClip();
}
let clipImport: Promise<typeof import("../models/clip.ts")> | undefined;

async function importClip(): Promise<typeof import("../models/clip.ts")> {
  // transformers.js decides at import time whether it runs in a browser: in a Deno worker
  // (`self` is a DedicatedWorkerGlobalScope) it would resize images with a canvas that does not
  // exist, and its bundled onnxruntime-web calls `new URL(…, location.origin)` with origin "null",
  // which throws. So while the module evaluates, `self` reports a plain object as its constructor
  // (everything else is forwarded) and `location` is hidden; both are put back afterwards. In the
  // main thread nothing is changed.
  const g = globalThis as unknown as Record<string, unknown>;
  const inWorker = typeof g.self === "object" && g.self !== null &&
    (g.self as object).constructor?.name === "DedicatedWorkerGlobalScope";
  if (!inWorker) return await import("../models/clip.ts");
  const saved = ["self", "location"].map((k) => [k, Object.getOwnPropertyDescriptor(globalThis, k)] as const);
  const proxy = new Proxy(globalThis, {
    get(t, k) {
      if (k === "constructor") return Object;
      const v = Reflect.get(t, k, t);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  Object.defineProperty(globalThis, "self", { value: proxy, configurable: true, writable: true });
  Object.defineProperty(globalThis, "location", { value: undefined, configurable: true, writable: true });
  try {
    return await import("../models/clip.ts");
  } finally {
    for (const [k, d] of saved) {
      if (d) Object.defineProperty(globalThis, k, d);
      else delete g[k];
    }
  }
}

/** Settings of a CLIP-based heuristic, after defaults. */
export interface ClipSettings extends PromptSettings {
  model: string;
  modelsDir?: string;
  dtype: string;
}

/**
 * Reads and checks model settings (`model`, `modelsDir`, `dtype`, `prompt`/`prompts` when
 * `defaults.prompt`, plus the `extra` settings) of heuristic `name`, filling in defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { modelSettings } from "./clip_score.ts";
 * assert.deepEqual(modelSettings("clip_score", { prompt: "a cat" }), { model: "Xenova/clip-vit-base-patch32", dtype: "fp32", prompt: "a cat" });
 * assert.throws(() => modelSettings("clip_score", { promt: "a cat" }), /unknown setting "promt"/);
 * ```
 */
export function modelSettings(
  name: string,
  raw: Record<string, unknown> = {},
  defaults: { model: string; prompt: boolean; extra?: SettingsSpec } = {
    model: DEFAULT_CLIP_MODEL,
    prompt: true,
  },
): ClipSettings {
  return checkSettings(name, raw, {
    model: { kind: "string", default: defaults.model },
    modelsDir: { kind: "string", what: "a folder path" },
    dtype: { kind: "choice", choices: Object.keys(DTYPE_SUFFIX), default: "fp32" },
    ...(defaults.prompt ? PROMPT_SETTINGS : {}),
    ...defaults.extra,
  }) as unknown as ClipSettings;
}

/**
 * Cosine similarity of two vectors (0 when either is all zeros).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cosine } from "./clip_score.ts";
 * assert.equal(cosine([1, 0], [0, 2]), 0);
 * assert.ok(Math.abs(cosine([1, 1], [2, 2]) - 1) < 1e-12);
 * ```
 */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosine: lengths differ (${a.length} vs ${b.length})`);
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa && bb ? ab / Math.sqrt(aa * bb) : 0;
}

/**
 * torchmetrics' CLIPScore of one pair from its cosine: `100 · max(cos, 0)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clipScoreOf } from "./clip_score.ts";
 * assert.equal(clipScoreOf(0.3125), 31.25);
 * assert.equal(clipScoreOf(-0.1), 0);
 * ```
 */
export function clipScoreOf(cos: number): number {
  return 100 * Math.max(cos, 0);
}

/**
 * A short stable key of a prompt (53-bit hash, 14 hex digits), so score tables can group rows by
 * prompt without holding the text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { promptKey } from "./clip_score.ts";
 * assert.equal(promptKey("a cat"), promptKey("a cat"));
 * assert.notEqual(promptKey("a cat"), promptKey("a dog"));
 * assert.match(promptKey("a cat"), /^[0-9a-f]{14}$/);
 * ```
 */
export function promptKey(prompt: string): string {
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < prompt.length; i++) {
    const c = prompt.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, "0");
}

/**
 * Text embeddings cached per loaded model and prompt (a batch of images usually shares a few
 * prompts). The cache hangs on the {@link Clip} instance, and a `Clip` is one folder, component set,
 * dtype and thread count (`loadClip`'s own cache key), so everything that changes an embedding
 * (model, dtype: `q8` after `fp32` in one process) gets its own entries.
 */
const textCache = new WeakMap<
  Clip,
  Map<string, Promise<{ embedding: Float32Array; count: number; truncated: boolean }>>
>();
const TEXT_CACHE_MAX = 2048;

function textEmbedding(clip: Clip, prompt: string) {
  let cache = textCache.get(clip);
  if (!cache) textCache.set(clip, cache = new Map());
  let p = cache.get(prompt);
  if (!p) {
    if (cache.size >= TEXT_CACHE_MAX) cache.delete(cache.keys().next().value!);
    p = clip.textEmbeddings([prompt]).then(([t]) => t);
    cache.set(prompt, p);
    p.catch(() => cache.delete(prompt));
  }
  return p;
}

/** One image's CLIP score and what it was computed from. */
export interface ClipScoreResult {
  clip_score: number;
  clip_cosine: number;
  clip_prompt_tokens: number;
  clip_prompt_truncated: 0 | 1;
  clip_prompt_key: string;
}

/** Options of {@link clipScores}. */
export interface ClipScoresOptions {
  model?: string;
  modelsDir?: string;
  dtype?: string;
  /** Images per forward pass of the image tower (default 8). */
  batchSize?: number;
}

/**
 * CLIP scores of `images[i]` against `prompts[i]`, batched: each distinct prompt is encoded
 * once, images go through the image tower `batchSize` at a time. The library entry point for
 * ranking a batch of candidates (e.g. `deno task generate`); the `clip_score` heuristic computes
 * the same numbers one image at a time.
 *
 * @example
 * ```ts ignore
 * const rows = await clipScores([imgA, imgB], ["a red fox", "a red fox"]);
 * const ranked = withinPromptColumns(rows, { value: "clip_score", key: "clip_prompt_key", prefix: "clip_prompt" });
 * ```
 */
export async function clipScores(
  images: readonly RgbImage[],
  prompts: readonly string[],
  o: ClipScoresOptions = {},
): Promise<ClipScoreResult[]> {
  if (images.length !== prompts.length) {
    throw new Error(`clipScores: ${images.length} images but ${prompts.length} prompts`);
  }
  const { loadClip } = await clipModule();
  const clip = await loadClip(o.model ?? DEFAULT_CLIP_MODEL, { modelsDir: o.modelsDir, dtype: o.dtype });
  const distinct = [...new Set(prompts)];
  const texts = new Map((await clip.textEmbeddings(distinct)).map((t, i) => [distinct[i], t]));
  const bs = Math.max(1, o.batchSize ?? 8);
  const out: ClipScoreResult[] = [];
  for (let i = 0; i < images.length; i += bs) {
    const embs = await clip.imageEmbeddings(images.slice(i, i + bs));
    embs.forEach((v, j) => {
      const p = prompts[i + j];
      const t = texts.get(p)!;
      const cos = cosine(t.embedding, v);
      out.push({
        clip_score: clipScoreOf(cos),
        clip_cosine: cos,
        clip_prompt_tokens: t.count,
        clip_prompt_truncated: t.truncated ? 1 : 0,
        clip_prompt_key: promptKey(p),
      });
    });
  }
  return out;
}

/** Options of {@link withinPromptColumns}. */
export interface WithinPromptOptions {
  /** Column ranked, e.g. `clip_score` or `pick_score`. */
  value: string;
  /** Column holding the prompt key (rows with the same key are compared), e.g. `clip_prompt_key`. */
  key: string;
  /** Prefix of the added columns, e.g. `clip_prompt` → `clip_prompt_rank`, `_z`, `_n` (and `_prob`). */
  prefix: string;
  /** Whether higher values are better (default true). */
  higherIsBetter?: boolean;
  /** Also add `<prefix>_prob`: softmax of the values within the prompt (PickScore's preference probability). */
  softmax?: boolean;
}

/**
 * Batch-level step: adds within-prompt columns to score rows. For each group of rows sharing
 * `key`: `<prefix>_n` (images in the group with a value), `<prefix>_rank` (1 = best; ties share
 * the better rank), `<prefix>_z` ((value − group mean) / group standard deviation, population
 * form; 0 when all are equal, empty for a group of one) and, with `softmax`,
 * `<prefix>_prob` = exp(v) / Σ exp(v) over the group. Rows without a value or key get empty
 * columns. Returns new rows; the input is not changed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withinPromptColumns } from "./clip_score.ts";
 * const rows = [
 *   { clip_score: 30, clip_prompt_key: "a" }, { clip_score: 20, clip_prompt_key: "a" },
 *   { clip_score: 25, clip_prompt_key: "b" },
 * ];
 * const out = withinPromptColumns(rows, { value: "clip_score", key: "clip_prompt_key", prefix: "clip_prompt" });
 * assert.deepEqual(out.map((r) => [r.clip_prompt_rank, r.clip_prompt_z, r.clip_prompt_n]), [[1, 1, 2], [2, -1, 2], [1, null, 1]]);
 * ```
 */
export function withinPromptColumns<R extends object>(
  rows: readonly R[],
  o: WithinPromptOptions,
): (R & Record<string, Value>)[] {
  const groups = new Map<string, number[]>();
  const get = (r: R, c: string) => (r as Record<string, unknown>)[c];
  rows.forEach((r, i) => {
    const k = get(r, o.key), v = get(r, o.value);
    if (k === null || k === undefined || k === "" || typeof v !== "number" || !Number.isFinite(v)) return;
    const g = groups.get(String(k)) ?? [];
    g.push(i);
    groups.set(String(k), g);
  });
  const cols = ["rank", "z", "n", ...(o.softmax ? ["prob"] : [])];
  const out = rows.map((r) =>
    ({ ...r, ...Object.fromEntries(cols.map((c) => [`${o.prefix}_${c}`, null])) }) as
      & R
      & Record<string, Value>
  );
  const sign = o.higherIsBetter === false ? -1 : 1;
  for (const idx of groups.values()) {
    const v = idx.map((i) => get(rows[i], o.value) as number);
    const n = v.length;
    const mean = v.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    const max = Math.max(...v);
    const exps = v.map((x) => Math.exp(x - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    idx.forEach((rowIdx, j) => {
      const r = out[rowIdx] as Record<string, Value>;
      r[`${o.prefix}_n`] = n;
      r[`${o.prefix}_rank`] = 1 + v.filter((x) => sign * x > sign * v[j]).length;
      r[`${o.prefix}_z`] = n < 2 ? null : sd === 0 ? 0 : (v[j] - mean) / sd;
      if (o.softmax) r[`${o.prefix}_prob`] = exps[j] / sum;
    });
  }
  return out;
}

/** Columns {@link withinPromptColumns} adds for `clip_score` (prefix `clip_prompt`), for docs and tables. */
export const CLIP_WITHIN_PROMPT_COLUMNS: readonly OutputSpec[] = [
  {
    name: "clip_prompt_rank",
    unit: "rank",
    direction: "lower_is_better",
    description: "rank of clip_score among the images of the same prompt (1 = best; batch-level step)",
  },
  {
    name: "clip_prompt_z",
    unit: "standard deviations",
    direction: "higher_is_better",
    description:
      "(clip_score − mean of its prompt's images) / their population standard deviation (batch-level step)",
  },
  {
    name: "clip_prompt_n",
    unit: "images",
    direction: "neither",
    description: "images scored with the same prompt",
  },
];

const OUTPUTS: OutputSpec[] = [
  {
    name: "clip_score",
    unit: "score 0–100",
    direction: "higher_is_better",
    description:
      "torchmetrics CLIPScore: 100 · max(cos(text embedding, image embedding), 0); compare only within a prompt",
  },
  {
    name: "clip_cosine",
    unit: "cosine −1–1",
    direction: "higher_is_better",
    description: "cosine similarity of the projected CLIP text and image embeddings",
  },
  {
    name: "clip_prompt_tokens",
    unit: "tokens",
    direction: "neither",
    description: "CLIP tokens in the prompt, start and end tokens included, before truncation",
  },
  {
    name: "clip_prompt_truncated",
    unit: "0/1",
    direction: "lower_is_better",
    description:
      "1 when the prompt exceeded the text encoder's context (77 tokens) and only its start was scored",
  },
  {
    name: "clip_prompt_key",
    unit: "hash",
    direction: "neither",
    description:
      "hash of the prompt: rows with the same key share a prompt (groups for the within-prompt columns)",
    type: "string",
  },
];

/** Memo key of an image's CLIP image embedding: everything of the settings that changes it. */
const imageKey = (s: ClipSettings) => `clip_image:${JSON.stringify([s.model, s.modelsDir ?? null, s.dtype])}`;

/** The image tower's embedding of the context's image, computed once (or by `prepareBatch`). */
function imageEmbeddingOf(ctx: ImageContext, clip: Clip, s: ClipSettings): Promise<Float32Array> {
  return ctx.memo(imageKey(s), async () => (await clip.imageEmbeddings([ctx.image]))[0]);
}

/** CLIP text–image similarity (torchmetrics CLIPScore) of each image with its prompt. */
export const clipScore: Heuristic = {
  batch: {
    outputs: [...CLIP_WITHIN_PROMPT_COLUMNS],
    apply: (rows) =>
      withinPromptColumns(rows, { value: "clip_score", key: "clip_prompt_key", prefix: "clip_prompt" }),
  },
  name: "clip_score",
  description: "CLIP text–image similarity, 100 · max(cos, 0) as torchmetrics' CLIPScore, of the image and " +
    "its prompt (settings prompt / prompts); comparable only between images of one prompt.",
  errorType: "prompt_mismatch",
  outputs: OUTPUTS,
  thresholds: [],
  // The image tower on a batch of images in one call (clipPixels per image, one ONNX run): 8 from
  // the full-size ViT-B/32 tower with random weights on one thread (`deno task bench --parts models
  // --models clip-tower --batch 1,4,8`: CPU ms/image 69 → 56 → 52; README "Model heuristics in
  // batches"; no real CLIP weights are reachable here).
  batchSize: 8,
  async prepareBatch(ctxs) {
    const groups = new Map<string, { s: ClipSettings; ctxs: ImageContext[] }>();
    for (const ctx of ctxs) {
      const s = modelSettings("clip_score", ctx.settingsFor("clip_score"));
      const g = groups.get(imageKey(s)) ?? { s, ctxs: [] };
      g.ctxs.push(ctx);
      groups.set(imageKey(s), g);
    }
    for (const [key, { s, ctxs: group }] of groups) {
      const clip = await (await clipModule()).loadClip(s.model, { modelsDir: s.modelsDir, dtype: s.dtype });
      const embs = await clip.imageEmbeddings(group.map((c) => c.image));
      group.forEach((c, i) => c.memo(key, () => Promise.resolve(embs[i])));
    }
  },
  async compute(ctx) {
    const s = modelSettings("clip_score", ctx.settingsFor("clip_score"));
    const prompt = await promptFor("clip_score", s, ctx.options.path);
    const clip = await (await clipModule()).loadClip(s.model, { modelsDir: s.modelsDir, dtype: s.dtype });
    const t = await textEmbedding(clip, prompt);
    const v = await imageEmbeddingOf(ctx, clip, s);
    const cos = cosine(t.embedding, v);
    return {
      clip_score: clipScoreOf(cos),
      clip_cosine: cos,
      clip_prompt_tokens: t.count,
      clip_prompt_truncated: t.truncated ? 1 : 0,
      clip_prompt_key: promptKey(prompt),
    };
  },
};
