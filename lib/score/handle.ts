/**
 * What a score worker does with one request, whichever kind of worker it is: a thread
 * (`worker.ts`) or a child process (`worker_process.ts`). Both entry points call {@link handle};
 * only the transport differs.
 *
 * @module
 */
import sharp from "sharp";
import { decodeImage, ImageDecodeError, toGray } from "../core/image.ts";
import { type ImageResult, scoreImages } from "./score_image.ts";
import type { ImageOptions } from "../heuristics/types.ts";
import type { RgbImage } from "../core/image.ts";
import type { Fault, WorkerReply, WorkerRequest } from "./protocol.ts";
import { everyNth, releaseBytes } from "../core/gc.ts";

// Parallelism comes from one worker per core; libvips threads inside each would oversubscribe
// (measured: README "Speed"). A request may ask for more (PoolOptions.vipsThreads).
let vipsThreads = 1;
sharp.concurrency(vipsThreads);
sharp.cache(false);

/**
 * Files between full garbage collections of this worker. Each file leaves typed arrays of its
 * scoring in buffers outside V8's heap (its decoded pixels are freed at once, see `releaseBytes`),
 * and V8 frees those only in a full collection, which it starts after 64 MB of them: with small
 * images a worker's RSS crept up over thousands of files before it levelled off. A collection every
 * 256 files (≈ 10–30 ms each on this machine) bounds that garbage to 256 files' worth (README,
 * "Benchmarks": peak RSS of a score job).
 */
export const GC_EVERY_FILES = 256;
const collectNow = everyNth(GC_EVERY_FILES);

/**
 * One decode at a time in this worker. libvips keeps one error buffer per process, so two decodes
 * at once (two files in flight) could swap their messages, and with them `truncated` and `corrupt`.
 * The JS scoring of one file still overlaps the decode of the next, which is what the second file
 * in flight is for. Workers that are threads of one process can still mix messages between them.
 */
let decoding: Promise<unknown> = Promise.resolve();
function oneDecodeAtATime<T>(decode: () => Promise<T>): Promise<T> {
  const run = decoding.then(decode, decode);
  decoding = run.catch(() => {});
  return run;
}

async function loadMask(path: string, width: number, height: number): Promise<Uint8Array> {
  const m = await oneDecodeAtATime(() => decodeImage(path));
  const g = toGray(m);
  const out = new Uint8Array(width * height);
  // Nearest-neighbour mapping, so a mask of another size still covers the same part of the picture.
  for (let y = 0; y < height; y++) {
    const sy = Math.min(m.height - 1, Math.floor((y + 0.5) * m.height / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(m.width - 1, Math.floor((x + 0.5) * m.width / width));
      out[y * width + x] = g[sy * m.width + sx] >= 128 ? 1 : 0;
    }
  }
  return out;
}

/** A decoded file waiting for its batch. */
interface Waiting {
  /** Heuristics, settings and batch size: only files with the same key are scored together. */
  key: string;
  req: WorkerRequest;
  image: RgbImage;
  options: ImageOptions;
  resolve: (r: ImageResult & { batched: number }) => void;
  reject: (e: unknown) => void;
}

/** Files of this worker between arrival and the end of their decode (and mask). */
let decodingNow = 0;
let waiting: Waiting[] = [];
let scoring = false;

/**
 * Scores the waiting files when a batch is full, or when no other file is being decoded (no more
 * are coming soon), one batch at a time. With batch 1 every file is scored as soon as it is decoded.
 */
function flush(): void {
  if (scoring || waiting.length === 0) return;
  const first = waiting[0];
  const size = Math.max(1, first.req.batch ?? 1);
  const same = waiting.filter((w) => w.key === first.key);
  if (same.length < size && decodingNow > 0) return;
  const take = same.slice(0, size);
  waiting = waiting.filter((w) => !take.includes(w));
  scoring = true;
  scoreImages(take.map((w) => ({ image: w.image, options: w.options })), {
    heuristics: first.req.heuristics,
    batch: first.req.batchForced ? size : undefined,
  }).then((results) => {
    results.forEach((r, i) =>
      r.status === "fulfilled"
        ? take[i].resolve({ ...r.value, batched: take.length })
        : take[i].reject(r.reason)
    );
  }, (e) => take.forEach((w) => w.reject(e))).finally(() => {
    scoring = false;
    flush();
  });
}

function scoreInBatch(
  req: WorkerRequest,
  image: RgbImage,
  options: ImageOptions,
): Promise<ImageResult & { batched: number }> {
  const key = JSON.stringify([
    req.heuristics,
    req.settings ?? null,
    req.batch ?? 1,
    req.batchForced ?? false,
  ]);
  return new Promise((resolve, reject) => {
    waiting.push({ key, req, image, options, resolve, reject });
    flush();
  });
}

/** Testing hook: fails the way `fault` says (see `WorkerRequest.fault`); never returns. */
async function injectFault(fault: Fault, path: string): Promise<never> {
  if (fault === "crash") {
    // An uncaught error outside any handler ends the worker.
    setTimeout(() => {
      throw new Error(`injected crash on ${path}`);
    });
  } else if (fault === "hang") {
    for (;;) { /* an endless decode */ }
  } else if (fault === "segfault") {
    // A real invalid memory access (address 8), as a bug in native code would make: SIGSEGV.
    const bad = Deno.UnsafePointer.create(8n)!;
    new Deno.UnsafePointerView(bad).getUint8();
  } else if (fault === "oom") {
    // Live JS objects until V8 reaches its heap limit: "Fatal JavaScript out of memory".
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array(1 << 16).fill(hoard.length + 0.5));
  }
  return await new Promise<never>(() => {});
}

/**
 * Decodes and scores the file of one request, in a batch with the other files this worker holds
 * when `req.batch` > 1 (see {@link flush}); never throws: a failure comes back as an error
 * reply naming the file (or, with the testing hook `req.fault`, the worker dies or hangs).
 *
 * @example
 * ```ts ignore
 * import { handle } from "./handle.ts";
 * const reply = await handle({ id: 0, path: "photo.jpg", heuristics: ["sharpness"], decode: {} });
 * ```
 */
export async function handle(req: WorkerRequest): Promise<WorkerReply> {
  try {
    return await scoreRequest(req);
  } finally {
    collectNow();
  }
}

async function scoreRequest(req: WorkerRequest): Promise<WorkerReply> {
  if (req.vipsThreads && req.vipsThreads !== vipsThreads) sharp.concurrency(vipsThreads = req.vipsThreads);
  if (req.fault) return await injectFault(req.fault, req.path);
  let stage = "decode";
  let decoded = false;
  decodingNow++;
  try {
    const img = await oneDecodeAtATime(() => decodeImage(req.path, req.decode));
    stage = "mask";
    const mask = req.maskPath ? await loadMask(req.maskPath, img.width, img.height) : undefined;
    stage = "score";
    decodingNow--;
    decoded = true;
    const { values, details, batched } = await scoreInBatch(req, img, {
      region: req.region,
      mask,
      settings: req.settings,
      path: req.path,
    });
    // Nothing reads the pixels again: free them now rather than at V8's next full collection.
    releaseBytes(img.data);
    return {
      id: req.id,
      width: img.width,
      height: img.height,
      format: img.format,
      values,
      details,
      ...(batched > 1 ? { batched } : {}),
    };
  } catch (e) {
    if (!decoded) {
      decodingNow--;
      flush(); // a batch may have been waiting for this file
    }
    if (e instanceof ImageDecodeError) {
      return stage === "mask"
        ? { id: req.id, error: `mask ${e.message}`, kind: "mask_error" }
        : { id: req.id, error: e.message, kind: e.kind };
    }
    return {
      id: req.id,
      error: `${req.path}: ${stage} failed: ${(e as Error).message}`,
      kind: `${stage}_failed`,
    };
  }
}
