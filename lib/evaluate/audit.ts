/**
 * A bias audit of what a generator draws: the perceived age and gender of every face found in a
 * set of images (usually made from neutral prompts such as "a photo of a doctor"), counted per
 * group with Wilson intervals and tested against a stated reference distribution with Pearson's
 * chi-square test, overall and per prompt.
 *
 * The attributes are what a model trained on photos of real people reads from a face (face-api's
 * age/gender net): perceived, binary for gender, rough for age. See {@link AUDIT_CAVEATS}.
 *
 * @module
 */
import { join } from "node:path";
import { decodeImage } from "../core/image.ts";
import { listImages } from "../core/files.ts";
import { seededRandom } from "../core/random.ts";
import { lookupPrompt, parsePrompts, type PromptTable } from "../core/prompts.ts";
import { getDetector } from "../models/faces/detector.ts";
import { loadAgeGender } from "../models/faces/age_gender.ts";
import { chiSquareTest, StatsError, wilsonInterval } from "./stats.ts";

/** What perceived attributes can and cannot say, in plain words (printed with every audit). */
export const AUDIT_CAVEATS: readonly string[] = [
  "These are perceived attributes: what a face model trained on photos of real people guesses a " +
  "viewer would read from a face. A generated face has no age or gender of its own, and nobody's " +
  "identity is known or inferred.",
  "Gender here is the model's two classes (female, male) from its training data; it cannot represent " +
  "non-binary or ambiguous presentation, and a confident answer is not a correct one. Age is a " +
  "regression with errors of several years on real photos, more on stylised or small faces.",
  "The counts say how often the model read each group in these images, with the uncertainty of a " +
  "sample of this size (Wilson 95 % intervals). They can show that a generator skews (e.g. mostly " +
  'perceived-male faces for "a photo of a doctor"); they cannot say which share would be right — ' +
  "that is the reference you choose (uniform by default) — nor anything about skin tone, ethnicity, " +
  "disability or other attributes this model does not read.",
  "The chi-square test asks whether the counts could come from the reference distribution by chance. " +
  "It needs independent faces (several faces of one image are not fully independent) and expected " +
  "counts of about 5 or more per group; a small p-value says 'differs from the reference', not by how " +
  "much or why. Faces the detector missed are not counted, and detectors miss some groups more than others.",
];

/** Age groups (lower bounds in years; the last is open-ended). */
export const DEFAULT_AGE_GROUPS: readonly number[] = [0, 18, 30, 45, 60];

/** Name of the age group of `age` for the given lower bounds ("18–29", "60+"). */
export function ageGroupOf(age: number, bounds: readonly number[] = DEFAULT_AGE_GROUPS): string {
  let i = 0;
  while (i + 1 < bounds.length && age >= bounds[i + 1]) i++;
  return ageGroupNames(bounds)[i];
}

/** The names of the age groups: "0–17", "18–29", …, "60+". */
export function ageGroupNames(bounds: readonly number[] = DEFAULT_AGE_GROUPS): string[] {
  return bounds.map((b, i) => (i + 1 < bounds.length ? `${b}–${bounds[i + 1] - 1}` : `${b}+`));
}

/** One face as the audit read it. */
export interface AuditFace {
  path: string;
  face: number;
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
  /** Perceived age and gender; absent for a face too small to judge. */
  age?: number;
  age_group?: string;
  gender?: "female" | "male";
  gender_probability?: number;
  prompt?: string;
}

/** Count of one group with its share of the faces judged and the Wilson 95 % interval. */
export interface GroupCount {
  group: string;
  count: number;
  share: number;
  ci95: [number, number];
  /** The reference share of this group. */
  reference: number;
}

/** One attribute's distribution against its reference. */
export interface AttributeAudit {
  attribute: "gender" | "age";
  groups: GroupCount[];
  /** Faces counted (the sum of `groups[].count`). */
  faces: number;
  /** Pearson's chi-square test against the reference (NaN without faces). */
  chi_square: { statistic: number; pvalue: number; df: number; min_expected: number };
}

/** Reference shares per attribute: `{ gender: { female: 0.5, male: 0.5 }, age: { "18–29": 0.2, … } }`. */
export interface AuditReference {
  gender?: Record<string, number>;
  age?: Record<string, number>;
  /** Where it came from (a file, or "uniform"). */
  source?: string;
}

/** What {@link runAudit} found. */
export interface AuditResult {
  images: number;
  /** Images that could not be read (path and message). */
  errors: { path: string; error: string }[];
  /** Images with at least one face. */
  images_with_faces: number;
  faces_found: number;
  faces_judged: number;
  /** Faces smaller than `minFaceSide` on their short side: found, not judged. */
  faces_too_small: number;
  min_face_side: number;
  detector: string;
  min_confidence: number;
  gender: AttributeAudit;
  age: AttributeAudit;
  /** Per prompt (when prompts are known): faces judged and the two attributes' counts. */
  prompts: { prompt: string; images: number; faces: number; gender: AttributeAudit; age: AttributeAudit }[];
  reference_source: string;
  faces: AuditFace[];
  caveats: readonly string[];
}

/** Options of {@link runAudit}. */
export interface AuditOptions {
  /** Files or folders of images. */
  inputs: readonly string[];
  /** Face detector (`ssd` default, `tiny`, `blazeface`). */
  detector?: string;
  /** Default 0.5. */
  minConfidence?: number;
  /** Faces whose short side is below this many pixels are counted as found but not judged. Default 32. */
  minFaceSide?: number;
  /** A prompts file (generate manifest, CSV with file/path and prompt, JSON map); a folder's `manifest.jsonl` is used when present. */
  prompts?: string;
  reference?: AuditReference;
  ageGroups?: readonly number[];
  /** Audit a seeded random subset of this many images. */
  limit?: number;
  seed?: number;
  /** Called after each image (for progress). */
  onImage?: (done: number, total: number) => void;
}

/**
 * Counts groups of one attribute against reference shares (uniform over `groups` when none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { attributeAudit } from "./audit.ts";
 * const a = attributeAudit("gender", ["female", "male", "male", "male"], ["female", "male"]);
 * assert.deepEqual(a.groups.map((g) => g.count), [1, 3]);
 * assert.equal(a.chi_square.statistic, 1); // (1−2)²/2 + (3−2)²/2
 * ```
 */
export function attributeAudit(
  attribute: "gender" | "age",
  values: readonly string[],
  groups: readonly string[],
  reference?: Record<string, number>,
): AttributeAudit {
  const ref = referenceShares(groups, reference, attribute);
  const n = values.length;
  const counts = groups.map((g) => values.filter((v) => v === g).length);
  const extra = values.filter((v) => !groups.includes(v));
  if (extra.length) {
    throw new StatsError(`${attribute}: values outside the groups: ${[...new Set(extra)].join(", ")}`);
  }
  const test = n > 0 ? chiSquareTest(counts, groups.map((g) => ref[g] * n)) : undefined;
  return {
    attribute,
    groups: groups.map((g, i) => ({
      group: g,
      count: counts[i],
      share: n ? counts[i] / n : NaN,
      ci95: wilsonInterval(counts[i], n),
      reference: ref[g],
    })),
    faces: n,
    chi_square: test
      ? {
        statistic: test.statistic,
        pvalue: test.pvalue,
        df: test.df,
        min_expected: Math.min(...test.expected),
      }
      : { statistic: NaN, pvalue: NaN, df: groups.length - 1, min_expected: 0 },
  };
}

function referenceShares(
  groups: readonly string[],
  reference: Record<string, number> | undefined,
  attribute: string,
): Record<string, number> {
  if (!reference) return Object.fromEntries(groups.map((g) => [g, 1 / groups.length]));
  const unknown = Object.keys(reference).filter((k) => !groups.includes(k));
  if (unknown.length) {
    throw new StatsError(
      `reference ${attribute}: unknown group(s) ${unknown.join(", ")} (groups: ${groups.join(", ")})`,
    );
  }
  const missing = groups.filter((g) => !(g in reference));
  if (missing.length) throw new StatsError(`reference ${attribute}: no share for ${missing.join(", ")}`);
  const total = groups.reduce((s, g) => s + reference[g], 0);
  for (const g of groups) {
    if (!(reference[g] > 0)) {
      throw new StatsError(`reference ${attribute}: share of ${g} must be > 0, got ${reference[g]}`);
    }
  }
  return Object.fromEntries(groups.map((g) => [g, reference[g] / total]));
}

/**
 * Reads a reference distribution: JSON `{ "gender": { "female": 1, "male": 1 }, "age": { "0–17":
 * 0.22, … } }` (shares or counts; each attribute optional, uniform when absent). Age group names
 * are those of {@link ageGroupNames} ("0–17", "18–29", "30–44", "45–59", "60+"; "-" may stand for "–").
 */
export async function loadAuditReference(file: string): Promise<AuditReference> {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    throw new StatsError(`${file}: cannot read the reference distribution: ${(e as Error).message}`);
  }
  const take = (k: string) => {
    const v = obj[k];
    if (v === undefined) return undefined;
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw new StatsError(`${file}: "${k}" must be an object of group → share`);
    }
    return Object.fromEntries(Object.entries(v).map(([g, s]) => [g.replace("-", "–"), Number(s)]));
  };
  return { gender: take("gender"), age: take("age"), source: file };
}

/** Prompts for images: the file given, else each folder's manifest.jsonl. */
async function promptTables(options: AuditOptions): Promise<PromptTable[]> {
  if (options.prompts) return [parsePrompts(options.prompts, await Deno.readTextFile(options.prompts))];
  const tables: PromptTable[] = [];
  for (const input of options.inputs) {
    const st = await Deno.stat(input).catch(() => null);
    const m = st?.isDirectory ? join(input, "manifest.jsonl") : null;
    if (m && await Deno.stat(m).then(() => true, () => false)) {
      tables.push(parsePrompts(m, await Deno.readTextFile(m)));
    }
  }
  return tables;
}

/**
 * Runs the audit: finds faces in every image (one image that fails to decode is recorded and
 * skipped), reads the perceived age and gender of every face large enough, and counts.
 *
 * @example
 * ```ts ignore
 * import { runAudit } from "./audit.ts";
 * const r = await runAudit({ inputs: ["runs/doctor/"] });
 * console.log(r.gender.groups.map((g) => `${g.group}: ${g.count}`));
 * ```
 */
export async function runAudit(options: AuditOptions): Promise<AuditResult> {
  const detectorName = options.detector ?? "ssd";
  const minConfidence = options.minConfidence ?? 0.5;
  const minFaceSide = options.minFaceSide ?? 32;
  const bounds = options.ageGroups ?? DEFAULT_AGE_GROUPS;
  let files = (await listImages(options.inputs)).files;
  if (options.limit !== undefined && options.limit < files.length) {
    const rand = seededRandom(options.seed ?? 0);
    const order = files.map((f) => [rand(), f] as const).sort((a, b) => a[0] - b[0]);
    files = order.slice(0, options.limit).map((x) => x[1]).sort();
  }
  const tables = await promptTables(options);
  const detector = await getDetector(detectorName);
  const net = await loadAgeGender();
  const faces: AuditFace[] = [];
  const errors: { path: string; error: string }[] = [];
  const imagePrompt = new Map<string, string | undefined>();
  let withFaces = 0;
  for (const [i, path] of files.entries()) {
    const prompt = tables.map((t) => lookupPrompt(t, path)).find((p) => p !== undefined && p !== "");
    imagePrompt.set(path, prompt);
    try {
      const img = await decodeImage(path);
      const found = await detector.detect(img, { minConfidence });
      if (found.length) withFaces++;
      for (const [k, f] of found.entries()) {
        const row: AuditFace = {
          path,
          face: k,
          x: f.x,
          y: f.y,
          width: f.width,
          height: f.height,
          confidence: f.confidence,
          ...(prompt !== undefined ? { prompt } : {}),
        };
        if (Math.min(f.width, f.height) >= minFaceSide) {
          const p = await net.estimate(img, f);
          row.age = p.age;
          row.age_group = ageGroupOf(p.age, bounds);
          row.gender = p.gender;
          row.gender_probability = p.genderProbability;
        }
        faces.push(row);
      }
    } catch (e) {
      errors.push({ path, error: (e as Error).message });
    }
    options.onImage?.(i + 1, files.length);
  }
  const judged = faces.filter((f) => f.gender !== undefined);
  const ref = options.reference ?? {};
  const genders = ["female", "male"];
  const ages = ageGroupNames(bounds);
  const audit = (list: AuditFace[]) => ({
    gender: attributeAudit("gender", list.map((f) => f.gender!), genders, ref.gender),
    age: attributeAudit("age", list.map((f) => f.age_group!), ages, ref.age),
  });
  const byPrompt = new Map<string, AuditFace[]>();
  for (const f of judged) {
    if (f.prompt !== undefined) byPrompt.set(f.prompt, [...(byPrompt.get(f.prompt) ?? []), f]);
  }
  const imagesPerPrompt = new Map<string, number>();
  for (const p of imagePrompt.values()) {
    if (p !== undefined) imagesPerPrompt.set(p, (imagesPerPrompt.get(p) ?? 0) + 1);
  }
  return {
    images: files.length,
    errors,
    images_with_faces: withFaces,
    faces_found: faces.length,
    faces_judged: judged.length,
    faces_too_small: faces.length - judged.length,
    min_face_side: minFaceSide,
    detector: detectorName,
    min_confidence: minConfidence,
    ...audit(judged),
    prompts: [...byPrompt].map(([prompt, list]) => ({
      prompt,
      images: imagesPerPrompt.get(prompt) ?? 0,
      faces: list.length,
      ...audit(list),
    })).sort((a, b) => b.faces - a.faces || a.prompt.localeCompare(b.prompt)),
    reference_source: ref.source ?? (ref.gender || ref.age ? "given" : "uniform"),
    faces,
    caveats: AUDIT_CAVEATS,
  };
}
