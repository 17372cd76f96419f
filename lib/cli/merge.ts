/**
 * `deno task merge PARTS… --out FILE` — thin entry point; the work is in lib/score/merge.ts.
 *
 * @module
 */
import { mergeParts } from "../score/merge.ts";
import { parseCommand, runMain, UsageError } from "./args.ts";

const HELP = `winnow merge — join the part files of a sharded score run into one table.

Usage:
  deno task merge PARTS… --out FILE

PARTS are part files (.parquet, .csv, .jsonl), folders of them or s3://bucket/prefix/ (parts
sorted by name; *.partial.jsonl journals of unfinished shards are left out). The result has each
path once: a decoded row (empty error) wins over an error row, otherwise the row from the later
part wins. Rows are sorted by path. --out is .parquet, .csv or .jsonl, local or s3://.

Options:
  --out FILE     the merged table
  -h, --help     this text

Examples:
  deno task merge parts/ --out scores.parquet
  deno task merge s3://gens/scores/ --out s3://gens/scores.parquet
`;

await runMain(async () => {
  const { values: o, positionals } = parseCommand({ out: { type: "string" } });
  if (o.help) return void console.log(HELP);
  if (!o.out) throw new UsageError("--out FILE is required (.parquet, .csv or .jsonl)");
  if (positionals.length === 0) {
    throw new UsageError("give the part files, folders or s3:// prefixes to merge");
  }
  const r = await mergeParts(positionals, o.out);
  console.log(
    `merged ${r.parts.length} parts: ${r.rowsIn} rows → ${r.rowsOut} distinct paths` +
      (r.errors ? ` (${r.errors} with an error)` : "") + ` → ${o.out}`,
  );
});
