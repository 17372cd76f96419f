/**
 * CSV as RFC 4180 has it: quoted fields with doubled quotes, commas and newlines inside quotes,
 * CRLF or LF line ends, an optional UTF-8 BOM.
 *
 * @module
 */

/** A parsed record with the 1-based line it starts on (for error messages). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** Malformed CSV; the message names the line. */
export class CsvError extends Error {
  override name = "CsvError";
}

/**
 * Parses CSV text into records (the header is the first record). Blank lines are skipped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCsv } from "./csv.ts";
 * const rows = parseCsv('a,b\n"x, y",2\n');
 * assert.deepEqual(rows[1].fields, ["x, y", "2"]);
 * ```
 */
export function parseCsv(text: string, file = "<csv>"): CsvRecord[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1, start = 1;
  let quoted = false, wasQuoted = false;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === "" && !wasQuoted)) out.push({ line: start, fields });
    fields = [];
    field = "";
    wasQuoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
    } else if (c === '"' && field === "") {
      quoted = wasQuoted = true;
    } else if (c === ",") {
      fields.push(field);
      field = "";
      wasQuoted = false;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      start = line;
    } else field += c;
  }
  if (quoted) throw new CsvError(`${file}:${start}: a quoted field is not closed`);
  if (field !== "" || fields.length) endRecord();
  return out;
}

/** Quotes a field when it holds a comma, quote, or line break. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  const s = typeof value === "number" ? (Number.isFinite(value) ? String(value) : "") : String(value);
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * Formats one CSV line (with `\n`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { csvLine } from "./csv.ts";
 * assert.deepEqual(csvLine(["a,b", 1.5, null]), "\"a,b\",1.5,\n");
 * ```
 */
export function csvLine(values: readonly unknown[]): string {
  return values.map(csvField).join(",") + "\n";
}
