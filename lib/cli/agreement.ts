/**
 * `deno task agreement A B [--settled C] [--out DIR] [--json]` — two raters' label files →
 * agreement, disagreements and a consensus; thin entry point, the work is in lib/labels/consensus.ts.
 *
 * @module
 */
import { join } from "node:path";
import {
  buildConsensus,
  compareRaters,
  consensusFacesCsv,
  consensusImagesCsv,
  disagreementsCsv,
  loadRaterLabels,
  type RaterLabels,
  RaterLabelsNotFoundError,
} from "../labels/consensus.ts";
import { writeAtomic } from "../core/atomic.ts";
import { parseCommand, runMain, UsageError } from "./args.ts";

const HELP = `winnow agreement — how well two raters agree, where they differ, and their consensus.

Usage:
  deno task agreement A B [--settled C] [--out DIR] [--json]

A, B (and C) are rater folders as \`deno task label\` writes them (with images.csv and/or
faces.csv), or single images.csv files. Images join on their path; faces on the same image with
IoU ≥ 0.5.

Prints, over the items both labeled: Cohen's kappa of usable; kappa (unweighted, linear,
quadratic) and Spearman's rho of image quality; Cohen's kappa of "bad face" (quality ≤ 2),
weighted kappa and Spearman of face quality (as scikit-learn and SciPy compute them); then the
disagreements: images whose usable differs or whose quality differs by 2 or more, faces whose
"bad face" differs, whose quality differs by 2 or more, or that only one rater labeled.

Consensus rule (--out): an image whose usable labels differ is dropped; otherwise usable is the
common value, quality the mean rounded down, errors the union of both. A face whose qualities
differ by more than one point, or that one rater did not label, is dropped; otherwise quality is
the mean rounded down. An item the third rater (--settled, e.g. from the app's review view)
labeled takes that rater's label instead.

Options:
  --out DIR        write DIR/images.csv and DIR/faces.csv (consensus, with the columns usable_a,
                   usable_b, quality_a, quality_b, source) and DIR/disagreements.csv
  --settled C      a third rater's folder or images.csv that settles disagreements
  --json           print one JSON object (images, faces, disagreements) instead of text
  -h, --help       this text

Examples:
  deno task agreement labels/ann labels/bob
  deno task agreement labels/ann labels/bob --settled labels/carol --out labels/consensus
`;

/** A rater's labels; a path that holds none is a usage error (exit 2). */
async function loadRater(arg: string): Promise<RaterLabels> {
  return await loadRaterLabels(arg).catch((e) => {
    throw e instanceof RaterLabelsNotFoundError ? new UsageError(e.message) : e;
  });
}

const f3 = (v: number) => Number.isNaN(v) ? "n/a" : v.toFixed(3);

await runMain(async () => {
  const { values: o, positionals } = parseCommand({
    out: { type: "string" },
    settled: { type: "string" },
    json: { type: "boolean" },
  });
  if (o.help) return void console.log(HELP);
  if (positionals.length !== 2) throw new UsageError("give exactly two raters (folders or images.csv files)");
  const [a, b] = await Promise.all(positionals.map(loadRater));
  const settled = o.settled ? await loadRater(o.settled) : {};
  const report = compareRaters(a, b);
  const consensus = buildConsensus(a, b, settled);
  if (o.out) {
    await Deno.mkdir(o.out, { recursive: true });
    if (a.images && b.images) {
      await writeAtomic(
        join(o.out, "images.csv"),
        consensusImagesCsv(consensus.images, join(o.out, "images.csv")),
      );
    }
    if (a.faces && b.faces) {
      await writeAtomic(
        join(o.out, "faces.csv"),
        consensusFacesCsv(consensus.faces, join(o.out, "faces.csv")),
      );
    }
    const file = join(o.out, "disagreements.csv");
    await writeAtomic(file, disagreementsCsv(report.disagreements, file));
  }
  if (o.json) {
    const nan = (_k: string, v: unknown) => typeof v === "number" && Number.isNaN(v) ? null : v;
    return void console.log(JSON.stringify({
      ...report,
      consensus: {
        images: consensus.images.length,
        faces: consensus.faces.length,
        droppedImages: consensus.droppedImages,
        droppedFaces: consensus.droppedFaces,
      },
    }, nan));
  }
  const lines: string[] = [];
  const im = report.images, fa = report.faces;
  if (im) {
    lines.push(
      `images: ${im.items} labeled by both (${im.onlyA} only by A, ${im.onlyB} only by B)`,
      `  usable: kappa ${f3(im.usableKappa)}, agreement ${(100 * im.usableAgreement).toFixed(1)} %`,
      `  quality: kappa ${f3(im.qualityKappa)}, linear ${f3(im.qualityKappaLinear)}, quadratic ${
        f3(im.qualityKappaQuadratic)
      }, Spearman ${f3(im.qualitySpearman)}`,
    );
  }
  if (fa) {
    lines.push(
      `faces: ${fa.items} labeled by both (${fa.onlyA} only by A, ${fa.onlyB} only by B)`,
      `  bad face (quality ≤ 2): kappa ${f3(fa.badFaceKappa)}`,
      `  quality: kappa ${f3(fa.qualityKappa)}, linear ${f3(fa.qualityKappaLinear)}, quadratic ${
        f3(fa.qualityKappaQuadratic)
      }, Spearman ${f3(fa.qualitySpearman)}`,
    );
  }
  lines.push(`disagreements: ${report.disagreements.length}`);
  for (const d of report.disagreements) {
    const box = d.box ? ` [${d.box.x},${d.box.y},${d.box.width},${d.box.height}]` : "";
    lines.push(`  ${d.kind} ${d.path}${box}: ${d.reasons.join("; ")}`);
  }
  lines.push(
    `consensus: ${consensus.images.length} images (${consensus.droppedImages} dropped: usable differs), ` +
      `${consensus.faces.length} faces (${consensus.droppedFaces} dropped)` + (o.out ? ` → ${o.out}` : ""),
  );
  console.log(lines.join("\n"));
});
