/**
 * Notebooks import winnow from `lib/mod.ts` only (the one public entry), never from deep paths, so
 * that moving a file inside `lib/` never breaks a notebook a user copied.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const DIR = fileURLToPath(new URL("../notebooks/", import.meta.url));

Deno.test("notebooks import from ../lib/mod.ts only", async () => {
  const bad: string[] = [];
  let seen = 0;
  for await (const e of Deno.readDir(DIR)) {
    if (!e.name.endsWith(".ipynb")) continue;
    const nb = JSON.parse(await Deno.readTextFile(join(DIR, e.name)));
    for (const cell of nb.cells) {
      if (cell.cell_type !== "code") continue;
      const src = [cell.source].flat().join("");
      for (const m of src.matchAll(/from\s*"(\.\.\/lib\/[^"]+)"/g)) {
        seen++;
        if (m[1] !== "../lib/mod.ts") bad.push(`${e.name}: ${m[1]}`);
      }
    }
  }
  assert.ok(seen > 0, "the reader sees the notebooks' imports");
  assert.deepEqual(bad, []);
});
