/**
 * `deno task evaluate fid|pairs|clip …` — thin entry point; the work is in lib/evaluate/run.ts and
 * the report in lib/report/evaluate_report.ts.
 *
 * @module
 */
import { join } from "node:path";
import { writeAtomic } from "../core/atomic.ts";
import { Progress } from "../core/progress.ts";
import { EXTRACTORS } from "../evaluate/features.ts";
import { evaluateClip, evaluateFid, evaluatePairs, type OnProgress } from "../evaluate/run.ts";
import { intOption, parseCommand, runMain, seedOption, UsageError } from "./args.ts";

const HELP =
  `winnow evaluate — evaluate a generator: FID, KID, precision/recall, SSIM, PSNR, LPIPS, CLIP score.

Usage:
  deno task evaluate fid --real DIR --fake DIR [--features NAME] [--json] [--report FILE.html]
  deno task evaluate pairs DIR_A DIR_B [--lpips] [--json] [--report FILE.html]
  deno task evaluate clip --manifest RUN/manifest.jsonl [--manifest …] [--json] [--report FILE.html]

fid: FID (float64, pytorch-fid's definition), KID (unbiased, polynomial kernel; mean and std over
  seeded subsets, as clean-fid), k-NN precision/recall (Kynkäänniemi, k = 3) of the images in
  --fake against those in --real, on the features of one network:
    inception             the FID Inception v3 (pt_inception-2015-12-05, pool3, clean-fid resize):
                          the network of published FIDs. Needs the ONNX file in the model store
                          (<store>/inception/pt_inception-2015-12-05.onnx; README "Evaluating generators").
    clip                  a CLIP image tower from the store (clean-fid's clip_vit_b_32 mode).
    nsfwjs-mobilenet_v2   runs offline (weights ship in the nsfwjs package); NOT comparable with
                          published FID: compare your runs with each other only.
  Features are cached per file content and network (--cache), so a second run is fast. When the
  Inception ONNX has a second output (the 1008 logits), the Inception Score of --fake is added
  (10 splits, as torch-fidelity; ⌊n/2⌋ below 20 images).
pairs: SSIM and PSNR (8-bit gray, as scikit-image) and with --lpips LPIPS (AlexNet ONNX from the
  store) for each file name present in both folders; means with bootstrap 95 % intervals.
clip: mean CLIP score (torchmetrics' 100 · max(cos, 0)) of each run's images with their prompts,
  with a bootstrap 95 % interval; one --manifest per run.

Options:
  --features NAME     fid: ${EXTRACTORS.join(", ")} (default inception)
  --models DIR        model store (default $WINNOW_MODELS or ~/.cache/winnow/models)
  --clip-model ID     CLIP for --features clip and the clip command (default Xenova/clip-vit-base-patch32)
  --cache DIR         feature cache (default <models store>/../features-cache); --no-cache: none
  --batch-size N      files decoded ahead (default 8; never changes a number)
  --kid-subsets N     KID subsets (default 100); --kid-subset-size N (default 1000)
  --seed N            seed of the KID subsets and bootstrap intervals (default 0)
  --json              print one JSON object (fid: fid, kid, kid_std, precision, recall, features,
                      n_real, n_fake, …)
  --report FILE       also write an HTML report with the numbers, intervals and a plot
  --quiet             no progress lines
  -h, --help          this text

Examples:
  deno task evaluate fid --real ../shared/data/images/a --fake ../shared/data/images/b --features nsfwjs-mobilenet_v2
  deno task evaluate pairs reference/ restored/ --json
  deno task evaluate clip --manifest out/run1/manifest.jsonl --manifest out/run2/manifest.jsonl --report out/clip.html
`;

await runMain(async () => {
  const { values: o, positionals } = parseCommand({
    real: { type: "string" },
    fake: { type: "string" },
    features: { type: "string" },
    models: { type: "string" },
    "clip-model": { type: "string" },
    cache: { type: "string" },
    "no-cache": { type: "boolean" },
    "batch-size": { type: "string" },
    "kid-subsets": { type: "string" },
    "kid-subset-size": { type: "string" },
    seed: { type: "string" },
    lpips: { type: "boolean" },
    manifest: { type: "string", multiple: true },
    json: { type: "boolean" },
    report: { type: "string" },
    quiet: { type: "boolean" },
  });
  const [command, ...rest] = positionals;
  if (o.help || !command) {
    console.log(HELP);
    return o.help ? 0 : 2;
  }
  const seed = seedOption(o.seed, 0);
  const bars = new Map<string, Progress>();
  const onProgress: OnProgress = (what, done, total, errors) => {
    if (o.quiet) return;
    let p = bars.get(what);
    if (!p) bars.set(what, p = new Progress(total, { unit: `${what} images` }));
    p.update({ done, total, errors });
  };
  let result: unknown;
  const report: Parameters<typeof import("../report/evaluate_report.ts").evaluateReport>[0] = {};
  if (command === "fid") {
    if (rest.length) throw new UsageError(`fid takes --real DIR --fake DIR, not ${rest.join(" ")}`);
    if (!o.real || !o.fake) throw new UsageError("fid needs --real DIR and --fake DIR");
    const { modelsDir } = await import("../models/store.ts");
    const cacheDir = o["no-cache"] ? undefined : o.cache ?? join(modelsDir(o.models), "..", "features-cache");
    const r = await evaluateFid(o.real, o.fake, {
      features: o.features ?? "inception",
      modelsDir: o.models,
      clipModel: o["clip-model"],
      cacheDir,
      batchSize: intOption("batch-size", o["batch-size"]),
      kidSubsets: intOption("kid-subsets", o["kid-subsets"]),
      kidSubsetSize: intOption("kid-subset-size", o["kid-subset-size"]),
      seed,
      onProgress,
    });
    result = report.fid = r;
    if (!o.json) {
      console.log(`features: ${r.features} (${r.feature_dim}-d) — ${r.note}`);
      console.log(
        `images:   ${r.n_real} real, ${r.n_fake} fake${
          r.errors.length ? `, ${r.errors.length} unreadable` : ""
        }`,
      );
      console.log(`FID       ${r.fid.toFixed(4)}`);
      console.log(
        `KID       ${r.kid.toFixed(6)} ± ${
          r.kid_std.toFixed(6)
        } (std over ${r.kid_subsets} subsets of ${r.kid_subset_size})`,
      );
      if (r.precision !== null) {
        console.log(`precision ${r.precision.toFixed(4)}   recall ${r.recall!.toFixed(4)} (k = ${r.k})`);
      }
      for (const w of r.warnings.filter((w) => w !== r.note)) console.log(`warning: ${w}`);
    }
  } else if (command === "pairs") {
    if (rest.length !== 2) {
      throw new UsageError("pairs needs two folders: deno task evaluate pairs DIR_A DIR_B");
    }
    const r = await evaluatePairs(rest[0], rest[1], {
      lpips: o.lpips,
      modelsDir: o.models,
      seed,
      onProgress,
    });
    result = report.pairs = r;
    if (!o.json) {
      console.log(
        `${r.rows.length} pairs (${r.onlyInA.length} names only in ${rest[0]}, ${r.onlyInB.length} only in ${
          rest[1]
        })`,
      );
      const line = (k: string, m: typeof r.ssim) =>
        m &&
        console.log(
          `${k.padEnd(9)} ${m.mean.toFixed(4)}  95 % [${m.ci95[0].toFixed(4)}, ${
            m.ci95[1].toFixed(4)
          }]  n = ${m.n}`,
        );
      line("SSIM", r.ssim);
      line("PSNR dB", r.psnr);
      line("LPIPS", r.lpips);
      for (const x of r.rows.filter((x) => x.error)) console.log(`error: ${x.error}`);
    }
  } else if (command === "clip") {
    if (!o.manifest?.length) throw new UsageError("clip needs --manifest RUN/manifest.jsonl (one per run)");
    const runs = [];
    for (const m of o.manifest) {
      runs.push(await evaluateClip(m, { model: o["clip-model"], modelsDir: o.models, seed, onProgress }));
    }
    result = { runs };
    report.clip = runs;
    if (!o.json) {
      for (const r of runs) {
        const c = r.clip_score;
        console.log(
          `${r.run}: ${r.images} images, mean CLIP score ${
            c ? `${c.mean.toFixed(3)}  95 % [${c.ci95[0].toFixed(3)}, ${c.ci95[1].toFixed(3)}]` : "—"
          }` +
            (r.errors.length ? `, ${r.errors.length} errors (first: ${r.errors[0].error})` : ""),
        );
      }
    }
  } else {
    throw new UsageError(`unknown command "${command}"; use fid, pairs or clip (--help)`);
  }
  if (o.json) console.log(JSON.stringify(result, (_, v) => v === Infinity ? "inf" : v, 2));
  if (o.report) {
    const { evaluateReport } = await import("../report/evaluate_report.ts");
    const { renderHtmlReport } = await import("../report/html.ts");
    await writeAtomic(o.report, renderHtmlReport(await evaluateReport(report)));
    if (!o.quiet) console.error(`wrote ${o.report}`);
  }
});
