/**
 * Result tables written as results arrive: CSV, JSON Lines or Parquet, chosen by the file's
 * ending. A killed run loses at most the row being written; opening the same file again resumes,
 * reporting which keys (paths) are already done.
 *
 * - CSV and JSONL: one append per row; a torn last line (from a kill mid-write) is cut off on resume.
 * - Parquet cannot be appended to, so rows go to a journal `FILE.partial.jsonl` first and the
 *   Parquet file is rewritten atomically (temporary file + rename) on `close()`; a resumed run
 *   reads both.
 *
 * @module
 */
import { csvLine, parseCsv } from "../core/csv.ts";
import { openAppendFile, writeAtomic } from "../core/atomic.ts";
import { WinnowError, writeProblem } from "../core/errors.ts";

export { writeProblem };

/** A column of a result table. */
export interface Column {
  name: string;
  type: "number" | "string" | "boolean";
}

/** A row: column name → value (`null` or missing = empty). */
export type Row = Record<string, string | number | boolean | null | undefined>;

/** An open result table. */
export interface ResultTable {
  /** Output format. */
  readonly format: "csv" | "jsonl" | "parquet";
  /** Keys already present before this run (resume). */
  readonly done: ReadonlySet<string>;
  /** Appends one row durably. */
  write(row: Row): Promise<void>;
  /**
   * Appends several rows in one write: after a failure (a full disk) none of them is in the file,
   * so a group (the faces of one image) is whole or absent. Tables without it get one
   * {@link ResultTable.write} per row.
   */
  writeRows?(rows: readonly Row[]): Promise<void>;
  /** Finishes the file (Parquet is written here). */
  close(): Promise<void>;
}

/** A result file that cannot be opened or resumed; the message says why and what to do. */
export class ResultsError extends WinnowError {}

/** Options of {@link openResults}. */
export interface OpenOptions {
  /** Column whose values identify rows for resuming. Default `path`. */
  key?: string;
  /** Keep existing rows and skip their keys (default), or start the file afresh. */
  resume?: boolean;
}

/** Output format for a file name, or a ResultsError listing the endings understood. */
export function formatOf(path: string): "csv" | "jsonl" | "parquet" {
  const p = path.toLowerCase();
  if (p.endsWith(".csv")) return "csv";
  if (p.endsWith(".jsonl") || p.endsWith(".ndjson")) return "jsonl";
  if (p.endsWith(".parquet")) return "parquet";
  throw new ResultsError(`${path}: unknown output format; use a name ending in .csv, .jsonl or .parquet`);
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Cuts a torn last line (no trailing newline) off a file left by a killed run. */
async function dropTornLine(path: string, text: string): Promise<string> {
  if (text === "" || text.endsWith("\n")) return text;
  const keep = text.slice(0, text.lastIndexOf("\n") + 1);
  await Deno.truncate(path, new TextEncoder().encode(keep).length);
  return keep;
}

/** A ResultsError for a failed write or create of `path`, or `e` itself when it is no I/O problem. */
function writeError(path: string, e: unknown, what: "create" | "append" | "parquet" | "rewrite"): unknown {
  const problem = writeProblem(e);
  if (!problem) return e;
  const doing = {
    create: "create the result file",
    append: "write the next row",
    parquet: "write the Parquet file",
    rewrite: "rewrite the result file",
  }[what];
  const kept = {
    create: "",
    append: "Every row written before is intact and no partial row was left. ",
    parquet: `Every row is kept in ${path}.partial.jsonl. `,
    rewrite: "The file is as it was before. ",
  }[what];
  return new ResultsError(
    `${path}: cannot ${doing}: ${problem} (${(e as Error).message}). ${kept}` +
      "Free space or choose a writable place, then run the same command again: it resumes.",
  );
}

/** The table's append file: a row that does not fit is cut back off, naming the file. */
function appender(path: string) {
  return openAppendFile(path, (e, step) => writeError(path, e, step === "open" ? "create" : "append"));
}

function sameColumns(a: readonly string[], b: readonly string[]) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function mismatch(path: string, found: readonly string[], wanted: readonly string[]): ResultsError {
  const missing = wanted.filter((c) => !found.includes(c));
  const extra = found.filter((c) => !wanted.includes(c));
  return new ResultsError(
    `${path}: this file has other columns than this run writes` +
      (missing.length ? ` (missing: ${missing.join(", ")})` : "") +
      (extra.length ? ` (not written now: ${extra.join(", ")})` : "") +
      "; resume with the same options, or choose another output file",
  );
}

/**
 * Opens (or resumes) a result table at `path`.
 *
 * @example
 * ```ts ignore
 * import { openResults } from "./results.ts";
 * const t = await openResults("out.csv", [{ name: "path", type: "string" }, { name: "v", type: "number" }]);
 * if (!t.done.has("/a.png")) await t.write({ path: "/a.png", v: 1 });
 * await t.close();
 * ```
 */
export async function openResults(
  path: string,
  columns: readonly Column[],
  options: OpenOptions = {},
): Promise<ResultTable> {
  const format = formatOf(path);
  const key = options.key ?? "path";
  const names = columns.map((c) => c.name);
  const resume = options.resume ?? true;
  if (format === "csv") return await openCsv(path, names, key, resume);
  if (format === "jsonl") return await openJsonl(path, names, key, resume);
  return await openParquet(path, columns, key, resume);
}

async function openCsv(path: string, names: string[], key: string, resume: boolean): Promise<ResultTable> {
  const done = new Set<string>();
  let text = resume ? await readIfExists(path) : null;
  if (text !== null) text = await dropTornLine(path, text);
  if (text) {
    const records = parseCsv(text, path);
    const header = records[0].fields;
    if (!sameColumns(header, names)) throw mismatch(path, header, names);
    const k = header.indexOf(key);
    for (const r of records.slice(1)) done.add(r.fields[k]);
  } else {
    await Deno.writeTextFile(path, csvLine(names)).catch(async (e) => {
      await Deno.remove(path).catch(() => {}); // no header torn in half
      throw writeError(path, e, "create");
    });
  }
  const out = await appender(path);
  return {
    format: "csv",
    done,
    write: (row) => out.append(csvLine(names.map((n) => row[n]))),
    writeRows: (rows) => out.append(rows.map((row) => csvLine(names.map((n) => row[n]))).join("")),
    close: () => out.close(),
  };
}

function parseJsonLines(text: string, file: string): Row[] {
  return text.split("\n").filter((l) => l.trim()).map((l, i) => {
    try {
      return JSON.parse(l) as Row;
    } catch {
      throw new ResultsError(`${file}:${i + 1}: not a JSON object; fix or remove that line to resume`);
    }
  });
}

function jsonRow(names: readonly string[], row: Row): string {
  const o: Row = {};
  for (const n of names) o[n] = row[n] ?? null;
  return JSON.stringify(o) + "\n";
}

async function openJsonl(path: string, names: string[], key: string, resume: boolean): Promise<ResultTable> {
  const done = new Set<string>();
  let text = resume ? await readIfExists(path) : null;
  if (text !== null) text = await dropTornLine(path, text);
  if (!resume) {
    await Deno.writeTextFile(path, "").catch((e) => {
      throw writeError(path, e, "create");
    });
  }
  for (const r of text ? parseJsonLines(text, path) : []) {
    const cols = Object.keys(r);
    if (!sameColumns(cols, names)) throw mismatch(path, cols, names);
    done.add(String(r[key]));
  }
  const out = await appender(path);
  return {
    format: "jsonl",
    done,
    write: (row) => out.append(jsonRow(names, row)),
    writeRows: (rows) => out.append(rows.map((row) => jsonRow(names, row)).join("")),
    close: () => out.close(),
  };
}

async function openParquet(path: string, columns: readonly Column[], key: string, resume: boolean) {
  const pl = (await import("nodejs-polars")).default;
  const names = columns.map((c) => c.name);
  const journal = `${path}.partial.jsonl`;
  let previous: Row[] = [];
  if (!resume) await Deno.remove(journal).catch(() => {});
  if (resume && (await readIfExists(path)) !== null) {
    const df = pl.readParquet(path);
    if (!sameColumns(df.columns, names)) throw mismatch(path, df.columns, names);
    previous = df.toRecords() as Row[];
  }
  const inner = await openJsonl(journal, names, key, resume);
  const done = new Set([...previous.map((r) => String(r[key])), ...inner.done]);
  return {
    format: "parquet" as const,
    done,
    write: inner.write,
    writeRows: inner.writeRows,
    async close() {
      await inner.close();
      const rows = [...previous, ...parseJsonLines(await Deno.readTextFile(journal), journal)];
      const dtype = { number: pl.Float64, string: pl.Utf8, boolean: pl.Bool } as const;
      const df = pl.DataFrame(
        columns.map((c) => pl.Series(c.name, rows.map((r) => r[c.name] ?? null), dtype[c.type])),
      );
      // On a full disk the journal stays: the next run resumes from it and writes the file then.
      await writeAtomic(path, (tmp) => df.writeParquet(tmp)).catch((e) => {
        throw writeError(path, e, "parquet");
      });
      await Deno.remove(journal);
    },
  };
}

/**
 * Reads a whole result table back (any of the three formats). CSV cells are typed by `columns`
 * when given (empty → `null`, `true`/`false` → boolean, numbers → number); string columns stay strings.
 *
 * @example
 * ```ts ignore
 * import { readResults } from "./results.ts";
 * const rows = await readResults("scores.csv");
 * console.log(rows.length, rows[0].laplacian_var);
 * ```
 */
export async function readResults(path: string, columns: readonly Column[] = []): Promise<Row[]> {
  const format = formatOf(path);
  if (format === "parquet") {
    const pl = (await import("nodejs-polars")).default;
    return pl.readParquet(path).toRecords() as Row[];
  }
  const text = await Deno.readTextFile(path);
  if (format === "jsonl") {
    return parseJsonLines(text.endsWith("\n") ? text : text.slice(0, text.lastIndexOf("\n") + 1), path);
  }
  const records = parseCsv(text, path);
  if (records.length === 0) return [];
  const header = records[0].fields;
  const types = new Map(columns.map((c) => [c.name, c.type]));
  return records.slice(1).map((r) => typedRow(header, r.fields, types));
}

/** A CSV record typed by column (see {@link readResults}). */
function typedRow(
  header: readonly string[],
  fields: readonly string[],
  types: Map<string, Column["type"]>,
): Row {
  const row: Row = {};
  header.forEach((h, i) => {
    const cell = fields[i] ?? "";
    const type = types.get(h);
    if (cell === "") row[h] = null;
    else if (type === "string") row[h] = cell;
    else if (type === "boolean" || (!type && (cell === "true" || cell === "false"))) {
      row[h] = cell === "true";
    } else if (type === "number" || (!type && /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(cell))) {
      row[h] = Number(cell);
    } else row[h] = cell;
  });
  return row;
}

/**
 * Reads a result table row by row without holding it (CSV and JSON Lines are read in chunks;
 * Parquet is read whole by Polars, column-wise, and then handed out row by row). Rows are typed
 * as {@link readResults} types them. A torn last line is skipped.
 *
 * @example
 * ```ts ignore
 * import { streamResults } from "./results.ts";
 * let n = 0;
 * for await (const row of streamResults("scores.csv")) if (row.error) n++;
 * ```
 */
export async function* streamResults(path: string, columns: readonly Column[] = []): AsyncGenerator<Row> {
  const format = formatOf(path);
  if (format === "parquet") {
    yield* await readResults(path, columns);
    return;
  }
  const types = new Map(columns.map((c) => [c.name, c.type]));
  let header: string[] | null = null;
  let pending = "", quotes = 0, lineNo = 0, first = true;
  const file = await Deno.open(path);
  try {
    const decoder = new TextDecoder();
    const buf = new Uint8Array(1 << 16);
    for (;;) {
      const n = await file.read(buf);
      let chunk = n === null ? "" : decoder.decode(buf.subarray(0, n), { stream: true });
      if (first && chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      if (chunk) first = false;
      let from = 0;
      for (let i = chunk.indexOf("\n"); i >= 0; i = chunk.indexOf("\n", from)) {
        const piece = chunk.slice(from, i + 1);
        from = i + 1;
        pending += piece;
        lineNo++;
        if (format === "csv") {
          // A record ends at a newline outside quotes (a quoted cell may hold newlines).
          for (let k = 0; k < piece.length; k++) if (piece.charCodeAt(k) === 34) quotes++;
          if (quotes % 2 === 1) continue;
          const rec = parseCsv(pending, `${path}:${lineNo}`)[0];
          pending = "";
          quotes = 0;
          if (!rec) continue;
          if (!header) header = rec.fields;
          else yield typedRow(header, rec.fields, types);
        } else {
          const line = pending.trim();
          pending = "";
          if (!line) continue;
          try {
            yield JSON.parse(line) as Row;
          } catch {
            throw new ResultsError(`${path}:${lineNo}: not a JSON object; fix or remove that line to resume`);
          }
        }
      }
      pending += chunk.slice(from);
      if (format === "csv") {
        for (let k = from; k < chunk.length; k++) if (chunk.charCodeAt(k) === 34) quotes++;
      }
      if (n === null) break;
    }
  } finally {
    file.close();
  }
}

/**
 * Writes a whole table at once, atomically (temporary file, then rename): used when a batch-level
 * step has filled columns after every row was scored.
 *
 * @example
 * ```ts ignore
 * import { writeResults } from "./results.ts";
 * await writeResults("scores.csv", [{ name: "path", type: "string" }], [{ path: "/a.png" }]);
 * ```
 */
export async function writeResults(
  path: string,
  columns: readonly Column[],
  rows: readonly Row[],
): Promise<void> {
  const format = formatOf(path);
  const names = columns.map((c) => c.name);
  if (format === "parquet") {
    const pl = (await import("nodejs-polars")).default;
    const dtype = { number: pl.Float64, string: pl.Utf8, boolean: pl.Bool } as const;
    const df = pl.DataFrame(
      columns.map((c) => pl.Series(c.name, rows.map((r) => r[c.name] ?? null), dtype[c.type])),
    );
    await writeAtomic(path, (tmp) => df.writeParquet(tmp)).catch((e) => {
      throw writeError(path, e, "rewrite");
    });
  } else {
    await writeAtomic(
      path,
      format === "csv"
        ? csvLine(names) + rows.map((r) => csvLine(names.map((n) => r[n]))).join("")
        : rows.map((r) => jsonRow(names, r)).join(""),
    ).catch((e) => {
      throw writeError(path, e, "rewrite");
    });
  }
}
