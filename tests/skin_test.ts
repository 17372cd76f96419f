import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { ImageContext } from "../lib/heuristics/types.ts";
import { isSkin, skin, skinMask } from "../lib/heuristics/skin.ts";
import { scoreImage } from "../lib/score/score_image.ts";
import { defaultRules } from "../lib/score/rules.ts";
import { readResults } from "../lib/score/results.ts";
import { runCli } from "./cli.ts";

/** Reference YCrCb in floating point (ITU-R BT.601 as OpenCV documents it), rounded. */
function ycrcbFloat(r: number, g: number, b: number) {
  const y = 0.299 * r + 0.587 * g + 0.114 * b;
  return { cr: Math.round((r - y) * 0.713 + 128), cb: Math.round((b - y) * 0.564 + 128) };
}

Deno.test("isSkin agrees with the floating-point YCrCb rule away from the bounds", () => {
  let checked = 0;
  for (let r = 0; r < 256; r += 5) {
    for (let g = 0; g < 256; g += 5) {
      for (let b = 0; b < 256; b += 5) {
        const { cr, cb } = ycrcbFloat(r, g, b);
        const margin = Math.min(
          Math.abs(cr - 133),
          Math.abs(cr - 173),
          Math.abs(cb - 77),
          Math.abs(cb - 127),
        );
        if (margin < 2) continue; // fixed-point rounding may differ by one level at a bound
        const want = cr >= 133 && cr <= 173 && cb >= 77 && cb <= 127;
        assert.equal(isSkin(r, g, b), want, `rgb ${r},${g},${b}: cr ${cr} cb ${cb}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 100_000);
});

Deno.test("the branch-free skin mask equals isSkin on every pixel", () => {
  const n = 200_000;
  const data = new Uint8Array(n * 3);
  let seed = 7;
  for (let i = 0; i < data.length; i++) data[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  const mask = skinMask(new ImageContext({ width: n, height: 1, data }));
  let skinCount = 0;
  for (let i = 0; i < n; i++) {
    assert.equal(mask[i], isSkin(data[3 * i], data[3 * i + 1], data[3 * i + 2]) ? 1 : 0);
    skinCount += mask[i];
  }
  assert.ok(skinCount > 1000, "random pixels include skin tones");
});

/** 100×100: left half skin-coloured, right half blue. */
function halfSkin() {
  const data = new Uint8Array(100 * 100 * 3);
  for (let i = 0; i < 100 * 100; i++) data.set(i % 100 < 50 ? [224, 172, 140] : [20, 60, 200], i * 3);
  return { width: 100, height: 100, data };
}

Deno.test("skin in a region: a box over skin passes, a box over the background fails as missing_body_part", async () => {
  const rules = defaultRules([skin]);
  const onSkin = await scoreImage(halfSkin(), {
    heuristics: [skin],
    rules,
    image: { region: { x: 10, y: 10, width: 30, height: 80 } },
  });
  assert.equal(onSkin.values.skin_region_ratio, 1);
  assert.equal(onSkin.values.skin_region_px, 30 * 80);
  assert.equal(onSkin.values.skin_ratio, 0.5);
  assert.equal(onSkin.verdict?.kept, true);
  const offSkin = await scoreImage(halfSkin(), {
    heuristics: [skin],
    rules,
    image: { region: { x: 60, y: 0, width: 40, height: 100 } },
  });
  assert.equal(offSkin.values.skin_region_ratio, 0);
  assert.deepEqual(offSkin.verdict?.reasons, ["missing_body_part"]);
  const straddle = skin.compute(
    new ImageContext(halfSkin(), { region: { x: 40, y: 0, width: 20, height: 10 } }),
  );
  assert.equal(straddle.skin_region_ratio, 0.5);
});

Deno.test("skin in a mask: only masked pixels count; no region means empty region columns", () => {
  const mask = new Uint8Array(100 * 100);
  for (let i = 0; i < mask.length; i++) mask[i] = i % 100 >= 45 && i % 100 < 55 ? 255 : 0;
  const v = skin.compute(new ImageContext(halfSkin(), { mask }));
  assert.equal(v.skin_region_ratio, 0.5);
  assert.equal(v.skin_region_px, 1000);
  const none = skin.compute(new ImageContext(halfSkin()));
  assert.equal(none.skin_region_ratio, null);
  assert.equal(none.skin_region_px, null);
});

Deno.test("a region outside the image is an error that gives the box and the image size", () => {
  assert.throws(
    () => skin.compute(new ImageContext(halfSkin(), { region: { x: 200, y: 0, width: 10, height: 10 } })),
    /region 200,0,10,10 lies outside the 100×100 image/,
  );
});

Deno.test("score --masks DIR pairs each image with its mask by name (masks of another size are scaled)", async () => {
  const tmp = await Deno.makeTempDir();
  const imgs = join(tmp, "images"), masks = join(tmp, "masks");
  await Deno.mkdir(imgs);
  await Deno.mkdir(masks);
  const raw = { raw: { width: 100, height: 100, channels: 3 as const } };
  await sharp(halfSkin().data, raw).png().toFile(join(imgs, "a.png"));
  await sharp(halfSkin().data, raw).png().toFile(join(imgs, "b.png"));
  // a: mask over the left (skin) half, at half resolution; b: mask over the right half.
  const m = (left: boolean) => {
    const d = new Uint8Array(50 * 50);
    for (let i = 0; i < d.length; i++) d[i] = (i % 50 < 25) === left ? 255 : 0;
    return sharp(d, { raw: { width: 50, height: 50, channels: 1 } }).png();
  };
  await m(true).toFile(join(masks, "a.png"));
  await m(false).toFile(join(masks, "b.png"));
  const out = join(tmp, "skin.csv");
  const r = await runCli("score", [
    imgs,
    "--masks",
    masks,
    "--heuristics",
    "skin",
    "--thresholds",
    "defaults",
    "--out",
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const rows = await readResults(out);
  const a = rows.find((x) => String(x.path).endsWith("a.png"))!;
  const b = rows.find((x) => String(x.path).endsWith("b.png"))!;
  assert.equal(a.skin_region_ratio, 1);
  assert.equal(a.skin_region_px, 5000);
  assert.equal(a.kept, true);
  assert.equal(b.skin_region_ratio, 0);
  assert.equal(b.reject_reasons, "missing_body_part");
});
