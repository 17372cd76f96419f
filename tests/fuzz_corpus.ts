/**
 * Builds a seeded corpus of damaged image files from the real sample photos (the ones shipped in
 * `@vladmandic/face-api`, with their EXIF and ICC profile): bit flips in headers and in entropy
 * data, truncation at every structural boundary, swapped magic bytes, absurd dimensions, huge ICC
 * profiles and EXIF loops, for JPEG, PNG, BMP, ICO and Netpbm. Every file is meant to get exactly
 * one row from `score`; none may crash or hang it.
 */
import { join } from "node:path";
import sharp from "sharp";
import { mulberry32 } from "../lib/core/random.ts";
import { shippedPhotos } from "../lib/core/samples.ts";
import { writeBmp, writeIco, writePnm } from "./bmp_writer.ts";
import { crc32 } from "./png_encoder.ts";

/** One corpus file: its name and the mutation that made it. */
export interface FuzzFile {
  name: string;
  mutation: string;
}

interface Segment {
  marker: number;
  offset: number;
  /** Offset just past the segment (for SOS: past its header; entropy data follows). */
  end: number;
}

/** JPEG markers in order, up to and including the first SOS. */
export function jpegSegments(b: Uint8Array): Segment[] {
  const out: Segment[] = [];
  let i = 2;
  while (i + 4 <= b.length && b[i] === 0xff) {
    const marker = b[i + 1];
    const len = (b[i + 2] << 8) | b[i + 3];
    out.push({ marker, offset: i, end: i + 2 + len });
    if (marker === 0xda) break;
    i += 2 + len;
  }
  return out;
}

function pngChunks(b: Uint8Array): { type: string; offset: number; end: number }[] {
  const out = [];
  let i = 8;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  while (i + 8 <= b.length) {
    const len = v.getUint32(i);
    out.push({ type: String.fromCharCode(...b.subarray(i + 4, i + 8)), offset: i, end: i + 12 + len });
    i += 12 + len;
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function segment(marker: number, payload: Uint8Array): Uint8Array {
  const len = payload.length + 2;
  return concat(new Uint8Array([0xff, marker, len >> 8, len & 0xff]), payload);
}

/** An APP1 Exif segment whose IFD0 points back at itself, both as next IFD and as Exif sub-IFD. */
function exifLoop(kind: "next" | "sub"): Uint8Array {
  const tiff = new Uint8Array(8 + 2 + 12 * 2 + 4);
  const v = new DataView(tiff.buffer);
  tiff.set([0x49, 0x49, 0x2a, 0]);
  v.setUint32(4, 8, true);
  v.setUint16(8, 2, true);
  // Orientation = 6, then ExifIFD pointer.
  v.setUint16(10, 0x0112, true);
  v.setUint16(12, 3, true);
  v.setUint32(14, 1, true);
  v.setUint16(18, 6, true);
  v.setUint16(22, 0x8769, true);
  v.setUint16(24, 4, true);
  v.setUint32(26, 1, true);
  v.setUint32(30, kind === "sub" ? 8 : 0, true);
  v.setUint32(34, kind === "next" ? 8 : 0, true);
  return segment(0xe1, concat(new TextEncoder().encode("Exif\0\0"), tiff));
}

/** APP2 ICC_PROFILE segments carrying `size` bytes of noise (the header claims a real profile). */
function hugeIcc(size: number, rand: () => number, lieAboutCount = false): Uint8Array {
  const chunk = 65000;
  const n = Math.ceil(size / chunk);
  const parts: Uint8Array[] = [];
  for (let k = 0; k < n; k++) {
    const data = new Uint8Array(Math.min(chunk, size - k * chunk)).map(() => (rand() * 256) | 0);
    if (k === 0) {
      new DataView(data.buffer).setUint32(0, size);
      data.set(new TextEncoder().encode("lcmsmntrRGB XYZ "), 4);
    }
    const head = concat(
      new TextEncoder().encode("ICC_PROFILE\0"),
      new Uint8Array([k + 1, lieAboutCount ? 255 : n]),
    );
    parts.push(segment(0xe2, concat(head, data)));
  }
  return concat(...parts);
}

/** Replaces the segments matching `drop` after SOI with `insert` (placed right after SOI). */
function withSegments(jpeg: Uint8Array, insert: Uint8Array, drop: (marker: number) => boolean): Uint8Array {
  const segs = jpegSegments(jpeg);
  const kept = segs.filter((s) => !drop(s.marker));
  const sos = segs[segs.length - 1];
  return concat(
    jpeg.subarray(0, 2),
    insert,
    ...kept.filter((s) => s !== sos).map((s) => jpeg.subarray(s.offset, s.end)),
    jpeg.subarray(sos.offset),
  );
}

/**
 * Writes the corpus into `dir`; returns its files. `count` scales the random mutations (the
 * structural ones are always all written).
 */
export async function writeFuzzCorpus(dir: string, seed = 18, count = 20): Promise<FuzzFile[]> {
  const rand = mulberry32(seed);
  const files: FuzzFile[] = [];
  const put = async (name: string, mutation: string, bytes: Uint8Array) => {
    await Deno.writeFile(join(dir, name), bytes);
    files.push({ name, mutation });
  };
  const flip = (b: Uint8Array, from: number, to: number, bits: number) => {
    const c = b.slice();
    for (let k = 0; k < bits; k++) {
      const at = from + Math.floor(rand() * Math.max(1, to - from));
      c[at] ^= 1 << Math.floor(rand() * 8);
    }
    return c;
  };
  const photos = await shippedPhotos();
  // Small copies of real photos that keep the EXIF block and the ICC profile.
  const bases: Uint8Array[] = [];
  for (const p of photos.slice(0, 3)) {
    bases.push(new Uint8Array(await sharp(p).resize(96).withMetadata().jpeg({ quality: 80 }).toBuffer()));
  }
  for (const [i, jpeg] of bases.entries()) {
    await put(`base${i}.jpg`, "none", jpeg);
    const segs = jpegSegments(jpeg);
    const sos = segs[segs.length - 1];
    for (let k = 0; k < count; k++) {
      await put(`j${i}-hdr-flip${k}.jpg`, "header bit flips", flip(jpeg, 2, sos.end, 1 + (k % 4)));
      await put(
        `j${i}-data-flip${k}.jpg`,
        "entropy bit flips",
        flip(jpeg, sos.end, jpeg.length - 2, 1 + (k % 8)),
      );
    }
    // Truncation at every marker, just after it, after the SOS header, in the data, before EOI.
    const cuts = new Set<number>([1, 2, jpeg.length - 2, jpeg.length - 1]);
    for (const s of segs) [s.offset, s.offset + 2, s.end].forEach((c) => cuts.add(c));
    for (const f of [0.1, 0.5, 0.9]) cuts.add(sos.end + Math.floor((jpeg.length - 2 - sos.end) * f));
    for (const c of [...cuts].sort((a, b) => a - b)) {
      await put(`j${i}-cut${c}.jpg`, "truncated at a boundary", jpeg.slice(0, c));
    }
  }
  const jpeg = bases[0];
  const sof = jpegSegments(jpeg).find((s) => s.marker === 0xc0 || s.marker === 0xc2)!;
  for (
    const [name, h, w] of [["max", 65535, 65535], ["zero-height", 0, 96], ["zero-width", 64, 0]] as const
  ) {
    const c = jpeg.slice();
    c.set([h >> 8, h & 0xff, w >> 8, w & 0xff], sof.offset + 5);
    await put(`j-dims-${name}.jpg`, "absurd dimensions", c);
  }
  await put(
    "j-icc-5mb.jpg",
    "huge ICC profile",
    withSegments(jpeg, hugeIcc(5_000_000, rand), (m) => m === 0xe2),
  );
  await put(
    "j-icc-missing-chunks.jpg",
    "ICC profile whose chunk count lies",
    withSegments(jpeg, hugeIcc(200_000, rand, true), (m) => m === 0xe2),
  );
  await put("j-exif-loop-next.jpg", "EXIF IFD loop", withSegments(jpeg, exifLoop("next"), (m) => m === 0xe1));
  await put(
    "j-exif-loop-sub.jpg",
    "EXIF sub-IFD loop",
    withSegments(jpeg, exifLoop("sub"), (m) => m === 0xe1),
  );
  // The real full-size photo, cut in its header and in its data.
  const original = await Deno.readFile(photos[0]);
  const osos = jpegSegments(original).at(-1)!;
  for (const c of [osos.offset, osos.end + 1000, Math.floor(original.length * 0.6)]) {
    await put(`original-cut${c}.jpg`, "truncated original", original.slice(0, c));
  }

  // PNG.
  const { data: rgba, info } = await sharp(bases[1]).ensureAlpha().raw().toBuffer({
    resolveWithObject: true,
  });
  const png = new Uint8Array(await sharp(rgba, { raw: info }).png().toBuffer());
  await put("base.png", "none", png);
  for (let k = 0; k < count; k++) {
    await put(`p-hdr-flip${k}.png`, "header bit flips", flip(png, 8, 33, 1 + (k % 3)));
    await put(`p-data-flip${k}.png`, "IDAT bit flips", flip(png, 41, png.length - 12, 1 + (k % 6)));
  }
  for (const ch of pngChunks(png)) {
    for (const c of [ch.offset, ch.offset + 8, Math.floor((ch.offset + ch.end) / 2)]) {
      await put(`p-cut${c}.png`, "truncated at a boundary", png.slice(0, c));
    }
  }
  for (
    const [name, w, h] of [["max", 0x7fffffff, 0x7fffffff], ["wide", 1_000_000, 1], ["zero", 0, 64]] as const
  ) {
    const c = png.slice();
    const v = new DataView(c.buffer);
    v.setUint32(16, w);
    v.setUint32(20, h);
    v.setUint32(29, crc32(c.subarray(12, 29)));
    await put(`p-dims-${name}.png`, "absurd dimensions (valid CRC)", c);
  }

  // BMP, ICO, Netpbm: our own decoder.
  const small = { width: info.width, height: info.height, data: new Uint8Array(rgba) };
  const pal = [[0, 0, 0], [255, 255, 255], [128, 64, 32], [10, 200, 90]];
  const quant = {
    ...small,
    data: small.data.map((v, k) => k % 4 === 3 ? 255 : v),
  };
  quant.data = quant.data.slice();
  for (let p = 0; p < quant.width * quant.height; p++) {
    const c = pal[(quant.data[p * 4] >> 6) % 4];
    quant.data.set([...c, 255], p * 4);
  }
  const bmps: [string, Uint8Array][] = [
    ["24", writeBmp(small, { bpp: 24 })],
    ["32bf", writeBmp(small, { bpp: 32, masks: [0xff0000, 0xff00, 0xff, 0xff000000] })],
    ["16", writeBmp(small, { bpp: 16, topDown: true })],
    ["8", writeBmp(quant, { bpp: 8, palette: pal })],
    ["4", writeBmp(quant, { bpp: 4, palette: pal, shortPalette: true })],
  ];
  for (const [name, bmp] of bmps) {
    await put(`b${name}.bmp`, "none", bmp);
    for (let k = 0; k < Math.ceil(count / 2); k++) {
      await put(`b${name}-hdr-flip${k}.bmp`, "header bit flips", flip(bmp, 0, 54 + 16, 1 + (k % 3)));
    }
    for (const c of [2, 14, 18, 30, 54, 70, Math.floor(bmp.length / 2), bmp.length - 1]) {
      if (c < bmp.length) await put(`b${name}-cut${c}.bmp`, "truncated at a boundary", bmp.slice(0, c));
    }
  }
  for (
    const [name, w, h] of [["max", 0x7fffffff, 0x7fffffff], ["min", -0x80000000, -0x80000000], [
      "tall",
      1,
      -0x7fffffff,
    ]] as const
  ) {
    const c = bmps[0][1].slice();
    const v = new DataView(c.buffer);
    v.setInt32(18, w, true);
    v.setInt32(22, h, true);
    await put(`b-dims-${name}.bmp`, "absurd dimensions", c);
  }
  const ico = writeIco([{
    width: small.width,
    height: small.height,
    bpp: 32,
    bytes: writeBmp(small, { bpp: 32, dibOnly: true, icoMask: true }),
  }]);
  const ppm = writePnm(small, 6);
  for (const [name, bytes] of [["ico", ico], ["ppm", ppm]] as const) {
    await put(`base.${name}`, "none", bytes);
    for (let k = 0; k < Math.ceil(count / 4); k++) {
      await put(`${name}-flip${k}.${name}`, "header bit flips", flip(bytes, 0, 40, 1 + (k % 3)));
    }
    await put(`${name}-cut.${name}`, "truncated", bytes.slice(0, Math.floor(bytes.length / 2)));
  }
  await put(
    "pnm-dims.ppm",
    "absurd dimensions",
    new TextEncoder().encode("P6 99999999 99999999 255\n\0\0\0"),
  );

  // Swapped magic bytes: each format's signature on another's body.
  const magic: [string, Uint8Array][] = [
    ["jpeg", new Uint8Array([0xff, 0xd8, 0xff, 0xe0])],
    ["png", png.slice(0, 8)],
    ["bmp", new Uint8Array([0x42, 0x4d])],
    ["ico", new Uint8Array([0, 0, 1, 0])],
    ["ppm", new TextEncoder().encode("P6\n")],
  ];
  const bodies: [string, Uint8Array][] = [["jpeg", jpeg], ["png", png], ["bmp", bmps[0][1]]];
  for (const [m, sig] of magic) {
    for (const [b, body] of bodies) {
      if (m === b) continue;
      const c = body.slice();
      c.set(sig.subarray(0, Math.min(sig.length, c.length)));
      await put(`magic-${m}-on-${b}.${b === "jpeg" ? "jpg" : b}`, "swapped magic bytes", c);
    }
  }
  return files;
}
