/**
 * How stable a damaged file's `error_kind` is across worker setups: the fuzz corpus
 * (`tests/fuzz_corpus.ts`, 401 files) through `deno task score` with `--jobs 1` (the reference,
 * thread workers), then again with `--jobs 1`, and twice each with 2 process and 2 thread workers;
 * prints, per run, how many files got another `error_kind` than the reference and how many
 * switched between an error and values.
 *
 *     ./deno run -A bench/error_kinds.ts
 *
 * @module
 */
import { join } from "node:path";
import { writeFuzzCorpus } from "../tests/fuzz_corpus.ts";
import { readResults } from "../lib/score/results.ts";

const cli = new URL("../lib/cli/score.ts", import.meta.url).pathname;
const tmp = await Deno.makeTempDir({ prefix: "winnow-kinds-" });
const dir = join(tmp, "in");
await Deno.mkdir(dir);
await writeFuzzCorpus(dir);
const run = async (name: string, args: string[]) => {
  const out = join(tmp, `${name}.csv`);
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, dir, "--out", out, "--quiet", "--time-limit", "120", ...args],
    stdout: "null",
    stderr: "null",
  }).output();
  if (!r.success) throw new Error(`score ${args.join(" ")} failed (${r.code})`);
  const rows = await readResults(out);
  return new Map(rows.map((x) => [String(x.path), [x.error_kind ?? null, x.error ? "error" : "values"]]));
};
try {
  const reference = await run("ref", ["--jobs", "1", "--isolation", "thread"]);
  const setups = [
    ["--jobs", "1", "--isolation", "thread"],
    ["--jobs", "2", "--isolation", "process"],
    ["--jobs", "2", "--isolation", "thread"],
    ["--jobs", "2", "--isolation", "process"],
    ["--jobs", "2", "--isolation", "thread"],
  ];
  for (const [i, args] of setups.entries()) {
    const m = await run(`run${i}`, args);
    let kind = 0, flipped = 0;
    for (const [path, [k, e]] of reference) {
      const other = m.get(path)!;
      if (other[0] !== k) kind++;
      if (other[1] !== e) flipped++;
    }
    console.log(
      `${args.join(" ")}: ${reference.size} files, ${kind} with another error_kind than --jobs 1, ` +
        `${flipped} switched between error and values`,
    );
  }
} finally {
  await Deno.remove(tmp, { recursive: true });
}
