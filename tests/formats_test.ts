/**
 * BMP, ICO and Netpbm decoding (lib/core/extra_formats.ts through decodeImage), on files written
 * at test time by an independent writer (tests/bmp_writer.ts). Expected pixels come from the
 * format rules, not from the decoder: palette colours, 5-bit channels widened by bit replication,
 * `round(v * 255 / maxval)` for Netpbm, alpha over white.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { decodeBytes, decodeImage, ImageDecodeError } from "../lib/core/image.ts";
import { type Rgba, writeBmp, writeIco, writePnm } from "./bmp_writer.ts";

const dir = Deno.env.get("WINNOW_KEEP_FORMATS") ?? await Deno.makeTempDir({ prefix: "winnow-formats-" });

// 5×3 (odd width: every row needs padding), four colours so 1-bit has to fail and 4/8-bit fit.
const PALETTE = [[0, 0, 0], [255, 255, 255], [200, 40, 16], [8, 96, 248]];
const W = 5, H = 3;
const COLORS = [0, 1, 2, 3, 0, 3, 2, 1, 1, 0, 2, 2, 3, 3, 1];
function image(colorAt: (i: number) => number[], alpha: (i: number) => number = () => 255): Rgba {
  const data = new Uint8Array(W * H * 4);
  for (let i = 0; i < W * H; i++) data.set([...colorAt(i), alpha(i)], i * 4);
  return { width: W, height: H, data };
}
const paletted = image((i) => PALETTE[COLORS[i]]);
const rgb = (img: Rgba) => Array.from(img.data).filter((_, i) => i % 4 !== 3);
const widen5 = (v: number) => ((v >> 3) << 3) | ((v >> 3) >> 2);
const widen6 = (v: number) => ((v >> 2) << 2) | ((v >> 2) >> 4);

async function decodeFile(name: string, bytes: Uint8Array) {
  const path = join(dir, name);
  await Deno.writeFile(path, bytes);
  return await decodeImage(path);
}

const bmpCases: { name: string; img: Rgba; opts: Parameters<typeof writeBmp>[1]; want: number[] }[] = [
  { name: "4bit.bmp", img: paletted, opts: { bpp: 4, palette: PALETTE }, want: rgb(paletted) },
  {
    name: "4bit-short-palette-topdown.bmp",
    img: paletted,
    opts: { bpp: 4, palette: PALETTE, shortPalette: true, topDown: true },
    want: rgb(paletted),
  },
  { name: "8bit.bmp", img: paletted, opts: { bpp: 8, palette: PALETTE }, want: rgb(paletted) },
  {
    name: "8bit-os2-core.bmp",
    img: paletted,
    opts: { bpp: 8, palette: PALETTE, header: 12 },
    want: rgb(paletted),
  },
  { name: "24bit.bmp", img: paletted, opts: { bpp: 24 }, want: rgb(paletted) },
  { name: "24bit-topdown.bmp", img: paletted, opts: { bpp: 24, topDown: true }, want: rgb(paletted) },
  { name: "32bit-rgb.bmp", img: paletted, opts: { bpp: 32 }, want: rgb(paletted) },
  {
    name: "16bit-555.bmp",
    img: paletted,
    opts: { bpp: 16 },
    want: rgb(paletted).map(widen5),
  },
  {
    name: "16bit-565-bitfields.bmp",
    img: paletted,
    opts: { bpp: 16, masks: [0xf800, 0x07e0, 0x001f], header: 40 },
    want: rgb(paletted).map((v, i) => i % 3 === 1 ? widen6(v) : widen5(v)),
  },
  {
    name: "32bit-bitfields-v5.bmp",
    img: paletted,
    opts: { bpp: 32, masks: [0x00ff0000, 0x0000ff00, 0x000000ff, 0] },
    want: rgb(paletted),
  },
  {
    name: "32bit-bitfields-bgr-order-v4.bmp",
    img: paletted,
    opts: { bpp: 32, masks: [0x000000ff, 0x0000ff00, 0x00ff0000, 0], header: 108 },
    want: rgb(paletted),
  },
];

for (const c of bmpCases) {
  Deno.test(`BMP ${c.name} decodes to the pixels written`, async () => {
    const img = await decodeFile(c.name, writeBmp(c.img, c.opts));
    assert.deepEqual([img.width, img.height, img.format], [W, H, "bmp"]);
    assert.deepEqual(Array.from(img.data), c.want);
    assert.equal(img.hadAlpha, false);
  });
}

Deno.test("BMP 1-bit uses its two palette colours", async () => {
  const two = [[10, 20, 30], [240, 230, 220]];
  const src = image((i) => two[(i * 7) % 3 === 0 ? 1 : 0]);
  const img = await decodeFile("1bit.bmp", writeBmp(src, { bpp: 1, palette: two }));
  assert.deepEqual(Array.from(img.data), rgb(src));
});

Deno.test("BMP 32-bit alpha: from an alpha bit field; the fourth byte of BI_RGB is not alpha", async () => {
  // Alpha 0 on the first pixel, 255 elsewhere: with an alpha mask pixel 0 becomes the white background.
  const src = image((i) => PALETTE[COLORS[i]], (i) => i === 0 ? 0 : 255);
  const img = await decodeFile(
    "32bit-alpha.bmp",
    writeBmp(src, { bpp: 32, masks: [0xff0000, 0xff00, 0xff, 0xff000000] }),
  );
  assert.deepEqual(Array.from(img.data), [255, 255, 255, ...rgb(paletted).slice(3)]);
  assert.equal(img.hadAlpha, true);
  // BI_RGB with a "fake alpha" in the spare byte (bmpsuite's rgb32fakealpha): opaque, as Chromium shows it.
  const fake = await decodeFile("32bit-rgb-fake-alpha.bmp", writeBmp(src, { bpp: 32 }));
  assert.deepEqual(Array.from(fake.data), rgb(paletted));
  assert.equal(fake.hadAlpha, false);
});

Deno.test("BMP RLE8 and RLE4 streams decode; skipped pixels are transparent (white)", async () => {
  // 4×2 RLE8, bottom-up: row 0 (bottom) = a run of 1 × index 1, an absolute run of 3 [2, 3, 2]
  // (padded to 16 bits), end of line; row 1 (top) = 1 × index 3, end of bitmap (3 pixels undefined).
  const pal = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]];
  const rle8 = [1, 1, 0, 3, 2, 3, 2, 0, /* pad */ 0, 0, 1, 3, 0, 1];
  const bmp = (bits: 4 | 8, stream: number[]) => {
    const file = new Uint8Array(14 + 40 + 4 * pal.length + stream.length);
    const v = new DataView(file.buffer);
    file.set([0x42, 0x4d]);
    v.setUint32(2, file.length, true);
    v.setUint32(10, 14 + 40 + 16, true);
    v.setUint32(14, 40, true);
    v.setInt32(18, 4, true);
    v.setInt32(22, 2, true);
    v.setUint16(26, 1, true);
    v.setUint16(28, bits, true);
    v.setUint32(30, bits === 8 ? 1 : 2, true);
    v.setUint32(46, pal.length, true);
    pal.forEach((c, i) => file.set([c[2], c[1], c[0], 0], 54 + 4 * i));
    file.set(stream, 70);
    return file;
  };
  const R = [255, 0, 0], G = [0, 255, 0], B = [0, 0, 255], WH = [255, 255, 255];
  const img8 = await decodeFile("rle8.bmp", bmp(8, rle8));
  assert.deepEqual(Array.from(img8.data), [...B, ...WH, ...WH, ...WH, ...R, ...G, ...B, ...G]);
  assert.equal(img8.hadAlpha, true);
  // RLE4: row 0 = a run of 4 alternating (1, 2); row 1 = absolute 3 pixels [3, 1, 2], end of line,
  // end of bitmap (the last pixel undefined).
  const rle4 = [4, 0x12, 0, 0, 0, 3, 0x31, 0x20, 0, 0, 0, 1];
  const img4 = await decodeFile("rle4.bmp", bmp(4, rle4));
  assert.deepEqual(Array.from(img4.data), [...B, ...R, ...G, ...WH, ...R, ...G, ...R, ...G]);
});

Deno.test("ICO: the largest entry is decoded; 32-bit alpha, AND mask for lower depths, PNG inside", async () => {
  const small = { width: 1, height: 1, data: new Uint8Array([1, 2, 3, 255]) };
  const src = image((i) => PALETTE[COLORS[i]], (i) => i === 1 ? 0 : 255);
  const dib32 = writeBmp(src, { bpp: 32, dibOnly: true, icoMask: true });
  const dib8 = writeBmp(src, { bpp: 8, palette: PALETTE, dibOnly: true, icoMask: true });
  const tiny = writeBmp(small, { bpp: 24, dibOnly: true, icoMask: true });
  const want = rgb(paletted);
  want.splice(3, 3, 255, 255, 255);
  for (const [name, dib, bpp] of [["32", dib32, 32], ["8", dib8, 8]] as const) {
    const ico = writeIco([{ width: 1, height: 1, bpp: 24, bytes: tiny }, {
      width: W,
      height: H,
      bpp,
      bytes: dib,
    }]);
    const img = await decodeFile(`icon${name}.ico`, ico);
    assert.deepEqual([img.width, img.height, img.format], [W, H, "ico"]);
    assert.deepEqual(Array.from(img.data), want, `${bpp}-bit entry`);
  }
  const png = await sharp(Buffer.from(rgb(paletted)), { raw: { width: W, height: H, channels: 3 } }).png()
    .toBuffer();
  const img = await decodeFile("png-inside.ico", writeIco([{ width: W, height: H, bpp: 32, bytes: png }]));
  assert.deepEqual([img.format, ...Array.from(img.data)], ["ico", ...rgb(paletted)]);
});

Deno.test("Netpbm P1–P6 decode, with comments, 16-bit maxval and scaling", async () => {
  const gray = image((i) => [i * 17, i * 17, i * 17]);
  for (const kind of [2, 5] as const) {
    const img = await decodeFile(`gray.p${kind}.pgm`, writePnm(gray, kind));
    assert.deepEqual(Array.from(img.data), rgb(gray), `P${kind}`);
  }
  for (const kind of [3, 6] as const) {
    const img = await decodeFile(`rgb.p${kind}.ppm`, writePnm(paletted, kind));
    assert.deepEqual(Array.from(img.data), rgb(paletted), `P${kind}`);
  }
  const deep = await decodeFile("rgb16.ppm", writePnm(paletted, 6, 65535));
  assert.deepEqual(Array.from(deep.data), rgb(paletted));
  assert.equal(deep.sourceBitDepth, 16);
  const seven = await decodeFile("maxval7.pgm", writePnm(gray, 2, 7));
  assert.deepEqual(
    Array.from(seven.data),
    rgb(gray).map((v) => Math.round(Math.round(v * 7 / 255) * 255 / 7)),
  );
  const bw = image((i) => COLORS[i] === 1 ? [255, 255, 255] : [0, 0, 0]);
  for (const kind of [1, 4] as const) {
    const img = await decodeFile(`bw.p${kind}.pbm`, writePnm(bw, kind));
    assert.deepEqual(Array.from(img.data), rgb(bw), `P${kind}`);
  }
});

const bad: { name: string; bytes: () => Uint8Array; kind: string }[] = [
  { name: "header-only.bmp", bytes: () => writeBmp(paletted, { bpp: 24 }).slice(0, 30), kind: "truncated" },
  { name: "half-pixels.bmp", bytes: () => writeBmp(paletted, { bpp: 24 }).slice(0, 70), kind: "truncated" },
  {
    name: "huge.bmp",
    bytes: () => {
      const b = writeBmp(paletted, { bpp: 24 });
      new DataView(b.buffer).setInt32(18, 200_000, true);
      new DataView(b.buffer).setInt32(22, 100_000, true);
      return b;
    },
    kind: "too_many_pixels",
  },
  {
    name: "bpp7.bmp",
    bytes: () => {
      const b = writeBmp(paletted, { bpp: 24 });
      new DataView(b.buffer).setUint16(28, 7, true);
      return b;
    },
    kind: "corrupt",
  },
  { name: "short.ppm", bytes: () => writePnm(paletted, 6).slice(0, 40), kind: "truncated" },
  { name: "words.ppm", bytes: () => new TextEncoder().encode("P3\n2 x\n255\n"), kind: "corrupt" },
  { name: "empty-dir.ico", bytes: () => new Uint8Array([0, 0, 1, 0, 0, 0]), kind: "corrupt" },
];
for (const c of bad) {
  Deno.test(`${c.name} is a ${c.kind} error naming the file`, async () => {
    const path = join(dir, c.name);
    await Deno.writeFile(path, c.bytes());
    await assert.rejects(decodeImage(path), (e: unknown) => {
      assert.ok(e instanceof ImageDecodeError, String(e));
      assert.equal(e.kind, c.kind, e.message);
      assert.ok(e.message.startsWith(`${path}: ${c.kind}: `), e.message);
      return true;
    });
  });
}

Deno.test("BMP pixel limit is checked from the header, before decoding", async () => {
  await assert.rejects(
    decodeBytes(writeBmp(paletted, { bpp: 24 }), { maxPixels: 14 }),
    (e: unknown) => e instanceof ImageDecodeError && e.kind === "too_many_pixels",
  );
});
