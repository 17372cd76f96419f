/**
 * Issue 18, item 5: outputs written where the disk is full or the folder is read-only. Small
 * tmpfs mounts (full after a few rows or images) and read-only ones, mounted by the test: that
 * needs root and mount(8); elsewhere the tests are skipped with a message. Each run must stop with
 * one clear message naming the file (exit 1, no stack trace), leave only whole rows (a CSV or JSONL
 * row, one image's group of face rows, a manifest line), and a later run with room must resume:
 * exactly one row per image, none twice. Covered: the score table (CSV, JSON Lines, Parquet and
 * its journal), the `--faces` and `--text` tables, and `generate`'s images and manifest.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./cli.ts";
import { REFERENCE_DIR } from "./golden.ts";
import { csvLine, parseCsv } from "../lib/core/csv.ts";
import { readResults } from "../lib/score/results.ts";
import { type ManifestRow, openManifest, readManifest } from "../lib/generate/manifest.ts";
import { WriteError } from "../lib/core/errors.ts";

async function sh(cmd: string, args: string[]): Promise<{ code: number; err: string }> {
  const r = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output().catch((e) => ({
    code: 127,
    stderr: new TextEncoder().encode(String(e)),
  }));
  return { code: r.code, err: new TextDecoder().decode(r.stderr) };
}

const probe = await Deno.makeTempDir({ prefix: "winnow-mount-probe-" });
const canMount = (await sh("mount", ["-t", "tmpfs", "-o", "size=4k", "tmpfs", probe])).code === 0;
if (canMount) await sh("umount", [probe]);
await Deno.remove(probe).catch(() => {});
if (!canMount) console.warn("full_disk_test: SKIPPED: cannot mount a tmpfs here (needs root and mount)");

const IMAGES = `${REFERENCE_DIR}images`;
const wanted = async () => {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(join(d, e.name));
      else if (/\.(png|jpe?g|webp|tiff?|gif|avif|svg)$/i.test(e.name)) out.push(join(d, e.name));
    }
  };
  await walk(IMAGES);
  return out.sort();
};

Deno.test({
  name: "full disk: one clear message, only whole rows, and the next run with room resumes",
  ignore: !canMount,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "winnow-full-" });
    assert.equal((await sh("mount", ["-t", "tmpfs", "-o", "size=4k", "tmpfs", dir])).code, 0);
    try {
      const out = join(dir, "scores.csv");
      const r = await runCli("score", [IMAGES, "--out", out, "--quiet"]);
      assert.equal(r.code, 1, r.stdout);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0],
        /^error: .*scores\.csv: cannot write the next row: the disk is full .*run the same command again: it resumes\.$/,
      );
      const text = await Deno.readTextFile(out);
      assert.ok(text.endsWith("\n"), "no torn row");
      const before = parseCsv(text).length - 1;
      assert.ok(before >= 1 && before < 32, `${before} rows fitted`);
      assert.equal((await readResults(out)).length, before, "every row on disk reads back whole");

      assert.equal((await sh("mount", ["-o", "remount,size=1m", dir])).code, 0);
      const again = await runCli("score", [IMAGES, "--out", out, "--quiet"]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`, ${before} already in`));
      const rows = await readResults(out);
      assert.deepEqual(rows.map((x) => String(x.path)).sort(), await wanted());
    } finally {
      await sh("umount", [dir]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "read-only output folder: one clear message, nothing written",
  ignore: !canMount,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "winnow-ro-" });
    assert.equal((await sh("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", dir])).code, 0);
    try {
      const r = await runCli("score", [IMAGES, "--out", join(dir, "scores.csv"), "--quiet"]);
      assert.equal(r.code, 1, r.stdout);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0],
        /^error: .*scores\.csv: cannot create the result file: the file system is read-only/,
      );
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    } finally {
      await sh("umount", [dir]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

/** Mounts a tmpfs with `options` on a new temporary folder, runs `fn` in it, unmounts. */
async function withTmpfs(options: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "winnow-tmpfs-" });
  assert.equal((await sh("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir])).code, 0);
  try {
    await fn(dir);
  } finally {
    await sh("umount", [dir]);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The single line a failed run printed on stderr. */
function oneLine(r: { code: number; stdout: string; stderr: string }): string {
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  return lines[0];
}

Deno.test({
  name: "full disk, JSON Lines: one clear message, only whole lines, and the next run with room resumes",
  ignore: !canMount,
  async fn() {
    await withTmpfs("size=4k", async (dir) => {
      const out = join(dir, "scores.jsonl");
      const r = await runCli("score", [IMAGES, "--out", out, "--quiet"]);
      assert.match(
        oneLine(r),
        /^error: .*scores\.jsonl: cannot write the next row: the disk is full .*run the same command again: it resumes\.$/,
      );
      const text = await Deno.readTextFile(out);
      assert.ok(text.endsWith("\n"), "no torn line");
      const before = text.split("\n").filter(Boolean).map((l) => JSON.parse(l)).length;
      assert.ok(before >= 1 && before < 32, `${before} rows fitted`);

      assert.equal((await sh("mount", ["-o", "remount,size=1m", dir])).code, 0);
      const again = await runCli("score", [IMAGES, "--out", out, "--quiet"]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`, ${before} already in`));
      const rows = await readResults(out);
      assert.deepEqual(rows.map((x) => String(x.path)).sort(), await wanted());
    });
  },
});

Deno.test({
  name:
    "full disk at the end of a Parquet run: the file is not written, the journal keeps every row, the next run writes it",
  ignore: !canMount,
  async fn() {
    // The journal (FILE.partial.jsonl) holds the same lines as a .jsonl output of the same run:
    // room for it and one page more, not for the Parquet file beside it.
    const roomy = await Deno.makeTempDir({ prefix: "winnow-room-" });
    const measured = await runCli("score", [IMAGES, "--out", join(roomy, "s.jsonl"), "--quiet"]);
    assert.equal(measured.code, 0, measured.stderr);
    const journalBytes = (await Deno.stat(join(roomy, "s.jsonl"))).size;
    await Deno.remove(roomy, { recursive: true });
    const size = (Math.ceil(journalBytes / 4096) + 1) * 4096;
    await withTmpfs(`size=${size}`, async (dir) => {
      const out = join(dir, "scores.parquet");
      const r = await runCli("score", [IMAGES, "--out", out, "--quiet"]);
      assert.match(
        oneLine(r),
        /^error: .*scores\.parquet: cannot write the Parquet file: the disk is full .*Every row is kept in .*scores\.parquet\.partial\.jsonl\. .*it resumes\.$/,
      );
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["scores.parquet.partial.jsonl"]);
      const journal = await readResults(`${out}.partial.jsonl`);
      assert.deepEqual(journal.map((x) => String(x.path)).sort(), await wanted(), "every row in the journal");

      assert.equal((await sh("mount", ["-o", "remount,size=1m", dir])).code, 0);
      const again = await runCli("score", [IMAGES, "--out", out, "--quiet"]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /scored 0 in .*, 32 already in/);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["scores.parquet"]);
      const rows = await readResults(out);
      assert.deepEqual(rows.map((x) => String(x.path)).sort(), await wanted());
    });
  },
});

Deno.test({
  name: "full disk inside one image's --faces rows: none of them is left, the next run writes them all",
  ignore: !canMount,
  async fn() {
    // One photo with several faces, scored once with room: its face rows, as bytes.
    const roomy = await Deno.makeTempDir({ prefix: "winnow-room-" });
    const photo = join(roomy, "photo");
    await Deno.mkdir(photo);
    await Deno.copyFile(join(IMAGES, "facephoto6.png"), join(photo, "facephoto6.png"));
    const ref = await runCli("score", [
      photo,
      "--out",
      join(roomy, "ref.csv"),
      "--faces",
      join(roomy, "ref_faces.csv"),
      "--quiet",
    ]);
    assert.equal(ref.code, 0, ref.stderr);
    const refText = await Deno.readTextFile(join(roomy, "ref_faces.csv"));
    const [header, ...group] = refText.split(/(?<=\n)/);
    assert.ok(group.length >= 2, `${group.length} faces: the test needs an image with several`);
    // The faces table already holds rows of other images (a table shared by runs), so many bytes
    // that the disk's 2 pages end after this image's first face row and before its second.
    const fill = 8192 - group[0].length - 1;
    let prefill = header;
    for (let i = 0; prefill.length < fill - 200; i++) {
      prefill += csvLine([`/elsewhere/fill-${String(i).padStart(4, "0")}.png`, 0]);
    }
    prefill += csvLine(["/elsewhere/last.png", 0, "x".repeat(fill - prefill.length - 23)]);
    assert.equal(prefill.length, fill);
    const scores = join(roomy, "scores.csv");
    try {
      await withTmpfs("size=8k", async (dir) => {
        const faces = join(dir, "faces.csv");
        await Deno.writeTextFile(faces, prefill);
        const r = await runCli("score", [photo, "--out", scores, "--faces", faces, "--quiet"]);
        assert.match(
          oneLine(r),
          /^error: .*faces\.csv: cannot write the next row: the disk is full .*no partial row was left\. .*it resumes\.$/,
        );
        assert.equal(await Deno.readTextFile(faces), prefill, "none of the image's face rows, no torn row");
        assert.deepEqual(await readResults(scores), [], "no image row without its faces");

        assert.equal((await sh("mount", ["-o", "remount,size=1m", dir])).code, 0);
        const again = await runCli("score", [photo, "--out", scores, "--faces", faces, "--quiet"]);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(await Deno.readTextFile(faces), prefill + group.join(""), "every face row once");
        assert.equal((await readResults(scores)).length, 1);
      });
    } finally {
      await Deno.remove(roomy, { recursive: true });
    }
  },
});

Deno.test({
  name: "read-only folder for the --text table: one clear message naming it, before any image is scored",
  ignore: !canMount,
  async fn() {
    const roomy = await Deno.makeTempDir({ prefix: "winnow-room-" });
    try {
      await withTmpfs("ro,size=64k", async (dir) => {
        const scores = join(roomy, "scores.csv");
        const r = await runCli("score", [
          IMAGES,
          "--out",
          scores,
          "--text",
          join(dir, "text.csv"),
          "--quiet",
        ]);
        assert.match(
          oneLine(r),
          /^error: .*text\.csv: cannot create the result file: the file system is read-only .*run the same command again: it resumes\.$/,
        );
        assert.deepEqual([...Deno.readDirSync(dir)], []);
        assert.deepEqual(await readResults(scores), [], "no image scored");
      });
    } finally {
      await Deno.remove(roomy, { recursive: true });
    }
  },
});

Deno.test({
  name: "--shard into a read-only folder: one clear message naming the parts folder",
  ignore: !canMount,
  async fn() {
    await withTmpfs("ro,size=64k", async (dir) => {
      const parts = join(dir, "parts");
      const r = await runCli("score", [IMAGES, "--shard", "0/2", "--out", `${parts}/`, "--quiet"]);
      assert.match(
        oneLine(r),
        /^error: .*\/parts\/?: cannot create the folder of the shard's part: the file system is read-only \(/,
      );
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    });
  },
});

/** The run folder's images and manifest lines agree: each manifest file once and on disk, no other image. */
async function runFolder(dir: string): Promise<{ files: string[]; lines: number }> {
  const text = await Deno.readTextFile(join(dir, "manifest.jsonl")).catch(() => "");
  assert.ok(text === "" || text.endsWith("\n"), "no torn manifest line");
  const listed = text.split("\n").filter(Boolean).map((l) => String(JSON.parse(l).file));
  const images = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => /^\d{5}_\d+\.\w+$/.test(n));
  assert.deepEqual([...listed].sort(), [...new Set(listed)].sort(), "each image once in the manifest");
  assert.deepEqual(images.sort(), [...listed].sort(), "the images on disk are the manifest's");
  assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => /\.tmp-/.test(e.name)), [], "no temporary file");
  return { files: images, lines: listed.length };
}

Deno.test({
  name:
    "generate on a full disk: one clear message naming the image, whole manifest lines, the next run resumes",
  ignore: !canMount,
  async fn() {
    // The sample photos the folder backend serves are 90–540 kB: 600 kB holds a few.
    await withTmpfs("size=600k", async (dir) => {
      const out = join(dir, "run");
      const r = await runCli("generate", ["--out", out, "-n", "6", "--quiet"]);
      assert.match(
        oneLine(r),
        /^error: .*\/run\/\d{5}_0\.\w+: cannot (write the image|append to the manifest): the disk is full .*The run stopped; the \d+ images? before it .*it resumes\.$/,
      );
      const before = await runFolder(out);
      assert.ok(before.lines >= 1 && before.lines < 6, `${before.lines} images fitted`);

      assert.equal((await sh("mount", ["-o", "remount,size=4m", dir])).code, 0);
      const again = await runCli("generate", ["--out", out, "-n", "6", "--quiet"]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(
        again.stdout,
        new RegExp(`6 images \\(${6 - before.lines} new, ${before.lines} resumed\\)`),
      );
      const after = await runFolder(out);
      assert.equal(after.lines, 6);
      for (const f of before.files) assert.ok(after.files.includes(f), `${f} kept`);
    });
  },
});

Deno.test({
  name: "generate into a read-only folder: one clear message naming it, nothing written",
  ignore: !canMount,
  async fn() {
    await withTmpfs("ro,size=64k", async (dir) => {
      const r = await runCli("generate", ["--out", join(dir, "run"), "-n", "2", "--quiet"]);
      assert.match(
        oneLine(r),
        /^error: .*\/run: cannot create the run folder: the file system is read-only \(/,
      );
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    });
  },
});

Deno.test({
  name:
    "a manifest append that does not fit is cut back off: the lines before it stay whole, the next append works",
  ignore: !canMount,
  async fn() {
    await withTmpfs("size=8k", async (dir) => {
      // A first request's line, long enough that the disk's 2 pages end inside the second one.
      const first = JSON.stringify({ file: "00000_0.png", index: 0, of: 1, pad: "x".repeat(8000) }) + "\n";
      await Deno.writeTextFile(join(dir, "manifest.jsonl"), first);
      const manifest = await openManifest(dir);
      const row = { file: "00001_0.png", index: 1, of: 1, prompt: "p".repeat(400) } as unknown as ManifestRow;
      await assert.rejects(
        () => manifest.append([row]),
        (e: Error) => {
          assert.ok(e instanceof WriteError, String(e));
          assert.match(e.message, /manifest\.jsonl: cannot append to the manifest: the disk is full \(/);
          return true;
        },
      );
      await manifest.close();
      assert.equal(await Deno.readTextFile(join(dir, "manifest.jsonl")), first, "no torn line");
      assert.deepEqual((await readManifest(dir)).rows.map((r) => r.file), ["00000_0.png"]);

      assert.equal((await sh("mount", ["-o", "remount,size=1m", dir])).code, 0);
      const again = await openManifest(dir);
      await again.append([row]);
      await again.close();
      assert.deepEqual((await readManifest(dir)).rows.map((r) => r.file), ["00000_0.png", "00001_0.png"]);
    });
  },
});
