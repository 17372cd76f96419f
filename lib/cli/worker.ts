/**
 * `deno task worker --queue redis://HOST:PORT --backend NAME --url URL` — thin entry point; the
 * work is in lib/generate/queue.ts and lib/backends/.
 *
 * @module
 */
import { runQueueWorker } from "../generate/queue.ts";
import { BACKEND_NAMES, BACKENDS, createBackends } from "../backends/registry.ts";
import { BackendError } from "../backends/types.ts";
import { intOption, parseCommand, runMain, UsageError } from "./args.ts";

const HELP = `winnow worker — serve a generation queue (BullMQ on Redis) from one endpoint.

Usage:
  deno task worker --queue redis://HOST:PORT --backend NAME --url URL [options]

Runs until stopped (Ctrl-C / SIGTERM finish the jobs in hand first). Start one per GPU server,
on any machine that reaches Redis and the server; \`deno task generate --queue redis://HOST:PORT
--backend NAME …\` puts the requests on the queue. A failed try goes back to the queue with
backoff and is usually taken by another worker; a worker killed mid-image loses nothing: after
--lock-ms its job is taken back and runs again elsewhere.

Options:
  --queue URL             Redis: redis://[user:password@]HOST:PORT[/DB]
  --backend NAME          ${BACKEND_NAMES.join(", ")} (the queue is winnow-generate-NAME)
  --url URL               this worker's endpoint (default: the backend's usual local address)
  --concurrency N         jobs at once against this endpoint (default 1)
  --workflow FILE         comfyui: the API-format workflow
  --no-websocket          comfyui: poll /history instead of the websocket
  --from DIR              folder: the images to serve; --match order|prompt
  --timeout S             deadline per request in seconds (default 600)
  --lock-ms MS            job lock; a killed worker's job is taken back after it (default 30000)
  --stalled-ms MS         how often workers look for stalled jobs (default 30000)
  --name NAME             this worker's name in results and logs (default host:pid)
  --quiet                 no line per job
  -h, --help              this text

Credentials come from the environment as for generate (WINNOW_A1111_AUTH, OPENAI_API_KEY).

Examples:
  deno task worker --queue redis://10.0.0.5:6379 --backend a1111 --url http://127.0.0.1:7860
  deno task worker --queue redis://10.0.0.5:6379 --backend comfyui --workflow sdxl_api.json --concurrency 2
`;

await runMain(async () => {
  const { values: o } = parseCommand({
    queue: { type: "string" },
    backend: { type: "string" },
    url: { type: "string" },
    concurrency: { type: "string" },
    workflow: { type: "string" },
    "no-websocket": { type: "boolean" },
    from: { type: "string" },
    match: { type: "string" },
    timeout: { type: "string" },
    "lock-ms": { type: "string" },
    "stalled-ms": { type: "string" },
    name: { type: "string" },
    quiet: { type: "boolean" },
  }, { positionals: false });
  if (o.help) return void console.log(HELP);
  if (!o.queue) throw new UsageError("--queue redis://HOST:PORT is required");
  if (!o.backend || !BACKEND_NAMES.includes(o.backend)) {
    throw new UsageError(`--backend: expected one of ${BACKEND_NAMES.join(", ")}, got "${o.backend ?? ""}"`);
  }
  if (o.match !== undefined && o.match !== "order" && o.match !== "prompt") {
    throw new UsageError(`--match: expected order or prompt, got "${o.match}"`);
  }
  const timeout = intOption("timeout", o.timeout);
  let backends;
  try {
    backends = await createBackends(o.backend, {
      urls: o.url ? [o.url] : undefined,
      workflow: o.workflow,
      from: o.from,
      match: o.match as "order" | "prompt" | undefined,
      timeoutMs: timeout !== undefined ? timeout * 1000 : undefined,
      websocket: o["no-websocket"] ? "off" : "auto",
    });
  } catch (e) {
    if (e instanceof BackendError && e.kind === "config") throw new UsageError(e.message);
    throw e;
  }
  const backend = backends[0];
  const ctl = new AbortController();
  const stop = () => ctl.abort();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const entry = BACKENDS.find((b) => b.name === o.backend)!;
  console.error(
    `worker: serving ${entry.name} at ${backend.endpoint} from ${new URL(o.queue).host} (Ctrl-C stops)`,
  );
  await runQueueWorker({
    url: o.queue,
    backend,
    concurrency: intOption("concurrency", o.concurrency),
    lockDurationMs: intOption("lock-ms", o["lock-ms"]),
    stalledIntervalMs: intOption("stalled-ms", o["stalled-ms"]),
    name: o.name,
    signal: ctl.signal,
    onJob: o.quiet ? undefined : (e) =>
      console.error(
        `worker: request ${e.index} ${e.ok ? "done" : "failed"} in ${(e.ms / 1000).toFixed(1)} s` +
          ` (try ${e.attempt + 1})${e.message ? `: ${e.message}` : ""}`,
      ),
  });
});
