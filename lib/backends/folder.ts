/**
 * Folder backend: serves images that already exist, in name order or best prompt match first.
 * The offline default of `generate`, and the way to re-run the selection on earlier generations.
 *
 * Request `index` (the pipeline's request number) picks the images: request `i` with batch size `b`
 * gets the readable images at positions `i*b … i*b+b-1` of the ordering, so a resumed run serves
 * the same images to the same request numbers. Files that do not decode (through the image core's
 * limits) are skipped and listed in {@link FolderBackend.skipped}.
 *
 * @module
 */
import { basename, relative, resolve } from "node:path";
import { listImages } from "../core/files.ts";
import { decodeBytes, readImageFile } from "../core/image.ts";
import {
  type Backend,
  BackendError,
  type GenerateContext,
  type GeneratedImage,
  type GenerationRequest,
} from "./types.ts";

/** Options of {@link FolderBackend}. */
export interface FolderOptions {
  /** Folder of images (searched recursively). */
  dir: string;
  /** `order` (default): by path; `prompt`: files whose names share most words with the prompt first. */
  match?: "order" | "prompt";
  /** Start again from the first image when the folder runs out (default: a clear error). */
  cycle?: boolean;
}

function words(s: string): Set<string> {
  return new Set(s.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length >= 3));
}

/**
 * Ranks files by how many prompt words their relative paths contain (ties: by path).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rankByPrompt } from "./folder.ts";
 * assert.deepEqual(rankByPrompt(["/d/cat.png", "/d/red_fox.png"], "/d", "a red fox in snow"), ["/d/red_fox.png", "/d/cat.png"]);
 * ```
 */
export function rankByPrompt(files: readonly string[], dir: string, prompt: string): string[] {
  const want = words(prompt);
  const score = (f: string) => [...words(relative(dir, f))].filter((w) => want.has(w)).length;
  return files.map((f) => ({ f, s: score(f) })).sort((a, b) =>
    b.s - a.s || (a.f < b.f ? -1 : a.f > b.f ? 1 : 0)
  )
    .map((x) => x.f);
}

/**
 * Serves images from a folder.
 *
 * @example
 * ```ts ignore
 * import { FolderBackend } from "./folder.ts";
 * const b = new FolderBackend({ dir: "out/samples" });
 * const [img] = await b.generate({ prompt: "a photo" }, { index: 0 });
 * console.log(img.params.source);
 * ```
 */
export class FolderBackend implements Backend {
  readonly name = "folder";
  readonly endpoint: string;
  /** Files that were not served because they do not decode, with the reason. */
  readonly skipped: { file: string; error: string }[] = [];
  #match: "order" | "prompt";
  #cycle: boolean;
  #files: string[] | null = null;
  #orders = new Map<string, string[]>();
  #readable = new Map<string, string[]>();
  #checked = new Map<string, boolean>();
  #next = 0;

  constructor(options: FolderOptions) {
    this.endpoint = resolve(options.dir);
    this.#match = options.match ?? "order";
    this.#cycle = options.cycle ?? false;
  }

  async #list(): Promise<string[]> {
    if (!this.#files) {
      try {
        this.#files = (await listImages([this.endpoint])).files;
      } catch (e) {
        throw new BackendError(`folder ${this.endpoint}: ${(e as Error).message}`, "config");
      }
      if (this.#files.length === 0) {
        throw new BackendError(`folder ${this.endpoint}: no images in it`, "config");
      }
    }
    return this.#files;
  }

  async #isReadable(file: string): Promise<boolean> {
    const known = this.#checked.get(file);
    if (known !== undefined) return known;
    let ok = true;
    try {
      await decodeBytes(await readImageFile(file), { name: basename(file) });
    } catch (e) {
      ok = false;
      this.skipped.push({ file, error: (e as Error).message });
    }
    this.#checked.set(file, ok);
    return ok;
  }

  /** The `pos`-th readable file of the ordering for `prompt`, or null past the end. */
  async #at(prompt: string, pos: number): Promise<string | null> {
    const files = await this.#list();
    const key = this.#match === "prompt" ? prompt : "";
    let order = this.#orders.get(key);
    if (!order) {
      order = this.#match === "prompt" ? rankByPrompt(files, this.endpoint, prompt) : [...files];
      this.#orders.set(key, order);
      this.#readable.set(key, []);
    }
    const readable = this.#readable.get(key)!;
    let scanned = readable.length ? order.indexOf(readable[readable.length - 1]) + 1 : 0;
    while (readable.length <= pos && scanned < order.length) {
      if (await this.#isReadable(order[scanned])) readable.push(order[scanned]);
      scanned++;
    }
    if (pos < readable.length) return readable[pos];
    if (this.#cycle && readable.length) return readable[pos % readable.length];
    return null;
  }

  async generate(req: GenerationRequest, ctx: GenerateContext = {}): Promise<GeneratedImage[]> {
    const batch = req.batchSize ?? 1;
    const index = ctx.index ?? this.#next;
    this.#next = index + 1;
    const out: GeneratedImage[] = [];
    for (let k = 0; k < batch; k++) {
      const pos = index * batch + k;
      const file = await this.#at(req.prompt, pos);
      if (!file) {
        if (out.length) break;
        const n = this.#readable.get(this.#match === "prompt" ? req.prompt : "")?.length ?? 0;
        throw new BackendError(
          `folder ${this.endpoint}: has only ${n} readable image${n === 1 ? "" : "s"}` +
            (this.skipped.length ? ` (${this.skipped.length} skipped: do not decode)` : "") +
            `; image ${pos + 1} was asked for (use fewer images, or cycle)`,
          "config",
        );
      }
      out.push({
        bytes: await Deno.readFile(file),
        seed: null,
        params: { source: relative(this.endpoint, file), position: pos, match: this.#match },
      });
    }
    return out;
  }
}
