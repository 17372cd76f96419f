/**
 * Inputs the benchmarks share.
 *
 * @module
 */
import sharp from "sharp";
import { decodeBytes, type RgbImage } from "../lib/core/image.ts";

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
