/**
 * A generation fleet on BullMQ + Redis: the generating run puts each of its requests on a queue
 * and waits; any number of workers, each in front of its own A1111 / ComfyUI / OpenAI endpoint,
 * serve them. Nothing here schedules by itself — BullMQ does:
 *
 * - One queue per backend kind (`winnow-generate-<backend>`), so a worker only takes the jobs its
 *   endpoint can serve. Job id = run id + request number: enqueuing a request twice (a resumed run)
 *   finds the same job instead of adding another.
 * - A failed try (5xx, timeout, refused, …) goes back to the queue with exponential backoff and is
 *   taken by whichever worker is free — usually another one. Errors that retrying cannot fix
 *   (configuration, credentials, 4xx) fail the job at once.
 * - A worker killed mid-job stops renewing its lock; after `lockDuration` another worker's stalled
 *   check puts the job back on the queue and it runs again.
 * - Results (the images, base64) come back as the job's return value; the generating side gives
 *   them to the ordinary pipeline ({@link QueueBackend} is a `Backend`), which writes the files,
 *   scores them and appends the manifest exactly once per request — the same code as a local run.
 *
 * @module
 */
import { WinnowError } from "../core/errors.ts";
import { writeAtomic } from "../core/atomic.ts";
import { Buffer } from "node:buffer";
import {
  type Backend,
  BackendError,
  type GenerateContext,
  type GeneratedImage,
  type GenerationRequest,
} from "../backends/types.ts";
import { maskSecrets } from "../core/secrets.ts";

type BullMQ = typeof import("bullmq");

/** Redis connection settings from a `redis://[user:password@]host:port[/db]` URL. */
export interface RedisConnection {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  /** BullMQ workers need this: a blocked command must wait for Redis, not fail. */
  maxRetriesPerRequest: null;
}

/** A `--queue` value that is not a Redis URL; names it. */
export class QueueError extends WinnowError {}

/**
 * Parses `redis://host:port` (also `rediss://`, user, password and database number).
 *
 * @example
 * ```ts
 * import { parseRedisUrl } from "./queue.ts";
 * console.log(parseRedisUrl("redis://127.0.0.1:6390/2")); // { host: "127.0.0.1", port: 6390, db: 2, … }
 * ```
 */
export function parseRedisUrl(url: string): RedisConnection {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueError(`--queue: expected redis://HOST:PORT, got "${url}"`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new QueueError(`--queue: expected redis://HOST:PORT, got "${url}"`);
  }
  const db = u.pathname.replace(/^\//, "");
  if (db && !/^\d+$/.test(db)) throw new QueueError(`--queue ${url}: the path must be a database number`);
  return {
    host: u.hostname || "127.0.0.1",
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    maxRetriesPerRequest: null,
  };
}

/** The queue a backend kind's jobs go on. */
export function queueName(backend: string): string {
  return `winnow-generate-${backend}`;
}

/** A request as it travels through Redis (bytes as base64). */
interface WireRequest {
  request: Record<string, unknown>;
  index: number;
  run: string;
}

/** A job's return value. */
interface WireResult {
  images: { b64: string; seed: number | null; params: Record<string, unknown> }[];
  endpoint: string;
  worker: string;
}

const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString("base64");
const bytes = (s: string) => {
  const b = Buffer.from(s, "base64");
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};

/** Encodes a request for the queue (image inputs as base64). */
export function encodeRequest(req: GenerationRequest): Record<string, unknown> {
  return {
    ...req,
    ...(req.init
      ? {
        init: {
          ...req.init,
          image: b64(req.init.image),
          mask: req.init.mask ? b64(req.init.mask) : undefined,
        },
      }
      : {}),
    ...(req.controls ? { controls: req.controls.map((c) => ({ ...c, image: b64(c.image) })) } : {}),
  };
}

/**
 * Decodes what {@link encodeRequest} made.
 *
 * @example
 * ```ts
 * import { decodeRequest, encodeRequest } from "./queue.ts";
 * const wire = JSON.parse(JSON.stringify(encodeRequest({ prompt: "fox", init: { image: new Uint8Array([1, 2]) } })));
 * console.log(decodeRequest(wire).init?.image); // Uint8Array(2) [ 1, 2 ]
 * ```
 */
export function decodeRequest(wire: Record<string, unknown>): GenerationRequest {
  const r = { ...wire } as Record<string, unknown> & GenerationRequest;
  const init = wire.init as Record<string, unknown> | undefined;
  if (init) {
    r.init = {
      ...init,
      image: bytes(String(init.image)),
      mask: typeof init.mask === "string" ? bytes(init.mask) : undefined,
    } as GenerationRequest["init"];
  }
  const controls = wire.controls as Record<string, unknown>[] | undefined;
  if (controls) {
    r.controls = controls.map((c) => ({
      ...c,
      image: bytes(String(c.image)),
    })) as GenerationRequest["controls"];
  }
  return r;
}

/** Options of {@link QueueBackend.open}. */
export interface QueueBackendOptions {
  /** `redis://HOST:PORT`. */
  url: string;
  /** Backend kind the workers serve (`a1111`, `comfyui`, `openai`, `folder`). */
  backend: string;
  /** Identifies the run's jobs (stable across resumes of one run folder). */
  runId: string;
  /** Tries per request across the fleet (first + retries). Default 5. */
  attempts?: number;
  /** First retry delay; doubles each retry. Default 1000 ms. */
  backoffMs?: number;
  /** BullMQ priority of the run's jobs: 1 is served first; default 0 = no priority (FIFO after prioritised jobs). */
  priority?: number;
}

/** Counts of the queue the fleet works on. */
export interface FleetStatus {
  workers: number;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

/**
 * The generating side: a `Backend` whose `generate` enqueues the request and waits for a worker's
 * result. Give it to `runPipeline` as the only backend, with concurrency = the number of requests.
 *
 * @example
 * ```ts ignore
 * import { QueueBackend } from "./queue.ts";
 * import { runPipeline } from "./pipeline.ts";
 * const q = await QueueBackend.open({ url: "redis://127.0.0.1:6379", backend: "a1111", runId: "run1" });
 * await runPipeline({ backends: [q], request: { prompt: "a fox" }, out: "out/fox", n: 8, concurrency: 8 });
 * ```
 */
export class QueueBackend implements Backend {
  readonly name: string;
  readonly endpoint: string;
  #mq: BullMQ;
  #queue: InstanceType<BullMQ["Queue"]>;
  #events: InstanceType<BullMQ["QueueEvents"]>;
  #options: QueueBackendOptions;
  #progress = new Map<string, (fraction: number) => void>();

  private constructor(
    mq: BullMQ,
    queue: InstanceType<BullMQ["Queue"]>,
    events: InstanceType<BullMQ["QueueEvents"]>,
    options: QueueBackendOptions,
  ) {
    this.#mq = mq;
    this.#queue = queue;
    this.#events = events;
    this.#options = options;
    this.name = options.backend;
    const u = new URL(options.url);
    this.endpoint = `${u.protocol}//${u.host}/${queueName(options.backend)}`;
    events.on("progress", ({ jobId, data }) => {
      const f = typeof data === "number" ? data : Number((data as { fraction?: number })?.fraction);
      if (Number.isFinite(f)) this.#progress.get(jobId)?.(f);
    });
  }

  /** Connects to Redis (failing fast with a clear message when it is not there). */
  static async open(options: QueueBackendOptions): Promise<QueueBackend> {
    const mq = await import("bullmq");
    const connection = parseRedisUrl(options.url);
    await ping(connection, options.url);
    const name = queueName(options.backend);
    const queue = new mq.Queue(name, { connection });
    const events = new mq.QueueEvents(name, { connection });
    await events.waitUntilReady();
    return new QueueBackend(mq, queue, events, options);
  }

  /** Workers connected and jobs by state, fleet-wide (every run on this queue). */
  async status(): Promise<FleetStatus> {
    const [counts, workers] = await Promise.all([
      this.#queue.getJobCounts("waiting", "prioritized", "active", "delayed", "failed", "completed"),
      this.#queue.getWorkersCount(),
    ]);
    return {
      workers,
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      failed: counts.failed ?? 0,
      completed: counts.completed ?? 0,
    };
  }

  async generate(req: GenerationRequest, ctx: GenerateContext = {}): Promise<GeneratedImage[]> {
    const index = ctx.index ?? 0;
    const id = `${this.#options.runId}-${index}`;
    const attempts = this.#options.attempts ?? 5;
    let job = await this.#queue.getJob(id);
    // A job that failed in an earlier run of this folder is tried afresh; a finished one is reused.
    if (job && await job.getState() === "failed") {
      await job.remove();
      job = undefined;
    }
    if (!job) {
      const data: WireRequest = { request: encodeRequest(req), index, run: this.#options.runId };
      job = await this.#queue.add("generate", data, {
        jobId: id,
        attempts,
        backoff: { type: "exponential", delay: this.#options.backoffMs ?? 1000 },
        ...(this.#options.priority ? { priority: this.#options.priority } : {}),
        removeOnComplete: { age: 24 * 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      });
    }
    if (ctx.onProgress) this.#progress.set(id, (fraction) => ctx.onProgress!({ fraction }));
    const onAbort = () => job!.remove().catch(() => {});
    ctx.signal?.addEventListener("abort", onAbort, { once: true });
    let result: WireResult;
    try {
      result = await job.waitUntilFinished(this.#events) as WireResult;
    } catch (e) {
      if (ctx.signal?.aborted) throw new BackendError(`request ${index}: cancelled`, "aborted");
      const reason = (e as Error).message;
      // Not retryable here: the fleet already retried it on every worker it could.
      throw new BackendError(
        `${this.name} via ${this.endpoint}: request ${index} failed after ${attempts} ${
          attempts === 1 ? "try" : "tries"
        } across the workers: ${reason}`,
        "http",
      );
    } finally {
      this.#progress.delete(id);
      ctx.signal?.removeEventListener("abort", onAbort);
    }
    // The images are ours now; the pipeline writes them (a resumed run re-asks if it dies first).
    await job.remove().catch(() => {});
    return result.images.map((i) => ({
      bytes: bytes(i.b64),
      seed: i.seed,
      params: { ...i.params, worker: result.worker, worker_endpoint: result.endpoint },
    }));
  }

  close(): void {
    void this.#events.close();
    void this.#queue.close();
  }
}

/** Opens one TCP connection to Redis: a wrong URL fails in seconds instead of retrying forever. */
async function ping(connection: RedisConnection, url: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const conn = await Promise.race([
      Deno.connect({ hostname: connection.host, port: connection.port }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new QueueError(`${url}: no answer from Redis within 5 s`)), 5000);
      }),
    ]);
    conn.close();
  } catch (e) {
    if (e instanceof QueueError) throw e;
    throw new QueueError(`${url}: cannot reach Redis (${(e as Error).message}); is redis-server running?`);
  } finally {
    clearTimeout(timer);
  }
}

/** Options of {@link runQueueWorker}. */
export interface QueueWorkerOptions {
  /** `redis://HOST:PORT`. */
  url: string;
  /** The endpoint this worker serves (one backend object, e.g. from `createBackends`). */
  backend: Backend;
  /** Jobs at once against this endpoint. Default 1. */
  concurrency?: number;
  /** How long a job's lock lasts without renewal (a killed worker's job is taken back after it). Default 30 000 ms. */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for. Default 30 000 ms. */
  stalledIntervalMs?: number;
  /** Times a job may stall before it fails. Default 3. */
  maxStalledCount?: number;
  /** A name for this worker in results and logs. Default `hostname:pid`. */
  name?: string;
  /** Called after each job (done or failed). */
  onJob?: (
    e: { id: string; index: number; ok: boolean; ms: number; message?: string; attempt: number },
  ) => void;
  signal?: AbortSignal;
}

/**
 * Serves jobs of the backend's queue until `signal` aborts (then finishes the jobs in hand).
 *
 * @example
 * ```ts ignore
 * import { runQueueWorker } from "./queue.ts";
 * import { createBackends } from "../backends/registry.ts";
 * const [backend] = await createBackends("a1111", { urls: ["http://127.0.0.1:7860"] });
 * await runQueueWorker({ url: "redis://127.0.0.1:6379", backend });
 * ```
 */
export async function runQueueWorker(o: QueueWorkerOptions): Promise<void> {
  const mq = await import("bullmq");
  const connection = parseRedisUrl(o.url);
  await ping(connection, o.url);
  const me = o.name ?? `${Deno.hostname()}:${Deno.pid}`;
  const worker = new mq.Worker(
    queueName(o.backend.name),
    async (job) => {
      const t0 = performance.now();
      const data = job.data as WireRequest;
      const attempt = job.attemptsMade;
      try {
        const images = await o.backend.generate(decodeRequest(data.request), {
          index: data.index,
          attempt,
          onProgress: (p) => void job.updateProgress(p.fraction).catch(() => {}),
        });
        if (images.length === 0) {
          throw new BackendError(
            `${o.backend.endpoint}: request ${data.index} returned no images`,
            "bad_reply",
          );
        }
        o.onJob?.({ id: job.id!, index: data.index, ok: true, ms: performance.now() - t0, attempt });
        const result: WireResult = {
          images: images.map((i) => ({ b64: b64(i.bytes), seed: i.seed, params: i.params })),
          endpoint: o.backend.endpoint,
          worker: me,
        };
        return result;
      } catch (e) {
        const msg = maskSecrets(
          `${o.backend.name} at ${o.backend.endpoint} (worker ${me}): ${(e as Error).message}`,
        );
        o.onJob?.({
          id: job.id!,
          index: data.index,
          ok: false,
          ms: performance.now() - t0,
          message: msg,
          attempt,
        });
        if (e instanceof BackendError && !e.retryable) throw new mq.UnrecoverableError(msg);
        throw new Error(msg);
      }
    },
    {
      connection,
      concurrency: o.concurrency ?? 1,
      lockDuration: o.lockDurationMs ?? 30_000,
      stalledInterval: o.stalledIntervalMs ?? 30_000,
      maxStalledCount: o.maxStalledCount ?? 3,
      name: me,
    },
  );
  worker.on("error", (e) => console.error(`worker ${me}: ${maskSecrets(e.message)}`));
  await worker.waitUntilReady();
  await new Promise<void>((resolve) => {
    if (o.signal?.aborted) return resolve();
    o.signal?.addEventListener("abort", () => resolve(), { once: true });
  });
  await worker.close();
  o.backend.close?.();
}

/**
 * Opens the queue for the run folder `out`: its run id is kept in `out/queue.json`, so running
 * again with the same `--out` finds its own jobs (finished results are reused, nothing is doubled).
 *
 * @example
 * ```ts ignore
 * import { openRunQueue } from "./queue.ts";
 * const q = await openRunQueue("out/fox", { url: "redis://127.0.0.1:6379", backend: "a1111" });
 * ```
 */
export async function openRunQueue(
  out: string,
  options: Omit<QueueBackendOptions, "runId">,
): Promise<QueueBackend> {
  await Deno.mkdir(out, { recursive: true });
  const file = `${out}/queue.json`;
  let runId: string | undefined;
  try {
    runId = JSON.parse(await Deno.readTextFile(file)).run_id;
  } catch { /* a new run */ }
  if (!runId) {
    runId = `run-${new Date().toISOString().replace(/[-:.TZ]/g, "").slice(0, 14)}-${
      crypto.randomUUID().slice(0, 8)
    }`;
    await writeAtomic(file, JSON.stringify({ run_id: runId, queue: queueName(options.backend) }) + "\n");
  }
  return await QueueBackend.open({ ...options, runId });
}

/**
 * Prints the fleet's state (`fleet: 2 workers, 3 active, 5 waiting, …`) every `everyMs` while a
 * run waits; returns a function that stops it.
 */
export function watchFleet(q: QueueBackend, log: (line: string) => void, everyMs = 5000): () => void {
  let last = "";
  const tick = async () => {
    try {
      const s = await q.status();
      const line =
        `fleet: ${s.workers} worker${s.workers === 1 ? "" : "s"}, ${s.active} active, ${s.waiting} waiting` +
        (s.delayed ? `, ${s.delayed} waiting to retry` : "") + (s.failed ? `, ${s.failed} failed` : "") +
        (s.workers === 0 ? " — start workers with deno task worker" : "");
      if (line !== last) log(line);
      last = line;
    } catch { /* the next tick tries again */ }
  };
  const t = setInterval(tick, everyMs);
  void tick();
  return () => clearInterval(t);
}
