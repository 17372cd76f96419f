/**
 * A minimal PNG encoder for building test fixtures byte by byte: any bit depth and colour type
 * that the tests need (16-bit, gray, palette) and headers that lie (decompression bombs), which
 * no image library will write on purpose.
 */
import { deflateSync } from "node:zlib";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The CRC-32 of a PNG chunk (type and data). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** PNG colour types: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA. */
export interface PngSpec {
  width: number;
  height: number;
  bitDepth: 8 | 16;
  colorType: 0 | 2 | 3 | 4 | 6;
  /** Samples in row-major order, `channels` per pixel; 16-bit samples are 0..65535. */
  samples: ArrayLike<number>;
  /** RGB triplets for colour type 3. */
  palette?: number[];
  /** Rows actually encoded in IDAT (fewer than `height` makes a truncated or lying file). */
  encodedRows?: number;
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

/** Encodes `spec` as PNG bytes (filter 0 on every row). */
export function encodePng(spec: PngSpec): Uint8Array {
  const channels = CHANNELS[spec.colorType];
  const bytesPerSample = spec.bitDepth / 8;
  const rowBytes = spec.width * channels * bytesPerSample;
  const rows = spec.encodedRows ?? spec.height;
  const raw = new Uint8Array(rows * (rowBytes + 1));
  for (let y = 0; y < rows; y++) {
    const base = y * (rowBytes + 1) + 1;
    for (let i = 0; i < spec.width * channels; i++) {
      const v = spec.samples[y * spec.width * channels + i] ?? 0;
      if (bytesPerSample === 2) {
        raw[base + 2 * i] = v >> 8;
        raw[base + 2 * i + 1] = v & 0xff;
      } else raw[base + i] = v;
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, spec.width);
  v.setUint32(4, spec.height);
  ihdr.set([spec.bitDepth, spec.colorType, 0, 0, 0], 8);
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    ...(spec.palette ? [chunk("PLTE", new Uint8Array(spec.palette))] : []),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
