/**
 * Joins the part files of a sharded score run into one table with Polars: each `path` once — a
 * decoded row (empty `error`) wins over an error row, otherwise the row of the later part wins —
 * sorted by `path`. Parts may be CSV, JSON Lines or Parquet, local or `s3://`, and may differ in
 * columns (a column missing from a part is empty there).
 *
 * @module
 */
import { WinnowError } from "../core/errors.ts";
import { basename, join } from "node:path";
import { download, isRemote, listFiles, upload } from "../core/storage.ts";
import { formatOf } from "./results.ts";
import { writeAtomic } from "../core/atomic.ts";

/** Endings of part files taken from a folder or prefix. */
const PART_ENDINGS: ReadonlySet<string> = new Set([".parquet", ".csv", ".jsonl", ".ndjson"]);

/** What {@link mergeParts} did. */
export interface MergeResult {
  /** Part files read, in order. */
  parts: string[];
  /** Rows read from all parts. */
  rowsIn: number;
  /** Rows written (distinct paths). */
  rowsOut: number;
  /** Rows with an error in the merged table. */
  errors: number;
}

/** A part that cannot be merged; names it. */
export class MergeError extends WinnowError {}

/**
 * Expands files, folders and `s3://` prefixes into part files in order (a folder's parts sorted by
 * name; journals `*.partial.jsonl` and temporary files left out).
 */
export async function listParts(inputs: readonly string[]): Promise<string[]> {
  const parts: string[] = [];
  for (const input of inputs) {
    const found: string[] = [];
    for await (const f of listFiles(input, { extensions: PART_ENDINGS })) {
      const name = basename(f.path);
      if (name.endsWith(".partial.jsonl") || /\.tmp-\d+$/.test(name)) continue;
      found.push(f.path);
    }
    parts.push(...found.sort());
  }
  return parts;
}

/**
 * Merges `inputs` (part files, folders of parts or `s3://` prefixes) into `out`.
 *
 * @example
 * ```ts
 * import { mergeParts } from "./merge.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/p0.csv`, "path,error,v\n/a.png,bad,\n/b.png,,2\n");
 * await Deno.writeTextFile(`${dir}/p1.csv`, "path,error,v\n/a.png,,1\n");
 * const r = await mergeParts([`${dir}/p0.csv`, `${dir}/p1.csv`], `${dir}/all.csv`);
 * console.log(r.rowsOut, await Deno.readTextFile(`${dir}/all.csv`)); // 2, /a.png,,1 and /b.png,,2
 * ```
 */
export async function mergeParts(inputs: readonly string[], out: string): Promise<MergeResult> {
  const pl = (await import("nodejs-polars")).default;
  const parts = await listParts(inputs);
  if (parts.length === 0) {
    throw new MergeError(`no part files (.parquet, .csv, .jsonl) in ${inputs.join(", ")}`);
  }
  formatOf(out);
  const staging = parts.some(isRemote) || isRemote(out)
    ? await Deno.makeTempDir({ prefix: "winnow-merge-" })
    : undefined;
  try {
    // deno-lint-ignore no-explicit-any
    const frames: any[] = [];
    for (const [i, part] of parts.entries()) {
      let local = part;
      if (isRemote(part)) {
        local = join(staging!, `${i}-${basename(part)}`);
        if (!await download(part, local)) throw new MergeError(`${part}: vanished while merging`);
      }
      const format = formatOf(part);
      let df;
      try {
        df = format === "parquet" ? pl.readParquet(local) : format === "csv"
          // types from (nearly) all rows, not the first 100; our CSV formula guard taken off
          ? formulaGuard(pl, pl.readCSV(local, { inferSchemaLength: 10_000_000 }), "remove")
          : pl.readJSON(local, { format: "lines" });
      } catch (e) {
        throw new MergeError(`${part}: cannot be read as ${format}: ${(e as Error).message}`);
      }
      if (df.shape.height === 0) continue;
      if (!df.columns.includes("path")) throw new MergeError(`${part}: no "path" column`);
      frames.push(
        df.withColumns(
          pl.lit(i).alias("__part"),
          (df.columns.includes("error")
            ? pl.col("error").isNull().or(pl.col("error").cast(pl.Utf8).eq(pl.lit("")))
            : pl.lit(true)).alias("__decoded"),
        ),
      );
    }
    // Row counts from `shape.height`: a column named `height` shadows the DataFrame's `height`.
    const rowsIn = frames.reduce((n, f) => n + f.shape.height, 0);
    let merged = frames.length ? unify(pl, frames) : pl.DataFrame({ path: [] as string[] });
    if (frames.length) {
      merged = merged.sort(["__decoded", "__part"])
        .unique({ subset: ["path"], keep: "last" })
        .sort("path")
        .drop(["__part", "__decoded"]);
    }
    const format = formatOf(out);
    const write = (file: string) => {
      if (format === "parquet") merged.writeParquet(file);
      else if (format === "csv") formulaGuard(pl, merged, "add").writeCSV(file);
      else merged.writeJSON(file, { format: "lines" });
    };
    if (isRemote(out)) {
      const local = join(staging!, basename(out));
      write(local);
      await upload(local, out);
    } else await writeAtomic(out, write);
    const errors = merged.columns.includes("error")
      ? merged.filter(pl.col("error").isNotNull().and(pl.col("error").cast(pl.Utf8).neq(pl.lit("")))).shape
        .height
      : 0;
    return { parts, rowsIn, rowsOut: merged.shape.height, errors };
  } finally {
    if (staging) await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

/**
 * Stacks frames whose columns may differ or disagree in type: a column typed differently in two
 * parts is read as text in all of them (an all-empty column takes the others' type).
 */
/**
 * The CSV formula guard of `lib/core/csv.ts` on every text column: `remove` one leading quote
 * before `= + - @` tab CR (as our CSV reader does), or `add` one (as our CSV writer does).
 */
// deno-lint-ignore no-explicit-any
function formulaGuard(pl: any, df: any, how: "add" | "remove"): any {
  const text = Object.entries(df.schema as Record<string, unknown>)
    .filter(([, t]) => /String|Utf8/.test(String(t))).map(([c]) => c);
  if (text.length === 0) return df;
  return df.withColumns(
    ...text.map((c) =>
      how === "remove"
        ? pl.col(c).str.replace("^'('*[=+\\-@\\t\\r])", "$1")
        : pl.col(c).str.replace("^('*[=+\\-@\\t\\r])", "'$1")
    ),
  );
}

// deno-lint-ignore no-explicit-any
function unify(pl: any, frames: any[]): any {
  // deno-lint-ignore no-explicit-any
  const types = new Map<string, any>();
  const order: string[] = [];
  for (const f of frames) {
    for (const c of f.columns as string[]) {
      const s = f.getColumn(c);
      if (!order.includes(c)) order.push(c);
      if (s.nullCount() === s.length) continue;
      const t = types.get(c);
      if (t === undefined) types.set(c, s.dtype);
      else if (!t.equals(s.dtype)) types.set(c, isNumeric(t) && isNumeric(s.dtype) ? pl.Float64 : pl.Utf8);
    }
  }
  const aligned = frames.map((f) =>
    f.select(
      ...order.map((c) => {
        const t = types.get(c) ?? pl.Utf8;
        return (f.columns.includes(c) ? pl.col(c) : pl.lit(null)).cast(t).alias(c);
      }),
    )
  );
  return pl.concat(aligned, { how: "vertical" });
}

// deno-lint-ignore no-explicit-any
function isNumeric(t: any): boolean {
  return /^(Int|UInt|Float)\d+$/.test(String(t.variant ?? t));
}
