/**
 * The messages between `ScorePool` (`pool.ts`, the main thread) and its score workers
 * (`worker.ts`): one request per file, one reply per request. Both sides import these types from
 * here, so neither imports the other.
 *
 * @module
 */
import type { Box, DetailRow, Value } from "../heuristics/types.ts";
import type { DecodeOptions } from "../core/image.ts";

/** Message to a score worker. */
export interface WorkerRequest {
  id: number;
  path: string;
  heuristics: string[];
  decode: DecodeOptions;
  region?: Box;
  maskPath?: string;
  settings?: Record<string, Record<string, unknown>>;
  /**
   * Testing hook: make the worker fail on this file as a native crash or an endless decode would
   * (`crash`: an uncaught error kills the worker; `hang`: it never answers). Set only through
   * `PoolOptions.faults`.
   */
  fault?: "crash" | "hang";
  /** libvips threads for this worker's decodes (`sharp.concurrency`); default 1. */
  vipsThreads?: number;
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
  }
  | { id: number; error: string; kind: string };

/** Sent once by a worker when its modules are loaded: per-file time limits start counting then. */
export interface WorkerReady {
  ready: true;
}
