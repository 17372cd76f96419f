/**
 * The backend interface every image-generation backend implements (one file per backend, listed in
 * `registry.ts`). The plumbing they share — HTTP with timeouts, classified errors and retries, URL
 * validation — is `lib/core/http.ts`; secrets are `lib/core/secrets.ts`.
 *
 * Backends never import the pipeline, heuristics or the CLI; the pipeline imports backends.
 *
 * @module
 */
import { HttpError, type HttpErrorKind } from "../core/http.ts";

/** A failed backend call: the {@link HttpError} of `core/http.ts` under the name backends use. */
export { HttpError as BackendError, type HttpErrorKind as BackendErrorKind };

/** A LoRA to apply, by the name the server knows it under. */
export interface LoraRef {
  name: string;
  /** Strength, usually 0–1 (A1111 `<lora:name:weight>`). */
  weight: number;
}

/** Where an inpainting pass works: the whole picture, or only the masked part at full resolution. */
export type InpaintArea = "whole" | "masked";

/** An init image for img2img, with an optional mask for inpainting. */
export interface InitImage {
  /** Encoded image bytes (PNG, JPEG, WebP). */
  image: Uint8Array;
  /** Mask bytes: white = repaint, black = keep. Omit for plain img2img. */
  mask?: Uint8Array;
  /** 0–1, how far the result may move from the init image. Default 0.75. */
  denoisingStrength?: number;
  /** Mask feathering in pixels. Default 4. */
  maskBlur?: number;
  /** Whole picture, or only the masked region (A1111 "Only masked"). Default `whole`. */
  inpaintArea?: InpaintArea;
  /** Padding in pixels around the masked region when `inpaintArea` is `masked`. Default 32. */
  inpaintPadding?: number;
  /** What fills the masked area first: 0 fill, 1 original, 2 latent noise, 3 latent nothing. Default 1. */
  inpaintingFill?: 0 | 1 | 2 | 3;
  /** Repaint outside the mask instead of inside. */
  invertMask?: boolean;
}

/** A control input (ControlNet unit): a guide image and the model that reads it. */
export interface ControlInput {
  /** Encoded guide image bytes. */
  image: Uint8Array;
  /** Preprocessor, e.g. `canny`, `openpose`; `none` when the image is already a map. */
  module?: string;
  /** ControlNet model name as the server lists it. */
  model: string;
  /** 0–2. Default 1. */
  weight?: number;
  /** 0–1 fraction of the steps where control starts / ends. */
  guidanceStart?: number;
  guidanceEnd?: number;
  /** `Balanced`, `My prompt is more important`, `ControlNet is more important`. */
  controlMode?: string;
  pixelPerfect?: boolean;
}

/** One generation request. Fields a backend cannot honour are reported in the result's `params`. */
export interface GenerationRequest {
  prompt: string;
  negativePrompt?: string;
  width?: number;
  height?: number;
  steps?: number;
  sampler?: string;
  cfgScale?: number;
  /** Seed; omit or -1 to let the server choose (the chosen one comes back in the result). */
  seed?: number;
  /** Images per request. Default 1. */
  batchSize?: number;
  /** Model / checkpoint name as the server lists it. */
  model?: string;
  loras?: LoraRef[];
  /** img2img / inpainting input. */
  init?: InitImage;
  controls?: ControlInput[];
}

/** One image a backend returned, with the parameters actually used. */
export interface GeneratedImage {
  /** Encoded image bytes exactly as received. */
  bytes: Uint8Array;
  /** The seed the server used (chosen by it when the request had none); null when unknown. */
  seed: number | null;
  /** Parameters the server reports it used (sampler, steps, model, revised prompt, …). */
  params: Record<string, unknown>;
}

/** Progress of one request, as far as the backend can tell. */
export interface ProgressInfo {
  /** 0–1. */
  fraction: number;
  step?: number;
  steps?: number;
}

/** Per-call context the pipeline passes in. */
export interface GenerateContext {
  /** Aborts the request (deadline, shutdown). */
  signal?: AbortSignal;
  onProgress?: (p: ProgressInfo) => void;
  /** Index of this request in the run (0-based). */
  index?: number;
  /** Retry number of this request (0 = first try). */
  attempt?: number;
}

/** An image generator. `generate` returns every image of one request (batch size of them). */
export interface Backend {
  /** Registry name, e.g. `a1111`. */
  readonly name: string;
  /** Where it sends requests (URL without credentials, or a folder): safe to print. */
  readonly endpoint: string;
  generate(req: GenerationRequest, ctx?: GenerateContext): Promise<GeneratedImage[]>;
  /** Optional pre-flight: checks that the server has the model/LoRAs asked for. */
  check?(req: GenerationRequest, signal?: AbortSignal): Promise<void>;
  /** Releases connections. */
  close?(): void;
}
