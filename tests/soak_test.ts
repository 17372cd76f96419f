/**
 * Issue 18, item 3: a bounded soak of the generation pipeline against a fake AUTOMATIC1111 on
 * 127.0.0.1 that fails at random (HTTP 500, 429 with Retry-After, hangs past the client timeout,
 * malformed JSON, non-image payloads) and dies mid-run, to be restarted on the same port. The run
 * must end with exactly the images asked for, each once in the manifest and on disk, and every
 * failure counted: `requests = images + retries`, failures by kind summing to the retries, and as
 * many of each kind as the servers served. Seeded faults; about 30 requests; a few seconds.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { A1111Backend } from "../lib/backends/a1111.ts";
import { MANIFEST, type ManifestRow, type PipelineResult, runPipeline } from "../lib/generate/pipeline.ts";
import { decodeImage } from "../lib/core/image.ts";
import { mulberry32 } from "../lib/core/random.ts";
import { FakeA1111, type FakeA1111Options, type Fault } from "./fake_servers.ts";

const KINDS: Fault["kind"][] = ["500", "429", "timeout", "malformed", "not_image"];
/** The pipeline's name (BackendError kind) for each fault the fake serves. */
const AS_FAILURE: Record<string, string> = {
  "500": "server_error",
  "429": "rate_limited",
  timeout: "timeout",
  malformed: "bad_reply",
  not_image: "not_image",
};

/** A flaky fake that dies after `dieAfter` images and comes back on the same port 300 ms later. */
function flakyServers(seed: number, dieAfter: number, options: FakeA1111Options = {}) {
  const rand = mulberry32(seed);
  const setup = (f: FakeA1111) => {
    f.randomFaults = { rate: 0.3, kinds: KINDS, rand };
    f.hangMs = 1500;
    return f;
  };
  const first = setup(new FakeA1111(options));
  first.dieAfter = dieAfter;
  const servers = [first];
  const port = Number(new URL(first.url).port);
  const watch = setInterval(() => {
    if (first.generated >= dieAfter && servers.length === 1) {
      let next: FakeA1111;
      try {
        next = new FakeA1111({ ...options, port });
      } catch (e) {
        if (e instanceof Deno.errors.AddrInUse) return; // the dead server still holds the port: next tick
        throw e;
      }
      servers.push(setup(next));
      // The restarted server continues the kinds sequence where the first one stopped.
      if (options.kinds) {
        const kinds = options.kinds;
        servers[1].options.kinds = (call) => kinds(call + dieAfter);
      }
    }
  }, 300);
  return {
    url: first.url,
    servers,
    async close() {
      clearInterval(watch);
      for (const s of servers) await s.close();
    },
  };
}

async function manifest(out: string): Promise<ManifestRow[]> {
  return (await Deno.readTextFile(join(out, MANIFEST))).split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

async function imagesOnDisk(out: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(out)) if (/^\d+_\d+\.png$/.test(e.name)) names.push(e.name);
  return names.sort();
}

function checkCounts(r: PipelineResult, servers: FakeA1111[], images: number) {
  assert.equal(r.requests, images + r.retries, "every request is an image or a counted retry");
  assert.equal(Object.values(r.failures).reduce((a, b) => a + b, 0), r.retries, JSON.stringify(r.failures));
  const served: Record<string, number> = {};
  for (const s of servers) {
    for (const [k, n] of Object.entries(s.served)) served[AS_FAILURE[k]] = (served[AS_FAILURE[k]] ?? 0) + n;
  }
  // Each served fault is a failure of its kind. A server dying mid-run adds refused connections
  // and cut replies, and ends a hang early with a 500 (so per-kind counts are at least, not exactly).
  const total = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
  for (const kind of Object.keys(served)) assert.ok((r.failures[kind] ?? 0) >= 1, `${kind} not counted`);
  assert.ok(
    total(r.failures) >= total(served),
    `${JSON.stringify(r.failures)} vs served ${JSON.stringify(served)}`,
  );
  const known = new Set([...Object.values(AS_FAILURE), "refused", "network"]);
  for (const k of Object.keys(r.failures)) assert.ok(known.has(k), `unexpected failure kind ${k}`);
  assert.ok(r.retries >= 5, `the soak should have failed several times (${r.retries})`);
}

const retry = { baseDelayMs: 20, maxDelayMs: 400, retries: 25, maxRetryAfterMs: 2000 };

Deno.test("soak: best-of-24 through random faults and a server restart ends with exactly 24 images", async () => {
  const fake = flakyServers(18, 10);
  const out = await Deno.makeTempDir({ prefix: "winnow-soak-" });
  try {
    const r = await runPipeline({
      backends: [new A1111Backend({ url: fake.url, timeoutMs: 400 })],
      out,
      n: 24,
      concurrency: 2,
      request: { prompt: "a red fox in snow", width: 32, height: 32, steps: 4, seed: 1 },
      heuristics: ["sharpness"],
      scoreJobs: 1,
      retry,
    });
    assert.equal(r.stop, "complete");
    assert.equal(fake.servers.length, 2, "the server died and was restarted");
    const rows = await manifest(out);
    assert.deepEqual(rows.map((x) => x.index).sort((a, b) => a - b), Array.from({ length: 24 }, (_, i) => i));
    const files = rows.map((x) => x.file).sort();
    assert.deepEqual(await imagesOnDisk(out), files);
    for (const f of files) assert.equal((await decodeImage(join(out, f))).width, 32, f);
    checkCounts(r, fake.servers, 24);
    const summary = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
    assert.deepEqual([summary.images, summary.requests, summary.retries], [24, r.requests, r.retries]);
    assert.deepEqual(summary.failures, r.failures);
  } finally {
    await fake.close();
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("soak: --until-pass through the same faults stops at the first pass, within its budget", async () => {
  // Images are dark (rejected) until the 9th one the servers make.
  const fake = flakyServers(7, 4, { kinds: (call) => call < 8 ? "dark" : "good" });
  const out = await Deno.makeTempDir({ prefix: "winnow-soak-" });
  try {
    const r = await runPipeline({
      backends: [new A1111Backend({ url: fake.url, timeoutMs: 400 })],
      out,
      untilPass: true,
      maxAttempts: 12,
      request: { prompt: "a lighthouse", width: 32, height: 32, steps: 4, seed: 1 },
      heuristics: ["sharpness", "exposure"],
      scoreJobs: 1,
      retry,
    });
    assert.equal(r.stop, "passed");
    const rows = await manifest(out);
    assert.equal(rows.length, 9, "8 rejected, then the one that passed");
    assert.deepEqual(rows.map((x) => x.kept), [...Array(8).fill(false), true]);
    assert.deepEqual(rows.map((x) => x.index), Array.from({ length: 9 }, (_, i) => i));
    assert.deepEqual(await imagesOnDisk(out), rows.map((x) => x.file).sort());
    checkCounts(r, fake.servers, 9);
  } finally {
    await fake.close();
    await Deno.remove(out, { recursive: true });
  }
});
