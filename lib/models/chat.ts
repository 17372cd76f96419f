/**
 * The one client for OpenAI-compatible chat models (`POST {base}/chat/completions`; Ollama,
 * llama.cpp server, vLLM, LM Studio and OpenAI all speak it): the generation pipeline writes
 * prompts with it, the `probe` heuristic asks a vision model questions about an image with it.
 * Requests go through `core/http.ts` (deadline, classified errors, retries honouring
 * `Retry-After`); the key is sent as a Bearer token and masked in every message.
 *
 * Request/reply shapes follow the OpenAI API reference "Create chat completion" (2025):
 * `{model, messages: [{role, content}], temperature, max_tokens, seed, logprobs, top_logprobs}` →
 * `{id, object: "chat.completion", created, model, choices: [{index, message: {role, content,
 * refusal}, logprobs: {content: [{token, logprob, top_logprobs}]}, finish_reason}], usage}`.
 *
 * @module
 */
import { expectObject, fetchJson, HttpError, retrying, type RetryPolicy, validateUrl } from "../core/http.ts";
import { registerSecret } from "../core/secrets.ts";

/** One part of a multimodal message: text, or an image as a (data) URL. */
export type ChatContentPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string } };

/** A chat message. */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string | ChatContentPart[];
}

/** One entry of `choices[0].logprobs.content`. */
export interface TokenLogprob {
  token: string;
  logprob: number;
  top_logprobs?: { token: string; logprob: number }[];
}

/** `choices[0]` of a reply: the message (content may be null beside a refusal) and its logprobs. */
export interface ChatChoice {
  message: { role?: string; content: string | null; refusal?: string | null };
  logprobs?: { content?: TokenLogprob[] | null } | null;
  finish_reason?: string;
}

/** The request fields beside `model` and `messages` (snake_case, as sent). */
export interface ChatParams {
  temperature?: number;
  max_tokens?: number;
  seed?: number;
  logprobs?: boolean;
  top_logprobs?: number;
}

/** Options of {@link ChatClient}. */
export interface ChatOptions {
  /** Base URL ending in `/v1`, e.g. `http://127.0.0.1:11434/v1` (Ollama). */
  url: string;
  model: string;
  /** Bearer key (e.g. from `WINNOW_CHAT_API_KEY`); local servers need none. Masked in messages. */
  apiKey?: string;
  /** Per-request deadline. Default 120 s. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** What the URL was given as, for messages (default `--chat-url`). */
  urlName?: string;
}

/**
 * A client for OpenAI-compatible `/chat/completions`.
 *
 * @example
 * ```ts ignore
 * import { ChatClient } from "./chat.ts";
 * const chat = new ChatClient({ url: "http://127.0.0.1:11434/v1", model: "llama3.2" });
 * console.log(await chat.complete([{ role: "user", content: "Say hi" }]));
 * ```
 */
export class ChatClient {
  readonly endpoint: string;
  readonly model: string;
  #headers: Record<string, string>;
  #timeoutMs: number;
  #retry: RetryPolicy;

  constructor(options: ChatOptions) {
    this.endpoint = validateUrl(options.url, options.urlName ?? "--chat-url");
    this.model = options.model;
    registerSecret(options.apiKey);
    this.#headers = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#retry = options.retry ?? {};
  }

  /** The URL requests go to. */
  get url(): string {
    return `${this.endpoint}/chat/completions`;
  }

  /** The request body for `messages` (what {@link choose} sends). */
  request(messages: ChatMessage[], params: ChatParams = {}): Record<string, unknown> {
    return { model: this.model, messages, ...params };
  }

  /**
   * Sends `messages` and returns `choices[0]`, retrying failures that may pass (5xx, 429 after its
   * `Retry-After`, timeouts, refused connections, a reply without `choices[0].message` — or, with
   * `requireText`, without text in it). Throws the last {@link HttpError}. `onAttempt` hears the
   * number of each try (1, 2, …).
   */
  choose(
    messages: ChatMessage[],
    params: ChatParams = {},
    o: { requireText?: boolean; onAttempt?: (attempt: number) => void } = {},
  ): Promise<ChatChoice> {
    const url = this.url;
    const body = this.request(messages, params);
    return retrying(async (attempt) => {
      o.onAttempt?.(attempt + 1);
      const r = expectObject(
        await fetchJson(url, { json: body, headers: this.#headers, timeoutMs: this.#timeoutMs }),
        `POST ${url}`,
      );
      const choice = (r.choices as ChatChoice[] | undefined)?.[0];
      const content = choice?.message?.content;
      if (!choice?.message || (typeof content !== "string" && content !== null && content !== undefined)) {
        throw new HttpError(`POST ${url}: reply has no choices[0].message`, "bad_reply");
      }
      if (o.requireText && !content?.trim()) {
        throw new HttpError(`POST ${url}: reply has no choices[0].message.content`, "bad_reply");
      }
      return { ...choice, message: { ...choice.message, content: content ?? null } };
    }, this.#retry);
  }

  /** Sends the messages and returns the assistant's reply text (retrying as {@link choose} does). */
  async complete(
    messages: ChatMessage[],
    o: { temperature?: number; seed?: number; maxTokens?: number } = {},
  ): Promise<string> {
    const params: ChatParams = { temperature: o.temperature ?? 0.7, max_tokens: o.maxTokens ?? 400 };
    if (o.seed !== undefined) params.seed = o.seed;
    const choice = await this.choose(messages, params, { requireText: true });
    return choice.message.content!.trim();
  }
}
