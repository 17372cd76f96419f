/**
 * `deno task ab`: the CONTRACTS `--json` shape, strengths equal to `bradleyTerry` on the same
 * comparisons, score agreement counted by hand, the HTML report, and errors that name the line.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./cli.ts";
import { bradleyTerry, wilsonInterval } from "../lib/mod.ts";

const HEADER = "left_path,right_path,left_system,right_system,choice,rater\n";

Deno.test("ab fit --json: the CONTRACTS fields, strengths as bradleyTerry gives them, intervals around them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "winnow-ab-" });
  try {
    const file = join(dir, "ab.csv");
    const sim = await runCli("ab", [
      "simulate",
      "--strengths",
      "a=0.8,b=0,c=-0.8",
      "-n",
      "240",
      "--raters",
      "ann,bob",
      "--seed",
      "3",
      "--out",
      file,
    ]);
    assert.equal(sim.code, 0, sim.stderr);
    const r = await runCli("ab", [
      "fit",
      file,
      "--json",
      "--resamples",
      "200",
      "--report",
      join(dir, "ab.html"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.comparisons, 240);
    // The contract's comparisons, built here from the file independently of the CLI.
    const lines = (await Deno.readTextFile(file)).trim().split("\n").slice(1).map((l) => l.split(","));
    const comps = lines.map((f) => [f[2], f[3], f[4] === "left" ? 1 : f[4] === "right" ? 0 : 0.5] as const);
    const bt = bradleyTerry(comps);
    assert.deepEqual(j.systems.map((s: { name: string }) => s.name).sort(), ["a", "b", "c"]);
    for (const s of j.systems) {
      for (const k of ["name", "log_strength", "ci95", "wins", "losses", "ties"]) assert.ok(k in s, k);
      assert.ok(Math.abs(s.log_strength - bt.get(s.name)!) < 1e-9);
      assert.ok(s.ci95[0] < s.log_strength && s.log_strength < s.ci95[1]);
      const wins = comps.filter((c) =>
        (c[0] === s.name && c[2] === 1) || (c[1] === s.name && c[2] === 0)
      ).length;
      const ties = comps.filter((c) => (c[0] === s.name || c[1] === s.name) && c[2] === 0.5).length;
      assert.deepEqual([s.wins, s.ties], [wins, ties]);
    }
    // strongest first, and the simulated order recovered
    assert.deepEqual(j.systems.map((s: { name: string }) => s.name), ["a", "b", "c"]);
    assert.equal(j.pairs.length, 3);
    assert.ok(j.repeats.repeated_pairs > 0);
    const html = await Deno.readTextFile(join(dir, "ab.html"));
    assert.match(html, /Bradley–Terry/);
    assert.equal((html.match(/data:image\/png;base64/g) ?? []).length, 2);
    // the text output carries the same ranking
    const t = await runCli("ab", ["fit", file, "--resamples", "100"]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /a\s+\d\.\d{3}[\s\S]*b\s+-?\d\.\d{3}[\s\S]*c\s+-\d\.\d{3}/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ab fit --score: share of choices where the higher-scored image won, with a Wilson interval", async () => {
  const dir = await Deno.makeTempDir({ prefix: "winnow-ab-" });
  try {
    // 6 decisive choices with scores: the higher score wins in 4; 1 tie; 1 image without a score.
    const rows = [
      "x/1.png,y/1.png,X,Y,left,ann", // 0.9 > 0.1: agree
      "y/2.png,x/2.png,Y,X,left,ann", // 0.8 > 0.2: agree
      "x/3.png,y/3.png,X,Y,right,ann", // 0.7 > 0.3: disagree
      "y/4.png,x/4.png,Y,X,right,ann", // 0.6 > 0.4 (y): disagree
      "x/5.png,y/5.png,X,Y,left,ann", // 0.55 > 0.45: agree
      "x/6.png,y/6.png,X,Y,right,ann", // 0.35 < 0.65: agree
      "x/7.png,y/7.png,X,Y,tie,ann",
      "x/8.png,y/8.png,X,Y,left,ann", // y/8 has no score
    ];
    await Deno.writeTextFile(join(dir, "ab.csv"), HEADER + rows.join("\n") + "\n");
    const scores = [
      ["x/1.png", 0.9],
      ["y/1.png", 0.1],
      ["y/2.png", 0.8],
      ["x/2.png", 0.2],
      ["x/3.png", 0.7],
      ["y/3.png", 0.3],
      ["y/4.png", 0.6],
      ["x/4.png", 0.4],
      ["x/5.png", 0.55],
      ["y/5.png", 0.45],
      ["x/6.png", 0.35],
      ["y/6.png", 0.65],
      ["x/7.png", 0.5],
      ["y/7.png", 0.5],
      ["x/8.png", 0.5],
    ];
    // a generate manifest: `file` relative to its folder, scores nested
    await Deno.writeTextFile(
      join(dir, "manifest.jsonl"),
      scores.map(([f, s]) => JSON.stringify({ file: f, prompt: "p", scores: { clip_score: s } })).join("\n") +
        "\n",
    );
    const r = await runCli("ab", [
      "fit",
      join(dir, "ab.csv"),
      "--json",
      "--resamples",
      "50",
      "--score",
      "clip_score",
      "--scores",
      join(dir, "manifest.jsonl"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout).score;
    assert.deepEqual([s.agree.k, s.agree.n, s.ties, s.missing, s.equal], [4, 6, 1, 1, 0]);
    assert.deepEqual(s.agree.ci95, wilsonInterval(4, 6));
    const bad = await runCli("ab", [
      "fit",
      join(dir, "ab.csv"),
      "--score",
      "nope",
      "--scores",
      join(dir, "manifest.jsonl"),
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no column "nope"/);
    // a score table (path column) beside the images, run from another folder: paths found from its folder
    await Deno.writeTextFile(
      join(dir, "scores.csv"),
      "path,clip_score\n" + scores.map(([f, v]) => `${f},${v}`).join("\n") + "\n",
    );
    const t = await runCli("ab", [
      "fit",
      join(dir, "ab.csv"),
      "--json",
      "--resamples",
      "50",
      "--score",
      "clip_score",
      "--scores",
      join(dir, "scores.csv"),
    ]);
    assert.equal(t.code, 0, t.stderr);
    const ts = JSON.parse(t.stdout).score;
    assert.deepEqual([ts.agree.k, ts.agree.n, ts.missing], [4, 6, 1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ab fit: a bad row is an error naming file, line and field; a never-winning system gets a note", async () => {
  const dir = await Deno.makeTempDir({ prefix: "winnow-ab-" });
  try {
    const f = join(dir, "ab.csv");
    await Deno.writeTextFile(f, HEADER + "a.png,b.png,A,B,left,ann\na.png,b.png,A,B,maybe,ann\n");
    const r = await runCli("ab", ["fit", f]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ab\.csv:3: choice: expected left, right or tie, got "maybe"/);
    await Deno.writeTextFile(f, HEADER + "a.png,b.png,A,B,left,ann\nb2.png,a2.png,B,A,right,ann\n");
    const n = await runCli("ab", ["fit", f, "--resamples", "50"]);
    assert.equal(n.code, 0, n.stderr);
    assert.match(n.stdout, /note: B never won or tied/);
    assert.doesNotMatch(n.stdout, /Infinity/);
    const u = await runCli("ab", ["fit"]);
    assert.equal(u.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
