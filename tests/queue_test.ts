/**
 * The generation fleet on BullMQ: a real redis-server on a loopback port, real worker processes
 * (`deno task worker`) in front of fake A1111 servers, and `deno task generate --queue`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliArgs, runCli } from "./cli.ts";
import { FakeA1111 } from "./fake_servers.ts";
import { skipWithout, startRedis } from "./services.ts";
import { decodeRequest, encodeRequest, parseRedisUrl, QueueError } from "../lib/generate/queue.ts";
import { MANIFEST_COLUMNS } from "../lib/generate/pipeline.ts";

const NO_REDIS = skipWithout("redis-server", "apt-get install redis-server");
// Short locks so a killed worker's job comes back within seconds (defaults are 30 s).
const FAST_LOCKS = ["--lock-ms", "1000", "--stalled-ms", "500"];

Deno.test("parseRedisUrl reads host, port, password and database, and names a bad URL", () => {
  assert.deepEqual(parseRedisUrl("redis://:s3cret@10.0.0.5:6390/3"), {
    host: "10.0.0.5",
    port: 6390,
    password: "s3cret",
    db: 3,
    maxRetriesPerRequest: null,
  });
  assert.equal(parseRedisUrl("redis://cache").port, 6379);
  assert.throws(() => parseRedisUrl("http://x:1"), QueueError);
  assert.throws(() => parseRedisUrl("redis://x:1/abc"), /database number/);
});

Deno.test("a request with image inputs survives the trip through JSON", () => {
  const req = {
    prompt: "fox",
    seed: 7,
    init: { image: new Uint8Array([1, 2, 3]), mask: new Uint8Array([9]), denoisingStrength: 0.5 },
    controls: [{ image: new Uint8Array([4, 5]), model: "canny" }],
  };
  const back = decodeRequest(JSON.parse(JSON.stringify(encodeRequest(req))));
  assert.deepEqual(back.init?.image, req.init.image);
  assert.deepEqual(back.init?.mask, req.init.mask);
  assert.deepEqual(back.controls?.[0].image, req.controls[0].image);
  assert.equal(back.init?.denoisingStrength, 0.5);
  assert.equal(back.seed, 7);
});

/** A `deno task worker` process; its log is kept for failure messages. */
function startWorker(redis: string, url: string, name: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: cliArgs("worker", [
      "--queue",
      redis,
      "--backend",
      "a1111",
      "--url",
      url,
      "--name",
      name,
      ...FAST_LOCKS,
    ]),
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let log = "";
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log += chunk;
  })();
  return {
    child,
    log: () => log,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      await child.status;
      await reading;
    },
  };
}

async function waitFor(cond: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name:
    "queue: 2 workers, one killed with SIGKILL during its first job, 8 images asked → 8 images, each once",
  ignore: NO_REDIS,
  fn: async () => {
    const redis = await startRedis();
    const slow = new FakeA1111(), fast = new FakeA1111();
    slow.delayMs = 4000; // long enough to be killed in the middle of it
    fast.delayMs = 100;
    const a = startWorker(redis.url, slow.url, "worker-a");
    const b = startWorker(redis.url, fast.url, "worker-b");
    const out = join(await Deno.makeTempDir(), "run");
    try {
      await waitFor(() => /serving/.test(a.log()) && /serving/.test(b.log()), 20_000, "both workers");
      const gen = runCli("generate", [
        "--queue",
        redis.url,
        "--backend",
        "a1111",
        "--prompt",
        "a red fox in snow",
        "--seed",
        "100",
        "-n",
        "8",
        "--heuristics",
        "sharpness,exposure",
        "--out",
        out,
        "--quiet",
      ]);
      await waitFor(
        () => slow.requests.some((r) => r.path === "/sdapi/v1/txt2img"),
        30_000,
        "worker A's first job",
      );
      await a.stop("SIGKILL");
      const r = await gen;
      assert.equal(r.code, 0, `${r.stderr}\nworker B:\n${b.log()}`);

      const lines = (await Deno.readTextFile(join(out, "manifest.jsonl"))).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      assert.equal(lines.length, 8);
      assert.deepEqual(lines.map((l) => l.index).sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.equal(new Set(lines.map((l) => l.file)).size, 8);
      for (const l of lines) {
        assert.deepEqual(Object.keys(l).slice(0, 9), MANIFEST_COLUMNS.slice(0, 9));
        assert.equal(l.backend, "a1111");
        assert.equal(l.seed, 100 + l.index, `request ${l.index} kept its seed`);
        // Worker A died before returning anything: every image came through worker B.
        assert.equal(l.params.worker, "worker-b");
        assert.equal(l.params.worker_endpoint, fast.url);
      }
      const images = [];
      for await (const e of Deno.readDir(out)) if (/^\d{5}_\d+\.png$/.test(e.name)) images.push(e.name);
      assert.deepEqual(images.sort(), lines.map((l) => l.file).sort());
      // The killed job ran again: A saw one request, B the other 7 and the rerun.
      assert.equal(slow.to("/sdapi/v1/txt2img").length, 1);
      assert.equal(fast.to("/sdapi/v1/txt2img").length, 8);
    } finally {
      await a.stop("SIGKILL");
      await b.stop();
      await slow.close();
      await fast.close();
      await redis.stop();
    }
  },
});

Deno.test({
  name: "queue: a backend that always fails ends the run with an error naming it after the retry budget",
  ignore: NO_REDIS,
  fn: async () => {
    const redis = await startRedis();
    const broken = new FakeA1111();
    for (let i = 0; i < 20; i++) broken.faults.push({ kind: "500" });
    const w = startWorker(redis.url, broken.url, "worker-x");
    const out = join(await Deno.makeTempDir(), "run");
    try {
      await waitFor(() => /serving/.test(w.log()), 20_000, "the worker");
      const r = await runCli("generate", [
        "--queue",
        redis.url,
        "--backend",
        "a1111",
        "--prompt",
        "a teapot",
        "-n",
        "1",
        "--retries",
        "2",
        "--heuristics",
        "sharpness",
        "--out",
        out,
        "--quiet",
      ]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /failed after 3 tries/);
      assert.match(r.stderr, new RegExp(`a1111 at ${broken.url.replaceAll(".", "\\.")}`));
      assert.match(r.stderr, /HTTP 500/);
      assert.equal(broken.to("/sdapi/v1/txt2img").length, 3);
    } finally {
      await w.stop();
      await broken.close();
      await redis.stop();
    }
  },
});
