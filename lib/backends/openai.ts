/**
 * OpenAI-compatible images backend: `POST {base}/images/generations`.
 *
 * Shapes follow the OpenAI API reference "Create image" (platform.openai.com/docs/api-reference/images,
 * openai-openapi spec `CreateImageRequest` / `ImagesResponse`, 2025): request `{model, prompt, n, size
 * "WxH", response_format "b64_json"|"url", quality?}` with `Authorization: Bearer <key>`; reply
 * `{created, data: [{b64_json, revised_prompt?}]}`; errors `{error: {message, type, param, code}}`.
 * GPT image models (`gpt-image-*`) always return `b64_json` and reject `response_format`, so it is
 * sent only for other models (DALL·E and OpenAI-compatible servers such as LocalAI).
 * The API has no negative prompt and no seed: both are recorded as not applied.
 *
 * @module
 */
import {
  type Backend,
  BackendError,
  type GenerateContext,
  type GeneratedImage,
  type GenerationRequest,
} from "./types.ts";
import { expectObject, fetchJson, fromBase64, validateUrl } from "../core/http.ts";

/** Options of {@link OpenAIImagesBackend}. */
export interface OpenAIOptions {
  /** Base URL as the SDKs take it, ending in `/v1`, e.g. `https://api.openai.com/v1`. */
  url: string;
  /** Model name, e.g. `gpt-image-1`, `dall-e-3`. */
  model?: string;
  /** API key (from `OPENAI_API_KEY`); optional for local servers. */
  apiKey?: string;
  /** `quality` field (`standard`, `hd`, `low`, `medium`, `high`, `auto`), sent only when set. */
  quality?: string;
  /** Deadline per request. Default 300 s. */
  timeoutMs?: number;
}

/** Default image model. */
export const DEFAULT_OPENAI_MODEL = "gpt-image-1";

/**
 * The JSON body winnow sends for a request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openaiPayload } from "./openai.ts";
 * const b = openaiPayload({ prompt: "a fox", width: 1024, height: 1024, batchSize: 2 }, "dall-e-3");
 * assert.deepEqual(b, { model: "dall-e-3", prompt: "a fox", n: 2, size: "1024x1024", response_format: "b64_json" });
 * ```
 */
export function openaiPayload(
  req: GenerationRequest,
  model: string,
  quality?: string,
): Record<string, unknown> {
  const body: Record<string, unknown> = { model, prompt: req.prompt, n: req.batchSize ?? 1 };
  body.size = `${req.width ?? 1024}x${req.height ?? 1024}`;
  if (!/^gpt-image/i.test(model)) body.response_format = "b64_json";
  if (quality) body.quality = quality;
  return body;
}

/**
 * Backend for OpenAI's images API and servers that speak it.
 *
 * @example
 * ```ts ignore
 * import { OpenAIImagesBackend } from "./openai.ts";
 * const b = new OpenAIImagesBackend({ url: "https://api.openai.com/v1", apiKey: Deno.env.get("OPENAI_API_KEY") });
 * const [img] = await b.generate({ prompt: "a lighthouse at dusk" });
 * ```
 */
export class OpenAIImagesBackend implements Backend {
  readonly name = "openai";
  readonly endpoint: string;
  readonly model: string;
  #headers: Record<string, string>;
  #quality?: string;
  #timeoutMs: number;

  constructor(options: OpenAIOptions) {
    this.endpoint = validateUrl(options.url);
    this.model = options.model ?? DEFAULT_OPENAI_MODEL;
    this.#headers = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
    this.#quality = options.quality;
    this.#timeoutMs = options.timeoutMs ?? 300_000;
    if (!options.apiKey && new URL(this.endpoint).hostname === "api.openai.com") {
      throw new BackendError(
        "openai: OPENAI_API_KEY is not set (or set OPENAI_API_KEY_FILE to a file holding it)",
        "config",
      );
    }
  }

  async generate(req: GenerationRequest, ctx: GenerateContext = {}): Promise<GeneratedImage[]> {
    const url = `${this.endpoint}/images/generations`;
    const body = openaiPayload(req, req.model ?? this.model, this.#quality);
    const r = expectObject(
      await fetchJson(url, {
        json: body,
        headers: this.#headers,
        timeoutMs: this.#timeoutMs,
        signal: ctx.signal,
      }),
      `POST ${url}`,
    );
    if (!Array.isArray(r.data) || r.data.length === 0) {
      throw new BackendError(`POST ${url}: reply has no "data" images`, "bad_reply");
    }
    return r.data.map((d: Record<string, unknown>, i: number) => {
      if (typeof d?.b64_json !== "string") {
        throw new BackendError(
          `POST ${url}: data[${i}] has no b64_json${
            d?.url ? " (the server sent a URL; it ignored response_format)" : ""
          }`,
          "bad_reply",
        );
      }
      const params: Record<string, unknown> = { model: body.model, size: body.size };
      if (body.quality) params.quality = body.quality;
      if (typeof d.revised_prompt === "string") params.revised_prompt = d.revised_prompt;
      if (req.negativePrompt) params.negative_prompt_applied = false;
      if (req.seed !== undefined && req.seed >= 0) params.seed_applied = false;
      return { bytes: fromBase64(d.b64_json, `POST ${url}: data[${i}].b64_json`), seed: null, params };
    });
  }
}
