/**
 * Where files live: local paths and `s3://bucket/key` alike, behind one small set of functions,
 * so scoring and generation never need to know which one they were given.
 *
 * - Listing is an async generator: an S3 prefix streams page by page (never whole in memory); a
 *   local folder is walked by `listImages` (the same walk as an unsharded run) and its paths yielded.
 * - S3 goes through `@aws-sdk/client-s3` (see `./s3.ts`): the endpoint comes from
 *   `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, credentials from the SDK's default chain.
 * - Writes are atomic: a local file appears by rename, an S3 object by a single PUT.
 *
 * @module
 */
import { dirname, extname, isAbsolute, join, relative, resolve } from "node:path";
import { IMAGE_EXTENSIONS, InputNotFoundError, listImages } from "./files.ts";
import * as s3 from "./s3.ts";
import { writeAtomic } from "./atomic.ts";

/** True for `s3://…` locations. */
export function isRemote(path: string): boolean {
  return path.startsWith("s3://");
}

/** One file found by {@link listFiles}. */
export interface ListedFile {
  /** Absolute local path or `s3://bucket/key`. */
  path: string;
  /** The path relative to the input it was found under (`/` separators); the input itself for a file. */
  key: string;
}

/** Options of {@link listFiles}. */
export interface ListOptions {
  /** Endings taken from folders (lower case, with the dot). Default the image endings. */
  extensions?: ReadonlySet<string>;
  /** Called with files inside folders skipped for their ending. */
  onSkipped?: (path: string) => void;
}

/**
 * Lists a file, a folder (recursively, hidden names skipped) or an `s3://bucket/prefix`, one
 * file at a time. A file named explicitly is always listed, whatever its ending.
 *
 * @example
 * ```ts
 * import { listFiles } from "./storage.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/a`);
 * await Deno.writeTextFile(`${dir}/a/x.png`, "");
 * await Deno.writeTextFile(`${dir}/notes.txt`, "");
 * for await (const f of listFiles(dir)) console.log(f.key); // a/x.png
 * ```
 */
export async function* listFiles(input: string, options: ListOptions = {}): AsyncGenerator<ListedFile> {
  const extensions = options.extensions ?? IMAGE_EXTENSIONS;
  const wanted = (name: string) => extensions.has(extname(name).toLowerCase());
  if (isRemote(input)) {
    const { bucket, key } = s3.parseUrl(input);
    // A key that exists as an object is a file; otherwise a prefix (a "folder").
    if (key && !key.endsWith("/") && await s3.exists(input)) {
      yield { path: input, key: input };
      return;
    }
    const prefix = key === "" || key.endsWith("/") ? key : `${key}/`;
    let found = false;
    for await (const k of s3.listKeys(bucket, prefix)) {
      found = true;
      const rel = k.slice(prefix.length);
      if (rel.split("/").some((part) => part.startsWith("."))) continue;
      if (wanted(rel)) yield { path: `s3://${bucket}/${k}`, key: rel };
      else options.onSkipped?.(`s3://${bucket}/${k}`);
    }
    if (!found) throw new InputNotFoundError(`${input}: no such object or prefix`);
    return;
  }
  const abs = resolve(input);
  const st = await Deno.stat(abs).catch(() => null);
  if (!st) throw new InputNotFoundError(`${input}: no such file or folder`);
  if (!st.isDirectory) {
    yield { path: abs, key: input };
    return;
  }
  // The same walk as an unsharded run (listImages), so both see exactly the same files.
  const { files, skipped } = await listImages([abs], { extensions });
  for (const p of skipped) options.onSkipped?.(p);
  for (const p of files) yield { path: p, key: relative(abs, p).split("\\").join("/") };
}

/**
 * Reads a text file (local or S3) line by line without holding it whole; lines are trimmed,
 * blank lines and lines starting with `#` skipped. Yields each line with its 1-based number.
 *
 * @example
 * ```ts
 * import { readLines } from "./storage.ts";
 * const f = await Deno.makeTempFile();
 * await Deno.writeTextFile(f, "# inputs\na.png\n\nb.png\n");
 * for await (const { line, text } of readLines(f)) console.log(line, text); // 2 a.png, 4 b.png
 * ```
 */
export async function* readLines(path: string): AsyncGenerator<{ line: number; text: string }> {
  let stream: ReadableStream<Uint8Array>;
  if (isRemote(path)) stream = await s3.readStream(path);
  else {
    const file = await Deno.open(path).catch((e) => {
      if (e instanceof Deno.errors.NotFound) throw new InputNotFoundError(`${path}: no such file`);
      throw e;
    });
    stream = file.readable;
  }
  let n = 0;
  let rest = "";
  const handle = function* (chunk: string) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    for (const l of lines) {
      n++;
      const text = l.trim();
      if (text && !text.startsWith("#")) yield { line: n, text };
    }
  };
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) yield* handle(chunk);
  yield* handle("\n");
}

/**
 * Resolves `entry` (a line of a list file) against the list's own folder: absolute paths and
 * `s3://` URLs stay as they are.
 *
 * @example
 * ```ts
 * import { resolveAgainst } from "./storage.ts";
 * console.log(resolveAgainst("s3://b/lists/l.txt", "img/a.png")); // s3://b/lists/img/a.png
 * console.log(resolveAgainst("/data/l.txt", "a.png")); // /data/a.png
 * ```
 */
export function resolveAgainst(listPath: string, entry: string): string {
  if (isRemote(entry) || isAbsolute(entry)) return entry;
  if (isRemote(listPath)) {
    const base = listPath.slice(0, listPath.lastIndexOf("/") + 1);
    return new URL(entry, base.replace(/^s3:/, "http:")).href.replace(/^http:/, "s3:");
  }
  return resolve(dirname(listPath), entry);
}

/** True when the file or object exists. */
export async function exists(path: string): Promise<boolean> {
  if (isRemote(path)) return await s3.exists(path);
  return (await Deno.stat(path).catch(() => null)) !== null;
}

/** Copies a remote object (or a local file) to a local file; false when it does not exist. */
export async function download(path: string, localPath: string): Promise<boolean> {
  if (isRemote(path)) return await s3.download(path, localPath);
  try {
    await Deno.copyFile(path, localPath);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Puts a local file at `path` atomically (one PUT for S3; copy to a temporary name + rename locally). */
export async function upload(localPath: string, path: string): Promise<void> {
  if (isRemote(path)) return await s3.upload(localPath, path);
  if (resolve(localPath) === resolve(path)) return;
  await Deno.mkdir(dirname(resolve(path)), { recursive: true });
  await writeAtomic(path, (tmp) => Deno.copyFile(localPath, tmp));
}

/** Deletes a file or object; no error when it is already gone. */
export async function remove(path: string): Promise<void> {
  if (isRemote(path)) return await s3.remove(path);
  await Deno.remove(path).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
}

/** Joins a folder (local or `s3://…/`) and a file name. */
export function joinPath(folder: string, name: string): string {
  if (isRemote(folder)) return folder.endsWith("/") ? folder + name : `${folder}/${name}`;
  return join(folder, name);
}
