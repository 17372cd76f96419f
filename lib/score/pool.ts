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
import type { WorkerReady, WorkerReply, WorkerRequest } from "./protocol.ts";

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
  /**
   * Seconds one file may take from the moment it is sent to a worker; past it the worker is
   * stopped and replaced and the file gets an error of kind `timeout`. Default
   * {@link DEFAULT_TIME_LIMIT_SECONDS}.
   */
  timeLimitSeconds?: number;
  /** Testing hook: files (by path) on which a worker crashes or hangs (see `WorkerRequest.fault`). */
  faults?: Readonly<Record<string, "crash" | "hang">>;
  /**
   * libvips threads per worker (`sharp.concurrency`). Default {@link DEFAULT_VIPS_THREADS}: the
   * workers already use every core, and more libvips threads only fight them (see README,
   * "Speed").
   */
  vipsThreads?: number;
  /**
   * Files sent to each worker before it answers. Default {@link DEFAULT_IN_FLIGHT}: one decodes
   * in libvips while JS scores the other.
   */
  inFlight?: number;
}

/** Default per-file time limit: 5 minutes, far above any decode + score measured here (< 10 s). */
export const DEFAULT_TIME_LIMIT_SECONDS = 300;

/** libvips threads per worker unless {@link PoolOptions.vipsThreads} says otherwise. */
export const DEFAULT_VIPS_THREADS = 1;
/** Files in flight per worker unless {@link PoolOptions.inFlight} says otherwise. */
export const DEFAULT_IN_FLIGHT = 2;

/** Per-file extras: a region or a mask for region checks. */
export interface FileOptions {
  region?: Box;
  maskPath?: string;
}

interface Job {
  req: WorkerRequest;
  resolve: (r: WorkerReply) => void;
  /** Was in flight on a worker that crashed or timed out: runs again, alone on its worker. */
  suspect?: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

interface Slot {
  worker: Worker;
  busy: Map<number, Job>;
  /** The worker has loaded its modules (time limits count from then, not from its start-up). */
  ready: boolean;
}

/**
 * Scores files on worker threads. A worker that crashes or overruns the time limit is replaced
 * and the batch goes on. Which file was to blame is found by isolation: the files it had in
 * flight run again, each alone on a worker; a file that fails alone gets the error row
 * (`worker_crashed` or `timeout`), the others their values. So every file gets exactly one reply.
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
  #vipsThreads: number;
  #inFlight: number;
  #slots: Slot[] = [];
  #queue: Job[] = [];
  #timeLimitMs: number;
  #faults: Readonly<Record<string, "crash" | "hang">>;
  #nextId = 0;
  #closed = false;

  constructor(options: PoolOptions = {}) {
    this.heuristics = resolveHeuristics(options.heuristics).map((h) => h.name);
    this.#decode = options.decode ?? {};
    this.#settings = options.settings;
    this.#timeLimitMs = (options.timeLimitSeconds ?? DEFAULT_TIME_LIMIT_SECONDS) * 1000;
    this.#faults = options.faults ?? {};
    this.#vipsThreads = Math.max(1, options.vipsThreads ?? DEFAULT_VIPS_THREADS);
    this.#inFlight = Math.max(1, options.inFlight ?? DEFAULT_IN_FLIGHT);
    const jobs = Math.max(1, options.jobs ?? navigator.hardwareConcurrency ?? 1);
    for (let i = 0; i < jobs; i++) this.#slots.push(this.#spawn());
  }

  /** Files the pool works on at once (workers × files in flight per worker). */
  get capacity(): number {
    return this.#slots.length * this.#inFlight;
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
      vipsThreads: this.#vipsThreads,
      ...extra,
      ...(this.#faults[path] ? { fault: this.#faults[path] } : {}),
    };
    return new Promise((resolve) => {
      this.#queue.push({ req, resolve });
      this.#dispatch();
    });
  }

  /** Stops the workers. */
  close(): void {
    this.#closed = true;
    for (const s of this.#slots) {
      for (const job of s.busy.values()) clearTimeout(job.timer);
      s.worker.terminate();
    }
  }

  #dispatch() {
    for (const slot of this.#slots) {
      while (this.#queue.length) {
        const next = this.#queue[0];
        // A suspect runs alone, so that if it fails again it alone is to blame.
        const alone = [...slot.busy.values()].some((j) => j.suspect);
        if (alone || slot.busy.size >= (next.suspect ? 1 : this.#inFlight)) break;
        if (next.suspect && slot.busy.size > 0) break;
        const job = this.#queue.shift()!;
        slot.busy.set(job.req.id, job);
        if (slot.ready) this.#startTimer(slot, job);
        slot.worker.postMessage(job.req);
      }
    }
  }

  #startTimer(slot: Slot, job: Job) {
    job.timer = setTimeout(() => this.#fail(slot, "timeout", job), this.#timeLimitMs);
  }

  /** A worker crashed or a file overran: replace the worker; blame a lone file, re-run the others alone. */
  #fail(slot: Slot, kind: "worker_crashed" | "timeout", culprit: Job | undefined, message = "") {
    const index = this.#slots.indexOf(slot);
    if (index < 0) return; // already replaced
    slot.worker.terminate();
    this.#slots[index] = this.#spawn();
    const jobs = [...slot.busy.values()];
    slot.busy.clear();
    const retry: Job[] = [];
    for (const job of jobs) {
      clearTimeout(job.timer);
      const blamed = jobs.length === 1 || (job.suspect ?? false);
      if (blamed && (kind === "worker_crashed" || job === culprit)) {
        job.resolve({
          id: job.req.id,
          error: kind === "timeout"
            ? `${job.req.path}: timeout: not scored within ${
              this.#timeLimitMs / 1000
            } s (the worker was stopped)`
            : `${job.req.path}: worker crashed while scoring it${message ? `: ${message}` : ""}`,
          kind,
        });
      } else retry.push({ req: job.req, resolve: job.resolve, suspect: true });
    }
    this.#queue.unshift(...retry);
    if (!this.#closed) this.#dispatch();
  }

  #spawn(): Slot {
    const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    const slot: Slot = { worker, busy: new Map(), ready: false };
    worker.onmessage = (ev: MessageEvent<WorkerReply | WorkerReady>) => {
      if ("ready" in ev.data) {
        slot.ready = true;
        for (const job of slot.busy.values()) this.#startTimer(slot, job);
        return;
      }
      const job = slot.busy.get(ev.data.id);
      slot.busy.delete(ev.data.id);
      clearTimeout(job?.timer);
      job?.resolve(ev.data);
      this.#dispatch();
    };
    worker.onerror = (ev) => {
      // A crashed worker must not take the batch with it: a new one takes over (see #fail).
      ev.preventDefault();
      this.#fail(slot, "worker_crashed", undefined, ev.message);
    };
    return slot;
  }
}
