/**
 * A pool of score workers (one per core by default) that stays up between calls, so a batch, a
 * benchmark or the generation pipeline pays the start-up once. Each worker decodes and scores
 * one file at a time with a second queued behind it, so libvips decodes while JS scores.
 *
 * @module
 */
import type { Box } from "../heuristics/types.ts";
import type { DecodeOptions } from "../core/image.ts";
import { resolveHeuristics } from "../heuristics/registry.ts";
import type { WorkerReply, WorkerRequest } from "./protocol.ts";

export type { WorkerReply, WorkerRequest };

/** Options of {@link ScorePool}. */
export interface PoolOptions {
  /** Workers; default the number of cores. */
  jobs?: number;
  /** Heuristic names; default the ones without a model (`DEFAULT_HEURISTICS`). */
  heuristics?: readonly string[];
  decode?: DecodeOptions;
  /** Settings per heuristic name (see each heuristic's doc). */
  settings?: Record<string, Record<string, unknown>>;
}

/** Per-file extras: a region or a mask for region checks. */
export interface FileOptions {
  region?: Box;
  maskPath?: string;
}

const IN_FLIGHT_PER_WORKER = 2;

interface Slot {
  worker: Worker;
  busy: Map<number, { path: string; resolve: (r: WorkerReply) => void }>;
}

/**
 * Scores files on worker threads.
 *
 * @example
 * ```ts ignore
 * import { ScorePool } from "./pool.ts";
 * const pool = new ScorePool({ heuristics: ["sharpness"] });
 * const reply = await pool.score("photo.jpg");
 * pool.close();
 * ```
 */
export class ScorePool {
  readonly heuristics: string[];
  #decode: DecodeOptions;
  #settings?: Record<string, Record<string, unknown>>;
  #slots: Slot[] = [];
  #queue: { req: WorkerRequest; resolve: (r: WorkerReply) => void }[] = [];
  #nextId = 0;
  #closed = false;

  constructor(options: PoolOptions = {}) {
    this.heuristics = resolveHeuristics(options.heuristics).map((h) => h.name);
    this.#decode = options.decode ?? {};
    this.#settings = options.settings;
    const jobs = Math.max(1, options.jobs ?? navigator.hardwareConcurrency ?? 1);
    for (let i = 0; i < jobs; i++) this.#slots.push(this.#spawn());
  }

  /** Decodes and scores one file; never rejects: failures come back as an error reply. */
  score(path: string, extra: FileOptions = {}): Promise<WorkerReply> {
    if (this.#closed) throw new Error("ScorePool is closed");
    const req: WorkerRequest = {
      id: this.#nextId++,
      path,
      heuristics: this.heuristics,
      decode: this.#decode,
      settings: this.#settings,
      ...extra,
    };
    return new Promise((resolve) => {
      this.#queue.push({ req, resolve });
      this.#dispatch();
    });
  }

  /** Stops the workers. */
  close(): void {
    this.#closed = true;
    for (const s of this.#slots) s.worker.terminate();
  }

  #dispatch() {
    for (const slot of this.#slots) {
      while (slot.busy.size < IN_FLIGHT_PER_WORKER && this.#queue.length) {
        const { req, resolve } = this.#queue.shift()!;
        slot.busy.set(req.id, { path: req.path, resolve });
        slot.worker.postMessage(req);
      }
    }
  }

  #spawn(): Slot {
    const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    const slot: Slot = { worker, busy: new Map() };
    worker.onmessage = (ev: MessageEvent<WorkerReply>) => {
      const job = slot.busy.get(ev.data.id);
      slot.busy.delete(ev.data.id);
      job?.resolve(ev.data);
      this.#dispatch();
    };
    worker.onerror = (ev) => {
      // A crashed worker must not take the batch with it: its files get an error, a new one takes over.
      ev.preventDefault();
      worker.terminate();
      this.#slots[this.#slots.indexOf(slot)] = this.#spawn();
      for (const [id, job] of slot.busy) {
        job.resolve({ id, error: `${job.path}: worker crashed: ${ev.message}`, kind: "worker_crashed" });
      }
      this.#dispatch();
    };
    return slot;
  }
}
