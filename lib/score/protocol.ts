/**
 * The messages between `ScorePool` (`pool.ts`) and its score workers: one request per file, one
 * reply per request. Thread workers (`worker.ts`) get them by `postMessage`; process workers
 * (`worker_process.ts`) as frames on stdin/stdout ({@link encodeFrame}, {@link readFrames}): the
 * V8 serializer, the same structured clone `postMessage` uses, so both carry the same values
 * (NaN and Infinity too). Both sides import from here, so neither imports the other.
 *
 * @module
 */
import { deserialize, serialize } from "node:v8";
import type { Box, DetailRow, Value } from "../heuristics/types.ts";
import type { DecodeOptions } from "../core/image.ts";

/**
 * Testing hook: how a worker fails on a file. `crash`: an uncaught JS error ends the worker;
 * `hang`: it never answers; `segfault`: a real invalid memory access (SIGSEGV); `oom`: it fills the
 * V8 heap until V8 aborts. `segfault` and `oom` end the whole process unless the pool runs process
 * workers (`isolation: "process"`).
 */
export type Fault = "crash" | "hang" | "segfault" | "oom";

/** Message to a score worker. */
export interface WorkerRequest {
  id: number;
  path: string;
  heuristics: string[];
  decode: DecodeOptions;
  region?: Box;
  maskPath?: string;
  settings?: Record<string, Record<string, unknown>>;
  /** Testing hook: make the worker fail on this file (see {@link Fault}). Set only through `PoolOptions.faults`. */
  fault?: Fault;
  /** libvips threads for this worker's decodes (`sharp.concurrency`); default 1. */
  vipsThreads?: number;
  /**
   * Images the worker gathers (decoded, same heuristics and settings) before scoring them together,
   * so model heuristics run on a batch (`scoreImages`); default 1: each file as it comes.
   */
  batch?: number;
  /**
   * Set when the batch size was given (`PoolOptions.batch`): every model heuristic runs in chunks of
   * `batch`; otherwise each in chunks of its own `batchSize` (at most `batch`).
   */
  batchForced?: true;
}

/** Reply of a score worker: values, or an error naming the file. */
export type WorkerReply =
  | {
    id: number;
    width: number;
    height: number;
    format: string;
    values: Record<string, Value>;
    details: Record<string, DetailRow[]>;
    /** Images scored together with this one (itself included) when more than one (`batch`). */
    batched?: number;
  }
  | { id: number; error: string; kind: string };

/** Sent once by a worker when its modules are loaded: per-file time limits start counting then. */
export interface WorkerReady {
  ready: true;
}

/** Marks the start of each frame, so stray bytes a native library prints to stdout are skipped. */
const MAGIC = new Uint8Array([0x57, 0x4e, 0x57, 0x01]); // "WNW\x01"

/**
 * One message as a frame for a pipe: magic, length (u32 little-endian), V8-serialized body.
 *
 * @example
 * ```ts
 * import { encodeFrame, readFrames } from "./protocol.ts";
 * const stream = ReadableStream.from([encodeFrame({ ready: true })]);
 * for await (const m of readFrames(stream)) console.log(m); // { ready: true }
 * ```
 */
export function encodeFrame(message: unknown): Uint8Array {
  const body = serialize(message);
  const out = new Uint8Array(8 + body.length);
  out.set(MAGIC);
  new DataView(out.buffer).setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}

function indexOfMagic(buf: Uint8Array): number {
  outer: for (let i = 0; i + MAGIC.length <= buf.length; i++) {
    for (let k = 0; k < MAGIC.length; k++) if (buf[i + k] !== MAGIC[k]) continue outer;
    return i;
  }
  return -1;
}

/**
 * The messages of a stream of {@link encodeFrame} frames, in order. Bytes outside frames (a
 * library writing to stdout) go to `onStray`. Ends when the stream ends; a torn last frame (the
 * writer died mid-frame) is dropped.
 *
 * @example
 * ```ts
 * import { encodeFrame, readFrames } from "./protocol.ts";
 * const stream = ReadableStream.from([new TextEncoder().encode("noise"), encodeFrame([1, NaN])]);
 * for await (const m of readFrames(stream)) console.log(m); // [ 1, NaN ]
 * ```
 */
export async function* readFrames(
  stream: ReadableStream<Uint8Array>,
  onStray: (bytes: Uint8Array) => void = () => {},
): AsyncGenerator<unknown> {
  let buf: Uint8Array = new Uint8Array(0);
  for await (const chunk of stream) {
    // Few new buffers per chunk: each one lives outside V8's heap until a full collection, which
    // the score process (the reader) seldom runs, so copies per frame showed as RSS growing with
    // the number of images.
    if (buf.length === 0) buf = chunk;
    else {
      const joined = new Uint8Array(buf.length + chunk.length);
      joined.set(buf);
      joined.set(chunk, buf.length);
      buf = joined;
    }
    for (;;) {
      const at = indexOfMagic(buf);
      if (at < 0) {
        // Keep a tail that may be the start of a magic split across chunks.
        const keep = Math.min(buf.length, MAGIC.length - 1);
        if (buf.length > keep) onStray(buf.slice(0, buf.length - keep));
        buf = buf.subarray(buf.length - keep);
        break;
      }
      if (at > 0) {
        onStray(buf.slice(0, at));
        buf = buf.subarray(at);
      }
      if (buf.length < 8) break;
      const length = new DataView(buf.buffer, buf.byteOffset).getUint32(4, true);
      if (buf.length < 8 + length) break;
      const message = deserialize(buf.subarray(8, 8 + length));
      buf = buf.subarray(8 + length);
      yield message;
    }
  }
}
