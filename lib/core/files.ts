/**
 * Finding the images to score: files and folders given on a command line become one sorted,
 * de-duplicated list of absolute paths.
 *
 * @module
 */
import { extname, join, relative, resolve } from "node:path";
import { WinnowError } from "./errors.ts";

/** File endings taken from folders (files named explicitly are always taken). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  ".jpg",
  ".jpeg",
  ".jpe",
  ".png",
  ".webp",
  ".avif",
  ".heic",
  ".heif",
  ".gif",
  ".tif",
  ".tiff",
  ".svg",
  ".bmp",
  ".dib",
  ".ico",
  ".cur",
  ".pbm",
  ".pgm",
  ".ppm",
  ".pnm",
]);

/** The result of {@link listImages}. */
export interface ImageList {
  /** Absolute paths, sorted, each once. */
  files: string[];
  /**
   * Entries inside folders that were skipped: files whose ending is not an image format, and
   * symbolic links to folders (not followed: they could loop). Sorted.
   */
  skipped: string[];
}

/** An input that does not exist; names it. */
export class InputNotFoundError extends WinnowError {}

/**
 * Expands files and folders (recursively) into image paths. Files named explicitly are kept
 * whatever their ending, so a mislabelled file gets a row with an error rather than vanishing.
 * Inside folders, every entry with an image ending is taken even when it cannot be read — a
 * broken symbolic link, a named pipe, a socket — so that it gets a row saying why; hidden
 * entries (names starting with `.`) are ignored. `extensions` replaces the image endings (e.g. to
 * list part files).
 *
 * @example
 * ```ts ignore
 * import { listImages } from "./files.ts";
 * const { files } = await listImages(["samples/", "extra.png"]);
 * ```
 */
export async function listImages(
  inputs: readonly string[],
  options: { extensions?: ReadonlySet<string> } = {},
): Promise<ImageList> {
  const extensions = options.extensions ?? IMAGE_EXTENSIONS;
  const files = new Set<string>();
  const skipped: string[] = [];
  async function walk(dir: string) {
    const entries: Deno.DirEntry[] = [];
    for await (const e of Deno.readDir(dir)) entries.push(e);
    entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const p = join(dir, e.name);
      let isDir = e.isDirectory;
      if (e.isSymlink) {
        // Follow links to files only: a link to a folder could loop. A broken link is an entry
        // like any other: with an image ending it gets a row (error_kind broken_link).
        const st = await Deno.stat(p).catch(() => null);
        if (st?.isDirectory) {
          skipped.push(p);
          continue;
        }
        isDir = false;
      }
      if (isDir) await walk(p);
      else if (extensions.has(extname(e.name).toLowerCase())) files.add(p);
      else skipped.push(p);
    }
  }
  for (const input of inputs) {
    const abs = resolve(input);
    const st = await Deno.stat(abs).catch(() => null);
    if (!st) throw new InputNotFoundError(`${input}: no such file or folder`);
    if (st.isDirectory) await walk(abs);
    else files.add(abs);
  }
  return { files: [...files].sort(), skipped: skipped.sort() };
}

/**
 * How reports, provenance and tables name a file: relative to the working directory (the project)
 * when it is inside it, as given otherwise — never the machine's absolute path of a project file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shownPath } from "./files.ts";
 * assert.equal(shownPath(`${Deno.cwd()}/data/labels/images.csv`), "data/labels/images.csv");
 * assert.equal(shownPath("../shared/data"), "../shared/data");
 * assert.equal(shownPath(Deno.cwd()), ".");
 * ```
 */
export function shownPath(p: string): string {
  const r = relative(Deno.cwd(), resolve(p));
  return r.startsWith("..") ? p : r || ".";
}
