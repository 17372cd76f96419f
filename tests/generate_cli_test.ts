/**
 * `deno task generate` as users run it: help, the offline default with network permission denied,
 * usage errors, a1111 and chat against fakes, resume after kill -9, and a grep of every output
 * file and log for the secrets given in the environment.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Buffer } from "node:buffer";
import { FakeA1111, FakeOpenAI } from "./fake_servers.ts";
import { MANIFEST_CONTRACT } from "./contracts.ts";

const CLI = fileURLToPath(new URL("../lib/cli/generate.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
const PERMS = ["--allow-read", "--allow-write", "--allow-env", "--allow-ffi", "--allow-sys"];
const CONTRACT = MANIFEST_CONTRACT;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function command(args: string[], o: { cwd?: string; env?: Record<string, string>; net?: boolean } = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", CONFIG, ...PERMS, ...(o.net === false ? [] : ["--allow-net"]), CLI, ...args],
    cwd: o.cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", ...o.env },
  });
}

async function generate(
  args: string[],
  o: { cwd?: string; env?: Record<string, string>; net?: boolean } = {},
): Promise<Run> {
  const out = await command(args, o).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function lines(file: string): Promise<Record<string, unknown>[]> {
  return (await Deno.readTextFile(file)).split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

async function walk(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) files.push(...await walk(p));
    else files.push(p);
  }
  return files;
}

Deno.test("generate --help shows options and examples", async () => {
  const r = await generate(["--help"]);
  assert.equal(r.code, 0, r.stderr);
  for (
    const s of [
      "--backend",
      "--until-pass",
      "--thresholds",
      "--workflow",
      "WINNOW_A1111_AUTH",
      "OPENAI_API_KEY",
      "Examples:",
    ]
  ) {
    assert.ok(r.stdout.includes(s), `help lacks ${s}`);
  }
  assert.match(r.stdout, /deno task generate --backend a1111 --url http:\/\/127\.0\.0\.1:7860/);
});

Deno.test("generate with no options runs offline end to end: template prompt, folder backend on the sample set, scores, verdicts", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    // No --allow-net at all: any network use would fail the run.
    const r = await generate(["--quiet"], { cwd, net: false });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^prompt \(template\): /);
    const [run] = await Array.fromAsync(Deno.readDir(join(cwd, "out", "generate")));
    const dir = join(cwd, "out", "generate", run.name);
    const rows = await lines(join(dir, "manifest.jsonl"));
    assert.equal(rows.length, 4);
    for (const row of rows) {
      assert.deepEqual(Object.keys(row).slice(0, CONTRACT.length), CONTRACT);
      assert.equal(row.backend, "folder");
      assert.equal(typeof (row.scores as Record<string, number>).laplacian_var, "number");
    }
    assert.deepEqual(rows.map((x) => (x.params as Record<string, string>).source), [
      "photo1.jpg",
      "photo1_blurred.jpg",
      "photo1_smaller_copy.jpg",
      "photo2.jpg",
    ]);
    assert.deepEqual(rows.map((x) => x.kept), [true, false, true, true]);
    assert.deepEqual(rows[1].reasons, ["blur"]);
    const summary = JSON.parse(await Deno.readTextFile(join(dir, "summary.json")));
    assert.ok(summary.kept.includes(summary.best));
    assert.match(r.stdout, new RegExp(`best: .*${summary.best} \\(kept\\)`));
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("generate: bad options exit 2 with a message naming the option", async () => {
  const cases: [string[], RegExp][] = [
    [["--backend", "nope"], /--backend: unknown backend "nope"; known: folder, a1111, comfyui, openai/],
    [["--backend", "a1111", "--url", "ftp://host"], /--url: expected an http or https URL/],
    [["--backend", "comfyui", "--url", "http://127.0.0.1:8188"], /--workflow FILE is required/],
    [["--prompt", "x", "--keywords", "y"], /one of --keywords, --text, --prompt/],
    [["-n", "0"], /-n: expected a positive integer/],
    [["--lora", "film"], /--lora: expected NAME:WEIGHT/],
  ];
  for (const [args, re] of cases) {
    const r = await generate(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

Deno.test("generate --backend a1111 with keywords, model, LoRA, thresholds file; --chat-url writes the prompt", async () => {
  const fake = new FakeA1111({ kinds: (n) => n === 0 ? "dark" : "good" });
  const chat = new FakeOpenAI();
  const dir = await Deno.makeTempDir();
  try {
    const thresholds = join(dir, "t.json");
    await Deno.writeTextFile(
      thresholds,
      JSON.stringify({ rules: [{ column: "gray_mean", min: 50, error_type: "underexposed" }] }),
    );
    const out = join(dir, "run");
    const r = await generate([
      "--backend",
      "a1111",
      "--url",
      fake.url,
      "--keywords",
      "red fox, snow",
      "-n",
      "3",
      "--width",
      "64",
      "--height",
      "64",
      "--model",
      "sd_xl_base_1.0",
      "--lora",
      "film_grain:0.5",
      "--seed",
      "10",
      "--thresholds",
      thresholds,
      "--out",
      out,
      "--quiet",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fake.to("/sdapi/v1/sd-models").length, 1, "pre-flight checks the checkpoint");
    const sent = fake.to("/sdapi/v1/txt2img").map((x) => x.body as Record<string, unknown>);
    assert.equal(sent.length, 3);
    assert.match(String(sent[0].prompt), /^red fox, snow, .* <lora:film_grain:0\.5>$/);
    assert.deepEqual(sent.map((b) => b.seed), [10, 11, 12]);
    const rows = await lines(join(out, "manifest.jsonl"));
    assert.deepEqual(rows.map((x) => [x.kept, x.reasons]), [[false, ["underexposed"]], [true, []], [
      true,
      [],
    ]]);
    assert.equal(rows[0].prompt_source, "template");

    const out2 = join(dir, "chat");
    const r2 = await generate([
      "--backend",
      "a1111",
      "--url",
      fake.url,
      "--keywords",
      "lighthouse, storm",
      "-n",
      "1",
      "--chat-url",
      `${chat.url}/v1`,
      "--chat-model",
      "qwen2.5",
      "--out",
      out2,
      "--quiet",
    ]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(chat.to("/v1/chat/completions").length, 2);
    const [row] = await lines(join(out2, "manifest.jsonl"));
    assert.equal(
      row.prompt,
      "lighthouse on a rocky cliff, storm clouds, crashing waves, dramatic light, photograph",
    );
    assert.equal(row.negative_prompt, "blurry, text, watermark");
    assert.equal(row.prompt_source, "chat");
    assert.match(String(row.text), /lighthouse stands on a rocky cliff/);
  } finally {
    await fake.close();
    await chat.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate resumes after kill -9 without regenerating or duplicating images", async () => {
  const fake = new FakeA1111();
  fake.delayMs = 250;
  const dir = await Deno.makeTempDir();
  const out = join(dir, "run");
  const args = [
    "--backend",
    "a1111",
    "--url",
    fake.url,
    "--prompt",
    "a kite",
    "-n",
    "6",
    "--width",
    "64",
    "--height",
    "64",
    "--out",
    out,
    "--quiet",
  ];
  try {
    const child = command(args).spawn();
    const manifest = join(out, "manifest.jsonl");
    for (let i = 0; i < 200; i++) {
      const n = await Deno.readTextFile(manifest).then((t) => t.split("\n").filter(Boolean).length).catch(
        () => 0,
      );
      if (n >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    const status = await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
    assert.equal(status.signal, "SIGKILL");
    const before = (await lines(manifest)).length;
    assert.ok(before >= 2 && before < 6, `killed mid-run with ${before} lines`);
    const sentBefore = fake.to("/sdapi/v1/txt2img").length;

    const r = await generate(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`6 images \\(${6 - before} new, ${before} resumed\\)`));
    const rows = await lines(manifest);
    assert.deepEqual(rows.map((x) => x.index).sort(), [0, 1, 2, 3, 4, 5]);
    const files = (await walk(out)).map((f) => f.slice(out.length + 1)).sort();
    assert.deepEqual(files, [
      "00000_0.png",
      "00001_0.png",
      "00002_0.png",
      "00003_0.png",
      "00004_0.png",
      "00005_0.png",
      "manifest.jsonl",
      "run.json",
      "summary.json",
    ]);
    // At most the one request in flight at the kill is generated twice.
    const sentAfter = fake.to("/sdapi/v1/txt2img").length;
    assert.ok(
      sentAfter - sentBefore === 6 - before,
      `resumed run sent ${sentAfter - sentBefore} for ${6 - before} missing`,
    );
    assert.ok(sentAfter <= 7, `total requests ${sentAfter}`);
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no secret appears in any output file, log or error message", async () => {
  const key = "sk-live-TOPSECRET-4f9a8b7c6d5e";
  const auth = "winnow:pw-TOPSECRET-a1b2c3";
  const secrets = [key, "pw-TOPSECRET-a1b2c3", Buffer.from(auth).toString("base64"), "TOPSECRET"];
  const oa = new FakeOpenAI({ apiKey: key });
  const a1 = new FakeA1111({ auth });
  const dir = await Deno.makeTempDir();
  try {
    // A proxy that echoes the Authorization header in its error body, then a 500: retried, logged.
    oa.faults.push({ kind: "leak" }, { kind: "500" });
    a1.faults.push({ kind: "leak" });
    const runs: Run[] = [];
    runs.push(
      await generate([
        "--backend",
        "openai",
        "--url",
        `${oa.url}/v1`,
        "--model",
        "dall-e-2",
        "--prompt",
        "a teapot",
        "-n",
        "2",
        "--out",
        join(dir, "oa"),
      ], {
        env: { OPENAI_API_KEY: key },
      }),
    );
    assert.equal(runs[0].code, 0, runs[0].stderr);
    assert.match(runs[0].stderr, /retry 1 of request 0 .*HTTP 502.*authorization=Bearer \*\*\*/);
    runs.push(
      await generate([
        "--backend",
        "a1111",
        "--url",
        a1.url,
        "--prompt",
        "a teapot",
        "-n",
        "1",
        "--out",
        join(dir, "a1"),
      ], {
        env: { WINNOW_A1111_AUTH: auth },
      }),
    );
    assert.equal(runs[1].code, 0, runs[1].stderr);
    // Failing runs: a wrong key (the server echoes part of it), credentials in the URL.
    const wrong = "sk-live-TOPSECRET-wrongwrong";
    runs.push(
      await generate([
        "--backend",
        "openai",
        "--url",
        `${oa.url}/v1`,
        "--prompt",
        "x",
        "-n",
        "1",
        "--out",
        join(dir, "bad"),
      ], {
        env: { OPENAI_API_KEY: wrong },
      }),
    );
    assert.equal(runs[2].code, 1);
    assert.match(runs[2].stderr, /HTTP 401.*Incorrect API key provided/);
    runs.push(
      await generate([
        "--backend",
        "a1111",
        "--url",
        `http://winnow:pw-TOPSECRET-a1b2c3@127.0.0.1:7860`,
        "--prompt",
        "x",
      ]),
    );
    assert.equal(runs[3].code, 2);
    assert.match(runs[3].stderr, /put no credentials in the URL/);
    // The servers did receive the credentials: the test would notice if nothing had been sent.
    assert.equal(oa.to("/v1/images/generations")[0].headers["authorization"], `Bearer ${key}`);
    const texts = runs.flatMap((r) => [r.stdout, r.stderr]);
    for (const f of await walk(dir)) texts.push(new TextDecoder().decode(await Deno.readFile(f)));
    assert.ok(texts.length >= 8 + 6, `grepped ${texts.length} texts`);
    for (const t of texts) {
      for (const s of secrets) {
        assert.ok(!t.includes(s), `secret ${s.slice(0, 6)}… leaked in: ${t.slice(0, 300)}`);
      }
    }
  } finally {
    await oa.close();
    await a1.close();
    await Deno.remove(dir, { recursive: true });
  }
});
