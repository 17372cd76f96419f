/**
 * The A/B preference file `ab.csv` (CONTRACTS.md): one row per choice a rater made between two
 * images shown side by side. Written by the labeling app's A/B mode, read by `deno task ab fit`.
 *
 * Columns: `left_path, right_path, left_system, right_system, choice, rater` (the contract), then
 * `prompt, repeat, time` (what the app adds: the prompt shown, `true` for a pair shown again to
 * measure the rater's consistency, the ISO time of the choice). `choice` is `left`, `right` or
 * `tie`; paths are written relative to the file's folder (or absolute).
 *
 * @module
 */
import { WinnowError } from "../core/errors.ts";
import { dirname, isAbsolute, resolve } from "node:path";
import { CsvError, csvLine, parseCsv } from "../core/csv.ts";

/** The contract's columns, in order. */
export const AB_COLUMNS = [
  "left_path",
  "right_path",
  "left_system",
  "right_system",
  "choice",
  "rater",
] as const;

/** Columns the labeling app adds after the contract's. */
export const AB_EXTRA_COLUMNS = ["prompt", "repeat", "time"] as const;

/** A choice between the two images. */
export type AbChoice = "left" | "right" | "tie";

/** One row of `ab.csv`. */
export interface AbRow {
  left_path: string;
  right_path: string;
  left_system: string;
  right_system: string;
  choice: AbChoice;
  rater: string;
  prompt?: string;
  /** A pair shown again (rater consistency). */
  repeat?: boolean;
  time?: string;
}

/** A row as read, with where it came from. */
export interface AbRecord extends AbRow {
  /** The file it was read from, and its 1-based line. */
  file: string;
  line: number;
  /** `left_path` / `right_path` resolved against the file's folder. */
  leftAbs: string;
  rightAbs: string;
}

/** An `ab.csv` that cannot be read; the message names the file, line and field. */
export class AbFormatError extends WinnowError {}

/**
 * Formats rows as `ab.csv` text (header included).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { abCsv } from "./ab_format.ts";
 * const text = abCsv([{ left_path: "a/1.png", right_path: "b/1.png", left_system: "a", right_system: "b", choice: "left", rater: "ann" }]);
 * assert.equal(text.split("\n")[1], "a/1.png,b/1.png,a,b,left,ann,,,");
 * ```
 */
export function abCsv(rows: readonly AbRow[]): string {
  return csvLine([...AB_COLUMNS, ...AB_EXTRA_COLUMNS]) +
    rows.map((r) =>
      csvLine([
        r.left_path,
        r.right_path,
        r.left_system,
        r.right_system,
        r.choice,
        r.rater,
        r.prompt,
        r.repeat === undefined ? "" : String(r.repeat),
        r.time,
      ])
    ).join("");
}

/**
 * Parses `ab.csv` text. Columns may come in any order and others may follow; the contract's six are
 * required. Rows with the choice `skip` or an empty choice are left out (counted in `skipped`); any
 * other bad value throws, naming the file, line and field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAbCsv } from "./ab_format.ts";
 * const { rows } = parseAbCsv("/s/ab.csv", "left_path,right_path,left_system,right_system,choice,rater\nx.png,y.png,A,B,tie,ann\n");
 * assert.deepEqual([rows[0].choice, rows[0].leftAbs], ["tie", "/s/x.png"]);
 * ```
 */
export function parseAbCsv(file: string, text: string): { rows: AbRecord[]; skipped: number } {
  let recs;
  try {
    recs = parseCsv(text, file);
  } catch (e) {
    if (e instanceof CsvError) throw new AbFormatError(e.message);
    throw e;
  }
  if (recs.length === 0) {
    throw new AbFormatError(`${file}: empty file (expected a header ${AB_COLUMNS.join(",")})`);
  }
  const header = recs[0].fields.map((h) => h.trim());
  const missing = AB_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length) {
    throw new AbFormatError(
      `${file}: missing column(s) ${missing.join(", ")} (need ${AB_COLUMNS.join(", ")})`,
    );
  }
  const col = (name: string) => header.indexOf(name);
  const base = dirname(resolve(file));
  const rows: AbRecord[] = [];
  let skipped = 0;
  for (const r of recs.slice(1)) {
    const get = (name: string) => (col(name) >= 0 ? (r.fields[col(name)] ?? "").trim() : "");
    const where = (field: string) => `${file}:${r.line}: ${field}`;
    const choice = get("choice");
    if (choice === "" || choice === "skip") {
      skipped++;
      continue;
    }
    if (choice !== "left" && choice !== "right" && choice !== "tie") {
      throw new AbFormatError(
        `${where("choice")}: expected left, right or tie, got ${JSON.stringify(choice)}`,
      );
    }
    for (const c of ["left_path", "right_path", "left_system", "right_system"]) {
      if (!get(c)) throw new AbFormatError(`${where(c)}: empty`);
    }
    if (get("left_system") === get("right_system")) {
      throw new AbFormatError(
        `${where("right_system")}: the same system on both sides (${get("left_system")})`,
      );
    }
    const repeat = get("repeat");
    rows.push({
      left_path: get("left_path"),
      right_path: get("right_path"),
      left_system: get("left_system"),
      right_system: get("right_system"),
      choice,
      rater: get("rater"),
      ...(col("prompt") >= 0 ? { prompt: get("prompt") } : {}),
      ...(repeat ? { repeat: repeat === "true" } : {}),
      ...(get("time") ? { time: get("time") } : {}),
      file,
      line: r.line,
      leftAbs: isAbsolute(get("left_path")) ? get("left_path") : resolve(base, get("left_path")),
      rightAbs: isAbsolute(get("right_path")) ? get("right_path") : resolve(base, get("right_path")),
    });
  }
  return { rows, skipped };
}

/** Reads one or more `ab.csv` files (see {@link parseAbCsv}). */
export async function loadAbFiles(files: readonly string[]): Promise<{ rows: AbRecord[]; skipped: number }> {
  const rows: AbRecord[] = [];
  let skipped = 0;
  for (const f of files) {
    let text: string;
    try {
      text = await Deno.readTextFile(f);
    } catch (e) {
      throw new AbFormatError(`${f}: cannot read: ${(e as Error).message}`);
    }
    const r = parseAbCsv(f, text);
    rows.push(...r.rows);
    skipped += r.skipped;
  }
  return { rows, skipped };
}
