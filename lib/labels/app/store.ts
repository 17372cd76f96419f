/**
 * Storage of one rater's labels: an append-only log (`log.jsonl`) that records every change as it
 * happens, and the label files `images.csv` / `faces.csv` in the CONTRACTS format, rewritten
 * atomically (temp file + rename) after every change.
 *
 * The log is the source of truth. Every write takes an exclusive file lock (`.lock`), first reads
 * whatever other processes appended since (so two servers on one rater merge rather than
 * overwrite), appends its own event, then rewrites the label files from the merged state. Within
 * one process writes are queued, so any number of tabs can write at once. A line torn by a killed
 * process is skipped on reading and never glued to the next event.
 *
 * Files (in the rater's folder, e.g. `labels/ann/`):
 * - `images.csv`: `path, usable, quality, errors` — a row once an image has both `usable` and
 *   `quality`; `errors` in vocabulary order joined by `;`; paths relative to the folder.
 * - `faces.csv`: `path, x, y, width, height, quality` — a row once a face has a quality and was
 *   not marked "not a face"; boxes as given by the faces table.
 * - `ab.csv`: the A/B mode's choices in the CONTRACTS format (`left_path, right_path, left_system,
 *   right_system, choice, rater`, then `prompt, repeat, time`), one row per choice in the order
 *   made; skipped and undone pairs are not in it.
 * - `log.jsonl`: one JSON object per change: `{seq, time, type: "image"|"face"|"cursor"|"ab"|
 *   "ab-undo", …}` with the whole label after the change, so replaying the log gives the state.
 *
 * @module
 */
import { join } from "node:path";
import { csvLine } from "../../core/csv.ts";
import { ERROR_TYPES, type ErrorType, loadFaceLabels, loadImageLabels } from "../format.ts";
import { abCsv } from "../ab_format.ts";
import { WinnowError } from "../../core/errors.ts";
import { writeAll, writeAtomic } from "../../core/atomic.ts";

/** Label files are fsynced before the rename and may be written by overlapping requests. */
const DURABLE = { sync: true, unique: true } as const;

/** An image's label as the app edits it: any field may still be unset. */
export interface ImageLabelState {
  usable: "yes" | "no" | null;
  quality: number | null;
  /** In vocabulary order, each once. */
  errors: ErrorType[];
}

/** A face's label: a quality 1–5, or marked as not a face. */
export interface FaceLabelState {
  quality: number | null;
  notFace: boolean;
}

/** A face box in pixels (as in the faces table). */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One logged change. */
export type LogEvent =
  | { seq: number; time: string; type: "image"; path: string; label: ImageLabelState; tab?: string }
  | {
    seq: number;
    time: string;
    type: "face";
    path: string;
    box: FaceBox;
    label: FaceLabelState;
    tab?: string;
  }
  | { seq: number; time: string; type: "cursor"; view: string; item: string; tab?: string }
  | ({ seq: number; time: string; type: "ab"; tab?: string } & AbDecision)
  | { seq: number; time: string; type: "ab-undo"; of: number; tab?: string };

/** One A/B choice as the app records it (paths as written in `ab.csv`, relative to the rater's folder). */
export interface AbDecision {
  /** Pair id (see lib/labels/app/ab.ts). */
  pair: string;
  left: string;
  right: string;
  left_system: string;
  right_system: string;
  prompt: string;
  choice: "left" | "right" | "tie" | "skip";
  /** Shown again to measure the rater's consistency. */
  repeat: boolean;
  rater: string;
  /** The session's seed (it drew the order and the sides). */
  seed: number;
}

/** A write refused because the state moved on (e.g. a choice retried after it was stored). */
export class StaleWriteError extends WinnowError {}

/** The key of a face: its image path (as written) and box. */
export function faceKey(path: string, box: FaceBox): string {
  return `${path}#${box.x},${box.y},${box.width},${box.height}`;
}

/** An empty image label. */
export const EMPTY_IMAGE_LABEL: Readonly<ImageLabelState> = Object.freeze({
  usable: null,
  quality: null,
  errors: [],
});

/** True when the image label can be written to `images.csv` (usable and quality both set). */
export function imageLabelComplete(l: ImageLabelState | undefined): boolean {
  return !!l && l.usable !== null && l.quality !== null;
}

/** Serialises asynchronous jobs: each runs after the previous one settled. */
class Queue {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(job: () => Promise<T>): Promise<T> {
    const p = this.#tail.then(job, job);
    this.#tail = p.catch(() => {});
    return p;
  }
}

/**
 * One rater's label store. Open with {@link LabelStore.open}; every `set*` call is durable (log
 * appended and fsynced, label files renamed into place) when its promise resolves.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LabelStore } from "./store.ts";
 * const dir = await Deno.makeTempDir();
 * const store = await LabelStore.open(dir);
 * await store.setImage("../img/a.jpg", { usable: "yes", quality: 4, errors: ["blur"] });
 * assert.equal(await Deno.readTextFile(`${dir}/images.csv`), "path,usable,quality,errors\n../img/a.jpg,yes,4,blur\n");
 * store.close();
 * const again = await LabelStore.open(dir); // resumes from the log
 * assert.equal(again.images.get("../img/a.jpg")?.quality, 4);
 * again.close();
 * ```
 */
export class LabelStore {
  /** Image labels by path as written in `images.csv`. */
  readonly images = new Map<string, ImageLabelState>();
  /** Face labels by {@link faceKey}. */
  readonly faces = new Map<string, { path: string; box: FaceBox; label: FaceLabelState }>();
  /** Last cursor position per view. */
  readonly cursors = new Map<string, string>();
  /** A/B choices in force (undone ones removed), in the order made, with their log `seq` and time. */
  readonly ab: (AbDecision & { seq: number; time: string })[] = [];
  /** Log lines that could not be read (torn by a crash, or edited by hand). */
  skippedLines = 0;
  /** Highest sequence number seen. */
  seq = 0;
  #offset = 0;
  #queue = new Queue();
  #log: Deno.FsFile;
  #lock: Deno.FsFile;

  private constructor(readonly dir: string, log: Deno.FsFile, lock: Deno.FsFile) {
    this.#log = log;
    this.#lock = lock;
  }

  /** `images.csv` in the rater's folder. */
  get imagesFile(): string {
    return join(this.dir, "images.csv");
  }
  /** `faces.csv` in the rater's folder. */
  get facesFile(): string {
    return join(this.dir, "faces.csv");
  }
  /** `ab.csv` in the rater's folder. */
  get abFile(): string {
    return join(this.dir, "ab.csv");
  }
  /** `log.jsonl` in the rater's folder. */
  get logFile(): string {
    return join(this.dir, "log.jsonl");
  }

  /**
   * Opens (creating) a rater's folder and replays its log. When there is no log yet but label
   * files exist (written by hand or another tool), their rows are imported into a new log first.
   */
  static async open(dir: string): Promise<LabelStore> {
    await Deno.mkdir(dir, { recursive: true });
    const logPath = join(dir, "log.jsonl");
    const hadLog = await Deno.stat(logPath).then(() => true, () => false);
    const log = await Deno.open(logPath, { create: true, append: true });
    const lock = await Deno.open(join(dir, ".lock"), { create: true, write: true });
    const store = new LabelStore(dir, log, lock);
    await store.#locked(async () => {
      await store.#catchUp();
      if (!hadLog && store.seq === 0) await store.#importExisting();
    });
    return store;
  }

  /** Closes the files. Pending writes should be awaited first. */
  close(): void {
    this.#log.close();
    this.#lock.close();
  }

  /**
   * Sets an image's label: the new label, or a function of the current one (called under the lock
   * after other processes' changes were merged, so a patch never undoes a concurrent change).
   * Resolves with the label stored, once it is durable.
   */
  setImage(
    path: string,
    label: ImageLabelState | ((current: ImageLabelState) => ImageLabelState),
    tab?: string,
  ): Promise<ImageLabelState> {
    return this.#write((seq, time) => {
      const next = typeof label === "function"
        ? label(this.images.get(path) ?? { ...EMPTY_IMAGE_LABEL })
        : label;
      return { seq, time, type: "image", path, label: normaliseImage(next), tab };
    }).then(() => this.images.get(path)!);
  }

  /** Sets a face's label (or a function of the current one). Resolves once it is durable. */
  setFace(
    path: string,
    box: FaceBox,
    label: FaceLabelState | ((current: FaceLabelState) => FaceLabelState),
    tab?: string,
  ): Promise<FaceLabelState> {
    const key = faceKey(path, box);
    return this.#write((seq, time) => {
      const cur = this.faces.get(key)?.label ?? { quality: null, notFace: false };
      const next = typeof label === "function" ? label(cur) : label;
      return {
        seq,
        time,
        type: "face",
        path,
        box: { ...box },
        label: { quality: next.quality, notFace: next.notFace },
        tab,
      };
    }).then(() => this.faces.get(key)!.label);
  }

  /** Records where the rater is in a view (so a new session starts there). */
  setCursor(view: string, item: string, tab?: string): Promise<void> {
    return this.#write((seq, time) => ({ seq, time, type: "cursor", view, item, tab }), false);
  }

  /**
   * Records an A/B choice (or skip) as choice number `step` (0-based count of choices in force), or
   * undoes the last one (`decision` null). Refused with {@link StaleWriteError} when the number of
   * choices in force is no longer `step` (a retried request, or another tab was faster), so a
   * choice is never stored twice. Resolves once durable (log fsynced, `ab.csv` renamed into place).
   */
  abDecide(step: number, decision: AbDecision | null, tab?: string): Promise<void> {
    return this.#queue.run(() =>
      this.#locked(async () => {
        await this.#catchUp();
        if (this.ab.length !== step) {
          throw new StaleWriteError(`expected choice ${step}, but ${this.ab.length} are stored`);
        }
        const seq = this.seq + 1, time = new Date().toISOString();
        if (decision === null) {
          const last = this.ab.at(-1);
          if (!last) throw new StaleWriteError("nothing to undo");
          await this.#append([{ seq, time, type: "ab-undo", of: last.seq, tab }]);
        } else await this.#append([{ seq, time, type: "ab", ...decision, tab }]);
        await this.#rewrite("ab");
      })
    );
  }

  /** `ab.csv` text for the current state. */
  abCsv(): string {
    return abCsv(
      this.ab.filter((d) => d.choice !== "skip").map((d) => ({
        left_path: d.left,
        right_path: d.right,
        left_system: d.left_system,
        right_system: d.right_system,
        choice: d.choice as "left" | "right" | "tie",
        rater: d.rater,
        prompt: d.prompt,
        repeat: d.repeat,
        time: d.time,
      })),
    );
  }

  /** Reads what other processes appended to the log since the last read. */
  refresh(): Promise<void> {
    return this.#queue.run(() => this.#locked(() => this.#catchUp()));
  }

  /** `images.csv` text for the current state. */
  imagesCsv(): string {
    const rows = [...this.images].filter(([, l]) => imageLabelComplete(l)).sort(([p], [q]) =>
      p < q ? -1 : p > q ? 1 : 0
    );
    return csvLine(["path", "usable", "quality", "errors"]) +
      rows.map(([p, l]) => csvLine([p, l.usable, l.quality, l.errors.join(";")])).join("");
  }

  /** `faces.csv` text for the current state. */
  facesCsv(): string {
    const rows = [...this.faces.values()].filter((f) => f.label.quality !== null && !f.label.notFace)
      .sort((f, g) => f.path < g.path ? -1 : f.path > g.path ? 1 : f.box.y - g.box.y || f.box.x - g.box.x);
    return csvLine(["path", "x", "y", "width", "height", "quality"]) +
      rows.map((f) => csvLine([f.path, f.box.x, f.box.y, f.box.width, f.box.height, f.label.quality])).join(
        "",
      );
  }

  #write(make: (seq: number, time: string) => LogEvent, rewrite = true): Promise<void> {
    return this.#queue.run(() =>
      this.#locked(async () => {
        await this.#catchUp();
        const event = make(this.seq + 1, new Date().toISOString());
        await this.#append([event]);
        if (rewrite) await this.#rewrite(event.type === "ab-undo" ? "ab" : event.type);
      })
    );
  }

  async #locked<T>(job: () => Promise<T>): Promise<T> {
    await this.#lock.lock(true);
    try {
      return await job();
    } finally {
      await this.#lock.unlock();
    }
  }

  /** Reads events appended since the last read (by this or another process) into the state. */
  async #catchUp(): Promise<void> {
    const f = await Deno.open(this.logFile, { read: true });
    try {
      await f.seek(this.#offset, Deno.SeekMode.Start);
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(1 << 16);
      for (let n; (n = await f.read(buf)) !== null;) chunks.push(buf.slice(0, n));
      const bytes = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
      let o = 0;
      for (const c of chunks) bytes.set(c, o), o += c.length;
      if (bytes.length === 0) return;
      const text = new TextDecoder().decode(bytes);
      const lines = text.split("\n");
      const torn = lines.pop()!; // "" when the text ends with a newline
      for (const line of lines) if (line.trim()) this.#apply(line);
      if (torn !== "") {
        // Only a crashed writer leaves a line without its newline (writers hold the lock).
        this.skippedLines++;
        await this.#log.write(new TextEncoder().encode("\n"));
        this.#offset += bytes.length + 1;
      } else this.#offset += bytes.length;
    } finally {
      f.close();
    }
  }

  #apply(line: string): void {
    let e: LogEvent;
    try {
      e = JSON.parse(line);
    } catch {
      this.skippedLines++;
      return;
    }
    if (typeof e?.seq === "number" && e.seq > this.seq) this.seq = e.seq;
    if (e?.type === "image" && typeof e.path === "string" && e.label) {
      this.images.set(e.path, normaliseImage(e.label));
    } else if (e?.type === "face" && typeof e.path === "string" && e.box && e.label) {
      const box = { x: e.box.x, y: e.box.y, width: e.box.width, height: e.box.height };
      this.faces.set(faceKey(e.path, box), {
        path: e.path,
        box,
        label: { quality: e.label.quality ?? null, notFace: !!e.label.notFace },
      });
    } else if (e?.type === "cursor" && typeof e.view === "string" && typeof e.item === "string") {
      this.cursors.set(e.view, e.item);
    } else if (e?.type === "ab" && typeof e.pair === "string" && typeof e.left === "string") {
      const { seq, time, pair, left, right, left_system, right_system, prompt, choice, repeat, rater, seed } =
        e;
      this.ab.push({
        seq,
        time,
        pair,
        left,
        right,
        left_system,
        right_system,
        prompt,
        choice,
        repeat,
        rater,
        seed,
      });
    } else if (e?.type === "ab-undo" && typeof e.of === "number") {
      const i = this.ab.findIndex((d) => d.seq === e.of);
      if (i >= 0) this.ab.splice(i, 1);
    } else this.skippedLines++;
  }

  async #append(events: LogEvent[]): Promise<void> {
    const bytes = new TextEncoder().encode(events.map((e) => JSON.stringify(e) + "\n").join(""));
    await writeAll(this.#log, bytes);
    await this.#log.syncData();
    this.#offset += bytes.length;
    for (const e of events) this.#apply(JSON.stringify(e));
  }

  async #rewrite(kind: "image" | "face" | "cursor" | "ab" | "all"): Promise<void> {
    if (kind === "image" || kind === "all") await writeAtomic(this.imagesFile, this.imagesCsv(), DURABLE);
    if (kind === "face" || kind === "all") await writeAtomic(this.facesFile, this.facesCsv(), DURABLE);
    if (kind === "ab") await writeAtomic(this.abFile, this.abCsv(), DURABLE);
  }

  async #importExisting(): Promise<void> {
    const events: LogEvent[] = [];
    const time = new Date().toISOString();
    let seq = this.seq;
    const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
    if (await exists(this.imagesFile)) {
      for (const r of (await loadImageLabels(this.imagesFile)).rows) {
        const label = {
          usable: r.usable ? "yes" as const : "no" as const,
          quality: r.quality,
          errors: r.errors,
        };
        events.push({ seq: ++seq, time, type: "image", path: r.rawPath, label });
      }
    }
    if (await exists(this.facesFile)) {
      for (const r of (await loadFaceLabels(this.facesFile)).rows) {
        const box = { x: r.x, y: r.y, width: r.width, height: r.height };
        events.push({
          seq: ++seq,
          time,
          type: "face",
          path: r.rawPath,
          box,
          label: { quality: r.quality, notFace: false },
        });
      }
    }
    if (events.length) {
      await this.#append(events);
      await this.#rewrite("all");
    }
  }
}

function normaliseImage(l: ImageLabelState): ImageLabelState {
  return {
    usable: l.usable === "yes" || l.usable === "no" ? l.usable : null,
    quality: typeof l.quality === "number" ? l.quality : null,
    errors: ERROR_TYPES.filter((e) => (l.errors ?? []).includes(e)),
  };
}
