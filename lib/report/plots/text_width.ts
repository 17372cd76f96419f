/**
 * Text widths of DejaVu Sans for vega's layout. Headless vega has no canvas to measure text, so by
 * default it guesses 0.8 em per character, which is about 40% too wide for DejaVu Sans (the font
 * librsvg draws with): plots got wide empty margins beside titles and legends. These are the fonts'
 * real advance widths, so vega sizes titles, legends and axis labels to what librsvg draws.
 *
 * @module
 */

/** Advance widths of DejaVu Sans, characters 32–126, in thousandths of an em (from the TTF's hmtx). */
const REGULAR: readonly number[] = [
  318,
  401,
  460,
  838,
  636,
  950,
  780,
  275,
  390,
  390,
  500,
  838,
  318,
  361,
  318,
  337,
  636,
  636,
  636,
  636,
  636,
  636,
  636,
  636,
  636,
  636,
  337,
  337,
  838,
  838,
  838,
  531,
  1000,
  684,
  686,
  698,
  770,
  632,
  575,
  775,
  752,
  295,
  295,
  656,
  557,
  863,
  748,
  787,
  603,
  787,
  695,
  635,
  611,
  732,
  684,
  989,
  685,
  611,
  685,
  390,
  337,
  390,
  838,
  500,
  500,
  613,
  635,
  550,
  635,
  615,
  352,
  635,
  634,
  278,
  278,
  579,
  278,
  974,
  634,
  612,
  635,
  635,
  411,
  521,
  392,
  634,
  592,
  818,
  592,
  592,
  525,
  636,
  337,
  636,
  838,
];

/** Advance widths of DejaVu Sans Bold, characters 32–126, in thousandths of an em. */
const BOLD: readonly number[] = [
  348,
  456,
  521,
  838,
  696,
  1002,
  872,
  306,
  457,
  457,
  523,
  838,
  380,
  415,
  380,
  365,
  696,
  696,
  696,
  696,
  696,
  696,
  696,
  696,
  696,
  696,
  400,
  400,
  838,
  838,
  838,
  580,
  1000,
  774,
  762,
  734,
  830,
  683,
  683,
  821,
  837,
  372,
  372,
  775,
  637,
  995,
  837,
  850,
  733,
  850,
  770,
  720,
  682,
  812,
  774,
  1103,
  771,
  724,
  725,
  457,
  365,
  457,
  838,
  500,
  500,
  675,
  716,
  593,
  716,
  678,
  435,
  716,
  712,
  343,
  343,
  665,
  343,
  1042,
  712,
  687,
  716,
  716,
  493,
  595,
  478,
  712,
  652,
  924,
  645,
  652,
  582,
  712,
  365,
  712,
  838,
];

/**
 * Width in pixels of `text` set in DejaVu Sans (bold when `bold`) at `fontSize` px. Characters
 * outside ASCII count as a full em when wide (CJK and beyond) and 0.7 em otherwise, so unusual
 * text is over- rather than under-estimated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dejaVuTextWidth } from "./text_width.ts";
 * assert.equal(dejaVuTextWidth("0000", 10), 25.44);
 * ```
 */
export function dejaVuTextWidth(text: string, fontSize: number, bold = false): number {
  const table = bold ? BOLD : REGULAR;
  let milli = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    milli += c >= 32 && c <= 126 ? table[c - 32] : c >= 0x2e80 ? 1000 : 700;
  }
  return (milli * fontSize) / 1000;
}

interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
}

interface VegaTextMetrics {
  width: (item: TextItem, text: string) => number;
}

let users = 0;
let saved: VegaTextMetrics["width"] | undefined;

/**
 * Runs `fn` with vega's text measurement set to {@link dejaVuTextWidth} and restores the previous
 * measurement afterwards (re-entrant: nested and overlapping calls share one swap).
 *
 * @example
 * ```ts ignore
 * const svg = await withDejaVuMetrics(vega, () => view.toSVG());
 * ```
 */
export async function withDejaVuMetrics<T>(vega: unknown, fn: () => Promise<T>): Promise<T> {
  const metrics = (vega as { textMetrics?: VegaTextMetrics }).textMetrics;
  if (!metrics) return await fn();
  if (users++ === 0) {
    saved = metrics.width;
    metrics.width = (item, text) => {
      const w = item.fontWeight;
      const bold = w === "bold" || w === "bolder" || (typeof w === "number" && w >= 600) || Number(w) >= 600;
      return dejaVuTextWidth(String(text), item.fontSize ?? 11, bold);
    };
  }
  try {
    return await fn();
  } finally {
    if (--users === 0 && saved) metrics.width = saved;
  }
}
