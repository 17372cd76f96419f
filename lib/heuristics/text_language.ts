/**
 * Text language plausibility: do the words the OCR read look like English words? Generators paint
 * lettering that the recogniser reads confidently as letters but that spells nothing a language
 * would ("ATETEN DIFFUSION", read at 0.99): the character confidence is high and the trigram test
 * of `text` sees little wrong. A character 5-gram model of English words (`lib/models/char_lm.ts`,
 * Witten–Bell, trained on the ~275 000 words of `an-array-of-english-words`, MIT licence, the list
 * `text` already uses) measures, per word, how many bits per letter it costs; an English word costs
 * about {@link LM_TYPICAL_BITS}, a random letter string log2 27 ≈ 4.75.
 *
 * Per Latin word (a run of ≥ 3 ASCII letters of a text region, as `text` counts them): 0 when the
 * word list has it; otherwise implausibility = clamp((bits per symbol − {@link LM_TYPICAL_BITS}) /
 * (log2 27 − {@link LM_TYPICAL_BITS}), 0, 1) of the whole run — 0 for a run as cheap as a typical
 * English word, 1 for one as costly as random letters. Listed words count 0 because a model trained
 * on a list of words (types, not running text) makes short common words costly ("the" 4.4 bits per
 * symbol); runs are not split into listed pieces as `text` does, because that split accepts
 * "ATETEN" as "at" + "eten".
 *
 * Outputs: `text_lm_implausibility` (mean over the words, weighted by their letters + 1; empty
 * without a Latin word) and `text_lm_prominent` (max over text regions of the region's
 * implausibility times its prominence, min(1, region short side / (0.1 × image short side)), as
 * `text_prominent_garbled_score` weighs regions; empty without a text region). It reads the text
 * through the `text` heuristic's memo (same settings, `text.*`), so naming both runs the OCR once.
 *
 * Limits: names and words of other languages cost bits too ("Qwen" 5.8 bits per symbol); a word
 * glued to the next by the recogniser ("gardenparty", 4.3) is costly; a garbled string close to a
 * word but unlisted ("Unknowh", 4.6) is caught, a garbled string that is itself a listed word is not.
 *
 * @example
 * ```ts ignore
 * import { ImageContext } from "./types.ts";
 * import { textLanguage } from "./text_language.ts";
 * import { decodeImage } from "../core/image.ts";
 * console.log(await textLanguage.compute(new ImageContext(await decodeImage("poster.jpg"))));
 * ```
 * @module
 */
import type { Heuristic } from "./types.ts";
import {
  isTextRegion,
  latinWords,
  type Lexicon,
  loadLexicon,
  PROMINENT_TEXT_SIDE,
  readText,
  textSettings,
} from "./text.ts";
import { CHAR_LM_SYMBOLS, type CharLm, trainCharLm, wordBits } from "../models/char_lm.ts";

/** Order of the character model (4 letters of context). */
export const LM_ORDER = 5;

/**
 * Bits per symbol of a typical English word: the median over the held-out tenth of the word list
 * (every 10th word, from 0) under a model of order {@link LM_ORDER} trained on the other nine
 * tenths — 2.4623 (27 494 held-out words). Derived from the word list alone, no label; a test
 * recomputes it.
 */
export const LM_TYPICAL_BITS = 2.4623;

/** Bits per symbol of random letters (27 equally likely symbols). */
export const LM_RANDOM_BITS: number = Math.log2(CHAR_LM_SYMBOLS);

let model: Promise<{ lm: CharLm; lx: Lexicon }> | undefined;

/** The character model of the English word list, trained once per process (seconds). */
export function loadEnglishCharLm(): Promise<{ lm: CharLm; lx: Lexicon }> {
  return model ??= loadLexicon().then((lx) => ({ lm: trainCharLm(lx.words, LM_ORDER), lx })).catch((e) => {
    model = undefined;
    throw e;
  });
}

/**
 * Implausibility of one word's bits per symbol (see the module doc).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bitsImplausibility, LM_RANDOM_BITS, LM_TYPICAL_BITS } from "./text_language.ts";
 * assert.equal(bitsImplausibility(2), 0);
 * assert.equal(bitsImplausibility((LM_TYPICAL_BITS + LM_RANDOM_BITS) / 2), 0.5);
 * assert.equal(bitsImplausibility(9), 1);
 * ```
 */
export function bitsImplausibility(bits: number): number {
  return Math.min(1, Math.max(0, (bits - LM_TYPICAL_BITS) / (LM_RANDOM_BITS - LM_TYPICAL_BITS)));
}

/**
 * The letter-weighted implausibility of a string's Latin words (see the module doc), and the
 * weight (letters + 1 summed); null without a Latin word.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lexiconOf } from "./text.ts";
 * import { trainCharLm } from "../models/char_lm.ts";
 * import { lineImplausibility } from "./text_language.ts";
 * const lx = lexiconOf(["garden", "party", "the"]);
 * const lm = trainCharLm(lx.words, 5);
 * assert.deepEqual(lineImplausibility("The garden", lm, lx), { value: 0, weight: 11 });
 * assert.ok(lineImplausibility("Thx gqrdxn", lm, lx)!.value > 0.5);
 * assert.equal(lineImplausibility("42 !", lm, lx), null);
 * ```
 */
export function lineImplausibility(
  text: string,
  lm: CharLm,
  lx: Lexicon,
): { value: number; weight: number } | null {
  let sum = 0, weight = 0;
  for (const w of latinWords(text)) {
    if (!lx.words.has(w)) sum += bitsImplausibility(wordBits(lm, w)) * (w.length + 1);
    weight += w.length + 1;
  }
  return weight ? { value: sum / weight, weight } : null;
}

/**
 * Both outputs from recognised lines (text regions only) of an image `width` × `height`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lexiconOf } from "./text.ts";
 * import { trainCharLm } from "../models/char_lm.ts";
 * import { textLanguageValues } from "./text_language.ts";
 * const lx = lexiconOf(["welcome", "home"]);
 * const lm = trainCharLm(lx.words, 5);
 * const box = { x: 0, y: 0, width: 200, height: 50 };
 * const v = textLanguageValues([{ text: "WELCOME", box }], 500, 500, lm, lx);
 * assert.deepEqual(v, { text_lm_implausibility: 0, text_lm_prominent: 0 });
 * assert.deepEqual(textLanguageValues([], 500, 500, lm, lx), { text_lm_implausibility: null, text_lm_prominent: null });
 * ```
 */
export function textLanguageValues(
  regions: readonly { text: string; box: { width: number; height: number } }[],
  width: number,
  height: number,
  lm: CharLm,
  lx: Lexicon,
): { text_lm_implausibility: number | null; text_lm_prominent: number | null } {
  const side = PROMINENT_TEXT_SIDE * Math.min(width, height);
  let sum = 0, weight = 0, prominent = 0;
  for (const l of regions) {
    const im = lineImplausibility(l.text, lm, lx);
    if (!im) continue;
    sum += im.value * im.weight;
    weight += im.weight;
    prominent = Math.max(prominent, im.value * Math.min(1, Math.min(l.box.width, l.box.height) / side));
  }
  return {
    text_lm_implausibility: weight ? sum / weight : null,
    text_lm_prominent: regions.length ? prominent : null,
  };
}

/** The `text_language` heuristic. */
export const textLanguage: Heuristic = {
  name: "text_language",
  description: "Do the words the OCR read look like English? Bits per letter under a character 5-gram " +
    "model of the English word list (garbled lettering read confidently as letters)",
  errorType: "garbled_text",
  outputs: [
    {
      name: "text_lm_implausibility",
      unit: "score 0–1",
      direction: "lower_is_better",
      description: "letter-weighted mean over the text regions' Latin words of 0 for a listed English " +
        `word, else clamp((bits per symbol − ${LM_TYPICAL_BITS}) / (log2 27 − ${LM_TYPICAL_BITS})) under a ` +
        "character 5-gram model of English words; empty without a Latin word",
    },
    {
      name: "text_lm_prominent",
      unit: "score 0–1",
      direction: "lower_is_better",
      description: "max over text regions of the region's implausibility × min(1, region short side / " +
        "(0.1 × image short side)); empty without a text region",
    },
  ],
  thresholds: [],
  async compute(ctx) {
    const s = textSettings(ctx.settingsFor("text"));
    const [lines, { lm, lx }] = await Promise.all([readText(ctx, s), loadEnglishCharLm()]);
    return textLanguageValues(lines.filter(isTextRegion), ctx.width, ctx.height, lm, lx);
  },
};
