/** Pillow-exact resizing against the Pillow 9.4 / clean-fid golden files in ../shared/reference/eval/. */
import assert from "node:assert/strict";
import { decodeImage } from "../lib/core/image.ts";
import { resizePil, resizePilFloat } from "../lib/core/resize_pil.ts";
import { EVAL_DIR, GOLDEN_EVAL, readF32, REFERENCE_DIR } from "./golden.ts";

interface ResizeCase {
  image: string;
  width: number;
  height: number;
  expected: string;
  mode?: string;
  sum?: number;
}

for (const c of GOLDEN_EVAL.resize as ResizeCase[]) {
  const name = `${
    c.mode === "clean_fid" ? "resizePilFloat" : "resizePil"
  }: ${c.image} → ${c.width}×${c.height}`;
  Deno.test(`${name} matches ${c.expected}`, async () => {
    const img = await decodeImage(`${REFERENCE_DIR}images/${c.image}`);
    if (c.mode === "clean_fid") {
      const want = await readF32(EVAL_DIR + c.expected);
      const got = resizePilFloat(img, c.width, c.height);
      assert.equal(got.length, want.length);
      let max = 0, sum = 0;
      for (let i = 0; i < got.length; i++) {
        max = Math.max(max, Math.abs(got[i] - want[i]));
        sum += got[i];
      }
      assert.ok(max <= 1e-4, `max abs difference ${max}`);
      assert.ok(Math.abs(sum - c.sum!) / c.sum! < 1e-6, `sum ${sum} vs ${c.sum}`);
    } else {
      const want = await decodeImage(EVAL_DIR + c.expected);
      const got = resizePil(img, c.width, c.height);
      assert.deepEqual([got.width, got.height], [want.width, want.height]);
      let diff = 0;
      for (let i = 0; i < got.data.length; i++) if (got.data[i] !== want.data[i]) diff++;
      assert.equal(diff, 0, `${diff} of ${got.data.length} bytes differ`);
    }
  });
}

// Small cases by hand with Pillow 9.4 (Debian python3-pil): a one-axis resize (only the vertical
// pass runs), the horizontal-only case, an upscale, a 1-pixel source:
//   a = ((np.arange(w*h*3)*37+11) % 256).astype(np.uint8).reshape(h, w, 3)
//   np.asarray(Image.fromarray(a).resize((W, H), Image.BICUBIC)).ravel().tolist()
const PIL_SMALL: [number, number, number, number, number[]][] = [
  [7, 5, 3, 2, [109, 91, 137, 167, 133, 101, 129, 175, 133, 87, 118, 157, 133, 99, 127, 156, 153, 79]],
  [5, 3, 2, 3, [107, 82, 127, 165, 140, 88, 88, 133, 170, 146, 94, 131, 139, 176, 107, 100, 137, 167]],
  [1, 1, 2, 2, [11, 48, 85, 11, 48, 85, 11, 48, 85, 11, 48, 85]],
  [4, 4, 4, 7, [
    0,
    33,
    90,
    127,
    164,
    201,
    238,
    0,
    36,
    93,
    130,
    167,
    70,
    107,
    57,
    94,
    141,
    178,
    215,
    73,
    110,
    60,
    97,
    144,
    193,
    230,
    14,
    51,
    96,
    133,
    170,
    196,
    233,
    17,
    54,
    99,
    181,
    218,
    111,
    148,
    41,
    78,
    131,
    184,
    221,
    114,
    151,
    44,
    126,
    163,
    208,
    245,
    29,
    66,
    92,
    129,
    166,
    211,
    248,
    32,
    81,
    118,
    165,
    202,
    152,
    189,
    47,
    84,
    121,
    168,
    205,
    155,
    58,
    95,
    132,
    169,
    226,
    255,
    24,
    61,
    98,
    135,
    172,
    229,
  ]],
];

Deno.test("resizePil: small sources, one-axis resizes and upscales as Pillow", () => {
  for (const [w, h, W, H, want] of PIL_SMALL) {
    const data = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37 + 11) % 256);
    const got = resizePil({ width: w, height: h, data }, W, H);
    assert.deepEqual([...got.data], want, `${w}×${h} → ${W}×${H}`);
    // The float path agrees with the 8-bit one within rounding on the same input.
    const f = resizePilFloat({ width: w, height: h, data }, W, H);
    f.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1, `float ${w}×${h} → ${W}×${H} [${i}]`));
  }
  assert.throws(() => resizePil({ width: 2, height: 2, data: new Uint8Array(12) }, 0, 3), /width must be/);
  assert.throws(() => resizePil({ width: 2, height: 2, data: new Uint8Array(11) }, 1, 1), /11 bytes/);
});
