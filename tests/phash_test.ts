import assert from "node:assert/strict";
import sharp from "sharp";
import { REFERENCE_DIR } from "./golden.ts";
import { decodeBytes, decodeImage, type RgbImage, toGray } from "../lib/core/image.ts";
import { groupNearDuplicates, hammingDistance, perceptualHash, phash } from "../lib/heuristics/phash.ts";
import { ImageContext } from "../lib/heuristics/types.ts";

const IMAGES = `${REFERENCE_DIR}images/`;
const PHOTOS = [1, 2, 3, 4, 5, 6].map((i) => `facephoto${i}.png`);

const hashOf = (img: RgbImage) => perceptualHash(toGray(img), img.width, img.height);

/** facephoto1 downscaled to 320 px wide and re-encoded as JPEG quality 70, made with sharp. */
async function resizedJpeg(): Promise<RgbImage> {
  const jpg = await sharp(`${IMAGES}facephoto1.png`).resize({ width: 320 }).jpeg({ quality: 70 }).toBuffer();
  return await decodeBytes(new Uint8Array(jpg.buffer, jpg.byteOffset, jpg.length));
}

Deno.test("phash: 16 lowercase hex characters, same image gives distance 0", async () => {
  const a = await decodeImage(`${IMAGES}facephoto1.png`);
  const b = await decodeImage(`${IMAGES}facephoto1.png`);
  const h = hashOf(a);
  assert.match(h, /^[0-9a-f]{16}$/);
  assert.equal(hammingDistance(h, hashOf(b)), 0);
  assert.equal(phash.compute(new ImageContext(a)).phash, h);
});

Deno.test("phash: a resized, re-encoded JPEG copy is within 8 bits", async () => {
  const orig = hashOf(await decodeImage(`${IMAGES}facephoto1.png`));
  const copy = await resizedJpeg();
  assert.equal(copy.width, 320);
  const d = hammingDistance(orig, hashOf(copy));
  console.log(`resized JPEG copy of facephoto1: distance ${d}`);
  assert.ok(d <= 8, `distance ${d}`);
});

Deno.test("phash: a brightness shift of +25 levels is within 8 bits", async () => {
  const img = await decodeImage(`${IMAGES}facephoto2.png`);
  const brighter = { ...img, data: img.data.map((v) => Math.min(255, v + 25)) };
  const d = hammingDistance(hashOf(img), hashOf(brighter));
  assert.ok(d <= 8, `distance ${d}`);
});

Deno.test("phash: different photos are more than 16 bits apart", async () => {
  const hashes = await Promise.all(PHOTOS.map(async (f) => hashOf(await decodeImage(IMAGES + f))));
  let min = 64;
  for (let i = 0; i < hashes.length; i++) {
    for (let j = i + 1; j < hashes.length; j++) {
      const d = hammingDistance(hashes[i], hashes[j]);
      min = Math.min(min, d);
      assert.ok(d > 16, `${PHOTOS[i]} vs ${PHOTOS[j]}: distance ${d}`);
    }
  }
  console.log(`smallest distance between different photos: ${min}`);
});

Deno.test("groupNearDuplicates: the resized copy joins its original, other photos stay apart", async () => {
  const items = await Promise.all(
    PHOTOS.map(async (f) => ({ path: f, hash: hashOf(await decodeImage(IMAGES + f)) })),
  );
  items.splice(3, 0, { path: "facephoto1_small.jpg", hash: hashOf(await resizedJpeg()) });
  const groups = groupNearDuplicates(items);
  assert.deepEqual(groups.map((g) => g.path), items.map((i) => i.path));
  const byPath = Object.fromEntries(groups.map((g) => [g.path, g]));
  assert.equal(byPath["facephoto1_small.jpg"].group, 0);
  assert.equal(byPath["facephoto1_small.jpg"].distance, hammingDistance(items[0].hash, items[3].hash));
  assert.equal(byPath["facephoto1.png"].group, 0);
  assert.equal(byPath["facephoto1.png"].distance, 0);
  groups.forEach((g, i) => {
    if (i !== 0 && i !== 3) assert.deepEqual([g.group, g.distance], [i, 0], g.path);
  });
});

Deno.test("groupNearDuplicates: groups are transitive and named by their first member", () => {
  const items = [
    { path: "x", hash: "0000000000000000" },
    { path: "far", hash: "ffffffffffffffff" },
    { path: "y", hash: "00000000000003ff" }, // 10 bits from x
    { path: "z", hash: "00000000000ffc00" }, // 10 from x, 20 from y
    { path: "w", hash: "00000000000fffff" }, // 10 from z, 10 from y, 20 from x
  ];
  const g = groupNearDuplicates(items, 10);
  assert.deepEqual(g.map((e) => e.group), [0, 1, 0, 0, 0]);
  assert.deepEqual(g.map((e) => e.distance), [0, 0, 10, 10, 20]);
  assert.deepEqual(groupNearDuplicates(items, 9).map((e) => e.group), [0, 1, 2, 3, 4]);
});

Deno.test("hammingDistance counts differing bits and refuses bad input", () => {
  assert.equal(hammingDistance("0000000000000000", "ffffffffffffffff"), 64);
  assert.equal(hammingDistance("8000000000000001", "0000000000000000"), 2);
  assert.equal(hammingDistance("a5a5a5a5a5a5a5a5", "5a5a5a5a5a5a5a5a"), 64);
  assert.throws(() => hammingDistance("00", "000"), RangeError);
  assert.throws(() => hammingDistance("zz", "00"), RangeError);
});
