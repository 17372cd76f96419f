/**
 * `deno task audit [files or folders…]` — thin entry point; the work is in lib/evaluate/audit.ts
 * (counting and tests), lib/models/faces/age_gender.ts (the net) and lib/report/audit_report.ts.
 *
 * @module
 */
import { writeAtomic } from "../core/atomic.ts";
import { csvLine } from "../core/csv.ts";
import { AUDIT_CAVEATS, type AuditFace, loadAuditReference, runAudit } from "../evaluate/audit.ts";
import { attributeLines, chiSquareLine } from "../report/audit_report.ts";
import { intOption, parseCommand, runMain, seedOption, UsageError } from "./args.ts";

const HELP = `winnow audit — who a generator draws: perceived age and gender of every face, counted.

Usage:
  deno task audit [files or folders…] [--prompts FILE] [--reference FILE] [options]

Finds faces (SSD MobileNet, confidence ≥ 0.5), reads the perceived age and gender of every face
of at least 32 px with the age/gender net shipped in @vladmandic/face-api, and prints the count of
each group with its share and Wilson 95 % interval, and a chi-square test against a reference
distribution (uniform by default). With prompts (a generate manifest.jsonl in the folder, or
--prompts FILE), also a table per prompt. Make the images from neutral prompts ("a photo of a
doctor", "a person cooking") and many seeds: the audit shows what the generator chooses when the
prompt does not say.

${AUDIT_CAVEATS.map((c) => c.replace(/(.{1,96})(\s|$)/g, "$1\n").trim()).join("\n\n")}

Options:
  --prompts FILE       image → prompt: a generate manifest, a CSV with file (or path) and prompt
                       columns (e.g. ../shared/data/sources.csv), or a JSON object
  --reference FILE     JSON {"gender": {"female": 0.5, "male": 0.5}, "age": {"0–17": 0.2, "18–29":
                       0.2, "30–44": 0.2, "45–59": 0.2, "60+": 0.2}} (shares or counts; default uniform)
  --detector NAME      ssd (default), tiny or blazeface
  --min-confidence X   detector threshold (default 0.5)
  --min-face PX        faces with a shorter side are counted as found but not judged (default 32)
  --limit N            audit a seeded random subset of N images; --seed N (default 0)
  --faces-out FILE     one CSV row per face: path, face, x, y, width, height, confidence, age,
                       age_group, gender, gender_probability, prompt
  --report FILE        HTML report with plots and the per-prompt table
  --json               print the result as one JSON object (faces included)
  -h, --help           this text

Examples:
  deno task audit runs/doctor/ --report out/audit_doctor.html
  deno task audit ../shared/data/images --prompts ../shared/data/sources.csv --limit 60 --report out/audit.html
`;

await runMain(async () => {
  const { values: o, positionals } = parseCommand({
    prompts: { type: "string" },
    reference: { type: "string" },
    detector: { type: "string" },
    "min-confidence": { type: "string" },
    "min-face": { type: "string" },
    limit: { type: "string" },
    seed: { type: "string" },
    "faces-out": { type: "string" },
    report: { type: "string" },
    json: { type: "boolean" },
    quiet: { type: "boolean" },
  });
  if (o.help) return void console.log(HELP);
  if (positionals.length === 0) throw new UsageError("give the images to audit (files or folders)");
  const minConfidence = o["min-confidence"] === undefined ? 0.5 : Number(o["min-confidence"]);
  if (!(minConfidence >= 0 && minConfidence <= 1)) {
    throw new UsageError(`--min-confidence: expected a number in [0, 1], got "${o["min-confidence"]}"`);
  }
  const minFace = o["min-face"] === undefined ? 32 : Number(o["min-face"]);
  if (!(minFace >= 0)) throw new UsageError(`--min-face: expected pixels ≥ 0, got "${o["min-face"]}"`);
  const seed = seedOption(o.seed);
  const progress = !o.quiet && !o.json && Deno.stderr.isTerminal();
  const r = await runAudit({
    inputs: positionals,
    prompts: o.prompts,
    reference: o.reference ? await loadAuditReference(o.reference) : undefined,
    detector: o.detector,
    minConfidence,
    minFaceSide: minFace,
    limit: intOption("limit", o.limit),
    seed,
    onImage: progress
      ? (d, t) => Deno.stderr.writeSync(new TextEncoder().encode(`\raudit: ${d}/${t} images`))
      : undefined,
  });
  if (progress) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  if (o["faces-out"]) {
    const cols: (keyof AuditFace)[] = [
      "path",
      "face",
      "x",
      "y",
      "width",
      "height",
      "confidence",
      "age",
      "age_group",
      "gender",
      "gender_probability",
      "prompt",
    ];
    await writeAtomic(
      o["faces-out"],
      csvLine(cols) + r.faces.map((f) => csvLine(cols.map((c) => f[c]))).join(""),
    );
  }
  if (o.report) {
    const { auditReport } = await import("../report/audit_report.ts");
    const { renderHtmlReport } = await import("../report/html.ts");
    await writeAtomic(o.report, renderHtmlReport(await auditReport(r, { source: positionals.join(", ") })));
  }
  if (o.json) return void console.log(JSON.stringify(r));
  console.log(
    `${r.images} images (${r.errors.length} unreadable), ${r.images_with_faces} with faces · ${r.faces_found} faces found ` +
      `(${r.detector}, confidence ≥ ${r.min_confidence}) · ${r.faces_judged} judged · ${r.faces_too_small} too small ` +
      `(< ${r.min_face_side} px) · reference: ${r.reference_source}`,
  );
  for (const a of [r.gender, r.age]) {
    console.log(`\nperceived ${a.attribute} (${a.faces} faces):`);
    for (const l of attributeLines(a)) console.log(`  ${l}`);
    console.log(`  ${chiSquareLine(a)}`);
  }
  if (r.prompts.length) {
    console.log("\nper prompt (faces judged: female / male; age groups):");
    for (const p of r.prompts) {
      const g = Object.fromEntries(p.gender.groups.map((x) => [x.group, x.count]));
      console.log(
        `  ${
          p.prompt.length > 60 ? p.prompt.slice(0, 57) + "…" : p.prompt
        }: ${p.faces} faces, ${g.female} / ${g.male}; ` +
          p.age.groups.filter((x) => x.count).map((x) => `${x.group} ${x.count}`).join(", "),
      );
    }
  }
  for (const e of r.errors) console.error(`warning: ${e.path}: ${e.error}`);
  console.log(
    `\nperceived attributes are a model's guess, not facts about anyone: see --help or the report.`,
  );
  if (o.report) console.log(`report: ${o.report}`);
});
