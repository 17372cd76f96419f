/**
 * An offline sample set for the demo, the benchmarks and tests: the six real group photos that
 * ship inside `@vladmandic/face-api`, plus variants made from them that show each failure the
 * pure heuristics catch (blur, under/over-exposure, a near-duplicate, a broken file).
 *
 * @module
 */
import sharp from "sharp";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";

/** Folder of the photos shipped in `@vladmandic/face-api` (installed by `deno install`). */
export const FACE_API_SAMPLES = fileURLToPath(
  new URL("../../node_modules/@vladmandic/face-api/demo/", import.meta.url),
);

/** One file of the sample set and what it is meant to show. */
export interface SampleFile {
  file: string;
  /** `original` or the variant made, e.g. `blur`. */
  variant: string;
  /** The error type a filter should report, or `""` for a good image. */
  expected: string;
}

/** The shipped photos, as absolute paths; a clear error when the package is missing. */
export async function shippedPhotos(): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const e of Deno.readDir(FACE_API_SAMPLES)) {
      if (/^sample\d+\.jpg$/.test(e.name)) files.push(join(FACE_API_SAMPLES, e.name));
    }
  } catch {
    throw new Error(
      `sample photos not found in ${FACE_API_SAMPLES}: run \`deno install\` (the README's first command does)`,
    );
  }
  return files.sort();
}

/**
 * Writes the sample set into `dir` (created if needed) and returns its files. Deterministic: the
 * same bytes on every run.
 *
 * @example
 * ```ts ignore
 * import { buildSampleSet } from "./samples.ts";
 * const files = await buildSampleSet("out/demo/images");
 * console.log(files.length); // 14
 * ```
 */
export async function buildSampleSet(dir: string): Promise<SampleFile[]> {
  dir = resolve(dir);
  await Deno.mkdir(dir, { recursive: true });
  const photos = await shippedPhotos();
  const out: SampleFile[] = [];
  const put = async (name: string, bytes: Uint8Array, variant: string, expected: string) => {
    const file = join(dir, name);
    await Deno.writeFile(file, bytes);
    out.push({ file, variant, expected });
  };
  for (const [i, p] of photos.entries()) {
    await put(`photo${i + 1}.jpg`, await Deno.readFile(p), "original", "");
  }
  const src = photos[0], src2 = photos[1 % photos.length];
  await put("photo1_blurred.jpg", await sharp(src).blur(6).jpeg({ quality: 90 }).toBuffer(), "blur", "blur");
  await put(
    "photo2_dark.jpg",
    await sharp(src2).linear(0.12, 0).jpeg({ quality: 90 }).toBuffer(),
    "dark",
    "underexposed",
  );
  await put(
    "photo2_washed_out.jpg",
    await sharp(src2).linear(0.2, 235).jpeg({ quality: 90 }).toBuffer(),
    "overexposed",
    "overexposed",
  );
  const meta = await sharp(src).metadata();
  await put(
    "photo1_smaller_copy.jpg",
    await sharp(src).resize(Math.round((meta.width ?? 800) * 0.6)).jpeg({ quality: 80 }).toBuffer(),
    "near-duplicate",
    "duplicate",
  );
  await put(
    "photo3_gray.png",
    await sharp(photos[2 % photos.length]).grayscale().png().toBuffer(),
    "grayscale",
    "",
  );
  const whole = await Deno.readFile(photos[3 % photos.length]);
  await put(
    "photo4_truncated.jpg",
    whole.subarray(0, Math.floor(whole.length / 3)),
    "truncated",
    "unreadable",
  );
  return out;
}
