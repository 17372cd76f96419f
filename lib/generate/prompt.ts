/**
 * Text steps of the generation pipeline: keywords → a short text → an image prompt, either through
 * an OpenAI-compatible chat model (the {@link ChatClient} of `lib/models/chat.ts`; Ollama,
 * llama.cpp server, vLLM, LM Studio and OpenAI all speak it) or with a deterministic offline
 * template (the default).
 *
 * @module
 */
import { HttpError } from "../core/http.ts";
import { ChatClient, type ChatMessage, type ChatOptions } from "../models/chat.ts";

export { ChatClient, type ChatMessage, type ChatOptions };
import { seededRandom } from "../core/random.ts";

/** What the text steps produce. */
export interface PromptResult {
  /** The text the prompt was written from (keywords expanded, or the text given). */
  text: string;
  prompt: string;
  negativePrompt: string;
  /** `template`, `chat` or `given` (the prompt was given as is). */
  source: "template" | "chat" | "given";
}

/** Negative prompt used unless one is given: the failure types winnow's labels count. */
export const DEFAULT_NEGATIVE_PROMPT =
  "blurry, out of focus, low quality, jpeg artifacts, deformed hands, extra fingers, extra limbs, " +
  "missing limbs, merged objects, garbled text, watermark, cropped";

/** Template vocabulary; each run picks one entry per list with a seeded generator. */
export const VOCABULARY = {
  style: [
    "photograph",
    "cinematic still",
    "editorial photo",
    "documentary photo",
    "studio portrait",
    "digital painting",
    "watercolor illustration",
    "35mm film photo",
  ],
  lighting: [
    "soft natural light",
    "golden hour light",
    "overcast diffuse light",
    "dramatic rim lighting",
    "warm window light",
    "blue hour ambience",
    "high-key studio lighting",
    "low-key chiaroscuro",
  ],
  camera: [
    "50mm lens, f/1.8",
    "35mm lens, f/2.8",
    "85mm portrait lens, shallow depth of field",
    "24mm wide angle",
    "medium shot, eye level",
    "close-up, macro detail",
    "aerial view",
    "low angle shot",
  ],
  mood: ["calm", "vivid", "quiet", "joyful", "mysterious", "serene", "energetic", "nostalgic"],
  setting: [
    "in a sunlit street",
    "in a quiet park",
    "by the sea",
    "in a cozy interior",
    "in the mountains",
    "in a busy market",
    "in an old library",
    "in a garden",
  ],
} as const;

/** Splits `"a, b c; d"` style keyword input into keywords. */
export function splitKeywords(input: string | readonly string[]): string[] {
  const list = typeof input === "string" ? input.split(/[,;\n]+/) : input.flatMap((s) => s.split(/[,;\n]+/));
  return list.map((s) => s.trim()).filter(Boolean);
}

/**
 * Keywords (or a text) → text and prompt, offline and deterministic for a seed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { templatePrompt } from "./prompt.ts";
 * const a = templatePrompt({ keywords: ["lighthouse", "storm"] }, 7);
 * assert.deepEqual(a, templatePrompt({ keywords: ["lighthouse", "storm"] }, 7));
 * assert.ok(a.prompt.startsWith("lighthouse, storm, "));
 * ```
 */
export function templatePrompt(
  input: { keywords?: readonly string[]; text?: string },
  seed = 0,
): PromptResult {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const style = pick(VOCABULARY.style),
    lighting = pick(VOCABULARY.lighting),
    camera = pick(VOCABULARY.camera);
  const mood = pick(VOCABULARY.mood), setting = pick(VOCABULARY.setting);
  const keywords = splitKeywords(input.keywords ?? []);
  let subject: string, text: string;
  if (keywords.length) {
    subject = keywords.join(", ");
    text = `A ${mood} scene with ${
      keywords.length > 1 ? keywords.slice(0, -1).join(", ") + " and " + keywords.at(-1) : keywords[0]
    } ${setting}.`;
  } else if (input.text?.trim()) {
    text = input.text.trim();
    subject = text.split(/(?<=[.!?])\s/)[0].replace(/[.!?]+$/, "").slice(0, 200);
  } else {
    subject = "a person reading a book";
    text = `A ${mood} scene with ${subject} ${setting}.`;
  }
  return {
    text,
    prompt:
      `${subject}, ${setting}, ${mood} mood, ${style}, ${lighting}, ${camera}, highly detailed, sharp focus`,
    negativePrompt: DEFAULT_NEGATIVE_PROMPT,
    source: "template",
  };
}

/** System prompts of the two chat steps. */
export const CHAT_INSTRUCTIONS = {
  text: "You write short, concrete scene descriptions. Given keywords, write 2-3 sentences describing one " +
    "visual scene that contains all of them. Reply with the description only.",
  prompt: "You write prompts for a text-to-image model (Stable Diffusion style). Given a text, reply with " +
    "one line of comma-separated prompt terms (subject first, then setting, style, lighting, camera), then " +
    "a second line starting with 'Negative:' listing what to avoid. No other text.",
};

/** Keywords → a short text through the chat model. */
export function keywordsToText(
  chat: ChatClient,
  keywords: readonly string[],
  seed?: number,
): Promise<string> {
  return chat.complete([
    { role: "system", content: CHAT_INSTRUCTIONS.text },
    { role: "user", content: `Keywords: ${splitKeywords(keywords).join(", ")}` },
  ], { seed });
}

/**
 * Parses the chat model's prompt reply: first line the prompt, an optional `Negative:` line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePromptReply } from "./prompt.ts";
 * assert.deepEqual(parsePromptReply('Prompt: "a fox, snow"\nNegative: blurry'), { prompt: "a fox, snow", negativePrompt: "blurry" });
 * ```
 */
export function parsePromptReply(reply: string): { prompt: string; negativePrompt?: string } {
  const clean = (s: string) => s.trim().replace(/^["'`]+|["'`]+$/g, "").trim();
  const lines = reply.replace(/```\w*/g, "").split("\n").map((l) => l.trim()).filter(Boolean);
  const neg = lines.find((l) => /^negative( prompt)?\s*:/i.test(l));
  const main = lines.find((l) => l !== neg) ?? "";
  const prompt = clean(main.replace(/^(positive )?prompt\s*:/i, ""));
  const negativePrompt = neg ? clean(neg.replace(/^negative( prompt)?\s*:/i, "")) : undefined;
  return negativePrompt ? { prompt, negativePrompt } : { prompt };
}

/** Text → image prompt through the chat model. */
export async function textToPrompt(
  chat: ChatClient,
  text: string,
  seed?: number,
): Promise<{ prompt: string; negativePrompt: string }> {
  const reply = await chat.complete([
    { role: "system", content: CHAT_INSTRUCTIONS.prompt },
    { role: "user", content: text },
  ], { seed });
  const p = parsePromptReply(reply);
  if (!p.prompt) throw new HttpError(`${chat.endpoint}: the chat model returned no prompt`, "bad_reply");
  return { prompt: p.prompt, negativePrompt: p.negativePrompt ?? DEFAULT_NEGATIVE_PROMPT };
}

/** Input of {@link makePrompt}: keywords, a text, or a finished prompt. */
export interface PromptInput {
  keywords?: readonly string[];
  text?: string;
  prompt?: string;
  negativePrompt?: string;
}

/**
 * The text steps in one call: a given prompt is used as is; otherwise keywords/text go through
 * the chat model when one is given, else through the offline template.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makePrompt } from "./prompt.ts";
 * const r = await makePrompt({ keywords: ["red fox", "snow"] }, { seed: 1 });
 * assert.equal(r.source, "template");
 * assert.ok(r.prompt.includes("red fox"));
 * ```
 */
export async function makePrompt(
  input: PromptInput,
  o: { chat?: ChatClient; seed?: number } = {},
): Promise<PromptResult> {
  if (input.prompt?.trim()) {
    return {
      text: input.text ?? input.prompt,
      prompt: input.prompt.trim(),
      negativePrompt: input.negativePrompt ?? DEFAULT_NEGATIVE_PROMPT,
      source: "given",
    };
  }
  if (!o.chat) {
    const t = templatePrompt(input, o.seed ?? 0);
    return input.negativePrompt !== undefined ? { ...t, negativePrompt: input.negativePrompt } : t;
  }
  const keywords = splitKeywords(input.keywords ?? []);
  const text = input.text?.trim() ||
    await keywordsToText(o.chat, keywords.length ? keywords : ["a quiet scene"], o.seed);
  const p = await textToPrompt(o.chat, text, o.seed);
  return { text, prompt: p.prompt, negativePrompt: input.negativePrompt ?? p.negativePrompt, source: "chat" };
}
