import assert from "node:assert/strict";
import { join } from "node:path";
import { badness, runValidity, validityHeuristics, validityMarkdown } from "../lib/calibrate/validity.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const LABELS = join(ROOT, "data/labels/images.csv");

Deno.test({
  name: "validity CLI on 40 labeled images prints AUC with intervals per error type",
  async fn() {
    const out = await Deno.makeTempDir();
    try {
      const r = await new Deno.Command(join(ROOT, "deno"), {
        args: [
          "run",
          "-A",
          join(ROOT, "lib/cli/validity.ts"),
          "--labels",
          LABELS,
          "--limit",
          "40",
          "--heuristics",
          "sharpness,exposure,text",
          "--resamples",
          "200",
          "--out",
          out,
          "--quiet",
        ],
        cwd: ROOT,
        env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      }).output();
      const stdout = new TextDecoder().decode(r.stdout);
      assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
      assert.match(stdout, /\| error type \| positives \/ images \| signal \| AUC \| 95 % interval \|/);
      // garbled_text is measured by the text heuristic's signals, with an interval around the AUC.
      const m = /\| garbled_text \| (\d+) \/ 40 \| text_garbled_score \| ([\d.]+) \| ([\d.]+)–([\d.]+) \|/
        .exec(stdout);
      assert.ok(m, stdout);
      const [pos, auc, low, high] = m.slice(1).map(Number);
      assert.ok(pos >= 5, `positives ${pos}`);
      assert.ok(low <= auc && auc <= high && high <= 1 && low >= 0, m[0]);
      assert.match(stdout, /\| unusable \| \d+ \/ 40 \| laplacian_var \| [\d.]+ \| [\d.]+–[\d.]+ \| 40 \|/);
      // Error types no heuristic speaks to are listed as such, not silently dropped.
      assert.match(
        stdout,
        /\| merged_objects \| \d+ \/ 40 \| — \(no heuristic run here declares this error type\)/,
      );
      const json = JSON.parse(await Deno.readTextFile(join(out, "validity.json")));
      assert.equal(json.images, 40);
      assert.deepEqual(json.heuristics, ["sharpness", "exposure", "text"]);
      assert.equal(await Deno.readTextFile(join(out, "validity.md")), validityMarkdown(json));
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("validity measures a scores table: direction from the registry, empty values least suspicious", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const names = ["a", "b", "c", "d", "e", "f"];
    await Deno.writeTextFile(
      join(dir, "images.csv"),
      "path,usable,quality,errors\n" +
        names.map((n, i) => `${n}.jpg,${i < 2 ? "no" : "yes"},3,${i < 2 ? "garbled_text" : ""}`).join("\n") +
        "\n",
    );
    for (const n of names) await Deno.writeFile(join(dir, `${n}.jpg`), new Uint8Array([1]));
    // Garbled images score high (lower is better); c has no text (empty) and must rank as clean.
    const g = [0.9, 0.8, "", 0.1, 0.85, 0.2];
    await Deno.writeTextFile(
      join(dir, "scores.csv"),
      "path,error,text_garbled_score,laplacian_var\n" +
        names.map((n, i) => `${join(dir, n)}.jpg,,${g[i]},${100 + i}`).join("\n") + "\n",
    );
    const r = await runValidity({
      labels: join(dir, "images.csv"),
      scores: join(dir, "scores.csv"),
      heuristics: ["sharpness", "text"],
      resamples: 50,
    });
    const garbled = r.errorTypes.find((t) => t.errorType === "garbled_text")!;
    assert.equal(garbled.positives, 2);
    const s = garbled.signals.find((x) => x.signal === "text_garbled_score")!;
    // positives 0.9, 0.8 against 0.85, 0.2, 0.1, empty: 7 of 8 pairs ordered right.
    assert.equal(s.auc, 7 / 8);
    assert.equal(s.present, 5);
    assert.ok(!garbled.signals.some((x) => x.signal === "laplacian_var"));
    assert.deepEqual(badness([null, 2], "higher_is_better"), [-3, -2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validity runs every offline heuristic of the registry, never a networked one", () => {
  const h = validityHeuristics();
  for (const n of ["sharpness", "faces", "text"]) assert.ok(h.includes(n), n);
  for (const n of ["probe", "clip_score", "pick_score", "aesthetic"]) assert.ok(!h.includes(n), n);
});

Deno.test("validity --save-scores keeps a table whose image paths are relative to its folder, sorted, and read back the same", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const table = join(dir, "models", "scores.csv");
    const a = await runValidity({
      labels: LABELS,
      limit: 12,
      heuristics: ["sharpness", "exposure"],
      resamples: 50,
      scoresOut: table,
      quiet: true,
    });
    const rows = (await Deno.readTextFile(table)).trim().split("\n").slice(1).map((l) => l.split(",")[0]);
    assert.equal(rows.length, 12);
    for (const p of rows) {
      assert.ok(!p.startsWith("/"), `absolute path in the kept table: ${p}`);
      assert.ok((await Deno.stat(join(dir, "models", p))).isFile, p);
    }
    assert.deepEqual(rows, [...rows].sort());
    // Read back from the table, the measurement is the same as when scored.
    const b = await runValidity({
      labels: LABELS,
      limit: 12,
      heuristics: ["sharpness", "exposure"],
      scores: table,
      resamples: 50,
      quiet: true,
    });
    assert.equal(b.images, a.images);
    assert.deepEqual(b.errorTypes, a.errorTypes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
