/**
 * A pool of score workers (one per core by default) that stays up between calls, so a batch, a
 * benchmark or the generation pipeline pays the start-up once. Each worker decodes and scores
 * one file at a time with a second queued behind it, so libvips decodes while JS scores.
 *
 * Workers are threads of this process (`isolation: "thread"`, `worker.ts`) or child processes
 * (`"process"`, `worker_process.ts`: `deno run` with the project's deno.json and its own V8 heap
 * limit). Both run the same `handle` (`handle.ts`) on the same messages (`protocol.ts`); only a
 * child process survives a native crash or an out-of-memory abort of its neighbour.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import type { Box } from "../heuristics/types.ts";
import type { DecodeOptions } from "../core/image.ts";
import { resolveHeuristics } from "../heuristics/registry.ts";
import {
  encodeFrame,
  type Fault,
  readFrames,
  type WorkerReady,
  type WorkerReply,
  type WorkerRequest,
} from "./protocol.ts";

export type { Fault, WorkerReply, WorkerRequest };

/** Where workers run: threads of this process, or child processes (see {@link PoolOptions.isolation}). */
export type Isolation = "thread" | "process";

/** The isolations, for option parsing. */
export const ISOLATIONS: readonly Isolation[] = ["thread", "process"];

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
  /** Testing hook: files (by path) on which a worker fails (see {@link Fault}). */
  faults?: Readonly<Record<string, Fault>>;
  /**
   * `"thread"` (default): workers are threads of this process; a JS error or a hang costs one
   * file, but a native crash (a segfault in libvips) or V8 running out of memory ends the process.
   * `"process"`: each worker is a child `deno run` (needs `--allow-run`); any death of a child,
   * by signal or exit, costs one file. The child gets `--allow-read --allow-env --allow-ffi
   * --allow-sys`, and `--allow-write` / `--allow-net` only when this process holds them (face
   * crops, the probe heuristic).
   */
  isolation?: Isolation;
  /**
   * V8 heap limit of each process worker in MB (`--max-old-space-size`), so one image that
   * fills the heap aborts its own child only. Default {@link DEFAULT_WORKER_HEAP_MB}. Process
   * workers only.
   */
  workerHeapMb?: number;
  /**
   * libvips threads per worker (`sharp.concurrency`). Default {@link DEFAULT_VIPS_THREADS}: the
   * workers already use every core, and more libvips threads only fight them (see README,
   * "Speed").
   */
  vipsThreads?: number;
  /**
   * Files sent to each worker before it answers. Default {@link DEFAULT_IN_FLIGHT}: one decodes
   * in libvips while JS scores the other; with `batch` > 1, the batch and two more (the next files
   * decode while a batch is scored; decoded images wait in memory, so not more).
   */
  inFlight?: number;
  /**
   * Images each worker gathers before running the model heuristics on them together (each
   * heuristic's `prepareBatch`, in chunks of this size when given). Default: the largest
   * `batchSize` of the heuristics run, each then in chunks of its own `batchSize`, chosen per model
   * from measurements (README, "Model heuristics in batches"); 1 when none batches, which scores
   * every file as soon as it is decoded. Results are the same
   * either way (within float tolerance, see each heuristic); a bad image still costs only its row.
   */
  batch?: number;
}

/** Default per-file time limit: 5 minutes, far above any decode + score measured here (< 10 s). */
export const DEFAULT_TIME_LIMIT_SECONDS = 300;

/** V8 heap limit of each process worker (MB) unless {@link PoolOptions.workerHeapMb} says otherwise. */
export const DEFAULT_WORKER_HEAP_MB = 4096;

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

/** One worker, thread or process, as the pool drives it. */
interface Endpoint {
  send(req: WorkerRequest): void;
  /** Ends the worker now (no reply is awaited). */
  stop(): void;
  /** Settles when the worker is gone and its pipes are drained. */
  gone: Promise<void>;
}

interface Slot {
  worker: Endpoint;
  busy: Map<number, Job>;
  /** The worker has loaded its modules (time limits count from then, not from its start-up). */
  ready: boolean;
}

/** The project's deno.json, found from this file upwards (process workers run with it). */
function projectConfig(): string {
  if (!import.meta.url.startsWith("file:")) {
    throw new Error(`process workers need winnow on a local disk, not ${import.meta.url}`);
  }
  for (let dir = dirname(fromFileUrl(import.meta.url));; dir = dirname(dir)) {
    const candidate = join(dir, "deno.json");
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch { /* not here: look one folder up */ }
    if (dirname(dir) === dir) throw new Error(`no deno.json above ${fromFileUrl(import.meta.url)}`);
  }
}

const granted = (name: "write" | "net" | "run") => Deno.permissions.querySync({ name }).state === "granted";

/** What a child's end tells: its signal or exit code, and V8's out-of-memory report if it left one. */
function describeExit(status: Deno.CommandStatus, stderrTail: string, heapMb: number): string {
  const how = status.signal
    ? `its process was killed by ${status.signal}`
    : `its process exited with code ${status.code}`;
  return /out of memory|heap limit/i.test(stderrTail)
    ? `${how}: V8 ran out of memory (worker heap limit ${heapMb} MB)`
    : how;
}

/**
 * Scores files on worker threads or processes. A worker that crashes (a JS error; with
 * process workers also a segfault or an out-of-memory abort) or overruns the time limit is
 * replaced and the batch goes on. Which file was to blame is found by isolation: the files it had
 * in flight run again, each alone on a worker; a file that fails alone gets the error row
 * (`worker_crashed` or `timeout`), the others their values. So every file gets exactly one reply.
 *
 * @example
 * ```ts ignore
 * import { ScorePool } from "./pool.ts";
 * const pool = new ScorePool({ heuristics: ["sharpness"], isolation: "process" });
 * const reply = await pool.score("photo.jpg");
 * await pool.close();
 * ```
 */
export class ScorePool {
  readonly heuristics: string[];
  readonly isolation: Isolation;
  #decode: DecodeOptions;
  #settings?: Record<string, Record<string, unknown>>;
  #vipsThreads: number;
  #inFlight: number;
  #batch: number;
  #batchForced: boolean;
  #heapMb: number;
  #slots: Slot[] = [];
  #queue: Job[] = [];
  #timeLimitMs: number;
  #faults: Readonly<Record<string, Fault>>;
  #nextId = 0;
  #closed = false;
  #gone = new Set<Promise<void>>();
  #childArgs: string[] = [];
  /** Process workers that died before they were ready, in a row; past 3 the pool gives up. */
  #startFailures = 0;
  /** Why workers cannot start: then every file gets this error instead of an endless respawn. */
  #broken?: string;

  constructor(options: PoolOptions = {}) {
    const heuristics = resolveHeuristics(options.heuristics);
    this.heuristics = heuristics.map((h) => h.name);
    this.#batchForced = options.batch !== undefined;
    this.#batch = Math.max(
      1,
      Math.floor(
        options.batch ?? Math.max(1, ...heuristics.map((h) => h.prepareBatch ? h.batchSize ?? 1 : 1)),
      ),
    );
    this.isolation = options.isolation ?? "thread";
    if (!ISOLATIONS.includes(this.isolation)) {
      throw new Error(`isolation: expected ${ISOLATIONS.join(" or ")}, got "${this.isolation}"`);
    }
    this.#decode = options.decode ?? {};
    this.#settings = options.settings;
    this.#timeLimitMs = (options.timeLimitSeconds ?? DEFAULT_TIME_LIMIT_SECONDS) * 1000;
    this.#faults = options.faults ?? {};
    this.#vipsThreads = Math.max(1, options.vipsThreads ?? DEFAULT_VIPS_THREADS);
    this.#inFlight = Math.max(1, options.inFlight ?? (this.#batch > 1 ? this.#batch + 2 : DEFAULT_IN_FLIGHT));
    this.#heapMb = Math.max(16, Math.round(options.workerHeapMb ?? DEFAULT_WORKER_HEAP_MB));
    if (this.isolation === "process") {
      if (!granted("run")) {
        throw new Error(
          'process workers (isolation "process") need --allow-run; give it, or use thread workers',
        );
      }
      this.#childArgs = [
        "run",
        "--no-prompt",
        `--config=${projectConfig()}`,
        // The young generation capped as the `score` task caps the parent's (bench --parts memory:
        // the largest child's peak RSS over 10,000 small images 198 -> 159 MiB).
        `--v8-flags=--max-semi-space-size=1,--expose-gc,--max-old-space-size=${this.#heapMb}`,
        "--allow-read",
        "--allow-env",
        "--allow-ffi",
        "--allow-sys",
        ...(granted("write") ? ["--allow-write"] : []),
        ...(granted("net") ? ["--allow-net"] : []),
        fromFileUrl(new URL("./worker_process.ts", import.meta.url)),
      ];
    }
    const jobs = Math.max(1, options.jobs ?? navigator.hardwareConcurrency ?? 1);
    for (let i = 0; i < jobs; i++) this.#slots.push(this.#spawn());
  }

  /** Images each worker gathers before scoring them together (see {@link PoolOptions.batch}). */
  get batch(): number {
    return this.#batch;
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
      ...(this.#batch > 1 ? { batch: this.#batch } : {}),
      ...(this.#batch > 1 && this.#batchForced ? { batchForced: true as const } : {}),
      ...extra,
      ...(this.#faults[path] ? { fault: this.#faults[path] } : {}),
    };
    return new Promise((resolve) => {
      this.#queue.push({ req, resolve });
      if (this.#broken) this.#drainBroken([]);
      else this.#dispatch();
    });
  }

  /**
   * Stops the workers. The promise settles when every worker is gone (child processes reaped);
   * thread workers are gone at once.
   */
  close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#slots) {
      for (const job of s.busy.values()) clearTimeout(job.timer);
      s.worker.stop();
    }
    return Promise.all(this.#gone).then(() => {});
  }

  #dispatch() {
    // One file per worker in turn, so a short queue is shared out evenly (a worker takes up to
    // batch + 2 files).
    for (let sent = true; sent && this.#queue.length;) {
      sent = false;
      for (const slot of this.#slots) {
        const next = this.#queue[0];
        if (!next) break;
        // A suspect runs alone, so that if it fails again it alone is to blame.
        const alone = [...slot.busy.values()].some((j) => j.suspect);
        if (alone || slot.busy.size >= (next.suspect ? 1 : this.#inFlight)) continue;
        if (next.suspect && slot.busy.size > 0) continue;
        const job = this.#queue.shift()!;
        slot.busy.set(job.req.id, job);
        if (slot.ready) this.#startTimer(slot, job);
        slot.worker.send(job.req);
        sent = true;
      }
    }
  }

  #startTimer(slot: Slot, job: Job) {
    job.timer = setTimeout(() => this.#fail(slot, "timeout", job), this.#timeLimitMs);
  }

  /** A worker crashed or a file overran: replace the worker; blame a lone file, re-run the others alone. */
  #fail(slot: Slot, kind: "worker_crashed" | "timeout", culprit: Job | undefined, message = "") {
    const index = this.#slots.indexOf(slot);
    if (index < 0 || this.#closed) return; // already replaced, or the pool is closing
    slot.worker.stop();
    if (!slot.ready && kind === "worker_crashed" && ++this.#startFailures >= 3) {
      this.#broken = `worker processes cannot start: ${message}`;
      this.#slots.splice(index, 1);
      this.#drainBroken([...slot.busy.values()]);
      return;
    }
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
    this.#dispatch();
  }

  /** Workers cannot start: `jobs` and every queued file get the error that says why. */
  #drainBroken(jobs: Job[]) {
    for (const job of [...jobs, ...this.#queue.splice(0)]) {
      clearTimeout(job.timer);
      job.resolve({ id: job.req.id, error: `${job.req.path}: ${this.#broken}`, kind: "worker_crashed" });
    }
  }

  /** A reply or the ready signal from `slot`'s worker. */
  #onMessage(slot: Slot, data: WorkerReply | WorkerReady) {
    if ("ready" in data) {
      slot.ready = true;
      this.#startFailures = 0;
      for (const job of slot.busy.values()) this.#startTimer(slot, job);
      return;
    }
    const job = slot.busy.get(data.id);
    slot.busy.delete(data.id);
    clearTimeout(job?.timer);
    job?.resolve(data);
    this.#dispatch();
  }

  #spawn(): Slot {
    const slot: Slot = { worker: undefined as unknown as Endpoint, busy: new Map(), ready: false };
    slot.worker = this.isolation === "process" ? this.#spawnProcess(slot) : this.#spawnThread(slot);
    const gone = slot.worker.gone.finally(() => this.#gone.delete(gone));
    this.#gone.add(gone);
    return slot;
  }

  #spawnThread(slot: Slot): Endpoint {
    const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (ev: MessageEvent<WorkerReply | WorkerReady>) => this.#onMessage(slot, ev.data);
    worker.onerror = (ev) => {
      // A crashed worker must not take the batch with it: a new one takes over (see #fail).
      ev.preventDefault();
      this.#fail(slot, "worker_crashed", undefined, ev.message);
    };
    return {
      send: (req) => worker.postMessage(req),
      stop: () => worker.terminate(),
      gone: Promise.resolve(),
    };
  }

  #spawnProcess(slot: Slot): Endpoint {
    const child = new Deno.Command(Deno.execPath(), {
      args: this.#childArgs,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdin = child.stdin.getWriter();
    let writing = Promise.resolve();
    let stopped = false;
    // The child's stderr is passed on as a thread worker's would be; its tail says why it died.
    let tail = "";
    const dec = new TextDecoder();
    const errors = (async () => {
      for await (const chunk of child.stderr) {
        await Deno.stderr.write(chunk);
        tail = (tail + dec.decode(chunk, { stream: true })).slice(-4096);
      }
    })();
    const replies = (async () => {
      for await (const m of readFrames(child.stdout, (b) => Deno.stderr.writeSync(b))) {
        this.#onMessage(slot, m as WorkerReply | WorkerReady);
      }
    })();
    const gone = Promise.all([child.status, replies, errors]).then(([status]) => {
      // Replies sent before the end were handled above; what is still in flight is to blame.
      if (!stopped) this.#fail(slot, "worker_crashed", undefined, describeExit(status, tail, this.#heapMb));
    });
    return {
      send: (req) => {
        const frame = encodeFrame(req);
        // A dead child's closed pipe is not an error here: its exit is (see `gone`).
        writing = writing.then(() => stdin.write(frame)).catch(() => {});
      },
      stop: () => {
        if (stopped) return;
        stopped = true;
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
        writing = writing.then(() => stdin.close()).catch(() => {});
      },
      gone: gone.then(() => writing),
    };
  }
}
