/**
 * CSV as RFC 4180 has it: quoted fields with doubled quotes, commas and newlines inside quotes,
 * CRLF or LF line ends, an optional UTF-8 BOM.
 *
 * Spreadsheet formulas (CSV injection): a text cell that starts with `=`, `+`, `-`, `@`, a tab or
 * a carriage return would run as a formula when the file is opened in Excel, LibreOffice or
 * Google Sheets. Following OWASP's rule, such text is written with a single quote in front
 * (`'=HYPERLINK(…)`), which spreadsheets show as text. Numbers are written as numbers (`-0.5`
 * stays `-0.5`). To read our own files back exactly, text that already starts with quotes
 * followed by one of those characters gets one more quote, and {@link parseCsv} removes one
 * quote from every field that starts with quotes followed by one of them — so any string
 * survives a write and a read unchanged.
 *
 * @module
 */
import { WinnowError } from "./errors.ts";

/** A parsed record with the 1-based line it starts on (for error messages). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** Malformed CSV; the message names the line. */
export class CsvError extends WinnowError {}

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
  const unguard = (f: string) => FORMULA_GUARDED.test(f) ? f.slice(1) : f;
  const endRecord = () => {
    fields.push(unguard(field));
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
      fields.push(unguard(field));
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

/** Text a spreadsheet would run as a formula (after any quotes we put in front). */
const FORMULA_START = /^'*[=+\-@\t\r]/;
/** A field written with the formula guard: one quote to remove. */
const FORMULA_GUARDED = /^'+[=+\-@\t\r]/;

/**
 * Formats one field: text that a spreadsheet would run as a formula gets a leading `'` (see the
 * module doc); a field holding a comma, quote, line break or outer spaces is quoted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { csvField, parseCsv } from "./csv.ts";
 * assert.equal(csvField("=1+1"), "'=1+1");
 * assert.equal(csvField(-0.5), "-0.5");
 * assert.equal(parseCsv(`${csvField("=1+1")},${csvField("'=x")}\n`)[0].fields.join("|"), "=1+1|'=x");
 * ```
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  let s = typeof value === "number" ? (Number.isFinite(value) ? String(value) : "") : String(value);
  if (typeof value !== "number" && FORMULA_START.test(s)) s = `'${s}`;
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
