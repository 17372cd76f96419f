/**
 * `deno task report` — turns the executed notebooks in `out/notebooks/` into self-contained HTML
 * files (every plot an inline SVG or PNG, nothing loaded from anywhere) plus an index page. The
 * work is in `lib/notebook/runner.ts`.
 *
 * @module
 */
import { basename, join } from "node:path";
import { shownPath } from "../core/files.ts";
import {
  countImageOutputs,
  findJupyter,
  JUPYTER_INSTALL_HINT,
  listNotebooks,
  notebookToHtml,
  readNotebook,
} from "../notebook/runner.ts";
import { NOTEBOOK_OUT, PROJECT_DIR } from "../notebook/data.ts";
import { escapeHtml } from "../report/html.ts";
import { parseCommand, runMain, UsageError } from "./args.ts";

const HELP = `winnow report — executed notebooks → self-contained HTML reports.

Usage: deno task report [--in DIR] [--out DIR]

Converts every executed notebook DIR/*.ipynb (default out/notebooks/, written by
\`deno task notebooks\`) with \`jupyter nbconvert --to html\` into OUT/<name>.html (default
out/notebooks/html/) and writes OUT/index.html linking them. The pages load nothing: scripts are
removed, a Content-Security-Policy forbids external resources, and every plot is an inline SVG
or PNG. Run \`deno task notebooks\` first.
`;

await runMain(async () => {
  const { values: o } = parseCommand({ in: { type: "string" }, out: { type: "string" } }, {
    positionals: false,
  });
  if (o.help) return void console.log(HELP);
  const inDir = o.in ?? NOTEBOOK_OUT;
  const outDir = o.out ?? join(NOTEBOOK_OUT, "html");
  const names = new Set(
    (await listNotebooks(join(PROJECT_DIR, "notebooks")).catch(() => [])).map((f) => basename(f)),
  );
  const executed = (await listNotebooks(inDir).catch(() => []))
    .filter((f) => o.in !== undefined || names.size === 0 || names.has(basename(f)));
  if (executed.length === 0) {
    throw new UsageError(`no executed notebooks in ${inDir}: run \`deno task notebooks\` first`);
  }
  const jupyter = await findJupyter();
  if (!jupyter) {
    console.error(`jupyter not found; ${JUPYTER_INSTALL_HINT}`);
    return 1;
  }
  const entries: { file: string; figures: number; title: string }[] = [];
  for (const f of executed) {
    const nb = await readNotebook(f);
    const figures = countImageOutputs(nb);
    const first = nb.cells.find((c) => c.cell_type === "markdown");
    const src = first ? (Array.isArray(first.source) ? first.source.join("") : first.source) : "";
    const title = /^#\s+(.+)$/m.exec(src)?.[1]?.trim() ?? basename(f, ".ipynb");
    const html = await notebookToHtml(f, { jupyter, outDir });
    entries.push({ file: html, figures, title });
    console.log(`${shownPath(html)}: ${figures} figure(s)`);
  }
  const index = [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    "<title>winnow notebooks</title>",
    '<style>body{font-family:"DejaVu Sans",Verdana,sans-serif;max-width:800px;margin:2em auto;padding:0 1em}</style>',
    "</head><body>",
    "<h1>winnow notebooks</h1>",
    `<p>Executed headless and converted ${
      escapeHtml(new Date().toISOString().replace("T", " ").slice(0, 19))
    } UTC.</p>`,
    "<ol>",
    ...entries.map((e) =>
      `<li><a href="${escapeHtml(basename(e.file))}">${escapeHtml(e.title)}</a> (${e.figures} figures)</li>`
    ),
    "</ol>",
    "</body></html>",
    "",
  ].join("\n");
  await Deno.writeTextFile(join(outDir, "index.html"), index);
  console.log(`${shownPath(join(outDir, "index.html"))}: ${entries.length} report(s)`);
  return 0;
});
