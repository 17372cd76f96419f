/**
 * The labeling app's A/B mode without a browser: pairs by prompt from manifests, a blind page
 * state, each choice stored once (a retried request gets 409), undo, skip, the same next pair after
 * a restart, token and Host checks as in image mode, ab.csv as CONTRACTS says and as `ab fit` reads.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { startLabelServer } from "../lib/labels/app/server.ts";
import { buildAbSession, nextAbPair } from "../lib/labels/app/ab.ts";
import { uncertaintyScheduler } from "../lib/evaluate/schedule.ts";
import { loadAbFiles } from "../lib/labels/ab_format.ts";
import { mulberry32 } from "../lib/core/random.ts";

/** Two runs of 6 prompts (generate manifests), plus one image in run A that no manifest lists. */
async function runs(): Promise<{ dir: string; a: string; b: string; fileOf: Map<number, string> }> {
  const dir = await Deno.makeTempDir({ prefix: "winnow-ab-app-" });
  const fileOf = new Map<number, string>(); // image size in bytes → file name (each image differs)
  const pngOf = async (width: number) =>
    new Uint8Array(
      await sharp({ create: { width, height: 24, channels: 3, background: "#4080c0" } }).png().toBuffer(),
    );
  const png = await pngOf(7);
  for (const [r, run] of ["runA", "runB"].entries()) {
    await Deno.mkdir(join(dir, run));
    const lines: string[] = [];
    for (let i = 0; i < 6; i++) {
      const file = `${run}_${i}.png`;
      const bytes = await pngOf(20 + 12 * r + i * 30);
      assert.ok(!fileOf.has(bytes.length));
      fileOf.set(bytes.length, file);
      await Deno.writeFile(join(dir, run, file), bytes);
      lines.push(JSON.stringify({ file, prompt: `a photo of thing ${i}`, seed: i }));
    }
    await Deno.writeTextFile(join(dir, run, "manifest.jsonl"), lines.join("\n") + "\n");
  }
  await Deno.writeFile(join(dir, "runA", "stray.png"), png);
  return { dir, a: join(dir, "runA"), b: join(dir, "runB"), fileOf };
}

Deno.test("A/B session pairs images of different runs by prompt and names runs by folder or NAME=PATH", async () => {
  const r = await runs();
  try {
    const ab = await buildAbSession(
      [{ path: r.a }, { name: "bee", path: join(r.b, "manifest.jsonl") }],
      join(r.dir, "l"),
    );
    assert.deepEqual(ab.systems, ["runA", "bee"]);
    assert.equal(ab.pairs.length, 6);
    assert.ok(ab.byPrompt);
    for (const p of ab.pairs) {
      assert.equal(p.a.prompt, p.b.prompt);
      assert.notEqual(p.a.system, p.b.system);
    }
    assert.match(ab.session.warnings.join(), /1 image\(s\) not in their run's manifest/);
    // deterministic: same decisions, same next pair and sides; a different seed changes the draw
    const n1 = nextAbPair(ab, [], { seed: 5, scheduler: uncertaintyScheduler });
    const n2 = nextAbPair(ab, [], { seed: 5, scheduler: uncertaintyScheduler });
    assert.deepEqual([n1?.pair.id, n1?.aLeft], [n2?.pair.id, n2?.aLeft]);
    await assert.rejects(buildAbSession([{ path: r.a }], r.dir), /at least two runs/);
    await assert.rejects(buildAbSession([{ path: r.a }, { path: r.a }], r.dir), /two runs are named "runA"/);
  } finally {
    await Deno.remove(r.dir, { recursive: true });
  }
});

Deno.test("A/B server: blind state, each choice once (retry → 409), skip, undo, resume, ab.csv for ab fit", async () => {
  const r = await runs();
  const out = join(r.dir, "labels");
  const opts = {
    images: [],
    out,
    rater: "ann",
    ab: { runs: [{ path: r.a }, { path: r.b }], seed: 3, repeatShare: 0, scheduler: uncertaintyScheduler },
  };
  let server = await startLabelServer(opts);
  try {
    const api = (s = server) => `${s.url}api/ab`;
    const post = (body: unknown, s = server) =>
      fetch(api(s), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    // The token and Host checks of image mode hold here too.
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/wrongtoken/api/ab`)).status, 403);
    const page = await (await fetch(server.url)).text();
    assert.match(page, /ab\.js/);
    let st = await (await fetch(api())).json();
    assert.equal(st.step, 0);
    assert.equal(st.pairs, 6);
    assert.match(st.current.prompt, /^a photo of thing \d$/);
    // blind: the image mode's routes (file names, the image list) are closed in A/B mode
    for (const route of ["api/state", `file/0/${encodeURIComponent("runA_0.png")}`]) {
      const res = await fetch(server.url + route);
      assert.equal(res.status, 404, route);
      await res.body?.cancel();
    }
    const lab = await fetch(server.url + "api/label", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(lab.status, 404);
    await lab.body?.cancel();
    // blind: nothing in the page state names a run
    assert.doesNotMatch(JSON.stringify(st), /runA|runB|file\//);
    const imgRes = await fetch(server.url + st.current.left.url);
    assert.equal(imgRes.headers.get("content-type"), "image/png");
    await imgRes.body?.cancel();
    const shown: { left: string; right: string; choice: string }[] = [];
    // which file the page showed, told by the bytes served
    const fileAt = async (url: string) =>
      r.fileOf.get((await (await fetch(server.url + url)).arrayBuffer()).byteLength)!;
    const choose = async (choice: string) => {
      const res = await post({ action: choice, step: st.step, pair: st.current.pair });
      assert.equal(res.status, 200);
      if (choice !== "skip") {
        // which file the page showed on each side, told by the bytes served
        const fileAt = async (url: string) =>
          r.fileOf.get((await (await fetch(server.url + url)).arrayBuffer()).byteLength)!;
        shown.push({
          left: await fileAt(st.current.left.url),
          right: await fileAt(st.current.right.url),
          choice,
        });
      }
      const before = st;
      st = await res.json();
      return before;
    };
    const first = await choose("left");
    // the same request again (a retry after a lost answer) is refused and changes nothing
    const again = await post({ action: "left", step: first.step, pair: first.current.pair });
    assert.equal(again.status, 409);
    assert.equal((await again.json()).step, 1);
    await choose("right");
    await choose("skip");
    await choose("tie");
    // undo the tie: the same pair comes back
    const tiePair = shown.at(-1)!;
    const u = await post({ action: "undo", step: st.step });
    assert.equal(u.status, 200);
    st = await u.json();
    shown.pop();
    assert.equal(await fileAt(st.current.left.url), tiePair.left);
    assert.equal(st.step, 3);
    // bad input: 400 naming the field
    const bad = await post({ action: "maybe", step: st.step, pair: st.current.pair });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /action: expected left, right, tie, skip or undo/);
    // restart: the same pair is offered, on the same sides (new opaque URLs)
    const expected = [st.current.pair, await fileAt(st.current.left.url), await fileAt(st.current.right.url)];
    await server.close();
    server = await startLabelServer(opts);
    st = await (await fetch(api())).json();
    assert.deepEqual(
      [st.current.pair, await fileAt(st.current.left.url), await fileAt(st.current.right.url)],
      expected,
    );
    assert.equal(st.step, 3);
    while (st.current) {
      await choose(shown.length % 3 === 0 ? "left" : shown.length % 3 === 1 ? "right" : "tie");
    }
    assert.equal(st.decided, 6);
    // ab.csv: every choice once, in order, sides as shown, skip not written
    const { rows } = await loadAbFiles([server.store.abFile]);
    assert.equal(rows.length, shown.length);
    rows.forEach((row, i) => {
      assert.equal(row.choice, shown[i].choice);
      // the pair shown, each image on the side the page showed it
      assert.equal(row.left_path.split("/").pop(), shown[i].left);
      assert.equal(row.right_path.split("/").pop(), shown[i].right);
      assert.equal(row.left_system, row.left_path.includes("runA") ? "runA" : "runB");
      assert.equal(row.rater, "ann");
      assert.match(row.prompt!, /^a photo of thing/);
    });
    const header = (await Deno.readTextFile(server.store.abFile)).split("\n")[0];
    assert.equal(header, "left_path,right_path,left_system,right_system,choice,rater,prompt,repeat,time");
  } finally {
    await server.close();
    await Deno.remove(r.dir, { recursive: true });
  }
});

Deno.test("A/B order: a share of repeats, and with three systems every pair of systems gets compared", async () => {
  const dir = await Deno.makeTempDir({ prefix: "winnow-ab-order-" });
  try {
    const png = new Uint8Array(
      await sharp({ create: { width: 8, height: 8, channels: 3, background: "#000" } }).png().toBuffer(),
    );
    const runsList = ["x", "y", "z"];
    for (const run of runsList) {
      await Deno.mkdir(join(dir, run));
      for (let i = 0; i < 20; i++) await Deno.writeFile(join(dir, run, `${i}.png`), png);
    }
    const ab = await buildAbSession(runsList.map((r) => ({ path: join(dir, r) })), join(dir, "l"));
    assert.equal(ab.pairs.length, 60);
    assert.ok(!ab.byPrompt);
    // Simulate a rater with Bradley–Terry strengths x 0.8, y 0.6, z −1.2 (x and y hard to tell apart),
    // and count what the scheduler asks for.
    const strength = { x: 0.8, y: 0.6, z: -1.2 } as Record<string, number>;
    const rater = mulberry32(7);
    const decisions: Parameters<typeof nextAbPair>[1][number][] = [];
    for (let step = 0; step < 50; step++) {
      const n = nextAbPair(ab, decisions, { seed: 1, repeatShare: 0.2, scheduler: uncertaintyScheduler })!;
      const [l, rr] = n.aLeft ? [n.pair.a, n.pair.b] : [n.pair.b, n.pair.a];
      const ls = ab.systems[l.system], rs = ab.systems[rr.system];
      decisions.push({
        pair: n.pair.id,
        left: l.item.key,
        right: rr.item.key,
        left_system: ls,
        right_system: rs,
        prompt: "",
        choice: rater() < 1 / (1 + Math.exp(strength[rs] - strength[ls])) ? "left" : "right",
        repeat: n.repeat,
        rater: "sim",
        seed: 1,
      });
    }
    const repeats = decisions.filter((d) => d.repeat).length;
    assert.ok(repeats >= 3 && repeats <= 16, `repeats ${repeats} of 50 at share 0.2`);
    const pairsOfSystems = new Set(decisions.map((d) => [d.left_system, d.right_system].sort().join("-")));
    assert.deepEqual([...pairsOfSystems].sort(), ["x-y", "x-z", "y-z"]);
    // the far-apart pair (x vs z, settled fast) gets fewer comparisons than the close ones
    const count = (k: string) =>
      decisions.filter((d) => [d.left_system, d.right_system].sort().join("-") === k).length;
    assert.ok(
      count("x-z") <= Math.max(count("x-y"), count("y-z")),
      `${count("x-z")} ${count("x-y")} ${count("y-z")}`,
    );
    // sides: both orders occur
    assert.ok(decisions.some((d) => d.left_system === "x") && decisions.some((d) => d.right_system === "x"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
