/**
 * Issue 18, item 4: hostile file names (`<script>`, quotes, a newline, commas, leading = + - @,
 * bytes that are not UTF-8) through `score`, its CSV, the labeling app in headless Chromium and
 * its label CSV. Checked: one row per file, read back exactly by our reader AND by Python's csv
 * module (an independent reader), no text cell that a spreadsheet would run as a formula (the
 * OWASP rule, see lib/core/csv.ts), numbers such as -0.5 still numbers, and no script run in the
 * labeling app (dialogs and a global flag are watched while every image is shown) or in the
 * calibrate report built from those names.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { runCli } from "./cli.ts";
import { readResults } from "../lib/score/results.ts";
import { csvLine, parseCsv } from "../lib/core/csv.ts";
import { startLabelServer } from "../lib/labels/app/server.ts";
import { hasChromium, withChromium } from "./browser.ts";
import { FakeA1111 } from "./fake_servers.ts";
import { A1111Backend } from "../lib/backends/a1111.ts";
import { MANIFEST, runPipeline } from "../lib/generate/pipeline.ts";
import { mergeParts } from "../lib/score/merge.ts";

/** Names inside the folder (a `/` cannot be in a name, so `</script>` spans a sub-folder). */
const HOSTILE = [
  "<script>globalThis.__pwned=1<",
  "<img src=x onerror=globalThis.__pwned=1>.jpg",
  `"double" 'single'.jpg`,
  "new\nline.jpg",
  "comma, name.jpg",
  `=HYPERLINK("http:example.invalid","x").jpg`,
  "+SUM(1,2).jpg",
  "-2+3.jpg",
  "@cmd.jpg",
  "\ttab.jpg",
];
const FILES = [join(HOSTILE[0], "script>.jpg"), ...HOSTILE.slice(1)];
const PYTHON = "/usr/bin/python3";

async function hostileFolder(): Promise<{ dir: string; files: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "winnow-hostile-" });
  const img = join(dir, "img");
  await Deno.mkdir(join(img, HOSTILE[0]), { recursive: true });
  let seed = 1;
  for (const f of FILES) {
    await sharp({
      create: { width: 24, height: 16, channels: 3, background: { r: seed * 20, g: 90, b: 40 } },
    })
      .jpeg().toFile(join(img, f));
    seed++;
  }
  // A name that is not UTF-8 (Deno cannot even write one: Python does).
  const py = await new Deno.Command(PYTHON, {
    args: [
      "-c",
      "import os,sys; open(os.path.join(os.fsencode(sys.argv[1]), b'latin1-\\xe9t\\xe9.jpg'), 'wb').write(b'x')",
      img,
    ],
  }).output();
  assert.equal(py.code, 0, new TextDecoder().decode(py.stderr));
  return { dir, files: FILES.map((f) => join(img, f)) };
}

/** Python's csv module reads the file: rows of cells, as a spreadsheet import would see them. */
async function pythonCsv(path: string): Promise<string[][]> {
  const r = await new Deno.Command(PYTHON, {
    args: [
      "-c",
      "import csv,json,sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))))",
      path,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  return JSON.parse(new TextDecoder().decode(r.stdout));
}

/** No cell a spreadsheet would run: text starting with = + - @ tab CR is guarded; numbers are numbers. */
function assertNoFormula(rows: string[][], file: string) {
  for (const [i, row] of rows.entries()) {
    for (const cell of row) {
      if (/^[=+\-@\t\r]/.test(cell)) {
        assert.ok(
          cell !== "" && Number.isFinite(Number(cell)),
          `${file} row ${i}: formula cell ${JSON.stringify(cell)}`,
        );
      }
    }
  }
}

Deno.test("CSV: every string survives a write and a read; formula text is guarded, numbers are not", () => {
  const values = [
    "=1+1",
    "+x",
    "-y",
    "@z",
    "\tt",
    "\rr",
    "'=already",
    "''+two",
    "'plain",
    "-",
    "a,b",
    'q"q',
    "l\nl",
  ];
  const text = csvLine(values) + csvLine([-0.5, 1e-7, -3]);
  const [strings, numbers] = parseCsv(text);
  assert.deepEqual(strings.fields, values);
  assert.deepEqual(numbers.fields, ["-0.5", "1e-7", "-3"]);
  assert.equal(text.split("\n").at(-2), "-0.5,1e-7,-3");
  for (const cell of text.split(/,|\n/)) assert.ok(!/^[=+@]/.test(cell), cell);
});

Deno.test("score: hostile file names give one row each, exact paths, no formula cell, readable by Python", async () => {
  const { dir, files } = await hostileFolder();
  const out = join(dir, "scores.csv");
  const r = await runCli("score", [
    join(dir, "img"),
    "--out",
    out,
    "--quiet",
    "--heuristics",
    "sharpness,exposure",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const rows = await readResults(out);
  assert.equal(rows.length, files.length + 1);
  for (const f of files) {
    const row = rows.find((x) => x.path === f);
    assert.ok(row, `no row for ${JSON.stringify(f)}`);
    assert.equal(row.error, null, `${f}: ${row.error}`);
    assert.equal(row.width, 24);
  }
  const latin = rows.find((x) => String(x.path).includes("latin1-"))!;
  assert.equal(latin.error_kind, "unreadable");
  assert.match(String(latin.error), /not valid UTF-8/);
  const py = await pythonCsv(out);
  assert.equal(py.length, files.length + 2, "header + one record per file");
  assert.ok(py.every((row) => row.length === py[0].length), "every record has every column");
  assertNoFormula(py, out);
  // What Python sees, minus the guard quote, is the path.
  const pathCol = py[0].indexOf("path");
  const seen = py.slice(1).map((row) => row[pathCol].replace(/^'(?=[=+\-@\t\r])/, ""));
  for (const f of files) assert.ok(seen.includes(f), `python lost ${JSON.stringify(f)}`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "label app: hostile names are shown as text, no script runs, the label CSV keeps them",
  ignore: !hasChromium,
  async fn() {
    const { dir, files } = await hostileFolder();
    const s = await startLabelServer({ images: [join(dir, "img")], out: join(dir, "labels"), rater: "ann" });
    try {
      const names = s.session.images.map((i) => i.name).sort();
      assert.deepEqual(names, FILES.map((f) => f.split("/").at(-1)!).sort());
      await withChromium(async (ctx) => {
        const page = await ctx.newPage();
        const dialogs: string[] = [];
        page.on("dialog", (d) => {
          dialogs.push(d.message());
          void d.dismiss();
        });
        await page.goto(s.url);
        await page.waitForFunction(() => (globalThis as { __winnow?: { ready: boolean } }).__winnow?.ready);
        const shown: string[] = [];
        for (let i = 0; i < files.length; i++) {
          await page.waitForSelector("#panel h2");
          shown.push(await page.locator("#panel h2").innerText());
          await page.keyboard.press("y");
          await page.keyboard.press("3");
          await page.keyboard.press("ArrowRight");
        }
        await page.waitForFunction(() =>
          (globalThis as { __winnow?: { pending: number } }).__winnow?.pending === 0
        );
        assert.deepEqual(dialogs, []);
        assert.equal(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined);
        assert.equal(await page.locator("#panel img, #panel script").count(), 0);
        for (const n of names) {
          assert.ok(
            shown.some((t) => t.endsWith(`— ${n.replace(/\s+/g, " ").trim()}`) || t.includes(n)),
            `${JSON.stringify(n)} in ${JSON.stringify(shown)}`,
          );
        }
      });
    } finally {
      await s.close();
    }
    const csv = join(dir, "labels", "ann", "images.csv");
    const py = await pythonCsv(csv);
    assert.equal(py.length, files.length + 1, "a label row per image");
    assertNoFormula(py, csv);
    const ours = parseCsv(await Deno.readTextFile(csv)).slice(1).map((r) => r.fields[0]);
    for (const f of FILES) assert.ok(ours.some((p) => p.endsWith(f)), `label row for ${JSON.stringify(f)}`);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "calibrate report: hostile names in the labels and scores run no script in Chromium",
  ignore: !hasChromium,
  async fn() {
    const { dir, files } = await hostileFolder();
    const scores = join(dir, "scores.csv");
    const s = await runCli("score", [
      join(dir, "img"),
      "--out",
      scores,
      "--quiet",
      "--heuristics",
      "sharpness",
    ]);
    assert.equal(s.code, 0, s.stderr);
    // Labels next to the images: paths relative to the label file, half usable.
    const labels = join(dir, "images.csv");
    await Deno.writeTextFile(
      labels,
      csvLine(["path", "usable", "quality", "errors"]) +
        FILES.map((f, i) => csvLine([`img/${f}`, i % 2 ? "yes" : "no", 3, i % 2 ? "" : "blur"])).join(""),
    );
    const report = join(dir, "report.html");
    const r = await runCli("calibrate", [
      "--labels",
      labels,
      "--scores",
      scores,
      "--heuristic",
      "laplacian_var",
      "--bootstrap",
      "50",
      "--report",
      report,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const html = await Deno.readTextFile(report);
    assert.doesNotMatch(html, /<script|onerror=/i);
    await withChromium(async (ctx) => {
      const page = await ctx.newPage();
      const dialogs: string[] = [];
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      await page.goto(`file://${report}`);
      await page.waitForLoadState("load");
      assert.deepEqual(dialogs, []);
      assert.equal(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined);
    });
    // Where the report names a file, it is escaped text.
    for (const f of files) {
      const name = f.split("/").at(-1)!;
      assert.ok(!(/[<>&"]/.test(name) && html.includes(name)), `${name} unescaped in the report`);
    }
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("generate: a hostile prompt reaches the server and the manifest unchanged, one line per image", async () => {
  const prompt =
    `=HYPERLINK("http:x","y"), a "fox" <script>globalThis.__pwned=1</script>\nline 2 \u00e9\u0000`;
  const fake = new FakeA1111();
  const out = await Deno.makeTempDir({ prefix: "winnow-hostile-gen-" });
  try {
    const r = await runPipeline({
      backends: [new A1111Backend({ url: fake.url })],
      out,
      n: 2,
      request: { prompt, negativePrompt: "-blurry, @ugly", width: 32, height: 32, steps: 2, seed: 3 },
      heuristics: ["sharpness"],
      scoreJobs: 1,
    });
    assert.equal(r.rows.length, 2);
    assert.deepEqual(fake.to("/sdapi/v1/txt2img").map((x) => (x.body as { prompt: string }).prompt), [
      prompt,
      prompt,
    ]);
    const lines = (await Deno.readTextFile(join(out, MANIFEST))).split("\n").filter(Boolean);
    assert.equal(lines.length, 2);
    for (const l of lines) assert.equal(JSON.parse(l).prompt, prompt);
  } finally {
    await fake.close();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("merge: CSV parts with formula-like paths merge to CSV and Parquet with every string exact", async () => {
  const dir = await Deno.makeTempDir({ prefix: "winnow-hostile-merge-" });
  const paths = ["=HYPERLINK(1)", "'=already quoted", "+a", "plain", "-b"];
  const cols = ["path", "error", "v"];
  await Deno.writeTextFile(
    join(dir, "p0.csv"),
    csvLine(cols) + csvLine([paths[0], null, -0.5]) + csvLine([paths[1], "@x", 1]),
  );
  await Deno.writeTextFile(
    join(dir, "p1.csv"),
    csvLine(cols) + paths.slice(2).map((p, i) => csvLine([p, null, i])).join(""),
  );
  for (const out of ["all.csv", "all.parquet"]) {
    await mergeParts([join(dir, "p0.csv"), join(dir, "p1.csv")], join(dir, out));
    const rows = await readResults(join(dir, out));
    assert.deepEqual(rows.map((r) => r.path).sort(), [...paths].sort(), out);
    assert.equal(rows.find((r) => r.path === paths[1])!.error, "@x", out);
    assert.equal(rows.find((r) => r.path === paths[0])!.v, -0.5, out);
  }
  assertNoFormula(await pythonCsv(join(dir, "all.csv")), "all.csv");
  await Deno.remove(dir, { recursive: true });
});
