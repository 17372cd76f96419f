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

Deno.test("nearDuplicateGroups: the connected components of pairs within the distance, largest first", async () => {
  const { nearDuplicateGroups } = await import("../lib/score/job.ts");
  // Random 64-bit hashes near a few centres, plus hashes of other lengths and rows without one.
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const hex = (bits: number[]) =>
    bits.map((_, i) => i % 4 === 0 ? bits.slice(i, i + 4) : null)
      .filter((b): b is number[] => b !== null).map((b) =>
        ((b[0] << 3) | (b[1] << 2) | (b[2] << 1) | b[3]).toString(16)
      )
      .join("");
  const centres = Array.from({ length: 5 }, () => Array.from({ length: 64 }, () => rnd() < 0.5 ? 1 : 0));
  const rows: { path: string; phash: string | null }[] = [];
  for (let i = 0; i < 300; i++) {
    const bits = centres[Math.floor(rnd() * 5)].map((b) => rnd() < 0.06 ? 1 - b : b);
    rows.push({ path: `img${String(Math.floor(rnd() * 1e6)).padStart(6, "0")}_${i}.png`, phash: hex(bits) });
  }
  rows.push({ path: "short_a.png", phash: "ffff" }, { path: "short_b.png", phash: "fffe" }, {
    path: "none.png",
    phash: null,
  });
  // The definition, computed here by breadth-first search over all pairs.
  const items = rows.filter((r) => r.phash).sort((a, b) => a.path < b.path ? -1 : 1);
  const dist = (a: string, b: string) => a.length !== b.length ? Infinity : hammingDistance(a, b);
  const seen = new Set<number>();
  const expected: { path: string; distance: number }[][] = [];
  items.forEach((_, start) => {
    if (seen.has(start)) return;
    const members = [start];
    seen.add(start);
    for (let k = 0; k < members.length; k++) {
      items.forEach((other, j) => {
        if (!seen.has(j) && dist(items[members[k]].phash!, other.phash!) <= 10) {
          seen.add(j);
          members.push(j);
        }
      });
    }
    members.sort((a, b) => a - b);
    const first = items[members[0]].phash!;
    if (members.length > 1) {
      expected.push(members.map((m) => ({ path: items[m].path, distance: dist(items[m].phash!, first) })));
    }
  });
  expected.sort((a, b) => b.length - a.length);
  const got = nearDuplicateGroups(rows, 10).map((g) =>
    g.map((e) => ({ path: e.path, distance: e.distance }))
  );
  assert.ok(expected.length >= 3 && expected.some((g) => g[0].path === "short_a.png"));
  assert.deepEqual(got, expected);
});
