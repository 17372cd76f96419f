/**
 * Checks the HTML reports of `deno task report` in a real browser (Debian's headless Chromium via
 * playwright-core): every image output of each executed notebook must be on its page as a visible,
 * loaded `<img>` or `<svg>`, no page may hold a script, and nothing may be requested from outside.
 * Writes a full-page screenshot of each page when asked.
 *
 * playwright-core reads `/proc` when it loads, which Deno allows only with `--allow-all`, so run it
 * as `deno run -A lib/notebook/report_check.ts --html DIR --executed DIR [--shots DIR]`; it prints one JSON
 * line per page and exits 1 when a page fails.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { basename, join, resolve } from "node:path";
import { countImageOutputs, listNotebooks, readNotebook } from "./runner.ts";

/** What the browser found on one report page. */
export interface PageCheck {
  page: string;
  /** Image outputs in the executed notebook. */
  expected: number;
  /** Top-level `<img>`/`<svg>` elements in the page's output areas. */
  found: number;
  /** Of those, the ones not visible (under 50×50 CSS px), not loaded, or (SVG) without drawn marks. */
  invisible: number;
  /** Problems, empty when the page is good. */
  problems: string[];
}

/** Chromium flags that keep it off the network and out of the way. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const FIND = `[...document.querySelectorAll(".jp-OutputArea-output img, .jp-OutputArea-output svg")]
  .filter((e) => !e.parentElement?.closest("svg"))
  .map((e) => {
    const box = e.getBoundingClientRect();
    // An <img> must have loaded; an <svg> must hold drawn marks (a sanitised SVG keeps its size but
    // loses every element, which shows as an empty box).
    const loaded = e.tagName === "IMG"
      ? e.complete && e.naturalWidth > 0
      : e.querySelectorAll("path, rect, line, circle, text").length > 0;
    return { w: box.width, h: box.height, loaded };
  })`;

/** Opens each `<name>.html` in `htmlDir` for every executed notebook in `executedDir` and checks it. */
export async function checkReports(
  htmlDir: string,
  executedDir: string,
  o: { shots?: string; executablePath?: string } = {},
): Promise<PageCheck[]> {
  const { chromium } = await import("playwright-core");
  const profile = await Deno.makeTempDir({ prefix: "winnow_chromium_" });
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: o.executablePath ?? "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const out: PageCheck[] = [];
  try {
    const page = await browser.newPage();
    const outside: string[] = [];
    page.on("request", (q) => {
      if (!/^(data|file):/.test(q.url())) outside.push(q.url());
    });
    for (const nbFile of await listNotebooks(executedDir)) {
      const name = basename(nbFile, ".ipynb");
      const file = resolve(htmlDir, `${name}.html`);
      const problems: string[] = [];
      const expected = countImageOutputs(await readNotebook(nbFile));
      const text = await Deno.readTextFile(file).catch(() => null);
      if (text === null) {
        out.push({ page: file, expected, found: 0, invisible: 0, problems: ["no such page"] });
        continue;
      }
      if (/<script\b/i.test(text)) problems.push("the page holds a <script>");
      outside.length = 0;
      await page.goto(`file://${file}`);
      const found = await page.evaluate(FIND) as { w: number; h: number; loaded: boolean }[];
      const invisible = found.filter((f) => !(f.loaded && f.w >= 50 && f.h >= 50)).length;
      if (found.length !== expected) {
        problems.push(`${found.length} img/svg on the page, ${expected} image outputs in the notebook`);
      }
      if (invisible) problems.push(`${invisible} image(s) not loaded or smaller than 50×50`);
      if (outside.length) problems.push(`requested from outside: ${outside.join(", ")}`);
      if (o.shots) {
        await Deno.mkdir(o.shots, { recursive: true });
        await page.screenshot({ path: join(o.shots, `winnow_report_${name}.png`), fullPage: true });
      }
      out.push({ page: file, expected, found: found.length, invisible, problems });
    }
  } finally {
    await browser.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
  return out;
}

if (import.meta.main) {
  const { values: o } = parseArgs({
    args: Deno.args,
    options: { html: { type: "string" }, executed: { type: "string" }, shots: { type: "string" } },
  });
  if (!o.html || !o.executed) {
    console.error("usage: deno run -A lib/notebook/report_check.ts --html DIR --executed DIR [--shots DIR]");
    Deno.exit(2);
  }
  const checks = await checkReports(o.html, o.executed, { shots: o.shots });
  for (const c of checks) console.log(JSON.stringify(c));
  const bad = checks.filter((c) => c.problems.length);
  console.log(`${checks.length - bad.length} of ${checks.length} report page(s) show every plot`);
  Deno.exit(bad.length || checks.length === 0 ? 1 : 0);
}
