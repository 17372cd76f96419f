/**
 * `deno task models list|pull|where` — the model store on the command line; thin, the work is in
 * `lib/models/store.ts`.
 *
 * @module
 */
import {
  DEFAULT_ENDPOINT,
  defaultModelsDir,
  KNOWN_MODELS,
  listModels,
  MODELS_ENV,
  modelsDir,
  pullModel,
} from "../models/store.ts";
import { parseCommand, runMain, UsageError } from "./args.ts";

const HELP =
  `winnow models — the local model store of the learned scorers (clip_score, pick_score, aesthetic).

Usage:
  deno task models list [--models DIR]
  deno task models pull NAME [--models DIR] [--dtype fp32|fp16|q8|…] [--endpoint URL] [--files A,B] [--force]
  deno task models where [--models DIR]

Scoring never downloads: models are read from the store, a folder in the Hugging Face layout
(<store>/<owner>/<name>/config.json, preprocessor_config.json, tokenizer files, onnx/*.onnx).
The store is --models DIR, else $${MODELS_ENV}, else ${defaultModelsDir()}.

Commands:
  list    the models in the store, their files and which scorers can use them
  pull    download NAME (a hub id owner/name, or a short name below) into the store; needs
          internet access. Fetches the JSON/text files at the top of the repository and the
          onnx/*.onnx files of one dtype (default fp32; q8 = *_quantized.onnx).
  where   print the store folder

Options:
  --models DIR     the model store
  --dtype NAME     ONNX variant to pull (default fp32)
  --endpoint URL   hub to pull from (default $HF_ENDPOINT or ${DEFAULT_ENDPOINT})
  --files A,B      pull exactly these files (paths inside the repository)
  --force          download files that are already present again
  -h, --help       this text

Environment: HF_TOKEN (gated repositories; never printed), HF_ENDPOINT, ${MODELS_ENV}.

Short names:
${Object.entries(KNOWN_MODELS).map(([k, v]) => `  ${k.padEnd(24)}${v.id} — ${v.use}`).join("\n")}

PickScore and the LAION aesthetic head have no ready ONNX export on the hub: see docs/models.md
for how to export them and where to put them.
`;

function mb(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}

await runMain(async () => {
  const { values: o, positionals } = parseCommand({
    models: { type: "string" },
    dtype: { type: "string" },
    endpoint: { type: "string" },
    files: { type: "string" },
    force: { type: "boolean" },
  });
  const [cmd, ...rest] = positionals;
  if (o.help || !cmd) return void console.log(HELP);
  if (o.models === "") throw new UsageError("--models: expected a folder");
  const store = modelsDir(o.models);
  if (cmd === "where") return void console.log(store);
  if (cmd === "list") {
    if (rest.length) throw new UsageError(`list takes no arguments, got ${rest.join(" ")}`);
    const models = await listModels(store);
    if (!models.length) {
      console.log(
        `no models in ${store}. Fetch one with: deno task models pull clip-vit-base-patch32` +
          (o.models ? ` --models ${o.models}` : ""),
      );
      return;
    }
    console.log(`models in ${store}:`);
    for (const m of models) {
      const total = m.files.reduce((a, f) => a + f.bytes, 0);
      console.log(`${m.id}  (${mb(total)}; for: ${m.usableBy.join(", ") || "nothing recognised"})`);
      for (const f of m.files) console.log(`  ${f.path}  ${mb(f.bytes)}`);
    }
    return;
  }
  if (cmd === "pull") {
    if (rest.length !== 1) {
      throw new UsageError(
        "pull takes one NAME (e.g. clip-vit-base-patch32 or Xenova/clip-vit-base-patch32)",
      );
    }
    console.log(`pulling ${rest[0]} into ${store}`);
    const r = await pullModel(rest[0], {
      store,
      endpoint: o.endpoint,
      dtype: o.dtype,
      files: o.files?.split(",").map((s) => s.trim()).filter(Boolean),
      force: o.force,
      log: (l) => console.log(l),
    });
    console.log(
      `${r.id}: ${r.downloaded.length} files downloaded (${
        mb(r.bytes)
      }), ${r.skipped.length} already present → ${r.folder}`,
    );
    return;
  }
  throw new UsageError(`unknown command "${cmd}"; expected list, pull or where`);
});
