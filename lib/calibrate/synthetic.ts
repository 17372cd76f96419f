/**
 * A SYNTHETIC labeled set that any machine can rebuild offline: variants of the six real photos
 * shipped in `@vladmandic/face-api`, some left good, some damaged in known ways (blurred,
 * downscaled, shrunk so faces are tiny, JPEG-crushed, faces warped or covered), with labels known
 * by construction, written in the hand-label format (`labels/images.csv`, `labels/faces.csv`).
 *
 * These are photos with simulated defects, not generated images: use the set to check that the
 * calibration machinery works end to end, not to choose thresholds for a real generator.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { csvLine } from "../core/csv.ts";
import { decodeImage } from "../core/image.ts";
import { getDetector } from "../models/faces/detector.ts";
import { shippedPhotos } from "../core/samples.ts";
import type { Box } from "../heuristics/types.ts";
import type { ErrorType } from "../labels/format.ts";
import { runScoreJob } from "../score/job.ts";
import { DEFAULT_HEURISTICS } from "../heuristics/registry.ts";

/** One image of the synthetic set. */
export interface SyntheticImage {
  /** Absolute path of the image. */
  file: string;
  /** Path as written in `labels/images.csv` (relative to `labels/`). */
  labelPath: string;
  /** Which shipped photo it comes from (1-based) and the variant made. */
  photo: number;
  variant: string;
  usable: boolean;
  quality: number;
  errors: ErrorType[];
  /** Face boxes in pixels of this image, with the face quality known by construction. */
  faces: (Box & { quality: number })[];
}

/** What {@link buildSyntheticSet} wrote. */
export interface SyntheticSet {
  dir: string;
  imagesDir: string;
  imagesCsv: string;
  facesCsv: string;
  images: SyntheticImage[];
}

/** Options of {@link buildSyntheticSet}. */
export interface SyntheticOptions {
  /** Long side of the good images in pixels. Default 512. */
  longSide?: number;
  /** Photos to derive from. Default the six shipped in `@vladmandic/face-api`. */
  photos?: string[];
}

interface Variant {
  name: string;
  usable: boolean;
  quality: number;
  errors: ErrorType[];
  /** Quality of the faces in the result; null: the faces are not in `faces.csv` (covered). */
  faceQuality: number | null;
  make: (
    base: Uint8Array,
    w: number,
    h: number,
    faces: Box[],
  ) => Promise<{ bytes: Uint8Array; scale: number; mirror?: boolean }>;
}

const jpeg = async (s: ReturnType<typeof sharp>, quality = 90) =>
  new Uint8Array(await s.jpeg({ quality }).toBuffer());

/** The variants made of every photo: five good, seven damaged. Order fixes the file names. */
const VARIANTS: Variant[] = [
  {
    name: "original",
    usable: true,
    quality: 5,
    errors: [],
    faceQuality: 5,
    make: (b) => Promise.resolve({ bytes: b, scale: 1 }),
  },
  {
    name: "mirrored",
    usable: true,
    quality: 5,
    errors: [],
    faceQuality: 5,
    make: async (b) => ({ bytes: await jpeg(sharp(b).flop()), scale: 1, mirror: true }),
  },
  {
    name: "jpeg75",
    usable: true,
    quality: 4,
    errors: [],
    faceQuality: 4,
    make: async (b) => ({ bytes: await jpeg(sharp(b), 75), scale: 1 }),
  },
  {
    name: "brighter",
    usable: true,
    quality: 4,
    errors: [],
    faceQuality: 4,
    make: async (b) => ({ bytes: await jpeg(sharp(b).linear(1.1, 8)), scale: 1 }),
  },
  {
    name: "contrast",
    usable: true,
    quality: 4,
    errors: [],
    faceQuality: 4,
    make: async (b) => ({ bytes: await jpeg(sharp(b).linear(1.2, -20)), scale: 1 }),
  },
  {
    name: "blurred",
    usable: false,
    quality: 2,
    errors: ["blur"],
    faceQuality: 2,
    make: async (b) => ({ bytes: await jpeg(sharp(b).blur(2.5)), scale: 1 }),
  },
  {
    name: "heavily_blurred",
    usable: false,
    quality: 1,
    errors: ["blur", "bad_face"],
    faceQuality: 1,
    make: async (b) => ({ bytes: await jpeg(sharp(b).blur(6)), scale: 1 }),
  },
  {
    name: "faces_downscaled",
    usable: false,
    quality: 2,
    errors: ["blur", "bad_face"],
    faceQuality: 2,
    make: async (b, w, h) => {
      const small = await sharp(b).resize(Math.round(w / 6), Math.round(h / 6)).png().toBuffer();
      return { bytes: await jpeg(sharp(small).resize(w, h)), scale: 1 };
    },
  },
  {
    name: "tiny",
    usable: false,
    quality: 2,
    errors: ["bad_face"],
    faceQuality: 2,
    make: async (b, w) => {
      const tw = Math.round(w / 3.5);
      return { bytes: await jpeg(sharp(b).resize(tw)), scale: tw / w };
    },
  },
  {
    name: "jpeg_crushed",
    usable: false,
    quality: 1,
    errors: ["artifact"],
    faceQuality: 2,
    make: async (b) => ({ bytes: await jpeg(sharp(b), 3), scale: 1 }),
  },
  {
    name: "faces_warped",
    usable: false,
    quality: 1,
    errors: ["bad_face"],
    faceQuality: 1,
    make: async (b, w, h, faces) => ({
      bytes: await jpeg(sharp(b).composite(await warpedFaces(b, w, h, faces))),
      scale: 1,
    }),
  },
  {
    name: "faces_covered",
    usable: false,
    quality: 1,
    errors: ["bad_face", "artifact"],
    faceQuality: null,
    make: async (b, w, h, faces) => ({
      bytes: await jpeg(sharp(b).composite(faces.map((f) => coverPatch(clip(f, w, h))))),
      scale: 1,
    }),
  },
];

function clip(f: Box, w: number, h: number): Box {
  const x = Math.max(0, Math.round(f.x)), y = Math.max(0, Math.round(f.y));
  return {
    x,
    y,
    width: Math.max(1, Math.min(w - x, Math.round(f.width))),
    height: Math.max(1, Math.min(h - y, Math.round(f.height))),
  };
}

function coverPatch(b: Box) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${b.width}" height="${b.height}">` +
    `<rect width="100%" height="100%" fill="#8a7f78"/></svg>`;
  return { input: Buffer.from(svg), left: b.x, top: b.y };
}

/** Each face box turned upside down and sheared, pasted back over itself. */
async function warpedFaces(base: Uint8Array, w: number, h: number, faces: Box[]) {
  const out = [];
  for (const f of faces) {
    const b = clip(f, w, h);
    if (b.width < 4 || b.height < 4) continue;
    const crop = await sharp(base).extract({ left: b.x, top: b.y, width: b.width, height: b.height })
      .flip()
      .affine([[1, 0.35], [0.25, 1]], { background: "#000000" })
      .resize(b.width, b.height, { fit: "fill" })
      .png()
      .toBuffer();
    out.push({ input: crop, left: b.x, top: b.y });
  }
  return out;
}

/**
 * Builds the synthetic set in `dir`: `dir/images/synthetic_photo<k>_<variant>.jpg` (12 variants of
 * each photo: original, mirrored, jpeg75, brighter, contrast — usable; blurred, heavily_blurred,
 * faces_downscaled, tiny, jpeg_crushed, faces_warped, faces_covered — not usable), then
 * `dir/labels/images.csv` and `dir/labels/faces.csv` in the hand-label format, and a README saying
 * what the set is. Face boxes are the SSD detector's faces on each good base image (found once,
 * confidence ≥ 0.5), carried through each variant's geometry; covered faces get no row. Photos with
 * no face found get no face variants. Deterministic: the same files on every run.
 *
 * @example
 * ```ts ignore
 * import { buildSyntheticSet } from "./synthetic.ts";
 * const set = await buildSyntheticSet("out/synthetic");
 * console.log(set.images.length, set.imagesCsv);
 * ```
 */
export async function buildSyntheticSet(dir: string, options: SyntheticOptions = {}): Promise<SyntheticSet> {
  dir = resolve(dir);
  const imagesDir = join(dir, "images"), labelsDir = join(dir, "labels");
  await Deno.mkdir(imagesDir, { recursive: true });
  await Deno.mkdir(labelsDir, { recursive: true });
  const longSide = options.longSide ?? 512;
  const photos = options.photos ?? await shippedPhotos();
  const detector = await getDetector("ssd");
  const images: SyntheticImage[] = [];
  for (const [k, photo] of photos.entries()) {
    const base = new Uint8Array(
      await sharp(photo).rotate().resize(longSide, longSide, { fit: "inside" }).jpeg({ quality: 92 })
        .toBuffer(),
    );
    const meta = await sharp(base).metadata();
    const w = meta.width!, h = meta.height!;
    const basePath = join(imagesDir, `.base_${k + 1}.jpg`);
    await Deno.writeFile(basePath, base);
    const faces: Box[] = (await detector.detect(await decodeImage(basePath), { minConfidence: 0.5 }))
      .map((f) => ({ x: f.x, y: f.y, width: f.width, height: f.height }));
    await Deno.remove(basePath);
    for (const v of VARIANTS) {
      if (faces.length === 0 && v.name.startsWith("faces_")) continue;
      const made = await v.make(base, w, h, faces);
      const name = `synthetic_photo${k + 1}_${v.name}.jpg`;
      const file = join(imagesDir, name);
      await Deno.writeFile(file, made.bytes);
      const boxes = v.faceQuality === null ? [] : faces.map((f) => ({
        x: round1((made.mirror ? w - f.x - f.width : f.x) * made.scale),
        y: round1(f.y * made.scale),
        width: round1(f.width * made.scale),
        height: round1(f.height * made.scale),
        quality: v.faceQuality!,
      }));
      images.push({
        file,
        labelPath: `../images/${name}`,
        photo: k + 1,
        variant: v.name,
        usable: v.usable,
        quality: v.quality,
        errors: v.errors,
        faces: boxes,
      });
    }
  }
  const imagesCsv = join(labelsDir, "images.csv"), facesCsv = join(labelsDir, "faces.csv");
  await Deno.writeTextFile(
    imagesCsv,
    csvLine(["path", "usable", "quality", "errors", "variant", "source"]) +
      images.map((i) =>
        csvLine([
          i.labelPath,
          i.usable ? "yes" : "no",
          i.quality,
          i.errors.join(";"),
          i.variant,
          `sample${i.photo}.jpg`,
        ])
      ).join(""),
  );
  await Deno.writeTextFile(
    facesCsv,
    csvLine(["path", "x", "y", "width", "height", "quality"]) +
      images.flatMap((i) =>
        i.faces.map((f) => csvLine([i.labelPath, f.x, f.y, f.width, f.height, f.quality]))
      )
        .join(""),
  );
  await Deno.writeTextFile(
    join(dir, "README.md"),
    "# SYNTHETIC labeled set (not real generated images)\n\n" +
      "Built by `deno task calibrate --synthetic DIR` (lib/calibrate/synthetic.ts) from the six photos shipped in\n" +
      "`@vladmandic/face-api`. Labels are known by construction: original, mirrored, jpeg75, brighter and contrast\n" +
      "variants are usable; blurred, heavily_blurred, faces_downscaled, tiny, jpeg_crushed, faces_warped and\n" +
      "faces_covered are not. Face boxes come from the SSD detector on each good base image. Use it to check the\n" +
      "calibration machinery, not to choose thresholds for a real generator.\n",
  );
  return { dir, imagesDir, imagesCsv, facesCsv, images };
}

/** Columns calibrated on the synthetic set when none are named: pure and face heuristics. */
export const SYNTHETIC_COLUMNS: readonly string[] = [
  "laplacian_var",
  "tenengrad",
  "saliency_sharpness",
  "colorfulness",
  "face_min_log10_area",
  "face_min_confidence",
  "face_mean_confidence",
];

/** A synthetic set scored by every heuristic without a model plus `faces`. */
export interface ScoredSyntheticSet extends SyntheticSet {
  /** The image table (`scores.csv` in the set's folder). */
  scores: string;
  /** The per-face table (`faces.csv` in the set's folder). */
  faces: string;
}

/**
 * Builds the synthetic labeled set in `dir` ({@link buildSyntheticSet}) and scores it from scratch
 * with the default heuristics and `faces`: what `deno task calibrate --synthetic DIR` calibrates.
 *
 * @example
 * ```ts ignore
 * import { scoredSyntheticSet } from "./synthetic.ts";
 * const set = await scoredSyntheticSet("out/synthetic", console.log);
 * console.log(set.scores, set.imagesCsv);
 * ```
 */
export async function scoredSyntheticSet(
  dir: string,
  log: (line: string) => void = () => {},
): Promise<ScoredSyntheticSet> {
  dir = resolve(dir);
  log(`building the SYNTHETIC labeled set in ${dir} …`);
  const set = await buildSyntheticSet(dir);
  const scores = join(dir, "scores.csv"), faces = join(dir, "faces.csv");
  log(`scoring ${set.images.length} images …`);
  await runScoreJob([set.imagesDir], scores, {
    heuristics: [...DEFAULT_HEURISTICS, "faces"],
    details: { faces },
    restart: true,
    quiet: true,
  });
  return { ...set, scores, faces };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
