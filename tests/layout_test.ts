/**
 * The layout of `lib/` is a picture of the pipeline: each folder is one stage and may import only
 * the stages it lists below. This test reads every import in `lib/` and fails on an import that
 * points up the stages, on an import cycle between files, and on a loose file in `lib/`'s root.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const LIB = fileURLToPath(new URL("../lib/", import.meta.url));

/** What each stage may import (besides itself). `mod.ts` may import everything but `cli/`. */
const ALLOWED: Record<string, string[]> = {
  core: [],
  models: ["core"],
  backends: ["core"],
  heuristics: ["core", "models"],
  score: ["core", "models", "heuristics"],
  labels: ["core", "models", "heuristics", "score"],
  calibrate: ["core", "models", "heuristics", "score", "labels"],
  evaluate: ["core", "models", "heuristics", "score", "labels", "calibrate"],
  generate: ["core", "models", "heuristics", "score", "backends"],
  report: ["core", "models", "heuristics", "score", "labels", "calibrate", "evaluate"],
  notebook: [
    "core",
    "models",
    "heuristics",
    "score",
    "labels",
    "calibrate",
    "evaluate",
    "report",
    "generate",
    "backends",
  ],
};

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* walk(p);
    else if (e.name.endsWith(".ts")) yield p;
  }
}

/** Relative imports of one file, outside doc comments (their examples import the file itself). */
function importsOf(file: string, src: string): string[] {
  const code = src.replace(/\/\*\*[\s\S]*?\*\//g, "");
  const out: string[] = [];
  for (const m of code.matchAll(/(?:from|import)\s*\(?\s*"(\.\.?\/[^"]+\.ts)"/g)) {
    out.push(resolve(dirname(file), m[1]));
  }
  for (const m of code.matchAll(/new URL\("(\.\.?\/[^"]+\.ts)", import\.meta\.url\)/g)) {
    out.push(resolve(dirname(file), m[1]));
  }
  return out;
}

const stageOf = (file: string) => relative(LIB, file).split("/")[0];

const graph = new Map<string, string[]>();
for await (const f of walk(LIB)) graph.set(f, importsOf(f, await Deno.readTextFile(f)));

Deno.test("lib/ root holds only mod.ts", async () => {
  const loose: string[] = [];
  for await (const e of Deno.readDir(LIB)) if (e.isFile && e.name.endsWith(".ts")) loose.push(e.name);
  assert.deepEqual(loose.sort(), ["mod.ts"]);
});

Deno.test("every import points down the stages", () => {
  const bad: string[] = [];
  for (const [file, deps] of graph) {
    const from = stageOf(file);
    for (const dep of deps) {
      const to = stageOf(dep);
      if (to === from || to.startsWith("..")) continue;
      if (from === "mod.ts") {
        if (to === "cli") bad.push(`${relative(LIB, file)} -> ${relative(LIB, dep)}`);
        continue;
      }
      if (from === "cli") continue;
      if (!(ALLOWED[from] ?? []).includes(to)) bad.push(`${relative(LIB, file)} -> ${relative(LIB, dep)}`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("nothing outside lib/cli/ imports lib/cli/ (but its own shared argument helpers)", () => {
  const bad: string[] = [];
  for (const [file, deps] of graph) {
    if (stageOf(file) === "cli") continue;
    for (const dep of deps) {
      if (stageOf(dep) === "cli") bad.push(`${relative(LIB, file)} -> ${relative(LIB, dep)}`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("no import cycle between files in lib/", () => {
  const state = new Map<string, 1 | 2>();
  const cycles: string[] = [];
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 1);
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (!graph.has(d)) continue;
      if (state.get(d) === 1) {
        cycles.push(stack.slice(stack.indexOf(d)).concat(d).map((p) => relative(LIB, p)).join(" -> "));
      } else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  assert.deepEqual(cycles, []);
});

Deno.test("self-check: the import reader sees a known import", () => {
  const deps = graph.get(join(LIB, "score", "job.ts")) ?? [];
  assert.ok(deps.some((d) => d.endsWith(join("core", "files.ts"))), "score/job.ts imports core/files.ts");
});
