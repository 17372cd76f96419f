/**
 * The notebooks: committed copies obey the output rule; `deno task notebooks` executes every one
 * headless with the Deno kernel and every plot cell comes out with an image; a broken cell makes
 * the runner fail with the notebook and cell named; `deno task report` gives HTML pages that show
 * every plot in headless Chromium.
 *
 * The execution tests need Debian's jupyter (`/usr/bin/jupyter`) and the browser test
 * `/usr/bin/chromium`; without them those tests are skipped with a message saying what to install
 * (CI installs both).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { basename, join } from "node:path";
import {
  countImageOutputs,
  imageOutputs,
  listNotebooks,
  type Notebook,
  outputRuleProblems,
  readNotebook,
} from "../lib/notebook/runner.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const NOTEBOOKS = join(ROOT, "notebooks");
const JUPYTER = "/usr/bin/jupyter";
const CHROMIUM = "/usr/bin/chromium";
const exists = (p: string) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
};
const hasJupyter = exists(JUPYTER);
const hasChromium = exists(CHROMIUM);
if (!hasJupyter) {
  console.warn(
    `SKIPPING notebook execution tests: ${JUPYTER} not found. Install with: apt-get install -y ` +
      "--no-install-recommends jupyter-nbconvert jupyter-client python3-ipykernel",
  );
}
if (!hasChromium) {
  console.warn(`SKIPPING the HTML report browser test: ${CHROMIUM} not found (apt-get install -y chromium)`);
}

const PERMS = ["--allow-read", "--allow-write", "--allow-env", "--allow-ffi", "--allow-sys", "--allow-run"];

async function cli(name: string, args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMS, join(ROOT, "lib", "cli", `${name}.ts`), ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

function plotCells(nb: Notebook) {
  return nb.cells.filter((c) => c.cell_type === "code" && c.metadata?.tags?.includes("plot"));
}

function notebook(cells: { id: string; source: string; tags?: string[] }[]): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
    cells: cells.map((c) => ({
      cell_type: "code",
      id: c.id,
      metadata: c.tags ? { tags: c.tags } : {},
      source: c.source,
      outputs: [],
      execution_count: null,
    })),
  });
}

Deno.test("committed notebooks obey the output rule: no outputs, an id on every cell, kernel deno", async () => {
  const files = await listNotebooks(NOTEBOOKS);
  assert.deepEqual(files.map((f) => basename(f)), [
    "01_pipeline.ipynb",
    "02_small_faces.ipynb",
    "03_detector_confidence.ipynb",
    "04_calibration.ipynb",
    "05_inpainting_skin.ipynb",
    "06_saliency.ipynb",
    "07_validity.ipynb",
    "08_evaluation.ipynb",
    "09_ab_preference.ipynb",
    "10_bias_audit.ipynb",
  ]);
  for (const f of files) {
    const nb = await readNotebook(f);
    assert.deepEqual(outputRuleProblems(nb), [], basename(f));
    assert.ok(plotCells(nb).length >= 1, `${basename(f)} has no cell tagged plot`);
    // Each notebook says which data set it used (its first code cell shows notebookDataset's description).
    assert.ok(
      nb.cells.some((c) => String(c.source).includes("notebookDataset")),
      `${basename(f)} never names its data set`,
    );
  }
});

Deno.test("the output-rule check fails on a notebook with outputs and names the cell", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "saved.ipynb");
  const nb = JSON.parse(notebook([{ id: "a", source: "1" }, { id: "b", source: "2" }]));
  nb.cells[1].outputs = [{ output_type: "stream", name: "stdout", text: "2\n" }];
  nb.cells[1].execution_count = 4;
  await Deno.writeTextFile(file, JSON.stringify(nb));
  const r = await cli("notebooks", ["--check", file]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /saved\.ipynb: cell 2 \(id "b"\) has 1 output\(s\)/);
  assert.match(r.out, /--strip/);
  const s = await cli("notebooks", ["--strip", file]);
  assert.equal(s.code, 0, s.out);
  assert.equal((await cli("notebooks", ["--check", file])).code, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "a broken cell makes the runner fail, naming the notebook and the cell",
  ignore: !hasJupyter,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const file = join(dir, "broken.ipynb");
    await Deno.writeTextFile(
      file,
      notebook([
        { id: "fine", source: "const x = 1;" },
        { id: "breaks-here", source: 'const y = x + 1;\nthrow new Error("deliberately broken cell");' },
        { id: "never-runs", source: "console.log('after');" },
      ]),
    );
    const noImage = join(dir, "no_image.ipynb");
    await Deno.writeTextFile(
      noImage,
      notebook([{ id: "draws-nothing", source: "const z = 2;", tags: ["plot"] }]),
    );
    // A plot whose image is missing on the first run only, as when the kernel loses a display:
    // the runner runs it once more and says so; a plot never drawn (above) still fails.
    const lostOnce = join(dir, "lost_once.ipynb");
    const marker = join(dir, "first-run-done");
    const png =
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    await Deno.writeTextFile(
      lostOnce,
      notebook([{
        id: "drawn-second-time",
        tags: ["plot"],
        source:
          `let again = true;\ntry { Deno.statSync(${JSON.stringify(marker)}); } catch { again = false; }\n` +
          `if (!again) Deno.writeTextFileSync(${JSON.stringify(marker)}, "1");\n` +
          `else { await Deno.jupyter.display({ "image/png": "${png}" }, { raw: true }); ` +
          `await new Promise((r) => setTimeout(r, 300)); }`,
      }]),
    );
    const r = await cli("notebooks", [file, noImage, lostOnce, "--out-dir", join(dir, "out")]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /ok\s+lost_once\.ipynb.*\n\s+ran twice: .*cell 1 \(id "drawn-second-time"\)/);
    assert.match(
      r.out,
      /FAIL\s+broken\.ipynb.*cell 2 \(id "breaks-here"\) failed: Error: deliberately broken cell/,
    );
    assert.match(
      r.out,
      /FAIL\s+no_image\.ipynb.*cell 1 \(id "draws-nothing"\) is tagged plot but has no image/,
    );
    assert.match(r.out, /2 of 3 notebook\(s\) failed/);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name:
    "deno task notebooks runs every notebook; every plot cell has a PNG or SVG; the HTML reports show them all",
  ignore: !hasJupyter,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const out = await Deno.makeTempDir({ prefix: "winnow_notebooks_" });
    const t0 = performance.now();
    const r = await cli("notebooks", ["--out-dir", out]);
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(r.code, 0, r.out);
    console.log(`notebooks executed in ${seconds.toFixed(1)} s`);
    const names = (await listNotebooks(NOTEBOOKS)).map((f) => basename(f));
    const executed: Record<string, Notebook> = {};
    for (const name of names) {
      const nb = await readNotebook(join(out, name));
      executed[name] = nb;
      assert.equal(
        nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === "error").length,
        0,
      );
      for (const c of plotCells(nb)) {
        assert.ok(imageOutputs(c).length >= 1, `${name}: cell ${c.id} has no image`);
      }
      // The first output names the data set (shared or synthetic).
      const first = nb.cells.flatMap((c) => c.outputs ?? [])[0];
      assert.match(
        String(first?.data?.["text/markdown"] ?? ""),
        /\*\*Data set:\*\* (shared|synthetic)/,
        name,
      );
    }

    await t.step({
      name: "deno task report: self-contained HTML, every plot present in headless Chromium",
      ignore: !hasChromium,
      async fn() {
        const html = join(out, "html");
        const rep = await cli("report", ["--in", out, "--out", html]);
        assert.equal(rep.code, 0, rep.out);
        for (const name of names) {
          const page = await Deno.readTextFile(join(html, name.replace(/\.ipynb$/, ".html")));
          assert.ok(!/<script\b/i.test(page), `${name}: the report still holds a script`);
          assert.match(page, /Content-Security-Policy/);
        }
        // playwright-core needs --allow-all (it reads /proc when it loads): the check runs in a child.
        const check = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            join(ROOT, "lib", "notebook", "report_check.ts"),
            "--html",
            html,
            "--executed",
            out,
            "--shots",
            "/tmp",
          ],
          env: { NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(check.stdout) + new TextDecoder().decode(check.stderr);
        assert.equal(check.code, 0, text);
        const pages = text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
        assert.equal(pages.length, names.length, text);
        for (const p of pages) {
          assert.deepEqual(p.problems, [], p.page);
          const expected = countImageOutputs(executed[basename(p.page).replace(/\.html$/, ".ipynb")]);
          assert.ok(
            p.found >= 1 && p.found === expected,
            `${p.page}: ${p.found} img/svg, ${expected} image outputs`,
          );
        }
        console.log(
          `report pages: ${
            pages.map((p) => `${basename(p.page)} ${p.found}`).join(", ")
          }; screenshots in /tmp`,
        );
      },
    });
    await Deno.remove(out, { recursive: true }).catch(() => {});
  },
});
