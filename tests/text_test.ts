import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { decodeBytes, type RgbImage } from "../lib/core/image.ts";
import { ImageContext } from "../lib/heuristics/types.ts";
import { DEFAULT_GARBLED_MAX, text } from "../lib/heuristics/text.ts";
import { DEFAULT_PADDLE_DIR, getPaddleOcr, PADDLE_FILES } from "../lib/models/ocr/paddle.ts";
import { runScoreJob } from "../lib/score/job.ts";
import { readResults } from "../lib/score/results.ts";

const ROOT = new URL("..", import.meta.url).pathname;

function svg(lines: string[]): string {
  const body = lines.map((l, i) =>
    `<text x="30" y="${90 + 80 * i}" font-family="DejaVu Sans" font-size="44" fill="#1a1a1a">${l}</text>`
  ).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="${60 + 80 * lines.length}">` +
    `<rect width="100%" height="100%" fill="#f3eee4"/>${body}</svg>`;
}

async function render(lines: string[]): Promise<Uint8Array> {
  return new Uint8Array(await sharp(new TextEncoder().encode(svg(lines))).png().toBuffer());
}

async function rendered(lines: string[]): Promise<RgbImage> {
  return await decodeBytes(await render(lines));
}

Deno.test("OCR reads a rendered word back", async () => {
  const ocr = await getPaddleOcr();
  const lines = await ocr.read(await rendered(["Lighthouse"]));
  assert.equal(lines.length, 1);
  assert.equal(lines[0].text.trim(), "Lighthouse");
  assert.ok(lines[0].confidence > 0.9, `confidence ${lines[0].confidence}`);
  assert.ok(lines[0].box.x >= 15 && lines[0].box.x <= 40, `box ${JSON.stringify(lines[0].box)}`);
});

Deno.test("correct English scores low, scrambled letters high", async () => {
  const good = new ImageContext(await rendered(["Welcome to the garden", "Fresh bread every morning"]));
  const bad = new ImageContext(await rendered(["Wqlecmxe tzo hte gdrzaen", "Frvshq brxad evkry mqrnnig"]));
  const g = await text.compute(good), b = await text.compute(bad);
  // Lines, or words when the detector separates them (the default resize enlarges this banner 3.3×).
  assert.ok((g.text_regions as number) >= 2, JSON.stringify(g));
  assert.ok((g.text_garbled_score as number) < 0.15, `good: ${JSON.stringify(g)}`);
  assert.ok((b.text_garbled_score as number) > DEFAULT_GARBLED_MAX, `scrambled: ${JSON.stringify(b)}`);
  assert.ok((g.text_area_frac as number) > 0.05 && (g.text_area_frac as number) < 0.6);
  const rows = good.details.get("text")!;
  // Every line (or word) with a Latin word of ≥ 3 letters is in the dictionary ("to" has none).
  assert.ok(rows.every((r) => r.in_dictionary === 1 || r.in_dictionary === null), JSON.stringify(rows));
  assert.ok(rows.filter((r) => r.in_dictionary === 1).length >= 2);
  assert.equal(rows[0].region, 1);
  assert.match(String(rows[0].text), /^Welcome/);
});

Deno.test("an image without text has no regions and empty scores", async () => {
  // A landscape without writing: sky gradient, sun glow, two hills.
  const shapes = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="320"><defs>` +
    `<linearGradient id="s" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#3a6fb0"/>` +
    `<stop offset="1" stop-color="#f0c890"/></linearGradient><radialGradient id="g">` +
    `<stop offset="0" stop-color="#fff6d0"/><stop offset="1" stop-color="#fff6d0" stop-opacity="0"/>` +
    `</radialGradient></defs><rect width="100%" height="100%" fill="url(#s)"/>` +
    `<circle cx="340" cy="150" r="90" fill="url(#g)"/>` +
    `<path d="M0 250 Q 120 170 260 240 T 480 220 V 320 H 0 Z" fill="#4f7a3a"/>` +
    `<path d="M0 290 Q 200 230 480 280 V 320 H 0 Z" fill="#3c5f2c"/></svg>`;
  const png = await sharp(new TextEncoder().encode(shapes)).png().toBuffer();
  const r = await text.compute(new ImageContext(await decodeBytes(new Uint8Array(png))));
  assert.equal(r.text_regions, 0);
  assert.equal(r.text_garbled_score, null);
  assert.equal(r.text_min_confidence, null);
});

Deno.test("a missing or corrupt model file is an error naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = await rendered(["Hello"]);
    const ctx = () => new ImageContext(img, { settings: { text: { modelDir: dir } } });
    await assert.rejects(async () => await text.compute(ctx()), (e: Error) => {
      assert.ok(e.message.includes(join(dir, PADDLE_FILES.det)), e.message);
      assert.match(e.message, /not found/);
      return true;
    });
    await Deno.writeTextFile(join(dir, PADDLE_FILES.det), "this is not an onnx model");
    await Deno.copyFile(join(DEFAULT_PADDLE_DIR, PADDLE_FILES.rec), join(dir, PADDLE_FILES.rec));
    await Deno.copyFile(join(DEFAULT_PADDLE_DIR, PADDLE_FILES.keys), join(dir, PADDLE_FILES.keys));
    await assert.rejects(async () => await text.compute(ctx()), (e: Error) => {
      assert.ok(e.message.startsWith(join(dir, PADDLE_FILES.det)), e.message);
      assert.match(e.message, /corrupt or not ONNX/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failing image is recorded in its row and the batch goes on; text rows on request", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(join(dir, "a_sign.png"), await render(["OPEN DAILY"]));
    await Deno.writeFile(join(dir, "b_broken.png"), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    await Deno.writeFile(join(dir, "c_sign.png"), await render(["Fresh bread"]));
    const out = join(dir, "scores.csv"), regions = join(dir, "text.csv");
    const r = await runScoreJob(
      [join(dir, "a_sign.png"), join(dir, "b_broken.png"), join(dir, "c_sign.png")],
      out,
      {
        heuristics: ["text"],
        details: { text: regions },
        jobs: 1,
        quiet: true,
      },
    );
    const rows = r.rows.sort((p, q) => String(p.path).localeCompare(String(q.path)));
    assert.equal(rows.length, 3);
    assert.ok(rows[1].error && String(rows[1].error).includes("b_broken.png"), JSON.stringify(rows[1]));
    assert.equal(rows[1].text_regions, null);
    assert.ok((rows[0].text_regions as number) >= 1 && (rows[2].text_regions as number) >= 1);
    const detail = await readResults(regions);
    const read = (file: string) =>
      detail.filter((d) => String(d.path).endsWith(file)).map((d) => String(d.text)).join("").replace(
        /\s+/g,
        "",
      );
    // The recogniser (trained mostly on Chinese) may drop the space between words.
    assert.deepEqual([read("a_sign.png"), read("c_sign.png")], ["OPENDAILY", "Freshbread"]);

    // A heuristic failure (no model files where the setting points) is recorded per row, too.
    const empty = join(dir, "no-models");
    await Deno.mkdir(empty);
    const cli = await new Deno.Command(join(ROOT, "deno"), {
      args: [
        "run",
        "-A",
        join(ROOT, "lib/cli/score.ts"),
        join(dir, "a_sign.png"),
        join(dir, "c_sign.png"),
        "--out",
        join(dir, "failed.csv"),
        "--heuristics",
        "text",
        "--set",
        `text.modelDir=${empty}`,
        "--jobs",
        "1",
        "--quiet",
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    }).output();
    const failed = await readResults(join(dir, "failed.csv"));
    assert.equal(failed.length, 2, new TextDecoder().decode(cli.stderr));
    for (const row of failed) {
      assert.match(String(row.error), new RegExp(PADDLE_FILES.det.replaceAll(".", "\\.")));
      assert.equal(row.error_kind, "score_failed");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
