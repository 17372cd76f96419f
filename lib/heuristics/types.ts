/**
 * The shared interface every heuristic implements, and the per-image context they read.
 *
 * A heuristic is one file in `lib/heuristics/` that exports one {@link Heuristic} object and is
 * listed once in `registry.ts`. It declares what it measures, its output columns (name, unit,
 * direction), its default thresholds with their source, and the error type an image that fails
 * them is counted under. `compute` turns an image into values; thresholds are applied outside it
 * (`lib/score/rules.ts`), so calibration can replace them without touching the heuristic.
 *
 * @module
 */
import type { RgbImage } from "../core/image.ts";
import { type EdgeSums, edgeSweep, grayPlane, type RgbSums, rgbSweep } from "../core/pixel_stats.ts";
import type { Box } from "../core/geometry.ts";

/** Which way an output is better. `neither` for descriptive values (counts, coordinates). */
export type Direction = "higher_is_better" | "lower_is_better" | "neither";

/** One output column of a heuristic. */
export interface OutputSpec {
  /** Column name in score tables, e.g. `laplacian_var`. Stable: tools rely on it. */
  name: string;
  /** Unit in words, e.g. `gray levels²`, `fraction 0–1`, `pixels`. */
  unit: string;
  direction: Direction;
  /** What the value is, exactly enough to recompute it. */
  description: string;
  /** `number` (default) or `string`. */
  type?: "number" | "string";
}

/** A default threshold on one output. A value below `min` or above `max` fails. */
export interface ThresholdSpec {
  output: string;
  min?: number;
  max?: number;
  /** Error type reported when this threshold fails; defaults to the heuristic's `errorType`. */
  errorType?: string;
  /** Where the number comes from (a reference, or "eyeballed: calibrate it"). */
  source: string;
}

export type { Box };

/** A value a heuristic produces: a number, a string (hashes), or `null` (not applicable). */
export type Value = number | string | null;

/** Per-image inputs beside the pixels: a region or mask to check (e.g. an inpainted area). */
export interface ImageOptions {
  /** The file the image came from, for names of files a heuristic writes (face crops). */
  path?: string;
  /** A box of the image, e.g. where a person was inpainted. */
  region?: Box;
  /** A mask of `width * height` bytes, non-zero inside; takes precedence over `region`. */
  mask?: Uint8Array;
  /**
   * Settings per heuristic, keyed by heuristic name (e.g. `{ faces: { detector: "ssd" } }`).
   * Configuration is passed in here, never read from globals; each heuristic documents its keys.
   */
  settings?: Record<string, Record<string, unknown>>;
}

/** A row of a per-item table (one row per detected face, text region, …). */
export type DetailRow = Record<string, Value>;

/** A per-item table that a heuristic fills beside its per-image values, e.g. one row per face. */
export interface DetailTableSpec {
  /** Table name, e.g. `faces`; the CLI writes it with `--faces FILE`. */
  name: string;
  /** Its columns after `path`, in order. */
  columns: OutputSpec[];
}

/**
 * One image as heuristics see it, with derived planes computed once and shared between them
 * (the gray plane is used by sharpness, exposure, saliency and hashing). The per-pixel work of the
 * pure heuristics is done in two fused sweeps ({@link ImageContext.rgbSums},
 * {@link ImageContext.edgeSums}, see `lib/core/pixel_stats.ts`) that each heuristic reads.
 */
export class ImageContext {
  #memo = new Map<string, unknown>();
  /** Rows of per-item tables added by heuristics, by table name. */
  readonly details = new Map<string, DetailRow[]>();
  constructor(readonly image: RgbImage, readonly options: ImageOptions = {}) {}

  /** Settings given for heuristic `name` (empty object when none). */
  settingsFor(name: string): Record<string, unknown> {
    return this.options.settings?.[name] ?? {};
  }

  /** Adds a row to per-item table `table` (e.g. one detected face). */
  addDetail(table: string, row: DetailRow): void {
    const rows = this.details.get(table) ?? [];
    rows.push(row);
    this.details.set(table, rows);
  }

  get width(): number {
    return this.image.width;
  }
  get height(): number {
    return this.image.height;
  }

  /** OpenCV 8-bit luma plane, computed once (by the RGB sweep). */
  get gray(): Uint8Array {
    return this.rgbSums.gray;
  }

  /** Gray plane, gray histogram, skin count and colour moments: one sweep over the RGB bytes. */
  get rgbSums(): RgbSums {
    return this.memo("rgbSums", () => rgbSweep(this.image));
  }

  /**
   * The gray plane for reading at once, without copying it out of the RGB sweep's kernel memory
   * when it is still there: valid only until the next sweep or kernel call, so keep nothing of it
   * (use {@link ImageContext.gray} for a plane to keep).
   */
  grayNow(): Uint8Array {
    return grayPlane(this.rgbSums);
  }

  /** Laplacian and Sobel sums and grid-binned Laplacian moments: one sweep over the gray plane. */
  get edgeSums(): EdgeSums {
    return this.memo("edgeSums", () => edgeSweep(this.grayNow(), this.width, this.height));
  }

  /**
   * The values of heuristic `h` on this image, computed once: a heuristic that builds on others
   * (e.g. `usable`) asks for their values here, and the scorer does too, so nothing runs twice and
   * per-item rows (faces, text regions) are added once.
   */
  valuesOf(h: Heuristic): Promise<Record<string, Value>> {
    return this.memo(`values:${h.name}`, async () => await h.compute(this));
  }

  /** Computes `make()` once per image under `key` and returns the cached value afterwards. */
  memo<T>(key: string, make: () => T): T {
    if (!this.#memo.has(key)) this.#memo.set(key, make());
    return this.#memo.get(key) as T;
  }
}

/**
 * A batch-level step of a heuristic: columns that need every image of a batch (e.g. the rank of a
 * score among the images of one prompt). It runs after all rows are scored and fills `outputs`.
 */
export interface BatchStep {
  outputs: OutputSpec[];
  /** Returns the rows with the step's columns added (the input is not changed). */
  apply(rows: readonly Record<string, Value>[]): Record<string, Value>[];
}

/**
 * A learned scorer a heuristic applies (a `winnow-scorer/1` file, `lib/models/scorer.ts`): the
 * scorer's `name` and the heuristic setting that takes the file's path. `score --scorer FILE` puts a
 * refitted file there by its `name`.
 */
export interface ScorerUse {
  /** The scorer's `name`, e.g. `face_quality`. */
  name: string;
  /** The heuristic's setting holding the file path, e.g. `qualityModel`. */
  setting: string;
}

/** A heuristic: metadata plus a pure function from an image to its output values. */
export interface Heuristic {
  /** Short name used on the command line (`--heuristics sharpness,skin`). */
  name: string;
  /** What it measures and why it matters, one or two sentences. */
  description: string;
  /** Error type counted when an image fails one of its thresholds (label vocabulary where it fits). */
  errorType: string;
  outputs: OutputSpec[];
  /** Default thresholds; empty when no default is defensible without calibration. */
  thresholds: ThresholdSpec[];
  /** Per-item tables this heuristic fills through `ctx.addDetail` (e.g. one row per face). */
  details?: DetailTableSpec[];
  /** Columns computed across the batch after scoring (see {@link BatchStep}). */
  batch?: BatchStep;
  /** Learned scorers it applies and the setting that takes each one's file (see {@link ScorerUse}). */
  scorers?: ScorerUse[];
  /**
   * Images per {@link Heuristic.prepareBatch} call by default, chosen from `deno task bench --parts
   * models --batch …` (README, "Model heuristics in batches"); 1 or absent: no batching.
   */
  batchSize?: number;
  /**
   * Runs the heuristic's model on several images at once and memoises each image's model output
   * in its context (`ctx.memo`, under the key `compute` reads), so `compute` then does only the
   * per-image arithmetic and gives the same values as alone. Optional: the scorer
   * (`lib/score/score_image.ts` `scoreImages`) calls it when present and falls back to `compute`
   * per image when it is absent or throws. It must not memoise anything for an image whose model
   * run failed, so that image's error comes from its own `compute` and costs only its own row.
   */
  prepareBatch?(ctxs: readonly ImageContext[]): Promise<void>;
  /**
   * Returns one value per declared output (by output name). Heuristics that run a model may be
   * async; they load their model once per process (per worker) and reuse it.
   */
  compute(ctx: ImageContext): Record<string, Value> | Promise<Record<string, Value>>;
}

/** A heuristic without a model: synchronous, pure arithmetic on the pixels. */
export interface PureHeuristic extends Heuristic {
  compute(ctx: ImageContext): Record<string, Value>;
}
