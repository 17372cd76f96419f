/**
 * `deno task label --images DIR… --out DIR [--faces FACES.csv] [--rater NAME] [--port N]` — starts
 * the local labeling app and prints its URL; thin entry point, the work is in lib/labels/app/.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startLabelServer } from "../labels/app/server.ts";
import { intOption, runMain, UsageError } from "./args.ts";

const HELP = `winnow label — hand-label images and faces in a local web page, keyboard only.

Usage:
  deno task label --images DIR [DIR…] --out DIR [--faces FACES.csv] [--rater NAME] [--port N]

Opens a server on 127.0.0.1 only and prints its URL (with a random session token; the page
refuses requests without it). Labels go to OUT/RATER/: images.csv (path, usable, quality, errors)
and faces.csv (path, x, y, width, height, quality) in the format \`calibrate\` reads, rewritten
atomically after every key, and log.jsonl, an append-only record of every change. Stop with
Ctrl+C at any time; starting again resumes where the rater stopped.

Options:
  --images DIR            folder (searched recursively) or image file; repeat it, or list more
                          folders after it
  --out DIR               output folder; each rater gets OUT/RATER/
  --rater NAME            rater name (letters, digits, _ - .; default "rater")
  --faces FILE            faces table (score --faces output, or a faces.csv): outlines the faces
                          in image mode and adds face mode, a grid of crops to rate 1–5
  --compare A,B           review view: the items raters A and B disagree on (names under --out, or
                          folders), with both labels shown, for a third rater to settle; then
                          \`deno task agreement A B --settled THIRD\` uses the third rater's labels
  --port N                port (default: any free one)
  -h, --help              this text

Keys (image mode): y/n usable, 1–5 quality, f h m l o t b a p x toggle bad_face, bad_hands,
missing_body_part, extra_limbs, merged_objects, garbled_text, blur, artifact, prompt_mismatch,
other; → Enter Space next, ← previous, z undo, u unlabeled only, hover to zoom; i/g/r switch to
images/faces/review; ? shows all keys. Face mode: 1–5 rate and advance, 0 not a face, arrows
move, PageDown/PageUp pages.

Examples:
  deno task label --images gens/ --out labels --rater ann
  deno task label --images gens/ --out labels --rater bob --faces faces.csv
  deno task label --images gens/ --out labels --rater carol --faces faces.csv --compare ann,bob
`;

await runMain(async () => {
  const { values: o, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      images: { type: "string", multiple: true },
      out: { type: "string" },
      rater: { type: "string" },
      faces: { type: "string" },
      compare: { type: "string" },
      port: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (o.help) return void console.log(HELP);
  const images = [...(o.images ?? []), ...positionals];
  if (images.length === 0) throw new UsageError("--images DIR is required (a folder of images to label)");
  if (!o.out) throw new UsageError("--out DIR is required (where the label files go)");
  let compare: [string, string] | undefined;
  if (o.compare !== undefined) {
    const parts = o.compare.split(",").map((s) => s.trim());
    if (parts.length !== 2 || parts.some((p) => !p)) {
      throw new UsageError(`--compare: expected two raters as A,B, got "${o.compare}"`);
    }
    compare = [parts[0], parts[1]];
  }
  for (const dir of images) {
    if (!(await Deno.stat(dir).then(() => true, () => false))) {
      throw new UsageError(`--images: ${dir}: no such file or folder`);
    }
  }
  const server = await startLabelServer({
    images,
    out: o.out,
    rater: o.rater,
    faces: o.faces,
    compare,
    port: o.port === undefined ? 0 : intOption("port", o.port),
  });
  const s = server.session;
  for (const w of s.warnings) console.error(`warning: ${w}`);
  console.log(
    `${s.images.length} images${s.faces.length ? `, ${s.faces.length} faces` : ""}` +
      (server.reviewItems ? `, ${server.reviewItems} disagreements to review` : "") +
      ` · labels → ${server.store.dir}`,
  );
  console.log(`open ${server.url}`);
  const stop = async () => {
    await server.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  await new Promise(() => {});
});
