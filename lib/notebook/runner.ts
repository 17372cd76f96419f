/**
 * Running the notebooks headless and turning them into reports: the work behind `deno task
 * notebooks` and `deno task report`.
 *
 * - Execution goes through `jupyter nbconvert --to notebook --execute` with the Deno kernel
 *   (Debian's `jupyter-nbconvert` + `jupyter-client`; the kernel is registered with this Deno
 *   when it is missing). A failing cell stops its notebook; {@link failedCell} finds which cell it
 *   was from nbconvert's message, so the runner can name notebook, cell number and cell id.
 * - The output rule for committed notebooks: **no outputs**. Every code cell has `outputs: []` and
 *   `execution_count: null`, every cell has an `id`, and the kernel is `deno`
 *   ({@link outputRuleProblems}); `deno task notebooks --strip` makes a notebook obey it. Executed
 *   copies with outputs live only in `out/notebooks/`.
 * - Cells tagged `plot` must come out with an `image/png` or `image/svg+xml` output
 *   ({@link plotCellProblems}): a plot that was not drawn (or a display the kernel lost) fails the run.
 * - Reports: `nbconvert --to html` of each executed notebook (PNG preferred to SVG: nbconvert's
 *   sanitizer empties inline SVG), made self-contained afterwards
 *   ({@link selfContainedHtml}): script tags removed, a Content-Security-Policy that forbids loading
 *   anything, and the ids inside each inline SVG prefixed so that plots do not share clip paths.
 *
 * @module
 */
import { basename, join, resolve } from "node:path";

/** ANSI colour codes (the kernel colours its tracebacks). */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** One cell of an .ipynb file (nbformat 4). */
export interface NotebookCell {
  cell_type: "code" | "markdown" | "raw";
  id?: string;
  source: string | string[];
  metadata?: { tags?: string[]; [k: string]: unknown };
  outputs?: NotebookOutput[];
  execution_count?: number | null;
}

/** One output of a code cell. */
export interface NotebookOutput {
  output_type: "stream" | "display_data" | "execute_result" | "error";
  data?: Record<string, unknown>;
  name?: string;
  text?: string | string[];
  ename?: string;
  evalue?: string;
  traceback?: string[];
  [k: string]: unknown;
}

/** An .ipynb document (nbformat 4). */
export interface Notebook {
  cells: NotebookCell[];
  metadata: {
    kernelspec?: { name?: string; display_name?: string; language?: string };
    [k: string]: unknown;
  };
  nbformat: number;
  nbformat_minor: number;
}

/** Reads and parses a notebook, with the file named in any error. */
export async function readNotebook(file: string): Promise<Notebook> {
  const text = await Deno.readTextFile(file);
  try {
    const nb = JSON.parse(text) as Notebook;
    if (!Array.isArray(nb.cells)) throw new Error("no cells array");
    return nb;
  } catch (e) {
    throw new Error(`${file}: not a notebook: ${(e as Error).message}`);
  }
}

/** A cell's source as one string. */
export function cellSource(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** How a cell is named in messages: `cell 3 (id "detect")`, 1-based, counting every cell. */
export function cellName(nb: Notebook, index: number): string {
  const id = nb.cells[index]?.id;
  return `cell ${index + 1}${id ? ` (id "${id}")` : ""}`;
}

/**
 * Problems with a committed notebook under the output rule (empty when it obeys): outputs or
 * execution counts left in, cells without a unique id, a kernel other than `deno`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outputRuleProblems } from "./runner.ts";
 * const nb = {
 *   nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: "deno" } },
 *   cells: [{ cell_type: "code" as const, id: "a", source: "1", outputs: [{ output_type: "stream" as const, text: "1" }], execution_count: 1 }],
 * };
 * assert.deepEqual(outputRuleProblems(nb), ['cell 1 (id "a") has 1 output(s)', 'cell 1 (id "a") has execution_count 1']);
 * ```
 */
export function outputRuleProblems(nb: Notebook): string[] {
  const problems: string[] = [];
  if (nb.metadata?.kernelspec?.name !== "deno") {
    problems.push(`kernelspec is "${nb.metadata?.kernelspec?.name ?? "(none)"}", expected "deno"`);
  }
  const seen = new Set<string>();
  nb.cells.forEach((c, i) => {
    const name = cellName(nb, i);
    if (!c.id) problems.push(`${name} has no id`);
    else if (seen.has(c.id)) problems.push(`${name}: id "${c.id}" is used twice`);
    else seen.add(c.id);
    if (c.cell_type !== "code") return;
    if ((c.outputs ?? []).length > 0) problems.push(`${name} has ${c.outputs!.length} output(s)`);
    if (c.execution_count !== null && c.execution_count !== undefined) {
      problems.push(`${name} has execution_count ${c.execution_count}`);
    }
  });
  return problems;
}

/**
 * A copy of the notebook that obeys the output rule's output part: outputs emptied, execution
 * counts null (ids and kernel are left as they are).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stripOutputs } from "./runner.ts";
 * const nb = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: "code" as const, id: "a", source: "1", outputs: [{ output_type: "stream" as const }], execution_count: 3 }] };
 * assert.deepEqual(stripOutputs(nb).cells[0], { cell_type: "code", id: "a", source: "1", outputs: [], execution_count: null });
 * ```
 */
export function stripOutputs(nb: Notebook): Notebook {
  return {
    ...nb,
    cells: nb.cells.map((c) =>
      c.cell_type === "code" ? { ...c, outputs: [], execution_count: null } : { ...c }
    ),
  };
}

/** MIME types that count as a drawn plot or image. */
export const IMAGE_MIMES = ["image/png", "image/svg+xml"] as const;

/** Image outputs (`image/png` or `image/svg+xml`) of a cell. */
export function imageOutputs(cell: NotebookCell): NotebookOutput[] {
  return (cell.outputs ?? []).filter((o) => IMAGE_MIMES.some((m) => o.data && m in o.data));
}

/**
 * Problems with an executed notebook's plots: every cell tagged `plot` must have at least one
 * image output. Empty when all are there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plotCellProblems } from "./runner.ts";
 * const nb = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [
 *   { cell_type: "code" as const, id: "p", source: "", metadata: { tags: ["plot"] }, outputs: [] },
 *   { cell_type: "code" as const, id: "q", source: "", metadata: { tags: ["plot"] }, outputs: [{ output_type: "display_data" as const, data: { "image/png": "…" } }] },
 * ] };
 * assert.deepEqual(plotCellProblems(nb), ['cell 1 (id "p") is tagged plot but has no image/png or image/svg+xml output']);
 * ```
 */
export function plotCellProblems(nb: Notebook): string[] {
  return nb.cells.flatMap((c, i) =>
    c.cell_type === "code" && c.metadata?.tags?.includes("plot") && imageOutputs(c).length === 0
      ? [`${cellName(nb, i)} is tagged plot but has no image/png or image/svg+xml output`]
      : []
  );
}

/** The cell a failed `nbconvert --execute` stopped at. */
export interface FailedCell {
  /** 0-based index into `cells`, or -1 when the source was not found in the notebook. */
  index: number;
  id?: string;
  /** "cell 4 (id "plot-roc")". */
  name: string;
  /** The error line(s) the kernel reported, e.g. `Error: boom`. */
  error: string;
}

/**
 * Finds the failing cell from nbconvert's `CellExecutionError` message ("An error occurred while
 * executing the following cell:", the cell's source between dashed lines, then the error), or
 * null when the output holds no such message (the kernel did not start, say).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { failedCell } from "./runner.ts";
 * const nb = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [
 *   { cell_type: "code" as const, id: "ok", source: "1" },
 *   { cell_type: "code" as const, id: "bad", source: ["const x = 1;\n", "throw new Error(\"boom\");"] },
 * ] };
 * const stderr = "Traceback …\nnbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:\n" +
 *   "------------------\nconst x = 1;\nthrow new Error(\"boom\");\n------------------\n\nError: boom\n    at <anonymous>:2:7\nError: boom\n";
 * const f = failedCell(nb, stderr)!;
 * assert.deepEqual([f.index, f.id, f.name, f.error], [1, "bad", 'cell 2 (id "bad")', "Error: boom"]);
 * ```
 */
export function failedCell(nb: Notebook, stderr: string): FailedCell | null {
  const text = stderr.replace(ANSI, "");
  const m =
    /An error occurred while executing the following cell:\r?\n-{6,}\r?\n([\s\S]*?)\r?\n-{6,}\r?\n([\s\S]*)$/
      .exec(text);
  if (!m) return null;
  const source = m[1].trim();
  const index = nb.cells.findIndex((c) => c.cell_type === "code" && cellSource(c).trim() === source);
  const lines = m[2].split(/\r?\n/).map((l) => l.trimEnd());
  const first = lines.findIndex((l) => l.trim() !== "");
  const error = first < 0 ? "(no error message)" : lines[first].trim();
  return {
    index,
    ...(index >= 0 && nb.cells[index].id ? { id: nb.cells[index].id } : {}),
    name: index >= 0
      ? cellName(nb, index)
      : `a cell not found in the notebook (source starts "${source.slice(0, 60)}")`,
    error,
  };
}

/** The `jupyter` command: `$WINNOW_JUPYTER`, else `/usr/bin/jupyter` (Debian's), else null. */
export async function findJupyter(env = (n: string) => Deno.env.get(n)): Promise<string | null> {
  const candidates = [env("WINNOW_JUPYTER"), "/usr/bin/jupyter"].filter((c): c is string => !!c);
  for (const c of candidates) {
    if ((await Deno.stat(c).catch(() => null))?.isFile) return c;
  }
  return null;
}

/** Text of the install hint printed when jupyter is missing. */
export const JUPYTER_INSTALL_HINT =
  "install it with: sudo apt-get install -y --no-install-recommends jupyter-nbconvert jupyter-client python3-ipykernel " +
  "(or set WINNOW_JUPYTER to a jupyter command that has nbconvert)";

async function run(cmd: string, args: string[], o: { cwd?: string; env?: Record<string, string> } = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: o.cwd,
    env: { NO_COLOR: "1", ...(o.env ?? {}) },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Makes sure the `deno` Jupyter kernel is registered and points at an existing Deno binary;
 * registers this Deno (`deno jupyter --install --force`) when it is missing or broken. Returns
 * what it did, for the log.
 */
export async function ensureDenoKernel(jupyter: string): Promise<string> {
  const list = await run(jupyter, ["kernelspec", "list", "--json"]);
  let argv0: string | undefined;
  if (list.code === 0) {
    try {
      const specs = JSON.parse(list.stdout).kernelspecs ?? {};
      argv0 = specs.deno?.spec?.argv?.[0];
    } catch { /* treated as missing */ }
  }
  if (argv0 && (await Deno.stat(argv0).catch(() => null))?.isFile) return `deno kernel: ${argv0}`;
  const inst = await run(Deno.execPath(), ["jupyter", "--install", "--force"]);
  if (inst.code !== 0) {
    throw new Error(
      `could not register the Deno Jupyter kernel: ${inst.stderr.trim() || inst.stdout.trim()}`,
    );
  }
  return `deno kernel registered (was ${
    argv0 ? `pointing at missing ${argv0}` : "missing"
  }): ${Deno.execPath()}`;
}

/** The notebooks in a folder: `*.ipynb`, sorted by name (their reading order). */
export async function listNotebooks(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".ipynb") && !e.name.startsWith(".")) {
      out.push(join(resolve(dir), e.name));
    }
  }
  return out.sort();
}

/** Result of {@link executeNotebook}. */
export interface ExecuteResult {
  notebook: string;
  /** The executed copy (written only when execution succeeded). */
  output: string;
  ok: boolean;
  seconds: number;
  /** The failing cell, when a cell failed. */
  failure?: FailedCell;
  /** Plot cells without an image (the run counts as failed). */
  plotProblems: string[];
  /** One-line reason when `ok` is false. */
  message?: string;
  /**
   * Plot cells whose image the kernel lost on an earlier attempt that ran again (see
   * {@link ExecuteOptions.lostDisplayRetries}); empty when the first attempt was complete.
   */
  retriedFor: string[];
  /** nbconvert's stderr (for the log when something failed). */
  stderr: string;
}

/** Options of {@link executeNotebook}. */
export interface ExecuteOptions {
  /** The jupyter command. */
  jupyter: string;
  /** Folder for the executed copy (created). */
  outDir: string;
  /** Per-cell timeout in seconds. Default 600. */
  cellTimeout?: number;
  /** Extra environment for the kernel (e.g. `WINNOW_NOTEBOOK_DATA`). */
  env?: Record<string, string>;
  /**
   * Times a notebook runs again when every cell succeeded but a plot cell came out without its
   * image. The Deno kernel sometimes sends a display after "idle" and Jupyter drops it (PLATFORM.md;
   * seen under heavy load despite the pause after each display), so one more run tells a lost
   * display from a plot that was never drawn. A cell error is never retried. Default 1.
   */
  lostDisplayRetries?: number;
}

/**
 * Executes one notebook headless with the Deno kernel into `outDir/<name>.ipynb`. The kernel's
 * working folder is the notebook's folder. Never throws for a failing cell: the result says which.
 */
export async function executeNotebook(notebook: string, o: ExecuteOptions): Promise<ExecuteResult> {
  const retriedFor: string[] = [];
  for (let attempt = 0;; attempt++) {
    const r = await executeOnce(notebook, o);
    if (r.ok || r.failure || !r.plotProblems.length || attempt >= (o.lostDisplayRetries ?? 1)) {
      return { ...r, retriedFor };
    }
    retriedFor.push(...r.plotProblems);
  }
}

async function executeOnce(notebook: string, o: ExecuteOptions): Promise<Omit<ExecuteResult, "retriedFor">> {
  const t0 = performance.now();
  const outDir = resolve(o.outDir);
  await Deno.mkdir(outDir, { recursive: true });
  const name = basename(notebook);
  const output = join(outDir, name);
  await Deno.remove(output).catch(() => {});
  const r = await run(o.jupyter, [
    "nbconvert",
    "--to",
    "notebook",
    "--execute",
    "--ExecutePreprocessor.kernel_name=deno",
    `--ExecutePreprocessor.timeout=${o.cellTimeout ?? 600}`,
    "--ExecutePreprocessor.startup_timeout=120",
    "--output-dir",
    outDir,
    "--output",
    name,
    resolve(notebook),
  ], { env: o.env });
  const seconds = (performance.now() - t0) / 1000;
  const base = { notebook, output, seconds, stderr: r.stderr, plotProblems: [] as string[] };
  const nb = await readNotebook(notebook);
  if (r.code !== 0) {
    const failure = failedCell(nb, r.stderr) ?? undefined;
    const tail = r.stderr.replace(ANSI, "").trim().split("\n").slice(-3).join(" | ");
    return {
      ...base,
      ok: false,
      failure,
      message: failure
        ? `${failure.name} failed: ${failure.error}`
        : `nbconvert exited with ${r.code}: ${tail}`,
    };
  }
  const executed = await readNotebook(output);
  const plotProblems = plotCellProblems(executed);
  if (plotProblems.length) return { ...base, ok: false, plotProblems, message: plotProblems.join("; ") };
  return { ...base, ok: true };
}

/** The MIME types the HTML report shows, best first (one per output). */
export const HTML_PRIORITY = [
  "text/html",
  "text/markdown",
  "image/png",
  "image/jpeg",
  "image/svg+xml",
  "text/latex",
  "text/plain",
];

const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:";

/**
 * Makes nbconvert's HTML self-contained and safe to open anywhere: removes every `<script>` element
 * (the page needs none: plots are inline SVG or PNG), adds a Content-Security-Policy that forbids
 * loading anything that is not a data URI, and prefixes the ids inside each inline SVG (vega names
 * its clip paths `clip1`, `clip2`, … in every plot, so a later plot would clip with an earlier one's
 * rectangles).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { selfContainedHtml } from "./runner.ts";
 * const page = '<html><head><script src="file:///usr/share/javascript/mathjax/MathJax.js"></script></head><body>' +
 *   '<svg><clipPath id="clip1"/><g clip-path="url(#clip1)"/></svg><svg><clipPath id="clip1"/></svg></body></html>';
 * const out = selfContainedHtml(page);
 * assert.ok(!out.includes("<script"));
 * assert.ok(out.includes('id="s1-clip1"') && out.includes("url(#s1-clip1)") && out.includes('id="s2-clip1"'));
 * assert.ok(out.includes("Content-Security-Policy"));
 * ```
 */
export function selfContainedHtml(html: string): string {
  let out = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, "");
  let n = 0;
  out = out.replace(/<svg\b[\s\S]*?<\/svg>/g, (svg) => {
    const p = `s${++n}-`;
    return svg
      .replace(/\bid="([^"]+)"/g, (_, id) => `id="${p}${id}"`)
      .replace(/url\(#([^)]+)\)/g, (_, id) => `url(#${p}${id})`)
      .replace(/\bhref="#([^"]+)"/g, (_, id) => `href="#${p}${id}"`);
  });
  const meta = `<meta http-equiv="Content-Security-Policy" content="${CSP}">`;
  out = /<head[^>]*>/i.test(out) ? out.replace(/<head[^>]*>/i, (h) => `${h}\n${meta}`) : meta + out;
  return out;
}

/**
 * Converts an executed notebook into a self-contained HTML file `outDir/<name>.html`
 * (`nbconvert --to html`, then {@link selfContainedHtml}). Returns the file.
 */
export async function notebookToHtml(
  executed: string,
  o: { jupyter: string; outDir: string },
): Promise<string> {
  const outDir = resolve(o.outDir);
  await Deno.mkdir(outDir, { recursive: true });
  const name = basename(executed).replace(/\.ipynb$/, "");
  const r = await run(o.jupyter, [
    "nbconvert",
    "--to",
    "html",
    // PNG before SVG: nbconvert 6.5's HTML export runs inline SVG through its HTML sanitizer, which
    // strips every element of a vega SVG and leaves an empty box (seen in Chromium). PNG survives.
    `--NbConvertBase.display_data_priority=${JSON.stringify(HTML_PRIORITY)}`,
    "--output-dir",
    outDir,
    "--output",
    name,
    resolve(executed),
  ]);
  if (r.code !== 0) {
    throw new Error(`${executed}: nbconvert --to html failed: ${r.stderr.trim().split("\n").at(-1)}`);
  }
  const file = join(outDir, `${name}.html`);
  await Deno.writeTextFile(file, selfContainedHtml(await Deno.readTextFile(file)));
  return file;
}

/** Counts the image outputs (PNG or SVG) of an executed notebook: what its HTML report must show. */
export function countImageOutputs(nb: Notebook): number {
  return nb.cells.reduce((n, c) => n + imageOutputs(c).length, 0);
}
