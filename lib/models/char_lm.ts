/**
 * A character n-gram language model of words, with Witten–Bell interpolation (Witten & Bell 1991;
 * the form of Chen & Goodman 1998, eq. 16): how plausible a letter sequence is as a word. Trained
 * on a word list (types, not running text), it says how English-like a string the OCR read is —
 * "Prioity" or "ATETEN" cost many more bits per letter than "welcome", even when the recogniser
 * reads them with high confidence.
 *
 * Words are lower-case a–z; each is padded with `order − 1` start marks `^` and one end mark `$`
 * (the end mark is predicted too). The probability of symbol c after history h is, from the
 * shortest history up,
 * P_k(c | h) = (C(h_k c) + T(h_k) · P_{k−1}(c | h)) / (C(h_k) + T(h_k)), with h_k the last k symbols
 * of h, C the counts, T(h_k) the number of distinct symbols seen after h_k, and P_{−1} uniform over
 * the 27 symbols (26 letters and `$`). A history never seen keeps the shorter estimate.
 *
 * @module
 */

/** Symbols the model predicts: the 26 letters and the end mark. */
export const CHAR_LM_SYMBOLS = 27;

/**
 * A trained model. Symbols are coded 1–26 (a–z), 27 (`$`), 28 (`^`); a history of k symbols is the
 * base-29 number of its codes (no digit is 0, so the length is part of the code; the empty history
 * is 0). `counts` maps `history · 29 + symbol` to its count; `totals` and `kinds` map a history to
 * C(h) and T(h).
 */
export interface CharLm {
  order: number;
  counts: Map<number, number>;
  totals: Map<number, number>;
  kinds: Map<number, number>;
}

const BASE = 29, END = 27, START = 28;

function codes(word: string, order: number): number[] | null {
  const out = new Array<number>(order - 1).fill(START);
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i) | 0x20; // lower-case
    if (c < 97 || c > 122) return null;
    out.push(c - 96);
  }
  out.push(END);
  return out;
}

function symbolCode(c: string): number {
  if (c === "$") return END;
  if (c === "^") return START;
  const k = c.toLowerCase().charCodeAt(0);
  if (c.length !== 1 || k < 97 || k > 122) throw new RangeError(`char LM: "${c}" is not a letter, ^ or $`);
  return k - 96;
}

/**
 * Trains a model of the given order (context of `order − 1` letters) on words; words with
 * anything but letters a–z (either case) are skipped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { charProb, trainCharLm } from "./char_lm.ts";
 * const lm = trainCharLm(["ab"], 2);
 * // By hand: P_0(a) = (1 + 3/27) / (3 + 3) = 5/27; after "^": (1 + 1 · 5/27) / (1 + 1) = 16/27.
 * assert.ok(Math.abs(charProb(lm, "^", "a") - 16 / 27) < 1e-12);
 * ```
 */
export function trainCharLm(words: Iterable<string>, order = 5): CharLm {
  if (!Number.isInteger(order) || order < 1 || order > 8) {
    throw new RangeError(`char LM: order ${order} is not 1–8`);
  }
  const counts = new Map<number, number>(), totals = new Map<number, number>();
  const kinds = new Map<number, number>();
  for (const w of words) {
    const s = codes(w, order);
    if (!s || s.length === order) continue; // not a–z, or empty
    for (let i = order - 1; i < s.length; i++) {
      let h = 0;
      for (let k = 0; k < order; k++) {
        if (k) h += s[i - k] * BASE ** (k - 1);
        const key = h * BASE + s[i];
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
  }
  for (const [key, n] of counts) {
    const h = Math.floor(key / BASE);
    totals.set(h, (totals.get(h) ?? 0) + n);
    kinds.set(h, (kinds.get(h) ?? 0) + 1);
  }
  return { order, counts, totals, kinds };
}

function probCoded(lm: CharLm, s: readonly number[], i: number): number {
  let p = 1 / CHAR_LM_SYMBOLS, h = 0;
  for (let k = 0; k < lm.order && k <= i; k++) {
    if (k) h += s[i - k] * BASE ** (k - 1);
    const C = lm.totals.get(h);
    if (C === undefined) break; // a longer history containing this one was never seen either
    const T = lm.kinds.get(h)!;
    p = ((lm.counts.get(h * BASE + s[i]) ?? 0) + T * p) / (C + T);
  }
  return p;
}

/**
 * P(c | history): `history` is the preceding symbols (letters, `^`; only its last `order − 1` are
 * used), `c` a letter or `$`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { charProb, trainCharLm } from "./char_lm.ts";
 * const lm = trainCharLm(["ab"], 2);
 * // After "a" only "b" was seen (C = 1, T = 1): (0 + 1 · 5/27) / (1 + 1) = 5/54.
 * assert.ok(Math.abs(charProb(lm, "a", "a") - 5 / 54) < 1e-12);
 * ```
 */
export function charProb(lm: CharLm, history: string, c: string): number {
  const s = [...history.slice(Math.max(0, history.length - lm.order + 1)), c].map(symbolCode);
  return probCoded(lm, s, s.length - 1);
}

/**
 * Mean bits per predicted symbol (its letters and the end mark) of a word, lower-cased; the word
 * must be letters a–z.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trainCharLm, wordBits } from "./char_lm.ts";
 * const lm = trainCharLm(["ab"], 2);
 * // "ab" was seen, "ba" was not: fewer bits per symbol.
 * assert.ok(wordBits(lm, "ab") < wordBits(lm, "ba"));
 * ```
 */
export function wordBits(lm: CharLm, word: string): number {
  const s = codes(word, lm.order);
  if (!s || !word.length) throw new RangeError(`char LM: "${word}" is not a word of letters a–z`);
  let bits = 0;
  for (let i = lm.order - 1; i < s.length; i++) bits -= Math.log2(probCoded(lm, s, i));
  return bits / (word.length + 1);
}
