import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { decodeBytes, decodeImage, ImageDecodeError, toGray } from "../lib/core/image.ts";
import { quadrants, RGB16_SAMPLES, writeBadInputs } from "./fixtures.ts";

const dir = await Deno.makeTempDir({ prefix: "winnow-image-" });
const fixtures = await writeBadInputs(dir);
const px = (img: { width: number; data: Uint8Array }, x: number, y: number) =>
  Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
const near = (got: number[], want: number[], tol: number) =>
  got.every((v, i) => Math.abs(v - want[i]) <= tol);

for (const fx of fixtures.filter((f) => f.errorKind)) {
  Deno.test(`${fx.name} fails with a ${fx.errorKind} error that names the file`, async () => {
    const path = join(dir, fx.name);
    await assert.rejects(decodeImage(path), (e: unknown) => {
      assert.ok(e instanceof ImageDecodeError, `got ${e}`);
      assert.equal(e.kind, fx.errorKind);
      assert.equal(e.path, path);
      assert.ok(e.message.startsWith(`${path}: ${fx.errorKind}: `), e.message);
      return true;
    });
  });
}

for (const fx of fixtures.filter((f) => !f.errorKind)) {
  Deno.test(`${fx.name} decodes to upright ${fx.width}×${fx.height} RGB8`, async () => {
    const img = await decodeImage(join(dir, fx.name));
    assert.equal(img.width, fx.width);
    assert.equal(img.height, fx.height);
    assert.equal(img.data.length, fx.width! * fx.height! * 3);
  });
}

Deno.test("a missing file is a not_found error naming it", async () => {
  await assert.rejects(decodeImage(join(dir, "nope.png")), /nope\.png: not_found/);
});

Deno.test("16-bit samples keep their high byte", async () => {
  const img = await decodeImage(join(dir, "rgb16.png"));
  assert.deepEqual(Array.from(img.data), RGB16_SAMPLES.map((v) => v >> 8));
  assert.equal(img.sourceBitDepth, 16);
  const gray = await decodeImage(join(dir, "gray16.png"));
  assert.deepEqual(Array.from(gray.data), [2, 2, 2, 253, 253, 253]);
});

Deno.test("palette PNG expands to its palette colours", async () => {
  const img = await decodeImage(join(dir, "palette.png"));
  assert.deepEqual(Array.from(img.data), [1, 2, 3, 10, 20, 30, 200, 100, 50]);
});

Deno.test("alpha is flattened onto white by default, or onto the given background", async () => {
  // pixel 0: red fully transparent → background; pixel 1: black at alpha 128/255.
  const white = await decodeImage(join(dir, "rgba.png"));
  assert.deepEqual(px(white, 0, 0), [255, 255, 255]);
  assert.ok(near(px(white, 1, 0), [127, 127, 127], 1), `${px(white, 1, 0)}`);
  assert.equal(white.hadAlpha, true);
  const black = await decodeImage(join(dir, "rgba.png"), { background: "#000000" });
  assert.deepEqual(px(black, 0, 0), [0, 0, 0]);
  assert.deepEqual(px(black, 1, 0), [0, 0, 0]);
});

Deno.test("EXIF orientation 6 is applied: same pixels as an explicit 90° rotation", async () => {
  const img = await decodeImage(join(dir, "exif_orientation6.jpg"));
  assert.equal(img.orientation, 6);
  const q = quadrants();
  const { data } = await sharp(q, { raw: { width: 64, height: 48, channels: 3 } }).rotate(90).raw()
    .toBuffer({ resolveWithObject: true });
  const want = { width: 48, data: new Uint8Array(data) };
  for (const [x, y] of [[12, 16], [36, 16], [12, 48], [36, 48]]) {
    assert.ok(near(px(img, x, y), px(want, x, y), 12), `at ${x},${y}: ${px(img, x, y)} vs ${px(want, x, y)}`);
  }
});

Deno.test("CMYK JPEG converts to sRGB with the colours kept", async () => {
  const img = await decodeImage(join(dir, "cmyk.jpg"));
  assert.equal(img.sourceSpace, "cmyk");
  const [r, g, b] = px(img, 10, 10); // red quadrant
  assert.ok(r > 180 && g < 90 && b < 90, `red came out as ${[r, g, b]}`);
});

Deno.test("an embedded ICC profile is converted to sRGB", async () => {
  const src = await sharp({
    create: { width: 4, height: 4, channels: 3, background: { r: 200, g: 50, b: 50 } },
  })
    .withIccProfile("p3").png().toBuffer();
  const img = await decodeBytes(src);
  assert.equal(img.hadIccProfile, true);
  // The file stores Display-P3 numbers; converted back to sRGB they are the colour we started from.
  assert.ok(near(px(img, 0, 0), [200, 50, 50], 3), `${px(img, 0, 0)}`);
  const raw = await sharp(src).keepIccProfile().raw().toBuffer();
  assert.ok(!near(Array.from(raw.subarray(0, 3)), [200, 50, 50], 3), "fixture must store other numbers");
});

Deno.test("GIF: only the first frame is decoded", async () => {
  const img = await decodeImage(join(dir, "animated.gif"));
  assert.equal(img.height, 48);
  assert.ok(near(px(img, 40, 40), [255, 255, 255], 20), `${px(img, 40, 40)}`);
});

Deno.test("WebP lossless, TIFF give the exact pixels; AVIF close", async () => {
  const q = quadrants();
  for (const name of ["lossless.webp", "image.tiff"]) {
    const img = await decodeImage(join(dir, name));
    assert.deepEqual(img.data, q, name);
  }
  const avif = await decodeImage(join(dir, "image.avif"));
  assert.ok(near(px(avif, 8, 8), [255, 0, 0], 40), `${px(avif, 8, 8)}`);
});

Deno.test("the pixel limit is an option and is checked before decoding", async () => {
  await assert.rejects(decodeImage(join(dir, "plain.jpg"), { maxPixels: 64 * 48 - 1 }), /too_many_pixels/);
  const ok = await decodeImage(join(dir, "plain.jpg"), { maxPixels: 64 * 48 });
  assert.equal(ok.width, 64);
});

Deno.test("toGray is OpenCV's fixed-point luma", () => {
  const data = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 17, 99, 201]);
  const g = toGray({ width: 5, height: 1, data });
  const want = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [17, 99, 201]]
    .map(([r, gg, b]) => Math.floor((9798 * r + 19235 * gg + 3735 * b + 16384) / 32768));
  assert.deepEqual(Array.from(g), want);
  assert.deepEqual(Array.from(g).slice(0, 4), [76, 150, 29, 255]); // cv2.cvtColor values
});

Deno.test("a JPEG's reported format, depth, alpha, orientation, ICC and colour space are sharp's metadata, plain or not", async () => {
  const q = quadrants(), raw = { raw: { width: 64, height: 48, channels: 3 as const } };
  const plain = await sharp(q, raw).jpeg().toBuffer();
  const variants: Record<string, Uint8Array> = {
    baseline: await sharp(q, raw).jpeg({ quality: 90 }).toBuffer(),
    progressive: await sharp(q, raw).jpeg({ progressive: true }).toBuffer(),
    "4:4:4 + restart-free mozjpeg": await sharp(q, raw).jpeg({ chromaSubsampling: "4:4:4", mozjpeg: true })
      .toBuffer(),
    "exif orientation 3": await sharp(q, raw).jpeg().withMetadata({ orientation: 3 }).toBuffer(),
    "icc profile": await sharp(q, raw).jpeg().withIccProfile("p3").toBuffer(),
    "one component (b-w)": await sharp(q, raw).toColourspace("b-w").jpeg().toBuffer(),
    cmyk: await sharp(q, raw).toColourspace("cmyk").jpeg().toBuffer(),
    // A fill byte before a marker and a comment segment: still plain.
    "fill byte + comment": Uint8Array.from([
      ...plain.subarray(0, 2),
      0xff,
      ...[0xff, 0xfe, 0, 6, 0x68, 0x69, 0x21, 0x21],
      ...plain.subarray(2),
    ]),
  };
  for (const [name, bytes] of Object.entries(variants)) {
    const meta = await sharp(bytes).metadata();
    const img = await decodeBytes(bytes, { name });
    assert.deepEqual(
      [img.format, img.sourceBitDepth, img.hadAlpha, img.orientation, img.hadIccProfile, img.sourceSpace],
      [meta.format, 8, meta.hasAlpha, meta.orientation ?? 1, meta.icc !== undefined, meta.space],
      name,
    );
    assert.equal(meta.depth, "uchar", name);
  }
  // The pixel limit holds on the header path too.
  await assert.rejects(decodeBytes(variants.baseline, { maxPixels: 64 * 48 - 1 }), /too_many_pixels/);
});
