/**
 * Hand labels: reading and validating `images.csv` and `faces.csv` (format in `data/labels/README.md`
 * and `../shared/CONTRACTS.md`), and joining labeled faces to detected ones by IoU.
 *
 * Reading never drops a row silently: every rejected row gives one issue per bad field, naming the
 * file, the line the row starts on, the field and what was wrong
 * (`images.csv:17: quality: expected an integer 1–5, got "6"`). Good rows are kept. A file that
 * lacks a required column, or is not CSV at all, throws a {@link LabelFormatError} instead.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CsvError, parseCsv } from "../core/csv.ts";
import { type Box, iou } from "../core/geometry.ts";
import { WinnowError } from "../core/errors.ts";

/** The error types an image label may name in its `errors` column, in the contract's order. */
export const ERROR_TYPES = [
  "bad_face",
  "bad_hands",
  "missing_body_part",
  "extra_limbs",
  "merged_objects",
  "garbled_text",
  "blur",
  "artifact",
  "prompt_mismatch",
  "other",
] as const;

/** One error type of {@link ERROR_TYPES}. */
export type ErrorType = typeof ERROR_TYPES[number];

/**
 * The hand-labeled set shipped with winnow: `data/labels/` of the project (real generated images,
 * `images.csv`, `faces.csv`, `sources.csv`; see its README). Absolute path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SHIPPED_FACE_LABELS, SHIPPED_IMAGE_LABELS, SHIPPED_LABELS_DIR } from "./format.ts";
 * assert.ok(SHIPPED_IMAGE_LABELS.startsWith(SHIPPED_LABELS_DIR));
 * assert.ok(SHIPPED_FACE_LABELS.endsWith("faces.csv"));
 * ```
 */
export const SHIPPED_LABELS_DIR: string = fileURLToPath(new URL("../../data/labels/", import.meta.url));

/** `images.csv` of the shipped set ({@link SHIPPED_LABELS_DIR}). */
export const SHIPPED_IMAGE_LABELS: string = join(SHIPPED_LABELS_DIR, "images.csv");

/** `faces.csv` of the shipped set ({@link SHIPPED_LABELS_DIR}). */
export const SHIPPED_FACE_LABELS: string = join(SHIPPED_LABELS_DIR, "faces.csv");

/** Required columns of `images.csv`, in the contract's order. */
export const IMAGE_COLUMNS = ["path", "usable", "quality", "errors"] as const;

/** Required columns of `faces.csv`, in the contract's order. */
export const FACE_COLUMNS = ["path", "x", "y", "width", "height", "quality"] as const;

/** A label file that cannot be read at all (not CSV, no header, a required column missing). */
export class LabelFormatError extends WinnowError {}

/** What was wrong with one field of one row. A row with any issue is rejected. */
export interface LabelIssue {
  /** The file as given (`file` option or the path loaded). */
  file: string;
  /** 1-based line on which the row starts. */
  line: number;
  /** Column name, or `"row"` for a problem with the row as a whole (wrong number of fields). */
  field: string;
  /** The offending value as read, when there is one. */
  value?: string;
  /** What was wrong, without the location (`expected an integer 1–5, got "6"`). */
  problem: string;
  /** `file:line: field: problem`, ready to print. */
  message: string;
}

/** Fields every kept label row has. */
export interface LabelRowBase {
  /** The path as written in the file. */
  rawPath: string;
  /** `rawPath` resolved against the label file's folder (absolute). */
  path: string;
  /** 1-based line on which the row starts. */
  line: number;
  /** Values of the columns beyond the required ones (per-rater values and so on), by column name. */
  extra: Record<string, string>;
}

/** One kept row of `images.csv`. */
export interface ImageLabel extends LabelRowBase {
  usable: boolean;
  /** Integer 1–5. */
  quality: number;
  /** Error types in the order written, each once. */
  errors: ErrorType[];
}

/** A box in pixels of the stored image: left, top, width, height (the heuristics' box). */
export { type Box, iou };

/** One kept row of `faces.csv`. */
export interface FaceLabel extends LabelRowBase, Box {
  /** Integer 1–5. */
  quality: number;
}

/** A read label file: the kept rows and an account of every row that was not kept. */
export interface LabelFile<T> {
  /** The file as given. */
  file: string;
  /** Header names (trimmed), in file order. */
  columns: string[];
  /** Columns beyond the required ones, in file order (the keys of each row's `extra`). */
  extraColumns: string[];
  rows: T[];
  /** Data rows read (blank lines are not rows). */
  read: number;
  /** Rows kept (`rows.length`). */
  kept: number;
  /** Rows rejected; `read = kept + rejected`. */
  rejected: number;
  /** One entry per bad field of each rejected row, in file order. */
  issues: LabelIssue[];
}

/** Options of the parse functions. */
export interface ParseLabelOptions {
  /** Name used in messages; its folder is where relative paths resolve from. Default `"<labels>"`. */
  file?: string;
  /** Folder relative paths resolve from; default the folder of `file` (or the working directory). */
  baseDir?: string;
}

/** Options of the load functions. */
export interface LoadLabelOptions {
  /** Reject rows whose resolved path is not an existing file (issue on `path`). Default false. */
  checkFiles?: boolean;
}

const QUALITY_PROBLEM = "expected an integer 1–5";
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses the text of an `images.csv` label file.
 *
 * Required columns `path, usable, quality, errors` (any order; header names are trimmed); further
 * columns are kept per row in `extra`. `usable` is `yes`/`no` (case-insensitive), `quality` an
 * integer 1–5, `errors` empty or error types of {@link ERROR_TYPES} joined by `;` (spaces around
 * them and empty items are ignored, repeats kept once). A path listed twice is rejected the second
 * time. A row with a different number of fields than the header is rejected as a whole.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseImageLabels } from "./format.ts";
 * const text = "path,usable,quality,errors,rater\n" +
 *   "a.jpg,yes,5,,ann\n" +
 *   "b.jpg,no,2,garbled_text;blur,bob\n" +
 *   "c.jpg,yes,6,,ann\n";
 * const r = parseImageLabels(text, { file: "/data/labels/images.csv" });
 * assert.deepEqual([r.read, r.kept, r.rejected], [3, 2, 1]);
 * assert.deepEqual(r.rows[1].errors, ["garbled_text", "blur"]);
 * assert.equal(r.rows[0].path, "/data/labels/a.jpg");
 * assert.deepEqual(r.rows[0].extra, { rater: "ann" });
 * assert.equal(r.issues[0].message, '/data/labels/images.csv:4: quality: expected an integer 1–5, got "6"');
 * ```
 */
export function parseImageLabels(text: string, options: ParseLabelOptions = {}): LabelFile<ImageLabel> {
  const seen = new Map<string, number>();
  return parseLabelFile(text, options, IMAGE_COLUMNS, (get, bad, base) => {
    const usableRaw = get("usable").trim().toLowerCase();
    const usable = usableRaw === "yes" ? true : usableRaw === "no" ? false : undefined;
    if (usable === undefined) bad("usable", `expected yes or no, got ${JSON.stringify(get("usable"))}`);
    const quality = parseQuality(get("quality"), bad);
    const errors: ErrorType[] = [];
    for (const part of get("errors").split(";")) {
      const e = part.trim();
      if (e === "") continue;
      if (!(ERROR_TYPES as readonly string[]).includes(e)) {
        bad("errors", `unknown error type ${JSON.stringify(e)} (expected one of ${ERROR_TYPES.join(", ")})`);
      } else if (!errors.includes(e as ErrorType)) errors.push(e as ErrorType);
    }
    if (base.rawPath.trim() !== "") {
      const first = seen.get(base.path);
      if (first !== undefined) bad("path", `the same image is already labeled on line ${first}`);
    }
    return () => {
      seen.set(base.path, base.line);
      return { ...base, usable: usable!, quality: quality!, errors };
    };
  });
}

/**
 * Parses the text of a `faces.csv` label file.
 *
 * Required columns `path, x, y, width, height, quality` (any order); further columns are kept per
 * row in `extra`. `x`, `y` are finite numbers, `width`, `height` finite and above 0 (pixels of the
 * image as stored), `quality` an integer 1–5. An image may have any number of rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFaceLabels } from "./format.ts";
 * const text = "path,x,y,width,height,quality\n" +
 *   "../images/a.jpg,10,20,30.5,40,4\n" +
 *   "../images/a.jpg,100,20,-3,40,4\n";
 * const r = parseFaceLabels(text, { file: "/data/labels/faces.csv" });
 * assert.deepEqual([r.read, r.kept, r.rejected], [2, 1, 1]);
 * assert.equal(r.rows[0].path, "/data/images/a.jpg");
 * assert.equal(r.rows[0].rawPath, "../images/a.jpg");
 * assert.deepEqual([r.rows[0].x, r.rows[0].width], [10, 30.5]);
 * assert.equal(r.issues[0].message, '/data/labels/faces.csv:3: width: expected a number above 0, got "-3"');
 * ```
 */
export function parseFaceLabels(text: string, options: ParseLabelOptions = {}): LabelFile<FaceLabel> {
  return parseLabelFile(text, options, FACE_COLUMNS, (get, bad, base) => {
    const num = (field: string, positive: boolean) => {
      const s = get(field).trim();
      const v = NUMBER_RE.test(s) ? Number(s) : NaN;
      if (!Number.isFinite(v) || (positive && !(v > 0))) {
        bad(
          field,
          `expected ${positive ? "a number above 0" : "a number"}, got ${JSON.stringify(get(field))}`,
        );
      }
      return v;
    };
    const x = num("x", false), y = num("y", false), width = num("width", true), height = num("height", true);
    const quality = parseQuality(get("quality"), bad);
    return () => ({ ...base, x, y, width, height, quality: quality! });
  });
}

/**
 * Reads and parses an `images.csv` file; relative paths resolve against its folder.
 * See {@link parseImageLabels}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadImageLabels } from "./format.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/images.csv`, "path,usable,quality,errors\nx.jpg,yes,4,\n");
 * const r = await loadImageLabels(`${dir}/images.csv`);
 * assert.equal(r.rows[0].path, `${dir}/x.jpg`);
 * const checked = await loadImageLabels(`${dir}/images.csv`, { checkFiles: true });
 * assert.equal(checked.rejected, 1); // x.jpg does not exist
 * ```
 */
export async function loadImageLabels(
  path: string,
  options: LoadLabelOptions = {},
): Promise<LabelFile<ImageLabel>> {
  const r = parseImageLabels(await readLabelText(path), { file: path });
  return options.checkFiles ? await rejectMissingFiles(r) : r;
}

/**
 * Reads and parses a `faces.csv` file; relative paths resolve against its folder.
 * See {@link parseFaceLabels}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadFaceLabels } from "./format.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/faces.csv`, "path,x,y,width,height,quality\nx.jpg,1,2,3,4,5\n");
 * const r = await loadFaceLabels(`${dir}/faces.csv`);
 * assert.deepEqual([r.kept, r.rows[0].height], [1, 4]);
 * ```
 */
export async function loadFaceLabels(
  path: string,
  options: LoadLabelOptions = {},
): Promise<LabelFile<FaceLabel>> {
  const r = parseFaceLabels(await readLabelText(path), { file: path });
  return options.checkFiles ? await rejectMissingFiles(r) : r;
}

/** A labeled face joined to a detected one. Indices are into the arrays given to {@link matchFaces}. */
export interface FaceMatch<D, L> {
  detected: D;
  labeled: L;
  detectedIndex: number;
  labeledIndex: number;
  iou: number;
}

/** The outcome of {@link matchFaces}. */
export interface FaceMatching<D, L> {
  /** Matched pairs, by image path (first appearance among `labeled`, then `detected`), best IoU first. */
  matches: FaceMatch<D, L>[];
  /** Indices into `detected` of detections matched to no label, ascending. */
  unmatchedDetected: number[];
  /** Indices into `labeled` of labels matched to no detection, ascending. */
  unmatchedLabeled: number[];
}

/**
 * Joins detected faces to labeled faces of the same image, one to one, greedily by IoU: among all
 * pairs of the same path with IoU ≥ `minIou`, the pair of highest IoU is taken first (ties: lower
 * detected index, then lower labeled index), its two faces are removed, and so on. Paths are
 * compared after `path.resolve`, so give both sides absolute paths (label rows' `path` is).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchFaces } from "./format.ts";
 * const labeled = [
 *   { path: "/i/a.jpg", x: 0, y: 0, width: 10, height: 10 },
 *   { path: "/i/a.jpg", x: 50, y: 50, width: 10, height: 10 },
 * ];
 * const detected = [
 *   { path: "/i/a.jpg", x: 1, y: 0, width: 10, height: 10 },  // IoU 0.82 with label 0
 *   { path: "/i/b.jpg", x: 50, y: 50, width: 10, height: 10 }, // other image
 *   { path: "/i/a.jpg", x: 0, y: 0, width: 10, height: 10 },  // IoU 1 with label 0: wins it
 * ];
 * const m = matchFaces(detected, labeled);
 * assert.deepEqual(m.matches.map((p) => [p.detectedIndex, p.labeledIndex]), [[2, 0]]);
 * assert.deepEqual(m.unmatchedDetected, [0, 1]);
 * assert.deepEqual(m.unmatchedLabeled, [1]);
 * ```
 */
export function matchFaces<D extends Box & { path: string }, L extends Box & { path: string }>(
  detected: readonly D[],
  labeled: readonly L[],
  minIou = 0.5,
): FaceMatching<D, L> {
  if (!(minIou >= 0 && minIou <= 1)) {
    throw new RangeError(`matchFaces: minIou must be in [0, 1], got ${minIou}`);
  }
  const byPath = new Map<string, { d: number[]; l: number[] }>();
  const group = (p: string) => {
    const key = resolve(p);
    let g = byPath.get(key);
    if (!g) byPath.set(key, g = { d: [], l: [] });
    return g;
  };
  labeled.forEach((f, i) => group(f.path).l.push(i));
  detected.forEach((f, i) => group(f.path).d.push(i));
  const matches: FaceMatch<D, L>[] = [];
  const usedD = new Set<number>(), usedL = new Set<number>();
  for (const { d, l } of byPath.values()) {
    const pairs: { di: number; li: number; v: number }[] = [];
    for (const di of d) {
      for (const li of l) {
        const v = iou(detected[di], labeled[li]);
        if (v >= minIou && v > 0) pairs.push({ di, li, v });
      }
    }
    pairs.sort((p, q) => q.v - p.v || p.di - q.di || p.li - q.li);
    for (const { di, li, v } of pairs) {
      if (usedD.has(di) || usedL.has(li)) continue;
      usedD.add(di);
      usedL.add(li);
      matches.push({
        detected: detected[di],
        labeled: labeled[li],
        detectedIndex: di,
        labeledIndex: li,
        iou: v,
      });
    }
  }
  return {
    matches,
    unmatchedDetected: detected.map((_, i) => i).filter((i) => !usedD.has(i)),
    unmatchedLabeled: labeled.map((_, i) => i).filter((i) => !usedL.has(i)),
  };
}

// ---------------------------------------------------------------------------------------------

type Getter = (field: string) => string;
type Reporter = (field: string, problem: string) => void;

function parseQuality(raw: string, bad: Reporter): number | undefined {
  const s = raw.trim();
  if (/^[1-5]$/.test(s)) return Number(s);
  bad("quality", `${QUALITY_PROBLEM}, got ${JSON.stringify(raw)}`);
  return undefined;
}

function issue(file: string, line: number, field: string, problem: string, value?: string): LabelIssue {
  return { file, line, field, value, problem, message: `${file}:${line}: ${field}: ${problem}` };
}

/**
 * The shared reading loop: header check, per-row field count, path resolution, extra columns.
 * `validate` reports bad fields through `bad` and returns a builder, called only if the row is good.
 */
function parseLabelFile<T extends LabelRowBase>(
  text: string,
  options: ParseLabelOptions,
  required: readonly string[],
  validate: (get: Getter, bad: Reporter, base: LabelRowBase) => () => T,
): LabelFile<T> {
  const file = options.file ?? "<labels>";
  const baseDir = options.baseDir ?? (options.file === undefined ? "." : dirname(options.file));
  let records;
  try {
    records = parseCsv(text, file);
  } catch (e) {
    if (e instanceof CsvError) throw new LabelFormatError(e.message);
    throw e;
  }
  if (records.length === 0) throw new LabelFormatError(`${file}: empty file, expected a header row`);
  const header = records[0];
  const columns = header.fields.map((f) => f.trim());
  const index = new Map<string, number>();
  columns.forEach((c, i) => {
    if (c === "") throw new LabelFormatError(`${file}:${header.line}: header: column ${i + 1} has no name`);
    if (index.has(c)) {
      throw new LabelFormatError(`${file}:${header.line}: header: column "${c}" appears twice`);
    }
    index.set(c, i);
  });
  const missing = required.filter((c) => !index.has(c));
  if (missing.length) {
    throw new LabelFormatError(
      `${file}:${header.line}: missing required column${missing.length > 1 ? "s" : ""} ` +
        `${missing.map((c) => `"${c}"`).join(", ")} (header: ${columns.join(",")})`,
    );
  }
  const extraColumns = columns.filter((c) => !required.includes(c));
  const rows: T[] = [];
  const issues: LabelIssue[] = [];
  for (const rec of records.slice(1)) {
    const rowIssues: LabelIssue[] = [];
    if (rec.fields.length !== columns.length) {
      issues.push(issue(
        file,
        rec.line,
        "row",
        `expected ${columns.length} fields as in the header, got ${rec.fields.length}`,
      ));
      continue;
    }
    const get: Getter = (c) => rec.fields[index.get(c)!];
    const bad: Reporter = (field, problem) =>
      rowIssues.push(issue(file, rec.line, field, problem, get(field)));
    const rawPath = get("path");
    if (rawPath.trim() === "") bad("path", "empty");
    const extra: Record<string, string> = {};
    for (const c of extraColumns) extra[c] = get(c);
    const base: LabelRowBase = { rawPath, path: resolve(baseDir, rawPath), line: rec.line, extra };
    const build = validate(get, bad, base);
    if (rowIssues.length) issues.push(...rowIssues);
    else rows.push(build());
  }
  const read = records.length - 1;
  return { file, columns, extraColumns, rows, read, kept: rows.length, rejected: read - rows.length, issues };
}

async function readLabelText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new LabelFormatError(`${path}: label file not found`);
    throw e;
  }
}

async function rejectMissingFiles<T extends LabelRowBase>(r: LabelFile<T>): Promise<LabelFile<T>> {
  const exists = new Map<string, boolean>();
  for (const row of r.rows) {
    if (exists.has(row.path)) continue;
    exists.set(row.path, await Deno.stat(row.path).then((s) => s.isFile, () => false));
  }
  const rows = r.rows.filter((row) => exists.get(row.path));
  const missing = r.rows.filter((row) => !exists.get(row.path))
    .map((row) => issue(r.file, row.line, "path", `no such file: ${row.path}`, row.rawPath));
  const issues = [...r.issues, ...missing].sort((a, b) => a.line - b.line);
  return { ...r, rows, kept: rows.length, rejected: r.read - rows.length, issues };
}
