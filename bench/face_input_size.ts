/**
 * `deno task bench-faces`: the `ssd` face detector's input size against what it costs and what it
 * finds, on the shipped hand-rated faces (`data/labels/faces.csv`). For each size (`--sizes`):
 *
 * - CPU ms per image of detection alone (scaled copy + network + boxes; decode excluded), one
 *   thread, over every image with a labeled face: CPU time, which a busy machine disturbs less
 *   than wall time;
 * - labeled faces seen (a box at ≥ the finding threshold 0.1 with IoU ≥ 0.5) and bad faces seen;
 * - with `--auc` (default on): the out-of-fold bad-face AUC of `face_quality` refitted on that
 *   size's boxes (`deno task fit face_quality --set faces.inputSize=N` does the same fit), all faces
 *   and faces ≥ 32 px.
 *
 *     ./deno task bench-faces [--sizes 512,448,384,320] [--no-auc] [--jobs 2] [--runtime onnx|tfjs]
 *
 * `--runtime`: what runs `ssd` and BlazeFace (the `faces.runtime` setting; default `onnx`, one intra-op thread).
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { decodeImage } from "../lib/core/image.ts";
import {
  DEFAULT_SSD_RUNTIME,
  FACE_RUNTIMES,
  type FaceRuntime,
  getDetector,
} from "../lib/models/faces/detector.ts";
import { markOneCoreWorker } from "../lib/core/threads.ts";
import { DEFAULT_FIND_CONFIDENCE } from "../lib/heuristics/faces.ts";
import { loadFaceLabels, matchFaces, SHIPPED_FACE_LABELS } from "../lib/labels/format.ts";
import { BAD_FACE_GROUP, fitRecipe, LARGE_BAD_FACE_GROUP } from "../lib/calibrate/fit_recipes.ts";
import { aucWithInterval } from "../lib/calibrate/fit_scorer.ts";

const { values: o } = parseArgs({
  args: Deno.args,
  options: {
    sizes: { type: "string", default: "512,448,384,320" },
    auc: { type: "boolean", default: true },
    "no-auc": { type: "boolean" },
    jobs: { type: "string", default: "2" },
    runtime: { type: "string", default: DEFAULT_SSD_RUNTIME },
    help: { type: "boolean", short: "h" },
  },
});
if (o.help) {
  console.log((await Deno.readTextFile(new URL(import.meta.url))).split("*/")[0]);
  Deno.exit(0);
}
const sizes = o.sizes!.split(",").map(Number);
const runtime = o.runtime as FaceRuntime;
if (!(FACE_RUNTIMES as readonly string[]).includes(runtime)) {
  console.error(`bench-faces: --runtime: one of ${FACE_RUNTIMES.join(", ")}, got "${runtime}"`);
  Deno.exit(2);
}
markOneCoreWorker(); // detection on one thread, as in a score worker
const labels = (await loadFaceLabels(SHIPPED_FACE_LABELS, { checkFiles: true })).rows;
const images = [...new Set(labels.map((f) => f.path))];
const bad = labels.filter((f) => f.quality <= 2).length;
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const log = (s: string) => console.error(`bench-faces: ${s}`);

const rows: string[][] = [];
for (const size of sizes) {
  const ssd = await getDetector("ssd", { inputSize: size, runtime });
  const found: { path: string; x: number; y: number; width: number; height: number }[] = [];
  let cpu = 0;
  for (const [i, path] of images.entries()) {
    const img = await decodeImage(path);
    const c0 = cpuMs();
    const faces = await ssd.detect(img, { minConfidence: DEFAULT_FIND_CONFIDENCE });
    if (i > 0) cpu += cpuMs() - c0; // the first call warms the network up
    for (const f of faces) found.push({ path, ...f });
  }
  const m = matchFaces(found, labels, 0.5);
  const seenBad = m.matches.filter((p) => p.labeled.quality <= 2).length;
  const row = [
    String(size),
    (cpu / (images.length - 1)).toFixed(0),
    `${m.matches.length} of ${labels.length} (${(100 * m.matches.length / labels.length).toFixed(1)} %)`,
    `${seenBad} of ${bad}`,
    String(found.length),
  ];
  log(`${size}: ${row.join(" | ")}`);
  if (o.auc && !o["no-auc"]) {
    const fit = await fitRecipe("face_quality", {
      settings: { faces: { inputSize: size, runtime } },
      jobs: Number(o.jobs),
      repeats: 0,
      quiet: true,
    });
    const auc = (group: string) => {
      const idx = fit.data.groups![group].flatMap((b, i) => (b ? [i] : []));
      // Bad faces (y = 0) against good: higher face_quality = good.
      const a = aucWithInterval(idx.map((i) => fit.data.y[i]), idx.map((i) => fit.outOfFold[i]), {
        resamples: 1000,
      });
      return `${a.auc.toFixed(3)} [${a.low.toFixed(3)}, ${a.high.toFixed(3)}]`;
    };
    row.push(auc(BAD_FACE_GROUP), auc(LARGE_BAD_FACE_GROUP));
    log(`${size}: AUC ${row.slice(5).join(" | ")}`);
  }
  rows.push(row);
}
log(`runtime ${runtime}`);
const head = [
  "ssd input size",
  "CPU ms/image (detection)",
  "labeled faces seen at 0.1",
  "bad faces seen",
  "boxes",
];
if (o.auc && !o["no-auc"]) head.push("face_quality bad-face AUC (out of fold)", "same, faces ≥ 32 px");
console.log(`| ${head.join(" | ")} |`);
console.log(`| ${head.map(() => "---").join(" | ")} |`);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
