/**
 * An independent writer of BMP, ICO and Netpbm test files, byte by byte from the format
 * descriptions (Microsoft's BITMAPINFOHEADER/BITMAPV5HEADER docs, netpbm.sourceforge.net), so the
 * decoder in lib/core/extra_formats.ts is checked against files it did not make. Pixels go in as
 * RGBA, top row first.
 */

/** Pixels to write: `width * height * 4` bytes, RGBA, top row first. */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

/** How to write a BMP. */
export interface BmpOptions {
  bpp: 1 | 4 | 8 | 16 | 24 | 32;
  /** Rows top row first (negative height). Default false: bottom-up, the usual layout. */
  topDown?: boolean;
  /** Palette for 1/4/8-bit, RGB triples; pixels are written as the index of their exact colour. */
  palette?: number[][];
  /** Write palette entries in `clrUsed` only (a short palette). Default: the full 2^bpp entries. */
  shortPalette?: boolean;
  /** 16/32-bit bit fields [r, g, b, a?] (BI_BITFIELDS, masks after a 40-byte header, or inside a V4/V5). */
  masks?: number[];
  /** DIB header size: 12 (OS/2 core), 40, 108 (V4) or 124 (V5). Default 40 (124 with masks). */
  header?: 12 | 40 | 108 | 124;
  /** Leave the header without the 14-byte file header (for ICO). */
  dibOnly?: boolean;
  /** Double the height in the header (ICO) and add an AND mask from alpha < 128. */
  icoMask?: boolean;
}

function le(view: DataView, o: number, v: number, bytes: 2 | 4) {
  if (bytes === 2) view.setUint16(o, v & 0xffff, true);
  else view.setUint32(o, v >>> 0, true);
}

function packMask(value8: number, mask: number): number {
  if (!mask) return 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const bits = (mask >>> shift).toString(2).length;
  // Keep the top `bits` bits of the 8-bit value.
  const v = bits >= 8 ? value8 << (bits - 8) : value8 >> (8 - bits);
  return (v << shift) >>> 0;
}

/** Writes a BMP file (or a bare DIB for ICO). */
export function writeBmp(img: Rgba, o: BmpOptions): Uint8Array {
  const { width, height } = img;
  const header = o.header ?? (o.masks ? 124 : 40);
  const core = header === 12;
  const paletteCount = o.bpp <= 8 ? (o.shortPalette ? o.palette!.length : 1 << o.bpp) : 0;
  const entry = core ? 3 : 4;
  const extraMasks = o.masks && header === 40 ? 4 * (o.masks.length === 4 ? 4 : 3) : 0;
  const stride = Math.floor((width * o.bpp + 31) / 32) * 4;
  const maskStride = Math.floor((width + 31) / 32) * 4;
  const pixelBytes = stride * height + (o.icoMask ? maskStride * height : 0);
  const fileHeader = o.dibOnly ? 0 : 14;
  const dataOffset = fileHeader + header + extraMasks + paletteCount * entry;
  const out = new Uint8Array(dataOffset + pixelBytes);
  const v = new DataView(out.buffer);
  if (!o.dibOnly) {
    out[0] = 0x42;
    out[1] = 0x4d;
    le(v, 2, out.length, 4);
    le(v, 10, dataOffset, 4);
  }
  const h = fileHeader;
  le(v, h, header, 4);
  const storedHeight = (o.icoMask ? 2 : 1) * height * (o.topDown ? -1 : 1);
  if (core) {
    le(v, h + 4, width, 2);
    le(v, h + 6, storedHeight, 2);
    le(v, h + 8, 1, 2);
    le(v, h + 10, o.bpp, 2);
  } else {
    v.setInt32(h + 4, width, true);
    v.setInt32(h + 8, storedHeight, true);
    le(v, h + 12, 1, 2);
    le(v, h + 14, o.bpp, 2);
    const compression = o.masks ? (o.masks.length === 4 && header === 40 ? 6 : 3) : 0;
    le(v, h + 16, compression, 4);
    le(v, h + 20, stride * height, 4);
    le(v, h + 24, 2835, 4);
    le(v, h + 28, 2835, 4);
    le(v, h + 32, o.shortPalette ? paletteCount : 0, 4);
    if (o.masks && header >= 108) {
      for (let i = 0; i < 4; i++) le(v, h + 40 + 4 * i, o.masks[i] ?? 0, 4);
      le(v, h + 56, 0x73524742, 4); // 'sRGB'
    } else if (o.masks) {
      o.masks.forEach((m, i) => le(v, h + header + 4 * i, m, 4));
    }
  }
  const pal = h + header + extraMasks;
  for (let i = 0; i < paletteCount; i++) {
    const c = o.palette![i] ?? [0, 0, 0];
    out[pal + i * entry] = c[2];
    out[pal + i * entry + 1] = c[1];
    out[pal + i * entry + 2] = c[0];
  }
  for (let y = 0; y < height; y++) {
    const fileRow = o.topDown ? y : height - 1 - y;
    const row = dataOffset + fileRow * stride;
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      const [r, g, b, a] = img.data.subarray(p, p + 4);
      if (o.bpp <= 8) {
        const idx = o.palette!.findIndex((c) => c[0] === r && c[1] === g && c[2] === b);
        if (idx < 0) throw new Error(`colour ${r},${g},${b} is not in the palette`);
        const bit = x * o.bpp;
        out[row + (bit >> 3)] |= idx << (8 - o.bpp - (bit & 7));
      } else if (o.bpp === 24) {
        out.set([b, g, r], row + x * 3);
      } else if (o.masks) {
        const [mr, mg, mb, ma] = o.masks;
        const value = (packMask(r, mr) | packMask(g, mg) | packMask(b, mb) | packMask(a, ma ?? 0)) >>> 0;
        if (o.bpp === 16) le(v, row + x * 2, value, 2);
        else le(v, row + x * 4, value, 4);
      } else if (o.bpp === 16) {
        le(v, row + x * 2, ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3), 2);
      } else {
        out.set([b, g, r, a], row + x * 4);
      }
    }
  }
  if (o.icoMask) {
    const base = dataOffset + stride * height;
    for (let y = 0; y < height; y++) {
      const fileRow = o.topDown ? y : height - 1 - y;
      for (let x = 0; x < width; x++) {
        if (img.data[(y * width + x) * 4 + 3] < 128) {
          out[base + fileRow * maskStride + (x >> 3)] |= 0x80 >> (x & 7);
        }
      }
    }
  }
  return out;
}

/** Writes an ICO holding the given images (each a DIB from {@link writeBmp} or PNG bytes). */
export function writeIco(
  images: { width: number; height: number; bpp: number; bytes: Uint8Array }[],
): Uint8Array {
  const size = 6 + 16 * images.length + images.reduce((n, i) => n + i.bytes.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  le(v, 2, 1, 2);
  le(v, 4, images.length, 2);
  let offset = 6 + 16 * images.length;
  images.forEach((img, i) => {
    const e = 6 + 16 * i;
    out[e] = img.width >= 256 ? 0 : img.width;
    out[e + 1] = img.height >= 256 ? 0 : img.height;
    le(v, e + 4, 1, 2);
    le(v, e + 6, img.bpp, 2);
    le(v, e + 8, img.bytes.length, 4);
    le(v, e + 12, offset, 4);
    out.set(img.bytes, offset);
    offset += img.bytes.length;
  });
  return out;
}

/** Writes a Netpbm file: P1–P6, `maxval` for gray/RGB (default 255). Gray takes the R channel. */
export function writePnm(img: Rgba, kind: 1 | 2 | 3 | 4 | 5 | 6, maxval = 255): Uint8Array {
  const { width, height, data } = img;
  const bitmap = kind === 1 || kind === 4;
  const channels = kind === 3 || kind === 6 ? 3 : 1;
  const header = `P${kind}\n# written by tests/bmp_writer.ts\n${width} ${height}\n${
    bitmap ? "" : `${maxval}\n`
  }`;
  const sample = (p: number, c: number) => {
    const v = data[p * 4 + c];
    return bitmap ? (v < 128 ? 1 : 0) : Math.round(v * maxval / 255);
  };
  if (kind <= 3) {
    const parts: string[] = [];
    for (let p = 0; p < width * height; p++) {
      for (let c = 0; c < channels; c++) parts.push(String(sample(p, c)));
    }
    return new TextEncoder().encode(header + parts.join(kind === 1 ? "" : " ") + "\n");
  }
  const head = new TextEncoder().encode(header);
  let body: Uint8Array;
  if (kind === 4) {
    const stride = Math.ceil(width / 8);
    body = new Uint8Array(stride * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (sample(y * width + x, 0)) body[y * stride + (x >> 3)] |= 0x80 >> (x & 7);
      }
    }
  } else {
    const wide = maxval > 255 ? 2 : 1;
    body = new Uint8Array(width * height * channels * wide);
    for (let p = 0, o = 0; p < width * height; p++) {
      for (let c = 0; c < channels; c++, o += wide) {
        const s = sample(p, c);
        if (wide === 2) [body[o], body[o + 1]] = [s >> 8, s & 0xff];
        else body[o] = s;
      }
    }
  }
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}
