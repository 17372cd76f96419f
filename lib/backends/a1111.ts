/**
 * AUTOMATIC1111 / Forge web-UI API backend (server started with `--api`, optionally `--api-auth`).
 *
 * Shapes follow AUTOMATIC1111/stable-diffusion-webui v1.10 (master, 2024):
 * - `modules/api/api.py`: routes `POST /sdapi/v1/txt2img`, `POST /sdapi/v1/img2img`,
 *   `GET /sdapi/v1/progress`, `GET /sdapi/v1/sd-models`; HTTP Basic auth on every route when
 *   `--api-auth user:pass` is set (401 otherwise); errors as `{error, detail, body, errors}`.
 * - `modules/api/models.py`: request fields are the `StableDiffusionProcessingTxt2Img/Img2Img`
 *   parameters (`prompt, negative_prompt, seed, sampler_name, batch_size, n_iter, steps, cfg_scale,
 *   width, height, override_settings, override_settings_restore_afterwards`, img2img adds
 *   `init_images, denoising_strength, mask, mask_blur, inpainting_fill, inpaint_full_res,
 *   inpaint_full_res_padding, inpainting_mask_invert, resize_mode`) plus `send_images,
 *   save_images, alwayson_scripts`; reply `TextToImageResponse {images: [base64], parameters, info}`
 *   where `info` is a JSON *string* (`Processed.js()` in `modules/processing.py`: `seed, all_seeds,
 *   sampler_name, steps, cfg_scale, width, height, sd_model_name, sd_model_hash, infotexts, …`).
 * - `extensions-builtin/Lora/scripts/lora_script.py`: `GET /sdapi/v1/loras` → `[{name, alias, path, metadata}]`;
 *   LoRAs are applied through `<lora:name:weight>` in the prompt.
 * - ControlNet (Mikubill/sd-webui-controlnet `internal_controlnet/args.py` `ControlNetUnit`):
 *   `alwayson_scripts.controlnet.args = [{enabled, image, module, model, weight, guidance_start,
 *   guidance_end, control_mode, pixel_perfect, resize_mode}]`; detected maps are appended after
 *   the generated images in `images`.
 *
 * @module
 */
import {
  type Backend,
  BackendError,
  type ControlInput,
  type GenerateContext,
  type GeneratedImage,
  type GenerationRequest,
  type LoraRef,
} from "./types.ts";
import {
  basicAuth,
  expectObject,
  fetchJson,
  fromBase64,
  sleep,
  toBase64,
  validateUrl,
} from "../core/http.ts";

/** Options of {@link A1111Backend}. */
export interface A1111Options {
  /** Root of the web UI, e.g. `http://127.0.0.1:7860`. */
  url: string;
  /** `user:password` for `--api-auth` (from `WINNOW_A1111_AUTH`). */
  auth?: string;
  /** Deadline per generation request. Default 600 s. */
  timeoutMs?: number;
  /** How often `/sdapi/v1/progress` is polled while a request runs (only with `onProgress`). Default 1000 ms. */
  progressIntervalMs?: number;
}

/** A checkpoint as `GET /sdapi/v1/sd-models` lists it. */
export interface A1111Model {
  title: string;
  model_name: string;
  hash?: string | null;
  filename?: string;
}

/** Appends `<lora:name:weight>` for each LoRA not already in the prompt. */
export function withLoras(prompt: string, loras: readonly LoraRef[] = []): string {
  let p = prompt;
  for (const l of loras) {
    if (!p.includes(`<lora:${l.name}:`)) p += ` <lora:${l.name}:${l.weight}>`;
  }
  return p;
}

function controlUnit(c: ControlInput): Record<string, unknown> {
  return {
    enabled: true,
    image: toBase64(c.image),
    module: c.module ?? "none",
    model: c.model,
    weight: c.weight ?? 1,
    guidance_start: c.guidanceStart ?? 0,
    guidance_end: c.guidanceEnd ?? 1,
    control_mode: c.controlMode ?? "Balanced",
    pixel_perfect: c.pixelPerfect ?? false,
    resize_mode: "Crop and Resize",
  };
}

/**
 * The JSON body winnow sends for a request: txt2img, or img2img when `req.init` is set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { a1111Payload } from "./a1111.ts";
 * const { path, body } = a1111Payload({ prompt: "a cat", loras: [{ name: "film", weight: 0.6 }], model: "sdxl" });
 * assert.equal(path, "/sdapi/v1/txt2img");
 * assert.equal(body.prompt, "a cat <lora:film:0.6>");
 * assert.deepEqual(body.override_settings, { sd_model_checkpoint: "sdxl" });
 * ```
 */
export function a1111Payload(req: GenerationRequest): { path: string; body: Record<string, unknown> } {
  const body: Record<string, unknown> = {
    prompt: withLoras(req.prompt, req.loras),
    negative_prompt: req.negativePrompt ?? "",
    seed: req.seed ?? -1,
    batch_size: req.batchSize ?? 1,
    n_iter: 1,
    override_settings: req.model ? { sd_model_checkpoint: req.model } : {},
    override_settings_restore_afterwards: true,
    send_images: true,
    save_images: false,
    alwayson_scripts: req.controls?.length ? { controlnet: { args: req.controls.map(controlUnit) } } : {},
  };
  if (req.steps !== undefined) body.steps = req.steps;
  if (req.cfgScale !== undefined) body.cfg_scale = req.cfgScale;
  if (req.width !== undefined) body.width = req.width;
  if (req.height !== undefined) body.height = req.height;
  if (req.sampler !== undefined) body.sampler_name = req.sampler;
  if (!req.init) return { path: "/sdapi/v1/txt2img", body };
  const i = req.init;
  body.init_images = [toBase64(i.image)];
  body.resize_mode = 0;
  body.denoising_strength = i.denoisingStrength ?? 0.75;
  if (i.mask) {
    body.mask = toBase64(i.mask);
    body.mask_blur = i.maskBlur ?? 4;
    body.inpainting_fill = i.inpaintingFill ?? 1;
    body.inpaint_full_res = (i.inpaintArea ?? "whole") === "masked";
    body.inpaint_full_res_padding = i.inpaintPadding ?? 32;
    body.inpainting_mask_invert = i.invertMask ? 1 : 0;
  }
  return { path: "/sdapi/v1/img2img", body };
}

const INFO_KEYS = [
  "sampler_name",
  "steps",
  "cfg_scale",
  "width",
  "height",
  "sd_model_name",
  "sd_model_hash",
  "denoising_strength",
  "clip_skip",
  "subseed",
  "subseed_strength",
  "version",
];

/**
 * Backend for the AUTOMATIC1111 / Forge web UI API.
 *
 * @example
 * ```ts ignore
 * import { A1111Backend } from "./a1111.ts";
 * const b = new A1111Backend({ url: "http://127.0.0.1:7860" });
 * const [img] = await b.generate({ prompt: "a lighthouse at dusk", steps: 20 });
 * console.log(img.seed, img.bytes.length);
 * ```
 */
export class A1111Backend implements Backend {
  readonly name = "a1111";
  readonly endpoint: string;
  #headers: Record<string, string>;
  #timeoutMs: number;
  #progressMs: number;

  constructor(options: A1111Options) {
    this.endpoint = validateUrl(options.url);
    this.#headers = options.auth ? { authorization: basicAuth(options.auth) } : {};
    this.#timeoutMs = options.timeoutMs ?? 600_000;
    this.#progressMs = options.progressIntervalMs ?? 1000;
  }

  /** Checkpoints the server has (`GET /sdapi/v1/sd-models`). */
  async listModels(signal?: AbortSignal): Promise<A1111Model[]> {
    const url = `${this.endpoint}/sdapi/v1/sd-models`;
    const j = await fetchJson(url, { headers: this.#headers, timeoutMs: 30_000, signal });
    if (!Array.isArray(j)) throw new BackendError(`GET ${url}: expected a list of models`, "bad_reply");
    return j as A1111Model[];
  }

  /** LoRA names the server has (`GET /sdapi/v1/loras`). */
  async listLoras(signal?: AbortSignal): Promise<string[]> {
    const url = `${this.endpoint}/sdapi/v1/loras`;
    const j = await fetchJson(url, { headers: this.#headers, timeoutMs: 30_000, signal });
    if (!Array.isArray(j)) throw new BackendError(`GET ${url}: expected a list of LoRAs`, "bad_reply");
    return j.flatMap((l) => [l?.name, l?.alias]).filter((n): n is string => typeof n === "string");
  }

  /** Fails with the server's list when the requested checkpoint or a LoRA is not there. */
  async check(req: GenerationRequest, signal?: AbortSignal): Promise<void> {
    if (req.model) {
      const models = await this.listModels(signal);
      const m = req.model;
      const found = models.some((x) =>
        x.title === m || x.model_name === m || x.title?.replace(/ \[[0-9a-f]+\]$/i, "") === m ||
        x.filename?.split(/[\\/]/).pop() === m || x.hash === m
      );
      if (!found) {
        throw new BackendError(
          `${this.endpoint}: checkpoint "${m}" is not on the server; it has: ${
            models.map((x) => x.title).join(", ") || "(none)"
          }`,
          "config",
        );
      }
    }
    if (req.loras?.length) {
      const have = new Set(await this.listLoras(signal));
      const missing = req.loras.filter((l) => !have.has(l.name)).map((l) => l.name);
      if (missing.length) {
        throw new BackendError(
          `${this.endpoint}: LoRA ${missing.join(", ")} not on the server; it has: ${
            [...have].join(", ") || "(none)"
          }`,
          "config",
        );
      }
    }
  }

  async generate(req: GenerationRequest, ctx: GenerateContext = {}): Promise<GeneratedImage[]> {
    const { path, body } = a1111Payload(req);
    const url = this.endpoint + path;
    const stopPolling = new AbortController();
    const poller = ctx.onProgress ? this.#pollProgress(ctx, stopPolling.signal) : Promise.resolve();
    let reply: unknown;
    try {
      reply = await fetchJson(url, {
        json: body,
        headers: this.#headers,
        timeoutMs: this.#timeoutMs,
        signal: ctx.signal,
      });
    } finally {
      stopPolling.abort();
      await poller;
    }
    const r = expectObject(reply, `POST ${url}`);
    if (!Array.isArray(r.images) || r.images.length === 0) {
      throw new BackendError(`POST ${url}: reply has no images`, "bad_reply");
    }
    let info: Record<string, unknown> = {};
    if (typeof r.info === "string") {
      try {
        info = expectObject(JSON.parse(r.info), "info");
      } catch { /* keep the request's values */ }
    }
    const seeds = Array.isArray(info.all_seeds) ? info.all_seeds as unknown[] : [];
    const batch = seeds.length || Number(body.batch_size);
    // ControlNet appends its detected maps after the generated images: keep the first `batch`.
    return (r.images as unknown[]).slice(0, batch).map((b64, i) => {
      const params: Record<string, unknown> = {};
      for (const k of INFO_KEYS) if (info[k] !== undefined && info[k] !== null) params[k] = info[k];
      for (const k of ["steps", "cfg_scale", "width", "height", "sampler_name", "denoising_strength"]) {
        if (params[k] === undefined && body[k] !== undefined) params[k] = body[k];
      }
      if (req.model) params.checkpoint = req.model;
      if (req.loras?.length) params.loras = req.loras;
      if (req.controls?.length) {
        params.controlnet = req.controls.map((c) => ({
          model: c.model,
          module: c.module ?? "none",
          weight: c.weight ?? 1,
        }));
      }
      if (req.init) {
        params.mode = req.init.mask ? "inpaint" : "img2img";
        for (const k of ["mask_blur", "inpaint_full_res", "inpaint_full_res_padding", "inpainting_fill"]) {
          if (body[k] !== undefined) params[k] = body[k];
        }
      }
      const infotexts = info.infotexts;
      if (Array.isArray(infotexts) && typeof infotexts[i] === "string") params.infotext = infotexts[i];
      const s = seeds[i] ?? (typeof info.seed === "number" ? info.seed + i : undefined);
      const seed = typeof s === "number"
        ? s
        : (req.seed !== undefined && req.seed >= 0 ? req.seed + i : null);
      return { bytes: fromBase64(b64, `POST ${url}: images[${i}]`), seed, params };
    });
  }

  async #pollProgress(ctx: GenerateContext, stop: AbortSignal): Promise<void> {
    const url = `${this.endpoint}/sdapi/v1/progress?skip_current_image=true`;
    const onAbort = () => stopAll.abort();
    const stopAll = new AbortController();
    stop.addEventListener("abort", onAbort, { once: true });
    ctx.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      while (!stopAll.signal.aborted) {
        try {
          await sleep(this.#progressMs, stopAll.signal);
          const p = expectObject(
            await fetchJson(url, { headers: this.#headers, timeoutMs: 10_000, signal: stopAll.signal }),
            url,
          );
          const state = (p.state ?? {}) as Record<string, unknown>;
          if (!stopAll.signal.aborted && typeof p.progress === "number") {
            ctx.onProgress?.({
              fraction: p.progress,
              step: typeof state.sampling_step === "number" ? state.sampling_step : undefined,
              steps: typeof state.sampling_steps === "number" ? state.sampling_steps : undefined,
            });
          }
        } catch { /* progress is best-effort; stopping aborts the wait */ }
      }
    } finally {
      stop.removeEventListener("abort", onAbort);
      ctx.signal?.removeEventListener("abort", onAbort);
    }
  }
}
