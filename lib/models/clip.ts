/**
 * A CLIP model from the model store, run with `@huggingface/transformers` (tokenizer, ONNX
 * sessions) on pixels prepared by winnow itself: {@link clipPixels} (`clip_pixels.ts`) makes the
 * image input exactly as Hugging Face's Python `CLIPImageProcessor` does, Pillow-bicubic and all,
 * from the model's `preprocessor_config.json`. (transformers.js' own processor is not used: under
 * Node/Deno it resizes with sharp without antialiasing, measured 0.041 mean / 1.10 max absolute
 * difference in normalised units on a 640-px photo.)
 *
 * Files read from the model folder (hub layout, see `store.ts`): `config.json`,
 * `preprocessor_config.json`, `tokenizer.json` + `tokenizer_config.json`, and the ONNX
 * components asked for: `onnx/text_model.onnx` (CLIPTextModelWithProjection),
 * `onnx/vision_model.onnx` (CLIPVisionModelWithProjection), `onnx/model.onnx` (CLIPModel, used
 * by PickScore for its logits). `dtype` picks the variant (`q8` → `*_quantized.onnx`).
 *
 * Prompts longer than the text encoder's context (77 tokens for CLIP, counting the start and end
 * tokens) are truncated the way the Hugging Face tokenizer (`truncation=True`) and open_clip do —
 * the first 76 tokens, then the end token, which CLIP pools at — and reported as truncated, so a
 * caller can flag them (`clip_prompt_truncated`). (torchmetrics instead cuts the ids at 77,
 * dropping the end token; for prompts within 77 tokens both agree.)
 *
 * Loaded models are cached per process (per score worker) by folder, component set and dtype.
 *
 * @module
 */
import {
  AutoTokenizer,
  CLIPModel,
  CLIPTextModelWithProjection,
  CLIPVisionModelWithProjection,
  env,
  Tensor,
} from "@huggingface/transformers";
import { join } from "node:path";
import type { RgbImage } from "../core/image.ts";
import { clipPixels, type ClipPreprocessor, readPreprocessorConfig } from "./clip_pixels.ts";
import {
  checkModelFiles,
  DEFAULT_CLIP_MODEL,
  loadingFile,
  ModelFileError,
  modelFolder,
  modelsDir,
  onnxFile,
} from "./store.ts";

export { DEFAULT_CLIP_MODEL } from "./store.ts";
export {
  clipPixels,
  type ClipPreprocessor,
  OPENAI_CLIP_PREPROCESSOR,
  parsePreprocessorConfig,
  readPreprocessorConfig,
} from "./clip_pixels.ts";
import { WinnowError } from "../core/errors.ts";
import { defaultNativeThreads } from "../core/threads.ts";

/** An empty (or whitespace-only) prompt: CLIP would score it, meaninglessly. */
export class EmptyPromptError extends WinnowError {}

/** Which ONNX components to load. */
export type ClipComponent = "text" | "vision" | "combined";

const COMPONENT_FILE: Record<ClipComponent, string> = {
  text: "text_model",
  vision: "vision_model",
  combined: "model",
};

/** Options of {@link loadClip}. */
export interface ClipLoadOptions {
  /** Model store (default: `$WINNOW_MODELS` or `~/.cache/winnow/models`). */
  modelsDir?: string;
  /** ONNX variant: `fp32` (default), `fp16`, `q8`, … */
  dtype?: string;
  /** Components to load (default text and vision). */
  components?: readonly ClipComponent[];
  /**
   * onnxruntime threads per session: default 1 inside a score worker (one worker per core
   * already), else the number of cores. Set explicitly because onnxruntime-node's own default
   * was measured ~1.7× slower on a 2-core machine (bench/clip_bench.ts).
   */
  threads?: number;
}

/** A tokenized prompt. */
export interface PromptTokens {
  /** Ids fed to the model (at most `maxTokens`, ending with the end token). */
  ids: bigint[];
  /** Tokens of the whole prompt, start and end tokens included, before truncation. */
  count: number;
  /** True when `count` exceeded the context and the prompt was cut. */
  truncated: boolean;
}

// Runs never download (see PLATFORM.md: this gives a clear "not found locally" error instead).
env.allowRemoteModels = false;
env.allowLocalModels = true;

// deno-lint-ignore no-explicit-any
type Loaded = any;

/**
 * A loaded CLIP: tokenizer, image processor and the ONNX components asked for.
 *
 * @example
 * ```ts ignore
 * const clip = await loadClip("Xenova/clip-vit-base-patch32");
 * const [t] = await clip.textEmbeddings(["a red bicycle"]);
 * const [v] = await clip.imageEmbeddings([await decodeImage("bike.png")]);
 * console.log(100 * Math.max(cosine(t.embedding, v), 0));   // cosine from heuristics/clip_score.ts
 * ```
 */
export class Clip {
  constructor(
    readonly id: string,
    readonly folder: string,
    readonly maxTokens: number,
    private readonly tokenizer: Loaded,
    /** The image processor settings read from `preprocessor_config.json`. */
    readonly preprocessor: ClipPreprocessor,
    private readonly models: Partial<Record<ClipComponent, Loaded>>,
  ) {}

  /** Tokenizes one prompt, truncating to the context and saying whether it had to. */
  tokenize(prompt: string): PromptTokens {
    if (typeof prompt !== "string" || prompt.trim() === "") {
      throw new EmptyPromptError("the prompt is empty; CLIP needs text to compare the image with");
    }
    const ids: bigint[] = this.tokenizer(prompt).input_ids.tolist()[0].map(BigInt);
    const count = ids.length;
    if (count <= this.maxTokens) return { ids, count, truncated: false };
    return { ids: [...ids.slice(0, this.maxTokens - 1), ids[count - 1]], count, truncated: true };
  }

  #textInputs(tokens: PromptTokens[]): { input_ids: Tensor; attention_mask: Tensor } {
    const len = Math.max(...tokens.map((t) => t.ids.length));
    const pad = BigInt(this.tokenizer.pad_token_id ?? tokens[0].ids.at(-1)!);
    const ids = new BigInt64Array(tokens.length * len).fill(pad);
    const mask = new BigInt64Array(tokens.length * len);
    tokens.forEach((t, i) => {
      ids.set(t.ids, i * len);
      mask.fill(1n, i * len, i * len + t.ids.length);
    });
    return {
      input_ids: new Tensor("int64", ids, [tokens.length, len]),
      attention_mask: new Tensor("int64", mask, [tokens.length, len]),
    };
  }

  #need(c: ClipComponent): Loaded {
    const m = this.models[c];
    if (!m) throw new Error(`${this.id}: the ${COMPONENT_FILE[c]} component was not loaded`);
    return m;
  }

  /**
   * The `pixel_values` tensor `[n, 3, H, W]` of `images`: {@link clipPixels} of each with the
   * model's processor settings (shortest-edge Pillow bicubic, center crop, rescale, normalise).
   */
  pixelValues(images: readonly RgbImage[]): Promise<Tensor> {
    const { cropHeight: h, cropWidth: w } = this.preprocessor;
    const data = new Float32Array(images.length * 3 * h * w);
    images.forEach((im, i) => data.set(clipPixels(im, this.preprocessor), i * 3 * h * w));
    return Promise.resolve(new Tensor("float32", data, [images.length, 3, h, w]));
  }

  /** Text embeddings (projected, not normalised), one per prompt, with their token counts. */
  async textEmbeddings(prompts: readonly string[]): Promise<(PromptTokens & { embedding: Float32Array })[]> {
    const tokens = prompts.map((p) => this.tokenize(p));
    if (!tokens.length) return [];
    const { text_embeds } = await this.#need("text")(this.#textInputs(tokens));
    return tokens.map((t, i) => ({ ...t, embedding: rowOf(text_embeds, i) }));
  }

  /** Image embeddings (projected, not normalised), one per image, computed as one batch. */
  async imageEmbeddings(images: readonly RgbImage[]): Promise<Float32Array[]> {
    if (!images.length) return [];
    const { image_embeds } = await this.#need("vision")({ pixel_values: await this.pixelValues(images) });
    return images.map((_, i) => rowOf(image_embeds, i));
  }

  /**
   * The combined model's outputs for `prompts` × `images`: `logitsPerImage[i][t]` =
   * `exp(logit_scale) · cos(image i, prompt t)` with the checkpoint's trained scale, and the
   * normalised embeddings.
   */
  async logits(prompts: readonly string[], images: readonly RgbImage[]): Promise<{
    logitsPerImage: number[][];
    textEmbeds: Float32Array[];
    imageEmbeds: Float32Array[];
    tokens: PromptTokens[];
  }> {
    const tokens = prompts.map((p) => this.tokenize(p));
    const out = await this.#need("combined")({
      ...this.#textInputs(tokens),
      pixel_values: await this.pixelValues(images),
    });
    return {
      logitsPerImage: images.map((_, i) => Array.from(rowOf(out.logits_per_image, i))),
      textEmbeds: tokens.map((_, i) => rowOf(out.text_embeds, i)),
      imageEmbeds: images.map((_, i) => rowOf(out.image_embeds, i)),
      tokens,
    };
  }
}

function rowOf(t: Tensor, i: number): Float32Array {
  const d = t.dims[t.dims.length - 1];
  return Float32Array.from((t.data as Float32Array).subarray(i * d, (i + 1) * d));
}

const cache = new Map<string, Promise<Clip>>();

/**
 * Loads CLIP `id` (a hub id inside the model store, a short name, or a folder path) once per
 * process and options. A missing folder or file is a `ModelNotFoundError` naming what was
 * searched and the `models pull` command; a corrupt file is a `ModelFileError` naming the file.
 *
 * @example
 * ```ts ignore
 * const clip = await loadClip("clip-vit-base-patch32", { components: ["text", "vision"] });
 * ```
 */
export function loadClip(id: string = DEFAULT_CLIP_MODEL, o: ClipLoadOptions = {}): Promise<Clip> {
  const store = modelsDir(o.modelsDir);
  const folder = modelFolder(id, store);
  const components = [...new Set<ClipComponent>(o.components ?? ["text", "vision"])].sort();
  const dtype = o.dtype ?? "fp32";
  const threads = Math.max(1, Math.floor(o.threads ?? defaultThreads()));
  const key = JSON.stringify([folder, components, dtype, threads]);
  let p = cache.get(key);
  if (!p) {
    p = load(id, folder, components, dtype, threads);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** Default onnxruntime threads: 1 in a score worker (the pool has one per core), else every core. */
export function defaultThreads(): number {
  return defaultNativeThreads();
}

async function load(
  id: string,
  folder: string,
  components: ClipComponent[],
  dtype: string,
  threads: number,
): Promise<Clip> {
  const onnx = components.map((c) => onnxFile(folder, COMPONENT_FILE[c], dtype));
  const json = ["config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"];
  await checkModelFiles(id, folder, [...json, ...onnx]);
  if (!env.cacheDir || /node_modules/.test(env.cacheDir)) {
    env.cacheDir = join(folder, "..", ".transformers-cache");
  }
  const opts = { local_files_only: true };
  const tokenizer = await loadingFile(
    join(folder, "tokenizer.json"),
    () => AutoTokenizer.from_pretrained(folder, opts),
  );
  const preprocessor = await readPreprocessorConfig(folder);
  const classes = {
    text: CLIPTextModelWithProjection,
    vision: CLIPVisionModelWithProjection,
    combined: CLIPModel,
  };
  const models: Partial<Record<ClipComponent, Loaded>> = {};
  for (const [i, c] of components.entries()) {
    models[c] = await loadingFile(
      onnx[i],
      () =>
        // deno-lint-ignore no-explicit-any
        (classes[c] as any).from_pretrained(folder, {
          ...opts,
          dtype,
          device: "cpu",
          model_file_name: COMPONENT_FILE[c],
          session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
        }),
    );
  }
  const config = JSON.parse(await Deno.readTextFile(join(folder, "config.json")));
  const maxTokens = Number(config?.text_config?.max_position_embeddings ?? tokenizer.model_max_length ?? 77);
  if (!Number.isFinite(maxTokens) || maxTokens < 3) {
    throw new ModelFileError(
      join(folder, "config.json"),
      `text_config.max_position_embeddings is not usable (${maxTokens})`,
    );
  }
  return new Clip(id, folder, maxTokens, tokenizer, preprocessor, models);
}
