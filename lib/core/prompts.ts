/**
 * The prompt each image was generated from, for scorers that compare an image with its prompt
 * (`clip_score`, `pick_score`, the `prompt_mismatch` probe). Shared settings of those heuristics:
 *
 * - `prompt`: one prompt for every image;
 * - `prompts`: a file mapping image → prompt, one of
 *   - a generation manifest or any JSONL with a `file` (or `path`) and a `prompt` field per line
 *     (`deno task generate` writes `manifest.jsonl` like this),
 *   - a CSV with `file` (or `path`) and `prompt` columns,
 *   - a JSON object `{ "<file>": "<prompt>", … }`.
 *   Relative file names are resolved against the prompts file's folder (a manifest's `file` is
 *   relative to its run folder); an image is matched by its resolved path, else by its file name
 *   when that is unique in the file. A file entry wins over `prompt`, which then serves as the
 *   fallback for images the file does not list.
 *
 * An image without a prompt, or with an empty one, is an error naming the image and where the
 * prompt was looked for.
 *
 * @module
 */
import { basename, dirname, resolve } from "node:path";
import { parseCsv } from "./csv.ts";
import type { SettingsSpec } from "./settings.ts";
import { WinnowError } from "./errors.ts";

/** No usable prompt for an image, or an unreadable prompts file. */
export class PromptError extends WinnowError {}

/** Prompts by absolute image path, and by file name when unique. */
export interface PromptTable {
  file: string;
  byPath: Map<string, string>;
  byName: Map<string, string | null>;
}

function table(file: string, entries: [string, unknown][]): PromptTable {
  const base = dirname(resolve(file));
  const byPath = new Map<string, string>();
  const byName = new Map<string, string | null>();
  for (const [f, p] of entries) {
    if (typeof f !== "string" || !f || typeof p !== "string") continue;
    byPath.set(resolve(base, f), p);
    const n = basename(f);
    byName.set(n, byName.has(n) && byName.get(n) !== p ? null : p);
  }
  return { file, byPath, byName };
}

/**
 * Parses a prompts file's text (JSONL, CSV or JSON object; see the module doc).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePrompts, lookupPrompt } from "./prompts.ts";
 * const t = parsePrompts("/run/manifest.jsonl", '{"file":"00000_0.png","prompt":"a red fox"}\n');
 * assert.equal(lookupPrompt(t, "/run/00000_0.png"), "a red fox");
 * ```
 */
export function parsePrompts(file: string, text: string): PromptTable {
  const name = file.toLowerCase();
  if (name.endsWith(".csv")) {
    const [head, ...rows] = parseCsv(text, file);
    const cols = head?.fields.map((f) => f.trim()) ?? [];
    const fi = cols.indexOf("file") >= 0 ? cols.indexOf("file") : cols.indexOf("path");
    const pi = cols.indexOf("prompt");
    if (fi < 0 || pi < 0) throw new PromptError(`${file}: needs a "file" (or "path") and a "prompt" column`);
    return table(file, rows.map((r) => [r.fields[fi], r.fields[pi]]));
  }
  const trimmed = text.trim();
  if (name.endsWith(".json") && trimmed.startsWith("{")) {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(trimmed);
    } catch (e) {
      throw new PromptError(`${file}: not valid JSON (${(e as Error).message})`);
    }
    return table(file, Object.entries(obj));
  }
  const entries: [string, unknown][] = [];
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch {
      if (i === lines.length - 1 || lines.slice(i + 1).every((l) => !l.trim())) continue; // a torn last line
      throw new PromptError(`${file}:${i + 1}: not a JSON object`);
    }
    entries.push([(row.file ?? row.path) as string, row.prompt]);
  }
  return table(file, entries);
}

/** The prompt of `imagePath` in `t`, or undefined. */
export function lookupPrompt(t: PromptTable, imagePath: string): string | undefined {
  return t.byPath.get(resolve(imagePath)) ?? t.byName.get(basename(imagePath)) ?? undefined;
}

const loaded = new Map<string, Promise<PromptTable>>();

/** Reads a prompts file once per process. */
export function loadPrompts(file: string): Promise<PromptTable> {
  const key = resolve(file);
  let p = loaded.get(key);
  if (!p) {
    p = Deno.readTextFile(file).then((text) => parsePrompts(file, text), (e) => {
      throw new PromptError(`prompts file ${file}: ${(e as Error).message}`);
    });
    loaded.set(key, p);
    p.catch(() => loaded.delete(key));
  }
  return p;
}

/** The `prompt` / `prompts` settings of a heuristic. */
export interface PromptSettings {
  prompt?: string;
  prompts?: string;
}

/**
 * The `prompt` / `prompts` settings of every prompt-aware heuristic, for `checkSettings`
 * (`core/settings.ts`): spread them into the heuristic's own spec.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PROMPT_SETTINGS } from "./prompts.ts";
 * import { checkSettings } from "./settings.ts";
 * assert.deepEqual(checkSettings("clip_score", { prompt: "a cat" }, PROMPT_SETTINGS), { prompt: "a cat" });
 * assert.throws(() => checkSettings("clip_score", { prompts: 3 }, PROMPT_SETTINGS), /prompts must be a file/);
 * ```
 */
export const PROMPT_SETTINGS = {
  prompt: { kind: "string", allowEmpty: true },
  prompts: { kind: "string", what: "a file (JSONL manifest, CSV or JSON)" },
} as const satisfies SettingsSpec;

/**
 * The prompt of the image at `imagePath` under settings `s` (the file entry first, then
 * `prompt`). Throws {@link PromptError} naming the image when there is none or it is empty.
 */
export async function promptFor(name: string, s: PromptSettings, imagePath?: string): Promise<string> {
  let p: string | undefined;
  if (s.prompts && imagePath) p = lookupPrompt(await loadPrompts(s.prompts), imagePath);
  p ??= s.prompt;
  const what = imagePath ?? "the image";
  if (p === undefined) {
    throw new PromptError(
      s.prompts
        ? `${name}: no prompt for ${what} in ${s.prompts}${
          imagePath ? "" : " (the image has no path)"
        } and no "prompt" setting`
        : `${name}: no prompt: set the "prompt" setting (one prompt for all images) or "prompts" (a file mapping image → prompt)`,
    );
  }
  if (!p.trim()) throw new PromptError(`${name}: the prompt for ${what} is empty`);
  return p;
}
