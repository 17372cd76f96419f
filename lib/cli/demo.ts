/**
 * `deno task demo` — the main job on embedded defaults: build the offline sample set, score it
 * with every pure heuristic and their default thresholds, print a summary, write the results.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { buildSampleSet } from "../core/samples.ts";
import { runScoreJob } from "../score/job.ts";
import { resolveHeuristics } from "../heuristics/registry.ts";
import { defaultRules } from "../score/rules.ts";
import { runMain } from "./args.ts";

const HELP = `winnow demo — score an offline sample set with the default heuristics and thresholds.

Usage: deno task demo [--out-dir DIR]

Builds DIR/images (the six photos shipped in @vladmandic/face-api plus blurred, dark, washed-out,
near-duplicate, grayscale and truncated variants), scores them into DIR/scores.csv with
kept/reject_reasons from the heuristics' default thresholds, and prints a summary.
Default DIR: out/demo.
`;

await runMain(async () => {
  const { values: o } = parseArgs({
    args: Deno.args,
    options: { "out-dir": { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (o.help) return void console.log(HELP);
  const dir = o["out-dir"] ?? "out/demo";
  const samples = await buildSampleSet(join(dir, "images"));
  console.log(`Sample set: ${samples.length} images in ${join(dir, "images")}`);
  const out = join(dir, "scores.csv");
  const r = await runScoreJob([join(dir, "images")], out, {
    rules: defaultRules(resolveHeuristics()),
    restart: true,
  });
  console.log(r.summary);
  console.log("\nper image (expected → verdict):");
  for (const s of samples) {
    const row = r.rows.find((x) => x.path === s.file);
    const verdict = row?.kept ? "kept" : `rejected: ${row?.reject_reasons}`;
    console.log(`  ${s.file.split("/").pop()!.padEnd(26)} ${(s.expected || "good").padEnd(13)} → ${verdict}`);
  }
  if (r.duplicateGroups.length) {
    console.log("\nnear-duplicate groups (first = representative):");
    for (const g of r.duplicateGroups) {
      console.log(
        `  ${
          g.map((e) => `${e.path.split("/").pop()}${e.distance ? ` (${e.distance} bits)` : ""}`).join(", ")
        }`,
      );
    }
  }
  console.log(`\nResults: ${out} (${r.rows.length} rows, ${r.seconds.toFixed(1)} s)`);
});
