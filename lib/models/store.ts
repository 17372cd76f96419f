/**
 * The model store: a local folder of models in the Hugging Face hub layout, read offline.
 *
 * Where it is (first that is set):
 * 1. `--models DIR` on the command line / the `modelsDir` setting of a heuristic;
 * 2. the environment variable `WINNOW_MODELS`;
 * 3. the default {@link defaultModelsDir}: `$XDG_CACHE_HOME/winnow/models`, else
 *    `~/.cache/winnow/models` (`%LOCALAPPDATA%\winnow\models` on Windows) — outside
 *    `node_modules/`, so reinstalling packages never deletes a downloaded model.
 *
 * Layout: a model with hub id `owner/name` lives in `<store>/owner/name/`, exactly as the hub
 * repository has it and as `@huggingface/transformers` reads it:
 *
 * ```
 * <store>/Xenova/clip-vit-base-patch32/
 *   config.json  preprocessor_config.json  tokenizer.json  tokenizer_config.json …
 *   onnx/model.onnx  onnx/text_model.onnx  onnx/vision_model.onnx   (fp32; _quantized = q8, …)
 * ```
 *
 * Nothing here downloads on its own: scoring only reads the folder, and a missing model is a
 * {@link ModelNotFoundError} that names the folder searched and the command that fetches it
 * (`deno task models pull NAME`, see {@link pullModel}).
 *
 * @module
 */
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { WinnowError } from "../core/errors.ts";
import { StreamLengthError, writeAtomicStream } from "../core/atomic.ts";

/** Environment variable that sets the model store. */
export const MODELS_ENV = "WINNOW_MODELS";

/** The CLIP checkpoint `clip_score` uses unless told otherwise (fetch: `deno task models pull clip-vit-base-patch32`). */
export const DEFAULT_CLIP_MODEL = "Xenova/clip-vit-base-patch32";

/** Default hub endpoint of `pull`; `HF_ENDPOINT` (as in `huggingface_hub`) or `--endpoint` override it. */
export const DEFAULT_ENDPOINT = "https://huggingface.co";

/**
 * Short names `pull` accepts beside full hub ids, and what each is for. Every scorer also accepts
 * any folder in the same layout (see `docs/models.md`).
 */
export const KNOWN_MODELS: Readonly<Record<string, { id: string; use: string }>> = {
  "clip-vit-base-patch32": {
    id: "Xenova/clip-vit-base-patch32",
    use: "clip_score default: OpenAI CLIP ViT-B/32 exported to ONNX for transformers.js",
  },
  "clip-vit-large-patch14": {
    id: "Xenova/clip-vit-large-patch14",
    use:
      "aesthetic default image tower: OpenAI CLIP ViT-L/14 (the LAION aesthetic head reads its embeddings)",
  },
};

/**
 * A model that is not in the model store; the message names the folder searched and the command
 * that fetches it. (A file that is there but unreadable, or a model file outside the store, is a
 * {@link ModelFileError}.)
 */
export class ModelNotFoundError extends WinnowError {
  /**
   * @param id the model asked for; @param searched the folder looked in; @param file the missing
   * file inside it, when the folder exists; @param hint how to get it (default: the pull command).
   */
  constructor(readonly id: string, readonly searched: string, readonly file?: string, hint?: string) {
    super(
      `model "${id}" not found: ${file ? `no file ${file}` : `no folder ${searched}`} (model store ${
        storeOf(searched, id)
      }; set it with --models DIR or ${MODELS_ENV}). ` +
        (hint ?? `Fetch it with: deno task models pull ${id}` +
            (isAbsolute(id) ? "" : ` --models ${storeOf(searched, id)}`)),
    );
  }
}

/**
 * The one error for a model file that is missing, empty, corrupt or of the wrong shape, whatever
 * the runtime (TF.js, ONNX, transformers.js); the message starts with the file (or the folder
 * searched) and says what is wrong with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelFileError } from "./store.ts";
 * const e = new ModelFileError("models/det.onnx", "the file is empty");
 * assert.equal(e.message, "models/det.onnx: the file is empty");
 * assert.equal(e.name, "ModelFileError");
 * ```
 */
export class ModelFileError extends WinnowError {
  /** @param file the file, or the folder searched; @param detail what is wrong with it. */
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
  }
}

function storeOf(folder: string, id: string): string {
  if (isAbsolute(id)) return dirname(folder);
  let d = folder;
  for (const _ of id.split("/")) d = dirname(d);
  return d;
}

/** Reads an environment variable, `undefined` when unset or when env access is not granted. */
function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The default model store: `$XDG_CACHE_HOME/winnow/models`, else `$HOME/.cache/winnow/models`
 * (`%LOCALAPPDATA%\winnow\models` on Windows).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultModelsDir } from "./store.ts";
 * assert.equal(defaultModelsDir({ HOME: "/home/ada" }), "/home/ada/.cache/winnow/models");
 * assert.equal(defaultModelsDir({ HOME: "/home/ada", XDG_CACHE_HOME: "/c" }), "/c/winnow/models");
 * ```
 */
export function defaultModelsDir(env: Record<string, string | undefined> = {
  XDG_CACHE_HOME: envGet("XDG_CACHE_HOME"),
  HOME: envGet("HOME"),
  LOCALAPPDATA: envGet("LOCALAPPDATA"),
  USERPROFILE: envGet("USERPROFILE"),
}): string {
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "winnow", "models");
  if (env.HOME) return join(env.HOME, ".cache", "winnow", "models");
  if (env.LOCALAPPDATA) return join(env.LOCALAPPDATA, "winnow", "models");
  if (env.USERPROFILE) return join(env.USERPROFILE, ".cache", "winnow", "models");
  return resolve(".winnow-models");
}

/**
 * The model store in use: `dir` when given, else `$WINNOW_MODELS`, else {@link defaultModelsDir}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { modelsDir } from "./store.ts";
 * assert.equal(modelsDir("/data/models"), "/data/models");
 * ```
 */
export function modelsDir(dir?: string): string {
  return resolve(dir || envGet(MODELS_ENV) || defaultModelsDir());
}

/** Resolves a short name from {@link KNOWN_MODELS} to its hub id; other names pass through. */
export function resolveModelId(name: string): string {
  return KNOWN_MODELS[name]?.id ?? name;
}

/**
 * The folder of model `id` in the store: `<store>/<id>`. An absolute path, or one starting with
 * `./` or `../`, is taken as the folder itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { modelFolder } from "./store.ts";
 * assert.equal(modelFolder("Xenova/clip-vit-base-patch32", "/m"), "/m/Xenova/clip-vit-base-patch32");
 * assert.equal(modelFolder("clip-vit-base-patch32", "/m"), "/m/Xenova/clip-vit-base-patch32");
 * assert.equal(modelFolder("/elsewhere/clip", "/m"), "/elsewhere/clip");
 * ```
 */
export function modelFolder(id: string, store: string): string {
  if (isAbsolute(id) || id.startsWith("./") || id.startsWith("../")) return resolve(id);
  const hubId = resolveModelId(id);
  if (hubId.split("/").some((p) => p === "" || p === "." || p === "..")) {
    throw new ModelNotFoundError(id, store);
  }
  return join(store, hubId);
}

/** File name suffix of each dtype (as `@huggingface/transformers` names its ONNX files). */
export const DTYPE_SUFFIX: Readonly<Record<string, string>> = {
  fp32: "",
  fp16: "_fp16",
  q8: "_quantized",
  int8: "_int8",
  uint8: "_uint8",
  q4: "_q4",
  q4f16: "_q4f16",
  bnb4: "_bnb4",
};

/** Path of ONNX component `name` (`model`, `text_model`, `vision_model`) at `dtype` inside a model folder. */
export function onnxFile(folder: string, name: string, dtype = "fp32"): string {
  const suffix = DTYPE_SUFFIX[dtype];
  if (suffix === undefined) {
    throw new ModelFileError(
      folder,
      `unknown dtype "${dtype}"; known: ${Object.keys(DTYPE_SUFFIX).join(", ")}`,
    );
  }
  return join(folder, "onnx", `${name}${suffix}.onnx`);
}

async function size(path: string): Promise<number | undefined> {
  try {
    const s = await Deno.stat(path);
    return s.isFile ? s.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks that every one of `files` (paths inside the folder of `id`) is present and non-empty,
 * and that JSON files parse; throws {@link ModelNotFoundError} (the folder or the first missing
 * file) or {@link ModelFileError} (an empty or unparsable file), each naming the path.
 */
export async function checkModelFiles(id: string, folder: string, files: readonly string[]): Promise<void> {
  if ((await Deno.stat(folder).catch(() => null))?.isDirectory !== true) {
    throw new ModelNotFoundError(id, folder);
  }
  for (const f of files) {
    const path = isAbsolute(f) ? f : join(folder, f);
    const n = await size(path);
    if (n === undefined) throw new ModelNotFoundError(id, folder, path);
    if (n === 0) throw new ModelFileError(path, "the file is empty (an interrupted download?)");
    if (path.endsWith(".json")) {
      try {
        JSON.parse(await Deno.readTextFile(path));
      } catch (e) {
        throw new ModelFileError(path, `not valid JSON (${(e as Error).message})`);
      }
    }
  }
}

/**
 * Runs `load` (a transformers.js / onnxruntime load of `file`) and turns its failure into a
 * {@link ModelFileError} naming `file` — their own messages often do not.
 */
export async function loadingFile<T>(file: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (e instanceof ModelFileError || e instanceof ModelNotFoundError) throw e;
    const msg = ((e as Error).message ?? String(e)).split("\n")[0];
    throw new ModelFileError(file, `cannot be loaded as a model (corrupt or not ONNX?): ${msg}`);
  }
}

/** One model found in the store by {@link listModels}. */
export interface StoredModel {
  /** Hub id (`owner/name`), i.e. the folder relative to the store. */
  id: string;
  folder: string;
  /** Files inside, relative to the folder, with their sizes in bytes. */
  files: { path: string; bytes: number }[];
  /** Scorers that can use it, from the files present. */
  usableBy: string[];
}

async function walk(dir: string, depth: number, out: string[]): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory && depth > 0) await walk(p, depth - 1, out);
    else if (e.isFile) out.push(p);
  }
}

/**
 * Every model in the store: folders (one or two levels deep) holding a `config.json` or ONNX
 * files, with what each can be used for.
 *
 * @example
 * ```ts ignore
 * for (const m of await listModels(modelsDir())) console.log(m.id, m.usableBy);
 * ```
 */
export async function listModels(store: string): Promise<StoredModel[]> {
  const files: string[] = [];
  await walk(store, 4, files);
  const folders = new Map<string, string[]>();
  for (const f of files) {
    const rel = relative(store, f).split(/[\\/]/);
    // owner/name/… or name/…; a file in onnx/ belongs to the folder above it.
    const onnxAt = rel.indexOf("onnx");
    const depth = onnxAt > 0 ? onnxAt : rel.length - 1;
    if (depth < 1 || depth > 2) continue;
    const id = rel.slice(0, depth).join("/");
    folders.set(id, [...folders.get(id) ?? [], rel.slice(depth).join("/")]);
  }
  const out: StoredModel[] = [];
  for (const [id, rels] of [...folders].sort(([a], [b]) => a.localeCompare(b))) {
    const has = (p: string) => rels.includes(p);
    const onnx = rels.filter((r) => r.endsWith(".onnx"));
    if (!has("config.json") && !onnx.length) continue;
    const usableBy: string[] = [];
    const hasFiles = has("config.json") && has("preprocessor_config.json") && has("tokenizer.json");
    if (
      hasFiles && onnx.some((r) => r.startsWith("onnx/text_model")) &&
      onnx.some((r) => r.startsWith("onnx/vision_model"))
    ) {
      usableBy.push("clip_score");
    }
    if (hasFiles && onnx.some((r) => /^onnx\/model(_\w+)?\.onnx$/.test(r))) usableBy.push("pick_score");
    if (
      has("config.json") && has("preprocessor_config.json") &&
      onnx.some((r) => r.startsWith("onnx/vision_model"))
    ) {
      usableBy.push("aesthetic (image tower)");
    }
    if (!has("config.json") && onnx.length) usableBy.push("aesthetic (head)");
    const folder = join(store, id);
    const withSizes = await Promise.all(
      rels.sort().map(async (p) => ({ path: p, bytes: (await size(join(folder, p))) ?? 0 })),
    );
    out.push({ id, folder, files: withSizes, usableBy });
  }
  return out;
}

/** A failed `pull`; the message says what to do (it never contains the token). */
export class PullError extends WinnowError {}

/** Options of {@link pullModel}. */
export interface PullOptions {
  /** Model store to write into. */
  store: string;
  /** Hub endpoint; default `$HF_ENDPOINT` or {@link DEFAULT_ENDPOINT}. */
  endpoint?: string;
  /** ONNX variant to fetch (`fp32` default, `q8` = `*_quantized.onnx`, …). */
  dtype?: string;
  /** Fetch exactly these files instead of choosing from the repository listing. */
  files?: string[];
  /** Bearer token for gated repositories; default `$HF_TOKEN`. Never printed. */
  token?: string;
  /** Download files that are already present again. */
  force?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Per-request timeout in ms (default 60 000 for the listing; downloads have none). */
  timeoutMs?: number;
}

/** What {@link pullModel} did. */
export interface PullResult {
  id: string;
  folder: string;
  downloaded: string[];
  skipped: string[];
  bytes: number;
}

/**
 * Which files of a repository listing `pull` fetches for `dtype`: the JSON and text files at the
 * top (configs, tokenizer, vocab, merges) and `onnx/<component><suffix>.onnx` (+ its
 * `.onnx_data` external weights) for that dtype only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { selectPullFiles } from "./store.ts";
 * const listing = ["config.json", "README.md", "onnx/model.onnx", "onnx/model_quantized.onnx", "tokenizer.json", "pytorch_model.bin"];
 * assert.deepEqual(selectPullFiles(listing), ["config.json", "tokenizer.json", "onnx/model.onnx"]);
 * assert.deepEqual(selectPullFiles(listing, "q8"), ["config.json", "tokenizer.json", "onnx/model_quantized.onnx"]);
 * ```
 */
export function selectPullFiles(listing: readonly string[], dtype = "fp32"): string[] {
  const suffix = DTYPE_SUFFIX[dtype];
  if (suffix === undefined) {
    throw new PullError(`unknown dtype "${dtype}"; known: ${Object.keys(DTYPE_SUFFIX).join(", ")}`);
  }
  const others = Object.values(DTYPE_SUFFIX).filter((s) => s && s !== suffix);
  const top = listing.filter((f) => !f.includes("/") && /\.(json|txt)$/.test(f));
  const onnx = listing.filter((f) => {
    const m = /^onnx\/([\w.-]+?)\.onnx(_data(_\d+)?)?$/.exec(f);
    if (!m) return false;
    const base = m[1];
    if (suffix) return base.endsWith(suffix);
    return !others.some((s) => base.endsWith(s));
  });
  return [...top, ...onnx];
}

function endpointOf(o: PullOptions): string {
  return (o.endpoint || envGet("HF_ENDPOINT") || DEFAULT_ENDPOINT).replace(/\/+$/, "");
}

/**
 * Downloads model `name` (a hub id like `Xenova/clip-vit-base-patch32`, or a short name from
 * {@link KNOWN_MODELS}) into the store, in the hub layout. Only runs when the user asks
 * (`deno task models pull NAME`); scoring never calls it. Each file is streamed to a temporary name
 * and renamed when complete with the announced length (`writeAtomicStream`), so an interrupted
 * pull leaves no truncated model file behind.
 *
 * @example
 * ```ts ignore
 * await pullModel("clip-vit-base-patch32", { store: modelsDir(), log: console.log });
 * ```
 */
export async function pullModel(name: string, o: PullOptions): Promise<PullResult> {
  const id = resolveModelId(name);
  if (!/^[\w.-]+\/[\w.-]+$/.test(id) || id.includes("..")) {
    throw new PullError(
      `"${name}" is not a hub id (owner/name) or a known name (${Object.keys(KNOWN_MODELS).join(", ")})`,
    );
  }
  const endpoint = endpointOf(o);
  const token = o.token ?? envGet("HF_TOKEN");
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const log = o.log ?? (() => {});
  const clean = (s: string) => token ? s.replaceAll(token, "***") : s;
  const get = async (url: string, timeoutMs?: number): Promise<Response> => {
    let r: Response;
    try {
      r = await fetch(url, { headers, signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined });
    } catch (e) {
      throw new PullError(
        clean(
          `could not reach ${endpoint} (${(e as Error).message.split("\n")[0]}). ` +
            `"models pull" needs internet access to ${endpoint}; on an offline machine copy the folder ` +
            `${id}/ from a machine that has it into ${o.store}/${id}/ instead`,
        ),
      );
    }
    if (!r.ok) {
      await r.body?.cancel();
      const hint = r.status === 401 || r.status === 403
        ? " (a gated or private repository: set HF_TOKEN)"
        : r.status === 404
        ? " (no such repository or file)"
        : "";
      throw new PullError(clean(`${url}: HTTP ${r.status}${hint}`));
    }
    return r;
  };
  let files = o.files;
  if (!files?.length) {
    const r = await get(`${endpoint}/api/models/${id}`, o.timeoutMs ?? 60_000);
    const info = await r.json().catch(() => null) as { siblings?: { rfilename?: string }[] } | null;
    const listing = (info?.siblings ?? []).map((s) => s.rfilename).filter((s): s is string =>
      typeof s === "string"
    );
    if (!listing.length) throw new PullError(`${endpoint}/api/models/${id}: the listing names no files`);
    files = selectPullFiles(listing, o.dtype ?? "fp32");
    if (!files.some((f) => f.endsWith(".onnx"))) {
      throw new PullError(
        `${id} has no ONNX files for dtype ${o.dtype ?? "fp32"} under onnx/ (listing: ${
          listing.slice(0, 20).join(", ")
        }); ` +
          "export it first (docs/models.md)",
      );
    }
  }
  const folder = join(o.store, id);
  const result: PullResult = { id, folder, downloaded: [], skipped: [], bytes: 0 };
  for (const f of files) {
    if (f.split("/").some((p) => p === ".." || p === "") || isAbsolute(f)) {
      throw new PullError(`refusing file name "${f}"`);
    }
    const dest = join(folder, f);
    if (!o.force && ((await size(dest)) ?? 0) > 0) {
      result.skipped.push(f);
      log(`  ${f}: present, skipped`);
      continue;
    }
    const r = await get(`${endpoint}/${id}/resolve/main/${f}`);
    await Deno.mkdir(dirname(dest), { recursive: true });
    const expected = Number(r.headers.get("content-length"));
    let n: number;
    try {
      n = await writeAtomicStream(dest, r.body!, {
        expectedBytes: Number.isFinite(expected) && expected > 0 ? expected : undefined,
      });
    } catch (e) {
      if (!(e instanceof StreamLengthError)) throw e;
      throw new PullError(`${f}: received ${e.received} of ${e.expected} bytes; run pull again`);
    }
    result.downloaded.push(f);
    result.bytes += n;
    log(`  ${f}: ${(n / 1e6).toFixed(1)} MB`);
  }
  return result;
}
