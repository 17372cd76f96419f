/**
 * Tiny CLIP-shaped models written at test time in the exact Hugging Face folder layout that
 * `@huggingface/transformers` reads (and that `deno task models pull` writes):
 *
 * ```
 * <models>/winnow-test/tiny-clip/
 *   config.json  preprocessor_config.json  tokenizer.json  tokenizer_config.json
 *   special_tokens_map.json
 *   onnx/text_model.onnx  onnx/vision_model.onnx  onnx/model.onnx
 * <models>/winnow-test/tiny-aesthetic/model.onnx
 * ```
 *
 * The graphs are written with `onnx-proto`, so the same loading code that reads a real checkpoint
 * reads these. They are shaped like CLIP where it matters to the code under test: a byte-level
 * BPE tokenizer with `</w>` word ends, `<|startoftext|>`/`<|endoftext|>` ids above the rest (the
 * text tower pools at the arg-max id, as CLIP does), 77 position embeddings, a causal
 * accumulation so the pooled state depends on every earlier token, a patch convolution for the
 * image tower, and a combined `model.onnx` with normalised embeddings and
 * `logits_per_image = exp(logit_scale) · cos`. Weights are seeded, so every run builds the same
 * bytes. {@link onnxGraph} is also the graph writer of `bench/clip_bench.ts`.
 *
 * @module
 */
import { FLOAT, INT64, type IoSpec, type OnnxGraph, onnxGraph } from "../lib/models/onnx_graph.ts";

export { type Attr, FLOAT, INT64, type IoSpec, OnnxGraph, onnxGraph } from "../lib/models/onnx_graph.ts";
import { join } from "node:path";

/** Deterministic pseudo-random numbers (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` uniform values in `[-scale, scale)` from `rand`. */
export function uniform(rand: () => number, n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}

/** GPT-2's byte → printable-character table, used by byte-level BPE (CLIP's tokenizer). */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const out = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(bs.includes(b) ? b : 256 + n++);
  return out;
}

/** Sizes of the tiny CLIP. */
export const TINY = {
  /** Text width. */
  textDim: 16,
  /** Image tower width. */
  visionDim: 12,
  /** Shared embedding size (`projection_dim`). */
  projDim: 8,
  /** Input image side (`crop_size`). */
  imageSize: 32,
  patch: 8,
  /** CLIP's text context. */
  maxPositions: 77,
  /** `exp(logit_scale)`, as in trained CLIP checkpoints. */
  logitScale: 100,
};

/** Merges of the fixture tokenizer: a few real BPE merges so it is not character-only. */
const MERGES = ["t h", "th e</w>", "c a", "ca t</w>", "d o", "do g</w>", "m a", "ma t</w>", "o n</w>"];

/** The tokenizer files (`tokenizer.json`, `tokenizer_config.json`, `special_tokens_map.json`). */
export function tinyTokenizerFiles(): Record<string, unknown> {
  const chars = bytesToUnicode();
  const vocab: Record<string, number> = {};
  for (const c of chars) vocab[c] = Object.keys(vocab).length;
  for (const c of chars) vocab[c + "</w>"] = Object.keys(vocab).length;
  for (const m of MERGES) vocab[m.replace(" ", "")] = Object.keys(vocab).length;
  const bos = Object.keys(vocab).length, eos = bos + 1;
  if (eos !== TINY_EOS) throw new Error(`fixture tokenizer: expected ${TINY_VOCAB} tokens, got ${eos + 1}`);
  vocab["<|startoftext|>"] = bos;
  vocab["<|endoftext|>"] = eos;
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(bos, "<|startoftext|>"), special(eos, "<|endoftext|>")],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "NFC" },
        { type: "Replace", pattern: { Regex: "\\s+" }, content: " " },
        { type: "Lowercase" },
      ],
    },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        {
          type: "Split",
          pattern: {
            Regex:
              "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
          },
          behavior: "Removed",
          invert: true,
        },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: "RobertaProcessing",
      sep: ["<|endoftext|>", eos],
      cls: ["<|startoftext|>", bos],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<|endoftext|>",
      continuing_subword_prefix: "",
      end_of_word_suffix: "</w>",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: MERGES,
    },
  };
  const tokens = {
    bos_token: "<|startoftext|>",
    eos_token: "<|endoftext|>",
    pad_token: "<|endoftext|>",
    unk_token: "<|endoftext|>",
  };
  return {
    "tokenizer.json": tokenizer,
    "tokenizer_config.json": {
      tokenizer_class: "CLIPTokenizer",
      model_max_length: TINY.maxPositions,
      do_lower_case: true,
      clean_up_tokenization_spaces: true,
      ...tokens,
    },
    "special_tokens_map.json": tokens,
  };
}

/** Vocabulary size of the fixture tokenizer (bytes, bytes + `</w>`, merges, two specials). */
export const TINY_VOCAB = 512 + MERGES.length + 2;
/** Ids of `<|startoftext|>` and `<|endoftext|>` (the two highest, as in CLIP). */
export const TINY_BOS = TINY_VOCAB - 2, TINY_EOS = TINY_VOCAB - 1;

interface Weights {
  tokEmb: Float32Array;
  posEmb: Float32Array;
  textProj: Float32Array;
  patchW: Float32Array;
  patchB: Float32Array;
  visionProj: Float32Array;
}

/** Image side and patch of a tiny CLIP's image tower. */
export interface TinyGeometry {
  imageSize: number;
  patch: number;
}

/** The default geometry (32-px inputs) and the real CLIP ViT-B/32 one (224-px inputs, 32-px patches). */
export const TINY_GEOMETRY: TinyGeometry = { imageSize: TINY.imageSize, patch: TINY.patch };
export const B32_GEOMETRY: TinyGeometry = { imageSize: 224, patch: 32 };

function tinyWeights(seed: number, geo: TinyGeometry = TINY_GEOMETRY): Weights {
  const r = rng(seed);
  const { textDim: D, visionDim: V, projDim: P } = TINY;
  const k = geo.patch;
  return {
    tokEmb: uniform(r, TINY_VOCAB * D, 1),
    posEmb: uniform(r, TINY.maxPositions * D, 0.3),
    textProj: uniform(r, D * P, 0.5),
    patchW: uniform(r, V * 3 * k * k, 0.8 / k),
    patchB: uniform(r, V, 0.1),
    visionProj: uniform(r, V * P, 0.5),
  };
}

/** Text tower nodes: `input_ids`, `attention_mask` → unnormalised `[batch, proj]` embedding. */
function textTower(g: OnnxGraph, w: Weights): string {
  const { textDim: D, projDim: P, maxPositions } = TINY;
  const tok = g.op("Gather", [g.weight("tok_emb", [TINY_VOCAB, D], w.tokEmb), "input_ids"], {
    axis: { i: 0 },
  });
  const seqLen = g.op("Slice", [g.op("Shape", ["input_ids"]), g.ints("c1", [1]), g.ints("c2", [2])]);
  const pos = g.op("Slice", [g.weight("pos_emb", [maxPositions, D], w.posEmb), g.ints("c0", [0]), seqLen]);
  const h = g.op("Tanh", [g.op("Add", [tok, pos])]);
  const mask = g.op("Unsqueeze", [
    g.op("Cast", ["attention_mask"], { to: { i: FLOAT } }),
    g.ints("cm1", [-1]),
  ]);
  // A causal accumulation (what CLIP's causal attention guarantees): position t sees tokens ≤ t.
  const hidden = g.op("CumSum", [g.op("Mul", [h, mask]), g.ints("axis1", [1], [])]);
  // Pool at the highest token id: <|endoftext|> (the first one, when padding repeats it), as CLIP.
  const eos = g.op("ArgMax", ["input_ids"], { axis: { i: 1 }, keepdims: { i: 1 } });
  const idx = g.op("Expand", [
    g.op("Unsqueeze", [eos, g.ints("c2b", [2])]),
    g.ints("shape_1_1_D", [1, 1, D]),
  ]);
  const pooled = g.op("Squeeze", [
    g.op("GatherElements", [hidden, idx], { axis: { i: 1 } }),
    g.ints("c1b", [1]),
  ]);
  return g.op("MatMul", [pooled, g.weight("text_projection", [D, P], w.textProj)]);
}

/** Image tower nodes: `pixel_values` → unnormalised `[batch, proj]` embedding. */
function visionTower(g: OnnxGraph, w: Weights, geo: TinyGeometry): string {
  const { visionDim: V, projDim: P } = TINY;
  const k = geo.patch;
  const conv = g.op("Conv", [
    "pixel_values",
    g.weight("patch_w", [V, 3, k, k], w.patchW),
    g.weight("patch_b", [V], w.patchB),
  ], {
    kernel_shape: { ints: [k, k] },
    strides: { ints: [k, k] },
  });
  const pooled = g.op("ReduceMean", [g.op("Tanh", [conv])], { axes: { ints: [2, 3] }, keepdims: { i: 0 } });
  return g.op("MatMul", [pooled, g.weight("visual_projection", [V, P], w.visionProj)]);
}

const textIn = (batch = "batch_size"): IoSpec[] => [
  { name: "input_ids", type: INT64, dims: [batch, "sequence_length"] },
  { name: "attention_mask", type: INT64, dims: [batch, "sequence_length"] },
];
const pixelsIn = (batch: string, geo: TinyGeometry): IoSpec => ({
  name: "pixel_values",
  type: FLOAT,
  dims: [batch, 3, geo.imageSize, geo.imageSize],
});

function textModel(w: Weights): Uint8Array {
  const g = onnxGraph();
  g.op("Identity", [textTower(g, w)], {}, "text_embeds");
  return g.encode(textIn(), [{ name: "text_embeds", type: FLOAT, dims: ["batch_size", TINY.projDim] }]);
}

function visionModel(w: Weights, geo: TinyGeometry): Uint8Array {
  const g = onnxGraph();
  g.op("Identity", [visionTower(g, w, geo)], {}, "image_embeds");
  return g.encode([pixelsIn("batch_size", geo)], [{
    name: "image_embeds",
    type: FLOAT,
    dims: ["batch_size", TINY.projDim],
  }]);
}

/** The combined model, as Optimum exports `CLIPModel`: normalised embeddings and both logits. */
function combinedModel(w: Weights, geo: TinyGeometry): Uint8Array {
  const g = onnxGraph();
  const norm = (x: string, out: string) =>
    g.op("Div", [x, g.op("ReduceL2", [x], { axes: { ints: [-1] }, keepdims: { i: 1 } })], {}, out);
  const t = norm(textTower(g, w), "text_embeds");
  const i = norm(visionTower(g, w, geo), "image_embeds");
  const scale = g.weight("logit_scale_exp", [], new Float32Array([TINY.logitScale]));
  const lpt = g.op(
    "Mul",
    [g.op("MatMul", [t, g.op("Transpose", [i], { perm: { ints: [1, 0] } })]), scale],
    {},
    "logits_per_text",
  );
  g.op("Transpose", [lpt], { perm: { ints: [1, 0] } }, "logits_per_image");
  return g.encode([...textIn("text_batch_size"), pixelsIn("image_batch_size", geo)], [
    { name: "logits_per_image", type: FLOAT, dims: ["image_batch_size", "text_batch_size"] },
    { name: "logits_per_text", type: FLOAT, dims: ["text_batch_size", "image_batch_size"] },
    { name: "text_embeds", type: FLOAT, dims: ["text_batch_size", TINY.projDim] },
    { name: "image_embeds", type: FLOAT, dims: ["image_batch_size", TINY.projDim] },
  ]);
}

/** A LAION-style aesthetic head: `embedding [n, proj]` → Linear(proj, 4) → Linear(4, 1) → `score [n, 1]`. */
export function tinyAestheticHead(seed = 7, dim = TINY.projDim): Uint8Array {
  const r = rng(seed);
  const g = onnxGraph();
  const h = g.op("Add", [
    g.op("MatMul", ["embedding", g.weight("w1", [dim, 4], uniform(r, dim * 4, 1))]),
    g.weight("b1", [4], uniform(r, 4, 1)),
  ]);
  g.op(
    "Add",
    [
      g.op("MatMul", [h, g.weight("w2", [4, 1], uniform(r, 4, 1))]),
      g.weight("b2", [1], new Float32Array([5])),
    ],
    {},
    "score",
  );
  return g.encode([{ name: "embedding", type: FLOAT, dims: ["batch", dim] }], [{
    name: "score",
    type: FLOAT,
    dims: ["batch", 1],
  }]);
}

/** Id of the tiny CLIP inside a models folder. */
export const TINY_CLIP_ID = "winnow-test/tiny-clip";
/** Id of the tiny aesthetic head folder inside a models folder (its file is `model.onnx`). */
export const TINY_AESTHETIC_ID = "winnow-test/tiny-aesthetic";

/** Id of the tiny CLIP with CLIP ViT-B/32's input geometry (224 px) and OpenAI's preprocessor file. */
export const TINY_CLIP_224_ID = "winnow-test/tiny-clip-224";

/** `openai/clip-vit-base-patch32`'s `preprocessor_config.json` as on the hub (the old integer form). */
export const OPENAI_PREPROCESSOR_JSON = {
  crop_size: 224,
  do_center_crop: true,
  do_normalize: true,
  do_resize: true,
  feature_extractor_type: "CLIPFeatureExtractor",
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
  resample: 3,
  size: 224,
};

/**
 * Writes the tiny CLIP with 224-px inputs (32-px patches, OpenAI's preprocessor file) into
 * `modelsDir` as {@link TINY_CLIP_224_ID}, plus `*_quantized.onnx` files built from other
 * weights (`seed + 1`), so a `q8` run gives different embeddings. Returns its folder.
 */
export async function writeTinyClip224(modelsDir: string, seed = 1): Promise<string> {
  const dir = join(modelsDir, TINY_CLIP_224_ID);
  await Deno.mkdir(join(dir, "onnx"), { recursive: true });
  for (const [name, v] of Object.entries(tinyClipJsonFiles(B32_GEOMETRY))) {
    await writeJson(join(dir, name), v);
  }
  for (const [name, bytes] of Object.entries(tinyClipOnnxFiles(seed, B32_GEOMETRY))) {
    await Deno.writeFile(join(dir, name), bytes);
  }
  for (const [name, bytes] of Object.entries(tinyClipOnnxFiles(seed + 1, B32_GEOMETRY))) {
    await Deno.writeFile(join(dir, name.replace(".onnx", "_quantized.onnx")), bytes);
  }
  return dir;
}

/** Writes a JSON file, pretty-printed like the hub's. */
async function writeJson(path: string, v: unknown): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(v, null, 2) + "\n");
}

/** The JSON files of the tiny CLIP folder (config, preprocessor, tokenizer files). */
export function tinyClipJsonFiles(geo: TinyGeometry = TINY_GEOMETRY): Record<string, unknown> {
  const { textDim, visionDim, projDim, maxPositions } = TINY;
  const { imageSize, patch } = geo;
  return {
    "config.json": {
      model_type: "clip",
      architectures: ["CLIPModel"],
      projection_dim: projDim,
      logit_scale_init_value: Math.log(TINY.logitScale),
      text_config: {
        model_type: "clip_text_model",
        hidden_size: textDim,
        max_position_embeddings: maxPositions,
        vocab_size: TINY_VOCAB,
        bos_token_id: TINY_VOCAB - 2,
        eos_token_id: TINY_VOCAB - 1,
        pad_token_id: TINY_VOCAB - 1,
      },
      vision_config: {
        model_type: "clip_vision_model",
        hidden_size: visionDim,
        image_size: imageSize,
        patch_size: patch,
      },
    },
    "preprocessor_config.json": geo === B32_GEOMETRY ? OPENAI_PREPROCESSOR_JSON : {
      crop_size: { height: imageSize, width: imageSize },
      do_center_crop: true,
      do_convert_rgb: true,
      do_normalize: true,
      do_rescale: true,
      do_resize: true,
      feature_extractor_type: "CLIPFeatureExtractor",
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_processor_type: "CLIPImageProcessor",
      image_std: [0.26862954, 0.26130258, 0.27577711],
      resample: 3,
      rescale_factor: 1 / 255,
      size: { shortest_edge: imageSize },
    },
    ...tinyTokenizerFiles(),
  };
}

/** The ONNX files of the tiny CLIP folder, by path inside it. */
export function tinyClipOnnxFiles(seed = 1, geo: TinyGeometry = TINY_GEOMETRY): Record<string, Uint8Array> {
  const w = tinyWeights(seed, geo);
  return {
    "onnx/text_model.onnx": textModel(w),
    "onnx/vision_model.onnx": visionModel(w, geo),
    "onnx/model.onnx": combinedModel(w, geo),
  };
}

/**
 * Writes the tiny CLIP (and the tiny aesthetic head) into `modelsDir` in the hub layout and
 * returns the folder of the CLIP.
 *
 * @example
 * ```ts ignore
 * const models = await Deno.makeTempDir();
 * await writeTinyModels(models);   // models/winnow-test/tiny-clip/{config.json, onnx/…}
 * ```
 */
export async function writeTinyModels(modelsDir: string, seed = 1): Promise<string> {
  const dir = join(modelsDir, TINY_CLIP_ID);
  await Deno.mkdir(join(dir, "onnx"), { recursive: true });
  for (const [name, v] of Object.entries(tinyClipJsonFiles())) await writeJson(join(dir, name), v);
  for (const [name, bytes] of Object.entries(tinyClipOnnxFiles(seed))) {
    await Deno.writeFile(join(dir, name), bytes);
  }
  const head = join(modelsDir, TINY_AESTHETIC_ID);
  await Deno.mkdir(head, { recursive: true });
  await Deno.writeFile(join(head, "model.onnx"), tinyAestheticHead());
  return dir;
}

/**
 * A tiny ONNX with the FID Inception's signature: `images [N, 3, 299, 299]` (0–255) →
 * `features [N, 2048]` = tanh((channel means / 128 − 1) · W) with seeded `W [3, 2048]`, so a test
 * can recompute it and see the input layout (NCHW) and scaling; `withLogits` adds the second output
 * `logits [N, 1008]` = (channel means / 128 − 1) · `wl`.
 */
export function tinyInception(
  seed = 11,
  withLogits = false,
): { onnx: Uint8Array; w: Float32Array; wl: Float32Array } {
  const w = uniform(rng(seed), 3 * 2048, 1);
  const wl = uniform(rng(seed + 1), 3 * 1008, 4);
  const g = onnxGraph();
  const mean = g.op("ReduceMean", ["images"], { axes: { ints: [2, 3] }, keepdims: { i: 0 } });
  const x = g.op("Sub", [
    g.op("Div", [mean, g.weight("c128", [], new Float32Array([128]))]),
    g.weight("c1", [], new Float32Array([1])),
  ]);
  g.op("Tanh", [g.op("MatMul", [x, g.weight("w", [3, 2048], w)])], {}, "features");
  if (withLogits) g.op("MatMul", [x, g.weight("wl", [3, 1008], wl)], {}, "logits");
  const onnx = g.encode([{ name: "images", type: FLOAT, dims: ["n", 3, 299, 299] }], [
    { name: "features", type: FLOAT, dims: ["n", 2048] },
    ...(withLogits ? [{ name: "logits", type: FLOAT, dims: ["n", 1008] }] : []),
  ]);
  return { onnx, w, wl };
}

/**
 * A tiny ONNX with LPIPS' signature: `in0, in1 [N, 3, H, W]` in [−1, 1] → `[N, 1, 1, 1]` =
 * mean over pixels of Σ_c w_c (in0 − in1)², seeded `w`, so a test can recompute it.
 */
export function tinyLpips(seed = 13): { onnx: Uint8Array; w: Float32Array } {
  const w = Float32Array.from(uniform(rng(seed), 3, 1), (v) => Math.abs(v) + 0.1);
  const g = onnxGraph();
  const d = g.op("Sub", ["in0", "in1"]);
  const sq = g.op("Mul", [d, d]);
  const weighted = g.op("Mul", [sq, g.weight("w", [1, 3, 1, 1], w)]);
  const perPixel = g.op("ReduceSum", [weighted, g.ints("axis_c", [1])], { keepdims: { i: 1 } });
  g.op("ReduceMean", [perPixel], { axes: { ints: [2, 3] }, keepdims: { i: 1 } }, "distance");
  const onnx = g.encode(
    [
      { name: "in0", type: FLOAT, dims: ["n", 3, "h", "w"] },
      { name: "in1", type: FLOAT, dims: ["n", 3, "h", "w"] },
    ],
    [{ name: "distance", type: FLOAT, dims: ["n", 1, 1, 1] }],
  );
  return { onnx, w };
}
