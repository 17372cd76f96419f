/**
 * The pure suite's own CPU cost in two checkouts of winnow, compared in one process: both
 * versions' `scoreImage` (default heuristics) run in alternation, round after round, on the same
 * decoded 1024² JPEGs (`benchJpegs`), so a busy machine slows both alike and garbage collection of
 * the decoded buffers (decode happens once, before timing) stays out. Prints the median user-CPU
 * milliseconds per image of each and every round's value.
 *
 *     git worktree add /tmp/winnow-old <commit>     # or any copy of an older checkout
 *     ./deno run -A bench/suite_ab.ts /tmp/winnow-old [--rounds 15] [--images 8]
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { benchJpegs } from "./fixtures.ts";
import { decodeImage, type RgbImage } from "../lib/core/image.ts";

const { values: o, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { rounds: { type: "string", default: "15" }, images: { type: "string", default: "8" } },
});
if (positionals.length !== 1) {
  console.error("usage: bench/suite_ab.ts OLD_CHECKOUT_DIR [--rounds 15] [--images 8]");
  Deno.exit(2);
}
type Score = (img: RgbImage, o: { heuristics: readonly string[] }) => Promise<unknown>;
const load = async (root: string) => ({
  score: (await import(`file://${join(root, "lib/score/score_image.ts")}`)).scoreImage as Score,
  heuristics: (await import(`file://${join(root, "lib/heuristics/registry.ts")}`))
    .DEFAULT_HEURISTICS as readonly string[],
});
const versions = {
  old: await load(resolve(positionals[0])),
  new: await load(resolve(new URL("..", import.meta.url).pathname)),
};
const tmp = await Deno.makeTempDir({ prefix: "winnow-suite-ab-" });
try {
  const images: RgbImage[] = [];
  for (const f of await benchJpegs(tmp, Number(o.images))) images.push(await decodeImage(f));
  const user = () => process.cpuUsage().user / 1000;
  const ms: Record<string, number[]> = { old: [], new: [] };
  const per = 3 * images.length;
  for (let r = 0; r <= Number(o.rounds); r++) {
    // Alternate which goes first; round 0 warms both up and is not counted.
    for (const name of (r % 2 ? ["new", "old"] : ["old", "new"]) as ("old" | "new")[]) {
      const v = versions[name], t0 = user();
      for (let i = 0; i < per; i++) await v.score(images[i % images.length], { heuristics: v.heuristics });
      if (r > 0) ms[name].push((user() - t0) / per);
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
  for (const name of ["old", "new"]) {
    console.log(
      `${name}: ${median(ms[name]).toFixed(2)} user-CPU ms per image [${
        ms[name].map((x) => x.toFixed(2)).join(" ")
      }]`,
    );
  }
} finally {
  await Deno.remove(tmp, { recursive: true });
}
