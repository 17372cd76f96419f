/**
 * The one way winnow writes a file that readers may see at any moment (results, manifests,
 * thresholds, label files, images of a run): write a temporary file beside it, then rename it over
 * the target, so a reader sees the old content or the new, never a part. An interrupted run leaves at
 * most a `<name>.tmp-<pid>` file behind, which resuming code may delete. {@link writeAtomic} takes
 * text, bytes or a writer of the temporary file; {@link writeAtomicStream} takes a stream (downloads)
 * and checks its length before the rename. Files that grow row by row (result tables, manifests)
 * use {@link openAppendFile} instead: each record reaches the file whole or not at all.
 *
 * @module
 */
import { WinnowError } from "./errors.ts";

/** Options of {@link writeAtomic}. */
export interface AtomicOptions {
  /** Flush the data to disk before the rename (survives a power cut, not just a crash). Default false. */
  sync?: boolean;
  /**
   * Name the temporary file uniquely within this process too (for a file several tasks of one
   * process may write at once). Default: `<path>.tmp-<pid>`.
   */
  unique?: boolean;
}

/**
 * The temporary name {@link writeAtomic} uses for `path` (without `unique`): `<path>.tmp-<pid>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tempPathFor } from "./atomic.ts";
 * assert.equal(tempPathFor("/run/scores.csv"), `/run/scores.csv.tmp-${Deno.pid}`);
 * ```
 */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${Deno.pid}`;
}

/**
 * Writes `data` to `path` atomically. `data` is text, bytes, or a function that writes the
 * temporary file it is given (for writers that take a path, e.g. Parquet or a file copy). On
 * failure the temporary file is removed and the target is left as it was.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeAtomic } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeAtomic(`${dir}/a.csv`, "x\n1\n");
 * await writeAtomic(`${dir}/b.bin`, (tmp) => Deno.writeFile(tmp, new Uint8Array([1, 2])));
 * assert.equal(await Deno.readTextFile(`${dir}/a.csv`), "x\n1\n");
 * assert.deepEqual([...await Deno.readFile(`${dir}/b.bin`)], [1, 2]);
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a.csv", "b.bin"]);
 * ```
 */
export async function writeAtomic(
  path: string,
  data: string | Uint8Array | ((tmp: string) => unknown),
  options: AtomicOptions = {},
): Promise<void> {
  const tmp = options.unique ? `${tempPathFor(path)}-${crypto.randomUUID().slice(0, 8)}` : tempPathFor(path);
  try {
    if (typeof data === "function") await data(tmp);
    else {
      const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
      const f = await Deno.open(tmp, { create: true, write: true, truncate: true });
      try {
        await writeAll(f, bytes);
        if (options.sync) await f.syncData();
      } finally {
        f.close();
      }
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Writes every byte of `bytes` to an open file (one `write` call may write fewer).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeAll } from "./atomic.ts";
 * const path = await Deno.makeTempFile();
 * const f = await Deno.open(path, { write: true });
 * await writeAll(f, new Uint8Array(100_000));
 * f.close();
 * assert.equal((await Deno.stat(path)).size, 100_000);
 * ```
 */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

/** A stream that ended with another number of bytes than announced; the target was not written. */
export class StreamLengthError extends WinnowError {
  constructor(readonly path: string, readonly received: number, readonly expected: number) {
    super(`${path}: received ${received} of ${expected} bytes`);
  }
}

/** Options of {@link writeAtomicStream}. */
export interface AtomicStreamOptions extends AtomicOptions {
  /** Bytes the stream must give (e.g. a `content-length`); another count throws {@link StreamLengthError}. */
  expectedBytes?: number;
}

/**
 * Streams `body` into a temporary file beside `path` and renames it over `path` once the stream
 * has ended with the expected number of bytes; returns that number. When the stream breaks or its
 * length is wrong, the temporary file is removed and `path` is left as it was.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StreamLengthError, writeAtomicStream } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * const n = await writeAtomicStream(`${dir}/m.onnx`, new Blob(["abc", "de"]).stream(), { expectedBytes: 5 });
 * assert.equal(n, 5);
 * await assert.rejects(
 *   writeAtomicStream(`${dir}/m.onnx`, new Blob(["ab"]).stream(), { expectedBytes: 5 }),
 *   StreamLengthError,
 * );
 * assert.equal(await Deno.readTextFile(`${dir}/m.onnx`), "abcde");
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["m.onnx"]);
 * ```
 */
export async function writeAtomicStream(
  path: string,
  body: AsyncIterable<Uint8Array>,
  options: AtomicStreamOptions = {},
): Promise<number> {
  let n = 0;
  await writeAtomic(path, async (tmp) => {
    const f = await Deno.open(tmp, { create: true, write: true, truncate: true });
    try {
      for await (const chunk of body) {
        await writeAll(f, chunk);
        n += chunk.length;
      }
      if (options.sync) await f.syncData();
    } finally {
      f.close();
    }
    if (options.expectedBytes !== undefined && n !== options.expectedBytes) {
      throw new StreamLengthError(path, n, options.expectedBytes);
    }
  }, options);
  return n;
}

/** A file opened by {@link openAppendFile}. */
export interface AppendFile {
  /** Appends `data` after every earlier append, whole, or not at all when the write fails. */
  append(data: string | Uint8Array): Promise<void>;
  /** Waits for pending appends (a failed one has already rejected to its caller) and closes the file. */
  close(): Promise<void>;
}

/**
 * Opens `path` (created if absent) for appending whole records: rows of a table, lines of a
 * manifest. Appends are written one after another in call order; one that fails (a full disk) is
 * cut back off the file (truncating needs no space) and rejects, so a reader never sees a torn
 * record, and the next append is tried afresh. `fail` turns an error of the `open` or an `append`
 * into what is thrown (e.g. an error naming the file and what it was doing).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openAppendFile } from "./atomic.ts";
 * const path = `${await Deno.makeTempDir()}/rows.jsonl`;
 * const f = await openAppendFile(path);
 * await Promise.all([f.append('{"a":1}\n'), f.append('{"a":2}\n')]);
 * await f.close();
 * assert.equal(await Deno.readTextFile(path), '{"a":1}\n{"a":2}\n');
 * ```
 */
export async function openAppendFile(
  path: string,
  fail: (e: unknown, step: "open" | "append") => unknown = (e) => e,
): Promise<AppendFile> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { append: true, create: true });
  } catch (e) {
    throw fail(e, "open");
  }
  let size = (await file.stat()).size;
  let chain: Promise<void> = Promise.resolve();
  const enc = new TextEncoder();
  return {
    append(data) {
      const bytes = typeof data === "string" ? enc.encode(data) : data;
      const write = async () => {
        try {
          await writeAll(file, bytes);
          size += bytes.length;
        } catch (e) {
          await file.truncate(size).catch(() => {});
          throw fail(e, "append");
        }
      };
      const done = chain.then(write);
      chain = done.catch(() => {});
      return done;
    },
    async close() {
      await chain;
      file.close();
    },
  };
}
