/**
 * Preference scorers: learned predictors of which image people prefer, behind one interface
 * ({@link PreferenceScorer}), and the two heuristics built on it.
 *
 * - **`pick_score`** (PickScore-style): a CLIP model fine-tuned on human preferences scores a
 *   prompt and an image; the score is the combined model's logit
 *   `exp(logit_scale) · cos(text, image)` (`onnx/model.onnx`, the checkpoint's own trained
 *   scale). Like PickScore it compares candidates of one prompt: the preference probability is the
 *   softmax of the scores across those candidates, a batch-level step
 *   (`withinPromptColumns(rows, { value: "pick_score", key: "pick_prompt_key", prefix:
 *   "pick_prompt", softmax: true })` from `clip_score.ts` → `pick_prompt_prob`, `_rank`, `_z`).
 *   Default model `yuvalkirstain/PickScore_v1`, which has no ONNX export on the hub: export it
 *   as `docs/models.md` describes and put it in the store under that id. Any CLIP checkpoint in
 *   the same layout works (plain CLIP gives `exp(logit_scale) · cos` = 100 · cos for OpenAI's).
 * - **`aesthetic`**: the LAION aesthetic predictor — a small head (ONNX file, input the
 *   L2-normalised CLIP image embedding, output one score ≈ 1–10) over a CLIP image tower. Default:
 *   the improved predictor v2 (`sac+logos+ava1-l14-linearMSE`) over CLIP ViT-L/14
 *   (`Xenova/clip-vit-large-patch14`), the head exported to ONNX at
 *   `<store>/aesthetic/sac+logos+ava1-l14-linearMSE.onnx` (`docs/models.md`).
 *
 * Settings (`settings: { pick_score: { … } }` / `{ aesthetic: { … } }`):
 * - both: `model` (CLIP hub id in the store, short name or folder), `modelsDir`, `dtype` (see
 *   `clip_score.ts`);
 * - `pick_score`: `prompt` or `prompts` (as `clip_score`; required);
 * - `aesthetic`: `head` (ONNX file; a relative path is inside the model store), `normalize`
 *   (L2-normalise the embedding before the head, default true as LAION's predictors were trained).
 *
 * Models load once per process (per score worker).
 *
 * @example
 * ```ts ignore
 * const scorer = await preferenceScorer("aesthetic", {});
 * console.log(await scorer.score([img1, img2]));   // [5.9, 4.2]
 * ```
 * @module
 */
import type * as Ort from "onnxruntime-node";
import { isAbsolute, join } from "node:path";
import type { RgbImage } from "../core/image.ts";
import type { Heuristic, ImageContext, OutputSpec } from "./types.ts";
import { promptFor } from "../core/prompts.ts";
import { loadingFile, ModelFileError, ModelNotFoundError, modelsDir } from "../models/store.ts";
import {
  clipModule,
  type ClipSettings,
  modelSettings,
  promptKey,
  withinPromptColumns,
} from "./clip_score.ts";
import { SettingsError } from "../core/settings.ts";

/** Default PickScore checkpoint id in the store (export it yourself: docs/models.md). */
export const DEFAULT_PICKSCORE_MODEL = "yuvalkirstain/PickScore_v1";
/** Default CLIP image tower of the aesthetic predictor. */
export const DEFAULT_AESTHETIC_CLIP = "Xenova/clip-vit-large-patch14";
/** Default aesthetic head file, relative to the model store. */
export const DEFAULT_AESTHETIC_HEAD = "aesthetic/sac+logos+ava1-l14-linearMSE.onnx";

/** One learned preference scorer: higher is preferred. */
export interface PreferenceScorer {
  /** `pickscore` or `aesthetic`. */
  readonly kind: "pickscore" | "aesthetic";
  /** Whether {@link PreferenceScorer.score} needs the prompt. */
  readonly needsPrompt: boolean;
  /** One score per image, computed as one batch. */
  score(images: readonly RgbImage[], prompt?: string): Promise<number[]>;
}

/**
 * The PickScore-style scorer: `score(images, prompt)[i]` = the combined CLIP model's
 * `logits_per_image[i][0]` = `exp(logit_scale) · cos(prompt, image i)`.
 *
 * @example
 * ```ts ignore
 * const pick = await pickScorer({ model: "yuvalkirstain/PickScore_v1" });
 * const logits = await pick.score(candidates, "a red fox in snow");
 * ```
 */
export async function pickScorer(s: Partial<ClipSettings> = {}): Promise<PreferenceScorer> {
  const { loadClip } = await clipModule();
  const clip = await loadClip(s.model ?? DEFAULT_PICKSCORE_MODEL, {
    modelsDir: s.modelsDir,
    dtype: s.dtype,
    components: ["combined"],
  });
  return {
    kind: "pickscore",
    needsPrompt: true,
    async score(images, prompt) {
      if (prompt === undefined) throw new SettingsError("pick_score: a prompt is required");
      if (!images.length) return [];
      const { logitsPerImage } = await clip.logits([prompt], images);
      return logitsPerImage.map((r) => r[0]);
    },
  };
}

/** Options of {@link aestheticScorer}. */
export interface AestheticOptions extends Partial<Omit<ClipSettings, "prompt" | "prompts">> {
  head?: string;
  normalize?: boolean;
}

const heads = new Map<string, Promise<Ort.InferenceSession>>();

function loadHead(file: string, id: string, store: string): Promise<Ort.InferenceSession> {
  let p = heads.get(file);
  if (!p) {
    p = (async () => {
      const st = await Deno.stat(file).catch(() => null);
      if (!st?.isFile) {
        throw new ModelNotFoundError(
          id,
          file,
          file,
          `Export the head to ONNX and put it there (docs/models.md, "Aesthetic predictor"); store: ${store}`,
        );
      }
      if (st.size === 0) throw new ModelFileError(file, "the file is empty");
      const ort = await import("onnxruntime-node");
      return await loadingFile(file, () => ort.InferenceSession.create(file, { intraOpNumThreads: 1 }));
    })();
    heads.set(file, p);
    p.catch(() => heads.delete(file));
  }
  return p;
}

/**
 * The aesthetic scorer: CLIP image embedding → (L2-normalise) → head → one score per image.
 *
 * @example
 * ```ts ignore
 * const aes = await aestheticScorer({});   // ViT-L/14 + LAION improved predictor v2
 * console.log(await aes.score([img]));      // [6.1]
 * ```
 */
export async function aestheticScorer(o: AestheticOptions = {}): Promise<PreferenceScorer> {
  const store = modelsDir(o.modelsDir);
  const headId = o.head ?? DEFAULT_AESTHETIC_HEAD;
  const headFile = isAbsolute(headId) ? headId : join(store, headId);
  const { loadClip } = await clipModule();
  const clip = await loadClip(o.model ?? DEFAULT_AESTHETIC_CLIP, {
    modelsDir: o.modelsDir,
    dtype: o.dtype,
    components: ["vision"],
  });
  const head = await loadHead(headFile, headId, store);
  const normalize = o.normalize ?? true;
  return {
    kind: "aesthetic",
    needsPrompt: false,
    async score(images) {
      if (!images.length) return [];
      const embs = await clip.imageEmbeddings(images);
      const d = embs[0].length;
      const x = new Float32Array(embs.length * d);
      embs.forEach((e, i) => {
        const n = normalize ? Math.hypot(...e) || 1 : 1;
        for (let j = 0; j < d; j++) x[i * d + j] = e[j] / n;
      });
      const input = head.inputNames[0];
      const ort = await import("onnxruntime-node");
      let out: Ort.InferenceSession.OnnxValueMapType;
      try {
        out = await head.run({ [input]: new ort.Tensor("float32", x, [embs.length, d]) });
      } catch (e) {
        throw new ModelFileError(
          headFile,
          `the head does not take the ${d}-dimensional image embeddings of ${clip.id} (${
            (e as Error).message.split("\n")[0]
          })`,
        );
      }
      const y = out[head.outputNames[0]].data as Float32Array;
      if (y.length !== embs.length) {
        throw new ModelFileError(
          headFile,
          `expected one score per image, got ${y.length} for ${embs.length}`,
        );
      }
      return Array.from(y);
    },
  };
}

/**
 * The scorer of `kind` with heuristic-style settings (see the module doc).
 *
 * @example
 * ```ts ignore
 * const s = await preferenceScorer("pickscore", { model: "yuvalkirstain/PickScore_v1" });
 * ```
 */
export function preferenceScorer(
  kind: "pickscore" | "aesthetic",
  settings: AestheticOptions = {},
): Promise<PreferenceScorer> {
  return kind === "pickscore" ? pickScorer(settings) : aestheticScorer(settings);
}

/** Reads and checks the `aesthetic` settings. */
export function aestheticSettings(raw: Record<string, unknown> = {}): AestheticOptions {
  return modelSettings("aesthetic", raw, {
    model: DEFAULT_AESTHETIC_CLIP,
    prompt: false,
    extra: { head: { kind: "string", what: "an ONNX file path" }, normalize: { kind: "boolean" } },
  }) as AestheticOptions;
}

const PICK_OUTPUTS: OutputSpec[] = [
  {
    name: "pick_score",
    unit: "logit",
    direction: "higher_is_better",
    description: "PickScore-style preference logit exp(logit_scale) · cos(prompt, image) of the preference " +
      "CLIP; compare only within a prompt (softmax across its candidates: pick_prompt_prob)",
  },
  {
    name: "pick_prompt_key",
    unit: "hash",
    direction: "neither",
    description: "hash of the prompt: rows with the same key are candidates of one prompt",
    type: "string",
  },
];

/** PickScore-style preference logit of each image for its prompt. */
export const pickScore: Heuristic = {
  batch: {
    outputs: [
      {
        name: "pick_prompt_rank",
        unit: "rank",
        direction: "lower_is_better",
        description: "rank of pick_score among the images of the same prompt (1 = best; batch-level step)",
      },
      {
        name: "pick_prompt_z",
        unit: "standard deviations",
        direction: "higher_is_better",
        description: "(pick_score − mean of its prompt's images) / their population standard deviation",
      },
      {
        name: "pick_prompt_n",
        unit: "images",
        direction: "neither",
        description: "images with the same prompt",
      },
      {
        name: "pick_prompt_prob",
        unit: "probability 0–1",
        direction: "higher_is_better",
        description: "softmax of pick_score across the images of the same prompt (PickScore's preference)",
      },
    ],
    apply: (rows) =>
      withinPromptColumns(rows, {
        value: "pick_score",
        key: "pick_prompt_key",
        prefix: "pick_prompt",
        softmax: true,
      }),
  },
  name: "pick_score",
  description:
    "PickScore-style human-preference score of the image for its prompt (a preference-tuned CLIP's " +
    "logit); comparable only between candidates of one prompt.",
  errorType: "low_preference",
  outputs: PICK_OUTPUTS,
  thresholds: [],
  // The images of a batch that share a prompt go through the combined model in one run; 8 as for
  // clip_score (the ViT-B/32 tower measurement, README "Model heuristics in batches").
  batchSize: 8,
  async prepareBatch(ctxs) {
    const groups = new Map<string, { s: ClipSettings; prompt: string; ctxs: ImageContext[] }>();
    for (const ctx of ctxs) {
      const s = pickSettings(ctx);
      const prompt = await promptFor("pick_score", s, ctx.options.path).catch(() => null);
      if (prompt === null) continue; // its own compute reports the missing prompt
      const key = pickKey(s, prompt);
      const g = groups.get(key) ?? { s, prompt, ctxs: [] };
      g.ctxs.push(ctx);
      groups.set(key, g);
    }
    for (const [key, { s, prompt, ctxs: group }] of groups) {
      const scores = await (await pickScorer(s)).score(group.map((c) => c.image), prompt);
      group.forEach((c, i) => c.memo(key, () => Promise.resolve(scores[i])));
    }
  },
  async compute(ctx) {
    const s = pickSettings(ctx);
    const prompt = await promptFor("pick_score", s, ctx.options.path);
    const v = await ctx.memo(pickKey(s, prompt), async () => {
      const [v] = await (await pickScorer(s)).score([ctx.image], prompt);
      return v;
    });
    return { pick_score: v, pick_prompt_key: promptKey(prompt) };
  },
};

function pickSettings(ctx: ImageContext): ClipSettings {
  return modelSettings("pick_score", ctx.settingsFor("pick_score"), {
    model: DEFAULT_PICKSCORE_MODEL,
    prompt: true,
  });
}
/** Memo key of an image's pick score: model settings and prompt. */
const pickKey = (s: ClipSettings, prompt: string) =>
  `pick_score:${JSON.stringify([s.model, s.modelsDir ?? null, s.dtype, prompt])}`;

/** Memo key of an image's aesthetic score: every setting that changes it. */
const aestheticKey = (o: AestheticOptions) =>
  `aesthetic:${
    JSON.stringify([
      o.model ?? null,
      o.modelsDir ?? null,
      o.dtype ?? null,
      o.head ?? null,
      o.normalize ?? null,
    ])
  }`;

/** LAION aesthetic predictor score of each image. */
export const aesthetic: Heuristic = {
  name: "aesthetic",
  description:
    "LAION aesthetic predictor: a small head over CLIP image embeddings, ≈ 1–10 (higher looks better " +
    "to raters); default improved predictor v2 over CLIP ViT-L/14.",
  errorType: "low_aesthetic",
  outputs: [
    {
      name: "aesthetic_score",
      unit: "score ≈ 1–10",
      direction: "higher_is_better",
      description: "aesthetic head's output for the L2-normalised CLIP image embedding",
    },
  ],
  thresholds: [],
  // The image tower and the head on a batch in one run each; 8 as for clip_score (the ViT-B/32
  // tower measurement; the default ViT-L/14 was not measured, README "Model heuristics in batches").
  batchSize: 8,
  async prepareBatch(ctxs) {
    const groups = new Map<string, { o: AestheticOptions; ctxs: ImageContext[] }>();
    for (const ctx of ctxs) {
      const o = aestheticSettings(ctx.settingsFor("aesthetic"));
      const g = groups.get(aestheticKey(o)) ?? { o, ctxs: [] };
      g.ctxs.push(ctx);
      groups.set(aestheticKey(o), g);
    }
    for (const [key, { o, ctxs: group }] of groups) {
      const scores = await (await aestheticScorer(o)).score(group.map((c) => c.image));
      group.forEach((c, i) => c.memo(key, () => Promise.resolve(scores[i])));
    }
  },
  async compute(ctx) {
    const o = aestheticSettings(ctx.settingsFor("aesthetic"));
    const v = await ctx.memo(aestheticKey(o), async () => {
      const [v] = await (await aestheticScorer(o)).score([ctx.image]);
      return v;
    });
    return { aesthetic_score: v };
  },
};
