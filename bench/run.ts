/**
 * `deno task bench`: one table of throughput and memory, every speed as images/s and as a ratio to
 * sharp's decode of the same files measured in the same round (so a loaded machine slows both
 * sides alike). Each part runs `--rounds` times, interleaved with its decode; the table shows the
 * median and the range [min–max] over rounds. In-process parts also report CPU milliseconds per image
 * (user + system over every thread of the process), which a busy machine disturbs much less.
 *
 * Parts (`--parts`, default all but `validity`):
 * - `pure`: decode + the pure suite on this thread vs sharp decode on one thread (1024² JPEGs).
 * - `pool`: a ScorePool of 1 and of 2 workers, threads and child processes, vs sharp decoding on
 *   one lane per core; and each kind's start-up (a new pool until its first image is scored).
 * - `score`: a whole `deno task score` process (start-up included), with thread and with process
 *   workers (`--isolation`), vs `bench/decode_only.ts`.
 * - `models`: each bundled-model heuristic alone in a 2-worker pool over labeled-set images (model
 *   load excluded) vs decode of the same files, at each heuristic's default batch size; with
 *   `--batch 1,4,8` (`default` for the default) one warm pool per batch size (`PoolOptions.batch`:
 *   images a worker gathers before running the model on them together), timed
 *   in turn within each round. `clip-tower` in `--models`: the full-size CLIP ViT-B/32 image tower
 *   with random weights (no CLIP weights are reachable offline; `bench/clip_bench.ts` builds it), one
 *   onnxruntime thread as in a score worker, at each batch size (`default`: 8), on this thread.
 *   `ssd-detector`: `faces`' default detector alone (face-api's SSD on onnxruntime, one thread,
 *   `locateBatch` on the 512 copies of the labeled images), at each batch size (`default`: 1).
 * - `validity`: the validity run (`lib/calibrate/validity.ts`) over `--validity-images` labeled
 *   images (a seeded subset; `all` for every one).
 * - `memory`: peak RSS of a whole `deno task score` job (`bench/memory_probe.ts`: the score task's
 *   flags, `/proc` high-water marks) over N₁ and N₂ small generated images, each in a fresh process,
 *   with thread and with process workers: the score process, its largest child, the sampled total,
 *   and each one's N₂/N₁ ratio.
 *
 *     ./deno task bench [--rounds 3] [--images 16] [--parts pure,pool,score,models,memory,validity]
 *       [--score-images 120] [--models faces,text] [--model-images 12] [--batch 1,4,8]
 *       [--memory 1000,4000] [--set faces.runtime=tfjs]   (settings of the `models` part, repeatable)
 *       [--validity-images 24]
 *
 * The issue's targets use `--memory 1000,10000`; everything else at its defaults.
 *
 * @module
 */
import sharp from "sharp";
import process from "node:process";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { benchJpegs } from "./fixtures.ts";
import { decodeImage } from "../lib/core/image.ts";
import { scoreImage } from "../lib/score/score_image.ts";
import { ISOLATIONS, ScorePool } from "../lib/score/pool.ts";
import { DEFAULT_HEURISTICS } from "../lib/heuristics/registry.ts";
import { listImages } from "../lib/core/files.ts";
import { SHIPPED_LABELS_DIR } from "../lib/labels/format.ts";
import { parseSetOptions } from "../lib/cli/args.ts";

const { values: o } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    images: { type: "string", default: "16" },
    parts: { type: "string", default: "pure,pool,score,models,memory" },
    "score-images": { type: "string", default: "120" },
    models: { type: "string", default: "faces,text" },
    "model-images": { type: "string", default: "12" },
    batch: { type: "string", default: "default" },
    memory: { type: "string", default: "1000,4000" },
    "validity-images": { type: "string", default: "24" },
    set: { type: "string", multiple: true, default: [] },
    help: { type: "boolean", short: "h" },
  },
});
if (o.help) {
  console.log((await Deno.readTextFile(new URL(import.meta.url))).split("*/")[0]);
  Deno.exit(0);
}
const ROUNDS = Number(o.rounds), IMAGES = Number(o.images);
/** `--set faces.runtime=tfjs`: settings of the heuristics in the `models` part. */
const modelSettings = parseSetOptions(o.set as string[]);
const setNote = (o.set as string[]).length ? ` (${(o.set as string[]).join(", ")})` : "";
const parts = new Set(o.parts!.split(","));

interface Line {
  part: string;
  images: number;
  perSec: number[];
  ratio?: number[];
  /** CPU milliseconds per image (all threads of this process), when measured in-process. */
  cpu?: number[];
  note?: string;
}
const lines: Line[] = [];
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (v: number[], d: number) =>
  v.length === 0
    ? "–"
    : v.length === 1
    ? v[0].toFixed(d)
    : `${median(v).toFixed(d)} [${Math.min(...v).toFixed(d)}–${Math.max(...v).toFixed(d)}]`;
const log = (s: string) => console.error(`bench: ${s}`);
/** CPU seconds (user + system, every thread of this process) of the last {@link time} call. */
let lastCpu = 0;
const time = async (f: () => Promise<unknown>) => {
  const c0 = process.cpuUsage(), t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  lastCpu = (c.user + c.system) / 1e6;
  return (performance.now() - t0) / 1000;
};

const tmp = await Deno.makeTempDir({ prefix: "winnow-bench-" });
/** sharp's decode of `files` on `lanes` parallel lanes with as many libvips threads. */
async function decodeLanes(files: readonly string[], lanes: number): Promise<void> {
  sharp.concurrency(lanes);
  let next = 0;
  const lane = async () => {
    while (next < files.length) {
      await sharp(files[next++]).autoOrient().toColourspace("srgb").raw().toBuffer();
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  sharp.concurrency(1);
}
async function poolRun(pool: ScorePool, files: readonly string[]): Promise<void> {
  const replies = await Promise.all(files.map((f) => pool.score(f)));
  const bad = replies.find((r) => "error" in r);
  if (bad && "error" in bad) throw new Error(`bench: ${bad.error}`);
}
const cores = navigator.hardwareConcurrency;

/**
 * One row per batch size: `run(b)` over the same `n` images at batch `b`, once each as warm-up, then
 * `ROUNDS` rounds with the sizes taken in turn (rotated each round), images/s and CPU ms per image.
 */
async function batchRows(part: string, n: number, batches: number[], run: (b: number) => Promise<void>) {
  for (const b of batches) await run(b); // warm-up
  const rows = batches.map((b) => ({ b, per: [] as number[], cpu: [] as number[] }));
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < rows.length; k++) {
      const row = rows[(k + r) % rows.length];
      const s = await time(() => run(row.b));
      row.per.push(n / s);
      row.cpu.push((lastCpu / n) * 1000);
    }
  }
  for (const row of rows) {
    lines.push({ part: `${part}, batch ${row.b}`, images: n, perSec: row.per, cpu: row.cpu });
  }
}

/** CPU ms per image of the random full-size ViT-B/32 tower at each batch size (rows `clip-tower`). */
async function clipTower(batches: number[]): Promise<void> {
  const ort = await import("onnxruntime-node");
  const file = join(Deno.env.get("TMPDIR") ?? "/tmp", "winnow-bench", "clip-vit-b32-vision-random.onnx");
  if (!(await Deno.stat(file).catch(() => null))?.size) {
    lines.push({
      part: "clip-tower",
      images: 0,
      perSec: [],
      note: `run bench/clip_bench.ts once to build ${file}`,
    });
    return;
  }
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const n = Math.max(...batches) * 2;
  log(`clip-tower: ViT-B/32 image tower (random weights), 1 thread, ${n} images × ${ROUNDS} rounds`);
  const pixels = new Float32Array(n * 3 * 224 * 224).map((_, i) => Math.sin(i * 0.001));
  const run = async (b: number) => {
    for (let i = 0; i < n; i += b) {
      const x = pixels.subarray(i * 3 * 224 * 224, (i + b) * 3 * 224 * 224);
      await session.run({ pixel_values: new ort.Tensor("float32", x, [b, 3, 224, 224]) });
    }
  };
  await batchRows("clip-tower (ViT-B/32, random weights, 1 thread)", n, batches, run);
}

/** CPU ms per image of the SSD face detector alone at each batch size (rows `ssd-detector`). */
async function ssdDetector(files: readonly string[], batches: number[]): Promise<void> {
  const { loadSsdOnnx } = await import("../lib/models/faces/ssd_onnx.ts");
  const { DEFAULT_MODEL_DIRS } = await import("../lib/models/faces/detector.ts");
  const { scaledForDetection } = await import("../lib/models/tfjs.ts");
  const ssd = await loadSsdOnnx(DEFAULT_MODEL_DIRS.ssd, { threads: 1 });
  const copies = await Promise.all(files.map(async (f) => scaledForDetection(await decodeImage(f), 512)));
  const n = copies.length;
  log(`ssd-detector: face-api's SSD on onnxruntime, 1 thread, ${n} images × ${ROUNDS} rounds`);
  const run = async (b: number) => {
    for (let i = 0; i < n; i += b) await ssd.locateBatch(copies.slice(i, i + b), 0.1);
  };
  await batchRows("ssd-detector (onnxruntime, 1 thread)", n, batches, run);
}

try {
  const files = parts.has("pure") || parts.has("pool") ? await benchJpegs(join(tmp, "suite"), IMAGES) : [];
  if (parts.has("pure")) {
    log(`pure suite on one thread, ${IMAGES} images × ${ROUNDS} rounds`);
    sharp.concurrency(1);
    const per: number[] = [],
      ratio: number[] = [],
      dec: number[] = [],
      decCpu: number[] = [],
      cpu: number[] = [];
    for (let r = -1; r < ROUNDS; r++) {
      const d = await time(() => decodeLanes(files, 1));
      const dc = lastCpu;
      const s = await time(async () => {
        for (const f of files) await scoreImage(await decodeImage(f), { heuristics: DEFAULT_HEURISTICS });
      });
      if (r < 0) continue; // warm-up
      dec.push(IMAGES / d);
      decCpu.push((dc / IMAGES) * 1000);
      per.push(IMAGES / s);
      cpu.push((lastCpu / IMAGES) * 1000);
      ratio.push(s / d);
    }
    lines.push({ part: "sharp decode, 1 thread", images: IMAGES, perSec: dec, cpu: decCpu });
    lines.push({ part: "decode + pure suite, 1 thread", images: IMAGES, perSec: per, ratio, cpu });
  }
  if (parts.has("pool")) {
    log(
      `pure suite in pools of 1 and ${cores} workers, threads and processes, ${IMAGES} images × ${ROUNDS} rounds`,
    );
    const pools = ISOLATIONS.flatMap((isolation) =>
      [1, cores].map((jobs) => ({ jobs, isolation, pool: new ScorePool({ jobs, isolation }) }))
    );
    const startup = Object.fromEntries(ISOLATIONS.map((i) => [i, [] as number[]]));
    try {
      for (const p of pools) await poolRun(p.pool, files);
      const dec: number[] = [], decCpu: number[] = [];
      const res = pools.map(() => ({ per: [] as number[], ratio: [] as number[], cpu: [] as number[] }));
      for (let r = 0; r < ROUNDS; r++) {
        const d = await time(() => decodeLanes(files, cores));
        dec.push(IMAGES / d);
        decCpu.push((lastCpu / IMAGES) * 1000);
        for (const [i, p] of pools.entries()) {
          const s = await time(() => poolRun(p.pool, files));
          res[i].per.push(IMAGES / s);
          res[i].ratio.push(s / d);
          res[i].cpu.push((lastCpu / IMAGES) * 1000);
        }
        // Start-up: a new pool of `cores` workers until its first file is scored.
        for (const isolation of ISOLATIONS) {
          const fresh = new ScorePool({ jobs: cores, isolation });
          startup[isolation].push(await time(() => fresh.score(files[r % files.length])));
          await fresh.close();
        }
      }
      lines.push({ part: `sharp decode, ${cores} lanes`, images: IMAGES, perSec: dec, cpu: decCpu });
      for (const [i, p] of pools.entries()) {
        lines.push({
          part: `pure suite, pool of ${p.jobs} ${p.isolation} worker${p.jobs > 1 ? "s" : ""}`,
          images: IMAGES,
          perSec: res[i].per,
          ratio: res[i].ratio,
          // process.cpuUsage() sees this process only, not child processes.
          cpu: p.isolation === "thread" ? res[i].cpu : undefined,
          note: `× ${cores}-lane decode`,
        });
      }
      for (const isolation of ISOLATIONS) {
        const v = startup[isolation];
        lines.push({
          part: `start-up + first image, ${cores} ${isolation} workers`,
          images: 1,
          perSec: v.map((s) => 1 / s),
          note: `${spread(v, 2)} s`,
        });
      }
    } finally {
      for (const p of pools) await p.pool.close();
    }
  }
  if (parts.has("score")) {
    const n = Number(o["score-images"]);
    log(`whole score process vs decode-only process, ${n} images × ${ROUNDS} rounds`);
    const dir = join(tmp, "score");
    await benchJpegs(dir, n);
    const perms = ["--allow-read", "--allow-write", "--allow-env", "--allow-ffi", "--allow-sys"];
    const run = async (args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "piped" }).output();
      if (!out.success) {
        throw new Error(`bench: ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
      }
    };
    const cli = new URL("../lib/cli/score.ts", import.meta.url).pathname;
    const dec = new URL("./decode_only.ts", import.meta.url).pathname;
    const decPer: number[] = [];
    const per = Object.fromEntries(ISOLATIONS.map((i) => [i, [] as number[]]));
    const ratio = Object.fromEntries(ISOLATIONS.map((i) => [i, [] as number[]]));
    for (let r = -1; r < ROUNDS; r++) {
      const d = await time(() => run(["run", ...perms, dec, dir]));
      if (r >= 0) decPer.push(n / d);
      for (const isolation of ISOLATIONS) {
        const s = await time(() =>
          run([
            "run",
            "--v8-flags=--max-semi-space-size=1,--expose-gc", // the score task's V8 flags
            ...perms,
            "--allow-run",
            cli,
            dir,
            "--out",
            join(tmp, "score.csv"),
            "--restart",
            "--quiet",
            "--isolation",
            isolation,
          ])
        );
        if (r < 0) continue; // warm-up (module cache)
        per[isolation].push(n / s);
        ratio[isolation].push(s / d);
      }
    }
    lines.push({ part: "decode-only process, start-up incl.", images: n, perSec: decPer });
    for (const isolation of ISOLATIONS) {
      lines.push({
        part: `deno task score process, ${isolation} workers, start-up incl.`,
        images: n,
        perSec: per[isolation],
        ratio: ratio[isolation],
      });
    }
  }
  if (parts.has("models")) {
    const { files: all } = await listImages([join(SHIPPED_LABELS_DIR, "images")]);
    const n = Math.min(Number(o["model-images"]), all.length);
    // Every k-th labeled image: a fixed, spread-out subset.
    const files = Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]);
    // "default": the pool's own choice (each heuristic's batchSize); a number forces that size.
    const batches = o.batch!.split(",").map((b) => b === "default" ? undefined : Number(b));
    for (const h of o.models!.split(",").filter(Boolean)) {
      if (h === "clip-tower") {
        await clipTower(batches.map((b) => b ?? 8));
        continue;
      }
      if (h === "ssd-detector") {
        await ssdDetector(files, batches.map((b) => b ?? 1));
        continue;
      }
      log(
        `${h} alone in ${cores}-worker pools (batch ${
          batches.map((b) => b ?? "default").join(", ")
        }), ${n} labeled images × ${ROUNDS} rounds`,
      );
      // One warm pool per batch size, timed in turn within each round (the same minute).
      const pools = batches.map((batch) => ({
        batch,
        pool: new ScorePool({ jobs: cores, heuristics: [h], batch, settings: modelSettings }),
        per: [] as number[],
        ratio: [] as number[],
        cpu: [] as number[],
      }));
      const part = (b: number | undefined, pool?: ScorePool) =>
        `${h}, pool of ${cores} workers${
          b === undefined ? (pool && pool.batch > 1 ? `, batch ${pool.batch} (default)` : "") : `, batch ${b}`
        }${setNote}`;
      try {
        for (const p of pools) await poolRun(p.pool, files); // loads the model in every worker
        for (let r = 0; r < ROUNDS; r++) {
          const d = await time(() => decodeLanes(files, cores));
          // Rotate the order each round, so no batch size always runs first or last.
          for (let k = 0; k < pools.length; k++) {
            const p = pools[(k + r) % pools.length];
            const s = await time(() => poolRun(p.pool, files));
            p.per.push(n / s);
            p.ratio.push(s / d);
            p.cpu.push((lastCpu / n) * 1000);
          }
        }
        for (const p of pools) {
          lines.push({
            part: part(p.batch, p.pool),
            images: n,
            perSec: p.per,
            ratio: p.ratio,
            cpu: p.cpu,
            note: "labeled set",
          });
        }
      } catch (e) {
        lines.push({ part: part(batches[0]), images: n, perSec: [], note: (e as Error).message });
      } finally {
        for (const p of pools) p.pool.close();
      }
    }
  }
  if (parts.has("validity")) {
    const { runValidity } = await import("../lib/calibrate/validity.ts");
    const v = o["validity-images"]!;
    const limit = v === "all" ? undefined : Number(v);
    log(`validity run over ${v} labeled images (every offline detector), once`);
    let images = 0;
    const s = await time(async () => {
      const r = await runValidity({ limit, quiet: true });
      images = r.images;
    });
    lines.push({
      part: "validity run (every offline detector)",
      images,
      perSec: [images / s],
      note: `${s.toFixed(1)} s`,
    });
  }
  if (parts.has("memory")) {
    const [n1, n2] = o.memory!.split(",").map(Number);
    log(
      `peak RSS of whole score jobs over ${n1} and ${n2} generated 64×64 JPEGs (with --duplicates: ` +
        "the job keeps each image's path and pHash until the end, O(n) by nature, ≈ 0.1 KB per image)",
    );
    const a = join(tmp, "mem", "a"), b = join(tmp, "mem", "b");
    await Deno.mkdir(a, { recursive: true });
    await Deno.mkdir(b, { recursive: true });
    let seed = 12345;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < n2; i++) {
      const px = new Uint8Array(64 * 64 * 3);
      const base = rnd() * 255, slope = rnd() * 4, tilt = rnd() * 255;
      for (let k = 0; k < px.length; k++) {
        px[k] = (base + (k % 192) * slope + (k / 192) * tilt / 64 + rnd() * 60) & 255;
      }
      await sharp(px, { raw: { width: 64, height: 64, channels: 3 } }).jpeg({ quality: 85 })
        .toFile(join(i < n1 ? a : b, `g${String(i).padStart(6, "0")}.jpg`));
    }
    const probe = new URL("./memory_probe.ts", import.meta.url).pathname;
    const mib = (x: number) => `${x.toFixed(0)} MiB`;
    for (const isolation of ["thread", "process"] as const) {
      const first: Record<string, number> = {};
      for (const [n, folders] of [[n1, [a]], [n2, [a, b]]] as const) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", probe, isolation, join(tmp, "mem.csv"), ...folders],
          stdout: "piped",
          stderr: "piped",
        }).output();
        if (!out.success) {
          throw new Error(`bench: memory probe failed: ${new TextDecoder().decode(out.stderr)}`);
        }
        const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
        const ratio = (key: string) => n === n1 ? "" : ` (${(r[key] / first[key]).toFixed(3)}× ${n1})`;
        if (n === n1) Object.assign(first, r);
        const figures = [`parent ${mib(r.parentMiB)}${ratio("parentMiB")}`];
        if (isolation === "process") {
          figures.push(
            `largest of ${r.children} children ${mib(r.largestChildMiB)}${ratio("largestChildMiB")}`,
          );
        }
        figures.push(`total ${mib(r.totalMiB)}${ratio("totalMiB")}`);
        lines.push({
          part: `peak RSS, score job (${isolation} workers) over ${n} small images`,
          images: r.images,
          perSec: [r.images / r.seconds],
          note: figures.join(", "),
        });
      }
    }
  }
} finally {
  await Deno.remove(tmp, { recursive: true });
}

const head = [
  "part",
  "images",
  "images/s median [min–max]",
  "time × decode median [min–max]",
  "CPU ms/image",
  "note",
];
const rows = lines.map((l) => [
  l.part,
  String(l.images),
  spread(l.perSec, 1),
  l.ratio ? spread(l.ratio, 2) : "–",
  l.cpu ? spread(l.cpu, 1) : "–",
  l.note ?? "",
]);
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const fmtRow = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
console.log(
  `winnow bench ${
    new Date().toISOString().slice(0, 16)
  }Z, ${cores} cores, ${ROUNDS} rounds, Deno ${Deno.version.deno}`,
);
console.log(fmtRow(head));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const r of rows) console.log(fmtRow(r));
