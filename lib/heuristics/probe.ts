/**
 * Multimodal probing: yes/no questions about the image, asked of any OpenAI-compatible chat
 * endpoint that accepts images (Ollama, llama.cpp server, vLLM, OpenAI), one question set per
 * error type: `missing_limbs`, `extra_fingers`, `garbled_text`, `prompt_mismatch`, `merged_objects`,
 * `artifact` (two questions each, one asked each way round; eleven requests per image with a prompt,
 * ten without — `errorTypes` asks fewer). Artifacts and merged objects are the rejects no offline
 * signal separates on the shipped labels (`deno task usable-study`'s headroom lines), so they are the
 * questions a multimodal model is most worth asking.
 *
 * Request (`POST <baseUrl>/chat/completions`, the chat-completions contract): `model`,
 * `messages` = a system message asking for a one-word yes/no answer and a user message whose
 * `content` is `[{ type: "text", text: <question> }, { type: "image_url", image_url: { url:
 * "data:image/jpeg;base64,…" } }]`, `temperature: 0`, `max_tokens`, and — unless `logprobs` is
 * false — `logprobs: true, top_logprobs: 5`.
 *
 * Answer: `choices[0].message.content` is parsed to yes / no ("Yes.", "yes, it does", "**No**" …);
 * `message.refusal` set, or a content that declines ("I'm sorry, I can't …"), is a refusal;
 * anything else is unclear. When the server returns `choices[0].logprobs.content[].top_logprobs`,
 * P(yes) = Σ p(yes-like tokens) / (Σ p(yes-like) + Σ p(no-like)) at the first token that is one
 * of them; otherwise P(yes) is 1 or 0 from the parsed answer. Each question has the answer that
 * means the defect (e.g. "no" to "does everyone have two arms?"), so per error type the output is
 * P(defect), the largest over its questions.
 *
 * Requests go through the project's one chat client (`lib/models/chat.ts`). Failures: HTTP 5xx and
 * 429 (after its `Retry-After`), timeouts (`timeoutMs` per request), network errors and replies
 * without a message are retried `retries` times with doubling delays from `retryDelayMs`; other 4xx
 * are not. A question that still fails, is refused
 * or unclear gives no value; the `probe_failed` column counts them and the `probe` table keeps
 * each question's raw answer, parse, P(yes), attempts and error.
 *
 * The API key is read from the environment variable named by `apiKeyEnv` (default
 * `OPENAI_API_KEY`, or a file named by `<apiKeyEnv>_FILE`; none needed for local servers) and sent
 * only as the
 * `Authorization: Bearer` header; it never appears in values, tables or errors (any echo of it in a
 * server's reply is replaced by `***`).
 *
 * Settings (`settings: { probe: { … } }`):
 * - `baseUrl` (required): e.g. `http://localhost:11434/v1` (Ollama), `http://localhost:8080/v1`
 *   (llama.cpp), `https://api.openai.com/v1`;
 * - `model` (required): e.g. `llava:13b`, `gpt-4o-mini`;
 * - `apiKeyEnv` (default `OPENAI_API_KEY`), `timeoutMs` (60000), `retries` (2), `retryDelayMs`
 *   (1000), `logprobs` (true; set false for servers that reject it), `maxTokens` (16),
 *   `maxSide` (768: the image is downscaled to this longest side and sent as JPEG q90),
 *   `errorTypes` (subset to ask, default all), `questions` (replace the question set: an array of
 *   `{ id, errorType, text, defectAnswer }`; `{prompt}` in `text` is replaced by the prompt),
 *   `prompt` / `prompts` (as `clip_score`; without them the prompt_mismatch question is skipped).
 *
 * @example
 * ```ts ignore
 * const ctx = new ImageContext(img, { path: "a.png", settings: { probe: { baseUrl: "http://localhost:11434/v1", model: "llava" } } });
 * console.log(await probe.compute(ctx), ctx.details.get("probe"));
 * ```
 * @module
 */
import sharp from "sharp";
import type { RgbImage } from "../core/image.ts";
import type { DetailRow, Heuristic, OutputSpec } from "./types.ts";
import { PROMPT_SETTINGS, promptFor } from "../core/prompts.ts";
import { checkSettings, SettingsError, type SettingsSpec } from "../core/settings.ts";
import { maskSecrets, readSecret } from "../core/secrets.ts";
import { ChatClient, type ChatMessage, type TokenLogprob } from "../models/chat.ts";

export type { TokenLogprob };

/** The error types probed, in output order. */
export const PROBE_ERROR_TYPES = [
  "missing_limbs",
  "extra_fingers",
  "garbled_text",
  "prompt_mismatch",
  "merged_objects",
  "artifact",
] as const;
/** One of {@link PROBE_ERROR_TYPES}. */
export type ProbeErrorType = typeof PROBE_ERROR_TYPES[number];

/** One yes/no question. */
export interface ProbeQuestion {
  /** Short id, unique in the set (the `question` column of the `probe` table). */
  id: string;
  errorType: ProbeErrorType;
  /** The question; `{prompt}` is replaced by the image's prompt (the question is skipped without one). */
  text: string;
  /** The answer that means the defect is there. */
  defectAnswer: "yes" | "no";
}

const ANSWER = " Answer with one word: yes or no.";

/** The default question set, two per error type (one asked each way round, against yes-bias). */
export const DEFAULT_QUESTIONS: readonly ProbeQuestion[] = [
  {
    id: "limbs_missing",
    errorType: "missing_limbs",
    text: "Is an arm, leg, hand or foot of a person in this image missing, cut off unnaturally or merged " +
      "into something else?" + ANSWER,
    defectAnswer: "yes",
  },
  {
    id: "limbs_complete",
    errorType: "missing_limbs",
    text:
      "Does every person in this image have a natural number of arms and legs (counting limbs hidden by " +
      "pose or framing as present)? If there is no person, answer yes." + ANSWER,
    defectAnswer: "no",
  },
  {
    id: "fingers_wrong",
    errorType: "extra_fingers",
    text: "Does any visible hand in this image have more or fewer than five fingers, or fused or twisted " +
      "fingers?" + ANSWER,
    defectAnswer: "yes",
  },
  {
    id: "hands_natural",
    errorType: "extra_fingers",
    text: "Do all visible hands in this image look anatomically normal? If no hand is visible, answer yes." +
      ANSWER,
    defectAnswer: "no",
  },
  {
    id: "text_garbled",
    errorType: "garbled_text",
    text: "Does this image contain lettering that is garbled, misspelled or made of letter-like shapes " +
      "that are not real words?" + ANSWER,
    defectAnswer: "yes",
  },
  {
    id: "text_legible",
    errorType: "garbled_text",
    text:
      "Is all text in this image made of real, correctly spelled words? If there is no text, answer yes." +
      ANSWER,
    defectAnswer: "no",
  },
  {
    id: "prompt_match",
    errorType: "prompt_mismatch",
    text: 'Does this image show the following description: "{prompt}"?' + ANSWER,
    defectAnswer: "no",
  },
  {
    id: "objects_merged",
    errorType: "merged_objects",
    text: "Are two or more objects, animals or people in this image fused into each other where they " +
      "should be separate (for example a rider grown into its mount, or a toy with parts of another " +
      "object)?" + ANSWER,
    defectAnswer: "yes",
  },
  {
    id: "objects_whole",
    errorType: "merged_objects",
    text: "Is every object, animal and person in this image a separate whole with a plausible shape and " +
      "the right number of parts? If the image shows none, answer yes." + ANSWER,
    defectAnswer: "no",
  },
  {
    id: "artifact_present",
    errorType: "artifact",
    text: "Does this image have visual glitches: smeared, melted or distorted regions, malformed shapes, " +
      "repeated fragments or noise patches that a photograph or a careful artist would not have?" + ANSWER,
    defectAnswer: "yes",
  },
  {
    id: "artifact_free",
    errorType: "artifact",
    text: "Is every part of this image clean and coherent, free of smeared, melted or distorted regions?" +
      ANSWER,
    defectAnswer: "no",
  },
];

/** Settings of `probe`, after defaults. */
export interface ProbeSettings {
  baseUrl: string;
  model: string;
  apiKeyEnv: string;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  logprobs: boolean;
  maxTokens: number;
  maxSide: number;
  errorTypes: ProbeErrorType[];
  questions: ProbeQuestion[];
  prompt?: string;
  prompts?: string;
}

const REQUIRED = 'e.g. baseUrl "http://localhost:11434/v1", model "llava"';

/** The settings of `probe`, with their defaults (questions and error types are checked after). */
export const PROBE_SETTINGS = {
  baseUrl: { kind: "string", required: REQUIRED },
  model: { kind: "string", required: REQUIRED },
  apiKeyEnv: { kind: "string", what: "the NAME of an environment variable", default: "OPENAI_API_KEY" },
  timeoutMs: { kind: "number", min: 1, default: 60_000 },
  retries: { kind: "number", min: 0, default: 2 },
  retryDelayMs: { kind: "number", min: 0, default: 1000 },
  logprobs: { kind: "boolean", default: true },
  maxTokens: { kind: "number", min: 1, default: 16 },
  maxSide: { kind: "number", min: 16, default: 768 },
  errorTypes: { kind: "any", default: [...PROBE_ERROR_TYPES] },
  questions: { kind: "any", default: DEFAULT_QUESTIONS },
  ...PROMPT_SETTINGS,
} as const satisfies SettingsSpec;

/**
 * Reads and checks the `probe` settings, filling in defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { probeSettings } from "./probe.ts";
 * const s = probeSettings({ baseUrl: "http://localhost:11434/v1", model: "llava" });
 * assert.equal(s.apiKeyEnv, "OPENAI_API_KEY");
 * assert.throws(() => probeSettings({ model: "llava" }), /baseUrl/);
 * ```
 */
export function probeSettings(raw: Record<string, unknown> = {}): ProbeSettings {
  const s = checkSettings("probe", raw, PROBE_SETTINGS);
  try {
    new URL(s.baseUrl as string);
  } catch {
    throw new SettingsError(`probe: baseUrl is not a URL: ${s.baseUrl}`);
  }
  const errorTypes = s.errorTypes as unknown[];
  if (
    !Array.isArray(errorTypes) || errorTypes.some((t) => !PROBE_ERROR_TYPES.includes(t as ProbeErrorType))
  ) {
    throw new SettingsError(`probe: errorTypes must be a list of ${PROBE_ERROR_TYPES.join(", ")}`);
  }
  const questions = s.questions as ProbeQuestion[];
  if (!Array.isArray(questions) || !questions.length) {
    throw new SettingsError("probe: questions must be a non-empty list");
  }
  const ids = new Set<string>();
  for (const q of questions) {
    if (
      typeof q?.id !== "string" || ids.has(q.id) || !PROBE_ERROR_TYPES.includes(q.errorType) ||
      typeof q.text !== "string" || !q.text.trim() || (q.defectAnswer !== "yes" && q.defectAnswer !== "no")
    ) {
      throw new SettingsError(
        `probe: bad question ${JSON.stringify(q)}: needs a unique id, errorType (${
          PROBE_ERROR_TYPES.join(", ")
        }), text and defectAnswer ("yes" or "no")`,
      );
    }
    ids.add(q.id);
  }
  if (!/^\w+$/.test(s.apiKeyEnv as string)) {
    throw new SettingsError(
      "probe: apiKeyEnv must be the NAME of an environment variable (never the key itself)",
    );
  }
  return {
    ...s,
    baseUrl: (s.baseUrl as string).replace(/\/+$/, ""),
    retries: Math.floor(s.retries as number),
    maxTokens: Math.floor(s.maxTokens as number),
    maxSide: Math.floor(s.maxSide as number),
  } as unknown as ProbeSettings;
}

/** How an answer was read. */
export type ParsedAnswer = "yes" | "no" | "refusal" | "unclear";

const REFUSAL = new RegExp(
  [
    "\\bi(?:'|’)?m sorry\\b",
    "\\bi am sorry\\b",
    "\\bi (?:can(?:'|’)?t|cannot|am unable to|(?:'|’)m unable to|won(?:'|’)?t) (?:help|assist|answer|comply|provide|do|determine|analy[sz]e|view|see|identify|process)",
    "\\bunable to (?:help|assist|answer|comply|view|see|process|analy[sz]e)",
    "\\bas an ai\\b",
    "\\bnot able to (?:help|assist|answer|view|see)",
  ].join("|"),
  "i",
);

/**
 * Reads a yes/no answer: the first word decides ("Yes.", "yes, it does", "**No**", "No — …");
 * a declining reply is a refusal; anything else is unclear.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAnswer } from "./probe.ts";
 * assert.equal(parseAnswer("Yes."), "yes");
 * assert.equal(parseAnswer("yes, it does"), "yes");
 * assert.equal(parseAnswer("**No**"), "no");
 * assert.equal(parseAnswer("I'm sorry, but I can't help with that."), "refusal");
 * assert.equal(parseAnswer("Maybe"), "unclear");
 * ```
 */
export function parseAnswer(content: string | null | undefined, refusal?: string | null): ParsedAnswer {
  if (refusal) return "refusal";
  const text = (content ?? "").trim();
  if (!text) return "unclear";
  const first = /^[\s*_"'`([{<>:-]*([a-zA-Z]+)/.exec(text)?.[1]?.toLowerCase();
  if (first === "yes" || first === "yeah" || first === "yep" || first === "true") return "yes";
  if (first === "no" || first === "nope" || first === "false") return "no";
  if (REFUSAL.test(text)) return "refusal";
  return "unclear";
}

/** A token's yes/no meaning, for logprobs. */
function tokenSide(token: string): "yes" | "no" | null {
  const t = token.trim().replace(/^[*_"'`([{.:,-]+|[*_"'`)\]}.!?:,]+$/g, "").toLowerCase();
  if (t === "yes" || t === "y" || t === "yeah") return "yes";
  if (t === "no" || t === "n" || t === "nope") return "no";
  return null;
}

/**
 * P(yes) from chat-completions logprobs: at the first generated token whose candidates include a
 * yes- or no-like token, Σ p(yes-like) / (Σ p(yes-like) + Σ p(no-like)) over that token and its
 * `top_logprobs`. Null when no such token exists.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pYesFromLogprobs } from "./probe.ts";
 * const lp = [{ token: "Yes", logprob: Math.log(0.6), top_logprobs: [
 *   { token: "Yes", logprob: Math.log(0.6) }, { token: "No", logprob: Math.log(0.2) }, { token: "yes", logprob: Math.log(0.1) },
 * ] }];
 * assert.ok(Math.abs(pYesFromLogprobs(lp)! - 0.7 / 0.9) < 1e-12);
 * ```
 */
export function pYesFromLogprobs(content: readonly TokenLogprob[] | null | undefined): number | null {
  for (const pos of content ?? []) {
    const cands = new Map<string, number>();
    for (const c of [pos, ...(pos.top_logprobs ?? [])]) {
      if (typeof c?.token === "string" && typeof c.logprob === "number") cands.set(c.token, c.logprob);
    }
    let y = 0, n = 0;
    for (const [tok, lp] of cands) {
      const side = tokenSide(tok);
      if (side === "yes") y += Math.exp(lp);
      else if (side === "no") n += Math.exp(lp);
    }
    if (y + n > 0) return y / (y + n);
  }
  return null;
}

/** The result of asking one question. */
export interface ProbeAnswer {
  question: string;
  error_type: ProbeErrorType;
  /** The raw answer text (or refusal text), as the server sent it. */
  answer: string | null;
  parsed: ParsedAnswer | "failed";
  /** P(yes): from logprobs when given, else 1/0 from the parsed answer; null when refused/unclear/failed. */
  p_yes: number | null;
  /** P(defect) = p_yes or 1 − p_yes, by the question's defect answer. */
  p_defect: number | null;
  /** `logprobs` or `text`: where p_yes came from. */
  p_source: string | null;
  attempts: number;
  /** Why it failed (HTTP status, timeout, …), key redacted. */
  error: string | null;
}

/** JPEG data URL of the image, its longest side at most `maxSide`. */
export async function imageDataUrl(img: RgbImage, maxSide = 768): Promise<string> {
  let s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  if (Math.max(img.width, img.height) > maxSide) {
    s = s.resize({ width: maxSide, height: maxSide, fit: "inside" });
  }
  const jpg = await s.jpeg({ quality: 90 }).toBuffer();
  return `data:image/jpeg;base64,${jpg.toString("base64")}`;
}

/**
 * The chat messages of one question about an image (a data URL).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { probeMessages } from "./probe.ts";
 * const [system, user] = probeMessages("Is the text legible?", "data:image/jpeg;base64,AAAA");
 * assert.equal(system.role, "system");
 * assert.deepEqual((user.content as { type: string }[]).map((p) => p.type), ["text", "image_url"]);
 * ```
 */
export function probeMessages(question: string, imageUrl: string): ChatMessage[] {
  return [
    {
      role: "system",
      content: "You inspect images for defects. Answer each question with one word: yes or no.",
    },
    {
      role: "user",
      content: [
        { type: "text", text: question },
        { type: "image_url", image_url: { url: imageUrl } },
      ],
    },
  ];
}

/** The chat client of these settings: the key from `apiKeyEnv` (or `<apiKeyEnv>_FILE`), masked everywhere. */
export function probeClient(s: ProbeSettings): ChatClient {
  return new ChatClient({
    url: s.baseUrl,
    urlName: "probe baseUrl",
    model: s.model,
    apiKey: readSecret(s.apiKeyEnv),
    timeoutMs: s.timeoutMs,
    retry: { retries: s.retries, baseDelayMs: s.retryDelayMs },
  });
}

/**
 * Asks one question about the image (with retries); never throws for server trouble — the
 * answer's `parsed` is `failed` and `error` says why (masked: the key never shows).
 */
export async function askQuestion(
  chat: ChatClient,
  s: ProbeSettings,
  q: ProbeQuestion,
  text: string,
  imageUrl: string,
): Promise<ProbeAnswer> {
  const base = { question: q.id, error_type: q.errorType };
  let attempts = 0;
  try {
    const choice = await chat.choose(probeMessages(text, imageUrl), {
      temperature: 0,
      max_tokens: s.maxTokens,
      ...(s.logprobs ? { logprobs: true, top_logprobs: 5 } : {}),
    }, { onAttempt: (n) => attempts = n });
    const content = choice.message.content;
    const refusal = typeof choice.message.refusal === "string" && choice.message.refusal
      ? choice.message.refusal
      : null;
    const parsed = parseAnswer(content, refusal);
    const fromLogprobs = parsed === "yes" || parsed === "no"
      ? pYesFromLogprobs(choice.logprobs?.content)
      : null;
    const pYes = fromLogprobs ?? (parsed === "yes" ? 1 : parsed === "no" ? 0 : null);
    return {
      ...base,
      answer: refusal ?? content,
      parsed,
      p_yes: pYes,
      p_defect: pYes === null ? null : q.defectAnswer === "yes" ? pYes : 1 - pYes,
      p_source: pYes === null ? null : fromLogprobs !== null ? "logprobs" : "text",
      attempts,
      error: null,
    };
  } catch (e) {
    return {
      ...base,
      answer: null,
      parsed: "failed",
      p_yes: null,
      p_defect: null,
      p_source: null,
      attempts,
      error: maskSecrets((e as Error).message).slice(0, 300),
    };
  }
}

/** Columns of the `probe` table (after `path`). */
export const PROBE_COLUMNS: readonly OutputSpec[] = [
  { name: "question", unit: "id", direction: "neither", description: "question id", type: "string" },
  {
    name: "error_type",
    unit: "name",
    direction: "neither",
    description: "error type it probes",
    type: "string",
  },
  {
    name: "answer",
    unit: "text",
    direction: "neither",
    description: "raw answer (or refusal) text",
    type: "string",
  },
  {
    name: "parsed",
    unit: "name",
    direction: "neither",
    description: "yes, no, refusal, unclear or failed",
    type: "string",
  },
  {
    name: "p_yes",
    unit: "probability 0–1",
    direction: "neither",
    description: "P(yes), logprobs when returned",
  },
  {
    name: "p_defect",
    unit: "probability 0–1",
    direction: "lower_is_better",
    description: "P(the defect answer)",
  },
  {
    name: "p_source",
    unit: "name",
    direction: "neither",
    description: "logprobs or text (1/0 from the answer)",
    type: "string",
  },
  { name: "attempts", unit: "requests", direction: "neither", description: "requests made (1 + retries)" },
  {
    name: "error",
    unit: "text",
    direction: "neither",
    description: "why it failed (key redacted)",
    type: "string",
  },
];

const OUTPUTS: OutputSpec[] = [
  ...PROBE_ERROR_TYPES.map((t): OutputSpec => ({
    name: `probe_${t}`,
    unit: "probability 0–1",
    direction: "lower_is_better",
    description: `largest P(defect) over the answered ${t} questions; empty when none was answered`,
  })),
  {
    name: "probe_failed",
    unit: "questions",
    direction: "lower_is_better",
    description: "questions that failed (server errors after retries, timeouts), were refused or unclear",
  },
];

/** Yes/no questions about the image to a multimodal chat model, per error type. */
export const probe: Heuristic = {
  name: "probe",
  description: "Yes/no questions to a multimodal chat model (OpenAI-compatible endpoint) per error type; " +
    "P(defect) from logprobs when available, else from the answer.",
  errorType: "probe_defect",
  outputs: OUTPUTS,
  thresholds: PROBE_ERROR_TYPES.map((t) => ({
    output: `probe_${t}`,
    max: 0.5,
    errorType: t,
    source:
      "the model's own decision (P(defect) > 0.5 means it answered the defect); calibrate on your labels",
  })),
  details: [{ name: "probe", columns: [...PROBE_COLUMNS] }],
  async compute(ctx) {
    const s = probeSettings(ctx.settingsFor("probe"));
    const questions = s.questions.filter((q) => s.errorTypes.includes(q.errorType));
    let prompt: string | undefined;
    if (questions.some((q) => q.text.includes("{prompt}")) && (s.prompt !== undefined || s.prompts)) {
      prompt = await promptFor("probe", s, ctx.options.path);
    }
    const url = await imageDataUrl(ctx.image, s.maxSide);
    const chat = probeClient(s);
    const answers: ProbeAnswer[] = [];
    for (const q of questions) {
      if (q.text.includes("{prompt}") && prompt === undefined) continue;
      const a = await askQuestion(chat, s, q, q.text.replaceAll("{prompt}", prompt ?? ""), url);
      answers.push(a);
      ctx.addDetail("probe", a as unknown as DetailRow);
    }
    const values: Record<string, number | null> = {};
    for (const t of PROBE_ERROR_TYPES) {
      const ps = answers.filter((a) => a.error_type === t && a.p_defect !== null).map((a) => a.p_defect!);
      values[`probe_${t}`] = ps.length ? Math.max(...ps) : null;
    }
    values.probe_failed = answers.filter((a) => a.p_defect === null).length;
    return values;
  },
};
