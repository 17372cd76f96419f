/**
 * What a labeling session serves: the images found in the folders given, the faces of a faces
 * table, and the one way a URL path becomes a file (checked segment by segment, then by real path
 * against the folders and the list of images, so `..`, encoded dots, absolute paths and symlinks
 * out of a folder all fail).
 *
 * @module
 */
import { dirname, isAbsolute, join, relative, resolve, sep as SEPARATOR } from "node:path";
import { parseCsv } from "../../core/csv.ts";
import { listImages } from "../../core/files.ts";
import { type FaceBox, faceKey } from "./store.ts";

/** An image of the session. */
export interface ImageItem {
  /** Position in {@link Session.images}. */
  index: number;
  /** Absolute path as listed. */
  path: string;
  /** Real path (symlinks resolved); always inside `roots[root]`. */
  real: string;
  /** Index of the folder it was found in. */
  root: number;
  /** URL of the file, relative to the session's base (`file/<root>/<segments>`). */
  url: string;
  /** Path as written in the rater's `images.csv` (relative to the rater's folder). */
  key: string;
  /** File name, for display. */
  name: string;
}

/** A face to rate: a box on one of the session's images. */
export interface FaceItem {
  index: number;
  /** Index into {@link Session.images}. */
  image: number;
  box: FaceBox;
  /** {@link faceKey} of the image's key and the box. */
  key: string;
  /** URL of the crop, relative to the session's base. */
  url: string;
}

/** The images and faces a server offers. */
export interface Session {
  /** Real paths of the folders given (a file given directly: its folder). */
  roots: string[];
  images: ImageItem[];
  faces: FaceItem[];
  /** Problems that did not stop the session (images outside the folders, unknown faces). */
  warnings: string[];
}

/** Options of {@link buildSession}. */
export interface SessionOptions {
  /** Folders (searched recursively) or image files. */
  images: readonly string[];
  /** The rater's folder: image keys are written relative to it. */
  raterDir: string;
  /** A faces table (`score --faces` output or a `faces.csv`): columns path, x, y, width, height. */
  faces?: string;
}

const within = (root: string, p: string) =>
  p === root || p.startsWith(root.endsWith(SEPARATOR) ? root : root + SEPARATOR);

/**
 * Lists the session's images and faces.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildSession } from "./items.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/img`);
 * await Deno.writeFile(`${dir}/img/a b.jpg`, new Uint8Array([0xff, 0xd8, 0xff]));
 * const s = await buildSession({ images: [`${dir}/img`], raterDir: `${dir}/labels/ann` });
 * assert.deepEqual([s.images[0].key, s.images[0].url], ["../../img/a b.jpg", "file/0/a%20b.jpg"]);
 * ```
 */
export async function buildSession(options: SessionOptions): Promise<Session> {
  const warnings: string[] = [];
  const roots: string[] = [];
  for (const input of options.images) {
    const st = await Deno.stat(input);
    const root = await Deno.realPath(st.isDirectory ? input : dirname(input));
    if (!roots.includes(root)) roots.push(root);
  }
  const raterDir = resolve(options.raterDir);
  const images: ImageItem[] = [];
  const seen = new Set<string>();
  for (const path of (await listImages(options.images)).files) {
    const real = await Deno.realPath(path).catch(() => undefined);
    if (real === undefined) {
      warnings.push(`${path}: skipped: a broken link or a file that cannot be reached`);
      continue;
    }
    if (!(await Deno.stat(real).catch(() => null))?.isFile) {
      warnings.push(`${path}: skipped: not a regular file (a pipe, socket or device)`);
      continue;
    }
    const root = roots.findIndex((r) => within(r, real));
    if (root < 0) {
      warnings.push(`${path}: skipped: it links outside the folders given`);
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    const rel = relative(roots[root], real).split(SEPARATOR);
    images.push({
      index: images.length,
      path,
      real,
      root,
      url: `file/${root}/${rel.map(encodeURIComponent).join("/")}`,
      key: relative(raterDir, path),
      name: rel[rel.length - 1],
    });
  }
  const faces = options.faces ? await readFaces(options.faces, images, warnings) : [];
  return { roots, images, faces, warnings };
}

/** Reads a faces table (CSV or JSONL) and joins its rows to the session's images by real path. */
async function readFaces(file: string, images: ImageItem[], warnings: string[]): Promise<FaceItem[]> {
  const text = await Deno.readTextFile(file);
  let rows: { line: number; get: (c: string) => unknown }[];
  if (/\.jsonl?$/i.test(file)) {
    rows = text.split("\n").map((l, i) => ({ l, i })).filter(({ l }) => l.trim()).map(({ l, i }) => {
      const o = JSON.parse(l);
      return { line: i + 1, get: (c: string) => o[c] };
    });
  } else {
    const recs = parseCsv(text, file);
    const header = (recs[0]?.fields ?? []).map((f) => f.trim());
    const missing = ["path", "x", "y", "width", "height"].filter((c) => !header.includes(c));
    if (missing.length) {
      throw new Error(`${file}: missing column(s) ${missing.join(", ")} (need path, x, y, width, height)`);
    }
    rows = recs.slice(1).map((r) => ({ line: r.line, get: (c: string) => r.fields[header.indexOf(c)] }));
  }
  const byReal = new Map(images.map((im) => [im.real, im]));
  const realCache = new Map<string, string | undefined>();
  const faces: FaceItem[] = [];
  const keys = new Set<string>();
  let outside = 0;
  for (const r of rows) {
    const raw = String(r.get("path") ?? "");
    const nums = ["x", "y", "width", "height"].map((c) => Number(String(r.get(c) ?? "").trim() || NaN));
    if (!raw || nums.some((n) => !Number.isFinite(n)) || nums[2] <= 0 || nums[3] <= 0) {
      warnings.push(`${file}:${r.line}: skipped: needs a path and a box with width and height above 0`);
      continue;
    }
    const abs = isAbsolute(raw) ? raw : join(dirname(resolve(file)), raw);
    if (!realCache.has(abs)) realCache.set(abs, await Deno.realPath(abs).catch(() => undefined));
    const im = byReal.get(realCache.get(abs) ?? "");
    if (!im) {
      outside++;
      continue;
    }
    const box = { x: nums[0], y: nums[1], width: nums[2], height: nums[3] };
    const key = faceKey(im.key, box);
    if (keys.has(key)) continue;
    keys.add(key);
    faces.push({ index: 0, image: im.index, box, key, url: "" });
  }
  if (outside) warnings.push(`${file}: ${outside} face(s) of images not in the folders given were skipped`);
  faces.sort((a, b) => a.image - b.image);
  faces.forEach((f, i) => (f.index = i, f.url = `crop/${i}`));
  return faces;
}

/**
 * Adds a face (e.g. one only a rater's file has) to the session and returns it, or the face
 * already there with the same key.
 */
export function addFace(session: Session, image: ImageItem, box: FaceBox): FaceItem {
  const key = faceKey(image.key, box);
  const found = session.faces.find((f) => f.key === key);
  if (found) return found;
  const index = session.faces.length;
  const face = { index, image: image.index, box: { ...box }, key, url: `crop/${index}` };
  session.faces.push(face);
  return face;
}

/**
 * The image a URL path names, given its folder index and its raw (still percent-encoded) path
 * segments; undefined for anything but a listed image inside that folder. Each segment is decoded
 * once and must be a plain name (no `.`, `..`, empty, `/`, `\` or NUL); the joined path's real
 * path must lie inside the folder's real path and be one of the session's images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildSession, resolveServedImage } from "./items.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/img`);
 * await Deno.writeFile(`${dir}/img/a.jpg`, new Uint8Array([0xff, 0xd8, 0xff]));
 * const s = await buildSession({ images: [`${dir}/img`], raterDir: dir });
 * assert.equal((await resolveServedImage(s, "0", ["a.jpg"]))?.name, "a.jpg");
 * assert.equal(await resolveServedImage(s, "0", ["%2e%2e", "img", "a.jpg"]), undefined);
 * ```
 */
export async function resolveServedImage(
  session: Session,
  rootIndex: string,
  rawSegments: readonly string[],
): Promise<ImageItem | undefined> {
  if (!/^(0|[1-9]\d{0,5})$/.test(rootIndex)) return undefined;
  const root = session.roots[Number(rootIndex)];
  if (root === undefined || rawSegments.length === 0) return undefined;
  const segs: string[] = [];
  for (const raw of rawSegments) {
    let s: string;
    try {
      s = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (s === "" || s === "." || s === ".." || /[/\\\0]/.test(s)) return undefined;
    segs.push(s);
  }
  const real = await Deno.realPath(join(root, ...segs)).catch(() => undefined);
  if (real === undefined || !within(root, real)) return undefined;
  return session.images.find((im) => im.real === real && im.root === Number(rootIndex));
}
