/**
 * `deno task label --images DIR… --out DIR [--faces FACES.csv] [--rater NAME] [--port N]` and
 * `deno task label --ab RUN RUN… --out DIR` — starts the local labeling app and prints its URL; thin
 * entry point, the work is in lib/labels/app/ (the A/B order in lib/evaluate/schedule.ts).
 *
 * @module
 */
import { startLabelServer } from "../labels/app/server.ts";
import { parseRunSpec } from "../labels/app/ab.ts";
import { uncertaintyScheduler } from "../evaluate/schedule.ts";
import { intOption, parseCommand, runMain, seedOption, UsageError } from "./args.ts";

const HELP = `winnow label — hand-label images and faces in a local web page, keyboard only.

Usage:
  deno task label --images DIR [DIR…] --out DIR [--faces FACES.csv] [--rater NAME] [--port N]
  deno task label --ab RUN RUN [RUN…] --out DIR [--rater NAME] [--seed N] [--repeat-share X]

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

A/B mode (--ab): people as the judge. RUN is a folder of images or a generate manifest.jsonl (a
folder holding one uses it), optionally named NAME=PATH (default: the folder's name). Two images
of different runs with the same prompt form a pair (without manifests: the same file name). The
page shows the prompt above two images in a seeded random left/right order, without saying which
run is which. Keys: ← (or a, 1) left is better, → (or l, 2) right, ↓ (or t, =) tie, s or ↑ skip,
z or Backspace undo. Each key is stored at once in OUT/RATER/ab.csv (left_path, right_path,
left_system, right_system, choice, rater, prompt, repeat, time) and log.jsonl; stop at any time,
start again to resume. The next pair goes where the ranking is least certain (the two systems
whose order has the smallest z-score so far); a share of steps shows an earlier pair again to
measure the rater's consistency. Then: deno task ab fit OUT/RATER/ab.csv.
  --ab                    A/B mode; the runs follow (positional)
  --seed N                seed of the order and the sides (default 0; recorded in log.jsonl)
  --repeat-share X        share of steps that repeat an earlier pair (default 0.1)

Keys (image mode): y/n usable, 1–5 quality, f h m l o t b a p x toggle bad_face, bad_hands,
missing_body_part, extra_limbs, merged_objects, garbled_text, blur, artifact, prompt_mismatch,
other; → Enter Space next, ← previous, z undo, u unlabeled only, hover to zoom; i/g/r switch to
images/faces/review; ? shows all keys. Face mode: 1–5 rate and advance, 0 not a face, arrows
move, PageDown/PageUp pages.

Examples:
  deno task label --ab sdxl=runs/sdxl sd15=runs/sd15/manifest.jsonl --out labels --rater ann
  deno task label --images gens/ --out labels --rater ann
  deno task label --images gens/ --out labels --rater bob --faces faces.csv
  deno task label --images gens/ --out labels --rater carol --faces faces.csv --compare ann,bob
`;

await runMain(async () => {
  const { values: o, positionals } = parseCommand({
    images: { type: "string", multiple: true },
    out: { type: "string" },
    rater: { type: "string" },
    faces: { type: "string" },
    compare: { type: "string" },
    port: { type: "string" },
    ab: { type: "boolean" },
    seed: { type: "string" },
    "repeat-share": { type: "string" },
  });
  if (o.help) return void console.log(HELP);
  if (o.ab) return await startAb(o, positionals);
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
  await serveUntilStopped(server);
});

async function serveUntilStopped(server: { close(): Promise<void> }): Promise<never> {
  const stop = async () => {
    await server.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  return await new Promise<never>(() => {});
}

async function startAb(
  o: {
    out?: string;
    rater?: string;
    port?: string;
    seed?: string;
    "repeat-share"?: string;
    images?: string[];
  },
  runs: string[],
) {
  if (o.images?.length) throw new UsageError("--ab takes runs as arguments, not --images");
  if (runs.length < 2) throw new UsageError("--ab: give at least two runs (folders or manifest.jsonl files)");
  if (!o.out) throw new UsageError("--out DIR is required (where ab.csv goes)");
  const seed = seedOption(o.seed);
  const repeatShare = o["repeat-share"] === undefined ? 0.1 : Number(o["repeat-share"]);
  if (!(repeatShare >= 0 && repeatShare < 1)) {
    throw new UsageError(`--repeat-share: expected a number in [0, 1), got "${o["repeat-share"]}"`);
  }
  const specs = runs.map(parseRunSpec);
  for (const r of specs) {
    if (!(await Deno.stat(r.path).then(() => true, () => false))) {
      throw new UsageError(`--ab: ${r.path}: no such folder or manifest`);
    }
  }
  const server = await startLabelServer({
    images: [],
    out: o.out,
    rater: o.rater,
    ab: { runs: specs, seed, repeatShare, scheduler: uncertaintyScheduler },
    port: o.port === undefined ? 0 : intOption("port", o.port),
  });
  const ab = server.ab!;
  for (const w of server.session.warnings) console.error(`warning: ${w}`);
  console.log(
    `A/B: ${ab.systems.join(" vs ")} · ${ab.pairs.length} pairs ${
      ab.byPrompt ? "by prompt" : "by file name"
    } · ` +
      `${server.store.ab.length} choices so far · choices → ${server.store.abFile}`,
  );
  console.log(`open ${server.url}`);
  await serveUntilStopped(server);
}
