/**
 * Rater agreement and consensus: the golden `agreement` block (scikit-learn / SciPy values) to
 * 1e-12, the consensus rule row by row, and `deno task agreement` end to end.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { GOLDEN_AGREEMENT } from "./golden.ts";
import { runCli } from "./cli.ts";
import { loadFaceLabels, loadImageLabels, parseFaceLabels, parseImageLabels } from "../lib/labels/format.ts";
import { buildConsensus, compareRaters } from "../lib/labels/consensus.ts";

const G = GOLDEN_AGREEMENT;

const close = (got: number, want: number, what: string) =>
  assert.ok(
    Math.abs(got - want) <= 1e-12,
    `${what}: got ${got}, want ${want} (diff ${Math.abs(got - want)})`,
  );

/** The golden raters as two images.csv texts over 60 made-up paths. */
function goldenCsv(side: "a" | "b"): string {
  const u = side === "a" ? G.usable_a : G.usable_b, q = side === "a" ? G.quality_a : G.quality_b;
  return "path,usable,quality,errors\n" +
    u.map((v, i) => `img${String(i).padStart(3, "0")}.jpg,${v},${q[i]},\n`).join("");
}

Deno.test("compareRaters: golden raters through the label-file path give the golden values", () => {
  const a = parseImageLabels(goldenCsv("a"), { file: "/x/a/images.csv", baseDir: "/x" });
  const b = parseImageLabels(goldenCsv("b"), { file: "/x/b/images.csv", baseDir: "/x" });
  // b listed in another order: the join is by path, not by position.
  const r = compareRaters({ images: a.rows }, { images: [...b.rows].reverse() });
  const im = r.images!;
  assert.equal(im.items, 60);
  close(im.usableKappa, G.usable_kappa, "usable kappa");
  close(im.qualityKappa, G.quality_kappa, "quality kappa");
  close(im.qualityKappaLinear, G.quality_kappa_linear, "linear");
  close(im.qualityKappaQuadratic, G.quality_kappa_quadratic, "quadratic");
  close(im.qualitySpearman, G.quality_spearman, "spearman");
  const expectedDis =
    G.usable_a.map((u, i) => u !== G.usable_b[i] || Math.abs(G.quality_a[i] - G.quality_b[i]) >= 2)
      .filter(Boolean).length;
  assert.equal(r.disagreements.length, expectedDis);
  assert.ok(expectedDis > 0);
});

Deno.test("compareRaters: faces join by IoU, bad-face kappa, faces only one rater labeled", () => {
  const hdr = "path,x,y,width,height,quality\n";
  const a = parseFaceLabels(
    hdr + "p.jpg,0,0,10,10,1\np.jpg,20,0,10,10,2\np.jpg,40,0,10,10,4\np.jpg,60,0,10,10,5\n" +
      "q.jpg,0,0,5,5,3\n",
    { file: "/d/images.csv" },
  );
  // Boxes shifted by one pixel (IoU 0.82) still join; q.jpg's face only A labeled; r.jpg only B.
  const b = parseFaceLabels(
    hdr + "p.jpg,1,0,10,10,2\np.jpg,21,0,10,10,3\np.jpg,41,0,10,10,4\np.jpg,61,0,10,10,5\n" +
      "r.jpg,0,0,5,5,2\n",
    { file: "/d/images.csv" },
  );
  const r = compareRaters({ faces: a.rows }, { faces: b.rows });
  assert.equal(r.faces!.items, 4);
  assert.deepEqual([r.faces!.onlyA, r.faces!.onlyB], [1, 1]);
  // bad: A [bad, bad, ok, ok], B [bad, ok, ok, ok] → observed 3/4, expected 1/2 → kappa 0.5
  close(r.faces!.badFaceKappa, 0.5, "bad face kappa");
  assert.deepEqual(r.disagreements.map((d) => [d.path.split("/").pop(), d.reasons.join("; ")]), [
    ["p.jpg", "bad face: yes vs no"],
    ["q.jpg", "only rater A labeled this face"],
    ["r.jpg", "only rater B labeled this face"],
  ]);
  const c = buildConsensus({ faces: a.rows }, { faces: b.rows });
  assert.deepEqual(c.faces.map((f) => [f.x, f.quality]), [[0, 1], [20, 2], [40, 4], [60, 5]]);
  assert.equal(c.droppedFaces, 2);
});

Deno.test("buildConsensus: the stated rule, and a third rater settles", () => {
  const a = parseImageLabels(
    "path,usable,quality,errors\nk.jpg,yes,5,\nm.jpg,no,1,blur;garbled_text\nd.jpg,yes,4,\nf.jpg,no,2,artifact\n",
    { file: "/d/images.csv" },
  );
  const b = parseImageLabels(
    "path,usable,quality,errors\nk.jpg,yes,4,\nm.jpg,no,2,bad_face\nd.jpg,no,2,blur\nf.jpg,no,5,\n",
    { file: "/d/images.csv" },
  );
  const c = buildConsensus({ images: a.rows }, { images: b.rows });
  const rows = (x: typeof c) =>
    x.images.map((r) => [r.path, r.usable, r.quality, r.errors.join(";"), r.source]);
  assert.deepEqual(rows(c), [
    ["/d/k.jpg", true, 4, "", "agreed"], // floor(4.5)
    ["/d/m.jpg", false, 1, "bad_face;garbled_text;blur", "agreed"], // union, vocabulary order
    ["/d/f.jpg", false, 3, "artifact", "agreed"], // floor(3.5); quality apart by 3 is kept (usable agrees)
  ]);
  assert.equal(c.droppedImages, 1); // d.jpg
  const third = parseImageLabels("path,usable,quality,errors\nd.jpg,yes,3,other\n", {
    file: "/d/images.csv",
  });
  const s = buildConsensus({ images: a.rows }, { images: b.rows }, { images: third.rows });
  assert.deepEqual(rows(s).find((r) => r[0] === "/d/d.jpg"), ["/d/d.jpg", true, 3, "other", "settled"]);
  assert.equal(s.droppedImages, 0);
});

Deno.test("deno task agreement: prints the golden values, writes a consensus that loads as label files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "winnow-agreement-" });
  try {
    for (const side of ["a", "b"] as const) {
      await Deno.mkdir(join(dir, side));
      // Rater folders one level below the images, as `deno task label --out labels` writes them.
      await Deno.writeTextFile(join(dir, side, "images.csv"), goldenCsv(side).replaceAll(/^img/gm, "../img"));
      await Deno.writeTextFile(
        join(dir, side, "faces.csv"),
        "path,x,y,width,height,quality\n../img000.jpg,0,0,10,10,2\n../img001.jpg,0,0,10,10,5\n" +
          `../img002.jpg,0,0,10,10,${side === "a" ? 4 : 1}\n`,
      );
    }
    const out = join(dir, "consensus");
    const r = await runCli("agreement", [join(dir, "a"), join(dir, "b"), "--out", out, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    close(j.images.usableKappa, G.usable_kappa, "usable kappa (CLI)");
    close(j.images.qualityKappaQuadratic, G.quality_kappa_quadratic, "quadratic kappa (CLI)");
    close(j.images.qualitySpearman, G.quality_spearman, "spearman (CLI)");
    assert.equal(j.faces.items, 3);
    const dropped = G.usable_a.filter((u, i) => u !== G.usable_b[i]).length;
    assert.equal(j.consensus.droppedImages, dropped);

    const cons = await loadImageLabels(join(out, "images.csv"));
    assert.deepEqual(cons.issues, []);
    assert.equal(cons.kept, 60 - dropped);
    for (const row of cons.rows) {
      const i = Number(row.path.match(/img(\d+)\.jpg$/)![1]);
      assert.equal(row.path, join(dir, `img${String(i).padStart(3, "0")}.jpg`));
      assert.equal(row.quality, Math.floor((G.quality_a[i] + G.quality_b[i]) / 2));
      assert.equal(row.extra.quality_a, String(G.quality_a[i]));
    }
    // The consensus feeds calibration: a score that follows the consensus quality separates usable.
    // (Calibration checks that labeled images exist, so they get placeholder files.)
    for (const row of cons.rows) await Deno.writeFile(row.path, new Uint8Array([0]));
    const scores = join(dir, "scores.csv");
    await Deno.writeTextFile(
      scores,
      "path,error,laplacian_var\n" +
        cons.rows.map((row, k) => `${row.path},,${row.quality * 100 + (k % 7)}\n`).join(""),
    );
    const cal = await runCli("calibrate", [
      "--labels",
      join(out, "images.csv"),
      "--scores",
      scores,
      "--heuristic",
      "laplacian_var",
      "--json",
      "--bootstrap",
      "200",
    ]);
    assert.equal(cal.code, 0, cal.stderr);
    const calJson = JSON.parse(cal.stdout);
    for (const k of ["auc", "average_precision", "threshold"]) {
      assert.ok(k in calJson, `calibrate --json has ${k}`);
    }
    assert.ok(calJson.auc > 0.9, `auc ${calJson.auc}`);

    const faces = await loadFaceLabels(join(out, "faces.csv"));
    assert.deepEqual(faces.issues, []);
    assert.deepEqual(faces.rows.map((f) => f.quality), [2, 5]); // 4 vs 1 dropped
    const dis = await Deno.readTextFile(join(out, "disagreements.csv"));
    assert.equal(dis.trim().split("\n").length - 1, j.disagreements.length);

    const text = await runCli("agreement", [join(dir, "a"), join(dir, "b")]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`usable: kappa ${G.usable_kappa.toFixed(3)}`));
    assert.match(text.stdout, /bad face \(quality ≤ 2\): kappa/);
    const bad = await runCli("agreement", [join(dir, "a")]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /exactly two raters/);
    const help = await runCli("agreement", ["--help"]);
    assert.match(help.stdout, /Consensus rule/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
