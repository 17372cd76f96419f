/**
 * Image core: decode any image file into one representation, 8-bit sRGB pixels, with a stated
 * policy for every way files differ. All heuristics read this representation.
 *
 * Decoding policy (the same for every entry point):
 * - Formats: JPEG, PNG (1–16-bit, gray, palette, alpha), WebP, AVIF/HEIF, GIF (first frame only),
 *   TIFF (first page), SVG (rasterised at its own size) — whatever sharp/libvips decode; and BMP
 *   (1–32-bit, RLE, bit fields, as browsers read it), ICO/CUR (the largest image) and Netpbm
 *   PBM/PGM/PPM, which `extra_formats.ts` decodes.
 * - EXIF orientation is applied, so `width`/`height` are those of the upright image.
 * - Alpha is composited onto an opaque background, white (`#ffffff`) unless `background` is set.
 * - 16-bit samples become 8-bit by keeping the high byte (`v >> 8`), as libvips casts them.
 * - An embedded ICC profile is honoured: pixels are converted from it to sRGB. Images without a
 *   profile are taken to be sRGB already; CMYK without a profile uses libvips' built-in CMYK profile.
 * - Gray and palette images are expanded to three equal RGB channels.
 * - A file with more than `maxPixels` pixels (width × height from its header, default
 *   {@link DEFAULT_MAX_PIXELS}) is refused before any pixel is decoded: a decompression bomb costs
 *   nothing.
 * - Truncated or corrupt data is an error, never a partly grey image.
 *
 * @module
 */
import sharp, { type Metadata } from "sharp";
import { decodeBmp, decodeIco, decodePnm, SimpleFormatError, sniffSimpleFormat } from "./extra_formats.ts";
import { WinnowError } from "./errors.ts";

/** Default pixel limit: 100 megapixels (e.g. 10000 × 10000), far above any generated image. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** Default background for alpha flattening. */
export const DEFAULT_BACKGROUND = "#ffffff";

/** An upright 8-bit sRGB image, pixels interleaved `R, G, B` in row-major order. */
export interface RgbImage {
  width: number;
  height: number;
  /** `width * height * 3` bytes. */
  data: Uint8Array;
}

/** What the decoder found in the file, beside the pixels. */
export interface DecodedImage extends RgbImage {
  /** File the image came from (`"<bytes>"` when decoded from memory). */
  path: string;
  /**
   * Container format as sharp names it: `jpeg`, `png`, `webp`, `heif`, `gif`, `tiff`, `svg`; or
   * `bmp`, `ico`, `pnm` for the formats decoded here.
   */
  format: string;
  /** Bits per sample in the file (8 or 16, 1/2/4 for packed PNG). */
  sourceBitDepth: number;
  /** True when the file had an alpha channel that was flattened. */
  hadAlpha: boolean;
  /** EXIF orientation tag 1–8 that was applied (1 when none). */
  orientation: number;
  /** True when an embedded ICC profile was used to convert to sRGB. */
  hadIccProfile: boolean;
  /** Colour space of the file as libvips names it (`srgb`, `b-w`, `cmyk`, `rgb16`, …). */
  sourceSpace: string;
}

/** Why a file could not be decoded. */
export type DecodeErrorKind =
  | "not_found"
  | "broken_link"
  | "not_a_file"
  | "unreadable"
  | "empty"
  | "not_an_image"
  | "truncated"
  | "too_many_pixels"
  | "corrupt";

/**
 * A file that is not a decodable image. `message` always names the file and the problem, e.g.
 * `"photo.jpg: truncated: the file ends before the image data does"`.
 */
export class ImageDecodeError extends WinnowError {
  constructor(
    /** File that failed. */
    readonly path: string,
    /** What kind of failure, for counting. */
    readonly kind: DecodeErrorKind,
    detail: string,
  ) {
    super(`${path}: ${kind}: ${detail}`);
  }
}

/** Options of {@link decodeImage}. */
export interface DecodeOptions {
  /** Refuse images with more pixels than this. Default {@link DEFAULT_MAX_PIXELS}. */
  maxPixels?: number;
  /** Background that alpha is flattened onto, a CSS colour. Default `#ffffff`. */
  background?: string;
  /** Name used in errors when decoding bytes from memory. Default `"<bytes>"`. */
  name?: string;
}

/**
 * The decode error a decoder's message means. libvips keeps one error buffer per process, and sharp
 * hands over all of it, so under concurrent decoding another image's line can come first: every
 * line is searched, in the order of the kinds below, and the first line is shown only for `corrupt`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifyDecodeError } from "./image.ts";
 * const m = "VipsJpeg: Corrupt JPEG data: 1 extraneous bytes before marker 0xd9\nVipsJpeg: premature end of JPEG image";
 * assert.equal(classifyDecodeError("a.jpg", m, 1e8).kind, "truncated");
 * assert.equal(classifyDecodeError("a.jpg", "Input file has corrupt header: ", 1e8).message, "a.jpg: corrupt: the header is corrupt");
 * ```
 */
export function classifyDecodeError(path: string, message: string, maxPixels: number): ImageDecodeError {
  const lines = message.split("\n").map((l) =>
    l.replace(/^Input (buffer|file) has corrupt header:\s*/, "").trim()
  )
    .filter(Boolean);
  const line = (re: RegExp) => lines.find((l) => re.test(l));
  const m = lines[0] ?? "the header is corrupt";
  if (line(/exceeds pixel limit/i)) {
    return new ImageDecodeError(
      path,
      "too_many_pixels",
      `the image has more than ${maxPixels} pixels (the limit; raise it with maxPixels / --max-pixels)`,
    );
  }
  const large = line(/maximum supported image dimension|image too (large|wide|big)/i);
  if (large) {
    return new ImageDecodeError(path, "too_many_pixels", `the decoder refuses a size this large (${large})`);
  }
  if (line(/unsupported image format|bad seek|not a known file format/i)) {
    return new ImageDecodeError(path, "not_an_image", "the content is not a known image format");
  }
  const short = line(
    /premature end|truncated|unexpected end|not enough data|read error|end of (file|stream)/i,
  );
  if (short) {
    return new ImageDecodeError(path, "truncated", `the file ends before the image data does (${short})`);
  }
  return new ImageDecodeError(path, "corrupt", m);
}

/**
 * Decodes image bytes into an upright 8-bit sRGB image, following the module's policy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeBytes } from "./image.ts";
 * import sharp from "sharp";
 * const png = await sharp({ create: { width: 2, height: 1, channels: 3, background: "#ff0000" } }).png().toBuffer();
 * const img = await decodeBytes(png);
 * assert.deepEqual([img.width, img.height, img.data[0]], [2, 1, 255]);
 * ```
 */
export async function decodeBytes(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const path = options.name ?? "<bytes>";
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length === 0) throw new ImageDecodeError(path, "empty", "the file is empty (0 bytes)");
  const simple = sniffSimpleFormat(bytes);
  if (simple) return await decodeSimple(bytes, simple, path, maxPixels, options);
  const input = { limitInputPixels: maxPixels, failOn: "error" as const, pages: 1, page: 0 };
  // A plain JPEG (8-bit YCbCr, no EXIF, no ICC profile) says all that sharp's metadata() would in
  // its header: read there, it saves a second pass of libvips over the file per image.
  let meta: Metadata | undefined = plainJpegMetadata(bytes);
  try {
    meta ??= await sharp(bytes, input).metadata();
  } catch (e) {
    // libspng refuses a PNG header of 2^31 × 2^31 as just "corrupt header": say what it is.
    if (pngHeaderPixels(bytes) > maxPixels) throw classifyDecodeError(path, "exceeds pixel limit", maxPixels);
    throw classifyDecodeError(path, (e as Error).message, maxPixels);
  }
  if ((meta.width ?? 0) * (meta.pageHeight ?? meta.height ?? 0) > maxPixels) {
    throw classifyDecodeError(path, "exceeds pixel limit", maxPixels);
  }
  try {
    const { data, info } = await sharp(bytes, input)
      .autoOrient()
      .flatten({ background: options.background ?? DEFAULT_BACKGROUND })
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) {
      throw new ImageDecodeError(path, "corrupt", `decoder gave ${info.channels} channels, expected 3`);
    }
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      path,
      format: meta.format ?? "unknown",
      sourceBitDepth: bitDepth(meta),
      hadAlpha: meta.hasAlpha ?? false,
      orientation: meta.orientation ?? 1,
      hadIccProfile: meta.icc !== undefined,
      sourceSpace: meta.space ?? "unknown",
    };
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    throw classifyDecodeError(path, (e as Error).message, maxPixels);
  }
}

/** BMP, ICO and Netpbm: decoded to RGBA here, then flattened by sharp like every other image. */
async function decodeSimple(
  bytes: Uint8Array,
  format: "bmp" | "ico" | "pnm",
  path: string,
  maxPixels: number,
  options: DecodeOptions,
): Promise<DecodedImage> {
  let px;
  try {
    px = format === "bmp"
      ? decodeBmp(bytes, maxPixels)
      : format === "ico"
      ? decodeIco(bytes, maxPixels)
      : decodePnm(bytes, maxPixels);
  } catch (e) {
    if (e instanceof SimpleFormatError) throw new ImageDecodeError(path, e.kind, `${format}: ${e.message}`);
    throw e;
  }
  if (px instanceof Uint8Array) {
    // A PNG inside an icon.
    if (sniffSimpleFormat(px)) throw new ImageDecodeError(path, "corrupt", "ico: an icon inside an icon");
    return { ...await decodeBytes(px, { ...options, name: path }), format };
  }
  const { data } = await sharp(px.data, {
    raw: { width: px.width, height: px.height, channels: 4 },
    limitInputPixels: maxPixels,
  })
    .flatten({ background: options.background ?? DEFAULT_BACKGROUND })
    .raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true });
  return {
    width: px.width,
    height: px.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    path,
    format,
    sourceBitDepth: px.bitDepth,
    hadAlpha: px.hasAlpha,
    orientation: 1,
    hadIccProfile: false,
    sourceSpace: "srgb",
  };
}

/**
 * What sharp's `metadata()` gives for a plain JPEG, read from its markers: 8-bit samples, three
 * components (`srgb`), a baseline, extended or progressive Huffman frame, no EXIF (so orientation
 * 1) and no ICC profile. `undefined` for anything else, which sharp then reads (grayscale or CMYK,
 * EXIF, ICC, 12-bit, lossless or arithmetic coding, a malformed marker), so every field is the one
 * libvips reports (`tests/image_test.ts` compares them).
 */
function plainJpegMetadata(b: Uint8Array): Metadata | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  const starts = (at: number, text: string) => {
    for (let k = 0; k < text.length; k++) if (b[at + k] !== text.charCodeAt(k)) return false;
    return true;
  };
  let i = 2, width = 0, height = 0;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return undefined;
    const m = b[i + 1];
    if (m === 0xff) {
      i++; // fill byte
      continue;
    }
    if (m === 0xda) break; // start of scan: the header is over
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd8)) return undefined;
    const len = (b[i + 2] << 8) | b[i + 3], at = i + 4;
    if (len < 2 || i + 2 + len > b.length) return undefined;
    if (m === 0xe1 && starts(at, "Exif\0")) return undefined;
    if (m === 0xe2 && starts(at, "ICC_PROFILE\0")) return undefined;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      // A frame header: only one, Huffman baseline / extended / progressive, 8-bit, 3 components.
      if (width || m > 0xc2 || len < 8 || b[at] !== 8 || b[at + 5] !== 3) return undefined;
      height = (b[at + 1] << 8) | b[at + 2];
      width = (b[at + 3] << 8) | b[at + 4];
      if (!width || !height) return undefined;
    }
    i += 2 + len;
  }
  if (!width || b[i] !== 0xff || b[i + 1] !== 0xda) return undefined;
  return {
    format: "jpeg",
    width,
    height,
    space: "srgb",
    channels: 3,
    depth: "uchar",
    hasAlpha: false,
  } as Metadata;
}

/** Width × height from a PNG's IHDR chunk, or 0 when `bytes` does not start like a PNG. */
function pngHeaderPixels(b: Uint8Array): number {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (
    b.length < 24 || sig.some((x, i) => b[i] !== x) || String.fromCharCode(...b.subarray(12, 16)) !== "IHDR"
  ) {
    return 0;
  }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return v.getUint32(16) * v.getUint32(20);
}

function bitDepth(meta: Metadata): number {
  if (meta.bitsPerSample) return meta.bitsPerSample;
  switch (meta.depth) {
    case "ushort":
    case "short":
      return 16;
    case "uint":
    case "int":
    case "float":
      return 32;
    case "double":
      return 64;
    default:
      return 8;
  }
}

/**
 * Reads and decodes an image file. Every failure is an {@link ImageDecodeError} naming the file.
 *
 * @example
 * ```ts ignore
 * import { decodeImage } from "./image.ts";
 * const img = await decodeImage("photo.jpg");
 * console.log(`${img.width}×${img.height}, ${img.format}`);
 * ```
 */
export async function decodeImage(path: string, options: DecodeOptions = {}): Promise<DecodedImage> {
  return await decodeBytes(await readImageFile(path), { ...options, name: path });
}

/**
 * Reads a file's bytes for decoding; every failure is an {@link ImageDecodeError} of a kind that
 * says why: `broken_link` (a symbolic link to nothing), `not_found` (gone, e.g. deleted after the
 * folder was listed), `not_a_file` (a folder, pipe, socket or device: never read, so a FIFO
 * cannot hang the run), `unreadable` (permissions, I/O errors).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readImageFile } from "./image.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.symlinkSync(`${dir}/missing.png`, `${dir}/link.png`);
 * await assert.rejects(readImageFile(`${dir}/link.png`), /broken_link/);
 * ```
 */
export async function readImageFile(path: string): Promise<Uint8Array> {
  // Synchronous stat and read (both file-type checks stay before any byte is read): inside the
  // decode + pure-suite loop on a busy machine (load 10) they took 0.03 and 0.3 ms (median) of wall
  // time, while the awaited ones waited 3.0 and 2.2 ms on average for Deno's blocking-task pool.
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      if (path.includes("\uFFFD")) {
        throw new ImageDecodeError(
          path,
          "unreadable",
          "the file name is not valid UTF-8 (shown here with �), and Deno can only open UTF-8 paths: rename the file",
        );
      }
      const link = await Deno.lstat(path).catch(() => null);
      if (link?.isSymlink) {
        const target = await Deno.readLink(path).catch(() => "?");
        throw new ImageDecodeError(path, "broken_link", `a symbolic link to ${target}, which does not exist`);
      }
      throw new ImageDecodeError(path, "not_found", "no such file (removed after it was listed?)");
    }
    throw new ImageDecodeError(path, "unreadable", `cannot read: ${(e as Error).message}`);
  }
  if (!st.isFile) {
    const what = st.isDirectory
      ? "a folder"
      : st.isFifo
      ? "a named pipe"
      : st.isSocket
      ? "a socket"
      : "a device";
    throw new ImageDecodeError(path, "not_a_file", `is ${what}, not a regular file`);
  }
  try {
    return Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ImageDecodeError(path, "not_found", "no such file (removed while being read)");
    }
    throw new ImageDecodeError(path, "unreadable", `cannot read: ${(e as Error).message}`);
  }
}

/**
 * OpenCV's 8-bit luma (`cv2.COLOR_RGB2GRAY`): `Y = (9798 R + 19235 G + 3735 B + 16384) >> 15`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toGray } from "./image.ts";
 * const gray = toGray({ width: 1, height: 1, data: new Uint8Array([255, 0, 0]) });
 * assert.deepEqual(gray[0], 76);
 * ```
 */
export function toGray(img: RgbImage): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  const d = img.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[i] = (9798 * d[j] + 19235 * d[j + 1] + 3735 * d[j + 2] + 16384) >> 15;
  }
  return out;
}
