/**
 * Image bytes for the labeling page: files a browser shows natively (JPEG, PNG, GIF, WebP, found
 * by their first bytes, not their name) are sent as they are; anything else (TIFF, HEIC, AVIF,
 * SVG, …) is decoded with {@link decodeImage} and re-encoded as JPEG, so the page never runs a
 * file's own content (an SVG's scripts). Face crops are cut on the fly from the decoded upright
 * image, with a margin, small faces enlarged with nearest-neighbour as in the face rubric.
 *
 * @module
 */
import sharp from "sharp";
import { type DecodedImage, decodeImage } from "../../core/image.ts";
import type { FaceBox } from "./store.ts";

/** Bytes and their content type. */
export interface Media {
  bytes: Uint8Array;
  type: string;
}

/**
 * The browser-safe content type of image bytes from their signature, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sniffImageType } from "./media.ts";
 * assert.equal(sniffImageType(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])), "image/jpeg");
 * assert.equal(sniffImageType(new TextEncoder().encode("<svg>")), undefined);
 * ```
 */
export function sniffImageType(b: Uint8Array): string | undefined {
  const ascii = (o: number, s: string) => [...s].every((c, i) => b[o + i] === c.charCodeAt(0));
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b[0] === 0x89 && ascii(1, "PNG\r\n\x1a\n")) return "image/png";
  if (ascii(0, "GIF87a") || ascii(0, "GIF89a")) return "image/gif";
  if (ascii(0, "RIFF") && ascii(8, "WEBP")) return "image/webp";
  return undefined;
}

class Lru<V> {
  #map = new Map<string, V>();
  constructor(readonly size: number) {}
  get(k: string): V | undefined {
    const v = this.#map.get(k);
    if (v !== undefined) {
      this.#map.delete(k);
      this.#map.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.#map.delete(k);
    this.#map.set(k, v);
    while (this.#map.size > this.size) this.#map.delete(this.#map.keys().next().value!);
  }
}

/** Longest side of a face crop sent to the page, in pixels. */
export const CROP_SIDE = 192;

/** Serves images and face crops with small caches (decoded images, encoded crops, re-encodes). */
export class MediaCache {
  #decoded = new Lru<Promise<DecodedImage>>(6);
  #encoded = new Lru<Promise<Media>>(32);
  #crops = new Lru<Promise<Media>>(1024);

  /**
   * The bytes to send for an image file.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import sharp from "sharp";
   * import { MediaCache } from "./media.ts";
   * const dir = await Deno.makeTempDir();
   * await sharp({ create: { width: 8, height: 8, channels: 3, background: "#f00" } }).tiff().toFile(`${dir}/a.tif`);
   * const m = await new MediaCache().image(`${dir}/a.tif`);
   * assert.equal(m.type, "image/jpeg"); // TIFF re-encoded
   * ```
   */
  async image(path: string): Promise<Media> {
    const bytes = await Deno.readFile(path);
    const type = sniffImageType(bytes);
    if (type) return { bytes, type };
    let p = this.#encoded.get(path);
    if (!p) {
      p = this.#decode(path).then(async (img) => ({
        bytes: new Uint8Array(
          await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
            .jpeg({ quality: 92 }).toBuffer(),
        ),
        type: "image/jpeg",
      }));
      this.#encoded.set(path, p);
    }
    return await p;
  }

  /**
   * A face crop as JPEG: the box with a margin of `margin` × its size on each side (clipped to the
   * image), scaled so its longer side is {@link CROP_SIDE} px (nearest-neighbour when enlarging).
   */
  crop(path: string, box: FaceBox, margin = 0.25): Promise<Media> {
    const key = `${path}#${box.x},${box.y},${box.width},${box.height}#${margin}`;
    let p = this.#crops.get(key);
    if (!p) {
      p = this.#decode(path).then(async (img) => {
        const left = Math.max(0, Math.floor(box.x - margin * box.width));
        const top = Math.max(0, Math.floor(box.y - margin * box.height));
        const right = Math.min(img.width, Math.ceil(box.x + (1 + margin) * box.width));
        const bottom = Math.min(img.height, Math.ceil(box.y + (1 + margin) * box.height));
        if (right - left < 1 || bottom - top < 1) throw new RangeError(`face box outside the image: ${key}`);
        const w = right - left, h = bottom - top;
        const scale = CROP_SIDE / Math.max(w, h);
        const out = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
          .extract({ left, top, width: w, height: h })
          .resize(Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale)), {
            kernel: scale > 1 ? "nearest" : "lanczos3",
          })
          .jpeg({ quality: 90 })
          .toBuffer();
        return { bytes: new Uint8Array(out), type: "image/jpeg" };
      });
      this.#crops.set(key, p);
    }
    return p;
  }

  #decode(path: string): Promise<DecodedImage> {
    let p = this.#decoded.get(path);
    if (!p) {
      p = decodeImage(path);
      this.#decoded.set(path, p);
    }
    return p;
  }
}
