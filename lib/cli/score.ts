/**
 * `deno task score <files or folders…> --out FILE` — thin entry point; the work is in lib/.
 *
 * @module
 */
import { runScoreJob } from "../score/job.ts";
import { parseShard, prepareScaleOut } from "../score/shard.ts";
import {
  DEFAULT_HEURISTICS,
  describeHeuristics,
  detailTableOwner,
  MODEL_HEURISTICS,
  MODEL_STORE_HEURISTICS,
  PROMPT_HEURISTICS,
  resolveHeuristics,
  scorerUse,
} from "../heuristics/registry.ts";
import { DEFAULT_MIN_CONFIDENCE, DETECTOR_NAMES, isDetectorName } from "../models/faces/detector.ts";
import { DEFAULT_FACE_DETECTOR } from "../heuristics/faces.ts";
import { loadScorer } from "../models/scorer.ts";
import { defaultRulesWithCalibrated, loadThresholds, type ThresholdRule } from "../score/rules.ts";
import { DEFAULT_BACKGROUND, DEFAULT_MAX_PIXELS } from "../core/image.ts";
import {
  DEFAULT_TIME_LIMIT_SECONDS,
  DEFAULT_WORKER_HEAP_MB,
  type Fault,
  type Isolation,
  ISOLATIONS,
} from "../score/pool.ts";
import {
  boxOption,
  intOption,
  mergeSettings,
  numberOption,
  parseCommand,
  parseSetOptions,
  runMain,
  UsageError,
} from "./args.ts";

const HELP = `winnow score — score images with the heuristic registry, one row per image.

Usage:
  deno task score <files or folders…> --out FILE [options]

Inputs are image files or folders (searched recursively for .jpg .jpeg .png .webp .avif .heic
.gif .tif .tiff .svg .bmp .dib .ico .cur .pbm .pgm .ppm .pnm). Files named explicitly are always
scored, whatever their ending. Every entry with an image ending gets a row, even one that cannot
be read: error_kind says why (broken_link, not_a_file, unreadable, not_found, empty, not_an_image,
truncated, corrupt, too_many_pixels, timeout, worker_crashed, …). Other files are skipped and
counted; --verbose names them.

Output (--out, required): .csv, .jsonl or .parquet. Rows are written as images finish, so a
killed run loses nothing; running again with the same --out scores only the files not yet in it.
Columns: path, width, height, format, error, error_kind, then each heuristic's outputs
(--list-heuristics), then kept and reject_reasons when --thresholds is given. A file that cannot
be decoded gets a row whose error names the problem; its value columns are empty.

Options:
  --out FILE              result table (.csv, .jsonl, .parquet)
  --heuristics A,B        heuristics to run; default: every one without a model
                          (${DEFAULT_HEURISTICS.join(",")});
                          ones with a model run only when named (${MODEL_HEURISTICS.join(",")})
  --thresholds FILE       apply threshold rules from FILE (written by \`calibrate\`), or the word
                          "defaults" for each heuristic's declared defaults plus the shipped
                          calibrated rules (data/models/thresholds.json, e.g. usable_score ≥ t
                          chosen out of fold on data/labels); adds kept, reject_reasons
  --region X,Y,W,H        a box (pixels of the upright image) for region checks, e.g. skin where a
                          person was inpainted (skin_region_ratio)
  --masks FILE|DIR        a mask image (white = inside) for every image, or a folder with one mask
                          per image named like it (a.jpg → a.png); resized to the image if needed
  --jobs N                parallel workers (default: number of cores, ${navigator.hardwareConcurrency})
  --batch N               images each worker gathers before running the model heuristics on them
                          together (default: chosen per model from measurements, 1 when batching
                          does not pay; see README "Model heuristics in batches"); values are the
                          same, a bad image still costs only its own row
  --isolation process|thread
                          where workers run. process (the default when --allow-run is given, as
                          deno task score does): child processes, each its own deno run and V8
                          heap, so even a native crash (a segfault in libvips) or an out-of-memory
                          abort on one image costs only that image's row (worker_crashed); about
                          100 MB more memory per worker and ~0.5 s more start-up. thread: threads
                          of this process; a JS error or a hang still costs one row, a native crash
                          ends the run
  --worker-heap-mb N      V8 heap limit of each process worker, MB (default ${DEFAULT_WORKER_HEAP_MB})
  --max-pixels N          refuse images with more pixels (default ${DEFAULT_MAX_PIXELS})
  --time-limit SECONDS    per-file limit; past it the worker is replaced and the file gets an error
                          row of kind timeout (default ${DEFAULT_TIME_LIMIT_SECONDS})
  --background COLOR      colour that transparency is flattened onto (default ${DEFAULT_BACKGROUND})
  --duplicates FILE       write near-duplicate groups (phash within --duplicate-distance) to a CSV:
                          path, group, group_size, distance, representative
  --duplicate-distance N  largest Hamming distance (of 64 bits) between near-duplicates (default 10)
  --restart               overwrite --out instead of resuming it
  --quiet                 no progress line
  --verbose               name every file skipped for not being an image
  --list-heuristics       print every heuristic with its outputs, units and default thresholds
  -h, --help              this text

Faces (any of these adds the \`faces\` heuristic; its model loads once per worker):
  --faces FILE            write one row per detected face (.csv, .jsonl, .parquet): path, face,
                          detector, x, y, width, height (pixels of the upright original),
                          confidence, area_px, area_frac, log10_area, skin_ratio, counted, the
                          quality measures (crop_sharpness, crop_contrast, crop_saturation,
                          crop_symmetry, blaze_score, landmark_distance) and face_quality (0–1,
                          the shipped data/models/face_quality.json scorer; higher = better).
                          Image rows gain face_count, face_min_area_frac, face_max_area_frac,
                          face_min_log10_area, face_min_confidence, face_mean_confidence,
                          face_min_quality (empty when no face; rules on them then pass).
                          Three thresholds: faces are FOUND at ≥ 0.1
                          (--set faces.findConfidence=X), COUNTED at ≥ --min-face-confidence,
                          and JUDGED at ≥ 0.3 (--set faces.judgeConfidence=X): blaze_score,
                          landmark_distance and face_quality are computed for those (from
                          --set faces.qualityConfidence=X up), and only they count in
                          face_min_quality
  --detector NAME         face detector: ${DETECTOR_NAMES.join(", ")} (default ${DEFAULT_FACE_DETECTOR}); the
                          default confidence rule is measured for ssd (others score lower): calibrate
  --min-face-confidence X faces scored below X (0–1) are not counted (default ${DEFAULT_MIN_CONFIDENCE}); they
                          still get a row (and a face_quality when judged)
  --face-crops DIR        save each face with a 25% margin as DIR/<image stem>_face<k>.jpg

Garbled text (PaddleOCR, offline; adds the text heuristic):
  --text FILE             write one row per text region (.csv, .jsonl, .parquet): path, region, x,
                          y, width, height, text, confidence, in_dictionary

Hands, bodies, objects (TF.js wasm models shipped in npm; each option adds its heuristic):
  --hands FILE            one row per detected hand (box, confidence, keypoint_confidence, fingers,
                          21 keypoints); heuristic hands
  --bodies FILE           one row per person (crop, head_score, arms, limb_ratio, hands, keypoints);
                          heuristic pose
  --objects FILE          one row per COCO detection (label, confidence, box, merged_with); heuristic
                          objects (with --prompt/--prompts: prompt nouns missing → prompt_mismatch)
  (nsfw: --heuristics nsfw)

Learned scorers and probing (run only when named in --heuristics; see docs/models.md):
  --prompt TEXT           the prompt every image was generated from (${PROMPT_HEURISTICS.join(", ")})
  --prompts FILE          image → prompt: a generation manifest (JSONL with file, prompt), a CSV
                          with file/path and prompt columns, or a JSON object
  --models DIR            the model store (default $WINNOW_MODELS, else ~/.cache/winnow/models)
  --probe FILE            run the probe heuristic and write its raw answers, one row per question
  --scorer FILE           a learned scorer file (from \`deno task fit\`, e.g. your own refit of
                          face_quality) instead of the shipped one; repeatable; adds the heuristic
                          that applies it
  --set H.KEY=VALUE       any setting of heuristic H (repeatable; VALUE read as JSON when it
                          parses), e.g. --set probe.baseUrl=http://127.0.0.1:11434/v1
                          --set probe.model=llava --set faces.cropMargin=0.4

Scale-out (one machine of many; see README "Scoring millions of images"):
  --shard I/N             score only shard I (0-based) of N: a stable hash of each file's path as
                          listed relative to the input given. --out is then a folder and the shard
                          writes part-IIIII-of-NNNNN.parquet in it (a rerun resumes and replaces
                          it); \`deno task merge\` joins the parts
  --shard auto/N          I from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or
                          AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job)
  --from-list FILE        also score the files listed in FILE, one per line (relative lines are
                          relative to FILE's folder; # comments and blank lines skipped)
  s3://bucket/prefix      works for inputs, --out and --from-list (endpoint from
                          AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, credentials from the AWS SDK's
                          chain); an s3:// --out is checkpointed to OUT.partial while it runs
  --checkpoint-every S    seconds between those checkpoints (default 30; fractions allowed)

Examples:
  deno task score out/demo/images --out scores.csv
  deno task score gens/ --out scores.parquet --heuristics sharpness,exposure --thresholds defaults
  deno task score inpainted/ --masks masks/ --heuristics skin --out skin.csv
  deno task score gens/ --out scores.csv --faces faces.csv --thresholds defaults
  deno task score run/ --out scores.csv --heuristics clip_score --prompts run/manifest.jsonl
  deno task score s3://gens/2026/ --shard auto/64 --out s3://gens/scores/ --quiet
`;

/** The `faces` settings from `--detector`, `--min-face-confidence`, `--face-crops`; undefined when none. */
function faceOptions(
  o: { detector?: string; "min-face-confidence"?: string; "face-crops"?: string; faces?: string },
): Record<string, unknown> | undefined {
  if (o.faces === "") throw new UsageError("--faces: expected a file name (.csv, .jsonl or .parquet)");
  const settings: Record<string, unknown> = {};
  if (o.detector !== undefined) {
    if (!isDetectorName(o.detector)) {
      throw new UsageError(`--detector: expected one of ${DETECTOR_NAMES.join(", ")}, got "${o.detector}"`);
    }
    settings.detector = o.detector;
  }
  const c = numberOption("min-face-confidence", o["min-face-confidence"], { min: 0, max: 1 });
  if (c !== undefined) settings.minConfidence = c;
  if (o["face-crops"] !== undefined) {
    if (o["face-crops"] === "") throw new UsageError("--face-crops: expected a folder");
    settings.cropsDir = o["face-crops"];
  }
  return Object.keys(settings).length ? settings : undefined;
}

/** `--prompt`, `--prompts`, `--models` as settings of the heuristics that use them. */
function promptSettings(o: { prompt?: string; prompts?: string; models?: string }) {
  const out: Record<string, Record<string, unknown>> = {};
  for (const h of PROMPT_HEURISTICS) {
    if (o.prompt !== undefined) (out[h] ??= {}).prompt = o.prompt;
    if (o.prompts !== undefined) (out[h] ??= {}).prompts = o.prompts;
  }
  if (o.models !== undefined) {
    for (const h of MODEL_STORE_HEURISTICS) {
      (out[h] ??= {}).modelsDir = o.models;
    }
  }
  return out;
}

/** `--isolation`; by default process workers, or threads (with a note) when --allow-run is missing. */
function isolationOption(value: string | undefined): Isolation {
  if (value === undefined) {
    if (Deno.permissions.querySync({ name: "run" }).state === "granted") return "process";
    console.error("note: process workers need --allow-run; scoring on thread workers (--isolation thread)");
    return "thread";
  }
  if (!(ISOLATIONS as readonly string[]).includes(value)) {
    throw new UsageError(`--isolation: expected ${ISOLATIONS.join(" or ")}, got "${value}"`);
  }
  return value as Isolation;
}

/** Testing hook: WINNOW_TEST_FAULTS='{"/abs/file.png":"segfault"}' (see `PoolOptions.faults`). */
function testFaults(): Record<string, Fault> | undefined {
  const raw = Deno.env.get("WINNOW_TEST_FAULTS");
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`WINNOW_TEST_FAULTS: expected a JSON object path → fault: ${(e as Error).message}`);
  }
}

await runMain(async () => {
  const { values: o, positionals } = parseCommand({
    out: { type: "string" },
    heuristics: { type: "string" },
    thresholds: { type: "string" },
    region: { type: "string" },
    masks: { type: "string" },
    jobs: { type: "string" },
    isolation: { type: "string" },
    batch: { type: "string" },
    "worker-heap-mb": { type: "string" },
    "max-pixels": { type: "string" },
    "time-limit": { type: "string" },
    background: { type: "string" },
    duplicates: { type: "string" },
    "duplicate-distance": { type: "string" },
    faces: { type: "string" },
    detector: { type: "string" },
    "min-face-confidence": { type: "string" },
    "face-crops": { type: "string" },
    prompt: { type: "string" },
    prompts: { type: "string" },
    models: { type: "string" },
    set: { type: "string", multiple: true },
    scorer: { type: "string", multiple: true },
    probe: { type: "string" },
    text: { type: "string" },
    hands: { type: "string" },
    bodies: { type: "string" },
    objects: { type: "string" },
    shard: { type: "string" },
    "from-list": { type: "string" },
    "checkpoint-every": { type: "string" },
    restart: { type: "boolean" },
    quiet: { type: "boolean" },
    verbose: { type: "boolean" },
    "list-heuristics": { type: "boolean" },
  });
  if (o.help) return void console.log(HELP);
  if (o["list-heuristics"]) return void console.log(describeHeuristics());
  if (!o.out) throw new UsageError("--out FILE is required (.csv, .jsonl or .parquet)");
  if (positionals.length === 0 && !o["from-list"]) {
    throw new UsageError("give at least one image file or folder to score (or --from-list FILE)");
  }
  let heuristics = o.heuristics?.split(",").map((s) => s.trim()).filter(Boolean);
  /** Adds `h` to the heuristics run (to the defaults when none were named). */
  const add = (h: string) => heuristics = [...new Set([...(heuristics ?? DEFAULT_HEURISTICS), h])];
  const faceSettings = faceOptions(o);
  if (faceSettings || o.faces !== undefined) {
    add("faces");
  }
  const scorerSettings: Record<string, Record<string, unknown>> = {};
  for (const file of o.scorer ?? []) {
    const scorer = await loadScorer(file);
    const use = scorerUse(scorer.name);
    if (!use) throw new UsageError(`--scorer ${file}: no heuristic applies a scorer named "${scorer.name}"`);
    (scorerSettings[use.heuristic] ??= {})[use.setting] = file;
    add(use.heuristic);
  }
  const settings = mergeSettings(
    faceSettings ? { faces: faceSettings } : {},
    promptSettings(o),
    scorerSettings,
    parseSetOptions(o.set ?? []),
  );
  if (o.probe !== undefined) add("probe");
  // Each per-item table option adds the heuristic that fills it (the registry knows which).
  for (const table of ["text", "hands", "bodies", "objects"] as const) {
    const h = detailTableOwner(table)!;
    if (o[table] !== undefined) add(h);
  }
  let rules: ThresholdRule[] | undefined;
  if (o.thresholds === "defaults") {
    rules = await defaultRulesWithCalibrated(resolveHeuristics(heuristics));
  } else if (o.thresholds) rules = await loadThresholds(o.thresholds);
  // Side tables are written locally (each pod its own); only the main table goes to object storage.
  for (
    const opt of ["faces", "text", "hands", "bodies", "objects", "probe", "duplicates", "masks"] as const
  ) {
    if (o[opt]?.startsWith("s3://")) {
      throw new UsageError(`--${opt}: s3:// is only for inputs, --out and --from-list; give a local path`);
    }
  }
  const plan = await prepareScaleOut(positionals, o.out, {
    shard: o.shard === undefined ? undefined : parseShard(o.shard, Deno.env.toObject()),
    fromList: o["from-list"],
    checkpointSeconds: numberOption("checkpoint-every", o["checkpoint-every"], { positive: true }),
    restart: o.restart,
  });
  const r = await runScoreJob(positionals, plan.out, {
    files: plan.files,
    localize: plan.localize,
    heuristics,
    rules,
    region: boxOption("region", o.region),
    masks: o.masks,
    jobs: intOption("jobs", o.jobs),
    decode: { maxPixels: intOption("max-pixels", o["max-pixels"]), background: o.background },
    timeLimitSeconds: numberOption("time-limit", o["time-limit"], { positive: true }),
    isolation: isolationOption(o.isolation),
    workerHeapMb: intOption("worker-heap-mb", o["worker-heap-mb"]),
    batch: intOption("batch", o.batch),
    faults: testFaults(),
    restart: o.restart,
    quiet: o.quiet,
    keepRows: false,
    duplicatesOut: o.duplicates,
    duplicateDistance: intOption("duplicate-distance", o["duplicate-distance"]),
    details: {
      ...(o.faces !== undefined ? { faces: o.faces } : {}),
      ...(o.probe !== undefined ? { probe: o.probe } : {}),
      ...(o.text !== undefined ? { text: o.text } : {}),
      ...(o.hands !== undefined ? { hands: o.hands } : {}),
      ...(o.bodies !== undefined ? { bodies: o.bodies } : {}),
      ...(o.objects !== undefined ? { objects: o.objects } : {}),
    },
    settings,
  }).catch(async (e) => {
    await plan.abandon();
    throw e;
  });
  await plan.finish();
  console.log(r.summary);
  console.log(
    `scored ${r.scored} in ${r.seconds.toFixed(1)} s` +
      (r.scored ? ` (${(r.scored / r.seconds).toFixed(1)} images/s)` : "") +
      (r.resumed ? `, ${r.resumed} already in ${plan.target}` : "") +
      (r.skippedNonImages.length + plan.skipped.length
        ? `, ${r.skippedNonImages.length + plan.skipped.length} non-image files skipped${
          o.verbose ? "" : " (--verbose names them)"
        }`
        : "") +
      (plan.files && o.shard ? `, shard ${o.shard} of ${plan.listed} listed` : "") +
      ` → ${plan.target}`,
  );
  const skipped = [...plan.skipped, ...r.skippedNonImages].sort();
  if (o.verbose && skipped.length) {
    console.log(`skipped (not images):\n${skipped.map((p) => `  ${p}`).join("\n")}`);
  }
});
