/**
 * Builds the folder of awkward and broken inputs that the image core and `score` must survive.
 * Files are made at test time (deterministically) so the repository holds no binary fixtures.
 */
import sharp from "sharp";
import { join } from "node:path";
import { encodePng } from "./png_encoder.ts";
import { REFERENCE_DIR } from "./golden.ts";

/** A fixture file and what decoding it must give. */
export interface Fixture {
  name: string;
  /** Error kind expected, or undefined when it must decode. */
  errorKind?: string;
  /** Size after orientation, when it decodes. */
  width?: number;
  height?: number;
}

/** Four 32×24 quadrants red, green, blue, white: orientation mistakes move them. */
export function quadrants(): Uint8Array {
  const w = 64, h = 48;
  const px = new Uint8Array(w * h * 3);
  const colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      px.set(colours[(y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1)], (y * w + x) * 3);
    }
  }
  return px;
}

/** 16-bit RGB samples whose high bytes are known. */
export const RGB16_SAMPLES = [0, 255, 256, 32767, 32768, 65535, 383, 65280, 1000];

/** Writes every fixture into `dir` and returns their descriptions. */
export async function writeBadInputs(dir: string): Promise<Fixture[]> {
  const q = quadrants();
  const raw = { raw: { width: 64, height: 48, channels: 3 as const } };
  const jpeg = await sharp(q, raw).jpeg({ quality: 95 }).toBuffer();
  const files: [Fixture, Uint8Array | Promise<Uint8Array>][] = [
    [{ name: "zero_bytes.png", errorKind: "empty" }, new Uint8Array(0)],
    [{ name: "truncated.jpg", errorKind: "truncated" }, jpeg.subarray(0, Math.floor(jpeg.length / 2))],
    [
      { name: "text_renamed.png", errorKind: "not_an_image" },
      new TextEncoder().encode("hello, I am not a PNG\n"),
    ],
    [
      { name: "bomb_100000x100000.png", errorKind: "too_many_pixels" },
      encodePng({ width: 100_000, height: 100_000, bitDepth: 8, colorType: 2, samples: [], encodedRows: 1 }),
    ],
    [{ name: "plain.jpg", width: 64, height: 48 }, jpeg],
    [
      { name: "rgb16.png", width: 3, height: 1 },
      encodePng({ width: 3, height: 1, bitDepth: 16, colorType: 2, samples: RGB16_SAMPLES }),
    ],
    [
      { name: "gray16.png", width: 2, height: 1 },
      encodePng({ width: 2, height: 1, bitDepth: 16, colorType: 0, samples: [513, 65000] }),
    ],
    [
      { name: "palette.png", width: 3, height: 1 },
      encodePng({
        width: 3,
        height: 1,
        bitDepth: 8,
        colorType: 3,
        samples: [2, 0, 1],
        palette: [10, 20, 30, 200, 100, 50, 1, 2, 3],
      }),
    ],
    [
      { name: "rgba.png", width: 2, height: 1 },
      encodePng({ width: 2, height: 1, bitDepth: 8, colorType: 6, samples: [255, 0, 0, 0, 0, 0, 0, 128] }),
    ],
    [
      { name: "cmyk.jpg", width: 64, height: 48 },
      sharp(q, raw).toColourspace("cmyk").jpeg({ quality: 95 }).toBuffer(),
    ],
    [
      { name: "exif_orientation6.jpg", width: 48, height: 64 },
      sharp(q, raw).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer(),
    ],
    [{ name: "lossless.webp", width: 64, height: 48 }, sharp(q, raw).webp({ lossless: true }).toBuffer()],
    [{ name: "image.avif", width: 64, height: 48 }, sharp(q, raw).avif({ quality: 90 }).toBuffer()],
    [{ name: "image.tiff", width: 64, height: 48 }, sharp(q, raw).tiff({ compression: "lzw" }).toBuffer()],
    [{ name: "animated.gif", width: 64, height: 48 }, animatedGif(q)],
    [{ name: "face.png", width: 640, height: 427 }, Deno.readFile(`${REFERENCE_DIR}images/facephoto1.png`)],
  ];
  const out: Fixture[] = [];
  for (const [fx, bytes] of files) {
    await Deno.writeFile(join(dir, fx.name), await bytes);
    out.push(fx);
  }
  return out;
}

/** A two-frame GIF: frame 1 the quadrants, frame 2 all black. */
async function animatedGif(q: Uint8Array): Promise<Uint8Array> {
  const both = new Uint8Array(q.length * 2);
  both.set(q, 0);
  return await sharp(both, { raw: { width: 64, height: 96, channels: 3, pageHeight: 48 } as never })
    .gif({ loop: 0, delay: [100, 100] })
    .toBuffer();
}
