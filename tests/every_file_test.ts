/**
 * Issue 18, item 1: every image-like file in a folder gets exactly one row, whatever it is — a
 * BMP/ICO/Netpbm image, a broken link, a named pipe, a file root cannot read either, a file that
 * vanishes between listing and scoring — and `--verbose` names the non-image files skipped.
 * Tests run as root, for whom permissions do not stop a read: unreadability is a link to
 * /proc/self/mem (read() fails with EIO for everyone) and a FIFO (never opened: it would block).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { runCli } from "./cli.ts";
import { readResults } from "../lib/score/results.ts";
import { listImages } from "../lib/core/files.ts";
import { scoreFiles } from "../lib/score/batch.ts";
import { openResults } from "../lib/score/results.ts";
import { scoreColumns } from "../lib/score/batch.ts";
import { resolveHeuristics } from "../lib/heuristics/registry.ts";
import { type Rgba, writeBmp, writePnm } from "./bmp_writer.ts";

const GRAY: Rgba = {
  width: 6,
  height: 4,
  data: new Uint8Array(6 * 4 * 4).map((_, i) => i % 4 === 3 ? 255 : (i * 37) % 256),
};

/** Builds the awkward folder; returns the expected error_kind (or "" for decoded) per file name. */
async function awkwardFolder(dir: string): Promise<Record<string, string>> {
  await Deno.writeFile(join(dir, "photo.bmp"), writeBmp(GRAY, { bpp: 24 }));
  await Deno.writeFile(join(dir, "photo.ppm"), writePnm(GRAY, 6));
  await Deno.writeFile(
    join(dir, "photo.png"),
    await sharp({ create: { width: 6, height: 4, channels: 3, background: "#808080" } }).png().toBuffer(),
  );
  await Deno.mkdir(join(dir, "folder.png"));
  await Deno.writeFile(join(dir, "folder.png", "inside.pgm"), writePnm(GRAY, 5));
  await Deno.symlink(join(dir, "gone.png"), join(dir, "dangling.png"));
  await Deno.symlink("/proc/self/mem", join(dir, "unreadable.jpg"));
  const fifo = await new Deno.Command("mkfifo", { args: [join(dir, "pipe.png")] }).output();
  assert.equal(fifo.code, 0, "mkfifo");
  await Deno.writeFile(join(dir, "empty.gif"), new Uint8Array());
  await Deno.writeTextFile(join(dir, "notes.txt"), "not an image\n");
  await Deno.writeTextFile(join(dir, "README"), "no ending\n");
  await Deno.symlink(join(dir, "folder.png"), join(dir, "link-to-folder"));
  return {
    "photo.bmp": "",
    "photo.ppm": "",
    "photo.png": "",
    "folder.png/inside.pgm": "",
    "dangling.png": "broken_link",
    "unreadable.jpg": "unreadable",
    "pipe.png": "not_a_file",
    "empty.gif": "empty",
  };
}

Deno.test("score: every image-like entry gets one row with a named error_kind; --verbose names the skipped", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "winnow-every-" });
  const dir = join(tmp, "in");
  await Deno.mkdir(dir);
  const want = await awkwardFolder(dir);
  const out = join(tmp, "scores.csv");
  const r = await runCli("score", [dir, "--out", out, "--heuristics", "sharpness", "--quiet", "--verbose"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = await readResults(out);
  assert.deepEqual(rows.map((x) => x.path).sort(), Object.keys(want).map((n) => join(dir, n)).sort());
  for (const [name, kind] of Object.entries(want)) {
    const row = rows.find((x) => x.path === join(dir, name))!;
    if (kind) {
      assert.equal(row.error_kind, kind, `${name}: ${row.error}`);
      assert.ok(String(row.error).startsWith(join(dir, name)), `${name}: error names the file: ${row.error}`);
    } else {
      assert.equal(row.error, null, `${name}: ${row.error}`);
      assert.deepEqual([row.width, row.height], [6, 4], name);
      assert.equal(typeof row.laplacian_var, "number", name);
    }
  }
  assert.match(r.stdout, /8 images, 4 unreadable/);
  assert.match(r.stdout, /3 non-image files skipped/);
  const skipped = r.stdout.split("skipped (not images):\n")[1]?.trim().split("\n").map((s) => s.trim());
  assert.deepEqual(skipped, ["README", "link-to-folder", "notes.txt"].map((n) => join(dir, n)));
});

Deno.test("a file that vanishes after the folder was listed gets a not_found row; the batch goes on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "winnow-vanish-" });
  await Deno.writeFile(join(dir, "a.bmp"), writeBmp(GRAY, { bpp: 24 }));
  await Deno.writeFile(join(dir, "b.bmp"), writeBmp(GRAY, { bpp: 24 }));
  const { files } = await listImages([dir]);
  await Deno.remove(join(dir, "a.bmp"));
  const out = join(dir, "scores.csv");
  const table = await openResults(out, scoreColumns(resolveHeuristics(["sharpness"]), false));
  const summary = await scoreFiles(files, table, { heuristics: ["sharpness"], jobs: 1 });
  await table.close();
  const rows = await readResults(out);
  assert.deepEqual(rows.map((x) => [x.path, x.error_kind]), [
    [join(dir, "a.bmp"), "not_found"],
    [join(dir, "b.bmp"), null],
  ]);
  assert.deepEqual(summary.errors, { not_found: 1 });
});
