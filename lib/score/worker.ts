/**
 * Worker side of `ScorePool` (`lib/score/pool.ts`, which starts it): decodes and scores one file per
 * message, off the main thread. Replies with values or with the error that names the file. Not
 * imported by anything; the messages are typed in `protocol.ts`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import sharp from "sharp";
import { decodeImage, ImageDecodeError, toGray } from "../core/image.ts";
import { scoreImage } from "./score_image.ts";
import type { WorkerReady, WorkerReply, WorkerRequest } from "./protocol.ts";

// Parallelism comes from one worker per core; libvips threads inside each would oversubscribe
// (measured: README "Speed"). A request may ask for more (PoolOptions.vipsThreads).
let vipsThreads = 1;
sharp.concurrency(vipsThreads);
sharp.cache(false);

async function loadMask(path: string, width: number, height: number): Promise<Uint8Array> {
  const m = await decodeImage(path);
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

async function handle(req: WorkerRequest): Promise<WorkerReply> {
  if (req.vipsThreads && req.vipsThreads !== vipsThreads) sharp.concurrency(vipsThreads = req.vipsThreads);
  if (req.fault === "crash") {
    // An uncaught error outside any handler ends the worker, as a native crash would.
    setTimeout(() => {
      throw new Error(`injected crash on ${req.path}`);
    });
    return await new Promise<never>(() => {});
  }
  if (req.fault === "hang") { for (;;) { /* an endless decode */ } }
  let stage = "decode";
  try {
    const img = await decodeImage(req.path, req.decode);
    stage = "mask";
    const mask = req.maskPath ? await loadMask(req.maskPath, img.width, img.height) : undefined;
    stage = "score";
    const { values, details } = await scoreImage(img, {
      heuristics: req.heuristics,
      image: { region: req.region, mask, settings: req.settings, path: req.path },
    });
    return { id: req.id, width: img.width, height: img.height, format: img.format, values, details };
  } catch (e) {
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

self.onmessage = async (ev: MessageEvent<WorkerRequest>) => {
  self.postMessage(await handle(ev.data));
};

self.postMessage({ ready: true } satisfies WorkerReady);
