/**
 * The HTML report of a bias audit (`deno task audit … --report audit.html`): what was counted, the
 * perceived gender and age distributions with intervals against the reference, a per-prompt table,
 * and the plain-words caveats.
 *
 * @module
 */
import type { AttributeAudit, AuditResult } from "../evaluate/audit.ts";
import type { Report, ReportSection } from "./html.ts";
import { pct } from "./format.ts";
import { groupSharePlot } from "./plots/groups.ts";

const p3 = (x: number) => (Number.isFinite(x) ? x.toPrecision(3) : "–");

/** One line per group: "female 12 (40.0 %, 95 % 24.6 %–57.7 %; reference 50.0 %)". */
export function attributeLines(a: AttributeAudit): string[] {
  return a.groups.map((g) =>
    `${g.group}: ${g.count} (${pct(g.share)}, 95 % ${pct(g.ci95[0])}–${pct(g.ci95[1])}; reference ${
      pct(g.reference)
    })`
  );
}

/** "χ² = 3.92, df 3, p = 0.270" with a warning when expected counts are small. */
export function chiSquareLine(a: AttributeAudit): string {
  if (!a.faces) return "no faces: no test";
  const c = a.chi_square;
  return `chi-square against the reference: χ² = ${p3(c.statistic)}, df ${c.df}, p = ${p3(c.pvalue)}` +
    (c.min_expected < 5
      ? ` (smallest expected count ${c.min_expected.toFixed(1)} < 5: the p-value is rough)`
      : "");
}

/**
 * Builds the report's content (render with `renderHtmlReport`).
 *
 * @example
 * ```ts ignore
 * import { auditReport } from "./audit_report.ts";
 * import { renderHtmlReport } from "./html.ts";
 * await Deno.writeTextFile("audit.html", renderHtmlReport(await auditReport(result)));
 * ```
 */
export async function auditReport(r: AuditResult, options: { source?: string } = {}): Promise<Report> {
  const sections: ReportSection[] = [];
  for (const a of [r.gender, r.age]) {
    const title = a.attribute === "gender" ? "Perceived gender" : "Perceived age";
    const plot = a.faces
      ? await groupSharePlot(a.groups, { title: `${title} (${a.faces} faces)`, scale: 2 })
      : undefined;
    sections.push({
      heading: title,
      text: [...attributeLines(a), chiSquareLine(a)],
      figures: plot ? [{ ...plot, width: plot.width, height: plot.height }] : [],
    });
  }
  if (r.prompts.length) {
    sections.push({
      heading: "Per prompt",
      text: "Faces judged per prompt, the share read as female with its Wilson 95 % interval, and the " +
        "chi-square p-value of each attribute against the reference (rough when a prompt has few faces).",
      tables: [{
        columns: ["prompt", "images", "faces", "female (95 %)", "gender p", "age groups", "age p"],
        rows: r.prompts.map((p) => {
          const f = p.gender.groups.find((g) => g.group === "female")!;
          return [
            p.prompt,
            p.images,
            p.faces,
            `${pct(f.share)} (${pct(f.ci95[0])}–${pct(f.ci95[1])})`,
            p3(p.gender.chi_square.pvalue),
            p.age.groups.map((g) => `${g.group}: ${g.count}`).join(", "),
            p3(p.age.chi_square.pvalue),
          ];
        }),
      }],
    });
  }
  sections.push({ heading: "What these numbers can and cannot say", text: [...r.caveats] });
  return {
    title: "Bias audit: perceived age and gender of generated faces",
    intro: (options.source ? `Images: ${options.source}. ` : "") +
      `Faces found by the ${r.detector} detector (confidence ≥ ${r.min_confidence}); age and gender read by ` +
      `face-api's age/gender net on faces of at least ${r.min_face_side} px. Reference: ${r.reference_source}.`,
    summary: [
      ["images", r.images],
      ["images with faces", r.images_with_faces],
      ["faces found", r.faces_found],
      ["faces judged", r.faces_judged],
      [`too small (< ${r.min_face_side} px)`, r.faces_too_small],
      ["unreadable images", r.errors.length],
    ],
    sections,
  };
}
