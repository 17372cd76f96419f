/**
 * ComfyUI backend: an API-format workflow with `{{placeholders}}` filled per request.
 *
 * Shapes follow comfyanonymous/ComfyUI (master, 2025):
 * - `server.py`: `POST /prompt` with `{prompt, client_id}` → `{prompt_id, number, node_errors}`, or
 *   HTTP 400 `{error: {type, message, details, extra_info}, node_errors}`; `GET /history/{prompt_id}`
 *   → `{}` while queued/running, then `{<id>: {prompt, outputs: {<node>: {images: [{filename,
 *   subfolder, type}]}}, status: {status_str, completed, messages}}}`; `GET /view?filename=&subfolder=&type=`
 *   → the image bytes; websocket `GET /ws?clientId=`.
 * - `execution.py` / `main.py`: websocket JSON messages `{type, data}` of types `status`,
 *   `execution_start`, `executing {node, prompt_id}` (node null = prompt finished),
 *   `progress {value, max, prompt_id, node}`, `executed`, `execution_success`, `execution_error
 *   {prompt_id, node_id, node_type, exception_message, exception_type}`; binary frames are previews.
 * - `script_examples/websockets_api_example.py`: connect the websocket first, queue the prompt,
 *   wait for `executing` with `node: null`, then read `/history` and `/view`.
 *
 * Placeholders (CONTRACTS): `{{prompt}} {{negative_prompt}} {{seed}} {{width}} {{height}} {{steps}}
 * {{cfg}}`, plus `{{model}} {{sampler}} {{batch_size}} {{denoise}}`. A string that is exactly a
 * numeric placeholder becomes a number; placeholders inside longer strings are replaced as text.
 *
 * @module
 */
import {
  type Backend,
  BackendError,
  type GenerateContext,
  type GeneratedImage,
  type GenerationRequest,
} from "./types.ts";
import { expectObject, fetchJson, httpFetch, sleep, validateUrl } from "../core/http.ts";

/** Placeholder names a workflow may use. */
export const COMFY_PLACEHOLDERS: readonly string[] = [
  "prompt",
  "negative_prompt",
  "seed",
  "width",
  "height",
  "steps",
  "cfg",
  "model",
  "sampler",
  "batch_size",
  "denoise",
];

/** An API-format workflow: node id → `{class_type, inputs}`. */
export type ComfyWorkflow = Record<
  string,
  { class_type: string; inputs: Record<string, unknown>; [k: string]: unknown }
>;

/**
 * Checks that parsed JSON is an API-format workflow (not the UI format with `nodes`/`links`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseWorkflow } from "./comfyui.ts";
 * assert.throws(() => parseWorkflow({ nodes: [], links: [] }, "wf.json"), /Save \(API Format\)/);
 * ```
 */
export function parseWorkflow(json: unknown, file = "<workflow>"): ComfyWorkflow {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new BackendError(`${file}: expected a JSON object of nodes`, "config");
  }
  const o = json as Record<string, unknown>;
  if (Array.isArray(o.nodes) || Array.isArray(o.links)) {
    throw new BackendError(
      `${file}: this is the UI format (nodes/links); export the workflow with "Save (API Format)" (enable dev mode options in older versions)`,
      "config",
    );
  }
  const ids = Object.keys(o);
  if (ids.length === 0) throw new BackendError(`${file}: the workflow has no nodes`, "config");
  for (const id of ids) {
    const n = o[id] as Record<string, unknown>;
    if (
      typeof n !== "object" || n === null || typeof n.class_type !== "string" || typeof n.inputs !== "object"
    ) {
      throw new BackendError(`${file}: node "${id}" needs "class_type" and "inputs" (API format)`, "config");
    }
  }
  return o as ComfyWorkflow;
}

const NUMERIC = new Set(["seed", "width", "height", "steps", "cfg", "batch_size", "denoise"]);

/**
 * Fills `{{placeholders}}` in a copy of `workflow`. Unknown placeholders and placeholders without a
 * value are errors naming the node and input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fillWorkflow } from "./comfyui.ts";
 * const wf = { "3": { class_type: "KSampler", inputs: { seed: "{{seed}}", text: "photo of {{prompt}}" } } };
 * const out = fillWorkflow(wf, { seed: 42, prompt: "a fox" });
 * assert.deepEqual(out["3"].inputs, { seed: 42, text: "photo of a fox" });
 * ```
 */
export function fillWorkflow(
  workflow: ComfyWorkflow,
  values: Record<string, string | number | undefined>,
): ComfyWorkflow {
  const used = new Set<string>();
  const fill = (v: unknown, where: string): unknown => {
    if (typeof v === "string") {
      const lookup = (name: string) => {
        if (!COMFY_PLACEHOLDERS.includes(name)) {
          throw new BackendError(
            `workflow ${where}: unknown placeholder {{${name}}}; known: ${
              COMFY_PLACEHOLDERS.map((p) => `{{${p}}}`).join(" ")
            }`,
            "config",
          );
        }
        const val = values[name];
        if (val === undefined) {
          throw new BackendError(
            `workflow ${where}: uses {{${name}}} but no value was given for it`,
            "config",
          );
        }
        used.add(name);
        return val;
      };
      const whole = v.match(/^\{\{\s*(\w+)\s*\}\}$/);
      if (whole) {
        const val = lookup(whole[1]);
        return NUMERIC.has(whole[1]) ? Number(val) : String(val);
      }
      return v.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => String(lookup(name)));
    }
    if (Array.isArray(v)) return v.map((x, i) => fill(x, `${where}[${i}]`));
    if (typeof v === "object" && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x, `${where}.${k}`)]));
    }
    return v;
  };
  const out: ComfyWorkflow = {};
  for (const [id, node] of Object.entries(workflow)) {
    out[id] = fill(node, `node ${id} (${node.class_type})`) as ComfyWorkflow[string];
  }
  return out;
}

/** Options of {@link ComfyBackend}. */
export interface ComfyOptions {
  /** Server root, e.g. `http://127.0.0.1:8188`. */
  url: string;
  /** API-format workflow (see {@link parseWorkflow}). */
  workflow: ComfyWorkflow;
  /** `auto` (default): use the websocket when it connects, else poll `/history`; `off`: always poll. */
  websocket?: "auto" | "off";
  /** Deadline for one prompt from queueing to the last image. Default 600 s. */
  timeoutMs?: number;
  /** `/history` polling interval. Default 1000 ms. */
  pollIntervalMs?: number;
  /** How long to wait for the websocket to open before polling instead. Default 3000 ms. */
  wsConnectTimeoutMs?: number;
}

type Outcome = { ok: true } | { ok: false; error: BackendError } | { ok: "fallback" };

/**
 * Backend for a ComfyUI server running a given workflow.
 *
 * @example
 * ```ts ignore
 * import { ComfyBackend, parseWorkflow } from "./comfyui.ts";
 * const workflow = parseWorkflow(JSON.parse(await Deno.readTextFile("sdxl_api.json")));
 * const b = new ComfyBackend({ url: "http://127.0.0.1:8188", workflow });
 * const images = await b.generate({ prompt: "a lighthouse at dusk", seed: 7 });
 * ```
 */
export class ComfyBackend implements Backend {
  readonly name = "comfyui";
  readonly endpoint: string;
  /** How the last request learned that its prompt finished: `websocket` or `polling`. */
  lastTransport: "websocket" | "polling" | null = null;
  #workflow: ComfyWorkflow;
  #opts: Required<Omit<ComfyOptions, "url" | "workflow">>;

  constructor(options: ComfyOptions) {
    this.endpoint = validateUrl(options.url);
    this.#workflow = parseWorkflow(options.workflow);
    this.#opts = {
      websocket: options.websocket ?? "auto",
      timeoutMs: options.timeoutMs ?? 600_000,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      wsConnectTimeoutMs: options.wsConnectTimeoutMs ?? 3000,
    };
    // Fail early on unknown placeholders (values are checked per request).
    const probe = Object.fromEntries(COMFY_PLACEHOLDERS.map((p) => [p, NUMERIC.has(p) ? 1 : "x"]));
    fillWorkflow(this.#workflow, probe);
  }

  async generate(req: GenerationRequest, ctx: GenerateContext = {}): Promise<GeneratedImage[]> {
    const seed = req.seed !== undefined && req.seed >= 0
      ? req.seed
      : crypto.getRandomValues(new Uint32Array(1))[0];
    const values: Record<string, string | number | undefined> = {
      prompt: req.prompt,
      negative_prompt: req.negativePrompt ?? "",
      seed,
      width: req.width ?? 1024,
      height: req.height ?? 1024,
      steps: req.steps ?? 20,
      cfg: req.cfgScale ?? 7,
      model: req.model,
      sampler: req.sampler,
      batch_size: req.batchSize ?? 1,
      denoise: req.init?.denoisingStrength ?? 1,
    };
    const prompt = fillWorkflow(this.#workflow, values);
    const clientId = crypto.randomUUID();
    const deadline = Date.now() + this.#opts.timeoutMs;
    const ws = await this.#openWs(clientId);
    let promptId: string;
    try {
      const url = `${this.endpoint}/prompt`;
      const r = expectObject(
        await fetchJson(url, {
          json: { prompt, client_id: clientId },
          timeoutMs: 60_000,
          signal: ctx.signal,
        }),
        `POST ${url}`,
      );
      if (typeof r.prompt_id !== "string" || !r.prompt_id) {
        throw new BackendError(`POST ${url}: reply has no prompt_id`, "bad_reply");
      }
      promptId = r.prompt_id;
      let outcome: Outcome = { ok: "fallback" };
      if (ws) outcome = await this.#waitWs(ws, promptId, deadline, ctx);
      if (outcome.ok === false) throw outcome.error;
      if (outcome.ok === "fallback") {
        this.lastTransport = "polling";
        await this.#poll(promptId, deadline, ctx);
      } else this.lastTransport = "websocket";
    } finally {
      try {
        ws?.close();
      } catch { /* already closed */ }
    }
    const images = await this.#images(promptId, deadline, ctx);
    const used: Record<string, unknown> = {
      workflow_nodes: Object.keys(prompt).length,
      width: values.width,
      height: values.height,
      steps: values.steps,
      cfg: values.cfg,
      prompt_id: promptId,
    };
    if (req.model) used.model = req.model;
    if (req.sampler) used.sampler = req.sampler;
    return images.map((bytes, i) => ({ bytes, seed, params: { ...used, batch_index: i } }));
  }

  #openWs(clientId: string): Promise<WebSocket | null> {
    if (this.#opts.websocket === "off") return Promise.resolve(null);
    const wsUrl = `${this.endpoint.replace(/^http/, "ws")}/ws?clientId=${encodeURIComponent(clientId)}`;
    return new Promise((resolve) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(wsUrl);
      } catch {
        return resolve(null);
      }
      let settled = false;
      const finish = (v: WebSocket | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        resolve(v);
      };
      const t = setTimeout(() => {
        try {
          ws.close();
        } catch { /* ignore */ }
        finish(null);
      }, this.#opts.wsConnectTimeoutMs);
      ws.onopen = () => finish(ws);
      ws.onerror = () => finish(null);
      ws.onclose = () => finish(null);
    });
  }

  #waitWs(ws: WebSocket, promptId: string, deadline: number, ctx: GenerateContext): Promise<Outcome> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (o: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(safety);
        ctx.signal?.removeEventListener("abort", onAbort);
        ws.onmessage = null;
        ws.onclose = null;
        ws.onerror = null;
        resolve(o);
      };
      const onAbort = () =>
        finish({ ok: false, error: new BackendError(`${this.endpoint}: cancelled`, "aborted") });
      // Safety net: a message lost on the websocket must not stall until the deadline.
      const safety = setInterval(async () => {
        try {
          const e = await this.#historyEntry(promptId, ctx);
          const status = (e?.status ?? null) as Record<string, unknown> | null;
          if (status?.completed === true || status?.status_str === "error") finish({ ok: true });
        } catch { /* the websocket may still answer */ }
      }, Math.max(2000, this.#opts.pollIntervalMs * 5));
      ctx.signal?.addEventListener("abort", onAbort, { once: true });
      const timer = setTimeout(
        () =>
          finish({
            ok: false,
            error: new BackendError(
              `${this.endpoint}: prompt ${promptId} did not finish within ${
                this.#opts.timeoutMs / 1000
              } s (timeout)`,
              "timeout",
            ),
          }),
        Math.max(0, deadline - Date.now()),
      );
      ws.onmessage = (ev) => {
        if (typeof ev.data !== "string") return; // binary previews
        let m: { type?: string; data?: Record<string, unknown> };
        try {
          m = JSON.parse(ev.data);
        } catch {
          return;
        }
        const d = m.data ?? {};
        if (d.prompt_id !== undefined && d.prompt_id !== promptId) return;
        if (m.type === "progress" && typeof d.value === "number" && typeof d.max === "number" && d.max > 0) {
          ctx.onProgress?.({ fraction: d.value / d.max, step: d.value, steps: d.max });
        } else if (m.type === "executing" && d.node === null && d.prompt_id === promptId) {
          finish({ ok: true });
        } else if (m.type === "execution_success" && d.prompt_id === promptId) finish({ ok: true });
        else if (m.type === "execution_error" && d.prompt_id === promptId) {
          finish({
            ok: false,
            error: new BackendError(
              `${this.endpoint}: prompt ${promptId} failed in node ${d.node_id} (${d.node_type}): ${d.exception_type}: ${d.exception_message}`,
              "server_error",
            ),
          });
        } else if (m.type === "execution_interrupted" && d.prompt_id === promptId) {
          finish({
            ok: false,
            error: new BackendError(`${this.endpoint}: prompt ${promptId} was interrupted`, "server_error"),
          });
        }
      };
      // A websocket that drops mid-prompt is not fatal: the result is still in /history.
      ws.onclose = () => finish({ ok: "fallback" });
      ws.onerror = () => finish({ ok: "fallback" });
    });
  }

  async #historyEntry(promptId: string, ctx: GenerateContext): Promise<Record<string, unknown> | null> {
    const url = `${this.endpoint}/history/${encodeURIComponent(promptId)}`;
    const j = expectObject(await fetchJson(url, { timeoutMs: 30_000, signal: ctx.signal }), `GET ${url}`);
    const e = j[promptId];
    return e && typeof e === "object" ? e as Record<string, unknown> : null;
  }

  async #poll(promptId: string, deadline: number, ctx: GenerateContext): Promise<void> {
    for (;;) {
      const e = await this.#historyEntry(promptId, ctx);
      if (e) {
        const status = (e.status ?? null) as Record<string, unknown> | null;
        if (status?.status_str === "error") {
          throw new BackendError(this.#errorOf(promptId, status), "server_error");
        }
        const outputs = (e.outputs ?? {}) as Record<string, unknown>;
        if (status?.completed === true || (!status && Object.keys(outputs).length > 0)) return;
      }
      if (Date.now() + this.#opts.pollIntervalMs > deadline) {
        throw new BackendError(
          `${this.endpoint}: prompt ${promptId} did not finish within ${
            this.#opts.timeoutMs / 1000
          } s (timeout)`,
          "timeout",
        );
      }
      await sleep(this.#opts.pollIntervalMs, ctx.signal);
    }
  }

  #errorOf(promptId: string, status: Record<string, unknown>): string {
    const msgs = Array.isArray(status.messages) ? status.messages as unknown[] : [];
    const err = msgs.find((m) => Array.isArray(m) && m[0] === "execution_error") as [
      string,
      Record<string, unknown>,
    ] | undefined;
    const d = err?.[1] ?? {};
    return `${this.endpoint}: prompt ${promptId} failed` +
      (err ? ` in node ${d.node_id} (${d.node_type}): ${d.exception_type}: ${d.exception_message}` : "");
  }

  async #images(promptId: string, deadline: number, ctx: GenerateContext): Promise<Uint8Array[]> {
    const e = await this.#historyEntry(promptId, ctx);
    if (!e) {
      throw new BackendError(
        `${this.endpoint}: prompt ${promptId} finished but is not in /history`,
        "bad_reply",
      );
    }
    const status = (e.status ?? null) as Record<string, unknown> | null;
    if (status?.status_str === "error") {
      throw new BackendError(this.#errorOf(promptId, status), "server_error");
    }
    const outputs = expectObject(e.outputs ?? {}, `history ${promptId} outputs`);
    type Ref = { filename: string; subfolder?: string; type?: string };
    const refs: Ref[] = [];
    for (const id of Object.keys(outputs)) {
      const imgs = (outputs[id] as Record<string, unknown>)?.images;
      if (Array.isArray(imgs)) refs.push(...imgs.filter((x): x is Ref => typeof x?.filename === "string"));
    }
    const saved = refs.filter((r) => (r.type ?? "output") === "output");
    const chosen = saved.length ? saved : refs;
    if (chosen.length === 0) {
      throw new BackendError(
        `${this.endpoint}: prompt ${promptId} produced no images (does the workflow end in SaveImage?)`,
        "bad_reply",
      );
    }
    const out: Uint8Array[] = [];
    for (const r of chosen) {
      const q = new URLSearchParams({
        filename: r.filename,
        subfolder: r.subfolder ?? "",
        type: r.type ?? "output",
      });
      const res = await httpFetch(`${this.endpoint}/view?${q}`, {
        timeoutMs: Math.max(5_000, deadline - Date.now()),
        signal: ctx.signal,
      });
      out.push(res.bytes);
    }
    return out;
  }
}
