import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./cli.ts";
import { loadScorer } from "../lib/models/scorer.ts";
import { readResults } from "../lib/score/results.ts";
import { loadImageLabels, SHIPPED_IMAGE_LABELS } from "../lib/labels/format.ts";

Deno.test("deno task demo on 6 real labeled generations: confusion against the labels, held-out model, report of the mistakes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "winnow_demo_" });
  try {
    const r = await runCli("demo", [
      "--images",
      "6",
      "--rejected",
      "2",
      "--seed",
      "1",
      "--out-dir",
      dir,
      "--quiet",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const m = r.stdout.match(
      /caught (\d+) of the (\d+) images people rejected .*; lost (\d+) of the (\d+) images people kept/,
    );
    assert.ok(m, r.stdout);
    assert.equal(Number(m[2]), 2);
    assert.equal(Number(m[4]), 4);
    assert.match(r.stdout, /winnow kept\s+\d+\s+\d+\n\s+winnow rejected\s+\d+\s+\d+/);

    // Six images scored, each a labeled image, with the verdict and the usable score.
    const rows = await readResults(join(dir, "scores.csv"));
    assert.equal(rows.length, 6);
    const labels = new Map((await loadImageLabels(SHIPPED_IMAGE_LABELS)).rows.map((l) => [l.path, l]));
    const judged = rows.map((row) => ({ row, label: labels.get(String(row.path))! }));
    assert.ok(judged.every((j) => j.label && typeof j.row.usable_score === "number"));
    assert.equal(judged.filter((j) => !j.label.usable).length, 2);
    // The printed counts are those of the table against the labels.
    const caught = judged.filter((j) => !j.label.usable && String(j.row.kept) === "false").length;
    const lost = judged.filter((j) => j.label.usable && String(j.row.kept) === "false").length;
    assert.deepEqual([Number(m[1]), Number(m[3])], [caught, lost]);

    // The judging model never saw the demo's images: fitted on the other labeled images.
    const held = await loadScorer(join(dir, "usable_heldout.json"));
    assert.equal(held.provenance.rows, labels.size - 6);

    // The report names data by project-relative paths and shows the mistakes.
    const html = await Deno.readTextFile(join(dir, "report.html"));
    assert.match(html, /Confusion against the labels/);
    assert.match(html, /data\/labels\/images\//);
    assert.ok(!html.includes(Deno.cwd() + "/"), "absolute machine path in the report");
    assert.ok((await Deno.stat(join(dir, "report_mistakes.png"))).size > 1000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
