/**
 * `deno task generate` — thin entry point; the work is in lib/generate/pipeline.ts, lib/generate/prompt.ts and
 * lib/backends/.
 *
 * @module
 */
import { join } from "node:path";
import { type PipelineEvent, runPipeline } from "../generate/pipeline.ts";
import { ChatClient, makePrompt, splitKeywords } from "../generate/prompt.ts";
import { openRunQueue, watchFleet } from "../generate/queue.ts";
import { BACKEND_NAMES, BACKENDS, createBackends } from "../backends/registry.ts";
import { BackendError, type ControlInput, type InitImage, type LoraRef } from "../backends/types.ts";
import { readSecret } from "../core/secrets.ts";
import {
  DEFAULT_HEURISTICS,
  MODEL_STORE_HEURISTICS,
  resolveHeuristics,
  settingForEach,
} from "../heuristics/registry.ts";
import { defaultRulesWithCalibrated, loadThresholds, type ThresholdRule } from "../score/rules.ts";
import { buildSampleSet } from "../core/samples.ts";
import { Progress } from "../core/progress.ts";
import { DEFAULT_MAX_PIXELS } from "../core/image.ts";
import {
  intOption,
  mergeSettings,
  numberOption,
  parseCommand,
  parseSetOptions,
  runMain,
  UsageError,
} from "./args.ts";

const HELP = `winnow generate — generate candidates, score every image, keep the best.

Usage:
  deno task generate [--backend NAME] [--url URL] (--keywords WORDS | --prompt TEXT | --text TEXT)
                     [-n N | --until-pass] [--thresholds FILE] [--out DIR] [options]

With no options at all it runs offline: a template prompt, the folder backend serving the
sample photos (written to out/samples), the heuristic registry and default thresholds.

Every image is written into --out the moment it arrives, with one line in DIR/manifest.jsonl:
file, prompt, negative_prompt, seed, backend, params, scores, kept, reasons (+ index, endpoint,
width, height, tries, timings, …). DIR/summary.json names the best image. Running again with the
same --out resumes: only missing images are generated.

Backends (--backend, default folder):
${
  BACKENDS.map((b) =>
    `  ${b.name.padEnd(8)} ${b.description}${b.defaultUrl ? ` [default --url ${b.defaultUrl}]` : ""}`
  ).join("\n")
}

Prompt:
  --keywords WORDS        comma-separated keywords → text → prompt (template, or --chat-url)
  --text TEXT             a text → prompt
  --prompt TEXT           the prompt as is
  --negative TEXT         negative prompt (default: a list of the failures winnow counts)
  --chat-url URL          OpenAI-compatible chat API base (…/v1; Ollama, llama.cpp, vLLM, OpenAI);
                          key from WINNOW_CHAT_API_KEY if the server needs one
  --chat-model NAME       chat model (default llama3.2)

Selection:
  -n N                    best-of-N: images to generate (default 4)
  --until-pass            generate until an image passes the thresholds
  --max-attempts N        until-pass: most requests (default 10)
  --max-seconds S         time budget for the whole run
  --thresholds FILE       rules from \`calibrate\`, or "defaults" (the default): each heuristic's own
  --heuristics A,B        heuristics to score with (default ${DEFAULT_HEURISTICS.join(",")})
  --rank-by COLUMN        ranks images after kept/fewest reasons (default laplacian_var;
                          e.g. clip_score with --heuristics sharpness,clip_score, as the course does)
  --models DIR            model store for ${MODEL_STORE_HEURISTICS.join("/")} (default $WINNOW_MODELS)
  --set H.KEY=VALUE       any setting of heuristic H (repeatable), e.g. --set clip_score.model=NAME

Backend and request:
  --url URL               server root; repeat (or comma-separate) for several endpoints used
                          round-robin. Credentials never go in the URL: A1111 basic auth comes
                          from WINNOW_A1111_AUTH (user:password), OpenAI's key from
                          OPENAI_API_KEY (or *_FILE naming a file that holds it)
  --model NAME            checkpoint (a1111) or model (openai, comfyui {{model}})
  --workflow FILE         comfyui: workflow saved with "Save (API Format)"; strings may be
                          {{prompt}} {{negative_prompt}} {{seed}} {{width}} {{height}} {{steps}} {{cfg}}
                          {{model}} {{sampler}} {{batch_size}} {{denoise}}
  --no-websocket          comfyui: poll /history instead of using the websocket
  --from DIR              folder: the images to serve; --match order|prompt (default order)
  --width W --height H --steps N --sampler NAME --cfg X --seed S --batch-size N
  --lora NAME:WEIGHT      a LoRA (repeatable); a1111 adds <lora:NAME:WEIGHT> to the prompt
  --init-image FILE       img2img input; with --mask FILE it inpaints (white = repaint)
  --denoise X             img2img denoising strength 0–1 (default 0.75)
  --mask-blur N           inpainting mask blur in pixels (default 4)
  --inpaint-area A        whole | masked (default whole)
  --control-image FILE    ControlNet guide image; --control-model NAME (required with it),
                          --control-module NAME (default none), --control-weight X (default 1)
  --concurrency N         requests in flight per endpoint (default 1)
  --retries N             retries per request on 5xx/429/timeouts/refused (default 4)
  --timeout S             deadline per request in seconds (default 600)
  --max-pixels N          refuse server images with more pixels (default ${DEFAULT_MAX_PIXELS})

Fleet (BullMQ on Redis; see README "A generation fleet"):
  --queue URL             put the requests on the queue at redis://HOST:PORT and wait; workers
                          (deno task worker --queue URL --backend NAME --url …, any number, any
                          machine) serve them. Images, scores and the manifest land in --out as
                          in a local run; a failed try is retried (--retries) on another worker
                          with backoff; a worker killed mid-image loses nothing. All requests are
                          queued at once unless --concurrency caps them; --url belongs to the
                          workers, not here
  --priority N            BullMQ priority of this run's jobs (1 = served first; default none)

Output:
  --out DIR               run folder (default out/generate/<date-time>)
  --quiet                 no progress line
  -h, --help              this text

Exit codes: 0 done, 1 error (images received so far stay on disk), 2 bad options,
3 --until-pass ended without an image that passes.

Examples:
  deno task generate
  deno task generate --backend a1111 --url http://127.0.0.1:7860 --keywords "lighthouse, storm" -n 8
  WINNOW_A1111_AUTH=me:pw deno task generate --backend a1111 --url http://gpu-box:7860 \\
      --prompt "a red fox in snow" --until-pass --max-attempts 12 --thresholds thresholds.json
  deno task generate --backend comfyui --workflow sdxl_api.json --keywords "market, dusk" -n 4
  OPENAI_API_KEY=... deno task generate --backend openai --model gpt-image-1 --prompt "a teapot" -n 2
  deno task generate --keywords "reading, park" --chat-url http://127.0.0.1:11434/v1 --chat-model llama3.2
  deno task generate --backend folder --from gens/ --match prompt --prompt "red fox" -n 10
`;

function loraOption(v: string): LoraRef {
  const m = v.match(/^(.+):(-?\d*\.?\d+)$/);
  if (!m) throw new UsageError(`--lora: expected NAME:WEIGHT (e.g. film_grain:0.6), got "${v}"`);
  return { name: m[1], weight: Number(m[2]) };
}

async function readFileOption(name: string, path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new UsageError(`--${name}: cannot read ${path}: ${(e as Error).name}`);
  }
}

/** Backend configuration mistakes (bad URL, missing workflow, missing key) are usage errors. */
async function asUsage<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof BackendError && e.kind === "config") throw new UsageError(e.message);
    throw e;
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

await runMain(async () => {
  const { values: o } = parseCommand({
    backend: { type: "string" },
    url: { type: "string", multiple: true },
    keywords: { type: "string" },
    text: { type: "string" },
    prompt: { type: "string" },
    negative: { type: "string" },
    "chat-url": { type: "string" },
    "chat-model": { type: "string" },
    n: { type: "string", short: "n" },
    "until-pass": { type: "boolean" },
    "max-attempts": { type: "string" },
    "max-seconds": { type: "string" },
    thresholds: { type: "string" },
    heuristics: { type: "string" },
    "rank-by": { type: "string" },
    models: { type: "string" },
    set: { type: "string", multiple: true },
    model: { type: "string" },
    workflow: { type: "string" },
    "no-websocket": { type: "boolean" },
    from: { type: "string" },
    match: { type: "string" },
    width: { type: "string" },
    height: { type: "string" },
    steps: { type: "string" },
    sampler: { type: "string" },
    cfg: { type: "string" },
    seed: { type: "string" },
    "batch-size": { type: "string" },
    lora: { type: "string", multiple: true },
    "init-image": { type: "string" },
    mask: { type: "string" },
    denoise: { type: "string" },
    "mask-blur": { type: "string" },
    "inpaint-area": { type: "string" },
    "control-image": { type: "string" },
    "control-model": { type: "string" },
    "control-module": { type: "string" },
    "control-weight": { type: "string" },
    concurrency: { type: "string" },
    retries: { type: "string" },
    timeout: { type: "string" },
    "max-pixels": { type: "string" },
    out: { type: "string" },
    queue: { type: "string" },
    priority: { type: "string" },
    quiet: { type: "boolean" },
  }, { positionals: false });
  if (o.help) return void console.log(HELP);
  const backendName = o.backend ?? "folder";
  if (!BACKEND_NAMES.includes(backendName)) {
    throw new UsageError(`--backend: unknown backend "${backendName}"; known: ${BACKEND_NAMES.join(", ")}`);
  }
  if ([o.keywords, o.text, o.prompt].filter((x) => x !== undefined).length > 1) {
    throw new UsageError("give one of --keywords, --text, --prompt");
  }
  if (o.match !== undefined && o.match !== "order" && o.match !== "prompt") {
    throw new UsageError(`--match: expected order or prompt, got "${o.match}"`);
  }
  if (o["inpaint-area"] !== undefined && !["whole", "masked"].includes(o["inpaint-area"])) {
    throw new UsageError(`--inpaint-area: expected whole or masked, got "${o["inpaint-area"]}"`);
  }
  if (o.mask && !o["init-image"]) throw new UsageError("--mask needs --init-image");
  if (o["control-image"] && !o["control-model"]) {
    throw new UsageError("--control-image needs --control-model");
  }
  const urls = (o.url ?? []).flatMap((u) => u.split(",")).map((u) => u.trim()).filter(Boolean);
  if (o.queue && urls.length) {
    throw new UsageError(
      "--queue: each worker has its endpoint (deno task worker --url …); give no --url here",
    );
  }
  if (backendName === "folder" && urls.length) {
    throw new UsageError("--backend folder takes --from DIR, not --url");
  }

  const out = o.out ?? join("out", "generate", stamp());
  const seed = o.seed !== undefined ? numberOption("seed", o.seed, { min: -1 }) : undefined;
  if (seed !== undefined && !Number.isInteger(seed)) {
    throw new UsageError(`--seed: expected an integer, got "${o.seed}"`);
  }

  // Offline default: the folder backend on the sample set.
  let from = o.from;
  if (backendName === "folder" && !from && !o.queue) {
    from = join("out", "samples");
    await buildSampleSet(from);
  }

  const heuristics = o.heuristics?.split(",").map((s) => s.trim()).filter(Boolean);
  let rules: ThresholdRule[];
  if (o.thresholds === undefined || o.thresholds === "defaults") {
    rules = await defaultRulesWithCalibrated(resolveHeuristics(heuristics ?? DEFAULT_HEURISTICS));
  } else rules = await loadThresholds(o.thresholds);

  const timeoutS = numberOption("timeout", o.timeout, { min: 0.001 });
  const retries = o.retries !== undefined
    ? numberOption("retries", o.retries, { min: 0, max: 100 })
    : undefined;
  const queue = o.queue
    ? await openRunQueue(out, {
      url: o.queue,
      backend: backendName,
      attempts: (retries ?? 4) + 1,
      priority: intOption("priority", o.priority),
    })
    : undefined;
  const backends = queue ? [queue] : await asUsage(() =>
    createBackends(backendName, {
      urls,
      model: o.model,
      workflow: o.workflow,
      from,
      match: o.match as "order" | "prompt" | undefined,
      timeoutMs: timeoutS !== undefined ? timeoutS * 1000 : undefined,
      websocket: o["no-websocket"] ? "off" : "auto",
    })
  );

  const chatUrl = o["chat-url"];
  const chat = chatUrl
    ? await asUsage(() =>
      Promise.resolve(
        new ChatClient({
          url: chatUrl,
          model: o["chat-model"] ?? "llama3.2",
          apiKey: readSecret("WINNOW_CHAT_API_KEY"),
        }),
      )
    )
    : undefined;
  const p = await makePrompt({
    keywords: o.keywords !== undefined ? splitKeywords(o.keywords) : undefined,
    text: o.text,
    prompt: o.prompt,
    negativePrompt: o.negative,
  }, { chat, seed: seed !== undefined && seed >= 0 ? seed : 0 });

  let init: InitImage | undefined;
  if (o["init-image"]) {
    init = {
      image: await readFileOption("init-image", o["init-image"]),
      mask: o.mask ? await readFileOption("mask", o.mask) : undefined,
      denoisingStrength: numberOption("denoise", o.denoise, { min: 0, max: 1 }),
      maskBlur: numberOption("mask-blur", o["mask-blur"], { min: 0 }),
      inpaintArea: o["inpaint-area"] as "whole" | "masked" | undefined,
    };
  }
  let controls: ControlInput[] | undefined;
  if (o["control-image"]) {
    controls = [{
      image: await readFileOption("control-image", o["control-image"]),
      model: o["control-model"]!,
      module: o["control-module"],
      weight: numberOption("control-weight", o["control-weight"], { min: 0, max: 2 }),
    }];
  }

  const n = intOption("n", o.n, 4)!;
  const batch = intOption("batch-size", o["batch-size"], 1)!;
  const maxAttempts = intOption("max-attempts", o["max-attempts"], 10)!;
  const total = o["until-pass"] ? maxAttempts * batch : n;
  const progress = new Progress(total, { quiet: o.quiet });
  let done = 0, errors = 0;
  const enc = new TextEncoder();
  const log = (s: string) => {
    if (!o.quiet) Deno.stderr.writeSync(enc.encode(s + "\n"));
  };
  const onEvent = (e: PipelineEvent) => {
    if (e.type === "image") {
      done++;
      if (e.row.error) errors++;
      progress.update({ done, total, errors });
    } else if (e.type === "retry") {
      log(`retry ${e.attempt} of request ${e.index} in ${(e.waitMs / 1000).toFixed(1)} s: ${e.message}`);
    } else if (e.type === "request_failed") log(`request ${e.index} failed: ${e.message}`);
    else if (e.type === "resumed") {
      done = e.rows;
      log(
        `resuming ${out}: ${e.rows} images already there${
          e.dropped ? `, ${e.dropped} unfinished lines dropped` : ""
        }`,
      );
    }
  };

  const ctl = new AbortController();
  const onSigint = () => ctl.abort();
  Deno.addSignalListener("SIGINT", onSigint);
  console.log(`prompt (${p.source}): ${p.prompt}`);
  const stopFleet = queue && !o.quiet ? watchFleet(queue, log) : undefined;
  try {
    const r = await runPipeline({
      backends,
      request: {
        prompt: p.prompt,
        negativePrompt: p.negativePrompt,
        width: intOption("width", o.width),
        height: intOption("height", o.height),
        steps: intOption("steps", o.steps),
        sampler: o.sampler,
        cfgScale: numberOption("cfg", o.cfg, { min: 0 }),
        seed,
        batchSize: batch,
        model: o.model,
        loras: o.lora?.map(loraOption),
        init,
        controls,
      },
      out,
      n,
      untilPass: o["until-pass"],
      maxAttempts,
      maxSeconds: numberOption("max-seconds", o["max-seconds"], { min: 0.001 }),
      // On a queue every request waits there at once (the workers' own --concurrency limits each endpoint).
      concurrency: intOption(
        "concurrency",
        o.concurrency,
        queue ? (o["until-pass"] ? maxAttempts : Math.ceil(n / batch)) : 1,
      ),
      // On a queue the fleet retries (BullMQ attempts); the pipeline must not multiply them.
      retry: queue ? { retries: 0 } : retries !== undefined ? { retries } : undefined,
      rules,
      heuristics,
      rankBy: o["rank-by"],
      settings: mergeSettings(
        o.models !== undefined ? settingForEach(MODEL_STORE_HEURISTICS, "modelsDir", o.models) : {},
        parseSetOptions(o.set ?? []),
      ),
      text: { text: p.text, source: p.source },
      maxPixels: intOption("max-pixels", o["max-pixels"]),
      onEvent,
      signal: ctl.signal,
    });
    progress.finish();
    const kept = r.rows.filter((x) => x.kept).length;
    if (r.best) {
      console.log(
        `best: ${join(r.out, r.best.file)} (${
          r.best.kept ? "kept" : `rejected: ${r.best.reasons.join(";")}`
        })`,
      );
    }
    console.log(
      `${r.rows.length} images (${r.received} new${
        r.resumed ? `, ${r.resumed} resumed` : ""
      }), ${kept} kept, ` +
        `${r.requests} requests, ${r.retries} retries${
          Object.keys(r.failures).length
            ? ` (${Object.entries(r.failures).map(([k, n]) => `${k} ${n}`).join(", ")})`
            : ""
        }, ${r.seconds.toFixed(1)} s → ${r.manifest}`,
    );
    if (o["until-pass"] && !r.passed) {
      console.error(`no image passed the thresholds within ${maxAttempts} attempts (stop: ${r.stop})`);
      return 3;
    }
  } finally {
    stopFleet?.();
    Deno.removeSignalListener("SIGINT", onSigint);
  }
});
