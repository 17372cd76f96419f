/**
 * The score job end to end, as `deno task score` and the demo run it: find images, open (or
 * resume) the result file, score in parallel with progress, and summarise the whole table.
 *
 * @module
 */
import { listImages } from "../core/files.ts";
import { openResults, readResults, streamResults, writeResults } from "./results.ts";
import {
  type BatchOptions,
  type BatchSummary,
  ROWS_BETWEEN_COLLECTIONS,
  scoreColumns,
  scoreFiles,
} from "./batch.ts";
import { everyNth } from "../core/gc.ts";
import { outputsOf, resolveHeuristics } from "../heuristics/registry.ts";
import { Progress } from "../core/progress.ts";
import { summarizeRows, SummaryAccumulator } from "./summary.ts";
import { csvLine } from "../core/csv.ts";
import { type DuplicateGroupEntry, duplicateRoots } from "../heuristics/phash.ts";
import type { Column, ResultTable, Row } from "./results.ts";
import type { DetailTableSpec, Value } from "../heuristics/types.ts";
import { writeAtomic } from "../core/atomic.ts";
import { writeFailure } from "../core/errors.ts";

/** Columns of a per-item table: `path`, then the table's declared columns. */
export function detailColumns(spec: DetailTableSpec): Column[] {
  return [
    { name: "path", type: "string" },
    ...spec.columns.map((c): Column => ({ name: c.name, type: c.type ?? "number" })),
  ];
}

/** Options of {@link runScoreJob}. */
export interface ScoreJobOptions extends Omit<BatchOptions, "onProgress" | "details"> {
  /** Write near-duplicate groups (from the `phash` column) to this CSV file. */
  duplicatesOut?: string;
  /** Largest Hamming distance between hashes of near-duplicates. Default 10 (of 64 bits). */
  duplicateDistance?: number;
  /** Files for per-item tables by table name, e.g. `{ faces: "faces.csv" }` (see `detailColumns`). */
  details?: Record<string, string>;
  /** Start the output afresh instead of resuming it. */
  restart?: boolean;
  /** No progress line. */
  quiet?: boolean;
  /**
   * Return every row of the output in {@link ScoreJobResult.rows} (default true). With `false` the
   * summary and the near-duplicate groups are computed while reading the output back row by row,
   * so memory stays flat in the number of images (the score CLI runs this way).
   */
  keepRows?: boolean;
  /** The files to score, already listed (e.g. one shard's, see `shard.ts`); `inputs` is then ignored. */
  files?: readonly string[];
}

/** What {@link runScoreJob} did. */
export interface ScoreJobResult extends BatchSummary {
  /** Images found in the inputs. */
  found: number;
  /** Files in folders skipped for not being images. */
  skippedNonImages: string[];
  /** Every row of the output file after the run (earlier runs' too); empty with `keepRows: false`. */
  rows: Row[];
  /** Text summary of all rows. */
  summary: string;
  /** Near-duplicate groups of two or more images (when `phash` ran), largest first. */
  duplicateGroups: DuplicateGroupEntry[][];
}

/**
 * Scores files and folders into `out` (.csv, .jsonl or .parquet).
 *
 * @example
 * ```ts ignore
 * import { runScoreJob } from "./job.ts";
 * const r = await runScoreJob(["images/"], "scores.csv", { heuristics: ["sharpness"] });
 * console.log(r.summary);
 * ```
 */
export async function runScoreJob(
  inputs: readonly string[],
  out: string,
  options: ScoreJobOptions = {},
): Promise<ScoreJobResult> {
  const heuristics = resolveHeuristics(options.heuristics);
  const columns = scoreColumns(heuristics, options.rules !== undefined);
  const { files, skipped } = options.files
    ? { files: [...options.files], skipped: [] as string[] }
    : await listImages(inputs);
  const table = await openResults(out, columns, { resume: !options.restart });
  const details: Record<string, ResultTable> = {};
  for (const [name, file] of Object.entries(options.details ?? {})) {
    const spec = heuristics.flatMap((h) => h.details ?? []).find((d) => d.name === name);
    if (!spec) {
      throw new Error(
        `no heuristic among ${heuristics.map((h) => h.name).join(", ")} writes a "${name}" table`,
      );
    }
    details[name] = await openResults(file, detailColumns(spec), { resume: !options.restart });
  }
  const progress = new Progress(files.filter((f) => !table.done.has(f)).length, { quiet: options.quiet });
  let batch: BatchSummary;
  try {
    batch = await scoreFiles(files, table, { ...options, details, onProgress: (s) => progress.update(s) });
  } catch (e) {
    // The run's own error is the one to report: closing may fail again for the same reason (a
    // Parquet file needs the space a full disk lacks; its journal stays for the next run).
    for (const t of [table, ...Object.values(details)]) await t.close().catch(() => {});
    throw e;
  }
  await table.close();
  for (const t of Object.values(details)) await t.close();
  if (batch.scored) progress.finish();
  const valueColumns = outputsOf(heuristics).map((o) => o.name);
  // Batch-level steps (e.g. rank among the images of one prompt) need every row: fill and rewrite.
  const steps = heuristics.flatMap((h) => h.batch ? [h.batch] : []);
  let rows: Row[] = [];
  let summary: string;
  let duplicateGroups: DuplicateGroupEntry[][];
  if (options.keepRows === false && !steps.length) {
    const acc = new SummaryAccumulator(valueColumns);
    // The one thing kept per image: its path and pHash, for the near-duplicate groups (O(n) by
    // nature; two strings per image, no row object).
    const paths: string[] = [], hashes: string[] = [];
    const collectNow = everyNth(ROWS_BETWEEN_COLLECTIONS);
    for await (const row of streamResults(out, columns)) {
      collectNow();
      acc.add(row);
      if (typeof row.phash === "string" && row.phash) {
        paths.push(String(row.path));
        hashes.push(row.phash);
      }
    }
    summary = acc.text();
    duplicateGroups = groupsOfHashes(paths, hashes, options.duplicateDistance);
  } else {
    rows = await readResults(out, columns);
    if (steps.length && rows.length) {
      for (const step of steps) rows = step.apply(rows as Record<string, Value>[]) as Row[];
      await writeResults(out, columns, rows);
    }
    summary = summarizeRows(rows, valueColumns);
    duplicateGroups = nearDuplicateGroups(rows, options.duplicateDistance);
  }
  if (heuristics.some((h) => h.name === "phash")) {
    summary += `\nnear-duplicate groups: ${duplicateGroups.length}` +
      (duplicateGroups.length ? ` (${duplicateGroups.reduce((n, g) => n + g.length, 0)} images)` : "");
  }
  if (options.duplicatesOut) await writeDuplicates(options.duplicatesOut, duplicateGroups);
  return { ...batch, found: files.length, skippedNonImages: skipped, rows, summary, duplicateGroups };
}

/**
 * Groups rows whose `phash` values are within `maxDistance` bits; returns groups of two or more,
 * largest first, each in path order (the first member is the group's representative).
 */
export function nearDuplicateGroups(rows: readonly Row[], maxDistance = 10): DuplicateGroupEntry[][] {
  const paths: string[] = [], hashes: string[] = [];
  for (const r of rows) {
    if (typeof r.phash === "string" && r.phash) {
      paths.push(String(r.path));
      hashes.push(r.phash);
    }
  }
  return groupsOfHashes(paths, hashes, maxDistance);
}

/**
 * {@link nearDuplicateGroups} of parallel `paths` and `hashes`: an entry object is made only for
 * members of groups of two or more.
 */
function groupsOfHashes(
  paths: readonly string[],
  hashes: readonly string[],
  maxDistance = 10,
): DuplicateGroupEntry[][] {
  const order = Array.from(paths.keys())
    .sort((a, b) => paths[a] < paths[b] ? -1 : paths[a] > paths[b] ? 1 : 0);
  const sorted = order.map((i) => hashes[i]);
  const { roots, distance } = duplicateRoots(sorted, maxDistance);
  const size = new Int32Array(sorted.length);
  for (const r of roots) size[r]++;
  const byGroup = new Map<number, DuplicateGroupEntry[]>();
  roots.forEach((g, i) => {
    if (size[g] < 2) return;
    const e = { path: paths[order[i]], hash: sorted[i], group: g, distance: distance(i, g) };
    const group = byGroup.get(g);
    if (group) group.push(e);
    else byGroup.set(g, [e]);
  });
  return [...byGroup.values()].sort((a, b) => b.length - a.length);
}

/** Writes groups as CSV: `path, group, group_size, distance, representative` (atomically). */
async function writeDuplicates(path: string, groups: DuplicateGroupEntry[][]): Promise<void> {
  const lines = [csvLine(["path", "group", "group_size", "distance", "representative"])];
  groups.forEach((g, i) => {
    for (const e of g) lines.push(csvLine([e.path, i + 1, g.length, e.distance, g[0].path]));
  });
  await writeAtomic(path, lines.join("")).catch((e) => {
    throw writeFailure(path, e, "write the near-duplicate groups", "Run the same command again: it resumes.");
  });
}
