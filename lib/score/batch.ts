/**
 * Scoring many files: a pool of workers (one per core by default) decodes and scores files in
 * parallel; rows are written to the result table as they finish, thresholds are applied, and a
 * bad file becomes a row with its error instead of stopping the batch.
 *
 * @module
 */
import { basename, extname, join } from "node:path";
import type { Box, Heuristic, Value } from "../heuristics/types.ts";
import { outputsOf, resolveHeuristics } from "../heuristics/registry.ts";
import { applyRules, type ThresholdRule } from "./rules.ts";
import type { Column, ResultTable, Row } from "./results.ts";
import type { DecodeOptions } from "../core/image.ts";
import { everyNth } from "../core/gc.ts";
import { type Fault, type FileOptions, type Isolation, ScorePool, type WorkerReply } from "./pool.ts";

/** Columns every score table starts with. */
export const BASE_COLUMNS: readonly Column[] = [
  { name: "path", type: "string" },
  { name: "width", type: "number" },
  { name: "height", type: "number" },
  { name: "format", type: "string" },
  { name: "error", type: "string" },
  { name: "error_kind", type: "string" },
];

/** Columns added when thresholds are applied. */
export const VERDICT_COLUMNS: readonly Column[] = [
  { name: "kept", type: "boolean" },
  { name: "reject_reasons", type: "string" },
];

/**
 * The columns of a score table for these heuristics, in order.
 *
 * @example
 * ```ts
 * import { scoreColumns } from "./batch.ts";
 * import { resolveHeuristics } from "../heuristics/registry.ts";
 * console.log(scoreColumns(resolveHeuristics(["sharpness"]), false).map((c) => c.name).slice(-2));
 * // [ "laplacian_var", "tenengrad" ]
 * ```
 */
export function scoreColumns(heuristics: readonly Heuristic[], withVerdict: boolean): Column[] {
  return [
    ...BASE_COLUMNS,
    ...outputsOf(heuristics).map((o): Column => ({ name: o.name, type: o.type ?? "number" })),
    ...heuristics.flatMap((h) => h.batch?.outputs ?? []).map((o): Column => ({
      name: o.name,
      type: o.type ?? "number",
    })),
    ...(withVerdict ? VERDICT_COLUMNS : []),
  ];
}

/**
 * Rows between full garbage collections of the scoring process. With process workers every reply
 * arrives in pipe reads, buffers outside V8's heap that it frees only in a full collection (see
 * `lib/core/gc.ts`): the score process's RSS grew by ≈ 28 KB per row over its first thousand rows.
 * `runScoreJob` collects as often while it reads the output back. Every 128 rather than 256: the
 * score process's peak at 10,000 against 1,000 small images was 1.06–1.10× with 256, 1.00–1.04×
 * with 128 (bench --parts memory and bench/memory_probe.ts runs, 2026-12-04).
 */
export const ROWS_BETWEEN_COLLECTIONS = 128;

/** Options of {@link scoreFiles}. */
export interface BatchOptions {
  /** Heuristic names; default the ones without a model (`DEFAULT_HEURISTICS`). */
  heuristics?: readonly string[];
  /** Rules to apply; adds `kept` and `reject_reasons`. */
  rules?: readonly ThresholdRule[];
  /** Parallel workers; default the number of cores. Ignored when `pool` is given. */
  jobs?: number;
  /** A running pool to use (its heuristics and settings win); default a new pool, closed at the end. */
  pool?: ScorePool;
  /** Settings per heuristic name, passed to the workers (see each heuristic's doc). */
  settings?: Record<string, Record<string, unknown>>;
  /**
   * Per-item tables to write, by table name (e.g. `{ faces: table }`); each row gets `path` first.
   * Rows for a path the table already holds are not written again (resume).
   */
  details?: Record<string, ResultTable>;
  decode?: DecodeOptions;
  /** A box checked in every image (skin in an inpainted region). */
  region?: Box;
  /** One mask file for every image, or a folder with a mask per image named like it. */
  masks?: string;
  /** Called after every finished file. */
  onProgress?: (state: { done: number; total: number; errors: number }) => void;
  /**
   * Makes a local copy of a file the scorer cannot open itself (an `s3://` object) and releases
   * it after scoring; error messages then name the original path. Default: paths are local.
   */
  localize?: (path: string) => Promise<{ path: string; release(): Promise<void> }>;
  /** Seconds one file may take before it gets a `timeout` error row (see `PoolOptions`). */
  timeLimitSeconds?: number;
  /** Testing hook: files on which a worker fails (see `PoolOptions.faults`). */
  faults?: Readonly<Record<string, Fault>>;
  /** Thread or process workers (see `PoolOptions.isolation`); default threads. */
  isolation?: Isolation;
  /** V8 heap limit of each process worker, MB (see `PoolOptions.workerHeapMb`). */
  workerHeapMb?: number;
  /** Images a worker gathers before running model heuristics on them together (see `PoolOptions.batch`). */
  batch?: number;
  /** Called with every finished row (after it is written). */
  onRow?: (row: Row) => void;
}

/** What a batch did. */
export interface BatchSummary {
  /** Files scored in this run. */
  scored: number;
  /** Files skipped because the output already had them. */
  resumed: number;
  /** Rows with an error, by error kind. */
  errors: Record<string, number>;
  /** With rules: images kept, and rejections by error type. */
  kept?: number;
  reasons?: Record<string, number>;
  seconds: number;
}

const MASK_ENDINGS = [".png", ".webp", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".bmp"];

async function maskResolver(masks: string | undefined): Promise<(path: string) => string | undefined> {
  if (!masks) return () => undefined;
  const st = await Deno.stat(masks).catch(() => null);
  if (!st) throw new Error(`--masks ${masks}: no such file or folder`);
  if (st.isFile) return () => masks;
  const byStem = new Map<string, string>();
  for await (const e of Deno.readDir(masks)) {
    if (e.isFile && MASK_ENDINGS.includes(extname(e.name).toLowerCase())) {
      byStem.set(basename(e.name, extname(e.name)), join(masks, e.name));
    }
  }
  return (path) => byStem.get(basename(path, extname(path)));
}

/** Scores one file through `pool`, fetching it first with `localize` when given. */
async function scoreOne(
  pool: ScorePool,
  path: string,
  localize: BatchOptions["localize"],
  extra: FileOptions,
): Promise<WorkerReply> {
  if (!localize) return await pool.score(path, extra);
  let local;
  try {
    local = await localize(path);
  } catch (e) {
    return { id: -1, error: `${path}: could not fetch: ${(e as Error).message}`, kind: "fetch_failed" };
  }
  try {
    const reply = await pool.score(local.path, extra);
    return "error" in reply ? { ...reply, error: reply.error.replaceAll(local.path, path) } : reply;
  } finally {
    await local.release();
  }
}

/**
 * Scores `files` into `table` (skipping paths it already holds), using a worker pool.
 *
 * @example
 * ```ts ignore
 * import { openResults } from "./results.ts";
 * import { scoreColumns, scoreFiles } from "./batch.ts";
 * import { resolveHeuristics } from "../heuristics/registry.ts";
 * const table = await openResults("scores.csv", scoreColumns(resolveHeuristics(), false));
 * const summary = await scoreFiles(["/data/a.png", "/data/b.jpg"], table);
 * await table.close();
 * ```
 */
export async function scoreFiles(
  files: readonly string[],
  table: ResultTable,
  options: BatchOptions = {},
): Promise<BatchSummary> {
  const t0 = performance.now();
  const heuristics = resolveHeuristics(options.heuristics).map((h) => h.name);
  const names = outputsOf(resolveHeuristics(heuristics)).map((o) => o.name);
  const maskFor = await maskResolver(options.masks);
  const todo = files.filter((f) => !table.done.has(f));
  const summary: BatchSummary = {
    scored: 0,
    resumed: files.length - todo.length,
    errors: {},
    ...(options.rules ? { kept: 0, reasons: {} } : {}),
    seconds: 0,
  };
  let finished = 0, errorCount = 0;
  const collectNow = everyNth(ROWS_BETWEEN_COLLECTIONS);
  let writing = Promise.resolve();
  const toRow = (path: string, reply: WorkerReply): Row => {
    const row: Row = { path };
    if ("error" in reply) {
      row.error = reply.error;
      row.error_kind = reply.kind;
      summary.errors[reply.kind] = (summary.errors[reply.kind] ?? 0) + 1;
      errorCount++;
    } else {
      Object.assign(row, { width: reply.width, height: reply.height, format: reply.format });
      for (const n of names) row[n] = reply.values[n] ?? null;
    }
    if (options.rules) {
      const v = applyRules(row as Record<string, Value>, options.rules);
      row.kept = v.kept;
      row.reject_reasons = v.reasons.join(";") || null;
      if (v.kept) summary.kept!++;
      for (const r of v.reasons) summary.reasons![r] = (summary.reasons![r] ?? 0) + 1;
    }
    return row;
  };
  const pool = options.pool ??
    (todo.length
      ? new ScorePool({
        jobs: options.jobs,
        heuristics,
        decode: options.decode,
        settings: options.settings,
        timeLimitSeconds: options.timeLimitSeconds,
        faults: options.faults,
        isolation: options.isolation,
        workerHeapMb: options.workerHeapMb,
        batch: options.batch,
      })
      : undefined);
  try {
    // A bounded window of files in flight (enough to keep every worker busy), not one promise per
    // file: memory stays flat however many files the folder holds.
    const window = pool ? Math.max(1, pool.capacity * 2) : 0;
    let next = 0;
    const lane = async () => {
      while (next < todo.length) {
        const path = todo[next++];
        const reply = await scoreOne(pool!, path, options.localize, {
          region: options.region,
          maskPath: maskFor(path),
        });
        const row = toRow(path, reply);
        // Rows are appended one at a time, in the order they finish.
        writing = writing.then(async () => {
          // Detail rows first: an image row on disk means its details are there too.
          if ("details" in reply) {
            for (const [name, rows] of Object.entries(reply.details)) {
              const t = options.details?.[name];
              if (!t || t.done.has(path) || rows.length === 0) continue;
              // One image's rows in one append: a full disk leaves them all or none (a resumed run
              // skips an image whose rows are there, so a part of them would stay a part).
              const withPath = rows.map((r) => ({ path, ...r }));
              if (t.writeRows) await t.writeRows(withPath);
              else for (const r of withPath) await t.write(r);
            }
          }
          await table.write(row);
          collectNow();
          finished++;
          summary.scored++;
          options.onRow?.(row);
          options.onProgress?.({ done: finished, total: todo.length, errors: errorCount });
        });
        await writing;
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, todo.length) }, lane));
  } finally {
    if (!options.pool) await pool?.close();
  }
  await writing;
  summary.seconds = (performance.now() - t0) / 1000;
  return summary;
}
