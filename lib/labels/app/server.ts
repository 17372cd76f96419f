/**
 * The labeling app's web server (`deno task label`).
 *
 * Security model: the server binds 127.0.0.1 only; every URL starts with a random session token
 * (`http://127.0.0.1:PORT/<token>/`), anything else gets 403; a request whose `Host` is not the
 * app's own (`127.0.0.1:PORT` / `localhost:PORT`) or whose `Origin` / `Sec-Fetch-Site` is foreign
 * gets 403 (DNS rebinding, cross-site requests); files are served only as listed images of the
 * folders given ({@link resolveServedImage}), everything else 404; a label write must be a JSON
 * object whose every field is checked, or it gets 400 and nothing is stored.
 *
 * Routes under `/<token>/`: `` (the page), `app.js`, `app.css`, `api/state`, `api/label` (POST),
 * `api/cursor` (POST), `file/<folder>/<path>` (an image), `crop/<n>` (a face crop). In A/B mode
 * (`ab` option) the page is `ab.html` + `ab.js`, with `api/ab` (GET: the pair to judge; POST: a
 * choice, skip or undo for a given step, refused with 409 when the step has moved on).
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ERROR_TYPES, type ErrorType } from "../format.ts";
import {
  compareRaters,
  loadRaterLabels,
  type RaterLabels,
  RaterLabelsNotFoundError,
  type RaterValues,
} from "../consensus.ts";
import {
  addFace,
  buildSession,
  type FaceItem,
  type ImageItem,
  resolveServedImage,
  type Session,
} from "./items.ts";
import { MediaCache } from "./media.ts";
import {
  EMPTY_IMAGE_LABEL,
  type FaceLabelState,
  type ImageLabelState,
  LabelStore,
  StaleWriteError,
} from "./store.ts";
import {
  type AbNext,
  type AbRunSpec,
  type AbScheduler,
  type AbSession,
  buildAbSession,
  nextAbPair,
} from "./ab.ts";

/** Options of {@link startLabelServer}. */
export interface LabelServerOptions {
  /** Folders (recursive) or image files to label (ignored in A/B mode). */
  images: readonly string[];
  /** A/B mode: compare images of these runs side by side instead of labeling them one by one. */
  ab?: AbOptions;
  /** Output folder; the rater's files go to `<out>/<rater>/`. */
  out: string;
  /** Rater name: letters, digits, `_`, `-`, `.`; default `rater`. */
  rater?: string;
  /** Faces table (`score --faces` output or a faces.csv): enables face mode and outlines. */
  faces?: string;
  /** Two raters (names under `out`, or folders with images.csv/faces.csv) to review. */
  compare?: readonly [string, string];
  /** Port; 0 (default) picks a free one. */
  port?: number;
}

/** Options of the A/B mode. */
export interface AbOptions {
  /** Two or more runs: folders of images or generate manifests, optionally named (`NAME=PATH`). */
  runs: readonly AbRunSpec[];
  /** Seed of the order and the left/right sides. Default 0. */
  seed?: number;
  /** Share of steps that show an earlier pair again. Default 0.1. */
  repeatShare?: number;
  /** Picks the next pair; default: the least compared pair of systems. */
  scheduler?: AbScheduler;
}

/** A running server. */
export interface LabelServer {
  /** The URL to open, token included (`http://127.0.0.1:PORT/<token>/`). */
  url: string;
  port: number;
  token: string;
  session: Session;
  store: LabelStore;
  /** Number of disagreements offered in the review view (0 without `compare`). */
  reviewItems: number;
  /** The A/B session (A/B mode only). */
  ab?: AbSession;
  /** Stops serving and closes the store. */
  close(): Promise<void>;
}

/** A rater name that is safe as a folder name. */
export const RATER_RE = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,64}$/;

const ASSETS: Record<string, string> = {
  "": "index.html",
  "app.js": "app.js",
  "app.css": "app.css",
};
const ASSET_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** A write that failed validation; becomes a 400 with the message. */
class BadRequest extends Error {}

/** A review item: one disagreement the third person settles. */
interface ReviewItem {
  kind: "image" | "face";
  /** Index into images or faces. */
  item: number;
  a: RaterValues;
  b: RaterValues;
  reasons: string[];
}

function tokenEquals(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

/** `--compare` names a rater of `out` or a folder: that rater's labels. */
async function loadRater(out: string, nameOrDir: string): Promise<RaterLabels> {
  const dir =
    RATER_RE.test(nameOrDir) && !(await Deno.stat(nameOrDir).then((s) => s.isDirectory, () => false))
      ? join(out, nameOrDir)
      : nameOrDir;
  return await loadRaterLabels(dir).catch((e) => {
    throw e instanceof RaterLabelsNotFoundError ? new Error(`--compare: ${e.message}`) : e;
  });
}

/**
 * Starts the labeling server and returns once it listens.
 *
 * @example
 * ```ts ignore
 * import { startLabelServer } from "./server.ts";
 * const server = await startLabelServer({ images: ["gens/"], out: "labels", rater: "ann" });
 * console.log(`open ${server.url}`);
 * ```
 */
export async function startLabelServer(options: LabelServerOptions): Promise<LabelServer> {
  const rater = options.rater ?? "rater";
  if (!RATER_RE.test(rater)) {
    throw new Error(`rater name "${rater}": use 1–64 letters, digits, "_", "-" or "." (not "." or "..")`);
  }
  const out = resolve(options.out);
  const raterDir = join(out, rater);
  const ab = options.ab ? await buildAbSession(options.ab.runs, raterDir) : undefined;
  const session = ab
    ? ab.session
    : await buildSession({ images: options.images, raterDir, faces: options.faces });
  const store = await LabelStore.open(raterDir);
  const media = new MediaCache();
  const imageByKey = new Map(session.images.map((im) => [im.key, im]));

  const review: ReviewItem[] = [];
  if (options.compare) {
    const [a, b] = await Promise.all(options.compare.map((r) => loadRater(out, r)));
    const byReal = new Map<string, ImageItem>();
    for (const im of session.images) byReal.set(im.real, im);
    let missing = 0;
    for (const d of compareRaters(a, b).disagreements) {
      const real = await Deno.realPath(d.path).catch(() => undefined);
      const im = real === undefined ? undefined : byReal.get(real);
      if (!im) {
        missing++;
        continue;
      }
      const item = d.kind === "image" ? im.index : addFace(session, im, d.box!).index;
      review.push({ kind: d.kind, item, a: d.a, b: d.b, reasons: d.reasons });
    }
    if (missing) {
      session.warnings.push(`--compare: ${missing} disagreement(s) about images not served were left out`);
    }
  }
  const faceByKey = new Map(session.faces.map((f) => [f.key, f]));

  const token = Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  const assetDir = join(dirname(fileURLToPath(import.meta.url)), "assets");
  const assets = new Map<string, string>();
  const assetFiles: Record<string, string> = ab ? { ...ASSETS, "": "ab.html", "ab.js": "ab.js" } : ASSETS;
  for (const [route, file] of Object.entries(assetFiles)) {
    assets.set(route, await Deno.readTextFile(join(assetDir, file)));
  }

  const ac = new AbortController();
  let port = 0;
  const hosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const origins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  const state = () => ({
    rater,
    errorTypes: ERROR_TYPES,
    images: session.images.map((im) => ({
      key: im.key,
      url: im.url,
      name: im.name,
      label: store.images.get(im.key) ?? null,
    })),
    faces: session.faces.map((f) => ({
      key: f.key,
      image: f.image,
      box: f.box,
      url: f.url,
      label: store.faces.get(f.key)?.label ?? null,
    })),
    review,
    cursors: Object.fromEntries(store.cursors),
    warnings: session.warnings,
  });

  async function handle(req: Request): Promise<Response> {
    // 1. Host and origin: the app's own only.
    const host = req.headers.get("host") ?? "";
    if (!hosts().has(host)) return text(403, "forbidden: unknown Host");
    const origin = req.headers.get("origin");
    if (origin !== null && !origins().has(origin)) return text(403, "forbidden: foreign Origin");
    const site = req.headers.get("sec-fetch-site");
    if (site !== null && site !== "same-origin" && site !== "none") {
      return text(403, "forbidden: cross-site request");
    }
    // 2. Token: the raw path (never normalised) must start with it.
    const raw = req.url.slice(req.url.indexOf("/", req.url.indexOf("://") + 3)).split(/[?#]/)[0];
    const segs = raw.split("/").slice(1);
    if (!tokenEquals(segs[0] ?? "", token)) return text(403, "forbidden: missing or wrong session token");
    if (segs.length === 1) return new Response(null, { status: 302, headers: { location: `/${token}/` } });
    const route = segs.slice(1);
    const path = route.join("/");
    // 3. Routes.
    if (req.method === "GET" || req.method === "HEAD") {
      const asset = assets.get(path);
      if (asset !== undefined) {
        const ext = (assetFiles[path] ?? "").split(".").pop()!;
        return new Response(asset, {
          headers: {
            "content-type": ASSET_TYPES[ext],
            "cache-control": "no-store",
            ...(ext === "html" ? { "content-security-policy": CSP } : {}),
          },
        });
      }
      if (path === "api/ab" && ab) {
        await store.refresh();
        return json(200, abState());
      }
      if (path === "api/state" && !ab) {
        await store.refresh();
        return json(200, state());
      }
      // In A/B mode only opaque image URLs are served: file names would tell which run made an image.
      if (route[0] === "file" && route.length >= 3 && !ab) {
        const im = await resolveServedImage(session, route[1], route.slice(2));
        if (!im) return text(404, "not found");
        return await mediaResponse(() => media.image(im.real));
      }
      if (route[0] === "ab-img" && route.length === 2 && ab) {
        const im = abById.get(route[1]);
        if (!im) return text(404, "not found");
        return await mediaResponse(() => media.image(im.real));
      }
      if (route[0] === "crop" && route.length === 2 && /^(0|[1-9]\d{0,7})$/.test(route[1])) {
        const f = session.faces[Number(route[1])];
        if (!f) return text(404, "not found");
        return await mediaResponse(() => media.crop(session.images[f.image].real, f.box));
      }
      return text(404, "not found");
    }
    if (
      req.method === "POST" && (ab ? path === "api/ab" : path === "api/label" || path === "api/cursor")
    ) {
      if (!(req.headers.get("content-type") ?? "").startsWith("application/json")) {
        return text(415, "expected Content-Type: application/json");
      }
      let body: unknown;
      try {
        const t = await readBody(req, MAX_BODY_BYTES);
        if (t === undefined) {
          return text(413, `request body too large: a label write is at most ${MAX_BODY_BYTES} bytes`);
        }
        body = JSON.parse(t);
      } catch {
        return text(400, "body is not JSON");
      }
      try {
        if (path === "api/ab") return json(200, await writeAb(body));
        return json(200, path === "api/label" ? await writeLabel(body) : await writeCursor(body));
      } catch (e) {
        if (e instanceof BadRequest) return text(400, e.message);
        if (e instanceof StaleWriteError) return json(409, { stale: e.message, ...abState() });
        throw e;
      }
    }
    if (req.method === "POST") return text(404, "not found");
    return text(405, "method not allowed");
  }

  async function writeLabel(body: unknown) {
    const o = object(body, "body", ["type", "key", "patch", "tab"]);
    const tab = optionalTab(o.tab);
    if (o.type === "image") {
      const im = typeof o.key === "string" ? imageByKey.get(o.key) : undefined;
      if (!im) throw new BadRequest("key: not an image of this session");
      const patch = imagePatch(o.patch);
      const label = await store.setImage(im.key, (cur) => applyImagePatch(cur, patch), tab);
      return { key: im.key, label, seq: store.seq };
    }
    if (o.type === "face") {
      const f = typeof o.key === "string" ? faceByKey.get(o.key) : undefined;
      if (!f) throw new BadRequest("key: not a face of this session");
      const patch = facePatch(o.patch);
      const label = await store.setFace(
        session.images[f.image].key,
        f.box,
        (cur) => ({
          quality: "quality" in patch ? patch.quality! : cur.quality,
          notFace: patch.notFace ?? cur.notFace,
        }),
        tab,
      );
      return { key: f.key, label, seq: store.seq };
    }
    throw new BadRequest(`type: expected "image" or "face", got ${JSON.stringify(o.type)}`);
  }

  // A/B images get opaque URLs (a random id per image and server start): file names and folder
  // numbers would tell the rater which run an image comes from.
  const abIds = new Map<number, string>(), abById = new Map<string, ImageItem>();
  if (ab) {
    for (const im of session.images) {
      const id = Array.from(
        crypto.getRandomValues(new Uint8Array(12)),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
      abIds.set(im.index, id);
      abById.set(id, im);
    }
  }
  const abPairIndex = new Map(ab?.pairs.map((p, i) => [p.id, i]) ?? []);

  const abOrder = () => ({
    seed: options.ab?.seed ?? 0,
    repeatShare: options.ab?.repeatShare,
    scheduler: options.ab?.scheduler,
  });

  /** What the A/B page shows: the pair to judge now (system names withheld: the test is blind). */
  function abState() {
    const next: AbNext | null = nextAbPair(ab!, store.ab, abOrder());
    const side = (im: { item: ImageItem }) => ({ url: `ab-img/${abIds.get(im.item.index)}` });
    // choices of this session's pairs only (the rater's folder may hold other sessions' choices)
    const decided = new Set(store.ab.filter((d) => !d.repeat && abPairIndex.has(d.pair)).map((d) => d.pair));
    return {
      rater,
      step: store.ab.length,
      pairs: ab!.pairs.length,
      decided: decided.size,
      repeats: store.ab.filter((d) => d.repeat).length,
      systems: ab!.systems.length,
      byPrompt: ab!.byPrompt,
      canUndo: store.ab.length > 0,
      current: next
        ? {
          pair: abPairIndex.get(next.pair.id)!,
          prompt: next.pair.prompt,
          repeat: next.repeat,
          left: side(next.aLeft ? next.pair.a : next.pair.b),
          right: side(next.aLeft ? next.pair.b : next.pair.a),
        }
        : null,
      warnings: session.warnings,
    };
  }

  async function writeAb(body: unknown) {
    const o = object(body, "body", ["action", "step", "pair", "tab"]);
    const tab = optionalTab(o.tab);
    if (typeof o.step !== "number" || !Number.isInteger(o.step) || o.step < 0) {
      throw new BadRequest("step: expected the number of choices made so far");
    }
    if (o.action === "undo") {
      await store.abDecide(o.step, null, tab);
      return abState();
    }
    if (o.action !== "left" && o.action !== "right" && o.action !== "tie" && o.action !== "skip") {
      throw new BadRequest(
        `action: expected left, right, tie, skip or undo, got ${JSON.stringify(o.action)}`,
      );
    }
    await store.refresh();
    const next = nextAbPair(ab!, store.ab, abOrder());
    if (store.ab.length !== o.step || !next || abPairIndex.get(next.pair.id) !== o.pair) {
      throw new StaleWriteError(`the pair shown (step ${o.step}) is no longer the one to judge`);
    }
    const [l, r] = next.aLeft ? [next.pair.a, next.pair.b] : [next.pair.b, next.pair.a];
    await store.abDecide(o.step, {
      pair: next.pair.id,
      left: l.item.key,
      right: r.item.key,
      left_system: ab!.systems[l.system],
      right_system: ab!.systems[r.system],
      prompt: next.pair.prompt,
      choice: o.action,
      repeat: next.repeat,
      rater,
      seed: options.ab!.seed ?? 0,
    }, tab);
    return abState();
  }

  async function writeCursor(body: unknown) {
    const o = object(body, "body", ["view", "key", "tab"]);
    if (o.view !== "images" && o.view !== "faces" && o.view !== "review") {
      throw new BadRequest(`view: expected images, faces or review, got ${JSON.stringify(o.view)}`);
    }
    const known = o.view === "faces"
      ? faceByKey.has(o.key as string)
      : o.view === "images"
      ? imageByKey.has(o.key as string)
      : typeof o.key === "string" && /^\d{1,7}$/.test(o.key) && Number(o.key) < review.length;
    if (typeof o.key !== "string" || !known) throw new BadRequest("key: not an item of this view");
    await store.setCursor(o.view, o.key, optionalTab(o.tab));
    return { ok: true, seq: store.seq };
  }

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    signal: ac.signal,
    onListen: () => {},
    onError: (e) => {
      console.error(`label server: ${(e as Error).stack ?? e}`);
      return text(500, "internal error");
    },
  }, handle);
  port = server.addr.port;
  return {
    url: `http://127.0.0.1:${port}/${token}/`,
    port,
    token,
    session,
    store,
    reviewItems: review.length,
    ab,
    async close() {
      ac.abort();
      await server.finished;
      store.close();
    },
  };
}

/** Largest request body accepted (a label write is a few hundred bytes). */
export const MAX_BODY_BYTES = 10_000;

/**
 * The body as text, or `undefined` when it is larger than `max` bytes: refused from
 * `Content-Length` before reading, or (chunked) as soon as the limit is passed — a 100 MB body
 * is never held in memory.
 */
async function readBody(req: Request, max: number): Promise<string | undefined> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > max) {
    await req.body?.cancel().catch(() => {});
    return undefined;
  }
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) all.set(c, o), o += c.length;
  return new TextDecoder("utf-8", { fatal: true }).decode(all);
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", {
    status,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "x-content-type-options": "nosniff",
      "cache-control": "no-store",
    },
  });
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json",
      "x-content-type-options": "nosniff",
      "cache-control": "no-store",
    },
  });
}

async function mediaResponse(get: () => Promise<{ bytes: Uint8Array; type: string }>): Promise<Response> {
  try {
    const m = await get();
    return new Response(m.bytes as Uint8Array<ArrayBuffer>, {
      headers: {
        "content-type": m.type,
        "x-content-type-options": "nosniff",
        "cache-control": "private, max-age=3600",
        "content-security-policy": "default-src 'none'",
      },
    });
  } catch (e) {
    return text(422, `cannot show this image: ${(e as Error).message}`);
  }
}

function object(v: unknown, name: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new BadRequest(`${name}: expected an object`);
  }
  const extra = Object.keys(v).filter((k) => !allowed.includes(k));
  if (extra.length) {
    throw new BadRequest(
      `${name}: unknown field ${JSON.stringify(extra[0])} (allowed: ${allowed.join(", ")})`,
    );
  }
  return v as Record<string, unknown>;
}

function optionalTab(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^[A-Za-z0-9_-]{1,40}$/.test(v)) {
    throw new BadRequest("tab: expected a short id");
  }
  return v;
}

const isQuality = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 5;
const isErrorType = (v: unknown): v is ErrorType =>
  typeof v === "string" && (ERROR_TYPES as readonly string[]).includes(v);

/** A validated image patch: fields absent are left as they are. */
interface ImagePatch {
  usable?: "yes" | "no" | null;
  quality?: number | null;
  errors?: ErrorType[];
  error?: { type: ErrorType; on: boolean };
}

function imagePatch(v: unknown): ImagePatch {
  const o = object(v, "patch", ["usable", "quality", "errors", "error"]);
  const p: ImagePatch = {};
  if ("usable" in o) {
    if (o.usable !== "yes" && o.usable !== "no" && o.usable !== null) {
      throw new BadRequest(`patch.usable: expected "yes", "no" or null, got ${JSON.stringify(o.usable)}`);
    }
    p.usable = o.usable;
  }
  if ("quality" in o) {
    if (o.quality !== null && !isQuality(o.quality)) {
      throw new BadRequest(
        `patch.quality: expected an integer 1–5 or null, got ${JSON.stringify(o.quality)}`,
      );
    }
    p.quality = o.quality;
  }
  if ("errors" in o) {
    if (
      !Array.isArray(o.errors) || !o.errors.every(isErrorType) || new Set(o.errors).size !== o.errors.length
    ) {
      throw new BadRequest(`patch.errors: expected distinct error types of ${ERROR_TYPES.join(", ")}`);
    }
    p.errors = o.errors;
  }
  if ("error" in o) {
    const e = object(o.error, "patch.error", ["type", "on"]);
    if (!isErrorType(e.type)) {
      throw new BadRequest(`patch.error.type: unknown error type ${JSON.stringify(e.type)}`);
    }
    if (typeof e.on !== "boolean") throw new BadRequest("patch.error.on: expected true or false");
    p.error = { type: e.type, on: e.on };
  }
  if (Object.keys(p).length === 0) throw new BadRequest("patch: empty");
  return p;
}

function applyImagePatch(cur: ImageLabelState, p: ImagePatch): ImageLabelState {
  const next = { ...EMPTY_IMAGE_LABEL, ...cur, errors: [...cur.errors] };
  if ("usable" in p) next.usable = p.usable!;
  if ("quality" in p) next.quality = p.quality!;
  if (p.errors) next.errors = [...p.errors];
  if (p.error) {
    const has = next.errors.includes(p.error.type);
    if (p.error.on && !has) next.errors.push(p.error.type);
    if (!p.error.on && has) next.errors = next.errors.filter((e) => e !== p.error!.type);
  }
  return next;
}

function facePatch(v: unknown): Partial<FaceLabelState> {
  const o = object(v, "patch", ["quality", "notFace"]);
  const p: Partial<FaceLabelState> = {};
  if ("quality" in o) {
    if (o.quality !== null && !isQuality(o.quality)) {
      throw new BadRequest(
        `patch.quality: expected an integer 1–5 or null, got ${JSON.stringify(o.quality)}`,
      );
    }
    p.quality = o.quality;
  }
  if ("notFace" in o) {
    if (typeof o.notFace !== "boolean") throw new BadRequest("patch.notFace: expected true or false");
    p.notFace = o.notFace;
  }
  if (Object.keys(p).length === 0) throw new BadRequest("patch: empty");
  return p;
}

export type { FaceItem, ImageItem };
