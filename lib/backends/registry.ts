/**
 * The one list of image-generation backends. The CLI and the pipeline find backends here; adding
 * one means adding its file and one entry below.
 *
 * @module
 */
import { A1111Backend } from "./a1111.ts";
import { ComfyBackend, type ComfyWorkflow, parseWorkflow } from "./comfyui.ts";
import { DEFAULT_OPENAI_MODEL, OpenAIImagesBackend } from "./openai.ts";
import { FolderBackend } from "./folder.ts";
import { type Backend, BackendError } from "./types.ts";
import { denoEnv, type EnvReader, readSecret } from "../core/secrets.ts";

/** Everything a backend may be configured with (the CLI's options). */
export interface BackendConfig {
  /** Server URLs; several = endpoints used round-robin (one backend object each). */
  urls?: string[];
  /** Model / checkpoint (A1111 checkpoint, OpenAI model). */
  model?: string;
  /** ComfyUI: a workflow file (API format) or the parsed workflow. */
  workflow?: string | ComfyWorkflow;
  /** Folder backend: the folder of images. */
  from?: string;
  /** Folder backend: `order` or `prompt`. */
  match?: "order" | "prompt";
  /** Per-request deadline. */
  timeoutMs?: number;
  /** ComfyUI: `auto` or `off`. */
  websocket?: "auto" | "off";
  /** ComfyUI `/history` and A1111 `/progress` polling interval. */
  pollIntervalMs?: number;
  /** Where secrets come from (default: the process environment). */
  env?: EnvReader;
}

/** A registry entry. */
export interface BackendEntry {
  name: string;
  description: string;
  /** Used when no URL is given; undefined = a URL is required. */
  defaultUrl?: string;
  /** Environment variables it reads secrets from. */
  secrets: string[];
  create(config: BackendConfig, url: string | undefined): Promise<Backend>;
}

async function loadWorkflow(w: string | ComfyWorkflow | undefined): Promise<ComfyWorkflow> {
  if (w === undefined) {
    throw new BackendError(
      'comfyui: --workflow FILE is required (a workflow saved with "Save (API Format)")',
      "config",
    );
  }
  if (typeof w !== "string") return parseWorkflow(w);
  let text: string;
  try {
    text = await Deno.readTextFile(w);
  } catch (e) {
    throw new BackendError(`--workflow ${w}: cannot read: ${(e as Error).name}`, "config");
  }
  try {
    return parseWorkflow(JSON.parse(text), w);
  } catch (e) {
    if (e instanceof BackendError) throw e;
    throw new BackendError(`--workflow ${w}: not valid JSON: ${(e as Error).message}`, "config");
  }
}

/** Every backend, by name. */
export const BACKENDS: readonly BackendEntry[] = [
  {
    name: "folder",
    description: "serves existing images from --from DIR (offline; the default)",
    secrets: [],
    create: (c) => {
      if (!c.from) throw new BackendError("folder: --from DIR is required", "config");
      return Promise.resolve(new FolderBackend({ dir: c.from, match: c.match }));
    },
  },
  {
    name: "a1111",
    description: "AUTOMATIC1111 / Forge web UI started with --api (basic auth from WINNOW_A1111_AUTH)",
    defaultUrl: "http://127.0.0.1:7860",
    secrets: ["WINNOW_A1111_AUTH"],
    create: (c, url) =>
      Promise.resolve(
        new A1111Backend({
          url: url!,
          auth: readSecret("WINNOW_A1111_AUTH", c.env ?? denoEnv),
          timeoutMs: c.timeoutMs,
          progressIntervalMs: c.pollIntervalMs,
        }),
      ),
  },
  {
    name: "comfyui",
    description: "ComfyUI with an API-format --workflow whose strings hold {{placeholders}}",
    defaultUrl: "http://127.0.0.1:8188",
    secrets: [],
    create: async (c, url) =>
      new ComfyBackend({
        url: url!,
        workflow: await loadWorkflow(c.workflow),
        websocket: c.websocket,
        timeoutMs: c.timeoutMs,
        pollIntervalMs: c.pollIntervalMs,
      }),
  },
  {
    name: "openai",
    description:
      `OpenAI-compatible POST /v1/images/generations (key from OPENAI_API_KEY; model default ${DEFAULT_OPENAI_MODEL})`,
    defaultUrl: "https://api.openai.com/v1",
    secrets: ["OPENAI_API_KEY"],
    create: (c, url) =>
      Promise.resolve(
        new OpenAIImagesBackend({
          url: url!,
          model: c.model,
          apiKey: readSecret("OPENAI_API_KEY", c.env ?? denoEnv),
          timeoutMs: c.timeoutMs,
        }),
      ),
  },
];

/** Names of the registered backends. */
export const BACKEND_NAMES: readonly string[] = BACKENDS.map((b) => b.name);

/**
 * Creates the backend `name` once per URL (several URLs = several endpoints for round-robin).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createBackends } from "./registry.ts";
 * const [b] = await createBackends("a1111", { urls: ["http://127.0.0.1:7860/"], env: () => undefined });
 * assert.equal(b.endpoint, "http://127.0.0.1:7860");
 * await assert.rejects(createBackends("midjourney", {}), /known: folder, a1111, comfyui, openai/);
 * ```
 */
export async function createBackends(name: string, config: BackendConfig): Promise<Backend[]> {
  const entry = BACKENDS.find((b) => b.name === name);
  if (!entry) {
    throw new BackendError(`unknown backend "${name}"; known: ${BACKEND_NAMES.join(", ")}`, "config");
  }
  if (name === "folder") return [await entry.create(config, undefined)];
  const urls = config.urls?.length ? config.urls : entry.defaultUrl ? [entry.defaultUrl] : [];
  const out: Backend[] = [];
  for (const u of urls) out.push(await entry.create(config, u));
  return out;
}
