/**
 * HTTP for everything winnow calls over the network (image backends, chat models): one request
 * with a deadline and failures classified for retrying ({@link HttpError}), JSON replies, retries
 * with exponential backoff that honour `Retry-After` ({@link retrying}), URL checks, and the small
 * reply-parsing helpers. Messages never hold a secret (`core/secrets.ts`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { WinnowError } from "./errors.ts";
import { maskSecrets, registerSecret } from "./secrets.ts";

/** How an HTTP call (to a generator, a chat model, …) failed; decides whether to retry. */
export type HttpErrorKind =
  | "refused"
  | "network"
  | "timeout"
  | "server_error"
  | "rate_limited"
  | "bad_reply"
  | "not_image"
  | "auth"
  | "http"
  | "config"
  | "aborted";

const RETRYABLE: ReadonlySet<HttpErrorKind> = new Set([
  "refused",
  "network",
  "timeout",
  "server_error",
  "rate_limited",
  "bad_reply",
  "not_image",
]);

/**
 * A failed HTTP call (image backends know it as `BackendError`). The message names the endpoint
 * and the problem and never holds a secret.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpError } from "./http.ts";
 * const e = new HttpError("POST http://127.0.0.1:7860/sdapi/v1/txt2img: HTTP 503", "server_error");
 * assert.equal(e.retryable, true);
 * ```
 */
export class HttpError extends WinnowError {
  /** True for failures that may pass on a later try (5xx, 429, timeouts, refused connections, bad payloads). */
  readonly retryable: boolean;
  constructor(
    message: string,
    readonly kind: HttpErrorKind,
    readonly status?: number,
    /** From a 429/503 `Retry-After` header. */
    readonly retryAfterMs?: number,
  ) {
    super(maskSecrets(message));
    this.retryable = RETRYABLE.has(kind);
  }
}

// ---------------------------------------------------------------------------------------------
// URLs

/**
 * Checks a server URL given on the command line: http(s) only, no credentials, no query or
 * fragment. Returns it without a trailing slash.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateUrl } from "./http.ts";
 * assert.equal(validateUrl("http://127.0.0.1:7860/"), "http://127.0.0.1:7860");
 * assert.throws(() => validateUrl("file:///etc/passwd"), /http or https/);
 * ```
 */
export function validateUrl(raw: string, what = "--url"): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new HttpError(
      `${what}: not a URL: "${maskSecrets(raw).slice(0, 100)}" (expected e.g. http://127.0.0.1:7860)`,
      "config",
    );
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new HttpError(`${what}: expected an http or https URL, got ${u.protocol}`, "config");
  }
  if (u.username || u.password) {
    if (u.password) registerSecret(decodeURIComponent(u.password));
    throw new HttpError(
      `${what}: put no credentials in the URL (${u.protocol}//${u.host}${u.pathname}); ` +
        "give them through the environment (WINNOW_A1111_AUTH, OPENAI_API_KEY, …)",
      "config",
    );
  }
  if (u.search || u.hash) {
    throw new HttpError(
      `${what}: expected a base URL without ?query or #fragment: ${u.origin}${u.pathname}`,
      "config",
    );
  }
  return (u.origin + u.pathname).replace(/\/+$/, "");
}

// ---------------------------------------------------------------------------------------------
// HTTP

/** Options of {@link httpFetch}. */
export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  /** JSON body (serialised here). */
  json?: unknown;
  /** Whole-request deadline incl. reading the body. Default 120 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Refuse bodies larger than this. Default 256 MiB. */
  maxBytes?: number;
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const s = Number(value.trim());
  if (Number.isFinite(s) && s >= 0) return Math.round(s * 1000);
  const t = Date.parse(value);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

function errorDetail(body: string): string {
  let detail = body.trim();
  try {
    const j = JSON.parse(body);
    const e = j?.error;
    detail = typeof e === "string"
      ? [e, typeof j.detail === "string" ? j.detail : "", typeof j.errors === "string" ? j.errors : ""]
        .filter(Boolean).join(": ")
      : e?.message ?? (typeof j?.detail === "string" ? j.detail : JSON.stringify(j?.detail ?? j));
  } catch { /* not JSON: keep the text */ }
  detail = String(detail).replace(/\s+/g, " ");
  return maskSecrets(detail.length > 300 ? detail.slice(0, 300) + "…" : detail);
}

/** A URL safe to print (no query values that could hold tokens beyond what we sent). */
function shown(url: string): string {
  return maskSecrets(url);
}

/** The body of a successful response, read under the same deadline. */
export interface HttpReply {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
}

/**
 * One HTTP request with a deadline. Failures become {@link HttpError}s classified for retrying:
 * refused connection, timeout, 5xx, 429 (with `Retry-After`), auth, other 4xx.
 *
 * @example
 * ```ts ignore
 * import { httpFetch } from "./http.ts";
 * const r = await httpFetch("http://127.0.0.1:7860/sdapi/v1/sd-models", { timeoutMs: 5000 });
 * ```
 */
export async function httpFetch(url: string, options: HttpOptions = {}): Promise<HttpReply> {
  const method = options.method ?? (options.json !== undefined ? "POST" : "GET");
  const what = `${method} ${shown(url)}`;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const ctl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, timeoutMs);
  const outer = options.signal;
  const onAbort = () => ctl.abort();
  outer?.addEventListener("abort", onAbort, { once: true });
  const headers: Record<string, string> = { ...options.headers };
  if (options.json !== undefined) headers["content-type"] = "application/json";
  try {
    if (outer?.aborted) throw new HttpError(`${what}: cancelled`, "aborted");
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: options.json !== undefined ? JSON.stringify(options.json) : undefined,
        signal: ctl.signal,
      });
    } catch (e) {
      throw classifyFetchError(e, what, timedOut, timeoutMs, outer);
    }
    let bytes: Uint8Array;
    try {
      const len = Number(res.headers.get("content-length") ?? "0");
      const max = options.maxBytes ?? 256 * 1024 * 1024;
      if (len > max) {
        await res.body?.cancel();
        throw new HttpError(
          `${what}: reply of ${len} bytes is larger than the limit (${max})`,
          "bad_reply",
        );
      }
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw classifyFetchError(e, what, timedOut, timeoutMs, outer);
    }
    if (!res.ok) {
      const detail = errorDetail(new TextDecoder().decode(bytes.subarray(0, 4000)));
      const msg = `${what}: HTTP ${res.status}${detail ? ": " + detail : ""}`;
      if (res.status === 429) {
        throw new HttpError(msg, "rate_limited", 429, parseRetryAfter(res.headers.get("retry-after")));
      }
      if (res.status >= 500 || res.status === 408) {
        throw new HttpError(
          msg,
          "server_error",
          res.status,
          parseRetryAfter(res.headers.get("retry-after")),
        );
      }
      if (res.status === 401 || res.status === 403) {
        throw new HttpError(`${msg} (check the credentials given in the environment)`, "auth", res.status);
      }
      throw new HttpError(msg, "http", res.status);
    }
    return { status: res.status, headers: res.headers, bytes };
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onAbort);
  }
}

function classifyFetchError(
  e: unknown,
  what: string,
  timedOut: boolean,
  timeoutMs: number,
  outer?: AbortSignal,
): HttpError {
  if (timedOut) {
    const limit = timeoutMs < 10_000 ? `${timeoutMs} ms` : `${timeoutMs / 1000} s`;
    return new HttpError(`${what}: no reply within ${limit} (timeout)`, "timeout");
  }
  if (outer?.aborted) return new HttpError(`${what}: cancelled`, "aborted");
  const cause = (e as { cause?: unknown })?.cause;
  const m = String((e as Error)?.message ?? e) + (cause ? `: ${(cause as Error)?.message ?? cause}` : "");
  if (/refused|ECONNREFUSED|os error 111|os error 61/i.test(m)) {
    return new HttpError(`${what}: connection refused (is the server running?)`, "refused");
  }
  return new HttpError(`${what}: network error: ${m.split("\n")[0].slice(0, 200)}`, "network");
}

/**
 * {@link httpFetch} and parses the reply as JSON; a reply that is not JSON is a retryable `bad_reply`.
 *
 * @example
 * ```ts ignore
 * import { fetchJson } from "./http.ts";
 * const models = await fetchJson("http://127.0.0.1:7860/sdapi/v1/sd-models");
 * ```
 */
export async function fetchJson(url: string, options: HttpOptions = {}): Promise<unknown> {
  const r = await httpFetch(url, options);
  const text = new TextDecoder().decode(r.bytes);
  try {
    return JSON.parse(text);
  } catch {
    const method = options.method ?? (options.json !== undefined ? "POST" : "GET");
    throw new HttpError(
      `${method} ${shown(url)}: reply is not valid JSON (${r.bytes.length} bytes, starts ${
        JSON.stringify(maskSecrets(text.slice(0, 60)))
      })`,
      "bad_reply",
    );
  }
}

/** Basic-auth header value for `user:password`. */
export function basicAuth(userPass: string): string {
  return "Basic " + Buffer.from(userPass).toString("base64");
}

/** Bytes → base64 (no data: prefix). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Base64 (optionally a `data:…;base64,` URL) → bytes; a retryable `bad_reply` when it is not base64. */
export function fromBase64(b64: unknown, what: string): Uint8Array {
  if (typeof b64 !== "string" || b64.length === 0) {
    throw new HttpError(`${what}: expected a base64 image string, got ${typeof b64}`, "bad_reply");
  }
  const s = b64.startsWith("data:") ? b64.slice(b64.indexOf(",") + 1) : b64;
  if (
    !/^[A-Za-z0-9+/_-]*={0,2}\s*$/.test(s.slice(0, 1000)) || !/^[A-Za-z0-9+/_=\s-]*$/.test(s.slice(-1000))
  ) {
    throw new HttpError(`${what}: image field is not base64`, "bad_reply");
  }
  const buf = Buffer.from(s, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** A short object check with a clear message, for parsing replies. */
export function expectObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new HttpError(
      `${what}: expected a JSON object in the reply, got ${Array.isArray(v) ? "an array" : typeof v}`,
      "bad_reply",
    );
  }
  return v as Record<string, unknown>;
}

/** Resolves after `ms`, or rejects early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new HttpError("cancelled", "aborted"));
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new HttpError("cancelled", "aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// ---------------------------------------------------------------------------------------------
// Retries

/** How often and how long to retry retryable failures. */
export interface RetryPolicy {
  /** Retries after the first try. Default 4. */
  retries?: number;
  /** First backoff; doubles each retry, with ±20 % jitter. Default 500 ms. */
  baseDelayMs?: number;
  /** Longest backoff. Default 15 s. */
  maxDelayMs?: number;
  /** Longest `Retry-After` honoured; a longer one ends the retries. Default 120 s. */
  maxRetryAfterMs?: number;
  /** No retry may start after this time (ms since epoch). */
  deadline?: number;
  signal?: AbortSignal;
  /** Called before each wait. */
  onRetry?: (e: HttpError, attempt: number, waitMs: number) => void;
}

/** The wait before retry `attempt` (1-based) for error `e`. */
export function backoffMs(e: HttpError, attempt: number, p: RetryPolicy = {}): number {
  if (e.retryAfterMs !== undefined) return e.retryAfterMs;
  const base = (p.baseDelayMs ?? 500) * 2 ** (attempt - 1);
  return Math.min(p.maxDelayMs ?? 15_000, Math.round(base * (0.8 + 0.4 * Math.random())));
}

/**
 * Runs `fn(attempt)` and retries retryable {@link HttpError}s with exponential backoff,
 * honouring `Retry-After`. The last error is rethrown with how many tries were made.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HttpError, retrying } from "./http.ts";
 * let calls = 0;
 * const v = await retrying(() => ++calls < 3 ? Promise.reject(new HttpError("x: HTTP 503", "server_error")) : Promise.resolve("ok"), { baseDelayMs: 1 });
 * assert.deepEqual([v, calls], ["ok", 3]);
 * ```
 */
export async function retrying<T>(fn: (attempt: number) => Promise<T>, p: RetryPolicy = {}): Promise<T> {
  const retries = p.retries ?? 4;
  for (let attempt = 0;; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const e = err instanceof HttpError
        ? err
        : new HttpError(String((err as Error)?.message ?? err), "http");
      if (!e.retryable || p.signal?.aborted) throw e;
      const tries = `${attempt + 1} ${attempt ? "tries" : "try"}`;
      if (attempt >= retries) {
        throw new HttpError(`${e.message} (gave up after ${tries})`, e.kind, e.status);
      }
      const wait = backoffMs(e, attempt + 1, p);
      if (e.retryAfterMs !== undefined && wait > (p.maxRetryAfterMs ?? 120_000)) {
        throw new HttpError(
          `${e.message} (Retry-After ${
            Math.round(wait / 1000)
          } s is longer than allowed; stopped after ${tries})`,
          e.kind,
          e.status,
        );
      }
      if (p.deadline !== undefined && Date.now() + wait > p.deadline) {
        throw new HttpError(
          `${e.message} (time budget left no room to retry; stopped after ${tries})`,
          e.kind,
          e.status,
        );
      }
      p.onRetry?.(e, attempt + 1, wait);
      await sleep(wait, p.signal);
    }
  }
}
