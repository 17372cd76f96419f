/**
 * Local fake servers for the generation backends, speaking their documented APIs, recording every
 * request, with fault injection. Each listens on 127.0.0.1 on a free port and stops with `close()`.
 *
 * Shapes (the same sources as the backends; see the comment at the top of each backend file):
 * - A1111: AUTOMATIC1111/stable-diffusion-webui v1.10 `modules/api/api.py` + `models.py`
 *   (`TextToImageResponse {images, parameters, info}` with `info` a JSON string of
 *   `Processed.js()`; `ProgressResponse`; `SDModelItem`; 401 from `--api-auth`; 422 for
 *   wrong field types as FastAPI/pydantic reports them), `extensions-builtin/Lora` (`/sdapi/v1/loras`),
 *   ControlNet `ControlNetUnit` (detected maps appended after the images).
 * - ComfyUI: comfyanonymous/ComfyUI `server.py` (`POST /prompt`, `GET /history/{id}`, `GET /view`,
 *   `GET /ws?clientId=`), `execution.py` (history `status {status_str, completed, messages}`,
 *   websocket messages `status, execution_start, executing, progress, executed, execution_success,
 *   execution_error`), `script_examples/websockets_api_example.py`.
 * - OpenAI images and chat: the OpenAI API reference "Create image" and "Create chat completion"
 *   (2025): `{created, data: [{b64_json, revised_prompt}]}`, `{choices: [{message: {content}}]}`,
 *   errors `{error: {message, type, param, code}}`; `gpt-image-*` rejects `response_format`.
 *
 * Faults (`server.faults.push(...)`, consumed in order by requests to the generation route):
 * `500`, `429` (+ `Retry-After`), `timeout` (no reply for `hangMs`), `malformed` (truncated JSON),
 * `not_image` (valid JSON whose image is base64 text), `leak` (a 500 echoing the request's
 * Authorization header, like a careless proxy), `die` (the connection drops mid-reply and the
 * server shuts down: later requests are refused).
 */
import sharp from "sharp";
import { Buffer } from "node:buffer";

/** A request the fake received. */
export interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
}

/** An injected fault. */
export interface Fault {
  kind: "500" | "429" | "timeout" | "malformed" | "not_image" | "leak" | "die";
  retryAfter?: string;
}

/** What a generated fake image looks like; the default rules reject `dark` and `blur`. */
export type ImageKind = "good" | "dark" | "blur";

/** A deterministic PNG: noise texture (`good`), the same nearly black (`dark`), or a flat gradient (`blur`). */
export async function fakePng(
  seed: number,
  kind: ImageKind = "good",
  width = 64,
  height = 64,
): Promise<Uint8Array<ArrayBuffer>> {
  const px = new Uint8Array(width * height * 3);
  let a = (seed + 1) >>> 0;
  const rnd = () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 4294967296;
  };
  for (let i = 0; i < width * height; i++) {
    const x = i % width;
    for (let c = 0; c < 3; c++) {
      const v = kind === "blur" ? 90 + Math.round((x / width) * 60) + c * 10 : 40 + Math.floor(rnd() * 180);
      px[i * 3 + c] = kind === "dark" ? Math.floor(v / 12) : v;
    }
  }
  const buf = await sharp(px, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 1 })
    .toBuffer();
  return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
}

const b64 = (u: Uint8Array) => Buffer.from(u).toString("base64");
const json = (v: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(v), { status, headers: { "content-type": "application/json", ...headers } });

/** Base of the fakes: recording, faults, concurrency counting, delays, shutdown. */
export class FakeServer {
  readonly requests: Recorded[] = [];
  readonly faults: Fault[] = [];
  /** Extra processing time of a generation request. */
  delayMs = 0;
  /** How long a `timeout` fault hangs. */
  hangMs = 3000;
  /** After this many successful generation replies the server dies (connection drop, then refused). */
  dieAfter?: number;
  /**
   * Random faults: each generation request without a queued fault fails with probability `rate`,
   * with a kind drawn from `kinds` (seeded, so a run repeats).
   */
  randomFaults?: { rate: number; kinds: Fault["kind"][]; rand: () => number };
  /** Faults served, by kind (queued and random). */
  readonly served: Record<string, number> = {};
  inFlight = 0;
  maxInFlight = 0;
  generated = 0;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #closing = new AbortController();
  #closed = false;
  readonly url: string;

  constructor(
    readonly generationRoute: (method: string, path: string) => boolean,
    readonly route: (req: Request, rec: Recorded) => Promise<Response>,
    port = 0,
  ) {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port, onListen: () => {} },
      (req) => this.#handle(req),
    );
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Requests to `path` (exact, without query). */
  to(path: string): Recorded[] {
    return this.requests.filter((r) => r.path === path);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closing.signal.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#closing.signal.addEventListener("abort", done, { once: true });
    });
  }

  async #handle(req: Request): Promise<Response> {
    const u = new URL(req.url);
    const text = req.method === "POST" ? await req.text() : "";
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    const rec: Recorded = {
      method: req.method,
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      headers: Object.fromEntries(req.headers),
      body,
    };
    this.requests.push(rec);
    if (!this.generationRoute(req.method, u.pathname)) return await this.route(req, rec);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const rf = this.randomFaults;
      const fault = this.faults.shift() ??
        (rf && rf.rand() < rf.rate ? { kind: rf.kinds[Math.floor(rf.rand() * rf.kinds.length)] } : undefined);
      if (fault) {
        this.served[fault.kind] = (this.served[fault.kind] ?? 0) + 1;
        return await this.#fault(fault, rec);
      }
      if (this.dieAfter !== undefined && this.generated >= this.dieAfter) return this.#die();
      this.onGenerationStart(rec);
      if (this.delayMs) await this.sleep(this.delayMs);
      const res = await this.route(req, rec);
      if (res.ok) this.generated++;
      return res;
    } finally {
      this.inFlight--;
    }
  }

  async #fault(f: Fault, rec: Recorded): Promise<Response> {
    switch (f.kind) {
      case "500":
        return json(
          { error: "RuntimeError", detail: "", body: "", errors: "CUDA out of memory (fake)" },
          500,
        );
      case "429":
        return json(
          {
            error: {
              message: "Rate limit reached (fake)",
              type: "requests",
              param: null,
              code: "rate_limit_exceeded",
            },
          },
          429,
          {
            "retry-after": f.retryAfter ?? "1",
          },
        );
      case "timeout":
        await this.sleep(this.hangMs);
        return json({ error: "late" }, 500);
      case "malformed":
        return new Response('{"images": ["iVBORw0KGgo', { headers: { "content-type": "application/json" } });
      case "not_image":
        return this.notImage(rec);
      case "leak":
        return new Response(
          `upstream error; request headers were: authorization=${rec.headers["authorization"] ?? ""}`,
          { status: 502 },
        );
      case "die":
        return this.#die();
    }
  }

  /** A well-formed reply whose image is not an image; each fake overrides it with its own shape. */
  notImage(_rec: Recorded): Response {
    return json({ error: "not overridden" }, 500);
  }

  #die(): Response {
    // Drop this connection mid-body, then stop listening: later requests are refused.
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"images": ["'));
        c.error(new Error("server died"));
      },
    });
    queueMicrotask(() => void this.close());
    return new Response(stream, { headers: { "content-type": "application/json" } });
  }

  /** Stops the server (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return await this.#server.finished.catch(() => {});
    this.#closed = true;
    this.#closing.abort();
    this.onClose();
    await this.#server.shutdown().catch(() => {});
  }

  /** Hook for subclasses: a generation request starts (before the delay). */
  onGenerationStart(_rec: Recorded): void {}

  /** Hook for subclasses (close websockets). */
  onClose(): void {}
}

// ---------------------------------------------------------------------------------------------
// AUTOMATIC1111

/** Options of {@link FakeA1111}. */
export interface FakeA1111Options {
  /** `user:password` as given to `--api-auth`. */
  auth?: string;
  /** Kind of image for the n-th generation request (0-based). Default always `good`. */
  kinds?: (call: number) => ImageKind;
  /** Port on 127.0.0.1 (to restart a server where the last one was). Default: any free port. */
  port?: number;
}

const A1111_MODELS = [
  {
    title: "v1-5-pruned-emaonly.safetensors [6ce0161689]",
    model_name: "v1-5-pruned-emaonly",
    hash: "6ce0161689",
    sha256: "6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa",
    filename: "/webui/models/Stable-diffusion/v1-5-pruned-emaonly.safetensors",
    config: null,
  },
  {
    title: "sd_xl_base_1.0.safetensors [31e35c80fc]",
    model_name: "sd_xl_base_1.0",
    hash: "31e35c80fc",
    sha256: "31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b",
    filename: "/webui/models/Stable-diffusion/sd_xl_base_1.0.safetensors",
    config: null,
  },
];

const A1111_TYPES: Record<string, "int" | "number" | "string" | "bool" | "object" | "list"> = {
  prompt: "string",
  negative_prompt: "string",
  seed: "int",
  batch_size: "int",
  n_iter: "int",
  steps: "int",
  cfg_scale: "number",
  width: "int",
  height: "int",
  sampler_name: "string",
  override_settings: "object",
  override_settings_restore_afterwards: "bool",
  send_images: "bool",
  save_images: "bool",
  alwayson_scripts: "object",
  init_images: "list",
  mask: "string",
  denoising_strength: "number",
  mask_blur: "int",
  inpainting_fill: "int",
  inpaint_full_res: "bool",
  inpaint_full_res_padding: "int",
  inpainting_mask_invert: "int",
  resize_mode: "int",
};

function pydanticErrors(body: Record<string, unknown>): unknown[] {
  const errs = [];
  for (const [k, t] of Object.entries(A1111_TYPES)) {
    const v = body[k];
    if (v === undefined || v === null) continue;
    const ok = t === "int"
      ? Number.isInteger(v)
      : t === "number"
      ? typeof v === "number"
      : t === "string"
      ? typeof v === "string"
      : t === "bool"
      ? typeof v === "boolean"
      : t === "list"
      ? Array.isArray(v)
      : typeof v === "object" && !Array.isArray(v);
    if (!ok) errs.push({ loc: ["body", k], msg: `value is not a valid ${t}`, type: `type_error.${t}` });
  }
  return errs;
}

/** A fake AUTOMATIC1111 web UI started with `--api` (and `--api-auth` when `auth` is set). */
export class FakeA1111 extends FakeServer {
  #seedCounter = 1000;
  #current: { start: number; steps: number } | null = null;
  constructor(readonly options: FakeA1111Options = {}) {
    super(
      (m, p) => m === "POST" && (p === "/sdapi/v1/txt2img" || p === "/sdapi/v1/img2img"),
      (req, rec) => this.#route(req, rec),
      options.port,
    );
  }

  override notImage(_rec: Recorded): Response {
    const text = b64(new TextEncoder().encode("<html>502 Bad Gateway</html>"));
    return json({ images: [text], parameters: {}, info: JSON.stringify({ seed: 1, all_seeds: [1] }) });
  }

  override onGenerationStart(rec: Recorded): void {
    const steps = (rec.body as Record<string, unknown> | null)?.steps;
    this.#current = { start: Date.now(), steps: typeof steps === "number" ? steps : 20 };
  }

  #authorized(rec: Recorded): boolean {
    if (!this.options.auth) return true;
    return rec.headers["authorization"] === "Basic " + b64(new TextEncoder().encode(this.options.auth));
  }

  async #route(_req: Request, rec: Recorded): Promise<Response> {
    if (!this.#authorized(rec)) {
      return json(
        { error: "HTTPException", detail: "Incorrect username or password", body: "", errors: "" },
        401,
      );
    }
    if (rec.method === "GET" && rec.path === "/sdapi/v1/sd-models") return json(A1111_MODELS);
    if (rec.method === "GET" && rec.path === "/sdapi/v1/loras") {
      return json(
        ["film_grain", "detail_tweaker"].map((n) => ({
          name: n,
          alias: n,
          path: `/webui/models/Lora/${n}.safetensors`,
          metadata: {},
        })),
      );
    }
    if (rec.method === "GET" && rec.path === "/sdapi/v1/progress") {
      const c = this.#current;
      const frac = c ? Math.min(0.99, (Date.now() - c.start) / Math.max(1, this.delayMs)) : 0;
      return json({
        progress: frac,
        eta_relative: c ? Math.max(0, (this.delayMs - (Date.now() - c.start)) / 1000) : 0,
        state: {
          skipped: false,
          interrupted: false,
          job: c ? "txt2img" : "",
          job_count: c ? 1 : 0,
          job_timestamp: "20250101000000",
          job_no: 0,
          sampling_step: c ? Math.floor(frac * c.steps) : 0,
          sampling_steps: c?.steps ?? 0,
        },
        current_image: null,
        textinfo: null,
      });
    }
    if (rec.method === "POST" && (rec.path === "/sdapi/v1/txt2img" || rec.path === "/sdapi/v1/img2img")) {
      return await this.#generate(rec);
    }
    return json({ detail: "Not Found" }, 404);
  }

  async #generate(rec: Recorded): Promise<Response> {
    if (typeof rec.body !== "object" || rec.body === null || Array.isArray(rec.body)) {
      return json({ detail: [{ loc: ["body"], msg: "field required", type: "value_error.missing" }] }, 422);
    }
    const body = rec.body as Record<string, unknown>;
    const errs = pydanticErrors(body);
    if (errs.length) return json({ detail: errs }, 422);
    const img2img = rec.path.endsWith("img2img");
    if (img2img) {
      for (const s of (body.init_images as string[] | undefined) ?? []) {
        try {
          await sharp(Buffer.from(s, "base64")).metadata();
        } catch {
          return json({ error: "HTTPException", detail: "Invalid encoded image", body: "", errors: "" }, 500);
        }
      }
    }
    const batch = (body.batch_size as number | undefined) ?? 1;
    const steps = (body.steps as number | undefined) ?? 20;
    const seed = typeof body.seed === "number" && body.seed >= 0 ? body.seed : (this.#seedCounter += 7);
    const width = (body.width as number | undefined) ?? 64,
      height = (body.height as number | undefined) ?? 64;
    const call = this.generated;
    const kind = this.options.kinds?.(call) ?? "good";
    const images: string[] = [];
    for (let i = 0; i < batch; i++) images.push(b64(await fakePng(seed + i, kind, width, height)));
    const units =
      ((body.alwayson_scripts as Record<string, { args?: { enabled?: boolean }[] }>)?.controlnet?.args ?? [])
        .filter((u) => u.enabled);
    for (const _ of units) images.push(b64(await fakePng(0, "blur", width, height)));
    const model = (body.override_settings as Record<string, string> | undefined)?.sd_model_checkpoint ??
      "v1-5-pruned-emaonly.safetensors [6ce0161689]";
    const all_seeds = Array.from({ length: batch }, (_, i) => seed + i);
    const prompt = String(body.prompt ?? "");
    const info = {
      prompt,
      all_prompts: all_seeds.map(() => prompt),
      negative_prompt: body.negative_prompt ?? "",
      all_negative_prompts: all_seeds.map(() => body.negative_prompt ?? ""),
      seed,
      all_seeds,
      subseed: 12345,
      all_subseeds: all_seeds.map((s) => s + 12345),
      subseed_strength: 0,
      width,
      height,
      sampler_name: body.sampler_name ?? "DPM++ 2M",
      cfg_scale: body.cfg_scale ?? 7,
      steps,
      batch_size: batch,
      restore_faces: false,
      face_restoration_model: null,
      sd_model_name: model.replace(/\.safetensors.*$/, ""),
      sd_model_hash: "6ce0161689",
      sd_vae_name: null,
      sd_vae_hash: null,
      seed_resize_from_w: -1,
      seed_resize_from_h: -1,
      denoising_strength: img2img ? body.denoising_strength ?? 0.75 : null,
      extra_generation_params: {},
      index_of_first_image: 0,
      infotexts: all_seeds.map((s) => `${prompt}\nSteps: ${steps}, Seed: ${s}, Size: ${width}x${height}`),
      styles: [],
      job_timestamp: "20250101000000",
      clip_skip: 1,
      is_using_inpainting_conditioning: false,
      version: "v1.10.1",
    };
    this.#current = null;
    return json({
      images,
      parameters: { ...body, init_images: img2img ? null : undefined },
      info: JSON.stringify(info),
    });
  }
}

// ---------------------------------------------------------------------------------------------
// ComfyUI

/** Options of {@link FakeComfy}. */
export interface FakeComfyOptions {
  /** Serve `/ws` (default true); false answers 404 as a proxy without websocket support would. */
  websocket?: boolean;
  kinds?: (call: number) => ImageKind;
  /** Make the n-th prompt fail in execution (history status error + `execution_error`). */
  failExecution?: (call: number) => boolean;
}

interface HistoryEntry {
  prompt: unknown[];
  outputs: Record<string, { images: { filename: string; subfolder: string; type: string }[] }>;
  status: { status_str: string; completed: boolean; messages: unknown[] };
  meta: Record<string, unknown>;
}

/** A fake ComfyUI server. */
export class FakeComfy extends FakeServer {
  readonly history = new Map<string, HistoryEntry>();
  readonly files = new Map<string, Uint8Array<ArrayBuffer>>();
  readonly sockets = new Map<string, WebSocket>();
  wsConnections = 0;
  #number = 0;
  #fileNo = 0;
  #pending = new Set<Promise<void>>();

  constructor(readonly options: FakeComfyOptions = {}) {
    super((m, p) => m === "POST" && p === "/prompt", (req, rec) => this.#route(req, rec));
  }

  override notImage(rec: Recorded): Response {
    // Queued fine, but the file it serves is not an image.
    const id = crypto.randomUUID();
    const clientId = (rec.body as Record<string, unknown> | null)?.client_id as string | undefined;
    setTimeout(() => {
      this.#send(clientId, "execution_success", { prompt_id: id, timestamp: Date.now() });
      this.#send(clientId, "executing", { node: null, display_node: null, prompt_id: id });
    }, 5);
    const name = `ComfyUI_bad_${id.slice(0, 8)}_.png`;
    this.files.set(`output//${name}`, new TextEncoder().encode("this is not a PNG"));
    this.history.set(id, {
      prompt: [this.#number++, id, {}, {}, ["9"]],
      outputs: { "9": { images: [{ filename: name, subfolder: "", type: "output" }] } },
      status: { status_str: "success", completed: true, messages: [] },
      meta: {},
    });
    return json({ prompt_id: id, number: this.#number, node_errors: {} });
  }

  override onClose(): void {
    for (const s of this.sockets.values()) {
      try {
        s.close();
      } catch { /* closed */ }
    }
  }

  /** Waits until every queued prompt has finished executing. */
  async idle(): Promise<void> {
    while (this.#pending.size) await Promise.all([...this.#pending]);
  }

  #send(clientId: string | undefined, type: string, data: unknown) {
    const s = clientId ? this.sockets.get(clientId) : undefined;
    if (s && s.readyState === WebSocket.OPEN) s.send(JSON.stringify({ type, data }));
  }

  #route(req: Request, rec: Recorded): Promise<Response> {
    if (rec.method === "GET" && rec.path === "/ws") {
      if (this.options.websocket === false) {
        return Promise.resolve(new Response("Not Found", { status: 404 }));
      }
      const clientId = rec.query.clientId ?? crypto.randomUUID();
      const { socket, response } = Deno.upgradeWebSocket(req);
      this.wsConnections++;
      socket.onopen = () => {
        this.sockets.set(clientId, socket);
        socket.send(
          JSON.stringify({
            type: "status",
            data: { status: { exec_info: { queue_remaining: 0 } }, sid: clientId },
          }),
        );
      };
      socket.onclose = () => this.sockets.delete(clientId);
      return Promise.resolve(response);
    }
    if (rec.method === "POST" && rec.path === "/prompt") return Promise.resolve(this.#queue(rec));
    if (rec.method === "GET" && rec.path.startsWith("/history/")) {
      const id = decodeURIComponent(rec.path.slice("/history/".length));
      const e = this.history.get(id);
      return Promise.resolve(json(e ? { [id]: e } : {}));
    }
    if (rec.method === "GET" && rec.path === "/view") {
      const key = `${rec.query.type ?? "output"}/${rec.query.subfolder ?? ""}/${rec.query.filename}`;
      const f = this.files.get(key);
      return Promise.resolve(
        f
          ? new Response(f, { headers: { "content-type": "image/png" } })
          : new Response("404: Not Found", { status: 404 }),
      );
    }
    return Promise.resolve(json({ error: "not found" }, 404));
  }

  #queue(rec: Recorded): Response {
    const body = rec.body as Record<string, unknown> | null;
    const prompt = body?.prompt as
      | Record<string, { class_type?: string; inputs?: Record<string, unknown> }>
      | undefined;
    if (!prompt || typeof prompt !== "object") {
      return json({
        error: {
          type: "no_prompt",
          message: "No prompt provided",
          details: "No prompt provided",
          extra_info: {},
        },
        node_errors: {},
      }, 400);
    }
    const nodeErrors: Record<string, unknown> = {};
    for (const [id, node] of Object.entries(prompt)) {
      if (typeof node?.class_type !== "string" || typeof node.inputs !== "object") {
        return json({
          error: {
            type: "invalid_prompt",
            message: `Cannot execute because a node is missing the class_type property.: Node ID '#${id}'`,
            details: "",
            extra_info: {},
          },
          node_errors: [],
        }, 400);
      }
      for (const [k, v] of Object.entries(node.inputs ?? {})) {
        if (typeof v === "string" && v.includes("{{")) {
          nodeErrors[id] = {
            errors: [{
              type: "value_not_valid",
              message: "Value not in list",
              details: `${k}: '${v}'`,
              extra_info: {},
            }],
            dependent_outputs: ["9"],
            class_type: node.class_type,
          };
        }
      }
    }
    if (Object.keys(nodeErrors).length) {
      return json({
        error: {
          type: "prompt_outputs_failed_validation",
          message: "Prompt outputs failed validation",
          details: "",
          extra_info: {},
        },
        node_errors: nodeErrors,
      }, 400);
    }
    const outputs = Object.entries(prompt).filter(([, n]) => n.class_type === "SaveImage").map(([id]) => id);
    if (outputs.length === 0) {
      return json({
        error: { type: "prompt_no_outputs", message: "Prompt has no outputs", details: "", extra_info: {} },
        node_errors: [],
      }, 400);
    }
    const id = crypto.randomUUID();
    const number = this.#number++;
    const clientId = body?.client_id as string | undefined;
    const call = this.generated;
    const p = this.#execute(id, number, prompt, clientId, outputs[0], call);
    this.#pending.add(p);
    p.finally(() => this.#pending.delete(p));
    return json({ prompt_id: id, number, node_errors: {} });
  }

  async #execute(
    id: string,
    number: number,
    prompt: Record<string, { class_type?: string; inputs?: Record<string, unknown> }>,
    clientId: string | undefined,
    saveNode: string,
    call: number,
  ) {
    const inputs = Object.values(prompt).map((n) => n.inputs ?? {});
    const seed = Number(inputs.find((i) => "seed" in i)?.seed ?? 0);
    const batch = Number(inputs.find((i) => "batch_size" in i)?.batch_size ?? 1);
    const width = Number(inputs.find((i) => "width" in i)?.width ?? 64);
    const height = Number(inputs.find((i) => "height" in i)?.height ?? 64);
    const steps = Number(inputs.find((i) => "steps" in i)?.steps ?? 4);
    const ts = () => Date.now();
    await this.sleep(5);
    this.#send(clientId, "execution_start", { prompt_id: id, timestamp: ts() });
    this.#send(clientId, "executing", { node: "3", display_node: "3", prompt_id: id });
    for (let s = 1; s <= Math.min(steps, 4); s++) {
      await this.sleep(Math.max(1, Math.floor(this.delayMs / 4)));
      this.#send(clientId, "progress", { value: s, max: Math.min(steps, 4), prompt_id: id, node: "3" });
    }
    if (this.options.failExecution?.(call)) {
      const err = {
        prompt_id: id,
        node_id: "3",
        node_type: "KSampler",
        executed: [],
        exception_message: "CUDA out of memory (fake)",
        exception_type: "torch.OutOfMemoryError",
        traceback: [],
        current_inputs: {},
        current_outputs: {},
        timestamp: ts(),
      };
      this.history.set(id, {
        prompt: [number, id, prompt, { client_id: clientId }, [saveNode]],
        outputs: {},
        status: {
          status_str: "error",
          completed: false,
          messages: [["execution_start", { prompt_id: id }], ["execution_error", err]],
        },
        meta: {},
      });
      this.#send(clientId, "execution_error", err);
      return;
    }
    const kind = this.options.kinds?.(call) ?? "good";
    const images = [];
    for (let i = 0; i < batch; i++) {
      const filename = `ComfyUI_${String(++this.#fileNo).padStart(5, "0")}_.png`;
      this.files.set(`output//${filename}`, await fakePng(seed + i, kind, width, height));
      images.push({ filename, subfolder: "", type: "output" });
    }
    // A preview (temp) image as PreviewImage nodes make; winnow should prefer the saved ones.
    const preview = `ComfyUI_temp_${String(this.#fileNo).padStart(5, "0")}_.png`;
    this.files.set(`temp//${preview}`, await fakePng(0, "blur", width, height));
    this.history.set(id, {
      prompt: [number, id, prompt, { client_id: clientId }, [saveNode]],
      outputs: {
        [saveNode]: { images },
        "99": { images: [{ filename: preview, subfolder: "", type: "temp" }] },
      },
      status: {
        status_str: "success",
        completed: true,
        messages: [["execution_start", { prompt_id: id, timestamp: ts() }], ["execution_success", {
          prompt_id: id,
          timestamp: ts(),
        }]],
      },
      meta: {
        [saveNode]: { node_id: saveNode, display_node: saveNode, parent_node: null, real_node_id: saveNode },
      },
    });
    this.#send(clientId, "executed", {
      node: saveNode,
      display_node: saveNode,
      output: { images },
      prompt_id: id,
    });
    this.#send(clientId, "execution_success", { prompt_id: id, timestamp: ts() });
    this.#send(clientId, "executing", { node: null, display_node: null, prompt_id: id });
  }
}

/** A minimal SD1.5 API-format workflow with placeholders (the shape of ComfyUI's example). */
export function placeholderWorkflow(): Record<string, unknown> {
  return {
    "3": {
      class_type: "KSampler",
      inputs: {
        cfg: "{{cfg}}",
        denoise: 1,
        latent_image: ["5", 0],
        model: ["4", 0],
        negative: ["7", 0],
        positive: ["6", 0],
        sampler_name: "euler",
        scheduler: "normal",
        seed: "{{seed}}",
        steps: "{{steps}}",
      },
    },
    "4": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: "v1-5-pruned-emaonly.safetensors" } },
    "5": {
      class_type: "EmptyLatentImage",
      inputs: { batch_size: "{{batch_size}}", height: "{{height}}", width: "{{width}}" },
    },
    "6": { class_type: "CLIPTextEncode", inputs: { clip: ["4", 1], text: "{{prompt}}, masterpiece" } },
    "7": { class_type: "CLIPTextEncode", inputs: { clip: ["4", 1], text: "{{negative_prompt}}" } },
    "8": { class_type: "VAEDecode", inputs: { samples: ["3", 0], vae: ["4", 2] } },
    "9": { class_type: "SaveImage", inputs: { filename_prefix: "winnow", images: ["8", 0] } },
  };
}

// ---------------------------------------------------------------------------------------------
// OpenAI images + chat

/** Options of {@link FakeOpenAI}. */
export interface FakeOpenAIOptions {
  /** Required bearer key (none = no auth). */
  apiKey?: string;
  kinds?: (call: number) => ImageKind;
  /** Chat replies: given the messages, the assistant's content. */
  chat?: (messages: { role: string; content: string }[]) => string;
}

/** A fake OpenAI-compatible server: `/v1/images/generations` and `/v1/chat/completions`. */
export class FakeOpenAI extends FakeServer {
  constructor(readonly options: FakeOpenAIOptions = {}) {
    super(
      (m, p) => m === "POST" && (p === "/v1/images/generations" || p === "/v1/chat/completions"),
      (req, rec) => this.#route(req, rec),
    );
  }

  override notImage(_rec: Recorded): Response {
    return json({
      created: 1700000000,
      data: [{ b64_json: b64(new TextEncoder().encode("GIF89a-but-not-really")) }],
    });
  }

  #err(status: number, message: string, type: string, param: string | null, code: string | null) {
    return json({ error: { message, type, param, code } }, status);
  }

  async #route(_req: Request, rec: Recorded): Promise<Response> {
    if (this.options.apiKey) {
      const auth = rec.headers["authorization"] ?? "";
      if (auth !== `Bearer ${this.options.apiKey}`) {
        const given = auth.replace(/^Bearer /, "");
        const shown = given ? `${given.slice(0, 3)}*****${given.slice(-4)}` : "";
        return this.#err(
          401,
          given
            ? `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`
            : "You didn't provide an API key.",
          "invalid_request_error",
          null,
          "invalid_api_key",
        );
      }
    }
    const body = (rec.body ?? {}) as Record<string, unknown>;
    if (rec.path === "/v1/images/generations") {
      if (typeof body.prompt !== "string" || !body.prompt) {
        return this.#err(
          400,
          "Missing required parameter: 'prompt'.",
          "invalid_request_error",
          "prompt",
          "missing_required_parameter",
        );
      }
      const model = String(body.model ?? "dall-e-2");
      if (/^gpt-image/.test(model) && body.response_format !== undefined) {
        return this.#err(
          400,
          "Unknown parameter: 'response_format'.",
          "invalid_request_error",
          "response_format",
          "unknown_parameter",
        );
      }
      if (body.response_format !== undefined && !["url", "b64_json"].includes(String(body.response_format))) {
        return this.#err(
          400,
          `'${body.response_format}' is not one of ['url', 'b64_json']`,
          "invalid_request_error",
          "response_format",
          null,
        );
      }
      const n = body.n ?? 1;
      if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > 10) {
        return this.#err(
          400,
          `${n} is greater than the maximum of 10 - 'n'`,
          "invalid_request_error",
          "n",
          null,
        );
      }
      const m = String(body.size ?? "1024x1024").match(/^(\d+)x(\d+)$/);
      if (!m) {
        return this.#err(400, `'${body.size}' is not a valid size`, "invalid_request_error", "size", null);
      }
      const kind = this.options.kinds?.(this.generated) ?? "good";
      const w = Math.min(96, Number(m[1])), h = Math.min(96, Number(m[2]));
      const data = [];
      for (let i = 0; i < (n as number); i++) {
        const d: Record<string, unknown> = {
          b64_json: b64(await fakePng(this.generated * 10 + i, kind, w, h)),
        };
        if (model === "dall-e-3") d.revised_prompt = `${body.prompt}, detailed`;
        if (body.response_format === "url") d.url = "https://example.invalid/img.png";
        data.push(d);
      }
      const reply: Record<string, unknown> = { created: 1700000000, data };
      if (/^gpt-image/.test(model)) {
        reply.usage = {
          total_tokens: 100,
          input_tokens: 50,
          output_tokens: 50,
          input_tokens_details: { text_tokens: 50, image_tokens: 0 },
        };
      }
      return json(reply);
    }
    if (rec.path === "/v1/chat/completions") {
      const messages = body.messages as { role: string; content: string }[] | undefined;
      if (typeof body.model !== "string" || !Array.isArray(messages) || messages.length === 0) {
        return this.#err(
          400,
          "'messages' and 'model' are required",
          "invalid_request_error",
          "messages",
          null,
        );
      }
      const content = this.options.chat?.(messages) ??
        (/scene descriptions/.test(messages[0].content)
          ? "A lighthouse stands on a rocky cliff while a storm rolls in over the sea."
          : "lighthouse on a rocky cliff, storm clouds, crashing waves, dramatic light, photograph\nNegative: blurry, text, watermark");
      return json({
        id: "chatcmpl-fake",
        object: "chat.completion",
        created: 1700000000,
        model: body.model,
        choices: [{
          index: 0,
          message: { role: "assistant", content },
          logprobs: null,
          finish_reason: "stop",
        }],
        usage: { prompt_tokens: 20, completion_tokens: 20, total_tokens: 40 },
      });
    }
    return this.#err(404, "Invalid URL (POST " + rec.path + ")", "invalid_request_error", null, null);
  }
}
