/**
 * The generation pipeline: send requests to a backend (several endpoints round-robin, a few in
 * flight per endpoint), write every image to the run folder the moment it arrives, score it on the
 * score pool, judge it with threshold rules, and keep the best — best-of-N, or generate until an
 * image passes within a budget of requests and time.
 *
 * Run folder (`out`):
 * - `00000_0.png`, `00000_1.png`, … — request number, image number within the request; written
 *   atomically (temporary file + rename), so a file with this name is always complete.
 * - `manifest.jsonl` — one line per image, appended after the request's images are on disk:
 *   `file, prompt, negative_prompt, seed, backend, params, scores, kept, reasons` (CONTRACTS) and
 *   `index, image, of, endpoint, width, height, format, bytes, error, tries, timings, created_at,
 *   text, prompt_source`. `file` is relative to the run folder; `reasons` is a list of error types.
 * - `run.json` (settings, written first) and `summary.json` (best image, counts; written last).
 *
 * Resuming: running again with the same `out` reads the manifest, drops a torn last line and
 * lines of requests that did not finish, deletes image files no line refers to, and generates only
 * the requests that are missing. Request `i` always has the same seed (when a seed is given) and
 * the same file names, so nothing is duplicated.
 *
 * Failures: 5xx, 429 (honouring `Retry-After`), timeouts, refused connections, malformed JSON and
 * payloads that are not images are retried with exponential backoff, the next try going to the
 * next endpoint. When a request runs out of retries the run stops with a {@link PipelineError}
 * naming the cause; every image received before is on disk and in the manifest. Secrets never
 * reach the manifest, events or errors (see `maskSecrets`).
 *
 * @module
 */
import { join, resolve } from "node:path";
import { decodeBytes, ImageDecodeError } from "../core/image.ts";
import { ScorePool } from "../score/pool.ts";
import { applyRules, defaultRules, type ThresholdRule } from "../score/rules.ts";
import {
  DEFAULT_HEURISTICS,
  outputsOf,
  PROMPT_HEURISTICS,
  resolveHeuristics,
} from "../heuristics/registry.ts";
import {
  type Backend,
  BackendError,
  type GeneratedImage,
  type GenerationRequest,
} from "../backends/types.ts";
import { retrying, type RetryPolicy } from "../core/http.ts";
import { maskSecrets } from "../core/secrets.ts";
import { writeAtomic } from "../core/atomic.ts";
import { WinnowError, WriteError, writeFailure } from "../core/errors.ts";
import {
  cleanRunFolder,
  EXT,
  MANIFEST,
  type ManifestRow,
  manifestRow,
  openManifest,
  rankRows,
  readManifest,
  requestedParams,
  writeSummary,
} from "./manifest.ts";

export {
  MANIFEST,
  MANIFEST_COLUMNS,
  ManifestError,
  type ManifestRow,
  rankRows,
  readManifest,
} from "./manifest.ts";

/** Something that happened during a run, for progress displays and logs (messages are masked). */
export type PipelineEvent =
  | { type: "image"; row: ManifestRow }
  | { type: "retry"; index: number; attempt: number; waitMs: number; message: string }
  | { type: "progress"; index: number; fraction: number }
  | { type: "request_failed"; index: number; message: string }
  | { type: "resumed"; rows: number; dropped: number };

/** Options of {@link runPipeline}. */
export interface PipelineOptions {
  /** One backend object per endpoint (all of the same kind); requests go round-robin. */
  backends: Backend[];
  /** The request; `seed` ≥ 0 makes request `i` use `seed + i × batchSize`, else the server chooses. */
  request: GenerationRequest;
  /** Run folder (created). */
  out: string;
  /** Best-of-N: images wanted. Default 4. */
  n?: number;
  /** Generate until an image passes the rules (then `maxAttempts` requests at most). */
  untilPass?: boolean;
  /** Until-pass: most requests. Default 10. */
  maxAttempts?: number;
  /** Whole-run time budget in seconds (in-flight requests are cancelled at the end). */
  maxSeconds?: number;
  /** Requests in flight per endpoint. Default 1. */
  concurrency?: number;
  retry?: RetryPolicy;
  /** Threshold rules; default: the defaults of the heuristics run. */
  rules?: ThresholdRule[];
  /** Heuristics to score with; default every one without a model. */
  heuristics?: readonly string[];
  /**
   * Settings per heuristic (e.g. `{ clip_score: { model, modelsDir } }`). Prompt-aware scorers
   * (the registry's `PROMPT_HEURISTICS`) also get this run's prompt unless one is set here.
   */
  settings?: Record<string, Record<string, unknown>>;
  /** A pool to score on (kept open); by default one is started and closed here. */
  pool?: ScorePool;
  /** Score workers when the pool is started here. Default min(2, cores). */
  scoreJobs?: number;
  /** Column that ranks images (with its declared direction) after kept/fewest reasons. Default `laplacian_var`. */
  rankBy?: string;
  /** Where the prompt came from, recorded per line. */
  text?: { text: string; source: string };
  /** Pixel limit for images from the server. */
  maxPixels?: number;
  onEvent?: (e: PipelineEvent) => void;
  signal?: AbortSignal;
}

/** What a run did. */
export interface PipelineResult {
  out: string;
  manifest: string;
  /** Every manifest line (resumed and new). */
  rows: ManifestRow[];
  /** Lines found in the manifest at the start. */
  resumed: number;
  /** Images received in this run. */
  received: number;
  /** Requests sent (successful or not) and retries made in this run. */
  requests: number;
  retries: number;
  /** Failed requests of this run by kind (`server_error`, `rate_limited`, `timeout`, …), retried or not. */
  failures: Record<string, number>;
  /** The best image (kept first, fewest reasons, then `rankBy`), or null. */
  best: ManifestRow | null;
  /** True when at least one image was kept. */
  passed: boolean;
  seconds: number;
  /** `complete` (best-of-N has its N), `passed`, `max_attempts`, `max_time`, `failed`, `cancelled`. */
  stop: "complete" | "passed" | "max_attempts" | "max_time" | "failed" | "cancelled";
}

/** A run that stopped early; `result` says what is on disk. The message names the cause. */
export class PipelineError extends WinnowError {
  constructor(message: string, readonly result?: PipelineResult) {
    super(maskSecrets(message));
  }
}

class Semaphore {
  #free: number;
  #waiters: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async acquire() {
    if (this.#free > 0) return void this.#free--;
    await new Promise<void>((r) => this.#waiters.push(r));
  }
  release() {
    const w = this.#waiters.shift();
    if (w) w();
    else this.#free++;
  }
}

/** Gives prompt-aware scorers (the registry's {@link PROMPT_HEURISTICS}) this run's prompt unless their settings name one. */
function withRunPrompt(settings: Record<string, Record<string, unknown>>, prompt: string) {
  const out = { ...settings };
  for (const h of PROMPT_HEURISTICS) {
    const own = out[h] ?? {};
    out[h] = own.prompt !== undefined || own.prompts !== undefined ? own : { ...own, prompt };
  }
  return out;
}

function requestFor(base: GenerationRequest, index: number): GenerationRequest {
  const batch = base.batchSize ?? 1;
  const seed = base.seed !== undefined && base.seed >= 0 ? base.seed + index * batch : -1;
  return { ...base, seed };
}

/** An image of a reply that decoded, with its size and format. */
interface CheckedImage {
  img: GeneratedImage;
  width: number;
  height: number;
  format: string;
}

/**
 * Decodes every image of a reply; a reply without images or with one that is not an image is a
 * {@link BackendError} (retried; a too large image is not, asking again gives the same).
 */
async function checkReply(
  backend: Backend,
  index: number,
  images: GeneratedImage[],
  maxPixels: number | undefined,
): Promise<CheckedImage[]> {
  if (images.length === 0) {
    throw new BackendError(`${backend.endpoint}: request ${index} returned no images`, "bad_reply");
  }
  const checked: CheckedImage[] = [];
  for (const [k, img] of images.entries()) {
    try {
      const d = await decodeBytes(img.bytes, { maxPixels, name: `${backend.name} reply ${index}/${k}` });
      checked.push({ img, width: d.width, height: d.height, format: d.format });
    } catch (err) {
      if (err instanceof ImageDecodeError) {
        throw new BackendError(
          `${backend.endpoint}: request ${index} image ${k} is not a usable image: ${err.message}`,
          err.kind === "too_many_pixels" ? "config" : "not_image",
        );
      }
      throw err;
    }
  }
  return checked;
}

/** The run's settings (`run.json`); a resumed run must ask for the same prompt. */
async function writeRunSettings(out: string, o: PipelineOptions, rules: ThresholdRule[]): Promise<void> {
  const untilPass = o.untilPass ?? false;
  const runFile = join(out, "run.json");
  const settings = {
    winnow: "generate-run",
    version: 1,
    backend: o.backends[0].name,
    endpoints: o.backends.map((b) => b.endpoint),
    prompt: o.request.prompt,
    negative_prompt: o.request.negativePrompt ?? "",
    mode: untilPass ? "until-pass" : "best-of-n",
    n: untilPass ? undefined : o.n ?? 4,
    max_attempts: untilPass ? o.maxAttempts ?? 10 : undefined,
    params: requestedParams(o.request),
    rules,
  };
  const previous = await Deno.readTextFile(runFile).then(JSON.parse).catch(() => null);
  if (previous && previous.prompt !== settings.prompt) {
    throw new PipelineError(
      `${out} holds a run for another prompt ("${String(previous.prompt).slice(0, 60)}…"); ` +
        "choose another --out, or delete that folder to start afresh",
    );
  }
  await writeAtomic(runFile, maskSecrets(JSON.stringify(settings, null, 2)) + "\n").catch((e) => {
    throw writeFailure(runFile, e, "write the run settings");
  });
}

/** Why a run stopped, from what happened. */
function stopReasonOf(
  o: PipelineOptions,
  s: { failed: boolean; timedOut: boolean; passed: boolean },
): PipelineResult["stop"] {
  if (s.failed) return "failed";
  if (s.timedOut) return "max_time";
  if (o.signal?.aborted) return "cancelled";
  if (o.untilPass) return s.passed ? "passed" : "max_attempts";
  return "complete";
}

/** `summary.json`: the best image, kept and rejected files, counts and the error. */
function summaryOf(result: PipelineResult, rankBy: string, error: string | null): Record<string, unknown> {
  const { rows, best } = result;
  return {
    stop: result.stop,
    best: best?.file ?? null,
    best_reasons: best?.reasons ?? null,
    rank_by: rankBy,
    images: rows.length,
    kept: rows.filter((r) => r.kept).map((r) => r.file),
    rejected: rows.filter((r) => !r.kept).map((r) => ({ file: r.file, reasons: r.reasons })),
    received: result.received,
    resumed: result.resumed,
    requests: result.requests,
    retries: result.retries,
    failures: result.failures,
    seconds: Math.round(result.seconds * 10) / 10,
    error,
  };
}

/** Throws the {@link PipelineError} of a run that failed, or ended a best-of-N run short. */
function throwIfShort(o: PipelineOptions, result: PipelineResult, fatal: BackendError | null): void {
  const have = result.rows.length, n = o.n ?? 4, out = result.out;
  const resumeHint = `; run again with the same --out to resume`;
  if (fatal) {
    throw new PipelineError(
      `${fatal.message}; ${have} image${have === 1 ? "" : "s"} on disk in ${out}${resumeHint}`,
      result,
    );
  }
  if (result.stop === "max_time" && !o.untilPass && have < n) {
    throw new PipelineError(
      `time budget of ${o.maxSeconds} s used up with ${have} of ${n} images in ${out}${resumeHint}`,
      result,
    );
  }
  if (result.stop === "cancelled" && !o.untilPass && have < n) {
    throw new PipelineError(`cancelled with ${have} of ${n} images in ${out}${resumeHint}`, result);
  }
}

/** What a run has to do, found before any request is sent: its settings and the resumed lines. */
interface RunPlan {
  out: string;
  heuristicNames: readonly string[];
  rules: ThresholdRule[];
  rankBy: string;
  /** Manifest lines of finished requests found at the start. */
  resumed: ManifestRow[];
  /** Request numbers still to send. */
  todo: number[];
  /** Until-pass, and a resumed image already passed: nothing is sent. */
  alreadyPassed: boolean;
}

/**
 * Checks the options, writes `run.json`, and resumes the run folder: reads the manifest, removes
 * orphan files and lists the requests that are missing.
 */
async function planRun(o: PipelineOptions): Promise<RunPlan> {
  const out = resolve(o.out);
  await Deno.mkdir(out, { recursive: true }).catch((e) => {
    throw writeFailure(out, e, "create the run folder");
  });
  const heuristicNames = o.heuristics ?? DEFAULT_HEURISTICS;
  const heuristics = resolveHeuristics(heuristicNames);
  const rules = o.rules ?? defaultRules(heuristics);
  if (o.rankBy && !outputsOf(heuristics).some((x) => x.name === o.rankBy)) {
    throw new PipelineError(
      `rank-by column "${o.rankBy}" is not an output of the heuristics run (${
        outputsOf(heuristics).map((x) => x.name).join(", ")
      })`,
    );
  }
  await writeRunSettings(out, o, rules);

  const resumed = await readManifest(out);
  await cleanRunFolder(out, new Set(resumed.rows.map((r) => r.file)));
  if (resumed.rows.length || resumed.dropped) {
    o.onEvent?.({ type: "resumed", rows: resumed.rows.length, dropped: resumed.dropped });
  }
  const doneIdx = new Set(resumed.rows.map((r) => r.index));
  const untilPass = o.untilPass ?? false;
  const batch = Math.max(1, o.request.batchSize ?? 1);
  const total = untilPass ? o.maxAttempts ?? 10 : Math.ceil((o.n ?? 4) / batch);
  const todo: number[] = [];
  for (let i = 0; i < total; i++) if (!doneIdx.has(i)) todo.push(i);
  return {
    out,
    heuristicNames,
    rules,
    rankBy: o.rankBy ?? "laplacian_var",
    resumed: resumed.rows,
    todo,
    alreadyPassed: untilPass && resumed.rows.some((r) => r.kept),
  };
}

/** The run's abort signal: aborted by the caller's signal or when the time budget ends. */
class RunBudget {
  readonly #ctl = new AbortController();
  readonly #onOuterAbort = () => this.#ctl.abort();
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  /** Epoch milliseconds when the budget ends, if there is one. */
  readonly deadline: number | undefined;
  /** True once the time budget has ended the run. */
  timedOut = false;

  constructor(readonly outer: AbortSignal | undefined, maxSeconds: number | undefined) {
    outer?.addEventListener("abort", this.#onOuterAbort, { once: true });
    this.deadline = maxSeconds !== undefined ? Date.now() + maxSeconds * 1000 : undefined;
    this.#timer = this.deadline !== undefined
      ? setTimeout(() => {
        this.timedOut = true;
        this.#ctl.abort();
      }, Math.max(0, this.deadline - Date.now()))
      : undefined;
  }

  get signal(): AbortSignal {
    return this.#ctl.signal;
  }

  /** Ends the run's requests now (an output could not be written). */
  abort(): void {
    this.#ctl.abort();
  }

  /** Stops the timer and lets go of the caller's signal. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.outer?.removeEventListener("abort", this.#onOuterAbort);
  }
}

/** Where and when a reply's image was made, for its manifest line. */
interface ImagePlace {
  index: number;
  image: number;
  of: number;
  tries: number;
  requestMs: number;
}

/**
 * One run's requests in flight: a few runners take request numbers from a queue, send them
 * (retrying on the next endpoint), keep each image and append its manifest lines, until the queue
 * is empty, an image passes (until-pass), a request fails for good, or the run is aborted.
 */
class RequestRunners {
  /** Every manifest line, resumed and new (in arrival order). */
  readonly rows: ManifestRow[];
  stop: boolean;
  fatal: BackendError | null = null;
  /** Where the run could not write (a full disk, a read-only folder): it stops, nothing retries. */
  writeFailed: WriteError | null = null;
  requests = 0;
  retries = 0;
  received = 0;
  readonly failures: Record<string, number> = {};
  readonly #queue: number[];
  readonly #sems: Semaphore[];

  constructor(
    readonly o: PipelineOptions,
    readonly plan: RunPlan,
    readonly budget: RunBudget,
    readonly pool: ScorePool,
    readonly manifest: { append(rows: readonly ManifestRow[]): Promise<void> },
  ) {
    this.rows = [...plan.resumed];
    this.stop = plan.alreadyPassed;
    this.#queue = [...plan.todo];
    this.#sems = o.backends.map(() => new Semaphore(Math.max(1, o.concurrency ?? 1)));
  }

  /**
   * When a model or LoRAs are asked for, the first backend that can check them does so before any
   * request (a missing model fails the run at once instead of after retries).
   */
  async preflight(): Promise<void> {
    const { o, budget } = this;
    const preflight = o.backends.find((b) => b.check);
    if (this.stop || !this.plan.todo.length || !preflight?.check) return;
    if (!o.request.model && !o.request.loras?.length) return;
    try {
      await retrying(() => preflight.check!(o.request, budget.signal), {
        ...o.retry,
        deadline: budget.deadline,
        signal: budget.signal,
      });
    } catch (e) {
      this.fatal = e instanceof BackendError ? e : new BackendError(String(e), "http");
      this.stop = true;
    }
  }

  /** Runs `backends × concurrency` runners (at most one per request) until they all return. */
  async runAll(): Promise<void> {
    const workers = this.o.backends.length * Math.max(1, this.o.concurrency ?? 1);
    const n = Math.min(workers, Math.max(1, this.plan.todo.length));
    await Promise.all(Array.from({ length: n }, () => this.#runner()));
  }

  #countFailure(kind: string): void {
    this.failures[kind] = (this.failures[kind] ?? 0) + 1;
  }

  async #runner(): Promise<void> {
    while (!this.stop && !this.budget.signal.aborted) {
      const index = this.#queue.shift();
      if (index === undefined) return;
      try {
        await this.#runRequest(index);
      } catch (err) {
        if (err instanceof WriteError) {
          this.writeFailed ??= err;
          this.stop = true;
          this.budget.abort(); // the other requests' images could not be written either
          return;
        }
        if (this.budget.signal.aborted && (err as BackendError)?.kind === "aborted") return;
        const e = err instanceof BackendError
          ? err
          : new BackendError(String((err as Error)?.stack ?? err), "http");
        this.o.onEvent?.({ type: "request_failed", index, message: e.message });
        if (e.kind !== "aborted") this.#countFailure(e.kind);
        this.fatal ??= e;
        this.stop = true;
        return;
      }
    }
  }

  async #runRequest(index: number): Promise<void> {
    const req = requestFor(this.o.request, index);
    const started = performance.now();
    let tries = 0;
    const got = await this.#send(index, req, (t) => tries = t);
    const requestMs = performance.now() - started;
    const lines: ManifestRow[] = [];
    for (const [k, c] of got.checked.entries()) {
      const place = { index, image: k, of: got.checked.length, tries, requestMs };
      lines.push(await this.#keepImage(req, got.backend, c, place));
    }
    // All lines of a request in one append: a resumed run sees the request whole or not at all.
    await this.manifest.append(lines);
    for (const r of lines) {
      this.rows.push(r);
      this.received++;
      this.o.onEvent?.({ type: "image", row: r });
      if (this.o.untilPass && r.kept) this.stop = true;
    }
  }

  /** Sends request `index` (retrying, the next try to the next endpoint) until its reply decodes. */
  #send(index: number, req: GenerationRequest, onTry: (n: number) => void) {
    const { o, budget } = this;
    return retrying(async (attempt) => {
      onTry(attempt + 1);
      const e = (index + attempt) % o.backends.length;
      const backend = o.backends[e];
      await this.#sems[e].acquire();
      this.requests++;
      try {
        const images = await backend.generate(req, {
          signal: budget.signal,
          index,
          attempt,
          onProgress: (p) => o.onEvent?.({ type: "progress", index, fraction: p.fraction }),
        });
        return { backend, checked: await checkReply(backend, index, images, o.maxPixels) };
      } finally {
        this.#sems[e].release();
      }
    }, {
      ...o.retry,
      deadline: budget.deadline,
      signal: budget.signal,
      onRetry: (err, attempt, waitMs) => {
        this.retries++;
        this.#countFailure(err.kind);
        o.onEvent?.({ type: "retry", index, attempt, waitMs, message: err.message });
      },
    });
  }

  /** Writes one image of a reply, scores it, judges it: its manifest line. */
  async #keepImage(
    req: GenerationRequest,
    backend: Backend,
    c: CheckedImage,
    at: ImagePlace,
  ): Promise<ManifestRow> {
    const tw = performance.now();
    const file = `${String(at.index).padStart(5, "0")}_${at.image}.${EXT[c.format] ?? c.format}`;
    const path = join(this.plan.out, file);
    await writeAtomic(path, c.img.bytes).catch((e) => {
      throw writeFailure(path, e, "write the image");
    });
    const ts = performance.now();
    const reply = await this.pool.score(path);
    const scoreMs = performance.now() - ts;
    const values = "error" in reply ? {} : reply.values;
    const verdict = applyRules("error" in reply ? { error: reply.error } : values, this.plan.rules);
    return manifestRow(this.o.text, req, backend, c.img, {
      file,
      index: at.index,
      image: at.image,
      of: at.of,
      width: c.width,
      height: c.height,
      format: c.format,
      scores: values,
      kept: verdict.kept,
      reasons: verdict.reasons,
      error: "error" in reply ? reply.error : null,
      tries: at.tries,
      timings: { request: Math.round(at.requestMs), write: Math.round(ts - tw), score: Math.round(scoreMs) },
    });
  }
}

/** The run's result from what its runners did (rows in request order, the best ranked first). */
function resultOf(o: PipelineOptions, plan: RunPlan, run: RequestRunners, seconds: number): PipelineResult {
  const rows = run.rows.sort((a, b) => a.index - b.index || a.image - b.image);
  const passed = rows.some((r) => r.kept);
  return {
    out: plan.out,
    manifest: join(plan.out, MANIFEST),
    rows,
    resumed: plan.resumed.length,
    received: run.received,
    requests: run.requests,
    retries: run.retries,
    failures: run.failures,
    best: rankRows(rows, plan.rankBy)[0] ?? null,
    passed,
    seconds,
    stop: stopReasonOf(o, {
      failed: run.fatal !== null || run.writeFailed !== null,
      timedOut: run.budget.timedOut,
      passed,
    }),
  };
}

/**
 * Runs best-of-N or generate-until-pass into the run folder `out` (resuming it when it exists).
 * Throws {@link PipelineError} when a request fails for good or the time budget ends a best-of-N
 * run early; the error's `result` lists what is on disk.
 *
 * @example
 * ```ts ignore
 * import { runPipeline } from "./pipeline.ts";
 * import { FolderBackend } from "../backends/folder.ts";
 * const r = await runPipeline({ backends: [new FolderBackend({ dir: "out/samples" })], request: { prompt: "a photo" }, out: "out/run1", n: 4 });
 * console.log(r.best?.file, r.rows.length);
 * ```
 */
export async function runPipeline(o: PipelineOptions): Promise<PipelineResult> {
  const t0 = performance.now();
  if (o.backends.length === 0) throw new PipelineError("no backend endpoints given");
  const plan = await planRun(o);
  const budget = new RunBudget(o.signal, o.maxSeconds);
  const pool = o.pool ??
    new ScorePool({
      heuristics: plan.heuristicNames,
      jobs: o.scoreJobs ?? Math.min(2, navigator.hardwareConcurrency ?? 1),
      decode: { maxPixels: o.maxPixels },
      settings: withRunPrompt(o.settings ?? {}, o.request.prompt),
    });
  const manifest = await openManifest(plan.out);
  const run = new RequestRunners(o, plan, budget, pool, manifest);
  try {
    await run.preflight();
    await run.runAll();
  } finally {
    budget.dispose();
    await manifest.close();
    if (!o.pool) await pool.close();
    for (const b of o.backends) b.close?.();
  }

  const result = resultOf(o, plan, run, (performance.now() - t0) / 1000);
  if (run.writeFailed) {
    // summary.json may not fit either; the manifest is what a resume reads.
    await writeSummary(plan.out, summaryOf(result, plan.rankBy, run.writeFailed.message)).catch(() => {});
    const have = result.rows.length;
    throw new PipelineError(
      `${run.writeFailed.message} The run stopped; the ${have} image${have === 1 ? "" : "s"} before it and ` +
        `their manifest lines are whole in ${plan.out}. Free space or choose a writable place, then run ` +
        "the same command again with the same --out: it resumes.",
      result,
    );
  }
  await writeSummary(plan.out, summaryOf(result, plan.rankBy, run.fatal?.message ?? null));
  throwIfShort(o, result, run.fatal);
  return result;
}
