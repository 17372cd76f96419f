/**
 * `probe` against a local server that speaks the OpenAI chat-completions contract: it checks the
 * request (image content parts, logprobs fields, bearer key) and answers with plain answers,
 * logprobs, a refusal, a 500, a timeout and a 400. No API key may appear in any output.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import type { RgbImage } from "../lib/core/image.ts";
import { ImageContext } from "../lib/heuristics/types.ts";
import {
  DEFAULT_QUESTIONS,
  parseAnswer,
  probe,
  PROBE_ERROR_TYPES,
  probeSettings,
  pYesFromLogprobs,
} from "../lib/heuristics/probe.ts";
import { ScorePool } from "../lib/score/pool.ts";
import { DEFAULT_HEURISTICS } from "../lib/heuristics/registry.ts";

const KEY = "sk-test-0123456789abcdefSECRET";
const KEY_ENV = "WINNOW_PROBE_TEST_KEY";
Deno.env.set(KEY_ENV, KEY);

const IMG: RgbImage = (() => {
  const w = 1000, h = 500, data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
  return { width: w, height: h, data };
})();

const lp = (p: number) => Math.log(p);

interface Seen {
  model: string;
  question: string;
  imageWidth: number;
  imageHeight: number;
  auth: string | null;
  body: Record<string, unknown>;
}

/** The answer the fake model gives to each default question (by id), as chat-completions JSON. */
function answerFor(question: string): Record<string, unknown> {
  const msg = (content: string | null, refusal: string | null = null) => ({
    role: "assistant",
    content,
    refusal,
  });
  const q = DEFAULT_QUESTIONS.find((d) => question.startsWith(d.text.slice(0, 40)))?.id ?? "";
  switch (q) {
    case "limbs_missing": // an answer with logprobs: P(yes) = (0.7 + 0.05) / (0.7 + 0.05 + 0.2)
      return {
        message: msg("Yes."),
        logprobs: {
          content: [{
            token: "Yes",
            logprob: lp(0.7),
            bytes: [89, 101, 115],
            top_logprobs: [
              { token: "Yes", logprob: lp(0.7), bytes: [89, 101, 115] },
              { token: "No", logprob: lp(0.2), bytes: [78, 111] },
              { token: " yes", logprob: lp(0.05), bytes: [32, 121, 101, 115] },
            ],
          }, { token: ".", logprob: lp(0.9), bytes: [46], top_logprobs: [] }],
          refusal: null,
        },
      };
    case "limbs_complete":
      return { message: msg("No, one arm is missing.") };
    case "fingers_wrong":
      return { message: msg("yes, it does") };
    case "hands_natural":
      return { message: msg("**No**") };
    case "text_garbled": // the refusal field of the contract
      return { message: msg(null, "I'm sorry, I can't help with that request.") };
    case "text_legible": // a refusal written as content
      return { message: msg("I'm sorry, but I cannot assist with analyzing this image.") };
    case "prompt_match":
      return { message: msg("The image shows a red fox.") };
    case "objects_merged":
      return { message: msg("No.") };
    case "objects_whole": // "yes" to a question whose defect answer is "no"
      return { message: msg("Yes, they are.") };
    case "artifact_present": // logprobs without a yes-like token: P(yes) from no-like tokens only = 0
      return {
        message: msg("No"),
        logprobs: {
          content: [{
            token: "No",
            logprob: lp(0.6),
            bytes: [78, 111],
            top_logprobs: [
              { token: "No", logprob: lp(0.6), bytes: [78, 111] },
              { token: "no", logprob: lp(0.3), bytes: [110, 111] },
            ],
          }],
          refusal: null,
        },
      };
    case "artifact_free":
      return { message: msg("No, the left hand is smeared.") };
  }
  return { message: msg("?") };
}

/** Starts the fake server; `model` picks the behaviour (`ok`, `flaky`, `slow`, `bad`, `nologprobs`). */
function fakeServer() {
  const seen: Seen[] = [];
  const tries = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== "/v1/chat/completions") {
      return new Response("no route", { status: 404 });
    }
    const body = await req.json();
    const user = body.messages?.find((m: { role: string }) => m.role === "user");
    const parts = user?.content as { type: string; text?: string; image_url?: { url: string } }[];
    const text = parts?.find((p) => p.type === "text")?.text;
    const image = parts?.find((p) => p.type === "image_url")?.image_url?.url;
    if (
      typeof text !== "string" || typeof image !== "string" || !image.startsWith("data:image/jpeg;base64,")
    ) {
      return Response.json({ error: { message: "bad content parts", type: "invalid_request_error" } }, {
        status: 400,
      });
    }
    const jpeg = Uint8Array.from(atob(image.slice(image.indexOf(",") + 1)), (c) => c.charCodeAt(0));
    const meta = await sharp(jpeg).metadata();
    seen.push({
      model: body.model,
      question: text,
      imageWidth: meta.width!,
      imageHeight: meta.height!,
      auth: req.headers.get("authorization"),
      body,
    });
    const n = (tries.get(text + body.model) ?? 0) + 1;
    tries.set(text + body.model, n);
    if (body.model === "flaky" && n === 1) {
      // A 500 whose message echoes the key: it must be redacted wherever it ends up.
      return Response.json({ error: { message: `upstream failed for key ${KEY}`, type: "server_error" } }, {
        status: 500,
      });
    }
    if (body.model === "bad") {
      return Response.json({
        error: { message: "model does not support images", type: "invalid_request_error" },
      }, {
        status: 400,
      });
    }
    if (body.model === "slow") await new Promise((r) => setTimeout(r, 600));
    const a = answerFor(text);
    if (body.model === "nologprobs" || !body.logprobs) delete a.logprobs;
    return Response.json({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: body.model,
      choices: [{ index: 0, finish_reason: "stop", logprobs: null, ...a }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });
  });
  return { server, seen, base: `http://127.0.0.1:${server.addr.port}/v1` };
}

async function run(settings: Record<string, unknown>, path = "gen/a.png") {
  const ctx = new ImageContext(IMG, { path, settings: { probe: settings } });
  const values = await probe.compute(ctx);
  return { values, rows: ctx.details.get("probe") ?? [] };
}

function assertNoKey(...outputs: unknown[]) {
  for (const o of outputs) {
    assert.ok(!JSON.stringify(o).includes(KEY), `the API key leaked: ${JSON.stringify(o)}`);
  }
}

Deno.test("probe: request follows the contract; answers, logprobs and refusals are parsed; P(defect) per error type", async () => {
  const { server, seen, base } = fakeServer();
  try {
    const { values, rows } = await run({
      baseUrl: base,
      model: "ok",
      apiKeyEnv: KEY_ENV,
      prompt: "a red fox in snow",
      maxSide: 512,
    });
    // The request: one user message with a text part and a JPEG data-URL image part, logprobs asked.
    assert.equal(seen.length, DEFAULT_QUESTIONS.length);
    for (const s of seen) {
      assert.equal(s.auth, `Bearer ${KEY}`);
      assert.deepEqual([s.imageWidth, s.imageHeight], [512, 256], "downscaled to maxSide, aspect kept");
      assert.deepEqual([s.body.logprobs, s.body.top_logprobs, s.body.temperature], [true, 5, 0]);
      assert.equal(typeof s.body.max_tokens, "number");
    }
    assert.ok(
      seen.some((s) => s.question.includes('"a red fox in snow"')),
      "the prompt is in the prompt question",
    );
    const byId = Object.fromEntries(rows.map((r) => [r.question, r]));
    const pYes = 0.75 / 0.95;
    assert.equal(byId.limbs_missing.parsed, "yes");
    assert.equal(byId.limbs_missing.p_source, "logprobs");
    assert.ok(Math.abs((byId.limbs_missing.p_yes as number) - pYes) < 1e-12);
    assert.deepEqual(
      [byId.limbs_complete.parsed, byId.limbs_complete.p_defect, byId.limbs_complete.p_source],
      ["no", 1, "text"],
    );
    assert.deepEqual([byId.fingers_wrong.parsed, byId.fingers_wrong.p_defect], ["yes", 1]);
    assert.deepEqual([byId.hands_natural.parsed, byId.hands_natural.p_defect], ["no", 1]);
    assert.deepEqual([byId.text_garbled.parsed, byId.text_garbled.p_yes], ["refusal", null]);
    assert.equal(byId.text_garbled.answer, "I'm sorry, I can't help with that request.", "raw refusal kept");
    assert.equal(byId.text_legible.parsed, "refusal");
    assert.deepEqual([byId.prompt_match.parsed, byId.prompt_match.answer], [
      "unclear",
      "The image shows a red fox.",
    ]);
    assert.deepEqual([byId.objects_whole.parsed, byId.objects_whole.p_defect], ["yes", 0]);
    assert.deepEqual(
      [byId.artifact_present.parsed, byId.artifact_present.p_source, byId.artifact_present.p_yes],
      ["no", "logprobs", 0],
    );
    assert.deepEqual([byId.artifact_free.parsed, byId.artifact_free.p_defect], ["no", 1]);
    assert.deepEqual(values, {
      probe_missing_limbs: 1, // max(P(yes)=0.789 for "missing?", 1 for "no" to "complete?")
      probe_extra_fingers: 1,
      probe_garbled_text: null, // both refused
      probe_prompt_mismatch: null, // unclear
      probe_merged_objects: 0, // "no" to "merged?", "yes" to "whole?"
      probe_artifact: 1, // P(yes) 0 for "glitches?", but "no" to "clean?"
      probe_failed: 3,
    });
    assertNoKey(values, rows);
  } finally {
    await server.shutdown();
  }
});

Deno.test("probe: a 500 is retried; a timeout fails after retries; a 400 is not retried; the key never shows", async () => {
  const { server, seen, base } = fakeServer();
  try {
    const common = { baseUrl: base, apiKeyEnv: KEY_ENV, retryDelayMs: 5, errorTypes: ["missing_limbs"] };
    const flaky = await run({ ...common, model: "flaky" });
    assert.deepEqual(flaky.rows.map((r) => [r.parsed, r.attempts, r.error]), [["yes", 2, null], [
      "no",
      2,
      null,
    ]]);
    assert.equal(flaky.values.probe_missing_limbs, 1);
    assert.equal(seen.filter((s) => s.model === "flaky").length, 4);

    const failing = await run({
      ...common,
      model: "flaky",
      retries: 0,
      questions: [{ ...DEFAULT_QUESTIONS[2], id: "other" }],
      errorTypes: ["extra_fingers"],
    });
    assert.equal(failing.rows[0].parsed, "failed");
    assert.match(String(failing.rows[0].error), /HTTP 500: upstream failed for key \*\*\*/);
    assert.equal(failing.values.probe_failed, 1);
    assert.equal(failing.values.probe_extra_fingers, null);

    const slow = await run({ ...common, model: "slow", timeoutMs: 150, retries: 1 });
    assert.deepEqual(slow.rows.map((r) => [r.parsed, r.attempts]), [["failed", 2], ["failed", 2]]);
    assert.match(String(slow.rows[0].error), /no reply within 150 ms \(timeout\)/);
    // The error text proves the per-request timeout fired (the server answers after 600 ms);
    // no wall-clock assertion: tests run on loaded machines.
    assert.deepEqual([slow.values.probe_missing_limbs, slow.values.probe_failed], [null, 2]);

    const bad = await run({ ...common, model: "bad", retries: 3 });
    assert.deepEqual(bad.rows.map((r) => r.attempts), [1, 1]);
    assert.match(String(bad.rows[0].error), /HTTP 400: model does not support images/);

    const noLp = await run({ ...common, model: "nologprobs", logprobs: false });
    assert.equal(seen.at(-1)!.body.logprobs, undefined, "logprobs not asked when off");
    assert.deepEqual(noLp.rows.map((r) => [r.p_yes, r.p_source]), [[1, "text"], [0, "text"]]);
    assertNoKey(flaky, failing, slow, bad, noLp);
  } finally {
    await server.shutdown();
  }
});

Deno.test("probe in score workers: values and the probe table come back without the key; never a default", async () => {
  assert.ok(!DEFAULT_HEURISTICS.includes("probe"));
  const { server, base } = fakeServer();
  const dir = await Deno.makeTempDir();
  const file = join(dir, "x.png");
  await sharp(IMG.data, { raw: { width: IMG.width, height: IMG.height, channels: 3 } }).png().toFile(file);
  const pool = new ScorePool({
    jobs: 1,
    heuristics: ["probe"],
    settings: { probe: { baseUrl: base, model: "flaky", apiKeyEnv: KEY_ENV, retryDelayMs: 1, retries: 0 } },
  });
  try {
    const r = await pool.score(file);
    assert.ok("values" in r, JSON.stringify(r));
    assert.equal(
      r.details.probe.length,
      DEFAULT_QUESTIONS.length - 1,
      "no prompt: the prompt question is skipped",
    );
    assert.ok(r.details.probe.every((row) => row.parsed === "failed" && /\*\*\*/.test(String(row.error))));
    assertNoKey(r);
  } finally {
    pool.close();
    await server.shutdown();
  }
});

Deno.test("answer parsing, P(yes) from logprobs and settings", () => {
  for (
    const [s, want] of [
      ["Yes.", "yes"],
      ["yes, it does", "yes"],
      ["  **Yes** — the hand has six fingers", "yes"],
      ["No.", "no"],
      ["no", "no"],
      ['"No"', "no"],
      ["I'm sorry, but I can't help with that.", "refusal"],
      ["I cannot determine that from the image.", "refusal"],
      ["As an AI, I cannot view images.", "refusal"],
      ["Nothing is wrong", "unclear"],
      ["", "unclear"],
    ] as const
  ) assert.equal(parseAnswer(s), want, s);
  assert.equal(parseAnswer("Yes", "refused"), "refusal");
  assert.equal(pYesFromLogprobs(null), null);
  assert.equal(pYesFromLogprobs([{ token: "Sure", logprob: 0, top_logprobs: [] }]), null);
  // The first position with a yes/no candidate decides: here the second token.
  const p = pYesFromLogprobs([
    { token: "**", logprob: lp(0.9), top_logprobs: [{ token: "**", logprob: lp(0.9) }] },
    {
      token: "No",
      logprob: lp(0.6),
      top_logprobs: [{ token: "No", logprob: lp(0.6) }, { token: "Yes", logprob: lp(0.3) }],
    },
  ]);
  assert.ok(Math.abs(p! - 1 / 3) < 1e-12);
  assert.throws(
    () => probeSettings({ baseUrl: "http://x/v1", model: "m", apiKeyEnv: KEY }),
    /NAME of an environment variable/,
  );
  assert.throws(
    () => probeSettings({ baseUrl: "http://x/v1", model: "m", errorTypes: ["hands"] }),
    /errorTypes/,
  );
  assert.throws(
    () => probeSettings({ baseUrl: "http://x/v1", model: "m", questions: [{ id: "a", text: "?" }] }),
    /bad question/,
  );
  assert.deepEqual(probe.outputs.map((o) => o.name), [
    ...PROBE_ERROR_TYPES.map((t) => `probe_${t}`),
    "probe_failed",
  ]);
});
