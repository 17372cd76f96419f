/**
 * Inputs the benchmarks share.
 *
 * @module
 */
import sharp from "sharp";
import { join } from "node:path";
import { decodeBytes, type RgbImage } from "../lib/core/image.ts";
import { shippedPhotos } from "../lib/core/samples.ts";

/** `n` 1024² JPEGs (quality 90) cropped from the shipped photos into `dir`, no two identical. */
export async function benchJpegs(dir: string, n: number): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const photos = await shippedPhotos();
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = join(dir, `img${String(i).padStart(4, "0")}.jpg`);
    const grow = 1088 + 32 * (Math.floor(i / photos.length) % 8);
    await sharp(photos[i % photos.length]).resize(grow, grow, { fit: "cover" })
      .extract({ left: 32 * (i % 3), top: 16 * (i % 2), width: 1024, height: 1024 })
      .jpeg({ quality: 90 }).toFile(f);
    files.push(f);
  }
  return files;
}

/**
 * A `side`×`side` JPEG (quality 90) of a smooth picture with detail, as generated images are, and
 * its decoded pixels.
 */
export async function smoothJpeg(side = 1024): Promise<{ jpeg: Uint8Array; decoded: RgbImage }> {
  const raw = new Uint8Array(side * side * 3);
  for (let i = 0; i < side * side; i++) {
    const x = i % side, y = Math.floor(i / side);
    raw[i * 3] = (128 + 100 * Math.sin(x / 37) * Math.cos(y / 53)) | 0;
    raw[i * 3 + 1] = (x + y) >> 3;
    raw[i * 3 + 2] = ((x * y) >> 9) & 255;
  }
  const jpeg = new Uint8Array(
    await sharp(raw, { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 90 }).toBuffer(),
  );
  return { jpeg, decoded: await decodeBytes(jpeg) };
}
