/**
 * The labeling server without a browser: path traversal, token, Host/Origin checks, validation of
 * every field of a label write, and the storage (atomic files, log, concurrent writers, resume).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { loadImageLabels } from "../lib/labels/format.ts";
import { type LabelServer, startLabelServer } from "../lib/labels/app/server.ts";
import { LabelStore } from "../lib/labels/app/store.ts";
import { runCli } from "./cli.ts";

interface Fixture {
  dir: string;
  img: string;
  out: string;
  faces: string;
  jpeg: Uint8Array;
}

async function fixture(): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "winnow-label-" });
  const img = join(dir, "img"), outside = join(dir, "outside");
  await Deno.mkdir(join(img, "sub"), { recursive: true });
  await Deno.mkdir(outside);
  const jpeg = new Uint8Array(
    await sharp({ create: { width: 64, height: 48, channels: 3, background: "#c08040" } }).jpeg().toBuffer(),
  );
  for (const name of ["a.jpg", "b c.jpg", "sub/d.jpg"]) await Deno.writeFile(join(img, name), jpeg);
  await sharp({ create: { width: 40, height: 30, channels: 3, background: "#123456" } }).tiff()
    .toFile(join(img, "e.tif"));
  await Deno.writeTextFile(join(img, "notes.txt"), "not an image");
  await Deno.writeFile(join(outside, "secret.jpg"), jpeg);
  await Deno.symlink(join(outside, "secret.jpg"), join(img, "link.jpg"));
  await Deno.symlink(outside, join(img, "linkdir"));
  const faces = join(dir, "faces.csv");
  await Deno.writeTextFile(
    faces,
    "path,face,x,y,width,height,confidence\n" +
      `img/a.jpg,0,10,8,20,16,0.9\n${join(img, "sub/d.jpg")},0,30,20,12,12,0.5\n` +
      `outside/secret.jpg,0,1,1,5,5,0.9\n`,
  );
  return { dir, img, out: join(dir, "labels"), faces, jpeg };
}

/** A raw HTTP/1.1 request, so the path reaches the server exactly as written (fetch would normalise it). */
async function raw(
  port: number,
  target: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const body = new TextEncoder().encode(opts.body ?? "");
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, connection: "close", ...opts.headers };
  if (opts.body !== undefined) headers["content-length"] = String(body.length);
  const head = `${opts.method ?? "GET"} ${target} HTTP/1.1\r\n` +
    Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
  await conn.write(new TextEncoder().encode(head));
  if (body.length) await conn.write(body);
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
  conn.close();
  const all = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let o = 0;
  for (const c of chunks) all.set(c, o), o += c.length;
  let split = 0;
  while (!(all[split] === 13 && all[split + 1] === 10 && all[split + 2] === 13 && all[split + 3] === 10)) {
    split++;
  }
  const lines = new TextDecoder().decode(all.subarray(0, split)).split("\r\n");
  const h = new Headers();
  for (const l of lines.slice(1)) h.append(l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim());
  let rest = all.subarray(split + 4);
  if (h.get("transfer-encoding") === "chunked") {
    const parts: number[] = [];
    let i = 0;
    for (;;) {
      let j = i;
      while (rest[j] !== 13) j++;
      const size = parseInt(new TextDecoder().decode(rest.subarray(i, j)), 16);
      if (!size) break;
      parts.push(...rest.subarray(j + 2, j + 2 + size));
      i = j + 2 + size + 2;
    }
    rest = new Uint8Array(parts);
  }
  return { status: Number(lines[0].split(" ")[1]), headers: h, body: rest };
}

function post(s: LabelServer, body: unknown, headers: Record<string, string> = {}) {
  return raw(s.port, `/${s.token}/api/label`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: `http://127.0.0.1:${s.port}`, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const txt = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("label server: only listed images inside the folders are served; traversal, symlinks, absolute paths → 404", async () => {
  const f = await fixture();
  const s = await startLabelServer({ images: [f.img], out: f.out, rater: "ann", faces: f.faces });
  try {
    assert.deepEqual(s.session.images.map((i) => i.name), ["a.jpg", "b c.jpg", "e.tif", "d.jpg"]);
    assert.ok(
      s.session.warnings.some((w) => /link\.jpg: skipped: it links outside/.test(w)),
      s.session.warnings.join(),
    );
    const t = `/${s.token}`;
    const ok = await raw(s.port, `${t}/file/0/a.jpg`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("content-type"), "image/jpeg");
    assert.deepEqual(ok.body, f.jpeg);
    assert.equal((await raw(s.port, `${t}/file/0/b%20c.jpg`)).status, 200);
    assert.equal((await raw(s.port, `${t}/file/0/sub/d.jpg`)).status, 200);
    const tif = await raw(s.port, `${t}/file/0/e.tif`); // re-encoded for the browser
    assert.equal(tif.headers.get("content-type"), "image/jpeg");
    assert.deepEqual((await sharp(tif.body).metadata()).width, 40);
    for (
      const p of [
        "/file/0/../../outside/secret.jpg",
        "/file/0/sub/../../outside/secret.jpg",
        "/file/0/%2e%2e/outside/secret.jpg",
        "/file/0/%2E%2E/%2E%2E/outside/secret.jpg",
        "/file/0/..%2foutside%2fsecret.jpg",
        "/file/0/%2e%2e%2Foutside%2Fsecret.jpg",
        "/file/0/%252e%252e/outside/secret.jpg",
        "/file/0/..%5coutside%5csecret.jpg",
        "/file/0/./a.jpg",
        "/file/0/link.jpg",
        "/file/0/linkdir/secret.jpg",
        `/file/0/${encodeURIComponent(join(f.dir, "outside/secret.jpg"))}`,
        `/file/0/${join(f.dir, "outside/secret.jpg")}`,
        "/file/0//etc/passwd",
        "/file/0/%2Fetc%2Fpasswd",
        "/file//etc/passwd",
        "/file/1/a.jpg",
        "/file/00/a.jpg",
        "/file/-1/a.jpg",
        "/file/0/notes.txt",
        "/file/0/sub",
        "/file/0/a.jpg%00.png",
        "/file/0/%E0%A4%A",
        "/crop/999",
        "/crop/-1",
        "/crop/01",
        "/nothing",
      ]
    ) {
      const r = await raw(s.port, t + p);
      assert.equal(r.status, 404, `${p}: expected 404, got ${r.status} ${txt(r.body).slice(0, 80)}`);
      assert.notDeepEqual(r.body, f.jpeg, p);
    }
    // A path that escapes the token segment itself is refused before any file lookup.
    assert.equal((await raw(s.port, `/x/..${t}/file/0/a.jpg`)).status, 403);
    // Crops: two faces of the table are on listed images, the third (outside) was dropped.
    assert.equal(s.session.faces.length, 2);
    const crop = await raw(s.port, `${t}/crop/0`);
    assert.equal(crop.status, 200);
    const m = await sharp(crop.body).metadata();
    assert.equal(Math.max(m.width!, m.height!), 192);
  } finally {
    await s.close();
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("label server: token, Host and Origin checks → 403; bound to loopback only", async () => {
  const f = await fixture();
  const s = await startLabelServer({ images: [f.img], out: f.out, rater: "ann" });
  try {
    const t = `/${s.token}`;
    assert.match(s.url, new RegExp(`^http://127\\.0\\.0\\.1:${s.port}/[0-9a-f]{48}/$`));
    const page = await raw(s.port, `${t}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy")!, /default-src 'none'; script-src 'self'/);
    assert.equal((await raw(s.port, t)).status, 302);
    assert.equal(
      (await raw(s.port, `${t}/api/state`, { headers: { host: `localhost:${s.port}` } })).status,
      200,
    );
    const wrong = s.token.replace(/^./, (c) => c === "0" ? "1" : "0");
    for (
      const p of [
        "/",
        "/api/state",
        "/file/0/a.jpg",
        `/${wrong}/api/state`,
        `/${s.token.slice(0, -1)}/api/state`,
        `/${s.token}x/api/state`,
        `/api/state?token=${s.token}`,
      ]
    ) {
      const r = await raw(s.port, p);
      assert.equal(r.status, 403, p);
      assert.match(txt(r.body), /token/);
    }
    const foreign: Record<string, string>[] = [
      { host: `evil.example:${s.port}` },
      { host: `127.0.0.1:${s.port + 1}` },
      { host: "127.0.0.1" },
      { host: "" },
      { origin: "http://evil.example" },
      { origin: `http://evil.example:${s.port}` },
      { origin: `https://127.0.0.1:${s.port}` },
      { origin: "null" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
    ];
    for (const h of foreign) {
      const r = await raw(s.port, `${t}/api/state`, { headers: h });
      assert.equal(r.status, 403, JSON.stringify(h));
      const w = await post(s, { type: "image", key: s.session.images[0].key, patch: { usable: "yes" } }, h);
      assert.equal(w.status, 403, `POST ${JSON.stringify(h)}`);
    }
    assert.equal(await Deno.stat(join(f.out, "ann", "images.csv")).then(() => true, () => false), false);
    // Loopback only: another address of this machine refuses the connection.
    const other = Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."));
    if (other) {
      await assert.rejects(Deno.connect({ hostname: other.address, port: s.port }));
    } else console.log("no non-loopback IPv4 address here: loopback-only bind not checked");
  } finally {
    await s.close();
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("label server: every field of a label write is validated; bad writes store nothing", async () => {
  const f = await fixture();
  const s = await startLabelServer({ images: [f.img], out: f.out, rater: "ann", faces: f.faces });
  try {
    const key = s.session.images[0].key, face = s.session.faces[0].key;
    const bad: [unknown, RegExp][] = [
      ["{", /not JSON/],
      [[], /expected an object/],
      [null, /expected an object/],
      [{ type: "video", key, patch: { usable: "yes" } }, /type/],
      [{ type: "image", key: "../outside/secret.jpg", patch: { usable: "yes" } }, /key/],
      [{ type: "image", key: s.session.images[0].path, patch: { usable: "yes" } }, /key/],
      [{ type: "image", patch: { usable: "yes" } }, /key/],
      [{ type: "image", key, patch: { usable: "maybe" } }, /patch\.usable/],
      [{ type: "image", key, patch: { usable: true } }, /patch\.usable/],
      [{ type: "image", key, patch: { quality: 6 } }, /patch\.quality/],
      [{ type: "image", key, patch: { quality: 0 } }, /patch\.quality/],
      [{ type: "image", key, patch: { quality: 2.5 } }, /patch\.quality/],
      [{ type: "image", key, patch: { quality: "3" } }, /patch\.quality/],
      [{ type: "image", key, patch: { errors: ["blur", "blurry"] } }, /patch\.errors/],
      [{ type: "image", key, patch: { errors: ["blur", "blur"] } }, /patch\.errors/],
      [{ type: "image", key, patch: { errors: "blur" } }, /patch\.errors/],
      [{ type: "image", key, patch: { error: { type: "smudge", on: true } } }, /patch\.error\.type/],
      [{ type: "image", key, patch: { error: { type: "blur", on: 1 } } }, /patch\.error\.on/],
      [{ type: "image", key, patch: { error: { type: "blur", on: true, x: 1 } } }, /unknown field "x"/],
      [{ type: "image", key, patch: {} }, /patch: empty/],
      [{ type: "image", key, patch: { usable: "yes", path: "/etc/passwd" } }, /unknown field "path"/],
      [{ type: "image", key, patch: { usable: "yes" }, rater: "bob" }, /unknown field "rater"/],
      [{ type: "image", key, patch: { usable: "yes" }, tab: "../x" }, /tab/],
      [{ type: "face", key, patch: { quality: 3 } }, /key/],
      [{ type: "face", key: face, patch: { quality: 9 } }, /patch\.quality/],
      [{ type: "face", key: face, patch: { notFace: "yes" } }, /patch\.notFace/],
      [{ type: "face", key: face, patch: { usable: "yes" } }, /unknown field/],
      [
        JSON.stringify({ type: "image", key, patch: { usable: "yes" }, tab: "x".repeat(20_000) }),
        /too large/,
      ],
    ];
    for (const [body, why] of bad) {
      const r = await post(s, body);
      // An oversized body is refused as such (413, before it is read); other bad writes are 400.
      const want = why.source === "too large" ? 413 : 400;
      assert.equal(r.status, want, `${JSON.stringify(body).slice(0, 100)} → ${r.status}`);
      assert.match(txt(r.body), why, JSON.stringify(body).slice(0, 100));
    }
    const wrongType = await post(s, { type: "image", key, patch: { usable: "yes" } }, {
      "content-type": "text/plain",
    });
    assert.equal(wrongType.status, 415);
    const get = await raw(s.port, `/${s.token}/api/label`, { method: "PUT", body: "{}" });
    assert.equal(get.status, 405);
    assert.equal(s.store.seq, 0);
    assert.equal(await Deno.stat(join(f.out, "ann", "images.csv")).then(() => true, () => false), false);
    assert.equal(await Deno.readTextFile(join(f.out, "ann", "log.jsonl")), "");

    // Good writes: patches merge field by field.
    for (
      const patch of [{ usable: "no" }, { quality: 2 }, { error: { type: "blur", on: true } }, {
        error: { type: "bad_face", on: true },
      }, { error: { type: "blur", on: false } }]
    ) {
      const r = await post(s, { type: "image", key, patch });
      assert.equal(r.status, 200, txt(r.body));
    }
    const r = await post(s, { type: "face", key: face, patch: { quality: 4, notFace: false } });
    assert.deepEqual(JSON.parse(txt(r.body)).label, { quality: 4, notFace: false });
    assert.equal(
      await Deno.readTextFile(join(f.out, "ann", "images.csv")),
      "path,usable,quality,errors\n../../img/a.jpg,no,2,bad_face\n",
    );
    assert.equal(
      await Deno.readTextFile(join(f.out, "ann", "faces.csv")),
      "path,x,y,width,height,quality\n../../img/a.jpg,10,8,20,16,4\n",
    );
    const labels = await loadImageLabels(join(f.out, "ann", "images.csv"), { checkFiles: true });
    assert.deepEqual([labels.kept, labels.issues.length], [1, 0]);
  } finally {
    await s.close();
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("label store: concurrent tabs and a second server on one rater never corrupt a file; resume after restart", async () => {
  const f = await fixture();
  let s = await startLabelServer({ images: [f.img], out: f.out, rater: "ann" });
  let s2: LabelServer | undefined;
  try {
    const keys = s.session.images.map((i) => i.key);
    // Two "tabs" fire 80 writes at once, interleaved over all images.
    const writes = [];
    for (let i = 0; i < 80; i++) {
      const key = keys[i % keys.length];
      const patch = i % 3 === 0
        ? { usable: i % 2 ? "yes" : "no" }
        : i % 3 === 1
        ? { quality: 1 + (i % 5) }
        : { error: { type: "artifact", on: i % 2 === 0 } };
      writes.push(post(s, { type: "image", key, patch, tab: i % 2 ? "tabA" : "tabB" }));
    }
    const results = await Promise.all(writes);
    assert.ok(results.every((r) => r.status === 200));
    const log = (await Deno.readTextFile(join(f.out, "ann", "log.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.deepEqual(log.map((e) => e.seq), Array.from({ length: 80 }, (_, i) => i + 1));
    const csv = await loadImageLabels(join(f.out, "ann", "images.csv"));
    assert.equal(csv.issues.length, 0);
    assert.equal(csv.kept, keys.length);
    for (const row of csv.rows) {
      const last = s.store.images.get(row.rawPath)!;
      assert.deepEqual([row.usable ? "yes" : "no", row.quality, row.errors], [
        last.usable,
        last.quality,
        last.errors,
      ]);
    }
    const before = await Deno.readTextFile(join(f.out, "ann", "images.csv"));
    // No temp files left behind.
    const names = [...Deno.readDirSync(join(f.out, "ann"))].map((e) => e.name).sort();
    assert.deepEqual(names, [".lock", "images.csv", "log.jsonl"]);

    // A second server on the same rater: its writes and the first's merge through the log.
    s2 = await startLabelServer({ images: [f.img], out: f.out, rater: "ann" });
    assert.equal((await post(s2, { type: "image", key: keys[0], patch: { quality: 5 } })).status, 200);
    assert.equal((await post(s, { type: "image", key: keys[1], patch: { quality: 4 } })).status, 200);
    assert.equal((await post(s2, { type: "image", key: keys[2], patch: { quality: 3 } })).status, 200);
    const merged = await loadImageLabels(join(f.out, "ann", "images.csv"));
    assert.deepEqual(merged.rows.map((r) => r.quality).slice(0, 3), [5, 4, 3]);
    await s2.close();
    s2 = undefined;

    // A process killed mid-write leaves a torn line: skipped, and the next event starts on its own line.
    await s.close();
    await Deno.writeTextFile(join(f.out, "ann", "log.jsonl"), '{"seq":999,"type":"image","pa', {
      append: true,
    });
    s = await startLabelServer({ images: [f.img], out: f.out, rater: "ann" });
    assert.equal(s.store.skippedLines, 1);
    assert.equal(s.store.images.get(keys[0])!.quality, 5);
    assert.notEqual(before, await Deno.readTextFile(join(f.out, "ann", "images.csv")));
    assert.equal((await post(s, { type: "image", key: keys[3], patch: { quality: 1 } })).status, 200);
    const again = await LabelStore.open(join(f.out, "ann"));
    assert.equal(again.skippedLines, 1);
    assert.equal(again.images.get(keys[3])!.quality, 1);
    again.close();

    // Labels written by hand (no log yet) are imported, not overwritten.
    await Deno.mkdir(join(f.out, "old"));
    await Deno.writeTextFile(
      join(f.out, "old", "images.csv"),
      "path,usable,quality,errors\n../../img/a.jpg,yes,5,blur\n",
    );
    const old = await startLabelServer({ images: [f.img], out: f.out, rater: "old" });
    assert.deepEqual(old.store.images.get("../../img/a.jpg"), {
      usable: "yes",
      quality: 5,
      errors: ["blur"],
    });
    await post(old, { type: "image", key: "../../img/b c.jpg", patch: { usable: "yes", quality: 4 } });
    assert.equal(
      await Deno.readTextFile(join(f.out, "old", "images.csv")),
      "path,usable,quality,errors\n../../img/a.jpg,yes,5,blur\n../../img/b c.jpg,yes,4,\n",
    );
    await old.close();
  } finally {
    await s2?.close();
    await s.close();
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("label server: review view lists the disagreements of two raters", async () => {
  const f = await fixture();
  try {
    for (
      const [r, lines] of [["ann", "../../img/a.jpg,yes,5,\n../../img/b c.jpg,yes,4,\n"], [
        "bob",
        "../../img/a.jpg,no,2,blur\n../../img/b c.jpg,yes,4,\n",
      ]]
    ) {
      await Deno.mkdir(join(f.out, r), { recursive: true });
      await Deno.writeTextFile(join(f.out, r, "images.csv"), "path,usable,quality,errors\n" + lines);
    }
    const s = await startLabelServer({
      images: [f.img],
      out: f.out,
      rater: "carol",
      compare: ["ann", "bob"],
    });
    try {
      assert.equal(s.reviewItems, 1);
      const st = JSON.parse(txt((await raw(s.port, `/${s.token}/api/state`)).body));
      assert.equal(st.review[0].kind, "image");
      assert.equal(st.images[st.review[0].item].name, "a.jpg");
      assert.deepEqual(st.review[0].reasons, ["usable: yes vs no", "quality: 5 vs 2"]);
    } finally {
      await s.close();
    }
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("deno task label: --help, and usage errors exit 2", async () => {
  const help = await runCli("label", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--images DIR/);
  assert.match(help.stdout, /127\.0\.0\.1 only/);
  const none = await runCli("label", ["--out", "/tmp/x"]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--images DIR is required/);
  const badRater = await runCli("label", ["--images", "/tmp", "--out", "/tmp/x", "--rater", "../evil"]);
  assert.equal(badRater.code, 1);
  assert.match(badRater.stderr, /rater name/);
});
