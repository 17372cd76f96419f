/**
 * The labeling app's A/B mode in a real browser (Debian's headless Chromium driven by
 * playwright-core): a rater makes 20 choices with the keyboard (left, right, tie; one skip and one
 * undo on the way), the server is killed midway (SIGKILL) and started again, the rater finishes;
 * ab.csv then holds each choice once, in order, with the image the page showed on each side.
 *
 * Set WINNOW_LABEL_SCREENSHOTS=DIR to save a screenshot of the A/B page there.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import type { Page } from "playwright-core";
import { startLabelCli } from "./cli.ts";
import { loadAbFiles } from "../lib/labels/ab_format.ts";
import { fullAccess, hasChromium, runFileWithAllAccess, withChromium } from "./browser.ts";

const SHOTS = Deno.env.get("WINNOW_LABEL_SCREENSHOTS");

Deno.test({
  name: "A/B mode in Chromium (run in a child with --allow-all for playwright-core)",
  ignore: !hasChromium || fullAccess,
  async fn() {
    const r = await runFileWithAllAccess(import.meta.url);
    const out = r.out;
    assert.equal(r.code, 0, out);
    assert.match(out, /ok \| 1 passed/);
  },
});

const startCli = (args: string[]) => startLabelCli(args);

interface AbPageState {
  ready: boolean;
  pending: number;
  step: number;
  current: { left: { url: string }; right: { url: string }; prompt: string; repeat: boolean } | null;
}
const state = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { __winnowAb: AbPageState }).__winnowAb) as Promise<
    AbPageState
  >;

async function waitStep(page: Page, step: number) {
  await page.waitForFunction(
    (n) => {
      const w = (globalThis as unknown as { __winnowAb?: AbPageState }).__winnowAb;
      return !!w?.ready && w.pending === 0 && w.step === n;
    },
    step,
  );
}

Deno.test({
  name: "A/B mode in Chromium: 20 keyboard choices, server killed midway and restarted, ab.csv has each once",
  ignore: !hasChromium || !fullAccess,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "winnow-ab-browser-" });
    // Two runs of 24 prompts; every image differs in width, so the width tells which file it is.
    const fileOf = new Map<number, string>();
    for (const [r, run] of ["sdxl", "sd15"].entries()) {
      await Deno.mkdir(join(dir, run));
      const lines: string[] = [];
      for (let i = 0; i < 24; i++) {
        const file = `${run}_${String(i).padStart(2, "0")}.png`;
        const width = 96 + 2 * i + r;
        const bytes = new Uint8Array(
          await sharp({
            create: { width, height: 64, channels: 3, background: r ? "#6a8f3c" : "#3c5a8f" },
          }).png().toBuffer(),
        );
        fileOf.set(width, file);
        await Deno.writeFile(join(dir, run, file), bytes);
        lines.push(JSON.stringify({ file, prompt: `a watercolor of a lighthouse, variant ${i}` }));
      }
      await Deno.writeTextFile(join(dir, run, "manifest.jsonl"), lines.join("\n") + "\n");
    }
    const out = join(dir, "labels");
    const args = [
      "--ab",
      join(dir, "sdxl"),
      join(dir, "sd15"),
      "--out",
      out,
      "--rater",
      "ann",
      "--seed",
      "7",
    ];
    let cli = await startCli(args);
    const expected: { left: string; right: string; choice: string }[] = [];
    try {
      await withChromium(async (ctx) => {
        const page = ctx.pages()[0] ?? await ctx.newPage();
        const pageErrors: string[] = [];
        page.on("pageerror", (e) => pageErrors.push(String(e)));
        const open = async () => {
          await page.goto(cli.url);
          await page.waitForFunction(() =>
            (globalThis as unknown as { __winnowAb?: AbPageState }).__winnowAb?.ready === true
          );
        };
        await open();
        /** The files on each side, as the page shows them (read back from the image URLs). */
        const sides = async () => {
          const s = await state(page);
          const file = async (u: string) =>
            fileOf.get(
              (await sharp(new Uint8Array(await (await fetch(new URL(u, cli.url))).arrayBuffer())).metadata())
                .width!,
            )!;
          const shown = await page.$$eval(
            ".ab-frame img",
            (els) => els.map((e) => (e as unknown as { src: string }).src),
          );
          assert.deepEqual(
            shown.map((u) => new URL(u).pathname),
            [s.current!.left.url, s.current!.right.url].map((u) => new URL(u, cli.url).pathname),
          );
          return {
            left: await file(s.current!.left.url),
            right: await file(s.current!.right.url),
            prompt: s.current!.prompt,
          };
        };
        const keyFor = ["ArrowLeft", "ArrowRight", "ArrowLeft", "t", "ArrowRight"];
        const choiceOf: Record<string, string> = { ArrowLeft: "left", ArrowRight: "right", t: "tie" };
        let step = 0;
        for (let i = 0; i < 20; i++) {
          if (i === 10) {
            // kill the server without any shutdown code, start it again, reopen the page
            cli.child.kill("SIGKILL");
            await cli.child.status;
            cli = await startCli(args);
            await open();
            assert.equal((await state(page)).step, step);
          }
          if (i === 4) {
            // skip one pair: not a choice, not in ab.csv
            await page.keyboard.press("s");
            await waitStep(page, ++step);
          }
          const s = await sides();
          assert.equal(await page.textContent("#ab-prompt").then((t) => t!.startsWith(s.prompt)), true);
          if (i === 6) {
            // choose, then undo: the same pair comes back and the choice is not kept
            await page.keyboard.press("ArrowRight");
            await waitStep(page, step + 1);
            await page.keyboard.press("z");
            await waitStep(page, step);
            assert.deepEqual(await sides(), s);
          }
          const key = keyFor[i % keyFor.length];
          await page.keyboard.press(key);
          expected.push({ left: s.left, right: s.right, choice: choiceOf[key] });
          await waitStep(page, ++step);
          if (i === 0 && SHOTS) await page.screenshot({ path: join(SHOTS, "label_ab_mode.png") });
        }
        assert.match(await page.textContent("#progress-text") ?? "", /^\d+ \/ 24 pairs compared/);
        assert.deepEqual(pageErrors, []);
      });
      cli.child.kill("SIGTERM");
      await cli.child.status;
      const abFile = join(out, "ann", "ab.csv");
      const { rows } = await loadAbFiles([abFile]);
      assert.equal(rows.length, 20);
      rows.forEach((row, i) => {
        const name = (p: string) => p.split("/").pop();
        assert.deepEqual(
          { left: name(row.left_path), right: name(row.right_path), choice: row.choice },
          expected[i],
          `row ${i + 1}`,
        );
        assert.equal(row.left_system, name(row.left_path)!.split("_")[0]);
        assert.equal(row.right_system, name(row.right_path)!.split("_")[0]);
        assert.equal(row.rater, "ann");
      });
      // both sides were used for both runs (the order is randomised)
      assert.ok(rows.some((r) => r.left_system === "sdxl") && rows.some((r) => r.right_system === "sdxl"));
      // the log has every key: 20 choices, 1 skip, 1 undone choice and its undo
      const log = (await Deno.readTextFile(join(out, "ann", "log.jsonl"))).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      assert.equal(log.filter((e) => e.type === "ab").length, 22);
      assert.equal(log.filter((e) => e.type === "ab-undo").length, 1);
    } finally {
      try {
        cli.child.kill("SIGKILL");
      } catch { /* already ended */ }
      await cli.child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
