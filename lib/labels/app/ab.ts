/**
 * The labeling app's A/B mode: which pairs of images a rater compares, and in what order.
 *
 * Runs (systems) are folders of images or `generate` manifests (`manifest.jsonl`; a folder holding
 * one uses it). Two images are paired when they come from different runs and share a prompt (from
 * the manifests), or, without manifests, the same file path inside their run folders. A run is
 * named by its folder, or by `NAME=PATH`.
 *
 * Order: a scheduler picks each next pair from the choices in force. It is a pure function of the
 * session, the choices and a seeded random stream per step, so a restarted server offers exactly
 * the pair it offered before it was killed, and an undo brings back the pair undone. The left/right
 * order is drawn from the same stream and recorded with each choice. A fixed share of steps shows
 * an earlier pair again (sides drawn again) to measure the rater's consistency.
 *
 * @module
 */
import { basename, dirname, relative, resolve, sep as SEPARATOR } from "node:path";
import { mulberry32 } from "../../core/random.ts";
import { parsePrompts, type PromptTable } from "../../core/prompts.ts";
import { buildSession, type ImageItem, type Session } from "./items.ts";
import type { AbDecision } from "./store.ts";

/** One run given on the command line. */
export interface AbRunSpec {
  /** System name (default: the folder's name). */
  name?: string;
  /** A folder of images, or a `manifest.jsonl`. */
  path: string;
}

/** An image that takes part in the comparisons. */
export interface AbImage {
  item: ImageItem;
  /** Index into {@link AbSession.systems}. */
  system: number;
  /** The prompt shown (empty when pairing by file name). */
  prompt: string;
}

/** Two images of different systems for one prompt (a: the system listed first). */
export interface AbPair {
  /** `<a key>|<b key>`: stable across restarts. */
  id: string;
  a: AbImage;
  b: AbImage;
  prompt: string;
}

/** The A/B session a server offers. */
export interface AbSession {
  systems: string[];
  pairs: AbPair[];
  /** The image session (serving, keys), shared with the image mode's machinery. */
  session: Session;
  /** True when pairs come from prompts in manifests; false when paired by file name. */
  byPrompt: boolean;
}

/** What a scheduler sees. */
export interface AbScheduleContext {
  systems: readonly string[];
  pairs: readonly AbPair[];
  /** Choices in force, in order (skips included). */
  decisions: readonly AbDecision[];
  /** Pairs still to compare (not chosen or skipped yet), indexes into `pairs`. */
  open: readonly number[];
  /** Uniform [0, 1) numbers seeded by the session seed and the step. */
  random: () => number;
}

/**
 * Picks the next pair to compare (an index into `pairs`, one of `open`). The labeling app calls it
 * for every step; it must be deterministic given its context.
 */
export type AbScheduler = (ctx: AbScheduleContext) => number;

/** The next comparison offered. */
export interface AbNext {
  pair: AbPair;
  /** True when `a` is shown on the left. */
  aLeft: boolean;
  repeat: boolean;
}

/** Reads `NAME=PATH` or `PATH`. */
export function parseRunSpec(arg: string): AbRunSpec {
  const m = /^([A-Za-z0-9_.-]{1,64})=(.+)$/.exec(arg);
  return m ? { name: m[1], path: m[2] } : { path: arg };
}

const within = (root: string, p: string) =>
  p === root || p.startsWith(root.endsWith(SEPARATOR) ? root : root + SEPARATOR);

/**
 * Lists the runs' images and pairs them by prompt (or by file path when there are no manifests).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildAbSession } from "./ab.ts";
 * const dir = await Deno.makeTempDir();
 * for (const run of ["one", "two"]) {
 *   await Deno.mkdir(`${dir}/${run}`);
 *   for (const f of ["cat.png", "dog.png"]) await Deno.writeFile(`${dir}/${run}/${f}`, new Uint8Array([0x89, 0x50]));
 * }
 * const ab = await buildAbSession([{ path: `${dir}/one` }, { name: "B", path: `${dir}/two` }], `${dir}/labels/ann`);
 * assert.deepEqual(ab.systems, ["one", "B"]);
 * assert.equal(ab.pairs.length, 2);
 * ```
 */
export async function buildAbSession(runs: readonly AbRunSpec[], raterDir: string): Promise<AbSession> {
  if (runs.length < 2) throw new Error("A/B mode needs at least two runs to compare");
  const folders: string[] = [];
  const tables: (PromptTable | undefined)[] = [];
  const names: string[] = [];
  for (const run of runs) {
    const st = await Deno.stat(run.path).catch(() => null);
    if (!st) throw new Error(`--ab: ${run.path}: no such folder or manifest`);
    let folder = run.path, manifest: string | undefined;
    if (st.isFile) {
      folder = dirname(run.path);
      manifest = run.path;
    } else {
      const m = resolve(run.path, "manifest.jsonl");
      if (await Deno.stat(m).then((s) => s.isFile, () => false)) manifest = m;
    }
    folders.push(await Deno.realPath(folder));
    tables.push(manifest ? parsePrompts(manifest, await Deno.readTextFile(manifest)) : undefined);
    names.push(run.name ?? basename(resolve(folder)));
  }
  const dupName = names.find((n, i) => names.indexOf(n) !== i);
  if (dupName) throw new Error(`--ab: two runs are named "${dupName}"; name them with NAME=PATH`);
  const dupFolder = folders.find((f, i) => folders.indexOf(f) !== i);
  if (dupFolder) {
    throw new Error(`--ab: two runs share the folder ${dupFolder}; give each run its own folder`);
  }
  const byPrompt = tables.every((t) => t !== undefined);
  if (!byPrompt && tables.some((t) => t !== undefined)) {
    throw new Error(
      "--ab: some runs have a manifest and some do not; pair either all by prompt or all by file name",
    );
  }
  const session = await buildSession({ images: folders, raterDir });
  // An image belongs to the run of the deepest folder holding it.
  const groups = new Map<string, AbImage[][]>();
  let unprompted = 0;
  for (const item of session.images) {
    let run = -1;
    for (let r = 0; r < folders.length; r++) {
      if (within(folders[r], item.real) && (run < 0 || folders[r].length > folders[run].length)) run = r;
    }
    if (run < 0) continue;
    let key: string, prompt: string;
    if (byPrompt) {
      const t = tables[run]!;
      const p = t.byPath.get(resolve(item.path)) ?? t.byPath.get(item.real);
      if (p === undefined || p === "") {
        unprompted++;
        continue;
      }
      key = prompt = p;
    } else {
      key = relative(folders[run], item.real);
      prompt = "";
    }
    if (!groups.has(key)) groups.set(key, folders.map(() => []));
    groups.get(key)![run].push({ item, system: run, prompt });
  }
  if (unprompted) session.warnings.push(`${unprompted} image(s) not in their run's manifest were left out`);
  const pairs: AbPair[] = [];
  for (const perRun of groups.values()) {
    for (let r = 0; r < perRun.length; r++) {
      for (let s = r + 1; s < perRun.length; s++) {
        for (const a of perRun[r]) {
          for (const b of perRun[s]) {
            pairs.push({ id: `${a.item.key}|${b.item.key}`, a, b, prompt: a.prompt });
          }
        }
      }
    }
  }
  if (pairs.length === 0) {
    throw new Error(
      byPrompt
        ? "--ab: no prompt has images in two runs; nothing to compare"
        : "--ab: no file name occurs in two run folders; nothing to compare (give manifests to pair by prompt)",
    );
  }
  return { systems: names, pairs, session, byPrompt };
}

/**
 * The default scheduler: the pair of systems compared least so far, then a random open pair of
 * theirs. (`deno task label --ab` uses the uncertainty scheduler of lib/evaluate/schedule.ts.)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { balancedScheduler } from "./ab.ts";
 * const pair = (i: number, a: number, b: number) => ({ id: String(i), prompt: "", a: { system: a }, b: { system: b } });
 * const pairs = [pair(0, 0, 1), pair(1, 0, 2), pair(2, 1, 2)] as never;
 * const d = [{ pair: "0" }, { pair: "1" }] as never;
 * assert.equal(balancedScheduler({ systems: ["x", "y", "z"], pairs, decisions: d, open: [2], random: Math.random }), 2);
 * ```
 */
export const balancedScheduler: AbScheduler = (ctx) => {
  const k = ctx.systems.length;
  const count = new Float64Array(k * k);
  const byId = new Map(ctx.pairs.map((p) => [p.id, p]));
  for (const d of ctx.decisions) {
    const p = byId.get(d.pair);
    if (p) count[p.a.system * k + p.b.system]++;
  }
  let best = Infinity;
  let candidates: number[] = [];
  for (const i of ctx.open) {
    const p = ctx.pairs[i];
    const c = count[p.a.system * k + p.b.system];
    if (c < best) best = c, candidates = [i];
    else if (c === best) candidates.push(i);
  }
  return candidates[Math.floor(ctx.random() * candidates.length)];
};

/** Options of {@link nextAbPair}. */
export interface AbOrderOptions {
  seed: number;
  /** Share of steps that repeat an earlier pair. Default 0.1. */
  repeatShare?: number;
  /** Default {@link balancedScheduler}. */
  scheduler?: AbScheduler;
}

/**
 * The comparison to offer after `decisions` (null when every pair was compared or skipped). After
 * the first 5 choices, a step repeats an earlier, not yet repeated, decided pair with probability
 * `repeatShare`; otherwise the scheduler picks an open pair. The sides are drawn at random. Each
 * step draws from its own stream (seed, step), so the answer depends only on the arguments.
 *
 * @example
 * ```ts ignore
 * const next = nextAbPair(ab, store.ab, { seed: 0 });
 * ```
 */
export function nextAbPair(
  ab: AbSession,
  decisions: readonly AbDecision[],
  options: AbOrderOptions,
): AbNext | null {
  const step = decisions.length;
  const random = mulberry32(((options.seed >>> 0) * 2654435761 + step * 40503 + 0x5bd1e995) >>> 0);
  const decided = new Set(decisions.map((d) => d.pair));
  const open: number[] = [];
  ab.pairs.forEach((p, i) => {
    if (!decided.has(p.id)) open.push(i);
  });
  if (open.length === 0) return null;
  const repeatShare = options.repeatShare ?? 0.1;
  const r = random(), sides = random();
  if (step >= 5 && r < repeatShare) {
    const repeated = new Set(decisions.filter((d) => d.repeat).map((d) => d.pair));
    const candidates = [
      ...new Set(decisions.filter((d) => !d.repeat && d.choice !== "skip").map((d) => d.pair)),
    ]
      .filter((id) => !repeated.has(id));
    if (candidates.length) {
      const id = candidates[Math.floor(random() * candidates.length)];
      const pair = ab.pairs.find((p) => p.id === id);
      if (pair) return { pair, aLeft: sides < 0.5, repeat: true };
    }
  }
  const scheduler = options.scheduler ?? balancedScheduler;
  const i = scheduler({ systems: ab.systems, pairs: ab.pairs, decisions, open, random });
  if (!open.includes(i)) throw new Error(`A/B scheduler returned ${i}, which is not an open pair`);
  return { pair: ab.pairs[i], aLeft: sides < 0.5, repeat: false };
}
