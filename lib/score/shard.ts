/**
 * Scoring past one machine: which inputs belong to shard `I` of `N`, where its part file goes,
 * and how `s3://` inputs and outputs are staged through local files while the score job runs.
 *
 * - A file's shard is FNV-1a (32-bit) of its path as listed relative to the input given (a
 *   folder's files: relative to the folder; a file named alone or a line of a list: as written),
 *   modulo N. So the choice depends neither on the machine, the mount point nor the bucket, and
 *   every input falls in exactly one shard.
 * - `auto/N` takes I from `JOB_COMPLETION_INDEX` (Kubernetes Indexed Job) or
 *   `AWS_BATCH_JOB_ARRAY_INDEX` (AWS Batch array job).
 * - With a shard, `--out` is a folder and the shard writes `part-IIIII-of-NNNNN.parquet` in it,
 *   atomically: a retried shard resumes and then replaces its own part, so parts never overlap.
 * - An `s3://` output is written locally and put with one PUT at the end; while the run goes, its
 *   journal is copied to `OUT.partial` every few seconds, so a shard killed mid-way resumes there.
 *
 * @module
 */
import { WinnowError, writeFailure } from "../core/errors.ts";
import { basename, extname, join } from "node:path";
import { IMAGE_EXTENSIONS } from "../core/files.ts";
import {
  download,
  isRemote,
  joinPath,
  listFiles,
  readLines,
  remove,
  resolveAgainst,
  upload,
} from "../core/storage.ts";

/** Shard `index` (0-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** A bad `--shard` value or a missing job index; the message says what was expected. */
export class ShardError extends WinnowError {}

/** Environment variables that carry a job's index, in the order they are tried. */
export const SHARD_INDEX_VARIABLES = ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"] as const;

/**
 * Parses `I/N` or `auto/N` (I from the job system's index variable in `env`).
 *
 * @example
 * ```ts
 * import { parseShard } from "./shard.ts";
 * console.log(parseShard("2/8")); // { index: 2, count: 8 }
 * console.log(parseShard("auto/8", { AWS_BATCH_JOB_ARRAY_INDEX: "5" })); // { index: 5, count: 8 }
 * ```
 */
export function parseShard(spec: string, env: Record<string, string | undefined> = {}): Shard {
  const m = /^(auto|\d+)\/(\d+)$/.exec(spec.trim());
  if (!m) throw new ShardError(`--shard: expected I/N (e.g. 0/8) or auto/N, got "${spec}"`);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new ShardError(`--shard ${spec}: N must be at least 1`);
  }
  let index: number;
  let from = "";
  if (m[1] === "auto") {
    const name = SHARD_INDEX_VARIABLES.find((v) => env[v] !== undefined && env[v] !== "");
    if (!name) {
      throw new ShardError(
        `--shard auto/${count}: neither ${SHARD_INDEX_VARIABLES.join(" nor ")} is set ` +
          "(they are set by a Kubernetes Indexed Job and an AWS Batch array job); give I/N instead",
      );
    }
    from = ` (from ${name}=${env[name]})`;
    index = Number(env[name]);
  } else index = Number(m[1]);
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new ShardError(`--shard ${spec}: the index${from} must be an integer from 0 to ${count - 1}`);
  }
  return { index, count };
}

/**
 * The shard (0…count−1) of a listed path: FNV-1a 32-bit of its UTF-8 bytes, modulo `count`.
 *
 * @example
 * ```ts
 * import { shardOf } from "./shard.ts";
 * console.log(shardOf("a/x.png", 4) === shardOf("a/x.png", 4)); // true
 * console.log(shardOf("", 1000)); // 2166136261 % 1000 = 261
 * ```
 */
export function shardOf(key: string, count: number): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(key)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % count;
}

/**
 * The part file a shard writes in its output folder.
 *
 * @example
 * ```ts
 * import { partName } from "./shard.ts";
 * console.log(partName({ index: 3, count: 16 })); // part-00003-of-00016.parquet
 * ```
 */
export function partName(shard: Shard, ending = ".parquet"): string {
  const pad = (n: number) => String(n).padStart(5, "0");
  return `part-${pad(shard.index)}-of-${pad(shard.count)}${ending}`;
}

/** What {@link selectInputs} found. */
export interface SelectedInputs {
  /** This shard's files (absolute local paths or `s3://` URLs), sorted, each once. */
  files: string[];
  /** Files listed in all (every shard). */
  listed: number;
  /** Files inside folders skipped for not being images. */
  skipped: string[];
}

/**
 * Lists inputs (files, folders, `s3://` prefixes, and the lines of `fromList`) and keeps the
 * shard's share, one listed file at a time (only the shard's files are held).
 *
 * @example
 * ```ts
 * import { selectInputs } from "./shard.ts";
 * const dir = await Deno.makeTempDir();
 * for (const n of ["a", "b", "c", "d"]) await Deno.writeTextFile(`${dir}/${n}.png`, "");
 * const parts = await Promise.all([0, 1].map((index) => selectInputs([dir], { shard: { index, count: 2 } })));
 * console.log(parts[0].files.length + parts[1].files.length); // 4
 * ```
 */
export async function selectInputs(
  inputs: readonly string[],
  options: { shard?: Shard; fromList?: string } = {},
): Promise<SelectedInputs> {
  const files = new Set<string>();
  const skipped: string[] = [];
  let listed = 0;
  const take = (path: string, key: string) => {
    listed++;
    if (!options.shard || shardOf(key, options.shard.count) === options.shard.index) files.add(path);
  };
  for (const input of inputs) {
    for await (
      const f of listFiles(input, {
        extensions: IMAGE_EXTENSIONS,
        onSkipped: (p) => skipped.push(p),
      })
    ) {
      take(f.path, f.key);
    }
  }
  if (options.fromList) {
    // One file per line, taken without a look at the disk: a missing one gets an error row.
    for await (const { text } of readLines(options.fromList)) {
      take(resolveAgainst(options.fromList, text), text);
    }
  }
  return { files: [...files].sort(), listed, skipped };
}

/** A bounded set of downloads: at most `limit` remote inputs are on local disk at once. */
class Stager {
  #dir: string;
  #free: number;
  #waiting: (() => void)[] = [];
  #n = 0;
  constructor(dir: string, limit: number) {
    this.#dir = dir;
    this.#free = limit;
  }
  async stage(path: string): Promise<{ path: string; release(): Promise<void> }> {
    if (!isRemote(path)) return { path, release: () => Promise.resolve() };
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#waiting.push(r));
    const local = join(this.#dir, `${this.#n++}-${basename(path)}`);
    const release = async () => {
      await Deno.remove(local).catch(() => {});
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
    try {
      // A missing object gets no local file: the decoder's "no such file" error names the URL.
      await download(path, local);
    } catch (e) {
      await release();
      throw e;
    }
    return { path: local, release };
  }
}

/** Options of {@link prepareScaleOut}. */
export interface ScaleOutOptions {
  shard?: Shard;
  fromList?: string;
  /** Seconds between copies of an `s3://` output's journal to `OUT.partial`. Default 30. */
  checkpointSeconds?: number;
  /** Remote inputs on local disk at once. Default 32. */
  staged?: number;
  /** Start afresh instead of resuming. */
  restart?: boolean;
}

/** How a score job runs under {@link prepareScaleOut}. */
export interface ScaleOutPlan {
  /** The files to score (this shard's), or undefined: let the score job list the inputs itself. */
  files?: string[];
  /** Files listed in all shards (when `files` is set). */
  listed?: number;
  /** Files skipped in folders for their endings. */
  skipped: string[];
  /** The local file the score job writes. */
  out: string;
  /** Where the result ends up (`out`, or a part file, or an `s3://` object). */
  target: string;
  /** Fetches a remote input to a local file for the scorer (local paths pass through). */
  localize?: (path: string) => Promise<{ path: string; release(): Promise<void> }>;
  /** Puts the result in place (uploads an `s3://` target) and cleans up; call after the job. */
  finish(): Promise<void>;
  /** Stops checkpointing and removes staging files without publishing (on failure). */
  abandon(): Promise<void>;
}

const TABLE_ENDINGS = [".csv", ".jsonl", ".ndjson", ".parquet"];

/**
 * Plans a score run with sharding, lists and object storage: which files, which local output,
 * where it is published. Without any of them it changes nothing (`files` undefined, `out` as given).
 *
 * @example
 * ```ts ignore
 * import { prepareScaleOut } from "./shard.ts";
 * import { runScoreJob } from "./job.ts";
 * const plan = await prepareScaleOut(["s3://bucket/images/"], "s3://bucket/parts/", { shard: { index: 0, count: 4 } });
 * await runScoreJob([], plan.out, { files: plan.files, localize: plan.localize });
 * await plan.finish();
 * ```
 */
export async function prepareScaleOut(
  inputs: readonly string[],
  out: string,
  options: ScaleOutOptions = {},
): Promise<ScaleOutPlan> {
  let target = out;
  if (options.shard) {
    const isTable = TABLE_ENDINGS.some((e) => out.toLowerCase().endsWith(e));
    if (isTable) {
      throw new ShardError(
        `--shard with --out ${out}: every shard needs its own file, so --out names a folder ` +
          `(e.g. --out ${out.slice(0, out.length - extname(out).length)}/); the shard writes ${
            partName(options.shard)
          } in it`,
      );
    }
    target = joinPath(out, partName(options.shard));
    if (!isRemote(out)) {
      await Deno.mkdir(out, { recursive: true }).catch((e) => {
        throw writeFailure(out, e, "create the folder of the shard's part");
      });
    }
  }
  const selected = options.shard || options.fromList || inputs.some(isRemote)
    ? await selectInputs(inputs, { shard: options.shard, fromList: options.fromList })
    : undefined;
  // A local list may name s3:// files too: stage whatever is remote.
  const remote = selected?.files.some(isRemote) ?? false;
  const staging = remote || isRemote(target)
    ? await Deno.makeTempDir({ prefix: "winnow-stage-" })
    : undefined;
  const stager = remote ? new Stager(join(staging!, "inputs"), options.staged ?? 32) : undefined;
  if (stager) await Deno.mkdir(join(staging!, "inputs"));
  const base = {
    files: selected?.files,
    listed: selected?.listed,
    skipped: selected?.skipped ?? [],
    target,
    localize: stager ? (p: string) => stager.stage(p) : undefined,
  };
  const cleanup = async () => {
    if (staging) await Deno.remove(staging, { recursive: true }).catch(() => {});
  };
  if (!isRemote(target)) {
    return { ...base, out: target, finish: cleanup, abandon: cleanup };
  }
  // A remote output: resume from the published object and the last checkpoint of the journal.
  const local = join(staging!, basename(target));
  const parquet = target.toLowerCase().endsWith(".parquet");
  const journal = parquet ? `${local}.partial.jsonl` : local;
  const checkpoint = `${target}.partial`;
  if (options.restart) await remove(checkpoint);
  else {
    if (parquet) await download(target, local);
    if (!await download(checkpoint, journal) && !parquet) await download(target, local);
  }
  let copying = Promise.resolve();
  const copyJournal = () =>
    copying = copying.then(async () => {
      const bytes = await Deno.readFile(journal).catch(() => null);
      if (!bytes?.length) return;
      const end = bytes.lastIndexOf(10) + 1; // whole lines only
      const tmp = `${journal}.ckpt`;
      await Deno.writeFile(tmp, bytes.subarray(0, end));
      await upload(tmp, checkpoint);
    }).catch((e) => console.error(`warning: checkpoint to ${checkpoint} failed: ${(e as Error).message}`));
  const timer = setInterval(copyJournal, (options.checkpointSeconds ?? 30) * 1000);
  return {
    ...base,
    out: local,
    async finish() {
      clearInterval(timer);
      await copying;
      await upload(local, target);
      await remove(checkpoint);
      await cleanup();
    },
    async abandon() {
      clearInterval(timer);
      copyJournal();
      await copying;
      await cleanup();
    },
  };
}
