import assert from "node:assert/strict";
import sharp from "sharp";
import { decodeBytes, type RgbImage } from "../lib/core/image.ts";
import { ImageContext } from "../lib/heuristics/types.ts";
import { CHAR_LM_SYMBOLS, charProb, trainCharLm, wordBits } from "../lib/models/char_lm.ts";
import { LM_ORDER, LM_TYPICAL_BITS, textLanguage } from "../lib/heuristics/text_language.ts";
import { sourcesOf } from "../lib/heuristics/usable.ts";
import { HEURISTICS } from "../lib/heuristics/registry.ts";

const near = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

Deno.test("Witten–Bell probabilities match a hand computation", () => {
  // Corpus "ab", "b", order 2 (one letter of context). Events after padding ^ab$ and ^b$:
  // ^→a, a→b, b→$, ^→b, b→$. Order 0: a 1, b 2, $ 2 (C 5, T 3), base 1/27:
  // P0(x) = (c(x) + 3/27) / (5 + 3): P0(a) = 5/36, P0(b) = P0($) = 19/72, P0(z) = 1/72.
  // After ^ (a 1, b 1: C 2, T 2): P(a|^) = (1 + 2·5/36)/4 = 23/72, P(b|^) = (1 + 2·19/72)/4 = 55/144.
  // After b ($ 2: C 2, T 1): P($|b) = (2 + 19/72)/3 = 163/216; P(a|b) = (0 + 5/36)/3 = 5/108.
  const lm = trainCharLm(["ab", "b"], 2);
  near(charProb(lm, "^", "a"), 23 / 72, "P(a|^)");
  near(charProb(lm, "^", "b"), 55 / 144, "P(b|^)");
  near(charProb(lm, "b", "$"), 163 / 216, "P($|b)");
  near(charProb(lm, "b", "a"), 5 / 108, "P(a|b)");
  near(charProb(lm, "z", "z"), 1 / 72, "unseen history and symbol");
  // Bits per symbol of "b": -(log2 P(b|^) + log2 P($|b)) / 2.
  near(wordBits(lm, "b"), -(Math.log2(55 / 144) + Math.log2(163 / 216)) / 2, "bits of b");
});

Deno.test("each history's probabilities sum to 1 over the 27 symbols", () => {
  const lm = trainCharLm(["garden", "party", "gate", "art", "tar"], 4);
  const symbols = [..."abcdefghijklmnopqrstuvwxyz$"];
  assert.equal(symbols.length, CHAR_LM_SYMBOLS);
  for (const h of ["^^^", "^^g", "gar", "art", "xyz", "^ar", "rt"]) {
    near(symbols.reduce((s, c) => s + charProb(lm, h, c), 0), 1, `sum after "${h}"`);
  }
  assert.throws(() => wordBits(lm, "café"), /not a word of letters a–z/);
});

Deno.test("LM_TYPICAL_BITS is the held-out median it says (regression check of a derived constant)", async () => {
  const list: string[] = JSON.parse(
    await Deno.readTextFile(new URL("../node_modules/an-array-of-english-words/index.json", import.meta.url)),
  );
  const lm = trainCharLm(list.filter((_, i) => i % 10 !== 0), LM_ORDER);
  const bits = list.filter((_, i) => i % 10 === 0).map((w) => wordBits(lm, w)).sort((a, b) => a - b);
  assert.equal(bits.length, 27494);
  assert.equal(+bits[Math.floor(bits.length / 2)].toFixed(4), LM_TYPICAL_BITS);
});

async function rendered(lines: string[]): Promise<RgbImage> {
  const body = lines.map((l, i) =>
    `<text x="30" y="${90 + 80 * i}" font-family="DejaVu Sans" font-size="44" fill="#1a1a1a">${l}</text>`
  ).join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="${60 + 80 * lines.length}">` +
    `<rect width="100%" height="100%" fill="#f3eee4"/>${body}</svg>`;
  return await decodeBytes(new Uint8Array(await sharp(new TextEncoder().encode(svg)).png().toBuffer()));
}

Deno.test("English reads as plausible, lettering that spells nothing as implausible", async () => {
  const good = await textLanguage.compute(new ImageContext(await rendered(["Welcome to the garden"])));
  assert.ok((good.text_lm_implausibility as number) < 0.1, JSON.stringify(good));
  assert.ok((good.text_lm_prominent as number) < 0.1, JSON.stringify(good));
  // The lettering of a real generation people rejected ("ATETEN" for "STABLE"), read at 0.99.
  const bad = await textLanguage.compute(new ImageContext(await rendered(["ATETEN"])));
  assert.ok((bad.text_lm_implausibility as number) > 0.8, JSON.stringify(bad));
  assert.ok((bad.text_lm_prominent as number) > 0.8, JSON.stringify(bad));
  const none = await textLanguage.compute(
    new ImageContext({
      width: 64,
      height: 64,
      data: new Uint8Array(64 * 64 * 3).fill(128),
    }),
  );
  assert.deepEqual(none, { text_lm_implausibility: null, text_lm_prominent: null });
});

Deno.test("a usability scorer reading text_lm_implausibility runs text_language", () => {
  assert.deepEqual(
    sourcesOf({ features: [{ name: "text_lm_implausibility" }] }, HEURISTICS).map((h) => h.name),
    [
      "text_language",
    ],
  );
});
