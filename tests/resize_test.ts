import assert from "node:assert/strict";
import { resizeArea, resizeBilinear } from "../lib/core/resize.ts";

// Reference values produced by hand with OpenCV 4.6 (Debian python3-opencv), e.g.:
//   a54 = (np.arange(20) * 37 % 256).astype(np.uint8).reshape(4, 5)
//   cv2.resize(a54, (3, 2), interpolation=cv2.INTER_LINEAR_EXACT).ravel().tolist()
//   cv2.resize(a54.astype(np.float64), (3, 2), interpolation=cv2.INTER_AREA).ravel().tolist()
//   a44 = (np.arange(16) * 53 % 256).astype(np.uint8).reshape(4, 4)
//   f75 = ((np.arange(35) * 0.37) % 5).reshape(5, 7)
const A54 = Uint8Array.from({ length: 20 }, (_, i) => (i * 37) % 256);
const A44 = Uint8Array.from({ length: 16 }, (_, i) => (i * 53) % 256);
const F75 = Float64Array.from({ length: 35 }, (_, i) => (i * 0.37) % 5);

const CV = {
  linExact54to32: [105, 39, 100, 91, 153, 129],
  area54to32u8: [107, 64, 98, 93, 152, 135],
  area54to32f64: [
    107.300002977252,
    64.10000152885914,
    97.70000313222408,
    93.3000025600195,
    152.50000454485416,
    134.90000347793102,
  ],
  lin54to32f64: [104.83333094418049, 38.5, 100.16666960716248, 90.833331361413, 152.5, 128.8333261013031],
  linExact44to77: [
    0,
    19,
    49,
    80,
    110,
    140,
    159,
    75,
    62,
    40,
    64,
    94,
    125,
    143,
    197,
    131,
    25,
    39,
    69,
    99,
    118,
    190,
    163,
    120,
    78,
    44,
    74,
    93,
    165,
    184,
    214,
    125,
    35,
    55,
    68,
    140,
    158,
    189,
    174,
    147,
    82,
    43,
    124,
    143,
    173,
    204,
    216,
    99,
    27,
  ],
  lin44to77f64: [
    0.0,
    18.92857187986374,
    49.21428436040878,
    79.5,
    109.78571248054504,
    140.0714249610901,
    159.0,
    75.71428751945496,
    61.98979661780959,
    40.030613007594184,
    63.78571391105652,
    94.07142639160156,
    124.3571388721466,
    143.28571391105652,
    196.85713744163513,
    130.88775044922932,
    25.336740069243206,
    38.642858266830444,
    68.92857074737549,
    99.21428322792053,
    118.14285826683044,
    190.0,
    163.21428507566452,
    120.35714477300644,
    77.5,
    43.785712480545044,
    74.07142496109009,
    93.0,
    164.85714435577393,
    183.78571623563766,
    214.0714287161827,
    125.49999713897705,
    35.622441199360765,
    55.45917969333823,
    67.85714435577393,
    139.71428871154785,
    158.6428605914116,
    188.92857307195663,
    173.4999942779541,
    146.31631713497336,
    82.56122885918012,
    42.71428871154785,
    124.0,
    142.92857187986374,
    173.21428436040878,
    203.5,
    215.5000069141388,
    99.50001382827759,
    27.0,
  ],
  area44to77f64: [
    0.0,
    13.25,
    53.0,
    79.5,
    106.0,
    145.75,
    159.0,
    53.0,
    50.25,
    42.0,
    68.5,
    95.0,
    134.75,
    148.0,
    212.0,
    161.25,
    9.0,
    35.5,
    62.0,
    101.75,
    115.0,
    190.0,
    171.25,
    115.0,
    77.5,
    40.0,
    79.75,
    93.0,
    168.0,
    181.25,
    221.0,
    119.5,
    18.0,
    57.75,
    71.0,
    135.0,
    148.25,
    188.0,
    182.5,
    177.0,
    72.75,
    38.0,
    124.0,
    137.25,
    177.0,
    203.5,
    230.0,
    77.75,
    27.0,
  ],
  area75to32f64: [
    1.3362857564730306,
    2.1820000975430025,
    3.0277143735843053,
    1.5522857629103322,
    2.3980001071989543,
    3.243714380021607,
  ],
};

function close(got: ArrayLike<number>, want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: got ${got[i]}, OpenCV ${want[i]}`);
  }
}

Deno.test("bilinear 8-bit is bit-exact with cv2 INTER_LINEAR_EXACT (shrink and grow)", () => {
  const down = resizeBilinear(A54, 5, 4, 3, 2);
  assert.ok(down instanceof Uint8Array);
  assert.deepEqual([...down], CV.linExact54to32);
  assert.deepEqual([...resizeBilinear(A44, 4, 4, 7, 7)], CV.linExact44to77);
});

Deno.test("bilinear float64 matches cv2 INTER_LINEAR", () => {
  const down = resizeBilinear(Float64Array.from(A54), 5, 4, 3, 2);
  assert.ok(down instanceof Float64Array);
  close(down, CV.lin54to32f64, 1e-9, "5x4->3x2");
  close(resizeBilinear(Float64Array.from(A44), 4, 4, 7, 7), CV.lin44to77f64, 1e-9, "4x4->7x7");
});

Deno.test("area matches cv2 INTER_AREA for non-integer shrink and for growth", () => {
  assert.deepEqual([...resizeArea(A54, 5, 4, 3, 2)], CV.area54to32u8);
  close(resizeArea(Float64Array.from(A54), 5, 4, 3, 2), CV.area54to32f64, 1e-9, "5x4->3x2");
  close(resizeArea(F75, 7, 5, 3, 2), CV.area75to32f64, 1e-9, "7x5->3x2");
  close(resizeArea(Float64Array.from(A44), 4, 4, 7, 7), CV.area44to77f64, 1e-9, "4x4->7x7 (upscale)");
});

Deno.test("invariants: constants stay constant, same size is identity", () => {
  for (
    const [w, h, dw, dh] of [[9, 7, 4, 3], [3, 5, 11, 2], [1, 1, 5, 4], [16, 16, 16, 16], [40, 30, 16, 16]]
  ) {
    const u = new Uint8Array(w * h).fill(77), f = new Float64Array(w * h).fill(0.3);
    for (const fn of [resizeBilinear, resizeArea]) {
      assert.ok(fn(u, w, h, dw, dh).every((v) => v === 77), `${fn.name} u8 ${w}x${h}->${dw}x${dh}`);
      assert.ok(
        fn(f, w, h, dw, dh).every((v) => Math.abs(v - 0.3) < 1e-7),
        `${fn.name} f64 ${w}x${h}->${dw}x${dh}`,
      );
    }
  }
  const r = Float64Array.from({ length: 35 }, (_, i) => Math.sin(i));
  close(resizeBilinear(r, 7, 5, 7, 5), [...r], 0, "bilinear identity");
  close(resizeArea(r, 7, 5, 7, 5), [...r], 1e-7, "area identity");
});

Deno.test("invariants: area keeps the mean, bilinear reproduces a ramp at half-pixel centres", () => {
  const w = 37, h = 23;
  const src = Float64Array.from({ length: w * h }, (_, i) => (i * 7919) % 101);
  const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
  for (const [dw, dh] of [[5, 4], [16, 16], [12, 7]]) {
    const m = mean(resizeArea(src, w, h, dw, dh));
    assert.ok(Math.abs(m - mean(src)) < 1e-4, `area ${dw}x${dh}: mean ${m} vs ${mean(src)}`);
  }
  // Ramp v(x) = 3x + 1 along x: output pixel dx samples x = (dx + 0.5) * w / dw - 0.5.
  const ramp = Float64Array.from({ length: w * 2 }, (_, i) => 3 * (i % w) + 1);
  for (const dw of [10, 80]) {
    const out = resizeBilinear(ramp, w, 2, dw, 2);
    for (let dx = 0; dx < dw; dx++) {
      const x = Math.min(Math.max((dx + 0.5) * (w / dw) - 0.5, 0), w - 1);
      assert.ok(Math.abs(out[dx] - (3 * x + 1)) < 1e-4, `ramp ${dw} at ${dx}: ${out[dx]} vs ${3 * x + 1}`);
    }
  }
});

Deno.test("bad sizes are refused", () => {
  assert.throws(() => resizeBilinear(new Uint8Array(6), 3, 3, 2, 2), RangeError);
  assert.throws(() => resizeArea(new Uint8Array(6), 3, 2, 0, 2), RangeError);
  assert.throws(() => resizeArea(new Uint8Array(6), 3, 2, 1.5, 2), RangeError);
});
