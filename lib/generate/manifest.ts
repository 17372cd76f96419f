/**
 * The run folder of a generation run: the manifest (`manifest.jsonl`, one line per image, appended as
 * requests finish), reading it back for a resume, the manifest line of an image, ranking lines, the
 * run settings (`run.json`) and the summary (`summary.json`). The pipeline (`pipeline.ts`) drives
 * a run; this module owns its files.
 *
 * @module
 */
import { join } from "node:path";
import type { Value } from "../heuristics/types.ts";
import { HEURISTICS, outputsOf } from "../heuristics/registry.ts";
import type { Backend, GeneratedImage, GenerationRequest } from "../backends/types.ts";
import { openAppendFile, writeAtomic } from "../core/atomic.ts";
import { WinnowError, writeFailure } from "../core/errors.ts";
import { maskSecrets } from "../core/secrets.ts";

/** Manifest file name inside the run folder. */
export const MANIFEST = "manifest.jsonl";

/** Manifest columns, in order. The first nine are the CONTRACTS columns. */
export const MANIFEST_COLUMNS = [
  "file",
  "prompt",
  "negative_prompt",
  "seed",
  "backend",
  "params",
  "scores",
  "kept",
  "reasons",
  "index",
  "image",
  "of",
  "endpoint",
  "width",
  "height",
  "format",
  "bytes",
  "error",
  "tries",
  "timings",
  "created_at",
  "text",
  "prompt_source",
] as const;

/** One manifest line. */
export interface ManifestRow {
  file: string;
  prompt: string;
  negative_prompt: string;
  seed: number | null;
  backend: string;
  params: Record<string, unknown>;
  scores: Record<string, Value>;
  kept: boolean;
  reasons: string[];
  /** Request number. */
  index: number;
  /** Image number within the request. */
  image: number;
  /** Images the request returned. */
  of: number;
  endpoint: string;
  width: number | null;
  height: number | null;
  format: string | null;
  bytes: number;
  /** Scoring error (the file is kept on disk), or null. */
  error: string | null;
  /** Tries the request needed (1 = no retry). */
  tries: number;
  /** Milliseconds: `request` (incl. retries), `write`, `score`. */
  timings: Record<string, number>;
  created_at: string;
  text: string | null;
  prompt_source: string | null;
}

/** A manifest that cannot be read back (a line that is not JSON); the message names file and line. */
export class ManifestError extends WinnowError {}

/** Image files of a run: `<request, 5 digits>_<image>.<ext>`. */
export const FILE_RE = /^\d{5,}_\d+\.[a-z0-9]+$/;
/** File extensions by decoded format where they differ from the format name. */
export const EXT: Record<string, string> = { jpeg: "jpg", heif: "avif", svg: "svg" };

/** What {@link readManifest} found. */
export interface Resumed {
  rows: ManifestRow[];
  dropped: number;
}

/**
 * Reads the manifest of run folder `out` back, dropping a torn last line and the lines of
 * unfinished requests (rewriting the file without them); no manifest is an empty run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readManifest } from "./manifest.ts";
 * const out = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${out}/manifest.jsonl`, '{"index":0,"of":1,"file":"00000_0.png"}\n{"index":1,"of":2');
 * const r = await readManifest(out);
 * assert.deepEqual([r.rows.length, r.dropped], [1, 1]);
 * ```
 */
export async function readManifest(out: string): Promise<Resumed> {
  const path = join(out, MANIFEST);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { rows: [], dropped: 0 };
    throw e;
  }
  const lines = text.split("\n");
  const torn = !text.endsWith("\n") && text.length > 0 ? 1 : 0;
  const complete = lines.slice(0, lines.length - 1).filter((l) => l.trim());
  const rows = complete.map((l, i) => {
    try {
      return JSON.parse(l) as ManifestRow;
    } catch {
      throw new ManifestError(`${path}:${i + 1}: not a JSON line; fix or remove that line to resume`);
    }
  });
  const byIndex = new Map<number, ManifestRow[]>();
  for (const r of rows) byIndex.set(r.index, [...byIndex.get(r.index) ?? [], r]);
  const good = rows.filter((r) => byIndex.get(r.index)!.length === r.of);
  const dropped = rows.length - good.length + torn;
  if (dropped) {
    await writeAtomic(path, good.map((r) => JSON.stringify(r) + "\n").join("")).catch((e) => {
      throw writeFailure(path, e, "drop its unfinished lines", "The file is as it was before.");
    });
  }
  return { rows: good, dropped };
}

/** Sorts rows best first: kept, then fewest reasons, then `rankBy` in its direction, then order. */
export function rankRows(rows: readonly ManifestRow[], rankBy = "laplacian_var"): ManifestRow[] {
  const spec = outputsOf(HEURISTICS).find((o) => o.name === rankBy);
  const sign = spec?.direction === "lower_is_better" ? -1 : 1;
  const v = (r: ManifestRow) => {
    const x = r.scores?.[rankBy];
    return typeof x === "number" && Number.isFinite(x) ? sign * x : -Infinity;
  };
  return [...rows].filter((r) => !r.error).sort((a, b) =>
    Number(b.kept) - Number(a.kept) || a.reasons.length - b.reasons.length || v(b) - v(a) ||
    a.index - b.index || a.image - b.image
  );
}

/**
 * The request's generation settings as manifest `params` (snake_case, defaults filled in).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestedParams } from "./manifest.ts";
 * assert.deepEqual(requestedParams({ prompt: "a fox", steps: 20 }), { steps: 20, batch_size: 1, requested_seed: -1 });
 * ```
 */
export function requestedParams(r: GenerationRequest): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  if (r.width !== undefined) p.width = r.width;
  if (r.height !== undefined) p.height = r.height;
  if (r.steps !== undefined) p.steps = r.steps;
  if (r.sampler !== undefined) p.sampler = r.sampler;
  if (r.cfgScale !== undefined) p.cfg_scale = r.cfgScale;
  p.batch_size = r.batchSize ?? 1;
  p.requested_seed = r.seed ?? -1;
  if (r.model) p.model = r.model;
  if (r.loras?.length) p.loras = r.loras;
  if (r.init) {
    p.init_image_bytes = r.init.image.length;
    if (r.init.mask) p.mask_bytes = r.init.mask.length;
    p.denoising_strength = r.init.denoisingStrength ?? 0.75;
    if (r.init.mask) {
      p.mask_blur = r.init.maskBlur ?? 4;
      p.inpaint_area = r.init.inpaintArea ?? "whole";
    }
  }
  if (r.controls?.length) {
    p.controls = r.controls.map((c) => ({
      model: c.model,
      module: c.module ?? "none",
      weight: c.weight ?? 1,
    }));
  }
  return p;
}

/**
 * Deletes what an interrupted run left in `out`: temporary files and image files no manifest line
 * (`keep`) refers to.
 */
export async function cleanRunFolder(out: string, keep: ReadonlySet<string>): Promise<void> {
  for await (const e of Deno.readDir(out)) {
    if (!e.isFile) continue;
    const stale = /\.tmp-\d+$/.test(e.name) || (FILE_RE.test(e.name) && !keep.has(e.name));
    if (stale) await Deno.remove(join(out, e.name)).catch(() => {});
  }
}

/**
 * Appends lines to the manifest of `out`, one request's lines in one write, in call order (so a
 * resumed run sees a request whole or not at all). Secrets are masked. A write that fails (a full
 * disk) is cut back off the file and rejects with a `WriteError` naming it (`openAppendFile`).
 * `close()` waits for pending writes.
 */
export async function openManifest(out: string): Promise<{
  append(rows: readonly ManifestRow[]): Promise<void>;
  close(): Promise<void>;
}> {
  const path = join(out, MANIFEST);
  const file = await openAppendFile(
    path,
    (e, step) => writeFailure(path, e, step === "open" ? "open the manifest" : "append to the manifest"),
  );
  return {
    append: (rows) => file.append(rows.map((r) => maskSecrets(JSON.stringify(r)) + "\n").join("")),
    close: () => file.close(),
  };
}

/** Writes `summary.json` of run folder `out` (secrets masked). */
export async function writeSummary(out: string, summary: Record<string, unknown>): Promise<void> {
  await writeAtomic(join(out, "summary.json"), maskSecrets(JSON.stringify(summary, null, 2)) + "\n");
}

/**
 * One manifest line for image `img` of request `req`, in the documented column order: what was
 * asked (`params`: the request's settings, then what the server reports it used), where it went,
 * its scores and verdict.
 */
export function manifestRow(
  text: { text: string; source: string } | undefined,
  req: GenerationRequest,
  backend: Backend,
  img: GeneratedImage,
  r: Pick<
    ManifestRow,
    | "file"
    | "index"
    | "image"
    | "of"
    | "width"
    | "height"
    | "format"
    | "scores"
    | "kept"
    | "reasons"
    | "error"
    | "tries"
    | "timings"
  >,
): ManifestRow {
  const row: ManifestRow = {
    file: r.file,
    prompt: req.prompt,
    negative_prompt: req.negativePrompt ?? "",
    seed: img.seed,
    backend: backend.name,
    params: { ...requestedParams(req), ...img.params },
    scores: r.scores,
    kept: r.kept,
    reasons: r.reasons,
    index: r.index,
    image: r.image,
    of: r.of,
    endpoint: backend.endpoint,
    width: r.width,
    height: r.height,
    format: r.format,
    bytes: img.bytes.length,
    error: r.error,
    tries: r.tries,
    timings: r.timings,
    created_at: new Date().toISOString(),
    text: text?.text ?? null,
    prompt_source: text?.source ?? null,
  };
  // Keep the documented column order.
  return Object.fromEntries(MANIFEST_COLUMNS.map((c) => [c, row[c]])) as unknown as ManifestRow;
}
