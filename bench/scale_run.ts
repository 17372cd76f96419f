/**
 * A simulation of scale on one machine: N processes as a cluster would run them.
 *
 *   ./deno task bench-scale [--images 48] [--processes 1,2,4] [--requests 16] [--gpu-ms 250]
 *
 * 1. Sharded score: N `deno task score --shard i/N --jobs 1` processes over the same folder of
 *    1024×1024 JPEGs (cut from the photos shipped in @vladmandic/face-api); images/s against N,
 *    and the fixed cost of one process (an empty shard).
 * 2. The generation queue: a redis-server on a loopback port, N `deno task worker` processes, each in
 *    front of its own fake A1111 that takes --gpu-ms per image; `generate --queue -n R` and its
 *    images/s against N, next to the same run without the queue (one endpoint, direct).
 * 3. The queue's own cost per image: BullMQ jobs carrying a 100 kB result through Redis, one at a
 *    time, in this process.
 *
 * Not a `deno bench` file (it spawns processes and servers): prints a Markdown table.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import sharp from "sharp";
import { shippedPhotos } from "../lib/core/samples.ts";
import { FakeA1111 } from "../tests/fake_servers.ts";
import { findBinary, startRedis } from "../tests/services.ts";
import { parseRedisUrl } from "../lib/generate/queue.ts";

const { values: o } = parseArgs({
  args: Deno.args,
  options: {
    images: { type: "string", default: "48" },
    processes: { type: "string", default: "1,2,4" },
    requests: { type: "string", default: "16" },
    "gpu-ms": { type: "string", default: "250" },
  },
});
const IMAGES = Number(o.images), REQUESTS = Number(o.requests), GPU_MS = Number(o["gpu-ms"]);
const NS = o.processes!.split(",").map(Number);
const cli = (name: string) => new URL(`../lib/cli/${name}.ts`, import.meta.url).pathname;
const PERMS = ["--allow-read", "--allow-write", "--allow-env", "--allow-ffi", "--allow-sys", "--allow-net"];

async function run(name: string, args: string[]): Promise<void> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMS, cli(name), ...args],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (r.code !== 0) throw new Error(`${name} ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
}

const seconds = async (f: () => Promise<unknown>) => {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
};

const load = () => Deno.loadavg().map((x) => x.toFixed(1)).join(" ");
console.log(`# winnow scale simulation — ${navigator.hardwareConcurrency} cores, load average ${load()}\n`);

// 1. Sharded score.
const dir = await Deno.makeTempDir({ prefix: "winnow-scale-" });
const imgs = join(dir, "images");
await Deno.mkdir(imgs);
const photos = await shippedPhotos();
for (let i = 0; i < IMAGES; i++) {
  await sharp(photos[i % photos.length]).resize(1088, 1088, { fit: "cover" })
    .extract({ left: 8 * (i % 8), top: 8 * Math.floor(i / 8) % 64, width: 1024, height: 1024 })
    .jpeg({ quality: 90 }).toFile(join(imgs, `img${String(i).padStart(4, "0")}.jpg`));
}
const emptyDir = join(dir, "empty");
await Deno.mkdir(emptyDir);
await Deno.writeTextFile(join(emptyDir, "list.txt"), "");
const startup = await seconds(() =>
  run("score", ["--from-list", join(emptyDir, "list.txt"), "--out", join(dir, "empty.csv"), "--quiet"])
);
console.log("## Sharded score (pure suite + default thresholds, 1024² JPEG, --jobs 1 per process)\n");
console.log("| processes N | images | wall s | images/s | × N=1 | images/s without one start-up |");
console.log("| --- | --- | --- | --- | --- | --- |");
let base = 0;
for (const n of NS) {
  const out = join(dir, `parts-${n}`);
  const wall = await seconds(() =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        run("score", [
          imgs,
          "--shard",
          `${i}/${n}`,
          "--out",
          out,
          "--jobs",
          "1",
          "--thresholds",
          "defaults",
          "--quiet",
        ])),
    )
  );
  const rate = IMAGES / wall;
  base ||= rate;
  console.log(
    `| ${n} | ${IMAGES} | ${wall.toFixed(1)} | ${rate.toFixed(1)} | ${(rate / base).toFixed(2)} | ${
      (IMAGES / Math.max(0.1, wall - startup)).toFixed(1)
    } |`,
  );
}
console.log(
  `\nOne process with nothing to score (start-up, listing, empty part): ${startup.toFixed(1)} s.\n`,
);

// 2 and 3. The queue.
if (!findBinary("redis-server")) {
  console.log("redis-server is not installed: the queue part is skipped (apt-get install redis-server).");
  Deno.exit(0);
}
const redis = await startRedis();
const genArgs = (out: string) => [
  "--backend",
  "a1111",
  "--prompt",
  "a lighthouse in a storm",
  "--seed",
  "1",
  "-n",
  String(REQUESTS),
  "--heuristics",
  "sharpness,exposure",
  "--out",
  out,
  "--quiet",
];
console.log(`## Generation queue (${REQUESTS} images, fake A1111 servers taking ${GPU_MS} ms per image)\n`);
console.log(
  "| workers N | wall s | images/s (wall) | fleet images/s (first → last served) | ideal (N × 1000 / gpu-ms) | efficiency |",
);
console.log("| --- | --- | --- | --- | --- | --- |");

/**
 * Runs `f` while watching the fake servers: images per second from the first image a server
 * served to the last (the fleet's own rate: no start-up, no scoring on the generating side).
 */
async function served(
  fakes: FakeA1111[],
  f: () => Promise<unknown>,
): Promise<{ wall: number; rate: number }> {
  let first = 0, last = 0;
  const sampler = setInterval(() => {
    const done = fakes.reduce((k, x) => k + x.generated, 0);
    if (done >= 1 && !first) first = performance.now();
    if (done >= REQUESTS && !last) last = performance.now();
  }, 10);
  const wall = await seconds(f);
  clearInterval(sampler);
  return { wall, rate: (REQUESTS - 1) / Math.max(0.001, (last - first) / 1000) };
}

const direct = new FakeA1111();
direct.delayMs = GPU_MS;
const alone = await served(
  [direct],
  () => run("generate", ["--url", direct.url, ...genArgs(join(dir, "direct"))]),
);
await direct.close();
for (const n of NS) {
  const fakes = Array.from({ length: n }, () => {
    const f = new FakeA1111();
    f.delayMs = GPU_MS;
    return f;
  });
  const workers = fakes.map((f) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...PERMS,
        cli("worker"),
        "--queue",
        redis.url,
        "--backend",
        "a1111",
        "--url",
        f.url,
        "--quiet",
      ],
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn()
  );
  // Workers are up when they print their first line.
  await Promise.all(workers.map(async (w) => {
    const reader = w.stderr.pipeThrough(new TextDecoderStream()).getReader();
    await reader.read();
    (async () => {
      while (!(await reader.read()).done) { /* drain */ }
    })();
  }));
  const { wall, rate: fleet } = await served(
    fakes,
    () => run("generate", ["--queue", redis.url, ...genArgs(join(dir, `queue-${n}`))]),
  );
  const ideal = n * 1000 / GPU_MS;
  console.log(
    `| ${n} | ${wall.toFixed(1)} | ${(REQUESTS / wall).toFixed(2)} | ${fleet.toFixed(2)} | ${
      ideal.toFixed(2)
    } | ${(fleet / ideal).toFixed(2)} |`,
  );
  for (const w of workers) w.kill("SIGTERM");
  await Promise.all(workers.map((w) => w.status));
  for (const f of fakes) await f.close();
}
console.log(
  `\nThe same run without the queue (generate --url, one endpoint, one request at a time): ${
    alone.wall.toFixed(1)
  } s, ${(REQUESTS / alone.wall).toFixed(2)} images/s (wall), ${alone.rate.toFixed(2)} served/s. ` +
    "Wall times include the generating process's start-up; every image is also scored there.\n",
);

// 3. BullMQ round trip per job, in process.
const mq = await import("bullmq");
const connection = parseRedisUrl(redis.url);
const queue = new mq.Queue("winnow-bench", { connection });
const events = new mq.QueueEvents("winnow-bench", { connection });
await events.waitUntilReady();
const payload = "x".repeat(100_000);
const worker = new mq.Worker("winnow-bench", () => Promise.resolve({ b64: payload }), { connection });
await worker.waitUntilReady();
const JOBS = 200;
const perJob = await seconds(async () => {
  for (let i = 0; i < JOBS; i++) {
    const job = await queue.add("j", { i, request: { prompt: "p".repeat(200) } });
    await job.waitUntilFinished(events);
    await job.remove();
  }
}) / JOBS;
console.log(
  `## Queue overhead\n\nA BullMQ job with a 100 kB result (enqueue → worker → result → remove), one at a time: ` +
    `${(perJob * 1000).toFixed(1)} ms per image (${JOBS} jobs).`,
);
await worker.close();
await events.close();
await queue.close();
await redis.stop();
await Deno.remove(dir, { recursive: true });
console.log(`\nload average at the end: ${load()}`);
Deno.exit(0);
