/**
 * Decoders for the simple raster formats sharp/libvips do not read here: BMP (and the DIBs inside
 * ICO files), ICO/CUR, and Netpbm (PBM/PGM/PPM, plain and raw). Each returns 8-bit RGBA pixels
 * that `image.ts` then flattens like any other decoded image.
 *
 * BMP is read as browsers (Chromium, Firefox) read it:
 * - headers: OS/2 core (12 bytes), BITMAPINFOHEADER (40) and its V2/V3/V4/V5 extensions (52, 56,
 *   108, 124) and OS/2 2.x (16–64);
 * - 1/4/8-bit palette images (a short palette: missing entries are black), 16-bit (5-5-5 unless
 *   bit fields say otherwise), 24-bit BGR, 32-bit BGRX;
 * - `BI_RGB`, `BI_BITFIELDS`, `BI_ALPHABITFIELDS`, `BI_RLE8`, `BI_RLE4` (pixels an RLE stream
 *   skips are transparent);
 * - positive height = bottom-up rows, negative = top-down; rows padded to 4 bytes;
 * - bit-field channels narrower than 8 bits are widened by bit replication (5-bit 31 → 255);
 * - 32-bit `BI_RGB` has no alpha by the letter of the format: its fourth byte is ignored and the
 *   image is opaque (as Chromium renders bmpsuite's `rgb32fakealpha.bmp`, and as Pillow reads
 *   it); alpha comes only from an alpha bit field. In an ICO, a 32-bit image's fourth byte is
 *   its alpha unless every pixel's is zero; other depths take transparency from the AND mask.
 * - Known differences from Pillow: 5/6-bit channels are widened by bit replication (Pillow rounds
 *   down `v * 255 / 31`, so some values differ by 1), and pixels an RLE stream leaves undefined
 *   are transparent here (Pillow makes them palette entry 0).
 *
 * Every size read from a header is checked against the bytes present and against `maxPixels`
 * before any pixel buffer is allocated.
 *
 * @module
 */
import { WinnowError } from "./errors.ts";

/** Decoded pixels: `width * height * 4` bytes, `R, G, B, A`, top row first. */
export interface RgbaPixels {
  width: number;
  height: number;
  data: Uint8Array;
  /** Bits per pixel (BMP) or per sample (Netpbm) in the file. */
  bitDepth: number;
  /** True when some pixel is not fully opaque. */
  hasAlpha: boolean;
}

/** Why one of these files could not be decoded; `image.ts` turns it into an `ImageDecodeError`. */
export class SimpleFormatError extends WinnowError {
  constructor(readonly kind: "truncated" | "too_many_pixels" | "corrupt", message: string) {
    super(message);
  }
}

/** The formats this module reads, by their first bytes; `undefined` for any other content. */
export function sniffSimpleFormat(b: Uint8Array): "bmp" | "ico" | "pnm" | undefined {
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return "bmp";
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && (b[2] === 1 || b[2] === 2) && b[3] === 0) {
    return "ico";
  }
  if (b.length >= 2 && b[0] === 0x50 && b[1] >= 0x31 && b[1] <= 0x36) {
    // "P1".."P6" followed by whitespace or a comment.
    return b.length === 2 || /[\s#]/.test(String.fromCharCode(b[2])) ? "pnm" : undefined;
  }
  return undefined;
}

function checkPixels(width: number, height: number, maxPixels: number) {
  if (width <= 0 || height <= 0) throw new SimpleFormatError("corrupt", `invalid size ${width}×${height}`);
  if (width * height > maxPixels) {
    throw new SimpleFormatError(
      "too_many_pixels",
      `the image has more than ${maxPixels} pixels (the limit; raise it with maxPixels / --max-pixels)`,
    );
  }
}

const truncated = (what: string) =>
  new SimpleFormatError("truncated", `the file ends before the ${what} does`);

/**
 * Decodes a BMP file (with its 14-byte `BM` header).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeBmp } from "./extra_formats.ts";
 * // 1×1, 24-bit, bottom-up, one blue pixel (B, G, R + 1 padding byte).
 * const f = new Uint8Array(58);
 * const v = new DataView(f.buffer);
 * f.set([0x42, 0x4d]); v.setUint32(2, 58, true); v.setUint32(10, 54, true);
 * v.setUint32(14, 40, true); v.setInt32(18, 1, true); v.setInt32(22, 1, true);
 * v.setUint16(26, 1, true); v.setUint16(28, 24, true);
 * f.set([255, 0, 0], 54);
 * assert.deepEqual(Array.from(decodeBmp(f).data), [0, 0, 255, 255]);
 * ```
 */
export function decodeBmp(bytes: Uint8Array, maxPixels = Infinity): RgbaPixels {
  if (bytes.length < 14 + 12) throw truncated("header");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = v.getUint32(10, true);
  return decodeDib(bytes.subarray(14), maxPixels, { dataOffset: dataOffset - 14, ico: false });
}

interface DibOptions {
  /** Offset of the pixel array from the start of the DIB header, when the file says. */
  dataOffset?: number;
  /** Inside an ICO: height is doubled and an AND mask follows. */
  ico: boolean;
}

function decodeDib(b: Uint8Array, maxPixels: number, opt: DibOptions): RgbaPixels {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 4) throw truncated("header");
  const headerSize = v.getUint32(0, true);
  if (![12, 40, 52, 56, 108, 124].includes(headerSize) && !(headerSize >= 16 && headerSize <= 64)) {
    throw new SimpleFormatError("corrupt", `unknown BMP header size ${headerSize}`);
  }
  if (b.length < headerSize) throw truncated("header");
  let width: number, rawHeight: number, bpp: number, compression = 0, colorsUsed = 0;
  const core = headerSize === 12;
  if (core) {
    width = v.getUint16(4, true);
    rawHeight = v.getInt16(6, true);
    bpp = v.getUint16(10, true);
  } else {
    width = v.getInt32(4, true);
    rawHeight = v.getInt32(8, true);
    bpp = v.getUint16(14, true);
    if (headerSize >= 20) compression = v.getUint32(16, true);
    if (headerSize >= 36) colorsUsed = v.getUint32(32, true);
  }
  const topDown = rawHeight < 0;
  let height = Math.abs(rawHeight);
  if (opt.ico) height = Math.floor(height / 2);
  if (![1, 2, 4, 8, 16, 24, 32].includes(bpp)) {
    throw new SimpleFormatError("corrupt", `unsupported BMP bit depth ${bpp}`);
  }
  // OS/2 2.x headers (16–64 bytes, not 40/52/56) use compression 3 for Huffman, 4 for 24-bit RLE.
  const os2 = !core && ![40, 52, 56, 108, 124].includes(headerSize);
  if (os2 && compression >= 3) {
    throw new SimpleFormatError("corrupt", `unsupported OS/2 BMP compression ${compression}`);
  }
  if (![0, 1, 2, 3, 6].includes(compression)) {
    throw new SimpleFormatError(
      "corrupt",
      compression === 4 || compression === 5
        ? "BMP with an embedded JPEG/PNG is not supported"
        : `unknown BMP compression ${compression}`,
    );
  }
  if (
    (compression === 1 && bpp !== 8) || (compression === 2 && bpp !== 4) ||
    ((compression === 3 || compression === 6) && bpp !== 16 && bpp !== 32)
  ) {
    throw new SimpleFormatError("corrupt", `BMP compression ${compression} does not fit ${bpp}-bit pixels`);
  }
  checkPixels(width, height, maxPixels);

  // Channel masks: inside V2+ headers, after a 40-byte header for (ALPHA)BITFIELDS, else defaults.
  let masks: number[] | undefined;
  let pos = headerSize;
  if (compression === 3 || compression === 6) {
    const n = compression === 6 ? 4 : 3;
    if (headerSize >= 52) {
      masks = [0, 1, 2, 3].map((i) => headerSize >= 40 + 4 * (i + 1) ? v.getUint32(40 + 4 * i, true) : 0);
      if (headerSize < 56 && compression === 3) masks[3] = 0;
    } else {
      if (b.length < pos + 4 * n) throw truncated("colour masks");
      masks = [0, 1, 2, 3].map((i) => i < n ? v.getUint32(pos + 4 * i, true) : 0);
      pos += 4 * n;
    }
  } else if (bpp === 16) {
    masks = [0x7c00, 0x03e0, 0x001f, 0];
  }

  // Palette.
  let palette: Uint8Array | undefined;
  if (bpp <= 8) {
    const entry = core ? 3 : 4;
    const max = 1 << bpp;
    let count = colorsUsed > 0 && colorsUsed < max ? colorsUsed : max;
    // A palette cannot run into the pixels: keep what fits before them.
    const limit = opt.dataOffset !== undefined && opt.dataOffset > pos ? opt.dataOffset : b.length;
    count = Math.min(count, Math.max(0, Math.floor((Math.min(limit, b.length) - pos) / entry)));
    palette = new Uint8Array(max * 3); // missing entries stay black
    for (let i = 0; i < count; i++) {
      const o = pos + i * entry;
      palette[i * 3] = b[o + 2];
      palette[i * 3 + 1] = b[o + 1];
      palette[i * 3 + 2] = b[o];
    }
    pos += count * entry;
  }
  const start = opt.dataOffset !== undefined && opt.dataOffset >= pos && !opt.ico ? opt.dataOffset : pos;
  if (start > b.length) throw truncated("pixel data");
  const px = b.subarray(start);
  const stride = Math.floor((width * bpp + 31) / 32) * 4;
  const rle = compression === 1 || compression === 2;
  if (!rle && px.length < stride * (height - 1) + Math.ceil(width * bpp / 8)) throw truncated("pixel data");
  const out = new Uint8Array(width * height * 4);
  const rowOf = (r: number) => topDown ? r : height - 1 - r; // file row → image row
  let hasAlpha = false;

  if (rle) {
    hasAlpha = decodeRle(px, out, width, height, compression === 1 ? 8 : 4, palette!, rowOf);
  } else {
    const fields = masks?.map(maskField);
    let alphaSeen = false;
    for (let r = 0; r < height; r++) {
      const row = px.subarray(r * stride);
      let o = rowOf(r) * width * 4;
      for (let x = 0; x < width; x++, o += 4) {
        if (bpp <= 8) {
          const bit = x * bpp;
          const idx = (row[bit >> 3] >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
          out[o] = palette![idx * 3];
          out[o + 1] = palette![idx * 3 + 1];
          out[o + 2] = palette![idx * 3 + 2];
          out[o + 3] = 255;
        } else if (bpp === 24) {
          out[o] = row[x * 3 + 2];
          out[o + 1] = row[x * 3 + 1];
          out[o + 2] = row[x * 3];
          out[o + 3] = 255;
        } else {
          const value = bpp === 16
            ? row[x * 2] | (row[x * 2 + 1] << 8)
            : (row[x * 4] | (row[x * 4 + 1] << 8) | (row[x * 4 + 2] << 16) | (row[x * 4 + 3] << 24)) >>> 0;
          if (fields) {
            for (let c = 0; c < 3; c++) out[o + c] = extract(value, fields[c]);
            out[o + 3] = fields[3].bits ? extract(value, fields[3]) : 255;
          } else {
            // 32-bit BI_RGB: B, G, R, and in an ICO maybe alpha (decided after the whole image).
            out[o] = row[x * 4 + 2];
            out[o + 1] = row[x * 4 + 1];
            out[o + 2] = row[x * 4];
            out[o + 3] = row[x * 4 + 3];
            if (out[o + 3] !== 0) alphaSeen = true;
          }
        }
      }
    }
    if (bpp === 32 && !fields && (!alphaSeen || !opt.ico)) {
      // BMP: the fourth byte is not alpha. ICO: all-zero alpha means none (the AND mask decides).
      for (let i = 3; i < out.length; i += 4) out[i] = 255;
    }
    if (opt.ico && !(bpp === 32 && alphaSeen)) {
      // The AND mask: 1 bit per pixel, rows padded to 4 bytes, 1 = transparent. Optional in practice.
      const maskStride = Math.floor((width + 31) / 32) * 4;
      const mask = px.subarray(stride * height);
      if (mask.length >= maskStride * height) {
        for (let r = 0; r < height; r++) {
          const o = rowOf(r) * width * 4;
          for (let x = 0; x < width; x++) {
            if ((mask[r * maskStride + (x >> 3)] >> (7 - (x & 7))) & 1) out[o + x * 4 + 3] = 0;
          }
        }
      }
    }
    for (let i = 3; i < out.length && !hasAlpha; i += 4) if (out[i] !== 255) hasAlpha = true;
  }
  return { width, height, data: out, bitDepth: bpp, hasAlpha };
}

interface Field {
  shift: number;
  bits: number;
  mask: number;
}

function maskField(mask: number): Field {
  mask >>>= 0;
  if (mask === 0) return { shift: 0, bits: 0, mask: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  let bits = 0;
  while (shift + bits < 32 && ((mask >>> (shift + bits)) & 1) === 1) bits++;
  return { shift, bits, mask };
}

function extract(value: number, f: Field): number {
  if (f.bits === 0) return 0;
  let v = ((value & f.mask) >>> 0) >>> f.shift;
  if (f.bits > 8) return v >>> (f.bits - 8);
  // Widen by repeating the bit pattern: 5-bit 0b10110 → 0b10110101.
  let out = 0, have = 0;
  while (have < 8) {
    out = (out << f.bits) | v;
    have += f.bits;
  }
  v = out >>> (have - 8);
  return v & 0xff;
}

/** RLE8/RLE4; returns true when the stream left pixels undefined (they stay transparent). */
function decodeRle(
  px: Uint8Array,
  out: Uint8Array,
  width: number,
  height: number,
  bits: 8 | 4,
  palette: Uint8Array,
  rowOf: (r: number) => number,
): boolean {
  let x = 0, r = 0, i = 0, written = 0;
  const put = (idx: number) => {
    if (x < width && r < height) {
      const o = (rowOf(r) * width + x) * 4;
      out[o] = palette[idx * 3];
      out[o + 1] = palette[idx * 3 + 1];
      out[o + 2] = palette[idx * 3 + 2];
      out[o + 3] = 255;
      written++;
    }
    x++;
  };
  while (r < height) {
    if (i + 1 >= px.length) throw truncated("RLE pixel data");
    const count = px[i], code = px[i + 1];
    i += 2;
    if (count > 0) {
      for (let k = 0; k < count; k++) {
        put(bits === 8 ? code : (k & 1 ? code & 0x0f : code >> 4));
      }
    } else if (code === 0) {
      x = 0;
      r++;
    } else if (code === 1) {
      break;
    } else if (code === 2) {
      if (i + 1 >= px.length) throw truncated("RLE pixel data");
      x += px[i];
      r += px[i + 1];
      i += 2;
    } else {
      const n = code;
      const bytes = bits === 8 ? n : Math.ceil(n / 2);
      if (i + bytes > px.length) throw truncated("RLE pixel data");
      for (let k = 0; k < n; k++) {
        put(bits === 8 ? px[i + k] : (k & 1 ? px[i + (k >> 1)] & 0x0f : px[i + (k >> 1)] >> 4));
      }
      i += bytes + (bytes & 1); // runs are padded to 16 bits
    }
  }
  return written < width * height;
}

/**
 * Decodes an ICO or CUR file: the largest image in it (the widest, then the deepest). A PNG
 * inside is returned as its bytes, for the caller's PNG decoder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeIco } from "./extra_formats.ts";
 * // One 1×1 32-bit entry: 40-byte DIB header (height doubled), one BGRA pixel, a 4-byte AND mask.
 * const dib = new Uint8Array(40 + 4 + 4);
 * const d = new DataView(dib.buffer);
 * d.setUint32(0, 40, true); d.setInt32(4, 1, true); d.setInt32(8, 2, true);
 * d.setUint16(12, 1, true); d.setUint16(14, 32, true);
 * dib.set([0, 255, 0, 128], 40);
 * const ico = new Uint8Array(6 + 16 + dib.length);
 * const v = new DataView(ico.buffer);
 * v.setUint16(2, 1, true); v.setUint16(4, 1, true);
 * ico[6] = 1; ico[7] = 1; v.setUint16(10, 1, true); v.setUint16(12, 32, true);
 * v.setUint32(14, dib.length, true); v.setUint32(18, 22, true);
 * ico.set(dib, 22);
 * const img = decodeIco(ico);
 * assert.ok(!(img instanceof Uint8Array));
 * assert.deepEqual(Array.from(img.data), [0, 255, 0, 128]);
 * ```
 */
export function decodeIco(bytes: Uint8Array, maxPixels = Infinity): RgbaPixels | Uint8Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 6) throw truncated("header");
  const count = v.getUint16(4, true);
  if (count === 0) throw new SimpleFormatError("corrupt", "the icon file holds no image");
  if (bytes.length < 6 + 16 * count) throw truncated("icon directory");
  let best = -1, bestKey = -1;
  for (let i = 0; i < count; i++) {
    const e = 6 + 16 * i;
    const w = bytes[e] || 256, bpp = v.getUint16(e + 6, true);
    const key = w * 64 + Math.min(bpp, 63);
    if (key > bestKey) [best, bestKey] = [i, key];
  }
  const e = 6 + 16 * best;
  const size = v.getUint32(e + 8, true), offset = v.getUint32(e + 12, true);
  if (offset >= bytes.length) throw truncated("icon image");
  const data = bytes.subarray(offset, Math.min(bytes.length, offset + size));
  if (data.length >= 8 && data[0] === 0x89 && data[1] === 0x50 && data[2] === 0x4e && data[3] === 0x47) {
    return data;
  }
  return decodeDib(data, maxPixels, { ico: true });
}

/**
 * Decodes a Netpbm file: P1/P4 (bitmap, 1 = black), P2/P5 (gray), P3/P6 (RGB); maxval up to 65535,
 * scaled to 0–255 as `round(v * 255 / maxval)`; `#` comments in the header.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodePnm } from "./extra_formats.ts";
 * const img = decodePnm(new TextEncoder().encode("P3\n# a comment\n2 1 255\n255 0 0  0 0 255\n"));
 * assert.deepEqual(Array.from(img.data), [255, 0, 0, 255, 0, 0, 255, 255]);
 * ```
 */
export function decodePnm(bytes: Uint8Array, maxPixels = Infinity): RgbaPixels {
  const kind = bytes[1] - 0x30;
  let i = 2;
  const token = (): number => {
    for (;;) {
      while (i < bytes.length && /\s/.test(String.fromCharCode(bytes[i]))) i++;
      if (bytes[i] === 0x23) {
        while (i < bytes.length && bytes[i] !== 0x0a && bytes[i] !== 0x0d) i++;
        continue;
      }
      break;
    }
    if (i >= bytes.length) throw truncated("header");
    let s = "";
    while (i < bytes.length && bytes[i] >= 0x30 && bytes[i] <= 0x39 && s.length < 12) {
      s += String.fromCharCode(bytes[i++]);
    }
    if (s === "") {
      throw new SimpleFormatError(
        "corrupt",
        `expected a number at byte ${i}, found ${JSON.stringify(String.fromCharCode(bytes[i]))}`,
      );
    }
    return Number(s);
  };
  const width = token(), height = token();
  const bitmap = kind === 1 || kind === 4;
  const maxval = bitmap ? 1 : token();
  if (!(maxval >= 1 && maxval <= 65535)) throw new SimpleFormatError("corrupt", `invalid maxval ${maxval}`);
  checkPixels(width, height, maxPixels);
  const channels = kind === 3 || kind === 6 ? 3 : 1;
  const n = width * height;
  // Every sample takes at least one byte (plain) or its packed size (raw): check before allocating.
  const need = kind === 4 ? Math.ceil(width / 8) * height : n * channels * (kind > 4 && maxval > 255 ? 2 : 1);
  if (bytes.length - i < need) throw truncated("pixel data");
  const out = new Uint8Array(n * 4);
  const set = (p: number, c: number, value: number) => {
    if (value > maxval) throw new SimpleFormatError("corrupt", `sample ${value} above maxval ${maxval}`);
    const g = bitmap ? (value ? 0 : 255) : Math.round(value * 255 / maxval);
    if (channels === 1) out.fill(g, p * 4, p * 4 + 3);
    else out[p * 4 + c] = g;
    out[p * 4 + 3] = 255;
  };
  if (kind <= 3) {
    for (let p = 0; p < n; p++) {
      for (let c = 0; c < channels; c++) {
        if (kind === 1) {
          // Plain PBM digits need no separators.
          while (i < bytes.length && !(bytes[i] === 0x30 || bytes[i] === 0x31)) {
            if (bytes[i] === 0x23) { while (i < bytes.length && bytes[i] !== 0x0a) i++; }
            else i++;
          }
          if (i >= bytes.length) throw truncated("pixel data");
          set(p, c, bytes[i++] - 0x30);
        } else set(p, c, token());
      }
    }
  } else {
    i++; // exactly one whitespace byte after the header
    if (kind === 4) {
      const stride = Math.ceil(width / 8);
      if (bytes.length - i < stride * height) throw truncated("pixel data");
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          set(y * width + x, 0, (bytes[i + y * stride + (x >> 3)] >> (7 - (x & 7))) & 1);
        }
      }
    } else {
      const wide = maxval > 255 ? 2 : 1;
      if (bytes.length - i < n * channels * wide) throw truncated("pixel data");
      for (let p = 0; p < n; p++) {
        for (let c = 0; c < channels; c++) {
          const o = i + (p * channels + c) * wide;
          set(p, c, wide === 2 ? (bytes[o] << 8) | bytes[o + 1] : bytes[o]);
        }
      }
    }
  }
  return { width, height, data: out, bitDepth: maxval > 255 ? 16 : bitmap ? 1 : 8, hasAlpha: false };
}
