/**
 * `deno task notebooks` — executes every notebook in `notebooks/` headless with the Deno kernel
 * (`jupyter nbconvert --execute`) into `out/notebooks/`, and fails when a cell fails, naming the
 * notebook and the cell. The work is in `lib/notebook/runner.ts`.
 *
 * @module
 */
import { basename, join } from "node:path";
import { shownPath } from "../core/files.ts";
import {
  ensureDenoKernel,
  executeNotebook,
  findJupyter,
  JUPYTER_INSTALL_HINT,
  listNotebooks,
  outputRuleProblems,
  readNotebook,
  stripOutputs,
} from "../notebook/runner.ts";
import { NOTEBOOK_OUT, PROJECT_DIR } from "../notebook/data.ts";
import { parseCommand, runMain, UsageError } from "./args.ts";

const HELP = `winnow notebooks — execute the notebooks headless and fail on any cell error.

Usage: deno task notebooks [NOTEBOOK.ipynb …] [--out-dir DIR] [--data shared|synthetic|DIR]
       deno task notebooks --check [NOTEBOOK.ipynb …]
       deno task notebooks --strip [NOTEBOOK.ipynb …]

With no notebook named, runs every notebooks/*.ipynb in name order. Each is executed with
\`jupyter nbconvert --to notebook --execute\` on the Deno kernel (registered with this Deno when
missing) into DIR/<name>.ipynb (default out/notebooks/). A failing cell stops its notebook; the
run goes on with the next one and exits 1 at the end, naming each notebook and cell that failed.
A cell tagged "plot" that comes out without a PNG or SVG image also fails.

Output rule: committed notebooks carry NO outputs (outputs: [], execution_count: null), every
cell has an id, and the kernel is deno. The run refuses notebooks that break the rule.
  --check    only check the rule (no Jupyter needed)
  --strip    rewrite the notebooks so that they obey it (after saving one from Jupyter Lab)
  --data     which data the notebooks use (sets WINNOW_NOTEBOOK_DATA; default: the real
             hand-labeled set shipped in data/labels/, else the offline synthetic set)

Needs Debian's jupyter-nbconvert and jupyter-client (see notebooks/README.md).
`;

await runMain(async () => {
  const { values: o, positionals } = parseCommand({
    "out-dir": { type: "string" },
    data: { type: "string" },
    check: { type: "boolean" },
    strip: { type: "boolean" },
  });
  if (o.help) return void console.log(HELP);
  if (o.check && o.strip) throw new UsageError("--check and --strip exclude each other");
  const notebooks = positionals.length ? positionals : await listNotebooks(join(PROJECT_DIR, "notebooks"));
  if (notebooks.length === 0) throw new UsageError("no notebooks found");
  const show = shownPath;

  if (o.strip) {
    for (const f of notebooks) {
      const nb = await readNotebook(f);
      await Deno.writeTextFile(f, JSON.stringify(stripOutputs(nb), null, 1) + "\n");
      console.log(`stripped ${show(f)}`);
    }
    return 0;
  }
  let broken = 0;
  for (const f of notebooks) {
    const problems = outputRuleProblems(await readNotebook(f));
    for (const p of problems) console.error(`${show(f)}: ${p}`);
    if (problems.length) broken++;
  }
  if (broken) {
    console.error(
      `${broken} notebook(s) break the output rule (no outputs, an id on every cell, kernel deno); ` +
        "run `deno task notebooks --strip` and commit the result",
    );
    return 1;
  }
  if (o.check) {
    console.log(`${notebooks.length} notebook(s) obey the output rule`);
    return 0;
  }

  const jupyter = await findJupyter();
  if (!jupyter) {
    console.error(`jupyter not found; ${JUPYTER_INSTALL_HINT}`);
    return 1;
  }
  console.log(await ensureDenoKernel(jupyter));
  const outDir = o["out-dir"] ?? NOTEBOOK_OUT;
  const env: Record<string, string> = o.data ? { WINNOW_NOTEBOOK_DATA: o.data } : {};
  const t0 = performance.now();
  const failed: string[] = [];
  for (const f of notebooks) {
    const r = await executeNotebook(f, { jupyter, outDir, env });
    if (r.ok) {
      console.log(`ok    ${basename(f)}  ${r.seconds.toFixed(1)} s → ${show(r.output)}`);
      if (r.retriedFor.length) {
        console.log(`      ran twice: the kernel lost a display the first time (${r.retriedFor.join("; ")})`);
      }
    } else {
      const line = `${show(f)}: ${r.message}`;
      failed.push(line);
      console.log(`FAIL  ${basename(f)}  ${r.seconds.toFixed(1)} s: ${r.message}`);
      if (!r.failure && r.plotProblems.length === 0) {
        console.error(r.stderr.trim().split("\n").slice(-15).join("\n"));
      }
    }
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (failed.length) {
    console.error(`\n${failed.length} of ${notebooks.length} notebook(s) failed (${secs} s):`);
    for (const l of failed) console.error(`  ${l}`);
    return 1;
  }
  console.log(`${notebooks.length} notebook(s) ran without errors in ${secs} s`);
  return 0;
});
